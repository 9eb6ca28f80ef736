/*
 * Loading a wfset in this process (cli/wfset_load.c): picoflow validate
 * and run, which run as the invoking user.  pf-supervisor loads through
 * pf-loader instead (supervisor/loadjob.c).
 */
#ifndef PICOFLOW_WFSET_LOAD_H
#define PICOFLOW_WFSET_LOAD_H

#include "picoflow/err.h"
#include "picoflow/workflow.h"
#include "wfset.h"

/*
 * Loads config (a directory or one file) in this process (wfset_load.c:
 * picoflow validate/run; pf-supervisor uses pf-loader).  Returns -1 only when config
 * itself cannot be read; broken workflow files are entries with wf NULL.
 */
int	 wfset_load(const char *config, const struct wf_load_opts *,
	    struct wfset *, struct pf_err *);

struct pf_policy;

/*
 * Loads the policy file at path into *out.  -1 when it has any error:
 * *text (pf_free it) then holds every message, one per line.
 */
int	 wfset_policy_load(const char *path, struct pf_policy **out,
	    char **text);
/*
 * The loader options of a runner: the policy (may be NULL), the user
 * tasks without run_as run as (policy_default_user: cli_run_as, the
 * policy's default_run_as, nobody when root if `root_nobody`) and the
 * runner's default limits the policy lowers to its ceilings.
 */
void	 wfset_load_opts(struct wf_load_opts *, const struct pf_policy *,
	    const char *cli_run_as, int root_nobody,
	    const struct pf_limits *defaults);

#endif
