/*
 * Retention: at start and then every --retain-every seconds, finished
 * runs beyond the global limits (age, runs per workflow, captured bytes)
 * or a workflow's own config.retention are deleted, and the database is
 * checkpointed after a deletion.
 */
#include <inttypes.h>
#include <stdint.h>

#include <ev.h>

#include "picoflow/alloc.h"
#include "picoflow/clock.h"
#include "picoflow/log.h"
#include "picoflow/store.h"
#include "picoflow/workflow.h"
#include "daemon_int.h"

/*
 * A workflow's config.retention replaces the global limit of the same kind
 * for its runs, larger or smaller; a kind it leaves unset keeps the global
 * one (its own byte limit has no global counterpart per workflow: the
 * global --retain-bytes caps all workflows together, after the rules).
 * Workflows that set nothing, or whose file is gone, get the global rule.
 */
static void
retention_rule(const struct daemon *d, const struct pf_retention *rt,
    int64_t now, struct store_prune_rule *r)
{
	int64_t	 age_ms = d->opts.retain_age_ms;

	if (rt != NULL && rt->max_age > 0)
		age_ms = rt->max_age <= INT64_MAX / 1000 ?
		    rt->max_age * 1000 : INT64_MAX;
	/* Older than the epoch: nothing is that old, so no limit. */
	r->older_than_ms = age_ms > 0 && age_ms < now ? now - age_ms : 0;
	r->keep = rt != NULL && rt->max_runs > 0 ? rt->max_runs :
	    (int64_t)d->opts.retain_runs;
	r->max_bytes = rt != NULL && rt->max_output > 0 ? rt->max_output : 0;
}

void
daemon_retention(struct daemon *d)
{
	struct store_prune_rule	 dflt, *rules = NULL;
	struct pf_err		 err;
	struct slot		*s;
	const struct pf_retention *rt;
	size_t			 n = 0, cap = 0;
	int64_t			 n1 = 0, n2 = 0, now = clock_wall_ms();

	retention_rule(d, NULL, now, &dflt);
	for (s = d->slots; s != NULL; s = s->next) {
		rt = &s->def->wf->retention;
		if (rt->max_age <= 0 && rt->max_runs <= 0 &&
		    rt->max_output <= 0)
			continue;
		if (n == cap) {
			struct store_prune_rule	*nr;
			size_t			 ncap = cap ? cap * 2 : 8;

			if ((nr = pf_reallocarray(rules, ncap,
			    sizeof(*nr))) == NULL) {
				log_warnx("retention: out of memory");
				daemon_note_error(d,
				    "retention: out of memory");
				pf_free(rules);
				return;
			}
			rules = nr;
			cap = ncap;
		}
		rules[n].workflow = s->name;
		retention_rule(d, rt, now, &rules[n]);
		n++;
	}
	if (store_prune_rules(d->store, &dflt, rules, n, &n1, &err) == -1) {
		pf_free(rules);
		log_warnx("retention: %s", err.msg);
		daemon_note_error(d, "retention: %s", err.msg);
		return;
	}
	pf_free(rules);
	if (d->opts.retain_bytes > 0 &&
	    store_prune_bytes(d->store, d->opts.retain_bytes, &n2, &err) ==
	    -1) {
		log_warnx("retention: %s", err.msg);
		daemon_note_error(d, "retention: %s", err.msg);
		return;
	}
	if (n1 + n2 > 0) {
		log_info("retention: deleted %" PRId64 " finished run%s",
		    n1 + n2, n1 + n2 == 1 ? "" : "s");
		if (store_checkpoint(d->store, &err) == -1)
			log_warnx("retention: %s", err.msg);
	}
}

void
daemon_on_retain_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	daemon_retention(w->data);
}
