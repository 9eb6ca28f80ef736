/*
 * Scheduling decisions (supervisor/sched.c): next fires, missed fires
 * (checked against a brute-force walk), the catch-up plan for each
 * policy with its window and maximum, and the overlap table.
 */
#include <criterion/criterion.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sched.h"

/* 2024-03-04T02:00:00Z, a Monday. */
#define T0	1709517600LL

static struct sched_spec
spec(const char *expr, const char *tz)
{
	struct sched_spec	 sp;
	struct pf_err		 err;

	cr_assert_eq(sched_spec_init(&sp, expr, tz, NULL, &err), 0, "%s: %s",
	    expr, err.msg);
	return sp;
}

Test(sched, spec_errors_name_the_culprit)
{
	struct sched_spec	 sp;
	struct pf_err		 err;

	cr_assert_eq(sched_spec_init(&sp, "61 * * * *", NULL, NULL, &err), -1);
	cr_assert(strncmp(err.msg, "schedule '61 * * * *': ", 23) == 0, "%s",
	    err.msg);
	sched_spec_free(&sp);
	cr_assert_eq(sched_spec_init(&sp, "* * * * *", "Mars/Olympus", NULL,
	    &err), -1);
	cr_assert(strncmp(err.msg, "timezone 'Mars/Olympus': ", 25) == 0,
	    "%s", err.msg);
	sched_spec_free(&sp);
	/* The supervisor's default applies when the workflow sets none. */
	cr_assert_eq(sched_spec_init(&sp, "* * * * *", NULL, "Nowhere/City",
	    &err), -1);
	sched_spec_free(&sp);
	cr_assert_eq(sched_spec_init(&sp, "* * * * *", "UTC", "Nowhere/City",
	    &err), 0);
	sched_spec_free(&sp);
}

Test(sched, next_fires)
{
	struct sched_spec	 sp;
	int64_t			 n;

	sp = spec("*/15 * * * *", NULL);
	cr_assert_eq(sched_next(&sp, T0, &n), 0);
	cr_assert_eq(n, T0 + 900);
	cr_assert_eq(sched_next(&sp, T0 - 1, &n), 0);
	cr_assert_eq(n, T0, "strictly after, so T0 itself when before it");
	sched_spec_free(&sp);

	sp = spec("30 */2 * * * *", NULL);	/* 6 fields, seconds first */
	cr_assert_eq(sched_next(&sp, T0, &n), 0);
	cr_assert_eq(n, T0 + 30);
	cr_assert_eq(sched_next(&sp, T0 + 30, &n), 0);
	cr_assert_eq(n, T0 + 120 + 30);
	sched_spec_free(&sp);

	/* 02:30 in Kolkata (+05:30) is 21:00 UTC the day before. */
	sp = spec("30 2 * * *", "Asia/Kolkata");
	cr_assert_eq(sched_next(&sp, T0, &n), 0);
	cr_assert_eq(n, T0 + 19 * 3600);
	sched_spec_free(&sp);

	/* Berlin's spring-forward night: 02:30 does not exist on 2024-03-31;
	 * cronie's rule runs it once right after the jump, 03:00 CEST. */
	sp = spec("30 2 * * *", "Europe/Berlin");
	cr_assert_eq(sched_next(&sp, 1711843200LL, &n), 0); /* 03-31 00:00Z */
	cr_assert_eq(n, 1711846800LL, "%lld", (long long)n); /* 01:00Z */
	sched_spec_free(&sp);

	sp = spec("@start", NULL);
	cr_assert_eq(sp.at_start, 1);
	cr_assert_eq(sched_next(&sp, T0, &n), -1);
	sched_spec_free(&sp);

	/* A year field in the past: never again. */
	sp = spec("0 0 0 1 1 * 1999", NULL);
	cr_assert_eq(sched_next(&sp, T0, &n), -1);
	sched_spec_free(&sp);
}

/* Every fire in (lo, hi] by walking forward. */
static size_t
brute(const struct sched_spec *sp, int64_t lo, int64_t hi, int64_t **out)
{
	int64_t	*v = NULL, t = lo, nx;
	size_t	 n = 0, cap = 0;

	while (sched_next(sp, t, &nx) == 0 && nx <= hi) {
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			v = realloc(v, cap * sizeof(*v));
			cr_assert_not_null(v);
		}
		v[n++] = nx;
		t = nx;
	}
	*out = v;
	return n;
}

Test(sched, missed_matches_a_brute_force_walk)
{
	static const char *exprs[] = {
		"* * * * * *", "*/7 * * * * *", "0 * * * *", "13 3 * * *",
		"0 0 * * 1", "0 0 29 2 *", "0 12 1-7 * 1", "5 4 L * *",
		"0 30 9 ? * MON-FRI",
	};
	struct sched_spec	 sp;
	int64_t			*all, got[64], lo, hi, nmissed;
	size_t			 e, k, n, nall, want;
	uint64_t		 x = 12345;

	for (e = 0; e < sizeof(exprs) / sizeof(exprs[0]); e++) {
		sp = spec(exprs[e], e % 2 ? "Europe/Berlin" : NULL);
		for (k = 0; k < 12; k++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			lo = T0 + (int64_t)(x % 86400);
			/* Spans from seconds to about three months. */
			hi = lo + (int64_t)(x >> 20) % (k < 6 ? 4000 :
			    8000000);
			/* Dense ones: past the count cap, but cheap. */
			if (exprs[e][0] == '*' && hi - lo > 30000)
				hi = lo + 30000;
			want = 1 + (x >> 40) % 40;
			nall = brute(&sp, lo, hi, &all);
			cr_assert_eq(sched_missed(&sp, lo, hi, want, got, &n,
			    &nmissed), 0);
			cr_assert_eq(n, nall < want ? nall : want,
			    "%s (%lld, %lld] want %zu: %zu vs %zu", exprs[e],
			    (long long)lo, (long long)hi, want, n, nall);
			cr_assert_eq(nmissed, nall < SCHED_MISSED_COUNT_MAX ?
			    (int64_t)nall : SCHED_MISSED_COUNT_MAX, "%s: %lld "
			    "vs %zu", exprs[e], (long long)nmissed, nall);
			if (n > 0)
				cr_assert_eq(memcmp(got, all + nall - n,
				    n * sizeof(*got)), 0, "%s: wrong fires",
				    exprs[e]);
			free(all);
		}
		sched_spec_free(&sp);
	}
}

/* A year of an every-second schedule costs little and counts up to a cap. */
Test(sched, missed_is_bounded)
{
	struct sched_spec	 sp = spec("* * * * * *", NULL);
	int64_t			 got[5], nmissed;
	size_t			 n;
	clock_t			 c0 = clock();

	cr_assert_eq(sched_missed(&sp, T0, T0 + 365 * 86400, 5, got, &n,
	    &nmissed), 0);
	cr_assert_eq(n, 5);
	cr_assert_eq(got[4], T0 + 365 * 86400);
	cr_assert_eq(got[0], T0 + 365 * 86400 - 4);
	cr_assert_eq(nmissed, SCHED_MISSED_COUNT_MAX);
	cr_assert_lt((double)(clock() - c0) / CLOCKS_PER_SEC, 5.0);
	/* Empty and reversed ranges. */
	cr_assert_eq(sched_missed(&sp, T0, T0, 5, got, &n, &nmissed), 0);
	cr_assert_eq(n, 0);
	cr_assert_eq(nmissed, 0);
	cr_assert_eq(sched_missed(&sp, T0, T0 - 10, 5, got, &n, NULL), 0);
	cr_assert_eq(n, 0);
	sched_spec_free(&sp);
}

Test(sched, catchup_plans)
{
	struct sched_spec	 sp = spec("0 * * * *", NULL);	/* hourly */
	struct sched_catchup	 c;
	int64_t			 out[SCHED_CATCHUP_MAX], nmissed, newest;
	int64_t			 now = T0 + 10 * 3600 + 120;	/* 12:02 */
	size_t			 n;

	/* Last fire at T0: 10 fires missed, 03:00 .. 12:00. */
	c.policy = CATCHUP_LATEST;
	c.window = 3600;
	c.max = 1;
	cr_assert_eq(sched_catchup_plan(&sp, &c, T0, now, out, &n, &nmissed,
	    &newest), 0);
	cr_assert_eq(nmissed, 10);
	cr_assert_eq(newest, T0 + 10 * 3600);
	cr_assert_eq(n, 1);
	cr_assert_eq(out[0], T0 + 10 * 3600);

	/* The newest is outside a short window: nothing runs. */
	c.window = 60;
	cr_assert_eq(sched_catchup_plan(&sp, &c, T0, now, out, &n, &nmissed,
	    &newest), 0);
	cr_assert_eq(n, 0);
	cr_assert_eq(nmissed, 10);
	/* The window's edge is inclusive: F >= now - window. */
	c.window = 120;
	cr_assert_eq(sched_catchup_plan(&sp, &c, T0, now, out, &n, &nmissed,
	    &newest), 0);
	cr_assert_eq(n, 1);
	c.window = 119;
	cr_assert_eq(sched_catchup_plan(&sp, &c, T0, now, out, &n, &nmissed,
	    &newest), 0);
	cr_assert_eq(n, 0);

	/* all, max 3, window 4 h: the newest three, ascending. */
	c.policy = CATCHUP_ALL;
	c.window = 4 * 3600;
	c.max = 3;
	cr_assert_eq(sched_catchup_plan(&sp, &c, T0, now, out, &n, &nmissed,
	    &newest), 0);
	cr_assert_eq(n, 3);
	cr_assert_eq(out[0], T0 + 8 * 3600);
	cr_assert_eq(out[1], T0 + 9 * 3600);
	cr_assert_eq(out[2], T0 + 10 * 3600);
	/* all, max 100, window 4 h 2 min: 08:00 .. 12:00 (edge included). */
	c.max = 100;
	c.window = 4 * 3600 + 120;
	cr_assert_eq(sched_catchup_plan(&sp, &c, T0, now, out, &n, &nmissed,
	    &newest), 0);
	cr_assert_eq(n, 5, "%zu", n);
	cr_assert_eq(out[0], T0 + 6 * 3600);
	/* The window never reaches before the last fire. */
	c.window = 365 * 86400;
	cr_assert_eq(sched_catchup_plan(&sp, &c, T0, now, out, &n, &nmissed,
	    &newest), 0);
	cr_assert_eq(n, 10);
	cr_assert_eq(out[0], T0 + 3600);

	/* none: nothing runs, but the newest missed fire is reported. */
	c.policy = CATCHUP_NONE;
	cr_assert_eq(sched_catchup_plan(&sp, &c, T0, now, out, &n, &nmissed,
	    &newest), 0);
	cr_assert_eq(n, 0);
	cr_assert_eq(nmissed, 10);
	cr_assert_eq(newest, T0 + 10 * 3600);

	/* Never fired, or nothing missed, or the clock went back. */
	c.policy = CATCHUP_ALL;
	cr_assert_eq(sched_catchup_plan(&sp, &c, -1, now, out, &n, &nmissed,
	    &newest), 0);
	cr_assert_eq(n, 0);
	cr_assert_eq(newest, -1);
	cr_assert_eq(sched_catchup_plan(&sp, &c, T0 + 10 * 3600, now, out, &n,
	    &nmissed, &newest), 0);
	cr_assert_eq(n, 0);
	cr_assert_eq(nmissed, 0);
	cr_assert_eq(sched_catchup_plan(&sp, &c, now + 3600, now, out, &n,
	    &nmissed, &newest), 0);
	cr_assert_eq(n, 0);
	sched_spec_free(&sp);

	sp = spec("@start", NULL);
	cr_assert_eq(sched_catchup_plan(&sp, &c, T0, now, out, &n, &nmissed,
	    &newest), 0);
	cr_assert_eq(n, 0);
	sched_spec_free(&sp);
}

/* The timer across expiries, a late loop and clock jumps both ways. */
Test(sched, rearm_across_clock_jumps)
{
	struct sched_spec	 sp = spec("0 * * * *", NULL);	/* hourly */
	int64_t			 due, missed, next;

	/* Armed for the first time at 02:10. */
	sched_rearm(&sp, -1, -1, T0 + 600.5, &due, &missed, &next);
	cr_assert_eq(due, -1);
	cr_assert_eq(missed, 0);
	cr_assert_eq(next, T0 + 3600);
	/* Expiry on time (03:00:00.002): 03:00 is due, 04:00 is next. */
	sched_rearm(&sp, T0 + 3600, T0, T0 + 3600.002, &due, &missed, &next);
	cr_assert_eq(due, T0 + 3600);
	cr_assert_eq(missed, 0);
	cr_assert_eq(next, T0 + 7200);
	/* The clock steps forward to 06:30 before 04:00 fired: 04:00 still
	 * runs, 05:00 and 06:00 are missed, 07:00 is next. */
	sched_rearm(&sp, T0 + 7200, T0 + 3600, T0 + 4.5 * 3600, &due, &missed,
	    &next);
	cr_assert_eq(due, T0 + 7200);
	cr_assert_eq(missed, 2);
	cr_assert_eq(next, T0 + 5 * 3600);
	/* The clock steps back an hour after 07:00 ran: 07:00 never again. */
	sched_rearm(&sp, T0 + 6 * 3600, T0 + 5 * 3600, T0 + 4.2 * 3600, &due,
	    &missed, &next);
	cr_assert_eq(due, -1);
	cr_assert_eq(missed, 0);
	cr_assert_eq(next, T0 + 6 * 3600, "the armed 08:00 stays");
	/* ... and from before 07:00, 07:00 is not armed again either. */
	sched_rearm(&sp, -1, T0 + 5 * 3600, T0 + 4.5 * 3600, &due, &missed,
	    &next);
	cr_assert_eq(next, T0 + 6 * 3600);
	/* A fire that was handled already is not due twice. */
	sched_rearm(&sp, T0 + 3600, T0 + 3600, T0 + 3600.5, &due, &missed,
	    &next);
	cr_assert_eq(due, -1);
	cr_assert_eq(next, T0 + 7200);
	sched_spec_free(&sp);

	/* Every second, the loop held up 3.6 s: one late, three missed. */
	sp = spec("* * * * * *", NULL);
	sched_rearm(&sp, T0 + 10, T0 + 9, T0 + 13.6, &due, &missed, &next);
	cr_assert_eq(due, T0 + 10);
	cr_assert_eq(missed, 3);
	cr_assert_eq(next, T0 + 14);
	sched_spec_free(&sp);

	/* A schedule with no future: nothing to wait for. */
	sp = spec("0 0 0 1 1 * 2024", NULL);
	sched_rearm(&sp, -1, -1, T0, &due, &missed, &next);
	cr_assert_eq(next, -1);
	sched_spec_free(&sp);
}

Test(sched, overlap_table)
{
	cr_assert_eq(sched_overlap(OVERLAP_SKIP, 0, 0, 0), SCHED_RUN);
	cr_assert_eq(sched_overlap(OVERLAP_SKIP, 1, 0, 0), SCHED_SKIP);
	cr_assert_eq(sched_overlap(OVERLAP_SKIP, 5, 0, 0), SCHED_SKIP);
	cr_assert_eq(sched_overlap(OVERLAP_QUEUE, 0, 0, 0), SCHED_RUN);
	cr_assert_eq(sched_overlap(OVERLAP_QUEUE, 1, 0, 0), SCHED_QUEUE);
	/* Something already waits: a new fire waits behind it. */
	cr_assert_eq(sched_overlap(OVERLAP_QUEUE, 0, 1, 0), SCHED_QUEUE);
	cr_assert_eq(sched_overlap(OVERLAP_QUEUE, 1, SCHED_QUEUE_MAX - 1, 0),
	    SCHED_QUEUE);
	cr_assert_eq(sched_overlap(OVERLAP_QUEUE, 1, SCHED_QUEUE_MAX, 0),
	    SCHED_SKIP);
	cr_assert_eq(sched_overlap(OVERLAP_ALLOW, 0, 0, 0), SCHED_RUN);
	cr_assert_eq(sched_overlap(OVERLAP_ALLOW, 100, 0, 0), SCHED_RUN);
}

/* The cap on runs in flight: overlap allow stops at it, others unchanged. */
Test(sched, overlap_max_runs)
{
	cr_assert_eq(sched_overlap(OVERLAP_ALLOW, 3, 0, 4), SCHED_RUN);
	cr_assert_eq(sched_overlap(OVERLAP_ALLOW, 4, 0, 4), SCHED_SKIP);
	cr_assert_eq(sched_overlap(OVERLAP_ALLOW, 50, 0, 4), SCHED_SKIP);
	cr_assert_eq(sched_overlap(OVERLAP_SKIP, 0, 0, 1), SCHED_RUN);
	cr_assert_eq(sched_overlap(OVERLAP_SKIP, 1, 0, 1), SCHED_SKIP);
	cr_assert_eq(sched_overlap(OVERLAP_QUEUE, 0, 0, 1), SCHED_RUN);
	cr_assert_eq(sched_overlap(OVERLAP_QUEUE, 1, 0, 1), SCHED_QUEUE);
}

Test(sched, overlap_names)
{
	cr_assert_str_eq(sched_overlap_name(OVERLAP_QUEUE), "queue");
	cr_assert_str_eq(sched_catchup_name(CATCHUP_NONE), "none");
	cr_assert_str_eq(sched_catchup_name(CATCHUP_LATEST), "latest");
}
