/*
 * pf-worker's core: the supervisor channel and one task attempt.  The
 * contract with the supervisor (fd 3, signals, frames) is in
 * docs/protocol.md, "The worker process".
 */
#ifndef PICOFLOW_WORKER_H
#define PICOFLOW_WORKER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "picoflow/buf.h"
#include "picoflow/proto.h"
#include "attach.h"

/* Exit codes of pf-worker. */
#define WORKER_EXIT_OK		0	/* RESULT sent, whatever its status */
#define WORKER_EXIT_FAIL	1	/* bad SPEC, supervisor gone, ... */
#define WORKER_EXIT_USAGE	2

struct worker {
	int		 sock;		/* the supervisor's socket; -1 while
					   detached (att.on) */
	int		 sigfd;		/* signalfd: CHLD, TERM, INT, HUP */
	struct pf_buf	 frame;		/* one outgoing frame */
	int		 lost;		/* the supervisor went away */
	int		 extra_warned;	/* bytes after the SPEC were logged */
	char		 home[1024];	/* HOME for the task: the user's */
	struct attach	 att;		/* surviving the supervisor */
	int		 att_ended;	/* the task is over: no deadline */
	int		 timed_out;	/* stopped by the worker's own timeout */
	int		 stop_seen;	/* a stop is in progress */
	int		 swallow_stop;	/* the next stop signal repeats one a
					   predecessor (or our timeout) gave */
	/*
	 * While worker_send waits for the supervisor to read (it stops
	 * reading when its output memory is full), an executor that sets
	 * wait still stops its task on time: wait() is called at least
	 * every WORKER_SEND_TICK_MS with the stop signal that came (0 =
	 * none).  Without it, signals wait in the signalfd for the
	 * executor's own loop.
	 */
	void		(*wait)(void *arg, int sig);
	void		*wait_arg;
};
#define WORKER_SEND_TICK_MS	100

/*
 * Runs one attempt on socket fd: reads the SPEC, runs its executor,
 * sends STARTED/OUTPUT/RESULT.  Returns a WORKER_EXIT_* code.
 */
int	 worker_run(int fd);

/*
 * Sends one encoded frame, whole; -1 when the supervisor is gone.  With
 * re-attach on, the frame goes to the spool first and a lost supervisor
 * is not an error (0): the frame waits there for the next one.
 */
int	 worker_send(struct worker *, const struct pf_buf *);
/* Writes bytes to the attached supervisor; -1 when that failed. */
int	 worker_send_bytes(struct worker *, const void *, size_t);
/*
 * What an executor polls (POLLIN) for news from the supervisor side:
 * the socket, the re-attach epoll fd, or -1 once the supervisor is gone
 * for good.  Call worker_sock_readable() when it is readable.
 */
int	 worker_poll_fd(const struct worker *);
/* The worker's own fds, for a child to close: returns how many. */
size_t	 worker_own_fds(const struct worker *, int *, size_t);
int	 worker_send_started(struct worker *, pid_t, uint64_t time_ms);
int	 worker_send_output(struct worker *, uint8_t stream, const void *,
	    size_t);
/*
 * Drains the signalfd; returns the first stop signal (TERM, INT, HUP)
 * it held, 0 when there was only SIGCHLD or nothing.
 */
int	 worker_read_signals(struct worker *);
/* Sets the RESULT's status and error text (capped, may end up NULL). */
void	 worker_result_error(struct proto_result *, uint8_t status,
	    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/*
 * Called when worker_poll_fd() is readable after the SPEC: nothing more
 * is expected from a supervisor, so bytes are read and dropped.  Returns
 * -1 at EOF or on an error (the supervisor is gone, the task must stop),
 * else 0.  With re-attach on it handles connections, EOF (detach) and
 * the deadline instead, and never returns -1.
 */
int	 worker_sock_readable(struct worker *);

/* Milliseconds: CLOCK_MONOTONIC for durations, CLOCK_REALTIME for dates. */

#endif
