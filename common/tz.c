/*
 * Time zones from TZif files (RFC 8536): calendar arithmetic and the
 * lookups (offset at an instant, next and previous change, local time).
 * tz_int.h lists the other files.
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

/* Days since 1970-01-01 of a proleptic Gregorian date (era arithmetic). */
int64_t
tz_days_from_civil(int64_t y, int m, int d)
{
	int64_t	 era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

void
tz_civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t	 era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

int
tz_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int
tz_mdays(int64_t y, int m)
{
	static const int days[12] =
	    { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return m == 2 && tz_leap(y) ? 29 : days[m - 1];
}

/* 0 = Sunday; 1970-01-01 was a Thursday. */
int
tz_wday(int64_t days)
{
	int64_t	 w = (days + 4) % 7;

	return (int)(w < 0 ? w + 7 : w);
}

int64_t
tz_floordiv(int64_t a, int64_t b)
{
	int64_t	 q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Index of the last transition <= t, or -1. */
static ssize_t
tz_search(const struct pf_tz *tz, int64_t t)
{
	size_t	 lo = 0, hi = tz->ntrans, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (tz->trans[mid] <= t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (ssize_t)lo - 1;
}

/* The rule governs after the last transition, or always if there are none. */
static int
tz_in_rule(const struct pf_tz *tz, int64_t t)
{
	return tz->has_rule &&
	    (tz->ntrans == 0 || t >= tz->trans[tz->ntrans - 1]);
}

static void
tz_lookup(const struct pf_tz *tz, int64_t t, int32_t *off, int *isdst,
    const char **abbr)
{
	const struct tz_type	*ty;
	ssize_t			 i;

	if (tz_in_rule(tz, t)) {
		tz_rule_at(&tz->rule, t, off, isdst);
		if (abbr != NULL)
			*abbr = *isdst ? tz->rule.dst_abbr : tz->rule.std_abbr;
		return;
	}
	i = tz_search(tz, t);
	ty = &tz->types[i < 0 ? 0 : tz->trans_type[i]];
	*off = ty->off;
	*isdst = ty->isdst;
	if (abbr != NULL)
		*abbr = tz->chars + ty->abbr;
}

int32_t
tz_offset_at(const struct pf_tz *tz, int64_t t)
{
	int32_t	 off;
	int	 isdst;

	if (tz == NULL)
		return 0;
	tz_lookup(tz, t, &off, &isdst, NULL);
	return off;
}

/* First instant > t at which the zone's table or rule changes type. */
static int64_t
tz_next_raw(const struct pf_tz *tz, int64_t t)
{
	ssize_t	 i;

	if (tz_in_rule(tz, t))
		return tz_rule_next(&tz->rule, t);
	i = tz_search(tz, t);
	if ((size_t)(i + 1) < tz->ntrans)
		return tz->trans[i + 1];
	return INT64_MAX;
}

/* Last instant <= t at which the zone's table or rule changed type. */
static int64_t
tz_prev_raw(const struct pf_tz *tz, int64_t t)
{
	ssize_t	 i;
	int64_t	 x;

	if (tz_in_rule(tz, t)) {
		x = tz_rule_prev(&tz->rule, t);
		if (tz->ntrans > 0 && x < tz->trans[tz->ntrans - 1])
			x = tz->trans[tz->ntrans - 1];
		return x;
	}
	i = tz_search(tz, t);
	return i < 0 ? INT64_MIN : tz->trans[i];
}

void
tz_span_at(const struct pf_tz *tz, int64_t t, struct tz_span *out)
{
	int64_t	 x;
	int	 i;

	out->start = INT64_MIN;
	out->end = INT64_MAX;
	out->off = out->prev_off = 0;
	if (tz == NULL)
		return;
	out->off = out->prev_off = tz_offset_at(tz, t);
	/*
	 * Transitions that change only the abbreviation or DST flag are
	 * stepped over, a bounded number of times (a hostile file may hold
	 * thousands); stopping early only makes a span shorter.
	 */
	x = t;
	for (i = 0; i < 64; i++) {
		x = tz_next_raw(tz, x);
		if (x == INT64_MAX || tz_offset_at(tz, x) != out->off)
			break;
	}
	out->end = x;
	x = t;
	for (i = 0; i < 64; i++) {
		x = tz_prev_raw(tz, x);
		if (x == INT64_MIN)
			break;
		if (tz_offset_at(tz, x - 1) != out->off) {
			out->prev_off = tz_offset_at(tz, x - 1);
			break;
		}
		x--;
	}
	out->start = x;
}

void
tz_localtime(const struct pf_tz *tz, int64_t t, struct tm *out)
{
	int32_t		 off = 0;
	int		 isdst = 0, m, d;
	const char	*abbr = "UTC";
	int64_t		 lt, days, secs, y;

	if (t > TZ_T_LIMIT)
		t = TZ_T_LIMIT;
	if (t < -TZ_T_LIMIT)
		t = -TZ_T_LIMIT;
	if (tz != NULL)
		tz_lookup(tz, t, &off, &isdst, &abbr);
	lt = t + off;
	days = tz_floordiv(lt, 86400);
	secs = lt - days * 86400;
	tz_civil_from_days(days, &y, &m, &d);
	memset(out, 0, sizeof(*out));
	out->tm_year = (int)(y - 1900);
	out->tm_mon = m - 1;
	out->tm_mday = d;
	out->tm_hour = (int)(secs / 3600);
	out->tm_min = (int)(secs / 60 % 60);
	out->tm_sec = (int)(secs % 60);
	out->tm_wday = tz_wday(days);
	out->tm_yday = (int)(days - tz_days_from_civil(y, 1, 1));
	out->tm_isdst = isdst;
	out->tm_gmtoff = off;
	out->tm_zone = abbr;
}
