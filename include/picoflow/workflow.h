/*
 * The workflow model: what a workflow file means once loaded, with every
 * default filled in.  The loader (common/workflow.c) builds it from YAML
 * with libyaml, validates it completely (types, ranges, cron, DAG) and
 * reports every problem with file:line:column.
 */
#ifndef PICOFLOW_WORKFLOW_H
#define PICOFLOW_WORKFLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "picoflow/buf.h"
#include "picoflow/err.h"

#define WF_NAME_MAX		128	/* workflow name, bytes */
#define WF_TASK_NAME_MAX	64	/* task name, bytes */
#define WF_DEFAULT_MAX_BYTES	(1024 * 1024)
#define WF_DEFAULT_MAX_TASKS	1000
#define WF_DEFAULT_MAX_PARALLEL	4
/* config.max_tasks_running / max_runs_running: at most this much. */
#define WF_RUNNING_MAX		10000
#define WF_DEFAULT_RETRY	3
#define WF_DEFAULT_TIMEOUT	300
#define WF_DEFAULT_HTTP_TIMEOUT	300

enum task_type {
	TASK_SHELL = 0,
	TASK_SSH,
	TASK_HTTP,
};

enum wf_overlap {
	OVERLAP_SKIP = 0,	/* default */
	OVERLAP_QUEUE,
	OVERLAP_ALLOW,
};

enum wf_catchup {
	CATCHUP_LATEST = 0,	/* default */
	CATCHUP_NONE,
	CATCHUP_ALL,
};

/* A position in the source file (1-based; 0 = unknown). */
struct pf_pos {
	unsigned	 line;
	unsigned	 col;
};

struct pf_kv {
	char		*key;
	char		*value;
};

struct pf_kvlist {
	struct pf_kv	*v;
	size_t		 n;
};

/*
 * The largest output cap (limits.output) a workflow or a policy may set:
 * 4 GiB.  Output is stored in chunks far below SQLite's largest value
 * (1e9 bytes), so the store takes any cap; this one keeps an attempt's
 * byte counts and a reader's copy of its output in range.  Larger caps
 * are refused at load (docs/workflow-format.md).
 */
#define PF_OUTPUT_CAP_MAX	(4LL * 1024 * 1024 * 1024)

/* Resource limits; -1 means "not set" (inherit the default or policy). */
struct pf_limits {
	int64_t		 memory;	/* bytes */
	int64_t		 swap;		/* bytes */
	int64_t		 cpu_milli;	/* thousandths of a core */
	int64_t		 pids;
	int64_t		 nofile;
	int64_t		 output;	/* bytes of captured stdout+stderr */
};

/*
 * config.retention: this workflow's own history limits; 0 = not set, the
 * supervisor's global limit (--retain-*) applies to the workflow instead.
 */
struct pf_retention {
	int64_t		 max_age;	/* seconds since the run started */
	int64_t		 max_runs;	/* newest finished runs kept */
	int64_t		 max_output;	/* bytes of captured stdout+stderr */
};

struct pf_sandbox {
	int		 network;	/* -1 unset, 0 no network, 1 allowed */
	int		 private_tmp;	/* -1 unset, 0 shared, 1 private
					   /tmp and /dev/shm */
	char		**read_only;
	size_t		 nread_only;
	char		**writable;
	size_t		 nwritable;
};

struct pf_shell {
	char		*command;	/* absolute path, execve'd directly */
	char		**args;
	size_t		 nargs;
	char		*workdir;	/* NULL = inherit */
	struct pf_kvlist env;
};

struct pf_ssh {
	char		*host;
	char		*user;
	char		*command;
	char		*key_path;	/* NULL = ~/.ssh/id_ed25519, id_rsa */
	int		 port;		/* default 22 */
	bool		 verify_host_key; /* default true */
};

struct pf_http {
	char		*url;
	char		*method;	/* upper case; default GET */
	struct pf_kvlist headers;
	char		*body;		/* NULL = none */
	bool		 body_is_json;	/* mapping/list/number/bool encoded */
	int		 timeout;	/* seconds, default 300 */
	bool		 allow_private_ips;
	char		*ca_file;
	int		*success_status; /* NULL = any 2xx */
	size_t		 nsuccess_status;
};

struct pf_task {
	char		*name;
	enum task_type	 type;
	char		**depends_on;	/* names as written */
	size_t		 ndepends_on;
	size_t		*dep_idx;	/* resolved indices into wf->tasks */
	unsigned	 retry;		/* retries after the first attempt */
	unsigned	 timeout;	/* seconds, per attempt */
	bool		 continue_on_failure;
	struct pf_limits limits;	/* task's own, merged over config.limits */
	char		*run_as;	/* NULL = the supervisor's user */
	/*
	 * Set by the loader: run_as gives a privileged group (privgroup.h)
	 * and the operator allowed it, so pf-worker does not refuse it.
	 */
	bool		 run_as_privileged;
	struct pf_sandbox sandbox;
	union {
		struct pf_shell	 shell;
		struct pf_ssh	 ssh;
		struct pf_http	 http;
	} u;
	struct pf_pos	 pos;		/* the task's mapping in the file */
};

struct pf_workflow {
	char		*file;		/* path as given, or a caller's label */
	char		*name;
	char		*description;	/* NULL when absent */
	char		*schedule;	/* NULL = on demand */
	char		*timezone;	/* NULL = UTC / supervisor default */
	enum wf_overlap	 overlap;
	enum wf_catchup	 catchup;
	uint32_t	 catchup_window;/* seconds, default 3600 */
	uint32_t	 catchup_max;	/* default 1 */
	struct pf_kvlist env;		/* inherited by every task */
	unsigned	 max_parallel;	/* tasks at once, per run */
	/*
	 * Fairness across runs (config.max_tasks_running/max_runs_running):
	 * tasks of all its runs at once, runs in flight at once; 0 = not
	 * set, the supervisor's default (and the policy's ceiling) apply.
	 */
	unsigned	 max_tasks_running;
	unsigned	 max_runs_running;
	unsigned	 retry_default;
	unsigned	 timeout_default;
	struct pf_limits limits;	/* config.limits */
	struct pf_retention retention;	/* config.retention */
	/* The policy's privileged_groups and unprivileged_groups, copied by
	   the loader for pf-worker's own check; none without a policy. */
	char		**privileged_groups;
	size_t		 nprivileged_groups;
	char		**unprivileged_groups;
	size_t		 nunprivileged_groups;
	struct pf_task	*tasks;
	size_t		 ntasks;
	size_t		*order;		/* a topological order, ntasks long */
	unsigned	*level;		/* level[i]: longest dependency chain */
	/*
	 * The dependency graph, built once where the model is made (the
	 * loader, wfcodec_decode) and shared read-only by every run of it;
	 * order and level are its arrays.
	 */
	struct dag	*dag;
};

struct dag;
struct pf_policy;

struct wf_load_opts {
	size_t		 max_bytes;	/* default WF_DEFAULT_MAX_BYTES */
	size_t		 max_tasks;	/* default WF_DEFAULT_MAX_TASKS */
	size_t		 max_depth;	/* YAML nesting depth, default 64 */
	size_t		 max_nodes;	/* YAML nodes incl. alias expansion */
	/*
	 * The operator's policy (picoflow/policy.h); NULL = none.  A task
	 * asking for more than it allows is an error at the offending value.
	 */
	const struct pf_policy *policy;
	/*
	 * The user tasks without run_as will run as (policy_default_user);
	 * NULL = the loading process's own.  Filled into such tasks, checked
	 * against the policy; with no policy, an explicit root run_as needs
	 * this to be root too.
	 */
	const char	*run_as;
	/*
	 * The runner's own default limits (-1 = none), for the policy: a
	 * limit a task leaves unset gets the policy's default_limits, or
	 * this lowered to the policy's ceiling; NULL = none known.
	 */
	const struct pf_limits *defaults;
};

void	 workflow_load_opts_default(struct wf_load_opts *);

/*
 * Load and validate.  Returns NULL when the file has any error; every
 * error and warning is added to diags (warnings also when it succeeds).
 */
struct pf_workflow *workflow_load_file(const char *path,
	    const struct wf_load_opts *, struct pf_diags *);
struct pf_workflow *workflow_load_buf(const char *label, const void *buf,
	    size_t len, const struct wf_load_opts *, struct pf_diags *);
void	 workflow_free(struct pf_workflow *);
/*
 * Makes d, on which dag_finish succeeded, the model's graph (wf->dag,
 * wf->order, wf->level), leaving d empty; -1 (d untouched) when out of
 * memory.  For the code that builds models.
 */
int	 workflow_set_dag(struct pf_workflow *, struct dag *d);

/* Normalized YAML with every default filled in; loads to the same model. */
int	 workflow_print(const struct pf_workflow *, struct pf_buf *);

const char *task_type_name(enum task_type);
/*
 * One side of run_as "user[:group]": a name (portable characters, a
 * trailing '$', not starting with '-') or a numeric id, 1..32 bytes.
 */
int	 workflow_user_part_ok(const char *, size_t);
/* A task name: [A-Za-z0-9_-], 1..WF_TASK_NAME_MAX bytes. */
int	 workflow_task_name_ok(const char *, size_t);
/* Index of the task named `name`, or -1. */
long	 workflow_task_index(const struct pf_workflow *, const char *name);

#endif
