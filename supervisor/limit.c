/*
 * Default limits and their resolution for one attempt; see limit.h.
 */
#include "engine_defaults.h"
#include "limit.h"

void
limit_default(struct pf_limits *l)
{
	l->memory = ENGINE_DEFAULT_MEMORY;
	l->swap = ENGINE_DEFAULT_SWAP;
	l->cpu_milli = ENGINE_DEFAULT_CPU_MILLI;
	l->pids = ENGINE_DEFAULT_PIDS;
	l->nofile = -1;
	l->output = ENGINE_DEFAULT_OUTPUT_CAP;
}

static int64_t
pick(int64_t task, int64_t wf, int64_t dflt)
{
	return task >= 0 ? task : wf >= 0 ? wf : dflt;
}

void
limit_resolve(const struct pf_limits *task, const struct pf_limits *wf,
    const struct pf_limits *dflt, struct pf_limits *out)
{
	out->memory = pick(task->memory, wf->memory, dflt->memory);
	out->swap = pick(task->swap, wf->swap, dflt->swap);
	out->cpu_milli = pick(task->cpu_milli, wf->cpu_milli, dflt->cpu_milli);
	out->pids = pick(task->pids, wf->pids, dflt->pids);
	out->nofile = pick(task->nofile, wf->nofile, dflt->nofile);
	out->output = pick(task->output, wf->output, dflt->output);
}
