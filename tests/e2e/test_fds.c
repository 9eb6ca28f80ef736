/*
 * Descriptor leaks: the supervisor's open descriptors are the same before
 * and after 1,000 task attempts.  Once with the engine in this process
 * (with and without cgroups, some tasks failing, some workers refused
 * through the spawn seam), once with pf-supervisor, its runs triggered
 * through the control socket and its descriptors read in /proc/PID/fd.
 * A failure lists every descriptor that appeared or went, with what it
 * points to.
 */
#include "../lib/daemon_harness.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/socket.h>

#include <dirent.h>
#include <limits.h>

#include <ev.h>

#include "picoflow/err.h"
#include "picoflow/store.h"
#include "picoflow/workflow.h"
#include "engine.h"
#include "spawn.h"

/*
 * Under AddressSanitizer or valgrind each worker starts several times
 * slower: a fifth of the runs (the point there is memory errors).
 */
static int
runs_scaled(int n)
{
#ifdef __SANITIZE_ADDRESS__
	return n / 5;
#else
	return getenv("PF_UNDER_VALGRIND") != NULL ? n / 5 : n;
#endif
}

/* ---- descriptor lists ----------------------------------------------------- */

#define FDS_MAX	4096

struct fds {
	size_t	 n;
	int	 fd[FDS_MAX];
	char	 target[FDS_MAX][128];
};

/*
 * pid's descriptors with what each points to.  Socket and pipe inode
 * numbers are kept: a descriptor closed and reopened on something new
 * under the same number is a change too.
 */
static void
fds_list(pid_t pid, struct fds *f)
{
	char		 dirp[64], p[400];
	DIR		*d;
	struct dirent	*e;
	ssize_t		 k;
	int		 fd, self;

	snprintf(dirp, sizeof(dirp), "/proc/%ld/fd", (long)pid);
	cr_assert_not_null(d = opendir(dirp), "%s: %s", dirp, strerror(errno));
	self = pid == getpid() ? dirfd(d) : -1;
	f->n = 0;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		fd = atoi(e->d_name);
		if (fd == self)
			continue;
		cr_assert_lt(f->n, FDS_MAX);
		snprintf(p, sizeof(p), "%s/%s", dirp, e->d_name);
		k = readlink(p, f->target[f->n], sizeof(f->target[0]) - 1);
		if (k < 0)
			continue;	/* closed while we looked */
		f->target[f->n][k] = '\0';
		f->fd[f->n++] = fd;
	}
	closedir(d);
}

static int
fds_has(const struct fds *f, int fd, const char *target)
{
	size_t	 i;

	for (i = 0; i < f->n; i++)
		if (f->fd[i] == fd && strcmp(f->target[i], target) == 0)
			return 1;
	return 0;
}

/* The difference as text ("" when none); caller frees. */
static char *
fds_diff(const struct fds *before, const struct fds *after)
{
	char	*out = NULL;
	size_t	 len = 0, i;
	FILE	*fp = open_memstream(&out, &len);

	cr_assert_not_null(fp);
	for (i = 0; i < after->n; i++)
		if (!fds_has(before, after->fd[i], after->target[i]))
			fprintf(fp, "  new:  %d -> %s\n", after->fd[i],
			    after->target[i]);
	for (i = 0; i < before->n; i++)
		if (!fds_has(after, before->fd[i], before->target[i]))
			fprintf(fp, "  gone: %d -> %s\n", before->fd[i],
			    before->target[i]);
	fclose(fp);
	return out;
}

static char *
fds_text(const struct fds *f)
{
	char	*out = NULL;
	size_t	 len = 0, i;
	FILE	*fp = open_memstream(&out, &len);

	cr_assert_not_null(fp);
	for (i = 0; i < f->n; i++)
		fprintf(fp, "  %d -> %s\n", f->fd[i], f->target[i]);
	fclose(fp);
	return out;
}

static void
fds_assert_same(const struct fds *before, const struct fds *after,
    const char *what)
{
	char	*diff = fds_diff(before, after), *all = fds_text(before);

	cr_assert_str_empty(diff, "%s: descriptors differ:\n%sbefore:\n%s",
	    what, diff, all);
	free(diff);
	free(all);
}

/* The helpers find what they are meant to (tests that can fail). */
Test(fds, the_check_sees_a_leak)
{
	static struct fds	 a, b;
	char			*diff;
	int			 fd, sv[2];

	fds_list(getpid(), &a);
	cr_assert_geq(a.n, 3);
	cr_assert_geq(fd = open("/dev/null", O_RDONLY | O_CLOEXEC), 0);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	close(sv[1]);
	fds_list(getpid(), &b);
	cr_assert_eq(b.n, a.n + 2);
	diff = fds_diff(&a, &b);
	cr_assert_not_null(strstr(diff, "/dev/null"), "%s", diff);
	cr_assert_not_null(strstr(diff, "socket:["), "%s", diff);
	free(diff);
	close(fd);
	/* The same number on something else is a change. */
	cr_assert_eq(dup2(sv[0], fd), fd);
	close(sv[0]);
	fds_list(getpid(), &b);
	cr_assert_eq(b.n, a.n + 1);
	diff = fds_diff(&a, &b);
	cr_assert_not_null(strstr(diff, "socket:["), "%s", diff);
	free(diff);
	close(fd);
	fds_list(getpid(), &b);
	diff = fds_diff(&a, &b);
	cr_assert_str_empty(diff, "%s", diff);
	free(diff);
}

/* ---- the engine in this process ------------------------------------------- */

struct eh {
	unsigned	 runs;
	unsigned	 tasks_ok, tasks_failed;
};

static void
on_task_ended(void *arg, const struct engine_task_report *r)
{
	struct eh	*h = arg;

	if (r->status == PF_STATUS_SUCCESS)
		h->tasks_ok++;
	else if (r->status == PF_STATUS_FAILED)
		h->tasks_failed++;
}

static void
on_run_ended(void *arg, const struct pf_workflow *wf, int64_t run_id,
    enum pf_status status, void *cookie)
{
	struct eh	*h = arg;

	(void)wf;
	(void)run_id;
	(void)status;
	(void)cookie;
	h->runs++;
}

static void
on_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
}

/*
 * Ten tasks: nine /bin/true, one /bin/false that may fail; 100 runs of
 * it are 1,000 attempts.
 */
static const char engine_wf[] =
    "name: fds\n"
    "config: {max_parallel: 4, retry_default: 0}\n"
    "tasks:\n"
    "  - {name: t0, type: shell, config: {command: /bin/true}}\n"
    "  - {name: t1, type: shell, depends_on: [t0], config: {command: /bin/true}}\n"
    "  - {name: t2, type: shell, depends_on: [t0], config: {command: /bin/true}}\n"
    "  - {name: t3, type: shell, depends_on: [t0], config: {command: /bin/true}}\n"
    "  - {name: t4, type: shell, config: {command: /bin/true}}\n"
    "  - {name: t5, type: shell, config: {command: /bin/true}}\n"
    "  - {name: t6, type: shell, depends_on: [t1, t2], config: {command: /bin/true}}\n"
    "  - {name: t7, type: shell, config: {command: /bin/true}}\n"
    "  - {name: no, type: shell, continue_on_failure: true, config: {command: /bin/false}}\n"
    "  - {name: end, type: shell, depends_on: [t6, no], config: {command: /bin/true}}\n";

static void
engine_runs(int cgroups, int nruns)
{
	static struct fds	 before, after;
	struct engine_opts	 o;
	struct engine_hooks	 hooks;
	struct wf_load_opts	 lo;
	struct pf_diags		 d;
	struct pf_workflow	*wf;
	struct pf_store		*store;
	struct engine		*eng;
	struct ev_loop		*loop = ev_default_loop(EVFLAG_AUTO);
	struct pf_err		 err;
	struct eh		 h;
	ev_timer		 tick;
	char			*dir = test_tmpdir("fds"), db[4200], worker[4200];
	char			 logpath[4200];
	double			 t0;
	int64_t			 r;
	int			 k, saved_stderr;

	cr_assert_not_null(dir);
	cr_assert_not_null(loop);
	snprintf(db, sizeof(db), "%s/state.db", dir);
	snprintf(worker, sizeof(worker), "%s", test_bin("pf-worker"));
	/* The refused workers' warnings go to the scratch directory. */
	snprintf(logpath, sizeof(logpath), "%s/engine.log", dir);
	saved_stderr = test_stderr_to(logpath);
	cr_assert_geq(saved_stderr, 0, "%s", logpath);
	workflow_load_opts_default(&lo);
	pf_diags_init(&d);
	wf = workflow_load_buf("fds.yaml", engine_wf, strlen(engine_wf), &lo,
	    &d);
	pf_diags_free(&d);
	cr_assert_not_null(wf);
	cr_assert_eq(store_open(db, STORE_RW, &store, &err), 0, "%s", err.msg);
	cr_assert_eq(store_set_sync(store, STORE_SYNC_NORMAL, &err), 0);
	engine_opts_default(&o);
	o.worker_path = worker;
	o.no_cgroups = !cgroups;
	/* No address-space rlimit: an ASan worker could not start in it. */
	o.limits.memory = -1;
	o.spawn_backoff_ms = 1;
	o.spawn_backoff_max_ms = 4;
	memset(&hooks, 0, sizeof(hooks));
	memset(&h, 0, sizeof(h));
	hooks.task_ended = on_task_ended;
	hooks.run_ended = on_run_ended;
	hooks.arg = &h;
	cr_assert_not_null(eng = engine_new(loop, store, &o, &hooks, &err),
	    "%s", err.msg);
	if (cgroups && strcasestr(engine_isolation(eng), "none") != NULL)
		cr_skip_test("no cgroups here: %s", engine_isolation(eng));
	ev_timer_init(&tick, on_tick, 0.5, 0.5);
	ev_timer_start(loop, &tick);

	t0 = dt_mono();
	/* Run 0 opens what stays open (the loop's, SQLite's, cgroups'). */
	for (k = 0; k <= nruns; k++) {
		if (k == 1)
			fds_list(getpid(), &before);
		/* Two refused workers a run: the hold path too. */
		spawn_fail_after(k % 7, 2, k % 2 ? EMFILE : EAGAIN);
		cr_assert_eq(engine_start(eng, wf, &r, &err), 0, "%s",
		    err.msg);
		while (!engine_idle(eng)) {
			cr_assert_lt(dt_mono() - t0, 200, "too slow");
			ev_run(loop, EVRUN_ONCE);
		}
		cr_assert_eq(spawn_fail_injected(), 2);
	}
	spawn_fail_after(-1, 0, 0);
	cr_assert_eq(h.runs, (unsigned)nruns + 1);
	cr_assert_eq(h.tasks_ok, ((unsigned)nruns + 1) * 9);
	cr_assert_eq(h.tasks_failed, (unsigned)nruns + 1);
	fds_list(getpid(), &after);
	fds_assert_same(&before, &after, cgroups ? "engine, cgroups" :
	    "engine, no cgroups");
	cr_log_info("%d attempts in %.1f s", (nruns + 1) * 10,
	    dt_mono() - t0);
	ev_timer_stop(loop, &tick);
	engine_free(eng);
	store_close(store);
	workflow_free(wf);
	test_stderr_restore(saved_stderr);
	test_rmrf(dir);
	free(dir);
}

Test(fds, engine_no_cgroups, .timeout = 240)
{
	engine_runs(0, runs_scaled(100));
}

/* Attempt cgroups cost ~3x more per attempt: fewer runs. */
Test(fds, engine_cgroups, .timeout = 240)
{
	engine_runs(1, runs_scaled(20));
}

/* ---- pf-supervisor ------------------------------------------------------------ */

TestSuite(fds_daemon, .init = dt_setup, .fini = dt_teardown, .timeout = 240);

/*
 * 100 runs of ten /bin/true tasks, ten triggers at a time through the
 * control socket, without cgroups (the engine test has them) to stay
 * quick.  The control connections close asynchronously, so the list
 * after is taken again (for a few seconds) until it settles; a leak
 * never does.
 */
Test(fds_daemon, thousand_attempts)
{
	static struct fds	 before, after;
	struct ctl_reply	 rep;
	char			 tasks[4096], *diff = NULL;
	size_t			 off = 0;
	double			 t0;
	int			 i, b, batches = runs_scaled(10);

	for (i = 0; i < 10; i++)
		off += (size_t)snprintf(tasks + off, sizeof(tasks) - off,
		    "  - {name: t%d, type: shell, config: "
		    "{command: /bin/true}}\n", i);
	dt_wf("fds.yaml",
	    "name: fds\n"
	    "overlap: allow\n"
	    /* Ten triggers at a time: above the default cap of 4 runs. */
	    "config: {max_parallel: 4, max_runs_running: 10}\n"
	    "tasks:\n%s", tasks);
#ifdef __SANITIZE_ADDRESS__
	/* Without cgroups an ASan worker fails in its address-space limit. */
	dt_start(NULL);
#else
	dt_start("--no-cgroups");
#endif
	/* One run and one status first: what opens once is open. */
	dt_ctl(CTL_CMD_TRIGGER, "fds", -1, &rep);
	cr_assert_eq(rep.ok, 1, "%s", rep.message ? rep.message : "");
	ctl_reply_free(&rep);
	dt_wait_int("SELECT count(*) FROM executions WHERE status = 'success'",
	    1, 60);
	dt_status(&rep);
	ctl_reply_free(&rep);
	usleep(200 * 1000);
	fds_list(dt_pid, &before);

	t0 = dt_mono();
	for (b = 0; b < batches; b++) {
		for (i = 0; i < 10; i++) {
			dt_ctl(CTL_CMD_TRIGGER, "fds", -1, &rep);
			cr_assert_eq(rep.ok, 1, "%s", rep.message ?
			    rep.message : "");
			ctl_reply_free(&rep);
		}
		dt_wait_int("SELECT count(*) FROM executions WHERE status = "
		    "'success'", 1 + (b + 1) * 10, 120);
	}
	cr_assert_eq(dt_int("SELECT count(*) FROM task_executions WHERE "
	    "status = 'success'"), 10 + batches * 100);
	cr_log_info("%d attempts in %.1f s", batches * 100, dt_mono() - t0);
	dt_status(&rep);
	cr_assert_eq(rep.tasks_running, 0);
	ctl_reply_free(&rep);
	t0 = dt_mono();
	do {
		free(diff);
		usleep(100 * 1000);
		fds_list(dt_pid, &after);
		diff = fds_diff(&before, &after);
	} while (diff[0] != '\0' && dt_mono() - t0 < 5);
	free(diff);
	fds_assert_same(&before, &after, "pf-supervisor");
	dt_stop(0);
}
