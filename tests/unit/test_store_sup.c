/*
 * The store functions the supervisor needs (run_meta, attempt_procs,
 * runs in flight, retention by bytes): exact values, the unique fire,
 * cascades, and a database that predates the side tables.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "picoflow/store.h"
#include "../lib/proc.h"
#include "../lib/store_fixture.h"

TestSuite(storesup, .init = store_fx_setup, .fini = store_fx_teardown);

static int64_t
start(struct pf_store *st, int64_t wf, int64_t when, int64_t sched,
    const char *owner, int *dup)
{
	struct store_run_start	 rs;
	struct pf_err		 err;
	int64_t			 id = -7;

	memset(&rs, 0, sizeof(rs));
	rs.workflow_id = wf;
	rs.trigger = "cron";
	rs.started_ms = when;
	rs.scheduled_ms = sched;
	rs.owner = owner;
	cr_assert_eq(store_run_start(st, &rs, &id, dup, &err), 0, "%s",
	    err.msg);
	return id;
}

Test(storesup, a_fire_begins_one_run)
{
	struct pf_store	*st = store_fx_open(STORE_RW);
	struct pf_err	 err;
	int64_t		 wf, wf2, a, b, c;
	int		 dup = -1;

	cr_assert_eq(store_workflow_upsert(st, "w", NULL, NULL, NULL, &wf,
	    &err), 0);
	cr_assert_eq(store_workflow_upsert(st, "w2", NULL, NULL, NULL, &wf2,
	    &err), 0);
	a = start(st, wf, 1000, 60000, STORE_OWNER_SUPERVISOR, &dup);
	cr_assert_eq(dup, 0);
	b = start(st, wf, 2000, 60000, STORE_OWNER_SUPERVISOR, &dup);
	cr_assert_eq(dup, 1);
	cr_assert_eq(b, a, "the earlier run's id");
	/* Same time, other workflow: a different fire. */
	c = start(st, wf2, 2000, 60000, STORE_OWNER_SUPERVISOR, &dup);
	cr_assert_eq(dup, 0);
	cr_assert_neq(c, a);
	/* No scheduled time: never a duplicate. */
	b = start(st, wf, 3000, -1, NULL, &dup);
	cr_assert_eq(dup, 0);
	c = start(st, wf, 3000, -1, NULL, NULL);
	cr_assert_neq(b, c);
	store_close(st);
	cr_assert_eq(store_fx_int("SELECT count(*) FROM executions"), 4);
	cr_assert_eq(store_fx_int("SELECT count(*) FROM run_meta WHERE owner = "
	    "'run'"), 2, "NULL owner means picoflow run");
	cr_assert_eq(store_fx_int("SELECT count(*) FROM executions WHERE pid = "
	    "0 OR pid IS NULL"), 0);
	/* The rollback of a duplicate left no half-written row. */
	cr_assert_eq(store_fx_int("SELECT count(*) FROM executions e LEFT JOIN "
	    "run_meta m ON m.execution_id = e.id WHERE m.execution_id IS "
	    "NULL"), 0);
}

Test(storesup, runs_in_flight_with_their_processes)
{
	struct pf_store			*st = store_fx_open(STORE_RW);
	struct store_inflight		*v;
	struct store_attempt_proc	*a;
	struct store_procs		 p;
	struct pf_err			 err;
	int64_t				 wf, r1, r2, r3, a1, a2, a3;
	size_t				 n, na;

	cr_assert_eq(store_workflow_upsert(st, "w", NULL, NULL, NULL, &wf,
	    &err), 0);
	r1 = start(st, wf, 1000, 5000, STORE_OWNER_SUPERVISOR, NULL);
	r2 = start(st, wf, 2000, -1, STORE_OWNER_RUN, NULL);
	r3 = start(st, wf, 3000, 6000, STORE_OWNER_SUPERVISOR, NULL);
	cr_assert_eq(store_run_end(st, r3, PF_STATUS_SUCCESS,
	    3500, NULL, &err), 0);
	cr_assert_eq(store_attempt_begin(st, r1, "t1", 1, 1100, &a1, &err), 0);
	cr_assert_eq(store_attempt_begin(st, r1, "t2", 2, 1200, &a2, &err), 0);
	cr_assert_eq(store_attempt_begin(st, r1, "t3", 1, 1300, &a3, &err), 0);
	p.worker_pid = 4000;
	p.worker_start = 123456;
	p.task_pid = 4001;
	p.task_start = 123460;
	cr_assert_eq(store_attempt_procs(st, a1, &p, &err), 0, "%s", err.msg);
	/* Replaced, not added; a missing task is stored as NULL. */
	p.task_pid = -1;
	cr_assert_eq(store_attempt_procs(st, a1, &p, &err), 0);
	p.task_pid = 4002;
	p.task_start = 99;
	cr_assert_eq(store_attempt_procs(st, a2, &p, &err), 0);
	cr_assert_eq(store_attempt_procs(st, 999, &p, &err), -1);
	cr_assert(strstr(err.msg, "no task attempt with id 999") != NULL,
	    "%s", err.msg);
	{
		struct store_attempt_end e;

		store_attempt_end_init(&e);
		e.status = PF_STATUS_SUCCESS;
		e.ended_ms = 1400;
		cr_assert_eq(store_attempt_end(st, a3, &e, &err), 0);
	}

	cr_assert_eq(store_runs_inflight(st, &v, &n, &err), 0, "%s", err.msg);
	cr_assert_eq(n, 2);
	cr_assert_eq(v[0].id, r1);
	cr_assert_str_eq(v[0].workflow, "w");
	cr_assert_str_eq(v[0].owner, "supervisor");
	cr_assert_eq(v[0].scheduled_ms, 5000);
	cr_assert_eq(v[0].pid, (int64_t)getpid());
	cr_assert_str_eq(v[0].trigger, "cron");
	cr_assert_eq(v[0].started_ms, 1000);
	cr_assert_eq(v[1].id, r2);
	cr_assert_str_eq(v[1].owner, "run");
	cr_assert_eq(v[1].scheduled_ms, -1);
	store_inflight_free(v, n);

	cr_assert_eq(store_attempts_inflight(st, r1, &a, &na, &err), 0);
	cr_assert_eq(na, 2, "the ended attempt is not in flight");
	cr_assert_eq(a[0].id, a1);
	cr_assert_str_eq(a[0].task_name, "t1");
	cr_assert_eq(a[0].attempt, 1);
	cr_assert_eq(a[0].procs.worker_pid, 4000);
	cr_assert_eq(a[0].procs.worker_start, 123456);
	cr_assert_eq(a[0].procs.task_pid, -1);
	cr_assert_eq(a[1].attempt, 2);
	cr_assert_eq(a[1].procs.task_pid, 4002);
	cr_assert_eq(a[1].procs.task_start, 99);
	store_attempts_inflight_free(a, na);
	cr_assert_eq(store_attempts_inflight(st, r2, &a, &na, &err), 0);
	cr_assert_eq(na, 0);
	store_attempts_inflight_free(a, na);
	store_close(st);

	/* Pids from the file are not trusted blindly. */
	{
		sqlite3	*h;

		cr_assert_eq(sqlite3_open(store_fx_db, &h), SQLITE_OK);
		cr_assert_eq(sqlite3_exec(h, "UPDATE attempt_procs SET "
		    "worker_pid = 1, task_pid = 99999999999", NULL, NULL,
		    NULL), SQLITE_OK);
		sqlite3_close(h);
	}
	st = store_fx_open(STORE_RW);
	cr_assert_eq(store_attempts_inflight(st, r1, &a, &na, &err), 0);
	cr_assert_eq(a[0].procs.worker_pid, -1, "pid 1 is never ours");
	cr_assert_eq(a[1].procs.task_pid, -1);
	store_attempts_inflight_free(a, na);
	store_close(st);
}

/* Byte retention: newest first, running runs untouched, rows cascade. */
Test(storesup, prune_by_bytes)
{
	struct pf_store		*st = store_fx_open(STORE_RW);
	struct store_attempt_end e;
	struct pf_err		 err;
	char			 out[1000];
	int64_t			 wf, r, a, del, bytes;
	int			 i;

	memset(out, 'o', sizeof(out));
	cr_assert_eq(store_workflow_upsert(st, "w", NULL, NULL, NULL, &wf,
	    &err), 0);
	for (i = 0; i < 6; i++) {
		r = start(st, wf, 1000 * (i + 1), 1000 * (i + 1),
		    STORE_OWNER_SUPERVISOR, NULL);
		cr_assert_eq(store_attempt_begin(st, r, "t", 1, 1000 * (i + 1),
		    &a, &err), 0);
		store_attempt_end_init(&e);
		e.status = PF_STATUS_SUCCESS;
		e.ended_ms = 1000 * (i + 1) + 1;
		e.stdout_data = out;
		e.stdout_len = 600;
		e.stderr_data = out;
		e.stderr_len = 400;
		cr_assert_eq(store_attempt_procs(st, a, &(struct store_procs){
		    10, 1, 11, 2 }, &err), 0);
		cr_assert_eq(store_attempt_end(st, a, &e, &err), 0);
		if (i != 0)
			cr_assert_eq(store_run_end(st, r, PF_STATUS_SUCCESS,
			    e.ended_ms, NULL, &err), 0);
	}
	cr_assert_eq(store_output_bytes(st, &bytes, &err), 0);
	cr_assert_eq(bytes, 6000);
	/* Keep 2500 bytes: the newest two finished runs (2000) stay. */
	cr_assert_eq(store_prune_bytes(st, 2500, &del, &err), 0, "%s",
	    err.msg);
	cr_assert_eq(del, 3, "runs 2, 3, 4 go; run 1 is still running");
	cr_assert_eq(store_output_bytes(st, &bytes, &err), 0);
	cr_assert_eq(bytes, 3000);
	cr_assert_eq(store_prune_bytes(st, 2500, &del, &err), 0);
	cr_assert_eq(del, 0, "nothing more to do");
	cr_assert_eq(store_prune_bytes(st, 0, &del, &err), 0);
	cr_assert_eq(del, 0, "0 = no limit");
	cr_assert_eq(store_checkpoint(st, &err), 0, "%s", err.msg);
	store_close(st);
	cr_assert_eq(store_fx_int("SELECT group_concat(id) = '1,5,6' FROM "
	    "(SELECT id FROM executions ORDER BY id)"), 1);
	cr_assert_eq(store_fx_int("SELECT count(*) FROM run_meta"), 3);
	cr_assert_eq(store_fx_int("SELECT count(*) FROM attempt_procs"), 3);
	cr_assert_eq(store_fx_int("PRAGMA foreign_key_check"), -999,
	    "no rows");
}

/* A version-1 database written before the side tables gets them. */
Test(storesup, older_v1_database_gains_the_side_tables)
{
	struct pf_store	*st = store_fx_open(STORE_RW), *ro;
	struct pf_err	 err;
	int64_t		 wf, r;
	int		 dup;
	sqlite3		*h;

	cr_assert_eq(store_workflow_upsert(st, "w", NULL, NULL, NULL, &wf,
	    &err), 0);
	cr_assert_eq(store_run_begin(st, wf, "manual", 1000, &r, &err), 0);
	store_close(st);
	cr_assert_eq(sqlite3_open(store_fx_db, &h), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(h, "DROP TABLE run_meta; DROP TABLE "
	    "attempt_procs", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);
	/* Read-only readers do not need them. */
	cr_assert_eq(store_open(store_fx_db, STORE_RO, &ro, &err), 0, "%s",
	    err.msg);
	store_close(ro);
	st = store_fx_open(STORE_RW);
	cr_assert_eq(store_fx_int("PRAGMA user_version"), STORE_SCHEMA_VERSION);
	r = start(st, wf, 2000, 7000, STORE_OWNER_SUPERVISOR, &dup);
	cr_assert_eq(dup, 0);
	store_close(st);
	cr_assert_eq(store_fx_int("SELECT count(*) FROM run_meta"), 1);
}
