/*
 * The state store: creation and modes, every write, the read API, the
 * migration of a Rust PicoFlow database, concurrency, crash durability,
 * hostile files and allocation failures.  Every test ends by checking the
 * file with PRAGMA integrity_check and foreign_key_check.
 */
#include <criterion/criterion.h>

#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "picoflow/alloc.h"
#include "picoflow/err.h"
#include "picoflow/store.h"
#include "../lib/faultloop.h"

#define T0	INT64_C(1709517600000)	/* 2024-03-04T02:00:00Z */

static char	 tmpdir[256];
static char	 dbpath[512];

static int
rm_cb(const char *p, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb; (void)type; (void)ftw;
	return remove(p);
}

static void
setup(void)
{
	strcpy(tmpdir, "/tmp/pf-store-XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
	snprintf(dbpath, sizeof(dbpath), "%s/state/picoflow.db", tmpdir);
}

static void
teardown(void)
{
	pf_alloc_fail_after(-1);
	(void)nftw(tmpdir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* Raw SQLite access to check what the store wrote. */
static sqlite3 *
raw_open(const char *path)
{
	sqlite3	*db = NULL;

	cr_assert_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL),
	    SQLITE_OK, "raw open %s", path);
	sqlite3_busy_timeout(db, 5000);
	return db;
}

static int64_t
raw_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt	*s;
	int64_t		 v = -999;

	cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK,
	    "%s: %s", sql, sqlite3_errmsg(db));
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

/* First column of the first row as a string (static buffer). */
static const char *
raw_str(sqlite3 *db, const char *sql)
{
	static char	 buf[1024];
	sqlite3_stmt	*s;

	cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK,
	    "%s: %s", sql, sqlite3_errmsg(db));
	strcpy(buf, "<no row>");
	if (sqlite3_step(s) == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(s, 0);

		snprintf(buf, sizeof(buf), "%s", t ? (const char *)t : "<null>");
	}
	sqlite3_finalize(s);
	return buf;
}

static void
check_integrity(const char *path)
{
	sqlite3	*db = raw_open(path);

	cr_assert_str_eq(raw_str(db, "PRAGMA integrity_check"), "ok");
	cr_assert_str_eq(raw_str(db, "PRAGMA foreign_key_check"), "<no row>");
	sqlite3_close(db);
}

static struct pf_store *
open_rw(void)
{
	struct pf_store	*st = NULL;
	struct pf_err	 err;

	pf_err_clear(&err);
	cr_assert_eq(store_open(dbpath, STORE_RW, &st, &err), 0, "%s",
	    err.msg);
	cr_assert_not_null(st);
	return st;
}

static void
load_rust_fixture(const char *path)
{
	char	 fixture[1024];
	FILE	*fp;
	char	*sql;
	long	 len;
	sqlite3	*db = NULL;
	char	*emsg = NULL;

	snprintf(fixture, sizeof(fixture), "%s/tests/fixtures/rustdb/"
	    "rust_schema.sql", PF_SRC_DIR);
	cr_assert_not_null(fp = fopen(fixture, "r"), "%s", fixture);
	fseek(fp, 0, SEEK_END);
	len = ftell(fp);
	rewind(fp);
	sql = calloc(1, (size_t)len + 1);
	cr_assert_eq(fread(sql, 1, (size_t)len, fp), (size_t)len);
	fclose(fp);
	mkdir(tmpdir, 0700);
	{
		char	 dir[600];

		snprintf(dir, sizeof(dir), "%s/state", tmpdir);
		mkdir(dir, 0700);
	}
	cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(db, sql, NULL, NULL, &emsg), SQLITE_OK,
	    "%s", emsg ? emsg : "?");
	sqlite3_close(db);
	free(sql);
}

static void
write_file(const char *path, const void *data, size_t len)
{
	int	 fd;

	cr_assert((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) >= 0);
	cr_assert_eq(write(fd, data, len), (ssize_t)len);
	close(fd);
}

/* One workflow, one run, two attempts of "a", a skipped "b". */
struct fixture_ids {
	int64_t	 wf, run, a1, a2;
};

static void
write_sample(struct pf_store *st, struct fixture_ids *ids)
{
	struct store_attempt_end e;
	struct pf_err		 err;
	static const char	 out[] = "line one\n\0binary\xff tail";

	cr_assert_eq(store_workflow_upsert(st, "nightly", "/etc/pf/n.yaml",
	    "0 0 2 * * *", "the nightly job", &ids->wf, &err), 0, "%s",
	    err.msg);
	cr_assert_eq(store_run_begin(st, ids->wf, "cron", T0, &ids->run,
	    &err), 0, "%s", err.msg);
	cr_assert_eq(store_attempt_begin(st, ids->run, "a", 1, T0 + 10,
	    &ids->a1, &err), 0, "%s", err.msg);
	store_attempt_end_init(&e);
	e.status = PF_STATUS_FAILED;
	e.has_exit_code = 1;
	e.exit_code = 3;
	e.ended_ms = T0 + 1210;
	e.duration_ms = 1200;
	e.max_rss_kb = 2048;
	e.user_cpu_us = 1500;
	e.sys_cpu_us = 700;
	e.bytes_captured = sizeof(out) - 1;
	e.bytes_dropped = 0;
	e.reason = "exit status 3";
	e.stdout_data = out;
	e.stdout_len = sizeof(out) - 1;
	e.stderr_data = "oops\n";
	e.stderr_len = 5;
	cr_assert_eq(store_attempt_end(st, ids->a1, &e, &err), 0, "%s",
	    err.msg);
	cr_assert_eq(store_attempt_begin(st, ids->run, "a", 2, T0 + 2000,
	    &ids->a2, &err), 0, "%s", err.msg);
	store_attempt_end_init(&e);
	e.status = PF_STATUS_SUCCESS;
	e.has_exit_code = 1;
	e.exit_code = 0;
	e.ended_ms = T0 + 2500;
	e.duration_ms = 500;
	e.bytes_captured = 11 * 1024 * 1024;
	e.bytes_dropped = 1024 * 1024;
	e.truncated = 1;
	e.http_status = 204;
	e.stdout_data = "ok";
	e.stdout_len = 2;
	cr_assert_eq(store_attempt_end(st, ids->a2, &e, &err), 0, "%s",
	    err.msg);
	cr_assert_eq(store_task_skipped(st, ids->run, "b",
	    "dependency a failed", T0 + 2600, &err), 0, "%s", err.msg);
	cr_assert_eq(store_run_end(st, ids->run, PF_STATUS_SUCCESS,
	    T0 + 3000, NULL,
	    &err), 0, "%s", err.msg);
}

TestSuite(store, .init = setup, .fini = teardown);

Test(store, create_modes_wal_and_version)
{
	struct pf_store	*st = open_rw();
	struct stat	 sb;
	char		 dir[600];
	sqlite3		*db;

	cr_assert_eq(store_schema_version(st), STORE_SCHEMA_VERSION);
	store_close(st);
	cr_assert_eq(stat(dbpath, &sb), 0);
	cr_assert_eq(sb.st_mode & 0777, 0600, "db mode %o", sb.st_mode & 0777);
	snprintf(dir, sizeof(dir), "%s/state", tmpdir);
	cr_assert_eq(stat(dir, &sb), 0);
	cr_assert_eq(sb.st_mode & 0777, 0700, "dir mode %o", sb.st_mode & 0777);
	db = raw_open(dbpath);
	cr_assert_str_eq(raw_str(db, "PRAGMA journal_mode"), "wal");
	cr_assert_eq(raw_int(db, "PRAGMA user_version"),
	    STORE_SCHEMA_VERSION);
	cr_assert_eq(raw_int(db, "SELECT count(*) FROM sqlite_master WHERE "
	    "type = 'table' AND name IN ('workflows', 'executions', "
	    "'task_executions', 'schedule_state')"), 4);
	cr_assert_eq(raw_int(db, "SELECT count(*) FROM pragma_table_info("
	    "'task_executions') WHERE name IN ('attempt', 'exit_code', "
	    "'signal', 'max_rss_kb', 'user_cpu_us', 'sys_cpu_us', "
	    "'bytes_captured', 'bytes_dropped', 'truncated', 'http_status', "
	    "'reason', 'started_ms', 'completed_ms', 'duration_ms')"), 14);
	sqlite3_close(db);
	check_integrity(dbpath);
}

Test(store, wal_files_are_private_too)
{
	struct pf_store	*st = open_rw();
	struct fixture_ids ids;
	struct stat	 sb;
	char		 p[600];
	mode_t		 old = umask(0);

	write_sample(st, &ids);
	snprintf(p, sizeof(p), "%s-wal", dbpath);
	cr_assert_eq(stat(p, &sb), 0);
	cr_assert_eq(sb.st_mode & 0077, 0, "wal mode %o", sb.st_mode & 0777);
	snprintf(p, sizeof(p), "%s-shm", dbpath);
	cr_assert_eq(stat(p, &sb), 0);
	cr_assert_eq(sb.st_mode & 0077, 0, "shm mode %o", sb.st_mode & 0777);
	umask(old);
	store_close(st);
}

Test(store, every_write_reads_back_exactly)
{
	struct pf_store		*st = open_rw();
	struct fixture_ids	 ids;
	struct store_attempt	*a;
	struct store_run	 r;
	struct pf_err		 err;
	size_t			 n;
	int			 found;
	static const char	 out[] = "line one\n\0binary\xff tail";

	write_sample(st, &ids);
	cr_assert_eq(store_run_get(st, ids.run, &r, &found, &err), 0);
	cr_assert_eq(found, 1);
	cr_assert_eq(r.id, ids.run);
	cr_assert_eq(r.workflow_id, ids.wf);
	cr_assert_str_eq(r.workflow, "nightly");
	cr_assert_str_eq(r.status, "success");
	cr_assert_str_eq(r.trigger, "cron");
	cr_assert_eq(r.started_ms, T0);
	cr_assert_eq(r.ended_ms, T0 + 3000);
	cr_assert_null(r.error);
	cr_assert_eq(r.pid, (int64_t)getpid());
	store_run_clear(&r);

	cr_assert_eq(store_attempts_list(st, ids.run, NULL, 1, &a, &n, &err),
	    0, "%s", err.msg);
	cr_assert_eq(n, 3);
	cr_assert_eq(a[0].id, ids.a1);
	cr_assert_str_eq(a[0].task_name, "a");
	cr_assert_eq(a[0].attempt, 1);
	cr_assert_str_eq(a[0].status, "failed");
	cr_assert_eq(a[0].started_ms, T0 + 10);
	cr_assert_eq(a[0].ended_ms, T0 + 1210);
	cr_assert_eq(a[0].has_exit_code, 1);
	cr_assert_eq(a[0].exit_code, 3);
	cr_assert_eq(a[0].signal, 0);
	cr_assert_eq(a[0].duration_ms, 1200);
	cr_assert_eq(a[0].max_rss_kb, 2048);
	cr_assert_eq(a[0].user_cpu_us, 1500);
	cr_assert_eq(a[0].sys_cpu_us, 700);
	cr_assert_eq(a[0].bytes_captured, (int64_t)sizeof(out) - 1);
	cr_assert_eq(a[0].bytes_dropped, 0);
	cr_assert_eq(a[0].truncated, 0);
	cr_assert_eq(a[0].http_status, 0);
	cr_assert_str_eq(a[0].reason, "exit status 3");
	cr_assert_eq(a[0].stdout_len, sizeof(out) - 1);
	cr_assert_eq(memcmp(a[0].stdout_data, out, sizeof(out) - 1), 0,
	    "binary output with NUL and 0xff survives");
	cr_assert_eq(a[0].stderr_len, 5);
	cr_assert_eq(memcmp(a[0].stderr_data, "oops\n", 5), 0);

	cr_assert_eq(a[1].attempt, 2);
	cr_assert_str_eq(a[1].status, "success");
	cr_assert_eq(a[1].truncated, 1);
	cr_assert_eq(a[1].http_status, 204);
	cr_assert_eq(a[1].bytes_captured, 11 * 1024 * 1024);
	cr_assert_eq(a[1].bytes_dropped, 1024 * 1024);
	cr_assert_eq(a[1].max_rss_kb, -1, "unknown stays unknown");
	cr_assert_eq(a[1].user_cpu_us, -1);
	cr_assert_null(a[1].reason);
	cr_assert_eq(a[1].stderr_len, 0);
	cr_assert_null(a[1].stderr_data);

	cr_assert_str_eq(a[2].task_name, "b");
	cr_assert_eq(a[2].attempt, 0);
	cr_assert_str_eq(a[2].status, "skipped");
	cr_assert_str_eq(a[2].reason, "dependency a failed");
	cr_assert_eq(a[2].started_ms, T0 + 2600);
	cr_assert_eq(a[2].ended_ms, T0 + 2600);
	cr_assert_eq(a[2].has_exit_code, 0);
	store_attempts_free(a, n);

	/* Without output, and filtered by task. */
	cr_assert_eq(store_attempts_list(st, ids.run, "a", 0, &a, &n, &err), 0);
	cr_assert_eq(n, 2);
	cr_assert_null(a[0].stdout_data);
	cr_assert_eq(a[0].stdout_len, 0);
	store_attempts_free(a, n);
	cr_assert_eq(store_attempts_list(st, ids.run, "zzz", 1, &a, &n, &err),
	    0);
	cr_assert_eq(n, 0);
	store_attempts_free(a, n);

	/* The original's columns are filled too, in its text form. */
	store_close(st);
	{
		sqlite3	*db = raw_open(dbpath);

		cr_assert_str_eq(raw_str(db, "SELECT started_at FROM "
		    "executions"), "2024-03-04 02:00:00.000+00:00");
		cr_assert_str_eq(raw_str(db, "SELECT completed_at FROM "
		    "executions"), "2024-03-04 02:00:03.000+00:00");
		cr_assert_eq(raw_int(db, "SELECT retry_count FROM "
		    "task_executions WHERE attempt = 2"), 1);
		cr_assert_str_eq(raw_str(db, "SELECT typeof(stdout) FROM "
		    "task_executions WHERE attempt = 1"), "blob");
		sqlite3_close(db);
	}
	check_integrity(dbpath);
}

Test(store, upsert_keeps_id_and_updates)
{
	struct pf_store		*st = open_rw();
	struct store_workflow	*w;
	struct pf_err		 err;
	int64_t			 id1, id2, id3;
	size_t			 n;

	cr_assert_eq(store_workflow_upsert(st, "w", "/a.yaml", "@daily",
	    "d1", &id1, &err), 0);
	cr_assert_eq(store_workflow_upsert(st, "w", "/b.yaml", NULL, NULL,
	    &id2, &err), 0);
	cr_assert_eq(store_workflow_upsert(st, "other", NULL, NULL, NULL,
	    &id3, &err), 0);
	cr_assert_eq(id1, id2);
	cr_assert_neq(id1, id3);
	cr_assert_eq(store_workflows_list(st, &w, &n, &err), 0);
	cr_assert_eq(n, 2);
	cr_assert_str_eq(w[0].name, "other");
	cr_assert_str_eq(w[1].name, "w");
	cr_assert_str_eq(w[1].file, "/b.yaml");
	cr_assert_null(w[1].schedule);
	cr_assert_null(w[1].description);
	cr_assert_eq(w[1].total, 0);
	cr_assert_eq(w[1].last_started_ms, -1);
	cr_assert_null(w[1].last_status);
	store_workflows_free(w, n);
	cr_assert_eq(store_workflow_upsert(st, "", NULL, NULL, NULL, &id3,
	    &err), -1);
	cr_assert_str_eq(err.msg, "workflow name is empty");
	store_close(st);
	check_integrity(dbpath);
}

Test(store, invalid_writes_are_refused_with_clear_errors)
{
	struct pf_store		*st = open_rw();
	struct fixture_ids	 ids;
	struct store_attempt_end e;
	struct pf_err		 err;
	int64_t			 id;

	write_sample(st, &ids);

	/* Ending twice never overwrites a recorded outcome. */
	store_attempt_end_init(&e);
	e.status = PF_STATUS_FAILED;
	e.ended_ms = T0 + 9000;
	cr_assert_eq(store_attempt_end(st, ids.a2, &e, &err), -1);
	cr_assert_str_eq(err.msg, "task attempt 2 already ended with status "
	    "'success'");
	cr_assert_eq(store_run_end(st, ids.run, PF_STATUS_FAILED,
	    T0 + 9000, "x",
	    &err), -1);
	cr_assert_str_eq(err.msg, "execution 1 already ended with status "
	    "'success'");
	cr_assert_eq(store_attempt_end(st, 999, &e, &err), -1);
	cr_assert_str_eq(err.msg, "no task attempt with id 999");
	cr_assert_eq(store_run_end(st, 999, PF_STATUS_FAILED,
	    T0, NULL, &err), -1);
	cr_assert_str_eq(err.msg, "no execution with id 999");

	/* No status, one out of range, or running never ends a row. */
	e.status = PF_STATUS__COUNT;
	cr_assert_eq(store_attempt_end(st, ids.a1, &e, &err), -1);
	cr_assert_str_eq(err.msg, "invalid final status 'unknown' for a task "
	    "attempt");
	e.status = PF_STATUS_NONE;
	cr_assert_eq(store_attempt_end(st, ids.a1, &e, &err), -1);
	e.status = PF_STATUS_RUNNING;
	cr_assert_eq(store_attempt_end(st, ids.a1, &e, &err), -1);
	cr_assert_eq(store_run_end(st, ids.run, PF_STATUS_SKIPPED, T0, NULL,
	    &err), -1);
	cr_assert_eq(store_run_end(st, ids.run, PF_STATUS_NONE, T0, NULL,
	    &err), -1);

	/* Output length without data. */
	cr_assert_eq(store_attempt_begin(st, ids.run, "c", 1, T0, &id, &err),
	    0);
	store_attempt_end_init(&e);
	e.status = PF_STATUS_SUCCESS;
	e.ended_ms = T0;
	e.stdout_len = 10;
	cr_assert_eq(store_attempt_end(st, id, &e, &err), -1);
	cr_assert_str_eq(err.msg, "task output has a length but no data");

	/* Unknown parents, bad numbers, bad times. */
	cr_assert_eq(store_run_begin(st, 424242, NULL, T0, &id, &err), -1);
	cr_assert(strstr(err.msg, "no workflow with id 424242") != NULL, "%s",
	    err.msg);
	cr_assert_eq(store_attempt_begin(st, 424242, "a", 1, T0, &id, &err),
	    -1);
	cr_assert(strstr(err.msg, "no execution with id 424242") != NULL, "%s",
	    err.msg);
	cr_assert_eq(store_task_skipped(st, 424242, "a", NULL, T0, &err), -1);
	cr_assert(strstr(err.msg, "no execution with id 424242") != NULL);
	cr_assert_eq(store_attempt_begin(st, ids.run, "a", 0, T0, &id, &err),
	    -1);
	cr_assert_str_eq(err.msg, "attempt number 0 out of range "
	    "(1..2147483647)");
	cr_assert_eq(store_attempt_begin(st, ids.run, "", 1, T0, &id, &err),
	    -1);
	cr_assert_str_eq(err.msg, "task name is empty");
	cr_assert_eq(store_run_begin(st, ids.wf, NULL, -1, &id, &err), -1);
	cr_assert_str_eq(err.msg, "start time -1 ms is out of range");
	cr_assert_eq(store_run_begin(st, ids.wf, NULL,
	    INT64_C(253402300800000), &id, &err), -1);
	/* The largest accepted time is fine. */
	cr_assert_eq(store_run_begin(st, ids.wf, NULL,
	    INT64_C(253402300799999), &id, &err), 0, "%s", err.msg);
	store_close(st);
	check_integrity(dbpath);
}

Test(store, reopen_keeps_everything_and_defaults_trigger)
{
	struct pf_store		*st = open_rw();
	struct fixture_ids	 ids;
	struct store_run	*r;
	struct pf_err		 err;
	int64_t			 run2;
	size_t			 n;

	write_sample(st, &ids);
	cr_assert_eq(store_run_begin(st, ids.wf, NULL, T0 + 5000, &run2, &err),
	    0);
	store_close(st);
	st = open_rw();
	cr_assert_eq(store_runs_list(st, "nightly", NULL, 0, &r, &n, &err), 0);
	cr_assert_eq(n, 2);
	cr_assert_eq(r[0].id, run2, "newest first");
	cr_assert_str_eq(r[0].status, "running");
	cr_assert_str_eq(r[0].trigger, "manual");
	cr_assert_eq(r[0].ended_ms, -1);
	cr_assert_eq(r[1].id, ids.run);
	store_runs_free(r, n);
	cr_assert_eq(store_runs_list(st, NULL, "running", 0, &r, &n, &err), 0);
	cr_assert_eq(n, 1);
	cr_assert_eq(r[0].id, run2);
	store_runs_free(r, n);
	cr_assert_eq(store_runs_list(st, "nightly", NULL, 1, &r, &n, &err), 0);
	cr_assert_eq(n, 1, "limit");
	store_runs_free(r, n);
	cr_assert_eq(store_runs_list(st, "nope", NULL, 0, &r, &n, &err), 0);
	cr_assert_eq(n, 0);
	cr_assert_null(r);
	store_close(st);
	check_integrity(dbpath);
}

Test(store, read_only_mode)
{
	struct pf_store		*st = open_rw(), *ro;
	struct fixture_ids	 ids;
	struct store_run	*r;
	struct pf_err		 err;
	int64_t			 id;
	size_t			 n;

	write_sample(st, &ids);
	store_close(st);
	cr_assert_eq(store_open(dbpath, STORE_RO, &ro, &err), 0, "%s",
	    err.msg);
	cr_assert_eq(store_runs_list(ro, NULL, NULL, 10, &r, &n, &err), 0);
	cr_assert_eq(n, 1);
	store_runs_free(r, n);
	cr_assert_eq(store_workflow_upsert(ro, "x", NULL, NULL, NULL, &id,
	    &err), -1);
	cr_assert(strstr(err.msg, "opened read-only") != NULL, "%s", err.msg);
	cr_assert_eq(store_schedule_set(ro, "x", T0, &err), -1);
	store_close(ro);

	/* A missing file is an error for RO and is never created. */
	cr_assert_eq(store_open("/nonexistent/dir/x.db", STORE_RO, &ro, &err),
	    -1);
	cr_assert_null(ro);
	cr_assert_str_eq(err.msg, "cannot open /nonexistent/dir/x.db: No such "
	    "file or directory");
	check_integrity(dbpath);
}

Test(store, read_only_on_empty_file_reads_nothing)
{
	struct pf_store		*ro;
	struct store_run	*r;
	struct store_workflow	*w;
	struct store_stats	 s;
	struct pf_err		 err;
	char			 p[600];
	size_t			 n;

	snprintf(p, sizeof(p), "%s/empty.db", tmpdir);
	write_file(p, "", 0);
	cr_assert_eq(store_open(p, STORE_RO, &ro, &err), 0, "%s", err.msg);
	cr_assert_eq(store_runs_list(ro, NULL, NULL, 0, &r, &n, &err), 0);
	cr_assert_eq(n, 0);
	cr_assert_eq(store_workflows_list(ro, &w, &n, &err), 0);
	cr_assert_eq(n, 0);
	cr_assert_eq(store_stats(ro, "x", T0, &s, &err), 0);
	cr_assert_eq(s.total, 0);
	cr_assert_eq(s.avg_duration_ms, -1);
	store_close(ro);
}

Test(store, schedule_state)
{
	struct pf_store	*st = open_rw();
	struct pf_err	 err;
	int64_t		 ms = 7;
	int		 found = 1;

	cr_assert_eq(store_schedule_get(st, "w", &ms, &found, &err), 0);
	cr_assert_eq(found, 0);
	cr_assert_eq(ms, 7, "untouched when not found");
	cr_assert_eq(store_schedule_set(st, "w", T0, &err), 0);
	cr_assert_eq(store_schedule_set(st, "w", T0 + 60000, &err), 0);
	cr_assert_eq(store_schedule_get(st, "w", &ms, &found, &err), 0);
	cr_assert_eq(found, 1);
	cr_assert_eq(ms, T0 + 60000);
	store_close(st);
	st = open_rw();
	cr_assert_eq(store_schedule_get(st, "w", &ms, &found, &err), 0);
	cr_assert_eq(ms, T0 + 60000, "survives reopen");
	store_close(st);
	check_integrity(dbpath);
}

static int64_t
add_run(struct pf_store *st, int64_t wf, int64_t start, int64_t dur,
    const char *status)
{
	struct pf_err	 err;
	enum pf_status	 ps;
	int64_t		 id;

	cr_assert_eq(store_run_begin(st, wf, "manual", start, &id, &err), 0,
	    "%s", err.msg);
	if (status != NULL) {
		cr_assert_eq(pf_status_parse(status, &ps), 0);
		cr_assert_eq(store_run_end(st, id, ps, start + dur, NULL,
		    &err), 0, "%s", err.msg);
	}
	return id;
}

Test(store, stats_exact)
{
	struct pf_store		*st = open_rw();
	struct store_stats	 s;
	struct pf_err		 err;
	int64_t			 wf, now = T0 + 10 * INT64_C(86400000);

	cr_assert_eq(store_workflow_upsert(st, "w", NULL, NULL, NULL, &wf,
	    &err), 0);
	add_run(st, wf, T0, 1000, "success");			/* old */
	add_run(st, wf, T0 + 1000, 3000, "failed");		/* old */
	add_run(st, wf, now - 3600000, 2000, "success");	/* in 24 h */
	add_run(st, wf, now - 60000, 500, "timeout");		/* in 24 h */
	add_run(st, wf, now - 30000, 100, "cancelled");		/* in 24 h */
	add_run(st, wf, now - 1000, 0, NULL);			/* running */
	/* Exactly 24 h before now counts; one ms earlier does not. */
	add_run(st, wf, now - 86400000, 1, "success");
	add_run(st, wf, now - 86400001, 1, "success");
	cr_assert_eq(store_stats(st, "w", now, &s, &err), 0, "%s", err.msg);
	cr_assert_eq(s.total, 8);
	cr_assert_eq(s.success, 4);
	cr_assert_eq(s.failed, 2);
	cr_assert_eq(s.cancelled, 1);
	cr_assert_eq(s.running, 1);
	/* (1000 + 3000 + 2000 + 500 + 100 + 1 + 1) / 7 = 943.14 -> 943 */
	cr_assert_eq(s.avg_duration_ms, 943);
	cr_assert_eq(s.day_total, 5);
	cr_assert_eq(s.day_success, 2);
	cr_assert_eq(s.day_failed, 1);
	cr_assert_eq(s.last_started_ms, now - 1000);

	cr_assert_eq(store_stats(st, "never-run", now, &s, &err), 0);
	cr_assert_eq(s.total, 0);
	cr_assert_eq(s.success, 0);
	cr_assert_eq(s.day_total, 0);
	cr_assert_eq(s.avg_duration_ms, -1);
	cr_assert_eq(s.last_started_ms, -1);
	store_close(st);
	check_integrity(dbpath);
}

Test(store, workflows_list_totals)
{
	struct pf_store		*st = open_rw();
	struct store_workflow	*w;
	struct pf_err		 err;
	int64_t			 a, b;
	size_t			 n;

	cr_assert_eq(store_workflow_upsert(st, "b-cron", "/b.yaml", "@hourly",
	    NULL, &b, &err), 0);
	cr_assert_eq(store_workflow_upsert(st, "a-manual", "/a.yaml", NULL,
	    NULL, &a, &err), 0);
	add_run(st, b, T0, 10, "success");
	add_run(st, b, T0 + 100, 10, "timeout");
	add_run(st, b, T0 + 200, 10, "failed");
	add_run(st, b, T0 + 300, 10, "cancelled");
	cr_assert_eq(store_workflows_list(st, &w, &n, &err), 0);
	cr_assert_eq(n, 2);
	cr_assert_str_eq(w[0].name, "a-manual");
	cr_assert_eq(w[0].total, 0);
	cr_assert_eq(w[0].success, 0);
	cr_assert_eq(w[0].failed, 0);
	cr_assert_str_eq(w[1].name, "b-cron");
	cr_assert_str_eq(w[1].schedule, "@hourly");
	cr_assert_eq(w[1].total, 4);
	cr_assert_eq(w[1].success, 1);
	cr_assert_eq(w[1].failed, 2);
	cr_assert_eq(w[1].last_started_ms, T0 + 300);
	cr_assert_str_eq(w[1].last_status, "cancelled");
	store_workflows_free(w, n);
	store_close(st);
}

Test(store, prune_by_age_and_count)
{
	struct pf_store		*st = open_rw();
	struct store_run	*r;
	struct store_attempt	*a;
	struct pf_err		 err;
	int64_t			 wf, wf2, del, old_running, id, att;
	size_t			 n;
	int			 i;

	cr_assert_eq(store_workflow_upsert(st, "w", NULL, NULL, NULL, &wf,
	    &err), 0);
	cr_assert_eq(store_workflow_upsert(st, "w2", NULL, NULL, NULL, &wf2,
	    &err), 0);
	old_running = add_run(st, wf, T0, 0, NULL);
	for (i = 1; i <= 6; i++) {
		id = add_run(st, wf, T0 + i * 1000, 10, "success");
		cr_assert_eq(store_task_skipped(st, id, "t", NULL,
		    T0 + i * 1000, &err), 0);
	}
	add_run(st, wf2, T0 + 500, 10, "failed");
	cr_assert_eq(store_attempt_begin(st, old_running, "t", 1, T0, &att,
	    &err), 0);

	cr_assert_eq(store_prune(st, 0, 0, &del, &err), 0);
	cr_assert_eq(del, 0, "no limits, nothing pruned");
	/* Age: strictly older than T0 + 2000 and finished. */
	cr_assert_eq(store_prune(st, T0 + 2000, 0, &del, &err), 0, "%s",
	    err.msg);
	cr_assert_eq(del, 2, "run at +1000 of w and +500 of w2");
	/* Count: the newest 3 finished runs of each workflow stay. */
	cr_assert_eq(store_prune(st, 0, 3, &del, &err), 0, "%s", err.msg);
	cr_assert_eq(del, 2, "+3000 and +2000 (finished ranks 4, 5); the "
	    "running run at T0 neither counts nor goes");
	cr_assert_eq(store_runs_list(st, "w", NULL, 0, &r, &n, &err), 0);
	cr_assert_eq(n, 4);
	cr_assert_eq(r[0].started_ms, T0 + 6000);
	cr_assert_eq(r[2].started_ms, T0 + 4000);
	cr_assert_eq(r[3].id, old_running, "running runs are never pruned");
	store_runs_free(r, n);
	cr_assert_eq(store_attempts_list(st, old_running, NULL, 0, &a, &n,
	    &err), 0);
	cr_assert_eq(n, 1);
	store_attempts_free(a, n);
	store_close(st);
	{
		sqlite3	*db = raw_open(dbpath);

		cr_assert_eq(raw_int(db, "SELECT count(*) FROM "
		    "task_executions"), 4, "3 skipped rows + 1 attempt left");
		sqlite3_close(db);
	}
	check_integrity(dbpath);
}

/* ---- migration of the Rust version's database --------------------------- */

static void
check_migrated_history(struct pf_store *st)
{
	struct store_run	*r;
	struct store_attempt	*a;
	struct store_workflow	*w;
	struct pf_err		 err;
	size_t			 n;

	cr_assert_eq(store_runs_list(st, "backup", NULL, 0, &r, &n, &err), 0,
	    "%s", err.msg);
	cr_assert_eq(n, 3);
	cr_assert_eq(r[0].id, 4);
	cr_assert_str_eq(r[0].status, "timeout");
	cr_assert_eq(r[0].started_ms, INT64_C(1709690400000), "RFC 3339 form");
	cr_assert_eq(r[0].ended_ms, INT64_C(1709690401000));
	cr_assert_null(r[0].trigger);
	cr_assert_eq(r[0].pid, -1);
	cr_assert_eq(r[1].id, 2);
	cr_assert_str_eq(r[1].status, "failed");
	cr_assert_eq(r[1].started_ms, INT64_C(1709604000500));
	cr_assert_eq(r[1].ended_ms, INT64_C(1709604064500));
	cr_assert_eq(r[2].id, 1);
	cr_assert_eq(r[2].started_ms, INT64_C(1709517600123),
	    "nanosecond text timestamp to ms");
	cr_assert_eq(r[2].ended_ms, INT64_C(1709517605623));
	store_runs_free(r, n);

	cr_assert_eq(store_runs_list(st, "health-check", NULL, 0, &r, &n,
	    &err), 0);
	cr_assert_eq(n, 1);
	cr_assert_str_eq(r[0].status, "failed", "left running: interrupted");
	cr_assert_str_eq(r[0].error, "interrupted: still running when "
	    "migrated from an earlier PicoFlow");
	cr_assert_eq(r[0].ended_ms, -1);
	store_runs_free(r, n);

	cr_assert_eq(store_attempts_list(st, 2, NULL, 1, &a, &n, &err), 0);
	cr_assert_eq(n, 2);
	cr_assert_str_eq(a[0].status, "failed", "retrying becomes failed");
	cr_assert_str_eq(a[0].reason, "retried (recorded as retrying by an "
	    "earlier PicoFlow)");
	cr_assert_eq(a[0].attempt, 1);
	cr_assert_eq(a[0].stderr_len, 10);
	cr_assert_eq(memcmp(a[0].stderr_data, "disk full\n", 10), 0);
	cr_assert_str_eq(a[1].status, "failed");
	cr_assert_eq(a[1].attempt, 2);
	cr_assert_eq(a[1].exit_code, 1);
	cr_assert_eq(a[1].duration_ms, 61400);
	cr_assert_null(a[1].reason);
	store_attempts_free(a, n);

	cr_assert_eq(store_attempts_list(st, 1, NULL, 1, &a, &n, &err), 0);
	cr_assert_eq(n, 2);
	cr_assert_str_eq(a[0].task_name, "dump");
	cr_assert_eq(a[0].stdout_len, 17);
	cr_assert_eq(memcmp(a[0].stdout_data, "dumped 42 tables\n", 17), 0);
	cr_assert_eq(a[0].duration_ms, 3000);
	cr_assert_str_eq(a[1].task_name, "upload");
	store_attempts_free(a, n);

	cr_assert_eq(store_workflows_list(st, &w, &n, &err), 0);
	cr_assert(n == 2 || n == 3, "the two old ones (and zz-fresh)");
	cr_assert_str_eq(w[0].name, "backup");
	cr_assert_str_eq(w[0].schedule, "0 0 2 * * *");
	cr_assert_eq(w[0].total, 3);
	cr_assert_eq(w[0].success, 1);
	cr_assert_eq(w[0].failed, 2);
	cr_assert_str_eq(w[1].name, "health-check");
	cr_assert_null(w[1].schedule);
	store_workflows_free(w, n);
}

Test(store, migrates_rust_database_in_place)
{
	struct pf_store	*st, *ro;
	struct pf_err	 err;
	sqlite3		*db;
	int64_t		 wf, run;

	load_rust_fixture(dbpath);

	/* Read-only cannot migrate: it says what to do. */
	cr_assert_eq(store_open(dbpath, STORE_RO, &ro, &err), -1);
	cr_assert(strstr(err.msg, "older schema (version 0); run any write "
	    "command") != NULL, "%s", err.msg);

	st = open_rw();
	cr_assert_eq(store_schema_version(st), STORE_SCHEMA_VERSION);
	check_migrated_history(st);
	/* New runs go on top of the old history with the old ids intact. */
	cr_assert_eq(store_workflow_upsert(st, "backup", "/w/backup.yaml",
	    "0 0 2 * * *", NULL, &wf, &err), 0);
	cr_assert_eq(wf, 1);
	cr_assert_eq(store_workflow_upsert(st, "zz-fresh", NULL, NULL, NULL, &wf,
	    &err), 0);
	cr_assert_eq(wf, 3);
	cr_assert_eq(store_run_begin(st, wf, "manual", T0 + 10 * 86400000LL,
	    &run, &err), 0);
	cr_assert_eq(run, 5);
	cr_assert_eq(store_run_end(st, run, PF_STATUS_SUCCESS,
	    T0 + 10 * 86400000LL +
	    5, NULL, &err), 0);
	store_close(st);

	db = raw_open(dbpath);
	cr_assert_eq(raw_int(db, "PRAGMA user_version"),
	    STORE_SCHEMA_VERSION);
	cr_assert_eq(raw_int(db, "SELECT count(*) FROM task_executions WHERE "
	    "status NOT IN ('running', 'success', 'failed', 'timeout', "
	    "'skipped', 'cancelled')"), 0);
	cr_assert_eq(raw_int(db, "SELECT count(*) FROM retention_policy"), 0,
	    "the original's other tables are left alone");
	cr_assert_eq(raw_int(db, "SELECT count(*) FROM sqlite_master WHERE "
	    "name = 'idx_executions_workflow_started'"), 1);
	sqlite3_close(db);

	/* Re-opening is idempotent: same rows, same answers. */
	st = open_rw();
	check_migrated_history(st);
	store_close(st);
	cr_assert_eq(store_open(dbpath, STORE_RO, &ro, &err), 0, "%s",
	    err.msg);
	check_migrated_history(ro);
	store_close(ro);
	check_integrity(dbpath);
}

Test(store, migrates_early_rust_schema_without_schedule_column)
{
	struct pf_store		*st;
	struct store_workflow	*w;
	struct pf_err		 err;
	sqlite3			*db;
	size_t			 n;

	load_rust_fixture(dbpath);
	db = raw_open(dbpath);
	cr_assert_eq(sqlite3_exec(db, "ALTER TABLE workflows DROP COLUMN "
	    "schedule", NULL, NULL, NULL), SQLITE_OK, "%s",
	    sqlite3_errmsg(db));
	sqlite3_close(db);
	st = open_rw();
	cr_assert_eq(store_workflows_list(st, &w, &n, &err), 0, "%s", err.msg);
	cr_assert_eq(n, 2);
	cr_assert_null(w[0].schedule);
	cr_assert_eq(w[0].total, 3);
	store_workflows_free(w, n);
	store_close(st);
	check_integrity(dbpath);
}

Test(store, refuses_foreign_and_newer_databases_untouched)
{
	struct pf_store	*st;
	struct pf_err	 err;
	sqlite3		*db;
	char		 p[600];

	snprintf(p, sizeof(p), "%s/other.db", tmpdir);
	cr_assert_eq(sqlite3_open(p, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(db, "CREATE TABLE customers (id INTEGER)",
	    NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	cr_assert_eq(store_open(p, STORE_RW, &st, &err), -1);
	cr_assert_null(st);
	cr_assert(strstr(err.msg, "not a PicoFlow database (it has tables but "
	    "no 'workflows' table)") != NULL, "%s", err.msg);
	db = raw_open(p);
	cr_assert_eq(raw_int(db, "SELECT count(*) FROM sqlite_master"), 1,
	    "nothing was created");
	cr_assert_eq(raw_int(db, "PRAGMA user_version"), 0);
	sqlite3_close(db);

	/* A 'workflows' table of some other shape. */
	snprintf(p, sizeof(p), "%s/other2.db", tmpdir);
	cr_assert_eq(sqlite3_open(p, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(db, "CREATE TABLE workflows (uuid TEXT)",
	    NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	cr_assert_eq(store_open(p, STORE_RW, &st, &err), -1);
	cr_assert(strstr(err.msg, "table 'workflows' has no column 'id'") !=
	    NULL, "%s", err.msg);

	/* Written by a newer PicoFlow. */
	st = open_rw();
	store_close(st);
	db = raw_open(dbpath);
	cr_assert_eq(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL,
	    NULL), SQLITE_OK);
	sqlite3_close(db);
	cr_assert_eq(store_open(dbpath, STORE_RW, &st, &err), -1);
	cr_assert(strstr(err.msg, "schema version 99 was written by a newer "
	    "PicoFlow") != NULL, "%s", err.msg);
	cr_assert_eq(store_open(dbpath, STORE_RO, &st, &err), -1);
	cr_assert(strstr(err.msg, "newer PicoFlow") != NULL, "%s", err.msg);
}

Test(store, corrupted_file_gives_a_clear_error)
{
	struct pf_store	*st;
	struct pf_err	 err;
	unsigned char	 junk[8192];
	size_t		 i;
	unsigned	 x = 12345;
	char		 p[600];

	for (i = 0; i < sizeof(junk); i++) {
		x = x * 1103515245u + 12345u;
		junk[i] = (unsigned char)(x >> 16);
	}
	snprintf(p, sizeof(p), "%s/junk.db", tmpdir);
	write_file(p, junk, sizeof(junk));
	cr_assert_eq(store_open(p, STORE_RW, &st, &err), -1);
	cr_assert_null(st);
	cr_assert(strstr(err.msg, "not a valid SQLite database or corrupted") !=
	    NULL, "%s", err.msg);
	cr_assert(strstr(err.msg, p) != NULL, "names the file: %s", err.msg);
	cr_assert_eq(store_open(p, STORE_RO, &st, &err), -1);
	cr_assert(strstr(err.msg, "not a valid SQLite database or corrupted") !=
	    NULL, "%s", err.msg);

	/* A real header followed by garbage pages. */
	st = open_rw();
	store_close(st);
	{
		int	 fd = open(dbpath, O_WRONLY);
		char	 p2[600];

		cr_assert(fd >= 0);
		cr_assert_eq(pwrite(fd, junk, 4096, 100), 4096);
		close(fd);
		snprintf(p2, sizeof(p2), "%s-wal", dbpath);
		unlink(p2);
	}
	cr_assert_eq(store_open(dbpath, STORE_RW, &st, &err), -1);
	cr_assert(strstr(err.msg, dbpath) != NULL, "%s", err.msg);
}

Test(store, invalid_paths)
{
	struct pf_store	*st;
	struct pf_err	 err;
	char		 p[600];

	cr_assert_eq(store_open("", STORE_RW, &st, &err), -1);
	cr_assert_str_eq(err.msg, "no database path given");
	cr_assert_eq(store_open(NULL, STORE_RO, &st, &err), -1);
	cr_assert_eq(store_open(tmpdir, STORE_RW, &st, &err), -1);
	cr_assert(strstr(err.msg, "Is a directory") != NULL ||
	    strstr(err.msg, "is a directory") != NULL, "%s", err.msg);
	cr_assert_eq(store_open(tmpdir, STORE_RO, &st, &err), -1);
	cr_assert(strstr(err.msg, "is a directory, not a database file") !=
	    NULL, "%s", err.msg);
	/* A parent that is a file. */
	snprintf(p, sizeof(p), "%s/file", tmpdir);
	write_file(p, "x", 1);
	snprintf(p, sizeof(p), "%s/file/sub/x.db", tmpdir);
	cr_assert_eq(store_open(p, STORE_RW, &st, &err), -1);
	cr_assert(strstr(err.msg, "cannot create directory") != NULL &&
	    strstr(err.msg, "Not a directory") != NULL, "%s", err.msg);
	cr_assert_null(st);
	store_close(NULL);
}

/* ---- concurrency and durability ---------------------------------------- */

Test(store, readers_never_block_the_writer)
{
	struct pf_store		*st = open_rw(), *ro;
	struct fixture_ids	 ids;
	struct store_run	*r;
	struct pf_err		 err;
	sqlite3			*reader, *writer;
	sqlite3_stmt		*s;
	int64_t			 id;
	size_t			 n;

	write_sample(st, &ids);
	/* A reader in the middle of a read transaction ... */
	reader = raw_open(dbpath);
	cr_assert_eq(sqlite3_exec(reader, "BEGIN", NULL, NULL, NULL), 0);
	cr_assert_eq(sqlite3_prepare_v2(reader, "SELECT id FROM executions",
	    -1, &s, NULL), SQLITE_OK);
	cr_assert_eq(sqlite3_step(s), SQLITE_ROW);
	/* ... does not stop the writer, */
	cr_assert_eq(store_run_begin(st, ids.wf, NULL, T0 + 100000, &id,
	    &err), 0, "%s", err.msg);
	cr_assert_eq(store_run_end(st, id, PF_STATUS_FAILED,
	    T0 + 100001, "x", &err),
	    0, "%s", err.msg);
	/* and keeps its snapshot. */
	sqlite3_finalize(s);
	cr_assert_eq(raw_int(reader, "SELECT count(*) FROM executions"), 1);
	sqlite3_exec(reader, "COMMIT", NULL, NULL, NULL);
	cr_assert_eq(raw_int(reader, "SELECT count(*) FROM executions"), 2);
	sqlite3_close(reader);

	/* A writer holding an open transaction does not block a reader. */
	writer = raw_open(dbpath);
	cr_assert_eq(sqlite3_exec(writer, "BEGIN IMMEDIATE; DELETE FROM "
	    "task_executions; DELETE FROM executions", NULL, NULL, NULL), 0);
	cr_assert_eq(store_open(dbpath, STORE_RO, &ro, &err), 0, "%s",
	    err.msg);
	cr_assert_eq(store_runs_list(ro, NULL, NULL, 0, &r, &n, &err), 0,
	    "%s", err.msg);
	cr_assert_eq(n, 2, "uncommitted deletes are invisible");
	store_runs_free(r, n);
	store_close(ro);
	sqlite3_exec(writer, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(writer);
	store_close(st);
	check_integrity(dbpath);
}

Test(store, concurrent_reader_process_while_writing)
{
	struct pf_store		*st = open_rw(), *ro;
	struct store_run	*r;
	struct pf_err		 err;
	int64_t			 wf;
	pid_t			 pid;
	int			 status, i, reads = 0;
	size_t			 n, last = 0;

	cr_assert_eq(store_workflow_upsert(st, "w", NULL, NULL, NULL, &wf,
	    &err), 0);
	store_close(st);
	pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		if (store_open(dbpath, STORE_RW, &st, &err) == -1)
			_exit(10);
		for (i = 0; i < 200; i++) {
			int64_t	 id;

			if (store_run_begin(st, wf, NULL, T0 + i, &id,
			    &err) == -1 || store_run_end(st, id,
			    PF_STATUS_SUCCESS, T0 + i + 1, NULL, &err) == -1)
				_exit(11);
		}
		store_close(st);
		_exit(0);
	}
	cr_assert_eq(store_open(dbpath, STORE_RO, &ro, &err), 0, "%s",
	    err.msg);
	for (;;) {
		pid_t	 w = waitpid(pid, &status, WNOHANG);

		cr_assert_eq(store_runs_list(ro, "w", NULL, 0, &r, &n, &err),
		    0, "read %d failed: %s", reads, err.msg);
		cr_assert(n >= last, "counts never go back");
		for (i = 0; i < (int)n; i++)
			cr_assert_str_neq(r[i].status, "", "rows complete");
		last = n;
		store_runs_free(r, n);
		reads++;
		if (w == pid)
			break;
	}
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "writer status %d", status);
	cr_assert_eq(store_runs_list(ro, "w", "success", 0, &r, &n, &err), 0);
	cr_assert_eq(n, 200);
	store_runs_free(r, n);
	store_close(ro);
	check_integrity(dbpath);
}

Test(store, committed_success_survives_kill_9)
{
	struct pf_store		*st;
	struct store_attempt	*a;
	struct store_run	*r;
	struct pf_err		 err;
	int			 pfd[2], status;
	pid_t			 pid;
	char			 c;
	size_t			 n;

	cr_assert_eq(pipe(pfd), 0);
	pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		struct store_attempt_end e;
		int64_t			 wf, run, att, att2;

		close(pfd[0]);
		if (store_open(dbpath, STORE_RW, &st, &err) == -1 ||
		    store_workflow_upsert(st, "w", NULL, NULL, NULL, &wf,
		    &err) == -1 ||
		    store_run_begin(st, wf, NULL, T0, &run, &err) == -1 ||
		    store_attempt_begin(st, run, "done", 1, T0, &att,
		    &err) == -1)
			_exit(10);
		store_attempt_end_init(&e);
		e.status = PF_STATUS_SUCCESS;
		e.ended_ms = T0 + 5;
		if (store_attempt_end(st, att, &e, &err) == -1 ||
		    store_attempt_begin(st, run, "inflight", 1, T0 + 6, &att2,
		    &err) == -1)
			_exit(11);
		/* Tell the parent, then die without closing anything. */
		if (write(pfd[1], "k", 1) != 1)
			_exit(12);
		for (;;)
			pause();
	}
	close(pfd[1]);
	cr_assert_eq(read(pfd[0], &c, 1), 1, "child reached the kill point");
	close(pfd[0]);
	kill(pid, SIGKILL);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

	st = open_rw();
	cr_assert_eq(store_runs_list(st, "w", "running", 0, &r, &n, &err), 0);
	cr_assert_eq(n, 1, "the in-flight run is found");
	cr_assert_eq(store_attempts_list(st, r[0].id, NULL, 0, &a, &n, &err),
	    0);
	cr_assert_eq(n, 2);
	cr_assert_str_eq(a[0].task_name, "done");
	cr_assert_str_eq(a[0].status, "success");
	cr_assert_str_eq(a[1].task_name, "inflight");
	cr_assert_str_eq(a[1].status, "running");
	store_attempts_free(a, 2);
	store_runs_free(r, 1);
	store_close(st);
	check_integrity(dbpath);
}

Test(store, large_output_round_trip)
{
	struct pf_store		*st = open_rw();
	struct store_attempt_end e;
	struct store_attempt	*a;
	struct pf_err		 err;
	unsigned char		*big;
	int64_t			 wf, run, att;
	size_t			 i, n, len = 10 * 1024 * 1024;

	big = malloc(len);
	for (i = 0; i < len; i++)
		big[i] = (unsigned char)(i * 7);
	cr_assert_eq(store_workflow_upsert(st, "w", NULL, NULL, NULL, &wf,
	    &err), 0);
	cr_assert_eq(store_run_begin(st, wf, NULL, T0, &run, &err), 0);
	cr_assert_eq(store_attempt_begin(st, run, "t", 1, T0, &att, &err), 0);
	store_attempt_end_init(&e);
	e.status = PF_STATUS_SUCCESS;
	e.ended_ms = T0 + 1;
	e.stdout_data = big;
	e.stdout_len = len;
	cr_assert_eq(store_attempt_end(st, att, &e, &err), 0, "%s", err.msg);
	cr_assert_eq(store_attempts_list(st, run, NULL, 1, &a, &n, &err), 0);
	cr_assert_eq(a[0].stdout_len, len);
	cr_assert_eq(memcmp(a[0].stdout_data, big, len), 0);
	store_attempts_free(a, n);
	free(big);
	store_close(st);
	check_integrity(dbpath);
}

/* ---- allocation failures ----------------------------------------------- */

Test(store, allocation_failures_are_clean)
{
	struct pf_store		*st = open_rw(), *s2;
	struct fixture_ids	 ids;
	struct store_run	*r, one;
	struct store_attempt	*a;
	struct store_workflow	*w;
	struct pf_err		 err;
	struct faultloop	 fl;
	size_t			 n;
	int			 ok, found;

	write_sample(st, &ids);
	store_close(st);

	for (FAULTLOOP_MODES(m)) {
		/* Open (RW and RO) under every failing allocation. */
		for (faultloop_init(&fl, m); faultloop_next(&fl); ) {
			pf_err_clear(&err);
			ok = store_open(dbpath, fl.n % 2 ? STORE_RO : STORE_RW,
			    &s2, &err) == 0;
			cr_assert(ok || faultloop_met(&fl));
			if (!ok) {
				cr_assert_null(s2);
				cr_assert(err.msg[0] != '\0', "%s n=%ld: error "
				    "set", faultloop_mode_name(m), fl.n);
			} else
				store_close(s2);
		}
		cr_assert(!fl.exhausted, "open eventually succeeds");

		st = open_rw();
		for (faultloop_init(&fl, m); faultloop_next(&fl); ) {
			ok = store_attempts_list(st, ids.run, NULL, 1, &a, &n,
			    &err) == 0;
			cr_assert(ok || faultloop_met(&fl));
			if (ok) {
				cr_assert_eq(n, 3);
				cr_assert_eq(a[0].stdout_len, 22);
				store_attempts_free(a, n);
			} else {
				cr_assert_null(a);
				cr_assert_eq(n, 0);
				cr_assert_str_eq(err.msg, "out of memory "
				    "reading task attempts");
			}
		}
		cr_assert(!fl.exhausted);
		cr_assert(fl.n > 5, "the loop did hit allocations (n=%ld)",
		    fl.n);
		for (faultloop_init(&fl, m); faultloop_next(&fl); ) {
			ok = store_runs_list(st, NULL, NULL, 0, &r, &n,
			    &err) == 0;
			cr_assert(ok || faultloop_met(&fl));
			if (ok)
				store_runs_free(r, n);
			else
				cr_assert_null(r);
		}
		cr_assert(!fl.exhausted);
		for (faultloop_init(&fl, m); faultloop_next(&fl); ) {
			ok = store_workflows_list(st, &w, &n, &err) == 0;
			cr_assert(ok || faultloop_met(&fl));
			if (ok)
				store_workflows_free(w, n);
			else
				cr_assert_null(w);
		}
		cr_assert(!fl.exhausted);
		for (faultloop_init(&fl, m); faultloop_next(&fl); ) {
			ok = store_run_get(st, ids.run, &one, &found,
			    &err) == 0;
			cr_assert(ok || faultloop_met(&fl));
			if (ok) {
				cr_assert_eq(found, 1);
				store_run_clear(&one);
			} else
				cr_assert_eq(found, 0);
		}
		cr_assert(!fl.exhausted);
		store_close(st);
	}
	check_integrity(dbpath);
}

Test(store, durability_modes)
{
	struct pf_store	*st = open_rw(), *ro;
	struct pf_err	 err;
	sqlite3		*db;

	cr_assert_eq(store_set_sync(st, STORE_SYNC_NORMAL, &err), 0, "%s",
	    err.msg);
	cr_assert_eq(store_set_sync(st, STORE_SYNC_FULL, &err), 0);
	cr_assert_eq(store_set_sync(st, (enum store_sync)7, &err), -1);
	cr_assert_str_eq(err.msg, "invalid durability mode");
	store_close(st);
	cr_assert_eq(store_open(dbpath, STORE_RO, &ro, &err), 0);
	cr_assert_eq(store_set_sync(ro, STORE_SYNC_NORMAL, &err), -1);
	store_close(ro);
	db = raw_open(dbpath);
	cr_assert_str_eq(raw_str(db, "PRAGMA journal_mode"), "wal");
	sqlite3_close(db);
}

/*
 * Group commit: a batch's writes are seen by another connection only
 * after store_batch_commit; a rollback undoes all of them; a write that
 * is a transaction of its own (chunked output) nests as a savepoint, and
 * one that fails inside the batch leaves the batch's others.
 */
Test(store, batch_commits_all_or_nothing)
{
	struct pf_store			*st = open_rw();
	struct store_attempt_end	 e;
	struct store_chunk		 c;
	struct pf_err			 err;
	sqlite3				*db;
	int64_t				 wf, run, a1, a2;

	cr_assert_eq(store_workflow_upsert(st, "wf", NULL, NULL, NULL, &wf,
	    &err), 0, "%s", err.msg);
	cr_assert_eq(store_run_begin(st, wf, NULL, 1000, &run, &err), 0);
	db = raw_open(dbpath);

	cr_assert_eq(store_batch_begin(st, &err), 0, "%s", err.msg);
	cr_assert(store_batch_open(st));
	cr_assert_eq(store_batch_begin(st, &err), -1);
	cr_assert_eq(store_attempt_begin(st, run, "a", 1, 1001, &a1, &err), 0);
	cr_assert_eq(store_attempt_begin(st, run, "b", 1, 1001, &a2, &err), 0);
	c.attempt_id = a1;
	c.stream = STORE_STDOUT;
	c.data = "hi";
	c.len = 2;
	cr_assert_eq(store_output_append(st, &c, 1, &err), 0, "%s", err.msg);
	store_attempt_end_init(&e);
	e.status = PF_STATUS_SUCCESS;
	e.ended_ms = 1002;
	cr_assert_eq(store_attempt_end(st, a1, &e, &err), 0, "%s", err.msg);
	/* Ending it twice fails, and only that write. */
	cr_assert_eq(store_attempt_end(st, a1, &e, &err), -1);
	cr_assert_eq(raw_int(db, "SELECT count(*) FROM task_executions"), 0);
	store_batch_rollback(st);
	cr_assert(!store_batch_open(st));
	cr_assert_eq(raw_int(db, "SELECT count(*) FROM task_executions"), 0);

	cr_assert_eq(store_batch_begin(st, &err), 0, "%s", err.msg);
	cr_assert_eq(store_attempt_begin(st, run, "a", 1, 1001, &a1, &err), 0);
	cr_assert_eq(store_attempt_end(st, a1, &e, &err), 0, "%s", err.msg);
	cr_assert_eq(store_attempt_end(st, a1, &e, &err), -1);
	cr_assert_eq(store_attempt_begin(st, run, "b", 1, 1001, &a2, &err), 0);
	cr_assert_eq(store_checkpoint(st, &err), 0, "%s", err.msg);
	cr_assert_eq(store_batch_commit(st, &err), 0, "%s", err.msg);
	cr_assert_eq(store_batch_commit(st, &err), 0);	/* none open */
	cr_assert_eq(raw_int(db, "SELECT count(*) FROM task_executions"), 2);
	cr_assert_eq(raw_int(db, "SELECT count(*) FROM task_executions "
	    "WHERE status = 'success'"), 1);
	sqlite3_close(db);
	store_close(st);
	check_integrity(dbpath);
}
