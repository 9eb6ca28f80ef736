/*
 * Numbers, sizes and durations written as text (see units.h): digits
 * accumulated with an overflow check before every step, then one unit
 * letter looked up in a table, then the product checked against the
 * bounds.  The syntax is checked before the range, so "99999999999999x"
 * is "not a number" whatever its digits would be worth.
 */
#include <stdint.h>
#include <string.h>

#include "picoflow/units.h"

/* One unit letter and what it multiplies by; a 0 letter ends a table. */
struct unit {
	char		 c;
	uint64_t	 mul;
};

static const struct unit size_units[] = {
	{ 'k', 1ULL << 10 }, { 'K', 1ULL << 10 },
	{ 'm', 1ULL << 20 }, { 'M', 1ULL << 20 },
	{ 'g', 1ULL << 30 }, { 'G', 1ULL << 30 },
	{ '\0', 0 },
};

static const struct unit duration_units[] = {
	{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 },
	{ 'w', 7 * 86400 },
	{ '\0', 0 },
};

/*
 * Digits at s, an optional unit from units (NULL: none), then the end.
 * *v is the value scaled, *big set when it does not fit in a uint64_t.
 */
static int
scan(const char *s, const struct unit *units, uint64_t *v, int *big)
{
	const char	*p = s;
	uint64_t	 mul = 1;

	*v = 0;
	*big = 0;
	if (*p == '\0')
		return UNITS_EMPTY;
	if (*p < '0' || *p > '9')
		return UNITS_SYNTAX;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (*v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			*big = 1;
		else
			*v = *v * 10 + (uint64_t)(*p - '0');
	}
	if (*p != '\0' && units != NULL) {
		for (; units->c != '\0' && units->c != *p; units++)
			;
		if (units->c == '\0')
			return UNITS_SYNTAX;
		mul = units->mul;
		p++;
	}
	if (*p != '\0')
		return UNITS_SYNTAX;
	if (*v > UINT64_MAX / mul)
		*big = 1;
	else
		*v *= mul;
	return UNITS_OK;
}

/* Digits with a unit from units (NULL: none), within min..max. */
static int
scaled(const char *s, const struct unit *units, int64_t min, int64_t max,
    int64_t *out)
{
	uint64_t	 v;
	int		 big, rc;

	if ((rc = scan(s, units, &v, &big)) != UNITS_OK)
		return rc;
	if (big || v > (uint64_t)INT64_MAX || (int64_t)v < min ||
	    (int64_t)v > max)
		return UNITS_RANGE;
	*out = (int64_t)v;
	return UNITS_OK;
}

int
units_count(const char *s, int64_t min, int64_t max, int64_t *out)
{
	return scaled(s, NULL, min, max, out);
}

int
units_int(const char *s, int64_t min, int64_t max, int64_t *out)
{
	uint64_t	 v;
	int64_t		 x;
	int		 big, rc;

	if (*s != '-')
		return scaled(*s == '+' && s[1] != '\0' ? s + 1 : s, NULL, min,
		    max, out);
	/* One more below zero than above: INT64_MIN has no positive twin. */
	if ((rc = scan(s + 1, NULL, &v, &big)) != UNITS_OK)
		return rc == UNITS_EMPTY ? UNITS_SYNTAX : rc;
	if (big || v > (uint64_t)INT64_MAX + 1)
		return UNITS_RANGE;
	x = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
	if (x < min || x > max)
		return UNITS_RANGE;
	*out = x;
	return UNITS_OK;
}

int
units_size(const char *s, int64_t min, int64_t max, int64_t *out)
{
	return scaled(s, size_units, min, max, out);
}

int
units_duration(const char *s, int64_t min, int64_t max, int64_t *out)
{
	return scaled(s, duration_units, min, max, out);
}
