/*
 * Crash recovery, run once when the supervisor starts (holding the state
 * directory's lock, before anything new is scheduled).  Every execution
 * the store still calls running is looked at:
 *
 *  - a supervisor's run (run_meta owner "supervisor"): its writer is dead,
 *    since we hold the lock.  Processes of its running attempts that are
 *    still alive (recorded pid and start time both match) are SIGKILLed
 *    by process group; each such attempt is recorded failed with reason
 *    "interrupted: ..." and counts as an attempt; the run is returned for
 *    the engine to resume.
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

struct recover_run {
	int64_t		 run_id;
	char		*workflow;
	int64_t		 scheduled_ms;	/* -1 none */
	char		*trigger;
	int64_t		 started_ms;
};

struct recover_stats {
	size_t		 resumable;	/* supervisor runs handed back */
	size_t		 failed;	/* dead picoflow-run runs ended */
	size_t		 interrupted;	/* attempts recorded failed */
	size_t		 killed;	/* process groups killed */
	size_t		 left_alone;	/* runs of live processes */
};

#define RECOVER_REASON	"interrupted: the supervisor stopped without " \
			"recording this attempt (crash or kill -9); " \
			"counted as a failed attempt"

int	 recover_scan(struct pf_store *, struct recover_run **out, size_t *n,
	    struct recover_stats *, struct pf_err *);
void	 recover_runs_free(struct recover_run *, size_t n);

#endif
