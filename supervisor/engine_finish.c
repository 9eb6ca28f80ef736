/*
 * The end of an attempt: what happened (attempt_outcome, from the
 * worker's RESULT, its exit status and the engine's own view), its
 * record in the store's open batch (engine_attempt_finish), then, once
 * the batch is committed (nothing is acted on before it is recorded),
 * the report to the hooks and a retry after a backoff delay or the
 * task's final state (engine_attempt_settle).
 */
#include <sys/wait.h>

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "picoflow/alloc.h"
#include "picoflow/clock.h"
#include "picoflow/log.h"
#include "engine_int.h"

/*
 * Retry delay before attempt `next` (2, 3, ...): base doubling, capped.
 * Computed by comparison, so it never overflows however many retries.
 */
static unsigned
backoff_delay(const struct engine *eng, unsigned next)
{
	uint64_t	 d = eng->opts.backoff_ms;
	unsigned	 i;

	for (i = 2; i < next && d < eng->opts.backoff_max_ms; i++)
		d *= 2;
	if (d > eng->opts.backoff_max_ms)
		d = eng->opts.backoff_max_ms;
	return (unsigned)d;
}

static unsigned
jitter(struct engine *eng, unsigned ms)
{
	uint64_t	 x;

	if (!eng->opts.jitter || ms < 4)
		return ms;
	/* xorshift64: good enough to spread retries, not for secrets. */
	x = eng->rng;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	eng->rng = x;
	return ms - ms / 4 + (unsigned)(x % (ms / 2 + 1));
}
static void
describe_exit(const struct attempt *a, char *buf, size_t len)
{
	if (WIFEXITED(a->wstatus))
		snprintf(buf, len, "pf-worker exited with status %d without "
		    "a result", WEXITSTATUS(a->wstatus));
	else if (WIFSIGNALED(a->wstatus))
		snprintf(buf, len, "pf-worker was killed by signal %d (%s) "
		    "without a result", WTERMSIG(a->wstatus),
		    strsignal(WTERMSIG(a->wstatus)));
	else
		snprintf(buf, len, "pf-worker ended without a result");
}

/* Fills the store row and the report from what we know of the attempt. */
static void
attempt_outcome(struct attempt *a, struct store_attempt_end *e,
    char *reason, size_t rlen)
{
	const struct proto_result *r = &a->result;

	store_attempt_end_init(e);
	/* The worker kept the timeout itself while no supervisor did. */
	if (a->have_result && r->timed_out && a->stop == A_STOP_NONE)
		a->stop = A_STOP_TIMEOUT;
	e->reason = NULL;
	reason[0] = '\0';
	if (a->have_result) {
		if (r->exit_code >= 0) {
			e->exit_code = r->exit_code;
			e->has_exit_code = 1;
		}
		e->signal = r->signal;
		e->max_rss_kb = (int64_t)r->maxrss_kib;
		e->user_cpu_us = (int64_t)r->utime_us;
		e->sys_cpu_us = (int64_t)r->stime_us;
		e->http_status = r->http_status;
	}
	if (a->have_result && r->status == PROTO_ST_OK && a->error == NULL) {
		/* It finished well, even if a stop was on its way. */
		e->status = PF_STATUS_SUCCESS;
	} else if (a->interrupted && !a->have_result) {
		e->status = PF_STATUS_INTERRUPTED;
		snprintf(reason, rlen, "interrupted: its worker did not answer "
		    "after the supervisor restarted (stopped or stuck) and "
		    "was killed; not counted against retry");
	} else if (a->stop == A_STOP_CANCEL) {
		e->status = PF_STATUS_CANCELLED;
		snprintf(reason, rlen, "cancelled");
	} else if (a->stop == A_STOP_TIMEOUT) {
		e->status = PF_STATUS_TIMEOUT;
		snprintf(reason, rlen, "timed out after %u s",
		    a->run->wf->tasks[a->task].timeout);
	} else if (a->error != NULL) {
		e->status = PF_STATUS_FAILED;
		snprintf(reason, rlen, "%s", a->error);
	} else if (!a->have_result) {
		e->status = PF_STATUS_FAILED;
		describe_exit(a, reason, rlen);
	} else {
		switch (r->status) {
		case PROTO_ST_OK:
			e->status = PF_STATUS_SUCCESS;
			break;
		case PROTO_ST_FAILED:
			e->status = PF_STATUS_FAILED;
			/* No exit code (http, ssh): the worker's reason. */
			if (r->exit_code < 0 && r->error != NULL)
				snprintf(reason, rlen, "%s", r->error);
			else
				snprintf(reason, rlen, "exit code %d",
				    r->exit_code);
			break;
		case PROTO_ST_SIGNALED:
			e->status = PF_STATUS_FAILED;
			snprintf(reason, rlen, "killed by signal %d (%s)",
			    r->signal, strsignal(r->signal));
			break;
		default:
			e->status = PF_STATUS_FAILED;
			snprintf(reason, rlen, "%s%s%s",
			    proto_status_name(r->status),
			    r->error ? ": " : "", r->error ? r->error : "");
			break;
		}
	}
	if (reason[0] != '\0')
		e->reason = reason;
	e->ended_ms = clock_wall_ms();
	e->duration_ms = (int64_t)((ev_now(a->run->eng->loop) - a->started) *
	    1000.0);
	if (e->duration_ms < 0)
		e->duration_ms = 0;
	e->bytes_captured = (int64_t)a->captured;
	e->bytes_dropped = (int64_t)((a->dropped > (a->have_result ?
	    r->dropped : 0) ? a->dropped : r->dropped) + a->lost);
	e->truncated = a->truncated || (a->have_result && r->truncated);
	e->stdout_data = a->out[0].data;
	e->stdout_len = a->out[0].len;
	e->stderr_data = a->out[1].data;
	e->stderr_len = a->out[1].len;
	e->chunked = a->chunked;
	if (a->over_budget > 0) {
		size_t	 k = strlen(reason);

		/* Said where people look: the reason, after the cause. */
		snprintf(reason + k, rlen - k, "%soutput truncated: the "
		    "supervisor's output budget (--output-budget %" PRIu64
		    " bytes for the runs in flight) was reached; %" PRIu64
		    " bytes dropped", k > 0 ? "; " : "",
		    a->run->eng->opts.output_budget, a->over_budget);
		e->reason = reason;
	}
}
/*
 * The store refused the attempt's end: record at least that it failed
 * and why, without the output that could not be kept, so that no row is
 * left 'running' in a finished run.  If even that fails, the restart's
 * recovery settles the row.
 */
static void
attempt_end_failed(struct attempt *a, const struct store_attempt_end *e,
    const char *why)
{
	struct store_attempt_end f;
	struct pf_err		 err;
	char			 reason[PF_ERR_MAX + 64];

	snprintf(reason, sizeof(reason), "the state database could not "
	    "record the attempt: %s", why);
	store_attempt_end_init(&f);
	f.status = PF_STATUS_FAILED;
	f.reason = reason;
	f.ended_ms = e->ended_ms;
	f.duration_ms = e->duration_ms;
	f.has_exit_code = e->has_exit_code;
	f.exit_code = e->exit_code;
	f.signal = e->signal;
	f.bytes_captured = (int64_t)(a->captured - a->out[0].len -
	    a->out[1].len);
	f.bytes_dropped = e->bytes_dropped + (int64_t)(a->out[0].len +
	    a->out[1].len);
	f.truncated = 1;
	f.chunked = a->chunked;	/* no data: nothing appended */
	if (store_attempt_end(a->run->eng->store, a->id, &f, &err) == -1)
		log_error("run %" PRId64 " task '%s': cannot record its "
		    "failure either: %s", a->run->run_id,
		    a->run->wf->tasks[a->task].name, err.msg);
}

/*
 * The attempt ended (its worker exited, its stream is done): its end
 * goes into the open batch, its slot is free for the next attempt, and
 * the rest (engine_attempt_settle) waits for the commit.
 */
void
engine_attempt_finish(struct attempt *a)
{
	struct engine_run	*run = a->run;
	struct engine		*eng = run->eng;
	struct pf_err		 err;
	char			 reason[PF_ERR_MAX + 64];

	attempt_outcome(a, &a->end, reason, sizeof(reason));
	engine_attempt_cg_end(a, &a->end, reason, sizeof(reason));
	engine_batch_write(eng);
	if (a->id < 0 || store_attempt_end(eng->store, a->id, &a->end,
	    &err) == -1) {
		if (a->id >= 0) {
			log_error("run %" PRId64 " task '%s': cannot record "
			    "the attempt: %s", run->run_id,
			    run->wf->tasks[a->task].name, err.msg);
			attempt_end_failed(a, &a->end, err.msg);
		}
		a->end_failed = 1;
	}
	/* Kept for the report; without memory, it goes without a reason. */
	a->end_reason = a->end.reason != NULL ? pf_strdup(a->end.reason) :
	    NULL;
	a->end.reason = a->end_reason;
	a->end_stop = a->stop;
	ev_timer_stop(eng->loop, &a->timeout);
	ev_timer_stop(eng->loop, &a->drain);
	run->running--;
	run->wfg->running--;
	eng->running--;
	engine_batch_settle(a);
	engine_pump(eng);
}

/*
 * After the commit (committed 0: it failed, why says why): nothing is
 * acted on before it is recorded, so an outcome that could not be stored
 * fails the task for good (no retry, dependents skipped), and a restart
 * never finds work done that the database denies.
 */
void
engine_attempt_settle(struct attempt *a, int committed, const char *why)
{
	struct engine_run	*run = a->run;
	struct engine		*eng = run->eng;
	const struct pf_task	*task = &run->wf->tasks[a->task];
	struct task_rt		*t = &run->tasks[a->task];
	struct store_attempt_end *e = &a->end;
	struct engine_task_report rep;
	struct tev_arg		 arg;
	enum tevent		 ev;
	unsigned		 delay = 0;
	int			 store_failed = a->end_failed;

	if (!committed && !store_failed) {
		if (a->id >= 0) {
			log_error("run %" PRId64 " task '%s': cannot record "
			    "the attempt: %s", run->run_id, task->name, why);
			attempt_end_failed(a, e, why);
		}
		store_failed = 1;
	}
	if (store_failed) {
		e->status = PF_STATUS_FAILED;
		e->reason = "the state database could not record the attempt";
	}
	if (a->held) {
		/* Begun and ended in one batch: its start first. */
		a->held = 0;
		if (committed && eng->hooks.task_started != NULL)
			eng->hooks.task_started(eng->hooks.arg, run->wf, task,
			    run->run_id, a->no);
	}

	/* Recorded (or given up on): the worker's spool is not needed. */
	engine_attach_forget(eng, a->id);

	if (e->status == PF_STATUS_INTERRUPTED) {
		t->interrupted++;
		t->tail_int++;
	} else
		t->tail_int = 0;
	if (store_failed)
		ev = E_FAIL;
	else if (e->status == PF_STATUS_SUCCESS)
		ev = E_OK;
	else if (eng->opts.max_interruptions > 0 &&
	    t->tail_int >= eng->opts.max_interruptions)
		ev = E_FAIL;
	else if (a->end_stop == A_STOP_CANCEL)
		ev = E_CANCEL;
	else if (t->attempts - t->interrupted <= task->retry &&
	    run->state != R_CANCELLING)
		ev = E_RETRY;
	else if (a->end_stop == A_STOP_TIMEOUT)
		ev = E_TIMEOUT;
	else
		ev = E_FAIL;

	memset(&rep, 0, sizeof(rep));
	rep.wf = run->wf;
	rep.task = task;
	rep.run_id = run->run_id;
	rep.attempt = a->no;
	rep.status = e->status;
	rep.duration_ms = e->duration_ms;
	rep.exit_code = e->exit_code;
	rep.has_exit_code = e->has_exit_code;
	rep.signal = e->signal;
	rep.reason = e->reason;
	rep.start_latency_us = a->start_latency_us;
	if (ev == E_RETRY) {
		delay = jitter(eng, backoff_delay(eng, a->no + 1));
		rep.will_retry = 1;
		rep.retry_in_ms = delay;
	}
	if (eng->hooks.task_ended != NULL)
		eng->hooks.task_ended(eng->hooks.arg, &rep);

	t->cur = NULL;
	engine_attempt_free(a);

	memset(&arg, 0, sizeof(arg));
	arg.delay_ms = delay;
	/* The flush pumps once every settled attempt moved. */
	(void)engine_task_event(run, t->idx, ev, &arg);
}
