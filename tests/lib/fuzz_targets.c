/*
 * Fuzz entry points (fuzz_targets.h): the workflow loader, cron, policy
 * and model codec, and both wires (worker frames, control channel).
 * Test code only; the production objects carry none of this.
 */
#include <stdlib.h>
#include <string.h>

#include "picoflow/alloc.h"
#include "picoflow/buf.h"
#include "picoflow/ctl.h"
#include "picoflow/cron.h"
#include "picoflow/err.h"
#include "picoflow/frame.h"
#include "picoflow/policy.h"
#include "picoflow/proto.h"
#include "picoflow/tz.h"
#include "picoflow/wfcodec.h"
#include "picoflow/workflow.h"
#include "fuzz_targets.h"

int
fuzz_workflow_one(const uint8_t *data, size_t len)
{
	struct wf_load_opts	 opts;
	struct pf_diags		 d, d2;
	struct pf_workflow	*wf, *wf2;
	struct pf_buf		 out;

	workflow_load_opts_default(&opts);
	pf_diags_init(&d);
	wf = workflow_load_buf("fuzz.yaml", data, len, &opts, &d);
	if (wf != NULL) {
		/* What loads must print, and what prints must load again. */
		buf_init(&out, 0);
		if (workflow_print(wf, &out) == 0 && !out.failed) {
			pf_diags_init(&d2);
			wf2 = workflow_load_buf("printed.yaml", out.data,
			    out.len, &opts, &d2);
			if (wf2 == NULL)
				abort();
			workflow_free(wf2);
			pf_diags_free(&d2);
		}
		buf_free(&out);
	}
	workflow_free(wf);
	pf_diags_free(&d);
	return 0;
}

/* One zone, loaded once: the fuzzer varies expressions, not zone files. */
static struct pf_tz *
fuzz_zone(void)
{
	static struct pf_tz	*tz;
	static int		 tried;
	struct pf_err		 err;

	if (!tried) {
		tried = 1;
		if (tz_load("Europe/Berlin", &tz, &err) == -1)
			tz = NULL;
	}
	return tz;
}

int
fuzz_cron_one(const uint8_t *data, size_t len)
{
	struct cron_expr	 ce;
	struct pf_err		 err;
	char			*s;
	size_t			 off;
	int64_t			 t, next;
	int			 i;

	if (len > 4096)
		return 0;
	if ((s = malloc(len + 1)) == NULL)
		return 0;
	memcpy(s, data, len);
	s[len] = '\0';
	if (cron_parse(s, &ce, &off, &err) == 0) {
		/* Around a DST change in the zone, and in UTC. */
		t = 1774746000;		/* 2026-03-29T01:00:00Z */
		for (i = 0; i < 4; i++) {
			if (cron_next(&ce, fuzz_zone(), t, &next, &err) == -1)
				break;
			if (next <= t)
				abort();	/* must move forward */
			t = next;
		}
		t = 1767225600;
		for (i = 0; i < 4; i++) {
			if (cron_next(&ce, NULL, t, &next, &err) == -1)
				break;
			if (next <= t)
				abort();
			t = next;
		}
	} else if (off > len)
		abort();	/* the error must point inside the input */
	free(s);
	return 0;
}

/* Asks for something of every rule, so a fuzzed policy judges them all. */
static const char fuzz_policy_wf[] =
    "name: judged\n"
    "config: {limits: {memory: 512M, cpu: 2, pids: 64, nofile: 64, "
    "swap: 1M, output: 1M}}\n"
    "tasks:\n"
    "  - {name: a, type: shell, run_as: root, sandbox: {network: true},\n"
    "     config: {command: /usr/bin/../bin/sh}}\n"
    "  - {name: b, type: shell, run_as: \"backup:backup\", "
    "config: {command: /opt/jobs/x}}\n"
    "  - {name: c, type: ssh, config: {host: a.lan, user: u, command: ls, "
    "verify_host_key: false}}\n"
    "  - {name: d, type: http, config: {url: \"http://10.1.2.3:8080/x\", "
    "allow_private_ips: true}}\n"
    "  - {name: e, type: http, config: {url: \"https://[::1]/\"}}\n"
    "  - {name: f, type: http, config: {url: \"https://api.example.com/\"}}"
    "\n";

int
fuzz_policy_one(const uint8_t *data, size_t len)
{
	struct wf_load_opts	 opts;
	struct pf_diags		 d, d2;
	struct pf_policy	*p;
	struct pf_workflow	*wf;
	size_t			 i;
	unsigned		 lines = 1;

	/* Line breaks as YAML counts them: LF, CR, CRLF, NEL, LS, PS. */
	for (i = 0; i < len; i++)
		if (data[i] == '\n' || (data[i] == '\r' &&
		    (i + 1 == len || data[i + 1] != '\n')) ||
		    (data[i] == 0xc2 && i + 1 < len && data[i + 1] == 0x85) ||
		    (data[i] == 0xe2 && i + 2 < len && data[i + 1] == 0x80 &&
		    (data[i + 2] == 0xa8 || data[i + 2] == 0xa9)))
			lines++;
	pf_diags_init(&d);
	p = policy_load_buf("fuzz-policy.yaml", data, len, &d);
	for (i = 0; i < d.n; i++)
		if (d.v[i].line > lines)
			abort();	/* a position outside the file */
	if (p != NULL) {
		workflow_load_opts_default(&opts);
		opts.policy = p;
		opts.run_as = "nobody";
		pf_diags_init(&d2);
		wf = workflow_load_buf("judged.yaml", fuzz_policy_wf,
		    sizeof(fuzz_policy_wf) - 1, &opts, &d2);
		workflow_free(wf);
		pf_diags_free(&d2);
		policy_free(p);
	}
	pf_diags_free(&d);
	return 0;
}

int
fuzz_wfcodec_one(const uint8_t *data, size_t len)
{
	struct pf_workflow	*wf, *wf2;
	struct pf_buf		 enc, p1, p2;
	struct pf_err		 err;

	if ((wf = wfcodec_decode(data, len, NULL, &err)) == NULL)
		return 0;
	buf_init(&enc, 0);
	buf_init(&p1, 0);
	buf_init(&p2, 0);
	if (wfcodec_encode(wf, &enc) == 0) {
		if ((wf2 = wfcodec_decode(enc.data, enc.len, NULL,
		    &err)) == NULL)
			abort();	/* it decoded once: it must again */
		if (workflow_print(wf, &p1) == 0 && workflow_print(wf2,
		    &p2) == 0 && (p1.len != p2.len || (p1.len > 0 &&
		    memcmp(p1.data, p2.data, p1.len) != 0)))
			abort();
		workflow_free(wf2);
	}
	buf_free(&enc);
	buf_free(&p1);
	buf_free(&p2);
	workflow_free(wf);
	return 0;
}

/*
 * Arbitrary bytes through the streaming reader, fed in chunks whose size
 * the first byte picks (so partial headers and payloads get exercised),
 * every frame handed to on_frame with a reassembly buffer of asm_max.
 */
static void
fuzz_stream(const uint8_t *data, size_t len, size_t chunk_mod,
    size_t asm_max, void (*on_frame)(struct frame_asm *,
    const struct frame *))
{
	struct frame_reader	 r;
	struct frame_asm	 a;
	struct frame		 f;
	size_t			 off = 0, chunk, k;
	int			 rc;

	chunk = len == 0 || (data[0] & 0x80) ? len + 1 :
	    1 + (size_t)data[0] % chunk_mod;
	frame_reader_init(&r, FRAME_PAYLOAD_MAX);
	frame_asm_init(&a, asm_max);
	for (;;) {
		while ((rc = frame_reader_next(&r, &f, NULL)) == 1)
			on_frame(&a, &f);
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
	struct frame		 f;
	struct proto_spec	 spec;
	struct proto_result	 res;
	struct proto_started	 st;
	struct proto_output	 o;

	fuzz_stream(data, len, 37, PROTO_SPEC_MAX, fuzz_frame);

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

/* A control frame: what decodes must encode again. */
static void
fuzz_ctl_frame(struct frame_asm *a, const struct frame *f)
{
	struct ctl_request	 req;
	struct ctl_reply	 rep;
	struct pf_buf		 re;

	if (f->type == CTL_MSG_REQUEST) {
		if (ctl_request_decode(f, &req, NULL) == 0) {
			buf_init(&re, 0);
			(void)ctl_request_encode(&req, &re, NULL);
			buf_free(&re);
		}
		ctl_request_free(&req);
	} else if (frame_asm_add(a, f, NULL) == 1) {
		if (ctl_reply_decode(a->body.data, a->body.len, &rep,
		    NULL) == 0) {
			buf_init(&re, 0);
			(void)ctl_reply_encode(&rep, &re, NULL);
			buf_free(&re);
		}
		ctl_reply_free(&rep);
		frame_asm_reset(a);
	}
}

int
ctl_fuzz_one(const uint8_t *data, size_t len)
{
	struct frame		 f;
	struct ctl_request	 req;
	struct ctl_reply	 rep;

	fuzz_stream(data, len, 29, CTL_REPLY_MAX, fuzz_ctl_frame);

	/* The same bytes as one payload of each message. */
	f.flags = 0;
	f.payload = data;
	f.len = len;
	f.type = CTL_MSG_REQUEST;
	(void)ctl_request_decode(&f, &req, NULL);
	ctl_request_free(&req);
	(void)ctl_reply_decode(data, len, &rep, NULL);
	ctl_reply_free(&rep);
	return 0;
}
