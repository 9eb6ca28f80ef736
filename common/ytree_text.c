/*
 * The YAML node tree's text rules: the closest known name to a misspelt
 * one, control characters, absolute paths, and sizes, durations (both
 * through units.h, the flags' parser too) and cpu amounts written as text.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#include "picoflow/alloc.h"
#include "picoflow/err.h"
#include "picoflow/units.h"
#include "ytree.h"
#include "ytree_int.h"

/* Optimal string alignment distance, capped: returns > cap when larger. */
size_t
yt_edit_distance(const char *a, const char *b, size_t cap)
{
	size_t	 la = strlen(a), lb = strlen(b), i, j, best;
	size_t	 r0[65], r1[65], r2[65], *pp = r0, *p = r1, *c = r2, *tmp;
	size_t	 cost, v;

	if (la > 64 || lb > 64)
		return cap + 1;
	if ((la > lb ? la - lb : lb - la) > cap)
		return cap + 1;
	for (j = 0; j <= lb; j++)
		p[j] = j;
	for (i = 1; i <= la; i++) {
		c[0] = i;
		best = c[0];
		for (j = 1; j <= lb; j++) {
			cost = a[i - 1] == b[j - 1] ? 0 : 1;
			v = p[j] + 1;
			if (c[j - 1] + 1 < v)
				v = c[j - 1] + 1;
			if (p[j - 1] + cost < v)
				v = p[j - 1] + cost;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && pp[j - 2] + 1 < v)
				v = pp[j - 2] + 1;
			c[j] = v;
			if (v < best)
				best = v;
		}
		if (best > cap)
			return cap + 1;
		tmp = pp;
		pp = p;
		p = c;
		c = tmp;
	}
	return p[lb];
}

size_t
yt_suggest_cap(const char *word)
{
	size_t	 len = strlen(word);

	return len <= 3 ? 1 : len <= 6 ? 2 : 3;
}

/* The closest of n candidates, or NULL when none is close. */
const char *
yt_suggest(const char *word, const char *const *cand, size_t n)
{
	const char	*best = NULL;
	size_t		 i, d, bestd, cap = yt_suggest_cap(word);

	bestd = cap + 1;
	for (i = 0; i < n; i++) {
		d = yt_edit_distance(word, cand[i], cap);
		if (d < bestd) {
			bestd = d;
			best = cand[i];
		}
	}
	return best;
}

/* C0 controls, DEL and the C1 controls (U+0080..U+009F in UTF-8). */
static int
ctl_scan(const char *s, size_t len, int allow_tab)
{
	size_t		 i;
	unsigned char	 c;

	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if ((c < 0x20 && !(allow_tab && c == '\t')) || c == 0x7f)
			return 1;
		if (c == 0xc2 && i + 1 < len &&
		    (unsigned char)s[i + 1] >= 0x80 &&
		    (unsigned char)s[i + 1] <= 0x9f)
			return 1;
	}
	return 0;
}

int
yt_has_control(const char *s, size_t len)
{
	return ctl_scan(s, len, 0);
}

int
yt_has_control_but_tab(const char *s, size_t len)
{
	return ctl_scan(s, len, 1);
}

/* NULL when fine, else why not. */
const char *
yt_abs_path_problem(const char *s)
{
	const char	*p;

	if (*s != '/')
		return "is not an absolute path (it must start with /)";
	for (p = s; *p != '\0'; p++)
		if (p[0] == '.' && p[1] == '.' && p[-1] == '/' &&
		    (p[2] == '/' || p[2] == '\0'))
			return "has a '..' component";
	if (yt_has_control(s, strlen(s)))
		return "contains a control character";
	return NULL;
}

/* units.h's answer as the getters' 0, -1 (not such a number), -2 (range). */
static int
yt_units_rc(int rc)
{
	return rc == UNITS_OK ? 0 : rc == UNITS_RANGE ? -2 : -1;
}

/* Bytes with an optional K, M or G (1024-based) suffix. */
int
yt_parse_size(const char *s, long long *out)
{
	int64_t	 v;
	int	 rc;

	if ((rc = units_size(s, 0, YT_SIZE_LIMIT_MAX, &v)) == UNITS_OK)
		*out = v;
	return yt_units_rc(rc);
}

/* Seconds with an optional unit s, m, h, d or w. */
int
yt_parse_duration(const char *s, long long max, long long *out)
{
	int64_t	 v;
	int	 rc;

	if ((rc = units_duration(s, 0, max, &v)) == UNITS_OK)
		*out = v;
	return yt_units_rc(rc);
}

/* Cores as a decimal with up to three decimals -> thousandths. */
int
yt_parse_cpu(const char *s, long long *milli)
{
	long long	 whole = 0, frac = 0;
	const char	*p = s;
	int		 nd = 0;

	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (whole > YT_CPU_MILLI_MAX)
			return -2;
		whole = whole * 10 + (*p - '0');
	}
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++) {
			if (++nd > 3)
				return -3;
			frac = frac * 10 + (*p - '0');
		}
		if (nd == 0)
			return -1;
		while (nd++ < 3)
			frac *= 10;
	}
	if (*p != '\0')
		return -1;
	if (whole > YT_CPU_MILLI_MAX / 1000)
		return -2;
	*milli = whole * 1000 + frac;
	return 0;
}
