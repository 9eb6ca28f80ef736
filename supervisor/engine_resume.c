/*
 * A run continued after a restart (engine_resume): its tasks settle from
 * the attempt rows the store kept, in topological order, exactly as the
 * run reached them, and the rest runs.
 */
#include "picoflow/alloc.h"
#include "engine_int.h"

/* Resume: what the store says about one task of the run. */
struct task_hist {
	unsigned	 attempts;	/* highest attempt number recorded */
	int		 success;
	enum pf_status	 last;		/* status of the highest attempt */
};

/*
 * A resumed task settles from its history through the task table, whose
 * actions release or skip its dependents as the run did (run->restoring:
 * nothing is collected or reported while the history replays).
 */
static void
restore_task(struct engine_run *run, size_t i, const struct task_hist *h)
{
	const struct pf_task	*task = &run->wf->tasks[i];

	run->tasks[i].attempts = h->attempts;
	if (h->success) {
		(void)engine_task_event(run, i, E_RESTORE_OK, NULL);
		return;
	}
	if (h->attempts == 0 || h->attempts <= task->retry)
		return;		/* runs (again) */
	(void)engine_task_event(run, i, h->last == PF_STATUS_TIMEOUT ?
	    E_RESTORE_TIMEOUT : E_RESTORE_FAIL, NULL);
}

int
engine_resume(struct engine *eng, const struct pf_workflow *wf,
    int64_t run_id, const struct store_attempt *atts, size_t natts,
    void *cookie, struct pf_err *err)
{
	struct engine_run	*run;
	struct task_hist	*hist;
	size_t			 i, k;
	enum pf_status		 st;
	long			 ti;
	int			 was_cancelled = 0;

	if ((run = engine_run_new(eng, wf, err)) == NULL)
		return -1;
	if ((hist = pf_calloc(wf->ntasks ? wf->ntasks : 1,
	    sizeof(*hist))) == NULL) {
		pf_err_set(err, "out of memory");
		engine_run_free(run);
		return -1;
	}
	run->run_id = run_id;
	run->cookie = cookie;
	for (k = 0; k < natts; k++) {
		const struct store_attempt *a = &atts[k];

		if (a->task_name == NULL ||
		    pf_status_parse(a->status, &st) == -1 ||
		    (ti = workflow_task_index(wf, a->task_name)) < 0)
			continue;	/* a task the definition lost */
		if (a->attempt == 0) {
			run->tasks[ti].skip_recorded = 1;
			continue;
		}
		if (st == PF_STATUS_CANCELLED)
			was_cancelled = 1;
		if (st == PF_STATUS_SUCCESS)
			hist[ti].success = 1;
		if (a->attempt >= hist[ti].attempts) {
			hist[ti].attempts = a->attempt;
			hist[ti].last = st;
		}
	}
	/*
	 * Replay in topological order: a task can only be restored once its
	 * dependencies are, exactly as the run reached it.
	 */
	run->restoring = 1;
	for (k = 0; k < wf->ntasks; k++) {
		i = wf->order[k];
		if (dag_ready_state(&run->ready, i) != DAG_READY) {
			/* Numbering continues even for a task that waits. */
			if (hist[i].attempts > run->tasks[i].attempts)
				run->tasks[i].attempts = hist[i].attempts;
			continue;
		}
		restore_task(run, i, &hist[i]);
	}
	run->restoring = 0;
	pf_free(hist);
	run->next = eng->runs;
	eng->runs = run;
	engine_collect_ready(run);
	if (was_cancelled)
		(void)engine_run_event(run, RE_CANCEL,
		    "cancelled before the supervisor restarted");
	engine_pump(eng);
	return 0;
}
