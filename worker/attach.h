/*
 * A task that outlives its supervisor (docs/protocol.md, "Re-attach").
 *
 * When the SPEC names an attach directory, the worker, before its
 * sandbox, creates there
 *
 *	<attempt_id>.spool	every frame it sends, in order (O_APPEND):
 *				STARTED, OUTPUT..., RESULT
 *	<attempt_id>.sock	a listening unix socket
 *
 * and from then on a lost supervisor no longer stops the task: frames go
 * to the spool only, the worker keeps the task's timeout itself, and a
 * supervisor that connects to the socket (same user as the one that
 * started the worker, not from inside the attempt's cgroup, one at a
 * time) is sent the whole spool and then the live stream.  After the
 * task ended the worker waits attach_window_ms for one, then exits; its
 * RESULT stays in the spool for the next supervisor.
 */
#ifndef PICOFLOW_ATTACH_H
#define PICOFLOW_ATTACH_H

#include <stdint.h>
#include <sys/types.h>

#include "picoflow/err.h"
#include "picoflow/proto.h"

struct worker;

struct attach {
	int		 on;		/* the SPEC asked for it */
	int		 ep;		/* epoll: lsock, the connection, tfd */
	int		 lsock;		/* listening */
	int		 spool;		/* O_RDWR | O_APPEND */
	int		 tfd;		/* timerfd: the task's deadline */
	uid_t		 uid;		/* the supervisor's: may attach */
	uint64_t	 spool_len;	/* good bytes in the spool */
	int		 spool_broken;	/* a write failed: replay stops there */
	int		 deadline;	/* the task's timeout passed */
	uint32_t	 window_ms;
	uint64_t	 attempt_id;
	char		 cgroup[512];	/* the worker's own, at start */
};

/* Marks the attach state unused (every fd -1). */
void	 attach_init(struct attach *);
/*
 * Creates the spool and the socket when spec->attach_dir is set (0 and
 * nothing done otherwise).  Called before the sandbox.  -1 with err set:
 * the worker cannot promise to survive, so the attempt fails to start.
 */
int	 attach_open(struct worker *, const struct proto_spec *,
	    struct pf_err *);
void	 attach_close(struct attach *);
/* Appends one frame to the spool (nothing when off or broken). */
void	 attach_record(struct attach *, const void *, size_t);
/*
 * The supervisor's side of the channel broke (EOF, EPIPE): from now on
 * frames go to the spool only.  A passed deadline is acted on now.
 */
void	 attach_detach(struct worker *, const char *why);
/* Handles what the epoll fd reported (connections, EOF, the deadline). */
void	 attach_events(struct worker *);
/*
 * After the RESULT: while no supervisor is attached, waits up to the
 * window for one (which is then sent the spool, RESULT included).
 */
void	 attach_linger(struct worker *);

#endif
