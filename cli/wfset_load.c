/*
 * Loading a wfset in this process (picoflow validate and run, which run
 * as the invoking user).  pf-supervisor loads through pf-loader instead
 * (loader.c).
 */
#include <string.h>
#include <unistd.h>

#include "picoflow/alloc.h"
#include "picoflow/policy.h"
#include "wfset_load.h"

static int
add_entry(struct wfset *set, const char *path, const struct wf_load_opts *lo)
{
	struct pf_workflow	*wf;
	struct pf_diags		 d;
	char			*error, *warnings;
	int			 refused = 0;

	pf_diags_init(&d);
	wf = workflow_load_file(path, lo, &d);
	error = pf_diags_text(&d, PF_SEV_ERROR);
	warnings = pf_diags_text(&d, PF_SEV_WARNING);
	pf_diags_free(&d);
	if (wf == NULL && lo != NULL && lo->policy != NULL) {
		/* Refused by the policy alone?  (A reload must not keep it.) */
		struct wf_load_opts	 free_lo = *lo;
		struct pf_workflow	*w2;

		free_lo.policy = NULL;
		w2 = workflow_load_file(path, &free_lo, NULL);
		refused = w2 != NULL;
		workflow_free(w2);
	}
	return wfset_add(set, path, wf, error, warnings, refused);
}

int
wfset_load(const char *config, const struct wf_load_opts *lo,
    struct wfset *set, struct pf_err *err)
{
	char	**names;
	size_t	 nnames, i;

	memset(set, 0, sizeof(*set));
	if (wfset_files(config, &names, &nnames, err) == -1)
		return -1;
	for (i = 0; i < nnames; i++)
		if (add_entry(set, names[i], lo) == -1) {
			pf_err_set(err, "out of memory");
			wfset_files_free(names, nnames);
			wfset_free(set);
			return -1;
		}
	wfset_files_free(names, nnames);
	return 0;
}

int
wfset_policy_load(const char *path, struct pf_policy **out, char **text)
{
	struct pf_diags	 d;

	*text = NULL;
	pf_diags_init(&d);
	*out = policy_load_file(path, &d);
	if (*out == NULL) {
		*text = pf_diags_text(&d, PF_SEV_ERROR);
		if (*text == NULL)
			*text = pf_strdup("cannot load the policy (out of "
			    "memory)");
	}
	pf_diags_free(&d);
	return *out != NULL ? 0 : -1;
}

void
wfset_load_opts(struct wf_load_opts *lo, const struct pf_policy *pol,
    const char *cli_run_as, int root_nobody, const struct pf_limits *defaults)
{
	lo->policy = pol;
	lo->run_as = policy_default_user(pol, cli_run_as, root_nobody &&
	    geteuid() == 0);
	lo->defaults = defaults;
}
