/*
 * Load + validate time of generated workflows: N shell tasks, each
 * depending on up to two earlier ones (a realistic DAG, not a chain).
 *
 *	load_bench N [RUNS [loader]]
 *
 * Prints "N median_ms min_ms bytes" for RUNS runs (default 9).  With
 * "loader", each load goes the way pf-supervisor's does: the file read,
 * pf-loader started, the model encoded, sent, decoded and checked again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "picoflow/buf.h"
#include "picoflow/err.h"
#include "picoflow/workflow.h"
#include "../supervisor/loadjob.h"

/* One load through pf-loader (the supervisor's way); -1 on failure. */
static int
load_via_loader(const char *dir, long n, size_t bytes)
{
	struct loadjob_req	 rq;
	struct loadjob_out	 out;
	struct pf_err		 err;
	char			 exe[4200];
	int			 ok;

	snprintf(exe, sizeof(exe), "%s/pf-loader", PF_BUILD_DIR);
	memset(&rq, 0, sizeof(rq));
	rq.exe = exe;
	rq.config = dir;
	rq.is_root = geteuid() == 0;	/* as pf-supervisor does */
	rq.max_tasks = (size_t)n;
	rq.max_bytes = bytes + 1;
	if (loadjob_run(&rq, 60000, &out, &err) == -1) {
		fprintf(stderr, "load failed: %s\n", err.msg);
		return -1;
	}
	ok = out.set.n == 1 && out.set.v[0].wf != NULL;
	if (!ok)
		fprintf(stderr, "load failed: %s\n", out.set.n ?
		    out.set.v[0].error : "no file");
	loadjob_out_free(&out);
	return ok ? 0 : -1;
}

static int
cmp_double(const void *a, const void *b)
{
	double	 x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(int argc, char *argv[])
{
	struct wf_load_opts	 opts;
	struct pf_buf		 y;
	double			*t;
	long			 n, runs, i, r;
	int			 via = argc > 3 && strcmp(argv[3], "loader") == 0;
	char			 dir[] = "/tmp/pf-load-bench-XXXXXX", path[64];
	FILE			*f;

	if (argc < 2) {
		fprintf(stderr, "usage: load_bench N [RUNS [loader]]\n");
		return 2;
	}
	n = atol(argv[1]);
	runs = argc > 2 ? atol(argv[2]) : 9;
	if (n < 1 || runs < 1)
		return 2;
	buf_init(&y, 0);
	buf_printf(&y, "name: bench-%ld\nconfig:\n  max_parallel: 2\n"
	    "tasks:\n", n);
	for (i = 0; i < n; i++) {
		buf_printf(&y, "  - name: task_%ld\n    type: shell\n", i);
		if (i >= 2)
			buf_printf(&y, "    depends_on: [task_%ld, task_%ld]\n",
			    i / 2, i - 1);
		else if (i == 1)
			buf_printf(&y, "    depends_on: [task_0]\n");
		buf_printf(&y, "    config:\n      command: /bin/true\n"
		    "      args: [\"%ld\"]\n", i);
	}
	workflow_load_opts_default(&opts);
	opts.max_tasks = (size_t)n;
	opts.max_bytes = y.len + 1;
	if ((t = calloc((size_t)runs, sizeof(*t))) == NULL)
		return 1;
	if (via) {
		if (mkdtemp(dir) == NULL)
			return 1;
		snprintf(path, sizeof(path), "%s/bench.yaml", dir);
		if ((f = fopen(path, "w")) == NULL ||
		    fwrite(y.data, 1, y.len, f) != y.len || fclose(f) != 0)
			return 1;
		for (r = 0; r < runs; r++) {
			double	 t0 = now();

			if (load_via_loader(dir, n, y.len) == -1)
				return 1;
			t[r] = (now() - t0) * 1000.0;
		}
		unlink(path);
		rmdir(dir);
		runs = runs > 0 ? runs : 1;
		goto report;
	}
	for (r = 0; r < runs; r++) {
		struct pf_diags		 d;
		struct pf_workflow	*wf;
		double			 t0;

		pf_diags_init(&d);
		t0 = now();
		wf = workflow_load_buf("bench.yaml", y.data, y.len, &opts, &d);
		t[r] = (now() - t0) * 1000.0;
		if (wf == NULL) {
			fprintf(stderr, "load failed: %s\n",
			    d.n ? d.v[0].msg : "?");
			return 1;
		}
		workflow_free(wf);
		pf_diags_free(&d);
	}
report:
	qsort(t, (size_t)runs, sizeof(*t), cmp_double);
	printf("%ld %.3f %.3f %zu\n", n, t[runs / 2], t[0], y.len);
	free(t);
	buf_free(&y);
	return 0;
}
