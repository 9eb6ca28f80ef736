/*
 * The namespace probe; see nsprobe.h.  The child is a copy of this
 * process on a stack of its own (clone without CLONE_VM): whatever it
 * mounts lives and dies in its own mount namespace.
 */
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "nsprobe.h"

#define PROBE_STACK	(64 * 1024)

enum { PROBE_PRIVATE = 1, PROBE_PROC, PROBE_TMPFS };

static const char *const probe_step[] = {
	"", "making mounts private", "mounting /proc", "mounting a tmpfs",
};

struct probe {
	int	 fd;		/* write end: step and errno on failure */
};

static int
probe_fail(const struct probe *p, int step)
{
	int	 v[2] = { step, errno };

	if (write(p->fd, v, sizeof(v)) != (ssize_t)sizeof(v))
		return 1;
	return 1;
}

static int
probe_child(void *arg)
{
	const struct probe	*p = arg;
	struct stat		 st;

	if (mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) == -1)
		return probe_fail(p, PROBE_PRIVATE);
	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
	    NULL) == -1)
		return probe_fail(p, PROBE_PROC);
	if (stat("/tmp", &st) == 0 && S_ISDIR(st.st_mode) &&
	    mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV,
	    "mode=1777,size=1m") == -1)
		return probe_fail(p, PROBE_TMPFS);
	return 0;
}

int
nsprobe_run(char *line, size_t len)
{
	struct probe	 p;
	void		*stack;
	int		 fds[2], v[2], st = 0;
	pid_t		 pid;
	ssize_t		 n;

	if (pipe2(fds, O_CLOEXEC) == -1) {
		(void)snprintf(line, len, "namespaces: NONE: pipe: %s",
		    strerror(errno));
		return 0;
	}
	stack = mmap(NULL, PROBE_STACK, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (stack == MAP_FAILED) {
		(void)snprintf(line, len, "namespaces: NONE: mmap: %s",
		    strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return 0;
	}
	p.fd = fds[1];
	pid = clone(probe_child, (char *)stack + PROBE_STACK,
	    CLONE_NEWPID | CLONE_NEWNS | SIGCHLD, &p);
	v[1] = errno;
	close(fds[1]);
	if (pid == -1) {
		(void)snprintf(line, len, "namespaces: NONE: no new PID and "
		    "mount namespaces here (%s): tasks running as the same "
		    "user can see and signal each other and their workers; "
		    "/tmp and /dev/shm are shared", strerror(v[1]));
		goto out;
	}
	while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
		;
	do
		n = read(fds[0], v, sizeof(v));
	while (n == -1 && errno == EINTR);
	if (n == (ssize_t)sizeof(v) && v[0] >= PROBE_PRIVATE &&
	    v[0] <= PROBE_TMPFS) {
		(void)snprintf(line, len, "namespaces: NONE: %s failed in a "
		    "new mount namespace (%s): tasks running as the same "
		    "user can see and signal each other and their workers; "
		    "/tmp and /dev/shm are shared", probe_step[v[0]],
		    strerror(v[1]));
		pid = -1;
	} else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		(void)snprintf(line, len, "namespaces: NONE: the probe child "
		    "failed (status %d)", st);
		pid = -1;
	} else
		(void)snprintf(line, len, "namespaces: PID, mount per "
		    "attempt (shell tasks see only their own processes; "
		    "private /tmp and /dev/shm where sandbox.private_tmp)");
out:
	(void)munmap(stack, PROBE_STACK);
	close(fds[0]);
	return pid != -1;
}
