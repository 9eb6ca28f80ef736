/* Cron expressions (work in progress: parser and next-fire land next). */
#include <string.h>

#include "picoflow/cron.h"

int
cron_parse(const char *expr, struct cron_expr *out, size_t *err_off,
    struct pf_err *err)
{
	(void)expr;
	memset(out, 0, sizeof(*out));
	if (err_off != NULL)
		*err_off = 0;
	pf_err_set(err, "cron expressions are not implemented yet");
	return -1;
}

int
cron_next(const struct cron_expr *ce, const struct pf_tz *tz, int64_t after,
    int64_t *next, struct pf_err *err)
{
	(void)ce; (void)tz; (void)after; (void)next;
	pf_err_set(err, "cron expressions are not implemented yet");
	return -1;
}

int
cron_dom_dow_both_restricted(const struct cron_expr *ce)
{
	return !(ce->flags & (CRON_F_DOM_STAR | CRON_F_DOW_STAR));
}

int
cron_is_start(const struct cron_expr *ce)
{
	return (ce->flags & CRON_F_START) != 0;
}
