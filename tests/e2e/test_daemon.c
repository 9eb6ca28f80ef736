/*
 * End-to-end: pf-supervisor schedules.  Each test writes workflows into a
 * scratch directory, starts build/pf-supervisor on it with its own state
 * directory, and checks what the database (read with libsqlite3) and the
 * supervisor's own answers say.  Timing is only ever bounded generously:
 * these machines are shared and noisy.
 */
#include <criterion/criterion.h>

#include <errno.h>
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

#include <sqlite3.h>

#include "picoflow/store.h"
#include "../lib/proc.h"
#include "../lib/daemon_harness.h"

TestSuite(daemon, .init = dt_setup, .fini = dt_teardown, .timeout = 180);

/* A 6-field every-second schedule fires every second, on time, for 10 s. */
Test(daemon, every_second_schedule_fires_on_time)
{
	int64_t	 n, distinct, late, t0, t1, span;

	dt_wf("tick.yaml",
	    "name: tick\n"
	    "schedule: \"* * * * * *\"\n"
	    "tasks:\n"
	    "  - {name: a, type: shell, config: {command: /bin/true}}\n");
	dt_start(NULL);
	sleep(11);
	dt_stop(0);
	n = dt_int("SELECT count(*) FROM executions e JOIN run_meta m ON "
	    "m.execution_id = e.id WHERE e.triggered_by = 'cron'");
	distinct = dt_int("SELECT count(DISTINCT scheduled_ms) FROM run_meta "
	    "WHERE scheduled_ms IS NOT NULL");
	cr_assert_geq(n, 8, "only %lld fires in ~10 s", (long long)n);
	cr_assert_leq(n, 12, "%lld fires in ~10 s", (long long)n);
	cr_assert_eq(distinct, n, "a scheduled time ran twice");
	cr_assert_eq(dt_int("SELECT count(*) FROM run_meta WHERE "
	    "scheduled_ms % 1000 <> 0"), 0, "fires on whole seconds");
	t0 = dt_int("SELECT min(scheduled_ms) FROM run_meta");
	t1 = dt_int("SELECT max(scheduled_ms) FROM run_meta");
	span = (t1 - t0) / 1000 + 1;
	/* Consecutive seconds: a missed second would show as a gap. */
	cr_assert_geq(n, span - 1, "%lld fires over %lld s", (long long)n,
	    (long long)span);
	/* Each started soon after its time (a generous bound). */
	late = dt_int("SELECT count(*) FROM executions e JOIN run_meta m ON "
	    "m.execution_id = e.id WHERE e.started_ms - m.scheduled_ms > 2500 "
	    "OR e.started_ms < m.scheduled_ms");
	cr_assert_leq(late, 1, "%lld fires started late or early",
	    (long long)late);
	cr_assert_eq(dt_int("SELECT count(*) FROM executions WHERE status <> "
	    "'success'"), 0);
	cr_assert_eq(dt_int("SELECT count(*) FROM executions e JOIN run_meta m "
	    "ON m.execution_id = e.id WHERE m.owner <> 'supervisor'"), 0);
}

/* The next fire of 5-field and zoned schedules, as the supervisor says. */
Test(daemon, five_field_and_zoned_next_fires)
{
	struct ctl_reply	 st;
	int64_t			 now;
	const struct ctl_wf_status *w;

	dt_wf("every2.yaml",
	    "name: every2\n"
	    "schedule: \"*/2 * * * *\"\n"
	    "tasks: []\n");
	dt_wf("kolkata.yaml",
	    "name: kolkata\n"
	    "schedule: \"30 2 * * *\"\n"
	    "timezone: Asia/Kolkata\n"
	    "tasks: []\n");
	dt_wf("newyear.yaml",
	    "name: newyear\n"
	    "schedule: \"0 0 0 1 1 * 2199\"\n"
	    "tasks: []\n");
	dt_start(NULL);
	dt_status(&st);
	now = dt_now_ms();
	cr_assert_eq(st.nwfs, 3);
	w = dt_find_wf(&st, "every2");
	cr_assert_eq(w->next_fire_ms % 120000, 0, "%lld",
	    (long long)w->next_fire_ms);
	cr_assert_gt(w->next_fire_ms, now - 5000);
	cr_assert_leq(w->next_fire_ms, now + 120000);
	/* 02:30 in Kolkata (UTC+05:30) is 21:00 UTC. */
	w = dt_find_wf(&st, "kolkata");
	cr_assert_eq(w->next_fire_ms % 86400000, 21 * 3600000LL, "%lld",
	    (long long)w->next_fire_ms);
	cr_assert_gt(w->next_fire_ms, now - 5000);
	cr_assert_leq(w->next_fire_ms, now + 86400000);
	cr_assert_str_eq(w->timezone, "Asia/Kolkata");
	/* 2199-01-01T00:00:00Z */
	w = dt_find_wf(&st, "newyear");
	cr_assert_eq(w->next_fire_ms, 7226582400000LL);
	ctl_reply_free(&st);
	dt_stop(0);
}

/* overlap: skip: never two runs at once, and skips are counted. */
Test(daemon, overlap_skip)
{
	struct ctl_reply	 st;
	int64_t			 n, overlaps;

	dt_wf("slow.yaml",
	    "name: slow\n"
	    "schedule: \"* * * * * *\"\n"
	    "tasks:\n"
	    "  - {name: a, type: shell, config: {command: /bin/sleep, "
	    "args: [\"2.5\"]}}\n");
	dt_start(NULL);
	sleep(7);
	dt_status(&st);
	cr_assert_gt(dt_find_wf(&st, "slow")->skips, 0);
	cr_assert_eq(dt_find_wf(&st, "slow")->queued, 0);
	ctl_reply_free(&st);
	dt_stop(0);
	n = dt_int("SELECT count(*) FROM executions");
	overlaps = dt_int("SELECT count(*) FROM executions a, executions b "
	    "WHERE a.id < b.id AND b.started_ms < a.completed_ms");
	cr_assert_geq(n, 2);
	cr_assert_leq(n, 4, "%lld runs of a 2.5 s task in 7 s", (long long)n);
	cr_assert_eq(overlaps, 0, "two runs overlapped under overlap: skip");
	cr_assert(dt_log_has("skipped: a run is in progress (overlap: skip)"));
}

/* overlap: queue: fires wait, then run one after another. */
Test(daemon, overlap_queue)
{
	struct ctl_reply	 st;
	int64_t			 n, overlaps, gaps;

	dt_wf("q.yaml",
	    "name: q\n"
	    "schedule: \"* * * * * *\"\n"
	    "overlap: queue\n"
	    "tasks:\n"
	    "  - {name: a, type: shell, config: {command: /bin/sleep, "
	    "args: [\"1.6\"]}}\n");
	dt_start(NULL);
	sleep(7);
	dt_status(&st);
	cr_assert_gt(dt_find_wf(&st, "q")->queued, 0, "nothing waits");
	cr_assert_eq(dt_find_wf(&st, "q")->skips, 0);
	ctl_reply_free(&st);
	dt_stop(0);
	n = dt_int("SELECT count(*) FROM executions WHERE status = 'success'");
	overlaps = dt_int("SELECT count(*) FROM executions a, executions b "
	    "WHERE a.id < b.id AND b.started_ms < a.completed_ms");
	/* A queued fire starts as soon as the previous run ends. */
	gaps = dt_int("SELECT count(*) FROM executions a JOIN executions b ON "
	    "b.id = (SELECT min(id) FROM executions WHERE id > a.id) "
	    "WHERE b.started_ms - a.completed_ms > 1500");
	cr_assert_geq(n, 3);
	cr_assert_eq(overlaps, 0, "runs overlapped under overlap: queue");
	cr_assert_eq(gaps, 0, "a queued fire waited");
	/* Queued fires keep their own scheduled time. */
	cr_assert_eq(dt_int("SELECT count(DISTINCT scheduled_ms) FROM "
	    "run_meta"), dt_int("SELECT count(*) FROM run_meta"));
	cr_assert(dt_log_has("queued behind"));
}

/* overlap: allow: runs overlap. */
Test(daemon, overlap_allow)
{
	int64_t	 overlaps;

	dt_wf("a.yaml",
	    "name: a\n"
	    "schedule: \"* * * * * *\"\n"
	    "overlap: allow\n"
	    "tasks:\n"
	    "  - {name: a, type: shell, config: {command: /bin/sleep, "
	    "args: [\"2.5\"]}}\n");
	dt_start(NULL);
	sleep(6);
	dt_stop(0);
	overlaps = dt_int("SELECT count(*) FROM executions a, executions b "
	    "WHERE a.id < b.id AND b.started_ms < a.completed_ms");
	cr_assert_geq(overlaps, 2, "runs did not overlap under allow");
	cr_assert_eq(dt_int("SELECT count(*) FROM executions WHERE status "
	    "<> 'success'"), 0);
}

/* SIGTERM lets a running task finish, then exits 0. */
Test(daemon, sigterm_lets_the_running_task_finish)
{
	char	 marker[4300];
	char	*txt;

	snprintf(marker, sizeof(marker), "%s/marker", dt_dir);
	dt_wf("once.yaml",
	    "name: once\n"
	    "schedule: \"@start\"\n"
	    "tasks:\n"
	    "  - name: a\n"
	    "    type: shell\n"
	    "    config: {command: /bin/sh, args: [\"-c\", \"echo start > "
	    "%1$s; sleep 2; echo done >> %1$s\"]}\n"
	    "  - {name: b, type: shell, depends_on: [a], "
	    "config: {command: /bin/true}}\n", marker);
	dt_start(NULL);
	cr_assert_eq(test_wait_file(marker, 30), 0);
	dt_stop(0);
	txt = test_read(marker, NULL);
	cr_assert_str_eq(txt, "start\ndone\n");
	free(txt);
	/* a finished; b never started; the run is recorded cancelled. */
	cr_assert_eq(dt_int("SELECT count(*) FROM task_executions WHERE "
	    "task_name = 'a' AND status = 'success'"), 1);
	cr_assert_eq(dt_int("SELECT count(*) FROM task_executions WHERE "
	    "task_name = 'b' AND attempt > 0"), 0);
	cr_assert_eq(dt_int("SELECT count(*) FROM executions WHERE status = "
	    "'cancelled'"), 1);
	cr_assert_eq(dt_int("SELECT count(*) FROM executions WHERE status = "
	    "'running'"), 0);
}

/* SIGTERM with a task that outlives the stop timeout: killed, recorded. */
Test(daemon, sigterm_kills_at_the_deadline)
{
	char	 pidf[4300];
	long	 tpid;
	double	 t;

	snprintf(pidf, sizeof(pidf), "%s/task.pid", dt_dir);
	dt_wf("long.yaml",
	    "name: long\n"
	    "schedule: \"@start\"\n"
	    "tasks:\n"
	    "  - name: a\n"
	    "    type: shell\n"
	    "    config: {command: /bin/sh, args: [\"-c\", \"echo $$ $(readlink /proc/self/ns/pid) "
	    "> %s; exec sleep 300\"]}\n", pidf);
	dt_start("--stop-timeout 1 --grace 1");
	cr_assert_eq(test_wait_file(pidf, 30), 0);
	usleep(200000);
	tpid = dt_read_long(pidf);
	t = dt_mono();
	dt_stop(0);
	cr_assert_lt(dt_mono() - t, 20.0);
	cr_assert_eq(dt_proc_gone(tpid, 10.0), 1, "task %ld survived", tpid);
	cr_assert_eq(dt_int("SELECT count(*) FROM task_executions WHERE "
	    "task_name = 'a' AND status = 'cancelled'"), 1);
	cr_assert_eq(dt_int("SELECT count(*) FROM executions WHERE status = "
	    "'cancelled'"), 1);
	cr_assert(dt_log_has("killing them"));
}

/* A stale pidfile never blocks a start; a live supervisor does. */
Test(daemon, pidfile_lock)
{
	struct proc_result	 r;
	char			 pf[4300];
	char			*argv[12];
	char			*txt;

	snprintf(pf, sizeof(pf), "%s/st", dt_dir);
	mkdir(pf, 0700);
	/* A pidfile left by a dead supervisor, naming a live process. */
	snprintf(pf, sizeof(pf), "%s/st/pf-supervisor.pid", dt_dir);
	{
		FILE	*fp = fopen(pf, "w");

		cr_assert_not_null(fp);
		fprintf(fp, "%ld\n", (long)getpid());
		fclose(fp);
	}
	dt_wf("e.yaml", "name: e\ntasks: []\n");
	dt_start(NULL);
	txt = test_read(pf, NULL);
	cr_assert_eq(strtol(txt, NULL, 10), (long)dt_pid);
	free(txt);
	/* A second supervisor on the same state directory is refused. */
	argv[0] = (char *)(uintptr_t)test_bin("pf-supervisor");
	argv[1] = (char *)"-c";
	argv[2] = dt_wfdir;
	argv[3] = (char *)"--state-dir";
	argv[4] = dt_state;
	argv[5] = NULL;
	cr_assert_eq(proc_run(argv, NULL, 30, &r), 0);
	cr_assert_eq(r.exit_code, 1);
	cr_assert(strstr(r.err, "another pf-supervisor (pid") != NULL, "%s",
	    r.err);
	proc_result_free(&r);
	dt_stop(0);
	/* The lock went with the process: a new start works at once. */
	dt_start(NULL);
	dt_stop(0);
}

/* -n: every file checked; a broken one fails the check with its error. */
Test(daemon, check_mode)
{
	struct proc_result	 r;
	char			*argv[6];

	dt_wf("good.yaml", "name: good\nschedule: \"0 * * * * *\"\n"
	    "tasks: []\n");
	dt_wf("notes.txt", "not a workflow\n");
	argv[0] = (char *)(uintptr_t)test_bin("pf-supervisor");
	argv[1] = (char *)"-n";
	argv[2] = (char *)"-c";
	argv[3] = dt_wfdir;
	argv[4] = NULL;
	cr_assert_eq(proc_run(argv, NULL, 30, &r), 0);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert(strstr(r.out, "'good' (0 * * * * *, next ") != NULL, "%s",
	    r.out);
	cr_assert(strstr(r.out, "1 workflow valid, 0 broken") != NULL, "%s",
	    r.out);
	cr_assert(strstr(r.out, "\nisolation: ") != NULL, "-n says how tasks "
	    "would be isolated: %s", r.out);
	cr_assert(strstr(r.out, "\nnamespaces: ") != NULL, "and whether with "
	    "namespaces: %s", r.out);
	proc_result_free(&r);

	/* --no-namespaces: the check says so. */
	argv[4] = (char *)"--no-namespaces";
	argv[5] = NULL;
	cr_assert_eq(proc_run(argv, NULL, 30, &r), 0);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert(strstr(r.out, "\nnamespaces: NONE") != NULL, "%s", r.out);
	proc_result_free(&r);

	/* --no-cgroups: the check says the fallback, loudly. */
	argv[4] = (char *)"--no-cgroups";
	argv[5] = NULL;
	cr_assert_eq(proc_run(argv, NULL, 30, &r), 0);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert(strstr(r.out, "\nisolation: NONE: ") != NULL, "%s", r.out);
	proc_result_free(&r);
	argv[4] = NULL;

	dt_wf("bad.yml", "name: bad\nschedule: \"61 * * * *\"\ntasks: []\n");
	cr_assert_eq(proc_run(argv, NULL, 30, &r), 0);
	cr_assert_eq(r.exit_code, 1);
	cr_assert(strstr(r.err, "bad.yml:2:") != NULL, "%s", r.err);
	cr_assert(strstr(r.out, "1 workflow valid, 1 broken") != NULL, "%s",
	    r.out);
	proc_result_free(&r);

	/* A missing directory is an error too. */
	argv[3] = (char *)"/nonexistent/picoflow";
	cr_assert_eq(proc_run(argv, NULL, 30, &r), 0);
	cr_assert_eq(r.exit_code, 1);
	cr_assert(strstr(r.err, "No such file") != NULL, "%s", r.err);
	proc_result_free(&r);
}

/* A broken file is reported and skipped; the others run. */
Test(daemon, broken_file_skipped_others_run)
{
	struct ctl_reply	 st;

	dt_wf("a-broken.yaml", "name: broken\ntasks:\n  - {name: x}\n");
	dt_wf("b-ok.yaml", "name: ok\nschedule: \"@start\"\ntasks:\n"
	    "  - {name: t, type: shell, config: {command: /bin/true}}\n");
	dt_wf("c-dup.yaml", "name: ok\ntasks: []\n");
	dt_start(NULL);
	dt_wait_int("SELECT count(*) FROM executions WHERE status = "
	    "'success'", 1, 30);
	dt_status(&st);
	cr_assert_eq(st.nwfs, 1);
	cr_assert_str_eq(st.wfs[0].name, "ok");
	cr_assert(strstr(st.wfs[0].file, "b-ok.yaml") != NULL);
	cr_assert_geq(st.nerrors, 2);
	ctl_reply_free(&st);
	dt_stop(0);
	cr_assert(dt_log_has("a-broken.yaml:3:"));
	cr_assert(dt_log_has("workflow name 'ok' is already used by"));
}
