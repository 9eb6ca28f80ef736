/*
 * The workflow loader's value checks: placeholders, IPv4/IPv6 addresses,
 * host names, ssh hosts and http URLs, header names, and the maps of names
 * to values that env and headers are.
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

static int
has_placeholder(const char *s)
{
	return strstr(s, "${") != NULL;
}

static int
ipv4_ok(const char *s)
{
	struct in_addr	 a;

	return inet_pton(AF_INET, s, &a) == 1;
}

static int
ipv6_ok(const char *s, size_t len)
{
	struct in6_addr	 a;
	char		 tmp[INET6_ADDRSTRLEN + 1];

	if (len >= sizeof(tmp))
		return 0;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	return inet_pton(AF_INET6, tmp, &a) == 1;
}

/* A DNS name (labels of letters, digits, '-' and '_') or an IPv4 address. */
static int
hostname_ok(const char *s, size_t len)
{
	size_t	 i, lab = 0;
	int	 alldigits = 1;
	char	 tmp[256];

	if (len == 0 || len > 253)
		return 0;
	for (i = 0; i < len; i++) {
		if (s[i] == '.') {
			if (lab == 0 || s[i - 1] == '-')
				return 0;
			lab = 0;
			continue;
		}
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
		    s[i] == '_'))
			return 0;
		if (s[i] < '0' || s[i] > '9')
			alldigits = 0;
		if (lab == 0 && s[i] == '-')
			return 0;
		if (++lab > 63)
			return 0;
	}
	if (s[len - 1] == '-')
		return 0;
	/* 1.2.3.4 and 999.1.1.1 look like names; only real IPv4 passes. */
	if (alldigits) {
		memcpy(tmp, s, len);
		tmp[len] = '\0';
		return ipv4_ok(tmp);
	}
	return 1;
}

/*
 * ssh host: a name, IPv4, IPv6 with or without brackets.  *bare is the
 * host without brackets (what the executor connects to).
 */
int
wl_ssh_host_ok(const char *h, size_t *off, size_t *blen)
{
	size_t	 len = strlen(h);

	*off = 0;
	*blen = len;
	if (has_placeholder(h))
		return !yt_has_control(h, len);
	if (len >= 2 && h[0] == '[' && h[len - 1] == ']') {
		*off = 1;
		*blen = len - 2;
		return ipv6_ok(h + 1, len - 2);
	}
	if (strchr(h, ':') != NULL)
		return ipv6_ok(h, len);
	return hostname_ok(h, len);
}

/*
 * http(s) URL: scheme, host (name, IPv4 or [IPv6]), optional port, then
 * a path, query or fragment.  A ${NAME} placeholder is left for the run
 * to check once it is expanded.  NULL when fine, else why not.
 */
const char *
wl_url_problem(const char *u)
{
	const char	*p, *h, *he, *ph;
	size_t		 i, slen;
	long		 port;

	for (i = 0; u[i] != '\0'; i++)
		if ((unsigned char)u[i] <= 0x20 || u[i] == 0x7f)
			return "contains a space or control character";
	ph = strstr(u, "${");
	p = strstr(u, "://");
	if (ph != NULL && (p == NULL || p > ph))
		return NULL;
	if (p == NULL)
		return "is not an http:// or https:// URL";
	slen = (size_t)(p - u);
	if (!((slen == 4 && strncasecmp(u, "http", 4) == 0) ||
	    (slen == 5 && strncasecmp(u, "https", 5) == 0)))
		return "uses a scheme other than http or https";
	h = p + 3;
	he = h + strcspn(h, "/?#");
	if (ph != NULL && ph < he)
		return NULL;
	/* user:password@ is allowed (curl sends it as basic auth). */
	for (p = he; p > h; p--)
		if (p[-1] == '@') {
			h = p;
			break;
		}
	if (h == he)
		return "has no host";
	if (*h == '[') {
		if ((p = memchr(h, ']', (size_t)(he - h))) == NULL ||
		    !ipv6_ok(h + 1, (size_t)(p - h - 1)))
			return "has an invalid IPv6 address";
		p++;
	} else {
		p = memchr(h, ':', (size_t)(he - h));
		if (p == NULL)
			p = he;
		if (!hostname_ok(h, (size_t)(p - h)))
			return "has an invalid host name";
	}
	if (p < he) {
		if (*p != ':' || p + 1 == he)
			return "has an invalid port";
		port = 0;
		for (p++; p < he; p++) {
			if (*p < '0' || *p > '9' || port > 65535)
				return "has an invalid port";
			port = port * 10 + (*p - '0');
		}
		if (port < 1 || port > 65535)
			return "has a port outside 1..65535";
	}
	return NULL;
}

static int
header_name_ok(const char *s, size_t len)
{
	size_t	 i;

	if (len == 0)
		return 0;
	for (i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') ||
		    (s[i] != '\0' && strchr("!#$%&'*+-.^_`|~", s[i]) != NULL)))
			return 0;
	return 1;
}

int
wl_get_kvmap(struct ld *ld, const struct ynode *v, const char *pfx,
    const char *key, enum kvkind kind, struct pf_kvlist *out)
{
	struct ytree	*yt = &ld->y;
	const struct ynode *k, *val;
	char		 where[160], vkey[160];
	size_t		 i;
	int		 bad = 0, rc;

	v = yt_r(v);
	if (v == NULL || yt_is_null(v))
		return 0;
	if (v->kind != YN_MAP) {
		yt_err(yt, v, "%s%s: expected a mapping of names to values, "
		    "got %s", pfx, key, yt_kind_name(v));
		return -1;
	}
	if (v->n / 2 > WF_MAP_MAX) {
		yt_err(yt, v, "%s%s: %zu entries; the limit is %d", pfx, key,
		    v->n / 2, WF_MAP_MAX);
		return -1;
	}
	(void)snprintf(where, sizeof(where), "%s%s", pfx, key);
	if (yt_map_check_keys(yt, v, where) == -1)
		return -1;
	if ((out->v = pf_calloc(v->n / 2 + 1, sizeof(*out->v))) == NULL) {
		ld->y.oom = 1;
		return -1;
	}
	for (k = v->child, i = 0; k != NULL && k->next != NULL;
	    k = k->next->next) {
		val = k->next;
		(void)snprintf(vkey, sizeof(vkey), "%s.%s", key,
		    yt_shown(yt, k));
		if (yt_get_str(yt, k, pfx, key, 1, 256, &out->v[i].key) != 1) {
			bad = 1;
			continue;
		}
		out->n = ++i;
		rc = yt_get_str(yt, val, pfx, vkey, 1,
		    kind == KV_ENV ? 32768 : 8192, &out->v[i - 1].value);
		if (rc != 1) {
			if (rc == 0)
				yt_err(yt, k, "%s%s: missing value", pfx, vkey);
			bad = 1;
			continue;
		}
		if (kind == KV_ENV && (strchr(out->v[i - 1].key, '=') != NULL ||
		    yt_r(k)->len == 0 || yt_has_control(yt_r(k)->text, yt_r(k)->len))) {
			yt_err(yt, k, "%s%s: '%s' is not a valid environment "
			    "variable name", pfx, key, yt_shown(yt, k));
			bad = 1;
		}
		if (kind == KV_HEADER && !header_name_ok(yt_r(k)->text,
		    yt_r(k)->len)) {
			yt_err(yt, k, "%s%s: '%s' is not a valid header name",
			    pfx, key, yt_shown(yt, k));
			bad = 1;
		}
		/* CR or LF in a header value would inject headers. */
		if (kind == KV_HEADER && yt_has_control_but_tab(yt_r(val)->text,
		    yt_r(val)->len)) {
			yt_err(yt, val, "%s%s: a header value must not "
			    "contain line breaks or control characters", pfx,
			    vkey);
			bad = 1;
		}
	}
	return bad ? -1 : 1;
}
