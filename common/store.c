/*
 * The state store: SQLite in WAL mode, one transaction per state change,
 * synchronous=FULL so that a committed change survives power loss, not
 * only kill -9 (docs/state.md explains the choice).  Statements are
 * prepared once per handle and cached; every value is a bound parameter.
 *
 * The tables keep the Rust PicoFlow's columns (started_at/completed_at as
 * text timestamps, stdout/stderr, attempt, retry_count, ...) and add ours
 * (millisecond times, resource usage, reasons).  Schema v0 is "whatever
 * the Rust version or nothing left here"; v1 is ours; v2 adds the cgroup
 * accounting of each attempt.  Migration runs the same code for an empty
 * file and for a Rust database: create the original tables if missing,
 * add every missing column, convert the old rows; then each later step.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "picoflow/alloc.h"
#include "picoflow/err.h"
#include "picoflow/store.h"

/* Largest time accepted: 9999-12-31T23:59:59.999Z. */
#define STORE_MAX_MS	INT64_C(253402300799999)
#define DAY_MS		INT64_C(86400000)
/* PRAGMA cache_size: negative = KiB. */
#define STORE_CACHE_KIB_SQL	"-512"

enum sq {
	SQ_BEGIN,
	SQ_COMMIT,
	SQ_ROLLBACK,
	SQ_WF_UPSERT,
	SQ_RUN_BEGIN,
	SQ_RUN_END,
	SQ_RUN_STATUS,
	SQ_ATT_BEGIN,
	SQ_ATT_END,
	SQ_ATT_STATUS,
	SQ_SKIP,
	SQ_SCHED_SET,
	SQ_SCHED_GET,
	SQ_PRUNE_RULE_ADD,
	SQ_PRUNE_COLLECT,
	SQ_PRUNE_COLLECT_NB,
	SQ_RUNS_ALL,
	SQ_RUNS_WF,
	SQ_RUN_GET,
	SQ_ATT_LIST,
	SQ_ATT_LIST_V1,
	SQ_WF_LIST,
	SQ_STATS,
	SQ_RUN_META,
	SQ_META_DUP,
	SQ_PROCS_SET,
	SQ_INFLIGHT,
	SQ_ATT_INFLIGHT,
	SQ_PRUNE_BYTES_COLLECT,
	SQ_PRUNE_IDS_TASKS,
	SQ_PRUNE_IDS_RUNS,
	SQ_OUTPUT_BYTES,
	SQ_OUTPUT_BYTES_V2,
	SQ_OUT_APPEND,
	SQ_OUT_READ,
	SQ__COUNT
};

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
};

struct pf_store {
	sqlite3		*db;
	enum store_mode	 mode;
	int		 version;
	int		 empty;		/* RO on a file with no tables yet */
	char		*path;
	sqlite3_stmt	*stmt[SQ__COUNT];
};

/* ---- helpers ----------------------------------------------------------- */

static void
store_sqlerr(struct pf_store *st, struct pf_err *err, const char *what)
{
	int	 rc = sqlite3_errcode(st->db);

	if ((rc & 0xff) == SQLITE_BUSY)
		pf_err_set(err, "%s: %s: the database stayed locked by another "
		    "writer for more than %d ms", st->path, what,
		    STORE_BUSY_TIMEOUT_MS);
	else if ((rc & 0xff) == SQLITE_NOTADB || (rc & 0xff) == SQLITE_CORRUPT)
		pf_err_set(err, "%s: %s: not a valid SQLite database or "
		    "corrupted (%s)", st->path, what, sqlite3_errmsg(st->db));
	else if ((rc & 0xff) == SQLITE_READONLY)
		pf_err_set(err, "%s: %s: the database is read-only (%s); check "
		    "its owner and mode", st->path, what,
		    sqlite3_errmsg(st->db));
	else
		pf_err_set(err, "%s: %s: %s", st->path, what,
		    sqlite3_errmsg(st->db));
}

static sqlite3_stmt *
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

static void
stmt_done(sqlite3_stmt *s)
{
	(void)sqlite3_reset(s);
	(void)sqlite3_clear_bindings(s);
}

static int
bind_text(sqlite3_stmt *s, int i, const char *v)
{
	if (v == NULL)
		return sqlite3_bind_null(s, i);
	return sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
}

/* Negative = unknown = NULL. */
static int
bind_opt_i64(sqlite3_stmt *s, int i, int64_t v)
{
	if (v < 0)
		return sqlite3_bind_null(s, i);
	return sqlite3_bind_int64(s, i, v);
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

/* Runs a statement that returns no rows (or ignores them). */
static int
step_done(struct pf_store *st, sqlite3_stmt *s, const char *what,
    struct pf_err *err)
{
	int	 rc;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		;
	if (rc != SQLITE_DONE) {
		store_sqlerr(st, err, what);
		stmt_done(s);
		return -1;
	}
	stmt_done(s);
	return 0;
}

static int
check_writable(struct pf_store *st, struct pf_err *err)
{
	if (st == NULL) {
		pf_err_set(err, "state store is not open");
		return -1;
	}
	if (st->mode != STORE_RW) {
		pf_err_set(err, "%s: opened read-only; this needs a write",
		    st->path);
		return -1;
	}
	return 0;
}

static int
check_ms(int64_t ms, const char *what, struct pf_err *err)
{
	if (ms < 0 || ms > STORE_MAX_MS) {
		pf_err_set(err, "%s time %lld ms is out of range", what,
		    (long long)ms);
		return -1;
	}
	return 0;
}

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
tx_begin(struct pf_store *st, struct pf_err *err)
{
	sqlite3_stmt	*s;

	if ((s = store_stmt(st, SQ_BEGIN, err)) == NULL)
		return -1;
	return step_done(st, s, "starting a transaction", err);
}

static int
tx_commit(struct pf_store *st, struct pf_err *err)
{
	sqlite3_stmt	*s;

	if ((s = store_stmt(st, SQ_COMMIT, err)) == NULL)
		return -1;
	return step_done(st, s, "committing", err);
}

static void
tx_rollback(struct pf_store *st)
{
	if (!sqlite3_get_autocommit(st->db))
		(void)sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
}

static int
exec_sql(struct pf_store *st, const char *sql, const char *what,
    struct pf_err *err)
{
	if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
		store_sqlerr(st, err, what);
		return -1;
	}
	return 0;
}

/* A single integer from a one-row query; -1 with err on failure. */
static int
query_int(struct pf_store *st, const char *sql, int64_t *out,
    struct pf_err *err)
{
	sqlite3_stmt	*s;
	int		 rc;

	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK) {
		store_sqlerr(st, err, "reading the database");
		return -1;
	}
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(s, 0);
	else if (rc == SQLITE_DONE)
		*out = 0;
	else {
		store_sqlerr(st, err, "reading the database");
		sqlite3_finalize(s);
		return -1;
	}
	sqlite3_finalize(s);
	return 0;
}

/* ---- schema and migration ---------------------------------------------- */

/* The original's tables (names and column types as it created them). */
static const char *const schema_core[] = {
	"CREATE TABLE IF NOT EXISTS workflows ("
	" id INTEGER PRIMARY KEY,"
	" name TEXT NOT NULL UNIQUE,"
	" schedule TEXT,"
	" created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP)",
	"CREATE TABLE IF NOT EXISTS executions ("
	" id INTEGER PRIMARY KEY,"
	" workflow_id INTEGER NOT NULL,"
	" started_at TIMESTAMP NOT NULL,"
	" completed_at TIMESTAMP,"
	" status TEXT NOT NULL,"
	" FOREIGN KEY (workflow_id) REFERENCES workflows(id))",
	"CREATE TABLE IF NOT EXISTS task_executions ("
	" id INTEGER PRIMARY KEY,"
	" execution_id INTEGER NOT NULL,"
	" task_name TEXT NOT NULL,"
	" status TEXT NOT NULL,"
	" started_at TIMESTAMP NOT NULL,"
	" completed_at TIMESTAMP,"
	" exit_code INTEGER,"
	" stdout TEXT,"
	" stderr TEXT,"
	" attempt INTEGER DEFAULT 1,"
	" retry_count INTEGER DEFAULT 0,"
	" next_retry_at TIMESTAMP,"
	" FOREIGN KEY (execution_id) REFERENCES executions(id))",
	/* Ours. */
	"CREATE TABLE IF NOT EXISTS schedule_state ("
	" workflow_name TEXT PRIMARY KEY,"
	" last_fire_ms INTEGER NOT NULL)",
};

/* Columns the original lacked (or lacked in its early versions). */
static const struct {
	const char	*table;
	const char	*column;
	const char	*ddl;
} schema_added[] = {
	{ "workflows", "schedule",
	    "ALTER TABLE workflows ADD COLUMN schedule TEXT" },
	{ "workflows", "file",
	    "ALTER TABLE workflows ADD COLUMN file TEXT" },
	{ "workflows", "description",
	    "ALTER TABLE workflows ADD COLUMN description TEXT" },
	{ "executions", "triggered_by",
	    "ALTER TABLE executions ADD COLUMN triggered_by TEXT" },
	{ "executions", "started_ms",
	    "ALTER TABLE executions ADD COLUMN started_ms INTEGER" },
	{ "executions", "completed_ms",
	    "ALTER TABLE executions ADD COLUMN completed_ms INTEGER" },
	{ "executions", "error",
	    "ALTER TABLE executions ADD COLUMN error TEXT" },
	{ "executions", "pid",
	    "ALTER TABLE executions ADD COLUMN pid INTEGER" },
	{ "task_executions", "started_ms",
	    "ALTER TABLE task_executions ADD COLUMN started_ms INTEGER" },
	{ "task_executions", "completed_ms",
	    "ALTER TABLE task_executions ADD COLUMN completed_ms INTEGER" },
	{ "task_executions", "signal",
	    "ALTER TABLE task_executions ADD COLUMN signal INTEGER" },
	{ "task_executions", "duration_ms",
	    "ALTER TABLE task_executions ADD COLUMN duration_ms INTEGER" },
	{ "task_executions", "max_rss_kb",
	    "ALTER TABLE task_executions ADD COLUMN max_rss_kb INTEGER" },
	{ "task_executions", "user_cpu_us",
	    "ALTER TABLE task_executions ADD COLUMN user_cpu_us INTEGER" },
	{ "task_executions", "sys_cpu_us",
	    "ALTER TABLE task_executions ADD COLUMN sys_cpu_us INTEGER" },
	{ "task_executions", "bytes_captured",
	    "ALTER TABLE task_executions ADD COLUMN bytes_captured INTEGER" },
	{ "task_executions", "bytes_dropped",
	    "ALTER TABLE task_executions ADD COLUMN bytes_dropped INTEGER" },
	{ "task_executions", "truncated",
	    "ALTER TABLE task_executions ADD COLUMN truncated INTEGER "
	    "NOT NULL DEFAULT 0" },
	{ "task_executions", "http_status",
	    "ALTER TABLE task_executions ADD COLUMN http_status INTEGER" },
	{ "task_executions", "reason",
	    "ALTER TABLE task_executions ADD COLUMN reason TEXT" },
};

/*
 * Version 2: what the attempt's cgroup saw at its end (supervisor/cgroup.h
 * struct cg_usage); NULL when unknown (no cgroup, the host cannot tell,
 * or a row written before version 2).
 */
static const struct {
	const char	*column;
	const char	*ddl;
} schema_v2[] = {
	{ "oom_kills",
	    "ALTER TABLE task_executions ADD COLUMN oom_kills INTEGER" },
	{ "pids_peak",
	    "ALTER TABLE task_executions ADD COLUMN pids_peak INTEGER" },
	{ "pids_denied",
	    "ALTER TABLE task_executions ADD COLUMN pids_denied INTEGER" },
	{ "nr_throttled",
	    "ALTER TABLE task_executions ADD COLUMN nr_throttled INTEGER" },
	{ "throttled_us",
	    "ALTER TABLE task_executions ADD COLUMN throttled_us INTEGER" },
};

/*
 * Version 3: output streamed in chunks as it arrives, so that neither the
 * supervisor's memory nor SQLite's largest value bounds what a task can
 * write.  An attempt's output is its stdout/stderr columns (what ended
 * before a chunk was needed: the common small case, one write) followed
 * by its chunks in seq order.  Chunks go with their attempt.
 */
static const char *const schema_v3[] = {
	"CREATE TABLE IF NOT EXISTS task_output ("
	" attempt_id INTEGER NOT NULL"
	"  REFERENCES task_executions(id) ON DELETE CASCADE,"
	" seq INTEGER NOT NULL,"
	" stream INTEGER NOT NULL,"	/* 1 stdout, 2 stderr */
	" data BLOB NOT NULL,"
	" PRIMARY KEY (attempt_id, seq))",
};

/* Columns without which a table is not the original's. */
static const struct {
	const char	*table;
	const char	*column;
} schema_required[] = {
	{ "workflows", "id" }, { "workflows", "name" },
	{ "executions", "id" }, { "executions", "workflow_id" },
	{ "executions", "started_at" }, { "executions", "completed_at" },
	{ "executions", "status" },
	{ "task_executions", "id" }, { "task_executions", "execution_id" },
	{ "task_executions", "task_name" }, { "task_executions", "status" },
	{ "task_executions", "started_at" },
	{ "task_executions", "completed_at" },
	{ "task_executions", "exit_code" }, { "task_executions", "stdout" },
	{ "task_executions", "stderr" }, { "task_executions", "attempt" },
};

/*
 * Rows the original left behind, converted once.  Its text timestamps
 * become milliseconds (julianday understands its "YYYY-MM-DD
 * HH:MM:SS.fffffffff+00:00" and the RFC 3339 "T" form); an unparseable
 * start becomes 0 rather than hiding the row.  Attempts it left
 * "retrying" were retried, so their own outcome was a failure; rows still
 * "running" belong to a process that is gone.
 */
static const char *const schema_convert[] = {
	"UPDATE executions SET started_ms = coalesce(CAST(round("
	" (julianday(started_at) - 2440587.5) * 86400000.0) AS INTEGER), 0)"
	" WHERE started_ms IS NULL",
	"UPDATE executions SET completed_ms = CAST(round("
	" (julianday(completed_at) - 2440587.5) * 86400000.0) AS INTEGER)"
	" WHERE completed_ms IS NULL AND completed_at IS NOT NULL",
	"UPDATE executions SET status = 'failed', error = coalesce(error,"
	" 'interrupted: still running when migrated from an earlier"
	" PicoFlow') WHERE status = 'running'",
	"UPDATE executions SET status = 'failed', error = coalesce(error,"
	" 'unknown status ''' || status || ''' left by an earlier PicoFlow')"
	" WHERE status NOT IN ('running', 'success', 'failed', 'timeout',"
	" 'skipped', 'cancelled')",
	"UPDATE task_executions SET started_ms = coalesce(CAST(round("
	" (julianday(started_at) - 2440587.5) * 86400000.0) AS INTEGER), 0)"
	" WHERE started_ms IS NULL",
	"UPDATE task_executions SET completed_ms = CAST(round("
	" (julianday(completed_at) - 2440587.5) * 86400000.0) AS INTEGER)"
	" WHERE completed_ms IS NULL AND completed_at IS NOT NULL",
	"UPDATE task_executions SET duration_ms = completed_ms - started_ms"
	" WHERE duration_ms IS NULL AND completed_ms >= started_ms",
	"UPDATE task_executions SET attempt = 1 WHERE attempt IS NULL"
	" OR attempt < 0",
	"UPDATE task_executions SET status = 'failed', reason = coalesce("
	" reason, 'retried (recorded as retrying by an earlier PicoFlow)')"
	" WHERE status = 'retrying'",
	"UPDATE task_executions SET status = 'failed', reason = coalesce("
	" reason, 'interrupted: still running when migrated from an earlier"
	" PicoFlow') WHERE status = 'running'",
	"UPDATE task_executions SET status = 'failed', reason = coalesce("
	" reason, 'unknown status ''' || status || ''' left by an earlier"
	" PicoFlow') WHERE status NOT IN ('running', 'success', 'failed',"
	" 'timeout', 'skipped', 'cancelled')",
};

/*
 * Side tables the supervisor needs, created on every read-write open
 * (they are additive: a database without them is still version 1, and
 * a PicoFlow that does not know them ignores them; their rows go with
 * the execution or attempt they describe, by ON DELETE CASCADE).
 *
 * run_meta: who owns a run ("supervisor" or "run") and, for a scheduled
 * fire, its scheduled time; UNIQUE (workflow_id, scheduled_ms) makes a
 * fire impossible to run twice.  attempt_procs: the worker's and the
 * task's pid and start time (clock ticks after boot, /proc/PID/stat
 * field 22), so a restarted supervisor can kill exactly the processes
 * a dead one left behind and never a stranger that reused a pid.
 */
static const char *const schema_ext[] = {
	"CREATE TABLE IF NOT EXISTS run_meta ("
	" execution_id INTEGER PRIMARY KEY"
	"  REFERENCES executions(id) ON DELETE CASCADE,"
	" workflow_id INTEGER NOT NULL,"
	" scheduled_ms INTEGER,"
	" owner TEXT NOT NULL,"
	" UNIQUE (workflow_id, scheduled_ms))",
	"CREATE TABLE IF NOT EXISTS attempt_procs ("
	" attempt_id INTEGER PRIMARY KEY"
	"  REFERENCES task_executions(id) ON DELETE CASCADE,"
	" worker_pid INTEGER,"
	" worker_start INTEGER,"
	" task_pid INTEGER,"
	" task_start INTEGER)",
};

/* Indexes for the read queries and for crash recovery. */
static const char *const schema_indexes[] = {
	"CREATE INDEX IF NOT EXISTS idx_executions_wf_started_ms"
	" ON executions (workflow_id, started_ms DESC, id DESC)",
	"CREATE INDEX IF NOT EXISTS idx_executions_started_ms"
	" ON executions (started_ms DESC, id DESC)",
	"CREATE INDEX IF NOT EXISTS idx_executions_status"
	" ON executions (status)",
	"CREATE INDEX IF NOT EXISTS idx_task_executions_exec_task"
	" ON task_executions (execution_id, task_name, attempt)",
};

static int
has_column(struct pf_store *st, const char *table, const char *column,
    int *yes, struct pf_err *err)
{
	sqlite3_stmt	*s;
	int		 rc;

	if (sqlite3_prepare_v2(st->db,
	    "SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2", -1, &s,
	    NULL) != SQLITE_OK) {
		store_sqlerr(st, err, "reading the schema");
		return -1;
	}
	(void)sqlite3_bind_text(s, 1, table, -1, SQLITE_STATIC);
	(void)sqlite3_bind_text(s, 2, column, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		store_sqlerr(st, err, "reading the schema");
		return -1;
	}
	*yes = rc == SQLITE_ROW;
	return 0;
}

static int
has_table(struct pf_store *st, const char *table, int *yes,
    struct pf_err *err)
{
	sqlite3_stmt	*s;
	int		 rc;

	if (sqlite3_prepare_v2(st->db,
	    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
	    -1, &s, NULL) != SQLITE_OK) {
		store_sqlerr(st, err, "reading the schema");
		return -1;
	}
	(void)sqlite3_bind_text(s, 1, table, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		store_sqlerr(st, err, "reading the schema");
		return -1;
	}
	*yes = rc == SQLITE_ROW;
	return 0;
}

/*
 * A version-0 file is either empty or the Rust version's; anything else
 * (another program's database given by mistake) is refused untouched.
 */
static int
check_v0_is_ours(struct pf_store *st, struct pf_err *err)
{
	int64_t	 ntables;
	size_t	 i;
	int	 yes;

	if (query_int(st, "SELECT count(*) FROM sqlite_master WHERE type = "
	    "'table' AND name NOT LIKE 'sqlite_%'", &ntables, err) == -1)
		return -1;
	if (ntables == 0)
		return 0;
	if (has_table(st, "workflows", &yes, err) == -1)
		return -1;
	if (!yes) {
		pf_err_set(err, "%s: not a PicoFlow database (it has tables "
		    "but no 'workflows' table); refusing to change it",
		    st->path);
		return -1;
	}
	for (i = 0; i < sizeof(schema_required) / sizeof(schema_required[0]);
	    i++) {
		int	 tbl;

		if (has_table(st, schema_required[i].table, &tbl, err) == -1)
			return -1;
		if (!tbl)
			continue;	/* created below */
		if (has_column(st, schema_required[i].table,
		    schema_required[i].column, &yes, err) == -1)
			return -1;
		if (!yes) {
			pf_err_set(err, "%s: not a PicoFlow database (table "
			    "'%s' has no column '%s'); refusing to change it",
			    st->path, schema_required[i].table,
			    schema_required[i].column);
			return -1;
		}
	}
	return 0;
}

static int
migrate_v0_to_v1(struct pf_store *st, struct pf_err *err)
{
	size_t	 i;
	int	 yes;

	if (check_v0_is_ours(st, err) == -1)
		return -1;
	for (i = 0; i < sizeof(schema_core) / sizeof(schema_core[0]); i++)
		if (exec_sql(st, schema_core[i], "creating tables", err) == -1)
			return -1;
	for (i = 0; i < sizeof(schema_added) / sizeof(schema_added[0]); i++) {
		if (has_column(st, schema_added[i].table,
		    schema_added[i].column, &yes, err) == -1)
			return -1;
		if (!yes && exec_sql(st, schema_added[i].ddl,
		    "adding a column", err) == -1)
			return -1;
	}
	for (i = 0; i < sizeof(schema_convert) / sizeof(schema_convert[0]);
	    i++)
		if (exec_sql(st, schema_convert[i], "converting old rows",
		    err) == -1)
			return -1;
	for (i = 0; i < sizeof(schema_indexes) / sizeof(schema_indexes[0]);
	    i++)
		if (exec_sql(st, schema_indexes[i], "creating indexes",
		    err) == -1)
			return -1;
	return 0;
}

/*
 * Additive: columns that stay NULL in the rows already there, which reads
 * take as "unknown".  Checked one by one, so a file that somehow has some
 * of them already is completed, not refused.
 */
static int
migrate_v1_to_v2(struct pf_store *st, struct pf_err *err)
{
	size_t	 i;
	int	 yes;

	for (i = 0; i < sizeof(schema_v2) / sizeof(schema_v2[0]); i++) {
		if (has_column(st, "task_executions", schema_v2[i].column, &yes,
		    err) == -1)
			return -1;
		if (!yes && exec_sql(st, schema_v2[i].ddl, "adding a column",
		    err) == -1)
			return -1;
	}
	return 0;
}

static int
migrate_v2_to_v3(struct pf_store *st, struct pf_err *err)
{
	size_t	 i;

	for (i = 0; i < sizeof(schema_v3) / sizeof(schema_v3[0]); i++)
		if (exec_sql(st, schema_v3[i], "creating tables", err) == -1)
			return -1;
	return 0;
}

/* Brings a RW handle to STORE_SCHEMA_VERSION in one transaction. */
static int
store_migrate(struct pf_store *st, struct pf_err *err)
{
	int64_t	 v;

	if (tx_begin(st, err) == -1)
		return -1;
	/* Read again under the write lock: another process may have won. */
	if (query_int(st, "PRAGMA user_version", &v, err) == -1)
		goto fail;
	if (v > STORE_SCHEMA_VERSION) {
		pf_err_set(err, "%s: schema version %lld was written by a newer "
		    "PicoFlow (this one knows up to %d); upgrade PicoFlow",
		    st->path, (long long)v, STORE_SCHEMA_VERSION);
		goto fail;
	}
	if (v < 0) {
		pf_err_set(err, "%s: invalid schema version %lld", st->path,
		    (long long)v);
		goto fail;
	}
	if (v == 0 && migrate_v0_to_v1(st, err) == -1)
		goto fail;
	if (v <= 1 && migrate_v1_to_v2(st, err) == -1)
		goto fail;
	if (v <= 2 && migrate_v2_to_v3(st, err) == -1)
		goto fail;
	/* Future migrations: if (v <= 3 && migrate_v3_to_v4(...)) ... */
	{
		size_t	 i;

		for (i = 0; i < sizeof(schema_ext) / sizeof(schema_ext[0]);
		    i++)
			if (exec_sql(st, schema_ext[i], "creating tables",
			    err) == -1)
				goto fail;
	}
	if (v < STORE_SCHEMA_VERSION) {
		char	 sql[64];

		/* A PRAGMA takes no parameters; the value is our constant. */
		(void)snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
		    STORE_SCHEMA_VERSION);
		if (exec_sql(st, sql, "recording the schema version", err) ==
		    -1)
			goto fail;
	}
	if (tx_commit(st, err) == -1)
		goto fail;
	st->version = STORE_SCHEMA_VERSION;
	return 0;
fail:
	tx_rollback(st);
	return -1;
}

/* ---- open / close ------------------------------------------------------ */

/* mkdir -p of path's parent directories, each new one mode 0700. */
static int
make_parents(const char *path, struct pf_err *err)
{
	char	*dir, *p;
	int	 rc = 0;

	if ((dir = pf_strdup(path)) == NULL) {
		pf_err_set(err, "out of memory");
		return -1;
	}
	if ((p = strrchr(dir, '/')) == NULL || p == dir) {
		pf_free(dir);
		return 0;
	}
	*p = '\0';
	for (p = dir + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		{
			char	 c = *p;

			*p = '\0';
			if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
				pf_err_set(err, "cannot create directory %s: "
				    "%s", dir, strerror(errno));
				rc = -1;
			}
			*p = c;
		}
		if (rc == -1 || *p == '\0')
			break;
	}
	pf_free(dir);
	return rc;
}

/*
 * Refuses a database, -wal or -shm file that is a symbolic link: opened
 * by root it would create or write the file wherever the link points.
 * SQLITE_OPEN_NOFOLLOW covers the database path itself when SQLite
 * opens it; this check covers its two companions too and says why.
 */
static int
refuse_links(const char *path, struct pf_err *err)
{
	static const char *const sfx[] = { "", "-wal", "-shm" };
	struct stat	 sb;
	size_t		 i, len = strlen(path);
	char		*p;

	if ((p = pf_malloc(len + 5)) == NULL) {
		pf_err_set(err, "out of memory");
		return -1;
	}
	for (i = 0; i < 3; i++) {
		memcpy(p, path, len);
		memcpy(p + len, sfx[i], strlen(sfx[i]) + 1);
		if (lstat(p, &sb) == 0 && S_ISLNK(sb.st_mode)) {
			pf_err_set(err, "%s is a symbolic link; the database "
			    "and its -wal and -shm files are never opened "
			    "through one (someone could point it anywhere): "
			    "remove it, or give the real path", p);
			pf_free(p);
			return -1;
		}
	}
	pf_free(p);
	return 0;
}

/* Creates the file 0600 if missing, so SQLite never makes it 0644. */
static int
create_file(const char *path, struct pf_err *err)
{
	int	 fd;

	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW,
	    0600);
	if (fd == -1) {
		pf_err_set(err, "cannot open %s for writing: %s", path,
		    strerror(errno));
		return -1;
	}
	(void)close(fd);
	return 0;
}

static int
store_setup(struct pf_store *st, struct pf_err *err)
{
	sqlite3_stmt	*s;
	int64_t		 v, ntables;
	int		 rc;

	(void)sqlite3_extended_result_codes(st->db, 1);
	(void)sqlite3_busy_timeout(st->db, STORE_BUSY_TIMEOUT_MS);
	/* The file is data, not code: no schema tricks, no writable schema. */
	(void)sqlite3_db_config(st->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	(void)sqlite3_db_config(st->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0,
	    NULL);

	/* The first read: a file of random bytes fails here. */
	if (query_int(st, "PRAGMA user_version", &v, err) == -1)
		return -1;
	if (query_int(st, "SELECT count(*) FROM sqlite_master", &ntables,
	    err) == -1)
		return -1;

	if (st->mode == STORE_RO) {
		if (v > STORE_SCHEMA_VERSION) {
			pf_err_set(err, "%s: schema version %lld was written by "
			    "a newer PicoFlow (this one knows up to %d); "
			    "upgrade PicoFlow", st->path, (long long)v,
			    STORE_SCHEMA_VERSION);
			return -1;
		}
		if (v == 0 && ntables == 0) {
			st->empty = 1;
			st->version = 0;
			return 0;
		}
		/*
		 * Version 1 lacks only additive columns: it is read as it is
		 * (they read as unknown) rather than refused until a writer
		 * comes by.  Version 0 needs its rows converted first.
		 */
		if (v < 1) {
			pf_err_set(err, "%s: the database has an older schema "
			    "(version %lld); run any write command (such as "
			    "'picoflow run') to migrate it", st->path,
			    (long long)v);
			return -1;
		}
		st->version = (int)v;
		return 0;
	}

	if (sqlite3_prepare_v2(st->db, "PRAGMA journal_mode = WAL", -1, &s,
	    NULL) != SQLITE_OK) {
		store_sqlerr(st, err, "switching to WAL");
		return -1;
	}
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW || sqlite3_column_text(s, 0) == NULL ||
	    strcmp((const char *)sqlite3_column_text(s, 0), "wal") != 0) {
		if (rc == SQLITE_ROW)
			pf_err_set(err, "%s: cannot use WAL journaling here "
			    "(got '%s'); put the database on a local "
			    "filesystem", st->path,
			    sqlite3_column_text(s, 0) ?
			    (const char *)sqlite3_column_text(s, 0) : "?");
		else
			store_sqlerr(st, err, "switching to WAL");
		sqlite3_finalize(s);
		return -1;
	}
	sqlite3_finalize(s);
	/*
	 * A small page cache: the supervisor mostly appends, and the kernel's
	 * page cache serves reads anyway.  SQLite's default (2 MB) would be
	 * half of the supervisor's resident set on a 512 MB board.
	 */
	if (exec_sql(st, "PRAGMA synchronous = FULL", "setting synchronous",
	    err) == -1 ||
	    exec_sql(st, "PRAGMA foreign_keys = ON", "enabling foreign keys",
	    err) == -1 ||
	    exec_sql(st, "PRAGMA cache_size = " STORE_CACHE_KIB_SQL,
	    "setting the page cache size", err) == -1)
		return -1;
	return store_migrate(st, err);
}

int
store_open(const char *path, enum store_mode mode, struct pf_store **out,
    struct pf_err *err)
{
	struct pf_store	*st;
	struct stat	 sb;
	int		 flags;

	*out = NULL;
	if (path == NULL || *path == '\0') {
		pf_err_set(err, "no database path given");
		return -1;
	}
	if (mode != STORE_RW && mode != STORE_RO) {
		pf_err_set(err, "invalid store mode");
		return -1;
	}
	if (refuse_links(path, err) == -1)
		return -1;
	if (mode == STORE_RO) {
		if (stat(path, &sb) == -1) {
			pf_err_set(err, "cannot open %s: %s", path,
			    strerror(errno));
			return -1;
		}
		flags = SQLITE_OPEN_READONLY;
	} else {
		if (make_parents(path, err) == -1)
			return -1;
		if (create_file(path, err) == -1)
			return -1;
		if (stat(path, &sb) == -1) {
			pf_err_set(err, "cannot open %s: %s", path,
			    strerror(errno));
			return -1;
		}
		flags = SQLITE_OPEN_READWRITE;
	}
	if (S_ISDIR(sb.st_mode)) {
		pf_err_set(err, "%s is a directory, not a database file",
		    path);
		return -1;
	}
	if ((st = pf_calloc(1, sizeof(*st))) == NULL) {
		pf_err_set(err, "out of memory");
		return -1;
	}
	st->mode = mode;
	if ((st->path = pf_strdup(path)) == NULL) {
		pf_free(st);
		pf_err_set(err, "out of memory");
		return -1;
	}
	flags |= SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE |
	    SQLITE_OPEN_NOFOLLOW;
	if (sqlite3_open_v2(path, &st->db, flags, NULL) != SQLITE_OK) {
		if (st->db != NULL)
			pf_err_set(err, "cannot open %s: %s", path,
			    sqlite3_errmsg(st->db));
		else
			pf_err_set(err, "cannot open %s: out of memory", path);
		store_close(st);
		return -1;
	}
	if (store_setup(st, err) == -1) {
		store_close(st);
		return -1;
	}
	*out = st;
	return 0;
}

void
store_close(struct pf_store *st)
{
	size_t	 i;

	if (st == NULL)
		return;
	for (i = 0; i < SQ__COUNT; i++)
		if (st->stmt[i] != NULL)
			sqlite3_finalize(st->stmt[i]);
	if (st->db != NULL)
		(void)sqlite3_close_v2(st->db);
	pf_free(st->path);
	pf_free(st);
}

int
store_set_sync(struct pf_store *st, enum store_sync mode, struct pf_err *err)
{
	if (check_writable(st, err) == -1)
		return -1;
	switch (mode) {
	case STORE_SYNC_FULL:
		return exec_sql(st, "PRAGMA synchronous = FULL",
		    "setting synchronous", err);
	case STORE_SYNC_NORMAL:
		return exec_sql(st, "PRAGMA synchronous = NORMAL",
		    "setting synchronous", err);
	}
	pf_err_set(err, "invalid durability mode");
	return -1;
}

int
store_schema_version(struct pf_store *st)
{
	return st->version;
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
	e->oom_kills = e->pids_peak = e->pids_denied = -1;
	e->nr_throttled = e->throttled_us = -1;
}

/* ---- writes ------------------------------------------------------------ */

static int
check_name(const char *s, const char *what, struct pf_err *err)
{
	if (s == NULL || *s == '\0') {
		pf_err_set(err, "%s name is empty", what);
		return -1;
	}
	return 0;
}

int
store_workflow_upsert(struct pf_store *st, const char *name, const char *file,
    const char *schedule, const char *description, int64_t *workflow_id,
    struct pf_err *err)
{
	sqlite3_stmt	*s;
	int		 rc;

	if (check_writable(st, err) == -1 ||
	    check_name(name, "workflow", err) == -1)
		return -1;
	if ((s = store_stmt(st, SQ_WF_UPSERT, err)) == NULL)
		return -1;
	bind_text(s, 1, name);
	bind_text(s, 2, file);
	bind_text(s, 3, schedule);
	bind_text(s, 4, description);
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		store_sqlerr(st, err, "recording the workflow");
		stmt_done(s);
		return -1;
	}
	*workflow_id = sqlite3_column_int64(s, 0);
	return step_done(st, s, "recording the workflow", err);
}

int
store_run_begin(struct pf_store *st, int64_t workflow_id, const char *trigger,
    int64_t started_ms, int64_t *run_id, struct pf_err *err)
{
	sqlite3_stmt	*s;
	char		 ts[64];

	if (check_writable(st, err) == -1 ||
	    check_ms(started_ms, "start", err) == -1)
		return -1;
	if ((s = store_stmt(st, SQ_RUN_BEGIN, err)) == NULL)
		return -1;
	fmt_ts(started_ms, ts, sizeof(ts));
	sqlite3_bind_int64(s, 1, workflow_id);
	sqlite3_bind_text(s, 2, ts, -1, SQLITE_TRANSIENT);
	bind_text(s, 3, trigger != NULL ? trigger : "manual");
	sqlite3_bind_int64(s, 4, started_ms);
	sqlite3_bind_int64(s, 5, (int64_t)getpid());
	if (step_done(st, s, "recording the start of a run", err) == -1) {
		if ((sqlite3_extended_errcode(st->db)) ==
		    SQLITE_CONSTRAINT_FOREIGNKEY)
			pf_err_set(err, "%s: no workflow with id %lld",
			    st->path, (long long)workflow_id);
		return -1;
	}
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
	stmt_done(s);
	return -1;
}

int
store_run_end(struct pf_store *st, int64_t run_id, const char *status,
    int64_t ended_ms, const char *error, struct pf_err *err)
{
	sqlite3_stmt	*s;
	char		 ts[64];

	if (check_writable(st, err) == -1)
		return -1;
	if (!store_status_valid(status) || strcmp(status, "running") == 0 ||
	    strcmp(status, "skipped") == 0) {
		pf_err_set(err, "invalid final status '%s' for an execution",
		    status != NULL ? status : "(null)");
		return -1;
	}
	if (check_ms(ended_ms, "end", err) == -1)
		return -1;
	if ((s = store_stmt(st, SQ_RUN_END, err)) == NULL)
		return -1;
	fmt_ts(ended_ms, ts, sizeof(ts));
	sqlite3_bind_int64(s, 1, run_id);
	bind_text(s, 2, status);
	sqlite3_bind_text(s, 3, ts, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 4, ended_ms);
	bind_text(s, 5, error);
	if (step_done(st, s, "recording the end of a run", err) == -1)
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

	if (check_writable(st, err) == -1 ||
	    check_name(task_name, "task", err) == -1 ||
	    check_ms(started_ms, "start", err) == -1)
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
	bind_text(s, 2, task_name);
	sqlite3_bind_text(s, 3, ts, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 4, started_ms);
	sqlite3_bind_int64(s, 5, (int64_t)attempt);
	/* The original's retry_count: retries before this attempt. */
	sqlite3_bind_int64(s, 6, (int64_t)attempt - 1);
	if (step_done(st, s, "recording the start of a task", err) == -1) {
		if (sqlite3_extended_errcode(st->db) ==
		    SQLITE_CONSTRAINT_FOREIGNKEY)
			pf_err_set(err, "%s: no execution with id %lld",
			    st->path, (long long)run_id);
		return -1;
	}
	*attempt_id = sqlite3_last_insert_rowid(st->db);
	return 0;
}

static int
check_chunk(const struct store_chunk *c, struct pf_err *err)
{
	if (c->stream != STORE_STDOUT && c->stream != STORE_STDERR) {
		pf_err_set(err, "invalid output stream %d", c->stream);
		return -1;
	}
	if (c->len > STORE_CHUNK_MAX || (c->len > 0 && c->data == NULL)) {
		pf_err_set(err, "invalid output chunk of %zu bytes (at most %d)",
		    c->len, STORE_CHUNK_MAX);
		return -1;
	}
	return 0;
}

/* One chunk, inside the caller's transaction; empty ones are not kept. */
static int
append_chunk(struct pf_store *st, const struct store_chunk *c,
    struct pf_err *err)
{
	sqlite3_stmt	*s;

	if (c->len == 0)
		return 0;
	if ((s = store_stmt(st, SQ_OUT_APPEND, err)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, c->attempt_id);
	sqlite3_bind_int(s, 2, c->stream);
	(void)sqlite3_bind_blob64(s, 3, c->data, c->len, SQLITE_STATIC);
	if (step_done(st, s, "storing task output", err) == -1) {
		if (sqlite3_extended_errcode(st->db) ==
		    SQLITE_CONSTRAINT_FOREIGNKEY)
			pf_err_set(err, "%s: no task attempt with id %lld",
			    st->path, (long long)c->attempt_id);
		return -1;
	}
	return 0;
}

int
store_output_append(struct pf_store *st, const struct store_chunk *c,
    size_t n, struct pf_err *err)
{
	size_t	 i;

	if (check_writable(st, err) == -1)
		return -1;
	for (i = 0; i < n; i++)
		if (check_chunk(&c[i], err) == -1)
			return -1;
	if (n == 0)
		return 0;
	if (tx_begin(st, err) == -1)
		return -1;
	for (i = 0; i < n; i++)
		if (append_chunk(st, &c[i], err) == -1)
			goto fail;
	if (tx_commit(st, err) == -1)
		goto fail;
	return 0;
fail:
	tx_rollback(st);
	return -1;
}

/* The rest of a chunked attempt's output, in the end's transaction. */
static int
append_rest(struct pf_store *st, int64_t attempt_id, int stream,
    const void *data, size_t len, struct pf_err *err)
{
	struct store_chunk	 c;

	c.attempt_id = attempt_id;
	c.stream = stream;
	while (len > 0) {
		c.data = data;
		c.len = len > STORE_CHUNK_MAX ? STORE_CHUNK_MAX : len;
		if (append_chunk(st, &c, err) == -1)
			return -1;
		data = (const unsigned char *)data + c.len;
		len -= c.len;
	}
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

	if (check_writable(st, err) == -1)
		return -1;
	if (!store_status_valid(e->status) ||
	    strcmp(e->status, "running") == 0) {
		pf_err_set(err, "invalid final status '%s' for a task attempt",
		    e->status != NULL ? e->status : "(null)");
		return -1;
	}
	if (check_ms(e->ended_ms, "end", err) == -1)
		return -1;
	if ((e->stdout_len > 0 && e->stdout_data == NULL) ||
	    (e->stderr_len > 0 && e->stderr_data == NULL)) {
		pf_err_set(err, "task output has a length but no data");
		return -1;
	}
	if (e->chunked) {
		/* Its earlier chunks exist: the rest follows them, atomically
		 * with the end, so a reader never sees an end without it. */
		if (tx_begin(st, err) == -1)
			return -1;
		tx = 1;
		if (append_rest(st, attempt_id, STORE_STDOUT, e->stdout_data,
		    e->stdout_len, err) == -1 ||
		    append_rest(st, attempt_id, STORE_STDERR, e->stderr_data,
		    e->stderr_len, err) == -1)
			goto fail;
	}
	if ((s = store_stmt(st, SQ_ATT_END, err)) == NULL)
		goto fail;
	fmt_ts(e->ended_ms, ts, sizeof(ts));
	sqlite3_bind_int64(s, 1, attempt_id);
	bind_text(s, 2, e->status);
	sqlite3_bind_text(s, 3, ts, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 4, e->ended_ms);
	if (e->has_exit_code)
		sqlite3_bind_int(s, 5, e->exit_code);
	if (e->signal > 0)
		sqlite3_bind_int(s, 6, e->signal);
	bind_opt_i64(s, 7, e->duration_ms);
	bind_opt_i64(s, 8, e->max_rss_kb);
	bind_opt_i64(s, 9, e->user_cpu_us);
	bind_opt_i64(s, 10, e->sys_cpu_us);
	bind_opt_i64(s, 11, e->bytes_captured);
	bind_opt_i64(s, 12, e->bytes_dropped);
	sqlite3_bind_int(s, 13, e->truncated ? 1 : 0);
	if (e->http_status > 0)
		sqlite3_bind_int(s, 14, e->http_status);
	bind_text(s, 15, e->reason);
	bind_opt_i64(s, 18, e->oom_kills);
	bind_opt_i64(s, 19, e->pids_peak);
	bind_opt_i64(s, 20, e->pids_denied);
	bind_opt_i64(s, 21, e->nr_throttled);
	bind_opt_i64(s, 22, e->throttled_us);
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
		stmt_done(s);
		goto fail;
	}
	if (step_done(st, s, "recording the end of a task", err) == -1)
		goto fail;
	if (sqlite3_changes(st->db) != 1) {
		(void)explain_not_running(st, SQ_ATT_STATUS, attempt_id,
		    "task attempt", err);
		goto fail;
	}
	if (tx && tx_commit(st, err) == -1)
		goto fail;
	return 0;
fail:
	if (tx)
		tx_rollback(st);
	return -1;
}

int
store_task_skipped(struct pf_store *st, int64_t run_id, const char *task_name,
    const char *reason, int64_t when_ms, struct pf_err *err)
{
	sqlite3_stmt	*s;
	char		 ts[64];

	if (check_writable(st, err) == -1 ||
	    check_name(task_name, "task", err) == -1 ||
	    check_ms(when_ms, "skip", err) == -1)
		return -1;
	if ((s = store_stmt(st, SQ_SKIP, err)) == NULL)
		return -1;
	fmt_ts(when_ms, ts, sizeof(ts));
	sqlite3_bind_int64(s, 1, run_id);
	bind_text(s, 2, task_name);
	sqlite3_bind_text(s, 3, ts, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 4, when_ms);
	bind_text(s, 5, reason);
	if (step_done(st, s, "recording a skipped task", err) == -1) {
		if (sqlite3_extended_errcode(st->db) ==
		    SQLITE_CONSTRAINT_FOREIGNKEY)
			pf_err_set(err, "%s: no execution with id %lld",
			    st->path, (long long)run_id);
		return -1;
	}
	return 0;
}

int
store_schedule_set(struct pf_store *st, const char *workflow,
    int64_t last_fire_ms, struct pf_err *err)
{
	sqlite3_stmt	*s;

	if (check_writable(st, err) == -1 ||
	    check_name(workflow, "workflow", err) == -1 ||
	    check_ms(last_fire_ms, "fire", err) == -1)
		return -1;
	if ((s = store_stmt(st, SQ_SCHED_SET, err)) == NULL)
		return -1;
	bind_text(s, 1, workflow);
	sqlite3_bind_int64(s, 2, last_fire_ms);
	return step_done(st, s, "recording schedule state", err);
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
	bind_text(s, 1, workflow);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*last_fire_ms = sqlite3_column_int64(s, 0);
		*found = 1;
	} else if (rc != SQLITE_DONE) {
		store_sqlerr(st, err, "reading schedule state");
		stmt_done(s);
		return -1;
	}
	stmt_done(s);
	return 0;
}

int
store_prune(struct pf_store *st, int64_t older_than_ms,
    unsigned keep_per_workflow, int64_t *deleted, struct pf_err *err)
{
	struct store_prune_rule	 d;

	memset(&d, 0, sizeof(d));
	d.older_than_ms = older_than_ms < 0 ? 0 : older_than_ms;
	d.keep = (int64_t)keep_per_workflow;
	return store_prune_rules(st, &d, NULL, 0, deleted, err);
}

static int
prune_rule_check(const struct store_prune_rule *r, int named,
    struct pf_err *err)
{
	const char	*name = named ? r->workflow : "(default)";

	if (named && (r->workflow == NULL || *r->workflow == '\0')) {
		pf_err_set(err, "a retention rule names no workflow");
		return -1;
	}
	if (r->older_than_ms < 0 || r->older_than_ms > STORE_MAX_MS) {
		pf_err_set(err, "retention of workflow %s: time %lld ms is out "
		    "of range", name, (long long)r->older_than_ms);
		return -1;
	}
	if (r->keep < 0 || r->max_bytes < 0) {
		pf_err_set(err, "retention of workflow %s: negative limit",
		    name);
		return -1;
	}
	return 0;
}

static int
prune_limits(const struct store_prune_rule *r)
{
	return r->older_than_ms > 0 || r->keep > 0 || r->max_bytes > 0;
}

/* The temp tables pruning works in (per connection, never on disk). */
static int
prune_temp(struct pf_store *st, struct pf_err *err)
{
	return exec_sql(st, "CREATE TEMP TABLE IF NOT EXISTS prune_ids "
	    "(id INTEGER PRIMARY KEY); CREATE TEMP TABLE IF NOT EXISTS "
	    "prune_rules (name TEXT PRIMARY KEY, older INTEGER NOT NULL, "
	    "keep INTEGER NOT NULL, maxb INTEGER NOT NULL)",
	    "preparing to prune", err);
}

/* Deletes the executions listed in temp.prune_ids, children first. */
static int
prune_listed(struct pf_store *st, int64_t *n, struct pf_err *err)
{
	sqlite3_stmt	*s;

	/* The original's foreign keys do not cascade. */
	if ((s = store_stmt(st, SQ_PRUNE_IDS_TASKS, err)) == NULL ||
	    step_done(st, s, "pruning task attempts", err) == -1 ||
	    (s = store_stmt(st, SQ_PRUNE_IDS_RUNS, err)) == NULL ||
	    step_done(st, s, "pruning executions", err) == -1)
		return -1;
	*n = sqlite3_changes64(st->db);
	return 0;
}

int
store_prune_rules(struct pf_store *st, const struct store_prune_rule *dflt,
    const struct store_prune_rule *rules, size_t nrules, int64_t *deleted,
    struct pf_err *err)
{
	static const struct store_prune_rule none;
	sqlite3_stmt	*s;
	int64_t		 n;
	size_t		 i;
	int		 any, bytes;

	if (deleted != NULL)
		*deleted = 0;
	if (check_writable(st, err) == -1)
		return -1;
	if (dflt == NULL)
		dflt = &none;
	if (nrules > 0 && rules == NULL) {
		pf_err_set(err, "retention rules missing");
		return -1;
	}
	if (prune_rule_check(dflt, 0, err) == -1)
		return -1;
	any = prune_limits(dflt);
	bytes = dflt->max_bytes > 0;
	for (i = 0; i < nrules; i++) {
		if (prune_rule_check(&rules[i], 1, err) == -1)
			return -1;
		any |= prune_limits(&rules[i]);
		bytes |= rules[i].max_bytes > 0;
	}
	if (!any)
		return 0;
	if (prune_temp(st, err) == -1 || tx_begin(st, err) == -1)
		return -1;
	if (exec_sql(st, "DELETE FROM temp.prune_ids; "
	    "DELETE FROM temp.prune_rules", "preparing to prune", err) == -1)
		goto fail;
	for (i = 0; i < nrules; i++) {
		if ((s = store_stmt(st, SQ_PRUNE_RULE_ADD, err)) == NULL)
			goto fail;
		bind_text(s, 1, rules[i].workflow);
		sqlite3_bind_int64(s, 2, rules[i].older_than_ms);
		sqlite3_bind_int64(s, 3, rules[i].keep);
		sqlite3_bind_int64(s, 4, rules[i].max_bytes);
		if (step_done(st, s, "preparing to prune", err) == -1) {
			if (sqlite3_extended_errcode(st->db) ==
			    SQLITE_CONSTRAINT_PRIMARYKEY)
				pf_err_set(err, "workflow %s has two retention "
				    "rules", rules[i].workflow);
			goto fail;
		}
	}
	if ((s = store_stmt(st, bytes ? SQ_PRUNE_COLLECT : SQ_PRUNE_COLLECT_NB,
	    err)) == NULL)
		goto fail;
	sqlite3_bind_int64(s, 1, dflt->older_than_ms);
	sqlite3_bind_int64(s, 2, dflt->keep);
	sqlite3_bind_int64(s, 3, dflt->max_bytes);
	if (step_done(st, s, "choosing executions to prune", err) == -1 ||
	    prune_listed(st, &n, err) == -1)
		goto fail;
	if (tx_commit(st, err) == -1)
		goto fail;
	if (deleted != NULL)
		*deleted = n;
	return 0;
fail:
	tx_rollback(st);
	return -1;
}

int
store_prune_workflow(struct pf_store *st, const char *workflow,
    int64_t older_than_ms, int64_t keep, int64_t max_bytes, int64_t *deleted,
    struct pf_err *err)
{
	struct store_prune_rule	 r;

	if (deleted != NULL)
		*deleted = 0;
	if (check_name(workflow, "workflow", err) == -1)
		return -1;
	r.workflow = workflow;
	r.older_than_ms = older_than_ms;
	r.keep = keep;
	r.max_bytes = max_bytes;
	/* The default (no limits) leaves every other workflow alone. */
	return store_prune_rules(st, NULL, &r, 1, deleted, err);
}

/* ---- reads ------------------------------------------------------------- */

/* Copies a text column; 0 with *out NULL for SQL NULL, -1 when OOM. */
static int
col_str(sqlite3_stmt *s, int i, char **out)
{
	const unsigned char	*t;
	int			 n;

	*out = NULL;
	if (sqlite3_column_type(s, i) == SQLITE_NULL)
		return 0;
	if ((t = sqlite3_column_text(s, i)) == NULL)
		return -1;	/* NULL for a non-NULL value: OOM */
	n = sqlite3_column_bytes(s, i);
	if ((*out = pf_strndup((const char *)t, (size_t)n)) == NULL)
		return -1;
	return 0;
}

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

static int64_t
col_i64(sqlite3_stmt *s, int i, int64_t dflt)
{
	if (sqlite3_column_type(s, i) == SQLITE_NULL)
		return dflt;
	return sqlite3_column_int64(s, i);
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

/* Grows *v (of elements of size sz) so that index n fits. */
static int
grow(void **v, size_t *cap, size_t n, size_t sz)
{
	void	*nv;
	size_t	 ncap;

	if (n < *cap)
		return 0;
	ncap = *cap == 0 ? 8 : *cap * 2;
	if (ncap < *cap || (nv = pf_reallocarray(*v, ncap, sz)) == NULL)
		return -1;
	memset((char *)nv + *cap * sz, 0, (ncap - *cap) * sz);
	*v = nv;
	*cap = ncap;
	return 0;
}

static int
row_run(sqlite3_stmt *s, struct store_run *r)
{
	memset(r, 0, sizeof(*r));
	r->id = sqlite3_column_int64(s, 0);
	r->workflow_id = sqlite3_column_int64(s, 1);
	r->started_ms = col_i64(s, 5, 0);
	r->ended_ms = col_i64(s, 6, -1);
	r->pid = col_i64(s, 8, -1);
	if (col_str(s, 2, &r->workflow) == -1 ||
	    col_str(s, 3, &r->status) == -1 ||
	    col_str(s, 4, &r->trigger) == -1 ||
	    col_str(s, 7, &r->error) == -1) {
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
	bind_text(s, 1, workflow);
	bind_text(s, 2, status);
	sqlite3_bind_int64(s, 3, (limit == 0 || limit > INT64_MAX) ? -1 :
	    (int64_t)limit);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (grow((void **)&v, &cap, cnt, sizeof(*v)) == -1 ||
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
	stmt_done(s);
	*out = v;
	*n = cnt;
	return 0;
fail:
	stmt_done(s);
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
			stmt_done(s);
			return -1;
		}
		*found = 1;
	} else if (rc != SQLITE_DONE) {
		store_sqlerr(st, err, "reading an execution");
		stmt_done(s);
		return -1;
	}
	stmt_done(s);
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
	att = col_i64(s, 3, 1);
	a->attempt = (att < 0 || att > INT_MAX) ? 0 : (unsigned)att;
	a->started_ms = col_i64(s, 5, 0);
	a->ended_ms = col_i64(s, 6, -1);
	a->has_exit_code = sqlite3_column_type(s, 7) != SQLITE_NULL;
	a->exit_code = col_int(s, 7, 0, INT_MIN, INT_MAX);
	a->signal = col_int(s, 8, 0, 0, INT_MAX);
	a->duration_ms = col_i64(s, 9, -1);
	a->max_rss_kb = col_i64(s, 10, -1);
	a->user_cpu_us = col_i64(s, 11, -1);
	a->sys_cpu_us = col_i64(s, 12, -1);
	a->bytes_captured = col_i64(s, 13, -1);
	a->bytes_dropped = col_i64(s, 14, -1);
	a->truncated = col_int(s, 15, 0, 0, 1);
	a->http_status = col_int(s, 16, 0, 0, 999);
	a->oom_kills = col_count(s, 20);
	a->pids_peak = col_count(s, 21);
	a->pids_denied = col_count(s, 22);
	a->nr_throttled = col_count(s, 23);
	a->throttled_us = col_count(s, 24);
	if (col_str(s, 2, &a->task_name) == -1 ||
	    col_str(s, 4, &a->status) == -1 ||
	    col_str(s, 17, &a->reason) == -1)
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

/* Appends len bytes to a reader's copy of one stream. */
static int
out_add(unsigned char **p, size_t *len, size_t *cap, const void *d, size_t n)
{
	unsigned char	*np;
	size_t		 ncap;

	if (n == 0)
		return 0;
	if (n > SIZE_MAX - *len)
		return -1;
	if (*len + n > *cap) {
		ncap = *cap > 0 ? *cap : 4096;
		while (ncap < *len + n)
			ncap = ncap > SIZE_MAX / 2 ? *len + n : ncap * 2;
		if ((np = pf_reallocarray(*p, ncap, 1)) == NULL)
			return -1;
		*p = np;
		*cap = ncap;
	}
	memcpy(*p + *len, d, n);
	*len += n;
	return 0;
}

/* An attempt's chunks after what its columns held (schema 3). */
static int
read_chunks(struct pf_store *st, struct store_attempt *a, struct pf_err *err)
{
	sqlite3_stmt	*s;
	size_t		 cap[2];
	int		 rc, stream, n;
	const void	*d;

	if ((s = store_stmt(st, SQ_OUT_READ, err)) == NULL)
		return -1;
	cap[0] = a->stdout_len;
	cap[1] = a->stderr_len;
	sqlite3_bind_int64(s, 1, a->id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		stream = sqlite3_column_int(s, 0);
		d = sqlite3_column_blob(s, 1);
		n = sqlite3_column_bytes(s, 1);
		if (n <= 0 || d == NULL)
			continue;
		if (stream == STORE_STDERR ? out_add(&a->stderr_data,
		    &a->stderr_len, &cap[1], d, (size_t)n) == -1 :
		    out_add(&a->stdout_data, &a->stdout_len, &cap[0], d,
		    (size_t)n) == -1) {
			pf_err_set(err, "out of memory reading task output");
			stmt_done(s);
			return -1;
		}
	}
	if (rc != SQLITE_DONE) {
		store_sqlerr(st, err, "reading task output");
		stmt_done(s);
		return -1;
	}
	stmt_done(s);
	return 0;
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
	bind_text(s, 2, task);
	sqlite3_bind_int(s, 3, with_output ? 1 : 0);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (grow((void **)&v, &cap, cnt, sizeof(*v)) == -1 ||
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
	stmt_done(s);
	if (with_output && st->version >= 3) {
		size_t	 i;

		for (i = 0; i < cnt; i++)
			if (read_chunks(st, &v[i], err) == -1) {
				store_attempts_free(v, cnt);
				return -1;
			}
	}
	*out = v;
	*n = cnt;
	return 0;
fail:
	stmt_done(s);
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
		if (grow((void **)&v, &cap, cnt, sizeof(*v)) == -1) {
			pf_err_set(err, "out of memory reading workflows");
			goto fail;
		}
		w = &v[cnt];
		w->id = sqlite3_column_int64(s, 0);
		w->total = sqlite3_column_int64(s, 5);
		w->success = (int64_t)sqlite3_column_double(s, 6);
		w->failed = (int64_t)sqlite3_column_double(s, 7);
		w->last_started_ms = col_i64(s, 8, -1);
		if (col_str(s, 1, &w->name) == -1 ||
		    col_str(s, 2, &w->file) == -1 ||
		    col_str(s, 3, &w->schedule) == -1 ||
		    col_str(s, 4, &w->description) == -1 ||
		    col_str(s, 9, &w->last_status) == -1) {
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
	stmt_done(s);
	*out = v;
	*n = cnt;
	return 0;
fail:
	stmt_done(s);
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
	bind_text(s, 1, workflow);
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
		out->last_started_ms = col_i64(s, 9, -1);
	} else if (rc != SQLITE_DONE) {
		store_sqlerr(st, err, "reading statistics");
		stmt_done(s);
		return -1;
	}
	stmt_done(s);
	return 0;
}

/* ---- supervisor: fires, process identities, recovery, retention -------- */

int
store_run_start(struct pf_store *st, const struct store_run_start *rs,
    int64_t *run_id, int *duplicate, struct pf_err *err)
{
	sqlite3_stmt	*s;
	int64_t		 id;
	int		 rc;

	if (duplicate != NULL)
		*duplicate = 0;
	if (check_writable(st, err) == -1 ||
	    check_ms(rs->started_ms, "start", err) == -1)
		return -1;
	if (rs->scheduled_ms >= 0 &&
	    check_ms(rs->scheduled_ms, "scheduled", err) == -1)
		return -1;
	if (tx_begin(st, err) == -1)
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
			stmt_done(s);
			if (duplicate != NULL)
				*duplicate = 1;
			tx_rollback(st);
			return 0;
		}
		if (rc != SQLITE_DONE) {
			store_sqlerr(st, err, "looking up a scheduled fire");
			stmt_done(s);
			goto fail;
		}
		stmt_done(s);
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
	bind_text(s, 4, rs->owner != NULL ? rs->owner : STORE_OWNER_RUN);
	if (step_done(st, s, "recording the start of a run", err) == -1)
		goto fail;
	if (tx_commit(st, err) == -1)
		goto fail;
	*run_id = id;
	return 0;
fail:
	tx_rollback(st);
	return -1;
}

int
store_attempt_procs(struct pf_store *st, int64_t attempt_id,
    const struct store_procs *p, struct pf_err *err)
{
	sqlite3_stmt	*s;

	if (check_writable(st, err) == -1)
		return -1;
	if ((s = store_stmt(st, SQ_PROCS_SET, err)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, attempt_id);
	bind_opt_i64(s, 2, p->worker_pid > 0 ? p->worker_pid : -1);
	bind_opt_i64(s, 3, p->worker_pid > 0 ? p->worker_start : -1);
	bind_opt_i64(s, 4, p->task_pid > 0 ? p->task_pid : -1);
	bind_opt_i64(s, 5, p->task_pid > 0 ? p->task_start : -1);
	if (step_done(st, s, "recording the processes of a task", err) ==
	    -1) {
		if (sqlite3_extended_errcode(st->db) ==
		    SQLITE_CONSTRAINT_FOREIGNKEY)
			pf_err_set(err, "%s: no task attempt with id %lld",
			    st->path, (long long)attempt_id);
		return -1;
	}
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
	if (check_writable(st, err) == -1)
		return -1;
	if ((s = store_stmt(st, SQ_INFLIGHT, err)) == NULL)
		return -1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (grow((void **)&v, &cap, cnt, sizeof(*v)) == -1) {
			pf_err_set(err, "out of memory reading runs in flight");
			goto fail;
		}
		r = &v[cnt];
		r->id = sqlite3_column_int64(s, 0);
		r->pid = col_i64(s, 2, -1);
		r->scheduled_ms = col_i64(s, 4, -1);
		r->started_ms = col_i64(s, 6, 0);
		if (col_str(s, 1, &r->workflow) == -1 ||
		    col_str(s, 3, &r->owner) == -1 ||
		    col_str(s, 5, &r->trigger) == -1) {
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
	stmt_done(s);
	*out = v;
	*n = cnt;
	return 0;
fail:
	stmt_done(s);
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
	if (check_writable(st, err) == -1)
		return -1;
	if ((s = store_stmt(st, SQ_ATT_INFLIGHT, err)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, run_id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (grow((void **)&v, &cap, cnt, sizeof(*v)) == -1) {
			pf_err_set(err, "out of memory reading attempts");
			goto fail;
		}
		a = &v[cnt];
		a->id = sqlite3_column_int64(s, 0);
		att = col_i64(s, 2, 1);
		a->attempt = (att < 0 || att > INT_MAX) ? 0 : (unsigned)att;
		/* Pids from a file: only plausible ones are kept. */
		a->procs.worker_pid = col_i64(s, 3, -1);
		a->procs.worker_start = col_i64(s, 4, -1);
		a->procs.task_pid = col_i64(s, 5, -1);
		a->procs.task_start = col_i64(s, 6, -1);
		if (a->procs.worker_pid <= 1 || a->procs.worker_pid > INT32_MAX)
			a->procs.worker_pid = -1;
		if (a->procs.task_pid <= 1 || a->procs.task_pid > INT32_MAX)
			a->procs.task_pid = -1;
		if (col_str(s, 1, &a->task_name) == -1) {
			pf_err_set(err, "out of memory reading attempts");
			goto fail;
		}
		cnt++;
	}
	if (rc != SQLITE_DONE) {
		store_sqlerr(st, err, "reading attempts in flight");
		goto fail;
	}
	stmt_done(s);
	*out = v;
	*n = cnt;
	return 0;
fail:
	stmt_done(s);
	store_attempts_inflight_free(v, cnt);
	return -1;
}

int
store_prune_bytes(struct pf_store *st, int64_t max_bytes, int64_t *deleted,
    struct pf_err *err)
{
	sqlite3_stmt	*s;
	int64_t		 n;

	if (deleted != NULL)
		*deleted = 0;
	if (check_writable(st, err) == -1)
		return -1;
	if (max_bytes <= 0)
		return 0;
	if (prune_temp(st, err) == -1 || tx_begin(st, err) == -1)
		return -1;
	if (exec_sql(st, "DELETE FROM temp.prune_ids", "preparing to prune",
	    err) == -1 ||
	    (s = store_stmt(st, SQ_PRUNE_BYTES_COLLECT, err)) == NULL)
		goto fail;
	sqlite3_bind_int64(s, 1, max_bytes);
	if (step_done(st, s, "choosing executions to prune", err) == -1 ||
	    prune_listed(st, &n, err) == -1)
		goto fail;
	if (tx_commit(st, err) == -1)
		goto fail;
	if (deleted != NULL)
		*deleted = n;
	return 0;
fail:
	tx_rollback(st);
	return -1;
}

int
store_output_bytes(struct pf_store *st, int64_t *bytes, struct pf_err *err)
{
	sqlite3_stmt	*s;
	int		 rc;

	*bytes = 0;
	if (st->empty)
		return 0;
	if ((s = store_stmt(st, st->version >= 3 ? SQ_OUTPUT_BYTES :
	    SQ_OUTPUT_BYTES_V2, err)) == NULL)
		return -1;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*bytes = (int64_t)sqlite3_column_double(s, 0);
	else if (rc != SQLITE_DONE) {
		store_sqlerr(st, err, "measuring captured output");
		stmt_done(s);
		return -1;
	}
	stmt_done(s);
	return 0;
}

int
store_checkpoint(struct pf_store *st, struct pf_err *err)
{
	if (check_writable(st, err) == -1)
		return -1;
	/* TRUNCATE gives the WAL's disk space back; busy readers just
	 * make it a partial checkpoint, which is not an error. */
	if (sqlite3_wal_checkpoint_v2(st->db, NULL,
	    SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL) != SQLITE_OK &&
	    (sqlite3_errcode(st->db) & 0xff) != SQLITE_BUSY) {
		store_sqlerr(st, err, "checkpointing");
		return -1;
	}
	return 0;
}
