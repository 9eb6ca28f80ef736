#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "picoflow/alloc.h"
#include "picoflow/dag.h"
#include "picoflow/err.h"
#include "../lib/faultloop.h"

/* Edges as "node depends on dep" pairs. */
struct edge {
	size_t	 node, dep;
};

static void
build(struct dag *d, size_t n, const struct edge *e, size_t ne, int expect)
{
	struct pf_err	 err;
	size_t		 i;

	cr_assert_eq(dag_init(d, n), 0);
	for (i = 0; i < ne; i++)
		cr_assert_eq(dag_add_edge(d, e[i].node, e[i].dep, &err), 0);
	err.msg[0] = '\0';
	cr_assert_eq(dag_finish(d, &err), expect, "dag_finish: %s", err.msg);
}

static void
expect_order(const struct dag *d, const size_t *want, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		cr_expect_eq(d->order[i], want[i], "order[%zu] = %zu, want %zu",
		    i, d->order[i], want[i]);
}

Test(dag, empty_graph)
{
	struct dag	 d;

	build(&d, 0, NULL, 0, 0);
	cr_assert_eq(d.nlevels, 0);
	cr_assert_eq(dag_nedges(&d), 0);
	dag_free(&d);
}

Test(dag, diamond_order_and_levels)
{
	/* 0 <- 1, 0 <- 2, {1,2} <- 3; 4 independent; 5 depends on 4 */
	static const struct edge e[] = {
		{ 3, 1 }, { 3, 2 }, { 1, 0 }, { 2, 0 }, { 5, 4 },
	};
	static const size_t want[] = { 0, 4, 1, 2, 5, 3 };
	static const unsigned lvl[] = { 0, 1, 1, 2, 0, 1 };
	struct dag	 d;
	size_t		 i;

	build(&d, 6, e, 5, 0);
	expect_order(&d, want, 6);
	for (i = 0; i < 6; i++)
		cr_expect_eq(d.level[i], lvl[i], "level[%zu]", i);
	cr_assert_eq(d.nlevels, 3);
	cr_assert_eq(dag_nedges(&d), 5);
	/* dependencies keep their added order, dependents ascend */
	cr_assert_eq(d.dep_off[3 + 1] - d.dep_off[3], 2);
	cr_assert_eq(d.dep[d.dep_off[3]], 1);
	cr_assert_eq(d.dep[d.dep_off[3] + 1], 2);
	cr_assert_eq(d.out_off[1] - d.out_off[0], 2);
	cr_assert_eq(d.out[d.out_off[0]], 1);
	cr_assert_eq(d.out[d.out_off[0] + 1], 2);
	dag_free(&d);
}

Test(dag, level_is_longest_chain)
{
	/* 3 depends on 0 directly and through 1 -> 2: level 3, not 1 */
	static const struct edge e[] = {
		{ 3, 0 }, { 1, 0 }, { 2, 1 }, { 3, 2 },
	};
	static const size_t want[] = { 0, 1, 2, 3 };
	struct dag	 d;

	build(&d, 4, e, 4, 0);
	expect_order(&d, want, 4);
	cr_assert_eq(d.level[3], 3);
	dag_free(&d);
}

Test(dag, ties_in_file_order)
{
	/* later nodes first in the file order of dependencies */
	static const struct edge e[] = { { 0, 4 }, { 1, 3 }, { 2, 3 } };
	static const size_t want[] = { 3, 4, 0, 1, 2 };
	struct dag	 d;

	build(&d, 5, e, 3, 0);
	expect_order(&d, want, 5);
	dag_free(&d);
}

Test(dag, duplicate_edges_dropped)
{
	static const struct edge e[] = { { 1, 0 }, { 1, 0 }, { 1, 0 } };
	struct dag	 d;

	build(&d, 2, e, 3, 0);
	cr_assert_eq(d.ndup, 2);
	cr_assert_eq(dag_nedges(&d), 1);
	cr_assert_eq(d.level[1], 1);
	dag_free(&d);
}

Test(dag, out_of_range_edge_rejected)
{
	struct dag	 d;
	struct pf_err	 err;

	cr_assert_eq(dag_init(&d, 2), 0);
	cr_assert_eq(dag_add_edge(&d, 2, 0, &err), -1);
	cr_assert_eq(dag_add_edge(&d, 0, 5, &err), -1);
	dag_free(&d);
}

Test(dag, self_dependency_is_cycle_of_one)
{
	static const struct edge e[] = { { 0, 1 }, { 1, 1 } };
	struct dag	 d;

	build(&d, 2, e, 2, -1);
	cr_assert_eq(d.ncycles, 1);
	cr_assert_eq(d.cycles[0].len, 1);
	cr_assert_eq(d.cycles[0].path[0], 1);
	cr_assert_eq(d.cycles[0].edge_node, 1);
	cr_assert_eq(d.cycles[0].edge_slot, 0);
	cr_assert_null(d.order);
	dag_free(&d);
}

Test(dag, two_cycle)
{
	static const struct edge e[] = { { 0, 1 }, { 1, 0 } };
	struct dag	 d;
	struct pf_err	 err;

	cr_assert_eq(dag_init(&d, 2), 0);
	cr_assert_eq(dag_add_edge(&d, e[0].node, e[0].dep, &err), 0);
	cr_assert_eq(dag_add_edge(&d, e[1].node, e[1].dep, &err), 0);
	cr_assert_eq(dag_finish(&d, &err), -1);
	cr_assert_str_eq(err.msg, "the dependencies form 1 cycle");
	cr_assert_eq(d.ncycles, 1);
	cr_assert_eq(d.cycles[0].len, 2);
	/* 0 -> 1 -> 0: 1 depends on 0, and 0 depends on 1 closes it */
	cr_assert_eq(d.cycles[0].path[0], 0);
	cr_assert_eq(d.cycles[0].path[1], 1);
	cr_assert_eq(d.cycles[0].edge_node, 0);
	cr_assert_eq(d.cycles[0].edge_slot, 0);
	dag_free(&d);
}

Test(dag, three_cycle_exact_path_and_edge)
{
	/*
	 * 0 "a" depends on [3, 2]; 1 "b" depends on 0; 2 "c" depends on 1.
	 * Cycle a -> b -> c -> a, closed by a's second dependency (on c).
	 * Node 3 is fine; node 4 depends on the cycle, it is not part of it.
	 */
	static const struct edge e[] = {
		{ 0, 3 }, { 0, 2 }, { 1, 0 }, { 2, 1 }, { 4, 2 },
	};
	struct dag	 d;

	build(&d, 5, e, 5, -1);
	cr_assert_eq(d.ncycles, 1);
	cr_assert_eq(d.cycles[0].len, 3);
	cr_assert_eq(d.cycles[0].path[0], 0);
	cr_assert_eq(d.cycles[0].path[1], 1);
	cr_assert_eq(d.cycles[0].path[2], 2);
	cr_assert_eq(d.cycles[0].edge_node, 0);
	cr_assert_eq(d.cycles[0].edge_slot, 1);
	dag_free(&d);
}

Test(dag, edge_slot_counts_duplicates_as_added)
{
	/* 0 depends on [2, 2, 1]; 1 depends on 0: slot of "1" is 2 */
	static const struct edge e[] = {
		{ 0, 2 }, { 0, 2 }, { 0, 1 }, { 1, 0 },
	};
	struct dag	 d;

	build(&d, 3, e, 4, -1);
	cr_assert_eq(d.ncycles, 1);
	cr_assert_eq(d.cycles[0].edge_node, 0);
	cr_assert_eq(d.cycles[0].edge_slot, 2);
	dag_free(&d);
}

Test(dag, two_separate_cycles_both_named)
{
	static const struct edge e[] = {
		{ 0, 1 }, { 1, 0 }, { 2, 3 }, { 3, 4 }, { 4, 2 },
	};
	struct dag	 d;

	build(&d, 5, e, 5, -1);
	cr_assert_eq(d.ncycles, 2);
	cr_assert_eq(d.cycles[0].len, 2);
	cr_assert_eq(d.cycles[1].len, 3);
	cr_assert_eq(d.cycles[1].path[0], 2);
	cr_assert_eq(d.cycles[1].path[1], 4);
	cr_assert_eq(d.cycles[1].path[2], 3);
	dag_free(&d);
}

Test(dag, cycle_count_capped)
{
	struct dag	 d;
	struct pf_err	 err;
	size_t		 i;

	cr_assert_eq(dag_init(&d, 100), 0);
	for (i = 0; i < 100; i++)
		cr_assert_eq(dag_add_edge(&d, i, i, &err), 0);
	cr_assert_eq(dag_finish(&d, &err), -1);
	cr_assert_eq(d.ncycles, DAG_MAX_CYCLES);
	cr_assert_str_eq(err.msg, "the dependencies form at least 16 cycles");
	dag_free(&d);
}

Test(dag, chain_10000_linear)
{
	struct dag	 d;
	struct pf_err	 err;
	size_t		 i, n = 10000;

	cr_assert_eq(dag_init(&d, n), 0);
	/* added in reverse so the order is not the identity by accident */
	for (i = n - 1; i > 0; i--)
		cr_assert_eq(dag_add_edge(&d, i, i - 1, &err), 0);
	cr_assert_eq(dag_finish(&d, &err), 0);
	for (i = 0; i < n; i++) {
		cr_assert_eq(d.order[i], i);
		cr_assert_eq(d.level[i], i);
	}
	cr_assert_eq(d.nlevels, n);
	dag_free(&d);
}

Test(dag, chain_10000_cycle_found_without_recursion)
{
	struct dag	 d;
	struct pf_err	 err;
	size_t		 i, n = 10000;

	cr_assert_eq(dag_init(&d, n), 0);
	for (i = 1; i < n; i++)
		cr_assert_eq(dag_add_edge(&d, i, i - 1, &err), 0);
	cr_assert_eq(dag_add_edge(&d, 0, n - 1, &err), 0);
	cr_assert_eq(dag_finish(&d, &err), -1);
	cr_assert_eq(d.ncycles, 1);
	cr_assert_eq(d.cycles[0].len, n);
	for (i = 0; i < n; i++)
		cr_assert_eq(d.cycles[0].path[i], i);
	dag_free(&d);
}

Test(dag, star_10000_dependencies_on_one)
{
	struct dag	 d;
	struct dag_run	 r;
	struct pf_err	 err;
	size_t		 i, n = 10001, x;

	/* node 0 depends on every other node; then the reverse star */
	cr_assert_eq(dag_init(&d, n), 0);
	for (i = 1; i < n; i++)
		cr_assert_eq(dag_add_edge(&d, 0, i, &err), 0);
	cr_assert_eq(dag_finish(&d, &err), 0);
	cr_assert_eq(d.order[n - 1], 0);
	cr_assert_eq(d.level[0], 1);
	cr_assert_eq(dag_ready_init(&r, &d), 0);
	for (i = 1; i < n; i++) {
		cr_assert_eq(dag_ready_next(&r, &x), 0);
		cr_assert_eq(x, i);
	}
	cr_assert_eq(dag_ready_next(&r, &x), -1);
	for (i = 1; i < n - 1; i++)
		cr_assert_eq(dag_ready_done(&r, i), 0);
	cr_assert_eq(dag_ready_done(&r, n - 1), 1);
	cr_assert_eq(dag_ready_next(&r, &x), 0);
	cr_assert_eq(x, 0);
	dag_ready_free(&r);
	dag_free(&d);

	cr_assert_eq(dag_init(&d, n), 0);
	for (i = 1; i < n; i++)
		cr_assert_eq(dag_add_edge(&d, i, 0, &err), 0);
	cr_assert_eq(dag_finish(&d, &err), 0);
	cr_assert_eq(dag_ready_init(&r, &d), 0);
	cr_assert_eq(dag_ready_next(&r, &x), 0);
	cr_assert_eq(dag_ready_done(&r, 0), (long)(n - 1));
	dag_ready_free(&r);
	dag_free(&d);
}

/*
 *   0 -> 1 -> 3 -> 5
 *   0 -> 2 -> 4
 *   6 (independent), 7 depends on 1 and 6
 */
static void
sample(struct dag *d)
{
	static const struct edge e[] = {
		{ 1, 0 }, { 2, 0 }, { 3, 1 }, { 4, 2 }, { 5, 3 }, { 7, 1 },
		{ 7, 6 },
	};

	build(d, 8, e, sizeof(e) / sizeof(e[0]), 0);
}

Test(dag, ready_roots_in_file_order)
{
	struct dag	 d;
	struct dag_run	 r;
	size_t		 x;

	sample(&d);
	cr_assert_eq(dag_ready_init(&r, &d), 0);
	cr_assert_eq(dag_ready_state(&r, 0), DAG_READY);
	cr_assert_eq(dag_ready_state(&r, 1), DAG_WAITING);
	cr_assert_eq(dag_ready_next(&r, &x), 0);
	cr_assert_eq(x, 0);
	cr_assert_eq(dag_ready_state(&r, 0), DAG_RUNNING);
	cr_assert_eq(dag_ready_next(&r, &x), 0);
	cr_assert_eq(x, 6);
	cr_assert_eq(dag_ready_next(&r, &x), -1, "nothing else ready");
	cr_assert_eq(r.nrunning, 2);
	dag_ready_free(&r);
	dag_free(&d);
}

Test(dag, ready_full_success_run)
{
	struct dag	 d;
	struct dag_run	 r;
	size_t		 x, seen = 0, i;
	size_t		 pos[8];

	sample(&d);
	cr_assert_eq(dag_ready_init(&r, &d), 0);
	while (!dag_ready_finished(&r)) {
		cr_assert_eq(dag_ready_next(&r, &x), 0);
		pos[x] = seen++;
		cr_assert_geq(dag_ready_done(&r, x), 0);
	}
	cr_assert_eq(seen, 8);
	/* every dependency ran before its dependent */
	for (x = 0; x < 8; x++)
		DAG_FOREACH_DEP(&d, x, i)
			cr_assert_lt(pos[d.dep[i]], pos[x]);
	cr_assert_eq(dag_ready_done(&r, 0), -1, "done twice is refused");
	dag_ready_free(&r);
	dag_free(&d);
}

Test(dag, ready_fail_skips_transitive_dependents_only)
{
	struct dag	 d;
	struct dag_run	 r;
	const size_t	*sk;
	size_t		 x;
	long		 n;

	sample(&d);
	cr_assert_eq(dag_ready_init(&r, &d), 0);
	cr_assert_eq(dag_ready_next(&r, &x), 0);	/* 0 */
	cr_assert_eq(dag_ready_done(&r, 0), 2);		/* 1, 2 ready */
	cr_assert_eq(dag_ready_next(&r, &x), 0);
	cr_assert_eq(x, 6);
	cr_assert_eq(dag_ready_next(&r, &x), 0);
	cr_assert_eq(x, 1);
	cr_assert_eq(dag_ready_next(&r, &x), 0);
	cr_assert_eq(x, 2);
	/* 1 fails: 3, 7 and then 5 are skipped; 2's branch goes on */
	n = dag_ready_fail(&r, 1, &sk);
	cr_assert_eq(n, 3);
	cr_assert_eq(sk[0], 3);
	cr_assert_eq(sk[1], 7);
	cr_assert_eq(sk[2], 5);
	cr_assert_eq(dag_ready_state(&r, 1), DAG_FAILED);
	cr_assert_eq(dag_ready_state(&r, 5), DAG_SKIPPED);
	cr_assert_eq(dag_ready_state(&r, 4), DAG_WAITING);
	cr_assert_eq(dag_ready_state(&r, 6), DAG_RUNNING);
	cr_assert_eq(dag_ready_done(&r, 2), 1);
	cr_assert_eq(dag_ready_next(&r, &x), 0);
	cr_assert_eq(x, 4);
	/* 6 finishing does not revive 7 */
	cr_assert_eq(dag_ready_done(&r, 6), 0);
	cr_assert_eq(dag_ready_state(&r, 7), DAG_SKIPPED);
	cr_assert_eq(dag_ready_done(&r, 4), 0);
	cr_assert(dag_ready_finished(&r));
	cr_assert_eq(r.nrunning, 0);
	cr_assert_eq(dag_ready_fail(&r, 3, &sk), -1, "skipped cannot fail");
	dag_ready_free(&r);
	dag_free(&d);
}

Test(dag, ready_done_on_unpopped_ready_node_for_resume)
{
	struct dag	 d;
	struct dag_run	 r;
	size_t		 x;

	sample(&d);
	cr_assert_eq(dag_ready_init(&r, &d), 0);
	/* a resumed run: 0 and 1 succeeded before the crash */
	cr_assert_eq(dag_ready_done(&r, 0), 2);
	cr_assert_eq(dag_ready_done(&r, 1), 1);
	cr_assert_eq(dag_ready_done(&r, 5), -1, "5 is not ready yet");
	cr_assert_eq(dag_ready_next(&r, &x), 0);
	cr_assert_eq(x, 6);
	cr_assert_eq(dag_ready_next(&r, &x), 0);
	cr_assert_eq(x, 2);
	cr_assert_eq(dag_ready_next(&r, &x), 0);
	cr_assert_eq(x, 3);
	cr_assert_eq(dag_ready_next(&r, &x), -1);
	dag_ready_free(&r);
	dag_free(&d);
}

Test(dag, fail_chain_10000_skips_all_in_linear_time)
{
	struct dag	 d;
	struct dag_run	 r;
	struct pf_err	 err;
	const size_t	*sk;
	size_t		 i, n = 10000, x;

	cr_assert_eq(dag_init(&d, n), 0);
	for (i = 1; i < n; i++)
		cr_assert_eq(dag_add_edge(&d, i, i - 1, &err), 0);
	cr_assert_eq(dag_finish(&d, &err), 0);
	cr_assert_eq(dag_ready_init(&r, &d), 0);
	cr_assert_eq(dag_ready_next(&r, &x), 0);
	cr_assert_eq(dag_ready_fail(&r, 0, &sk), (long)(n - 1));
	for (i = 0; i < n - 1; i++)
		cr_assert_eq(sk[i], i + 1);
	cr_assert(dag_ready_finished(&r));
	dag_ready_free(&r);
	dag_free(&d);
}

Test(dag, allocation_failures_are_clean)
{
	static const struct edge e[] = {
		{ 1, 0 }, { 2, 0 }, { 2, 1 }, { 0, 2 },
	};
	struct dag	 d;
	struct dag_run	 r;
	struct pf_err	 err;
	struct faultloop fl;
	size_t		 i;
	int		 rc;

	/* each allocation failing in turn until everything succeeds */
	for (FAULTLOOP_MODES(m))
	for (faultloop_init(&fl, m); faultloop_next(&fl); ) {
		cr_assert_eq(dag_init(&d, 3), 0);
		rc = 0;
		for (i = 0; i < 3 && rc == 0; i++)
			rc = dag_add_edge(&d, e[i].node, e[i].dep, &err);
		if (rc == 0)
			rc = dag_finish(&d, &err);
		if (rc == 0) {
			rc = dag_ready_init(&r, &d);
			if (rc == 0)
				dag_ready_free(&r);
		}
		dag_free(&d);
		if (!faultloop_met(&fl))
			cr_assert_eq(rc, 0);
		else
			cr_assert_eq(rc, -1, "%s n=%ld",
			    faultloop_mode_name(m), fl.n);
	}
	/* and with a cycle (cycle paths allocate too) */
	for (FAULTLOOP_MODES(m))
	for (faultloop_init(&fl, m); faultloop_next(&fl); ) {
		cr_assert_eq(dag_init(&d, 3), 0);
		rc = 0;
		for (i = 0; i < 4 && rc == 0; i++)
			rc = dag_add_edge(&d, e[i].node, e[i].dep, &err);
		if (rc == 0)
			rc = dag_finish(&d, &err);
		cr_assert_eq(rc, -1);
		dag_free(&d);
	}
}
