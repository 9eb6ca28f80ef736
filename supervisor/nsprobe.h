/*
 * Whether this host can give each shell task PID and mount namespaces
 * of its own (worker/nsinit.h): tried once, at start, in a throwaway
 * child that does what a task's init does (private mounts, a fresh
 * /proc, a tmpfs).  Not root, no user namespaces, a seccomp or a chroot
 * without /proc say no; the engine then runs tasks as before and says
 * so once, loudly, like a missing cgroup.
 */
#ifndef PICOFLOW_NSPROBE_H
#define PICOFLOW_NSPROBE_H

#include <stddef.h>

/*
 * 1 when namespaces work here, else 0.  line gets the one-line
 * description ("namespaces: ...").  Blocks for the child (a few ms).
 */
int	 nsprobe_run(char *line, size_t len);

#endif
