/*
 * picoflow stats: one workflow's totals, rates, average duration and
 * last 24 hours, from the database, as text or one JSON document.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "picoflow/buf.h"
#include "picoflow/clock.h"
#include "picoflow/store.h"
#include "cli_int.h"

static double
pct(int64_t part, int64_t total)
{
	return total > 0 ? 100.0 * (double)part / (double)total : 0.0;
}

int
cli_stats(struct cli_ctx *ctx, int argc, char *argv[])
{
	struct cli_ropts	 o = {
		.cmd = "stats",
		.usage = "picoflow stats WORKFLOW [--json]",
		.help = "Totals of one workflow: runs, success and failure "
		    "rates (failed includes\ntimeout; rates are of all "
		    "runs), average duration of finished runs, last 24 h.\n"
		    "  -w, --workflow NAME  the workflow (or give it as "
		    "WORKFLOW)\n"
		    "      --json           one JSON document\n",
		.want_wf = 2,
	};
	struct pf_store		*st;
	struct store_stats	 s;
	struct pf_err		 err;
	struct pf_buf		 b;
	int64_t			 now;
	char			 dur[32], last[48];
	int			 rc;

	if ((rc = cli_ropts_parse(ctx, &o, argc, argv)) != -1)
		return rc;
	if ((rc = cli_open_db(ctx, o.cmd, &st)) == -1)
		return CLI_FAIL;
	now = clock_wall_ms();
	memset(&s, 0, sizeof(s));
	s.avg_duration_ms = s.last_started_ms = -1;
	if (rc == 0 && store_stats(st, o.workflow, now, &s, &err) == -1) {
		store_close(st);
		return cli_fail(o.cmd, &err);
	}
	store_close(st);
	buf_init(&b, 0);
	if (o.json) {
		struct pf_json	 j;

		json_init(&j, &b);
		json_obj_begin(&j);
		json_kstr(&j, "workflow", o.workflow);
		json_ki64(&j, "total", s.total);
		json_ki64(&j, "success", s.success);
		json_ki64(&j, "failed", s.failed);
		json_ki64(&j, "cancelled", s.cancelled);
		json_ki64(&j, "running", s.running);
		json_key(&j, "success_rate");
		json_fixed(&j, pct(s.success, s.total), 1);
		json_key(&j, "failure_rate");
		json_fixed(&j, pct(s.failed, s.total), 1);
		cli_json_ki64(&j, "avg_duration_ms", s.avg_duration_ms);
		json_key(&j, "last_24h");
		json_obj_begin(&j);
		json_ki64(&j, "total", s.day_total);
		json_ki64(&j, "success", s.day_success);
		json_ki64(&j, "failed", s.day_failed);
		json_obj_end(&j);
		cli_json_ki64(&j, "last_started_ms", s.last_started_ms);
		cli_json_ktime(&j, "last_started", s.last_started_ms);
		json_obj_end(&j);
		cli_json_done(&j);
	} else {
		cli_fmt_dur(s.avg_duration_ms, dur, sizeof(dur));
		if (s.last_started_ms < 0)
			(void)snprintf(last, sizeof(last), "never");
		else
			cli_fmt_time(s.last_started_ms, last, sizeof(last));
		buf_add_str(&b, "Workflow:          ");
		cli_txt_str(&b, o.workflow);
		buf_printf(&b, "\n"
		    "Total runs:        %" PRId64 "\n"
		    "success:           %" PRId64 " (%.1f%%)\n"
		    "failed:            %" PRId64 " (%.1f%%)\n"
		    "cancelled:         %" PRId64 "\n"
		    "running:           %" PRId64 "\n"
		    "Average duration:  %s\n"
		    "Last 24 h:         %" PRId64 " runs, %" PRId64
		    " succeeded, %" PRId64 " failed\n"
		    "Last run:          %s\n",
		    s.total, s.success, pct(s.success, s.total), s.failed,
		    pct(s.failed, s.total), s.cancelled, s.running, dur,
		    s.day_total, s.day_success, s.day_failed, last);
	}
	rc = cli_out_flush(&b, o.cmd) == -1 ? CLI_FAIL : CLI_OK;
	buf_free(&b);
	return rc;
}
