/*
 * The supervisor's configuration: every *.yaml / *.yml file of a
 * directory (or one file), each loaded and validated on its own so that a
 * broken file is reported and skipped while the others run.  Files are
 * taken in name order; hidden files and anything that is not a regular
 * file are ignored; a second file using a workflow name already taken
 * is refused.
 */
#ifndef PICOFLOW_WFSET_H
#define PICOFLOW_WFSET_H

#include <stddef.h>

#include "picoflow/err.h"
#include "picoflow/workflow.h"

#define WFSET_FILES_MAX		4096

struct wfset_entry {
	char			*path;
	struct pf_workflow	*wf;	/* NULL when the file is broken */
	char			*error;	/* every error, one per line; or NULL */
	char			*warnings; /* likewise */
	int			 policy_refused; /* loads without the policy */
};

struct wfset {
	struct wfset_entry	*v;
	size_t			 n;
	size_t			 nbroken;
};

/*
 * The files of config (a directory: its *.yaml / *.yml regular files,
 * hidden ones skipped, in name order; or config itself), as paths.
 * Free with wfset_files_free.
 */
int	 wfset_files(const char *config, char ***names, size_t *n,
	    struct pf_err *);
void	 wfset_files_free(char **names, size_t n);
/*
 * Adds one file's outcome (taking wf, error and warnings), refusing a
 * workflow whose name an earlier entry holds.  -1: out of memory (what
 * was passed is freed).
 */
int	 wfset_add(struct wfset *, const char *path, struct pf_workflow *wf,
	    char *error, char *warnings, int policy_refused);

void	 wfset_free(struct wfset *);
/* Takes entry i's workflow (the set no longer frees it). */
struct pf_workflow *wfset_take(struct wfset *, size_t i);

#endif
