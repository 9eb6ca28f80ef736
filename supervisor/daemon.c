/*
 * The daemon.  Its state is a list of slots, one per workflow file that
 * loaded (or once loaded) well, and a list of the runs it has in
 * progress.  A slot holds the current definition (refcounted: a run keeps
 * the definition it started with across reloads), its schedule timer and
 * its queue of fires waiting behind a run in progress.
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
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>

#include "picoflow/alloc.h"
#include "picoflow/buf.h"
#include "picoflow/ctl.h"
#include "picoflow/log.h"
#include "picoflow/paths.h"
#include "picoflow/store.h"
#include "picoflow/workflow.h"
#include "cgroup.h"
#include "control.h"
#include "daemon.h"
#include "nsprobe.h"
#include "engine.h"
#include "loadjob.h"
#include "recover.h"
#include "sched.h"
#include "spawn.h"
#include "wfset.h"

/* A loaded definition; runs hold references to it. */
struct wfdef {
	struct pf_workflow	*wf;
	struct sched_spec	 spec;
	int			 has_spec;	/* wf->schedule set */
	char			*norm;		/* normalized text: "changed?" */
	unsigned		 refs;
};

struct qitem {
	int64_t		 at;		/* scheduled time (s), -1 = none */
	char		 trigger[12];
};

struct daemon;

struct slot {
	struct daemon	*d;
	char		*path;		/* the file it came from */
	char		*name;
	struct wfdef	*def;
	char		*error;		/* its file is broken now: why */
	ev_periodic	 timer;
	int64_t		 armed_for;	/* fire the timer waits for, -1 */
	int64_t		 due;		/* fire that came due, not run yet */
	uint64_t	 missed_note;	/* missed fires not logged yet */
	int64_t		 last_seen;	/* newest fire handled */
	int64_t		 last_fire;	/* newest fire recorded in the store */
	unsigned	 nrunning;	/* its runs in progress, any version */
	struct qitem	 queue[SCHED_QUEUE_MAX];
	unsigned	 qhead, qlen;
	uint64_t	 nfires, nskips;
	int		 seen;		/* reload bookkeeping */
	struct slot	*next;
};

/* A run in progress, started or resumed here. */
struct drun {
	int64_t		 run_id;
	struct wfdef	*def;
	char		*name;
	char		 trigger[12];
	int64_t		 scheduled_s;	/* -1 none */
	int64_t		 started_ms;
	struct drun	*next;
};

struct daemon {
	struct daemon_opts	 opts;
	struct pf_paths		 paths;
	char			*config;	/* absolute */
	char			 worker[PATH_MAX];
	struct ev_loop		*loop;
	struct pf_store		*store;
	struct engine		*eng;
	struct control		*ctl;
	char			 loader[PATH_MAX]; /* pf-loader */
	uint8_t			*policy_bytes;	/* --policy: the last good one */
	size_t			 policy_len;
	char			*run_as;	/* tasks without run_as */
	unsigned		 pol_max_tasks;	/* the policy's ceilings, */
	unsigned		 pol_max_runs;	/* 0 = none */
	struct pf_limits	 defaults;	/* the engine's, for the policy */
	struct loadjob		*job;		/* a reload in flight */
	ev_io			 job_io;
	ev_child		 job_child;
	ev_timer		 job_timer;
	int			 reload_again;	/* asked for while one ran */
	uint64_t		*waiting;	/* control clients of this job */
	size_t			 nwaiting;
	uint64_t		*queued;	/* ... and of the next */
	size_t			 nqueued;
	struct slot		*slots;
	struct drun		*runs;
	int			 pidfd;
	int			 ready_fd;	/* -d: tells the parent */
	int			 stopping;
	int			 dues;		/* a slot has a fire due */
	int			 exit_code;
	int64_t			 started_ms;
	ev_signal		 sigterm, sigint, sighup;
	ev_timer		 stop_timer, retain_timer, kick;
	ev_check		 check;
	char			*errors[DAEMON_ERRORS_KEPT];
	unsigned		 nerrors, errhead;
};

static void	 slot_arm(struct slot *);
static void	 kick(struct daemon *);

/* ---- small helpers -------------------------------------------------------- */

static int64_t
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* "2024-03-04T02:00:00Z" */
static const char *
fmt_time(int64_t s, char *buf, size_t len)
{
	struct tm	 tm;
	time_t		 t = (time_t)s;

	if (s < 0 || gmtime_r(&t, &tm) == NULL) {
		snprintf(buf, len, "-");
		return buf;
	}
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

/* Remembers an error for `daemon status` (the newest DAEMON_ERRORS_KEPT). */
static void
note_error(struct daemon *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
note_error(struct daemon *d, const char *fmt, ...)
{
	char	 msg[PF_ERR_MAX + 256], ts[32];
	char	*s, *full;
	size_t	 len;
	va_list	 ap;
	unsigned i;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fmt_time(now_ms() / 1000, ts, sizeof(ts));
	len = strlen(ts) + strlen(msg) + 2;
	if ((full = pf_malloc(len)) == NULL)
		return;
	snprintf(full, len, "%s %s", ts, msg);
	if (d->nerrors < DAEMON_ERRORS_KEPT) {
		i = (d->errhead + d->nerrors++) % DAEMON_ERRORS_KEPT;
		d->errors[i] = full;
	} else {
		s = d->errors[d->errhead];
		d->errors[d->errhead] = full;
		d->errhead = (d->errhead + 1) % DAEMON_ERRORS_KEPT;
		pf_free(s);
	}
}

/* Logs each line of a multi-line text. */
static void
log_lines(int error, const char *prefix, const char *text)
{
	const char	*p = text, *nl;

	while (p != NULL && *p != '\0') {
		nl = strchr(p, '\n');
		if (error)
			log_error("%s%.*s", prefix, nl ? (int)(nl - p) :
			    (int)strlen(p), p);
		else
			log_warnx("%s%.*s", prefix, nl ? (int)(nl - p) :
			    (int)strlen(p), p);
		p = nl ? nl + 1 : NULL;
	}
}

/* ---- definitions ------------------------------------------------------------ */

static void
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
static struct wfdef *
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

static int
wfdef_same(const struct wfdef *a, const struct wfdef *b)
{
	return strcmp(a->norm, b->norm) == 0 &&
	    strcmp(a->wf->file ? a->wf->file : "",
	    b->wf->file ? b->wf->file : "") == 0;
}

/* ---- slots ------------------------------------------------------------------- */

static struct slot *
slot_by_name(struct daemon *d, const char *name)
{
	struct slot	*s;

	for (s = d->slots; s != NULL; s = s->next)
		if (strcmp(s->name, name) == 0)
			return s;
	return NULL;
}

static struct slot *
slot_by_path(struct daemon *d, const char *path)
{
	struct slot	*s;

	for (s = d->slots; s != NULL; s = s->next)
		if (strcmp(s->path, path) == 0)
			return s;
	return NULL;
}

static void
slot_free(struct slot *s)
{
	ev_periodic_stop(s->d->loop, &s->timer);
	wfdef_unref(s->def);
	pf_free(s->path);
	pf_free(s->name);
	pf_free(s->error);
	pf_free(s);
}

static void
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
static int
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
	dr->started_ms = now_ms();
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
			    fmt_time(at, ts, sizeof(ts)), id);
			snprintf(msg, msglen, "already ran as run %" PRId64,
			    id);
		} else {
			log_error("'%s': cannot start a run: %s",
			    log_q(s->name), err.msg);
			note_error(d, "'%s': cannot start a run: %s", s->name,
			    err.msg);
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
		    log_q(s->name), id, trigger, fmt_time(at, ts, sizeof(ts)));
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
			note_error(d, "'%s': cannot record the fire: %s",
			    s->name, err.msg);
		} else
			s->last_fire = at;
	}
	return 0;
}

static void
slot_skip(struct slot *s, int64_t at, const char *trigger, const char *why)
{
	struct pf_err	 err;
	char		 ts[32];

	s->nskips++;
	if (at >= 0)
		log_info("'%s': fire at %s skipped: %s", log_q(s->name),
		    fmt_time(at, ts, sizeof(ts)), why);
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

static void
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

/*
 * The slot's cap on runs in flight: its config, else the default, lowered
 * to the policy's ceiling (pf-loader refused a workflow asking more; a
 * model that says more anyway is lowered here too).
 */
static unsigned
slot_max_runs(const struct slot *s)
{
	unsigned	 runs = s->def->wf->max_runs_running;

	return cap_min(runs != 0 ? runs : s->d->opts.wf_max_runs,
	    s->d->pol_max_runs);
}

/* A fire (or a trigger) under the workflow's overlap policy. */
static int
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
static void
on_check(struct ev_loop *loop, ev_check *w, int revents)
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

static void
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

static struct slot *
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
static void
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

/* ---- engine hooks ------------------------------------------------------------- */

static void
on_task_ended(void *arg, const struct engine_task_report *r)
{
	struct daemon	*d = arg;

	if (r->will_retry)
		log_info("run %" PRId64 " task '%s' attempt %u: %s%s%s; retry "
		    "in %.1f s", r->run_id, r->task->name, r->attempt,
		    r->status, r->reason ? ": " : "", r->reason ? r->reason :
		    "", (double)r->retry_in_ms / 1000.0);
	else if (strcmp(r->status, "success") == 0)
		log_debug("run %" PRId64 " task '%s' attempt %u: success in "
		    "%" PRId64 " ms", r->run_id, r->task->name, r->attempt,
		    r->duration_ms);
	else
		log_info("run %" PRId64 " task '%s'%s: %s%s%s", r->run_id,
		    r->task->name, r->attempt ? "" : " (not run)", r->status,
		    r->reason ? ": " : "", r->reason ? r->reason : "");
	if (d->stopping)
		kick(d);
}

static void
on_run_ended(void *arg, const struct pf_workflow *wf, int64_t run_id,
    const char *status, void *cookie)
{
	struct daemon	*d = arg;
	struct drun	*dr = cookie, **pp;
	struct slot	*s;

	(void)wf;
	log_info("'%s': run %" PRId64 " ended: %s", log_q(dr->name), run_id,
	    status);
	for (pp = &d->runs; *pp != NULL; pp = &(*pp)->next)
		if (*pp == dr) {
			*pp = dr->next;
			break;
		}
	if ((s = slot_by_name(d, dr->name)) != NULL && s->nrunning > 0)
		s->nrunning--;
	wfdef_unref(dr->def);
	pf_free(dr->name);
	pf_free(dr);
	kick(d);
}

/* ---- deferred work: queues, the end of a stop ---------------------------------- */

static void
on_kick(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct daemon	*d = w->data;
	struct slot	*s;

	(void)revents;
	if (!d->stopping) {
		for (s = d->slots; s != NULL; s = s->next)
			slot_drain_queue(s);
		return;
	}
	/* Stopping: once no task runs, what is left never starts. */
	if (!engine_idle(d->eng) && engine_running(d->eng) == 0)
		engine_cancel_all(d->eng, "the supervisor stopped before "
		    "this task could start");
	if (engine_idle(d->eng))
		ev_break(loop, EVBREAK_ALL);
}

static void
kick(struct daemon *d)
{
	if (!ev_is_active(&d->kick)) {
		ev_timer_set(&d->kick, 0., 0.);
		ev_timer_start(d->loop, &d->kick);
	}
}

/* ---- loading and reloading ------------------------------------------------------ */

struct reload_sum {
	unsigned	 added, changed, removed, unchanged, broken;
	struct pf_buf	 text;		/* one line per change, for the reply */
};

static void
sum_line(struct reload_sum *rs, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
sum_line(struct reload_sum *rs, const char *fmt, ...)
{
	char	 line[PF_ERR_MAX + 256];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (rs->text.len < CTL_TEXT_MAX - 512)
		buf_printf(&rs->text, "%s%s", rs->text.len ? "\n" : "", line);
}

/* Only the first line of a multi-line error, for one-line summaries. */
static void
first_line(const char *text, char *buf, size_t len)
{
	const char	*nl = strchr(text, '\n');

	snprintf(buf, len, "%.*s%s", nl ? (int)(nl - text) :
	    (int)strlen(text), text, nl ? " (...)" : "");
}

/*
 * Brings the slots in line with a loaded set (at start: initial = 1).
 * Added, changed and removed workflows take effect; a file that broke
 * keeps its last good version.  Runs in progress are never touched.
 */
static void
daemon_apply(struct daemon *d, int initial, struct wfset *set,
    struct reload_sum *rs)
{
	struct wfset_entry	*e;
	struct wfdef		*def;
	struct slot		*s, *next;
	struct pf_err		 err;
	char			 line[PF_ERR_MAX + 16];
	size_t			 i;

	for (s = d->slots; s != NULL; s = s->next)
		s->seen = 0;
	/* Pass 1: files we know. */
	for (i = 0; i < set->n; i++) {
		e = &set->v[i];
		if (e->warnings != NULL)
			log_lines(0, "", e->warnings);
		if ((s = slot_by_path(d, e->path)) == NULL)
			continue;
		/* The policy now refuses it: no last good version to keep. */
		if (e->wf == NULL && e->policy_refused)
			continue;
		if (e->wf == NULL) {
			s->seen = 1;
			log_lines(1, "", e->error);
			log_warnx("%s is broken; '%s' keeps running on its "
			    "last good version", e->path, log_q(s->name));
			first_line(e->error, line, sizeof(line));
			note_error(d, "%s", line);
			pf_free(s->error);
			s->error = pf_strdup(e->error);
			rs->broken++;
			sum_line(rs, "broken: %s (keeping the last good '%s'): "
			    "%s", e->path, s->name, line);
			continue;
		}
		if (strcmp(e->wf->name, s->name) != 0)
			continue;	/* renamed inside: removed + added */
		s->seen = 1;
		pf_free(s->error);
		s->error = NULL;
		if ((def = wfdef_new(d, wfset_take(set, i), &err)) == NULL) {
			log_error("%s: %s; '%s' keeps running on its last "
			    "good version", e->path, err.msg, log_q(s->name));
			note_error(d, "%s: %s", e->path, err.msg);
			s->error = pf_strdup(err.msg);
			rs->broken++;
			sum_line(rs, "broken: %s: %s", e->path, err.msg);
			continue;
		}
		if (wfdef_same(def, s->def)) {
			wfdef_unref(def);
			rs->unchanged++;
			continue;
		}
		wfdef_unref(s->def);
		s->def = def;
		slot_arm(s);
		rs->changed++;
		log_info("'%s' changed (%s); runs in progress finish on the "
		    "old definition", s->name, e->path);
		sum_line(rs, "changed: %s (%s)", s->name, e->path);
	}
	/* Pass 2: what is gone. */
	for (s = d->slots; s != NULL; s = next) {
		next = s->next;
		if (s->seen)
			continue;
		log_info("'%s' removed (%s)%s", log_q(s->name), s->path,
		    s->nrunning ? "; runs in progress finish" : "");
		if (s->qlen > 0)
			log_info("'%s': %u queued fire%s dropped",
			    log_q(s->name),
			    s->qlen, s->qlen == 1 ? "" : "s");
		sum_line(rs, "removed: %s (%s)", s->name, s->path);
		rs->removed++;
		slot_unlink(d, s);
		slot_free(s);
	}
	/* Pass 3: new files, and new names in known files. */
	for (i = 0; i < set->n; i++) {
		e = &set->v[i];
		if (e->wf == NULL) {
			if (slot_by_path(d, e->path) != NULL)
				continue;	/* reported in pass 1 */
			log_lines(1, "", e->error);
			log_warnx("%s is broken; skipped", e->path);
			first_line(e->error, line, sizeof(line));
			note_error(d, "%s", line);
			rs->broken++;
			sum_line(rs, "broken: %s: %s", e->path, line);
			continue;
		}
		if ((s = slot_by_name(d, e->wf->name)) != NULL) {
			if (strcmp(s->path, e->path) == 0)
				continue;	/* handled in pass 1 */
			log_error("%s: workflow name '%s' is already used by "
			    "%s; skipped", e->path, log_q(e->wf->name),
			    s->path);
			note_error(d, "%s: workflow name '%s' is already used "
			    "by %s", e->path, e->wf->name, s->path);
			rs->broken++;
			sum_line(rs, "broken: %s: name '%s' is already used by "
			    "%s", e->path, e->wf->name, s->path);
			continue;
		}
		if ((def = wfdef_new(d, wfset_take(set, i), &err)) == NULL) {
			log_error("%s: %s; skipped", e->path, err.msg);
			note_error(d, "%s: %s", e->path, err.msg);
			rs->broken++;
			sum_line(rs, "broken: %s: %s", e->path, err.msg);
			continue;
		}
		if ((s = slot_new(d, e->path, def)) == NULL) {
			wfdef_unref(def);
			log_error("%s: out of memory; skipped", e->path);
			continue;
		}
		rs->added++;
		if (!initial) {
			log_info("'%s' added (%s)", log_q(s->name), s->path);
			sum_line(rs, "added: %s (%s)", s->name, s->path);
		}
		slot_arm(s);
	}
}

/* What a workflow whose config does not say gets: default, ceiling. */
static unsigned
daemon_wf_max_tasks(const struct daemon *d)
{
	unsigned	 t = wf_default_tasks(&d->opts);

	return cap_min(t, d->pol_max_tasks);
}

/*
 * The policy's part of a load.  A broken --policy file at start is
 * fatal; on reload the last good policy stays (pf-loader checked the
 * workflows against it) and the reason is logged and kept for status.
 * -1: the workflows of this load must not be used.
 */
static int
daemon_policy(struct daemon *d, int initial, struct loadjob_out *out,
    struct reload_sum *rs)
{
	const char	*text;

	if (d->opts.policy != NULL && !out->policy_ok) {
		text = out->policy_error != NULL ? out->policy_error :
		    "cannot load the policy";
		log_lines(1, "", text);
		if (!initial) {
			note_error(d, "policy %s is broken; the last "
			    "good one stays: %s", d->opts.policy, text);
			sum_line(rs, "policy %s is broken; the last "
			    "good one stays", d->opts.policy);
		}
		if (initial || !out->policy_fallback)
			return -1;
	} else if (d->opts.policy != NULL) {
		pf_free(d->policy_bytes);
		d->policy_bytes = out->policy_bytes;
		d->policy_len = out->policy_len;
		out->policy_bytes = NULL;
	}
	pf_free(d->run_as);
	d->run_as = out->run_as;
	out->run_as = NULL;
	/* The policy's fairness ceilings (0: none), as pf-loader read them. */
	d->pol_max_tasks = d->opts.policy != NULL ? out->max_tasks_running : 0;
	d->pol_max_runs = d->opts.policy != NULL ? out->max_runs_running : 0;
	if (d->eng != NULL)
		engine_set_wf_max_tasks(d->eng, daemon_wf_max_tasks(d));
	return 0;
}

/* How long one load may take; PICOFLOW_LOADER_TIMEOUT_MS for tests. */
static unsigned
load_timeout_ms(void)
{
	const char	*e = getenv("PICOFLOW_LOADER_TIMEOUT_MS");
	char		*end;
	unsigned long	 v;

	if (e != NULL && *e != '\0') {
		errno = 0;
		v = strtoul(e, &end, 10);
		if (errno == 0 && *end == '\0' && v >= 100 && v <= 3600000)
			return (unsigned)v;
	}
	return LOADJOB_TIMEOUT_MS;
}

static void
load_req(struct daemon *d, struct loadjob_req *rq)
{
	memset(rq, 0, sizeof(*rq));
	rq->exe = d->loader;
	rq->config = d->config;
	rq->policy = d->opts.policy;
	rq->last_policy = d->policy_bytes;
	rq->last_policy_len = d->policy_len;
	rq->cli_run_as = d->opts.run_as;
	rq->is_root = geteuid() == 0;
	rq->defaults = &d->defaults;
}

/*
 * A reload runs pf-loader off the event loop's back: its answer is read
 * as it comes (job_io), its exit reaped by the loop (job_child), and it
 * is killed at the deadline (job_timer).  Control clients that asked
 * for it are answered when it ends; one asked for while a load runs
 * gets the next load, which starts when this one ends.
 */
static void	 reload_start(struct daemon *);

static void
reload_answer(struct daemon *d, uint64_t *who, size_t n,
    struct reload_sum *rs, int failed)
{
	struct ctl_reply	 rep;
	char			 msg[PF_ERR_MAX + 128];
	size_t			 i;

	snprintf(msg, sizeof(msg), "reloaded: %u added, %u changed, %u "
	    "removed, %u unchanged, %u broken%s%s", rs->added, rs->changed,
	    rs->removed, rs->unchanged, rs->broken, rs->text.len ? "\n" : "",
	    rs->text.len ? buf_cstr(&rs->text) : "");
	for (i = 0; i < n; i++) {
		ctl_reply_init(&rep);
		rep.ok = !failed && rs->broken == 0;
		rep.message = pf_strdup(msg);
		control_answer(d->ctl, who[i], &rep);
		ctl_reply_free(&rep);
	}
}

static void
reload_stop_watchers(struct daemon *d)
{
	ev_io_stop(d->loop, &d->job_io);
	ev_child_stop(d->loop, &d->job_child);
	ev_timer_stop(d->loop, &d->job_timer);
}

static void
reload_end(struct daemon *d)
{
	struct loadjob		*job = d->job;
	struct loadjob_out	 out;
	struct reload_sum	 rs;
	struct pf_err		 err;
	uint64_t		*who = d->waiting;
	size_t			 nwho = d->nwaiting;
	int			 failed = 0;

	reload_stop_watchers(d);
	d->job = NULL;
	d->waiting = NULL;
	d->nwaiting = 0;
	memset(&rs, 0, sizeof(rs));
	buf_init(&rs.text, CTL_TEXT_MAX);
	if (loadjob_finish(job, &out, &err) == -1) {
		/* A crashed or lying loader: this load is void, nothing else. */
		log_error("reload: %s; the last good configuration stays",
		    err.msg);
		note_error(d, "reload: %s; the last good configuration stays",
		    err.msg);
		sum_line(&rs, "%s; nothing changed", err.msg);
		failed = 1;
	} else {
		if (!d->stopping && daemon_policy(d, 0, &out, &rs) == 0) {
			daemon_apply(d, 0, &out.set, &rs);
			log_info("reload: %u added, %u changed, %u removed, %u "
			    "unchanged, %u broken", rs.added, rs.changed,
			    rs.removed, rs.unchanged, rs.broken);
		} else
			failed = 1;
		loadjob_out_free(&out);
		kick(d);
	}
	reload_answer(d, who, nwho, &rs, failed);
	pf_free(who);
	buf_free(&rs.text);
	if (d->reload_again) {
		d->reload_again = 0;
		d->waiting = d->queued;
		d->nwaiting = d->nqueued;
		d->queued = NULL;
		d->nqueued = 0;
		reload_start(d);
	}
}

static void
reload_check(struct daemon *d)
{
	if (d->job != NULL && loadjob_done(d->job))
		reload_end(d);
}

static void
on_job_io(struct ev_loop *loop, ev_io *w, int revents)
{
	struct daemon	*d = w->data;

	(void)loop;
	(void)revents;
	loadjob_read(d->job);
	if (loadjob_fd(d->job) == -1)
		ev_io_stop(d->loop, &d->job_io);
	reload_check(d);
}

static void
on_job_child(struct ev_loop *loop, ev_child *w, int revents)
{
	struct daemon	*d = w->data;

	(void)loop;
	(void)revents;
	if (!WIFEXITED(w->rstatus) && !WIFSIGNALED(w->rstatus))
		return;		/* stopped or continued: not an end */
	ev_child_stop(d->loop, &d->job_child);
	loadjob_exited(d->job, w->rstatus);
	if (loadjob_fd(d->job) != -1) {
		/* Whatever it wrote before it went is still in the pipe. */
		loadjob_read(d->job);
	}
	if (loadjob_fd(d->job) == -1)
		ev_io_stop(d->loop, &d->job_io);
	reload_check(d);
}

static void
on_job_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct daemon	*d = w->data;

	(void)loop;
	(void)revents;
	ev_io_stop(d->loop, &d->job_io);
	loadjob_kill(d->job);
	reload_check(d);
}

static void
reload_start(struct daemon *d)
{
	struct loadjob_req	 rq;
	struct reload_sum	 rs;
	struct pf_err		 err;

	if (d->job != NULL) {
		d->reload_again = 1;
		return;
	}
	log_info("reloading %s", d->config);
	load_req(d, &rq);
	if (loadjob_start(&rq, &d->job, &err) == -1) {
		log_error("cannot read the configuration: %s", err.msg);
		note_error(d, "cannot read the configuration: %s", err.msg);
		memset(&rs, 0, sizeof(rs));
		buf_init(&rs.text, CTL_TEXT_MAX);
		sum_line(&rs, "cannot read the configuration: %s; nothing "
		    "changed", err.msg);
		reload_answer(d, d->waiting, d->nwaiting, &rs, 1);
		buf_free(&rs.text);
		pf_free(d->waiting);
		d->waiting = NULL;
		d->nwaiting = 0;
		return;
	}
	ev_io_init(&d->job_io, on_job_io, loadjob_fd(d->job), EV_READ);
	ev_child_init(&d->job_child, on_job_child, loadjob_pid(d->job), 0);
	ev_timer_init(&d->job_timer, on_job_timer, load_timeout_ms() / 1000.,
	    0.);
	d->job_io.data = d->job_child.data = d->job_timer.data = d;
	ev_io_start(d->loop, &d->job_io);
	ev_child_start(d->loop, &d->job_child);
	ev_timer_start(d->loop, &d->job_timer);
}

/* A control client waits for the reload it asked for. */
static int
reload_wait(struct daemon *d, uint64_t serial)
{
	uint64_t	**v = d->job != NULL ? &d->queued : &d->waiting;
	size_t		 *n = d->job != NULL ? &d->nqueued : &d->nwaiting;
	uint64_t	 *nv;

	if (*n >= CONTROL_CLIENTS_MAX ||
	    (nv = pf_reallocarray(*v, *n + 1, sizeof(*nv))) == NULL)
		return -1;
	nv[(*n)++] = serial;
	*v = nv;
	return 0;
}

/* Stops a load in flight (the supervisor is leaving). */
static void
reload_abort(struct daemon *d)
{
	struct loadjob_out	 out;
	struct pf_err		 err;
	int			 st = 0;

	if (d->job == NULL)
		return;
	reload_stop_watchers(d);
	loadjob_kill(d->job);
	while (waitpid(loadjob_pid(d->job), &st, 0) == -1 && errno == EINTR)
		;
	loadjob_exited(d->job, st);
	if (loadjob_finish(d->job, &out, &err) == 0)
		loadjob_out_free(&out);
	d->job = NULL;
}

/* ---- start-up: resume, catch-up, @start ------------------------------------- */

static void
resume_runs(struct daemon *d, struct recover_run *rr, size_t n)
{
	struct store_attempt	*atts;
	struct drun		*dr;
	struct slot		*s;
	struct pf_err		 err;
	size_t			 i, na;
	char			 why[WF_NAME_MAX + 128];

	for (i = 0; i < n; i++) {
		if ((s = slot_by_name(d, rr[i].workflow)) == NULL) {
			snprintf(why, sizeof(why), "cannot resume: workflow "
			    "'%s' is not loaded (removed or broken)",
			    rr[i].workflow);
			log_warnx("run %" PRId64 ": %s; recorded as failed",
			    rr[i].run_id, why);
			note_error(d, "run %" PRId64 ": %s", rr[i].run_id, why);
			if (store_run_end(d->store, rr[i].run_id, "failed",
			    now_ms(), why, &err) == -1)
				log_warnx("run %" PRId64 ": %s", rr[i].run_id,
				    err.msg);
			continue;
		}
		if (store_attempts_list(d->store, rr[i].run_id, NULL, 0, &atts,
		    &na, &err) == -1) {
			log_error("run %" PRId64 ": cannot read its attempts: "
			    "%s; it stays for the next start", rr[i].run_id,
			    err.msg);
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
		if (engine_resume(d->eng, s->def->wf, dr->run_id, atts, na, dr,
		    &err) == -1) {
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

static void
catch_up(struct daemon *d)
{
	struct sched_catchup	 c;
	struct slot		*s;
	struct pf_err		 err;
	int64_t			*fires, nmissed, newest, now = now_ms() / 1000;
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
		    nmissed == 1 ? "" : "s", fmt_time(s->last_fire, a,
		    sizeof(a)), sched_catchup_name(c.policy), c.window, c.max,
		    n);
		if (nmissed > (int64_t)n)
			s->nskips += (uint64_t)(nmissed - (int64_t)n);
		for (i = 0; i < n; i++) {
			s->nfires++;
			log_info("'%s': catching up the fire at %s",
			    log_q(s->name),
			    fmt_time(fires[i], b, sizeof(b)));
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

static void
start_fires(struct daemon *d)
{
	struct slot	*s;
	char		 msg[PF_ERR_MAX + 64];

	for (s = d->slots; s != NULL; s = s->next)
		if (s->def->has_spec && s->def->spec.at_start)
			(void)slot_fire(s, -1, "start", NULL, msg,
			    sizeof(msg));
}

/* ---- retention ------------------------------------------------------------------- */

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

static void
retention(struct daemon *d)
{
	struct store_prune_rule	 dflt, *rules = NULL;
	struct pf_err		 err;
	struct slot		*s;
	const struct pf_retention *rt;
	size_t			 n = 0, cap = 0;
	int64_t			 n1 = 0, n2 = 0, now = now_ms();

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
				note_error(d, "retention: out of memory");
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
		note_error(d, "retention: %s", err.msg);
		return;
	}
	pf_free(rules);
	if (d->opts.retain_bytes > 0 &&
	    store_prune_bytes(d->store, d->opts.retain_bytes, &n2, &err) ==
	    -1) {
		log_warnx("retention: %s", err.msg);
		note_error(d, "retention: %s", err.msg);
		return;
	}
	if (n1 + n2 > 0) {
		log_info("retention: deleted %" PRId64 " finished run%s",
		    n1 + n2, n1 + n2 == 1 ? "" : "s");
		if (store_checkpoint(d->store, &err) == -1)
			log_warnx("retention: %s", err.msg);
	}
}

static void
on_retain_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	retention(w->data);
}

/* ---- control requests ------------------------------------------------------------ */

static void
status_reply(struct daemon *d, struct ctl_reply *rep)
{
	struct ctl_wf_status	 w;
	struct ctl_run_status	 r;
	struct slot		*s;
	struct drun		*dr;
	unsigned		 i;
	long			 k;

	rep->ok = 1;
	rep->has_status = 1;
	rep->pid = (uint32_t)getpid();
	rep->version = pf_strdup(PF_VERSION);
	rep->started_ms = d->started_ms;
	rep->now_ms = now_ms();
	rep->config = pf_strdup(d->config);
	rep->stopping = d->stopping;
	rep->tasks_running = engine_running(d->eng);
	rep->max_tasks = d->opts.max_tasks;
	rep->isolation_mode = pf_strdup(engine_isolation_mode(d->eng));
	rep->isolation = pf_strdup(engine_isolation(d->eng));
	rep->namespaces = pf_strdup(engine_namespaces(d->eng));
	for (s = d->slots; s != NULL; s = s->next) {
		memset(&w, 0, sizeof(w));
		w.name = s->name;
		w.file = s->path;
		w.schedule = s->def->wf->schedule;
		w.timezone = s->def->wf->timezone ? s->def->wf->timezone :
		    (char *)(uintptr_t)(d->opts.default_tz ?
		    d->opts.default_tz : "UTC");
		w.next_fire_ms = s->armed_for >= 0 && !d->stopping ?
		    s->armed_for * 1000 : -1;
		w.last_fire_ms = s->last_fire >= 0 ? s->last_fire * 1000 : -1;
		w.running = s->nrunning;
		w.queued = s->qlen;
		w.fires = s->nfires;
		w.skips = s->nskips;
		w.error = s->error;
		w.overlap = (uint8_t)s->def->wf->overlap;
		if (ctl_reply_add_wf(rep, &w) == -1)
			break;
	}
	for (dr = d->runs; dr != NULL; dr = dr->next) {
		if (dr->run_id < 0)
			continue;
		memset(&r, 0, sizeof(r));
		r.run_id = dr->run_id;
		r.workflow = dr->name;
		r.trigger = dr->trigger;
		r.started_ms = dr->started_ms;
		r.scheduled_ms = dr->scheduled_s >= 0 ? dr->scheduled_s * 1000 :
		    -1;
		k = engine_run_running(d->eng, dr->run_id);
		r.tasks_running = k > 0 ? (uint32_t)k : 0;
		if (ctl_reply_add_run(rep, &r) == -1)
			break;
	}
	for (i = 0; i < d->nerrors; i++)
		(void)ctl_reply_add_error(rep,
		    d->errors[(d->errhead + i) % DAEMON_ERRORS_KEPT]);
}

static void
on_request(void *arg, const struct ctl_request *req, struct ctl_reply *rep)
{
	struct daemon		*d = arg;
	struct slot		*s;
	char			 msg[PF_ERR_MAX + 128];
	uint64_t		 serial;
	int64_t			 id;
	int			 rc;

	log_debug("control: %s", ctl_cmd_name(req->cmd));
	switch (req->cmd) {
	case CTL_CMD_STATUS:
		status_reply(d, rep);
		return;
	case CTL_CMD_TRIGGER:
		if (d->stopping) {
			snprintf(msg, sizeof(msg), "the supervisor is stopping");
			break;
		}
		if ((s = slot_by_name(d, req->workflow)) == NULL) {
			snprintf(msg, sizeof(msg), "no workflow named '%s' is "
			    "loaded", req->workflow);
			break;
		}
		rc = slot_fire(s, -1, "manual", &id, msg, sizeof(msg));
		rep->ok = rc == 0;
		rep->run_id = id;
		break;
	case CTL_CMD_CANCEL:
		if (engine_cancel_run(d->eng, req->run_id, "cancelled on "
		    "request") == -1) {
			snprintf(msg, sizeof(msg), "run %" PRId64 " is not in "
			    "progress here (or is being cancelled already)",
			    req->run_id);
			break;
		}
		log_info("run %" PRId64 ": cancelled on request", req->run_id);
		snprintf(msg, sizeof(msg), "cancelling run %" PRId64,
		    req->run_id);
		rep->ok = 1;
		rep->run_id = req->run_id;
		break;
	case CTL_CMD_RELOAD:
		if (d->stopping) {
			snprintf(msg, sizeof(msg), "the supervisor is stopping");
			break;
		}
		/* Answered when the load ends (reload_end). */
		if ((serial = control_defer(d->ctl)) == 0 ||
		    reload_wait(d, serial) == -1) {
			snprintf(msg, sizeof(msg), "too many reloads waiting");
			break;
		}
		reload_start(d);
		return;
	default:
		snprintf(msg, sizeof(msg), "unknown command");
		break;
	}
	rep->message = pf_strdup(msg);
}

/* ---- signals and stopping --------------------------------------------------------- */

static void
on_stop_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct daemon	*d = w->data;

	(void)loop;
	(void)revents;
	log_warnx("stop: %u task%s still running after %u s; killing them",
	    engine_running(d->eng), engine_running(d->eng) == 1 ? "" : "s",
	    d->opts.stop_timeout_ms / 1000);
	engine_cancel_all(d->eng, "the supervisor stopped: killed at the stop "
	    "deadline");
	kick(d);
}

static void
daemon_stop(struct daemon *d, const char *why)
{
	struct slot	*s;

	if (d->stopping) {
		log_warnx("%s again: killing what still runs", why);
		engine_cancel_all(d->eng, "the supervisor stopped at once "
		    "(second signal)");
		kick(d);
		return;
	}
	d->stopping = 1;
	for (s = d->slots; s != NULL; s = s->next) {
		ev_periodic_stop(d->loop, &s->timer);
		s->armed_for = -1;
		if (s->qlen > 0)
			log_info("'%s': %u queued fire%s dropped",
			    log_q(s->name),
			    s->qlen, s->qlen == 1 ? "" : "s");
		s->qlen = 0;
	}
	ev_timer_stop(d->loop, &d->retain_timer);
	engine_drain(d->eng);
	log_info("%s: stopping; no new task starts, %u running task%s get "
	    "%u s to finish", why, engine_running(d->eng),
	    engine_running(d->eng) == 1 ? "" : "s",
	    d->opts.stop_timeout_ms / 1000);
	ev_timer_set(&d->stop_timer, d->opts.stop_timeout_ms / 1000.0, 0.);
	ev_timer_start(d->loop, &d->stop_timer);
	kick(d);
}

static void
on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct daemon		*d = w->data;

	(void)loop;
	(void)revents;
	switch (w->signum) {
	case SIGHUP:
		if (d->stopping)
			return;
		reload_start(d);
		return;
	case SIGTERM:
		daemon_stop(d, "SIGTERM");
		return;
	default:
		daemon_stop(d, "SIGINT");
		return;
	}
}

/* ---- pidfile ---------------------------------------------------------------------- */

/*
 * Locks the pidfile for the life of the process (fcntl lock, released by
 * the kernel however we die): a stale file never blocks a start, and a
 * second supervisor on the same state directory is refused.  The file is
 * never unlinked; a lock on an unlinked file would protect nothing.
 */
static int
pidfile_lock(const char *path, int *fdp, struct pf_err *err)
{
	struct flock	 fl;
	struct stat	 a, b;
	char		 buf[32];
	int		 fd, n, tries;

	for (tries = 0; tries < 5; tries++) {
		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
		    0644);
		if (fd == -1) {
			pf_err_set(err, "cannot open pidfile %s: %s%s", path,
			    strerror(errno), errno == ELOOP ? " (it is a "
			    "symbolic link, which is never followed: remove "
			    "it)" : "");
			return -1;
		}
		memset(&fl, 0, sizeof(fl));
		fl.l_type = F_WRLCK;
		fl.l_whence = SEEK_SET;
		if (fcntl(fd, F_SETLK, &fl) == -1) {
			int	 e = errno;

			memset(&fl, 0, sizeof(fl));
			fl.l_type = F_WRLCK;
			fl.l_whence = SEEK_SET;
			if ((e == EAGAIN || e == EACCES) &&
			    fcntl(fd, F_GETLK, &fl) == 0 &&
			    fl.l_type != F_UNLCK)
				pf_err_set(err, "another pf-supervisor (pid "
				    "%ld) is running with this state "
				    "directory (%s is locked)", (long)fl.l_pid,
				    path);
			else
				pf_err_set(err, "cannot lock pidfile %s: %s",
				    path, strerror(e));
			close(fd);
			return -1;
		}
		/* The file we locked must still be the one at the path. */
		if (fstat(fd, &a) == 0 && lstat(path, &b) == 0 &&
		    a.st_dev == b.st_dev && a.st_ino == b.st_ino)
			break;
		close(fd);
		fd = -1;
	}
	if (fd == -1) {
		pf_err_set(err, "pidfile %s keeps changing under us", path);
		return -1;
	}
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == -1 || pwrite(fd, buf, (size_t)n, 0) != n) {
		pf_err_set(err, "cannot write pidfile %s: %s", path,
		    strerror(errno));
		close(fd);
		return -1;
	}
	*fdp = fd;
	return 0;
}

/* ---- start-up and the main loop --------------------------------------------------- */

void
daemon_opts_default(struct daemon_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->max_tasks = DAEMON_DEFAULT_MAX_TASKS;
	o->wf_max_runs = DAEMON_DEFAULT_WF_MAX_RUNS;
	o->grace_ms = ENGINE_DEFAULT_GRACE_MS;
	o->stop_timeout_ms = DAEMON_DEFAULT_STOP_TIMEOUT_S * 1000;
	o->sync = STORE_SYNC_FULL;
	o->retain_runs = DAEMON_DEFAULT_RETAIN_RUNS;
	o->retain_bytes = DAEMON_DEFAULT_RETAIN_BYTES;
	o->retain_every_s = DAEMON_DEFAULT_RETAIN_EVERY_S;
	o->output_budget = (int64_t)ENGINE_DEFAULT_OUTPUT_BUDGET;
}

/* -n: what isolation the supervisor would get here, without setting it up. */
static void
check_isolation(const struct daemon_opts *o)
{
	struct cg_opts	 co;
	struct cg_sys	*cgs;
	struct pf_err	 err;

	cg_opts_default(&co);
	co.detect_only = 1;
	co.force_none = o->no_cgroups;
	if (cg_open(&co, &cgs, &err) == -1) {
		fprintf(stderr, "pf-supervisor: %s\n", err.msg);
		return;
	}
	printf("%s\n", cg_describe(cgs));
	cg_close(cgs);
	if (o->no_namespaces)
		printf("namespaces: NONE (--no-namespaces)\n");
	else {
		char	 line[320];

		(void)nsprobe_run(line, sizeof(line));
		printf("%s\n", line);
	}
}

int
daemon_check(const struct daemon_opts *o)
{
	struct sched_spec	 sp;
	struct pf_err		 err;
	const struct pf_workflow *wf;
	int64_t			 next;
	size_t			 i, ok = 0;
	char			 ts[32], exe[PATH_MAX];
	int			 rc = 0;
	struct engine_opts	 eo;
	struct pf_limits	 dl;
	struct loadjob_req	 rq;
	struct loadjob_out	 out;
	struct wfset		*set = &out.set;

	engine_opts_default(&eo);
	engine_opts_limits(&eo, &dl);
	if (spawn_find_exe("pf-loader", "PICOFLOW_LOADER", exe, sizeof(exe),
	    &err) == -1) {
		fprintf(stderr, "pf-supervisor: %s\n", err.msg);
		return 1;
	}
	memset(&rq, 0, sizeof(rq));
	rq.exe = exe;
	rq.config = o->config;
	rq.policy = o->policy;
	rq.cli_run_as = o->run_as;
	rq.is_root = geteuid() == 0;
	rq.defaults = &dl;
	if (loadjob_run(&rq, load_timeout_ms(), &out, &err) == -1) {
		fprintf(stderr, "pf-supervisor: %s\n", err.msg);
		return 1;
	}
	if (o->policy != NULL) {
		if (!out.policy_ok) {
			fprintf(stderr, "%s\n%s: invalid policy\n",
			    out.policy_error ? out.policy_error :
			    "cannot load the policy", o->policy);
			loadjob_out_free(&out);
			return 1;
		}
		printf("policy %s: valid\n", o->policy);
	}
	for (i = 0; i < set->n; i++) {
		if (set->v[i].warnings != NULL)
			fprintf(stderr, "%s\n", set->v[i].warnings);
		if ((wf = set->v[i].wf) == NULL) {
			fprintf(stderr, "%s\n", set->v[i].error);
			rc = 1;
			continue;
		}
		if (wf->schedule == NULL) {
			printf("%s: '%s' (on demand)\n", set->v[i].path,
			    wf->name);
			ok++;
			continue;
		}
		if (sched_spec_init(&sp, wf->schedule, wf->timezone,
		    o->default_tz, &err) == -1) {
			fprintf(stderr, "%s: %s\n", set->v[i].path, err.msg);
			rc = 1;
			sched_spec_free(&sp);
			continue;
		}
		if (sp.at_start)
			printf("%s: '%s' (%s: at start)\n", set->v[i].path,
			    wf->name, wf->schedule);
		else if (sched_next(&sp, now_ms() / 1000, &next) == 0)
			printf("%s: '%s' (%s, next %s)\n", set->v[i].path,
			    wf->name, wf->schedule, fmt_time(next, ts,
			    sizeof(ts)));
		else
			printf("%s: '%s' (%s: never fires again)\n",
			    set->v[i].path, wf->name, wf->schedule);
		sched_spec_free(&sp);
		ok++;
	}
	printf("%zu workflow%s valid, %zu broken\n", ok, ok == 1 ? "" : "s",
	    set->nbroken + (size_t)(rc && set->nbroken == 0 ? 1 : 0));
	loadjob_out_free(&out);
	check_isolation(o);
	return rc;
}

/* -d: the parent waits for the daemon to say it is ready (or why not). */
static int
detach(int *ready_fd, const char *log_path)
{
	char	 buf[PF_ERR_MAX + 64];
	ssize_t	 n;
	size_t	 got = 0;
	pid_t	 pid;
	int	 p[2], fd, st;

	if (pipe2(p, O_CLOEXEC) == -1) {
		fprintf(stderr, "pf-supervisor: pipe: %s\n", strerror(errno));
		return -1;
	}
	if ((pid = fork()) == -1) {
		fprintf(stderr, "pf-supervisor: fork: %s\n", strerror(errno));
		return -1;
	}
	if (pid > 0) {
		close(p[1]);
		while (got < sizeof(buf) - 1 && (n = read(p[0], buf + got,
		    sizeof(buf) - 1 - got)) != 0) {
			if (n == -1 && errno == EINTR)
				continue;
			if (n == -1)
				break;
			got += (size_t)n;
		}
		buf[got] = '\0';
		(void)waitpid(pid, &st, 0);	/* the middle process */
		if (strncmp(buf, "OK", 2) == 0)
			_exit(0);
		fprintf(stderr, "pf-supervisor: %s\n", got ? buf :
		    "the daemon exited during start-up");
		_exit(1);
	}
	close(p[0]);
	if (setsid() == -1)
		_exit(1);
	if ((pid = fork()) == -1)
		_exit(1);
	if (pid > 0)
		_exit(0);
	if (chdir("/") == -1)
		_exit(1);
	if ((fd = open("/dev/null", O_RDWR | O_CLOEXEC)) != -1) {
		(void)dup2(fd, STDIN_FILENO);
		(void)dup2(fd, STDOUT_FILENO);
		close(fd);
	}
	/* Never through a link: root would append wherever it points. */
	if ((fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC |
	    O_NOFOLLOW | O_NOCTTY, 0600)) == -1) {
		struct pf_buf	 m;
		int		 e = errno;

		buf_init(&m, 0);
		buf_printf(&m, "cannot open the log file %s: %s%s", log_path,
		    strerror(e), e == ELOOP ? " (it is a symbolic link, which "
		    "is never followed: remove it)" : "");
		if (!m.failed && write(p[1], m.data, m.len) == -1)
			(void)0;	/* the parent is gone */
		_exit(1);
	}
	(void)dup2(fd, STDERR_FILENO);
	close(fd);
	*ready_fd = p[1];
	return 0;
}

static void
tell_parent(struct daemon *d, const char *msg)
{
	if (d->ready_fd == -1)
		return;
	if (write(d->ready_fd, msg, strlen(msg)) == -1)
		(void)0;	/* the parent is gone: nobody to tell */
	close(d->ready_fd);
	d->ready_fd = -1;
}

static void
daemon_free(struct daemon *d)
{
	struct slot	*s;
	unsigned	 i;

	control_close(d->ctl);
	d->ctl = NULL;
	engine_free(d->eng);
	d->eng = NULL;
	reload_abort(d);
	pf_free(d->waiting);
	pf_free(d->queued);
	pf_free(d->policy_bytes);
	d->policy_bytes = NULL;
	pf_free(d->run_as);
	d->run_as = NULL;
	while (d->runs != NULL) {
		struct drun *dr = d->runs;

		d->runs = dr->next;
		wfdef_unref(dr->def);
		pf_free(dr->name);
		pf_free(dr);
	}
	while ((s = d->slots) != NULL) {
		d->slots = s->next;
		slot_free(s);
	}
	for (i = 0; i < d->nerrors; i++)
		pf_free(d->errors[(d->errhead + i) % DAEMON_ERRORS_KEPT]);
	store_close(d->store);
	if (d->pidfd != -1) {
		/* Still locked: clear it so nobody reads a dead pid. */
		if (ftruncate(d->pidfd, 0) == -1)
			(void)0;
		close(d->pidfd);
	}
	paths_free(&d->paths);
	pf_free(d->config);
}

/* Absolute config path: a reload after chdir must find the same files. */
static char *
abs_config(const char *config)
{
	char	*r, cwd[PATH_MAX];
	size_t	 len;

	if ((r = realpath(config, NULL)) != NULL) {
		char	*c = pf_strdup(r);

		free(r);
		return c;
	}
	if (config[0] == '/' || getcwd(cwd, sizeof(cwd)) == NULL)
		return pf_strdup(config);
	len = strlen(cwd) + strlen(config) + 2;
	if ((r = pf_malloc(len)) != NULL)
		snprintf(r, len, "%s/%s", cwd, config);
	return r;
}

int
daemon_main(const struct daemon_opts *o)
{
	struct daemon		 d;
	struct engine_opts	 eo;
	struct engine_hooks	 hooks;
	struct recover_run	*rr = NULL;
	struct recover_stats	 rst;
	struct reload_sum	 rs;
	struct pf_err		 err;
	struct slot		*s;
	struct loadjob_req	 rq;
	struct loadjob_out	 lout;
	size_t			 nrr = 0, nwf = 0;
	char			 logpath[PATH_MAX], msg[PF_ERR_MAX + 16];

	memset(&d, 0, sizeof(d));
	memset(&lout, 0, sizeof(lout));
	d.opts = *o;
	d.pidfd = d.ready_fd = -1;
	d.exit_code = 1;
	if ((d.config = abs_config(o->config)) == NULL ||
	    paths_resolve(o->state_dir, o->db_path, &d.paths, &err) == -1) {
		fprintf(stderr, "pf-supervisor: %s\n", d.config == NULL ?
		    "out of memory" : err.msg);
		goto out;
	}
	if (paths_state_dir_prepare(d.paths.state_dir, &err) == -1) {
		fprintf(stderr, "pf-supervisor: %s\n", err.msg);
		goto out;
	}
	/* A configuration that cannot be read is a start-up error. */
	{
		struct stat	 sb;

		if (stat(d.config, &sb) == -1) {
			fprintf(stderr, "pf-supervisor: %s: %s\n", d.config,
			    strerror(errno));
			goto out;
		}
	}
	if (o->detach) {
		snprintf(logpath, sizeof(logpath), "%s/pf-supervisor.log",
		    d.paths.state_dir);
		if (detach(&d.ready_fd, o->log_file ? o->log_file :
		    logpath) == -1)
			goto out;
	}
	if (pidfile_lock(o->pidfile ? o->pidfile : d.paths.pidfile, &d.pidfd,
	    &err) == -1)
		goto fail;
	d.started_ms = now_ms();
	log_info("pf-supervisor %s starting: config %s, state %s", PF_VERSION,
	    d.config, d.paths.state_dir);
	if (spawn_find_worker(d.worker, sizeof(d.worker), &err) == -1 ||
	    store_open(d.paths.db_path, STORE_RW, &d.store, &err) == -1 ||
	    store_set_sync(d.store, o->sync, &err) == -1)
		goto fail;

	signal(SIGPIPE, SIG_IGN);
	if ((d.loop = ev_default_loop(EVFLAG_AUTO)) == NULL) {
		pf_err_set(&err, "cannot initialise the event loop");
		goto fail;
	}
	engine_opts_default(&eo);
	eo.worker_path = d.worker;
	eo.max_tasks = o->max_tasks;
	eo.grace_ms = o->grace_ms;
	eo.trigger = "cron";
	eo.owner = STORE_OWNER_SUPERVISOR;
	eo.track_procs = 1;
	eo.no_cgroups = o->no_cgroups;
	eo.no_namespaces = o->no_namespaces;
	eo.jitter = 1;
	eo.output_budget = (uint64_t)o->output_budget;
	engine_opts_limits(&eo, &d.defaults);
	/* Before the loop runs, the first load may block (up to its deadline). */
	if (spawn_find_exe("pf-loader", "PICOFLOW_LOADER", d.loader,
	    sizeof(d.loader), &err) == -1)
		goto fail;
	load_req(&d, &rq);
	if (loadjob_run(&rq, load_timeout_ms(), &lout, &err) == -1) {
		log_error("cannot load the configuration: %s", err.msg);
		pf_err_set(&err, "giving up: no configuration loaded");
		goto fail;
	}
	if (daemon_policy(&d, 1, &lout, NULL) == -1) {
		pf_err_set(&err, "giving up: the policy %s is broken",
		    o->policy);
		goto fail;
	}
	if (d.run_as != NULL)
		log_info("tasks without run_as run as '%s'%s%s", d.run_as,
		    o->policy ? "; policy " : "", o->policy ? o->policy : "");
	memset(&hooks, 0, sizeof(hooks));
	hooks.task_ended = on_task_ended;
	hooks.run_ended = on_run_ended;
	hooks.arg = &d;
	eo.wf_max_tasks = daemon_wf_max_tasks(&d);
	if ((d.eng = engine_new(d.loop, d.store, &eo, &hooks, &err)) == NULL)
		goto fail;

	/* What a dead predecessor left: recorded before anything new runs. */
	if (recover_scan(d.store, &rr, &nrr, &rst, &err) == -1)
		goto fail;
	if (rst.resumable + rst.failed + rst.left_alone > 0)
		log_info("recovery: %zu run%s to resume, %zu attempt%s "
		    "interrupted, %zu process group%s killed, %zu run%s of "
		    "dead picoflow-run processes failed, %zu left to live "
		    "processes", rst.resumable, rst.resumable == 1 ? "" : "s",
		    rst.interrupted, rst.interrupted == 1 ? "" : "s",
		    rst.killed, rst.killed == 1 ? "" : "s", rst.failed,
		    rst.failed == 1 ? "" : "s", rst.left_alone);

	memset(&rs, 0, sizeof(rs));
	buf_init(&rs.text, CTL_TEXT_MAX);
	daemon_apply(&d, 1, &lout.set, &rs);
	loadjob_out_free(&lout);
	buf_free(&rs.text);
	for (s = d.slots; s != NULL; s = s->next)
		nwf++;
	if (nwf == 0)
		log_warnx("no workflow loaded from %s (yet): add files and "
		    "send SIGHUP", d.config);

	if (control_listen(d.loop, d.paths.control_sock, on_request, &d,
	    &d.ctl, &err) == -1)
		goto fail;

	ev_signal_init(&d.sigterm, on_signal, SIGTERM);
	ev_signal_init(&d.sigint, on_signal, SIGINT);
	ev_signal_init(&d.sighup, on_signal, SIGHUP);
	d.sigterm.data = d.sigint.data = d.sighup.data = &d;
	ev_signal_start(d.loop, &d.sigterm);
	ev_signal_start(d.loop, &d.sigint);
	ev_signal_start(d.loop, &d.sighup);
	ev_check_init(&d.check, on_check);
	d.check.data = &d;
	ev_check_start(d.loop, &d.check);
	ev_timer_init(&d.stop_timer, on_stop_timer, 0., 0.);
	ev_timer_init(&d.kick, on_kick, 0., 0.);
	d.stop_timer.data = d.kick.data = &d;
	ev_timer_init(&d.retain_timer, on_retain_timer,
	    (double)o->retain_every_s, (double)o->retain_every_s);
	d.retain_timer.data = &d;

	resume_runs(&d, rr, nrr);
	recover_runs_free(rr, nrr);
	rr = NULL;
	retention(&d);
	if (o->retain_every_s > 0)
		ev_timer_start(d.loop, &d.retain_timer);
	catch_up(&d);
	start_fires(&d);

	{
		struct slot	*t;
		char		 ts[32];

		for (t = d.slots; t != NULL; t = t->next)
			log_info("'%s' loaded from %s: %s%s%s", log_q(t->name),
			    t->path, t->def->wf->schedule ?
			    t->def->wf->schedule : "on demand",
			    t->armed_for >= 0 ? ", next " : "",
			    t->armed_for >= 0 ? fmt_time(t->armed_for, ts,
			    sizeof(ts)) : "");
	}
	log_info("ready: %zu workflow%s, control socket %s", nwf,
	    nwf == 1 ? "" : "s", d.paths.control_sock);
	tell_parent(&d, "OK");

	ev_run(d.loop, 0);

	/* Left the loop: every run has ended (or was cancelled). */
	if (engine_flush_pending(d.eng) > 0)
		log_warnx("some run ends could not be recorded; the next start "
		    "settles them");
	log_info("stopped");
	d.exit_code = 0;
	goto out;
fail:
	log_error("%s", err.msg);
	snprintf(msg, sizeof(msg), "%s", err.msg);
	tell_parent(&d, msg);
out:
	recover_runs_free(rr, nrr);
	loadjob_out_free(&lout);
	if (d.loop != NULL) {
		ev_signal_stop(d.loop, &d.sigterm);
		ev_signal_stop(d.loop, &d.sigint);
		ev_signal_stop(d.loop, &d.sighup);
		ev_timer_stop(d.loop, &d.stop_timer);
		ev_timer_stop(d.loop, &d.kick);
		ev_timer_stop(d.loop, &d.retain_timer);
		ev_check_stop(d.loop, &d.check);
	}
	daemon_free(&d);
	if (d.ready_fd != -1)
		close(d.ready_fd);
	return d.exit_code;
}
