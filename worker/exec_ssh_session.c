/*
 * The ssh executor's session: the key and known_hosts files to use,
 * waiting on the session's socket together with the supervisor and a
 * stop request, the phase errors, and the TCP connect to each resolved
 * address in turn (exec_ssh_int.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libssh2.h>

#include "picoflow/alloc.h"
#include "picoflow/clock.h"
#include "picoflow/log.h"
#include "picoflow/proto.h"
#include "exec_ssh.h"
#include "exec_ssh_int.h"
#include "output.h"
#include "worker.h"

int
ssh_expand_path(const char *path, const char *home, char *out,
    size_t outlen, struct pf_err *err)
{
	const struct passwd	*pw;
	const char		*rest, *slash;
	char			 user[PROTO_NAME_MAX + 1];
	size_t			 ulen;
	int			 n;

	if (path[0] != '~') {
		n = snprintf(out, outlen, "%s", path);
		goto check;
	}
	rest = path + 1;
	if (*rest == '\0' || *rest == '/') {
		if (home == NULL || home[0] == '\0') {
			pf_err_set(err, "cannot expand %s: no home directory",
			    path);
			return -1;
		}
		n = snprintf(out, outlen, "%s%s", home, rest);
		goto check;
	}
	slash = strchr(rest, '/');
	ulen = slash != NULL ? (size_t)(slash - rest) : strlen(rest);
	if (ulen >= sizeof(user)) {
		pf_err_set(err, "cannot expand %s: user name too long", path);
		return -1;
	}
	memcpy(user, rest, ulen);
	user[ulen] = '\0';
	if ((pw = getpwnam(user)) == NULL || pw->pw_dir == NULL) {
		pf_err_set(err, "cannot expand %s: no user '%s'", path, user);
		return -1;
	}
	n = snprintf(out, outlen, "%s%s", pw->pw_dir, rest + ulen);
check:
	if (n < 0 || (size_t)n >= outlen) {
		pf_err_set(err, "path too long: %s", path);
		return -1;
	}
	return 0;
}

static const char *
ssh_home(void)
{
	const struct passwd	*pw;

	/* The supervisor clears the environment: no $HOME to trust. */
	pw = getpwuid(getuid());
	return pw != NULL ? pw->pw_dir : NULL;
}

/*
 * Picks the private key: key_path expanded, or the first of the default
 * keys that exists.  The file must be readable by the worker.
 */
int
ssh_pick_key(struct ssh *s)
{
	static const char *defaults[] = { "~/.ssh/id_ed25519",
	    "~/.ssh/id_rsa" };
	const char	*home = ssh_home();
	struct pf_err	 err;
	struct stat	 st;
	size_t		 i;
	int		 fd;

	if (s->spec->ssh.key_path == NULL) {
		for (i = 0; i < 2; i++) {
			if (ssh_expand_path(defaults[i], home, s->key,
			    sizeof(s->key), &err) == -1)
				break;
			if (access(s->key, F_OK) == 0)
				goto found;
		}
		worker_result_error(s->res, PROTO_ST_EXEC_ERROR, "no ssh key: "
		    "neither ~/.ssh/id_ed25519 nor ~/.ssh/id_rsa exists "
		    "(home directory %s); create one or set key_path",
		    home != NULL ? home : "unknown");
		return -1;
	}
	if (ssh_expand_path(s->spec->ssh.key_path, home, s->key,
	    sizeof(s->key), &err) == -1) {
		worker_result_error(s->res, PROTO_ST_EXEC_ERROR, "key_path: %s",
		    err.msg);
		return -1;
	}
found:
	if ((fd = open(s->key, O_RDONLY | O_CLOEXEC)) == -1) {
		worker_result_error(s->res, PROTO_ST_EXEC_ERROR, "cannot read "
		    "the ssh key %s: %s", s->key, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == 0 && !S_ISREG(st.st_mode)) {
		close(fd);
		worker_result_error(s->res, PROTO_ST_EXEC_ERROR, "the ssh key "
		    "%s is not a regular file", s->key);
		return -1;
	}
	close(fd);
	return 0;
}

int
ssh_pick_known_hosts(struct ssh *s)
{
	const char	*env = getenv(SSH_KNOWN_HOSTS_ENV);
	struct pf_err	 err;

	if (env != NULL && env[0] != '\0') {
		if ((size_t)snprintf(s->known, sizeof(s->known), "%s", env) >=
		    sizeof(s->known)) {
			worker_result_error(s->res, PROTO_ST_EXEC_ERROR,
			    "%s: path too long", SSH_KNOWN_HOSTS_ENV);
			return -1;
		}
		return 0;
	}
	if (ssh_expand_path("~/.ssh/known_hosts", ssh_home(), s->known,
	    sizeof(s->known), &err) == -1) {
		worker_result_error(s->res, PROTO_ST_EXEC_ERROR, "known_hosts: "
		    "%s", err.msg);
		return -1;
	}
	return 0;
}

int
ssh_wait_fd(struct ssh *s, short events, int64_t deadline, int extra_ms)
{
	struct pollfd	 p[3];
	int64_t		 now;
	int		 dirs, ms, sig;

	if (events == 0 && s->sess != NULL) {
		dirs = libssh2_session_block_directions(s->sess);
		if (dirs & LIBSSH2_SESSION_BLOCK_INBOUND)
			events |= POLLIN;
		if (dirs & LIBSSH2_SESSION_BLOCK_OUTBOUND)
			events |= POLLOUT;
		if (events == 0)
			events = POLLIN;
	}
	for (;;) {
		now = clock_mono_ms();
		ms = extra_ms;
		if (deadline >= 0) {
			if (now >= deadline)
				return W_TIMEOUT;
			if (ms < 0 || deadline - now < ms)
				ms = deadline - now > INT_MAX ? INT_MAX :
				    (int)(deadline - now);
		}
		p[0].fd = s->fd;
		p[0].events = events;
		/* Once the supervisor is gone only cleanup is left. */
		p[1].fd = worker_poll_fd(s->w);
		p[1].events = POLLIN;
		p[2].fd = s->w->sigfd;
		p[2].events = POLLIN;
		if (poll(p, 3, ms) == -1) {
			if (errno == EINTR)
				continue;
			log_warn("poll");
			return W_READY;
		}
		if (p[1].revents && worker_sock_readable(s->w) == -1)
			return W_LOST;
		if (p[2].revents && (sig = worker_read_signals(s->w)) != 0) {
			if (s->stop_sig == 0)
				s->stop_sig = sig;
			s->new_stop = 1;
			return W_STOP;
		}
		if (p[0].revents)
			return W_READY;
		if (ms >= 0 && !(deadline >= 0 && clock_mono_ms() >=
		    deadline))
			return W_READY;	/* extra_ms passed */
	}
}

int
ssh_wait(struct ssh *s, int64_t deadline)
{
	return ssh_wait_fd(s, 0, deadline, -1);
}

const char *
ssh_errmsg(struct ssh *s)
{
	char	*msg = NULL;

	if (s->sess == NULL ||
	    libssh2_session_last_error(s->sess, &msg, NULL, 0) == 0 ||
	    msg == NULL)
		return "unknown error";
	return msg;
}

/*
 * A connect phase wait that ended early: record why.  The first stop
 * request before the command runs ends the attempt at once.
 */
void
ssh_phase_error(struct ssh *s, int wr, const char *what)
{
	switch (wr) {
	case W_STOP:
		worker_result_error(s->res, PROTO_ST_KILLED, "stopped on "
		    "request (SIG%s to the worker) while %s %s; the remote "
		    "command was not started", ssh_sig_name(s->stop_sig), what,
		    s->hostport);
		break;
	case W_TIMEOUT:
		worker_result_error(s->res, PROTO_ST_EXEC_ERROR, "timed out "
		    "after %d s while %s %s", SSH_CONNECT_TIMEOUT_MS / 1000,
		    what, s->hostport);
		break;
	default:
		break;
	}
}

/* TCP to each address of the host in turn; s->fd connected. */
int
ssh_connect(struct ssh *s, int64_t deadline)
{
	struct addrinfo	 hints, *ai0 = NULL, *ai;
	char		 port[16], last[INET6_ADDRSTRLEN] = "";
	const void	*ip;
	socklen_t	 sl;
	int		 rc, e = 0, soerr, wr;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	snprintf(port, sizeof(port), "%d", s->spec->ssh.port);
	if ((rc = getaddrinfo(s->host, port, &hints, &ai0)) != 0) {
		worker_result_error(s->res, PROTO_ST_EXEC_ERROR, "cannot "
		    "resolve the ssh host %s: %s", s->host,
		    rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
		return -1;
	}
	for (ai = ai0; ai != NULL; ai = ai->ai_next) {
		ip = ai->ai_family == AF_INET ?
		    (const void *)&((struct sockaddr_in *)(void *)
		    ai->ai_addr)->sin_addr :
		    (const void *)&((struct sockaddr_in6 *)(void *)
		    ai->ai_addr)->sin6_addr;
		if (inet_ntop(ai->ai_family, ip, last, sizeof(last)) == NULL)
			snprintf(last, sizeof(last), "?");
		s->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, ai->ai_protocol);
		if (s->fd == -1) {
			e = errno;
			continue;
		}
		if (connect(s->fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		if (errno == EINPROGRESS) {
			wr = ssh_wait_fd(s, POLLOUT, deadline, -1);
			if (wr == W_LOST || wr == W_STOP) {
				freeaddrinfo(ai0);
				if (wr == W_STOP)
					ssh_phase_error(s, wr, "connecting to");
				return wr == W_LOST ? -2 : -1;
			}
			if (wr == W_TIMEOUT) {
				e = ETIMEDOUT;
				close(s->fd);
				s->fd = -1;
				break;
			}
			sl = sizeof(soerr);
			if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &soerr,
			    &sl) == 0 && soerr == 0)
				break;
			e = soerr;
		} else
			e = errno;
		close(s->fd);
		s->fd = -1;
	}
	freeaddrinfo(ai0);
	if (s->fd == -1) {
		worker_result_error(s->res, PROTO_ST_EXEC_ERROR, "cannot "
		    "connect to %s (address %s): %s", s->hostport, last,
		    e == ETIMEDOUT ? "timed out" : strerror(e));
		return -1;
	}
	snprintf(s->addr, sizeof(s->addr), "%s", last);
	return 0;
}
