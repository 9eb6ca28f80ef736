/*
 * The state store's private header, shared by common/store_*.c and by
 * nothing else: the handle's definition, the prepared statements by name,
 * and the small helpers every store file uses.
 *
 * The state store: SQLite in WAL mode, one transaction per state change,
 * synchronous=FULL so that a committed change survives power loss, not
 * only kill -9 (docs/state.md explains the choice).  Statements are
 * prepared once per handle and cached; every value is a bound parameter.
 * The files:
 *  - store_stmt.c      every statement's text and the per-handle cache;
 *  - store_sqlite.c    the helpers below: errors, binding, stepping,
 *                      transactions, argument checks, column reads;
 *  - store_schema.c    the tables and the migrations between versions;
 *  - store_open.c      opening, setting up and closing a handle;
 *  - store_write.c     workflows, runs, attempts, skips, schedule state;
 *  - store_output.c    task output streamed in chunks, written and read;
 *  - store_read.c      what the CLI and pf-web list and count;
 *  - store_recovery.c  fires recorded once, process identities, what a
 *                      restarted supervisor finds in flight;
 *  - store_retention.c pruning by age, count and bytes; checkpoints.
 */
#ifndef PICOFLOW_STORE_INT_H
#define PICOFLOW_STORE_INT_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "picoflow/err.h"
#include "picoflow/store.h"

/* Largest time accepted: 9999-12-31T23:59:59.999Z. */
#define STORE_MAX_MS	INT64_C(253402300799999)

/* The prepared statements; their texts are in store_stmt.c. */
enum sq {
	SQ_BEGIN,
	SQ_COMMIT,
	SQ_ROLLBACK,
	SQ_SAVEPOINT,
	SQ_RELEASE,
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
	SQ_OUT_STORED,
	SQ__COUNT
};

struct pf_store {
	sqlite3		*db;
	enum store_mode	 mode;
	int		 version;
	int		 empty;		/* RO on a file with no tables yet */
	char		*path;
	sqlite3_stmt	*stmt[SQ__COUNT];
	int		 batch;		/* store_batch_begin: one transaction
					   open; store_tx_* are savepoints */
};

/* store_stmt.c */
sqlite3_stmt	*store_stmt(struct pf_store *, enum sq, struct pf_err *);

/* store_sqlite.c */
void	 store_sqlerr(struct pf_store *, struct pf_err *, const char *);
void	 store_stmt_done(sqlite3_stmt *);
int	 store_bind_text(sqlite3_stmt *, int, const char *);
int	 store_bind_opt_i64(sqlite3_stmt *, int, int64_t);
int	 store_step_done(struct pf_store *, sqlite3_stmt *, const char *,
	    struct pf_err *);
int	 store_step_fk(struct pf_store *, sqlite3_stmt *, const char *,
	    const char *what_parent, int64_t id, struct pf_err *);
int	 store_check_writable(struct pf_store *, struct pf_err *);
int	 store_check_ms(int64_t, const char *, struct pf_err *);
int	 store_check_name(const char *, const char *, struct pf_err *);
int	 store_tx_begin(struct pf_store *, struct pf_err *);
int	 store_tx_commit(struct pf_store *, struct pf_err *);
void	 store_tx_rollback(struct pf_store *);
int	 store_exec_sql(struct pf_store *, const char *, const char *,
	    struct pf_err *);
int	 store_query_int(struct pf_store *, const char *, int64_t *,
	    struct pf_err *);
int	 store_col_str(sqlite3_stmt *, int, char **);
int64_t	 store_col_i64(sqlite3_stmt *, int, int64_t);
int	 store_grow(void **, size_t *, size_t, size_t);

/* store_schema.c */
int	 store_migrate(struct pf_store *, struct pf_err *);

/* store_output.c */
int	 store_output_append_rest(struct pf_store *, int64_t, int,
	    const void *, size_t, struct pf_err *);
int	 store_output_read_chunks(struct pf_store *, struct store_attempt *,
	    struct pf_err *);

#endif /* PICOFLOW_STORE_INT_H */
