/*
 * The DAG engine's private header, shared by its files and by nothing
 * else: the task states and events, the run, attempt and engine
 * structures, and the functions one engine file calls in another.
 *
 *	engine.c	options, engine_new/free, the public queries
 *	engine_task.c	the task state table and its actions (queueing,
 *			releasing or skipping dependents, recording)
 *	engine_run.c	runs: the run state table, start, slots and
 *			fairness, pump, end, cancel
 *	engine_resume.c	a run continued after a restart
 *	engine_attempt.c starting an attempt (spawn hold), its worker's
 *			frames, stop, timeout and kill
 *	engine_spec.c	what an attempt is given: environment, SPEC, limits,
 *			cgroups
 *	engine_output.c	task output: memory budget, backpressure, flushes
 *	engine_finish.c	an attempt's outcome, its record, retry or settle
 *	engine_adopt.c	an attempt a dead predecessor left running, taken
 *			over through its worker's socket or spool
 *	engine_batch.c	group commit: one transaction per loop iteration,
 *			what waits for it to be durable
 */
#ifndef PICOFLOW_ENGINE_INT_H
#define PICOFLOW_ENGINE_INT_H

#include <sys/types.h>

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include <ev.h>

#include "picoflow/buf.h"
#include "picoflow/dag.h"
#include "picoflow/err.h"
#include "picoflow/frame.h"
#include "picoflow/proto.h"
#include "picoflow/store.h"
#include "cgroup.h"
#include "engine.h"

enum tstate {
	T_WAITING = 0,
	T_READY,
	T_RUNNING,
	T_BACKOFF,
	T_SUCCESS,
	T_FAILED,
	T_TIMEOUT,
	T_SKIPPED,
	T_CANCELLED,
	T_NSTATES
};

enum tevent {
	E_DEPS_MET = 0,	/* every dependency finished well */
	E_DISPATCH,	/* a slot is free and the worker started */
	E_OK,		/* the attempt succeeded */
	E_RETRY,	/* the attempt failed, retries are left */
	E_FAIL,		/* the attempt failed for good */
	E_TIMEOUT,	/* the attempt timed out for good */
	E_BACKOFF_DONE,	/* the retry delay passed */
	E_SKIP,		/* a dependency failed for good */
	E_CANCEL,	/* the run was cancelled */
	E_RESTORE_OK,	/* resume: the store has a success for it */
	E_RESTORE_FAIL,	/* resume: its recorded attempts failed for good */
	E_RESTORE_TIMEOUT, /* resume: ... and the last one timed out */
	E_NO_WORKER,	/* a slot is free but no worker could start (short of
			   fds, processes, memory): wait, nothing counted */
	E_ADOPT,	/* resume: its attempt's worker outlived our
			   predecessor and is taken over (engine_adopt.c) */
	E_NEVENTS
};

/*
 * A run's states; the table and its actions are in engine_run.c.
 *
 *	RUNNING --a task failed for good--> FAILING
 *	RUNNING | FAILING --cancel--> CANCELLING
 *	RUNNING | FAILING | CANCELLING --complete--> ENDED
 *
 * "complete": every task is final and no attempt is in flight.  The end
 * is recorded as success, failed or cancelled by the state it came from.
 */
enum rstate {
	R_RUNNING = 0,
	R_FAILING,	/* a task failed for good; the rest go on */
	R_CANCELLING,	/* nothing new starts; attempts are stopped */
	R_ENDED,	/* recorded; the run is freed */
	R_NSTATES
};

enum revent {
	RE_TASK_FAILED = 0,
	RE_CANCEL,
	RE_COMPLETE,
	RE_NEVENTS
};

/*
 * Why an attempt is being stopped, if it is: one state, not two flags.
 * A cancel overrides a timeout (the run's cancel is what the record
 * says); a timeout cannot follow a stop, whose timer is the kill's.
 */
enum astop {
	A_STOP_NONE = 0,
	A_STOP_TIMEOUT,	/* its task's timeout passed */
	A_STOP_CANCEL,	/* its run is cancelled */
};

struct attempt;

struct task_rt {
	enum tstate	 state;
	int		 skip_recorded;	/* resume: its skipped row exists */
	unsigned	 attempts;	/* attempts started so far */
	unsigned	 interrupted;	/* of them, interrupted by a restart:
					   not counted against retry */
	unsigned	 tail_int;	/* the newest ones interrupted, in a
					   row (--max-interruptions) */
	struct engine_adopt *adopt;	/* resume: taken over, not run */
	struct attempt	*cur;
	ev_timer	 backoff;
	struct engine_run *run;
	size_t		 idx;
};

/*
 * The runs of one workflow (by name, whatever version they started on),
 * for its cap on attempts at once across them.
 */
struct engine_wfg {
	char			*name;
	unsigned		 running;	/* attempts in flight */
	unsigned		 refs;		/* runs */
	struct engine_wfg	*next;
};

struct engine_run {
	struct engine		*eng;
	struct engine_wfg	*wfg;
	unsigned		 wf_cap;	/* wfg->running below; 0 none */
	const struct pf_workflow *wf;
	int64_t			 run_id;
	struct dag_run		 ready;		/* over wf->dag */
	struct task_rt		*tasks;
	size_t			*rq;		/* ready to dispatch, FIFO ring */
	size_t			 rq_head, rq_len;
	unsigned		 running;	/* attempts in flight */
	size_t			 nfinal;	/* tasks in a final state */
	enum rstate		 state;
	int			 restoring;	/* engine_resume replays history */
	uint64_t		 out_bytes;	/* output its attempts captured */
	void			*cookie;	/* the caller's, for run_ended */
	struct engine_adopt	*adopts;	/* resume: taken over */
	size_t			 nadopts;
	struct engine_run	*next;
};

/* A run end the store refused (disk full...), retried on a timer. */
struct pending_end {
	int64_t			 run_id;
	int64_t			 ended_ms;
	enum pf_status		 status;
	char			*error;
	struct pending_end	*next;
};

struct attempt {
	struct engine_run	*run;
	size_t			 task;
	unsigned		 no;		/* 1-based */
	int64_t			 id;		/* store row */
	int64_t			 started_ms;	/* wall clock */
	ev_tstamp		 started;	/* loop time */
	pid_t			 pid;		/* pf-worker */
	pid_t			 task_pid;	/* from STARTED, 0 = unknown */
	ev_tstamp		 dispatched;	/* ev_time() at dispatch */
	int64_t			 start_latency_us; /* to STARTED; -1 none */
	int			 fd;
	ev_io			 rio, wio;
	ev_child		 child;
	ev_timer		 timeout;	/* task timeout, then kill timer */
	ev_timer		 drain;
	struct frame_reader	 rd;
	struct frame_asm	 fasm;
	struct pf_buf		 wbuf;		/* frames to send */
	/* Output not stored yet (stdout, stderr); see output_flush. */
	struct pf_buf		 out[2];
	struct pf_limits	 lim;		/* resolved once (limit.h) */
	uint64_t		 cap;		/* lim.output; none: UINT64_MAX */
	uint64_t		 captured;	/* kept: stored + in out[] */
	uint64_t		 dropped;	/* over the cap: the worker's count
					   of the same bytes may be larger */
	uint64_t		 lost;		/* sent within the cap, not kept */
	uint64_t		 over_budget;	/* of lost: at --output-budget */
	int			 chunked;	/* some of it is stored */
	int			 out_failed;	/* the store refused it */
	int			 truncated;
	int			 have_result;
	struct proto_result	 result;
	int			 exited;
	int			 wstatus;
	int			 eof;
	enum astop		 stop;		/* why it is being stopped */
	int			 killed;	/* SIGKILL sent to the session */
	/*
	 * Taken over from a dead predecessor (engine_adopt.c): not our
	 * child, so its end is the end of its stream; the output the store
	 * has already is skipped in the replay.
	 */
	int			 adopted;
	uint64_t		 skip[2];
	unsigned long		 nframes;	/* received from the worker */
	int			 interrupted;	/* ended without its outcome:
						   not counted against retry */
	char			*error;		/* protocol or engine error */
	struct cg		*cg;		/* the attempt's cgroups */
	/*
	 * Group commit (engine_batch.c): its begin row is in the open
	 * batch, so its SPEC waits (held); or its end is, and the rest of
	 * its end waits (settling), with what was recorded.
	 */
	struct attempt		*bnext;		/* on eng->begun */
	struct attempt		*snext;		/* on eng->settle */
	int			 held;
	int			 settling;
	int			 end_failed;	/* the store refused its end */
	enum astop		 end_stop;	/* a->stop when it ended */
	struct store_attempt_end end;
	char			*end_reason;	/* end.reason's copy */
};

/* Attempt cgroups still busy when their attempt ended. */
struct cg_trash {
	struct cg		*cg;
	struct cg_trash		*next;
};

struct engine {
	struct ev_loop		*loop;
	struct pf_store		*store;
	struct engine_opts	 opts;
	struct engine_hooks	 hooks;
	struct engine_run	*runs;
	struct engine_wfg	*wfgs;
	unsigned		 running;	/* attempts in flight, all runs */
	int			 in_pump;
	int			 held;		/* engine_hold: nothing starts */
	int			 pump_again;
	int			 draining;	/* no new attempts */
	uint64_t		 rng;
	struct pending_end	*pending;
	ev_timer		 pending_timer;
	struct cg_sys		*cgs;		/* isolation (cgroup.h) */
	int			 ns;		/* shell tasks in namespaces */
	char			 ns_line[320];	/* nsprobe's description */
	struct cg_trash		*trash;
	ev_timer		 trash_timer;
	/*
	 * Idle-time cgroup work (engine_spec.c): removals of ended
	 * attempts' cgroups, then the pool of ready ones (cgroup.h) with
	 * the limits of the last attempt started.
	 */
	struct cg_trash		*rmq;
	ev_idle			 cg_idle;
	struct cg_limits	 pool_lim;
	int			 pool_on;	/* 1 on, -1 failed: off */
	char			 net_worker[PATH_MAX]; /* ssh and http tasks */
	/* No worker could start: a hold (spawn_hold) and its episode. */
	int			 spawn_held;	/* no attempt starts */
	ev_timer		 spawn_timer;	/* ends the hold */
	unsigned long		 spawn_fails;	/* refusals this episode */
	double			 spawn_since;	/* first one, monotonic s */
	unsigned		 spawn_delay_ms; /* current hold */
	int			 spawn_gave_up;	/* past spawn_giveup_ms */
	int			 spawn_told;	/* this episode was logged */
	double			 spawn_told_at;	/* last one logged, 0 none */
	unsigned long		 spawn_quiet;	/* episodes not logged */
	/*
	 * Task output: out_mem bytes wait in attempts' buffers, never more
	 * than opts.output_mem (plus one read) before reading from workers
	 * stops (out_paused) until it is stored; out_disk bytes were
	 * captured by the runs in flight, at most opts.output_budget.
	 */
	uint64_t		 out_mem;
	uint64_t		 out_disk;
	int			 out_paused;
	ev_timer		 out_timer;	/* stores what waits */
	/*
	 * Group commit (engine_batch.c): the attempts begun and ended in
	 * the open batch, in order, committed before the loop waits.
	 */
	ev_prepare		 batch_w;
	ev_idle			 batch_idle;	/* the wait after a flush */
	struct attempt		*begun, **begun_tail;
	struct attempt		*settle, **settle_tail;
	int			 in_flush;
};

/* engine.c */

/*
 * engine_task.c: every state change goes through engine_task_event,
 * which also runs the change's action (the table there).  arg (may be
 * NULL) is what an action needs: the reason a task is skipped or
 * cancelled, the delay before a retry.
 */
struct tev_arg {
	const char	*why;		/* E_SKIP, E_CANCEL */
	unsigned	 delay_ms;	/* E_RETRY */
};
int	 engine_task_event(struct engine_run *, size_t, enum tevent,
	    const struct tev_arg *);
/* The table's next state for a pair, -1 if impossible (for tests). */
int	 engine_task_next(enum tstate, enum tevent, int *has_action);
void	 engine_collect_ready(struct engine_run *);
void	 engine_on_backoff(struct ev_loop *, ev_timer *, int);

/* engine_run.c: every run state change goes through engine_run_event. */
int	 engine_run_event(struct engine_run *, enum revent, const char *why);
/* The table's next state for a pair, -1 if impossible (for tests). */
int	 engine_run_next(enum rstate, enum revent, int *has_action);
struct engine_run *engine_run_new(struct engine *,
	    const struct pf_workflow *, struct pf_err *);
void	 engine_run_free(struct engine_run *);
void	 engine_pump(struct engine *);
void	 engine_on_pending_timer(struct ev_loop *, ev_timer *, int);

/* engine_attempt.c */
struct attempt *engine_attempt_alloc(struct engine_run *, size_t);
void	 engine_attempt_watch(struct attempt *);
void	 engine_attempt_abandon(struct attempt *);
void	 engine_attempt_await_stop(struct attempt *);
void	 engine_dispatch(struct engine_run *, size_t);
void	 engine_attempt_free(struct attempt *);
void	 engine_attempt_error(struct attempt *, const char *);
void	 engine_attempt_sigkill(struct attempt *);
void	 engine_attempt_stop(struct attempt *);
void	 engine_attempt_send(struct attempt *);
void	 engine_on_spawn_timer(struct ev_loop *, ev_timer *, int);

/* engine_spec.c */
int	 engine_queue_spec(struct attempt *, struct pf_err *);
int	 engine_attempt_cg_create(struct attempt *, struct pf_err *);
void	 engine_attempt_cg_end(struct attempt *, struct store_attempt_end *,
	    char *, size_t);
void	 engine_cg_discard(struct engine *, struct cg *);
void	 engine_on_trash_timer(struct ev_loop *, ev_timer *, int);
void	 engine_on_cg_idle(struct ev_loop *, ev_idle *, int);
void	 engine_cg_flush(struct engine *);

/* engine_output.c */
void	 engine_attempt_output(struct attempt *, const struct proto_output *);
void	 engine_on_out_timer(struct ev_loop *, ev_timer *, int);

/* engine_adopt.c */
void	 engine_adopt(struct engine_run *, size_t);
void	 engine_attach_forget(const struct engine *, int64_t attempt_id);

/* engine_finish.c: the end recorded (in the batch), then settled. */
void	 engine_attempt_finish(struct attempt *);
void	 engine_attempt_settle(struct attempt *, int committed,
	    const char *why);

/*
 * engine_batch.c.  A write that others act on opens the batch
 * (engine_batch_write) and the actions wait: a begun attempt's SPEC
 * (engine_batch_begun), an ended one's report and next state
 * (engine_batch_settle), run ends (engine_pump).
 */
void	 engine_batch_init(struct engine *);
void	 engine_batch_write(struct engine *);
void	 engine_batch_begun(struct attempt *);
void	 engine_batch_settle(struct attempt *);
int	 engine_batch_busy(const struct engine *);
void	 engine_batch_flush(struct engine *);
void	 engine_batch_drop(struct engine *);

#endif
