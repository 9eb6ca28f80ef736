#include <criterion/criterion.h>
#include <string.h>

#include "picoflow/alloc.h"
#include "picoflow/err.h"

Test(diags, format_with_and_without_position)
{
	struct pf_diags	 d;
	char		 line[256];

	pf_diags_init(&d);
	pf_diags_add(&d, PF_SEV_ERROR, "wf.yaml", 3, 7, "bad %s", "thing");
	pf_diags_add(&d, PF_SEV_WARNING, "wf.yaml", 4, 0, "hmm");
	pf_diags_add(&d, PF_SEV_ERROR, "wf.yaml", 0, 0, "whole file");
	cr_assert_eq(d.n, 3);
	cr_assert_eq(d.nerrors, 2);
	cr_assert_eq(d.nwarnings, 1);
	pf_diag_format(&d.v[0], line, sizeof(line));
	cr_assert_str_eq(line, "wf.yaml:3:7: error: bad thing");
	pf_diag_format(&d.v[1], line, sizeof(line));
	cr_assert_str_eq(line, "wf.yaml:4: warning: hmm");
	pf_diag_format(&d.v[2], line, sizeof(line));
	cr_assert_str_eq(line, "wf.yaml: error: whole file");
	pf_diags_free(&d);
}

Test(diags, cap_counts_what_it_drops)
{
	struct pf_diags	 d;
	int		 i;

	pf_diags_init(&d);
	d.max = 5;
	for (i = 0; i < 12; i++)
		pf_diags_add(&d, PF_SEV_ERROR, "f", 1, 1, "e%d", i);
	cr_assert_eq(d.n, 5);
	cr_assert_eq(d.dropped, 7);
	cr_assert_eq(d.nerrors, 12, "the count includes dropped entries");
	pf_diags_free(&d);
	cr_assert_eq(d.n, 0);
	cr_assert_eq(d.nerrors, 0, "a freed set is reset for reuse");
	cr_assert_eq(d.dropped, 0);
	cr_assert_eq(d.max, 5, "the cap survives a reset");
}

Test(diags, allocation_failure_is_flagged_not_fatal)
{
	struct pf_diags	 d;

	pf_diags_init(&d);
	pf_alloc_fail_after(0);
	pf_diags_add(&d, PF_SEV_ERROR, "f", 1, 1, "lost");
	pf_alloc_fail_after(-1);
	cr_assert(d.oom);
	cr_assert_eq(d.n, 0);
	cr_assert_eq(d.nerrors, 1);
	pf_diags_free(&d);
}

Test(err, set_truncates_safely)
{
	struct pf_err	 e;
	char		 big[4 * PF_ERR_MAX];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	pf_err_set(&e, "%s", big);
	cr_assert_eq(strlen(e.msg), PF_ERR_MAX - 1);
	pf_err_set(NULL, "ignored");
	pf_err_clear(&e);
	cr_assert_str_eq(e.msg, "");
}
