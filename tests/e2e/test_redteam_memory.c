/*
 * Red team: the supervisor's memory and disk are not the tasks' to spend.
 * Task output used to be held whole in pf-supervisor until the attempt
 * ended: three tasks writing hundreds of megabytes drove it to the OOM
 * killer, the site policy's 64 tasks x 64M (32 at once) to 1.8 GB, and an
 * output over SQLite's largest value left its task 'running' in a
 * finished run.  Now output goes to the database in chunks as it arrives
 * under one memory budget for all attempts (reading from workers stops
 * while it is full), the runs in flight share a disk budget
 * (--output-budget), and an attempt whose output or end the store
 * refuses ends 'failed' with the reason.
 *
 *  - supervisor: the two scenarios against a real pf-supervisor (root,
 *    the shipped site policy for the second), scaled to run in seconds
 *    but still far above the bound: its peak resident set (VmHWM) stays
 *    under 16 MiB, the database within the budget, every attempt ends
 *    truncated with the reason, and the stored output adds up.
 *  - run: the same through 'picoflow run' (the one-shot engine).
 *  - store: an engine in this process over a database whose disk fills
 *    up (a VFS shim with a quota on the WAL): the attempt ends 'failed'
 *    with the store's reason, never 'running'.
 */
#include "../lib/daemon_harness.h"
#include "../lib/picoflow_cli.h"

#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <sqlite3.h>

#include "picoflow/workflow.h"
#include "engine.h"
#include "../lib/worker_harness.h"

/* The bound of the issue: pf-supervisor's peak resident set. */
#define RSS_MAX_KIB	(16 * 1024)
#define MIB		(1024LL * 1024)

TestSuite(redteam_memory, .init = dt_setup, .fini = dt_teardown,
    .timeout = 240);

/* A field of /proc/PID/status in KiB, -1 when unreadable. */
static long
status_kib(pid_t pid, const char *field)
{
	char	 p[64], key[32], *t, *s;
	long	 v = -1;

	snprintf(p, sizeof(p), "/proc/%ld/status", (long)pid);
	snprintf(key, sizeof(key), "\n%s:", field);
	if ((t = test_read(p, NULL)) == NULL)
		return -1;
	if ((s = strstr(t, key)) != NULL)
		v = strtol(s + strlen(key), NULL, 10);
	free(t);
	return v;
}

/* Peak RSS is meaningless under a sanitizer or valgrind: said, not checked. */
static int
rss_checked(void)
{
#if defined(__SANITIZE_ADDRESS__)
	return 0;
#else
	const char *w = getenv("PF_TEST_SUPERVISOR_WRAPPER");

	return w == NULL || *w == '\0';
#endif
}

/* The database and its WAL, in bytes. */
static long long
db_bytes(void)
{
	struct stat	 sb;
	char		 p[4300];
	long long	 n = 0;

	if (stat(dt_db, &sb) == 0)
		n += sb.st_size;
	snprintf(p, sizeof(p), "%s-wal", dt_db);
	if (stat(p, &sb) == 0)
		n += sb.st_size;
	return n;
}

/* Triggers wf, waits for its run to end; returns the run's id. */
static int64_t
trigger_and_wait(const char *wf, double limit_s)
{
	struct ctl_reply	 rep;
	char			 q[256];

	dt_ctl(CTL_CMD_TRIGGER, wf, -1, &rep);
	cr_assert(rep.ok, "trigger %s: %s", wf, rep.message ? rep.message : "?");
	ctl_reply_free(&rep);
	snprintf(q, sizeof(q), "SELECT count(*) FROM executions e JOIN "
	    "workflows w ON w.id = e.workflow_id WHERE w.name = '%s' AND "
	    "e.status <> 'running'", wf);
	dt_wait_int(q, 1, limit_s);
	snprintf(q, sizeof(q), "SELECT max(e.id) FROM executions e JOIN "
	    "workflows w ON w.id = e.workflow_id WHERE w.name = '%s'", wf);
	return dt_int(q);
}

/*
 * What a finished run must look like: no attempt left running, each
 * attempt's bytes_captured equal to what is stored for it (its columns
 * plus its chunks), the total within budget.
 */
static void
check_run_consistent(int64_t run, long long budget)
{
	char	 q[1024];

	snprintf(q, sizeof(q), "SELECT count(*) FROM task_executions WHERE "
	    "execution_id = %lld AND status = 'running'", (long long)run);
	cr_assert_eq(dt_int(q), 0, "an attempt of a finished run is running");
	snprintf(q, sizeof(q), "SELECT count(*) FROM task_executions t WHERE "
	    "t.execution_id = %lld AND t.bytes_captured <> "
	    "coalesce(length(t.stdout), 0) + coalesce(length(t.stderr), 0) + "
	    "(SELECT coalesce(sum(length(o.data)), 0) FROM task_output o "
	    "WHERE o.attempt_id = t.id)", (long long)run);
	cr_assert_eq(dt_int(q), 0, "bytes_captured differs from what is "
	    "stored");
	snprintf(q, sizeof(q), "SELECT coalesce(sum(bytes_captured), 0) FROM "
	    "task_executions WHERE execution_id = %lld", (long long)run);
	cr_assert_leq(dt_int(q), budget, "the run stored more than the "
	    "output budget");
}

static void
check_rss(pid_t pid, const char *what)
{
	long	 hwm = status_kib(pid, "VmHWM");

	cr_assert_gt(hwm, 0);
	cr_log_info("%s: pf-supervisor peak RSS %ld KiB, database %lld bytes",
	    what, hwm, db_bytes());
	if (!rss_checked()) {
		cr_log_info("%s: peak RSS %ld KiB not checked under a "
		    "sanitizer or wrapper", what, hwm);
		return;
	}
	cr_assert_lt(hwm, RSS_MAX_KIB, "%s: pf-supervisor peaked at %ld KiB "
	    "(bound %d KiB)", what, hwm, RSS_MAX_KIB);
}

/*
 * Three tasks allowed 2G of output each write 300-500 MB (1.2 GB in all)
 * with no policy: the supervisor stays small, the database within the
 * 48M budget, each attempt ends with the reason it was cut.
 */
Test(redteam_memory, three_huge_outputs_no_policy)
{
	int64_t	 run;
	char	 q[512], *s;

	dt_wf("huge.yaml",
	    "name: huge\n"
	    "config: {max_parallel: 3, retry_default: 0}\n"
	    "tasks:\n"
	    "  - {name: a, type: shell, limits: {output: 2G}, config: "
	    "{command: /bin/sh, args: [-c, 'head -c 500000000 /dev/zero']}}\n"
	    "  - {name: b, type: shell, limits: {output: 2G}, config: "
	    "{command: /bin/sh, args: [-c, 'head -c 400000000 /dev/zero "
	    ">&2']}}\n"
	    "  - {name: c, type: shell, limits: {output: 2G}, config: "
	    "{command: /bin/sh, args: [-c, 'head -c 300000000 "
	    "/dev/zero']}}\n");
	dt_start("--output-budget 48M");
	run = trigger_and_wait("huge", 120);
	check_rss(dt_pid, "three huge outputs");
	cr_assert_leq(db_bytes(), 48 * MIB + 8 * MIB, "database %lld bytes",
	    db_bytes());
	check_run_consistent(run, 48 * MIB);
	snprintf(q, sizeof(q), "SELECT count(*) FROM task_executions WHERE "
	    "execution_id = %lld AND truncated = 1 AND reason LIKE "
	    "'%%output budget%%' AND bytes_dropped > 0", (long long)run);
	cr_assert_eq(dt_int(q), 3, "every attempt says it was cut");
	/* Chunks, not one value: each stays far below SQLite's limit. */
	cr_assert_gt(dt_int("SELECT count(*) FROM task_output"), 3);
	cr_assert_leq(dt_int("SELECT max(length(data)) FROM task_output"),
	    4 * MIB);
	s = dt_str("SELECT status FROM executions ORDER BY id DESC LIMIT 1");
	cr_assert_str_eq(s, "success");
	free(s);
	dt_stop(0);
}

/*
 * Inside the shipped site policy: 64 tasks allowed its ceiling of 64M
 * each, 32 at once, as nobody.  Each writes 12 MB (768 MB in all, 384 MB
 * in flight at once); the supervisor stays small and the database within
 * the budget.  One workflow may hold at most half the slots
 * (max_tasks_running), so the 32 come from two workflows of 32 tasks,
 * triggered together.
 */
Test(redteam_memory, site_policy_64_tasks_32_at_once)
{
	struct ctl_reply rep;
	char	*yaml, q[512], name[32], file[40];
	size_t	 len, cap = 64 * 1024;
	int64_t	 run[2];
	int	 i, w;

	if (geteuid() != 0)
		cr_skip_test("the site policy runs tasks as nobody: needs "
		    "root");
	cr_assert_not_null(yaml = malloc(cap));
	for (w = 0; w < 2; w++) {
		len = (size_t)snprintf(yaml, cap,
		    "name: flood%d\n"
		    "config: {max_parallel: 32, retry_default: 0}\n"
		    "tasks:\n", w);
		for (i = 0; i < 32; i++)
			len += (size_t)snprintf(yaml + len, cap - len,
			    "  - {name: t%d, type: shell, limits: {output: "
			    "64M}, config: {command: /usr/bin/head, args: [-c, "
			    "'12000000', /dev/zero]}}\n", i);
		cr_assert_lt(len, cap);
		snprintf(file, sizeof(file), "flood%d.yaml", w);
		dt_wf(file, "%s", yaml);
	}
	free(yaml);
	dt_start("--policy " PF_SRC_DIR "/examples/policy/site-policy.yaml "
	    "--output-budget 32M --max-tasks 32");
	dt_ctl(CTL_CMD_TRIGGER, "flood0", -1, &rep);
	cr_assert(rep.ok, "trigger: %s", rep.message ? rep.message : "?");
	ctl_reply_free(&rep);
	run[1] = trigger_and_wait("flood1", 180);
	snprintf(q, sizeof(q), "SELECT count(*) FROM executions WHERE status "
	    "<> 'running'");
	dt_wait_int(q, 2, 180);
	snprintf(q, sizeof(q), "SELECT max(e.id) FROM executions e JOIN "
	    "workflows w ON w.id = e.workflow_id WHERE w.name = 'flood0'");
	run[0] = dt_int(q);
	check_rss(dt_pid, "site policy, 64 x 64M");
	cr_assert_leq(db_bytes(), 2 * 32 * MIB + 8 * MIB, "database %lld "
	    "bytes", db_bytes());
	for (w = 0; w < 2; w++) {
		check_run_consistent(run[w], 32 * MIB);
		snprintf(name, sizeof(name), "flood%d", w);
		snprintf(q, sizeof(q), "SELECT count(*) FROM task_executions "
		    "WHERE execution_id = %lld AND status = 'success'",
		    (long long)run[w]);
		cr_assert_eq(dt_int(q), 32, "%s", name);
	}
	/*
	 * 768 MB were written: most of it was dropped, and said so (a run
	 * that ended stops counting against the budget, so the two runs
	 * together may keep up to twice the budget).
	 */
	snprintf(q, sizeof(q), "SELECT sum(bytes_dropped) FROM "
	    "task_executions");
	cr_assert_geq(dt_int(q), 64LL * 12000000 - 2 * 32 * MIB);
	dt_stop(0);
}

/* Output larger than the cap ceiling is refused at load, with file:line:col. */
Test(redteam_memory, output_cap_above_the_ceiling_refused)
{
	struct proc_result	 r;
	char			*argv[5], *p;

	p = test_write(dt_wfdir, "big.yaml",
	    "name: big\n"
	    "tasks:\n"
	    "  - name: a\n"
	    "    type: shell\n"
	    "    limits: {output: 5G}\n"
	    "    config: {command: /bin/true}\n");
	argv[0] = (char *)(uintptr_t)test_bin("picoflow");
	argv[1] = (char *)"validate";
	argv[2] = p;
	argv[3] = NULL;
	cr_assert_eq(proc_run(argv, NULL, 30, &r), 0);
	cr_assert_eq(r.exit_code, 1, "%s%s", r.out, r.err);
	cr_assert(strstr(r.out, "big.yaml:5:22: error: tasks[0].limits.output:"
	    " 5G is more than the largest output cap, 4G") != NULL ||
	    strstr(r.err, "big.yaml:5:22: error:") != NULL, "%s%s", r.out,
	    r.err);
	proc_result_free(&r);
	free(p);
}

/* ---- picoflow run: the same engine ------------------------------------------ */

Test(redteam_memory, picoflow_run_three_huge_outputs)
{
	char		*argv[8], *wf, log[4400];
	struct rusage	 ru;
	pid_t		 pid;
	int		 st;

	wf = test_write(dt_dir, "huge.yaml",
	    "name: huge\n"
	    "config: {max_parallel: 3, retry_default: 0}\n"
	    "tasks:\n"
	    "  - {name: a, type: shell, limits: {output: 2G}, config: "
	    "{command: /bin/sh, args: [-c, 'head -c 400000000 /dev/zero']}}\n"
	    "  - {name: b, type: shell, limits: {output: 2G}, config: "
	    "{command: /bin/sh, args: [-c, 'head -c 300000000 /dev/zero']}}\n"
	    "  - {name: c, type: shell, limits: {output: 2G}, config: "
	    "{command: /bin/sh, args: [-c, 'head -c 300000000 "
	    "/dev/zero']}}\n");
	argv[0] = (char *)(uintptr_t)test_bin("picoflow");
	argv[1] = (char *)"--db-path";
	argv[2] = dt_db;
	argv[3] = (char *)"run";
	argv[4] = wf;
	argv[5] = NULL;
	if (geteuid() == 0) {
		argv[4] = (char *)"--run-as";
		argv[5] = (char *)"root";
		argv[6] = wf;
		argv[7] = NULL;
	}
	snprintf(log, sizeof(log), "%s/run.log", dt_dir);
	pid = proc_spawn(argv, NULL, log, log);
	cr_assert_gt(pid, 0);
	cr_assert_eq(wait4(pid, &st, 0, &ru), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %d: %s", st,
	    test_read(log, NULL));
	if (rss_checked())
		cr_assert_lt(ru.ru_maxrss, RSS_MAX_KIB, "picoflow run peaked at "
		    "%ld KiB", ru.ru_maxrss);
	/* The default budget: 256M for the runs in flight. */
	check_run_consistent(dt_int("SELECT max(id) FROM executions"),
	    (long long)ENGINE_DEFAULT_OUTPUT_BUDGET);
	cr_assert_eq(dt_int("SELECT count(*) FROM task_executions WHERE "
	    "truncated = 1 AND reason LIKE '%output budget%'"), 3);
	free(wf);
}

/* ---- the store refuses: failed, never running ------------------------------- */

/*
 * A VFS shim over SQLite's default one: once quota_on, a write that
 * would take a WAL file past wal_quota bytes fails with SQLITE_FULL, as
 * a full disk would.  Everything else goes through untouched.
 */
static sqlite3_vfs	*real_vfs;
static sqlite3_vfs	 quota_vfs;
static int		 quota_on;
static sqlite3_int64	 wal_quota;
static int		 quota_hits;

struct qfile {
	sqlite3_file	 base;
	int		 wal;
	sqlite3_file	*real;	/* follows this struct */
};

#define REAL(f)	(((struct qfile *)(f))->real)

static int q_close(sqlite3_file *f)
{ return REAL(f)->pMethods->xClose(REAL(f)); }
static int q_read(sqlite3_file *f, void *b, int n, sqlite3_int64 o)
{ return REAL(f)->pMethods->xRead(REAL(f), b, n, o); }
static int
q_write(sqlite3_file *f, const void *b, int n, sqlite3_int64 o)
{
	if (quota_on && ((struct qfile *)f)->wal && o + n > wal_quota) {
		quota_hits++;
		return SQLITE_FULL;
	}
	return REAL(f)->pMethods->xWrite(REAL(f), b, n, o);
}
static int q_truncate(sqlite3_file *f, sqlite3_int64 s)
{ return REAL(f)->pMethods->xTruncate(REAL(f), s); }
static int q_sync(sqlite3_file *f, int fl)
{ return REAL(f)->pMethods->xSync(REAL(f), fl); }
static int q_size(sqlite3_file *f, sqlite3_int64 *s)
{ return REAL(f)->pMethods->xFileSize(REAL(f), s); }
static int q_lock(sqlite3_file *f, int l)
{ return REAL(f)->pMethods->xLock(REAL(f), l); }
static int q_unlock(sqlite3_file *f, int l)
{ return REAL(f)->pMethods->xUnlock(REAL(f), l); }
static int q_check(sqlite3_file *f, int *r)
{ return REAL(f)->pMethods->xCheckReservedLock(REAL(f), r); }
static int q_fctl(sqlite3_file *f, int op, void *a)
{ return REAL(f)->pMethods->xFileControl(REAL(f), op, a); }
static int q_sector(sqlite3_file *f)
{ return REAL(f)->pMethods->xSectorSize(REAL(f)); }
static int q_dev(sqlite3_file *f)
{ return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f)); }
static int q_shmmap(sqlite3_file *f, int pg, int sz, int ext,
    void volatile **pp)
{ return REAL(f)->pMethods->xShmMap(REAL(f), pg, sz, ext, pp); }
static int q_shmlock(sqlite3_file *f, int off, int n, int fl)
{ return REAL(f)->pMethods->xShmLock(REAL(f), off, n, fl); }
static void q_shmbarrier(sqlite3_file *f)
{ REAL(f)->pMethods->xShmBarrier(REAL(f)); }
static int q_shmunmap(sqlite3_file *f, int del)
{ return REAL(f)->pMethods->xShmUnmap(REAL(f), del); }

static const sqlite3_io_methods q_methods = {
	2, q_close, q_read, q_write, q_truncate, q_sync, q_size, q_lock,
	q_unlock, q_check, q_fctl, q_sector, q_dev, q_shmmap, q_shmlock,
	q_shmbarrier, q_shmunmap, NULL, NULL,
};

static int
q_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags,
    int *out)
{
	struct qfile	*qf = (struct qfile *)f;
	int		 rc;

	(void)vfs;
	qf->real = (sqlite3_file *)(qf + 1);
	qf->wal = (flags & SQLITE_OPEN_WAL) != 0;
	rc = real_vfs->xOpen(real_vfs, name, qf->real, flags, out);
	f->pMethods = rc == SQLITE_OK ? &q_methods : NULL;
	return rc;
}

static int q_delete(sqlite3_vfs *v, const char *n, int s)
{ (void)v; return real_vfs->xDelete(real_vfs, n, s); }
static int q_access(sqlite3_vfs *v, const char *n, int fl, int *r)
{ (void)v; return real_vfs->xAccess(real_vfs, n, fl, r); }
static int q_full(sqlite3_vfs *v, const char *n, int len, char *out)
{ (void)v; return real_vfs->xFullPathname(real_vfs, n, len, out); }
static int q_rand(sqlite3_vfs *v, int n, char *out)
{ (void)v; return real_vfs->xRandomness(real_vfs, n, out); }
static int q_sleep(sqlite3_vfs *v, int us)
{ (void)v; return real_vfs->xSleep(real_vfs, us); }
static int q_time(sqlite3_vfs *v, double *t)
{ (void)v; return real_vfs->xCurrentTime(real_vfs, t); }
static int q_lasterr(sqlite3_vfs *v, int n, char *s)
{ (void)v; return real_vfs->xGetLastError(real_vfs, n, s); }
static int q_time64(sqlite3_vfs *v, sqlite3_int64 *t)
{ (void)v; return real_vfs->xCurrentTimeInt64(real_vfs, t); }

static void
install_quota_vfs(void)
{
	cr_assert_eq(sqlite3_initialize(), SQLITE_OK);
	real_vfs = sqlite3_vfs_find(NULL);
	cr_assert_not_null(real_vfs);
	memset(&quota_vfs, 0, sizeof(quota_vfs));
	quota_vfs.iVersion = 2;
	quota_vfs.szOsFile = (int)sizeof(struct qfile) + real_vfs->szOsFile;
	quota_vfs.mxPathname = real_vfs->mxPathname;
	quota_vfs.zName = "picoflow-quota";
	quota_vfs.xOpen = q_open;
	quota_vfs.xDelete = q_delete;
	quota_vfs.xAccess = q_access;
	quota_vfs.xFullPathname = q_full;
	quota_vfs.xRandomness = q_rand;
	quota_vfs.xSleep = q_sleep;
	quota_vfs.xCurrentTime = q_time;
	quota_vfs.xGetLastError = q_lasterr;
	quota_vfs.xCurrentTimeInt64 = q_time64;
	cr_assert_eq(sqlite3_vfs_register(&quota_vfs, 1), SQLITE_OK);
}

static int	 eng_done;

static void
on_run_ended(void *arg, const struct pf_workflow *wf, int64_t run_id,
    enum pf_status status, void *cookie)
{
	(void)arg;
	(void)wf;
	(void)run_id;
	(void)status;
	(void)cookie;
	eng_done = 1;
}

/*
 * Runs yaml in an engine in this process over a database whose WAL may
 * grow by quota_kib once the run started; returns the attempts of the
 * run (store_attempts_free them) with their output.
 */
static struct store_attempt *
run_with_quota(const char *yaml, long quota_kib, size_t *n, char **status)
{
	struct engine_hooks	 hooks;
	struct engine_opts	 o;
	struct wf_load_opts	 lo;
	struct pf_diags		 d;
	struct pf_workflow	*wf;
	struct pf_store		*st;
	struct engine		*eng;
	struct ev_loop		*loop;
	struct store_attempt	*a;
	struct store_run	 r;
	struct pf_err		 err;
	struct stat		 sb;
	char			 wal[4300];
	int64_t			 run_id;
	int			 found, saved_stderr;
	double			 t0;

	install_quota_vfs();
	mkdir(dt_state, 0700);
	/* The engine's "disk is full" errors go to the test's log. */
	snprintf(wal, sizeof(wal), "%s/engine.log", dt_dir);
	cr_assert_geq(saved_stderr = test_stderr_to(wal), 0, "%s", wal);
	cr_assert_eq(store_open(dt_db, STORE_RW, &st, &err), 0, "%s",
	    err.msg);
	workflow_load_opts_default(&lo);
	pf_diags_init(&d);
	wf = workflow_load_buf("quota.yaml", yaml, strlen(yaml), &lo, &d);
	pf_diags_free(&d);
	cr_assert_not_null(wf);
	engine_opts_default(&o);
	o.worker_path = test_bin("pf-worker");
	o.no_cgroups = 1;
	o.limits.memory = -1;	/* AddressSanitizer's shadow needs the room */
	o.grace_ms = 500;
	if (geteuid() == 0)
		o.run_as = "root";
	memset(&hooks, 0, sizeof(hooks));
	hooks.run_ended = on_run_ended;
	loop = ev_default_loop(EVFLAG_AUTO);
	cr_assert_not_null(eng = engine_new(loop, st, &o, &hooks, &err), "%s",
	    err.msg);
	eng_done = 0;
	cr_assert_eq(engine_start(eng, wf, &run_id, &err), 0, "%s", err.msg);
	snprintf(wal, sizeof(wal), "%s-wal", dt_db);
	cr_assert_eq(stat(wal, &sb), 0);
	wal_quota = sb.st_size + quota_kib * 1024;
	quota_on = 1;
	t0 = dt_mono();
	while (!engine_idle(eng)) {
		cr_assert_lt(dt_mono() - t0, 60, "the run did not end");
		ev_run(loop, EVRUN_ONCE);
	}
	quota_on = 0;
	cr_assert(eng_done);
	engine_free(eng);
	workflow_free(wf);
	cr_assert_eq(store_run_get(st, run_id, &r, &found, &err), 0, "%s",
	    err.msg);
	cr_assert(found);
	*status = strdup(r.status);
	store_run_clear(&r);
	cr_assert_eq(store_attempts_list(st, run_id, NULL, 1, &a, n, &err), 0,
	    "%s", err.msg);
	store_close(st);
	test_stderr_restore(saved_stderr);
	return a;
}

/* Output the store cannot take fails its attempt, with the reason. */
Test(redteam_memory, refused_output_fails_the_attempt)
{
	struct store_attempt	*a;
	char			*status;
	size_t			 n, i;

	a = run_with_quota(
	    "name: quota\n"
	    "config: {retry_default: 0}\n"
	    "tasks:\n"
	    "  - {name: flood, type: shell, limits: {output: 64M}, config: "
	    "{command: /bin/sh, args: [-c, 'head -c 8000000 /dev/zero']}}\n",
	    256, &n, &status);
	cr_assert_gt(quota_hits, 0, "the disk never filled up");
	cr_assert_eq(n, 1);
	for (i = 0; i < n; i++) {
		cr_assert_str_eq(a[i].status, "failed", "%s: %s",
		    a[i].task_name, a[i].reason ? a[i].reason : "");
		cr_assert_not_null(a[i].reason);
		cr_assert(strstr(a[i].reason, "cannot store the task's "
		    "output") != NULL && strstr(a[i].reason, "full") != NULL,
		    "%s", a[i].reason);
		cr_assert(a[i].truncated);
		cr_assert_eq(a[i].bytes_captured,
		    (int64_t)(a[i].stdout_len + a[i].stderr_len));
	}
	cr_assert_str_eq(status, "failed");
	free(status);
	store_attempts_free(a, n);
}

/* An end the store cannot take (its output too) still ends 'failed'. */
Test(redteam_memory, refused_end_is_recorded_failed)
{
	struct store_attempt	*a;
	char			*status;
	size_t			 n;

	/* 600 KB: under the memory budget, so it goes with the end. */
	a = run_with_quota(
	    "name: quota\n"
	    "config: {retry_default: 0}\n"
	    "tasks:\n"
	    "  - {name: mid, type: shell, config: "
	    "{command: /bin/sh, args: [-c, 'head -c 600000 /dev/zero']}}\n",
	    256, &n, &status);
	cr_assert_gt(quota_hits, 0, "the disk never filled up");
	cr_assert_eq(n, 1);
	cr_assert_str_eq(a[0].status, "failed", "%s",
	    a[0].reason ? a[0].reason : "");
	cr_assert(a[0].reason != NULL && strstr(a[0].reason,
	    "could not record the attempt") != NULL, "%s",
	    a[0].reason ? a[0].reason : "(none)");
	cr_assert(a[0].truncated);
	cr_assert_str_eq(status, "failed");
	free(status);
	store_attempts_free(a, n);
}

/* ---- backpressure does not make a worker deaf ------------------------------- */

/*
 * The supervisor stops reading while its output memory is full: the
 * worker then waits in its send.  A stop must still work: SIGTERM to the
 * worker reaches the task, and after the grace period SIGKILL does, with
 * nobody reading the worker's socket.
 */
Test(redteam_memory, worker_stops_its_task_while_nobody_reads)
{
	struct proto_spec	 s;
	struct wh		 h;
	char			 cmd[4400], marker[4300], *t;
	long			 task;
	double			 t0;

	snprintf(marker, sizeof(marker), "%s/task.pid", dt_dir);
	snprintf(cmd, sizeof(cmd), "trap '' TERM; echo $$ > %s; exec head -c "
	    "200000000 /dev/zero", marker);
	wh_shell_spec(&s, "/bin/sh", (char *[]){ "-c", cmd, NULL });
	s.kill_grace_ms = 300;
	s.output_cap = 1024LL * 1024 * 1024;
	cr_assert_eq(wh_start(&h, NULL), 0);
	cr_assert_eq(wh_wait_ready(&h, 10), 0);
	cr_assert_eq(wh_send_spec(&h, &s), 0);
	cr_assert_eq(test_wait_file(marker, 10), 0);
	/* Let the socket's buffer fill: the worker now waits to send. */
	usleep(300000);
	cr_assert_not_null(t = test_read(marker, NULL));
	task = strtol(t, NULL, 10);
	free(t);
	cr_assert_gt(task, 1);
	cr_assert_eq(kill(task, 0), 0, "the task ended on its own");
	cr_assert_eq(kill(h.pid, SIGTERM), 0);
	t0 = dt_mono();
	while (kill((pid_t)task, 0) == 0 && dt_mono() - t0 < 5) {
		char	 p[64], *stat;
		int	 zombie = 0;

		snprintf(p, sizeof(p), "/proc/%ld/stat", task);
		if ((stat = test_read(p, NULL)) != NULL) {
			char *c = strrchr(stat, ')');

			zombie = c != NULL && c[1] == ' ' && c[2] == 'Z';
			free(stat);
		}
		if (zombie)
			break;
		usleep(20000);
	}
	cr_assert_lt(dt_mono() - t0, 5, "the task outlived the grace period "
	    "while the worker waited to send");
	cr_assert_eq(wh_collect(&h, 30), 0);
	cr_assert_eq(wh_reap(&h, 30), 0);
	cr_assert_eq(h.result.status, PROTO_ST_KILLED);
	cr_assert_eq(h.result.signal, SIGKILL);
	wh_free(&h);
}

/* ---- readers see the chunks --------------------------------------------------- */

/*
 * Output stored in chunks (more than the memory holds, and output spread
 * over the flush interval) reads back whole and in order through
 * 'picoflow logs' and its --json, and 'status' shows the run.
 */
Test(redteam_memory, logs_read_chunked_output_whole)
{
	struct proc_result	 r;
	char			*wf;
	const char		*p;

	wf = test_write(dt_dir, "chunky.yaml",
	    "name: chunky\n"
	    "config: {retry_default: 0}\n"
	    "tasks:\n"
	    "  - {name: many, type: shell, config: {command: /usr/bin/seq, "
	    "args: ['1', '300000']}}\n"
	    "  - {name: slow, type: shell, config: {command: /bin/sh, args: "
	    "[-c, 'echo first; echo e1 >&2; sleep 1.2; echo second; echo e2 "
	    ">&2']}}\n");
	test_pf_run(dt_db, wf, geteuid() == 0 ? "--run-as root" : NULL, NULL,
	    &r);
	cr_assert_eq(r.exit_code, 0, "%s%s", r.out, r.err);
	proc_result_free(&r);
	/* Both were stored in more than one piece. */
	cr_assert_gt(dt_int("SELECT count(*) FROM task_output o JOIN "
	    "task_executions t ON t.id = o.attempt_id WHERE t.task_name = "
	    "'many'"), 1);
	cr_assert_gt(dt_int("SELECT count(*) FROM task_output o JOIN "
	    "task_executions t ON t.id = o.attempt_id WHERE t.task_name = "
	    "'slow'"), 1);
	PF(&r, "--db-path", dt_db, "logs", "chunky", "-t", "slow");
	cr_assert_eq(r.exit_code, 0, "%s%s", r.out, r.err);
	cr_assert(strstr(r.out, "--- stdout ---\nfirst\nsecond\n") != NULL,
	    "%s", r.out);
	cr_assert(strstr(r.out, "--- stderr ---\ne1\ne2\n") != NULL, "%s",
	    r.out);
	proc_result_free(&r);
	PF(&r, "--db-path", dt_db, "logs", "chunky", "-t", "many");
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert(strstr(r.out, "--- stdout ---\n1\n2\n3\n") != NULL);
	cr_assert_not_null(p = strstr(r.out, "\n299999\n300000\n"));
	cr_assert_null(strstr(r.out, "truncated"));
	proc_result_free(&r);
	PF(&r, "--db-path", dt_db, "logs", "chunky", "-t", "slow",
	    "--json");
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert(strstr(r.out, "\"stdout\":\"first\\nsecond\\n\"") != NULL,
	    "%s", r.out);
	proc_result_free(&r);
	PF(&r, "--db-path", dt_db, "status", "chunky");
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert(strstr(r.out, "success") != NULL, "%s", r.out);
	proc_result_free(&r);
	free(wf);
}
