/*
 * The operator's policy (pf-supervisor --policy FILE, picoflow validate
 * and run --policy FILE): what workflows may ask for.  The file is YAML,
 * read with the same hostile-input rules as workflow files; the workflow
 * loader enforces it (struct wf_load_opts.policy) so a workflow asking
 * for more is refused at load with its own file:line:column and the
 * name of the rule with the rule's own position.  docs/security.md
 * ("Policy") describes every key.
 *
 * An absent key does not restrict; booleans default to the safe side
 * (allow_root, allow_private_ips and relax_sandbox false, verify_host_key
 * required).
 */
#ifndef PICOFLOW_POLICY_H
#define PICOFLOW_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "picoflow/err.h"
#include "picoflow/privgroup.h"
#include "picoflow/workflow.h"

#define POLICY_MAX_BYTES	(256 * 1024)
#define POLICY_LIST_MAX		1024	/* entries of any list */

/* The keys; each is also the name of the rule it sets. */
enum policy_key {
	POL_EXECUTORS,
	POL_COMMANDS,
	POL_SSH_HOSTS,
	POL_HTTP_HOSTS,
	POL_HTTP_NETWORKS,
	POL_ALLOW_PRIVATE_IPS,
	POL_LIMITS,
	POL_DEFAULT_LIMITS,
	POL_RUN_AS,
	POL_DEFAULT_RUN_AS,
	POL_ALLOW_ROOT,
	POL_NETWORK,
	POL_DEFAULT_NETWORK,
	POL_RELAX_SANDBOX,
	POL_VERIFY_HOST_KEY,
	POL_PRIVILEGED_GROUPS,
	POL_UNPRIVILEGED_GROUPS,
	POL_MAX_TASKS_RUNNING,
	POL_MAX_RUNS_RUNNING,
	POL_NKEYS
};

/* The six limits, in struct pf_limits order. */
enum policy_limit {
	PL_MEMORY, PL_SWAP, PL_CPU, PL_PIDS, PL_NOFILE, PL_OUTPUT, PL_N
};

struct pf_policy_net {
	int		 family;	/* AF_INET or AF_INET6 */
	unsigned char	 addr[16];	/* network address, host bits zero */
	unsigned	 prefix;
};

struct pf_policy {
	char		*file;		/* as given; rules name it */
	struct pf_pos	 pos[POL_NKEYS]; /* each key's value; line 0 = absent */
	struct pf_pos	 limit_pos[PL_N];	/* limits.<name> */
	struct pf_pos	 default_limit_pos[PL_N]; /* default_limits.<name> */
	unsigned	 executors;	/* bit (1 << enum task_type) */
	char		**commands;	/* path prefixes; NULL = any */
	size_t		 ncommands;
	char		**ssh_hosts;	/* "host", "*.suffix"; NULL = any */
	size_t		 nssh_hosts;
	char		**http_hosts;	/* same shapes; NULL = any */
	size_t		 nhttp_hosts;
	struct pf_policy_net *http_networks; /* NULL = any address */
	size_t		 nhttp_networks;
	bool		 allow_private_ips;
	struct pf_limits limits;	/* ceilings; -1 = none */
	struct pf_limits default_limits; /* -1 = the supervisor's default */
	char		**run_as;	/* "user", "user:group", "user:*" */
	size_t		 nrun_as;	/* NULL = any user but root */
	char		*default_run_as; /* NULL = the supervisor's choice */
	bool		 allow_root;
	bool		 network;	/* tasks may have network */
	bool		 default_network; /* shell tasks that do not say */
	bool		 relax_sandbox;	/* a task may loosen the defaults */
	bool		 verify_host_key; /* true: required */
	char		**privileged_groups;	/* added to the built-in list */
	size_t		 nprivileged_groups;
	char		**unprivileged_groups;	/* taken out (allow_root) */
	size_t		 nunprivileged_groups;
	/*
	 * Ceilings of config.max_tasks_running and max_runs_running, and of
	 * what a workflow that does not say gets (pf-supervisor's slots);
	 * 0 = none.
	 */
	unsigned	 max_tasks_running;
	unsigned	 max_runs_running;
};

/* The field of limit i in l, to set and to read. */
int64_t	*policy_limit_field(struct pf_limits *l, enum policy_limit i);
int64_t	 policy_limit_get(const struct pf_limits *l, enum policy_limit i);
/* Name of a key (and of its rule): "executors", "limits", ... */
const char *policy_key_name(enum policy_key);
extern const char *const policy_limit_names[PL_N];

/*
 * Load and check a policy.  NULL when the file has any error; every
 * error is added to diags with the policy file's line:column.
 */
struct pf_policy *policy_load_file(const char *path, struct pf_diags *);
struct pf_policy *policy_load_buf(const char *label, const void *buf,
	    size_t len, struct pf_diags *);
void	 policy_free(struct pf_policy *);

/*
 * The user tasks without run_as run as, in order: the operator's choice
 * (--run-as), the policy's default_run_as, "nobody" when the process is
 * root (euid 0), else NULL (the process's own user, no switch).
 */
const char *policy_default_user(const struct pf_policy *,
	    const char *cli_run_as, int is_root);

/*
 * The supervisor's default limits under a policy: default_limits where
 * set, else the given default lowered to the ceiling (a ceiling with no
 * default becomes the default).  -1 stays "none" only without a ceiling.
 */
void	 policy_default_limits(const struct pf_policy *, struct pf_limits *);

/*
 * Rule checks used by the workflow loader.  Each returns 0 when allowed,
 * else -1 with why (a phrase, without the rule's name) in `why`.
 */
int	 policy_check_command(const struct pf_policy *, const char *path,
	    char *why, size_t);
int	 policy_check_ssh_host(const struct pf_policy *, const char *host,
	    char *why, size_t);
int	 policy_check_url(const struct pf_policy *, const char *url,
	    enum policy_key *rule, char *why, size_t);
/*
 * run_as against allow_root, the privileged groups of pg (NULL: resolved
 * here) and the run_as list.  *rule (may be NULL) is POL_ALLOW_ROOT when
 * root or a privileged group is why, else POL_RUN_AS.  *privileged (may
 * be NULL) is 1 when run_as gives a privileged group that the policy
 * allows (allow_root and listed), for the worker's own check.
 */
int	 policy_check_run_as(const struct pf_policy *,
	    const struct privgroup_set *pg, const char *run_as,
	    enum policy_key *rule, int *privileged, char *why, size_t);
/* The privileged groups in force under p (NULL: the built-in list). */
int	 policy_privgroups(const struct pf_policy *p, struct privgroup_set *,
	    struct pf_err *);
/* "256M", "1G", "1536" (bytes) for messages. */
void	 policy_fmt_size(int64_t, char *, size_t);

#endif
