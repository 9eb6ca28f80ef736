/*
 * pf-worker's core: set up the process (subreaper, signals as events),
 * read the SPEC from the supervisor, run its executor, send the RESULT.
 *
 * Writes to the supervisor block (with poll) until the frame is out:
 * the supervisor always reads, and while the worker waits it does not
 * drain the task's pipes, so a slow supervisor slows the task down
 * instead of growing a buffer here.  Memory stays bounded by one frame.
 */
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "picoflow/alloc.h"
#include "picoflow/buf.h"
#include "picoflow/err.h"
#include "picoflow/frame.h"
#include "picoflow/log.h"
#include "picoflow/proto.h"
#include "picoflow/readfile.h"
#include "cgexit.h"
#include "exec_shell.h"
#ifndef PF_WORKER_SHELL_ONLY
#include "exec_http.h"
#include "exec_ssh.h"
#endif
#include "sandbox.h"
#include "worker.h"

int
worker_send_bytes(struct worker *w, const void *data, size_t len)
{
	const char	*c = data;
	struct pollfd	 p[2];
	size_t		 off = 0;
	ssize_t		 n;
	int		 sig;

	if (w->lost || w->sock == -1)
		return -1;
	while (off < len && w->sock != -1) {
		n = write(w->sock, c + off, len - off);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN) {
			/* The supervisor holds back: stay stoppable. */
			p[0].fd = w->sock;
			p[0].events = POLLOUT;
			p[1].fd = w->sigfd;
			p[1].events = POLLIN;
			p[1].revents = 0;
			if (poll(p, w->wait != NULL ? 2 : 1,
			    w->wait != NULL ? WORKER_SEND_TICK_MS : -1) == -1 &&
			    errno != EINTR)
				break;
			if (w->wait != NULL) {
				sig = (p[1].revents & POLLIN) ?
				    worker_read_signals(w) : 0;
				w->wait(w->wait_arg, sig);
			}
			continue;
		}
		break;
	}
	if (off == len)
		return 0;
	if (w->att.on) {
		attach_detach(w, "writing to the supervisor failed");
		return -1;
	}
	log_warn("writing to the supervisor");
	w->lost = 1;
	return -1;
}

int
worker_send(struct worker *w, const struct pf_buf *b)
{
	attach_record(&w->att, b->data, b->len);
	if (worker_send_bytes(w, b->data, b->len) == -1)
		return w->att.on ? 0 : -1;
	return 0;
}

int
worker_poll_fd(const struct worker *w)
{
	if (w->att.on)
		return w->att.ep;
	return w->lost ? -1 : w->sock;
}

size_t
worker_own_fds(const struct worker *w, int *fds, size_t max)
{
	const int	 all[] = { w->sock, w->sigfd, w->att.ep, w->att.lsock,
			    w->att.spool, w->att.tfd };
	size_t		 i, n = 0;

	for (i = 0; i < sizeof(all) / sizeof(all[0]) && n < max; i++)
		if (all[i] != -1)
			fds[n++] = all[i];
	return n;
}

static int
worker_send_msg(struct worker *w, int rc, const struct pf_err *err)
{
	if (rc == -1) {
		/* Our own message failed to encode: a bug or no memory. */
		log_warnx("%s", err->msg);
		return -1;
	}
	return worker_send(w, &w->frame);
}

int
worker_send_started(struct worker *w, pid_t pid, uint64_t time_ms)
{
	struct proto_started	 st;
	struct pf_err		 err;

	st.pid = (uint32_t)pid;
	st.time_ms = time_ms;
	return worker_send_msg(w, proto_started_encode(&st, &w->frame, &err),
	    &err);
}

int
worker_send_output(struct worker *w, uint8_t stream, const void *p,
    size_t n)
{
	struct pf_err	 err;

	return worker_send_msg(w, proto_output_encode(stream, p, n,
	    &w->frame, &err), &err);
}

static int
worker_send_result(struct worker *w, const struct proto_result *res)
{
	struct pf_err	 err;

	return worker_send_msg(w, proto_result_encode(res, &w->frame, &err),
	    &err);
}

int
worker_sock_readable(struct worker *w)
{
	char	 buf[4096];
	ssize_t	 n;

	if (w->att.on) {
		attach_events(w);
		return 0;
	}
	n = read(w->sock, buf, sizeof(buf));
	if (n > 0) {
		if (!w->extra_warned)
			log_warnx("ignoring bytes the supervisor sent after "
			    "the SPEC");
		w->extra_warned = 1;
		return 0;
	}
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n == 0)
		log_warnx("the supervisor closed the channel");
	else
		log_warn("reading from the supervisor");
	w->lost = 1;
	return -1;
}

/*
 * The process set-up, in order: signals become events on a signalfd
 * (SIGCHLD must not be ignored, or children are reaped behind our back);
 * the worker becomes a child subreaper so orphaned descendants of the
 * task come back to it; the channel is non-blocking and not inherited.
 */
static int
worker_setup(struct worker *w)
{
	struct sigaction sa;
	sigset_t	 set;
	int		 fl;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGCHLD, &sa, NULL) == -1)
		return -1;
	sa.sa_handler = SIG_IGN;	/* EPIPE from write() instead */
	if (sigaction(SIGPIPE, &sa, NULL) == -1)
		return -1;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) == -1)
		return -1;
	if ((w->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) == -1)
		return -1;
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == -1)
		return -1;
	if ((fl = fcntl(w->sock, F_GETFL)) == -1 ||
	    fcntl(w->sock, F_SETFL, fl | O_NONBLOCK) == -1 ||
	    fcntl(w->sock, F_SETFD, FD_CLOEXEC) == -1)
		return -1;
	return 0;
}

int
worker_read_signals(struct worker *w)
{
	struct signalfd_siginfo	 si;
	int			 sig = 0;

	while (read(w->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		if (sig == 0 && si.ssi_signo != SIGCHLD)
			sig = (int)si.ssi_signo;
	if (sig != 0 && w->swallow_stop) {
		/*
		 * A supervisor that re-attached does not know its predecessor
		 * (or this worker's own timeout) stopped the task already: its
		 * stop is the same stop, and must not cut the grace short.
		 */
		w->swallow_stop = 0;
		log_info("SIG%s: the task is being stopped already; its grace "
		    "period goes on", sigabbrev_np(sig) ? sigabbrev_np(sig) :
		    "?");
		return 0;
	}
	if (sig != 0)
		w->stop_seen = 1;
	return sig;
}

/*
 * Reads frames until one SPEC is complete.  Returns 0 with *spec
 * decoded, 1 when a stop signal came first, -1 with err set when the
 * supervisor broke the protocol or went away.
 */
static int
worker_read_spec(struct worker *w, struct proto_spec *spec,
    struct pf_err *err)
{
	struct frame_reader	 r;
	struct frame_asm	 a;
	struct frame		 f;
	struct pollfd		 pfd[2];
	struct pf_err		 e;
	int			 rc, ret = -1;

	frame_reader_init(&r, FRAME_PAYLOAD_MAX);
	frame_asm_init(&a, PROTO_SPEC_MAX);
	for (;;) {
		while ((rc = frame_reader_next(&r, &f, &e)) == 1) {
			if (f.type != PROTO_MSG_SPEC) {
				pf_err_set(err, "bad SPEC: expected a SPEC "
				    "frame (type %u), got type %u (%s)",
				    PROTO_MSG_SPEC, f.type,
				    proto_msg_name(f.type));
				goto out;
			}
			if ((rc = frame_asm_add(&a, &f, &e)) == -1) {
				pf_err_set(err, "bad SPEC: %s", e.msg);
				goto out;
			}
			if (rc == 1) {
				if (proto_spec_decode(a.body.data, a.body.len,
				    spec, &e) == -1) {
					pf_err_set(err, "bad SPEC: %s", e.msg);
					goto out;
				}
				ret = 0;
				goto out;
			}
		}
		if (rc == -1) {
			pf_err_set(err, "bad SPEC: %s", e.msg);
			goto out;
		}
		if (r.eof) {
			if (a.nframes > 0)
				pf_err_set(err, "the supervisor closed the "
				    "channel in the middle of a SPEC (after "
				    "%zu frames)", a.nframes);
			else
				pf_err_set(err, "the supervisor closed the "
				    "channel before sending a SPEC");
			goto out;
		}
		pfd[0].fd = w->sock;
		pfd[0].events = POLLIN;
		pfd[1].fd = w->sigfd;
		pfd[1].events = POLLIN;
		if (poll(pfd, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			pf_err_set(err, "poll: %s", strerror(errno));
			goto out;
		}
		if (pfd[1].revents && worker_read_signals(w) != 0) {
			ret = 1;
			goto out;
		}
		if (pfd[0].revents && frame_reader_read(&r, w->sock) == -1 &&
		    errno != EAGAIN && errno != EINTR && errno != EPROTO) {
			pf_err_set(err, "reading the SPEC: %s",
			    strerror(errno));
			goto out;
		}
	}
out:
	frame_reader_free(&r);
	frame_asm_free(&a);
	return ret;
}

/*
 * The worker's own peak RSS.  Not getrusage(): its ru_maxrss also counts
 * the image the worker was exec'd from (the supervisor's, when spawned
 * the vfork way), which says nothing about the worker.
 */
static uint64_t
worker_peak_rss_kib(void)
{
	char		 buf[2048], *p;

	if (readfile_small("/proc/self/status", buf, sizeof(buf)) <= 0)
		return 0;
	if ((p = strstr(buf, "\nVmHWM:")) == NULL)
		return 0;
	return strtoull(p + 7, NULL, 10);
}

void
worker_result_error(struct proto_result *res, uint8_t status,
    const char *fmt, ...)
{
	char	 msg[PROTO_ERROR_MAX];
	va_list	 ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	res->status = status;
	pf_free(res->error);
	res->error = pf_strdup(msg);
}

int
worker_run(int fd)
{
	struct worker		 w;
	struct proto_spec	 spec;
	struct proto_result	 res;
	struct pf_err		 err;
	int			 rc, ret = WORKER_EXIT_OK;

	memset(&w, 0, sizeof(w));
	w.sock = fd;
	w.sigfd = -1;
	attach_init(&w.att);
	buf_init(&w.frame, 0);
	proto_spec_init(&spec);
	proto_result_init(&res);

	if (worker_setup(&w) == -1) {
		log_warn("setting up the worker process");
		ret = WORKER_EXIT_FAIL;
		goto out;
	}
	rc = worker_read_spec(&w, &spec, &err);
	if (rc == -1) {
		/* Tell the supervisor why, if it still listens. */
		log_warnx("%s", err.msg);
		worker_result_error(&res, PROTO_ST_INTERNAL_ERROR, "%s",
		    err.msg);
		(void)worker_send_result(&w, &res);
		ret = WORKER_EXIT_FAIL;
		goto out;
	}
	if (rc == 1) {
		log_info("stopped before the SPEC arrived");
		worker_result_error(&res, PROTO_ST_KILLED,
		    "stopped before the task started");
	} else if (attach_open(&w, &spec, &err) == -1) {
		/* It could not outlive a supervisor crash: do not start. */
		log_warnx("re-attach: %s", err.msg);
		worker_result_error(&res, PROTO_ST_SPAWN_ERROR, "re-attach: %s",
		    err.msg);
	} else if ((spec.executor == PROTO_EXEC_SHELL && spec.namespaces ?
	    sandbox_prepare(&spec, w.home, sizeof(w.home), &err) :
	    sandbox_apply(&spec, w.home, sizeof(w.home), &err)) == -1) {
		/* Nothing of the task ran: it never runs unconfined. */
		log_warnx("sandbox: %s", err.msg);
		worker_result_error(&res, PROTO_ST_SPAWN_ERROR, "sandbox: %s",
		    err.msg);
	} else {
		log_debug("attempt %llu: task %s of run %s, %s executor",
		    (unsigned long long)spec.attempt_id, spec.task_name,
		    spec.run_id, proto_exec_name(spec.executor));
		switch (spec.executor) {
		case PROTO_EXEC_SHELL:
			rc = exec_shell_run(&w, &spec, &res);
			break;
#ifndef PF_WORKER_SHELL_ONLY
		case PROTO_EXEC_SSH:
			rc = exec_ssh_run(&w, &spec, &res);
			break;
		case PROTO_EXEC_HTTP:
			rc = exec_http_run(&w, &spec, &res);
			break;
#endif
		default:
			/*
			 * pf-worker runs shell tasks only, so that it starts
			 * without loading libcurl and libssh2 (about 25 ms a
			 * task here); pf-worker-net runs every executor.
			 */
			worker_result_error(&res, PROTO_ST_INTERNAL_ERROR,
			    "the %s executor is not available in this "
			    "worker (ssh and http tasks run in pf-worker-net)",
			    proto_exec_name(spec.executor));
			log_warnx("%s", res.error ? res.error : "");
			break;
		}
		if (rc == -1) {
			/* The supervisor is gone: no one to send RESULT to. */
			ret = WORKER_EXIT_FAIL;
			goto out;
		}
	}
	res.worker_rss_kib = worker_peak_rss_kib();
	if (w.timed_out) {
		res.timed_out = true;
		if (res.status == PROTO_ST_KILLED)
			worker_result_error(&res, PROTO_ST_KILLED, "timed out "
			    "after %" PRIu64 " ms (kept by the worker while no "
			    "supervisor was attached)", spec.timeout_ms);
	}
	if (worker_send_result(&w, &res) == -1)
		ret = WORKER_EXIT_FAIL;
	attach_linger(&w);
	/* Leaving with nobody attached: nothing of the attempt stays. */
	if (w.att.on && w.sock == -1)
		cgexit_leave();
out:
	attach_close(&w.att);
	proto_spec_free(&spec);
	proto_result_free(&res);
	buf_free(&w.frame);
	if (w.sigfd != -1)
		close(w.sigfd);
	return ret;
}
