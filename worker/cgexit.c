/*
 * A worker that leaves with no supervisor attached (its window ended)
 * takes its attempt's cgroups with it, so that nothing of the attempt is
 * left on the host: it moves itself out of each attempt directory
 * (<base>/picoflow/<instance>/<attempt>, found in /proc/self/cgroup) to
 * the supervisor's own cgroup <base> (or the leaf <base>/supervisor that
 * a supervisor uses when <base> delegates controllers), then removes the
 * attempt directory and, when empty, the instance's.  Everything of the
 * task is gone by then (the worker reaped it all).  Only a worker that
 * still has the privilege can (a sandboxed one runs as the task's
 * user); otherwise the next PicoFlow start on the host sweeps them.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "picoflow/log.h"
#include "picoflow/readfile.h"
#include "cgexit.h"

#define CGEXIT_FILE_MAX	16384

/* Writes "0" (this process) to dir/cgroup.procs. */
static int
move_self(const char *dir)
{
	char	 p[PATH_MAX];
	int	 fd, rc;

	if ((size_t)snprintf(p, sizeof(p), "%s/cgroup.procs", dir) >=
	    sizeof(p))
		return -1;
	if ((fd = open(p, O_WRONLY | O_CLOEXEC | O_NOFOLLOW)) == -1)
		return -1;
	rc = write(fd, "0", 1) == 1 ? 0 : -1;
	close(fd);
	return rc;
}

/*
 * The mount point of the hierarchy named by a /proc/self/cgroup line's
 * controller field ("" for cgroup2), from mountinfo; its root must be
 * "/" (no cgroup namespace in between).  0 and mnt filled, or -1.
 */
static int
mount_of(const char *mi, const char *ctls, char *mnt, size_t len)
{
	const char	*line, *end, *dash, *ctl;
	char		 root[PATH_MAX], point[PATH_MAX], fstype[32];
	char		 opts[1024], want[64];
	size_t		 wl;

	for (line = mi; *line != '\0'; line = *end ? end + 1 : end) {
		end = strchr(line, '\n');
		if (end == NULL)
			end = line + strlen(line);
		if ((dash = strstr(line, " - ")) == NULL || dash > end)
			continue;
		if (sscanf(line, "%*s %*s %*s %4095s %4095s", root, point) != 2 ||
		    sscanf(dash + 3, "%31s %*s %1023s", fstype, opts) != 2)
			continue;
		if (strcmp(root, "/") != 0 || strchr(point, '\\') != NULL)
			continue;
		if (ctls[0] == '\0') {
			if (strcmp(fstype, "cgroup2") != 0)
				continue;
		} else {
			if (strcmp(fstype, "cgroup") != 0)
				continue;
			/* Every controller of the line in the options. */
			for (ctl = ctls; *ctl != '\0'; ctl += wl +
			    (ctl[wl] == ',')) {
				wl = strcspn(ctl, ",");
				if (wl == 0 || wl >= sizeof(want))
					break;
				memcpy(want, ctl, wl);
				want[wl] = '\0';
				if (strstr(opts, want) == NULL)
					break;
			}
			if (*ctl != '\0')
				continue;
		}
		if ((size_t)snprintf(mnt, len, "%s", point) >= len)
			return -1;
		return 0;
	}
	return -1;
}

/* One hierarchy: out of <mnt><path> and remove it (and its instance). */
static void
leave_one(const char *mnt, const char *path)
{
	char		 dir[PATH_MAX], base[PATH_MAX], *p;
	const char	*pf;

	/* .../picoflow/<instance>/<attempt>, nothing below. */
	if ((pf = strstr(path, "/picoflow/")) == NULL ||
	    strchr(pf + 10, '/') == NULL ||
	    strchr(strchr(pf + 10, '/') + 1, '/') != NULL)
		return;
	if ((size_t)snprintf(dir, sizeof(dir), "%s%s", mnt, path) >=
	    sizeof(dir) || (size_t)snprintf(base, sizeof(base), "%s%.*s",
	    mnt, (int)(pf - path), path) >= sizeof(base))
		return;
	if (move_self(base) == -1) {
		if (strlen(base) + sizeof("/supervisor") > sizeof(base))
			return;
		strcat(base, "/supervisor");
		if (move_self(base) == -1) {
			log_debug("cannot leave %s: %s", dir, strerror(errno));
			return;
		}
	}
	if (rmdir(dir) == -1) {
		log_debug("cannot remove %s: %s", dir, strerror(errno));
		return;
	}
	/* Its instance goes with its last attempt (busy: it stays). */
	if ((p = strrchr(dir, '/')) != NULL) {
		*p = '\0';
		(void)rmdir(dir);
	}
}

void
cgexit_leave(void)
{
	char	 self[CGEXIT_FILE_MAX], mi[65536], mnt[PATH_MAX];
	char	*line, *save, *c1, *c2;

	if (readfile_small("/proc/self/cgroup", self, sizeof(self)) <= 0 ||
	    readfile_small("/proc/self/mountinfo", mi, sizeof(mi)) <= 0)
		return;
	for (line = strtok_r(self, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		/* "N:controllers:/path"; cgroup2 is "0::/path". */
		if ((c1 = strchr(line, ':')) == NULL ||
		    (c2 = strchr(c1 + 1, ':')) == NULL)
			continue;
		*c2 = '\0';
		if (strncmp(c1 + 1, "name=", 5) == 0 ||
		    mount_of(mi, c1 + 1, mnt, sizeof(mnt)) == -1)
			continue;
		leave_one(mnt, c2 + 1);
	}
}
