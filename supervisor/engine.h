/*
 * The DAG engine: runs workflows on a libev loop, one pf-worker process
 * per task attempt.  Used in-process by `picoflow run` and, later, by
 * pf-supervisor.  It never blocks: workers are watched with ev_child, their
 * sockets are non-blocking, timeouts and backoff are ev_timers.
 *
 * Each task of a run moves through an explicit state table
 * (engine_task.c):
 *
 *	WAITING --deps met--> READY --slot free, worker started--> RUNNING
 *	READY --no worker (short of fds, processes, memory)--> READY
 *	WAITING --resume: its worker outlived the last supervisor--> READY,
 *	    taken over at once (engine_adopt.c) --> RUNNING
 *	RUNNING --ok--> SUCCESS
 *	RUNNING --failed/timeout, retries left--> BACKOFF --timer--> READY
 *	RUNNING --failed/timeout, no retries--> FAILED | TIMEOUT
 *	WAITING --a dependency failed for good--> SKIPPED
 *	any non-final --cancel--> CANCELLED
 *
 * A task that failed for good but has continue_on_failure lets its
 * dependents run, and does not fail the run.
 *
 * A worker that cannot start for want of descriptors, processes or memory
 * (spawn_transient) costs the task nothing: no attempt is recorded or
 * counted, the task stays first in line, and the engine starts no attempt
 * until a hold timer fires (spawn_backoff_ms doubling up to
 * spawn_backoff_max_ms).  One line is logged when the shortage begins and
 * one when a worker starts again.  Once it has lasted spawn_giveup_ms,
 * attempts that cannot get a worker fail with the reason ("cannot start
 * the task: spawn: ..."), until one starts again.
 */
#ifndef PICOFLOW_ENGINE_H
#define PICOFLOW_ENGINE_H

#include <stdint.h>

#include <ev.h>

#include "picoflow/err.h"
#include "picoflow/status.h"
#include "picoflow/store.h"
#include "picoflow/workflow.h"
#include "engine_defaults.h"

struct engine;
struct engine_run;

/* What a finished attempt, or a task that never ran, looked like. */
struct engine_task_report {
	const struct pf_workflow *wf;
	const struct pf_task	*task;
	int64_t			 run_id;
	unsigned		 attempt;	/* 0 = never ran */
	enum pf_status		 status;
	int64_t			 duration_ms;
	int			 exit_code;	/* valid if has_exit_code */
	int			 has_exit_code;
	int			 signal;
	int			 will_retry;
	int64_t			 retry_in_ms;
	const char		*reason;	/* NULL or why */
	int64_t			 start_latency_us; /* dispatch to the task's
						    exec, -1 unknown */
};

/* Optional callbacks, e.g. for the CLI's progress lines. */
struct engine_hooks {
	void	(*task_started)(void *arg, const struct pf_workflow *,
		    const struct pf_task *, int64_t run_id, unsigned attempt);
	void	(*task_ended)(void *arg, const struct engine_task_report *);
	/*
	 * The run reached its final state (status success, failed or
	 * cancelled); cookie the one given to engine_start_ex/engine_resume.  The
	 * workflow may be released from here on.
	 */
	void	(*run_ended)(void *arg, const struct pf_workflow *,
		    int64_t run_id, enum pf_status status, void *cookie);
	void	*arg;
};

struct engine_opts {
	const char	*worker_path;	/* pf-worker to exec */
	/*
	 * Tasks outlive the supervisor (docs/operations.md, "Crash, restart
	 * and upgrade"): workers spool to this directory and wait
	 * attach_window_ms after their task ended for a supervisor to
	 * re-attach.  NULL: a worker stops its task when we go away.
	 */
	const char	*attach_dir;
	unsigned	 attach_window_ms;
	/* This process exec'd itself (daemon restart): see cg_opts. */
	int		 restarted;
	/* Interrupted attempts in a row before a task fails; 0 = no limit. */
	unsigned	 max_interruptions;
	unsigned	 max_tasks;	/* global cap on attempts; 0 = none */
	/*
	 * Per workflow (by name, all its runs together): attempts at once
	 * when its config.max_tasks_running is unset; 0 = no cap.  Either
	 * way a workflow gets at most max_tasks - 1 of the global slots
	 * (when max_tasks > 1), so one workflow never takes them all.
	 */
	unsigned	 wf_max_tasks;
	unsigned	 grace_ms;	/* SIGTERM .. SIGKILL */
	uint64_t	 output_mem;	/* output held in memory, all attempts;
					   at least FRAME_PAYLOAD_MAX */
	uint64_t	 output_budget;	/* output stored by the runs in flight,
					   all together; 0 = no limit */
	unsigned	 backoff_ms;	/* first retry delay, doubling */
	unsigned	 backoff_max_ms;
	int		 jitter;	/* randomise each delay by up to 25% */
	const char	*trigger;	/* recorded with each run: "manual" */
	const char	*owner;		/* STORE_OWNER_RUN (default) or
					   STORE_OWNER_SUPERVISOR */
	int		 track_procs;	/* record worker/task pids per attempt
					   (one more commit each) */
	/* Isolation: per-attempt cgroups unless no_cgroups (rlimits only). */
	int		 no_cgroups;
	/*
	 * Shell tasks in PID and mount namespaces of their own (nsprobe.h)
	 * unless no_namespaces or the host cannot.
	 */
	int		 no_namespaces;
	/*
	 * What a task that sets a limit neither itself nor in config.limits
	 * gets (limit_default; -1 = none); output is the cap per attempt.
	 */
	struct pf_limits limits;
	const char	*run_as;	/* tasks without run_as; NULL = ours.
					   pf-supervisor as root: "nobody" */
	/* No worker can start (engine.h, top): hold, then give up. */
	unsigned	 spawn_backoff_ms;	/* first hold, doubling */
	unsigned	 spawn_backoff_max_ms;
	unsigned	 spawn_giveup_ms;	/* 0 = never hold */
};

/* Per-run options of engine_start_ex. */
struct engine_start_opts {
	const char	*trigger;	/* NULL = engine_opts.trigger */
	int64_t		 scheduled_ms;	/* a cron fire's time; -1 = none */
	void		*cookie;	/* handed back to run_ended */
};

void	 engine_opts_default(struct engine_opts *);
/* A new wf_max_tasks (a reloaded policy); runs started keep theirs. */
void	 engine_set_wf_max_tasks(struct engine *, unsigned);

/* The loop must be the default loop (libev watches children only there). */
struct engine *engine_new(struct ev_loop *, struct pf_store *,
	    const struct engine_opts *, const struct engine_hooks *,
	    struct pf_err *);
/* Frees the engine; every run must have ended (see engine_idle). */
void	 engine_free(struct engine *);

/*
 * Starts a run of wf now.  wf must stay valid until the run has ended.
 * *run_id (may be NULL) gets the execution id recorded in the store.
 */
int	 engine_start(struct engine *, const struct pf_workflow *,
	    int64_t *run_id, struct pf_err *);
/*
 * Same with per-run options.  When so->scheduled_ms names a fire that
 * already has a run, nothing starts: *duplicate (may be NULL) is set, 0
 * is returned and *run_id is the earlier run's.
 */
int	 engine_start_ex(struct engine *, const struct pf_workflow *,
	    const struct engine_start_opts *, int64_t *run_id, int *duplicate,
	    struct pf_err *);
/*
 * Continues run_id, recorded in the store as still running, after a
 * restart.  atts are its attempt rows (store_attempts_list), none of them
 * still running (the caller ended those first).  Tasks are matched by
 * name: a task with a success row is done and never runs again; a task
 * whose attempts used up its retries has failed for good (its dependents
 * are skipped, unless it continues on failure); any other task runs,
 * its attempt numbers continuing after the recorded ones.  A run that
 * was being cancelled (a cancelled attempt) finishes its cancellation.
 */
/*
 * An attempt of the run that a dead predecessor left running and that
 * is taken over instead of run again: fd is a connection to its
 * worker's re-attach socket (worker_pid > 0, checked by the caller) or
 * its spool file, RESULT included (worker_pid 0: the worker is gone).
 * The engine owns fd from engine_resume on, whatever it returns.
 */
struct engine_adopt {
	char		*task_name;	/* the caller's */
	unsigned	 attempt;
	int64_t		 attempt_id;
	int		 fd;
	int		 worker_pid;
	int64_t		 started_ms;	/* set by engine_resume from its row */
	struct store_procs procs;	/* as recorded (recover_abandon) */
};
/*
 * Attempts recorded `interrupted` (PF_STATUS_INTERRUPTED) do not count
 * against retry; max_interruptions of them in a row fail the task.
 * adopts: the run's attempts taken over (their rows still running).
 */
int	 engine_resume(struct engine *, const struct pf_workflow *,
	    int64_t run_id, const struct store_attempt *atts, size_t natts,
	    const struct engine_adopt *adopts, size_t nadopts, void *cookie,
	    struct pf_err *);
/*
 * Holds every start (and run end) while on: a restart resumes all its
 * runs before the first new attempt, and so before the cgroup sweep.
 */
void	 engine_hold(struct engine *, int on);
/*
 * Cancels every run: tasks not started are recorded cancelled, running
 * ones get SIGTERM, then SIGKILL after the grace period.
 */
void	 engine_cancel_all(struct engine *, const char *why);
/* Cancels one run; -1 when no such run is in progress. */
int	 engine_cancel_run(struct engine *, int64_t run_id, const char *why);
/*
 * Draining: no new attempt starts (runs in progress keep their running
 * attempts; retries and ready tasks wait).  For a graceful stop.
 */
void	 engine_drain(struct engine *);
/* True when no run is in progress. */
int	 engine_idle(const struct engine *);
/* One line saying how attempts are isolated (cgroup mode and sources). */
const char *engine_isolation(const struct engine *);
/* The mode alone: "v2", "hybrid", "v1" or "none". */
const char *engine_isolation_mode(const struct engine *);
/* One line: "namespaces: ..." (what nsprobe found, or off). */
const char *engine_namespaces(const struct engine *);
/* Attempts in flight, all runs. */
unsigned engine_running(const struct engine *);
/* Attempts in flight of one run; -1 when the run is not in progress. */
long	 engine_run_running(const struct engine *, int64_t run_id);
/*
 * Commits what this loop iteration wrote (the group commit, normally
 * done before the loop waits), then retries the run ends the store could
 * not record (a full disk, say), which are kept; returns how many are
 * still pending.  The engine also retries on its own every few seconds.
 */
size_t	 engine_flush_pending(struct engine *);

#endif
