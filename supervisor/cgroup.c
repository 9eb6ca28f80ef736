/*
 * The cgroup manager; see cgroup.h for the modes and the layout.
 *
 * Everything read from cgroupfs or /proc is treated as input: bounded
 * reads, numbers range-checked, paths length-checked.
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

#define CG_NAME_MAX		200
#define CG_SMALL_FILE		4096	/* control files we parse */
#define CG_MOUNTINFO_MAX	(1024 * 1024)
#define CG_CPU_PERIOD_US	100000
#define CG_FREEZE_SPINS		1000
#define CG_KILL_PASSES		8
#define CG_SWEEP_WAIT_MS	2000

static const char *const ctl_names[CG_NCTL] = {
	"memory", "pids", "cpu", "cpuacct", "freezer",
};

/* A v1 hierarchy we use: several controllers may share one. */
struct hier {
	char		*base;		/* <mount><own cgroup> */
	char		*inst;		/* base/<name>/<inst> */
};

struct cg_sys {
	enum cg_mode	 mode;
	char		*name;
	char		*v2base;	/* <mount><own>, NULL without cgroup2 */
	char		*v2inst;
	int		 v2kill;	/* cgroup.kill exists */
	int		 v2freeze;	/* cgroup.freeze exists */
	enum cg_via	 via[CG_NCTL];
	int		 hidx[CG_NCTL];	/* v1: index into hier, else -1 */
	struct hier	 hier[CG_NCTL];
	size_t		 nhier;
	int		 memsw;		/* v1 memory.memsw.* exists */
	int		 swapmax;	/* v2 memory.swap.max exists */
	char		 prefix[48];	/* <pid>.<start> */
	char		 inst[64];	/* <prefix>.<n> */
	unsigned	 leftovers;
	int		 swept;
	int		 detect_only;	/* v2inst is a name to show, not ours */
	char		 desc[512];
	/* Attempt directories taken over (cg_adopt): the sweep keeps them. */
	char		*keep[CG_KEEP_MAX];
	size_t		 nkeep;
	char		*workers[2];	/* cg_opts.workers */
};

struct cg {
	struct cg_sys	*sys;
	char		*v2;		/* attempt dir in cgroup2, or NULL */
	char		*v1[CG_NCTL];	/* per hierarchy index, or NULL */
	unsigned	 tries;
	int		 adopted;	/* in a predecessor's instance */
};

static void	 unkeep(struct cg *);

/* ---- small file helpers ------------------------------------------------ */

static char *
path_join(const char *a, const char *b)
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
static int
write_at(const char *dir, const char *file, const char *s)
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
static ssize_t
read_at(const char *dir, const char *file, char *buf, size_t len)
{
	char	 p[PATH_MAX];

	if ((size_t)snprintf(p, sizeof(p), "%s/%s", dir, file) >= sizeof(p)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return readfile_small(p, buf, len);
}

static int
exists_at(const char *dir, const char *file)
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

static int64_t
read_int_at(const char *dir, const char *file)
{
	char	 buf[64];
	int64_t	 v;

	if (dir == NULL || read_at(dir, file, buf, sizeof(buf)) <= 0 ||
	    cg_parse_int(buf, &v) == -1)
		return -1;
	return v;
}

static int64_t
read_kv_at(const char *dir, const char *file, const char *key)
{
	char	 buf[CG_SMALL_FILE];
	int64_t	 v;

	if (dir == NULL || read_at(dir, file, buf, sizeof(buf)) <= 0 ||
	    cg_kv_get(buf, key, &v) == -1)
		return -1;
	return v;
}

/*
 * Calls fn for every pid in dir/cgroup.procs, read in chunks (a fork
 * bomb's list can be long).  Returns the count or -1 with errno.
 */
static long
procs_each(const char *dir, void (*fn)(pid_t, void *), void *arg)
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

static void
kill_one(pid_t pid, void *arg)
{
	(void)arg;
	/* Never ourselves: a misplaced supervisor must not kill itself. */
	if (pid != getpid())
		(void)kill(pid, SIGKILL);
}

/* ---- process identity ---------------------------------------------------- */

/* Start time of pid in clock ticks after boot (/proc/PID/stat field 22). */
static int
start_time(pid_t pid, unsigned long long *out)
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
static int
inst_alive(const char *name)
{
	pid_t			 pid;
	unsigned long long	 st, now;

	if (inst_parse(name, &pid, &st) == -1)
		return 1;	/* not ours to judge: leave it */
	if (start_time(pid, &now) == -1)
		return 0;
	return now == st;
}

/* ---- detection ------------------------------------------------------------- */

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void
unescape(char *s)
{
	char	*d = s;

	while (*s != '\0') {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' &&
		    s[2] >= '0' && s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*d++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 +
			    (s[3] - '0'));
			s += 4;
		} else
			*d++ = *s++;
	}
	*d = '\0';
}

/* Whether list[0..len) has word, separated by commas, spaces or newlines. */
static int
has_word(const char *list, size_t len, const char *word)
{
	size_t	 wl = strlen(word), i = 0, j;

	while (i < len) {
		for (j = i; j < len && list[j] != ',' && list[j] != ' ' &&
		    list[j] != '\n'; j++)
			;
		if (j - i == wl && memcmp(list + i, word, wl) == 0)
			return 1;
		i = j + 1;
	}
	return 0;
}

static char *
slurp(const char *path, size_t max)
{
	char	*buf;
	ssize_t	 n;

	if ((buf = pf_malloc(max)) == NULL)
		return NULL;
	if ((n = read_at("", path, buf, max)) < 0) {
		pf_free(buf);
		return NULL;
	}
	return buf;
}

/*
 * The cgroup of this process in a hierarchy: from /proc/self/cgroup, the
 * line for hierarchy 0 (cgroup2, ctl NULL) or the one whose controller
 * list has ctl.  Points into text; *len is its length.
 */
static const char *
own_path(const char *text, const char *ctl, size_t *len)
{
	const char	*line = text, *c1, *c2, *end;

	while (line != NULL && *line != '\0') {
		end = strchr(line, '\n');
		if (end == NULL)
			end = line + strlen(line);
		c1 = memchr(line, ':', (size_t)(end - line));
		c2 = c1 ? memchr(c1 + 1, ':', (size_t)(end - c1 - 1)) : NULL;
		if (c2 != NULL && c2[1] == '/') {
			if (ctl == NULL ? (c1 - line == 1 && line[0] == '0' &&
			    c2 == c1 + 1) : has_word(c1 + 1, (size_t)(c2 - c1 - 1), ctl)) {
				*len = (size_t)(end - c2 - 1);
				return c2 + 1;
			}
		}
		line = *end ? end + 1 : NULL;
	}
	return NULL;
}

/* base = mount + (own path relative to the mount's root). */
static char *
make_base(const char *mnt, const char *root, const char *own, size_t olen)
{
	size_t	 rl = strlen(root), ml = strlen(mnt);
	char	*p;

	/* The process's path is below the mount's root (cgroup namespaces). */
	if (strcmp(root, "/") != 0) {
		if (olen < rl || strncmp(own, root, rl) != 0 ||
		    (olen > rl && own[rl] != '/'))
			return NULL;
		own += rl;
		olen -= rl;
	}
	while (olen > 0 && own[olen - 1] == '/')
		olen--;
	if (ml + olen + 1 > PATH_MAX)
		return NULL;
	if ((p = pf_malloc(ml + olen + 1)) == NULL)
		return NULL;
	memcpy(p, mnt, ml);
	memcpy(p + ml, own, olen);
	p[ml + olen] = '\0';
	/* Never "..": a path from /proc is data. */
	if (strstr(p, "/../") != NULL || (strlen(p) >= 3 &&
	    strcmp(p + strlen(p) - 3, "/..") == 0)) {
		pf_free(p);
		return NULL;
	}
	return p;
}

/*
 * One line of mountinfo: "id parent maj:min root mountpoint opts
 * [optional...] - fstype source superopts".
 */
static int
mi_fields(char *line, char **root, char **mnt, char **fstype,
    char **super)
{
	char	*f[6], *save, *tok;
	int	 i = 0;

	for (tok = strtok_r(line, " ", &save); tok != NULL && i < 5;
	    tok = strtok_r(NULL, " ", &save))
		f[i++] = tok;
	if (i < 5)
		return -1;
	while ((tok = strtok_r(NULL, " ", &save)) != NULL &&
	    strcmp(tok, "-") != 0)
		;
	if (tok == NULL || (*fstype = strtok_r(NULL, " ", &save)) == NULL ||
	    strtok_r(NULL, " ", &save) == NULL ||
	    (*super = strtok_r(NULL, " ", &save)) == NULL)
		return -1;
	*root = f[3];
	*mnt = f[4];
	unescape(*root);
	unescape(*mnt);
	return 0;
}

static int
sys_add_hier(struct cg_sys *s, const char *base)
{
	size_t	 i;

	for (i = 0; i < s->nhier; i++)
		if (strcmp(s->hier[i].base, base) == 0)
			return (int)i;
	if (s->nhier == CG_NCTL)
		return -1;
	if ((s->hier[s->nhier].base = pf_strdup(base)) == NULL)
		return -1;
	return (int)s->nhier++;
}

/*
 * Reads mountinfo and our cgroups; fills v2base and the v1 hierarchies
 * of the controllers found (writability is checked when creating).
 */
static int
detect(struct cg_sys *s, const struct cg_opts *o)
{
	char		*mi, *self, *line, *save, *root, *mnt, *fstype, *super;
	char		*base, ctlbuf[CG_SMALL_FILE];
	const char	*own;
	size_t		 olen;
	int		 c, h;

	mi = slurp(o->mountinfo ? o->mountinfo : "/proc/self/mountinfo",
	    CG_MOUNTINFO_MAX);
	self = slurp(o->self_cgroup ? o->self_cgroup : "/proc/self/cgroup",
	    CG_SMALL_FILE * 4);
	if (mi == NULL || self == NULL) {
		pf_free(mi);
		pf_free(self);
		return -1;
	}
	for (line = strtok_r(mi, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (mi_fields(line, &root, &mnt, &fstype, &super) == -1)
			continue;
		if (strcmp(fstype, "cgroup2") == 0 && s->v2base == NULL) {
			if ((own = own_path(self, NULL, &olen)) != NULL)
				s->v2base = make_base(mnt, root, own, olen);
			continue;
		}
		if (strcmp(fstype, "cgroup") != 0)
			continue;
		for (c = 0; c < CG_NCTL; c++) {
			if (s->hidx[c] != -1 || !has_word(super, strlen(super),
			    ctl_names[c]))
				continue;
			if ((own = own_path(self, ctl_names[c], &olen)) ==
			    NULL || (base = make_base(mnt, root, own, olen)) ==
			    NULL)
				continue;
			h = sys_add_hier(s, base);
			pf_free(base);
			if (h >= 0) {
				s->hidx[c] = h;
				s->via[c] = CG_VIA_V1;
			}
		}
	}
	pf_free(mi);
	pf_free(self);
	/* cgroup2 controllers available to our cgroup win over v1. */
	if (s->v2base != NULL && read_at(s->v2base, "cgroup.controllers",
	    ctlbuf, sizeof(ctlbuf)) >= 0) {
		for (c = 0; c < CG_NCTL; c++) {
			if (c == CG_CPUACCT || c == CG_FREEZER)
				continue;
			if (has_word(ctlbuf, strlen(ctlbuf), ctl_names[c]))
				s->via[c] = CG_VIA_V2;
		}
		/* cgroup2's cpu controller also accounts. */
		if (s->via[CG_CPU] == CG_VIA_V2)
			s->via[CG_CPUACCT] = CG_VIA_V2;
	}
	return 0;
}

/* ---- the instance ------------------------------------------------------------ */

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
			    off ? " " : "", ctl_names[want[i]]);
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

	if (list[0] == '\0' || write_at(dir, "cgroup.subtree_control",
	    list) == 0)
		return 0;
	if (errno != EBUSY || !may_move)
		return -1;
	if ((leaf = path_join(dir, "supervisor")) == NULL)
		return -1;
	rc = -1;
	if (mkdir_ok(leaf) == 0 && write_at(leaf, "cgroup.procs", "0") == 0) {
		log_info("cgroup: moved this process to %s so that %s can "
		    "delegate controllers", leaf, dir);
		rc = write_at(dir, "cgroup.subtree_control", list);
	}
	pf_free(leaf);
	return rc;
}

/*
 * Kinds of sweep: the cgroup2 tree (kill with cgroup.kill), the first v1
 * hierarchy without cgroup2, another v1 hierarchy (counted once).
 */
#define SWEEP_V2	1
#define SWEEP_V1_FIRST	0
#define SWEEP_V1_MORE	2

/* Kills the members of an attempt directory found at start. */
static void
sweep_kill(const char *dir, int v2)
{
	int	 i;

	if (v2 && write_at(dir, "cgroup.kill", "1") == 0)
		return;
	for (i = 0; i < CG_KILL_PASSES; i++)
		if (procs_each(dir, kill_one, NULL) <= 0)
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

/* Whether an attempt directory was taken over (cg_adopt). */
static int
kept(const struct cg_sys *s, const char *p)
{
	size_t	 i;

	for (i = 0; i < s->nkeep; i++)
		if (s->keep[i] != NULL && strcmp(s->keep[i], p) == 0)
			return 1;
	return 0;
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
}

/*
 * Whether a pf-worker (by its program's path: a task cannot pass for
 * one by its name) is in an attempt directory of a dead instance.
 */
static int
worker_waits(const struct cg_sys *s, const char *dir)
{
	struct exe_find	 f;

	if (s->workers[0] == NULL && s->workers[1] == NULL)
		return 0;
	f.s = s;
	f.found = 0;
	(void)procs_each(dir, exe_one, &f);
	return f.found;
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
		if ((p = path_join(inst, de->d_name)) == NULL)
			continue;
		if (kept(s, p)) {
			log_info("cgroup: keeping %s: its task was taken over",
			    p);
			pf_free(p);
			nkept++;
			continue;
		}
		if (worker_waits(s, p)) {
			log_info("cgroup: keeping %s: its pf-worker waits for "
			    "its supervisor to re-attach", p);
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

/*
 * An instance this very process made before it exec'd itself again
 * (picoflow daemon restart): same pid and start time, another number.
 */
static int
own_earlier(const struct cg_sys *s, const char *name)
{
	size_t	 n = strlen(s->prefix);

	return strncmp(name, s->prefix, n) == 0 && name[n] == '.' &&
	    strcmp(name, s->inst) != 0;
}

/* The leftovers under root (base/name): instances whose owner is gone. */
static void
sweep(struct cg_sys *s, const char *root, int kind, int64_t *budget)
{
	DIR		*d;
	struct dirent	*de;
	char		*p;

	if ((d = opendir(root)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.' ||
		    strcmp(de->d_name, s->inst) == 0 ||
		    (!own_earlier(s, de->d_name) && inst_alive(de->d_name)))
			continue;
		if ((p = path_join(root, de->d_name)) == NULL)
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
		if ((p = path_join(root, name)) == NULL)
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
static void
setup(struct cg_sys *s)
{
	unsigned long long st;
	char		 list[64], *root;
	int		 fixed = -1;
	size_t		 h;

	if (start_time(getpid(), &st) == -1)
		st = 0;
	snprintf(s->prefix, sizeof(s->prefix), "%ld.%llu", (long)getpid(),
	    st);

	if (s->v2base != NULL) {
		v2_ctl_list(s, list, sizeof(list));
		if ((root = path_join(s->v2base, s->name)) == NULL ||
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
				s->v2kill = exists_at(s->v2inst,
				    "cgroup.kill");
				s->v2freeze = exists_at(s->v2inst,
				    "cgroup.freeze");
				s->swapmax = s->via[CG_MEMORY] == CG_VIA_V2 &&
				    exists_at(s->v2inst, "memory.swap.max");
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
		root = path_join(s->hier[h].base, s->name);
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
		s->memsw = exists_at(s->hier[s->hidx[CG_MEMORY]].inst,
		    "memory.memsw.limit_in_bytes");
}

/* ---- public: the manager ----------------------------------------------------- */

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
	sweep(s, root, kind, budget);
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
			    "%s%s", o1 ? ", " : "", ctl_names[c]);
		else if (s->via[c] == CG_VIA_NONE)
			om += (size_t)snprintf(miss + om, sizeof(miss) - om,
			    "%s%s", om ? ", " : "", ctl_names[c]);
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
	for (c = 0; c < 2; c++)
		if (o->workers[c] != NULL &&
		    (s->workers[c] = realpath(o->workers[c], NULL)) != NULL) {
			/* realpath's malloc: ours must be pf_free'd. */
			char	*w = pf_strdup(s->workers[c]);

			free(s->workers[c]);
			s->workers[c] = w;
		}
	if (!o->force_none && detect(s, o) == 0 && !o->detect_only) {
		setup(s);
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
		s->v2inst = path_join(s->v2base, s->name);
		/*
		 * What an instance would have: the root <base>/<name> when a
		 * PicoFlow made it already, else our own cgroup (a root
		 * cgroup has neither file, so this may say less than a real
		 * start finds).
		 */
		if (s->v2inst != NULL && (s->v2kill = exists_at(s->v2inst,
		    "cgroup.kill")) == 0)
			s->v2kill = exists_at(s->v2base, "cgroup.kill");
		if (s->v2inst != NULL && (s->v2freeze = exists_at(s->v2inst,
		    "cgroup.freeze")) == 0)
			s->v2freeze = exists_at(s->v2base, "cgroup.freeze");
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

/* ---- public: one attempt ------------------------------------------------------ */

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
	return write_at(dir, file, buf);
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
		if (write_at(g->v2, "cpu.max", buf) == -1)
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

/*
 * The instance directory of a predecessor goes with its last attempt
 * taken over (a busy or non-empty one stays for the next sweep).
 */
static void
rmdir_with_parent(struct cg *g, char **dir)
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

static void
attempt_rmdirs(struct cg *g)
{
	size_t	 h;

	if (g->adopted)
		unkeep(g);
	if (g->v2 != NULL)
		rmdir_with_parent(g, &g->v2);
	for (h = 0; h < g->sys->nhier; h++)
		if (g->v1[h] != NULL)
			rmdir_with_parent(g, &g->v1[h]);
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
	if (s->v2inst != NULL) {
		at = s->v2inst;
		if ((g->v2 = path_join(s->v2inst, name)) == NULL)
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
		if ((g->v1[h] = path_join(s->hier[h].inst, name)) == NULL)
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
	if (g->v2 != NULL && write_at(g->v2, "cgroup.procs", buf) == -1) {
		pf_err_set(err, "cannot move pid %s into %s: %s", buf, g->v2,
		    strerror(errno));
		return -1;
	}
	for (h = 0; h < g->sys->nhier; h++)
		if (g->v1[h] != NULL && write_at(g->v1[h], "cgroup.procs",
		    buf) == -1) {
			pf_err_set(err, "cannot move pid %s into %s: %s", buf,
			    g->v1[h], strerror(errno));
			return -1;
		}
	return 0;
}

/* Any directory of the attempt that lists its members. */
static const char *
members_dir(const struct cg *g)
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
static const char *
freeze(const struct cg *g, int on)
{
	const char	*d;
	char		 buf[CG_SMALL_FILE];
	int64_t		 v;
	int		 i;

	if (g->v2 != NULL && g->sys->v2freeze) {
		if (write_at(g->v2, "cgroup.freeze", on ? "1" : "0") == -1)
			return NULL;
		/* Freezing is asynchronous; a short spin, never a sleep. */
		for (i = 0; on && i < CG_FREEZE_SPINS; i++) {
			if (read_at(g->v2, "cgroup.events", buf,
			    sizeof(buf)) > 0 && cg_kv_get(buf, "frozen",
			    &v) == 0 && v == 1)
				break;
			sched_yield();
		}
		return g->v2;
	}
	if ((d = v1dir(g, CG_FREEZER)) == NULL)
		return NULL;
	if (write_at(d, "freezer.state", on ? "FROZEN" : "THAWED") == -1)
		return NULL;
	for (i = 0; on && i < CG_FREEZE_SPINS; i++) {
		if (read_at(d, "freezer.state", buf, sizeof(buf)) > 0 &&
		    strncmp(buf, "FROZEN", 6) == 0)
			break;
		sched_yield();
	}
	return d;
}

int
cg_kill(struct cg *g)
{
	const char	*d = members_dir(g);
	long		 n = 0, total = 0;
	int		 i, frozen;

	if (d == NULL)
		return 0;
	if (g->v2 != NULL && g->sys->v2kill) {
		if (write_at(g->v2, "cgroup.kill", "1") == 0)
			return 0;
		log_warn("cgroup: %s/cgroup.kill", g->v2);
	}
	/* Frozen members cannot fork while we list and kill them. */
	frozen = freeze(g, 1) != NULL;
	for (i = 0; i < CG_KILL_PASSES; i++) {
		if ((n = procs_each(d, kill_one, NULL)) == -1)
			break;
		total += n;
		/* Killed members stay listed while frozen: one pass is all. */
		if (n == 0 || frozen)
			break;
	}
	if (frozen)
		(void)freeze(g, 0);
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

	if (g->v2 != NULL && read_at(g->v2, "cgroup.events", buf,
	    sizeof(buf)) > 0 && cg_kv_get(buf, "populated", &v) == 0)
		return v == 0;
	if ((d = members_dir(g)) == NULL)
		return 1;
	if ((n = procs_each(d, NULL, NULL)) == -1)
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
		u->memory_peak = read_int_at(g->v2, "memory.peak");
		u->oom_kills = read_kv_at(g->v2, "memory.events", "oom_kill");
	} else if ((d = v1dir(g, CG_MEMORY)) != NULL) {
		u->memory_peak = read_int_at(d, "memory.max_usage_in_bytes");
		u->oom_kills = read_kv_at(d, "memory.oom_control", "oom_kill");
	}
	if (s->via[CG_PIDS] == CG_VIA_V2) {
		u->pids_peak = read_int_at(g->v2, "pids.peak");
		u->pids_denied = read_kv_at(g->v2, "pids.events", "max");
	} else if ((d = v1dir(g, CG_PIDS)) != NULL) {
		u->pids_peak = read_int_at(d, "pids.peak");
		u->pids_denied = read_kv_at(d, "pids.events", "max");
	}
	if (g->v2 != NULL) {
		/* cgroup2's cpu.stat has the usage even without controllers. */
		u->cpu_us = read_kv_at(g->v2, "cpu.stat", "usage_usec");
		u->cpu_user_us = read_kv_at(g->v2, "cpu.stat", "user_usec");
		u->cpu_sys_us = read_kv_at(g->v2, "cpu.stat", "system_usec");
		if (s->via[CG_CPU] == CG_VIA_V2) {
			u->nr_throttled = read_kv_at(g->v2, "cpu.stat",
			    "nr_throttled");
			u->throttled_us = read_kv_at(g->v2, "cpu.stat",
			    "throttled_usec");
		}
	}
	if (u->cpu_us < 0 && (d = v1dir(g, CG_CPUACCT)) != NULL) {
		if ((v = read_int_at(d, "cpuacct.usage")) >= 0)
			u->cpu_us = v / 1000;
		if ((v = read_int_at(d, "cpuacct.usage_user")) >= 0)
			u->cpu_user_us = v / 1000;
		if ((v = read_int_at(d, "cpuacct.usage_sys")) >= 0)
			u->cpu_sys_us = v / 1000;
	}
	if ((d = v1dir(g, CG_CPU)) != NULL) {
		u->nr_throttled = read_kv_at(d, "cpu.stat", "nr_throttled");
		if ((v = read_kv_at(d, "cpu.stat", "throttled_time")) >= 0)
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
		unkeep(g);
	pf_free(g->v2);
	for (h = 0; h < CG_NCTL; h++)
		pf_free(g->v1[h]);
	pf_free(g);
}

const char *
cg_path(const struct cg *g)
{
	const char	*d = members_dir(g);

	return d != NULL ? d : "";
}

/* ---- public: an attempt taken over from a predecessor -------------------------- */

static void
unkeep(struct cg *g)
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
		    (ip = path_join(root, de->d_name)) == NULL)
			continue;
		if ((d2 = opendir(ip)) == NULL) {
			pf_free(ip);
			continue;
		}
		while ((de2 = readdir(d2)) != NULL) {
			if (de2->d_type != DT_DIR || de2->d_name[0] == '.' ||
			    (ap = path_join(ip, de2->d_name)) == NULL)
				continue;
			f.pid = pid;
			f.found = 0;
			if (procs_each(ap, find_one, &f) > 0 && f.found) {
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
	if (members_dir(g) == NULL) {
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
