/*
 * The control socket's client: one request per connection to
 * pf-supervisor (supervisor/control.c serves it), sent and answered
 * within a deadline, on a non-blocking socket polled until then.  The
 * reply is reassembled from its frames and decoded by the ctl codec.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "picoflow/buf.h"
#include "picoflow/clock.h"
#include "picoflow/ctl.h"
#include "picoflow/frame.h"
#include "ctlclient.h"

static long
ms_left(int64_t deadline)
{
	return (long)(deadline - clock_mono_ms());
}

static int
wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd	 p;
	long		 left;
	int		 r;

	for (;;) {
		if ((left = ms_left(deadline)) <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		p.fd = fd;
		p.events = events;
		r = poll(&p, 1, (int)left);
		if (r == 1)
			return 0;
		if (r == -1 && errno != EINTR)
			return -1;
	}
}

int
control_call(const char *path, const struct ctl_request *req,
    struct ctl_reply *rep, int timeout_ms, struct pf_err *err)
{
	struct sockaddr_un	 sa;
	int64_t			 deadline;
	struct frame_reader	 rd;
	struct frame_asm	 fa;
	struct frame		 f;
	struct pf_buf		 out;
	size_t			 off = 0;
	ssize_t			 n;
	int			 fd, r, rc = -1;

	ctl_reply_init(rep);
	if (ctl_sock_addr(path, &sa, err) == -1)
		return -1;
	buf_init(&out, 0);
	if (ctl_request_encode(req, &out, err) == -1) {
		buf_free(&out);
		return -1;
	}
	deadline = clock_mono_ms() + timeout_ms;
	frame_reader_init(&rd, FRAME_PAYLOAD_MAX);
	frame_asm_init(&fa, CTL_REPLY_MAX);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		pf_err_set(err, "socket: %s", strerror(errno));
		goto out;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		if (errno == ENOENT || errno == ECONNREFUSED)
			pf_err_set(err, "pf-supervisor is not running (nothing "
			    "listens on %s)", path);
		else
			pf_err_set(err, "cannot connect to %s: %s", path,
			    strerror(errno));
		goto out;
	}
	while (off < out.len) {
		n = send(fd, out.data + off, out.len - off, MSG_NOSIGNAL);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN &&
		    wait_fd(fd, POLLOUT, deadline) == 0)
			continue;
		pf_err_set(err, "sending to pf-supervisor: %s",
		    strerror(errno));
		goto out;
	}
	for (;;) {
		while ((r = frame_reader_next(&rd, &f, err)) == 1) {
			if (f.type != CTL_MSG_REPLY) {
				pf_err_set(err, "pf-supervisor sent a frame of "
				    "type %u instead of a reply", f.type);
				goto out;
			}
			if ((r = frame_asm_add(&fa, &f, err)) == -1)
				goto out;
			if (r == 1) {
				rc = ctl_reply_decode(fa.body.data,
				    fa.body.len, rep, err);
				goto out;
			}
		}
		if (r == -1)
			goto out;
		if (rd.eof) {
			pf_err_set(err, "pf-supervisor closed the connection "
			    "without a reply");
			goto out;
		}
		if (wait_fd(fd, POLLIN, deadline) == -1) {
			pf_err_set(err, "no reply from pf-supervisor within "
			    "%d ms", timeout_ms);
			goto out;
		}
		n = frame_reader_read(&rd, fd);
		if (n == -1 && errno != EAGAIN && errno != EINTR &&
		    errno != ENOBUFS) {
			pf_err_set(err, "reading from pf-supervisor: %s",
			    strerror(errno));
			goto out;
		}
	}
out:
	if (fd != -1)
		close(fd);
	frame_reader_free(&rd);
	frame_asm_free(&fa);
	buf_free(&out);
	return rc;
}
