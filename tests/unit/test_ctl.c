/*
 * The control channel codec (picoflow/ctl.h): round trips of every
 * message, the exact error for each kind of hostile input, replies that
 * span several frames, allocation failures, and random and mutated bytes
 * through the fuzz entry point.
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
#include "../lib/faultloop.h"
#include "../lib/fuzz_targets.h"
#include "../lib/wire_test.h"

/* Decodes every frame of b in turn (the reader takes one at a time). */
static void
decode_reply_buf(const struct pf_buf *b, struct ctl_reply *rep,
    size_t *nframes)
{
	struct frame_reader	 rd;
	struct frame_asm	 fa;
	struct frame		 f;
	struct pf_err		 err;
	size_t			 off = 0, k;
	int			 r, done = 0;

	*nframes = 0;
	frame_reader_init(&rd, FRAME_PAYLOAD_MAX);
	frame_asm_init(&fa, CTL_REPLY_MAX);
	while (!done) {
		while ((r = frame_reader_next(&rd, &f, &err)) == 1) {
			(*nframes)++;
			cr_assert_eq(f.type, CTL_MSG_REPLY);
			r = frame_asm_add(&fa, &f, &err);
			cr_assert_neq(r, -1, "%s", err.msg);
			if (r == 1) {
				cr_assert_eq(ctl_reply_decode(fa.body.data,
				    fa.body.len, rep, &err), 0, "%s", err.msg);
				done = 1;
				break;
			}
		}
		if (done)
			break;
		cr_assert_neq(r, -1, "%s", err.msg);
		cr_assert_lt(off, b->len, "the reply never completed");
		k = frame_reader_feed(&rd, b->data + off, b->len - off);
		cr_assert_gt(k, 0);
		off += k;
	}
	cr_assert_eq(off, b->len, "bytes after the reply");
	frame_reader_free(&rd);
	frame_asm_free(&fa);
}

/* A REQUEST frame from raw fields, for hostile variants. */
static void
raw_request(struct pf_buf *b, const uint8_t *payload, size_t len)
{
	buf_reset(b);
	cr_assert_eq(frame_append(b, CTL_MSG_REQUEST, 0, payload, len), 0);
}

static size_t
field(uint8_t *p, uint16_t tag, const void *v, uint32_t len)
{
	return wt_field(p, 0, tag, v, len);
}

Test(ctl, request_round_trips)
{
	struct ctl_request	 in, out;
	struct pf_buf		 b;
	struct frame		 f;
	struct pf_err		 err;

	buf_init(&b, 0);
	ctl_request_init(&in);
	in.cmd = CTL_CMD_STATUS;
	cr_assert_eq(ctl_request_encode(&in, &b, &err), 0, "%s", err.msg);
	f = wt_frame(&b);
	cr_assert_eq(f.type, CTL_MSG_REQUEST);
	cr_assert_eq(ctl_request_decode(&f, &out, &err), 0, "%s", err.msg);
	cr_assert_eq(out.cmd, CTL_CMD_STATUS);
	cr_assert_null(out.workflow);
	cr_assert_eq(out.run_id, -1);
	ctl_request_free(&out);

	in.cmd = CTL_CMD_TRIGGER;
	in.workflow = (char *)"nightly-backup";
	cr_assert_eq(ctl_request_encode(&in, &b, &err), 0);
	f = wt_frame(&b);
	cr_assert_eq(ctl_request_decode(&f, &out, &err), 0, "%s", err.msg);
	cr_assert_eq(out.cmd, CTL_CMD_TRIGGER);
	cr_assert_str_eq(out.workflow, "nightly-backup");
	ctl_request_free(&out);

	in.cmd = CTL_CMD_CANCEL;
	in.workflow = NULL;
	in.run_id = INT64_MAX;
	cr_assert_eq(ctl_request_encode(&in, &b, &err), 0);
	f = wt_frame(&b);
	cr_assert_eq(ctl_request_decode(&f, &out, &err), 0, "%s", err.msg);
	cr_assert_eq(out.run_id, INT64_MAX);
	ctl_request_free(&out);

	in.cmd = CTL_CMD_RELOAD;
	in.run_id = -1;
	cr_assert_eq(ctl_request_encode(&in, &b, &err), 0);
	/* STATUS: 8 header + 7 (one u8 field). */
	cr_assert_eq(b.len, 15);
	buf_free(&b);
}

Test(ctl, request_encode_refuses_what_the_decoder_would)
{
	struct ctl_request	 in;
	struct pf_buf		 b;
	struct pf_err		 err;
	char			 longname[CTL_NAME_MAX + 2];

	buf_init(&b, 0);
	ctl_request_init(&in);
	cr_assert_eq(ctl_request_encode(&in, &b, &err), -1);
	cr_assert_str_eq(err.msg, "REQUEST: unknown command 0");
	in.cmd = CTL_CMD_MAX + 1;
	cr_assert_eq(ctl_request_encode(&in, &b, &err), -1);
	in.cmd = CTL_CMD_TRIGGER;
	cr_assert_eq(ctl_request_encode(&in, &b, &err), -1);
	cr_assert_str_eq(err.msg, "REQUEST: trigger needs a workflow name");
	in.workflow = (char *)"";
	cr_assert_eq(ctl_request_encode(&in, &b, &err), -1);
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	in.workflow = longname;
	cr_assert_eq(ctl_request_encode(&in, &b, &err), -1);
	cr_assert_str_eq(err.msg, "REQUEST: field workflow (tag 2): 257 bytes, "
	    "over the limit of 256");
	longname[CTL_NAME_MAX] = '\0';
	cr_assert_eq(ctl_request_encode(&in, &b, &err), 0, "256 is allowed");
	in.cmd = CTL_CMD_CANCEL;
	in.workflow = NULL;
	in.run_id = 0;
	cr_assert_eq(ctl_request_encode(&in, &b, &err), -1);
	cr_assert_str_eq(err.msg, "REQUEST: cancel needs a run id");
	buf_free(&b);
}

Test(ctl, request_decode_rejects_hostile_input)
{
	struct ctl_request	 out;
	struct pf_buf		 b;
	struct frame		 f;
	struct pf_err		 err;
	uint8_t			 p[600], u8 = CTL_CMD_STATUS, nul[3] = "a\0b";
	uint8_t			 big[CTL_REQUEST_MAX + 8];
	uint16_t		 u16 = 1;
	uint64_t		 zero = 0, huge = UINT64_MAX;
	char			 name[CTL_NAME_MAX + 1];
	size_t			 n;

	buf_init(&b, 0);
	/* No fields at all. */
	raw_request(&b, NULL, 0);
	f = wt_frame(&b);
	cr_assert_eq(ctl_request_decode(&f, &out, &err), -1);
	cr_assert_str_eq(err.msg, "REQUEST: missing required field cmd "
	    "(tag 1)");
	/* cmd twice. */
	n = field(p, CTL_REQ_CMD, &u8, 1);
	n += field(p + n, CTL_REQ_CMD, &u8, 1);
	raw_request(&b, p, n);
	f = wt_frame(&b);
	cr_assert_eq(ctl_request_decode(&f, &out, &err), -1);
	cr_assert_str_eq(err.msg, "REQUEST: field cmd (tag 1): appears more "
	    "than once");
	/* cmd of the wrong size. */
	n = field(p, CTL_REQ_CMD, &u16, 2);
	raw_request(&b, p, n);
	f = wt_frame(&b);
	cr_assert_eq(ctl_request_decode(&f, &out, &err), -1);
	cr_assert(strstr(err.msg, "2 bytes") != NULL, "%s", err.msg);
	/* run id 0 and one beyond INT64_MAX. */
	u8 = CTL_CMD_CANCEL;
	n = field(p, CTL_REQ_CMD, &u8, 1);
	n += field(p + n, CTL_REQ_RUN_ID, &zero, 8);
	raw_request(&b, p, n);
	f = wt_frame(&b);
	cr_assert_eq(ctl_request_decode(&f, &out, &err), -1);
	cr_assert_str_eq(err.msg, "REQUEST: run id 0 is invalid");
	n = field(p, CTL_REQ_CMD, &u8, 1);
	n += field(p + n, CTL_REQ_RUN_ID, &huge, 8);
	raw_request(&b, p, n);
	f = wt_frame(&b);
	cr_assert_eq(ctl_request_decode(&f, &out, &err), -1);
	cr_assert_str_eq(err.msg, "REQUEST: field run_id (tag 3): value out of "
	    "range");
	/* A NUL inside the name; a name one byte too long. */
	u8 = CTL_CMD_TRIGGER;
	n = field(p, CTL_REQ_CMD, &u8, 1);
	n += field(p + n, CTL_REQ_WORKFLOW, nul, 3);
	raw_request(&b, p, n);
	f = wt_frame(&b);
	cr_assert_eq(ctl_request_decode(&f, &out, &err), -1);
	cr_assert(strstr(err.msg, "NUL") != NULL, "%s", err.msg);
	memset(name, 'n', sizeof(name));
	n = field(p, CTL_REQ_CMD, &u8, 1);
	n += field(p + n, CTL_REQ_WORKFLOW, name, sizeof(name));
	raw_request(&b, p, n);
	f = wt_frame(&b);
	cr_assert_eq(ctl_request_decode(&f, &out, &err), -1);
	/* A field header running past the payload. */
	n = field(p, CTL_REQ_CMD, &u8, 1);
	le16_put(p + n, CTL_REQ_WORKFLOW);
	le32_put(p + n + 2, 100);
	raw_request(&b, p, n + 6);
	f = wt_frame(&b);
	cr_assert_eq(ctl_request_decode(&f, &out, &err), -1);
	/* Bigger than a request may be. */
	memset(big, 0, sizeof(big));
	n = field(big, CTL_REQ_CMD, &u8, 1);
	raw_request(&b, big, sizeof(big));
	f = wt_frame(&b);
	cr_assert_eq(ctl_request_decode(&f, &out, &err), -1);
	cr_assert(strstr(err.msg, "more than 4096") != NULL, "%s", err.msg);
	/* Unknown tags are skipped. */
	u8 = CTL_CMD_STATUS;
	n = field(p, 77, "future", 6);
	n += field(p + n, CTL_REQ_CMD, &u8, 1);
	raw_request(&b, p, n);
	f = wt_frame(&b);
	cr_assert_eq(ctl_request_decode(&f, &out, &err), 0, "%s", err.msg);
	cr_assert_eq(out.cmd, CTL_CMD_STATUS);
	ctl_request_free(&out);
	/* The wrong message type. */
	f.type = CTL_MSG_REPLY;
	cr_assert_eq(ctl_request_decode(&f, &out, &err), -1);
	cr_assert_str_eq(err.msg, "expected a REQUEST frame, got type 17");
	buf_free(&b);
}

static void
fill_status(struct ctl_reply *r, size_t nwf, size_t pathlen)
{
	struct ctl_wf_status	 w;
	struct ctl_run_status	 s;
	char			 name[64], *path;
	size_t			 i;

	ctl_reply_init(r);
	r->ok = 1;
	r->message = pf_strdup("fine");
	r->has_status = 1;
	r->pid = 4242;
	r->version = pf_strdup("0.1.0");
	r->started_ms = 1700000000000LL;
	r->now_ms = 1700000360000LL;
	r->config = pf_strdup("/etc/picoflow/workflows");
	r->stopping = 1;
	r->tasks_running = 3;
	r->max_tasks = 32;
	r->isolation_mode = pf_strdup("hybrid");
	r->isolation = pf_strdup("isolation: hybrid cgroups: cgroup2 at "
	    "/sys/fs/cgroup/picoflow/1.2.0");
	cr_assert_not_null(path = malloc(pathlen + 1));
	memset(path, 'p', pathlen);
	path[0] = '/';
	path[pathlen] = '\0';
	for (i = 0; i < nwf; i++) {
		memset(&w, 0, sizeof(w));
		snprintf(name, sizeof(name), "wf-%zu", i);
		w.name = name;
		w.file = path;
		w.schedule = i % 2 ? (char *)"*/5 * * * * *" : NULL;
		w.timezone = (char *)"Europe/Berlin";
		w.next_fire_ms = i % 2 ? 1700000400000LL : -1;
		w.last_fire_ms = -1;
		w.running = (uint32_t)i;
		w.queued = 2;
		w.fires = UINT64_MAX;
		w.skips = 7;
		w.error = i == 1 ? (char *)"x.yaml:3:4: error: bad" : NULL;
		w.overlap = (uint8_t)(i % 3);
		cr_assert_eq(ctl_reply_add_wf(r, &w), 0);
	}
	memset(&s, 0, sizeof(s));
	s.run_id = 99;
	s.workflow = (char *)"wf-1";
	s.trigger = (char *)"cron";
	s.started_ms = 1700000300000LL;
	s.scheduled_ms = 1700000300000LL;
	s.tasks_running = 2;
	cr_assert_eq(ctl_reply_add_run(r, &s), 0);
	s.run_id = 100;
	s.trigger = NULL;
	s.scheduled_ms = -1;
	cr_assert_eq(ctl_reply_add_run(r, &s), 0);
	cr_assert_eq(ctl_reply_add_error(r, "something broke"), 0);
	free(path);
}

Test(ctl, status_reply_round_trips)
{
	struct ctl_reply	 in, out;
	struct pf_buf		 b;
	struct pf_err		 err;
	size_t			 nframes;

	fill_status(&in, 3, 20);
	buf_init(&b, 0);
	cr_assert_eq(ctl_reply_encode(&in, &b, &err), 0, "%s", err.msg);
	decode_reply_buf(&b, &out, &nframes);
	cr_assert_eq(nframes, 1);
	cr_assert_eq(out.ok, 1);
	cr_assert_str_eq(out.message, "fine");
	cr_assert_eq(out.run_id, -1);
	cr_assert_eq(out.has_status, 1);
	cr_assert_eq(out.pid, 4242);
	cr_assert_str_eq(out.version, "0.1.0");
	cr_assert_eq(out.started_ms, 1700000000000LL);
	cr_assert_eq(out.now_ms, 1700000360000LL);
	cr_assert_str_eq(out.config, "/etc/picoflow/workflows");
	cr_assert_eq(out.stopping, 1);
	cr_assert_eq(out.tasks_running, 3);
	cr_assert_eq(out.max_tasks, 32);
	cr_assert_str_eq(out.isolation_mode, "hybrid");
	cr_assert_str_eq(out.isolation, "isolation: hybrid cgroups: cgroup2 "
	    "at /sys/fs/cgroup/picoflow/1.2.0");
	cr_assert_eq(out.nwfs, 3);
	cr_assert_str_eq(out.wfs[1].name, "wf-1");
	cr_assert_str_eq(out.wfs[1].schedule, "*/5 * * * * *");
	cr_assert_null(out.wfs[0].schedule);
	cr_assert_str_eq(out.wfs[2].timezone, "Europe/Berlin");
	cr_assert_eq(out.wfs[1].next_fire_ms, 1700000400000LL);
	cr_assert_eq(out.wfs[0].next_fire_ms, -1);
	cr_assert_eq(out.wfs[0].last_fire_ms, -1);
	cr_assert_eq(out.wfs[2].running, 2);
	cr_assert_eq(out.wfs[2].queued, 2);
	cr_assert_eq(out.wfs[2].fires, UINT64_MAX);
	cr_assert_eq(out.wfs[2].skips, 7);
	cr_assert_str_eq(out.wfs[1].error, "x.yaml:3:4: error: bad");
	cr_assert_null(out.wfs[2].error);
	cr_assert_eq(out.wfs[2].overlap, 2);
	cr_assert_eq(out.nruns, 2);
	cr_assert_eq(out.runs[0].run_id, 99);
	cr_assert_str_eq(out.runs[0].trigger, "cron");
	cr_assert_eq(out.runs[0].scheduled_ms, 1700000300000LL);
	cr_assert_eq(out.runs[0].tasks_running, 2);
	cr_assert_null(out.runs[1].trigger);
	cr_assert_eq(out.runs[1].scheduled_ms, -1);
	cr_assert_eq(out.nerrors, 1);
	cr_assert_str_eq(out.errors[0], "something broke");
	ctl_reply_free(&out);
	ctl_reply_free(&in);
	buf_free(&b);
}

/* A reply bigger than a frame goes out in several, and comes back whole. */
Test(ctl, big_reply_spans_frames)
{
	struct ctl_reply	 in, out;
	struct pf_buf		 b;
	struct pf_err		 err;
	size_t			 nframes;

	fill_status(&in, 400, 2000);
	buf_init(&b, 0);
	cr_assert_eq(ctl_reply_encode(&in, &b, &err), 0, "%s", err.msg);
	cr_assert_gt(b.len, 800000);
	decode_reply_buf(&b, &out, &nframes);
	cr_assert_geq(nframes, 13);
	cr_assert_eq(out.nwfs, 400);
	cr_assert_str_eq(out.wfs[399].name, "wf-399");
	cr_assert_eq(strlen(out.wfs[399].file), 2000);
	ctl_reply_free(&out);
	ctl_reply_free(&in);
	buf_free(&b);
}

Test(ctl, simple_reply_and_limits)
{
	struct ctl_reply	 in, out;
	struct pf_buf		 b;
	struct pf_err		 err;
	size_t			 i, nframes;
	char			*big;

	ctl_reply_init(&in);
	in.ok = 0;
	in.message = pf_strdup("no workflow named 'x' is loaded");
	in.run_id = 12;
	buf_init(&b, 0);
	cr_assert_eq(ctl_reply_encode(&in, &b, &err), 0);
	decode_reply_buf(&b, &out, &nframes);
	cr_assert_eq(out.ok, 0);
	cr_assert_eq(out.run_id, 12);
	cr_assert_eq(out.has_status, 0);
	cr_assert_str_eq(out.message, "no workflow named 'x' is loaded");
	ctl_reply_free(&out);

	/* Lists stop at their caps. */
	for (i = 0; i < CTL_ERRORS_MAX; i++)
		cr_assert_eq(ctl_reply_add_error(&in, "e"), 0);
	cr_assert_eq(ctl_reply_add_error(&in, "one too many"), -1);
	cr_assert_eq(in.nerrors, CTL_ERRORS_MAX);

	/* A message over its cap is refused by the encoder. */
	cr_assert_not_null(big = malloc(CTL_TEXT_MAX + 2));
	memset(big, 'm', CTL_TEXT_MAX + 1);
	big[CTL_TEXT_MAX + 1] = '\0';
	pf_free(in.message);
	in.message = pf_strdup(big);
	cr_assert_eq(ctl_reply_encode(&in, &b, &err), -1);
	cr_assert_str_eq(err.msg, "REPLY: field message (tag 2): 4097 bytes, "
	    "over the limit of 4096");
	free(big);
	ctl_reply_free(&in);
	buf_free(&b);
}

Test(ctl, reply_decode_rejects_hostile_input)
{
	struct ctl_reply	 out;
	struct pf_err		 err;
	uint8_t			 p[8192], sub[256], two = 2, one = 1;
	uint32_t		 u32 = 5;
	size_t			 n, m, i;

	/* No ok field. */
	n = field(p, CTL_REP_MESSAGE, "hi", 2);
	cr_assert_eq(ctl_reply_decode(p, n, &out, &err), -1);
	cr_assert_str_eq(err.msg, "REPLY: missing required field ok (tag 1)");
	/* ok = 2. */
	n = field(p, CTL_REP_OK, &two, 1);
	cr_assert_eq(ctl_reply_decode(p, n, &out, &err), -1);
	cr_assert_str_eq(err.msg, "REPLY: field ok (tag 1): a bool must be 0 or "
	    "1, got 2");
	/* pid twice. */
	n = field(p, CTL_REP_OK, &one, 1);
	n += field(p + n, CTL_REP_PID, &u32, 4);
	n += field(p + n, CTL_REP_PID, &u32, 4);
	cr_assert_eq(ctl_reply_decode(p, n, &out, &err), -1);
	cr_assert_str_eq(err.msg, "REPLY: field pid (tag 10): appears more "
	    "than once");
	/* A workflow entry without a name. */
	m = field(sub, CTL_WF_RUNNING, &u32, 4);
	n = field(p, CTL_REP_OK, &one, 1);
	n += field(p + n, CTL_REP_WORKFLOW, sub, (uint32_t)m);
	cr_assert_eq(ctl_reply_decode(p, n, &out, &err), -1);
	cr_assert_str_eq(err.msg, "REPLY workflow: missing required field "
	    "name (tag 1)");
	/* ... with an overlap out of range. */
	m = field(sub, CTL_WF_NAME, "w", 1);
	m += field(sub + m, CTL_WF_OVERLAP, &two, 1);
	sub[m - 1] = 3;
	n = field(p, CTL_REP_OK, &one, 1);
	n += field(p + n, CTL_REP_WORKFLOW, sub, (uint32_t)m);
	cr_assert_eq(ctl_reply_decode(p, n, &out, &err), -1);
	cr_assert_str_eq(err.msg, "REPLY workflow: overlap 3 out of range");
	/* ... whose inner field runs past the entry. */
	m = field(sub, CTL_WF_NAME, "w", 1);
	le16_put(sub + m, CTL_WF_FILE);
	le32_put(sub + m + 2, 50);
	n = field(p, CTL_REP_OK, &one, 1);
	n += field(p + n, CTL_REP_WORKFLOW, sub, (uint32_t)m + 6);
	cr_assert_eq(ctl_reply_decode(p, n, &out, &err), -1);
	/* A run entry without a workflow. */
	{
		uint64_t id = 5;

		m = field(sub, CTL_RUN_ID, &id, 8);
	}
	n = field(p, CTL_REP_OK, &one, 1);
	n += field(p + n, CTL_REP_RUN, sub, (uint32_t)m);
	cr_assert_eq(ctl_reply_decode(p, n, &out, &err), -1);
	cr_assert_str_eq(err.msg, "REPLY run: missing its id or workflow");
	/* More errors than allowed. */
	n = field(p, CTL_REP_OK, &one, 1);
	for (i = 0; i <= CTL_ERRORS_MAX; i++)
		n += field(p + n, CTL_REP_ERROR, "e", 1);
	cr_assert_eq(ctl_reply_decode(p, n, &out, &err), -1);
	cr_assert_str_eq(err.msg, "REPLY: field error (tag 22): more than 32 "
	    "entries");
	/* Exactly the maximum is fine. */
	n = field(p, CTL_REP_OK, &one, 1);
	for (i = 0; i < CTL_ERRORS_MAX; i++)
		n += field(p + n, CTL_REP_ERROR, "e", 1);
	cr_assert_eq(ctl_reply_decode(p, n, &out, &err), 0, "%s", err.msg);
	cr_assert_eq(out.nerrors, CTL_ERRORS_MAX);
	ctl_reply_free(&out);
	/* Unknown tags, nested too, are skipped. */
	m = field(sub, CTL_WF_NAME, "w", 1);
	m += field(sub + m, 60, "zz", 2);
	n = field(p, 99, "future", 6);
	n += field(p + n, CTL_REP_OK, &one, 1);
	n += field(p + n, CTL_REP_WORKFLOW, sub, (uint32_t)m);
	cr_assert_eq(ctl_reply_decode(p, n, &out, &err), 0, "%s", err.msg);
	cr_assert_eq(out.nwfs, 1);
	cr_assert_str_eq(out.wfs[0].name, "w");
	ctl_reply_free(&out);
}

/* Every allocation failing in turn: errors, never leaks or crashes. */
Test(ctl, allocation_failures)
{
	struct ctl_reply	 in, out;
	struct pf_buf		 b;
	struct pf_err		 err;
	struct faultloop	 fl;
	int			 rc;

	fill_status(&in, 5, 30);
	buf_init(&b, 0);
	cr_assert_eq(ctl_reply_encode(&in, &b, &err), 0);
	for (FAULTLOOP_MODES(m)) {
		for (faultloop_init(&fl, m); faultloop_next(&fl); ) {
			rc = ctl_reply_decode(b.data + FRAME_HDR_LEN,
			    b.len - FRAME_HDR_LEN, &out, &err);
			cr_assert(rc == 0 || faultloop_met(&fl));
			ctl_reply_free(&out);
		}
		cr_assert(!fl.exhausted, "decoding never succeeded");
		cr_assert_gt(fl.n, 5, "decoding allocates");
		for (faultloop_init(&fl, m); faultloop_next(&fl); ) {
			struct pf_buf	 e;

			buf_init(&e, 0);
			rc = ctl_reply_encode(&in, &e, &err);
			cr_assert(rc == 0 || faultloop_met(&fl));
			buf_free(&e);
		}
		cr_assert(!fl.exhausted);
	}
	ctl_reply_free(&in);
	buf_free(&b);
}

/* Random bytes and mutations of valid messages: no crash, no leak. */
Test(ctl, fuzz_smoke)
{
	struct ctl_reply	 in;
	struct ctl_request	 rq;
	struct pf_buf		 b, r;
	struct pf_err		 err;
	uint8_t			 buf[4096];
	uint64_t		 x = 0x9e3779b97f4a7c15ULL;
	size_t			 i, j, len;

	fill_status(&in, 4, 40);
	buf_init(&b, 0);
	buf_init(&r, 0);
	cr_assert_eq(ctl_reply_encode(&in, &b, &err), 0);
	ctl_request_init(&rq);
	rq.cmd = CTL_CMD_TRIGGER;
	rq.workflow = (char *)"w";
	cr_assert_eq(ctl_request_encode(&rq, &r, &err), 0);
	cr_assert_eq(ctl_fuzz_one(NULL, 0), 0);
	cr_assert_eq(ctl_fuzz_one(b.data, b.len), 0);
	cr_assert_eq(ctl_fuzz_one(r.data, r.len), 0);
	for (i = 0; i < 3000; i++) {
		const struct pf_buf *src = i % 2 ? &b : &r;

		len = src->len < sizeof(buf) ? src->len : sizeof(buf);
		memcpy(buf, src->data, len);
		for (j = 0; j < 1 + i % 8; j++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			buf[x % len] ^= (uint8_t)(x >> 32);
		}
		if (i % 5 == 0)
			len = (size_t)(x % (len + 1));
		cr_assert_eq(ctl_fuzz_one(buf, len), 0);
	}
	for (i = 0; i < 1000; i++) {
		len = (size_t)(x % 300);
		for (j = 0; j < len; j++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			buf[j] = (uint8_t)x;
		}
		cr_assert_eq(ctl_fuzz_one(buf, len), 0);
	}
	ctl_reply_free(&in);
	buf_free(&b);
	buf_free(&r);
}
