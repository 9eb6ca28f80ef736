/*
 * The store's prepared statements: the text of each, by its enum sq name
 * (store_int.h), and the per-handle cache that prepares one on first use
 * and keeps it until store_close().  Every value is a bound parameter;
 * the SQL fragments several statements share are the macros below.
 */
#include <stddef.h>

#include <sqlite3.h>

#include "picoflow/err.h"
#include "picoflow/store.h"
#include "store_int.h"

#define RUN_COLS \
	"e.id, e.workflow_id, w.name, e.status, e.triggered_by, " \
	"e.started_ms, e.completed_ms, e.error, e.pid " \
	"FROM executions e JOIN workflows w ON w.id = e.workflow_id "

/*
 * Captured bytes of each execution that has attempts: the output kept in
 * the attempt rows plus their chunks (length() of a blob reads no data).
 */
#define EXEC_BYTES \
	"(SELECT execution_id, sum(b) AS b FROM" \
	" (SELECT execution_id, coalesce(length(stdout), 0) +" \
	"  coalesce(length(stderr), 0) AS b FROM task_executions" \
	"  UNION ALL SELECT t.execution_id, length(o.data) FROM task_output o" \
	"  JOIN task_executions t ON t.id = o.attempt_id)" \
	" GROUP BY execution_id)"

/*
 * The executions to prune under per-workflow rules: each finished
 * execution with its workflow's rule (from temp.prune_rules, else the
 * default ?1 age, ?2 count, ?3 bytes), its rank among the finished runs
 * of its workflow, newest first, and the running total of their captured
 * bytes in that order (CUM and BYTES_JOIN: without a byte limit, summing
 * every attempt's output is half the cost, and skipped).  Running
 * executions are left out before ranking, so they neither go nor count.
 * An execution whose workflow row is gone gets the default rule.
 */
#define PRUNE_RULES_SET(CUM, BYTES_JOIN) \
	"SELECT id FROM (SELECT e.id AS id, e.started_ms AS started," \
	" CASE WHEN r.name IS NULL THEN ?1 ELSE r.older END AS older," \
	" CASE WHEN r.name IS NULL THEN ?2 ELSE r.keep END AS keep," \
	" CASE WHEN r.name IS NULL THEN ?3 ELSE r.maxb END AS maxb," \
	" row_number() OVER win AS rn, " CUM " AS cum" \
	" FROM executions e LEFT JOIN workflows w ON w.id = e.workflow_id" \
	" LEFT JOIN temp.prune_rules r ON r.name = w.name" \
	BYTES_JOIN \
	" WHERE e.status <> 'running'" \
	" WINDOW win AS (PARTITION BY e.workflow_id" \
	"  ORDER BY e.started_ms DESC, e.id DESC))" \
	" WHERE (older > 0 AND started < older) OR (keep > 0 AND rn > keep)" \
	" OR (maxb > 0 AND cum > maxb)"

/*
 * The finished executions to drop so that the output kept by the newest
 * ones stays within ?1 bytes: newest first, a running total of each
 * execution's captured bytes; everything past the limit goes.
 */
#define PRUNE_BYTES_SET \
	"SELECT id FROM (SELECT e.id, sum(coalesce(t.b, 0)) OVER" \
	" (ORDER BY e.started_ms DESC, e.id DESC) AS cum FROM executions e" \
	" LEFT JOIN " EXEC_BYTES " t ON t.execution_id = e.id" \
	" WHERE e.status <> 'running') WHERE cum > ?1"

/* The attempt columns of both list statements, ending with the output. */
#define ATT_COLS \
	"SELECT id, execution_id, task_name, attempt, status, started_ms, " \
	"completed_ms, exit_code, signal, duration_ms, max_rss_kb, " \
	"user_cpu_us, sys_cpu_us, bytes_captured, bytes_dropped, " \
	"truncated, http_status, reason, " \
	"CASE WHEN ?3 THEN stdout END, CASE WHEN ?3 THEN stderr END, "
#define ATT_WHERE \
	"FROM task_executions WHERE execution_id = ?1 " \
	"AND (?2 IS NULL OR task_name = ?2) " \
	"ORDER BY started_ms, id"

static const char *const sq_text[SQ__COUNT] = {
	[SQ_BEGIN] = "BEGIN IMMEDIATE",
	[SQ_COMMIT] = "COMMIT",
	[SQ_ROLLBACK] = "ROLLBACK",
	[SQ_SAVEPOINT] = "SAVEPOINT pf_tx",
	[SQ_RELEASE] = "RELEASE pf_tx",
	[SQ_WF_UPSERT] =
	    "INSERT INTO workflows (name, file, schedule, description) "
	    "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (name) DO UPDATE SET "
	    "file = excluded.file, schedule = excluded.schedule, "
	    "description = excluded.description RETURNING id",
	[SQ_RUN_BEGIN] =
	    "INSERT INTO executions (workflow_id, started_at, status, "
	    "triggered_by, started_ms, pid) "
	    "VALUES (?1, ?2, 'running', ?3, ?4, ?5)",
	[SQ_RUN_END] =
	    "UPDATE executions SET status = ?2, completed_at = ?3, "
	    "completed_ms = ?4, error = ?5 "
	    "WHERE id = ?1 AND status = 'running'",
	[SQ_RUN_STATUS] = "SELECT status FROM executions WHERE id = ?1",
	[SQ_ATT_BEGIN] =
	    "INSERT INTO task_executions (execution_id, task_name, status, "
	    "started_at, started_ms, attempt, retry_count) "
	    "VALUES (?1, ?2, 'running', ?3, ?4, ?5, ?6)",
	[SQ_ATT_END] =
	    "UPDATE task_executions SET status = ?2, completed_at = ?3, "
	    "completed_ms = ?4, exit_code = ?5, signal = ?6, "
	    "duration_ms = ?7, max_rss_kb = ?8, user_cpu_us = ?9, "
	    "sys_cpu_us = ?10, bytes_captured = ?11, bytes_dropped = ?12, "
	    "truncated = ?13, http_status = ?14, reason = ?15, "
	    "stdout = ?16, stderr = ?17, oom_kills = ?18, pids_peak = ?19, "
	    "pids_denied = ?20, nr_throttled = ?21, throttled_us = ?22 "
	    "WHERE id = ?1 AND status = 'running'",
	[SQ_ATT_STATUS] = "SELECT status FROM task_executions WHERE id = ?1",
	[SQ_SKIP] =
	    "INSERT INTO task_executions (execution_id, task_name, status, "
	    "started_at, started_ms, completed_at, completed_ms, attempt, "
	    "retry_count, reason, duration_ms) "
	    "VALUES (?1, ?2, 'skipped', ?3, ?4, ?3, ?4, 0, 0, ?5, 0)",
	[SQ_SCHED_SET] =
	    "INSERT INTO schedule_state (workflow_name, last_fire_ms) "
	    "VALUES (?1, ?2) ON CONFLICT (workflow_name) DO UPDATE SET "
	    "last_fire_ms = excluded.last_fire_ms",
	[SQ_SCHED_GET] =
	    "SELECT last_fire_ms FROM schedule_state WHERE workflow_name = ?1",
	[SQ_PRUNE_RULE_ADD] =
	    "INSERT INTO temp.prune_rules (name, older, keep, maxb) "
	    "VALUES (?1, ?2, ?3, ?4)",
	/* The set is computed once: deleting attempts changes the sums. */
	[SQ_PRUNE_COLLECT] =
	    "INSERT INTO temp.prune_ids (id) " PRUNE_RULES_SET(
	    "sum(coalesce(t.b, 0)) OVER win",
	    " LEFT JOIN " EXEC_BYTES " t ON t.execution_id = e.id"),
	[SQ_PRUNE_COLLECT_NB] =
	    "INSERT INTO temp.prune_ids (id) " PRUNE_RULES_SET("0", ""),
	[SQ_RUNS_ALL] =
	    "SELECT " RUN_COLS
	    "WHERE (?2 IS NULL OR e.status = ?2) "
	    "ORDER BY e.started_ms DESC, e.id DESC LIMIT ?3",
	[SQ_RUNS_WF] =
	    "SELECT " RUN_COLS
	    "WHERE e.workflow_id = (SELECT id FROM workflows WHERE name = ?1) "
	    "AND (?2 IS NULL OR e.status = ?2) "
	    "ORDER BY e.started_ms DESC, e.id DESC LIMIT ?3",
	[SQ_RUN_GET] = "SELECT " RUN_COLS "WHERE e.id = ?1",
	[SQ_ATT_LIST] =
	    ATT_COLS "oom_kills, pids_peak, pids_denied, nr_throttled, "
	    "throttled_us " ATT_WHERE,
	/* A version 1 file read as it is (read-only): no accounting yet. */
	[SQ_ATT_LIST_V1] =
	    ATT_COLS "NULL, NULL, NULL, NULL, NULL " ATT_WHERE,
	[SQ_WF_LIST] =
	    "SELECT w.id, w.name, w.file, w.schedule, w.description, "
	    "count(e.id), total(e.status = 'success'), "
	    "total(e.status IN ('failed', 'timeout')), max(e.started_ms), "
	    "(SELECT x.status FROM executions x WHERE x.workflow_id = w.id "
	    " ORDER BY x.started_ms DESC, x.id DESC LIMIT 1) "
	    "FROM workflows w LEFT JOIN executions e ON e.workflow_id = w.id "
	    "GROUP BY w.id ORDER BY w.name",
	[SQ_STATS] =
	    "SELECT count(*), total(status = 'success'), "
	    "total(status IN ('failed', 'timeout')), "
	    "total(status = 'cancelled'), total(status = 'running'), "
	    "avg(CASE WHEN status <> 'running' AND completed_ms IS NOT NULL "
	    "    AND completed_ms >= started_ms "
	    "    THEN completed_ms - started_ms END), "
	    "total(started_ms >= ?2), "
	    "total(started_ms >= ?2 AND status = 'success'), "
	    "total(started_ms >= ?2 AND status IN ('failed', 'timeout')), "
	    "max(started_ms) "
	    "FROM executions "
	    "WHERE workflow_id = (SELECT id FROM workflows WHERE name = ?1)",
	[SQ_RUN_META] =
	    "INSERT INTO run_meta (execution_id, workflow_id, scheduled_ms, "
	    "owner) VALUES (?1, ?2, ?3, ?4)",
	[SQ_META_DUP] =
	    "SELECT execution_id FROM run_meta WHERE workflow_id = ?1 AND "
	    "scheduled_ms = ?2",
	[SQ_PROCS_SET] =
	    "INSERT INTO attempt_procs (attempt_id, worker_pid, worker_start, "
	    "task_pid, task_start) VALUES (?1, ?2, ?3, ?4, ?5) "
	    "ON CONFLICT (attempt_id) DO UPDATE SET "
	    "worker_pid = excluded.worker_pid, "
	    "worker_start = excluded.worker_start, "
	    "task_pid = excluded.task_pid, task_start = excluded.task_start",
	[SQ_INFLIGHT] =
	    "SELECT e.id, w.name, e.pid, m.owner, m.scheduled_ms, "
	    "e.triggered_by, e.started_ms FROM executions e "
	    "JOIN workflows w ON w.id = e.workflow_id "
	    "LEFT JOIN run_meta m ON m.execution_id = e.id "
	    "WHERE e.status = 'running' ORDER BY e.id",
	[SQ_ATT_INFLIGHT] =
	    "SELECT t.id, t.task_name, t.attempt, p.worker_pid, "
	    "p.worker_start, p.task_pid, p.task_start "
	    "FROM task_executions t "
	    "LEFT JOIN attempt_procs p ON p.attempt_id = t.id "
	    "WHERE t.execution_id = ?1 AND t.status = 'running' ORDER BY t.id",
	/* The set is computed once: deleting attempts changes the sums. */
	[SQ_PRUNE_BYTES_COLLECT] =
	    "INSERT INTO temp.prune_ids (id) " PRUNE_BYTES_SET,
	[SQ_PRUNE_IDS_TASKS] =
	    "DELETE FROM task_executions WHERE execution_id IN "
	    "(SELECT id FROM temp.prune_ids)",
	[SQ_PRUNE_IDS_RUNS] =
	    "DELETE FROM executions WHERE id IN (SELECT id FROM temp.prune_ids)",
	[SQ_OUTPUT_BYTES] =
	    "SELECT total(coalesce(length(stdout), 0) + "
	    "coalesce(length(stderr), 0)) + "
	    "(SELECT total(length(data)) FROM task_output) "
	    "FROM task_executions",
	/* A version 2 file read as it is (read-only): no chunks yet. */
	[SQ_OUTPUT_BYTES_V2] =
	    "SELECT total(coalesce(length(stdout), 0) + "
	    "coalesce(length(stderr), 0)) FROM task_executions",
	/* The next number of the attempt's chunks, whoever wrote the last. */
	[SQ_OUT_APPEND] =
	    "INSERT INTO task_output (attempt_id, seq, stream, data) "
	    "VALUES (?1, (SELECT coalesce(max(seq), 0) + 1 FROM task_output "
	    "WHERE attempt_id = ?1), ?2, ?3)",
	[SQ_OUT_READ] =
	    "SELECT stream, data FROM task_output WHERE attempt_id = ?1 "
	    "ORDER BY seq",
	[SQ_OUT_STORED] =
	    "SELECT stream, total(length(data)) FROM task_output "
	    "WHERE attempt_id = ?1 GROUP BY stream",
};

sqlite3_stmt *
store_stmt(struct pf_store *st, enum sq id, struct pf_err *err)
{
	if (st->stmt[id] == NULL &&
	    sqlite3_prepare_v3(st->db, sq_text[id], -1,
	    SQLITE_PREPARE_PERSISTENT, &st->stmt[id], NULL) != SQLITE_OK) {
		store_sqlerr(st, err, "preparing a statement");
		st->stmt[id] = NULL;
		return NULL;
	}
	return st->stmt[id];
}
