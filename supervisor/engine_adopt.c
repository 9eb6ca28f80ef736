/*
 * Attempts taken over from a dead predecessor (docs/operations.md,
 * "Crash, restart and upgrade").  Crash recovery (recover.c) connected to
 * each worker that outlived it, or opened the spool of one that ended
 * since; engine_resume marks those tasks, and when their dependencies
 * are met (they are: the task was running) engine_collect_ready hands
 * them here instead of to the run queue.  The attempt keeps its number
 * and its row; the worker replays everything it sent since STARTED, and
 * the output the store already has is skipped (attempt.skip).  From
 * then on it is an attempt like any other, except that the worker is
 * not our child: the end of its stream is its end.
 */
#include <sys/socket.h>

#include <inttypes.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "picoflow/clock.h"
#include "picoflow/log.h"
#include "attachdir.h"
#include "engine_int.h"
#include "limit.h"
#include "procid.h"

/*
 * A worker taken over replays its spool at once, STARTED first: one that
 * has sent nothing after this long is stopped or stuck.
 */
#define ADOPT_QUIET_S	10.0

/* Removes a finished attempt's spool and socket (they may be gone). */
void
engine_attach_forget(const struct engine *eng, int64_t attempt_id)
{
	if (eng->opts.attach_dir != NULL && attempt_id >= 0)
		attachdir_forget(eng->opts.attach_dir, attempt_id);
}

/*
 * The attempt row's start, from the run's rows engine_resume was given.
 * Returns 1 when its timeout has passed already.
 */
static int
adopt_times(struct attempt *a, int64_t started_ms)
{
	struct engine		*eng = a->run->eng;
	const struct pf_task	*task = &a->run->wf->tasks[a->task];
	double			 ran, left;

	a->started_ms = started_ms > 0 ? started_ms : clock_wall_ms();
	ran = (double)(clock_wall_ms() - a->started_ms) / 1000.0;
	if (ran < 0)
		ran = 0;
	a->started = ev_now(eng->loop) - ran;
	a->dispatched = a->started;
	a->start_latency_us = 0;	/* not measured: not started by us */
	/* What is left of its timeout. */
	left = (double)task->timeout - ran;
	ev_timer_set(&a->timeout, left > 0.001 ? left : 0.001, 0.);
	return left <= 0;
}

static void
on_adopt_quiet(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct attempt	*a = w->data;

	(void)loop;
	(void)revents;
	if (a->nframes > 0 || a->eof)
		return;
	log_warnx("run %" PRId64 " task '%s' attempt %u: its worker (pid %ld) "
	    "sent nothing for %g s after the re-attach (stopped or stuck): "
	    "killing it; the task runs again", a->run->run_id,
	    a->run->wf->tasks[a->task].name, a->no, (long)a->pid,
	    ADOPT_QUIET_S);
	a->interrupted = 1;
	engine_attempt_sigkill(a);
	engine_attempt_abandon(a);
}

void
engine_adopt(struct engine_run *run, size_t i)
{
	struct engine		*eng = run->eng;
	struct task_rt		*t = &run->tasks[i];
	struct engine_adopt	*ad = t->adopt;
	const struct pf_task	*task = &run->wf->tasks[i];
	struct attempt		*a;
	struct pf_err		 err;
	int			 passed;

	t->adopt = NULL;
	if ((a = engine_attempt_alloc(run, i)) == NULL) {
		/* It must not run twice: stop the worker, run it again. */
		log_error("run %" PRId64 " task '%s': out of memory taking "
		    "over attempt %u; it is stopped and runs again",
		    run->run_id, task->name, ad->attempt);
		if (ad->worker_pid > 0)
			(void)kill(ad->worker_pid, SIGKILL);
		close(ad->fd);
		ad->fd = -1;
		/* Ready (E_ADOPT): queued as act_enqueue would. */
		run->rq[(run->rq_head + run->rq_len++) % run->wf->ntasks] = i;
		return;
	}
	a->adopted = 1;
	a->no = ad->attempt;
	a->id = ad->attempt_id;
	a->fd = ad->fd;
	ad->fd = -1;
	a->pid = ad->worker_pid;
	/* Known before its STARTED comes again, to stop it if need be. */
	if (ad->procs.task_pid > 1 && ad->procs.task_pid <= INT32_MAX &&
	    procid_matches((pid_t)ad->procs.task_pid, ad->procs.task_start))
		a->task_pid = (pid_t)ad->procs.task_pid;
	/* A worker that is gone left its spool: nothing to stop or wait. */
	a->exited = ad->worker_pid <= 0;
	limit_resolve(&task->limits, &run->wf->limits, &eng->opts.limits,
	    &a->lim);
	a->cap = a->lim.output >= 0 ? (uint64_t)a->lim.output : UINT64_MAX;
	if (store_output_stored(eng->store, a->id, a->skip, &err) == -1) {
		/* Then the replay is stored again after what is there. */
		log_warnx("run %" PRId64 " task '%s': %s", run->run_id,
		    task->name, err.msg);
		a->skip[0] = a->skip[1] = 0;
	}
	a->captured = a->skip[0] + a->skip[1];
	a->chunked = a->captured > 0;
	run->out_bytes += a->captured;
	passed = adopt_times(a, ad->started_ms);
	if (a->no > t->attempts)
		t->attempts = a->no;
	t->cur = a;
	run->running++;
	run->wfg->running++;
	eng->running++;
	(void)engine_task_event(run, i, E_DISPATCH, NULL);
	if (ad->worker_pid > 0 && eng->cgs != NULL &&
	    cg_mode(eng->cgs) != CG_MODE_NONE &&
	    cg_adopt(eng->cgs, ad->worker_pid, &a->cg, &err) == -1)
		log_warnx("run %" PRId64 " task '%s': its cgroup: %s "
		    "(its accounting is not recorded)", run->run_id,
		    task->name, err.msg);
	if (ad->worker_pid > 0) {
		ev_set_cb(&a->drain, on_adopt_quiet);
		ev_timer_set(&a->drain, ADOPT_QUIET_S, 0.);
		ev_timer_start(eng->loop, &a->drain);
	}
	log_info("run %" PRId64 " task '%s' attempt %u: %s", run->run_id,
	    task->name, a->no, ad->worker_pid > 0 ? "re-attached to its "
	    "worker, which kept it running" : "its worker ended while the "
	    "supervisor was down; taking its result from the spool");
	engine_attempt_watch(a);
	/*
	 * Its timeout passed while we were down: stop it (a worker that is
	 * stopping it already takes this for the same stop, its grace
	 * period untouched).
	 */
	if (passed && !a->exited) {
		a->stop = A_STOP_TIMEOUT;
		engine_attempt_stop(a);
	}
}
