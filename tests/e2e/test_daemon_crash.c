/*
 * End-to-end: pf-supervisor killed with SIGKILL and started again.  What
 * must hold (docs/operations.md, "Crash, restart and upgrade"): a task
 * whose success was recorded never runs again; a running attempt's
 * worker outlives the supervisor and the next start re-attaches to it
 * (same attempt, the task ran once); an attempt that cannot be
 * re-attached is recorded interrupted and runs again without spending
 * a retry; every run finishes; nothing outlives the attach window; the
 * database stays consistent.  Marker files written by the tasks count
 * how often each really ran.
 */
#include <criterion/criterion.h>

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "picoflow/store.h"
#include "../lib/daemon_harness.h"

TestSuite(crash, .init = dt_setup, .fini = dt_teardown, .timeout = 400);

/* Lines in a marker file that equal `word`. */
static int
count_lines(const char *path, const char *word)
{
	char	*t = test_read(path, NULL), *p, *save;
	int	 n = 0;

	if (t == NULL)
		return 0;
	for (p = strtok_r(t, "\n", &save); p; p = strtok_r(NULL, "\n", &save))
		if (strcmp(p, word) == 0)
			n++;
	free(t);
	return n;
}

static void
chain_wf(const char *schedule)
{
	dt_wf("chain.yaml",
	    "name: chain\n"
	    "schedule: \"%2$s\"\n"
	    "config: {retry_default: 1}\n"
	    "tasks:\n"
	    "  - name: a\n"
	    "    type: shell\n"
	    "    config: {command: /bin/sh, args: [\"-c\", \"echo start >> "
	    "%1$s/a; sleep 1; echo done >> %1$s/a\"]}\n"
	    "  - name: b\n"
	    "    type: shell\n"
	    "    depends_on: [a]\n"
	    "    config: {command: /bin/sh, args: [\"-c\", \"echo $$ $(readlink /proc/self/ns/pid) > "
	    "%1$s/b.pid; echo start >> %1$s/b; sleep 4; echo done >> "
	    "%1$s/b\"]}\n"
	    "  - name: c\n"
	    "    type: shell\n"
	    "    depends_on: [b]\n"
	    "    config: {command: /bin/sh, args: [\"-c\", \"echo start >> "
	    "%1$s/c; echo done >> %1$s/c\"]}\n", dt_dir, schedule);
}

/*
 * Tests whose workers must outlive a killed supervisor run without
 * cgroups: any pf-supervisor starting on the host meanwhile (another
 * test, another state directory) sweeps the dead supervisor's cgroup
 * instance and kills its workers (a product bug, shown by
 * reattach/another_supervisor_spares_surviving_workers).  Under
 * AddressSanitizer the worker cannot run without cgroups (its address
 * space rlimit is far below ASan's shadow).
 */
#ifdef __SANITIZE_ADDRESS__
#define NOCG_OPTS	""
#else
#define NOCG_OPTS	"--no-cgroups"
#endif

/*
 * kill -9 while the middle task of a chain runs: its worker keeps it
 * running, the restart re-attaches to it, and the run completes with
 * every task run once and b in its first attempt.
 */
Test(crash, kill9_during_a_chain_resumes_it)
{
	char	 p[4400];
	long	 tpid;

	chain_wf("@start");
	dt_start(NOCG_OPTS);
	snprintf(p, sizeof(p), "%s/b.pid", dt_dir);
	cr_assert_eq(test_wait_file(p, 60), 0);
	dt_wait_int("SELECT count(*) FROM attempt_procs p JOIN "
	    "task_executions t ON t.id = p.attempt_id WHERE t.task_name = 'b' "
	    "AND p.task_pid IS NOT NULL", 1, 30);
	tpid = dt_read_long(p);
	dt_kill9();
	/* The worker keeps its task: it is not killed with the supervisor. */
	cr_assert_eq(dt_proc_gone(tpid, 1.0), 0, "task %ld died with the "
	    "supervisor", tpid);
	cr_assert_eq(dt_int("SELECT count(*) FROM executions WHERE status = "
	    "'running'"), 1);

	dt_start(NOCG_OPTS);
	dt_wait_int("SELECT count(*) FROM executions WHERE status = 'success'",
	    1, 60);
	dt_stop(0);

	snprintf(p, sizeof(p), "%s/a", dt_dir);
	cr_assert_eq(count_lines(p, "start"), 1, "a ran again");
	cr_assert_eq(count_lines(p, "done"), 1);
	snprintf(p, sizeof(p), "%s/b", dt_dir);
	cr_assert_eq(count_lines(p, "start"), 1, "b ran again:\n%s",
	    dt_logs());
	cr_assert_eq(count_lines(p, "done"), 1);
	snprintf(p, sizeof(p), "%s/c", dt_dir);
	cr_assert_eq(count_lines(p, "start"), 1);
	cr_assert_eq(count_lines(p, "done"), 1);

	cr_assert_eq(dt_int("SELECT count(*) FROM executions"), 1,
	    "the @start fire of the restart must not run: the resumed run "
	    "is in progress (overlap: skip)");
	cr_assert_eq(dt_int("SELECT count(*) FROM task_executions WHERE "
	    "task_name = 'b'"), 1);
	cr_assert_eq(dt_int("SELECT count(*) FROM task_executions WHERE "
	    "task_name = 'b' AND attempt = 1 AND status = 'success'"), 1);
	cr_assert_eq(dt_int("SELECT count(*) FROM task_executions WHERE "
	    "status = 'interrupted'"), 0);
	cr_assert_eq(dt_int("SELECT count(*) FROM task_executions WHERE "
	    "task_name = 'a'"), 1);
	cr_assert_eq(dt_int("SELECT count(*) FROM task_executions WHERE "
	    "status = 'running'"), 0);
	cr_assert(dt_log_has("resuming run 1"));
	cr_assert(dt_log_has("run 1 task 'b' attempt 1: its worker still "
	    "runs: re-attaching") || dt_log_has("run 1 task 'b' attempt 1: "
	    "its worker ended: its result is in the spool"));
}

/*
 * Supervisor, worker and task all killed: nothing can be re-attached, the
 * attempt is recorded interrupted, and with retry 0 the task still runs
 * again (attempt 2) and the run succeeds.
 */
Test(crash, interrupted_attempt_does_not_spend_a_retry)
{
	char	 p[4400], *ok;

	struct ctl_reply rep;

	dt_wf("one.yaml",
	    "name: one\n"
	    "config: {retry_default: 0}\n"
	    "tasks:\n"
	    "  - name: a\n"
	    "    type: shell\n"
	    "    config: {command: /bin/sh, args: [\"-c\", \"[ -e %1$s/ok ] "
	    "&& exit 0; echo $$ $(readlink /proc/self/ns/pid) > "
	    "%1$s/a.pid; sleep 30\"]}\n"
	    "  - {name: b, type: shell, depends_on: [a], "
	    "config: {command: /bin/true}}\n", dt_dir);
	dt_start(NULL);
	dt_ctl(CTL_CMD_TRIGGER, "one", -1, &rep);
	cr_assert_eq(rep.ok, 1, "%s", rep.message);
	cr_assert_eq(rep.run_id, 1);
	ctl_reply_free(&rep);
	snprintf(p, sizeof(p), "%s/a.pid", dt_dir);
	cr_assert_eq(test_wait_file(p, 60), 0);
	dt_wait_int("SELECT count(*) FROM attempt_procs WHERE task_pid IS NOT "
	    "NULL", 1, 30);
	dt_kill9();
	cr_assert_geq(dt_kill_attempt_procs(), 2, "worker and task groups");
	ok = test_write(dt_dir, "ok", "");
	cr_assert_not_null(ok);
	free(ok);
	dt_start(NULL);
	dt_wait_int("SELECT count(*) FROM executions WHERE status <> "
	    "'running'", 1, 60);
	dt_stop(0);
	dt_str_eq("SELECT status FROM executions", "success");
	cr_assert_eq(dt_int("SELECT count(*) FROM task_executions WHERE "
	    "task_name = 'a'"), 2);
	cr_assert_eq(dt_int("SELECT count(*) FROM task_executions WHERE "
	    "task_name = 'a' AND attempt = 1 AND status = 'interrupted' AND "
	    "reason LIKE 'interrupted: the supervisor restarted and the "
	    "attempt''s worker could not be re-attached%'"), 1, "%s",
	    dt_logs());
	cr_assert_eq(dt_int("SELECT count(*) FROM task_executions WHERE "
	    "task_name = 'a' AND attempt = 2 AND status = 'success'"), 1);
	cr_assert_eq(dt_int("SELECT count(*) FROM task_executions WHERE "
	    "task_name = 'b' AND status = 'success'"), 1);
}

static void
long_wf(void)
{
	dt_wf("long.yaml",
	    "name: long\n"
	    "schedule: \"@start\"\n"
	    "tasks:\n"
	    "  - name: a\n"
	    "    type: shell\n"
	    "    config: {command: /bin/sh, args: [\"-c\", \"echo $$ $(readlink /proc/self/ns/pid) > "
	    "%1$s/a.pid; (trap '' TERM; exec sleep 300) & echo $! $(readlink /proc/self/ns/pid) "
	    "> %1$s/bg.pid; exec sleep 300\"]}\n", dt_dir);
}

/* With --attach-window 0, the task of a killed supervisor dies with it. */
Test(crash, kill9_without_attach_leaves_no_task_behind)
{
	char	 p[4400];
	long	 tpid, wpid, bgpid;

	long_wf();
	dt_start("--attach-window 0");
	snprintf(p, sizeof(p), "%s/a.pid", dt_dir);
	cr_assert_eq(test_wait_file(p, 60), 0);
	/* The worker is out of the task's sight: its pid is recorded. */
	dt_wait_int("SELECT count(*) FROM attempt_procs WHERE task_pid IS NOT "
	    "NULL", 1, 30);
	usleep(300000);
	wpid = dt_int("SELECT worker_pid FROM attempt_procs");
	tpid = dt_read_long(p);
	snprintf(p, sizeof(p), "%s/bg.pid", dt_dir);
	cr_assert_eq(test_wait_file(p, 10), 0);
	bgpid = dt_read_long(p);
	dt_kill9();
	cr_assert_eq(dt_proc_gone(tpid, 20.0), 1, "task %ld survived", tpid);
	cr_assert_eq(dt_proc_gone(bgpid, 20.0), 1, "the task's background "
	    "process %ld survived", bgpid);
	cr_assert_eq(dt_proc_gone(wpid, 20.0), 1, "pf-worker %ld survived",
	    wpid);
	/* The restart records the attempt and settles the run. */
	dt_start("--attach-window 0");
	dt_wait_int("SELECT count(*) FROM task_executions WHERE status = "
	    "'interrupted' AND attempt = 1 AND reason LIKE 'interrupted:%'", 1,
	    30);
	dt_stop(0);
	cr_assert_eq(dt_int("SELECT count(*) FROM executions WHERE status = "
	    "'running'"), 0);
}

/*
 * A supervisor that never comes back: the task ends, its worker waits the
 * window (1 s) and exits; no process and no cgroup of the attempt is
 * left.  A later start takes the result from the spool.  Without
 * cgroups (see NOCG_OPTS; reattach/worker_without_supervisor_leaves_
 * after_the_window checks the cgroups).
 */
Test(crash, kill9_never_returning_leaves_nothing_behind)
{
	char	 p[4400], which[2048], *cgs;
	long	 tpid, wpid;
	double	 t0;

	dt_wf("short.yaml",
	    "name: short\n"
	    "schedule: \"@start\"\n"
	    "config: {retry_default: 0}\n"
	    "tasks:\n"
	    "  - name: a\n"
	    "    type: shell\n"
	    "    config: {command: /bin/sh, args: [\"-c\", \"echo $$ $(readlink /proc/self/ns/pid) > "
	    "%1$s/a.pid; echo before; sleep 2; echo after; echo ran >> "
	    "%1$s/ran\"]}\n", dt_dir);
	dt_start(NOCG_OPTS " --attach-window 1");
	snprintf(p, sizeof(p), "%s/a.pid", dt_dir);
	cr_assert_eq(test_wait_file(p, 60), 0);
	dt_wait_int("SELECT count(*) FROM attempt_procs WHERE task_pid IS NOT "
	    "NULL", 1, 30);
	wpid = dt_int("SELECT worker_pid FROM attempt_procs");
	tpid = dt_read_long(p);
	cgs = dt_cgroups(wpid);
	dt_kill9();
	t0 = dt_mono();
	cr_assert_eq(dt_proc_gone(tpid, 30.0), 1, "task %ld still runs",
	    tpid);
	cr_assert_eq(dt_proc_gone(wpid, 30.0), 1, "pf-worker %ld outlived "
	    "its window", wpid);
	/* It waited for a supervisor after its task (lower bound: 1 s). */
	cr_assert_geq(dt_mono() - t0, 1.0);
	while (dt_cgroups_left(cgs, which, sizeof(which)) > 0 &&
	    dt_mono() - t0 < 40)
		usleep(100000);
	cr_assert_eq(dt_cgroups_left(cgs, which, sizeof(which)), 0, "cgroups "
	    "of the attempt left behind:%s", which);
	free(cgs);
	snprintf(p, sizeof(p), "%s/ran", dt_dir);
	cr_assert_eq(count_lines(p, "ran"), 1);

	dt_start(NOCG_OPTS " --attach-window 1");
	dt_wait_int("SELECT count(*) FROM executions WHERE status <> "
	    "'running'", 1, 60);
	dt_stop(0);
	dt_str_eq("SELECT status FROM executions", "success");
	cr_assert_eq(dt_int("SELECT count(*) FROM task_executions"), 1);
	dt_str_eq("SELECT status || ' ' || attempt FROM task_executions",
	    "success 1");
	cr_assert(dt_log_has("its worker ended: its result is in the spool"));
	cr_assert_eq(count_lines(p, "ran"), 1, "a ran again");
	{
		char	*out = dt_output(dt_int("SELECT id FROM "
		    "task_executions"), 1);

		cr_assert_str_eq(out, "before\nafter\n");
		free(out);
	}
}

/*
 * A worker that outlived its supervisor but is stuck (here: stopped) is
 * re-attached, sends nothing, and is killed; the attempt is recorded
 * interrupted and the task runs again as attempt 2 without spending a
 * retry.  EXPECTS the 10 s silence rule for re-attached workers (being
 * implemented on c14-reattach): until it lands this test fails.
 */
Test(crash, restart_kills_a_stuck_leftover_worker)
{
	char	 p[4400];
	long	 tpid, wpid;

	dt_wf("long.yaml",
	    "name: long\n"
	    "schedule: \"@start\"\n"
	    "config: {retry_default: 0}\n"
	    "tasks:\n"
	    "  - name: a\n"
	    "    type: shell\n"
	    "    config: {command: /bin/sh, args: [\"-c\", \"[ -e %1$s/a.pid ] "
	    "&& exit 0; echo $$ $(readlink /proc/self/ns/pid) > "
	    "%1$s/a.pid; exec sleep 300\"]}\n", dt_dir);
	dt_start(NOCG_OPTS);
	snprintf(p, sizeof(p), "%s/a.pid", dt_dir);
	cr_assert_eq(test_wait_file(p, 60), 0, "the task never started:\n%s",
	    dt_logs());
	dt_wait_int("SELECT count(*) FROM attempt_procs WHERE task_pid IS NOT "
	    "NULL", 1, 30);
	/* The worker is out of the task's sight: its pid is recorded. */
	wpid = dt_int("SELECT worker_pid FROM attempt_procs");
	tpid = dt_read_long(p);
	/* Freeze worker and task: the worker can neither notice nor talk. */
	cr_assert_eq(kill((pid_t)wpid, SIGSTOP), 0);
	cr_assert_eq(kill((pid_t)tpid, SIGSTOP), 0);
	dt_kill9();
	dt_start(NOCG_OPTS);
	cr_assert_eq(dt_proc_gone(wpid, 30.0), 1, "stopped worker %ld "
	    "survived the restart:\n%s", wpid, dt_logs());
	cr_assert_eq(dt_proc_gone(tpid, 20.0), 1, "task %ld survived", tpid);
	dt_wait_int("SELECT count(*) FROM executions WHERE status <> "
	    "'running'", 1, 60);
	dt_stop(0);
	dt_str_eq("SELECT status FROM executions", "success");
	dt_str_eq("SELECT group_concat(attempt || ' ' || status, ', ') FROM "
	    "(SELECT * FROM task_executions ORDER BY attempt)",
	    "1 interrupted, 2 success");
}

/* A `picoflow run` that died is settled; a live one is left alone. */
Test(crash, dead_one_shot_runs_are_settled)
{
	struct pf_store		*st;
	struct store_run_start	 rs;
	struct pf_err		 err;
	int64_t			 wf, dead, live, att;

	cr_assert_eq(store_open(dt_db, STORE_RW, &st, &err), 0, "%s",
	    err.msg);
	cr_assert_eq(store_workflow_upsert(st, "x", NULL, NULL, NULL, &wf,
	    &err), 0);
	memset(&rs, 0, sizeof(rs));
	rs.workflow_id = wf;
	rs.trigger = "manual";
	rs.started_ms = dt_now_ms();
	rs.scheduled_ms = -1;
	rs.owner = STORE_OWNER_RUN;
	cr_assert_eq(store_run_start(st, &rs, &live, NULL, &err), 0);
	cr_assert_eq(store_run_start(st, &rs, &dead, NULL, &err), 0);
	cr_assert_eq(store_attempt_begin(st, dead, "t", 1, rs.started_ms,
	    &att, &err), 0);
	store_close(st);
	/* This process is alive; make "dead" belong to a pid that is not. */
	{
		sqlite3	*db;

		cr_assert_eq(sqlite3_open(dt_db, &db), SQLITE_OK);
		cr_assert_eq(sqlite3_exec(db, "UPDATE executions SET pid = "
		    "2147483000 WHERE id = 2", NULL, NULL, NULL), SQLITE_OK);
		sqlite3_close(db);
	}
	dt_wf("e.yaml", "name: e\ntasks: []\n");
	dt_start(NULL);
	dt_stop(0);
	dt_str_eq("SELECT status FROM executions WHERE id = 1", "running");
	dt_str_eq("SELECT status FROM executions WHERE id = 2", "failed");
	dt_str_eq("SELECT status FROM task_executions WHERE "
	    "execution_id = 2", "failed");
	cr_assert(dt_log_has("is gone"));
}


/* ---- chaos: many kills at random moments --------------------------------- */

/*
 * A mix of workflows fires every second or two while pf-supervisor is
 * killed (SIGKILL) at random moments, PF_CHAOS_KILLS times (default 20;
 * bench/chaos runs 150), and restarted each time; one kill in five comes
 * before the start-up is over (during recovery).  Afterwards:
 *
 *  - the database passes integrity and foreign-key checks;
 *  - every run and every attempt reached a final state;
 *  - every task success the database records happened exactly once: each
 *    succeeding task appends its attempt number to a marker file of its
 *    (run, task) as its last act; the attempt recorded `success` has
 *    exactly one line, and any other line belongs to an attempt recorded
 *    with status `interrupted` (one whose worker could not be re-attached);
 *  - workers outlive the kills (they are re-attached), so they are only
 *    counted at the very end: after the last graceful stop and the attach
 *    window, no worker, task or task descendant is left (workers: the
 *    children of each supervisor, listed while it is stopped just before
 *    the kill; tasks: any process whose command line or environment
 *    carries this test's directory), and no cgroup instance of a dead
 *    supervisor is left under any picoflow/ directory.
 *
 * PF_CHAOS_SEED makes a run repeatable in its choices (not its timing).
 */
TestSuite(chaos, .init = dt_setup, .fini = dt_teardown, .timeout = 3600);

/*
 * A short attach window, so that a worker no supervisor comes back for
 * (the last stop) is gone soon after the end.
 */
#define CHAOS_WINDOW	5
#define CHAOS_OPTS	"--attach-window 5"

#define CHAOS_MAXW	4096
#define CHAOS_MAXSUP	100001

struct chaos_proc {
	long			 pid;
	unsigned long long	 start;
};

struct chaos {
	struct chaos_proc	*workers;	/* children seen before kills */
	size_t			 nworkers;
	struct chaos_proc	*sups;		/* every supervisor started */
	size_t			 nsups;
	int			 kills, early_kills, triggers, reloads;
	double			 max_stop;	/* longest stop before a kill */
};

/* Field 22 (start time) and field 4 (ppid) of /proc/PID/stat; 0 if read. */
static int
chaos_stat(long pid, long *ppid, unsigned long long *start, char *state)
{
	char	 p[64], buf[1024], *q, *save, *tok;
	int	 fd, field;
	ssize_t	 n;

	snprintf(p, sizeof(p), "/proc/%ld/stat", pid);
	if ((fd = open(p, O_RDONLY)) == -1)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	/* The command name may hold spaces and parentheses: skip to the last ')'. */
	if ((q = strrchr(buf, ')')) == NULL || q[1] != ' ')
		return -1;
	field = 3;
	for (tok = strtok_r(q + 2, " ", &save); tok != NULL;
	    tok = strtok_r(NULL, " ", &save), field++) {
		if (field == 3 && state != NULL)
			*state = tok[0];
		if (field == 4 && ppid != NULL)
			*ppid = strtol(tok, NULL, 10);
		if (field == 22) {
			if (start != NULL)
				*start = strtoull(tok, NULL, 10);
			return 0;
		}
	}
	return -1;
}

/* The process pid with that start time still exists (and is no zombie). */
static int
chaos_alive(const struct chaos_proc *pr)
{
	unsigned long long	 st;
	char			 state = '?';

	if (chaos_stat(pr->pid, NULL, &st, &state) == -1)
		return 0;
	return st == pr->start && state != 'Z' && state != 'X';
}

static void
chaos_add_worker(struct chaos *c, long pid)
{
	unsigned long long	 st;

	if (chaos_stat(pid, NULL, &st, NULL) == -1)
		return;
	cr_assert_lt(c->nworkers, CHAOS_MAXW, "too many workers");
	c->workers[c->nworkers].pid = pid;
	c->workers[c->nworkers].start = st;
	c->nworkers++;
}

/*
 * Stops the supervisor, notes its children (the workers), kills it.  The
 * children come from /proc/PID/task/TID/children (one read per thread,
 * so the stop lasts well under a millisecond), or from a scan of /proc.
 */
static void
chaos_kill(struct chaos *c)
{
	DIR		*d;
	struct dirent	*de;
	double		 t0 = dt_mono(), t1;
	char		 state = '?', *logs, p[128], *q, *end;
	char		 buf[65536];
	long		 ppid, pid;
	ssize_t		 n;
	int		 status, fd, have = 0;

	if (waitpid(dt_pid, &status, WNOHANG) == dt_pid) {
		dt_pid = -1;
		logs = dt_logs();
		cr_assert_fail("pf-supervisor died by itself (status %d):\n%s",
		    status, logs);
	}
	cr_assert_eq(kill(dt_pid, SIGSTOP), 0);
	while (chaos_stat(dt_pid, NULL, NULL, &state) == 0 && state != 'T' &&
	    dt_mono() - t0 < 10)
		usleep(100);
	t1 = dt_mono();
	snprintf(p, sizeof(p), "/proc/%ld/task", (long)dt_pid);
	if ((d = opendir(p)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			snprintf(p, sizeof(p), "/proc/%ld/task/%.20s/children",
			    (long)dt_pid, de->d_name);
			if ((fd = open(p, O_RDONLY)) == -1)
				continue;
			n = read(fd, buf, sizeof(buf) - 1);
			close(fd);
			if (n < 0)
				continue;
			have = 1;
			buf[n] = '\0';
			for (q = buf; (pid = strtol(q, &end, 10)) > 0; q = end)
				chaos_add_worker(c, pid);
		}
		closedir(d);
	}
	if (!have) {
		cr_assert_not_null(d = opendir("/proc"));
		while ((de = readdir(d)) != NULL) {
			if ((pid = strtol(de->d_name, NULL, 10)) <= 0)
				continue;
			if (chaos_stat(pid, &ppid, NULL, NULL) == 0 &&
			    ppid == dt_pid)
				chaos_add_worker(c, pid);
		}
		closedir(d);
	}
	if (dt_mono() - t1 > c->max_stop)
		c->max_stop = dt_mono() - t1;
	dt_kill9();
	c->kills++;
}

/* Notes the supervisor just spawned (for its cgroup instance name). */
static void
chaos_note_sup(struct chaos *c)
{
	unsigned long long	 st;

	cr_assert_lt(c->nsups, CHAOS_MAXSUP);
	cr_assert_eq(chaos_stat(dt_pid, NULL, &st, NULL), 0);
	c->sups[c->nsups].pid = dt_pid;
	c->sups[c->nsups].start = st;
	c->nsups++;
}

/* Reads a whole small /proc file (NULs kept); returns its length or -1. */
static ssize_t
chaos_read_proc(long pid, const char *what, char *buf, size_t len)
{
	char	 p[64];
	int	 fd;
	ssize_t	 n, off = 0;

	snprintf(p, sizeof(p), "/proc/%ld/%s", pid, what);
	if ((fd = open(p, O_RDONLY)) == -1)
		return -1;
	while ((size_t)off < len &&
	    (n = read(fd, buf + off, len - (size_t)off)) > 0)
		off += n;
	close(fd);
	return off;
}

/*
 * Processes that carry this test's directory in their command line or
 * environment (tasks and what they started, a leftover supervisor).
 * Returns how many; their descriptions go into out.
 */
static int
chaos_leftovers(char *out, size_t outlen)
{
	static char	 buf[256 * 1024];
	DIR		*d;
	struct dirent	*de;
	long		 pid;
	ssize_t		 n;
	size_t		 dl = strlen(dt_dir), ol = 0;
	int		 found = 0, i;
	char		 state;

	out[0] = '\0';
	cr_assert_not_null(d = opendir("/proc"));
	while ((de = readdir(d)) != NULL) {
		if ((pid = strtol(de->d_name, NULL, 10)) <= 0 ||
		    pid == (long)getpid())
			continue;
		if (chaos_stat(pid, NULL, NULL, &state) == -1 ||
		    state == 'Z' || state == 'X')
			continue;
		for (i = 0; i < 2; i++) {
			n = chaos_read_proc(pid, i ? "environ" : "cmdline",
			    buf, sizeof(buf));
			if (n <= 0 || memmem(buf, (size_t)n, dt_dir, dl) ==
			    NULL)
				continue;
			found++;
			n = chaos_read_proc(pid, "cmdline", buf,
			    sizeof(buf) - 1);
			if (n < 0)
				n = 0;
			buf[n] = '\0';
			for (ssize_t k = 0; k + 1 < n; k++)
				if (buf[k] == '\0')
					buf[k] = ' ';
			if (ol < outlen)
				ol += (size_t)snprintf(out + ol, outlen - ol,
				    "  pid %ld (%c): %.200s\n", pid, state,
				    buf);
			break;
		}
	}
	closedir(d);
	return found;
}

/*
 * Cgroup instance directories "<pid>.<start>.<n>" of our supervisors under
 * every picoflow/ directory this process's cgroups could hold: for each
 * hierarchy under /sys/fs/cgroup and each of our cgroup paths.
 */
static int
chaos_cgroup_leftovers(const struct chaos *c, char *out, size_t outlen)
{
	char		 line[4096], cgpaths[16][1024], dir[4096], pre[64];
	FILE		*f;
	DIR		*d, *pd;
	struct dirent	*de, *ie;
	size_t		 ncg = 0, ol = 0, k;
	int		 found = 0, i;
	char		*p;

	out[0] = '\0';
	cr_assert_not_null(f = fopen("/proc/self/cgroup", "r"));
	while (ncg < 16 && fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		/* "N:controllers:/path" */
		if ((p = strchr(line, ':')) == NULL ||
		    (p = strchr(p + 1, ':')) == NULL)
			continue;
		snprintf(cgpaths[ncg++], sizeof(cgpaths[0]), "%s",
		    strcmp(p + 1, "/") == 0 ? "" : p + 1);
	}
	fclose(f);
	if ((d = opendir("/sys/fs/cgroup")) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		for (k = 0; k < ncg; k++) {
			if ((size_t)snprintf(dir, sizeof(dir),
			    "/sys/fs/cgroup/%.255s%s/picoflow", de->d_name,
			    cgpaths[k]) >= sizeof(dir) ||
			    (pd = opendir(dir)) == NULL)
				continue;
			while ((ie = readdir(pd)) != NULL) {
				for (i = 0; i < (int)c->nsups; i++) {
					snprintf(pre, sizeof(pre), "%ld.%llu.",
					    c->sups[i].pid, c->sups[i].start);
					if (strncmp(ie->d_name, pre,
					    strlen(pre)) != 0)
						continue;
					found++;
					if (ol < outlen)
						ol += (size_t)snprintf(out + ol,
						    outlen - ol, "  %s/%s\n",
						    dir, ie->d_name);
				}
			}
			closedir(pd);
		}
	}
	closedir(d);
	return found;
}

/* Attempt numbers a task wrote to its marker file (count per attempt). */
static int
chaos_marker_lines(int64_t run, const char *task, int attempt)
{
	char	 p[4400], *t, *q, *save;
	int	 n = 0;

	snprintf(p, sizeof(p), "%s/m/%lld.%s", dt_dir, (long long)run, task);
	if ((t = test_read(p, NULL)) == NULL)
		return 0;
	for (q = strtok_r(t, "\n", &save); q; q = strtok_r(NULL, "\n", &save))
		if (attempt < 0 || atoi(q) == attempt)
			n++;
	free(t);
	return n;
}

/* variant changes chain.yaml's text (for reloads), not its tasks. */
static void
chaos_workflows(int variant)
{
	char	 m[4300];

	snprintf(m, sizeof(m), "echo $PICOFLOW_ATTEMPT >> %s/m/"
	    "$PICOFLOW_RUN_ID.$PICOFLOW_TASK", dt_dir);
	/* A chain with a fan-in and an output task; runs overlap. */
	dt_wf("chain.yaml",
	    "name: chain\n"
	    "schedule: \"* * * * * *\"\n"
	    "overlap: allow\n"
	    "env: {CHAOS_MARK: \"%1$s\"}\n"
	    "config: {retry_default: 2, max_parallel: 2}\n"
	    "tasks:\n"
	    "  - {name: a, type: shell, config: {command: /bin/sh, args: "
	    "[\"-c\", \"sleep 0.$(($$ %% 7)); %2$s\"]}}\n"
	    "  - {name: b, type: shell, config: {command: /bin/sh, args: "
	    "[\"-c\", \"sleep 0.3; %2$s\"]}}\n"
	    "  - {name: c, type: shell, depends_on: [a, b], config: "
	    "{command: /bin/sh, args: [\"-c\", \"%2$s\"]}}\n"
	    "  - {name: out, type: shell, depends_on: [c], config: "
	    "{command: /bin/sh, args: [\"-c\", \"seq 1 %3$d; echo oops >&2; "
	    "%2$s\"]}}\n", dt_dir, m, 2000 + variant);
	if (variant > 0)
		return;
	/*
	 * A task that fails its first attempt, one that always times out
	 * (its dependent runs anyway), and one that always fails; fires
	 * queue behind a run in progress.
	 */
	dt_wf("flaky.yaml",
	    "name: flaky\n"
	    "schedule: \"* * * * * *\"\n"
	    "overlap: queue\n"
	    "env: {CHAOS_MARK: \"%1$s\"}\n"
	    "config: {retry_default: 2}\n"
	    "tasks:\n"
	    "  - {name: f, type: shell, config: {command: /bin/sh, args: "
	    "[\"-c\", \"[ $PICOFLOW_ATTEMPT -ge 2 ] || exit 3; %2$s\"]}}\n"
	    "  - {name: slow, type: shell, timeout: 1, retry: 0, "
	    "continue_on_failure: true, config: {command: /bin/sh, args: "
	    "[\"-c\", \"sleep 5; %2$s\"]}}\n"
	    "  - {name: g, type: shell, depends_on: [f, slow], config: "
	    "{command: /bin/sh, args: [\"-c\", \"%2$s\"]}}\n"
	    "  - {name: bad, type: shell, retry: 1, continue_on_failure: true, "
	    "config: {command: /bin/sh, args: [\"-c\", \"exit 1\"]}}\n",
	    dt_dir, m);
	/* A fan-out of four and a join, every other second; skips overlap. */
	dt_wf("fan.yaml",
	    "name: fan\n"
	    "schedule: \"*/2 * * * * *\"\n"
	    "env: {CHAOS_MARK: \"%1$s\"}\n"
	    "config: {retry_default: 3, max_parallel: 4}\n"
	    "tasks:\n"
	    "  - {name: p1, type: shell, config: {command: /bin/sh, args: "
	    "[\"-c\", \"sleep 0.2; %2$s\"]}}\n"
	    "  - {name: p2, type: shell, config: {command: /bin/sh, args: "
	    "[\"-c\", \"sleep 0.1; %2$s\"]}}\n"
	    "  - {name: p3, type: shell, config: {command: /bin/sh, args: "
	    "[\"-c\", \"%2$s\"]}}\n"
	    "  - {name: p4, type: shell, config: {command: /bin/sh, args: "
	    "[\"-c\", \"(sleep 0.4; true) & wait; %2$s\"]}}\n"
	    "  - {name: j, type: shell, depends_on: [p1, p2, p3, p4], config: "
	    "{command: /bin/sh, args: [\"-c\", \"%2$s\"]}}\n", dt_dir, m);
	/* Run on demand, over the control socket. */
	dt_wf("manual.yaml",
	    "name: manual\n"
	    "overlap: allow\n"
	    "env: {CHAOS_MARK: \"%1$s\"}\n"
	    "config: {retry_default: 2}\n"
	    "tasks:\n"
	    "  - {name: m1, type: shell, config: {command: /bin/sh, args: "
	    "[\"-c\", \"sleep 0.2; %2$s\"]}}\n"
	    "  - {name: m2, type: shell, depends_on: [m1], config: "
	    "{command: /bin/sh, args: [\"-c\", \"%2$s\"]}}\n", dt_dir, m);
}

/* Checks every (run, task) success against its marker file. */
static void
chaos_check_markers(int64_t *successes, int64_t *reruns)
{
	sqlite3		*db;
	sqlite3_stmt	*s;
	int		 rc;

	*successes = *reruns = 0;
	cr_assert_eq(sqlite3_open_v2(dt_db, &db, SQLITE_OPEN_READONLY, NULL),
	    SQLITE_OK);
	/*
	 * Every (run, task) that has an attempt, with its recorded success
	 * (0 if none), how many successes, and its interrupted attempts.
	 */
	cr_assert_eq(sqlite3_prepare_v2(db,
	    "SELECT execution_id, task_name, "
	    " max(CASE WHEN status = 'success' THEN attempt ELSE 0 END), "
	    " total(status = 'success') "
	    "FROM task_executions WHERE attempt > 0 "
	    "GROUP BY 1, 2 ORDER BY 1, 2", -1, &s, NULL), SQLITE_OK, "%s",
	    sqlite3_errmsg(db));
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int64_t		 run = sqlite3_column_int64(s, 0);
		const char	*task = (const char *)sqlite3_column_text(s, 1);
		int		 ok = sqlite3_column_int(s, 2);
		int		 nok = sqlite3_column_int(s, 3);
		int		 lines = chaos_marker_lines(run, task, -1);
		int		 att, extra = 0;
		sqlite3_stmt	*a;

		cr_assert_leq(nok, 1, "run %lld task %s: %d successes "
		    "recorded", (long long)run, task, nok);
		if (ok > 0) {
			(*successes)++;
			cr_assert_eq(chaos_marker_lines(run, task, ok), 1,
			    "run %lld task %s: recorded success of attempt "
			    "%d, but the task wrote %d markers for it",
			    (long long)run, task, ok,
			    chaos_marker_lines(run, task, ok));
		}
		/* Every other marker line: an attempt recorded interrupted. */
		cr_assert_eq(sqlite3_prepare_v2(db, "SELECT attempt FROM "
		    "task_executions WHERE execution_id = ?1 AND task_name = ?2 "
		    "AND status = 'interrupted'",
		    -1, &a, NULL), SQLITE_OK);
		sqlite3_bind_int64(a, 1, run);
		sqlite3_bind_text(a, 2, task, -1, SQLITE_STATIC);
		while (sqlite3_step(a) == SQLITE_ROW) {
			att = sqlite3_column_int(a, 0);
			extra += chaos_marker_lines(run, task, att);
		}
		sqlite3_finalize(a);
		cr_assert_eq(lines, (ok > 0) + extra, "run %lld task %s: %d "
		    "marker lines, but the database has %d success(es) and "
		    "%d interrupted attempt(s) that finished", (long long)run,
		    task, lines, ok > 0, extra);
		*reruns += extra;
	}
	cr_assert_eq(rc, SQLITE_DONE, "%s", sqlite3_errmsg(db));
	sqlite3_finalize(s);
	sqlite3_close(db);
}

Test(chaos, random_kills)
{
	struct chaos	 c;
	const char	*e;
	char		 m[4400], *report;
	unsigned	 seed;
	int		 nkills = 20, i, scans_checked = 0;
	int64_t		 n, succ, reruns;
	size_t		 k;
	double		 t0 = dt_mono();

	if ((e = getenv("PF_CHAOS_KILLS")) != NULL) {
		nkills = atoi(e);
		cr_assert(nkills >= 1 && nkills <= 100000, "PF_CHAOS_KILLS=%s "
		    "is not 1..100000", e);
	}
	seed = (e = getenv("PF_CHAOS_SEED")) != NULL ? (unsigned)atol(e) :
	    (unsigned)getpid() ^ (unsigned)time(NULL);
	srand(seed);
	memset(&c, 0, sizeof(c));
	cr_assert_not_null(c.workers = calloc(CHAOS_MAXW, sizeof(*c.workers)));
	cr_assert_not_null(c.sups = calloc((size_t)nkills + 1,
	    sizeof(*c.sups)));
	report = calloc(1, 65536);
	cr_assert_not_null(report);
	/* Tasks may run as another user (nobody, when we are root). */
	snprintf(m, sizeof(m), "%s/m", dt_dir);
	cr_assert_eq(mkdir(m, 0777), 0);
	cr_assert_eq(chmod(m, 0777), 0);
	cr_assert_eq(chmod(dt_dir, 0711), 0);
	chaos_workflows(0);

	for (i = 0; i < nkills; i++) {
		if (rand() % 5 == 0) {
			/* Now and then during start-up and recovery. */
			(void)dt_spawn(CHAOS_OPTS);
			chaos_note_sup(&c);
			usleep((useconds_t)(rand() % 300000));
			c.early_kills++;
		} else {
			dt_start(CHAOS_OPTS);
			chaos_note_sup(&c);
			if (!scans_checked) {
				/* The scans see what they look for. */
				cr_assert_geq(chaos_leftovers(report, 65536), 1,
				    "the /proc scan misses the supervisor");
				if (!dt_log_has("isolation: NONE"))
					cr_assert_geq(chaos_cgroup_leftovers(&c,
					    report, 65536), 1, "the cgroup scan "
					    "misses the live instance");
				scans_checked = 1;
			}
			usleep((useconds_t)(rand() % 1200000));
			if (rand() % 2 == 0) {
				struct ctl_reply rep;

				dt_ctl(CTL_CMD_TRIGGER, "manual", -1, &rep);
				cr_assert_eq(rep.ok, 1, "%s", rep.message);
				cr_assert_gt(rep.run_id, 0);
				ctl_reply_free(&rep);
				c.triggers++;
			}
			if (rand() % 4 == 0) {
				/* A changed file and a reload. */
				chaos_workflows(++c.reloads);
				kill(dt_pid, SIGHUP);
			}
			usleep((useconds_t)(rand() % 1300000));
		}
		chaos_kill(&c);
	}
	/* The last start resumes what is left; then no new fires. */
	dt_start(CHAOS_OPTS);
	chaos_note_sup(&c);
	sleep(2);
	dt_rm_wf("chain.yaml");
	dt_rm_wf("flaky.yaml");
	dt_rm_wf("fan.yaml");
	dt_rm_wf("manual.yaml");
	kill(dt_pid, SIGHUP);
	dt_wait_int("SELECT count(*) = 0 FROM executions WHERE status = "
	    "'running'", 1, 120);
	dt_stop(0);

	/* The database. */
	dt_str_eq("PRAGMA integrity_check", "ok");
	dt_str_eq("PRAGMA foreign_key_check", "");
	cr_assert_eq(dt_int("SELECT count(*) FROM executions WHERE status "
	    "NOT IN ('success', 'failed', 'timeout', 'cancelled')"), 0,
	    "a run did not reach a final state");
	cr_assert_eq(dt_int("SELECT count(*) FROM task_executions WHERE "
	    "status NOT IN ('success', 'failed', 'timeout', 'cancelled', "
	    "'skipped', 'interrupted')"), 0, "an attempt did not reach a final state");
	n = dt_int("SELECT count(*) FROM executions");
	cr_assert_geq(n, nkills / 4, "only %lld runs", (long long)n);
	/* Fires are unique. */
	cr_assert_eq(dt_int("SELECT count(*) FROM (SELECT workflow_id, "
	    "scheduled_ms FROM run_meta WHERE scheduled_ms IS NOT NULL "
	    "GROUP BY 1, 2 HAVING count(*) > 1)"), 0);
	/* A recorded success is never followed by another attempt. */
	cr_assert_eq(dt_int("SELECT count(*) FROM task_executions s JOIN "
	    "task_executions t ON t.execution_id = s.execution_id AND "
	    "t.task_name = s.task_name AND t.attempt > s.attempt "
	    "WHERE s.status = 'success'"), 0,
	    "a task ran again after its success");
	/* A dependent never succeeded without its dependencies. */
	cr_assert_eq(dt_int("SELECT count(*) FROM task_executions c WHERE "
	    "c.task_name = 'c' AND c.status = 'success' AND (SELECT "
	    "count(*) FROM task_executions d WHERE d.execution_id = "
	    "c.execution_id AND d.task_name IN ('a', 'b') AND d.status = "
	    "'success') <> 2"), 0);
	cr_assert_eq(dt_int("SELECT count(*) FROM task_executions j WHERE "
	    "j.task_name = 'j' AND j.status = 'success' AND (SELECT "
	    "count(*) FROM task_executions d WHERE d.execution_id = "
	    "j.execution_id AND d.task_name LIKE 'p_' AND d.status = "
	    "'success') <> 4"), 0);
	/* A successful chain or fan run has every task succeeded once. */
	cr_assert_eq(dt_int("SELECT count(*) FROM executions e JOIN workflows "
	    "w ON w.id = e.workflow_id WHERE e.status = 'success' AND "
	    "w.name IN ('chain', 'fan', 'manual') AND (SELECT count(*) FROM "
	    "task_executions t WHERE t.execution_id = e.id AND t.status = "
	    "'success') <> CASE w.name WHEN 'chain' THEN 4 WHEN 'fan' THEN 5 "
	    "ELSE 2 END"), 0);
	/* Every trigger the supervisor accepted made a run. */
	cr_assert_eq(dt_int("SELECT count(*) FROM executions e JOIN workflows "
	    "w ON w.id = e.workflow_id WHERE w.name = 'manual'"), c.triggers);
	/* The timing-out task was always stopped by its timeout. */
	cr_assert_eq(dt_int("SELECT count(*) FROM task_executions WHERE "
	    "task_name = 'slow' AND status = 'success'"), 0);
	chaos_check_markers(&succ, &reruns);
	cr_assert_gt(succ, 0);

	/*
	 * Processes: workers outlive a kill (and are re-attached), but after
	 * the graceful stop and the attach window every worker seen is gone
	 * and nothing carries our dir.
	 */
	for (k = 0; k < c.nworkers; k++) {
		double	 w0 = dt_mono();

		while (chaos_alive(&c.workers[k]) &&
		    dt_mono() - w0 < CHAOS_WINDOW + 30)
			usleep(50000);
		cr_assert_eq(chaos_alive(&c.workers[k]), 0, "pf-worker %ld "
		    "is still there %d s after the last stop",
		    c.workers[k].pid, CHAOS_WINDOW + 30);
	}
	{
		double	 l0 = dt_mono();

		while ((chaos_leftovers(report, 65536) > 0 ||
		    chaos_cgroup_leftovers(&c, report, 65536) > 0) &&
		    dt_mono() - l0 < CHAOS_WINDOW + 30)
			usleep(100000);
	}
	cr_assert_eq(chaos_leftovers(report, 65536), 0, "processes left "
	    "behind:\n%s", report);
	cr_assert_eq(chaos_cgroup_leftovers(&c, report, 65536), 0,
	    "cgroups of dead supervisors left behind:\n%s", report);

	fprintf(stderr, "chaos: seed %u, %d kills (%d during start-up), "
	    "%d triggers, %d reloads, "
	    "%zu workers seen at kills, %lld runs (%lld success, %lld failed), "
	    "%lld attempts (%lld interrupted), %lld task successes checked "
	    "against markers, %lld re-runs of a finished but unrecorded "
	    "attempt, longest stop before a kill %.1f ms, %.0f s\n", seed,
	    c.kills, c.early_kills, c.triggers, c.reloads, c.nworkers,
	    (long long)n,
	    (long long)dt_int("SELECT count(*) FROM executions WHERE status "
	    "= 'success'"),
	    (long long)dt_int("SELECT count(*) FROM executions WHERE status "
	    "= 'failed'"),
	    (long long)dt_int("SELECT count(*) FROM task_executions WHERE "
	    "attempt > 0"),
	    (long long)dt_int("SELECT count(*) FROM task_executions WHERE "
	    "status = 'interrupted'"), (long long)succ,
	    (long long)reruns, c.max_stop * 1000, dt_mono() - t0);
	free(report);
	free(c.workers);
	free(c.sups);
}