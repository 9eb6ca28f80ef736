/*
 * Time zones from the system's TZif database (RFC 8536), for cron schedules
 * in local wall time.  A zone file is hostile input: it is size-capped,
 * every count is bounds-checked and nothing is read past its end.  Instants
 * after the last transition follow the file's POSIX-TZ footer rule.
 */
#ifndef PICOFLOW_TZ_H
#define PICOFLOW_TZ_H

#include <stdint.h>
#include <time.h>

#include "picoflow/err.h"

#define TZ_NAME_MAX	255		/* bytes of an IANA name */
#define TZ_FILE_MAX	(1024 * 1024)	/* bytes of a TZif file */

struct pf_tz;					/* opaque */

/*
 * name: "UTC" or an IANA Area/City name.  Reads TZif (v1/v2/v3+) from
 * $TZDIR or /usr/share/zoneinfo.  Rejects names with "..", a leading '/',
 * or characters outside [A-Za-z0-9/_+-].
 */
int		 tz_load(const char *name, struct pf_tz **out, struct pf_err *err);
void		 tz_free(struct pf_tz *);
/* The name given to tz_load ("UTC" for NULL). */
const char	*tz_name(const struct pf_tz *);
/* UTC offset in seconds east of UTC in effect at unix time t (NULL = UTC). */
int32_t		 tz_offset_at(const struct pf_tz *, int64_t t);
/*
 * Local broken-down time of t (tm_gmtoff, tm_isdst and tm_zone filled in;
 * tm_zone points into the zone and lives as long as it does).
 */
void		 tz_localtime(const struct pf_tz *, int64_t t, struct tm *out);

/*
 * The stretch of time around t during which the UTC offset stays the same:
 * [start, end) with offset `off`; `prev_off` is the offset in effect just
 * before `start` (equal to `off` when start is unbounded).  start is
 * INT64_MIN and end INT64_MAX when unbounded.  The cron module walks these
 * spans to apply its DST rule.
 */
struct tz_span {
	int64_t		 start;
	int64_t		 end;
	int32_t		 off;
	int32_t		 prev_off;
};
void		 tz_span_at(const struct pf_tz *, int64_t t, struct tz_span *out);

/* Proleptic Gregorian calendar helpers shared with the cron module. */
int64_t		 tz_days_from_civil(int64_t y, int m, int d);
void		 tz_civil_from_days(int64_t days, int64_t *y, int *m, int *d);
int		 tz_leap(int64_t y);
int		 tz_mdays(int64_t y, int m);		/* m: 1..12 */
int		 tz_wday(int64_t days);			/* 0 = Sunday */
int64_t		 tz_floordiv(int64_t a, int64_t b);	/* rounds down */

#endif
