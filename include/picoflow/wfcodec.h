/*
 * The workflow model on the wire, and the messages of pf-loader, the
 * unprivileged process that parses workflow and policy files for the
 * root supervisor (docs/protocol.md, "Loader messages").
 *
 * A model is a body of fields (u16 tag, u32 len, bytes; the framing's
 * field layout) described once by a table per struct: one encoder and
 * one decoder walk the tables.  The decoder treats the bytes as hostile:
 * every field is seen at most once, has its exact size, strings have no
 * NUL and a length cap, counts are capped before anything is allocated,
 * integers are range-checked, and after decoding the model is checked
 * again as a whole (names, references, the DAG recomputed from the
 * names): nothing the loader says about structure is trusted.
 */
#ifndef PICOFLOW_WFCODEC_H
#define PICOFLOW_WFCODEC_H

#include <stddef.h>
#include <stdint.h>

#include "picoflow/buf.h"
#include "picoflow/err.h"
#include "picoflow/workflow.h"

/* Frame types on the loader's pipes (their own channel). */
enum wfcodec_msg {
	/* supervisor -> loader, in this order */
	LOADER_MSG_OPTS = 32,	/* one frame */
	LOADER_MSG_POLICY = 33,	/* 0 or 1 message, may span frames */
	LOADER_MSG_FILE = 34,	/* one message per file, may span frames */
	LOADER_MSG_END = 35,	/* empty */
	/* loader -> supervisor */
	LOADER_MSG_POLICY_RESULT = 40,	/* first, one frame */
	LOADER_MSG_RESULT = 41,	/* one per FILE, in order, may span frames */
	LOADER_MSG_DONE = 42,	/* u32 number of results */
};

/* OPTS */
#define LOADER_OPT_RUN_AS	1	/* str: --run-as, absent = none */
#define LOADER_OPT_IS_ROOT	2	/* u8: the supervisor runs as root */
#define LOADER_OPT_DEFAULTS	3	/* limits body: the engine's defaults */
#define LOADER_OPT_MAX_TASKS	4	/* u32 */
#define LOADER_OPT_MAX_BYTES	5	/* u32: of one workflow file */
/* POLICY and FILE bodies */
#define LOADER_IN_LABEL		1	/* str: the path shown in messages */
#define LOADER_IN_DATA		2	/* bytes: the file's contents */
#define LOADER_IN_FALLBACK	3	/* u8 (POLICY): the last good one */
/* POLICY_RESULT */
#define LOADER_POL_OK		1	/* u8 */
#define LOADER_POL_ERROR	2	/* str: every error, one per line */
#define LOADER_POL_RUN_AS	3	/* str: tasks without run_as run as */
#define LOADER_POL_FALLBACK	4	/* u8: the fallback policy is used */
#define LOADER_POL_ALLOW_ROOT	5	/* u8: the policy's allow_root */
#define LOADER_POL_MAX_TASKS	6	/* u32: its max_tasks_running */
#define LOADER_POL_MAX_RUNS	7	/* u32: its max_runs_running */
/* RESULT */
#define LOADER_RES_INDEX	1	/* u32: the FILE it answers, from 0 */
#define LOADER_RES_ERROR	2	/* str */
#define LOADER_RES_WARNINGS	3	/* str */
#define LOADER_RES_REFUSED	4	/* u8: loads without the policy */
#define LOADER_RES_MODEL	5	/* body: the workflow, absent = broken */
/* DONE */
#define LOADER_DONE_COUNT	1	/* u32 */

/* Caps on what a loader may send (and the supervisor asks). */
#define LOADER_TEXT_MAX		(256 * 1024)	/* error or warnings text */
#define LOADER_RESULT_MAX	(64 * 1024 * 1024) /* one RESULT message */
#define LOADER_REPLY_MAX	(512u * 1024 * 1024) /* all of a reply */
#define LOADER_FILE_MAX		(8 * 1024 * 1024) /* one FILE message */

/* Caps on a decoded model (beyond what one message's size implies). */
#define WFCODEC_TASKS_MAX	100000
#define WFCODEC_LIST_MAX	65536	/* entries of any other list */
#define WFCODEC_TEXT_MAX	(1024 * 1024) /* one string */
#define WFCODEC_PATH_MAX	4096
#define WFCODEC_SHORT_MAX	1024	/* hosts, users, schedules, methods */

struct wfcodec_opts {
	size_t		 max_tasks;	/* 0 = WFCODEC_TASKS_MAX */
	/*
	 * Root: when not allowed, a task whose user (its run_as, else
	 * default_user) is root by runas_is_root() makes the model
	 * invalid.  root_check 0: not judged (the fuzz target, tests).
	 */
	int		 root_check;
	int		 root_allowed;
	const char	*default_user;	/* NULL: the process's own user */
};

/* Appends the model's body (fields, no frame header) to out. */
int	 wfcodec_encode(const struct pf_workflow *, struct pf_buf *out);
/*
 * Decodes and checks a body; NULL with the reason in err.  The result
 * has dep_idx, order and level computed here, from the names.
 */
struct pf_workflow *wfcodec_decode(const void *, size_t,
	    const struct wfcodec_opts *, struct pf_err *);

/* The six limits as a body (OPTS' defaults), and back. */
int	 wfcodec_encode_limits(const struct pf_limits *, struct pf_buf *);
int	 wfcodec_decode_limits(const void *, size_t, struct pf_limits *,
	    struct pf_err *);

#endif
