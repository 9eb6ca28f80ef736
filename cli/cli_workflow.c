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
		buf_add_str(&b, "{\"workflows\":[");
		for (i = 0; i < n; i++) {
			int	 f = 1;

			if (i > 0)
				buf_add_u8(&b, ',');
			buf_add_u8(&b, '{');
			cli_json_kstr(&b, &f, "name", w[i].name);
			cli_json_kstr(&b, &f, "type", w[i].schedule != NULL ?
			    "Cron" : "On-Demand");
			cli_json_kstr(&b, &f, "schedule", w[i].schedule);
			cli_json_kstr(&b, &f, "file", w[i].file);
			cli_json_kstr(&b, &f, "description", w[i].description);
			cli_json_key(&b, &f, "total");
			buf_printf(&b, "%" PRId64, w[i].total);
			cli_json_key(&b, &f, "success");
			buf_printf(&b, "%" PRId64, w[i].success);
			cli_json_key(&b, &f, "failed");
			buf_printf(&b, "%" PRId64, w[i].failed);
			cli_json_ki64(&b, &f, "last_started_ms",
			    w[i].last_started_ms);
			cli_json_ktime(&b, &f, "last_started",
			    w[i].last_started_ms);
			cli_json_kstr(&b, &f, "last_status", w[i].last_status);
			buf_add_u8(&b, '}');
		}
		buf_add_str(&b, "]}\n");
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
