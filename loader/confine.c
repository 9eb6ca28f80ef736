#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <seccomp.h>
#include <string.h>
#include <unistd.h>

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
 * run_as checks resolve user and group names (policy_is_root) and
 * timezones are read from the zoneinfo files.  Looking a name up once
 * now makes glibc read nsswitch.conf and load any service module while
 * that is still allowed; later lookups only open the databases.
 */
static void
confine_nss_warm(void)
{
	(void)getpwnam("root");
	(void)getgrnam("root");
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
 * left is a read-only open, by nobody, of the name service files and
 * zoneinfo (anything else nobody can read holds nothing the loader
 * could use: it has no way to send data but its reply to the parent).
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
	confine_nss_warm();
	if (confine_user(err) == -1 || confine_nnp(err) == -1 ||
	    confine_seccomp(err) == -1)
		return -1;
	return 0;
}
