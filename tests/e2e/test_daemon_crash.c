/*
 * End-to-end: pf-supervisor killed with SIGKILL and started again.  What
 * must hold (docs/operations.md, "Crash resume"): a task whose success
 * was recorded never runs again; an attempt that was running is recorded
 * failed ("interrupted") and the task runs again if retries allow; every
 * run finishes; no worker or task process outlives the supervisor; the
 * database stays consistent.  Marker files written by the tasks count
 * how often each really ran.
 */
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>

#include "picoflow/store.h"
#include "test_daemon.h"

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
	    "    config: {command: /bin/sh, args: [\"-c\", \"echo $$ > "
	    "%1$s/b.pid; echo start >> %1$s/b; sleep 4; echo done >> "
	    "%1$s/b\"]}\n"
	    "  - name: c\n"
	    "    type: shell\n"
	    "    depends_on: [b]\n"
	    "    config: {command: /bin/sh, args: [\"-c\", \"echo start >> "
	    "%1$s/c; echo done >> %1$s/c\"]}\n", dt_dir, schedule);
}

/*
 * kill -9 while the middle task of a chain runs: after a restart the run
 * completes, the first task never ran again, the middle one ran once more
 * as attempt 2, and its interrupted attempt is recorded failed.
 */
Test(crash, kill9_during_a_chain_resumes_it)
{
	char	 p[4400];
	long	 tpid;

	chain_wf("@start");
	dt_start(NULL);
	snprintf(p, sizeof(p), "%s/b.pid", dt_dir);
	cr_assert_eq(test_wait_file(p, 60), 0);
	usleep(300000);
	tpid = dt_read_long(p);
	dt_kill9();
	/* The worker saw its socket close and killed the task. */
	cr_assert_eq(dt_proc_gone(tpid, 15.0), 1, "task %ld outlived the "
	    "supervisor", tpid);
	cr_assert_eq(dt_int("SELECT count(*) FROM executions WHERE status = "
	    "'running'"), 1);

	dt_start(NULL);
	dt_wait_int("SELECT count(*) FROM executions WHERE status = 'success'",
	    1, 60);
	dt_stop(0);

	snprintf(p, sizeof(p), "%s/a", dt_dir);
	cr_assert_eq(count_lines(p, "start"), 1, "a ran again");
	cr_assert_eq(count_lines(p, "done"), 1);
	snprintf(p, sizeof(p), "%s/b", dt_dir);
	cr_assert_eq(count_lines(p, "start"), 2);
	cr_assert_eq(count_lines(p, "done"), 1);
	snprintf(p, sizeof(p), "%s/c", dt_dir);
	cr_assert_eq(count_lines(p, "start"), 1);
	cr_assert_eq(count_lines(p, "done"), 1);

	cr_assert_eq(dt_int("SELECT count(*) FROM executions"), 1,
	    "the @start fire of the restart must not run: the resumed run "
	    "is in progress (overlap: skip)");
	cr_assert_eq(dt_int("SELECT count(*) FROM task_executions WHERE "
	    "task_name = 'b' AND attempt = 1 AND status = 'failed' AND "
	    "reason LIKE 'interrupted:%'"), 1);
	cr_assert_eq(dt_int("SELECT count(*) FROM task_executions WHERE "
	    "task_name = 'b' AND attempt = 2 AND status = 'success'"), 1);
	cr_assert_eq(dt_int("SELECT count(*) FROM task_executions WHERE "
	    "task_name = 'a'"), 1);
	cr_assert_eq(dt_int("SELECT count(*) FROM task_executions WHERE "
	    "status = 'running'"), 0);
	cr_assert(dt_log_has("resuming run 1"));
}

/* With no retries left, the interrupted task fails the resumed run. */
Test(crash, interrupted_attempt_counts_as_an_attempt)
{
	char	 p[4400];

	struct ctl_reply rep;

	dt_wf("one.yaml",
	    "name: one\n"
	    "config: {retry_default: 0}\n"
	    "tasks:\n"
	    "  - name: a\n"
	    "    type: shell\n"
	    "    config: {command: /bin/sh, args: [\"-c\", \"echo $$ > "
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
	usleep(300000);
	dt_kill9();
	dt_start(NULL);
	dt_wait_int("SELECT count(*) FROM executions WHERE status = 'failed'",
	    1, 60);
	dt_stop(0);
	cr_assert_eq(dt_int("SELECT count(*) FROM task_executions WHERE "
	    "task_name = 'a'"), 1, "a ran again without retries left");
	cr_assert_eq(dt_int("SELECT count(*) FROM task_executions WHERE "
	    "task_name = 'b' AND status = 'skipped'"), 1);
	dt_str_eq("SELECT reason FROM task_executions WHERE task_name = 'b'",
	    "dependency 'a' failed");
	dt_str_eq("SELECT error FROM executions", "one or more tasks failed");
}

/*
 * Twenty kills at random moments while runs come and go; then the
 * database is intact, no run stays running, and no task that recorded a
 * success ran twice.
 */
Test(crash, twenty_random_kills)
{
	char	 p[4400];
	int	 i;
	int64_t	 dup, n;

	srand((unsigned)getpid());
	dt_wf("tick.yaml",
	    "name: tick\n"
	    "schedule: \"* * * * * *\"\n"
	    "overlap: allow\n"
	    "config: {retry_default: 2, max_parallel: 2}\n"
	    "tasks:\n"
	    "  - name: a\n"
	    "    type: shell\n"
	    "    config: {command: /bin/sh, args: [\"-c\", \"sleep 0.$(($$ %% "
	    "7)); echo $PICOFLOW_RUN_ID >> %1$s/a\"]}\n"
	    "  - name: b\n"
	    "    type: shell\n"
	    "    config: {command: /bin/sh, args: [\"-c\", \"sleep 0.3; echo "
	    "$PICOFLOW_RUN_ID >> %1$s/b\"]}\n"
	    "  - name: c\n"
	    "    type: shell\n"
	    "    depends_on: [a, b]\n"
	    "    config: {command: /bin/sh, args: [\"-c\", \"echo "
	    "$PICOFLOW_RUN_ID >> %1$s/c\"]}\n", dt_dir);
	for (i = 0; i < 20; i++) {
		dt_start(NULL);
		usleep((useconds_t)(rand() % 1500000));
		dt_kill9();
	}
	/* The last start resumes what is left and finishes it. */
	dt_start(NULL);
	sleep(2);
	dt_rm_wf("tick.yaml");
	kill(dt_pid, SIGHUP);
	dt_wait_int("SELECT count(*) = 0 FROM executions WHERE status = "
	    "'running'", 1, 90);
	dt_stop(0);

	dt_str_eq("PRAGMA integrity_check", "ok");
	dt_str_eq("PRAGMA foreign_key_check", "");
	cr_assert_eq(dt_int("SELECT count(*) FROM executions WHERE status = "
	    "'running'"), 0);
	cr_assert_eq(dt_int("SELECT count(*) FROM task_executions WHERE "
	    "status = 'running'"), 0);
	n = dt_int("SELECT count(*) FROM executions");
	cr_assert_geq(n, 5, "only %lld runs", (long long)n);
	/* A recorded success is never followed by another attempt. */
	dup = dt_int("SELECT count(*) FROM task_executions s JOIN "
	    "task_executions t ON t.execution_id = s.execution_id AND "
	    "t.task_name = s.task_name AND t.attempt > s.attempt "
	    "WHERE s.status = 'success'");
	cr_assert_eq(dup, 0, "a task ran again after its success");
	cr_assert_eq(dt_int("SELECT count(*) FROM (SELECT execution_id, "
	    "task_name FROM task_executions WHERE status = 'success' GROUP BY "
	    "1, 2 HAVING count(*) > 1)"), 0);
	/* Fires are unique. */
	cr_assert_eq(dt_int("SELECT count(*) FROM (SELECT scheduled_ms FROM "
	    "run_meta WHERE scheduled_ms IS NOT NULL GROUP BY 1 HAVING "
	    "count(*) > 1)"), 0);
	/* Every successful c ran after its run's a and b succeeded. */
	cr_assert_eq(dt_int("SELECT count(*) FROM task_executions c WHERE "
	    "c.task_name = 'c' AND c.attempt > 0 AND (SELECT count(*) FROM "
	    "task_executions d WHERE d.execution_id = c.execution_id AND "
	    "d.task_name IN ('a', 'b') AND d.status = 'success') <> 2"), 0);
	/* Each run's c wrote its marker once per success at most. */
	snprintf(p, sizeof(p), "%s/c", dt_dir);
	{
		int64_t	 succ = dt_int("SELECT count(*) FROM task_executions "
		    "WHERE task_name = 'c' AND status = 'success'");
		int64_t	 lines = 0;
		char	*t = test_read(p, NULL), *q;

		for (q = t; q && *q; q++)
			lines += *q == '\n';
		free(t);
		/* A kill between the write and the record re-runs c. */
		cr_assert_geq(lines, succ);
	}
}

/* The task of a killed supervisor does not live on. */
Test(crash, kill9_leaves_no_task_behind)
{
	char	 p[4400];
	long	 tpid, wpid, bgpid;

	dt_wf("long.yaml",
	    "name: long\n"
	    "schedule: \"@start\"\n"
	    "tasks:\n"
	    "  - name: a\n"
	    "    type: shell\n"
	    "    config: {command: /bin/sh, args: [\"-c\", \"echo $$ > "
	    "%1$s/a.pid; echo $PPID > %1$s/w.pid; (trap '' TERM; exec sleep 300) "
	    "& echo $! > %1$s/bg.pid; exec sleep 300\"]}\n", dt_dir);
	dt_start(NULL);
	snprintf(p, sizeof(p), "%s/w.pid", dt_dir);
	cr_assert_eq(test_wait_file(p, 60), 0);
	usleep(300000);
	wpid = dt_read_long(p);
	snprintf(p, sizeof(p), "%s/a.pid", dt_dir);
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
	dt_start(NULL);
	dt_wait_int("SELECT count(*) FROM task_executions WHERE status = "
	    "'failed' AND reason LIKE 'interrupted:%'", 1, 30);
	dt_stop(0);
	cr_assert_eq(dt_int("SELECT count(*) FROM executions WHERE status = "
	    "'running'"), 0);
}

/*
 * A worker that outlived its supervisor (here: stopped, so it cannot
 * notice) is killed by the next start, which knows it by pid and start
 * time.  Without cgroups: a supervisor starting elsewhere on the host
 * (another test) would sweep a dead supervisor's cgroups first.  Under
 * AddressSanitizer the worker cannot run without cgroups (its address
 * space rlimit is far below ASan's shadow): then only the outcome is
 * checked, not who did the killing.
 */
#ifdef __SANITIZE_ADDRESS__
#define STUCK_OPTS	NULL
#else
#define STUCK_OPTS	"--no-cgroups"
#endif

Test(crash, restart_kills_a_stuck_leftover_worker)
{
	char	 p[4400];
	long	 tpid, wpid;
	int	 alive;

	dt_wf("long.yaml",
	    "name: long\n"
	    "schedule: \"@start\"\n"
	    "config: {retry_default: 0}\n"
	    "tasks:\n"
	    "  - name: a\n"
	    "    type: shell\n"
	    "    config: {command: /bin/sh, args: [\"-c\", \"echo $$ > "
	    "%1$s/a.pid; echo $PPID > %1$s/w.pid; exec sleep 300\"]}\n",
	    dt_dir);
	dt_start(STUCK_OPTS);
	snprintf(p, sizeof(p), "%s/w.pid", dt_dir);
	cr_assert_eq(test_wait_file(p, 60), 0, "the task never started:\n%s",
	    dt_logs());
	dt_wait_int("SELECT count(*) FROM attempt_procs WHERE task_pid IS NOT "
	    "NULL", 1, 30);
	wpid = dt_read_long(p);
	snprintf(p, sizeof(p), "%s/a.pid", dt_dir);
	tpid = dt_read_long(p);
	/* Freeze worker and task so neither reacts to the hangup. */
	cr_assert_eq(kill((pid_t)wpid, SIGSTOP), 0);
	cr_assert_eq(kill((pid_t)tpid, SIGSTOP), 0);
	dt_kill9();
	usleep(300000);
	alive = dt_proc_gone(wpid, 0.2) == 0 && dt_proc_gone(tpid, 0.2) == 0;
	dt_start(STUCK_OPTS);
	cr_assert_eq(dt_proc_gone(tpid, 20.0), 1, "task %ld survived", tpid);
	cr_assert_eq(dt_proc_gone(wpid, 20.0), 1, "worker %ld survived", wpid);
	if (alive && STUCK_OPTS != NULL) {
		cr_assert(dt_log_has("killed the leftover task"));
		cr_assert(dt_log_has("killed the leftover pf-worker"));
	}
	dt_wait_int("SELECT count(*) FROM executions WHERE status = 'failed'",
	    1, 30);
	dt_stop(0);
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
