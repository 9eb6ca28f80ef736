/*
 * Finding a task's processes through /proc.  A scan of /proc/[pid]/stat
 * works on every kernel (/proc/.../children needs CONFIG_PROC_CHILDREN)
 * and costs a few milliseconds on a small host; it only runs when a task
 * is being killed or has left processes behind.
 *
 * A pid read here may die and, in theory, be reused before it is
 * signalled.  The window is microseconds, and every process found is a
 * descendant of the worker, whose pids the kernel hands out slowly;
 * callers repeat the scan until nothing is left.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "picoflow/alloc.h"
#include "picoflow/procstat.h"
#include "proctree.h"

struct pp {
	pid_t	 pid;
	pid_t	 ppid;
	int	 desc;		/* 1: a descendant of root */
};

static int
pp_cmp(const void *a, const void *b)
{
	pid_t	 x = ((const struct pp *)a)->pid;
	pid_t	 y = ((const struct pp *)b)->pid;

	return x < y ? -1 : x > y;
}

static struct pp *
pp_find(struct pp *v, size_t n, pid_t pid)
{
	struct pp	 key;

	key.pid = pid;
	return bsearch(&key, v, n, sizeof(*v), pp_cmp);
}

int
proctree_descendants(pid_t root, pid_t **out, size_t *nout)
{
	DIR		*d;
	struct dirent	*de;
	struct pp	*v = NULL, *nv, *parent;
	size_t		 n = 0, cap = 0, i, k;
	struct procstat	 ps;
	pid_t		 pid, *res;
	int		 changed;

	*out = NULL;
	*nout = 0;
	if ((d = opendir("/proc")) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;	/* not a process */
		pid = (pid_t)strtol(de->d_name, NULL, 10);
		if (procstat_read(pid, &ps) == -1)
			continue;	/* it just exited */
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			if ((nv = pf_reallocarray(v, cap, sizeof(*v))) ==
			    NULL) {
				closedir(d);
				pf_free(v);
				errno = ENOMEM;
				return -1;
			}
			v = nv;
		}
		v[n].pid = pid;
		v[n].ppid = ps.ppid;
		v[n].desc = ps.ppid == root;
		n++;
	}
	closedir(d);
	if (n == 0) {
		pf_free(v);
		return 0;
	}
	/* Mark children of marked processes until nothing changes. */
	qsort(v, n, sizeof(*v), pp_cmp);
	do {
		changed = 0;
		for (i = 0; i < n; i++) {
			if (v[i].desc || v[i].pid == root)
				continue;
			parent = pp_find(v, n, v[i].ppid);
			if (parent != NULL && parent->desc) {
				v[i].desc = 1;
				changed = 1;
			}
		}
	} while (changed);
	for (i = 0, k = 0; i < n; i++)
		k += v[i].desc;
	if (k == 0) {
		pf_free(v);
		return 0;
	}
	if ((res = pf_reallocarray(NULL, k, sizeof(*res))) == NULL) {
		pf_free(v);
		errno = ENOMEM;
		return -1;
	}
	for (i = 0, k = 0; i < n; i++)
		if (v[i].desc)
			res[k++] = v[i].pid;
	pf_free(v);
	*out = res;
	*nout = k;
	return 0;
}

long
proctree_signal(pid_t pgid, int sig)
{
	pid_t	*pids;
	size_t	 n, i;

	if (pgid > 0)
		(void)kill(-pgid, sig);	/* ESRCH: the group is gone */
	if (proctree_descendants(getpid(), &pids, &n) == -1)
		return -1;
	for (i = 0; i < n; i++)
		(void)kill(pids[i], sig);
	pf_free(pids);
	return (long)n;
}
