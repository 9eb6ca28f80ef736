#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "picoflow/alloc.h"
#include "picoflow/buf.h"
#include "picoflow/clock.h"
#include "picoflow/fdio.h"
#include "picoflow/frame.h"
#include "picoflow/policy.h"
#include "picoflow/runas.h"
#include "picoflow/wfcodec.h"
#include "../common/ytree.h"
#include "loadjob.h"

struct lres {
	struct pf_workflow	*wf;
	char			*error;
	char			*warnings;
	int			 refused;
};

struct loadjob {
	pid_t			 pid;
	int			 rfd;
	int			 exited;
	int			 status;
	int			 killed;	/* at the deadline */
	struct frame_reader	 rd;
	struct frame_asm	 as;
	size_t			 total;		/* reply bytes so far */
	int			 failed;
	struct pf_err		 err;
	int			 policy_seen;
	int			 complete;	/* DONE seen */
	char			**paths;
	size_t			 npaths;
	char			**pre_error;	/* per path: could not read it */
	size_t			*sent;		/* FILE k is paths[sent[k]] */
	size_t			 nsent;
	struct lres		*res;		/* per FILE */
	size_t			 nres;
	int			 has_policy;
	int			 policy_read;	/* the file was read and sent */
	struct wfcodec_opts	 co;
	struct loadjob_out	 out;
};

static void
job_fail(struct loadjob *j, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The first reason stays; the loader is stopped (it is reaped later). */
static void
job_fail(struct loadjob *j, const char *fmt, ...)
{
	va_list	 ap;

	if (!j->failed) {
		j->failed = 1;
		va_start(ap, fmt);
		vsnprintf(j->err.msg, sizeof(j->err.msg), fmt, ap);
		va_end(ap);
	}
	if (j->rfd != -1) {
		close(j->rfd);
		j->rfd = -1;
	}
	if (!j->exited && j->pid > 0)
		(void)kill(j->pid, SIGKILL);
}

/* One POLICY or FILE message into the request. */
static int
put_input(int fd, uint8_t type, const char *label, const void *data,
    size_t len, int fallback)
{
	struct pf_buf	 body, out;
	int		 rc = -1;

	buf_init(&body, LOADER_FILE_MAX);
	buf_init(&out, 0);
	frame_add_str(&body, LOADER_IN_LABEL, label);
	frame_add_bytes(&body, LOADER_IN_DATA, data, len);
	if (fallback)
		frame_add_u8(&body, LOADER_IN_FALLBACK, 1);
	if (!body.failed && frame_msg_encode(&out, type, body.data,
	    body.len) == 0 && fdio_write_all(fd, out.data, out.len) == 0)
		rc = 0;
	buf_free(&body);
	buf_free(&out);
	return rc;
}

static int
put_opts(int fd, const struct loadjob_req *rq)
{
	struct pf_buf	 f, lim;
	int		 rc = -1;

	buf_init(&f, 0);
	buf_init(&lim, 4096);
	frame_begin(&f, LOADER_MSG_OPTS);
	if (rq->cli_run_as != NULL)
		frame_add_str(&f, LOADER_OPT_RUN_AS, rq->cli_run_as);
	frame_add_u8(&f, LOADER_OPT_IS_ROOT, rq->is_root != 0);
	if (rq->defaults != NULL && wfcodec_encode_limits(rq->defaults,
	    &lim) == 0)
		frame_add_bytes(&f, LOADER_OPT_DEFAULTS, lim.data, lim.len);
	if (rq->max_tasks > 0 && rq->max_tasks <= WFCODEC_TASKS_MAX)
		frame_add_u32(&f, LOADER_OPT_MAX_TASKS,
		    (uint32_t)rq->max_tasks);
	if (rq->max_bytes > 0 && rq->max_bytes < LOADER_FILE_MAX - 8192)
		frame_add_u32(&f, LOADER_OPT_MAX_BYTES,
		    (uint32_t)rq->max_bytes);
	if (frame_end(&f) == 0 && fdio_write_all(fd, f.data, f.len) == 0)
		rc = 0;
	buf_free(&f);
	buf_free(&lim);
	return rc;
}

/*
 * The whole request, written to a memfd: no pipe to keep fed from the
 * event loop, and the loader reads it at its own pace.
 */
static int
build_request(struct loadjob *j, const struct loadjob_req *rq, int fd,
    struct pf_err *err)
{
	struct pf_diags	 d;
	struct pf_buf	 f;
	unsigned char	*data;
	size_t		 len, i;

	if (put_opts(fd, rq) == -1)
		goto werr;
	if (rq->policy != NULL) {
		j->has_policy = 1;
		pf_diags_init(&d);
		if (yt_read_file(rq->policy, "policy", POLICY_MAX_BYTES, &d,
		    &data, &len) == 0) {
			j->policy_read = 1;
			j->out.policy_bytes = data;
			j->out.policy_len = len;
			if (put_input(fd, LOADER_MSG_POLICY, rq->policy, data,
			    len, 0) == -1) {
				pf_diags_free(&d);
				goto werr;
			}
		} else
			j->out.policy_error = pf_diags_text(&d, PF_SEV_ERROR);
		pf_diags_free(&d);
		if (rq->last_policy != NULL && put_input(fd, LOADER_MSG_POLICY,
		    rq->policy, rq->last_policy, rq->last_policy_len, 1) == -1)
			goto werr;
	}
	for (i = 0; i < j->npaths; i++) {
		pf_diags_init(&d);
		if (yt_read_file(j->paths[i], "workflow", rq->max_bytes > 0 &&
		    rq->max_bytes < LOADER_FILE_MAX - 8192 ? rq->max_bytes :
		    WF_DEFAULT_MAX_BYTES, &d, &data, &len) == -1) {
			j->pre_error[i] = pf_diags_text(&d, PF_SEV_ERROR);
			pf_diags_free(&d);
			continue;
		}
		pf_diags_free(&d);
		j->sent[j->nsent++] = i;
		if (put_input(fd, LOADER_MSG_FILE, j->paths[i], data, len,
		    0) == -1) {
			pf_free(data);
			goto werr;
		}
		pf_free(data);
	}
	buf_init(&f, 0);
	frame_begin(&f, LOADER_MSG_END);
	if (frame_end(&f) == -1 || fdio_write_all(fd, f.data, f.len) == -1) {
		buf_free(&f);
		goto werr;
	}
	buf_free(&f);
	if (lseek(fd, 0, SEEK_SET) == -1)
		goto werr;
	return 0;
werr:
	pf_err_set(err, "cannot write the loader's request: %s",
	    strerror(errno ? errno : ENOMEM));
	return -1;
}

static int
spawn_loader(struct loadjob *j, const char *exe, int in, struct pf_err *err)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t	 at;
	sigset_t		 none, all;
	char			*argv[] = { (char *)"pf-loader", NULL };
	char			*envp[] = { NULL };
	int			 p[2], nul, rc;

	if (pipe2(p, O_CLOEXEC) == -1) {
		pf_err_set(err, "pipe: %s", strerror(errno));
		return -1;
	}
	if ((nul = open("/dev/null", O_WRONLY | O_CLOEXEC)) == -1) {
		pf_err_set(err, "/dev/null: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		return -1;
	}
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&at);
	posix_spawn_file_actions_adddup2(&fa, in, 0);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	posix_spawn_file_actions_adddup2(&fa, nul, 2);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &all);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK |
	    POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSID);
	/* No environment: nothing of ours steers the parser. */
	rc = posix_spawn(&j->pid, exe, &fa, &at, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	close(p[1]);
	close(nul);
	if (rc != 0) {
		pf_err_set(err, "cannot start %s: %s", exe, strerror(rc));
		close(p[0]);
		j->pid = -1;
		return -1;
	}
	j->rfd = p[0];
	(void)fcntl(j->rfd, F_SETFL, fcntl(j->rfd, F_GETFL) | O_NONBLOCK);
	return 0;
}

static void
job_free(struct loadjob *j)
{
	size_t	 i;

	if (j == NULL)
		return;
	if (j->rfd != -1)
		close(j->rfd);
	frame_reader_free(&j->rd);
	frame_asm_free(&j->as);
	for (i = 0; i < j->npaths; i++)
		pf_free(j->pre_error ? j->pre_error[i] : NULL);
	wfset_files_free(j->paths, j->npaths);
	pf_free(j->pre_error);
	pf_free(j->sent);
	for (i = 0; i < j->nres; i++) {
		workflow_free(j->res[i].wf);
		pf_free(j->res[i].error);
		pf_free(j->res[i].warnings);
	}
	pf_free(j->res);
	loadjob_out_free(&j->out);
	pf_free(j);
}

int
loadjob_start(const struct loadjob_req *rq, struct loadjob **out,
    struct pf_err *err)
{
	struct loadjob	*j;
	int		 fd;

	*out = NULL;
	if ((j = pf_calloc(1, sizeof(*j))) == NULL) {
		pf_err_set(err, "out of memory");
		return -1;
	}
	j->pid = -1;
	j->rfd = -1;
	j->co.max_tasks = rq->max_tasks;
	frame_reader_init(&j->rd, FRAME_PAYLOAD_MAX);
	frame_asm_init(&j->as, LOADER_RESULT_MAX);
	if (wfset_files(rq->config, &j->paths, &j->npaths, err) == -1) {
		job_free(j);
		return -1;
	}
	if (j->npaths > 0 && ((j->pre_error = pf_calloc(j->npaths,
	    sizeof(char *))) == NULL || (j->sent = pf_calloc(j->npaths,
	    sizeof(size_t))) == NULL || (j->res = pf_calloc(j->npaths,
	    sizeof(*j->res))) == NULL)) {
		pf_err_set(err, "out of memory");
		job_free(j);
		return -1;
	}
	if ((fd = memfd_create("pf-loader-request", MFD_CLOEXEC)) == -1) {
		pf_err_set(err, "memfd_create: %s", strerror(errno));
		job_free(j);
		return -1;
	}
	if (build_request(j, rq, fd, err) == -1 ||
	    spawn_loader(j, rq->exe, fd, err) == -1) {
		close(fd);
		job_free(j);
		return -1;
	}
	close(fd);
	*out = j;
	return 0;
}

int
loadjob_fd(const struct loadjob *j)
{
	return j->rfd;
}

pid_t
loadjob_pid(const struct loadjob *j)
{
	return j->pid;
}

static int
on_policy_result(struct loadjob *j, const struct frame *f)
{
	struct frame_iter	 it;
	struct frame_field	 fld;
	struct pf_err		 e;
	char			*s;
	uint8_t			 u8;
	uint32_t		 u32;
	int			 r, ok = -1, allow_root = -1;

	frame_iter_init(&it, f->payload, f->len, 8);
	while ((r = frame_iter_next(&it, &fld, &e)) == 1) {
		switch (fld.tag) {
		case LOADER_POL_OK:
			if (frame_field_u8(&fld, &u8, &e) == -1 || u8 > 1)
				goto bad;
			ok = u8;
			break;
		case LOADER_POL_ERROR:
		case LOADER_POL_RUN_AS:
			if (frame_field_str(&fld, fld.tag == LOADER_POL_ERROR ?
			    LOADER_TEXT_MAX : 65, &s, &e) == -1)
				goto bad;
			if (fld.tag == LOADER_POL_ERROR) {
				if (j->policy_read) {
					pf_free(j->out.policy_error);
					j->out.policy_error = s;
				} else
					pf_free(s);
			} else {
				pf_free(j->out.run_as);
				j->out.run_as = s;
			}
			break;
		case LOADER_POL_FALLBACK:
			if (frame_field_u8(&fld, &u8, &e) == -1 || u8 > 1)
				goto bad;
			j->out.policy_fallback = u8;
			break;
		case LOADER_POL_ALLOW_ROOT:
			if (frame_field_u8(&fld, &u8, &e) == -1 || u8 > 1)
				goto bad;
			allow_root = u8;
			break;
		case LOADER_POL_MAX_TASKS:
		case LOADER_POL_MAX_RUNS:
			if (frame_field_u32(&fld, &u32, &e) == -1)
				goto bad;
			if (fld.tag == LOADER_POL_MAX_TASKS)
				j->out.max_tasks_running = u32;
			else
				j->out.max_runs_running = u32;
			break;
		default:
			break;
		}
	}
	if (r == -1 || ok == -1)
		goto bad;
	if (j->out.run_as != NULL && !workflow_user_part_ok(j->out.run_as,
	    strcspn(j->out.run_as, ":")))
		goto bad;
	j->out.policy_ok = !j->has_policy || (j->policy_read && ok);
	if (j->policy_read && !ok && j->out.policy_error == NULL)
		goto bad;
	/*
	 * Who may run as root, judged here again: this frame was written
	 * before the loader parsed any workflow, so a workflow cannot have
	 * changed it.  Without a policy, only the operator's default user
	 * (--run-as root) opens root; a non-root supervisor cannot switch.
	 */
	j->co.root_check = 1;
	j->co.default_user = j->out.run_as;
	if (geteuid() != 0)
		j->co.root_allowed = 1;
	else if (j->has_policy && (j->out.policy_ok ||
	    j->out.policy_fallback))
		j->co.root_allowed = allow_root == 1;
	else
		j->co.root_allowed = j->out.run_as != NULL &&
		    runas_is_root(j->out.run_as);
	return 0;
bad:
	job_fail(j, "pf-loader sent a bad POLICY_RESULT");
	return -1;
}

static int
on_result(struct loadjob *j, const uint8_t *p, size_t len)
{
	struct frame_iter	 it;
	struct frame_field	 fld;
	struct lres		*res;
	const char		*path;
	uint32_t		 idx = UINT32_MAX;
	uint8_t			 u8;
	char			**sp;
	int			 r, have_model = 0;

	if (j->nres >= j->nsent) {
		job_fail(j, "pf-loader sent more results than files");
		return -1;
	}
	res = &j->res[j->nres++];
	path = j->paths[j->sent[j->nres - 1]];
	frame_iter_init(&it, p, len, 16);
	while ((r = frame_iter_next(&it, &fld, &j->err)) == 1) {
		switch (fld.tag) {
		case LOADER_RES_INDEX:
			if (frame_field_u32(&fld, &idx, &j->err) == -1)
				goto bad;
			break;
		case LOADER_RES_ERROR:
		case LOADER_RES_WARNINGS:
			sp = fld.tag == LOADER_RES_ERROR ? &res->error :
			    &res->warnings;
			if (*sp != NULL || frame_field_str(&fld,
			    LOADER_TEXT_MAX, sp, &j->err) == -1)
				goto bad;
			break;
		case LOADER_RES_REFUSED:
			if (frame_field_u8(&fld, &u8, &j->err) == -1 || u8 > 1)
				goto bad;
			res->refused = u8;
			break;
		case LOADER_RES_MODEL:
			if (have_model++)
				goto bad;
			if ((res->wf = wfcodec_decode(fld.data, fld.len,
			    &j->co, &j->err)) == NULL)
				goto bad;
			/* A model for another file is no model of this one. */
			if (res->wf->file == NULL ||
			    strcmp(res->wf->file, path) != 0) {
				pf_err_set(&j->err, "the model names another "
				    "file");
				goto bad;
			}
			break;
		default:
			break;
		}
	}
	if (r == -1)
		goto bad;
	if (idx != j->nres - 1) {
		pf_err_set(&j->err, "result %u out of order", idx);
		goto bad;
	}
	if ((res->wf == NULL) == (res->error == NULL)) {
		pf_err_set(&j->err, "a result needs a model or errors, not "
		    "both");
		goto bad;
	}
	return 0;
bad:
	{
		char	 why[PF_ERR_MAX];

		snprintf(why, sizeof(why), "%s", j->err.msg);
		j->failed = 0;
		job_fail(j, "pf-loader sent a bad result for %s: %s", path,
		    why);
	}
	return -1;
}

static int
on_frame(struct loadjob *j, const struct frame *f)
{
	struct frame_iter	 it;
	struct frame_field	 fld;
	uint32_t		 n = UINT32_MAX;
	int			 r;

	j->total += FRAME_HDR_LEN + f->len;
	if (j->total > LOADER_REPLY_MAX) {
		job_fail(j, "pf-loader's answer exceeds %u bytes",
		    LOADER_REPLY_MAX);
		return -1;
	}
	if (j->complete) {
		job_fail(j, "pf-loader sent more after DONE");
		return -1;
	}
	if (f->type != LOADER_MSG_POLICY_RESULT && !j->policy_seen) {
		job_fail(j, "pf-loader did not start with POLICY_RESULT");
		return -1;
	}
	switch (f->type) {
	case LOADER_MSG_POLICY_RESULT:
		if (j->policy_seen++ || (f->flags & FRAME_F_MORE)) {
			job_fail(j, "pf-loader sent a second or split "
			    "POLICY_RESULT");
			return -1;
		}
		return on_policy_result(j, f);
	case LOADER_MSG_RESULT:
		if ((r = frame_asm_add(&j->as, f, &j->err)) == -1) {
			char	 why[PF_ERR_MAX];

			snprintf(why, sizeof(why), "%s", j->err.msg);
			job_fail(j, "pf-loader: %s", why);
			return -1;
		}
		if (r == 0)
			return 0;
		r = on_result(j, j->as.body.data, j->as.body.len);
		frame_asm_reset(&j->as);
		return r;
	case LOADER_MSG_DONE:
		frame_iter_init(&it, f->payload, f->len, 4);
		while ((r = frame_iter_next(&it, &fld, &j->err)) == 1)
			if (fld.tag == LOADER_DONE_COUNT &&
			    frame_field_u32(&fld, &n, &j->err) == -1)
				r = -1;
		if (r == -1 || j->as.type != 0 || n != j->nsent ||
		    j->nres != j->nsent) {
			job_fail(j, "pf-loader ended after %zu of %zu results",
			    j->nres, j->nsent);
			return -1;
		}
		j->complete = 1;
		return 0;
	default:
		job_fail(j, "pf-loader sent an unknown frame type %u",
		    f->type);
		return -1;
	}
}

void
loadjob_read(struct loadjob *j)
{
	struct frame	 f;
	struct pf_err	 e;
	ssize_t		 n;
	int		 r;

	while (j->rfd != -1) {
		while ((r = frame_reader_next(&j->rd, &f, &e)) == 1)
			if (on_frame(j, &f) == -1)
				return;
		if (r == -1) {
			job_fail(j, "pf-loader broke the framing: %s", e.msg);
			return;
		}
		if (j->rd.eof) {
			/* Short answers are judged with the exit status. */
			close(j->rfd);
			j->rfd = -1;
			return;
		}
		n = frame_reader_read(&j->rd, j->rfd);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return;
		if (n == -1) {
			job_fail(j, "reading pf-loader's answer: %s",
			    strerror(errno));
			return;
		}
	}
}

void
loadjob_exited(struct loadjob *j, int status)
{
	j->exited = 1;
	j->status = status;
}

void
loadjob_kill(struct loadjob *j)
{
	j->killed = 1;
	job_fail(j, "pf-loader did not finish in time");
}

int
loadjob_done(const struct loadjob *j)
{
	return j->exited && (j->failed || j->rfd == -1);
}

int
loadjob_finish(struct loadjob *j, struct loadjob_out *out,
    struct pf_err *err)
{
	size_t	 i, k = 0;
	int	 rc = -1;

	memset(out, 0, sizeof(*out));
	if (!j->failed && !(WIFEXITED(j->status) &&
	    WEXITSTATUS(j->status) == 0)) {
		if (WIFSIGNALED(j->status))
			job_fail(j, "pf-loader was killed by signal %d%s",
			    WTERMSIG(j->status), WTERMSIG(j->status) ==
			    SIGSYS ? " (a system call its filter forbids)" :
			    "");
		else
			job_fail(j, "pf-loader exited with status %d",
			    WEXITSTATUS(j->status));
	}
	if (!j->failed && !j->complete)
		job_fail(j, "pf-loader stopped before its answer was "
		    "complete");
	if (j->failed) {
		pf_err_set(err, "%s", j->err.msg);
		goto out;
	}
	*out = j->out;
	memset(&j->out, 0, sizeof(j->out));
	for (i = 0; i < j->npaths; i++) {
		struct lres	 r = { NULL, NULL, NULL, 0 };

		if (j->pre_error[i] != NULL || k >= j->nres ||
		    j->sent[k] != i) {
			r.error = j->pre_error[i];
			j->pre_error[i] = NULL;
		} else {
			r = j->res[k];
			memset(&j->res[k], 0, sizeof(j->res[k]));
			k++;
		}
		if (wfset_add(&out->set, j->paths[i], r.wf, r.error,
		    r.warnings, r.refused) == -1) {
			pf_err_set(err, "out of memory");
			loadjob_out_free(out);
			goto out;
		}
	}
	rc = 0;
out:
	job_free(j);
	return rc;
}

void
loadjob_out_free(struct loadjob_out *o)
{
	wfset_free(&o->set);
	pf_free(o->policy_error);
	pf_free(o->run_as);
	pf_free(o->policy_bytes);
	memset(o, 0, sizeof(*o));
}

int
loadjob_run(const struct loadjob_req *rq, unsigned timeout_ms,
    struct loadjob_out *out, struct pf_err *err)
{
	struct loadjob	*j;
	struct pollfd	 pfd;
	int64_t		 deadline = clock_mono_ms() + timeout_ms, left;
	int		 st;

	memset(out, 0, sizeof(*out));
	if (loadjob_start(rq, &j, err) == -1)
		return -1;
	while (j->rfd != -1) {
		if ((left = deadline - clock_mono_ms()) <= 0) {
			loadjob_kill(j);
			break;
		}
		pfd.fd = j->rfd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, (int)left) == -1 && errno != EINTR) {
			job_fail(j, "poll: %s", strerror(errno));
			break;
		}
		loadjob_read(j);
	}
	/*
	 * The answer is in (or given up on): the loader exits, or is
	 * killed at the deadline.  A pidfd says when, without polling.
	 */
	pfd.fd = (int)syscall(SYS_pidfd_open, j->pid, 0);
	pfd.events = POLLIN;
	for (;;) {
		pid_t	 w = waitpid(j->pid, &st, WNOHANG);

		if (w == j->pid || (w == -1 && errno != EINTR))
			break;
		if (w != 0)
			continue;
		if ((left = deadline - clock_mono_ms()) <= 0 && !j->killed) {
			loadjob_kill(j);
			left = 1000;
		}
		(void)poll(&pfd, pfd.fd != -1 ? 1 : 0, pfd.fd != -1 ?
		    (int)(left > 0 ? left : 1000) : 5);
	}
	if (pfd.fd != -1)
		close(pfd.fd);
	loadjob_exited(j, st);
	return loadjob_finish(j, out, err);
}
