/*
 * Red team, item 8: workflow and policy files are parsed by pf-loader, an
 * unprivileged, seccomp-confined process, never inside the root
 * supervisor.  These tests attack that boundary: the loader's own
 * confinement (its uid, its filter), the supervisor's address space (no
 * libyaml in it), and a loader that crashes, hangs, or answers with
 * garbage, truncated or forged frames: each fails that load only, the
 * last good configuration stays and the supervisor carries on.
 */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "picoflow/buf.h"
#include "picoflow/frame.h"
#include "picoflow/wfcodec.h"
#include "ctlclient.h"
#include "../lib/daemon_harness.h"

/* The confinement chain itself, exercised in a child (see filter_*). */
#include "../../loader/confine.c"

TestSuite(redteam_loader, .init = dt_setup, .fini = dt_teardown,
    .timeout = 120);

static const char good_wf[] =
    "name: a\n"
    "tasks:\n"
    "  - {name: t, type: shell, config: {command: /bin/true}}\n";

/* ---- the loader process ------------------------------------------------ */

/* A request for pf-loader: OPTS, one FILE with `yaml`, END. */
static char *
write_request(const char *yaml)
{
	struct pf_buf	 req, body, file;
	char		 path[4400];
	FILE		*f;

	buf_init(&req, 0);
	buf_init(&body, 0);
	buf_init(&file, 0);
	frame_begin(&body, LOADER_MSG_OPTS);
	frame_add_u8(&body, LOADER_OPT_IS_ROOT, geteuid() == 0);
	frame_add_u32(&body, LOADER_OPT_MAX_TASKS, 10000);
	cr_assert_eq(frame_end(&body), 0);
	buf_add(&req, body.data, body.len);
	/* A message body has no frame header: a buffer of its own. */
	frame_add_str(&file, LOADER_IN_LABEL, "/big.yaml");
	frame_add_bytes(&file, LOADER_IN_DATA, yaml, strlen(yaml));
	cr_assert_eq(file.failed, 0);
	cr_assert_eq(frame_msg_encode(&req, LOADER_MSG_FILE, file.data,
	    file.len), 0);
	buf_free(&file);
	frame_begin(&body, LOADER_MSG_END);
	cr_assert_eq(frame_end(&body), 0);
	buf_add(&req, body.data, body.len);
	snprintf(path, sizeof(path), "%s/request", dt_dir);
	cr_assert_not_null(f = fopen(path, "w"));
	cr_assert_eq(fwrite(req.data, 1, req.len, f), req.len);
	fclose(f);
	buf_free(&req);
	buf_free(&body);
	return strdup(path);
}

/* "Key:\tvalue..." of /proc/PID/status (static buffer). */
static const char *
status_field(pid_t pid, const char *key)
{
	static char	 val[256];
	char		 p[64], *t, *l;
	size_t		 kl = strlen(key);

	snprintf(p, sizeof(p), "/proc/%d/status", (int)pid);
	cr_assert_not_null(t = test_read(p, NULL), "%s", p);
	for (l = t; l != NULL; l = strchr(l, '\n') ? strchr(l, '\n') + 1 :
	    NULL)
		if (strncmp(l, key, kl) == 0 && l[kl] == ':') {
			snprintf(val, sizeof(val), "%.*s",
			    (int)strcspn(l + kl + 1, "\n"), l + kl + 1);
			free(t);
			return val;
		}
	free(t);
	cr_assert_fail("no %s in %s", key, p);
	return NULL;
}

/*
 * The real pf-loader, caught alive: its answer for 3,000 tasks is far
 * more than a pipe holds, and nobody reads the pipe, so it sits in
 * write() after parsing, fully confined.
 */
Test(redteam_loader, loader_runs_as_nobody_under_seccomp)
{
	struct pf_buf	 y;
	char		*req, buf[64];
	int		 in, p[2], i, st;
	pid_t		 pid;

	buf_init(&y, 0);
	buf_printf(&y, "name: big\ntasks:\n");
	for (i = 0; i < 3000; i++)
		buf_printf(&y, "  - {name: t%d, type: shell, config: "
		    "{command: /bin/true, args: [\"%d\"]}}\n", i, i);
	req = write_request(buf_cstr(&y));
	buf_free(&y);
	cr_assert_neq(in = open(req, O_RDONLY), -1);
	cr_assert_eq(pipe(p), 0);
	pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		dup2(in, 0);
		dup2(p[1], 1);
		/* No environment, as pf-supervisor starts it. */
		execle(test_bin("pf-loader"), "pf-loader", (char *)NULL,
		    (char *[]){ NULL });
		_exit(127);
	}
	close(p[1]);
	/* Wait for the first bytes: the loader is past its confinement. */
	{
		struct pollfd	 pfd = { p[0], POLLIN, 0 };

		cr_assert_eq(poll(&pfd, 1, 20000), 1, "pf-loader said nothing");
	}
	usleep(200000);		/* let it fill the pipe and block */
	cr_assert_eq(status_field(pid, "State")[1], 'S', "the loader is not "
	    "blocked writing its answer: %s", status_field(pid, "State"));
	cr_assert_str_eq(status_field(pid, "Seccomp"), "\t2",
	    "the loader is not under a seccomp filter");
	cr_assert_str_eq(status_field(pid, "NoNewPrivs"), "\t1");
	if (geteuid() == 0) {
		cr_assert_str_eq(status_field(pid, "Uid"),
		    "\t65534\t65534\t65534\t65534", "as root it must run as "
		    "nobody");
		cr_assert_str_eq(status_field(pid, "Gid"),
		    "\t65534\t65534\t65534\t65534");
		cr_assert_eq(strspn(status_field(pid, "Groups"), " \t"),
		    strlen(status_field(pid, "Groups")), "supplementary "
		    "groups left: %s", status_field(pid, "Groups"));
		cr_assert_str_eq(status_field(pid, "CapEff"),
		    "\t0000000000000000");
		/*
		 * Not dumpable: its /proc files stay root's, so tasks that
		 * also run as nobody cannot trace it or read its memory.
		 */
		{
			char		 p2[64];
			struct stat	 sb;

			snprintf(p2, sizeof(p2), "/proc/%d/mem", (int)pid);
			cr_assert_eq(stat(p2, &sb), 0);
			cr_assert_eq(sb.st_uid, 0, "the loader is dumpable");
		}
	}
	/* Drain it: it finishes cleanly once read, with a model. */
	{
		size_t	 got = 0;
		ssize_t	 n;

		while ((n = read(p[0], buf, sizeof(buf))) > 0)
			got += (size_t)n;
		cr_assert_gt(got, 65536, "a short answer: an error?");
	}
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %d", st);
	close(p[0]);
	close(in);
	free(req);
}

/* Runs fn in a child that applied the loader's confinement first. */
static int
confined_child(void (*fn)(void))
{
	struct pf_err	 err;
	pid_t		 pid;
	int		 st;

	pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		if (confine_all(&err) == -1)
			_exit(90);
		fn();
		_exit(0);
	}
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	return st;
}

static void
try_exec(void)
{
	execl("/bin/true", "true", (char *)NULL);
	_exit(91);
}

static void
try_write_open(void)
{
	(void)open("/tmp/pf-loader-should-not-create-this",
	    O_WRONLY | O_CREAT, 0600);
	_exit(92);
}

static void
try_fork(void)
{
	(void)fork();
	_exit(93);
}

static void
try_connect(void)
{
	/* socket() is refused gently (glibc asks nscd); no way out. */
	if (socket(AF_UNIX, SOCK_STREAM, 0) != -1 || errno != EACCES)
		_exit(94);
	_exit(0);
}

static void
try_ptrace(void)
{
	(void)ptrace(PTRACE_TRACEME, 0, NULL, NULL);
	_exit(95);
}

static void
try_prctl(void)
{
	(void)prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
	_exit(98);
}

static void
try_read_passwd(void)
{
	int	 fd = open("/etc/passwd", O_RDONLY | O_CLOEXEC);
	char	 c;

	/* Read-only opens stay: the name service and zoneinfo need them. */
	if (fd == -1 || read(fd, &c, 1) != 1)
		_exit(96);
	_exit(0);
}

static void
try_read_other(void)
{
	/* Readable by nobody, but not one of the loader's files. */
	if (open("/etc/hostname", O_RDONLY | O_CLOEXEC) != -1 ||
	    errno != EACCES)
		_exit(97);
	_exit(0);
}

Test(redteam_loader, filter_kills_exec_fork_writes_and_other_calls)
{
	int	 st;

	st = confined_child(try_exec);
	cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS,
	    "execve was not killed (status %d)", st);
	st = confined_child(try_write_open);
	cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS,
	    "an open for writing was not killed (status %d)", st);
	cr_assert_neq(access("/tmp/pf-loader-should-not-create-this", F_OK),
	    0);
	st = confined_child(try_fork);
	cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS,
	    "fork was not killed (status %d)", st);
	st = confined_child(try_ptrace);
	cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS,
	    "ptrace was not killed (status %d)", st);
	st = confined_child(try_prctl);
	cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS,
	    "prctl was not killed (status %d)", st);
	st = confined_child(try_connect);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "socket: status %d",
	    st);
	st = confined_child(try_read_passwd);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "read-only open: "
	    "status %d", st);
	if (syscall(SYS_landlock_create_ruleset, NULL, 0,
	    LL_CREATE_RULESET_VERSION) < 1 || access("/etc/hostname", R_OK))
		cr_skip_test("no Landlock here (or no /etc/hostname): the "
		    "read-only opens are not narrowed");
	st = confined_child(try_read_other);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "a file outside "
	    "the loader's list was readable (status %d)", st);
}

/* ---- the supervisor ----------------------------------------------------- */

Test(redteam_loader, libyaml_is_not_mapped_in_the_supervisor)
{
	char	 p[64], *maps;

	dt_wf("a.yaml", good_wf);
	if (dt_spawn(NULL))
		cr_skip_test("pf-supervisor runs under a wrapper");
	dt_wait_ready(60);
	snprintf(p, sizeof(p), "/proc/%d/maps", (int)dt_pid);
	cr_assert_not_null(maps = test_read(p, NULL));
	cr_assert_null(strstr(maps, "libyaml"), "libyaml is mapped in "
	    "pf-supervisor");
	cr_assert_not_null(strstr(maps, "libsqlite3"), "maps unreadable?");
	free(maps);
	dt_stop(0);
}

/* The loader cannot open a root-only file: the supervisor hands it over. */
Test(redteam_loader, a_root_only_workflow_file_still_loads)
{
	char	 p[4400];

	if (geteuid() != 0)
		cr_skip_test("needs root (a file the loader's nobody cannot "
		    "read)");
	dt_wf("a.yaml", good_wf);
	snprintf(p, sizeof(p), "%s/a.yaml", dt_wfdir);
	cr_assert_eq(chmod(p, 0600), 0);
	dt_start(NULL);
	cr_assert(dt_log_has("'a' loaded from"));
	dt_stop(0);
}

/*
 * A loader that behaves at start and misbehaves (`how`, shell) on
 * reload once the flag file exists.  The loader gets no environment, so
 * the paths are written into the script.
 */
static char flag[4400];

static void
fake_loader(const char *how)
{
	char	 script[8192], *path, env1[4500];
	static char *env[3];
	static char  env2[64];

	snprintf(flag, sizeof(flag), "%s/misbehave", dt_dir);
	snprintf(script, sizeof(script),
	    "#!/bin/sh\n"
	    "[ -e '%s' ] || exec '%s'\n"
	    "%s\n", flag, test_bin("pf-loader"), how);
	cr_assert_not_null(path = test_write(dt_dir, "fake-loader", script));
	cr_assert_eq(chmod(path, 0755), 0);
	snprintf(env1, sizeof(env1), "PICOFLOW_LOADER=%s", path);
	snprintf(env2, sizeof(env2), "PICOFLOW_LOADER_TIMEOUT_MS=1500");
	env[0] = strdup(env1);
	env[1] = env2;
	env[2] = NULL;
	dt_env = env;
	free(path);
}

static void
misbehave(void)
{
	char	*p = test_write(dt_dir, "misbehave", "");

	cr_assert_not_null(p);
	free(p);
}

/* What the reload says; 'a' still loaded and runnable afterwards. */
static void
reload_fails_and_a_survives(const char *want)
{
	struct ctl_reply	 rep;
	int64_t			 runs;

	dt_wf("a.yaml", "name: a\ntasks:\n  - {name: t2, type: shell, "
	    "config: {command: /bin/true}}\n");
	misbehave();
	dt_ctl(CTL_CMD_RELOAD, NULL, -1, &rep);
	cr_assert_eq(rep.ok, 0, "the reload succeeded: %s", rep.message);
	cr_assert_not_null(strstr(rep.message, want), "reload said: %s",
	    rep.message);
	cr_assert_not_null(strstr(rep.message, "nothing changed"), "%s",
	    rep.message);
	ctl_reply_free(&rep);
	cr_assert_eq(kill(dt_pid, 0), 0, "pf-supervisor died");
	/* The last good 'a' (task t) still runs. */
	runs = dt_int("SELECT count(*) FROM executions");
	dt_ctl(CTL_CMD_TRIGGER, "a", -1, &rep);
	cr_assert_eq(rep.ok, 1, "%s", rep.message);
	ctl_reply_free(&rep);
	dt_wait_int("SELECT count(*) FROM task_executions WHERE task_name = "
	    "'t' AND status = 'success'", 1, 30);
	cr_assert_eq(dt_int("SELECT count(*) FROM executions"), runs + 1);
	/* A well-behaved loader again: the change goes through. */
	cr_assert_eq(unlink(flag), 0);
	dt_ctl(CTL_CMD_RELOAD, NULL, -1, &rep);
	cr_assert_eq(rep.ok, 1, "%s", rep.message);
	cr_assert_not_null(strstr(rep.message, "1 changed"), "%s",
	    rep.message);
	ctl_reply_free(&rep);
	cr_assert(dt_log_has("the last good configuration stays"));
	dt_stop(0);
}

static void
start_with(const char *how)
{
	fake_loader(how);
	dt_wf("a.yaml", good_wf);
	dt_start(NULL);
}

Test(redteam_loader, garbage_from_the_loader)
{
	start_with("printf 'this is not a frame at all, not even close'");
	reload_fails_and_a_survives("pf-loader");
}

Test(redteam_loader, oversized_frame_from_the_loader)
{
	/* A header announcing 1 MiB (the limit is 64 KiB). */
	start_with("printf '\\000\\000\\020\\000\\001\\050\\000\\000'");
	reload_fails_and_a_survives("pf-loader broke the framing");
}

Test(redteam_loader, truncated_answer_from_the_loader)
{
	/* POLICY_RESULT (ok), then a RESULT header promising 100 bytes. */
	start_with("printf '\\007\\000\\000\\000\\001\\050\\000\\000"
	    "\\001\\000\\001\\000\\000\\000\\001'\n"
	    "printf '\\144\\000\\000\\000\\001\\051\\000\\000012345'");
	reload_fails_and_a_survives("truncated frame");
}

Test(redteam_loader, forged_model_from_the_loader)
{
	/* POLICY_RESULT, a RESULT whose model is junk, DONE 1. */
	start_with("printf '\\007\\000\\000\\000\\001\\050\\000\\000"
	    "\\001\\000\\001\\000\\000\\000\\001'\n"
	    "printf '\\023\\000\\000\\000\\001\\051\\000\\000"
	    "\\001\\000\\004\\000\\000\\000\\000\\000\\000\\000"
	    "\\005\\000\\003\\000\\000\\000xyz'\n"
	    "printf '\\012\\000\\000\\000\\001\\052\\000\\000"
	    "\\001\\000\\004\\000\\000\\000\\001\\000\\000\\000'");
	reload_fails_and_a_survives("bad result");
}

Test(redteam_loader, a_lying_done_count)
{
	/* POLICY_RESULT, then DONE claiming 0 results for 1 file. */
	start_with("printf '\\007\\000\\000\\000\\001\\050\\000\\000"
	    "\\001\\000\\001\\000\\000\\000\\001'\n"
	    "printf '\\012\\000\\000\\000\\001\\052\\000\\000"
	    "\\001\\000\\004\\000\\000\\000\\000\\000\\000\\000'");
	reload_fails_and_a_survives("ended after 0 of 1 results");
}

Test(redteam_loader, a_crashing_loader)
{
	start_with("kill -SEGV $$");
	reload_fails_and_a_survives("killed by signal 11");
}

/* A loader that never answers is killed; the loop serves meanwhile. */
Test(redteam_loader, a_hanging_loader_is_killed_and_does_not_block)
{
	struct ctl_reply	 rep;
	struct ctl_request	 req;
	struct pf_err		 err;
	double			 t0;
	pid_t			 pid;

	start_with("exec /bin/sleep 3600");
	misbehave();
	/* SIGHUP starts the reload; status must still answer at once. */
	cr_assert_eq(kill(dt_pid, SIGHUP), 0);
	usleep(200000);
	t0 = dt_mono();
	dt_status(&rep);
	cr_assert_lt(dt_mono() - t0, 0.5, "status took %.2f s during a "
	    "reload", dt_mono() - t0);
	ctl_reply_free(&rep);
	/* A reload asked for now waits for the next load, after the kill. */
	pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		ctl_request_init(&req);
		req.cmd = CTL_CMD_RELOAD;
		_exit(control_call(dt_sock, &req, &rep, 20000, &err) == 0 &&
		    rep.ok == 0 && strstr(rep.message, "did not finish in "
		    "time") != NULL ? 0 : 1);
	}
	{
		int	 st;

		cr_assert_eq(waitpid(pid, &st, 0), pid);
		cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		    "the waiting reload did not get the timeout");
	}
	cr_assert(dt_log_has("pf-loader did not finish in time"));
	cr_assert_eq(unlink(flag), 0);
	dt_ctl(CTL_CMD_RELOAD, NULL, -1, &rep);
	cr_assert_eq(rep.ok, 1, "%s", rep.message);
	ctl_reply_free(&rep);
	dt_stop(0);
}

/* SIGHUP with a broken file: the last good version stays, message as ever. */
Test(redteam_loader, sighup_with_a_broken_file_keeps_the_last_good)
{
	struct ctl_reply	 st;

	dt_wf("a.yaml", good_wf);
	dt_start(NULL);
	dt_wf("a.yaml", "name: a\ntasks:\n  - {name: t, type: shell, "
	    "config: {command: /bin/true}, retry: -3}\n");
	cr_assert_eq(kill(dt_pid, SIGHUP), 0);
	{
		double	 t0 = dt_mono();

		while (!dt_log_has("keeps running on its last good version") &&
		    dt_mono() - t0 < 20)
			usleep(50000);
	}
	cr_assert(dt_log_has("a.yaml:3:"), "no file:line:col error");
	cr_assert(dt_log_has("is broken; 'a' keeps running on its last good "
	    "version"));
	dt_status(&st);
	cr_assert_eq(st.nwfs, 1);
	cr_assert_str_eq(st.wfs[0].name, "a");
	ctl_reply_free(&st);
	dt_stop(0);
}

/* At start a broken loader is a clear start-up error, not a crash. */
Test(redteam_loader, a_broken_loader_at_start_is_a_clean_error)
{
	char	*t;
	int	 st;
	double	 t0;

	fake_loader("kill -SEGV $$");
	misbehave();
	dt_wf("a.yaml", good_wf);
	dt_spawn(NULL);
	t0 = dt_mono();
	while (waitpid(dt_pid, &st, WNOHANG) == 0 && dt_mono() - t0 < 30)
		usleep(20000);
	dt_pid = -1;
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 1, "status %d", st);
	t = dt_logs();
	cr_assert_not_null(strstr(t, "pf-loader was killed by signal 11"), "%s",
	    t);
	cr_assert_not_null(strstr(t, "giving up: no configuration loaded"),
	    "%s", t);
	free(t);
}

/*
 * A subverted loader that forges a well-formed model running a task as
 * root: the supervisor judges root itself (the policy's allow_root came
 * before any workflow was parsed) and refuses the load.
 */
Test(redteam_loader, a_forged_root_task_is_refused)
{
	struct wf_load_opts	 lo;
	struct pf_workflow	*wf;
	struct pf_buf		 ans, body, model;
	struct ctl_reply	 rep;
	char			 p[4400], how[4600], *path;

	if (geteuid() != 0)
		cr_skip_test("needs root (root is a user to switch to)");
	dt_default_user = 1;		/* tasks default to nobody */
	dt_wf("a.yaml", good_wf);
	/* The forged answer: a model of a.yaml whose task runs as root. */
	snprintf(p, sizeof(p), "%s/a.yaml", dt_wfdir);
	workflow_load_opts_default(&lo);
	cr_assert_not_null(wf = workflow_load_file(p, &lo, NULL));
	wf->tasks[0].run_as = strdup("root");
	buf_init(&ans, 0);
	buf_init(&body, 0);
	buf_init(&model, 0);
	frame_begin(&body, LOADER_MSG_POLICY_RESULT);
	frame_add_u8(&body, LOADER_POL_OK, 1);
	frame_add_str(&body, LOADER_POL_RUN_AS, "nobody");
	cr_assert_eq(frame_end(&body), 0);
	buf_add(&ans, body.data, body.len);
	buf_reset(&body);
	cr_assert_eq(wfcodec_encode(wf, &model), 0);
	frame_add_u32(&body, LOADER_RES_INDEX, 0);
	frame_add_bytes(&body, LOADER_RES_MODEL, model.data, model.len);
	cr_assert_eq(body.failed, 0);
	cr_assert_eq(frame_msg_encode(&ans, LOADER_MSG_RESULT, body.data,
	    body.len), 0);
	buf_reset(&body);
	frame_begin(&body, LOADER_MSG_DONE);
	frame_add_u32(&body, LOADER_DONE_COUNT, 1);
	cr_assert_eq(frame_end(&body), 0);
	buf_add(&ans, body.data, body.len);
	cr_assert_not_null(path = test_write(dt_dir, "answer", ""));
	{
		FILE	*f = fopen(path, "w");

		cr_assert_not_null(f);
		cr_assert_eq(fwrite(ans.data, 1, ans.len, f), ans.len);
		fclose(f);
	}
	snprintf(how, sizeof(how), "exec /bin/cat '%s'", path);
	free(path);
	buf_free(&ans);
	buf_free(&body);
	buf_free(&model);
	workflow_free(wf);
	fake_loader(how);
	dt_start(NULL);
	misbehave();
	dt_ctl(CTL_CMD_RELOAD, NULL, -1, &rep);
	cr_assert_eq(rep.ok, 0, "the forged model was taken: %s", rep.message);
	cr_assert_not_null(strstr(rep.message, "would run as root"), "%s",
	    rep.message);
	ctl_reply_free(&rep);
	cr_assert_eq(kill(dt_pid, 0), 0, "pf-supervisor died");
	dt_stop(0);
}
