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
#include "picoflow/runas.h"
#include "picoflow/tz.h"
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

/* Every function below reaches the document through its `ld`. */
#define YT	(&ld->y)

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
static int
ssh_host_ok(const char *h, size_t *off, size_t *blen)
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
static const char *
url_problem(const char *u)
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

enum kvkind {
	KV_ENV,
	KV_HEADER,
};

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

static int
get_kvmap(struct ld *ld, const struct ynode *v, const char *pfx,
    const char *key, enum kvkind kind, struct pf_kvlist *out)
{
	const struct ynode *k, *val;
	char		 where[160], vkey[160];
	size_t		 i;
	int		 bad = 0, rc;

	v = yt_r(v);
	if (v == NULL || yt_is_null(v))
		return 0;
	if (v->kind != YN_MAP) {
		yt_err(YT, v, "%s%s: expected a mapping of names to values, "
		    "got %s", pfx, key, yt_kind_name(v));
		return -1;
	}
	if (v->n / 2 > WF_MAP_MAX) {
		yt_err(YT, v, "%s%s: %zu entries; the limit is %d", pfx, key,
		    v->n / 2, WF_MAP_MAX);
		return -1;
	}
	(void)snprintf(where, sizeof(where), "%s%s", pfx, key);
	if (yt_map_check_keys(YT, v, where) == -1)
		return -1;
	if ((out->v = pf_calloc(v->n / 2 + 1, sizeof(*out->v))) == NULL) {
		ld->y.oom = 1;
		return -1;
	}
	for (k = v->child, i = 0; k != NULL && k->next != NULL;
	    k = k->next->next) {
		val = k->next;
		(void)snprintf(vkey, sizeof(vkey), "%s.%s", key,
		    yt_shown(YT, k));
		if (yt_get_str(YT, k, pfx, key, 1, 256, &out->v[i].key) != 1) {
			bad = 1;
			continue;
		}
		out->n = ++i;
		rc = yt_get_str(YT, val, pfx, vkey, 1,
		    kind == KV_ENV ? 32768 : 8192, &out->v[i - 1].value);
		if (rc != 1) {
			if (rc == 0)
				yt_err(YT, k, "%s%s: missing value", pfx, vkey);
			bad = 1;
			continue;
		}
		if (kind == KV_ENV && (strchr(out->v[i - 1].key, '=') != NULL ||
		    yt_r(k)->len == 0 || yt_has_control(yt_r(k)->text, yt_r(k)->len))) {
			yt_err(YT, k, "%s%s: '%s' is not a valid environment "
			    "variable name", pfx, key, yt_shown(YT, k));
			bad = 1;
		}
		if (kind == KV_HEADER && !header_name_ok(yt_r(k)->text,
		    yt_r(k)->len)) {
			yt_err(YT, k, "%s%s: '%s' is not a valid header name",
			    pfx, key, yt_shown(YT, k));
			bad = 1;
		}
		/* CR or LF in a header value would inject headers. */
		if (kind == KV_HEADER && yt_has_control_but_tab(yt_r(val)->text,
		    yt_r(val)->len)) {
			yt_err(YT, val, "%s%s: a header value must not "
			    "contain line breaks or control characters", pfx,
			    vkey);
			bad = 1;
		}
	}
	return bad ? -1 : 1;
}

/* ------------------------------------------------------------ http body */

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static int
json_number_ok(const char *s)
{
	const char	*p = s;

	if (*p == '-')
		p++;
	if (*p == '0')
		p++;
	else if (*p >= '1' && *p <= '9')
		while (*p >= '0' && *p <= '9')
			p++;
	else
		return 0;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return 0;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (*p < '0' || *p > '9')
			return 0;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	return *p == '\0';
}

/*
 * A JSON string literal.  Besides what JSON requires, the C1 controls,
 * U+2028, U+2029, U+FEFF, U+FFFE and U+FFFF are escaped: YAML reads them
 * as line breaks or a byte order mark or refuses them raw, and the printed
 * form must load back unchanged.
 */
static void
json_str(struct pf_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)s;
	size_t		 i;
	char		 esc[8];

	buf_add_u8(b, '"');
	for (i = 0; i < n; i++) {
		if (u[i] == '"' || u[i] == '\\') {
			esc[0] = '\\';
			esc[1] = (char)u[i];
			buf_add(b, esc, 2);
		} else if (u[i] == '\n')
			buf_add(b, "\\n", 2);
		else if (u[i] == '\t')
			buf_add(b, "\\t", 2);
		else if (u[i] == '\r')
			buf_add(b, "\\r", 2);
		else if (u[i] < 0x20 || u[i] == 0x7f) {
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[u[i] >> 4];
			esc[5] = hex[u[i] & 15];
			buf_add(b, esc, 6);
		} else if (u[i] == 0xc2 && i + 1 < n && u[i + 1] >= 0x80 &&
		    u[i + 1] <= 0x9f) {
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[u[i + 1] >> 4];
			esc[5] = hex[u[i + 1] & 15];
			buf_add(b, esc, 6);
			i++;
		} else if (u[i] == 0xef && i + 2 < n && u[i + 1] == 0xbf &&
		    (u[i + 2] == 0xbe || u[i + 2] == 0xbf)) {
			buf_add(b, u[i + 2] == 0xbe ? "\\ufffe" : "\\uffff", 6);
			i += 2;
		} else if (u[i] == 0xe2 && i + 2 < n && u[i + 1] == 0x80 &&
		    (u[i + 2] == 0xa8 || u[i + 2] == 0xa9)) {
			buf_add(b, u[i + 2] == 0xa8 ? "\\u2028" : "\\u2029", 6);
			i += 2;
		} else if (u[i] == 0xef && i + 2 < n && u[i + 1] == 0xbb &&
		    u[i + 2] == 0xbf) {
			buf_add(b, "\\ufeff", 6);
			i += 2;
		} else
			buf_add_u8(b, u[i]);
	}
	buf_add_u8(b, '"');
}

/*
 * A YAML value as JSON: mappings and lists as objects and arrays, plain
 * null/true/false and JSON-shaped numbers as themselves, every other
 * scalar (and every quoted one) as a string.  depth counts through
 * aliases, so a chain of aliases cannot nest without bound.
 */
static int
json_emit(struct ld *ld, struct pf_buf *b, const struct ynode *n,
    const char *pfx, size_t depth)
{
	const struct ynode *c, *k;
	const char	*t;
	size_t		 klen;

	n = yt_r(n);
	if (depth > ld->opts.max_depth) {
		yt_err(YT, n, "%sbody: nested deeper than %zu levels", pfx,
		    ld->opts.max_depth);
		return -1;
	}
	switch (n->kind) {
	case YN_MAP:
		buf_add_u8(b, '{');
		for (k = n->child; k != NULL && k->next != NULL;
		    k = k->next->next) {
			if (yt_r(k)->kind != YN_SCALAR) {
				yt_err(YT, k, "%sbody: a key must be a scalar, "
				    "not %s", pfx, yt_kind_name(yt_r(k)));
				return -1;
			}
			if (k != n->child)
				buf_add(b, ", ", 2);
			klen = b->len;
			json_str(b, yt_r(k)->text, yt_r(k)->len);
			/*
			 * The printed form reads this as a YAML flow key, and
			 * YAML caps implicit keys at 1024 characters.
			 */
			if (!b->failed && b->len - klen > 1000) {
				yt_err(YT, k, "%sbody: a key longer than 1000 "
				    "characters once escaped", pfx);
				return -1;
			}
			buf_add(b, ": ", 2);
			if (json_emit(ld, b, k->next, pfx, depth + 1) == -1)
				return -1;
		}
		buf_add_u8(b, '}');
		break;
	case YN_SEQ:
		buf_add_u8(b, '[');
		for (c = n->child; c != NULL; c = c->next) {
			if (c != n->child)
				buf_add(b, ", ", 2);
			if (json_emit(ld, b, c, pfx, depth + 1) == -1)
				return -1;
		}
		buf_add_u8(b, ']');
		break;
	default:
		t = n->text;
		if (yt_is_null(n))
			buf_add_str(b, "null");
		else if (n->style == YS_PLAIN && !n->str &&
		    (strcmp(t, "true") == 0 || strcmp(t, "True") == 0 ||
		    strcmp(t, "TRUE") == 0))
			buf_add_str(b, "true");
		else if (n->style == YS_PLAIN && !n->str &&
		    (strcmp(t, "false") == 0 || strcmp(t, "False") == 0 ||
		    strcmp(t, "FALSE") == 0))
			buf_add_str(b, "false");
		else if (n->style == YS_PLAIN && !n->str && json_number_ok(t))
			buf_add_str(b, t);
		else
			json_str(b, t, n->len);
	}
	if (b->failed) {
		if (b->max != 0 && b->len + 16 > b->max)
			yt_err(YT, n, "%sbody: more than %d bytes once encoded "
			    "as JSON", pfx, WF_BODY_MAX);
		else
			ld->y.oom = 1;
		return -1;
	}
	return 0;
}

static int
load_body(struct ld *ld, struct pf_http *h, const struct ynode *v,
    const char *pfx)
{
	struct pf_buf	 b;
	const struct ynode *n = yt_r(v);

	if (n == NULL || yt_is_null(n))
		return 0;
	if (n->kind == YN_SCALAR && (n->style != YS_PLAIN || n->str ||
	    (!json_number_ok(n->text) && strcmp(n->text, "true") != 0 &&
	    strcmp(n->text, "false") != 0 && strcmp(n->text, "True") != 0 &&
	    strcmp(n->text, "False") != 0 && strcmp(n->text, "TRUE") != 0 &&
	    strcmp(n->text, "FALSE") != 0)))
		/* A string is sent as it is. */
		return yt_get_str(YT, n, pfx, "body", 1, WF_BODY_MAX, &h->body);
	buf_init(&b, WF_BODY_MAX);
	if (json_emit(ld, &b, n, pfx, 0) == -1) {
		buf_free(&b);
		return -1;
	}
	if ((h->body = yt_strdup(YT, (const char *)b.data, b.len)) == NULL) {
		buf_free(&b);
		return -1;
	}
	buf_free(&b);
	h->body_is_json = true;
	return 1;
}

/* ------------------------------------------------------ limits, sandbox */

enum {
	LK_MEMORY, LK_SWAP, LK_CPU, LK_PIDS, LK_NOFILE, LK_OUTPUT, LK_N
};
static const char *const limit_keys[LK_N] = {
	"memory", "swap", "cpu", "pids", "nofile", "output",
};

/* Fills the limits named in mapping v over what *lim already holds. */
static void
load_limits(struct ld *ld, const struct ynode *v, const char *pfx,
    const char *base, const char *where, struct pf_limits *lim)
{
	const struct ynode *vals[LK_N], *keys[LK_N], *s;
	char		 key[64];
	long long	 x;
	int		 rc;

	v = yt_r(v);
	if (v == NULL || yt_is_null(v))
		return;
	if (v->kind != YN_MAP) {
		yt_err(YT, v, "%s%s: expected a mapping (memory, swap, cpu, "
		    "pids, nofile, output), got %s", pfx, base, yt_kind_name(v));
		return;
	}
	yt_map_collect(YT, v, limit_keys, LK_N, where, vals, keys);
#define LKEY(k)	(snprintf(key, sizeof(key), "%s.%s", base, limit_keys[k]), key)
	if (yt_get_size(YT, vals[LK_MEMORY], pfx, LKEY(LK_MEMORY), 1, &x) == 1)
		lim->memory = x;
	if (yt_get_size(YT, vals[LK_SWAP], pfx, LKEY(LK_SWAP), 0, &x) == 1)
		lim->swap = x;
	if (yt_get_size(YT, vals[LK_OUTPUT], pfx, LKEY(LK_OUTPUT), 0, &x) ==
	    1) {
		if (x > PF_OUTPUT_CAP_MAX)
			yt_err(YT, yt_r(vals[LK_OUTPUT]), "%s%s: %s is more "
			    "than the largest output cap, 4G", pfx,
			    LKEY(LK_OUTPUT), yt_shown(YT,
			    yt_r(vals[LK_OUTPUT])));
		else
			lim->output = x;
	}
	if (yt_get_int(YT, vals[LK_PIDS], pfx, LKEY(LK_PIDS), 1, WF_PIDS_MAX,
	    &x) == 1)
		lim->pids = x;
	if (yt_get_int(YT, vals[LK_NOFILE], pfx, LKEY(LK_NOFILE), 1,
	    WF_NOFILE_MAX, &x) == 1)
		lim->nofile = x;
	if (yt_get_scalar(YT, vals[LK_CPU], pfx, LKEY(LK_CPU), 0, &s) == 1) {
		rc = yt_parse_cpu(s->text, &x);
		if (rc == -1)
			yt_err(YT, s, "%s%s: '%s' is not a number of cores "
			    "(e.g. 0.5 or 2)", pfx, key, yt_shown(YT, s));
		else if (rc == -3)
			yt_err(YT, s, "%s%s: '%s' has more than 3 decimals",
			    pfx, key, yt_shown(YT, s));
		else if (rc == -2 || x < 1 || x > WF_CPU_MILLI_MAX)
			yt_err(YT, s, "%s%s: %s is out of range 0.001..%d "
			    "cores", pfx, key, yt_shown(YT, s),
			    WF_CPU_MILLI_MAX / 1000);
		else
			lim->cpu_milli = x;
	}
#undef LKEY
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
	const struct ynode *vals[RK_N], *keys[RK_N], *s;
	long long	 x;
	int		 rc;

	v = yt_r(v);
	if (v == NULL || yt_is_null(v))
		return;
	if (v->kind != YN_MAP) {
		yt_err(YT, v, "config.retention: expected a mapping (max_age, "
		    "max_runs, max_output), got %s", yt_kind_name(v));
		return;
	}
	yt_map_collect(YT, v, retention_keys, RK_N, "config.retention", vals,
	    keys);
	if (yt_get_scalar(YT, vals[RK_MAX_AGE], "", "config.retention.max_age",
	    0, &s) == 1) {
		rc = yt_parse_duration(s->text, WF_RETAIN_AGE_MAX, &x);
		if (rc == -1)
			yt_err(YT, s, "config.retention.max_age: '%s' is not a "
			    "duration; use a number with s, m, h, d or w "
			    "(e.g. 30d)", yt_shown(YT, s));
		else if (rc == -2 || x < 1)
			yt_err(YT, s, "config.retention.max_age: %s is out of "
			    "range 1s..36500d", yt_shown(YT, s));
		else
			r->max_age = x;
	}
	if (yt_get_int(YT, vals[RK_MAX_RUNS], "", "config.retention.max_runs", 1,
	    WF_RETAIN_RUNS_MAX, &x) == 1)
		r->max_runs = x;
	if (yt_get_size(YT, vals[RK_MAX_OUTPUT], "", "config.retention.max_output",
	    1, &x) == 1)
		r->max_output = x;
}

enum {
	SB_NETWORK, SB_READ_ONLY, SB_WRITABLE, SB_PRIVATE_TMP, SB_N
};
static const char *const sandbox_keys[SB_N] = {
	"network", "read_only", "writable", "private_tmp",
};

static void
load_sandbox(struct ld *ld, const struct ynode *v, const char *pfx,
    const char *where, struct pf_sandbox *sb)
{
	const struct ynode *vals[SB_N], *keys[SB_N];
	bool		 b;

	v = yt_r(v);
	if (v == NULL || yt_is_null(v))
		return;
	if (v->kind != YN_MAP) {
		yt_err(YT, v, "%ssandbox: expected a mapping (network, "
		    "read_only, writable, private_tmp), got %s", pfx,
		    yt_kind_name(v));
		return;
	}
	yt_map_collect(YT, v, sandbox_keys, SB_N, where, vals, keys);
	if (yt_get_bool(YT, vals[SB_NETWORK], pfx, "sandbox.network", &b) == 1)
		sb->network = b ? 1 : 0;
	if (yt_get_bool(YT, vals[SB_PRIVATE_TMP], pfx, "sandbox.private_tmp",
	    &b) == 1)
		sb->private_tmp = b ? 1 : 0;
	(void)yt_get_strlist(YT, vals[SB_READ_ONLY], pfx, "sandbox.read_only",
	    WF_PATHS_MAX, WF_STR_MAX, 1, &sb->read_only, &sb->nread_only);
	(void)yt_get_strlist(YT, vals[SB_WRITABLE], pfx, "sandbox.writable",
	    WF_PATHS_MAX, WF_STR_MAX, 1, &sb->writable, &sb->nwritable);
}

/* ------------------------------------------------------------ executors */

enum {
	SH_COMMAND, SH_ARGS, SH_WORKDIR, SH_ENV, SH_TIMEOUT, SH_N
};
static const char *const shell_keys[SH_N] = {
	"command", "args", "workdir", "env", "timeout",
};

enum {
	SS_HOST, SS_USER, SS_COMMAND, SS_KEY_PATH, SS_PORT, SS_VERIFY,
	SS_TIMEOUT, SS_N
};
static const char *const ssh_keys[SS_N] = {
	"host", "user", "command", "key_path", "port", "verify_host_key",
	"timeout",
};

enum {
	HT_URL, HT_METHOD, HT_HEADERS, HT_BODY, HT_TIMEOUT, HT_PRIVATE,
	HT_CA_FILE, HT_SUCCESS, HT_N
};
static const char *const http_keys[HT_N] = {
	"url", "method", "headers", "body", "timeout", "allow_private_ips",
	"ca_file", "success_status",
};

static const char *const http_methods[] = {
	"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD",
};

static void
missing_in_config(struct ld *ld, const struct ynode *map, const char *pfx,
    const char *key)
{
	yt_err(YT, map, "%smissing required key '%s' in config", pfx, key);
}

/*
 * `timeout` written inside a shell or ssh config: the Rust PicoFlow's
 * own examples do it.  Taken as the task's timeout unless the task has
 * its own; a warning either way.
 */
static void
config_timeout(struct ld *ld, struct pf_task *t, const struct ynode *key,
    const struct ynode *val, const struct ynode *task_timeout,
    const char *pfx)
{
	long long	 x;

	if (yt_get_int(YT, val, pfx, "config.timeout", 1, WF_TIMEOUT_MAX, &x)
	    != 1)
		return;
	if (task_timeout != NULL && !yt_is_null(yt_r(task_timeout)))
		yt_warn(YT, key, "%s'timeout' inside config (%lld) is ignored: "
		    "the task's own timeout (line %u) wins", pfx, x,
		    task_timeout->line);
	else {
		t->timeout = (unsigned)x;
		yt_warn(YT, key, "%s'timeout' inside config is taken as the "
		    "task's timeout (%lld s); write it at task level", pfx, x);
	}
}

static void
load_shell(struct ld *ld, struct pf_task *t, const struct ynode *cfg,
    const char *pfx, const char *where, const struct ynode *task_timeout)
{
	const struct ynode *v[SH_N], *k[SH_N];
	struct pf_shell	*sh = &t->u.shell;
	const char	*why;
	int		 rc;

	yt_map_collect(YT, cfg, shell_keys, SH_N, where, v, k);
	rc = yt_get_str(YT, v[SH_COMMAND], pfx, "command", 1, WF_STR_MAX,
	    &sh->command);
	if (rc == 0)
		missing_in_config(ld, cfg, pfx, "command");
	else if (rc == 1 && sh->command[0] != '/')
		yt_err(YT, v[SH_COMMAND], "%scommand: '%s' is not an absolute "
		    "path; commands run directly, without a shell or PATH "
		    "search (write the full path%s%s)", pfx,
		    yt_shown(YT, v[SH_COMMAND]),
		    strchr(sh->command, '/') ? "" : ", e.g. /usr/bin/",
		    strchr(sh->command, '/') ? "" : yt_shown(YT, v[SH_COMMAND]));
	else if (rc == 1 && yt_has_control(sh->command, strlen(sh->command)))
		yt_err(YT, v[SH_COMMAND], "%scommand: contains a control "
		    "character", pfx);
	(void)yt_get_strlist(YT, v[SH_ARGS], pfx, "args", WF_ARGS_MAX,
	    WF_STR_MAX, 0, &sh->args, &sh->nargs);
	if (yt_get_str(YT, v[SH_WORKDIR], pfx, "workdir", 0, WF_STR_MAX,
	    &sh->workdir) == 1 && (why = yt_abs_path_problem(sh->workdir)) !=
	    NULL)
		yt_err(YT, v[SH_WORKDIR], "%sworkdir: '%s' %s", pfx,
		    yt_shown(YT, v[SH_WORKDIR]), why);
	(void)get_kvmap(ld, v[SH_ENV], pfx, "env", KV_ENV, &sh->env);
	if (k[SH_TIMEOUT] != NULL)
		config_timeout(ld, t, k[SH_TIMEOUT], v[SH_TIMEOUT],
		    task_timeout, pfx);
}

static void
load_ssh(struct ld *ld, struct pf_task *t, const struct ynode *cfg,
    const char *pfx, const char *where, const struct ynode *task_timeout)
{
	const struct ynode *v[SS_N], *k[SS_N];
	struct pf_ssh	*ss = &t->u.ssh;
	char		*host = NULL;
	size_t		 off, blen;
	long long	 x;
	int		 rc;

	ss->port = 22;
	ss->verify_host_key = true;
	yt_map_collect(YT, cfg, ssh_keys, SS_N, where, v, k);
	rc = yt_get_str(YT, v[SS_HOST], pfx, "host", 1, 255, &host);
	if (rc == 0)
		missing_in_config(ld, cfg, pfx, "host");
	else if (rc == 1) {
		if (!ssh_host_ok(host, &off, &blen))
			yt_err(YT, v[SS_HOST], "%shost: '%s' is not a host "
			    "name, IPv4 or IPv6 address", pfx,
			    yt_shown(YT, v[SS_HOST]));
		else
			ss->host = yt_strdup(YT, host + off, blen);
		pf_free(host);
	}
	rc = yt_get_str(YT, v[SS_USER], pfx, "user", 1, WF_USER_MAX, &ss->user);
	if (rc == 0)
		missing_in_config(ld, cfg, pfx, "user");
	else if (rc == 1 && (ss->user[0] == '\0' ||
	    yt_has_control(ss->user, strlen(ss->user))))
		yt_err(YT, v[SS_USER], "%suser: must be a non-empty name "
		    "without control characters", pfx);
	rc = yt_get_str(YT, v[SS_COMMAND], pfx, "command", 1, WF_STR_MAX,
	    &ss->command);
	if (rc == 0)
		missing_in_config(ld, cfg, pfx, "command");
	else if (rc == 1 && ss->command[0] == '\0')
		yt_err(YT, v[SS_COMMAND], "%scommand: is empty", pfx);
	if (yt_get_str(YT, v[SS_KEY_PATH], pfx, "key_path", 0, WF_STR_MAX,
	    &ss->key_path) == 1 && !(ss->key_path[0] == '/' ||
	    strcmp(ss->key_path, "~") == 0 ||
	    strncmp(ss->key_path, "~/", 2) == 0 ||
	    strncmp(ss->key_path, "${", 2) == 0))
		yt_err(YT, v[SS_KEY_PATH], "%skey_path: '%s' must be an "
		    "absolute path or start with ~/", pfx,
		    yt_shown(YT, v[SS_KEY_PATH]));
	if (yt_get_int(YT, v[SS_PORT], pfx, "port", 1, 65535, &x) == 1)
		ss->port = (int)x;
	(void)yt_get_bool(YT, v[SS_VERIFY], pfx, "verify_host_key",
	    &ss->verify_host_key);
	if (k[SS_TIMEOUT] != NULL)
		config_timeout(ld, t, k[SS_TIMEOUT], v[SS_TIMEOUT],
		    task_timeout, pfx);
}

static void
load_http(struct ld *ld, struct pf_task *t, const struct ynode *cfg,
    const char *pfx, const char *where)
{
	const struct ynode *v[HT_N], *k[HT_N], *l, *it;
	struct pf_http	*h = &t->u.http;
	const char	*why;
	char		 ikey[48];
	long long	 x;
	size_t		 i;
	int		 rc, m;

	h->timeout = WF_DEFAULT_HTTP_TIMEOUT;
	yt_map_collect(YT, cfg, http_keys, HT_N, where, v, k);
	rc = yt_get_str(YT, v[HT_URL], pfx, "url", 1, WF_URL_MAX, &h->url);
	if (rc == 0)
		missing_in_config(ld, cfg, pfx, "url");
	else if (rc == 1 && (why = url_problem(h->url)) != NULL)
		yt_err(YT, v[HT_URL], "%surl: '%s' %s", pfx,
		    yt_shown(YT, v[HT_URL]), why);
	rc = yt_get_scalar(YT, v[HT_METHOD], pfx, "method", 0, &it);
	if (rc == 0)
		h->method = yt_strdup(YT, "GET", 3);
	else if (rc == 1) {
		for (m = 0; m < 6; m++)
			if (strcasecmp(it->text, http_methods[m]) == 0)
				break;
		if (m == 6)
			yt_err(YT, it, "%smethod: '%s' is not one of GET, POST, "
			    "PUT, DELETE, PATCH, HEAD", pfx, yt_shown(YT, it));
		else
			h->method = yt_strdup(YT, http_methods[m],
			    strlen(http_methods[m]));
	}
	(void)get_kvmap(ld, v[HT_HEADERS], pfx, "headers", KV_HEADER,
	    &h->headers);
	(void)load_body(ld, h, v[HT_BODY], pfx);
	if (yt_get_int(YT, v[HT_TIMEOUT], pfx, "timeout", 1, WF_HTTP_TIMEOUT_MAX,
	    &x) == 1)
		h->timeout = (int)x;
	(void)yt_get_bool(YT, v[HT_PRIVATE], pfx, "allow_private_ips",
	    &h->allow_private_ips);
	if (yt_get_str(YT, v[HT_CA_FILE], pfx, "ca_file", 0, WF_STR_MAX,
	    &h->ca_file) == 1 && (why = yt_abs_path_problem(h->ca_file)) != NULL)
		yt_err(YT, v[HT_CA_FILE], "%sca_file: '%s' %s", pfx,
		    yt_shown(YT, v[HT_CA_FILE]), why);
	if (yt_get_list(YT, v[HT_SUCCESS], pfx, "success_status", WF_STATUS_MAX,
	    &l) == 1) {
		if (l->n == 0) {
			yt_err(YT, l, "%ssuccess_status: empty list; leave it "
			    "out to accept any 2xx status", pfx);
			return;
		}
		if ((h->success_status = pf_calloc(l->n,
		    sizeof(int))) == NULL) {
			ld->y.oom = 1;
			return;
		}
		for (i = 0, it = l->child; it != NULL; it = it->next, i++) {
			(void)snprintf(ikey, sizeof(ikey), "success_status[%zu]",
			    i);
			if (yt_get_int(YT, it, pfx, ikey, 100, 599, &x) == 1)
				h->success_status[i] = (int)x;
			else if (yt_is_null(yt_r(it)))
				yt_err(YT, it, "%s%s: missing value", pfx, ikey);
		}
		h->nsuccess_status = l->n;
	}
}

/* ----------------------------------------------------------------- tasks */

enum {
	TK_NAME, TK_TYPE, TK_DEPENDS_ON, TK_RETRY, TK_TIMEOUT, TK_CONTINUE,
	TK_CONFIG, TK_LIMITS, TK_RUN_AS, TK_SANDBOX, TK_N
};
static const char *const task_keys[TK_N] = {
	"name", "type", "depends_on", "retry", "timeout",
	"continue_on_failure", "config", "limits", "run_as", "sandbox",
};
static const char *const task_types[] = { "shell", "ssh", "http" };

/* Task names -> index, open addressing; SIZE_MAX marks a free slot. */
struct names {
	size_t		*slot;
	size_t		 cap;
};

static size_t
names_find(const struct pf_workflow *wf, const struct names *nt,
    const char *name, size_t **where)
{
	size_t	 i = yt_hash_str(name) & (nt->cap - 1);

	while (nt->slot[i] != SIZE_MAX &&
	    strcmp(wf->tasks[nt->slot[i]].name, name) != 0)
		i = (i + 1) & (nt->cap - 1);
	if (where != NULL)
		*where = &nt->slot[i];
	return nt->slot[i];
}

static const struct ynode *
map_find(const struct ynode *map, const char *key)
{
	const struct ynode *k;

	for (k = map->child; k != NULL && k->next != NULL; k = k->next->next)
		if (yt_r(k)->kind == YN_SCALAR && strcmp(yt_r(k)->text, key) == 0)
			return k->next;
	return NULL;
}

/* ---------------------------------------------------------------- policy */

static void pol_err(struct ld *, const struct ynode *, const char *,
    const struct pf_pos *, const char *, ...)
    __attribute__((format(printf, 5, 6)));

/* A value the policy refuses: the message, then the rule and its place. */
static void
pol_err(struct ld *ld, const struct ynode *at, const char *rule,
    const struct pf_pos *rp, const char *fmt, ...)
{
	const struct pf_policy *p = ld->opts.policy;
	char		 msg[PF_ERR_MAX];
	va_list		 ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (rp != NULL && rp->line != 0)
		yt_err(YT, at, "%s (policy rule %s at %s:%u:%u)", msg, rule,
		    p->file, rp->line, rp->col);
	else
		yt_err(YT, at, "%s (policy rule %s, by default, in %s)", msg,
		    rule, p->file);
}

static void
fmt_limit(int i, int64_t v, char *buf, size_t len)
{
	size_t	 n;

	if (i == PL_CPU) {
		/* 2, 0.5, 1.25: cores as written. */
		(void)snprintf(buf, len, "%lld.%03lld", (long long)v / 1000,
		    (long long)v % 1000);
		n = strlen(buf);
		while (n > 0 && buf[n - 1] == '0')
			buf[--n] = '\0';
		if (n > 0 && buf[n - 1] == '.')
			buf[n - 1] = '\0';
	} else if (i == PL_PIDS || i == PL_NOFILE)
		(void)snprintf(buf, len, "%lld", (long long)v);
	else
		policy_fmt_size(v, buf, len);
}

/* config.max_tasks_running / max_runs_running above the policy's ceiling. */
static void
policy_running(struct ld *ld, const struct ynode *at, enum policy_key k,
    unsigned v)
{
	const struct pf_policy *p = ld->opts.policy;
	unsigned	 ceil;

	if (p == NULL)
		return;
	ceil = k == POL_MAX_TASKS_RUNNING ? p->max_tasks_running :
	    p->max_runs_running;
	if (ceil != 0 && v > ceil)
		pol_err(ld, at, policy_key_name(k), &p->pos[k], "config.%s: "
		    "%u exceeds the ceiling %u", policy_key_name(k), v, ceil);
}

/* The user tasks without run_as run as: NULL = ours, not root. */
static const char *
default_user(const struct ld *ld)
{
	if (ld->opts.run_as != NULL)
		return ld->opts.run_as;
	return geteuid() == 0 ? "root" : NULL;
}

/* A copy of n strings (NULL entries, from a refused policy, skipped). */
static int
strv_copy(char *const *v, size_t n, char ***out, size_t *nout)
{
	size_t	 i;

	*out = NULL;
	*nout = 0;
	if (n == 0)
		return 0;
	if ((*out = pf_calloc(n, sizeof(**out))) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		if (v[i] == NULL)
			continue;
		if (((*out)[*nout] = pf_strdup(v[i])) == NULL)
			return -1;
		(*nout)++;
	}
	return 0;
}

/* The privileged groups in force, resolved at the first run_as. */
static const struct privgroup_set *
privgroups(struct ld *ld)
{
	struct pf_err	 err;

	if (ld->pg_loaded == 0) {
		if (policy_privgroups(ld->opts.policy, &ld->pg, &err) == -1) {
			/* Said once; no run_as can be judged without it. */
			if (errno == ENOMEM)
				ld->y.oom = 1;
			else
				yt_diag(YT, PF_SEV_ERROR, 0, 0, "run_as cannot "
				    "be checked for privileged groups: %s",
				    err.msg);
			ld->pg_loaded = -1;
			return NULL;
		}
		ld->pg_loaded = 1;
	}
	return ld->pg_loaded == 1 ? &ld->pg : NULL;
}

/*
 * Without a policy: root and privileged groups only with the operator's
 * consent (a default user that is root).  Sets t->run_as_privileged.
 */
static void
bare_run_as(struct ld *ld, struct pf_task *t, const struct ynode *tn,
    const struct ynode *rv, const char *pfx)
{
	const struct privgroup_set *pg;
	const char	*user = t->run_as != NULL ? t->run_as : ld->opts.run_as;
	int		 consent = ld->opts.run_as != NULL &&
			    runas_is_root(ld->opts.run_as);
	char		 why[512], name[64];
	size_t		 n;

	if (t->run_as != NULL && ld->opts.run_as != NULL &&
	    runas_is_root(t->run_as) && !consent) {
		yt_err(YT, yt_r(rv), "%srun_as: '%s' is root; without a "
		    "policy a task may run as root only when the default "
		    "user is root too (--run-as root) or a policy says "
		    "allow_root: true", pfx, t->run_as);
		return;
	}
	if (user == NULL || (pg = privgroups(ld)) == NULL ||
	    !privgroup_check(pg, user, why, sizeof(why)))
		return;
	/* The user root (allowed above) has every group's power anyway. */
	n = strcspn(user, ":");
	if (n < sizeof(name)) {
		memcpy(name, user, n);
		name[n] = '\0';
		if (runas_is_root(name))
			consent = 1;
	}
	if (consent)
		t->run_as_privileged = true;
	else if (t->run_as != NULL)
		yt_err(YT, yt_r(rv), "%srun_as: %s; without a policy a "
		    "privileged group is refused like root (allowed only when "
		    "the default user is root, --run-as root, or a policy says "
		    "allow_root: true)", pfx, why);
	else
		yt_err(YT, tn, "%sruns as '%s' by default (no run_as): %s; a "
		    "privileged group is refused like root", pfx, user, why);
}

static void
policy_run_as(struct ld *ld, struct pf_task *t, const struct ynode *tn,
    const struct ynode *rv, const char *pfx)
{
	const struct pf_policy *p = ld->opts.policy;
	const struct privgroup_set *pg;
	enum policy_key	 rule;
	const char	*user;
	char		 why[1024];
	int		 priv;

	/* A malformed run_as has had its error. */
	if (t->run_as != NULL && !privgroup_run_as_ok(t->run_as, 0))
		return;
	if (p == NULL) {
		bare_run_as(ld, t, tn, rv, pfx);
		return;
	}
	if ((user = t->run_as) == NULL && (user = default_user(ld)) == NULL)
		return;
	if ((pg = privgroups(ld)) == NULL)
		return;
	if (policy_check_run_as(p, pg, user, &rule, &priv, why,
	    sizeof(why)) == 0) {
		t->run_as_privileged = priv != 0;
		return;
	}
	if (t->run_as != NULL) {
		if (rule == POL_ALLOW_ROOT)
			pol_err(ld, yt_r(rv), "allow_root",
			    &p->pos[POL_ALLOW_ROOT], "%srun_as: %s", pfx, why);
		else
			pol_err(ld, yt_r(rv), "run_as", &p->pos[POL_RUN_AS],
			    "%srun_as: %s", pfx, why);
	} else if (runas_is_root(user) && !p->allow_root)
		pol_err(ld, tn, "allow_root", &p->pos[POL_ALLOW_ROOT], "%sruns "
		    "as root by default (no run_as, and the default user is "
		    "'%s'), which the policy does not allow", pfx, user);
	else if (rule == POL_ALLOW_ROOT)
		pol_err(ld, tn, "allow_root", &p->pos[POL_ALLOW_ROOT], "%sruns "
		    "as '%s' by default (no run_as): %s", pfx, user, why);
	else
		pol_err(ld, tn, "run_as", &p->pos[POL_RUN_AS], "%sruns as '%s' "
		    "by default (no run_as), which is not an allowed user",
		    pfx, user);
}

static void
policy_limits(struct ld *ld, struct pf_task *t, const struct ynode *tlim,
    const char *pfx)
{
	const struct pf_policy *p = ld->opts.policy;
	const struct ynode *n;
	const char	*what, *who;
	struct pf_limits d, base;
	int64_t		*v, c;
	char		 a[32], m[32], rule[32];
	int		 i;

	for (i = 0; i < PL_N; i++) {
		v = policy_limit_field(&t->limits, (enum policy_limit)i);
		c = policy_limit_get(&p->limits, (enum policy_limit)i);
		if (c < 0 || *v <= c)
			continue;
		/* The task's own value, else config.limits' (said once). */
		n = tlim != NULL && tlim->kind == YN_MAP ?
		    map_find(tlim, policy_limit_names[i]) : NULL;
		what = "limits.";
		who = pfx;
		if (n == NULL && ld->cfg_limits != NULL &&
		    ld->cfg_limits->kind == YN_MAP) {
			if (ld->cfg_said & (1u << i))
				continue;
			ld->cfg_said |= 1u << i;
			n = map_find(ld->cfg_limits, policy_limit_names[i]);
			what = "config.limits.";
			who = "";
		}
		fmt_limit(i, *v, a, sizeof(a));
		fmt_limit(i, c, m, sizeof(m));
		(void)snprintf(rule, sizeof(rule), "limits.%s",
		    policy_limit_names[i]);
		pol_err(ld, yt_r(n), rule, &p->limit_pos[i], "%s%s%s: %s "
		    "exceeds the ceiling %s", who, what, policy_limit_names[i],
		    a, m);
	}
	/*
	 * Unset limits get what the policy makes of the runner's defaults,
	 * written into the task so a reload with a new policy applies it.
	 */
	if (ld->opts.defaults != NULL)
		d = *ld->opts.defaults;
	else
		d.memory = d.swap = d.cpu_milli = d.pids = d.nofile =
		    d.output = -1;
	base = d;
	policy_default_limits(p, &d);
#define FILL(f)	do {							\
	if (t->limits.f < 0 && d.f >= 0 && d.f != base.f)		\
		t->limits.f = d.f;					\
} while (0)
	FILL(memory);
	FILL(swap);
	FILL(cpu_milli);
	FILL(pids);
	FILL(nofile);
	FILL(output);
#undef FILL
}

/* Checks a loaded task against the policy; fills what the policy sets. */
static void
policy_task(struct ld *ld, struct pf_task *t, const struct ynode *tn,
    const struct ynode *const *v, const struct ynode *cfg, const char *pfx,
    const char *cpfx)
{
	const struct pf_policy *p = ld->opts.policy;
	const struct ynode *n, *sb;
	enum policy_key	 rule;
	char		 why[768];

	policy_run_as(ld, t, tn, v[TK_RUN_AS], pfx);
	/* The default user, written into the task as the engine sends it. */
	if (t->run_as == NULL && ld->opts.run_as != NULL &&
	    (t->run_as = pf_strdup(ld->opts.run_as)) == NULL)
		ld->y.oom = 1;
	if (p == NULL)
		return;
	if ((p->executors & (1u << t->type)) == 0)
		pol_err(ld, yt_r(v[TK_TYPE]), "executors",
		    &p->pos[POL_EXECUTORS], "%stype: %s tasks are not "
		    "allowed", pfx, task_type_name(t->type));
	if (!p->network && t->type != TASK_SHELL)
		pol_err(ld, yt_r(v[TK_TYPE]), "network", &p->pos[POL_NETWORK],
		    "%stype: %s tasks need the network, which tasks may not "
		    "have", pfx, task_type_name(t->type));
	switch (t->type) {
	case TASK_SHELL:
		if (t->u.shell.command != NULL &&
		    policy_check_command(p, t->u.shell.command, why,
		    sizeof(why)) == -1)
			pol_err(ld, yt_r(map_find(cfg, "command")), "commands",
			    &p->pos[POL_COMMANDS], "%scommand: %s", cpfx, why);
		break;
	case TASK_SSH:
		if (t->u.ssh.host != NULL && policy_check_ssh_host(p,
		    t->u.ssh.host, why, sizeof(why)) == -1)
			pol_err(ld, yt_r(map_find(cfg, "host")), "ssh_hosts",
			    &p->pos[POL_SSH_HOSTS], "%shost: %s", cpfx, why);
		if (!t->u.ssh.verify_host_key && p->verify_host_key)
			pol_err(ld, yt_r(map_find(cfg, "verify_host_key")),
			    "verify_host_key", &p->pos[POL_VERIFY_HOST_KEY],
			    "%sverify_host_key: false is not allowed; the "
			    "host key must be checked", cpfx);
		break;
	case TASK_HTTP:
		if (t->u.http.url != NULL && policy_check_url(p,
		    t->u.http.url, &rule, why, sizeof(why)) == -1)
			pol_err(ld, yt_r(map_find(cfg, "url")),
			    policy_key_name(rule), &p->pos[rule], "%surl: %s",
			    cpfx, why);
		if (t->u.http.allow_private_ips && !p->allow_private_ips)
			pol_err(ld, yt_r(map_find(cfg, "allow_private_ips")),
			    "allow_private_ips", &p->pos[POL_ALLOW_PRIVATE_IPS],
			    "%sallow_private_ips: true is not allowed", cpfx);
		break;
	}
	sb = yt_r(v[TK_SANDBOX]);
	n = sb != NULL && sb->kind == YN_MAP ? yt_r(map_find(sb, "network")) :
	    NULL;
	if (t->sandbox.network == 1 && !p->network)
		pol_err(ld, n, "network", &p->pos[POL_NETWORK], "%ssandbox."
		    "network: true is not allowed; tasks may not have the "
		    "network", pfx);
	else if (t->sandbox.network == 1 && !p->default_network &&
	    !p->relax_sandbox)
		pol_err(ld, n, "relax_sandbox", &p->pos[POL_RELAX_SANDBOX],
		    "%ssandbox.network: true would loosen the policy's "
		    "default_network: false", pfx);
	if (t->type == TASK_SHELL && t->sandbox.network < 0 &&
	    (!p->network || !p->default_network))
		t->sandbox.network = 0;
	/*
	 * Under a policy a shell task gets a private /tmp and /dev/shm
	 * unless it says otherwise, which loosens the policy's default.
	 */
	n = sb != NULL && sb->kind == YN_MAP ?
	    yt_r(map_find(sb, "private_tmp")) : NULL;
	if (t->sandbox.private_tmp == 0 && !p->relax_sandbox)
		pol_err(ld, n, "relax_sandbox", &p->pos[POL_RELAX_SANDBOX],
		    "%ssandbox.private_tmp: false would loosen the policy's "
		    "private /tmp and /dev/shm", pfx);
	if (t->type == TASK_SHELL && t->sandbox.private_tmp < 0)
		t->sandbox.private_tmp = 1;
	policy_limits(ld, t, yt_r(v[TK_LIMITS]), pfx);
}

static void
load_task(struct ld *ld, struct names *nt, size_t idx, const struct ynode *tn)
{
	struct pf_workflow *wf = ld->wf;
	struct pf_task	*t = &wf->tasks[idx];
	const struct ynode *v[TK_N], *k[TK_N], *nm, *cfg, *l, *it;
	char		 label[96], pfx[112], cpfx[128], where[160];
	size_t		*slot, first, i;
	long long	 x;
	int		 rc, type = -1;

	t->retry = wf->retry_default;
	t->timeout = wf->timeout_default;
	t->limits = wf->limits;
	t->sandbox.network = -1;
	t->sandbox.private_tmp = -1;
	t->pos.line = tn->line;
	t->pos.col = tn->col;
	tn = yt_r(tn);
	if (tn->kind != YN_MAP) {
		yt_err(YT, tn, "task #%zu: expected a mapping with name, type "
		    "and config, got %s", idx + 1, yt_kind_name(tn));
		return;
	}
	nm = yt_r(map_find(tn, "name"));
	if (nm != NULL && nm->kind == YN_SCALAR &&
	    workflow_task_name_ok(nm->text, nm->len))
		(void)snprintf(label, sizeof(label), "task '%s'", nm->text);
	else
		(void)snprintf(label, sizeof(label), "task #%zu", idx + 1);
	(void)snprintf(pfx, sizeof(pfx), "%s: ", label);
	yt_map_collect(YT, tn, task_keys, TK_N, label, v, k);

	rc = yt_get_str(YT, v[TK_NAME], pfx, "name", 1, WF_STR_MAX, &t->name);
	if (rc == 0)
		yt_err(YT, tn, "%smissing required key 'name'", pfx);
	else if (rc == 1) {
		nm = yt_r(v[TK_NAME]);
		ld->namenode[idx] = nm;
		if (nm->len == 0)
			yt_err(YT, nm, "%sname: is empty", pfx);
		else if (nm->len > WF_TASK_NAME_MAX)
			yt_err(YT, nm, "%sname: %zu bytes long; the limit is %d",
			    pfx, nm->len, WF_TASK_NAME_MAX);
		else if (!workflow_task_name_ok(nm->text, nm->len))
			yt_err(YT, nm, "%sname: '%s' may only contain letters, "
			    "digits, '_' and '-'", pfx, yt_shown(YT, nm));
		else if ((first = names_find(wf, nt, t->name, &slot)) !=
		    SIZE_MAX)
			yt_err(YT, nm, "%sduplicate task name; the first '%s' "
			    "is at line %u", pfx, t->name,
			    ld->namenode[first]->line);
		else
			*slot = idx;
	}

	rc = yt_get_word(YT, v[TK_TYPE], pfx, "type", task_types, 3, &type);
	if (rc == 0) {
		yt_err(YT, v[TK_TYPE] ? yt_r(v[TK_TYPE]) : tn, "%smissing "
		    "required key 'type' (shell, ssh or http)", pfx);
		type = -1;
	} else if (rc == 1)
		t->type = (enum task_type)type;
	else
		type = -1;

	if (yt_get_strlist(YT, v[TK_DEPENDS_ON], pfx, "depends_on", SIZE_MAX,
	    WF_STR_MAX, 0, &t->depends_on, &t->ndepends_on) != 0 &&
	    t->depends_on != NULL) {
		l = yt_r(v[TK_DEPENDS_ON]);
		if ((ld->depnode[idx] = yt_alloc(YT, (l->n + 1) *
		    sizeof(struct ynode *))) == NULL)
			return;
		for (i = 0, it = l->child; it != NULL; it = it->next, i++)
			ld->depnode[idx][i] = it;
	}
	if (yt_get_int(YT, v[TK_RETRY], pfx, "retry", 0, WF_RETRY_MAX, &x) == 1)
		t->retry = (unsigned)x;
	if (yt_get_int(YT, v[TK_TIMEOUT], pfx, "timeout", 1, WF_TIMEOUT_MAX,
	    &x) == 1)
		t->timeout = (unsigned)x;
	(void)yt_get_bool(YT, v[TK_CONTINUE], pfx, "continue_on_failure",
	    &t->continue_on_failure);
	(void)snprintf(where, sizeof(where), "the limits of %s", label);
	load_limits(ld, v[TK_LIMITS], pfx, "limits", where, &t->limits);
	if (yt_get_str(YT, v[TK_RUN_AS], pfx, "run_as", 0,
	    PRIVGROUP_RUN_AS_MAX + 1, &t->run_as) == 1 &&
	    !privgroup_run_as_ok(t->run_as, 0))
		yt_err(YT, v[TK_RUN_AS], "%srun_as: '%s' is not a user, "
		    "user:group or user:group,group,... (names or numeric ids, "
		    "at most %d supplementary groups)", pfx,
		    yt_shown(YT, v[TK_RUN_AS]), PRIVGROUP_SUPP_MAX);
	(void)snprintf(where, sizeof(where), "the sandbox of %s", label);
	load_sandbox(ld, v[TK_SANDBOX], pfx, where, &t->sandbox);

	cfg = yt_r(v[TK_CONFIG]);
	if (cfg == NULL) {
		yt_err(YT, tn, "%smissing required key 'config'", pfx);
		return;
	}
	if (yt_is_null(cfg) || cfg->kind != YN_MAP) {
		yt_err(YT, cfg, "%sconfig: expected a mapping, got %s", pfx,
		    yt_is_null(cfg) ? "nothing" : yt_kind_name(cfg));
		return;
	}
	if (type < 0)
		return;
	(void)snprintf(cpfx, sizeof(cpfx), "%s (%s): ", label,
	    task_types[type]);
	(void)snprintf(where, sizeof(where), "the config of %s (%s)", label,
	    task_types[type]);
	switch (t->type) {
	case TASK_SHELL:
		load_shell(ld, t, cfg, cpfx, where, v[TK_TIMEOUT]);
		break;
	case TASK_SSH:
		load_ssh(ld, t, cfg, cpfx, where, v[TK_TIMEOUT]);
		break;
	case TASK_HTTP:
		load_http(ld, t, cfg, cpfx, where);
		break;
	}
	policy_task(ld, t, tn, v, cfg, pfx, cpfx);
}

/* The closest task name to an unknown one, or NULL. */
static const char *
closest_task(const struct pf_workflow *wf, const char *name)
{
	const char	*best = NULL;
	size_t		 i, d, cap = yt_suggest_cap(name), bestd = cap + 1;

	for (i = 0; i < wf->ntasks; i++) {
		if (wf->tasks[i].name == NULL)
			continue;
		d = yt_edit_distance(name, wf->tasks[i].name, cap);
		if (d < bestd) {
			bestd = d;
			best = wf->tasks[i].name;
		}
	}
	return best;
}

static void
report_cycle(struct ld *ld, const struct dag *d, const struct dag_cycle *c)
{
	const struct pf_workflow *wf = ld->wf;
	const struct ynode *at;
	struct pf_buf	 b;
	size_t		 i;

	buf_init(&b, 0);
	for (i = 0; i < c->len; i++) {
		if (b.len > 600) {
			buf_printf(&b, "... (%zu more) -> ", c->len - i);
			break;
		}
		buf_printf(&b, "%s -> ", wf->tasks[c->path[i]].name);
	}
	buf_add_str(&b, wf->tasks[c->path[0]].name);
	if (b.failed) {
		ld->y.oom = 1;
		buf_free(&b);
		return;
	}
	at = ld->depnode[c->edge_node][c->edge_slot];
	yt_err(YT, at, "task '%s': depends_on '%s' closes a dependency "
	    "cycle: %s", wf->tasks[c->edge_node].name,
	    wf->tasks[c->path[c->len - 1]].name, buf_cstr(&b));
	buf_free(&b);
	(void)d;
}

/*
 * Resolves depends_on names, drops repeats (with a warning), reports
 * unknown names and self-dependencies, then builds the graph for cycles,
 * order and levels.  The depends_on entries that become edges are kept,
 * in order, in ld->depnode so a cycle can point at the one closing it.
 */
static void
load_deps(struct ld *ld, const struct names *nt)
{
	struct pf_workflow *wf = ld->wf;
	struct pf_task	*t;
	struct dag	 d;
	struct pf_err	 err;
	const struct ynode **nodes;
	const char	*close;
	size_t		*mark, i, j, kept, x, c;
	char		*name;

	if (dag_init(&d, wf->ntasks) == -1) {
		yt_err(YT, NULL, "too many tasks");
		return;
	}
	if ((mark = pf_calloc(wf->ntasks + 1, sizeof(size_t))) == NULL) {
		ld->y.oom = 1;
		return;
	}
	for (i = 0; i < wf->ntasks && !ld->y.oom; i++) {
		t = &wf->tasks[i];
		nodes = ld->depnode[i];
		if (t->ndepends_on == 0 || nodes == NULL)
			continue;
		if ((t->dep_idx = pf_calloc(t->ndepends_on,
		    sizeof(size_t))) == NULL) {
			ld->y.oom = 1;
			break;
		}
		kept = 0;
		for (j = 0; j < t->ndepends_on; j++) {
			if ((name = t->depends_on[j]) == NULL)
				continue;
			t->depends_on[j] = NULL;
			x = names_find(wf, nt, name, NULL);
			if (x == SIZE_MAX) {
				close = yt_room(YT) ? closest_task(wf, name) :
				    NULL;
				yt_err(YT, nodes[j], "task '%s': depends_on names "
				    "unknown task '%s'%s%s%s", t->name ?
				    t->name : "?", yt_shown(YT, nodes[j]),
				    close ? "; did you mean '" : "",
				    close ? close : "", close ? "'?" : "");
				pf_free(name);
				continue;
			}
			if (x == i) {
				yt_err(YT, nodes[j], "task '%s': depends on "
				    "itself", name);
				pf_free(name);
				continue;
			}
			if (mark[x] == i + 1) {
				yt_warn(YT, nodes[j], "task '%s': '%s' is listed "
				    "more than once in depends_on; the repeat is "
				    "ignored", t->name ? t->name : "?", name);
				pf_free(name);
				continue;
			}
			mark[x] = i + 1;
			t->depends_on[kept] = name;
			t->dep_idx[kept] = x;
			nodes[kept] = nodes[j];
			kept++;
			if (dag_add_edge(&d, i, x, &err) == -1)
				ld->y.oom = 1;
		}
		t->ndepends_on = kept;
	}
	pf_free(mark);
	if (ld->y.oom) {
		dag_free(&d);
		return;
	}
	if (dag_finish(&d, &err) == -1) {
		if (d.ncycles == 0)
			ld->y.oom = 1;
		for (c = 0; c < d.ncycles; c++)
			report_cycle(ld, &d, &d.cycles[c]);
	} else {
		wf->order = d.order;
		wf->level = d.level;
		d.order = NULL;
		d.level = NULL;
	}
	dag_free(&d);
}

static void
load_tasks(struct ld *ld, const struct ynode *v)
{
	struct pf_workflow *wf = ld->wf;
	const struct ynode *it;
	struct names	 nt;
	size_t		 n, i;

	if (v == NULL) {
		yt_err(YT, ld->y.root, "missing required key 'tasks' (a list of "
		    "tasks; write 'tasks: []' for none)");
		return;
	}
	v = yt_r(v);
	if (yt_is_null(v) || v->kind != YN_SEQ) {
		yt_err(YT, v, "tasks: expected a list of tasks, got %s (write "
		    "'tasks: []' for none)", yt_is_null(v) ? "nothing" :
		    yt_kind_name(v));
		return;
	}
	n = v->n;
	if (n > ld->opts.max_tasks) {
		for (i = 0, it = v->child; i < ld->opts.max_tasks; i++)
			it = it->next;
		yt_err(YT, it, "tasks: %zu tasks; the limit is %zu", n,
		    ld->opts.max_tasks);
		return;
	}
	if ((wf->tasks = pf_calloc(n + 1, sizeof(*wf->tasks))) == NULL) {
		ld->y.oom = 1;
		return;
	}
	wf->ntasks = n;
	for (nt.cap = 16; nt.cap < 2 * n; nt.cap *= 2)
		;
	ld->depnode = yt_alloc(YT, (n + 1) * sizeof(*ld->depnode));
	ld->namenode = yt_alloc(YT, (n + 1) * sizeof(*ld->namenode));
	nt.slot = yt_alloc(YT, nt.cap * sizeof(size_t));
	if (ld->y.oom)
		return;
	memset(ld->depnode, 0, (n + 1) * sizeof(*ld->depnode));
	memset(ld->namenode, 0, (n + 1) * sizeof(*ld->namenode));
	memset(nt.slot, 0xff, nt.cap * sizeof(size_t));
	for (i = 0, it = v->child; it != NULL && !ld->y.oom; it = it->next, i++)
		load_task(ld, &nt, i, it);
	if (!ld->y.oom)
		load_deps(ld, &nt);
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
	struct pf_workflow *wf = ld->wf;
	const struct ynode *vals[CK_N], *keys[CK_N];
	long long	 x;

	v = yt_r(v);
	if (v == NULL || yt_is_null(v))
		return;
	if (v->kind != YN_MAP) {
		yt_err(YT, v, "config: expected a mapping (max_parallel, "
		    "retry_default, timeout_default, limits, retention), "
		    "got %s", yt_kind_name(v));
		return;
	}
	yt_map_collect(YT, v, config_keys, CK_N, "config", vals, keys);
	if (yt_get_int(YT, vals[CK_MAX_PARALLEL], "", "config.max_parallel", 1,
	    WF_PARALLEL_MAX, &x) == 1)
		wf->max_parallel = (unsigned)x;
	if (yt_get_int(YT, vals[CK_RETRY_DEFAULT], "", "config.retry_default", 0,
	    WF_RETRY_MAX, &x) == 1)
		wf->retry_default = (unsigned)x;
	if (yt_get_int(YT, vals[CK_TIMEOUT_DEFAULT], "", "config.timeout_default",
	    1, WF_TIMEOUT_MAX, &x) == 1)
		wf->timeout_default = (unsigned)x;
	if (yt_get_int(YT, vals[CK_MAX_TASKS_RUNNING], "",
	    "config.max_tasks_running", 1, WF_RUNNING_MAX, &x) == 1) {
		wf->max_tasks_running = (unsigned)x;
		policy_running(ld, yt_r(vals[CK_MAX_TASKS_RUNNING]),
		    POL_MAX_TASKS_RUNNING, wf->max_tasks_running);
	}
	if (yt_get_int(YT, vals[CK_MAX_RUNS_RUNNING], "",
	    "config.max_runs_running", 1, WF_RUNNING_MAX, &x) == 1) {
		wf->max_runs_running = (unsigned)x;
		policy_running(ld, yt_r(vals[CK_MAX_RUNS_RUNNING]),
		    POL_MAX_RUNS_RUNNING, wf->max_runs_running);
	}
	load_limits(ld, vals[CK_LIMITS], "", "config.limits", "config.limits",
	    &wf->limits);
	ld->cfg_limits = yt_r(vals[CK_LIMITS]);
	load_retention(ld, vals[CK_RETENTION], &wf->retention);
}

static void
load_schedule(struct ld *ld, const struct ynode *v)
{
	struct pf_workflow *wf = ld->wf;
	struct cron_expr ce;
	struct pf_err	 err;
	size_t		 off = 0;
	unsigned	 col;

	if (yt_get_str(YT, v, "", "schedule", 0, CRON_EXPR_MAX, &wf->schedule)
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
		yt_diag(YT, PF_SEV_ERROR, v->line, col, "schedule: %s",
		    err.msg[0] ? err.msg : "not a valid cron expression");
		return;
	}
	if (ce.nfields >= 6 && cron_dom_dow_both_restricted(&ce))
		yt_warn(YT, v, "schedule: both day-of-month and day-of-week "
		    "are restricted; a day matches when either matches (cron's "
		    "rule; the Rust PicoFlow required both)");
}

static void
load_timezone(struct ld *ld, const struct ynode *v)
{
	struct pf_workflow *wf = ld->wf;
	struct pf_tz	*tz = NULL;
	struct pf_err	 err;

	if (yt_get_str(YT, v, "", "timezone", 0, TZ_NAME_MAX, &wf->timezone) != 1)
		return;
	err.msg[0] = '\0';
	if (tz_load(wf->timezone, &tz, &err) == -1) {
		yt_err(YT, yt_r(v), "timezone: %s", err.msg[0] ? err.msg :
		    "unknown time zone");
		return;
	}
	tz_free(tz);
}

static void
load_root(struct ld *ld)
{
	struct pf_workflow *wf = ld->wf;
	const struct ynode *root = yt_r(ld->y.root), *vals[WK_N], *keys[WK_N];
	long long	 x;
	int		 w;

	/* Nothing, or a document with nothing in it ("---"). */
	if (root == NULL || yt_is_null(root)) {
		yt_diag(YT, PF_SEV_ERROR, 1, 1, "the file is empty; a workflow "
		    "needs at least 'name' and 'tasks'");
		return;
	}
	if (root->kind != YN_MAP) {
		yt_err(YT, root, "the top level must be a mapping with 'name' "
		    "and 'tasks', not %s", yt_kind_name(root));
		return;
	}
	yt_map_collect(YT, root, wf_keys, WK_N, "the workflow", vals, keys);
	switch (yt_get_str(YT, vals[WK_NAME], "", "name", 1, SIZE_MAX,
	    &wf->name)) {
	case 0:
		yt_err(YT, root, "missing required key 'name'");
		break;
	case 1:
		if (wf->name[0] == '\0')
			yt_err(YT, yt_r(vals[WK_NAME]), "name: is empty");
		else if (strlen(wf->name) > WF_NAME_MAX)
			yt_err(YT, yt_r(vals[WK_NAME]), "name: %zu bytes long; the "
			    "limit is %d", strlen(wf->name), WF_NAME_MAX);
		else if (yt_has_control(wf->name, strlen(wf->name)))
			yt_err(YT, yt_r(vals[WK_NAME]), "name: '%s' contains a "
			    "control character", yt_shown(YT, vals[WK_NAME]));
		break;
	}
	(void)yt_get_str(YT, vals[WK_DESCRIPTION], "", "description", 0,
	    WF_TEXT_MAX, &wf->description);
	load_schedule(ld, vals[WK_SCHEDULE]);
	load_timezone(ld, vals[WK_TIMEZONE]);
	if (yt_get_word(YT, vals[WK_OVERLAP], "", "overlap", overlap_words, 3,
	    &w) == 1)
		wf->overlap = overlap_vals[w];
	if (yt_get_word(YT, vals[WK_CATCHUP], "", "catchup", catchup_words, 3,
	    &w) == 1)
		wf->catchup = catchup_vals[w];
	if (yt_get_int(YT, vals[WK_CATCHUP_WINDOW], "", "catchup_window", 0,
	    WF_CATCHUP_WINDOW_MAX, &x) == 1)
		wf->catchup_window = (uint32_t)x;
	if (yt_get_int(YT, vals[WK_CATCHUP_MAX], "", "catchup_max", 1,
	    WF_CATCHUP_MAX_MAX, &x) == 1)
		wf->catchup_max = (uint32_t)x;
	(void)get_kvmap(ld, vals[WK_ENV], "", "env", KV_ENV, &wf->env);
	load_config(ld, vals[WK_CONFIG]);
	if (!ld->y.oom)
		load_tasks(ld, vals[WK_TASKS]);
}

/* ----------------------------------------------------------- entry points */

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
	load_root(&ld);
	if (ld.opts.policy != NULL && (strv_copy(ld.opts.policy->
	    privileged_groups, ld.opts.policy->nprivileged_groups,
	    &wf->privileged_groups, &wf->nprivileged_groups) == -1 ||
	    (ld.opts.policy->allow_root && strv_copy(ld.opts.policy->
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
