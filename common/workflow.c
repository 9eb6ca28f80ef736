/*
 * The workflow model's small helpers: freeing (safe on a model the
 * loader abandoned half-way), names and lookups.  Loading is in
 * workflow_load*.c, printing in workflow_print.c.
 */
#include <string.h>

#include "picoflow/alloc.h"
#include "picoflow/dag.h"
#include "picoflow/workflow.h"

static void
kvlist_free(struct pf_kvlist *l)
{
	size_t	 i;

	if (l->v == NULL)
		return;
	for (i = 0; i < l->n; i++) {
		pf_free(l->v[i].key);
		pf_free(l->v[i].value);
	}
	pf_free(l->v);
	l->v = NULL;
	l->n = 0;
}

static void
task_free(struct pf_task *t)
{
	pf_free(t->name);
	pf_strv_free(t->depends_on, t->ndepends_on);
	pf_free(t->dep_idx);
	pf_free(t->run_as);
	pf_strv_free(t->sandbox.read_only, t->sandbox.nread_only);
	pf_strv_free(t->sandbox.writable, t->sandbox.nwritable);
	switch (t->type) {
	case TASK_SHELL:
		pf_free(t->u.shell.command);
		pf_strv_free(t->u.shell.args, t->u.shell.nargs);
		pf_free(t->u.shell.workdir);
		kvlist_free(&t->u.shell.env);
		break;
	case TASK_SSH:
		pf_free(t->u.ssh.host);
		pf_free(t->u.ssh.user);
		pf_free(t->u.ssh.command);
		pf_free(t->u.ssh.key_path);
		break;
	case TASK_HTTP:
		pf_free(t->u.http.url);
		pf_free(t->u.http.method);
		kvlist_free(&t->u.http.headers);
		pf_free(t->u.http.body);
		pf_free(t->u.http.ca_file);
		pf_free(t->u.http.success_status);
		break;
	}
}

void
workflow_free(struct pf_workflow *wf)
{
	size_t	 i;

	if (wf == NULL)
		return;
	pf_free(wf->file);
	pf_free(wf->name);
	pf_free(wf->description);
	pf_free(wf->schedule);
	pf_free(wf->timezone);
	kvlist_free(&wf->env);
	pf_strv_free(wf->privileged_groups, wf->nprivileged_groups);
	pf_strv_free(wf->unprivileged_groups, wf->nunprivileged_groups);
	if (wf->tasks != NULL) {
		for (i = 0; i < wf->ntasks; i++)
			task_free(&wf->tasks[i]);
		pf_free(wf->tasks);
	}
	if (wf->dag != NULL) {
		dag_free(wf->dag);	/* and order, level: its arrays */
		pf_free(wf->dag);
	} else {
		pf_free(wf->order);
		pf_free(wf->level);
	}
	pf_free(wf);
}

int
workflow_set_dag(struct pf_workflow *wf, struct dag *d)
{
	struct dag	*g;

	if ((g = pf_malloc(sizeof(*g))) == NULL)
		return -1;
	*g = *d;
	memset(d, 0, sizeof(*d));
	wf->dag = g;
	wf->order = g->order;
	wf->level = g->level;
	return 0;
}

const char *
task_type_name(enum task_type t)
{
	switch (t) {
	case TASK_SHELL:
		return "shell";
	case TASK_SSH:
		return "ssh";
	case TASK_HTTP:
		return "http";
	}
	return "unknown";
}

long
workflow_task_index(const struct pf_workflow *wf, const char *name)
{
	size_t	 i;

	for (i = 0; i < wf->ntasks; i++)
		if (wf->tasks[i].name != NULL &&
		    strcmp(wf->tasks[i].name, name) == 0)
			return (long)i;
	return -1;
}

int
workflow_task_name_ok(const char *s, size_t len)
{
	size_t	 i;

	if (len == 0 || len > WF_TASK_NAME_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
		    s[i] == '-'))
			return 0;
	return 1;
}

int
workflow_user_part_ok(const char *s, size_t len)
{
	size_t	 i;

	if (len == 0 || len > 32 || s[0] == '-')
		return 0;
	for (i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
		    s[i] == '-' || s[i] == '.' ||
		    (s[i] == '$' && i == len - 1)))
			return 0;
	return 1;
}
