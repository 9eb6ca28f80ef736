/*
 * The store's schema and its migrations.  The tables keep the Rust
 * PicoFlow's columns (started_at/completed_at as text timestamps,
 * stdout/stderr, attempt, retry_count, ...) and add ours (millisecond
 * times, resource usage, reasons).  Schema v0 is "whatever the Rust
 * version or nothing left here"; v1 is ours; v2 adds the cgroup
 * accounting of each attempt; v3 the output chunks.  Migration runs the
 * same code for an empty file and for a Rust database: create the
 * original tables if missing, add every missing column, convert the old
 * rows; then each later step, all in one transaction.
 */
#include <stdint.h>
#include <stdio.h>

#include <sqlite3.h>

#include "picoflow/err.h"
#include "picoflow/store.h"
#include "store_int.h"

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

	if (store_query_int(st, "SELECT count(*) FROM sqlite_master WHERE "
	    "type = 'table' AND name NOT LIKE 'sqlite_%'", &ntables,
	    err) == -1)
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
		if (store_exec_sql(st, schema_core[i], "creating tables",
		    err) == -1)
			return -1;
	for (i = 0; i < sizeof(schema_added) / sizeof(schema_added[0]); i++) {
		if (has_column(st, schema_added[i].table,
		    schema_added[i].column, &yes, err) == -1)
			return -1;
		if (!yes && store_exec_sql(st, schema_added[i].ddl,
		    "adding a column", err) == -1)
			return -1;
	}
	for (i = 0; i < sizeof(schema_convert) / sizeof(schema_convert[0]);
	    i++)
		if (store_exec_sql(st, schema_convert[i], "converting old rows",
		    err) == -1)
			return -1;
	for (i = 0; i < sizeof(schema_indexes) / sizeof(schema_indexes[0]);
	    i++)
		if (store_exec_sql(st, schema_indexes[i], "creating indexes",
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
		if (!yes && store_exec_sql(st, schema_v2[i].ddl,
		    "adding a column", err) == -1)
			return -1;
	}
	return 0;
}

static int
migrate_v2_to_v3(struct pf_store *st, struct pf_err *err)
{
	size_t	 i;

	for (i = 0; i < sizeof(schema_v3) / sizeof(schema_v3[0]); i++)
		if (store_exec_sql(st, schema_v3[i], "creating tables",
		    err) == -1)
			return -1;
	return 0;
}

/* Brings a RW handle to STORE_SCHEMA_VERSION in one transaction. */
int
store_migrate(struct pf_store *st, struct pf_err *err)
{
	int64_t	 v;

	if (store_tx_begin(st, err) == -1)
		return -1;
	/* Read again under the write lock: another process may have won. */
	if (store_query_int(st, "PRAGMA user_version", &v, err) == -1)
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
	/*
	 * 3 -> 4 changes no table: it says attempts may now be recorded
	 * `interrupted`, which an older PicoFlow would not understand, so
	 * that one refuses the file instead of misreading it.
	 */
	{
		size_t	 i;

		for (i = 0; i < sizeof(schema_ext) / sizeof(schema_ext[0]);
		    i++)
			if (store_exec_sql(st, schema_ext[i], "creating tables",
			    err) == -1)
				goto fail;
	}
	if (v < STORE_SCHEMA_VERSION) {
		char	 sql[64];

		/* A PRAGMA takes no parameters; the value is our constant. */
		(void)snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
		    STORE_SCHEMA_VERSION);
		if (store_exec_sql(st, sql, "recording the schema version",
		    err) == -1)
			goto fail;
	}
	if (store_tx_commit(st, err) == -1)
		goto fail;
	st->version = STORE_SCHEMA_VERSION;
	return 0;
fail:
	store_tx_rollback(st);
	return -1;
}
