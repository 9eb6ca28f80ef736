/*
 * The limits an attempt runs with, in one place and without the engine:
 * the built-in defaults (engine_defaults.h) as a model's limits, and the
 * one rule that resolves an attempt's limits.  The engine resolves them
 * once per attempt (engine_dispatch) and hands the result to its cgroup,
 * its SPEC and its output cap; picoflow validate and run, and
 * pf-supervisor, take their defaults from here.
 */
#ifndef PICOFLOW_LIMIT_H
#define PICOFLOW_LIMIT_H

#include "picoflow/workflow.h"

/*
 * The built-in defaults: memory, swap, cpu, pids and output from
 * engine_defaults.h; nofile -1 (the worker's inherited limit).
 */
void	 limit_default(struct pf_limits *);
/*
 * Each limit of *out is the task's if set (>= 0), else the workflow's
 * (config.limits; the loader already copies them into each task), else
 * the runner's default (-1 = none).
 */
void	 limit_resolve(const struct pf_limits *task,
	    const struct pf_limits *wf, const struct pf_limits *dflt,
	    struct pf_limits *out);

#endif
