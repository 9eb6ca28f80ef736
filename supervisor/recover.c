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

/* Ends every running attempt of run_id as failed with `reason`. */
static int
interrupt_attempts(struct pf_store *st, int64_t run_id, int kill_procs,
    const char *reason, struct recover_stats *rs, struct pf_err *err)
{
	struct store_attempt_proc *a;
	struct store_attempt_end e;
	size_t			 n, i;

	if (store_attempts_inflight(st, run_id, &a, &n, err) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		if (kill_procs) {
			rs->killed += (size_t)kill_group(a[i].procs.task_pid,
			    a[i].procs.task_start, "task", run_id);
			rs->killed += (size_t)kill_group(a[i].procs.worker_pid,
			    a[i].procs.worker_start, "pf-worker", run_id);
		}
		store_attempt_end_init(&e);
		e.status = PF_STATUS_FAILED;
		e.reason = reason;
		e.ended_ms = clock_wall_ms();
		if (store_attempt_end(st, a[i].id, &e, err) == -1) {
			store_attempts_inflight_free(a, n);
			return -1;
		}
		rs->interrupted++;
		log_info("recovery: run %" PRId64 " task '%s' attempt %u: "
		    "recorded as interrupted", run_id, a[i].task_name,
		    a[i].attempt);
	}
	store_attempts_inflight_free(a, n);
	return 0;
}

void
recover_runs_free(struct recover_run *v, size_t n)
{
	size_t	 i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++) {
		pf_free(v[i].workflow);
		pf_free(v[i].trigger);
	}
	pf_free(v);
}

int
recover_scan(struct pf_store *st, struct recover_run **out, size_t *nout,
    struct recover_stats *rs, struct pf_err *err)
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
			if (interrupt_attempts(st, v[i].id, 0, reason, rs,
			    err) == -1 ||
			    store_run_end(st, v[i].id, PF_STATUS_FAILED,
			    clock_wall_ms(), reason, err) == -1)
				goto fail;
			log_warnx("recovery: run %" PRId64 " of '%s': %s; "
			    "recorded as failed", v[i].id, v[i].workflow,
			    reason);
			rs->failed++;
			continue;
		}
		if (interrupt_attempts(st, v[i].id, 1, RECOVER_REASON, rs,
		    err) == -1)
			goto fail;
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
