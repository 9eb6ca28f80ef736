/* Time zones (work in progress: TZif reader lands next). */
#include <string.h>

#include "picoflow/tz.h"

int
tz_load(const char *name, struct pf_tz **out, struct pf_err *err)
{
	(void)name;
	*out = NULL;
	pf_err_set(err, "time zones are not implemented yet");
	return -1;
}

void
tz_free(struct pf_tz *tz)
{
	(void)tz;
}

const char *
tz_name(const struct pf_tz *tz)
{
	(void)tz;
	return "UTC";
}

int32_t
tz_offset_at(const struct pf_tz *tz, int64_t t)
{
	(void)tz; (void)t;
	return 0;
}

void
tz_localtime(const struct pf_tz *tz, int64_t t, struct tm *out)
{
	(void)tz;
	memset(out, 0, sizeof(*out));
	(void)t;
}

void
tz_span_at(const struct pf_tz *tz, int64_t t, struct tz_span *out)
{
	(void)tz; (void)t;
	out->start = INT64_MIN;
	out->end = INT64_MAX;
	out->off = out->prev_off = 0;
}

int64_t
tz_days_from_civil(int64_t y, int m, int d)
{
	(void)y; (void)m; (void)d;
	return 0;
}

void
tz_civil_from_days(int64_t days, int64_t *y, int *m, int *d)
{
	(void)days;
	*y = 1970; *m = 1; *d = 1;
}
