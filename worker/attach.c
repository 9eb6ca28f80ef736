/*
 * A task that outlives its supervisor; see attach.h for the contract and
 * docs/protocol.md ("Re-attach") for the supervisor's side.
 *
 * The spool is written before each frame is sent, so whatever a
 * supervisor may have lost (frames in the socket buffer, output it read
 * but had not stored, a RESULT it had not committed) is still there for
 * the next one; the supervisor skips the output it already stored.
 */
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "picoflow/clock.h"
#include "picoflow/fdio.h"
#include "picoflow/log.h"
#include "picoflow/readfile.h"
#include "attach.h"
#include "worker.h"

#define ATTACH_LISTEN_BACKLOG	2

void
attach_init(struct attach *a)
{
	memset(a, 0, sizeof(*a));
	a->ep = a->lsock = a->spool = a->tfd = -1;
}

void
attach_close(struct attach *a)
{
	if (a->ep != -1)
		close(a->ep);
	if (a->lsock != -1)
		close(a->lsock);
	if (a->spool != -1)
		close(a->spool);
	if (a->tfd != -1)
		close(a->tfd);
	attach_init(a);
}

/* The path a unix socket is bound to: short, through the directory fd. */
static int
sock_addr(int dirfd, const char *name, struct sockaddr_un *sun,
    struct pf_err *err)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if ((size_t)snprintf(sun->sun_path, sizeof(sun->sun_path),
	    "/proc/self/fd/%d/%s", dirfd, name) >= sizeof(sun->sun_path)) {
		pf_err_set(err, "socket name too long");
		return -1;
	}
	return 0;
}

static int
ep_add(int ep, int fd)
{
	struct epoll_event	 ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.fd = fd;
	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

/* Whether the other end of a stream socket has closed (EOF waiting). */
static int
peer_closed(int fd)
{
	char	 c;
	ssize_t	 n;

	n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
	return n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR);
}

int
attach_open(struct worker *w, const struct proto_spec *s, struct pf_err *err)
{
	struct attach		*a = &w->att;
	struct sockaddr_un	 sun;
	struct itimerspec	 its;
	char			 name[64];
	int			 dirfd = -1;
	mode_t			 um;

	if (s->attach_dir == NULL)
		return 0;
	a->attempt_id = s->attempt_id;
	a->window_ms = s->attach_window_ms;
	a->uid = getuid();
	if (readfile_small("/proc/self/cgroup", a->cgroup,
	    sizeof(a->cgroup)) <= 0)
		a->cgroup[0] = '\0';
	if ((dirfd = open(s->attach_dir, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC | O_NOFOLLOW)) == -1) {
		pf_err_set(err, "attach directory %s: %s", s->attach_dir,
		    strerror(errno));
		goto fail;
	}
	snprintf(name, sizeof(name), "%" PRIu64 ".spool", s->attempt_id);
	if ((a->spool = openat(dirfd, name, O_RDWR | O_CREAT | O_EXCL |
	    O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600)) == -1) {
		pf_err_set(err, "spool %s/%s: %s", s->attach_dir, name,
		    strerror(errno));
		goto fail;
	}
	snprintf(name, sizeof(name), "%" PRIu64 ".sock", s->attempt_id);
	if (sock_addr(dirfd, name, &sun, err) == -1)
		goto fail;
	if ((a->lsock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, 0)) == -1) {
		pf_err_set(err, "socket: %s", strerror(errno));
		goto fail;
	}
	um = umask(077);
	if (bind(a->lsock, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		umask(um);
		pf_err_set(err, "socket %s/%s: %s", s->attach_dir, name,
		    strerror(errno));
		goto fail;
	}
	umask(um);
	if (listen(a->lsock, ATTACH_LISTEN_BACKLOG) == -1 ||
	    (a->ep = epoll_create1(EPOLL_CLOEXEC)) == -1 ||
	    (a->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK |
	    TFD_CLOEXEC)) == -1 ||
	    ep_add(a->ep, a->lsock) == -1 || ep_add(a->ep, a->tfd) == -1 ||
	    ep_add(a->ep, w->sock) == -1) {
		pf_err_set(err, "attach socket: %s", strerror(errno));
		goto fail;
	}
	if (s->timeout_ms > 0) {
		memset(&its, 0, sizeof(its));
		its.it_value.tv_sec = (time_t)(s->timeout_ms / 1000);
		its.it_value.tv_nsec = (long)(s->timeout_ms % 1000) * 1000000L;
		if (timerfd_settime(a->tfd, 0, &its, NULL) == -1) {
			pf_err_set(err, "timerfd: %s", strerror(errno));
			goto fail;
		}
	}
	/*
	 * The supervisor may have died between the SPEC and now, before the
	 * socket existed: its successor then found no worker, recorded the
	 * attempt interrupted and runs it again.  Nothing of the task may
	 * run here: undo and give up.  (Once the socket exists, a successor
	 * finds it.)
	 */
	if (peer_closed(w->sock)) {
		pf_err_set(err, "the supervisor went away before the task "
		    "started; nothing ran");
		snprintf(name, sizeof(name), "%" PRIu64 ".spool",
		    s->attempt_id);
		(void)unlinkat(dirfd, name, 0);
		snprintf(name, sizeof(name), "%" PRIu64 ".sock", s->attempt_id);
		(void)unlinkat(dirfd, name, 0);
		w->lost = 1;
		goto fail;
	}
	close(dirfd);
	a->on = 1;
	return 0;
fail:
	if (dirfd != -1)
		close(dirfd);
	attach_close(a);
	return -1;
}

void
attach_record(struct attach *a, const void *p, size_t n)
{
	if (!a->on || a->spool_broken)
		return;
	if (fdio_write_all(a->spool, p, n) == 0) {
		a->spool_len += n;
		return;
	}
	/* A part of a frame would break the stream: cut it off. */
	log_warn("writing the spool (a supervisor that re-attaches gets "
	    "the first %" PRIu64 " bytes)", a->spool_len);
	if (ftruncate(a->spool, (off_t)a->spool_len) == -1)
		log_warn("cutting the spool back");
	a->spool_broken = 1;
}

/* The task's timeout, kept here while no supervisor keeps it. */
static void
attach_stop_on_deadline(struct worker *w)
{
	if (!w->att.deadline || w->sock != -1 || w->att_ended ||
	    w->timed_out || w->stop_seen)
		return;
	w->timed_out = 1;
	w->stop_seen = 1;
	log_info("the task's timeout passed while no supervisor was "
	    "attached: stopping it");
	/* Blocked, so it waits in the signalfd for the executor. */
	(void)kill(getpid(), SIGTERM);
}

void
attach_detach(struct worker *w, const char *why)
{
	if (w->sock == -1)
		return;
	(void)epoll_ctl(w->att.ep, EPOLL_CTL_DEL, w->sock, NULL);
	close(w->sock);
	w->sock = -1;
	log_info("%s: the task goes on; attempt %" PRIu64 " waits for a "
	    "supervisor to re-attach", why, w->att.attempt_id);
	attach_stop_on_deadline(w);
}

/*
 * Whether the connected peer may attach: the supervisor's user, and not
 * a process of the task (the same cgroup as this worker's attempt).
 */
static int
peer_ok(struct worker *w, int fd)
{
	struct ucred	 uc;
	socklen_t	 len = sizeof(uc);
	char		 path[64], cg[sizeof(w->att.cgroup)];

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) == -1) {
		log_warn("re-attach: peer credentials");
		return 0;
	}
	if (uc.uid != w->att.uid) {
		log_warnx("re-attach: refused pid %ld, uid %lu (only uid %lu "
		    "may attach)", (long)uc.pid, (unsigned long)uc.uid,
		    (unsigned long)w->att.uid);
		return 0;
	}
	if (strstr(w->att.cgroup, "/picoflow/") == NULL)
		return 1;
	snprintf(path, sizeof(path), "/proc/%ld/cgroup", (long)uc.pid);
	if (readfile_small(path, cg, sizeof(cg)) <= 0) {
		if (uc.uid == geteuid()) {
			log_warnx("re-attach: refused pid %ld: cannot tell "
			    "whether it belongs to the task", (long)uc.pid);
			return 0;
		}
		return 1;
	}
	if (strcmp(cg, w->att.cgroup) == 0) {
		log_warnx("re-attach: refused pid %ld: a process of the "
		    "task itself", (long)uc.pid);
		return 0;
	}
	return 1;
}

/* Sends the spool as it is now; new frames follow live. */
static void
attach_replay(struct worker *w)
{
	char		 buf[16384];
	uint64_t	 off = 0, end = w->att.spool_len;
	ssize_t		 n;
	size_t		 want;

	while (off < end && w->sock != -1) {
		want = end - off < sizeof(buf) ? (size_t)(end - off) :
		    sizeof(buf);
		n = pread(w->att.spool, buf, want, (off_t)off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			log_warn("reading the spool");
			attach_detach(w, "the spool cannot be read");
			return;
		}
		if (worker_send_bytes(w, buf, (size_t)n) == -1)
			return;
		off += (uint64_t)n;
	}
}

static void
attach_accept(struct worker *w)
{
	int	 fd;

	while ((fd = accept4(w->att.lsock, NULL, NULL, SOCK_CLOEXEC |
	    SOCK_NONBLOCK)) != -1) {
		if (w->sock != -1) {
			log_warnx("re-attach: refused a second supervisor "
			    "(one is attached)");
			close(fd);
			continue;
		}
		if (!peer_ok(w, fd)) {
			close(fd);
			continue;
		}
		if (ep_add(w->att.ep, fd) == -1) {
			log_warn("re-attach: epoll");
			close(fd);
			continue;
		}
		w->sock = fd;
		/* It will stop a task past its timeout once more: the same. */
		w->swallow_stop = w->stop_seen;
		log_info("a supervisor re-attached to attempt %" PRIu64
		    ": sending %" PRIu64 " spooled bytes", w->att.attempt_id,
		    w->att.spool_len);
		attach_replay(w);
	}
	if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
		log_warn("re-attach: accept");
}

static void
attach_conn_readable(struct worker *w)
{
	char	 buf[4096];
	ssize_t	 n;

	n = read(w->sock, buf, sizeof(buf));
	if (n > 0) {
		if (!w->extra_warned)
			log_warnx("ignoring bytes the supervisor sent after "
			    "the SPEC");
		w->extra_warned = 1;
		return;
	}
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	attach_detach(w, n == 0 ? "the supervisor closed the channel" :
	    "reading from the supervisor failed");
}

void
attach_events(struct worker *w)
{
	struct epoll_event	 ev[4];
	uint64_t		 ticks;
	int			 n, i;

	if ((n = epoll_wait(w->att.ep, ev, 4, 0)) <= 0)
		return;
	for (i = 0; i < n; i++) {
		if (ev[i].data.fd == w->att.tfd) {
			if (read(w->att.tfd, &ticks, sizeof(ticks)) > 0)
				w->att.deadline = 1;
			attach_stop_on_deadline(w);
		} else if (ev[i].data.fd == w->att.lsock)
			attach_accept(w);
		else if (w->sock != -1 && ev[i].data.fd == w->sock)
			attach_conn_readable(w);
	}
}

void
attach_linger(struct worker *w)
{
	struct pollfd	 p[2];
	int64_t		 end, now;

	w->att_ended = 1;
	if (!w->att.on || w->sock != -1)
		return;
	end = clock_mono_ms() + (int64_t)w->att.window_ms;
	log_info("the task ended with no supervisor attached: waiting up "
	    "to %" PRIu32 " ms for one", w->att.window_ms);
	while (w->sock == -1 && (now = clock_mono_ms()) < end) {
		p[0].fd = w->att.ep;
		p[0].events = POLLIN;
		p[1].fd = w->sigfd;
		p[1].events = POLLIN;
		if (poll(p, 2, (int)(end - now)) == -1) {
			if (errno == EINTR)
				continue;
			log_warn("poll");
			return;
		}
		if (p[1].revents && worker_read_signals(w) != 0) {
			log_info("stopped while waiting for a supervisor; "
			    "the result stays in the spool");
			return;
		}
		if (p[0].revents)
			attach_events(w);
	}
	if (w->sock == -1)
		log_info("no supervisor re-attached within %" PRIu32 " ms; "
		    "the result stays in the spool", w->att.window_ms);
}
