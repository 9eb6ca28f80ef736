/*
 * The worker's sandbox: applied by pf-worker to itself once the SPEC is
 * read and before the executor starts anything, so every process of the
 * task inherits it (pf-worker is exec'd fresh for each attempt).  A chain
 * of small steps, in this order; see docs/security.md:
 *
 *	the task's HOME: the home directory of the user it runs as
 *	umask 077
 *	rlimits: nofile; RLIMIT_AS and RLIMIT_NPROC only when the worker is
 *	    not in an attempt cgroup (isolation mode none)
 *	network: false (shell tasks): a new network namespace, loopback up
 *	run_as user[:group[,group...]]: exactly the listed groups (no
 *	    initgroups), setgid, setuid (needs root); privileged groups
 *	    refused again (privgroup.h)
 *	NO_NEW_PRIVS
 *	Landlock read_only / writable, where the kernel has it
 *	seccomp: what a task never needs fails with EPERM
 */
#ifndef PICOFLOW_SANDBOX_H
#define PICOFLOW_SANDBOX_H

#include <stddef.h>
#include <sys/types.h>

#include "picoflow/err.h"
#include "picoflow/proto.h"

/*
 * Applies every step; -1 with err set when one that was asked for fails.
 * home gets the task's HOME (sandbox_home), looked up first.
 */
int	 sandbox_apply(const struct proto_spec *, char *home, size_t homelen,
	    struct pf_err *);

/*
 * Only the first steps (HOME, umask), for a shell task in namespaces:
 * its init applies the rest to itself (nsinit.h).
 */
int	 sandbox_prepare(const struct proto_spec *, char *home,
	    size_t homelen, struct pf_err *);

/* The steps, exposed for tests.  Each returns 0 or -1 with err set. */
int	 sandbox_rlimits(const struct proto_spec *, int contained,
	    struct pf_err *);
int	 sandbox_network(const struct proto_spec *, struct pf_err *);
/* sandbox_ids: the built-in privileged groups only, none allowed. */
int	 sandbox_ids(const char *run_as, struct pf_err *);
int	 sandbox_ids_spec(const struct proto_spec *, struct pf_err *);
/*
 * Landlock: read_only / writable when given; with scope, also (ABI 6)
 * no signal and no abstract unix socket outside the new domain.
 */
int	 sandbox_landlock(const struct proto_spec *, int scope,
	    struct pf_err *);
int	 sandbox_seccomp(struct pf_err *);
/* The same, and with no_unix socket(AF_UNIX, ...) fails with EPERM. */
int	 sandbox_seccomp_task(int no_unix, struct pf_err *);
/* A compiled seccomp program, to install in more than one process. */
struct sandbox_bpf {
	void		*insns;		/* struct sock_filter[] */
	size_t		 len;		/* bytes */
};

#define SANDBOX_BPF_MAX		(64 * 1024)

int	 sandbox_seccomp_compile(int no_unix, struct sandbox_bpf *,
	    struct pf_err *);
/* Needs NO_NEW_PRIVS (or privilege); a system call and no allocation. */
int	 sandbox_seccomp_install(const struct sandbox_bpf *, struct pf_err *);
void	 sandbox_bpf_free(struct sandbox_bpf *);
/* 1 when the task has no network: a shell task with network: false. */
int	 sandbox_no_unix(const struct proto_spec *);

/*
 * run_as, split in two for a child that may only make system calls:
 * the lookup (user, group, supplementary groups) before, the switch in
 * the child.  set is 0 when the ids stay as they are.
 */
struct sandbox_ids {
	int		 set;
	uid_t		 uid;
	gid_t		 gid;
	gid_t		*groups;
	size_t		 ngroups;
};

#define SANDBOX_REGAINS_ROOT	(-1)

int	 sandbox_ids_resolve(const char *run_as, const struct proto_spec *,
	    struct sandbox_ids *,
	    struct pf_err *);
void	 sandbox_ids_free(struct sandbox_ids *);
/*
 * 0, an errno value, or SANDBOX_REGAINS_ROOT when root could be taken
 * back afterwards.  With raw, system calls only (async-signal-safe).
 */
int	 sandbox_ids_switch(const struct sandbox_ids *, int raw);
/* Brings up lo in a new network namespace. */
int	 sandbox_lo_up(struct pf_err *);
/*
 * The home directory of the user the task will run as (run_as, else this
 * process's user) into buf; "/" when the user has none or it does not
 * fit.  Called before the sandbox: the password database may be out of
 * reach afterwards.
 */
void	 sandbox_home(const char *run_as, char *buf, size_t len);
/* 1 when this process is in a PicoFlow attempt cgroup. */
int	 sandbox_contained(void);

#endif
