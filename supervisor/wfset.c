#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "picoflow/alloc.h"
#include "picoflow/buf.h"
#include "picoflow/policy.h"
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

/* Every diagnostic of one severity, one per line; NULL when none. */
static char *
diag_text(const struct pf_diags *d, enum pf_severity sev)
{
	struct pf_buf	 b;
	char		 line[PF_ERR_MAX + 256];
	size_t		 i;
	char		*s;

	buf_init(&b, 0);
	for (i = 0; i < d->n; i++) {
		if (d->v[i].sev != sev)
			continue;
		pf_diag_format(&d->v[i], line, sizeof(line));
		buf_printf(&b, "%s%s", b.len ? "\n" : "", line);
	}
	if (sev == PF_SEV_ERROR && d->dropped > 0)
		buf_printf(&b, "\n(%zu more)", d->dropped);
	if (b.len == 0 || b.failed) {
		buf_free(&b);
		return NULL;
	}
	s = pf_strndup((const char *)b.data, b.len);
	buf_free(&b);
	return s;
}

static int
add_entry(struct wfset *set, const char *path, const struct wf_load_opts *lo)
{
	struct wfset_entry	*e, *v;
	struct pf_diags		 d;
	size_t			 i;

	if ((v = pf_reallocarray(set->v, set->n + 1, sizeof(*v))) == NULL)
		return -1;
	set->v = v;
	e = &v[set->n];
	memset(e, 0, sizeof(*e));
	if ((e->path = pf_strdup(path)) == NULL)
		return -1;
	set->n++;
	pf_diags_init(&d);
	e->wf = workflow_load_file(path, lo, &d);
	e->error = diag_text(&d, PF_SEV_ERROR);
	e->warnings = diag_text(&d, PF_SEV_WARNING);
	pf_diags_free(&d);
	if (e->wf == NULL && e->error == NULL)
		e->error = pf_strdup("cannot load (out of memory)");
	if (e->wf == NULL && lo != NULL && lo->policy != NULL) {
		/* Refused by the policy alone?  (A reload must not keep it.) */
		struct wf_load_opts	 free_lo = *lo;
		struct pf_workflow	*wf;

		free_lo.policy = NULL;
		wf = workflow_load_file(path, &free_lo, NULL);
		e->policy_refused = wf != NULL;
		workflow_free(wf);
	}
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
}

int
wfset_load(const char *config, const struct wf_load_opts *lo,
    struct wfset *set, struct pf_err *err)
{
	struct stat	 sb;
	struct dirent	*de;
	DIR		*dir;
	char		**names = NULL, *p;
	size_t		 nnames = 0, i, plen;
	int		 rc = -1;

	memset(set, 0, sizeof(*set));
	if (stat(config, &sb) == -1) {
		pf_err_set(err, "%s: %s", config, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(sb.st_mode)) {
		if (add_entry(set, config, lo) == -1) {
			pf_err_set(err, "out of memory");
			wfset_free(set);
			return -1;
		}
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
	for (i = 0; i < nnames; i++)
		if (add_entry(set, names[i], lo) == -1)
			goto oom;
	rc = 0;
	goto out;
oom:
	pf_err_set(err, "out of memory");
out:
	closedir(dir);
	for (i = 0; i < nnames; i++)
		pf_free(names[i]);
	pf_free(names);
	if (rc == -1)
		wfset_free(set);
	return rc;
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

int
wfset_policy_load(const char *path, struct pf_policy **out, char **text)
{
	struct pf_diags	 d;

	*text = NULL;
	pf_diags_init(&d);
	*out = policy_load_file(path, &d);
	if (*out == NULL) {
		*text = diag_text(&d, PF_SEV_ERROR);
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
