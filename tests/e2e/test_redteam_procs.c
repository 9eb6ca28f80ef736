/*
 * Red team, processes and files: what an untrusted workflow author tried
 * against a root pf-supervisor with the shipped policy
 * (examples/policy/site-policy.yaml; tasks run as nobody), each attack
 * turned into a test that asserts containment.  Tasks of different
 * attempts cannot read, write or signal each other; a task cannot stop
 * or kill its worker; it sees only its own processes; its /tmp and
 * /dev/shm are its own and gone with it; network: false reaches no unix
 * socket file.  Every test SKIPs with the reason where the host cannot
 * give namespaces (not root, a container without them).
 */
#include <criterion/criterion.h>

#include <sys/ipc.h>
#include <sys/mount.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/proc.h"
#include "../lib/daemon_harness.h"

TestSuite(redteam_procs, .init = dt_setup, .fini = dt_teardown,
    .timeout = 60);

/*
 * Skips unless this host lets root make PID and mount namespaces: the
 * test's own probe, so that code without namespaces fails instead.
 */
static void
need_namespaces(void)
{
	pid_t	 pid;
	int	 st;

	if (geteuid() != 0)
		cr_skip_test("needs root: tasks run as nobody under a root "
		    "pf-supervisor");
	if ((pid = fork()) == 0) {
		if (unshare(CLONE_NEWNS | CLONE_NEWPID) == -1 ||
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == -1)
			_exit(1);
		_exit(0);
	}
	cr_assert_gt(pid, 0);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		cr_skip_test("this host cannot make PID and mount namespaces "
		    "(a container?): the fallback is the pre-namespace "
		    "sandbox, see docs/security.md");
}

/* The shipped policy: tasks as nobody, private /tmp and /dev/shm. */
static void
rt_start(const char *extra)
{
	char	 opts[4400];
	const char *src = getenv("PF_SRC_DIR");

	snprintf(opts, sizeof(opts), "--policy %s/examples/policy/"
	    "site-policy.yaml%s%s", src != NULL ? src : ".",
	    extra != NULL ? " " : "", extra != NULL ? extra : "");
	dt_start(opts);
}

/* Waits until n runs have finished, then stops the supervisor. */
static void
rt_finish(int n, double timeout)
{
	dt_wait_int("SELECT count(*) FROM executions WHERE status NOT IN "
	    "('running', 'pending')", n, timeout);
	dt_stop(0);
}

/* The one attempt of task name: status and stdout (caller frees). */
static char *
rt_task(const char *name, const char *what)
{
	char	 sql[512];
	char	*s;

	/*
	 * Output a running task wrote is stored in chunks (task_output)
	 * after what the row holds.
	 */
	if (strcmp(what, "stdout") == 0 || strcmp(what, "stderr") == 0)
		snprintf(sql, sizeof(sql), "SELECT coalesce(t.%s, '') || "
		    "coalesce((SELECT group_concat(CAST(data AS TEXT), '') "
		    "FROM (SELECT data FROM task_output o WHERE o.attempt_id "
		    "= t.id AND o.stream = %d ORDER BY seq)), '') FROM "
		    "task_executions t WHERE task_name = '%s'", what,
		    strcmp(what, "stdout") == 0 ? 1 : 2, name);
	else
		snprintf(sql, sizeof(sql), "SELECT coalesce(%s, '') FROM "
		    "task_executions WHERE task_name = '%s'", what, name);
	s = dt_str(sql);
	cr_assert_not_null(s, "no attempt of %s", name);
	return s;
}

/* Processes of ours whose command line has needle; killed with kill. */
static int
count_cmdline(const char *needle, int kill_them)
{
	DIR		*d;
	struct dirent	*de;
	char		 p[300], buf[4096];
	ssize_t		 n, i;
	int		 fd, count = 0;

	cr_assert_not_null(d = opendir("/proc"));
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(p, sizeof(p), "/proc/%s/cmdline", de->d_name);
		if ((fd = open(p, O_RDONLY | O_CLOEXEC)) == -1)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			continue;
		for (i = 0; i < n; i++)
			if (buf[i] == '\0')
				buf[i] = ' ';
		buf[n] = '\0';
		if (strstr(buf, needle) == NULL)
			continue;
		count++;
		if (kill_them)
			(void)kill((pid_t)atol(de->d_name), SIGKILL);
	}
	closedir(d);
	return count;
}

/*
 * A victim holding a secret in its environment sleeps; an attacker in
 * another workflow looks for it through /proc by its command line and
 * then tries `attack` (shell, $d is the victim's /proc directory, $p its
 * pid), printing HIT when it worked.  Returns the attacker's stdout.
 */
static char *
victim_and_attacker(const char *attack)
{
	int	 mark = (int)getpid();
	char	*out, *st;

	dt_wf("victim.yaml",
	    "name: victim\n"
	    "schedule: \"@start\"\n"
	    "tasks:\n"
	    "  - name: v\n"
	    "    type: shell\n"
	    "    config:\n"
	    "      command: /bin/sh\n"
	    "      args: [\"-c\", \"echo victim-%1$d; sleep 3; echo survived\"]\n"
	    "      env: {DB_PASSWORD: s3cret-%1$d}\n", mark);
	/* The needle is built at run time: not in the attacker's argv. */
	dt_wf("attacker.yaml",
	    "name: attacker\n"
	    "schedule: \"@start\"\n"
	    "tasks:\n"
	    "  - name: a\n"
	    "    type: shell\n"
	    "    config:\n"
	    "      command: /bin/sh\n"
	    "      args:\n"
	    "        - -c\n"
	    "        - |\n"
	    "          m=vic; m=\"${m}tim-%1$d\"; i=0\n"
	    "          while [ $i -lt 25 ]; do\n"
	    "            for d in /proc/[0-9]*; do\n"
	    "              p=${d#/proc/}\n"
	    "              c=$(tr '\\000' ' ' < $d/cmdline 2>/dev/null)\n"
	    "              case \"$c\" in *\"$m\"*) ;; *) continue;; esac\n"
	    "              echo found $p\n"
	    "              %2$s\n"
	    "              exit 0\n"
	    "            done\n"
	    "            i=$((i + 1)); sleep 0.1\n"
	    "          done\n"
	    "          echo not-found\n", mark, attack);
	need_namespaces();
	rt_start(NULL);
	rt_finish(2, 30);
	st = rt_task("v", "status");
	out = rt_task("v", "stdout");
	cr_assert_str_eq(st, "success", "the victim: %s\n%s", st, out);
	cr_assert(strstr(out, "survived") != NULL, "%s", out);
	free(st);
	free(out);
	return rt_task("a", "stdout");
}

Test(redteam_procs, cannot_read_another_tasks_environ)
{
	char	*out = victim_and_attacker(
	    "tr '\\000' '\\n' < $d/environ 2>/dev/null | grep DB_PASSWORD && "
	    "echo HIT");

	cr_assert(strstr(out, "s3cret-") == NULL && strstr(out, "HIT") ==
	    NULL, "the secret leaked: %s", out);
	free(out);
}

Test(redteam_procs, cannot_write_another_tasks_memory)
{
	char	*out = victim_and_attacker(
	    "a=$(grep '\\[stack\\]' $d/maps 2>/dev/null | cut -d- -f1); "
	    "printf PWNED | dd of=$d/mem bs=1 seek=$((0x${a:-0})) "
	    "conv=notrunc 2>/dev/null && echo HIT");

	cr_assert(strstr(out, "HIT") == NULL, "wrote the victim's memory: %s",
	    out);
	free(out);
}

Test(redteam_procs, cannot_stop_or_kill_another_task)
{
	char	*out = victim_and_attacker(
	    "kill -STOP $p && echo HIT; kill -KILL $p && echo HIT");

	/* victim_and_attacker checked that the victim succeeded. */
	cr_assert(strstr(out, "HIT") == NULL, "signalled the victim: %s",
	    out);
	free(out);
}

/* One task, one run: its status, and how long the attempt took. */
static void
one_task(const char *extra, const char *script, const char *limits,
    char **status, int64_t *ms)
{
	dt_wf("t.yaml",
	    "name: t\n"
	    "schedule: \"@start\"\n"
	    "config: {retry_default: 0}\n"
	    "tasks:\n"
	    "  - name: t\n"
	    "    type: shell\n"
	    "    timeout: 8\n"
	    "%s"
	    "    config: {command: /bin/sh, args: [\"-c\", \"%s\"]}\n",
	    limits != NULL ? limits : "", script);
	need_namespaces();
	rt_start(extra);
	rt_finish(1, 30);
	*status = rt_task("t", "status");
	if (ms != NULL)
		*ms = dt_int("SELECT duration_ms FROM task_executions");
}

/*
 * The task signals its parent, with a background process of its own
 * running: the attempt ends at once and leaves nothing behind.
 */
static void
signal_the_worker(const char *sig)
{
	char	 script[256], needle[64], *st;
	int64_t	 ms;
	int	 i, left;

	snprintf(needle, sizeof(needle), "300.%d", (int)getpid());
	snprintf(script, sizeof(script), "/bin/sleep %s & kill -%s $PPID; "
	    "sleep 0.3; echo done", needle, sig);
	one_task(NULL, script, NULL, &st, &ms);
	for (i = 0; i < 40 && (left = count_cmdline(needle, 0)) > 0; i++)
		usleep(50000);
	if (left > 0)
		(void)count_cmdline(needle, 1);
	cr_assert_str_eq(st, "success", "%s (%s)", st, rt_task("t",
	    "reason"));
	cr_assert_lt(ms, 4000, "the attempt hung for %lld ms", (long long)ms);
	cr_assert_eq(left, 0, "the task's background process survived");
	free(st);
}

Test(redteam_procs, task_cannot_stop_its_worker)
{
	signal_the_worker("STOP");
}

Test(redteam_procs, task_cannot_kill_its_worker)
{
	signal_the_worker("9");
}

/*
 * Without cgroups, a session of its own plus the worker's death left a
 * grandchild running after the attempt.
 */
Test(redteam_procs, no_cgroups_setsid_grandchild_dies_with_the_attempt)
{
	char	 script[256], needle[64], *st;
	int	 i, left;

	snprintf(needle, sizeof(needle), "300.%d", (int)getpid());
	snprintf(script, sizeof(script), "setsid /bin/sleep %s & "
	    "sleep 0.2; kill -9 $PPID; exit 0", needle);
	one_task("--no-cgroups", script, NULL, &st, NULL);
	for (i = 0; i < 40 && (left = count_cmdline(needle, 0)) > 0; i++)
		usleep(50000);
	if (left > 0)
		(void)count_cmdline(needle, 1);
	cr_assert_eq(left, 0, "the grandchild survived the attempt (%s)", st);
	free(st);
}

Test(redteam_procs, task_sees_only_its_own_processes)
{
	char	*st, *out;
	long	 n;

	one_task(NULL, "ls /proc | grep -c '^[0-9]'", NULL, &st, NULL);
	out = rt_task("t", "stdout");
	cr_assert_str_eq(st, "success", "%s", st);
	n = strtol(out, NULL, 10);
	/* Its init, the shell, ls and grep. */
	cr_assert(n >= 2 && n <= 6, "the task saw %ld processes", n);
	free(out);
	free(st);
}

/*
 * A file in /tmp and /dev/shm is invisible to a task running at the same
 * time and gone after the attempt.
 */
Test(redteam_procs, tmp_and_shm_are_private_and_gone_after_the_attempt)
{
	int	 mark = (int)getpid();
	char	 t[64], s[64], *st, *out;
	int	 tl, sl;

	snprintf(t, sizeof(t), "/tmp/pf-rt-%d", mark);
	snprintf(s, sizeof(s), "/dev/shm/pf-rt-%d", mark);
	dt_wf("writer.yaml",
	    "name: writer\n"
	    "schedule: \"@start\"\n"
	    "tasks:\n"
	    "  - name: w\n"
	    "    type: shell\n"
	    "    config: {command: /bin/sh, args: [\"-c\", \"echo x > %1$s && "
	    "echo x > %2$s && echo wrote; sleep 2\"]}\n", t, s);
	dt_wf("reader.yaml",
	    "name: reader\n"
	    "schedule: \"@start\"\n"
	    "tasks:\n"
	    "  - name: r\n"
	    "    type: shell\n"
	    "    config: {command: /bin/sh, args: [\"-c\", \"i=0; while [ $i "
	    "-lt 15 ]; do if [ -e %1$s ] || [ -e %2$s ]; then echo SEEN; "
	    "exit 0; fi; i=$((i + 1)); sleep 0.1; done; echo unseen\"]}\n",
	    t, s);
	need_namespaces();
	rt_start(NULL);
	rt_finish(2, 30);
	tl = access(t, F_OK) == 0;
	sl = access(s, F_OK) == 0;
	(void)unlink(t);
	(void)unlink(s);
	st = rt_task("w", "status");
	out = rt_task("w", "stdout");
	cr_assert_str_eq(st, "success", "the writer: %s", st);
	cr_assert(strstr(out, "wrote") != NULL, "%s", out);
	free(out);
	out = rt_task("r", "stdout");
	cr_assert(strstr(out, "unseen") != NULL, "a concurrent task saw the "
	    "files: %s", out);
	cr_assert(!tl, "%s outlived the attempt", t);
	cr_assert(!sl, "%s outlived the attempt", s);
	free(out);
	free(st);
}

/* 200 MB in /dev/shm under a 64 MiB limit: refused, nothing held. */
Test(redteam_procs, big_shm_file_fails_the_task_and_holds_nothing)
{
	char	 f[64], script[256], *st;
	int	 left;

	snprintf(f, sizeof(f), "/dev/shm/pf-rt-big-%d", (int)getpid());
	snprintf(script, sizeof(script), "head -c 209715200 /dev/zero > %s",
	    f);
	one_task(NULL, script, "    limits: {memory: 64M}\n", &st, NULL);
	left = access(f, F_OK) == 0;
	(void)unlink(f);
	cr_assert_str_eq(st, "failed", "200 MB fit under 64 MiB: %s", st);
	cr_assert(!left, "%s outlived the attempt, holding memory", f);
	free(st);
}

/* A System V shared memory segment dies with the attempt too. */
Test(redteam_procs, sysv_shared_memory_dies_with_the_attempt)
{
	struct shmid_ds	 ds;
	char		*st, *out, *p;
	int		 id, gone;

	if (access("/usr/bin/ipcmk", X_OK) == -1)
		cr_skip_test("needs /usr/bin/ipcmk (util-linux)");
	one_task(NULL, "ipcmk -M 1048576", NULL, &st, NULL);
	out = rt_task("t", "stdout");
	cr_assert_str_eq(st, "success", "%s: %s", st, out);
	cr_assert_not_null(p = strstr(out, "id: "), "%s", out);
	id = atoi(p + 4);
	gone = shmctl(id, IPC_STAT, &ds) == -1 || ds.shm_perm.uid != 65534;
	if (!gone)
		(void)shmctl(id, IPC_RMID, NULL);
	cr_assert(gone, "segment %d outlived the attempt", id);
	free(out);
	free(st);
}

/*
 * network: false and a 0777 unix socket in a shared directory.  Through
 * `picoflow run` without a policy, where /tmp is shared (so the socket
 * is reachable), the task running as nobody; a task with the network
 * connects, which shows the path works.
 */
Test(redteam_procs, network_false_cannot_connect_to_a_unix_socket_file)
{
	struct sockaddr_un	 sa;
	struct proc_result	 r;
	char			 sd[4300], db[4100], *wf, *argv[6], *out;
	int			 fd;

	need_namespaces();
	if (access("/usr/bin/python3", X_OK) == -1)
		cr_skip_test("needs /usr/bin/python3 as a unix socket client");
	snprintf(sd, sizeof(sd), "%s/shared", dt_dir);
	cr_assert_eq(mkdir(sd, 0777), 0);
	cr_assert_eq(chmod(sd, 0777), 0);
	cr_assert_eq(chmod(dt_dir, 0711), 0);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	cr_assert_lt(snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/s", sd),
	    (int)sizeof(sa.sun_path));
	cr_assert_neq(fd = socket(AF_UNIX, SOCK_STREAM, 0), -1);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(chmod(sa.sun_path, 0777), 0);
	cr_assert_eq(listen(fd, 8), 0);
	wf = test_write(dt_dir, "sock.yaml", "");
	free(wf);
	{
		char	 text[8192];
		static const char py[] = "import socket, sys; "
		    "s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); "
		    "print('connected')";

		snprintf(text, sizeof(text),
		    "name: sock\n"
		    "tasks:\n"
		    "  - name: with_network\n"
		    "    type: shell\n"
		    "    run_as: nobody\n"
		    "    config: {command: /usr/bin/python3, args: [-c, \"%1$s\", "
		    "%2$s]}\n"
		    "  - name: no_network\n"
		    "    type: shell\n"
		    "    run_as: nobody\n"
		    "    sandbox: {network: false}\n"
		    "    config: {command: /usr/bin/python3, args: [-c, \"%1$s\", "
		    "%2$s]}\n", py, sa.sun_path);
		wf = test_write(dt_dir, "sock.yaml", text);
	}
	snprintf(db, sizeof(db), "%s/sock.db", dt_dir);
	argv[0] = (char *)(uintptr_t)test_bin("picoflow");
	argv[1] = (char *)"--db-path";
	argv[2] = db;
	argv[3] = (char *)"run";
	argv[4] = wf;
	argv[5] = NULL;
	cr_assert_eq(proc_run(argv, NULL, 30, &r), 0);
	close(fd);
	snprintf(dt_db, sizeof(dt_db), "%s", db);
	out = rt_task("with_network", "stdout");
	cr_assert(strstr(out, "connected") != NULL, "the control task could "
	    "not connect, the test proves nothing: %s\n%s", out, r.err);
	free(out);
	out = rt_task("no_network", "stdout");
	cr_assert(strstr(out, "connected") == NULL, "network: false "
	    "connected to %s", sa.sun_path);
	free(out);
	out = rt_task("no_network", "status");
	cr_assert_str_eq(out, "failed");
	free(out);
	proc_result_free(&r);
	free(wf);
}
