/*
 * status: every status has one name, the name parses back to it, and
 * nothing else parses; invariant: a broken PF_NEVER/PF_ALWAYS aborts a
 * checking build.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "picoflow/invariant.h"
#include "picoflow/status.h"

Test(status, names_parse_back)
{
	enum pf_status	 s, got;

	for (s = PF_STATUS_NONE + 1; s < PF_STATUS__COUNT; s++) {
		cr_assert(pf_status_valid(s));
		cr_assert_neq(strcmp(pf_status_name(s), "unknown"), 0);
		cr_assert_eq(pf_status_parse(pf_status_name(s), &got), 0,
		    "%s", pf_status_name(s));
		cr_assert_eq(got, s);
	}
}

Test(status, names_are_the_stored_words)
{
	/* The database's text values: these never change. */
	cr_assert_str_eq(pf_status_name(PF_STATUS_RUNNING), "running");
	cr_assert_str_eq(pf_status_name(PF_STATUS_SUCCESS), "success");
	cr_assert_str_eq(pf_status_name(PF_STATUS_FAILED), "failed");
	cr_assert_str_eq(pf_status_name(PF_STATUS_TIMEOUT), "timeout");
	cr_assert_str_eq(pf_status_name(PF_STATUS_SKIPPED), "skipped");
	cr_assert_str_eq(pf_status_name(PF_STATUS_CANCELLED), "cancelled");
}

Test(status, unknown_text_and_values_are_refused)
{
	static const char *const bad[] = {
		"", "unknown", "Success", "SUCCESS", "success ", " failed",
		"retrying", "pending", "succes", "successful", "none",
	};
	enum pf_status	 got = PF_STATUS_RUNNING;
	size_t		 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(pf_status_parse(bad[i], &got), -1, "'%s'",
		    bad[i]);
	cr_assert_eq(pf_status_parse(NULL, &got), -1);
	cr_assert_eq(got, PF_STATUS_RUNNING, "untouched on failure");
	cr_assert_not(pf_status_valid(PF_STATUS_NONE));
	cr_assert_not(pf_status_valid(PF_STATUS__COUNT));
	cr_assert_not(pf_status_valid((enum pf_status)-1));
	cr_assert_str_eq(pf_status_name(PF_STATUS_NONE), "unknown");
	cr_assert_str_eq(pf_status_name(PF_STATUS__COUNT), "unknown");
}

Test(invariant, holding_ones_pass_through)
{
	int	 zero = 0, one = 1;

	cr_assert_eq(PF_NEVER(zero), 0);
	cr_assert_eq(PF_ALWAYS(one), 1);
}

#ifndef NDEBUG
Test(invariant, never_aborts_when_it_happens, .signal = SIGABRT)
{
	volatile int	 one = 1;

	/* Quiet: the line it logs is expected. */
	cr_assert_not_null(freopen("/dev/null", "w", stderr));
	(void)PF_NEVER(one);
}

Test(invariant, always_aborts_when_it_does_not_hold, .signal = SIGABRT)
{
	volatile int	 zero = 0;

	/* Quiet: the line it logs is expected. */
	cr_assert_not_null(freopen("/dev/null", "w", stderr));
	(void)PF_ALWAYS(zero);
}
#endif
