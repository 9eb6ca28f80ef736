/*
 * The control socket: a unix stream socket in the state directory (mode
 * 0600, and only peers with our uid or root are served) on which
 * pf-supervisor answers one ctl REQUEST per connection (picoflow/ctl.h).
 * The server lives on the supervisor's event loop and never blocks:
 * clients are non-blocking, capped in number, and dropped when idle.
 * The blocking client the command line uses is cli/ctlclient.h.
 */
#ifndef PICOFLOW_CONTROL_H
#define PICOFLOW_CONTROL_H

#include <ev.h>
#include <stdint.h>

#include "picoflow/ctl.h"
#include "picoflow/err.h"

#define CONTROL_CLIENTS_MAX	16
#define CONTROL_IDLE_S		10.0	/* a client gets this long */
#define CONTROL_PAUSE_S		1.0	/* out of fds: accept again after */

struct control;

/* Fills the reply (already initialised) for one request. */
typedef void (*control_fn)(void *arg, const struct ctl_request *,
	    struct ctl_reply *);

/*
 * Binds path (removing a stale socket there: the caller must hold the
 * state directory's lock) and serves it on loop.
 */
int	 control_listen(struct ev_loop *, const char *path, control_fn,
	    void *arg, struct control **out, struct pf_err *);
/*
 * Inside a control_fn: the answer comes later (the reply filled now is
 * dropped).  Returns the client's serial for control_answer, 0 when not
 * called from a control_fn.  A deferred client is not timed out: the
 * caller promises an answer (pf-supervisor's reload has its own deadline).
 */
uint64_t control_defer(struct control *);
/* Sends rep to the deferred client `serial`, if it is still there. */
void	 control_answer(struct control *, uint64_t serial,
	    struct ctl_reply *);
/* Stops serving, closes every client and removes the socket file. */
void	 control_close(struct control *);

#endif
