/*
 * The one reader of /proc/PID/stat: the few fields PicoFlow needs to
 * tell a process's state, parent and identity (pid plus start time).
 */
#ifndef PICOFLOW_PROCSTAT_H
#define PICOFLOW_PROCSTAT_H

#include <stdint.h>
#include <sys/types.h>

struct procstat {
	char	 state;		/* field 3: R, S, D, Z, X, ... */
	pid_t	 ppid;		/* field 4 */
	int64_t	 start;		/* field 22: clock ticks after boot */
};

/*
 * Reads /proc/PID/stat into *ps; -1 when the file cannot be read or
 * parsed (the process is gone, or pid <= 0).
 */
int	 procstat_read(pid_t pid, struct procstat *ps);

#endif
