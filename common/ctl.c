/*
 * Control channel messages (picoflow/ctl.h): checked encoders and
 * decoders over the frame codec.  Decoders reject a singleton seen
 * twice, a required field missing, a fixed-size field of the wrong size,
 * a string with a NUL or over its cap, a list over its cap and values
 * out of range; unknown tags are skipped.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <stdint.h>
#include <string.h>

#include "picoflow/alloc.h"
#include "picoflow/ctl.h"

/* ---- helpers ------------------------------------------------------------ */

/* A singleton tag may appear once: bit `tag` of *seen (tags < 64). */
static int
once(uint64_t *seen, uint16_t tag, const char *msg, struct pf_err *err)
{
	if (tag < 64) {
		if (*seen & ((uint64_t)1 << tag)) {
			pf_err_set(err, "%s: field tag %u appears more than once",
			    msg, tag);
			return -1;
		}
		*seen |= (uint64_t)1 << tag;
	}
	return 0;
}

static int
get_i64(const struct frame_field *f, int64_t *out, const char *msg,
    struct pf_err *err)
{
	uint64_t	 v;

	if (frame_field_u64(f, &v, err) == -1)
		return -1;
	if (v > INT64_MAX) {
		pf_err_set(err, "%s: field tag %u: value out of range", msg,
		    f->tag);
		return -1;
	}
	*out = (int64_t)v;
	return 0;
}

static int
get_str(const struct frame_field *f, size_t max, char **out,
    struct pf_err *err)
{
	char	*s;

	if (frame_field_str(f, max, &s, err) == -1)
		return -1;
	pf_free(*out);
	*out = s;
	return 0;
}

static int
get_bool(const struct frame_field *f, int *out, const char *msg,
    struct pf_err *err)
{
	uint8_t	 v;

	if (frame_field_u8(f, &v, err) == -1)
		return -1;
	if (v > 1) {
		pf_err_set(err, "%s: field tag %u: %u is not 0 or 1", msg,
		    f->tag, v);
		return -1;
	}
	*out = v;
	return 0;
}

static int
put_opt_str(struct pf_buf *b, uint16_t tag, const char *s, size_t max,
    const char *what, struct pf_err *err)
{
	if (s == NULL)
		return 0;
	if (strlen(s) > max) {
		pf_err_set(err, "%s is longer than %zu bytes", what, max);
		return -1;
	}
	return frame_add_str(b, tag, s);
}

static int
put_opt_time(struct pf_buf *b, uint16_t tag, int64_t v)
{
	if (v < 0)
		return 0;
	return frame_add_u64(b, tag, (uint64_t)v);
}

/* ---- request ------------------------------------------------------------ */

void
ctl_request_init(struct ctl_request *r)
{
	memset(r, 0, sizeof(*r));
	r->run_id = -1;
}

void
ctl_request_free(struct ctl_request *r)
{
	pf_free(r->workflow);
	ctl_request_init(r);
}

static int
request_check(const struct ctl_request *r, struct pf_err *err)
{
	if (r->cmd < 1 || r->cmd > CTL_CMD_MAX) {
		pf_err_set(err, "REQUEST: unknown command %u", r->cmd);
		return -1;
	}
	if (r->cmd == CTL_CMD_TRIGGER && (r->workflow == NULL ||
	    *r->workflow == '\0')) {
		pf_err_set(err, "REQUEST: trigger needs a workflow name");
		return -1;
	}
	if (r->cmd == CTL_CMD_CANCEL && r->run_id < 1) {
		pf_err_set(err, "REQUEST: cancel needs a run id");
		return -1;
	}
	return 0;
}

int
ctl_request_encode(const struct ctl_request *r, struct pf_buf *out,
    struct pf_err *err)
{
	if (request_check(r, err) == -1)
		return -1;
	if (r->workflow != NULL && strlen(r->workflow) > CTL_NAME_MAX) {
		pf_err_set(err, "REQUEST: workflow name longer than %d bytes",
		    CTL_NAME_MAX);
		return -1;
	}
	if (frame_begin(out, CTL_MSG_REQUEST) == -1 ||
	    frame_add_u8(out, CTL_REQ_CMD, r->cmd) == -1 ||
	    (r->workflow != NULL &&
	    frame_add_str(out, CTL_REQ_WORKFLOW, r->workflow) == -1) ||
	    (r->run_id > 0 &&
	    frame_add_u64(out, CTL_REQ_RUN_ID, (uint64_t)r->run_id) == -1) ||
	    frame_end(out) == -1) {
		pf_err_set(err, "REQUEST: cannot encode (out of memory)");
		return -1;
	}
	return 0;
}

int
ctl_request_decode(const struct frame *f, struct ctl_request *r,
    struct pf_err *err)
{
	struct frame_iter	 it;
	struct frame_field	 fld;
	uint64_t		 seen = 0;
	int			 rc;

	ctl_request_init(r);
	if (f->type != CTL_MSG_REQUEST) {
		pf_err_set(err, "expected a REQUEST frame, got type %u",
		    f->type);
		return -1;
	}
	if (f->len > CTL_REQUEST_MAX) {
		pf_err_set(err, "REQUEST: %zu bytes, more than %d", f->len,
		    CTL_REQUEST_MAX);
		return -1;
	}
	frame_iter_init(&it, f->payload, f->len, 64);
	while ((rc = frame_iter_next(&it, &fld, err)) == 1) {
		switch (fld.tag) {
		case CTL_REQ_CMD:
			if (once(&seen, fld.tag, "REQUEST", err) == -1 ||
			    frame_field_u8(&fld, &r->cmd, err) == -1)
				goto fail;
			break;
		case CTL_REQ_WORKFLOW:
			if (once(&seen, fld.tag, "REQUEST", err) == -1 ||
			    get_str(&fld, CTL_NAME_MAX, &r->workflow, err) == -1)
				goto fail;
			break;
		case CTL_REQ_RUN_ID:
			if (once(&seen, fld.tag, "REQUEST", err) == -1 ||
			    get_i64(&fld, &r->run_id, "REQUEST", err) == -1)
				goto fail;
			if (r->run_id < 1) {
				pf_err_set(err, "REQUEST: run id 0 is invalid");
				goto fail;
			}
			break;
		default:
			break;		/* a newer client's field */
		}
	}
	if (rc == -1)
		goto fail;
	if (!(seen & ((uint64_t)1 << CTL_REQ_CMD))) {
		pf_err_set(err, "REQUEST: missing required field cmd (tag %d)",
		    CTL_REQ_CMD);
		goto fail;
	}
	if (request_check(r, err) == -1)
		goto fail;
	return 0;
fail:
	ctl_request_free(r);
	return -1;
}

/* ---- reply -------------------------------------------------------------- */

static void
wf_status_clear(struct ctl_wf_status *w)
{
	pf_free(w->name);
	pf_free(w->file);
	pf_free(w->schedule);
	pf_free(w->timezone);
	pf_free(w->error);
	memset(w, 0, sizeof(*w));
	w->next_fire_ms = w->last_fire_ms = -1;
}

static void
run_status_clear(struct ctl_run_status *r)
{
	pf_free(r->workflow);
	pf_free(r->trigger);
	memset(r, 0, sizeof(*r));
	r->run_id = -1;
	r->started_ms = r->scheduled_ms = -1;
}

void
ctl_reply_init(struct ctl_reply *r)
{
	memset(r, 0, sizeof(*r));
	r->run_id = -1;
	r->started_ms = r->now_ms = -1;
}

void
ctl_reply_free(struct ctl_reply *r)
{
	size_t	 i;

	pf_free(r->message);
	pf_free(r->version);
	pf_free(r->config);
	pf_free(r->isolation_mode);
	pf_free(r->isolation);
	pf_free(r->namespaces);
	for (i = 0; i < r->nwfs; i++)
		wf_status_clear(&r->wfs[i]);
	pf_free(r->wfs);
	for (i = 0; i < r->nruns; i++)
		run_status_clear(&r->runs[i]);
	pf_free(r->runs);
	pf_strv_free(r->errors, r->nerrors);
	ctl_reply_init(r);
}

/* Grows an array of n elements by one; -1 at max or on ENOMEM. */
static void *
grow1(void *v, size_t n, size_t sz, size_t max)
{
	if (n >= max)
		return NULL;
	return pf_reallocarray(v, n + 1, sz);
}

static int
dup_opt(char **dst, const char *src)
{
	*dst = NULL;
	if (src == NULL)
		return 0;
	return (*dst = pf_strdup(src)) == NULL ? -1 : 0;
}

int
ctl_reply_add_wf(struct ctl_reply *r, const struct ctl_wf_status *w)
{
	struct ctl_wf_status	*v, *n;

	if ((v = grow1(r->wfs, r->nwfs, sizeof(*v), CTL_LIST_MAX)) == NULL)
		return -1;
	r->wfs = v;
	n = &v[r->nwfs];
	*n = *w;
	n->name = n->file = n->schedule = n->timezone = n->error = NULL;
	if (dup_opt(&n->name, w->name) == -1 ||
	    dup_opt(&n->file, w->file) == -1 ||
	    dup_opt(&n->schedule, w->schedule) == -1 ||
	    dup_opt(&n->timezone, w->timezone) == -1 ||
	    dup_opt(&n->error, w->error) == -1) {
		wf_status_clear(n);
		return -1;
	}
	r->nwfs++;
	return 0;
}

int
ctl_reply_add_run(struct ctl_reply *r, const struct ctl_run_status *s)
{
	struct ctl_run_status	*v, *n;

	if ((v = grow1(r->runs, r->nruns, sizeof(*v), CTL_LIST_MAX)) == NULL)
		return -1;
	r->runs = v;
	n = &v[r->nruns];
	*n = *s;
	n->workflow = n->trigger = NULL;
	if (dup_opt(&n->workflow, s->workflow) == -1 ||
	    dup_opt(&n->trigger, s->trigger) == -1) {
		run_status_clear(n);
		return -1;
	}
	r->nruns++;
	return 0;
}

int
ctl_reply_add_error(struct ctl_reply *r, const char *msg)
{
	char	**v;

	if ((v = grow1(r->errors, r->nerrors, sizeof(*v), CTL_ERRORS_MAX)) ==
	    NULL)
		return -1;
	r->errors = v;
	if ((v[r->nerrors] = pf_strdup(msg)) == NULL)
		return -1;
	r->nerrors++;
	return 0;
}

static int
encode_wf(const struct ctl_wf_status *w, struct pf_buf *b, struct pf_err *err)
{
	buf_reset(b);
	if (w->name == NULL || *w->name == '\0') {
		pf_err_set(err, "REPLY: a workflow without a name");
		return -1;
	}
	if (put_opt_str(b, CTL_WF_NAME, w->name, CTL_NAME_MAX,
	    "workflow name", err) == -1 ||
	    put_opt_str(b, CTL_WF_FILE, w->file, CTL_TEXT_MAX, "file",
	    err) == -1 ||
	    put_opt_str(b, CTL_WF_SCHEDULE, w->schedule, CTL_TEXT_MAX,
	    "schedule", err) == -1 ||
	    put_opt_str(b, CTL_WF_TIMEZONE, w->timezone, CTL_NAME_MAX,
	    "timezone", err) == -1 ||
	    put_opt_str(b, CTL_WF_ERROR, w->error, CTL_TEXT_MAX, "error",
	    err) == -1)
		return -1;
	if (w->overlap > 2) {
		pf_err_set(err, "REPLY: overlap %u out of range", w->overlap);
		return -1;
	}
	if (put_opt_time(b, CTL_WF_NEXT_FIRE_MS, w->next_fire_ms) == -1 ||
	    put_opt_time(b, CTL_WF_LAST_FIRE_MS, w->last_fire_ms) == -1 ||
	    frame_add_u32(b, CTL_WF_RUNNING, w->running) == -1 ||
	    frame_add_u32(b, CTL_WF_QUEUED, w->queued) == -1 ||
	    frame_add_u64(b, CTL_WF_FIRES, w->fires) == -1 ||
	    frame_add_u64(b, CTL_WF_SKIPS, w->skips) == -1 ||
	    frame_add_u8(b, CTL_WF_OVERLAP, w->overlap) == -1) {
		pf_err_set(err, "REPLY: cannot encode (out of memory)");
		return -1;
	}
	return 0;
}

static int
encode_run(const struct ctl_run_status *s, struct pf_buf *b,
    struct pf_err *err)
{
	buf_reset(b);
	if (s->run_id < 1 || s->workflow == NULL) {
		pf_err_set(err, "REPLY: a run without an id or workflow");
		return -1;
	}
	if (frame_add_u64(b, CTL_RUN_ID, (uint64_t)s->run_id) == -1 ||
	    put_opt_str(b, CTL_RUN_WORKFLOW, s->workflow, CTL_NAME_MAX,
	    "workflow name", err) == -1 ||
	    put_opt_str(b, CTL_RUN_TRIGGER, s->trigger, CTL_NAME_MAX,
	    "trigger", err) == -1 ||
	    put_opt_time(b, CTL_RUN_STARTED_MS, s->started_ms) == -1 ||
	    put_opt_time(b, CTL_RUN_SCHEDULED_MS, s->scheduled_ms) == -1 ||
	    frame_add_u32(b, CTL_RUN_TASKS_RUNNING, s->tasks_running) == -1) {
		if (err != NULL && err->msg[0] == '\0')
			pf_err_set(err, "REPLY: cannot encode (out of memory)");
		return -1;
	}
	return 0;
}

int
ctl_reply_encode(const struct ctl_reply *r, struct pf_buf *out,
    struct pf_err *err)
{
	struct pf_buf	 body, sub;
	size_t		 i;
	int		 rc = -1;

	if (err != NULL)
		err->msg[0] = '\0';
	buf_reset(out);
	buf_init(&body, CTL_REPLY_MAX);
	buf_init(&sub, FRAME_PAYLOAD_MAX);
	if (r->nwfs > CTL_LIST_MAX || r->nruns > CTL_LIST_MAX ||
	    r->nerrors > CTL_ERRORS_MAX) {
		pf_err_set(err, "REPLY: too many entries");
		goto out;
	}
	if (frame_add_u8(&body, CTL_REP_OK, r->ok ? 1 : 0) == -1 ||
	    put_opt_str(&body, CTL_REP_MESSAGE, r->message, CTL_TEXT_MAX,
	    "message", err) == -1 ||
	    (r->run_id > 0 &&
	    frame_add_u64(&body, CTL_REP_RUN_ID, (uint64_t)r->run_id) == -1))
		goto fail;
	if (r->has_status) {
		if (frame_add_u32(&body, CTL_REP_PID, r->pid) == -1 ||
		    put_opt_str(&body, CTL_REP_VERSION, r->version,
		    CTL_NAME_MAX, "version", err) == -1 ||
		    put_opt_time(&body, CTL_REP_STARTED_MS, r->started_ms) ==
		    -1 ||
		    put_opt_time(&body, CTL_REP_NOW_MS, r->now_ms) == -1 ||
		    put_opt_str(&body, CTL_REP_CONFIG, r->config,
		    CTL_TEXT_MAX, "config path", err) == -1 ||
		    frame_add_u8(&body, CTL_REP_STOPPING, r->stopping ? 1 :
		    0) == -1 ||
		    frame_add_u32(&body, CTL_REP_TASKS_RUNNING,
		    r->tasks_running) == -1 ||
		    frame_add_u32(&body, CTL_REP_MAX_TASKS, r->max_tasks) ==
		    -1 ||
		    put_opt_str(&body, CTL_REP_ISOLATION_MODE,
		    r->isolation_mode, CTL_NAME_MAX, "isolation mode", err) ==
		    -1 ||
		    put_opt_str(&body, CTL_REP_ISOLATION, r->isolation,
		    CTL_TEXT_MAX, "isolation", err) == -1 ||
		    put_opt_str(&body, CTL_REP_NAMESPACES, r->namespaces,
		    CTL_TEXT_MAX, "namespaces", err) == -1)
			goto fail;
	}
	for (i = 0; i < r->nwfs; i++)
		if (encode_wf(&r->wfs[i], &sub, err) == -1 ||
		    frame_add_bytes(&body, CTL_REP_WORKFLOW, sub.data,
		    sub.len) == -1)
			goto fail;
	for (i = 0; i < r->nruns; i++)
		if (encode_run(&r->runs[i], &sub, err) == -1 ||
		    frame_add_bytes(&body, CTL_REP_RUN, sub.data, sub.len) ==
		    -1)
			goto fail;
	for (i = 0; i < r->nerrors; i++)
		if (put_opt_str(&body, CTL_REP_ERROR, r->errors[i],
		    CTL_TEXT_MAX, "error", err) == -1)
			goto fail;
	if (body.failed)
		goto fail;
	if (frame_msg_encode(out, CTL_MSG_REPLY, body.data, body.len) == -1) {
		pf_err_set(err, "REPLY: cannot encode (out of memory)");
		goto out;
	}
	rc = 0;
	goto out;
fail:
	if (err != NULL && err->msg[0] == '\0')
		pf_err_set(err, "REPLY: more than %d bytes, or out of memory",
		    CTL_REPLY_MAX);
out:
	buf_free(&body);
	buf_free(&sub);
	return rc;
}

static int
decode_wf(const struct frame_field *outer, struct ctl_wf_status *w,
    struct pf_err *err)
{
	struct frame_iter	 it;
	struct frame_field	 f;
	uint64_t		 seen = 0;
	int			 rc;
	const char		*m = "REPLY workflow";

	frame_iter_init(&it, outer->data, outer->len, 64);
	while ((rc = frame_iter_next(&it, &f, err)) == 1) {
		if (f.tag >= CTL_WF_NAME && f.tag <= CTL_WF_OVERLAP &&
		    once(&seen, f.tag, m, err) == -1)
			return -1;
		switch (f.tag) {
		case CTL_WF_NAME:
			rc = get_str(&f, CTL_NAME_MAX, &w->name, err);
			break;
		case CTL_WF_FILE:
			rc = get_str(&f, CTL_TEXT_MAX, &w->file, err);
			break;
		case CTL_WF_SCHEDULE:
			rc = get_str(&f, CTL_TEXT_MAX, &w->schedule, err);
			break;
		case CTL_WF_TIMEZONE:
			rc = get_str(&f, CTL_NAME_MAX, &w->timezone, err);
			break;
		case CTL_WF_ERROR:
			rc = get_str(&f, CTL_TEXT_MAX, &w->error, err);
			break;
		case CTL_WF_NEXT_FIRE_MS:
			rc = get_i64(&f, &w->next_fire_ms, m, err);
			break;
		case CTL_WF_LAST_FIRE_MS:
			rc = get_i64(&f, &w->last_fire_ms, m, err);
			break;
		case CTL_WF_RUNNING:
			rc = frame_field_u32(&f, &w->running, err);
			break;
		case CTL_WF_QUEUED:
			rc = frame_field_u32(&f, &w->queued, err);
			break;
		case CTL_WF_FIRES:
			rc = frame_field_u64(&f, &w->fires, err);
			break;
		case CTL_WF_SKIPS:
			rc = frame_field_u64(&f, &w->skips, err);
			break;
		case CTL_WF_OVERLAP:
			rc = frame_field_u8(&f, &w->overlap, err);
			if (rc == 0 && w->overlap > 2) {
				pf_err_set(err, "%s: overlap %u out of range",
				    m, w->overlap);
				rc = -1;
			}
			break;
		default:
			rc = 0;
			break;
		}
		if (rc == -1)
			return -1;
	}
	if (rc == -1)
		return -1;
	if (w->name == NULL || *w->name == '\0') {
		pf_err_set(err, "%s: missing required field name (tag %d)", m,
		    CTL_WF_NAME);
		return -1;
	}
	return 0;
}

static int
decode_run(const struct frame_field *outer, struct ctl_run_status *s,
    struct pf_err *err)
{
	struct frame_iter	 it;
	struct frame_field	 f;
	uint64_t		 seen = 0;
	int			 rc;
	const char		*m = "REPLY run";

	frame_iter_init(&it, outer->data, outer->len, 64);
	while ((rc = frame_iter_next(&it, &f, err)) == 1) {
		if (f.tag >= CTL_RUN_ID && f.tag <= CTL_RUN_TASKS_RUNNING &&
		    once(&seen, f.tag, m, err) == -1)
			return -1;
		switch (f.tag) {
		case CTL_RUN_ID:
			rc = get_i64(&f, &s->run_id, m, err);
			break;
		case CTL_RUN_WORKFLOW:
			rc = get_str(&f, CTL_NAME_MAX, &s->workflow, err);
			break;
		case CTL_RUN_TRIGGER:
			rc = get_str(&f, CTL_NAME_MAX, &s->trigger, err);
			break;
		case CTL_RUN_STARTED_MS:
			rc = get_i64(&f, &s->started_ms, m, err);
			break;
		case CTL_RUN_SCHEDULED_MS:
			rc = get_i64(&f, &s->scheduled_ms, m, err);
			break;
		case CTL_RUN_TASKS_RUNNING:
			rc = frame_field_u32(&f, &s->tasks_running, err);
			break;
		default:
			rc = 0;
			break;
		}
		if (rc == -1)
			return -1;
	}
	if (rc == -1)
		return -1;
	if (s->run_id < 1 || s->workflow == NULL) {
		pf_err_set(err, "%s: missing its id or workflow", m);
		return -1;
	}
	return 0;
}

int
ctl_reply_decode(const void *body, size_t len, struct ctl_reply *r,
    struct pf_err *err)
{
	struct frame_iter	 it;
	struct frame_field	 f;
	uint64_t		 seen = 0;
	int			 rc, ok = 0;
	const char		*m = "REPLY";

	ctl_reply_init(r);
	if (len > CTL_REPLY_MAX) {
		pf_err_set(err, "REPLY: %zu bytes, more than %d", len,
		    CTL_REPLY_MAX);
		return -1;
	}
	frame_iter_init(&it, body, len, CTL_REPLY_FIELDS_MAX);
	while ((rc = frame_iter_next(&it, &f, err)) == 1) {
		if (((f.tag >= CTL_REP_OK && f.tag <= CTL_REP_RUN_ID) ||
		    (f.tag >= CTL_REP_PID && f.tag <= CTL_REP_MAX_TASKS)) &&
		    once(&seen, f.tag, m, err) == -1)
			goto fail;
		if (f.tag >= CTL_REP_PID && f.tag <= CTL_REP_MAX_TASKS)
			r->has_status = 1;
		switch (f.tag) {
		case CTL_REP_OK:
			rc = get_bool(&f, &ok, m, err);
			break;
		case CTL_REP_MESSAGE:
			rc = get_str(&f, CTL_TEXT_MAX, &r->message, err);
			break;
		case CTL_REP_RUN_ID:
			rc = get_i64(&f, &r->run_id, m, err);
			break;
		case CTL_REP_PID:
			rc = frame_field_u32(&f, &r->pid, err);
			break;
		case CTL_REP_VERSION:
			rc = get_str(&f, CTL_NAME_MAX, &r->version, err);
			break;
		case CTL_REP_STARTED_MS:
			rc = get_i64(&f, &r->started_ms, m, err);
			break;
		case CTL_REP_NOW_MS:
			rc = get_i64(&f, &r->now_ms, m, err);
			break;
		case CTL_REP_CONFIG:
			rc = get_str(&f, CTL_TEXT_MAX, &r->config, err);
			break;
		case CTL_REP_ISOLATION_MODE:
			rc = get_str(&f, CTL_NAME_MAX, &r->isolation_mode,
			    err);
			break;
		case CTL_REP_ISOLATION:
			rc = get_str(&f, CTL_TEXT_MAX, &r->isolation, err);
			break;
		case CTL_REP_NAMESPACES:
			rc = get_str(&f, CTL_TEXT_MAX, &r->namespaces, err);
			break;
		case CTL_REP_STOPPING:
			rc = get_bool(&f, &r->stopping, m, err);
			break;
		case CTL_REP_TASKS_RUNNING:
			rc = frame_field_u32(&f, &r->tasks_running, err);
			break;
		case CTL_REP_MAX_TASKS:
			rc = frame_field_u32(&f, &r->max_tasks, err);
			break;
		case CTL_REP_WORKFLOW: {
			struct ctl_wf_status	*v;

			if ((v = grow1(r->wfs, r->nwfs, sizeof(*v),
			    CTL_LIST_MAX)) == NULL) {
				pf_err_set(err, "%s: more than %d workflows, "
				    "or out of memory", m, CTL_LIST_MAX);
				goto fail;
			}
			r->wfs = v;
			memset(&v[r->nwfs], 0, sizeof(*v));
			v[r->nwfs].next_fire_ms = v[r->nwfs].last_fire_ms = -1;
			r->nwfs++;
			rc = decode_wf(&f, &v[r->nwfs - 1], err);
			break;
		}
		case CTL_REP_RUN: {
			struct ctl_run_status	*v;

			if ((v = grow1(r->runs, r->nruns, sizeof(*v),
			    CTL_LIST_MAX)) == NULL) {
				pf_err_set(err, "%s: more than %d runs, or out "
				    "of memory", m, CTL_LIST_MAX);
				goto fail;
			}
			r->runs = v;
			memset(&v[r->nruns], 0, sizeof(*v));
			v[r->nruns].run_id = -1;
			v[r->nruns].started_ms = v[r->nruns].scheduled_ms = -1;
			r->nruns++;
			rc = decode_run(&f, &v[r->nruns - 1], err);
			break;
		}
		case CTL_REP_ERROR: {
			char	**v, *s = NULL;

			if (get_str(&f, CTL_TEXT_MAX, &s, err) == -1)
				goto fail;
			if ((v = grow1(r->errors, r->nerrors, sizeof(*v),
			    CTL_ERRORS_MAX)) == NULL) {
				pf_free(s);
				pf_err_set(err, "%s: more than %d errors, or "
				    "out of memory", m, CTL_ERRORS_MAX);
				goto fail;
			}
			r->errors = v;
			v[r->nerrors++] = s;
			rc = 0;
			break;
		}
		default:
			rc = 0;
			break;
		}
		if (rc == -1)
			goto fail;
	}
	if (rc == -1)
		goto fail;
	if (!(seen & ((uint64_t)1 << CTL_REP_OK))) {
		pf_err_set(err, "REPLY: missing required field ok (tag %d)",
		    CTL_REP_OK);
		goto fail;
	}
	r->ok = ok;
	return 0;
fail:
	ctl_reply_free(r);
	return -1;
}

/* ---- the socket ---------------------------------------------------------- */

/* Both ends name the socket the same way, and refuse the same paths. */
int
ctl_sock_addr(const char *path, struct sockaddr_un *sa, struct pf_err *err)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path)) {
		pf_err_set(err, "control socket path %s is longer than %zu "
		    "bytes; use a shorter --state-dir", path,
		    sizeof(sa->sun_path) - 1);
		return -1;
	}
	memcpy(sa->sun_path, path, strlen(path) + 1);
	return 0;
}

const char *
ctl_cmd_name(uint8_t cmd)
{
	switch (cmd) {
	case CTL_CMD_STATUS:
		return "status";
	case CTL_CMD_TRIGGER:
		return "trigger";
	case CTL_CMD_CANCEL:
		return "cancel";
	case CTL_CMD_RELOAD:
		return "reload";
	default:
		return "unknown";
	}
}

int
ctl_fuzz_one(const uint8_t *data, size_t len)
{
	struct frame_reader	 rd;
	struct frame_asm	 a;
	struct frame		 f;
	struct ctl_request	 req;
	struct ctl_reply	 rep;
	struct pf_buf		 re;
	size_t			 off = 0, chunk, k;
	int			 rc;

	chunk = len == 0 || (data[0] & 0x80) ? len + 1 :
	    1 + (size_t)data[0] % 29;
	frame_reader_init(&rd, FRAME_PAYLOAD_MAX);
	frame_asm_init(&a, CTL_REPLY_MAX);
	for (;;) {
		while ((rc = frame_reader_next(&rd, &f, NULL)) == 1) {
			if (f.type == CTL_MSG_REQUEST) {
				if (ctl_request_decode(&f, &req, NULL) == 0) {
					/* What decodes must encode again. */
					buf_init(&re, 0);
					(void)ctl_request_encode(&req, &re,
					    NULL);
					buf_free(&re);
				}
				ctl_request_free(&req);
			} else if (frame_asm_add(&a, &f, NULL) == 1) {
				if (ctl_reply_decode(a.body.data, a.body.len,
				    &rep, NULL) == 0) {
					buf_init(&re, 0);
					(void)ctl_reply_encode(&rep, &re, NULL);
					buf_free(&re);
				}
				ctl_reply_free(&rep);
				frame_asm_reset(&a);
			}
		}
		if (rc == -1 || rd.eof)
			break;
		if (off == len) {
			frame_reader_feed_eof(&rd);
			continue;
		}
		k = frame_reader_feed(&rd, data + off,
		    len - off < chunk ? len - off : chunk);
		if (k == 0)
			break;
		off += k;
	}
	frame_reader_free(&rd);
	frame_asm_free(&a);

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
