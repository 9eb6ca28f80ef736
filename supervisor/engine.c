/*
 * The DAG engine.  See engine.h for the task state table; the transitions
 * are in task_transitions[] below, and every state change goes through
 * task_event().
 */
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "picoflow/alloc.h"
#include "picoflow/buf.h"
#include "picoflow/dag.h"
#include "picoflow/frame.h"
#include "picoflow/log.h"
#include "picoflow/proto.h"
#include "cgroup.h"
#include "engine.h"
#include "nsprobe.h"
#include "procid.h"
#include "spawn.h"

/* A worker that stops talking after its process exited gets this long. */
#define DRAIN_AFTER_EXIT_S	1.0
/* After SIGKILL of a worker, how long until we stop waiting for it. */
#define KILL_MARGIN_S		2.0
/* How often run ends the store refused are tried again. */
#define PENDING_RETRY_S		5.0
/* How often busy attempt cgroups are tried again for removal. */
#define CG_RETRY_S		0.05
/*
 * A shortage of workers that starts within this long of the last one
 * reported is logged at debug level and counted in the next report, so
 * a host that hovers at its limit gets a line a minute, not two a task.
 */
#define SPAWN_QUIET_S		60.0
/*
 * Output held in memory is stored at the latest this long after it
 * arrived, so that 'picoflow logs' follows a running task; a task that
 * ends sooner has its output written with its end, in one commit.
 */
#define OUT_FLUSH_S		0.5

enum tstate {
	T_WAITING = 0,
	T_READY,
	T_RUNNING,
	T_BACKOFF,
	T_SUCCESS,
	T_FAILED,
	T_TIMEOUT,
	T_SKIPPED,
	T_CANCELLED,
	T_NSTATES
};

enum tevent {
	E_DEPS_MET = 0,	/* every dependency finished well */
	E_DISPATCH,	/* a slot is free and the worker started */
	E_OK,		/* the attempt succeeded */
	E_RETRY,	/* the attempt failed, retries are left */
	E_FAIL,		/* the attempt failed for good */
	E_TIMEOUT,	/* the attempt timed out for good */
	E_BACKOFF_DONE,	/* the retry delay passed */
	E_SKIP,		/* a dependency failed for good */
	E_CANCEL,	/* the run was cancelled */
	E_RESTORE_OK,	/* resume: the store has a success for it */
	E_RESTORE_FAIL,	/* resume: its recorded attempts failed for good */
	E_RESTORE_TIMEOUT, /* resume: ... and the last one timed out */
	E_NO_WORKER,	/* a slot is free but no worker could start (short of
			   fds, processes, memory): wait, nothing counted */
	E_NEVENTS
};

static const char *const tstate_names[T_NSTATES] = {
	"waiting", "ready", "running", "backoff", "success", "failed",
	"timeout", "skipped", "cancelled",
};

static const char *const tevent_names[E_NEVENTS] = {
	"deps-met", "dispatch", "ok", "retry", "fail", "timeout",
	"backoff-done", "skip", "cancel", "restore-ok", "restore-fail",
	"restore-timeout", "no-worker",
};

/* (state, event) -> next state; T_NSTATES marks an impossible pair. */
#define X T_NSTATES
static const unsigned char task_transitions[T_NSTATES][E_NEVENTS] = {
	/*		deps	disp	ok	retry	fail	tmout	bkoff	skip	cancel	r-ok	r-fail	r-tmout	no-wkr */
	[T_WAITING] = { T_READY, X,	X,	X,	X,	X,	X,	T_SKIPPED, T_CANCELLED, T_SUCCESS, T_FAILED, T_TIMEOUT, X },
	[T_READY] =   { X,	T_RUNNING, X,	X,	X,	X,	X,	X,	T_CANCELLED, X, X,	X,	T_READY },
	[T_RUNNING] = { X,	X,	T_SUCCESS, T_BACKOFF, T_FAILED, T_TIMEOUT, X, X, T_CANCELLED, X, X, X,	X },
	[T_BACKOFF] = { X,	X,	X,	X,	X,	X,	T_READY, X,	T_CANCELLED, X, X,	X,	X },
	[T_SUCCESS] = { X,	X,	X,	X,	X,	X,	X,	X,	X,	X,	X,	X,	X },
	[T_FAILED] =  { X,	X,	X,	X,	X,	X,	X,	X,	X,	X,	X,	X,	X },
	[T_TIMEOUT] = { X,	X,	X,	X,	X,	X,	X,	X,	X,	X,	X,	X,	X },
	[T_SKIPPED] = { X,	X,	X,	X,	X,	X,	X,	X,	X,	X,	X,	X,	X },
	[T_CANCELLED] = { X,	X,	X,	X,	X,	X,	X,	X,	X,	X,	X,	X,	X },
};
#undef X

struct attempt;

struct task_rt {
	enum tstate	 state;
	unsigned	 attempts;	/* attempts started so far */
	struct attempt	*cur;
	ev_timer	 backoff;
	struct engine_run *run;
	size_t		 idx;
};

/*
 * The runs of one workflow (by name, whatever version they started on),
 * for its cap on attempts at once across them.
 */
struct engine_wfg {
	char			*name;
	unsigned		 running;	/* attempts in flight */
	unsigned		 refs;		/* runs */
	struct engine_wfg	*next;
};

struct engine_run {
	struct engine		*eng;
	struct engine_wfg	*wfg;
	unsigned		 wf_cap;	/* wfg->running below; 0 none */
	const struct pf_workflow *wf;
	int64_t			 run_id;
	struct dag		 dag;
	struct dag_run		 ready;
	struct task_rt		*tasks;
	size_t			*rq;		/* ready to dispatch, FIFO ring */
	size_t			 rq_head, rq_len;
	unsigned		 running;	/* attempts in flight */
	size_t			 nfinal;	/* tasks in a final state */
	int			 cancelled;
	int			 failed;	/* a task failed for good */
	uint64_t		 out_bytes;	/* output its attempts captured */
	void			*cookie;	/* the caller's, for run_ended */
	struct engine_run	*next;
};

/* A run end the store refused (disk full...), retried on a timer. */
struct pending_end {
	int64_t			 run_id;
	int64_t			 ended_ms;
	char			 status[16];
	char			*error;
	struct pending_end	*next;
};

struct attempt {
	struct engine_run	*run;
	size_t			 task;
	unsigned		 no;		/* 1-based */
	int64_t			 id;		/* store row */
	int64_t			 started_ms;	/* wall clock */
	ev_tstamp		 started;	/* loop time */
	pid_t			 pid;		/* pf-worker */
	pid_t			 task_pid;	/* from STARTED, 0 = unknown */
	ev_tstamp		 dispatched;	/* ev_time() at dispatch */
	int64_t			 start_latency_us; /* to STARTED; -1 none */
	int			 fd;
	ev_io			 rio, wio;
	ev_child		 child;
	ev_timer		 timeout;	/* task timeout, then kill timer */
	ev_timer		 drain;
	struct frame_reader	 rd;
	struct frame_asm	 fasm;
	struct pf_buf		 wbuf;		/* frames to send */
	/* Output not stored yet (stdout, stderr); see output_flush. */
	struct pf_buf		 out[2];
	uint64_t		 cap;
	uint64_t		 captured;	/* kept: stored + in out[] */
	uint64_t		 dropped;	/* over the cap: the worker's count
					   of the same bytes may be larger */
	uint64_t		 lost;		/* sent within the cap, not kept */
	uint64_t		 over_budget;	/* of lost: at --output-budget */
	int			 chunked;	/* some of it is stored */
	int			 out_failed;	/* the store refused it */
	int			 truncated;
	int			 have_result;
	struct proto_result	 result;
	int			 exited;
	int			 wstatus;
	int			 eof;
	int			 timed_out;
	int			 cancelled;
	int			 killed;	/* SIGKILL sent to the session */
	char			*error;		/* protocol or engine error */
	struct cg		*cg;		/* the attempt's cgroups */
};

/* Attempt cgroups still busy when their attempt ended. */
struct cg_trash {
	struct cg		*cg;
	struct cg_trash		*next;
};

struct engine {
	struct ev_loop		*loop;
	struct pf_store		*store;
	struct engine_opts	 opts;
	struct engine_hooks	 hooks;
	struct engine_run	*runs;
	struct engine_wfg	*wfgs;
	unsigned		 running;	/* attempts in flight, all runs */
	int			 in_pump;
	int			 pump_again;
	int			 draining;	/* no new attempts */
	uint64_t		 rng;
	struct pending_end	*pending;
	ev_timer		 pending_timer;
	struct cg_sys		*cgs;		/* isolation (cgroup.h) */
	int			 ns;		/* shell tasks in namespaces */
	char			 ns_line[320];	/* nsprobe's description */
	struct cg_trash		*trash;
	ev_timer		 trash_timer;
	char			 net_worker[PATH_MAX]; /* ssh and http tasks */
	/* No worker could start: a hold (spawn_hold) and its episode. */
	int			 spawn_held;	/* no attempt starts */
	ev_timer		 spawn_timer;	/* ends the hold */
	unsigned long		 spawn_fails;	/* refusals this episode */
	double			 spawn_since;	/* first one, monotonic s */
	unsigned		 spawn_delay_ms; /* current hold */
	int			 spawn_gave_up;	/* past spawn_giveup_ms */
	int			 spawn_told;	/* this episode was logged */
	double			 spawn_told_at;	/* last one logged, 0 none */
	unsigned long		 spawn_quiet;	/* episodes not logged */
	/*
	 * Task output: out_mem bytes wait in attempts' buffers, never more
	 * than opts.output_mem (plus one read) before reading from workers
	 * stops (out_paused) until it is stored; out_disk bytes were
	 * captured by the runs in flight, at most opts.output_budget.
	 */
	uint64_t		 out_mem;
	uint64_t		 out_disk;
	int			 out_paused;
	ev_timer		 out_timer;	/* stores what waits */
};

static void	 pump(struct engine *);
static void	 attempt_finish(struct attempt *);
static void	 run_cancel(struct engine_run *, const char *);

void
engine_opts_default(struct engine_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->grace_ms = ENGINE_DEFAULT_GRACE_MS;
	o->output_cap = ENGINE_DEFAULT_OUTPUT_CAP;
	o->output_mem = ENGINE_DEFAULT_OUTPUT_MEM;
	o->output_budget = ENGINE_DEFAULT_OUTPUT_BUDGET;
	o->backoff_ms = ENGINE_DEFAULT_BACKOFF_MS;
	o->backoff_max_ms = ENGINE_DEFAULT_BACKOFF_MAX_MS;
	o->trigger = "manual";
	o->memory = ENGINE_DEFAULT_MEMORY;
	o->swap = ENGINE_DEFAULT_SWAP;
	o->cpu_milli = ENGINE_DEFAULT_CPU_MILLI;
	o->pids = ENGINE_DEFAULT_PIDS;
	o->spawn_backoff_ms = ENGINE_DEFAULT_SPAWN_BACKOFF_MS;
	o->spawn_backoff_max_ms = ENGINE_DEFAULT_SPAWN_BACKOFF_MAX_MS;
	o->spawn_giveup_ms = ENGINE_DEFAULT_SPAWN_GIVEUP_MS;
}

void
engine_opts_limits(const struct engine_opts *o, struct pf_limits *l)
{
	l->memory = o->memory;
	l->swap = o->swap;
	l->cpu_milli = o->cpu_milli;
	l->pids = o->pids;
	l->nofile = -1;
	l->output = o->output_cap > INT64_MAX ? INT64_MAX :
	    (int64_t)o->output_cap;
}

static int64_t
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

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

static int
is_final(enum tstate s)
{
	return s >= T_SUCCESS;
}

/*
 * The one place a task changes state.  Returns -1 (and logs) for a pair
 * the table does not allow: that is an engine bug, never user input.
 */
static int
task_event(struct engine_run *run, size_t i, enum tevent ev)
{
	struct task_rt	*t = &run->tasks[i];
	enum tstate	 next = task_transitions[t->state][ev];

	if (next == T_NSTATES) {
		log_warnx("engine: task '%s': event %s in state %s ignored",
		    run->wf->tasks[i].name, tevent_names[ev],
		    tstate_names[t->state]);
		return -1;
	}
	log_trace("run %" PRId64 " task '%s': %s --%s--> %s", run->run_id,
	    run->wf->tasks[i].name, tstate_names[t->state], tevent_names[ev],
	    tstate_names[next]);
	t->state = next;
	if (is_final(next))
		run->nfinal++;
	return 0;
}

/* ---- task environment and SPEC ------------------------------------------ */

struct envv {
	char	**v;
	size_t	 n, cap;
};

/* Sets KEY=VALUE; a later entry for the same key replaces the earlier. */
static int
env_add(struct envv *e, const char *k, const char *v)
{
	char	**nv, *s;
	size_t	 i, klen = strlen(k), vlen = strlen(v);

	if ((s = pf_malloc(klen + vlen + 2)) == NULL)
		return -1;
	memcpy(s, k, klen);
	s[klen] = '=';
	memcpy(s + klen + 1, v, vlen + 1);
	for (i = 0; i < e->n; i++)
		if (strncmp(e->v[i], k, klen) == 0 && e->v[i][klen] == '=') {
			pf_free(e->v[i]);
			e->v[i] = s;
			return 0;
		}
	if (e->n == e->cap) {
		size_t ncap = e->cap ? e->cap * 2 : 16;
		if ((nv = pf_reallocarray(e->v, ncap, sizeof(*nv))) == NULL) {
			pf_free(s);
			return -1;
		}
		e->v = nv;
		e->cap = ncap;
	}
	e->v[e->n++] = s;
	return 0;
}

static void
env_free(char **vec, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		pf_free(vec[i]);
	pf_free(vec);
}

/*
 * The task's whole environment: PATH, the PICOFLOW_* variables, then the
 * workflow's env, then the task's own (later wins).
 */
static int
build_env(const struct attempt *a, char ***out, size_t *nout)
{
	const struct pf_workflow *wf = a->run->wf;
	const struct pf_task	*t = &wf->tasks[a->task];
	struct envv		 e = { NULL, 0, 0 };
	char			 runid[32], no[16];
	size_t			 i;

	snprintf(runid, sizeof(runid), "%" PRId64, a->run->run_id);
	snprintf(no, sizeof(no), "%u", a->no);
	if (env_add(&e, "PATH", "/usr/local/bin:/usr/bin:/bin") == -1 ||
	    env_add(&e, "PICOFLOW_WORKFLOW", wf->name) == -1 ||
	    env_add(&e, "PICOFLOW_TASK", t->name) == -1 ||
	    env_add(&e, "PICOFLOW_RUN_ID", runid) == -1 ||
	    env_add(&e, "PICOFLOW_ATTEMPT", no) == -1)
		goto fail;
	for (i = 0; i < wf->env.n; i++)
		if (env_add(&e, wf->env.v[i].key, wf->env.v[i].value) == -1)
			goto fail;
	if (t->type == TASK_SHELL)
		for (i = 0; i < t->u.shell.env.n; i++)
			if (env_add(&e, t->u.shell.env.v[i].key,
			    t->u.shell.env.v[i].value) == -1)
				goto fail;
	*out = e.v;
	*nout = e.n;
	return 0;
fail:
	env_free(e.v, e.n);
	return -1;
}

static uint64_t
attempt_cap(const struct attempt *a)
{
	const struct pf_task	*t = &a->run->wf->tasks[a->task];

	if (t->limits.output >= 0)
		return (uint64_t)t->limits.output;
	if (a->run->wf->limits.output >= 0)
		return (uint64_t)a->run->wf->limits.output;
	return a->run->eng->opts.output_cap;
}

/* A limit of the task (already merged over config.limits), else ours. */
static int64_t
limit_or(int64_t task, int64_t dflt)
{
	return task >= 0 ? task : dflt;
}

static int
queue_spec(struct attempt *a, struct pf_err *err)
{
	const struct pf_workflow *wf = a->run->wf;
	const struct pf_task	*t = &wf->tasks[a->task];
	struct proto_spec	 s;
	struct pf_buf		 msg;
	char			 runid[32];
	int			 rc = -1;

	proto_spec_init(&s);
	snprintf(runid, sizeof(runid), "%" PRId64, a->run->run_id);
	s.attempt_id = (uint64_t)a->id;
	s.run_id = runid;
	s.task_name = t->name;
	s.workflow = wf->name;
	s.output_cap = a->cap;
	s.kill_grace_ms = a->run->eng->opts.grace_ms;
	s.limits.memory = limit_or(t->limits.memory, a->run->eng->opts.memory);
	s.limits.swap = limit_or(t->limits.swap, a->run->eng->opts.swap);
	s.limits.cpu_milli = limit_or(t->limits.cpu_milli,
	    a->run->eng->opts.cpu_milli);
	s.limits.pids = limit_or(t->limits.pids, a->run->eng->opts.pids);
	s.limits.nofile = t->limits.nofile;
	s.run_as = t->run_as != NULL ? t->run_as :
	    (char *)(uintptr_t)a->run->eng->opts.run_as;
	s.run_as_privileged = t->run_as_privileged;
	s.privileged_groups = wf->privileged_groups;
	s.nprivileged_groups = wf->nprivileged_groups;
	s.unprivileged_groups = wf->unprivileged_groups;
	s.nunprivileged_groups = wf->nunprivileged_groups;
	s.network = t->sandbox.network;
	s.read_only = t->sandbox.read_only;
	s.nread_only = t->sandbox.nread_only;
	s.writable = t->sandbox.writable;
	s.nwritable = t->sandbox.nwritable;
	s.namespaces = a->run->eng->ns && t->type == TASK_SHELL;
	s.private_tmp = s.namespaces && t->sandbox.private_tmp == 1;
	switch (t->type) {
	case TASK_SHELL:
		s.executor = PROTO_EXEC_SHELL;
		s.command = t->u.shell.command;
		s.args = t->u.shell.args;
		s.nargs = t->u.shell.nargs;
		s.workdir = t->u.shell.workdir;
		break;
	case TASK_SSH:
		s.executor = PROTO_EXEC_SSH;
		s.ssh = t->u.ssh;
		break;
	case TASK_HTTP:
		s.executor = PROTO_EXEC_HTTP;
		s.http = t->u.http;
		break;
	}
	if (build_env(a, &s.env, &s.nenv) == -1) {
		pf_err_set(err, "out of memory building the environment");
		return -1;
	}
	buf_init(&msg, 0);
	if (proto_spec_encode(&s, &msg, err) == 0) {
		if (buf_add(&a->wbuf, msg.data, msg.len) == -1)
			pf_err_set(err, "out of memory queueing the spec");
		else
			rc = 0;
	}
	buf_free(&msg);
	env_free(s.env, s.nenv);
	return rc;
}

/* ---- attempts ------------------------------------------------------------ */

/* ---- attempt cgroups (cgroup.h) ---------------------------------------- */

static void
on_trash_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct engine	*eng = w->data;
	struct cg_trash	**pp, *t;

	(void)revents;
	for (pp = &eng->trash; (t = *pp) != NULL; ) {
		if (cg_remove(t->cg) == 1) {
			pp = &t->next;
			continue;
		}
		*pp = t->next;
		cg_free(t->cg);
		pf_free(t);
	}
	if (eng->trash == NULL)
		ev_timer_stop(loop, w);
}

/*
 * Removes an attempt's cgroups now, or from a timer while they are busy
 * (killed processes take a moment to go).  Given up or out of memory,
 * the directory stays and the next start sweeps it.
 */
static void
cg_discard(struct engine *eng, struct cg *g)
{
	struct cg_trash	*t;

	if (cg_remove(g) != 1 || (t = pf_calloc(1, sizeof(*t))) == NULL) {
		cg_free(g);
		return;
	}
	t->cg = g;
	t->next = eng->trash;
	eng->trash = t;
	if (!ev_is_active(&eng->trash_timer)) {
		ev_timer_set(&eng->trash_timer, CG_RETRY_S, CG_RETRY_S);
		ev_timer_start(eng->loop, &eng->trash_timer);
	}
}

/* The attempt's cgroups with its limits; none in isolation mode none. */
static int
attempt_cg_create(struct attempt *a, struct pf_err *err)
{
	struct engine		*eng = a->run->eng;
	const struct pf_task	*t = &a->run->wf->tasks[a->task];
	struct cg_limits	 l;
	char			 name[WF_TASK_NAME_MAX + 64];

	if (eng->cgs == NULL || cg_mode(eng->cgs) == CG_MODE_NONE)
		return 0;
	/*
	 * Leftovers of a dead predecessor go before the first attempt, once
	 * the caller's crash recovery has killed (and logged) what it knew.
	 */
	cg_sweep(eng->cgs);
	snprintf(name, sizeof(name), "r%" PRId64 "-%s-%u", a->run->run_id,
	    t->name, a->no);
	l.memory = limit_or(t->limits.memory, eng->opts.memory);
	l.swap = limit_or(t->limits.swap, eng->opts.swap);
	l.cpu_milli = limit_or(t->limits.cpu_milli, eng->opts.cpu_milli);
	l.pids = limit_or(t->limits.pids, eng->opts.pids);
	/* pf-worker is one of them: the task gets the number it asked for. */
	if (l.pids >= 0 && l.pids < INT64_MAX)
		l.pids++;
	return cg_create(eng->cgs, name, &l, &a->cg, err);
}

/*
 * The attempt's cgroups at its end: kill what is left (nothing, unless
 * a process escaped the worker), take the accounting, name an OOM kill
 * or the pids limit as the reason a failed attempt failed, remove them.
 */
static void
attempt_cg_end(struct attempt *a, struct store_attempt_end *e, char *reason,
    size_t rlen)
{
	struct cg_usage	 u;
	char		 why[PF_ERR_MAX + 128];
	const char	*was = e->reason != NULL ? e->reason : "";

	if (a->cg == NULL)
		return;
	if (cg_empty(a->cg) == 0)
		(void)cg_kill(a->cg);
	cg_usage(a->cg, &u);
	if (u.memory_peak >= 0)
		e->max_rss_kb = u.memory_peak / 1024;
	if (u.cpu_user_us >= 0 && u.cpu_sys_us >= 0) {
		e->user_cpu_us = u.cpu_user_us;
		e->sys_cpu_us = u.cpu_sys_us;
	}
	/* Stored as they are: -1 (the host cannot tell) becomes NULL. */
	e->oom_kills = u.oom_kills;
	e->pids_peak = u.pids_peak;
	e->pids_denied = u.pids_denied;
	e->nr_throttled = u.nr_throttled;
	e->throttled_us = u.throttled_us;
	log_debug("task '%s' attempt %u: memory peak %" PRId64 " B, oom "
	    "kills %" PRId64 ", forks refused %" PRId64 ", cpu %" PRId64
	    " us, throttled %" PRId64 " times", a->run->wf->tasks[a->task].name,
	    a->no, u.memory_peak, u.oom_kills, u.pids_denied, u.cpu_us,
	    u.nr_throttled);
	why[0] = '\0';
	if (e->status != NULL && strcmp(e->status, "failed") == 0) {
		if (u.oom_kills > 0)
			snprintf(why, sizeof(why), "oom: %" PRId64 " process(es) "
			    "killed at the memory limit (peak %" PRId64
			    " KiB)%s%s", u.oom_kills, u.memory_peak / 1024,
			    was[0] ? "; " : "", was);
		else if (u.pids_denied > 0)
			snprintf(why, sizeof(why), "pids: the process limit "
			    "was reached (%" PRId64 " forks refused)%s%s",
			    u.pids_denied, was[0] ? "; " : "", was);
	}
	if (why[0] != '\0' && rlen > 0) {
		/* Cut to the caller's buffer: the cause comes first. */
		size_t	 k = strlen(why);

		if (k >= rlen)
			k = rlen - 1;
		memcpy(reason, why, k);
		reason[k] = '\0';
		e->reason = reason;
	}
	cg_discard(a->run->eng, a->cg);
	a->cg = NULL;
}

static void
attempt_free(struct attempt *a)
{
	struct ev_loop	*loop = a->run->eng->loop;

	ev_io_stop(loop, &a->rio);
	ev_io_stop(loop, &a->wio);
	ev_child_stop(loop, &a->child);
	ev_timer_stop(loop, &a->timeout);
	ev_timer_stop(loop, &a->drain);
	if (a->fd != -1)
		close(a->fd);
	frame_reader_free(&a->rd);
	frame_asm_free(&a->fasm);
	buf_free(&a->wbuf);
	a->run->eng->out_mem -= a->out[0].len + a->out[1].len;
	buf_free(&a->out[0]);
	buf_free(&a->out[1]);
	proto_result_free(&a->result);
	pf_free(a->error);
	if (a->cg != NULL) {
		/* An attempt torn down before its end. */
		(void)cg_kill(a->cg);
		cg_discard(a->run->eng, a->cg);
	}
	pf_free(a);
}

/* Records the first engine-side error of an attempt. */
static void
attempt_error(struct attempt *a, const char *msg)
{
	/* On ENOMEM the reason is lost, but the status still says failed. */
	if (a->error == NULL)
		a->error = pf_strdup(msg);
}

/* Stops talking to the worker: it sees EOF and kills its task. */
static void
attempt_hangup(struct attempt *a)
{
	struct ev_loop	*loop = a->run->eng->loop;

	ev_io_stop(loop, &a->rio);
	ev_io_stop(loop, &a->wio);
	if (a->fd != -1) {
		close(a->fd);
		a->fd = -1;
	}
	a->eof = 1;
}

static void
attempt_sigkill(struct attempt *a)
{
	/* The worker leads its own session; the task has its own group. */
	if (a->pid > 0 && !a->exited)
		(void)kill(-a->pid, SIGKILL);
	if (a->task_pid > 0)
		(void)kill(-a->task_pid, SIGKILL);
	/* And whatever left both groups: the cgroup holds it. */
	if (a->cg != NULL)
		(void)cg_kill(a->cg);
	a->killed = 1;
}

static void
on_kill_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct attempt	*a = w->data;

	(void)revents;
	if (!a->killed) {
		log_warnx("task '%s' attempt %u: still running %u ms after "
		    "SIGTERM; killing it", a->run->wf->tasks[a->task].name,
		    a->no, a->run->eng->opts.grace_ms);
		attempt_sigkill(a);
		ev_timer_set(w, KILL_MARGIN_S, 0.);
		ev_timer_start(loop, w);
	}
	/* Otherwise the child watcher ends it; SIGKILL cannot be ignored. */
}

/*
 * Asks the worker to stop its task: SIGTERM to the worker, which passes
 * it on and escalates to SIGKILL after the grace period it was given.
 * Our own SIGKILL follows if the worker does not finish in time.
 */
static void
attempt_stop(struct attempt *a)
{
	struct ev_loop	*loop = a->run->eng->loop;
	double		 grace = a->run->eng->opts.grace_ms / 1000.0;

	if (a->exited)
		return;
	(void)kill(a->pid, SIGTERM);
	ev_timer_stop(loop, &a->timeout);
	ev_set_cb(&a->timeout, on_kill_timer);
	ev_timer_set(&a->timeout, grace + KILL_MARGIN_S, 0.);
	ev_timer_start(loop, &a->timeout);
}

static void
on_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct attempt	*a = w->data;

	(void)loop;
	(void)revents;
	a->timed_out = 1;
	log_info("task '%s' attempt %u: timed out after %u s",
	    a->run->wf->tasks[a->task].name, a->no,
	    a->run->wf->tasks[a->task].timeout);
	attempt_stop(a);
}

static void
attempt_maybe_finish(struct attempt *a)
{
	if (a->exited && a->eof)
		attempt_finish(a);
}

static void
on_drain(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct attempt	*a = w->data;

	(void)loop;
	(void)revents;
	/* The worker is gone but its socket is held open: stop waiting. */
	attempt_hangup(a);
	attempt_maybe_finish(a);
}

static void
on_child(struct ev_loop *loop, ev_child *w, int revents)
{
	struct attempt	*a = w->data;

	(void)revents;
	ev_child_stop(loop, w);
	a->exited = 1;
	a->wstatus = w->rstatus;
	ev_timer_stop(loop, &a->timeout);
	if (!a->eof) {
		ev_timer_set(&a->drain, DRAIN_AFTER_EXIT_S, 0.);
		ev_timer_start(loop, &a->drain);
		return;
	}
	attempt_maybe_finish(a);
}

/* ---- task output: bounded in memory, streamed to the store ------------- */

/* Calls fn on every attempt in flight. */
static void
each_attempt(struct engine *eng, void (*fn)(struct attempt *, void *),
    void *arg)
{
	struct engine_run	*run;
	size_t			 i;

	for (run = eng->runs; run != NULL; run = run->next)
		for (i = 0; run->tasks != NULL && i < run->wf->ntasks; i++)
			if (run->tasks[i].cur != NULL)
				fn(run->tasks[i].cur, arg);
}

static void
pause_one(struct attempt *a, void *arg)
{
	(void)arg;
	ev_io_stop(a->run->eng->loop, &a->rio);
}

static void
resume_one(struct attempt *a, void *arg)
{
	(void)arg;
	if (a->fd != -1 && !a->eof)
		ev_io_start(a->run->eng->loop, &a->rio);
}

/*
 * The memory budget is reached: no worker is read until what waits is
 * stored.  Workers then block writing to their sockets (the kernel's
 * buffer is the only other place output waits), and their tasks block
 * writing to their pipes: backpressure, never growth.
 */
static void
output_pause(struct engine *eng)
{
	if (!eng->out_paused) {
		eng->out_paused = 1;
		each_attempt(eng, pause_one, NULL);
	}
	ev_timer_stop(eng->loop, &eng->out_timer);
	ev_timer_set(&eng->out_timer, 0., 0.);
	ev_timer_start(eng->loop, &eng->out_timer);
}

struct out_batch {
	struct store_chunk	*c;
	size_t			 n;
};

static void
batch_add(struct attempt *a, struct out_batch *b, int i)
{
	const uint8_t	*p = a->out[i].data;
	size_t		 len = a->out[i].len, k;

	while (len > 0) {
		k = len > STORE_CHUNK_MAX ? STORE_CHUNK_MAX : len;
		b->c[b->n].attempt_id = a->id;
		b->c[b->n].stream = i == 0 ? STORE_STDOUT : STORE_STDERR;
		b->c[b->n].data = p;
		b->c[b->n].len = k;
		b->n++;
		p += k;
		len -= k;
	}
}

static size_t
chunks_of(const struct attempt *a)
{
	return a->out[0].len / STORE_CHUNK_MAX + 1 +
	    a->out[1].len / STORE_CHUNK_MAX + 1;
}

static void
count_one(struct attempt *a, void *arg)
{
	if (a->id >= 0 && a->out[0].len + a->out[1].len > 0)
		*(size_t *)arg += chunks_of(a);
}

static void
collect_one(struct attempt *a, void *arg)
{
	if (a->id >= 0 && a->out[0].len + a->out[1].len > 0) {
		batch_add(a, arg, 0);
		batch_add(a, arg, 1);
	}
}

/* Stored: the memory goes back (not kept for the next chunk). */
static void
stored_one(struct attempt *a, void *arg)
{
	(void)arg;
	if (a->id < 0 || a->out[0].len + a->out[1].len == 0)
		return;
	a->chunked = 1;
	a->run->eng->out_mem -= a->out[0].len + a->out[1].len;
	buf_free(&a->out[0]);
	buf_free(&a->out[1]);
}

/*
 * The store refused the output: it is lost, and so is the attempt, which
 * fails with the reason rather than going on with a hole in its output.
 */
static void
refused_one(struct attempt *a, void *arg)
{
	char		 msg[PF_ERR_MAX + 48];
	uint64_t	 n = a->out[0].len + a->out[1].len;

	if (n == 0)
		return;
	a->run->eng->out_mem -= n;
	a->captured -= n;
	a->lost += n;
	a->run->out_bytes -= n;
	a->run->eng->out_disk -= n;
	a->truncated = 1;
	buf_free(&a->out[0]);
	buf_free(&a->out[1]);
	if (a->id < 0 || a->out_failed)
		return;
	a->out_failed = 1;
	snprintf(msg, sizeof(msg), "cannot store the task's output: %s",
	    ((const struct pf_err *)arg)->msg);
	attempt_error(a, msg);
	attempt_stop(a);
}

/* Stores what every attempt holds, in one transaction. */
static void
output_flush(struct engine *eng)
{
	struct out_batch	 b;
	struct pf_err		 err;
	size_t			 n = 0;

	if (eng->out_mem == 0)
		return;
	each_attempt(eng, count_one, &n);
	if (n == 0)
		return;
	b.n = 0;
	if ((b.c = pf_reallocarray(NULL, n, sizeof(*b.c))) == NULL) {
		pf_err_set(&err, "out of memory");
		goto refused;
	}
	each_attempt(eng, collect_one, &b);
	if (store_output_append(eng->store, b.c, b.n, &err) == -1) {
		pf_free(b.c);
		log_error("cannot store task output: %s", err.msg);
		goto refused;
	}
	pf_free(b.c);
	each_attempt(eng, stored_one, NULL);
	return;
refused:
	each_attempt(eng, refused_one, &err);
}

static void
on_out_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct engine	*eng = w->data;

	(void)loop;
	(void)revents;
	output_flush(eng);
	if (eng->out_paused && eng->out_mem < eng->opts.output_mem) {
		eng->out_paused = 0;
		each_attempt(eng, resume_one, NULL);
	}
}

static void
attempt_output(struct attempt *a, const struct proto_output *o)
{
	struct engine	*eng = a->run->eng;
	struct pf_buf	*b = &a->out[o->stream == PROTO_STDERR ? 1 : 0];
	size_t		 take = o->len, keep;

	if (a->out_failed) {
		/* Its end is on the way; nothing more of it is kept. */
		a->lost += o->len;
		a->truncated = 1;
		return;
	}
	if (a->captured >= a->cap)
		take = 0;
	else if (a->cap - a->captured < take)
		take = (size_t)(a->cap - a->captured);
	keep = take;
	if (eng->opts.output_budget > 0 && keep > 0 &&
	    eng->out_disk + keep > eng->opts.output_budget) {
		keep = eng->out_disk >= eng->opts.output_budget ? 0 :
		    (size_t)(eng->opts.output_budget - eng->out_disk);
		a->over_budget += take - keep;
	}
	if (keep > 0 && buf_add(b, o->data, keep) == -1) {
		keep = 0;
		b->failed = 0;	/* keep what we have; count the rest */
	}
	if (keep < o->len) {
		a->dropped += o->len - take;
		a->lost += take - keep;
		a->truncated = 1;
	}
	if (keep == 0)
		return;
	a->captured += keep;
	a->run->out_bytes += keep;
	eng->out_disk += keep;
	eng->out_mem += keep;
	if (eng->out_mem >= eng->opts.output_mem)
		output_pause(eng);
	else if (!ev_is_active(&eng->out_timer)) {
		ev_timer_set(&eng->out_timer, OUT_FLUSH_S, 0.);
		ev_timer_start(eng->loop, &eng->out_timer);
	}
}

/*
 * Records who runs this attempt, so that a supervisor restarted after a
 * crash can kill exactly these processes if they outlived us.  Failing
 * to record it is not fatal: the worker also kills its task when our
 * end of the socket closes.
 */
static void
attempt_track_procs(struct attempt *a)
{
	struct store_procs	 p;
	struct pf_err		 err;

	p.worker_pid = a->pid;
	p.task_pid = a->task_pid > 0 ? a->task_pid : -1;
	if (procid_start_time(a->pid, &p.worker_start) == -1)
		p.worker_pid = -1;
	if (p.task_pid > 0 && procid_start_time(a->task_pid,
	    &p.task_start) == -1)
		p.task_pid = -1;
	if (p.worker_pid == -1 && p.task_pid == -1)
		return;
	if (store_attempt_procs(a->run->eng->store, a->id, &p, &err) == -1)
		log_warnx("run %" PRId64 " task '%s': cannot record its "
		    "processes: %s", a->run->run_id,
		    a->run->wf->tasks[a->task].name, err.msg);
}

/* Returns -1 when the worker broke the protocol (err says how). */
static int
attempt_frame(struct attempt *a, const struct frame *f, struct pf_err *err)
{
	struct proto_started	 st;
	struct proto_output	 o;

	if (a->have_result) {
		pf_err_set(err, "%s frame after RESULT",
		    proto_msg_name(f->type));
		return -1;
	}
	switch (f->type) {
	case PROTO_MSG_STARTED:
		if (proto_started_decode(f, &st, err) == -1)
			return -1;
		if (st.pid > 1 && st.pid <= INT32_MAX)
			a->task_pid = (pid_t)st.pid;
		if (a->start_latency_us < 0)
			a->start_latency_us = (int64_t)((ev_time() -
			    a->dispatched) * 1e6);
		if (a->run->eng->opts.track_procs)
			attempt_track_procs(a);
		return 0;
	case PROTO_MSG_OUTPUT:
		if (proto_output_decode(f, &o, err) == -1)
			return -1;
		attempt_output(a, &o);
		return 0;
	case PROTO_MSG_RESULT:
		if (proto_result_decode(f, &a->result, err) == -1)
			return -1;
		a->have_result = 1;
		return 0;
	default:
		pf_err_set(err, "unexpected %s frame (type %u) from the worker",
		    proto_msg_name(f->type), f->type);
		return -1;
	}
}

static void
on_read(struct ev_loop *loop, ev_io *w, int revents)
{
	struct attempt	*a = w->data;
	struct frame	 f;
	struct pf_err	 err;
	ssize_t		 n;
	int		 r, budget = 16;

	(void)loop;
	(void)revents;
	/* A bounded number of reads per wakeup keeps other work moving. */
	while (budget-- > 0) {
		n = frame_reader_read(&a->rd, a->fd);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n == -1 && errno == ECONNRESET) {
			/* It exited with our data unread: an end of stream. */
			frame_reader_feed_eof(&a->rd);
		} else if (n == -1 && errno != ENOBUFS) {
			pf_err_set(&err, "reading from the worker: %s",
			    strerror(errno));
			goto broken;
		}
		while ((r = frame_reader_next(&a->rd, &f, &err)) == 1)
			if (attempt_frame(a, &f, &err) == -1)
				goto broken;
		if (r == -1)
			goto broken;
		if (frame_reader_done(&a->rd)) {
			attempt_hangup(a);
			attempt_maybe_finish(a);
			return;
		}
		/* The frames of one read are taken; no more until stored. */
		if (a->run->eng->out_paused)
			return;
	}
	return;
broken:
	log_warnx("task '%s' attempt %u: worker protocol error: %s",
	    a->run->wf->tasks[a->task].name, a->no, err.msg);
	{
		char msg[PF_ERR_MAX + 32];

		snprintf(msg, sizeof(msg), "worker protocol error: %s",
		    err.msg);
		attempt_error(a, msg);
	}
	attempt_hangup(a);
	/* A worker that ignores the hangup is killed after the margin. */
	if (!a->exited) {
		ev_timer_stop(a->run->eng->loop, &a->timeout);
		ev_set_cb(&a->timeout, on_kill_timer);
		ev_timer_set(&a->timeout, KILL_MARGIN_S, 0.);
		ev_timer_start(a->run->eng->loop, &a->timeout);
	}
	attempt_maybe_finish(a);
}

static void
on_write(struct ev_loop *loop, ev_io *w, int revents)
{
	struct attempt	*a = w->data;
	ssize_t		 n;

	(void)revents;
	while (a->wbuf.len > 0) {
		n = send(a->fd, a->wbuf.data, a->wbuf.len, MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return;
		if (n == -1) {
			/* The worker is gone; its exit status tells why. */
			buf_reset(&a->wbuf);
			break;
		}
		buf_consume(&a->wbuf, (size_t)n);
	}
	ev_io_stop(loop, w);
}

/* ---- the outcome of an attempt -------------------------------------------- */

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
		e->status = "success";
	} else if (a->cancelled) {
		e->status = "cancelled";
		snprintf(reason, rlen, "cancelled");
	} else if (a->timed_out) {
		e->status = "timeout";
		snprintf(reason, rlen, "timed out after %u s",
		    a->run->wf->tasks[a->task].timeout);
	} else if (a->error != NULL) {
		e->status = "failed";
		snprintf(reason, rlen, "%s", a->error);
	} else if (!a->have_result) {
		e->status = "failed";
		describe_exit(a, reason, rlen);
	} else {
		switch (r->status) {
		case PROTO_ST_OK:
			e->status = "success";
			break;
		case PROTO_ST_FAILED:
			e->status = "failed";
			/* No exit code (http, ssh): the worker's reason. */
			if (r->exit_code < 0 && r->error != NULL)
				snprintf(reason, rlen, "%s", r->error);
			else
				snprintf(reason, rlen, "exit code %d",
				    r->exit_code);
			break;
		case PROTO_ST_SIGNALED:
			e->status = "failed";
			snprintf(reason, rlen, "killed by signal %d (%s)",
			    r->signal, strsignal(r->signal));
			break;
		default:
			e->status = "failed";
			snprintf(reason, rlen, "%s%s%s",
			    proto_status_name(r->status),
			    r->error ? ": " : "", r->error ? r->error : "");
			break;
		}
	}
	if (reason[0] != '\0')
		e->reason = reason;
	e->ended_ms = now_ms();
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

static void	 task_settle(struct engine_run *, size_t, enum tevent,
		    const char *);

static void
on_backoff(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct task_rt	*t = w->data;
	struct engine_run *run = t->run;

	(void)loop;
	(void)revents;
	if (task_event(run, t->idx, E_BACKOFF_DONE) == 0)
		run->rq[(run->rq_head + run->rq_len++) % run->wf->ntasks] =
		    t->idx;
	pump(run->eng);
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
	f.status = "failed";
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

static void
attempt_finish(struct attempt *a)
{
	struct engine_run	*run = a->run;
	struct engine		*eng = run->eng;
	const struct pf_task	*task = &run->wf->tasks[a->task];
	struct task_rt		*t = &run->tasks[a->task];
	struct store_attempt_end e;
	struct engine_task_report rep;
	struct pf_err		 err;
	char			 reason[PF_ERR_MAX + 64];
	enum tevent		 ev;
	unsigned		 delay = 0;
	int			 store_failed = 0;

	attempt_outcome(a, &e, reason, sizeof(reason));
	attempt_cg_end(a, &e, reason, sizeof(reason));
	/*
	 * Nothing is acted on before it is recorded: an outcome that cannot
	 * be stored fails the task for good (no retry, dependents skipped),
	 * so a restart never finds work done that the database denies.
	 */
	if (a->id < 0 || store_attempt_end(eng->store, a->id, &e,
	    &err) == -1) {
		if (a->id >= 0) {
			log_error("run %" PRId64 " task '%s': cannot record "
			    "the attempt: %s", run->run_id, task->name,
			    err.msg);
			attempt_end_failed(a, &e, err.msg);
		}
		store_failed = 1;
		e.status = "failed";
		e.reason = "the state database could not record the attempt";
	}

	if (store_failed)
		ev = E_FAIL;
	else if (strcmp(e.status, "success") == 0)
		ev = E_OK;
	else if (a->cancelled)
		ev = E_CANCEL;
	else if (t->attempts <= task->retry && !run->cancelled)
		ev = E_RETRY;
	else if (a->timed_out)
		ev = E_TIMEOUT;
	else
		ev = E_FAIL;

	memset(&rep, 0, sizeof(rep));
	rep.wf = run->wf;
	rep.task = task;
	rep.run_id = run->run_id;
	rep.attempt = a->no;
	rep.status = e.status;
	rep.duration_ms = e.duration_ms;
	rep.exit_code = e.exit_code;
	rep.has_exit_code = e.has_exit_code;
	rep.signal = e.signal;
	rep.reason = e.reason;
	rep.start_latency_us = a->start_latency_us;
	if (ev == E_RETRY) {
		delay = jitter(eng, backoff_delay(eng, a->no + 1));
		rep.will_retry = 1;
		rep.retry_in_ms = delay;
	}
	if (eng->hooks.task_ended != NULL)
		eng->hooks.task_ended(eng->hooks.arg, &rep);

	t->cur = NULL;
	run->running--;
	run->wfg->running--;
	eng->running--;
	attempt_free(a);

	if (ev == E_RETRY) {
		if (task_event(run, t->idx, E_RETRY) == 0) {
			ev_timer_set(&t->backoff, delay / 1000.0, 0.);
			ev_timer_start(eng->loop, &t->backoff);
		}
	} else
		task_settle(run, t->idx, ev, reason);
	pump(eng);
}

/* Moves newly ready tasks from the dependency tracker to the run queue. */
static void
collect_ready(struct engine_run *run)
{
	size_t	 i;

	while (dag_ready_next(&run->ready, &i) == 0) {
		if (run->cancelled)
			continue;	/* task_cancel_all handles it */
		if (task_event(run, i, E_DEPS_MET) == 0)
			run->rq[(run->rq_head + run->rq_len++) %
			    run->wf->ntasks] = i;
	}
}

/*
 * A task reached a final state (ev: E_OK, E_FAIL, E_TIMEOUT, E_CANCEL):
 * release or skip its dependents.
 */
static void
task_settle(struct engine_run *run, size_t i, enum tevent ev,
    const char *reason)
{
	struct engine		*eng = run->eng;
	const struct pf_task	*task = &run->wf->tasks[i];
	const size_t		*skipped;
	struct engine_task_report rep;
	struct pf_err		 err;
	char			 why[WF_TASK_NAME_MAX + 128];
	long			 n, k;

	(void)reason;
	if (task_event(run, i, ev) == -1)
		return;
	if (ev == E_OK || (ev != E_CANCEL && task->continue_on_failure)) {
		/*
		 * continue_on_failure lets the dependents run, but the run
		 * still failed, as in the Rust PicoFlow: scripts alert on
		 * picoflow run's exit status.
		 */
		if (ev != E_OK)
			run->failed = 1;
		(void)dag_ready_done(&run->ready, i);
		collect_ready(run);
		return;
	}
	if (ev == E_CANCEL)
		return;
	run->failed = 1;
	n = dag_ready_fail(&run->ready, i, &skipped);
	snprintf(why, sizeof(why), "dependency '%s' %s", task->name,
	    ev == E_TIMEOUT ? "timed out" : "failed");
	for (k = 0; k < n; k++) {
		size_t	 s = skipped[k];

		if (run->tasks[s].state != T_WAITING)
			continue;
		if (task_event(run, s, E_SKIP) == -1)
			continue;
		if (store_task_skipped(eng->store, run->run_id,
		    run->wf->tasks[s].name, why, now_ms(), &err) == -1)
			log_warnx("run %" PRId64 ": cannot record skipped "
			    "task '%s': %s", run->run_id,
			    run->wf->tasks[s].name, err.msg);
		if (eng->hooks.task_ended != NULL) {
			memset(&rep, 0, sizeof(rep));
			rep.wf = run->wf;
			rep.task = &run->wf->tasks[s];
			rep.run_id = run->run_id;
			rep.status = "skipped";
			rep.reason = why;
			rep.start_latency_us = -1;
			eng->hooks.task_ended(eng->hooks.arg, &rep);
		}
	}
}

/* ---- dispatch -------------------------------------------------------------- */

static double
mono_s(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
on_spawn_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct engine	*eng = w->data;

	(void)loop;
	(void)revents;
	eng->spawn_held = 0;
	pump(eng);
}

/*
 * No worker could start for want of descriptors, processes or memory:
 * task i stays ready and first in its run's queue, nothing recorded or
 * counted, and no attempt of any run starts until the hold timer fires.
 * The hold doubles while the shortage lasts; the episode (one log line
 * at each end) lasts until a worker starts.
 */
static void
spawn_hold(struct engine_run *run, size_t i, const char *why)
{
	struct engine	*eng = run->eng;
	char		 quiet[64];

	(void)task_event(run, i, E_NO_WORKER);
	/* dispatch() took it from the head, so the head slot is free. */
	run->rq_head = (run->rq_head + run->wf->ntasks - 1) % run->wf->ntasks;
	run->rq[run->rq_head] = i;
	run->rq_len++;
	if (eng->spawn_fails++ == 0) {
		eng->spawn_since = mono_s();
		eng->spawn_delay_ms = eng->opts.spawn_backoff_ms;
		eng->spawn_told = eng->spawn_told_at == 0 ||
		    eng->spawn_since - eng->spawn_told_at >= SPAWN_QUIET_S;
		if (!eng->spawn_told) {
			eng->spawn_quiet++;
			log_debug("cannot start pf-worker: %s; waiting", why);
		} else {
			quiet[0] = '\0';
			if (eng->spawn_quiet > 0)
				snprintf(quiet, sizeof(quiet), " (and %lu times "
				    "since the last report)", eng->spawn_quiet);
			log_warnx("cannot start pf-worker: %s; tasks wait (no "
			    "attempt is counted) and it is tried again after "
			    "%u ms, doubling up to %u ms; after %g s of this, "
			    "attempts fail%s", why, eng->spawn_delay_ms,
			    eng->opts.spawn_backoff_max_ms,
			    eng->opts.spawn_giveup_ms / 1000.0, quiet);
			eng->spawn_told_at = eng->spawn_since;
			eng->spawn_quiet = 0;
		}
	} else if (eng->spawn_delay_ms < eng->opts.spawn_backoff_max_ms) {
		/* Compared before doubling, so it cannot overflow. */
		if (eng->spawn_delay_ms > eng->opts.spawn_backoff_max_ms / 2)
			eng->spawn_delay_ms = eng->opts.spawn_backoff_max_ms;
		else
			eng->spawn_delay_ms *= 2;
	}
	eng->spawn_held = 1;
	ev_timer_stop(eng->loop, &eng->spawn_timer);
	ev_timer_set(&eng->spawn_timer, eng->spawn_delay_ms / 1000.0, 0.);
	ev_timer_start(eng->loop, &eng->spawn_timer);
}

/*
 * Whether a worker refused for a shortage is waited for (0) or its
 * attempt fails (1): the shortage has lasted spawn_giveup_ms (or the
 * engine never waits).  Logged once per episode.
 */
static int
spawn_give_up(struct engine *eng, const char *why)
{
	if (eng->opts.spawn_giveup_ms > 0 && (eng->spawn_fails == 0 ||
	    (mono_s() - eng->spawn_since) * 1000.0 <
	    (double)eng->opts.spawn_giveup_ms))
		return 0;
	if (eng->opts.spawn_giveup_ms == 0)
		return 1;
	if (!eng->spawn_gave_up)
		log_error("cannot start pf-worker for %g s (%s): attempts "
		    "that need one fail until one starts",
		    eng->opts.spawn_giveup_ms / 1000.0, why);
	eng->spawn_gave_up = 1;
	eng->spawn_fails++;
	return 1;
}

/* A worker started: the shortage, if there was one, is over. */
static void
spawn_recovered(struct engine *eng)
{
	if (eng->spawn_fails == 0)
		return;
	if (eng->spawn_told)
		log_info("pf-worker starts again after %lu refused tries "
		    "over %.1f s", eng->spawn_fails,
		    mono_s() - eng->spawn_since);
	else
		log_debug("pf-worker starts again after %lu refused tries "
		    "over %.1f s", eng->spawn_fails,
		    mono_s() - eng->spawn_since);
	eng->spawn_fails = 0;
	eng->spawn_gave_up = 0;
}

/*
 * Starts one attempt of task i.  The worker comes first: a system short
 * of descriptors, processes or memory refuses it before anything is
 * recorded or counted, and the task waits (spawn_hold).  Any later
 * failure, or one that waiting cannot cure, fails the attempt at once.
 */
static void
dispatch(struct engine_run *run, size_t i)
{
	struct engine		*eng = run->eng;
	const struct pf_task	*task = &run->wf->tasks[i];
	struct task_rt		*t = &run->tasks[i];
	struct spawn_worker	 sw;
	struct attempt		*a;
	struct pf_err		 err, serr;
	char			 msg[PF_ERR_MAX + 128], waited[64];
	int			 spawned;

	if ((a = pf_calloc(1, sizeof(*a))) == NULL) {
		spawn_hold(run, i, "out of memory");
		return;
	}
	a->run = run;
	a->task = i;
	a->fd = -1;
	a->dispatched = ev_time();
	a->start_latency_us = -1;
	frame_reader_init(&a->rd, FRAME_PAYLOAD_MAX);
	frame_asm_init(&a->fasm, PROTO_SPEC_MAX);
	buf_init(&a->wbuf, 0);
	buf_init(&a->out[0], 0);
	buf_init(&a->out[1], 0);
	proto_result_init(&a->result);
	ev_io_init(&a->rio, on_read, -1, EV_READ);
	ev_io_init(&a->wio, on_write, -1, EV_WRITE);
	ev_timer_init(&a->timeout, on_timeout, (double)task->timeout, 0.);
	ev_timer_init(&a->drain, on_drain, DRAIN_AFTER_EXIT_S, 0.);
	a->rio.data = a->wio.data = a->timeout.data = a->drain.data = a;
	a->child.data = a;

	spawned = spawn_worker(task->type == TASK_SHELL ?
	    eng->opts.worker_path : eng->net_worker, &sw, &serr) == 0;
	if (!spawned && spawn_transient(sw.error) &&
	    !spawn_give_up(eng, serr.msg)) {
		attempt_free(a);
		spawn_hold(run, i, serr.msg);
		return;
	}
	if (spawned) {
		spawn_recovered(eng);
		a->pid = sw.pid;
		a->fd = sw.fd;
	}
	a->no = ++t->attempts;
	a->started_ms = now_ms();
	a->started = ev_now(eng->loop);
	a->cap = attempt_cap(a);
	t->cur = a;
	run->running++;
	run->wfg->running++;
	eng->running++;
	(void)task_event(run, i, E_DISPATCH);

	if (store_attempt_begin(eng->store, run->run_id, task->name, a->no,
	    a->started_ms, &a->id, &err) == -1) {
		log_error("run %" PRId64 " task '%s': cannot record the "
		    "attempt; not starting it: %s", run->run_id, task->name,
		    err.msg);
		a->id = -1;
		if (spawned)
			goto kill;
		a->exited = a->eof = 1;
		attempt_finish(a);
		return;
	}
	if (eng->hooks.task_started != NULL)
		eng->hooks.task_started(eng->hooks.arg, run->wf, task,
		    run->run_id, a->no);

	if (!spawned) {
		waited[0] = '\0';
		if (eng->spawn_gave_up)
			snprintf(waited, sizeof(waited), " (no worker could "
			    "start for %g s)",
			    eng->opts.spawn_giveup_ms / 1000.0);
		snprintf(msg, sizeof(msg), "cannot start the task: %s%s",
		    serr.msg, waited);
		attempt_error(a, msg);
		a->exited = a->eof = 1;
		attempt_finish(a);
		return;
	}
	if (attempt_cg_create(a, &err) == -1 || queue_spec(a, &err) == -1) {
		snprintf(msg, sizeof(msg), "cannot start the task: %s",
		    err.msg);
		attempt_error(a, msg);
		goto kill;
	}
	/* Before the SPEC goes out: the worker forks nothing until it has it. */
	if (a->cg != NULL && cg_attach(a->cg, a->pid, &err) == -1) {
		snprintf(msg, sizeof(msg), "cannot isolate the task: %s",
		    err.msg);
		attempt_error(a, msg);
		goto kill;
	}
	goto watch;
kill:
	/* The worker has no SPEC: it dies, and the child watcher reaps it. */
	buf_reset(&a->wbuf);
	(void)kill(-a->pid, SIGKILL);
watch:
	ev_child_init(&a->child, on_child, a->pid, 0);
	ev_child_start(eng->loop, &a->child);
	ev_io_set(&a->rio, a->fd, EV_READ);
	ev_io_set(&a->wio, a->fd, EV_WRITE);
	if (!eng->out_paused)
		ev_io_start(eng->loop, &a->rio);
	ev_io_start(eng->loop, &a->wio);
	ev_timer_start(eng->loop, &a->timeout);
	log_debug("run %" PRId64 " task '%s' attempt %u: worker %ld",
	    run->run_id, task->name, a->no, (long)a->pid);
}

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

static void
run_free(struct engine_run *run)
{
	size_t	 i;

	if (run->tasks != NULL)
		for (i = 0; i < run->wf->ntasks; i++) {
			struct task_rt *t = &run->tasks[i];

			ev_timer_stop(run->eng->loop, &t->backoff);
			if (t->cur != NULL) {
				/* Only when the engine is torn down early. */
				attempt_sigkill(t->cur);
				attempt_free(t->cur);
			}
		}
	run->eng->out_disk -= run->out_bytes;
	dag_ready_free(&run->ready);
	dag_free(&run->dag);
	pf_free(run->tasks);
	pf_free(run->rq);
	wfg_unref(run->eng, run->wfg);
	pf_free(run);
}

/* Keeps a run end the store refused, to try again later. */
static void
pending_add(struct engine *eng, int64_t run_id, const char *status,
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
	snprintf(p->status, sizeof(p->status), "%s", status);
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

	for (pp = &eng->pending; (p = *pp) != NULL; ) {
		if (store_run_end(eng->store, p->run_id, p->status,
		    p->ended_ms, p->error, &err) == -1 &&
		    strstr(err.msg, "already ended") == NULL) {
			pp = &p->next;
			left++;
			continue;
		}
		log_info("run %" PRId64 ": its end (%s) is recorded now",
		    p->run_id, p->status);
		*pp = p->next;
		pf_free(p->error);
		pf_free(p);
	}
	if (left == 0)
		ev_timer_stop(eng->loop, &eng->pending_timer);
	return left;
}

static void
on_pending_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	(void)engine_flush_pending(w->data);
}

static void
run_end(struct engine_run *run)
{
	struct engine	*eng = run->eng;
	struct engine_run **pp;
	const struct pf_workflow *wf;
	struct pf_err	 err;
	const char	*status, *error;
	int64_t		 ended = now_ms(), run_id;
	void		*cookie;

	status = run->cancelled ? "cancelled" : run->failed ? "failed" :
	    "success";
	error = run->cancelled ? "cancelled" : run->failed ?
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
	run_free(run);
	if (eng->hooks.run_ended != NULL)
		eng->hooks.run_ended(eng->hooks.arg, wf, run_id, status, cookie);
}

/*
 * Starts what can start and ends runs that are complete.  Re-entrant
 * calls (a dispatch that fails at once finishes its attempt, which pumps)
 * only ask the outer call to go round again, so the stack stays flat.
 */
static void
pump(struct engine *eng)
{
	struct engine_run	*run, *next;
	size_t			 i;

	if (eng->in_pump) {
		eng->pump_again = 1;
		return;
	}
	eng->in_pump = 1;
	do {
		eng->pump_again = 0;
		for (run = eng->runs; run != NULL; run = run->next) {
			while (run->rq_len > 0 && !run->cancelled &&
			    !eng->draining && run_has_slot(run)) {
				i = run->rq[run->rq_head];
				run->rq_head = (run->rq_head + 1) %
				    run->wf->ntasks;
				run->rq_len--;
				dispatch(run, i);
			}
		}
		for (run = eng->runs; run != NULL; run = next) {
			next = run->next;
			if (run->nfinal == run->wf->ntasks &&
			    run->running == 0)
				run_end(run);
		}
	} while (eng->pump_again);
	eng->in_pump = 0;
}

/* ---- runs ------------------------------------------------------------------- */

/* A run's in-memory state, not yet recorded or linked. */
static struct engine_run *
run_new(struct engine *eng, const struct pf_workflow *wf, struct pf_err *err)
{
	struct engine_run	*run;
	size_t			 i, k;

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
	if (dag_init(&run->dag, wf->ntasks) == -1) {
		pf_err_set(err, "workflow too large");
		wfg_unref(eng, run->wfg);
		pf_free(run);
		return NULL;
	}
	for (i = 0; i < wf->ntasks; i++)
		for (k = 0; k < wf->tasks[i].ndepends_on; k++)
			if (dag_add_edge(&run->dag, i, wf->tasks[i].dep_idx[k],
			    err) == -1)
				goto fail;
	if (dag_finish(&run->dag, err) == -1 ||
	    dag_ready_init(&run->ready, &run->dag) == -1)
		goto fail;
	run->tasks = pf_calloc(wf->ntasks, sizeof(*run->tasks));
	run->rq = pf_calloc(wf->ntasks, sizeof(*run->rq));
	if (run->tasks == NULL || run->rq == NULL) {
		pf_err_set(err, "out of memory");
		goto fail;
	}
	for (i = 0; i < wf->ntasks; i++) {
		run->tasks[i].run = run;
		run->tasks[i].idx = i;
		ev_timer_init(&run->tasks[i].backoff, on_backoff, 0., 0.);
		run->tasks[i].backoff.data = &run->tasks[i];
	}
	return run;
fail:
	run_free(run);
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
	if ((run = run_new(eng, wf, err)) == NULL)
		return -1;
	memset(&rs, 0, sizeof(rs));
	rs.trigger = so != NULL && so->trigger != NULL ? so->trigger :
	    eng->opts.trigger;
	rs.started_ms = now_ms();
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
		run_free(run);
		return 0;
	}
	run->run_id = id;
	run->cookie = so != NULL ? so->cookie : NULL;
	if (run_id_out != NULL)
		*run_id_out = run->run_id;
	run->next = eng->runs;
	eng->runs = run;
	collect_ready(run);
	pump(eng);
	return 0;
fail:
	run_free(run);
	return -1;
}

int
engine_start(struct engine *eng, const struct pf_workflow *wf,
    int64_t *run_id_out, struct pf_err *err)
{
	return engine_start_ex(eng, wf, NULL, run_id_out, NULL, err);
}

/* Resume: what the store says about one task of the run. */
struct task_hist {
	unsigned	 attempts;	/* highest attempt number recorded */
	int		 success;
	int		 skip_row;	/* a skipped row exists already */
	const char	*last;		/* status of the highest attempt */
};

/* A resumed task settles from its history; dependents as in task_settle. */
static void
restore_task(struct engine_run *run, size_t i, const struct task_hist *h,
    const struct task_hist *hist)
{
	struct engine		*eng = run->eng;
	const struct pf_task	*task = &run->wf->tasks[i];
	struct task_rt		*t = &run->tasks[i];
	const size_t		*skipped;
	struct pf_err		 err;
	char			 why[WF_TASK_NAME_MAX + 128];
	enum tevent		 ev;
	long			 n, k;

	t->attempts = h->attempts;
	if (h->success) {
		if (task_event(run, i, E_RESTORE_OK) == 0)
			(void)dag_ready_done(&run->ready, i);
		return;
	}
	if (h->attempts == 0 || h->attempts <= task->retry)
		return;		/* runs (again) */
	ev = h->last != NULL && strcmp(h->last, "timeout") == 0 ?
	    E_RESTORE_TIMEOUT : E_RESTORE_FAIL;
	if (task_event(run, i, ev) == -1)
		return;
	run->failed = 1;
	if (task->continue_on_failure) {
		(void)dag_ready_done(&run->ready, i);
		return;
	}
	n = dag_ready_fail(&run->ready, i, &skipped);
	snprintf(why, sizeof(why), "dependency '%s' %s", task->name,
	    ev == E_RESTORE_TIMEOUT ? "timed out" : "failed");
	for (k = 0; k < n; k++) {
		size_t	 x = skipped[k];

		if (task_event(run, x, E_SKIP) == -1 || hist[x].skip_row)
			continue;
		if (store_task_skipped(eng->store, run->run_id,
		    run->wf->tasks[x].name, why, now_ms(), &err) == -1)
			log_warnx("run %" PRId64 ": cannot record skipped "
			    "task '%s': %s", run->run_id,
			    run->wf->tasks[x].name, err.msg);
	}
}

int
engine_resume(struct engine *eng, const struct pf_workflow *wf,
    int64_t run_id, const struct store_attempt *atts, size_t natts,
    void *cookie, struct pf_err *err)
{
	struct engine_run	*run;
	struct task_hist	*hist;
	size_t			 i, k;
	long			 ti;
	int			 was_cancelled = 0;

	if ((run = run_new(eng, wf, err)) == NULL)
		return -1;
	if ((hist = pf_calloc(wf->ntasks ? wf->ntasks : 1,
	    sizeof(*hist))) == NULL) {
		pf_err_set(err, "out of memory");
		run_free(run);
		return -1;
	}
	run->run_id = run_id;
	run->cookie = cookie;
	for (k = 0; k < natts; k++) {
		const struct store_attempt *a = &atts[k];

		if (a->task_name == NULL || a->status == NULL ||
		    (ti = workflow_task_index(wf, a->task_name)) < 0)
			continue;	/* a task the definition lost */
		if (a->attempt == 0) {
			hist[ti].skip_row = 1;
			continue;
		}
		if (strcmp(a->status, "cancelled") == 0)
			was_cancelled = 1;
		if (strcmp(a->status, "success") == 0)
			hist[ti].success = 1;
		if (a->attempt >= hist[ti].attempts) {
			hist[ti].attempts = a->attempt;
			hist[ti].last = a->status;
		}
	}
	/*
	 * Replay in topological order: a task can only be restored once its
	 * dependencies are, exactly as the run reached it.
	 */
	for (k = 0; k < wf->ntasks; k++) {
		i = wf->order[k];
		if (dag_ready_state(&run->ready, i) != DAG_READY) {
			/* Numbering continues even for a task that waits. */
			if (hist[i].attempts > run->tasks[i].attempts)
				run->tasks[i].attempts = hist[i].attempts;
			continue;
		}
		restore_task(run, i, &hist[i], hist);
	}
	pf_free(hist);
	run->next = eng->runs;
	eng->runs = run;
	collect_ready(run);
	if (was_cancelled)
		run_cancel(run, "cancelled before the supervisor restarted");
	pump(eng);
	return 0;
}

static void
run_cancel(struct engine_run *run, const char *why)
{
	struct engine		*eng = run->eng;
	struct pf_err		 err;
	size_t			 i;

	if (run->cancelled)
		return;
	run->cancelled = 1;
	log_info("run %" PRId64 " of '%s': cancelling (%s)", run->run_id,
	    log_q(run->wf->name), why);
	run->rq_len = 0;
	for (i = 0; i < run->wf->ntasks; i++) {
		struct task_rt *t = &run->tasks[i];

		switch (t->state) {
		case T_RUNNING:
			t->cur->cancelled = 1;
			attempt_stop(t->cur);
			break;
		case T_WAITING:
		case T_READY:
		case T_BACKOFF:
			ev_timer_stop(eng->loop, &t->backoff);
			(void)task_event(run, i, E_CANCEL);
			if (store_task_skipped(eng->store, run->run_id,
			    run->wf->tasks[i].name, why, now_ms(), &err) == -1)
				log_warnx("run %" PRId64 ": %s", run->run_id,
				    err.msg);
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
		run_cancel(run, why);
	pump(eng);
}

int
engine_cancel_run(struct engine *eng, int64_t run_id, const char *why)
{
	struct engine_run	*run;

	for (run = eng->runs; run != NULL; run = run->next)
		if (run->run_id == run_id)
			break;
	if (run == NULL || run->cancelled)
		return -1;
	run_cancel(run, why);
	pump(eng);
	return 0;
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
	ev_timer_init(&eng->pending_timer, on_pending_timer, 0., 0.);
	eng->pending_timer.data = eng;
	ev_timer_init(&eng->trash_timer, on_trash_timer, 0., 0.);
	eng->trash_timer.data = eng;
	if (eng->opts.spawn_backoff_ms == 0)
		eng->opts.spawn_backoff_ms = 1;
	if (eng->opts.spawn_backoff_max_ms < eng->opts.spawn_backoff_ms)
		eng->opts.spawn_backoff_max_ms = eng->opts.spawn_backoff_ms;
	ev_timer_init(&eng->spawn_timer, on_spawn_timer, 0., 0.);
	eng->spawn_timer.data = eng;
	if (eng->opts.output_mem < FRAME_PAYLOAD_MAX)
		eng->opts.output_mem = FRAME_PAYLOAD_MAX;
	ev_timer_init(&eng->out_timer, on_out_timer, 0., 0.);
	eng->out_timer.data = eng;
	cg_opts_default(&co);
	co.force_none = opts->no_cgroups;
	co.defer_sweep = 1;
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
	eng->rng = (uint64_t)getpid() << 32 ^ (uint64_t)now_ms() ^
	    0x9e3779b97f4a7c15ULL;
	return eng;
}

void
engine_free(struct engine *eng)
{
	if (eng == NULL)
		return;
	while (eng->runs != NULL) {
		struct engine_run *run = eng->runs;

		eng->runs = run->next;
		run_free(run);
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
