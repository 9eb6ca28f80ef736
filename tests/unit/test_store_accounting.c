/*
 * Schema version 2: the cgroup accounting of each attempt (OOM kills,
 * pids peak, refused forks, cpu throttling).  Exact round trips, unknown
 * values, hostile values in the file, and the migration from a version 1
 * database (read as it is by read-only handles, migrated by the first
 * writer) and from the Rust PicoFlow's schema.
 */
#include <criterion/criterion.h>

#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "picoflow/alloc.h"
#include "picoflow/store.h"
#include "../lib/proc.h"
#include "../lib/store_fixture.h"
#include "../lib/faultloop.h"

TestSuite(storeacct, .init = store_fx_setup, .fini = store_fx_teardown);

struct acct {
	int64_t	 oom, peak, denied, thr, thr_us;
};

/* A run of workflow "w" with one ended attempt carrying acct. */
static int64_t
write_attempt(struct pf_store *st, const struct acct *ac, int64_t *att)
{
	struct store_attempt_end e;
	struct pf_err		 err;
	int64_t			 wf, run;

	cr_assert_eq(store_workflow_upsert(st, "w", NULL, NULL, NULL, &wf,
	    &err), 0, "%s", err.msg);
	cr_assert_eq(store_run_begin(st, wf, "manual", T0, &run, &err), 0);
	cr_assert_eq(store_attempt_begin(st, run, "t", 1, T0, att, &err), 0);
	store_attempt_end_init(&e);
	cr_assert_eq(e.oom_kills, -1, "init: unknown");
	cr_assert_eq(e.pids_peak, -1);
	cr_assert_eq(e.pids_denied, -1);
	cr_assert_eq(e.nr_throttled, -1);
	cr_assert_eq(e.throttled_us, -1);
	e.status = PF_STATUS_FAILED;
	e.ended_ms = T0 + 5;
	e.max_rss_kb = 4096;
	e.user_cpu_us = 10;
	e.sys_cpu_us = 20;
	e.stdout_data = "out";
	e.stdout_len = 3;
	if (ac != NULL) {
		e.oom_kills = ac->oom;
		e.pids_peak = ac->peak;
		e.pids_denied = ac->denied;
		e.nr_throttled = ac->thr;
		e.throttled_us = ac->thr_us;
	}
	cr_assert_eq(store_attempt_end(st, *att, &e, &err), 0, "%s", err.msg);
	return run;
}

static struct store_attempt *
read_one(struct pf_store *st, int64_t run, size_t *n)
{
	struct store_attempt	*a;
	struct pf_err		 err;

	cr_assert_eq(store_attempts_list(st, run, NULL, 1, &a, n, &err), 0,
	    "%s", err.msg);
	cr_assert_eq(*n, 1);
	return a;
}

static void
check_acct(const struct store_attempt *a, int64_t oom, int64_t peak,
    int64_t denied, int64_t thr, int64_t thr_us)
{
	cr_assert_eq(a->oom_kills, oom, "oom_kills %lld",
	    (long long)a->oom_kills);
	cr_assert_eq(a->pids_peak, peak);
	cr_assert_eq(a->pids_denied, denied);
	cr_assert_eq(a->nr_throttled, thr);
	cr_assert_eq(a->throttled_us, thr_us);
	/* The version 1 columns are unaffected. */
	cr_assert_eq(a->max_rss_kb, 4096);
	cr_assert_eq(a->user_cpu_us, 10);
	cr_assert_eq(a->sys_cpu_us, 20);
	cr_assert_eq(a->stdout_len, 3);
	cr_assert_eq(memcmp(a->stdout_data, "out", 3), 0);
	cr_assert_str_eq(a->status, "failed");
}

Test(storeacct, round_trip_exact_values)
{
	struct pf_store		*st = store_fx_open(STORE_RW), *ro;
	struct store_attempt	*a;
	struct acct		 ac = { 1, 64, 12345, 7, 9000000000LL };
	int64_t			 att, run;
	size_t			 n;

	cr_assert_eq(store_schema_version(st), STORE_SCHEMA_VERSION);
	run = write_attempt(st, &ac, &att);
	a = read_one(st, run, &n);
	check_acct(a, 1, 64, 12345, 7, INT64_C(9000000000));
	store_attempts_free(a, n);
	store_close(st);
	/* Read-only readers see the same. */
	ro = store_fx_open(STORE_RO);
	a = read_one(ro, run, &n);
	check_acct(a, 1, 64, 12345, 7, INT64_C(9000000000));
	store_attempts_free(a, n);
	store_close(ro);
	cr_assert_eq(store_fx_int("PRAGMA user_version"), STORE_SCHEMA_VERSION);
	cr_assert_eq(store_fx_int("SELECT pids_denied FROM task_executions"),
	    12345);
}

/* 0 is a value, -1 (any negative) unknown, stored as NULL. */
Test(storeacct, zero_is_known_negative_is_unknown)
{
	struct pf_store		*st = store_fx_open(STORE_RW);
	struct store_attempt	*a;
	struct acct		 ac = { 0, 0, -1, -7, 0 };
	int64_t			 att, run;
	size_t			 n;

	run = write_attempt(st, &ac, &att);
	a = read_one(st, run, &n);
	check_acct(a, 0, 0, -1, -1, 0);
	store_attempts_free(a, n);
	store_close(st);
	cr_assert_eq(store_fx_int("SELECT pids_denied FROM task_executions"),
	    -2, "NULL in the file");
	cr_assert_eq(store_fx_int("SELECT nr_throttled FROM task_executions"),
	    -2);
	cr_assert_eq(store_fx_int("SELECT oom_kills FROM task_executions"), 0);
}

/* Attempts that never ended, or were skipped, have no accounting. */
Test(storeacct, running_and_skipped_rows_are_unknown)
{
	struct pf_store		*st = store_fx_open(STORE_RW);
	struct store_attempt	*a;
	struct pf_err		 err;
	int64_t			 wf, run, att;
	size_t			 n, i;

	cr_assert_eq(store_workflow_upsert(st, "w", NULL, NULL, NULL, &wf,
	    &err), 0);
	cr_assert_eq(store_run_begin(st, wf, NULL, T0, &run, &err), 0);
	cr_assert_eq(store_attempt_begin(st, run, "t", 1, T0, &att, &err), 0);
	cr_assert_eq(store_task_skipped(st, run, "u", "dep", T0 + 1, &err), 0);
	cr_assert_eq(store_attempts_list(st, run, NULL, 0, &a, &n, &err), 0);
	cr_assert_eq(n, 2);
	for (i = 0; i < n; i++) {
		cr_assert_eq(a[i].oom_kills, -1);
		cr_assert_eq(a[i].pids_peak, -1);
		cr_assert_eq(a[i].pids_denied, -1);
		cr_assert_eq(a[i].nr_throttled, -1);
		cr_assert_eq(a[i].throttled_us, -1);
	}
	store_attempts_free(a, n);
	store_close(st);
}

/* Values from the file are not trusted: negatives and text read unknown. */
Test(storeacct, hostile_values_in_the_file)
{
	struct pf_store		*st = store_fx_open(STORE_RW);
	struct store_attempt	*a;
	struct acct		 ac = { 1, 2, 3, 4, 5 };
	int64_t			 att, run;
	size_t			 n;

	run = write_attempt(st, &ac, &att);
	store_close(st);
	store_fx_exec("UPDATE task_executions SET oom_kills = -5, pids_peak = "
	    "'lots', pids_denied = -9223372036854775808, nr_throttled = "
	    "9223372036854775807, throttled_us = 1.5");
	st = store_fx_open(STORE_RO);
	a = read_one(st, run, &n);
	cr_assert_eq(a->oom_kills, -1, "negative");
	cr_assert_eq(a->pids_peak, -1, "text is no count");
	cr_assert_eq(a->pids_denied, -1, "INT64_MIN");
	cr_assert_eq(a->nr_throttled, INT64_MAX, "large but a count");
	cr_assert_eq(a->throttled_us, -1, "a real is no count");
	store_attempts_free(a, n);
	store_close(st);
}

/*
 * A version 1 database: its attempts lack the new columns.  A read-only
 * handle reads it as it is (accounting unknown); the first writer adds
 * the columns in one transaction, keeps every row, and new attempts
 * carry accounting.
 */
static int64_t
make_v1(int64_t *att)
{
	struct pf_store	*st = store_fx_open(STORE_RW);
	struct acct	 ac = { 1, 2, 3, 4, 5 };
	int64_t		 run;

	run = write_attempt(st, &ac, att);
	store_close(st);
	store_fx_exec("ALTER TABLE task_executions DROP COLUMN oom_kills; "
	    "ALTER TABLE task_executions DROP COLUMN pids_peak; "
	    "ALTER TABLE task_executions DROP COLUMN pids_denied; "
	    "ALTER TABLE task_executions DROP COLUMN nr_throttled; "
	    "ALTER TABLE task_executions DROP COLUMN throttled_us; "
	    "PRAGMA user_version = 1");
	cr_assert_eq(store_fx_int("SELECT count(*) FROM pragma_table_info("
	    "'task_executions') WHERE name = 'oom_kills'"), 0);
	return run;
}

Test(storeacct, version_1_is_read_as_it_is_and_migrated_by_a_writer)
{
	struct pf_store		*st, *ro;
	struct store_attempt	*a;
	struct acct		 ac = { 2, 30, 0, 1, 100 };
	int64_t			 att, run, run2, att2;
	size_t			 n;

	run = make_v1(&att);
	ro = store_fx_open(STORE_RO);
	cr_assert_eq(store_schema_version(ro), 1);
	a = read_one(ro, run, &n);
	check_acct(a, -1, -1, -1, -1, -1);
	store_attempts_free(a, n);
	/* A writer migrates while the reader is open. */
	st = store_fx_open(STORE_RW);
	cr_assert_eq(store_schema_version(st), STORE_SCHEMA_VERSION);
	a = read_one(st, run, &n);
	check_acct(a, -1, -1, -1, -1, -1);
	store_attempts_free(a, n);
	run2 = write_attempt(st, &ac, &att2);
	cr_assert_eq(run2, run + 1, "ids go on");
	a = read_one(st, run2, &n);
	check_acct(a, 2, 30, 0, 1, 100);
	store_attempts_free(a, n);
	store_close(st);
	/* The old reader still works (it keeps reading without them). */
	a = read_one(ro, run, &n);
	cr_assert_eq(a->max_rss_kb, 4096);
	store_attempts_free(a, n);
	store_close(ro);
	cr_assert_eq(store_fx_int("PRAGMA user_version"), STORE_SCHEMA_VERSION);
	cr_assert_eq(store_fx_int("SELECT count(*) FROM pragma_table_info("
	    "'task_executions') WHERE name IN ('oom_kills', 'pids_peak', "
	    "'pids_denied', 'nr_throttled', 'throttled_us')"), 5);
	cr_assert_eq(store_fx_int("SELECT count(*) FROM task_executions"), 2);
	/* A fresh read-only handle reads the migrated file. */
	ro = store_fx_open(STORE_RO);
	cr_assert_eq(store_schema_version(ro), STORE_SCHEMA_VERSION);
	a = read_one(ro, run2, &n);
	check_acct(a, 2, 30, 0, 1, 100);
	store_attempts_free(a, n);
	store_close(ro);
}

/* Some of the columns there already (a half-done hand edit): completed. */
Test(storeacct, partly_present_columns_are_completed)
{
	struct pf_store		*st;
	struct store_attempt	*a;
	int64_t			 att, run;
	size_t			 n;

	run = make_v1(&att);
	store_fx_exec("ALTER TABLE task_executions ADD COLUMN pids_peak "
	    "INTEGER; UPDATE task_executions SET pids_peak = 9");
	st = store_fx_open(STORE_RW);
	a = read_one(st, run, &n);
	check_acct(a, -1, 9, -1, -1, -1);
	store_attempts_free(a, n);
	store_close(st);
	cr_assert_eq(store_fx_int("PRAGMA user_version"), STORE_SCHEMA_VERSION);
}

/* The Rust schema goes to the current version in one step, old rows unknown. */
Test(storeacct, rust_schema_migrates_to_version_2)
{
	struct pf_store		*st;
	struct store_attempt	*a;
	struct pf_err		 err;
	char			 fixture[1024], *sql;
	FILE			*fp;
	long			 len;
	size_t			 n, i;

	snprintf(fixture, sizeof(fixture), "%s/tests/fixtures/rustdb/"
	    "rust_schema.sql", PF_SRC_DIR);
	cr_assert_not_null(fp = fopen(fixture, "r"), "%s", fixture);
	fseek(fp, 0, SEEK_END);
	len = ftell(fp);
	rewind(fp);
	sql = calloc(1, (size_t)len + 1);
	cr_assert_eq(fread(sql, 1, (size_t)len, fp), (size_t)len);
	fclose(fp);
	store_fx_exec(sql);
	free(sql);
	cr_assert_eq(store_open(store_fx_db, STORE_RO, &st, &err), -1);
	cr_assert(strstr(err.msg, "older schema (version 0)") != NULL, "%s",
	    err.msg);
	st = store_fx_open(STORE_RW);
	cr_assert_eq(store_schema_version(st), STORE_SCHEMA_VERSION);
	cr_assert_eq(store_attempts_list(st, 2, NULL, 0, &a, &n, &err), 0,
	    "%s", err.msg);
	cr_assert_eq(n, 2);
	for (i = 0; i < n; i++) {
		cr_assert_eq(a[i].oom_kills, -1);
		cr_assert_eq(a[i].throttled_us, -1);
	}
	cr_assert_eq(a[0].attempt, 1);
	store_attempts_free(a, n);
	store_close(st);
	cr_assert_eq(store_fx_int("PRAGMA user_version"), STORE_SCHEMA_VERSION);
	cr_assert_eq(store_fx_int("SELECT count(*) FROM pragma_table_info("
	    "'task_executions') WHERE name = 'throttled_us'"), 1);
}

/* A file from a later PicoFlow (version 99) is refused both ways. */
Test(storeacct, a_newer_version_is_refused)
{
	struct pf_store	*st = store_fx_open(STORE_RW);
	struct pf_err	 err;

	store_close(st);
	store_fx_exec("PRAGMA user_version = 99");
	cr_assert_eq(store_open(store_fx_db, STORE_RO, &st, &err), -1);
	cr_assert(strstr(err.msg, "schema version 99 was written by a newer "
	    "PicoFlow (this one knows up to 4)") != NULL, "%s", err.msg);
	cr_assert_eq(store_open(store_fx_db, STORE_RW, &st, &err), -1);
	cr_assert(strstr(err.msg, "schema version 99") != NULL, "%s", err.msg);
	cr_assert_eq(store_fx_int("PRAGMA user_version"), 99, "left untouched");
}

/* Reading the new columns under every failing allocation. */
Test(storeacct, allocation_failures_reading)
{
	struct pf_store		*st = store_fx_open(STORE_RW);
	struct store_attempt	*a;
	struct pf_err		 err;
	struct acct		 ac = { 1, 2, 3, 4, 5 };
	int64_t			 att, run;
	struct faultloop	 fl;
	size_t			 n;
	int			 ok;

	run = write_attempt(st, &ac, &att);
	for (FAULTLOOP_MODES(m)) {
		for (faultloop_init(&fl, m); faultloop_next(&fl); ) {
			ok = store_attempts_list(st, run, NULL, 1, &a, &n,
			    &err) == 0;
			cr_assert(ok || faultloop_met(&fl));
			if (ok) {
				cr_assert_eq(n, 1);
				check_acct(a, 1, 2, 3, 4, 5);
				store_attempts_free(a, n);
			} else {
				cr_assert_null(a);
				cr_assert_eq(n, 0);
				cr_assert_str_eq(err.msg, "out of memory "
				    "reading task attempts");
			}
		}
		cr_assert(!fl.exhausted);
		cr_assert_gt(fl.n, 0, "an allocation did fail");
	}
	store_close(st);
}
