/*
 * Red team, as an untrusted workflow author or a local user would play
 * it against a root pf-supervisor: one workflow taking every slot, a
 * state directory prepared with links, and text made to fool whoever
 * reads logs and command output on a terminal.  Each test is the attack,
 * asserting that it is contained.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "../lib/daemon_harness.h"

#define SITE_POLICY	PF_SRC_DIR "/examples/policy/site-policy.yaml"
/* One task that sleeps a week; one workflow of one quick task. */
#define SLEEPER(n)	"  - {name: " n ", type: shell, config: {command: " \
			"/bin/sleep, args: [\"604800\"]}}\n"
#define ONE_TASK_WF	"name: w\ntasks:\n  - {name: t, type: shell, " \
			"config: {command: /bin/true}}\n"

TestSuite(fair, .init = dt_setup, .fini = dt_teardown, .timeout = 240);
TestSuite(statedir, .init = dt_setup, .fini = dt_teardown, .timeout = 120);
TestSuite(escape, .init = dt_setup, .fini = dt_teardown, .timeout = 180);

static void
need_root(void)
{
	if (geteuid() != 0)
		cr_skip_test("needs root: the attacks are on a root supervisor");
}

/* ---- fairness ----------------------------------------------------------- */

/*
 * A workflow firing every second, overlap allow, four week-long tasks a
 * run, against 8 global slots: before, it held all 8 after 2 s and runs
 * piled up without end; another workflow's triggered run never started.
 */
Test(fair, greedy_workflow_leaves_room_for_another)
{
	struct proc_result	 r;
	char			 sql[256];
	int64_t			 t0, started, greedy_tasks, greedy_runs;

	need_root();
	dt_wf("greedy.yaml",
	    "name: greedy\n"
	    "schedule: \"* * * * * *\"\n"
	    "overlap: allow\n"
	    "config: {max_parallel: 4}\n"
	    "tasks:\n"
	    SLEEPER("a")
	    SLEEPER("b")
	    SLEEPER("c")
	    SLEEPER("d"));
	dt_wf("victim.yaml",
	    "name: victim\n"
	    "tasks:\n"
	    "  - {name: v, type: shell, config: {command: /bin/true}}\n");
	dt_start("--policy " SITE_POLICY " --max-tasks 8 --stop-timeout 1");
	/* Long enough for 6 fires: a greedy workflow had every slot by 2. */
	dt_wait_int("SELECT count(*) FROM task_executions t JOIN executions e "
	    "ON t.execution_id = e.id JOIN workflows w ON e.workflow_id = "
	    "w.id WHERE w.name = 'greedy' AND t.status = 'running'", 4, 30);
	sleep(5);

	t0 = dt_now_ms();
	dt_pf(&r, "trigger", "victim", NULL, NULL);
	cr_assert_eq(r.exit_code, 0, "%s%s", r.out, r.err);
	proc_result_free(&r);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM task_executions t "
	    "JOIN executions e ON t.execution_id = e.id JOIN workflows w ON "
	    "e.workflow_id = w.id WHERE w.name = 'victim' AND t.started_ms "
	    ">= %lld", (long long)t0);
	dt_wait_int(sql, 1, 10);
	started = dt_int("SELECT min(t.started_ms) FROM task_executions t "
	    "JOIN executions e ON t.execution_id = e.id JOIN workflows w ON "
	    "e.workflow_id = w.id WHERE w.name = 'victim'");
	cr_assert_lt(started - t0, 1000, "the victim's task started %lld ms "
	    "after its trigger", (long long)(started - t0));

	greedy_tasks = dt_int("SELECT count(*) FROM task_executions t JOIN "
	    "executions e ON t.execution_id = e.id JOIN workflows w ON "
	    "e.workflow_id = w.id WHERE w.name = 'greedy' AND t.status = "
	    "'running'");
	greedy_runs = dt_int("SELECT count(*) FROM executions e JOIN "
	    "workflows w ON e.workflow_id = w.id WHERE w.name = 'greedy' "
	    "AND e.status = 'running'");
	/* Defaults: half the global slots, four runs in flight. */
	cr_assert_leq(greedy_tasks, 4, "greedy holds %lld of 8 slots",
	    (long long)greedy_tasks);
	cr_assert_leq(greedy_runs, 4, "greedy has %lld runs in flight",
	    (long long)greedy_runs);
	cr_assert(dt_log_has("skipped: 4 runs in flight, its cap "
	    "(max_runs_running)"));
	/* A trigger beyond the cap is refused too, and says why. */
	dt_pf(&r, "trigger", "greedy", NULL, NULL);
	cr_assert_neq(r.exit_code, 0, "%s%s", r.out, r.err);
	cr_assert(strstr(r.err, "not started: 4 runs in flight") != NULL ||
	    strstr(r.out, "not started: 4 runs in flight") != NULL, "%s%s",
	    r.out, r.err);
	proc_result_free(&r);
	dt_stop(0);
}

/* The workflow's own caps, within the supervisor's slots. */
Test(fair, config_caps_apply)
{
	int64_t	 tasks, runs;

	need_root();
	dt_wf("greedy.yaml",
	    "name: greedy\n"
	    "schedule: \"* * * * * *\"\n"
	    "overlap: allow\n"
	    "config: {max_parallel: 4, max_tasks_running: 2, "
	    "max_runs_running: 2}\n"
	    "tasks:\n"
	    SLEEPER("a")
	    SLEEPER("b")
	    SLEEPER("c"));
	dt_start("--max-tasks 32 --stop-timeout 1");
	dt_wait_int("SELECT count(*) FROM task_executions WHERE status = "
	    "'running'", 2, 30);
	sleep(4);
	tasks = dt_int("SELECT count(*) FROM task_executions WHERE status = "
	    "'running'");
	runs = dt_int("SELECT count(*) FROM executions WHERE status = "
	    "'running'");
	cr_assert_eq(tasks, 2, "%lld tasks running", (long long)tasks);
	cr_assert_eq(runs, 2, "%lld runs in flight", (long long)runs);
	dt_stop(0);
}

/* A workflow asking more than the policy's ceilings is refused at load. */
Test(fair, policy_ceilings)
{
	struct proc_result	 r;
	char			*pol, *wf;
	char			*argv[8];

	pol = test_write(dt_dir, "p.yaml", "max_tasks_running: 2\n"
	    "max_runs_running: 1\n");
	wf = test_write(dt_wfdir, "w.yaml", "name: w\n"
	    "config:\n"
	    "  max_tasks_running: 5\n"
	    "  max_runs_running: 3\n"
	    "tasks:\n"
	    "  - {name: t, type: shell, config: {command: /bin/true}}\n");
	argv[0] = (char *)(uintptr_t)test_bin("picoflow");
	argv[1] = (char *)"validate";
	argv[2] = (char *)"--policy";
	argv[3] = pol;
	argv[4] = wf;
	argv[5] = NULL;
	cr_assert_eq(proc_run(argv, NULL, 60, &r), 0);
	cr_assert_neq(r.exit_code, 0);
	cr_assert(strstr(r.err, "w.yaml:3:22: error: config.max_tasks_running: "
	    "5 exceeds the ceiling 2 (policy rule max_tasks_running at ") !=
	    NULL, "%s", r.err);
	cr_assert(strstr(r.err, "p.yaml:1:20)") != NULL, "%s", r.err);
	cr_assert(strstr(r.err, "w.yaml:4:21: error: config.max_runs_running: "
	    "3 exceeds the ceiling 1 (policy rule max_runs_running at ") !=
	    NULL, "%s", r.err);
	proc_result_free(&r);
	free(pol);
	free(wf);
}

/* ---- the state directory ------------------------------------------------- */

/* Starts pf-supervisor expecting it to refuse; returns its whole log. */
static char *
start_refused(const char *extra)
{
	double	 t0 = dt_mono();
	int	 st = 0;
	pid_t	 r = 0;

	(void)dt_spawn(extra);
	while (dt_mono() - t0 < 60 &&
	    (r = waitpid(dt_pid, &st, WNOHANG)) == 0)
		usleep(20000);
	if (r != dt_pid)
		cr_assert_fail("pf-supervisor did not refuse: %s", dt_logs());
	dt_pid = -1;
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 1, "status %d: %s", st,
	    dt_logs());
	return dt_logs();
}

/* The link's target: a file of the attacker's choosing. */
static char	 target[4400];

static void
plant(const char *name)
{
	char	 link[4400];

	snprintf(target, sizeof(target), "%s/target-%s", dt_dir, name);
	snprintf(link, sizeof(link), "%s/%s", dt_state, name);
	cr_assert_eq(symlink(target, link), 0);
}

static void
target_untouched(void)
{
	struct stat	 sb;

	cr_assert_eq(lstat(target, &sb), -1, "%s was created through the "
	    "link", target);
}

Test(statedir, world_writable_refused)
{
	char	*log;

	dt_wf("w.yaml", ONE_TASK_WF);
	cr_assert_eq(mkdir(dt_state, 0700), 0);
	cr_assert_eq(chmod(dt_state, 0777), 0);
	plant("picoflow.db");
	log = start_refused(NULL);
	cr_assert(strstr(log, "state directory ") != NULL &&
	    strstr(log, " is writable by group and others (mode 0777)") !=
	    NULL && strstr(log, "chmod 700 ") != NULL, "%s", log);
	target_untouched();
	free(log);
}

Test(statedir, group_writable_refused)
{
	char	*log;

	dt_wf("w.yaml", ONE_TASK_WF);
	cr_assert_eq(mkdir(dt_state, 0700), 0);
	cr_assert_eq(chmod(dt_state, 0770), 0);
	log = start_refused(NULL);
	cr_assert(strstr(log, " is writable by its group (mode 0770)") != NULL,
	    "%s", log);
	free(log);
}

Test(statedir, foreign_owner_refused)
{
	struct passwd	*pw;
	char		*log;

	need_root();
	if ((pw = getpwnam("nobody")) == NULL)
		cr_skip_test("no user 'nobody' to own the directory");
	dt_wf("w.yaml", ONE_TASK_WF);
	cr_assert_eq(mkdir(dt_state, 0700), 0);
	cr_assert_eq(chown(dt_state, pw->pw_uid, pw->pw_gid), 0);
	log = start_refused(NULL);
	cr_assert(strstr(log, "is owned by uid ") != NULL &&
	    strstr(log, "not by uid 0 (this process)") != NULL, "%s", log);
	free(log);
}

Test(statedir, created_0700)
{
	struct stat	 sb;

	dt_wf("w.yaml", ONE_TASK_WF);
	snprintf(dt_state, sizeof(dt_state), "%s/a/b/st", dt_dir);
	snprintf(dt_db, sizeof(dt_db), "%s/a/b/st/picoflow.db", dt_dir);
	snprintf(dt_sock, sizeof(dt_sock), "%s/a/b/st/control.sock", dt_dir);
	dt_start(NULL);
	cr_assert_eq(stat(dt_state, &sb), 0);
	cr_assert_eq(sb.st_mode & 0777, 0700, "mode %o", sb.st_mode & 0777);
	cr_assert_eq(sb.st_uid, geteuid());
	dt_stop(0);
}

Test(statedir, db_symlink_refused)
{
	char	*log;

	dt_wf("w.yaml", ONE_TASK_WF);
	cr_assert_eq(mkdir(dt_state, 0700), 0);
	plant("picoflow.db");
	log = start_refused(NULL);
	cr_assert(strstr(log, "/picoflow.db is a symbolic link; the database "
	    "and its -wal and -shm files are never opened through one") !=
	    NULL, "%s", log);
	target_untouched();
	free(log);
}

Test(statedir, wal_symlink_refused)
{
	char	*log;

	dt_wf("w.yaml", ONE_TASK_WF);
	cr_assert_eq(mkdir(dt_state, 0700), 0);
	plant("picoflow.db-wal");
	log = start_refused(NULL);
	cr_assert(strstr(log, "/picoflow.db-wal is a symbolic link") != NULL,
	    "%s", log);
	target_untouched();
	free(log);
}

Test(statedir, log_symlink_refused)
{
	char	*log;

	dt_wf("w.yaml", ONE_TASK_WF);
	cr_assert_eq(mkdir(dt_state, 0700), 0);
	plant("pf-supervisor.log");
	log = start_refused("-d");
	cr_assert(strstr(log, "cannot open the log file ") != NULL &&
	    strstr(log, "(it is a symbolic link, which is never followed: "
	    "remove it)") != NULL, "%s", log);
	target_untouched();
	free(log);
}

Test(statedir, pidfile_symlink_refused)
{
	char	*log;

	dt_wf("w.yaml", ONE_TASK_WF);
	cr_assert_eq(mkdir(dt_state, 0700), 0);
	plant("pf-supervisor.pid");
	log = start_refused(NULL);
	cr_assert(strstr(log, "cannot open pidfile ") != NULL &&
	    strstr(log, "(it is a symbolic link, which is never followed: "
	    "remove it)") != NULL, "%s", log);
	target_untouched();
	free(log);
}

Test(statedir, socket_symlink_refused)
{
	char	*log;

	dt_wf("w.yaml", ONE_TASK_WF);
	cr_assert_eq(mkdir(dt_state, 0700), 0);
	plant("control.sock");
	log = start_refused(NULL);
	cr_assert(strstr(log, "/control.sock exists and is not a socket (a "
	    "symbolic link, which is never followed); remove it") != NULL,
	    "%s", log);
	target_untouched();
	free(log);
}

/* A read command as root does not follow a planted database link. */
Test(statedir, read_command_refuses_db_symlink)
{
	struct proc_result	 r;
	char			 db[4400];

	cr_assert_eq(mkdir(dt_state, 0700), 0);
	/* A real database elsewhere, reached only through the link. */
	snprintf(db, sizeof(db), "%s/real.db", dt_dir);
	cr_assert_eq(symlink(db, dt_db), 0);
	{
		sqlite3	*h;

		cr_assert_eq(sqlite3_open(db, &h), SQLITE_OK);
		cr_assert_eq(sqlite3_exec(h, "PRAGMA user_version = 1", NULL,
		    NULL, NULL), SQLITE_OK);
		sqlite3_close(h);
	}
	dt_pf(&r, "history", "w", NULL, NULL);
	cr_assert_neq(r.exit_code, 0, "%s", r.out);
	cr_assert(strstr(r.err, "picoflow.db is a symbolic link") != NULL,
	    "%s", r.err);
	proc_result_free(&r);
}

/* ---- escaping of what workflows and tasks wrote -------------------------- */

Test(escape, quote_in_workflow_name_logged_escaped)
{
	dt_wf("q.yaml",
	    "name: \"a'; touch /tmp/pwned; : '\"\n"
	    "tasks:\n"
	    "  - {name: t, type: shell, config: {command: /bin/true}}\n");
	dt_start(NULL);
	cr_assert(dt_log_has("'a\\'; touch /tmp/pwned; : \\'' loaded from"),
	    "%s", dt_logs());
	cr_assert(!dt_log_has("'a'; touch"), "%s", dt_logs());
	dt_stop(0);
}

/* No byte of C1, bidi control or ESC of the attack left in s. */
static void
assert_no_raw(const char *what, const char *s)
{
	cr_assert(strstr(s, "\xc2\x9b") == NULL, "%s: raw U+009B: %s", what,
	    s);
	cr_assert(strstr(s, "\xe2\x80\xae") == NULL, "%s: raw U+202E: %s",
	    what, s);
	cr_assert(strstr(s, "\xe2\x81\xa6") == NULL, "%s: raw U+2066: %s",
	    what, s);
	cr_assert(strchr(s, '\x1b') == NULL, "%s: raw ESC: %s", what, s);
}

/*
 * A name with U+202E (C1 controls are refused in names by the loader)
 * and a task printing CSI (U+009B), ESC, U+202E and U+2066: picoflow
 * logs, run and status show them escaped, --json as \u escapes.
 */
Test(escape, c1_and_bidi_escaped_in_logs_run_status)
{
	struct proc_result	 r;
	char			*wf, *argv[8];
	static const char	 text[] =
	    "name: \"evil\\u202egpj.exe\"\n"
	    "tasks:\n"
	    "  - name: t\n"
	    "    type: shell\n"
	    "    config:\n"
	    "      command: /usr/bin/printf\n"
	    /* printf's own octal escapes: the loader refuses controls. */
	    "      args: [\"A\\\\302\\\\23331mB\\\\033[2JC\\\\342\\\\200"
	    "\\\\256D\\\\342\\\\201\\\\246E\\\\n\"]\n";

	wf = test_write(dt_wfdir, "e.yaml", text);

	/* picoflow run: the header, and the run itself. */
	argv[0] = (char *)(uintptr_t)test_bin("picoflow");
	argv[1] = (char *)"--state-dir";
	argv[2] = dt_state;
	argv[3] = (char *)"run";
	argv[4] = wf;
	argv[5] = NULL;
	cr_assert_eq(proc_run(argv, NULL, 120, &r), 0);
	cr_assert_eq(r.exit_code, 0, "%s%s", r.out, r.err);
	assert_no_raw("run", r.out);
	assert_no_raw("run (stderr)", r.err);
	cr_assert(strstr(r.out, "Run of 'evil\\u202egpj.exe'") != NULL, "%s",
	    r.out);
	proc_result_free(&r);

	argv[3] = (char *)"validate";
	cr_assert_eq(proc_run(argv, NULL, 120, &r), 0);
	cr_assert_eq(r.exit_code, 0, "%s%s", r.out, r.err);
	assert_no_raw("validate", r.out);
	cr_assert(strstr(r.out, "Workflow 'evil\\u202egpj.exe' is valid") !=
	    NULL, "%s", r.out);
	proc_result_free(&r);

	dt_pf(&r, "logs", "evil\xe2\x80\xaegpj.exe", NULL, NULL);
	cr_assert_eq(r.exit_code, 0, "%s%s", r.out, r.err);
	assert_no_raw("logs", r.out);
	cr_assert(strstr(r.out, "A\\u009b31mB\\x1b[2JC\\u202eD\\u2066E") !=
	    NULL, "%s", r.out);
	proc_result_free(&r);

	dt_pf(&r, "logs", "evil\xe2\x80\xaegpj.exe", "--json", NULL);
	cr_assert_eq(r.exit_code, 0, "%s%s", r.out, r.err);
	assert_no_raw("logs --json", r.out);
	cr_assert(strstr(r.out, "A\\u009b31mB\\u001b[2JC\\u202eD\\u2066E") !=
	    NULL, "%s", r.out);
	proc_result_free(&r);

	dt_pf(&r, "status", NULL, NULL, NULL);
	cr_assert_eq(r.exit_code, 0, "%s%s", r.out, r.err);
	assert_no_raw("status", r.out);
	cr_assert(strstr(r.out, "evil\\u202egpj.exe") != NULL, "%s", r.out);
	proc_result_free(&r);

	dt_pf(&r, "history", "evil\xe2\x80\xaegpj.exe", "--json", NULL);
	cr_assert_eq(r.exit_code, 0, "%s%s", r.out, r.err);
	assert_no_raw("history --json", r.out);
	cr_assert(strstr(r.out, "evil\\u202egpj.exe") != NULL, "%s", r.out);
	proc_result_free(&r);
	free(wf);
}

/* The supervisor's log: a name with a bidi override. */
Test(escape, c1_and_bidi_escaped_in_supervisor_log)
{
	char	*all;

	dt_wf("e.yaml",
	    "name: \"evil\\u202egpj.exe\"\n"
	    "schedule: \"@start\"\n"
	    "tasks:\n"
	    "  - {name: t, type: shell, config: {command: /bin/false}}\n");
	dt_start(NULL);
	dt_wait_int("SELECT count(*) FROM executions WHERE status != "
	    "'running'", 1, 30);
	dt_stop(0);
	all = dt_logs();
	assert_no_raw("supervisor log", all);
	cr_assert(strstr(all, "'evil\\u202egpj.exe' loaded from") != NULL,
	    "%s", all);
	free(all);
}
