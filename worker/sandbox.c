/*
 * The worker's sandbox; see sandbox.h for the chain and its order.
 * Network before the ids (a new namespace needs privilege), Landlock
 * after NO_NEW_PRIVS (the kernel requires one or CAP_SYS_ADMIN), seccomp
 * last (it forbids unshare, which the network step uses).
 */
#include <sys/ioctl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>

#include <net/if.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <sched.h>
#include <seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "picoflow/alloc.h"
#include "picoflow/landlock.h"
#include "picoflow/log.h"
#include "picoflow/privgroup.h"
#include "picoflow/readfile.h"
#include "sandbox.h"

/* The memory rlimit in mode none is address space: leave room for it. */
#define SB_AS_MIN	(64LL * 1024 * 1024)

int
sandbox_contained(void)
{
	char	 buf[4096];

	if (readfile_small("/proc/self/cgroup", buf, sizeof(buf)) <= 0)
		return 0;
	return strstr(buf, "/picoflow/") != NULL;
}

static int
set_limit(int res, const char *name, int64_t v, struct pf_err *err)
{
	struct rlimit	 rl;

	if (getrlimit(res, &rl) == -1) {
		pf_err_set(err, "getrlimit %s: %s", name, strerror(errno));
		return -1;
	}
	/* Without CAP_SYS_RESOURCE a hard limit can only go down. */
	if (rl.rlim_max != RLIM_INFINITY && (uint64_t)v > rl.rlim_max)
		v = (int64_t)rl.rlim_max;
	rl.rlim_cur = rl.rlim_max = (rlim_t)v;
	if (setrlimit(res, &rl) == -1) {
		pf_err_set(err, "setrlimit %s %lld: %s", name, (long long)v,
		    strerror(errno));
		return -1;
	}
	return 0;
}

int
sandbox_rlimits(const struct proto_spec *s, int contained,
    struct pf_err *err)
{
	if (s->limits.nofile >= 0 &&
	    set_limit(RLIMIT_NOFILE, "nofile", s->limits.nofile, err) == -1)
		return -1;
	if (contained)
		return 0;
	/* No cgroup: the weaker per-process and per-user stand-ins. */
	if (s->limits.memory >= 0 && set_limit(RLIMIT_AS, "address space",
	    s->limits.memory < SB_AS_MIN ? SB_AS_MIN : s->limits.memory,
	    err) == -1)
		return -1;
	if (s->limits.pids >= 0 && set_limit(RLIMIT_NPROC, "processes",
	    s->limits.pids, err) == -1)
		return -1;
	return 0;
}

/* Brings up lo in the new namespace (down at creation). */
int
sandbox_lo_up(struct pf_err *err)
{
	struct ifreq	 ifr;
	int		 fd;

	if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1) {
		pf_err_set(err, "socket: %s", strerror(errno));
		return -1;
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) == -1 ||
	    (ifr.ifr_flags |= IFF_UP | IFF_RUNNING,
	    ioctl(fd, SIOCSIFFLAGS, &ifr) == -1)) {
		pf_err_set(err, "bringing up lo: %s", strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int
sandbox_network(const struct proto_spec *s, struct pf_err *err)
{
	/* ssh and http are the network; only shell tasks can go without. */
	if (s->network != 0 || s->executor != PROTO_EXEC_SHELL)
		return 0;
	if (unshare(CLONE_NEWNET) == -1) {
		pf_err_set(err, "network: false needs a new network namespace, "
		    "which this host refused (%s); run the supervisor as "
		    "root", strerror(errno));
		return -1;
	}
	return sandbox_lo_up(err);
}

/* A numeric id: decimal digits only, at most 2^31 - 1; -1 otherwise. */
static long
numeric_id(const char *s)
{
	long	 v = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9' || v > (INT32_MAX - 9) / 10)
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v;
}

/*
 * Resolves "user[:group[,group...]]" as the host says now (privgroup.h);
 * 0 or -1 with err.  Numeric ids are taken as they are when the host has
 * no entry for them.
 */
static int
resolve(const char *run_as, struct privgroup_ids *ids, struct pf_err *err)
{
	size_t		 n = strcspn(run_as, ":");
	char		 why[256];

	if (n == 0 || n >= 256) {
		pf_err_set(err, "run_as '%s': bad user name", run_as);
		return -1;
	}
	if (privgroup_resolve(run_as, ids, why, sizeof(why)) == -1) {
		pf_err_set(err, "run_as: %s", why);
		return -1;
	}
	return 0;
}

/*
 * The groups run_as gives must not be privileged, as /etc/group says now
 * (it may have changed since the workflow was loaded), unless the loader
 * found them privileged and the operator allowed it (s->run_as_privileged).
 */
static int
ids_check(const char *run_as, const struct privgroup_ids *ids,
    const struct proto_spec *s, struct pf_err *err)
{
	struct privgroup_set pg;
	char		 why[512];
	int		 priv;

	/*
	 * Root has every group's power anyway, and only runs a task with
	 * the operator's consent, judged before the SPEC was written.
	 */
	if ((s != NULL && s->run_as_privileged) || ids->uid == 0)
		return 0;
	if (privgroup_set_load(&pg, s ? s->privileged_groups : NULL,
	    s ? s->nprivileged_groups : 0, s ? s->unprivileged_groups : NULL,
	    s ? s->nunprivileged_groups : 0, err) == -1)
		return -1;
	priv = privgroup_check_ids(&pg, ids, run_as, why, sizeof(why));
	privgroup_set_free(&pg);
	if (priv) {
		pf_err_set(err, "run_as '%s': %s; refused like root (the group "
		    "database says so now, whatever it said when the workflow "
		    "was loaded)", run_as, why);
		return -1;
	}
	return 0;
}

void
sandbox_home(const char *run_as, char *buf, size_t len)
{
	const struct passwd *pw;
	char		 user[256];
	size_t		 n;

	if (len < 2)
		return;
	pw = NULL;
	if (run_as == NULL || run_as[0] == '\0')
		pw = getpwuid(geteuid());
	else if ((n = strcspn(run_as, ":")) > 0 && n < sizeof(user)) {
		memcpy(user, run_as, n);
		user[n] = '\0';
		if ((pw = getpwnam(user)) == NULL && numeric_id(user) >= 0)
			pw = getpwuid((uid_t)numeric_id(user));
	}
	if (pw == NULL || pw->pw_dir == NULL || pw->pw_dir[0] != '/' ||
	    strlen(pw->pw_dir) >= len)
		(void)snprintf(buf, len, "/");
	else
		(void)snprintf(buf, len, "%s", pw->pw_dir);
}

/*
 * run_as, looked up now and checked against the privileged groups as the
 * group database says now (it may have changed since the workflow was
 * loaded).  The task gets exactly the groups run_as lists (and a known
 * user's primary group): never initgroups, which would bring every
 * membership /etc/group grants the user (postgres's ssl-cert, say).
 */
int
sandbox_ids_resolve(const char *run_as, const struct proto_spec *s,
    struct sandbox_ids *ids, struct pf_err *err)
{
	struct privgroup_ids	 p;
	size_t			 i, ng = 0;

	memset(ids, 0, sizeof(*ids));
	if (run_as == NULL || run_as[0] == '\0')
		return 0;
	if (resolve(run_as, &p, err) == -1 ||
	    ids_check(run_as, &p, s, err) == -1)
		return -1;
	if (geteuid() != 0) {
		if (p.uid == geteuid() && p.gid == getegid())
			return 0;
		pf_err_set(err, "run_as '%s' needs a supervisor running as "
		    "root", run_as);
		return -1;
	}
	if ((ids->groups = pf_reallocarray(NULL, p.nsupp + 1,
	    sizeof(*ids->groups))) == NULL) {
		pf_err_set(err, "run_as '%s': out of memory", run_as);
		return -1;
	}
	if (p.named)
		ids->groups[ng++] = p.gid;
	for (i = 0; i < p.nsupp; i++)
		ids->groups[ng++] = p.supp[i];
	ids->ngroups = ng;
	ids->uid = p.uid;
	ids->gid = p.gid;
	ids->set = 1;
	return 0;
}

void
sandbox_ids_free(struct sandbox_ids *ids)
{
	pf_free(ids->groups);
	ids->groups = NULL;
	ids->ngroups = 0;
}

/*
 * raw: system calls only, for the vfork-style child of the task's init,
 * where only async-signal-safe work is allowed (glibc's wrappers would
 * also act for every thread of a multi-threaded caller, which the child
 * has no business with).
 */
int
sandbox_ids_switch(const struct sandbox_ids *ids, int raw)
{
	int	 rc;

	if (!ids->set)
		return 0;
	if (raw)
		rc = syscall(SYS_setgroups, ids->ngroups, ids->groups) == -1 ||
		    syscall(SYS_setresgid, ids->gid, ids->gid, ids->gid) ==
		    -1 || syscall(SYS_setresuid, ids->uid, ids->uid,
		    ids->uid) == -1;
	else
		rc = setgroups(ids->ngroups, ids->groups) == -1 ||
		    setresgid(ids->gid, ids->gid, ids->gid) == -1 ||
		    setresuid(ids->uid, ids->uid, ids->uid) == -1;
	if (rc)
		return errno;
	/* Paranoia, as OpenBSD's daemons do: root must be gone for good. */
	if (ids->uid != 0 && ((raw ? syscall(SYS_setuid, 0) :
	    setuid(0)) != -1 || geteuid() == 0))
		return SANDBOX_REGAINS_ROOT;
	return 0;
}

/* Resolves, checks and switches in this process. */
static int
ids_apply(const char *run_as, const struct proto_spec *s, struct pf_err *err)
{
	struct sandbox_ids	 ids;
	int			 e;

	if (sandbox_ids_resolve(run_as, s, &ids, err) == -1)
		return -1;
	e = sandbox_ids_switch(&ids, 0);
	sandbox_ids_free(&ids);
	if (e == 0)
		return 0;
	if (e == SANDBOX_REGAINS_ROOT)
		pf_err_set(err, "run_as '%s': could still regain root",
		    run_as);
	else
		pf_err_set(err, "run_as '%s': %s", run_as, strerror(e));
	return -1;
}

int
sandbox_ids(const char *run_as, struct pf_err *err)
{
	return ids_apply(run_as, NULL, err);
}

int
sandbox_ids_spec(const struct proto_spec *s, struct pf_err *err)
{
	return ids_apply(s->run_as, s, err);
}

static int
ll_add(int rs, const char *path, uint64_t rights, uint64_t handled,
    struct pf_err *err)
{
	struct ll_path_beneath_attr	 pb;
	struct stat			 st;
	int				 fd, rc;

	if ((fd = open(path, O_PATH | O_CLOEXEC)) == -1) {
		pf_err_set(err, "sandbox path %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == 0 && !S_ISDIR(st.st_mode))
		rights &= LL_FILE_RIGHTS;
	pb.allowed_access = rights & handled;
	pb.parent_fd = fd;
	rc = (int)syscall(SYS_landlock_add_rule, rs, LL_RULE_PATH_BENEATH,
	    &pb, 0);
	close(fd);
	if (rc == -1) {
		pf_err_set(err, "landlock rule for %s: %s", path,
		    strerror(errno));
		return -1;
	}
	return 0;
}

int
sandbox_landlock(const struct proto_spec *s, int scope, struct pf_err *err)
{
	struct ll_ruleset_attr	 ra;
	uint64_t		 handled;
	size_t			 i, size;
	long			 abi;
	int			 rs, paths;

	paths = s->nread_only > 0 || s->nwritable > 0;
	if (!paths && !scope)
		return 0;
	abi = syscall(SYS_landlock_create_ruleset, NULL, 0,
	    LL_CREATE_RULESET_VERSION);
	if (abi < 1) {
		if (paths)
			log_warnx("sandbox: this kernel has no Landlock; "
			    "read_only and writable are not enforced");
		return 0;
	}
	/* Scoping alone needs ABI 6; without paths there is nothing else. */
	if (!paths && abi < 6)
		return 0;
	memset(&ra, 0, sizeof(ra));
	handled = 0;
	if (paths) {
		handled = (1ULL << 13) - 1;		/* ABI 1 */
		if (abi >= 2)
			handled |= 1ULL << 13;		/* REFER */
		if (abi >= 3)
			handled |= LL_TRUNCATE;
		if (abi >= 5)
			handled |= LL_IOCTL_DEV;
	}
	ra.handled_access_fs = handled;
	size = sizeof(ra.handled_access_fs);
	if (scope && abi >= 6) {
		/*
		 * Defense in depth behind the PID namespace: no signal and
		 * no abstract unix socket outside this attempt's domain.
		 */
		ra.scoped = LL_SCOPE_SIGNAL | LL_SCOPE_ABSTRACT_UNIX;
		size = sizeof(ra);
	}
	if ((rs = (int)syscall(SYS_landlock_create_ruleset, &ra, size,
	    0)) == -1) {
		pf_err_set(err, "landlock: %s", strerror(errno));
		return -1;
	}
	if (!paths)
		goto apply;
	/* Only writable given: everything else stays readable. */
	if (s->nread_only == 0 && ll_add(rs, "/", LL_READ_RIGHTS, handled,
	    err) == -1)
		goto fail;
	/* Output thrown away is no escape: /dev/null stays writable. */
	if (ll_add(rs, "/dev/null", LL_READ_FILE | LL_WRITE_FILE |
	    LL_TRUNCATE, handled, err) == -1)
		goto fail;
	for (i = 0; i < s->nread_only; i++)
		if (ll_add(rs, s->read_only[i], LL_READ_RIGHTS, handled,
		    err) == -1)
			goto fail;
	for (i = 0; i < s->nwritable; i++)
		if (ll_add(rs, s->writable[i], handled, handled, err) == -1)
			goto fail;
apply:
	if (syscall(SYS_landlock_restrict_self, rs, 0) == -1) {
		pf_err_set(err, "landlock: %s", strerror(errno));
		goto fail;
	}
	close(rs);
	return 0;
fail:
	close(rs);
	return -1;
}

int
sandbox_seccomp(struct pf_err *err)
{
	return sandbox_seccomp_task(0, err);
}

/* The filter, built; 0 with *out, or -1 with err set. */
static int
seccomp_build(int no_unix, scmp_filter_ctx *out, struct pf_err *err)
{
	static const char *const deny[] = {
		"mount", "umount2", "pivot_root", "swapon", "swapoff",
		"reboot", "kexec_load", "kexec_file_load", "init_module",
		"finit_module", "delete_module", "bpf", "ptrace",
		"process_vm_readv", "process_vm_writev", "keyctl", "add_key",
		"request_key", "open_by_handle_at", "name_to_handle_at",
		"perf_event_open", "userfaultfd", "unshare", "setns",
		"fsopen", "fsmount", "fsconfig", "move_mount", "open_tree",
		"mount_setattr", "acct", "settimeofday", "clock_settime",
		"adjtimex", "clock_adjtime", "iopl", "ioperm", "quotactl",
		"lookup_dcookie", "syslog", "vhangup", "nfsservctl",
	};
	static const uint64_t ns[] = {
		CLONE_NEWUSER, CLONE_NEWNS, CLONE_NEWNET, CLONE_NEWPID,
		CLONE_NEWIPC, CLONE_NEWUTS, CLONE_NEWCGROUP,
	};
	scmp_filter_ctx	 ctx;
	size_t		 i;
	int		 nr, rc = -EINVAL;

	if ((ctx = seccomp_init(SCMP_ACT_ALLOW)) == NULL) {
		pf_err_set(err, "seccomp: cannot allocate a filter");
		return -1;
	}
	for (i = 0; i < sizeof(deny) / sizeof(deny[0]); i++) {
#ifdef __SANITIZE_ADDRESS__
		/* LeakSanitizer stops the world with ptrace (make asan). */
		if (strcmp(deny[i], "ptrace") == 0)
			continue;
#endif
		/* A name this libseccomp or arch lacks cannot be called. */
		if ((nr = seccomp_syscall_resolve_name(deny[i])) ==
		    __NR_SCMP_ERROR)
			continue;
		if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr,
		    0)) < 0)
			goto fail;
	}
	/*
	 * New namespaces through clone(): one rule per flag (a rule
	 * matches on equality).  clone3 hides its flags in memory; ENOSYS
	 * makes libc fall back to clone().
	 */
	for (i = 0; i < sizeof(ns) / sizeof(ns[0]); i++)
		if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM),
		    SCMP_SYS(clone), 1, SCMP_A0(SCMP_CMP_MASKED_EQ, ns[i],
		    ns[i]))) < 0)
			goto fail;
	if ((nr = seccomp_syscall_resolve_name("clone3")) != __NR_SCMP_ERROR &&
	    (rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), nr, 0)) < 0)
		goto fail;
	/*
	 * network: false.  A unix socket file is reachable from any net
	 * namespace; connect()'s address is in memory and cannot be
	 * checked, socket()'s family can.  socketpair() reaches nothing
	 * outside and stays.
	 */
	if (no_unix && (rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM),
	    SCMP_SYS(socket), 1, SCMP_A0(SCMP_CMP_EQ, AF_UNIX))) < 0)
		goto fail;
	*out = ctx;
	return 0;
fail:
	pf_err_set(err, "seccomp: %s", strerror(-rc));
	seccomp_release(ctx);
	return -1;
}

int
sandbox_seccomp_task(int no_unix, struct pf_err *err)
{
	scmp_filter_ctx	 ctx;
	int		 rc;

	if (seccomp_build(no_unix, &ctx, err) == -1)
		return -1;
	if ((rc = seccomp_load(ctx)) < 0) {
		pf_err_set(err, "seccomp: %s", strerror(-rc));
		seccomp_release(ctx);
		return -1;
	}
	seccomp_release(ctx);
	return 0;
}

/*
 * libseccomp's compilation costs about half a millisecond: done once
 * per attempt, the program then installed in the init and the worker.
 */
int
sandbox_seccomp_compile(int no_unix, struct sandbox_bpf *bpf,
    struct pf_err *err)
{
	scmp_filter_ctx	 ctx;
	uint8_t		*p = NULL, *np;
	size_t		 len = 0, cap = 0;
	ssize_t		 n;
	int		 fds[2], rc;

	memset(bpf, 0, sizeof(*bpf));
	if (seccomp_build(no_unix, &ctx, err) == -1)
		return -1;
	if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) == -1) {
		pf_err_set(err, "seccomp: pipe: %s", strerror(errno));
		seccomp_release(ctx);
		return -1;
	}
	/* A few hundred instructions: far below the pipe's buffer. */
	rc = seccomp_export_bpf(ctx, fds[1]);
	seccomp_release(ctx);
	close(fds[1]);
	if (rc < 0) {
		pf_err_set(err, "seccomp: export: %s", strerror(-rc));
		close(fds[0]);
		return -1;
	}
	for (;;) {
		if (len == cap) {
			cap = cap == 0 ? 4096 : cap * 2;
			if (cap > SANDBOX_BPF_MAX ||
			    (np = pf_reallocarray(p, cap, 1)) == NULL) {
				pf_err_set(err, "seccomp: program too large or "
				    "out of memory");
				goto fail;
			}
			p = np;
		}
		n = read(fds[0], p + len, cap - len);
		if (n == 0 || (n == -1 && errno == EAGAIN))
			break;
		if (n == -1) {
			pf_err_set(err, "seccomp: read: %s", strerror(errno));
			goto fail;
		}
		len += (size_t)n;
	}
	close(fds[0]);
	if (len == 0 || len % sizeof(struct sock_filter) != 0) {
		pf_err_set(err, "seccomp: bad program of %zu bytes", len);
		pf_free(p);
		return -1;
	}
	bpf->insns = p;
	bpf->len = len;
	return 0;
fail:
	close(fds[0]);
	pf_free(p);
	return -1;
}

int
sandbox_seccomp_install(const struct sandbox_bpf *bpf, struct pf_err *err)
{
	struct sock_fprog	 prog;

	prog.len = (unsigned short)(bpf->len / sizeof(struct sock_filter));
	prog.filter = bpf->insns;
	/* NO_NEW_PRIVS is set: no privilege needed. */
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) == -1) {
		pf_err_set(err, "seccomp: %s", strerror(errno));
		return -1;
	}
	return 0;
}

void
sandbox_bpf_free(struct sandbox_bpf *bpf)
{
	pf_free(bpf->insns);
	bpf->insns = NULL;
	bpf->len = 0;
}

int
sandbox_prepare(const struct proto_spec *s, char *home, size_t homelen,
    struct pf_err *err)
{
	(void)err;
	sandbox_home(s->run_as, home, homelen);
	umask(077);
	return 0;
}

int
sandbox_apply(const struct proto_spec *s, char *home, size_t homelen,
    struct pf_err *err)
{
	int	 contained = sandbox_contained();

	if (sandbox_prepare(s, home, homelen, err) == -1)
		return -1;
	if (sandbox_rlimits(s, contained, err) == -1 ||
	    sandbox_network(s, err) == -1 ||
	    sandbox_ids_spec(s, err) == -1)
		return -1;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1) {
		pf_err_set(err, "no_new_privs: %s", strerror(errno));
		return -1;
	}
	if (sandbox_landlock(s, 1, err) == -1 ||
	    sandbox_seccomp_task(sandbox_no_unix(s), err) == -1)
		return -1;
	return 0;
}

int
sandbox_no_unix(const struct proto_spec *s)
{
	return s->network == 0 && s->executor == PROTO_EXEC_SHELL;
}
