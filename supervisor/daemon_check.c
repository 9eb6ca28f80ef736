/*
 * pf-supervisor -n: loads the configuration through pf-loader as a start
 * would, prints each workflow with its next fire (or why it is broken),
 * and says what isolation the supervisor would get on this host.
 */
#include <limits.h>
#include <stdio.h>
#include <unistd.h>

#include "picoflow/clock.h"
#include "picoflow/err.h"
#include "picoflow/workflow.h"
#include "cgroup.h"
#include "daemon_int.h"
#include "engine.h"
#include "limit.h"
#include "loadjob.h"
#include "nsprobe.h"
#include "sched.h"
#include "spawn.h"

/* -n: what isolation the supervisor would get here, without setting it up. */
static void
check_isolation(const struct daemon_opts *o)
{
	struct cg_opts	 co;
	struct cg_sys	*cgs;
	struct pf_err	 err;

	cg_opts_default(&co);
	co.detect_only = 1;
	co.force_none = o->no_cgroups;
	if (cg_open(&co, &cgs, &err) == -1) {
		fprintf(stderr, "pf-supervisor: %s\n", err.msg);
		return;
	}
	printf("%s\n", cg_describe(cgs));
	cg_close(cgs);
	if (o->no_namespaces)
		printf("namespaces: NONE (--no-namespaces)\n");
	else {
		char	 line[320];

		(void)nsprobe_run(line, sizeof(line));
		printf("%s\n", line);
	}
}

int
daemon_check(const struct daemon_opts *o)
{
	struct sched_spec	 sp;
	struct pf_err		 err;
	const struct pf_workflow *wf;
	int64_t			 next;
	size_t			 i, ok = 0;
	char			 ts[32], exe[PATH_MAX];
	int			 rc = 0;
	struct pf_limits	 dl;
	struct loadjob_req	 rq;
	struct loadjob_out	 out;
	struct wfset		*set = &out.set;

	limit_default(&dl);
	if (spawn_find_exe("pf-loader", "PICOFLOW_LOADER", exe, sizeof(exe),
	    &err) == -1) {
		fprintf(stderr, "pf-supervisor: %s\n", err.msg);
		return 1;
	}
	memset(&rq, 0, sizeof(rq));
	rq.exe = exe;
	rq.config = o->config;
	rq.policy = o->policy;
	rq.cli_run_as = o->run_as;
	rq.is_root = geteuid() == 0;
	rq.defaults = &dl;
	if (loadjob_run(&rq, daemon_load_timeout_ms(), &out, &err) == -1) {
		fprintf(stderr, "pf-supervisor: %s\n", err.msg);
		return 1;
	}
	if (o->policy != NULL) {
		if (!out.policy_ok) {
			fprintf(stderr, "%s\n%s: invalid policy\n",
			    out.policy_error ? out.policy_error :
			    "cannot load the policy", o->policy);
			loadjob_out_free(&out);
			return 1;
		}
		printf("policy %s: valid\n", o->policy);
	}
	for (i = 0; i < set->n; i++) {
		if (set->v[i].warnings != NULL)
			fprintf(stderr, "%s\n", set->v[i].warnings);
		if ((wf = set->v[i].wf) == NULL) {
			fprintf(stderr, "%s\n", set->v[i].error);
			rc = 1;
			continue;
		}
		if (wf->schedule == NULL) {
			printf("%s: '%s' (on demand)\n", set->v[i].path,
			    wf->name);
			ok++;
			continue;
		}
		if (sched_spec_init(&sp, wf->schedule, wf->timezone,
		    o->default_tz, &err) == -1) {
			fprintf(stderr, "%s: %s\n", set->v[i].path, err.msg);
			rc = 1;
			sched_spec_free(&sp);
			continue;
		}
		if (sp.at_start)
			printf("%s: '%s' (%s: at start)\n", set->v[i].path,
			    wf->name, wf->schedule);
		else if (sched_next(&sp, clock_wall_ms() / 1000, &next) == 0)
			printf("%s: '%s' (%s, next %s)\n", set->v[i].path,
			    wf->name, wf->schedule, daemon_fmt_time(next, ts,
			    sizeof(ts)));
		else
			printf("%s: '%s' (%s: never fires again)\n",
			    set->v[i].path, wf->name, wf->schedule);
		sched_spec_free(&sp);
		ok++;
	}
	printf("%zu workflow%s valid, %zu broken\n", ok, ok == 1 ? "" : "s",
	    set->nbroken + (size_t)(rc && set->nbroken == 0 ? 1 : 0));
	loadjob_out_free(&out);
	check_isolation(o);
	return rc;
}
