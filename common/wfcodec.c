/*
 * The workflow model on the wire (include/picoflow/wfcodec.h).  One table
 * per struct, one row per field: adding a field to the model is adding a
 * row here (and a tag in docs/protocol.md).  One encoder and one decoder
 * walk the tables; wfcodec_check() then verifies the decoded model as a
 * whole, because the loader that produced it parsed hostile YAML and may
 * have been subverted by it.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "picoflow/alloc.h"
#include "picoflow/buf.h"
#include "picoflow/dag.h"
#include "picoflow/err.h"
#include "picoflow/frame.h"
#include "picoflow/privgroup.h"
#include "picoflow/runas.h"
#include "picoflow/tz.h"
#include "picoflow/wfcodec.h"
#include "picoflow/workflow.h"

enum wkind {
	W_STR,		/* char *, absent = NULL */
	W_U8,		/* an enum or small number in an int-sized member */
	W_BOOL,		/* bool */
	W_U32,		/* unsigned / uint32_t */
	W_I32,		/* int */
	W_I64,		/* int64_t */
	W_STRV,		/* char ** + size_t: u32 count, (u32 len, bytes)... */
	W_I32V,		/* int * + size_t: u32 count, u32... */
	W_KV,		/* struct pf_kvlist: u32 count, (u32, key, u32, value)... */
	W_NEST,		/* array of structs + size_t: u32 count, (u32 len, body)... */
};

struct wdesc;

struct wfield {
	uint16_t		 tag;
	uint8_t			 kind;
	uint8_t			 arm;	/* 0 always; else 1 + the task type */
	const char		*name;
	size_t			 off;
	size_t			 noff;	/* vectors: the count */
	size_t			 max;	/* string bytes; vector entries */
	int64_t			 lo, hi; /* integers */
	const struct wdesc	*sub;	/* W_NEST: the element */
};

struct wdesc {
	const char		*name;
	const struct wfield	*f;
	size_t			 n;
	size_t			 size;	/* of one struct (W_NEST elements) */
	uint16_t		 arm_tag; /* the field choosing the arm; 0 none */
};

/* Fields per struct: the decoder's seen-set is one uint64_t. */
#define WDESC_FIELDS_MAX	64

#define AT(obj, off, type)	((type *)(void *)((char *)(obj) + (off)))
#define CAT(obj, off, type)	((const type *)(const void *)	\
				    ((const char *)(obj) + (off)))

typedef char	*wstr;
typedef char	**wstrv;
typedef int	*wintv;

/* Tags of the limits, the same in a workflow, a task and OPTS. */
#define LIMIT_ROWS(S, base, m)						\
	{ base + 0, W_I64, 0, "memory", offsetof(S, m.memory), 0, 0,	\
	  -1, INT64_MAX, NULL },					\
	{ base + 1, W_I64, 0, "swap", offsetof(S, m.swap), 0, 0,	\
	  -1, INT64_MAX, NULL },					\
	{ base + 2, W_I64, 0, "cpu_milli", offsetof(S, m.cpu_milli), 0,	\
	  0, -1, INT64_MAX, NULL },					\
	{ base + 3, W_I64, 0, "pids", offsetof(S, m.pids), 0, 0,	\
	  -1, INT64_MAX, NULL },					\
	{ base + 4, W_I64, 0, "nofile", offsetof(S, m.nofile), 0, 0,	\
	  -1, INT64_MAX, NULL },					\
	{ base + 5, W_I64, 0, "output", offsetof(S, m.output), 0, 0,	\
	  -1, INT64_MAX, NULL }

#define TS(tag, kind, arm, name, m, max) \
	{ tag, kind, arm, name, offsetof(struct pf_task, m), 0, max, 0, 0, NULL }
#define TI(tag, kind, arm, name, m, lo, hi) \
	{ tag, kind, arm, name, offsetof(struct pf_task, m), 0, 0, lo, hi, NULL }
#define TV(tag, kind, arm, name, m, n, max) \
	{ tag, kind, arm, name, offsetof(struct pf_task, m), \
	  offsetof(struct pf_task, n), max, 0, 0, NULL }

#define A_SHELL		(1 + TASK_SHELL)
#define A_SSH		(1 + TASK_SSH)
#define A_HTTP		(1 + TASK_HTTP)

static const struct wfield task_fields[] = {
	TS(1, W_STR, 0, "name", name, WF_TASK_NAME_MAX),
	TI(2, W_U8, 0, "type", type, 0, TASK_HTTP),
	TV(3, W_STRV, 0, "depends_on", depends_on, ndepends_on,
	    WFCODEC_LIST_MAX),
	TI(4, W_U32, 0, "retry", retry, 0, UINT32_MAX),
	TI(5, W_U32, 0, "timeout", timeout, 0, UINT32_MAX),
	TI(6, W_BOOL, 0, "continue_on_failure", continue_on_failure, 0, 1),
	LIMIT_ROWS(struct pf_task, 10, limits),
	TS(20, W_STR, 0, "run_as", run_as, PRIVGROUP_RUN_AS_MAX),
	TI(21, W_I32, 0, "sandbox.network", sandbox.network, -1, 1),
	TV(22, W_STRV, 0, "sandbox.read_only", sandbox.read_only,
	    sandbox.nread_only, WFCODEC_PATH_MAX),
	TV(23, W_STRV, 0, "sandbox.writable", sandbox.writable,
	    sandbox.nwritable, WFCODEC_PATH_MAX),
	TI(24, W_U32, 0, "pos.line", pos.line, 0, UINT32_MAX),
	TI(25, W_U32, 0, "pos.col", pos.col, 0, UINT32_MAX),
	TI(26, W_BOOL, 0, "run_as_privileged", run_as_privileged, 0, 1),
	TI(27, W_I32, 0, "sandbox.private_tmp", sandbox.private_tmp, -1, 1),
	/* shell */
	TS(40, W_STR, A_SHELL, "command", u.shell.command, WFCODEC_PATH_MAX),
	TV(41, W_STRV, A_SHELL, "args", u.shell.args, u.shell.nargs,
	    WFCODEC_TEXT_MAX),
	TS(42, W_STR, A_SHELL, "workdir", u.shell.workdir, WFCODEC_PATH_MAX),
	TS(43, W_KV, A_SHELL, "env", u.shell.env, WFCODEC_TEXT_MAX),
	/* ssh */
	TS(60, W_STR, A_SSH, "host", u.ssh.host, WFCODEC_SHORT_MAX),
	TS(61, W_STR, A_SSH, "user", u.ssh.user, WFCODEC_SHORT_MAX),
	TS(62, W_STR, A_SSH, "command", u.ssh.command, WFCODEC_TEXT_MAX),
	TS(63, W_STR, A_SSH, "key_path", u.ssh.key_path, WFCODEC_PATH_MAX),
	TI(64, W_I32, A_SSH, "port", u.ssh.port, 1, 65535),
	TI(65, W_BOOL, A_SSH, "verify_host_key", u.ssh.verify_host_key, 0, 1),
	/* http */
	TS(80, W_STR, A_HTTP, "url", u.http.url, WFCODEC_SHORT_MAX * 8),
	TS(81, W_STR, A_HTTP, "method", u.http.method, 16),
	TS(82, W_KV, A_HTTP, "headers", u.http.headers, WFCODEC_TEXT_MAX),
	TS(83, W_STR, A_HTTP, "body", u.http.body, WFCODEC_TEXT_MAX),
	TI(84, W_BOOL, A_HTTP, "body_is_json", u.http.body_is_json, 0, 1),
	TI(85, W_I32, A_HTTP, "timeout", u.http.timeout, 0, INT32_MAX),
	TI(86, W_BOOL, A_HTTP, "allow_private_ips", u.http.allow_private_ips,
	    0, 1),
	TS(87, W_STR, A_HTTP, "ca_file", u.http.ca_file, WFCODEC_PATH_MAX),
	TV(88, W_I32V, A_HTTP, "success_status", u.http.success_status,
	    u.http.nsuccess_status, 1000),
};

static const struct wdesc task_desc = {
	"task", task_fields, sizeof(task_fields) / sizeof(task_fields[0]),
	sizeof(struct pf_task), 2
};

#define WS(tag, kind, name, m, max) \
	{ tag, kind, 0, name, offsetof(struct pf_workflow, m), 0, max, 0, 0, \
	  NULL }
#define WI(tag, kind, name, m, lo, hi) \
	{ tag, kind, 0, name, offsetof(struct pf_workflow, m), 0, 0, lo, hi, \
	  NULL }
#define WV(tag, kind, name, m, n, max) \
	{ tag, kind, 0, name, offsetof(struct pf_workflow, m), \
	  offsetof(struct pf_workflow, n), max, 0, 0, NULL }

static const struct wfield wf_fields[] = {
	WS(1, W_STR, "file", file, WFCODEC_PATH_MAX),
	WS(2, W_STR, "name", name, WF_NAME_MAX),
	WS(3, W_STR, "description", description, WFCODEC_TEXT_MAX),
	WS(4, W_STR, "schedule", schedule, WFCODEC_SHORT_MAX),
	WS(5, W_STR, "timezone", timezone, TZ_NAME_MAX),
	WI(6, W_U8, "overlap", overlap, 0, OVERLAP_ALLOW),
	WI(7, W_U8, "catchup", catchup, 0, CATCHUP_ALL),
	WI(8, W_U32, "catchup_window", catchup_window, 0, UINT32_MAX),
	WI(9, W_U32, "catchup_max", catchup_max, 0, UINT32_MAX),
	WS(10, W_KV, "env", env, WFCODEC_TEXT_MAX),
	WI(11, W_U32, "max_parallel", max_parallel, 1, UINT32_MAX),
	WI(12, W_U32, "retry_default", retry_default, 0, UINT32_MAX),
	WI(13, W_U32, "timeout_default", timeout_default, 0, UINT32_MAX),
	LIMIT_ROWS(struct pf_workflow, 20, limits),
	WI(30, W_I64, "retention.max_age", retention.max_age, 0, INT64_MAX),
	WI(31, W_I64, "retention.max_runs", retention.max_runs, 0, INT64_MAX),
	WI(32, W_I64, "retention.max_output", retention.max_output, 0,
	    INT64_MAX),
	/* The policy's additions to and removals from the privileged groups. */
	WV(33, W_STRV, "privileged_groups", privileged_groups,
	    nprivileged_groups, 33),
	WV(34, W_STRV, "unprivileged_groups", unprivileged_groups,
	    nunprivileged_groups, 33),
	/* config's fairness caps (0: the supervisor's default). */
	WI(35, W_U32, "max_tasks_running", max_tasks_running, 0, UINT32_MAX),
	WI(36, W_U32, "max_runs_running", max_runs_running, 0, UINT32_MAX),
	{ 40, W_NEST, 0, "tasks", offsetof(struct pf_workflow, tasks),
	  offsetof(struct pf_workflow, ntasks), WFCODEC_TASKS_MAX, 0, 0,
	  &task_desc },
};

static const struct wdesc wf_desc = {
	"workflow", wf_fields, sizeof(wf_fields) / sizeof(wf_fields[0]),
	sizeof(struct pf_workflow), 0
};

/* OPTS' defaults: the limits alone. */
struct limits_box {
	struct pf_limits	 l;
};

static const struct wfield limits_fields[] = {
	LIMIT_ROWS(struct limits_box, 1, l),
};

static const struct wdesc limits_desc = {
	"limits", limits_fields, sizeof(limits_fields) /
	sizeof(limits_fields[0]), sizeof(struct limits_box), 0
};

/* ---- encoding ------------------------------------------------------------ */

static int	 enc_struct(const struct wdesc *, const void *, struct pf_buf *);

/* Integers travel as their two's complement in 8 bytes (u8: 1, u32: 4). */
static int64_t
int_get(const struct wfield *f, const void *obj)
{
	switch (f->kind) {
	case W_U8:
		return *CAT(obj, f->off, int);
	case W_BOOL:
		return *CAT(obj, f->off, bool);
	case W_U32:
		return *CAT(obj, f->off, unsigned);
	case W_I32:
		return *CAT(obj, f->off, int);
	default:
		return *CAT(obj, f->off, int64_t);
	}
}

static int
add_lv(struct pf_buf *b, const char *s, size_t n)
{
	if (n > UINT32_MAX)
		return -1;
	buf_add_u32(b, (uint32_t)n);
	return buf_add(b, s, n);
}

static int
enc_field(const struct wfield *f, const void *obj, struct pf_buf *b)
{
	size_t		 hdr = b->len, i, n = 0;
	int64_t		 v;

	switch (f->kind) {
	case W_STR:
		if (*CAT(obj, f->off, wstr) == NULL)
			return 0;
		break;
	/* A list is sent when it exists, empty or not: "[]" means something. */
	case W_STRV:
	case W_I32V:
	case W_NEST:
		if (*CAT(obj, f->off, wstr) == NULL)
			return 0;
		n = *CAT(obj, f->noff, size_t);
		break;
	case W_KV:
		if (CAT(obj, f->off, struct pf_kvlist)->v == NULL)
			return 0;
		n = CAT(obj, f->off, struct pf_kvlist)->n;
		break;
	default:
		break;
	}
	buf_add_u16(b, f->tag);
	buf_add_u32(b, 0);		/* patched below */
	switch (f->kind) {
	case W_STR:
		buf_add_str(b, *CAT(obj, f->off, wstr));
		break;
	case W_U8:
	case W_BOOL:
		buf_add_u8(b, (uint8_t)int_get(f, obj));
		break;
	case W_U32:
	case W_I32:
		buf_add_u32(b, (uint32_t)int_get(f, obj));
		break;
	case W_I64:
		v = int_get(f, obj);
		buf_add_u64(b, (uint64_t)v);
		break;
	case W_STRV: {
		char *const	*sv = *CAT(obj, f->off, wstrv);

		buf_add_u32(b, (uint32_t)n);
		for (i = 0; i < n; i++)
			add_lv(b, sv[i], strlen(sv[i]));
		break;
	}
	case W_I32V: {
		const int	*iv = *CAT(obj, f->off, wintv);

		buf_add_u32(b, (uint32_t)n);
		for (i = 0; i < n; i++)
			buf_add_u32(b, (uint32_t)iv[i]);
		break;
	}
	case W_KV: {
		const struct pf_kvlist *kv = CAT(obj, f->off, struct pf_kvlist);

		buf_add_u32(b, (uint32_t)n);
		for (i = 0; i < n; i++) {
			add_lv(b, kv->v[i].key, strlen(kv->v[i].key));
			add_lv(b, kv->v[i].value, strlen(kv->v[i].value));
		}
		break;
	}
	case W_NEST: {
		const char	*arr = *CAT(obj, f->off, wstr);
		size_t		 at;

		buf_add_u32(b, (uint32_t)n);
		for (i = 0; i < n && !b->failed; i++) {
			at = b->len;
			buf_add_u32(b, 0);
			if (enc_struct(f->sub, arr + i * f->sub->size, b) == -1)
				return -1;
			if (b->len - at - 4 > UINT32_MAX)
				return -1;
			le32_put(b->data + at, (uint32_t)(b->len - at - 4));
		}
		break;
	}
	}
	if (b->failed || b->len - hdr - FRAME_FIELD_HDR_LEN > UINT32_MAX)
		return -1;
	le32_put(b->data + hdr + 2, (uint32_t)(b->len - hdr -
	    FRAME_FIELD_HDR_LEN));
	return 0;
}

static int
enc_struct(const struct wdesc *d, const void *obj, struct pf_buf *b)
{
	size_t	 i;
	int	 arm = 0;

	for (i = 0; i < d->n; i++) {
		const struct wfield *f = &d->f[i];

		if (f->arm != 0 && f->arm != arm)
			continue;
		if (enc_field(f, obj, b) == -1)
			return -1;
		if (d->arm_tag != 0 && f->tag == d->arm_tag)
			arm = 1 + (int)int_get(f, obj);
	}
	return b->failed ? -1 : 0;
}

int
wfcodec_encode(const struct pf_workflow *wf, struct pf_buf *out)
{
	return enc_struct(&wf_desc, wf, out);
}

int
wfcodec_encode_limits(const struct pf_limits *l, struct pf_buf *out)
{
	struct limits_box	 box;

	box.l = *l;
	return enc_struct(&limits_desc, &box, out);
}

/* ---- decoding ------------------------------------------------------------ */

static int	 dec_struct(const struct wdesc *, void *, const uint8_t *,
		    size_t, struct pf_err *);

static int
bad(struct pf_err *err, const struct wdesc *d, const struct wfield *f,
    const char *what)
{
	pf_err_set(err, "%s.%s: %s", d->name, f ? f->name : "?", what);
	return -1;
}

/* A length-prefixed string out of r, capped, without NUL bytes. */
static int
get_lv(struct pf_rbuf *r, size_t max, char **out)
{
	uint32_t	 n;
	const uint8_t	*p;

	*out = NULL;
	if (rbuf_get_u32(r, &n) == -1 || n > max || rbuf_get_ptr(r, &p, n) ==
	    -1 || (n > 0 && memchr(p, '\0', n) != NULL))
		return -1;
	return (*out = pf_strndup((const char *)p, n)) == NULL ? -1 : 0;
}

/*
 * The count at the head of a vector, checked against the cap and
 * against the bytes left (each entry takes at least `least` bytes)
 * before anything is allocated.
 */
static int
get_count(struct pf_rbuf *r, const struct wfield *f, size_t least, size_t *n)
{
	uint32_t	 c;

	if (rbuf_get_u32(r, &c) == -1)
		return -1;
	if (f->kind != W_NEST && f->kind != W_I32V && c > WFCODEC_LIST_MAX)
		return -1;
	if ((f->kind == W_NEST || f->kind == W_I32V) && c > f->max)
		return -1;
	if ((size_t)c > rbuf_left(r) / least)
		return -1;
	*n = c;
	return 0;
}

/* An array of n (at least one slot, so that an empty list is not NULL). */
static void *
alloc_n(size_t n, size_t size)
{
	return pf_calloc(n > 0 ? n : 1, size);
}

static int
dec_field(const struct wdesc *d, const struct wfield *f, void *obj,
    const struct frame_field *fld, struct pf_err *err)
{
	struct pf_rbuf	 r;
	size_t		 n, i;
	uint64_t	 u;
	int64_t		 v;
	uint32_t	 u32;
	uint8_t		 u8;

	rbuf_init(&r, fld->data, fld->len);
	switch (f->kind) {
	case W_STR:
		if (frame_field_str(fld, f->max, AT(obj, f->off, wstr),
		    err) == -1)
			return bad(err, d, f, "bad string");
		return 0;
	case W_U8:
	case W_BOOL:
		if (fld->len != 1 || rbuf_get_u8(&r, &u8) == -1)
			return bad(err, d, f, "wrong size");
		v = u8;
		break;
	case W_U32:
		if (fld->len != 4 || rbuf_get_u32(&r, &u32) == -1)
			return bad(err, d, f, "wrong size");
		v = u32;
		break;
	case W_I32:
		if (fld->len != 4 || rbuf_get_u32(&r, &u32) == -1)
			return bad(err, d, f, "wrong size");
		v = (int32_t)u32;
		break;
	case W_I64:
		if (fld->len != 8 || rbuf_get_u64(&r, &u) == -1)
			return bad(err, d, f, "wrong size");
		v = (int64_t)u;
		break;
	case W_STRV: {
		char	**sv;

		if (get_count(&r, f, 4, &n) == -1)
			return bad(err, d, f, "bad count");
		if ((sv = alloc_n(n, sizeof(*sv))) == NULL)
			return bad(err, d, f, "out of memory");
		*AT(obj, f->off, wstrv) = sv;
		for (i = 0; i < n; i++) {
			*AT(obj, f->noff, size_t) = i;
			if (get_lv(&r, f->max, &sv[i]) == -1)
				return bad(err, d, f, "bad entry");
		}
		*AT(obj, f->noff, size_t) = n;
		goto whole;
	}
	case W_I32V: {
		int	*iv;

		if (get_count(&r, f, 4, &n) == -1)
			return bad(err, d, f, "bad count");
		if ((iv = alloc_n(n, sizeof(*iv))) == NULL)
			return bad(err, d, f, "out of memory");
		*AT(obj, f->off, wintv) = iv;
		*AT(obj, f->noff, size_t) = n;
		for (i = 0; i < n; i++) {
			if (rbuf_get_u32(&r, &u32) == -1)
				return bad(err, d, f, "bad entry");
			iv[i] = (int32_t)u32;
		}
		goto whole;
	}
	case W_KV: {
		struct pf_kvlist *kv = AT(obj, f->off, struct pf_kvlist);

		if (get_count(&r, f, 8, &n) == -1)
			return bad(err, d, f, "bad count");
		if ((kv->v = alloc_n(n, sizeof(*kv->v))) == NULL)
			return bad(err, d, f, "out of memory");
		for (i = 0; i < n; i++) {
			kv->n = i + 1;
			if (get_lv(&r, WFCODEC_SHORT_MAX, &kv->v[i].key) ==
			    -1 || kv->v[i].key[0] == '\0' ||
			    get_lv(&r, f->max, &kv->v[i].value) == -1)
				return bad(err, d, f, "bad entry");
		}
		goto whole;
	}
	case W_NEST: {
		char		*arr;
		const uint8_t	*p;

		if (get_count(&r, f, 4, &n) == -1)
			return bad(err, d, f, "bad count");
		if ((arr = alloc_n(n, f->sub->size)) == NULL)
			return bad(err, d, f, "out of memory");
		*AT(obj, f->off, char *) = arr;
		for (i = 0; i < n; i++) {
			*AT(obj, f->noff, size_t) = i + 1;
			if (rbuf_get_u32(&r, &u32) == -1 ||
			    rbuf_get_ptr(&r, &p, u32) == -1)
				return bad(err, d, f, "truncated entry");
			if (dec_struct(f->sub, arr + i * f->sub->size, p, u32,
			    err) == -1)
				return -1;
		}
		goto whole;
	}
	default:
		return bad(err, d, f, "unknown kind");
	}
	if (v < f->lo || v > f->hi)
		return bad(err, d, f, "out of range");
	switch (f->kind) {
	case W_U8:
	case W_I32:
		*AT(obj, f->off, int) = (int)v;
		break;
	case W_BOOL:
		*AT(obj, f->off, bool) = v != 0;
		break;
	case W_U32:
		*AT(obj, f->off, unsigned) = (unsigned)v;
		break;
	default:
		*AT(obj, f->off, int64_t) = v;
		break;
	}
	return 0;
whole:
	if (rbuf_left(&r) != 0)
		return bad(err, d, f, "trailing bytes");
	return 0;
}

static int
is_scalar(const struct wfield *f)
{
	return f->kind == W_U8 || f->kind == W_BOOL || f->kind == W_U32 ||
	    f->kind == W_I32 || f->kind == W_I64;
}

static int
dec_struct(const struct wdesc *d, void *obj, const uint8_t *p, size_t len,
    struct pf_err *err)
{
	struct frame_iter	 it;
	struct frame_field	 fld;
	uint64_t		 seen = 0;
	size_t			 i;
	int			 r, arm = 0;

	frame_iter_init(&it, p, len, d->n);
	while ((r = frame_iter_next(&it, &fld, err)) == 1) {
		const struct wfield *f = NULL;

		for (i = 0; i < d->n; i++)
			if (d->f[i].tag == fld.tag) {
				f = &d->f[i];
				break;
			}
		/* Unknown: a model field we would lose; both sides ship together. */
		if (f == NULL) {
			pf_err_set(err, "%s: unknown field tag %u", d->name,
			    fld.tag);
			return -1;
		}
		if (seen & ((uint64_t)1 << i))
			return bad(err, d, f, "repeated");
		seen |= (uint64_t)1 << i;
		if (f->arm != 0 && f->arm != arm)
			return bad(err, d, f, "not a field of this task type");
		if (dec_field(d, f, obj, &fld, err) == -1)
			return -1;
		if (d->arm_tag != 0 && f->tag == d->arm_tag)
			arm = 1 + *AT(obj, f->off, int);
	}
	if (r == -1)
		return -1;
	/* Scalars are always sent; one missing means a broken encoder. */
	for (i = 0; i < d->n; i++)
		if (is_scalar(&d->f[i]) && (d->f[i].arm == 0 ||
		    d->f[i].arm == arm) && !(seen & ((uint64_t)1 << i)))
			return bad(err, d, &d->f[i], "missing");
	return 0;
}

int
wfcodec_decode_limits(const void *p, size_t len, struct pf_limits *l,
    struct pf_err *err)
{
	struct limits_box	 box;

	memset(&box, 0, sizeof(box));
	if (dec_struct(&limits_desc, &box, p, len, err) == -1)
		return -1;
	*l = box.l;
	return 0;
}

/* ---- the model as a whole ---------------------------------------------- */

static int
has_ctl(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

struct name_ix {
	const char	*name;
	size_t		 i;
};

static int
cmp_name_ix(const void *a, const void *b)
{
	return strcmp(((const struct name_ix *)a)->name,
	    ((const struct name_ix *)b)->name);
}

static int
check_task(const struct pf_task *t, size_t i, struct pf_err *err)
{
	size_t	 k;

	if (t->name == NULL ||
	    !workflow_task_name_ok(t->name, strlen(t->name))) {
		pf_err_set(err, "task %zu: missing or invalid name", i);
		return -1;
	}
	if (t->run_as != NULL && !privgroup_run_as_ok(t->run_as, 0)) {
		pf_err_set(err, "task '%s': invalid run_as", t->name);
		return -1;
	}
	for (k = 0; k < t->sandbox.nread_only; k++)
		if (t->sandbox.read_only[k][0] != '/')
			goto relpath;
	for (k = 0; k < t->sandbox.nwritable; k++)
		if (t->sandbox.writable[k][0] != '/')
			goto relpath;
	switch (t->type) {
	case TASK_SHELL:
		if (t->u.shell.command == NULL ||
		    t->u.shell.command[0] != '/')
			goto relpath;
		if (t->u.shell.workdir != NULL && t->u.shell.workdir[0] != '/')
			goto relpath;
		break;
	case TASK_SSH:
		if (t->u.ssh.host == NULL || t->u.ssh.command == NULL ||
		    t->u.ssh.host[0] == '\0' || has_ctl(t->u.ssh.host)) {
			pf_err_set(err, "task '%s': ssh host or command "
			    "missing", t->name);
			return -1;
		}
		break;
	case TASK_HTTP:
		if (t->u.http.url == NULL || t->u.http.method == NULL ||
		    has_ctl(t->u.http.url) || has_ctl(t->u.http.method)) {
			pf_err_set(err, "task '%s': http url or method missing "
			    "or invalid", t->name);
			return -1;
		}
		for (k = 0; k < t->u.http.nsuccess_status; k++)
			if (t->u.http.success_status[k] < 100 ||
			    t->u.http.success_status[k] > 599) {
				pf_err_set(err, "task '%s': success_status "
				    "out of range", t->name);
				return -1;
			}
		break;
	}
	return 0;
relpath:
	pf_err_set(err, "task '%s': a path is missing or not absolute",
	    t->name);
	return -1;
}

/*
 * What the supervisor relies on, verified rather than believed: names
 * (they become cgroup and log names), paths, and the dependency graph,
 * rebuilt from the names as the loader would (dep_idx, order, level).
 */
static int
wfcodec_check(struct pf_workflow *wf, const struct wfcodec_opts *o,
    struct pf_err *err)
{
	struct name_ix	*ix = NULL;
	struct name_ix	 key, *hit;
	struct pf_task	*t;
	struct dag	 d;
	const char	*judged = NULL;	/* the last user found not root */
	size_t		 i, j, max = o && o->max_tasks ? o->max_tasks :
			    WFCODEC_TASKS_MAX;
	int		 rc = -1;

	if (wf->name == NULL || wf->name[0] == '\0' || has_ctl(wf->name)) {
		pf_err_set(err, "workflow: missing or invalid name");
		return -1;
	}
	if (wf->ntasks > max) {
		pf_err_set(err, "workflow '%s': %zu tasks (at most %zu allowed)",
		    wf->name, wf->ntasks, max);
		return -1;
	}
	/* Taking groups off the privileged list needs allow_root too. */
	if (o != NULL && o->root_check && !o->root_allowed &&
	    wf->nunprivileged_groups > 0) {
		pf_err_set(err, "workflow '%s': unprivileged_groups is not "
		    "allowed here", wf->name);
		return -1;
	}
	if ((ix = pf_reallocarray(NULL, wf->ntasks + 1, sizeof(*ix))) == NULL) {
		pf_err_set(err, "out of memory");
		return -1;
	}
	for (i = 0; i < wf->ntasks; i++) {
		if (check_task(&wf->tasks[i], i, err) == -1)
			goto out;
		if (o != NULL && o->root_check && !o->root_allowed) {
			const char *u = wf->tasks[i].run_as != NULL ?
			    wf->tasks[i].run_as : o->default_user != NULL ?
			    o->default_user : geteuid() == 0 ? "root" : NULL;

			/* Tasks share a user: one name lookup, not 10,000. */
			if (u != NULL && (judged == NULL ||
			    strcmp(u, judged) != 0) && runas_is_root(u)) {
				pf_err_set(err, "task '%s' would run as root "
				    "('%s'), which is not allowed here",
				    wf->tasks[i].name, u);
				goto out;
			}
			judged = u;
			/*
			 * A privileged group needs the consent root needs:
			 * the worker trusts this flag.
			 */
			if (wf->tasks[i].run_as_privileged) {
				pf_err_set(err, "task '%s' would run with a "
				    "privileged group, which is not allowed "
				    "here", wf->tasks[i].name);
				goto out;
			}
		}
		ix[i].name = wf->tasks[i].name;
		ix[i].i = i;
	}
	qsort(ix, wf->ntasks, sizeof(*ix), cmp_name_ix);
	for (i = 1; i < wf->ntasks; i++)
		if (strcmp(ix[i - 1].name, ix[i].name) == 0) {
			pf_err_set(err, "workflow '%s': task name '%s' is used "
			    "twice", wf->name, ix[i].name);
			goto out;
		}
	if (dag_init(&d, wf->ntasks) == -1) {
		pf_err_set(err, "out of memory");
		goto out;
	}
	for (i = 0; i < wf->ntasks; i++) {
		t = &wf->tasks[i];
		if (t->ndepends_on == 0)
			continue;
		if ((t->dep_idx = pf_calloc(t->ndepends_on,
		    sizeof(size_t))) == NULL) {
			pf_err_set(err, "out of memory");
			goto dag_out;
		}
		for (j = 0; j < t->ndepends_on; j++) {
			key.name = t->depends_on[j];
			hit = bsearch(&key, ix, wf->ntasks, sizeof(*ix),
			    cmp_name_ix);
			if (hit == NULL || hit->i == i) {
				pf_err_set(err, "task '%s': depends_on '%s' is "
				    "not another task", t->name, key.name);
				goto dag_out;
			}
			t->dep_idx[j] = hit->i;
			if (dag_add_edge(&d, i, hit->i, err) == -1)
				goto dag_out;
		}
	}
	if (dag_finish(&d, err) == -1) {
		pf_err_set(err, "workflow '%s': the dependencies %s", wf->name,
		    d.ncycles ? "have a cycle" : "cannot be ordered");
		goto dag_out;
	}
	/* The loader keeps each dependency once; so must a model. */
	for (i = 0; i < wf->ntasks; i++)
		if (d.dep_off[i + 1] - d.dep_off[i] !=
		    wf->tasks[i].ndepends_on) {
			pf_err_set(err, "task '%s': a dependency is listed "
			    "twice", wf->tasks[i].name);
			goto dag_out;
		}
	if (workflow_set_dag(wf, &d) == -1) {
		pf_err_set(err, "out of memory");
		goto dag_out;
	}
	rc = 0;
dag_out:
	dag_free(&d);
out:
	pf_free(ix);
	return rc;
}

struct pf_workflow *
wfcodec_decode(const void *p, size_t len, const struct wfcodec_opts *o,
    struct pf_err *err)
{
	struct pf_workflow	*wf;

	if ((wf = pf_calloc(1, sizeof(*wf))) == NULL) {
		pf_err_set(err, "out of memory");
		return NULL;
	}
	if (dec_struct(&wf_desc, wf, p, len, err) == -1 ||
	    wfcodec_check(wf, o, err) == -1) {
		/* workflow_free needs each task's type: calloc made it shell. */
		workflow_free(wf);
		return NULL;
	}
	return wf;
}
