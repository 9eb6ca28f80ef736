/*
 * The workflow loader's private header, shared by common/workflow_load*.c
 * and by nothing else: the format's limits, the load state every step
 * reaches the document through, and the steps' entry points.
 *
 * The files:
 *  - workflow_load.c         the entry points: options, buffer and file;
 *  - workflow_load_check.c   value checks: host names, URLs, header and
 *                            environment names, name-to-value maps;
 *  - workflow_load_exec.c    the executors' config (shell, ssh, http) and
 *                            the http body written out as JSON;
 *  - workflow_load_config.c  the top level: config, limits, retention,
 *                            sandbox, schedule, timezone;
 *  - workflow_load_task.c    tasks, their names and the dependency graph;
 *  - workflow_load_policy.c  a task checked against the admin's policy.
 */
#ifndef PICOFLOW_WORKFLOW_LOAD_INT_H
#define PICOFLOW_WORKFLOW_LOAD_INT_H

#include <stddef.h>

#include "picoflow/policy.h"
#include "picoflow/privgroup.h"
#include "picoflow/workflow.h"
#include "ytree.h"

#define WF_DEFAULT_MAX_DEPTH	64
#define WF_DEFAULT_MAX_NODES	200000

#define WF_STR_MAX		4096	/* command, args, paths */
#define WF_TEXT_MAX		65536	/* description */
#define WF_ARGS_MAX		256
#define WF_MAP_MAX		1024	/* env and headers entries */
#define WF_PATHS_MAX		256	/* sandbox path lists */
#define WF_STATUS_MAX		64	/* success_status entries */
#define WF_URL_MAX		8192
#define WF_BODY_MAX		(1024 * 1024)
#define WF_TIMEOUT_MAX		604800	/* seconds: one week */
#define WF_HTTP_TIMEOUT_MAX	3600
#define WF_RETRY_MAX		100
#define WF_PARALLEL_MAX		256
#define WF_CATCHUP_WINDOW_MAX	31536000 /* one year */
#define WF_CATCHUP_WINDOW_DEF	3600
#define WF_CATCHUP_MAX_MAX	1000
#define WF_CPU_MILLI_MAX	YT_CPU_MILLI_MAX
#define WF_PIDS_MAX		4194304
#define WF_NOFILE_MAX		1048576
#define WF_USER_MAX		256

/* Load state. */
struct ld {
	struct ytree	 y;		/* the document and its messages */
	struct wf_load_opts opts;
	struct pf_workflow *wf;
	/* per-task scratch for the dependency pass */
	const struct ynode ***depnode;	/* [task][slot]: depends_on entries */
	const struct ynode **namenode;	/* [task]: the name scalar */
	const struct ynode *cfg_limits;	/* config.limits, for policy errors */
	unsigned	 cfg_said;	/* config.limits over a ceiling, said */
	struct privgroup_set pg;	/* privileged gids, resolved once */
	int		 pg_loaded;
};

enum kvkind {
	KV_ENV,
	KV_HEADER,
};

enum {
	TK_NAME, TK_TYPE, TK_DEPENDS_ON, TK_RETRY, TK_TIMEOUT, TK_CONTINUE,
	TK_CONFIG, TK_LIMITS, TK_RUN_AS, TK_SANDBOX, TK_N
};

/* Task names -> index, open addressing; SIZE_MAX marks a free slot. */
struct names {
	size_t		*slot;
	size_t		 cap;
};

/* workflow_load_check.c */
int	 wl_ssh_host_ok(const char *h, size_t *off, size_t *blen);
const char *wl_url_problem(const char *u);
int	 wl_get_kvmap(struct ld *ld, const struct ynode *v, const char *pfx,
    const char *key, enum kvkind kind, struct pf_kvlist *out);

/* workflow_load_exec.c */
void	 wl_load_shell(struct ld *ld, struct pf_task *t,
    const struct ynode *cfg, const char *pfx, const char *where,
    const struct ynode *task_timeout);
void	 wl_load_ssh(struct ld *ld, struct pf_task *t, const struct ynode *cfg,
    const char *pfx, const char *where, const struct ynode *task_timeout);
void	 wl_load_http(struct ld *ld, struct pf_task *t, const struct ynode *cfg,
    const char *pfx, const char *where);

/* workflow_load_config.c */
void	 wl_load_limits(struct ld *ld, const struct ynode *v, const char *pfx,
    const char *base, const char *where, struct pf_limits *lim);
void	 wl_load_sandbox(struct ld *ld, const struct ynode *v, const char *pfx,
    const char *where, struct pf_sandbox *sb);
void	 wl_load_root(struct ld *ld);

/* workflow_load_task.c */
const struct ynode *wl_map_find(const struct ynode *map, const char *key);
void	 wl_load_tasks(struct ld *ld, const struct ynode *v);

/* workflow_load_policy.c */
void	 wl_policy_running(struct ld *ld, const struct ynode *at,
    enum policy_key k, unsigned v);
int	 wl_strv_copy(char *const *v, size_t n, char ***out, size_t *nout);
void	 wl_policy_task(struct ld *ld, struct pf_task *t,
    const struct ynode *tn, const struct ynode *const *v,
    const struct ynode *cfg, const char *pfx, const char *cpfx);

#endif
