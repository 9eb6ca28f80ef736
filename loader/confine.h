/*
 * pf-loader's confinement, applied before it reads a byte of input: a
 * chain of small steps in the order they must happen (fds, rlimits, name
 * service set-up, user, no-new-privs, Landlock, seccomp).  docs/security.md
 * ("The loader process") says what the confined process can still do.
 */
#ifndef PICOFLOW_CONFINE_H
#define PICOFLOW_CONFINE_H

#include "picoflow/err.h"

/* Address space of the loader (bytes): far above what 1 MiB of YAML needs. */
#define CONFINE_MEM_MAX		(1024L * 1024 * 1024)
#define CONFINE_CPU_S		60	/* the supervisor's timer comes first */

/* Every step; -1 with the reason when one fails (the loader then exits). */
int	 confine_all(struct pf_err *);

#endif
