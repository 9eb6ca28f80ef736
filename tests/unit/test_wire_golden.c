/*
 * Golden bytes of both wires: every message of the worker channel
 * (SPEC, STARTED, OUTPUT, RESULT) and of the control channel (REQUEST,
 * REPLY) encoded from representative values and compared byte for byte
 * with what the encoders produced when the bytes were recorded.  A
 * change to a codec table, a wire struct or the model conversion that
 * alters a single byte fails here; a deliberate wire change updates the
 * bytes and docs/protocol.md together.  Hostile inputs (truncated,
 * duplicated, oversized, unknown fields) are checked against the golden
 * messages too.
 */
#include <criterion/criterion.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "picoflow/alloc.h"
#include "picoflow/buf.h"
#include "picoflow/ctl.h"
#include "picoflow/frame.h"
#include "picoflow/proto.h"
#include "../lib/wire_test.h"

/* Set PF_GOLDEN_PRINT=1 to print the current bytes (to record them). */
static void
assert_golden(const struct pf_buf *b, const char *name, const char *hex)
{
	char	*h;
	size_t	 i;

	cr_assert_not_null(h = malloc(2 * b->len + 1));
	for (i = 0; i < b->len; i++)
		snprintf(h + 2 * i, 3, "%02x", b->data[i]);
	h[2 * b->len] = '\0';
	if (getenv("PF_GOLDEN_PRINT") != NULL)
		fprintf(stderr, "GOLDEN %s %s\n", name, h);
	cr_assert_str_eq(h, hex, "%s: the wire bytes changed", name);
	free(h);
}

static char	*g_args[] = { "-c", "echo \"$X\"", "", "last" };
static char	*g_env[] = { "X=1", "EMPTY=" };
static char	*g_ro[] = { "/usr" };
static char	*g_rw[] = { "/var/tmp" };
static char	*g_priv[] = { "backupops" };
static char	*g_unpriv[] = { "ssl-cert", "4242" };
static struct tlv_kv g_hdr[] = {
	{ "Accept", "application/json" }, { "X-Empty", "" },
};
static int	 g_ok[] = { 200, 599 };

static void
spec_common(struct proto_spec *s, uint8_t executor)
{
	proto_spec_init(s);
	s->attempt_id = 0x0102030405060708ULL;
	s->run_id = "r-1";
	s->task_name = "t";
	s->executor = executor;
}

static void
spec_shell(struct proto_spec *s)
{
	spec_common(s, PROTO_EXEC_SHELL);
	s->workflow = "nightly";
	s->command = "/bin/sh";
	s->args = g_args;
	s->nargs = 4;
	s->workdir = "/tmp";
	s->env = g_env;
	s->nenv = 2;
	s->output_cap = 1ULL << 33;
	s->kill_grace_ms = 7000;
	s->drain_ms = 0;
	s->limits.memory = 64LL << 20;
	s->limits.swap = 0;
	s->limits.cpu_milli = 1500;
	s->limits.pids = -1;
	s->limits.nofile = 1024;
	s->run_as = "nobody:nogroup";
	s->run_as_privileged = true;
	s->privileged_groups = g_priv;
	s->nprivileged_groups = 1;
	s->unprivileged_groups = g_unpriv;
	s->nunprivileged_groups = 2;
	s->network = 0;
	s->read_only = g_ro;
	s->nread_only = 1;
	s->writable = g_rw;
	s->nwritable = 1;
	s->namespaces = true;
	s->private_tmp = true;
}

static void
spec_ssh(struct proto_spec *s)
{
	spec_common(s, PROTO_EXEC_SSH);
	s->ssh.host = "db.example.org";
	s->ssh.user = "backup";
	s->ssh.command = "pg_dump app";
	s->ssh.key_path = "/k";
	s->ssh.port = 2222;
	s->ssh.verify_host_key = false;
}

static void
spec_http(struct proto_spec *s)
{
	spec_common(s, PROTO_EXEC_HTTP);
	s->network = 1;
	s->http.url = "https://h/x";
	s->http.method = "POST";
	s->http.headers = g_hdr;
	s->http.nheaders = 2;
	s->http.body = "{\"a\":1}";
	s->http.body_is_json = true;
	s->http.timeout = 30;
	s->http.allow_private_ips = true;
	s->http.ca_file = "/ca.pem";
	s->http.success_status = g_ok;
	s->http.nsuccess_status = 2;
}

#define GOLDEN_SPEC_SHELL \
	"a0010000010100000100080000000807060504030201020003000000" \
	"722d3103000100000074040001000000010500070000006e69676874" \
	"6c790a00070000002f62696e2f73680b00020000002d630b00090000" \
	"006563686f20222458220b00000000000b00040000006c6173740c00" \
	"040000002f746d700d0003000000583d310d0006000000454d505459" \
	"3d1400080000000000000002000000150004000000581b0000160004" \
	"000000000000001e000800000000000004000000001f000800000000" \
	"00000000000000200008000000dc05000000000000210008000000ff" \
	"ffffffffffffff220008000000000400000000000023000e0000006e" \
	"6f626f64793a6e6f67726f75703c0001000000013d00090000006261" \
	"636b75706f70733e000800000073736c2d636572743e000400000034" \
	"323432240004000000000000002500040000002f7573722600080000" \
	"002f7661722f746d702c0004000000160000002d0001000000013600" \
	"01000000003700040000002c010000380001000000003f0001000000" \
	"0140000100000001420004000000c027090043000800000000000000" \
	"00000000"
#define GOLDEN_SPEC_SSH \
	"26010000010100000100080000000807060504030201020003000000" \
	"722d3103000100000074040001000000021400080000000000a00000" \
	"00000015000400000088130000160004000000640000001e00080000" \
	"00ffffffffffffffff1f0008000000ffffffffffffffff2000080000" \
	"00ffffffffffffffff210008000000ffffffffffffffff2200080000" \
	"00ffffffffffffffff3c000100000000240004000000ffffffff2800" \
	"0e00000064622e6578616d706c652e6f72672900060000006261636b" \
	"75702a000b00000070675f64756d70206170702b00020000002f6b2c" \
	"0004000000ae0800002d000100000000360001000000003700040000" \
	"002c010000380001000000003f000100000000400001000000004200" \
	"04000000c02709004300080000000000000000000000"
#define GOLDEN_SPEC_HTTP \
	"67010000010100000100080000000807060504030201020003000000" \
	"722d3103000100000074040001000000031400080000000000a00000" \
	"00000015000400000088130000160004000000640000001e00080000" \
	"00ffffffffffffffff1f0008000000ffffffffffffffff2000080000" \
	"00ffffffffffffffff210008000000ffffffffffffffff2200080000" \
	"00ffffffffffffffff3c000100000000240004000000010000002c00" \
	"04000000160000002d00010000000132000b00000068747470733a2f" \
	"2f682f78330004000000504f535434001a0000000600000041636365" \
	"70746170706c69636174696f6e2f6a736f6e34000b00000007000000" \
	"582d456d7074793500070000007b2261223a317d3600010000000137" \
	"00040000001e000000380001000000013900070000002f63612e7065" \
	"6d3a0004000000c80000003a0004000000570200003f000100000000" \
	"40000100000000420004000000c02709004300080000000000000000" \
	"000000"
#define GOLDEN_STARTED \
	"1800000001020000010004000000921000000200080000007b68e5cf" \
	"8b010000"
#define GOLDEN_OUTPUT \
	"10000000010300000100010000000202000300000068690a"
#define GOLDEN_RESULT_FULL \
	"ad000000010400000100010000000202000400000003000000030004" \
	"00000000000000040008000000d20400000000000005000800000000" \
	"080000000000000600080000000a0000000000000007000800000014" \
	"00000000000000080004000000f70100000900080000006400000000" \
	"0000000a000800000005000000000000000b00080000000700000000" \
	"0000000c0001000000010d0004000000626f6f6d0e00080000008403" \
	"0000000000000f000100000000"
#define GOLDEN_RESULT_MIN \
	"a3000000010400000100010000000102000400000000000000030004" \
	"00000000000000040008000000000000000000000005000800000000" \
	"00000000000000060008000000000000000000000007000800000000" \
	"00000000000000080004000000000000000900080000000000000000" \
	"0000000a000800000000000000000000000b00080000000000000000" \
	"0000000c0001000000000e000800000000000000000000000f000100" \
	"000000"
#define GOLDEN_REQ_STATUS \
	"070000000110000001000100000001"
#define GOLDEN_REQ_TRIGGER \
	"1400000001100000010001000000020200070000006e696768746c79"
#define GOLDEN_REQ_CANCEL \
	"1500000001100000010001000000030300080000004d000000000000" \
	"00"
#define GOLDEN_REPLY_SIMPLE \
	"2b00000001110000010001000000000200100000006e6f2073756368" \
	"20776f726b666c6f770300080000000500000000000000"
#define GOLDEN_REPLY_STATUS \
	"a801000001110000010001000000010a0004000000630000000b0005" \
	"000000302e312e300c0008000000e8030000000000000d0008000000" \
	"d0070000000000000e00070000002f6574632f70660f000100000000" \
	"10000400000002000000110004000000080000001200020000007632" \
	"13000d00000069736f6c6174696f6e3a20763228000f0000006e616d" \
	"657370616365733a207965731400810000000100010000006102000e" \
	"0000002f6574632f70662f612e79616d6c03000900000030202a202a" \
	"202a202a0400030000005554430b0003000000626164050008000000" \
	"b80b0000000000000700040000000100000008000400000000000000" \
	"09000800000005000000000000000a00080000000100000000000000" \
	"0c00010000000214003e000000010001000000620700040000000000" \
	"00000800040000000000000009000800000000000000000000000a00" \
	"0800000000000000000000000c000100000000150037000000010008" \
	"0000000c000000000000000200010000006103000400000063726f6e" \
	"040008000000dc050000000000000600040000000100000016000200" \
	"000065311600020000006532"

Test(golden, spec)
{
	struct proto_spec	 s;
	struct pf_buf		 b;
	struct pf_err		 err;

	buf_init(&b, 0);
	spec_shell(&s);
	cr_assert_eq(proto_spec_encode(&s, &b, &err), 0, "%s", err.msg);
	assert_golden(&b, "SPEC_SHELL", GOLDEN_SPEC_SHELL);
	spec_ssh(&s);
	cr_assert_eq(proto_spec_encode(&s, &b, &err), 0, "%s", err.msg);
	assert_golden(&b, "SPEC_SSH", GOLDEN_SPEC_SSH);
	spec_http(&s);
	cr_assert_eq(proto_spec_encode(&s, &b, &err), 0, "%s", err.msg);
	assert_golden(&b, "SPEC_HTTP", GOLDEN_SPEC_HTTP);
	buf_free(&b);
}

static void
result_full(struct proto_result *r)
{
	proto_result_init(r);
	r->status = PROTO_ST_FAILED;
	r->exit_code = 3;
	r->signal = 0;
	r->duration_ms = 1234;
	r->maxrss_kib = 2048;
	r->utime_us = 10;
	r->stime_us = 20;
	r->http_status = 503;
	r->stdout_bytes = 100;
	r->stderr_bytes = 5;
	r->dropped = 7;
	r->truncated = true;
	r->error = "boom";
	r->worker_rss_kib = 900;
}

Test(golden, worker_frames)
{
	struct proto_started	 st;
	struct proto_result	 r;
	struct pf_buf		 b;
	struct pf_err		 err;

	buf_init(&b, 0);
	st.pid = 4242;
	st.time_ms = 1700000000123ULL;
	cr_assert_eq(proto_started_encode(&st, &b, &err), 0, "%s", err.msg);
	assert_golden(&b, "STARTED", GOLDEN_STARTED);
	cr_assert_eq(proto_output_encode(PROTO_STDERR, "hi\n", 3, &b, &err),
	    0, "%s", err.msg);
	assert_golden(&b, "OUTPUT", GOLDEN_OUTPUT);
	result_full(&r);
	cr_assert_eq(proto_result_encode(&r, &b, &err), 0, "%s", err.msg);
	assert_golden(&b, "RESULT_FULL", GOLDEN_RESULT_FULL);
	proto_result_init(&r);
	r.status = PROTO_ST_OK;
	r.exit_code = 0;
	cr_assert_eq(proto_result_encode(&r, &b, &err), 0, "%s", err.msg);
	assert_golden(&b, "RESULT_MIN", GOLDEN_RESULT_MIN);
	buf_free(&b);
}

Test(golden, ctl_request)
{
	struct ctl_request	 q;
	struct pf_buf		 b;
	struct pf_err		 err;

	buf_init(&b, 0);
	ctl_request_init(&q);
	q.cmd = CTL_CMD_STATUS;
	cr_assert_eq(ctl_request_encode(&q, &b, &err), 0, "%s", err.msg);
	assert_golden(&b, "REQ_STATUS", GOLDEN_REQ_STATUS);
	q.cmd = CTL_CMD_TRIGGER;
	q.workflow = "nightly";
	cr_assert_eq(ctl_request_encode(&q, &b, &err), 0, "%s", err.msg);
	assert_golden(&b, "REQ_TRIGGER", GOLDEN_REQ_TRIGGER);
	q.cmd = CTL_CMD_CANCEL;
	q.workflow = NULL;
	q.run_id = 77;
	cr_assert_eq(ctl_request_encode(&q, &b, &err), 0, "%s", err.msg);
	assert_golden(&b, "REQ_CANCEL", GOLDEN_REQ_CANCEL);
	buf_free(&b);
}

static void
reply_status(struct ctl_reply *r)
{
	struct ctl_wf_status	 w;
	struct ctl_run_status	 s;

	ctl_reply_init(r);
	r->ok = 1;
	r->has_status = 1;
	r->pid = 99;
	r->version = pf_strdup("0.1.0");
	r->started_ms = 1000;
	r->now_ms = 2000;
	r->config = pf_strdup("/etc/pf");
	r->stopping = 0;
	r->tasks_running = 2;
	r->max_tasks = 8;
	r->isolation_mode = pf_strdup("v2");
	r->isolation = pf_strdup("isolation: v2");
	r->namespaces = pf_strdup("namespaces: yes");
	memset(&w, 0, sizeof(w));
	w.name = (char *)"a";
	w.file = (char *)"/etc/pf/a.yaml";
	w.schedule = (char *)"0 * * * *";
	w.timezone = (char *)"UTC";
	w.next_fire_ms = 3000;
	w.last_fire_ms = -1;
	w.running = 1;
	w.queued = 0;
	w.fires = 5;
	w.skips = 1;
	w.error = (char *)"bad";
	w.overlap = 2;
	cr_assert_eq(ctl_reply_add_wf(r, &w), 0);
	memset(&w, 0, sizeof(w));
	w.name = (char *)"b";
	w.next_fire_ms = w.last_fire_ms = -1;
	cr_assert_eq(ctl_reply_add_wf(r, &w), 0);
	memset(&s, 0, sizeof(s));
	s.run_id = 12;
	s.workflow = (char *)"a";
	s.trigger = (char *)"cron";
	s.started_ms = 1500;
	s.scheduled_ms = -1;
	s.tasks_running = 1;
	cr_assert_eq(ctl_reply_add_run(r, &s), 0);
	cr_assert_eq(ctl_reply_add_error(r, "e1"), 0);
	cr_assert_eq(ctl_reply_add_error(r, "e2"), 0);
}

Test(golden, ctl_reply)
{
	struct ctl_reply	 r;
	struct pf_buf		 b;
	struct pf_err		 err;

	buf_init(&b, 0);
	ctl_reply_init(&r);
	r.ok = 0;
	r.message = pf_strdup("no such workflow");
	r.run_id = 5;
	cr_assert_eq(ctl_reply_encode(&r, &b, &err), 0, "%s", err.msg);
	assert_golden(&b, "REPLY_SIMPLE", GOLDEN_REPLY_SIMPLE);
	ctl_reply_free(&r);
	reply_status(&r);
	cr_assert_eq(ctl_reply_encode(&r, &b, &err), 0, "%s", err.msg);
	assert_golden(&b, "REPLY_STATUS", GOLDEN_REPLY_STATUS);
	ctl_reply_free(&r);
	buf_free(&b);
}

/*
 * Hostile variants of golden messages: a payload cut short anywhere
 * inside a field, the first field repeated, an unknown tag (skipped),
 * and an oversized string.
 */
Test(golden, hostile_decodes)
{
	struct proto_spec	 s;
	struct proto_result	 r;
	struct ctl_reply	 rep;
	struct ctl_request	 q;
	struct pf_buf		 b;
	struct pf_err		 err;
	struct frame		 f;
	uint8_t			 p[8192], big[CTL_NAME_MAX + 1];
	size_t			 n, cut, first;

	buf_init(&b, 0);
	/* SPEC: the body (one frame here) minus its last byte. */
	spec_shell(&s);
	cr_assert_eq(proto_spec_encode(&s, &b, &err), 0, "%s", err.msg);
	f = wt_frame(&b);
	cr_assert_eq(proto_spec_decode(f.payload, f.len - 1, &s, &err), -1);
	proto_spec_free(&s);
	first = 6 + le32_get(f.payload + 2);
	memcpy(p, f.payload, f.len);
	memcpy(p + f.len, f.payload, first);
	cr_assert_eq(proto_spec_decode(p, f.len + first, &s, &err), -1);
	cr_assert(strstr(err.msg, "more than once") != NULL, "%s", err.msg);
	n = wt_field(p, f.len, 999, "new", 3);
	cr_assert_eq(proto_spec_decode(p, n, &s, &err), 0, "%s", err.msg);
	proto_spec_free(&s);

	/* RESULT: every cut inside the payload fails or decodes less. */
	result_full(&r);
	cr_assert_eq(proto_result_encode(&r, &b, &err), 0, "%s", err.msg);
	f = wt_frame(&b);
	for (cut = 0; cut < f.len; cut++) {
		struct frame	 g = f;

		g.len = cut;
		(void)proto_result_decode(&g, &r, NULL);
		proto_result_free(&r);
	}
	f.len--;
	cr_assert_eq(proto_result_decode(&f, &r, &err), -1);
	proto_result_free(&r);

	/* REQUEST: truncated, duplicated, unknown tag, oversized name. */
	ctl_request_init(&q);
	q.cmd = CTL_CMD_TRIGGER;
	q.workflow = "nightly";
	cr_assert_eq(ctl_request_encode(&q, &b, &err), 0, "%s", err.msg);
	f = wt_frame(&b);
	f.len--;
	cr_assert_eq(ctl_request_decode(&f, &q, &err), -1);
	f.len++;
	memcpy(p, f.payload, f.len);
	n = wt_field(p, f.len, CTL_REQ_WORKFLOW, "x", 1);
	f.payload = p;
	f.len = n;
	cr_assert_eq(ctl_request_decode(&f, &q, &err), -1);
	cr_assert(strstr(err.msg, "more than once") != NULL, "%s", err.msg);
	f.len = wt_field(p, n - 7, 4242, "x", 1);
	cr_assert_eq(ctl_request_decode(&f, &q, &err), 0, "%s", err.msg);
	cr_assert_str_eq(q.workflow, "nightly");
	ctl_request_free(&q);
	memset(big, 'a', sizeof(big));
	f.len = wt_field(p, 7, CTL_REQ_WORKFLOW, big, sizeof(big));
	cr_assert_eq(ctl_request_decode(&f, &q, &err), -1);
	ctl_request_free(&q);

	/* REPLY: cut anywhere, a duplicated ok, an unknown tag. */
	reply_status(&rep);
	cr_assert_eq(ctl_reply_encode(&rep, &b, &err), 0, "%s", err.msg);
	ctl_reply_free(&rep);
	f = wt_frame(&b);
	for (cut = 0; cut < f.len; cut++) {
		(void)ctl_reply_decode(f.payload, cut, &rep, NULL);
		ctl_reply_free(&rep);
	}
	cr_assert_eq(ctl_reply_decode(f.payload, f.len - 1, &rep, &err), -1);
	ctl_reply_free(&rep);
	cr_assert_lt(f.len + 16, sizeof(p));
	memcpy(p, f.payload, f.len);
	n = wt_field(p, f.len, CTL_REP_OK, "\1", 1);
	cr_assert_eq(ctl_reply_decode(p, n, &rep, &err), -1);
	cr_assert(strstr(err.msg, "more than once") != NULL, "%s", err.msg);
	n = wt_field(p, f.len, 300, "later", 5);
	cr_assert_eq(ctl_reply_decode(p, n, &rep, &err), 0, "%s", err.msg);
	cr_assert_eq(rep.nwfs, 2);
	cr_assert_eq(rep.nerrors, 2);
	ctl_reply_free(&rep);
	buf_free(&b);
}

/*
 * The wire structs' sizes, recorded with the golden bytes (LP64).  A
 * field added to or removed from a wire struct fails here first: give
 * it a row in its message table, record golden bytes that carry it,
 * describe it in docs/protocol.md, then update the size.  The model's
 * structs (picoflow/workflow.h) are not among them: a model change
 * reaches the wire only through engine_spec.c's conversion.
 */
Test(golden, wire_struct_sizes)
{
#if defined(__LP64__)
	cr_expect_eq(sizeof(struct proto_ssh), 40);
	cr_expect_eq(sizeof(struct proto_http), 80);
	cr_expect_eq(sizeof(struct proto_spec), 384);
	cr_expect_eq(sizeof(struct proto_started), 16);
	cr_expect_eq(sizeof(struct proto_output), 24);
	cr_expect_eq(sizeof(struct proto_result), 112);
	cr_expect_eq(sizeof(struct ctl_request), 24);
	cr_expect_eq(sizeof(struct ctl_reply), 152);
	cr_expect_eq(sizeof(struct ctl_wf_status), 88);
	cr_expect_eq(sizeof(struct ctl_run_status), 48);
#else
	cr_skip_test("sizes are recorded for LP64");
#endif
}
