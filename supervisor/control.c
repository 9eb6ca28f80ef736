/*
 * The control socket's server side (control.h): the listening socket on
 * pf-supervisor's loop, its non-blocking clients, deferred answers and
 * the pause on a descriptor shortage.  The client is cli/ctlclient.c.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "picoflow/alloc.h"
#include "picoflow/buf.h"
#include "picoflow/ctl.h"
#include "picoflow/frame.h"
#include "picoflow/log.h"
#include "control.h"

struct client {
	struct control		*ctl;
	int			 fd;
	ev_io			 rio, wio;
	ev_timer		 idle;
	struct frame_reader	 rd;
	struct pf_buf		 wbuf;
	uint64_t		 serial;	/* names it for control_answer */
	struct client		*next;
};

struct control {
	struct ev_loop		*loop;
	int			 fd;
	char			*path;
	ev_io			 accept_io;
	ev_timer		 accept_pause;	/* out of fds: accept later */
	unsigned long		 refused;	/* accepts lost to the shortage */
	control_fn		 fn;
	void			*arg;
	struct client		*clients;
	unsigned		 nclients;
	uint64_t		 serials;
	struct client		*asking;	/* inside fn: who asked */
	int			 deferred;	/* fn answers later */
};

static void
client_close(struct client *c)
{
	struct control	*ctl = c->ctl;
	struct client	**pp;

	ev_io_stop(ctl->loop, &c->rio);
	ev_io_stop(ctl->loop, &c->wio);
	ev_timer_stop(ctl->loop, &c->idle);
	close(c->fd);
	frame_reader_free(&c->rd);
	buf_free(&c->wbuf);
	for (pp = &ctl->clients; *pp != NULL; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	ctl->nclients--;
	pf_free(c);
}

static void
on_client_write(struct ev_loop *loop, ev_io *w, int revents)
{
	struct client	*c = w->data;
	ssize_t		 n;

	(void)loop;
	(void)revents;
	while (c->wbuf.len > 0) {
		n = send(c->fd, c->wbuf.data, c->wbuf.len, MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return;
		if (n == -1)
			break;		/* the client went away */
		buf_consume(&c->wbuf, (size_t)n);
	}
	client_close(c);
}

/* Queues the reply and switches the client to writing. */
static void
client_reply(struct client *c, struct ctl_reply *rep)
{
	struct pf_err	 err;

	if (ctl_reply_encode(rep, &c->wbuf, &err) == -1) {
		/* Say something rather than hang up silently. */
		log_warnx("control: %s", err.msg);
		ctl_reply_free(rep);
		rep->ok = 0;
		rep->message = pf_strdup("the supervisor could not encode "
		    "its reply");
		if (ctl_reply_encode(rep, &c->wbuf, &err) == -1) {
			client_close(c);
			return;
		}
	}
	ev_io_stop(c->ctl->loop, &c->rio);
	ev_io_start(c->ctl->loop, &c->wio);
}

static void
on_client_read(struct ev_loop *loop, ev_io *w, int revents)
{
	struct client		*c = w->data;
	struct ctl_request	 req;
	struct ctl_reply	 rep;
	struct frame		 f;
	struct pf_err		 err;
	char			 msg[PF_ERR_MAX + 32];
	ssize_t			 n;
	int			 r;

	(void)loop;
	(void)revents;
	n = frame_reader_read(&c->rd, c->fd);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n == -1 && errno != ENOBUFS) {
		client_close(c);
		return;
	}
	r = frame_reader_next(&c->rd, &f, &err);
	if (r == 0) {
		if (c->rd.eof)
			client_close(c);	/* gone before asking */
		return;
	}
	ctl_reply_init(&rep);
	if (r == -1 || ctl_request_decode(&f, &req, &err) == -1) {
		snprintf(msg, sizeof(msg), "bad request: %s", err.msg);
		log_warnx("control: %s", msg);
		rep.ok = 0;
		rep.message = pf_strdup(msg);
	} else {
		c->ctl->asking = c;
		c->ctl->deferred = 0;
		c->ctl->fn(c->ctl->arg, &req, &rep);
		c->ctl->asking = NULL;
		ctl_request_free(&req);
		if (c->ctl->deferred) {
			/* Nothing more to read; the answer bounds the wait. */
			ev_io_stop(c->ctl->loop, &c->rio);
			ev_timer_stop(c->ctl->loop, &c->idle);
			ctl_reply_free(&rep);
			return;
		}
	}
	client_reply(c, &rep);
	ctl_reply_free(&rep);
}

uint64_t
control_defer(struct control *ctl)
{
	if (ctl == NULL || ctl->asking == NULL)
		return 0;
	ctl->deferred = 1;
	if (ctl->asking->serial == 0)
		ctl->asking->serial = ++ctl->serials;
	return ctl->asking->serial;
}

void
control_answer(struct control *ctl, uint64_t serial, struct ctl_reply *rep)
{
	struct client	*c;

	if (ctl == NULL || serial == 0)
		return;
	for (c = ctl->clients; c != NULL; c = c->next)
		if (c->serial == serial) {
			client_reply(c, rep);
			return;
		}
}

static void
on_client_idle(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	client_close(w->data);
}

/* Only our own user (or root) may drive the supervisor. */
static int
peer_allowed(int fd)
{
	struct ucred	 cr;
	socklen_t	 len = sizeof(cr);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) == -1)
		return 0;
	return cr.uid == 0 || cr.uid == geteuid();
}

/* The shortage that stopped accepting may be over: listen again. */
static void
on_accept_pause(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct control	*ctl = w->data;

	(void)revents;
	ev_io_start(loop, &ctl->accept_io);
}

/*
 * accept() failed for want of descriptors or memory.  The pending
 * connection stays in the backlog and the socket stays readable, so
 * watching it would spin: stop watching for CONTROL_PAUSE_S.  Said
 * once per shortage; the end of it is said when an accept works again.
 */
static void
accept_pause(struct control *ctl)
{
	if (ctl->refused++ == 0)
		log_warn("control: accept (clients wait; tried again every "
		    "%.0f s)", CONTROL_PAUSE_S);
	ev_io_stop(ctl->loop, &ctl->accept_io);
	ev_timer_set(&ctl->accept_pause, CONTROL_PAUSE_S, 0.);
	ev_timer_start(ctl->loop, &ctl->accept_pause);
}

static void
on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
	struct control	*ctl = w->data;
	struct client	*c;
	int		 fd;

	(void)revents;
	for (;;) {
		fd = accept4(ctl->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM)
				accept_pause(ctl);
			else if (errno != EAGAIN)
				log_warn("control: accept");
			return;
		}
		if (ctl->refused > 0) {
			log_info("control: accepting again after %lu refused "
			    "tr%s", ctl->refused, ctl->refused == 1 ? "y" :
			    "ies");
			ctl->refused = 0;
		}
		if (!peer_allowed(fd)) {
			log_warnx("control: refused a client of another user");
			close(fd);
			continue;
		}
		if (ctl->nclients >= CONTROL_CLIENTS_MAX ||
		    (c = pf_calloc(1, sizeof(*c))) == NULL) {
			log_warnx("control: too many clients; dropping one");
			close(fd);
			continue;
		}
		c->ctl = ctl;
		c->fd = fd;
		frame_reader_init(&c->rd, CTL_REQUEST_MAX);
		buf_init(&c->wbuf, 0);
		ev_io_init(&c->rio, on_client_read, fd, EV_READ);
		ev_io_init(&c->wio, on_client_write, fd, EV_WRITE);
		ev_timer_init(&c->idle, on_client_idle, CONTROL_IDLE_S, 0.);
		c->rio.data = c->wio.data = c->idle.data = c;
		c->next = ctl->clients;
		ctl->clients = c;
		ctl->nclients++;
		ev_io_start(loop, &c->rio);
		ev_timer_start(loop, &c->idle);
	}
}

int
control_listen(struct ev_loop *loop, const char *path, control_fn fn,
    void *arg, struct control **out, struct pf_err *err)
{
	struct control		*ctl;
	struct sockaddr_un	 sa;
	struct stat		 sb;

	*out = NULL;
	if (ctl_sock_addr(path, &sa, err) == -1)
		return -1;
	if (lstat(path, &sb) == 0) {
		/* unlink() would only drop a link, but say what it is. */
		if (!S_ISSOCK(sb.st_mode)) {
			pf_err_set(err, "%s exists and is not a socket%s; "
			    "remove it", path, S_ISLNK(sb.st_mode) ? " (a "
			    "symbolic link, which is never followed)" : "");
			return -1;
		}
		/* Left by a supervisor that died: we hold the lock now. */
		if (unlink(path) == -1) {
			pf_err_set(err, "cannot remove stale socket %s: %s",
			    path, strerror(errno));
			return -1;
		}
	}
	if ((ctl = pf_calloc(1, sizeof(*ctl))) == NULL ||
	    (ctl->path = pf_strdup(path)) == NULL) {
		pf_free(ctl);
		pf_err_set(err, "out of memory");
		return -1;
	}
	ctl->loop = loop;
	ctl->fn = fn;
	ctl->arg = arg;
	ctl->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (ctl->fd == -1) {
		pf_err_set(err, "socket: %s", strerror(errno));
		goto fail;
	}
	if (bind(ctl->fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		pf_err_set(err, "cannot bind %s: %s", path, strerror(errno));
		goto fail;
	}
	/* The directory is 0700 already; the socket says so too. */
	if (chmod(path, 0600) == -1 || listen(ctl->fd, 16) == -1) {
		pf_err_set(err, "cannot listen on %s: %s", path,
		    strerror(errno));
		(void)unlink(path);
		goto fail;
	}
	ev_io_init(&ctl->accept_io, on_accept, ctl->fd, EV_READ);
	ctl->accept_io.data = ctl;
	ev_timer_init(&ctl->accept_pause, on_accept_pause, CONTROL_PAUSE_S,
	    0.);
	ctl->accept_pause.data = ctl;
	ev_io_start(loop, &ctl->accept_io);
	*out = ctl;
	return 0;
fail:
	if (ctl->fd != -1)
		close(ctl->fd);
	pf_free(ctl->path);
	pf_free(ctl);
	return -1;
}

void
control_close(struct control *ctl)
{
	if (ctl == NULL)
		return;
	while (ctl->clients != NULL)
		client_close(ctl->clients);
	ev_io_stop(ctl->loop, &ctl->accept_io);
	ev_timer_stop(ctl->loop, &ctl->accept_pause);
	close(ctl->fd);
	(void)unlink(ctl->path);
	pf_free(ctl->path);
	pf_free(ctl);
}
