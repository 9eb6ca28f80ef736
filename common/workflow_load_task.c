/*
 * The workflow loader's tasks: each task's keys, the table of task names,
 * and the dependency pass that builds the graph and reports unknown names
 * (with the closest one) and cycles.
 */
#include <sys/stat.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <yaml.h>

#include "picoflow/alloc.h"
#include "picoflow/buf.h"
#include "picoflow/cron.h"
#include "picoflow/dag.h"
#include "picoflow/err.h"
#include "picoflow/policy.h"
#include "picoflow/tz.h"
#include "picoflow/workflow.h"
#include "ytree.h"

#include "workflow_load_int.h"

static const char *const task_keys[TK_N] = {
	"name", "type", "depends_on", "retry", "timeout",
	"continue_on_failure", "config", "limits", "run_as", "sandbox",
};
static const char *const task_types[] = { "shell", "ssh", "http" };

static size_t
names_find(const struct pf_workflow *wf, const struct names *nt,
    const char *name, size_t **where)
{
	size_t	 i = yt_hash_str(name) & (nt->cap - 1);

	while (nt->slot[i] != SIZE_MAX &&
	    strcmp(wf->tasks[nt->slot[i]].name, name) != 0)
		i = (i + 1) & (nt->cap - 1);
	if (where != NULL)
		*where = &nt->slot[i];
	return nt->slot[i];
}

const struct ynode *
wl_map_find(const struct ynode *map, const char *key)
{
	const struct ynode *k;

	for (k = map->child; k != NULL && k->next != NULL; k = k->next->next)
		if (yt_r(k)->kind == YN_SCALAR && strcmp(yt_r(k)->text, key) == 0)
			return k->next;
	return NULL;
}

static void
load_task(struct ld *ld, struct names *nt, size_t idx, const struct ynode *tn)
{
	struct ytree	*yt = &ld->y;
	struct pf_workflow *wf = ld->wf;
	struct pf_task	*t = &wf->tasks[idx];
	const struct ynode *v[TK_N], *k[TK_N], *nm, *cfg, *l, *it;
	char		 label[96], pfx[112], cpfx[128], where[160];
	size_t		*slot, first, i;
	long long	 x;
	int		 rc, type = -1;

	t->retry = wf->retry_default;
	t->timeout = wf->timeout_default;
	t->limits = wf->limits;
	t->sandbox.network = -1;
	t->sandbox.private_tmp = -1;
	t->pos.line = tn->line;
	t->pos.col = tn->col;
	tn = yt_r(tn);
	if (tn->kind != YN_MAP) {
		yt_err(yt, tn, "task #%zu: expected a mapping with name, type "
		    "and config, got %s", idx + 1, yt_kind_name(tn));
		return;
	}
	nm = yt_r(wl_map_find(tn, "name"));
	if (nm != NULL && nm->kind == YN_SCALAR &&
	    workflow_task_name_ok(nm->text, nm->len))
		(void)snprintf(label, sizeof(label), "task '%s'", nm->text);
	else
		(void)snprintf(label, sizeof(label), "task #%zu", idx + 1);
	(void)snprintf(pfx, sizeof(pfx), "%s: ", label);
	yt_map_collect(yt, tn, task_keys, TK_N, label, v, k);

	rc = yt_get_str(yt, v[TK_NAME], pfx, "name", 1, WF_STR_MAX, &t->name);
	if (rc == 0)
		yt_err(yt, tn, "%smissing required key 'name'", pfx);
	else if (rc == 1) {
		nm = yt_r(v[TK_NAME]);
		ld->namenode[idx] = nm;
		if (nm->len == 0)
			yt_err(yt, nm, "%sname: is empty", pfx);
		else if (nm->len > WF_TASK_NAME_MAX)
			yt_err(yt, nm, "%sname: %zu bytes long; the limit is %d",
			    pfx, nm->len, WF_TASK_NAME_MAX);
		else if (!workflow_task_name_ok(nm->text, nm->len))
			yt_err(yt, nm, "%sname: '%s' may only contain letters, "
			    "digits, '_' and '-'", pfx, yt_shown(yt, nm));
		else if ((first = names_find(wf, nt, t->name, &slot)) !=
		    SIZE_MAX)
			yt_err(yt, nm, "%sduplicate task name; the first '%s' "
			    "is at line %u", pfx, t->name,
			    ld->namenode[first]->line);
		else
			*slot = idx;
	}

	rc = yt_get_word(yt, v[TK_TYPE], pfx, "type", task_types, 3, &type);
	if (rc == 0) {
		yt_err(yt, v[TK_TYPE] ? yt_r(v[TK_TYPE]) : tn, "%smissing "
		    "required key 'type' (shell, ssh or http)", pfx);
		type = -1;
	} else if (rc == 1)
		t->type = (enum task_type)type;
	else
		type = -1;

	if (yt_get_strlist(yt, v[TK_DEPENDS_ON], pfx, "depends_on", SIZE_MAX,
	    WF_STR_MAX, 0, &t->depends_on, &t->ndepends_on) != 0 &&
	    t->depends_on != NULL) {
		l = yt_r(v[TK_DEPENDS_ON]);
		if ((ld->depnode[idx] = yt_alloc(yt, (l->n + 1) *
		    sizeof(struct ynode *))) == NULL)
			return;
		for (i = 0, it = l->child; it != NULL; it = it->next, i++)
			ld->depnode[idx][i] = it;
	}
	if (yt_get_int(yt, v[TK_RETRY], pfx, "retry", 0, WF_RETRY_MAX, &x) == 1)
		t->retry = (unsigned)x;
	if (yt_get_int(yt, v[TK_TIMEOUT], pfx, "timeout", 1, WF_TIMEOUT_MAX,
	    &x) == 1)
		t->timeout = (unsigned)x;
	(void)yt_get_bool(yt, v[TK_CONTINUE], pfx, "continue_on_failure",
	    &t->continue_on_failure);
	(void)snprintf(where, sizeof(where), "the limits of %s", label);
	wl_load_limits(ld, v[TK_LIMITS], pfx, "limits", where, &t->limits);
	if (yt_get_str(yt, v[TK_RUN_AS], pfx, "run_as", 0,
	    PRIVGROUP_RUN_AS_MAX + 1, &t->run_as) == 1 &&
	    !privgroup_run_as_ok(t->run_as, 0))
		yt_err(yt, v[TK_RUN_AS], "%srun_as: '%s' is not a user, "
		    "user:group or user:group,group,... (names or numeric ids, "
		    "at most %d supplementary groups)", pfx,
		    yt_shown(yt, v[TK_RUN_AS]), PRIVGROUP_SUPP_MAX);
	(void)snprintf(where, sizeof(where), "the sandbox of %s", label);
	wl_load_sandbox(ld, v[TK_SANDBOX], pfx, where, &t->sandbox);

	cfg = yt_r(v[TK_CONFIG]);
	if (cfg == NULL) {
		yt_err(yt, tn, "%smissing required key 'config'", pfx);
		return;
	}
	if (yt_is_null(cfg) || cfg->kind != YN_MAP) {
		yt_err(yt, cfg, "%sconfig: expected a mapping, got %s", pfx,
		    yt_is_null(cfg) ? "nothing" : yt_kind_name(cfg));
		return;
	}
	if (type < 0)
		return;
	(void)snprintf(cpfx, sizeof(cpfx), "%s (%s): ", label,
	    task_types[type]);
	(void)snprintf(where, sizeof(where), "the config of %s (%s)", label,
	    task_types[type]);
	switch (t->type) {
	case TASK_SHELL:
		wl_load_shell(ld, t, cfg, cpfx, where, v[TK_TIMEOUT]);
		break;
	case TASK_SSH:
		wl_load_ssh(ld, t, cfg, cpfx, where, v[TK_TIMEOUT]);
		break;
	case TASK_HTTP:
		wl_load_http(ld, t, cfg, cpfx, where);
		break;
	}
	wl_policy_task(ld, t, tn, v, cfg, pfx, cpfx);
}

/* The closest task name to an unknown one, or NULL. */
static const char *
closest_task(const struct pf_workflow *wf, const char *name)
{
	const char	*best = NULL;
	size_t		 i, d, cap = yt_suggest_cap(name), bestd = cap + 1;

	for (i = 0; i < wf->ntasks; i++) {
		if (wf->tasks[i].name == NULL)
			continue;
		d = yt_edit_distance(name, wf->tasks[i].name, cap);
		if (d < bestd) {
			bestd = d;
			best = wf->tasks[i].name;
		}
	}
	return best;
}

static void
report_cycle(struct ld *ld, const struct dag_cycle *c)
{
	struct ytree	*yt = &ld->y;
	const struct pf_workflow *wf = ld->wf;
	const struct ynode *at;
	struct pf_buf	 b;
	size_t		 i;

	buf_init(&b, 0);
	for (i = 0; i < c->len; i++) {
		if (b.len > 600) {
			buf_printf(&b, "... (%zu more) -> ", c->len - i);
			break;
		}
		buf_printf(&b, "%s -> ", wf->tasks[c->path[i]].name);
	}
	buf_add_str(&b, wf->tasks[c->path[0]].name);
	if (b.failed) {
		ld->y.oom = 1;
		buf_free(&b);
		return;
	}
	at = ld->depnode[c->edge_node][c->edge_slot];
	yt_err(yt, at, "task '%s': depends_on '%s' closes a dependency "
	    "cycle: %s", wf->tasks[c->edge_node].name,
	    wf->tasks[c->path[c->len - 1]].name, buf_cstr(&b));
	buf_free(&b);
}

/*
 * Resolves depends_on names, drops repeats (with a warning), reports
 * unknown names and self-dependencies, then builds the graph for cycles,
 * order and levels.  The depends_on entries that become edges are kept,
 * in order, in ld->depnode so a cycle can point at the one closing it.
 */
static void
load_deps(struct ld *ld, const struct names *nt)
{
	struct ytree	*yt = &ld->y;
	struct pf_workflow *wf = ld->wf;
	struct pf_task	*t;
	struct dag	 d;
	struct pf_err	 err;
	const struct ynode **nodes;
	const char	*close;
	size_t		*mark, i, j, kept, x, c;
	char		*name;

	if (dag_init(&d, wf->ntasks) == -1) {
		yt_err(yt, NULL, "too many tasks");
		return;
	}
	if ((mark = pf_calloc(wf->ntasks + 1, sizeof(size_t))) == NULL) {
		ld->y.oom = 1;
		return;
	}
	for (i = 0; i < wf->ntasks && !ld->y.oom; i++) {
		t = &wf->tasks[i];
		nodes = ld->depnode[i];
		if (t->ndepends_on == 0 || nodes == NULL)
			continue;
		if ((t->dep_idx = pf_calloc(t->ndepends_on,
		    sizeof(size_t))) == NULL) {
			ld->y.oom = 1;
			break;
		}
		kept = 0;
		for (j = 0; j < t->ndepends_on; j++) {
			if ((name = t->depends_on[j]) == NULL)
				continue;
			t->depends_on[j] = NULL;
			x = names_find(wf, nt, name, NULL);
			if (x == SIZE_MAX) {
				close = yt_room(yt) ? closest_task(wf, name) :
				    NULL;
				yt_err(yt, nodes[j], "task '%s': depends_on names "
				    "unknown task '%s'%s%s%s", t->name ?
				    t->name : "?", yt_shown(yt, nodes[j]),
				    close ? "; did you mean '" : "",
				    close ? close : "", close ? "'?" : "");
				pf_free(name);
				continue;
			}
			if (x == i) {
				yt_err(yt, nodes[j], "task '%s': depends on "
				    "itself", name);
				pf_free(name);
				continue;
			}
			if (mark[x] == i + 1) {
				yt_warn(yt, nodes[j], "task '%s': '%s' is listed "
				    "more than once in depends_on; the repeat is "
				    "ignored", t->name ? t->name : "?", name);
				pf_free(name);
				continue;
			}
			mark[x] = i + 1;
			t->depends_on[kept] = name;
			t->dep_idx[kept] = x;
			nodes[kept] = nodes[j];
			kept++;
			if (dag_add_edge(&d, i, x, &err) == -1)
				ld->y.oom = 1;
		}
		t->ndepends_on = kept;
	}
	pf_free(mark);
	if (ld->y.oom) {
		dag_free(&d);
		return;
	}
	if (dag_finish(&d, &err) == -1) {
		if (d.ncycles == 0)
			ld->y.oom = 1;
		for (c = 0; c < d.ncycles; c++)
			report_cycle(ld, &d.cycles[c]);
	} else if (workflow_set_dag(wf, &d) == -1)
		ld->y.oom = 1;
	dag_free(&d);
}

void
wl_load_tasks(struct ld *ld, const struct ynode *v)
{
	struct ytree	*yt = &ld->y;
	struct pf_workflow *wf = ld->wf;
	const struct ynode *it;
	struct names	 nt;
	size_t		 n, i;

	if (v == NULL) {
		yt_err(yt, ld->y.root, "missing required key 'tasks' (a list of "
		    "tasks; write 'tasks: []' for none)");
		return;
	}
	v = yt_r(v);
	if (yt_is_null(v) || v->kind != YN_SEQ) {
		yt_err(yt, v, "tasks: expected a list of tasks, got %s (write "
		    "'tasks: []' for none)", yt_is_null(v) ? "nothing" :
		    yt_kind_name(v));
		return;
	}
	n = v->n;
	if (n > ld->opts.max_tasks) {
		for (i = 0, it = v->child; i < ld->opts.max_tasks; i++)
			it = it->next;
		yt_err(yt, it, "tasks: %zu tasks; the limit is %zu", n,
		    ld->opts.max_tasks);
		return;
	}
	if ((wf->tasks = pf_calloc(n + 1, sizeof(*wf->tasks))) == NULL) {
		ld->y.oom = 1;
		return;
	}
	wf->ntasks = n;
	for (nt.cap = 16; nt.cap < 2 * n; nt.cap *= 2)
		;
	ld->depnode = yt_alloc(yt, (n + 1) * sizeof(*ld->depnode));
	ld->namenode = yt_alloc(yt, (n + 1) * sizeof(*ld->namenode));
	nt.slot = yt_alloc(yt, nt.cap * sizeof(size_t));
	if (ld->y.oom)
		return;
	memset(ld->depnode, 0, (n + 1) * sizeof(*ld->depnode));
	memset(ld->namenode, 0, (n + 1) * sizeof(*ld->namenode));
	memset(nt.slot, 0xff, nt.cap * sizeof(size_t));
	for (i = 0, it = v->child; it != NULL && !ld->y.oom; it = it->next, i++)
		load_task(ld, &nt, i, it);
	if (!ld->y.oom)
		load_deps(ld, &nt);
}
