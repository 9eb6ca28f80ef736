/*
 * picoflow run: one run of one workflow, now, in this process, through the
 * same engine and worker path the supervisor uses.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "picoflow/alloc.h"
#include "picoflow/buf.h"
#include "picoflow/clock.h"
#include "picoflow/esc.h"
#include "picoflow/json.h"
#include "picoflow/log.h"
#include "picoflow/paths.h"
#include "picoflow/policy.h"
#include "picoflow/status.h"
#include "picoflow/store.h"
#include "picoflow/workflow.h"
#include "cli.h"
#include "engine.h"
#include "spawn.h"
#include "wfset_load.h"

struct run_view {
	int		 quiet;		/* --json: no progress lines */
	int		 interrupted;
	enum pf_status	 status;	/* the run's final status; NONE:
					   it did not end */
	int64_t		 run_id;
	struct engine	*eng;
	size_t		 counts[PF_STATUS__COUNT]; /* tasks, by final status */
	struct pf_buf	 json;		/* per-task results for --json */
	struct pf_json	 tasks;		/* an array, written into json */
	double		 t0;
};

static double
elapsed(const struct run_view *v)
{
	return clock_mono_s() - v->t0;
}

static void
on_task_started(void *arg, const struct pf_workflow *wf,
    const struct pf_task *t, int64_t run_id, unsigned attempt)
{
	struct run_view	*v = arg;

	(void)wf;
	(void)run_id;
	if (!v->quiet) {
		printf("%8.3fs  %-9s %s (attempt %u)\n", elapsed(v), "start",
		    t->name, attempt);
		fflush(stdout);
	}
}

static void
on_task_ended(void *arg, const struct engine_task_report *r)
{
	struct run_view	*v = arg;
	char		 reason[PF_ERR_MAX * 2];

	if (!r->will_retry) {
		if (pf_status_valid(r->status))
			v->counts[r->status]++;
		json_obj_begin(&v->tasks);
		json_kstr(&v->tasks, "task", r->task->name);
		json_kstr(&v->tasks, "status", pf_status_name(r->status));
		json_ku64(&v->tasks, "attempts", r->attempt);
		json_ki64(&v->tasks, "duration_ms", r->duration_ms);
		if (r->start_latency_us >= 0)
			json_ki64(&v->tasks, "start_latency_us",
			    r->start_latency_us);
		if (r->reason != NULL)
			json_kstr(&v->tasks, "reason", r->reason);
		json_obj_end(&v->tasks);
	}
	if (v->quiet)
		return;
	/* The reason may quote what the task or a server said. */
	if (r->reason != NULL)
		esc_str(reason, sizeof(reason), r->reason, 0);
	if (r->attempt == 0)
		printf("%8.3fs  %-9s %s: %s\n", elapsed(v),
		    pf_status_name(r->status),
		    r->task->name, r->reason ? reason : "");
	else
		printf("%8.3fs  %-9s %s (attempt %u, %" PRId64 ".%03" PRId64
		    "s)%s%s\n", elapsed(v), pf_status_name(r->status),
		    r->task->name,
		    r->attempt, r->duration_ms / 1000, r->duration_ms % 1000,
		    r->reason ? ": " : "", r->reason ? reason : "");
	if (r->will_retry)
		printf("%8.3fs  %-9s %s: retry %u of %u in %.1fs\n",
		    elapsed(v), "backoff", r->task->name, r->attempt,
		    r->task->retry, (double)r->retry_in_ms / 1000.0);
	fflush(stdout);
}

static void
on_run_ended(void *arg, const struct pf_workflow *wf, int64_t run_id,
    enum pf_status status, void *cookie)
{
	struct run_view	*v = arg;

	(void)wf;
	(void)cookie;
	v->status = status;
	v->run_id = run_id;
}

static void
on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct run_view	*v = w->data;

	(void)loop;
	(void)revents;
	if (!v->interrupted && !v->quiet)
		fprintf(stderr, "picoflow: %s: cancelling the run (running "
		    "tasks get SIGTERM, then SIGKILL)\n", strsignal(w->signum));
	v->interrupted = 1;
	engine_cancel_all(v->eng, w->signum == SIGINT ? "interrupted" :
	    "terminated");
}

/* This process's peak resident set (VmHWM), in KiB; -1 if unknown. */
static long
peak_rss_kb(void)
{
	char	 line[256];
	long	 kb = -1;
	FILE	*fp;

	if ((fp = fopen("/proc/self/status", "re")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
			break;
	fclose(fp);
	return kb;
}

static void
run_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: picoflow run [--json] [--max-tasks N] [--grace SEC] "
	    "[--backoff MS] [--jitter]\n"
	    "                    [--sync full|normal] [--policy FILE] "
	    "[--run-as USER] FILE\n"
	    "  --json         print one JSON summary instead of progress "
	    "lines\n"
	    "  --grace SEC    seconds between SIGTERM and SIGKILL on timeout "
	    "or cancel (default 5)\n"
	    "  --backoff MS   first retry delay, doubling up to 60 s "
	    "(default 1000)\n"
	    "  --jitter       randomise retry delays by up to 25%%\n"
	    "  --no-cgroups   no per-task cgroups: limits by rlimits and process "
	    "groups only\n"
	    "  --no-namespaces  no PID and mount namespaces per shell task\n"
	    "  --sync MODE    full (default): every state change is fsynced; "
	    "normal: survives\n"
	    "                 a crash of picoflow, a power cut may lose the "
	    "last changes\n"
	    "  --max-tasks N  cap on tasks running at once, besides the "
	    "workflow's max_parallel\n"
	    "  --policy FILE  refuse a workflow asking for more than this "
	    "policy allows;\n"
	    "                 as root, tasks without run_as then run as its "
	    "default_run_as or nobody\n"
	    "  --run-as USER  tasks without run_as run as USER (default: "
	    "ours, without a policy)\n"
	    "Exit status: 0 if the run succeeded, 1 if it failed or was "
	    "cancelled.\n");
}

/* An unsigned option within 0..max, through the shared parser. */
static int
parse_uint(const char *opt, const char *s, unsigned max, unsigned *out)
{
	size_t	 v;

	if (cli_parse_count(opt, s, 0, max, &v) == -1)
		return -1;
	*out = (unsigned)v;
	return 0;
}

/* The database is the state directory's own (no --db-path elsewhere). */
static int
db_in_state_dir(const struct pf_paths *p)
{
	size_t	 n = strlen(p->state_dir);

	return strncmp(p->db_path, p->state_dir, n) == 0 &&
	    p->db_path[n] == '/';
}

/* picoflow run's options. */
struct run_opts {
	struct engine_opts	 eng;
	enum store_sync		 sync;
	const char		*policy_path;
	const char		*run_as;
	const char		*file;		/* the workflow */
	int			 json;		/* no progress lines */
};

/*
 * Parses picoflow run's arguments into ro.  Returns -1 to go on, or the
 * exit code (usage error, or 0 after --help).
 */
static int
run_parse(struct cli_ctx *ctx, int argc, char *argv[], struct run_opts *ro)
{
	static const struct option longopts[] = {
		{ "json",	no_argument,	   NULL, 'j' },
		{ "grace",	required_argument, NULL, 'g' },
		{ "backoff",	required_argument, NULL, 'b' },
		{ "jitter",	no_argument,	   NULL, 'J' },
		{ "max-tasks",	required_argument, NULL, 'm' },
		{ "no-cgroups",	no_argument,	   NULL, 'C' },
		{ "no-namespaces", no_argument,	   NULL, 'N' },
		{ "sync",	required_argument, NULL, 's' },
		{ "policy",	required_argument, NULL, 'P' },
		{ "run-as",	required_argument, NULL, 'u' },
		{ "help",	no_argument,	   NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned		 grace_s = ENGINE_DEFAULT_GRACE_MS / 1000;
	int			 ch;

	memset(ro, 0, sizeof(*ro));
	engine_opts_default(&ro->eng);
	ro->sync = STORE_SYNC_FULL;
	ro->json = ctx->json;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'j':
			ro->json = 1;
			break;
		case 'g':
			if (parse_uint("--grace", optarg, 3600, &grace_s) == -1)
				return CLI_USAGE;
			break;
		case 'b':
			if (parse_uint("--backoff", optarg, 3600000,
			    &ro->eng.backoff_ms) == -1)
				return CLI_USAGE;
			break;
		case 'J':
			ro->eng.jitter = 1;
			break;
		case 'C':
			ro->eng.no_cgroups = 1;
			break;
		case 'N':
			ro->eng.no_namespaces = 1;
			break;
		case 's':
			if (store_sync_parse(optarg, &ro->sync) == -1) {
				fprintf(stderr, "picoflow: --sync: '%s' is not "
				    "full or normal\n", optarg);
				return CLI_USAGE;
			}
			break;
		case 'm':
			if (parse_uint("--max-tasks", optarg, 100000,
			    &ro->eng.max_tasks) == -1)
				return CLI_USAGE;
			break;
		case 'P':
			ro->policy_path = optarg;
			break;
		case 'u':
			ro->run_as = optarg;
			break;
		case 'h':
			run_usage(stdout);
			return CLI_OK;
		default:
			run_usage(stderr);
			return CLI_USAGE;
		}
	}
	if (optind != argc - 1) {
		run_usage(stderr);
		return CLI_USAGE;
	}
	ro->eng.grace_ms = grace_s * 1000;
	ro->file = argv[optind];
	return -1;
}

/*
 * Loads the policy (if any) and the workflow, as pf-supervisor would
 * check them; prints the diagnostics.  NULL when either is invalid.
 */
static struct pf_workflow *
run_load(struct run_opts *ro)
{
	struct wf_load_opts	 lopts;
	struct pf_policy	*pol = NULL;
	struct pf_limits	 dl;
	struct pf_diags		 d;
	struct pf_workflow	*wf;
	char			*text;
	char			 line[PF_ERR_MAX + 256];
	size_t			 i;

	workflow_load_opts_default(&lopts);
	if (ro->policy_path != NULL &&
	    wfset_policy_load(ro->policy_path, &pol, &text) == -1) {
		fprintf(stderr, "%s\n%s: invalid policy\n", text,
		    ro->policy_path);
		pf_free(text);
		return NULL;
	}
	/*
	 * Without a policy the operator runs the tasks as themselves; with
	 * one, as pf-supervisor would (never root unless it allows root).
	 */
	dl = ro->eng.limits;
	wfset_load_opts(&lopts, pol, ro->run_as, pol != NULL, &dl);
	pf_diags_init(&d);
	wf = workflow_load_file(ro->file, &lopts, &d);
	policy_free(pol);
	for (i = 0; i < d.n; i++) {
		pf_diag_format(&d.v[i], line, sizeof(line));
		fprintf(stderr, "%s\n", line);
	}
	pf_diags_free(&d);
	return wf;
}

/* Runs wf through the engine until it ends; returns the exit code. */
static int
run_exec(struct cli_ctx *ctx, struct run_opts *ro,
    const struct pf_workflow *wf)
{
	struct engine_hooks	 hooks;
	struct run_view		 v;
	struct pf_paths		 paths;
	struct pf_store		*store = NULL;
	char			 name[WF_NAME_MAX * 6 + 8];
	struct pf_err		 err;
	struct ev_loop		*loop;
	ev_signal		 sigint, sigterm;
	enum pf_status		 final;
	char			 worker[PATH_MAX];
	int			 rc = CLI_FAIL;

	memset(&v, 0, sizeof(v));
	memset(&paths, 0, sizeof(paths));
	v.quiet = ro->json;
	if (spawn_find_worker(worker, sizeof(worker), &err) == -1 ||
	    paths_resolve(ctx->state_dir, ctx->db_path, &paths, &err) == -1 ||
	    (db_in_state_dir(&paths) &&
	    paths_state_dir_prepare(paths.state_dir, &err) == -1) ||
	    store_open(paths.db_path, STORE_RW, &store, &err) == -1 ||
	    store_set_sync(store, ro->sync, &err) == -1) {
		fprintf(stderr, "picoflow: %s\n", err.msg);
		goto out;
	}
	ro->eng.worker_path = worker;

	signal(SIGPIPE, SIG_IGN);
	if ((loop = ev_default_loop(EVFLAG_AUTO)) == NULL) {
		fprintf(stderr, "picoflow: cannot initialise the event loop\n");
		goto out;
	}
	memset(&hooks, 0, sizeof(hooks));
	hooks.task_started = on_task_started;
	hooks.task_ended = on_task_ended;
	hooks.run_ended = on_run_ended;
	hooks.arg = &v;
	buf_init(&v.json, 0);
	json_init(&v.tasks, &v.json);
	json_arr_begin(&v.tasks);
	v.t0 = clock_mono_s();
	if ((v.eng = engine_new(loop, store, &ro->eng, &hooks, &err)) ==
	    NULL) {
		fprintf(stderr, "picoflow: %s\n", err.msg);
		goto out;
	}
	ev_signal_init(&sigint, on_signal, SIGINT);
	ev_signal_init(&sigterm, on_signal, SIGTERM);
	sigint.data = sigterm.data = &v;
	ev_signal_start(loop, &sigint);
	ev_signal_start(loop, &sigterm);

	if (!v.quiet)
		printf("Run of '%s' (%zu task%s, max_parallel %u)\n",
		    esc_str(name, sizeof(name), wf->name, ESC_QUOTES),
		    wf->ntasks, wf->ntasks == 1 ? "" : "s", wf->max_parallel);
	if (engine_start(v.eng, wf, &v.run_id, &err) == -1) {
		fprintf(stderr, "picoflow: cannot start the run: %s\n",
		    err.msg);
		goto out_engine;
	}
	while (!engine_idle(v.eng))
		ev_run(loop, EVRUN_ONCE);
	ev_signal_stop(loop, &sigint);
	ev_signal_stop(loop, &sigterm);
	/* A run that did not end (its store failed) counts as failed. */
	final = v.status != PF_STATUS_NONE ? v.status : PF_STATUS_FAILED;

	if (v.quiet) {
		struct pf_json	 o;

		json_arr_end(&v.tasks);
		json_init_file(&o, stdout);
		json_obj_begin(&o);
		json_ki64(&o, "run_id", v.run_id);
		json_kstr(&o, "workflow", wf->name);
		json_kstr(&o, "status", pf_status_name(final));
		json_key(&o, "tasks");
		if (json_error(&v.tasks) == 0)
			json_raw(&o, v.json.data, v.json.len);
		json_key(&o, "seconds");
		json_fixed(&o, elapsed(&v), 3);
		json_ki64(&o, "peak_rss_kb", peak_rss_kb());
		json_obj_end(&o);
		json_text(&o, "\n");
		(void)json_close(&o);
	} else
		printf("Run %" PRId64 " of '%s': %s in %.3fs (%zu succeeded, "
		    "%zu failed, %zu timed out, %zu skipped, %zu cancelled)\n",
		    v.run_id, esc_str(name, sizeof(name), wf->name,
		    ESC_QUOTES), pf_status_name(final), elapsed(&v),
		    v.counts[PF_STATUS_SUCCESS], v.counts[PF_STATUS_FAILED],
		    v.counts[PF_STATUS_TIMEOUT], v.counts[PF_STATUS_SKIPPED],
		    v.counts[PF_STATUS_CANCELLED]);
	rc = final == PF_STATUS_SUCCESS ? CLI_OK : CLI_FAIL;
out_engine:
	engine_free(v.eng);
out:
	buf_free(&v.json);
	store_close(store);
	paths_free(&paths);
	return rc;
}

int
cli_run(struct cli_ctx *ctx, int argc, char *argv[])
{
	struct run_opts		 ro;
	struct pf_workflow	*wf;
	int			 rc;

	if ((rc = run_parse(ctx, argc, argv, &ro)) != -1)
		return rc;
	if ((wf = run_load(&ro)) == NULL)
		return CLI_FAIL;
	rc = run_exec(ctx, &ro, wf);
	workflow_free(wf);
	return rc;
}
