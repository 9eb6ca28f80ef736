/*
 * The read commands: status, history, logs, stats, workflow list.  Each
 * opens the database read-only (readers never block the writer in WAL
 * mode), prints aligned text or one JSON document to stdout, and returns
 * 0 ok, 1 failure, 2 usage error.  A database that does not exist yet is
 * not an error: nothing has run.  This file holds what they share: their
 * options, opening the database, and the renderings of runs and
 * attempts; each command is in its own file (cli_status.c, cli_logs.c,
 * cli_stats.c, cli_workflow.c), the output helpers in cli_table.c.
 *
 * Everything printed from the database is treated as untrusted: in text
 * output control characters, C1 and bidirectional controls are escaped
 * (esc.h) so captured output cannot drive the terminal or reorder what
 * it shows; JSON strings are escaped and invalid UTF-8 is
 * replaced by U+FFFD so the document always parses.
 */
#include <sys/stat.h>

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "picoflow/alloc.h"
#include "picoflow/buf.h"
#include "picoflow/err.h"
#include "picoflow/units.h"
#include "picoflow/paths.h"
#include "picoflow/status.h"
#include "picoflow/store.h"
#include "cli_int.h"

#define LIMIT_DEFAULT	10
#define LIMIT_MAX	1000000

/* ---- options and the database ------------------------------------------ */

static int
usage_err(const struct cli_ropts *o, const char *fmt, const char *arg)
{
	fprintf(stderr, "picoflow %s: ", o->cmd);
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nusage: %s\n", o->usage);
	return CLI_USAGE;
}

/*
 * Parses the command's options.  Returns -1 to go on, or the exit code
 * (usage error, or 0 after --help).
 */
int
cli_ropts_parse(struct cli_ctx *ctx, struct cli_ropts *o, int argc,
    char *argv[])
{
	static const struct option longopts[] = {
		{ "workflow",		required_argument, NULL, 'w' },
		{ "limit",		required_argument, NULL, 'n' },
		{ "status",		required_argument, NULL, 's' },
		{ "execution-id",	required_argument, NULL, 'e' },
		{ "task",		required_argument, NULL, 't' },
		{ "json",		no_argument,	   NULL, 'j' },
		{ "help",		no_argument,	   NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	enum pf_status	 st;
	int64_t		 v;
	int		 ch, i;

	o->json = ctx->json;
	o->exec_id = -1;
	o->limit = LIMIT_DEFAULT;
	optind = 0;	/* glibc: fresh scan of this argv */
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":w:n:s:e:t:jh", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'w':
			if (!o->want_wf)
				return usage_err(o, "%s", "takes no workflow");
			if (o->workflow != NULL &&
			    strcmp(o->workflow, optarg) != 0)
				return usage_err(o, "%s", "more than one "
				    "workflow given");
			o->workflow = optarg;
			break;
		case 'n':
			if ((o->allow & OPT_LIMIT) == 0)
				return usage_err(o, "unknown option '%s'",
				    "--limit");
			if (units_count(optarg, 1, LIMIT_MAX, &v) != UNITS_OK)
				return usage_err(o, "--limit wants a number "
				    "from 1 to 1000000, not '%s'", optarg);
			o->limit = (size_t)v;
			break;
		case 's':
			if ((o->allow & OPT_STATUS) == 0)
				return usage_err(o, "unknown option '%s'",
				    "--status");
			if (pf_status_parse(optarg, &st) == -1)
				return usage_err(o, "unknown status '%s' "
				    "(running, success, failed, timeout, "
				    "skipped, cancelled)", optarg);
			o->status = optarg;
			break;
		case 'e':
			if ((o->allow & OPT_EXEC) == 0)
				return usage_err(o, "unknown option '%s'",
				    "--execution-id");
			if (units_count(optarg, 1, INT64_MAX, &v) != UNITS_OK)
				return usage_err(o, "--execution-id wants a "
				    "positive number, not '%s'", optarg);
			o->exec_id = v;
			break;
		case 't':
			if ((o->allow & OPT_TASK) == 0)
				return usage_err(o, "unknown option '%s'",
				    "--task");
			if (*optarg == '\0')
				return usage_err(o, "%s", "--task wants a "
				    "task name");
			o->task = optarg;
			break;
		case 'j':
			o->json = 1;
			break;
		case 'h':
			printf("usage: %s\n%s", o->usage, o->help);
			return CLI_OK;
		case ':':
			return usage_err(o, "option '%s' needs a value",
			    argv[optind - 1]);
		default:
			return usage_err(o, "unknown option '%s'",
			    argv[optind - 1]);
		}
	}
	i = optind;
	if (o->positional_list) {
		if (i >= argc)
			return usage_err(o, "%s", "missing subcommand");
		if (strcmp(argv[i], "list") != 0)
			return usage_err(o, "unknown subcommand '%s'", argv[i]);
		i++;
	}
	if (i < argc && o->want_wf) {
		if (o->workflow != NULL && strcmp(o->workflow, argv[i]) != 0)
			return usage_err(o, "%s", "more than one workflow "
			    "given");
		o->workflow = argv[i++];
	}
	if (i < argc)
		return usage_err(o, "unexpected argument '%s'", argv[i]);
	if (o->want_wf == 2 && o->workflow == NULL)
		return usage_err(o, "%s", "missing workflow name");
	if (o->workflow != NULL && *o->workflow == '\0')
		return usage_err(o, "%s", "empty workflow name");
	return -1;
}

/*
 * Opens the database read-only.  Returns 1 with *st NULL when there is no
 * database yet, 0 when open, -1 (message printed) on error.
 */
int
cli_open_db(struct cli_ctx *ctx, const char *cmd, struct pf_store **st)
{
	struct pf_paths	 p;
	struct pf_err	 err;
	struct stat	 sb;
	int		 rc;

	*st = NULL;
	pf_err_clear(&err);
	if (paths_resolve(ctx->state_dir, ctx->db_path, &p, &err) == -1) {
		fprintf(stderr, "picoflow %s: %s\n", cmd, err.msg);
		return -1;
	}
	if (stat(p.db_path, &sb) == -1 && errno == ENOENT) {
		paths_free(&p);
		return 1;
	}
	rc = store_open(p.db_path, STORE_RO, st, &err);
	paths_free(&p);
	if (rc == -1) {
		fprintf(stderr, "picoflow %s: %s\n", cmd, err.msg);
		return -1;
	}
	return 0;
}

int
cli_fail(const char *cmd, const struct pf_err *err)
{
	fprintf(stderr, "picoflow %s: %s\n", cmd, err->msg);
	return CLI_FAIL;
}

/* ---- shared renderings --------------------------------------------------- */

int64_t
cli_run_duration(const struct store_run *r)
{
	if (r->ended_ms < 0 || r->ended_ms < r->started_ms)
		return -1;
	return r->ended_ms - r->started_ms;
}

void
cli_json_run(struct pf_json *j, const struct store_run *r)
{
	json_ki64(j, "id", r->id);
	json_kstr(j, "workflow", r->workflow);
	json_kstr(j, "status", r->status);
	json_kstr(j, "trigger", r->trigger);
	cli_json_ki64(j, "started_ms", r->started_ms);
	cli_json_ktime(j, "started", r->started_ms);
	cli_json_ki64(j, "ended_ms", r->ended_ms);
	cli_json_ktime(j, "ended", r->ended_ms);
	cli_json_ki64(j, "duration_ms", cli_run_duration(r));
	json_kstr(j, "error", r->error);
}

/* A key only when the value is known: accounting the host could not take. */
static void
json_ki64_known(struct pf_json *j, const char *key, int64_t v)
{
	if (v >= 0)
		json_ki64(j, key, v);
}

void
cli_json_attempt(struct pf_json *j, const struct store_attempt *a,
    int output)
{
	json_obj_begin(j);
	json_kstr(j, "task", a->task_name);
	json_ku64(j, "attempt", a->attempt);
	json_kstr(j, "status", a->status);
	cli_json_ki64(j, "started_ms", a->started_ms);
	cli_json_ktime(j, "started", a->started_ms);
	cli_json_ki64(j, "ended_ms", a->ended_ms);
	cli_json_ki64(j, "duration_ms", a->duration_ms);
	if (a->has_exit_code)
		json_ki64(j, "exit_code", a->exit_code);
	else
		json_knull(j, "exit_code");
	cli_json_ki64(j, "signal", a->signal > 0 ? a->signal : -1);
	cli_json_ki64(j, "http_status", a->http_status > 0 ?
	    a->http_status : -1);
	cli_json_ki64(j, "max_rss_kb", a->max_rss_kb);
	cli_json_ki64(j, "user_cpu_us", a->user_cpu_us);
	cli_json_ki64(j, "sys_cpu_us", a->sys_cpu_us);
	cli_json_ki64(j, "bytes_captured", a->bytes_captured);
	cli_json_ki64(j, "bytes_dropped", a->bytes_dropped);
	json_ki64_known(j, "oom_kills", a->oom_kills);
	json_ki64_known(j, "pids_peak", a->pids_peak);
	json_ki64_known(j, "pids_denied", a->pids_denied);
	json_ki64_known(j, "nr_throttled", a->nr_throttled);
	json_ki64_known(j, "throttled_us", a->throttled_us);
	json_kbool(j, "truncated", a->truncated);
	json_kstr(j, "reason", a->reason);
	if (output) {
		json_key(j, "stdout");
		json_str_n(j, a->stdout_data, a->stdout_len);
		json_key(j, "stderr");
		json_str_n(j, a->stderr_data, a->stderr_len);
	}
	json_obj_end(j);
}

/* Appends ", " (or nothing first) and one formatted part. */
static void
part_add(char *out, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
part_add(char *out, size_t len, const char *fmt, ...)
{
	va_list	 ap;
	size_t	 k = strlen(out);

	if (k + 2 >= len)
		return;
	if (k > 0) {
		memcpy(out + k, ", ", 3);
		k += 2;
	}
	va_start(ap, fmt);
	(void)vsnprintf(out + k, len - k, fmt, ap);
	va_end(ap);
}

/*
 * What an attempt used, known values only.  all = 0 keeps what deserves a
 * look in a summary: OOM kills, refused forks, cpu throttling.
 */
void
cli_usage_text(const struct store_attempt *a, int all, char *out, size_t len)
{
	out[0] = '\0';
	if (all && a->max_rss_kb >= 0)
		part_add(out, len, "memory peak %" PRId64 " KiB",
		    a->max_rss_kb);
	if (all && a->user_cpu_us >= 0 && a->sys_cpu_us >= 0)
		part_add(out, len, "cpu %" PRId64 " us user + %" PRId64
		    " us sys", a->user_cpu_us, a->sys_cpu_us);
	if (all && a->pids_peak >= 0)
		part_add(out, len, "pids peak %" PRId64, a->pids_peak);
	if (a->pids_denied > 0 || (all && a->pids_denied == 0))
		part_add(out, len, "forks refused %" PRId64, a->pids_denied);
	if (a->oom_kills > 0 || (all && a->oom_kills == 0))
		part_add(out, len, "oom kills %" PRId64, a->oom_kills);
	if (a->nr_throttled > 0 || (all && a->nr_throttled == 0)) {
		if (a->throttled_us >= 0)
			part_add(out, len, "cpu throttled %" PRId64 " times "
			    "for %" PRId64 " us", a->nr_throttled,
			    a->throttled_us);
		else
			part_add(out, len, "cpu throttled %" PRId64 " times",
			    a->nr_throttled);
	}
}

void
cli_attempt_label(const struct store_attempt *a, char *out, size_t len)
{
	if (a->attempt == 0)
		(void)snprintf(out, len, "not run");
	else
		(void)snprintf(out, len, "attempt %u", a->attempt);
}

/*
 * The per-task lines under an execution: each task's latest attempt, in
 * the order the tasks first started.
 */
int
cli_task_lines(int64_t run_id, const struct store_attempt *a, size_t n,
    char **out)
{
	struct cli_tbl	 t;
	struct pf_buf	 b;
	size_t		 i, j;
	char		 lab[32], use[256];

	*out = NULL;
	memset(&t, 0, sizeof(t));
	t.ncol = 5;
	for (i = 0; i < n; i++) {
		const struct store_attempt	*last = &a[i];
		const char			*cols[5];
		int				 seen = 0;

		for (j = 0; j < i; j++)
			if (strcmp(a[j].task_name, a[i].task_name) == 0)
				seen = 1;
		if (seen)
			continue;
		for (j = i + 1; j < n; j++)
			if (strcmp(a[j].task_name, a[i].task_name) == 0)
				last = &a[j];
		cli_attempt_label(last, lab, sizeof(lab));
		cols[0] = last->task_name;
		cols[1] = last->status;
		cols[2] = lab;
		cols[3] = last->reason;
		cli_usage_text(last, 0, use, sizeof(use));
		cols[4] = use;
		if (cli_tbl_row(&t, cols) == -1) {
			cli_tbl_free(&t);
			return -1;
		}
	}
	buf_init(&b, 0);
	/* The Rust PicoFlow's label, which scripts grep for. */
	buf_printf(&b, "    Execution ID: %" PRId64 "%s\n", run_id,
	    t.nrow > 0 ? "; each task's latest attempt:" : "; no task ran");
	cli_tbl_print(&t, "    ", &b);
	cli_tbl_free(&t);
	buf_add_u8(&b, '\0');
	if (b.failed) {
		buf_free(&b);
		return -1;
	}
	*out = (char *)b.data;
	return 0;
}
