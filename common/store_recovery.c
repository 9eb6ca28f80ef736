/*
 * What the supervisor records so that a restart can pick up where a dead
 * one stopped: a run's start with its owner and scheduled time (a fire
 * cannot start twice), the worker's and task's process identities, and
 * the runs and attempts still marked running, read back at start.
 */
#include <limits.h>
#include <stdint.h>

#include <sqlite3.h>

#include "picoflow/alloc.h"
#include "picoflow/err.h"
#include "picoflow/store.h"
#include "store_int.h"

int
store_run_start(struct pf_store *st, const struct store_run_start *rs,
    int64_t *run_id, int *duplicate, struct pf_err *err)
{
	sqlite3_stmt	*s;
	int64_t		 id;
	int		 rc;

	if (duplicate != NULL)
		*duplicate = 0;
	if (store_check_writable(st, err) == -1 ||
	    store_check_ms(rs->started_ms, "start", err) == -1)
		return -1;
	if (rs->scheduled_ms >= 0 &&
	    store_check_ms(rs->scheduled_ms, "scheduled", err) == -1)
		return -1;
	if (store_tx_begin(st, err) == -1)
		return -1;
	if (rs->scheduled_ms >= 0) {
		/* Checked under the write lock, so the answer holds. */
		if ((s = store_stmt(st, SQ_META_DUP, err)) == NULL)
			goto fail;
		sqlite3_bind_int64(s, 1, rs->workflow_id);
		sqlite3_bind_int64(s, 2, rs->scheduled_ms);
		rc = sqlite3_step(s);
		if (rc == SQLITE_ROW) {
			if (run_id != NULL)
				*run_id = sqlite3_column_int64(s, 0);
			store_stmt_done(s);
			if (duplicate != NULL)
				*duplicate = 1;
			store_tx_rollback(st);
			return 0;
		}
		if (rc != SQLITE_DONE) {
			store_sqlerr(st, err, "looking up a scheduled fire");
			store_stmt_done(s);
			goto fail;
		}
		store_stmt_done(s);
	}
	if (store_run_begin(st, rs->workflow_id, rs->trigger, rs->started_ms,
	    &id, err) == -1)
		goto fail;
	if ((s = store_stmt(st, SQ_RUN_META, err)) == NULL)
		goto fail;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, rs->workflow_id);
	if (rs->scheduled_ms >= 0)
		sqlite3_bind_int64(s, 3, rs->scheduled_ms);
	store_bind_text(s, 4, rs->owner != NULL ? rs->owner : STORE_OWNER_RUN);
	if (store_step_done(st, s, "recording the start of a run", err) == -1)
		goto fail;
	if (store_tx_commit(st, err) == -1)
		goto fail;
	*run_id = id;
	return 0;
fail:
	store_tx_rollback(st);
	return -1;
}

int
store_attempt_procs(struct pf_store *st, int64_t attempt_id,
    const struct store_procs *p, struct pf_err *err)
{
	sqlite3_stmt	*s;

	if (store_check_writable(st, err) == -1)
		return -1;
	if ((s = store_stmt(st, SQ_PROCS_SET, err)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, attempt_id);
	store_bind_opt_i64(s, 2, p->worker_pid > 0 ? p->worker_pid : -1);
	store_bind_opt_i64(s, 3, p->worker_pid > 0 ? p->worker_start : -1);
	store_bind_opt_i64(s, 4, p->task_pid > 0 ? p->task_pid : -1);
	store_bind_opt_i64(s, 5, p->task_pid > 0 ? p->task_start : -1);
	if (store_step_fk(st, s, "recording the processes of a task",
	    "task attempt", attempt_id, err) == -1)
		return -1;
	return 0;
}

void
store_inflight_free(struct store_inflight *v, size_t n)
{
	size_t	 i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++) {
		pf_free(v[i].workflow);
		pf_free(v[i].owner);
		pf_free(v[i].trigger);
	}
	pf_free(v);
}

int
store_runs_inflight(struct pf_store *st, struct store_inflight **out,
    size_t *n, struct pf_err *err)
{
	struct store_inflight	*v = NULL, *r;
	sqlite3_stmt		*s;
	size_t			 cap = 0, cnt = 0;
	int			 rc;

	*out = NULL;
	*n = 0;
	if (store_check_writable(st, err) == -1)
		return -1;
	if ((s = store_stmt(st, SQ_INFLIGHT, err)) == NULL)
		return -1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (store_grow((void **)&v, &cap, cnt, sizeof(*v)) == -1) {
			pf_err_set(err, "out of memory reading runs in flight");
			goto fail;
		}
		r = &v[cnt];
		r->id = sqlite3_column_int64(s, 0);
		r->pid = store_col_i64(s, 2, -1);
		r->scheduled_ms = store_col_i64(s, 4, -1);
		r->started_ms = store_col_i64(s, 6, 0);
		if (store_col_str(s, 1, &r->workflow) == -1 ||
		    store_col_str(s, 3, &r->owner) == -1 ||
		    store_col_str(s, 5, &r->trigger) == -1) {
			cnt++;
			pf_err_set(err, "out of memory reading runs in flight");
			goto fail;
		}
		cnt++;
	}
	if (rc != SQLITE_DONE) {
		store_sqlerr(st, err, "reading runs in flight");
		goto fail;
	}
	store_stmt_done(s);
	*out = v;
	*n = cnt;
	return 0;
fail:
	store_stmt_done(s);
	store_inflight_free(v, cnt);
	return -1;
}

void
store_attempts_inflight_free(struct store_attempt_proc *v, size_t n)
{
	size_t	 i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		pf_free(v[i].task_name);
	pf_free(v);
}

int
store_attempts_inflight(struct pf_store *st, int64_t run_id,
    struct store_attempt_proc **out, size_t *n, struct pf_err *err)
{
	struct store_attempt_proc *v = NULL, *a;
	sqlite3_stmt		*s;
	size_t			 cap = 0, cnt = 0;
	int64_t			 att;
	int			 rc;

	*out = NULL;
	*n = 0;
	if (store_check_writable(st, err) == -1)
		return -1;
	if ((s = store_stmt(st, SQ_ATT_INFLIGHT, err)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, run_id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (store_grow((void **)&v, &cap, cnt, sizeof(*v)) == -1) {
			pf_err_set(err, "out of memory reading attempts");
			goto fail;
		}
		a = &v[cnt];
		a->id = sqlite3_column_int64(s, 0);
		att = store_col_i64(s, 2, 1);
		a->attempt = (att < 0 || att > INT_MAX) ? 0 : (unsigned)att;
		/* Pids from a file: only plausible ones are kept. */
		a->procs.worker_pid = store_col_i64(s, 3, -1);
		a->procs.worker_start = store_col_i64(s, 4, -1);
		a->procs.task_pid = store_col_i64(s, 5, -1);
		a->procs.task_start = store_col_i64(s, 6, -1);
		if (a->procs.worker_pid <= 1 || a->procs.worker_pid > INT32_MAX)
			a->procs.worker_pid = -1;
		if (a->procs.task_pid <= 1 || a->procs.task_pid > INT32_MAX)
			a->procs.task_pid = -1;
		if (store_col_str(s, 1, &a->task_name) == -1) {
			pf_err_set(err, "out of memory reading attempts");
			goto fail;
		}
		cnt++;
	}
	if (rc != SQLITE_DONE) {
		store_sqlerr(st, err, "reading attempts in flight");
		goto fail;
	}
	store_stmt_done(s);
	*out = v;
	*n = cnt;
	return 0;
fail:
	store_stmt_done(s);
	store_attempts_inflight_free(v, cnt);
	return -1;
}
