/*
 * A run continued after a restart (engine_resume): its tasks settle from
 * the attempt rows the store kept, in topological order, exactly as the
 * run reached them, and the rest runs.  Attempts whose workers outlived
 * the predecessor are taken over (engine_adopt.c), not run again; an
 * attempt recorded interrupted does not count against retry.
 */
#include <inttypes.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "picoflow/alloc.h"
#include "picoflow/log.h"
#include "engine_int.h"

/* Resume: what the store says about one task of the run. */
struct task_hist {
	unsigned	 attempts;	/* highest attempt number recorded */
	unsigned	 interrupted;	/* attempts interrupted by restarts */
	unsigned	 tail;		/* ... the newest ones, in a row */
	int		 success;
	enum pf_status	 last;		/* status of the highest attempt */
	struct engine_adopt *adopt;	/* its running attempt, taken over */
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
	struct task_rt		*t = &run->tasks[i];
	unsigned		 max = run->eng->opts.max_interruptions;

	t->attempts = h->attempts;
	t->interrupted = h->interrupted;
	t->tail_int = h->tail;
	if (h->success) {
		(void)engine_task_event(run, i, E_RESTORE_OK, NULL);
		return;
	}
	if (h->adopt != NULL) {
		t->adopt = h->adopt;	/* engine_collect_ready takes it over */
		return;
	}
	if (max > 0 && h->tail >= max)
		log_warnx("run %" PRId64 " task '%s': interrupted %u times in "
		    "a row (--max-interruptions %u): it fails and is not run "
		    "again", run->run_id, task->name, h->tail, max);
	else if (h->attempts == 0 ||
	    h->attempts - h->interrupted <= task->retry)
		return;		/* runs (again) */
	(void)engine_task_event(run, i, h->last == PF_STATUS_TIMEOUT ?
	    E_RESTORE_TIMEOUT : E_RESTORE_FAIL, NULL);
}

/*
 * The run takes the attempts to take over (and their fds, closed with
 * the run if never used); each is matched with its task and its row.
 */
static int
take_adopts(struct engine_run *run, struct task_hist *hist,
    const struct store_attempt *atts, size_t natts,
    const struct engine_adopt *adopts, size_t nadopts, struct pf_err *err)
{
	struct engine_adopt	*ad;
	size_t			 k, j;
	long			 ti;

	if (nadopts == 0)
		return 0;
	if ((run->adopts = pf_reallocarray(NULL, nadopts,
	    sizeof(*run->adopts))) == NULL) {
		for (k = 0; k < nadopts; k++)
			close(adopts[k].fd);
		pf_err_set(err, "out of memory");
		return -1;
	}
	memcpy(run->adopts, adopts, nadopts * sizeof(*adopts));
	run->nadopts = nadopts;
	for (k = 0; k < nadopts; k++) {
		ad = &run->adopts[k];
		ad->task_name = NULL;	/* the caller's: not kept */
		if ((ti = workflow_task_index(run->wf,
		    adopts[k].task_name)) < 0) {
			/* A task the definition lost: it cannot go on. */
			log_warnx("run %" PRId64 ": task '%s' is no longer "
			    "defined; its running attempt is stopped",
			    run->run_id, adopts[k].task_name);
			if (ad->worker_pid > 0)
				(void)kill(ad->worker_pid, SIGTERM);
			continue;
		}
		for (j = 0; j < natts; j++)
			if (atts[j].id == ad->attempt_id)
				ad->started_ms = atts[j].started_ms;
		hist[ti].adopt = ad;
	}
	return 0;
}

int
engine_resume(struct engine *eng, const struct pf_workflow *wf,
    int64_t run_id, const struct store_attempt *atts, size_t natts,
    const struct engine_adopt *adopts, size_t nadopts, void *cookie,
    struct pf_err *err)
{
	struct engine_run	*run;
	struct task_hist	*hist;
	size_t			 i, k;
	enum pf_status		 st;
	long			 ti;
	int			 was_cancelled = 0;

	if ((run = engine_run_new(eng, wf, err)) == NULL) {
		for (k = 0; k < nadopts; k++)
			close(adopts[k].fd);
		return -1;
	}
	if ((hist = pf_calloc(wf->ntasks ? wf->ntasks : 1,
	    sizeof(*hist))) == NULL) {
		pf_err_set(err, "out of memory");
		for (k = 0; k < nadopts; k++)
			close(adopts[k].fd);
		engine_run_free(run);
		return -1;
	}
	run->run_id = run_id;
	run->cookie = cookie;
	if (take_adopts(run, hist, atts, natts, adopts, nadopts, err) == -1) {
		pf_free(hist);
		engine_run_free(run);
		return -1;
	}
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
		if (st == PF_STATUS_INTERRUPTED)
			hist[ti].interrupted++;
		if (a->attempt >= hist[ti].attempts) {
			hist[ti].attempts = a->attempt;
			hist[ti].last = st;
		}
	}
	for (i = 0; i < wf->ntasks; i++)
		hist[i].tail = store_attempts_interrupted_tail(atts, natts,
		    wf->tasks[i].name, hist[i].attempts);
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
