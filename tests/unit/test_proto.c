/*
 * The worker protocol messages: round trips of every field, defaults,
 * multi-frame SPECs at their limits, each malformed variant rejected
 * with its message, and allocation failure at every step.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "picoflow/alloc.h"
#include "picoflow/buf.h"
#include "picoflow/frame.h"
#include "picoflow/proto.h"
#include "../lib/faultloop.h"
#include "../lib/wire_test.h"

static char	*t_args[] = { "-c", "echo \"$X\"", "", "last arg" };
static char	*t_env[] = { "X=1", "EMPTY=", "PATH=/bin" };
static char	*t_ro[] = { "/", "/usr" };
static char	*t_priv[] = { "backupops", "4242" };
static char	*t_unpriv[] = { "ssl-cert" };
static char	*t_rw[] = { "/var/tmp" };
static struct tlv_kv t_hdr[] = {
	{ "Accept", "application/json" }, { "X-Trace", "" },
};
static int	 t_ok[] = { 200, 204, 599 };

/* A SPEC with every field set to a non-default value. */
static void
full_spec(struct proto_spec *s)
{
	proto_spec_init(s);
	s->attempt_id = UINT64_MAX - 3;
	s->run_id = "run-2024-01-01";
	s->task_name = "dump_db";
	s->executor = PROTO_EXEC_SHELL;
	s->workflow = "nightly";
	s->command = "/bin/sh";
	s->args = t_args;
	s->nargs = 4;
	s->workdir = "/var/tmp";
	s->env = t_env;
	s->nenv = 3;
	s->output_cap = 5ULL << 40;
	s->kill_grace_ms = PROTO_KILL_GRACE_MAX_MS;
	s->drain_ms = 250;
	s->limits.memory = 64LL << 20;
	s->limits.swap = 0;
	s->limits.cpu_milli = 500;
	s->limits.pids = 64;
	s->limits.nofile = INT64_MAX;
	s->run_as = "nobody:nogroup,backup";
	s->run_as_privileged = true;
	s->privileged_groups = t_priv;
	s->nprivileged_groups = 2;
	s->unprivileged_groups = t_unpriv;
	s->nunprivileged_groups = 1;
	s->network = 0;
	s->namespaces = true;
	s->private_tmp = true;
	s->read_only = t_ro;
	s->nread_only = 2;
	s->writable = t_rw;
	s->nwritable = 1;
	s->ssh.host = "db.example.org";
	s->ssh.user = "backup";
	s->ssh.command = "pg_dump app";
	s->ssh.key_path = "/root/.ssh/id_ed25519";
	s->ssh.port = 65535;
	s->ssh.verify_host_key = false;
	s->http.url = "https://127.0.0.1:8443/hook";
	s->http.method = "PATCH";
	s->http.headers = t_hdr;
	s->http.nheaders = 2;
	s->http.body = "{\"a\": [1, 2]}";
	s->http.body_is_json = true;
	s->http.timeout = 86400;
	s->http.allow_private_ips = true;
	s->http.ca_file = "/etc/ssl/ca.pem";
	s->http.success_status = t_ok;
	s->http.nsuccess_status = 3;
}

static void
assert_strv_eq(char **a, size_t na, char **b, size_t nb)
{
	size_t	 i;

	cr_assert_eq(na, nb);
	for (i = 0; i < na; i++)
		cr_assert_str_eq(a[i], b[i]);
}

static void
assert_spec_eq(const struct proto_spec *a, const struct proto_spec *b)
{
	size_t	 i;

	cr_assert_eq(a->attempt_id, b->attempt_id);
	cr_assert_str_eq(a->run_id, b->run_id);
	cr_assert_str_eq(a->task_name, b->task_name);
	cr_assert_eq(a->executor, b->executor);
	cr_assert_str_eq(a->workflow, b->workflow);
	cr_assert_str_eq(a->command, b->command);
	assert_strv_eq(a->args, a->nargs, b->args, b->nargs);
	cr_assert_str_eq(a->workdir, b->workdir);
	assert_strv_eq(a->env, a->nenv, b->env, b->nenv);
	cr_assert_eq(a->output_cap, b->output_cap);
	cr_assert_eq(a->kill_grace_ms, b->kill_grace_ms);
	cr_assert_eq(a->drain_ms, b->drain_ms);
	cr_assert_eq(a->limits.memory, b->limits.memory);
	cr_assert_eq(a->limits.swap, b->limits.swap);
	cr_assert_eq(a->limits.cpu_milli, b->limits.cpu_milli);
	cr_assert_eq(a->limits.pids, b->limits.pids);
	cr_assert_eq(a->limits.nofile, b->limits.nofile);
	cr_assert_str_eq(a->run_as, b->run_as);
	cr_assert_eq(a->run_as_privileged, b->run_as_privileged);
	assert_strv_eq(a->privileged_groups, a->nprivileged_groups,
	    b->privileged_groups, b->nprivileged_groups);
	assert_strv_eq(a->unprivileged_groups, a->nunprivileged_groups,
	    b->unprivileged_groups, b->nunprivileged_groups);
	cr_assert_eq(a->network, b->network);
	cr_assert_eq(a->namespaces, b->namespaces);
	cr_assert_eq(a->private_tmp, b->private_tmp);
	assert_strv_eq(a->read_only, a->nread_only, b->read_only,
	    b->nread_only);
	assert_strv_eq(a->writable, a->nwritable, b->writable, b->nwritable);
	cr_assert_str_eq(a->ssh.host, b->ssh.host);
	cr_assert_str_eq(a->ssh.user, b->ssh.user);
	cr_assert_str_eq(a->ssh.command, b->ssh.command);
	cr_assert_str_eq(a->ssh.key_path, b->ssh.key_path);
	cr_assert_eq(a->ssh.port, b->ssh.port);
	cr_assert_eq(a->ssh.verify_host_key, b->ssh.verify_host_key);
	cr_assert_str_eq(a->http.url, b->http.url);
	cr_assert_str_eq(a->http.method, b->http.method);
	cr_assert_eq(a->http.nheaders, b->http.nheaders);
	for (i = 0; i < a->http.nheaders; i++) {
		cr_assert_str_eq(a->http.headers[i].key,
		    b->http.headers[i].key);
		cr_assert_str_eq(a->http.headers[i].value,
		    b->http.headers[i].value);
	}
	cr_assert_str_eq(a->http.body, b->http.body);
	cr_assert_eq(a->http.body_is_json, b->http.body_is_json);
	cr_assert_eq(a->http.timeout, b->http.timeout);
	cr_assert_eq(a->http.allow_private_ips, b->http.allow_private_ips);
	cr_assert_str_eq(a->http.ca_file, b->http.ca_file);
	cr_assert_eq(a->http.nsuccess_status, b->http.nsuccess_status);
	for (i = 0; i < a->http.nsuccess_status; i++)
		cr_assert_eq(a->http.success_status[i],
		    b->http.success_status[i]);
}

/*
 * Reads the frames in `wire` back through the streaming reader and the
 * reassembler, as pf-worker does, and decodes the SPEC.
 */
static int
spec_from_wire(const struct pf_buf *wire, struct proto_spec *out,
    size_t *nframes, struct pf_err *err)
{
	struct frame_reader	 r;
	struct frame_asm	 a;
	struct frame		 f;
	size_t			 off = 0, k;
	int			 rc, done = 0, ret = -1;

	frame_reader_init(&r, 0);
	frame_asm_init(&a, PROTO_SPEC_MAX);
	proto_spec_init(out);
	while (!done) {
		while ((rc = frame_reader_next(&r, &f, err)) == 1) {
			cr_assert_eq(f.type, PROTO_MSG_SPEC);
			if ((rc = frame_asm_add(&a, &f, err)) == -1)
				goto out;
			if (rc == 1) {
				*nframes = a.nframes;
				ret = proto_spec_decode(a.body.data,
				    a.body.len, out, err);
				done = 1;
				break;
			}
		}
		if (rc == -1)
			goto out;
		if (!done) {
			cr_assert(off < wire->len, "the SPEC never ended");
			k = frame_reader_feed(&r, wire->data + off,
			    wire->len - off);
			off += k;
		}
	}
	cr_assert_eq(off, wire->len, "bytes after the SPEC");
out:
	frame_reader_free(&r);
	frame_asm_free(&a);
	return ret;
}

Test(proto, spec_round_trip_every_field)
{
	struct proto_spec	 s, d;
	struct pf_buf		 b;
	struct pf_err		 err;
	size_t			 nframes = 0;

	full_spec(&s);
	buf_init(&b, 0);
	cr_assert_eq(proto_spec_encode(&s, &b, &err), 0, "%s", err.msg);
	cr_assert_eq(b.data[5], PROTO_MSG_SPEC);
	cr_assert_eq(spec_from_wire(&b, &d, &nframes, &err), 0, "%s",
	    err.msg);
	cr_assert_eq(nframes, 1);
	assert_spec_eq(&s, &d);
	proto_spec_free(&d);
	cr_assert_null(d.run_id, "free clears the pointers");
	cr_assert_eq(d.nargs, 0);
	buf_free(&b);
}

Test(proto, spec_defaults_when_absent)
{
	struct pf_buf		 b;
	struct proto_spec	 d;
	struct pf_err		 err;

	buf_init(&b, 0);
	frame_add_u64(&b, PROTO_SPEC_ATTEMPT_ID, 5);
	frame_add_str(&b, PROTO_SPEC_RUN_ID, "r");
	frame_add_str(&b, PROTO_SPEC_TASK_NAME, "t");
	frame_add_u8(&b, PROTO_SPEC_EXECUTOR, PROTO_EXEC_SHELL);
	frame_add_str(&b, PROTO_SPEC_COMMAND, "/bin/true");
	cr_assert_eq(proto_spec_decode(b.data, b.len, &d, &err), 0, "%s",
	    err.msg);
	cr_assert_eq(d.attempt_id, 5);
	cr_assert_eq(d.output_cap, 10 * 1024 * 1024);
	cr_assert_eq(d.kill_grace_ms, 5000);
	cr_assert_eq(d.drain_ms, 100);
	cr_assert_eq(d.limits.memory, -1);
	cr_assert_eq(d.limits.nofile, -1);
	cr_assert_eq(d.network, -1);
	cr_assert(!d.namespaces, "an old supervisor: the worker's own sandbox");
	cr_assert(!d.private_tmp);
	cr_assert_eq(d.ssh.port, 22);
	cr_assert(d.ssh.verify_host_key);
	cr_assert_eq(d.http.timeout, 300);
	cr_assert_eq(d.nargs, 0);
	cr_assert_null(d.args);
	cr_assert_null(d.workdir);
	cr_assert_null(d.workflow);
	proto_spec_free(&d);
	buf_free(&b);
}

Test(proto, spec_unknown_tags_are_skipped)
{
	struct pf_buf		 b;
	struct proto_spec	 d;
	struct pf_err		 err;

	buf_init(&b, 0);
	frame_add_str(&b, 999, "a newer peer's field");
	frame_add_u64(&b, PROTO_SPEC_ATTEMPT_ID, 5);
	frame_add_bytes(&b, 65535, "\0\0\0", 3);
	frame_add_str(&b, PROTO_SPEC_RUN_ID, "r");
	frame_add_str(&b, PROTO_SPEC_TASK_NAME, "t");
	frame_add_u8(&b, PROTO_SPEC_EXECUTOR, PROTO_EXEC_SHELL);
	frame_add_str(&b, PROTO_SPEC_COMMAND, "/bin/true");
	frame_add_u32(&b, 6, 1);
	cr_assert_eq(proto_spec_decode(b.data, b.len, &d, &err), 0, "%s",
	    err.msg);
	cr_assert_str_eq(d.command, "/bin/true");
	proto_spec_free(&d);
	buf_free(&b);
}

/* The workflow format's own maxima: 256 args of 4096 bytes (1 MiB). */
Test(proto, spec_spans_frames)
{
	struct proto_spec	 s, d;
	struct pf_buf		 b;
	struct pf_err		 err;
	char			**args;
	size_t			 i, off, nframes = 0, nf = 0;
	uint32_t		 plen;

	args = pf_calloc(256, sizeof(*args));
	for (i = 0; i < 256; i++) {
		args[i] = pf_malloc(4097);
		memset(args[i], 'a' + (int)(i % 26), 4096);
		args[i][4096] = '\0';
	}
	proto_spec_init(&s);
	s.attempt_id = 1;
	s.run_id = "r";
	s.task_name = "t";
	s.executor = PROTO_EXEC_SHELL;
	s.command = "/bin/echo";
	s.args = args;
	s.nargs = 256;
	buf_init(&b, 0);
	cr_assert_eq(proto_spec_encode(&s, &b, &err), 0, "%s", err.msg);
	/* Every frame is within the limit; all but the last are continued. */
	for (off = 0; off < b.len; off += FRAME_HDR_LEN + plen, nf++) {
		plen = le32_get(b.data + off);
		cr_assert_leq(plen, FRAME_PAYLOAD_MAX);
		cr_assert_eq(b.data[off + 5], PROTO_MSG_SPEC);
		cr_assert_eq(le16_get(b.data + off + 6),
		    off + FRAME_HDR_LEN + plen < b.len ? FRAME_F_MORE : 0);
	}
	cr_assert_eq(off, b.len);
	cr_assert_eq(nf, 17, "1 MiB of args and headers need 17 frames");
	cr_assert_eq(spec_from_wire(&b, &d, &nframes, &err), 0, "%s",
	    err.msg);
	cr_assert_eq(nframes, nf);
	cr_assert_eq(d.nargs, 256);
	for (i = 0; i < 256; i++)
		cr_assert_str_eq(d.args[i], args[i], "arg %zu out of order", i);
	proto_spec_free(&d);
	for (i = 0; i < 256; i++)
		pf_free(args[i]);
	pf_free(args);
	buf_free(&b);
}

Test(proto, spec_total_limit)
{
	struct proto_spec	 s, d;
	struct pf_buf		 b;
	struct pf_err		 err;
	char			*body;
	size_t			 blen;

	/* An http body that takes the SPEC exactly over 4 MiB. */
	blen = PROTO_SPEC_MAX;
	body = pf_malloc(blen + 1);
	memset(body, 'x', blen);
	body[blen] = '\0';
	proto_spec_init(&s);
	s.attempt_id = 1;
	s.run_id = "r";
	s.task_name = "t";
	s.executor = PROTO_EXEC_HTTP;
	s.http.url = "http://127.0.0.1/";
	s.http.body = body;
	buf_init(&b, 0);
	cr_assert_eq(proto_spec_encode(&s, &b, &err), -1);
	cr_assert_str_eq(err.msg, "SPEC: larger than 4194304 bytes");

	/* A body that fits. */
	body[PROTO_SPEC_MAX - 4096] = '\0';
	cr_assert_eq(proto_spec_encode(&s, &b, &err), 0, "%s", err.msg);
	cr_assert_eq(proto_spec_decode(b.data + FRAME_HDR_LEN, 0, &d, &err),
	    -1, "an empty body has no required field");
	cr_assert_eq(proto_spec_decode(body, PROTO_SPEC_MAX + 1, &d, &err),
	    -1);
	cr_assert_str_eq(err.msg, "SPEC: 4194305 bytes, over the limit of "
	    "4194304");
	proto_spec_free(&d);
	pf_free(body);
	buf_free(&b);
}

/* A minimal valid SPEC body, then one extra field appended by the test. */
static void
min_body(struct pf_buf *b)
{
	buf_init(b, 0);
	frame_add_u64(b, PROTO_SPEC_ATTEMPT_ID, 5);
	frame_add_str(b, PROTO_SPEC_RUN_ID, "r");
	frame_add_str(b, PROTO_SPEC_TASK_NAME, "t");
	frame_add_u8(b, PROTO_SPEC_EXECUTOR, PROTO_EXEC_SHELL);
	frame_add_str(b, PROTO_SPEC_COMMAND, "/bin/true");
}

static void
expect_spec_error(struct pf_buf *b, const char *msg)
{
	struct proto_spec	 d;
	struct pf_err		 err;

	memset(&err, 0, sizeof(err));
	cr_assert_eq(proto_spec_decode(b->data, b->len, &d, &err), -1,
	    "accepted, expected: %s", msg);
	cr_assert_str_eq(err.msg, msg);
	cr_assert_null(d.run_id, "nothing left allocated");
	cr_assert_null(d.args);
	proto_spec_free(&d);
	buf_free(b);
}

Test(proto, spec_malformed_variants)
{
	struct pf_buf	 b;
	int		 i;

	/* Truncated field: the last field loses its final byte. */
	min_body(&b);
	b.len--;
	expect_spec_error(&b, "SPEC: truncated field: tag 10 announces 9 "
	    "bytes, 8 left");

	/* Truncated field header. */
	min_body(&b);
	buf_add(&b, "\x0b\x00\x01", 3);
	expect_spec_error(&b, "SPEC: truncated field header: 3 bytes left, a "
	    "field header needs 6");

	/* Wrong fixed length. */
	buf_init(&b, 0);
	frame_add_u32(&b, PROTO_SPEC_ATTEMPT_ID, 5);
	expect_spec_error(&b, "SPEC: field attempt_id (tag 1): 4 bytes, "
	    "expected exactly 8");
	min_body(&b);
	frame_add_u64(&b, PROTO_SPEC_DRAIN_MS, 5);
	expect_spec_error(&b, "SPEC: field drain_ms (tag 22): 8 bytes, "
	    "expected exactly 4");
	min_body(&b);
	frame_add_bytes(&b, PROTO_SPEC_HTTP_SUCCESS, "\xc8\0\0", 3);
	expect_spec_error(&b, "SPEC: field http_success_status (tag 58): 3 "
	    "bytes, expected exactly 4");

	/* Missing required fields. */
	buf_init(&b, 0);
	frame_add_u64(&b, PROTO_SPEC_ATTEMPT_ID, 5);
	frame_add_str(&b, PROTO_SPEC_TASK_NAME, "t");
	frame_add_u8(&b, PROTO_SPEC_EXECUTOR, PROTO_EXEC_SHELL);
	expect_spec_error(&b, "SPEC: missing required field run_id (tag 2)");
	buf_init(&b, 0);
	frame_add_u64(&b, PROTO_SPEC_ATTEMPT_ID, 5);
	frame_add_str(&b, PROTO_SPEC_RUN_ID, "r");
	frame_add_str(&b, PROTO_SPEC_TASK_NAME, "t");
	frame_add_u8(&b, PROTO_SPEC_EXECUTOR, PROTO_EXEC_SHELL);
	expect_spec_error(&b, "SPEC: shell executor needs an absolute command "
	    "path (got none)");

	/* Repeated singletons. */
	min_body(&b);
	frame_add_str(&b, PROTO_SPEC_RUN_ID, "again");
	expect_spec_error(&b, "SPEC: field run_id (tag 2): appears more than "
	    "once");
	min_body(&b);
	frame_add_u8(&b, PROTO_SPEC_EXECUTOR, PROTO_EXEC_SHELL);
	expect_spec_error(&b, "SPEC: field executor (tag 4): appears more "
	    "than once");

	/* Strings with NUL. */
	buf_init(&b, 0);
	frame_add_u64(&b, PROTO_SPEC_ATTEMPT_ID, 5);
	frame_add_str(&b, PROTO_SPEC_RUN_ID, "r");
	frame_add_bytes(&b, PROTO_SPEC_TASK_NAME, "a\0b", 3);
	frame_add_u8(&b, PROTO_SPEC_EXECUTOR, PROTO_EXEC_SHELL);
	frame_add_str(&b, PROTO_SPEC_COMMAND, "/bin/true");
	expect_spec_error(&b, "SPEC: field task_name (tag 3): field tag 3: "
	    "string contains a NUL byte");
	min_body(&b);
	frame_add_str(&b, PROTO_SPEC_ARG, "ok");
	frame_add_bytes(&b, PROTO_SPEC_ARG, "x\0", 2);
	expect_spec_error(&b, "SPEC: field arg (tag 11): field tag 11: string "
	    "contains a NUL byte");

	/* Empty required string. */
	buf_init(&b, 0);
	frame_add_u64(&b, PROTO_SPEC_ATTEMPT_ID, 5);
	frame_add_str(&b, PROTO_SPEC_RUN_ID, "");
	frame_add_str(&b, PROTO_SPEC_TASK_NAME, "t");
	frame_add_u8(&b, PROTO_SPEC_EXECUTOR, PROTO_EXEC_SHELL);
	frame_add_str(&b, PROTO_SPEC_COMMAND, "/bin/true");
	expect_spec_error(&b, "SPEC: field run_id (tag 2): must not be empty");

	/* Oversized counts: one more argument than allowed. */
	min_body(&b);
	for (i = 0; i < PROTO_REPEAT_MAX + 1; i++)
		frame_add_str(&b, PROTO_SPEC_ARG, "a");
	expect_spec_error(&b, "SPEC: field arg (tag 11): more than 4096 "
	    "entries");

	/* Too many fields in all (unknown ones count too). */
	min_body(&b);
	for (i = 0; i < PROTO_SPEC_FIELDS_MAX; i++)
		frame_add_bytes(&b, 1000, NULL, 0);
	expect_spec_error(&b, "SPEC: more than 16384 fields");

	/* Oversized strings. */
	min_body(&b);
	{
		char	 big[PROTO_PATH_MAX + 2];

		memset(big, 'a', sizeof(big) - 1);
		big[0] = '/';
		big[sizeof(big) - 1] = '\0';
		frame_add_str(&b, PROTO_SPEC_WORKDIR, big);
	}
	expect_spec_error(&b, "SPEC: field workdir (tag 12): field tag 12: "
	    "string of 4097 bytes exceeds the limit of 4096");

	/* Values out of range. */
	min_body(&b);
	frame_add_u8(&b, PROTO_SPEC_SSH_VERIFY, 2);
	expect_spec_error(&b, "SPEC: field ssh_verify_host_key (tag 45): a "
	    "bool must be 0 or 1, got 2");
	buf_init(&b, 0);
	frame_add_u64(&b, PROTO_SPEC_ATTEMPT_ID, 5);
	frame_add_str(&b, PROTO_SPEC_RUN_ID, "r");
	frame_add_str(&b, PROTO_SPEC_TASK_NAME, "t");
	frame_add_u8(&b, PROTO_SPEC_EXECUTOR, 4);
	expect_spec_error(&b, "SPEC: unknown executor 4 (1 shell, 2 ssh, 3 "
	    "http)");
	min_body(&b);
	frame_add_u32(&b, PROTO_SPEC_SSH_PORT, 0);
	expect_spec_error(&b, "SPEC: ssh_port 0 out of range 1..65535");
	min_body(&b);
	frame_add_u32(&b, PROTO_SPEC_KILL_GRACE_MS,
	    PROTO_KILL_GRACE_MAX_MS + 1);
	expect_spec_error(&b, "SPEC: kill_grace_ms 3600001 over the limit of "
	    "3600000");
	min_body(&b);
	frame_add_u64(&b, PROTO_SPEC_LIM_PIDS, (uint64_t)-2);
	expect_spec_error(&b, "SPEC: a limit is below -1 (not set)");
	min_body(&b);
	frame_add_u32(&b, PROTO_SPEC_NETWORK, 2);
	expect_spec_error(&b, "SPEC: network must be -1, 0 or 1, got 2");
	min_body(&b);
	frame_add_str(&b, PROTO_SPEC_ENV, "=x");
	expect_spec_error(&b, "SPEC: env entry 1 is not KEY=VALUE");
	min_body(&b);
	frame_add_str(&b, PROTO_SPEC_ENV, "A=1");
	frame_add_str(&b, PROTO_SPEC_ENV, "NOEQUALS");
	expect_spec_error(&b, "SPEC: env entry 2 is not KEY=VALUE");
	min_body(&b);
	frame_add_str(&b, PROTO_SPEC_WORKDIR, "tmp");
	expect_spec_error(&b, "SPEC: workdir \"tmp\" is not absolute");
	min_body(&b);
	frame_add_str(&b, PROTO_SPEC_HTTP_METHOD, "get");
	expect_spec_error(&b, "SPEC: http_method must be upper-case letters");
	min_body(&b);
	frame_add_u32(&b, PROTO_SPEC_HTTP_SUCCESS, 99);
	expect_spec_error(&b, "SPEC: http_success_status 99 out of range "
	    "100..599");

	/* Header entries: key length 0, past the end, NUL in the value. */
	min_body(&b);
	frame_add_bytes(&b, PROTO_SPEC_HTTP_HEADER, "\0\0\0\0v", 5);
	expect_spec_error(&b, "SPEC: field http_header (tag 52): bad key "
	    "length 0 in 5 bytes");
	min_body(&b);
	frame_add_bytes(&b, PROTO_SPEC_HTTP_HEADER, "\x05\0\0\0abcd", 8);
	expect_spec_error(&b, "SPEC: field http_header (tag 52): bad key "
	    "length 5 in 8 bytes");
	min_body(&b);
	frame_add_bytes(&b, PROTO_SPEC_HTTP_HEADER, "\x01\0\0", 3);
	expect_spec_error(&b, "SPEC: field http_header (tag 52): 3 bytes, too "
	    "short for a key length");
	min_body(&b);
	frame_add_bytes(&b, PROTO_SPEC_HTTP_HEADER, "\x01\0\0\0kv\0", 7);
	expect_spec_error(&b, "SPEC: field http_header (tag 52): field tag "
	    "52: string contains a NUL byte");
}

Test(proto, spec_encode_refuses_what_decode_rejects)
{
	struct proto_spec	 s;
	struct pf_buf		 b;
	struct pf_err		 err;
	char			*bad_env[] = { "NOEQUALS" };
	char			*null_arg[] = { NULL };

	buf_init(&b, 0);
	full_spec(&s);
	s.command = "bin/sh";
	cr_assert_eq(proto_spec_encode(&s, &b, &err), -1);
	cr_assert_str_eq(err.msg, "SPEC: shell executor needs an absolute "
	    "command path (got \"bin/sh\")");
	full_spec(&s);
	s.env = bad_env;
	s.nenv = 1;
	cr_assert_eq(proto_spec_encode(&s, &b, &err), -1);
	cr_assert_str_eq(err.msg, "SPEC: env entry 1 is not KEY=VALUE");
	full_spec(&s);
	s.run_id = "";
	cr_assert_eq(proto_spec_encode(&s, &b, &err), -1);
	cr_assert_str_eq(err.msg, "SPEC: field run_id (tag 2): required and "
	    "empty");
	full_spec(&s);
	s.args = null_arg;
	s.nargs = 1;
	cr_assert_eq(proto_spec_encode(&s, &b, &err), -1);
	cr_assert_str_eq(err.msg, "SPEC: field arg (tag 11): NULL entry");
	full_spec(&s);
	s.nargs = PROTO_REPEAT_MAX + 1;
	cr_assert_eq(proto_spec_encode(&s, &b, &err), -1);
	cr_assert_str_eq(err.msg, "SPEC: field arg (tag 11): 4097 entries, "
	    "over the limit of 4096");
	full_spec(&s);
	s.executor = PROTO_EXEC_SSH;
	s.ssh.user = NULL;
	cr_assert_eq(proto_spec_encode(&s, &b, &err), -1);
	cr_assert_str_eq(err.msg, "SPEC: ssh executor needs ssh_host, "
	    "ssh_user and ssh_command");
	full_spec(&s);
	s.executor = PROTO_EXEC_HTTP;
	s.http.url = "";
	cr_assert_eq(proto_spec_encode(&s, &b, &err), -1);
	cr_assert_str_eq(err.msg, "SPEC: http executor needs http_url");
	buf_free(&b);
}

Test(proto, spec_ssh_and_http_executors_round_trip)
{
	struct proto_spec	 s, d;
	struct pf_buf		 b;
	struct pf_err		 err;
	size_t			 nframes;

	buf_init(&b, 0);
	full_spec(&s);
	s.executor = PROTO_EXEC_SSH;
	s.command = NULL;
	s.nargs = 0;
	cr_assert_eq(proto_spec_encode(&s, &b, &err), 0, "%s", err.msg);
	cr_assert_eq(spec_from_wire(&b, &d, &nframes, &err), 0, "%s",
	    err.msg);
	cr_assert_eq(d.executor, PROTO_EXEC_SSH);
	cr_assert_null(d.command);
	cr_assert_str_eq(d.ssh.command, "pg_dump app");
	cr_assert_eq(d.ssh.port, 65535);
	proto_spec_free(&d);

	full_spec(&s);
	s.executor = PROTO_EXEC_HTTP;
	cr_assert_eq(proto_spec_encode(&s, &b, &err), 0, "%s", err.msg);
	cr_assert_eq(spec_from_wire(&b, &d, &nframes, &err), 0, "%s",
	    err.msg);
	assert_spec_eq(&s, &d);
	proto_spec_free(&d);
	buf_free(&b);
}

/* Fail the Nth allocation for every N until decoding succeeds. */
Test(proto, spec_decode_allocation_failures)
{
	struct proto_spec	 s, d;
	struct pf_buf		 b;
	struct pf_err		 err;
	struct faultloop	 fl;
	int			 rc;

	full_spec(&s);
	buf_init(&b, 0);
	cr_assert_eq(proto_spec_encode(&s, &b, &err), 0);
	for (FAULTLOOP_MODES(m)) {
		for (faultloop_init(&fl, m); faultloop_next(&fl); ) {
			rc = proto_spec_decode(b.data + FRAME_HDR_LEN,
			    b.len - FRAME_HDR_LEN, &d, &err);
			cr_assert(rc == 0 || faultloop_met(&fl));
			if (rc == 0) {
				assert_spec_eq(&s, &d);
				proto_spec_free(&d);
				continue;
			}
			cr_assert(strstr(err.msg, "out of memory") != NULL,
			    "n=%ld: %s", fl.n, err.msg);
			cr_assert_null(d.run_id);
			cr_assert_null(d.args);
			cr_assert_null(d.http.headers);
			proto_spec_free(&d);
		}
		cr_assert_gt(fl.n, 20, "every string is an allocation");
	}
	buf_free(&b);
}

Test(proto, encode_allocation_failures)
{
	struct proto_spec	 s;
	struct proto_result	 r;
	struct pf_buf		 b;
	struct pf_err		 err;
	struct faultloop	 fl;
	int			 rc;

	full_spec(&s);
	buf_init(&b, 0);
	proto_result_init(&r);
	r.status = PROTO_ST_OK;
	r.error = "x";
	for (FAULTLOOP_MODES(m)) {
		for (faultloop_init(&fl, m); faultloop_next(&fl); ) {
			buf_free(&b);
			buf_init(&b, 0);
			rc = proto_spec_encode(&s, &b, &err);
			cr_assert(rc == 0 || faultloop_met(&fl));
			if (rc != 0)
				cr_assert(strstr(err.msg, "out of memory") !=
				    NULL, "n=%ld: %s", fl.n, err.msg);
		}
		cr_assert_gt(fl.n, 0);
		for (faultloop_init(&fl, m); faultloop_next(&fl); ) {
			buf_free(&b);
			buf_init(&b, 0);
			rc = proto_result_encode(&r, &b, &err);
			cr_assert(rc == 0 || faultloop_met(&fl));
			if (rc != 0)
				cr_assert(strstr(err.msg, "out of memory") !=
				    NULL, "n=%ld: %s", fl.n, err.msg);
		}
	}
	buf_free(&b);
}

Test(proto, result_round_trip)
{
	struct proto_result	 r, d;
	struct pf_buf		 b;
	struct pf_err		 err;
	struct frame		 f;

	proto_result_init(&r);
	r.status = PROTO_ST_KILLED;
	r.exit_code = -1;
	r.signal = 9;
	r.duration_ms = 123456789012ULL;
	r.maxrss_kib = 1 << 20;
	r.utime_us = 5;
	r.stime_us = UINT64_MAX;
	r.http_status = 0;
	r.stdout_bytes = 10 << 20;
	r.stderr_bytes = 1;
	r.dropped = 94371840;
	r.truncated = true;
	r.error = "killed after the grace period";
	r.worker_rss_kib = 1800;
	buf_init(&b, 0);
	cr_assert_eq(proto_result_encode(&r, &b, &err), 0, "%s", err.msg);
	f = wt_frame(&b);
	cr_assert_eq(f.type, PROTO_MSG_RESULT);
	cr_assert_eq(proto_result_decode(&f, &d, &err), 0, "%s", err.msg);
	cr_assert_eq(d.status, PROTO_ST_KILLED);
	cr_assert_eq(d.exit_code, -1);
	cr_assert_eq(d.signal, 9);
	cr_assert_eq(d.duration_ms, 123456789012ULL);
	cr_assert_eq(d.maxrss_kib, 1 << 20);
	cr_assert_eq(d.utime_us, 5);
	cr_assert_eq(d.stime_us, UINT64_MAX);
	cr_assert_eq(d.http_status, 0);
	cr_assert_eq(d.stdout_bytes, 10 << 20);
	cr_assert_eq(d.stderr_bytes, 1);
	cr_assert_eq(d.dropped, 94371840);
	cr_assert(d.truncated);
	cr_assert_str_eq(d.error, "killed after the grace period");
	cr_assert_eq(d.worker_rss_kib, 1800);
	proto_result_free(&d);
	cr_assert_null(d.error);

	/* Minimal: status only; the rest takes its defaults. */
	frame_begin(&b, PROTO_MSG_RESULT);
	frame_add_u8(&b, PROTO_RESULT_STATUS, PROTO_ST_OK);
	frame_end(&b);
	f = wt_frame(&b);
	cr_assert_eq(proto_result_decode(&f, &d, &err), 0, "%s", err.msg);
	cr_assert_eq(d.exit_code, -1);
	cr_assert_null(d.error);
	cr_assert_not(d.truncated);
	proto_result_free(&d);
	buf_free(&b);
}

static void
expect_result_error(struct pf_buf *b, const char *msg)
{
	struct proto_result	 d;
	struct pf_err		 err;
	struct frame		 f;

	frame_end(b);
	f = wt_frame(b);
	cr_assert_eq(proto_result_decode(&f, &d, &err), -1, "accepted: %s",
	    msg);
	cr_assert_str_eq(err.msg, msg);
	cr_assert_null(d.error);
	proto_result_free(&d);
}

Test(proto, result_malformed_variants)
{
	struct pf_buf		 b;
	struct proto_result	 r, d;
	struct pf_err		 err;
	struct frame		 f;
	char			 big[PROTO_ERROR_MAX + 2];

	buf_init(&b, 0);
	frame_begin(&b, PROTO_MSG_RESULT);
	frame_add_u32(&b, PROTO_RESULT_EXIT_CODE, 1);
	expect_result_error(&b, "RESULT: missing required field status "
	    "(tag 1)");
	frame_begin(&b, PROTO_MSG_RESULT);
	frame_add_u8(&b, PROTO_RESULT_STATUS, 0);
	expect_result_error(&b, "RESULT: unknown status 0");
	frame_begin(&b, PROTO_MSG_RESULT);
	frame_add_u8(&b, PROTO_RESULT_STATUS, PROTO_ST_MAX + 1);
	expect_result_error(&b, "RESULT: unknown status 8");
	frame_begin(&b, PROTO_MSG_RESULT);
	frame_add_u8(&b, PROTO_RESULT_STATUS, 1);
	frame_add_u8(&b, PROTO_RESULT_STATUS, 1);
	expect_result_error(&b, "RESULT: field status (tag 1): appears more "
	    "than once");
	frame_begin(&b, PROTO_MSG_RESULT);
	frame_add_u8(&b, PROTO_RESULT_STATUS, 1);
	frame_add_u32(&b, PROTO_RESULT_EXIT_CODE, 256);
	expect_result_error(&b, "RESULT: exit_code 256 out of range -1..255");
	frame_begin(&b, PROTO_MSG_RESULT);
	frame_add_u8(&b, PROTO_RESULT_STATUS, 1);
	frame_add_u32(&b, PROTO_RESULT_EXIT_CODE, (uint32_t)-2);
	expect_result_error(&b, "RESULT: exit_code -2 out of range -1..255");
	frame_begin(&b, PROTO_MSG_RESULT);
	frame_add_u8(&b, PROTO_RESULT_STATUS, 1);
	frame_add_u32(&b, PROTO_RESULT_SIGNAL, 128);
	expect_result_error(&b, "RESULT: signal 128 out of range 0..127");
	frame_begin(&b, PROTO_MSG_RESULT);
	frame_add_u8(&b, PROTO_RESULT_STATUS, 1);
	frame_add_u8(&b, PROTO_RESULT_DURATION_MS, 1);
	expect_result_error(&b, "RESULT: field duration_ms (tag 4): 1 bytes, "
	    "expected exactly 8");
	frame_begin(&b, PROTO_MSG_RESULT);
	frame_add_u8(&b, PROTO_RESULT_STATUS, 1);
	frame_add_bytes(&b, PROTO_RESULT_ERROR, "bad\0", 4);
	expect_result_error(&b, "RESULT: field error (tag 13): field tag 13: "
	    "string contains a NUL byte");
	memset(big, 'e', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	frame_begin(&b, PROTO_MSG_RESULT);
	frame_add_u8(&b, PROTO_RESULT_STATUS, 1);
	frame_add_str(&b, PROTO_RESULT_ERROR, big);
	expect_result_error(&b, "RESULT: field error (tag 13): field tag 13: "
	    "string of 4097 bytes exceeds the limit of 4096");

	/* Encoders refuse the same things. */
	proto_result_init(&r);
	r.status = PROTO_ST_OK;
	r.error = big;
	cr_assert_eq(proto_result_encode(&r, &b, &err), -1);
	cr_assert_str_eq(err.msg, "RESULT: field error (tag 13): 4097 bytes, "
	    "over the limit of 4096");
	r.error = NULL;
	r.signal = -1;
	cr_assert_eq(proto_result_encode(&r, &b, &err), -1);
	cr_assert_str_eq(err.msg, "RESULT: signal -1 out of range 0..127");

	/* The wrong frame type, a continued RESULT. */
	r.signal = 0;
	cr_assert_eq(proto_result_encode(&r, &b, &err), 0);
	f = wt_frame(&b);
	f.type = PROTO_MSG_OUTPUT;
	cr_assert_eq(proto_result_decode(&f, &d, &err), -1);
	cr_assert_str_eq(err.msg, "RESULT: expected a frame of type 4, got "
	    "type 3 (OUTPUT)");
	f.type = PROTO_MSG_RESULT;
	f.flags = FRAME_F_MORE;
	cr_assert_eq(proto_result_decode(&f, &d, &err), -1);
	cr_assert_str_eq(err.msg, "RESULT: frame flagged as continued; this "
	    "message must fit in one frame");
	buf_free(&b);
}

Test(proto, started_round_trip_and_errors)
{
	struct proto_started	 st, d;
	struct pf_buf		 b;
	struct pf_err		 err;
	struct frame		 f;

	st.pid = 4194304;
	st.time_ms = 1700000000123ULL;
	buf_init(&b, 0);
	cr_assert_eq(proto_started_encode(&st, &b, &err), 0);
	f = wt_frame(&b);
	cr_assert_eq(f.type, PROTO_MSG_STARTED);
	cr_assert_eq(proto_started_decode(&f, &d, &err), 0, "%s", err.msg);
	cr_assert_eq(d.pid, 4194304);
	cr_assert_eq(d.time_ms, 1700000000123ULL);

	frame_begin(&b, PROTO_MSG_STARTED);
	frame_add_u32(&b, PROTO_STARTED_PID, 1);
	frame_end(&b);
	f = wt_frame(&b);
	cr_assert_eq(proto_started_decode(&f, &d, &err), -1);
	cr_assert_str_eq(err.msg, "STARTED: missing required field time_ms "
	    "(tag 2)");
	frame_begin(&b, PROTO_MSG_STARTED);
	frame_add_u64(&b, PROTO_STARTED_PID, 1);
	frame_add_u64(&b, PROTO_STARTED_TIME_MS, 1);
	frame_end(&b);
	f = wt_frame(&b);
	cr_assert_eq(proto_started_decode(&f, &d, &err), -1);
	cr_assert_str_eq(err.msg, "STARTED: field pid (tag 1): 8 bytes, "
	    "expected exactly 4");
	buf_free(&b);
}

Test(proto, output_round_trip_and_limits)
{
	struct proto_output	 o;
	struct pf_buf		 b;
	struct pf_err		 err;
	struct frame		 f;
	static uint8_t		 chunk[PROTO_OUTPUT_CHUNK_MAX + 1];
	size_t			 i;

	for (i = 0; i < sizeof(chunk); i++)
		chunk[i] = (uint8_t)i;
	buf_init(&b, 0);
	/* Exactly the chunk limit, binary data with NUL bytes. */
	cr_assert_eq(proto_output_encode(PROTO_STDERR, chunk,
	    PROTO_OUTPUT_CHUNK_MAX, &b, &err), 0, "%s", err.msg);
	f = wt_frame(&b);
	cr_assert_eq(proto_output_decode(&f, &o, &err), 0, "%s", err.msg);
	cr_assert_eq(o.stream, PROTO_STDERR);
	cr_assert_eq(o.len, PROTO_OUTPUT_CHUNK_MAX);
	cr_assert_arr_eq(o.data, chunk, PROTO_OUTPUT_CHUNK_MAX);

	/* One byte over, and empty, and a third stream. */
	cr_assert_eq(proto_output_encode(PROTO_STDOUT, chunk,
	    PROTO_OUTPUT_CHUNK_MAX + 1, &b, &err), -1);
	cr_assert_str_eq(err.msg, "OUTPUT: field data (tag 2): 61441 bytes "
	    "(1..61440 allowed)");
	cr_assert_eq(proto_output_encode(PROTO_STDOUT, chunk, 0, &b, &err),
	    -1);
	cr_assert_str_eq(err.msg, "OUTPUT: field data (tag 2): 0 bytes "
	    "(1..61440 allowed)");
	cr_assert_eq(proto_output_encode(3, chunk, 1, &b, &err), -1);
	cr_assert_str_eq(err.msg, "OUTPUT: stream must be 1 (stdout) or 2 "
	    "(stderr), got 3");

	/* The same, hand-made, through the decoder. */
	frame_begin(&b, PROTO_MSG_OUTPUT);
	frame_add_u8(&b, PROTO_OUTPUT_STREAM, 1);
	frame_add_bytes(&b, PROTO_OUTPUT_DATA, chunk,
	    PROTO_OUTPUT_CHUNK_MAX + 1);
	frame_end(&b);
	f = wt_frame(&b);
	cr_assert_eq(proto_output_decode(&f, &o, &err), -1);
	cr_assert_str_eq(err.msg, "OUTPUT: field data (tag 2): 61441 bytes, "
	    "over the limit of 61440");
	frame_begin(&b, PROTO_MSG_OUTPUT);
	frame_add_u8(&b, PROTO_OUTPUT_STREAM, 1);
	frame_add_bytes(&b, PROTO_OUTPUT_DATA, NULL, 0);
	frame_end(&b);
	f = wt_frame(&b);
	cr_assert_eq(proto_output_decode(&f, &o, &err), -1);
	cr_assert_str_eq(err.msg, "OUTPUT: field data (tag 2): must not be "
	    "empty");
	frame_begin(&b, PROTO_MSG_OUTPUT);
	frame_add_u8(&b, PROTO_OUTPUT_STREAM, 0);
	frame_add_bytes(&b, PROTO_OUTPUT_DATA, "x", 1);
	frame_end(&b);
	f = wt_frame(&b);
	cr_assert_eq(proto_output_decode(&f, &o, &err), -1);
	cr_assert_str_eq(err.msg, "OUTPUT: stream must be 1 (stdout) or 2 "
	    "(stderr), got 0");
	buf_free(&b);
}

Test(proto, names)
{
	cr_assert_str_eq(proto_msg_name(PROTO_MSG_SPEC), "SPEC");
	cr_assert_str_eq(proto_msg_name(0), "unknown");
	cr_assert_str_eq(proto_status_name(PROTO_ST_EXEC_ERROR),
	    "exec_error");
	cr_assert_str_eq(proto_status_name(PROTO_ST_INTERNAL_ERROR),
	    "internal_error");
	cr_assert_str_eq(proto_status_name(0), "invalid");
	cr_assert_str_eq(proto_status_name(200), "invalid");
	cr_assert_str_eq(proto_exec_name(PROTO_EXEC_HTTP), "http");
	cr_assert_str_eq(proto_exec_name(9), "unknown");
}
