/*
 * The commands a running supervisor answers over its control socket
 * (picoflow/ctl.h, through cli/ctlclient.c): trigger, cancel, reload
 * and daemon status.  Everything the supervisor sends back is printed
 * with control characters escaped.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "picoflow/buf.h"
#include "picoflow/ctl.h"
#include "picoflow/err.h"
#include "picoflow/units.h"
#include "picoflow/esc.h"
#include "picoflow/paths.h"
#include "cli_int.h"
#include "ctlclient.h"

#define CALL_TIMEOUT_MS		10000
#define RELOAD_TIMEOUT_MS	60000

/* ---- output -------------------------------------------------------------- */

/* Text with controls (but newlines), C1 and bidi controls escaped. */
static void
put_txt(FILE *fp, const char *s)
{
	struct pf_buf	 b;

	buf_init(&b, 0);
	s = s != NULL ? s : "";
	if (esc_add(&b, s, strlen(s), ESC_KEEP_NL) == 0)
		(void)fwrite(b.data, 1, b.len, fp);
	buf_free(&b);
}

static const char *
fmt_ms(int64_t ms, char *buf, size_t len)
{
	struct tm	 tm;
	time_t		 t;

	if (ms < 0) {
		snprintf(buf, len, "-");
		return buf;
	}
	t = (time_t)(ms / 1000);
	if (gmtime_r(&t, &tm) == NULL)
		snprintf(buf, len, "?");
	else
		strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

static const char *
fmt_uptime(int64_t ms, char *buf, size_t len)
{
	int64_t	 s = ms / 1000;

	if (s >= 86400)
		snprintf(buf, len, "%" PRId64 "d %" PRId64 "h", s / 86400,
		    s % 86400 / 3600);
	else if (s >= 3600)
		snprintf(buf, len, "%" PRId64 "h %" PRId64 "m", s / 3600,
		    s % 3600 / 60);
	else if (s >= 60)
		snprintf(buf, len, "%" PRId64 "m %" PRId64 "s", s / 60, s % 60);
	else
		snprintf(buf, len, "%" PRId64 "s", s < 0 ? 0 : s);
	return buf;
}

/* ---- shared plumbing ------------------------------------------------------ */

/* One request; 0 with the reply filled, -1 after printing why. */
static int
call(struct cli_ctx *ctx, const char *cmd, const struct ctl_request *req,
    struct ctl_reply *rep, int timeout_ms)
{
	struct pf_paths	 p;
	struct pf_err	 err;
	long		 holder;
	int		 rc;

	memset(&p, 0, sizeof(p));
	if (cli_resolve(ctx, &p, cmd) == -1)
		return -1;
	rc = control_call(p.control_sock, req, rep, timeout_ms, &err);
	if (rc == -1) {
		holder = cli_pidfile_holder(p.pidfile);
		if (holder > 0)
			fprintf(stderr, "picoflow %s: pf-supervisor (pid %ld) "
			    "holds %s but does not answer: %s\n", cmd, holder,
			    p.pidfile, err.msg);
		else
			fprintf(stderr, "picoflow %s: %s\n", cmd, err.msg);
	}
	paths_free(&p);
	return rc;
}

/*
 * Sends req and prints its ok/message/run_id reply: trigger, cancel,
 * reload.
 */
static int
simple_request(struct cli_ctx *ctx, const struct ctl_request *req,
    int timeout_ms, int json, const char *cmd)
{
	struct ctl_reply rep;
	struct pf_json	 j;
	int		 rc;

	if (call(ctx, cmd, req, &rep, timeout_ms) == -1)
		return CLI_FAIL;
	if (json) {
		json_init_file(&j, stdout);
		json_obj_begin(&j);
		json_kbool(&j, "ok", rep.ok);
		json_kstr(&j, "message", rep.message);
		cli_json_ki64(&j, "run_id", rep.run_id > 0 ? rep.run_id : -1);
		json_obj_end(&j);
		cli_json_done(&j);
	} else {
		FILE	*fp = rep.ok ? stdout : stderr;

		if (!rep.ok)
			fprintf(fp, "picoflow %s: ", cmd);
		put_txt(fp, rep.message ? rep.message : rep.ok ? "ok" :
		    "refused");
		fputc('\n', fp);
	}
	rc = rep.ok ? CLI_OK : CLI_FAIL;
	ctl_reply_free(&rep);
	return rc;
}

static int
parse_json_only(int argc, char *argv[], int *json, const char *usage)
{
	static const struct option longopts[] = {
		{ "json",	no_argument,	   NULL, 'j' },
		{ "help",	no_argument,	   NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int	 ch;

	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'j':
			*json = 1;
			break;
		case 'h':
			printf("%s", usage);
			return 1;
		default:
			fprintf(stderr, "%s", usage);
			return -1;
		}
	}
	return 0;
}

/* ---- trigger, cancel, reload --------------------------------------------- */

int
cli_trigger(struct cli_ctx *ctx, int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "json",	no_argument,	   NULL, 'j' },
		{ "workflow",	required_argument, NULL, 'w' },
		{ "help",	no_argument,	   NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const char usage[] =
	    "usage: picoflow trigger [--json] WORKFLOW | --workflow NAME\n"
	    "Starts a run of a workflow the supervisor has loaded, now (its "
	    "overlap\npolicy applies).  Exit status 0 when it started or was "
	    "queued.\n";
	struct ctl_request	 req;
	char			*name = NULL;
	int			 ch, json = ctx->json;

	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'j':
			json = 1;
			break;
		case 'w':
			name = optarg;
			break;
		case 'h':
			printf("%s", usage);
			return CLI_OK;
		default:
			fprintf(stderr, "%s", usage);
			return CLI_USAGE;
		}
	}
	if (name == NULL && optind == argc - 1)
		name = argv[optind++];
	if (name == NULL || optind != argc || *name == '\0' ||
	    strlen(name) > CTL_NAME_MAX) {
		fprintf(stderr, "%s", usage);
		return CLI_USAGE;
	}
	ctl_request_init(&req);
	req.cmd = CTL_CMD_TRIGGER;
	req.workflow = name;
	return simple_request(ctx, &req, CALL_TIMEOUT_MS, json, "trigger");
}

int
cli_cancel(struct cli_ctx *ctx, int argc, char *argv[])
{
	static const char usage[] =
	    "usage: picoflow cancel [--json] RUN_ID\n"
	    "Cancels a run in progress: tasks not started never start, "
	    "running ones get\nSIGTERM, then SIGKILL after the grace "
	    "period.\n";
	struct ctl_request	 req;
	int64_t			 id;
	int			 json = ctx->json, rc;

	if ((rc = parse_json_only(argc, argv, &json, usage)) != 0)
		return rc == 1 ? CLI_OK : CLI_USAGE;
	if (optind != argc - 1) {
		fprintf(stderr, "%s", usage);
		return CLI_USAGE;
	}
	if (units_count(argv[optind], 1, INT64_MAX, &id) != UNITS_OK) {
		fprintf(stderr, "picoflow cancel: '%s' is not a run id\n",
		    argv[optind]);
		return CLI_USAGE;
	}
	ctl_request_init(&req);
	req.cmd = CTL_CMD_CANCEL;
	req.run_id = id;
	return simple_request(ctx, &req, CALL_TIMEOUT_MS, json, "cancel");
}

int
cli_reload(struct cli_ctx *ctx, int argc, char *argv[])
{
	static const char usage[] =
	    "usage: picoflow reload [--json]\n"
	    "Makes the supervisor read its workflow directory again (like "
	    "SIGHUP) and\nprints what changed.  Exit status 1 when a file is "
	    "broken (its last good\nversion, if any, keeps running).\n";
	struct ctl_request	 req;
	int			 json = ctx->json, rc;

	if ((rc = parse_json_only(argc, argv, &json, usage)) != 0)
		return rc == 1 ? CLI_OK : CLI_USAGE;
	if (optind != argc) {
		fprintf(stderr, "%s", usage);
		return CLI_USAGE;
	}
	ctl_request_init(&req);
	req.cmd = CTL_CMD_RELOAD;
	return simple_request(ctx, &req, RELOAD_TIMEOUT_MS, json, "reload");
}

/* ---- daemon status --------------------------------------------------------- */

static const char *const overlap_names[] = { "skip", "queue", "allow" };

static void
status_json(const struct ctl_reply *r)
{
	struct pf_json	 j;
	size_t		 i;

	json_init_file(&j, stdout);
	json_obj_begin(&j);
	json_kbool(&j, "running", 1);
	json_ku64(&j, "pid", r->pid);
	json_kstr(&j, "version", r->version);
	cli_json_ki64(&j, "started_ms", r->started_ms);
	cli_json_ki64(&j, "now_ms", r->now_ms);
	json_kstr(&j, "config", r->config);
	json_kstr(&j, "isolation_mode", r->isolation_mode);
	json_kstr(&j, "isolation", r->isolation);
	json_kstr(&j, "namespaces", r->namespaces);
	json_kbool(&j, "stopping", r->stopping);
	json_ku64(&j, "tasks_running", r->tasks_running);
	json_ku64(&j, "max_tasks", r->max_tasks);
	json_key(&j, "workflows");
	json_arr_begin(&j);
	for (i = 0; i < r->nwfs; i++) {
		const struct ctl_wf_status *w = &r->wfs[i];

		json_obj_begin(&j);
		json_kstr(&j, "name", w->name);
		json_kstr(&j, "file", w->file);
		json_kstr(&j, "schedule", w->schedule);
		json_kstr(&j, "timezone", w->timezone);
		cli_json_ki64(&j, "next_fire_ms", w->next_fire_ms);
		cli_json_ki64(&j, "last_fire_ms", w->last_fire_ms);
		json_ku64(&j, "running", w->running);
		json_ku64(&j, "queued", w->queued);
		json_ku64(&j, "fires", w->fires);
		json_ku64(&j, "skips", w->skips);
		json_kstr(&j, "overlap",
		    overlap_names[w->overlap <= 2 ? w->overlap : 0]);
		json_kstr(&j, "error", w->error);
		json_obj_end(&j);
	}
	json_arr_end(&j);
	json_key(&j, "runs");
	json_arr_begin(&j);
	for (i = 0; i < r->nruns; i++) {
		const struct ctl_run_status *s = &r->runs[i];

		json_obj_begin(&j);
		json_ki64(&j, "run_id", s->run_id);
		json_kstr(&j, "workflow", s->workflow);
		json_kstr(&j, "trigger", s->trigger);
		cli_json_ki64(&j, "started_ms", s->started_ms);
		cli_json_ki64(&j, "scheduled_ms", s->scheduled_ms);
		json_ku64(&j, "tasks_running", s->tasks_running);
		json_obj_end(&j);
	}
	json_arr_end(&j);
	json_key(&j, "errors");
	json_arr_begin(&j);
	for (i = 0; i < r->nerrors; i++)
		json_str(&j, r->errors[i]);
	json_arr_end(&j);
	json_obj_end(&j);
	cli_json_done(&j);
}

static void
status_text(const struct ctl_reply *r)
{
	char	 a[32], b[32];
	size_t	 i;

	printf("pf-supervisor ");
	put_txt(stdout, r->version);
	printf(" running (pid %u), up %s%s\n", r->pid,
	    fmt_uptime(r->now_ms - r->started_ms, a, sizeof(a)),
	    r->stopping ? ", STOPPING" : "");
	printf("config: ");
	put_txt(stdout, r->config);
	if (r->isolation != NULL) {
		/* The line already says "isolation: <mode>...". */
		printf("\n");
		put_txt(stdout, r->isolation);
	}
	if (r->namespaces != NULL) {
		printf("\n");
		put_txt(stdout, r->namespaces);
	}
	printf("\ntasks running: %u", r->tasks_running);
	if (r->max_tasks > 0)
		printf(" (cap %u)", r->max_tasks);
	printf("\n\n%-20s %-18s %-21s %-21s %4s %4s %6s %5s\n", "WORKFLOW",
	    "SCHEDULE", "NEXT FIRE (UTC)", "LAST FIRE (UTC)", "RUN", "WAIT",
	    "FIRES", "SKIPS");
	for (i = 0; i < r->nwfs; i++) {
		const struct ctl_wf_status *w = &r->wfs[i];

		put_txt(stdout, w->name);
		printf("%*s", (int)(w->name && strlen(w->name) < 20 ?
		    20 - strlen(w->name) : 0), "");
		printf(" %-18.18s %-21s %-21s %4u %4u %6" PRIu64 " %5" PRIu64
		    "\n", w->schedule ? w->schedule : "on demand",
		    fmt_ms(w->next_fire_ms, a, sizeof(a)),
		    fmt_ms(w->last_fire_ms, b, sizeof(b)), w->running,
		    w->queued, w->fires, w->skips);
		if (w->error != NULL) {
			printf("    broken file, last good version runs: ");
			put_txt(stdout, w->error);
			printf("\n");
		}
	}
	if (r->nruns > 0) {
		printf("\n%-8s %-20s %-9s %-21s %s\n", "RUN", "WORKFLOW",
		    "TRIGGER", "STARTED (UTC)", "TASKS RUNNING");
		for (i = 0; i < r->nruns; i++) {
			const struct ctl_run_status *s = &r->runs[i];

			printf("%-8" PRId64 " ", s->run_id);
			put_txt(stdout, s->workflow);
			printf("%*s %-9s %-21s %u\n", (int)(strlen(s->workflow) <
			    20 ? 20 - strlen(s->workflow) : 0), "",
			    s->trigger ? s->trigger : "-",
			    fmt_ms(s->started_ms, a, sizeof(a)),
			    s->tasks_running);
		}
	}
	if (r->nerrors > 0) {
		printf("\nrecent errors:\n");
		for (i = 0; i < r->nerrors; i++) {
			printf("  ");
			put_txt(stdout, r->errors[i]);
			printf("\n");
		}
	}
}

int
cli_daemon_status(struct cli_ctx *ctx, int json)
{
	struct ctl_request	 req;
	struct ctl_reply	 rep;
	struct pf_paths		 p;
	struct pf_err		 err;
	long			 holder;

	memset(&p, 0, sizeof(p));
	if (cli_resolve(ctx, &p, "daemon status") == -1)
		return CLI_FAIL;
	ctl_request_init(&req);
	req.cmd = CTL_CMD_STATUS;
	if (control_call(p.control_sock, &req, &rep, CALL_TIMEOUT_MS,
	    &err) == -1) {
		holder = cli_pidfile_holder(p.pidfile);
		if (json) {
			struct pf_json	 j;

			json_init_file(&j, stdout);
			json_obj_begin(&j);
			json_kbool(&j, "running", 0);
			json_ki64(&j, "pid", holder > 0 ? holder : 0);
			json_obj_end(&j);
			cli_json_done(&j);
		}
		if (holder > 0)
			fprintf(stderr, "picoflow daemon status: pf-supervisor "
			    "(pid %ld) holds %s but does not answer: %s\n",
			    holder, p.pidfile, err.msg);
		else if (!json)
			printf("pf-supervisor is not running (state directory "
			    "%s)\n", p.state_dir);
		paths_free(&p);
		return CLI_FAIL;
	}
	paths_free(&p);
	if (!rep.ok || !rep.has_status) {
		fprintf(stderr, "picoflow daemon status: ");
		put_txt(stderr, rep.message ? rep.message : "no status");
		fputc('\n', stderr);
		ctl_reply_free(&rep);
		return CLI_FAIL;
	}
	if (json)
		status_json(&rep);
	else
		status_text(&rep);
	ctl_reply_free(&rep);
	return CLI_OK;
}
