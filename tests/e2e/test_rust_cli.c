/*
 * Behaviour the Rust PicoFlow's own CLI smoke checks expect, through the
 * real binary with their global options before the command
 * (`picoflow --log-level error --db-path DB COMMAND ...`).
 */
#include <criterion/criterion.h>

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/proc.h"

static char	*dir;
static char	 db[4200], state[4200], envstate[4300];

static void
setup(void)
{
	dir = test_tmpdir("rust-cli");
	cr_assert_not_null(dir);
	(void)snprintf(db, sizeof(db), "%s/state.db", dir);
	(void)snprintf(state, sizeof(state), "%s/st", dir);
	(void)snprintf(envstate, sizeof(envstate), "PICOFLOW_STATE_DIR=%s",
	    state);
}

static void
teardown(void)
{
	test_rmrf(dir);
	free(dir);
}

TestSuite(rust_cli, .init = setup, .fini = teardown);

/* picoflow --log-level error --db-path DB ARGS... (NULL-terminated). */
static void
pf(struct proc_result *r, ...)
{
	char		*argv[24], *env[2] = { envstate, NULL };
	char		*a, *bin = strdup(test_bin("picoflow"));
	va_list		 ap;
	int		 n = 0;

	cr_assert_not_null(bin);
	argv[n++] = bin;
	argv[n++] = (char *)"--log-level";
	argv[n++] = (char *)"error";
	argv[n++] = (char *)"--db-path";
	argv[n++] = db;
	va_start(ap, r);
	while ((a = va_arg(ap, char *)) != NULL && n < 23)
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	cr_assert_eq(proc_run(argv, env, 60, r), 0);
	cr_assert(!r->timed_out, "picoflow %s did not end", argv[5]);
	free(bin);
}

Test(rust_cli, continue_on_failure_still_fails_the_run)
{
	struct proc_result	 r;
	char			*f;

	f = test_write(dir, "continue.yaml",
	    "name: continue-demo\n"
	    "tasks:\n"
	    "  - { name: flaky, type: shell, retry: 0, continue_on_failure: "
	    "true, config: { command: \"/bin/sh\", args: [\"-c\", \"exit 1\"] "
	    "} }\n"
	    "  - { name: after, type: shell, depends_on: [flaky], config: { "
	    "command: \"/bin/sh\", args: [\"-c\", \"echo after-ran\"] } }\n");
	pf(&r, "run", f, NULL);
	cr_assert_eq(r.exit_code, 1, "exit %d\n%s%s", r.exit_code, r.out,
	    r.err);
	proc_result_free(&r);
	/* The dependent ran and succeeded; the run is recorded failed. */
	pf(&r, "logs", "continue-demo", NULL);
	cr_assert(strstr(r.out, "after-ran") != NULL, "%s", r.out);
	proc_result_free(&r);
	pf(&r, "history", "continue-demo", "--status", "failed", "--json",
	    NULL);
	cr_assert_eq(r.exit_code, 0, "%s%s", r.out, r.err);
	cr_assert(strstr(r.out, "\"id\":1,") != NULL, "%s", r.out);
	proc_result_free(&r);
	pf(&r, "history", "continue-demo", "--status", "success", "--json",
	    NULL);
	cr_assert(strstr(r.out, "\"id\":1,") == NULL, "%s", r.out);
	proc_result_free(&r);
	free(f);
}

Test(rust_cli, status_labels_each_execution)
{
	struct proc_result	 r;
	char			*f;

	f = test_write(dir, "seq.yaml",
	    "name: seq-demo\n"
	    "tasks:\n"
	    "  - { name: a, type: shell, config: { command: /bin/true } }\n"
	    "  - { name: b, type: shell, depends_on: [a], config: { command: "
	    "/bin/true } }\n");
	pf(&r, "run", f, NULL);
	cr_assert_eq(r.exit_code, 0, "%s%s", r.out, r.err);
	proc_result_free(&r);
	pf(&r, "run", f, NULL);
	proc_result_free(&r);
	pf(&r, "status", "seq-demo", NULL);
	cr_assert_eq(r.exit_code, 0, "%s%s", r.out, r.err);
	cr_assert(strstr(r.out, "Execution ID: 2;") != NULL, "%s", r.out);
	cr_assert(strstr(r.out, "Execution ID: 1;") != NULL, "%s", r.out);
	/* Our table is still there. */
	cr_assert(strncmp(r.out, "ID  WORKFLOW  STATUS", 20) == 0, "%s",
	    r.out);
	proc_result_free(&r);
	pf(&r, "status", "seq-demo", "--limit", "1", NULL);
	cr_assert(strstr(r.out, "Execution ID: 2;") != NULL, "%s", r.out);
	cr_assert(strstr(r.out, "Execution ID: 1;") == NULL, "%s", r.out);
	proc_result_free(&r);
	free(f);
}

Test(rust_cli, stats_names_the_statuses)
{
	struct proc_result	 r;
	char			*f;

	f = test_write(dir, "seq.yaml",
	    "name: seq-demo\n"
	    "tasks:\n"
	    "  - { name: a, type: shell, config: { command: /bin/true } }\n");
	pf(&r, "run", f, NULL);
	proc_result_free(&r);
	pf(&r, "stats", "seq-demo", NULL);
	cr_assert_eq(r.exit_code, 0, "%s%s", r.out, r.err);
	cr_assert(strstr(r.out, "\nsuccess:           1 (100.0%)\n") != NULL,
	    "%s", r.out);
	cr_assert(strstr(r.out, "\nfailed:            0 (0.0%)\n") != NULL,
	    "%s", r.out);
	proc_result_free(&r);
	free(f);
}

Test(rust_cli, daemon_start_refuses_an_unscheduled_file, .timeout = 60)
{
	struct proc_result	 r;
	char			 pidf[4300];
	char			*seq, *sched;
	int			 i, fired = 0;

	(void)snprintf(pidf, sizeof(pidf), "%s/daemon.pid", dir);
	seq = test_write(dir, "seq.yaml",
	    "name: seq-demo\n"
	    "tasks:\n"
	    "  - { name: a, type: shell, config: { command: /bin/true } }\n");
	sched = test_write(dir, "scheduled.yaml",
	    "name: sched-demo\n"
	    "schedule: \"* * * * * *\"\n"
	    "tasks:\n"
	    "  - { name: a, type: shell, config: { command: /bin/true } }\n");
	pf(&r, "daemon", "start", seq, "--pid-file", pidf, NULL);
	cr_assert_neq(r.exit_code, 0, "%s%s", r.out, r.err);
	cr_assert(strstr(r.err, "workflow 'seq-demo'") != NULL &&
	    strstr(r.err, "has no schedule") != NULL, "%s", r.err);
	cr_assert(access(pidf, F_OK) == -1, "a pidfile was left behind");
	proc_result_free(&r);

	/* The pidfile is free: a scheduled workflow starts and fires. */
	pf(&r, "daemon", "start", sched, "--pid-file", pidf, NULL);
	cr_assert_eq(r.exit_code, 0, "%s%s", r.out, r.err);
	proc_result_free(&r);
	for (i = 0; i < 100 && !fired; i++) {
		pf(&r, "status", "sched-demo", NULL);
		fired = strstr(r.out, "Execution ID:") != NULL;
		proc_result_free(&r);
		if (!fired)
			usleep(100000);
	}
	pf(&r, "daemon", "stop", "--pid-file", pidf, NULL);
	cr_assert_eq(r.exit_code, 0, "%s%s", r.out, r.err);
	proc_result_free(&r);
	cr_assert(fired, "the scheduled workflow never fired");
	free(seq);
	free(sched);
}
