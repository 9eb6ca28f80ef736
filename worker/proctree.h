/*
 * The processes a task left behind.  pf-worker is a child subreaper, so
 * every process its task started stays its descendant, even after a
 * double fork or setsid(); this module finds them through /proc and
 * signals them.  It never reaps: exec_shell.c is the one reaper.
 */
#ifndef PICOFLOW_PROCTREE_H
#define PICOFLOW_PROCTREE_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Every live or zombie descendant of `root` (not root itself), read from
 * /proc/[pid]/stat.  *out is pf_malloc'd (NULL when there are none).
 * Returns 0, or -1 with errno when /proc cannot be read.
 */
int	 proctree_descendants(pid_t root, pid_t **out, size_t *n);

/*
 * Sends sig to process group pgid (when > 0) and to every descendant of
 * this process.  Returns how many descendants were found, -1 when /proc
 * could not be read (the group was still signalled).
 */
long	 proctree_signal(pid_t pgid, int sig);

#endif
