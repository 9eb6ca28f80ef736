/*
 * Group commit: the state changes of one loop iteration (attempts ended,
 * attempts begun in the slots they freed, their processes) go into one
 * transaction, committed with one fsync in an ev_prepare watcher, before
 * the loop waits.  Nothing is acted on before it is durable: until the
 * commit a begun attempt's worker has no SPEC (it starts no task, and
 * dies when we do), and an ended attempt's report, spool removal, next
 * state and run end wait.  A commit that fails fails what it held, as
 * the failure of each write would have: begun attempts are not started,
 * ended ones fail for good.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>

#include "picoflow/log.h"
#include "engine_int.h"

static void
on_prepare(struct ev_loop *loop, ev_prepare *w, int revents)
{
	(void)loop;
	(void)revents;
	engine_batch_flush(w->data);
}

/*
 * What a flush did (a run ended, say) was done in the prepare phase,
 * after the callbacks a caller of ev_run(EVRUN_ONCE) looks behind: this
 * keeps that iteration's wait from blocking, so the caller sees it now.
 */
static void
on_idle(struct ev_loop *loop, ev_idle *w, int revents)
{
	(void)revents;
	ev_idle_stop(loop, w);
}

void
engine_batch_init(struct engine *eng)
{
	eng->begun_tail = &eng->begun;
	eng->settle_tail = &eng->settle;
	ev_prepare_init(&eng->batch_w, on_prepare);
	eng->batch_w.data = eng;
	ev_idle_init(&eng->batch_idle, on_idle);
}

/*
 * Active only while something waits: then it also keeps the loop going
 * round once more when the callback that ended the last attempt stopped
 * every other watcher.
 */
static void
batch_arm(struct engine *eng)
{
	if (!ev_is_active(&eng->batch_w))
		ev_prepare_start(eng->loop, &eng->batch_w);
}

/*
 * Opens the batch if it is not.  If it cannot be opened, each write is
 * its own transaction, durable when it returns, and the commit is a
 * no-op: the actions still wait for the flush.
 */
void
engine_batch_write(struct engine *eng)
{
	struct pf_err	 err;

	batch_arm(eng);
	if (store_batch_open(eng->store))
		return;
	if (store_batch_begin(eng->store, &err) == -1)
		log_debug("no group commit this time: %s", err.msg);
}

void
engine_batch_begun(struct attempt *a)
{
	struct engine	*eng = a->run->eng;

	batch_arm(eng);
	a->held = 1;
	a->bnext = NULL;
	*eng->begun_tail = a;
	eng->begun_tail = &a->bnext;
}

void
engine_batch_settle(struct attempt *a)
{
	struct engine	*eng = a->run->eng;

	batch_arm(eng);
	a->settling = 1;
	a->snext = NULL;
	*eng->settle_tail = a;
	eng->settle_tail = &a->snext;
}

/* Something waits for a commit: runs do not end meanwhile. */
int
engine_batch_busy(const struct engine *eng)
{
	return eng->settle != NULL || eng->begun != NULL ||
	    store_batch_open(eng->store);
}

/* Its begin row was rolled back: the worker never gets its SPEC. */
static void
begun_lost(struct attempt *a, const char *why)
{
	char	 msg[PF_ERR_MAX + 64];

	log_error("run %" PRId64 " task '%s': cannot record the attempt; "
	    "not starting it: %s", a->run->run_id,
	    a->run->wf->tasks[a->task].name, why);
	a->id = -1;
	a->held = 0;
	if (a->settling)
		return;
	snprintf(msg, sizeof(msg), "cannot start the task: %s", why);
	engine_attempt_error(a, msg);
	buf_reset(&a->wbuf);
	if (a->pid > 0 && !a->exited)
		(void)kill(-a->pid, SIGKILL);
}

/* Recorded: the SPEC goes out, the start is reported. */
static void
begun_start(struct attempt *a)
{
	struct engine	*eng = a->run->eng;

	a->held = 0;
	if (eng->hooks.task_started != NULL)
		eng->hooks.task_started(eng->hooks.arg, a->run->wf,
		    &a->run->wf->tasks[a->task], a->run->run_id, a->no);
	if (a->fd != -1 && a->wbuf.len > 0)
		engine_attempt_send(a);
}

/*
 * Output chunks stored in a batch that was lost: the attempts that had
 * some fail rather than go on with a hole in their output.
 */
static void
output_lost(struct engine *eng, const char *why)
{
	struct engine_run	*run;
	struct attempt		*a;
	char			 msg[PF_ERR_MAX + 48];
	size_t			 i;

	for (run = eng->runs; run != NULL; run = run->next)
		for (i = 0; i < run->wf->ntasks; i++) {
			a = run->tasks[i].cur;
			if (a == NULL || a->settling || !a->chunked ||
			    a->out_failed || a->id < 0)
				continue;
			a->out_failed = 1;
			a->truncated = 1;
			snprintf(msg, sizeof(msg), "cannot store the task's "
			    "output: %s", why);
			engine_attempt_error(a, msg);
			engine_attempt_stop(a);
		}
}

/*
 * Commits the batch, then does what waited for it; what that starts
 * (attempts in freed slots, dependents released) forms the next batch,
 * committed in turn, until nothing waits.
 */
void
engine_batch_flush(struct engine *eng)
{
	struct attempt	*b, *s, *next, *late, **late_tail;
	struct pf_err	 err;
	int		 ok;

	if (eng->in_flush)
		return;
	if (!engine_batch_busy(eng)) {
		ev_prepare_stop(eng->loop, &eng->batch_w);
		return;
	}
	eng->in_flush = 1;
	ev_idle_start(eng->loop, &eng->batch_idle);
	while (engine_batch_busy(eng)) {
		err.msg[0] = '\0';
		ok = store_batch_commit(eng->store, &err) == 0;
		if (!ok)
			log_error("cannot commit to the state database: %s",
			    err.msg);
		b = eng->begun;
		s = eng->settle;
		eng->begun = eng->settle = NULL;
		eng->begun_tail = &eng->begun;
		eng->settle_tail = &eng->settle;
		late = NULL;
		late_tail = &late;
		for (; b != NULL; b = next) {
			next = b->bnext;
			b->bnext = NULL;
			if (!ok)
				begun_lost(b, err.msg);
			else if (!b->settling) {
				*late_tail = b;
				late_tail = &b->bnext;
			}
			/* Ended already: engine_attempt_settle reports. */
		}
		if (!ok)
			output_lost(eng, err.msg);
		for (; s != NULL; s = next) {
			next = s->snext;
			engine_attempt_settle(s, ok, err.msg);
		}
		for (b = late; b != NULL; b = next) {
			next = b->bnext;
			b->bnext = NULL;
			begun_start(b);
		}
		engine_pump(eng);
	}
	ev_prepare_stop(eng->loop, &eng->batch_w);
	eng->in_flush = 0;
}

/*
 * The engine is torn down: what the batch holds is committed if it can
 * be, and the attempts that waited are let go (their runs free them).
 */
void
engine_batch_drop(struct engine *eng)
{
	struct attempt	*a, *next;
	struct pf_err	 err;

	if (store_batch_commit(eng->store, &err) == -1)
		log_warnx("cannot commit to the state database: %s", err.msg);
	for (a = eng->begun; a != NULL; a = next) {
		next = a->bnext;
		a->bnext = NULL;
		a->held = 0;
	}
	for (a = eng->settle; a != NULL; a = next) {
		next = a->snext;
		a->run->tasks[a->task].cur = NULL;
		engine_attempt_free(a);
	}
	eng->begun = eng->settle = NULL;
	eng->begun_tail = &eng->begun;
	eng->settle_tail = &eng->settle;
	ev_prepare_stop(eng->loop, &eng->batch_w);
	ev_idle_stop(eng->loop, &eng->batch_idle);
}
