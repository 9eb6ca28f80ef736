/*
 * Privileged groups (see privgroup.h): the built-in list, its resolution
 * to gids on this host, and the check of a run_as against it.  Groups are
 * judged by gid, so another name for the same gid (groupadd -o) or a
 * numeric id is caught as well as the name itself.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "picoflow/alloc.h"
#include "picoflow/err.h"
#include "picoflow/privgroup.h"
#include "picoflow/workflow.h"

/*
 * Debian's groups (and a few common elsewhere) whose members can do more
 * than an ordinary user: read secrets, write what root or other users
 * trust, reach hardware, or become root.  docs/security.md copies this.
 */
const struct privgroup_entry privgroup_builtin[] = {
	{ "root", "gid 0: root's group, owner of most system files" },
	{ "shadow", "reads /etc/shadow and /etc/gshadow, the password "
	    "hashes" },
	{ "disk", "reads and writes raw disks, so every file system" },
	{ "kmem", "reads /dev/mem and /dev/port, the memory of the kernel "
	    "and of every process" },
	{ "sudo", "becomes root through sudo" },
	{ "wheel", "becomes root through su or sudo" },
	{ "admin", "becomes root through sudo (older Ubuntu)" },
	{ "adm", "reads the system logs in /var/log" },
	{ "systemd-journal", "reads the whole system journal" },
	{ "docker", "drives the Docker daemon: root on the host" },
	{ "lxd", "drives LXD: root on the host" },
	{ "incus-admin", "drives Incus: root on the host" },
	{ "libvirt", "drives libvirt: root on the host through its "
	    "machines" },
	{ "kvm", "opens /dev/kvm, a large kernel interface" },
	{ "staff", "writes /usr/local, whose programs root runs" },
	{ "src", "writes /usr/src, whose code root builds" },
	{ "tty", "writes to every terminal, other users' sessions among "
	    "them" },
	{ "utmp", "rewrites the login records (utmp, wtmp)" },
	{ "ssl-cert", "reads /etc/ssl/private, the TLS private keys" },
	{ "crontab", "writes cron's spool in /var/spool/cron" },
	{ "mail", "reads every mailbox in /var/mail" },
	{ "input", "reads keyboards and mice: every keystroke" },
	{ "video", "reads the screen and the cameras" },
	{ "audio", "records from the microphones" },
	{ "dialout", "drives serial ports: consoles and modems on the "
	    "other end" },
	{ "gpio", "drives the GPIO pins (Raspberry Pi)" },
	{ "i2c", "drives the I2C buses (Raspberry Pi)" },
	{ "spi", "drives the SPI buses (Raspberry Pi)" },
	{ "tss", "uses the TPM, its keys and sealed secrets" },
	{ "wireshark", "captures every packet on every interface" },
};
const size_t privgroup_nbuiltin = sizeof(privgroup_builtin) /
    sizeof(privgroup_builtin[0]);

#define WHY_POLICY	"listed in the policy's privileged_groups"

/* A numeric id: decimal digits only, at most 2^31 - 1; -1 otherwise. */
static long
numeric_id(const char *s, size_t n)
{
	long	 v = 0;
	size_t	 i;

	if (n == 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9' || v > (INT32_MAX - 9) / 10)
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

const struct privgroup_entry *
privgroup_builtin_find(const char *name)
{
	size_t	 i;

	for (i = 0; i < privgroup_nbuiltin; i++)
		if (strcmp(privgroup_builtin[i].name, name) == 0)
			return &privgroup_builtin[i];
	return NULL;
}

static int
in_list(char *const *v, size_t n, const char *s)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (v[i] != NULL && strcmp(v[i], s) == 0)
			return 1;
	return 0;
}

static int
set_add(struct privgroup_set *s, size_t *cap, gid_t gid, const char *name,
    const char *why)
{
	struct privgroup_gid *nv;
	size_t		 ncap;

	if (s->n == *cap) {
		ncap = *cap ? 2 * *cap : 16;
		if ((nv = pf_reallocarray(s->v, ncap, sizeof(*nv))) == NULL)
			return -1;
		s->v = nv;
		*cap = ncap;
	}
	s->v[s->n].gid = gid;
	s->v[s->n].name = name;
	s->v[s->n].why = why;
	s->n++;
	return 0;
}

/* One line "name:password:gid:members" of the group file. */
static int
group_line(const char *l, size_t n, struct privgroup_set *s, size_t *cap,
    char *const *extra, size_t nextra, char *const *removed,
    size_t nremoved)
{
	const char	*c1, *c2, *c3;
	char		 name[64];
	size_t		 nl, i;
	long		 gid;

	/* NIS compat entries (+name, -name) and comments are not groups. */
	if (n == 0 || l[0] == '+' || l[0] == '-' || l[0] == '#')
		return 0;
	if ((c1 = memchr(l, ':', n)) == NULL || (c2 = memchr(c1 + 1, ':',
	    n - (size_t)(c1 + 1 - l))) == NULL)
		return 0;
	if ((c3 = memchr(c2 + 1, ':', n - (size_t)(c2 + 1 - l))) == NULL)
		c3 = l + n;
	nl = (size_t)(c1 - l);
	if (nl == 0 || nl >= sizeof(name) ||
	    (gid = numeric_id(c2 + 1, (size_t)(c3 - c2 - 1))) < 0)
		return 0;
	memcpy(name, l, nl);
	name[nl] = '\0';
	for (i = 1; i < privgroup_nbuiltin; i++)
		if (strcmp(name, privgroup_builtin[i].name) == 0 &&
		    !in_list(removed, nremoved, name) && set_add(s, cap,
		    (gid_t)gid, privgroup_builtin[i].name,
		    privgroup_builtin[i].why) == -1)
			return -1;
	for (i = 0; i < nextra; i++)
		if (extra[i] != NULL && strcmp(name, extra[i]) == 0 &&
		    set_add(s, cap, (gid_t)gid, extra[i], WHY_POLICY) == -1)
			return -1;
	return 0;
}

/*
 * The group file, read line by line through a small buffer: glibc's
 * getgrent() walks every NSS module (nss-systemd among them) and costs
 * a hundred microseconds or more per attempt; this costs a few.  A line
 * longer than the buffer (a group with very many members) still has its
 * name and gid at the start; the rest of it is skipped.
 */
static int
group_file(const char *path, struct privgroup_set *s, size_t *cap,
    char *const *extra, size_t nextra, char *const *removed,
    size_t nremoved, struct pf_err *err)
{
	char		 buf[4096], *nl;
	size_t		 have = 0, off;
	ssize_t		 r;
	int		 fd, skipping = 0;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			return 0;
		pf_err_set(err, "%s: %s", path, strerror(errno));
		return -1;
	}
	for (;;) {
		r = read(fd, buf + have, sizeof(buf) - have);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			pf_err_set(err, "%s: %s", path, strerror(errno));
			(void)close(fd);
			return -1;
		}
		have += (size_t)r;
		off = 0;
		while ((nl = memchr(buf + off, '\n', have - off)) != NULL) {
			if (!skipping && group_line(buf + off, (size_t)(nl -
			    buf - off), s, cap, extra, nextra, removed,
			    nremoved) == -1)
				goto oom;
			skipping = 0;
			off = (size_t)(nl - buf) + 1;
		}
		if (r == 0) {
			/* The last line, without its newline. */
			if (!skipping && have > off && group_line(buf + off,
			    have - off, s, cap, extra, nextra, removed,
			    nremoved) == -1)
				goto oom;
			break;
		}
		if (off == 0 && have == sizeof(buf)) {
			/* One long line: judge its start, skip the rest. */
			if (!skipping && group_line(buf, have, s, cap, extra,
			    nextra, removed, nremoved) == -1)
				goto oom;
			skipping = 1;
			have = 0;
			continue;
		}
		memmove(buf, buf + off, have - off);
		have -= off;
	}
	(void)close(fd);
	return 0;
oom:
	(void)close(fd);
	pf_err_set(err, "out of memory listing the privileged groups");
	errno = ENOMEM;
	return -1;
}

int
privgroup_set_load_from(struct privgroup_set *s, const char *group_file_path,
    char *const *extra, size_t nextra, char *const *removed,
    size_t nremoved, struct pf_err *err)
{
	size_t		 cap = 0, i;
	long		 id;

	s->v = NULL;
	s->n = 0;
	if (set_add(s, &cap, 0, privgroup_builtin[0].name,
	    privgroup_builtin[0].why) == -1)
		goto oom;
	for (i = 0; i < nextra; i++)
		if (extra[i] != NULL && (id = numeric_id(extra[i],
		    strlen(extra[i]))) >= 0 && set_add(s, &cap, (gid_t)id,
		    extra[i], WHY_POLICY) == -1)
			goto oom;
	if (group_file(group_file_path, s, &cap, extra, nextra, removed,
	    nremoved, err) == -1) {
		privgroup_set_free(s);
		return -1;
	}
	return 0;
oom:
	privgroup_set_free(s);
	pf_err_set(err, "out of memory listing the privileged groups");
	errno = ENOMEM;
	return -1;
}

int
privgroup_set_load(struct privgroup_set *s, char *const *extra,
    size_t nextra, char *const *removed, size_t nremoved,
    struct pf_err *err)
{
	return privgroup_set_load_from(s, PRIVGROUP_GROUP_FILE, extra, nextra,
	    removed, nremoved, err);
}

void
privgroup_set_free(struct privgroup_set *s)
{
	pf_free(s->v);
	s->v = NULL;
	s->n = 0;
}

const struct privgroup_gid *
privgroup_find(const struct privgroup_set *s, gid_t gid)
{
	size_t	 i;

	for (i = 0; i < s->n; i++)
		if (s->v[i].gid == gid)
			return &s->v[i];
	return NULL;
}

int
privgroup_run_as_ok(const char *s, int star)
{
	const char	*c = strchr(s, ':'), *g, *e;
	size_t		 n = 0;

	if (strlen(s) > PRIVGROUP_RUN_AS_MAX)
		return 0;
	if (c == NULL)
		return workflow_user_part_ok(s, strlen(s));
	if (!workflow_user_part_ok(s, (size_t)(c - s)))
		return 0;
	if (star && strcmp(c + 1, "*") == 0)
		return 1;
	for (g = c + 1;; g = e + 1, n++) {
		e = g + strcspn(g, ",");
		if (!workflow_user_part_ok(g, (size_t)(e - g)) ||
		    n > PRIVGROUP_SUPP_MAX)
			return 0;
		if (*e == '\0')
			return 1;
	}
}

/* A group name or numeric id, n bytes at s: 0 and *gid, else -1. */
static int
group_id(const char *s, size_t n, gid_t *gid)
{
	char		 name[64];
	struct group	*gr;
	long		 id;

	if (n == 0 || n >= sizeof(name))
		return -1;
	memcpy(name, s, n);
	name[n] = '\0';
	if ((gr = getgrnam(name)) != NULL) {
		*gid = gr->gr_gid;
		return 0;
	}
	if ((id = numeric_id(s, n)) >= 0) {
		*gid = (gid_t)id;
		return 0;
	}
	return -1;
}

int
privgroup_resolve(const char *run_as, struct privgroup_ids *ids, char *why,
    size_t len)
{
	const char	*colon = strchr(run_as, ':'), *g, *e;
	size_t		 n = colon ? (size_t)(colon - run_as) : strlen(run_as);
	char		 user[64];
	struct passwd	*pw;
	gid_t		 gid;
	long		 id;

	memset(ids, 0, sizeof(*ids));
	if (n == 0 || n >= sizeof(user) || !privgroup_run_as_ok(run_as, 0)) {
		(void)snprintf(why, len, "'%s' is not a user, user:group or "
		    "user:group,group,... (names or numeric ids)", run_as);
		return -1;
	}
	memcpy(user, run_as, n);
	user[n] = '\0';
	id = numeric_id(user, n);
	errno = 0;
	if ((pw = getpwnam(user)) == NULL && id >= 0)
		pw = getpwuid((uid_t)id);
	if (pw != NULL) {
		ids->uid = pw->pw_uid;
		ids->gid = pw->pw_gid;
		ids->named = 1;
	} else if (id >= 0) {
		ids->uid = (uid_t)id;
		ids->gid = (gid_t)id;
	} else {
		(void)snprintf(why, len, "no user '%s' on this host", user);
		return -1;
	}
	if (colon == NULL)
		return 0;
	ids->gid_given = 1;
	for (g = colon + 1;; g = e + 1) {
		e = g + strcspn(g, ",");
		if (group_id(g, (size_t)(e - g), &gid) == -1) {
			(void)snprintf(why, len, "no group '%.*s' on this "
			    "host", (int)(e - g), g);
			return -1;
		}
		if (g == colon + 1)
			ids->gid = gid;
		else if (ids->nsupp < PRIVGROUP_SUPP_MAX)
			ids->supp[ids->nsupp++] = gid;
		if (*e == '\0')
			return 0;
	}
}

/* Why gid, shown as `shown` (n bytes), is privileged; 1, or 0 if not. */
static int
judge(const struct privgroup_set *s, gid_t gid, const char *shown, size_t n,
    const char *user, char *why, size_t len)
{
	const struct privgroup_gid *p;

	if ((p = privgroup_find(s, gid)) == NULL)
		return 0;
	if (user != NULL)
		(void)snprintf(why, len, "user '%s' has primary group '%s' "
		    "(gid %lu), which is privileged (%s)", user, p->name,
		    (unsigned long)gid, p->why);
	else if (strlen(p->name) == n && memcmp(p->name, shown, n) == 0)
		(void)snprintf(why, len, "group '%s' is privileged (%s)",
		    p->name, p->why);
	else
		(void)snprintf(why, len, "group '%.*s' is privileged (gid "
		    "%lu, that of '%s': %s)", (int)n, shown,
		    (unsigned long)gid, p->name, p->why);
	return 1;
}

int
privgroup_check_ids(const struct privgroup_set *s,
    const struct privgroup_ids *ids, const char *run_as, char *why,
    size_t len)
{
	const char	*colon = strchr(run_as, ':'), *g, *e;
	size_t		 i, un = colon ? (size_t)(colon - run_as) :
			    strlen(run_as);
	char		 user[64];

	if (un >= sizeof(user))
		un = sizeof(user) - 1;
	memcpy(user, run_as, un);
	user[un] = '\0';
	if (!ids->gid_given || colon == NULL)
		return judge(s, ids->gid, NULL, 0, user, why, len);
	g = colon + 1;
	e = g + strcspn(g, ",");
	if (judge(s, ids->gid, g, (size_t)(e - g), NULL, why, len))
		return 1;
	for (i = 0; i < ids->nsupp && *e != '\0'; i++) {
		g = e + 1;
		e = g + strcspn(g, ",");
		if (judge(s, ids->supp[i], g, (size_t)(e - g), NULL, why,
		    len))
			return 1;
	}
	return 0;
}

int
privgroup_check(const struct privgroup_set *s, const char *run_as,
    char *why, size_t len)
{
	const char	*colon = strchr(run_as, ':'), *g, *e;
	size_t		 n = colon ? (size_t)(colon - run_as) : strlen(run_as);
	char		 user[64];
	struct passwd	*pw;
	gid_t		 gid;
	long		 id;

	if (n == 0 || n >= sizeof(user))
		return 0;
	memcpy(user, run_as, n);
	user[n] = '\0';
	if (colon == NULL) {
		/* The user's own group; unknown users are judged at run. */
		id = numeric_id(user, n);
		if ((pw = getpwnam(user)) == NULL && id >= 0)
			pw = getpwuid((uid_t)id);
		if (pw != NULL)
			return judge(s, pw->pw_gid, NULL, 0, user, why, len);
		return id >= 0 ? judge(s, (gid_t)id, NULL, 0, user, why,
		    len) : 0;
	}
	if (strcmp(colon + 1, "*") == 0)
		return 0;
	for (g = colon + 1;; g = e + 1) {
		e = g + strcspn(g, ",");
		if (group_id(g, (size_t)(e - g), &gid) == 0 &&
		    judge(s, gid, g, (size_t)(e - g), NULL, why, len))
			return 1;
		if (*e == '\0')
			return 0;
	}
}
