/*
 * The control socket's server when the process is out of descriptors:
 * accept() fails with EMFILE while the connection waits in the backlog,
 * so a watcher left on the listening socket would spin at full CPU and
 * flood the log.  The server must pause accepting, and serve the client
 * once descriptors are available again.
 */
#include <criterion/criterion.h>

#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "picoflow/buf.h"
#include "picoflow/ctl.h"
#include "picoflow/frame.h"
#include "control.h"
#include "../lib/proc.h"

static int	 served;

static void
serve(void *arg, const struct ctl_request *req, struct ctl_reply *rep)
{
	(void)arg;
	(void)req;
	served++;
	rep->ok = 1;
	rep->message = strdup("pong");
}

static void
on_stop(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)w;
	(void)revents;
	ev_break(loop, EVBREAK_ALL);
}

/* Runs the loop for s seconds of wall time. */
static void
run_for(struct ev_loop *loop, double s)
{
	ev_timer	 t;

	ev_timer_init(&t, on_stop, s, 0.);
	ev_timer_start(loop, &t);
	ev_run(loop, 0);
	ev_timer_stop(loop, &t);
}

static double
cpu_s(void)
{
	struct rusage	 ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

Test(control, out_of_descriptors_pauses_accepting_and_recovers,
    .timeout = 60)
{
	struct ev_loop		*loop = ev_loop_new(EVFLAG_AUTO);
	struct control		*ctl;
	struct pf_err		 err;
	struct ctl_request	 req;
	struct pf_buf		 b;
	struct sockaddr_un	 sa;
	struct rlimit		 old, low;
	struct pollfd		 pfd;
	unsigned char		 hdr[8];
	char			*dir, path[4200];
	double			 c0, used;
	int			 cfd, lowest, saved_stderr;

	cr_assert_not_null(loop);
	cr_assert_not_null(dir = test_tmpdir("control"));
	/* The server's warnings about the shortage go to the scratch dir. */
	snprintf(path, sizeof(path), "%s/log", dir);
	cr_assert_geq(saved_stderr = test_stderr_to(path), 0, "%s", path);
	snprintf(path, sizeof(path), "%s/control.sock", dir);
	cr_assert_eq(control_listen(loop, path, serve, NULL, &ctl, &err), 0,
	    "%s", err.msg);

	/* A client connects and sends its request; it waits in the backlog. */
	cr_assert_neq(cfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0),
	    -1);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	cr_assert_lt(strlen(path), sizeof(sa.sun_path));
	memcpy(sa.sun_path, path, strlen(path) + 1);
	cr_assert_eq(connect(cfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ctl_request_init(&req);
	req.cmd = CTL_CMD_STATUS;
	buf_init(&b, 0);
	cr_assert_eq(ctl_request_encode(&req, &b, &err), 0, "%s", err.msg);
	cr_assert_eq(write(cfd, b.data, b.len), (ssize_t)b.len);
	buf_free(&b);

	/* No descriptor left: the lowest free one is at the limit. */
	cr_assert_neq(lowest = dup(0), -1);
	close(lowest);
	cr_assert_eq(getrlimit(RLIMIT_NOFILE, &old), 0);
	low = old;
	low.rlim_cur = (rlim_t)lowest;
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
	cr_assert_eq(dup(0), -1);
	cr_assert_eq(errno, EMFILE);

	c0 = cpu_s();
	run_for(loop, 0.5);
	used = cpu_s() - c0;
	cr_assert_eq(served, 0);
	cr_assert_lt(used, 0.25, "the server spun on EMFILE: %.2f s of CPU "
	    "in 0.5 s", used);

	/* Descriptors again: the paused server accepts and answers. */
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &old), 0);
	run_for(loop, CONTROL_PAUSE_S + 1.0);
	cr_assert_eq(served, 1, "the client was not served after the "
	    "shortage");
	pfd.fd = cfd;
	pfd.events = POLLIN;
	cr_assert_eq(poll(&pfd, 1, 5000), 1);
	cr_assert_eq(read(cfd, hdr, sizeof(hdr)), (ssize_t)sizeof(hdr));
	cr_assert_eq(hdr[5], CTL_MSG_REPLY);

	close(cfd);
	control_close(ctl);
	ev_loop_destroy(loop);
	test_stderr_restore(saved_stderr);
	test_rmrf(dir);
	free(dir);
}
