/*
 * The worker protocol's messages: one table per message, one row per
 * field (tag, wire kind, name, where it lives in the C struct, size
 * limit), walked by the shared codec (common/tlv.c), plus the range
 * checks that depend on the message (its *_check(), run by both sides)
 * and thin wrappers that put a message in its frame(s).
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "picoflow/alloc.h"
#include "picoflow/buf.h"
#include "picoflow/err.h"
#include "picoflow/frame.h"
#include "picoflow/proto.h"
#include "picoflow/tlv.h"

#define SF(tag, kind, fl, name, m, max) \
	TLV_F(struct proto_spec, tag, kind, fl, name, m, max)
#define SV(tag, kind, name, m, n, max) \
	TLV_V(struct proto_spec, tag, kind, name, m, n, max, 0)

static const struct tlv_field spec_fields[] = {
	SF(PROTO_SPEC_ATTEMPT_ID, TLV_U64, TLV_REQ, "attempt_id", attempt_id, 0),
	SF(PROTO_SPEC_RUN_ID, TLV_STR, TLV_REQ, "run_id", run_id, PROTO_NAME_MAX),
	SF(PROTO_SPEC_TASK_NAME, TLV_STR, TLV_REQ, "task_name", task_name,
	    PROTO_NAME_MAX),
	SF(PROTO_SPEC_EXECUTOR, TLV_U8, TLV_REQ, "executor", executor, 0),
	SF(PROTO_SPEC_WORKFLOW, TLV_STR, 0, "workflow", workflow,
	    PROTO_NAME_MAX),
	SF(PROTO_SPEC_COMMAND, TLV_STR, 0, "command", command, PROTO_PATH_MAX),
	SV(PROTO_SPEC_ARG, TLV_STRV, "arg", args, nargs, PROTO_ARG_MAX),
	SF(PROTO_SPEC_WORKDIR, TLV_STR, 0, "workdir", workdir, PROTO_PATH_MAX),
	SV(PROTO_SPEC_ENV, TLV_STRV, "env", env, nenv, PROTO_ARG_MAX),
	SF(PROTO_SPEC_OUTPUT_CAP, TLV_U64, 0, "output_cap", output_cap, 0),
	SF(PROTO_SPEC_KILL_GRACE_MS, TLV_U32, 0, "kill_grace_ms", kill_grace_ms,
	    0),
	SF(PROTO_SPEC_DRAIN_MS, TLV_U32, 0, "drain_ms", drain_ms, 0),
	SF(PROTO_SPEC_LIM_MEMORY, TLV_I64, 0, "limit_memory", limits.memory, 0),
	SF(PROTO_SPEC_LIM_SWAP, TLV_I64, 0, "limit_swap", limits.swap, 0),
	SF(PROTO_SPEC_LIM_CPU_MILLI, TLV_I64, 0, "limit_cpu_milli",
	    limits.cpu_milli, 0),
	SF(PROTO_SPEC_LIM_PIDS, TLV_I64, 0, "limit_pids", limits.pids, 0),
	SF(PROTO_SPEC_LIM_NOFILE, TLV_I64, 0, "limit_nofile", limits.nofile, 0),
	SF(PROTO_SPEC_RUN_AS, TLV_STR, 0, "run_as", run_as, PROTO_NAME_MAX),
	SF(PROTO_SPEC_PRIV_OK, TLV_BOOL, 0, "run_as_privileged",
	    run_as_privileged, 0),
	SV(PROTO_SPEC_PRIV_GROUP, TLV_STRV, "privileged_group",
	    privileged_groups, nprivileged_groups, PROTO_NAME_MAX),
	SV(PROTO_SPEC_UNPRIV_GROUP, TLV_STRV, "unprivileged_group",
	    unprivileged_groups, nunprivileged_groups, PROTO_NAME_MAX),
	SF(PROTO_SPEC_NETWORK, TLV_I32, 0, "network", network, 0),
	SV(PROTO_SPEC_READ_ONLY, TLV_STRV, "read_only", read_only, nread_only,
	    PROTO_PATH_MAX),
	SV(PROTO_SPEC_WRITABLE, TLV_STRV, "writable", writable, nwritable,
	    PROTO_PATH_MAX),
	SF(PROTO_SPEC_SSH_HOST, TLV_STR, 0, "ssh_host", ssh.host,
	    PROTO_NAME_MAX),
	SF(PROTO_SPEC_SSH_USER, TLV_STR, 0, "ssh_user", ssh.user,
	    PROTO_NAME_MAX),
	SF(PROTO_SPEC_SSH_COMMAND, TLV_STR, 0, "ssh_command", ssh.command,
	    PROTO_ARG_MAX),
	SF(PROTO_SPEC_SSH_KEY_PATH, TLV_STR, 0, "ssh_key_path", ssh.key_path,
	    PROTO_PATH_MAX),
	SF(PROTO_SPEC_SSH_PORT, TLV_I32, 0, "ssh_port", ssh.port, 0),
	SF(PROTO_SPEC_SSH_VERIFY, TLV_BOOL, 0, "ssh_verify_host_key",
	    ssh.verify_host_key, 0),
	SF(PROTO_SPEC_HTTP_URL, TLV_STR, 0, "http_url", http.url,
	    PROTO_URL_MAX),
	SF(PROTO_SPEC_HTTP_METHOD, TLV_STR, 0, "http_method", http.method, 16),
	SV(PROTO_SPEC_HTTP_HEADER, TLV_KVV, "http_header", http.headers,
	    http.nheaders, PROTO_HEADER_MAX),
	SF(PROTO_SPEC_HTTP_BODY, TLV_STR, 0, "http_body", http.body,
	    PROTO_SPEC_MAX),
	SF(PROTO_SPEC_HTTP_BODY_JSON, TLV_BOOL, 0, "http_body_is_json",
	    http.body_is_json, 0),
	SF(PROTO_SPEC_HTTP_TIMEOUT, TLV_I32, 0, "http_timeout", http.timeout, 0),
	SF(PROTO_SPEC_HTTP_PRIVATE, TLV_BOOL, 0, "http_allow_private_ips",
	    http.allow_private_ips, 0),
	SF(PROTO_SPEC_HTTP_CA_FILE, TLV_STR, 0, "http_ca_file", http.ca_file,
	    PROTO_PATH_MAX),
	SV(PROTO_SPEC_HTTP_SUCCESS, TLV_I32V, "http_success_status",
	    http.success_status, http.nsuccess_status, 0),
	SF(PROTO_SPEC_NAMESPACES, TLV_BOOL, 0, "namespaces", namespaces, 0),
	SF(PROTO_SPEC_PRIVATE_TMP, TLV_BOOL, 0, "private_tmp", private_tmp, 0),
	SF(PROTO_SPEC_ATTACH_DIR, TLV_STR, 0, "attach_dir", attach_dir,
	    PROTO_PATH_MAX),
	SF(PROTO_SPEC_ATTACH_WINDOW_MS, TLV_U32, 0, "attach_window_ms",
	    attach_window_ms, 0),
	SF(PROTO_SPEC_TIMEOUT_MS, TLV_U64, 0, "timeout_ms", timeout_ms, 0),
};

#define TF(tag, kind, fl, name, m) \
	TLV_F(struct proto_started, tag, kind, fl, name, m, 0)

static const struct tlv_field started_fields[] = {
	TF(PROTO_STARTED_PID, TLV_U32, 0, "pid", pid),
	TF(PROTO_STARTED_TIME_MS, TLV_U64, TLV_REQ, "time_ms", time_ms),
};

static const struct tlv_field output_fields[] = {
	TLV_F(struct proto_output, PROTO_OUTPUT_STREAM, TLV_U8, TLV_REQ,
	    "stream", stream, 0),
	/* Bytes: a row with the count's offset too. */
	{ PROTO_OUTPUT_DATA, TLV_BYTES, TLV_REQ, "data",
	    offsetof(struct proto_output, data),
	    offsetof(struct proto_output, len), PROTO_OUTPUT_CHUNK_MAX, 0,
	    NULL },
};

#define RF(tag, kind, fl, name, m, max) \
	TLV_F(struct proto_result, tag, kind, fl, name, m, max)

static const struct tlv_field result_fields[] = {
	RF(PROTO_RESULT_STATUS, TLV_U8, TLV_REQ, "status", status, 0),
	RF(PROTO_RESULT_EXIT_CODE, TLV_I32, 0, "exit_code", exit_code, 0),
	RF(PROTO_RESULT_SIGNAL, TLV_I32, 0, "signal", signal, 0),
	RF(PROTO_RESULT_DURATION_MS, TLV_U64, 0, "duration_ms", duration_ms, 0),
	RF(PROTO_RESULT_MAXRSS_KIB, TLV_U64, 0, "maxrss_kib", maxrss_kib, 0),
	RF(PROTO_RESULT_UTIME_US, TLV_U64, 0, "utime_us", utime_us, 0),
	RF(PROTO_RESULT_STIME_US, TLV_U64, 0, "stime_us", stime_us, 0),
	RF(PROTO_RESULT_HTTP_STATUS, TLV_I32, 0, "http_status", http_status, 0),
	RF(PROTO_RESULT_STDOUT_BYTES, TLV_U64, 0, "stdout_bytes", stdout_bytes,
	    0),
	RF(PROTO_RESULT_STDERR_BYTES, TLV_U64, 0, "stderr_bytes", stderr_bytes,
	    0),
	RF(PROTO_RESULT_DROPPED, TLV_U64, 0, "dropped", dropped, 0),
	RF(PROTO_RESULT_TRUNCATED, TLV_BOOL, 0, "truncated", truncated, 0),
	RF(PROTO_RESULT_ERROR, TLV_STR, 0, "error", error, PROTO_ERROR_MAX),
	RF(PROTO_RESULT_WORKER_RSS_KIB, TLV_U64, 0, "worker_rss_kib",
	    worker_rss_kib, 0),
	RF(PROTO_RESULT_TIMED_OUT, TLV_BOOL, 0, "timed_out", timed_out, 0),
};

static int	 spec_check(const void *, struct pf_err *);
static int	 output_check(const void *, struct pf_err *);
static int	 result_check(const void *, struct pf_err *);

static const struct tlv_msg spec_msg = { "SPEC", spec_fields,
	TLV_NELEM(spec_fields), PROTO_SPEC_FIELDS_MAX,
	sizeof(struct proto_spec), NULL, spec_check, 0 };
static const struct tlv_msg started_msg = { "STARTED", started_fields,
	TLV_NELEM(started_fields), FRAME_FIELDS_MAX,
	sizeof(struct proto_started), NULL, NULL, 0 };
static const struct tlv_msg output_msg = { "OUTPUT", output_fields,
	TLV_NELEM(output_fields), FRAME_FIELDS_MAX,
	sizeof(struct proto_output), NULL, output_check, 0 };
static const struct tlv_msg result_msg = { "RESULT", result_fields,
	TLV_NELEM(result_fields), FRAME_FIELDS_MAX,
	sizeof(struct proto_result), NULL, result_check, 0 };

_Static_assert(TLV_NELEM(spec_fields) <= TLV_FIELDS_MAX, "too many fields");
_Static_assert(TLV_REPEAT_MAX == PROTO_REPEAT_MAX, "docs/protocol.md, Limits");
_Static_assert(TLV_KEY_MAX == PROTO_NAME_MAX, "a header's name is a name");
_Static_assert(TLV_NELEM(result_fields) <= TLV_FIELDS_MAX, "too many fields");

/* Checks and decodes a message that must fit in one frame. */
static int
decode_frame(const struct tlv_msg *m, uint8_t type, const struct frame *f,
    void *obj, struct pf_err *err)
{
	if (f->type != type)
		return tlv_err(err, m, NULL, "expected a frame of type %u, got "
		    "type %u (%s)", type, f->type, proto_msg_name(f->type));
	if (f->flags & FRAME_F_MORE)
		return tlv_err(err, m, NULL, "frame flagged as continued; "
		    "this message must fit in one frame");
	return tlv_decode(m, f->payload, f->len, obj, err);
}

static int
str_is_empty(const char *s)
{
	return s == NULL || *s == '\0';
}

static int
abs_path_ok(const char *p)
{
	return p != NULL && p[0] == '/';
}

static int
spec_check(const void *obj, struct pf_err *err)
{
	const struct proto_spec	*s = obj;
	const struct tlv_msg	*m = &spec_msg;
	const char		*eq;
	size_t			 i;

	switch (s->executor) {
	case PROTO_EXEC_SHELL:
		if (!abs_path_ok(s->command))
			return tlv_err(err, m, NULL, "shell executor needs an "
			    "absolute command path (got %s%s%s)",
			    s->command ? "\"" : "", s->command ? s->command :
			    "none", s->command ? "\"" : "");
		break;
	case PROTO_EXEC_SSH:
		if (str_is_empty(s->ssh.host) || str_is_empty(s->ssh.user) ||
		    str_is_empty(s->ssh.command))
			return tlv_err(err, m, NULL, "ssh executor needs "
			    "ssh_host, ssh_user and ssh_command");
		break;
	case PROTO_EXEC_HTTP:
		if (str_is_empty(s->http.url))
			return tlv_err(err, m, NULL, "http executor needs "
			    "http_url");
		break;
	default:
		return tlv_err(err, m, NULL, "unknown executor %u (1 shell, "
		    "2 ssh, 3 http)", s->executor);
	}
	if (s->workdir != NULL && !abs_path_ok(s->workdir))
		return tlv_err(err, m, NULL, "workdir \"%s\" is not absolute",
		    s->workdir);
	for (i = 0; i < s->nenv; i++) {
		eq = s->env[i] ? strchr(s->env[i], '=') : NULL;
		if (eq == NULL || eq == s->env[i])
			return tlv_err(err, m, NULL, "env entry %zu is not "
			    "KEY=VALUE", i + 1);
	}
	if (s->kill_grace_ms > PROTO_KILL_GRACE_MAX_MS)
		return tlv_err(err, m, NULL, "kill_grace_ms %u over the limit "
		    "of %u", s->kill_grace_ms, PROTO_KILL_GRACE_MAX_MS);
	if (s->drain_ms > PROTO_DRAIN_MAX_MS)
		return tlv_err(err, m, NULL, "drain_ms %u over the limit of %u",
		    s->drain_ms, PROTO_DRAIN_MAX_MS);
	if (s->attach_window_ms > PROTO_ATTACH_WINDOW_MAX_MS)
		return tlv_err(err, m, NULL, "attach_window_ms %u over the "
		    "limit of %u", s->attach_window_ms,
		    PROTO_ATTACH_WINDOW_MAX_MS);
	if (s->attach_dir != NULL && s->attach_dir[0] != '/')
		return tlv_err(err, m, NULL, "attach_dir must be an absolute "
		    "path");
	if (s->limits.memory < -1 || s->limits.swap < -1 ||
	    s->limits.cpu_milli < -1 || s->limits.pids < -1 ||
	    s->limits.nofile < -1)
		return tlv_err(err, m, NULL, "a limit is below -1 (not set)");
	if (s->network < -1 || s->network > 1)
		return tlv_err(err, m, NULL, "network must be -1, 0 or 1, got %d",
		    s->network);
	if (s->ssh.port < 1 || s->ssh.port > 65535)
		return tlv_err(err, m, NULL, "ssh_port %d out of range 1..65535",
		    s->ssh.port);
	if (s->http.timeout < 1 || s->http.timeout > 86400)
		return tlv_err(err, m, NULL, "http_timeout %d out of range "
		    "1..86400", s->http.timeout);
	if (s->http.method != NULL && (s->http.method[0] == '\0' ||
	    strspn(s->http.method, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") !=
	    strlen(s->http.method)))
		return tlv_err(err, m, NULL, "http_method must be upper-case "
		    "letters");
	for (i = 0; i < s->http.nsuccess_status; i++)
		if (s->http.success_status[i] < 100 ||
		    s->http.success_status[i] > 599)
			return tlv_err(err, m, NULL, "http_success_status %d out "
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
	s->ssh.port = PROTO_DEFAULT_SSH_PORT;
	s->ssh.verify_host_key = true;
	s->http.timeout = PROTO_DEFAULT_HTTP_TIMEOUT;
}

void
proto_spec_free(struct proto_spec *s)
{
	tlv_free(&spec_msg, s);
}

int
proto_spec_encode(const struct proto_spec *s, struct pf_buf *out,
    struct pf_err *err)
{
	struct pf_buf	 body;

	buf_init(&body, PROTO_SPEC_MAX);
	if (tlv_encode(&spec_msg, s, &body, err) == -1) {
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
		return tlv_err(err, &spec_msg, NULL, "out of memory");
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
		return tlv_err(err, &spec_msg, NULL, "%zu bytes, over the "
		    "limit of %d", len, PROTO_SPEC_MAX);
	return tlv_decode(&spec_msg, body, len, s, err);
}

int
proto_started_encode(const struct proto_started *st, struct pf_buf *out,
    struct pf_err *err)
{
	return tlv_encode_frame(&started_msg, PROTO_MSG_STARTED, st, out, err);
}

int
proto_started_decode(const struct frame *f, struct proto_started *st,
    struct pf_err *err)
{
	memset(st, 0, sizeof(*st));
	return decode_frame(&started_msg, PROTO_MSG_STARTED, f, st, err);
}

static int
output_check(const void *obj, struct pf_err *err)
{
	const struct proto_output	*o = obj;

	if (o->stream != PROTO_STDOUT && o->stream != PROTO_STDERR)
		return tlv_err(err, &output_msg, NULL, "stream must be 1 "
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
	return tlv_encode_frame(&output_msg, PROTO_MSG_OUTPUT, &o, out, err);
}

int
proto_output_decode(const struct frame *f, struct proto_output *o,
    struct pf_err *err)
{
	memset(o, 0, sizeof(*o));
	return decode_frame(&output_msg, PROTO_MSG_OUTPUT, f, o, err);
}

static int
result_check(const void *obj, struct pf_err *err)
{
	const struct proto_result	*r = obj;
	const struct tlv_msg		*m = &result_msg;

	if (r->status < PROTO_ST_OK || r->status > PROTO_ST_MAX)
		return tlv_err(err, m, NULL, "unknown status %u", r->status);
	if (r->exit_code < -1 || r->exit_code > 255)
		return tlv_err(err, m, NULL, "exit_code %d out of range "
		    "-1..255", r->exit_code);
	if (r->signal < 0 || r->signal > 127)
		return tlv_err(err, m, NULL, "signal %d out of range 0..127",
		    r->signal);
	if (r->http_status < 0 || r->http_status > 999)
		return tlv_err(err, m, NULL, "http_status %d out of range "
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
	tlv_free(&result_msg, r);
}

int
proto_result_encode(const struct proto_result *r, struct pf_buf *out,
    struct pf_err *err)
{
	return tlv_encode_frame(&result_msg, PROTO_MSG_RESULT, r, out, err);
}

int
proto_result_decode(const struct frame *f, struct proto_result *r,
    struct pf_err *err)
{
	proto_result_init(r);
	return decode_frame(&result_msg, PROTO_MSG_RESULT, f, r, err);
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
