/*
 * Scheduling decisions (see sched.h).  Catch-up has to find the newest
 * fires before `now` with only a forward iterator (cron_next): it looks
 * back over windows that double in length until they hold enough fires,
 * so an every-second schedule down for a year costs a few thousand
 * steps, not thirty million.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "picoflow/alloc.h"
#include "sched.h"

int
sched_spec_init(struct sched_spec *sp, const char *expr, const char *tzname,
    const char *default_tz, struct pf_err *err)
{
	struct pf_err	 e;
	size_t		 off = 0;

	memset(sp, 0, sizeof(*sp));
	if (cron_parse(expr, &sp->cron, &off, &e) == -1) {
		pf_err_set(err, "schedule '%s': %s", expr, e.msg);
		return -1;
	}
	sp->at_start = cron_is_start(&sp->cron);
	if (tzname == NULL || *tzname == '\0')
		tzname = default_tz;
	if (tzname != NULL && *tzname != '\0' && strcmp(tzname, "UTC") != 0 &&
	    tz_load(tzname, &sp->tz, &e) == -1) {
		pf_err_set(err, "timezone '%s': %s", tzname, e.msg);
		return -1;
	}
	return 0;
}

void
sched_spec_free(struct sched_spec *sp)
{
	tz_free(sp->tz);
	sp->tz = NULL;
}

int
sched_next(const struct sched_spec *sp, int64_t after, int64_t *next)
{
	struct pf_err	 e;

	if (sp->at_start)
		return -1;
	return cron_next(&sp->cron, sp->tz, after, next, &e);
}

/*
 * Fires in (lo, hi]: keeps the newest `want` in the ring `out` and counts
 * them (up to cap).  Returns the count, or -1 when the count passed cap.
 */
static int64_t
scan(const struct sched_spec *sp, int64_t lo, int64_t hi, size_t want,
    int64_t *ring, size_t *head, size_t *len, int64_t cap)
{
	int64_t	 t = lo, nx, cnt = 0;

	*head = *len = 0;
	while (sched_next(sp, t, &nx) == 0 && nx <= hi) {
		if (want > 0) {
			ring[(*head + *len) % want] = nx;
			if (*len < want)
				(*len)++;
			else
				*head = (*head + 1) % want;
		}
		if (++cnt > cap)
			return -1;
		t = nx;
	}
	return cnt;
}

int
sched_missed(const struct sched_spec *sp, int64_t lo, int64_t hi,
    size_t want, int64_t *out, size_t *n, int64_t *nmissed)
{
	int64_t	 d = 64, start, cnt, total = 0;
	size_t	 head, len, i;

	*n = 0;
	if (nmissed != NULL)
		*nmissed = 0;
	if (hi <= lo || sp->at_start)
		return 0;
	/*
	 * The newest `want` fires: look back over (hi - d, hi] with d
	 * doubling until the window holds `want` fires or reaches lo.  Each
	 * scan stops early once it saw more fires than it needs.
	 */
	for (;;) {
		start = hi - d > lo && d < hi - lo ? hi - d : lo;
		cnt = scan(sp, start, hi, want, out, &head, &len,
		    start == lo ? INT64_MAX - 1 : (int64_t)want * 4 + 1024);
		if (start == lo || cnt == -1 || (size_t)cnt >= want)
			break;
		d *= 2;
	}
	if (cnt == -1 && start != lo) {
		/* Dense: the window that overflowed the cap still holds the
		 * newest fires; rescan it without a cap on what it keeps. */
		cnt = scan(sp, start, hi, want, out, &head, &len,
		    INT64_MAX - 1);
	}
	/* Rotate the ring into ascending order. */
	if (len > 0 && head != 0) {
		int64_t	*tmp;

		if ((tmp = pf_reallocarray(NULL, len, sizeof(*tmp))) == NULL)
			return -1;
		for (i = 0; i < len; i++)
			tmp[i] = out[(head + i) % want];
		memcpy(out, tmp, len * sizeof(*tmp));
		pf_free(tmp);
	}
	*n = len;
	if (nmissed != NULL) {
		if (start == lo && cnt <= SCHED_MISSED_COUNT_MAX)
			total = cnt;
		else {
			/* Count everything in (lo, hi], up to the cap. */
			size_t	 h2, l2;

			total = scan(sp, lo, hi, 0, NULL, &h2, &l2,
			    SCHED_MISSED_COUNT_MAX);
			if (total < 0)
				total = SCHED_MISSED_COUNT_MAX;
		}
		*nmissed = total;
	}
	return 0;
}

int
sched_catchup_plan(const struct sched_spec *sp, const struct sched_catchup *c,
    int64_t last, int64_t now, int64_t *out, size_t *n, int64_t *nmissed,
    int64_t *newest)
{
	int64_t	 lo, one;
	size_t	 k, want, i, j;

	*n = 0;
	*nmissed = 0;
	*newest = -1;
	if (last < 0 || now <= last || sp->at_start)
		return 0;
	/* The newest missed fire, and how many were missed in all. */
	if (sched_missed(sp, last, now, 1, &one, &k, nmissed) == -1)
		return -1;
	if (k == 0)
		return 0;
	*newest = one;
	if (c->policy == CATCHUP_NONE)
		return 0;
	lo = now - (int64_t)c->window - 1;	/* F >= now - window */
	if (lo < last)
		lo = last;
	want = c->policy == CATCHUP_LATEST ? 1 : c->max;
	if (want < 1)
		want = 1;
	if (want > SCHED_CATCHUP_MAX)
		want = SCHED_CATCHUP_MAX;
	if (sched_missed(sp, lo, now, want, out, n, NULL) == -1)
		return -1;
	/* sched_missed is ascending already; keep it strictly so. */
	for (i = j = 0; i < *n; i++)
		if (j == 0 || out[i] > out[j - 1])
			out[j++] = out[i];
	*n = j;
	return 0;
}

void
sched_rearm(const struct sched_spec *sp, int64_t armed, int64_t last_seen,
    double now, int64_t *due, int64_t *nmissed, int64_t *next)
{
	int64_t	 after = (int64_t)floor(now), one;
	size_t	 k;

	*due = -1;
	*nmissed = 0;
	if (armed >= 0 && (double)armed <= now && armed > last_seen)
		*due = armed;
	if (last_seen > after)
		after = last_seen;
	if (*due >= 0 && after > *due)
		(void)sched_missed(sp, *due, after, 1, &one, &k, nmissed);
	if (*due > after)
		after = *due;
	if (sched_next(sp, after, next) == -1)
		*next = -1;
}

enum sched_action
sched_overlap(enum wf_overlap o, unsigned running, unsigned queued,
    unsigned max_runs)
{
	switch (o) {
	case OVERLAP_ALLOW:
		return max_runs == 0 || running < max_runs ? SCHED_RUN :
		    SCHED_SKIP;
	case OVERLAP_QUEUE:
		if (running == 0 && queued == 0)
			return SCHED_RUN;
		return queued < SCHED_QUEUE_MAX ? SCHED_QUEUE : SCHED_SKIP;
	case OVERLAP_SKIP:
	default:
		return running == 0 ? SCHED_RUN : SCHED_SKIP;
	}
}

const char *
sched_overlap_name(enum wf_overlap o)
{
	switch (o) {
	case OVERLAP_QUEUE:
		return "queue";
	case OVERLAP_ALLOW:
		return "allow";
	case OVERLAP_SKIP:
	default:
		return "skip";
	}
}

const char *
sched_catchup_name(enum wf_catchup c)
{
	switch (c) {
	case CATCHUP_NONE:
		return "none";
	case CATCHUP_ALL:
		return "all";
	case CATCHUP_LATEST:
	default:
		return "latest";
	}
}
