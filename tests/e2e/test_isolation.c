/*
 * Isolation end to end: `picoflow run` with real pf-worker processes in
 * their attempt cgroups and sandbox.  Each test writes a workflow into a
 * scratch directory, runs it with its own database, and checks what the
 * task could and could not do and what was recorded.  A test SKIPs with
 * the reason when this host lacks the feature (not root, no controller).
 */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "picoflow/store.h"
#include "../lib/picoflow_cli.h"
#include "../lib/proc.h"
#include "cgroup.h"
#include "sandbox.h"

#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset	444
#endif

static char	*dir;
static char	 db[4096];

static void
setup(void)
{
	dir = test_tmpdir("iso");
	cr_assert_not_null(dir);
	/* Tasks may run as nobody: let them into the scratch directory. */
	cr_assert_eq(chmod(dir, 0777), 0);
	snprintf(db, sizeof(db), "%s/state.db", dir);
}

static void
teardown(void)
{
	test_rmrf(dir);
	free(dir);
}

TestSuite(iso, .init = setup, .fini = teardown, .timeout = 120);

/* What this host offers, as the engine will find it. */
static enum cg_via
host_via(enum cg_ctl c)
{
	struct cg_sys	*s;
	struct cg_opts	 o;
	struct pf_err	 err;
	enum cg_via	 v;

	cg_opts_default(&o);
	o.detect_only = 1;
	cr_assert_eq(cg_open(&o, &s, &err), 0);
	v = cg_ctl_via(s, c);
	cg_close(s);
	return v;
}

static enum cg_mode
host_mode(void)
{
	struct cg_sys	*s;
	struct cg_opts	 o;
	struct pf_err	 err;
	enum cg_mode	 m;

	cg_opts_default(&o);
	o.detect_only = 1;
	cr_assert_eq(cg_open(&o, &s, &err), 0);
	m = cg_mode(s);
	cg_close(s);
	return m;
}

static void
need_root(void)
{
	if (geteuid() != 0)
		cr_skip_test("needs root (cgroups, namespaces, run_as)");
}

static void
need_ctl(enum cg_ctl c, const char *name)
{
	need_root();
	if (host_via(c) == CG_VIA_NONE)
		cr_skip_test("this host has no %s controller", name);
}

/* The one attempt of the one run, with its output. */
static struct store_attempt *
the_attempt(size_t *n)
{
	struct pf_store		*s;
	struct store_run	*runs;
	struct store_attempt	*a;
	struct pf_err		 err;
	size_t			 nruns;

	cr_assert_eq(store_open(db, STORE_RO, &s, &err), 0, "%s", err.msg);
	cr_assert_eq(store_runs_list(s, NULL, NULL, 0, &runs, &nruns, &err),
	    0, "%s", err.msg);
	cr_assert_eq(nruns, 1);
	cr_assert_eq(store_attempts_list(s, runs[0].id, NULL, 1, &a, n,
	    &err), 0, "%s", err.msg);
	cr_assert_eq(*n, 1);
	store_runs_free(runs, nruns);
	store_close(s);
	return a;
}

static char *
out_of(const struct store_attempt *a)
{
	char	*s = calloc(1, a->stdout_len + 1);

	if (a->stdout_len > 0)
		memcpy(s, a->stdout_data, a->stdout_len);
	return s;
}

/* Runs a one-task workflow: TASK is the YAML of the task's extra keys. */
static struct store_attempt *
run_task(const char *extra, const char *cmd, char *const env[], size_t *n)
{
	struct proc_result	 r;
	char			*f;

	f = test_write_wf(dir, "name: iso\n"
	    "tasks:\n"
	    "  - name: t\n"
	    "    type: shell\n"
	    "    retry: 0\n"
	    "    timeout: 60\n"
	    "%s"
	    "    config: {command: /bin/sh, args: [-c, '%s']}\n", extra, cmd);
	test_pf_run(db, f, NULL, env, &r);
	free(f);
	proc_result_free(&r);
	return the_attempt(n);
}

Test(iso, fork_bomb_stops_at_the_pids_limit)
{
	struct store_attempt	*a;
	size_t			 n;

	need_ctl(CG_PIDS, "pids");
	a = run_task("    limits: {pids: 16}\n",
	    "i=0; while [ $i -lt 500 ]; do sleep 30 & i=$((i+1)); done; wait",
	    NULL, &n);
	cr_assert_str_eq(a->status, "failed");
	cr_assert_not_null(a->reason);
	cr_assert_eq(strncmp(a->reason, "pids:", 5), 0, "%s", a->reason);
	store_attempts_free(a, n);
}

Test(iso, a_1g_allocation_under_64m_is_oom_killed)
{
	struct store_attempt	*a;
	size_t			 n;

	need_ctl(CG_MEMORY, "memory");
	/* tail keeps its whole input (no newline) in memory. */
	a = run_task("    limits: {memory: 64M}\n",
	    "head -c 1G /dev/zero | tail > /dev/null", NULL, &n);
	cr_assert_str_eq(a->status, "failed");
	cr_assert_not_null(a->reason);
	cr_assert_eq(strncmp(a->reason, "oom:", 4), 0, "%s", a->reason);
	/* The recorded peak is the cgroup's: at the limit, never above. */
	cr_assert_leq(a->max_rss_kb, 64 * 1024);
	cr_assert_gt(a->max_rss_kb, 32 * 1024);
	store_attempts_free(a, n);
}

Test(iso, default_limits_contain_a_workflow_that_sets_none)
{
	struct store_attempt	*a;
	size_t			 n;
	char			*out;

	need_ctl(CG_PIDS, "pids");
	a = run_task("", "cat /proc/self/cgroup", NULL, &n);
	cr_assert_str_eq(a->status, "success");
	out = out_of(a);
	cr_assert(strstr(out, "/picoflow/") != NULL, "%s", out);
	cr_assert(strstr(out, "/r1-t-1") != NULL, "%s", out);
	free(out);
	store_attempts_free(a, n);
}

static double
cpu_share(const struct store_attempt *a)
{
	return (double)(a->user_cpu_us + a->sys_cpu_us) /
	    ((double)a->duration_ms * 1000.0);
}

/*
 * A hog at 0.2 core next to an unlimited reference spinning at the same
 * time: on a shared, noisy machine only the comparison means something.
 */
Test(iso, cpu_hog_under_a_fifth_of_a_core)
{
	struct proc_result	 r;
	struct pf_store		*st;
	struct store_run	*runs;
	struct store_attempt	*a;
	struct pf_err		 err;
	size_t			 n, nruns, i;
	double			 hog = -1, ref = -1;
	char			*f;

	need_ctl(CG_CPU, "cpu");
	f = test_write_wf(dir, "name: iso\n"
	    "config: {max_parallel: 2}\n"
	    "tasks:\n"
	    "  - {name: hog, type: shell, limits: {cpu: 0.2}, config: "
	    "{command: /bin/sh, args: [-c, 'timeout 3 sh -c \"while :; do :; "
	    "done\"; exit 0']}}\n"
	    "  - {name: ref, type: shell, config: "
	    "{command: /bin/sh, args: [-c, 'timeout 3 sh -c \"while :; do :; "
	    "done\"; exit 0']}}\n");
	test_pf_run(db, f, NULL, NULL, &r);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert_eq(store_open(db, STORE_RO, &st, &err), 0, "%s", err.msg);
	cr_assert_eq(store_runs_list(st, NULL, NULL, 0, &runs, &nruns, &err),
	    0);
	cr_assert_eq(store_attempts_list(st, runs[0].id, NULL, 0, &a, &n,
	    &err), 0);
	for (i = 0; i < n; i++) {
		cr_assert_geq(a[i].user_cpu_us, 0);
		if (strcmp(a[i].task_name, "hog") == 0)
			hog = cpu_share(&a[i]);
		else
			ref = cpu_share(&a[i]);
	}
	store_attempts_free(a, n);
	store_runs_free(runs, nruns);
	store_close(st);
	free(f);
	proc_result_free(&r);
	cr_log_info("cpu 0.2: the hog used %.3f of a core, the unlimited "
	    "reference %.3f (%s)", hog, ref, cg_mode_name(host_mode()));
	/* Never much above 0.2, whatever the load. */
	cr_assert(hog > 0 && hog < 0.4, "hog %.3f of a core", hog);
	if (ref < 0.45)
		cr_skip_test("machine too busy to compare: the unlimited "
		    "reference got %.2f of a core, the hog %.2f", ref, hog);
	/* The reference ran freely, so the hog had its 0.2 to use. */
	cr_assert_gt(hog, 0.05, "hog %.3f, reference %.3f", hog, ref);
	cr_assert_gt(ref, hog * 1.5, "hog %.3f, reference %.3f", hog, ref);
}

Test(iso, a_double_forked_daemon_leaves_nothing)
{
	struct store_attempt	*a;
	size_t			 n;
	char			 p[4200], *pid, cmd[8400];
	long			 v;

	need_root();
	snprintf(cmd, sizeof(cmd), "setsid sh -c \"sleep 300 & echo \\$! "
	    "\\$(readlink /proc/self/ns/pid) > %s/pid\" & sleep 0.3", dir);
	a = run_task("", cmd, NULL, &n);
	cr_assert_str_eq(a->status, "success", "%s", a->reason);
	snprintf(p, sizeof(p), "%s/pid", dir);
	pid = test_read(p, NULL);
	cr_assert_not_null(pid);
	/* In its own PID namespace: -1 when nothing of it is left. */
	v = test_host_pid(pid);
	snprintf(p, sizeof(p), "/proc/%ld/cmdline", v);
	{
		char *c = test_read(p, NULL);

		cr_assert(c == NULL || strcmp(c, "sleep") != 0,
		    "the daemon (pid %ld) is still running", v);
		free(c);
	}
	free(pid);
	store_attempts_free(a, n);
}

Test(iso, the_supervisor_environment_does_not_leak)
{
	char			*env[] = { (char *)"PF_TEST_SECRET=hunter2",
	    NULL };
	struct store_attempt	*a;
	size_t			 n;
	char			*out;

	a = run_task("", "env", env, &n);
	cr_assert_str_eq(a->status, "success");
	out = out_of(a);
	cr_assert(strstr(out, "hunter2") == NULL, "%s", out);
	cr_assert(strstr(out, "PICOFLOW_TASK=t\n") != NULL, "%s", out);
	free(out);
	store_attempts_free(a, n);
}

Test(iso, no_descriptor_but_the_three_standard_ones)
{
	struct store_attempt	*a;
	size_t			 n;
	char			*out;
	int			 fd;

	/* One descriptor picoflow inherits must not reach the task. */
	fd = open("/dev/null", O_RDONLY);
	cr_assert_geq(fd, 0);
	a = run_task("", "ls /proc/self/fd", NULL, &n);
	close(fd);
	cr_assert_str_eq(a->status, "success");
	out = out_of(a);
	/* 3 is ls's own directory handle. */
	cr_assert_str_eq(out, "0\n1\n2\n3\n");
	free(out);
	store_attempts_free(a, n);
}

Test(iso, seccomp_denies_mount)
{
	struct store_attempt	*a;
	size_t			 n;
	char			*err, *mounts;

	need_root();
	a = run_task("", "/bin/mount -t tmpfs none /mnt", NULL, &n);
	cr_assert_str_eq(a->status, "failed");
	err = calloc(1, a->stderr_len + 1);
	memcpy(err, a->stderr_data, a->stderr_len);
	cr_assert(strstr(err, "ermission denied") != NULL, "%s", err);
	mounts = test_read("/proc/self/mounts", NULL);
	cr_assert(strstr(mounts, "none /mnt tmpfs") == NULL);
	free(mounts);
	free(err);
	store_attempts_free(a, n);
}

/* A listener on 127.0.0.1 in our namespace; returns its port. */
static int
listener(int *fd)
{
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);

	*fd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_geq(*fd, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(*fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	cr_assert_eq(listen(*fd, 8), 0);
	cr_assert_eq(getsockname(*fd, (struct sockaddr *)&sin, &len), 0);
	return ntohs(sin.sin_port);
}

Test(iso, no_network_cannot_reach_a_loopback_listener)
{
	struct store_attempt	*a;
	size_t			 n;
	char			 cmd[256];
	int			 fd, port;

	need_root();
	if (access("/bin/bash", X_OK) != 0)
		cr_skip_test("no /bin/bash to connect with");
	port = listener(&fd);
	snprintf(cmd, sizeof(cmd), "exec /bin/bash -c \"echo hi > "
	    "/dev/tcp/127.0.0.1/%d\"", port);
	/* The control: with the network, the same command connects. */
	a = run_task("", cmd, NULL, &n);
	cr_assert_str_eq(a->status, "success", "%s", a->reason);
	store_attempts_free(a, n);
	unlink(db);
	a = run_task("    sandbox: {network: false}\n", cmd, NULL, &n);
	cr_assert_str_eq(a->status, "failed");
	store_attempts_free(a, n);
	close(fd);
}

Test(iso, run_as_nobody)
{
	struct store_attempt	*a;
	size_t			 n;
	char			*out;

	need_root();
	a = run_task("    run_as: nobody\n", "id -u; id -g; umask", NULL, &n);
	cr_assert_str_eq(a->status, "success", "%s", a->reason);
	out = out_of(a);
	cr_assert_str_eq(out, "65534\n65534\n0077\n");
	free(out);
	store_attempts_free(a, n);
}

Test(iso, run_as_an_unknown_user_fails_before_the_task_runs)
{
	struct store_attempt	*a;
	size_t			 n;
	char			 cmd[4200], p[4200];

	snprintf(cmd, sizeof(cmd), "touch %s/ran", dir);
	a = run_task("    run_as: no-such-user-pf\n", cmd, NULL, &n);
	cr_assert_str_eq(a->status, "failed");
	cr_assert(strstr(a->reason, "no user 'no-such-user-pf'") != NULL,
	    "%s", a->reason);
	snprintf(p, sizeof(p), "%s/ran", dir);
	cr_assert_neq(access(p, F_OK), 0, "the task ran");
	store_attempts_free(a, n);
}

Test(iso, landlock_writable_list)
{
	struct store_attempt	*a;
	size_t			 n;
	char			 extra[4200], cmd[8400], *out;

	need_root();
	if (syscall(SYS_landlock_create_ruleset, NULL, 0, 1U) < 1)
		cr_skip_test("no Landlock in this kernel");
	snprintf(extra, sizeof(extra), "    sandbox: {writable: [%s]}\n",
	    dir);
	snprintf(cmd, sizeof(cmd), "echo a > %s/ok && echo wrote; "
	    "touch /tmp/pf-landlock-test-$$ 2>/dev/null && echo escaped; "
	    "cat /etc/passwd > /dev/null && echo read", dir);
	a = run_task(extra, cmd, NULL, &n);
	out = out_of(a);
	cr_assert_str_eq(out, "wrote\nread\n");
	free(out);
	store_attempts_free(a, n);
}

/* ---- the sandbox steps, in this (forked) test process ------------------ */

TestSuite(sandbox, .timeout = 30);

Test(sandbox, run_as_hostile_and_unknown_names)
{
	char		 longname[300];
	struct pf_err	 err;

	cr_assert_eq(sandbox_ids(NULL, &err), 0);
	cr_assert_eq(sandbox_ids("", &err), 0);
	cr_assert_eq(sandbox_ids(":", &err), -1);
	cr_assert(strstr(err.msg, "bad user name") != NULL, "%s", err.msg);
	cr_assert_eq(sandbox_ids(":root", &err), -1);
	cr_assert_eq(sandbox_ids("no-such-user-pf", &err), -1);
	cr_assert_str_eq(err.msg, "run_as: no user 'no-such-user-pf' on this "
	    "host");
	cr_assert_eq(sandbox_ids("nobody:no-such-group-pf", &err), -1);
	cr_assert_str_eq(err.msg, "run_as: no group 'no-such-group-pf' on "
	    "this host");
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	cr_assert_eq(sandbox_ids(longname, &err), -1);
	cr_assert(strstr(err.msg, "bad user name") != NULL, "%s", err.msg);
	/* Nothing changed on the way. */
	cr_assert_eq(getuid(), geteuid());
}

Test(sandbox, run_as_drops_every_id_for_good)
{
	struct pf_err	 err;
	gid_t		 groups[8];

	need_root();
	cr_assert_eq(sandbox_ids("nobody:nogroup", &err), 0, "%s", err.msg);
	cr_assert_eq(getuid(), 65534);
	cr_assert_eq(geteuid(), 65534);
	cr_assert_eq(getgid(), 65534);
	cr_assert_eq(getegid(), 65534);
	cr_assert_eq(getgroups(8, groups), 1);
	cr_assert_eq(groups[0], 65534);
	cr_assert_eq(setuid(0), -1);
}

/* Numeric ids: a known one means its user; an unknown one is taken as is. */
Test(sandbox, run_as_numeric_ids)
{
	struct pf_err	 err;
	gid_t		 groups[8];

	need_root();
	cr_assert_eq(sandbox_ids("54321:54322", &err), 0, "%s", err.msg);
	cr_assert_eq(getuid(), 54321);
	cr_assert_eq(geteuid(), 54321);
	cr_assert_eq(getgid(), 54322);
	cr_assert_eq(getegid(), 54322);
	cr_assert_eq(getgroups(8, groups), 0, "no supplementary groups");
	cr_assert_eq(setuid(0), -1);
}

Test(sandbox, run_as_numeric_known_user)
{
	struct pf_err	 err;
	char		 home[256];

	need_root();
	sandbox_home("65534", home, sizeof(home));
	cr_assert_str_eq(home, getpwnam("nobody")->pw_dir);
	sandbox_home("54321", home, sizeof(home));
	cr_assert_str_eq(home, "/", "an id without a user has no home");
	cr_assert_eq(sandbox_ids("65534", &err), 0, "%s", err.msg);
	cr_assert_eq(geteuid(), 65534);
	cr_assert_eq(getegid(), getpwnam("nobody")->pw_gid);
}

Test(sandbox, run_as_numeric_out_of_range)
{
	struct pf_err	 err;

	cr_assert_eq(sandbox_ids("99999999999", &err), -1);
	cr_assert_str_eq(err.msg, "run_as: no user '99999999999' on this "
	    "host");
	cr_assert_eq(getuid(), geteuid());
}

static void	 in_child(int (*)(void));
static int	 rlimit_none_checks(void);

Test(sandbox, rlimits)
{
	struct proto_spec	 s;
	struct rlimit		 rl;
	struct pf_err		 err;

	proto_spec_init(&s);
	s.limits.nofile = 100;
	cr_assert_eq(sandbox_rlimits(&s, 1, &err), 0, "%s", err.msg);
	cr_assert_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	cr_assert_eq(rl.rlim_cur, 100);
	cr_assert_eq(rl.rlim_max, 100);
	/* Contained: no address-space or process rlimit. */
	cr_assert_eq(getrlimit(RLIMIT_AS, &rl), 0);
	cr_assert_eq(rl.rlim_cur, RLIM_INFINITY);
	/* More than the hard limit is cut to it, never an error. */
	s.limits.nofile = (int64_t)1 << 40;
	cr_assert_eq(sandbox_rlimits(&s, 1, &err), 0, "%s", err.msg);
	cr_assert_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	cr_assert_eq(rl.rlim_cur, 100);
	/* Not contained (mode none): the stand-ins, in a child. */
	in_child(rlimit_none_checks);
}

/*
 * Runs fn in a child that ends with _exit: a filter or rlimit there must
 * not meet the sanitizers' exit-time work (LeakSanitizer uses ptrace).
 * fn returns 0, or the number of the check that failed.
 */
static void
in_child(int (*fn)(void))
{
	pid_t	 p;
	int	 st;

	if ((p = fork()) == 0)
		_exit(fn());
	cr_assert_gt(p, 0);
	cr_assert_eq(waitpid(p, &st, 0), p);
	cr_assert(WIFEXITED(st), "child died from signal %d", WTERMSIG(st));
	cr_assert_eq(WEXITSTATUS(st), 0, "check %d failed", WEXITSTATUS(st));
}

static int
seccomp_checks(void)
{
	struct pf_err	 err;
	pid_t		 p;
	int		 st;

	if (sandbox_seccomp(&err) != 0)
		return 1;
	errno = 0;
	if (mount("none", "/mnt", "tmpfs", 0, NULL) != -1 || errno != EPERM)
		return 2;
	if (unshare(CLONE_NEWNET) != -1 || errno != EPERM)
		return 3;
	if (syscall(SYS_bpf, 0, NULL, 0) != -1 || errno != EPERM)
		return 4;
	/* Ordinary work goes on, forks included. */
	if ((p = fork()) == 0)
		_exit(7);
	if (p < 0 || waitpid(p, &st, 0) != p || WEXITSTATUS(st) != 7)
		return 5;
	return 0;
}

Test(sandbox, seccomp_denies_and_allows)
{
	in_child(seccomp_checks);
}

static int
rlimit_none_checks(void)
{
	struct proto_spec	 s;
	struct rlimit		 rl, before;
	struct pf_err		 err;

	proto_spec_init(&s);
	if (getrlimit(RLIMIT_NPROC, &before) != 0)
		return 1;
	s.limits.memory = 1;		/* raised to the 64 MiB floor */
	s.limits.pids = 50;
	if (sandbox_rlimits(&s, 0, &err) != 0)
		return 2;
	if (getrlimit(RLIMIT_AS, &rl) != 0 || rl.rlim_cur != 64 * 1024 * 1024)
		return 3;
	if (getrlimit(RLIMIT_NPROC, &rl) != 0 || rl.rlim_cur !=
	    (before.rlim_max < 50 ? before.rlim_max : 50))
		return 4;
	return 0;
}

Test(sandbox, network_false_leaves_only_loopback)
{
	struct proto_spec	 s;
	struct pf_err		 err;
	char			*dev;
	int			 fd, port;

	need_root();
	port = listener(&fd);
	proto_spec_init(&s);
	s.executor = PROTO_EXEC_SHELL;
	s.network = 0;
	cr_assert_eq(sandbox_network(&s, &err), 0, "%s", err.msg);
	dev = test_read("/proc/self/net/dev", NULL);
	cr_assert_not_null(dev);
	cr_assert(strstr(dev, " lo:") != NULL);
	cr_assert(strstr(dev, "eth") == NULL, "%s", dev);
	free(dev);
	{
		struct sockaddr_in	 sin;
		int			 c = socket(AF_INET, SOCK_STREAM, 0);

		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_port = htons((uint16_t)port);
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		cr_assert_eq(connect(c, (struct sockaddr *)&sin, sizeof(sin)),
		    -1, "reached the host's loopback listener");
		cr_assert_eq(errno, ECONNREFUSED);
		close(c);
	}
	close(fd);
}
