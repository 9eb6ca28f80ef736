/*
 * The ssh executor.  libssh2 runs non-blocking; every call that would
 * block returns EAGAIN and ssh_wait() polls the session's socket (in the
 * directions libssh2 is blocked on) together with the supervisor socket
 * (EOF: the supervisor is gone) and the signalfd (a stop request), so a
 * stop is acted on at once whatever the session is doing.
 *
 * Order of an attempt: local checks (key file), STARTED, TCP connect to
 * each resolved address in turn, handshake, host key check, public-key
 * authentication, exec, stream both channel streams until EOF, close,
 * exit status or signal.  Everything up to the exec is bounded by
 * SSH_CONNECT_TIMEOUT_MS; after it only the task timeout applies.
 *
 * Stopping: the first stop request sends TERM to the remote command
 * (see ssh_signal()); after kill_grace_ms (or a second stop request)
 * KILL, then the channel is closed and the connection dropped.
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

static int
sig_number(const char *name, size_t len)
{
	const char	*s;
	int		 i;

	for (i = 1; i < 65; i++)
		if ((s = sigabbrev_np(i)) != NULL && strlen(s) == len &&
		    memcmp(s, name, len) == 0)
			return i;
	return 0;
}

/* Forward: ssh_lost() needs it. */
static int	 ssh_signal(struct ssh *, const char *, int64_t);

/*
 * The supervisor is gone: no grace, the remote command is sent SIGKILL
 * (waiting at most SSH_KILL_REPLY_MS for the server to take the
 * request) before the connection is dropped.
 */
static void
ssh_lost(struct ssh *s)
{
	log_warnx("the supervisor is gone: killing the remote command and "
	    "dropping the ssh connection");
	if (s->ch != NULL)
		(void)ssh_signal(s, "KILL", clock_mono_ms() +
		    SSH_KILL_REPLY_MS);
}

/*
 * Waits until fd is ready for what libssh2 (or, with events != 0, the
 * caller) needs, a stop signal arrives, the supervisor goes away or the
 * deadline (-1: none) passes.  extra_ms bounds the wait without being a
 * deadline (keepalives).
 */
/* Connect, handshake, host key, auth, exec: the command is running. */
static int
ssh_start(struct ssh *s)
{
	const struct proto_ssh	*c = &s->spec->ssh;
	LIBSSH2_KNOWNHOSTS	*kh;
	int64_t			 deadline;
	char			 kt[64];
	int			 rc, wr;

	deadline = clock_mono_ms() + SSH_CONNECT_TIMEOUT_MS;
	if ((rc = ssh_connect(s, deadline)) != 0)
		return rc;
	if ((s->sess = libssh2_session_init()) == NULL) {
		worker_result_error(s->res, PROTO_ST_INTERNAL_ERROR,
		    "cannot create an ssh session (out of memory)");
		return -1;
	}
	libssh2_session_set_blocking(s->sess, 0);
	if (c->verify_host_key && access(s->known, F_OK) == 0 &&
	    (kh = ssh_known_hosts(s)) != NULL) {
		ssh_prefer_known_types(s, kh);
		libssh2_knownhost_free(kh);
	}
	SSH_RETRY(s, libssh2_session_handshake(s->sess, s->fd), rc, deadline,
	    wr);
	if (wr != W_READY)
		goto phase;
	if (rc != 0) {
		worker_result_error(s->res, PROTO_ST_EXEC_ERROR, "ssh "
		    "handshake with %s failed: %s", s->hostport,
		    ssh_errmsg(s));
		return -1;
	}
	if ((rc = ssh_check_host_key(s)) != 0)
		return rc == -2 ? -2 : -1;
	SSH_RETRY(s, libssh2_userauth_publickey_fromfile_ex(s->sess, c->user,
	    (unsigned)strlen(c->user), NULL, s->key, NULL), rc, deadline, wr);
	if (wr != W_READY)
		goto phase;
	if (rc != 0) {
		ssh_key_type(s->key, kt, sizeof(kt));
		if (rc == LIBSSH2_ERROR_FILE)
			worker_result_error(s->res, PROTO_ST_EXEC_ERROR,
			    "cannot use the private key %s (%s): %s; keys "
			    "with a passphrase are not supported", s->key, kt,
			    ssh_errmsg(s));
		else
			worker_result_error(s->res, PROTO_ST_EXEC_ERROR,
			    "authentication failed: %s rejected the key %s "
			    "(%s) for user %s: %s", s->hostport, s->key, kt,
			    c->user, ssh_errmsg(s));
		return -1;
	}
	for (;;) {
		s->ch = libssh2_channel_open_session(s->sess);
		if (s->ch != NULL || libssh2_session_last_errno(s->sess) !=
		    LIBSSH2_ERROR_EAGAIN)
			break;
		if ((wr = ssh_wait(s, deadline)) != W_READY)
			goto phase;
	}
	if (s->ch == NULL) {
		worker_result_error(s->res, PROTO_ST_EXEC_ERROR, "cannot open "
		    "a session channel on %s: %s", s->hostport,
		    ssh_errmsg(s));
		return -1;
	}
	s->t_start = clock_mono_ms();
	SSH_RETRY(s, libssh2_channel_process_startup(s->ch, "exec", 4,
	    c->command, (unsigned)strlen(c->command)), rc, deadline, wr);
	if (wr != W_READY)
		goto phase;
	if (rc != 0) {
		worker_result_error(s->res, PROTO_ST_EXEC_ERROR, "%s refused "
		    "to run the command: %s", s->hostport, ssh_errmsg(s));
		return -1;
	}
	libssh2_keepalive_config(s->sess, 0, SSH_KEEPALIVE_S);
	return 0;
phase:
	if (wr == W_LOST)
		return -2;
	ssh_phase_error(s, wr, "talking to");
	return -1;
}

/*
 * Signals the remote command.  The SSH "signal" channel request needs
 * libssh2 1.11; with older ones a second channel runs kill on the
 * process groups of every other child of this connection's sshd
 * process (the command runs in a session of its own, as sshd starts
 * it), which needs a POSIX login shell and pgrep on the server.  Best
 * effort: when it fails the channel is closed at the end of the grace
 * period anyway.  Waits for the exec to be accepted until deadline.
 */
static int
ssh_signal(struct ssh *s, const char *name, int64_t deadline)
{
	LIBSSH2_CHANNEL	*k = NULL;
	char		 cmd[256], drain[256];
	ssize_t		 n;
	int		 rc, wr, i;

	for (i = 0; i < 2 && s->kch[i] != NULL; i++)
		;
	if (i == 2)
		return -1;
	snprintf(cmd, sizeof(cmd), "for p in $(pgrep -P $PPID); do "
	    "[ \"$p\" = $$ ] || kill -%s -- -$p; done 2>/dev/null", name);
	for (;;) {
		k = libssh2_channel_open_session(s->sess);
		if (k != NULL || libssh2_session_last_errno(s->sess) !=
		    LIBSSH2_ERROR_EAGAIN)
			break;
		if ((wr = ssh_wait(s, deadline)) == W_LOST)
			return -2;
		if (wr == W_TIMEOUT) {
			log_info("no channel to deliver SIG%s in time", name);
			return -1;
		}
	}
	if (k == NULL) {
		log_info("cannot open a channel to deliver SIG%s: %s", name,
		    ssh_errmsg(s));
		return -1;
	}
	s->kch[i] = k;
	for (;;) {
		rc = libssh2_channel_process_startup(k, "exec", 4, cmd,
		    (unsigned)strlen(cmd));
		if (rc != LIBSSH2_ERROR_EAGAIN)
			break;
		if ((wr = ssh_wait(s, deadline)) == W_LOST)
			return -2;
		if (wr == W_TIMEOUT) {
			log_info("kill for SIG%s not started in time", name);
			return -1;
		}
		/* W_STOP: a second request; keep waiting for this answer. */
	}
	if (rc != 0) {
		log_info("the server did not run kill for SIG%s: %s", name,
		    ssh_errmsg(s));
		return -1;
	}
	/*
	 * Wait for kill to finish: dropping the connection earlier could
	 * end its sshd process, and orphan the command, before it ran.
	 */
	for (;;) {
		n = libssh2_channel_read(k, drain, sizeof(drain));
		if (n > 0)
			continue;
		if (libssh2_channel_eof(k) || (n < 0 &&
		    n != LIBSSH2_ERROR_EAGAIN))
			break;
		if ((wr = ssh_wait(s, deadline)) == W_LOST)
			return -2;
		if (wr == W_TIMEOUT) {
			log_info("kill for SIG%s did not finish in time",
			    name);
			break;
		}
	}
	return 0;
}

/* A stop request: TERM now, KILL after the grace period. */
static int
ssh_stop(struct ssh *s)
{
	int64_t	 now = clock_mono_ms();
	int	 rc;

	s->new_stop = 0;
	if (s->kill_at >= 0) {
		/* Asked again: no more grace. */
		s->kill_at = now;
		return 0;
	}
	log_info("SIG%s: stopping the remote command, %u ms grace",
	    ssh_sig_name(s->stop_sig), s->spec->kill_grace_ms);
	s->kill_at = now + s->spec->kill_grace_ms;
	rc = ssh_signal(s, "TERM", s->kill_at);
	if (rc == -2)
		return -1;
	if (rc == -1)
		s->kill_at = now;	/* not deliverable: close at once */
	return 0;
}

/* Reads what is there on one stream; 1 at EOF, 0 for more, -1/-2 error. */
static int
ssh_read_stream(struct ssh *s, int stream)
{
	ssize_t	 n;

	for (;;) {
		n = libssh2_channel_read_ex(s->ch, stream, s->chunk,
		    PROTO_OUTPUT_CHUNK_MAX);
		if (n == LIBSSH2_ERROR_EAGAIN)
			return 0;
		if (n == 0)
			return 1;
		if (n < 0) {
			worker_result_error(s->res, PROTO_ST_FAILED, "the "
			    "connection to %s broke while the command ran: %s",
			    s->hostport, ssh_errmsg(s));
			return -1;
		}
		if (output_add(s->w, s->spec, s->res, stream == 0 ?
		    PROTO_STDOUT : PROTO_STDERR, s->chunk, (size_t)n) == -1)
			return -2;
	}
}

/*
 * Streams the command's output until the channel reaches EOF.  0: EOF
 * or the grace period ended; -1 with the RESULT set; -2 supervisor gone.
 */
static int
ssh_io(struct ssh *s)
{
	int64_t	 now, deadline;
	int	 e0, e1, wr, next_ka, ms;

	for (;;) {
		if ((e0 = ssh_read_stream(s, 0)) < 0)
			return e0;
		if ((e1 = ssh_read_stream(s, SSH_EXTENDED_DATA_STDERR)) < 0)
			return e1;
		/*
		 * EOF may have been read (with the last data) while the
		 * other stream was being read: nothing more will come on
		 * the socket then, so look at both streams again instead
		 * of waiting.  With EOF known, a drained stream reads 0.
		 */
		if (libssh2_channel_eof(s->ch)) {
			if (e0 == 1 && e1 == 1)
				return 0;
			continue;
		}
		now = clock_mono_ms();
		if (s->kill_at >= 0 && now >= s->kill_at) {
			s->killed_hard = 1;
			log_info("grace period over: SIGKILL to the remote "
			    "command, closing the channel");
			if (ssh_signal(s, "KILL", now + SSH_KILL_REPLY_MS) ==
			    -2)
				return -2;
			return 0;
		}
		next_ka = SSH_KEEPALIVE_S;
		if (libssh2_keepalive_send(s->sess, &next_ka) ==
		    LIBSSH2_ERROR_SOCKET_SEND) {
			worker_result_error(s->res, PROTO_ST_FAILED, "the "
			    "connection to %s broke while the command ran: %s",
			    s->hostport, ssh_errmsg(s));
			return -1;
		}
		ms = next_ka > 0 ? next_ka * 1000 : 1000;
		deadline = s->kill_at;
		wr = ssh_wait_fd(s, 0, deadline, ms);
		if (wr == W_LOST)
			return -2;
		if (wr == W_STOP && ssh_stop(s) == -1)
			return -2;
	}
}

/* Close the channel, collect the exit status, drop the connection. */
static void
ssh_teardown(struct ssh *s, int lost)
{
	if (s->sess == NULL)
		goto sock;
	if (lost && s->fd != -1)
		(void)shutdown(s->fd, SHUT_RDWR);
	/* Bounded blocking from here on: nothing is left to stream. */
	libssh2_session_set_timeout(s->sess, SSH_CLOSE_MS);
	libssh2_session_set_blocking(s->sess, 1);
	if (s->ch != NULL)
		libssh2_channel_free(s->ch);
	s->ch = NULL;
	if (s->kch[0] != NULL)
		libssh2_channel_free(s->kch[0]);
	if (s->kch[1] != NULL)
		libssh2_channel_free(s->kch[1]);
	s->kch[0] = s->kch[1] = NULL;
	if (!lost)
		(void)libssh2_session_disconnect(s->sess, "done");
	libssh2_session_free(s->sess);
	s->sess = NULL;
sock:
	if (s->fd != -1)
		close(s->fd);
	s->fd = -1;
}

/* After the command: exit status or signal, and the RESULT. */
static void
ssh_result(struct ssh *s)
{
	struct proto_result	*res = s->res;
	char			*sig = NULL, how[160];
	size_t			 siglen = 0;
	int			 code = -1, signo = 0;

	if (!s->killed_hard) {
		libssh2_session_set_timeout(s->sess, SSH_CLOSE_MS);
		libssh2_session_set_blocking(s->sess, 1);
		if (libssh2_channel_close(s->ch) == 0)
			(void)libssh2_channel_wait_closed(s->ch);
		if (libssh2_channel_get_exit_signal(s->ch, &sig, &siglen, NULL,
		    NULL, NULL, NULL) == 0 && sig != NULL && siglen > 0) {
			signo = sig_number(sig, siglen);
			snprintf(how, sizeof(how), "died from SIG%.*s",
			    (int)(siglen > 32 ? 32 : siglen), sig);
		} else {
			code = libssh2_channel_get_exit_status(s->ch);
			snprintf(how, sizeof(how), "exited with status %d",
			    code);
		}
		if (sig != NULL)
			libssh2_free(s->sess, sig);
	} else
		snprintf(how, sizeof(how), "did not end within the %u ms "
		    "grace period: SIGKILL was requested and the connection "
		    "closed", s->spec->kill_grace_ms);
	res->duration_ms = (uint64_t)(clock_mono_ms() - s->t_start);
	res->exit_code = code < 0 || code > 255 ? -1 : code;
	res->signal = signo;
	if (s->stop_sig != 0)
		worker_result_error(res, PROTO_ST_KILLED, "stopped on request "
		    "(SIG%s to the worker): the remote command %s",
		    ssh_sig_name(s->stop_sig), how);
	else if (sig != NULL && siglen > 0)
		worker_result_error(res, PROTO_ST_SIGNALED, "the remote "
		    "command %s", how);
	else if (code == 0)
		res->status = PROTO_ST_OK;
	else
		worker_result_error(res, PROTO_ST_FAILED, "the remote command "
		    "%s", how);
}

int
exec_ssh_run(struct worker *w, const struct proto_spec *spec,
    struct proto_result *res)
{
	struct ssh	 s;
	size_t		 hl;
	int		 rc, ret = 0;

	memset(&s, 0, sizeof(s));
	s.w = w;
	s.spec = spec;
	s.res = res;
	s.fd = -1;
	s.kill_at = -1;
	s.host = spec->ssh.host;
	hl = strlen(s.host);
	if (hl > 2 && s.host[0] == '[' && s.host[hl - 1] == ']') {
		/* "[::1]" as in URLs: the address inside. */
		if ((s.hostbuf = pf_strdup(s.host + 1)) == NULL) {
			worker_result_error(res, PROTO_ST_INTERNAL_ERROR,
			    "out of memory");
			return 0;
		}
		s.hostbuf[hl - 2] = '\0';
		s.host = s.hostbuf;
	}
	/* As known_hosts writes it: host, or [host]:port off port 22. */
	if (spec->ssh.port == 22)
		snprintf(s.hostport, sizeof(s.hostport), "%s", s.host);
	else
		snprintf(s.hostport, sizeof(s.hostport), "[%s]:%d", s.host,
		    spec->ssh.port);
	if (ssh_pick_key(&s) == -1 || ssh_pick_known_hosts(&s) == -1)
		goto out;
	if ((s.chunk = pf_malloc(PROTO_OUTPUT_CHUNK_MAX)) == NULL) {
		worker_result_error(res, PROTO_ST_INTERNAL_ERROR,
		    "out of memory");
		goto out;
	}
	if (libssh2_init(0) != 0) {
		worker_result_error(res, PROTO_ST_INTERNAL_ERROR,
		    "cannot initialise libssh2");
		goto out;
	}
	if (worker_send_started(w, 0, (uint64_t)clock_wall_ms()) == -1) {
		ret = -1;
		goto exit;
	}
	log_debug("ssh %s@%s: %s", spec->ssh.user, s.hostport, s.key);
	rc = ssh_start(&s);
	if (rc == 0)
		rc = ssh_io(&s);
	if (rc == 0)
		ssh_result(&s);
	if (rc == -2) {
		ssh_lost(&s);
		ret = -1;
	}
	ssh_teardown(&s, rc == -2);
exit:
	libssh2_exit();
out:
	pf_free(s.chunk);
	pf_free(s.hostbuf);
	return ret;
}
