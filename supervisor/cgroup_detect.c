/*
 * The cgroup manager's detection: the cgroup2 and v1 mounts from
 * /proc/self/mountinfo, our own cgroup in each, and which controllers we
 * may use through which hierarchy.
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

const char *const cg_ctl_names[CG_NCTL] = {
	"memory", "pids", "cpu", "cpuacct", "freezer",
};

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
	if ((n = cg_read_at("", path, buf, max)) < 0) {
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
int
cg_detect(struct cg_sys *s, const struct cg_opts *o)
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
			    cg_ctl_names[c]))
				continue;
			if ((own = own_path(self, cg_ctl_names[c], &olen)) ==
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
	if (s->v2base != NULL && cg_read_at(s->v2base, "cgroup.controllers",
	    ctlbuf, sizeof(ctlbuf)) >= 0) {
		for (c = 0; c < CG_NCTL; c++) {
			if (c == CG_CPUACCT || c == CG_FREEZER)
				continue;
			if (has_word(ctlbuf, strlen(ctlbuf), cg_ctl_names[c]))
				s->via[c] = CG_VIA_V2;
		}
		/* cgroup2's cpu controller also accounts. */
		if (s->via[CG_CPU] == CG_VIA_V2)
			s->via[CG_CPUACCT] = CG_VIA_V2;
	}
	return 0;
}
