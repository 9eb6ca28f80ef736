/*
 * End-to-end: `picoflow run` drives real pf-worker processes.  Each test
 * writes a workflow into a scratch directory, runs build/picoflow with its
 * own database there, and checks the exit status, the output and the rows
 * recorded in the database.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "picoflow/store.h"
#include "../lib/picoflow_cli.h"
#include "../lib/proc.h"

static char	*dir;
static char	 db[4096];

static void
setup(void)
{
	dir = test_tmpdir("run");
	cr_assert_not_null(dir);
	snprintf(db, sizeof(db), "%s/state.db", dir);
}

static void
teardown(void)
{
	test_rmrf(dir);
	free(dir);
}

TestSuite(run, .init = setup, .fini = teardown, .timeout = 120);

/* The attempts of the one run in the database. */
static struct store_attempt *
attempts(size_t *n, struct store_run *run_out)
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
	if (run_out != NULL) {
		*run_out = runs[0];
		memset(&runs[0], 0, sizeof(runs[0]));
	}
	store_runs_free(runs, nruns);
	store_close(s);
	return a;
}

static const struct store_attempt *
find(const struct store_attempt *a, size_t n, const char *task,
    unsigned attempt)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (strcmp(a[i].task_name, task) == 0 &&
		    a[i].attempt == attempt)
			return &a[i];
	cr_assert_fail("no attempt %u of task '%s'", attempt, task);
	return NULL;
}

Test(run, dependency_order_and_output)
{
	struct proc_result	 r;
	struct store_attempt	*a;
	struct store_run	 run;
	size_t			 n;
	char			 p[4200], *log;

	char *f = test_write_wf(dir, 
	    "name: order\n"
	    "tasks:\n"
	    "  - name: c\n"
	    "    type: shell\n"
	    "    depends_on: [b]\n"
	    "    config: {command: /bin/sh, args: [-c, 'echo c >> %1$s/log']}\n"
	    "  - name: a\n"
	    "    type: shell\n"
	    "    config: {command: /bin/sh, args: [-c, 'echo a >> %1$s/log; echo out-a; echo err-a >&2']}\n"
	    "  - name: b\n"
	    "    type: shell\n"
	    "    depends_on: [a]\n"
	    "    config: {command: /bin/sh, args: [-c, 'echo b >> %1$s/log']}\n",
	    dir);
	test_pf_run(db, f, NULL, NULL, &r);
	cr_assert_eq(r.exit_code, 0, "%s\n%s", r.out, r.err);
	snprintf(p, sizeof(p), "%s/log", dir);
	log = test_read(p, NULL);
	cr_assert_str_eq(log, "a\nb\nc\n");
	cr_assert(strstr(r.out, "Run 1 of 'order': success") != NULL, "%s",
	    r.out);

	a = attempts(&n, &run);
	cr_assert_eq(n, 3);
	cr_assert_str_eq(run.status, "success");
	cr_assert_str_eq(find(a, n, "a", 1)->status, "success");
	cr_assert_eq(find(a, n, "a", 1)->stdout_len, 6);
	cr_assert_eq(memcmp(find(a, n, "a", 1)->stdout_data, "out-a\n", 6), 0);
	cr_assert_eq(memcmp(find(a, n, "a", 1)->stderr_data, "err-a\n", 6), 0);
	cr_assert_eq(find(a, n, "a", 1)->exit_code, 0);
	store_attempts_free(a, n);
	store_run_clear(&run);
	free(log);
	free(f);
	proc_result_free(&r);
}

/*
 * Each task records how many tasks are running when it starts; the peak
 * must equal max_parallel, never more.
 */
Test(run, concurrency_reaches_and_never_exceeds_max_parallel)
{
	struct proc_result	 r;
	char			 p[4200], *log, *line, *save;
	int			 peak = 0, v;

	char *f = test_write_wf(dir, 
	    "name: conc\n"
	    "config: {max_parallel: 3}\n"
	    "env: {D: %1$s}\n"
	    "tasks:\n"
	    "%2$s",
	    dir,
	    "  - {name: t1, type: shell, config: {command: /bin/sh, args: [-c, 'touch $D/run.$PICOFLOW_TASK; ls $D | grep -c ^run. >> $D/peaks; sleep 0.4; rm $D/run.$PICOFLOW_TASK']}}\n"
	    "  - {name: t2, type: shell, config: {command: /bin/sh, args: [-c, 'touch $D/run.$PICOFLOW_TASK; ls $D | grep -c ^run. >> $D/peaks; sleep 0.4; rm $D/run.$PICOFLOW_TASK']}}\n"
	    "  - {name: t3, type: shell, config: {command: /bin/sh, args: [-c, 'touch $D/run.$PICOFLOW_TASK; ls $D | grep -c ^run. >> $D/peaks; sleep 0.4; rm $D/run.$PICOFLOW_TASK']}}\n"
	    "  - {name: t4, type: shell, config: {command: /bin/sh, args: [-c, 'touch $D/run.$PICOFLOW_TASK; ls $D | grep -c ^run. >> $D/peaks; sleep 0.4; rm $D/run.$PICOFLOW_TASK']}}\n"
	    "  - {name: t5, type: shell, config: {command: /bin/sh, args: [-c, 'touch $D/run.$PICOFLOW_TASK; ls $D | grep -c ^run. >> $D/peaks; sleep 0.4; rm $D/run.$PICOFLOW_TASK']}}\n"
	    "  - {name: t6, type: shell, config: {command: /bin/sh, args: [-c, 'touch $D/run.$PICOFLOW_TASK; ls $D | grep -c ^run. >> $D/peaks; sleep 0.4; rm $D/run.$PICOFLOW_TASK']}}\n"
	    "  - {name: t7, type: shell, config: {command: /bin/sh, args: [-c, 'touch $D/run.$PICOFLOW_TASK; ls $D | grep -c ^run. >> $D/peaks; sleep 0.4; rm $D/run.$PICOFLOW_TASK']}}\n"
	    "  - {name: t8, type: shell, config: {command: /bin/sh, args: [-c, 'touch $D/run.$PICOFLOW_TASK; ls $D | grep -c ^run. >> $D/peaks; sleep 0.4; rm $D/run.$PICOFLOW_TASK']}}\n"
	    "  - {name: t9, type: shell, config: {command: /bin/sh, args: [-c, 'touch $D/run.$PICOFLOW_TASK; ls $D | grep -c ^run. >> $D/peaks; sleep 0.4; rm $D/run.$PICOFLOW_TASK']}}\n");
	test_pf_run(db, f, NULL, NULL, &r);
	cr_assert_eq(r.exit_code, 0, "%s\n%s", r.out, r.err);
	snprintf(p, sizeof(p), "%s/peaks", dir);
	log = test_read(p, NULL);
	cr_assert_not_null(log);
	for (line = strtok_r(log, "\n", &save); line;
	    line = strtok_r(NULL, "\n", &save)) {
		v = atoi(line);
		cr_assert_leq(v, 3, "%d tasks ran at once", v);
		if (v > peak)
			peak = v;
	}
	cr_assert_eq(peak, 3, "concurrency never reached max_parallel");
	free(log);
	free(f);
	proc_result_free(&r);
}

Test(run, retries_with_backoff_keep_each_attempt)
{
	struct proc_result	 r;
	struct store_attempt	*a;
	size_t			 n;
	char			 p[4200], *log;
	double			 t[3];

	char *f = test_write_wf(dir, 
	    "name: retry\n"
	    "tasks:\n"
	    "  - name: flaky\n"
	    "    type: shell\n"
	    "    retry: 2\n"
	    "    config: {command: /bin/sh, args: [-c, 'date +%%s.%%N >> %1$s/times; exit 3']}\n",
	    dir);
	test_pf_run(db, f, "--backoff 300", NULL, &r);
	cr_assert_eq(r.exit_code, 1, "%s\n%s", r.out, r.err);
	a = attempts(&n, NULL);
	cr_assert_eq(n, 3, "one row per attempt");
	for (unsigned i = 1; i <= 3; i++) {
		const struct store_attempt *x = find(a, n, "flaky", i);
		cr_assert_str_eq(x->status, "failed",
		    "attempt %u keeps its own final status", i);
		cr_assert_eq(x->exit_code, 3);
	}
	snprintf(p, sizeof(p), "%s/times", dir);
	log = test_read(p, NULL);
	cr_assert_eq(sscanf(log, "%lf %lf %lf", &t[0], &t[1], &t[2]), 3);
	/* 300 ms, then 600 ms: lower bounds only, the machine is noisy. */
	cr_assert_geq(t[1] - t[0], 0.29, "first delay %.3f", t[1] - t[0]);
	cr_assert_geq(t[2] - t[1], 0.59, "second delay %.3f", t[2] - t[1]);
	cr_assert(strstr(r.out, "retry 1 of 2 in 0.3s") != NULL, "%s", r.out);
	cr_assert(strstr(r.out, "retry 2 of 2 in 0.6s") != NULL, "%s", r.out);
	store_attempts_free(a, n);
	free(log);
	free(f);
	proc_result_free(&r);
}

static int
pid_alive(const char *pidfile)
{
	char	*s = test_read(pidfile, NULL);
	pid_t	 pid;
	int	 alive;

	cr_assert_not_null(s, "no pid file %s", pidfile);
	/* In its own PID namespace: gone with it when none is found. */
	pid = (pid_t)test_host_pid(s);
	free(s);
	if (pid == -1)
		return 0;
	cr_assert_gt(pid, 1);
	alive = kill(pid, 0) == 0;
	if (alive) {
		/* A zombie waiting for init is dead for our purpose. */
		char	 path[64], *st;

		snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
		if ((st = test_read(path, NULL)) != NULL) {
			char *rp = strrchr(st, ')');
			if (rp && rp[1] == ' ' && rp[2] == 'Z')
				alive = 0;
			free(st);
		}
	}
	return alive;
}

Test(run, timeout_kills_stubborn_task_and_detached_daemon)
{
	struct proc_result	 r;
	struct store_attempt	*a;
	size_t			 n;
	char			 p1[4200], p2[4200];
	int			 i;

	char *f = test_write_wf(dir, 
	    "name: timeouts\n"
	    "tasks:\n"
	    "  - name: stubborn\n"
	    "    type: shell\n"
	    "    timeout: 1\n"
	    "    retry: 0\n"
	    "    config: {command: /bin/sh, args: [-c, 'trap \"\" TERM; echo $$ $(readlink /proc/self/ns/pid) > %1$s/stubborn.pid; while :; do sleep 0.1; done']}\n"
	    "  - name: daemon\n"
	    "    type: shell\n"
	    "    timeout: 1\n"
	    "    retry: 0\n"
	    "    config: {command: /bin/sh, args: [-c, 'setsid /bin/sh -c \"echo \\$$ \\$(readlink /proc/self/ns/pid) > %1$s/daemon.pid; exec sleep 1000\" & sleep 1000']}\n",
	    dir);
	test_pf_run(db, f, "--grace 1", NULL, &r);
	cr_assert_eq(r.exit_code, 1, "%s\n%s", r.out, r.err);
	cr_assert_lt(r.seconds, 20, "took %.1fs", r.seconds);
	a = attempts(&n, NULL);
	cr_assert_str_eq(find(a, n, "stubborn", 1)->status, "timeout");
	cr_assert_str_eq(find(a, n, "daemon", 1)->status, "timeout");
	snprintf(p1, sizeof(p1), "%s/stubborn.pid", dir);
	snprintf(p2, sizeof(p2), "%s/daemon.pid", dir);
	/* Give init a moment to reap what was re-parented to it. */
	for (i = 0; i < 50 && (pid_alive(p1) || pid_alive(p2)); i++)
		usleep(100000);
	cr_assert(!pid_alive(p1), "the task that ignores SIGTERM survived");
	cr_assert(!pid_alive(p2), "the double-forked daemon survived");
	store_attempts_free(a, n);
	free(f);
	proc_result_free(&r);
}

Test(run, output_is_capped_and_memory_stays_bounded)
{
	struct proc_result	 r;
	struct store_attempt	*a;
	size_t			 n;

	char *f = test_write_wf(dir, 
	    "name: big\n"
	    "tasks:\n"
	    "  - name: flood\n"
	    "    type: shell\n"
	    "    config: {command: /usr/bin/head, args: [-c, '104857600', /dev/zero]}\n");
	test_pf_run(db, f, NULL, NULL, &r);
	cr_assert_eq(r.exit_code, 0, "%s\n%s", r.out, r.err);
	a = attempts(&n, NULL);
	cr_assert_eq(n, 1);
	cr_assert_str_eq(a[0].status, "success");
	cr_assert_eq(a[0].stdout_len, 10 * 1024 * 1024);
	cr_assert_eq(a[0].bytes_captured, 10 * 1024 * 1024);
	cr_assert_eq(a[0].bytes_dropped, 90 * 1024 * 1024);
	cr_assert(a[0].truncated);
	/*
	 * picoflow (and its reaped workers) never held the 100 MiB.  Under
	 * AddressSanitizer, shadow memory and the free quarantine inflate
	 * RSS; the bound still rules out buffering the whole output.
	 */
#ifdef __SANITIZE_ADDRESS__
	cr_assert_lt(r.ru.ru_maxrss, 192 * 1024, "peak RSS %ld KiB",
	    r.ru.ru_maxrss);
#else
	if (getenv("PF_UNDER_VALGRIND") == NULL)
		cr_assert_lt(r.ru.ru_maxrss, 48 * 1024, "peak RSS %ld KiB",
		    r.ru.ru_maxrss);
#endif
	store_attempts_free(a, n);
	free(f);
	proc_result_free(&r);
}

Test(run, task_closing_stdout_early_is_still_waited_for)
{
	struct proc_result	 r;
	struct store_attempt	*a;
	size_t			 n;

	char *f = test_write_wf(dir, 
	    "name: early\n"
	    "tasks:\n"
	    "  - name: closer\n"
	    "    type: shell\n"
	    "    config: {command: /bin/sh, args: [-c, 'echo before; exec 1>&-; sleep 0.3; echo after >&2; exit 4']}\n");
	test_pf_run(db, f, NULL, NULL, &r);
	cr_assert_eq(r.exit_code, 1);
	a = attempts(&n, NULL);
	cr_assert_eq(a[0].exit_code, 4);
	cr_assert_eq(a[0].stdout_len, 7);
	cr_assert_eq(memcmp(a[0].stderr_data, "after\n", 6), 0);
	store_attempts_free(a, n);
	free(f);
	proc_result_free(&r);
}

Test(run, missing_and_non_executable_commands)
{
	struct proc_result	 r;
	struct store_attempt	*a;
	size_t			 n;

	char *f = test_write_wf(dir, 
	    "name: badcmd\n"
	    "config: {retry_default: 0}\n"
	    "tasks:\n"
	    "  - {name: missing, type: shell, config: {command: /usr/bin/picoflow-no-such-command}}\n"
	    "  - {name: noexec, type: shell, config: {command: /etc/passwd}}\n"
	    "  - {name: exits127, type: shell, config: {command: /bin/sh, args: [-c, 'exit 127']}}\n");
	test_pf_run(db, f, NULL, NULL, &r);
	cr_assert_eq(r.exit_code, 1);
	a = attempts(&n, NULL);
	cr_assert_eq(n, 3);
	cr_assert(strstr(find(a, n, "missing", 1)->reason,
	    "command not found: /usr/bin/picoflow-no-such-command") != NULL,
	    "%s", find(a, n, "missing", 1)->reason);
	cr_assert(!find(a, n, "missing", 1)->has_exit_code ||
	    find(a, n, "missing", 1)->exit_code != 127);
	cr_assert(strstr(find(a, n, "noexec", 1)->reason,
	    "permission denied") != NULL, "%s",
	    find(a, n, "noexec", 1)->reason);
	cr_assert_eq(find(a, n, "exits127", 1)->exit_code, 127);
	cr_assert_str_eq(find(a, n, "exits127", 1)->reason, "exit code 127");
	store_attempts_free(a, n);
	free(f);
	proc_result_free(&r);
}

Test(run, environment_and_workdir)
{
	struct proc_result	 r;
	struct store_attempt	*a;
	size_t			 n;
	char			*env[] = { (char *)"PF_LEAK_CHECK=leaked", NULL };
	const struct store_attempt *x;

	char *f = test_write_wf(dir, 
	    "name: envwd\n"
	    "env: {SHARED: wf, OVERRIDE: wf}\n"
	    "tasks:\n"
	    "  - name: show\n"
	    "    type: shell\n"
	    "    config:\n"
	    "      command: /bin/sh\n"
	    "      args: [-c, 'pwd; env | sort; echo \"uid=$(id -u)\"']\n"
	    "      workdir: %1$s\n"
	    "      env: {OVERRIDE: task, NUM: 5, LANG: C}\n",
	    dir);
	test_pf_run(db, f, NULL, env, &r);
	cr_assert_eq(r.exit_code, 0, "%s\n%s", r.out, r.err);
	a = attempts(&n, NULL);
	x = find(a, n, "show", 1);
	{
		char *out = strndup((const char *)x->stdout_data,
		    x->stdout_len);
		char want[4200];

		snprintf(want, sizeof(want), "%s\n", dir);
		cr_assert(strncmp(out, want, strlen(want)) == 0, "%s", out);
		cr_assert(strstr(out, "\nSHARED=wf\n") != NULL, "%s", out);
		cr_assert(strstr(out, "\nOVERRIDE=task\n") != NULL, "%s", out);
		cr_assert(strstr(out, "\nNUM=5\n") != NULL, "%s", out);
		cr_assert(strstr(out, "\nPICOFLOW_TASK=show\n") != NULL);
		cr_assert(strstr(out, "\nPICOFLOW_ATTEMPT=1\n") != NULL);
		cr_assert(strstr(out, "\nPICOFLOW_WORKFLOW=envwd\n") != NULL);
		cr_assert(strstr(out, "PF_LEAK_CHECK") == NULL,
		    "the caller's environment leaked into the task");
		/* HOME is the home of the user the task ran as. */
		{
			const char	*u = strstr(out, "\nuid=");
			struct passwd	*pw;
			char		 home[4200];

			cr_assert_not_null(u, "%s", out);
			pw = getpwuid((uid_t)strtoul(u + 5, NULL, 10));
			cr_assert_not_null(pw);
			snprintf(home, sizeof(home), "\nHOME=%s\n",
			    pw->pw_dir);
			cr_assert(strstr(out, home) != NULL, "%s", out);
		}
		cr_assert(strstr(out, "\nLANG=C\n") != NULL,
		    "a declared LANG wins: %s", out);
		cr_assert(strstr(out, "\nPATH=/usr/local/bin:/usr/bin:/bin\n")
		    != NULL, "%s", out);
		free(out);
	}
	store_attempts_free(a, n);
	free(f);
	proc_result_free(&r);
}

Test(run, failure_skips_dependents_but_not_independent_branches)
{
	struct proc_result	 r;
	struct store_attempt	*a;
	struct store_run	 run;
	size_t			 n;

	char *f = test_write_wf(dir, 
	    "name: skips\n"
	    "config: {retry_default: 0, max_parallel: 1}\n"
	    "tasks:\n"
	    "  - {name: bad, type: shell, config: {command: /bin/false}}\n"
	    "  - {name: child, type: shell, depends_on: [bad], config: {command: /bin/true}}\n"
	    "  - {name: grandchild, type: shell, depends_on: [child], config: {command: /bin/true}}\n"
	    "  - {name: other, type: shell, config: {command: /bin/true}}\n"
	    "  - {name: other2, type: shell, depends_on: [other], config: {command: /bin/true}}\n");
	test_pf_run(db, f, NULL, NULL, &r);
	cr_assert_eq(r.exit_code, 1);
	a = attempts(&n, &run);
	cr_assert_str_eq(run.status, "failed");
	cr_assert_str_eq(find(a, n, "bad", 1)->status, "failed");
	cr_assert_str_eq(find(a, n, "child", 0)->status, "skipped");
	cr_assert_str_eq(find(a, n, "child", 0)->reason,
	    "dependency 'bad' failed");
	cr_assert_str_eq(find(a, n, "grandchild", 0)->status, "skipped");
	cr_assert_str_eq(find(a, n, "other", 1)->status, "success");
	cr_assert_str_eq(find(a, n, "other2", 1)->status, "success");
	store_attempts_free(a, n);
	store_run_clear(&run);
	free(f);
	proc_result_free(&r);
}

Test(run, continue_on_failure_lets_dependents_run)
{
	struct proc_result	 r;
	struct store_attempt	*a;
	struct store_run	 run;
	size_t			 n;

	char *f = test_write_wf(dir, 
	    "name: cof\n"
	    "tasks:\n"
	    "  - {name: optional, type: shell, retry: 0, continue_on_failure: true, config: {command: /bin/false}}\n"
	    "  - {name: after, type: shell, depends_on: [optional], config: {command: /bin/true}}\n");
	test_pf_run(db, f, NULL, NULL, &r);
	/* The dependents run, but the run failed (as the Rust PicoFlow). */
	cr_assert_eq(r.exit_code, 1, "%s", r.out);
	a = attempts(&n, &run);
	cr_assert_str_eq(run.status, "failed");
	cr_assert_str_eq(find(a, n, "optional", 1)->status, "failed");
	cr_assert_str_eq(find(a, n, "after", 1)->status, "success");
	store_attempts_free(a, n);
	store_run_clear(&run);
	free(f);
	proc_result_free(&r);
}

Test(run, sigint_cancels_cleanly)
{
	struct store_attempt	*a;
	struct store_run	 run;
	size_t			 n;
	char			 pidf[4200], outf[4200], errf[4200];
	char			*argv[7];
	int			 st;
	pid_t			 pid;

	char *f = test_write_wf(dir, 
	    "name: cancel\n"
	    "tasks:\n"
	    "  - {name: long, type: shell, config: {command: /bin/sh, args: [-c, 'echo $$ $(readlink /proc/self/ns/pid) > %1$s/long.pid; exec sleep 1000']}}\n"
	    "  - {name: later, type: shell, depends_on: [long], config: {command: /bin/true}}\n",
	    dir);
	snprintf(pidf, sizeof(pidf), "%s/long.pid", dir);
	snprintf(outf, sizeof(outf), "%s/out", dir);
	snprintf(errf, sizeof(errf), "%s/err", dir);
	argv[0] = strdup(test_bin("picoflow"));
	argv[1] = (char *)"--db-path";
	argv[2] = db;
	argv[3] = (char *)"run";
	argv[4] = (char *)"--grace";
	argv[5] = (char *)"1";
	argv[6] = NULL;
	{
		char *argv2[8] = { argv[0], argv[1], argv[2], argv[3],
		    argv[4], argv[5], f, NULL };
		pid = proc_spawn(argv2, NULL, outf, errf);
	}
	cr_assert_gt(pid, 0);
	cr_assert_eq(test_wait_file(pidf, 20), 0, "the task never started");
	usleep(100000);
	kill(pid, SIGINT);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 1);
	a = attempts(&n, &run);
	cr_assert_str_eq(run.status, "cancelled");
	cr_assert_str_eq(find(a, n, "long", 1)->status, "cancelled");
	cr_assert_str_eq(find(a, n, "later", 0)->status, "skipped");
	for (int i = 0; i < 50 && pid_alive(pidf); i++)
		usleep(100000);
	cr_assert(!pid_alive(pidf), "the cancelled task survived");
	store_attempts_free(a, n);
	store_run_clear(&run);
	free(argv[0]);
	free(f);
}

/* A worker that breaks the protocol fails its attempt, nothing else. */
static void
fake_worker(const char *script, const char *expect, const char *status)
{
	struct proc_result	 r;
	struct store_attempt	*a;
	struct store_run	 run;
	size_t			 n;
	char			 env0[4300];
	char			*env[] = { env0, NULL };

	snprintf(env0, sizeof(env0), "PICOFLOW_WORKER=%s/tests/fixtures/"
	    "fakeworker/%s", PF_SRC_DIR, script);
	char *f = test_write_wf(dir, 
	    "name: fake\n"
	    "config: {retry_default: 0}\n"
	    "tasks:\n"
	    "  - {name: one, type: shell, timeout: 2, config: {command: /bin/true}}\n"
	    "  - {name: two, type: shell, timeout: 2, config: {command: /bin/true}}\n");
	test_pf_run(db, f, "--grace 1", env, &r);
	cr_assert_eq(r.exit_code, 1, "%s\n%s", r.out, r.err);
	cr_assert(WIFEXITED(r.status), "picoflow crashed");
	a = attempts(&n, &run);
	cr_assert_str_eq(run.status, "failed");
	cr_assert_eq(n, 2, "both attempts ran and were recorded");
	for (size_t i = 0; i < n; i++) {
		cr_assert_str_eq(a[i].status, status);
		cr_assert_not_null(a[i].reason);
		cr_assert(strstr(a[i].reason, expect) != NULL,
		    "reason '%s' lacks '%s'", a[i].reason, expect);
	}
	store_attempts_free(a, n);
	store_run_clear(&run);
	free(f);
	proc_result_free(&r);
}

Test(run, fake_worker_garbage)
{
	fake_worker("garbage.sh", "worker protocol error", "failed");
}

Test(run, fake_worker_oversized_frame)
{
	fake_worker("oversized.sh", "worker protocol error", "failed");
}

Test(run, fake_worker_truncated_frame)
{
	fake_worker("truncated.sh", "worker protocol error", "failed");
}

Test(run, fake_worker_unknown_frame_type)
{
	fake_worker("badtype.sh", "worker protocol error", "failed");
}

Test(run, fake_worker_without_result)
{
	fake_worker("noresult.sh", "without a result", "failed");
}

Test(run, fake_worker_ignoring_sigterm_is_killed)
{
	fake_worker("stubborn.sh", "timed out after 2 s", "timeout");
}

Test(run, missing_worker_binary_fails_with_a_clear_error)
{
	struct proc_result	 r;
	char			*env[] = {
	    (char *)"PICOFLOW_WORKER=/nonexistent/pf-worker", NULL };

	char *f = test_write_wf(dir, 
	    "name: noworker\n"
	    "tasks:\n"
	    "  - {name: one, type: shell, config: {command: /bin/true}}\n");
	test_pf_run(db, f, NULL, env, &r);
	cr_assert_eq(r.exit_code, 1);
	cr_assert(strstr(r.err, "PICOFLOW_WORKER=/nonexistent/pf-worker is "
	    "not an executable file") != NULL, "%s", r.err);
	free(f);
	proc_result_free(&r);
}

Test(run, empty_workflow_succeeds)
{
	struct proc_result	 r;

	char *f = test_write_wf(dir, "name: empty\ntasks: []\n");
	test_pf_run(db, f, NULL, NULL, &r);
	cr_assert_eq(r.exit_code, 0, "%s\n%s", r.out, r.err);
	cr_assert(strstr(r.out, ": success") != NULL, "%s", r.out);
	free(f);
	proc_result_free(&r);
}

Test(run, json_summary)
{
	struct proc_result	 r;

	char *f = test_write_wf(dir, 
	    "name: js\n"
	    "tasks:\n"
	    "  - {name: ok, type: shell, config: {command: /bin/true}}\n");
	test_pf_run(db, f, "--json", NULL, &r);
	cr_assert_eq(r.exit_code, 0, "%s\n%s", r.out, r.err);
	{
		const char *want = "{\"run_id\":1,\"workflow\":\"js\","
		    "\"status\":\"success\",\"tasks\":[{\"task\":\"ok\","
		    "\"status\":\"success\",\"attempts\":1,";

		cr_assert(strncmp(r.out, want, strlen(want)) == 0, "%s",
		    r.out);
		cr_assert(strstr(r.out, "\"peak_rss_kb\":") != NULL);
	}
	free(f);
	proc_result_free(&r);
}
