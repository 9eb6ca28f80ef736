/*
 * The task's init; see nsinit.h for what it is and why.  The chain in
 * the init, in order: parent-death signal, not dumpable, own session,
 * private mounts, /proc, tmpfs, loopback, rlimits, NO_NEW_PRIVS,
 * Landlock (its paths opened after the mounts), seccomp; then the
 * command's child: signals reset, own session, descriptors, ids, workdir,
 * exec.  Landlock and seccomp apply to the init too: it needs nothing
 * they refuse once the command is started.
 */
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "nsinit.h"

/* One record on the report pipe; below PIPE_BUF, so writes are atomic. */
#define NSINIT_MSG_LEN		(1 + 4 * 4 + NSINIT_TEXT_MAX)
/* The command's child runs on its own stack (CLONE_VM). */
#define NSINIT_STACK		(64 * 1024)

static void
put_i32(unsigned char *p, int v)
{
	memcpy(p, &v, sizeof(v));
}

static int
get_i32(const unsigned char *p)
{
	int	 v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static void
send_msg(int fd, const struct nsinit_msg *m)
{
	unsigned char	 b[NSINIT_MSG_LEN];
	ssize_t		 n;

	memset(b, 0, sizeof(b));
	b[0] = (unsigned char)m->kind;
	put_i32(b + 1, m->step);
	put_i32(b + 5, m->err);
	put_i32(b + 9, m->detail);
	put_i32(b + 13, m->wstatus);
	memcpy(b + 17, m->text, strnlen(m->text, NSINIT_TEXT_MAX - 1));
	do
		n = write(fd, b, sizeof(b));
	while (n == -1 && errno == EINTR);
}

int
nsinit_read(int fd, struct nsinit_msg *m)
{
	unsigned char	 b[NSINIT_MSG_LEN];
	ssize_t		 n;

	do
		n = read(fd, b, sizeof(b));
	while (n == -1 && errno == EINTR);
	if (n == -1 && errno == EAGAIN)
		return 0;
	/* Whole records only: each was one atomic write. */
	if (n != (ssize_t)sizeof(b))
		return -1;
	memset(m, 0, sizeof(*m));
	m->kind = b[0];
	m->step = get_i32(b + 1);
	m->err = get_i32(b + 5);
	m->detail = get_i32(b + 9);
	m->wstatus = get_i32(b + 13);
	memcpy(m->text, b + 17, NSINIT_TEXT_MAX - 1);
	m->text[NSINIT_TEXT_MAX - 1] = '\0';
	if (m->kind < NSINIT_SETUP_FAILED || m->kind > NSINIT_EXITED)
		return -1;
	return 1;
}

static void __attribute__((noreturn))
setup_failed(int st, const char *what)
{
	struct nsinit_msg	 m;

	memset(&m, 0, sizeof(m));
	m.kind = NSINIT_SETUP_FAILED;
	(void)snprintf(m.text, sizeof(m.text), "%s", what);
	send_msg(st, &m);
	_exit(1);
}

/* Fresh tmpfs on dir, if the host has that directory. */
static int
mount_tmpfs(const char *dir, const char *opts, struct pf_err *err)
{
	struct stat	 sb;

	if (stat(dir, &sb) == -1 || !S_ISDIR(sb.st_mode))
		return 0;
	if (mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV, opts) == -1) {
		pf_err_set(err, "private %s: mounting tmpfs: %s", dir,
		    strerror(errno));
		return -1;
	}
	return 0;
}

static int
ns_mounts(const struct proto_spec *s, struct pf_err *err)
{
	char	 opts[64];

	/* Nothing mounted here may reach the host's namespace. */
	if (mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) == -1) {
		pf_err_set(err, "making the mounts private: %s",
		    strerror(errno));
		return -1;
	}
	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
	    NULL) == -1) {
		pf_err_set(err, "mounting /proc: %s", strerror(errno));
		return -1;
	}
	if (!s->private_tmp)
		return 0;
	/*
	 * Each half the memory limit, so both together fit in it: their
	 * pages are charged to the attempt's memory cgroup too, but
	 * without cgroups (or in a cgroup without memory) the sizes are
	 * the only bound.  A full tmpfs fails a write with ENOSPC before
	 * the OOM killer has to pick a process.
	 */
	if (s->limits.memory > 0)
		(void)snprintf(opts, sizeof(opts), "mode=1777,size=%lld",
		    (long long)(s->limits.memory / 2 > 4096 ?
		    s->limits.memory / 2 : 4096));
	else
		(void)snprintf(opts, sizeof(opts), "mode=1777");
	if (mount_tmpfs("/tmp", opts, err) == -1 ||
	    mount_tmpfs("/dev/shm", opts, err) == -1)
		return -1;
	return 0;
}

struct child {
	const struct nsinit_task *t;
	int		 devnull;
	int		 report;	/* close-on-exec: EOF means exec'd */
};

static void __attribute__((noreturn))
child_fail(const struct child *c, int step, int e)
{
	const char	*cmd = c->t->spec->command;
	struct stat	 sb;
	int		 v[3];

	v[0] = step;
	v[1] = e;
	v[2] = NSINIT_EACCES_OTHER;
	/* Looked at as the task's user, where it failed. */
	if (step == NSINIT_STEP_EXEC && e == EACCES && stat(cmd, &sb) == 0) {
		if (S_ISDIR(sb.st_mode))
			v[2] = NSINIT_EACCES_DIR;
		else if (S_ISREG(sb.st_mode) && access(cmd, X_OK) == -1)
			v[2] = NSINIT_EACCES_NOEXEC;
	}
	/* Nothing more to do if it fails: the init then sees EOF. */
	if (write(c->report, v, sizeof(v)) != (ssize_t)sizeof(v))
		_exit(127);
	_exit(127);
}

/*
 * The command's child, sharing the init's memory until it execs (the
 * init is suspended meanwhile): system calls only.
 */
static int
child_main(void *arg)
{
	const struct child	*c = arg;
	const struct proto_spec	*s = c->t->spec;
	struct sigaction	 sa;
	sigset_t		 none;
	int			 sig, e;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (sig = 1; sig < NSIG; sig++)
		(void)sigaction(sig, &sa, NULL);
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	(void)setsid();
	if (dup2(c->devnull, 0) == -1 || dup2(c->t->out, 1) == -1 ||
	    dup2(c->t->err, 2) == -1 ||
	    close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) == -1)
		child_fail(c, NSINIT_STEP_FDS, errno);
	if ((e = sandbox_ids_switch(c->t->ids, 1)) != 0)
		child_fail(c, NSINIT_STEP_IDS, e == SANDBOX_REGAINS_ROOT ?
		    EPERM : e);
	/* As the task's user: a workdir it may not enter is refused. */
	if (s->workdir != NULL && chdir(s->workdir) == -1)
		child_fail(c, NSINIT_STEP_CHDIR, errno);
	execve(s->command, c->t->argv, c->t->envp);
	child_fail(c, NSINIT_STEP_EXEC, errno);
}

/*
 * Starts the command and reports how that went.  Returns its pid (2),
 * or -1 after reporting the failure.
 */
static pid_t
start_command(const struct nsinit_task *t, int devnull, int st)
{
	struct nsinit_msg	 m;
	struct child		 c;
	void			*stack;
	int			 rep[2], v[3];
	pid_t			 pid;
	ssize_t			 n;

	memset(&m, 0, sizeof(m));
	m.kind = NSINIT_EXEC_FAILED;
	m.step = NSINIT_STEP_SPAWN;
	stack = mmap(NULL, NSINIT_STACK, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (stack == MAP_FAILED || pipe2(rep, O_CLOEXEC) == -1) {
		m.err = errno;
		send_msg(st, &m);
		return -1;
	}
	c.t = t;
	c.devnull = devnull;
	c.report = rep[1];
	pid = clone(child_main, (char *)stack + NSINIT_STACK,
	    CLONE_VM | CLONE_VFORK | SIGCHLD, &c);
	m.err = errno;
	close(rep[1]);
	(void)munmap(stack, NSINIT_STACK);
	if (pid == -1) {
		close(rep[0]);
		send_msg(st, &m);
		return -1;
	}
	do
		n = read(rep[0], v, sizeof(v));
	while (n == -1 && errno == EINTR);
	close(rep[0]);
	if (n == (ssize_t)sizeof(v)) {
		(void)waitpid(pid, NULL, 0);
		m.step = v[0];
		m.err = v[1];
		m.detail = v[2];
		send_msg(st, &m);
		return -1;
	}
	m.kind = NSINIT_STARTED;
	m.err = 0;
	send_msg(st, &m);
	return pid;
}

/*
 * Reaps and forwards until nothing is left in the namespace.  A stop
 * signal counts only from outside (the worker): the kernel gives a
 * sender in an ancestor namespace pid 0 here.
 */
static void __attribute__((noreturn))
init_loop(int sfd, pid_t cmd, int st)
{
	struct signalfd_siginfo	 si;
	struct nsinit_msg	 m;
	struct pollfd		 p;
	pid_t			 r;
	int			 ws;

	p.fd = sfd;
	p.events = POLLIN;
	for (;;) {
		while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
			if (si.ssi_signo == SIGCHLD || si.ssi_pid != 0)
				continue;
			(void)kill(-1, SIGTERM);
			/* A stopped process acts on SIGTERM once continued. */
			(void)kill(-1, SIGCONT);
		}
		while ((r = waitpid(-1, &ws, WNOHANG)) > 0)
			if (r == cmd) {
				memset(&m, 0, sizeof(m));
				m.kind = NSINIT_EXITED;
				m.wstatus = ws;
				send_msg(st, &m);
			}
		if (r == -1 && errno == ECHILD)
			_exit(0);
		if (poll(&p, 1, -1) == -1 && errno != EINTR)
			_exit(1);
	}
}

static void __attribute__((noreturn))
init_main(const struct nsinit_task *t, int st)
{
	const struct proto_spec	*s = t->spec;
	struct pf_err		 err;
	struct pollfd		 p;
	sigset_t		 set;
	char			 msg[PF_ERR_MAX + 32];
	int			 devnull, sfd, no_unix;
	size_t			 i;
	pid_t			 cmd;

	for (i = 0; i < t->nclose; i++)
		if (t->close_fds[i] != -1)
			close(t->close_fds[i]);
	/* The worker gone, the namespace goes too. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) == -1)
		_exit(1);
	/* It may have gone before that: its end of our pipe is closed. */
	p.fd = st;
	p.events = 0;
	if (poll(&p, 1, 0) == 1 && (p.revents & POLLERR))
		_exit(1);
	/* Root-owned /proc/1 and no ptrace for the task's user. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		setup_failed(st, "not dumpable: cannot set");
	/* Its own group: the supervisor kills -pid on its way out. */
	(void)setsid();
	no_unix = sandbox_no_unix(s);
	if (ns_mounts(s, &err) == -1 || (no_unix && sandbox_lo_up(&err) ==
	    -1) || sandbox_rlimits(s, t->contained, &err) == -1)
		goto fail;
	if ((devnull = open("/dev/null", O_RDONLY | O_CLOEXEC)) == -1) {
		pf_err_set(&err, "/dev/null: %s", strerror(errno));
		goto fail;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1) {
		pf_err_set(&err, "no_new_privs: %s", strerror(errno));
		goto fail;
	}
	if (sandbox_landlock(s, 1, &err) == -1 ||
	    sandbox_seccomp_install(t->seccomp, &err) == -1)
		goto fail;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &set, NULL) == -1 ||
	    (sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) == -1) {
		pf_err_set(&err, "signals: %s", strerror(errno));
		goto fail;
	}
	cmd = start_command(t, devnull, st);
	close(devnull);
	close(t->out);
	close(t->err);
	if (cmd == -1)
		_exit(1);
	init_loop(sfd, cmd, st);
fail:
	(void)snprintf(msg, sizeof(msg), "%s", err.msg);
	setup_failed(st, msg);
}

pid_t
nsinit_start(const struct nsinit_task *t, int *status, struct pf_err *err)
{
	int	 st[2], flags, own;
	pid_t	 pid;

	if (pipe2(st, O_CLOEXEC) == -1) {
		pf_err_set(err, "cannot create the report pipe: %s",
		    strerror(errno));
		return -1;
	}
	/* To put the worker's later children back where it is (below). */
	if ((own = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC)) == -1) {
		pf_err_set(err, "/proc/self/ns/pid: %s", strerror(errno));
		goto fail;
	}
	/*
	 * The worker's next child is pid 1 of a new PID namespace; the
	 * worker itself stays where it is.  fork() then, not a raw clone:
	 * glibc keeps its own view of the child consistent.
	 */
	if (unshare(CLONE_NEWPID) == -1) {
		pf_err_set(err, "a new PID namespace: %s", strerror(errno));
		close(own);
		goto fail;
	}
	pid = fork();
	if (pid > 0 || pid == -1) {
		/*
		 * Only the init belongs there: a later child of the worker
		 * (LeakSanitizer's tracer, say) could not be created in a
		 * namespace whose init is gone.
		 */
		if (setns(own, CLONE_NEWPID) == -1 && pid > 0) {
			pf_err_set(err, "back to our PID namespace: %s",
			    strerror(errno));
			(void)kill(pid, SIGKILL);
			(void)waitpid(pid, NULL, 0);
			close(own);
			goto fail;
		}
		close(own);
	}
	if (pid == -1) {
		pf_err_set(err, "fork: %s", strerror(errno));
		goto fail;
	}
	if (pid == 0) {
		close(own);
		close(st[0]);
		/* IPC too: SysV segments and queues die with the attempt. */
		flags = CLONE_NEWNS | CLONE_NEWIPC;
		if (sandbox_no_unix(t->spec))
			flags |= CLONE_NEWNET;
		if (unshare(flags) == -1) {
			char	 msg[96];

			(void)snprintf(msg, sizeof(msg), "new mount, IPC%s "
			    "namespaces: %s", flags & CLONE_NEWNET ?
			    " and network" : "", strerror(errno));
			setup_failed(st[1], msg);
		}
		init_main(t, st[1]);
	}
	close(st[1]);
	(void)fcntl(st[0], F_SETFL, O_NONBLOCK);
	*status = st[0];
	return pid;
fail:
	close(st[0]);
	close(st[1]);
	return -1;
}
