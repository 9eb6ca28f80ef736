/*
 * Starting pf-worker: one fresh process per task attempt, spawned the vfork
 * way (posix_spawn) with its end of a socketpair on fd 3, stdin on
 * /dev/null, an empty environment (but for PICOFLOW_SSH_KNOWN_HOSTS when
 * the operator sets it), its own session, default signal
 * dispositions and every other descriptor closed.
 */
#ifndef PICOFLOW_SPAWN_H
#define PICOFLOW_SPAWN_H

#include <sys/types.h>

#include "picoflow/err.h"

struct spawn_worker {
	pid_t	 pid;		/* the worker, leader of its own session */
	int	 fd;		/* our end of the socketpair, non-blocking */
	int	 error;		/* after a failure: the errno behind it */
};

/*
 * Resolves the pf-worker binary into out: $PICOFLOW_WORKER, else pf-worker
 * next to the running executable (a build tree), else
 * ../libexec/picoflow/pf-worker relative to it (an installed tree, even
 * moved), else the libexec directory chosen at build time.
 */
int	 spawn_find_worker(char *out, size_t len, struct pf_err *);
/* The same lookup for another helper (pf-loader: $PICOFLOW_LOADER). */
int	 spawn_find_exe(const char *name, const char *envname, char *out,
	    size_t len, struct pf_err *);

/*
 * The worker for ssh and http tasks: pf-worker-net beside `worker` (it
 * links libcurl and libssh2, which pf-worker leaves out to start fast),
 * or `worker` itself when PICOFLOW_WORKER is set or there is none.
 */
int	 spawn_net_worker(const char *worker, char *out, size_t len);

/*
 * Starts the worker at path.  On failure returns -1 with err saying which
 * step failed ("spawn: socketpair: Too many open files") and w->error
 * the errno; nothing is left open or running.
 */
int	 spawn_worker(const char *path, struct spawn_worker *, struct pf_err *);

/*
 * 1 when spawn_worker failing with errnum means the system is short of
 * something that comes back (descriptors: EMFILE, ENFILE, ENOBUFS;
 * processes: EAGAIN; memory: ENOMEM): worth waiting for.  0 for the rest
 * (a worker that is missing or not executable), which waiting never cures.
 */
int	 spawn_transient(int errnum);

/*
 * Test seam, compiled in always, called by nothing but tests: after
 * `after` more calls of spawn_worker, the next `count` calls fail with
 * errnum at the step that reports it for real (EMFILE, ENFILE, ENOBUFS at
 * the socketpair; any other errno at posix_spawn, once the socketpair is
 * made), so each failure takes the real clean-up path.  after < 0 or
 * count 0 turns it off.  spawn_fail_injected() counts the failures
 * injected since the seam was last set.
 */
void	 spawn_fail_after(long after, unsigned long count, int errnum);
unsigned long spawn_fail_injected(void);

#endif
