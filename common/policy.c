/*
 * The policy file: what workflows may ask for (see policy.h and
 * docs/security.md).  Read with the workflow loader's YAML tree
 * (ytree.c): size, depth and alias caps, UTF-8 only, every problem
 * reported with file:line:column and the closest key suggested.  The
 * checks a workflow must pass are the policy_check_* functions, called by
 * the workflow loader where it knows the offending value's position.
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

#define POL_STR_MAX		4096
#define POL_HOST_MAX		255
#define POL_MAX_DEPTH		32
#define POL_MAX_NODES		20000
#define POL_PIDS_MAX		4194304
#define POL_NOFILE_MAX		1048576

static const char *const policy_keys[POL_NKEYS] = {
	"executors", "commands", "ssh_hosts", "http_hosts", "http_networks",
	"allow_private_ips", "limits", "default_limits", "run_as",
	"default_run_as", "allow_root", "network", "default_network",
	"relax_sandbox", "verify_host_key", "privileged_groups",
	"unprivileged_groups", "max_tasks_running", "max_runs_running",
};

const char *const policy_limit_names[PL_N] = {
	"memory", "swap", "cpu", "pids", "nofile", "output",
};

static const char *const executor_names[] = { "shell", "ssh", "http" };
static const char *const verify_words[] = { "required", "optional" };

const char *
policy_key_name(enum policy_key k)
{
	return (unsigned)k < POL_NKEYS ? policy_keys[k] : "?";
}

int64_t *
policy_limit_field(struct pf_limits *l, enum policy_limit i)
{
	switch (i) {
	case PL_MEMORY:
		return &l->memory;
	case PL_SWAP:
		return &l->swap;
	case PL_CPU:
		return &l->cpu_milli;
	case PL_PIDS:
		return &l->pids;
	case PL_NOFILE:
		return &l->nofile;
	default:
		return &l->output;
	}
}

int64_t
policy_limit_get(const struct pf_limits *l, enum policy_limit i)
{
	switch (i) {
	case PL_MEMORY:
		return l->memory;
	case PL_SWAP:
		return l->swap;
	case PL_CPU:
		return l->cpu_milli;
	case PL_PIDS:
		return l->pids;
	case PL_NOFILE:
		return l->nofile;
	default:
		return l->output;
	}
}

static void
limits_unset(struct pf_limits *l)
{
	l->memory = l->swap = l->cpu_milli = -1;
	l->pids = l->nofile = l->output = -1;
}

void
policy_fmt_size(int64_t v, char *buf, size_t len)
{
	static const char sfx[] = "GMK";
	int64_t	 unit = 1LL << 30;
	int	 i;

	for (i = 0; i < 3; i++, unit >>= 10)
		if (v > 0 && v % unit == 0) {
			(void)snprintf(buf, len, "%lld%c",
			    (long long)(v / unit), sfx[i]);
			return;
		}
	(void)snprintf(buf, len, "%lld", (long long)v);
}

/* ------------------------------------------------------------- parsing */

/* A host name, IPv4 or IPv6 address (no brackets), for lists. */
static int
host_ok(const char *s)
{
	struct in6_addr	 a6;
	size_t		 i, len = strlen(s), lab = 0;

	if (len == 0 || len > POL_HOST_MAX)
		return 0;
	if (strchr(s, ':') != NULL)
		return inet_pton(AF_INET6, s, &a6) == 1;
	for (i = 0; i < len; i++) {
		if (s[i] == '.') {
			if (lab == 0)
				return 0;
			lab = 0;
			continue;
		}
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
		    s[i] == '_') || ++lab > 63)
			return 0;
	}
	return lab > 0;
}

/* "host" or "*.suffix". */
static int
host_pattern_ok(const char *s)
{
	if (s[0] == '*')
		return s[1] == '.' && host_ok(s + 2) &&
		    strchr(s + 2, ':') == NULL;
	return host_ok(s);
}

static void
load_hosts(struct ytree *y, const struct ynode *v, const char *key,
    char ***out, size_t *n)
{
	const struct ynode *it;
	size_t		 i;

	if (yt_get_strlist(y, v, "", key, POLICY_LIST_MAX, POL_HOST_MAX + 2, 0,
	    out, n) != 1)
		return;
	for (i = 0, it = yt_r(v)->child; i < *n; i++, it = it->next)
		if ((*out)[i] != NULL && !host_pattern_ok((*out)[i]))
			yt_err(y, it, "%s[%zu]: '%s' is not a host name, an "
			    "IP address or *.domain", key, i,
			    yt_shown(y, it));
}

/* a.b.c.d[/n] or v6[/n]; 0 ok, else -1 with why. */
static int
parse_net(const char *s, struct pf_policy_net *net, const char **why)
{
	char		 tmp[INET6_ADDRSTRLEN + 8];
	const char	*slash = strchr(s, '/');
	size_t		 alen = slash ? (size_t)(slash - s) : strlen(s);
	unsigned	 max, p = 0, i, bits;
	const char	*d;

	*why = "is not an address or address/prefix (e.g. 10.0.0.0/8)";
	if (alen == 0 || alen >= sizeof(tmp))
		return -1;
	memcpy(tmp, s, alen);
	tmp[alen] = '\0';
	memset(net, 0, sizeof(*net));
	if (inet_pton(AF_INET, tmp, net->addr) == 1) {
		net->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, tmp, net->addr) == 1) {
		net->family = AF_INET6;
		max = 128;
	} else
		return -1;
	if (slash == NULL)
		p = max;
	else {
		d = slash + 1;
		if (*d < '0' || *d > '9')
			return -1;
		for (; *d >= '0' && *d <= '9'; d++) {
			p = p * 10 + (unsigned)(*d - '0');
			if (p > max) {
				*why = net->family == AF_INET ? "has a prefix "
				    "longer than 32" : "has a prefix longer "
				    "than 128";
				return -1;
			}
		}
		if (*d != '\0')
			return -1;
	}
	net->prefix = p;
	for (i = 0; i < max / 8; i++) {
		bits = i * 8 >= p ? 0xff : i * 8 + 8 <= p ? 0 :
		    0xffu >> (p - i * 8);
		if (net->addr[i] & bits) {
			*why = "has bits set after the prefix (write the "
			    "network address)";
			return -1;
		}
	}
	return 0;
}

static void
load_networks(struct ytree *y, const struct ynode *v, struct pf_policy *p)
{
	const struct ynode *l, *it;
	const char	*why;
	char		*s;
	size_t		 i;
	char		 key[48];

	if (yt_get_list(y, v, "", "http_networks", POLICY_LIST_MAX, &l) != 1)
		return;
	if ((p->http_networks = pf_calloc(l->n + 1,
	    sizeof(*p->http_networks))) == NULL) {
		y->oom = 1;
		return;
	}
	p->nhttp_networks = l->n;
	for (i = 0, it = l->child; it != NULL; i++, it = it->next) {
		(void)snprintf(key, sizeof(key), "http_networks[%zu]", i);
		s = NULL;
		if (yt_get_str(y, it, "", key, 1, 64, &s) != 1)
			continue;
		if (parse_net(s, &p->http_networks[i], &why) == -1)
			yt_err(y, it, "%s: '%s' %s", key, yt_shown(y, it), why);
		pf_free(s);
	}
}

static void
load_limits(struct ytree *y, const struct ynode *v, const char *base,
    struct pf_limits *lim, struct pf_pos *pos)
{
	const struct ynode *vals[PL_N], *keys[PL_N], *s;
	char		 key[48];
	long long	 x;
	int		 i, rc;

	v = yt_r(v);
	if (v == NULL || yt_is_null(v))
		return;
	if (v->kind != YN_MAP) {
		yt_err(y, v, "%s: expected a mapping (memory, swap, cpu, pids, "
		    "nofile, output), got %s", base, yt_kind_name(v));
		return;
	}
	yt_map_collect(y, v, policy_limit_names, PL_N, base, vals, keys);
	for (i = 0; i < PL_N; i++) {
		if (vals[i] == NULL)
			continue;
		(void)snprintf(key, sizeof(key), "%s.%s", base,
		    policy_limit_names[i]);
		rc = 0;
		switch (i) {
		case PL_MEMORY:
			rc = yt_get_size(y, vals[i], "", key, 1, &x);
			break;
		case PL_SWAP:
			rc = yt_get_size(y, vals[i], "", key, 0, &x);
			break;
		case PL_OUTPUT:
			rc = yt_get_size(y, vals[i], "", key, 0, &x);
			if (rc == 1 && x > PF_OUTPUT_CAP_MAX) {
				yt_err(y, yt_r(vals[i]), "%s: %s is more than "
				    "the largest output cap, 4G", key,
				    yt_shown(y, yt_r(vals[i])));
				rc = -1;
			}
			break;
		case PL_PIDS:
			rc = yt_get_int(y, vals[i], "", key, 1, POL_PIDS_MAX,
			    &x);
			break;
		case PL_NOFILE:
			rc = yt_get_int(y, vals[i], "", key, 1,
			    POL_NOFILE_MAX, &x);
			break;
		case PL_CPU:
			if (yt_get_scalar(y, vals[i], "", key, 0, &s) != 1)
				break;
			rc = yt_parse_cpu(s->text, &x);
			if (rc == -1)
				yt_err(y, s, "%s: '%s' is not a number of cores "
				    "(e.g. 0.5 or 2)", key, yt_shown(y, s));
			else if (rc == -3)
				yt_err(y, s, "%s: '%s' has more than 3 "
				    "decimals", key, yt_shown(y, s));
			else if (rc == -2 || x < 1 || x > YT_CPU_MILLI_MAX)
				yt_err(y, s, "%s: %s is out of range "
				    "0.001..%d cores", key, yt_shown(y, s),
				    YT_CPU_MILLI_MAX / 1000);
			rc = rc == 0 && x >= 1 && x <= YT_CPU_MILLI_MAX ? 1 :
			    -1;
			break;
		}
		if (rc == 1) {
			*policy_limit_field(lim, (enum policy_limit)i) = x;
			pos[i].line = yt_r(vals[i])->line;
			pos[i].col = yt_r(vals[i])->col;
		}
	}
}

/* user[:group[,group...]], names or ids; "user:*" only in the list. */
static int
user_ok(const char *s, int star)
{
	return privgroup_run_as_ok(s, star);
}

/* 1 for an exact entry, 2 for "user:*" of run_as's user, else 0. */
static int
run_as_listed(const struct pf_policy *p, const char *run_as)
{
	size_t		 i, ul = strcspn(run_as, ":");
	const char	*e;
	int		 star = 0;

	for (i = 0; i < p->nrun_as; i++) {
		/* An entry that failed to load (the policy is refused). */
		if ((e = p->run_as[i]) == NULL)
			continue;
		if (strcmp(e, run_as) == 0)
			return 1;
		/* user:* allows the user with its own groups (checked). */
		if (strncmp(e, run_as, ul) == 0 && strcmp(e + ul, ":*") == 0)
			star = 1;
	}
	return star ? 2 : 0;
}

/*
 * Every group run_as names is one of its user's own (the password
 * database's primary group or a membership in the group database); 0,
 * else -1 with why.
 */
static int
own_groups(const char *run_as, char *why, size_t len)
{
	const char	*colon = strchr(run_as, ':'), *g, *e;
	char		 user[64], name[64];
	gid_t		 mine[256], gid;
	struct passwd	*pw;
	struct group	*gr;
	int		 n = (int)(sizeof(mine) / sizeof(mine[0])), i;
	size_t		 ul;

	if (colon == NULL)
		return 0;
	ul = (size_t)(colon - run_as);
	if (ul >= sizeof(user))
		return -1;
	memcpy(user, run_as, ul);
	user[ul] = '\0';
	if ((pw = getpwnam(user)) == NULL) {
		(void)snprintf(why, len, "'%s': no user '%s' on this host, so "
		    "its groups cannot be checked against '%s:*'", run_as,
		    user, user);
		return -1;
	}
	/* More than 256 groups: the rest are not seen, never granted. */
	if (getgrouplist(pw->pw_name, pw->pw_gid, mine, &n) == -1)
		n = (int)(sizeof(mine) / sizeof(mine[0]));
	for (g = colon + 1;; g = e + 1) {
		e = g + strcspn(g, ",");
		if ((size_t)(e - g) >= sizeof(name))
			return -1;
		memcpy(name, g, (size_t)(e - g));
		name[e - g] = '\0';
		if ((gr = getgrnam(name)) == NULL) {
			(void)snprintf(why, len, "'%s': no group '%s' on this "
			    "host, so it cannot be checked against '%s:*'",
			    run_as, name, user);
			return -1;
		}
		gid = gr->gr_gid;
		for (i = 0; i < n; i++)
			if (mine[i] == gid)
				break;
		if (i == n) {
			(void)snprintf(why, len, "'%s': user '%s' is not a "
			    "member of group '%s', and '%s:*' allows only the "
			    "user's own groups", run_as, user, name, user);
			return -1;
		}
		if (*e == '\0')
			return 0;
	}
}

/* privileged_groups (added) and unprivileged_groups (taken out). */
static void
load_groups(struct ytree *y, const struct ynode *const *v, struct pf_policy *p)
{
	const struct ynode *it;
	size_t		 i;

	if (yt_get_strlist(y, v[POL_PRIVILEGED_GROUPS], "", "privileged_groups",
	    POLICY_LIST_MAX, 33, 0, &p->privileged_groups,
	    &p->nprivileged_groups) == 1)
		for (i = 0, it = yt_r(v[POL_PRIVILEGED_GROUPS])->child;
		    i < p->nprivileged_groups; i++, it = it->next)
			if (p->privileged_groups[i] != NULL &&
			    !workflow_user_part_ok(p->privileged_groups[i],
			    strlen(p->privileged_groups[i])))
				yt_err(y, it, "privileged_groups[%zu]: '%s' is "
				    "not a group name or numeric id", i,
				    yt_shown(y, it));
	if (yt_get_strlist(y, v[POL_UNPRIVILEGED_GROUPS], "",
	    "unprivileged_groups", POLICY_LIST_MAX, 33, 0,
	    &p->unprivileged_groups, &p->nunprivileged_groups) != 1)
		return;
	for (i = 0, it = yt_r(v[POL_UNPRIVILEGED_GROUPS])->child;
	    i < p->nunprivileged_groups; i++, it = it->next) {
		if (p->unprivileged_groups[i] == NULL)
			continue;
		if (!p->allow_root)
			yt_err(y, it, "unprivileged_groups[%zu]: '%s': the "
			    "built-in privileged groups may be narrowed only "
			    "by a policy that says allow_root: true", i,
			    yt_shown(y, it));
		else if (strcmp(p->unprivileged_groups[i], "root") == 0 ||
		    privgroup_builtin_find(p->unprivileged_groups[i]) == NULL)
			yt_err(y, it, "unprivileged_groups[%zu]: '%s' is not "
			    "one of the built-in privileged groups (root "
			    "never leaves the list)", i, yt_shown(y, it));
	}
}

static void
pos_set(struct pf_policy *p, int k, const struct ynode *v)
{
	v = yt_r(v);
	if (v == NULL)
		return;
	p->pos[k].line = v->line;
	p->pos[k].col = v->col;
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
		pos_set(p, (int)i, v[i]);

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
	load_hosts(y, v[POL_SSH_HOSTS], "ssh_hosts", &p->ssh_hosts,
	    &p->nssh_hosts);
	load_hosts(y, v[POL_HTTP_HOSTS], "http_hosts", &p->http_hosts,
	    &p->nhttp_hosts);
	load_networks(y, v[POL_HTTP_NETWORKS], p);
	(void)yt_get_bool(y, v[POL_ALLOW_PRIVATE_IPS], "", "allow_private_ips",
	    &p->allow_private_ips);
	load_limits(y, v[POL_LIMITS], "limits", &p->limits, p->limit_pos);
	load_limits(y, v[POL_DEFAULT_LIMITS], "default_limits",
	    &p->default_limits, p->default_limit_pos);
	(void)yt_get_bool(y, v[POL_ALLOW_ROOT], "", "allow_root",
	    &p->allow_root);
	load_groups(y, v, p);
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
			if (!user_ok(p->run_as[i], 1))
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
		if (!user_ok(p->default_run_as, 0))
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
		    run_as_listed(p, p->default_run_as) == 0)
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

/* ------------------------------------------------------------ defaults */

const char *
policy_default_user(const struct pf_policy *p, const char *cli_run_as,
    int is_root)
{
	if (cli_run_as != NULL && cli_run_as[0] != '\0')
		return cli_run_as;
	if (p != NULL && p->default_run_as != NULL)
		return p->default_run_as;
	return is_root ? "nobody" : NULL;
}

void
policy_default_limits(const struct pf_policy *p, struct pf_limits *l)
{
	int64_t	*v, c, d;
	int	 i;

	if (p == NULL)
		return;
	for (i = 0; i < PL_N; i++) {
		v = policy_limit_field(l, (enum policy_limit)i);
		d = policy_limit_get(&p->default_limits, (enum policy_limit)i);
		c = policy_limit_get(&p->limits, (enum policy_limit)i);
		if (d >= 0)
			*v = d;
		else if (c >= 0 && (*v < 0 || *v > c))
			*v = c;
	}
}

/* -------------------------------------------------------------- checks */

/* Path components of `path` start with those of `prefix`. */
static int
path_under(const char *path, const char *prefix)
{
	const char	*a = path, *b = prefix;
	size_t		 la, lb;

	for (;;) {
		while (*a == '/')
			a++;
		while (*b == '/')
			b++;
		if (*b == '\0')
			return 1;
		la = strcspn(a, "/");
		lb = strcspn(b, "/");
		if (la != lb || memcmp(a, b, la) != 0)
			return 0;
		a += la;
		b += lb;
	}
}

static int
has_dot_component(const char *path)
{
	const char	*s = path;
	size_t		 n;

	for (;;) {
		while (*s == '/')
			s++;
		if (*s == '\0')
			return 0;
		n = strcspn(s, "/");
		if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' &&
		    s[1] == '.'))
			return 1;
		s += n;
	}
}

/* "a, b, c" (or the first few) for messages. */
static void
list_str(char *const *v, size_t n, char *buf, size_t len)
{
	size_t	 i, o = 0;
	int	 w;

	buf[0] = '\0';
	for (i = 0; i < n && o < len; i++) {
		if (i == 4) {
			(void)snprintf(buf + o, len - o, ", ... (%zu in all)",
			    n);
			return;
		}
		w = snprintf(buf + o, len - o, "%s%s", i ? ", " : "", v[i]);
		if (w < 0)
			return;
		o += (size_t)w;
	}
}

int
policy_check_command(const struct pf_policy *p, const char *path, char *why,
    size_t len)
{
	char	 l[256];
	size_t	 i;

	if (p->commands == NULL)
		return 0;
	if (has_dot_component(path)) {
		(void)snprintf(why, len, "'%s' has a '.' or '..' component; "
		    "the policy's command prefixes need a plain path", path);
		return -1;
	}
	for (i = 0; i < p->ncommands; i++)
		if (p->commands[i] != NULL && path_under(path, p->commands[i]))
			return 0;
	list_str(p->commands, p->ncommands, l, sizeof(l));
	(void)snprintf(why, len, "'%s' is not under an allowed path (%s)",
	    path, p->ncommands ? l : "none");
	return -1;
}

static int
host_match(const char *pat, const char *host)
{
	struct in6_addr	 a, b;
	size_t		 lp, lh;

	if (pat[0] == '*') {
		lp = strlen(pat + 1);	/* ".suffix" */
		lh = strlen(host);
		return lh > lp && strcasecmp(host + lh - lp, pat + 1) == 0;
	}
	if (strchr(pat, ':') != NULL && strchr(host, ':') != NULL &&
	    inet_pton(AF_INET6, pat, &a) == 1 &&
	    inet_pton(AF_INET6, host, &b) == 1)
		return memcmp(&a, &b, sizeof(a)) == 0;
	return strcasecmp(pat, host) == 0;
}

static int
host_listed(char *const *v, size_t n, const char *host)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (v[i] != NULL && host_match(v[i], host))
			return 1;
	return 0;
}

int
policy_check_ssh_host(const struct pf_policy *p, const char *host,
    char *why, size_t len)
{
	char	 l[256];

	if (p->ssh_hosts == NULL || host_listed(p->ssh_hosts, p->nssh_hosts,
	    host))
		return 0;
	list_str(p->ssh_hosts, p->nssh_hosts, l, sizeof(l));
	if (strstr(host, "${") != NULL)
		(void)snprintf(why, len, "'%s' is a placeholder, which cannot "
		    "be checked against the allowed hosts (%s)", host,
		    p->nssh_hosts ? l : "none");
	else
		(void)snprintf(why, len, "'%s' is not an allowed host (%s)",
		    host, p->nssh_hosts ? l : "none");
	return -1;
}

static int
net_contains(const struct pf_policy_net *n, int family,
    const unsigned char *addr)
{
	unsigned	 full = n->prefix / 8, rest = n->prefix % 8;
	unsigned char	 mask;

	if (n->family != family)
		return 0;
	if (memcmp(n->addr, addr, full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	mask = (unsigned char)(0xff00u >> rest);
	return (n->addr[full] & mask) == (addr[full] & mask);
}

/* The host of a URL the loader has accepted, without brackets. */
static int
url_host(const char *url, char *host, size_t len)
{
	const char	*h, *he, *p, *at;
	size_t		 n;

	if ((h = strstr(url, "://")) == NULL)
		return -1;
	h += 3;
	he = h + strcspn(h, "/?#");
	for (at = NULL, p = h; p < he; p++)
		if (*p == '@')
			at = p;
	if (at != NULL)
		h = at + 1;
	if (*h == '[') {
		h++;
		if ((p = memchr(h, ']', (size_t)(he - h))) == NULL)
			return -1;
	} else if ((p = memchr(h, ':', (size_t)(he - h))) == NULL)
		p = he;
	n = (size_t)(p - h);
	if (n == 0 || n >= len)
		return -1;
	memcpy(host, h, n);
	host[n] = '\0';
	return 0;
}

int
policy_check_url(const struct pf_policy *p, const char *url,
    enum policy_key *rule, char *why, size_t len)
{
	unsigned char	 a[16];
	char		 host[POL_HOST_MAX + 1], l[256];
	int		 fam = 0;
	size_t		 i;

	if (p->http_hosts == NULL && p->http_networks == NULL)
		return 0;
	*rule = p->http_hosts != NULL ? POL_HTTP_HOSTS : POL_HTTP_NETWORKS;
	if (url_host(url, host, sizeof(host)) == -1 ||
	    strstr(host, "${") != NULL) {
		(void)snprintf(why, len, "its host cannot be checked against "
		    "the policy (a placeholder or no host)");
		return -1;
	}
	if (inet_pton(AF_INET, host, a) == 1)
		fam = AF_INET;
	else if (inet_pton(AF_INET6, host, a) == 1)
		fam = AF_INET6;
	if (p->http_hosts != NULL && host_listed(p->http_hosts,
	    p->nhttp_hosts, host))
		return 0;
	if (fam != 0 && p->http_networks != NULL)
		for (i = 0; i < p->nhttp_networks; i++)
			if (net_contains(&p->http_networks[i], fam, a))
				return 0;
	if (fam != 0 && p->http_networks != NULL) {
		*rule = POL_HTTP_NETWORKS;
		(void)snprintf(why, len, "address %s is in none of the allowed "
		    "networks%s", host, p->http_hosts != NULL ? " nor an "
		    "allowed host" : "");
		return -1;
	}
	if (p->http_hosts == NULL) {
		(void)snprintf(why, len, "host '%s' is a name; only addresses "
		    "can be checked against http_networks (list the name in "
		    "http_hosts)", host);
		return -1;
	}
	list_str(p->http_hosts, p->nhttp_hosts, l, sizeof(l));
	(void)snprintf(why, len, "host '%s' is not an allowed host (%s)", host,
	    p->nhttp_hosts ? l : "none");
	return -1;
}

int
policy_privgroups(const struct pf_policy *p, struct privgroup_set *pg,
    struct pf_err *err)
{
	if (p == NULL)
		return privgroup_set_load(pg, NULL, 0, NULL, 0, err);
	return privgroup_set_load(pg, p->privileged_groups,
	    p->nprivileged_groups, p->allow_root ? p->unprivileged_groups :
	    NULL, p->allow_root ? p->nunprivileged_groups : 0, err);
}

int
policy_check_run_as(const struct pf_policy *p, const struct privgroup_set *pg,
    const char *run_as, enum policy_key *rule, int *privileged, char *why,
    size_t len)
{
	struct privgroup_set own;
	struct pf_err	 err;
	char		 l[256], pwhy[384];
	int		 priv, listed;

	if (privileged != NULL)
		*privileged = 0;
	if (rule != NULL)
		*rule = POL_ALLOW_ROOT;
	if (runas_is_root(run_as) && !p->allow_root) {
		(void)snprintf(why, len, "'%s' is root (as user or group), "
		    "which the policy does not allow", run_as);
		return -1;
	}
	if (pg == NULL) {
		if (policy_privgroups(p, &own, &err) == -1) {
			(void)snprintf(why, len, "%s", err.msg);
			return -1;
		}
		priv = privgroup_check(&own, run_as, pwhy, sizeof(pwhy));
		privgroup_set_free(&own);
	} else
		priv = privgroup_check(pg, run_as, pwhy, sizeof(pwhy));
	if (priv && !p->allow_root) {
		(void)snprintf(why, len, "%s; a privileged group is refused "
		    "like root, which the policy does not allow", pwhy);
		return -1;
	}
	if (rule != NULL)
		*rule = POL_RUN_AS;
	listed = p->run_as == NULL ? 1 : run_as_listed(p, run_as);
	if (listed == 2 && priv) {
		(void)snprintf(why, len, "%s; '%.*s:*' never allows a "
		    "privileged group (list '%s' itself)", pwhy,
		    (int)strcspn(run_as, ":"), run_as, run_as);
		return -1;
	}
	if (listed == 2 && own_groups(run_as, why, len) == -1)
		return -1;
	if (listed != 0) {
		if (privileged != NULL)
			*privileged = priv;
		return 0;
	}
	list_str(p->run_as, p->nrun_as, l, sizeof(l));
	(void)snprintf(why, len, "'%s' is not an allowed user (%s)", run_as,
	    p->nrun_as ? l : "none");
	return -1;
}
