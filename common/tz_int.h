/*
 * The time zones' private header, shared by common/tz*.c and by nothing
 * else (callers use tz.h): a zone's tables and rule, and the steps the
 * files share.
 *
 * A zone is a table of transitions (instant -> local time type) plus an
 * optional POSIX-TZ rule from the file's footer that extends the table past
 * its last transition.
 *
 * The files:
 *  - tz.c       calendar arithmetic and lookups: the offset at an
 *               instant, the next and previous change, local time;
 *  - tz_load.c  a TZif file read and checked (RFC 8536);
 *  - tz_rule.c  POSIX-TZ rules: parsed, and their changes in a year.
 */
#ifndef PICOFLOW_TZ_INT_H
#define PICOFLOW_TZ_INT_H

#include <stddef.h>
#include <stdint.h>

#include "picoflow/tz.h"

#define TZ_DEFAULT_DIR	"/usr/share/zoneinfo"
#define TZIF_HDR_LEN	44
/* RFC 8536 bounds for a UT offset: -25:59:59 .. +25:59:59. */
#define TZ_OFF_MIN	(-93599)
#define TZ_OFF_MAX	93599
/* POSIX-TZ rule times may be -167..167 hours (RFC 8536 section 3.3.1). */
#define TZ_RULE_TIME_MAX (167 * 3600)
/* tz_localtime clamps so that tm_year fits an int. */
#define TZ_T_LIMIT	((int64_t)1 << 55)

enum tz_datekind {
	TZ_DATE_JULIAN1,	/* Jn: 1..365, February 29 never counted */
	TZ_DATE_JULIAN0,	/* n: 0..365, February 29 counted */
	TZ_DATE_MWD,		/* Mm.w.d */
};

struct tz_date {
	enum tz_datekind kind;
	int		 n;		/* JULIAN1 / JULIAN0 */
	int		 mon, week, wday;	/* MWD */
	int32_t		 time;		/* seconds after local midnight */
};

struct tz_rule {
	int32_t		 std_off;	/* seconds east of UTC */
	int32_t		 dst_off;
	int		 has_dst;
	struct tz_date	 start;		/* standard -> daylight time */
	struct tz_date	 end;		/* daylight -> standard time */
	char		 std_abbr[16];
	char		 dst_abbr[16];
};

struct tz_type {
	int32_t		 off;
	int		 isdst;
	uint32_t	 abbr;		/* index into chars */
};

struct pf_tz {
	char		*name;
	int64_t		*trans;		/* ascending */
	uint8_t		*trans_type;	/* index into types */
	size_t		 ntrans;
	struct tz_type	*types;
	size_t		 ntypes;
	char		*chars;		/* NUL-terminated designations */
	size_t		 nchars;
	int		 has_rule;
	struct tz_rule	 rule;
};

/* One rule event: at `at` the offset becomes `off`. */
struct tz_event {
	int64_t		 at;
	int32_t		 off;
	int		 isdst;
};

/* tz_rule.c */
int	 tz_parse_rule(const char *str, size_t len, struct tz_rule *r);
void	 tz_rule_at(const struct tz_rule *r, int64_t t, int32_t *off,
    int *isdst);
int64_t	 tz_rule_next(const struct tz_rule *r, int64_t t);
int64_t	 tz_rule_prev(const struct tz_rule *r, int64_t t);

#endif
