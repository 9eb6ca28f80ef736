#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <nss.h>
#include <pwd.h>
#include <seccomp.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "picoflow/landlock.h"
#include "confine.h"

/* Only stdin (the request), stdout (the reply) and stderr stay open. */
static int
confine_fds(struct pf_err *err)
{
	if (close_range(3, ~0U, 0) == -1) {
		pf_err_set(err, "close_range: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static int
set_rlimit(int res, rlim_t v, const char *name, struct pf_err *err)
{
	struct rlimit	 rl;

	if (getrlimit(res, &rl) == 0 && rl.rlim_max != RLIM_INFINITY &&
	    rl.rlim_max < v)
		v = rl.rlim_max;	/* hard limits only go down */
	rl.rlim_cur = rl.rlim_max = v;
	if (setrlimit(res, &rl) == -1) {
		pf_err_set(err, "setrlimit %s: %s", name, strerror(errno));
		return -1;
	}
	return 0;
}

static int
confine_rlimits(struct pf_err *err)
{
	if (set_rlimit(RLIMIT_CORE, 0, "core", err) == -1 ||
	    set_rlimit(RLIMIT_FSIZE, 0, "fsize", err) == -1 ||
	    set_rlimit(RLIMIT_NOFILE, 16, "nofile", err) == -1 ||
	    set_rlimit(RLIMIT_CPU, CONFINE_CPU_S, "cpu", err) == -1)
		return -1;
#if !defined(__SANITIZE_ADDRESS__)
	/* ASan reserves terabytes of shadow; a plain build gets its ceiling. */
	if (set_rlimit(RLIMIT_AS, CONFINE_MEM_MAX, "as", err) == -1)
		return -1;
#endif
	return 0;
}

/*
 * run_as checks resolve user and group names (runas_is_root).  Only
 * the files service answers them here: other services (systemd, sss,
 * ldap) load modules, open sockets and walk directories, none of which
 * the filter allows.  root, and the groups that matter, live in
 * /etc/passwd and /etc/group; the worker resolves run_as again, with
 * every service, when a task starts.  A lookup of a name nobody has
 * settles glibc's configuration now, while that is still allowed.
 */
static void
confine_nss(void)
{
	(void)__nss_configure_lookup("passwd", "files");
	(void)__nss_configure_lookup("group", "files");
	(void)__nss_configure_lookup("initgroups", "files");
	(void)getpwnam("pf-loader-no-such-user");
	(void)getgrnam("pf-loader-no-such-group");
}

/* As root: nobody, no groups.  As anyone else: stay who we are. */
static int
confine_user(struct pf_err *err)
{
	struct passwd	*pw;
	uid_t		 uid = 65534;
	gid_t		 gid = 65534;

	if (geteuid() != 0 && getuid() != 0)
		goto dumpable;
	if ((pw = getpwnam("nobody")) != NULL) {
		uid = pw->pw_uid;
		gid = pw->pw_gid;
	}
	if (uid == 0 || gid == 0) {
		pf_err_set(err, "user nobody is root here; refusing to parse");
		return -1;
	}
	if (setgroups(0, NULL) == -1 || setresgid(gid, gid, gid) == -1 ||
	    setresuid(uid, uid, uid) == -1) {
		pf_err_set(err, "cannot become nobody: %s", strerror(errno));
		return -1;
	}
	if (setuid(0) != -1 || geteuid() == 0) {
		pf_err_set(err, "could regain root after dropping it");
		return -1;
	}
dumpable:
	/*
	 * Tasks run as nobody too: a non-dumpable process cannot be traced
	 * or have its memory read by them.
	 */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1) {
		pf_err_set(err, "PR_SET_DUMPABLE: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static int
confine_nnp(struct pf_err *err)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1) {
		pf_err_set(err, "PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* What the loader may still read: the two name databases and zoneinfo. */
static const struct {
	const char	*path;
	uint64_t	 rights;
} readable[] = {
	{ "/etc/passwd", LL_READ_FILE },
	{ "/etc/group", LL_READ_FILE },
	{ "/usr/share/zoneinfo", LL_READ_FILE | LL_READ_DIR },
};

/*
 * The read-only opens the filter allows, narrowed to those paths.  A
 * kernel without Landlock keeps the rest (nobody, the filter); a path
 * that does not exist is simply not readable.
 */
static int
confine_landlock(struct pf_err *err)
{
	struct ll_ruleset_attr		 ra;
	struct ll_path_beneath_attr	 pb;
	size_t				 i;
	int				 rs, fd;

	if (syscall(SYS_landlock_create_ruleset, NULL, 0,
	    LL_CREATE_RULESET_VERSION) < 1)
		return 0;
	memset(&ra, 0, sizeof(ra));
	ra.handled_access_fs = LL_ABI1_ALL;
	/* ABI 1's part of the structure: every kernel with Landlock has it. */
	if ((rs = (int)syscall(SYS_landlock_create_ruleset, &ra,
	    sizeof(ra.handled_access_fs), 0)) == -1) {
		pf_err_set(err, "landlock: %s", strerror(errno));
		return -1;
	}
	for (i = 0; i < sizeof(readable) / sizeof(readable[0]); i++) {
		if ((fd = open(readable[i].path, O_PATH | O_CLOEXEC)) == -1)
			continue;
		pb.allowed_access = readable[i].rights;
		pb.parent_fd = fd;
		if (syscall(SYS_landlock_add_rule, rs, LL_RULE_PATH_BENEATH,
		    &pb, 0) == -1) {
			pf_err_set(err, "landlock rule for %s: %s",
			    readable[i].path, strerror(errno));
			close(fd);
			close(rs);
			return -1;
		}
		close(fd);
	}
	if (syscall(SYS_landlock_restrict_self, rs, 0) == -1) {
		pf_err_set(err, "landlock: %s", strerror(errno));
		close(rs);
		return -1;
	}
	close(rs);
	return 0;
}

/* Syscalls allowed as they are. */
static const int allowed[] = {
	SCMP_SYS(read), SCMP_SYS(close), SCMP_SYS(exit),
	SCMP_SYS(exit_group), SCMP_SYS(brk), SCMP_SYS(munmap),
	SCMP_SYS(mremap), SCMP_SYS(madvise), SCMP_SYS(fstat),
	SCMP_SYS(newfstatat), SCMP_SYS(lseek), SCMP_SYS(rt_sigreturn),
	SCMP_SYS(rt_sigprocmask), SCMP_SYS(clock_gettime),
	SCMP_SYS(gettimeofday), SCMP_SYS(futex), SCMP_SYS(getrandom),
	SCMP_SYS(getpid), SCMP_SYS(gettid), SCMP_SYS(tgkill),
};

/*
 * Flags an open may not carry: writing, creating, truncating.  What is
 * left is a read-only open, by nobody, which Landlock narrows to the
 * name service files and zoneinfo.
 */
#define OPEN_WRITE_FLAGS	(O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | \
				 O_APPEND | O_TMPFILE)

static int
confine_seccomp(struct pf_err *err)
{
	scmp_filter_ctx	 ctx;
	size_t		 i;
	int		 rc = 0;

	if ((ctx = seccomp_init(SCMP_ACT_KILL_PROCESS)) == NULL) {
		pf_err_set(err, "seccomp_init failed");
		return -1;
	}
	for (i = 0; i < sizeof(allowed) / sizeof(allowed[0]) && rc == 0; i++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed[i], 0);
	/* The reply on stdout; stderr is /dev/null (libc's last words). */
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(write), 1,
		    SCMP_A0(SCMP_CMP_LE, 2));
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(writev), 1,
		    SCMP_A0(SCMP_CMP_EQ, 2));
	/* Memory, never executable. */
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
		    SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect),
		    1, SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(openat), 1,
		    SCMP_A2(SCMP_CMP_MASKED_EQ, OPEN_WRITE_FLAGS, 0));
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(open), 1,
		    SCMP_A1(SCMP_CMP_MASKED_EQ, OPEN_WRITE_FLAGS, 0));
#if defined(__SANITIZE_ADDRESS__)
	/* The sanitizer runtime names its mappings and swaps signal stacks. */
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1,
		    SCMP_A0(SCMP_CMP_EQ, 0x53564d41));	/* PR_SET_VMA */
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW,
		    SCMP_SYS(sigaltstack), 0);
#endif
	/* glibc asks nscd through a socket first: say no, do not kill. */
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES),
		    SCMP_SYS(socket), 0);
	if (rc == 0)
		rc = seccomp_load(ctx);
	seccomp_release(ctx);
	if (rc != 0) {
		pf_err_set(err, "seccomp: %s", strerror(-rc));
		return -1;
	}
	return 0;
}

int
confine_all(struct pf_err *err)
{
	if (confine_fds(err) == -1 || confine_rlimits(err) == -1)
		return -1;
	confine_nss();
	if (confine_user(err) == -1 || confine_nnp(err) == -1 ||
	    confine_landlock(err) == -1 || confine_seccomp(err) == -1)
		return -1;
	return 0;
}
