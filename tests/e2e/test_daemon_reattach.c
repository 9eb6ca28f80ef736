/*
 * End-to-end: tasks outlive pf-supervisor (issue 14, docs/operations.md
 * "Crash, restart and upgrade").  The supervisor is killed with SIGKILL
 * (or restarted in place) while a task runs, in its output, its retry
 * backoff, its timeout's grace period, a chain; the next start
 * re-attaches to the worker and the task runs once, with its attempt
 * number and its whole output.  Attempts that cannot be re-attached are
 * recorded interrupted and do not spend retries.  Marker files written
 * by the tasks count how often each really ran.  Waits have wide upper
 * bounds (shared, noisy machines); lower bounds only where the product
 * must have waited.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../lib/daemon_harness.h"

TestSuite(reattach, .init = dt_setup, .fini = dt_teardown, .timeout = 400);

/*
 * Most tests run without cgroups: any pf-supervisor starting on the host
 * while ours is down (another test, another state directory) sweeps the
 * dead supervisor's cgroup instance and so kills the workers that were
 * to be re-attached (the bug another_supervisor_spares_surviving_workers
 * shows).  Under AddressSanitizer the worker cannot run without cgroups
 * (its address space rlimit is far below ASan's shadow).
 */
#ifdef __SANITIZE_ADDRESS__
#define RA_OPTS		""
#else
#define RA_OPTS		"--no-cgroups"
#endif

/* Lines of a marker file equal to word (NULL: every line). */
static int
count_lines(const char *name, const char *word)
{
	char	 p[4400], *t, *q, *save;
	int	 n = 0;

	snprintf(p, sizeof(p), "%s/%s", dt_dir, name);
	if ((t = test_read(p, NULL)) == NULL)
		return 0;
	for (q = strtok_r(t, "\n", &save); q; q = strtok_r(NULL, "\n", &save))
		if (word == NULL || strcmp(q, word) == 0)
			n++;
	free(t);
	return n;
}

/* A marker file's text ("" when missing; caller frees). */
static char *
marker(const char *name)
{
	char	 p[4400], *t;

	snprintf(p, sizeof(p), "%s/%s", dt_dir, name);
	t = test_read(p, NULL);
	return t != NULL ? t : strdup("");
}

/* Waits until a marker file has want lines equal to word. */
static void
wait_lines(const char *name, const char *word, int want, double timeout)
{
	double	 t0 = dt_mono();

	while (count_lines(name, word) < want && dt_mono() - t0 < timeout)
		usleep(50000);
	cr_assert_eq(count_lines(name, word), want, "%s: %d lines '%s', "
	    "wanted %d:\n%s", name, count_lines(name, word), word, want,
	    dt_logs());
}

/* Waits until a running attempt has its worker and task recorded. */
static void
wait_task_recorded(int64_t want)
{
	dt_wait_int("SELECT count(*) FROM attempt_procs p JOIN "
	    "task_executions t ON t.id = p.attempt_id WHERE t.status = "
	    "'running' AND p.task_pid IS NOT NULL", want, 60);
}

/* Waits until the only run ended; fails with the logs otherwise. */
static void
wait_run_end(double timeout)
{
	dt_wait_int("SELECT count(*) FROM executions WHERE status <> "
	    "'running'", 1, timeout);
}

static int
has_cgroups(void)
{
	return !dt_log_has("isolation: NONE");
}

/*
 * (a) kill -9 during a 3-second task with retry 0: it ran once, the run
 * succeeds in attempt 1, and its output, written before, during and
 * after the supervisor's absence, is whole and not repeated.
 */
Test(reattach, kill9_during_a_task_runs_it_once)
{
	char	*out;

	dt_wf("one.yaml",
	    "name: one\n"
	    "schedule: \"@start\"\n"
	    "config: {retry_default: 0}\n"
	    "tasks:\n"
	    "  - name: a\n"
	    "    type: shell\n"
	    "    config: {command: /bin/sh, args: [\"-c\", \"echo before; "
	    "echo ran >> %1$s/m; sleep 1; echo during-1; sleep 1; "
	    "echo during-2; sleep 1; echo after\"]}\n", dt_dir);
	dt_start(RA_OPTS);
	wait_task_recorded(1);
	usleep(1200000);
	dt_kill9();
	usleep(500000);		/* output written while nobody listens */
	dt_start(RA_OPTS);
	wait_run_end(60);
	dt_stop(0);
	cr_assert_eq(count_lines("m", "ran"), 1, "the task ran %d times",
	    count_lines("m", "ran"));
	dt_str_eq("SELECT status FROM executions", "success");
	cr_assert_eq(dt_int("SELECT count(*) FROM task_executions"), 1);
	dt_str_eq("SELECT status || ' ' || attempt FROM task_executions",
	    "success 1");
	out = dt_output(dt_int("SELECT id FROM task_executions"), 1);
	cr_assert_str_eq(out, "before\nduring-1\nduring-2\nafter\n");
	free(out);
	/* Taken over live, or (a slow start) from the spool. */
	cr_assert(dt_log_has("run 1 task 'a' attempt 1: re-attached to its "
	    "worker, which kept it running") || dt_log_has("run 1 task 'a' "
	    "attempt 1: its worker ended: its result is in the spool"));
}

/*
 * (b) kill -9 while a task floods its output beyond its cap: what is
 * stored is the first `cap` bytes of what it wrote, exactly, flagged
 * truncated; nothing is stored twice or lost before the cap.
 */
#define FLOOD_CAP	(256 * 1024)
#define FLOOD_LINES	80000

Test(reattach, kill9_during_an_output_flood_keeps_the_cap)
{
	char	*out, *want;
	size_t	 wl = 0, wcap = 1024 * 1024;
	int64_t	 id;
	double	 t0;
	int	 i;

	dt_wf("flood.yaml",
	    "name: flood\n"
	    "schedule: \"@start\"\n"
	    "config: {retry_default: 0}\n"
	    "tasks:\n"
	    "  - name: a\n"
	    "    type: shell\n"
	    "    limits: {output: %1$d}\n"
	    "    config: {command: /bin/sh, args: [\"-c\", \"echo ran >> "
	    "%2$s/m; i=0; while [ $i -lt 40 ]; do seq $((i * 2000 + 1)) "
	    "$((i * 2000 + 2000)); i=$((i + 1)); sleep 0.1; done\"]}\n",
	    FLOOD_CAP, dt_dir);
	dt_start(RA_OPTS);
	wait_task_recorded(1);
	id = dt_int("SELECT id FROM task_executions");
	/* Some of it stored already, so the replay has something to skip. */
	t0 = dt_mono();
	while (dt_output_bytes(id) < 20000 && dt_mono() - t0 < 3)
		usleep(50000);
	dt_kill9();
	dt_start(RA_OPTS);
	wait_run_end(90);
	dt_stop(0);
	cr_assert_eq(count_lines("m", "ran"), 1);
	dt_str_eq("SELECT status || ' ' || attempt FROM task_executions",
	    "success 1");
	cr_assert_eq(dt_output_bytes(id), FLOOD_CAP, "stored %lld bytes, the "
	    "cap is %d", (long long)dt_output_bytes(id), FLOOD_CAP);
	cr_assert_eq(dt_int("SELECT truncated FROM task_executions"), 1);
	cr_assert_not_null(want = malloc(wcap));
	for (i = 1; i <= FLOOD_LINES && wl < FLOOD_CAP; i++)
		wl += (size_t)snprintf(want + wl, wcap - wl, "%d\n", i);
	want[FLOOD_CAP] = '\0';
	out = dt_output(id, 1);
	cr_assert_eq(strlen(out), FLOOD_CAP);
	for (i = 0; i < FLOOD_CAP && out[i] == want[i]; i++)
		;
	cr_assert_eq(i, FLOOD_CAP, "the stored output differs from what the "
	    "task wrote at byte %d: '%.40s' instead of '%.40s'", i, out + i,
	    want + i);
	free(out);
	free(want);
}

/*
 * (c) kill -9 during a retry backoff: attempts 1-3 fail, the backoff
 * before attempt 4 is about 4 s (1, 2, 4 s, +-25%); the supervisor dies
 * in it.  Attempt 4 runs once and succeeds; no other attempt appears.
 */
Test(reattach, kill9_during_a_retry_backoff)
{
	char	*m;

	dt_wf("retry.yaml",
	    "name: retry\n"
	    "schedule: \"@start\"\n"
	    "tasks:\n"
	    "  - name: a\n"
	    "    type: shell\n"
	    "    retry: 3\n"
	    "    config: {command: /bin/sh, args: [\"-c\", \"echo "
	    "$PICOFLOW_ATTEMPT >> %1$s/m; [ $PICOFLOW_ATTEMPT -ge 4 ] || "
	    "exit 3\"]}\n", dt_dir);
	dt_start(RA_OPTS);
	dt_wait_int("SELECT count(*) FROM task_executions WHERE attempt = 3 "
	    "AND status = 'failed'", 1, 60);
	cr_assert_eq(dt_int("SELECT count(*) FROM task_executions WHERE "
	    "attempt = 4"), 0, "too late: attempt 4 started already");
	dt_kill9();
	dt_start(RA_OPTS);
	wait_run_end(60);
	dt_stop(0);
	m = marker("m");
	cr_assert_str_eq(m, "1\n2\n3\n4\n");
	free(m);
	dt_str_eq("SELECT status FROM executions", "success");
	dt_str_eq("SELECT group_concat(attempt || ' ' || status, ', ') FROM "
	    "(SELECT * FROM task_executions ORDER BY attempt)",
	    "1 failed, 2 failed, 3 failed, 4 success");
}

/*
 * (d) kill -9 in a timeout's grace period: the task ignores SIGTERM, its
 * timeout (1 s) passed and the stop is under way (grace 2 s) when the
 * supervisor dies.  The attempt ends `timeout`, attempt 1, and the task
 * never runs again.  The task still gets its grace (it writes "alive"
 * every 0.1 s after the SIGTERM; a lower bound of 0.5 s of the 2 s).
 */
Test(reattach, kill9_during_a_timeout_grace)
{
	char	 p[4400];
	double	 t0;

	dt_wf("slow.yaml",
	    "name: slow\n"
	    "schedule: \"@start\"\n"
	    "tasks:\n"
	    "  - name: a\n"
	    "    type: shell\n"
	    "    timeout: 1\n"
	    "    retry: 0\n"
	    "    config: {command: /bin/sh, args: [\"-c\", \"t=0; trap 't=1; "
	    "echo term >> %1$s/m' TERM; echo start >> %1$s/m; while :; do "
	    "sleep 0.1; [ $t = 1 ] && echo alive >> %1$s/m; done\"]}\n",
	    dt_dir);
	dt_start(RA_OPTS);
	snprintf(p, sizeof(p), "%s/m", dt_dir);
	cr_assert_eq(test_wait_file(p, 60), 0);
	t0 = dt_mono();
	while (count_lines("m", "term") == 0 && dt_mono() - t0 < 30)
		usleep(20000);
	cr_assert_eq(count_lines("m", "term"), 1, "no SIGTERM came");
	dt_kill9();
	dt_start(RA_OPTS);
	wait_run_end(60);
	dt_stop(0);
	cr_assert_eq(count_lines("m", "start"), 1, "the task ran again");
	dt_str_eq("SELECT status FROM executions", "failed");
	cr_assert_eq(dt_int("SELECT count(*) FROM task_executions"), 1);
	dt_str_eq("SELECT status || ' ' || attempt FROM task_executions",
	    "timeout 1");
	cr_assert_geq(count_lines("m", "alive"), 5, "the grace was cut to "
	    "about %d00 ms of 2000:\n%s", count_lines("m", "alive"),
	    dt_logs());
}

/*
 * (e) A chain of 20 short tasks, the supervisor killed 3 times at random
 * moments (start-up included): every task ran exactly once.
 */
Test(reattach, kill9_thrice_during_a_chain_of_20)
{
	char		 buf[16384], name[16];
	size_t		 o = 0;
	unsigned	 seed = (unsigned)getpid() ^ (unsigned)time(NULL);
	int		 i, k;

	srand(seed);
	o += (size_t)snprintf(buf + o, sizeof(buf) - o,
	    "name: chain\n"
	    "schedule: \"@start\"\n"
	    "config: {retry_default: 0}\n"
	    "tasks:\n");
	for (i = 1; i <= 20; i++) {
		char	 dep[32] = "";

		if (i > 1)
			snprintf(dep, sizeof(dep), " depends_on: [t%d],", i - 1);
		o += (size_t)snprintf(buf + o, sizeof(buf) - o,
		    "  - {name: t%d, type: shell,%s config: {command: /bin/sh, "
		    "args: [\"-c\", \"sleep 0.3; echo t%d >> %s/m\"]}}\n", i,
		    dep, i, dt_dir);
	}
	cr_assert_lt(o, sizeof(buf));
	dt_wf("chain.yaml", "%s", buf);
	for (k = 0; k < 3; k++) {
		if (k > 0 && rand() % 3 == 0)
			(void)dt_spawn(RA_OPTS);	/* during start-up */
		else
			dt_start(RA_OPTS);
		usleep((useconds_t)(200000 + rand() % 2000000));
		dt_kill9();
	}
	dt_start(RA_OPTS);
	wait_run_end(120);
	dt_stop(0);
	for (i = 1; i <= 20; i++) {
		snprintf(name, sizeof(name), "t%d", i);
		cr_assert_eq(count_lines("m", name), 1, "seed %u: %s ran %d "
		    "times", seed, name, count_lines("m", name));
	}
	cr_assert_eq(count_lines("m", NULL), 20);
	dt_str_eq("SELECT status FROM executions", "success");
	cr_assert_eq(dt_int("SELECT count(*) FROM task_executions"), 20,
	    "seed %u: extra attempts", seed);
	cr_assert_eq(dt_int("SELECT count(*) FROM task_executions WHERE "
	    "status = 'success' AND attempt = 1"), 20);
}

/* Connects to an attempt's socket; -1 when that fails. */
static int
att_connect(int64_t attempt_id)
{
	struct sockaddr_un	 sun;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	cr_assert_lt((size_t)snprintf(sun.sun_path, sizeof(sun.sun_path),
	    "%s/attach/%lld.sock", dt_state, (long long)attempt_id),
	    sizeof(sun.sun_path));
	cr_assert_neq(fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), -1);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Reads what comes within timeout: the byte count, -2 when the peer
 * closed before anything came (EOF), or what came before the EOF.
 * *eof says whether it closed.
 */
static ssize_t
att_read(int fd, double timeout, int *eof)
{
	struct pollfd	 p;
	char		 buf[65536];
	double		 t0 = dt_mono();
	ssize_t		 n, total = 0;

	*eof = 0;
	p.fd = fd;
	p.events = POLLIN;
	while (dt_mono() - t0 < timeout) {
		if (poll(&p, 1, 100) <= 0)
			continue;
		n = read(fd, buf, sizeof(buf));
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			*eof = 1;
			break;
		}
		total += n;
	}
	return total;
}

/*
 * (f) Two supervisors can never attach to one worker.  While the
 * supervisor is attached, a connection to the attempt's socket is closed
 * without a byte.  After a kill -9, a process of the same user that
 * connects first is sent the spool; the supervisor started then is
 * refused.  The safe outcome asserted: it does not wait on a worker it
 * cannot watch, nor run the task beside it: it stops that worker and its
 * task, records the attempt interrupted (no retry spent, nothing
 * recorded failed), and runs the task again, once.
 */
Test(reattach, two_supervisors_never_attach_to_one_worker)
{
	int64_t	 id;
	ssize_t	 n;
	int	 fd, eof;
	char	*m;

	dt_wf("one.yaml",
	    "name: one\n"
	    "schedule: \"@start\"\n"
	    "config: {retry_default: 1}\n"
	    "tasks:\n"
	    "  - name: a\n"
	    "    type: shell\n"
	    "    config: {command: /bin/sh, args: [\"-c\", \"echo start >> "
	    "%1$s/m; echo out; sleep 8; echo done >> %1$s/m\"]}\n", dt_dir);
	dt_start(RA_OPTS " --attach-window 3");
	wait_task_recorded(1);
	id = dt_int("SELECT id FROM task_executions");

	/* The supervisor is attached: a second one is turned away. */
	cr_assert_geq(fd = att_connect(id), 0, "nothing listens on the "
	    "attempt's socket");
	n = att_read(fd, 10, &eof);
	close(fd);
	cr_assert_eq(n, 0, "a second connection got %zd bytes", n);
	cr_assert_eq(eof, 1, "a second connection was not closed");
	cr_assert(dt_log_has("re-attach: refused a second supervisor"));

	/* Killed: we attach first, and get the spool. */
	dt_kill9();
	cr_assert_geq(fd = att_connect(id), 0, "the worker does not listen "
	    "after the kill:\n%s", dt_logs());
	n = att_read(fd, 3, &eof);
	cr_assert_gt(n, 0, "the first to attach got no spool");
	cr_assert_eq(eof, 0);
	dt_start(RA_OPTS " --attach-window 3");
	/* The refused supervisor stops the worker: we see its end. */
	(void)att_read(fd, 20, &eof);
	cr_assert_eq(eof, 1, "the worker held by another was not stopped");
	close(fd);
	wait_run_end(60);
	dt_stop(0);
	m = marker("m");
	cr_assert_str_eq(m, "start\nstart\ndone\n", "the task did not run "
	    "again exactly once after its first instance was stopped "
	    "(marker '%s'):\n%s", m, dt_logs());
	free(m);
	dt_str_eq("SELECT group_concat(status || ' ' || attempt, ', ') FROM "
	    "(SELECT status, attempt FROM task_executions ORDER BY attempt)",
	    "interrupted 1, success 2");
	cr_assert_eq(dt_int("SELECT count(*) FROM task_executions WHERE "
	    "status = 'failed'"), 0);
	cr_assert(dt_log_has("ended its stream without a result"));
}

/*
 * (g) A worker whose supervisor never returns waits the window after its
 * task ended, then exits, leaving no process (worker, task, anything
 * carrying this test's directory) and none of the attempt's cgroups.
 * With cgroups (the point of the test); fails when another supervisor
 * swept the dead one's instance first (see
 * another_supervisor_spares_surviving_workers).
 */
Test(reattach, worker_without_supervisor_leaves_after_the_window)
{
	char	 p[4400], which[2048], *cgs;
	long	 tpid, wpid;
	double	 t0, tend;

	dt_wf("one.yaml",
	    "name: one\n"
	    "schedule: \"@start\"\n"
	    "tasks:\n"
	    "  - name: a\n"
	    "    type: shell\n"
	    "    config: {command: /bin/sh, args: [\"-c\", \"" TEST_ECHO_PID
	    " > %1$s/a.pid; sleep 2; touch %1$s/end\"]}\n", dt_dir);
	dt_start("--attach-window 3");
	if (!has_cgroups())
		cr_skip("SKIPPED: no writable cgroup here: %s",
		    "the cgroup half of the test cannot run");
	wait_task_recorded(1);
	snprintf(p, sizeof(p), "%s/a.pid", dt_dir);
	cr_assert_eq(test_wait_file(p, 30), 0);
	wpid = dt_int("SELECT worker_pid FROM attempt_procs");
	tpid = dt_read_long(p);
	cgs = dt_cgroups(wpid);
	cr_assert_neq(cgs[0], '\0', "the worker is in no picoflow cgroup");
	dt_kill9();
	t0 = dt_mono();
	snprintf(p, sizeof(p), "%s/end", dt_dir);
	cr_assert_eq(test_wait_file(p, 30), 0, "the task did not finish "
	    "without its supervisor (killed by another supervisor's cgroup "
	    "sweep? see another_supervisor_spares_surviving_workers):\n%s",
	    dt_logs());
	tend = dt_mono();
	cr_assert_eq(dt_proc_gone(tpid, 30), 1);
	cr_assert_eq(dt_proc_gone(wpid, 60), 1, "the worker outlived its "
	    "window");
	cr_assert_geq(dt_mono() - tend, 2.5, "the worker left %.1f s after "
	    "its task, before its 3 s window:\n%s", dt_mono() - tend,
	    dt_logs());
	while (dt_cgroups_left(cgs, which, sizeof(which)) > 0 &&
	    dt_mono() - t0 < 60)
		usleep(100000);
	cr_assert_eq(dt_cgroups_left(cgs, which, sizeof(which)), 0, "the "
	    "attempt's cgroups are left behind:%s", which);
	free(cgs);
	cr_assert(dt_log_has("no supervisor re-attached within"));
}

/* Copies a file (mode 0755); 0 when done. */
static int
copy_file(const char *from, const char *to, const char *tail)
{
	size_t	 n;
	char	*t = test_read(from, &n);
	int	 fd, ok;

	if (t == NULL)
		return -1;
	if ((fd = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0755)) == -1) {
		free(t);
		return -1;
	}
	ok = write(fd, t, n) == (ssize_t)n && (tail == NULL ||
	    write(fd, tail, strlen(tail)) == (ssize_t)strlen(tail));
	free(t);
	return close(fd) == 0 && ok ? 0 : -1;
}

/*
 * (h) Upgrade mid-run: the supervisor runs from a copy; the copy is
 * replaced (a new inode, as a package manager does) and `picoflow
 * daemon restart` makes the same process exec the new file, which takes
 * the running task over; the run completes with its task run once.
 */
Test(reattach, restart_with_upgrade_mid_run)
{
	static const char *bins[] = { "pf-worker", "pf-worker-net",
	    "pf-loader", "picoflow" };
	struct proc_result	 r;
	struct stat		 sb, eb;
	char			 bin[4300], sup[4400], tmp[4400], to[4400];
	char			 exe[4400], lnk[64];
	ssize_t			 n;
	size_t			 i;

	if (getenv("PF_UNDER_VALGRIND") != NULL)
		cr_skip_test("SKIPPED: under valgrind the supervisor's program "
		    "is valgrind's, so a restart cannot exec its own binary");
	snprintf(bin, sizeof(bin), "%.4200s/bin", dt_dir);
	cr_assert_eq(mkdir(bin, 0755), 0);
	snprintf(sup, sizeof(sup), "%s/pf-supervisor", bin);
	cr_assert_eq(copy_file(test_bin("pf-supervisor"), sup, NULL), 0);
	for (i = 0; i < sizeof(bins) / sizeof(bins[0]); i++) {
		snprintf(to, sizeof(to), "%s/%s", bin, bins[i]);
		cr_assert_eq(copy_file(test_bin(bins[i]), to, NULL), 0, "%s",
		    bins[i]);
	}
	dt_sup_bin = sup;
	dt_wf("one.yaml",
	    "name: one\n"
	    "schedule: \"@start\"\n"
	    "config: {retry_default: 0}\n"
	    "tasks:\n"
	    "  - name: a\n"
	    "    type: shell\n"
	    "    config: {command: /bin/sh, args: [\"-c\", \"echo start >> "
	    "%1$s/m; echo one; sleep 4; echo two; echo done >> %1$s/m\"]}\n",
	    dt_dir);
	dt_start(RA_OPTS);
	wait_task_recorded(1);

	/* The new version: another file (another inode) at the same path. */
	snprintf(tmp, sizeof(tmp), "%s/.pf-supervisor.new", bin);
	cr_assert_eq(copy_file(test_bin("pf-supervisor"), tmp,
	    "\npicoflow upgrade test\n"), 0);
	cr_assert_eq(rename(tmp, sup), 0);
	cr_assert_eq(stat(sup, &sb), 0);

	dt_pf(&r, "daemon", "restart", NULL, NULL);
	cr_assert_eq(r.exit_code, 0, "daemon restart: %s%s\n%s", r.out, r.err,
	    dt_logs());
	proc_result_free(&r);
	/* Same pid, the new file. */
	cr_assert_eq(kill(dt_pid, 0), 0);
	cr_assert_eq(waitpid(dt_pid, NULL, WNOHANG), 0, "the supervisor "
	    "exited");
	snprintf(lnk, sizeof(lnk), "/proc/%ld/exe", (long)dt_pid);
	n = readlink(lnk, exe, sizeof(exe) - 1);
	cr_assert_gt(n, 0);
	exe[n] = '\0';
	cr_assert_str_eq(exe, sup, "/proc/PID/exe is '%s'", exe);
	cr_assert_eq(stat(lnk, &eb), 0);
	cr_assert(eb.st_ino == sb.st_ino && eb.st_dev == sb.st_dev,
	    "the supervisor runs inode %lu, the new file is inode %lu",
	    (unsigned long)eb.st_ino, (unsigned long)sb.st_ino);

	wait_run_end(60);
	dt_stop(0);
	cr_assert_eq(count_lines("m", "start"), 1, "the task ran again");
	cr_assert_eq(count_lines("m", "done"), 1);
	dt_str_eq("SELECT status FROM executions", "success");
	dt_str_eq("SELECT group_concat(attempt || ' ' || status) FROM "
	    "task_executions", "1 success");
	{
		char	*out = dt_output(dt_int("SELECT id FROM "
		    "task_executions"), 1);

		cr_assert_str_eq(out, "one\ntwo\n");
		free(out);
	}
	cr_assert(dt_log_has("re-attached to its worker") ||
	    dt_log_has("its result is in the spool"));
}

/*
 * (i) Worker, task and supervisor killed three times in a row: each
 * attempt is recorded interrupted without spending the retry (retry 0),
 * and the third fails the task for good (--max-interruptions 3).
 */
Test(reattach, three_interruptions_in_a_row_fail_the_task)
{
	int	 k;

	dt_wf("one.yaml",
	    "name: one\n"
	    "schedule: \"@start\"\n"
	    "config: {retry_default: 0}\n"
	    "tasks:\n"
	    "  - name: a\n"
	    "    type: shell\n"
	    "    config: {command: /bin/sh, args: [\"-c\", \"echo start >> "
	    "%1$s/m; exec sleep 60\"]}\n"
	    "  - {name: b, type: shell, depends_on: [a], "
	    "config: {command: /bin/true}}\n", dt_dir);
	dt_start(RA_OPTS);
	for (k = 1; k <= 3; k++) {
		wait_task_recorded(1);
		wait_lines("m", "start", k, 30);
		dt_kill9();
		cr_assert_geq(dt_kill_attempt_procs(), 2);
		dt_start(RA_OPTS);
	}
	wait_run_end(60);
	dt_stop(0);
	cr_assert_eq(count_lines("m", "start"), 3);
	dt_str_eq("SELECT status FROM executions", "failed");
	dt_str_eq("SELECT group_concat(attempt || ' ' || status, ', ') FROM "
	    "(SELECT * FROM task_executions WHERE task_name = 'a' ORDER BY "
	    "attempt)", "1 interrupted, 2 interrupted, 3 interrupted");
	cr_assert_eq(dt_int("SELECT count(*) FROM task_executions WHERE "
	    "task_name = 'a' AND attempt = 3 AND reason LIKE 'interrupted: "
	    "the supervisor restarted and the attempt''s worker could not be "
	    "re-attached%' AND reason LIKE '%interruptions in a row%'"), 1,
	    "%s", dt_str("SELECT reason FROM task_executions WHERE attempt = "
	    "3"));
	cr_assert_eq(dt_int("SELECT count(*) FROM task_executions WHERE "
	    "task_name = 'a' AND attempt < 3 AND reason LIKE "
	    "'%interruptions in a row%'"), 0);
	dt_str_eq("SELECT status FROM task_executions WHERE task_name = 'b'",
	    "skipped");
}

/*
 * Another pf-supervisor (another state directory) that starts a task
 * while ours is down must leave our surviving worker alone: it is no
 * leftover, it waits to be re-attached.  With cgroups (without, nothing
 * is swept).
 */
Test(reattach, another_supervisor_spares_surviving_workers)
{
	char	 odir[4400], owf[4500], ost[4500], olog[4500], *t;
	char	*argv[16];
	long	 tpid, wpid;
	pid_t	 other;
	double	 t0;
	int	 n = 0, ready = 0, st;

	dt_wf("one.yaml",
	    "name: one\n"
	    "schedule: \"@start\"\n"
	    "config: {retry_default: 0}\n"
	    "tasks:\n"
	    "  - name: a\n"
	    "    type: shell\n"
	    "    config: {command: /bin/sh, args: [\"-c\", \"" TEST_ECHO_PID
	    " > %1$s/a.pid; echo start >> %1$s/m; sleep 6\"]}\n", dt_dir);
	dt_start(NULL);
	if (!has_cgroups())
		cr_skip("SKIPPED: no writable cgroup here: %s",
		    "nothing is swept without cgroups");
	wait_task_recorded(1);
	snprintf(odir, sizeof(odir), "%s/a.pid", dt_dir);
	cr_assert_eq(test_wait_file(odir, 30), 0);
	tpid = dt_read_long(odir);
	wpid = dt_int("SELECT worker_pid FROM attempt_procs");
	dt_kill9();

	snprintf(odir, sizeof(odir), "%s/other", dt_dir);
	snprintf(owf, sizeof(owf), "%s/wf", odir);
	snprintf(ost, sizeof(ost), "%s/st", odir);
	snprintf(olog, sizeof(olog), "%s/log", odir);
	cr_assert_eq(mkdir(odir, 0755), 0);
	cr_assert_eq(mkdir(owf, 0755), 0);
	/* A task of its own: a supervisor sweeps before its first attempt. */
	t = test_write(owf, "x.yaml", "name: x\nschedule: \"@start\"\n"
	    "tasks:\n  - {name: x, type: shell, config: {command: /bin/true}}"
	    "\n");
	cr_assert_not_null(t);
	free(t);
	argv[n++] = (char *)(uintptr_t)test_bin("pf-supervisor");
	argv[n++] = (char *)"-c";
	argv[n++] = owf;
	argv[n++] = (char *)"--state-dir";
	argv[n++] = ost;
	argv[n] = NULL;
	cr_assert_gt(other = proc_spawn(argv, NULL, olog, olog), 0);
	for (t0 = dt_mono(); !ready && dt_mono() - t0 < 60;) {
		usleep(50000);
		if ((t = test_read(olog, NULL)) != NULL) {
			ready = strstr(t, "'x': run 1 ended") != NULL;
			free(t);
		}
	}
	kill(other, SIGTERM);
	waitpid(other, &st, 0);
	t = test_read(olog, NULL);
	cr_assert(ready, "the other supervisor did not run its task:\n%s", t);
	cr_assert_eq(dt_proc_gone(wpid, 0.5), 0, "starting another "
	    "supervisor (state %s) killed our surviving worker:\n%s", ost, t);
	cr_assert_eq(dt_proc_gone(tpid, 0.5), 0, "starting another "
	    "supervisor killed our surviving task:\n%s", t);
	free(t);
	dt_start(NULL);
	wait_run_end(60);
	dt_stop(0);
	cr_assert_eq(count_lines("m", "start"), 1);
	dt_str_eq("SELECT status || ' ' || attempt FROM task_executions",
	    "success 1");
}

/*
 * A re-attached worker that sends nothing (stopped) is killed after 10 s
 * and its attempt recorded interrupted; the task runs again as attempt 2
 * without spending its retry.  EXPECTS the silence rule being
 * implemented on c14-reattach: until it lands this test fails.
 */
Test(reattach, silent_reattached_worker_is_killed)
{
	long	 wpid;
	double	 t0;

	dt_wf("one.yaml",
	    "name: one\n"
	    "schedule: \"@start\"\n"
	    "config: {retry_default: 0}\n"
	    "tasks:\n"
	    "  - name: a\n"
	    "    type: shell\n"
	    "    config: {command: /bin/sh, args: [\"-c\", \"echo start >> "
	    "%1$s/m; [ $PICOFLOW_ATTEMPT -ge 2 ] || exec sleep 300\"]}\n",
	    dt_dir);
	dt_start(RA_OPTS);
	wait_task_recorded(1);
	wpid = dt_int("SELECT worker_pid FROM attempt_procs");
	cr_assert_eq(kill((pid_t)wpid, SIGSTOP), 0);
	dt_kill9();
	dt_start(RA_OPTS);
	t0 = dt_mono();
	cr_assert_eq(dt_proc_gone(wpid, 40), 1, "the silent worker still "
	    "lives %.0f s after the restart:\n%s", dt_mono() - t0, dt_logs());
	/* Not before the 10 s it is given (some slack for start-up). */
	cr_assert_geq(dt_mono() - t0, 8.0);
	wait_run_end(60);
	dt_stop(0);
	dt_str_eq("SELECT status FROM executions", "success");
	dt_str_eq("SELECT group_concat(attempt || ' ' || status, ', ') FROM "
	    "(SELECT * FROM task_executions ORDER BY attempt)",
	    "1 interrupted, 2 success");
	cr_assert_eq(count_lines("m", "start"), 2);
}
