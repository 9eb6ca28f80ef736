/*
 * The store's writes for one run: workflows, the start and end of runs and
 * task attempts (with their output when it was not chunked), skipped
 * tasks, and the schedule state cron catch-up reads back.  Each is one
 * statement or one transaction; a status update that finds its row
 * already ended says so rather than overwrite it.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "picoflow/err.h"
#include "picoflow/store.h"
#include "store_int.h"

/*
 * The text timestamp written to the original's started_at/completed_at
 * columns, in the form the Rust version wrote ("2024-03-05
 * 14:07:12.123+00:00"), so both old and new rows read alike.
 */
static void
fmt_ts(int64_t ms, char *buf, size_t len)
{
	struct tm	 tm;
	time_t		 t = (time_t)(ms / 1000);

	if (gmtime_r(&t, &tm) == NULL)
		memset(&tm, 0, sizeof(tm));
	(void)snprintf(buf, len, "%04d-%02d-%02d %02d:%02d:%02d.%03d+00:00",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

static int
bind_blob(sqlite3_stmt *s, int i, const void *p, size_t len)
{
	if (len == 0)
		return sqlite3_bind_zeroblob(s, i, 0);
	if (p == NULL)
		return SQLITE_MISUSE;
	return sqlite3_bind_blob64(s, i, p, len, SQLITE_STATIC);
}

int
store_workflow_upsert(struct pf_store *st, const char *name, const char *file,
    const char *schedule, const char *description, int64_t *workflow_id,
    struct pf_err *err)
{
	sqlite3_stmt	*s;
	int		 rc;

	if (store_check_writable(st, err) == -1 ||
	    store_check_name(name, "workflow", err) == -1)
		return -1;
	if ((s = store_stmt(st, SQ_WF_UPSERT, err)) == NULL)
		return -1;
	store_bind_text(s, 1, name);
	store_bind_text(s, 2, file);
	store_bind_text(s, 3, schedule);
	store_bind_text(s, 4, description);
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		store_sqlerr(st, err, "recording the workflow");
		store_stmt_done(s);
		return -1;
	}
	*workflow_id = sqlite3_column_int64(s, 0);
	return store_step_done(st, s, "recording the workflow", err);
}

int
store_run_begin(struct pf_store *st, int64_t workflow_id, const char *trigger,
    int64_t started_ms, int64_t *run_id, struct pf_err *err)
{
	sqlite3_stmt	*s;
	char		 ts[64];

	if (store_check_writable(st, err) == -1 ||
	    store_check_ms(started_ms, "start", err) == -1)
		return -1;
	if ((s = store_stmt(st, SQ_RUN_BEGIN, err)) == NULL)
		return -1;
	fmt_ts(started_ms, ts, sizeof(ts));
	sqlite3_bind_int64(s, 1, workflow_id);
	sqlite3_bind_text(s, 2, ts, -1, SQLITE_TRANSIENT);
	store_bind_text(s, 3, trigger != NULL ? trigger : "manual");
	sqlite3_bind_int64(s, 4, started_ms);
	sqlite3_bind_int64(s, 5, (int64_t)getpid());
	if (store_step_fk(st, s, "recording the start of a run",
	    "workflow", workflow_id, err) == -1)
		return -1;
	*run_id = sqlite3_last_insert_rowid(st->db);
	return 0;
}

/*
 * After an UPDATE ... WHERE status = 'running' changed nothing: says
 * whether the row is missing or already ended.
 */
static int
explain_not_running(struct pf_store *st, enum sq q, int64_t id,
    const char *what, struct pf_err *err)
{
	sqlite3_stmt	*s;
	int		 rc;

	if ((s = store_stmt(st, q, err)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		pf_err_set(err, "%s %lld already ended with status '%s'", what,
		    (long long)id, sqlite3_column_text(s, 0) ?
		    (const char *)sqlite3_column_text(s, 0) : "?");
	else if (rc == SQLITE_DONE)
		pf_err_set(err, "no %s with id %lld", what, (long long)id);
	else
		store_sqlerr(st, err, "reading a status");
	store_stmt_done(s);
	return -1;
}

int
store_run_end(struct pf_store *st, int64_t run_id, enum pf_status status,
    int64_t ended_ms, const char *error, struct pf_err *err)
{
	sqlite3_stmt	*s;
	char		 ts[64];

	if (store_check_writable(st, err) == -1)
		return -1;
	if (!pf_status_valid(status) || status == PF_STATUS_RUNNING ||
	    status == PF_STATUS_SKIPPED) {
		pf_err_set(err, "invalid final status '%s' for an execution",
		    pf_status_name(status));
		return -1;
	}
	if (store_check_ms(ended_ms, "end", err) == -1)
		return -1;
	if ((s = store_stmt(st, SQ_RUN_END, err)) == NULL)
		return -1;
	fmt_ts(ended_ms, ts, sizeof(ts));
	sqlite3_bind_int64(s, 1, run_id);
	store_bind_text(s, 2, pf_status_name(status));
	sqlite3_bind_text(s, 3, ts, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 4, ended_ms);
	store_bind_text(s, 5, error);
	if (store_step_done(st, s, "recording the end of a run", err) == -1)
		return -1;
	if (sqlite3_changes(st->db) != 1)
		return explain_not_running(st, SQ_RUN_STATUS, run_id,
		    "execution", err);
	return 0;
}

int
store_attempt_begin(struct pf_store *st, int64_t run_id,
    const char *task_name, unsigned attempt, int64_t started_ms,
    int64_t *attempt_id, struct pf_err *err)
{
	sqlite3_stmt	*s;
	char		 ts[64];

	if (store_check_writable(st, err) == -1 ||
	    store_check_name(task_name, "task", err) == -1 ||
	    store_check_ms(started_ms, "start", err) == -1)
		return -1;
	if (attempt == 0 || attempt > INT_MAX) {
		pf_err_set(err, "attempt number %u out of range (1..%d)",
		    attempt, INT_MAX);
		return -1;
	}
	if ((s = store_stmt(st, SQ_ATT_BEGIN, err)) == NULL)
		return -1;
	fmt_ts(started_ms, ts, sizeof(ts));
	sqlite3_bind_int64(s, 1, run_id);
	store_bind_text(s, 2, task_name);
	sqlite3_bind_text(s, 3, ts, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 4, started_ms);
	sqlite3_bind_int64(s, 5, (int64_t)attempt);
	/* The original's retry_count: retries before this attempt. */
	sqlite3_bind_int64(s, 6, (int64_t)attempt - 1);
	if (store_step_fk(st, s, "recording the start of a task",
	    "execution", run_id, err) == -1)
		return -1;
	*attempt_id = sqlite3_last_insert_rowid(st->db);
	return 0;
}

int
store_attempt_end(struct pf_store *st, int64_t attempt_id,
    const struct store_attempt_end *e, struct pf_err *err)
{
	sqlite3_stmt	*s;
	char		 ts[64];
	int		 rc = SQLITE_OK;
	int		 tx = 0;

	if (store_check_writable(st, err) == -1)
		return -1;
	if (!pf_status_valid(e->status) || e->status == PF_STATUS_RUNNING) {
		pf_err_set(err, "invalid final status '%s' for a task attempt",
		    pf_status_name(e->status));
		return -1;
	}
	if (store_check_ms(e->ended_ms, "end", err) == -1)
		return -1;
	if ((e->stdout_len > 0 && e->stdout_data == NULL) ||
	    (e->stderr_len > 0 && e->stderr_data == NULL)) {
		pf_err_set(err, "task output has a length but no data");
		return -1;
	}
	if (e->chunked) {
		/* Its earlier chunks exist: the rest follows them, atomically
		 * with the end, so a reader never sees an end without it. */
		if (store_tx_begin(st, err) == -1)
			return -1;
		tx = 1;
		if (store_output_append_rest(st, attempt_id, STORE_STDOUT,
		    e->stdout_data, e->stdout_len, err) == -1 ||
		    store_output_append_rest(st, attempt_id, STORE_STDERR,
		    e->stderr_data, e->stderr_len, err) == -1)
			goto fail;
	}
	if ((s = store_stmt(st, SQ_ATT_END, err)) == NULL)
		goto fail;
	fmt_ts(e->ended_ms, ts, sizeof(ts));
	sqlite3_bind_int64(s, 1, attempt_id);
	store_bind_text(s, 2, pf_status_name(e->status));
	sqlite3_bind_text(s, 3, ts, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 4, e->ended_ms);
	if (e->has_exit_code)
		sqlite3_bind_int(s, 5, e->exit_code);
	if (e->signal > 0)
		sqlite3_bind_int(s, 6, e->signal);
	store_bind_opt_i64(s, 7, e->duration_ms);
	store_bind_opt_i64(s, 8, e->max_rss_kb);
	store_bind_opt_i64(s, 9, e->user_cpu_us);
	store_bind_opt_i64(s, 10, e->sys_cpu_us);
	store_bind_opt_i64(s, 11, e->bytes_captured);
	store_bind_opt_i64(s, 12, e->bytes_dropped);
	sqlite3_bind_int(s, 13, e->truncated ? 1 : 0);
	if (e->http_status > 0)
		sqlite3_bind_int(s, 14, e->http_status);
	store_bind_text(s, 15, e->reason);
	store_bind_opt_i64(s, 18, e->oom_kills);
	store_bind_opt_i64(s, 19, e->pids_peak);
	store_bind_opt_i64(s, 20, e->pids_denied);
	store_bind_opt_i64(s, 21, e->nr_throttled);
	store_bind_opt_i64(s, 22, e->throttled_us);
	if (e->chunked) {
		sqlite3_bind_null(s, 16);
		sqlite3_bind_null(s, 17);
	} else if ((rc = bind_blob(s, 16, e->stdout_data, e->stdout_len)) ==
	    SQLITE_OK)
		rc = bind_blob(s, 17, e->stderr_data, e->stderr_len);
	if (rc != SQLITE_OK) {
		/* SQLITE_TOOBIG: over the library's blob limit. */
		pf_err_set(err, "%s: cannot store task output of %zu + %zu "
		    "bytes: %s", st->path, e->stdout_len, e->stderr_len,
		    sqlite3_errstr(rc));
		store_stmt_done(s);
		goto fail;
	}
	if (store_step_done(st, s, "recording the end of a task", err) == -1)
		goto fail;
	if (sqlite3_changes(st->db) != 1) {
		(void)explain_not_running(st, SQ_ATT_STATUS, attempt_id,
		    "task attempt", err);
		goto fail;
	}
	if (tx && store_tx_commit(st, err) == -1)
		goto fail;
	return 0;
fail:
	if (tx)
		store_tx_rollback(st);
	return -1;
}

int
store_task_skipped(struct pf_store *st, int64_t run_id, const char *task_name,
    const char *reason, int64_t when_ms, struct pf_err *err)
{
	sqlite3_stmt	*s;
	char		 ts[64];

	if (store_check_writable(st, err) == -1 ||
	    store_check_name(task_name, "task", err) == -1 ||
	    store_check_ms(when_ms, "skip", err) == -1)
		return -1;
	if ((s = store_stmt(st, SQ_SKIP, err)) == NULL)
		return -1;
	fmt_ts(when_ms, ts, sizeof(ts));
	sqlite3_bind_int64(s, 1, run_id);
	store_bind_text(s, 2, task_name);
	sqlite3_bind_text(s, 3, ts, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 4, when_ms);
	store_bind_text(s, 5, reason);
	if (store_step_fk(st, s, "recording a skipped task",
	    "execution", run_id, err) == -1)
		return -1;
	return 0;
}

int
store_schedule_set(struct pf_store *st, const char *workflow,
    int64_t last_fire_ms, struct pf_err *err)
{
	sqlite3_stmt	*s;

	if (store_check_writable(st, err) == -1 ||
	    store_check_name(workflow, "workflow", err) == -1 ||
	    store_check_ms(last_fire_ms, "fire", err) == -1)
		return -1;
	if ((s = store_stmt(st, SQ_SCHED_SET, err)) == NULL)
		return -1;
	store_bind_text(s, 1, workflow);
	sqlite3_bind_int64(s, 2, last_fire_ms);
	return store_step_done(st, s, "recording schedule state", err);
}

int
store_schedule_get(struct pf_store *st, const char *workflow,
    int64_t *last_fire_ms, int *found, struct pf_err *err)
{
	sqlite3_stmt	*s;
	int		 rc;

	*found = 0;
	if (st->empty)
		return 0;
	if ((s = store_stmt(st, SQ_SCHED_GET, err)) == NULL)
		return -1;
	store_bind_text(s, 1, workflow);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*last_fire_ms = sqlite3_column_int64(s, 0);
		*found = 1;
	} else if (rc != SQLITE_DONE) {
		store_sqlerr(st, err, "reading schedule state");
		store_stmt_done(s);
		return -1;
	}
	store_stmt_done(s);
	return 0;
}
