/*
 * picoflow logs: the captured stdout and stderr of every attempt of one
 * execution (the latest by default), escaped for a terminal or exact in
 * JSON, written one attempt at a time since output can be megabytes.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "picoflow/buf.h"
#include "picoflow/store.h"
#include "cli_int.h"

static void
txt_stream(struct pf_buf *b, const char *name, const unsigned char *p,
    size_t len)
{
	if (len == 0)
		return;
	buf_printf(b, "--- %s ---\n", name);
	cli_txt_add(b, p, len);
	if (p[len - 1] != '\n')
		buf_add_u8(b, '\n');
}

static void
txt_attempt_log(struct pf_buf *b, const struct store_attempt *a)
{
	char	 lab[32], dur[32], use[256];

	cli_attempt_label(a, lab, sizeof(lab));
	cli_fmt_dur(a->duration_ms, dur, sizeof(dur));
	buf_add_str(b, "=== ");
	cli_txt_str(b, a->task_name);
	buf_printf(b, " (%s): ", lab);
	cli_txt_str(b, a->status);
	if (a->has_exit_code)
		buf_printf(b, ", exit %d", a->exit_code);
	if (a->signal > 0)
		buf_printf(b, ", signal %d", a->signal);
	if (a->http_status > 0)
		buf_printf(b, ", http %d", a->http_status);
	if (a->attempt > 0)
		buf_printf(b, ", %s", dur);
	buf_add_str(b, " ===\n");
	if (a->reason != NULL) {
		buf_add_str(b, "reason: ");
		cli_txt_str(b, a->reason);
		buf_add_u8(b, '\n');
	}
	cli_usage_text(a, 1, use, sizeof(use));
	if (use[0] != '\0')
		buf_printf(b, "usage: %s\n", use);
	txt_stream(b, "stdout", a->stdout_data, a->stdout_len);
	txt_stream(b, "stderr", a->stderr_data, a->stderr_len);
	if (a->truncated || a->bytes_dropped > 0) {
		if (a->bytes_dropped > 0)
			buf_printf(b, "[output truncated: %" PRId64
			    " bytes dropped]\n", a->bytes_dropped);
		else
			buf_add_str(b, "[output truncated]\n");
	}
	if (a->attempt > 0 && a->stdout_len == 0 && a->stderr_len == 0)
		buf_add_str(b, "(no output)\n");
}

/*
 * Finds the execution (o->exec_id, else the workflow's latest) and its
 * attempts.  Returns -1 to go on (*found 0 when there is none), or the
 * exit code after saying why; then nothing is left to free.
 */
static int
logs_load(struct cli_ctx *ctx, const struct cli_ropts *o,
    struct store_run *run, int *found, struct store_attempt **attp,
    size_t *nattp)
{
	struct pf_store		*st;
	struct store_run	*runs = NULL;
	struct store_attempt	*att = NULL;
	struct pf_err		 err;
	size_t			 nruns = 0, natt = 0;
	int			 rc;

	*found = 0;
	memset(run, 0, sizeof(*run));
	if ((rc = cli_open_db(ctx, o->cmd, &st)) == -1)
		return CLI_FAIL;
	if (rc == 0 && o->exec_id > 0) {
		if (store_run_get(st, o->exec_id, run, found, &err) == -1) {
			store_close(st);
			return cli_fail(o->cmd, &err);
		}
		if (*found && strcmp(run->workflow, o->workflow) != 0) {
			fprintf(stderr, "picoflow logs: execution %" PRId64
			    " belongs to workflow '%s', not '%s'\n",
			    o->exec_id, run->workflow, o->workflow);
			store_run_clear(run);
			store_close(st);
			return CLI_FAIL;
		}
		if (!*found) {
			fprintf(stderr, "picoflow logs: no execution with id "
			    "%" PRId64 "\n", o->exec_id);
			store_close(st);
			return CLI_FAIL;
		}
	} else if (rc == 0) {
		if (store_runs_list(st, o->workflow, NULL, 1, &runs, &nruns,
		    &err) == -1) {
			store_close(st);
			return cli_fail(o->cmd, &err);
		}
		if (nruns == 1) {
			*run = runs[0];	/* moved; runs[0] not freed below */
			memset(&runs[0], 0, sizeof(runs[0]));
			*found = 1;
		}
	}
	store_runs_free(runs, nruns);
	if (*found && store_attempts_list(st, run->id, o->task, 1, &att, &natt,
	    &err) == -1) {
		store_run_clear(run);
		store_close(st);
		return cli_fail(o->cmd, &err);
	}
	store_close(st);
	*attp = att;
	*nattp = natt;
	return -1;
}

/* Prints what logs_load found; returns the exit code. */
static int
logs_print(const struct cli_ropts *o, const struct store_run *run, int found,
    const struct store_attempt *att, size_t natt)
{
	struct pf_buf		 b;
	size_t			 i;
	int			 rc;

	buf_init(&b, 0);
	rc = CLI_OK;
	if (o->json) {
		struct pf_json	 j;

		json_init(&j, &b);
		json_obj_begin(&j);
		json_kstr(&j, "workflow", o->workflow);
		json_kstr(&j, "task_filter", o->task);
		json_key(&j, "execution");
		if (found) {
			json_obj_begin(&j);
			cli_json_run(&j, run);
			json_obj_end(&j);
		} else
			json_null(&j);
		json_key(&j, "attempts");
		json_arr_begin(&j);
		/* One attempt at a time: output can be megabytes. */
		for (i = 0; i < natt && rc == CLI_OK; i++) {
			cli_json_attempt(&j, &att[i], 1);
			if (json_error(&j) == -1 ||
			    cli_out_flush(&b, o->cmd) == -1)
				rc = CLI_FAIL;
		}
		json_arr_end(&j);
		json_obj_end(&j);
		cli_json_done(&j);
	} else if (!found) {
		buf_add_str(&b, "no runs recorded yet for workflow '");
		cli_txt_str(&b, o->workflow);
		buf_add_str(&b, "'\n");
	} else {
		char	 start[48], dur[32];

		cli_fmt_time(run->started_ms, start, sizeof(start));
		cli_fmt_dur(cli_run_duration(run), dur, sizeof(dur));
		buf_printf(&b, "Execution %" PRId64 " of ", run->id);
		cli_txt_str(&b, run->workflow);
		buf_add_str(&b, ": ");
		cli_txt_str(&b, run->status);
		buf_printf(&b, ", started %s, %s\n", start, dur);
		if (run->error != NULL) {
			buf_add_str(&b, "error: ");
			cli_txt_str(&b, run->error);
			buf_add_u8(&b, '\n');
		}
		if (natt == 0) {
			if (o->task != NULL) {
				buf_add_str(&b, "no task '");
				cli_txt_str(&b, o->task);
				buf_add_str(&b, "' in this execution\n");
			} else
				buf_add_str(&b, "no tasks recorded\n");
		}
		for (i = 0; i < natt && rc == CLI_OK; i++) {
			txt_attempt_log(&b, &att[i]);
			if (cli_out_flush(&b, o->cmd) == -1)
				rc = CLI_FAIL;
		}
	}
	if (rc == CLI_OK && cli_out_flush(&b, o->cmd) == -1)
		rc = CLI_FAIL;
	buf_free(&b);
	return rc;
}

int
cli_logs(struct cli_ctx *ctx, int argc, char *argv[])
{
	struct cli_ropts	 o = {
		.cmd = "logs",
		.usage = "picoflow logs WORKFLOW [-e ID] [-t TASK] [--json]",
		.help = "Captured stdout and stderr of every attempt of an "
		    "execution (the latest\nby default).  Control "
		    "characters are shown as \\xNN, C1 and bidi controls\n"
		    "as \\uXXXX; --json has the exact text (those as "
		    "\\u escapes).\n"
		    "  -w, --workflow NAME      the workflow (or give it as "
		    "WORKFLOW)\n"
		    "  -e, --execution-id ID    this execution instead of "
		    "the latest\n"
		    "  -t, --task NAME          only this task\n"
		    "      --json               one JSON document\n",
		.want_wf = 2,
		.allow = OPT_EXEC | OPT_TASK,
	};
	struct store_run	 run;
	struct store_attempt	*att = NULL;
	size_t			 natt = 0;
	int			 rc, found;

	if ((rc = cli_ropts_parse(ctx, &o, argc, argv)) != -1)
		return rc;
	if ((rc = logs_load(ctx, &o, &run, &found, &att, &natt)) != -1)
		return rc;
	rc = logs_print(&o, &run, found, att, natt);
	store_attempts_free(att, natt);
	store_run_clear(&run);
	return rc;
}
