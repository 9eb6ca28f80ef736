/*
 * Runs: their state table (engine_run_event: running, failing,
 * cancelling, ended, each change with its action), their in-memory
 * state (engine_run_new, engine_run_free), the start of a run, the slots
 * a run may use (max_parallel, the global max_tasks, its workflow's
 * share across runs), engine_pump, which starts what can start and ends
 * runs that are complete, a run's end (kept and retried when the store
 * refuses it), and cancellation.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "picoflow/alloc.h"
#include "picoflow/clock.h"
#include "picoflow/invariant.h"
#include "picoflow/log.h"
#include "engine_int.h"

/* How often run ends the store refused are tried again. */
#define PENDING_RETRY_S		5.0

static struct engine_wfg *
wfg_ref(struct engine *eng, const char *name)
{
	struct engine_wfg	*g;

	for (g = eng->wfgs; g != NULL; g = g->next)
		if (strcmp(g->name, name) == 0) {
			g->refs++;
			return g;
		}
	if ((g = pf_calloc(1, sizeof(*g))) == NULL ||
	    (g->name = pf_strdup(name)) == NULL) {
		pf_free(g);
		return NULL;
	}
	g->refs = 1;
	g->next = eng->wfgs;
	eng->wfgs = g;
	return g;
}

static void
wfg_unref(struct engine *eng, struct engine_wfg *g)
{
	struct engine_wfg	**pp;

	if (g == NULL || --g->refs > 0)
		return;
	for (pp = &eng->wfgs; *pp != NULL; pp = &(*pp)->next)
		if (*pp == g) {
			*pp = g->next;
			break;
		}
	pf_free(g->name);
	pf_free(g);
}

/* The run's share of the global slots: never all of them. */
static unsigned
wf_cap(const struct engine *eng, const struct pf_workflow *wf)
{
	unsigned	 cap = wf->max_tasks_running ? wf->max_tasks_running :
	    eng->opts.wf_max_tasks;

	/* No cap at all (picoflow run: one workflow) stays none. */
	if (cap != 0 && eng->opts.max_tasks > 1 && cap >= eng->opts.max_tasks)
		cap = eng->opts.max_tasks - 1;
	return cap;
}

void
engine_set_wf_max_tasks(struct engine *eng, unsigned n)
{
	eng->opts.wf_max_tasks = n;
}

static int
run_has_slot(const struct engine_run *run)
{
	const struct engine	*eng = run->eng;

	/* A worker that cannot start is a slot nobody has (spawn_hold). */
	return !eng->spawn_held && run->running < run->wf->max_parallel &&
	    (run->wf_cap == 0 || run->wfg->running < run->wf_cap) &&
	    (eng->opts.max_tasks == 0 || eng->running < eng->opts.max_tasks);
}

void
engine_run_free(struct engine_run *run)
{
	size_t	 i;

	if (run->tasks != NULL)
		for (i = 0; i < run->wf->ntasks; i++) {
			struct task_rt *t = &run->tasks[i];

			ev_timer_stop(run->eng->loop, &t->backoff);
			if (t->cur != NULL) {
				/* Only when the engine is torn down early. */
				engine_attempt_sigkill(t->cur);
				engine_attempt_free(t->cur);
			}
		}
	for (i = 0; i < run->nadopts; i++)
		if (run->adopts[i].fd != -1)
			close(run->adopts[i].fd);
	pf_free(run->adopts);
	run->eng->out_disk -= run->out_bytes;
	dag_ready_free(&run->ready);
	pf_free(run->tasks);
	pf_free(run->rq);
	wfg_unref(run->eng, run->wfg);
	pf_free(run);
}

/* Keeps a run end the store refused, to try again later. */
static void
pending_add(struct engine *eng, int64_t run_id, enum pf_status status,
    int64_t ended_ms, const char *error)
{
	struct pending_end	*p;

	if ((p = pf_calloc(1, sizeof(*p))) == NULL) {
		log_warnx("run %" PRId64 ": out of memory; its end stays "
		    "unrecorded until the next restart", run_id);
		return;
	}
	p->run_id = run_id;
	p->ended_ms = ended_ms;
	p->status = status;
	p->error = error != NULL ? pf_strdup(error) : NULL;
	p->next = eng->pending;
	eng->pending = p;
	if (!ev_is_active(&eng->pending_timer)) {
		ev_timer_set(&eng->pending_timer, PENDING_RETRY_S,
		    PENDING_RETRY_S);
		ev_timer_start(eng->loop, &eng->pending_timer);
	}
}

size_t
engine_flush_pending(struct engine *eng)
{
	struct pending_end	**pp, *p;
	struct pf_err		 err;
	size_t			 left = 0;

	/* What this loop iteration wrote first (a restart execs next). */
	engine_batch_flush(eng);
	for (pp = &eng->pending; (p = *pp) != NULL; ) {
		if (store_run_end(eng->store, p->run_id, p->status,
		    p->ended_ms, p->error, &err) == -1 &&
		    strstr(err.msg, "already ended") == NULL) {
			pp = &p->next;
			left++;
			continue;
		}
		log_info("run %" PRId64 ": its end (%s) is recorded now",
		    p->run_id, pf_status_name(p->status));
		*pp = p->next;
		pf_free(p->error);
		pf_free(p);
	}
	if (left == 0)
		ev_timer_stop(eng->loop, &eng->pending_timer);
	return left;
}

void
engine_on_pending_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	(void)engine_flush_pending(w->data);
}

/* The run is complete: its end recorded (or kept to retry), it is freed. */
static void
run_end(struct engine_run *run, enum rstate from, const char *why)
{
	struct engine	*eng = run->eng;
	struct engine_run **pp;
	const struct pf_workflow *wf;
	struct pf_err	 err;
	enum pf_status	 status;
	const char	*error;
	int64_t		 ended = clock_wall_ms(), run_id;
	void		*cookie;

	(void)why;
	status = from == R_CANCELLING ? PF_STATUS_CANCELLED :
	    from == R_FAILING ? PF_STATUS_FAILED : PF_STATUS_SUCCESS;
	error = from == R_CANCELLING ? "cancelled" : from == R_FAILING ?
	    "one or more tasks failed" : NULL;
	if (store_run_end(eng->store, run->run_id, status, ended, error,
	    &err) == -1) {
		log_warnx("run %" PRId64 ": cannot record its end: %s; will "
		    "retry", run->run_id, err.msg);
		pending_add(eng, run->run_id, status, ended, error);
	}
	for (pp = &eng->runs; *pp != NULL; pp = &(*pp)->next)
		if (*pp == run) {
			*pp = run->next;
			break;
		}
	/* The hook may release the workflow: nothing touches it after. */
	wf = run->wf;
	run_id = run->run_id;
	cookie = run->cookie;
	engine_run_free(run);
	if (eng->hooks.run_ended != NULL)
		eng->hooks.run_ended(eng->hooks.arg, wf, run_id, status, cookie);
}

typedef void	 run_action(struct engine_run *, enum rstate from,
		    const char *why);

static run_action run_cancel;

struct rtrans {
	unsigned char	 ok;	/* 0: an impossible pair */
	unsigned char	 next;
	run_action	*act;
};

/* (state, event) -> (next state, action); a cell left out: impossible. */
#define TO(s, a)	{ 1, (s), (a) }
static const struct rtrans run_table[R_NSTATES][RE_NEVENTS] = {
	[R_RUNNING] = {
		[RE_TASK_FAILED] =	TO(R_FAILING, NULL),
		[RE_CANCEL] =		TO(R_CANCELLING, run_cancel),
		[RE_COMPLETE] =		TO(R_ENDED, run_end),
	},
	[R_FAILING] = {
		[RE_TASK_FAILED] =	TO(R_FAILING, NULL),
		[RE_CANCEL] =		TO(R_CANCELLING, run_cancel),
		[RE_COMPLETE] =		TO(R_ENDED, run_end),
	},
	[R_CANCELLING] = {
		/* Cancelled wins: a failure after it changes nothing. */
		[RE_TASK_FAILED] =	TO(R_CANCELLING, NULL),
		[RE_COMPLETE] =		TO(R_ENDED, run_end),
	},
	/* R_ENDED: the run is gone. */
};
#undef TO

static const char *const rstate_names[R_NSTATES] = {
	"running", "failing", "cancelling", "ended",
};

int
engine_run_next(enum rstate s, enum revent ev, int *has_action)
{
	const struct rtrans *c;

	if ((unsigned)s >= R_NSTATES || (unsigned)ev >= RE_NEVENTS)
		return -1;
	c = &run_table[s][ev];
	if (has_action != NULL)
		*has_action = c->act != NULL;
	return c->ok ? (int)c->next : -1;
}

/*
 * The one place a run changes state, then the change's action (after
 * RE_COMPLETE the run is freed).  -1 for an impossible pair: an engine
 * bug, which aborts a checking build.
 */
int
engine_run_event(struct engine_run *run, enum revent ev, const char *why)
{
	const struct rtrans	*c = &run_table[run->state][ev];
	enum rstate		 from = run->state;

	if (PF_NEVER(!c->ok)) {
		log_warnx("engine: run %" PRId64 ": event %d in state %s "
		    "ignored", run->run_id, (int)ev, rstate_names[from]);
		return -1;
	}
	run->state = c->next;
	if (c->act != NULL)
		c->act(run, from, why);
	return 0;
}

/*
 * Starts what can start and ends runs that are complete.  Re-entrant
 * calls (a dispatch that fails at once finishes its attempt, which pumps)
 * only ask the outer call to go round again, so the stack stays flat.
 */
void
engine_pump(struct engine *eng)
{
	struct engine_run	*run, *next;
	size_t			 i;

	if (eng->held)
		return;
	if (eng->in_pump) {
		eng->pump_again = 1;
		return;
	}
	eng->in_pump = 1;
	do {
		eng->pump_again = 0;
		for (run = eng->runs; run != NULL; run = run->next) {
			while (run->rq_len > 0 &&
			    run->state != R_CANCELLING &&
			    !eng->draining && run_has_slot(run)) {
				i = run->rq[run->rq_head];
				run->rq_head = (run->rq_head + 1) %
				    run->wf->ntasks;
				run->rq_len--;
				engine_dispatch(run, i);
			}
		}
		for (run = eng->runs; run != NULL; run = next) {
			next = run->next;
			/* An end waits for what is being committed. */
			if (engine_batch_busy(eng))
				break;
			if (run->nfinal == run->wf->ntasks &&
			    run->running == 0)
				(void)engine_run_event(run, RE_COMPLETE,
				    NULL);
		}
	} while (eng->pump_again);
	eng->in_pump = 0;
}
/* A run's in-memory state, not yet recorded or linked. */
struct engine_run *
engine_run_new(struct engine *eng, const struct pf_workflow *wf,
    struct pf_err *err)
{
	struct engine_run	*run;
	size_t			 i;

	/* Every model maker builds the graph (workflow_set_dag). */
	if (PF_NEVER(wf->dag == NULL)) {
		pf_err_set(err, "workflow '%s' has no dependency graph",
		    wf->name);
		return NULL;
	}
	if ((run = pf_calloc(1, sizeof(*run))) == NULL) {
		pf_err_set(err, "out of memory");
		return NULL;
	}
	run->eng = eng;
	run->wf = wf;
	if ((run->wfg = wfg_ref(eng, wf->name)) == NULL) {
		pf_err_set(err, "out of memory");
		pf_free(run);
		return NULL;
	}
	run->wf_cap = wf_cap(eng, wf);
	run->tasks = pf_calloc(wf->ntasks, sizeof(*run->tasks));
	run->rq = pf_calloc(wf->ntasks, sizeof(*run->rq));
	if (dag_ready_init(&run->ready, wf->dag) == -1 ||
	    run->tasks == NULL || run->rq == NULL) {
		pf_err_set(err, "out of memory");
		goto fail;
	}
	for (i = 0; i < wf->ntasks; i++) {
		run->tasks[i].run = run;
		run->tasks[i].idx = i;
		ev_timer_init(&run->tasks[i].backoff, engine_on_backoff, 0.,
		    0.);
		run->tasks[i].backoff.data = &run->tasks[i];
	}
	return run;
fail:
	engine_run_free(run);
	return NULL;
}

int
engine_start_ex(struct engine *eng, const struct pf_workflow *wf,
    const struct engine_start_opts *so, int64_t *run_id_out, int *duplicate,
    struct pf_err *err)
{
	struct engine_run	*run;
	struct store_run_start	 rs;
	int64_t			 wfid, id;
	int			 dup = 0;

	if (duplicate != NULL)
		*duplicate = 0;
	/* The run's row is a transaction of its own, durable on return. */
	if (store_batch_open(eng->store) && !eng->in_flush)
		engine_batch_flush(eng);
	if ((run = engine_run_new(eng, wf, err)) == NULL)
		return -1;
	memset(&rs, 0, sizeof(rs));
	rs.trigger = so != NULL && so->trigger != NULL ? so->trigger :
	    eng->opts.trigger;
	rs.started_ms = clock_wall_ms();
	rs.scheduled_ms = so != NULL ? so->scheduled_ms : -1;
	rs.owner = eng->opts.owner;
	if (store_workflow_upsert(eng->store, wf->name, wf->file,
	    wf->schedule, wf->description, &wfid, err) == -1)
		goto fail;
	rs.workflow_id = wfid;
	if (store_run_start(eng->store, &rs, &id, &dup, err) == -1)
		goto fail;
	if (dup) {
		if (duplicate != NULL)
			*duplicate = 1;
		if (run_id_out != NULL)
			*run_id_out = id;
		engine_run_free(run);
		return 0;
	}
	run->run_id = id;
	run->cookie = so != NULL ? so->cookie : NULL;
	if (run_id_out != NULL)
		*run_id_out = run->run_id;
	run->next = eng->runs;
	eng->runs = run;
	engine_collect_ready(run);
	engine_pump(eng);
	return 0;
fail:
	engine_run_free(run);
	return -1;
}

int
engine_start(struct engine *eng, const struct pf_workflow *wf,
    int64_t *run_id_out, struct pf_err *err)
{
	return engine_start_ex(eng, wf, NULL, run_id_out, NULL, err);
}

/*
 * Cancelled: nothing new starts, running attempts are stopped (their
 * ends settle their tasks), the others are cancelled now.
 */
static void
run_cancel(struct engine_run *run, enum rstate from, const char *why)
{
	struct tev_arg		 arg;
	size_t			 i;

	(void)from;
	log_info("run %" PRId64 " of '%s': cancelling (%s)", run->run_id,
	    log_q(run->wf->name), why);
	run->rq_len = 0;
	memset(&arg, 0, sizeof(arg));
	arg.why = why;
	for (i = 0; i < run->wf->ntasks; i++) {
		struct task_rt *t = &run->tasks[i];

		switch (t->state) {
		case T_RUNNING:
			t->cur->stop = A_STOP_CANCEL;
			engine_attempt_stop(t->cur);
			break;
		case T_WAITING:
		case T_READY:
		case T_BACKOFF:
			/* Recorded by the table's action (engine_task.c). */
			(void)engine_task_event(run, i, E_CANCEL, &arg);
			break;
		default:
			break;
		}
	}
}

void
engine_cancel_all(struct engine *eng, const char *why)
{
	struct engine_run	*run;

	for (run = eng->runs; run != NULL; run = run->next)
		if (run->state != R_CANCELLING)
			(void)engine_run_event(run, RE_CANCEL, why);
	engine_pump(eng);
}

int
engine_cancel_run(struct engine *eng, int64_t run_id, const char *why)
{
	struct engine_run	*run;

	for (run = eng->runs; run != NULL; run = run->next)
		if (run->run_id == run_id)
			break;
	if (run == NULL || run->state == R_CANCELLING)
		return -1;
	(void)engine_run_event(run, RE_CANCEL, why);
	engine_pump(eng);
	return 0;
}

void
engine_hold(struct engine *eng, int on)
{
	eng->held = on;
	if (!on)
		engine_pump(eng);
}
