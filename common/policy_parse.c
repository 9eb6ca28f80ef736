/*
 * The policy file's values: host and host-pattern lists, networks in CIDR
 * form, a limits mapping, user names and the privileged groups, each
 * checked with its position.
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

void
pol_load_hosts(struct ytree *y, const struct ynode *v, const char *key,
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

void
pol_load_networks(struct ytree *y, const struct ynode *v, struct pf_policy *p)
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

void
pol_load_limits(struct ytree *y, const struct ynode *v, const char *base,
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
int
pol_user_ok(const char *s, int star)
{
	return privgroup_run_as_ok(s, star);
}

/* 1 for an exact entry, 2 for "user:*" of run_as's user, else 0. */
int
pol_run_as_listed(const struct pf_policy *p, const char *run_as)
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
int
pol_own_groups(const char *run_as, char *why, size_t len)
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
void
pol_load_groups(struct ytree *y, const struct ynode *const *v,
    struct pf_policy *p)
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

void
pol_pos_set(struct pf_policy *p, int k, const struct ynode *v)
{
	v = yt_r(v);
	if (v == NULL)
		return;
	p->pos[k].line = v->line;
	p->pos[k].col = v->col;
}
