/*
 * Cron expressions: parsing and next-fire computation in a time zone.
 * See docs/cron.md for the syntax and the DST rule (cronie's).
 */
#ifndef PICOFLOW_CRON_H
#define PICOFLOW_CRON_H

#include <stddef.h>
#include <stdint.h>

#include "picoflow/err.h"
#include "picoflow/tz.h"

#define CRON_EXPR_MAX	1024		/* bytes of an expression */
#define CRON_YEAR_MIN	1970
#define CRON_YEAR_MAX	2199
#define CRON_YEAR_WORDS	4		/* 64-bit words for 230 years */

/* flags */
#define CRON_F_START	0x0001	/* "@start": runs at supervisor start only */
#define CRON_F_SECONDS	0x0002	/* 6/7-field form: a seconds field was given */
#define CRON_F_YEAR	0x0004	/* 7-field form with a restricted year field */
#define CRON_F_DOM_STAR	0x0008	/* day-of-month is "*" or "?" */
#define CRON_F_DOW_STAR	0x0010	/* day-of-week is "*" or "?" */
#define CRON_F_DOM_Q	0x0020	/* day-of-month is "?" */
#define CRON_F_DOW_Q	0x0040	/* day-of-week is "?" */
#define CRON_F_DOM_L	0x0080	/* day-of-month "L": last day of the month */
#define CRON_F_DOM_LW	0x0100	/* day-of-month "LW": last weekday of the month */
#define CRON_F_MIN_STAR	0x0200	/* minute field starts with '*' (DST rule) */
#define CRON_F_HOUR_STAR 0x0400	/* hour field starts with '*' (DST rule) */
#define CRON_F_MACRO	0x0800	/* written as an @macro */

struct cron_expr {
	uint64_t	 sec;		/* bit s set: second s (0-59) */
	uint64_t	 min;		/* bit m: minute m (0-59) */
	uint32_t	 hour;		/* bit h: hour h (0-23) */
	uint32_t	 dom;		/* bit d: day of month d (1-31) */
	uint32_t	 dom_w;		/* bit d: "dW", weekday nearest day d */
	uint16_t	 month;		/* bit m: month m (1-12) */
	uint8_t		 dow;		/* bit d: weekday d (0-6, 0 = Sunday) */
	uint8_t		 dow_last;	/* bit d: "dL", last weekday d of month */
	uint8_t		 dow_nth[7];	/* dow_nth[d] bit k: "d#k", k-th (1-5) */
	uint64_t	 year[CRON_YEAR_WORDS]; /* bit y-1970 (CRON_F_YEAR only) */
	unsigned	 flags;
	int		 nfields;	/* 5, 6 or 7; 0 for a macro */
};

/*
 * Parses a cron expression: 5 fields (min hour dom month dow), 6 fields
 * (sec min hour dom month dow), 7 fields (6 + year), or @yearly @annually
 * @monthly @weekly @daily @hourly @start.  On error returns -1, fills err
 * with a message naming the field and sets *err_off (if not NULL) to the
 * 0-based byte offset of the bad field or token inside expr.
 */
int	 cron_parse(const char *expr, struct cron_expr *out, size_t *err_off,
	    struct pf_err *err);
/*
 * Next fire time strictly after `after` (unix seconds) in zone tz (NULL =
 * UTC).  Returns 0 and sets *next, or -1 when there is none (an impossible
 * date, years all in the past, @start) with err explaining.  Bounded: one
 * full 400-year Gregorian cycle is searched at most.
 */
int	 cron_next(const struct cron_expr *, const struct pf_tz *tz,
	    int64_t after, int64_t *next, struct pf_err *err);
/* 1 when both day-of-month and day-of-week are restricted (OR rule). */
int	 cron_dom_dow_both_restricted(const struct cron_expr *);
/* 1 for "@start". */
int	 cron_is_start(const struct cron_expr *);

#endif
