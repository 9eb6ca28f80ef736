/*
 * The engine's task state table: every (state, event) pair is either a
 * transition to a defined state or impossible; final states take no
 * event; every waiting state can be cancelled; an impossible pair aborts
 * a checking build (PF_NEVER) instead of moving the task.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "engine_int.h"

static int
is_final(enum tstate s)
{
	return s == T_SUCCESS || s == T_FAILED || s == T_TIMEOUT ||
	    s == T_SKIPPED || s == T_CANCELLED;
}

Test(engine_table, every_pair_is_defined_or_impossible)
{
	unsigned	 s, e;
	int		 next, act, n = 0;

	for (s = 0; s < T_NSTATES; s++)
		for (e = 0; e < E_NEVENTS; e++) {
			next = engine_task_next(s, e, &act);
			if (next == -1)
				continue;
			cr_assert(next >= 0 && next < T_NSTATES,
			    "(%u, %u) -> %d", s, e, next);
			cr_assert_not(is_final(s), "final state %u moves", s);
			n++;
		}
	cr_assert_eq(n, 17, "transitions: %d", n);
	cr_assert_eq(engine_task_next(T_NSTATES, 0, NULL), -1);
	cr_assert_eq(engine_task_next(0, E_NEVENTS, NULL), -1);
}

Test(engine_table, the_drawn_transitions)
{
	int	 act;

	/* engine.h, top, draws these. */
	cr_assert_eq(engine_task_next(T_WAITING, E_DEPS_MET, &act), T_READY);
	cr_assert(act, "a ready task joins the queue");
	cr_assert_eq(engine_task_next(T_READY, E_DISPATCH, &act), T_RUNNING);
	cr_assert_not(act);
	cr_assert_eq(engine_task_next(T_WAITING, E_ADOPT, &act), T_READY);
	cr_assert(act, "its attempt is taken over (then dispatched)");
	cr_assert_eq(engine_task_next(T_RUNNING, E_ADOPT, NULL), -1);
	cr_assert_eq(engine_task_next(T_READY, E_NO_WORKER, &act), T_READY);
	cr_assert(act, "first in line again");
	cr_assert_eq(engine_task_next(T_RUNNING, E_OK, &act), T_SUCCESS);
	cr_assert(act, "dependents released");
	cr_assert_eq(engine_task_next(T_RUNNING, E_RETRY, &act), T_BACKOFF);
	cr_assert(act, "a timer");
	cr_assert_eq(engine_task_next(T_BACKOFF, E_BACKOFF_DONE, &act),
	    T_READY);
	cr_assert_eq(engine_task_next(T_RUNNING, E_FAIL, &act), T_FAILED);
	cr_assert_eq(engine_task_next(T_RUNNING, E_TIMEOUT, &act), T_TIMEOUT);
	cr_assert_eq(engine_task_next(T_WAITING, E_SKIP, &act), T_SKIPPED);
	cr_assert(act, "recorded and reported");
	cr_assert_eq(engine_task_next(T_WAITING, E_RESTORE_OK, NULL),
	    T_SUCCESS);
	cr_assert_eq(engine_task_next(T_WAITING, E_RESTORE_FAIL, NULL),
	    T_FAILED);
	cr_assert_eq(engine_task_next(T_WAITING, E_RESTORE_TIMEOUT, NULL),
	    T_TIMEOUT);
	/* Only a waiting task is skipped or restored. */
	cr_assert_eq(engine_task_next(T_READY, E_SKIP, NULL), -1);
	cr_assert_eq(engine_task_next(T_RUNNING, E_RESTORE_OK, NULL), -1);
}

Test(engine_table, every_unfinished_state_can_be_cancelled)
{
	unsigned	 s;
	int		 act;

	for (s = 0; s < T_NSTATES; s++) {
		if (is_final(s))
			continue;
		cr_assert_eq(engine_task_next(s, E_CANCEL, &act), T_CANCELLED,
		    "state %u", s);
		/* A running attempt's end records it; the others get a row. */
		cr_assert_eq(act, s != T_RUNNING, "state %u", s);
	}
}

#ifndef NDEBUG
Test(engine_table, an_impossible_pair_aborts, .signal = SIGABRT)
{
	struct pf_task		 task;
	struct pf_workflow	 wf;
	struct task_rt		 t;
	struct engine_run	 run;

	memset(&task, 0, sizeof(task));
	memset(&wf, 0, sizeof(wf));
	memset(&t, 0, sizeof(t));
	memset(&run, 0, sizeof(run));
	task.name = "t";
	wf.name = "w";
	wf.tasks = &task;
	wf.ntasks = 1;
	run.wf = &wf;
	run.tasks = &t;
	t.state = T_SUCCESS;
	/* Quiet: the line it logs is expected. */
	cr_assert_not_null(freopen("/dev/null", "w", stderr));
	(void)engine_task_event(&run, 0, E_OK, NULL);
}
#endif

/* The run's table (engine_run.c): the outcome follows the state. */
Test(engine_table, run_states)
{
	unsigned	 s, e;
	int		 act, n = 0;

	for (s = 0; s < R_NSTATES; s++)
		for (e = 0; e < RE_NEVENTS; e++) {
			int	 next = engine_run_next(s, e, &act);

			if (next == -1)
				continue;
			cr_assert(next >= 0 && next < R_NSTATES);
			cr_assert_neq(s, R_ENDED, "an ended run moves");
			n++;
		}
	cr_assert_eq(n, 8);
	cr_assert_eq(engine_run_next(R_RUNNING, RE_TASK_FAILED, &act),
	    R_FAILING);
	cr_assert_eq(engine_run_next(R_FAILING, RE_CANCEL, &act),
	    R_CANCELLING);
	cr_assert(act, "the tasks are cancelled");
	cr_assert_eq(engine_run_next(R_CANCELLING, RE_TASK_FAILED, &act),
	    R_CANCELLING, "cancelled wins");
	cr_assert_eq(engine_run_next(R_CANCELLING, RE_CANCEL, NULL), -1,
	    "callers cancel a run once");
	for (s = R_RUNNING; s < R_ENDED; s++) {
		cr_assert_eq(engine_run_next(s, RE_COMPLETE, &act), R_ENDED);
		cr_assert(act, "recorded");
	}
}
