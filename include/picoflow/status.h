/*
 * The status of a run (an execution) or of a task attempt: one enum for
 * the engine, the store, the daemon and the CLI, and its names, which are
 * the text values the database keeps (docs/state.md).  A new status is
 * one value here, before PF_STATUS__COUNT, and its name in status.c.
 */
#ifndef PICOFLOW_STATUS_H
#define PICOFLOW_STATUS_H

enum pf_status {
	PF_STATUS_NONE = 0,	/* not set: never stored, never parsed */
	PF_STATUS_RUNNING,
	PF_STATUS_SUCCESS,
	PF_STATUS_FAILED,
	PF_STATUS_TIMEOUT,
	PF_STATUS_SKIPPED,
	PF_STATUS_CANCELLED,
	/*
	 * An attempt whose worker could not be followed to its end (gone
	 * after a restart; schema version 4): not counted against retry.
	 */
	PF_STATUS_INTERRUPTED,
	PF_STATUS__COUNT	/* sizes arrays indexed by status */
};

/* The stored word ("success"); "unknown" for NONE or out of range. */
const char	*pf_status_name(enum pf_status);
/*
 * The status named by s (exact, lower case): 0 and *out set, or -1 for
 * NULL or any other text (*out untouched).
 */
int		 pf_status_parse(const char *s, enum pf_status *out);
/* 1 for a status a record can hold (RUNNING .. INTERRUPTED), else 0. */
int		 pf_status_valid(enum pf_status);

#endif
