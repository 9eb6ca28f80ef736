/*
 * The store's thin layer over SQLite's C API, used by every store file:
 * errors worded for a user, binding and stepping a cached statement,
 * transactions, one-off SQL, the argument checks every write makes, and
 * the column readers and array growth the list functions share.
 */
#include <stdint.h>
#include <string.h>

#include <sqlite3.h>

#include "picoflow/alloc.h"
#include "picoflow/err.h"
#include "picoflow/store.h"
#include "store_int.h"

void
store_sqlerr(struct pf_store *st, struct pf_err *err, const char *what)
{
	int	 rc = sqlite3_errcode(st->db);

	if ((rc & 0xff) == SQLITE_BUSY)
		pf_err_set(err, "%s: %s: the database stayed locked by another "
		    "writer for more than %d ms", st->path, what,
		    STORE_BUSY_TIMEOUT_MS);
	else if ((rc & 0xff) == SQLITE_NOTADB || (rc & 0xff) == SQLITE_CORRUPT)
		pf_err_set(err, "%s: %s: not a valid SQLite database or "
		    "corrupted (%s)", st->path, what, sqlite3_errmsg(st->db));
	else if ((rc & 0xff) == SQLITE_READONLY)
		pf_err_set(err, "%s: %s: the database is read-only (%s); check "
		    "its owner and mode", st->path, what,
		    sqlite3_errmsg(st->db));
	else
		pf_err_set(err, "%s: %s: %s", st->path, what,
		    sqlite3_errmsg(st->db));
}

void
store_stmt_done(sqlite3_stmt *s)
{
	(void)sqlite3_reset(s);
	(void)sqlite3_clear_bindings(s);
}

int
store_bind_text(sqlite3_stmt *s, int i, const char *v)
{
	if (v == NULL)
		return sqlite3_bind_null(s, i);
	return sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
}

/* Negative = unknown = NULL. */
int
store_bind_opt_i64(sqlite3_stmt *s, int i, int64_t v)
{
	if (v < 0)
		return sqlite3_bind_null(s, i);
	return sqlite3_bind_int64(s, i, v);
}

/* Runs a statement that returns no rows (or ignores them). */
int
store_step_done(struct pf_store *st, sqlite3_stmt *s, const char *what,
    struct pf_err *err)
{
	int	 rc;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		;
	if (rc != SQLITE_DONE) {
		store_sqlerr(st, err, what);
		store_stmt_done(s);
		return -1;
	}
	store_stmt_done(s);
	return 0;
}

/*
 * store_step_done for an insert whose row refers to a parent: a foreign
 * key failure says which parent (`what_parent` with id) is missing.
 */
int
store_step_fk(struct pf_store *st, sqlite3_stmt *s, const char *doing,
    const char *what_parent, int64_t id, struct pf_err *err)
{
	if (store_step_done(st, s, doing, err) == 0)
		return 0;
	if (sqlite3_extended_errcode(st->db) == SQLITE_CONSTRAINT_FOREIGNKEY)
		pf_err_set(err, "%s: no %s with id %lld", st->path,
		    what_parent, (long long)id);
	return -1;
}

int
store_check_writable(struct pf_store *st, struct pf_err *err)
{
	if (st == NULL) {
		pf_err_set(err, "state store is not open");
		return -1;
	}
	if (st->mode != STORE_RW) {
		pf_err_set(err, "%s: opened read-only; this needs a write",
		    st->path);
		return -1;
	}
	if (st->batch && sqlite3_get_autocommit(st->db)) {
		/* Not a write of its own: the batch's commit fails. */
		pf_err_set(err, "%s: the open batch was rolled back by an "
		    "earlier error", st->path);
		return -1;
	}
	return 0;
}

int
store_check_ms(int64_t ms, const char *what, struct pf_err *err)
{
	if (ms < 0 || ms > STORE_MAX_MS) {
		pf_err_set(err, "%s time %lld ms is out of range", what,
		    (long long)ms);
		return -1;
	}
	return 0;
}

int
store_check_name(const char *s, const char *what, struct pf_err *err)
{
	if (s == NULL || *s == '\0') {
		pf_err_set(err, "%s name is empty", what);
		return -1;
	}
	return 0;
}

/*
 * A transaction of its own, or inside a batch a savepoint, so that a
 * write that fails undoes its own part and leaves the batch's others.
 */
int
store_tx_begin(struct pf_store *st, struct pf_err *err)
{
	sqlite3_stmt	*s;

	if ((s = store_stmt(st, st->batch ? SQ_SAVEPOINT : SQ_BEGIN,
	    err)) == NULL)
		return -1;
	return store_step_done(st, s, "starting a transaction", err);
}

int
store_tx_commit(struct pf_store *st, struct pf_err *err)
{
	sqlite3_stmt	*s;

	if ((s = store_stmt(st, st->batch ? SQ_RELEASE : SQ_COMMIT,
	    err)) == NULL)
		return -1;
	return store_step_done(st, s, "committing", err);
}

void
store_tx_rollback(struct pf_store *st)
{
	if (sqlite3_get_autocommit(st->db))
		return;	/* nothing open (SQLite may have rolled back) */
	if (!st->batch) {
		(void)sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		return;
	}
	if (sqlite3_exec(st->db, "ROLLBACK TO pf_tx", NULL, NULL, NULL) ==
	    SQLITE_OK)
		(void)sqlite3_exec(st->db, "RELEASE pf_tx", NULL, NULL, NULL);
}

int
store_batch_begin(struct pf_store *st, struct pf_err *err)
{
	if (store_check_writable(st, err) == -1)
		return -1;
	if (st->batch) {
		pf_err_set(err, "%s: a batch is open already", st->path);
		return -1;
	}
	if (store_tx_begin(st, err) == -1)
		return -1;
	st->batch = 1;
	return 0;
}

int
store_batch_open(const struct pf_store *st)
{
	return st != NULL && st->batch;
}

int
store_batch_commit(struct pf_store *st, struct pf_err *err)
{
	if (!st->batch)
		return 0;
	st->batch = 0;
	if (sqlite3_get_autocommit(st->db)) {
		/* SQLite rolled it back on an error (full disk, I/O). */
		pf_err_set(err, "%s: committing: the transaction was rolled "
		    "back by an earlier error", st->path);
		return -1;
	}
	if (store_tx_commit(st, err) == -1) {
		store_tx_rollback(st);
		return -1;
	}
	return 0;
}

void
store_batch_rollback(struct pf_store *st)
{
	if (!st->batch)
		return;
	st->batch = 0;
	store_tx_rollback(st);
}

int
store_exec_sql(struct pf_store *st, const char *sql, const char *what,
    struct pf_err *err)
{
	if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
		store_sqlerr(st, err, what);
		return -1;
	}
	return 0;
}

/* A single integer from a one-row query; -1 with err on failure. */
int
store_query_int(struct pf_store *st, const char *sql, int64_t *out,
    struct pf_err *err)
{
	sqlite3_stmt	*s;
	int		 rc;

	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK) {
		store_sqlerr(st, err, "reading the database");
		return -1;
	}
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(s, 0);
	else if (rc == SQLITE_DONE)
		*out = 0;
	else {
		store_sqlerr(st, err, "reading the database");
		sqlite3_finalize(s);
		return -1;
	}
	sqlite3_finalize(s);
	return 0;
}

/* Copies a text column; 0 with *out NULL for SQL NULL, -1 when OOM. */
int
store_col_str(sqlite3_stmt *s, int i, char **out)
{
	const unsigned char	*t;
	int			 n;

	*out = NULL;
	if (sqlite3_column_type(s, i) == SQLITE_NULL)
		return 0;
	if ((t = sqlite3_column_text(s, i)) == NULL)
		return -1;	/* NULL for a non-NULL value: OOM */
	n = sqlite3_column_bytes(s, i);
	if ((*out = pf_strndup((const char *)t, (size_t)n)) == NULL)
		return -1;
	return 0;
}

int64_t
store_col_i64(sqlite3_stmt *s, int i, int64_t dflt)
{
	if (sqlite3_column_type(s, i) == SQLITE_NULL)
		return dflt;
	return sqlite3_column_int64(s, i);
}

/* Grows *v (of elements of size sz) so that index n fits. */
int
store_grow(void **v, size_t *cap, size_t n, size_t sz)
{
	void	*nv;
	size_t	 ncap;

	if (n < *cap)
		return 0;
	ncap = *cap == 0 ? 8 : *cap * 2;
	if (ncap < *cap || (nv = pf_reallocarray(*v, ncap, sz)) == NULL)
		return -1;
	memset((char *)nv + *cap * sz, 0, (ncap - *cap) * sz);
	*v = nv;
	*cap = ncap;
	return 0;
}
