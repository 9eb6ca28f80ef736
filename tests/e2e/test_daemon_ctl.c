/*
 * End-to-end: the control socket and reload.  trigger / cancel / status
 * / reload through the socket and through the picoflow commands, SIGHUP
 * with added, changed, removed and broken files, runs that keep the
 * definition they started with, hostile bytes on the socket, and
 * `picoflow daemon start|stop|status`.
 */
#include <criterion/criterion.h>

#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "picoflow/frame.h"
#include "control.h"
#include "../lib/daemon_harness.h"

TestSuite(ctl, .init = dt_setup, .fini = dt_teardown, .timeout = 180);

static char *
out_of_task(int64_t run, const char *task)
{
	char	 sql[256];

	snprintf(sql, sizeof(sql), "SELECT CAST(stdout AS TEXT) FROM "
	    "task_executions WHERE execution_id = %lld AND task_name = '%s'",
	    (long long)run, task);
	return dt_str(sql);
}

Test(ctl, trigger_status_cancel)
{
	struct ctl_reply	 rep, st;
	struct stat		 sb;
	int64_t			 id;

	dt_wf("slow.yaml",
	    "name: slow\n"
	    "tasks:\n"
	    "  - {name: a, type: shell, config: {command: /bin/sleep, "
	    "args: [\"60\"]}}\n"
	    "  - {name: b, type: shell, depends_on: [a], "
	    "config: {command: /bin/true}}\n");
	dt_start(NULL);
	cr_assert_eq(stat(dt_sock, &sb), 0);
	cr_assert(S_ISSOCK(sb.st_mode));
	cr_assert_eq(sb.st_mode & 0777, 0600, "socket mode %o",
	    sb.st_mode & 0777);

	dt_ctl(CTL_CMD_TRIGGER, "slow", -1, &rep);
	cr_assert_eq(rep.ok, 1, "%s", rep.message);
	id = rep.run_id;
	cr_assert_gt(id, 0);
	cr_assert_str_eq(rep.message, "started run 1 of 'slow'");
	ctl_reply_free(&rep);

	/* overlap: skip applies to triggers too. */
	dt_ctl(CTL_CMD_TRIGGER, "slow", -1, &rep);
	cr_assert_eq(rep.ok, 0);
	cr_assert_str_eq(rep.message, "not started: a run is in progress "
	    "(overlap: skip)");
	ctl_reply_free(&rep);

	dt_ctl(CTL_CMD_TRIGGER, "nope", -1, &rep);
	cr_assert_eq(rep.ok, 0);
	cr_assert_str_eq(rep.message, "no workflow named 'nope' is loaded");
	ctl_reply_free(&rep);

	dt_wait_int("SELECT count(*) FROM task_executions WHERE status = "
	    "'running'", 1, 30);
	dt_status(&st);
	cr_assert_eq(st.nruns, 1);
	cr_assert_eq(st.runs[0].run_id, id);
	cr_assert_str_eq(st.runs[0].workflow, "slow");
	cr_assert_str_eq(st.runs[0].trigger, "manual");
	cr_assert_eq(st.runs[0].scheduled_ms, -1);
	cr_assert_eq(st.tasks_running, 1);
	cr_assert_eq(st.pid, (uint32_t)dt_pid);
	cr_assert_eq(dt_find_wf(&st, "slow")->running, 1);
	cr_assert_eq(dt_find_wf(&st, "slow")->next_fire_ms, -1);
	ctl_reply_free(&st);

	dt_ctl(CTL_CMD_CANCEL, NULL, id + 100, &rep);
	cr_assert_eq(rep.ok, 0);
	ctl_reply_free(&rep);
	dt_ctl(CTL_CMD_CANCEL, NULL, id, &rep);
	cr_assert_eq(rep.ok, 1, "%s", rep.message);
	ctl_reply_free(&rep);
	dt_wait_int("SELECT count(*) FROM executions WHERE status = "
	    "'cancelled'", 1, 30);
	dt_str_eq("SELECT status FROM task_executions WHERE task_name = 'a'",
	    "cancelled");
	dt_status(&st);
	cr_assert_eq(st.nruns, 0);
	ctl_reply_free(&st);
	dt_stop(0);
}

/*
 * SIGHUP / reload: added, changed, removed, broken; a run in progress
 * finishes on the definition it started with; a broken file keeps its
 * last good version.
 */
Test(ctl, reload_added_changed_removed_broken)
{
	struct ctl_reply	 rep, st;
	char			*o;
	size_t			 i;
	int			 found_d = 0;

	dt_wf("a.yaml",
	    "name: a\n"
	    "env: {MSG: version-one}\n"
	    "tasks:\n"
	    "  - {name: t, type: shell, config: {command: /bin/sh, "
	    "args: [\"-c\", \"sleep 2; echo $MSG\"]}}\n");
	dt_wf("b.yaml", "name: b\nschedule: \"0 0 * * * *\"\ntasks: []\n");
	dt_wf("e.yaml",
	    "name: e\n"
	    "tasks:\n"
	    "  - {name: t, type: shell, config: {command: /bin/echo, "
	    "args: [good]}}\n");
	dt_start(NULL);
	dt_ctl(CTL_CMD_TRIGGER, "a", -1, &rep);
	cr_assert_eq(rep.ok, 1, "%s", rep.message);
	ctl_reply_free(&rep);

	dt_wf("a.yaml",
	    "name: a\n"
	    "env: {MSG: version-two}\n"
	    "tasks:\n"
	    "  - {name: t, type: shell, config: {command: /bin/sh, "
	    "args: [\"-c\", \"sleep 2; echo $MSG\"]}}\n");
	dt_rm_wf("b.yaml");
	/* A schedule that cannot fire during the test: run ids stay ours. */
	dt_wf("c.yaml", "name: c\nschedule: \"0 0 29 2 *\"\ntasks: []\n");
	dt_wf("d.yaml", "name: d\ntasks: [\n");
	dt_wf("e.yaml", "name: e\ntasks:\n  - {name: t, type: mail}\n");
	dt_ctl(CTL_CMD_RELOAD, NULL, -1, &rep);
	cr_assert_eq(rep.ok, 0, "broken files make the reload say so");
	cr_assert(strstr(rep.message, "reloaded: 1 added, 1 changed, 1 "
	    "removed, 0 unchanged, 2 broken") == rep.message, "%s",
	    rep.message);
	cr_assert(strstr(rep.message, "removed: b") != NULL, "%s",
	    rep.message);
	cr_assert(strstr(rep.message, "broken: ") != NULL);
	ctl_reply_free(&rep);

	dt_status(&st);
	cr_assert_eq(st.nwfs, 3);
	cr_assert_str_eq(st.wfs[0].name, "a");
	cr_assert_str_eq(st.wfs[1].name, "c");
	cr_assert_str_eq(st.wfs[2].name, "e");
	cr_assert_null(st.wfs[0].error);
	cr_assert_not_null(st.wfs[2].error, "e keeps its last good version");
	cr_assert_eq(dt_find_wf(&st, "c")->next_fire_ms % 60000, 0);
	cr_assert_gt(dt_find_wf(&st, "c")->next_fire_ms, 0);
	for (i = 0; i < st.nerrors; i++)
		if (strstr(st.errors[i], "d.yaml") != NULL)
			found_d = 1;
	cr_assert(found_d, "d.yaml's error is not in the status");
	ctl_reply_free(&st);

	/* Run 1 finishes on the old definition; run 2 uses the new. */
	dt_wait_int("SELECT count(*) FROM executions WHERE id = 1 AND status "
	    "= 'success'", 1, 30);
	o = out_of_task(1, "t");
	cr_assert_str_eq(o, "version-one\n");
	free(o);
	dt_ctl(CTL_CMD_TRIGGER, "a", -1, &rep);
	cr_assert_eq(rep.ok, 1, "%s", rep.message);
	ctl_reply_free(&rep);
	dt_ctl(CTL_CMD_TRIGGER, "e", -1, &rep);
	cr_assert_eq(rep.ok, 1, "the last good e runs: %s", rep.message);
	ctl_reply_free(&rep);
	dt_ctl(CTL_CMD_TRIGGER, "b", -1, &rep);
	cr_assert_eq(rep.ok, 0);
	ctl_reply_free(&rep);
	dt_wait_int("SELECT count(*) FROM executions WHERE status = "
	    "'success'", 3, 30);
	o = out_of_task(2, "t");
	cr_assert_str_eq(o, "version-two\n");
	free(o);
	o = out_of_task(3, "t");
	cr_assert_str_eq(o, "good\n");
	free(o);

	/* SIGHUP does the same; fixing e clears its error. */
	dt_wf("e.yaml", "name: e\ntasks: []\n");
	dt_wf("f.yaml", "name: f\ntasks: []\n");
	dt_rm_wf("d.yaml");
	kill(dt_pid, SIGHUP);
	{
		double	 t0 = dt_mono();

		for (;;) {
			dt_status(&st);
			if (st.nwfs == 4)
				break;
			ctl_reply_free(&st);
			cr_assert_lt(dt_mono() - t0, 30.0, "SIGHUP did not "
			    "reload");
			usleep(50000);
		}
	}
	cr_assert_str_eq(st.wfs[3].name, "f");
	cr_assert_null(dt_find_wf(&st, "e")->error);
	ctl_reply_free(&st);
	dt_stop(0);
	cr_assert(dt_log_has("'a' changed"));
	cr_assert(dt_log_has("'b' removed"));
	cr_assert(dt_log_has("'c' added"));
	cr_assert(dt_log_has("'e' keeps running on its last good version"));
}

/* A schedule that changes on reload fires on the new schedule. */
Test(ctl, reload_reschedules)
{
	dt_wf("s.yaml", "name: s\nschedule: \"0 0 1 1 *\"\ntasks: []\n");
	dt_start(NULL);
	sleep(2);
	cr_assert_eq(dt_int("SELECT count(*) FROM executions"), 0);
	dt_wf("s.yaml", "name: s\nschedule: \"* * * * * *\"\ntasks: []\n");
	kill(dt_pid, SIGHUP);
	dt_wait_int("SELECT count(*) FROM executions", 2, 30);
	dt_stop(0);
}

/* Connects to the control socket; returns the fd. */
static int
raw_connect(void)
{
	struct sockaddr_un	 sa;
	int			 fd;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	cr_assert_lt(strlen(dt_sock), sizeof(sa.sun_path));
	memcpy(sa.sun_path, dt_sock, strlen(dt_sock) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	cr_assert_geq(fd, 0);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* Sends bytes, reads the reply until EOF (at most 10 s). */
static size_t
raw_exchange(const void *p, size_t len, unsigned char *out, size_t cap)
{
	struct pollfd	 pfd;
	size_t		 got = 0;
	ssize_t		 n;
	int		 fd = raw_connect();

	if (len > 0)
		cr_assert_eq(write(fd, p, len), (ssize_t)len);
	shutdown(fd, SHUT_WR);
	pfd.fd = fd;
	pfd.events = POLLIN;
	while (got < cap && poll(&pfd, 1, 10000) == 1) {
		n = read(fd, out + got, cap - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	return got;
}

/* Hostile bytes on the socket: answered or dropped, never a crash. */
Test(ctl, hostile_socket_input)
{
	static const unsigned char junk[] = "GET / HTTP/1.0\r\n\r\n";
	unsigned char		 hdr[8], out[4096];
	struct ctl_reply	 st;
	struct pf_buf		 b;
	size_t			 n;
	int			 fds[CONTROL_CLIENTS_MAX], i;

	dt_wf("e.yaml", "name: e\ntasks: []\n");
	dt_start(NULL);

	/* Not a frame at all: the version byte is wrong. */
	n = raw_exchange(junk, sizeof(junk) - 1, out, sizeof(out));
	cr_assert_gt(n, 8);
	cr_assert_eq(out[5], CTL_MSG_REPLY);
	cr_assert(memmem(out, n, "bad request", 11) != NULL);

	/* A header announcing 1 MiB: refused before anything is buffered. */
	hdr[0] = 0x00; hdr[1] = 0x00; hdr[2] = 0x10; hdr[3] = 0x00;
	hdr[4] = FRAME_VERSION; hdr[5] = CTL_MSG_REQUEST; hdr[6] = hdr[7] = 0;
	n = raw_exchange(hdr, sizeof(hdr), out, sizeof(out));
	cr_assert(memmem(out, n, "bad request", 11) != NULL);

	/* A well-formed frame of the wrong message, and an unknown command. */
	buf_init(&b, 0);
	cr_assert_eq(frame_begin(&b, CTL_MSG_REPLY), 0);
	cr_assert_eq(frame_add_u8(&b, CTL_REP_OK, 1), 0);
	cr_assert_eq(frame_end(&b), 0);
	n = raw_exchange(b.data, b.len, out, sizeof(out));
	cr_assert(memmem(out, n, "expected a REQUEST", 18) != NULL);
	cr_assert_eq(frame_begin(&b, CTL_MSG_REQUEST), 0);
	cr_assert_eq(frame_add_u8(&b, CTL_REQ_CMD, 99), 0);
	cr_assert_eq(frame_end(&b), 0);
	n = raw_exchange(b.data, b.len, out, sizeof(out));
	cr_assert(memmem(out, n, "unknown command 99", 18) != NULL);
	/* A trigger without a workflow. */
	cr_assert_eq(frame_begin(&b, CTL_MSG_REQUEST), 0);
	cr_assert_eq(frame_add_u8(&b, CTL_REQ_CMD, CTL_CMD_TRIGGER), 0);
	cr_assert_eq(frame_end(&b), 0);
	n = raw_exchange(b.data, b.len, out, sizeof(out));
	cr_assert(memmem(out, n, "needs a workflow", 16) != NULL);
	buf_free(&b);

	/* Silent, half-open clients: dropped after the idle time. */
	n = raw_exchange(NULL, 0, out, sizeof(out));
	cr_assert_eq(n, 0);
	for (i = 0; i < CONTROL_CLIENTS_MAX; i++)
		fds[i] = raw_connect();
	sleep((unsigned)CONTROL_IDLE_S + 2);
	dt_status(&st);
	cr_assert_eq(st.nwfs, 1);
	ctl_reply_free(&st);
	for (i = 0; i < CONTROL_CLIENTS_MAX; i++)
		close(fds[i]);
	dt_stop(0);
}

/* The picoflow commands: daemon start/status/stop, trigger, cancel. */
Test(ctl, picoflow_commands)
{
	struct proc_result	 r;
	char			 pidf[4400];

	dt_wf("e.yaml", "name: e\ntasks:\n"
	    "  - {name: t, type: shell, config: {command: /bin/sleep, "
	    "args: [\"30\"]}}\n");
	dt_wf("x.yaml", "name: x\ntasks: [\n");

	dt_pf(&r, "daemon", "status", NULL, NULL);
	cr_assert_eq(r.exit_code, 1);
	cr_assert(strstr(r.out, "pf-supervisor is not running") != NULL,
	    "%s", r.out);
	proc_result_free(&r);
	dt_pf(&r, "trigger", "e", NULL, NULL);
	cr_assert_eq(r.exit_code, 1);
	cr_assert(strstr(r.err, "pf-supervisor is not running") != NULL,
	    "%s", r.err);
	proc_result_free(&r);

	/* A stale pidfile does not block the start. */
	mkdir(dt_state, 0700);
	snprintf(pidf, sizeof(pidf), "%s/pf-supervisor.pid", dt_state);
	free(test_write(dt_state, "pf-supervisor.pid", "1\n"));
	dt_pf(&r, "daemon", "start", dt_wfdir, NULL);
	cr_assert_eq(r.exit_code, 0, "%s%s", r.out, r.err);
	cr_assert(strstr(r.out, "pf-supervisor started (pid ") != NULL);
	proc_result_free(&r);
	dt_pf(&r, "daemon", "start", dt_wfdir, NULL);
	cr_assert_eq(r.exit_code, 1);
	cr_assert(strstr(r.err, "already running") != NULL, "%s", r.err);
	proc_result_free(&r);

	dt_pf(&r, "daemon", "status", NULL, NULL);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert(strstr(r.out, " running (pid ") != NULL, "%s", r.out);
	cr_assert(strstr(r.out, "x.yaml") != NULL, "the broken file is in "
	    "the recent errors: %s", r.out);
	cr_assert(strstr(r.out, "\nisolation: ") != NULL, "status says how "
	    "tasks are isolated: %s", r.out);
	cr_assert(strstr(r.out, "\nnamespaces: ") != NULL, "and whether "
	    "shell tasks get namespaces of their own: %s", r.out);
	proc_result_free(&r);
	dt_pf(&r, "--json", "daemon", "status", NULL);
	cr_assert_eq(r.exit_code, 0);
	cr_assert(strncmp(r.out, "{\"running\":true,\"pid\":", 22) == 0,
	    "%s", r.out);
	cr_assert(strstr(r.out, "\"name\":\"e\"") != NULL);
	cr_assert(strstr(r.out, "\"isolation_mode\":\"v2\"") != NULL ||
	    strstr(r.out, "\"isolation_mode\":\"hybrid\"") != NULL ||
	    strstr(r.out, "\"isolation_mode\":\"v1\"") != NULL ||
	    strstr(r.out, "\"isolation_mode\":\"none\"") != NULL, "%s", r.out);
	cr_assert(strstr(r.out, "\"isolation\":\"isolation: ") != NULL,
	    "%s", r.out);
	cr_assert(strstr(r.out, "\"namespaces\":\"namespaces: ") != NULL,
	    "%s", r.out);
	proc_result_free(&r);

	dt_pf(&r, "trigger", "e", NULL, NULL);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert_str_eq(r.out, "started run 1 of 'e'\n");
	proc_result_free(&r);
	dt_pf(&r, "--json", "trigger", "--workflow", "e");
	cr_assert_eq(r.exit_code, 1);
	cr_assert_str_eq(r.out, "{\"ok\":false,\"message\":\"not started: a "
	    "run is in progress (overlap: skip)\",\"run_id\":null}\n");
	proc_result_free(&r);
	dt_pf(&r, "cancel", "abc", NULL, NULL);
	cr_assert_eq(r.exit_code, 2);
	proc_result_free(&r);
	dt_pf(&r, "cancel", "1", NULL, NULL);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert_str_eq(r.out, "cancelling run 1\n");
	proc_result_free(&r);
	dt_pf(&r, "reload", NULL, NULL, NULL);
	cr_assert_eq(r.exit_code, 1, "x.yaml is broken");
	cr_assert(strstr(r.err, "1 unchanged, 1 broken") != NULL, "%s",
	    r.err);
	proc_result_free(&r);

	dt_pf(&r, "daemon", "stop", NULL, NULL);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert(strstr(r.out, "stopped") != NULL);
	proc_result_free(&r);
	dt_pf(&r, "daemon", "stop", NULL, NULL);
	cr_assert_eq(r.exit_code, 0);
	cr_assert_str_eq(r.out, "pf-supervisor is not running\n");
	proc_result_free(&r);
	dt_pf(&r, "daemon", "status", NULL, NULL);
	cr_assert_eq(r.exit_code, 1);
	proc_result_free(&r);
	dt_str_eq("SELECT status FROM executions WHERE id = 1", "cancelled");
	dt_pf(&r, "daemon", "bogus", NULL, NULL);
	cr_assert_eq(r.exit_code, 2);
	proc_result_free(&r);
}
