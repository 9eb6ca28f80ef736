/*
 * The control channel: what `picoflow trigger|cancel|reload|daemon
 * status` send to a running pf-supervisor over its unix socket
 * (STATE_DIR/control.sock, mode 0600), in the common framing
 * (picoflow/frame.h).  One request per connection:
 *
 *	client -> supervisor	REQUEST (one frame, at most CTL_REQUEST_MAX)
 *	supervisor -> client	REPLY (one message, may span frames)
 *
 * Both sides treat what they receive as hostile: fields are size- and
 * range-checked, singletons may appear once, required fields must be
 * there, strings carry no NUL and are capped, repeated fields are
 * counted.  Unknown tags are skipped so either side may add fields.
 * The messages are tables of the codec the worker frames use too
 * (picoflow/tlv.h, common/ctl.c).
 */
#ifndef PICOFLOW_CTL_H
#define PICOFLOW_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "picoflow/buf.h"
#include "picoflow/err.h"
#include "picoflow/frame.h"

/* Frame types (distinct from the worker channel's 1..4). */
#define CTL_MSG_REQUEST		16
#define CTL_MSG_REPLY		17

#define CTL_REQUEST_MAX		4096		/* payload bytes */
#define CTL_REPLY_MAX		(4 * 1024 * 1024) /* body, all frames */
#define CTL_REPLY_FIELDS_MAX	65536
#define CTL_NAME_MAX		256		/* names, triggers */
#define CTL_TEXT_MAX		4096		/* messages, paths */
#define CTL_LIST_MAX		4096		/* workflows or runs listed */
#define CTL_ERRORS_MAX		32		/* recent errors listed */

enum ctl_cmd {
	CTL_CMD_STATUS = 1,
	CTL_CMD_TRIGGER = 2,	/* needs workflow */
	CTL_CMD_CANCEL = 3,	/* needs run_id */
	CTL_CMD_RELOAD = 4,
};
#define CTL_CMD_MAX	CTL_CMD_RELOAD

/* REQUEST tags. */
enum {
	CTL_REQ_CMD = 1,		/* u8 enum ctl_cmd, required */
	CTL_REQ_WORKFLOW = 2,		/* str */
	CTL_REQ_RUN_ID = 3,		/* u64, 1..INT64_MAX */
};

/* REPLY tags. */
enum {
	CTL_REP_OK = 1,			/* u8 0 or 1, required */
	CTL_REP_MESSAGE = 2,		/* str */
	CTL_REP_RUN_ID = 3,		/* u64 */
	CTL_REP_PID = 10,		/* u32, status only from here on */
	CTL_REP_VERSION = 11,		/* str */
	CTL_REP_STARTED_MS = 12,	/* u64 */
	CTL_REP_NOW_MS = 13,		/* u64 */
	CTL_REP_CONFIG = 14,		/* str */
	CTL_REP_STOPPING = 15,		/* u8 0 or 1 */
	CTL_REP_TASKS_RUNNING = 16,	/* u32 */
	CTL_REP_MAX_TASKS = 17,		/* u32, 0 = no cap */
	CTL_REP_ISOLATION_MODE = 18,	/* str: v2, hybrid, v1, none */
	CTL_REP_ISOLATION = 19,		/* str: one line, how and where */
	CTL_REP_WORKFLOW = 20,		/* nested fields, repeated */
	CTL_REP_RUN = 21,		/* nested fields, repeated */
	CTL_REP_ERROR = 22,		/* str, repeated */
	CTL_REP_NAMESPACES = 40,	/* str: one line, "namespaces: ..." */
};

/* Fields of one CTL_REP_WORKFLOW. */
enum {
	CTL_WF_NAME = 1,		/* str, required */
	CTL_WF_FILE = 2,		/* str */
	CTL_WF_SCHEDULE = 3,		/* str */
	CTL_WF_TIMEZONE = 4,		/* str */
	CTL_WF_NEXT_FIRE_MS = 5,	/* u64 */
	CTL_WF_LAST_FIRE_MS = 6,	/* u64 */
	CTL_WF_RUNNING = 7,		/* u32 */
	CTL_WF_QUEUED = 8,		/* u32 */
	CTL_WF_FIRES = 9,		/* u64 */
	CTL_WF_SKIPS = 10,		/* u64 */
	CTL_WF_ERROR = 11,		/* str: its file is broken, the last
					   good version runs */
	CTL_WF_OVERLAP = 12,		/* u8 enum wf_overlap */
};

/* Fields of one CTL_REP_RUN. */
enum {
	CTL_RUN_ID = 1,			/* u64, required */
	CTL_RUN_WORKFLOW = 2,		/* str, required */
	CTL_RUN_TRIGGER = 3,		/* str */
	CTL_RUN_STARTED_MS = 4,		/* u64 */
	CTL_RUN_SCHEDULED_MS = 5,	/* u64 */
	CTL_RUN_TASKS_RUNNING = 6,	/* u32 */
};

/*
 * The strings a sender fills from data it does not own are const: the
 * encoder only reads them; what a decoder fills, *_free() releases.
 */
struct ctl_request {
	uint8_t		 cmd;
	const char	*workflow;	/* NULL = absent */
	int64_t		 run_id;	/* -1 = absent */
};

/* Times are unix ms; -1 = absent. */
struct ctl_wf_status {
	const char	*name;
	const char	*file;
	const char	*schedule;
	const char	*timezone;
	int64_t		 next_fire_ms;
	int64_t		 last_fire_ms;
	uint32_t	 running;
	uint32_t	 queued;
	uint64_t	 fires;
	uint64_t	 skips;
	const char	*error;
	uint8_t		 overlap;
};

struct ctl_run_status {
	int64_t		 run_id;
	const char	*workflow;
	const char	*trigger;
	int64_t		 started_ms;
	int64_t		 scheduled_ms;
	uint32_t	 tasks_running;
};

struct ctl_reply {
	bool		 ok;
	char		*message;	/* NULL = none */
	int64_t		 run_id;	/* -1 = none */
	/* status */
	int		 has_status;	/* send the status fields; decoded:
					   pid .. max_tasks were present */
	uint32_t	 pid;
	char		*version;
	int64_t		 started_ms;
	int64_t		 now_ms;
	char		*config;
	bool		 stopping;
	uint32_t	 tasks_running;
	uint32_t	 max_tasks;
	char		*isolation_mode;
	char		*isolation;
	char		*namespaces;
	struct ctl_wf_status *wfs;
	size_t		 nwfs;
	struct ctl_run_status *runs;
	size_t		 nruns;
	char		**errors;
	size_t		 nerrors;
};

void	 ctl_request_init(struct ctl_request *);
void	 ctl_request_free(struct ctl_request *);
/* Resets out and leaves one REQUEST frame in it. */
int	 ctl_request_encode(const struct ctl_request *, struct pf_buf *out,
	    struct pf_err *);
int	 ctl_request_decode(const struct frame *, struct ctl_request *,
	    struct pf_err *);

void	 ctl_reply_init(struct ctl_reply *);
void	 ctl_reply_free(struct ctl_reply *);
/*
 * Appends to the reply's lists (the strings are copied); -1 on
 * allocation failure or when a list is full.
 */
int	 ctl_reply_add_wf(struct ctl_reply *, const struct ctl_wf_status *);
int	 ctl_reply_add_run(struct ctl_reply *, const struct ctl_run_status *);
int	 ctl_reply_add_error(struct ctl_reply *, const char *);
/* Resets out and leaves the REPLY's frame(s) in it. */
int	 ctl_reply_encode(const struct ctl_reply *, struct pf_buf *out,
	    struct pf_err *);
/* body: the REPLY reassembled from its frames (struct frame_asm). */
int	 ctl_reply_decode(const void *body, size_t len, struct ctl_reply *,
	    struct pf_err *);

const char *ctl_cmd_name(uint8_t cmd);

struct sockaddr_un;
/*
 * The address of the control socket at path (pf-supervisor listens on
 * it, picoflow connects to it); -1 when path does not fit in sun_path.
 */
int	 ctl_sock_addr(const char *path, struct sockaddr_un *,
	    struct pf_err *);

#endif
