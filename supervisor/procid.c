#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "picoflow/procstat.h"
#include "procid.h"

int
procid_start_time(pid_t pid, int64_t *start)
{
	struct procstat	 ps;

	if (procstat_read(pid, &ps) == -1 || ps.state == 'Z' ||
	    ps.state == 'X')
		return -1;
	*start = ps.start;
	return 0;
}

int
procid_matches(pid_t pid, int64_t start)
{
	int64_t	 s;

	return start >= 0 && procid_start_time(pid, &s) == 0 && s == start;
}

int
procid_alive(pid_t pid)
{
	struct procstat	 ps;

	if (pid <= 0)
		return 0;
	if (kill(pid, 0) == -1 && errno == ESRCH)
		return 0;
	/* It exists (perhaps not ours: EPERM); a zombie is as good as dead. */
	if (procstat_read(pid, &ps) == 0 && (ps.state == 'Z' ||
	    ps.state == 'X'))
		return 0;
	return 1;
}
