/*
 * Commands that read workflow files without touching state:
 * validate, graph, next.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "picoflow/alloc.h"
#include "picoflow/buf.h"
#include "picoflow/esc.h"
#include "picoflow/cron.h"
#include "picoflow/err.h"
#include "picoflow/policy.h"
#include "picoflow/tz.h"
#include "picoflow/workflow.h"
#include "cli.h"
#include "engine.h"
#include "wfset_load.h"

static void
print_diags(const struct pf_diags *d)
{
	char	 line[PF_ERR_MAX + 256];
	size_t	 i;

	for (i = 0; i < d->n; i++) {
		pf_diag_format(&d->v[i], line, sizeof(line));
		fprintf(stderr, "%s\n", line);
	}
	if (d->dropped)
		fprintf(stderr, "(%zu more not shown)\n", d->dropped);
	if (d->oom)
		fprintf(stderr, "(some messages lost: out of memory)\n");
}

static void
json_diags(struct pf_buf *b, const struct pf_diags *d)
{
	size_t	 i;

	buf_add_str(b, "[");
	for (i = 0; i < d->n; i++) {
		const struct pf_diag *e = &d->v[i];

		buf_printf(b, "%s{\"severity\":\"%s\",\"line\":%u,"
		    "\"column\":%u,\"message\":", i ? "," : "",
		    e->sev == PF_SEV_ERROR ? "error" : "warning", e->line,
		    e->col);
		buf_add_json_str(b, e->msg, strlen(e->msg));
		buf_add_str(b, "}");
	}
	buf_add_str(b, "]");
}

static void
print_order(FILE *fp, const struct pf_workflow *wf)
{
	size_t	 i;

	fprintf(fp, "Execution order: ");
	for (i = 0; i < wf->ntasks; i++)
		fprintf(fp, "%s%s", i ? " -> " : "",
		    wf->tasks[wf->order[i]].name);
	fprintf(fp, "%s\n", wf->ntasks ? "" : "(no tasks)");
}

static void
validate_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: picoflow validate [--json] [--print] [--max-tasks N] "
	    "[--max-bytes N]\n"
	    "                         [--policy FILE [--run-as USER]] FILE...\n"
	    "  --print        print each valid workflow normalized, defaults "
	    "filled in\n"
	    "  --policy FILE  check the workflows against this policy (alone: "
	    "check the policy)\n"
	    "  --run-as USER  the user tasks without run_as run as (default "
	    "with a policy:\n"
	    "                 its default_run_as, else nobody when run as "
	    "root)\n"
	    "  --max-tasks N  accept up to N tasks (default %d)\n"
	    "  --max-bytes N  accept files up to N bytes (default %d)\n",
	    WF_DEFAULT_MAX_TASKS, WF_DEFAULT_MAX_BYTES);
}

int
cli_validate(struct cli_ctx *ctx, int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "json",	no_argument,	   NULL, 'j' },
		{ "print",	no_argument,	   NULL, 'p' },
		{ "max-tasks",	required_argument, NULL, 't' },
		{ "max-bytes",	required_argument, NULL, 'b' },
		{ "policy",	required_argument, NULL, 'P' },
		{ "run-as",	required_argument, NULL, 'u' },
		{ "help",	no_argument,	   NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct wf_load_opts	 opts;
	struct pf_policy	*pol = NULL;
	struct pf_limits	 dl;
	struct pf_diags		 pd;
	struct pf_buf		 out;
	const char		*policy_path = NULL, *run_as = NULL;
	struct engine_opts	 eo;
	int			 ch, json = ctx->json, print = 0, i;
	int			 rc = CLI_OK;

	workflow_load_opts_default(&opts);
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'j':
			json = 1;
			break;
		case 'p':
			print = 1;
			break;
		case 't':
			if (cli_parse_count("--max-tasks", optarg, 0, 1000000,
			    &opts.max_tasks) == -1)
				return CLI_USAGE;
			break;
		case 'b':
			if (cli_parse_count("--max-bytes", optarg, 1,
			    (size_t)1 << 30, &opts.max_bytes) == -1)
				return CLI_USAGE;
			break;
		case 'P':
			policy_path = optarg;
			break;
		case 'u':
			run_as = optarg;
			break;
		case 'h':
			validate_usage(stdout);
			return CLI_OK;
		default:
			validate_usage(stderr);
			return CLI_USAGE;
		}
	}
	if (optind >= argc && policy_path == NULL) {
		validate_usage(stderr);
		return CLI_USAGE;
	}
	if (policy_path != NULL) {
		pf_diags_init(&pd);
		pol = policy_load_file(policy_path, &pd);
		if (json) {
			buf_init(&out, 0);
			buf_add_str(&out, "[{\"file\":");
			buf_add_json_str(&out, policy_path, strlen(policy_path));
			buf_printf(&out, ",\"policy\":true,\"valid\":%s,"
			    "\"diagnostics\":", pol ? "true" : "false");
			json_diags(&out, &pd);
			buf_add_str(&out, "}]\n");
			if (pol == NULL || optind >= argc)
				fwrite(out.data, 1, out.len, stdout);
			buf_free(&out);
		} else {
			print_diags(&pd);
			if (pol == NULL)
				fprintf(stderr, "%s: invalid policy: %zu "
				    "error%s\n", policy_path, pd.nerrors,
				    pd.nerrors == 1 ? "" : "s");
			else if (optind >= argc)
				printf("Policy '%s' is valid\n", policy_path);
		}
		pf_diags_free(&pd);
		if (pol == NULL)
			return CLI_FAIL;
		if (optind >= argc) {
			policy_free(pol);
			return CLI_OK;
		}
	}
	/* As picoflow run would run the tasks (see policy_default_user). */
	engine_opts_default(&eo);
	engine_opts_limits(&eo, &dl);
	wfset_load_opts(&opts, pol, run_as, pol != NULL, &dl);

	buf_init(&out, 0);
	if (json)
		buf_add_str(&out, "[");
	for (i = optind; i < argc; i++) {
		struct pf_diags		 d;
		struct pf_workflow	*wf;
		size_t			 k;

		pf_diags_init(&d);
		wf = workflow_load_file(argv[i], &opts, &d);
		if (wf == NULL)
			rc = CLI_FAIL;
		if (json) {
			buf_printf(&out, "%s{\"file\":", i > optind ? "," : "");
			buf_add_json_str(&out, argv[i], strlen(argv[i]));
			buf_printf(&out, ",\"valid\":%s", wf ? "true" : "false");
			if (wf) {
				buf_add_str(&out, ",\"name\":");
				buf_add_json_str(&out, wf->name,
				    strlen(wf->name));
				buf_printf(&out, ",\"tasks\":%zu,\"order\":[",
				    wf->ntasks);
				for (k = 0; k < wf->ntasks; k++) {
					const char *n =
					    wf->tasks[wf->order[k]].name;
					if (k)
						buf_add_str(&out, ",");
					buf_add_json_str(&out, n, strlen(n));
				}
				buf_add_str(&out, "]");
			}
			buf_add_str(&out, ",\"diagnostics\":");
			json_diags(&out, &d);
			buf_add_str(&out, "}");
		} else {
			print_diags(&d);
			if (wf && print) {
				struct pf_buf	 y;

				buf_init(&y, 0);
				if (workflow_print(wf, &y) == -1 || y.failed) {
					fprintf(stderr, "picoflow: %s: cannot "
					    "print: out of memory\n", argv[i]);
					rc = CLI_FAIL;
				} else
					fwrite(y.data, 1, y.len, stdout);
				buf_free(&y);
			} else if (wf) {
				char	 nm[WF_NAME_MAX * 6 + 8];

				printf("Workflow '%s' is valid\n", esc_str(nm,
				    sizeof(nm), wf->name, ESC_QUOTES));
				printf("Tasks: %zu\n", wf->ntasks);
				print_order(stdout, wf);
			} else
				fprintf(stderr, "%s: invalid: %zu error%s\n",
				    argv[i], d.nerrors,
				    d.nerrors == 1 ? "" : "s");
		}
		workflow_free(wf);
		pf_diags_free(&d);
	}
	if (json) {
		buf_add_str(&out, "]\n");
		if (out.failed) {
			fprintf(stderr, "picoflow: out of memory\n");
			rc = CLI_FAIL;
		} else
			fwrite(out.data, 1, out.len, stdout);
	}
	buf_free(&out);
	policy_free(pol);
	return rc;
}

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
		print_diags(&d);
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
	long long	 v;

	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (end != NULL && *end == '\0') {
		*out = (int64_t)timegm(&tm);
		return 0;
	}
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno == 0 && *s != '\0' && *end == '\0' && v >= 0) {
		*out = v;
		return 0;
	}
	return -1;
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
	if (json)
		printf("[");
	for (i = 0; i < n; i++) {
		if (cron_next(&ce, tz, t, &next, &err) == -1) {
			if (i == 0) {
				if (json)
					printf("]\n");
				fprintf(stderr, "picoflow: schedule '%s' never "
				    "fires: %s\n", expr, err.msg);
				goto out;
			}
			break;
		}
		fmt_local(tz, next, local, sizeof(local));
		fmt_local(NULL, next, utc, sizeof(utc));
		if (json)
			printf("%s{\"unix\":%" PRId64 ",\"local\":\"%s\","
			    "\"utc\":\"%s\"}", i ? "," : "", next, local, utc);
		else
			printf("%s  (UTC %s)\n", local, utc);
		t = next;
	}
	if (json)
		printf("]\n");
	rc = CLI_OK;
out:
	tz_free(tz);
	workflow_free(wf);
	return rc;
}
