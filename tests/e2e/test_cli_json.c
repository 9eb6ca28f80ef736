/*
 * End-to-end: the exact bytes of the --json documents the commands that
 * do not read the database print (validate, next, run, daemon status with
 * no supervisor).  The read commands' documents are checked the same way
 * in test_cli_read.c; values that vary between runs (durations, the peak
 * RSS) are masked before the comparison.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/proc.h"
#define PF_TIMEOUT_S	60
#include "../lib/picoflow_cli.h"

static char	*dir;

static void
setup(void)
{
	dir = test_tmpdir("clijson");
	cr_assert_not_null(dir);
}

static void
teardown(void)
{
	test_rmrf(dir);
	free(dir);
}

TestSuite(cli_json, .init = setup, .fini = teardown, .timeout = 60);

/* s with the number after each "KEY": replaced by N (in place). */
static void
mask(char *s, const char *key)
{
	char	 pat[64], *p, *q;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	for (p = s; (p = strstr(p, pat)) != NULL; ) {
		p += strlen(pat);
		for (q = p; (*q >= '0' && *q <= '9') || *q == '.' ||
		    *q == '-'; q++)
			;
		if (q == p)
			continue;
		*p = 'N';
		memmove(p + 1, q, strlen(q) + 1);
	}
}

Test(cli_json, validate_documents)
{
	struct proc_result	 r;
	char			*good, *bad, *want;

	good = test_write(dir, "good.yaml",
	    "name: \"d\\\"q\\u00e9\"\n"
	    "tasks:\n"
	    "  - {name: b, type: shell, config: {command: /bin/true}, "
	    "depends_on: [a]}\n"
	    "  - {name: a, type: shell, config: {command: /bin/true}}\n");
	bad = test_write(dir, "bad.yaml",
	    "name: x\ntasks:\n  - {name: t, type: nope}\n");
	PF(&r, "validate", "--json", good, bad);
	cr_assert_eq(r.exit_code, 1, "%s", r.err);
	cr_assert(asprintf(&want, "[{\"file\":\"%s\",\"valid\":true,"
	    "\"name\":\"d\\\"q\xc3\xa9\",\"tasks\":2,"
	    "\"order\":[\"a\",\"b\"],\"diagnostics\":[]},"
	    "{\"file\":\"%s\",\"valid\":false,\"diagnostics\":[", good,
	    bad) > 0);
	cr_assert(strncmp(r.out, want, strlen(want)) == 0, "%s", r.out);
	cr_assert(strstr(r.out, "{\"severity\":\"error\",\"line\":3,"
	    "\"column\":") != NULL, "%s", r.out);
	cr_assert(strcmp(r.out + strlen(r.out) - 4, "}]}]") == 0 ||
	    strcmp(r.out + strlen(r.out) - 5, "}]}]\n") == 0, "%s", r.out);
	free(want);
	proc_result_free(&r);
	free(good);
	free(bad);
}

Test(cli_json, validate_policy_alone)
{
	struct proc_result	 r;
	char			*pol, *want;

	pol = test_write(dir, "pol.yaml", "executors: [http]\n");
	PF(&r, "validate", "--json", "--policy", pol);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert(asprintf(&want, "[{\"file\":\"%s\",\"policy\":true,"
	    "\"valid\":true,\"diagnostics\":[]}]\n", pol) > 0);
	cr_assert_str_eq(r.out, want);
	free(want);
	proc_result_free(&r);
	free(pol);
}

Test(cli_json, next_document)
{
	struct proc_result	 r;

	PF(&r, "next", "--json", "--cron", "0 30 2 * * *", "--tz",
	    "Europe/Berlin", "--from", "2026-03-28T00:00:00Z", "-n", "2");
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert_str_eq(r.out,
	    "[{\"unix\":1774661400,\"local\":\"2026-03-28T02:30:00+01:00\","
	    "\"utc\":\"2026-03-28T01:30:00+00:00\"},"
	    "{\"unix\":1774746000,\"local\":\"2026-03-29T03:00:00+02:00\","
	    "\"utc\":\"2026-03-29T01:00:00+00:00\"}]\n");
	proc_result_free(&r);

	PF(&r, "--json", "next", "--cron", "0 0 30 2 *");
	cr_assert_eq(r.exit_code, 1);
	cr_assert_str_eq(r.out, "[]\n");
	proc_result_free(&r);
}

Test(cli_json, run_document)
{
	struct proc_result	 r;
	char			*f, *db;

	cr_assert(asprintf(&db, "%s/pf.db", dir) > 0);
	f = test_write_wf(dir,
	    "name: \"r\\\"un\"\n"
	    "config: {retry_default: 0}\n"
	    "tasks:\n"
	    "  - {name: ok, type: shell, config: {command: /bin/true}}\n"
	    "  - {name: bad, type: shell, config: {command: /bin/false}, "
	    "depends_on: [ok]}\n"
	    "  - {name: after, type: shell, config: {command: /bin/true}, "
	    "depends_on: [bad]}\n");
	test_pf_run(db, f, "--json", NULL, &r);
	cr_assert_eq(r.exit_code, 1, "%s\n%s", r.out, r.err);
	mask(r.out, "duration_ms");
	mask(r.out, "start_latency_us");
	mask(r.out, "seconds");
	mask(r.out, "peak_rss_kb");
	cr_assert_str_eq(r.out,
	    "{\"run_id\":1,\"workflow\":\"r\\\"un\",\"status\":\"failed\","
	    "\"tasks\":[{\"task\":\"ok\",\"status\":\"success\","
	    "\"attempts\":1,\"duration_ms\":N,\"start_latency_us\":N},"
	    "{\"task\":\"bad\",\"status\":\"failed\",\"attempts\":1,"
	    "\"duration_ms\":N,\"start_latency_us\":N,"
	    "\"reason\":\"exit code 1\"},"
	    "{\"task\":\"after\",\"status\":\"skipped\",\"attempts\":0,"
	    "\"duration_ms\":N,\"reason\":\"dependency 'bad' failed\"}],"
	    "\"seconds\":N,\"peak_rss_kb\":N}\n");
	proc_result_free(&r);
	free(f);
	free(db);
}

Test(cli_json, daemon_status_without_a_supervisor)
{
	struct proc_result	 r;

	PF(&r, "--state-dir", dir, "daemon", "status", "--json");
	cr_assert_eq(r.exit_code, 1);
	cr_assert_str_eq(r.out, "{\"running\":false,\"pid\":0}\n");
	proc_result_free(&r);
}
