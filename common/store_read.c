/*
 * The store's reads for the CLI and pf-web: runs, a run, its task
 * attempts (with their output if asked), workflows with their counts, and
 * a workflow's statistics.  Values come from a file that may be hostile
 * or hand-edited, so they are clamped as they are read; an empty file
 * opened read-only reads as nothing at all.
 */
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include <sqlite3.h>

#include "picoflow/alloc.h"
#include "picoflow/err.h"
#include "picoflow/status.h"
#include "picoflow/store.h"
#include "store_int.h"

#define DAY_MS		INT64_C(86400000)

static int
col_blob(sqlite3_stmt *s, int i, unsigned char **out, size_t *len)
{
	const void	*p;
	int		 n;

	*out = NULL;
	*len = 0;
	if (sqlite3_column_type(s, i) == SQLITE_NULL)
		return 0;
	p = sqlite3_column_blob(s, i);
	n = sqlite3_column_bytes(s, i);
	if (n <= 0)
		return 0;
	if (p == NULL)
		return -1;
	if ((*out = pf_malloc((size_t)n)) == NULL)
		return -1;
	memcpy(*out, p, (size_t)n);
	*len = (size_t)n;
	return 0;
}

/* An int column clamped to [lo, hi]; values from a file are not trusted. */
static int
col_int(sqlite3_stmt *s, int i, int dflt, int lo, int hi)
{
	int64_t	 v;

	if (sqlite3_column_type(s, i) == SQLITE_NULL)
		return dflt;
	v = sqlite3_column_int64(s, i);
	if (v < lo)
		return lo;
	if (v > hi)
		return hi;
	return (int)v;
}

/*
 * A count or amount: NULL, and what no writer of ours stores (a negative
 * number, text, a real: a hostile or hand-edited file), read as -1.
 */
static int64_t
col_count(sqlite3_stmt *s, int i)
{
	int64_t	 v;

	if (sqlite3_column_type(s, i) != SQLITE_INTEGER)
		return -1;
	v = sqlite3_column_int64(s, i);
	return v < 0 ? -1 : v;
}

static int
row_run(sqlite3_stmt *s, struct store_run *r)
{
	memset(r, 0, sizeof(*r));
	r->id = sqlite3_column_int64(s, 0);
	r->workflow_id = sqlite3_column_int64(s, 1);
	r->started_ms = store_col_i64(s, 5, 0);
	r->ended_ms = store_col_i64(s, 6, -1);
	r->pid = store_col_i64(s, 8, -1);
	if (store_col_str(s, 2, &r->workflow) == -1 ||
	    store_col_str(s, 3, &r->status) == -1 ||
	    store_col_str(s, 4, &r->trigger) == -1 ||
	    store_col_str(s, 7, &r->error) == -1) {
		store_run_clear(r);
		return -1;
	}
	return 0;
}

void
store_run_clear(struct store_run *r)
{
	if (r == NULL)
		return;
	pf_free(r->workflow);
	pf_free(r->status);
	pf_free(r->trigger);
	pf_free(r->error);
	memset(r, 0, sizeof(*r));
}

void
store_runs_free(struct store_run *v, size_t n)
{
	size_t	 i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		store_run_clear(&v[i]);
	pf_free(v);
}

int
store_runs_list(struct pf_store *st, const char *workflow, const char *status,
    size_t limit, struct store_run **out, size_t *n, struct pf_err *err)
{
	struct store_run	*v = NULL;
	sqlite3_stmt		*s;
	size_t			 cap = 0, cnt = 0;
	int			 rc;

	*out = NULL;
	*n = 0;
	if (st->empty)
		return 0;
	if ((s = store_stmt(st, workflow != NULL ? SQ_RUNS_WF : SQ_RUNS_ALL,
	    err)) == NULL)
		return -1;
	store_bind_text(s, 1, workflow);
	store_bind_text(s, 2, status);
	sqlite3_bind_int64(s, 3, (limit == 0 || limit > INT64_MAX) ? -1 :
	    (int64_t)limit);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (store_grow((void **)&v, &cap, cnt, sizeof(*v)) == -1 ||
		    row_run(s, &v[cnt]) == -1) {
			pf_err_set(err, "out of memory reading executions");
			goto fail;
		}
		cnt++;
	}
	if (rc != SQLITE_DONE) {
		store_sqlerr(st, err, "reading executions");
		goto fail;
	}
	store_stmt_done(s);
	*out = v;
	*n = cnt;
	return 0;
fail:
	store_stmt_done(s);
	store_runs_free(v, cnt);
	return -1;
}

int
store_run_get(struct pf_store *st, int64_t run_id, struct store_run *out,
    int *found, struct pf_err *err)
{
	sqlite3_stmt	*s;
	int		 rc;

	memset(out, 0, sizeof(*out));
	*found = 0;
	if (st->empty)
		return 0;
	if ((s = store_stmt(st, SQ_RUN_GET, err)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, run_id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		if (row_run(s, out) == -1) {
			pf_err_set(err, "out of memory reading an execution");
			store_stmt_done(s);
			return -1;
		}
		*found = 1;
	} else if (rc != SQLITE_DONE) {
		store_sqlerr(st, err, "reading an execution");
		store_stmt_done(s);
		return -1;
	}
	store_stmt_done(s);
	return 0;
}

static void
attempt_clear(struct store_attempt *a)
{
	pf_free(a->task_name);
	pf_free(a->status);
	pf_free(a->reason);
	pf_free(a->stdout_data);
	pf_free(a->stderr_data);
	memset(a, 0, sizeof(*a));
}

static int
row_attempt(sqlite3_stmt *s, struct store_attempt *a, int with_output)
{
	int64_t	 att;

	memset(a, 0, sizeof(*a));
	a->id = sqlite3_column_int64(s, 0);
	a->run_id = sqlite3_column_int64(s, 1);
	att = store_col_i64(s, 3, 1);
	a->attempt = (att < 0 || att > INT_MAX) ? 0 : (unsigned)att;
	a->started_ms = store_col_i64(s, 5, 0);
	a->ended_ms = store_col_i64(s, 6, -1);
	a->has_exit_code = sqlite3_column_type(s, 7) != SQLITE_NULL;
	a->exit_code = col_int(s, 7, 0, INT_MIN, INT_MAX);
	a->signal = col_int(s, 8, 0, 0, INT_MAX);
	a->duration_ms = store_col_i64(s, 9, -1);
	a->max_rss_kb = store_col_i64(s, 10, -1);
	a->user_cpu_us = store_col_i64(s, 11, -1);
	a->sys_cpu_us = store_col_i64(s, 12, -1);
	a->bytes_captured = store_col_i64(s, 13, -1);
	a->bytes_dropped = store_col_i64(s, 14, -1);
	a->truncated = col_int(s, 15, 0, 0, 1);
	a->http_status = col_int(s, 16, 0, 0, 999);
	a->oom_kills = col_count(s, 20);
	a->pids_peak = col_count(s, 21);
	a->pids_denied = col_count(s, 22);
	a->nr_throttled = col_count(s, 23);
	a->throttled_us = col_count(s, 24);
	if (store_col_str(s, 2, &a->task_name) == -1 ||
	    store_col_str(s, 4, &a->status) == -1 ||
	    store_col_str(s, 17, &a->reason) == -1)
		goto fail;
	if (with_output &&
	    (col_blob(s, 18, &a->stdout_data, &a->stdout_len) == -1 ||
	    col_blob(s, 19, &a->stderr_data, &a->stderr_len) == -1))
		goto fail;
	return 0;
fail:
	attempt_clear(a);
	return -1;
}

void
store_attempts_free(struct store_attempt *v, size_t n)
{
	size_t	 i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		attempt_clear(&v[i]);
	pf_free(v);
}

int
store_attempts_list(struct pf_store *st, int64_t run_id, const char *task,
    int with_output, struct store_attempt **out, size_t *n, struct pf_err *err)
{
	struct store_attempt	*v = NULL;
	sqlite3_stmt		*s;
	size_t			 cap = 0, cnt = 0;
	int			 rc;

	*out = NULL;
	*n = 0;
	if (st->empty)
		return 0;
	if ((s = store_stmt(st, st->version >= 2 ? SQ_ATT_LIST :
	    SQ_ATT_LIST_V1, err)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, run_id);
	store_bind_text(s, 2, task);
	sqlite3_bind_int(s, 3, with_output ? 1 : 0);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (store_grow((void **)&v, &cap, cnt, sizeof(*v)) == -1 ||
		    row_attempt(s, &v[cnt], with_output) == -1) {
			pf_err_set(err, "out of memory reading task attempts");
			goto fail;
		}
		cnt++;
	}
	if (rc != SQLITE_DONE) {
		store_sqlerr(st, err, "reading task attempts");
		goto fail;
	}
	store_stmt_done(s);
	if (with_output && st->version >= 3) {
		size_t	 i;

		for (i = 0; i < cnt; i++)
			if (store_output_read_chunks(st, &v[i], err) == -1) {
				store_attempts_free(v, cnt);
				return -1;
			}
	}
	*out = v;
	*n = cnt;
	return 0;
fail:
	store_stmt_done(s);
	store_attempts_free(v, cnt);
	return -1;
}

static void
workflow_clear(struct store_workflow *w)
{
	pf_free(w->name);
	pf_free(w->file);
	pf_free(w->schedule);
	pf_free(w->description);
	pf_free(w->last_status);
	memset(w, 0, sizeof(*w));
}

void
store_workflows_free(struct store_workflow *v, size_t n)
{
	size_t	 i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		workflow_clear(&v[i]);
	pf_free(v);
}

int
store_workflows_list(struct pf_store *st, struct store_workflow **out,
    size_t *n, struct pf_err *err)
{
	struct store_workflow	*v = NULL, *w;
	sqlite3_stmt		*s;
	size_t			 cap = 0, cnt = 0;
	int			 rc;

	*out = NULL;
	*n = 0;
	if (st->empty)
		return 0;
	if ((s = store_stmt(st, SQ_WF_LIST, err)) == NULL)
		return -1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (store_grow((void **)&v, &cap, cnt, sizeof(*v)) == -1) {
			pf_err_set(err, "out of memory reading workflows");
			goto fail;
		}
		w = &v[cnt];
		w->id = sqlite3_column_int64(s, 0);
		w->total = sqlite3_column_int64(s, 5);
		w->success = (int64_t)sqlite3_column_double(s, 6);
		w->failed = (int64_t)sqlite3_column_double(s, 7);
		w->last_started_ms = store_col_i64(s, 8, -1);
		if (store_col_str(s, 1, &w->name) == -1 ||
		    store_col_str(s, 2, &w->file) == -1 ||
		    store_col_str(s, 3, &w->schedule) == -1 ||
		    store_col_str(s, 4, &w->description) == -1 ||
		    store_col_str(s, 9, &w->last_status) == -1) {
			workflow_clear(w);
			pf_err_set(err, "out of memory reading workflows");
			goto fail;
		}
		cnt++;
	}
	if (rc != SQLITE_DONE) {
		store_sqlerr(st, err, "reading workflows");
		goto fail;
	}
	store_stmt_done(s);
	*out = v;
	*n = cnt;
	return 0;
fail:
	store_stmt_done(s);
	store_workflows_free(v, cnt);
	return -1;
}

int
store_stats(struct pf_store *st, const char *workflow, int64_t now_ms,
    struct store_stats *out, struct pf_err *err)
{
	sqlite3_stmt	*s;
	int		 rc;

	memset(out, 0, sizeof(*out));
	out->avg_duration_ms = -1;
	out->last_started_ms = -1;
	if (st->empty)
		return 0;
	if ((s = store_stmt(st, SQ_STATS, err)) == NULL)
		return -1;
	store_bind_text(s, 1, workflow);
	sqlite3_bind_int64(s, 2, now_ms > INT64_MIN + DAY_MS ?
	    now_ms - DAY_MS : INT64_MIN);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		out->total = sqlite3_column_int64(s, 0);
		out->success = (int64_t)sqlite3_column_double(s, 1);
		out->failed = (int64_t)sqlite3_column_double(s, 2);
		out->cancelled = (int64_t)sqlite3_column_double(s, 3);
		out->running = (int64_t)sqlite3_column_double(s, 4);
		if (sqlite3_column_type(s, 5) != SQLITE_NULL) {
			double	 avg = sqlite3_column_double(s, 5);

			/* Round to the millisecond; clamp a hostile value. */
			if (avg >= 0 && avg < 9.2e18)
				out->avg_duration_ms = (int64_t)(avg + 0.5);
		}
		out->day_total = (int64_t)sqlite3_column_double(s, 6);
		out->day_success = (int64_t)sqlite3_column_double(s, 7);
		out->day_failed = (int64_t)sqlite3_column_double(s, 8);
		out->last_started_ms = store_col_i64(s, 9, -1);
	} else if (rc != SQLITE_DONE) {
		store_sqlerr(st, err, "reading statistics");
		store_stmt_done(s);
		return -1;
	}
	store_stmt_done(s);
	return 0;
}

unsigned
store_attempts_interrupted_tail(const struct store_attempt *v, size_t n,
    const char *task, unsigned newest)
{
	const char	*word = pf_status_name(PF_STATUS_INTERRUPTED);
	unsigned	 tail = 0, no;
	size_t		 k;
	int		 hit;

	for (no = newest; no > 0; no--) {
		hit = 0;
		for (k = 0; k < n; k++)
			if (v[k].attempt == no && v[k].status != NULL &&
			    (task == NULL || (v[k].task_name != NULL &&
			    strcmp(v[k].task_name, task) == 0))) {
				hit = strcmp(v[k].status, word) == 0;
				break;
			}
		if (!hit)
			break;
		tail++;
	}
	return tail;
}
