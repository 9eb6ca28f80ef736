/*
 * picoflow workflow list: every workflow the database knows, its type,
 * totals and last execution, as an aligned table or one JSON document.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "picoflow/buf.h"
#include "picoflow/store.h"
#include "cli_int.h"

int
cli_workflow(struct cli_ctx *ctx, int argc, char *argv[])
{
	struct cli_ropts	 o = {
		.cmd = "workflow",
		.usage = "picoflow workflow list [--json]",
		.help = "Every workflow recorded in the database: type "
		    "(Cron or On-Demand),\ntotals (failed includes timeout) "
		    "and the last execution.\n"
		    "      --json           one JSON document\n",
		.positional_list = 1,
	};
	static const char *const hdr[6] = { "NAME", "TYPE", "TOTAL",
	    "SUCCESS", "FAILED", "LAST EXECUTION" };
	struct pf_store		*st;
	struct store_workflow	*w = NULL;
	struct pf_err		 err;
	struct pf_buf		 b;
	struct cli_tbl		 t;
	size_t			 n = 0, i;
	int			 rc;

	if ((rc = cli_ropts_parse(ctx, &o, argc, argv)) != -1)
		return rc;
	if ((rc = cli_open_db(ctx, o.cmd, &st)) == -1)
		return CLI_FAIL;
	if (rc == 0 && store_workflows_list(st, &w, &n, &err) == -1) {
		store_close(st);
		return cli_fail(o.cmd, &err);
	}
	store_close(st);
	buf_init(&b, 0);
	memset(&t, 0, sizeof(t));
	t.ncol = 6;
	if (o.json) {
		struct pf_json	 j;

		json_init(&j, &b);
		json_obj_begin(&j);
		json_key(&j, "workflows");
		json_arr_begin(&j);
		for (i = 0; i < n; i++) {
			json_obj_begin(&j);
			json_kstr(&j, "name", w[i].name);
			json_kstr(&j, "type", w[i].schedule != NULL ?
			    "Cron" : "On-Demand");
			json_kstr(&j, "schedule", w[i].schedule);
			json_kstr(&j, "file", w[i].file);
			json_kstr(&j, "description", w[i].description);
			json_ki64(&j, "total", w[i].total);
			json_ki64(&j, "success", w[i].success);
			json_ki64(&j, "failed", w[i].failed);
			cli_json_ki64(&j, "last_started_ms",
			    w[i].last_started_ms);
			cli_json_ktime(&j, "last_started",
			    w[i].last_started_ms);
			json_kstr(&j, "last_status", w[i].last_status);
			json_obj_end(&j);
		}
		json_arr_end(&j);
		json_obj_end(&j);
		cli_json_done(&j);
	} else if (n == 0) {
		buf_add_str(&b, "no workflows recorded yet\n");
	} else {
		if (cli_tbl_row(&t, hdr) == -1)
			b.failed = 1;
		for (i = 0; i < n && !b.failed; i++) {
			char		 tot[24], ok[24], bad[24], last[64];
			const char	*cols[6];

			(void)snprintf(tot, sizeof(tot), "%" PRId64,
			    w[i].total);
			(void)snprintf(ok, sizeof(ok), "%" PRId64,
			    w[i].success);
			(void)snprintf(bad, sizeof(bad), "%" PRId64,
			    w[i].failed);
			if (w[i].last_started_ms < 0)
				(void)snprintf(last, sizeof(last), "never");
			else
				cli_fmt_time(w[i].last_started_ms, last,
				    sizeof(last));
			cols[0] = w[i].name;
			cols[1] = w[i].schedule != NULL ? "Cron" : "On-Demand";
			cols[2] = tot;
			cols[3] = ok;
			cols[4] = bad;
			cols[5] = last;
			if (cli_tbl_row(&t, cols) == -1)
				b.failed = 1;
		}
		cli_tbl_print(&t, "", &b);
	}
	rc = cli_out_flush(&b, o.cmd) == -1 ? CLI_FAIL : CLI_OK;
	cli_tbl_free(&t);
	buf_free(&b);
	store_workflows_free(w, n);
	return rc;
}
