/*
 * Numbers written as text: one parser for the YAML loader and every
 * command-line flag.  Plain decimal digits only (no spaces, no base
 * prefixes, no sign unless the function says so), checked against the
 * caller's bounds without overflow; a size takes one K, M or G suffix
 * (powers of 1024, either case), a duration one s, m, h, d or w suffix
 * (seconds).  Each returns UNITS_OK, or why not (the caller words the
 * message: a YAML key with its position, a flag with its name); *out is
 * written only on success.
 */
#ifndef PICOFLOW_UNITS_H
#define PICOFLOW_UNITS_H

#include <stdint.h>

enum units_rc {
	UNITS_OK = 0,
	UNITS_EMPTY = -1,	/* "" */
	UNITS_SYNTAX = -2,	/* not digits (with the suffix allowed) */
	UNITS_RANGE = -3,	/* a number, outside min..max */
};

/* Digits: 0..INT64_MAX, within min..max. */
int	 units_count(const char *, int64_t min, int64_t max, int64_t *);
/* An optional + or -, then digits: within min..max. */
int	 units_int(const char *, int64_t min, int64_t max, int64_t *);
/* Bytes: digits with an optional K, M or G (1024-based) suffix. */
int	 units_size(const char *, int64_t min, int64_t max, int64_t *);
/* Seconds: digits with an optional s, m, h, d or w suffix. */
int	 units_duration(const char *, int64_t min, int64_t max, int64_t *);

#endif
