/*
 * The allocation-failure loop helper (tests/lib/faultloop.h) and the
 * alloc.h hook under it: fail-from-N and fail-once.
 */
#include <criterion/criterion.h>

#include <stdlib.h>

#include "picoflow/alloc.h"
#include "../lib/faultloop.h"

/* Five allocations; the mask of those that failed. */
static unsigned
five(void)
{
	unsigned	 mask = 0, i;
	void		*p;

	for (i = 0; i < 5; i++) {
		if ((p = pf_malloc(8)) == NULL)
			mask |= 1u << i;
		pf_free(p);
	}
	return mask;
}

Test(faultloop, fail_from_n)
{
	struct faultloop fl;
	unsigned	 seen = 0;

	for (faultloop_init(&fl, FAULT_FROM_N); faultloop_next(&fl); ) {
		unsigned mask = five();

		if (faultloop_met(&fl))
			cr_assert_eq(mask, 0x1fu & ~((1u << fl.n) - 1),
			    "n=%ld", fl.n);
		else
			cr_assert_eq(mask, 0);
		seen++;
	}
	cr_assert_eq(seen, 6);
	cr_assert_eq(fl.n, 5);
	cr_assert(!fl.exhausted);
	{
		void	*p = pf_malloc(1);

		cr_assert_not_null(p, "disarmed after the loop");
		pf_free(p);
	}
}

Test(faultloop, fail_once)
{
	struct faultloop fl;

	for (faultloop_init(&fl, FAULT_ONCE); faultloop_next(&fl); ) {
		unsigned mask = five();

		if (faultloop_met(&fl))
			cr_assert_eq(mask, 1u << fl.n, "n=%ld", fl.n);
		else
			cr_assert_eq(mask, 0);
	}
	cr_assert_eq(fl.n, 5);
	cr_assert_eq(fl.rounds, 6);
}

Test(faultloop, max_and_sparse_steps)
{
	struct faultloop fl;
	long		 last = -1, i;

	faultloop_init(&fl, FAULT_FROM_N);
	fl.max = 1000;
	fl.sparse_from = 64;
	while (faultloop_next(&fl)) {
		/* Always meets a failure: ends at max. */
		for (i = 0; i <= fl.n; i++)
			pf_free(pf_malloc(1));
		cr_assert(faultloop_met(&fl));
		cr_assert(fl.n > last);
		last = fl.n;
	}
	cr_assert(fl.exhausted);
	cr_assert_lt(fl.rounds, 64 + 30);
}
