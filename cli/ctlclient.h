/*
 * The blocking client of pf-supervisor's control socket (the server is
 * supervisor/control.c): picoflow's trigger, cancel, reload and daemon
 * status send one ctl REQUEST per connection and wait for the REPLY
 * (picoflow/ctl.h).
 */
#ifndef PICOFLOW_CTLCLIENT_H
#define PICOFLOW_CTLCLIENT_H

#include "picoflow/ctl.h"
#include "picoflow/err.h"

/*
 * Sends one request to the supervisor listening on path and waits up to
 * timeout_ms for the reply.  The error says plainly when no supervisor
 * is listening.
 */
int	 control_call(const char *path, const struct ctl_request *,
	    struct ctl_reply *, int timeout_ms, struct pf_err *);

#endif
