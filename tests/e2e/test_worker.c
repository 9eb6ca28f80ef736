/*
 * pf-worker end to end: the real binary, driven over its fd-3 socket as
 * the supervisor drives it.  Task commands may use /bin/sh here; the
 * worker itself never does.  Timing checks are upper bounds with wide
 * margins (shared, noisy machines), plus lower bounds only where the
 * worker must have waited.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "picoflow/alloc.h"
#include "picoflow/buf.h"
#include "picoflow/frame.h"
#include "picoflow/proto.h"
#include "../lib/proc.h"
#include "../lib/worker_harness.h"

#include "nsprobe.h"
#include "proctree.h"

/* Generous: valgrind and ASan make everything slower. */
#define T_RUN		30.0

/*
 * The worker's own peak RSS must not grow with the task's output.  The
 * plain build stays under 4 MiB; sanitizer shadow memory costs more.
 */
#if defined(__SANITIZE_ADDRESS__)
#define WORKER_RSS_MAX_KIB	(96 * 1024)
#else
#define WORKER_RSS_MAX_KIB	(16 * 1024)
#endif

static void
assert_clean(struct wh *h)
{
	cr_assert_eq(h->nbad, 0, "protocol violation: %s", h->bad);
	cr_assert_eq(h->nresult, 1, "exactly one RESULT (log: %s)",
	    h->log ? h->log : "");
}

static void
assert_worker_exit(struct wh *h, int code)
{
	cr_assert(h->reaped);
	cr_assert(WIFEXITED(h->status), "worker died from signal %d",
	    WIFSIGNALED(h->status) ? WTERMSIG(h->status) : 0);
	cr_assert_eq(WEXITSTATUS(h->status), code, "worker exit %d, log: %s",
	    WEXITSTATUS(h->status), h->log ? h->log : "");
}

/* Runs a shell SPEC to the end and checks the protocol was kept. */
static void
run_ok(struct wh *h, const struct proto_spec *s)
{
	cr_assert_eq(wh_run(h, s, T_RUN), 0, "worker did not finish");
	assert_clean(h);
	assert_worker_exit(h, 0);
}

static pid_t
read_pid(const char *path)
{
	char	*s;
	long	 v;

	cr_assert_eq(test_wait_file(path, T_RUN), 0, "%s never appeared",
	    path);
	/* The file exists; wait until the pid is written completely. */
	for (;;) {
		s = test_read(path, NULL);
		if (s != NULL && strchr(s, '\n') != NULL)
			break;
		free(s);
		usleep(10000);
	}
	v = strtol(s, NULL, 10);
	free(s);
	cr_assert_gt(v, 1);
	return (pid_t)v;
}

/* True when pid no longer exists (not even as a zombie). */
static int
gone(pid_t pid, double timeout_s)
{
	double	 end = wh_now() + timeout_s;

	while (kill(pid, 0) == 0 || errno != ESRCH) {
		if (wh_now() > end)
			return 0;
		usleep(10000);
	}
	return 1;
}

Test(worker, stdout_and_stderr_separately)
{
	struct proto_spec	 s;
	struct wh		 h;
	char			*args[] = { "-c", "printf 'out1\\n'; "
	    "printf 'err1\\n' >&2; printf out2", NULL };

	wh_shell_spec(&s, "/bin/sh", args);
	run_ok(&h, &s);
	cr_assert_eq(h.nstarted, 1);
	cr_assert_gt(h.started.pid, 1);
	cr_assert_gt(h.started.time_ms, 1600000000000ULL);
	cr_assert_str_eq(wh_out(&h, 1), "out1\nout2");
	cr_assert_str_eq(wh_out(&h, 2), "err1\n");
	cr_assert_eq(h.result.status, PROTO_ST_OK);
	cr_assert_eq(h.result.exit_code, 0);
	cr_assert_eq(h.result.signal, 0);
	cr_assert_eq(h.result.stdout_bytes, 9);
	cr_assert_eq(h.result.stderr_bytes, 5);
	cr_assert_eq(h.result.dropped, 0);
	cr_assert_not(h.result.truncated);
	cr_assert_null(h.result.error);
	cr_assert_gt(h.result.worker_rss_kib, 0);
	wh_free(&h);
}

Test(worker, args_are_passed_without_a_shell)
{
	struct proto_spec	 s;
	struct wh		 h;

	wh_shell_spec(&s, "/usr/bin/printf", (char *[]){ "[%s]", "a b",
	    "$HOME", "", "*", ";echo x", NULL });
	run_ok(&h, &s);
	cr_assert_str_eq(wh_out(&h, 1), "[a b][$HOME][][*][;echo x]");
	cr_assert_eq(h.result.status, PROTO_ST_OK);
	wh_free(&h);
}

Test(worker, exit_codes)
{
	struct proto_spec	 s;
	struct wh		 h;
	char			*dir = test_tmpdir("worker");
	char			*script;

	wh_shell_spec(&s, "/bin/true", NULL);
	run_ok(&h, &s);
	cr_assert_eq(h.result.status, PROTO_ST_OK);
	cr_assert_eq(h.result.exit_code, 0);
	wh_free(&h);

	wh_shell_spec(&s, "/bin/false", NULL);
	run_ok(&h, &s);
	cr_assert_eq(h.result.status, PROTO_ST_FAILED);
	cr_assert_eq(h.result.exit_code, 1);
	cr_assert_str_eq(h.result.error, "the task exited with status 1");
	wh_free(&h);

	/* A real program exiting 127 is a failure, not an exec error. */
	script = test_write(dir, "exit127", "#!/bin/sh\nexit 127\n");
	cr_assert_eq(chmod(script, 0755), 0);
	wh_shell_spec(&s, script, NULL);
	run_ok(&h, &s);
	cr_assert_eq(h.nstarted, 1);
	cr_assert_eq(h.result.status, PROTO_ST_FAILED);
	cr_assert_eq(h.result.exit_code, 127);
	wh_free(&h);
	free(script);

	/* A task killed by a signal of its own. */
	wh_shell_spec(&s, "/bin/sh", (char *[]){ "-c", "kill -SEGV $$",
	    NULL });
	run_ok(&h, &s);
	cr_assert_eq(h.result.status, PROTO_ST_SIGNALED);
	cr_assert_eq(h.result.signal, SIGSEGV);
	cr_assert_eq(h.result.exit_code, -1);
	cr_assert_str_eq(h.result.error, "the task died from SIGSEGV");
	wh_free(&h);
	test_rmrf(dir);
	free(dir);
}

/* Shell tasks in their own namespaces (as root), for the tests below. */
static bool	 with_ns;

/* An exec error: RESULT only, no STARTED, the worker itself succeeded. */
static void
expect_exec_error(const char *cmd, uint8_t status, const char *msg)
{
	struct proto_spec	 s;
	struct wh		 h;

	wh_shell_spec(&s, cmd, NULL);
	s.namespaces = with_ns;
	run_ok(&h, &s);
	cr_assert_eq(h.nstarted, 0, "%s: no task was started", cmd);
	cr_assert_eq(h.noutput, 0);
	cr_assert_eq(h.result.status, status, "%s: status %s", cmd,
	    proto_status_name(h.result.status));
	cr_assert_str_eq(h.result.error, msg);
	cr_assert_eq(h.result.exit_code, -1);
	wh_free(&h);
}

static void
exec_errors(void)
{
	char	*dir = test_tmpdir("worker");
	char	*plain, *nofmt, msg[4096];

	expect_exec_error("/nonexistent/nope", PROTO_ST_EXEC_ERROR,
	    "command not found: /nonexistent/nope");
	expect_exec_error("/etc/passwd", PROTO_ST_EXEC_ERROR,
	    "permission denied: /etc/passwd (not executable)");
	expect_exec_error("/tmp", PROTO_ST_EXEC_ERROR,
	    "permission denied: /tmp (a directory)");
	expect_exec_error("/etc/passwd/x", PROTO_ST_EXEC_ERROR,
	    "command not found: /etc/passwd/x (a path component is not a "
	    "directory)");

	plain = test_write(dir, "plain", "echo hi\n");
	cr_assert_eq(chmod(plain, 0644), 0);
	snprintf(msg, sizeof(msg), "permission denied: %s (not executable)",
	    plain);
	expect_exec_error(plain, PROTO_ST_EXEC_ERROR, msg);

	/* Executable, but neither ELF nor #!: never handed to a shell. */
	nofmt = test_write(dir, "nofmt", "echo hi\n");
	cr_assert_eq(chmod(nofmt, 0755), 0);
	snprintf(msg, sizeof(msg), "not an executable format: %s (a script "
	    "needs a #! line)", nofmt);
	expect_exec_error(nofmt, PROTO_ST_EXEC_ERROR, msg);
	free(plain);
	free(nofmt);
	test_rmrf(dir);
	free(dir);
}

Test(worker, exec_errors_are_not_exit_codes)
{
	if (wh_under_valgrind())
		cr_skip_test("exec errors look like exit 127 under valgrind");
	exec_errors();
}

/*
 * The same messages when the task's init reports them (nsinit.c): the
 * step that failed and errno come up a pipe, and EACCES is looked at by
 * the child, as the task's user.
 */
Test(worker, exec_errors_in_namespaces)
{
	struct proto_spec	 s;
	struct wh		 h;
	char			 line[256];

	if (geteuid() != 0)
		cr_skip_test("needs root for PID and mount namespaces");
	/* The supervisor's own probe: a chroot or a container may say no. */
	if (!nsprobe_run(line, sizeof(line)))
		cr_skip_test("%s", line);
	with_ns = true;
	exec_errors();
	wh_shell_spec(&s, "/bin/true", NULL);
	s.namespaces = true;
	s.workdir = "/nonexistent/dir";
	run_ok(&h, &s);
	cr_assert_eq(h.nstarted, 0);
	cr_assert_eq(h.result.status, PROTO_ST_SPAWN_ERROR);
	cr_assert_str_eq(h.result.error, "cannot change to workdir "
	    "/nonexistent/dir: No such file or directory");
	wh_free(&h);
	/* Entered as the task's user, not as the root worker. */
	s.workdir = "/root";
	s.run_as = (char *)"nobody";
	run_ok(&h, &s);
	cr_assert_eq(h.result.status, PROTO_ST_SPAWN_ERROR);
	cr_assert_str_eq(h.result.error, "cannot change to workdir "
	    "/root: Permission denied");
	wh_free(&h);
}

Test(worker, environment_is_exactly_the_specs)
{
	struct proto_spec	 s;
	struct wh		 h;
	struct passwd		*pw;
	char			 want[2048];
	char			*env[] = { "A=1", "B=two words", "EMPTY=",
	    NULL };
	char			*env2[] = { "PATH=/only/here", "HOME=/h",
	    "LANG=C", NULL };
	char			*worker_env[] = { "PF_LEAK=secret",
	    "HOME=/leak", "LANG=xx_XX", NULL };

	wh_shell_spec(&s, "/usr/bin/env", NULL);
	s.env = env;
	s.nenv = 3;
	/*
	 * The worker has an environment; the task must not see it.  It
	 * gets a PATH, its user's HOME and LANG=C.UTF-8 besides the SPEC's.
	 */
	cr_assert_not_null(pw = getpwuid(geteuid()));
	snprintf(want, sizeof(want), "A=1\nB=two words\nEMPTY=\n"
	    "PATH=/usr/local/bin:/usr/bin:/bin\nHOME=%s\nLANG=C.UTF-8\n",
	    pw->pw_dir);
	cr_assert_eq(wh_start(&h, worker_env), 0);
	cr_assert_eq(wh_send_spec(&h, &s), 0);
	cr_assert_eq(wh_collect(&h, T_RUN), 0);
	cr_assert_eq(wh_reap(&h, T_RUN), 0);
	assert_clean(&h);
	assert_worker_exit(&h, 0);
	cr_assert_str_eq(wh_out(&h, 1), want);
	wh_free(&h);

	/* A PATH, HOME or LANG of its own replaces the default. */
	s.env = env2;
	s.nenv = 3;
	run_ok(&h, &s);
	cr_assert_str_eq(wh_out(&h, 1), "PATH=/only/here\nHOME=/h\nLANG=C\n");
	wh_free(&h);

	/* run_as: the HOME of that user, whatever ours is. */
	if (geteuid() == 0 && (pw = getpwnam("nobody")) != NULL) {
		s.env = env;
		s.nenv = 3;
		s.run_as = (char *)"nobody";
		snprintf(want, sizeof(want), "A=1\nB=two words\nEMPTY=\n"
		    "PATH=/usr/local/bin:/usr/bin:/bin\nHOME=%s\n"
		    "LANG=C.UTF-8\n", pw->pw_dir);
		run_ok(&h, &s);
		cr_assert_str_eq(wh_out(&h, 1), want);
		wh_free(&h);
	}
}

Test(worker, workdir)
{
	struct proto_spec	 s;
	struct wh		 h;
	char			*dir = test_tmpdir("worker"), want[4096];

	wh_shell_spec(&s, "/bin/pwd", NULL);
	s.workdir = dir;
	run_ok(&h, &s);
	snprintf(want, sizeof(want), "%s\n", dir);
	cr_assert_str_eq(wh_out(&h, 1), want);
	wh_free(&h);

	if (wh_under_valgrind())
		cr_skip_test("spawn errors look like exit 127 under valgrind");
	s.workdir = "/nonexistent/dir";
	run_ok(&h, &s);
	cr_assert_eq(h.nstarted, 0);
	cr_assert_eq(h.result.status, PROTO_ST_SPAWN_ERROR);
	cr_assert_str_eq(h.result.error, "cannot change to workdir "
	    "/nonexistent/dir: No such file or directory");
	wh_free(&h);

	s.workdir = "/etc/passwd";
	run_ok(&h, &s);
	cr_assert_eq(h.result.status, PROTO_ST_SPAWN_ERROR);
	cr_assert_str_eq(h.result.error, "cannot change to workdir "
	    "/etc/passwd: Not a directory");
	wh_free(&h);
	test_rmrf(dir);
	free(dir);
}

/*
 * What the task inherits: stdin /dev/null, fds 0-2 only, its own
 * session and process group, default signal dispositions, no mask.
 * glibc's posix_spawn leaves its two internal signals (32, 33) ignored
 * in every child it starts; those are not ours to hand out.
 */
Test(worker, task_process_state)
{
	struct proto_spec	 s;
	struct wh		 h;
	char			 want[256];
	const char		*out, *ign;
	unsigned long long	 mask;

	wh_shell_spec(&s, "/bin/sh", (char *[]){ "-c",
	    "ls /proc/$$/fd; readlink /proc/$$/fd/0; "
	    "read pid comm state ppid pgrp sid rest < /proc/$$/stat; "
	    "echo \"$pid $pgrp $sid\"; "
	    /*
	     * Builtins only: the shell blocks every signal around the fork
	     * of a child, so a grep reading /proc/$$/status could see that.
	     */
	    "while read -r k v; do case $k in SigBlk:|SigIgn:) "
	    "printf '%s\\t%s\\n' \"$k\" \"$v\";; esac; "
	    "done < /proc/$$/status", NULL });
	run_ok(&h, &s);
	snprintf(want, sizeof(want), "0\n1\n2\n/dev/null\n%u %u %u\n"
	    "SigBlk:\t0000000000000000\nSigIgn:\t", h.started.pid,
	    h.started.pid, h.started.pid);
	out = wh_out(&h, 1);
	cr_assert_eq(strncmp(out, want, strlen(want)), 0, "got: %s\nwant: %s",
	    out, want);
	ign = out + strlen(want);
	mask = strtoull(ign, NULL, 16);
	cr_assert_eq(mask & ~0x180000000ULL, 0, "ignored signals: %s", ign);
	cr_assert_str_eq(wh_out(&h, 2), "");
	wh_free(&h);
}

/* The output cap on a 100 MiB stream: exact counts, bounded memory. */
Test(worker, output_cap_drops_and_counts)
{
	struct proto_spec	 s;
	struct wh		 h;
	size_t			 i;
	const uint64_t		 total = 104857600, cap = 1 << 20;

	wh_shell_spec(&s, "/usr/bin/head", (char *[]){ "-c", "104857600",
	    "/dev/zero", NULL });
	s.output_cap = cap;
	run_ok(&h, &s);
	cr_assert_eq(h.result.status, PROTO_ST_OK);
	cr_assert_eq(h.result.stdout_bytes, cap);
	cr_assert_eq(h.out[0].len, cap, "exactly the cap reached us");
	for (i = 0; i < h.out[0].len; i++)
		if (h.out[0].data[i] != 0)
			cr_assert_fail("byte %zu is %u", i, h.out[0].data[i]);
	cr_assert_eq(h.result.dropped, total - cap);
	cr_assert(h.result.truncated);
	cr_assert_geq(h.noutput, cap / PROTO_OUTPUT_CHUNK_MAX);
	cr_assert_gt(h.hwm_kib, 0, "the harness saw the worker's memory");
	if (!wh_under_valgrind()) {
		cr_assert_lt(h.result.worker_rss_kib, WORKER_RSS_MAX_KIB,
		    "worker peak RSS %llu KiB", (unsigned long long)
		    h.result.worker_rss_kib);
		cr_assert_lt(h.hwm_kib, WORKER_RSS_MAX_KIB, "sampled VmHWM "
		    "%llu KiB", (unsigned long long)h.hwm_kib);
	}
	wh_free(&h);
}

/* The default cap, 10 MiB, and both streams sharing it. */
Test(worker, output_cap_default_and_shared)
{
	struct proto_spec	 s;
	struct wh		 h;

	wh_shell_spec(&s, "/usr/bin/head", (char *[]){ "-c", "20000000",
	    "/dev/zero", NULL });
	run_ok(&h, &s);
	cr_assert_eq(h.result.stdout_bytes, PROTO_DEFAULT_OUTPUT_CAP);
	cr_assert_eq(h.out[0].len, PROTO_DEFAULT_OUTPUT_CAP);
	cr_assert_eq(h.result.dropped, 20000000 - PROTO_DEFAULT_OUTPUT_CAP);
	if (!wh_under_valgrind())
		cr_assert_lt(h.result.worker_rss_kib, WORKER_RSS_MAX_KIB);
	wh_free(&h);

	wh_shell_spec(&s, "/bin/sh", (char *[]){ "-c",
	    "head -c 600000 /dev/zero; head -c 600000 /dev/zero >&2",
	    NULL });
	s.output_cap = 1000000;
	run_ok(&h, &s);
	cr_assert_eq(h.result.stdout_bytes, 600000);
	cr_assert_eq(h.result.stderr_bytes, 400000);
	cr_assert_eq(h.out[1].len, 400000);
	cr_assert_eq(h.result.dropped, 200000);
	cr_assert(h.result.truncated);
	wh_free(&h);

	/* A cap of 0 keeps nothing and still counts. */
	wh_shell_spec(&s, "/bin/echo", (char *[]){ "hello", NULL });
	s.output_cap = 0;
	run_ok(&h, &s);
	cr_assert_eq(h.noutput, 0);
	cr_assert_eq(h.result.dropped, 6);
	cr_assert(h.result.truncated);
	wh_free(&h);
}

/* Closing stdout early does not end the task; the worker still waits. */
Test(worker, task_closing_stdout_is_waited_for)
{
	struct proto_spec	 s;
	struct wh		 h;

	wh_shell_spec(&s, "/bin/sh", (char *[]){ "-c",
	    "echo before; exec 1>&-; sleep 0.2; echo done >&2", NULL });
	run_ok(&h, &s);
	cr_assert_eq(h.result.status, PROTO_ST_OK);
	cr_assert_str_eq(wh_out(&h, 1), "before\n");
	cr_assert_str_eq(wh_out(&h, 2), "done\n");
	cr_assert_geq(h.result.duration_ms, 190, "the task ran %llu ms",
	    (unsigned long long)h.result.duration_ms);
	wh_free(&h);
}

/*
 * A background process holding the pipe must not keep the worker: it
 * drains for drain_ms after the task exits, then kills the rest.
 */
Test(worker, leftover_holding_the_pipe_is_killed)
{
	struct proto_spec	 s;
	struct wh		 h;
	char			*dir = test_tmpdir("worker"), cmd[4096];
	char			*marker;
	pid_t			 bg;
	double			 t0;

	if (asprintf(&marker, "%s/bg.pid", dir) == -1)
		cr_assert_fail("asprintf");
	snprintf(cmd, sizeof(cmd), "/bin/sleep 300 & echo $! > %s; "
	    "echo started", marker);
	wh_shell_spec(&s, "/bin/sh", (char *[]){ "-c", cmd, NULL });
	s.drain_ms = 100;
	t0 = wh_now();
	run_ok(&h, &s);
	cr_assert_lt(wh_now() - t0, 10.0, "the worker hung on the pipe");
	cr_assert_eq(h.result.status, PROTO_ST_OK);
	cr_assert_str_eq(wh_out(&h, 1), "started\n");
	bg = read_pid(marker);
	cr_assert(gone(bg, 1.0), "background sleep %ld survived", (long)bg);
	wh_free(&h);
	free(marker);
	test_rmrf(dir);
	free(dir);
}

/* A task that ignores SIGTERM is SIGKILLed after the grace period. */
Test(worker, sigterm_then_sigkill_after_grace)
{
	struct proto_spec	 s;
	struct wh		 h;
	char			*dir = test_tmpdir("worker"), cmd[4096];
	char			*marker;
	pid_t			 task;
	double			 t0, took;

	if (asprintf(&marker, "%s/task.pid", dir) == -1)
		cr_assert_fail("asprintf");
	snprintf(cmd, sizeof(cmd), "trap '' TERM; echo $$ > %s; echo ready; "
	    "while :; do /bin/sleep 0.05; done", marker);
	wh_shell_spec(&s, "/bin/sh", (char *[]){ "-c", cmd, NULL });
	s.kill_grace_ms = 300;
	cr_assert_eq(wh_start(&h, NULL), 0);
	cr_assert_eq(wh_send_spec(&h, &s), 0);
	cr_assert_eq(wh_wait_output(&h, 1, "ready\n", T_RUN), 0);
	task = read_pid(marker);
	t0 = wh_now();
	cr_assert_eq(kill(h.pid, SIGTERM), 0);
	cr_assert_eq(wh_collect(&h, T_RUN), 0);
	took = wh_now() - t0;
	cr_assert_eq(wh_reap(&h, T_RUN), 0);
	assert_clean(&h);
	assert_worker_exit(&h, 0);
	cr_assert_eq(h.result.status, PROTO_ST_KILLED);
	cr_assert_eq(h.result.signal, SIGKILL);
	cr_assert_str_eq(h.result.error, "stopped on request (SIGTERM to the "
	    "worker): the task was killed with SIGKILL after the 300 ms grace "
	    "period");
	cr_assert_geq(took, 0.25, "the grace period was not honoured");
	cr_assert_lt(took, 0.3 + 5.0, "kill took %.2f s", took);
	cr_assert(gone(task, 1.0), "the task survived");
	wh_free(&h);
	free(marker);
	test_rmrf(dir);
	free(dir);
}

/* A task that handles SIGTERM gets to finish its way within the grace. */
Test(worker, sigterm_handled_by_the_task)
{
	struct proto_spec	 s;
	struct wh		 h;

	wh_shell_spec(&s, "/bin/sh", (char *[]){ "-c",
	    "trap 'echo bye; exit 3' TERM; echo ready; "
	    "while :; do /bin/sleep 0.05; done", NULL });
	s.kill_grace_ms = 10000;
	cr_assert_eq(wh_start(&h, NULL), 0);
	cr_assert_eq(wh_send_spec(&h, &s), 0);
	cr_assert_eq(wh_wait_output(&h, 1, "ready\n", T_RUN), 0);
	cr_assert_eq(kill(h.pid, SIGTERM), 0);
	cr_assert_eq(wh_collect(&h, T_RUN), 0);
	cr_assert_eq(wh_reap(&h, T_RUN), 0);
	assert_clean(&h);
	cr_assert_eq(h.result.status, PROTO_ST_KILLED);
	cr_assert_eq(h.result.exit_code, 3);
	cr_assert_eq(h.result.signal, 0);
	cr_assert_str_eq(wh_out(&h, 1), "ready\nbye\n");
	cr_assert_str_eq(h.result.error, "stopped on request (SIGTERM to the "
	    "worker): the task exited with status 3");
	cr_assert_lt(h.result.duration_ms, 9000, "it did not wait for SIGKILL");
	wh_free(&h);
}

/*
 * A double-forked daemon in a session of its own that ignores SIGTERM:
 * the subreaper finds it and it is gone after the kill, like the task.
 */
static void
start_with_daemon(struct wh *h, const char *dir, pid_t *task, pid_t *daemon)
{
	struct proto_spec	 s;
	char			 cmd[8192], tpath[1024], dpath[1024];

	snprintf(tpath, sizeof(tpath), "%s/task.pid", dir);
	snprintf(dpath, sizeof(dpath), "%s/daemon.pid", dir);
	snprintf(cmd, sizeof(cmd),
	    "(/usr/bin/setsid /bin/sh -c 'trap \"\" TERM; echo $$ > %s; "
	    "exec /bin/sleep 300' &); "
	    "while [ ! -s %s ]; do /bin/sleep 0.01; done; "
	    "echo $$ > %s; echo ready; exec /bin/sleep 300",
	    dpath, dpath, tpath);
	wh_shell_spec(&s, "/bin/sh", (char *[]){ "-c", cmd, NULL });
	s.kill_grace_ms = 200;
	cr_assert_eq(wh_start(h, NULL), 0);
	cr_assert_eq(wh_send_spec(h, &s), 0);
	cr_assert_eq(wh_wait_output(h, 1, "ready\n", T_RUN), 0, "log: %s",
	    h->log ? h->log : "");
	*task = read_pid(tpath);
	*daemon = read_pid(dpath);
	/* It really escaped: a session leader, re-parented to the worker. */
	cr_assert_eq(getsid(*daemon), *daemon);
	cr_assert_neq(getsid(*daemon), getsid(*task));
}

Test(worker, setsid_double_fork_is_killed)
{
	struct wh	 h;
	char		*dir = test_tmpdir("worker");
	pid_t		 task, daemon;

	start_with_daemon(&h, dir, &task, &daemon);
	cr_assert_eq(kill(h.pid, SIGTERM), 0);
	cr_assert_eq(wh_collect(&h, T_RUN), 0);
	cr_assert_eq(wh_reap(&h, T_RUN), 0);
	assert_clean(&h);
	assert_worker_exit(&h, 0);
	cr_assert_eq(h.result.status, PROTO_ST_KILLED);
	cr_assert_eq(h.result.signal, SIGTERM, "exec'd sleep died from TERM");
	cr_assert(gone(task, 1.0), "task %ld survived", (long)task);
	cr_assert(gone(daemon, 1.0), "daemon %ld survived", (long)daemon);
	wh_free(&h);
	test_rmrf(dir);
	free(dir);
}

/* The supervisor goes away: everything dies at once, no RESULT. */
Test(worker, supervisor_gone_kills_everything)
{
	struct wh	 h;
	char		*dir = test_tmpdir("worker");
	pid_t		 task, daemon;
	double		 t0;

	start_with_daemon(&h, dir, &task, &daemon);
	t0 = wh_now();
	wh_close(&h);
	cr_assert_eq(wh_reap(&h, T_RUN), 0);
	cr_assert_lt(wh_now() - t0, 5.0, "no grace period when the "
	    "supervisor is gone");
	assert_worker_exit(&h, 1);
	cr_assert(strstr(h.log, "the supervisor closed the channel") != NULL,
	    "log: %s", h.log);
	cr_assert(gone(task, 1.0), "task %ld survived", (long)task);
	cr_assert(gone(daemon, 1.0), "daemon %ld survived", (long)daemon);
	wh_free(&h);
	test_rmrf(dir);
	free(dir);
}

/* A bad SPEC: the worker says why, exits non-zero, starts nothing. */
static void
expect_bad_spec(const void *bytes, size_t n, int shut, const char *msg)
{
	struct wh	 h;

	cr_assert_eq(wh_start(&h, NULL), 0);
	(void)wh_send(&h, bytes, n);
	if (shut)
		wh_shutdown(&h);
	cr_assert_eq(wh_collect(&h, T_RUN), 0);
	cr_assert_eq(wh_reap(&h, T_RUN), 0);
	assert_worker_exit(&h, 1);
	cr_assert(strstr(h.log, msg) != NULL, "expected \"%s\" in: %s", msg,
	    h.log);
	cr_assert_eq(h.nstarted, 0, "a task was started");
	cr_assert_eq(h.nbad, 0, "%s", h.bad);
	/* The reason also reaches the supervisor when it still listens. */
	cr_assert_eq(h.nresult, 1);
	cr_assert_eq(h.result.status, PROTO_ST_INTERNAL_ERROR);
	cr_assert(strstr(h.result.error, msg) != NULL, "%s", h.result.error);
	wh_free(&h);
}

Test(worker, malformed_spec_is_refused)
{
	struct proto_spec	 s;
	struct pf_buf		 b;
	struct pf_err		 err;
	char			*dir = test_tmpdir("worker"), marker[4096];
	uint8_t			 h[FRAME_HDR_LEN];

	expect_bad_spec("this is not a frame at all", 26, 0,
	    "bad SPEC: frame version 32 not supported");
	le32_put(h, FRAME_PAYLOAD_MAX + 1);
	h[4] = 1;
	h[5] = PROTO_MSG_SPEC;
	le16_put(h + 6, 0);
	expect_bad_spec(h, sizeof(h), 0, "bad SPEC: frame of type 1 announces "
	    "65537 payload bytes, over this channel's limit of 65536");
	expect_bad_spec("", 0, 1, "the supervisor closed the channel before "
	    "sending a SPEC");

	/* A SPEC that would create a file, cut short: no file appears. */
	snprintf(marker, sizeof(marker), "%s/created", dir);
	wh_shell_spec(&s, "/usr/bin/touch", (char *[]){ marker, NULL });
	buf_init(&b, 0);
	cr_assert_eq(proto_spec_encode(&s, &b, &err), 0);
	expect_bad_spec(b.data, b.len - 5, 1, "bad SPEC: truncated frame: "
	    "type 1 announces");
	cr_assert_eq(access(marker, F_OK), -1, "the task ran");

	/* The wrong first message, and a SPEC missing a required field. */
	frame_begin(&b, PROTO_MSG_RESULT);
	frame_add_u8(&b, PROTO_RESULT_STATUS, PROTO_ST_OK);
	frame_end(&b);
	expect_bad_spec(b.data, b.len, 0, "bad SPEC: expected a SPEC frame "
	    "(type 1), got type 4 (RESULT)");
	frame_begin(&b, PROTO_MSG_SPEC);
	frame_add_u64(&b, PROTO_SPEC_ATTEMPT_ID, 1);
	frame_add_str(&b, PROTO_SPEC_TASK_NAME, "t");
	frame_add_u8(&b, PROTO_SPEC_EXECUTOR, PROTO_EXEC_SHELL);
	frame_add_str(&b, PROTO_SPEC_COMMAND, "/usr/bin/touch");
	frame_end(&b);
	expect_bad_spec(b.data, b.len, 0, "bad SPEC: SPEC: missing required "
	    "field run_id (tag 2)");

	/* A continued SPEC whose last frame never comes. */
	buf_reset(&b);
	frame_append(&b, PROTO_MSG_SPEC, FRAME_F_MORE, "\x01\x00", 2);
	expect_bad_spec(b.data, b.len, 1, "the supervisor closed the channel "
	    "in the middle of a SPEC (after 1 frames)");
	buf_free(&b);
	test_rmrf(dir);
	free(dir);
}

Test(worker, stop_before_the_spec)
{
	struct wh	 h;

	cr_assert_eq(wh_start(&h, NULL), 0);
	cr_assert_eq(wh_wait_ready(&h, T_RUN), 0);
	cr_assert_eq(kill(h.pid, SIGTERM), 0);
	cr_assert_eq(wh_collect(&h, T_RUN), 0);
	cr_assert_eq(wh_reap(&h, T_RUN), 0);
	assert_clean(&h);
	assert_worker_exit(&h, 0);
	cr_assert_eq(h.nstarted, 0);
	cr_assert_eq(h.result.status, PROTO_ST_KILLED);
	cr_assert_str_eq(h.result.error, "stopped before the task started");
	wh_free(&h);
}

/* The workflow format's maxima: 256 arguments, ~1 MiB over 16 frames. */
Test(worker, large_spec_over_many_frames)
{
	struct proto_spec	 s;
	struct wh		 h;
	char			*args[257], *big;
	size_t			 i;

	big = pf_malloc(4097);
	memset(big, 'x', 4096);
	big[4096] = '\0';
	args[0] = "-c";
	args[1] = "echo $# ${#1} ${#253}";
	args[2] = "zero";
	for (i = 3; i < 256; i++)
		args[i] = big;
	args[256] = NULL;
	wh_shell_spec(&s, "/bin/sh", args);
	run_ok(&h, &s);
	cr_assert_str_eq(wh_out(&h, 1), "253 4096 4096\n");
	wh_free(&h);
	pf_free(big);
}

/* pf-worker runs shell tasks only and says where the others run. */
Test(worker, shell_worker_refuses_remote_executors)
{
	struct proto_spec	 s;
	struct wh		 h;

	wh_shell_spec(&s, "/bin/true", NULL);
	s.executor = PROTO_EXEC_HTTP;
	s.http.url = "http://127.0.0.1:9/";
	s.http.method = "GET";
	s.http.timeout = 5;
	run_ok(&h, &s);
	cr_assert_eq(h.nstarted, 0);
	cr_assert_eq(h.result.status, PROTO_ST_INTERNAL_ERROR);
	cr_assert_str_eq(h.result.error, "the http executor is not available "
	    "in this worker (ssh and http tasks run in pf-worker-net)");
	wh_free(&h);
}

/* In pf-worker-net an ssh SPEC reaches the ssh executor. */
Test(worker, ssh_spec_reaches_its_executor)
{
	struct proto_spec	 s;
	struct wh		 h;

	wh_binary("pf-worker-net");
	wh_shell_spec(&s, "/bin/true", NULL);
	s.executor = PROTO_EXEC_SSH;
	s.ssh.host = "127.0.0.1";
	s.ssh.user = "nobody";
	s.ssh.command = "true";
	s.ssh.key_path = "/nonexistent/picoflow-test-key";
	s.ssh.port = 22;
	run_ok(&h, &s);
	cr_assert_eq(h.nstarted, 0);
	cr_assert_eq(h.result.status, PROTO_ST_EXEC_ERROR);
	cr_assert_not_null(h.result.error);
	cr_assert(strstr(h.result.error, "/nonexistent/picoflow-test-key") !=
	    NULL, "%s", h.result.error);
	wh_free(&h);
}

Test(worker, usage_and_missing_fd)
{
	struct proc_result	 r;
	char			*argv[] = { NULL, "--bogus", NULL };
	char			*argv_fd[] = { NULL, "--fd", "7", NULL };

	argv[0] = argv_fd[0] = pf_strdup(test_bin("pf-worker"));
	cr_assert_eq(proc_run(argv, NULL, T_RUN, &r), 0);
	cr_assert_eq(r.exit_code, 2);
	cr_assert(strstr(r.err, "usage: pf-worker") != NULL, "%s", r.err);
	proc_result_free(&r);
	cr_assert_eq(proc_run(argv_fd, NULL, T_RUN, &r), 0);
	cr_assert_eq(r.exit_code, 2);
	cr_assert(strstr(r.err, "no supervisor socket on fd 7") != NULL, "%s",
	    r.err);
	proc_result_free(&r);
	pf_free(argv[0]);
}

/* proctree finds grandchildren of a process and nothing else. */
Test(worker, proctree_finds_descendants)
{
	pid_t	*pids;
	size_t	 n, i;
	pid_t	 child;
	int	 p[2], found_child = 0, st;
	char	 c;

	cr_assert_eq(pipe(p), 0);
	if ((child = fork()) == 0) {
		/* The child starts a grandchild and waits to be killed. */
		if (fork() == 0) {
			close(p[0]);
			if (write(p[1], "g", 1) != 1)
				_exit(1);
			pause();
			_exit(0);
		}
		pause();
		_exit(0);
	}
	close(p[1]);
	cr_assert_eq(read(p[0], &c, 1), 1);
	close(p[0]);
	cr_assert_eq(proctree_descendants(getpid(), &pids, &n), 0);
	cr_assert_geq(n, 2, "child and grandchild");
	for (i = 0; i < n; i++) {
		cr_assert_neq(pids[i], getpid());
		if (pids[i] == child)
			found_child = 1;
	}
	cr_assert(found_child);
	pf_free(pids);
	cr_assert_eq(proctree_descendants(child, &pids, &n), 0);
	cr_assert_eq(n, 1, "only the grandchild");
	cr_assert_eq(proctree_signal(0, SIGKILL) >= 2, 1);
	pf_free(pids);
	waitpid(child, &st, 0);
	cr_assert(WIFSIGNALED(st));
}
