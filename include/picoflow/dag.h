/*
 * Dependency graphs over tasks, by index.
 *
 * Nodes are 0..n-1 (a workflow's task indices, in file order).  An edge
 * "node depends on dep" means dep must finish before node may start.
 * Everything is linear in nodes + edges: building, cycle detection,
 * topological order, levels and the ready set.  Nothing recurses, so a
 * 10,000-task chain is as cheap as 10,000 independent tasks.
 *
 * Building:
 *	struct dag d;
 *	dag_init(&d, n);
 *	dag_add_edge(&d, node, dep);	   (repeat; duplicates are kept once)
 *	if (dag_finish(&d, &err) == -1) ...	   (cycles: see d.cycles)
 *	... d.order[], d.level[], dependents of i via DAG_FOREACH_OUT ...
 *	dag_free(&d);
 *
 * Running (the engine):
 *	struct dag_run r;
 *	dag_ready_init(&r, &d);
 *	while (!dag_ready_finished(&r)) {
 *		while (slot free && dag_ready_next(&r, &i) == 0)
 *			start task i;
 *		... wait for a task i to end ...
 *		if (it succeeded, or failed with continue_on_failure)
 *			dag_ready_done(&r, i);
 *		else
 *			nskip = dag_ready_fail(&r, i, &skipped);  (mark them skipped)
 *	}
 *	dag_ready_free(&r);
 */
#ifndef PICOFLOW_DAG_H
#define PICOFLOW_DAG_H

#include <stddef.h>
#include <stdint.h>

#include "picoflow/err.h"

/* At most this many cycles are recorded by dag_finish (one per back edge). */
#define DAG_MAX_CYCLES	16

/*
 * One dependency cycle.  path[0..len-1] are node indices such that each
 * path[k+1] depends on path[k], and path[0] depends on path[len-1]:
 * printed as "path[0] -> path[1] -> ... -> path[len-1] -> path[0]" in
 * execution direction.  The edge that closes the cycle is the
 * dependency of path[0] on path[len-1]; edge_node/edge_slot name it as
 * "entry edge_slot of node edge_node's dependency list, in the order the
 * edges were added" so a loader can point at the depends_on entry.
 * A self-dependency is a cycle of length 1.
 */
struct dag_cycle {
	size_t		*path;
	size_t		 len;
	size_t		 edge_node;
	size_t		 edge_slot;
};

struct dag {
	size_t		 n;
	/*
	 * Dependencies of node i: dep[dep_off[i] .. dep_off[i+1]), in the
	 * order added, duplicates removed.  Dependents of node i:
	 * out[out_off[i] .. out_off[i+1]), ascending node index.
	 * Both filled by dag_finish.
	 */
	size_t		*dep_off;
	size_t		*dep;
	size_t		*out_off;
	size_t		*out;
	size_t		*dep_slot;	/* dep[k] was the dep_slot[k]-th edge added */
	size_t		*out_eid;	/* out[k] is the edge dep[out_eid[k]] */
	/* Filled by dag_finish when there is no cycle. */
	size_t		*order;		/* topological: by (level, index) */
	unsigned	*level;		/* 0 for roots, else 1 + max(dep level) */
	unsigned	 nlevels;	/* 1 + max level; 0 when n == 0 */
	/* Filled by dag_finish when it fails with cycles. */
	struct dag_cycle cycles[DAG_MAX_CYCLES];
	size_t		 ncycles;
	size_t		 ndup;		/* duplicate edges dropped by dag_finish */

	/* Edges as added, before dag_finish (internal). */
	size_t		*e_node;
	size_t		*e_dep;
	size_t		 nedges;
	size_t		 capedges;
};

#define DAG_FOREACH_DEP(d, i, k)					\
	for ((k) = (d)->dep_off[(i)]; (k) < (d)->dep_off[(i) + 1]; (k)++)
#define DAG_FOREACH_OUT(d, i, k)					\
	for ((k) = (d)->out_off[(i)]; (k) < (d)->out_off[(i) + 1]; (k)++)

/* Prepare an empty graph of n nodes.  Returns -1 only on bad n. */
int	 dag_init(struct dag *, size_t n);
/* "node depends on dep".  node == dep is allowed (reported as a cycle). */
int	 dag_add_edge(struct dag *, size_t node, size_t dep, struct pf_err *);
/*
 * Builds the adjacency, drops duplicate edges, then either fills order[]
 * and level[] and returns 0, or records the cycles (up to DAG_MAX_CYCLES)
 * and returns -1 with err saying so.  Also returns -1 on allocation
 * failure (ncycles == 0 then).  The dag must be freed either way.
 */
int	 dag_finish(struct dag *, struct pf_err *);
void	 dag_free(struct dag *);
/* Number of distinct edges (after dag_finish). */
size_t	 dag_nedges(const struct dag *);

/*
 * The ready set: which nodes may start now.  Every node goes
 *	WAITING -> READY -> RUNNING -> DONE | FAILED
 * or WAITING -> SKIPPED when something it needs (directly or not) failed.
 * Roots start READY.  READY nodes come out of dag_ready_next in the order
 * they became ready, roots in file order.
 */
enum dag_node_state {
	DAG_WAITING = 0,
	DAG_READY,
	DAG_RUNNING,
	DAG_DONE,
	DAG_FAILED,
	DAG_SKIPPED,
};

struct dag_run {
	const struct dag *dag;
	uint8_t		*state;		/* enum dag_node_state per node */
	size_t		*pending;	/* dependencies not yet DONE */
	size_t		*queue;		/* ready nodes, FIFO */
	size_t		 qhead, qtail;
	size_t		*scratch;	/* dag_ready_fail's result */
	size_t		 nrunning;
	size_t		 nfinished;	/* DONE + FAILED + SKIPPED */
};

/* Needs a dag on which dag_finish succeeded.  -1 on allocation failure. */
int	 dag_ready_init(struct dag_run *, const struct dag *);
void	 dag_ready_free(struct dag_run *);
/*
 * Pops the next READY node into *node and marks it RUNNING.  Returns -1
 * when no node is ready right now (more may become ready when running
 * ones finish).
 */
int	 dag_ready_next(struct dag_run *, size_t *node);
/*
 * The node finished successfully (or failed but its task continues on
 * failure): dependents whose dependencies are now all DONE become READY.
 * Also accepted for a READY node that was never popped (a run resumed
 * after a crash, replayed in topological order).  Returns the number of
 * nodes that became ready, or -1 if the node was not READY or RUNNING.
 */
long	 dag_ready_done(struct dag_run *, size_t node);
/*
 * The node failed for good: it becomes FAILED and every transitive
 * dependent that has not finished becomes SKIPPED.  *skipped points at
 * the skipped nodes (ascending order of discovery), valid until the next
 * call on this run.  Independent branches are untouched.  Returns the
 * number skipped, or -1 if the node was not READY or RUNNING.
 */
long	 dag_ready_fail(struct dag_run *, size_t node, const size_t **skipped);
enum dag_node_state dag_ready_state(const struct dag_run *, size_t node);
/* Every node is DONE, FAILED or SKIPPED. */
int	 dag_ready_finished(const struct dag_run *);

#endif
