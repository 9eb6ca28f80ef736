/*
 * Drives pf-supervisor for the end-to-end suites; see daemon_harness.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <sqlite3.h>

#include "picoflow/ctl.h"
#include "control.h"
#include "ctlclient.h"
#include "daemon_harness.h"
#include "proc.h"

static int	 kill_attempt_groups(void);

char	*dt_dir;
char	 dt_wfdir[4200], dt_state[4200], dt_db[4200], dt_sock[4200];
pid_t	 dt_pid = -1;
int	 dt_nstarts;
/*
 * As root, pf-supervisor runs tasks without run_as as nobody; the suites
 * whose tasks write into the (0700) scratch directory start it with
 * --run-as root unless a test sets this to see the default.
 */
int	 dt_default_user;
/* Extra "K=V" entries for the next starts (NULL-terminated; NULL: none). */
char *const *dt_env;
const char *dt_sup_bin;

double
dt_mono(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int64_t
dt_now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
dt_setup(void)
{
	dt_dir = test_tmpdir("daemon");
	cr_assert_not_null(dt_dir);
	snprintf(dt_wfdir, sizeof(dt_wfdir), "%s/wf", dt_dir);
	snprintf(dt_state, sizeof(dt_state), "%s/st", dt_dir);
	snprintf(dt_db, sizeof(dt_db), "%s/st/picoflow.db", dt_dir);
	snprintf(dt_sock, sizeof(dt_sock), "%s/st/control.sock", dt_dir);
	cr_assert_eq(mkdir(dt_wfdir, 0755), 0);
	dt_pid = -1;
	dt_nstarts = 0;
	dt_sup_bin = NULL;
}

void
dt_teardown(void)
{
	char		 pf[4400];
	struct flock	 fl;
	int		 fd;

	if (dt_pid > 0) {
		kill(dt_pid, SIGKILL);
		waitpid(dt_pid, NULL, 0);
		dt_pid = -1;
	}
	/* A supervisor started detached (daemon start) that is still up. */
	snprintf(pf, sizeof(pf), "%s/pf-supervisor.pid", dt_state);
	if ((fd = open(pf, O_RDONLY)) != -1) {
		memset(&fl, 0, sizeof(fl));
		fl.l_type = F_WRLCK;
		if (fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK &&
		    fl.l_pid > 1)
			kill(fl.l_pid, SIGKILL);
		close(fd);
	}
	/*
	 * Workers outlive a killed supervisor (a test that failed before
	 * its run ended; a stopped one would stay forever): their groups.
	 */
	(void)kill_attempt_groups();
	if (getenv("PF_TEST_KEEP") == NULL)
		test_rmrf(dt_dir);
	free(dt_dir);
}

/* Writes wf/NAME; the text is a printf format. */
void
dt_wf(const char *name, const char *fmt, ...)
{
	char	*text, *path;
	va_list	 ap;

	va_start(ap, fmt);
	cr_assert_neq(vasprintf(&text, fmt, ap), -1);
	va_end(ap);
	path = test_write(dt_wfdir, name, text);
	cr_assert_not_null(path);
	free(path);
	free(text);
}

void
dt_rm_wf(const char *name)
{
	char	 p[4400];

	snprintf(p, sizeof(p), "%s/%s", dt_wfdir, name);
	cr_assert_eq(unlink(p), 0);
}

/* Every log of every start, concatenated (caller frees). */
char *
dt_logs(void)
{
	char	 p[4400], *all = calloc(1, 1), *t;
	size_t	 len = 0, n;
	int	 i;

	for (i = 1; i <= dt_nstarts; i++) {
		snprintf(p, sizeof(p), "%s/log.%d", dt_dir, i);
		if ((t = test_read(p, &n)) == NULL)
			continue;
		all = realloc(all, len + n + 1);
		memcpy(all + len, t, n + 1);
		len += n;
		free(t);
	}
	return all;
}

int
dt_log_has(const char *s)
{
	char	*all = dt_logs();
	int	 yes = strstr(all, s) != NULL;

	free(all);
	return yes;
}

/* Waits until this start's log says "ready:" (fails if it exits). */
void
dt_wait_ready(double timeout)
{
	char	 p[4400], *t;
	double	 t0 = dt_mono();
	int	 st;

	snprintf(p, sizeof(p), "%s/log.%d", dt_dir, dt_nstarts);
	while (dt_mono() - t0 < timeout) {
		if ((t = test_read(p, NULL)) != NULL) {
			int ready = strstr(t, "info: ready: ") != NULL;

			free(t);
			if (ready)
				return;
		}
		if (waitpid(dt_pid, &st, WNOHANG) == dt_pid) {
			dt_pid = -1;
			t = dt_logs();
			cr_assert_fail("pf-supervisor exited during start-up "
			    "(status %d):\n%s", st, t);
		}
		usleep(20000);
	}
	t = dt_logs();
	cr_assert_fail("pf-supervisor not ready after %.0f s:\n%s", timeout, t);
}

/*
 * Starts pf-supervisor on wf/ with state in st/ without waiting for it to
 * be ready; extra: more options.  Returns 1 when it runs under a wrapper.
 */
int
dt_spawn(const char *extra)
{
	char	*argv[64], *copy = NULL, *wcopy = NULL, *tok, *save, log[4400];
	const char *wrap;
	int	 n = 0;

	cr_assert_eq(dt_pid, -1, "already running");
	/* PF_TEST_SUPERVISOR_WRAPPER="valgrind -q --error-exitcode=99 ..." */
	if ((wrap = getenv("PF_TEST_SUPERVISOR_WRAPPER")) != NULL &&
	    *wrap != '\0') {
		wcopy = strdup(wrap);
		for (tok = strtok_r(wcopy, " ", &save); tok && n < 20;
		    tok = strtok_r(NULL, " ", &save))
			argv[n++] = tok;
	}
	argv[n++] = (char *)(uintptr_t)(dt_sup_bin != NULL ? dt_sup_bin :
	    test_bin("pf-supervisor"));
	argv[n++] = (char *)"-c";
	argv[n++] = dt_wfdir;
	argv[n++] = (char *)"--state-dir";
	argv[n++] = dt_state;
	argv[n++] = (char *)"--grace";
	argv[n++] = (char *)"2";
	if (geteuid() == 0 && !dt_default_user && (extra == NULL ||
	    (strstr(extra, "--run-as") == NULL &&
	    strstr(extra, "--policy") == NULL))) {
		argv[n++] = (char *)"--run-as";
		argv[n++] = (char *)"root";
	}
	if (extra != NULL) {
		copy = strdup(extra);
		for (tok = strtok_r(copy, " ", &save); tok && n < 62;
		    tok = strtok_r(NULL, " ", &save))
			argv[n++] = tok;
	}
	argv[n] = NULL;
	snprintf(log, sizeof(log), "%s/log.%d", dt_dir, ++dt_nstarts);
	dt_pid = proc_spawn(argv, dt_env, log, log);
	free(copy);
	free(wcopy);
	cr_assert_gt(dt_pid, 0);
	return wrap != NULL && *wrap != '\0';
}

/* Starts pf-supervisor and waits until it is ready. */
void
dt_start(const char *extra)
{
	dt_wait_ready(dt_spawn(extra) ? 180 : 60);
}

/* SIGTERM, then waits for the exit; checks its status. */
void
dt_stop(int want_rc)
{
	double	 t0 = dt_mono();
	int	 st;
	pid_t	 r;
	char	*t;

	cr_assert_gt(dt_pid, 0);
	kill(dt_pid, SIGTERM);
	while ((r = waitpid(dt_pid, &st, WNOHANG)) == 0 &&
	    dt_mono() - t0 < 90)
		usleep(20000);
	if (r != dt_pid) {
		kill(dt_pid, SIGKILL);
		waitpid(dt_pid, NULL, 0);
		dt_pid = -1;
		t = dt_logs();
		cr_assert_fail("pf-supervisor did not stop on SIGTERM:\n%s", t);
	}
	dt_pid = -1;
	t = dt_logs();
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == want_rc,
	    "exit status %d, wanted exit %d:\n%s", st, want_rc, t);
	free(t);
}

void
dt_kill9(void)
{
	cr_assert_gt(dt_pid, 0);
	kill(dt_pid, SIGKILL);
	waitpid(dt_pid, NULL, 0);
	dt_pid = -1;
}

int64_t
dt_int(const char *sql)
{
	sqlite3		*db;
	sqlite3_stmt	*s;
	int64_t		 v = -1;
	int		 rc;

	cr_assert_eq(sqlite3_open_v2(dt_db, &db, SQLITE_OPEN_READONLY, NULL),
	    SQLITE_OK, "%s", dt_db);
	sqlite3_busy_timeout(db, 10000);
	rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL);
	cr_assert_eq(rc, SQLITE_OK, "%s: %s", sql, sqlite3_errmsg(db));
	rc = sqlite3_step(s);
	cr_assert(rc == SQLITE_ROW || rc == SQLITE_DONE, "%s: %s", sql,
	    sqlite3_errmsg(db));
	if (rc == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return v;
}

char *
dt_str(const char *sql)
{
	sqlite3		*db;
	sqlite3_stmt	*s;
	char		*v = NULL;

	cr_assert_eq(sqlite3_open_v2(dt_db, &db, SQLITE_OPEN_READONLY, NULL),
	    SQLITE_OK);
	sqlite3_busy_timeout(db, 10000);
	cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK,
	    "%s: %s", sql, sqlite3_errmsg(db));
	if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
		v = strdup((const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	sqlite3_close(db);
	return v ? v : strdup("");
}

/* Waits until the query gives at least want; returns the last value. */
int64_t
dt_wait_int(const char *sql, int64_t want, double timeout)
{
	double	 t0 = dt_mono();
	int64_t	 v;
	char	*t;

	for (;;) {
		struct stat sb;

		v = stat(dt_db, &sb) == 0 ? dt_int(sql) : -1;
		if (v >= want)
			return v;
		if (dt_mono() - t0 > timeout)
			break;
		usleep(50000);
	}
	t = dt_logs();
	cr_assert_fail("waited %.0f s for %s >= %lld (got %lld)\n%s", timeout,
	    sql, (long long)want, (long long)v, t);
	return v;
}

/* The supervisor's status over its control socket (ctl_reply_free it). */
void
dt_status(struct ctl_reply *rep)
{
	struct ctl_request	 req;
	struct pf_err		 err;

	ctl_request_init(&req);
	req.cmd = CTL_CMD_STATUS;
	cr_assert_eq(control_call(dt_sock, &req, rep, 20000, &err), 0, "%s",
	    err.msg);
	cr_assert_eq(rep->ok, 1);
	cr_assert_eq(rep->has_status, 1);
}

const struct ctl_wf_status *
dt_find_wf(const struct ctl_reply *r, const char *name)
{
	size_t	 i;

	for (i = 0; i < r->nwfs; i++)
		if (strcmp(r->wfs[i].name, name) == 0)
			return &r->wfs[i];
	cr_assert_fail("workflow '%s' is not in the status", name);
	return NULL;
}

/* A control request; the reply is returned (caller frees). */
void
dt_ctl(uint8_t cmd, const char *wf, int64_t run_id, struct ctl_reply *rep)
{
	struct ctl_request	 req;
	struct pf_err		 err;

	ctl_request_init(&req);
	req.cmd = cmd;
	req.workflow = (char *)(uintptr_t)wf;
	req.run_id = run_id;
	cr_assert_eq(control_call(dt_sock, &req, rep, 60000, &err), 0, "%s",
	    err.msg);
}

/* 1 once pid is gone (or a zombie) within timeout. */
int
dt_proc_gone(long pid, double timeout)
{
	double	 t0 = dt_mono();
	char	 p[64], buf[512], *q;
	int	 fd;
	ssize_t	 n;

	snprintf(p, sizeof(p), "/proc/%ld/stat", pid);
	while (dt_mono() - t0 < timeout) {
		if ((fd = open(p, O_RDONLY)) == -1)
			return 1;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			return 1;
		buf[n] = '\0';
		if ((q = strrchr(buf, ')')) != NULL && (q[2] == 'Z' ||
		    q[2] == 'X'))
			return 1;
		usleep(50000);
	}
	return 0;
}

/*
 * Reads a pid a task wrote (TEST_ECHO_PID: in its own PID namespace,
 * it is translated to ours).
 */
long
dt_read_long(const char *path)
{
	char	*t = test_read(path, NULL);
	long	 v;

	cr_assert_not_null(t, "%s", path);
	v = test_host_pid(t);
	cr_assert_gt(v, 1, "no live process for '%s' in %s", t, path);
	free(t);
	return v;
}

char *
dt_output(int64_t attempt_id, int stream)
{
	char	 sql[512];

	snprintf(sql, sizeof(sql), "SELECT coalesce(t.%s, '') || "
	    "coalesce((SELECT group_concat(CAST(data AS TEXT), '') FROM "
	    "(SELECT data FROM task_output o WHERE o.attempt_id = t.id AND "
	    "o.stream = %d ORDER BY seq)), '') FROM task_executions t WHERE "
	    "t.id = %lld", stream == 1 ? "stdout" : "stderr", stream,
	    (long long)attempt_id);
	return dt_str(sql);
}

int64_t
dt_output_bytes(int64_t attempt_id)
{
	char	 sql[512];

	snprintf(sql, sizeof(sql), "SELECT coalesce(length(CAST(stdout AS "
	    "BLOB)), 0) + coalesce(length(CAST(stderr AS BLOB)), 0) + "
	    "(SELECT coalesce(sum(length(CAST(data AS BLOB))), 0) FROM "
	    "task_output o WHERE o.attempt_id = t.id) FROM task_executions t "
	    "WHERE t.id = %lld", (long long)attempt_id);
	return dt_int(sql);
}

/* Field 22 of /proc/PID/stat (start time, clock ticks); -1 if gone. */
static long long
start_ticks(long pid)
{
	char	 p[64], buf[1024], *q;
	int	 fd, field;
	ssize_t	 n;

	snprintf(p, sizeof(p), "/proc/%ld/stat", pid);
	if ((fd = open(p, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	if ((q = strrchr(buf, ')')) == NULL)
		return -1;
	for (field = 2; field < 22 && q != NULL; field++)
		q = strchr(q + 1, ' ');
	return q != NULL ? strtoll(q + 1, NULL, 10) : -1;
}

/*
 * SIGKILLs the running attempts' groups, each only while its leader is
 * the process recorded (same start time); -1 when the store cannot say.
 */
static int
kill_attempt_groups(void)
{
	sqlite3		*db;
	sqlite3_stmt	*s;
	struct stat	 sb;
	int		 n = 0, k;
	sqlite3_int64	 pid;

	if (stat(dt_db, &sb) == -1 || sqlite3_open_v2(dt_db, &db,
	    SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		return -1;
	sqlite3_busy_timeout(db, 10000);
	if (sqlite3_prepare_v2(db, "SELECT p.worker_pid, p.task_pid, "
	    "p.worker_start, p.task_start FROM attempt_procs p JOIN task_executions t ON t.id = "
	    "p.attempt_id WHERE t.status = 'running'", -1, &s, NULL) !=
	    SQLITE_OK) {
		sqlite3_close(db);
		return -1;
	}
	while (sqlite3_step(s) == SQLITE_ROW)
		for (k = 0; k < 2; k++) {
			pid = sqlite3_column_int64(s, k);
			if (pid > 1 && start_ticks((long)pid) ==
			    sqlite3_column_int64(s, k + 2) &&
			    kill(-(pid_t)pid, SIGKILL) == 0)
				n++;
		}
	sqlite3_finalize(s);
	sqlite3_close(db);
	return n;
}

int
dt_kill_attempt_procs(void)
{
	int	 n = kill_attempt_groups();

	cr_assert_geq(n, 0, "cannot read the attempts' processes from %s",
	    dt_db);
	return n;
}

/*
 * The cgroup directories of a process under a picoflow/ tree (from
 * /proc/PID/cgroup), as /sys/fs/cgroup paths, one per line (caller
 * frees; "" when it has none).
 */
char *
dt_cgroups(long pid)
{
	char	 p[64], line[4096], *out = calloc(1, 1), *q, *path;
	size_t	 len = 0, add;
	FILE	*f;

	cr_assert_not_null(out);
	snprintf(p, sizeof(p), "/proc/%ld/cgroup", pid);
	if ((f = fopen(p, "r")) == NULL)
		return out;
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		/* "N:controllers:/path"; cgroup2 ("0::") is "unified" here. */
		if ((q = strchr(line, ':')) == NULL ||
		    (path = strchr(q + 1, ':')) == NULL ||
		    strstr(path, "/picoflow/") == NULL)
			continue;
		*path++ = '\0';
		if (q[1] == '\0')
			q = (char *)"unified";
		else {
			q++;
			if (strncmp(q, "name=", 5) == 0)
				q += 5;
			if (strchr(q, ',') != NULL) {
				char	 alt[300];
				struct stat sb;

				snprintf(alt, sizeof(alt), "/sys/fs/cgroup/%s",
				    q);
				if (stat(alt, &sb) == -1)
					*strchr(q, ',') = '\0';
			}
		}
		add = strlen(q) + strlen(path) + 32;
		cr_assert_not_null(out = realloc(out, len + add));
		len += (size_t)snprintf(out + len, add, "/sys/fs/cgroup/%s%s\n",
		    q, path);
	}
	fclose(f);
	return out;
}

/* How many of the directories dt_cgroups listed still exist. */
int
dt_cgroups_left(const char *list, char *which, size_t wlen)
{
	char		*t = strdup(list), *p, *save;
	struct stat	 sb;
	int		 n = 0;
	size_t		 o = 0;

	cr_assert_not_null(t);
	which[0] = '\0';
	for (p = strtok_r(t, "\n", &save); p; p = strtok_r(NULL, "\n", &save))
		if (stat(p, &sb) == 0) {
			n++;
			if (o < wlen)
				o += (size_t)snprintf(which + o, wlen - o,
				    " %s", p);
		}
	free(t);
	return n;
}

/* build/picoflow --state-dir ST a1..a4 (NULLs end the list). */
void
dt_pf(struct proc_result *r, const char *a1, const char *a2, const char *a3,
    const char *a4)
{
	char	*argv[10];
	int	 n = 0;

	argv[n++] = (char *)(uintptr_t)test_bin("picoflow");
	argv[n++] = (char *)"--state-dir";
	argv[n++] = dt_state;
	if (a1)
		argv[n++] = (char *)(uintptr_t)a1;
	if (a2)
		argv[n++] = (char *)(uintptr_t)a2;
	if (a3)
		argv[n++] = (char *)(uintptr_t)a3;
	if (a4)
		argv[n++] = (char *)(uintptr_t)a4;
	argv[n] = NULL;
	cr_assert_eq(proc_run(argv, NULL, 120, r), 0);
	cr_assert(!r->timed_out);
}
