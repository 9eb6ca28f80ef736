/*
 * The checks a workflow's task must pass against the policy: its command
 * under an allowed prefix, its ssh host and URL host in the lists (and
 * the URL's address outside private networks unless allowed), its run_as
 * listed and its groups not privileged.
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
	listed = p->run_as == NULL ? 1 : pol_run_as_listed(p, run_as);
	if (listed == 2 && priv) {
		(void)snprintf(why, len, "%s; '%.*s:*' never allows a "
		    "privileged group (list '%s' itself)", pwhy,
		    (int)strcspn(run_as, ":"), run_as, run_as);
		return -1;
	}
	if (listed == 2 && pol_own_groups(run_as, why, len) == -1)
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
