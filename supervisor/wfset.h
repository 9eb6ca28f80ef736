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
};

struct wfset {
	struct wfset_entry	*v;
	size_t			 n;
	size_t			 nbroken;
};

/*
 * Loads config (a directory or one file).  Returns -1 only when config
 * itself cannot be read; broken workflow files are entries with wf NULL.
 */
int	 wfset_load(const char *config, const struct wf_load_opts *,
	    struct wfset *, struct pf_err *);
void	 wfset_free(struct wfset *);
/* Takes entry i's workflow (the set no longer frees it). */
struct pf_workflow *wfset_take(struct wfset *, size_t i);

#endif
