/*
 * Loading a policy file: the root mapping key by key, and the entry
 * points that read a buffer or a file and free the result.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "picoflow/alloc.h"
#include "picoflow/err.h"
#include "picoflow/policy.h"
#include "picoflow/runas.h"
#include "ytree.h"
#include "policy_int.h"

static const char *const executor_names[] = { "shell", "ssh", "http" };
static const char *const verify_words[] = { "required", "optional" };
static void
limits_unset(struct pf_limits *l)
{
	l->memory = l->swap = l->cpu_milli = -1;
	l->pids = l->nofile = l->output = -1;
}

static void
load_root(struct ytree *y, struct pf_policy *p)
{
	const struct ynode *root = yt_r(y->root), *v[POL_NKEYS], *k[POL_NKEYS];
	const struct ynode *it;
	struct privgroup_set pg;
	struct pf_err	 err;
	char		 key[48], a[32], b[32], why[512];
	size_t		 i;
	int		 w, rc;

	if (root == NULL || yt_is_null(root)) {
		/* An empty policy allows what no policy allows. */
		return;
	}
	if (root->kind != YN_MAP) {
		yt_err(y, root, "the top level must be a mapping of policy "
		    "rules, not %s", yt_kind_name(root));
		return;
	}
	yt_map_collect(y, root, policy_keys, POL_NKEYS, "the policy", v, k);
	for (i = 0; i < POL_NKEYS; i++)
		pol_pos_set(p, (int)i, v[i]);

	if (yt_get_list(y, v[POL_EXECUTORS], "", "executors", 3, &it) == 1) {
		p->executors = 0;
		for (i = 0, it = it->child; it != NULL; i++, it = it->next) {
			(void)snprintf(key, sizeof(key), "executors[%zu]", i);
			if ((rc = yt_get_word(y, it, "", key, executor_names,
			    3, &w)) == 1)
				p->executors |= 1u << w;
			else if (rc == 0)
				yt_err(y, it, "%s: missing value", key);
		}
	}
	(void)yt_get_strlist(y, v[POL_COMMANDS], "", "commands",
	    POLICY_LIST_MAX, POL_STR_MAX, 1, &p->commands, &p->ncommands);
	pol_load_hosts(y, v[POL_SSH_HOSTS], "ssh_hosts", &p->ssh_hosts,
	    &p->nssh_hosts);
	pol_load_hosts(y, v[POL_HTTP_HOSTS], "http_hosts", &p->http_hosts,
	    &p->nhttp_hosts);
	pol_load_networks(y, v[POL_HTTP_NETWORKS], p);
	(void)yt_get_bool(y, v[POL_ALLOW_PRIVATE_IPS], "", "allow_private_ips",
	    &p->allow_private_ips);
	pol_load_limits(y, v[POL_LIMITS], "limits", &p->limits, p->limit_pos);
	pol_load_limits(y, v[POL_DEFAULT_LIMITS], "default_limits",
	    &p->default_limits, p->default_limit_pos);
	(void)yt_get_bool(y, v[POL_ALLOW_ROOT], "", "allow_root",
	    &p->allow_root);
	pol_load_groups(y, v, p);
	if (privgroup_set_load(&pg, p->privileged_groups,
	    p->nprivileged_groups, p->unprivileged_groups,
	    p->nunprivileged_groups, &err) == -1) {
		if (errno == ENOMEM)
			y->oom = 1;
		else
			yt_diag(y, PF_SEV_ERROR, 0, 0, "the privileged groups "
			    "cannot be listed: %s", err.msg);
		return;
	}
	if (yt_get_strlist(y, v[POL_RUN_AS], "", "run_as", POLICY_LIST_MAX,
	    PRIVGROUP_RUN_AS_MAX + 1, 0, &p->run_as, &p->nrun_as) == 1) {
		for (i = 0, it = yt_r(v[POL_RUN_AS])->child; i < p->nrun_as;
		    i++, it = it->next) {
			if (p->run_as[i] == NULL)
				continue;
			if (!pol_user_ok(p->run_as[i], 1))
				yt_err(y, it, "run_as[%zu]: '%s' is not a user, "
				    "user:group, user:group,group,... or user:* "
				    "(names or numeric ids)", i,
				    yt_shown(y, it));
			else if (runas_is_root(p->run_as[i]) &&
			    !p->allow_root)
				yt_err(y, it, "run_as[%zu]: '%s' is root, but "
				    "allow_root is not true", i,
				    yt_shown(y, it));
			else if (!p->allow_root && privgroup_check(&pg,
			    p->run_as[i], why, sizeof(why)))
				yt_err(y, it, "run_as[%zu]: '%s': %s; a "
				    "privileged group is refused like root, "
				    "but allow_root is not true", i,
				    yt_shown(y, it), why);
		}
	}
	if (yt_get_str(y, v[POL_DEFAULT_RUN_AS], "", "default_run_as", 0,
	    PRIVGROUP_RUN_AS_MAX + 1, &p->default_run_as) == 1) {
		it = yt_r(v[POL_DEFAULT_RUN_AS]);
		if (!pol_user_ok(p->default_run_as, 0))
			yt_err(y, it, "default_run_as: '%s' is not a user, "
			    "user:group or user:group,group,... (names or "
			    "numeric ids)", yt_shown(y, it));
		else if (runas_is_root(p->default_run_as) && !p->allow_root)
			yt_err(y, it, "default_run_as: '%s' is root, but "
			    "allow_root is not true", yt_shown(y, it));
		else if (!p->allow_root && privgroup_check(&pg,
		    p->default_run_as, why, sizeof(why)))
			yt_err(y, it, "default_run_as: '%s': %s; a privileged "
			    "group is refused like root, but allow_root is not "
			    "true", yt_shown(y, it), why);
		else if (p->run_as != NULL &&
		    pol_run_as_listed(p, p->default_run_as) == 0)
			yt_err(y, it, "default_run_as: '%s' is not in the "
			    "policy's run_as list", yt_shown(y, it));
	}
	privgroup_set_free(&pg);
	(void)yt_get_bool(y, v[POL_NETWORK], "", "network", &p->network);
	(void)yt_get_bool(y, v[POL_DEFAULT_NETWORK], "", "default_network",
	    &p->default_network);
	if (!p->network && p->default_network && v[POL_DEFAULT_NETWORK] !=
	    NULL && !yt_is_null(yt_r(v[POL_DEFAULT_NETWORK])))
		yt_err(y, yt_r(v[POL_DEFAULT_NETWORK]), "default_network: true "
		    "contradicts network: false");
	(void)yt_get_bool(y, v[POL_RELAX_SANDBOX], "", "relax_sandbox",
	    &p->relax_sandbox);
	if (yt_get_word(y, v[POL_VERIFY_HOST_KEY], "", "verify_host_key",
	    verify_words, 2, &w) == 1)
		p->verify_host_key = w == 0;
	{
		long long	 x;

		if (yt_get_int(y, v[POL_MAX_TASKS_RUNNING], "",
		    "max_tasks_running", 1, WF_RUNNING_MAX, &x) == 1)
			p->max_tasks_running = (unsigned)x;
		if (yt_get_int(y, v[POL_MAX_RUNS_RUNNING], "",
		    "max_runs_running", 1, WF_RUNNING_MAX, &x) == 1)
			p->max_runs_running = (unsigned)x;
	}

	/* A default above its ceiling could never be used. */
	for (i = 0; i < PL_N; i++) {
		int64_t	 d = policy_limit_get(&p->default_limits,
		    (enum policy_limit)i);
		int64_t	 c = policy_limit_get(&p->limits,
		    (enum policy_limit)i);

		if (d < 0 || c < 0 || d <= c)
			continue;
		if (i == PL_CPU) {
			(void)snprintf(a, sizeof(a), "%lld.%03lld cores",
			    (long long)d / 1000, (long long)d % 1000);
			(void)snprintf(b, sizeof(b), "%lld.%03lld cores",
			    (long long)c / 1000, (long long)c % 1000);
		} else if (i == PL_PIDS || i == PL_NOFILE) {
			(void)snprintf(a, sizeof(a), "%lld", (long long)d);
			(void)snprintf(b, sizeof(b), "%lld", (long long)c);
		} else {
			policy_fmt_size(d, a, sizeof(a));
			policy_fmt_size(c, b, sizeof(b));
		}
		yt_diag(y, PF_SEV_ERROR, p->default_limit_pos[i].line,
		    p->default_limit_pos[i].col, "default_limits.%s: %s is "
		    "above the ceiling limits.%s %s (line %u)",
		    policy_limit_names[i], a, policy_limit_names[i], b,
		    p->limit_pos[i].line);
	}
}

struct pf_policy *
policy_load_buf(const char *label, const void *buf, size_t len,
    struct pf_diags *diags)
{
	struct ytree	 y;
	struct pf_policy *p = NULL;
	struct pf_diags	 none;
	size_t		 n0;

	pf_diags_init(&none);
	if (diags == NULL)
		diags = &none;
	n0 = diags->n;
	memset(&y, 0, sizeof(y));
	y.file = label != NULL ? label : "<policy>";
	y.what = "policy";
	y.diags = diags;
	y.max_depth = POL_MAX_DEPTH;
	y.max_nodes = POL_MAX_NODES;
	if (yt_parse(&y, buf, len, POLICY_MAX_BYTES) == -1)
		goto out;
	if ((p = pf_calloc(1, sizeof(*p))) == NULL ||
	    (p->file = pf_strdup(y.file)) == NULL) {
		y.oom = 1;
		goto out;
	}
	p->executors = (1u << TASK_SHELL) | (1u << TASK_SSH) |
	    (1u << TASK_HTTP);
	limits_unset(&p->limits);
	limits_unset(&p->default_limits);
	p->network = true;
	p->default_network = true;
	p->verify_host_key = true;
	load_root(&y, p);
out:
	yt_free(&y);
	if (y.oom)
		yt_diag(&y, PF_SEV_ERROR, 0, 0, "out of memory while loading "
		    "the policy");
	if (y.failed || y.oom) {
		policy_free(p);
		p = NULL;
	}
	yt_diags_sort(diags, n0);
	pf_diags_free(&none);
	return p;
}

struct pf_policy *
policy_load_file(const char *path, struct pf_diags *diags)
{
	struct pf_policy *p = NULL;
	struct pf_diags	 none;
	unsigned char	*buf;
	size_t		 len;

	pf_diags_init(&none);
	if (diags == NULL)
		diags = &none;
	if (yt_read_file(path, "policy", POLICY_MAX_BYTES, diags, &buf,
	    &len) == 0) {
		p = policy_load_buf(path, buf, len, diags);
		pf_free(buf);
	}
	pf_diags_free(&none);
	return p;
}

void
policy_free(struct pf_policy *p)
{
	if (p == NULL)
		return;
	pf_free(p->file);
	pf_strv_free(p->commands, p->ncommands);
	pf_strv_free(p->ssh_hosts, p->nssh_hosts);
	pf_strv_free(p->http_hosts, p->nhttp_hosts);
	pf_free(p->http_networks);
	pf_strv_free(p->run_as, p->nrun_as);
	pf_free(p->default_run_as);
	pf_strv_free(p->privileged_groups, p->nprivileged_groups);
	pf_strv_free(p->unprivileged_groups, p->nunprivileged_groups);
	pf_free(p);
}
