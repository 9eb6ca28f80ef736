/*
 * One attempt and its worker: starting it (engine_dispatch; a worker
 * that cannot start for want of descriptors, processes or memory holds
 * every start, see engine.h), reading the worker's frames (STARTED,
 * OUTPUT, RESULT) and writing its SPEC, its timeout, the stop (SIGTERM,
 * then SIGKILL after the grace period), and the child watcher.  When
 * both the process and its socket are done, engine_finish.c takes over.
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "picoflow/alloc.h"
#include "picoflow/clock.h"
#include "picoflow/log.h"
#include "engine_int.h"
#include "limit.h"
#include "procid.h"
#include "spawn.h"

/* A worker that stops talking after its process exited gets this long. */
#define DRAIN_AFTER_EXIT_S	1.0
/* After SIGKILL of a worker, how long until we stop waiting for it. */
#define KILL_MARGIN_S		2.0
/*
 * A shortage of workers that starts within this long of the last one
 * reported is logged at debug level and counted in the next report, so
 * a host that hovers at its limit gets a line a minute, not two a task.
 */
#define SPAWN_QUIET_S		60.0

void
engine_attempt_free(struct attempt *a)
{
	struct ev_loop	*loop = a->run->eng->loop;

	ev_io_stop(loop, &a->rio);
	ev_io_stop(loop, &a->wio);
	ev_child_stop(loop, &a->child);
	ev_timer_stop(loop, &a->timeout);
	ev_timer_stop(loop, &a->drain);
	if (a->fd != -1)
		close(a->fd);
	frame_reader_free(&a->rd);
	frame_asm_free(&a->fasm);
	buf_free(&a->wbuf);
	a->run->eng->out_mem -= a->out[0].len + a->out[1].len;
	buf_free(&a->out[0]);
	buf_free(&a->out[1]);
	proto_result_free(&a->result);
	pf_free(a->error);
	pf_free(a->end_reason);
	if (a->cg != NULL) {
		/* An attempt torn down before its end. */
		(void)cg_kill(a->cg);
		engine_cg_discard(a->run->eng, a->cg);
	}
	pf_free(a);
}

/* Records the first engine-side error of an attempt. */
void
engine_attempt_error(struct attempt *a, const char *msg)
{
	/* On ENOMEM the reason is lost, but the status still says failed. */
	if (a->error == NULL)
		a->error = pf_strdup(msg);
}

/* Stops talking to the worker: it sees EOF and kills its task. */
static void
attempt_hangup(struct attempt *a)
{
	struct ev_loop	*loop = a->run->eng->loop;

	ev_io_stop(loop, &a->rio);
	ev_io_stop(loop, &a->wio);
	if (a->fd != -1) {
		close(a->fd);
		a->fd = -1;
	}
	a->eof = 1;
}

void
engine_attempt_sigkill(struct attempt *a)
{
	/* The worker leads its own session; the task has its own group. */
	if (a->pid > 0 && !a->exited)
		(void)kill(-a->pid, SIGKILL);
	if (a->task_pid > 0)
		(void)kill(-a->task_pid, SIGKILL);
	/* And whatever left both groups: the cgroup holds it. */
	if (a->cg != NULL)
		(void)cg_kill(a->cg);
	a->killed = 1;
}

static void
on_kill_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct attempt	*a = w->data;

	(void)revents;
	if (!a->killed) {
		log_warnx("task '%s' attempt %u: still running %u ms after "
		    "SIGTERM; killing it", a->run->wf->tasks[a->task].name,
		    a->no, a->run->eng->opts.grace_ms);
		engine_attempt_sigkill(a);
		ev_timer_set(w, KILL_MARGIN_S, 0.);
		ev_timer_start(loop, w);
	}
	/* Otherwise the child watcher ends it; SIGKILL cannot be ignored. */
}

/*
 * Asks the worker to stop its task: SIGTERM to the worker, which passes
 * it on and escalates to SIGKILL after the grace period it was given.
 * Our own SIGKILL follows if the worker does not finish in time.
 */
void
engine_attempt_stop(struct attempt *a)
{
	if (a->exited)
		return;
	(void)kill(a->pid, SIGTERM);
	engine_attempt_await_stop(a);
}

/*
 * A stop is on its way (sent now, or by the worker itself): SIGKILL if
 * it has not ended after the grace period and a margin.
 */
void
engine_attempt_await_stop(struct attempt *a)
{
	struct ev_loop	*loop = a->run->eng->loop;
	double		 grace = a->run->eng->opts.grace_ms / 1000.0;

	ev_timer_stop(loop, &a->timeout);
	ev_set_cb(&a->timeout, on_kill_timer);
	ev_timer_set(&a->timeout, grace + KILL_MARGIN_S, 0.);
	ev_timer_start(loop, &a->timeout);
}

static void
on_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct attempt	*a = w->data;

	(void)loop;
	(void)revents;
	a->stop = A_STOP_TIMEOUT;
	log_info("task '%s' attempt %u: timed out after %u s",
	    a->run->wf->tasks[a->task].name, a->no,
	    a->run->wf->tasks[a->task].timeout);
	engine_attempt_stop(a);
}

static void
attempt_maybe_finish(struct attempt *a)
{
	if (a->exited && a->eof)
		engine_attempt_finish(a);
}

/*
 * A worker taken over is not our child: no exit status comes, the end
 * of its stream stands for it (it exits right after its RESULT, or was
 * killed).
 */
static void
attempt_adopted_gone(struct attempt *a)
{
	if (!a->adopted || a->exited)
		return;
	a->exited = 1;
	a->wstatus = 0;
	ev_timer_stop(a->run->eng->loop, &a->timeout);
	if (a->have_result)
		return;
	/*
	 * The end of its stream without a RESULT: it died, or it refused
	 * us (another peer holds the attachment).  Either way its task must
	 * not go on unwatched nor run twice: whatever is left is killed and
	 * the attempt is interrupted (not counted against retry).
	 */
	log_warnx("run %" PRId64 " task '%s' attempt %u: the worker taken "
	    "over (pid %ld) ended its stream without a result; stopping what "
	    "is left of it", a->run->run_id, a->run->wf->tasks[a->task].name,
	    a->no, (long)a->pid);
	a->interrupted = 1;
	engine_attempt_sigkill(a);
}

/*
 * Gives up on an attempt's worker: no more reading, and a worker taken
 * over counts as gone (the caller killed it).  The attempt ends now.
 */
void
engine_attempt_abandon(struct attempt *a)
{
	attempt_hangup(a);
	attempt_adopted_gone(a);
	attempt_maybe_finish(a);
}

static void
on_drain(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct attempt	*a = w->data;

	(void)loop;
	(void)revents;
	/* The worker is gone but its socket is held open: stop waiting. */
	attempt_hangup(a);
	attempt_maybe_finish(a);
}

static void
on_child(struct ev_loop *loop, ev_child *w, int revents)
{
	struct attempt	*a = w->data;

	(void)revents;
	ev_child_stop(loop, w);
	a->exited = 1;
	a->wstatus = w->rstatus;
	ev_timer_stop(loop, &a->timeout);
	if (!a->eof) {
		ev_timer_set(&a->drain, DRAIN_AFTER_EXIT_S, 0.);
		ev_timer_start(loop, &a->drain);
		return;
	}
	attempt_maybe_finish(a);
}

/*
 * Records who runs this attempt, so that a supervisor restarted after a
 * crash can kill exactly these processes if they outlived us.  Failing
 * to record it is not fatal: the worker also kills its task when our
 * end of the socket closes.
 */
static void
attempt_track_procs(struct attempt *a)
{
	struct store_procs	 p;
	struct pf_err		 err;

	p.worker_pid = a->pid;
	p.task_pid = a->task_pid > 0 ? a->task_pid : -1;
	if (procid_start_time(a->pid, &p.worker_start) == -1)
		p.worker_pid = -1;
	if (p.task_pid > 0 && procid_start_time(a->task_pid,
	    &p.task_start) == -1)
		p.task_pid = -1;
	if (p.worker_pid == -1 && p.task_pid == -1)
		return;
	/*
	 * In the batch: it is committed before the loop waits again, and
	 * nothing is acted on because of it.  The task runs already either
	 * way (its STARTED came), so a crash before the commit loses what
	 * one just before the write lost before: the restart cannot tell
	 * this worker; it still finds the attempt by its socket.
	 */
	engine_batch_write(a->run->eng);
	if (store_attempt_procs(a->run->eng->store, a->id, &p, &err) == -1)
		log_warnx("run %" PRId64 " task '%s': cannot record its "
		    "processes: %s", a->run->run_id,
		    a->run->wf->tasks[a->task].name, err.msg);
}

/* A replay after a re-attach: what the store has already is skipped. */
static void
attempt_skip_stored(struct attempt *a, struct proto_output *o)
{
	uint64_t	*skip = &a->skip[o->stream == PROTO_STDERR];
	size_t		 k;

	if (*skip == 0)
		return;
	k = *skip < o->len ? (size_t)*skip : o->len;
	o->data += k;
	o->len -= k;
	*skip -= k;
}

/* Returns -1 when the worker broke the protocol (err says how). */
static int
attempt_frame(struct attempt *a, const struct frame *f, struct pf_err *err)
{
	struct proto_started	 st;
	struct proto_output	 o;

	if (a->have_result) {
		pf_err_set(err, "%s frame after RESULT",
		    proto_msg_name(f->type));
		return -1;
	}
	a->nframes++;
	switch (f->type) {
	case PROTO_MSG_STARTED:
		if (proto_started_decode(f, &st, err) == -1)
			return -1;
		if (st.pid > 1 && st.pid <= INT32_MAX)
			a->task_pid = (pid_t)st.pid;
		if (a->start_latency_us < 0)
			a->start_latency_us = (int64_t)((ev_time() -
			    a->dispatched) * 1e6);
		if (a->run->eng->opts.track_procs)
			attempt_track_procs(a);
		return 0;
	case PROTO_MSG_OUTPUT:
		if (proto_output_decode(f, &o, err) == -1)
			return -1;
		attempt_skip_stored(a, &o);
		if (o.len > 0)
			engine_attempt_output(a, &o);
		return 0;
	case PROTO_MSG_RESULT:
		if (proto_result_decode(f, &a->result, err) == -1)
			return -1;
		a->have_result = 1;
		return 0;
	default:
		pf_err_set(err, "unexpected %s frame (type %u) from the worker",
		    proto_msg_name(f->type), f->type);
		return -1;
	}
}

static void
on_read(struct ev_loop *loop, ev_io *w, int revents)
{
	struct attempt	*a = w->data;
	struct frame	 f;
	struct pf_err	 err;
	ssize_t		 n;
	int		 r, budget = 16;

	(void)loop;
	(void)revents;
	/* A bounded number of reads per wakeup keeps other work moving. */
	while (budget-- > 0) {
		n = frame_reader_read(&a->rd, a->fd);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n == -1 && errno == ECONNRESET) {
			/* It exited with our data unread: an end of stream. */
			frame_reader_feed_eof(&a->rd);
		} else if (n == -1 && errno != ENOBUFS) {
			pf_err_set(&err, "reading from the worker: %s",
			    strerror(errno));
			goto broken;
		}
		while ((r = frame_reader_next(&a->rd, &f, &err)) == 1)
			if (attempt_frame(a, &f, &err) == -1)
				goto broken;
		if (r == -1)
			goto broken;
		if (frame_reader_done(&a->rd)) {
			attempt_hangup(a);
			attempt_adopted_gone(a);
			attempt_maybe_finish(a);
			return;
		}
		/* The frames of one read are taken; no more until stored. */
		if (a->run->eng->out_paused)
			return;
	}
	return;
broken:
	log_warnx("task '%s' attempt %u: worker protocol error: %s",
	    a->run->wf->tasks[a->task].name, a->no, err.msg);
	{
		char msg[PF_ERR_MAX + 32];

		snprintf(msg, sizeof(msg), "worker protocol error: %s",
		    err.msg);
		engine_attempt_error(a, msg);
	}
	attempt_hangup(a);
	attempt_adopted_gone(a);
	/* A worker that ignores the hangup is killed after the margin. */
	if (!a->exited) {
		ev_timer_stop(a->run->eng->loop, &a->timeout);
		ev_set_cb(&a->timeout, on_kill_timer);
		ev_timer_set(&a->timeout, KILL_MARGIN_S, 0.);
		ev_timer_start(a->run->eng->loop, &a->timeout);
	}
	attempt_maybe_finish(a);
}

/*
 * Sends what waits for the worker; the write watcher only waits for
 * what the socket did not take (a SPEC fits its buffer, so a dispatch
 * costs no watcher and no wakeup).
 */
void
engine_attempt_send(struct attempt *a)
{
	struct ev_loop	*loop = a->run->eng->loop;
	ssize_t		 n;

	while (a->wbuf.len > 0) {
		n = send(a->fd, a->wbuf.data, a->wbuf.len, MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN) {
			ev_io_start(loop, &a->wio);
			return;
		}
		if (n == -1) {
			/* The worker is gone; its exit status tells why. */
			buf_reset(&a->wbuf);
			break;
		}
		buf_consume(&a->wbuf, (size_t)n);
	}
	ev_io_stop(loop, &a->wio);
}

static void
on_write(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	engine_attempt_send(w->data);
}
/* Reading (unless output is paused), writing and the timeout start. */
void
engine_attempt_watch(struct attempt *a)
{
	struct engine	*eng = a->run->eng;

	ev_io_set(&a->rio, a->fd, EV_READ);
	ev_io_set(&a->wio, a->fd, EV_WRITE);
	if (!eng->out_paused)
		ev_io_start(eng->loop, &a->rio);
	/* A held SPEC goes out after the commit (engine_batch.c). */
	if (a->wbuf.len > 0 && !a->held)
		ev_io_start(eng->loop, &a->wio);
	if (!a->exited)
		ev_timer_start(eng->loop, &a->timeout);
}

void
engine_on_spawn_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct engine	*eng = w->data;

	(void)loop;
	(void)revents;
	eng->spawn_held = 0;
	engine_pump(eng);
}

/*
 * No worker could start for want of descriptors, processes or memory:
 * task i stays ready and first in its run's queue, nothing recorded or
 * counted, and no attempt of any run starts until the hold timer fires.
 * The hold doubles while the shortage lasts; the episode (one log line
 * at each end) lasts until a worker starts.
 */
static void
spawn_hold(struct engine_run *run, size_t i, const char *why)
{
	struct engine	*eng = run->eng;
	char		 quiet[64];

	(void)engine_task_event(run, i, E_NO_WORKER, NULL);
	if (eng->spawn_fails++ == 0) {
		eng->spawn_since = clock_mono_s();
		eng->spawn_delay_ms = eng->opts.spawn_backoff_ms;
		eng->spawn_told = eng->spawn_told_at == 0 ||
		    eng->spawn_since - eng->spawn_told_at >= SPAWN_QUIET_S;
		if (!eng->spawn_told) {
			eng->spawn_quiet++;
			log_debug("cannot start pf-worker: %s; waiting", why);
		} else {
			quiet[0] = '\0';
			if (eng->spawn_quiet > 0)
				snprintf(quiet, sizeof(quiet), " (and %lu times "
				    "since the last report)", eng->spawn_quiet);
			log_warnx("cannot start pf-worker: %s; tasks wait (no "
			    "attempt is counted) and it is tried again after "
			    "%u ms, doubling up to %u ms; after %g s of this, "
			    "attempts fail%s", why, eng->spawn_delay_ms,
			    eng->opts.spawn_backoff_max_ms,
			    eng->opts.spawn_giveup_ms / 1000.0, quiet);
			eng->spawn_told_at = eng->spawn_since;
			eng->spawn_quiet = 0;
		}
	} else if (eng->spawn_delay_ms < eng->opts.spawn_backoff_max_ms) {
		/* Compared before doubling, so it cannot overflow. */
		if (eng->spawn_delay_ms > eng->opts.spawn_backoff_max_ms / 2)
			eng->spawn_delay_ms = eng->opts.spawn_backoff_max_ms;
		else
			eng->spawn_delay_ms *= 2;
	}
	eng->spawn_held = 1;
	ev_timer_stop(eng->loop, &eng->spawn_timer);
	ev_timer_set(&eng->spawn_timer, eng->spawn_delay_ms / 1000.0, 0.);
	ev_timer_start(eng->loop, &eng->spawn_timer);
}

/*
 * Whether a worker refused for a shortage is waited for (0) or its
 * attempt fails (1): the shortage has lasted spawn_giveup_ms (or the
 * engine never waits).  Logged once per episode.
 */
static int
spawn_give_up(struct engine *eng, const char *why)
{
	if (eng->opts.spawn_giveup_ms > 0 && (eng->spawn_fails == 0 ||
	    (clock_mono_s() - eng->spawn_since) * 1000.0 <
	    (double)eng->opts.spawn_giveup_ms))
		return 0;
	if (eng->opts.spawn_giveup_ms == 0)
		return 1;
	if (!eng->spawn_gave_up)
		log_error("cannot start pf-worker for %g s (%s): attempts "
		    "that need one fail until one starts",
		    eng->opts.spawn_giveup_ms / 1000.0, why);
	eng->spawn_gave_up = 1;
	eng->spawn_fails++;
	return 1;
}

/* A worker started: the shortage, if there was one, is over. */
static void
spawn_recovered(struct engine *eng)
{
	if (eng->spawn_fails == 0)
		return;
	if (eng->spawn_told)
		log_info("pf-worker starts again after %lu refused tries "
		    "over %.1f s", eng->spawn_fails,
		    clock_mono_s() - eng->spawn_since);
	else
		log_debug("pf-worker starts again after %lu refused tries "
		    "over %.1f s", eng->spawn_fails,
		    clock_mono_s() - eng->spawn_since);
	eng->spawn_fails = 0;
	eng->spawn_gave_up = 0;
}

/* A new attempt of task i with its watchers set up, not started. */
struct attempt *
engine_attempt_alloc(struct engine_run *run, size_t i)
{
	struct attempt	*a;

	if ((a = pf_calloc(1, sizeof(*a))) == NULL)
		return NULL;
	a->run = run;
	a->task = i;
	a->fd = -1;
	a->dispatched = ev_time();
	a->start_latency_us = -1;
	frame_reader_init(&a->rd, FRAME_PAYLOAD_MAX);
	frame_asm_init(&a->fasm, PROTO_SPEC_MAX);
	buf_init(&a->wbuf, 0);
	buf_init(&a->out[0], 0);
	buf_init(&a->out[1], 0);
	proto_result_init(&a->result);
	ev_io_init(&a->rio, on_read, -1, EV_READ);
	ev_io_init(&a->wio, on_write, -1, EV_WRITE);
	ev_timer_init(&a->timeout, on_timeout,
	    (double)run->wf->tasks[i].timeout, 0.);
	ev_timer_init(&a->drain, on_drain, DRAIN_AFTER_EXIT_S, 0.);
	a->rio.data = a->wio.data = a->timeout.data = a->drain.data = a;
	a->child.data = a;
	return a;
}

/*
 * Starts one attempt of task i.  The worker comes first: a system short
 * of descriptors, processes or memory refuses it before anything is
 * recorded or counted, and the task waits (spawn_hold).  Any later
 * failure, or one that waiting cannot cure, fails the attempt at once.
 */
void
engine_dispatch(struct engine_run *run, size_t i)
{
	struct engine		*eng = run->eng;
	const struct pf_task	*task = &run->wf->tasks[i];
	struct task_rt		*t = &run->tasks[i];
	struct spawn_worker	 sw;
	struct attempt		*a;
	struct pf_err		 err, serr;
	char			 msg[PF_ERR_MAX + 128], waited[64];
	int			 spawned;

	if ((a = engine_attempt_alloc(run, i)) == NULL) {
		spawn_hold(run, i, "out of memory");
		return;
	}

	spawned = spawn_worker(task->type == TASK_SHELL ?
	    eng->opts.worker_path : eng->net_worker, &sw, &serr) == 0;
	if (!spawned && spawn_transient(sw.error) &&
	    !spawn_give_up(eng, serr.msg)) {
		engine_attempt_free(a);
		spawn_hold(run, i, serr.msg);
		return;
	}
	if (spawned) {
		spawn_recovered(eng);
		a->pid = sw.pid;
		a->fd = sw.fd;
	}
	a->no = ++t->attempts;
	a->started_ms = clock_wall_ms();
	a->started = ev_now(eng->loop);
	limit_resolve(&task->limits, &run->wf->limits, &eng->opts.limits,
	    &a->lim);
	a->cap = a->lim.output >= 0 ? (uint64_t)a->lim.output : UINT64_MAX;
	t->cur = a;
	run->running++;
	run->wfg->running++;
	eng->running++;
	(void)engine_task_event(run, i, E_DISPATCH, NULL);

	engine_batch_write(eng);
	if (store_attempt_begin(eng->store, run->run_id, task->name, a->no,
	    a->started_ms, &a->id, &err) == -1) {
		log_error("run %" PRId64 " task '%s': cannot record the "
		    "attempt; not starting it: %s", run->run_id, task->name,
		    err.msg);
		a->id = -1;
		if (spawned)
			goto kill;
		a->exited = a->eof = 1;
		engine_attempt_finish(a);
		return;
	}
	/* Reported, and its SPEC sent, once the begin is committed. */
	engine_batch_begun(a);

	if (!spawned) {
		waited[0] = '\0';
		if (eng->spawn_gave_up)
			snprintf(waited, sizeof(waited), " (no worker could "
			    "start for %g s)",
			    eng->opts.spawn_giveup_ms / 1000.0);
		snprintf(msg, sizeof(msg), "cannot start the task: %s%s",
		    serr.msg, waited);
		engine_attempt_error(a, msg);
		a->exited = a->eof = 1;
		engine_attempt_finish(a);
		return;
	}
	if (engine_attempt_cg_create(a, &err) == -1 ||
	    engine_queue_spec(a, &err) == -1) {
		snprintf(msg, sizeof(msg), "cannot start the task: %s",
		    err.msg);
		engine_attempt_error(a, msg);
		goto kill;
	}
	/* Before the SPEC goes out: the worker forks nothing until it has it. */
	if (a->cg != NULL && cg_attach(a->cg, a->pid, &err) == -1) {
		snprintf(msg, sizeof(msg), "cannot isolate the task: %s",
		    err.msg);
		engine_attempt_error(a, msg);
		goto kill;
	}
	goto watch;
kill:
	/* The worker has no SPEC: it dies, and the child watcher reaps it. */
	buf_reset(&a->wbuf);
	(void)kill(-a->pid, SIGKILL);
watch:
	ev_child_init(&a->child, on_child, a->pid, 0);
	ev_child_start(eng->loop, &a->child);
	engine_attempt_watch(a);
	log_debug("run %" PRId64 " task '%s' attempt %u: worker %ld",
	    run->run_id, task->name, a->no, (long)a->pid);
}
