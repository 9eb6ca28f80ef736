/*
 * The daemon: start-up (paths, pidfile, store, engine, the first load,
 * recovery, the control socket), the event loop, the engine's hooks,
 * deferred work (queues, the end of a stop), signals, the graceful stop
 * and the shutdown.  daemon_int.h lists the files that hold the rest.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
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
#include "picoflow/clock.h"
#include "picoflow/ctl.h"
#include "picoflow/log.h"
#include "picoflow/paths.h"
#include "picoflow/store.h"
#include "control.h"
#include "daemon.h"
#include "daemon_int.h"
#include "engine.h"
#include "loadjob.h"
#include "attachdir.h"
#include "recover.h"
#include "spawn.h"

/* ---- small helpers -------------------------------------------------------- */

/* "2024-03-04T02:00:00Z" */
const char *
daemon_fmt_time(int64_t s, char *buf, size_t len)
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
void
daemon_note_error(struct daemon *d, const char *fmt, ...)
{
	char	 msg[PF_ERR_MAX + 256], ts[32];
	char	*s, *full;
	size_t	 len;
	va_list	 ap;
	unsigned i;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	daemon_fmt_time(clock_wall_ms() / 1000, ts, sizeof(ts));
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

/* ---- engine hooks ------------------------------------------------------------- */

static void
on_task_ended(void *arg, const struct engine_task_report *r)
{
	struct daemon	*d = arg;

	if (r->will_retry)
		log_info("run %" PRId64 " task '%s' attempt %u: %s%s%s; retry "
		    "in %.1f s", r->run_id, r->task->name, r->attempt,
		    pf_status_name(r->status), r->reason ? ": " : "",
		    r->reason ? r->reason :
		    "", (double)r->retry_in_ms / 1000.0);
	else if (r->status == PF_STATUS_SUCCESS)
		log_debug("run %" PRId64 " task '%s' attempt %u: success in "
		    "%" PRId64 " ms", r->run_id, r->task->name, r->attempt,
		    r->duration_ms);
	else
		log_info("run %" PRId64 " task '%s'%s: %s%s%s", r->run_id,
		    r->task->name, r->attempt ? "" : " (not run)",
		    pf_status_name(r->status),
		    r->reason ? ": " : "", r->reason ? r->reason : "");
	if (d->stopping)
		daemon_kick(d);
}

static void
on_run_ended(void *arg, const struct pf_workflow *wf, int64_t run_id,
    enum pf_status status, void *cookie)
{
	struct daemon	*d = arg;
	struct drun	*dr = cookie, **pp;
	struct slot	*s;

	(void)wf;
	log_info("'%s': run %" PRId64 " ended: %s", log_q(dr->name), run_id,
	    pf_status_name(status));
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
	daemon_kick(d);
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

void
daemon_kick(struct daemon *d)
{
	if (!ev_is_active(&d->kick)) {
		ev_timer_set(&d->kick, 0., 0.);
		ev_timer_start(d->loop, &d->kick);
	}
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
	daemon_kick(d);
}

static void
daemon_stop(struct daemon *d, const char *why)
{
	struct slot	*s;

	if (d->stopping) {
		log_warnx("%s again: killing what still runs", why);
		engine_cancel_all(d->eng, "the supervisor stopped at once "
		    "(second signal)");
		daemon_kick(d);
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
	daemon_kick(d);
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
		daemon_reload_start(d);
		return;
	case SIGTERM:
		daemon_stop(d, "SIGTERM");
		return;
	case SIGUSR2:
		daemon_restart(d, "SIGUSR2");
		return;
	default:
		daemon_stop(d, "SIGINT");
		return;
	}
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
	o->attach_window_ms = ENGINE_DEFAULT_ATTACH_WINDOW_MS;
	o->max_interruptions = ENGINE_DEFAULT_MAX_INTERRUPTIONS;
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
	daemon_reload_abort(d);
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

/*
 * Start-up before the pidfile: the paths, the state directory, a
 * configuration that can be read, and -d.  Errors go to stderr.
 */
static int
daemon_prepare(struct daemon *d, const struct daemon_opts *o)
{
	struct pf_err	 err;
	char		 logpath[PATH_MAX];

	if ((d->config = abs_config(o->config)) == NULL ||
	    paths_resolve(o->state_dir, o->db_path, &d->paths, &err) == -1) {
		fprintf(stderr, "pf-supervisor: %s\n", d->config == NULL ?
		    "out of memory" : err.msg);
		return -1;
	}
	if (paths_state_dir_prepare(d->paths.state_dir, &err) == -1) {
		fprintf(stderr, "pf-supervisor: %s\n", err.msg);
		return -1;
	}
	/* A configuration that cannot be read is a start-up error. */
	{
		struct stat	 sb;

		if (stat(d->config, &sb) == -1) {
			fprintf(stderr, "pf-supervisor: %s: %s\n", d->config,
			    strerror(errno));
			return -1;
		}
	}
	/* Restarted (exec'd again): already detached, same pid. */
	d->reexeced = daemon_reexeced();
	if (o->detach && !d->reexeced) {
		snprintf(logpath, sizeof(logpath), "%s/pf-supervisor.log",
		    d->paths.state_dir);
		if (daemon_detach(&d->ready_fd, o->log_file ? o->log_file :
		    logpath) == -1)
			return -1;
	}
	return 0;
}

/*
 * The pidfile, the store, the event loop, and the engine's options (its
 * default limits in d->defaults, for the policy).
 */
static int
daemon_open(struct daemon *d, struct engine_opts *eo, struct pf_err *err)
{
	const struct daemon_opts *o = &d->opts;

	if (daemon_pidfile_lock(o->pidfile ? o->pidfile : d->paths.pidfile,
	    &d->pidfd, err) == -1)
		return -1;
	d->started_ms = clock_wall_ms();
	(void)daemon_exe_resolve(d);
	log_info("pf-supervisor %s %s: config %s, state %s", PF_VERSION,
	    d->reexeced ? "restarted (exec)" : "starting", d->config,
	    d->paths.state_dir);
	if (spawn_find_worker(d->worker, sizeof(d->worker), err) == -1 ||
	    store_open(d->paths.db_path, STORE_RW, &d->store, err) == -1 ||
	    store_set_sync(d->store, o->sync, err) == -1)
		return -1;

	signal(SIGPIPE, SIG_IGN);
	if ((d->loop = ev_default_loop(EVFLAG_AUTO)) == NULL) {
		pf_err_set(err, "cannot initialise the event loop");
		return -1;
	}
	engine_opts_default(eo);
	eo->worker_path = d->worker;
	eo->max_tasks = o->max_tasks;
	eo->grace_ms = o->grace_ms;
	eo->trigger = "cron";
	eo->owner = STORE_OWNER_SUPERVISOR;
	eo->track_procs = 1;
	eo->no_cgroups = o->no_cgroups;
	eo->no_namespaces = o->no_namespaces;
	eo->jitter = 1;
	eo->output_budget = (uint64_t)o->output_budget;
	eo->max_interruptions = o->max_interruptions;
	eo->restarted = d->reexeced;
	if (o->attach_window_ms > 0) {
		if ((size_t)snprintf(d->attach_dir, sizeof(d->attach_dir),
		    "%s/attach", d->paths.state_dir) >= sizeof(d->attach_dir)) {
			pf_err_set(err, "state directory path too long");
			return -1;
		}
		if (attachdir_prepare(d->attach_dir, err) == -1) {
			log_warnx("tasks will not outlive the supervisor: %s",
			    err->msg);
			d->attach_dir[0] = '\0';
		} else {
			eo->attach_dir = d->attach_dir;
			eo->attach_window_ms = o->attach_window_ms;
		}
	}
	d->defaults = eo->limits;
	return 0;
}

/* The first load, and the policy's part of it. */
static int
daemon_first_load(struct daemon *d, struct loadjob_out *lout,
    struct pf_err *err)
{
	const struct daemon_opts *o = &d->opts;
	struct loadjob_req	 rq;

	/* Before the loop runs, the first load may block (up to its deadline). */
	if (spawn_find_exe("pf-loader", "PICOFLOW_LOADER", d->loader,
	    sizeof(d->loader), err) == -1)
		return -1;
	daemon_load_req(d, &rq);
	if (loadjob_run(&rq, daemon_load_timeout_ms(), lout, err) == -1) {
		log_error("cannot load the configuration: %s", err->msg);
		pf_err_set(err, "giving up: no configuration loaded");
		return -1;
	}
	if (daemon_policy(d, 1, lout, NULL) == -1) {
		pf_err_set(err, "giving up: the policy %s is broken",
		    o->policy);
		return -1;
	}
	if (d->run_as != NULL)
		log_info("tasks without run_as run as '%s'%s%s", d->run_as,
		    o->policy ? "; policy " : "", o->policy ? o->policy : "");
	return 0;
}

const char *
daemon_attach_dir(const struct daemon *d)
{
	return d->attach_dir[0] != '\0' ? d->attach_dir : NULL;
}

/* Spools and sockets of attempts that are not taken over go. */
static void
daemon_attach_sweep(struct daemon *d, const struct recover_run *rr,
    size_t nrr)
{
	int64_t	*ids;
	size_t	 i, k, n = 0;

	if (daemon_attach_dir(d) == NULL)
		return;
	for (i = 0; i < nrr; i++)
		n += rr[i].nadopts;
	if ((ids = pf_reallocarray(NULL, n ? n : 1, sizeof(*ids))) == NULL)
		return;		/* they stay until the next start */
	for (n = 0, i = 0; i < nrr; i++)
		for (k = 0; k < rr[i].nadopts; k++)
			ids[n++] = rr[i].adopts[k].attempt_id;
	attachdir_sweep(d->attach_dir, ids, n);
	pf_free(ids);
}

/* What a dead predecessor left: recorded before anything new runs. */
static int
daemon_recover(struct daemon *d, struct recover_run **rr, size_t *nrr,
    struct pf_err *err)
{
	struct recover_stats	 rst;
	struct recover_opts	 ro;

	ro.attach_dir = daemon_attach_dir(d);
	ro.max_interruptions = d->opts.max_interruptions;
	if (recover_scan(d->store, &ro, rr, nrr, &rst, err) == -1)
		return -1;
	if (rst.resumable + rst.failed + rst.left_alone > 0)
		log_info("recovery: %zu run%s to resume, %zu attempt%s "
		    "re-attached, %zu taken from a spool, %zu interrupted, "
		    "%zu process group%s killed, %zu run%s of "
		    "dead picoflow-run processes failed, %zu left to live "
		    "processes", rst.resumable, rst.resumable == 1 ? "" : "s",
		    rst.reattached, rst.reattached == 1 ? "" : "s",
		    rst.spooled, rst.interrupted,
		    rst.killed, rst.killed == 1 ? "" : "s", rst.failed,
		    rst.failed == 1 ? "" : "s", rst.left_alone);
	return 0;
}

/* Signals, the check for fires due, the stop, kick and retention timers. */
static void
daemon_watchers_init(struct daemon *d)
{
	ev_signal_init(&d->sigterm, on_signal, SIGTERM);
	ev_signal_init(&d->sigint, on_signal, SIGINT);
	ev_signal_init(&d->sighup, on_signal, SIGHUP);
	ev_signal_init(&d->sigusr2, on_signal, SIGUSR2);
	d->sigterm.data = d->sigint.data = d->sighup.data = d;
	d->sigusr2.data = d;
	ev_signal_start(d->loop, &d->sigusr2);
	ev_signal_start(d->loop, &d->sigterm);
	ev_signal_start(d->loop, &d->sigint);
	ev_signal_start(d->loop, &d->sighup);
	ev_check_init(&d->check, daemon_on_check);
	d->check.data = d;
	ev_check_start(d->loop, &d->check);
	ev_timer_init(&d->stop_timer, on_stop_timer, 0., 0.);
	ev_timer_init(&d->kick, on_kick, 0., 0.);
	d->stop_timer.data = d->kick.data = d;
	ev_timer_init(&d->retain_timer, daemon_on_retain_timer,
	    (double)d->opts.retain_every_s, (double)d->opts.retain_every_s);
	d->retain_timer.data = d;
}

static void
daemon_watchers_stop(struct daemon *d)
{
	if (d->loop != NULL) {
		ev_signal_stop(d->loop, &d->sigterm);
		ev_signal_stop(d->loop, &d->sigint);
		ev_signal_stop(d->loop, &d->sighup);
		ev_signal_stop(d->loop, &d->sigusr2);
		ev_timer_stop(d->loop, &d->stop_timer);
		ev_timer_stop(d->loop, &d->kick);
		ev_timer_stop(d->loop, &d->retain_timer);
		ev_check_stop(d->loop, &d->check);
	}
}

/* Says what was loaded, then that the daemon is ready (to a -d parent too). */
static void
daemon_ready(struct daemon *d, size_t nwf)
{
	struct slot	*t;
	char		 ts[32];

	for (t = d->slots; t != NULL; t = t->next)
		log_info("'%s' loaded from %s: %s%s%s", log_q(t->name),
		    t->path, t->def->wf->schedule ?
		    t->def->wf->schedule : "on demand",
		    t->armed_for >= 0 ? ", next " : "",
		    t->armed_for >= 0 ? daemon_fmt_time(t->armed_for, ts,
		    sizeof(ts)) : "");
	log_info("ready: %zu workflow%s, control socket %s", nwf,
	    nwf == 1 ? "" : "s", d->paths.control_sock);
	daemon_tell_parent(d, "OK");
}

/*
 * Everything from the pidfile to "ready": the store, the engine, the
 * first load, recovery, the control socket, resumed runs, retention,
 * catch-up and @start fires.  -1 (err filled): the daemon gives up.
 */
static int
daemon_start(struct daemon *d, struct pf_err *err)
{
	struct engine_opts	 eo;
	struct engine_hooks	 hooks;
	struct recover_run	*rr = NULL;
	struct reload_sum	 rs;
	struct slot		*s;
	struct loadjob_out	 lout;
	size_t			 nrr = 0, nwf = 0;
	int			 rc = -1;

	memset(&lout, 0, sizeof(lout));
	if (daemon_open(d, &eo, err) == -1 ||
	    daemon_first_load(d, &lout, err) == -1)
		goto out;
	memset(&hooks, 0, sizeof(hooks));
	hooks.task_ended = on_task_ended;
	hooks.run_ended = on_run_ended;
	hooks.arg = d;
	eo.wf_max_tasks = daemon_wf_max_tasks(d);
	if ((d->eng = engine_new(d->loop, d->store, &eo, &hooks, err)) == NULL)
		goto out;
	if (daemon_recover(d, &rr, &nrr, err) == -1)
		goto out;

	memset(&rs, 0, sizeof(rs));
	buf_init(&rs.text, CTL_TEXT_MAX);
	daemon_apply(d, 1, &lout.set, &rs);
	loadjob_out_free(&lout);
	buf_free(&rs.text);
	for (s = d->slots; s != NULL; s = s->next)
		nwf++;
	if (nwf == 0)
		log_warnx("no workflow loaded from %s (yet): add files and "
		    "send SIGHUP", d->config);

	if (control_listen(d->loop, d->paths.control_sock, daemon_on_request,
	    d, &d->ctl, err) == -1)
		goto out;
	daemon_watchers_init(d);

	daemon_attach_sweep(d, rr, nrr);
	/* Every run taken back before anything new starts. */
	engine_hold(d->eng, 1);
	daemon_resume_runs(d, rr, nrr);
	recover_runs_free(rr, nrr);
	rr = NULL;
	daemon_retention(d);
	if (d->opts.retain_every_s > 0)
		ev_timer_start(d->loop, &d->retain_timer);
	daemon_catch_up(d);
	/* A restart is not a start: @start fired when this one started. */
	if (d->reexeced)
		log_info("restarted: @start schedules do not fire again");
	else
		daemon_start_fires(d);
	engine_hold(d->eng, 0);
	daemon_ready(d, nwf);
	rc = 0;
out:
	recover_runs_free(rr, nrr);
	loadjob_out_free(&lout);
	return rc;
}

int
daemon_main(const struct daemon_opts *o)
{
	struct daemon	 d;
	struct pf_err	 err;
	char		 msg[PF_ERR_MAX + 16];

	memset(&d, 0, sizeof(d));
	d.opts = *o;
	d.pidfd = d.ready_fd = -1;
	d.exit_code = 1;
	if (daemon_prepare(&d, o) == -1)
		goto out;
	if (daemon_start(&d, &err) == -1)
		goto fail;

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
	daemon_tell_parent(&d, msg);
out:
	daemon_watchers_stop(&d);
	daemon_free(&d);
	if (d.ready_fd != -1)
		close(d.ready_fd);
	return d.exit_code;
}
