/*
 * `picoflow run` with the load limits raised: one run of one workflow
 * through the same engine, store and pf-worker, for workflows beyond the
 * 1,000 tasks and 1 MiB a workflow file may have (docs/workflow-format.md),
 * which picoflow run has no option to raise.  Defaults as picoflow run's:
 * per-task cgroups, every state change fsynced, tasks as the caller.
 *
 *	scale_run [--sync normal] [--no-cgroups] DB FILE
 *
 * Prints "status seconds peak_rss_kb p50_us p99_us tasks cpu_s": the
 * run's engine time (from engine_new to the run's end, as picoflow run's
 * "seconds"), this process's VmHWM at the end, the start latencies
 * (dispatch to the command's exec), the tasks that ended, and this
 * process's own user + system time (workers not included), which other
 * work on a shared machine disturbs less than the wall time.
 */
#include <sys/resource.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ev.h>

#include "picoflow/clock.h"
#include "picoflow/store.h"
#include "picoflow/workflow.h"
#include "../supervisor/engine.h"

struct scale_view {
	enum pf_status	 status;	/* NONE: the run did not end */
	int64_t		*lat;		/* start latencies, µs */
	size_t		 nlat, cap;
	size_t		 ended;
};

static void
on_task_ended(void *arg, const struct engine_task_report *r)
{
	struct scale_view	*v = arg;

	if (r->will_retry)
		return;
	v->ended++;
	if (r->start_latency_us < 0 || v->nlat == v->cap)
		return;
	v->lat[v->nlat++] = r->start_latency_us;
}

static void
on_run_ended(void *arg, const struct pf_workflow *wf, int64_t run_id,
    enum pf_status status, void *cookie)
{
	struct scale_view	*v = arg;

	(void)wf;
	(void)run_id;
	(void)cookie;
	v->status = status;
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t	 x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* This process's peak resident set (VmHWM), in KiB; -1 if unknown. */
static long
peak_rss_kb(void)
{
	FILE	*f;
	char	 line[256];
	long	 kb = -1;

	if ((f = fopen("/proc/self/status", "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static int64_t
pct(const struct scale_view *v, double q)
{
	size_t	 i = (size_t)(q * (double)v->nlat);

	if (v->nlat == 0)
		return -1;
	return v->lat[i < v->nlat ? i : v->nlat - 1];
}

int
main(int argc, char *argv[])
{
	struct wf_load_opts	 lo;
	struct engine_opts	 eo;
	struct engine_hooks	 hooks;
	struct scale_view	 v;
	struct pf_limits	 dl;
	struct pf_diags		 d;
	struct pf_workflow	*wf;
	struct pf_store		*store = NULL;
	struct engine		*eng;
	struct ev_loop		*loop;
	struct pf_err		 err;
	struct rusage		 ru;
	enum store_sync		 sync = STORE_SYNC_FULL;
	char			 worker[4200];
	int64_t			 run_id;
	double			 t0;
	int			 i;

	engine_opts_default(&eo);
	for (i = 1; i < argc - 2; i++) {
		if (strcmp(argv[i], "--no-cgroups") == 0)
			eo.no_cgroups = 1;
		else if (strcmp(argv[i], "--sync") == 0 && i + 1 < argc - 2 &&
		    strcmp(argv[i + 1], "normal") == 0) {
			sync = STORE_SYNC_NORMAL;
			i++;
		} else
			goto usage;
	}
	if (argc < 3 || i != argc - 2)
		goto usage;

	workflow_load_opts_default(&lo);
	lo.max_tasks = 1000000;
	lo.max_bytes = 256u << 20;
	lo.max_nodes = 100000000;
	dl = eo.limits;
	lo.defaults = &dl;	/* as picoflow run without a policy */
	pf_diags_init(&d);
	if ((wf = workflow_load_file(argv[argc - 1], &lo, &d)) == NULL) {
		fprintf(stderr, "scale_run: %s: %s\n", argv[argc - 1],
		    d.n ? d.v[0].msg : "cannot load");
		return 1;
	}
	pf_diags_free(&d);

	memset(&v, 0, sizeof(v));
	v.cap = wf->ntasks;
	if ((v.lat = calloc(v.cap ? v.cap : 1, sizeof(*v.lat))) == NULL)
		return 1;
	snprintf(worker, sizeof(worker), "%s/pf-worker", PF_BUILD_DIR);
	eo.worker_path = worker;
	if (store_open(argv[argc - 2], STORE_RW, &store, &err) == -1 ||
	    store_set_sync(store, sync, &err) == -1) {
		fprintf(stderr, "scale_run: %s\n", err.msg);
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	if ((loop = ev_default_loop(EVFLAG_AUTO)) == NULL)
		return 1;
	memset(&hooks, 0, sizeof(hooks));
	hooks.task_ended = on_task_ended;
	hooks.run_ended = on_run_ended;
	hooks.arg = &v;
	t0 = clock_mono_s();
	if ((eng = engine_new(loop, store, &eo, &hooks, &err)) == NULL ||
	    engine_start(eng, wf, &run_id, &err) == -1) {
		fprintf(stderr, "scale_run: %s\n", err.msg);
		return 1;
	}
	while (!engine_idle(eng))
		ev_run(loop, EVRUN_ONCE);
	t0 = clock_mono_s() - t0;
	getrusage(RUSAGE_SELF, &ru);
	qsort(v.lat, v.nlat, sizeof(*v.lat), cmp_i64);
	printf("%s %.3f %ld %lld %lld %zu %.3f\n", v.status !=
	    PF_STATUS_NONE ? pf_status_name(v.status) : "failed", t0, peak_rss_kb(), (long long)pct(&v, 0.50),
	    (long long)pct(&v, 0.99), v.ended,
	    (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
	engine_free(eng);
	store_close(store);
	workflow_free(wf);
	free(v.lat);
	return v.status == PF_STATUS_SUCCESS ? 0 : 1;
usage:
	fprintf(stderr, "usage: scale_run [--sync normal] [--no-cgroups] "
	    "DB FILE\n");
	return 2;
}
