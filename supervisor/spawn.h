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
};

/*
 * Resolves the pf-worker binary into out: $PICOFLOW_WORKER, else pf-worker
 * next to the running executable (a build tree), else
 * ../libexec/picoflow/pf-worker relative to it (an installed tree, even
 * moved), else the libexec directory chosen at build time.
 */
int	 spawn_find_worker(char *out, size_t len, struct pf_err *);

/*
 * The worker for ssh and http tasks: pf-worker-net beside `worker` (it
 * links libcurl and libssh2, which pf-worker leaves out to start fast),
 * or `worker` itself when PICOFLOW_WORKER is set or there is none.
 */
int	 spawn_net_worker(const char *worker, char *out, size_t len);

int	 spawn_worker(const char *path, struct spawn_worker *, struct pf_err *);

#endif
