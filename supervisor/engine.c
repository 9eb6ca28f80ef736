/*
 * The DAG engine (engine.h): its options and their defaults,
 * engine_new and engine_free, and the public queries.  The engine's other
 * files, and what each holds, are listed in engine_int.h; the task state
 * table is in engine_task.c, and every state change goes through
 * engine_task_event().
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "picoflow/alloc.h"
#include "picoflow/clock.h"
#include "picoflow/log.h"
#include "engine_int.h"
#include "limit.h"
#include "nsprobe.h"
#include "spawn.h"

void
engine_opts_default(struct engine_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->grace_ms = ENGINE_DEFAULT_GRACE_MS;
	o->output_mem = ENGINE_DEFAULT_OUTPUT_MEM;
	o->output_budget = ENGINE_DEFAULT_OUTPUT_BUDGET;
	o->backoff_ms = ENGINE_DEFAULT_BACKOFF_MS;
	o->backoff_max_ms = ENGINE_DEFAULT_BACKOFF_MAX_MS;
	o->trigger = "manual";
	limit_default(&o->limits);
	o->spawn_backoff_ms = ENGINE_DEFAULT_SPAWN_BACKOFF_MS;
	o->spawn_backoff_max_ms = ENGINE_DEFAULT_SPAWN_BACKOFF_MAX_MS;
	o->spawn_giveup_ms = ENGINE_DEFAULT_SPAWN_GIVEUP_MS;
	o->attach_window_ms = ENGINE_DEFAULT_ATTACH_WINDOW_MS;
	o->max_interruptions = ENGINE_DEFAULT_MAX_INTERRUPTIONS;
}

void
engine_drain(struct engine *eng)
{
	eng->draining = 1;
}

unsigned
engine_running(const struct engine *eng)
{
	return eng->running;
}

long
engine_run_running(const struct engine *eng, int64_t run_id)
{
	const struct engine_run	*run;

	for (run = eng->runs; run != NULL; run = run->next)
		if (run->run_id == run_id)
			return (long)run->running;
	return -1;
}

int
engine_idle(const struct engine *eng)
{
	return eng->runs == NULL;
}

struct engine *
engine_new(struct ev_loop *loop, struct pf_store *store,
    const struct engine_opts *opts, const struct engine_hooks *hooks,
    struct pf_err *err)
{
	struct engine	*eng;
	struct cg_opts	 co;

	if (opts->worker_path == NULL) {
		pf_err_set(err, "no pf-worker path");
		return NULL;
	}
	if ((eng = pf_calloc(1, sizeof(*eng))) == NULL) {
		pf_err_set(err, "out of memory");
		return NULL;
	}
	eng->loop = loop;
	eng->store = store;
	eng->opts = *opts;
	if (spawn_net_worker(opts->worker_path, eng->net_worker,
	    sizeof(eng->net_worker)) == -1) {
		pf_err_set(err, "pf-worker path too long");
		pf_free(eng);
		return NULL;
	}
	if (eng->opts.backoff_max_ms < eng->opts.backoff_ms)
		eng->opts.backoff_max_ms = eng->opts.backoff_ms;
	if (eng->opts.owner == NULL)
		eng->opts.owner = STORE_OWNER_RUN;
	if (hooks != NULL)
		eng->hooks = *hooks;
	ev_timer_init(&eng->pending_timer, engine_on_pending_timer, 0., 0.);
	eng->pending_timer.data = eng;
	ev_timer_init(&eng->trash_timer, engine_on_trash_timer, 0., 0.);
	eng->trash_timer.data = eng;
	ev_idle_init(&eng->cg_idle, engine_on_cg_idle);
	eng->cg_idle.data = eng;
	if (eng->opts.spawn_backoff_ms == 0)
		eng->opts.spawn_backoff_ms = 1;
	if (eng->opts.spawn_backoff_max_ms < eng->opts.spawn_backoff_ms)
		eng->opts.spawn_backoff_max_ms = eng->opts.spawn_backoff_ms;
	ev_timer_init(&eng->spawn_timer, engine_on_spawn_timer, 0., 0.);
	eng->spawn_timer.data = eng;
	if (eng->opts.output_mem < FRAME_PAYLOAD_MAX)
		eng->opts.output_mem = FRAME_PAYLOAD_MAX;
	ev_timer_init(&eng->out_timer, engine_on_out_timer, 0., 0.);
	eng->out_timer.data = eng;
	cg_opts_default(&co);
	co.force_none = opts->no_cgroups;
	co.defer_sweep = 1;
	co.restarted = opts->restarted;
	co.workers[0] = opts->worker_path;
	co.workers[1] = eng->net_worker[0] != '\0' ? eng->net_worker : NULL;
	if (cg_open(&co, &eng->cgs, err) == -1) {
		pf_free(eng);
		return NULL;
	}
	if (cg_mode(eng->cgs) == CG_MODE_NONE)
		log_warnx("%s", cg_describe(eng->cgs));
	else if (strcmp(eng->opts.owner, STORE_OWNER_SUPERVISOR) == 0)
		log_info("%s", cg_describe(eng->cgs));
	else
		log_debug("%s", cg_describe(eng->cgs));
	if (opts->no_namespaces)
		(void)snprintf(eng->ns_line, sizeof(eng->ns_line),
		    "namespaces: NONE (--no-namespaces): tasks running as the "
		    "same user can see and signal each other and their "
		    "workers; /tmp and /dev/shm are shared");
	else
		eng->ns = nsprobe_run(eng->ns_line, sizeof(eng->ns_line));
	if (!eng->ns)
		log_warnx("%s", eng->ns_line);
	else if (strcmp(eng->opts.owner, STORE_OWNER_SUPERVISOR) == 0)
		log_info("%s", eng->ns_line);
	else
		log_debug("%s", eng->ns_line);
	engine_batch_init(eng);
	eng->rng = (uint64_t)getpid() << 32 ^ (uint64_t)clock_wall_ms() ^
	    0x9e3779b97f4a7c15ULL;
	return eng;
}

void
engine_free(struct engine *eng)
{
	if (eng == NULL)
		return;
	engine_batch_drop(eng);
	while (eng->runs != NULL) {
		struct engine_run *run = eng->runs;

		eng->runs = run->next;
		engine_run_free(run);
	}
	ev_timer_stop(eng->loop, &eng->pending_timer);
	while (eng->pending != NULL) {
		struct pending_end *p = eng->pending;

		eng->pending = p->next;
		pf_free(p->error);
		pf_free(p);
	}
	ev_timer_stop(eng->loop, &eng->spawn_timer);
	ev_timer_stop(eng->loop, &eng->out_timer);
	engine_cg_flush(eng);
	/* Last chance for busy cgroups, bounded by CG_REMOVE_TRIES. */
	ev_timer_stop(eng->loop, &eng->trash_timer);
	while (eng->trash != NULL) {
		struct cg_trash	*t = eng->trash;
		struct timespec	 ts = { 0, 20 * 1000000L };

		while (cg_remove(t->cg) == 1)
			nanosleep(&ts, NULL);
		eng->trash = t->next;
		cg_free(t->cg);
		pf_free(t);
	}
	cg_close(eng->cgs);
	pf_free(eng);
}

const char *
engine_isolation(const struct engine *eng)
{
	return eng->cgs != NULL ? cg_describe(eng->cgs) : "isolation: none";
}

const char *
engine_namespaces(const struct engine *eng)
{
	return eng->ns_line;
}

const char *
engine_isolation_mode(const struct engine *eng)
{
	return cg_mode_name(eng->cgs != NULL ? cg_mode(eng->cgs) :
	    CG_MODE_NONE);
}
