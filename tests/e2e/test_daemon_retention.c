/*
 * End-to-end: per-workflow retention (config.retention) in pf-supervisor.
 * A workflow's own limit replaces the global one of the same kind, larger
 * or smaller; kinds it leaves unset fall back to the global ones; the
 * global --retain-bytes caps all workflows together; running runs stay.
 * Applied at start and on the retention timer.  The history is written
 * through the store beforehand (no waiting for schedules).
 */
#include <criterion/criterion.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "picoflow/store.h"
#include "../lib/daemon_harness.h"

TestSuite(retention, .init = dt_setup, .fini = dt_teardown, .timeout = 180);

#define DAY_MS	INT64_C(86400000)
#define OUT	400	/* bytes of output of every run */

/* A finished run of workflow name started at `start`, OUT bytes. */
static int64_t
add_run(struct pf_store *st, const char *name, int64_t start)
{
	static char		 out[OUT];
	struct store_run_start	 rs;
	struct store_attempt_end e;
	struct pf_err		 err;
	int64_t			 wf, id, att;

	memset(out, 'o', sizeof(out));
	cr_assert_eq(store_workflow_upsert(st, name, NULL, NULL, NULL, &wf,
	    &err), 0, "%s", err.msg);
	memset(&rs, 0, sizeof(rs));
	rs.workflow_id = wf;
	rs.trigger = "cron";
	rs.started_ms = start;
	rs.scheduled_ms = -1;
	rs.owner = STORE_OWNER_SUPERVISOR;
	cr_assert_eq(store_run_start(st, &rs, &id, NULL, &err), 0, "%s",
	    err.msg);
	cr_assert_eq(store_attempt_begin(st, id, "t", 1, start, &att, &err),
	    0, "%s", err.msg);
	store_attempt_end_init(&e);
	e.status = PF_STATUS_SUCCESS;
	e.ended_ms = start + 1;
	e.stdout_data = out;
	e.stdout_len = OUT;
	cr_assert_eq(store_attempt_end(st, att, &e, &err), 0, "%s", err.msg);
	cr_assert_eq(store_run_end(st, id, PF_STATUS_SUCCESS,
	    start + 1, NULL, &err),
	    0, "%s", err.msg);
	return id;
}

static struct pf_store *
open_db(void)
{
	struct pf_store	*st;
	struct pf_err	 err;

	cr_assert_eq(store_open(dt_db, STORE_RW, &st, &err), 0, "%s",
	    err.msg);
	return st;
}

static int64_t
finished(const char *wf)
{
	char	 q[512];

	snprintf(q, sizeof(q), "SELECT count(*) FROM executions e JOIN "
	    "workflows w ON w.id = e.workflow_id WHERE w.name = '%s' AND "
	    "e.status = 'success'", wf);
	return dt_int(q);
}

static void
wf_file(const char *name, const char *retention)
{
	char	 file[64];

	snprintf(file, sizeof(file), "%s.yaml", name);
	dt_wf(file, "name: %s\n%stasks: []\n", name, retention);
}

/*
 * Global limits: 5 days, 4 runs per workflow, no byte cap.
 *  keep2:  max_runs 2 (smaller)          -> newest 2; the old running run stays
 *  young:  max_age 1d (smaller), runs 4  -> the recent 4 of 6
 *  old:    max_age 30d, max_runs 100     -> all 8 (larger than both globals)
 *  bytes:  max_output 1000               -> newest 2 (800 bytes)
 *  plain:  none                          -> global: recent 4 of 6
 * Then a restart with --retain-bytes 3000: the newest runs of all
 * workflows together whose output fits (7 x 400 = 2800).
 */
Test(retention, per_workflow_limits_replace_the_global_ones)
{
	static const char *const names[] = { "keep2", "young", "old",
	    "bytes", "plain" };
	struct pf_store		*st;
	struct store_run_start	 rs;
	struct pf_err		 err;
	int64_t			 now = dt_now_ms(), id, wf;
	char			*newest7, *left;
	size_t			 k;
	int			 i;

	st = open_db();
	for (k = 0; k < 5; k++) {
		/* 2 runs 10 days old, 6 in the last hour; distinct times. */
		for (i = 0; i < 8; i++)
			add_run(st, names[k], i < 2 ?
			    now - 10 * DAY_MS + i * 1000 + (int64_t)k :
			    now - 3600000 + i * 60000 + (int64_t)k * 1000);
	}
	/* An old run of keep2 still in progress in a live process (us). */
	cr_assert_eq(store_workflow_upsert(st, "keep2", NULL, NULL, NULL, &wf,
	    &err), 0);
	memset(&rs, 0, sizeof(rs));
	rs.workflow_id = wf;
	rs.started_ms = now - 20 * DAY_MS;
	rs.scheduled_ms = -1;
	rs.owner = STORE_OWNER_RUN;
	cr_assert_eq(store_run_start(st, &rs, &id, NULL, &err), 0);
	store_close(st);

	wf_file("keep2", "config:\n  retention: {max_runs: 2}\n");
	wf_file("young", "config:\n  retention:\n    max_age: 1d\n");
	wf_file("old", "config:\n  retention: {max_age: 30d, "
	    "max_runs: 100}\n");
	wf_file("bytes", "config:\n  retention: {max_output: 1000}\n");
	wf_file("plain", "");
	dt_start("--retain-days 5 --retain-runs 4 --retain-bytes 0");
	dt_stop(0);

	cr_assert_eq(finished("keep2"), 2);
	cr_assert_eq(dt_int("SELECT min(started_ms) FROM executions e JOIN "
	    "workflows w ON w.id = e.workflow_id WHERE w.name = 'keep2' AND "
	    "e.status = 'success'"), now - 3600000 + 6 * 60000,
	    "the newest two");
	cr_assert_eq(dt_int("SELECT count(*) FROM executions WHERE status = "
	    "'running'"), 1, "running runs are never deleted");
	cr_assert_eq(finished("young"), 4, "own age, global count");
	cr_assert_eq(finished("old"), 8, "larger than both globals");
	cr_assert_eq(finished("bytes"), 2, "1000 bytes hold two runs");
	cr_assert_eq(finished("plain"), 4, "the global rule");
	cr_assert_eq(dt_int("SELECT count(*) FROM task_executions WHERE "
	    "execution_id NOT IN (SELECT id FROM executions)"), 0);
	cr_assert_eq(dt_int("SELECT count(*) FROM run_meta WHERE "
	    "execution_id NOT IN (SELECT id FROM executions)"), 0);
	cr_assert(dt_log_has("retention: deleted 20 finished runs"),
	    "6 + 4 + 0 + 6 + 4");

	/* The global byte cap over all workflows together. */
	newest7 = dt_str("SELECT group_concat(id) FROM (SELECT id FROM "
	    "executions WHERE status <> 'running' ORDER BY started_ms DESC, "
	    "id DESC LIMIT 7)");
	dt_start("--retain-days 5 --retain-runs 4 --retain-bytes 3000");
	dt_stop(0);
	cr_assert_eq(dt_int("SELECT total(length(stdout)) FROM "
	    "task_executions"), 7 * OUT);
	left = dt_str("SELECT group_concat(id) FROM (SELECT id FROM "
	    "executions WHERE status <> 'running' ORDER BY started_ms DESC, "
	    "id DESC)");
	cr_assert_str_eq(left, newest7, "the newest of all workflows");
	free(left);
	free(newest7);
	cr_assert_eq(dt_int("SELECT count(*) FROM executions WHERE status = "
	    "'running'"), 1);
}

/*
 * On the timer: runs added while it runs are pruned by their own rule,
 * and by the new rule after a reload changed it.
 */
Test(retention, per_workflow_limits_on_the_timer)
{
	struct pf_store	*st;
	int64_t		 now = dt_now_ms(), n = -1;
	double		 t0;
	int		 i;

	wf_file("keep2", "config:\n  retention: {max_runs: 2}\n");
	wf_file("plain", "");
	dt_start("--retain-runs 10 --retain-every 1");
	st = open_db();
	for (i = 0; i < 6; i++) {
		add_run(st, "keep2", now + i);
		add_run(st, "plain", now + i);
	}
	store_close(st);
	t0 = dt_mono();
	while (dt_mono() - t0 < 60 && (n = finished("keep2")) > 2)
		usleep(100000);
	cr_assert_eq(n, 2, "keep2 pruned to 2 by the timer");
	cr_assert_eq(finished("plain"), 6, "plain keeps up to 10");
	/* A reload brings new limits to the next pass; plain gets its own. */
	wf_file("keep2", "config:\n  retention: {max_runs: 1}\n");
	wf_file("plain", "config:\n  retention: {max_output: 800}\n");
	kill(dt_pid, SIGHUP);
	t0 = dt_mono();
	while (dt_mono() - t0 < 60 && (finished("keep2") > 1 ||
	    finished("plain") > 2))
		usleep(100000);
	dt_stop(0);
	cr_assert_eq(finished("keep2"), 1);
	cr_assert_eq(finished("plain"), 2, "800 bytes: two runs of 400");
	cr_assert_eq(dt_int("SELECT max(started_ms) FROM executions e JOIN "
	    "workflows w ON w.id = e.workflow_id WHERE w.name = 'keep2'"),
	    now + 5);
	cr_assert_eq(dt_int("SELECT min(started_ms) FROM executions e JOIN "
	    "workflows w ON w.id = e.workflow_id WHERE w.name = 'plain'"),
	    now + 4);
}
