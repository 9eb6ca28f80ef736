/*
 * Containment as a whole, under a running pf-supervisor: one workflow
 * runs every kind of hostile task at the same time (fork bomb, memory
 * hog, output flood, CPU hog past its timeout, a double-forked daemon)
 * while a second workflow runs an ordinary task.  Each hostile attempt
 * must fail with its own reason (or, for the daemon, succeed and leave
 * nothing behind), the ordinary run must succeed, and the supervisor's
 * resident set must not be disturbed by what its tasks did.
 */
#include "../lib/daemon_harness.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

TestSuite(containment, .init = dt_setup, .fini = dt_teardown,
    .timeout = 240);

/* VmRSS of pid in KiB, -1 when unreadable. */
static long
rss_kb(pid_t pid)
{
	char	 p[64], *t, *s;
	long	 v = -1;

	snprintf(p, sizeof(p), "/proc/%ld/status", (long)pid);
	if ((t = test_read(p, NULL)) == NULL)
		return -1;
	if ((s = strstr(t, "\nVmRSS:")) != NULL)
		v = strtol(s + 7, NULL, 10);
	free(t);
	return v;
}

/* Processes whose command line holds marker. */
static int
count_marked(const char *marker)
{
	DIR		*d;
	struct dirent	*e;
	char		 p[300], buf[4096];
	int		 fd, n = 0;
	ssize_t		 len, i;

	cr_assert_not_null(d = opendir("/proc"));
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(p, sizeof(p), "/proc/%s/cmdline", e->d_name);
		if ((fd = open(p, O_RDONLY)) == -1)
			continue;
		len = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (len <= 0)
			continue;
		for (i = 0; i < len; i++)
			if (buf[i] == '\0')
				buf[i] = ' ';
		buf[len] = '\0';
		if (strstr(buf, marker) != NULL)
			n++;
	}
	closedir(d);
	return n;
}

/* The isolation line of `pf-supervisor -n`; skips without cgroups. */
static void
need_cgroups(void)
{
	struct proc_result	 r;
	char			*argv[5];

	argv[0] = (char *)(uintptr_t)test_bin("pf-supervisor");
	argv[1] = (char *)"-n";
	argv[2] = (char *)"-c";
	argv[3] = dt_wfdir;
	argv[4] = NULL;
	cr_assert_eq(proc_run(argv, NULL, 30, &r), 0);
	if (strstr(r.out, "isolation: NONE") != NULL ||
	    strstr(r.out, "no cgroup for memory") != NULL ||
	    strstr(r.out, "pids") == NULL) {
		proc_result_free(&r);
		cr_skip_test("needs writable memory and pids cgroups (this "
		    "host: none); the fallback is tested in test_isolation");
	}
	proc_result_free(&r);
}

#define ATT(task, col)							\
	"SELECT " col " FROM task_executions WHERE task_name = '" task	\
	"' ORDER BY id DESC LIMIT 1"

Test(containment, hostile_tasks_side_by_side_leave_the_rest_alone)
{
	char	 marker[64], *s;
	long	 before, after;

	snprintf(marker, sizeof(marker), "pf-contain-%ld", (long)getpid());
	dt_wf("canary.yaml",
	    "name: canary\n"
	    "tasks:\n"
	    "  - name: work\n"
	    "    type: shell\n"
	    "    retry: 0\n"
	    "    config: {command: /bin/sh, args: [-c, 'sleep 1; echo fine']}\n");
	dt_wf("hostile.yaml",
	    "name: hostile\n"
	    "config: {max_parallel: 8, retry_default: 0}\n"
	    "tasks:\n"
	    "  - name: forkbomb\n"
	    "    type: shell\n"
	    "    limits: {pids: 16}\n"
	    "    config: {command: /bin/sh, args: [-c, 'i=0; while [ $i -lt "
	    "500 ]; do sleep 30 & i=$((i+1)); done; wait']}\n"
	    "  - name: memhog\n"
	    "    type: shell\n"
	    "    limits: {memory: 64M}\n"
	    "    config: {command: /bin/sh, args: [-c, 'head -c 1G /dev/zero "
	    "| tail > /dev/null']}\n"
	    "  - name: flood\n"
	    "    type: shell\n"
	    "    limits: {output: 1M}\n"
	    "    config: {command: /bin/sh, args: [-c, 'head -c 200M "
	    "/dev/zero']}\n"
	    "  - name: cpuhog\n"
	    "    type: shell\n"
	    "    timeout: 3\n"
	    "    limits: {cpu: 0.2}\n"
	    "    config: {command: /bin/sh, args: [-c, 'while :; do :; "
	    "done']}\n"
	    "  - name: daemon\n"
	    "    type: shell\n"
	    "    config: {command: /bin/sh, args: [-c, 'setsid /bin/sh -c "
	    "\"sleep 300; : %s\" > /dev/null 2>&1 < /dev/null & sleep 1']}\n",
	    marker);
	need_cgroups();
	dt_start(NULL);

	/* Warm up: one ordinary run, then the baseline. */
	cr_assert_eq(dt_int("SELECT 0"), 0);
	{
		struct ctl_reply rep;

		dt_ctl(CTL_CMD_TRIGGER, "canary", -1, &rep);
		cr_assert(rep.ok, "%s", rep.message ? rep.message : "");
		ctl_reply_free(&rep);
	}
	dt_wait_int("SELECT count(*) FROM executions e JOIN workflows w ON "
	    "w.id = e.workflow_id WHERE w.name = 'canary' AND e.status = "
	    "'success'", 1, 60);
	before = rss_kb(dt_pid);
	cr_assert_gt(before, 0);

	{
		struct ctl_reply rep;

		dt_ctl(CTL_CMD_TRIGGER, "hostile", -1, &rep);
		cr_assert(rep.ok, "%s", rep.message ? rep.message : "");
		ctl_reply_free(&rep);
		dt_ctl(CTL_CMD_TRIGGER, "canary", -1, &rep);
		cr_assert(rep.ok, "%s", rep.message ? rep.message : "");
		ctl_reply_free(&rep);
	}
	dt_wait_int("SELECT count(*) FROM executions WHERE status <> "
	    "'running'", 3, 120);
	after = rss_kb(dt_pid);

	/* The ordinary run was not disturbed. */
	dt_str_eq("SELECT e.status FROM executions e JOIN workflows w ON "
	    "w.id = e.workflow_id WHERE w.name = 'canary' ORDER BY e.id DESC "
	    "LIMIT 1", "success");
	dt_str_eq(ATT("work", "CAST(stdout AS TEXT)"), "fine\n");

	/* Each hostile attempt ended for its own reason. */
	dt_str_eq(ATT("forkbomb", "status"), "failed");
	s = dt_str(ATT("forkbomb", "reason"));
	cr_assert_eq(strncmp(s, "pids:", 5), 0, "forkbomb: %s", s);
	free(s);
	dt_str_eq(ATT("memhog", "status"), "failed");
	s = dt_str(ATT("memhog", "reason"));
	cr_assert_eq(strncmp(s, "oom:", 4), 0, "memhog: %s", s);
	free(s);
	cr_assert_eq(dt_int(ATT("flood", "bytes_captured")), 1024 * 1024);
	cr_assert_gt(dt_int(ATT("flood", "bytes_dropped")), 0);
	dt_str_eq(ATT("flood", "truncated"), "1");
	dt_str_eq(ATT("cpuhog", "status"), "timeout");
	/* At most a fifth of a core for 3 s (slack for accounting). */
	cr_assert_lt(dt_int(ATT("cpuhog", "user_cpu_us + sys_cpu_us")),
	    1500000);
	dt_str_eq(ATT("daemon", "status"), "success");

	/* The daemon the task left behind went with its attempt. */
	cr_assert_eq(count_marked(marker), 0, "a process of the daemon task "
	    "survived its attempt");

	/*
	 * The supervisor's own memory: what its tasks did (200 MB of
	 * output, a 1 GiB allocation, 500 forks) must not show up in it.
	 */
	cr_log_info("supervisor RSS %ld KiB before, %ld KiB after", before,
	    after);
	cr_assert_gt(after, 0, "the supervisor is gone");
	/* Sanitizers and memcheck inflate and hold memory of their own. */
#ifndef __SANITIZE_ADDRESS__
	if (getenv("PF_UNDER_VALGRIND") == NULL)
		cr_assert_lt(after, before + 4096, "supervisor RSS grew from "
		    "%ld to %ld KiB", before, after);
#endif
	dt_stop(0);
}
