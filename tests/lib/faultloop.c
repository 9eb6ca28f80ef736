/*
 * The allocation-failure loop (faultloop.h).
 */
#include <string.h>

#include "picoflow/alloc.h"
#include "faultloop.h"

void
faultloop_init(struct faultloop *fl, enum faultloop_mode mode)
{
	memset(fl, 0, sizeof(*fl));
	fl->mode = mode;
	fl->max = 100000;
	fl->n = -1;
}

int
faultloop_met(struct faultloop *fl)
{
	if (fl->armed) {
		fl->met = pf_alloc_failed();
		pf_alloc_fail_after(-1);
		fl->armed = 0;
	}
	return fl->met;
}

int
faultloop_next(struct faultloop *fl)
{
	long	 step = 1;

	if (fl->rounds > 0 && !faultloop_met(fl))
		return 0;
	if (fl->sparse_from > 0 && fl->n >= fl->sparse_from)
		step = fl->n / 8;
	fl->n += step;
	if (fl->n > fl->max) {
		fl->exhausted = 1;
		return 0;
	}
	fl->met = 0;
	fl->armed = 1;
	fl->rounds++;
	if (fl->mode == FAULT_ONCE)
		pf_alloc_fail_once(fl->n);
	else
		pf_alloc_fail_after(fl->n);
	return 1;
}

void
faultloop_set_met(struct faultloop *fl, int met)
{
	pf_alloc_fail_after(-1);
	fl->armed = 0;
	fl->met = met;
}

const char *
faultloop_mode_name(enum faultloop_mode mode)
{
	return mode == FAULT_ONCE ? "fail-once" : "fail-from-N";
}
