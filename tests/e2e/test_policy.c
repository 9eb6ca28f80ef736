/*
 * End-to-end: the operator's policy.  picoflow validate --policy refuses
 * a workflow for every rule with the workflow's file:line:column and the
 * rule's place; pf-supervisor --policy skips a violating workflow while
 * the others run, re-reads the policy on SIGHUP (a broken one keeps the
 * last good); a root supervisor runs tasks without run_as as nobody, and
 * a task that would run as root by default is refused when the policy
 * says so.
 */
#include <criterion/criterion.h>

#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "picoflow/ctl.h"
#include "../lib/proc.h"
#include "../lib/picoflow_cli.h"
#include "../lib/daemon_harness.h"

TestSuite(policy, .init = dt_setup, .fini = dt_teardown, .timeout = 180);

/* Writes a file into the scratch directory (not the workflow one). */
static char *
scratch(const char *name, const char *text)
{
	char	*p = test_write(dt_dir, name, text);

	cr_assert_not_null(p);
	return p;
}

struct rule_case {
	const char	*rule;
	const char	*policy;
	const char	*workflow;
	const char	*error;		/* after "wf.yaml:" */
};

/* Every rule, through the command line, exactly as an operator sees it. */
Test(policy, validate_refuses_for_every_rule)
{
	static const struct rule_case cases[] = {
	{ "executors", "executors: [shell]\n",
	  "name: w\ntasks:\n  - name: h\n    type: http\n"
	  "    config: {url: \"https://api.example.com/\"}\n",
	  "4:11: error: task 'h': type: http tasks are not allowed (policy "
	  "rule executors at pol.yaml:1:12)" },
	{ "commands", "commands: [/usr/bin]\n",
	  "name: w\ntasks:\n  - name: t\n    type: shell\n"
	  "    config: {command: /bin/sh}\n",
	  "5:23: error: task 't' (shell): command: '/bin/sh' is not under an "
	  "allowed path (/usr/bin) (policy rule commands at pol.yaml:1:11)" },
	{ "ssh_hosts", "ssh_hosts: [\"*.lan\"]\n",
	  "name: w\ntasks:\n  - name: s\n    type: ssh\n"
	  "    config: {host: db.example.com, user: u, command: ls}\n",
	  "5:20: error: task 's' (ssh): host: 'db.example.com' is not an "
	  "allowed host (*.lan) (policy rule ssh_hosts at pol.yaml:1:12)" },
	{ "verify_host_key", "verify_host_key: required\n",
	  "name: w\ntasks:\n  - name: s\n    type: ssh\n"
	  "    config: {host: a.lan, user: u, command: ls, "
	  "verify_host_key: false}\n",
	  "5:66: error: task 's' (ssh): verify_host_key: false is not "
	  "allowed; the host key must be checked (policy rule "
	  "verify_host_key at pol.yaml:1:18)" },
	{ "http_hosts", "http_hosts: [api.example.com]\n",
	  "name: w\ntasks:\n  - name: h\n    type: http\n"
	  "    config: {url: \"https://evil.example.com/\"}\n",
	  "5:19: error: task 'h' (http): url: host 'evil.example.com' is not "
	  "an allowed host (api.example.com) (policy rule http_hosts at "
	  "pol.yaml:1:13)" },
	{ "http_networks", "http_networks: [10.0.0.0/8]\n",
	  "name: w\ntasks:\n  - name: h\n    type: http\n"
	  "    config: {url: \"http://172.16.0.1/\"}\n",
	  "5:19: error: task 'h' (http): url: address 172.16.0.1 is in none "
	  "of the allowed networks (policy rule http_networks at "
	  "pol.yaml:1:16)" },
	{ "allow_private_ips", "allow_private_ips: false\n",
	  "name: w\ntasks:\n  - name: h\n    type: http\n"
	  "    config: {url: \"http://10.0.0.1/\", allow_private_ips: true}\n",
	  "5:58: error: task 'h' (http): allow_private_ips: true is not "
	  "allowed (policy rule allow_private_ips at pol.yaml:1:20)" },
	{ "limits", "limits:\n  memory: 64M\n",
	  "name: w\ntasks:\n  - name: t\n    type: shell\n"
	  "    limits: {memory: 1G}\n    config: {command: /bin/true}\n",
	  "5:22: error: task 't': limits.memory: 1G exceeds the ceiling 64M "
	  "(policy rule limits.memory at pol.yaml:2:11)" },
	{ "run_as", "run_as: [nobody]\n",
	  "name: w\ntasks:\n  - name: t\n    type: shell\n    run_as: daemon\n"
	  "    config: {command: /bin/true}\n",
	  "5:13: error: task 't': run_as: 'daemon' is not an allowed user "
	  "(nobody) (policy rule run_as at pol.yaml:1:9)" },
	{ "allow_root", "allow_root: false\n",
	  "name: w\ntasks:\n  - name: t\n    type: shell\n    run_as: root\n"
	  "    config: {command: /bin/true}\n",
	  "5:13: error: task 't': run_as: 'root' is root (as user or group), "
	  "which the policy does not allow (policy rule allow_root at "
	  "pol.yaml:1:13)" },
	{ "network", "network: false\ndefault_network: false\n",
	  "name: w\ntasks:\n  - name: t\n    type: shell\n"
	  "    sandbox: {network: true}\n    config: {command: /bin/true}\n",
	  "5:24: error: task 't': sandbox.network: true is not allowed; tasks "
	  "may not have the network (policy rule network at pol.yaml:1:10)" },
	{ "relax_sandbox", "default_network: false\nrelax_sandbox: false\n",
	  "name: w\ntasks:\n  - name: t\n    type: shell\n"
	  "    sandbox: {network: true}\n    config: {command: /bin/true}\n",
	  "5:24: error: task 't': sandbox.network: true would loosen the "
	  "policy's default_network: false (policy rule relax_sandbox at "
	  "pol.yaml:2:16)" },
	{ "default_run_as", "run_as: [backup]\ndefault_run_as: backup\n",
	  "name: w\ntasks:\n  - name: t\n    type: shell\n    run_as: nobody\n"
	  "    config: {command: /bin/true}\n",
	  "5:13: error: task 't': run_as: 'nobody' is not an allowed user "
	  "(backup) (policy rule run_as at pol.yaml:1:9)" },
	};
	struct proc_result	 r;
	char			*pol, *wf, want[1024];
	size_t			 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		pol = scratch("pol.yaml", cases[i].policy);
		wf = scratch("wf.yaml", cases[i].workflow);
		cr_assert_eq(chdir(dt_dir), 0);
		PF(&r, "validate", "--policy", "pol.yaml", "--run-as", "nobody",
		    "wf.yaml");
		snprintf(want, sizeof(want), "wf.yaml:%s\nwf.yaml: invalid: 1 "
		    "error\n", cases[i].error);
		cr_expect_eq(r.exit_code, 1, "%s", cases[i].rule);
		cr_expect_str_eq(r.err, want, "rule %s", cases[i].rule);
		proc_result_free(&r);
		free(pol);
		free(wf);
	}
}

Test(policy, validate_json_and_policy_alone)
{
	struct proc_result	 r;
	char			*pol, *bad, *wf;

	pol = scratch("pol.yaml", "executors: [http]\n");
	bad = scratch("bad.yaml", "executors: [shell]\nnetwork: perhaps\n");
	wf = scratch("wf.yaml", "name: w\ntasks:\n  - {name: t, type: shell, "
	    "config: {command: /bin/true}}\n");
	PF(&r, "validate", "--json", "--policy", pol, "--run-as", "nobody",
	    wf);
	cr_expect_eq(r.exit_code, 1);
	cr_expect(strstr(r.out, "\"valid\":false") != NULL, "%s", r.out);
	cr_expect(strstr(r.out, "\"line\":3,\"column\":21,\"message\":\"task "
	    "'t': type: shell tasks are not allowed (policy rule executors at ")
	    != NULL, "%s", r.out);
	proc_result_free(&r);

	PF(&r, "validate", "--policy", pol);
	cr_expect_eq(r.exit_code, 0, "%s", r.err);
	cr_expect(strstr(r.out, "is valid") != NULL, "%s", r.out);
	proc_result_free(&r);

	PF(&r, "validate", "--policy", bad, wf);
	cr_expect_eq(r.exit_code, 1);
	cr_expect(strstr(r.err, "bad.yaml:2:10: error: network: 'perhaps' is "
	    "not a boolean; use true or false\n") != NULL, "%s", r.err);
	cr_expect(strstr(r.err, "invalid policy: 1 error") != NULL, "%s",
	    r.err);
	proc_result_free(&r);

	PF(&r, "validate", "--json", "--policy", bad);
	cr_expect_eq(r.exit_code, 1);
	cr_expect(strstr(r.out, "\"policy\":true,\"valid\":false") != NULL,
	    "%s", r.out);
	proc_result_free(&r);

	/* The example policy is valid and every shipped example passes it. */
	PF(&r, "validate", "--policy", PF_SRC_DIR
	    "/examples/policy/site-policy.yaml", "--run-as", "nobody",
	    PF_SRC_DIR "/examples/http-and-ssh.yaml",
	    PF_SRC_DIR "/examples/workflows/hello.yaml",
	    PF_SRC_DIR "/examples/workflows/backup-rotate.yaml",
	    PF_SRC_DIR "/examples/workflows/data-pipeline.yaml",
	    PF_SRC_DIR "/examples/workflows/fan-out.yaml",
	    PF_SRC_DIR "/examples/workflows/flaky.yaml",
	    PF_SRC_DIR "/examples/workflows/health-check.yaml");
	cr_expect_eq(r.exit_code, 0, "%s", r.err);
	proc_result_free(&r);
	free(pol);
	free(bad);
	free(wf);
}

/* The test: root by default, refused when the policy says so. */
Test(policy, root_by_default_is_refused)
{
	struct proc_result	 r;
	char			*pol, *wf;

	pol = scratch("pol.yaml", "allow_root: false\n");
	wf = scratch("wf.yaml", "name: w\ntasks:\n  - name: t\n    type: shell\n"
	    "    config: {command: /bin/true}\n");
	PF(&r, "validate", "--policy", pol, "--run-as", "root", wf);
	cr_expect_eq(r.exit_code, 1);
	cr_expect(strstr(r.err, "wf.yaml:3:5: error: task 't': runs as root by "
	    "default (no run_as, and the default user is 'root'), which the "
	    "policy does not allow (policy rule allow_root at ") != NULL, "%s",
	    r.err);
	proc_result_free(&r);
	/* picoflow run refuses it before anything runs. */
	PF(&r, "--state-dir", dt_state, "run", "--policy", pol, "--run-as",
	    "root", wf);
	cr_expect_eq(r.exit_code, 1);
	cr_expect(strstr(r.err, "runs as root by default") != NULL, "%s",
	    r.err);
	cr_expect(strstr(r.out, "Run of") == NULL, "%s", r.out);
	proc_result_free(&r);
	/* Without a policy the operator may choose root. */
	PF(&r, "validate", "--run-as", "root", wf);
	cr_expect_eq(r.exit_code, 0, "%s", r.err);
	proc_result_free(&r);
	free(pol);
	free(wf);

	/* pf-supervisor skips it, and says why. */
	pol = scratch("pol.yaml", "allow_root: false\n");
	dt_wf("w.yaml", "name: w\ntasks:\n  - name: t\n    type: shell\n"
	    "    config: {command: /bin/true}\n");
	{
		char	 extra[4400];

		snprintf(extra, sizeof(extra), "--policy %s --run-as root",
		    pol);
		dt_start(extra);
	}
	{
		struct ctl_reply	 st;

		dt_status(&st);
		cr_expect_eq(st.nwfs, 0);
		ctl_reply_free(&st);
	}
	dt_stop(0);
	cr_expect(dt_log_has("w.yaml:3:5: error: task 't': runs as root by "
	    "default"));
	free(pol);
}

/* A workflow asking for more is skipped; the others run. */
Test(policy, supervisor_skips_a_violating_workflow)
{
	struct ctl_reply	 st;
	char			*pol, extra[4400];

	pol = scratch("pol.yaml", "commands: [/bin/true, /usr/bin/true]\n"
	    "run_as: [nobody, root]\nallow_root: true\n");
	dt_wf("a-good.yaml", "name: good\nschedule: \"@start\"\ntasks:\n"
	    "  - {name: t, type: shell, config: {command: /bin/true}}\n");
	dt_wf("b-bad.yaml", "name: bad\nschedule: \"@start\"\ntasks:\n"
	    "  - {name: t, type: shell, config: {command: /bin/sh}}\n");
	snprintf(extra, sizeof(extra), "--policy %s", pol);
	dt_start(extra);
	dt_wait_int("SELECT count(*) FROM executions WHERE status = "
	    "'success'", 1, 60);
	dt_status(&st);
	cr_expect_eq(st.nwfs, 1);
	cr_expect_str_eq(st.wfs[0].name, "good");
	cr_expect_geq(st.nerrors, 1);
	ctl_reply_free(&st);
	dt_stop(0);
	cr_expect_eq(dt_int("SELECT count(*) FROM executions e JOIN workflows "
	    "w ON w.id = e.workflow_id WHERE w.name = 'bad'"), 0);
	cr_expect(dt_log_has("b-bad.yaml:4:46: error: task 't' (shell): "
	    "command: '/bin/sh' is not under an allowed path (/bin/true, "
	    "/usr/bin/true) (policy rule commands at "));
	free(pol);
}

/* SIGHUP re-reads the policy; a broken one keeps the last good. */
Test(policy, reload_rereads_the_policy)
{
	struct ctl_reply	 st;
	char			*pol, extra[4400];
	double			 t0;
	size_t			 n;

	pol = scratch("pol.yaml", "executors: [shell]\n");
	dt_wf("w.yaml", "name: w\ntasks:\n  - {name: t, type: shell, config: "
	    "{command: /bin/true}}\n");
	snprintf(extra, sizeof(extra), "--policy %s --run-as nobody", pol);
	dt_start(extra);
	dt_status(&st);
	cr_assert_eq(st.nwfs, 1);
	ctl_reply_free(&st);

	free(scratch("pol.yaml", "executors: [shel]\n"));
	cr_assert_eq(kill(dt_pid, SIGHUP), 0);
	t0 = dt_mono();
	while (!dt_log_has("the last good one stays") && dt_mono() - t0 < 30)
		usleep(50000);
	cr_expect(dt_log_has("pol.yaml:1:13: error: executors[0]: 'shel' is "
	    "not one of shell, ssh, http; did you mean 'shell'?"));
	dt_status(&st);
	cr_expect_eq(st.nwfs, 1, "the last good policy stays");
	ctl_reply_free(&st);

	free(scratch("pol.yaml", "executors: [http]\n"));
	cr_assert_eq(kill(dt_pid, SIGHUP), 0);
	t0 = dt_mono();
	do {
		usleep(50000);
		dt_status(&st);
		n = st.nwfs;
		ctl_reply_free(&st);
	} while (n != 0 && dt_mono() - t0 < 30);
	cr_expect_eq(n, 0, "the new policy refuses the workflow");
	dt_stop(0);
	cr_expect(dt_log_has("type: shell tasks are not allowed (policy rule "
	    "executors at "));
	free(pol);
}

Test(policy, check_mode)
{
	struct proc_result	 r;
	char			*argv[8], *pol, *bad;

	pol = scratch("pol.yaml", "executors: [http]\n");
	bad = scratch("bad.yaml", "executors: shell\n");
	dt_wf("w.yaml", "name: w\ntasks:\n  - {name: t, type: shell, config: "
	    "{command: /bin/true}}\n");
	argv[0] = (char *)(uintptr_t)test_bin("pf-supervisor");
	argv[1] = (char *)"-n";
	argv[2] = (char *)"-c";
	argv[3] = dt_wfdir;
	argv[4] = (char *)"--policy";
	argv[5] = bad;
	argv[6] = NULL;
	cr_assert_eq(proc_run(argv, NULL, 60, &r), 0);
	cr_expect_eq(r.exit_code, 1);
	cr_expect(strstr(r.err, "bad.yaml:1:12: error: executors: expected a "
	    "list, got a scalar\n") != NULL, "%s", r.err);
	cr_expect(strstr(r.err, "invalid policy") != NULL, "%s", r.err);
	proc_result_free(&r);
	argv[5] = pol;
	cr_assert_eq(proc_run(argv, NULL, 60, &r), 0);
	cr_expect_eq(r.exit_code, 1);
	cr_expect(strstr(r.out, "policy ") != NULL, "%s", r.out);
	cr_expect(strstr(r.err, "w.yaml:3:21: error: task 't': type: shell "
	    "tasks are not allowed (policy rule executors at ") != NULL, "%s",
	    r.err);
	proc_result_free(&r);
	/* --run-as must name a user and group this host knows. */
	argv[4] = (char *)"--run-as";
	argv[5] = (char *)"nobody:no-such-group-here";
	cr_assert_eq(proc_run(argv, NULL, 60, &r), 0);
	cr_expect_eq(r.exit_code, 2);
	cr_expect_str_eq(r.err, "pf-supervisor: --run-as: no group "
	    "'no-such-group-here' on this host\n");
	proc_result_free(&r);
	free(pol);
	free(bad);
}

/* uid of nobody on this host. */
static long
nobody_uid(void)
{
	struct passwd	*pw = getpwnam("nobody");

	cr_assert_not_null(pw, "no user nobody");
	return (long)pw->pw_uid;
}

/*
 * A directory tasks may write (mode 1777) and one only root may (0700):
 * the task writes `id -u` to the first and tries the second.
 */
static const char who_wf[] =
    "name: who\n"
    "schedule: \"@start\"\n"
    "tasks:\n"
    "  - name: t\n"
    "    type: shell\n"
    "    sandbox: {private_tmp: false}\n"
    "    config:\n"
    "      command: /bin/sh\n"
    "      args: [\"-c\", \"id -u > \\\"$PUB/uid\\\"; if touch "
    "\\\"$PRIV/x\\\" 2>/dev/null; then echo yes; else echo no; fi > "
    "\\\"$PUB/priv\\\"\"]\n"
    "      env: {PUB: \"%s\", PRIV: \"%s\"}\n";

static void
who_dirs(char *pub, char *priv, size_t len)
{
	snprintf(pub, len, "%s/pub", dt_dir);
	snprintf(priv, len, "%s/priv", dt_dir);
	cr_assert_eq(mkdir(pub, 0755), 0);
	cr_assert_eq(chmod(pub, 01777), 0);
	cr_assert_eq(mkdir(priv, 0700), 0);
	/* The scratch directory itself is 0700: let nobody through. */
	cr_assert_eq(chmod(dt_dir, 0711), 0);
}

static char *
who_read(const char *pub, const char *name)
{
	char	 p[4400], *t;
	size_t	 len;

	snprintf(p, sizeof(p), "%s/%s", pub, name);
	cr_assert_eq(test_wait_file(p, 60), 0, "%s never appeared", p);
	usleep(200000);
	cr_assert_not_null(t = test_read(p, &len));
	return t;
}

/* A root supervisor with no policy and no --run-as: tasks run as nobody. */
Test(policy, root_supervisor_runs_tasks_as_nobody)
{
	char	 pub[4300], priv[4300], *t;

	if (geteuid() != 0)
		cr_skip_test("needs root (a non-root supervisor runs tasks as "
		    "itself)");
	who_dirs(pub, priv, sizeof(pub));
	dt_wf("who.yaml", who_wf, pub, priv);
	dt_default_user = 1;
	dt_start(NULL);
	t = who_read(pub, "priv");
	cr_expect_str_eq(t, "no\n", "the task could write a root-only "
	    "directory");
	free(t);
	t = who_read(pub, "uid");
	cr_expect_eq(strtol(t, NULL, 10), nobody_uid(), "uid %s", t);
	free(t);
	dt_stop(0);
	cr_expect(dt_log_has("tasks without run_as run as 'nobody'"));
}

/* --run-as root restores the old behaviour, on the operator's word. */
Test(policy, run_as_root_option)
{
	char	 pub[4300], priv[4300], *t;

	if (geteuid() != 0)
		cr_skip_test("needs root");
	who_dirs(pub, priv, sizeof(pub));
	dt_wf("who.yaml", who_wf, pub, priv);
	dt_default_user = 1;
	dt_start("--run-as root");
	t = who_read(pub, "priv");
	cr_expect_str_eq(t, "yes\n");
	free(t);
	t = who_read(pub, "uid");
	cr_expect_str_eq(t, "0\n");
	free(t);
	dt_stop(0);
}

/* picoflow run --policy: the policy's default user, as the supervisor. */
Test(policy, picoflow_run_uses_the_policy_default_user)
{
	struct proc_result	 r;
	char			 pub[4300], priv[4300], text[16384], *t;
	char			*pol, *wf;

	if (geteuid() != 0)
		cr_skip_test("needs root");
	who_dirs(pub, priv, sizeof(pub));
	snprintf(text, sizeof(text), who_wf, pub, priv);
	wf = scratch("who-run.yaml", text);
	/* The task writes into the scratch directory, under /tmp. */
	pol = scratch("pol.yaml", "default_run_as: nobody\nrelax_sandbox: "
	    "true\n");
	PF(&r, "--state-dir", dt_state, "run", "--policy", pol, wf);
	cr_expect_eq(r.exit_code, 0, "%s%s", r.out, r.err);
	proc_result_free(&r);
	t = who_read(pub, "uid");
	cr_expect_eq(strtol(t, NULL, 10), nobody_uid(), "uid %s", t);
	free(t);
	t = who_read(pub, "priv");
	cr_expect_str_eq(t, "no\n");
	free(t);
	free(pol);
	free(wf);
}

/* default_network: false takes the network from shell tasks that do not say. */
Test(policy, default_network_off)
{
	struct proc_result	 r;
	char			*pol, *wf;

	if (geteuid() != 0)
		cr_skip_test("needs root for a network namespace");
	pol = scratch("pol.yaml", "default_network: false\nallow_root: true\n");
	/* /proc/net follows the reader's namespace (sysfs would not). */
	wf = scratch("net.yaml", "name: net\ntasks:\n  - name: t\n"
	    "    type: shell\n    config:\n      command: /bin/sh\n"
	    "      args: [\"-c\", \"tail -n +3 /proc/net/dev | cut -d: -f1 | "
	    "tr -d ' '\"]\n");
	PF(&r, "--state-dir", dt_state, "run", "--policy", pol, "--run-as",
	    "root", wf);
	cr_expect_eq(r.exit_code, 0, "%s%s", r.out, r.err);
	proc_result_free(&r);
	PF(&r, "--state-dir", dt_state, "logs", "net");
	cr_expect_eq(r.exit_code, 0, "%s", r.err);
	cr_expect(strstr(r.out, "--- stdout ---\nlo\n") != NULL, "only the "
	    "loopback: %s", r.out);
	proc_result_free(&r);
	free(pol);
	free(wf);
}
