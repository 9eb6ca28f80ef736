/*
 * Attempt cgroups made ahead of need (cgroup.h): a mkdir per hierarchy
 * and the limit writes cost about as much as the rest of an attempt's
 * start in the supervisor, so the engine makes them while its loop is
 * idle and an attempt takes one ready.  A pooled cgroup is empty and
 * unused until taken; taken, it is the attempt's alone and removed at
 * its end like any other.  Left behind by a crash, the next start's
 * sweep removes it with the rest of the dead instance.
 */
#include <stdio.h>
#include <string.h>

#include "picoflow/log.h"
#include "cgroup.h"
#include "cgroup_int.h"

static int
lim_eq(const struct cg_limits *a, const struct cg_limits *b)
{
	return a->memory == b->memory && a->swap == b->swap &&
	    a->cpu_milli == b->cpu_milli && a->pids == b->pids;
}

/* Removes pooled cgroup i (empty: the rmdir is immediate). */
static void
pool_drop(struct cg_sys *s, size_t i)
{
	struct cg	*g = s->pool[i];

	memmove(&s->pool[i], &s->pool[i + 1], (s->npool - i - 1) *
	    sizeof(s->pool[0]));
	s->npool--;
	if (cg_remove(g) == 1)
		log_warnx("cgroup: %s: a pooled cgroup is busy; leaving it "
		    "for the next start", cg_path(g));
	cg_free(g);
}

int
cg_pool_fill(struct cg_sys *s, const struct cg_limits *l, size_t want,
    struct pf_err *err)
{
	char		 name[32];
	struct cg	*g;
	size_t		 i, same = 0;

	if (s->mode == CG_MODE_NONE || s->detect_only)
		return 0;
	for (i = 0; i < s->npool; i++)
		same += lim_eq(&s->pool[i]->lim, l);
	if (want > CG_POOL_MAX)
		want = CG_POOL_MAX;
	if (same >= want)
		return 0;
	if (s->npool == CG_POOL_MAX) {
		for (i = 0; i < s->npool && lim_eq(&s->pool[i]->lim, l); i++)
			;
		if (i == s->npool)
			return 0;
		pool_drop(s, i);
	}
	snprintf(name, sizeof(name), "p%lu", ++s->pool_seq);
	if (cg_create(s, name, l, &g, err) == -1)
		return -1;
	s->pool[s->npool++] = g;
	return 1;
}

int
cg_take(struct cg_sys *s, const struct cg_limits *l, struct cg **out)
{
	size_t	 i;

	*out = NULL;
	for (i = 0; i < s->npool; i++)
		if (lim_eq(&s->pool[i]->lim, l)) {
			*out = s->pool[i];
			memmove(&s->pool[i], &s->pool[i + 1], (s->npool - i -
			    1) * sizeof(s->pool[0]));
			s->npool--;
			return 1;
		}
	return 0;
}

void
cg_pool_free(struct cg_sys *s)
{
	while (s->npool > 0)
		pool_drop(s, s->npool - 1);
}
