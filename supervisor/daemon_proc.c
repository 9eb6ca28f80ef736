/*
 * The process around the daemon: -d detaches it (double fork, new
 * session, log file on stderr) while the parent waits on a pipe for
 * "OK" or the reason start-up failed, and the pidfile lock keeps a
 * second supervisor off the same state directory.
 */
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "picoflow/buf.h"
#include "picoflow/err.h"
#include "daemon_int.h"

/* -d: the parent waits for the daemon to say it is ready (or why not). */
int
daemon_detach(int *ready_fd, const char *log_path)
{
	char	 buf[PF_ERR_MAX + 64];
	ssize_t	 n;
	size_t	 got = 0;
	pid_t	 pid;
	int	 p[2], fd, st;

	if (pipe2(p, O_CLOEXEC) == -1) {
		fprintf(stderr, "pf-supervisor: pipe: %s\n", strerror(errno));
		return -1;
	}
	if ((pid = fork()) == -1) {
		fprintf(stderr, "pf-supervisor: fork: %s\n", strerror(errno));
		return -1;
	}
	if (pid > 0) {
		close(p[1]);
		while (got < sizeof(buf) - 1 && (n = read(p[0], buf + got,
		    sizeof(buf) - 1 - got)) != 0) {
			if (n == -1 && errno == EINTR)
				continue;
			if (n == -1)
				break;
			got += (size_t)n;
		}
		buf[got] = '\0';
		(void)waitpid(pid, &st, 0);	/* the middle process */
		if (strncmp(buf, "OK", 2) == 0)
			_exit(0);
		fprintf(stderr, "pf-supervisor: %s\n", got ? buf :
		    "the daemon exited during start-up");
		_exit(1);
	}
	close(p[0]);
	if (setsid() == -1)
		_exit(1);
	if ((pid = fork()) == -1)
		_exit(1);
	if (pid > 0)
		_exit(0);
	if (chdir("/") == -1)
		_exit(1);
	if ((fd = open("/dev/null", O_RDWR | O_CLOEXEC)) != -1) {
		(void)dup2(fd, STDIN_FILENO);
		(void)dup2(fd, STDOUT_FILENO);
		close(fd);
	}
	/* Never through a link: root would append wherever it points. */
	if ((fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC |
	    O_NOFOLLOW | O_NOCTTY, 0600)) == -1) {
		struct pf_buf	 m;
		int		 e = errno;

		buf_init(&m, 0);
		buf_printf(&m, "cannot open the log file %s: %s%s", log_path,
		    strerror(e), e == ELOOP ? " (it is a symbolic link, which "
		    "is never followed: remove it)" : "");
		if (!m.failed && write(p[1], m.data, m.len) == -1)
			(void)0;	/* the parent is gone */
		_exit(1);
	}
	(void)dup2(fd, STDERR_FILENO);
	close(fd);
	*ready_fd = p[1];
	return 0;
}

void
daemon_tell_parent(struct daemon *d, const char *msg)
{
	if (d->ready_fd == -1)
		return;
	if (write(d->ready_fd, msg, strlen(msg)) == -1)
		(void)0;	/* the parent is gone: nobody to tell */
	close(d->ready_fd);
	d->ready_fd = -1;
}

/*
 * Locks the pidfile for the life of the process (fcntl lock, released by
 * the kernel however we die): a stale file never blocks a start, and a
 * second supervisor on the same state directory is refused.  The file is
 * never unlinked; a lock on an unlinked file would protect nothing.
 */
int
daemon_pidfile_lock(const char *path, int *fdp, struct pf_err *err)
{
	struct flock	 fl;
	struct stat	 a, b;
	char		 buf[32];
	int		 fd, n, tries;

	for (tries = 0; tries < 5; tries++) {
		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
		    0644);
		if (fd == -1) {
			pf_err_set(err, "cannot open pidfile %s: %s%s", path,
			    strerror(errno), errno == ELOOP ? " (it is a "
			    "symbolic link, which is never followed: remove "
			    "it)" : "");
			return -1;
		}
		memset(&fl, 0, sizeof(fl));
		fl.l_type = F_WRLCK;
		fl.l_whence = SEEK_SET;
		if (fcntl(fd, F_SETLK, &fl) == -1) {
			int	 e = errno;

			memset(&fl, 0, sizeof(fl));
			fl.l_type = F_WRLCK;
			fl.l_whence = SEEK_SET;
			if ((e == EAGAIN || e == EACCES) &&
			    fcntl(fd, F_GETLK, &fl) == 0 &&
			    fl.l_type != F_UNLCK)
				pf_err_set(err, "another pf-supervisor (pid "
				    "%ld) is running with this state "
				    "directory (%s is locked)", (long)fl.l_pid,
				    path);
			else
				pf_err_set(err, "cannot lock pidfile %s: %s",
				    path, strerror(e));
			close(fd);
			return -1;
		}
		/* The file we locked must still be the one at the path. */
		if (fstat(fd, &a) == 0 && lstat(path, &b) == 0 &&
		    a.st_dev == b.st_dev && a.st_ino == b.st_ino)
			break;
		close(fd);
		fd = -1;
	}
	if (fd == -1) {
		pf_err_set(err, "pidfile %s keeps changing under us", path);
		return -1;
	}
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == -1 || pwrite(fd, buf, (size_t)n, 0) != n) {
		pf_err_set(err, "cannot write pidfile %s: %s", path,
		    strerror(errno));
		close(fd);
		return -1;
	}
	*fdp = fd;
	return 0;
}
