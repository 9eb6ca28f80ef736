/*
 * Attempts taken over from a predecessor (a crash, or `picoflow daemon
 * restart`): cg_adopt finds the attempt directories of a surviving
 * pf-worker among the instances beside ours, and the sweep of dead
 * instances keeps them (cg_kept), and also the attempts whose pf-worker
 * still waits for its supervisor, whoever that is (cg_worker_waits).
 * An instance this very process made before it exec'd itself again is
 * dead (cg_own_earlier), though its pid and start time are ours.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "picoflow/alloc.h"
#include "cgroup_int.h"

/* Whether an attempt directory was taken over (cg_adopt). */
int
cg_kept(const struct cg_sys *s, const char *p)
{
	size_t	 i;

	for (i = 0; i < s->nkeep; i++)
		if (s->keep[i] != NULL && strcmp(s->keep[i], p) == 0)
			return 1;
	return 0;
}

/*
 * Another installation's pf-worker (a second PicoFlow on the host, say):
 * named so, and a program only root (or we) could have put there, so a
 * task cannot pass for one with a copy of its own.
 */
static int
worker_program(const char *link, const char *exe)
{
	struct stat	 sb;
	const char	*base = strrchr(exe, '/');

	base = base != NULL ? base + 1 : exe;
	if (strcmp(base, "pf-worker") != 0 &&
	    strcmp(base, "pf-worker-net") != 0)
		return 0;
	/* stat through the link: the very file the process runs. */
	if (stat(link, &sb) == -1 || !S_ISREG(sb.st_mode))
		return 0;
	return (sb.st_uid == 0 || sb.st_uid == geteuid()) &&
	    (sb.st_mode & (S_IWGRP | S_IWOTH)) == 0;
}

struct exe_find {
	const struct cg_sys	*s;
	int			 found;
};

static void
exe_one(pid_t pid, void *arg)
{
	struct exe_find	*f = arg;
	char		 link[64], exe[PATH_MAX];
	ssize_t		 n;
	int		 i;

	snprintf(link, sizeof(link), "/proc/%ld/exe", (long)pid);
	if ((n = readlink(link, exe, sizeof(exe) - 1)) <= 0)
		return;
	exe[n] = '\0';
	for (i = 0; i < 2; i++)
		if (f->s->workers[i] != NULL &&
		    strcmp(exe, f->s->workers[i]) == 0)
			f->found = 1;
	if (!f->found && worker_program(link, exe))
		f->found = 1;
}

/*
 * Whether a pf-worker (by its program: a task cannot pass for one by
 * its name) is in an attempt directory of a dead instance.
 */
int
cg_worker_waits(const struct cg_sys *s, const char *dir)
{
	struct exe_find	 f;

	if (s->workers[0] == NULL && s->workers[1] == NULL)
		return 0;
	f.s = s;
	f.found = 0;
	(void)cg_procs_each(dir, exe_one, &f);
	return f.found;
}

/*
 * An instance this very process made before it exec'd itself again
 * (picoflow daemon restart): same pid and start time, another number.
 */
int
cg_own_earlier(const struct cg_sys *s, const char *name)
{
	size_t	 n = strlen(s->prefix);

	return s->restarted && strncmp(name, s->prefix, n) == 0 &&
	    name[n] == '.' &&
	    strcmp(name, s->inst) != 0;
}

/*
 * The instance directory of a predecessor goes with its last attempt
 * taken over (a busy or non-empty one stays for the next sweep).
 */
void
cg_rmdir_with_parent(struct cg *g, char **dir)
{
	char	*slash;

	if (rmdir(*dir) == -1)
		return;
	if (g->adopted && (slash = strrchr(*dir, '/')) != NULL) {
		*slash = '\0';
		(void)rmdir(*dir);
	}
	pf_free(*dir);
	*dir = NULL;
}

void
cg_unkeep(struct cg *g)
{
	struct cg_sys	*s = g->sys;
	size_t		 i, h;

	for (i = 0; i < s->nkeep; i++) {
		if (s->keep[i] == NULL)
			continue;
		if (g->v2 != NULL && strcmp(s->keep[i], g->v2) == 0)
			goto drop;
		for (h = 0; h < CG_NCTL; h++)
			if (g->v1[h] != NULL && strcmp(s->keep[i], g->v1[h]) == 0)
				goto drop;
		continue;
drop:
		pf_free(s->keep[i]);
		s->keep[i] = NULL;
	}
}

static int
keep_add(struct cg_sys *s, const char *p)
{
	size_t	 i;

	for (i = 0; i < s->nkeep; i++)
		if (s->keep[i] == NULL)
			break;
	if (i == CG_KEEP_MAX)
		return -1;
	if ((s->keep[i] = pf_strdup(p)) == NULL)
		return -1;
	if (i == s->nkeep)
		s->nkeep++;
	return 0;
}

struct find_pid {
	pid_t	 pid;
	int	 found;
};

static void
find_one(pid_t p, void *arg)
{
	struct find_pid	*f = arg;

	if (p == f->pid)
		f->found = 1;
}

/*
 * The attempt directory holding pid among the instances beside ours
 * (root/<instance>/<attempt>); NULL when none does.
 */
static char *
find_attempt(const char *inst, pid_t pid)
{
	struct find_pid	 f;
	DIR		*d, *d2;
	struct dirent	*de, *de2;
	char		 root[PATH_MAX], *slash, *ip, *ap;

	if ((size_t)snprintf(root, sizeof(root), "%s", inst) >= sizeof(root) ||
	    (slash = strrchr(root, '/')) == NULL)
		return NULL;
	*slash = '\0';
	if ((d = opendir(root)) == NULL)
		return NULL;
	while ((de = readdir(d)) != NULL) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.' ||
		    (ip = cg_path_join(root, de->d_name)) == NULL)
			continue;
		if ((d2 = opendir(ip)) == NULL) {
			pf_free(ip);
			continue;
		}
		while ((de2 = readdir(d2)) != NULL) {
			if (de2->d_type != DT_DIR || de2->d_name[0] == '.' ||
			    (ap = cg_path_join(ip, de2->d_name)) == NULL)
				continue;
			f.pid = pid;
			f.found = 0;
			if (cg_procs_each(ap, find_one, &f) > 0 && f.found) {
				closedir(d2);
				closedir(d);
				pf_free(ip);
				return ap;
			}
			pf_free(ap);
		}
		closedir(d2);
		pf_free(ip);
	}
	closedir(d);
	return NULL;
}

int
cg_adopt(struct cg_sys *s, pid_t pid, struct cg **out, struct pf_err *err)
{
	struct cg	*g;
	size_t		 h;

	*out = NULL;
	if ((g = pf_calloc(1, sizeof(*g))) == NULL) {
		pf_err_set(err, "out of memory");
		return -1;
	}
	g->sys = s;
	g->adopted = 1;
	if (s->v2inst != NULL && (g->v2 = find_attempt(s->v2inst, pid)) !=
	    NULL && keep_add(s, g->v2) == -1)
		goto full;
	for (h = 0; h < s->nhier; h++)
		if (s->hier[h].inst != NULL && (g->v1[h] =
		    find_attempt(s->hier[h].inst, pid)) != NULL &&
		    keep_add(s, g->v1[h]) == -1)
			goto full;
	if (cg_members_dir(g) == NULL) {
		pf_err_set(err, "pid %ld is in no attempt cgroup of PicoFlow",
		    (long)pid);
		cg_free(g);
		return -1;
	}
	*out = g;
	return 0;
full:
	pf_err_set(err, "too many attempts taken over at once (%d)",
	    CG_KEEP_MAX);
	cg_free(g);
	return -1;
}
