/*
 * The workflow loader.
 *
 * libyaml's event stream is turned into a small node tree (anchors are
 * shared by reference; every node knows how many nodes and scalar bytes it
 * stands for once aliases are expanded, so a "billion laughs" file is
 * refused after a few events and in bounded memory).  The tree is then
 * checked key by key against the format (docs/workflow-format.md) while
 * the typed model is filled in, and the dependency graph is built last.
 * Loading goes on after an error, so one run reports every problem with
 * file:line:column; the model is only returned when there was none.
 * This file holds the entry points; workflow_load_int.h lists the steps.
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

void
workflow_load_opts_default(struct wf_load_opts *o)
{
	o->max_bytes = WF_DEFAULT_MAX_BYTES;
	o->max_tasks = WF_DEFAULT_MAX_TASKS;
	o->max_depth = WF_DEFAULT_MAX_DEPTH;
	o->max_nodes = WF_DEFAULT_MAX_NODES;
	o->policy = NULL;
	o->run_as = NULL;
	o->defaults = NULL;
}

static void
opts_fill(struct wf_load_opts *o, const struct wf_load_opts *in)
{
	workflow_load_opts_default(o);
	if (in == NULL)
		return;
	/* Zero means "the default", so callers can set one field. */
	if (in->max_bytes)
		o->max_bytes = in->max_bytes;
	if (in->max_tasks)
		o->max_tasks = in->max_tasks;
	if (in->max_depth)
		o->max_depth = in->max_depth;
	if (in->max_nodes)
		o->max_nodes = in->max_nodes;
	o->policy = in->policy;
	o->run_as = in->run_as;
	o->defaults = in->defaults;
}

struct pf_workflow *
workflow_load_buf(const char *label, const void *buf, size_t len,
    const struct wf_load_opts *opts, struct pf_diags *diags)
{
	struct ld	 ld;
	struct pf_workflow *wf = NULL;
	struct pf_diags	 none;
	size_t		 n0;

	/* A caller that only wants yes or no may pass no diags. */
	pf_diags_init(&none);
	if (diags == NULL)
		diags = &none;
	n0 = diags->n;
	memset(&ld, 0, sizeof(ld));
	ld.y.file = label != NULL ? label : "<input>";
	ld.y.what = "workflow";
	ld.y.diags = diags;
	opts_fill(&ld.opts, opts);
	ld.y.max_depth = ld.opts.max_depth;
	ld.y.max_nodes = ld.opts.max_nodes;
	if (yt_parse(&ld.y, buf, len, ld.opts.max_bytes) == -1)
		goto out;
	if ((wf = pf_calloc(1, sizeof(*wf))) == NULL) {
		ld.y.oom = 1;
		goto out;
	}
	ld.wf = wf;
	wf->overlap = OVERLAP_SKIP;
	wf->catchup = CATCHUP_LATEST;
	wf->catchup_window = WF_CATCHUP_WINDOW_DEF;
	wf->catchup_max = 1;
	wf->max_parallel = WF_DEFAULT_MAX_PARALLEL;
	wf->retry_default = WF_DEFAULT_RETRY;
	wf->timeout_default = WF_DEFAULT_TIMEOUT;
	wf->limits.memory = wf->limits.swap = wf->limits.cpu_milli = -1;
	wf->limits.pids = wf->limits.nofile = wf->limits.output = -1;
	if ((wf->file = pf_strdup(ld.y.file)) == NULL) {
		ld.y.oom = 1;
		goto out;
	}
	wl_load_root(&ld);
	if (ld.opts.policy != NULL && (wl_strv_copy(ld.opts.policy->
	    privileged_groups, ld.opts.policy->nprivileged_groups,
	    &wf->privileged_groups, &wf->nprivileged_groups) == -1 ||
	    (ld.opts.policy->allow_root && wl_strv_copy(ld.opts.policy->
	    unprivileged_groups, ld.opts.policy->nunprivileged_groups,
	    &wf->unprivileged_groups, &wf->nunprivileged_groups) == -1)))
		ld.y.oom = 1;
out:
	yt_free(&ld.y);
	privgroup_set_free(&ld.pg);
	if (ld.y.oom)
		yt_diag(&ld.y, PF_SEV_ERROR, 0, 0, "out of memory while loading "
		    "the workflow");
	if (ld.y.failed || ld.y.oom) {
		workflow_free(wf);
		wf = NULL;
	}
	yt_diags_sort(diags, n0);
	pf_diags_free(&none);
	return wf;
}

struct pf_workflow *
workflow_load_file(const char *path, const struct wf_load_opts *opts,
    struct pf_diags *diags)
{
	struct wf_load_opts o;
	struct pf_workflow *wf = NULL;
	struct pf_diags	 none;
	unsigned char	*buf;
	size_t		 len;

	opts_fill(&o, opts);
	pf_diags_init(&none);
	if (diags == NULL)
		diags = &none;
	if (yt_read_file(path, "workflow", o.max_bytes, diags, &buf, &len) ==
	    0) {
		wf = workflow_load_buf(path, buf, len, &o, diags);
		pf_free(buf);
	}
	pf_diags_free(&none);
	return wf;
}
