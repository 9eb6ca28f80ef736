/*
 * What start-up owes to the time the supervisor was down: the runs a
 * dead predecessor left in flight are resumed on the definitions loaded
 * now (or recorded as failed when their workflow is gone), fires missed
 * while down are caught up under each workflow's catch-up policy, and
 * @start schedules fire once.
 */
#include <inttypes.h>
#include <stdio.h>

#include "picoflow/alloc.h"
#include "picoflow/clock.h"
#include "picoflow/log.h"
#include "picoflow/store.h"
#include "picoflow/workflow.h"
#include "daemon_int.h"
#include "engine.h"
#include "recover.h"
#include "sched.h"

void
daemon_resume_runs(struct daemon *d, struct recover_run *rr, size_t n)
{
	struct store_attempt	*atts;
	struct drun		*dr;
	struct slot		*s;
	struct pf_err		 err;
	size_t			 i, k, na;
	char			 why[WF_NAME_MAX + 128];
	int			 rc;

	for (i = 0; i < n; i++) {
		if ((s = slot_by_name(d, rr[i].workflow)) == NULL) {
			snprintf(why, sizeof(why), "cannot resume: workflow "
			    "'%s' is not loaded (removed or broken)",
			    rr[i].workflow);
			recover_abandon(d->store, daemon_attach_dir(d),
			    rr[i].run_id, rr[i].adopts, rr[i].nadopts, why);
			log_warnx("run %" PRId64 ": %s; recorded as failed",
			    rr[i].run_id, why);
			daemon_note_error(d, "run %" PRId64 ": %s",
			    rr[i].run_id, why);
			if (store_run_end(d->store, rr[i].run_id,
			    PF_STATUS_FAILED,
			    clock_wall_ms(), why, &err) == -1)
				log_warnx("run %" PRId64 ": %s", rr[i].run_id,
				    err.msg);
			continue;
		}
		if (store_attempts_list(d->store, rr[i].run_id, NULL, 0, &atts,
		    &na, &err) == -1) {
			log_error("run %" PRId64 ": cannot read its attempts: "
			    "%s; it stays for the next start", rr[i].run_id,
			    err.msg);
			/* Its workers wait: the next start takes them over. */
			continue;
		}
		if ((dr = pf_calloc(1, sizeof(*dr))) == NULL ||
		    (dr->name = pf_strdup(s->name)) == NULL) {
			pf_free(dr);
			store_attempts_free(atts, na);
			log_error("run %" PRId64 ": out of memory; it stays "
			    "for the next start", rr[i].run_id);
			continue;
		}
		dr->def = s->def;
		dr->def->refs++;
		dr->run_id = rr[i].run_id;
		dr->scheduled_s = rr[i].scheduled_ms >= 0 ?
		    rr[i].scheduled_ms / 1000 : -1;
		dr->started_ms = rr[i].started_ms;
		snprintf(dr->trigger, sizeof(dr->trigger), "%s",
		    rr[i].trigger ? rr[i].trigger : "resume");
		dr->next = d->runs;
		d->runs = dr;
		s->nrunning++;
		log_info("'%s': resuming run %" PRId64 " (%zu attempt row%s "
		    "recorded)", log_q(s->name), dr->run_id, na,
		    na == 1 ? "" : "s");
		rc = engine_resume(d->eng, s->def->wf, dr->run_id, atts, na,
		    rr[i].adopts, rr[i].nadopts, dr, &err);
		/* The engine owns their fds now, whatever it returned. */
		for (k = 0; k < rr[i].nadopts; k++)
			rr[i].adopts[k].fd = -1;
		if (rc == -1) {
			log_error("run %" PRId64 ": cannot resume: %s",
			    rr[i].run_id, err.msg);
			d->runs = dr->next;
			s->nrunning--;
			wfdef_unref(dr->def);
			pf_free(dr->name);
			pf_free(dr);
		}
		store_attempts_free(atts, na);
	}
}

void
daemon_catch_up(struct daemon *d)
{
	struct sched_catchup	 c;
	struct slot		*s;
	struct pf_err		 err;
	int64_t			*fires, nmissed, newest;
	int64_t			 now = clock_wall_ms() / 1000;
	size_t			 n, i;
	char			 a[32], b[32], msg[PF_ERR_MAX + 64];

	if ((fires = pf_reallocarray(NULL, SCHED_CATCHUP_MAX,
	    sizeof(*fires))) == NULL) {
		log_error("catch-up: out of memory; missed fires are not run");
		return;
	}
	for (s = d->slots; s != NULL; s = s->next) {
		if (!s->def->has_spec || s->def->spec.at_start ||
		    s->last_fire < 0)
			continue;
		c.policy = s->def->wf->catchup;
		c.window = s->def->wf->catchup_window;
		c.max = s->def->wf->catchup_max;
		if (sched_catchup_plan(&s->def->spec, &c, s->last_fire, now,
		    fires, &n, &nmissed, &newest) == -1 || nmissed == 0)
			continue;
		log_info("'%s': %" PRId64 "%s fire%s missed since %s "
		    "(catchup: %s, window %u s, max %u): running %zu",
		    log_q(s->name),
		    nmissed, nmissed >= SCHED_MISSED_COUNT_MAX ? "+" : "",
		    nmissed == 1 ? "" : "s", daemon_fmt_time(s->last_fire, a,
		    sizeof(a)), sched_catchup_name(c.policy), c.window, c.max,
		    n);
		if (nmissed > (int64_t)n)
			s->nskips += (uint64_t)(nmissed - (int64_t)n);
		for (i = 0; i < n; i++) {
			s->nfires++;
			log_info("'%s': catching up the fire at %s",
			    log_q(s->name),
			    daemon_fmt_time(fires[i], b, sizeof(b)));
			/* One after another, unless overlap allows more. */
			if (s->def->wf->overlap == OVERLAP_ALLOW &&
			    slot_max_runs(s) != 0 &&
			    s->nrunning >= slot_max_runs(s))
				slot_skip(s, fires[i], "catchup", "runs in "
				    "flight at their cap (max_runs_running)");
			else if (s->def->wf->overlap == OVERLAP_ALLOW ||
			    (s->nrunning == 0 && s->qlen == 0))
				(void)slot_start(s, fires[i], "catchup", NULL,
				    msg, sizeof(msg));
			else if (s->qlen < SCHED_QUEUE_MAX)
				slot_enqueue(s, fires[i], "catchup");
			else
				slot_skip(s, fires[i], "catchup",
				    "catch-up queue full");
		}
		/* Fires not caught up are done with, whatever the policy. */
		if (n == 0 && newest > s->last_fire) {
			if (store_schedule_set(d->store, s->name, newest * 1000,
			    &err) == 0)
				s->last_fire = newest;
			if (newest > s->last_seen)
				s->last_seen = newest;
		}
	}
	pf_free(fires);
}

void
daemon_start_fires(struct daemon *d)
{
	struct slot	*s;
	char		 msg[PF_ERR_MAX + 64];

	for (s = d->slots; s != NULL; s = s->next)
		if (s->def->has_spec && s->def->spec.at_start)
			(void)slot_fire(s, -1, "start", NULL, msg,
			    sizeof(msg));
}
