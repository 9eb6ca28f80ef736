#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "picoflow/readfile.h"
#include "procid.h"

/*
 * Reads /proc/PID/stat.  The command name (field 2) is in parentheses
 * and may itself contain ") ", so fields are counted after the last ')'.
 * Sets *state and *start; -1 when the file cannot be read or parsed.
 */
static int
read_stat(pid_t pid, char *state, int64_t *start)
{
	char		 path[64], buf[1024], *p, *end;
	int		 field;
	long long	 v;

	if (pid <= 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if (readfile_small(path, buf, sizeof(buf)) <= 0)
		return -1;
	if ((p = strrchr(buf, ')')) == NULL || p[1] != ' ')
		return -1;
	p += 2;			/* field 3: state */
	*state = *p;
	/* Skip to field 22: 19 more spaces after the state field. */
	for (field = 3; field < 22; field++) {
		if ((p = strchr(p, ' ')) == NULL)
			return -1;
		p++;
	}
	errno = 0;
	v = strtoll(p, &end, 10);
	if (errno != 0 || end == p || v < 0)
		return -1;
	*start = (int64_t)v;
	return 0;
}

int
procid_start_time(pid_t pid, int64_t *start)
{
	char	 state;

	if (read_stat(pid, &state, start) == -1 || state == 'Z' ||
	    state == 'X')
		return -1;
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
	int64_t	 s;
	char	 state;

	if (pid <= 0)
		return 0;
	if (kill(pid, 0) == -1 && errno == ESRCH)
		return 0;
	/* It exists (perhaps not ours: EPERM); a zombie is as good as dead. */
	if (read_stat(pid, &state, &s) == 0 && (state == 'Z' || state == 'X'))
		return 0;
	return 1;
}
