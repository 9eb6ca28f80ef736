/*
 * The cgroup manager's small file helpers: bounded reads and writes of a
 * control file in a directory, its numbers and key-value lines, a walk of
 * cgroup.procs; and which process an instance directory's name belongs to.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "picoflow/alloc.h"
#include "picoflow/log.h"
#include "picoflow/procstat.h"
#include "picoflow/readfile.h"
#include "cgroup.h"
#include "cgroup_int.h"

char *
cg_path_join(const char *a, const char *b)
{
	size_t	 la = strlen(a), lb = strlen(b);
	char	*p;

	if (la + lb + 2 > PATH_MAX)
		return NULL;
	if ((p = pf_malloc(la + lb + 2)) == NULL)
		return NULL;
	memcpy(p, a, la);
	p[la] = '/';
	memcpy(p + la + 1, b, lb + 1);
	return p;
}

/* Writes s to dir/file; 0 or -1 with errno. */
int
cg_write_at(const char *dir, const char *file, const char *s)
{
	char	 p[PATH_MAX];
	size_t	 len = strlen(s);
	ssize_t	 n;
	int	 fd, e;

	if ((size_t)snprintf(p, sizeof(p), "%s/%s", dir, file) >= sizeof(p)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = open(p, O_WRONLY | O_CLOEXEC | O_NOFOLLOW)) == -1)
		return -1;
	do
		n = write(fd, s, len);
	while (n == -1 && errno == EINTR);
	e = errno;
	close(fd);
	if (n == (ssize_t)len)
		return 0;
	errno = n == -1 ? e : EIO;
	return -1;
}

/* readfile_small of dir/file. */
ssize_t
cg_read_at(const char *dir, const char *file, char *buf, size_t len)
{
	char	 p[PATH_MAX];

	if ((size_t)snprintf(p, sizeof(p), "%s/%s", dir, file) >= sizeof(p)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return readfile_small(p, buf, len);
}

int
cg_exists_at(const char *dir, const char *file)
{
	char	 p[PATH_MAX];

	if ((size_t)snprintf(p, sizeof(p), "%s/%s", dir, file) >= sizeof(p))
		return 0;
	return access(p, F_OK) == 0;
}

int
cg_parse_int(const char *text, int64_t *value)
{
	const char	*s = text;
	int64_t		 v = 0;

	while (*s == ' ' || *s == '\t')
		s++;
	if (strncmp(s, "max", 3) == 0 && (s[3] == '\0' || isspace(
	    (unsigned char)s[3]))) {
		*value = INT64_MAX;
		return 0;
	}
	if (!isdigit((unsigned char)*s))
		return -1;
	for (; isdigit((unsigned char)*s); s++) {
		if (v > (INT64_MAX - (*s - '0')) / 10)
			return -1;
		v = v * 10 + (*s - '0');
	}
	if (*s != '\0' && !isspace((unsigned char)*s))
		return -1;
	*value = v;
	return 0;
}

int
cg_kv_get(const char *text, const char *key, int64_t *value)
{
	size_t		 kl = strlen(key);
	const char	*p = text;

	while (p != NULL && *p != '\0') {
		if (strncmp(p, key, kl) == 0 && p[kl] == ' ')
			return cg_parse_int(p + kl + 1, value);
		if ((p = strchr(p, '\n')) != NULL)
			p++;
	}
	return -1;
}

int64_t
cg_read_int_at(const char *dir, const char *file)
{
	char	 buf[64];
	int64_t	 v;

	if (dir == NULL || cg_read_at(dir, file, buf, sizeof(buf)) <= 0 ||
	    cg_parse_int(buf, &v) == -1)
		return -1;
	return v;
}

int64_t
cg_read_kv_at(const char *dir, const char *file, const char *key)
{
	char	 buf[CG_SMALL_FILE];
	int64_t	 v;

	if (dir == NULL || cg_read_at(dir, file, buf, sizeof(buf)) <= 0 ||
	    cg_kv_get(buf, key, &v) == -1)
		return -1;
	return v;
}

/*
 * Calls fn for every pid in dir/cgroup.procs, read in chunks (a fork
 * bomb's list can be long).  Returns the count or -1 with errno.
 */
long
cg_procs_each(const char *dir, void (*fn)(pid_t, void *), void *arg)
{
	char	 p[PATH_MAX], buf[4096];
	long	 count = 0, cur = -1;
	ssize_t	 n, i;
	int	 fd;

	if ((size_t)snprintf(p, sizeof(p), "%s/cgroup.procs", dir) >=
	    sizeof(p)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = open(p, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (i = 0; i < n; i++) {
			if (isdigit((unsigned char)buf[i])) {
				if (cur < 0)
					cur = 0;
				if (cur > (INT_MAX - 9) / 10)
					cur = INT_MAX;	/* not a pid */
				else
					cur = cur * 10 + (buf[i] - '0');
				continue;
			}
			if (cur > 0 && cur < INT_MAX) {
				if (fn != NULL)
					fn((pid_t)cur, arg);
				count++;
			}
			cur = -1;
		}
	}
	if (cur > 0 && cur < INT_MAX) {
		if (fn != NULL)
			fn((pid_t)cur, arg);
		count++;
	}
	close(fd);
	return n == -1 ? -1 : count;
}

void
cg_kill_one(pid_t pid, void *arg)
{
	(void)arg;
	/* Never ourselves: a misplaced supervisor must not kill itself. */
	if (pid != getpid())
		(void)kill(pid, SIGKILL);
}

/* Start time of pid in clock ticks after boot (/proc/PID/stat field 22). */
int
cg_start_time(pid_t pid, unsigned long long *out)
{
	struct procstat	 ps;

	if (procstat_read(pid, &ps) == -1)
		return -1;
	*out = (unsigned long long)ps.start;
	return 0;
}

/* Parses "<pid>.<start>.<n>"; 0 when it has that form. */
static int
inst_parse(const char *name, pid_t *pid, unsigned long long *start)
{
	char		*end;
	long		 p;
	unsigned long long s;

	if (!isdigit((unsigned char)name[0]))
		return -1;
	errno = 0;
	p = strtol(name, &end, 10);
	if (errno != 0 || *end != '.' || p <= 0 || p > INT_MAX)
		return -1;
	if (!isdigit((unsigned char)end[1]))
		return -1;
	s = strtoull(end + 1, &end, 10);
	if (errno != 0 || *end != '.' || !isdigit((unsigned char)end[1]))
		return -1;
	strtoul(end + 1, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*pid = (pid_t)p;
	*start = s;
	return 0;
}

/* The process that created an instance directory still runs. */
int
cg_inst_alive(const char *name)
{
	pid_t			 pid;
	unsigned long long	 st, now;

	if (inst_parse(name, &pid, &st) == -1)
		return 1;	/* not ours to judge: leave it */
	if (cg_start_time(pid, &now) == -1)
		return 0;
	return now == st;
}
