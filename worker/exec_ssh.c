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
#include "output.h"
#include "worker.h"

/* Keepalive messages keep idle NAT and firewall state alive. */
#define SSH_KEEPALIVE_S		30
/* Closing the channel and the session, once the command has ended. */
#define SSH_CLOSE_MS		3000
/* Delivering KILL (grace over, supervisor gone): a bounded wait. */
#define SSH_KILL_REPLY_MS	3000

/* ssh_wait() results. */
#define W_READY		0
#define W_STOP		1	/* a stop signal arrived (s->stop_sig) */
#define W_LOST		2	/* the supervisor is gone */
#define W_TIMEOUT	3	/* the deadline passed */

struct ssh {
	struct worker		*w;
	const struct proto_spec	*spec;
	struct proto_result	*res;
	const char		*host;		/* without [] */
	char			*hostbuf;
	char			 hostport[PROTO_NAME_MAX + 16];
	char			 key[PATH_MAX];
	char			 known[PATH_MAX];
	char			 addr[INET6_ADDRSTRLEN];
	int			 fd;
	LIBSSH2_SESSION		*sess;
	LIBSSH2_CHANNEL		*ch;
	LIBSSH2_CHANNEL		*kch[2];	/* delivering signals */
	char			*chunk;
	int			 stop_sig;	/* first stop request */
	int			 new_stop;	/* one arrived since last look */
	int64_t			 kill_at;	/* -1: none scheduled */
	int			 killed_hard;
	int64_t			 t_start;
};

static const char *
sig_name(int sig)
{
	const char	*s = sigabbrev_np(sig);

	return s != NULL ? s : "?";
}

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
static int
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

static int
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
static int
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
		p[1].fd = s->w->lost ? -1 : s->w->sock;
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

static int
ssh_wait(struct ssh *s, int64_t deadline)
{
	return ssh_wait_fd(s, 0, deadline, -1);
}

static const char *
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
static void
ssh_phase_error(struct ssh *s, int wr, const char *what)
{
	switch (wr) {
	case W_STOP:
		worker_result_error(s->res, PROTO_ST_KILLED, "stopped on "
		    "request (SIG%s to the worker) while %s %s; the remote "
		    "command was not started", sig_name(s->stop_sig), what,
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
static int
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

struct keytype {
	int		 hostkey;	/* LIBSSH2_HOSTKEY_TYPE_* */
	int		 known;		/* LIBSSH2_KNOWNHOST_KEY_* */
	const char	*name;		/* as in known_hosts */
	const char	*methods;	/* host key algorithms using it */
};

static const struct keytype keytypes[] = {
	{ LIBSSH2_HOSTKEY_TYPE_ED25519, LIBSSH2_KNOWNHOST_KEY_ED25519,
	    "ssh-ed25519", "ssh-ed25519" },
	{ LIBSSH2_HOSTKEY_TYPE_ECDSA_256, LIBSSH2_KNOWNHOST_KEY_ECDSA_256,
	    "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256" },
	{ LIBSSH2_HOSTKEY_TYPE_ECDSA_384, LIBSSH2_KNOWNHOST_KEY_ECDSA_384,
	    "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp384" },
	{ LIBSSH2_HOSTKEY_TYPE_ECDSA_521, LIBSSH2_KNOWNHOST_KEY_ECDSA_521,
	    "ecdsa-sha2-nistp521", "ecdsa-sha2-nistp521" },
	{ LIBSSH2_HOSTKEY_TYPE_RSA, LIBSSH2_KNOWNHOST_KEY_SSHRSA,
	    "ssh-rsa", "rsa-sha2-512,rsa-sha2-256,ssh-rsa" },
};
#define NKEYTYPES	(sizeof(keytypes) / sizeof(keytypes[0]))

static const struct keytype *
keytype_of(int hostkey_type)
{
	size_t	 i;

	for (i = 0; i < NKEYTYPES; i++)
		if (keytypes[i].hostkey == hostkey_type)
			return &keytypes[i];
	return NULL;
}

/* Reads known_hosts; a missing file is an empty one. */
static LIBSSH2_KNOWNHOSTS *
ssh_known_hosts(struct ssh *s)
{
	LIBSSH2_KNOWNHOSTS	*kh;

	if ((kh = libssh2_knownhost_init(s->sess)) == NULL) {
		worker_result_error(s->res, PROTO_ST_INTERNAL_ERROR,
		    "out of memory");
		return NULL;
	}
	if (access(s->known, F_OK) == -1 && errno == ENOENT)
		return kh;
	if (libssh2_knownhost_readfile(kh, s->known,
	    LIBSSH2_KNOWNHOST_FILE_OPENSSH) < 0) {
		worker_result_error(s->res, PROTO_ST_EXEC_ERROR, "cannot read "
		    "the known hosts file %s: %s", s->known, ssh_errmsg(s));
		libssh2_knownhost_free(kh);
		return NULL;
	}
	return kh;
}

/*
 * Offers first the host key algorithms known_hosts has a key of for
 * this host (as OpenSSH does), so a server with several host keys is
 * checked against the one the user recorded.  A key type known_hosts
 * has for the host answers MISMATCH to a dummy key.
 */
static int
ssh_alg_supported(const char **algs, int nalgs, const char *name,
    size_t len)
{
	int	 i;

	for (i = 0; i < nalgs; i++)
		if (strlen(algs[i]) == len && memcmp(algs[i], name, len) == 0)
			return 1;
	return 0;
}

/*
 * Only algorithms this libssh2 supports go into the list: its
 * method_pref removes unknown names with an overlapping memcpy.
 */
static void
ssh_pref_add(char *pref, size_t size, size_t *len, const char *methods,
    const char **algs, int nalgs)
{
	const char	*p = methods, *e;
	size_t		 n;
	int		 k;

	while (*p != '\0') {
		e = strchr(p, ',');
		n = e != NULL ? (size_t)(e - p) : strlen(p);
		if (ssh_alg_supported(algs, nalgs, p, n)) {
			k = snprintf(pref + *len, size - *len, "%s%.*s",
			    *len > 0 ? "," : "", (int)n, p);
			if (k > 0 && (size_t)k < size - *len)
				*len += (size_t)k;
		}
		p += n;
		if (*p == ',')
			p++;
	}
}

static void
ssh_prefer_known_types(struct ssh *s, LIBSSH2_KNOWNHOSTS *kh)
{
	const char	**algs = NULL;
	char		 pref[512];
	size_t		 i, len = 0;
	int		 pass, r, nalgs;

	nalgs = libssh2_session_supported_algs(s->sess,
	    LIBSSH2_METHOD_HOSTKEY, &algs);
	if (nalgs <= 0)
		return;
	pref[0] = '\0';
	for (pass = 0; pass < 2; pass++)
		for (i = 0; i < NKEYTYPES; i++) {
			r = libssh2_knownhost_checkp(kh, s->host,
			    s->spec->ssh.port, "x", 1,
			    LIBSSH2_KNOWNHOST_TYPE_PLAIN |
			    LIBSSH2_KNOWNHOST_KEYENC_RAW | keytypes[i].known,
			    NULL);
			if ((r == LIBSSH2_KNOWNHOST_CHECK_MISMATCH) !=
			    (pass == 0))
				continue;
			ssh_pref_add(pref, sizeof(pref), &len,
			    keytypes[i].methods, algs, nalgs);
		}
	libssh2_free(s->sess, algs);
	if (len > 0 && libssh2_session_method_pref(s->sess,
	    LIBSSH2_METHOD_HOSTKEY, pref) != 0)
		log_debug("host key preference not applied: %s",
		    ssh_errmsg(s));
}

/* Base64 without padding, as OpenSSH prints SHA256 fingerprints. */
static void
b64(const unsigned char *in, size_t n, char *out, size_t outlen, int pad)
{
	static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t		 i, o = 0;
	uint32_t	 v;

	for (i = 0; i < n && o + 4 < outlen; i += 3) {
		v = (uint32_t)in[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		out[o++] = t[(v >> 18) & 63];
		out[o++] = t[(v >> 12) & 63];
		if (i + 1 < n)
			out[o++] = t[(v >> 6) & 63];
		else if (pad)
			out[o++] = '=';
		if (i + 2 < n)
			out[o++] = t[v & 63];
		else if (pad)
			out[o++] = '=';
	}
	out[o] = '\0';
}

static void
ssh_fingerprint(struct ssh *s, char *out, size_t outlen)
{
	const char	*h;
	char		 enc[64];

	h = libssh2_hostkey_hash(s->sess, LIBSSH2_HOSTKEY_HASH_SHA256);
	if (h == NULL) {
		snprintf(out, outlen, "(fingerprint unavailable)");
		return;
	}
	b64((const unsigned char *)h, 32, enc, sizeof(enc), 0);
	snprintf(out, outlen, "SHA256:%s", enc);
}

/* The host key against known_hosts (or only reported, verification off). */
static int
ssh_check_host_key(struct ssh *s)
{
	LIBSSH2_KNOWNHOSTS	*kh;
	const struct keytype	*kt;
	const char		*key;
	char			 fp[96], *enc;
	size_t			 klen, elen;
	int			 type, r;

	if ((key = libssh2_session_hostkey(s->sess, &klen, &type)) == NULL) {
		worker_result_error(s->res, PROTO_ST_EXEC_ERROR, "%s sent no "
		    "host key", s->hostport);
		return -1;
	}
	kt = keytype_of(type);
	ssh_fingerprint(s, fp, sizeof(fp));
	if (!s->spec->ssh.verify_host_key) {
		log_warnx("host key of %s not verified (verify_host_key: "
		    "false): %s %s", s->hostport, kt ? kt->name : "?", fp);
		return output_notice(s->w, s->spec, s->res, "picoflow: "
		    "warning: the host key of %s was not verified "
		    "(verify_host_key: false); it is %s %s", s->hostport,
		    kt ? kt->name : "of an unknown type", fp) == -1 ? -2 : 0;
	}
	if (kt == NULL) {
		worker_result_error(s->res, PROTO_ST_EXEC_ERROR, "host key "
		    "verification failed: %s offered a host key of a type "
		    "known_hosts checking does not support (%d)", s->hostport,
		    type);
		return -1;
	}
	if ((kh = ssh_known_hosts(s)) == NULL)
		return -1;
	r = libssh2_knownhost_checkp(kh, s->host, s->spec->ssh.port, key,
	    klen, LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW |
	    kt->known, NULL);
	libssh2_knownhost_free(kh);
	switch (r) {
	case LIBSSH2_KNOWNHOST_CHECK_MATCH:
		return 0;
	case LIBSSH2_KNOWNHOST_CHECK_MISMATCH:
		worker_result_error(s->res, PROTO_ST_EXEC_ERROR, "HOST KEY "
		    "CHANGED for %s: it presented the %s key %s, which does "
		    "not match the one recorded in %s.  Someone may be "
		    "intercepting the connection, or the host key was "
		    "replaced; if the change is expected, remove the old "
		    "entry (ssh-keygen -R '%s' -f %s) and add the new key",
		    s->hostport, kt->name, fp, s->known, s->hostport,
		    s->known);
		return -1;
	case LIBSSH2_KNOWNHOST_CHECK_NOTFOUND:
		elen = (klen + 2) / 3 * 4 + 1;
		if ((enc = pf_malloc(elen)) == NULL) {
			worker_result_error(s->res, PROTO_ST_INTERNAL_ERROR,
			    "out of memory");
			return -1;
		}
		b64((const unsigned char *)key, klen, enc, elen, 1);
		worker_result_error(s->res, PROTO_ST_EXEC_ERROR, "unknown "
		    "host key: %s is not in %s (its %s key fingerprint is "
		    "%s).  If that is the host's key, add this line to %s: "
		    "%s %s %s", s->hostport, s->known, kt->name, fp,
		    s->known, s->hostport, kt->name, enc);
		pf_free(enc);
		return -1;
	default:
		worker_result_error(s->res, PROTO_ST_EXEC_ERROR, "checking "
		    "the host key of %s: %s", s->hostport, ssh_errmsg(s));
		return -1;
	}
}

/* The key's type, from its .pub file when there is one, for messages. */
static void
ssh_key_type(const char *key, char *out, size_t outlen)
{
	char	 pub[PATH_MAX + 8], line[64];
	FILE	*fp;
	size_t	 n;

	snprintf(out, outlen, "type unknown");
	if ((size_t)snprintf(pub, sizeof(pub), "%s.pub", key) >= sizeof(pub) ||
	    (fp = fopen(pub, "re")) == NULL)
		return;
	if (fgets(line, sizeof(line), fp) != NULL) {
		n = strcspn(line, " \t\r\n");
		line[n] = '\0';
		if (n > 0)
			snprintf(out, outlen, "%s", line);
	}
	fclose(fp);
}

/*
 * One libssh2 call that may block: repeat while it says EAGAIN, waiting
 * in between.  Sets *wr to why the wait ended when it was not ready.
 */
#define SSH_RETRY(s, call, rc, deadline, wr) do {			\
	(wr) = W_READY;							\
	while (((rc) = (call)) == LIBSSH2_ERROR_EAGAIN &&		\
	    ((wr) = ssh_wait((s), (deadline))) == W_READY)		\
		;							\
} while (0)

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
	    sig_name(s->stop_sig), s->spec->kill_grace_ms);
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
		    sig_name(s->stop_sig), how);
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
