/*
 * pf-loader: parses workflow and policy files for pf-supervisor, so that
 * libyaml and the loaders never run with the supervisor's authority.
 *
 * pf-supervisor opens the files itself and writes a request (OPTS, the
 * policy, one FILE per workflow, END) to a memfd that becomes our stdin;
 * our stdout is a pipe back.  We confine ourselves (confine.c) before
 * reading a byte, then answer POLICY_RESULT, one RESULT per FILE (the
 * checked model or every error, with file:line:col) and DONE.  The
 * supervisor decodes the answer as hostile and checks it again.
 *
 * Not meant to be run by hand: usage is `pf-loader` with the request on
 * stdin (docs/protocol.md, "Loader messages").
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "picoflow/alloc.h"
#include "picoflow/buf.h"
#include "picoflow/err.h"
#include "picoflow/fdio.h"
#include "picoflow/frame.h"
#include "picoflow/policy.h"
#include "picoflow/wfcodec.h"
#include "picoflow/workflow.h"
#include "confine.h"

struct lstate {
	struct frame_reader	 rd;
	struct frame_asm	 as;
	struct wf_load_opts	 lo;
	struct pf_limits	 defaults;
	char			*cli_run_as;
	int			 is_root;
	int			 have_defaults;
	struct pf_policy	*policy;
	int			 policy_done;	/* POLICY_RESULT sent */
	int			 policy_failed;	/* the first one was broken */
	int			 fallback;	/* the last good one is used */
	char			*policy_error;
	uint32_t		 nfiles;
};

/* A message body of fields, sent as frames of `type`. */
static int
send_msg(uint8_t type, struct pf_buf *body)
{
	struct pf_buf	 out;
	int		 rc;

	if (body->failed)
		return -1;
	buf_init(&out, 0);
	rc = frame_msg_encode(&out, type, body->data, body->len);
	if (rc == 0)
		rc = fdio_write_all(STDOUT_FILENO, out.data, out.len);
	buf_free(&out);
	return rc;
}

/* Text fields are capped; a longer one ends with what was cut. */
static void
add_text(struct pf_buf *b, uint16_t tag, const char *s)
{
	char	 tail[64];
	size_t	 n;

	if (s == NULL)
		return;
	if ((n = strlen(s)) <= LOADER_TEXT_MAX) {
		frame_add_str(b, tag, s);
		return;
	}
	n = snprintf(tail, sizeof(tail), "\n(%zu more bytes)", n -
	    (LOADER_TEXT_MAX - 64));
	buf_add_u16(b, tag);
	buf_add_u32(b, (uint32_t)(LOADER_TEXT_MAX - 64 + n));
	buf_add(b, s, LOADER_TEXT_MAX - 64);
	buf_add(b, tail, n);
}

static int
on_opts(struct lstate *ls, const struct frame *f, struct pf_err *err)
{
	struct frame_iter	 it;
	struct frame_field	 fld;
	uint32_t		 u32;
	uint8_t			 u8;
	int			 r;

	frame_iter_init(&it, f->payload, f->len, 16);
	while ((r = frame_iter_next(&it, &fld, err)) == 1) {
		switch (fld.tag) {
		case LOADER_OPT_RUN_AS:
			pf_free(ls->cli_run_as);
			ls->cli_run_as = NULL;
			if (frame_field_str(&fld, 65, &ls->cli_run_as,
			    err) == -1)
				return -1;
			break;
		case LOADER_OPT_IS_ROOT:
			if (frame_field_u8(&fld, &u8, err) == -1)
				return -1;
			ls->is_root = u8 != 0;
			break;
		case LOADER_OPT_DEFAULTS:
			if (wfcodec_decode_limits(fld.data, fld.len,
			    &ls->defaults, err) == -1)
				return -1;
			ls->have_defaults = 1;
			break;
		case LOADER_OPT_MAX_TASKS:
			if (frame_field_u32(&fld, &u32, err) == -1)
				return -1;
			if (u32 > 0 && u32 <= WFCODEC_TASKS_MAX)
				ls->lo.max_tasks = u32;
			break;
		case LOADER_OPT_MAX_BYTES:
			if (frame_field_u32(&fld, &u32, err) == -1)
				return -1;
			if (u32 > 0 && u32 < LOADER_FILE_MAX - 8192)
				ls->lo.max_bytes = u32;
			break;
		default:
			break;
		}
	}
	return r;
}

/* LABEL and DATA of a POLICY or FILE body. */
static int
get_input(const struct pf_buf *body, char **label, const uint8_t **data,
    size_t *len, int *fallback, struct pf_err *err)
{
	struct frame_iter	 it;
	struct frame_field	 fld;
	uint8_t			 u8;
	int			 r;

	*label = NULL;
	*data = NULL;
	*len = 0;
	*fallback = 0;
	frame_iter_init(&it, body->data, body->len, 16);
	while ((r = frame_iter_next(&it, &fld, err)) == 1) {
		if (fld.tag == LOADER_IN_LABEL && *label == NULL) {
			if (frame_field_str(&fld, 4096, label, err) == -1)
				return -1;
		} else if (fld.tag == LOADER_IN_DATA) {
			*data = fld.data;
			*len = fld.len;
		} else if (fld.tag == LOADER_IN_FALLBACK) {
			if (frame_field_u8(&fld, &u8, err) == -1)
				return -1;
			*fallback = u8 != 0;
		}
	}
	if (r == 0 && *label == NULL) {
		pf_err_set(err, "an input without a label");
		r = -1;
	}
	if (r == -1) {
		pf_free(*label);
		*label = NULL;
	}
	return r;
}

static int
on_policy(struct lstate *ls, const struct pf_buf *body, struct pf_err *err)
{
	struct pf_diags		 d;
	struct pf_policy	*p;
	const uint8_t		*data;
	size_t			 len;
	char			*label;
	int			 fallback;

	if (get_input(body, &label, &data, &len, &fallback, err) == -1)
		return -1;
	/* The last good policy only counts when the new one broke. */
	if (fallback && ls->policy != NULL) {
		pf_free(label);
		return 0;
	}
	pf_diags_init(&d);
	p = policy_load_buf(label, data != NULL ? data : (const uint8_t *)"",
	    len, &d);
	if (p == NULL && !fallback) {
		ls->policy_failed = 1;
		ls->policy_error = pf_diags_text(&d, PF_SEV_ERROR);
		if (ls->policy_error == NULL)
			ls->policy_error = pf_strdup("cannot load the policy "
			    "(out of memory)");
	}
	if (p != NULL) {
		policy_free(ls->policy);
		ls->policy = p;
		ls->fallback = fallback;
	}
	pf_diags_free(&d);
	pf_free(label);
	return 0;
}

/* Sent once, before any workflow is parsed. */
static int
policy_result(struct lstate *ls)
{
	struct pf_buf	 b;
	const char	*run_as;
	int		 rc;

	if (ls->policy_done)
		return 0;
	ls->policy_done = 1;
	ls->lo.policy = ls->policy;
	ls->lo.defaults = ls->have_defaults ? &ls->defaults : NULL;
	run_as = policy_default_user(ls->policy, ls->cli_run_as, ls->is_root);
	ls->lo.run_as = run_as;
	buf_init(&b, FRAME_PAYLOAD_MAX);
	frame_add_u8(&b, LOADER_POL_OK, !ls->policy_failed);
	add_text(&b, LOADER_POL_ERROR, ls->policy_error);
	if (run_as != NULL)
		frame_add_str(&b, LOADER_POL_RUN_AS, run_as);
	frame_add_u8(&b, LOADER_POL_FALLBACK, (uint8_t)ls->fallback);
	if (ls->policy != NULL) {
		frame_add_u8(&b, LOADER_POL_ALLOW_ROOT,
		    (uint8_t)ls->policy->allow_root);
		frame_add_u32(&b, LOADER_POL_MAX_TASKS,
		    ls->policy->max_tasks_running);
		frame_add_u32(&b, LOADER_POL_MAX_RUNS,
		    ls->policy->max_runs_running);
	}
	rc = send_msg(LOADER_MSG_POLICY_RESULT, &b);
	buf_free(&b);
	return rc;
}

static int
on_file(struct lstate *ls, const struct pf_buf *body, struct pf_err *err)
{
	struct pf_diags		 d;
	struct pf_workflow	*wf;
	struct pf_buf		 b, model;
	const uint8_t		*data;
	size_t			 len;
	char			*label, *text;
	int			 fallback, refused = 0, rc;

	if (get_input(body, &label, &data, &len, &fallback, err) == -1)
		return -1;
	pf_diags_init(&d);
	wf = workflow_load_buf(label, data != NULL ? data :
	    (const uint8_t *)"", len, &ls->lo, &d);
	if (wf == NULL && ls->lo.policy != NULL) {
		/* Refused by the policy alone?  (A reload must not keep it.) */
		struct wf_load_opts	 free_lo = ls->lo;
		struct pf_workflow	*w2;

		free_lo.policy = NULL;
		w2 = workflow_load_buf(label, data != NULL ? data :
		    (const uint8_t *)"", len, &free_lo, NULL);
		refused = w2 != NULL;
		workflow_free(w2);
	}
	buf_init(&b, LOADER_RESULT_MAX);
	buf_init(&model, LOADER_RESULT_MAX - 1024);
	frame_add_u32(&b, LOADER_RES_INDEX, ls->nfiles++);
	if (wf != NULL && wfcodec_encode(wf, &model) == -1) {
		pf_diags_add(&d, PF_SEV_ERROR, label, 0, 0, "the workflow is "
		    "too large to hand to the supervisor");
		workflow_free(wf);
		wf = NULL;
	}
	text = pf_diags_text(&d, PF_SEV_ERROR);
	add_text(&b, LOADER_RES_ERROR, text);
	pf_free(text);
	text = pf_diags_text(&d, PF_SEV_WARNING);
	add_text(&b, LOADER_RES_WARNINGS, text);
	pf_free(text);
	frame_add_u8(&b, LOADER_RES_REFUSED, (uint8_t)refused);
	if (wf != NULL)
		frame_add_bytes(&b, LOADER_RES_MODEL, model.data, model.len);
	rc = send_msg(LOADER_MSG_RESULT, &b);
	if (rc == -1)
		pf_err_set(err, "cannot send a result");
	buf_free(&model);
	buf_free(&b);
	workflow_free(wf);
	pf_diags_free(&d);
	pf_free(label);
	return rc;
}

static int
on_frame(struct lstate *ls, const struct frame *f, int *done,
    struct pf_err *err)
{
	struct pf_buf	 b;
	int		 r;

	switch (f->type) {
	case LOADER_MSG_OPTS:
		return on_opts(ls, f, err);
	case LOADER_MSG_POLICY:
	case LOADER_MSG_FILE:
		if ((r = frame_asm_add(&ls->as, f, err)) != 1)
			return r;
		if (f->type == LOADER_MSG_POLICY) {
			if (ls->policy_done) {
				pf_err_set(err, "POLICY after a FILE");
				return -1;
			}
			r = on_policy(ls, &ls->as.body, err);
		} else if ((r = policy_result(ls)) == 0)
			r = on_file(ls, &ls->as.body, err);
		frame_asm_reset(&ls->as);
		return r;
	case LOADER_MSG_END:
		if (policy_result(ls) == -1)
			return -1;
		*done = 1;
		buf_init(&b, 0);
		frame_add_u32(&b, LOADER_DONE_COUNT, ls->nfiles);
		r = send_msg(LOADER_MSG_DONE, &b);
		buf_free(&b);
		return r;
	default:
		pf_err_set(err, "unexpected frame type %u", f->type);
		return -1;
	}
}

#if defined(__SANITIZE_ADDRESS__)
const char	*__asan_default_options(void);

/*
 * LeakSanitizer stops the world with clone and ptrace at exit, which the
 * filter forbids; the sanitizer build checks the loader's memory errors,
 * not its leaks (the loader exits right after its answer).
 */
const char *
__asan_default_options(void)
{
	return "detect_leaks=0";
}
#endif

int
main(int argc, char **argv)
{
	struct lstate	 ls;
	struct frame	 f;
	struct pf_err	 err;
	ssize_t		 n;
	int		 r, done = 0;

	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: pf-loader < request (started by "
		    "pf-supervisor)\n");
		return 2;
	}
	if (confine_all(&err) == -1) {
		fprintf(stderr, "pf-loader: %s\n", err.msg);
		return 1;
	}
	memset(&ls, 0, sizeof(ls));
	workflow_load_opts_default(&ls.lo);
	frame_reader_init(&ls.rd, FRAME_PAYLOAD_MAX);
	frame_asm_init(&ls.as, LOADER_FILE_MAX);
	while (!done) {
		r = frame_reader_next(&ls.rd, &f, &err);
		if (r == 1) {
			if (on_frame(&ls, &f, &done, &err) == -1)
				goto fail;
			continue;
		}
		if (r == -1)
			goto fail;
		if (ls.rd.eof) {
			pf_err_set(&err, "the request ended before END");
			goto fail;
		}
		n = frame_reader_read(&ls.rd, STDIN_FILENO);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			pf_err_set(&err, "read: %s", strerror(errno));
			goto fail;
		}
	}
	return 0;
fail:
	fprintf(stderr, "pf-loader: %s\n", err.msg);
	return 1;
}
