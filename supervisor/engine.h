/*
 * The DAG engine: runs workflows on a libev loop, one pf-worker process
 * per task attempt.  Used in-process by `picoflow run` and, later, by
 * pf-supervisor.  It never blocks: workers are watched with ev_child, their
 * sockets are non-blocking, timeouts and backoff are ev_timers.
 *
 * Each task of a run moves through an explicit state table (engine.c):
 *
 *	WAITING --deps met--> READY --slot free--> RUNNING
 *	RUNNING --ok--> SUCCESS
 *	RUNNING --failed/timeout, retries left--> BACKOFF --timer--> READY
 *	RUNNING --failed/timeout, no retries--> FAILED | TIMEOUT
 *	WAITING --a dependency failed for good--> SKIPPED
 *	any non-final --cancel--> CANCELLED
 *
 * A task that failed for good but has continue_on_failure lets its
 * dependents run, and does not fail the run.
 */
#ifndef PICOFLOW_ENGINE_H
#define PICOFLOW_ENGINE_H

#include <stdint.h>

#include <ev.h>

#include "picoflow/err.h"
#include "picoflow/store.h"
#include "picoflow/workflow.h"

#define ENGINE_DEFAULT_GRACE_MS		5000
#define ENGINE_DEFAULT_OUTPUT_CAP	(10 * 1024 * 1024)
#define ENGINE_DEFAULT_BACKOFF_MS	1000
#define ENGINE_DEFAULT_BACKOFF_MAX_MS	60000

struct engine;
struct engine_run;

/* What a finished attempt, or a task that never ran, looked like. */
struct engine_task_report {
	const struct pf_workflow *wf;
	const struct pf_task	*task;
	int64_t			 run_id;
	unsigned		 attempt;	/* 0 = never ran */
	const char		*status;	/* store status word */
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
	/* The run reached its final state; status is a store status word. */
	void	(*run_ended)(void *arg, const struct pf_workflow *,
		    int64_t run_id, const char *status);
	void	*arg;
};

struct engine_opts {
	const char	*worker_path;	/* pf-worker to exec */
	unsigned	 max_tasks;	/* global cap on attempts; 0 = none */
	unsigned	 grace_ms;	/* SIGTERM .. SIGKILL */
	uint64_t	 output_cap;	/* default per attempt, bytes */
	unsigned	 backoff_ms;	/* first retry delay, doubling */
	unsigned	 backoff_max_ms;
	int		 jitter;	/* randomise each delay by up to 25% */
	const char	*trigger;	/* recorded with each run: "manual" */
};

void	 engine_opts_default(struct engine_opts *);

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
 * Cancels every run: tasks not started are recorded cancelled, running
 * ones get SIGTERM, then SIGKILL after the grace period.
 */
void	 engine_cancel_all(struct engine *, const char *why);
/* True when no run is in progress. */
int	 engine_idle(const struct engine *);

#endif
