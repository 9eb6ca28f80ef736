/*
 * The set of workflow files a runner loads: listing the directory and
 * keeping one workflow per name.  Nothing here parses YAML (pf-supervisor
 * links this and not libyaml); in-process loading is cli/wfset_load.c.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "picoflow/alloc.h"
#include "picoflow/buf.h"
#include "wfset.h"

static int
has_yaml_suffix(const char *name)
{
	size_t	 n = strlen(name);

	return (n > 5 && strcmp(name + n - 5, ".yaml") == 0) ||
	    (n > 4 && strcmp(name + n - 4, ".yml") == 0);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
wfset_files(const char *config, char ***out, size_t *nout, struct pf_err *err)
{
	struct stat	 sb;
	struct dirent	*de;
	DIR		*dir;
	char		**names = NULL, *p;
	size_t		 nnames = 0, plen;
	int		 rc = -1;

	*out = NULL;
	*nout = 0;
	if (stat(config, &sb) == -1) {
		pf_err_set(err, "%s: %s", config, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(sb.st_mode)) {
		if ((names = pf_calloc(1, sizeof(*names))) == NULL ||
		    (names[0] = pf_strdup(config)) == NULL) {
			pf_free(names);
			pf_err_set(err, "out of memory");
			return -1;
		}
		*out = names;
		*nout = 1;
		return 0;
	}
	if ((dir = opendir(config)) == NULL) {
		pf_err_set(err, "%s: %s", config, strerror(errno));
		return -1;
	}
	while ((errno = 0, de = readdir(dir)) != NULL) {
		char	**nv;

		if (de->d_name[0] == '.' || !has_yaml_suffix(de->d_name))
			continue;
		if (nnames >= WFSET_FILES_MAX) {
			pf_err_set(err, "%s: more than %d workflow files",
			    config, WFSET_FILES_MAX);
			goto out;
		}
		plen = strlen(config) + strlen(de->d_name) + 2;
		if ((p = pf_malloc(plen)) == NULL)
			goto oom;
		snprintf(p, plen, "%s/%s", config, de->d_name);
		if (stat(p, &sb) == -1 || !S_ISREG(sb.st_mode)) {
			pf_free(p);
			continue;
		}
		if ((nv = pf_reallocarray(names, nnames + 1,
		    sizeof(*nv))) == NULL) {
			pf_free(p);
			goto oom;
		}
		names = nv;
		names[nnames++] = p;
	}
	if (errno != 0) {
		pf_err_set(err, "%s: %s", config, strerror(errno));
		goto out;
	}
	if (nnames > 0)
		qsort(names, nnames, sizeof(*names), cmp_str);
	*out = names;
	*nout = nnames;
	names = NULL;
	nnames = 0;
	rc = 0;
	goto out;
oom:
	pf_err_set(err, "out of memory");
out:
	closedir(dir);
	wfset_files_free(names, nnames);
	return rc;
}

void
wfset_files_free(char **names, size_t n)
{
	pf_strv_free(names, n);
}

int
wfset_add(struct wfset *set, const char *path, struct pf_workflow *wf,
    char *error, char *warnings, int policy_refused)
{
	struct wfset_entry	*e, *v;
	size_t			 i;

	if ((v = pf_reallocarray(set->v, set->n + 1, sizeof(*v))) == NULL)
		goto oom;
	set->v = v;
	e = &v[set->n];
	memset(e, 0, sizeof(*e));
	if ((e->path = pf_strdup(path)) == NULL)
		goto oom;
	set->n++;
	e->wf = wf;
	e->error = error;
	e->warnings = warnings;
	e->policy_refused = policy_refused;
	if (e->wf == NULL && e->error == NULL)
		e->error = pf_strdup("cannot load (out of memory)");
	if (e->wf != NULL) {
		/* One name, one workflow: the first file keeps it. */
		for (i = 0; i + 1 < set->n; i++) {
			if (set->v[i].wf == NULL ||
			    strcmp(set->v[i].wf->name, e->wf->name) != 0)
				continue;
			{
				char	 msg[PF_ERR_MAX];

				snprintf(msg, sizeof(msg), "%s: workflow name "
				    "'%s' is already used by %s", path,
				    e->wf->name, set->v[i].path);
				workflow_free(e->wf);
				e->wf = NULL;
				pf_free(e->error);
				e->error = pf_strdup(msg);
			}
			break;
		}
	}
	if (e->wf == NULL)
		set->nbroken++;
	return 0;
oom:
	workflow_free(wf);
	pf_free(error);
	pf_free(warnings);
	return -1;
}

void
wfset_free(struct wfset *set)
{
	size_t	 i;

	for (i = 0; i < set->n; i++) {
		pf_free(set->v[i].path);
		workflow_free(set->v[i].wf);
		pf_free(set->v[i].error);
		pf_free(set->v[i].warnings);
	}
	pf_free(set->v);
	memset(set, 0, sizeof(*set));
}

struct pf_workflow *
wfset_take(struct wfset *set, size_t i)
{
	struct pf_workflow	*wf = set->v[i].wf;

	set->v[i].wf = NULL;
	return wf;
}

