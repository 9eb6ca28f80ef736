/*
 * The read commands end to end: a database built through the store API in
 * a temporary directory, then status, history, logs, stats and workflow
 * list, in text and JSON, checked byte for byte.  Each case runs the
 * command function in-process (stdout captured through a file) and, when
 * build/picoflow is there, the binary with --db-path, which must print the
 * same thing.  Times print in the local zone: the tests set TZ=UTC.
 */
#include <criterion/criterion.h>

#include <sys/stat.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "picoflow/err.h"
#include "picoflow/store.h"
#include "cli.h"

#define T0	INT64_C(1709517600000)	/* 2024-03-04T02:00:00Z */
#define DAY	INT64_C(86400000)

static char	 tmpdir[256];
static char	 dbpath[512];

struct result {
	int	 rc;
	char	*out;
	char	*err;
};

static int
rm_cb(const char *p, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb; (void)type; (void)ftw;
	return remove(p);
}

static char *
slurp(const char *path)
{
	FILE	*fp = fopen(path, "r");
	char	*s;
	long	 n;

	cr_assert_not_null(fp, "%s", path);
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	rewind(fp);
	s = calloc(1, (size_t)n + 1);
	cr_assert_eq(fread(s, 1, (size_t)n, fp), (size_t)n);
	fclose(fp);
	return s;
}

static void
result_free(struct result *r)
{
	free(r->out);
	free(r->err);
}

/* Runs a command function with stdout and stderr captured. */
static struct result
run_fn(cli_fn fn, int json, const char *db, const char *const *args)
{
	struct cli_ctx	 ctx;
	struct result	 r;
	char		 po[600], pe[600], *argv[32];
	int		 so, se, fo, fe, argc = 0;

	memset(&ctx, 0, sizeof(ctx));
	ctx.db_path = db;
	ctx.json = json;
	while (args[argc] != NULL) {
		argv[argc] = (char *)(uintptr_t)args[argc];
		argc++;
	}
	argv[argc] = NULL;
	snprintf(po, sizeof(po), "%s/out", tmpdir);
	snprintf(pe, sizeof(pe), "%s/err", tmpdir);
	fflush(stdout);
	fflush(stderr);
	so = dup(1);
	se = dup(2);
	fo = open(po, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	fe = open(pe, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert(so >= 0 && se >= 0 && fo >= 0 && fe >= 0);
	dup2(fo, 1);
	dup2(fe, 2);
	r.rc = fn(&ctx, argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(so, 1);
	dup2(se, 2);
	close(so);
	close(se);
	close(fo);
	close(fe);
	r.out = slurp(po);
	r.err = slurp(pe);
	return r;
}

static int
have_binary(void)
{
	static int	 known = -1;
	char		 cmd[1024];

	if (known == -1) {
		snprintf(cmd, sizeof(cmd), "%s/picoflow --help 2>/dev/null | "
		    "grep -q '^  workflow '", PF_BUILD_DIR);
		known = system(cmd) == 0;
	}
	return known;
}

/* Runs build/picoflow --db-path DB ARGS... with TZ=UTC. */
static struct result
run_bin(const char *db, int json, const char *const *args)
{
	struct result	 r;
	char		 po[600], pe[600], bin[600], *argv[40];
	int		 argc = 0, st, i;
	pid_t		 pid;

	snprintf(bin, sizeof(bin), "%s/picoflow", PF_BUILD_DIR);
	snprintf(po, sizeof(po), "%s/bout", tmpdir);
	snprintf(pe, sizeof(pe), "%s/berr", tmpdir);
	argv[argc++] = bin;
	argv[argc++] = (char *)"--db-path";
	argv[argc++] = (char *)(uintptr_t)db;
	if (json)
		argv[argc++] = (char *)"--json";
	for (i = 0; args[i] != NULL; i++)
		argv[argc++] = (char *)(uintptr_t)args[i];
	argv[argc] = NULL;
	pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		int	 fo = open(po, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int	 fe = open(pe, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		dup2(fo, 1);
		dup2(fe, 2);
		setenv("TZ", "UTC", 1);
		unsetenv("PICOFLOW_DB");
		unsetenv("PICOFLOW_STATE_DIR");
		execv(bin, argv);
		_exit(127);
	}
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	r.rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	r.out = slurp(po);
	r.err = slurp(pe);
	return r;
}

/*
 * The command must exit with rc and print exactly `out` on stdout (and,
 * if err is not NULL, exactly err on stderr), in-process and as a binary.
 */
static void
expect(cli_fn fn, int json, const char *db, const char *const *args,
    int rc, const char *out, const char *err)
{
	struct result	 r;

	r = run_fn(fn, json, db, args);
	cr_assert_eq(r.rc, rc, "%s: exit %d, want %d; stderr: %s", args[0],
	    r.rc, rc, r.err);
	cr_assert_str_eq(r.out, out, "%s stdout:\n%s\n--- want:\n%s", args[0],
	    r.out, out);
	if (err != NULL)
		cr_assert_str_eq(r.err, err, "%s stderr:\n%s", args[0], r.err);
	result_free(&r);
	if (!have_binary())
		return;
	r = run_bin(db, json, args);
	cr_assert_eq(r.rc, rc, "binary %s: exit %d, want %d; stderr: %s",
	    args[0], r.rc, rc, r.err);
	cr_assert_str_eq(r.out, out, "binary %s stdout:\n%s", args[0], r.out);
	if (err != NULL)
		cr_assert_str_eq(r.err, err, "binary %s stderr:\n%s", args[0],
		    r.err);
	result_free(&r);
}

static void
end_attempt(struct pf_store *st, int64_t id, const char *status, int exit,
    int sig, int64_t end, int64_t dur, const char *reason, const char *out,
    const char *errs, int64_t dropped)
{
	struct store_attempt_end e;
	struct pf_err		 err;

	store_attempt_end_init(&e);
	cr_assert_eq(pf_status_parse(status, &e.status), 0);
	if (exit >= 0) {
		e.has_exit_code = 1;
		e.exit_code = exit;
	}
	e.signal = sig;
	e.ended_ms = end;
	e.duration_ms = dur;
	e.reason = reason;
	e.stdout_data = out;
	e.stdout_len = out != NULL ? strlen(out) : 0;
	e.stderr_data = errs;
	e.stderr_len = errs != NULL ? strlen(errs) : 0;
	e.bytes_dropped = dropped;
	e.truncated = dropped > 0;
	cr_assert_eq(store_attempt_end(st, id, &e, &err), 0, "%s", err.msg);
}

/*
 * nightly (cron): run 1 success (a failed then succeeded, b skipped),
 * run 2 failed (c timed out, escape sequences in its output);
 * health (on demand): run 3 still running; adhoc: never run.
 */
static void
build_db(void)
{
	struct pf_store	*st;
	struct pf_err	 err;
	int64_t		 nightly, health, adhoc, r1, r2, r3, a;

	cr_assert_eq(store_open(dbpath, STORE_RW, &st, &err), 0, "%s",
	    err.msg);
	cr_assert_eq(store_workflow_upsert(st, "nightly",
	    "/etc/picoflow/nightly.yaml", "0 0 2 * * *", "the nightly job",
	    &nightly, &err), 0);
	cr_assert_eq(store_workflow_upsert(st, "health", NULL, NULL, NULL,
	    &health, &err), 0);
	cr_assert_eq(store_workflow_upsert(st, "adhoc", NULL, NULL, NULL,
	    &adhoc, &err), 0);

	cr_assert_eq(store_run_begin(st, nightly, "cron", T0, &r1, &err), 0);
	cr_assert_eq(store_attempt_begin(st, r1, "a", 1, T0 + 10, &a, &err), 0);
	end_attempt(st, a, "failed", 3, 0, T0 + 1244, 1234, "exit status 3",
	    "line one\n", "oops\n", 0);
	cr_assert_eq(store_attempt_begin(st, r1, "a", 2, T0 + 1500, &a, &err),
	    0);
	end_attempt(st, a, "success", 0, 0, T0 + 2000, 500, NULL, "ok", NULL,
	    1048576);
	cr_assert_eq(store_task_skipped(st, r1, "b", "dependency a failed",
	    T0 + 2100, &err), 0);
	cr_assert_eq(store_run_end(st, r1, PF_STATUS_SUCCESS,
	    T0 + 3000, NULL, &err),
	    0);

	cr_assert_eq(store_run_begin(st, nightly, NULL, T0 + DAY, &r2, &err),
	    0);
	cr_assert_eq(store_attempt_begin(st, r2, "c", 1, T0 + DAY + 1, &a,
	    &err), 0);
	end_attempt(st, a, "timeout", -1, 9, T0 + DAY + 180001, 180000,
	    "timed out after 180s", "\x1b[31mred\x1b[0m\n", NULL, 0);
	cr_assert_eq(store_run_end(st, r2, PF_STATUS_FAILED, T0 + DAY + 184000,
	    "task c failed", &err), 0);

	cr_assert_eq(store_run_begin(st, health, "manual", T0 + 2 * DAY + 500,
	    &r3, &err), 0);
	cr_assert_eq(store_attempt_begin(st, r3, "ping", 1, T0 + 2 * DAY + 600,
	    &a, &err), 0);
	store_close(st);
	(void)adhoc;
}

static void
setup(void)
{
	strcpy(tmpdir, "/tmp/pf-cli-XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
	snprintf(dbpath, sizeof(dbpath), "%s/picoflow.db", tmpdir);
	setenv("TZ", "UTC", 1);
	tzset();
	unsetenv("PICOFLOW_DB");
	unsetenv("PICOFLOW_STATE_DIR");
}

static void
teardown(void)
{
	(void)nftw(tmpdir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(cli_read, .init = setup, .fini = teardown);

#define ARGS(...)	((const char *const[]){ __VA_ARGS__, NULL })

Test(cli_read, status_text)
{
	build_db();
	expect(cli_status, 0, dbpath, ARGS("status"), 0,
	    "ID  WORKFLOW  STATUS   STARTED                    DURATION  "
	    "TRIGGER\n"
	    "3   health    running  2024-03-06T02:00:00+00:00  -         "
	    "manual\n"
	    "    Execution ID: 3; each task's latest attempt:\n"
	    "    ping  running  attempt 1\n"
	    "2   nightly   failed   2024-03-05T02:00:00+00:00  3m04s     "
	    "manual\n"
	    "    Execution ID: 2; each task's latest attempt:\n"
	    "    c  timeout  attempt 1  timed out after 180s\n"
	    "1   nightly   success  2024-03-04T02:00:00+00:00  3.0s      "
	    "cron\n"
	    "    Execution ID: 1; each task's latest attempt:\n"
	    "    a  success  attempt 2\n"
	    "    b  skipped  not run    dependency a failed\n", "");
	/* One workflow, by position or --workflow, and --limit. */
	expect(cli_status, 0, dbpath, ARGS("status", "nightly", "--limit",
	    "1"), 0,
	    "ID  WORKFLOW  STATUS  STARTED                    DURATION  "
	    "TRIGGER\n"
	    "2   nightly   failed  2024-03-05T02:00:00+00:00  3m04s     "
	    "manual\n"
	    "    Execution ID: 2; each task's latest attempt:\n"
	    "    c  timeout  attempt 1  timed out after 180s\n", "");
	expect(cli_status, 0, dbpath, ARGS("status", "--workflow", "health"),
	    0,
	    "ID  WORKFLOW  STATUS   STARTED                    DURATION  "
	    "TRIGGER\n"
	    "3   health    running  2024-03-06T02:00:00+00:00  -         "
	    "manual\n"
	    "    Execution ID: 3; each task's latest attempt:\n"
	    "    ping  running  attempt 1\n", "");
	expect(cli_status, 0, dbpath, ARGS("status", "adhoc"), 0,
	    "no runs recorded yet for workflow 'adhoc'\n", "");
}

Test(cli_read, status_json)
{
	build_db();
	expect(cli_status, 0, dbpath, ARGS("status", "health", "--json"), 0,
	    "{\"executions\":[{\"id\":3,\"workflow\":\"health\","
	    "\"status\":\"running\",\"trigger\":\"manual\","
	    "\"started_ms\":1709690400500,"
	    "\"started\":\"2024-03-06T02:00:00+00:00\","
	    "\"ended_ms\":null,\"ended\":null,\"duration_ms\":null,"
	    "\"error\":null,\"attempts\":[{\"task\":\"ping\",\"attempt\":1,"
	    "\"status\":\"running\",\"started_ms\":1709690400600,"
	    "\"started\":\"2024-03-06T02:00:00+00:00\",\"ended_ms\":null,"
	    "\"duration_ms\":null,\"exit_code\":null,\"signal\":null,"
	    "\"http_status\":null,\"max_rss_kb\":null,\"user_cpu_us\":null,"
	    "\"sys_cpu_us\":null,\"bytes_captured\":null,"
	    "\"bytes_dropped\":null,\"truncated\":false,\"reason\":null}]}]}\n",
	    "");
	/* The global --json works the same. */
	expect(cli_status, 1, dbpath, ARGS("status", "adhoc"), 0,
	    "{\"executions\":[]}\n", "");
}

Test(cli_read, history_text_and_json)
{
	build_db();
	expect(cli_history, 0, dbpath, ARGS("history", "nightly"), 0,
	    "ID  STARTED                    ENDED                      "
	    "STATUS   DURATION  TRIGGER  ERROR\n"
	    "2   2024-03-05T02:00:00+00:00  2024-03-05T02:03:04+00:00  "
	    "failed   3m04s     manual   task c failed\n"
	    "1   2024-03-04T02:00:00+00:00  2024-03-04T02:00:03+00:00  "
	    "success  3.0s      cron\n", "");
	expect(cli_history, 0, dbpath, ARGS("history", "-w", "nightly", "-s",
	    "success"), 0,
	    "ID  STARTED                    ENDED                      "
	    "STATUS   DURATION  TRIGGER  ERROR\n"
	    "1   2024-03-04T02:00:00+00:00  2024-03-04T02:00:03+00:00  "
	    "success  3.0s      cron\n", "");
	expect(cli_history, 0, dbpath, ARGS("history", "nightly", "--status",
	    "cancelled"), 0,
	    "no runs recorded yet for workflow 'nightly' with status "
	    "cancelled\n", "");
	expect(cli_history, 0, dbpath, ARGS("history", "nightly", "--limit",
	    "1", "--json"), 0,
	    "{\"workflow\":\"nightly\",\"status_filter\":null,\"executions\":["
	    "{\"id\":2,\"workflow\":\"nightly\",\"status\":\"failed\","
	    "\"trigger\":\"manual\",\"started_ms\":1709604000000,"
	    "\"started\":\"2024-03-05T02:00:00+00:00\","
	    "\"ended_ms\":1709604184000,"
	    "\"ended\":\"2024-03-05T02:03:04+00:00\",\"duration_ms\":184000,"
	    "\"error\":\"task c failed\"}]}\n", "");
}

Test(cli_read, logs_text)
{
	build_db();
	/* Latest execution by default; escapes shown as \xNN. */
	expect(cli_logs, 0, dbpath, ARGS("logs", "nightly"), 0,
	    "Execution 2 of nightly: failed, started "
	    "2024-03-05T02:00:00+00:00, 3m04s\n"
	    "error: task c failed\n"
	    "=== c (attempt 1): timeout, signal 9, 3m00s ===\n"
	    "reason: timed out after 180s\n"
	    "--- stdout ---\n"
	    "\\x1b[31mred\\x1b[0m\n", "");
	expect(cli_logs, 0, dbpath, ARGS("logs", "nightly", "-e", "1"), 0,
	    "Execution 1 of nightly: success, started "
	    "2024-03-04T02:00:00+00:00, 3.0s\n"
	    "=== a (attempt 1): failed, exit 3, 1.2s ===\n"
	    "reason: exit status 3\n"
	    "--- stdout ---\n"
	    "line one\n"
	    "--- stderr ---\n"
	    "oops\n"
	    "=== a (attempt 2): success, exit 0, 500ms ===\n"
	    "--- stdout ---\n"
	    "ok\n"
	    "[output truncated: 1048576 bytes dropped]\n"
	    "=== b (not run): skipped ===\n"
	    "reason: dependency a failed\n", "");
	expect(cli_logs, 0, dbpath, ARGS("logs", "--workflow", "nightly",
	    "--execution-id", "1", "--task", "b"), 0,
	    "Execution 1 of nightly: success, started "
	    "2024-03-04T02:00:00+00:00, 3.0s\n"
	    "=== b (not run): skipped ===\n"
	    "reason: dependency a failed\n", "");
	expect(cli_logs, 0, dbpath, ARGS("logs", "health"), 0,
	    "Execution 3 of health: running, started "
	    "2024-03-06T02:00:00+00:00, -\n"
	    "=== ping (attempt 1): running, - ===\n"
	    "(no output)\n", "");
	expect(cli_logs, 0, dbpath, ARGS("logs", "nightly", "-t", "zz"), 0,
	    "Execution 2 of nightly: failed, started "
	    "2024-03-05T02:00:00+00:00, 3m04s\n"
	    "error: task c failed\n"
	    "no task 'zz' in this execution\n", "");
	expect(cli_logs, 0, dbpath, ARGS("logs", "adhoc"), 0,
	    "no runs recorded yet for workflow 'adhoc'\n", "");
	/* An execution of another workflow, or none at all: failures. */
	expect(cli_logs, 0, dbpath, ARGS("logs", "health", "-e", "1"), 1, "",
	    "picoflow logs: execution 1 belongs to workflow 'nightly', not "
	    "'health'\n");
	expect(cli_logs, 0, dbpath, ARGS("logs", "health", "-e", "99"), 1, "",
	    "picoflow logs: no execution with id 99\n");
}

Test(cli_read, logs_json)
{
	build_db();
	expect(cli_logs, 0, dbpath, ARGS("logs", "nightly", "--json"), 0,
	    "{\"workflow\":\"nightly\",\"task_filter\":null,\"execution\":"
	    "{\"id\":2,\"workflow\":\"nightly\",\"status\":\"failed\","
	    "\"trigger\":\"manual\",\"started_ms\":1709604000000,"
	    "\"started\":\"2024-03-05T02:00:00+00:00\","
	    "\"ended_ms\":1709604184000,"
	    "\"ended\":\"2024-03-05T02:03:04+00:00\",\"duration_ms\":184000,"
	    "\"error\":\"task c failed\"},\"attempts\":[{\"task\":\"c\","
	    "\"attempt\":1,\"status\":\"timeout\","
	    "\"started_ms\":1709604000001,"
	    "\"started\":\"2024-03-05T02:00:00+00:00\","
	    "\"ended_ms\":1709604180001,\"duration_ms\":180000,"
	    "\"exit_code\":null,\"signal\":9,\"http_status\":null,"
	    "\"max_rss_kb\":null,\"user_cpu_us\":null,\"sys_cpu_us\":null,"
	    "\"bytes_captured\":null,\"bytes_dropped\":0,"
	    "\"truncated\":false,\"reason\":\"timed out after 180s\","
	    "\"stdout\":\"\\u001b[31mred\\u001b[0m\\n\",\"stderr\":\"\"}]}\n",
	    "");
	expect(cli_logs, 0, dbpath, ARGS("logs", "adhoc", "--json"), 0,
	    "{\"workflow\":\"adhoc\",\"task_filter\":null,\"execution\":null,"
	    "\"attempts\":[]}\n", "");
}

Test(cli_read, logs_json_is_valid_utf8_for_binary_output)
{
	struct pf_store	*st;
	struct pf_err	 err;
	int64_t		 wf, run, a;
	struct result	 r;

	cr_assert_eq(store_open(dbpath, STORE_RW, &st, &err), 0);
	cr_assert_eq(store_workflow_upsert(st, "bin", NULL, NULL, NULL, &wf,
	    &err), 0);
	cr_assert_eq(store_run_begin(st, wf, NULL, T0, &run, &err), 0);
	cr_assert_eq(store_attempt_begin(st, run, "t", 1, T0, &a, &err), 0);
	/* Valid 2- and 4-byte UTF-8, a lone 0xff, a truncated sequence, a
	 * surrogate encoded in 3 bytes and an overlong '/'. */
	end_attempt(st, a, "success", 0, 0, T0 + 1, 1, NULL,
	    "\xc3\xa9\xf0\x9f\x98\x80|\xff|\xe2\x82|\xed\xa0\x80|\xc0\xaf", NULL,
	    0);
	store_close(st);
	r = run_fn(cli_logs, 1, dbpath, ARGS("logs", "bin"));
	cr_assert_eq(r.rc, 0);
	cr_assert(strstr(r.out, "\"stdout\":\"\xc3\xa9\xf0\x9f\x98\x80|"
	    "\\ufffd|\\ufffd\\ufffd|\\ufffd\\ufffd\\ufffd|\\ufffd\\ufffd\"") !=
	    NULL, "%s", r.out);
	result_free(&r);
	r = run_fn(cli_logs, 0, dbpath, ARGS("logs", "bin"));
	/* Valid UTF-8 as it is; a byte that is not (0x9b alone is CSI to an
	 * 8-bit terminal) escaped. */
	cr_assert(strstr(r.out, "--- stdout ---\n\xc3\xa9\xf0\x9f\x98\x80|"
	    "\\xff|\\xe2\\x82|") != NULL, "%s", r.out);
	result_free(&r);
}

Test(cli_read, stats_text_and_json)
{
	struct pf_store	*st;
	struct pf_err	 err;
	struct timespec	 ts;
	int64_t		 now, wf, id;

	build_db();
	expect(cli_stats, 0, dbpath, ARGS("stats", "nightly"), 0,
	    "Workflow:          nightly\n"
	    "Total runs:        2\n"
	    "success:           1 (50.0%)\n"
	    "failed:            1 (50.0%)\n"
	    "cancelled:         0\n"
	    "running:           0\n"
	    "Average duration:  1m33s\n"
	    "Last 24 h:         0 runs, 0 succeeded, 0 failed\n"
	    "Last run:          2024-03-05T02:00:00+00:00\n", "");
	expect(cli_stats, 0, dbpath, ARGS("stats", "--workflow", "adhoc",
	    "--json"), 0,
	    "{\"workflow\":\"adhoc\",\"total\":0,\"success\":0,\"failed\":0,"
	    "\"cancelled\":0,\"running\":0,\"success_rate\":0.0,"
	    "\"failure_rate\":0.0,\"avg_duration_ms\":null,\"last_24h\":"
	    "{\"total\":0,\"success\":0,\"failed\":0},\"last_started_ms\":null,"
	    "\"last_started\":null}\n", "");
	expect(cli_stats, 0, dbpath, ARGS("stats", "never-heard-of"), 0,
	    "Workflow:          never-heard-of\n"
	    "Total runs:        0\n"
	    "success:           0 (0.0%)\n"
	    "failed:            0 (0.0%)\n"
	    "cancelled:         0\n"
	    "running:           0\n"
	    "Average duration:  -\n"
	    "Last 24 h:         0 runs, 0 succeeded, 0 failed\n"
	    "Last run:          never\n", "");

	/* The last 24 h, relative to the real clock (an hour and two days
	 * ago: far from the edge). */
	clock_gettime(CLOCK_REALTIME, &ts);
	now = (int64_t)ts.tv_sec * 1000;
	cr_assert_eq(store_open(dbpath, STORE_RW, &st, &err), 0);
	cr_assert_eq(store_workflow_upsert(st, "recent", NULL, NULL, NULL,
	    &wf, &err), 0);
	cr_assert_eq(store_run_begin(st, wf, NULL, now - 3600000, &id, &err),
	    0);
	cr_assert_eq(store_run_end(st, id, PF_STATUS_SUCCESS,
	    now - 3599000, NULL,
	    &err), 0);
	cr_assert_eq(store_run_begin(st, wf, NULL, now - 2 * DAY, &id, &err),
	    0);
	cr_assert_eq(store_run_end(st, id, PF_STATUS_FAILED,
	    now - 2 * DAY + 3000,
	    NULL, &err), 0);
	store_close(st);
	{
		struct result	 r = run_fn(cli_stats, 1, dbpath,
		    ARGS("stats", "recent"));

		cr_assert_eq(r.rc, 0);
		cr_assert(strstr(r.out, "\"total\":2,\"success\":1,\"failed\":1,"
		    "\"cancelled\":0,\"running\":0,\"success_rate\":50.0,"
		    "\"failure_rate\":50.0,\"avg_duration_ms\":2000,\"last_24h\":"
		    "{\"total\":1,\"success\":1,\"failed\":0}") != NULL, "%s",
		    r.out);
		result_free(&r);
	}
}

Test(cli_read, workflow_list_text_and_json)
{
	build_db();
	expect(cli_workflow, 0, dbpath, ARGS("workflow", "list"), 0,
	    "NAME     TYPE       TOTAL  SUCCESS  FAILED  LAST EXECUTION\n"
	    "adhoc    On-Demand  0      0        0       never\n"
	    "health   On-Demand  1      0        0       "
	    "2024-03-06T02:00:00+00:00\n"
	    "nightly  Cron       2      1        1       "
	    "2024-03-05T02:00:00+00:00\n", "");
	expect(cli_workflow, 0, dbpath, ARGS("workflow", "list", "--json"), 0,
	    "{\"workflows\":[{\"name\":\"adhoc\",\"type\":\"On-Demand\","
	    "\"schedule\":null,\"file\":null,\"description\":null,\"total\":0,"
	    "\"success\":0,\"failed\":0,\"last_started_ms\":null,"
	    "\"last_started\":null,\"last_status\":null},"
	    "{\"name\":\"health\",\"type\":\"On-Demand\",\"schedule\":null,"
	    "\"file\":null,\"description\":null,\"total\":1,\"success\":0,"
	    "\"failed\":0,\"last_started_ms\":1709690400500,"
	    "\"last_started\":\"2024-03-06T02:00:00+00:00\","
	    "\"last_status\":\"running\"},"
	    "{\"name\":\"nightly\",\"type\":\"Cron\","
	    "\"schedule\":\"0 0 2 * * *\","
	    "\"file\":\"/etc/picoflow/nightly.yaml\","
	    "\"description\":\"the nightly job\",\"total\":2,\"success\":1,"
	    "\"failed\":1,\"last_started_ms\":1709604000000,"
	    "\"last_started\":\"2024-03-05T02:00:00+00:00\","
	    "\"last_status\":\"failed\"}]}\n", "");
}

Test(cli_read, missing_database_is_not_an_error)
{
	char	 missing[600];

	snprintf(missing, sizeof(missing), "%s/none/picoflow.db", tmpdir);
	expect(cli_status, 0, missing, ARGS("status"), 0,
	    "no runs recorded yet\n", "");
	expect(cli_status, 0, missing, ARGS("status", "--json"), 0,
	    "{\"executions\":[]}\n", "");
	expect(cli_history, 0, missing, ARGS("history", "w"), 0,
	    "no runs recorded yet for workflow 'w'\n", "");
	expect(cli_logs, 0, missing, ARGS("logs", "w"), 0,
	    "no runs recorded yet for workflow 'w'\n", "");
	expect(cli_stats, 0, missing, ARGS("stats", "w", "--json"), 0,
	    "{\"workflow\":\"w\",\"total\":0,\"success\":0,\"failed\":0,"
	    "\"cancelled\":0,\"running\":0,\"success_rate\":0.0,"
	    "\"failure_rate\":0.0,\"avg_duration_ms\":null,\"last_24h\":"
	    "{\"total\":0,\"success\":0,\"failed\":0},\"last_started_ms\":null,"
	    "\"last_started\":null}\n", "");
	expect(cli_workflow, 0, missing, ARGS("workflow", "list"), 0,
	    "no workflows recorded yet\n", "");
	expect(cli_workflow, 0, missing, ARGS("workflow", "list", "--json"),
	    0, "{\"workflows\":[]}\n", "");
	cr_assert_eq(access(missing, F_OK), -1, "reading never creates it");
}

Test(cli_read, usage_errors_exit_2)
{
	build_db();
	expect(cli_history, 0, dbpath, ARGS("history"), 2, "",
	    "picoflow history: missing workflow name\n"
	    "usage: picoflow history WORKFLOW [-s STATUS] [--limit N] "
	    "[--json]\n");
	expect(cli_history, 0, dbpath, ARGS("history", "w", "-s", "retrying"),
	    2, "",
	    "picoflow history: unknown status 'retrying' (running, success, "
	    "failed, timeout, skipped, cancelled)\n"
	    "usage: picoflow history WORKFLOW [-s STATUS] [--limit N] "
	    "[--json]\n");
	expect(cli_status, 0, dbpath, ARGS("status", "--limit", "0"), 2, "",
	    "picoflow status: --limit wants a number from 1 to 1000000, not "
	    "'0'\n"
	    "usage: picoflow status [WORKFLOW] [--limit N] [--json]\n");
	expect(cli_status, 0, dbpath, ARGS("status", "--limit", "12x"), 2, "",
	    NULL);
	expect(cli_status, 0, dbpath, ARGS("status", "--limit",
	    "99999999999999999999"), 2, "", NULL);
	expect(cli_status, 0, dbpath, ARGS("status", "--limit"), 2, "",
	    "picoflow status: option '--limit' needs a value\n"
	    "usage: picoflow status [WORKFLOW] [--limit N] [--json]\n");
	expect(cli_status, 0, dbpath, ARGS("status", "a", "b"), 2, "",
	    "picoflow status: unexpected argument 'b'\n"
	    "usage: picoflow status [WORKFLOW] [--limit N] [--json]\n");
	expect(cli_status, 0, dbpath, ARGS("status", "-w", "a", "b"), 2, "",
	    "picoflow status: more than one workflow given\n"
	    "usage: picoflow status [WORKFLOW] [--limit N] [--json]\n");
	expect(cli_status, 0, dbpath, ARGS("status", "--status", "failed"), 2,
	    "", "picoflow status: unknown option '--status'\n"
	    "usage: picoflow status [WORKFLOW] [--limit N] [--json]\n");
	expect(cli_status, 0, dbpath, ARGS("status", "--bogus"), 2, "",
	    "picoflow status: unknown option '--bogus'\n"
	    "usage: picoflow status [WORKFLOW] [--limit N] [--json]\n");
	expect(cli_logs, 0, dbpath, ARGS("logs", "w", "-e", "-3"), 2, "",
	    NULL);
	expect(cli_logs, 0, dbpath, ARGS("logs", "w", "-e", "0"), 2, "", NULL);
	expect(cli_stats, 0, dbpath, ARGS("stats"), 2, "", NULL);
	expect(cli_stats, 0, dbpath, ARGS("stats", "w", "--limit", "3"), 2,
	    "", NULL);
	expect(cli_workflow, 0, dbpath, ARGS("workflow"), 2, "",
	    "picoflow workflow: missing subcommand\n"
	    "usage: picoflow workflow list [--json]\n");
	expect(cli_workflow, 0, dbpath, ARGS("workflow", "show"), 2, "",
	    "picoflow workflow: unknown subcommand 'show'\n"
	    "usage: picoflow workflow list [--json]\n");
	expect(cli_workflow, 0, dbpath, ARGS("workflow", "list", "x"), 2, "",
	    NULL);
}

Test(cli_read, help_exits_0)
{
	struct result	 r;

	r = run_fn(cli_history, 0, dbpath, ARGS("history", "--help"));
	cr_assert_eq(r.rc, 0);
	cr_assert(strncmp(r.out, "usage: picoflow history WORKFLOW "
	    "[-s STATUS] [--limit N] [--json]\n", 65) == 0, "%s", r.out);
	cr_assert(strstr(r.out, "--status S") != NULL);
	result_free(&r);
	r = run_fn(cli_workflow, 0, dbpath, ARGS("workflow", "-h"));
	cr_assert_eq(r.rc, 0);
	cr_assert(strncmp(r.out, "usage: picoflow workflow list", 29) == 0);
	result_free(&r);
}

Test(cli_read, hostile_and_broken_databases_fail_cleanly)
{
	char	 p[600];
	int	 fd;

	snprintf(p, sizeof(p), "%s/junk.db", tmpdir);
	{
		char	 junk[4096];
		size_t	 i;

		for (i = 0; i < sizeof(junk); i++)
			junk[i] = (char)("not a database "[i % 15]);
		fd = open(p, O_WRONLY | O_CREAT, 0600);
		cr_assert_eq(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
		close(fd);
	}
	{
		struct result	 r = run_fn(cli_status, 0, p, ARGS("status"));

		cr_assert_eq(r.rc, 1);
		cr_assert_str_eq(r.out, "");
		cr_assert(strstr(r.err, "picoflow status: ") == r.err &&
		    strstr(r.err, "not a valid SQLite database or corrupted") !=
		    NULL, "%s", r.err);
		result_free(&r);
	}
	/* Output of a task with escape sequences in its name and reason. */
	{
		struct pf_store	*st;
		struct pf_err	 err;
		int64_t		 wf, run;
		struct result	 r;

		cr_assert_eq(store_open(dbpath, STORE_RW, &st, &err), 0);
		cr_assert_eq(store_workflow_upsert(st, "w\x1b]0;pwned\x07", NULL,
		    NULL, NULL, &wf, &err), 0);
		cr_assert_eq(store_run_begin(st, wf, "cron\r", T0, &run, &err),
		    0);
		store_close(st);
		r = run_fn(cli_status, 0, dbpath, ARGS("status"));
		cr_assert_eq(r.rc, 0);
		cr_assert(strstr(r.out, "w\\x1b]0;pwned\\x07  running") != NULL,
		    "%s", r.out);
		cr_assert(strstr(r.out, "cron\\x0d\n") != NULL, "%s", r.out);
		cr_assert_null(strchr(r.out, '\x1b'));
		result_free(&r);
	}
}

Test(cli_read, rust_database_needs_a_write_first)
{
	char		 path[1200], *sql;
	struct result	 r;
	sqlite3		*db;

	/* The fixture's SQL through the library: no sqlite3 CLI needed. */
	snprintf(path, sizeof(path), "%s/tests/fixtures/rustdb/"
	    "rust_schema.sql", PF_SRC_DIR);
	sql = slurp(path);
	cr_assert_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK, "%s",
	    sqlite3_errmsg(db));
	sqlite3_close(db);
	free(sql);
	r = run_fn(cli_status, 0, dbpath, ARGS("status"));
	cr_assert_eq(r.rc, 1);
	cr_assert(strstr(r.err, "run any write command (such as 'picoflow "
	    "run') to migrate it") != NULL, "%s", r.err);
	result_free(&r);
	{
		struct pf_store	*st;
		struct pf_err	 err;

		cr_assert_eq(store_open(dbpath, STORE_RW, &st, &err), 0, "%s",
		    err.msg);
		store_close(st);
	}
	expect(cli_history, 0, dbpath, ARGS("history", "backup"), 0,
	    "ID  STARTED                    ENDED                      "
	    "STATUS   DURATION  TRIGGER  ERROR\n"
	    "4   2024-03-06T02:00:00+00:00  2024-03-06T02:00:01+00:00  "
	    "timeout  1.0s      -\n"
	    "2   2024-03-05T02:00:00+00:00  2024-03-05T02:01:04+00:00  "
	    "failed   1m04s     -\n"
	    "1   2024-03-04T02:00:00+00:00  2024-03-04T02:00:05+00:00  "
	    "success  5.5s      -\n", "");
}

Test(cli_read, local_time_zone_is_used)
{
	struct result	 r;

	build_db();
	setenv("TZ", "Europe/Berlin", 1);
	tzset();
	r = run_fn(cli_history, 0, dbpath, ARGS("history", "nightly",
	    "--limit", "1"));
	cr_assert_eq(r.rc, 0);
	cr_assert(strstr(r.out, "2024-03-05T03:00:00+01:00  "
	    "2024-03-05T03:03:04+01:00") != NULL, "%s", r.out);
	result_free(&r);
}

/*
 * Accounting (schema 2): logs shows every known value on a "usage:" line,
 * status only what deserves a look (OOM kills, refused forks,
 * throttling), --json the known ones; unknown ones are left out.
 */
Test(cli_read, accounting_known_values_only)
{
	struct pf_store		*st;
	struct store_attempt_end e;
	struct pf_err		 err;
	int64_t			 wf, r, a;

	cr_assert_eq(store_open(dbpath, STORE_RW, &st, &err), 0, "%s",
	    err.msg);
	cr_assert_eq(store_workflow_upsert(st, "acct", NULL, NULL, NULL, &wf,
	    &err), 0);
	cr_assert_eq(store_run_begin(st, wf, "manual", T0, &r, &err), 0);
	cr_assert_eq(store_attempt_begin(st, r, "big", 1, T0, &a, &err), 0);
	store_attempt_end_init(&e);
	e.status = PF_STATUS_FAILED;
	e.ended_ms = T0 + 100;
	e.duration_ms = 100;
	e.max_rss_kb = 65536;
	e.user_cpu_us = 1500;
	e.sys_cpu_us = 700;
	e.oom_kills = 1;
	e.pids_peak = 3;
	e.pids_denied = 0;
	e.nr_throttled = 0;
	e.throttled_us = 0;
	e.reason = "oom";
	cr_assert_eq(store_attempt_end(st, a, &e, &err), 0, "%s", err.msg);
	cr_assert_eq(store_attempt_begin(st, r, "forky", 1, T0 + 1, &a,
	    &err), 0);
	store_attempt_end_init(&e);
	e.status = PF_STATUS_FAILED;
	e.ended_ms = T0 + 50;
	e.duration_ms = 49;
	e.pids_denied = 12;
	e.nr_throttled = 4;		/* time unknown */
	cr_assert_eq(store_attempt_end(st, a, &e, &err), 0, "%s", err.msg);
	cr_assert_eq(store_run_end(st, r, PF_STATUS_FAILED,
	    T0 + 200, NULL, &err), 0);
	store_close(st);

	expect(cli_logs, 0, dbpath, ARGS("logs", "acct"), 0,
	    "Execution 1 of acct: failed, started "
	    "2024-03-04T02:00:00+00:00, 200ms\n"
	    "=== big (attempt 1): failed, 100ms ===\n"
	    "reason: oom\n"
	    "usage: memory peak 65536 KiB, cpu 1500 us user + 700 us sys, "
	    "pids peak 3, forks refused 0, oom kills 1, cpu throttled 0 "
	    "times for 0 us\n"
	    "(no output)\n"
	    "=== forky (attempt 1): failed, 49ms ===\n"
	    "usage: forks refused 12, cpu throttled 4 times\n"
	    "(no output)\n", "");
	expect(cli_status, 0, dbpath, ARGS("status", "acct"), 0,
	    "ID  WORKFLOW  STATUS  STARTED                    DURATION  "
	    "TRIGGER\n"
	    "1   acct      failed  2024-03-04T02:00:00+00:00  200ms     "
	    "manual\n"
	    "    Execution ID: 1; each task's latest attempt:\n"
	    "    big    failed  attempt 1  oom  oom kills 1\n"
	    "    forky  failed  attempt 1       forks refused 12, cpu "
	    "throttled 4 times\n", "");
	expect(cli_logs, 0, dbpath, ARGS("logs", "acct", "-t", "forky",
	    "--json"), 0,
	    "{\"workflow\":\"acct\",\"task_filter\":\"forky\",\"execution\":"
	    "{\"id\":1,\"workflow\":\"acct\",\"status\":\"failed\","
	    "\"trigger\":\"manual\",\"started_ms\":1709517600000,"
	    "\"started\":\"2024-03-04T02:00:00+00:00\","
	    "\"ended_ms\":1709517600200,"
	    "\"ended\":\"2024-03-04T02:00:00+00:00\",\"duration_ms\":200,"
	    "\"error\":null},\"attempts\":[{\"task\":\"forky\","
	    "\"attempt\":1,\"status\":\"failed\","
	    "\"started_ms\":1709517600001,"
	    "\"started\":\"2024-03-04T02:00:00+00:00\","
	    "\"ended_ms\":1709517600050,\"duration_ms\":49,"
	    "\"exit_code\":null,\"signal\":null,\"http_status\":null,"
	    "\"max_rss_kb\":null,\"user_cpu_us\":null,\"sys_cpu_us\":null,"
	    "\"bytes_captured\":null,\"bytes_dropped\":null,"
	    "\"pids_denied\":12,\"nr_throttled\":4,"
	    "\"truncated\":false,\"reason\":null,"
	    "\"stdout\":\"\",\"stderr\":\"\"}]}\n", "");
}
