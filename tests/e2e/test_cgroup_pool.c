/*
 * Attempt cgroups made ahead (cgroup_pool.c), on this machine as root:
 * a pooled cgroup is handed out only for the limits it was made with,
 * once; a full pool makes room for other limits; cg_close removes what
 * was never taken.  Each test uses its own root name and removes it.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/proc.h"
#include "cgroup.h"

static struct cg_sys	*sys;
static char		 rootname[64];
static char		 inst[4096];

static void
pool_setup(void)
{
	struct cg_opts	 o;
	struct pf_err	 err;

	snprintf(rootname, sizeof(rootname), "picoflow-pooltest-%ld",
	    (long)getpid());
	cg_opts_default(&o);
	o.name = rootname;
	cr_assert_eq(cg_open(&o, &sys, &err), 0, "%s", err.msg);
	snprintf(inst, sizeof(inst), "%s", cg_instance_dir(sys));
}

/* rmdir <mount><own cgroup>/<rootname> in every hierarchy we joined. */
static void
pool_teardown(void)
{
	char	*self, *line, *save, *c1, *c2, p[8400];

	cg_close(sys);
	if ((c1 = strrchr(inst, '/')) != NULL && strstr(inst, rootname)) {
		*c1 = '\0';
		(void)rmdir(inst);
	}
	if ((self = test_read("/proc/self/cgroup", NULL)) == NULL)
		return;
	for (line = strtok_r(self, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if ((c1 = strchr(line, ':')) == NULL ||
		    (c2 = strchr(c1 + 1, ':')) == NULL || c2 == c1 + 1)
			continue;
		*c2 = '\0';
		/* "cpu,cpuacct" is mounted as either name. */
		snprintf(p, sizeof(p), "/sys/fs/cgroup/%s%s/%s", c1 + 1,
		    strcmp(c2 + 1, "/") == 0 ? "" : c2 + 1, rootname);
		(void)rmdir(p);
	}
	free(self);
}

TestSuite(cgroup_pool, .init = pool_setup, .fini = pool_teardown,
    .timeout = 60);

static void
need_host(void)
{
	if (geteuid() != 0)
		cr_skip_test("needs root to write cgroups");
	if (cg_mode(sys) == CG_MODE_NONE)
		cr_skip_test("no writable cgroup here: %s", cg_describe(sys));
}

static int
gone(struct cg *g)
{
	while (cg_remove(g) == 1)
		usleep(20000);
	return access(cg_path(g), F_OK) != 0;
}

Test(cgroup_pool, handed_out_once_and_only_for_its_limits)
{
	struct cg_limits a = { 64 << 20, 0, 200, 17 }, b = a;
	struct cg	*g[CG_POOL_MAX + 1];
	struct pf_err	 err;
	int		 i, j;

	need_host();
	for (i = 0; i < CG_POOL_MAX; i++)
		cr_assert_eq(cg_pool_fill(sys, &a, CG_POOL_MAX, &err), 1,
		    "%s", err.msg);
	cr_assert_eq(cg_pool_fill(sys, &a, CG_POOL_MAX, &err), 0,
	    "a full pool grew");
	cr_assert_eq(cg_pool_fill(sys, &a, 2, &err), 0, "past want");
	b.pids = 33;
	cr_assert_eq(cg_take(sys, &b, &g[0]), 0);
	cr_assert_null(g[0]);
	for (i = 0; i < CG_POOL_MAX; i++) {
		cr_assert_eq(cg_take(sys, &a, &g[i]), 1);
		cr_assert_eq(access(cg_path(g[i]), F_OK), 0, "%s",
		    cg_path(g[i]));
		cr_assert_not_null(strstr(cg_path(g[i]), "/p"));
		cr_assert_eq(cg_empty(g[i]), 1);
		for (j = 0; j < i; j++)
			cr_assert_str_neq(cg_path(g[i]), cg_path(g[j]));
	}
	cr_assert_eq(cg_take(sys, &a, &g[CG_POOL_MAX]), 0, "taken twice");
	for (i = 0; i < CG_POOL_MAX; i++) {
		cr_assert(gone(g[i]));
		cg_free(g[i]);
	}
}

Test(cgroup_pool, full_pool_makes_room_for_other_limits)
{
	struct cg_limits a = { -1, -1, -1, 100 }, b = { -1, -1, -1, 200 };
	struct cg	*g;
	struct pf_err	 err;
	int		 i;

	need_host();
	for (i = 0; i < CG_POOL_MAX; i++)
		cr_assert_eq(cg_pool_fill(sys, &a, CG_POOL_MAX, &err), 1,
		    "%s", err.msg);
	cr_assert_eq(cg_pool_fill(sys, &b, CG_POOL_MAX, &err), 1, "%s", err.msg);
	cr_assert_eq(cg_take(sys, &b, &g), 1);
	cr_assert(gone(g));
	cg_free(g);
	/* One of a's went to make room. */
	for (i = 0; i < CG_POOL_MAX - 1; i++) {
		cr_assert_eq(cg_take(sys, &a, &g), 1);
		cr_assert(gone(g));
		cg_free(g);
	}
	cr_assert_eq(cg_take(sys, &a, &g), 0);
}

Test(cgroup_pool, close_removes_what_was_never_taken)
{
	struct cg_limits a = { -1, -1, -1, -1 };
	struct cg	*g;
	struct pf_err	 err;
	char		 path[4400];

	need_host();
	cr_assert_eq(cg_pool_fill(sys, &a, CG_POOL_MAX, &err), 1, "%s", err.msg);
	cr_assert_eq(cg_pool_fill(sys, &a, CG_POOL_MAX, &err), 1, "%s", err.msg);
	cr_assert_eq(cg_take(sys, &a, &g), 1);
	snprintf(path, sizeof(path), "%s", cg_path(g));
	cr_assert(gone(g));
	cg_free(g);
	/* The other one goes with the instance (teardown's cg_close). */
	cg_close(sys);
	cr_assert_neq(access(inst, F_OK), 0, "%s still there", inst);
	pool_setup();
}
