/*
 * Retention: pruning finished executions by age, by count per workflow,
 * by captured bytes per workflow or over the whole file, each set chosen
 * once in a temp table and deleted children first in one transaction;
 * measuring the output kept; checkpointing the WAL to give its space back.
 */
#include <stdint.h>
#include <string.h>

#include <sqlite3.h>

#include "picoflow/err.h"
#include "picoflow/store.h"
#include "store_int.h"

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
	return store_exec_sql(st, "CREATE TEMP TABLE IF NOT EXISTS prune_ids "
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
	    store_step_done(st, s, "pruning task attempts", err) == -1 ||
	    (s = store_stmt(st, SQ_PRUNE_IDS_RUNS, err)) == NULL ||
	    store_step_done(st, s, "pruning executions", err) == -1)
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
	if (store_check_writable(st, err) == -1)
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
	if (prune_temp(st, err) == -1 || store_tx_begin(st, err) == -1)
		return -1;
	if (store_exec_sql(st, "DELETE FROM temp.prune_ids; "
	    "DELETE FROM temp.prune_rules", "preparing to prune", err) == -1)
		goto fail;
	for (i = 0; i < nrules; i++) {
		if ((s = store_stmt(st, SQ_PRUNE_RULE_ADD, err)) == NULL)
			goto fail;
		store_bind_text(s, 1, rules[i].workflow);
		sqlite3_bind_int64(s, 2, rules[i].older_than_ms);
		sqlite3_bind_int64(s, 3, rules[i].keep);
		sqlite3_bind_int64(s, 4, rules[i].max_bytes);
		if (store_step_done(st, s, "preparing to prune", err) == -1) {
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
	if (store_step_done(st, s, "choosing executions to prune", err) == -1 ||
	    prune_listed(st, &n, err) == -1)
		goto fail;
	if (store_tx_commit(st, err) == -1)
		goto fail;
	if (deleted != NULL)
		*deleted = n;
	return 0;
fail:
	store_tx_rollback(st);
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
	if (store_check_name(workflow, "workflow", err) == -1)
		return -1;
	r.workflow = workflow;
	r.older_than_ms = older_than_ms;
	r.keep = keep;
	r.max_bytes = max_bytes;
	/* The default (no limits) leaves every other workflow alone. */
	return store_prune_rules(st, NULL, &r, 1, deleted, err);
}

int
store_prune_bytes(struct pf_store *st, int64_t max_bytes, int64_t *deleted,
    struct pf_err *err)
{
	sqlite3_stmt	*s;
	int64_t		 n;

	if (deleted != NULL)
		*deleted = 0;
	if (store_check_writable(st, err) == -1)
		return -1;
	if (max_bytes <= 0)
		return 0;
	if (prune_temp(st, err) == -1 || store_tx_begin(st, err) == -1)
		return -1;
	if (store_exec_sql(st, "DELETE FROM temp.prune_ids",
	    "preparing to prune", err) == -1 ||
	    (s = store_stmt(st, SQ_PRUNE_BYTES_COLLECT, err)) == NULL)
		goto fail;
	sqlite3_bind_int64(s, 1, max_bytes);
	if (store_step_done(st, s, "choosing executions to prune", err) == -1 ||
	    prune_listed(st, &n, err) == -1)
		goto fail;
	if (store_tx_commit(st, err) == -1)
		goto fail;
	if (deleted != NULL)
		*deleted = n;
	return 0;
fail:
	store_tx_rollback(st);
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
		store_stmt_done(s);
		return -1;
	}
	store_stmt_done(s);
	return 0;
}

int
store_checkpoint(struct pf_store *st, struct pf_err *err)
{
	if (store_check_writable(st, err) == -1)
		return -1;
	if (st->batch)
		return 0;	/* not inside a transaction; the next call */
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
