/*
 * Control channel messages (picoflow/ctl.h): one table per message, one
 * row per field, walked by the shared codec (common/tlv.c) that the
 * worker frames use too; the checks that depend on the message; the
 * reply's list builders and the socket's address.  Decoders reject a
 * singleton seen twice, a required field missing, a fixed-size field of
 * the wrong size, a string with a NUL or over its cap, a list over its
 * cap and values out of range; unknown tags are skipped.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "picoflow/alloc.h"
#include "picoflow/ctl.h"
#include "picoflow/tlv.h"

/* ---- the tables ------------------------------------------------------- */

static int	 wf_check(const void *, struct pf_err *);
static int	 run_check(const void *, struct pf_err *);
static void	 wf_init(void *);
static void	 run_init(void *);

#define QF(tag, kind, fl, name, m, max) \
	TLV_F(struct ctl_request, tag, kind, fl, name, m, max)

static const struct tlv_field request_fields[] = {
	QF(CTL_REQ_CMD, TLV_U8, TLV_REQ, "cmd", cmd, 0),
	QF(CTL_REQ_WORKFLOW, TLV_STR, 0, "workflow", workflow, CTL_NAME_MAX),
	QF(CTL_REQ_RUN_ID, TLV_TIME, TLV_POS, "run_id", run_id, 0),
};

/* In the order they are sent (the tags are not). */
#define WF(tag, kind, fl, name, m, max) \
	TLV_F(struct ctl_wf_status, tag, kind, fl, name, m, max)

static const struct tlv_field wf_fields[] = {
	WF(CTL_WF_NAME, TLV_STR, TLV_REQ, "name", name, CTL_NAME_MAX),
	WF(CTL_WF_FILE, TLV_STR, 0, "file", file, CTL_TEXT_MAX),
	WF(CTL_WF_SCHEDULE, TLV_STR, 0, "schedule", schedule, CTL_TEXT_MAX),
	WF(CTL_WF_TIMEZONE, TLV_STR, 0, "timezone", timezone, CTL_NAME_MAX),
	WF(CTL_WF_ERROR, TLV_STR, 0, "error", error, CTL_TEXT_MAX),
	WF(CTL_WF_NEXT_FIRE_MS, TLV_TIME, 0, "next_fire_ms", next_fire_ms, 0),
	WF(CTL_WF_LAST_FIRE_MS, TLV_TIME, 0, "last_fire_ms", last_fire_ms, 0),
	WF(CTL_WF_RUNNING, TLV_U32, 0, "running", running, 0),
	WF(CTL_WF_QUEUED, TLV_U32, 0, "queued", queued, 0),
	WF(CTL_WF_FIRES, TLV_U64, 0, "fires", fires, 0),
	WF(CTL_WF_SKIPS, TLV_U64, 0, "skips", skips, 0),
	WF(CTL_WF_OVERLAP, TLV_U8, 0, "overlap", overlap, 0),
};

#define RN(tag, kind, fl, name, m, max) \
	TLV_F(struct ctl_run_status, tag, kind, fl, name, m, max)

static const struct tlv_field run_fields[] = {
	RN(CTL_RUN_ID, TLV_TIME, 0, "id", run_id, 0),
	RN(CTL_RUN_WORKFLOW, TLV_STR, 0, "workflow", workflow, CTL_NAME_MAX),
	RN(CTL_RUN_TRIGGER, TLV_STR, 0, "trigger", trigger, CTL_NAME_MAX),
	RN(CTL_RUN_STARTED_MS, TLV_TIME, 0, "started_ms", started_ms, 0),
	RN(CTL_RUN_SCHEDULED_MS, TLV_TIME, 0, "scheduled_ms", scheduled_ms,
	    0),
	RN(CTL_RUN_TASKS_RUNNING, TLV_U32, 0, "tasks_running", tasks_running,
	    0),
};

static const struct tlv_msg request_msg = { "REQUEST", request_fields,
	TLV_NELEM(request_fields), 64, sizeof(struct ctl_request), NULL,
	NULL, 0 };
static const struct tlv_msg wf_msg = { "REPLY workflow", wf_fields,
	TLV_NELEM(wf_fields), 64, sizeof(struct ctl_wf_status), wf_init,
	wf_check, 0 };
static const struct tlv_msg run_msg = { "REPLY run", run_fields,
	TLV_NELEM(run_fields), 64, sizeof(struct ctl_run_status), run_init,
	run_check, 0 };

/*
 * The status fields go out only with has_status; pid .. max_tasks set
 * it when they arrive.
 */
#define RF(tag, kind, fl, name, m, max) \
	TLV_F(struct ctl_reply, tag, kind, fl, name, m, max)
#define STATUS		(TLV_GATED | TLV_SETS_GATE)

static const struct tlv_field reply_fields[] = {
	RF(CTL_REP_OK, TLV_BOOL, TLV_REQ, "ok", ok, 0),
	RF(CTL_REP_MESSAGE, TLV_STR, 0, "message", message, CTL_TEXT_MAX),
	RF(CTL_REP_RUN_ID, TLV_TIME, TLV_POS, "run_id", run_id, 0),
	RF(CTL_REP_PID, TLV_U32, STATUS, "pid", pid, 0),
	RF(CTL_REP_VERSION, TLV_STR, STATUS, "version", version,
	    CTL_NAME_MAX),
	RF(CTL_REP_STARTED_MS, TLV_TIME, STATUS, "started_ms", started_ms, 0),
	RF(CTL_REP_NOW_MS, TLV_TIME, STATUS, "now_ms", now_ms, 0),
	RF(CTL_REP_CONFIG, TLV_STR, STATUS, "config", config, CTL_TEXT_MAX),
	RF(CTL_REP_STOPPING, TLV_BOOL, STATUS, "stopping", stopping, 0),
	RF(CTL_REP_TASKS_RUNNING, TLV_U32, STATUS, "tasks_running",
	    tasks_running, 0),
	RF(CTL_REP_MAX_TASKS, TLV_U32, STATUS, "max_tasks", max_tasks, 0),
	RF(CTL_REP_ISOLATION_MODE, TLV_STR, TLV_GATED, "isolation_mode",
	    isolation_mode, CTL_NAME_MAX),
	RF(CTL_REP_ISOLATION, TLV_STR, TLV_GATED, "isolation", isolation,
	    CTL_TEXT_MAX),
	RF(CTL_REP_NAMESPACES, TLV_STR, TLV_GATED, "namespaces", namespaces,
	    CTL_TEXT_MAX),
	TLV_M(struct ctl_reply, CTL_REP_WORKFLOW, "workflow", wfs, nwfs,
	    CTL_LIST_MAX, &wf_msg),
	TLV_M(struct ctl_reply, CTL_REP_RUN, "run", runs, nruns,
	    CTL_LIST_MAX, &run_msg),
	TLV_V(struct ctl_reply, CTL_REP_ERROR, TLV_STRV, "error", errors,
	    nerrors, CTL_TEXT_MAX, CTL_ERRORS_MAX),
};

static const struct tlv_msg reply_msg = { "REPLY", reply_fields,
	TLV_NELEM(reply_fields), CTL_REPLY_FIELDS_MAX,
	sizeof(struct ctl_reply), NULL, NULL,
	offsetof(struct ctl_reply, has_status) };

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
	tlv_free(&request_msg, r);
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
	return tlv_encode_frame(&request_msg, CTL_MSG_REQUEST, r, out, err);
}

int
ctl_request_decode(const struct frame *f, struct ctl_request *r,
    struct pf_err *err)
{
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
	if (tlv_decode(&request_msg, f->payload, f->len, r, err) == -1) {
		ctl_request_init(r);
		return -1;
	}
	/* Absent is -1; the encoder never sends 0. */
	if (r->run_id == 0) {
		pf_err_set(err, "REQUEST: run id 0 is invalid");
		ctl_request_free(r);
		return -1;
	}
	if (request_check(r, err) == -1) {
		ctl_request_free(r);
		return -1;
	}
	return 0;
}

/* ---- reply -------------------------------------------------------------- */

static void
wf_init(void *obj)
{
	struct ctl_wf_status	*w = obj;

	memset(w, 0, sizeof(*w));
	w->next_fire_ms = w->last_fire_ms = -1;
}

static void
run_init(void *obj)
{
	struct ctl_run_status	*r = obj;

	memset(r, 0, sizeof(*r));
	r->run_id = -1;
	r->started_ms = r->scheduled_ms = -1;
}

static int
wf_check(const void *obj, struct pf_err *err)
{
	const struct ctl_wf_status	*w = obj;

	if (w->overlap > 2)
		return tlv_err(err, &wf_msg, NULL, "overlap %u out of range",
		    w->overlap);
	return 0;
}

static int
run_check(const void *obj, struct pf_err *err)
{
	const struct ctl_run_status	*s = obj;

	if (s->run_id < 1 || s->workflow == NULL)
		return tlv_err(err, &run_msg, NULL, "missing its id or "
		    "workflow");
	return 0;
}

static void
wf_status_clear(struct ctl_wf_status *w)
{
	tlv_free(&wf_msg, w);
	wf_init(w);
}

static void
run_status_clear(struct ctl_run_status *r)
{
	tlv_free(&run_msg, r);
	run_init(r);
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
	tlv_free(&reply_msg, r);
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
dup_opt(const char **dst, const char *src)
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

int
ctl_reply_encode(const struct ctl_reply *r, struct pf_buf *out,
    struct pf_err *err)
{
	struct pf_buf	 body;
	int		 rc = -1;

	buf_reset(out);
	buf_init(&body, CTL_REPLY_MAX);
	if (tlv_encode(&reply_msg, r, &body, err) == -1) {
		if (body.failed && errno == EMSGSIZE)
			pf_err_set(err, "REPLY: more than %d bytes",
			    CTL_REPLY_MAX);
	} else if (frame_msg_encode(out, CTL_MSG_REPLY, body.data,
	    body.len) == -1)
		pf_err_set(err, "REPLY: cannot encode (out of memory)");
	else
		rc = 0;
	buf_free(&body);
	return rc;
}

int
ctl_reply_decode(const void *body, size_t len, struct ctl_reply *r,
    struct pf_err *err)
{
	ctl_reply_init(r);
	if (len > CTL_REPLY_MAX) {
		pf_err_set(err, "REPLY: %zu bytes, more than %d", len,
		    CTL_REPLY_MAX);
		return -1;
	}
	if (tlv_decode(&reply_msg, body, len, r, err) == -1) {
		ctl_reply_init(r);
		return -1;
	}
	return 0;
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
