/*
 * The workflow loader: every valid fixture checked field by field, then
 * the behaviours the fixtures cannot show alone (all errors reported and
 * sorted, limits and options, hostile input, allocation failure at every
 * step, the printed form, big generated workflows).
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "picoflow/alloc.h"
#include "picoflow/buf.h"
#include "picoflow/err.h"
#include "picoflow/workflow.h"
#include "../lib/faultloop.h"

#define VALID(f)	PF_SRC_DIR "/tests/fixtures/valid/" f
#define INVALID(f)	PF_SRC_DIR "/tests/fixtures/invalid/" f

static struct pf_diags	 D;

static void
setup(void)
{
	pf_diags_init(&D);
}

static void
teardown(void)
{
	pf_diags_free(&D);
	pf_alloc_fail_after(-1);
}

TestSuite(workflow, .init = setup, .fini = teardown);

/* pf_diags_free keeps the counters; start over completely. */
static void
reset(void)
{
	pf_diags_free(&D);
	pf_diags_init(&D);
}

static void
dump(void)
{
	char	 line[2048];
	size_t	 i;

	for (i = 0; i < D.n; i++) {
		pf_diag_format(&D.v[i], line, sizeof(line));
		cr_log_info("%s", line);
	}
}

static struct pf_workflow *
load_ok(const char *path, size_t nwarn)
{
	struct pf_workflow *wf = workflow_load_file(path, NULL, &D);

	if (wf == NULL || D.nwarnings != nwarn)
		dump();
	cr_assert_not_null(wf, "%s does not load", path);
	cr_assert_eq(D.nerrors, 0);
	cr_assert_eq(D.nwarnings, nwarn, "%zu warnings", D.nwarnings);
	return wf;
}

static struct pf_workflow *
load_str(const char *yaml)
{
	return workflow_load_buf("test.yaml", yaml, strlen(yaml), NULL, &D);
}

/* Loads text that must fail; checks the first message and its place. */
static void
expect_error(const char *yaml, unsigned line, unsigned col, const char *msg)
{
	struct pf_workflow *wf = load_str(yaml);

	if (wf != NULL || D.n == 0)
		dump();
	cr_assert_null(wf, "loaded: %s", yaml);
	cr_assert_gt(D.n, 0);
	cr_expect_eq(D.v[0].sev, PF_SEV_ERROR);
	cr_expect(D.v[0].line == line && D.v[0].col == col,
	    "at %u:%u, expected %u:%u (%s)", D.v[0].line, D.v[0].col, line,
	    col, D.v[0].msg);
	cr_expect(strstr(D.v[0].msg, msg) != NULL, "'%s' lacks '%s'",
	    D.v[0].msg, msg);
}

static void
expect_limits_unset(const struct pf_limits *l)
{
	cr_expect_eq(l->memory, -1);
	cr_expect_eq(l->swap, -1);
	cr_expect_eq(l->cpu_milli, -1);
	cr_expect_eq(l->pids, -1);
	cr_expect_eq(l->nofile, -1);
	cr_expect_eq(l->output, -1);
}

/* ----------------------------------------------------- valid, by field */

Test(workflow, minimal_has_every_default)
{
	struct pf_workflow *wf = load_ok(VALID("minimal.yaml"), 0);
	struct pf_task	*t = &wf->tasks[0];

	cr_expect_str_eq(wf->file, VALID("minimal.yaml"));
	cr_expect_str_eq(wf->name, "minimal");
	cr_expect_null(wf->description);
	cr_expect_null(wf->schedule);
	cr_expect_null(wf->timezone);
	cr_expect_eq(wf->overlap, OVERLAP_SKIP);
	cr_expect_eq(wf->catchup, CATCHUP_LATEST);
	cr_expect_eq(wf->catchup_window, 3600);
	cr_expect_eq(wf->catchup_max, 1);
	cr_expect_eq(wf->env.n, 0);
	cr_expect_eq(wf->max_parallel, 4);
	cr_expect_eq(wf->retry_default, 3);
	cr_expect_eq(wf->timeout_default, 300);
	expect_limits_unset(&wf->limits);
	cr_assert_eq(wf->ntasks, 1);
	cr_expect_str_eq(t->name, "hello");
	cr_expect_eq(t->type, TASK_SHELL);
	cr_expect_eq(t->ndepends_on, 0);
	cr_expect_eq(t->retry, 3);
	cr_expect_eq(t->timeout, 300);
	cr_expect_eq(t->continue_on_failure, false);
	expect_limits_unset(&t->limits);
	cr_expect_null(t->run_as);
	cr_expect_eq(t->sandbox.network, -1);
	cr_expect_null(t->sandbox.read_only);
	cr_expect_null(t->sandbox.writable);
	cr_expect_str_eq(t->u.shell.command, "/bin/echo");
	cr_expect_eq(t->u.shell.nargs, 0);
	cr_expect_null(t->u.shell.workdir);
	cr_expect_eq(t->u.shell.env.n, 0);
	cr_expect_eq(t->pos.line, 4);
	cr_expect_eq(t->pos.col, 5);
	cr_expect_eq(wf->order[0], 0);
	cr_expect_eq(wf->level[0], 0);
	workflow_free(wf);
}

Test(workflow, empty_task_list)
{
	struct pf_workflow *wf = load_ok(VALID("empty_tasks.yaml"), 0);

	cr_expect_str_eq(wf->name, "nothing-to-do");
	cr_expect_str_eq(wf->description, "An empty task list is valid");
	cr_expect_eq(wf->ntasks, 0);
	workflow_free(wf);
}

Test(workflow, shell_every_key)
{
	static const char *const args[] = {
		"-n", "5", "true", "1.5", "~user", "quoted",
	};
	struct pf_workflow *wf = load_ok(VALID("shell_full.yaml"), 0);
	struct pf_task	*a = &wf->tasks[0], *b = &wf->tasks[1];
	size_t		 i;

	cr_expect_str_eq(wf->description, "Shell tasks with every key");
	cr_expect_eq(wf->max_parallel, 2);
	cr_expect_eq(wf->retry_default, 5);
	cr_expect_eq(wf->timeout_default, 120);
	cr_assert_eq(wf->ntasks, 2);
	cr_expect_str_eq(a->name, "prepare");
	cr_expect_eq(a->retry, 0);
	cr_expect_eq(a->timeout, 1);
	cr_expect_str_eq(a->u.shell.command, "/usr/bin/env");
	cr_assert_eq(a->u.shell.nargs, 6);
	for (i = 0; i < 6; i++)
		cr_expect_str_eq(a->u.shell.args[i], args[i]);
	cr_expect_str_eq(a->u.shell.workdir, "/var/tmp");
	cr_assert_eq(a->u.shell.env.n, 3);
	cr_expect_str_eq(a->u.shell.env.v[0].key, "DEBUG");
	cr_expect_str_eq(a->u.shell.env.v[0].value, "1");
	cr_expect_str_eq(a->u.shell.env.v[1].key, "PATH");
	cr_expect_str_eq(a->u.shell.env.v[1].value, "/usr/bin:/bin");
	cr_expect_str_eq(a->u.shell.env.v[2].key, "EMPTY");
	cr_expect_str_eq(a->u.shell.env.v[2].value, "");
	cr_expect_str_eq(b->name, "run-job_2");
	cr_assert_eq(b->ndepends_on, 1);
	cr_expect_str_eq(b->depends_on[0], "prepare");
	cr_expect_eq(b->dep_idx[0], 0);
	cr_expect_eq(b->continue_on_failure, true);
	cr_expect_eq(b->timeout, 604800);
	cr_expect_eq(b->retry, 100);
	cr_assert_eq(b->u.shell.nargs, 2);
	cr_expect_str_eq(b->u.shell.args[1], "echo \"multi-line\"\nexit 0\n");
	cr_expect_eq(wf->level[1], 1);
	workflow_free(wf);
}

Test(workflow, ssh_every_key_and_host_form)
{
	struct pf_workflow *wf = load_ok(VALID("ssh_full.yaml"), 0);
	struct pf_ssh	*s;

	cr_assert_eq(wf->ntasks, 5);
	s = &wf->tasks[0].u.ssh;
	cr_expect_eq(wf->tasks[0].type, TASK_SSH);
	cr_expect_str_eq(s->host, "db.example.com");
	cr_expect_str_eq(s->user, "backup");
	cr_expect_str_eq(s->command, "pg_dump mydb | gzip > /backup/db.sql.gz");
	cr_expect_null(s->key_path);
	cr_expect_eq(s->port, 22);
	cr_expect_eq(s->verify_host_key, true);
	s = &wf->tasks[1].u.ssh;
	cr_expect_str_eq(s->host, "192.168.1.100");
	cr_expect_eq(s->port, 2222);
	cr_expect_str_eq(s->key_path, "~/.ssh/id_ed25519");
	cr_expect_eq(s->verify_host_key, false);
	s = &wf->tasks[2].u.ssh;
	cr_expect_str_eq(s->host, "2001:db8::1", "brackets are dropped");
	cr_expect_eq(s->port, 65535);
	cr_expect_str_eq(s->key_path, "/etc/picoflow/keys/id_rsa");
	cr_expect_str_eq(s->command, "true");
	s = &wf->tasks[3].u.ssh;
	cr_expect_str_eq(s->host, "fe80::1");
	cr_expect_eq(s->port, 1);
	cr_expect_str_eq(s->user, "${DEPLOY_USER}");
	s = &wf->tasks[4].u.ssh;
	cr_expect_str_eq(s->host, "${BACKUP_HOST}");
	workflow_free(wf);
}

Test(workflow, http_every_key_and_body_form)
{
	static const char json[] =
	    "{\"title\": \"Test \\\"quoted\\\" \\\\ back\", \"count\": 3, "
	    "\"ratio\": -1.5e3, \"ok\": true, \"nothing\": null, "
	    "\"plain_word\": \"hello\", \"version\": \"1.2.3\", "
	    "\"octal_like\": \"007\", \"quoted_number\": \"42\", "
	    "\"unicode\": \"caf\xc3\xa9 \\u2028 sep \\u0085\\u009f\\uffff\", "
	    "\"nested\": {\"list\": [1, \"two\", {\"three\": 3}], "
	    "\"empty_map\": {}, \"empty_list\": []}}";
	struct pf_workflow *wf = load_ok(VALID("http_full.yaml"), 0);
	struct pf_http	*h;

	cr_assert_eq(wf->ntasks, 7);
	h = &wf->tasks[0].u.http;
	cr_expect_eq(wf->tasks[0].type, TASK_HTTP);
	cr_expect_str_eq(h->url, "http://127.0.0.1:8080/health");
	cr_expect_str_eq(h->method, "GET");
	cr_expect_eq(h->headers.n, 0);
	cr_expect_null(h->body);
	cr_expect_eq(h->timeout, 300);
	cr_expect_eq(h->allow_private_ips, false);
	cr_expect_null(h->ca_file);
	cr_expect_null(h->success_status);
	h = &wf->tasks[1].u.http;
	cr_expect_str_eq(h->method, "POST");
	cr_assert_eq(h->headers.n, 2);
	cr_expect_str_eq(h->headers.v[0].key, "Content-Type");
	cr_expect_str_eq(h->headers.v[1].value, "Bearer abc");
	cr_expect_str_eq(h->body, json);
	cr_expect_eq(h->body_is_json, true);
	cr_expect_eq(h->timeout, 3600);
	cr_expect_eq(h->allow_private_ips, true);
	cr_expect_str_eq(h->ca_file, "/etc/ssl/certs/ca-certificates.crt");
	cr_assert_eq(h->nsuccess_status, 5);
	cr_expect_eq(h->success_status[0], 200);
	cr_expect_eq(h->success_status[3], 599);
	cr_expect_eq(h->success_status[4], 100);
	h = &wf->tasks[2].u.http;
	cr_expect_str_eq(h->url, "http://[::1]:9000/put");
	cr_expect_str_eq(h->body, "[1, \"a\", false]");
	cr_expect_eq(h->body_is_json, true);
	cr_expect_eq(h->timeout, 1);
	h = &wf->tasks[3].u.http;
	cr_expect_str_eq(h->method, "PATCH");
	cr_expect_str_eq(h->body, "17");
	cr_expect_eq(h->body_is_json, true);
	h = &wf->tasks[4].u.http;
	cr_expect_str_eq(h->body, "{\"raw\": \"sent as-is\"}");
	cr_expect_eq(h->body_is_json, false, "a string is sent verbatim");
	h = &wf->tasks[5].u.http;
	cr_expect_str_eq(h->method, "HEAD");
	cr_expect_str_eq(h->body, "false");
	cr_expect_eq(h->body_is_json, true);
	h = &wf->tasks[6].u.http;
	cr_expect_str_eq(h->url, "${NOTIFICATION_WEBHOOK_URL}");
	workflow_free(wf);
}

Test(workflow, extensions_and_limit_merging)
{
	struct pf_workflow *wf = load_ok(VALID("extensions.yaml"), 0);
	struct pf_task	*t;

	cr_expect_str_eq(wf->schedule, "30 2 * * 1-5");
	cr_expect_str_eq(wf->timezone, "Europe/Berlin");
	cr_expect_eq(wf->overlap, OVERLAP_QUEUE);
	cr_expect_eq(wf->catchup, CATCHUP_ALL);
	cr_expect_eq(wf->catchup_window, 86400);
	cr_expect_eq(wf->catchup_max, 10);
	cr_assert_eq(wf->env.n, 2);
	cr_expect_str_eq(wf->env.v[0].key, "LANG");
	cr_expect_str_eq(wf->env.v[1].value, "3");
	cr_expect_eq(wf->max_parallel, 256);
	cr_expect_eq(wf->retry_default, 0);
	cr_expect_eq(wf->timeout_default, 604800);
	cr_expect_eq(wf->limits.memory, 64LL << 20);
	cr_expect_eq(wf->limits.swap, 0);
	cr_expect_eq(wf->limits.cpu_milli, 500);
	cr_expect_eq(wf->limits.pids, 64);
	cr_expect_eq(wf->limits.nofile, 256);
	cr_expect_eq(wf->limits.output, 10LL << 20);
	cr_expect_eq(wf->retention.max_age, 14 * 86400);
	cr_expect_eq(wf->retention.max_runs, 50);
	cr_expect_eq(wf->retention.max_output, 1LL << 30);
	t = &wf->tasks[0];
	cr_expect_eq(t->limits.memory, 64LL << 20, "inherits config.limits");
	cr_expect_eq(t->limits.cpu_milli, 500);
	cr_expect_eq(t->retry, 0);
	cr_expect_eq(t->timeout, 604800);
	cr_expect_null(t->run_as);
	cr_expect_eq(t->sandbox.network, -1);
	cr_expect_eq(t->sandbox.private_tmp, -1);
	t = &wf->tasks[1];
	cr_expect_eq(t->limits.memory, 1LL << 30);
	cr_expect_eq(t->limits.cpu_milli, 2000);
	cr_expect_eq(t->limits.output, 512LL << 10);
	cr_expect_eq(t->limits.swap, 1048576);
	cr_expect_eq(t->limits.pids, 64, "not overridden: inherited");
	cr_expect_eq(t->limits.nofile, 256);
	cr_expect_str_eq(t->run_as, "backup:backup");
	cr_expect_eq(t->sandbox.network, 0);
	cr_expect_eq(t->sandbox.private_tmp, 0);
	cr_assert_eq(t->sandbox.nread_only, 1);
	cr_expect_str_eq(t->sandbox.read_only[0], "/");
	cr_assert_eq(t->sandbox.nwritable, 2);
	cr_expect_str_eq(t->sandbox.writable[0], "/var/backups");
	cr_expect_str_eq(t->sandbox.writable[1], "/tmp");
	t = &wf->tasks[2];
	cr_expect_eq(t->limits.cpu_milli, 1);
	cr_expect_eq(t->limits.pids, 4194304);
	cr_expect_eq(t->limits.nofile, 1048576);
	cr_expect_eq(t->limits.memory, 1);
	cr_expect_str_eq(t->run_as, "1000:1000");
	cr_expect_eq(t->sandbox.network, 1);
	cr_expect_eq(t->sandbox.private_tmp, 1);
	cr_expect_not_null(t->sandbox.read_only);
	cr_expect_eq(t->sandbox.nread_only, 0);
	cr_expect_null(t->sandbox.writable);
	workflow_free(wf);
}

Test(workflow, schedules)
{
	struct pf_workflow *wf;

	wf = load_ok(VALID("cron_macro.yaml"), 0);
	cr_expect_str_eq(wf->schedule, "@daily");
	cr_expect_str_eq(wf->timezone, "UTC");
	workflow_free(wf);
	wf = load_ok(VALID("cron_start.yaml"), 0);
	cr_expect_str_eq(wf->schedule, "@start");
	workflow_free(wf);
	wf = load_ok(VALID("cron_seven_fields.yaml"), 0);
	cr_expect_str_eq(wf->schedule, "0 15 10 ? * MON-FRI 2030");
	workflow_free(wf);
}

Test(workflow, cron_both_days_warns_at_the_schedule)
{
	struct pf_workflow *wf = load_ok(VALID("cron_both_days.yaml"), 1);

	cr_expect_eq(D.v[0].sev, PF_SEV_WARNING);
	cr_expect_eq(D.v[0].line, 4);
	cr_expect_eq(D.v[0].col, 11);
	cr_expect(strstr(D.v[0].msg, "either matches") != NULL);
	workflow_free(wf);
	reset();
	/* the classic 5-field form is cron's own rule: no warning */
	wf = load_str("name: x\nschedule: \"0 12 13 * FRI\"\ntasks: []\n");
	cr_assert_not_null(wf);
	cr_expect_eq(D.nwarnings, 0);
	workflow_free(wf);
}

Test(workflow, anchors_and_aliases_copy_nodes)
{
	struct pf_workflow *wf = load_ok(VALID("anchors.yaml"), 0);

	cr_assert_eq(wf->ntasks, 3);
	cr_expect_str_eq(wf->tasks[1].u.shell.command, "/bin/echo");
	cr_assert_eq(wf->tasks[1].u.shell.nargs, 2);
	cr_expect_str_eq(wf->tasks[1].u.shell.args[1], "b");
	cr_expect_str_eq(wf->tasks[2].u.http.body,
	    "{\"list\": [\"a\", \"b\"], \"again\": [\"a\", \"b\"]}");
	workflow_free(wf);
}

Test(workflow, flow_style)
{
	struct pf_workflow *wf = load_ok(VALID("flow_style.yaml"), 0);

	cr_expect_eq(wf->max_parallel, 1);
	cr_assert_eq(wf->ntasks, 2);
	cr_expect_str_eq(wf->tasks[1].u.shell.args[0], "done");
	cr_expect_eq(wf->tasks[1].dep_idx[0], 0);
	workflow_free(wf);
}

Test(workflow, diamond_order_and_levels)
{
	/* join left right root solo after_solo */
	static const size_t order[] = { 3, 4, 1, 2, 5, 0 };
	static const unsigned level[] = { 2, 1, 1, 0, 0, 1 };
	struct pf_workflow *wf = load_ok(VALID("dag_diamond.yaml"), 0);
	size_t		 i;

	cr_assert_eq(wf->ntasks, 6);
	for (i = 0; i < 6; i++) {
		cr_expect_eq(wf->order[i], order[i], "order[%zu]", i);
		cr_expect_eq(wf->level[i], level[i], "level[%zu]", i);
	}
	cr_expect_eq(wf->tasks[0].dep_idx[0], 1);
	cr_expect_eq(wf->tasks[0].dep_idx[1], 2);
	cr_expect_eq(workflow_task_index(wf, "solo"), 4);
	cr_expect_eq(workflow_task_index(wf, "nope"), -1);
	workflow_free(wf);
}

Test(workflow, duplicate_dependency_is_dropped_with_a_warning)
{
	struct pf_workflow *wf = load_ok(VALID("duplicate_dependency.yaml"), 1);

	cr_assert_eq(wf->tasks[1].ndepends_on, 1);
	cr_expect_str_eq(wf->tasks[1].depends_on[0], "a");
	cr_expect_eq(D.v[0].line, 10);
	cr_expect_eq(D.v[0].col, 21);
	workflow_free(wf);
}

Test(workflow, timeout_inside_config)
{
	struct pf_workflow *wf = load_ok(VALID("config_timeout.yaml"), 3);

	cr_expect_eq(wf->tasks[0].timeout, 30, "taken from config");
	cr_expect_eq(wf->tasks[1].timeout, 50, "task level wins");
	cr_expect_eq(wf->tasks[2].timeout, 45);
	cr_expect_eq(wf->tasks[3].timeout, 100, "http timeout is its own");
	cr_expect_eq(wf->tasks[3].u.http.timeout, 20);
	cr_expect_eq(D.v[0].line, 13);
	cr_expect_eq(D.v[0].col, 7);
	cr_expect(strstr(D.v[1].msg, "task's own timeout (line 16) wins") !=
	    NULL, "%s", D.v[1].msg);
	workflow_free(wf);
}

Test(workflow, text_in_every_yaml_form)
{
	struct pf_workflow *wf = load_ok(VALID("text_forms.yaml"), 0);
	struct pf_shell	*s = &wf->tasks[0].u.shell;

	cr_expect_str_eq(wf->name,
	    "N\xc3\xa4" "chtliche Sicherung \xe2\x80\x94 t\xc3\xa4glich");
	cr_expect_str_eq(wf->description, "Folded text on two lines.\n");
	cr_expect_str_eq(s->command, "/opt/my app/bin/run");
	cr_assert_eq(s->nargs, 6);
	cr_expect_str_eq(s->args[0], "single 'quoted'");
	cr_expect_str_eq(s->args[1], "tab\there");
	cr_expect_str_eq(s->args[2], "nel\xc2\x85 c1\xc2\x8f ls\xe2\x80\xa8 "
	    "ps\xe2\x80\xa9 bom\xef\xbb\xbf nc\xef\xbf\xbe del\x7f");
	cr_expect_str_eq(s->args[3], "plain text, with a comma");
	cr_expect_str_eq(s->args[4], "#not a comment");
	cr_expect_str_eq(s->args[5], "");
	cr_expect_str_eq(s->env.v[0].key, "KEY WITH SPACE");
	cr_expect_str_eq(s->env.v[0].value, "value: with colon");
	workflow_free(wf);
}

Test(workflow, null_means_not_set)
{
	struct pf_workflow *wf = load_ok(VALID("null_optional.yaml"), 0);

	cr_expect_null(wf->description);
	cr_expect_null(wf->schedule);
	cr_expect_eq(wf->tasks[0].ndepends_on, 0);
	cr_expect_eq(wf->tasks[0].retry, 3);
	cr_expect_eq(wf->tasks[0].timeout, 300);
	cr_expect_null(wf->tasks[0].u.shell.args);
	cr_expect_null(wf->tasks[0].u.shell.workdir);
	workflow_free(wf);
}

/* --------------------------------------------------------- behaviours */

Test(workflow, every_error_is_reported_in_file_order)
{
	static const char y[] =
	    "name: multi\n"				/* 1 */
	    "config:\n"
	    "  max_parallel: 0\n"			/* 3 */
	    "tasks:\n"
	    "  - name: b\n"
	    "    type: ssh\n"
	    "    depends_on: [fetch_dta]\n"		/* 7 */
	    "    config:\n"
	    "      host: db\n"			/* 9: no user */
	    "      command: ls\n"
	    "  - name: fetch_data\n"
	    "    type: shell\n"
	    "    retry: 101\n"				/* 13 */
	    "    colour: red\n"				/* 14 */
	    "    config: {command: /bin/true}\n";
	struct pf_workflow *wf = load_str(y);

	cr_assert_null(wf);
	dump();
	cr_assert_eq(D.nerrors, 5);
	cr_assert_eq(D.n, 5);
	cr_expect_eq(D.v[0].line, 3);
	cr_expect(strstr(D.v[0].msg, "config.max_parallel: 0 is out of range "
	    "1..256") != NULL);
	cr_expect_eq(D.v[1].line, 7);
	cr_expect_eq(D.v[1].col, 18);
	cr_expect_str_eq(D.v[1].msg, "task 'b': depends_on names unknown task "
	    "'fetch_dta'; did you mean 'fetch_data'?");
	cr_expect_eq(D.v[2].line, 9);
	cr_expect_str_eq(D.v[2].msg, "task 'b' (ssh): missing required key "
	    "'user' in config");
	cr_expect_eq(D.v[3].line, 13);
	cr_expect_str_eq(D.v[3].msg, "task 'fetch_data': retry: 101 is out of "
	    "range 0..100");
	cr_expect_eq(D.v[4].line, 14);
	cr_expect(strstr(D.v[4].msg, "unknown key 'colour' in task "
	    "'fetch_data'") != NULL);
	cr_expect_str_eq(D.v[0].file, "test.yaml");
}

Test(workflow, diagnostics_are_capped_but_counted)
{
	struct pf_buf	 b;
	struct pf_workflow *wf;
	int		 i;

	buf_init(&b, 0);
	buf_add_str(&b, "name: many\ntasks:\n");
	for (i = 0; i < 150; i++)
		buf_printf(&b, "  - {name: t%d, type: shell, retry: 101, "
		    "config: {command: /bin/true}}\n", i);
	wf = workflow_load_buf("many.yaml", b.data, b.len, NULL, &D);
	cr_assert_null(wf);
	cr_expect_eq(D.nerrors, 150);
	cr_expect_eq(D.n, PF_DIAGS_DEFAULT_MAX);
	cr_expect_eq(D.dropped, 50);
	buf_free(&b);
}

Test(workflow, unknown_key_suggestions)
{
	expect_error("name: x\ntasks:\n  - name: a\n    typ: shell\n"
	    "    config: {command: /bin/true}\n", 3, 5,
	    "task 'a': missing required key 'type'");
	cr_assert_eq(D.nerrors, 2);
	cr_expect_eq(D.v[1].line, 4);
	cr_expect_str_eq(D.v[1].msg,
	    "unknown key 'typ' in task 'a'; did you mean 'type'?");
	reset();
	expect_error("nmae: x\ntasks: []\n", 1, 1,
	    "unknown key 'nmae' in the workflow; did you mean 'name'?");
	cr_expect_eq(D.nerrors, 2, "and name is missing");
	reset();
	/* nothing close: the message lists no guess */
	expect_error("name: x\nzzzzzz: 1\ntasks: []\n", 2, 1,
	    "unknown key 'zzzzzz' in the workflow");
	cr_expect(strstr(D.v[0].msg, "did you mean") == NULL);
}

Test(workflow, integer_rules)
{
	struct pf_workflow *wf;

	expect_error("name: x\nconfig: {retry_default: 1e2}\ntasks: []\n", 2,
	    25, "config.retry_default: '1e2' is not a whole decimal number");
	reset();
	expect_error("name: x\nconfig: {retry_default: 0x10}\ntasks: []\n", 2,
	    25, "'0x10' is not a whole decimal number");
	reset();
	expect_error("name: x\nconfig: {retry_default: -9223372036854775809}\n"
	    "tasks: []\n", 2, 25, "is out of range 0..100");
	reset();
	expect_error("name: x\nconfig: {retry_default: !!str 3}\ntasks: []\n", 2,
	    25, "got the string \"3\"");
	reset();
	expect_error("name: x\nconfig: {retry_default: [3]}\ntasks: []\n", 2,
	    25, "expected an integer 0..100, got a list");
	reset();
	wf = load_str("name: x\nconfig: {retry_default: +7, max_parallel: 1,"
	    " timeout_default: 1}\ntasks: []\n");
	cr_assert_not_null(wf);
	cr_expect_eq(wf->retry_default, 7);
	cr_expect_eq(wf->max_parallel, 1);
	cr_expect_eq(wf->timeout_default, 1);
	workflow_free(wf);
}

Test(workflow, boolean_rules)
{
	static const char *const ok[] = {
		"true", "True", "TRUE", "false", "False", "FALSE",
	};
	char		 y[256];
	struct pf_workflow *wf;
	size_t		 i;

	for (i = 0; i < 6; i++) {
		snprintf(y, sizeof(y), "name: x\ntasks:\n  - {name: a, type: "
		    "shell, continue_on_failure: %s, config: {command: /a}}\n",
		    ok[i]);
		wf = load_str(y);
		cr_assert_not_null(wf, "%s", ok[i]);
		cr_expect_eq(wf->tasks[0].continue_on_failure, i < 3);
		workflow_free(wf);
	}
	expect_error("name: x\ntasks:\n  - {name: a, type: shell, "
	    "continue_on_failure: \"true\", config: {command: /a}}\n", 3, 49,
	    "expected true or false, got the string \"true\"");
	reset();
	expect_error("name: x\ntasks:\n  - {name: a, type: shell, "
	    "continue_on_failure: on, config: {command: /a}}\n", 3, 49,
	    "'on' is not a boolean; use true or false");
}

Test(workflow, name_boundaries)
{
	char		 y[512];
	struct pf_workflow *wf;

	snprintf(y, sizeof(y), "name: %0128d\ntasks:\n  - {name: %s, type: "
	    "shell, config: {command: /a}}\n", 0,
	    "a123456789b123456789c123456789d123456789e123456789f123456789_-AZ");
	wf = load_str(y);
	cr_assert_not_null(wf, "128-byte workflow name, 64-byte task name");
	cr_expect_eq(strlen(wf->name), 128);
	cr_expect_eq(strlen(wf->tasks[0].name), 64);
	workflow_free(wf);
	expect_error("name: \"a\\u0085b\"\ntasks: []\n", 1, 7,
	    "contains a control character");
	reset();
	expect_error("name: \"a\\0b\"\ntasks: []\n", 1, 7,
	    "name: contains a NUL character");
}

Test(workflow, urls_and_hosts)
{
	static const char *const bad_url[] = {
		"http://", "http://exa mple.com/", "http://host:0/",
		"http://host:65536/", "http://host:x/", "http://[::1/",
		"http://-bad.example/", "gopher://h/", "example.com/path",
		"http://999.1.1.1/",
	};
	static const char *const bad_host[] = {
		"-lead", "trail-", "a..b", "::1::", "[::1", "1.2.3.256",
		"host name",
	};
	char		 y[512];
	struct pf_workflow *wf;
	size_t		 i;

	for (i = 0; i < sizeof(bad_url) / sizeof(bad_url[0]); i++) {
		snprintf(y, sizeof(y), "name: x\ntasks:\n  - name: a\n    type: "
		    "http\n    config:\n      url: \"%s\"\n", bad_url[i]);
		wf = load_str(y);
		cr_expect_null(wf, "url %s accepted", bad_url[i]);
		cr_expect(D.n > 0 && strstr(D.v[0].msg, "url: '") != NULL,
		    "url %s", bad_url[i]);
		workflow_free(wf);
		reset();
	}
	for (i = 0; i < sizeof(bad_host) / sizeof(bad_host[0]); i++) {
		snprintf(y, sizeof(y), "name: x\ntasks:\n  - name: a\n    type: "
		    "ssh\n    config: {host: \"%s\", user: u, command: ls}\n",
		    bad_host[i]);
		wf = load_str(y);
		cr_expect_null(wf, "host %s accepted", bad_host[i]);
		workflow_free(wf);
		reset();
	}
	wf = load_str("name: x\ntasks:\n  - name: a\n    type: http\n    "
	    "config: {url: \"http://h:65535\"}\n");
	cr_expect_not_null(wf);
	workflow_free(wf);
}

Test(workflow, body_json_edge_cases)
{
	struct pf_workflow *wf;

	wf = load_str("name: x\ntasks:\n  - name: a\n    type: http\n    "
	    "config:\n      url: http://h/\n      body: [.inf, 1_000, -0, "
	    "\"\\x01\", !!str 5, ~, \"\", \"two\\nlines\\n\"]\n");
	cr_assert_not_null(wf);
	dump();
	cr_expect_str_eq(wf->tasks[0].u.http.body,
	    "[\".inf\", \"1_000\", -0, \"\\u0001\", \"5\", null, \"\", "
	    "\"two\\nlines\\n\"]");
	workflow_free(wf);
	expect_error("name: x\ntasks:\n  - name: a\n    type: http\n    "
	    "config:\n      url: http://h/\n      body: {[1]: 2}\n", 7, 14,
	    "body: a key must be a scalar, not a list");
	reset();
	{
		/* YAML caps implicit keys; the printed form must load again */
		struct pf_buf	 b;
		int		 i;

		buf_init(&b, 0);
		buf_add_str(&b, "name: x\ntasks:\n  - name: a\n    type: "
		    "http\n    config:\n      url: http://h/\n      body: "
		    "{? \"");
		for (i = 0; i < 1001; i++)
			buf_add_u8(&b, 'k');
		buf_add_str(&b, "\" : 1}\n");
		cr_assert_null(workflow_load_buf("t", b.data, b.len, NULL, &D));
		cr_expect(strstr(D.v[0].msg, "body: a key longer than 1000") !=
		    NULL, "%s", D.v[0].msg);
		buf_free(&b);
	}
}

Test(workflow, empty_and_odd_inputs)
{
	expect_error("", 1, 1, "the file is empty");
	reset();
	expect_error("---\n...\n", 1, 1, "the file is empty");
	reset();
	expect_error("\xff\xfen\0a", 1, 1, "UTF-16");
	reset();
	cr_assert_null(workflow_load_buf("nul.yaml", "name: a\0b\n", 10, NULL,
	    &D));
	cr_expect_eq(D.v[0].line, 1);
	cr_expect_eq(D.v[0].col, 8);
	cr_expect_str_eq(D.v[0].msg, "the file contains a NUL byte");
}

Test(workflow, crlf_line_endings_and_bom)
{
	struct pf_workflow *wf;

	wf = load_str("\xef\xbb\xbfname: crlf\r\ntasks:\r\n  - name: a\r\n"
	    "    type: shell\r\n    config:\r\n      command: /bin/true\r\n");
	if (wf == NULL)
		dump();
	cr_assert_not_null(wf);
	cr_expect_str_eq(wf->name, "crlf");
	workflow_free(wf);
	/* positions after CRLF lines count lines the same way */
	expect_error("name: x\r\ntasks:\r\n  - name: a\r\n    type: shell\r\n"
	    "    retry: 101\r\n    config: {command: /a}\r\n", 5, 12,
	    "retry: 101 is out of range");
}

Test(workflow, file_errors)
{
	char		 dir[] = "/tmp/pf-wf-XXXXXX", path[64];
	struct pf_workflow *wf;
	FILE		*f;
	size_t		 i;

	cr_assert_null(workflow_load_file("/nonexistent/x.yaml", NULL, &D));
	cr_expect(strstr(D.v[0].msg, "cannot open") != NULL);
	reset();
	cr_assert_not_null(mkdtemp(dir));
	cr_assert_null(workflow_load_file(dir, NULL, &D));
	cr_expect_str_eq(D.v[0].msg, "is a directory, not a workflow file");
	reset();
	/* just over 1 MiB: refused before it is parsed */
	snprintf(path, sizeof(path), "%s/big.yaml", dir);
	cr_assert_not_null(f = fopen(path, "w"));
	fputs("name: big\ntasks: []\n", f);
	for (i = 0; i < 1024 * 1024; i += 16)
		fputs("# padding......\n", f);
	fclose(f);
	wf = workflow_load_file(path, NULL, &D);
	cr_assert_null(wf);
	cr_expect_eq(D.v[0].line, 1);
	cr_expect_eq(D.v[0].col, 1);
	cr_expect(strstr(D.v[0].msg, "bytes; the limit is 1048576 bytes") !=
	    NULL, "%s", D.v[0].msg);
	reset();
	/* the same file loads when the caller allows more */
	{
		struct wf_load_opts o = { .max_bytes = 2 * 1024 * 1024 };

		wf = workflow_load_file(path, &o, &D);
		cr_assert_not_null(wf);
		workflow_free(wf);
	}
	unlink(path);
	/* an empty file */
	snprintf(path, sizeof(path), "%s/empty.yaml", dir);
	cr_assert_not_null(f = fopen(path, "w"));
	fclose(f);
	reset();
	cr_assert_null(workflow_load_file(path, NULL, &D));
	cr_expect_str_eq(D.v[0].msg, "the file is empty; a workflow needs at "
	    "least 'name' and 'tasks'");
	unlink(path);
	rmdir(dir);
}

Test(workflow, diagnostics_are_optional)
{
	struct pf_workflow *wf;

	wf = workflow_load_file(VALID("config_timeout.yaml"), NULL, NULL);
	cr_assert_not_null(wf, "warnings go nowhere");
	workflow_free(wf);
	cr_assert_null(workflow_load_file(INVALID("cycle_3.yaml"), NULL, NULL));
	cr_assert_null(workflow_load_file("/nonexistent", NULL, NULL));
	cr_assert_null(workflow_load_buf(NULL, "x: [", 4, NULL, NULL));
}

Test(workflow, options_default_and_zero_means_default)
{
	struct wf_load_opts o;
	struct pf_workflow *wf;

	memset(&o, 0xff, sizeof(o));
	workflow_load_opts_default(&o);
	cr_expect_eq(o.max_bytes, 1024 * 1024);
	cr_expect_eq(o.max_tasks, 1000);
	cr_expect_eq(o.max_depth, 64);
	cr_expect_eq(o.max_nodes, 200000);
	memset(&o, 0, sizeof(o));
	wf = workflow_load_file(VALID("minimal.yaml"), &o, &D);
	cr_assert_not_null(wf);
	workflow_free(wf);
	o.max_depth = 2;
	cr_assert_null(workflow_load_file(VALID("minimal.yaml"), &o, &D));
	cr_expect(strstr(D.v[0].msg, "nesting deeper than 2 levels") != NULL);
	reset();
	memset(&o, 0, sizeof(o));
	o.max_nodes = 10;
	cr_assert_null(workflow_load_file(VALID("minimal.yaml"), &o, &D));
	cr_expect(strstr(D.v[0].msg, "more than 10 nodes") != NULL);
	cr_expect_str_eq(task_type_name(TASK_SHELL), "shell");
	cr_expect_str_eq(task_type_name(TASK_SSH), "ssh");
	cr_expect_str_eq(task_type_name(TASK_HTTP), "http");
}

Test(workflow, alias_expansion_is_bounded)
{
	struct pf_buf	 b;
	int		 i;

	/* nesting through aliases counts: 40 + 40 levels > 64 */
	buf_init(&b, 0);
	buf_add_str(&b, "name: x\ntasks:\n  - name: a\n    type: http\n"
	    "    config:\n      url: http://h/\n      body: {a: &deep ");
	for (i = 0; i < 40; i++)
		buf_add_u8(&b, '[');
	for (i = 0; i < 40; i++)
		buf_add_u8(&b, ']');
	buf_add_str(&b, ", b: ");
	for (i = 0; i < 40; i++)
		buf_add_u8(&b, '[');
	buf_add_str(&b, "*deep");
	for (i = 0; i < 40; i++)
		buf_add_u8(&b, ']');
	buf_add_str(&b, "}\n");
	cr_assert_null(workflow_load_buf("t", b.data, b.len, NULL, &D));
	cr_expect(strstr(D.v[0].msg, "body: nested deeper than 64 levels") !=
	    NULL, "%s", D.v[0].msg);
	buf_free(&b);
	reset();

	/* few nodes, much text: 100 KiB repeated 100 times */
	buf_init(&b, 0);
	buf_add_str(&b, "name: x\nt: &s \"");
	for (i = 0; i < 100 * 1024; i++)
		buf_add_u8(&b, 'x');
	buf_add_str(&b, "\"\nu: [");
	for (i = 0; i < 100; i++)
		buf_add_str(&b, "*s, ");
	buf_add_str(&b, "]\ntasks: []\n");
	cr_assert_null(workflow_load_buf("t", b.data, b.len, NULL, &D));
	cr_expect(strstr(D.v[0].msg, "bytes of text once aliases are "
	    "expanded") != NULL, "%s", D.v[0].msg);
	buf_free(&b);
}

Test(workflow, dependency_errors_together)
{
	static const char y[] =
	    "name: deps\ntasks:\n"
	    "  - {name: a, type: shell, depends_on: [a, ghost, c], config: "
	    "{command: /a}}\n"
	    "  - {name: b, type: shell, depends_on: [a], config: {command: /a}}\n"
	    "  - {name: c, type: shell, depends_on: [b], config: {command: /a}}\n";

	cr_assert_null(load_str(y));
	dump();
	cr_assert_eq(D.nerrors, 3);
	cr_expect_str_eq(D.v[0].msg, "task 'a': depends on itself");
	cr_expect_eq(D.v[0].col, 41);
	cr_expect(strstr(D.v[1].msg, "unknown task 'ghost'") != NULL);
	cr_expect_str_eq(D.v[2].msg, "task 'a': depends_on 'c' closes a "
	    "dependency cycle: a -> b -> c -> a");
	cr_expect_eq(D.v[2].col, 51);
}

/* name: gen, n tasks; task i depends on task i-1 (chain) or on all. */
static void
gen(struct pf_buf *b, size_t n, int star)
{
	size_t	 i;

	buf_init(b, 0);
	buf_add_str(b, "name: gen\ntasks:\n");
	for (i = 0; i < n; i++) {
		buf_printf(b, "  - name: t%zu\n    type: shell\n", i);
		if (!star && i > 0)
			buf_printf(b, "    depends_on: [t%zu]\n", i - 1);
		buf_add_str(b, "    config: {command: /bin/true}\n");
	}
	if (star) {
		buf_printf(b, "  - name: last\n    type: shell\n"
		    "    config: {command: /bin/true}\n    depends_on:\n");
		for (i = 0; i < n; i++)
			buf_printf(b, "      - t%zu\n", i);
	}
}

static double
now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

Test(workflow, task_count_limit_and_big_workflows)
{
	struct wf_load_opts o = { .max_tasks = 10001, .max_bytes = 4 << 20 };
	struct pf_workflow *wf;
	struct pf_buf	 b;
	double		 t0, t1;

	gen(&b, 1001, 0);
	cr_assert_null(workflow_load_buf("g", b.data, b.len, NULL, &D));
	cr_expect_eq(D.nerrors, 1);
	cr_expect_str_eq(D.v[0].msg, "tasks: 1001 tasks; the limit is 1000");
	cr_expect_eq(D.v[0].line, 3 + 1000 * 4 - 1);
	reset();
	buf_free(&b);

	gen(&b, 1000, 0);
	t0 = now();
	wf = workflow_load_buf("g", b.data, b.len, NULL, &D);
	t1 = now();
	cr_assert_not_null(wf);
	cr_expect_eq(wf->level[999], 999);
	cr_log_info("1,000-task chain: %.2f ms", (t1 - t0) * 1e3);
	workflow_free(wf);
	buf_free(&b);

	gen(&b, 10000, 0);
	cr_assert_null(workflow_load_buf("g", b.data, b.len, NULL, &D),
	    "10,000 tasks need max_tasks raised");
	reset();
	t0 = now();
	wf = workflow_load_buf("g", b.data, b.len, &o, &D);
	t1 = now();
	cr_assert_not_null(wf);
	cr_expect_eq(wf->ntasks, 10000);
	cr_expect_eq(wf->order[9999], 9999);
	cr_expect_eq(wf->level[9999], 9999);
	cr_log_info("10,000-task chain: %.2f ms", (t1 - t0) * 1e3);
	workflow_free(wf);
	buf_free(&b);

	/* 10,000 dependencies on one task */
	gen(&b, 10000, 1);
	t0 = now();
	wf = workflow_load_buf("g", b.data, b.len, &o, &D);
	t1 = now();
	if (wf == NULL)
		dump();
	cr_assert_not_null(wf);
	cr_expect_eq(wf->tasks[10000].ndepends_on, 10000);
	cr_expect_eq(wf->level[10000], 1);
	cr_expect_eq(wf->order[10000], 10000);
	cr_log_info("10,000 dependencies on one task: %.2f ms",
	    (t1 - t0) * 1e3);
	workflow_free(wf);
	buf_free(&b);
}

Test(workflow, print_is_the_normalized_form)
{
	static const char want[] =
	    "name: \"minimal\"\n"
	    "overlap: skip\n"
	    "catchup: latest\n"
	    "catchup_window: 3600\n"
	    "catchup_max: 1\n"
	    "config:\n"
	    "  max_parallel: 4\n"
	    "  retry_default: 3\n"
	    "  timeout_default: 300\n"
	    "tasks:\n"
	    "  - name: \"hello\"\n"
	    "    type: shell\n"
	    "    depends_on: []\n"
	    "    retry: 3\n"
	    "    timeout: 300\n"
	    "    continue_on_failure: false\n"
	    "    config:\n"
	    "      command: \"/bin/echo\"\n"
	    "      args: []\n";
	struct pf_workflow *wf = load_ok(VALID("minimal.yaml"), 0);
	struct pf_buf	 b;

	buf_init(&b, 0);
	cr_assert_eq(workflow_print(wf, &b), 0);
	cr_expect_str_eq(buf_cstr(&b), want);
	buf_free(&b);
	/* a capped buffer reports failure instead of cutting silently */
	buf_init(&b, 32);
	cr_expect_eq(workflow_print(wf, &b), -1);
	buf_free(&b);
	workflow_free(wf);
}

/*
 * Loads with the n-th allocation failing, n = 0, 1, 2, ... until a load
 * sees no failure: that one gives the real verdict.  Every other load must
 * clean up (ASan and valgrind check that) and say why it failed.
 */
static void
oom_loop(const char *path, int must_load)
{
	struct pf_workflow *wf;
	struct pf_diags	 d;
	struct faultloop fl;

	for (FAULTLOOP_MODES(m)) {
		for (faultloop_init(&fl, m); faultloop_next(&fl); ) {
			pf_diags_init(&d);
			wf = workflow_load_file(path, NULL, &d);
			if (wf == NULL)
				cr_assert_gt(d.nerrors, 0, "%s: %s n=%ld failed "
				    "silently", path, faultloop_mode_name(m),
				    fl.n);
			if (!faultloop_met(&fl))
				cr_assert_eq(wf != NULL, must_load, "%s", path);
			workflow_free(wf);
			pf_diags_free(&d);
		}
		cr_log_info("%s: %ld allocations", path, fl.n);
		cr_assert(!fl.exhausted);
	}
}

Test(workflow, allocation_failure_at_every_step)
{
	oom_loop(VALID("extensions.yaml"), 1);
	oom_loop(VALID("http_full.yaml"), 1);
	oom_loop(VALID("shell_full.yaml"), 1);
	oom_loop(VALID("anchors.yaml"), 1);
	oom_loop(VALID("config_timeout.yaml"), 1);
	oom_loop(INVALID("cycle_3.yaml"), 0);
	oom_loop(INVALID("unknown_dependency.yaml"), 0);
	oom_loop(INVALID("ssh_missing_user.yaml"), 0);
}
