/*
 * picoflow status (recent executions with each task's latest attempt)
 * and picoflow history (the executions of one workflow), from the
 * database, as aligned text or one JSON document (cli_read.c).
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "picoflow/buf.h"
#include "picoflow/store.h"
#include "cli_int.h"

/* ---- status ------------------------------------------------------------ */

int
cli_status(struct cli_ctx *ctx, int argc, char *argv[])
{
	struct cli_ropts	 o = {
		.cmd = "status",
		.usage = "picoflow status [WORKFLOW] [--limit N] [--json]",
		.help = "Recent executions, newest first, with each task's "
		    "latest attempt.\n"
		    "  -w, --workflow NAME  only this workflow (or give it "
		    "as WORKFLOW)\n"
		    "      --limit N        at most N executions "
		    "(default 10)\n"
		    "      --json           one JSON document\n",
		.want_wf = 1,
		.allow = OPT_LIMIT,
	};
	struct pf_store		*st;
	struct store_run	*runs = NULL;
	struct store_attempt	*att;
	struct pf_err		 err;
	struct pf_buf		 b;
	struct cli_tbl		 t;
	struct pf_json		 j;
	size_t			 nruns = 0, natt, i, k;
	int			 rc;

	if ((rc = cli_ropts_parse(ctx, &o, argc, argv)) != -1)
		return rc;
	if ((rc = cli_open_db(ctx, o.cmd, &st)) == -1)
		return CLI_FAIL;
	if (rc == 0 && store_runs_list(st, o.workflow, NULL, o.limit, &runs,
	    &nruns, &err) == -1) {
		store_close(st);
		return cli_fail(o.cmd, &err);
	}
	buf_init(&b, 0);
	memset(&t, 0, sizeof(t));
	t.ncol = 6;
	rc = CLI_OK;
	json_init(&j, &b);
	if (o.json) {
		json_obj_begin(&j);
		json_key(&j, "executions");
		json_arr_begin(&j);
	}
	else if (nruns == 0) {
		if (o.workflow != NULL) {
			buf_add_str(&b, "no runs recorded yet for workflow ");
			cli_txt_quoted(&b, o.workflow);
			buf_add_u8(&b, '\n');
		} else
			buf_add_str(&b, "no runs recorded yet\n");
	} else {
		static const char *const hdr[6] = { "ID", "WORKFLOW",
		    "STATUS", "STARTED", "DURATION", "TRIGGER" };

		if (cli_tbl_row(&t, hdr) == -1)
			b.failed = 1;
	}
	for (i = 0; i < nruns && !b.failed; i++) {
		if (store_attempts_list(st, runs[i].id, NULL, 0, &att, &natt,
		    &err) == -1) {
			rc = cli_fail(o.cmd, &err);
			goto out;
		}
		if (o.json) {
			json_obj_begin(&j);
			cli_json_run(&j, &runs[i]);
			json_key(&j, "attempts");
			json_arr_begin(&j);
			for (k = 0; k < natt; k++)
				cli_json_attempt(&j, &att[k], 0);
			json_arr_end(&j);
			json_obj_end(&j);
			if (json_error(&j) == -1)
				b.failed = 1;
		} else {
			char		 id[32], start[48], dur[32];
			const char	*cols[6];

			(void)snprintf(id, sizeof(id), "%" PRId64, runs[i].id);
			cli_fmt_time(runs[i].started_ms, start, sizeof(start));
			cli_fmt_dur(cli_run_duration(&runs[i]), dur,
			    sizeof(dur));
			cols[0] = id;
			cols[1] = runs[i].workflow;
			cols[2] = runs[i].status;
			cols[3] = start;
			cols[4] = dur;
			cols[5] = runs[i].trigger != NULL ? runs[i].trigger :
			    "-";
			if (cli_tbl_row(&t, cols) == -1 ||
			    cli_task_lines(runs[i].id, att, natt,
			    &t.detail[t.nrow - 1]) == -1)
				b.failed = 1;
		}
		store_attempts_free(att, natt);
	}
	if (o.json) {
		json_arr_end(&j);
		json_obj_end(&j);
		cli_json_done(&j);
	} else
		cli_tbl_print(&t, "", &b);
	if (cli_out_flush(&b, o.cmd) == -1)
		rc = CLI_FAIL;
out:
	cli_tbl_free(&t);
	buf_free(&b);
	store_runs_free(runs, nruns);
	store_close(st);
	return rc;
}

/* ---- history ----------------------------------------------------------- */

int
cli_history(struct cli_ctx *ctx, int argc, char *argv[])
{
	struct cli_ropts	 o = {
		.cmd = "history",
		.usage = "picoflow history WORKFLOW [-s STATUS] [--limit N] "
		    "[--json]",
		.help = "Executions of one workflow, newest first.\n"
		    "  -w, --workflow NAME  the workflow (or give it as "
		    "WORKFLOW)\n"
		    "  -s, --status S       only running, success, failed, "
		    "timeout, skipped or cancelled\n"
		    "      --limit N        at most N executions "
		    "(default 10)\n"
		    "      --json           one JSON document\n",
		.want_wf = 2,
		.allow = OPT_LIMIT | OPT_STATUS,
	};
	static const char *const hdr[7] = { "ID", "STARTED", "ENDED",
	    "STATUS", "DURATION", "TRIGGER", "ERROR" };
	struct pf_store		*st;
	struct store_run	*runs = NULL;
	struct pf_err		 err;
	struct pf_buf		 b;
	struct cli_tbl		 t;
	size_t			 nruns = 0, i;
	int			 rc;

	if ((rc = cli_ropts_parse(ctx, &o, argc, argv)) != -1)
		return rc;
	if ((rc = cli_open_db(ctx, o.cmd, &st)) == -1)
		return CLI_FAIL;
	if (rc == 0 && store_runs_list(st, o.workflow, o.status, o.limit,
	    &runs, &nruns, &err) == -1) {
		store_close(st);
		return cli_fail(o.cmd, &err);
	}
	buf_init(&b, 0);
	memset(&t, 0, sizeof(t));
	t.ncol = 7;
	if (o.json) {
		struct pf_json	 j;

		json_init(&j, &b);
		json_obj_begin(&j);
		json_kstr(&j, "workflow", o.workflow);
		json_kstr(&j, "status_filter", o.status);
		json_key(&j, "executions");
		json_arr_begin(&j);
		for (i = 0; i < nruns; i++) {
			json_obj_begin(&j);
			cli_json_run(&j, &runs[i]);
			json_obj_end(&j);
		}
		json_arr_end(&j);
		json_obj_end(&j);
		cli_json_done(&j);
	} else if (nruns == 0) {
		buf_add_str(&b, "no runs recorded yet for workflow ");
		cli_txt_quoted(&b, o.workflow);
		if (o.status != NULL) {
			buf_add_str(&b, " with status ");
			buf_add_str(&b, o.status);
		}
		buf_add_u8(&b, '\n');
	} else {
		if (cli_tbl_row(&t, hdr) == -1)
			b.failed = 1;
		for (i = 0; i < nruns && !b.failed; i++) {
			char		 id[32], start[48], end[48], dur[32];
			const char	*cols[7];

			(void)snprintf(id, sizeof(id), "%" PRId64, runs[i].id);
			cli_fmt_time(runs[i].started_ms, start, sizeof(start));
			cli_fmt_time(runs[i].ended_ms, end, sizeof(end));
			cli_fmt_dur(cli_run_duration(&runs[i]), dur,
			    sizeof(dur));
			cols[0] = id;
			cols[1] = start;
			cols[2] = end;
			cols[3] = runs[i].status;
			cols[4] = dur;
			cols[5] = runs[i].trigger != NULL ? runs[i].trigger :
			    "-";
			cols[6] = runs[i].error;
			if (cli_tbl_row(&t, cols) == -1)
				b.failed = 1;
		}
		cli_tbl_print(&t, "", &b);
	}
	rc = cli_out_flush(&b, o.cmd) == -1 ? CLI_FAIL : CLI_OK;
	cli_tbl_free(&t);
	buf_free(&b);
	store_runs_free(runs, nruns);
	store_close(st);
	return rc;
}
