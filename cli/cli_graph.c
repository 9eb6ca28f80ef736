/*
 * picoflow graph (a workflow's task DAG as Graphviz DOT) and picoflow
 * next (the next fire times of a workflow's schedule or of a cron
 * expression, in its time zone and in UTC).  Both read one workflow
 * file and touch no state.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "picoflow/buf.h"
#include "picoflow/cron.h"
#include "picoflow/err.h"
#include "picoflow/units.h"
#include "picoflow/esc.h"
#include "picoflow/tz.h"
#include "picoflow/workflow.h"
#include "cli_int.h"

/* Loads one workflow for graph/next; prints diagnostics on failure. */
static struct pf_workflow *
load_one(const char *path)
{
	struct wf_load_opts	 opts;
	struct pf_diags		 d;
	struct pf_workflow	*wf;

	workflow_load_opts_default(&opts);
	opts.max_tasks = 1000000;
	pf_diags_init(&d);
	wf = workflow_load_file(path, &opts, &d);
	if (wf == NULL)
		cli_print_diags(&d);
	pf_diags_free(&d);
	return wf;
}

static void
dot_id(struct pf_buf *b, const char *s)
{
	/* DOT quoted IDs escape only the double quote and backslash. */
	buf_add_u8(b, '"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			buf_add_u8(b, '\\');
		buf_add_u8(b, (uint8_t)*s);
	}
	buf_add_u8(b, '"');
}

int
cli_graph(struct cli_ctx *ctx, int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "help",	no_argument,	   NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct pf_workflow	*wf;
	struct pf_buf		 b;
	size_t			 i, k;
	int			 ch;

	(void)ctx;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (ch == 'h') {
			printf("usage: picoflow graph FILE\n"
			    "Prints the task DAG as Graphviz DOT; render with "
			    "'dot -Tsvg'.\n");
			return CLI_OK;
		}
		fprintf(stderr, "usage: picoflow graph FILE\n");
		return CLI_USAGE;
	}
	if (optind != argc - 1) {
		fprintf(stderr, "usage: picoflow graph FILE\n");
		return CLI_USAGE;
	}
	if ((wf = load_one(argv[optind])) == NULL)
		return CLI_FAIL;
	buf_init(&b, 0);
	buf_add_str(&b, "digraph ");
	dot_id(&b, wf->name);
	buf_add_str(&b, " {\n\trankdir=LR;\n\tnode [shape=box];\n");
	for (i = 0; i < wf->ntasks; i++) {
		const struct pf_task *t = &wf->tasks[wf->order[i]];

		buf_add_str(&b, "\t");
		dot_id(&b, t->name);
		buf_printf(&b, " [label=\"%s\\n%s\"];\n", t->name,
		    task_type_name(t->type));
	}
	for (i = 0; i < wf->ntasks; i++) {
		const struct pf_task *t = &wf->tasks[wf->order[i]];

		for (k = 0; k < t->ndepends_on; k++) {
			buf_add_str(&b, "\t");
			dot_id(&b, wf->tasks[t->dep_idx[k]].name);
			buf_add_str(&b, " -> ");
			dot_id(&b, t->name);
			buf_add_str(&b, ";\n");
		}
	}
	buf_add_str(&b, "}\n");
	workflow_free(wf);
	if (b.failed) {
		buf_free(&b);
		fprintf(stderr, "picoflow: out of memory\n");
		return CLI_FAIL;
	}
	fwrite(b.data, 1, b.len, stdout);
	buf_free(&b);
	return CLI_OK;
}

/* "2026-03-29T03:00:00+02:00" for t in tz. */
static void
fmt_local(const struct pf_tz *tz, int64_t t, char *out, size_t len)
{
	struct tm	 tm;
	int32_t		 off = tz_offset_at(tz, t);
	int32_t		 aoff = off < 0 ? -off : off;

	tz_localtime(tz, t, &tm);
	snprintf(out, len, "%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, off < 0 ? '-' : '+', aoff / 3600,
	    (aoff % 3600) / 60);
}

/* Parses "YYYY-MM-DDTHH:MM:SSZ" (UTC) or a unix time in seconds. */
static int
parse_instant(const char *s, int64_t *out)
{
	struct tm	 tm;
	char		*end;

	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (end != NULL && *end == '\0') {
		*out = (int64_t)timegm(&tm);
		return 0;
	}
	return units_count(s, 0, INT64_MAX, out) == UNITS_OK ? 0 : -1;
}

static void
next_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: picoflow next [-n N] [--tz ZONE] [--from TIME] "
	    "FILE | --cron EXPR\n"
	    "  -n N         how many fire times (default 5, at most 1000)\n"
	    "  --cron EXPR  a cron expression instead of a workflow file\n"
	    "  --tz ZONE    time zone (default: the workflow's, else UTC)\n"
	    "  --from TIME  start after TIME (YYYY-MM-DDTHH:MM:SSZ or unix "
	    "seconds; default now)\n");
}

int
cli_next(struct cli_ctx *ctx, int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "cron",	required_argument, NULL, 'c' },
		{ "tz",		required_argument, NULL, 'z' },
		{ "from",	required_argument, NULL, 'f' },
		{ "json",	no_argument,	   NULL, 'j' },
		{ "help",	no_argument,	   NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct pf_workflow	*wf = NULL;
	struct pf_tz		*tz = NULL;
	struct cron_expr	 ce;
	struct pf_err		 err;
	const char		*expr = NULL, *zone = NULL;
	char			 local[64], utc[64];
	size_t			 n = 5, i, off;
	int64_t			 t, next;
	struct pf_json		 j;
	int			 ch, json = ctx->json, rc = CLI_FAIL;

	t = (int64_t)time(NULL);
	while ((ch = getopt_long(argc, argv, "n:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'n':
			if (cli_parse_count("-n", optarg, 1, 1000, &n) == -1)
				return CLI_USAGE;
			break;
		case 'c':
			expr = optarg;
			break;
		case 'z':
			zone = optarg;
			break;
		case 'f':
			if (parse_instant(optarg, &t) == -1) {
				fprintf(stderr, "picoflow: --from: '%s' is not "
				    "YYYY-MM-DDTHH:MM:SSZ or unix seconds\n",
				    optarg);
				return CLI_USAGE;
			}
			break;
		case 'j':
			json = 1;
			break;
		case 'h':
			next_usage(stdout);
			return CLI_OK;
		default:
			next_usage(stderr);
			return CLI_USAGE;
		}
	}
	if ((expr == NULL) == (optind == argc) || optind + 1 < argc) {
		next_usage(stderr);
		return CLI_USAGE;
	}
	if (expr == NULL) {
		if ((wf = load_one(argv[optind])) == NULL)
			return CLI_FAIL;
		if (wf->schedule == NULL) {
			char	 nm[WF_NAME_MAX * 6 + 8];

			fprintf(stderr, "picoflow: %s: workflow '%s' has no "
			    "schedule (it runs on demand)\n", argv[optind],
			    esc_str(nm, sizeof(nm), wf->name, ESC_QUOTES));
			goto out;
		}
		expr = wf->schedule;
		if (zone == NULL)
			zone = wf->timezone;
	}
	if (cron_parse(expr, &ce, &off, &err) == -1) {
		fprintf(stderr, "picoflow: schedule '%s': column %zu: %s\n",
		    expr, off + 1, err.msg);
		goto out;
	}
	if (zone != NULL && tz_load(zone, &tz, &err) == -1) {
		fprintf(stderr, "picoflow: time zone '%s': %s\n", zone,
		    err.msg);
		goto out;
	}
	if (cron_is_start(&ce)) {
		printf("'%s' runs once each time the supervisor starts\n",
		    expr);
		rc = CLI_OK;
		goto out;
	}
	json_init_file(&j, stdout);
	if (json)
		json_arr_begin(&j);
	for (i = 0; i < n; i++) {
		if (cron_next(&ce, tz, t, &next, &err) == -1) {
			if (i == 0) {
				if (json) {
					json_arr_end(&j);
					json_text(&j, "\n");
				}
				(void)json_close(&j);
				fprintf(stderr, "picoflow: schedule '%s' never "
				    "fires: %s\n", expr, err.msg);
				goto out;
			}
			break;
		}
		fmt_local(tz, next, local, sizeof(local));
		fmt_local(NULL, next, utc, sizeof(utc));
		if (json) {
			json_obj_begin(&j);
			json_ki64(&j, "unix", next);
			json_kstr(&j, "local", local);
			json_kstr(&j, "utc", utc);
			json_obj_end(&j);
		} else
			printf("%s  (UTC %s)\n", local, utc);
		t = next;
	}
	if (json) {
		json_arr_end(&j);
		json_text(&j, "\n");
	}
	rc = json_close(&j) == -1 ? CLI_FAIL : CLI_OK;
out:
	tz_free(tz);
	workflow_free(wf);
	return rc;
}
