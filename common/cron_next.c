/*
 * Cron expressions: the next fire time.
 *
 * cron_next jumps field by field (year, month, day, hour, minute,
 * second) through local wall time instead of scanning seconds.  Time zones
 * enter as spans of constant UTC offset (tz_span_at): inside a span local
 * time is UTC plus a constant, and at a span's start the DST rule decides
 * what happens to the local times that were skipped or repeated.  The rule
 * is cronie's; docs/cron.md states it for users.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "picoflow/cron.h"
#include "picoflow/tz.h"

/* Supported range of `after`: 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59Z */
#define CRON_T_MIN	(-62135596800LL)
#define CRON_T_MAX	253402300799LL
/*
 * The Gregorian calendar repeats every 400 years, weekdays included
 * (146097 days = 20871 weeks): a pattern with no match in 400 years never
 * matches, so this bound is exact, not a guess.
 */
#define CRON_CYCLE_YEARS 400
#define CRON_MAX_STEPS	1000000		/* defensive cap on loop turns */

/* Lowest set bit at or above `from` (from may be 64: none). */
static int
cron_nextbit(uint64_t bits, int from)
{
	if (from >= 64)
		return -1;
	bits &= ~(uint64_t)0 << from;
	return bits == 0 ? -1 : __builtin_ctzll(bits);
}

static int
cron_year_ok(const struct cron_expr *ce, int64_t y)
{
	int64_t	 i;

	if (!(ce->flags & CRON_F_YEAR))
		return 1;
	if (y < CRON_YEAR_MIN || y > CRON_YEAR_MAX)
		return 0;
	i = y - CRON_YEAR_MIN;
	return (ce->year[i / 64] >> (i % 64)) & 1;
}

/* Last year the year field allows (CRON_F_YEAR only), or -1. */
static int64_t
cron_year_last(const struct cron_expr *ce)
{
	int	 w;

	for (w = CRON_YEAR_WORDS - 1; w >= 0; w--)
		if (ce->year[w] != 0)
			return CRON_YEAR_MIN + w * 64 +
			    63 - __builtin_clzll(ce->year[w]);
	return -1;
}

/* Days of month m of year y that match dom/dow: bit d for day d. */
static uint32_t
cron_day_mask(const struct cron_expr *ce, int64_t y, int m)
{
	int		 len = tz_mdays(y, m), wd1, wd, d, n, last;
	uint32_t	 valid, dm = 0, dw = 0;

	valid = (uint32_t)(((uint64_t)1 << (len + 1)) - 2);
	if ((ce->flags & CRON_F_DOM_STAR) && (ce->flags & CRON_F_DOW_STAR))
		return valid;
	wd1 = tz_wday(tz_days_from_civil(y, m, 1));
	if (!(ce->flags & CRON_F_DOM_STAR)) {
		dm = ce->dom & valid;
		if (ce->flags & CRON_F_DOM_L)
			dm |= (uint32_t)1 << len;
		if (ce->flags & CRON_F_DOM_LW) {
			wd = (wd1 + len - 1) % 7;
			last = wd == 6 ? len - 1 : wd == 0 ? len - 2 : len;
			dm |= (uint32_t)1 << last;
		}
		/* nW: the weekday nearest day n, never leaving the month. */
		for (n = 1; n <= len; n++) {
			if (!((ce->dom_w >> n) & 1))
				continue;
			wd = (wd1 + n - 1) % 7;
			if (wd == 6)
				d = n == 1 ? 3 : n - 1;
			else if (wd == 0)
				d = n == len ? n - 2 : n + 1;
			else
				d = n;
			dm |= (uint32_t)1 << d;
		}
	}
	if (!(ce->flags & CRON_F_DOW_STAR)) {
		for (d = 1; d <= len; d++) {
			wd = (wd1 + d - 1) % 7;
			if (((ce->dow >> wd) & 1) ||
			    (((ce->dow_last >> wd) & 1) && d + 7 > len) ||
			    ((ce->dow_nth[wd] >> ((d - 1) / 7 + 1)) & 1))
				dw |= (uint32_t)1 << d;
		}
	}
	if (ce->flags & CRON_F_DOM_STAR)
		return dw;
	if (ce->flags & CRON_F_DOW_STAR)
		return dm;
	return dm | dw;		/* both restricted: classic OR rule */
}

/*
 * Smallest matching naive local time L with lo <= L < hi and year <= ylim.
 * "Naive" local time counts seconds as if local time were UTC.
 */
static int
cron_find(const struct cron_expr *ce, int64_t lo, int64_t hi, int64_t ylim,
    int64_t *out)
{
	int64_t		 days, secs, y, cur, mask_y = INT64_MIN, ny;
	int		 mo, d, h, mi, s, n, mask_m = 0;
	uint32_t	 mask = 0, dm;
	long		 steps;

	days = tz_floordiv(lo, 86400);
	secs = lo - days * 86400;
	tz_civil_from_days(days, &y, &mo, &d);
	h = (int)(secs / 3600);
	mi = (int)(secs / 60 % 60);
	s = (int)(secs % 60);
	for (steps = 0; steps < CRON_MAX_STEPS; steps++) {
		if (y > ylim)
			return 0;
		if (d > 31 || h > 23) {
			/* Carried past the end of a month or a day. */
			if (h > 23) {
				d++;
				h = mi = s = 0;
			}
			if (d > tz_mdays(y, mo)) {
				d = 1;
				if (++mo > 12) {
					mo = 1;
					y++;
				}
			}
			continue;
		}
		cur = tz_days_from_civil(y, mo, d) * 86400 + h * 3600 +
		    mi * 60 + s;
		if (cur >= hi)
			return 0;
		if (!cron_year_ok(ce, y)) {
			for (ny = y + 1; ny <= ylim && !cron_year_ok(ce, ny);
			    ny++)
				;
			y = ny;
			mo = d = 1;
			h = mi = s = 0;
			continue;
		}
		if (!((ce->month >> mo) & 1)) {
			n = cron_nextbit(ce->month, mo + 1);
			if (n == -1) {
				y++;
				n = cron_nextbit(ce->month, 1);
			}
			mo = n;
			d = 1;
			h = mi = s = 0;
			continue;
		}
		if (mask_y != y || mask_m != mo) {
			mask = cron_day_mask(ce, y, mo);
			mask_y = y;
			mask_m = mo;
		}
		dm = mask & (uint32_t)(~(uint64_t)0 << d);
		if (dm == 0) {
			d = 32;		/* next month */
			h = mi = s = 0;
			continue;
		}
		n = __builtin_ctz(dm);
		if (n != d) {
			d = n;
			h = mi = s = 0;
		}
		n = cron_nextbit(ce->hour, h);
		if (n == -1) {
			h = 24;
			continue;
		}
		if (n != h) {
			h = n;
			mi = s = 0;
		}
		n = cron_nextbit(ce->min, mi);
		if (n == -1) {
			h++;
			mi = s = 0;
			continue;
		}
		if (n != mi) {
			mi = n;
			s = 0;
		}
		n = cron_nextbit(ce->sec, s);
		if (n == -1) {
			if (++mi > 59) {
				mi = 0;
				h++;
			}
			s = 0;
			continue;
		}
		s = n;
		cur = tz_days_from_civil(y, mo, d) * 86400 + h * 3600 +
		    mi * 60 + s;
		if (cur >= hi)
			return 0;
		*out = cur;
		return 1;
	}
	return 0;
}

/*
 * Remembers that [lo, L) holds no match and L does (or that nothing
 * matches from lo to the horizon), so walking many spans stays cheap.
 */
struct cron_cache {
	int		 valid;
	int64_t		 lo;
	int		 found;
	int64_t		 l;
};

static int
cron_find_cached(const struct cron_expr *ce, struct cron_cache *c,
    int64_t lo, int64_t ylim, int64_t *out)
{
	int64_t	 l;

	if (c->valid && lo >= c->lo && (!c->found || lo <= c->l)) {
		*out = c->l;
		return c->found;
	}
	if (c->valid && lo < c->lo) {
		if (cron_find(ce, lo, c->lo, ylim, &l)) {
			c->found = 1;
			c->l = l;
		}
		c->lo = lo;
		*out = c->l;
		return c->found;
	}
	c->valid = 1;
	c->lo = lo;
	c->found = cron_find(ce, lo, INT64_MAX, ylim, &c->l);
	*out = c->l;
	return c->found;
}

static void
cron_fmt_utc(int64_t t, char *buf, size_t len)
{
	int64_t	 days = tz_floordiv(t, 86400), secs = t - days * 86400, y;
	int	 m, d;

	tz_civil_from_days(days, &y, &m, &d);
	(void)snprintf(buf, len, "%04lld-%02d-%02dT%02d:%02d:%02dZ",
	    (long long)y, m, d, (int)(secs / 3600), (int)(secs / 60 % 60),
	    (int)(secs % 60));
}

int
cron_next(const struct cron_expr *ce, const struct pf_tz *tz, int64_t after,
    int64_t *next, struct pf_err *err)
{
	struct tz_span		 sp;
	struct cron_cache	 cache;
	int64_t			 t, lo, l, ylim, y, tlim, gap;
	int			 m, d, fixed;
	char			 when[40];

	if (ce->flags & CRON_F_START) {
		pf_err_set(err, "@start runs only when the supervisor starts; "
		    "it has no next fire time");
		return -1;
	}
	if (ce->sec == 0 || ce->min == 0 || ce->hour == 0 ||
	    ce->month == 0 || (ce->nfields == 0 &&
	    !(ce->flags & CRON_F_MACRO))) {
		pf_err_set(err, "cron expression was not parsed");
		return -1;
	}
	if (after < CRON_T_MIN || after >= CRON_T_MAX) {
		pf_err_set(err, "time %lld is outside the supported range "
		    "(years 1-9999)", (long long)after);
		return -1;
	}
	/* cronie: a job is "fixed" unless its minute or hour starts with *. */
	fixed = !(ce->flags & (CRON_F_MIN_STAR | CRON_F_HOUR_STAR));
	tz_civil_from_days(tz_floordiv(after, 86400), &y, &m, &d);
	ylim = y + CRON_CYCLE_YEARS + 1;
	if ((ce->flags & CRON_F_YEAR) && cron_year_last(ce) < ylim)
		ylim = cron_year_last(ce);
	tlim = (tz_days_from_civil(ylim + 1, 1, 1) + 2) * 86400;
	memset(&cache, 0, sizeof(cache));
	for (t = after + 1; t < tlim; t = sp.end) {
		tz_span_at(tz, t, &sp);
		lo = t + sp.off;
		if (fixed && sp.start != INT64_MIN) {
			/* Fall back: local times already seen don't fire. */
			if (sp.prev_off > sp.off && lo < sp.start + sp.prev_off)
				lo = sp.start + sp.prev_off;
			/* Spring forward: skipped times fire at the jump. */
			if (sp.prev_off < sp.off && t == sp.start &&
			    cron_find(ce, sp.start + sp.prev_off,
			    sp.start + sp.off, ylim, &gap)) {
				*next = t;
				return 0;
			}
		}
		if (sp.end != INT64_MAX && lo >= sp.end + sp.off)
			continue;
		if (!cron_find_cached(ce, &cache, lo, ylim, &l))
			break;
		if (sp.end == INT64_MAX || l < sp.end + sp.off) {
			*next = l - sp.off;
			return 0;
		}
	}
	cron_fmt_utc(after, when, sizeof(when));
	if ((ce->flags & CRON_F_YEAR) && cron_year_last(ce) <= y)
		pf_err_set(err, "the schedule never fires after %s: the last "
		    "year it allows is %lld", when,
		    (long long)cron_year_last(ce));
	else
		pf_err_set(err, "the schedule never fires after %s: no date "
		    "matches it (e.g. February 30 or April 31)", when);
	return -1;
}
