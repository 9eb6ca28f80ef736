/*
 * The supervisor's side of the attach directory (<state>/attach): where
 * each worker of an attempt keeps <id>.spool (every frame it sent) and
 * listens on <id>.sock, so that its task outlives a supervisor crash or
 * restart (worker/attach.h is the worker's side, docs/protocol.md
 * "Re-attach" the contract).
 */
#ifndef PICOFLOW_ATTACHDIR_H
#define PICOFLOW_ATTACHDIR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "picoflow/err.h"

/*
 * Creates dir (0700) if missing and checks it is ours and private, and
 * that unix sockets can be made in it.
 */
int	 attachdir_prepare(const char *dir, struct pf_err *);
/*
 * Removes the spools and sockets of attempts other than keep[] (those
 * taken over): leftovers of attempts that ended or were given up.
 */
void	 attachdir_sweep(const char *dir, const int64_t *keep, size_t nkeep);
/* Removes an attempt's spool and socket; missing ones are fine. */
void	 attachdir_forget(const char *dir, int64_t attempt_id);
/*
 * Connects to the attempt's worker: 0 with *fd (non-blocking, CLOEXEC)
 * when the process listening is exactly *worker_pid, started at
 * worker_start (procid.h); -1 with err saying why not.  *worker_pid 0
 * (not recorded): any process of our user, whose pid is returned there.
 */
int	 attachdir_connect(const char *dir, int64_t attempt_id,
	    pid_t *worker_pid, int64_t worker_start, int *fd, struct pf_err *);
/*
 * Opens the attempt's spool when it ends with a complete RESULT frame
 * (its worker finished and is gone): 0 with *fd at offset 0; -1 when
 * there is none, it is damaged, or it has no RESULT (err says which).
 */
int	 attachdir_spool_result(const char *dir, int64_t attempt_id, int *fd,
	    struct pf_err *);

#endif
