/*
 * The daemon's slots: one per workflow file that loaded (or once loaded)
 * well, holding its current definition (refcounted: a run keeps the
 * definition it started with across reloads), its schedule timer and
 * its queue of fires waiting behind a run in progress.  Here a fire
 * becomes a run, a queued fire or a skip under the workflow's overlap
 * policy and its caps on runs and tasks in flight.
 *
 * Schedules are ev_periodic watchers with a reschedule callback: libev
 * calls it again whenever the wall clock jumps (NTP step, resume from
 * suspend), so the next fire is always computed from the clock as it is
 * now, by cron_next in the workflow's time zone.
 *
 * Every decision that matters across a crash is in the store before it
 * is acted on: a fire becomes a run row whose (workflow, scheduled time)
 * is unique, then the schedule's last fire is recorded.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <ev.h>

#include "picoflow/alloc.h"
#include "picoflow/buf.h"
#include "picoflow/clock.h"
#include "picoflow/log.h"
#include "picoflow/store.h"
#include "picoflow/workflow.h"
#include "daemon_int.h"
#include "engine.h"
#include "sched.h"

void
wfdef_unref(struct wfdef *def)
{
	if (def == NULL || --def->refs > 0)
		return;
	sched_spec_free(&def->spec);
	workflow_free(def->wf);
	pf_free(def->norm);
	pf_free(def);
}

/* Takes wf; NULL (wf freed, err filled) when its schedule cannot run. */
struct wfdef *
wfdef_new(struct daemon *d, struct pf_workflow *wf, struct pf_err *err)
{
	struct wfdef	*def;
	struct pf_buf	 b;

	if ((def = pf_calloc(1, sizeof(*def))) == NULL) {
		pf_err_set(err, "out of memory");
		workflow_free(wf);
		return NULL;
	}
	def->wf = wf;
	def->refs = 1;
	if (wf->schedule != NULL) {
		if (sched_spec_init(&def->spec, wf->schedule, wf->timezone,
		    d->opts.default_tz, err) == -1) {
			wfdef_unref(def);
			return NULL;
		}
		def->has_spec = 1;
	}
	buf_init(&b, 0);
	if (workflow_print(wf, &b) == 0 && !b.failed)
		def->norm = pf_strndup((const char *)b.data, b.len);
	buf_free(&b);
	if (def->norm == NULL) {
		pf_err_set(err, "out of memory");
		wfdef_unref(def);
		return NULL;
	}
	return def;
}

int
wfdef_same(const struct wfdef *a, const struct wfdef *b)
{
	return strcmp(a->norm, b->norm) == 0 &&
	    strcmp(a->wf->file ? a->wf->file : "",
	    b->wf->file ? b->wf->file : "") == 0;
}

struct slot *
slot_by_name(struct daemon *d, const char *name)
{
	struct slot	*s;

	for (s = d->slots; s != NULL; s = s->next)
		if (strcmp(s->name, name) == 0)
			return s;
	return NULL;
}

struct slot *
slot_by_path(struct daemon *d, const char *path)
{
	struct slot	*s;

	for (s = d->slots; s != NULL; s = s->next)
		if (strcmp(s->path, path) == 0)
			return s;
	return NULL;
}

void
slot_free(struct slot *s)
{
	ev_periodic_stop(s->d->loop, &s->timer);
	wfdef_unref(s->def);
	pf_free(s->path);
	pf_free(s->name);
	pf_free(s->error);
	pf_free(s);
}

void
slot_unlink(struct daemon *d, struct slot *s)
{
	struct slot	**pp;

	for (pp = &d->slots; *pp != NULL; pp = &(*pp)->next)
		if (*pp == s) {
			*pp = s->next;
			break;
		}
}

/* Starts one run of the slot's current definition. */
int
slot_start(struct slot *s, int64_t at, const char *trigger, int64_t *run_id,
    char *msg, size_t msglen)
{
	struct daemon		*d = s->d;
	struct engine_start_opts so;
	struct drun		*dr;
	struct pf_err		 err;
	char			 ts[32];
	int64_t			 id = -1;
	int			 dup = 0;

	if ((dr = pf_calloc(1, sizeof(*dr))) == NULL ||
	    (dr->name = pf_strdup(s->name)) == NULL) {
		pf_free(dr);
		snprintf(msg, msglen, "out of memory");
		log_error("'%s': cannot start a run: out of memory",
		    log_q(s->name));
		return -1;
	}
	dr->def = s->def;
	dr->def->refs++;
	dr->scheduled_s = at;
	dr->started_ms = clock_wall_ms();
	dr->run_id = -1;
	snprintf(dr->trigger, sizeof(dr->trigger), "%s", trigger);
	/* Linked first: a run with no tasks ends inside engine_start_ex. */
	dr->next = d->runs;
	d->runs = dr;
	s->nrunning++;
	so.trigger = trigger;
	so.scheduled_ms = at >= 0 ? at * 1000 : -1;
	so.cookie = dr;
	if (engine_start_ex(d->eng, s->def->wf, &so, &id, &dup, &err) == -1 ||
	    dup) {
		struct drun	**pp;

		for (pp = &d->runs; *pp != NULL; pp = &(*pp)->next)
			if (*pp == dr) {
				*pp = dr->next;
				break;
			}
		s->nrunning--;
		wfdef_unref(dr->def);
		pf_free(dr->name);
		pf_free(dr);
		if (dup) {
			log_info("'%s': the fire at %s already has run %" PRId64
			    "; not running it twice", log_q(s->name),
			    daemon_fmt_time(at, ts, sizeof(ts)), id);
			snprintf(msg, msglen, "already ran as run %" PRId64,
			    id);
		} else {
			log_error("'%s': cannot start a run: %s",
			    log_q(s->name), err.msg);
			daemon_note_error(d, "'%s': cannot start a run: %s",
			    s->name, err.msg);
			snprintf(msg, msglen, "cannot start a run: %s",
			    err.msg);
		}
		if (at > s->last_seen)
			s->last_seen = at;
		return dup ? 0 : -1;
	}
	/* dr may be gone already (a run without tasks): use id. */
	if (engine_run_running(d->eng, id) >= 0)
		dr->run_id = id;
	if (run_id != NULL)
		*run_id = id;
	if (at >= 0)
		log_info("'%s': run %" PRId64 " started (%s, scheduled %s)",
		    log_q(s->name), id, trigger, daemon_fmt_time(at, ts,
		    sizeof(ts)));
	else
		log_info("'%s': run %" PRId64 " started (%s)", log_q(s->name),
		    id, trigger);
	snprintf(msg, msglen, "started run %" PRId64 " of '%s'", id, s->name);
	if (at > s->last_seen)
		s->last_seen = at;
	if (at > s->last_fire) {
		if (store_schedule_set(d->store, s->name, at * 1000, &err) ==
		    -1) {
			log_warnx("'%s': cannot record the fire: %s",
			    log_q(s->name), err.msg);
			daemon_note_error(d, "'%s': cannot record the fire: %s",
			    s->name, err.msg);
		} else
			s->last_fire = at;
	}
	return 0;
}

void
slot_skip(struct slot *s, int64_t at, const char *trigger, const char *why)
{
	struct pf_err	 err;
	char		 ts[32];

	s->nskips++;
	if (at >= 0)
		log_info("'%s': fire at %s skipped: %s", log_q(s->name),
		    daemon_fmt_time(at, ts, sizeof(ts)), why);
	else
		log_info("'%s': %s run skipped: %s", log_q(s->name), trigger,
		    why);
	if (at > s->last_seen)
		s->last_seen = at;
	/* A skipped fire was handled: catch-up must not bring it back. */
	if (at > s->last_fire && s->qlen == 0) {
		if (store_schedule_set(s->d->store, s->name, at * 1000, &err) ==
		    -1)
			log_warnx("'%s': cannot record the fire: %s",
			    log_q(s->name), err.msg);
		else
			s->last_fire = at;
	}
}

void
slot_enqueue(struct slot *s, int64_t at, const char *trigger)
{
	struct qitem	*q;

	q = &s->queue[(s->qhead + s->qlen) % SCHED_QUEUE_MAX];
	q->at = at;
	snprintf(q->trigger, sizeof(q->trigger), "%s", trigger);
	s->qlen++;
	if (at > s->last_seen)
		s->last_seen = at;
	log_info("'%s': %s queued behind %u run%s in progress (%u waiting)",
	    log_q(s->name), trigger, s->nrunning, s->nrunning == 1 ? "" : "s",
	    s->qlen);
}

/* The supervisor's default per-workflow task cap (daemon_opts). */
static unsigned
wf_default_tasks(const struct daemon_opts *o)
{
	if (o->wf_max_tasks != 0 || o->max_tasks == 0)
		return o->wf_max_tasks;
	return o->max_tasks / 2 > 0 ? o->max_tasks / 2 : 1;
}

/* The smaller of two caps, 0 meaning none. */
static unsigned
cap_min(unsigned a, unsigned b)
{
	if (a == 0)
		return b;
	if (b == 0)
		return a;
	return a < b ? a : b;
}

/* What a workflow whose config does not say gets: default, ceiling. */
unsigned
daemon_wf_max_tasks(const struct daemon *d)
{
	unsigned	 t = wf_default_tasks(&d->opts);

	return cap_min(t, d->pol_max_tasks);
}

/*
 * The slot's cap on runs in flight: its config, else the default, lowered
 * to the policy's ceiling (pf-loader refused a workflow asking more; a
 * model that says more anyway is lowered here too).
 */
unsigned
slot_max_runs(const struct slot *s)
{
	unsigned	 runs = s->def->wf->max_runs_running;

	return cap_min(runs != 0 ? runs : s->d->opts.wf_max_runs,
	    s->d->pol_max_runs);
}

/* A fire (or a trigger) under the workflow's overlap policy. */
int
slot_fire(struct slot *s, int64_t at, const char *trigger, int64_t *run_id,
    char *msg, size_t msglen)
{
	char		 why[96];
	unsigned	 max_runs = slot_max_runs(s);

	if (run_id != NULL)
		*run_id = -1;
	if (at >= 0)
		s->nfires++;
	switch (sched_overlap(s->def->wf->overlap, s->nrunning, s->qlen,
	    max_runs)) {
	case SCHED_RUN:
		return slot_start(s, at, trigger, run_id, msg, msglen);
	case SCHED_QUEUE:
		slot_enqueue(s, at, trigger);
		snprintf(msg, msglen, "queued behind the run in progress "
		    "(overlap: queue)");
		return 0;
	case SCHED_SKIP:
	default:
		if (s->qlen >= SCHED_QUEUE_MAX)
			snprintf(why, sizeof(why), "%u fires already queued",
			    s->qlen);
		else if (s->def->wf->overlap == OVERLAP_ALLOW)
			snprintf(why, sizeof(why), "%u runs in flight, its "
			    "cap (max_runs_running)", s->nrunning);
		else
			snprintf(why, sizeof(why), "a run is in progress "
			    "(overlap: %s)",
			    sched_overlap_name(s->def->wf->overlap));
		slot_skip(s, at, trigger, why);
		snprintf(msg, msglen, "not started: %s", why);
		return 1;
	}
}

/*
 * libev's reschedule hook: at arming, at each expiry and after a clock
 * jump.  It may not touch watchers, so a fire that came due is only
 * noted here (s->due) and run from on_fire or, after a jump where libev
 * calls no callback, from the loop's check watcher.
 */
static ev_tstamp
slot_reschedule(ev_periodic *w, ev_tstamp now)
{
	struct slot	*s = w->data;
	int64_t		 due, nmissed, next;

	if (!s->def->has_spec) {
		s->armed_for = -1;
		return now + 1e9;
	}
	sched_rearm(&s->def->spec, s->armed_for, s->last_seen, now, &due,
	    &nmissed, &next);
	if (due >= 0) {
		s->due = due;
		s->d->dues = 1;
	}
	if (nmissed > 0) {
		s->nskips += (uint64_t)nmissed;
		s->missed_note += (uint64_t)nmissed;
		s->d->dues = 1;
	}
	s->armed_for = next;
	if (next < 0)
		return now + 1e9;	/* never: no future fire */
	return (ev_tstamp)next;
}

/* Runs a fire that came due (and says what was missed), once. */
static void
slot_run_due(struct slot *s)
{
	int64_t		 due = s->due;
	char		 msg[PF_ERR_MAX + 64];

	if (s->missed_note > 0) {
		log_warnx("'%s': %" PRIu64 " fire%s missed (the clock jumped "
		    "or the supervisor was held up); not made up", s->name,
		    s->missed_note, s->missed_note == 1 ? "" : "s");
		s->missed_note = 0;
	}
	s->due = -1;
	if (due < 0 || due <= s->last_seen || s->d->stopping)
		return;
	(void)slot_fire(s, due, "cron", NULL, msg, sizeof(msg));
}

static void
on_fire(struct ev_loop *loop, ev_periodic *w, int revents)
{
	(void)loop;
	(void)revents;
	slot_run_due(w->data);
}

/* Every loop iteration: fires noted by a reschedule that had no expiry. */
void
daemon_on_check(struct ev_loop *loop, ev_check *w, int revents)
{
	struct daemon	*d = w->data;
	struct slot	*s;

	(void)loop;
	(void)revents;
	if (!d->dues)
		return;
	d->dues = 0;
	for (s = d->slots; s != NULL; s = s->next)
		if (s->due >= 0 || s->missed_note > 0)
			slot_run_due(s);
}

void
slot_arm(struct slot *s)
{
	ev_periodic_stop(s->d->loop, &s->timer);
	s->armed_for = s->due = -1;
	if (s->d->stopping || !s->def->has_spec || s->def->spec.at_start)
		return;
	/* The loop's clock may be stale after slow start-up work. */
	ev_now_update(s->d->loop);
	ev_periodic_init(&s->timer, on_fire, 0., 0., slot_reschedule);
	s->timer.data = s;
	ev_periodic_start(s->d->loop, &s->timer);
}

struct slot *
slot_new(struct daemon *d, const char *path, struct wfdef *def)
{
	struct slot	*s;
	struct pf_err	 err;
	int64_t		 last;
	int		 found;

	if ((s = pf_calloc(1, sizeof(*s))) == NULL ||
	    (s->path = pf_strdup(path)) == NULL ||
	    (s->name = pf_strdup(def->wf->name)) == NULL) {
		if (s != NULL)
			pf_free(s->path);
		pf_free(s);
		return NULL;
	}
	s->d = d;
	s->def = def;
	s->armed_for = s->due = -1;
	s->last_seen = s->last_fire = -1;
	ev_periodic_init(&s->timer, on_fire, 0., 0., slot_reschedule);
	s->timer.data = s;
	if (store_schedule_get(d->store, s->name, &last, &found, &err) == -1)
		log_warnx("'%s': cannot read its last fire: %s", log_q(s->name),
		    err.msg);
	else if (found && last >= 0)
		s->last_fire = s->last_seen = last / 1000;
	/* Kept in name order, for logs and status. */
	{
		struct slot	**pp = &d->slots;

		while (*pp != NULL && strcmp((*pp)->name, s->name) < 0)
			pp = &(*pp)->next;
		s->next = *pp;
		*pp = s;
	}
	return s;
}

/* Starts queued fires that may start now. */
void
slot_drain_queue(struct slot *s)
{
	struct qitem	 q;
	char		 msg[PF_ERR_MAX + 64];
	unsigned	 max_runs = slot_max_runs(s);

	while (s->qlen > 0 && !s->d->stopping &&
	    (s->nrunning == 0 || s->def->wf->overlap == OVERLAP_ALLOW) &&
	    (max_runs == 0 || s->nrunning < max_runs)) {
		q = s->queue[s->qhead];
		s->qhead = (s->qhead + 1) % SCHED_QUEUE_MAX;
		s->qlen--;
		(void)slot_start(s, q.at, q.trigger, NULL, msg, sizeof(msg));
	}
}
