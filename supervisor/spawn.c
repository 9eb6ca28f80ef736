#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "picoflow/proto.h"
#include "spawn.h"

static int
is_executable(const char *path)
{
	struct stat	 st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	    access(path, X_OK) == 0;
}

int
spawn_find_exe(const char *name, const char *envname, char *out,
    size_t len, struct pf_err *err)
{
	const char	*env = getenv(envname);
	char		 self[PATH_MAX];
	ssize_t		 n;
	char		*slash;

	if (env != NULL && *env != '\0') {
		if (!is_executable(env)) {
			pf_err_set(err, "%s=%s is not an executable file",
			    envname, env);
			return -1;
		}
		if ((size_t)snprintf(out, len, "%s", env) >= len)
			goto toolong;
		return 0;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		if ((slash = strrchr(self, '/')) != NULL) {
			slash[1] = '\0';
			if ((size_t)snprintf(out, len, "%s%s", self, name) >=
			    len)
				goto toolong;
			if (is_executable(out))
				return 0;
			/* An installed tree, wherever it was moved: bin/.. */
			if ((size_t)snprintf(out, len,
			    "%s../libexec/picoflow/%s", self, name) >= len)
				goto toolong;
			if (is_executable(out))
				return 0;
		}
	}
	if ((size_t)snprintf(out, len, "%s/%s", PF_LIBEXECDIR, name) >= len)
		goto toolong;
	if (is_executable(out))
		return 0;
	pf_err_set(err, "cannot find %s next to this program or in %s; "
	    "set %s to its path", name, PF_LIBEXECDIR, envname);
	return -1;
toolong:
	pf_err_set(err, "%s path too long", name);
	return -1;
}

int
spawn_find_worker(char *out, size_t len, struct pf_err *err)
{
	return spawn_find_exe("pf-worker", "PICOFLOW_WORKER", out, len, err);
}

int
spawn_net_worker(const char *worker, char *out, size_t len)
{
	const char	*slash;
	const char	*env = getenv("PICOFLOW_WORKER");

	/* An explicit PICOFLOW_WORKER runs every executor. */
	if (env != NULL && *env != '\0')
		goto same;
	if ((slash = strrchr(worker, '/')) == NULL)
		goto same;
	if ((size_t)snprintf(out, len, "%.*s/pf-worker-net",
	    (int)(slash - worker), worker) >= len || !is_executable(out))
		goto same;
	return 0;
same:
	if ((size_t)snprintf(out, len, "%s", worker) >= len)
		return -1;
	return 0;
}

extern char **environ;

/*
 * The worker starts with an empty environment except for the operator
 * settings it honours: PICOFLOW_SSH_KNOWN_HOSTS (docs/executors.md).
 * envp has room for one entry and the NULL.
 */
static void
worker_env(char *envp[2])
{
	static const char	 key[] = "PICOFLOW_SSH_KNOWN_HOSTS=";
	char			**e;

	for (e = environ; e != NULL && *e != NULL; e++)
		if (strncmp(*e, key, sizeof(key) - 1) == 0 &&
		    (*e)[sizeof(key) - 1] != '\0') {
			envp[0] = *e;
			return;
		}
}

/*
 * The test seam (spawn.h).  Process-wide like the allocation hook: a
 * supervisor has one engine, and only tests ever set it.
 */
static long		 inject_countdown = -1;
static unsigned long	 inject_left;
static int		 inject_errno;
static unsigned long	 inject_done;

void
spawn_fail_after(long after, unsigned long count, int errnum)
{
	inject_countdown = after < 0 || count == 0 || errnum <= 0 ? -1 :
	    after;
	inject_left = count;
	inject_errno = errnum;
	inject_done = 0;
}

unsigned long
spawn_fail_injected(void)
{
	return inject_done;
}

/* The errno this call of spawn_worker is to fail with, 0 = none. */
static int
inject_next(void)
{
	if (inject_countdown < 0)
		return 0;
	if (inject_countdown > 0) {
		inject_countdown--;
		return 0;
	}
	if (inject_left == 0) {
		inject_countdown = -1;
		return 0;
	}
	inject_left--;
	inject_done++;
	return inject_errno;
}

/* Errors at the descriptor step; the rest are the process step's. */
static int
is_fd_errno(int e)
{
	return e == EMFILE || e == ENFILE || e == ENOBUFS;
}

int
spawn_transient(int e)
{
	return is_fd_errno(e) || e == EAGAIN || e == ENOMEM;
}

static int
fail(struct spawn_worker *w, struct pf_err *err, int e, const char *step,
    const char *path)
{
	w->error = e;
	pf_err_set(err, "spawn: %s%s%s: %s", step, path != NULL ? " " : "",
	    path != NULL ? path : "", strerror(e));
	return -1;
}

int
spawn_worker(const char *path, struct spawn_worker *w, struct pf_err *err)
{
	posix_spawn_file_actions_t	 fa;
	posix_spawnattr_t		 attr;
	sigset_t			 none, all;
	char				*argv[] = { (char *)"pf-worker", NULL };
	char				*envp[2] = { NULL, NULL };
	int				 sv[2], child, rc, fl, e;
	int				 injected = inject_next();

	w->pid = -1;
	w->fd = -1;
	w->error = 0;
	worker_env(envp);

	if (injected != 0 && is_fd_errno(injected))
		return fail(w, err, injected, "socketpair", NULL);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
		return fail(w, err, errno, "socketpair", NULL);
	/* Our end only: the two ends are separate open file descriptions. */
	if ((fl = fcntl(sv[0], F_GETFL)) == -1 ||
	    fcntl(sv[0], F_SETFL, fl | O_NONBLOCK) == -1) {
		e = errno;
		close(sv[0]);
		close(sv[1]);
		return fail(w, err, e, "fcntl", NULL);
	}
	/*
	 * dup2 onto the same number would keep FD_CLOEXEC; make sure the
	 * child's end is not already fd PF_WORKER_FD.
	 */
	child = sv[1];
	if (child == PF_WORKER_FD) {
		if ((child = fcntl(sv[1], F_DUPFD_CLOEXEC, PF_WORKER_FD + 1))
		    == -1) {
			e = errno;
			close(sv[0]);
			close(sv[1]);
			return fail(w, err, e, "fcntl", NULL);
		}
		close(sv[1]);
	}

	/*
	 * The file actions allocate: a refusal is a shortage like the
	 * others, never a worker started without its socket on fd 3.
	 */
	if ((rc = posix_spawn_file_actions_init(&fa)) != 0) {
		close(child);
		close(sv[0]);
		return fail(w, err, rc, "posix_spawn_file_actions", NULL);
	}
	if ((rc = posix_spawnattr_init(&attr)) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		close(child);
		close(sv[0]);
		return fail(w, err, rc, "posix_spawnattr", NULL);
	}
	sigemptyset(&none);
	sigfillset(&all);
	if ((rc = posix_spawn_file_actions_addopen(&fa, STDIN_FILENO,
	    "/dev/null", O_RDONLY, 0)) == 0 &&
	    (rc = posix_spawn_file_actions_adddup2(&fa, child,
	    PF_WORKER_FD)) == 0 &&
	    (rc = posix_spawn_file_actions_addclosefrom_np(&fa,
	    PF_WORKER_FD + 1)) == 0 &&
	    (rc = posix_spawnattr_setsigmask(&attr, &none)) == 0 &&
	    (rc = posix_spawnattr_setsigdefault(&attr, &all)) == 0 &&
	    (rc = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID |
	    POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)) == 0) {
		if (injected != 0)
			rc = injected;
		else
			rc = posix_spawn(&w->pid, path, &fa, &attr, argv,
			    envp);
	}
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	close(child);
	if (rc != 0) {
		close(sv[0]);
		w->pid = -1;
		return fail(w, err, rc, "posix_spawn", path);
	}
	w->fd = sv[0];
	return 0;
}
