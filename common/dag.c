/*
 * Dependency graphs: compressed adjacency built once from an edge list,
 * Kahn's algorithm for order and levels, an iterative depth-first search
 * to name cycles, and the engine's ready set.  All linear, no recursion.
 */
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "picoflow/alloc.h"
#include "picoflow/dag.h"
#include "picoflow/err.h"

int
dag_init(struct dag *d, size_t n)
{
	memset(d, 0, sizeof(*d));
	/* Levels are unsigned and every size below is n + 1 elements. */
	if (n >= UINT_MAX)
		return -1;
	d->n = n;
	return 0;
}

int
dag_add_edge(struct dag *d, size_t node, size_t dep, struct pf_err *err)
{
	size_t	*nn, *nd, ncap;

	if (node >= d->n || dep >= d->n) {
		pf_err_set(err, "dependency edge %zu -> %zu outside 0..%zu",
		    dep, node, d->n);
		return -1;
	}
	if (d->nedges == d->capedges) {
		ncap = d->capedges ? d->capedges * 2 : 16;
		if (ncap < d->capedges) {
			pf_err_set(err, "too many dependency edges");
			return -1;
		}
		nn = pf_reallocarray(d->e_node, ncap, sizeof(*nn));
		if (nn == NULL)
			goto oom;
		d->e_node = nn;
		nd = pf_reallocarray(d->e_dep, ncap, sizeof(*nd));
		if (nd == NULL)
			goto oom;
		d->e_dep = nd;
		d->capedges = ncap;
	}
	d->e_node[d->nedges] = node;
	d->e_dep[d->nedges] = dep;
	d->nedges++;
	return 0;
oom:
	pf_err_set(err, "out of memory building the dependency graph");
	return -1;
}

void
dag_free(struct dag *d)
{
	size_t	 i;

	pf_free(d->dep_off);
	pf_free(d->dep);
	pf_free(d->dep_slot);
	pf_free(d->out_off);
	pf_free(d->out);
	pf_free(d->out_eid);
	pf_free(d->order);
	pf_free(d->level);
	pf_free(d->e_node);
	pf_free(d->e_dep);
	for (i = 0; i < d->ncycles; i++)
		pf_free(d->cycles[i].path);
	memset(d, 0, sizeof(*d));
}

size_t
dag_nedges(const struct dag *d)
{
	return d->dep_off != NULL ? d->dep_off[d->n] : 0;
}

/*
 * Counting sort of the added edges by node into dep_off/dep, keeping the
 * order they were added and dropping repeats, then the reverse adjacency
 * (dependents by ascending index, because nodes are visited in order).
 */
static int
dag_adjacency(struct dag *d, size_t *mark)
{
	size_t	 i, k, e, node, dep, *fill, *slot, ne;

	if ((d->dep_off = pf_calloc(d->n + 1, sizeof(size_t))) == NULL ||
	    (d->out_off = pf_calloc(d->n + 1, sizeof(size_t))) == NULL)
		return -1;
	ne = d->nedges;
	if ((d->dep = pf_reallocarray(NULL, ne, sizeof(size_t))) == NULL ||
	    (d->dep_slot = pf_reallocarray(NULL, ne, sizeof(size_t))) == NULL)
		return -1;
	/*
	 * mark holds 2 * (n + 1) zeroed entries: slot (edges added so far
	 * per node) and fill (write cursor per node).
	 */
	slot = mark;
	fill = mark + d->n + 1;
	for (e = 0; e < ne; e++)
		d->dep_off[d->e_node[e] + 1]++;
	for (i = 0; i < d->n; i++)
		d->dep_off[i + 1] += d->dep_off[i];
	for (e = 0; e < ne; e++) {
		node = d->e_node[e];
		k = d->dep_off[node] + fill[node]++;
		d->dep[k] = d->e_dep[e];
		d->dep_slot[k] = slot[node]++;
	}
	/* Drop duplicates in place; mark[dep] == node + 1 when seen. */
	memset(mark, 0, d->n * sizeof(size_t));
	ne = 0;
	for (node = 0; node < d->n; node++) {
		size_t	 start = ne;

		for (k = d->dep_off[node]; k < d->dep_off[node + 1]; k++) {
			dep = d->dep[k];
			if (mark[dep] == node + 1) {
				d->ndup++;
				continue;
			}
			mark[dep] = node + 1;
			d->dep[ne] = dep;
			d->dep_slot[ne] = d->dep_slot[k];
			ne++;
		}
		d->dep_off[node] = start;
	}
	d->dep_off[d->n] = ne;

	if ((d->out = pf_reallocarray(NULL, ne, sizeof(size_t))) == NULL ||
	    (d->out_eid = pf_reallocarray(NULL, ne, sizeof(size_t))) == NULL)
		return -1;
	for (k = 0; k < ne; k++)
		d->out_off[d->dep[k] + 1]++;
	for (i = 0; i < d->n; i++)
		d->out_off[i + 1] += d->out_off[i];
	memset(mark, 0, d->n * sizeof(size_t));
	for (node = 0; node < d->n; node++) {
		for (k = d->dep_off[node]; k < d->dep_off[node + 1]; k++) {
			dep = d->dep[k];
			e = d->out_off[dep] + mark[dep]++;
			d->out[e] = node;
			d->out_eid[e] = k;
		}
	}
	pf_free(d->e_node);
	pf_free(d->e_dep);
	d->e_node = d->e_dep = NULL;
	d->nedges = d->capedges = 0;
	return 0;
}

/*
 * Kahn's algorithm: levels in one pass, then the order by (level, index)
 * with a counting sort.  Returns the number of nodes that could be
 * ordered; fewer than n means a cycle.
 */
static size_t
dag_levels(struct dag *d, size_t *indeg, size_t *queue)
{
	size_t	 i, k, head = 0, tail = 0, x, y, *count;
	unsigned maxlvl = 0;

	for (i = 0; i < d->n; i++) {
		indeg[i] = d->dep_off[i + 1] - d->dep_off[i];
		d->level[i] = 0;
		if (indeg[i] == 0)
			queue[tail++] = i;
	}
	while (head < tail) {
		x = queue[head++];
		DAG_FOREACH_OUT(d, x, k) {
			y = d->out[k];
			if (d->level[y] < d->level[x] + 1)
				d->level[y] = d->level[x] + 1;
			if (--indeg[y] == 0)
				queue[tail++] = y;
		}
	}
	if (tail < d->n)
		return tail;
	for (i = 0; i < d->n; i++)
		if (d->level[i] > maxlvl)
			maxlvl = d->level[i];
	d->nlevels = d->n ? maxlvl + 1 : 0;
	/* indeg is free now: reuse it as the per-level counters. */
	count = indeg;
	memset(count, 0, (d->n + 1) * sizeof(size_t));
	for (i = 0; i < d->n; i++)
		count[d->level[i] + 1]++;
	for (i = 0; i < d->nlevels; i++)
		count[i + 1] += count[i];
	for (i = 0; i < d->n; i++)
		d->order[count[d->level[i]]++] = i;
	return d->n;
}

/*
 * Names the cycles among the nodes Kahn's algorithm could not order
 * (done[i] == 0): a depth-first search along dependents; each edge back
 * into the current path closes one cycle.
 */
static int
dag_find_cycles(struct dag *d, const size_t *indeg, size_t *scratch)
{
	struct dag_cycle *c;
	uint8_t	*color;		/* 0 unvisited, 1 on the path, 2 finished */
	size_t	*stack, *pos, *depth, root, top, x, y, k, len, j;

	if ((color = pf_calloc(d->n, 1)) == NULL)
		return -1;
	/* The path, each entry's next out-edge, and each node's depth. */
	stack = scratch;
	pos = scratch + d->n + 1;
	depth = scratch + 2 * (d->n + 1);
	for (root = 0; root < d->n && d->ncycles < DAG_MAX_CYCLES; root++) {
		/* indeg[i] == 0 here means Kahn's algorithm ordered it. */
		if (color[root] != 0 || indeg[root] == 0)
			continue;
		top = 0;
		stack[0] = root;
		pos[0] = d->out_off[root];
		depth[root] = 0;
		color[root] = 1;
		while (d->ncycles < DAG_MAX_CYCLES) {
			x = stack[top];
			if (pos[top] == d->out_off[x + 1]) {
				color[x] = 2;
				if (top == 0)
					break;
				top--;
				continue;
			}
			k = pos[top]++;
			y = d->out[k];
			if (indeg[y] == 0 || color[y] == 2)
				continue;
			if (color[y] == 0) {
				color[y] = 1;
				top++;
				stack[top] = y;
				pos[top] = d->out_off[y];
				depth[y] = top;
				continue;
			}
			/* y is on the path: y -> ... -> x -> y. */
			len = top - depth[y] + 1;
			c = &d->cycles[d->ncycles];
			if ((c->path = pf_reallocarray(NULL, len,
			    sizeof(size_t))) == NULL) {
				pf_free(color);
				return -1;
			}
			for (j = 0; j < len; j++)
				c->path[j] = stack[depth[y] + j];
			c->len = len;
			c->edge_node = y;
			c->edge_slot = d->dep_slot[d->out_eid[k]];
			d->ncycles++;
		}
	}
	pf_free(color);
	return 0;
}

int
dag_finish(struct dag *d, struct pf_err *err)
{
	size_t	*a = NULL, *b = NULL, ordered;
	int	 rc = -1;

	/* Two zeroed scratch arrays, reused by every phase. */
	if ((a = pf_calloc(2 * (d->n + 1), sizeof(size_t))) == NULL ||
	    (b = pf_calloc(3 * (d->n + 1), sizeof(size_t))) == NULL)
		goto oom;
	if (dag_adjacency(d, a) == -1)
		goto oom;
	if ((d->order = pf_calloc(d->n + 1, sizeof(size_t))) == NULL ||
	    (d->level = pf_calloc(d->n + 1, sizeof(unsigned))) == NULL)
		goto oom;
	ordered = dag_levels(d, a, b);
	if (ordered == d->n) {
		rc = 0;
		goto out;
	}
	if (dag_find_cycles(d, a, b) == -1)
		goto oom;
	pf_free(d->order);
	pf_free(d->level);
	d->order = NULL;
	d->level = NULL;
	pf_err_set(err, "the dependencies form %s%zu cycle%s",
	    d->ncycles == DAG_MAX_CYCLES ? "at least " : "", d->ncycles,
	    d->ncycles == 1 ? "" : "s");
	goto out;
oom:
	pf_err_set(err, "out of memory building the dependency graph");
out:
	pf_free(a);
	pf_free(b);
	return rc;
}

int
dag_ready_init(struct dag_run *r, const struct dag *d)
{
	size_t	 i;

	memset(r, 0, sizeof(*r));
	r->dag = d;
	if ((r->state = pf_calloc(d->n + 1, 1)) == NULL ||
	    (r->pending = pf_calloc(d->n + 1, sizeof(size_t))) == NULL ||
	    (r->queue = pf_calloc(d->n + 1, sizeof(size_t))) == NULL ||
	    (r->scratch = pf_calloc(d->n + 1, sizeof(size_t))) == NULL) {
		dag_ready_free(r);
		return -1;
	}
	for (i = 0; i < d->n; i++) {
		r->pending[i] = d->dep_off[i + 1] - d->dep_off[i];
		if (r->pending[i] == 0) {
			r->state[i] = DAG_READY;
			r->queue[r->qtail++] = i;
		}
	}
	return 0;
}

void
dag_ready_free(struct dag_run *r)
{
	pf_free(r->state);
	pf_free(r->pending);
	pf_free(r->queue);
	pf_free(r->scratch);
	memset(r, 0, sizeof(*r));
}

int
dag_ready_next(struct dag_run *r, size_t *node)
{
	size_t	 x;

	/* Entries finished before they were popped (resume) are skipped. */
	while (r->qhead < r->qtail) {
		x = r->queue[r->qhead++];
		if (r->state[x] != DAG_READY)
			continue;
		r->state[x] = DAG_RUNNING;
		r->nrunning++;
		*node = x;
		return 0;
	}
	return -1;
}

long
dag_ready_done(struct dag_run *r, size_t node)
{
	const struct dag *d = r->dag;
	size_t	 k, y;
	long	 nready = 0;

	if (node >= d->n ||
	    (r->state[node] != DAG_READY && r->state[node] != DAG_RUNNING))
		return -1;
	if (r->state[node] == DAG_RUNNING)
		r->nrunning--;
	r->state[node] = DAG_DONE;
	r->nfinished++;
	DAG_FOREACH_OUT(d, node, k) {
		y = d->out[k];
		if (r->state[y] != DAG_WAITING)
			continue;
		if (--r->pending[y] == 0) {
			r->state[y] = DAG_READY;
			/* Each node is queued once: the queue holds n. */
			r->queue[r->qtail++] = y;
			nready++;
		}
	}
	return nready;
}

long
dag_ready_fail(struct dag_run *r, size_t node, const size_t **skipped)
{
	const struct dag *d = r->dag;
	size_t	 head = 0, tail = 0, k, x, y;

	if (skipped != NULL)
		*skipped = r->scratch;
	if (node >= d->n ||
	    (r->state[node] != DAG_READY && r->state[node] != DAG_RUNNING))
		return -1;
	if (r->state[node] == DAG_RUNNING)
		r->nrunning--;
	r->state[node] = DAG_FAILED;
	r->nfinished++;
	/* Breadth-first over dependents, the result list as the queue. */
	x = node;
	for (;;) {
		DAG_FOREACH_OUT(d, x, k) {
			y = d->out[k];
			if (r->state[y] != DAG_WAITING)
				continue;
			r->state[y] = DAG_SKIPPED;
			r->nfinished++;
			r->scratch[tail++] = y;
		}
		if (head == tail)
			break;
		x = r->scratch[head++];
	}
	return (long)tail;
}

enum dag_node_state
dag_ready_state(const struct dag_run *r, size_t node)
{
	if (node >= r->dag->n)
		return DAG_WAITING;
	return (enum dag_node_state)r->state[node];
}

int
dag_ready_finished(const struct dag_run *r)
{
	return r->nfinished == r->dag->n;
}
