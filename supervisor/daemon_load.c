/*
 * Loading and reloading.  pf-loader, unprivileged and confined, parses
 * the workflow directory and the policy and sends the checked models
 * back; here the answer is applied to the slots (added, changed, removed
 * and broken files) and the policy's part (run_as, fairness ceilings) is
 * taken.  The first load at start blocks; a reload (SIGHUP or the control
 * socket) runs off the event loop's back and answers the clients that
 * asked for it when it ends.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "picoflow/alloc.h"
#include "picoflow/buf.h"
#include "picoflow/ctl.h"
#include "picoflow/log.h"
#include "control.h"
#include "daemon_int.h"
#include "engine.h"
#include "loadjob.h"
#include "wfset.h"

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

/* Pass 1 of a load: files we know. */
static void
apply_known(struct daemon *d, struct wfset *set, struct reload_sum *rs)
{
	struct wfset_entry	*e;
	struct wfdef		*def;
	struct slot		*s;
	struct pf_err		 err;
	char			 line[PF_ERR_MAX + 16];
	size_t			 i;

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
			daemon_note_error(d, "%s", line);
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
			daemon_note_error(d, "%s: %s", e->path, err.msg);
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
}

/* Pass 2 of a load: what is gone. */
static void
apply_gone(struct daemon *d, struct reload_sum *rs)
{
	struct slot	*s, *next;

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
}

/* Pass 3 of a load: new files, and new names in known files. */
static void
apply_new(struct daemon *d, int initial, struct wfset *set,
    struct reload_sum *rs)
{
	struct wfset_entry	*e;
	struct wfdef		*def;
	struct slot		*s;
	struct pf_err		 err;
	char			 line[PF_ERR_MAX + 16];
	size_t			 i;

	for (i = 0; i < set->n; i++) {
		e = &set->v[i];
		if (e->wf == NULL) {
			if (slot_by_path(d, e->path) != NULL)
				continue;	/* reported in pass 1 */
			log_lines(1, "", e->error);
			log_warnx("%s is broken; skipped", e->path);
			first_line(e->error, line, sizeof(line));
			daemon_note_error(d, "%s", line);
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
			daemon_note_error(d, "%s: workflow name '%s' is "
			    "already used by %s", e->path, e->wf->name,
			    s->path);
			rs->broken++;
			sum_line(rs, "broken: %s: name '%s' is already used by "
			    "%s", e->path, e->wf->name, s->path);
			continue;
		}
		if ((def = wfdef_new(d, wfset_take(set, i), &err)) == NULL) {
			log_error("%s: %s; skipped", e->path, err.msg);
			daemon_note_error(d, "%s: %s", e->path, err.msg);
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

/*
 * Brings the slots in line with a loaded set (at start: initial = 1).
 * Added, changed and removed workflows take effect; a file that broke
 * keeps its last good version.  Runs in progress are never touched.
 */
void
daemon_apply(struct daemon *d, int initial, struct wfset *set,
    struct reload_sum *rs)
{
	struct slot	*s;

	for (s = d->slots; s != NULL; s = s->next)
		s->seen = 0;
	apply_known(d, set, rs);
	apply_gone(d, rs);
	apply_new(d, initial, set, rs);
}

/*
 * The policy's part of a load.  A broken --policy file at start is
 * fatal; on reload the last good policy stays (pf-loader checked the
 * workflows against it) and the reason is logged and kept for status.
 * -1: the workflows of this load must not be used.
 */
int
daemon_policy(struct daemon *d, int initial, struct loadjob_out *out,
    struct reload_sum *rs)
{
	const char	*text;

	if (d->opts.policy != NULL && !out->policy_ok) {
		text = out->policy_error != NULL ? out->policy_error :
		    "cannot load the policy";
		log_lines(1, "", text);
		if (!initial) {
			daemon_note_error(d, "policy %s is broken; the last "
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
unsigned
daemon_load_timeout_ms(void)
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

void
daemon_load_req(struct daemon *d, struct loadjob_req *rq)
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
		daemon_note_error(d, "reload: %s; the last good configuration "
		    "stays", err.msg);
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
		daemon_kick(d);
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
		daemon_reload_start(d);
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

void
daemon_reload_start(struct daemon *d)
{
	struct loadjob_req	 rq;
	struct reload_sum	 rs;
	struct pf_err		 err;

	if (d->job != NULL) {
		d->reload_again = 1;
		return;
	}
	log_info("reloading %s", d->config);
	daemon_load_req(d, &rq);
	if (loadjob_start(&rq, &d->job, &err) == -1) {
		log_error("cannot read the configuration: %s", err.msg);
		daemon_note_error(d, "cannot read the configuration: %s",
		    err.msg);
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
	ev_timer_init(&d->job_timer, on_job_timer,
	    daemon_load_timeout_ms() / 1000., 0.);
	d->job_io.data = d->job_child.data = d->job_timer.data = d;
	ev_io_start(d->loop, &d->job_io);
	ev_child_start(d->loop, &d->job_child);
	ev_timer_start(d->loop, &d->job_timer);
}

/* A control client waits for the reload it asked for. */
int
daemon_reload_wait(struct daemon *d, uint64_t serial)
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
void
daemon_reload_abort(struct daemon *d)
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
