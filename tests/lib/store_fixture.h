/*
 * The scratch database of the store suites (test_store_*.c): a fresh
 * directory per test with the database path in it, opening it through
 * the store, and raw SQL on the side (sqlite3 directly, to set up what
 * the store would refuse to write or to check what it wrote).
 *
 *	TestSuite(x, .init = store_fx_setup, .fini = store_fx_teardown);
 */
#ifndef PICOFLOW_TEST_STORE_FIXTURE_H
#define PICOFLOW_TEST_STORE_FIXTURE_H

#include <stdint.h>

#include "picoflow/store.h"

/* 2024-03-04T02:00:00Z, the suites' epoch. */
#define T0	INT64_C(1709517600000)

/* The scratch directory and DIR/p.db (set by store_fx_setup). */
extern char	*store_fx_dir;
extern char	 store_fx_db[4200];

void	 store_fx_setup(void);
/* Also disarms the allocation hook a failed test may have left armed. */
void	 store_fx_teardown(void);
/* store_open of the database; fails the test when it cannot. */
struct pf_store *store_fx_open(enum store_mode);
/* Runs SQL on the file directly; fails the test on an error. */
void	 store_fx_exec(const char *sql);
/* The first column of the first row: -2 when NULL, -999 with no row. */
int64_t	 store_fx_int(const char *sql);

#endif
