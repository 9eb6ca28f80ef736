/*
 * The commands a running supervisor answers over its control socket
 * (picoflow/ctl.h, through cli/ctlclient.c): trigger, cancel, reload
 * and daemon status.  Everything the supervisor sends back is printed
 * with control characters escaped.
 */
#include <errno.h>
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

static void
json_kstr(struct pf_buf *b, const char *key, const char *v, int comma)
{
	buf_printf(b, "%s\"%s\":", comma ? "," : "", key);
	if (v == NULL)
		buf_add_str(b, "null");
	else
		buf_add_json_str(b, v, strlen(v));
}

static void
json_ktime(struct pf_buf *b, const char *key, int64_t ms)
{
	if (ms < 0)
		buf_printf(b, ",\"%s\":null", key);
	else
		buf_printf(b, ",\"%s\":%" PRId64, key, ms);
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
	struct pf_buf	 b;
	int		 rc;

	if (call(ctx, cmd, req, &rep, timeout_ms) == -1)
		return CLI_FAIL;
	if (json) {
		buf_init(&b, 0);
		buf_printf(&b, "{\"ok\":%s", rep.ok ? "true" : "false");
		json_kstr(&b, "message", rep.message, 1);
		if (rep.run_id > 0)
			buf_printf(&b, ",\"run_id\":%" PRId64, rep.run_id);
		else
			buf_add_str(&b, ",\"run_id\":null");
		buf_add_str(&b, "}\n");
		if (!b.failed)
			fwrite(b.data, 1, b.len, stdout);
		buf_free(&b);
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
	const char		*name = NULL;
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
	char			*end;
	long long		 id;
	int			 json = ctx->json, rc;

	if ((rc = parse_json_only(argc, argv, &json, usage)) != 0)
		return rc == 1 ? CLI_OK : CLI_USAGE;
	if (optind != argc - 1) {
		fprintf(stderr, "%s", usage);
		return CLI_USAGE;
	}
	errno = 0;
	id = strtoll(argv[optind], &end, 10);
	if (*argv[optind] == '\0' || *end != '\0' || errno != 0 || id < 1) {
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
	struct pf_buf	 b;
	size_t		 i;

	buf_init(&b, 0);
	buf_printf(&b, "{\"running\":true,\"pid\":%u", r->pid);
	json_kstr(&b, "version", r->version, 1);
	json_ktime(&b, "started_ms", r->started_ms);
	json_ktime(&b, "now_ms", r->now_ms);
	json_kstr(&b, "config", r->config, 1);
	json_kstr(&b, "isolation_mode", r->isolation_mode, 1);
	json_kstr(&b, "isolation", r->isolation, 1);
	json_kstr(&b, "namespaces", r->namespaces, 1);
	buf_printf(&b, ",\"stopping\":%s,\"tasks_running\":%u,"
	    "\"max_tasks\":%u,\"workflows\":[", r->stopping ? "true" : "false",
	    r->tasks_running, r->max_tasks);
	for (i = 0; i < r->nwfs; i++) {
		const struct ctl_wf_status *w = &r->wfs[i];

		buf_add_str(&b, i ? ",{" : "{");
		json_kstr(&b, "name", w->name, 0);
		json_kstr(&b, "file", w->file, 1);
		json_kstr(&b, "schedule", w->schedule, 1);
		json_kstr(&b, "timezone", w->timezone, 1);
		json_ktime(&b, "next_fire_ms", w->next_fire_ms);
		json_ktime(&b, "last_fire_ms", w->last_fire_ms);
		buf_printf(&b, ",\"running\":%u,\"queued\":%u,\"fires\":%"
		    PRIu64 ",\"skips\":%" PRIu64 ",\"overlap\":\"%s\"",
		    w->running, w->queued, w->fires, w->skips,
		    overlap_names[w->overlap <= 2 ? w->overlap : 0]);
		json_kstr(&b, "error", w->error, 1);
		buf_add_str(&b, "}");
	}
	buf_add_str(&b, "],\"runs\":[");
	for (i = 0; i < r->nruns; i++) {
		const struct ctl_run_status *s = &r->runs[i];

		buf_printf(&b, "%s{\"run_id\":%" PRId64, i ? "," : "",
		    s->run_id);
		json_kstr(&b, "workflow", s->workflow, 1);
		json_kstr(&b, "trigger", s->trigger, 1);
		json_ktime(&b, "started_ms", s->started_ms);
		json_ktime(&b, "scheduled_ms", s->scheduled_ms);
		buf_printf(&b, ",\"tasks_running\":%u}", s->tasks_running);
	}
	buf_add_str(&b, "],\"errors\":[");
	for (i = 0; i < r->nerrors; i++) {
		if (i)
			buf_add_str(&b, ",");
		buf_add_json_str(&b, r->errors[i], strlen(r->errors[i]));
	}
	buf_add_str(&b, "]}\n");
	if (!b.failed)
		fwrite(b.data, 1, b.len, stdout);
	buf_free(&b);
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
		if (json)
			printf("{\"running\":false,\"pid\":%ld}\n",
			    holder > 0 ? holder : 0);
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
