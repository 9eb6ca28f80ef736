/*
 * Test harness for pf-worker: starts build/pf-worker the way the
 * supervisor does (socketpair end on fd 3, stdin /dev/null, a chosen
 * environment), sends SPECs or raw bytes, and collects and checks the
 * frames that come back.
 *
 * PF_TEST_WORKER_WRAPPER, when set, is a space-separated command put in
 * front of the worker (e.g. "valgrind -q --error-exitcode=99").
 */
#ifndef PICOFLOW_TEST_WORKER_HARNESS_H
#define PICOFLOW_TEST_WORKER_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "picoflow/buf.h"
#include "picoflow/err.h"
#include "picoflow/frame.h"
#include "picoflow/proto.h"

struct wh {
	pid_t			 pid;		/* the worker */
	int			 sock;		/* our end; -1 once closed */
	int			 logfd;		/* the worker's stdout+stderr */
	struct frame_reader	 r;

	int			 nstarted;
	struct proto_started	 started;
	struct pf_buf		 out[2];	/* stdout, stderr received */
	size_t			 noutput;	/* OUTPUT frames */
	int			 nresult;
	struct proto_result	 result;
	int			 nbad;		/* protocol violations seen */
	char			 bad[PF_ERR_MAX]; /* the first one */
	int			 eof;

	uint64_t		 hwm_kib;	/* max VmHWM seen in /proc */
	int			 reaped;
	int			 status;	/* wait status */
	char			*log;		/* what the worker printed */
};

/*
 * Starts the worker.  env: its environment (NULL-terminated, may be
 * NULL for an empty one, as the supervisor gives it).  Returns 0.
 */
int	 wh_start(struct wh *, char *const env[]);
/* Which binary wh_start runs: "pf-worker" (default) or "pf-worker-net". */
void	 wh_binary(const char *name);
/*
 * Waits until the worker has its signalfd, i.e. SIGTERM is an event for
 * it rather than the default action.  0 when it does.
 */
int	 wh_wait_ready(struct wh *, double timeout_s);
/* Sends raw bytes; -1 if the worker is gone. */
int	 wh_send(struct wh *, const void *, size_t);
int	 wh_send_spec(struct wh *, const struct proto_spec *);
/* Shuts down our writing side (EOF for the worker, reading continues). */
void	 wh_shutdown(struct wh *);
/* Closes our end completely: the worker sees the supervisor go away. */
void	 wh_close(struct wh *);

/*
 * Read frames until the condition holds.  Return 0 when it did, -1 on
 * timeout or EOF first.
 */
int	 wh_wait_started(struct wh *, double timeout_s);
int	 wh_wait_output(struct wh *, int stream, const char *needle,
	    double timeout_s);
/* Reads until EOF (the worker closed its end). */
int	 wh_collect(struct wh *, double timeout_s);
/* Waits for the worker to exit (SIGKILL after timeout_s); reads its log. */
int	 wh_reap(struct wh *, double timeout_s);
void	 wh_free(struct wh *);

/* Start, send the SPEC, collect, reap: the common case. */
int	 wh_run(struct wh *, const struct proto_spec *, double timeout_s);

/* A shell SPEC for command + args (borrowed pointers). */
void	 wh_shell_spec(struct proto_spec *, const char *command,
	    char *const args[]);

/* The output of one stream as a NUL-terminated string. */
const char *wh_out(struct wh *, int stream);
/*
 * True when the worker runs under valgrind: its posix_spawn turns into a
 * fork without shared memory, so exec failures come back as exit 127,
 * and its memory is valgrind's.
 */
int	 wh_under_valgrind(void);
/* Seconds on the monotonic clock. */
double	 wh_now(void);

#endif
