/*
 * The workflow loader's top level: the config block (defaults, limits,
 * retention, sandbox), the schedule, the timezone, and the root mapping
 * that calls the other steps.
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

/* ------------------------------------------------------ limits, sandbox */

enum {
	LK_MEMORY, LK_SWAP, LK_CPU, LK_PIDS, LK_NOFILE, LK_OUTPUT, LK_N
};
static const char *const limit_keys[LK_N] = {
	"memory", "swap", "cpu", "pids", "nofile", "output",
};

/* "base.name" of limit k, the key messages name. */
static void
limit_key(char *key, size_t len, const char *base, int k)
{
	(void)snprintf(key, len, "%s.%s", base, limit_keys[k]);
}

/* Fills the limits named in mapping v over what *lim already holds. */
void
wl_load_limits(struct ld *ld, const struct ynode *v, const char *pfx,
    const char *base, const char *where, struct pf_limits *lim)
{
	struct ytree	*yt = &ld->y;
	const struct ynode *vals[LK_N], *keys[LK_N], *s;
	char		 key[64];
	long long	 x;
	int		 rc;

	v = yt_r(v);
	if (v == NULL || yt_is_null(v))
		return;
	if (v->kind != YN_MAP) {
		yt_err(yt, v, "%s%s: expected a mapping (memory, swap, cpu, "
		    "pids, nofile, output), got %s", pfx, base, yt_kind_name(v));
		return;
	}
	yt_map_collect(yt, v, limit_keys, LK_N, where, vals, keys);
	limit_key(key, sizeof(key), base, LK_MEMORY);
	if (yt_get_size(yt, vals[LK_MEMORY], pfx, key, 1, &x) == 1)
		lim->memory = x;
	limit_key(key, sizeof(key), base, LK_SWAP);
	if (yt_get_size(yt, vals[LK_SWAP], pfx, key, 0, &x) == 1)
		lim->swap = x;
	limit_key(key, sizeof(key), base, LK_OUTPUT);
	if (yt_get_size(yt, vals[LK_OUTPUT], pfx, key, 0, &x) == 1) {
		if (x > PF_OUTPUT_CAP_MAX)
			yt_err(yt, yt_r(vals[LK_OUTPUT]), "%s%s: %s is more "
			    "than the largest output cap, 4G", pfx, key,
			    yt_shown(yt, yt_r(vals[LK_OUTPUT])));
		else
			lim->output = x;
	}
	limit_key(key, sizeof(key), base, LK_PIDS);
	if (yt_get_int(yt, vals[LK_PIDS], pfx, key, 1, WF_PIDS_MAX, &x) == 1)
		lim->pids = x;
	limit_key(key, sizeof(key), base, LK_NOFILE);
	if (yt_get_int(yt, vals[LK_NOFILE], pfx, key, 1, WF_NOFILE_MAX,
	    &x) == 1)
		lim->nofile = x;
	limit_key(key, sizeof(key), base, LK_CPU);
	if (yt_get_scalar(yt, vals[LK_CPU], pfx, key, 0, &s) == 1) {
		rc = yt_parse_cpu(s->text, &x);
		if (rc == -1)
			yt_err(yt, s, "%s%s: '%s' is not a number of cores "
			    "(e.g. 0.5 or 2)", pfx, key, yt_shown(yt, s));
		else if (rc == -3)
			yt_err(yt, s, "%s%s: '%s' has more than 3 decimals",
			    pfx, key, yt_shown(yt, s));
		else if (rc == -2 || x < 1 || x > WF_CPU_MILLI_MAX)
			yt_err(yt, s, "%s%s: %s is out of range 0.001..%d "
			    "cores", pfx, key, yt_shown(yt, s),
			    WF_CPU_MILLI_MAX / 1000);
		else
			lim->cpu_milli = x;
	}
}

enum {
	CK_MAX_PARALLEL, CK_RETRY_DEFAULT, CK_TIMEOUT_DEFAULT, CK_LIMITS,
	CK_RETENTION, CK_MAX_TASKS_RUNNING, CK_MAX_RUNS_RUNNING, CK_N
};
static const char *const config_keys[CK_N] = {
	"max_parallel", "retry_default", "timeout_default", "limits",
	"retention", "max_tasks_running", "max_runs_running",
};

enum {
	RK_MAX_AGE, RK_MAX_RUNS, RK_MAX_OUTPUT, RK_N
};
static const char *const retention_keys[RK_N] = {
	"max_age", "max_runs", "max_output",
};

#define WF_RETAIN_AGE_MAX	(36500LL * 86400)	/* 100 years */
#define WF_RETAIN_RUNS_MAX	100000000LL

static void
load_retention(struct ld *ld, const struct ynode *v, struct pf_retention *r)
{
	struct ytree	*yt = &ld->y;
	const struct ynode *vals[RK_N], *keys[RK_N], *s;
	long long	 x;
	int		 rc;

	v = yt_r(v);
	if (v == NULL || yt_is_null(v))
		return;
	if (v->kind != YN_MAP) {
		yt_err(yt, v, "config.retention: expected a mapping (max_age, "
		    "max_runs, max_output), got %s", yt_kind_name(v));
		return;
	}
	yt_map_collect(yt, v, retention_keys, RK_N, "config.retention", vals,
	    keys);
	if (yt_get_scalar(yt, vals[RK_MAX_AGE], "", "config.retention.max_age",
	    0, &s) == 1) {
		rc = yt_parse_duration(s->text, WF_RETAIN_AGE_MAX, &x);
		if (rc == -1)
			yt_err(yt, s, "config.retention.max_age: '%s' is not a "
			    "duration; use a number with s, m, h, d or w "
			    "(e.g. 30d)", yt_shown(yt, s));
		else if (rc == -2 || x < 1)
			yt_err(yt, s, "config.retention.max_age: %s is out of "
			    "range 1s..36500d", yt_shown(yt, s));
		else
			r->max_age = x;
	}
	if (yt_get_int(yt, vals[RK_MAX_RUNS], "", "config.retention.max_runs", 1,
	    WF_RETAIN_RUNS_MAX, &x) == 1)
		r->max_runs = x;
	if (yt_get_size(yt, vals[RK_MAX_OUTPUT], "", "config.retention.max_output",
	    1, &x) == 1)
		r->max_output = x;
}

enum {
	SB_NETWORK, SB_READ_ONLY, SB_WRITABLE, SB_PRIVATE_TMP, SB_N
};
static const char *const sandbox_keys[SB_N] = {
	"network", "read_only", "writable", "private_tmp",
};

void
wl_load_sandbox(struct ld *ld, const struct ynode *v, const char *pfx,
    const char *where, struct pf_sandbox *sb)
{
	struct ytree	*yt = &ld->y;
	const struct ynode *vals[SB_N], *keys[SB_N];
	bool		 b;

	v = yt_r(v);
	if (v == NULL || yt_is_null(v))
		return;
	if (v->kind != YN_MAP) {
		yt_err(yt, v, "%ssandbox: expected a mapping (network, "
		    "read_only, writable, private_tmp), got %s", pfx,
		    yt_kind_name(v));
		return;
	}
	yt_map_collect(yt, v, sandbox_keys, SB_N, where, vals, keys);
	if (yt_get_bool(yt, vals[SB_NETWORK], pfx, "sandbox.network", &b) == 1)
		sb->network = b ? 1 : 0;
	if (yt_get_bool(yt, vals[SB_PRIVATE_TMP], pfx, "sandbox.private_tmp",
	    &b) == 1)
		sb->private_tmp = b ? 1 : 0;
	(void)yt_get_strlist(yt, vals[SB_READ_ONLY], pfx, "sandbox.read_only",
	    WF_PATHS_MAX, WF_STR_MAX, 1, &sb->read_only, &sb->nread_only);
	(void)yt_get_strlist(yt, vals[SB_WRITABLE], pfx, "sandbox.writable",
	    WF_PATHS_MAX, WF_STR_MAX, 1, &sb->writable, &sb->nwritable);
}

/* -------------------------------------------------------------- workflow */

enum {
	WK_NAME, WK_DESCRIPTION, WK_SCHEDULE, WK_TIMEZONE, WK_OVERLAP,
	WK_CATCHUP, WK_CATCHUP_WINDOW, WK_CATCHUP_MAX, WK_ENV, WK_CONFIG,
	WK_TASKS, WK_N
};
static const char *const wf_keys[WK_N] = {
	"name", "description", "schedule", "timezone", "overlap", "catchup",
	"catchup_window", "catchup_max", "env", "config", "tasks",
};

static const char *const overlap_words[] = { "skip", "queue", "allow" };
static const enum wf_overlap overlap_vals[] = {
	OVERLAP_SKIP, OVERLAP_QUEUE, OVERLAP_ALLOW,
};
static const char *const catchup_words[] = { "none", "latest", "all" };
static const enum wf_catchup catchup_vals[] = {
	CATCHUP_NONE, CATCHUP_LATEST, CATCHUP_ALL,
};

static void
load_config(struct ld *ld, const struct ynode *v)
{
	struct ytree	*yt = &ld->y;
	struct pf_workflow *wf = ld->wf;
	const struct ynode *vals[CK_N], *keys[CK_N];
	long long	 x;

	v = yt_r(v);
	if (v == NULL || yt_is_null(v))
		return;
	if (v->kind != YN_MAP) {
		yt_err(yt, v, "config: expected a mapping (max_parallel, "
		    "retry_default, timeout_default, limits, retention), "
		    "got %s", yt_kind_name(v));
		return;
	}
	yt_map_collect(yt, v, config_keys, CK_N, "config", vals, keys);
	if (yt_get_int(yt, vals[CK_MAX_PARALLEL], "", "config.max_parallel", 1,
	    WF_PARALLEL_MAX, &x) == 1)
		wf->max_parallel = (unsigned)x;
	if (yt_get_int(yt, vals[CK_RETRY_DEFAULT], "", "config.retry_default", 0,
	    WF_RETRY_MAX, &x) == 1)
		wf->retry_default = (unsigned)x;
	if (yt_get_int(yt, vals[CK_TIMEOUT_DEFAULT], "", "config.timeout_default",
	    1, WF_TIMEOUT_MAX, &x) == 1)
		wf->timeout_default = (unsigned)x;
	if (yt_get_int(yt, vals[CK_MAX_TASKS_RUNNING], "",
	    "config.max_tasks_running", 1, WF_RUNNING_MAX, &x) == 1) {
		wf->max_tasks_running = (unsigned)x;
		wl_policy_running(ld, yt_r(vals[CK_MAX_TASKS_RUNNING]),
		    POL_MAX_TASKS_RUNNING, wf->max_tasks_running);
	}
	if (yt_get_int(yt, vals[CK_MAX_RUNS_RUNNING], "",
	    "config.max_runs_running", 1, WF_RUNNING_MAX, &x) == 1) {
		wf->max_runs_running = (unsigned)x;
		wl_policy_running(ld, yt_r(vals[CK_MAX_RUNS_RUNNING]),
		    POL_MAX_RUNS_RUNNING, wf->max_runs_running);
	}
	wl_load_limits(ld, vals[CK_LIMITS], "", "config.limits",
	    "config.limits", &wf->limits);
	ld->cfg_limits = yt_r(vals[CK_LIMITS]);
	load_retention(ld, vals[CK_RETENTION], &wf->retention);
}

static void
load_schedule(struct ld *ld, const struct ynode *v)
{
	struct ytree	*yt = &ld->y;
	struct pf_workflow *wf = ld->wf;
	struct cron_expr ce;
	struct pf_err	 err;
	size_t		 off = 0;
	unsigned	 col;

	if (yt_get_str(yt, v, "", "schedule", 0, CRON_EXPR_MAX, &wf->schedule)
	    != 1)
		return;
	v = yt_r(v);
	err.msg[0] = '\0';
	if (cron_parse(wf->schedule, &ce, &off, &err) == -1) {
		/* Point into the expression when it sits on one line. */
		col = v->col;
		if (v->style != YS_BLOCK && strchr(wf->schedule, '\n') == NULL &&
		    off < strlen(wf->schedule))
			col += (v->style == YS_QUOTED ? 1 : 0) + (unsigned)off;
		yt_diag(yt, PF_SEV_ERROR, v->line, col, "schedule: %s",
		    err.msg[0] ? err.msg : "not a valid cron expression");
		return;
	}
	if (ce.nfields >= 6 && cron_dom_dow_both_restricted(&ce))
		yt_warn(yt, v, "schedule: both day-of-month and day-of-week "
		    "are restricted; a day matches when either matches (cron's "
		    "rule; the Rust PicoFlow required both)");
}

static void
load_timezone(struct ld *ld, const struct ynode *v)
{
	struct ytree	*yt = &ld->y;
	struct pf_workflow *wf = ld->wf;
	struct pf_tz	*tz = NULL;
	struct pf_err	 err;

	if (yt_get_str(yt, v, "", "timezone", 0, TZ_NAME_MAX, &wf->timezone) != 1)
		return;
	err.msg[0] = '\0';
	if (tz_load(wf->timezone, &tz, &err) == -1) {
		yt_err(yt, yt_r(v), "timezone: %s", err.msg[0] ? err.msg :
		    "unknown time zone");
		return;
	}
	tz_free(tz);
}

void
wl_load_root(struct ld *ld)
{
	struct ytree	*yt = &ld->y;
	struct pf_workflow *wf = ld->wf;
	const struct ynode *root = yt_r(ld->y.root), *vals[WK_N], *keys[WK_N];
	long long	 x;
	int		 w;

	/* Nothing, or a document with nothing in it ("---"). */
	if (root == NULL || yt_is_null(root)) {
		yt_diag(yt, PF_SEV_ERROR, 1, 1, "the file is empty; a workflow "
		    "needs at least 'name' and 'tasks'");
		return;
	}
	if (root->kind != YN_MAP) {
		yt_err(yt, root, "the top level must be a mapping with 'name' "
		    "and 'tasks', not %s", yt_kind_name(root));
		return;
	}
	yt_map_collect(yt, root, wf_keys, WK_N, "the workflow", vals, keys);
	switch (yt_get_str(yt, vals[WK_NAME], "", "name", 1, SIZE_MAX,
	    &wf->name)) {
	case 0:
		yt_err(yt, root, "missing required key 'name'");
		break;
	case 1:
		if (wf->name[0] == '\0')
			yt_err(yt, yt_r(vals[WK_NAME]), "name: is empty");
		else if (strlen(wf->name) > WF_NAME_MAX)
			yt_err(yt, yt_r(vals[WK_NAME]), "name: %zu bytes long; the "
			    "limit is %d", strlen(wf->name), WF_NAME_MAX);
		else if (yt_has_control(wf->name, strlen(wf->name)))
			yt_err(yt, yt_r(vals[WK_NAME]), "name: '%s' contains a "
			    "control character", yt_shown(yt, vals[WK_NAME]));
		break;
	}
	(void)yt_get_str(yt, vals[WK_DESCRIPTION], "", "description", 0,
	    WF_TEXT_MAX, &wf->description);
	load_schedule(ld, vals[WK_SCHEDULE]);
	load_timezone(ld, vals[WK_TIMEZONE]);
	if (yt_get_word(yt, vals[WK_OVERLAP], "", "overlap", overlap_words, 3,
	    &w) == 1)
		wf->overlap = overlap_vals[w];
	if (yt_get_word(yt, vals[WK_CATCHUP], "", "catchup", catchup_words, 3,
	    &w) == 1)
		wf->catchup = catchup_vals[w];
	if (yt_get_int(yt, vals[WK_CATCHUP_WINDOW], "", "catchup_window", 0,
	    WF_CATCHUP_WINDOW_MAX, &x) == 1)
		wf->catchup_window = (uint32_t)x;
	if (yt_get_int(yt, vals[WK_CATCHUP_MAX], "", "catchup_max", 1,
	    WF_CATCHUP_MAX_MAX, &x) == 1)
		wf->catchup_max = (uint32_t)x;
	(void)wl_get_kvmap(ld, vals[WK_ENV], "", "env", KV_ENV, &wf->env);
	load_config(ld, vals[WK_CONFIG]);
	if (!ld->y.oom)
		wl_load_tasks(ld, vals[WK_TASKS]);
}
