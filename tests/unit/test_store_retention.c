/*
 * Retention with per-workflow rules (store_prune_rules,
 * store_prune_workflow, and store_prune on top of them): which runs go
 * and which stay, exactly, at the boundaries of each limit (0 = none, 1,
 * exactly at the limit, one past it); running runs neither go nor count;
 * refused input; and SQLite running out of memory at every allocation of
 * a prune, which must leave the database as it was or fully pruned.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "picoflow/store.h"
#include "../lib/proc.h"
#include "../lib/store_fixture.h"

TestSuite(storeret, .init = store_fx_setup, .fini = store_fx_teardown,
    .timeout = 120);

static int64_t
wf_id(struct pf_store *st, const char *name)
{
	struct pf_err	 err;
	int64_t		 id;

	cr_assert_eq(store_workflow_upsert(st, name, NULL, NULL, NULL, &id,
	    &err), 0, "%s", err.msg);
	return id;
}

/*
 * A run of workflow wf started at `start` with one attempt of `bytes`
 * bytes of output (none when 0); finished with success unless running.
 */
static int64_t
add_run(struct pf_store *st, int64_t wf, int64_t start, size_t bytes,
    int running)
{
	static char		 out[4096];
	struct store_attempt_end e;
	struct pf_err		 err;
	int64_t			 run, att;

	memset(out, 'x', sizeof(out));
	cr_assert_leq(bytes, sizeof(out));
	cr_assert_eq(store_run_begin(st, wf, "manual", start, &run, &err), 0,
	    "%s", err.msg);
	cr_assert_eq(store_attempt_begin(st, run, "t", 1, start, &att, &err),
	    0, "%s", err.msg);
	if (running)
		return run;
	store_attempt_end_init(&e);
	e.status = PF_STATUS_SUCCESS;
	e.ended_ms = start + 1;
	e.stdout_data = out;
	e.stdout_len = bytes;
	cr_assert_eq(store_attempt_end(st, att, &e, &err), 0, "%s", err.msg);
	cr_assert_eq(store_run_end(st, run, PF_STATUS_SUCCESS,
	    start + 1, NULL, &err),
	    0, "%s", err.msg);
	return run;
}

/* The ids of a workflow's runs left, oldest first, as "1,2,3" ("" none). */
static const char *
left(struct pf_store *st, const char *wf)
{
	static char		 buf[512];
	struct store_run	*r;
	struct pf_err		 err;
	size_t			 n, i, k = 0;

	cr_assert_eq(store_runs_list(st, wf, NULL, 0, &r, &n, &err), 0, "%s",
	    err.msg);
	buf[0] = '\0';
	for (i = n; i-- > 0;)
		k += (size_t)snprintf(buf + k, sizeof(buf) - k, "%s%lld",
		    k ? "," : "", (long long)r[i].id);
	store_runs_free(r, n);
	return buf;
}

static int64_t
prune1(struct pf_store *st, const char *wf, int64_t older, int64_t keep,
    int64_t bytes)
{
	struct pf_err	 err;
	int64_t		 del = -1;

	cr_assert_eq(store_prune_workflow(st, wf, older, keep, bytes, &del,
	    &err), 0, "%s", err.msg);
	return del;
}

/* Five finished runs of "w" at T0+1000..T0+5000, 100 bytes each. */
static struct pf_store *
five(void)
{
	struct pf_store	*st = store_fx_open(STORE_RW);
	int64_t		 w = wf_id(st, "w");
	int		 i;

	for (i = 1; i <= 5; i++)
		add_run(st, w, T0 + i * 1000, 100, 0);
	cr_assert_str_eq(left(st, "w"), "1,2,3,4,5");
	return st;
}

Test(storeret, age_boundaries)
{
	struct pf_store	*st = five();

	cr_assert_eq(prune1(st, "w", 0, 0, 0), 0, "0 = no limit");
	cr_assert_eq(prune1(st, "w", 1, 0, 0), 0, "nothing before 1 ms");
	cr_assert_eq(prune1(st, "w", T0 + 1000, 0, 0), 0,
	    "started exactly at the limit: stays");
	cr_assert_eq(prune1(st, "w", T0 + 1001, 0, 0), 1);
	cr_assert_str_eq(left(st, "w"), "2,3,4,5");
	cr_assert_eq(prune1(st, "w", T0 + 4000, 0, 0), 2);
	cr_assert_str_eq(left(st, "w"), "4,5");
	store_close(st);
	cr_assert_eq(store_fx_int("SELECT count(*) FROM task_executions"), 2,
	    "the attempts went with their runs");
}

Test(storeret, count_boundaries)
{
	struct pf_store	*st = five();

	cr_assert_eq(prune1(st, "w", 0, 5, 0), 0, "exactly at the limit");
	cr_assert_eq(prune1(st, "w", 0, 6, 0), 0);
	cr_assert_eq(prune1(st, "w", 0, 4, 0), 1, "one past it");
	cr_assert_str_eq(left(st, "w"), "2,3,4,5");
	cr_assert_eq(prune1(st, "w", 0, 1, 0), 3);
	cr_assert_str_eq(left(st, "w"), "5", "the newest");
	cr_assert_eq(prune1(st, "w", 0, 1, 0), 0);
	store_close(st);
}

Test(storeret, bytes_boundaries)
{
	struct pf_store	*st = five();
	int64_t		 w = wf_id(st, "w");

	cr_assert_eq(prune1(st, "w", 0, 0, 500), 0, "exactly at the limit");
	cr_assert_eq(prune1(st, "w", 0, 0, 499), 1, "one byte over");
	cr_assert_str_eq(left(st, "w"), "2,3,4,5");
	/* A run without output costs nothing but goes once older ones do. */
	add_run(st, w, T0 + 6000, 0, 0);
	cr_assert_eq(prune1(st, "w", 0, 0, 400), 0);
	cr_assert_eq(prune1(st, "w", 0, 0, 200), 2, "runs 2 and 3");
	cr_assert_str_eq(left(st, "w"), "4,5,6");
	/* 1 byte: any run with output breaks it, and all older ones. */
	cr_assert_eq(prune1(st, "w", 0, 0, 1), 2);
	cr_assert_str_eq(left(st, "w"), "6");
	store_close(st);
}

Test(storeret, running_runs_neither_go_nor_count)
{
	struct pf_store	*st = store_fx_open(STORE_RW);
	int64_t		 w = wf_id(st, "w"), old;

	old = add_run(st, w, T0, 4000, 1);		/* 1: running */
	add_run(st, w, T0 + 1000, 100, 0);		/* 2 */
	add_run(st, w, T0 + 2000, 100, 0);		/* 3 */
	add_run(st, w, T0 + 3000, 100, 1);		/* 4: running */
	add_run(st, w, T0 + 4000, 100, 0);		/* 5 */
	cr_assert_eq(prune1(st, "w", 0, 2, 0), 1, "keeps 3 and 5");
	cr_assert_str_eq(left(st, "w"), "1,3,4,5");
	cr_assert_eq(prune1(st, "w", T0 + 100000, 0, 0), 2, "3 and 5");
	cr_assert_str_eq(left(st, "w"), "1,4");
	cr_assert_eq(prune1(st, "w", 0, 0, 1), 0, "nothing finished left");
	cr_assert_eq(prune1(st, "w", T0 + 100000, 1, 1), 0);
	cr_assert_str_eq(left(st, "w"), "1,4");
	(void)old;
	store_close(st);
}

/*
 * Three workflows: "a" has its own count, "b" its own age and bytes,
 * "c" the default rule.  A rule replaces the default wholly: a 0 in it is
 * no limit of that kind, not the default's.
 */
Test(storeret, rules_replace_the_default_per_workflow)
{
	struct pf_store		*st = store_fx_open(STORE_RW);
	struct store_prune_rule	 d, r[2];
	struct pf_err		 err;
	int64_t			 a = wf_id(st, "a"), b = wf_id(st, "b"),
				 c = wf_id(st, "c"), del;
	int			 i;

	for (i = 1; i <= 4; i++) {
		add_run(st, a, T0 + i * 1000, 100, 0);	/* 1,4,7,10 */
		add_run(st, b, T0 + i * 1000, 100, 0);	/* 2,5,8,11 */
		add_run(st, c, T0 + i * 1000, 100, 0);	/* 3,6,9,12 */
	}
	memset(&d, 0, sizeof(d));
	d.keep = 2;
	d.older_than_ms = T0 + 1500;
	memset(r, 0, sizeof(r));
	r[0].workflow = "a";
	r[0].keep = 3;			/* larger than the default */
	r[1].workflow = "b";
	r[1].older_than_ms = T0 + 2500;	/* no count limit for b */
	r[1].max_bytes = 150;		/* smaller: keeps one run */
	cr_assert_eq(store_prune_rules(st, &d, r, 2, &del, &err), 0, "%s",
	    err.msg);
	cr_assert_eq(del, 1 + 3 + 2);
	cr_assert_str_eq(left(st, "a"), "4,7,10", "own count, no age limit");
	cr_assert_str_eq(left(st, "b"), "11", "own age and bytes");
	cr_assert_str_eq(left(st, "c"), "9,12", "the default");
	/* Again: nothing more breaks a limit. */
	cr_assert_eq(store_prune_rules(st, &d, r, 2, &del, &err), 0);
	cr_assert_eq(del, 0);
	/* No default: unnamed workflows are left alone. */
	r[0].keep = 1;
	cr_assert_eq(store_prune_rules(st, NULL, r, 1, &del, &err), 0);
	cr_assert_eq(del, 2);
	cr_assert_str_eq(left(st, "a"), "10");
	cr_assert_str_eq(left(st, "c"), "9,12");
	/* store_prune is the default rule for everyone. */
	cr_assert_eq(store_prune(st, 0, 1, &del, &err), 0);
	cr_assert_eq(del, 1);
	cr_assert_str_eq(left(st, "c"), "12");
	/* A rule for a workflow that does not exist changes nothing. */
	cr_assert_eq(prune1(st, "nobody", 0, 1, 1), 0);
	store_close(st);
	cr_assert_eq(store_fx_int("SELECT count(*) FROM task_executions"), 3);
	cr_assert_eq(store_fx_int("SELECT count(*) FROM run_meta"), 0);
}

/* The limits of one rule combine: a run goes when it breaks any. */
Test(storeret, limits_of_a_rule_combine)
{
	struct pf_store	*st = five();

	/* Age takes 1, count would keep 3, bytes (250) keeps 2. */
	cr_assert_eq(prune1(st, "w", T0 + 1500, 3, 250), 3);
	cr_assert_str_eq(left(st, "w"), "4,5");
	store_close(st);
}

Test(storeret, refused_input)
{
	struct pf_store		*st = five(), *ro;
	struct store_prune_rule	 r[2];
	struct pf_err		 err;
	int64_t			 del = 7;

	memset(r, 0, sizeof(r));
	r[0].workflow = "w";
	r[0].keep = 1;
	r[1] = r[0];
	cr_assert_eq(store_prune_rules(st, NULL, r, 2, &del, &err), -1);
	cr_assert_str_eq(err.msg, "workflow w has two retention rules");
	cr_assert_eq(del, 0);
	r[1].workflow = "";
	cr_assert_eq(store_prune_rules(st, NULL, r, 2, &del, &err), -1);
	cr_assert_str_eq(err.msg, "a retention rule names no workflow");
	r[1].workflow = NULL;
	cr_assert_eq(store_prune_rules(st, NULL, r, 2, &del, &err), -1);
	cr_assert_eq(store_prune_rules(st, NULL, NULL, 1, &del, &err), -1);
	cr_assert_str_eq(err.msg, "retention rules missing");
	cr_assert_eq(store_prune_workflow(st, "w", -1, 0, 0, &del, &err), -1);
	cr_assert_str_eq(err.msg, "retention of workflow w: time -1 ms is "
	    "out of range");
	cr_assert_eq(store_prune_workflow(st, "w", INT64_MAX, 0, 0, &del,
	    &err), -1);
	cr_assert_eq(store_prune_workflow(st, "w", 0, -1, 0, &del, &err), -1);
	cr_assert_str_eq(err.msg, "retention of workflow w: negative limit");
	cr_assert_eq(store_prune_workflow(st, "w", 0, 0, -5, &del, &err), -1);
	cr_assert_eq(store_prune_workflow(st, NULL, 0, 1, 0, &del, &err), -1);
	cr_assert_str_eq(err.msg, "workflow name is empty");
	r[0].keep = -2;
	cr_assert_eq(store_prune_rules(st, &r[0], NULL, 0, &del, &err), -1);
	cr_assert_str_eq(err.msg, "retention of workflow (default): negative "
	    "limit");
	cr_assert_str_eq(left(st, "w"), "1,2,3,4,5", "nothing was pruned");
	store_close(st);
	cr_assert_eq(store_open(store_fx_db, STORE_RO, &ro, &err), 0, "%s",
	    err.msg);
	cr_assert_eq(store_prune_workflow(ro, "w", 0, 1, 0, &del, &err), -1);
	cr_assert(strstr(err.msg, "opened read-only") != NULL, "%s", err.msg);
	store_close(ro);
	cr_assert_eq(store_fx_int("SELECT count(*) FROM executions"), 5);
}

/* Rules big enough to be interesting: 200 workflows, one rule each. */
Test(storeret, many_rules)
{
	struct pf_store		*st = store_fx_open(STORE_RW);
	struct store_prune_rule	 r[200];
	struct pf_err		 err;
	char			 names[200][16];
	int64_t			 del, w;
	int			 i;

	for (i = 0; i < 200; i++) {
		snprintf(names[i], sizeof(names[i]), "w%03d", i);
		w = wf_id(st, names[i]);
		add_run(st, w, T0 + 1000, 10, 0);
		add_run(st, w, T0 + 2000, 10, 0);
		memset(&r[i], 0, sizeof(r[i]));
		r[i].workflow = names[i];
		r[i].keep = i % 2 ? 1 : 0;	/* odd ones keep one run */
	}
	cr_assert_eq(store_prune_rules(st, NULL, r, 200, &del, &err), 0, "%s",
	    err.msg);
	cr_assert_eq(del, 100);
	store_close(st);
	cr_assert_eq(store_fx_int("SELECT count(*) FROM executions"), 300);
}

/* ---- SQLite out of memory ------------------------------------------------ */

/* Test-only: this process owns the countdown (-1 = never fail). */
static long			 oom_countdown = -1;
static int			 oom_hit;
static sqlite3_mem_methods	 real_mem;

static int
oom_now(void)
{
	if (oom_countdown < 0)
		return 0;
	if (oom_countdown == 0) {
		oom_hit = 1;
		return 1;
	}
	oom_countdown--;
	return 0;
}

static void *
oom_malloc(int n)
{
	return oom_now() ? NULL : real_mem.xMalloc(n);
}

static void *
oom_realloc(void *p, int n)
{
	return oom_now() ? NULL : real_mem.xRealloc(p, n);
}

static void
install_oom(void)
{
	sqlite3_mem_methods	 m;

	cr_assert_eq(sqlite3_shutdown(), SQLITE_OK);
	cr_assert_eq(sqlite3_config(SQLITE_CONFIG_GETMALLOC, &real_mem),
	    SQLITE_OK);
	m = real_mem;
	m.xMalloc = oom_malloc;
	m.xRealloc = oom_realloc;
	cr_assert_eq(sqlite3_config(SQLITE_CONFIG_MALLOC, &m), SQLITE_OK);
	cr_assert_eq(sqlite3_initialize(), SQLITE_OK);
}

/*
 * Each try opens a fresh handle (a failed prepare is retried on the next
 * call, so one handle would only fail once per statement), lets SQLite's
 * Nth allocation fail inside the prune, and checks that the prune either
 * failed with a message and changed nothing, or did all of it.
 */
Test(storeret, sqlite_out_of_memory_at_every_allocation)
{
	struct pf_store		*st;
	struct store_prune_rule	 d, r;
	struct pf_err		 err;
	int64_t			 a, b, del;
	long			 n;
	int			 rc, failures = 0, i;

	install_oom();
	st = store_fx_open(STORE_RW);
	a = wf_id(st, "a");
	b = wf_id(st, "b");
	for (i = 1; i <= 4; i++) {
		add_run(st, a, T0 + i * 1000, 100, 0);
		add_run(st, b, T0 + i * 1000, 100, 0);
	}
	store_close(st);
	memset(&d, 0, sizeof(d));
	d.keep = 1;
	memset(&r, 0, sizeof(r));
	r.workflow = "a";
	r.max_bytes = 250;
	for (n = 0; n < 5000; n++) {
		st = store_fx_open(STORE_RW);
		oom_hit = 0;
		oom_countdown = n;
		del = -1;
		rc = store_prune_rules(st, &d, &r, 1, &del, &err);
		oom_countdown = -1;
		if (rc == -1) {
			failures++;
			cr_assert(oom_hit, "failed without a fault: %s",
			    err.msg);
			cr_assert_neq(err.msg[0], '\0');
			cr_assert_eq(del, 0);
		}
		store_close(st);
		if (rc == -1)
			cr_assert_eq(store_fx_int("SELECT count(*) FROM "
			    "executions"), 8, "n=%ld: a failed prune changed nothing", n);
		else {
			cr_assert_eq(del, 2 + 3, "n=%ld", n);
			break;
		}
	}
	cr_assert_lt(n, 5000, "the loop never got past the faults");
	cr_assert_gt(failures, 0, "no fault was ever injected");
	cr_log_info("%d allocation failures, then a prune", failures);
	cr_assert_eq(store_fx_int("SELECT count(*) FROM executions"), 3);
	cr_assert_eq(store_fx_int("SELECT count(*) FROM task_executions"), 3);
}
