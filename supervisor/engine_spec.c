/*
 * What an attempt is given: the task's environment and the SPEC frame
 * queued for its worker (engine_queue_spec) with the limits resolved at
 * dispatch (a->lim), and its cgroups, created with the same limits, and
 * at its end read for accounting, killed and removed (busy ones from a
 * timer).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "picoflow/alloc.h"
#include "picoflow/log.h"
#include "engine_int.h"

/* How often busy attempt cgroups are tried again for removal. */
#define CG_RETRY_S		0.05

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
	pf_strv_free(e.v, e.n);
	return -1;
}

/*
 * The model's ssh and http settings (workflow.h) as the wire's
 * (proto.h), field by field: the one place a model change meets the
 * wire format.  Strings are borrowed; *hdrs is the caller's to free.
 */
static void
spec_ssh(const struct pf_ssh *m, struct proto_ssh *w)
{
	w->host = m->host;
	w->user = m->user;
	w->command = m->command;
	w->key_path = m->key_path;
	w->port = m->port;
	w->verify_host_key = m->verify_host_key;
}

static int
spec_http(const struct pf_http *m, struct proto_http *w,
    struct tlv_kv **hdrs)
{
	size_t	 i;

	*hdrs = NULL;
	if (m->headers.n > 0 &&
	    (*hdrs = pf_calloc(m->headers.n, sizeof(**hdrs))) == NULL)
		return -1;
	for (i = 0; i < m->headers.n; i++) {
		(*hdrs)[i].key = m->headers.v[i].key;
		(*hdrs)[i].value = m->headers.v[i].value;
	}
	w->url = m->url;
	w->method = m->method;
	w->headers = *hdrs;
	w->nheaders = m->headers.n;
	w->body = m->body;
	w->body_is_json = m->body_is_json;
	w->timeout = m->timeout;
	w->allow_private_ips = m->allow_private_ips;
	w->ca_file = m->ca_file;
	w->success_status = m->success_status;
	w->nsuccess_status = m->nsuccess_status;
	return 0;
}

int
engine_queue_spec(struct attempt *a, struct pf_err *err)
{
	const struct pf_workflow *wf = a->run->wf;
	const struct pf_task	*t = &wf->tasks[a->task];
	struct proto_spec	 s;
	struct pf_buf		 msg;
	struct tlv_kv		*hdrs = NULL;
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
	s.limits.memory = a->lim.memory;
	s.limits.swap = a->lim.swap;
	s.limits.cpu_milli = a->lim.cpu_milli;
	s.limits.pids = a->lim.pids;
	s.limits.nofile = a->lim.nofile;
	s.run_as = t->run_as != NULL ? t->run_as : a->run->eng->opts.run_as;
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
	if (a->run->eng->opts.attach_dir != NULL) {
		s.attach_dir = a->run->eng->opts.attach_dir;
		s.attach_window_ms = a->run->eng->opts.attach_window_ms;
		s.timeout_ms = (uint64_t)t->timeout * 1000;
	}
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
		spec_ssh(&t->u.ssh, &s.ssh);
		break;
	case TASK_HTTP:
		s.executor = PROTO_EXEC_HTTP;
		if (spec_http(&t->u.http, &s.http, &hdrs) == -1) {
			pf_err_set(err, "out of memory building the spec");
			return -1;
		}
		break;
	}
	if (build_env(a, &s.env, &s.nenv) == -1) {
		pf_free(hdrs);
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
	pf_strv_free(s.env, s.nenv);
	pf_free(hdrs);
	return rc;
}

void
engine_on_trash_timer(struct ev_loop *loop, ev_timer *w, int revents)
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
cg_discard_now(struct engine *eng, struct cg *g)
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

/*
 * An ended attempt's cgroups go when the loop is idle: the rmdirs are
 * off the path from one attempt's end to the next one's start.  Their
 * processes are already killed (engine_attempt_cg_end).
 */
void
engine_cg_discard(struct engine *eng, struct cg *g)
{
	struct cg_trash	*t;

	if ((t = pf_calloc(1, sizeof(*t))) == NULL) {
		cg_discard_now(eng, g);
		return;
	}
	t->cg = g;
	t->next = eng->rmq;
	eng->rmq = t;
	ev_idle_start(eng->loop, &eng->cg_idle);
}

/* One piece of cgroup work per idle turn, so the loop stays responsive. */
void
engine_on_cg_idle(struct ev_loop *loop, ev_idle *w, int revents)
{
	struct engine	*eng = w->data;
	struct cg_trash	*t;
	struct pf_err	 err;

	(void)revents;
	if ((t = eng->rmq) != NULL) {
		eng->rmq = t->next;
		cg_discard_now(eng, t->cg);
		pf_free(t);
		return;
	}
	/* One more ready than are running: the starts to come soon. */
	if (eng->pool_on == 1 && !eng->draining && eng->cgs != NULL) {
		switch (cg_pool_fill(eng->cgs, &eng->pool_lim,
		    (size_t)eng->running + 1, &err)) {
		case 1:
			return;
		case -1:
			/* Attempts still make their own (and say why). */
			log_debug("cgroup: no pool: %s", err.msg);
			eng->pool_on = -1;
			break;
		}
	}
	ev_idle_stop(loop, w);
}

/* The removals still queued, at once (the engine is going away). */
void
engine_cg_flush(struct engine *eng)
{
	struct cg_trash	*t;

	ev_idle_stop(eng->loop, &eng->cg_idle);
	while ((t = eng->rmq) != NULL) {
		eng->rmq = t->next;
		cg_discard_now(eng, t->cg);
		pf_free(t);
	}
}

/* The attempt's cgroups with its limits; none in isolation mode none. */
int
engine_attempt_cg_create(struct attempt *a, struct pf_err *err)
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
	l.memory = a->lim.memory;
	l.swap = a->lim.swap;
	l.cpu_milli = a->lim.cpu_milli;
	l.pids = a->lim.pids;
	/* pf-worker is one of them: the task gets the number it asked for. */
	if (l.pids >= 0 && l.pids < INT64_MAX)
		l.pids++;
	/* The next attempts are likely to have the same limits. */
	eng->pool_lim = l;
	if (eng->pool_on == 0)
		eng->pool_on = 1;
	if (eng->pool_on == 1)
		ev_idle_start(eng->loop, &eng->cg_idle);
	if (cg_take(eng->cgs, &l, &a->cg) == 1)
		return 0;
	return cg_create(eng->cgs, name, &l, &a->cg, err);
}

/*
 * The attempt's cgroups at its end: kill what is left (nothing, unless
 * a process escaped the worker), take the accounting, name an OOM kill
 * or the pids limit as the reason a failed attempt failed, remove them.
 */
void
engine_attempt_cg_end(struct attempt *a, struct store_attempt_end *e,
    char *reason, size_t rlen)
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
	if (e->status == PF_STATUS_FAILED) {
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
	engine_cg_discard(a->run->eng, a->cg);
	a->cg = NULL;
}
