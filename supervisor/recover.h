/*
 * Crash recovery, run once when the supervisor starts (holding the state
 * directory's lock, before anything new is scheduled).  Every execution
 * the store still calls running is looked at:
 *
 *  - a supervisor's run (run_meta owner "supervisor"): its writer is dead,
 *    since we hold the lock.  Each of its running attempts is taken over
 *    when it can be: its worker still runs and holds the attempt's
 *    socket (recorded pid and start time both match), or it ended and
 *    left a spool with its RESULT.  The others are recorded
 *    `interrupted` (not counted against retry), after their leftover
 *    processes (pid and start time matching) are SIGKILLed by process
 *    group.  The run is returned for the engine to resume, with the
 *    attempts to take over.
 *  - a `picoflow run` run whose process is gone: its attempts are
 *    recorded failed the same way and the run failed (nobody waits for
 *    it any more).  A live one is left alone.
 */
#ifndef PICOFLOW_RECOVER_H
#define PICOFLOW_RECOVER_H

#include <stddef.h>
#include <stdint.h>

#include "picoflow/err.h"
#include "picoflow/store.h"
#include "engine.h"

struct recover_run {
	int64_t		 run_id;
	/* Its attempts whose workers outlived the predecessor (fd owned). */
	struct engine_adopt *adopts;
	size_t		 nadopts;
	char		*workflow;
	int64_t		 scheduled_ms;	/* -1 none */
	char		*trigger;
	int64_t		 started_ms;
};

struct recover_stats {
	size_t		 resumable;	/* supervisor runs handed back */
	size_t		 failed;	/* dead picoflow-run runs ended */
	size_t		 interrupted;	/* attempts recorded interrupted */
	size_t		 reattached;	/* attempts whose worker still runs */
	size_t		 spooled;	/* ... whose worker ended: its spool */
	size_t		 killed;	/* process groups killed */
	size_t		 left_alone;	/* runs of live processes */
};

struct recover_opts {
	/* The attach directory (engine_opts.attach_dir); NULL: kill all. */
	const char	*attach_dir;
	unsigned	 max_interruptions;	/* only for the reason text */
};

int	 recover_scan(struct pf_store *, const struct recover_opts *,
	    struct recover_run **out, size_t *n, struct recover_stats *,
	    struct pf_err *);
void	 recover_runs_free(struct recover_run *, size_t n);
/*
 * Attempts that were to be taken over but whose run cannot go on: their
 * processes are killed and they are recorded failed with `why`.
 */
void	 recover_abandon(struct pf_store *, const char *attach_dir,
	    int64_t run_id, struct engine_adopt *, size_t n, const char *why);

#endif
