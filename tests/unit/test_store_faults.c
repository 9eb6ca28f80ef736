/*
 * I/O faults under the store: a VFS shim over SQLite's default one fails
 * the Nth write or sync with SQLITE_FULL (a full disk) or SQLITE_IOERR.
 * For N = 0, 1, 2, ... each store write either completes or fails with an
 * error a person can read, never crashes, and the database stays
 * consistent: PRAGMA integrity_check is ok, and a half-done change is
 * never visible (an attempt row is either running or fully ended; a prune
 * leaves all its runs or deletes all it should).
 */
#include <criterion/criterion.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "picoflow/store.h"
#include "../lib/proc.h"

/* Test-only fault state: this process owns it. */
static long	 fault_countdown = -1;	/* -1 = never */
static int	 fault_code = SQLITE_FULL;
static int	 fault_hit;
static sqlite3_vfs *real_vfs;
static sqlite3_vfs faulty_vfs;

struct ffile {
	sqlite3_file		 base;
	sqlite3_file		*real;	/* follows this struct */
};

static int
fault_now(void)
{
	if (fault_countdown < 0)
		return 0;
	if (fault_countdown == 0) {
		fault_hit = 1;
		return 1;
	}
	fault_countdown--;
	return 0;
}

#define REAL(f)	(((struct ffile *)(f))->real)

static int f_close(sqlite3_file *f) { return REAL(f)->pMethods->xClose(REAL(f)); }
static int f_read(sqlite3_file *f, void *b, int n, sqlite3_int64 o)
{ return REAL(f)->pMethods->xRead(REAL(f), b, n, o); }
static int
f_write(sqlite3_file *f, const void *b, int n, sqlite3_int64 o)
{
	if (fault_now())
		return fault_code == SQLITE_FULL ? SQLITE_FULL :
		    SQLITE_IOERR_WRITE;
	return REAL(f)->pMethods->xWrite(REAL(f), b, n, o);
}
static int f_truncate(sqlite3_file *f, sqlite3_int64 s)
{ return REAL(f)->pMethods->xTruncate(REAL(f), s); }
static int
f_sync(sqlite3_file *f, int fl)
{
	if (fault_now())
		return SQLITE_IOERR_FSYNC;
	return REAL(f)->pMethods->xSync(REAL(f), fl);
}
static int f_size(sqlite3_file *f, sqlite3_int64 *s)
{ return REAL(f)->pMethods->xFileSize(REAL(f), s); }
static int f_lock(sqlite3_file *f, int l) { return REAL(f)->pMethods->xLock(REAL(f), l); }
static int f_unlock(sqlite3_file *f, int l) { return REAL(f)->pMethods->xUnlock(REAL(f), l); }
static int f_check(sqlite3_file *f, int *r)
{ return REAL(f)->pMethods->xCheckReservedLock(REAL(f), r); }
static int f_fctl(sqlite3_file *f, int op, void *a)
{ return REAL(f)->pMethods->xFileControl(REAL(f), op, a); }
static int f_sector(sqlite3_file *f) { return REAL(f)->pMethods->xSectorSize(REAL(f)); }
static int f_dev(sqlite3_file *f)
{ return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f)); }
static int f_shmmap(sqlite3_file *f, int pg, int sz, int ext, void volatile **pp)
{ return REAL(f)->pMethods->xShmMap(REAL(f), pg, sz, ext, pp); }
static int f_shmlock(sqlite3_file *f, int off, int n, int fl)
{ return REAL(f)->pMethods->xShmLock(REAL(f), off, n, fl); }
static void f_shmbarrier(sqlite3_file *f) { REAL(f)->pMethods->xShmBarrier(REAL(f)); }
static int f_shmunmap(sqlite3_file *f, int del)
{ return REAL(f)->pMethods->xShmUnmap(REAL(f), del); }

static const sqlite3_io_methods f_methods = {
	2, f_close, f_read, f_write, f_truncate, f_sync, f_size, f_lock,
	f_unlock, f_check, f_fctl, f_sector, f_dev, f_shmmap, f_shmlock,
	f_shmbarrier, f_shmunmap, NULL, NULL,
};

static int
f_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags,
    int *out)
{
	struct ffile	*ff = (struct ffile *)f;
	int		 rc;

	(void)vfs;
	ff->real = (sqlite3_file *)(ff + 1);
	rc = real_vfs->xOpen(real_vfs, name, ff->real, flags, out);
	f->pMethods = rc == SQLITE_OK ? &f_methods : NULL;
	return rc;
}

static int f_delete(sqlite3_vfs *v, const char *n, int s)
{ (void)v; return real_vfs->xDelete(real_vfs, n, s); }
static int f_access(sqlite3_vfs *v, const char *n, int fl, int *r)
{ (void)v; return real_vfs->xAccess(real_vfs, n, fl, r); }
static int f_full(sqlite3_vfs *v, const char *n, int len, char *out)
{ (void)v; return real_vfs->xFullPathname(real_vfs, n, len, out); }
static int f_rand(sqlite3_vfs *v, int n, char *out)
{ (void)v; return real_vfs->xRandomness(real_vfs, n, out); }
static int f_sleep(sqlite3_vfs *v, int us)
{ (void)v; return real_vfs->xSleep(real_vfs, us); }
static int f_time(sqlite3_vfs *v, double *t)
{ (void)v; return real_vfs->xCurrentTime(real_vfs, t); }
static int f_lasterr(sqlite3_vfs *v, int n, char *s)
{ (void)v; return real_vfs->xGetLastError(real_vfs, n, s); }
static int f_time64(sqlite3_vfs *v, sqlite3_int64 *t)
{ (void)v; return real_vfs->xCurrentTimeInt64(real_vfs, t); }

static void
install_vfs(void)
{
	cr_assert_eq(sqlite3_initialize(), SQLITE_OK);
	real_vfs = sqlite3_vfs_find(NULL);
	cr_assert_not_null(real_vfs);
	memset(&faulty_vfs, 0, sizeof(faulty_vfs));
	faulty_vfs.iVersion = 2;
	faulty_vfs.szOsFile = (int)sizeof(struct ffile) + real_vfs->szOsFile;
	faulty_vfs.mxPathname = real_vfs->mxPathname;
	faulty_vfs.zName = "picoflow-faulty";
	faulty_vfs.xOpen = f_open;
	faulty_vfs.xDelete = f_delete;
	faulty_vfs.xAccess = f_access;
	faulty_vfs.xFullPathname = f_full;
	faulty_vfs.xRandomness = f_rand;
	faulty_vfs.xSleep = f_sleep;
	faulty_vfs.xCurrentTime = f_time;
	faulty_vfs.xGetLastError = f_lasterr;
	faulty_vfs.xCurrentTimeInt64 = f_time64;
	cr_assert_eq(sqlite3_vfs_register(&faulty_vfs, 1), SQLITE_OK);
}

static char	*dir;
static char	 db[4096];

static void
setup(void)
{
	install_vfs();
	dir = test_tmpdir("storefault");
	snprintf(db, sizeof(db), "%s/state.db", dir);
}

static void
teardown(void)
{
	fault_countdown = -1;
	sqlite3_vfs_unregister(&faulty_vfs);
	test_rmrf(dir);
	free(dir);
}

TestSuite(store_faults, .init = setup, .fini = teardown, .timeout = 120);

/* integrity_check through a plain connection, faults off. */
static void
check_consistent(void)
{
	sqlite3		*h;
	sqlite3_stmt	*s;
	long		 saved = fault_countdown;

	fault_countdown = -1;
	cr_assert_eq(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL),
	    SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(h, "PRAGMA integrity_check", -1, &s,
	    NULL), SQLITE_OK);
	cr_assert_eq(sqlite3_step(s), SQLITE_ROW);
	cr_assert_str_eq((const char *)sqlite3_column_text(s, 0), "ok");
	sqlite3_finalize(s);
	/* An ended attempt row is complete: status, end time and output. */
	cr_assert_eq(sqlite3_prepare_v2(h, "SELECT count(*) FROM "
	    "task_executions WHERE status != 'running' AND (completed_at IS "
	    "NULL OR stdout IS NULL)", -1, &s, NULL), SQLITE_OK);
	cr_assert_eq(sqlite3_step(s), SQLITE_ROW);
	cr_assert_eq(sqlite3_column_int(s, 0), 0, "a half-ended attempt");
	sqlite3_finalize(s);
	sqlite3_close(h);
	fault_countdown = saved;
}

static void
fault_loop(int code)
{
	struct pf_store			*st;
	struct store_attempt_end	 e;
	struct pf_err			 err;
	int64_t				 wf, run, att;
	long				 n;
	int				 failures = 0, rc;

	fault_code = code;
	cr_assert_eq(store_open(db, STORE_RW, &st, &err), 0, "%s", err.msg);
	cr_assert_eq(store_workflow_upsert(st, "wf", NULL, NULL, NULL, &wf,
	    &err), 0, "%s", err.msg);
	cr_assert_eq(store_run_begin(st, wf, "manual", 1000, &run, &err), 0);
	for (n = 0; n < 200; n++) {
		fault_hit = 0;
		fault_countdown = n;
		rc = store_attempt_begin(st, run, "t", 1, 2000, &att, &err);
		if (rc == 0) {
			store_attempt_end_init(&e);
			e.status = PF_STATUS_SUCCESS;
			e.ended_ms = 3000;
			e.duration_ms = 1000;
			e.stdout_data = "out";
			e.stdout_len = 3;
			rc = store_attempt_end(st, att, &e, &err);
		}
		fault_countdown = -1;
		if (rc == -1) {
			failures++;
			cr_assert(fault_hit, "failed without a fault: %s",
			    err.msg);
			cr_assert_neq(strlen(err.msg), 0);
		}
		check_consistent();
		if (!fault_hit)
			break;		/* every write point has been tried */
	}
	cr_assert_lt(n, 200, "the loop never got past the faults");
	cr_assert_gt(failures, 0, "no fault was ever injected");
	cr_log_info("%d of %ld fault points failed the write", failures, n);
	/* The store is still usable after all those failures. */
	cr_assert_eq(store_run_end(st, run, PF_STATUS_SUCCESS,
	    4000, NULL, &err), 0,
	    "%s", err.msg);
	store_close(st);
	check_consistent();
}

Test(store_faults, disk_full_at_every_write)
{
	fault_loop(SQLITE_FULL);
}

Test(store_faults, io_error_at_every_write)
{
	fault_loop(SQLITE_IOERR);
}

/* Executions in the file, through a plain connection, faults off. */
static int64_t
count_runs(void)
{
	sqlite3		*h;
	sqlite3_stmt	*s;
	long		 saved = fault_countdown;
	int64_t		 v;

	fault_countdown = -1;
	cr_assert_eq(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL),
	    SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(h, "SELECT (SELECT count(*) FROM "
	    "executions) * 1000 + (SELECT count(*) FROM task_executions)", -1,
	    &s, NULL), SQLITE_OK);
	cr_assert_eq(sqlite3_step(s), SQLITE_ROW);
	v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(h);
	fault_countdown = saved;
	return v;
}

/*
 * Retention under I/O faults: a prune (per-workflow rules) fails with a
 * message or succeeds, and either way the file holds all 8 runs or the
 * 3 that should stay with their attempts, never something in between.
 */
static void
prune_fault_loop(int code)
{
	struct pf_store			*st;
	struct store_attempt_end	 e;
	struct store_prune_rule		 d, r;
	struct pf_err			 err;
	int64_t				 wf, run, att, del, left;
	long				 n;
	int				 failures = 0, rc, i, w;

	fault_code = code;
	cr_assert_eq(store_open(db, STORE_RW, &st, &err), 0, "%s", err.msg);
	for (w = 0; w < 2; w++) {
		cr_assert_eq(store_workflow_upsert(st, w ? "b" : "a", NULL,
		    NULL, NULL, &wf, &err), 0, "%s", err.msg);
		for (i = 0; i < 4; i++) {
			cr_assert_eq(store_run_begin(st, wf, "cron", 1000 +
			    i * 100 + w, &run, &err), 0);
			cr_assert_eq(store_attempt_begin(st, run, "t", 1, 1000 +
			    i * 100 + w, &att, &err), 0);
			store_attempt_end_init(&e);
			e.status = PF_STATUS_SUCCESS;
			e.ended_ms = 2000;
			e.stdout_data = "0123456789";
			e.stdout_len = 10;
			cr_assert_eq(store_attempt_end(st, att, &e, &err), 0);
			cr_assert_eq(store_run_end(st, run, PF_STATUS_SUCCESS,
			    2000,
			    NULL, &err), 0);
		}
	}
	store_close(st);
	memset(&d, 0, sizeof(d));
	d.keep = 1;			/* b: 3 go */
	memset(&r, 0, sizeof(r));
	r.workflow = "a";
	r.max_bytes = 25;		/* a: the oldest 2 go */
	for (n = 0; n < 500; n++) {
		cr_assert_eq(store_open(db, STORE_RW, &st, &err), 0, "%s",
		    err.msg);
		fault_hit = 0;
		fault_countdown = n;
		del = -1;
		rc = store_prune_rules(st, &d, &r, 1, &del, &err);
		fault_countdown = -1;
		store_close(st);
		left = count_runs();
		if (rc == -1) {
			failures++;
			cr_assert(fault_hit, "failed without a fault: %s",
			    err.msg);
			cr_assert_neq(strlen(err.msg), 0);
			cr_assert_eq(del, 0);
			cr_assert(left == 8008 || left == 3003, "n=%ld: %lld "
			    "(runs * 1000 + attempts)", n, (long long)left);
		} else
			cr_assert_eq(left, 3003, "n=%ld", n);
		check_consistent();
		if (left == 3003)
			break;
	}
	cr_assert_lt(n, 500, "the loop never got past the faults");
	cr_assert_gt(failures, 0, "no fault was ever injected");
	cr_log_info("%d fault points failed the prune, then it %s", failures,
	    rc == 0 ? "succeeded" : "failed but was committed");
}

Test(store_faults, prune_disk_full_at_every_write)
{
	prune_fault_loop(SQLITE_FULL);
}

Test(store_faults, prune_io_error_at_every_write)
{
	prune_fault_loop(SQLITE_IOERR);
}

/*
 * A batch under I/O faults (group commit): two attempts begun, one
 * ended with its output, the other's output appended, in one batch.  Whatever write or sync fails, the
 * batch's commit reports it, and the file holds all three changes or
 * none of them: a commit that failed never leaves part of a batch.
 */
static void
batch_fault_loop(int code)
{
	struct pf_store			*st;
	struct store_attempt_end	 e;
	struct store_chunk		 c;
	struct pf_err			 err;
	int64_t				 wf, run, a1, a2, left;
	long				 n;
	int				 failures = 0, rc;

	fault_code = code;
	cr_assert_eq(store_open(db, STORE_RW, &st, &err), 0, "%s", err.msg);
	cr_assert_eq(store_workflow_upsert(st, "wf", NULL, NULL, NULL, &wf,
	    &err), 0, "%s", err.msg);
	cr_assert_eq(store_run_begin(st, wf, "manual", 1000, &run, &err), 0);
	store_close(st);
	for (n = 0; n < 200; n++) {
		cr_assert_eq(store_open(db, STORE_RW, &st, &err), 0, "%s",
		    err.msg);
		fault_hit = 0;
		fault_countdown = n;
		rc = store_batch_begin(st, &err);
		if (rc == 0) {
			/* Writes that fail inside are the commit's concern. */
			if (store_attempt_begin(st, run, "a", 1, 2000, &a1,
			    &err) == 0) {
				store_attempt_end_init(&e);
				e.status = PF_STATUS_SUCCESS;
				e.ended_ms = 3000;
				e.stdout_data = "out";
				e.stdout_len = 3;
				(void)store_attempt_end(st, a1, &e, &err);
			}
			if (store_attempt_begin(st, run, "b", 1, 2000, &a2,
			    &err) == 0) {
				/* A transaction of its own: a savepoint. */
				c.attempt_id = a2;
				c.stream = STORE_STDOUT;
				c.data = "out";
				c.len = 3;
				(void)store_output_append(st, &c, 1, &err);
			}
			rc = store_batch_commit(st, &err);
		}
		fault_countdown = -1;
		store_close(st);
		left = count_runs();
		if (rc == -1) {
			failures++;
			cr_assert(fault_hit, "failed without a fault: %s",
			    err.msg);
			cr_assert_neq(strlen(err.msg), 0);
		}
		/* One run; none or both attempts, and a ended with it. */
		cr_assert(left == 1000 || left == 1002, "n=%ld: %lld", n,
		    (long long)left);
		check_consistent();
		if (rc == 0 && !fault_hit)
			break;	/* past the last fault point */
	}
	cr_assert_lt(n, 200, "the loop never got past the faults");
	cr_assert_gt(failures, 0, "no fault was ever injected");
	cr_log_info("%d fault points failed the batch", failures);
}

Test(store_faults, batch_disk_full_at_every_write)
{
	batch_fault_loop(SQLITE_FULL);
}

Test(store_faults, batch_io_error_at_every_write)
{
	batch_fault_loop(SQLITE_IOERR);
}
