/*
 * The ssh executor: runs the SPEC's command on a remote host with
 * libssh2 (public-key authentication only), the host key checked against
 * known_hosts, stdout and stderr streamed as OUTPUT frames up to the
 * output cap, the remote exit status or signal in the RESULT.  A stop
 * request asks the server to signal the remote command (TERM, then KILL
 * after the grace period) and closes the channel.
 */
#ifndef PICOFLOW_EXEC_SSH_H
#define PICOFLOW_EXEC_SSH_H

#include <stddef.h>

#include "picoflow/err.h"
#include "picoflow/proto.h"
#include "worker.h"

/*
 * Environment variable naming the known_hosts file to use instead of
 * ~/.ssh/known_hosts of the worker's user (an operator setting; the
 * supervisor must pass it through to the worker).
 */
#define SSH_KNOWN_HOSTS_ENV	"PICOFLOW_SSH_KNOWN_HOSTS"

/* Up to the start of the remote command: TCP, handshake, auth, exec. */
#define SSH_CONNECT_TIMEOUT_MS	30000

/*
 * Runs the command; returns 0 with *res filled (any status), or -1 when
 * the supervisor went away (the connection was dropped).
 */
int	 exec_ssh_run(struct worker *, const struct proto_spec *,
	    struct proto_result *);

/*
 * Expands a leading "~" or "~/" against home, "~user/" against that
 * user's home directory; other paths are copied.  0, or -1 with err set.
 */
int	 ssh_expand_path(const char *path, const char *home, char *out,
	    size_t outlen, struct pf_err *err);

#endif
