/*
 * limit: the built-in defaults, and an attempt's limits resolved as the
 * task's, else its workflow's, else the runner's defaults.
 */
#include <criterion/criterion.h>

#include "engine_defaults.h"
#include "limit.h"

static const struct pf_limits unset = { -1, -1, -1, -1, -1, -1 };

Test(limit, defaults_are_the_engines)
{
	struct pf_limits	 l;

	limit_default(&l);
	cr_assert_eq(l.memory, ENGINE_DEFAULT_MEMORY);
	cr_assert_eq(l.swap, ENGINE_DEFAULT_SWAP);
	cr_assert_eq(l.cpu_milli, ENGINE_DEFAULT_CPU_MILLI);
	cr_assert_eq(l.pids, ENGINE_DEFAULT_PIDS);
	cr_assert_eq(l.nofile, -1, "the worker's inherited limit");
	cr_assert_eq(l.output, ENGINE_DEFAULT_OUTPUT_CAP);
}

Test(limit, task_then_workflow_then_default)
{
	struct pf_limits	 task = unset, wf = unset, d, out;

	limit_default(&d);
	limit_resolve(&task, &wf, &d, &out);
	cr_assert_eq(out.memory, d.memory);
	cr_assert_eq(out.output, d.output);
	cr_assert_eq(out.cpu_milli, -1, "no default: none");

	wf.output = 4096;
	wf.memory = 1 << 20;
	limit_resolve(&task, &wf, &d, &out);
	cr_assert_eq(out.output, 4096);
	cr_assert_eq(out.memory, 1 << 20);

	task.output = 0;	/* 0 is a limit, not "unset" */
	task.pids = 7;
	task.nofile = 64;
	limit_resolve(&task, &wf, &d, &out);
	cr_assert_eq(out.output, 0);
	cr_assert_eq(out.pids, 7);
	cr_assert_eq(out.nofile, 64);
	cr_assert_eq(out.memory, 1 << 20);
	cr_assert_eq(out.swap, d.swap);
}
