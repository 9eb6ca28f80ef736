/*
 * The cgroup manager's instance directory: made under our own cgroup,
 * named for this supervisor's pid and start time, with the controllers
 * enabled; and the sweep that kills and removes what an instance that is
 * no longer alive left behind.
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

static int
mkdir_ok(const char *p)
{
	return mkdir(p, 0755) == 0 || errno == EEXIST ? 0 : -1;
}

/* "+memory +pids +cpu" for the controllers reached through cgroup2. */
static void
v2_ctl_list(const struct cg_sys *s, char *buf, size_t len)
{
	static const enum cg_ctl want[] = { CG_MEMORY, CG_PIDS, CG_CPU };
	size_t	 i, off = 0;

	buf[0] = '\0';
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (s->via[want[i]] == CG_VIA_V2 && off < len)
			off += (size_t)snprintf(buf + off, len - off, "%s+%s",
			    off ? " " : "", cg_ctl_names[want[i]]);
}

/*
 * Enables our controllers for the children of dir.  A non-root cgroup
 * with processes in it cannot (cgroup2's "no internal processes" rule):
 * that is a subtree delegated to us with the supervisor inside, so the
 * supervisor moves to a leaf of its own first, as systemd expects.
 */
static int
v2_enable(const char *dir, const char *list, int may_move)
{
	char	*leaf;
	int	 rc;

	if (list[0] == '\0' || cg_write_at(dir, "cgroup.subtree_control",
	    list) == 0)
		return 0;
	if (errno != EBUSY || !may_move)
		return -1;
	if ((leaf = cg_path_join(dir, "supervisor")) == NULL)
		return -1;
	rc = -1;
	if (mkdir_ok(leaf) == 0 && cg_write_at(leaf, "cgroup.procs", "0") == 0) {
		log_info("cgroup: moved this process to %s so that %s can "
		    "delegate controllers", leaf, dir);
		rc = cg_write_at(dir, "cgroup.subtree_control", list);
	}
	pf_free(leaf);
	return rc;
}

/* Kills the members of an attempt directory found at start. */
static void
sweep_kill(const char *dir, int v2)
{
	int	 i;

	if (v2 && cg_write_at(dir, "cgroup.kill", "1") == 0)
		return;
	for (i = 0; i < CG_KILL_PASSES; i++)
		if (cg_procs_each(dir, cg_kill_one, NULL) <= 0)
			break;
}

/* rmdir with a bounded wait for the killed members to go away. */
static int
rmdir_wait(const char *p, int64_t *budget_ms)
{
	struct timespec	 ts = { 0, 10 * 1000000L };

	for (;;) {
		if (rmdir(p) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY || *budget_ms <= 0)
			return -1;
		nanosleep(&ts, NULL);
		*budget_ms -= 10;
	}
}

/*
 * Removes one dead instance: every attempt in it, then itself; attempts
 * taken over or whose worker waits for a re-attach stay (and so does
 * the instance, until they end).
 */
static void
sweep_instance(struct cg_sys *s, const char *inst, int kind, int64_t *budget)
{
	DIR		*d;
	struct dirent	*de;
	char		*p;
	unsigned	 nkept = 0;

	if ((d = opendir(inst)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		if ((p = cg_path_join(inst, de->d_name)) == NULL)
			continue;
		if (cg_kept(s, p) || cg_worker_waits(s, p)) {
			log_info("cgroup: keeping %s: its task %s", p,
			    cg_kept(s, p) ? "was taken over" : "waits for its "
			    "supervisor to re-attach");
			pf_free(p);
			nkept++;
			continue;
		}
		sweep_kill(p, kind == SWEEP_V2);
		if (rmdir_wait(p, budget) == 0)
			s->leftovers += kind != SWEEP_V1_MORE;
		else
			log_warn("cgroup: cannot remove leftover %s", p);
		pf_free(p);
	}
	closedir(d);
	if (nkept == 0 && rmdir(inst) == -1 && errno != ENOENT)
		log_warn("cgroup: cannot remove leftover %s", inst);
}

/* The leftovers under root (base/name): instances whose owner is gone. */
void
cg_sweep_dir(struct cg_sys *s, const char *root, int kind, int64_t *budget)
{
	DIR		*d;
	struct dirent	*de;
	char		*p;

	if ((d = opendir(root)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.' ||
		    strcmp(de->d_name, s->inst) == 0 ||
		    (!cg_own_earlier(s, de->d_name) &&
		    cg_inst_alive(de->d_name)))
			continue;
		if ((p = cg_path_join(root, de->d_name)) == NULL)
			continue;
		log_info("cgroup: removing the leftovers of a previous "
		    "PicoFlow process in %s", p);
		sweep_instance(s, p, kind, budget);
		pf_free(p);
	}
	closedir(d);
}

/*
 * Creates root/<prefix>.<n>: the first free n, or exactly n = *fixed
 * (existing or not) once another hierarchy chose it.
 */
static char *
inst_make(struct cg_sys *s, const char *root, int *fixed)
{
	char	 name[64];
	char	*p;
	int	 n;

	for (n = *fixed >= 0 ? *fixed : 0; n < 1000; n++) {
		snprintf(name, sizeof(name), "%s.%d", s->prefix, n);
		if ((p = cg_path_join(root, name)) == NULL)
			return NULL;
		if (mkdir(p, 0755) == 0 || (*fixed >= 0 && errno == EEXIST)) {
			*fixed = n;
			snprintf(s->inst, sizeof(s->inst), "%s", name);
			return p;
		}
		pf_free(p);
		if (errno != EEXIST || *fixed >= 0)
			return NULL;
	}
	errno = EEXIST;
	return NULL;
}

/* Whether hierarchy h serves any controller we reach through v1. */
static int
hier_used(const struct cg_sys *s, size_t h)
{
	int	 c;

	for (c = 0; c < CG_NCTL; c++)
		if (s->via[c] == CG_VIA_V1 && s->hidx[c] == (int)h)
			return 1;
	return 0;
}

static void
hier_drop(struct cg_sys *s, size_t h)
{
	int	 c;

	for (c = 0; c < CG_NCTL; c++)
		if (s->hidx[c] == (int)h && s->via[c] == CG_VIA_V1)
			s->via[c] = CG_VIA_NONE;
}

static void
v2_drop(struct cg_sys *s)
{
	int	 c;

	for (c = 0; c < CG_NCTL; c++)
		if (s->via[c] == CG_VIA_V2)
			s->via[c] = CG_VIA_NONE;
}

/*
 * Sets up base/name/<inst> in every hierarchy; a hierarchy that cannot
 * be written is dropped (its controllers become CG_VIA_NONE).
 */
void
cg_setup(struct cg_sys *s)
{
	unsigned long long st;
	char		 list[64], *root;
	int		 fixed = -1;
	size_t		 h;

	if (cg_start_time(getpid(), &st) == -1)
		st = 0;
	snprintf(s->prefix, sizeof(s->prefix), "%ld.%llu", (long)getpid(),
	    st);

	if (s->v2base != NULL) {
		v2_ctl_list(s, list, sizeof(list));
		if ((root = cg_path_join(s->v2base, s->name)) == NULL ||
		    mkdir_ok(root) == -1) {
			/* Not ours to write: cgroup2 is of no use. */
			v2_drop(s);
			pf_free(s->v2base);
			s->v2base = NULL;
		} else if (v2_enable(s->v2base, list, 1) == -1 ||
		    v2_enable(root, list, 0) == -1) {
			log_warn("cgroup: cannot enable %s below %s", list,
			    s->v2base);
			v2_drop(s);
			list[0] = '\0';
		}
		if (s->v2base != NULL) {
			if ((s->v2inst = inst_make(s, root, &fixed)) == NULL ||
			    v2_enable(s->v2inst, list, 0) == -1) {
				log_warn("cgroup: cannot use %s", root);
				if (s->v2inst != NULL)
					(void)rmdir(s->v2inst);
				pf_free(s->v2inst);
				s->v2inst = NULL;
				pf_free(s->v2base);
				s->v2base = NULL;
				v2_drop(s);
				fixed = -1;
			} else {
				s->v2kill = cg_exists_at(s->v2inst,
				    "cgroup.kill");
				s->v2freeze = cg_exists_at(s->v2inst,
				    "cgroup.freeze");
				s->swapmax = s->via[CG_MEMORY] == CG_VIA_V2 &&
				    cg_exists_at(s->v2inst, "memory.swap.max");
			}
		}
		pf_free(root);
	}
	/* v1's freezer only when cgroup2 cannot kill on its own. */
	if (s->v2base != NULL && (s->v2kill || s->v2freeze) &&
	    s->via[CG_FREEZER] == CG_VIA_V1)
		s->via[CG_FREEZER] = CG_VIA_NONE;

	for (h = 0; h < s->nhier; h++) {
		if (!hier_used(s, h))
			continue;
		root = cg_path_join(s->hier[h].base, s->name);
		if (root == NULL || mkdir_ok(root) == -1) {
			log_warn("cgroup: cannot use %s", s->hier[h].base);
			pf_free(root);
			hier_drop(s, h);
			continue;
		}
		if ((s->hier[h].inst = inst_make(s, root, &fixed)) == NULL) {
			log_warn("cgroup: cannot create an instance in %s",
			    root);
			hier_drop(s, h);
		}
		pf_free(root);
	}
	if (s->via[CG_MEMORY] == CG_VIA_V1)
		s->memsw = cg_exists_at(s->hier[s->hidx[CG_MEMORY]].inst,
		    "memory.memsw.limit_in_bytes");
}
