/*
 * The engine's task state table (engine.h, top, draws it): one row per
 * state, one column per event, impossible pairs marked, and
 * engine_task_event, the one place a task changes state.  Also what
 * follows a task's change of state: tasks whose dependencies are met join
 * the run's ready queue (engine_collect_ready, engine_on_backoff), and a
 * task that reached a final state releases or skips its dependents
 * (engine_task_settle).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "picoflow/clock.h"
#include "picoflow/log.h"
#include "engine_int.h"

static const char *const tstate_names[T_NSTATES] = {
	"waiting", "ready", "running", "backoff", "success", "failed",
	"timeout", "skipped", "cancelled",
};

static const char *const tevent_names[E_NEVENTS] = {
	"deps-met", "dispatch", "ok", "retry", "fail", "timeout",
	"backoff-done", "skip", "cancel", "restore-ok", "restore-fail",
	"restore-timeout", "no-worker",
};

/* (state, event) -> next state; T_NSTATES marks an impossible pair. */
#define X T_NSTATES
static const unsigned char task_transitions[T_NSTATES][E_NEVENTS] = {
	/*		deps	disp	ok	retry	fail	tmout	bkoff	skip	cancel	r-ok	r-fail	r-tmout	no-wkr */
	[T_WAITING] = { T_READY, X,	X,	X,	X,	X,	X,	T_SKIPPED, T_CANCELLED, T_SUCCESS, T_FAILED, T_TIMEOUT, X },
	[T_READY] =   { X,	T_RUNNING, X,	X,	X,	X,	X,	X,	T_CANCELLED, X, X,	X,	T_READY },
	[T_RUNNING] = { X,	X,	T_SUCCESS, T_BACKOFF, T_FAILED, T_TIMEOUT, X, X, T_CANCELLED, X, X, X,	X },
	[T_BACKOFF] = { X,	X,	X,	X,	X,	X,	T_READY, X,	T_CANCELLED, X, X,	X,	X },
	[T_SUCCESS] = { X,	X,	X,	X,	X,	X,	X,	X,	X,	X,	X,	X,	X },
	[T_FAILED] =  { X,	X,	X,	X,	X,	X,	X,	X,	X,	X,	X,	X,	X },
	[T_TIMEOUT] = { X,	X,	X,	X,	X,	X,	X,	X,	X,	X,	X,	X,	X },
	[T_SKIPPED] = { X,	X,	X,	X,	X,	X,	X,	X,	X,	X,	X,	X,	X },
	[T_CANCELLED] = { X,	X,	X,	X,	X,	X,	X,	X,	X,	X,	X,	X,	X },
};
#undef X

static int
is_final(enum tstate s)
{
	return s >= T_SUCCESS;
}

/*
 * The one place a task changes state.  Returns -1 (and logs) for a pair
 * the table does not allow: that is an engine bug, never user input.
 */
int
engine_task_event(struct engine_run *run, size_t i, enum tevent ev)
{
	struct task_rt	*t = &run->tasks[i];
	enum tstate	 next = task_transitions[t->state][ev];

	if (next == T_NSTATES) {
		log_warnx("engine: task '%s': event %s in state %s ignored",
		    run->wf->tasks[i].name, tevent_names[ev],
		    tstate_names[t->state]);
		return -1;
	}
	log_trace("run %" PRId64 " task '%s': %s --%s--> %s", run->run_id,
	    run->wf->tasks[i].name, tstate_names[t->state], tevent_names[ev],
	    tstate_names[next]);
	t->state = next;
	if (is_final(next))
		run->nfinal++;
	return 0;
}

void
engine_on_backoff(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct task_rt	*t = w->data;
	struct engine_run *run = t->run;

	(void)loop;
	(void)revents;
	if (engine_task_event(run, t->idx, E_BACKOFF_DONE) == 0)
		run->rq[(run->rq_head + run->rq_len++) % run->wf->ntasks] =
		    t->idx;
	engine_pump(run->eng);
}

/* Moves newly ready tasks from the dependency tracker to the run queue. */
void
engine_collect_ready(struct engine_run *run)
{
	size_t	 i;

	while (dag_ready_next(&run->ready, &i) == 0) {
		if (run->cancelled)
			continue;	/* task_cancel_all handles it */
		if (engine_task_event(run, i, E_DEPS_MET) == 0)
			run->rq[(run->rq_head + run->rq_len++) %
			    run->wf->ntasks] = i;
	}
}

/*
 * A task reached a final state (ev: E_OK, E_FAIL, E_TIMEOUT, E_CANCEL):
 * release or skip its dependents.
 */
void
engine_task_settle(struct engine_run *run, size_t i, enum tevent ev,
    const char *reason)
{
	struct engine		*eng = run->eng;
	const struct pf_task	*task = &run->wf->tasks[i];
	const size_t		*skipped;
	struct engine_task_report rep;
	struct pf_err		 err;
	char			 why[WF_TASK_NAME_MAX + 128];
	long			 n, k;

	(void)reason;
	if (engine_task_event(run, i, ev) == -1)
		return;
	if (ev == E_OK || (ev != E_CANCEL && task->continue_on_failure)) {
		/*
		 * continue_on_failure lets the dependents run, but the run
		 * still failed, as in the Rust PicoFlow: scripts alert on
		 * picoflow run's exit status.
		 */
		if (ev != E_OK)
			run->failed = 1;
		(void)dag_ready_done(&run->ready, i);
		engine_collect_ready(run);
		return;
	}
	if (ev == E_CANCEL)
		return;
	run->failed = 1;
	n = dag_ready_fail(&run->ready, i, &skipped);
	snprintf(why, sizeof(why), "dependency '%s' %s", task->name,
	    ev == E_TIMEOUT ? "timed out" : "failed");
	for (k = 0; k < n; k++) {
		size_t	 s = skipped[k];

		if (run->tasks[s].state != T_WAITING)
			continue;
		if (engine_task_event(run, s, E_SKIP) == -1)
			continue;
		if (store_task_skipped(eng->store, run->run_id,
		    run->wf->tasks[s].name, why, clock_wall_ms(), &err) == -1)
			log_warnx("run %" PRId64 ": cannot record skipped "
			    "task '%s': %s", run->run_id,
			    run->wf->tasks[s].name, err.msg);
		if (eng->hooks.task_ended != NULL) {
			memset(&rep, 0, sizeof(rep));
			rep.wf = run->wf;
			rep.task = &run->wf->tasks[s];
			rep.run_id = run->run_id;
			rep.status = PF_STATUS_SKIPPED;
			rep.reason = why;
			rep.start_latency_us = -1;
			eng->hooks.task_ended(eng->hooks.arg, &rep);
		}
	}
}
