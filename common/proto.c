/*
 * The worker protocol's messages.  Each message is described once, by a
 * table of its fields (tag, wire kind, name, where it lives in the C
 * struct, size limit); one generic encoder and one generic decoder walk
 * those tables, so every message gets the same checks: exact sizes for
 * fixed fields, singletons seen once, required fields present, no NUL in
 * strings, capped lengths and counts.  Range checks that depend on the
 * message live in its *_check() function, run by both sides.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "picoflow/alloc.h"
#include "picoflow/buf.h"
#include "picoflow/err.h"
#include "picoflow/frame.h"
#include "picoflow/proto.h"

enum pkind {
	K_U8,		/* uint8_t, 1 byte */
	K_BOOL,		/* bool, 1 byte 0 or 1 */
	K_U32,		/* uint32_t, 4 bytes */
	K_I32,		/* int, 4 bytes two's complement */
	K_U64,		/* uint64_t, 8 bytes */
	K_I64,		/* int64_t, 8 bytes two's complement */
	K_STR,		/* char *, no NUL */
	K_BYTES,	/* const uint8_t * + size_t, borrowed from the frame */
	K_STRV,		/* char ** + size_t, repeated */
	K_I32V,		/* int * + size_t, repeated */
	K_KV,		/* struct pf_kvlist, repeated: u32 keylen, key, value */
};

#define F_REQ		0x01	/* must be present; strings/bytes non-empty */

struct pfield {
	uint16_t	 tag;
	uint8_t		 kind;
	uint8_t		 flags;
	const char	*name;
	size_t		 off;		/* the value (vectors: the array) */
	size_t		 noff;		/* vectors and bytes: the count */
	size_t		 max;		/* bytes of one string/bytes/kv */
};

struct pmsg {
	const char		*name;
	uint8_t			 type;
	const struct pfield	*f;
	size_t			 n;
	size_t			 max_fields;
};

/* Fields per message: bounds the per-field counters on the stack. */
#define PMSG_FIELDS_MAX	64

/* Pointer members by name, so CAT() makes the member const, not its target. */
typedef char		*pstr;
typedef char		**pstrv;
typedef int		*pintv;
typedef const uint8_t	*pbytes;

#define AT(obj, off, type)	((type *)(void *)((char *)(obj) + (off)))
#define CAT(obj, off, type)	((const type *)(const void *)	\
				    ((const char *)(obj) + (off)))

#define SF(tag, kind, fl, name, m, max) \
	{ tag, kind, fl, name, offsetof(struct proto_spec, m), 0, max }
#define SV(tag, kind, name, m, n, max) \
	{ tag, kind, 0, name, offsetof(struct proto_spec, m), \
	  offsetof(struct proto_spec, n), max }

static const struct pfield spec_fields[] = {
	SF(PROTO_SPEC_ATTEMPT_ID, K_U64, F_REQ, "attempt_id", attempt_id, 0),
	SF(PROTO_SPEC_RUN_ID, K_STR, F_REQ, "run_id", run_id, PROTO_NAME_MAX),
	SF(PROTO_SPEC_TASK_NAME, K_STR, F_REQ, "task_name", task_name,
	    PROTO_NAME_MAX),
	SF(PROTO_SPEC_EXECUTOR, K_U8, F_REQ, "executor", executor, 0),
	SF(PROTO_SPEC_WORKFLOW, K_STR, 0, "workflow", workflow,
	    PROTO_NAME_MAX),
	SF(PROTO_SPEC_COMMAND, K_STR, 0, "command", command, PROTO_PATH_MAX),
	SV(PROTO_SPEC_ARG, K_STRV, "arg", args, nargs, PROTO_ARG_MAX),
	SF(PROTO_SPEC_WORKDIR, K_STR, 0, "workdir", workdir, PROTO_PATH_MAX),
	SV(PROTO_SPEC_ENV, K_STRV, "env", env, nenv, PROTO_ARG_MAX),
	SF(PROTO_SPEC_OUTPUT_CAP, K_U64, 0, "output_cap", output_cap, 0),
	SF(PROTO_SPEC_KILL_GRACE_MS, K_U32, 0, "kill_grace_ms", kill_grace_ms,
	    0),
	SF(PROTO_SPEC_DRAIN_MS, K_U32, 0, "drain_ms", drain_ms, 0),
	SF(PROTO_SPEC_LIM_MEMORY, K_I64, 0, "limit_memory", limits.memory, 0),
	SF(PROTO_SPEC_LIM_SWAP, K_I64, 0, "limit_swap", limits.swap, 0),
	SF(PROTO_SPEC_LIM_CPU_MILLI, K_I64, 0, "limit_cpu_milli",
	    limits.cpu_milli, 0),
	SF(PROTO_SPEC_LIM_PIDS, K_I64, 0, "limit_pids", limits.pids, 0),
	SF(PROTO_SPEC_LIM_NOFILE, K_I64, 0, "limit_nofile", limits.nofile, 0),
	SF(PROTO_SPEC_RUN_AS, K_STR, 0, "run_as", run_as, PROTO_NAME_MAX),
	SF(PROTO_SPEC_PRIV_OK, K_BOOL, 0, "run_as_privileged",
	    run_as_privileged, 0),
	SV(PROTO_SPEC_PRIV_GROUP, K_STRV, "privileged_group",
	    privileged_groups, nprivileged_groups, PROTO_NAME_MAX),
	SV(PROTO_SPEC_UNPRIV_GROUP, K_STRV, "unprivileged_group",
	    unprivileged_groups, nunprivileged_groups, PROTO_NAME_MAX),
	SF(PROTO_SPEC_NETWORK, K_I32, 0, "network", network, 0),
	SV(PROTO_SPEC_READ_ONLY, K_STRV, "read_only", read_only, nread_only,
	    PROTO_PATH_MAX),
	SV(PROTO_SPEC_WRITABLE, K_STRV, "writable", writable, nwritable,
	    PROTO_PATH_MAX),
	SF(PROTO_SPEC_SSH_HOST, K_STR, 0, "ssh_host", ssh.host,
	    PROTO_NAME_MAX),
	SF(PROTO_SPEC_SSH_USER, K_STR, 0, "ssh_user", ssh.user,
	    PROTO_NAME_MAX),
	SF(PROTO_SPEC_SSH_COMMAND, K_STR, 0, "ssh_command", ssh.command,
	    PROTO_ARG_MAX),
	SF(PROTO_SPEC_SSH_KEY_PATH, K_STR, 0, "ssh_key_path", ssh.key_path,
	    PROTO_PATH_MAX),
	SF(PROTO_SPEC_SSH_PORT, K_I32, 0, "ssh_port", ssh.port, 0),
	SF(PROTO_SPEC_SSH_VERIFY, K_BOOL, 0, "ssh_verify_host_key",
	    ssh.verify_host_key, 0),
	SF(PROTO_SPEC_HTTP_URL, K_STR, 0, "http_url", http.url,
	    PROTO_URL_MAX),
	SF(PROTO_SPEC_HTTP_METHOD, K_STR, 0, "http_method", http.method, 16),
	SF(PROTO_SPEC_HTTP_HEADER, K_KV, 0, "http_header", http.headers,
	    PROTO_HEADER_MAX),
	SF(PROTO_SPEC_HTTP_BODY, K_STR, 0, "http_body", http.body,
	    PROTO_SPEC_MAX),
	SF(PROTO_SPEC_HTTP_BODY_JSON, K_BOOL, 0, "http_body_is_json",
	    http.body_is_json, 0),
	SF(PROTO_SPEC_HTTP_TIMEOUT, K_I32, 0, "http_timeout", http.timeout, 0),
	SF(PROTO_SPEC_HTTP_PRIVATE, K_BOOL, 0, "http_allow_private_ips",
	    http.allow_private_ips, 0),
	SF(PROTO_SPEC_HTTP_CA_FILE, K_STR, 0, "http_ca_file", http.ca_file,
	    PROTO_PATH_MAX),
	SV(PROTO_SPEC_HTTP_SUCCESS, K_I32V, "http_success_status",
	    http.success_status, http.nsuccess_status, 0),
	SF(PROTO_SPEC_NAMESPACES, K_BOOL, 0, "namespaces", namespaces, 0),
	SF(PROTO_SPEC_PRIVATE_TMP, K_BOOL, 0, "private_tmp", private_tmp, 0),
	SF(PROTO_SPEC_ATTACH_DIR, K_STR, 0, "attach_dir", attach_dir,
	    PROTO_PATH_MAX),
	SF(PROTO_SPEC_ATTACH_WINDOW_MS, K_U32, 0, "attach_window_ms",
	    attach_window_ms, 0),
	SF(PROTO_SPEC_TIMEOUT_MS, K_U64, 0, "timeout_ms", timeout_ms, 0),
};

#define TF(tag, kind, fl, name, m) \
	{ tag, kind, fl, name, offsetof(struct proto_started, m), 0, 0 }

static const struct pfield started_fields[] = {
	TF(PROTO_STARTED_PID, K_U32, 0, "pid", pid),
	TF(PROTO_STARTED_TIME_MS, K_U64, F_REQ, "time_ms", time_ms),
};

static const struct pfield output_fields[] = {
	{ PROTO_OUTPUT_STREAM, K_U8, F_REQ, "stream",
	    offsetof(struct proto_output, stream), 0, 0 },
	{ PROTO_OUTPUT_DATA, K_BYTES, F_REQ, "data",
	    offsetof(struct proto_output, data),
	    offsetof(struct proto_output, len), PROTO_OUTPUT_CHUNK_MAX },
};

#define RF(tag, kind, fl, name, m, max) \
	{ tag, kind, fl, name, offsetof(struct proto_result, m), 0, max }

static const struct pfield result_fields[] = {
	RF(PROTO_RESULT_STATUS, K_U8, F_REQ, "status", status, 0),
	RF(PROTO_RESULT_EXIT_CODE, K_I32, 0, "exit_code", exit_code, 0),
	RF(PROTO_RESULT_SIGNAL, K_I32, 0, "signal", signal, 0),
	RF(PROTO_RESULT_DURATION_MS, K_U64, 0, "duration_ms", duration_ms, 0),
	RF(PROTO_RESULT_MAXRSS_KIB, K_U64, 0, "maxrss_kib", maxrss_kib, 0),
	RF(PROTO_RESULT_UTIME_US, K_U64, 0, "utime_us", utime_us, 0),
	RF(PROTO_RESULT_STIME_US, K_U64, 0, "stime_us", stime_us, 0),
	RF(PROTO_RESULT_HTTP_STATUS, K_I32, 0, "http_status", http_status, 0),
	RF(PROTO_RESULT_STDOUT_BYTES, K_U64, 0, "stdout_bytes", stdout_bytes,
	    0),
	RF(PROTO_RESULT_STDERR_BYTES, K_U64, 0, "stderr_bytes", stderr_bytes,
	    0),
	RF(PROTO_RESULT_DROPPED, K_U64, 0, "dropped", dropped, 0),
	RF(PROTO_RESULT_TRUNCATED, K_BOOL, 0, "truncated", truncated, 0),
	RF(PROTO_RESULT_ERROR, K_STR, 0, "error", error, PROTO_ERROR_MAX),
	RF(PROTO_RESULT_WORKER_RSS_KIB, K_U64, 0, "worker_rss_kib",
	    worker_rss_kib, 0),
	RF(PROTO_RESULT_TIMED_OUT, K_BOOL, 0, "timed_out", timed_out, 0),
};

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

static const struct pmsg spec_msg = { "SPEC", PROTO_MSG_SPEC, spec_fields,
	NELEM(spec_fields), PROTO_SPEC_FIELDS_MAX };
static const struct pmsg started_msg = { "STARTED", PROTO_MSG_STARTED,
	started_fields, NELEM(started_fields), FRAME_FIELDS_MAX };
static const struct pmsg output_msg = { "OUTPUT", PROTO_MSG_OUTPUT,
	output_fields, NELEM(output_fields), FRAME_FIELDS_MAX };
static const struct pmsg result_msg = { "RESULT", PROTO_MSG_RESULT,
	result_fields, NELEM(result_fields), FRAME_FIELDS_MAX };

_Static_assert(NELEM(spec_fields) <= PMSG_FIELDS_MAX, "too many fields");
_Static_assert(NELEM(result_fields) <= PMSG_FIELDS_MAX, "too many fields");

static int
perr(struct pf_err *err, const struct pmsg *m, const struct pfield *d,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* "MSG: field NAME (tag N): what" */
static int
perr(struct pf_err *err, const struct pmsg *m, const struct pfield *d,
    const char *fmt, ...)
{
	char	 what[PF_ERR_MAX];
	va_list	 ap;

	va_start(ap, fmt);
	(void)vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (d != NULL)
		pf_err_set(err, "%s: field %s (tag %u): %s", m->name, d->name,
		    d->tag, what);
	else
		pf_err_set(err, "%s: %s", m->name, what);
	return -1;
}

static const struct pfield *
pmsg_find(const struct pmsg *m, uint16_t tag, size_t *idx)
{
	size_t	 i;

	for (i = 0; i < m->n; i++)
		if (m->f[i].tag == tag) {
			*idx = i;
			return &m->f[i];
		}
	return NULL;
}

static int
kind_is_vector(uint8_t kind)
{
	return kind == K_STRV || kind == K_I32V || kind == K_KV;
}

/* The exact wire size of a fixed-size kind, 0 for variable sizes. */
static size_t
kind_size(uint8_t kind)
{
	switch (kind) {
	case K_U8:
	case K_BOOL:
		return 1;
	case K_U32:
	case K_I32:
	case K_I32V:
		return 4;
	case K_U64:
	case K_I64:
		return 8;
	default:
		return 0;
	}
}

static int
str_is_empty(const char *s)
{
	return s == NULL || *s == '\0';
}

/* Two's complement without implementation-defined conversions. */
static int
i32_from_wire(uint32_t v)
{
	return v <= INT32_MAX ? (int)v : (int)((int64_t)v - 4294967296LL);
}

static int64_t
i64_from_wire(uint64_t v)
{
	return v <= INT64_MAX ? (int64_t)v : -(int64_t)(~v) - 1;
}

/* Frees what a decoder allocated and clears the pointers. */
static void
pmsg_free(const struct pmsg *m, void *obj)
{
	const struct pfield	*d;
	struct pf_kvlist	*kv;
	char			***sv;
	size_t			 i, j, *n;

	for (i = 0; i < m->n; i++) {
		d = &m->f[i];
		switch (d->kind) {
		case K_STR:
			pf_free(*AT(obj, d->off, pstr));
			*AT(obj, d->off, pstr) = NULL;
			break;
		case K_STRV:
			sv = AT(obj, d->off, pstrv);
			n = AT(obj, d->noff, size_t);
			for (j = 0; *sv != NULL && j < *n; j++)
				pf_free((*sv)[j]);
			pf_free(*sv);
			*sv = NULL;
			*n = 0;
			break;
		case K_I32V:
			pf_free(*AT(obj, d->off, pintv));
			*AT(obj, d->off, pintv) = NULL;
			*AT(obj, d->noff, size_t) = 0;
			break;
		case K_KV:
			kv = AT(obj, d->off, struct pf_kvlist);
			for (j = 0; kv->v != NULL && j < kv->n; j++) {
				pf_free(kv->v[j].key);
				pf_free(kv->v[j].value);
			}
			pf_free(kv->v);
			kv->v = NULL;
			kv->n = 0;
			break;
		default:
			break;
		}
	}
}

/*
 * Pass 1: walk the payload, check its structure and every known field's
 * size, count each tag; nothing is allocated.
 */
static int
pmsg_scan(const struct pmsg *m, const void *p, size_t len, size_t *cnt,
    struct pf_err *err)
{
	struct frame_iter	 it;
	struct frame_field	 fld;
	const struct pfield	*d;
	struct pf_err		 e;
	size_t			 i, size;
	int			 rc;

	memset(cnt, 0, m->n * sizeof(*cnt));
	frame_iter_init(&it, p, len, m->max_fields);
	while ((rc = frame_iter_next(&it, &fld, &e)) == 1) {
		if ((d = pmsg_find(m, fld.tag, &i)) == NULL)
			continue;	/* a newer peer's field */
		size = kind_size(d->kind);
		if (size != 0 && fld.len != size)
			return perr(err, m, d, "%u bytes, expected exactly %zu",
			    fld.len, size);
		if (!kind_is_vector(d->kind) && cnt[i] > 0)
			return perr(err, m, d, "appears more than once");
		if (cnt[i] >= PROTO_REPEAT_MAX)
			return perr(err, m, d, "more than %d entries",
			    PROTO_REPEAT_MAX);
		cnt[i]++;
	}
	if (rc == -1)
		return perr(err, m, NULL, "%s", e.msg);
	for (i = 0; i < m->n; i++)
		if ((m->f[i].flags & F_REQ) && cnt[i] == 0)
			return perr(err, m, NULL, "missing required field %s "
			    "(tag %u)", m->f[i].name, m->f[i].tag);
	return 0;
}

static int
pmsg_get_str(const struct pmsg *m, const struct pfield *d,
    const struct frame_field *fld, char **out, struct pf_err *err)
{
	struct pf_err	 e;

	if (frame_field_str(fld, d->max, out, &e) == -1)
		return perr(err, m, d, "%s", e.msg);
	return 0;
}

/* A header/kv entry: u32 key length, key, value; both without NUL. */
static int
pmsg_get_kv(const struct pmsg *m, const struct pfield *d,
    const struct frame_field *fld, struct pf_kv *kv, struct pf_err *err)
{
	struct frame_field	 part;
	uint32_t		 klen;

	if (fld->len > d->max)
		return perr(err, m, d, "%u bytes, over the limit of %zu",
		    fld->len, d->max);
	if (fld->len < 4)
		return perr(err, m, d, "%u bytes, too short for a key length",
		    fld->len);
	klen = le32_get(fld->data);
	if (klen == 0 || klen > PROTO_NAME_MAX || klen > fld->len - 4)
		return perr(err, m, d, "bad key length %u in %u bytes", klen,
		    fld->len);
	part.tag = fld->tag;
	part.len = klen;
	part.data = fld->data + 4;
	if (pmsg_get_str(m, d, &part, &kv->key, err) == -1)
		return -1;
	part.len = fld->len - 4 - klen;
	part.data = fld->data + 4 + klen;
	if (pmsg_get_str(m, d, &part, &kv->value, err) == -1) {
		pf_free(kv->key);
		kv->key = NULL;
		return -1;
	}
	return 0;
}

/* Pass 2: store one field (its size was checked by pmsg_scan). */
static int
pmsg_store(const struct pmsg *m, const struct pfield *d,
    const struct frame_field *fld, void *obj, struct pf_err *err)
{
	struct pf_kvlist	*kv;
	size_t			*n;
	char			**s;

	switch (d->kind) {
	case K_U8:
		*AT(obj, d->off, uint8_t) = fld->data[0];
		break;
	case K_BOOL:
		if (fld->data[0] > 1)
			return perr(err, m, d, "a bool must be 0 or 1, got %u",
			    fld->data[0]);
		*AT(obj, d->off, bool) = fld->data[0] == 1;
		break;
	case K_U32:
		*AT(obj, d->off, uint32_t) = le32_get(fld->data);
		break;
	case K_I32:
		*AT(obj, d->off, int) = i32_from_wire(le32_get(fld->data));
		break;
	case K_U64:
		*AT(obj, d->off, uint64_t) = le64_get(fld->data);
		break;
	case K_I64:
		*AT(obj, d->off, int64_t) = i64_from_wire(le64_get(fld->data));
		break;
	case K_STR:
		s = AT(obj, d->off, pstr);
		if (pmsg_get_str(m, d, fld, s, err) == -1)
			return -1;
		if ((d->flags & F_REQ) && **s == '\0')
			return perr(err, m, d, "must not be empty");
		break;
	case K_BYTES:
		if (fld->len > d->max)
			return perr(err, m, d, "%u bytes, over the limit of "
			    "%zu", fld->len, d->max);
		if ((d->flags & F_REQ) && fld->len == 0)
			return perr(err, m, d, "must not be empty");
		*AT(obj, d->off, pbytes) = fld->data;
		*AT(obj, d->noff, size_t) = fld->len;
		break;
	case K_STRV:
		n = AT(obj, d->noff, size_t);
		s = *AT(obj, d->off, pstrv) + *n;
		if (pmsg_get_str(m, d, fld, s, err) == -1)
			return -1;
		(*n)++;
		break;
	case K_I32V:
		n = AT(obj, d->noff, size_t);
		(*AT(obj, d->off, pintv))[*n] =
		    i32_from_wire(le32_get(fld->data));
		(*n)++;
		break;
	case K_KV:
		kv = AT(obj, d->off, struct pf_kvlist);
		if (pmsg_get_kv(m, d, fld, &kv->v[kv->n], err) == -1)
			return -1;
		kv->n++;
		break;
	}
	return 0;
}

/*
 * Decodes a payload into obj, which the caller initialized (defaults).
 * On failure everything allocated is freed again.
 */
static int
pmsg_decode(const struct pmsg *m, const void *p, size_t len, void *obj,
    struct pf_err *err)
{
	size_t			 cnt[PMSG_FIELDS_MAX], i;
	struct frame_iter	 it;
	struct frame_field	 fld;
	const struct pfield	*d;
	size_t			 esize;
	void			*v;

	if (pmsg_scan(m, p, len, cnt, err) == -1)
		return -1;
	/* Exact-size arrays: the counts are known and capped by now. */
	for (i = 0; i < m->n; i++) {
		d = &m->f[i];
		if (!kind_is_vector(d->kind) || cnt[i] == 0)
			continue;
		esize = d->kind == K_STRV ? sizeof(char *) :
		    d->kind == K_I32V ? sizeof(int) : sizeof(struct pf_kv);
		if ((v = pf_calloc(cnt[i], esize)) == NULL) {
			pmsg_free(m, obj);
			return perr(err, m, d, "out of memory for %zu entries",
			    cnt[i]);
		}
		if (d->kind == K_KV) {
			AT(obj, d->off, struct pf_kvlist)->v = v;
			AT(obj, d->off, struct pf_kvlist)->n = 0;
		} else {
			if (d->kind == K_STRV)
				*AT(obj, d->off, pstrv) = v;
			else
				*AT(obj, d->off, pintv) = v;
			*AT(obj, d->noff, size_t) = 0;
		}
	}
	frame_iter_init(&it, p, len, m->max_fields);
	while (frame_iter_next(&it, &fld, NULL) == 1) {
		if ((d = pmsg_find(m, fld.tag, &i)) == NULL)
			continue;
		if (pmsg_store(m, d, &fld, obj, err) == -1) {
			pmsg_free(m, obj);
			return -1;
		}
	}
	return 0;
}

/* Checks a string the encoder is about to send like the decoder would. */
static int
pmsg_put_str(const struct pmsg *m, const struct pfield *d, const char *s,
    struct pf_buf *b, struct pf_err *err)
{
	size_t	 len;

	if (s == NULL)
		return perr(err, m, d, "NULL entry");
	if ((len = strlen(s)) > d->max)
		return perr(err, m, d, "%zu bytes, over the limit of %zu", len,
		    d->max);
	frame_add_bytes(b, d->tag, s, len);
	return 0;
}

static int
pmsg_put_kv(const struct pmsg *m, const struct pfield *d,
    const struct pf_kv *kv, struct pf_buf *b, struct pf_err *err)
{
	size_t	 klen, vlen;
	uint8_t	*t;

	if (kv->key == NULL || kv->value == NULL)
		return perr(err, m, d, "NULL key or value");
	klen = strlen(kv->key);
	vlen = strlen(kv->value);
	if (klen == 0 || klen > PROTO_NAME_MAX)
		return perr(err, m, d, "key of %zu bytes (1..%d allowed)",
		    klen, PROTO_NAME_MAX);
	if (vlen > d->max - 4 - klen)
		return perr(err, m, d, "entry over the limit of %zu bytes",
		    d->max);
	if ((t = pf_malloc(4 + klen + vlen)) == NULL)
		return perr(err, m, d, "out of memory");
	le32_put(t, (uint32_t)klen);
	memcpy(t + 4, kv->key, klen);
	memcpy(t + 4 + klen, kv->value, vlen);
	frame_add_bytes(b, d->tag, t, 4 + klen + vlen);
	pf_free(t);
	return 0;
}

/* Appends obj's fields to b (a frame or a message body). */
static int
pmsg_encode(const struct pmsg *m, const void *obj, struct pf_buf *b,
    struct pf_err *err)
{
	const struct pfield	*d;
	const struct pf_kvlist	*kv;
	const char		*s;
	size_t			 i, j, n;

	for (i = 0; i < m->n; i++) {
		d = &m->f[i];
		switch (d->kind) {
		case K_U8:
			frame_add_u8(b, d->tag, *CAT(obj, d->off, uint8_t));
			break;
		case K_BOOL:
			frame_add_u8(b, d->tag,
			    *CAT(obj, d->off, bool) ? 1 : 0);
			break;
		case K_U32:
			frame_add_u32(b, d->tag, *CAT(obj, d->off, uint32_t));
			break;
		case K_I32:
			frame_add_u32(b, d->tag,
			    (uint32_t)*CAT(obj, d->off, int));
			break;
		case K_U64:
			frame_add_u64(b, d->tag, *CAT(obj, d->off, uint64_t));
			break;
		case K_I64:
			frame_add_u64(b, d->tag,
			    (uint64_t)*CAT(obj, d->off, int64_t));
			break;
		case K_STR:
			s = *CAT(obj, d->off, pstr);
			if (s == NULL && !(d->flags & F_REQ))
				break;
			if ((d->flags & F_REQ) && str_is_empty(s))
				return perr(err, m, d, "required and empty");
			if (pmsg_put_str(m, d, s, b, err) == -1)
				return -1;
			break;
		case K_BYTES:
			n = *CAT(obj, d->noff, size_t);
			if (n > d->max || ((d->flags & F_REQ) && n == 0))
				return perr(err, m, d, "%zu bytes (%d..%zu "
				    "allowed)", n, (d->flags & F_REQ) ? 1 : 0,
				    d->max);
			frame_add_bytes(b, d->tag,
			    *CAT(obj, d->off, pbytes), n);
			break;
		case K_STRV:
			n = *CAT(obj, d->noff, size_t);
			if (n > PROTO_REPEAT_MAX)
				return perr(err, m, d, "%zu entries, over the "
				    "limit of %d", n, PROTO_REPEAT_MAX);
			for (j = 0; j < n; j++)
				if (pmsg_put_str(m, d,
				    (*CAT(obj, d->off, pstrv))[j], b,
				    err) == -1)
					return -1;
			break;
		case K_I32V:
			n = *CAT(obj, d->noff, size_t);
			if (n > PROTO_REPEAT_MAX)
				return perr(err, m, d, "%zu entries, over the "
				    "limit of %d", n, PROTO_REPEAT_MAX);
			for (j = 0; j < n; j++)
				frame_add_u32(b, d->tag, (uint32_t)
				    (*CAT(obj, d->off, pintv))[j]);
			break;
		case K_KV:
			kv = CAT(obj, d->off, struct pf_kvlist);
			if (kv->n > PROTO_REPEAT_MAX)
				return perr(err, m, d, "%zu entries, over the "
				    "limit of %d", kv->n, PROTO_REPEAT_MAX);
			for (j = 0; j < kv->n; j++)
				if (pmsg_put_kv(m, d, &kv->v[j], b, err) == -1)
					return -1;
			break;
		}
	}
	if (b->failed)
		return perr(err, m, NULL, errno == EMSGSIZE ?
		    "message too large" : "out of memory");
	return 0;
}

/* Checks and decodes a message that must fit in one frame. */
static int
pmsg_decode_frame(const struct pmsg *m, const struct frame *f, void *obj,
    struct pf_err *err)
{
	if (f->type != m->type)
		return perr(err, m, NULL, "expected a frame of type %u, got "
		    "type %u (%s)", m->type, f->type, proto_msg_name(f->type));
	if (f->flags & FRAME_F_MORE)
		return perr(err, m, NULL, "frame flagged as continued; this "
		    "message must fit in one frame");
	return pmsg_decode(m, f->payload, f->len, obj, err);
}

static int
pmsg_encode_frame(const struct pmsg *m, const void *obj, struct pf_buf *out,
    struct pf_err *err)
{
	if (frame_begin(out, m->type) == -1)
		return perr(err, m, NULL, "out of memory");
	if (pmsg_encode(m, obj, out, err) == -1)
		return -1;
	if (frame_end(out) == -1)
		return perr(err, m, NULL, "does not fit in one frame");
	return 0;
}

static int
abs_path_ok(const char *p)
{
	return p != NULL && p[0] == '/';
}

static int
spec_check(const struct proto_spec *s, struct pf_err *err)
{
	const struct pmsg	*m = &spec_msg;
	const char		*eq;
	size_t			 i;

	switch (s->executor) {
	case PROTO_EXEC_SHELL:
		if (!abs_path_ok(s->command))
			return perr(err, m, NULL, "shell executor needs an "
			    "absolute command path (got %s%s%s)",
			    s->command ? "\"" : "", s->command ? s->command :
			    "none", s->command ? "\"" : "");
		break;
	case PROTO_EXEC_SSH:
		if (str_is_empty(s->ssh.host) || str_is_empty(s->ssh.user) ||
		    str_is_empty(s->ssh.command))
			return perr(err, m, NULL, "ssh executor needs "
			    "ssh_host, ssh_user and ssh_command");
		break;
	case PROTO_EXEC_HTTP:
		if (str_is_empty(s->http.url))
			return perr(err, m, NULL, "http executor needs "
			    "http_url");
		break;
	default:
		return perr(err, m, NULL, "unknown executor %u (1 shell, "
		    "2 ssh, 3 http)", s->executor);
	}
	if (s->workdir != NULL && !abs_path_ok(s->workdir))
		return perr(err, m, NULL, "workdir \"%s\" is not absolute",
		    s->workdir);
	for (i = 0; i < s->nenv; i++) {
		eq = s->env[i] ? strchr(s->env[i], '=') : NULL;
		if (eq == NULL || eq == s->env[i])
			return perr(err, m, NULL, "env entry %zu is not "
			    "KEY=VALUE", i + 1);
	}
	if (s->kill_grace_ms > PROTO_KILL_GRACE_MAX_MS)
		return perr(err, m, NULL, "kill_grace_ms %u over the limit "
		    "of %u", s->kill_grace_ms, PROTO_KILL_GRACE_MAX_MS);
	if (s->drain_ms > PROTO_DRAIN_MAX_MS)
		return perr(err, m, NULL, "drain_ms %u over the limit of %u",
		    s->drain_ms, PROTO_DRAIN_MAX_MS);
	if (s->attach_window_ms > PROTO_ATTACH_WINDOW_MAX_MS)
		return perr(err, m, NULL, "attach_window_ms %u over the "
		    "limit of %u", s->attach_window_ms,
		    PROTO_ATTACH_WINDOW_MAX_MS);
	if (s->attach_dir != NULL && s->attach_dir[0] != '/')
		return perr(err, m, NULL, "attach_dir must be an absolute "
		    "path");
	if (s->limits.memory < -1 || s->limits.swap < -1 ||
	    s->limits.cpu_milli < -1 || s->limits.pids < -1 ||
	    s->limits.nofile < -1)
		return perr(err, m, NULL, "a limit is below -1 (not set)");
	if (s->network < -1 || s->network > 1)
		return perr(err, m, NULL, "network must be -1, 0 or 1, got %d",
		    s->network);
	if (s->ssh.port < 1 || s->ssh.port > 65535)
		return perr(err, m, NULL, "ssh_port %d out of range 1..65535",
		    s->ssh.port);
	if (s->http.timeout < 1 || s->http.timeout > 86400)
		return perr(err, m, NULL, "http_timeout %d out of range "
		    "1..86400", s->http.timeout);
	if (s->http.method != NULL && (s->http.method[0] == '\0' ||
	    strspn(s->http.method, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") !=
	    strlen(s->http.method)))
		return perr(err, m, NULL, "http_method must be upper-case "
		    "letters");
	for (i = 0; i < s->http.nsuccess_status; i++)
		if (s->http.success_status[i] < 100 ||
		    s->http.success_status[i] > 599)
			return perr(err, m, NULL, "http_success_status %d out "
			    "of range 100..599", s->http.success_status[i]);
	return 0;
}

void
proto_spec_init(struct proto_spec *s)
{
	memset(s, 0, sizeof(*s));
	s->output_cap = PROTO_DEFAULT_OUTPUT_CAP;
	s->kill_grace_ms = PROTO_DEFAULT_KILL_GRACE_MS;
	s->drain_ms = PROTO_DEFAULT_DRAIN_MS;
	s->attach_window_ms = PROTO_DEFAULT_ATTACH_WINDOW_MS;
	s->limits.memory = s->limits.swap = s->limits.cpu_milli = -1;
	s->limits.pids = s->limits.nofile = -1;
	s->network = -1;
	s->ssh.port = 22;
	s->ssh.verify_host_key = true;
	s->http.timeout = WF_DEFAULT_HTTP_TIMEOUT;
}

void
proto_spec_free(struct proto_spec *s)
{
	pmsg_free(&spec_msg, s);
}

int
proto_spec_encode(const struct proto_spec *s, struct pf_buf *out,
    struct pf_err *err)
{
	struct pf_buf	 body;

	if (spec_check(s, err) == -1)
		return -1;
	buf_init(&body, PROTO_SPEC_MAX);
	if (pmsg_encode(&spec_msg, s, &body, err) == -1) {
		if (body.failed && errno == EMSGSIZE)
			pf_err_set(err, "SPEC: larger than %d bytes",
			    PROTO_SPEC_MAX);
		buf_free(&body);
		return -1;
	}
	buf_reset(out);
	out->max = 0;	/* bounded by the body's own limit */
	if (frame_msg_encode(out, PROTO_MSG_SPEC, body.data, body.len) == -1) {
		buf_free(&body);
		return perr(err, &spec_msg, NULL, "out of memory");
	}
	buf_free(&body);
	return 0;
}

int
proto_spec_decode(const void *body, size_t len, struct proto_spec *s,
    struct pf_err *err)
{
	proto_spec_init(s);
	if (len > PROTO_SPEC_MAX)
		return perr(err, &spec_msg, NULL, "%zu bytes, over the limit "
		    "of %d", len, PROTO_SPEC_MAX);
	if (pmsg_decode(&spec_msg, body, len, s, err) == -1)
		return -1;
	if (spec_check(s, err) == -1) {
		proto_spec_free(s);
		return -1;
	}
	return 0;
}

int
proto_started_encode(const struct proto_started *st, struct pf_buf *out,
    struct pf_err *err)
{
	return pmsg_encode_frame(&started_msg, st, out, err);
}

int
proto_started_decode(const struct frame *f, struct proto_started *st,
    struct pf_err *err)
{
	memset(st, 0, sizeof(*st));
	return pmsg_decode_frame(&started_msg, f, st, err);
}

static int
output_check(const struct proto_output *o, struct pf_err *err)
{
	if (o->stream != PROTO_STDOUT && o->stream != PROTO_STDERR)
		return perr(err, &output_msg, NULL, "stream must be 1 "
		    "(stdout) or 2 (stderr), got %u", o->stream);
	return 0;
}

int
proto_output_encode(uint8_t stream, const void *data, size_t len,
    struct pf_buf *out, struct pf_err *err)
{
	struct proto_output	 o;

	o.stream = stream;
	o.data = data;
	o.len = len;
	if (output_check(&o, err) == -1)
		return -1;
	return pmsg_encode_frame(&output_msg, &o, out, err);
}

int
proto_output_decode(const struct frame *f, struct proto_output *o,
    struct pf_err *err)
{
	memset(o, 0, sizeof(*o));
	if (pmsg_decode_frame(&output_msg, f, o, err) == -1)
		return -1;
	return output_check(o, err);
}

static int
result_check(const struct proto_result *r, struct pf_err *err)
{
	const struct pmsg	*m = &result_msg;

	if (r->status < PROTO_ST_OK || r->status > PROTO_ST_MAX)
		return perr(err, m, NULL, "unknown status %u", r->status);
	if (r->exit_code < -1 || r->exit_code > 255)
		return perr(err, m, NULL, "exit_code %d out of range -1..255",
		    r->exit_code);
	if (r->signal < 0 || r->signal > 127)
		return perr(err, m, NULL, "signal %d out of range 0..127",
		    r->signal);
	if (r->http_status < 0 || r->http_status > 999)
		return perr(err, m, NULL, "http_status %d out of range "
		    "0..999", r->http_status);
	return 0;
}

void
proto_result_init(struct proto_result *r)
{
	memset(r, 0, sizeof(*r));
	r->exit_code = -1;
}

void
proto_result_free(struct proto_result *r)
{
	pmsg_free(&result_msg, r);
}

int
proto_result_encode(const struct proto_result *r, struct pf_buf *out,
    struct pf_err *err)
{
	if (result_check(r, err) == -1)
		return -1;
	return pmsg_encode_frame(&result_msg, r, out, err);
}

int
proto_result_decode(const struct frame *f, struct proto_result *r,
    struct pf_err *err)
{
	proto_result_init(r);
	if (pmsg_decode_frame(&result_msg, f, r, err) == -1)
		return -1;
	if (result_check(r, err) == -1) {
		proto_result_free(r);
		return -1;
	}
	return 0;
}

const char *
proto_msg_name(uint8_t type)
{
	switch (type) {
	case PROTO_MSG_SPEC:
		return "SPEC";
	case PROTO_MSG_STARTED:
		return "STARTED";
	case PROTO_MSG_OUTPUT:
		return "OUTPUT";
	case PROTO_MSG_RESULT:
		return "RESULT";
	default:
		return "unknown";
	}
}

const char *
proto_status_name(uint8_t status)
{
	static const char *const names[] = {
		"invalid", "ok", "failed", "signaled", "exec_error",
		"spawn_error", "killed", "internal_error",
	};

	return status <= PROTO_ST_MAX ? names[status] : "invalid";
}

const char *
proto_exec_name(uint8_t executor)
{
	switch (executor) {
	case PROTO_EXEC_SHELL:
		return "shell";
	case PROTO_EXEC_SSH:
		return "ssh";
	case PROTO_EXEC_HTTP:
		return "http";
	default:
		return "unknown";
	}
}

/* Every decoder a frame of this type could reach. */
static void
fuzz_frame(struct frame_asm *a, const struct frame *f)
{
	struct proto_spec	 spec;
	struct proto_started	 st;
	struct proto_output	 o;
	struct proto_result	 r;
	struct frame_iter	 it;
	struct frame_field	 fld;
	uint64_t		 u64;
	uint32_t		 u32;
	uint16_t		 u16;
	uint8_t			 u8;
	char			*s;

	switch (f->type) {
	case PROTO_MSG_SPEC:
		if (frame_asm_add(a, f, NULL) == 1) {
			(void)proto_spec_decode(a->body.data, a->body.len,
			    &spec, NULL);
			proto_spec_free(&spec);
			frame_asm_reset(a);
		}
		return;
	case PROTO_MSG_STARTED:
		(void)proto_started_decode(f, &st, NULL);
		return;
	case PROTO_MSG_OUTPUT:
		(void)proto_output_decode(f, &o, NULL);
		return;
	case PROTO_MSG_RESULT:
		(void)proto_result_decode(f, &r, NULL);
		proto_result_free(&r);
		return;
	}
	frame_iter_init(&it, f->payload, f->len, FRAME_FIELDS_MAX);
	while (frame_iter_next(&it, &fld, NULL) == 1) {
		(void)frame_field_u8(&fld, &u8, NULL);
		(void)frame_field_u16(&fld, &u16, NULL);
		(void)frame_field_u32(&fld, &u32, NULL);
		(void)frame_field_u64(&fld, &u64, NULL);
		if (frame_field_str(&fld, PROTO_ARG_MAX, &s, NULL) == 0)
			pf_free(s);
	}
}

int
frame_fuzz_one(const uint8_t *data, size_t len)
{
	struct frame_reader	 r;
	struct frame_asm	 a;
	struct frame		 f;
	struct proto_spec	 spec;
	struct proto_result	 res;
	struct proto_started	 st;
	struct proto_output	 o;
	size_t			 off = 0, chunk, k;
	int			 rc;

	/* Vary the chunking so partial headers and payloads get exercised. */
	chunk = len == 0 || (data[0] & 0x80) ? len + 1 :
	    1 + (size_t)data[0] % 37;
	frame_reader_init(&r, FRAME_PAYLOAD_MAX);
	frame_asm_init(&a, PROTO_SPEC_MAX);
	for (;;) {
		while ((rc = frame_reader_next(&r, &f, NULL)) == 1)
			fuzz_frame(&a, &f);
		if (rc == -1 || r.eof)
			break;
		if (off == len) {
			frame_reader_feed_eof(&r);
			continue;
		}
		k = frame_reader_feed(&r, data + off,
		    len - off < chunk ? len - off : chunk);
		if (k == 0)
			break;
		off += k;
	}
	frame_reader_free(&r);
	frame_asm_free(&a);

	/* The same bytes taken as one payload, for every message. */
	(void)proto_spec_decode(data, len, &spec, NULL);
	proto_spec_free(&spec);
	f.flags = 0;
	f.payload = data;
	f.len = len;
	f.type = PROTO_MSG_RESULT;
	(void)proto_result_decode(&f, &res, NULL);
	proto_result_free(&res);
	f.type = PROTO_MSG_STARTED;
	(void)proto_started_decode(&f, &st, NULL);
	f.type = PROTO_MSG_OUTPUT;
	(void)proto_output_decode(&f, &o, NULL);
	return 0;
}
