/*
 * The store suites' scratch database (store_fixture.h).
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>

#include <sqlite3.h>

#include "picoflow/alloc.h"
#include "picoflow/store.h"
#include "proc.h"
#include "store_fixture.h"

char	*store_fx_dir;
char	 store_fx_db[4200];

void
store_fx_setup(void)
{
	store_fx_dir = test_tmpdir("store");
	cr_assert_not_null(store_fx_dir);
	snprintf(store_fx_db, sizeof(store_fx_db), "%s/p.db", store_fx_dir);
}

void
store_fx_teardown(void)
{
	pf_alloc_fail_after(-1);
	test_rmrf(store_fx_dir);
	free(store_fx_dir);
	store_fx_dir = NULL;
}

struct pf_store *
store_fx_open(enum store_mode mode)
{
	struct pf_store	*st;
	struct pf_err	 err;

	cr_assert_eq(store_open(store_fx_db, mode, &st, &err), 0, "%s",
	    err.msg);
	return st;
}

void
store_fx_exec(const char *sql)
{
	sqlite3	*h;
	char	*msg = NULL;

	cr_assert_eq(sqlite3_open(store_fx_db, &h), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(h, sql, NULL, NULL, &msg), SQLITE_OK,
	    "%s: %s", sql, msg ? msg : "?");
	sqlite3_close(h);
}

int64_t
store_fx_int(const char *sql)
{
	sqlite3		*h;
	sqlite3_stmt	*s;
	int64_t		 v = -999;

	cr_assert_eq(sqlite3_open(store_fx_db, &h), SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(h, sql, -1, &s, NULL), SQLITE_OK,
	    "%s", sqlite3_errmsg(h));
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_type(s, 0) == SQLITE_NULL ? -2 :
		    sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(h);
	return v;
}
