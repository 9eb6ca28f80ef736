/*
 * The state store: one SQLite database (WAL) holding workflows, executions
 * (one run of a workflow), task attempts and schedule state.  The layout
 * keeps the Rust PicoFlow's tables and columns (workflows, executions,
 * task_executions) and extends them, so an old picoflow.db opens and is
 * migrated in place; see docs/state.md.
 *
 * Rules every function follows:
 *  - Every write is one transaction, committed (synchronous=FULL) before the
 *    function returns: once store_attempt_end() returned 0 for a success,
 *    that success survives kill -9 and power loss.  Inside a batch
 *    (store_batch_begin, below) the batch's commit is that point.
 *  - Every string is a bound parameter; nothing is formatted into SQL.
 *  - Times are milliseconds since the Unix epoch (UTC), int64_t.
 *  - Functions return 0 on success and -1 with err filled on failure
 *    (err may be NULL).  A handle is used by one thread at a time and must
 *    not be shared across fork().
 *  - Statuses are enum pf_status (status.h), stored as their names:
 *    running, success, failed, timeout, skipped, cancelled.  A write
 *    given any other value is refused.
 */
#ifndef PICOFLOW_STORE_H
#define PICOFLOW_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "picoflow/err.h"
#include "picoflow/status.h"

/*
 * PRAGMA user_version written by this code; older versions are migrated.
 * 1: the Rust tables extended; 2: cgroup accounting columns on attempts;
 * 3: output in chunks (table task_output); 4: attempts may be recorded
 * `interrupted` (PF_STATUS_INTERRUPTED), no table changes.
 */
#define STORE_SCHEMA_VERSION	4
#define STORE_BUSY_TIMEOUT_MS	5000
#define STORE_DB_NAME		"picoflow.db"

struct pf_store;

enum store_mode {
	STORE_RW,	/* creates and migrates; the one writer of a run */
	STORE_RO,	/* never writes; for status/history/logs/stats */
};

/*
 * Opens (STORE_RW: creates) the database at path.  RW creates missing
 * parent directories with mode 0700 and the file with mode 0600, switches
 * to WAL, sets busy_timeout and foreign_keys, and migrates an older schema
 * (empty file, Rust PicoFlow's schema) to STORE_SCHEMA_VERSION in one
 * transaction.  RO opens an existing file only; it fails when the file is
 * missing (check first if that is not an error for you), when the schema
 * predates version 1 ("run any write command to migrate it"; a version
 * 1 file is read as it is, its attempts' version 2 columns unknown), and
 * for both modes when the file is not a PicoFlow database or was written
 * by a newer PicoFlow.
 */
int	 store_open(const char *path, enum store_mode, struct pf_store **out,
	    struct pf_err *);
/*
 * Durability of each commit.  STORE_SYNC_FULL (the default) fsyncs the WAL
 * on every commit: a recorded state survives kill -9 and power loss.
 * STORE_SYNC_NORMAL fsyncs only at checkpoints: it survives kill -9 but a
 * power cut can lose the last commits (the file stays consistent); about
 * 20x more commits per second on a slow disk.  See docs/state.md.
 */
enum store_sync {
	STORE_SYNC_FULL,
	STORE_SYNC_NORMAL,
};
int	 store_set_sync(struct pf_store *, enum store_sync, struct pf_err *);
/* "full" or "normal" (the --sync flags): 0, or -1 for another word. */
int	 store_sync_parse(const char *, enum store_sync *);

/*
 * Group commit: from store_batch_begin to store_batch_commit every write
 * joins one transaction, committed (and fsynced, per store_set_sync) once.
 * Inside a batch the rule above ("committed before the function
 * returns") is relaxed: a write that returned 0 is durable only when
 * store_batch_commit returned 0; a commit that fails (-1) undid every
 * write of the batch.  A write that fails inside a batch undoes only its
 * own part, unless SQLite rolled back the whole transaction (a full disk,
 * an I/O error): then every later write and the commit fail.
 * store_checkpoint is a no-op while a batch is open.
 */
int	 store_batch_begin(struct pf_store *, struct pf_err *);
int	 store_batch_commit(struct pf_store *, struct pf_err *);
void	 store_batch_rollback(struct pf_store *);
/* 1 between store_batch_begin and its commit or rollback. */
int	 store_batch_open(const struct pf_store *);

/* Finalizes cached statements and closes; NULL is a no-op. */
void	 store_close(struct pf_store *);
/* The schema version found in the file (after migration for RW). */
int	 store_schema_version(struct pf_store *);

/* ---- writes ------------------------------------------------------------ */

/*
 * Inserts the workflow by name, or updates file/schedule/description of
 * the existing row; *workflow_id gets its id either way.  schedule NULL =
 * on demand; file and description may be NULL.
 */
int	 store_workflow_upsert(struct pf_store *, const char *name,
	    const char *file, const char *schedule, const char *description,
	    int64_t *workflow_id, struct pf_err *);

/*
 * A new execution with status running.  trigger is a short word such as
 * "manual", "cron", "catchup", "api" (NULL = "manual").  The calling
 * process's pid is recorded so a restarted supervisor can tell its own
 * in-flight runs from another live process's.
 */
int	 store_run_begin(struct pf_store *, int64_t workflow_id,
	    const char *trigger, int64_t started_ms, int64_t *run_id,
	    struct pf_err *);
/*
 * Final status of an execution: success, failed, timeout or cancelled.
 * error (NULL = none) says why it did not succeed.  Only a running
 * execution can end: ending one twice is an error, so a recorded outcome
 * is never overwritten.
 */
int	 store_run_end(struct pf_store *, int64_t run_id, enum pf_status,
	    int64_t ended_ms, const char *error, struct pf_err *);

/*
 * The end of one task attempt.  Fields that are unknown: int64_t ones -1
 * (stored as NULL), has_exit_code 0, signal 0, http_status 0, reason NULL.
 * stdout/stderr are stored as BLOBs exactly as given (the worker already
 * capped them); data may be NULL when len is 0.
 */
struct store_attempt_end {
	enum pf_status	 status;	/* success failed timeout cancelled skipped */
	int		 exit_code;
	int		 has_exit_code;
	int		 signal;	/* terminating signal, 0 = none */
	int64_t		 ended_ms;
	int64_t		 duration_ms;
	int64_t		 max_rss_kb;
	int64_t		 user_cpu_us;
	int64_t		 sys_cpu_us;
	int64_t		 bytes_captured;
	int64_t		 bytes_dropped;
	int		 truncated;	/* output hit the cap */
	int		 http_status;
	/* cgroup accounting of the attempt (schema 2); -1 unknown */
	int64_t		 oom_kills;	/* processes the OOM killer killed */
	int64_t		 pids_peak;	/* most processes at once */
	int64_t		 pids_denied;	/* forks refused at the pids limit */
	int64_t		 nr_throttled;	/* periods the cpu limit throttled */
	int64_t		 throttled_us;	/* time spent throttled */
	const char	*reason;	/* error or skip reason */
	const void	*stdout_data;
	size_t		 stdout_len;
	const void	*stderr_data;
	size_t		 stderr_len;
	/*
	 * 0: the output above is all of it, kept in the attempt's row.
	 * 1: chunks of it were stored (store_output_append); the output
	 * above is the rest, appended as chunks in the same transaction.
	 */
	int		 chunked;
};

/* Initializes every field of *e to "unknown" (see above), status NONE. */
void	 store_attempt_end_init(struct store_attempt_end *e);

/* A new attempt row (status running); attempt is 1-based. */
int	 store_attempt_begin(struct pf_store *, int64_t run_id,
	    const char *task_name, unsigned attempt, int64_t started_ms,
	    int64_t *attempt_id, struct pf_err *);
/*
 * Records the attempt's final status, resources and output.  Only a
 * running attempt can end (a recorded success is never overwritten).
 */
int	 store_attempt_end(struct pf_store *, int64_t attempt_id,
	    const struct store_attempt_end *, struct pf_err *);
/*
 * Output streamed while an attempt runs (schema 3): chunks appended after
 * the attempt's earlier ones, all n in one transaction (one commit), so a
 * writer batches what arrived from every attempt.  A chunk holds at most
 * STORE_CHUNK_MAX bytes (well below SQLite's largest value); empty ones
 * are skipped.  Readers (store_attempts_list with_output) get the
 * attempt's columns followed by its chunks, per stream.
 */
#define STORE_STDOUT		1
#define STORE_STDERR		2
#define STORE_CHUNK_MAX		(4 * 1024 * 1024)
struct store_chunk {
	int64_t		 attempt_id;
	int		 stream;	/* STORE_STDOUT, STORE_STDERR */
	const void	*data;
	size_t		 len;
};
/*
 * The output of an attempt stored in chunks so far, per stream (bytes[0]
 * stdout, bytes[1] stderr): what a re-attached worker's replay skips.
 */
int	 store_output_stored(struct pf_store *, int64_t attempt_id,
	    uint64_t bytes[2], struct pf_err *);
int	 store_output_append(struct pf_store *, const struct store_chunk *,
	    size_t n, struct pf_err *);

/* A task that never ran: one row, status skipped, attempt 0. */
int	 store_task_skipped(struct pf_store *, int64_t run_id,
	    const char *task_name, const char *reason, int64_t when_ms,
	    struct pf_err *);

/* Schedule state for the daemon: the last fire time of each workflow. */
int	 store_schedule_set(struct pf_store *, const char *workflow,
	    int64_t last_fire_ms, struct pf_err *);
/* *found = 0 (and *last_fire_ms untouched) when nothing was recorded. */
int	 store_schedule_get(struct pf_store *, const char *workflow,
	    int64_t *last_fire_ms, int *found, struct pf_err *);

/*
 * Retention: deletes finished executions (and their attempts) that started
 * before older_than_ms (0 = no age limit) or that are beyond the newest
 * keep_per_workflow finished executions of their workflow (0 = no count
 * limit).  Running executions are never deleted and never count.
 * *deleted (may be NULL) gets the number of executions removed.  One
 * transaction.  Same as store_prune_rules with no rules.
 */
int	 store_prune(struct pf_store *, int64_t older_than_ms,
	    unsigned keep_per_workflow, int64_t *deleted, struct pf_err *);

/*
 * The limits of one workflow's history.  Every field 0 = no limit of that
 * kind; negative values are refused.
 */
struct store_prune_rule {
	const char	*workflow;	/* name; ignored in the default rule */
	int64_t		 older_than_ms;	/* runs started before this go */
	int64_t		 keep;		/* newest finished runs kept */
	int64_t		 max_bytes;	/* captured output kept, newest first */
};

/*
 * Retention with per-workflow limits, in one transaction: the finished
 * executions of a workflow named in rules[] are pruned by that rule alone
 * (a 0 field there is no limit, not the default's); every other
 * workflow's by dflt (NULL = no limits).  A run goes when it breaks any
 * limit of its rule: it started before older_than_ms, or is beyond the
 * newest keep finished runs, or the captured output (stdout + stderr
 * bytes) of the newer finished runs of its workflow and its own adds up to
 * more than max_bytes.  Running executions are never deleted and never
 * count.  A name given twice is refused.  *deleted (may be NULL) gets the
 * number of executions removed.
 */
int	 store_prune_rules(struct pf_store *,
	    const struct store_prune_rule *dflt,
	    const struct store_prune_rule *rules, size_t nrules,
	    int64_t *deleted, struct pf_err *);
/* One workflow's history only; the others are left as they are. */
int	 store_prune_workflow(struct pf_store *, const char *workflow,
	    int64_t older_than_ms, int64_t keep, int64_t max_bytes,
	    int64_t *deleted, struct pf_err *);

/* ---- the supervisor's needs ---------------------------------------------
 * Kept in two side tables (run_meta, attempt_procs) that every read-write
 * open creates if missing; see docs/state.md.
 */

#define STORE_OWNER_SUPERVISOR	"supervisor"
#define STORE_OWNER_RUN		"run"		/* picoflow run */

struct store_run_start {
	int64_t		 workflow_id;
	const char	*trigger;	/* as for store_run_begin */
	int64_t		 started_ms;
	int64_t		 scheduled_ms;	/* a cron fire's time; -1 = none */
	const char	*owner;		/* STORE_OWNER_*; NULL = "run" */
};

/*
 * store_run_begin plus the run's owner and scheduled time, in one
 * transaction.  A workflow's scheduled time can begin one run only: when
 * a run for (workflow_id, scheduled_ms) exists, nothing is written,
 * *duplicate (may be NULL) is set to 1, *run_id gets the existing run's
 * id, and 0 is returned.
 */
int	 store_run_start(struct pf_store *, const struct store_run_start *,
	    int64_t *run_id, int *duplicate, struct pf_err *);

/* A process and its start time (clock ticks after boot); pid -1 = none. */
struct store_procs {
	int64_t		 worker_pid;
	int64_t		 worker_start;
	int64_t		 task_pid;
	int64_t		 task_start;
};
/* Records (or replaces) the processes of a running attempt. */
int	 store_attempt_procs(struct pf_store *, int64_t attempt_id,
	    const struct store_procs *, struct pf_err *);

/* An execution still marked running (RW handles only). */
struct store_inflight {
	int64_t		 id;
	char		*workflow;
	int64_t		 pid;		/* writer's pid, -1 unknown */
	char		*owner;		/* NULL: written without run_meta */
	int64_t		 scheduled_ms;	/* -1 none */
	char		*trigger;
	int64_t		 started_ms;
};
int	 store_runs_inflight(struct pf_store *, struct store_inflight **out,
	    size_t *n, struct pf_err *);
void	 store_inflight_free(struct store_inflight *, size_t n);

/* An attempt still marked running, with its recorded processes. */
struct store_attempt_proc {
	int64_t		 id;
	char		*task_name;
	unsigned	 attempt;
	struct store_procs procs;	/* pids -1 when not recorded */
};
int	 store_attempts_inflight(struct pf_store *, int64_t run_id,
	    struct store_attempt_proc **out, size_t *n, struct pf_err *);
void	 store_attempts_inflight_free(struct store_attempt_proc *, size_t n);

/*
 * Retention by size: deletes the oldest finished executions until the
 * captured output (stdout + stderr bytes) of the ones left is at most
 * max_bytes (<= 0: no limit).  One transaction.
 */
int	 store_prune_bytes(struct pf_store *, int64_t max_bytes,
	    int64_t *deleted, struct pf_err *);
/* Bytes of captured output stored, all executions. */
int	 store_output_bytes(struct pf_store *, int64_t *bytes, struct pf_err *);
/* Checkpoints and truncates the WAL (after a prune, say). */
int	 store_checkpoint(struct pf_store *, struct pf_err *);

/* ---- reads -------------------------------------------------------------
 * Results are arrays the caller frees with the matching *_free function.
 * Strings are NUL-terminated copies (NULL when the column is NULL).
 */

struct store_run {
	int64_t		 id;
	int64_t		 workflow_id;
	char		*workflow;	/* name */
	char		*status;
	char		*trigger;	/* NULL for rows the Rust version wrote */
	int64_t		 started_ms;
	int64_t		 ended_ms;	/* -1 while running */
	char		*error;
	int64_t		 pid;		/* writer's pid, -1 unknown */
};

struct store_attempt {
	int64_t		 id;
	int64_t		 run_id;
	char		*task_name;
	unsigned	 attempt;	/* 0 = skipped without running */
	char		*status;
	int64_t		 started_ms;
	int64_t		 ended_ms;	/* -1 while running */
	int		 has_exit_code;
	int		 exit_code;
	int		 signal;
	int64_t		 duration_ms;	/* -1 unknown, likewise below */
	int64_t		 max_rss_kb;
	int64_t		 user_cpu_us;
	int64_t		 sys_cpu_us;
	int64_t		 bytes_captured;
	int64_t		 bytes_dropped;
	int		 truncated;
	int		 http_status;	/* 0 = none */
	int64_t		 oom_kills;	/* -1 unknown, likewise below */
	int64_t		 pids_peak;
	int64_t		 pids_denied;
	int64_t		 nr_throttled;
	int64_t		 throttled_us;
	char		*reason;
	/* Only filled when asked for (with_output); NULL/0 otherwise. */
	unsigned char	*stdout_data;
	size_t		 stdout_len;
	unsigned char	*stderr_data;
	size_t		 stderr_len;
};

struct store_workflow {
	int64_t		 id;
	char		*name;
	char		*file;
	char		*schedule;	/* NULL = on demand */
	char		*description;
	int64_t		 total;		/* executions */
	int64_t		 success;
	int64_t		 failed;	/* failed + timeout */
	int64_t		 last_started_ms; /* -1 = never run */
	char		*last_status;	/* NULL = never run */
};

struct store_stats {
	int64_t		 total;
	int64_t		 success;
	int64_t		 failed;	/* failed + timeout */
	int64_t		 cancelled;
	int64_t		 running;
	int64_t		 avg_duration_ms; /* over finished runs; -1 = none */
	int64_t		 day_total;	/* started in the 24 h before now_ms */
	int64_t		 day_success;
	int64_t		 day_failed;
	int64_t		 last_started_ms; /* -1 = never run */
};

/*
 * Executions, newest first (by start time, then id).  workflow NULL = all
 * workflows; status NULL = any; limit 0 = no limit.
 */
int	 store_runs_list(struct pf_store *, const char *workflow,
	    const char *status, size_t limit, struct store_run **out,
	    size_t *n, struct pf_err *);
/* One execution by id; *found = 0 when there is none. */
int	 store_run_get(struct pf_store *, int64_t run_id, struct store_run *out,
	    int *found, struct pf_err *);
void	 store_run_clear(struct store_run *);
void	 store_runs_free(struct store_run *, size_t n);

/*
 * Attempts of one execution in the order they started (skipped rows by
 * their time, ties by id).  task NULL = every task.  with_output copies
 * stdout/stderr too.
 */
int	 store_attempts_list(struct pf_store *, int64_t run_id,
	    const char *task, int with_output, struct store_attempt **out,
	    size_t *n, struct pf_err *);
void	 store_attempts_free(struct store_attempt *, size_t n);
/*
 * Of task's rows in v (task NULL: every row is the task's), how many
 * attempts from number `newest` down were recorded interrupted, in a row.
 */
unsigned store_attempts_interrupted_tail(const struct store_attempt *v,
	    size_t n, const char *task, unsigned newest);

/* Every workflow with its totals, by name. */
int	 store_workflows_list(struct pf_store *, struct store_workflow **out,
	    size_t *n, struct pf_err *);
void	 store_workflows_free(struct store_workflow *, size_t n);

/* Totals for one workflow; all zeros (avg -1) for an unknown workflow. */
int	 store_stats(struct pf_store *, const char *workflow, int64_t now_ms,
	    struct store_stats *, struct pf_err *);

#endif
