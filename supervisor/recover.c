#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "picoflow/alloc.h"
#include "picoflow/clock.h"
#include "picoflow/log.h"
#include "procid.h"
#include "attachdir.h"
#include "recover.h"

/*
 * SIGKILLs the process group led by pid, but only if its leader is the
 * very process recorded (same start time): a reused pid is a stranger.
 */
static int
kill_group(int64_t pid, int64_t start, const char *what, int64_t run_id)
{
	if (pid <= 1 || pid > INT32_MAX || !procid_matches((pid_t)pid, start))
		return 0;
	if (kill(-(pid_t)pid, SIGKILL) == -1 && errno != ESRCH) {
		log_warn("recovery: run %" PRId64 ": cannot kill the %s "
		    "(process group %" PRId64 ")", run_id, what, pid);
		return 0;
	}
	log_info("recovery: run %" PRId64 ": killed the leftover %s "
	    "(process group %" PRId64 ")", run_id, what, pid);
	return 1;
}

/* Ends one running attempt with status and reason. */
static int
end_attempt(struct pf_store *st, int64_t id, enum pf_status status,
    const char *reason, struct pf_err *err)
{
	struct store_attempt_end e;

	store_attempt_end_init(&e);
	e.status = status;
	e.reason = reason;
	e.ended_ms = clock_wall_ms();
	return store_attempt_end(st, id, &e, err);
}

/* Ends every running attempt of a dead `picoflow run` as failed. */
static int
fail_attempts(struct pf_store *st, int64_t run_id, const char *reason,
    struct recover_stats *rs, struct pf_err *err)
{
	struct store_attempt_proc *a;
	size_t			 n, i;

	if (store_attempts_inflight(st, run_id, &a, &n, err) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		if (end_attempt(st, a[i].id, PF_STATUS_FAILED, reason,
		    err) == -1) {
			store_attempts_inflight_free(a, n);
			return -1;
		}
		rs->interrupted++;
	}
	store_attempts_inflight_free(a, n);
	return 0;
}

/* Interrupted attempts of the task just before `attempt`, in a row. */
static unsigned
interruptions_before(struct pf_store *st, int64_t run_id, const char *task,
    unsigned attempt)
{
	struct store_attempt	*v;
	struct pf_err		 err;
	size_t			 n;
	unsigned		 k;

	if (store_attempts_list(st, run_id, task, 0, &v, &n, &err) == -1)
		return 0;
	k = store_attempts_interrupted_tail(v, n, NULL, attempt - 1);
	store_attempts_free(v, n);
	return k;
}

/*
 * An attempt that cannot be taken over: what is left of it is killed
 * and it is recorded interrupted, which does not spend a retry.
 */
static int
interrupt_one(struct pf_store *st, const struct recover_opts *o,
    int64_t run_id, const struct store_attempt_proc *a, const char *why,
    struct recover_stats *rs, struct pf_err *err)
{
	char		 reason[PF_ERR_MAX * 2 + 320];
	unsigned	 before;
	int		 k;

	rs->killed += (size_t)kill_group(a->procs.task_pid,
	    a->procs.task_start, "task", run_id);
	rs->killed += (size_t)kill_group(a->procs.worker_pid,
	    a->procs.worker_start, "pf-worker", run_id);
	k = snprintf(reason, sizeof(reason), "%s; not counted against "
	    "retry", why);
	before = interruptions_before(st, run_id, a->task_name, a->attempt);
	if (o->max_interruptions > 0 && before + 1 >= o->max_interruptions &&
	    k > 0 && (size_t)k < sizeof(reason))
		snprintf(reason + k, sizeof(reason) - (size_t)k, "; %u "
		    "interruptions in a row (--max-interruptions %u): the "
		    "task fails", before + 1, o->max_interruptions);
	if (end_attempt(st, a->id, PF_STATUS_INTERRUPTED, reason, err) == -1)
		return -1;
	if (o->attach_dir != NULL)
		attachdir_forget(o->attach_dir, a->id);
	rs->interrupted++;
	log_info("recovery: run %" PRId64 " task '%s' attempt %u: recorded "
	    "as interrupted (%s)", run_id, a->task_name, a->attempt, why);
	return 0;
}

/*
 * Takes over what can be taken of a run's running attempts (into rr's
 * adopts) and records the rest interrupted.
 */
static int
settle_attempts(struct pf_store *st, const struct recover_opts *o,
    struct recover_run *rr, struct recover_stats *rs, struct pf_err *err)
{
	struct store_attempt_proc *a;
	struct engine_adopt	*ad;
	struct pf_err		 why, why2;
	char			 msg[PF_ERR_MAX * 2 + 160];
	size_t			 n, i;
	int			 fd, rc = -1;
	pid_t			 wpid;

	if (store_attempts_inflight(st, rr->run_id, &a, &n, err) == -1)
		return -1;
	if (n > 0 && (rr->adopts = pf_calloc(n, sizeof(*rr->adopts))) ==
	    NULL) {
		pf_err_set(err, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++) {
		fd = -1;
		wpid = a[i].procs.worker_pid > 0 &&
		    a[i].procs.worker_pid <= INT32_MAX ?
		    (pid_t)a[i].procs.worker_pid : 0;
		if (o->attach_dir == NULL)
			pf_err_set(&why, "no attach directory");
		else if (attachdir_connect(o->attach_dir, a[i].id, &wpid,
		    a[i].procs.worker_start, &fd, &why) == 0) {
			rs->reattached++;
			if (a[i].procs.worker_pid != wpid) {
				a[i].procs.worker_pid = wpid;
				if (procid_start_time(wpid,
				    &a[i].procs.worker_start) == -1)
					a[i].procs.worker_start = -1;
			}
		}
		else if (attachdir_spool_result(o->attach_dir, a[i].id, &fd,
		    &why2) == 0) {
			wpid = 0;
			rs->spooled++;
		}
		if (fd == -1) {
			snprintf(msg, sizeof(msg), "interrupted: the "
			    "supervisor restarted and the attempt's worker "
			    "could not be re-attached (%s%s%s)", why.msg,
			    o->attach_dir != NULL ? "; " : "",
			    o->attach_dir != NULL ? why2.msg : "");
			if (interrupt_one(st, o, rr->run_id, &a[i], msg, rs,
			    err) == -1)
				goto out;
			continue;
		}
		ad = &rr->adopts[rr->nadopts++];
		ad->fd = fd;
		ad->worker_pid = wpid;
		ad->attempt = a[i].attempt;
		ad->attempt_id = a[i].id;
		ad->procs = a[i].procs;
		if ((ad->task_name = pf_strdup(a[i].task_name)) == NULL) {
			pf_err_set(err, "out of memory");
			goto out;
		}
		log_info("recovery: run %" PRId64 " task '%s' attempt %u: %s",
		    rr->run_id, a[i].task_name, a[i].attempt, wpid > 0 ?
		    "its worker still runs: re-attaching" : "its worker "
		    "ended: its result is in the spool");
	}
	rc = 0;
out:
	store_attempts_inflight_free(a, n);
	return rc;
}

void
recover_abandon(struct pf_store *st, const char *attach_dir,
    int64_t run_id, struct engine_adopt *ad, size_t n, const char *why)
{
	struct pf_err	 err;
	size_t		 k;

	for (k = 0; k < n; k++) {
		if (ad[k].fd != -1)
			close(ad[k].fd);
		ad[k].fd = -1;
		(void)kill_group(ad[k].procs.task_pid, ad[k].procs.task_start,
		    "task", run_id);
		(void)kill_group(ad[k].procs.worker_pid,
		    ad[k].procs.worker_start, "pf-worker", run_id);
		if (end_attempt(st, ad[k].attempt_id, PF_STATUS_FAILED, why,
		    &err) == -1)
			log_warnx("run %" PRId64 ": %s", run_id, err.msg);
		if (attach_dir != NULL)
			attachdir_forget(attach_dir, ad[k].attempt_id);
	}
}

void
recover_runs_free(struct recover_run *v, size_t n)
{
	size_t	 i, k;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++) {
		pf_free(v[i].workflow);
		pf_free(v[i].trigger);
		for (k = 0; k < v[i].nadopts; k++) {
			if (v[i].adopts[k].fd != -1)
				close(v[i].adopts[k].fd);
			pf_free(v[i].adopts[k].task_name);
		}
		pf_free(v[i].adopts);
	}
	pf_free(v);
}

int
recover_scan(struct pf_store *st, const struct recover_opts *o,
    struct recover_run **out, size_t *nout, struct recover_stats *rs,
    struct pf_err *err)
{
	struct store_inflight	*v;
	struct recover_run	*res = NULL, *nr;
	size_t			 n, i, cnt = 0;
	char			 reason[256];
	int			 ours;

	*out = NULL;
	*nout = 0;
	memset(rs, 0, sizeof(*rs));
	if (store_runs_inflight(st, &v, &n, err) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		ours = v[i].owner != NULL &&
		    strcmp(v[i].owner, STORE_OWNER_SUPERVISOR) == 0;
		if (!ours) {
			/* Nothing of ours runs yet: our own pid is a reuse. */
			if (v[i].pid > 0 && v[i].pid <= INT32_MAX &&
			    v[i].pid != (int64_t)getpid() &&
			    procid_alive((pid_t)v[i].pid)) {
				rs->left_alone++;
				continue;
			}
			snprintf(reason, sizeof(reason), "interrupted: the "
			    "process that ran it (pid %" PRId64 ") is gone",
			    v[i].pid);
			if (fail_attempts(st, v[i].id, reason, rs, err) == -1 ||
			    store_run_end(st, v[i].id, PF_STATUS_FAILED,
			    clock_wall_ms(), reason, err) == -1)
				goto fail;
			log_warnx("recovery: run %" PRId64 " of '%s': %s; "
			    "recorded as failed", v[i].id, v[i].workflow,
			    reason);
			rs->failed++;
			continue;
		}
		if ((nr = pf_reallocarray(res, cnt + 1, sizeof(*nr))) ==
		    NULL) {
			pf_err_set(err, "out of memory");
			goto fail;
		}
		res = nr;
		memset(&res[cnt], 0, sizeof(res[cnt]));
		res[cnt].run_id = v[i].id;
		res[cnt].scheduled_ms = v[i].scheduled_ms;
		res[cnt].started_ms = v[i].started_ms;
		res[cnt].workflow = pf_strdup(v[i].workflow ? v[i].workflow :
		    "");
		res[cnt].trigger = v[i].trigger ? pf_strdup(v[i].trigger) :
		    NULL;
		cnt++;
		if (res[cnt - 1].workflow == NULL) {
			pf_err_set(err, "out of memory");
			goto fail;
		}
		if (settle_attempts(st, o, &res[cnt - 1], rs, err) == -1)
			goto fail;
		rs->resumable++;
	}
	store_inflight_free(v, n);
	*out = res;
	*nout = cnt;
	return 0;
fail:
	store_inflight_free(v, n);
	recover_runs_free(res, cnt);
	return -1;
}
