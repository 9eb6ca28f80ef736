/*
 * The engine's task state table (engine.h, top, draws it): one row per
 * state, one column per event, each cell the next state and the action
 * that goes with the change (s6-supervise's way), impossible pairs
 * marked; engine_task_event, the one place a task changes state, looks
 * the pair up, moves the task and runs the action.  The actions are what
 * follows a change of state: a task that may start joins the run's ready
 * queue, a task that reached a final state releases or skips its
 * dependents, a skipped or cancelled task is recorded, a retry waits.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "picoflow/clock.h"
#include "picoflow/invariant.h"
#include "picoflow/log.h"
#include "engine_int.h"

static const char *const tstate_names[T_NSTATES] = {
	"waiting", "ready", "running", "backoff", "success", "failed",
	"timeout", "skipped", "cancelled",
};

static const char *const tevent_names[E_NEVENTS] = {
	"deps-met", "dispatch", "ok", "retry", "fail", "timeout",
	"backoff-done", "skip", "cancel", "restore-ok", "restore-fail",
	"restore-timeout", "no-worker", "adopt",
};

typedef void	 task_action(struct engine_run *, size_t, enum tevent,
		    const struct tev_arg *);

static task_action act_enqueue, act_requeue, act_backoff, act_release,
		    act_fail, act_skip, act_cancel, act_adopt;

struct ttrans {
	unsigned char	 ok;	/* 0: an impossible pair */
	unsigned char	 next;
	task_action	*act;	/* NULL: nothing beyond the change */
};

/*
 * (state, event) -> (next state, action).  A cell left out is an
 * impossible pair: an engine bug, never input.
 */
#define TO(s, a)	{ 1, (s), (a) }
static const struct ttrans task_table[T_NSTATES][E_NEVENTS] = {
	[T_WAITING] = {
		[E_DEPS_MET] =		TO(T_READY, act_enqueue),
		/* Its worker outlived our predecessor: taken over. */
		[E_ADOPT] =		TO(T_READY, act_adopt),
		[E_SKIP] =		TO(T_SKIPPED, act_skip),
		[E_CANCEL] =		TO(T_CANCELLED, act_cancel),
		[E_RESTORE_OK] =	TO(T_SUCCESS, act_release),
		[E_RESTORE_FAIL] =	TO(T_FAILED, act_fail),
		[E_RESTORE_TIMEOUT] =	TO(T_TIMEOUT, act_fail),
	},
	[T_READY] = {
		[E_DISPATCH] =		TO(T_RUNNING, NULL),
		[E_CANCEL] =		TO(T_CANCELLED, act_cancel),
		[E_NO_WORKER] =		TO(T_READY, act_requeue),
	},
	[T_RUNNING] = {
		[E_OK] =		TO(T_SUCCESS, act_release),
		[E_RETRY] =		TO(T_BACKOFF, act_backoff),
		[E_FAIL] =		TO(T_FAILED, act_fail),
		[E_TIMEOUT] =		TO(T_TIMEOUT, act_fail),
		/* The attempt's own end recorded it. */
		[E_CANCEL] =		TO(T_CANCELLED, NULL),
	},
	[T_BACKOFF] = {
		[E_BACKOFF_DONE] =	TO(T_READY, act_enqueue),
		[E_CANCEL] =		TO(T_CANCELLED, act_cancel),
	},
	/* Final states: nothing moves them. */
};
#undef TO

int
engine_task_next(enum tstate s, enum tevent ev, int *has_action)
{
	const struct ttrans *c;

	if ((unsigned)s >= T_NSTATES || (unsigned)ev >= E_NEVENTS)
		return -1;
	c = &task_table[s][ev];
	if (has_action != NULL)
		*has_action = c->act != NULL;
	return c->ok ? (int)c->next : -1;
}

static int
is_final(enum tstate s)
{
	return s >= T_SUCCESS;
}

/*
 * The one place a task changes state, and what follows the change.
 * Returns -1 for a pair the table does not allow: an engine bug, which
 * aborts a checking build (invariant.h) and is ignored otherwise.
 */
int
engine_task_event(struct engine_run *run, size_t i, enum tevent ev,
    const struct tev_arg *arg)
{
	struct task_rt		*t = &run->tasks[i];
	const struct ttrans	*c = &task_table[t->state][ev];

	if (PF_NEVER(!c->ok)) {
		log_warnx("engine: task '%s': event %s in state %s ignored",
		    run->wf->tasks[i].name, tevent_names[ev],
		    tstate_names[t->state]);
		return -1;
	}
	log_trace("run %" PRId64 " task '%s': %s --%s--> %s", run->run_id,
	    run->wf->tasks[i].name, tstate_names[t->state], tevent_names[ev],
	    tstate_names[c->next]);
	t->state = c->next;
	if (is_final(t->state))
		run->nfinal++;
	if (c->act != NULL)
		c->act(run, i, ev, arg);
	return 0;
}

/* Ready to start: at the back of the run's queue. */
static void
act_enqueue(struct engine_run *run, size_t i, enum tevent ev,
    const struct tev_arg *arg)
{
	(void)ev;
	(void)arg;
	run->rq[(run->rq_head + run->rq_len++) % run->wf->ntasks] = i;
}

/* Ready, and running already: its attempt is taken over (dispatch). */
static void
act_adopt(struct engine_run *run, size_t i, enum tevent ev,
    const struct tev_arg *arg)
{
	(void)ev;
	(void)arg;
	engine_adopt(run, i);
}

/* No worker could start it: first in line again (dispatch took it from
   the head, so the head slot is free). */
static void
act_requeue(struct engine_run *run, size_t i, enum tevent ev,
    const struct tev_arg *arg)
{
	(void)ev;
	(void)arg;
	run->rq_head = (run->rq_head + run->wf->ntasks - 1) % run->wf->ntasks;
	run->rq[run->rq_head] = i;
	run->rq_len++;
}

/* The attempt failed with retries left: the next one after arg->delay_ms. */
static void
act_backoff(struct engine_run *run, size_t i, enum tevent ev,
    const struct tev_arg *arg)
{
	struct task_rt	*t = &run->tasks[i];

	(void)ev;
	ev_timer_set(&t->backoff, (arg != NULL ? arg->delay_ms : 0) / 1000.0,
	    0.);
	ev_timer_start(run->eng->loop, &t->backoff);
}

/*
 * Succeeded (or restored as such): its dependents may run.  While a
 * resumed run replays its history, engine_resume collects them itself.
 */
static void
act_release(struct engine_run *run, size_t i, enum tevent ev,
    const struct tev_arg *arg)
{
	(void)ev;
	(void)arg;
	(void)dag_ready_done(&run->ready, i);
	if (!run->restoring)
		engine_collect_ready(run);
}

/*
 * Failed or timed out for good (or restored as such): the run failed.  A
 * task that continues on failure lets its dependents run, as in the Rust
 * PicoFlow (scripts alert on picoflow run's exit status); otherwise
 * every dependent still waiting is skipped.
 */
static void
act_fail(struct engine_run *run, size_t i, enum tevent ev,
    const struct tev_arg *arg)
{
	const struct pf_task	*task = &run->wf->tasks[i];
	const size_t		*skipped;
	struct tev_arg		 sa;
	char			 why[WF_TASK_NAME_MAX + 128];
	long			 n, k;

	(void)arg;
	(void)engine_run_event(run, RE_TASK_FAILED, NULL);
	if (task->continue_on_failure) {
		act_release(run, i, ev, NULL);
		return;
	}
	n = dag_ready_fail(&run->ready, i, &skipped);
	snprintf(why, sizeof(why), "dependency '%s' %s", task->name,
	    ev == E_TIMEOUT || ev == E_RESTORE_TIMEOUT ? "timed out" :
	    "failed");
	memset(&sa, 0, sizeof(sa));
	sa.why = why;
	for (k = 0; k < n; k++) {
		/* A cancelled run's tasks were cancelled already. */
		if (run->tasks[skipped[k]].state != T_WAITING)
			continue;
		(void)engine_task_event(run, skipped[k], E_SKIP, &sa);
	}
}

/*
 * Skipped (arg->why): recorded, unless a resumed run's history has the
 * row already, and reported, except while a resumed run replays.
 */
static void
act_skip(struct engine_run *run, size_t i, enum tevent ev,
    const struct tev_arg *arg)
{
	struct engine		*eng = run->eng;
	struct engine_task_report rep;
	struct pf_err		 err;
	const char		*why = arg != NULL ? arg->why : NULL;

	(void)ev;
	if (!run->tasks[i].skip_recorded && store_task_skipped(eng->store,
	    run->run_id, run->wf->tasks[i].name, why, clock_wall_ms(),
	    &err) == -1)
		log_warnx("run %" PRId64 ": cannot record skipped task "
		    "'%s': %s", run->run_id, run->wf->tasks[i].name, err.msg);
	if (run->restoring || eng->hooks.task_ended == NULL)
		return;
	memset(&rep, 0, sizeof(rep));
	rep.wf = run->wf;
	rep.task = &run->wf->tasks[i];
	rep.run_id = run->run_id;
	rep.status = PF_STATUS_SKIPPED;
	rep.reason = why;
	rep.start_latency_us = -1;
	eng->hooks.task_ended(eng->hooks.arg, &rep);
}

/* Cancelled before an attempt ran (arg->why): no retry, one row. */
static void
act_cancel(struct engine_run *run, size_t i, enum tevent ev,
    const struct tev_arg *arg)
{
	struct pf_err	 err;

	(void)ev;
	ev_timer_stop(run->eng->loop, &run->tasks[i].backoff);
	if (store_task_skipped(run->eng->store, run->run_id,
	    run->wf->tasks[i].name, arg != NULL ? arg->why : NULL,
	    clock_wall_ms(), &err) == -1)
		log_warnx("run %" PRId64 ": %s", run->run_id, err.msg);
}

void
engine_on_backoff(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct task_rt	*t = w->data;
	struct engine_run *run = t->run;

	(void)loop;
	(void)revents;
	(void)engine_task_event(run, t->idx, E_BACKOFF_DONE, NULL);
	engine_pump(run->eng);
}

/* Moves newly ready tasks from the dependency tracker to the run queue. */
void
engine_collect_ready(struct engine_run *run)
{
	size_t	 i;

	while (dag_ready_next(&run->ready, &i) == 0) {
		if (run->state == R_CANCELLING)
			continue;	/* run_cancel (engine_run.c) did */
		(void)engine_task_event(run, i, run->tasks[i].adopt != NULL ?
		    E_ADOPT : E_DEPS_MET, NULL);
	}
}
