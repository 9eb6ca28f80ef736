/*
 * The cgroup manager: opening (detection, then our instance directory),
 * closing, the sweep of what dead instances left, and what the manager
 * says about itself.  cgroup_int.h lists the other files.
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

/* The parent of an instance directory: the root swept. */
static void
sweep_parent(struct cg_sys *s, const char *inst, int kind, int64_t *budget)
{
	char	 root[PATH_MAX];
	char	*slash;

	if (inst == NULL || (size_t)snprintf(root, sizeof(root), "%s",
	    inst) >= sizeof(root) || (slash = strrchr(root, '/')) == NULL)
		return;
	*slash = '\0';
	cg_sweep_dir(s, root, kind, budget);
}

void
cg_sweep(struct cg_sys *s)
{
	int64_t	 budget = CG_SWEEP_WAIT_MS;
	size_t	 h;
	int	 first = 1;

	if (s->swept)
		return;
	s->swept = 1;
	sweep_parent(s, s->v2inst, SWEEP_V2, &budget);
	for (h = 0; h < s->nhier; h++) {
		if (s->hier[h].inst == NULL)
			continue;
		sweep_parent(s, s->hier[h].inst, s->v2inst == NULL && first ?
		    SWEEP_V1_FIRST : SWEEP_V1_MORE, &budget);
		first = 0;
	}
	if (s->leftovers > 0)
		log_info("cgroup: killed and removed %u leftover attempt "
		    "cgroup%s", s->leftovers, s->leftovers == 1 ? "" : "s");
}

void
cg_opts_default(struct cg_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->name = "picoflow";
}

static void
describe(struct cg_sys *s)
{
	char	 v1[128] = "", miss[128] = "";
	size_t	 o1 = 0, om = 0;
	int	 c;

	for (c = 0; c < CG_NCTL; c++) {
		if (c == CG_FREEZER)
			continue;
		if (s->via[c] == CG_VIA_V1)
			o1 += (size_t)snprintf(v1 + o1, sizeof(v1) - o1,
			    "%s%s", o1 ? ", " : "", cg_ctl_names[c]);
		else if (s->via[c] == CG_VIA_NONE)
			om += (size_t)snprintf(miss + om, sizeof(miss) - om,
			    "%s%s", om ? ", " : "", cg_ctl_names[c]);
		if (o1 >= sizeof(v1) || om >= sizeof(miss))
			break;
	}
	switch (s->mode) {
	case CG_MODE_V2:
		snprintf(s->desc, sizeof(s->desc), "isolation: cgroup v2 at %s "
		    "(memory, pids, cpu limits; cgroup.kill)", s->v2inst);
		break;
	case CG_MODE_HYBRID:
		snprintf(s->desc, sizeof(s->desc), "isolation: hybrid cgroups: "
		    "cgroup2 at %s for membership and %s; cgroup v1 for %s%s%s",
		    s->v2inst, s->v2kill ? "cgroup.kill" : "freeze-and-kill",
		    v1, miss[0] ? "; no cgroup for " : "", miss);
		break;
	case CG_MODE_V1:
		snprintf(s->desc, sizeof(s->desc), "isolation: cgroup v1 (%s) "
		    "at %s, kill %s%s%s", v1, cg_instance_dir(s),
		    s->via[CG_FREEZER] == CG_VIA_V1 ? "through the freezer" :
		    "by listing members", miss[0] ? "; no cgroup for " : "",
		    miss);
		break;
	case CG_MODE_NONE:
		snprintf(s->desc, sizeof(s->desc), "isolation: NONE: no "
		    "writable cgroup%s; tasks are limited by rlimits and killed "
		    "by process group only, and a task that leaves its group "
		    "can outlive its attempt", s->v2base != NULL ?
		    " with resource controllers" : "");
		break;
	}
}

int
cg_open(const struct cg_opts *o, struct cg_sys **out, struct pf_err *err)
{
	struct cg_sys	*s;
	struct cg_opts	 def;
	char		*w;
	int		 c, limits = 0;

	if (o == NULL) {
		cg_opts_default(&def);
		o = &def;
	}
	if ((s = pf_calloc(1, sizeof(*s))) == NULL ||
	    (s->name = pf_strdup(o->name ? o->name : "picoflow")) == NULL) {
		pf_free(s);
		pf_err_set(err, "out of memory");
		return -1;
	}
	for (c = 0; c < CG_NCTL; c++)
		s->hidx[c] = -1;
	s->restarted = o->restarted;
	for (c = 0; c < 2; c++)
		if (o->workers[c] != NULL &&
		    (w = realpath(o->workers[c], NULL)) != NULL) {
			/* realpath's malloc: ours must be pf_free'd. */
			s->workers[c] = pf_strdup(w);
			free(w);
		}
	if (!o->force_none && cg_detect(s, o) == 0 && !o->detect_only) {
		cg_setup(s);
		if (!o->defer_sweep)
			cg_sweep(s);
	}
	if (o->force_none) {
		pf_free(s->v2base);
		s->v2base = NULL;
	}
	for (c = 0; c < CG_NCTL; c++)
		if (c != CG_FREEZER && s->via[c] != CG_VIA_NONE)
			limits = 1;
	if (s->via[CG_MEMORY] == CG_VIA_V2 && s->via[CG_PIDS] == CG_VIA_V2 &&
	    s->via[CG_CPU] == CG_VIA_V2 && s->v2base != NULL)
		s->mode = CG_MODE_V2;
	else if (s->v2base != NULL && limits)
		s->mode = CG_MODE_HYBRID;
	else if (limits && s->nhier > 0)
		s->mode = CG_MODE_V1;
	else
		s->mode = CG_MODE_NONE;
	s->detect_only = o->detect_only;
	if (o->detect_only && s->mode != CG_MODE_NONE && s->v2inst == NULL &&
	    s->v2base != NULL) {
		s->v2inst = cg_path_join(s->v2base, s->name);
		/*
		 * What an instance would have: the root <base>/<name> when a
		 * PicoFlow made it already, else our own cgroup (a root
		 * cgroup has neither file, so this may say less than a real
		 * start finds).
		 */
		if (s->v2inst != NULL && (s->v2kill = cg_exists_at(s->v2inst,
		    "cgroup.kill")) == 0)
			s->v2kill = cg_exists_at(s->v2base, "cgroup.kill");
		if (s->v2inst != NULL && (s->v2freeze = cg_exists_at(s->v2inst,
		    "cgroup.freeze")) == 0)
			s->v2freeze = cg_exists_at(s->v2base, "cgroup.freeze");
	}
	describe(s);
	*out = s;
	return 0;
}

static void
inst_rmdir(const char *p)
{
	if (p != NULL && rmdir(p) == -1 && errno != ENOENT)
		log_warn("cgroup: cannot remove %s", p);
}

void
cg_close(struct cg_sys *s)
{
	size_t	 h;

	if (s == NULL)
		return;
	cg_pool_free(s);
	/*
	 * A detect-only handle created nothing; its v2inst is the shared
	 * root <base>/<name>, which a supervisor starting at this moment may
	 * have just made for its own instance: removing it would take
	 * cgroups away from that supervisor.
	 */
	if (!s->detect_only)
		inst_rmdir(s->v2inst);
	pf_free(s->v2inst);
	pf_free(s->v2base);
	for (h = 0; h < s->nhier; h++) {
		inst_rmdir(s->hier[h].inst);
		pf_free(s->hier[h].inst);
		pf_free(s->hier[h].base);
	}
	for (h = 0; h < s->nkeep; h++)
		pf_free(s->keep[h]);
	pf_free(s->workers[0]);
	pf_free(s->workers[1]);
	pf_free(s->name);
	pf_free(s);
}

enum cg_mode
cg_mode(const struct cg_sys *s)
{
	return s->mode;
}

const char *
cg_mode_name(enum cg_mode m)
{
	switch (m) {
	case CG_MODE_V2:
		return "v2";
	case CG_MODE_HYBRID:
		return "hybrid";
	case CG_MODE_V1:
		return "v1";
	default:
		return "none";
	}
}

const char *
cg_describe(const struct cg_sys *s)
{
	return s->desc;
}

enum cg_via
cg_ctl_via(const struct cg_sys *s, enum cg_ctl c)
{
	return c < CG_NCTL ? s->via[c] : CG_VIA_NONE;
}

const char *
cg_instance_dir(const struct cg_sys *s)
{
	size_t	 h;

	if (s->v2inst != NULL)
		return s->v2inst;
	for (h = 0; h < s->nhier; h++)
		if (s->hier[h].inst != NULL)
			return s->hier[h].inst;
	return "";
}

unsigned
cg_leftovers_removed(const struct cg_sys *s)
{
	return s->leftovers;
}
