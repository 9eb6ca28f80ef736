/*
 * End-to-end: what pf-supervisor does with the state it finds and keeps.
 * Catch-up after downtime is tested with a database prepared with an old
 * last-fire time (no real waiting); retention by age, count and bytes;
 * a full disk (a small tmpfs in a private mount namespace) is survived.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "picoflow/store.h"
#include "../lib/daemon_harness.h"

TestSuite(state, .init = dt_setup, .fini = dt_teardown, .timeout = 180);

static struct pf_store *
open_db(void)
{
	struct pf_store	*st;
	struct pf_err	 err;

	cr_assert_eq(store_open(dt_db, STORE_RW, &st, &err), 0, "%s",
	    err.msg);
	return st;
}

static void
set_last_fire(const char *wf, int64_t ms)
{
	struct pf_store	*st = open_db();
	struct pf_err	 err;

	cr_assert_eq(store_schedule_set(st, wf, ms, &err), 0, "%s", err.msg);
	store_close(st);
}

static void
minutely(const char *catchup)
{
	dt_wf("m.yaml",
	    "name: m\n"
	    "schedule: \"0 * * * * *\"\n"
	    "%s"
	    "tasks:\n"
	    "  - {name: t, type: shell, config: {command: /bin/sleep, "
	    "args: [\"0.3\"]}}\n", catchup);
}

/* Default catch-up (latest within an hour): the newest missed fire. */
Test(state, catchup_latest)
{
	int64_t	 t0 = dt_now_ms(), sched, t1;

	set_last_fire("m", (t0 / 60000 - 10) * 60000);
	minutely("");
	dt_start(NULL);
	dt_wait_int("SELECT count(*) FROM executions WHERE triggered_by = "
	    "'catchup' AND status = 'success'", 1, 30);
	t1 = dt_now_ms();
	dt_stop(0);
	cr_assert_eq(dt_int("SELECT count(*) FROM executions WHERE "
	    "triggered_by = 'catchup'"), 1);
	sched = dt_int("SELECT scheduled_ms FROM run_meta m JOIN executions e "
	    "ON e.id = m.execution_id WHERE e.triggered_by = 'catchup'");
	cr_assert_eq(sched % 60000, 0);
	cr_assert_geq(sched, (t0 / 60000) * 60000);
	cr_assert_leq(sched, t1);
	cr_assert_geq(dt_int("SELECT last_fire_ms FROM schedule_state WHERE "
	    "workflow_name = 'm'"), sched);
	cr_assert(dt_log_has("fires missed since"));
}

/* catchup: all with a maximum: the newest N, one after another. */
Test(state, catchup_all_with_max)
{
	int64_t	 t0 = dt_now_ms();

	set_last_fire("m", (t0 / 60000 - 10) * 60000);
	minutely("catchup: all\ncatchup_max: 3\n");
	dt_start(NULL);
	dt_wait_int("SELECT count(*) FROM executions WHERE triggered_by = "
	    "'catchup' AND status = 'success'", 3, 60);
	dt_stop(0);
	cr_assert_eq(dt_int("SELECT count(*) FROM executions WHERE "
	    "triggered_by = 'catchup'"), 3);
	/* Three consecutive minutes, the newest ones before the start. */
	cr_assert_eq(dt_int("SELECT max(scheduled_ms) - min(scheduled_ms) FROM "
	    "run_meta m JOIN executions e ON e.id = m.execution_id WHERE "
	    "e.triggered_by = 'catchup'"), 120000);
	cr_assert_geq(dt_int("SELECT min(scheduled_ms) FROM run_meta m JOIN "
	    "executions e ON e.id = m.execution_id WHERE e.triggered_by = "
	    "'catchup'"), (t0 / 60000 - 2) * 60000);
	/* overlap: skip still means one at a time: they queued. */
	cr_assert_eq(dt_int("SELECT count(*) FROM executions a, executions b "
	    "WHERE a.id < b.id AND b.started_ms < a.completed_ms"), 0);
}

/* The window keeps only recent fires. */
Test(state, catchup_window)
{
	int64_t	 t0 = dt_now_ms(), n, oldest;

	set_last_fire("m", (t0 / 60000 - 30) * 60000);
	minutely("catchup: all\ncatchup_max: 100\ncatchup_window: 150\n");
	dt_start(NULL);
	dt_wait_int("SELECT count(*) FROM executions WHERE triggered_by = "
	    "'catchup' AND status = 'success'", 2, 60);
	sleep(1);
	dt_stop(0);
	n = dt_int("SELECT count(*) FROM executions WHERE triggered_by = "
	    "'catchup'");
	cr_assert(n == 2 || n == 3, "%lld fires caught up", (long long)n);
	oldest = dt_int("SELECT min(scheduled_ms) FROM run_meta m JOIN "
	    "executions e ON e.id = m.execution_id WHERE e.triggered_by = "
	    "'catchup'");
	cr_assert_geq(oldest, t0 - 151000);
}

/* catchup: none runs nothing and forgets the missed fires. */
Test(state, catchup_none)
{
	int64_t	 t0 = dt_now_ms(), old = (t0 / 60000 - 10) * 60000;

	set_last_fire("m", old);
	minutely("catchup: none\n");
	dt_start(NULL);
	dt_stop(0);
	cr_assert_eq(dt_int("SELECT count(*) FROM executions WHERE "
	    "triggered_by = 'catchup'"), 0);
	cr_assert_geq(dt_int("SELECT last_fire_ms FROM schedule_state WHERE "
	    "workflow_name = 'm'"), (t0 / 60000) * 60000);
	/* A second start has nothing left to consider. */
	dt_start(NULL);
	dt_stop(0);
	cr_assert_eq(dt_int("SELECT count(*) FROM executions WHERE "
	    "triggered_by = 'catchup'"), 0);
}

/* A fire that already has a run is never run again, catch-up or not. */
Test(state, catchup_never_runs_a_fire_twice)
{
	struct pf_store		*st;
	struct store_run_start	 rs;
	struct pf_err		 err;
	int64_t			 t0 = dt_now_ms(), latest, wfid, id;

	latest = (t0 / 3600000) * 3600000;
	dt_wf("h.yaml",
	    "name: h\n"
	    "schedule: \"0 0 * * * *\"\n"
	    "tasks: []\n");
	st = open_db();
	cr_assert_eq(store_workflow_upsert(st, "h", NULL, "0 0 * * * *", NULL,
	    &wfid, &err), 0);
	memset(&rs, 0, sizeof(rs));
	rs.workflow_id = wfid;
	rs.trigger = "cron";
	rs.started_ms = latest;
	rs.scheduled_ms = latest;
	rs.owner = STORE_OWNER_SUPERVISOR;
	cr_assert_eq(store_run_start(st, &rs, &id, NULL, &err), 0);
	cr_assert_eq(store_run_end(st, id, PF_STATUS_SUCCESS,
	    latest + 5, NULL, &err),
	    0);
	/* The record of that fire was lost: last fire an hour earlier. */
	cr_assert_eq(store_schedule_set(st, "h", latest - 3600000, &err), 0);
	store_close(st);
	dt_start(NULL);
	dt_stop(0);
	if (dt_now_ms() / 3600000 != t0 / 3600000)
		cr_skip_test("the hour changed during the test");
	cr_assert_eq(dt_int("SELECT count(*) FROM executions"), 1);
	cr_assert(dt_log_has("already has run 1; not running it twice"));
}

/* Retention at start: age and count; running runs are never deleted. */
Test(state, retention_by_age_and_count)
{
	struct pf_store		*st;
	struct store_run_start	 rs;
	struct pf_err		 err;
	int64_t			 now = dt_now_ms(), wfid, id;
	int			 i;

	st = open_db();
	cr_assert_eq(store_workflow_upsert(st, "old", NULL, NULL, NULL, &wfid,
	    &err), 0);
	memset(&rs, 0, sizeof(rs));
	rs.workflow_id = wfid;
	rs.trigger = "cron";
	rs.scheduled_ms = -1;
	rs.owner = STORE_OWNER_SUPERVISOR;
	for (i = 0; i < 8; i++) {
		/* 4 from ten days ago, 4 from the last hour. */
		rs.started_ms = now - (i < 4 ? 10 * 86400000LL : 600000) + i;
		cr_assert_eq(store_run_start(st, &rs, &id, NULL, &err), 0);
		cr_assert_eq(store_run_end(st, id, PF_STATUS_SUCCESS,
		    rs.started_ms + 1,
		    NULL, &err), 0);
	}
	/* An old run still in progress in a live `picoflow run` (us). */
	rs.started_ms = now - 20 * 86400000LL;
	rs.owner = STORE_OWNER_RUN;
	cr_assert_eq(store_run_start(st, &rs, &id, NULL, &err), 0);
	store_close(st);

	dt_wf("e.yaml", "name: e\ntasks: []\n");
	dt_start("--retain-days 1 --retain-runs 3");
	dt_stop(0);
	cr_assert_eq(dt_int("SELECT count(*) FROM executions WHERE status = "
	    "'success'"), 3);
	cr_assert_eq(dt_int("SELECT min(started_ms) FROM executions WHERE "
	    "status = 'success'"), now - 600000 + 5);
	cr_assert_eq(dt_int("SELECT count(*) FROM executions WHERE status = "
	    "'running'"), 1);
	cr_assert_eq(dt_int("SELECT count(*) FROM run_meta WHERE execution_id "
	    "NOT IN (SELECT id FROM executions)"), 0, "orphaned side rows");
	cr_assert(dt_log_has("retention: deleted 5 finished runs"));
}

/* Retention on its timer by captured bytes keeps the database bounded. */
Test(state, retention_by_bytes_on_a_timer)
{
	int64_t	 bytes, runs;

	dt_wf("big.yaml",
	    "name: big\n"
	    "schedule: \"* * * * * *\"\n"
	    "tasks:\n"
	    "  - {name: t, type: shell, config: {command: /bin/sh, "
	    "args: [\"-c\", \"head -c 40000 /dev/zero\"]}}\n");
	dt_start("--retain-bytes 100K --retain-every 1");
	dt_wait_int("SELECT count(*) FROM executions", 1, 30);
	sleep(7);
	dt_stop(0);
	bytes = dt_int("SELECT total(length(stdout) + length(stderr)) FROM "
	    "task_executions");
	runs = dt_int("SELECT count(*) FROM executions");
	/* 100K after each prune, plus what ran in the last second. */
	cr_assert_leq(bytes, 100 * 1024 + 3 * 40000, "%lld bytes kept",
	    (long long)bytes);
	cr_assert_leq(runs, 5, "%lld runs kept", (long long)runs);
	cr_assert_geq(runs, 1);
	cr_assert(dt_log_has("retention: deleted"));
}

/*
 * A full disk: the state directory is a 256 KiB tmpfs (in a private
 * mount namespace, so nothing outlives the test) and tasks print 64 KiB
 * each.  Writes fail with "database or disk is full"; the supervisor
 * logs it, keeps running and answering, and stops cleanly.
 */
Test(state, full_disk_is_survived)
{
	struct proc_result	 r;
	char			 cmd[16384], log[4400];
	char			*argv[4], *t;
	double			 t0;
	pid_t			 pid;
	int			 status;

	if (geteuid() != 0 || access("/usr/bin/unshare", X_OK) != 0)
		cr_skip_test("needs root and unshare(1) for a private tmpfs");
	argv[0] = (char *)"/usr/bin/unshare";
	argv[1] = (char *)"-m";
	argv[2] = (char *)"/bin/true";
	argv[3] = NULL;
	cr_assert_eq(proc_run(argv, NULL, 30, &r), 0);
	if (r.exit_code != 0) {
		proc_result_free(&r);
		cr_skip_test("mount namespaces are not available here");
	}
	proc_result_free(&r);

	dt_wf("big.yaml",
	    "name: big\n"
	    "schedule: \"* * * * * *\"\n"
	    "overlap: allow\n"
	    "tasks:\n"
	    "  - {name: t, type: shell, config: {command: /bin/sh, "
	    "args: [\"-c\", \"head -c 65536 /dev/urandom\"]}}\n");
	cr_assert_eq(mkdir(dt_state, 0700), 0);
	snprintf(cmd, sizeof(cmd), "mount --make-rprivate / && "
	    "mount -t tmpfs -o size=256k,mode=0700 tmpfs %s && "
	    "exec %s -c %s --state-dir %s --retain-bytes 0 --retain-runs 0 "
	    "--stop-timeout 5", dt_state, test_bin("pf-supervisor"), dt_wfdir,
	    dt_state);
	snprintf(log, sizeof(log), "%s/log.1", dt_dir);
	dt_nstarts = 1;
	argv[0] = (char *)"/usr/bin/unshare";
	argv[1] = (char *)"-m";
	argv[2] = (char *)"/bin/sh";
	argv[3] = (char *)"-c";
	{
		char	*a2[6] = { argv[0], argv[1], argv[2], argv[3], cmd,
		    NULL };

		pid = proc_spawn(a2, NULL, log, log);
	}
	cr_assert_gt(pid, 0);
	dt_pid = pid;
	/* The socket lives on the tmpfs, which only the namespace sees. */
	t0 = dt_mono();
	for (;;) {
		t = dt_logs();
		if (strstr(t, "disk is full") != NULL) {
			free(t);
			break;
		}
		cr_assert_lt(dt_mono() - t0, 60.0, "no full-disk error:\n%s",
		    t);
		cr_assert_eq(waitpid(pid, &status, WNOHANG), 0, "it died:\n%s",
		    t);
		free(t);
		usleep(100000);
	}
	/* Still alive a few seconds later, still firing. */
	sleep(3);
	cr_assert_eq(waitpid(pid, &status, WNOHANG), 0, "it died after the "
	    "disk filled up");
	dt_stop(0);
	t = dt_logs();
	cr_assert(strstr(t, "info: stopped") != NULL, "%s", t);
	free(t);
}
