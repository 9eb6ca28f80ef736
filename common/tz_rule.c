/*
 * POSIX-TZ rules, from a TZif file's footer: parsed (std offset dst
 * [offset],start[/time],end[/time]), and the instants of their changes
 * in a given year, which extend a zone past its last transition.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "picoflow/alloc.h"
#include "picoflow/buf.h"
#include "picoflow/tz.h"
#include "tz_int.h"

struct tz_scan {
	const char	*p, *end;
};

static int
scan_num(struct tz_scan *s, int max, int *out)
{
	int	 v = 0, n = 0;

	while (s->p < s->end && *s->p >= '0' && *s->p <= '9') {
		v = v * 10 + (*s->p - '0');
		if (v > max)
			return -1;
		s->p++;
		n++;
	}
	if (n == 0)
		return -1;
	*out = v;
	return 0;
}

/* [+-]hh[:mm[:ss]] with hh <= maxh; returns seconds. */
static int
scan_hms(struct tz_scan *s, int maxh, int32_t *out)
{
	int	 sign = 1, h, m = 0, sec = 0;

	if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
		sign = *s->p++ == '-' ? -1 : 1;
	if (scan_num(s, maxh, &h) == -1)
		return -1;
	if (s->p < s->end && *s->p == ':') {
		s->p++;
		if (scan_num(s, 59, &m) == -1)
			return -1;
		if (s->p < s->end && *s->p == ':') {
			s->p++;
			if (scan_num(s, 59, &sec) == -1)
				return -1;
		}
	}
	*out = sign * (h * 3600 + m * 60 + sec);
	return 0;
}

static int
scan_abbr(struct tz_scan *s, char *out, size_t outlen)
{
	const char	*b;
	size_t		 n;

	if (s->p < s->end && *s->p == '<') {
		b = ++s->p;
		while (s->p < s->end && *s->p != '>') {
			char c = *s->p;
			if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			    (c >= '0' && c <= '9') || c == '+' || c == '-'))
				return -1;
			s->p++;
		}
		if (s->p >= s->end)
			return -1;
		n = (size_t)(s->p - b);
		s->p++;
	} else {
		b = s->p;
		while (s->p < s->end && ((*s->p >= 'A' && *s->p <= 'Z') ||
		    (*s->p >= 'a' && *s->p <= 'z')))
			s->p++;
		n = (size_t)(s->p - b);
	}
	if (n < 3 || n >= outlen)
		return -1;
	memcpy(out, b, n);
	out[n] = '\0';
	return 0;
}

static int
scan_date(struct tz_scan *s, struct tz_date *d)
{
	memset(d, 0, sizeof(*d));
	if (s->p < s->end && *s->p == 'J') {
		s->p++;
		d->kind = TZ_DATE_JULIAN1;
		if (scan_num(s, 365, &d->n) == -1 || d->n < 1)
			return -1;
	} else if (s->p < s->end && *s->p == 'M') {
		s->p++;
		d->kind = TZ_DATE_MWD;
		if (scan_num(s, 12, &d->mon) == -1 || d->mon < 1 ||
		    s->p >= s->end || *s->p++ != '.' ||
		    scan_num(s, 5, &d->week) == -1 || d->week < 1 ||
		    s->p >= s->end || *s->p++ != '.' ||
		    scan_num(s, 6, &d->wday) == -1)
			return -1;
	} else {
		d->kind = TZ_DATE_JULIAN0;
		if (scan_num(s, 365, &d->n) == -1)
			return -1;
	}
	d->time = 2 * 3600;
	if (s->p < s->end && *s->p == '/') {
		s->p++;
		if (scan_hms(s, 167, &d->time) == -1)
			return -1;
	}
	return 0;
}

/* e.g. "CET-1CEST,M3.5.0,M10.5.0/3"; offsets in the string are west. */
int
tz_parse_rule(const char *str, size_t len, struct tz_rule *r)
{
	struct tz_scan	 s = { str, str + len };
	int32_t		 off;

	memset(r, 0, sizeof(*r));
	if (scan_abbr(&s, r->std_abbr, sizeof(r->std_abbr)) == -1 ||
	    scan_hms(&s, 24, &off) == -1)
		return -1;
	r->std_off = -off;
	if (s.p == s.end) {
		r->dst_off = r->std_off;
		return 0;
	}
	if (scan_abbr(&s, r->dst_abbr, sizeof(r->dst_abbr)) == -1)
		return -1;
	r->has_dst = 1;
	r->dst_off = r->std_off + 3600;
	if (s.p < s.end && *s.p != ',') {
		if (scan_hms(&s, 24, &off) == -1)
			return -1;
		r->dst_off = -off;
	}
	/* zic always writes the rule; the POSIX default is not guessed. */
	if (s.p >= s.end || *s.p++ != ',' || scan_date(&s, &r->start) == -1 ||
	    s.p >= s.end || *s.p++ != ',' || scan_date(&s, &r->end) == -1 ||
	    s.p != s.end)
		return -1;
	return 0;
}

/* Days since the epoch of the rule date's local midnight in `year`. */
static int64_t
tz_rule_date(const struct tz_date *d, int64_t year)
{
	int64_t	 jan1 = tz_days_from_civil(year, 1, 1), first;
	int	 day, mdays;

	switch (d->kind) {
	case TZ_DATE_JULIAN1:
		return jan1 + d->n - 1 + (tz_leap(year) && d->n >= 60);
	case TZ_DATE_JULIAN0:
		return jan1 + d->n;
	case TZ_DATE_MWD:
	default:
		first = tz_days_from_civil(year, d->mon, 1);
		day = 1 + (d->wday - tz_wday(first) + 7) % 7 +
		    (d->week - 1) * 7;
		mdays = tz_mdays(year, d->mon);
		while (day > mdays)
			day -= 7;
		return first + day - 1;
	}
}

/* The two events of `year`, in time order. */
static int
tz_rule_events(const struct tz_rule *r, int64_t year, struct tz_event *ev)
{
	struct tz_event	 tmp;

	ev[0].at = tz_rule_date(&r->start, year) * 86400 + r->start.time -
	    r->std_off;
	ev[0].off = r->dst_off;
	ev[0].isdst = 1;
	ev[1].at = tz_rule_date(&r->end, year) * 86400 + r->end.time -
	    r->dst_off;
	ev[1].off = r->std_off;
	ev[1].isdst = 0;
	if (ev[1].at < ev[0].at) {
		tmp = ev[0];
		ev[0] = ev[1];
		ev[1] = tmp;
	}
	return 2;
}

/*
 * Events of the years around t, in time order; on equal instants the later
 * year's event wins (so "DST all year" rules have no zero-length gaps).
 */
static size_t
tz_rule_window(const struct tz_rule *r, int64_t t, struct tz_event *ev)
{
	int64_t		 y, yy;
	int		 m, d;
	size_t		 n = 0, i, j;
	struct tz_event	 tmp;

	/* Far-off instants use the years at the limit (no overflow). */
	if (t > TZ_T_LIMIT)
		t = TZ_T_LIMIT;
	if (t < -TZ_T_LIMIT)
		t = -TZ_T_LIMIT;
	tz_civil_from_days(tz_floordiv(t, 86400), &y, &m, &d);
	for (yy = y - 2; yy <= y + 2; yy++)
		n += (size_t)tz_rule_events(r, yy, ev + n);
	/* Insertion sort, stable: at most 10 entries. */
	for (i = 1; i < n; i++) {
		tmp = ev[i];
		for (j = i; j > 0 && ev[j - 1].at > tmp.at; j--)
			ev[j] = ev[j - 1];
		ev[j] = tmp;
	}
	return n;
}

void
tz_rule_at(const struct tz_rule *r, int64_t t, int32_t *off, int *isdst)
{
	struct tz_event	 ev[10];
	size_t		 n, i;

	*off = r->std_off;
	*isdst = 0;
	if (!r->has_dst)
		return;
	n = tz_rule_window(r, t, ev);
	/* Before the first event of year-2 the state is the last one's. */
	*off = ev[n - 1].off;
	*isdst = ev[n - 1].isdst;
	for (i = 0; i < n && ev[i].at <= t; i++) {
		*off = ev[i].off;
		*isdst = ev[i].isdst;
	}
}

int64_t
tz_rule_next(const struct tz_rule *r, int64_t t)
{
	struct tz_event	 ev[10];
	size_t		 n, i;

	if (!r->has_dst)
		return INT64_MAX;
	n = tz_rule_window(r, t, ev);
	for (i = 0; i < n; i++)
		if (ev[i].at > t)
			return ev[i].at;
	return INT64_MAX;
}

int64_t
tz_rule_prev(const struct tz_rule *r, int64_t t)
{
	struct tz_event	 ev[10];
	size_t		 n, i;
	int64_t		 best = INT64_MIN;

	if (!r->has_dst)
		return INT64_MIN;
	n = tz_rule_window(r, t, ev);
	for (i = 0; i < n; i++)
		if (ev[i].at <= t)
			best = ev[i].at;
	return best;
}
