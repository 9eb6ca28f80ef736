/*
 * The workflow loader's executors: a task's config for shell, ssh and
 * http, and an http body given as YAML written out as JSON.
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
	struct ytree	*yt = &ld->y;
	const struct ynode *c, *k;
	const char	*t;
	size_t		 klen;

	n = yt_r(n);
	if (depth > ld->opts.max_depth) {
		yt_err(yt, n, "%sbody: nested deeper than %zu levels", pfx,
		    ld->opts.max_depth);
		return -1;
	}
	switch (n->kind) {
	case YN_MAP:
		buf_add_u8(b, '{');
		for (k = n->child; k != NULL && k->next != NULL;
		    k = k->next->next) {
			if (yt_r(k)->kind != YN_SCALAR) {
				yt_err(yt, k, "%sbody: a key must be a scalar, "
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
				yt_err(yt, k, "%sbody: a key longer than 1000 "
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
			yt_err(yt, n, "%sbody: more than %d bytes once encoded "
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
	struct ytree	*yt = &ld->y;
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
		return yt_get_str(yt, n, pfx, "body", 1, WF_BODY_MAX, &h->body);
	buf_init(&b, WF_BODY_MAX);
	if (json_emit(ld, &b, n, pfx, 0) == -1) {
		buf_free(&b);
		return -1;
	}
	if ((h->body = yt_strdup(yt, (const char *)b.data, b.len)) == NULL) {
		buf_free(&b);
		return -1;
	}
	buf_free(&b);
	h->body_is_json = true;
	return 1;
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
	yt_err(&ld->y, map, "%smissing required key '%s' in config", pfx, key);
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
	struct ytree	*yt = &ld->y;
	long long	 x;

	if (yt_get_int(yt, val, pfx, "config.timeout", 1, WF_TIMEOUT_MAX, &x)
	    != 1)
		return;
	if (task_timeout != NULL && !yt_is_null(yt_r(task_timeout)))
		yt_warn(yt, key, "%s'timeout' inside config (%lld) is ignored: "
		    "the task's own timeout (line %u) wins", pfx, x,
		    task_timeout->line);
	else {
		t->timeout = (unsigned)x;
		yt_warn(yt, key, "%s'timeout' inside config is taken as the "
		    "task's timeout (%lld s); write it at task level", pfx, x);
	}
}

void
wl_load_shell(struct ld *ld, struct pf_task *t, const struct ynode *cfg,
    const char *pfx, const char *where, const struct ynode *task_timeout)
{
	struct ytree	*yt = &ld->y;
	const struct ynode *v[SH_N], *k[SH_N];
	struct pf_shell	*sh = &t->u.shell;
	const char	*why;
	int		 rc;

	yt_map_collect(yt, cfg, shell_keys, SH_N, where, v, k);
	rc = yt_get_str(yt, v[SH_COMMAND], pfx, "command", 1, WF_STR_MAX,
	    &sh->command);
	if (rc == 0)
		missing_in_config(ld, cfg, pfx, "command");
	else if (rc == 1 && sh->command[0] != '/')
		yt_err(yt, v[SH_COMMAND], "%scommand: '%s' is not an absolute "
		    "path; commands run directly, without a shell or PATH "
		    "search (write the full path%s%s)", pfx,
		    yt_shown(yt, v[SH_COMMAND]),
		    strchr(sh->command, '/') ? "" : ", e.g. /usr/bin/",
		    strchr(sh->command, '/') ? "" : yt_shown(yt, v[SH_COMMAND]));
	else if (rc == 1 && yt_has_control(sh->command, strlen(sh->command)))
		yt_err(yt, v[SH_COMMAND], "%scommand: contains a control "
		    "character", pfx);
	(void)yt_get_strlist(yt, v[SH_ARGS], pfx, "args", WF_ARGS_MAX,
	    WF_STR_MAX, 0, &sh->args, &sh->nargs);
	if (yt_get_str(yt, v[SH_WORKDIR], pfx, "workdir", 0, WF_STR_MAX,
	    &sh->workdir) == 1 && (why = yt_abs_path_problem(sh->workdir)) !=
	    NULL)
		yt_err(yt, v[SH_WORKDIR], "%sworkdir: '%s' %s", pfx,
		    yt_shown(yt, v[SH_WORKDIR]), why);
	(void)wl_get_kvmap(ld, v[SH_ENV], pfx, "env", KV_ENV, &sh->env);
	if (k[SH_TIMEOUT] != NULL)
		config_timeout(ld, t, k[SH_TIMEOUT], v[SH_TIMEOUT],
		    task_timeout, pfx);
}

void
wl_load_ssh(struct ld *ld, struct pf_task *t, const struct ynode *cfg,
    const char *pfx, const char *where, const struct ynode *task_timeout)
{
	struct ytree	*yt = &ld->y;
	const struct ynode *v[SS_N], *k[SS_N];
	struct pf_ssh	*ss = &t->u.ssh;
	char		*host = NULL;
	size_t		 off, blen;
	long long	 x;
	int		 rc;

	ss->port = 22;
	ss->verify_host_key = true;
	yt_map_collect(yt, cfg, ssh_keys, SS_N, where, v, k);
	rc = yt_get_str(yt, v[SS_HOST], pfx, "host", 1, 255, &host);
	if (rc == 0)
		missing_in_config(ld, cfg, pfx, "host");
	else if (rc == 1) {
		if (!wl_ssh_host_ok(host, &off, &blen))
			yt_err(yt, v[SS_HOST], "%shost: '%s' is not a host "
			    "name, IPv4 or IPv6 address", pfx,
			    yt_shown(yt, v[SS_HOST]));
		else
			ss->host = yt_strdup(yt, host + off, blen);
		pf_free(host);
	}
	rc = yt_get_str(yt, v[SS_USER], pfx, "user", 1, WF_USER_MAX, &ss->user);
	if (rc == 0)
		missing_in_config(ld, cfg, pfx, "user");
	else if (rc == 1 && (ss->user[0] == '\0' ||
	    yt_has_control(ss->user, strlen(ss->user))))
		yt_err(yt, v[SS_USER], "%suser: must be a non-empty name "
		    "without control characters", pfx);
	rc = yt_get_str(yt, v[SS_COMMAND], pfx, "command", 1, WF_STR_MAX,
	    &ss->command);
	if (rc == 0)
		missing_in_config(ld, cfg, pfx, "command");
	else if (rc == 1 && ss->command[0] == '\0')
		yt_err(yt, v[SS_COMMAND], "%scommand: is empty", pfx);
	if (yt_get_str(yt, v[SS_KEY_PATH], pfx, "key_path", 0, WF_STR_MAX,
	    &ss->key_path) == 1 && !(ss->key_path[0] == '/' ||
	    strcmp(ss->key_path, "~") == 0 ||
	    strncmp(ss->key_path, "~/", 2) == 0 ||
	    strncmp(ss->key_path, "${", 2) == 0))
		yt_err(yt, v[SS_KEY_PATH], "%skey_path: '%s' must be an "
		    "absolute path or start with ~/", pfx,
		    yt_shown(yt, v[SS_KEY_PATH]));
	if (yt_get_int(yt, v[SS_PORT], pfx, "port", 1, 65535, &x) == 1)
		ss->port = (int)x;
	(void)yt_get_bool(yt, v[SS_VERIFY], pfx, "verify_host_key",
	    &ss->verify_host_key);
	if (k[SS_TIMEOUT] != NULL)
		config_timeout(ld, t, k[SS_TIMEOUT], v[SS_TIMEOUT],
		    task_timeout, pfx);
}

void
wl_load_http(struct ld *ld, struct pf_task *t, const struct ynode *cfg,
    const char *pfx, const char *where)
{
	struct ytree	*yt = &ld->y;
	const struct ynode *v[HT_N], *k[HT_N], *l, *it;
	struct pf_http	*h = &t->u.http;
	const char	*why;
	char		 ikey[48];
	long long	 x;
	size_t		 i;
	int		 rc, m;

	h->timeout = WF_DEFAULT_HTTP_TIMEOUT;
	yt_map_collect(yt, cfg, http_keys, HT_N, where, v, k);
	rc = yt_get_str(yt, v[HT_URL], pfx, "url", 1, WF_URL_MAX, &h->url);
	if (rc == 0)
		missing_in_config(ld, cfg, pfx, "url");
	else if (rc == 1 && (why = wl_url_problem(h->url)) != NULL)
		yt_err(yt, v[HT_URL], "%surl: '%s' %s", pfx,
		    yt_shown(yt, v[HT_URL]), why);
	rc = yt_get_scalar(yt, v[HT_METHOD], pfx, "method", 0, &it);
	if (rc == 0)
		h->method = yt_strdup(yt, "GET", 3);
	else if (rc == 1) {
		for (m = 0; m < 6; m++)
			if (strcasecmp(it->text, http_methods[m]) == 0)
				break;
		if (m == 6)
			yt_err(yt, it, "%smethod: '%s' is not one of GET, POST, "
			    "PUT, DELETE, PATCH, HEAD", pfx, yt_shown(yt, it));
		else
			h->method = yt_strdup(yt, http_methods[m],
			    strlen(http_methods[m]));
	}
	(void)wl_get_kvmap(ld, v[HT_HEADERS], pfx, "headers", KV_HEADER,
	    &h->headers);
	(void)load_body(ld, h, v[HT_BODY], pfx);
	if (yt_get_int(yt, v[HT_TIMEOUT], pfx, "timeout", 1, WF_HTTP_TIMEOUT_MAX,
	    &x) == 1)
		h->timeout = (int)x;
	(void)yt_get_bool(yt, v[HT_PRIVATE], pfx, "allow_private_ips",
	    &h->allow_private_ips);
	if (yt_get_str(yt, v[HT_CA_FILE], pfx, "ca_file", 0, WF_STR_MAX,
	    &h->ca_file) == 1 && (why = yt_abs_path_problem(h->ca_file)) != NULL)
		yt_err(yt, v[HT_CA_FILE], "%sca_file: '%s' %s", pfx,
		    yt_shown(yt, v[HT_CA_FILE]), why);
	if (yt_get_list(yt, v[HT_SUCCESS], pfx, "success_status", WF_STATUS_MAX,
	    &l) == 1) {
		if (l->n == 0) {
			yt_err(yt, l, "%ssuccess_status: empty list; leave it "
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
			if (yt_get_int(yt, it, pfx, ikey, 100, 599, &x) == 1)
				h->success_status[i] = (int)x;
			else if (yt_is_null(yt_r(it)))
				yt_err(yt, it, "%s%s: missing value", pfx, ikey);
		}
		h->nsuccess_status = l->n;
	}
}
