/*
 * picoflow validate: checks workflow files (and a policy) without
 * touching state, as pf-supervisor would load them, and says why a file
 * is refused; --print shows the normalized form, --json one document.
 * graph and next, which read one file too, are in cli_graph.c.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "picoflow/buf.h"
#include "picoflow/esc.h"
#include "picoflow/err.h"
#include "picoflow/policy.h"
#include "picoflow/workflow.h"
#include "cli_int.h"
#include "limit.h"
#include "wfset_load.h"

void
cli_print_diags(const struct pf_diags *d)
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
json_diags(struct pf_json *j, const struct pf_diags *d)
{
	size_t	 i;

	json_key(j, "diagnostics");
	json_arr_begin(j);
	for (i = 0; i < d->n; i++) {
		const struct pf_diag *e = &d->v[i];

		json_obj_begin(j);
		json_kstr(j, "severity", e->sev == PF_SEV_ERROR ? "error" :
		    "warning");
		json_ku64(j, "line", e->line);
		json_ku64(j, "column", e->col);
		json_kstr(j, "message", e->msg);
		json_obj_end(j);
	}
	json_arr_end(j);
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

/* picoflow validate's options. */
struct validate_opts {
	struct wf_load_opts	 load;
	const char		*policy_path;
	const char		*run_as;
	char			**files;
	int			 nfiles;
	int			 json;
	int			 print;		/* --print */
};

/*
 * Parses picoflow validate's arguments into vo.  Returns -1 to go on, or
 * the exit code (usage error, or 0 after --help).
 */
static int
validate_parse(struct cli_ctx *ctx, int argc, char *argv[],
    struct validate_opts *vo)
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
	int			 ch;

	memset(vo, 0, sizeof(*vo));
	workflow_load_opts_default(&vo->load);
	vo->json = ctx->json;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'j':
			vo->json = 1;
			break;
		case 'p':
			vo->print = 1;
			break;
		case 't':
			if (cli_parse_count("--max-tasks", optarg, 0, 1000000,
			    &vo->load.max_tasks) == -1)
				return CLI_USAGE;
			break;
		case 'b':
			if (cli_parse_count("--max-bytes", optarg, 1,
			    (size_t)1 << 30, &vo->load.max_bytes) == -1)
				return CLI_USAGE;
			break;
		case 'P':
			vo->policy_path = optarg;
			break;
		case 'u':
			vo->run_as = optarg;
			break;
		case 'h':
			validate_usage(stdout);
			return CLI_OK;
		default:
			validate_usage(stderr);
			return CLI_USAGE;
		}
	}
	if (optind >= argc && vo->policy_path == NULL) {
		validate_usage(stderr);
		return CLI_USAGE;
	}
	vo->files = argv + optind;
	vo->nfiles = argc - optind;
	return -1;
}

/*
 * Loads and reports on --policy into *polp.  Returns -1 to go on to the
 * files, or the exit code (the policy is invalid, or it was all to check).
 */
static int
validate_policy(const struct validate_opts *vo, struct pf_policy **polp)
{
	struct pf_diags		 pd;
	struct pf_buf		 out;
	struct pf_json		 j;

	pf_diags_init(&pd);
	*polp = policy_load_file(vo->policy_path, &pd);
	if (vo->json) {
		buf_init(&out, 0);
		json_init(&j, &out);
		json_arr_begin(&j);
		json_obj_begin(&j);
		json_kstr(&j, "file", vo->policy_path);
		json_kbool(&j, "policy", 1);
		json_kbool(&j, "valid", *polp != NULL);
		json_diags(&j, &pd);
		json_obj_end(&j);
		json_arr_end(&j);
		json_text(&j, "\n");
		if (json_close(&j) == 0 && (*polp == NULL || vo->nfiles == 0))
			fwrite(out.data, 1, out.len, stdout);
		buf_free(&out);
	} else {
		cli_print_diags(&pd);
		if (*polp == NULL)
			fprintf(stderr, "%s: invalid policy: %zu "
			    "error%s\n", vo->policy_path, pd.nerrors,
			    pd.nerrors == 1 ? "" : "s");
		else if (vo->nfiles == 0)
			printf("Policy '%s' is valid\n", vo->policy_path);
	}
	pf_diags_free(&pd);
	if (*polp == NULL)
		return CLI_FAIL;
	if (vo->nfiles == 0) {
		policy_free(*polp);
		return CLI_OK;
	}
	return -1;
}

/* Checks the file `path` and reports on it (into out with --json). */
static int
validate_one(const struct validate_opts *vo, const char *path,
    struct pf_json *out)
{
	struct pf_diags		 d;
	struct pf_workflow	*wf;
	size_t			 k;
	int			 rc = CLI_OK;

	pf_diags_init(&d);
	wf = workflow_load_file(path, &vo->load, &d);
	if (wf == NULL)
		rc = CLI_FAIL;
	if (vo->json) {
		json_obj_begin(out);
		json_kstr(out, "file", path);
		json_kbool(out, "valid", wf != NULL);
		if (wf) {
			json_kstr(out, "name", wf->name);
			json_ku64(out, "tasks", wf->ntasks);
			json_key(out, "order");
			json_arr_begin(out);
			for (k = 0; k < wf->ntasks; k++)
				json_str(out, wf->tasks[wf->order[k]].name);
			json_arr_end(out);
		}
		json_diags(out, &d);
		json_obj_end(out);
	} else {
		cli_print_diags(&d);
		if (wf && vo->print) {
			struct pf_buf	 y;

			buf_init(&y, 0);
			if (workflow_print(wf, &y) == -1 || y.failed) {
				fprintf(stderr, "picoflow: %s: cannot "
				    "print: out of memory\n", path);
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
			    path, d.nerrors,
			    d.nerrors == 1 ? "" : "s");
	}
	workflow_free(wf);
	pf_diags_free(&d);
	return rc;
}

int
cli_validate(struct cli_ctx *ctx, int argc, char *argv[])
{
	struct validate_opts	 vo;
	struct pf_policy	*pol = NULL;
	struct pf_limits	 dl;
	struct pf_buf		 out;
	struct pf_json		 j;
	int			 i, rc;

	if ((rc = validate_parse(ctx, argc, argv, &vo)) != -1)
		return rc;
	if (vo.policy_path != NULL &&
	    (rc = validate_policy(&vo, &pol)) != -1)
		return rc;
	rc = CLI_OK;
	/* As picoflow run would run the tasks (see policy_default_user). */
	limit_default(&dl);
	wfset_load_opts(&vo.load, pol, vo.run_as, pol != NULL, &dl);

	buf_init(&out, 0);
	json_init(&j, &out);
	if (vo.json)
		json_arr_begin(&j);
	for (i = 0; i < vo.nfiles; i++)
		if (validate_one(&vo, vo.files[i], &j) != CLI_OK)
			rc = CLI_FAIL;
	if (vo.json) {
		json_arr_end(&j);
		json_text(&j, "\n");
		if (json_close(&j) == -1) {
			fprintf(stderr, "picoflow: out of memory\n");
			rc = CLI_FAIL;
		} else
			fwrite(out.data, 1, out.len, stdout);
	}
	buf_free(&out);
	policy_free(pol);
	return rc;
}
