/*
 * pf-worker outliving its supervisor (worker/attach.h): the real binary,
 * driven as the supervisor drives it, then the supervisor's socket
 * closed and a new connection made to the attempt's socket, as a
 * restarted supervisor does.  Every wait has an upper bound with a wide
 * margin; lower bounds only where the worker must have waited.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "picoflow/frame.h"
#include "picoflow/proto.h"
#include "../lib/proc.h"
#include "../lib/worker_harness.h"

#define T_RUN		30.0
#define ATTEMPT		4242

/* A shell SPEC for `sh -c script` that survives its supervisor. */
static void
spec_sh(struct proto_spec *s, char **args, const char *dir,
    const char *script, uint32_t window_ms, uint64_t timeout_ms)
{
	args[0] = "-c";
	args[1] = (char *)(uintptr_t)script;
	args[2] = NULL;
	wh_shell_spec(s, "/bin/sh", args);
	s->attempt_id = ATTEMPT;
	s->attach_dir = (char *)(uintptr_t)dir;
	s->attach_window_ms = window_ms;
	s->timeout_ms = timeout_ms;
	s->kill_grace_ms = 200;
}

static char *
att_path(const char *dir, const char *ext)
{
	char	*p;

	cr_assert(asprintf(&p, "%s/%d.%s", dir, ATTEMPT, ext) > 0);
	return p;
}

/* Connects to the attempt's socket; -1 when nobody listens. */
static int
att_connect(const char *dir)
{
	struct sockaddr_un	 sun;
	char			*p = att_path(dir, "sock");
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	cr_assert_lt(strlen(p), sizeof(sun.sun_path));
	strcpy(sun.sun_path, p);
	free(p);
	cr_assert_neq(fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), -1);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Makes h read from fd as if it were the worker's first channel. */
static void
wh_adopt(struct wh *h, int fd)
{
	frame_reader_free(&h->r);
	frame_reader_init(&h->r, FRAME_PAYLOAD_MAX);
	buf_reset(&h->out[0]);
	buf_reset(&h->out[1]);
	h->nstarted = h->nresult = 0;
	h->noutput = 0;
	h->eof = 0;
	h->sock = fd;
}

/* The frames of a spool file, read by the same checks as a channel. */
static void
spool_read(struct wh *h, const char *dir)
{
	char	*p = att_path(dir, "spool");
	int	 fd = open(p, O_RDONLY | O_CLOEXEC);

	cr_assert_neq(fd, -1, "%s: %s", p, strerror(errno));
	free(p);
	wh_adopt(h, fd);
	cr_assert_eq(wh_collect(h, T_RUN), 0);
}

static char *
attach_dir(void)
{
	char	*dir = test_tmpdir("reattach");

	cr_assert_eq(chmod(dir, 0700), 0);
	return dir;
}

/*
 * The supervisor goes away during the task: the task goes on, and a new
 * connection gets everything from STARTED on, once, then the RESULT.
 */
Test(reattach_worker, task_survives_and_output_is_complete)
{
	struct wh		 h;
	struct proto_spec	 s;
	char			*args[3], *dir = attach_dir(), *mark, *out;
	char			 script[512];
	int			 fd;

	mark = att_path(dir, "mark");
	snprintf(script, sizeof(script), "echo before; sleep 1; "
	    "echo ran >> %s; echo after; echo err >&2", mark);
	spec_sh(&s, args, dir, script, 60000, 0);
	cr_assert_eq(wh_start(&h, NULL), 0);
	cr_assert_eq(wh_send_spec(&h, &s), 0);
	cr_assert_eq(wh_wait_output(&h, PROTO_STDOUT, "before", T_RUN), 0);
	wh_close(&h);
	/* The task finishes on its own, with no one attached. */
	cr_assert_eq(test_wait_file(mark, T_RUN), 0, "the task was stopped");
	usleep(200 * 1000);
	cr_assert_eq(kill(h.pid, 0), 0, "the worker waits for a supervisor");
	cr_assert_neq(fd = att_connect(dir), -1, "connect: %s",
	    strerror(errno));
	wh_adopt(&h, fd);
	cr_assert_eq(wh_collect(&h, T_RUN), 0);
	cr_assert_eq(wh_reap(&h, T_RUN), 0);
	cr_assert_eq(h.nbad, 0, "%s", h.bad);
	cr_assert_eq(h.nstarted, 1);
	cr_assert_eq(h.nresult, 1, "log: %s", h.log);
	cr_assert_eq(h.result.status, PROTO_ST_OK);
	cr_assert_str_eq(wh_out(&h, PROTO_STDOUT), "before\nafter\n");
	cr_assert_str_eq(wh_out(&h, PROTO_STDERR), "err\n");
	cr_assert(WIFEXITED(h.status) && WEXITSTATUS(h.status) == 0,
	    "log: %s", h.log);
	cr_assert_not_null(out = test_read(mark, NULL));
	cr_assert_str_eq(out, "ran\n", "the task ran once");
	free(out);
	free(mark);
	wh_free(&h);
	test_rmrf(dir);
	free(dir);
}

/* Re-attached while the task still runs: the stream goes on live. */
Test(reattach_worker, attach_while_running_streams_live)
{
	struct wh		 h;
	struct proto_spec	 s;
	char			*args[3], *dir = attach_dir();
	int			 fd;

	spec_sh(&s, args, dir, "echo one; sleep 1; echo two; sleep 1; "
	    "echo three", 60000, 0);
	cr_assert_eq(wh_start(&h, NULL), 0);
	cr_assert_eq(wh_send_spec(&h, &s), 0);
	cr_assert_eq(wh_wait_output(&h, PROTO_STDOUT, "one", T_RUN), 0);
	wh_close(&h);
	usleep(100 * 1000);
	cr_assert_neq(fd = att_connect(dir), -1);
	wh_adopt(&h, fd);
	cr_assert_eq(wh_wait_output(&h, PROTO_STDOUT, "one", T_RUN), 0);
	cr_assert_eq(h.nresult, 0, "the task still runs");
	cr_assert_eq(wh_collect(&h, T_RUN), 0);
	cr_assert_eq(wh_reap(&h, T_RUN), 0);
	cr_assert_eq(h.nbad, 0, "%s", h.bad);
	cr_assert_str_eq(wh_out(&h, PROTO_STDOUT), "one\ntwo\nthree\n");
	cr_assert_eq(h.result.status, PROTO_ST_OK);
	wh_free(&h);
	test_rmrf(dir);
	free(dir);
}

/*
 * Nobody comes back: the worker waits the window after the task ended,
 * then exits, leaving the RESULT in the spool and no process behind.
 */
Test(reattach_worker, window_ends_with_result_in_spool)
{
	struct wh		 h;
	struct proto_spec	 s;
	char			*args[3], *dir = attach_dir();
	double			 t0;

	spec_sh(&s, args, dir, "echo out; sleep 0.3", 700, 0);
	cr_assert_eq(wh_start(&h, NULL), 0);
	cr_assert_eq(wh_send_spec(&h, &s), 0);
	cr_assert_eq(wh_wait_started(&h, T_RUN), 0);
	t0 = wh_now();
	wh_close(&h);
	cr_assert_eq(wh_reap(&h, T_RUN), 0);
	cr_assert_geq(wh_now() - t0, 0.9, "the worker waited the window");
	cr_assert(WIFEXITED(h.status) && WEXITSTATUS(h.status) == 0,
	    "log: %s", h.log);
	cr_assert(strstr(h.log, "no supervisor re-attached") != NULL,
	    "log: %s", h.log);
	cr_assert_eq(att_connect(dir), -1, "nobody listens any more");
	spool_read(&h, dir);
	cr_assert_eq(h.nbad, 0, "%s", h.bad);
	cr_assert_eq(h.nstarted, 1);
	cr_assert_eq(h.nresult, 1);
	cr_assert_eq(h.result.status, PROTO_ST_OK);
	cr_assert_str_eq(wh_out(&h, PROTO_STDOUT), "out\n");
	wh_free(&h);
	test_rmrf(dir);
	free(dir);
}

/* Detached, the worker keeps the task's timeout itself. */
Test(reattach_worker, timeout_kept_while_detached)
{
	struct wh		 h;
	struct proto_spec	 s;
	char			*args[3], *dir = attach_dir();
	double			 t0;

	spec_sh(&s, args, dir, "exec sleep 60", 300, 800);
	t0 = wh_now();
	cr_assert_eq(wh_start(&h, NULL), 0);
	cr_assert_eq(wh_send_spec(&h, &s), 0);
	cr_assert_eq(wh_wait_started(&h, T_RUN), 0);
	wh_close(&h);
	cr_assert_eq(wh_reap(&h, T_RUN), 0);
	cr_assert_lt(wh_now() - t0, 20.0, "stopped long before sleep 60");
	spool_read(&h, dir);
	cr_assert_eq(h.nresult, 1, "log: %s", h.log);
	cr_assert_eq(h.result.status, PROTO_ST_KILLED);
	cr_assert(h.result.timed_out);
	cr_assert(h.result.error != NULL &&
	    strstr(h.result.error, "timed out") != NULL);
	wh_free(&h);
	test_rmrf(dir);
	free(dir);
}

/* While one supervisor is attached, a second one gets nothing. */
Test(reattach_worker, second_supervisor_is_refused)
{
	struct wh		 h;
	struct proto_spec	 s;
	char			*args[3], *dir = attach_dir(), buf[64];
	int			 fd, fd2;

	spec_sh(&s, args, dir, "echo one; sleep 2", 60000, 0);
	cr_assert_eq(wh_start(&h, NULL), 0);
	cr_assert_eq(wh_send_spec(&h, &s), 0);
	cr_assert_eq(wh_wait_output(&h, PROTO_STDOUT, "one", T_RUN), 0);
	wh_close(&h);
	cr_assert_neq(fd = att_connect(dir), -1);
	wh_adopt(&h, fd);
	cr_assert_eq(wh_wait_output(&h, PROTO_STDOUT, "one", T_RUN), 0);
	cr_assert_neq(fd2 = att_connect(dir), -1);
	/* Closed by the worker, without a byte. */
	cr_assert_eq(read(fd2, buf, sizeof(buf)), 0);
	close(fd2);
	cr_assert_eq(wh_collect(&h, T_RUN), 0);
	cr_assert_eq(wh_reap(&h, T_RUN), 0);
	cr_assert_eq(h.result.status, PROTO_ST_OK);
	cr_assert(strstr(h.log, "refused a second supervisor") != NULL,
	    "log: %s", h.log);
	wh_free(&h);
	test_rmrf(dir);
	free(dir);
}

/* Another user may not attach, even where it can reach the socket. */
Test(reattach_worker, other_user_is_refused)
{
	struct wh		 h;
	struct proto_spec	 s;
	struct passwd		*pw;
	char			*args[3], *dir = attach_dir(), buf[64];
	int			 fd, st;
	pid_t			 pid;

	if (geteuid() != 0 || (pw = getpwnam("nobody")) == NULL)
		cr_skip_test("SKIPPED: needs root and a user 'nobody'");
	cr_assert_eq(chmod(dir, 0777), 0);
	spec_sh(&s, args, dir, "echo one; sleep 1", 60000, 0);
	cr_assert_eq(wh_start(&h, NULL), 0);
	cr_assert_eq(wh_send_spec(&h, &s), 0);
	cr_assert_eq(wh_wait_output(&h, PROTO_STDOUT, "one", T_RUN), 0);
	wh_close(&h);
	pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		char	*p = att_path(dir, "sock");

		if (chmod(p, 0777) == -1 || setgid(pw->pw_gid) == -1 ||
		    setuid(pw->pw_uid) == -1)
			_exit(3);
		if ((fd = att_connect(dir)) == -1)
			_exit(4);
		_exit(read(fd, buf, sizeof(buf)) == 0 ? 0 : 5);
	}
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child exit %d",
	    WEXITSTATUS(st));
	cr_assert_neq(fd = att_connect(dir), -1);
	wh_adopt(&h, fd);
	cr_assert_eq(wh_collect(&h, T_RUN), 0);
	cr_assert_eq(wh_reap(&h, T_RUN), 0);
	cr_assert_eq(h.result.status, PROTO_ST_OK);
	cr_assert(strstr(h.log, "only uid 0 may attach") != NULL, "log: %s",
	    h.log);
	wh_free(&h);
	test_rmrf(dir);
	free(dir);
}

/* Without an attach directory nothing changes: the task dies with it. */
Test(reattach_worker, without_attach_dir_the_task_stops)
{
	struct wh		 h;
	struct proto_spec	 s;
	char			*args[3], *dir = attach_dir();

	spec_sh(&s, args, dir, "echo one; exec sleep 60", 60000, 0);
	s.attach_dir = NULL;
	cr_assert_eq(wh_start(&h, NULL), 0);
	cr_assert_eq(wh_send_spec(&h, &s), 0);
	cr_assert_eq(wh_wait_output(&h, PROTO_STDOUT, "one", T_RUN), 0);
	wh_close(&h);
	cr_assert_eq(wh_reap(&h, 10.0), 0);
	cr_assert(strstr(h.log, "the supervisor closed the channel") != NULL,
	    "log: %s", h.log);
	wh_free(&h);
	test_rmrf(dir);
	free(dir);
}

/* An attach directory that cannot be used: the task never starts. */
Test(reattach_worker, unusable_attach_dir_fails_the_start)
{
	struct wh		 h;
	struct proto_spec	 s;
	char			*args[3];

	spec_sh(&s, args, "/nonexistent/picoflow-attach", "echo ran",
	    60000, 0);
	cr_assert_eq(wh_run(&h, &s, T_RUN), 0);
	cr_assert_eq(h.nresult, 1);
	cr_assert_eq(h.result.status, PROTO_ST_SPAWN_ERROR);
	cr_assert(strstr(h.result.error, "re-attach") != NULL, "%s",
	    h.result.error);
	cr_assert_str_eq(wh_out(&h, PROTO_STDOUT), "");
	wh_free(&h);
}

/*
 * The supervisor dies right after the SPEC: its successor may already
 * have looked for this worker's socket and found none, so nothing of the
 * task may run, and nothing may be left for a later one to find.
 */
Test(reattach_worker, supervisor_gone_before_the_task_started)
{
	struct wh		 h;
	struct proto_spec	 s;
	char			*args[3], *dir = attach_dir(), *mark, *sp, *so;
	char			 script[512];

	mark = att_path(dir, "mark");
	sp = att_path(dir, "spool");
	so = att_path(dir, "sock");
	snprintf(script, sizeof(script), "echo ran > %s", mark);
	spec_sh(&s, args, dir, script, 60000, 0);
	cr_assert_eq(wh_start(&h, NULL), 0);
	cr_assert_eq(wh_send_spec(&h, &s), 0);
	wh_close(&h);
	cr_assert_eq(wh_reap(&h, T_RUN), 0);
	cr_assert(WIFEXITED(h.status) && WEXITSTATUS(h.status) == 1,
	    "log: %s", h.log);
	cr_assert(strstr(h.log, "went away before the task started") != NULL,
	    "log: %s", h.log);
	usleep(200 * 1000);
	cr_assert_neq(access(mark, F_OK), 0, "the task ran");
	cr_assert_neq(access(sp, F_OK), 0, "a spool was left");
	cr_assert_neq(access(so, F_OK), 0, "a socket was left");
	free(mark);
	free(sp);
	free(so);
	wh_free(&h);
	test_rmrf(dir);
	free(dir);
}
