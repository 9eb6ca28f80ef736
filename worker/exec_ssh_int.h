/*
 * The ssh executor's private header: the attempt's state (struct ssh)
 * and what its three files share.  exec_ssh.c runs the remote command
 * (exec, streams, signals, result); exec_ssh_session.c finds the key and
 * known_hosts, waits on the socket and connects; exec_ssh_hostkey.c
 * checks the server's host key against known_hosts.
 */
#ifndef PICOFLOW_EXEC_SSH_INT_H
#define PICOFLOW_EXEC_SSH_INT_H

#include <arpa/inet.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>

#include <libssh2.h>

#include "picoflow/proto.h"
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

/* A signal's short name ("TERM"), "?" when unknown. */
static inline const char *
ssh_sig_name(int sig)
{
	const char	*s = sigabbrev_np(sig);

	return s != NULL ? s : "?";
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

/* exec_ssh_session.c */
int	 ssh_pick_key(struct ssh *s);
int	 ssh_pick_known_hosts(struct ssh *s);
int	 ssh_wait_fd(struct ssh *s, short events, int64_t deadline,
	    int extra_ms);
int	 ssh_wait(struct ssh *s, int64_t deadline);
const char	*ssh_errmsg(struct ssh *s);
void	 ssh_phase_error(struct ssh *s, int wr, const char *what);
int	 ssh_connect(struct ssh *s, int64_t deadline);

/* exec_ssh_hostkey.c */
LIBSSH2_KNOWNHOSTS	*ssh_known_hosts(struct ssh *s);
void	 ssh_prefer_known_types(struct ssh *s, LIBSSH2_KNOWNHOSTS *kh);
int	 ssh_check_host_key(struct ssh *s);
void	 ssh_key_type(const char *key, char *out, size_t outlen);

#endif
