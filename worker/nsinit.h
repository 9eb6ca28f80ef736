/*
 * A shell task in namespaces of its own: the worker forks a tiny init
 * (pid 1 of a new PID namespace, in new mount and IPC namespaces, and
 * a new network namespace when the task has no network).  The init, still
 * root and not dumpable, makes every mount private, mounts a fresh
 * /proc (the task sees only its own processes) and, with private_tmp,
 * tmpfs on /tmp and /dev/shm sized to the memory limit; then it narrows
 * itself (rlimits, NO_NEW_PRIVS, Landlock with scoping, seccomp) and
 * starts the command the vfork way, in a session of its own, switching
 * to the task's ids in the child just before exec.  It reaps, forwards
 * the worker's SIGTERM to every process of the namespace, and reports
 * on a pipe.  When it dies the kernel kills the namespace, and its
 * tmpfs go with the mount namespace.
 *
 * The worker stays outside: the task cannot see it (getppid() is 0 in
 * the init, 1 in the command), signal it or read it; SIGKILL and
 * SIGSTOP to pid 1 from inside are ignored by the kernel, and other
 * signals from inside are not acted on.
 */
#ifndef PICOFLOW_NSINIT_H
#define PICOFLOW_NSINIT_H

#include <sys/types.h>

#include "picoflow/err.h"
#include "picoflow/proto.h"
#include "sandbox.h"

/* What the init reports, one fixed-size record per write (atomic). */
enum nsinit_kind {
	NSINIT_SETUP_FAILED = 1,	/* text says why; nothing ran */
	NSINIT_EXEC_FAILED,		/* step, err, detail */
	NSINIT_STARTED,			/* the command runs */
	NSINIT_EXITED,			/* wstatus of the command */
};

/* Where the command's child failed, before or at exec. */
enum nsinit_step {
	NSINIT_STEP_SPAWN = 1,		/* no child could be created */
	NSINIT_STEP_FDS,
	NSINIT_STEP_IDS,
	NSINIT_STEP_CHDIR,
	NSINIT_STEP_EXEC,
};

/* For EACCES at exec, what the child found at the command's path. */
enum nsinit_eacces {
	NSINIT_EACCES_OTHER = 0,
	NSINIT_EACCES_DIR,
	NSINIT_EACCES_NOEXEC,		/* a regular file without x */
};

#define NSINIT_TEXT_MAX		200

struct nsinit_msg {
	int		 kind;		/* enum nsinit_kind */
	int		 step;		/* enum nsinit_step */
	int		 err;		/* errno */
	int		 detail;	/* enum nsinit_eacces */
	int		 wstatus;
	char		 text[NSINIT_TEXT_MAX];
};

struct nsinit_task {
	const struct proto_spec	*spec;
	char		**argv;
	char		**envp;
	const struct sandbox_ids *ids;
	const struct sandbox_bpf *seccomp;	/* compiled for the task */
	int		 contained;	/* in an attempt cgroup */
	int		 out;		/* the output pipes, write ends */
	int		 err;
	const int	*close_fds;	/* the worker's, for the init to close */
	size_t		 nclose;
};

/*
 * Forks the init.  Returns its pid (in the worker's namespace) with
 * *status set to the read end of its report pipe (close-on-exec,
 * non-blocking), or -1 with err set.
 */
pid_t	 nsinit_start(const struct nsinit_task *, int *status,
	    struct pf_err *);
/*
 * One report from the pipe: 1 with *m filled, 0 when none is there
 * yet, -1 at EOF (the init is gone) or on a malformed record.
 */
int	 nsinit_read(int fd, struct nsinit_msg *m);
#endif
