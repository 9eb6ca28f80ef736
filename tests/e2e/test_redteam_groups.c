/*
 * Red team, issue #12 item 2: privileged groups through run_as.  An
 * untrusted workflow author, a root pf-supervisor (with the shipped
 * examples/policy/site-policy.yaml, or with no policy), and a task that
 * tries to read /etc/shadow by getting a privileged group: named as the
 * primary group (backup:shadow, nobody:shadow), as a supplementary group,
 * brought by an /etc/group membership (postgres's ssl-cert), or made
 * privileged after the workflow was loaded.  Every way is refused at load
 * or, for what changed after load, by pf-worker where it sets the ids;
 * and the task never reads /etc/shadow.
 *
 * Test users and groups get unique names (pid) and are removed after
 * each test.  Everything here needs root.
 */
#include <criterion/criterion.h>

#include <sys/file.h>
#include <fcntl.h>

#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "picoflow/ctl.h"
#include "../lib/picoflow_cli.h"
#include "../lib/proc.h"
#include "../lib/daemon_harness.h"
#include "sandbox.h"

#define SITE_POLICY	PF_SRC_DIR "/examples/policy/site-policy.yaml"

static char	 rt_user[32], rt_group[32], rt_pub[4300];
/*
 * One test at a time: a test's useradd/groupadd replaces /etc/group, and
 * pf-loader of a test running beside it, whose Landlock rule holds the
 * old file, would then be refused the new one and fail its load.
 */
static int	 rt_lock = -1;

/* /bin/sh -c on the formatted command; its exit code. */
static int
rt_sh(const char *fmt, ...)
{
	struct proc_result r;
	char		*cmd, *argv[4];
	va_list		 ap;
	int		 rc;

	va_start(ap, fmt);
	cr_assert_neq(vasprintf(&cmd, fmt, ap), -1);
	va_end(ap);
	argv[0] = (char *)"/bin/sh";
	argv[1] = (char *)"-c";
	argv[2] = cmd;
	argv[3] = NULL;
	cr_assert_eq(proc_run(argv, NULL, 60, &r), 0);
	rc = r.exit_code;
	if (rc != 0)
		cr_log_warn("%s: exit %d: %s", cmd, rc, r.err);
	proc_result_free(&r);
	free(cmd);
	return rc;
}

static void
rt_setup(void)
{
	if (geteuid() != 0)
		cr_skip_test("needs root (a root pf-supervisor, useradd)");
	rt_lock = open("/tmp/pf-redteam-groups.lock", O_RDWR | O_CREAT |
	    O_CLOEXEC, 0600);
	cr_assert_geq(rt_lock, 0);
	cr_assert_eq(flock(rt_lock, LOCK_EX), 0);
	if (getgrnam("shadow") == NULL || access("/usr/sbin/useradd", X_OK) ||
	    getpwnam("backup") == NULL || getpwnam("nobody") == NULL)
		cr_skip_test("needs Debian's shadow group, users backup and "
		    "nobody, and useradd");
	dt_setup();
	snprintf(rt_user, sizeof(rt_user), "pfrtu%ld", (long)getpid());
	snprintf(rt_group, sizeof(rt_group), "pfrtg%ld", (long)getpid());
	/*
	 * A directory every task user may write its findings into: not
	 * under /tmp, which is each task's own under the site policy.
	 */
	snprintf(rt_pub, sizeof(rt_pub), "/var/tmp/pf-rtgroups-XXXXXX");
	cr_assert_not_null(mkdtemp(rt_pub));
	cr_assert_eq(chmod(rt_pub, 01777), 0);
	cr_assert_eq(chmod(dt_dir, 0711), 0);
	dt_default_user = 1;
}

static void
rt_teardown(void)
{
	if (geteuid() == 0 && rt_user[0] != '\0') {
		if (getpwnam(rt_user) != NULL)
			(void)rt_sh("userdel %s 2>/dev/null", rt_user);
		if (getgrnam(rt_user) != NULL)
			(void)rt_sh("groupdel %s 2>/dev/null", rt_user);
		if (getgrnam(rt_group) != NULL)
			(void)rt_sh("groupdel %s", rt_group);
	}
	if (rt_pub[0] != '\0') {
		test_rmrf(rt_pub);
		rt_pub[0] = '\0';
	}
	if (dt_dir != NULL)
		dt_teardown();
	if (rt_lock != -1) {
		close(rt_lock);
		rt_lock = -1;
	}
}

TestSuite(redteam_groups, .init = rt_setup, .fini = rt_teardown,
    .timeout = 240);

/*
 * A workflow whose task records its groups and tries /etc/shadow; run at
 * start when `at_start`, else on demand.  run_as NULL: none.
 */
static void
rt_wf(const char *name, const char *run_as, int at_start)
{
	char	 ra[128] = "", file[80];

	if (run_as != NULL)
		snprintf(ra, sizeof(ra), "    run_as: \"%s\"\n", run_as);
	snprintf(file, sizeof(file), "%s.yaml", name);
	dt_wf(file, "name: %s\n%stasks:\n  - name: leak\n    type: shell\n"
	    "    retry: 0\n%s    config:\n      command: /bin/sh\n"
	    "      args: [-c, 'id -G > %s/%s.groups; cat /etc/shadow > "
	    "%s/%s.leak 2>&1; echo done > %s/%s.done']\n", name,
	    at_start ? "schedule: \"@start\"\n" : "", ra, rt_pub, name,
	    rt_pub, name, rt_pub, name);
}

/* What the task of workflow `name` left in `what` (NULL: nothing). */
static char *
rt_found(const char *name, const char *what)
{
	char	 p[4400];

	snprintf(p, sizeof(p), "%s/%s.%s", rt_pub, name, what);
	return test_read(p, NULL);
}

/* The task of `name` never read /etc/shadow. */
static void
rt_no_shadow(const char *name)
{
	char	*leak = rt_found(name, "leak");

	cr_expect(leak == NULL || (strstr(leak, "root:") == NULL &&
	    strstr(leak, "nobody:") == NULL), "the task of %s read "
	    "/etc/shadow", name);
	free(leak);
}

/* 1 when the task of `name` had gid among its groups. */
static int
rt_had_gid(const char *name, gid_t gid)
{
	char	*g = rt_found(name, "groups"), *p, *e;
	long	 v;
	int	 yes = 0;

	cr_assert_not_null(g, "%s left no groups", name);
	for (p = g; *p != '\0'; p = e) {
		v = strtol(p, &e, 10);
		if (e == p)
			break;
		if (v == (long)gid)
			yes = 1;
	}
	free(g);
	return yes;
}

/* Waits for the run of `name` to end; its task's status and reason. */
static void
rt_wait_run(const char *name, char **status, char **reason)
{
	char	 q[512];

	snprintf(q, sizeof(q), "SELECT count(*) FROM executions e JOIN "
	    "workflows w ON w.id = e.workflow_id WHERE w.name = '%s' AND "
	    "e.status <> 'running'", name);
	dt_wait_int(q, 1, 90);
	snprintf(q, sizeof(q), "SELECT t.status FROM task_executions t JOIN "
	    "executions e ON e.id = t.execution_id JOIN workflows w ON w.id = "
	    "e.workflow_id WHERE w.name = '%s' ORDER BY t.id DESC LIMIT 1",
	    name);
	*status = dt_str(q);
	snprintf(q, sizeof(q), "SELECT coalesce(t.reason, '') FROM "
	    "task_executions t JOIN executions e ON e.id = t.execution_id "
	    "JOIN workflows w ON w.id = e.workflow_id WHERE w.name = '%s' "
	    "ORDER BY t.id DESC LIMIT 1", name);
	*reason = dt_str(q);
}

static void
rt_trigger(const char *name)
{
	struct ctl_reply rep;

	dt_ctl(CTL_CMD_TRIGGER, name, -1, &rep);
	cr_assert(rep.ok, "%s", rep.message ? rep.message : "");
	ctl_reply_free(&rep);
}

/* 1 when the running supervisor has loaded workflow `name`. */
static int
rt_loaded(const char *name)
{
	struct ctl_reply st;
	size_t		 i;
	int		 yes = 0;

	dt_status(&st);
	for (i = 0; i < st.nwfs; i++)
		if (strcmp(st.wfs[i].name, name) == 0)
			yes = 1;
	ctl_reply_free(&st);
	return yes;
}

/*
 * The attack as written: the shipped site policy says run_as:
 * [nobody, "backup:*"], and backup:shadow read /etc/shadow.
 */
Test(redteam_groups, site_policy_refuses_backup_shadow)
{
	struct proc_result r;
	char		 extra[4400], wf[4400], *st, *why;

	rt_wf("shadow", "backup:shadow", 1);
	rt_wf("legit", "backup:backup", 1);
	snprintf(extra, sizeof(extra), "--policy %s", SITE_POLICY);
	dt_start(extra);
	/* The legitimate one runs, as backup with its own group only. */
	rt_wait_run("legit", &st, &why);
	cr_expect_str_eq(st, "success", "%s", why);
	free(st);
	free(why);
	cr_expect_not(rt_loaded("shadow"), "backup:shadow was loaded");
	dt_stop(0);
	cr_expect(dt_log_has("shadow.yaml:7:13: error: task 'leak': run_as: "
	    "group 'shadow' is privileged (reads /etc/shadow and "
	    "/etc/gshadow, the password hashes); a privileged group is "
	    "refused like root, which the policy does not allow (policy rule "
	    "allow_root at " SITE_POLICY ":42:13)"));
	cr_expect_eq(dt_int("SELECT count(*) FROM executions e JOIN workflows "
	    "w ON w.id = e.workflow_id WHERE w.name = 'shadow'"), 0);
	cr_expect_null(rt_found("shadow", "done"), "the task ran");
	rt_no_shadow("shadow");
	cr_expect_not(rt_had_gid("legit", getgrnam("shadow")->gr_gid));

	/* validate says the same, at the same place. */
	snprintf(wf, sizeof(wf), "%s/shadow.yaml", dt_wfdir);
	test_picoflow(&r, 120, "validate", "--policy", SITE_POLICY, wf,
	    (const char *)NULL);
	cr_expect_eq(r.exit_code, 1, "%s%s", r.out, r.err);
	cr_expect(strstr(r.err, "shadow.yaml:7:13: error: task 'leak': "
	    "run_as: group 'shadow' is privileged") != NULL, "%s", r.err);
	proc_result_free(&r);
}

/* No policy, a root supervisor: nobody:shadow and a supplementary one. */
Test(redteam_groups, no_policy_refuses_nobody_shadow)
{
	rt_wf("primary", "nobody:shadow", 1);
	rt_wf("supp", "nobody:nogroup,shadow", 1);
	rt_wf("byid", "nobody:0", 1);
	dt_start(NULL);
	cr_expect_not(rt_loaded("primary"));
	cr_expect_not(rt_loaded("supp"));
	cr_expect_not(rt_loaded("byid"));
	dt_stop(0);
	cr_expect(dt_log_has("primary.yaml:7:13: error: task 'leak': run_as: "
	    "group 'shadow' is privileged (reads /etc/shadow and "
	    "/etc/gshadow, the password hashes); without a policy a "
	    "privileged group is refused like root"));
	cr_expect(dt_log_has("supp.yaml:7:13: error: task 'leak': run_as: "
	    "group 'shadow' is privileged"));
	cr_expect(dt_log_has("byid.yaml:7:13: error: task 'leak': run_as: "
	    "'nobody:0' is root; without a policy a task may run as root "
	    "only when"));
	cr_expect_eq(dt_int("SELECT count(*) FROM executions"), 0);
	rt_no_shadow("primary");
	rt_no_shadow("supp");
	rt_no_shadow("byid");
}

/*
 * postgres-style: a user whose /etc/group membership is privileged.
 * run_as: USER gets no supplementary group it does not list; listing the
 * privileged one is refused.
 */
Test(redteam_groups, membership_is_not_granted)
{
	char	 ra[80];
	struct group *ssl;

	cr_assert_eq(rt_sh("useradd -M -s /usr/sbin/nologin -G shadow %s",
	    rt_user), 0);
	rt_wf("member", rt_user, 1);
	snprintf(ra, sizeof(ra), "%s:%s,shadow", rt_user, rt_user);
	rt_wf("listed", ra, 1);
	/* The issue's own example, where this host has it. */
	ssl = getgrnam("ssl-cert");
	if (getpwnam("postgres") != NULL && ssl != NULL)
		rt_wf("postgres", "postgres", 1);
	dt_start(NULL);
	cr_expect_not(rt_loaded("listed"));
	{
		char	*st, *why;

		rt_wait_run("member", &st, &why);
		free(st);
		free(why);
		if (getpwnam("postgres") != NULL && ssl != NULL) {
			rt_wait_run("postgres", &st, &why);
			free(st);
			free(why);
		}
	}
	dt_stop(0);
	cr_expect_not(rt_had_gid("member", getgrnam("shadow")->gr_gid),
	    "the membership in shadow was granted");
	rt_no_shadow("member");
	cr_expect_null(rt_found("listed", "done"));
	cr_expect(dt_log_has("listed.yaml:7:13: error: task 'leak': run_as: "
	    "group 'shadow' is privileged"));
	if (getpwnam("postgres") != NULL && ssl != NULL)
		cr_expect_not(rt_had_gid("postgres", ssl->gr_gid),
		    "postgres got ssl-cert");
}

/*
 * /etc/group changes after the workflow is loaded: a listed group takes
 * shadow's gid, or the user's primary group becomes shadow.  pf-worker
 * resolves the ids again and refuses; the attempt fails with the reason.
 */
Test(redteam_groups, turned_privileged_after_load_refused_at_run)
{
	char		 ra[80], want[256], *st, *why;
	gid_t		 shadow = getgrnam("shadow")->gr_gid;

	cr_assert_eq(rt_sh("groupadd %s", rt_group), 0);
	cr_assert_eq(rt_sh("useradd -M -U -s /usr/sbin/nologin %s", rt_user),
	    0);
	snprintf(ra, sizeof(ra), "nobody:%s", rt_group);
	rt_wf("regid", ra, 0);
	rt_wf("primary", rt_user, 0);
	dt_start(NULL);
	cr_assert(rt_loaded("regid"));
	cr_assert(rt_loaded("primary"));

	/* Loaded while harmless; now made privileged. */
	cr_assert_eq(rt_sh("groupmod -o -g %lu %s", (unsigned long)shadow,
	    rt_group), 0);
	cr_assert_eq(rt_sh("usermod -g shadow %s", rt_user), 0);
	rt_trigger("regid");
	rt_trigger("primary");

	rt_wait_run("regid", &st, &why);
	cr_expect_str_eq(st, "failed");
	snprintf(want, sizeof(want), "group '%s' is privileged (gid %lu, that "
	    "of 'shadow'", rt_group, (unsigned long)shadow);
	cr_expect(strstr(why, want) != NULL, "reason: %s", why);
	free(st);
	free(why);
	rt_wait_run("primary", &st, &why);
	cr_expect_str_eq(st, "failed");
	snprintf(want, sizeof(want), "user '%s' has primary group 'shadow' "
	    "(gid %lu), which is privileged", rt_user, (unsigned long)shadow);
	cr_expect(strstr(why, want) != NULL, "reason: %s", why);
	free(st);
	free(why);
	dt_stop(0);
	cr_expect_null(rt_found("regid", "done"), "the task ran");
	cr_expect_null(rt_found("primary", "done"), "the task ran");
	rt_no_shadow("regid");
	rt_no_shadow("primary");
}

/* The operator's default user goes through the same check. */
Test(redteam_groups, default_user_with_a_privileged_group_refused)
{
	struct proc_result r;
	char		*argv[10], wf[4400], *pol;

	argv[0] = (char *)(uintptr_t)test_bin("pf-supervisor");
	argv[1] = (char *)"-n";
	argv[2] = (char *)"-c";
	argv[3] = dt_wfdir;
	argv[4] = (char *)"--state-dir";
	argv[5] = dt_state;
	argv[6] = (char *)"--run-as";
	argv[7] = (char *)"nobody:shadow";
	argv[8] = NULL;
	rt_wf("plain", NULL, 0);
	cr_assert_eq(proc_run(argv, NULL, 60, &r), 0);
	cr_expect_eq(r.exit_code, 2, "%s%s", r.out, r.err);
	cr_expect(strstr(r.err, "pf-supervisor: --run-as: group 'shadow' is "
	    "privileged (reads /etc/shadow and /etc/gshadow, the password "
	    "hashes); a privileged group is refused like root") != NULL,
	    "%s", r.err);
	proc_result_free(&r);

	/* picoflow run/validate --run-as: every task that does not say. */
	snprintf(wf, sizeof(wf), "%s/plain.yaml", dt_wfdir);
	test_picoflow(&r, 120, "validate", "--run-as", "nobody:shadow", wf,
	    (const char *)NULL);
	cr_expect_eq(r.exit_code, 1, "%s%s", r.out, r.err);
	cr_expect(strstr(r.err, "task 'leak': runs as 'nobody:shadow' by "
	    "default (no run_as): group 'shadow' is privileged") != NULL,
	    "%s", r.err);
	proc_result_free(&r);

	/* A policy's default_run_as: refused in the policy itself. */
	pol = test_write(dt_dir, "pol.yaml", "default_run_as: "
	    "\"nobody:shadow\"\n");
	test_picoflow(&r, 120, "validate", "--policy", pol, wf,
	    (const char *)NULL);
	cr_expect_eq(r.exit_code, 1, "%s%s", r.out, r.err);
	cr_expect(strstr(r.err, "pol.yaml:1:17: error: default_run_as: "
	    "'nobody:shadow': group 'shadow' is privileged") != NULL, "%s",
	    r.err);
	proc_result_free(&r);
	free(pol);
	cr_expect_null(rt_found("plain", "done"));
}

/*
 * A group the policy adds (privileged_groups) that only appears after
 * load: pf-worker gets the policy's list in its SPEC and refuses it.
 */
Test(redteam_groups, policy_addition_checked_at_run)
{
	char		 ra[80], want[256], *pol, extra[4400], text[256];
	char		*st, *why;
	gid_t		 gid;

	for (gid = 40000 + (gid_t)(getpid() % 20000); getgrgid(gid) != NULL;
	    gid++)
		;
	snprintf(text, sizeof(text), "privileged_groups: [%s]\n", rt_group);
	pol = test_write(dt_dir, "pol.yaml", text);
	snprintf(ra, sizeof(ra), "nobody:%lu", (unsigned long)gid);
	rt_wf("later", ra, 0);
	snprintf(extra, sizeof(extra), "--policy %s", pol);
	dt_start(extra);
	cr_assert(rt_loaded("later"));
	cr_assert_eq(rt_sh("groupadd -g %lu %s", (unsigned long)gid,
	    rt_group), 0);
	rt_trigger("later");
	rt_wait_run("later", &st, &why);
	cr_expect_str_eq(st, "failed");
	snprintf(want, sizeof(want), "group '%lu' is privileged (gid %lu, that "
	    "of '%s': listed in the policy's privileged_groups)",
	    (unsigned long)gid, (unsigned long)gid, rt_group);
	cr_expect(strstr(why, want) != NULL, "reason: %s", why);
	free(st);
	free(why);
	dt_stop(0);
	cr_expect_null(rt_found("later", "done"), "the task ran");
	free(pol);
}

/*
 * The operator's consent still works: with --run-as root (no policy) a
 * task may name a privileged group, and pf-worker, told so, sets it.
 */
Test(redteam_groups, operator_consent_is_honoured)
{
	char	*st, *why;

	rt_wf("consented", "nobody:nogroup,shadow", 1);
	dt_start("--run-as root");
	rt_wait_run("consented", &st, &why);
	cr_expect_str_eq(st, "success", "%s", why);
	free(st);
	free(why);
	dt_stop(0);
	cr_expect(rt_had_gid("consented", getgrnam("shadow")->gr_gid));
}

/*
 * pf-worker's own step, in this (forked) test process: exactly the
 * listed groups, and a privileged one refused even when nothing checked
 * the workflow before (a SPEC from elsewhere).
 */
Test(redteam_groups, worker_sets_exactly_the_listed_groups)
{
	struct pf_err	 err;
	gid_t		 groups[16], nogroup, users;
	gid_t		 shadow = getgrnam("shadow")->gr_gid;
	int		 n;

	/* getgrnam's struct is overwritten by the next call: copy the ids. */
	if (getgrnam("users") == NULL || getgrnam("nogroup") == NULL)
		cr_skip_test("needs Debian's groups users and nogroup");
	users = getgrnam("users")->gr_gid;
	nogroup = getgrnam("nogroup")->gr_gid;
	cr_assert_eq(sandbox_ids("nobody:shadow", &err), -1);
	cr_expect(strstr(err.msg, "run_as 'nobody:shadow': group 'shadow' is "
	    "privileged") != NULL, "%s", err.msg);
	cr_assert_eq(sandbox_ids("nobody:nogroup,users,shadow", &err), -1);
	cr_assert_eq(geteuid(), 0, "ids changed on the way");
	cr_assert_eq(sandbox_ids("nobody:nogroup,users", &err), 0, "%s",
	    err.msg);
	cr_assert_eq(geteuid(), getpwnam("nobody")->pw_uid);
	/* The kernel keeps them sorted. */
	n = getgroups(16, groups);
	cr_assert_eq(n, 2);
	cr_expect_eq(groups[0], users);
	cr_expect_eq(groups[1], nogroup);
	cr_expect_neq(groups[0], shadow);
}
