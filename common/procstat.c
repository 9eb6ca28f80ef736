/*
 * Parsing /proc/PID/stat; see procstat.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "picoflow/procstat.h"
#include "picoflow/readfile.h"

/*
 * The command name (field 2) is in parentheses and may itself contain
 * ") ", so fields are counted after the last ')'; the fields after it
 * never hold a space.
 */
int
procstat_read(pid_t pid, struct procstat *ps)
{
	char		 path[64], buf[1024], *p, *end;
	int		 field;
	long long	 v;

	if (pid <= 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if (readfile_small(path, buf, sizeof(buf)) <= 0)
		return -1;
	/* "pid (comm) S ppid ...": the state, then the ppid. */
	if ((p = strrchr(buf, ')')) == NULL || p[1] != ' ' || p[2] == '\0' ||
	    p[3] != ' ')
		return -1;
	ps->state = p[2];
	p += 4;			/* field 4: ppid */
	errno = 0;
	v = strtoll(p, &end, 10);
	if (errno != 0 || end == p || v < 0 || v > INT32_MAX)
		return -1;
	ps->ppid = (pid_t)v;
	/* Skip to field 22: 18 more spaces after the ppid field. */
	for (field = 4; field < 22; field++) {
		if ((p = strchr(p, ' ')) == NULL)
			return -1;
		p++;
	}
	errno = 0;
	v = strtoll(p, &end, 10);
	if (errno != 0 || end == p || v < 0)
		return -1;
	ps->start = (int64_t)v;
	return 0;
}
