/*
 * The state store (skeleton: API fixed, implementation follows).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "picoflow/err.h"
#include "picoflow/store.h"

static int
store_todo(struct pf_err *err)
{
	pf_err_set(err, "state store: not implemented yet");
	return -1;
}

int
store_open(const char *path, enum store_mode mode, struct pf_store **out,
    struct pf_err *err)
{
	(void)path; (void)mode;
	*out = NULL;
	return store_todo(err);
}

void
store_close(struct pf_store *st)
{
	(void)st;
}

int
store_schema_version(struct pf_store *st)
{
	(void)st;
	return 0;
}

int
store_status_valid(const char *s)
{
	static const char *const ok[] = { "running", "success", "failed",
	    "timeout", "skipped", "cancelled" };
	size_t	 i;

	if (s == NULL)
		return 0;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (strcmp(s, ok[i]) == 0)
			return 1;
	return 0;
}

void
store_attempt_end_init(struct store_attempt_end *e)
{
	memset(e, 0, sizeof(*e));
	e->ended_ms = e->duration_ms = e->max_rss_kb = -1;
	e->user_cpu_us = e->sys_cpu_us = -1;
	e->bytes_captured = e->bytes_dropped = -1;
}

int
store_workflow_upsert(struct pf_store *st, const char *name, const char *file,
    const char *schedule, const char *description, int64_t *id,
    struct pf_err *err)
{
	(void)st; (void)name; (void)file; (void)schedule; (void)description;
	(void)id;
	return store_todo(err);
}

int
store_run_begin(struct pf_store *st, int64_t wid, const char *trigger,
    int64_t started_ms, int64_t *run_id, struct pf_err *err)
{
	(void)st; (void)wid; (void)trigger; (void)started_ms; (void)run_id;
	return store_todo(err);
}

int
store_run_end(struct pf_store *st, int64_t run_id, const char *status,
    int64_t ended_ms, const char *error, struct pf_err *err)
{
	(void)st; (void)run_id; (void)status; (void)ended_ms; (void)error;
	return store_todo(err);
}

int
store_attempt_begin(struct pf_store *st, int64_t run_id, const char *task,
    unsigned attempt, int64_t started_ms, int64_t *attempt_id,
    struct pf_err *err)
{
	(void)st; (void)run_id; (void)task; (void)attempt; (void)started_ms;
	(void)attempt_id;
	return store_todo(err);
}

int
store_attempt_end(struct pf_store *st, int64_t attempt_id,
    const struct store_attempt_end *e, struct pf_err *err)
{
	(void)st; (void)attempt_id; (void)e;
	return store_todo(err);
}

int
store_task_skipped(struct pf_store *st, int64_t run_id, const char *task,
    const char *reason, int64_t when_ms, struct pf_err *err)
{
	(void)st; (void)run_id; (void)task; (void)reason; (void)when_ms;
	return store_todo(err);
}

int
store_schedule_set(struct pf_store *st, const char *wf, int64_t ms,
    struct pf_err *err)
{
	(void)st; (void)wf; (void)ms;
	return store_todo(err);
}

int
store_schedule_get(struct pf_store *st, const char *wf, int64_t *ms,
    int *found, struct pf_err *err)
{
	(void)st; (void)wf; (void)ms;
	*found = 0;
	return store_todo(err);
}

int
store_prune(struct pf_store *st, int64_t older, unsigned keep,
    int64_t *deleted, struct pf_err *err)
{
	(void)st; (void)older; (void)keep; (void)deleted;
	return store_todo(err);
}

int
store_runs_list(struct pf_store *st, const char *wf, const char *status,
    size_t limit, struct store_run **out, size_t *n, struct pf_err *err)
{
	(void)st; (void)wf; (void)status; (void)limit;
	*out = NULL;
	*n = 0;
	return store_todo(err);
}

int
store_run_get(struct pf_store *st, int64_t run_id, struct store_run *out,
    int *found, struct pf_err *err)
{
	(void)st; (void)run_id;
	memset(out, 0, sizeof(*out));
	*found = 0;
	return store_todo(err);
}

void
store_run_clear(struct store_run *r)
{
	(void)r;
}

void
store_runs_free(struct store_run *v, size_t n)
{
	(void)v; (void)n;
}

int
store_attempts_list(struct pf_store *st, int64_t run_id, const char *task,
    int with_output, struct store_attempt **out, size_t *n, struct pf_err *err)
{
	(void)st; (void)run_id; (void)task; (void)with_output;
	*out = NULL;
	*n = 0;
	return store_todo(err);
}

void
store_attempts_free(struct store_attempt *v, size_t n)
{
	(void)v; (void)n;
}

int
store_workflows_list(struct pf_store *st, struct store_workflow **out,
    size_t *n, struct pf_err *err)
{
	(void)st;
	*out = NULL;
	*n = 0;
	return store_todo(err);
}

void
store_workflows_free(struct store_workflow *v, size_t n)
{
	(void)v; (void)n;
}

int
store_stats(struct pf_store *st, const char *wf, int64_t now_ms,
    struct store_stats *s, struct pf_err *err)
{
	(void)st; (void)wf; (void)now_ms;
	memset(s, 0, sizeof(*s));
	return store_todo(err);
}
