/*
 * Scheduling decisions, free of the event loop so they can be tested
 * with any clock: the next fire of a workflow's schedule, the fires
 * missed while the supervisor was down and which of them to catch up,
 * and what a fire does while an earlier run is still in progress.
 * Times are unix seconds (cron's resolution).
 */
#ifndef PICOFLOW_SCHED_H
#define PICOFLOW_SCHED_H

#include <stddef.h>
#include <stdint.h>

#include "picoflow/cron.h"
#include "picoflow/err.h"
#include "picoflow/tz.h"
#include "picoflow/workflow.h"

/* Fires queued behind a running run (overlap: queue), per workflow. */
#define SCHED_QUEUE_MAX		64
/* Missed fires looked at when catching up, at most. */
#define SCHED_CATCHUP_MAX	1000

struct sched_spec {
	struct cron_expr	 cron;
	struct pf_tz		*tz;		/* NULL = UTC */
	int			 at_start;	/* "@start" */
};

/*
 * Parses expr in zone tzname (NULL or "" = default_tz, NULL = UTC).  The
 * error names the expression or the zone.
 */
int	 sched_spec_init(struct sched_spec *, const char *expr,
	    const char *tzname, const char *default_tz, struct pf_err *);
void	 sched_spec_free(struct sched_spec *);

/* The first fire strictly after `after`; -1 when there is none. */
int	 sched_next(const struct sched_spec *, int64_t after, int64_t *next);

/*
 * The last `want` fires F with lo < F <= hi, ascending, into out (room
 * for want).  *nmissed (may be NULL) gets how many fires there were in
 * all, up to SCHED_MISSED_COUNT_MAX (then it is a lower bound).  Cost is
 * bounded whatever the distance between lo and hi.
 */
#define SCHED_MISSED_COUNT_MAX	10000
int	 sched_missed(const struct sched_spec *, int64_t lo, int64_t hi,
	    size_t want, int64_t *out, size_t *n, int64_t *nmissed);

/*
 * Catch-up after downtime: the schedule last fired at `last` (-1 = never
 * recorded: nothing to catch up), it is now `now`.  Fills out (room for
 * SCHED_CATCHUP_MAX) with the fires to run, ascending:
 *	none	nothing
 *	latest	the newest missed fire, if it is within the window
 *	all	the newest `max` missed fires within the window
 * The window keeps fires F with F >= now - window.  *nmissed gets the
 * number of fires missed in all (within or outside the window), and
 * *newest the newest missed fire (-1 when none).
 */
struct sched_catchup {
	enum wf_catchup	 policy;
	uint32_t	 window;	/* seconds */
	uint32_t	 max;		/* 1..SCHED_CATCHUP_MAX */
};
int	 sched_catchup_plan(const struct sched_spec *,
	    const struct sched_catchup *, int64_t last, int64_t now,
	    int64_t *out, size_t *n, int64_t *nmissed, int64_t *newest);

/*
 * The schedule timer's arithmetic, called when the timer is armed, when
 * it expires and after the wall clock jumped (libev's reschedule hook).
 * armed: the fire the timer was waiting for (-1 none); last_seen: the
 * newest fire already handled (-1 none); now: the wall clock.
 *
 *	*due	armed, when it has come (now >= armed), else -1: it runs,
 *		late if need be, whether the timer expired or the clock
 *		jumped past it
 *	*nmissed fires after the due one, up to now, that will not run
 *		(held-up loop, suspend, clock stepped forward)
 *	*next	the fire to wait for now, strictly after now and after
 *		last_seen (a clock stepped back never repeats a fire); -1
 *		when the schedule has none left
 */
void	 sched_rearm(const struct sched_spec *, int64_t armed,
	    int64_t last_seen, double now, int64_t *due, int64_t *nmissed,
	    int64_t *next);

/*
 * What a fire does, given the runs of its workflow in progress and its
 * cap on runs in flight (max_runs, 0 = none): a fire that would start a
 * run beyond the cap is skipped, whatever the overlap policy.
 */
enum sched_action {
	SCHED_RUN,
	SCHED_QUEUE,
	SCHED_SKIP,
};
enum sched_action sched_overlap(enum wf_overlap, unsigned running,
	    unsigned queued, unsigned max_runs);
const char *sched_overlap_name(enum wf_overlap);
const char *sched_catchup_name(enum wf_catchup);

#endif
