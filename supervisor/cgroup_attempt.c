/*
 * One attempt's cgroup: created with its limits (memory, swap, pids, cpu),
 * the worker attached, frozen and killed as a group, its usage read, and
 * removed once empty.
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
name_ok(const char *n)
{
	size_t	 i;

	if (n[0] == '\0' || n[0] == '.' || strlen(n) > CG_NAME_MAX)
		return 0;
	for (i = 0; n[i] != '\0'; i++)
		if (!isalnum((unsigned char)n[i]) && n[i] != '.' &&
		    n[i] != '_' && n[i] != '-')
			return 0;
	return 1;
}

static int
write_num(const char *dir, const char *file, int64_t v)
{
	char	 buf[32];

	snprintf(buf, sizeof(buf), "%" PRId64, v);
	return cg_write_at(dir, file, buf);
}

/* cpu quota per 100 ms period; the kernel's minimum is 1 ms. */
static int64_t
cpu_quota(int64_t milli)
{
	if (milli > INT64_MAX / 100)
		return INT64_MAX;
	return milli * 100 < 1000 ? 1000 : milli * 100;
}

static int
limits_v2(struct cg *g, const struct cg_limits *l, const char **what)
{
	struct cg_sys	*s = g->sys;
	char		 buf[64];

	if (s->via[CG_MEMORY] == CG_VIA_V2 && l->memory >= 0) {
		*what = "memory.max";
		if (write_num(g->v2, "memory.max", l->memory) == -1)
			return -1;
		*what = "memory.swap.max";
		if (s->swapmax && l->swap >= 0 &&
		    write_num(g->v2, "memory.swap.max", l->swap) == -1)
			return -1;
	}
	if (s->via[CG_PIDS] == CG_VIA_V2 && l->pids >= 0) {
		*what = "pids.max";
		if (write_num(g->v2, "pids.max", l->pids) == -1)
			return -1;
	}
	if (s->via[CG_CPU] == CG_VIA_V2 && l->cpu_milli >= 0) {
		*what = "cpu.max";
		snprintf(buf, sizeof(buf), "%" PRId64 " %d",
		    cpu_quota(l->cpu_milli), CG_CPU_PERIOD_US);
		if (cg_write_at(g->v2, "cpu.max", buf) == -1)
			return -1;
	}
	return 0;
}

static const char *
v1dir(const struct cg *g, enum cg_ctl c)
{
	if (g->sys->via[c] != CG_VIA_V1 || g->sys->hidx[c] < 0)
		return NULL;
	return g->v1[g->sys->hidx[c]];
}

static int
limits_v1(struct cg *g, const struct cg_limits *l, const char **what)
{
	const char	*d;

	if ((d = v1dir(g, CG_MEMORY)) != NULL && l->memory >= 0) {
		*what = "memory.limit_in_bytes";
		if (write_num(d, "memory.limit_in_bytes", l->memory) == -1)
			return -1;
		/* memsw counts memory + swap and must be set after it. */
		*what = "memory.memsw.limit_in_bytes";
		if (g->sys->memsw && l->swap >= 0 && write_num(d,
		    "memory.memsw.limit_in_bytes", l->swap > INT64_MAX -
		    l->memory ? INT64_MAX : l->memory + l->swap) == -1)
			return -1;
	}
	if ((d = v1dir(g, CG_PIDS)) != NULL && l->pids >= 0) {
		*what = "pids.max";
		if (write_num(d, "pids.max", l->pids) == -1)
			return -1;
	}
	if ((d = v1dir(g, CG_CPU)) != NULL && l->cpu_milli >= 0) {
		*what = "cpu.cfs_period_us";
		if (write_num(d, "cpu.cfs_period_us", CG_CPU_PERIOD_US) == -1)
			return -1;
		*what = "cpu.cfs_quota_us";
		if (write_num(d, "cpu.cfs_quota_us",
		    cpu_quota(l->cpu_milli)) == -1)
			return -1;
	}
	return 0;
}

static void
attempt_rmdirs(struct cg *g)
{
	size_t	 h;

	if (g->adopted)
		cg_unkeep(g);
	if (g->v2 != NULL)
		cg_rmdir_with_parent(g, &g->v2);
	for (h = 0; h < g->sys->nhier; h++)
		if (g->v1[h] != NULL)
			cg_rmdir_with_parent(g, &g->v1[h]);
}

int
cg_create(struct cg_sys *s, const char *name, const struct cg_limits *l,
    struct cg **out, struct pf_err *err)
{
	struct cg	*g;
	const char	*what = "the cgroup";
	const char	*at = "";
	size_t		 h;

	*out = NULL;
	if (!name_ok(name)) {
		pf_err_set(err, "cgroup name '%s' is not usable", name);
		return -1;
	}
	if ((g = pf_calloc(1, sizeof(*g))) == NULL) {
		pf_err_set(err, "out of memory");
		return -1;
	}
	g->sys = s;
	if (l != NULL)
		g->lim = *l;
	else
		g->lim.memory = g->lim.swap = g->lim.cpu_milli =
		    g->lim.pids = -1;
	if (s->v2inst != NULL) {
		at = s->v2inst;
		if ((g->v2 = cg_path_join(s->v2inst, name)) == NULL)
			goto oom;
		if (mkdir(g->v2, 0755) == -1) {
			pf_free(g->v2);
			g->v2 = NULL;
			goto fail;
		}
	}
	for (h = 0; h < s->nhier; h++) {
		if (s->hier[h].inst == NULL)
			continue;
		at = s->hier[h].inst;
		if ((g->v1[h] = cg_path_join(s->hier[h].inst, name)) == NULL)
			goto oom;
		if (mkdir(g->v1[h], 0755) == -1) {
			pf_free(g->v1[h]);
			g->v1[h] = NULL;
			goto fail;
		}
	}
	if (l != NULL) {
		at = g->v2 ? g->v2 : "";
		if (limits_v2(g, l, &what) == -1)
			goto fail;
		at = "v1";
		if (limits_v1(g, l, &what) == -1)
			goto fail;
	}
	*out = g;
	return 0;
oom:
	pf_err_set(err, "out of memory");
	goto undo;
fail:
	pf_err_set(err, "cannot set up %s for cgroup %s in %s: %s", what, name,
	    at, strerror(errno));
undo:
	attempt_rmdirs(g);
	cg_free(g);
	return -1;
}

int
cg_attach(struct cg *g, pid_t pid, struct pf_err *err)
{
	char	 buf[32];
	size_t	 h;

	snprintf(buf, sizeof(buf), "%ld", (long)pid);
	if (g->v2 != NULL && cg_write_at(g->v2, "cgroup.procs", buf) == -1) {
		pf_err_set(err, "cannot move pid %s into %s: %s", buf, g->v2,
		    strerror(errno));
		return -1;
	}
	for (h = 0; h < g->sys->nhier; h++)
		if (g->v1[h] != NULL && cg_write_at(g->v1[h], "cgroup.procs",
		    buf) == -1) {
			pf_err_set(err, "cannot move pid %s into %s: %s", buf,
			    g->v1[h], strerror(errno));
			return -1;
		}
	return 0;
}

/* Any directory of the attempt that lists its members. */
const char *
cg_members_dir(const struct cg *g)
{
	size_t	 h;

	if (g->v2 != NULL)
		return g->v2;
	for (h = 0; h < g->sys->nhier; h++)
		if (g->v1[h] != NULL)
			return g->v1[h];
	return NULL;
}

/* Freezes (1) or thaws (0); returns the directory used or NULL. */
const char *
cg_freeze(const struct cg *g, int on)
{
	const char	*d;
	char		 buf[CG_SMALL_FILE];
	int64_t		 v;
	int		 i;

	if (g->v2 != NULL && g->sys->v2freeze) {
		if (cg_write_at(g->v2, "cgroup.freeze", on ? "1" : "0") == -1)
			return NULL;
		/* Freezing is asynchronous; a short spin, never a sleep. */
		for (i = 0; on && i < CG_FREEZE_SPINS; i++) {
			if (cg_read_at(g->v2, "cgroup.events", buf,
			    sizeof(buf)) > 0 && cg_kv_get(buf, "frozen",
			    &v) == 0 && v == 1)
				break;
			sched_yield();
		}
		return g->v2;
	}
	if ((d = v1dir(g, CG_FREEZER)) == NULL)
		return NULL;
	if (cg_write_at(d, "freezer.state", on ? "FROZEN" : "THAWED") == -1)
		return NULL;
	for (i = 0; on && i < CG_FREEZE_SPINS; i++) {
		if (cg_read_at(d, "freezer.state", buf, sizeof(buf)) > 0 &&
		    strncmp(buf, "FROZEN", 6) == 0)
			break;
		sched_yield();
	}
	return d;
}

int
cg_kill(struct cg *g)
{
	const char	*d = cg_members_dir(g);
	long		 n = 0, total = 0;
	int		 i, frozen;

	if (d == NULL)
		return 0;
	if (g->v2 != NULL && g->sys->v2kill) {
		if (cg_write_at(g->v2, "cgroup.kill", "1") == 0)
			return 0;
		log_warn("cgroup: %s/cgroup.kill", g->v2);
	}
	/* Frozen members cannot fork while we list and kill them. */
	frozen = cg_freeze(g, 1) != NULL;
	for (i = 0; i < CG_KILL_PASSES; i++) {
		if ((n = cg_procs_each(d, cg_kill_one, NULL)) == -1)
			break;
		total += n;
		/* Killed members stay listed while frozen: one pass is all. */
		if (n == 0 || frozen)
			break;
	}
	if (frozen)
		(void)cg_freeze(g, 0);
	return n == -1 && total == 0 ? -1 : (int)(total > INT_MAX ? INT_MAX :
	    total);
}

int
cg_empty(struct cg *g)
{
	char		 buf[CG_SMALL_FILE];
	const char	*d;
	int64_t		 v;
	long		 n;

	if (g->v2 != NULL && cg_read_at(g->v2, "cgroup.events", buf,
	    sizeof(buf)) > 0 && cg_kv_get(buf, "populated", &v) == 0)
		return v == 0;
	if ((d = cg_members_dir(g)) == NULL)
		return 1;
	if ((n = cg_procs_each(d, NULL, NULL)) == -1)
		return errno == ENOENT ? 1 : -1;
	return n == 0;
}

void
cg_usage(struct cg *g, struct cg_usage *u)
{
	const struct cg_sys	*s = g->sys;
	const char		*d;
	int64_t			 v;

	u->memory_peak = u->oom_kills = u->pids_peak = u->pids_denied = -1;
	u->cpu_us = u->cpu_user_us = u->cpu_sys_us = -1;
	u->nr_throttled = u->throttled_us = -1;
	if (s->via[CG_MEMORY] == CG_VIA_V2) {
		u->memory_peak = cg_read_int_at(g->v2, "memory.peak");
		u->oom_kills = cg_read_kv_at(g->v2, "memory.events", "oom_kill");
	} else if ((d = v1dir(g, CG_MEMORY)) != NULL) {
		u->memory_peak = cg_read_int_at(d, "memory.max_usage_in_bytes");
		u->oom_kills = cg_read_kv_at(d, "memory.oom_control", "oom_kill");
	}
	if (s->via[CG_PIDS] == CG_VIA_V2) {
		u->pids_peak = cg_read_int_at(g->v2, "pids.peak");
		u->pids_denied = cg_read_kv_at(g->v2, "pids.events", "max");
	} else if ((d = v1dir(g, CG_PIDS)) != NULL) {
		u->pids_peak = cg_read_int_at(d, "pids.peak");
		u->pids_denied = cg_read_kv_at(d, "pids.events", "max");
	}
	if (g->v2 != NULL) {
		/* cgroup2's cpu.stat has the usage even without controllers. */
		u->cpu_us = cg_read_kv_at(g->v2, "cpu.stat", "usage_usec");
		u->cpu_user_us = cg_read_kv_at(g->v2, "cpu.stat", "user_usec");
		u->cpu_sys_us = cg_read_kv_at(g->v2, "cpu.stat", "system_usec");
		if (s->via[CG_CPU] == CG_VIA_V2) {
			u->nr_throttled = cg_read_kv_at(g->v2, "cpu.stat",
			    "nr_throttled");
			u->throttled_us = cg_read_kv_at(g->v2, "cpu.stat",
			    "throttled_usec");
		}
	}
	if (u->cpu_us < 0 && (d = v1dir(g, CG_CPUACCT)) != NULL) {
		if ((v = cg_read_int_at(d, "cpuacct.usage")) >= 0)
			u->cpu_us = v / 1000;
		if ((v = cg_read_int_at(d, "cpuacct.usage_user")) >= 0)
			u->cpu_user_us = v / 1000;
		if ((v = cg_read_int_at(d, "cpuacct.usage_sys")) >= 0)
			u->cpu_sys_us = v / 1000;
	}
	if ((d = v1dir(g, CG_CPU)) != NULL) {
		u->nr_throttled = cg_read_kv_at(d, "cpu.stat", "nr_throttled");
		if ((v = cg_read_kv_at(d, "cpu.stat", "throttled_time")) >= 0)
			u->throttled_us = v / 1000;
	}
}

int
cg_remove(struct cg *g)
{
	size_t	 h;
	int	 busy;

	if (g->tries >= CG_REMOVE_TRIES)
		return -1;
	g->tries++;
	if (cg_empty(g) == 0)
		(void)cg_kill(g);
	attempt_rmdirs(g);
	busy = g->v2 != NULL;
	for (h = 0; h < g->sys->nhier; h++)
		busy |= g->v1[h] != NULL;
	if (!busy)
		return 0;
	if (g->tries < CG_REMOVE_TRIES)
		return 1;
	log_warnx("cgroup: %s is still busy after %u tries; leaving it for "
	    "the next start to clean up", cg_path(g), g->tries);
	return -1;
}

void
cg_free(struct cg *g)
{
	size_t	 h;

	if (g == NULL)
		return;
	if (g->adopted)
		cg_unkeep(g);
	pf_free(g->v2);
	for (h = 0; h < CG_NCTL; h++)
		pf_free(g->v1[h]);
	pf_free(g);
}

const char *
cg_path(const struct cg *g)
{
	const char	*d = cg_members_dir(g);

	return d != NULL ? d : "";
}
