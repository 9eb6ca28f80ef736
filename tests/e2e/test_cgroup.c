/*
 * The cgroup manager: parsers and mode detection on made-up hosts
 * (mountinfo and /proc/self/cgroup texts, fake trees in a scratch
 * directory), then the real thing on this machine as root: limits
 * written, membership, kill of a double-forked daemon, pids and memory
 * limits enforced and counted, leftovers of a dead instance removed.
 * Each real-host test uses its own root name and removes it.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../lib/proc.h"
#include "cgroup.h"

static char	 rootname[64];

/* ---- parsers ------------------------------------------------------------- */

Test(cgroup_parse, integers)
{
	int64_t	 v = 7;

	cr_assert_eq(cg_parse_int("123\n", &v), 0);
	cr_assert_eq(v, 123);
	cr_assert_eq(cg_parse_int("0", &v), 0);
	cr_assert_eq(v, 0);
	cr_assert_eq(cg_parse_int("max\n", &v), 0);
	cr_assert_eq(v, INT64_MAX);
	cr_assert_eq(cg_parse_int("9223372036854775807", &v), 0);
	cr_assert_eq(v, INT64_MAX);
	v = 7;
	cr_assert_eq(cg_parse_int("9223372036854775808", &v), -1);
	cr_assert_eq(cg_parse_int("99999999999999999999999", &v), -1);
	cr_assert_eq(cg_parse_int("", &v), -1);
	cr_assert_eq(cg_parse_int("-1", &v), -1);
	cr_assert_eq(cg_parse_int("12x", &v), -1);
	cr_assert_eq(cg_parse_int("maximum", &v), -1);
	cr_assert_eq(v, 7);
}

Test(cgroup_parse, key_value_lines)
{
	const char	*t = "low 0\nhigh 3\nmax 12\noom 2\noom_kill 1\n";
	int64_t		 v = -5;

	cr_assert_eq(cg_kv_get(t, "oom_kill", &v), 0);
	cr_assert_eq(v, 1);
	cr_assert_eq(cg_kv_get(t, "oom", &v), 0);
	cr_assert_eq(v, 2);
	cr_assert_eq(cg_kv_get(t, "max", &v), 0);
	cr_assert_eq(v, 12);
	cr_assert_eq(cg_kv_get(t, "low", &v), 0);
	cr_assert_eq(v, 0);
	cr_assert_eq(cg_kv_get(t, "hig", &v), -1);
	cr_assert_eq(cg_kv_get(t, "none", &v), -1);
	cr_assert_eq(cg_kv_get("", "max", &v), -1);
	cr_assert_eq(cg_kv_get("max", "max", &v), -1);
	cr_assert_eq(cg_kv_get("max x\n", "max", &v), -1);
}

/* ---- detection on made-up hosts -------------------------------------- */

static char	*fdir;

static void
fake_setup(void)
{
	fdir = test_tmpdir("cgfake");
	cr_assert_not_null(fdir);
}

static void
fake_teardown(void)
{
	test_rmrf(fdir);
	free(fdir);
}

TestSuite(cgroup_detect, .init = fake_setup, .fini = fake_teardown);

/* Detects from texts; mountinfo may use %1$s for the scratch dir. */
static struct cg_sys *
detect_with(const char *mi_fmt, const char *self)
{
	struct cg_sys	*s;
	struct cg_opts	 o;
	struct pf_err	 err;
	char		*mi, *p, *q;

	cr_assert_neq(asprintf(&mi, mi_fmt, fdir), -1);
	p = test_write(fdir, "mountinfo", mi);
	q = test_write(fdir, "self", self);
	cg_opts_default(&o);
	o.mountinfo = p;
	o.self_cgroup = q;
	o.detect_only = 1;
	cr_assert_eq(cg_open(&o, &s, &err), 0, "%s", err.msg);
	free(mi);
	free(p);
	free(q);
	return s;
}

static void
fake_dir(const char *rel, const char *controllers)
{
	char	 p[4096], *f;

	snprintf(p, sizeof(p), "%s/%s", fdir, rel);
	{
		char cmd[4200];
		snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", p);
		cr_assert_eq(system(cmd), 0);
	}
	if (controllers != NULL) {
		f = test_write(p, "cgroup.controllers", controllers);
		free(f);
	}
}

Test(cgroup_detect, pure_v2_with_controllers)
{
	struct cg_sys	*s;

	fake_dir("cg", "cpuset cpu io memory hugetlb pids rdma misc\n");
	s = detect_with("40 30 0:37 / %1$s/cg rw,relatime - cgroup2 cgroup2 rw\n",
	    "0::/\n");
	cr_assert_eq(cg_mode(s), CG_MODE_V2, "%s", cg_describe(s));
	cr_assert_str_eq(cg_mode_name(cg_mode(s)), "v2");
	cr_assert_eq(cg_ctl_via(s, CG_MEMORY), CG_VIA_V2);
	cr_assert_eq(cg_ctl_via(s, CG_PIDS), CG_VIA_V2);
	cr_assert_eq(cg_ctl_via(s, CG_CPU), CG_VIA_V2);
	cr_assert(strstr(cg_describe(s), "cgroup v2") != NULL, "%s",
	    cg_describe(s));
	cg_close(s);
}

/*
 * Detection alone (pf-supervisor -n, a test asking what the host has)
 * must leave the shared root alone, even empty: a supervisor starting at
 * that moment may just have made it and is about to create its
 * instance in it.
 */
Test(cgroup_detect, detect_only_close_leaves_the_shared_root)
{
	struct cg_sys	*s;
	char		 root[4200];
	struct stat	 st;

	fake_dir("cg/picoflow", NULL);
	fake_dir("cg", "cpu memory pids\n");
	s = detect_with("40 30 0:37 / %1$s/cg rw - cgroup2 cgroup2 rw\n",
	    "0::/\n");
	cr_assert_eq(cg_mode(s), CG_MODE_V2, "%s", cg_describe(s));
	snprintf(root, sizeof(root), "%s/cg/picoflow", fdir);
	cr_assert_str_eq(cg_instance_dir(s), root);
	cg_close(s);
	cr_assert_eq(stat(root, &st), 0, "%s was removed", root);
	cr_assert(S_ISDIR(st.st_mode));
}

Test(cgroup_detect, delegated_subtree_uses_own_cgroup)
{
	struct cg_sys	*s;
	char		 want[4200];

	fake_dir("cg/system.slice/picoflow.service", "cpu memory pids\n");
	s = detect_with("40 30 0:37 / %1$s/cg rw - cgroup2 cgroup2 rw\n",
	    "0::/system.slice/picoflow.service\n");
	cr_assert_eq(cg_mode(s), CG_MODE_V2, "%s", cg_describe(s));
	snprintf(want, sizeof(want),
	    "%s/cg/system.slice/picoflow.service/picoflow", fdir);
	cr_assert_str_eq(cg_instance_dir(s), want);
	cg_close(s);
}

Test(cgroup_detect, v2_missing_a_controller_is_not_pure)
{
	struct cg_sys	*s;

	fake_dir("cg", "cpu memory\n");
	s = detect_with("40 30 0:37 / %1$s/cg rw - cgroup2 cgroup2 rw\n",
	    "0::/\n");
	cr_assert_eq(cg_mode(s), CG_MODE_HYBRID, "%s", cg_describe(s));
	cr_assert_eq(cg_ctl_via(s, CG_PIDS), CG_VIA_NONE);
	cr_assert(strstr(cg_describe(s), "no cgroup for pids") != NULL, "%s",
	    cg_describe(s));
	cg_close(s);
}

Test(cgroup_detect, hybrid_like_this_machine)
{
	struct cg_sys	*s;

	fake_dir("u", "hugetlb\n");
	s = detect_with(
	    "30 22 0:27 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755\n"
	    "31 30 0:28 / %1$s/cpu rw,relatime - cgroup cgroup rw,cpu\n"
	    "32 30 0:29 / %1$s/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
	    "34 30 0:31 / %1$s/memory rw,relatime - cgroup cgroup rw,memory\n"
	    "38 30 0:35 / %1$s/pids rw,relatime - cgroup cgroup rw,pids\n"
	    "39 30 0:36 / %1$s/systemd rw - cgroup cgroup rw,name=systemd\n"
	    "40 30 0:37 / %1$s/u rw,relatime - cgroup2 cgroup2 rw\n",
	    "9:name=systemd:/\n8:pids:/\n4:memory:/api/x\n2:cpuacct:/\n"
	    "1:cpu:/\n0::/\n");
	cr_assert_eq(cg_mode(s), CG_MODE_HYBRID, "%s", cg_describe(s));
	cr_assert_eq(cg_ctl_via(s, CG_MEMORY), CG_VIA_V1);
	cr_assert_eq(cg_ctl_via(s, CG_PIDS), CG_VIA_V1);
	cr_assert_eq(cg_ctl_via(s, CG_CPU), CG_VIA_V1);
	cr_assert_eq(cg_ctl_via(s, CG_CPUACCT), CG_VIA_V1);
	cr_assert(strstr(cg_describe(s), "memory, pids, cpu, cpuacct") !=
	    NULL, "%s", cg_describe(s));
	cg_close(s);
}

/* -n says how tasks would be killed: what the cgroups found offer. */
Test(cgroup_detect, detect_only_tells_cgroup_kill_from_freezing)
{
	struct cg_sys	*s;
	const char	*mi =
	    "34 30 0:31 / %1$s/memory rw,relatime - cgroup cgroup rw,memory\n"
	    "40 30 0:37 / %1$s/u rw,relatime - cgroup2 cgroup2 rw\n";
	const char	*self = "4:memory:/\n0::/\n";
	char		*f, p[4200];

	fake_dir("u", "hugetlb\n");
	fake_dir("memory", NULL);
	/* A root cgroup: neither file, nothing made by PicoFlow yet. */
	s = detect_with(mi, self);
	cr_assert_eq(cg_mode(s), CG_MODE_HYBRID, "%s", cg_describe(s));
	cr_assert(strstr(cg_describe(s), "freeze-and-kill") != NULL, "%s",
	    cg_describe(s));
	cg_close(s);
	/* A PicoFlow root made earlier has cgroup.kill (kernel 5.14+). */
	fake_dir("u/picoflow", NULL);
	snprintf(p, sizeof(p), "%s/u/picoflow", fdir);
	f = test_write(p, "cgroup.kill", "");
	free(f);
	s = detect_with(mi, self);
	cr_assert(strstr(cg_describe(s), "for membership and cgroup.kill;") !=
	    NULL, "%s", cg_describe(s));
	cg_close(s);
}

Test(cgroup_detect, v1_only_with_comounted_cpu_cpuacct)
{
	struct cg_sys	*s;

	s = detect_with(
	    "31 30 0:28 / %1$s/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
	    "34 30 0:31 / %1$s/mem\\040ory rw - cgroup cgroup rw,memory\n"
	    "36 30 0:33 / %1$s/freezer rw - cgroup cgroup rw,freezer\n",
	    "3:cpu,cpuacct:/\n4:memory:/\n5:freezer:/\n");
	cr_assert_eq(cg_mode(s), CG_MODE_V1, "%s", cg_describe(s));
	cr_assert_eq(cg_ctl_via(s, CG_CPU), CG_VIA_V1);
	cr_assert_eq(cg_ctl_via(s, CG_CPUACCT), CG_VIA_V1);
	cr_assert_eq(cg_ctl_via(s, CG_PIDS), CG_VIA_NONE);
	cg_close(s);
}

Test(cgroup_detect, nothing_mounted_is_none)
{
	struct cg_sys	*s;

	s = detect_with("22 1 8:1 / / rw - ext4 /dev/sda1 rw\n", "0::/\n");
	cr_assert_eq(cg_mode(s), CG_MODE_NONE);
	cr_assert_str_eq(cg_mode_name(cg_mode(s)), "none");
	cr_assert(strstr(cg_describe(s), "NONE") != NULL, "%s",
	    cg_describe(s));
	cg_close(s);
}

Test(cgroup_detect, hostile_texts)
{
	struct cg_sys	*s;

	/* Truncated lines, no separator, a path escaping with "..". */
	s = detect_with(
	    "31 30 0:28 /\n"
	    "31 30 0:28 / %1$s/memory rw cgroup cgroup rw,memory\n"
	    "34 30 0:31 / %1$s/pids rw - cgroup\n"
	    "38 30 0:35 / %1$s/cpu rw - cgroup cgroup rw,cpu\n"
	    "\n\n- - - -\n",
	    "1:cpu:/../../etc\n8:pids\n::\n0::\n");
	cr_assert_eq(cg_mode(s), CG_MODE_NONE, "%s", cg_describe(s));
	cg_close(s);
}

Test(cgroup_detect, forced_none)
{
	struct cg_sys	*s;
	struct cg_opts	 o;
	struct cg	*g;
	struct cg_usage	 u;
	struct cg_limits l = { 1 << 20, 0, 100, 4 };
	struct pf_err	 err;

	cg_opts_default(&o);
	o.force_none = 1;
	cr_assert_eq(cg_open(&o, &s, &err), 0);
	cr_assert_eq(cg_mode(s), CG_MODE_NONE);
	cr_assert_eq(cg_create(s, "a-1", &l, &g, &err), 0, "%s", err.msg);
	cr_assert_eq(cg_attach(g, getpid(), &err), 0);
	cr_assert_eq(cg_empty(g), 1);
	cr_assert_eq(cg_kill(g), 0);
	cg_usage(g, &u);
	cr_assert_eq(u.memory_peak, -1);
	cr_assert_eq(u.oom_kills, -1);
	cr_assert_eq(cg_remove(g), 0);
	cr_assert_str_eq(cg_path(g), "");
	cg_free(g);
	cg_close(s);
}

/* ---- the real host ------------------------------------------------------ */

static struct cg_sys	*sys;

static void
host_setup(void)
{
	struct cg_opts	 o;
	struct pf_err	 err;

	snprintf(rootname, sizeof(rootname), "picoflow-test-%ld",
	    (long)getpid());
	cg_opts_default(&o);
	o.name = rootname;
	cr_assert_eq(cg_open(&o, &sys, &err), 0, "%s", err.msg);
}

/*
 * rmdir <hierarchy base>/<rootname> wherever cg_open made one: the parent
 * of the instance directory (cgroup2 wherever it is mounted: at
 * /sys/fs/cgroup on a pure cgroup2 host, /sys/fs/cgroup/unified on a
 * hybrid one), then the v1 hierarchies.
 */
static void
remove_roots(const char *inst)
{
	static const char *const hiers[] = {
		"memory", "pids", "cpu", "cpuacct", "freezer",
	};
	char		 p[8400], own[4096], *self, *line, *save, *slash;
	size_t		 i;

	snprintf(p, sizeof(p), "%s", inst);
	if ((slash = strrchr(p, '/')) != NULL && strstr(p, rootname) != NULL) {
		*slash = '\0';
		(void)rmdir(p);
	}
	for (i = 0; i < sizeof(hiers) / sizeof(hiers[0]); i++) {
		own[0] = '\0';
		self = test_read("/proc/self/cgroup", NULL);
		if (self == NULL)
			return;
		for (line = strtok_r(self, "\n", &save); line != NULL;
		    line = strtok_r(NULL, "\n", &save)) {
			char *c1 = strchr(line, ':'), *c2;

			if (c1 == NULL || (c2 = strchr(c1 + 1, ':')) == NULL)
				continue;
			*c2 = '\0';
			if (strcmp(c1 + 1, hiers[i]) == 0)
				snprintf(own, sizeof(own), "%s", c2 + 1);
		}
		free(self);
		if (own[0] == '\0')
			continue;
		snprintf(p, sizeof(p), "/sys/fs/cgroup/%s%s/%s", hiers[i],
		    strcmp(own, "/") == 0 ? "" : own, rootname);
		(void)rmdir(p);
	}
}

static void
host_teardown(void)
{
	char	 inst[4096];

	snprintf(inst, sizeof(inst), "%s", cg_instance_dir(sys));
	cg_close(sys);
	remove_roots(inst);
}

TestSuite(cgroup_host, .init = host_setup, .fini = host_teardown,
    .timeout = 60);

static void
need_host(void)
{
	if (geteuid() != 0)
		cr_skip_test("needs root to write cgroups");
	if (cg_mode(sys) == CG_MODE_NONE)
		cr_skip_test("no writable cgroup here: %s", cg_describe(sys));
}

static void
need_ctl(enum cg_ctl c, const char *name)
{
	need_host();
	if (cg_ctl_via(sys, c) == CG_VIA_NONE)
		cr_skip_test("no %s controller here: %s", name,
		    cg_describe(sys));
}

/* The directory of controller c for attempt g (v1 or cgroup2). */
static void
ctl_dir(struct cg *g, const char *hier, char *out, size_t len)
{
	const char	*p = cg_path(g);
	const char	*rest = strstr(p, rootname);

	cr_assert_not_null(rest);
	if (cg_ctl_via(sys, CG_MEMORY) == CG_VIA_V2 || hier == NULL) {
		snprintf(out, len, "%s", p);
		return;
	}
	{
		char	*self = test_read("/proc/self/cgroup", NULL), *l, *sv;
		char	 own[4096] = "";

		for (l = strtok_r(self, "\n", &sv); l; l = strtok_r(NULL, "\n",
		    &sv)) {
			char *c1 = strchr(l, ':'), *c2 = c1 ?
			    strchr(c1 + 1, ':') : NULL;
			if (c2 == NULL)
				continue;
			*c2 = '\0';
			if (strcmp(c1 + 1, hier) == 0)
				snprintf(own, sizeof(own), "%s", c2 + 1);
		}
		free(self);
		snprintf(out, len, "/sys/fs/cgroup/%s%s/%s", hier,
		    strcmp(own, "/") == 0 ? "" : own, rest);
	}
}

static char *
read_ctl(const char *dir, const char *file)
{
	char	 p[4400];

	if ((size_t)snprintf(p, sizeof(p), "%s/%s", dir, file) >= sizeof(p))
		return NULL;
	return test_read(p, NULL);
}

/* Waits (bounded) until the attempt has no process; 0 when empty. */
static int
wait_empty(struct cg *g, double seconds)
{
	struct timespec	 ts = { 0, 10000000 };
	int		 i;

	for (i = 0; i < (int)(seconds * 100); i++) {
		if (cg_empty(g) == 1)
			return 0;
		nanosleep(&ts, NULL);
	}
	return -1;
}

static int
remove_all(struct cg *g)
{
	struct timespec	 ts = { 0, 20000000 };
	int		 rc;

	while ((rc = cg_remove(g)) == 1)
		nanosleep(&ts, NULL);
	return rc;
}

/*
 * A child that waits for a byte on fd before running fn: the parent
 * attaches it first, exactly as the engine does with pf-worker.
 */
static pid_t
start_child(struct cg *g, void (*fn)(void *), void *arg)
{
	struct pf_err	 err;
	int		 p[2];
	pid_t		 pid;
	char		 c;

	cr_assert_eq(pipe(p), 0);
	if ((pid = fork()) == 0) {
		close(p[1]);
		if (read(p[0], &c, 1) != 1)
			_exit(99);
		fn(arg);
		_exit(0);
	}
	cr_assert_gt(pid, 0);
	close(p[0]);
	cr_assert_eq(cg_attach(g, pid, &err), 0, "%s", err.msg);
	cr_assert_eq(write(p[1], "x", 1), 1);
	close(p[1]);
	return pid;
}

Test(cgroup_host, mode_line_and_instance)
{
	need_host();
	cr_assert(cg_mode(sys) == CG_MODE_HYBRID || cg_mode(sys) ==
	    CG_MODE_V2 || cg_mode(sys) == CG_MODE_V1, "%s", cg_describe(sys));
	cr_assert(strstr(cg_instance_dir(sys), rootname) != NULL, "%s",
	    cg_instance_dir(sys));
	cr_assert_eq(access(cg_instance_dir(sys), W_OK), 0);
}

Test(cgroup_host, limits_are_written)
{
	struct cg_limits l = { 64 << 20, 0, 200, 16 };
	struct cg	*g;
	struct pf_err	 err;
	char		 d[4096], *v;

	need_host();
	cr_assert_eq(cg_create(sys, "limits-1", &l, &g, &err), 0, "%s",
	    err.msg);
	if (cg_ctl_via(sys, CG_MEMORY) == CG_VIA_V1) {
		ctl_dir(g, "memory", d, sizeof(d));
		v = read_ctl(d, "memory.limit_in_bytes");
		cr_assert_str_eq(v, "67108864\n");
		free(v);
	} else if (cg_ctl_via(sys, CG_MEMORY) == CG_VIA_V2) {
		v = read_ctl(cg_path(g), "memory.max");
		cr_assert_str_eq(v, "67108864\n");
		free(v);
	}
	if (cg_ctl_via(sys, CG_PIDS) == CG_VIA_V1) {
		ctl_dir(g, "pids", d, sizeof(d));
		v = read_ctl(d, "pids.max");
		cr_assert_str_eq(v, "16\n");
		free(v);
	} else if (cg_ctl_via(sys, CG_PIDS) == CG_VIA_V2) {
		v = read_ctl(cg_path(g), "pids.max");
		cr_assert_str_eq(v, "16\n");
		free(v);
	}
	if (cg_ctl_via(sys, CG_CPU) == CG_VIA_V1) {
		ctl_dir(g, "cpu", d, sizeof(d));
		v = read_ctl(d, "cpu.cfs_quota_us");
		cr_assert_str_eq(v, "20000\n");
		free(v);
		v = read_ctl(d, "cpu.cfs_period_us");
		cr_assert_str_eq(v, "100000\n");
		free(v);
	} else if (cg_ctl_via(sys, CG_CPU) == CG_VIA_V2) {
		v = read_ctl(cg_path(g), "cpu.max");
		cr_assert_str_eq(v, "20000 100000\n");
		free(v);
	}
	cr_assert_eq(cg_empty(g), 1);
	cr_assert_eq(remove_all(g), 0);
	cr_assert_neq(access(cg_path(g), F_OK), 0);
	cg_free(g);
}

Test(cgroup_host, bad_names_are_refused)
{
	static const char *const bad[] = { "", ".", "..", ".hidden", "a/b",
	    "a b", "a\nb", "../../x" };
	char		 longname[202];
	struct cg	*g = (struct cg *)1;
	struct pf_err	 err;
	size_t		 i;

	need_host();
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(cg_create(sys, bad[i], NULL, &g, &err), -1,
		    "'%s' accepted", bad[i]);
		cr_assert_null(g);
	}
	memset(longname, 'a', 201);
	longname[201] = '\0';
	cr_assert_eq(cg_create(sys, longname, NULL, &g, &err), -1);
	longname[200] = '\0';
	cr_assert_eq(cg_create(sys, longname, NULL, &g, &err), 0, "%s",
	    err.msg);
	cr_assert_eq(remove_all(g), 0);
	cg_free(g);
	/* The same name twice is refused while the first exists. */
	cr_assert_eq(cg_create(sys, "twice", NULL, &g, &err), 0);
	{
		struct cg *g2;

		cr_assert_eq(cg_create(sys, "twice", NULL, &g2, &err), -1);
		cr_assert(strstr(err.msg, "twice") != NULL, "%s", err.msg);
	}
	cr_assert_eq(remove_all(g), 0);
	cg_free(g);
}

/* Forks a daemon the classic way (double fork, setsid) and exits. */
static void
daemonize(void *arg)
{
	(void)arg;
	if (fork() == 0) {
		setsid();
		if (fork() == 0) {
			close(0);
			close(1);
			close(2);
			execl("/bin/sleep", "sleep", "300", (char *)NULL);
			_exit(127);
		}
		_exit(0);
	}
}

Test(cgroup_host, kill_reaches_a_double_forked_daemon)
{
	struct cg	*g;
	struct pf_err	 err;
	pid_t		 pid;
	int		 st;

	need_host();
	cr_assert_eq(cg_create(sys, "daemon-1", NULL, &g, &err), 0, "%s",
	    err.msg);
	pid = start_child(g, daemonize, NULL);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	/* The daemon outlived its parent and is no child of ours. */
	cr_assert_eq(cg_empty(g), 0, "the daemon should still be running");
	cr_assert_geq(cg_kill(g), 0);
	cr_assert_eq(wait_empty(g, 10), 0, "the daemon survived the kill");
	cr_assert_eq(remove_all(g), 0);
	cg_free(g);
}

static void
fork_many(void *arg)
{
	int	 n = *(int *)arg, i, failed = 0;

	for (i = 0; i < n; i++) {
		pid_t p = fork();

		if (p == 0) {
			pause();
			_exit(0);
		}
		if (p == -1)
			failed++;
	}
	_exit(failed > 0 ? 3 : 0);
}

Test(cgroup_host, pids_limit_stops_forks_and_is_counted)
{
	struct cg_limits l = { -1, -1, -1, 8 };
	struct cg_usage	 u;
	struct cg	*g;
	struct pf_err	 err;
	pid_t		 pid;
	int		 st, n = 20;

	need_ctl(CG_PIDS, "pids");
	cr_assert_eq(cg_create(sys, "pids-1", &l, &g, &err), 0, "%s",
	    err.msg);
	pid = start_child(g, fork_many, &n);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st));
	cr_assert_eq(WEXITSTATUS(st), 3, "every fork succeeded: no limit");
	cg_usage(g, &u);
	/* 20 forks, 7 allowed next to the parent: 13 refused. */
	cr_assert_eq(u.pids_denied, 13, "denied %lld", (long long)
	    u.pids_denied);
	if (u.pids_peak != -1)
		cr_assert_eq(u.pids_peak, 8);
	cr_assert_gt(cg_kill(g) + 1, 0);
	cr_assert_eq(wait_empty(g, 10), 0);
	cr_assert_eq(remove_all(g), 0);
	cg_free(g);
}

static void
hog(void *arg)
{
	size_t	 n = *(size_t *)arg, i;
	char	*p;

	p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
	    -1, 0);
	if (p == MAP_FAILED)
		_exit(2);
	for (i = 0; i < n; i += 4096)
		p[i] = 1;
	_exit(0);
}

Test(cgroup_host, memory_limit_oom_kills_and_is_counted)
{
	struct cg_limits l = { 32 << 20, 0, -1, -1 };
	struct cg_usage	 u;
	struct cg	*g;
	struct pf_err	 err;
	size_t		 n = (size_t)256 << 20;
	pid_t		 pid;
	int		 st;

	need_ctl(CG_MEMORY, "memory");
	cr_assert_eq(cg_create(sys, "oom-1", &l, &g, &err), 0, "%s",
	    err.msg);
	pid = start_child(g, hog, &n);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL,
	    "the hog was not OOM-killed (status %#x)", st);
	cg_usage(g, &u);
	cr_assert_eq(u.oom_kills, 1);
	cr_assert_gt(u.memory_peak, 16 << 20);
	cr_assert_leq(u.memory_peak, 32 << 20);
	cr_assert_eq(remove_all(g), 0);
	cg_free(g);
}

static void
spin(void *arg)
{
	struct timespec	 t0, t;

	(void)arg;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do
		clock_gettime(CLOCK_MONOTONIC, &t);
	while ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) /
	    1000000 < 1000);
}

Test(cgroup_host, cpu_limit_throttles_and_usage_is_counted)
{
	struct cg_limits l = { -1, -1, 200, -1 };
	struct cg_usage	 u;
	struct cg	*g;
	struct pf_err	 err;
	pid_t		 pid;
	int		 st;

	need_ctl(CG_CPU, "cpu");
	cr_assert_eq(cg_create(sys, "cpu-1", &l, &g, &err), 0, "%s",
	    err.msg);
	pid = start_child(g, spin, NULL);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cg_usage(g, &u);
	/* 1 s of wall time at 0.2 core: about 200 ms, never near 1 s. */
	cr_assert_gt(u.cpu_us, 50000, "cpu %lld us", (long long)u.cpu_us);
	cr_assert_lt(u.cpu_us, 600000, "cpu %lld us", (long long)u.cpu_us);
	cr_assert_gt(u.nr_throttled, 0);
	cr_assert_gt(u.throttled_us, 0);
	cr_assert_eq(remove_all(g), 0);
	cg_free(g);
}

/* A pid that existed and is gone, with its start time. */
static void
dead_pid(pid_t *pid, unsigned long long *start)
{
	char	 p[64], *stat, *s;
	int	 i, st;

	if ((*pid = fork()) == 0) {
		pause();
		_exit(0);
	}
	snprintf(p, sizeof(p), "/proc/%ld/stat", (long)*pid);
	stat = test_read(p, NULL);
	cr_assert_not_null(stat);
	s = strrchr(stat, ')') + 1;
	for (i = 3; i < 22; i++)
		s = strchr(s + 1, ' ');
	*start = strtoull(s + 1, NULL, 10);
	free(stat);
	kill(*pid, SIGKILL);
	waitpid(*pid, &st, 0);
}

Test(cgroup_host, leftovers_of_a_dead_instance_are_killed_and_removed)
{
	struct cg_sys	*s2;
	struct cg_opts	 o;
	struct pf_err	 err;
	char		 inst[4096], att[4200], live[4200], *parent;
	char		 cmd[8600], logpath[4200], *logdir, *log;
	unsigned long long start;
	pid_t		 dead, victim;
	int		 st, rc, saved;

	need_host();
	dead_pid(&dead, &start);
	/* A dead instance next to ours, holding one attempt with a process. */
	snprintf(inst, sizeof(inst), "%s", cg_instance_dir(sys));
	parent = strrchr(inst, '/');
	snprintf(parent + 1, sizeof(inst) - (size_t)(parent + 1 - inst),
	    "%ld.%llu.0", (long)dead, start);
	cr_assert_eq(mkdir(inst, 0755), 0, "%s: %s", inst, strerror(errno));
	snprintf(att, sizeof(att), "%s/r1-t-1", inst);
	cr_assert_eq(mkdir(att, 0755), 0);
	/* A live instance (ours) must be left alone. */
	snprintf(live, sizeof(live), "%s/keep", cg_instance_dir(sys));
	cr_assert_eq(mkdir(live, 0755), 0);
	if ((victim = fork()) == 0) {
		execl("/bin/sleep", "sleep", "300", (char *)NULL);
		_exit(127);
	}
	snprintf(cmd, sizeof(cmd), "echo %ld > %s/cgroup.procs",
	    (long)victim, att);
	cr_assert_eq(system(cmd), 0);

	cg_opts_default(&o);
	o.name = rootname;
	/* Its report of the sweep goes to a file, not make test's output. */
	cr_assert_not_null(logdir = test_tmpdir("cgleft"));
	snprintf(logpath, sizeof(logpath), "%s/log", logdir);
	cr_assert_geq(saved = test_stderr_to(logpath), 0, "%s", logpath);
	rc = cg_open(&o, &s2, &err);
	test_stderr_restore(saved);
	log = test_read(logpath, NULL);
	test_rmrf(logdir);
	free(logdir);
	cr_assert_eq(rc, 0, "%s", err.msg);
	cr_assert(log != NULL && strstr(log, "killed and removed 1 leftover "
	    "attempt cgroup") != NULL, "%s", log ? log : "");
	free(log);
	cr_assert_eq(cg_leftovers_removed(s2), 1);
	cr_assert_eq(waitpid(victim, &st, 0), victim);
	cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	cr_assert_neq(access(att, F_OK), 0, "%s still there", att);
	cr_assert_neq(access(inst, F_OK), 0, "%s still there", inst);
	cr_assert_eq(access(live, F_OK), 0, "a live instance was swept");
	/* Two managers in one process get two instances. */
	cr_assert_str_neq(cg_instance_dir(s2), cg_instance_dir(sys));
	cg_close(s2);
	cr_assert_eq(rmdir(live), 0);
}

/* ---- pure cgroup2 (scripts/vm-test boots a kernel that has it) ---------- */

static void
need_v2(void)
{
	need_host();
	if (cg_mode(sys) != CG_MODE_V2)
		cr_skip_test("not a cgroup2 host with memory, pids and cpu "
		    "(scripts/vm-test runs this on one): %s", cg_describe(sys));
}

/* Whether the whitespace-separated list in text has word. */
static int
has_word(const char *text, const char *word)
{
	size_t		 wl = strlen(word);
	const char	*p = text;

	while ((p = strstr(p, word)) != NULL) {
		if ((p == text || p[-1] == ' ') && (p[wl] == ' ' ||
		    p[wl] == '\n' || p[wl] == '\0'))
			return 1;
		p += wl;
	}
	return 0;
}

/* <v2base>: the instance dir is <v2base>/<rootname>/<inst>. */
static void
v2_base(char *out, size_t len)
{
	char	*slash;
	int	 i;

	snprintf(out, len, "%s", cg_instance_dir(sys));
	for (i = 0; i < 2; i++) {
		slash = strrchr(out, '/');
		cr_assert_not_null(slash, "%s", cg_instance_dir(sys));
		*slash = '\0';
	}
}

Test(cgroup_host, v2_controllers_enabled_down_to_the_attempt)
{
	struct cg_limits l = { 64 << 20, 0, 200, 16 };
	struct cg	*g;
	struct pf_err	 err;
	char		 base[4000], root[4200], *v;

	need_v2();
	v2_base(base, sizeof(base));
	snprintf(root, sizeof(root), "%s/%s", base, rootname);
	/* Each level hands memory, pids and cpu to the next. */
	v = read_ctl(base, "cgroup.subtree_control");
	cr_assert(has_word(v, "memory") && has_word(v, "pids") &&
	    has_word(v, "cpu"), "%s: %s", base, v);
	free(v);
	v = read_ctl(root, "cgroup.subtree_control");
	cr_assert(has_word(v, "memory") && has_word(v, "pids") &&
	    has_word(v, "cpu"), "%s: %s", root, v);
	free(v);
	v = read_ctl(cg_instance_dir(sys), "cgroup.subtree_control");
	cr_assert(has_word(v, "memory") && has_word(v, "pids") &&
	    has_word(v, "cpu"), "%s: %s", cg_instance_dir(sys), v);
	free(v);
	cr_assert(strstr(cg_describe(sys), "cgroup v2") != NULL, "%s",
	    cg_describe(sys));

	cr_assert_eq(cg_create(sys, "v2-1", &l, &g, &err), 0, "%s", err.msg);
	v = read_ctl(cg_path(g), "cgroup.controllers");
	cr_assert(has_word(v, "memory") && has_word(v, "pids") &&
	    has_word(v, "cpu"), "%s", v);
	free(v);
	/* No swap on top of the memory limit (when swap is accounted). */
	if ((v = read_ctl(cg_path(g), "memory.swap.max")) != NULL)
		cr_assert_str_eq(v, "0\n");
	free(v);
	v = read_ctl(cg_path(g), "memory.max");
	cr_assert_str_eq(v, "67108864\n");
	free(v);
	cr_assert_eq(remove_all(g), 0);
	cg_free(g);
}

static void
sleeper(void *arg)
{
	(void)arg;
	execl("/bin/sleep", "sleep", "300", (char *)NULL);
	_exit(127);
}

Test(cgroup_host, v2_kill_uses_cgroup_kill_and_events_say_empty)
{
	struct cg_usage	 u;
	struct cg	*g;
	struct pf_err	 err;
	pid_t		 pid;
	int		 st;
	char		*v;

	need_v2();
	cr_assert_eq(cg_create(sys, "v2-kill", NULL, &g, &err), 0, "%s",
	    err.msg);
	pid = start_child(g, sleeper, NULL);
	v = read_ctl(cg_path(g), "cgroup.events");
	cr_assert(strstr(v, "populated 1\n") != NULL, "%s", v);
	free(v);
	cr_assert_eq(cg_empty(g), 0);
	/* 0: cgroup.kill did it, nobody had to be listed. */
	cr_assert_eq(cg_kill(g), 0);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	cr_assert_eq(wait_empty(g, 10), 0);
	v = read_ctl(cg_path(g), "cgroup.events");
	cr_assert(strstr(v, "populated 0\n") != NULL, "%s", v);
	free(v);
	cg_usage(g, &u);
	/* cgroup2 accounts all of these on a kernel with the controllers. */
	cr_assert_geq(u.cpu_us, 0);
	cr_assert_geq(u.cpu_user_us, 0);
	cr_assert_geq(u.cpu_sys_us, 0);
	cr_assert_eq(u.oom_kills, 0);
	cr_assert_eq(u.pids_denied, 0);
	cr_assert_eq(u.nr_throttled, 0);
	/* memory.peak: kernels from 5.19 on (a reading, maybe 0 here). */
	if (u.memory_peak != -1)
		cr_assert_geq(u.memory_peak, 0);
	cr_assert_eq(remove_all(g), 0);
	cg_free(g);
}

/*
 * A supervisor started inside a delegated cgroup (systemd's Delegate=yes
 * puts the service's processes there): cgroup2 refuses to enable
 * controllers below a cgroup with processes in it, so cg_open moves the
 * process to a "supervisor" leaf first.  Done in a child, which exits
 * inside the delegated cgroup; the test then removes it.
 */
static int
delegated_child(const char *deleg)
{
	struct cg_limits l = { -1, -1, -1, 4 };
	struct cg_sys	*s;
	struct cg_opts	 o;
	struct cg	*g;
	struct pf_err	 err;
	char		 want[4200], *self, *v;
	FILE		*f;

	if ((size_t)snprintf(want, sizeof(want), "%s/cgroup.procs", deleg) >=
	    sizeof(want) || (f = fopen(want, "w")) == NULL || fprintf(f, "0") != 1 ||
	    fclose(f) != 0)
		return 1;
	cg_opts_default(&o);
	o.name = rootname;
	if (cg_open(&o, &s, &err) != 0)
		return 2;
	if (cg_mode(s) != CG_MODE_V2)
		return 3;
	if ((size_t)snprintf(want, sizeof(want), "%s/", deleg) >= sizeof(want))
		return 9;
	if (strncmp(cg_instance_dir(s), want, strlen(want)) != 0)
		return 4;
	self = test_read("/proc/self/cgroup", NULL);
	if (self == NULL || strstr(self, "/supervisor\n") == NULL)
		return 5;
	free(self);
	if (cg_create(s, "deleg-1", &l, &g, &err) != 0)
		return 6;
	v = read_ctl(cg_path(g), "pids.max");
	if (v == NULL || strcmp(v, "4\n") != 0)
		return 7;
	free(v);
	if (remove_all(g) != 0)
		return 8;
	cg_free(g);
	cg_close(s);
	return 0;
}

Test(cgroup_host, v2_delegated_cgroup_with_the_supervisor_inside)
{
	struct timespec	 ts = { 0, 20000000 };
	char		 base[4000], deleg[4100], p[4400];
	pid_t		 pid;
	int		 st, i;

	need_v2();
	v2_base(base, sizeof(base));
	snprintf(deleg, sizeof(deleg), "%s/%s-deleg", base, rootname);
	cr_assert_eq(mkdir(deleg, 0755), 0, "%s: %s", deleg, strerror(errno));
	if ((pid = fork()) == 0)
		_exit(delegated_child(deleg));
	cr_assert_gt(pid, 0);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	/* The child is gone: its cgroups empty, remove them leaf first. */
	snprintf(p, sizeof(p), "%s/%s", deleg, rootname);
	for (i = 0; i < 100 && rmdir(p) == -1 && errno == EBUSY; i++)
		nanosleep(&ts, NULL);
	snprintf(p, sizeof(p), "%s/supervisor", deleg);
	for (i = 0; i < 100 && rmdir(p) == -1 && errno == EBUSY; i++)
		nanosleep(&ts, NULL);
	for (i = 0; i < 100 && rmdir(deleg) == -1 && errno == EBUSY; i++)
		nanosleep(&ts, NULL);
	cr_assert(WIFEXITED(st), "child status %#x", st);
	cr_assert_eq(WEXITSTATUS(st), 0, "check %d failed", WEXITSTATUS(st));
	cr_assert_neq(access(deleg, F_OK), 0, "%s left behind", deleg);
}
