/*
 * Drives build/pf-worker like the supervisor does; see worker_harness.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "picoflow/alloc.h"
#include "picoflow/proto.h"
#include "proc.h"
#include "worker_harness.h"

#define WH_WRAP_MAX	32

double
wh_now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
wh_bad(struct wh *h, const char *fmt, ...) __attribute__((format(printf, 2,
    3)));

static void
wh_bad(struct wh *h, const char *fmt, ...)
{
	va_list	 ap;

	if (h->nbad++ > 0)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(h->bad, sizeof(h->bad), fmt, ap);
	va_end(ap);
}

/* The worker's peak RSS as the kernel reports it, while it is alive. */
static void
wh_sample(struct wh *h)
{
	char		 path[64], buf[2048], *p;
	unsigned long	 kib;
	ssize_t		 n;
	int		 fd;

	if (h->reaped)
		return;
	snprintf(path, sizeof(path), "/proc/%ld/status", (long)h->pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	if ((p = strstr(buf, "\nVmHWM:")) == NULL)
		return;		/* a zombie has no memory left */
	kib = strtoul(p + 7, NULL, 10);
	if (kib > h->hwm_kib)
		h->hwm_kib = kib;
}

/* The worker binary under test; this test process owns the choice. */
static const char	*wh_bin = "pf-worker";

void
wh_binary(const char *name)
{
	wh_bin = name;
}

int
wh_start(struct wh *h, char *const env[])
{
	static char		*empty[] = { NULL };
	char			*argv[WH_WRAP_MAX + 2], *wrap = NULL, *w, *save;
	const char		*s;
	posix_spawn_file_actions_t fa;
	int			 sv[2], rc, n = 0;

	memset(h, 0, sizeof(*h));
	h->sock = h->logfd = -1;
	h->pid = -1;
	buf_init(&h->out[0], 0);
	buf_init(&h->out[1], 0);
	proto_result_init(&h->result);
	frame_reader_init(&h->r, 0);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
		return -1;
	if ((h->logfd = memfd_create("pf-worker-log", MFD_CLOEXEC)) == -1) {
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if ((s = getenv("PF_TEST_WORKER_WRAPPER")) != NULL && *s != '\0') {
		wrap = strdup(s);
		for (w = strtok_r(wrap, " ", &save); w != NULL &&
		    n < WH_WRAP_MAX; w = strtok_r(NULL, " ", &save))
			argv[n++] = w;
	}
	argv[n++] = strdup(test_bin(wh_bin));
	argv[n] = NULL;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, h->logfd, 1);
	posix_spawn_file_actions_adddup2(&fa, h->logfd, 2);
	posix_spawn_file_actions_adddup2(&fa, sv[1], PF_WORKER_FD);
	posix_spawn_file_actions_addclosefrom_np(&fa, PF_WORKER_FD + 1);
	rc = posix_spawnp(&h->pid, argv[0], &fa, NULL, argv,
	    env != NULL ? env : empty);
	posix_spawn_file_actions_destroy(&fa);
	free(argv[n - 1]);
	free(wrap);
	close(sv[1]);
	h->sock = sv[0];
	if (rc != 0) {
		errno = rc;
		h->pid = -1;
		return -1;
	}
	return 0;
}

int
wh_wait_ready(struct wh *h, double timeout_s)
{
	double	 end = wh_now() + timeout_s;
	char	 dir[64], path[384], link[128];
	DIR	*d;
	struct dirent *de;
	ssize_t	 n;
	int	 found = 0;

	snprintf(dir, sizeof(dir), "/proc/%ld/fd", (long)h->pid);
	while (!found && wh_now() < end) {
		if ((d = opendir(dir)) == NULL)
			return -1;
		while (!found && (de = readdir(d)) != NULL) {
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			n = readlink(path, link, sizeof(link) - 1);
			if (n > 0) {
				link[n] = '\0';
				found = strstr(link, "signalfd") != NULL;
			}
		}
		closedir(d);
		if (!found)
			usleep(5000);
	}
	return found ? 0 : -1;
}

int
wh_under_valgrind(void)
{
	const char	*s = getenv("PF_TEST_WORKER_WRAPPER");

	return s != NULL && strstr(s, "valgrind") != NULL;
}

int
wh_send(struct wh *h, const void *p, size_t n)
{
	const uint8_t	*b = p;
	ssize_t		 k;

	while (n > 0) {
		k = send(h->sock, b, n, MSG_NOSIGNAL);
		if (k == -1 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		b += k;
		n -= (size_t)k;
	}
	return 0;
}

int
wh_send_spec(struct wh *h, const struct proto_spec *spec)
{
	struct pf_buf	 b;
	struct pf_err	 err;
	int		 rc;

	buf_init(&b, 0);
	if (proto_spec_encode(spec, &b, &err) == -1) {
		fprintf(stderr, "wh_send_spec: %s\n", err.msg);
		buf_free(&b);
		return -1;
	}
	rc = wh_send(h, b.data, b.len);
	buf_free(&b);
	return rc;
}

void
wh_shutdown(struct wh *h)
{
	if (h->sock != -1)
		(void)shutdown(h->sock, SHUT_WR);
}

void
wh_close(struct wh *h)
{
	if (h->sock != -1)
		close(h->sock);
	h->sock = -1;
	h->eof = 1;
}

/* Checks one frame against the protocol's order and records it. */
static void
wh_frame(struct wh *h, const struct frame *f)
{
	struct pf_err		 err;
	struct proto_output	 o;

	if (h->nresult > 0) {
		wh_bad(h, "a frame of type %u after RESULT", f->type);
		return;
	}
	switch (f->type) {
	case PROTO_MSG_STARTED:
		if (h->nstarted > 0)
			wh_bad(h, "a second STARTED");
		if (proto_started_decode(f, &h->started, &err) == -1)
			wh_bad(h, "%s", err.msg);
		h->nstarted++;
		break;
	case PROTO_MSG_OUTPUT:
		if (h->nstarted == 0)
			wh_bad(h, "OUTPUT before STARTED");
		if (proto_output_decode(f, &o, &err) == -1) {
			wh_bad(h, "%s", err.msg);
			break;
		}
		buf_add(&h->out[o.stream - 1], o.data, o.len);
		h->noutput++;
		break;
	case PROTO_MSG_RESULT:
		if (proto_result_decode(f, &h->result, &err) == -1)
			wh_bad(h, "%s", err.msg);
		h->nresult++;
		break;
	default:
		wh_bad(h, "unexpected frame type %u", f->type);
		break;
	}
}

/* One poll step of at most ms milliseconds. */
static void
wh_pump(struct wh *h, int ms)
{
	struct pollfd	 p;
	struct frame	 f;
	struct pf_err	 err;
	ssize_t		 n;
	int		 rc;

	if (h->eof || h->sock == -1)
		return;
	p.fd = h->sock;
	p.events = POLLIN;
	if (poll(&p, 1, ms) <= 0)
		return;
	n = frame_reader_read(&h->r, h->sock);
	if (n == 0)
		h->eof = 1;
	else if (n == -1 && errno != EAGAIN && errno != EINTR &&
	    errno != EPROTO) {
		wh_bad(h, "read: %s", strerror(errno));
		h->eof = 1;
	}
	while ((rc = frame_reader_next(&h->r, &f, &err)) == 1) {
		wh_frame(h, &f);
		wh_sample(h);
	}
	if (rc == -1) {
		wh_bad(h, "stream: %s", err.msg);
		h->eof = 1;
	}
}

static int
wh_wait(struct wh *h, int (*cond)(struct wh *, const void *),
    const void *arg, double timeout_s)
{
	double	 end = wh_now() + timeout_s, left;

	for (;;) {
		if (cond(h, arg))
			return 0;
		if (h->eof)
			return -1;
		if ((left = end - wh_now()) <= 0)
			return -1;
		wh_pump(h, left > 0.05 ? 50 : (int)(left * 1000) + 1);
		wh_sample(h);
	}
}

static int
cond_started(struct wh *h, const void *arg)
{
	(void)arg;
	return h->nstarted > 0;
}

int
wh_wait_started(struct wh *h, double timeout_s)
{
	return wh_wait(h, cond_started, NULL, timeout_s);
}

struct needle {
	int		 stream;
	const char	*s;
};

static int
cond_output(struct wh *h, const void *arg)
{
	const struct needle	*n = arg;

	return strstr(wh_out(h, n->stream), n->s) != NULL;
}

int
wh_wait_output(struct wh *h, int stream, const char *s, double timeout_s)
{
	struct needle	 n;

	n.stream = stream;
	n.s = s;
	return wh_wait(h, cond_output, &n, timeout_s);
}

static int
cond_never(struct wh *h, const void *arg)
{
	(void)h;
	(void)arg;
	return 0;
}

int
wh_collect(struct wh *h, double timeout_s)
{
	wh_wait(h, cond_never, NULL, timeout_s);
	return h->eof ? 0 : -1;
}

int
wh_reap(struct wh *h, double timeout_s)
{
	double	 end = wh_now() + timeout_s;
	pid_t	 p;
	off_t	 len;
	int	 rc = 0;

	if (h->pid == -1 || h->reaped)
		return h->reaped ? 0 : -1;
	for (;;) {
		p = waitpid(h->pid, &h->status, WNOHANG);
		if (p == h->pid)
			break;
		if (p == -1 && errno != EINTR)
			return -1;
		if (wh_now() > end) {
			kill(h->pid, SIGKILL);
			waitpid(h->pid, &h->status, 0);
			rc = -1;
			break;
		}
		usleep(1000);
	}
	h->reaped = 1;
	len = lseek(h->logfd, 0, SEEK_END);
	if (len >= 0 && (h->log = malloc((size_t)len + 1)) != NULL) {
		if (pread(h->logfd, h->log, (size_t)len, 0) != len)
			len = 0;
		h->log[len] = '\0';
	}
	return rc;
}

void
wh_free(struct wh *h)
{
	if (h->pid != -1 && !h->reaped) {
		kill(h->pid, SIGKILL);
		waitpid(h->pid, &h->status, 0);
		h->reaped = 1;
	}
	if (h->sock != -1)
		close(h->sock);
	if (h->logfd != -1)
		close(h->logfd);
	h->sock = h->logfd = -1;
	buf_free(&h->out[0]);
	buf_free(&h->out[1]);
	proto_result_free(&h->result);
	frame_reader_free(&h->r);
	free(h->log);
	h->log = NULL;
}

int
wh_run(struct wh *h, const struct proto_spec *spec, double timeout_s)
{
	if (wh_start(h, NULL) == -1 || wh_send_spec(h, spec) == -1)
		return -1;
	if (wh_collect(h, timeout_s) == -1) {
		wh_reap(h, 0);
		return -1;
	}
	return wh_reap(h, timeout_s);
}

void
wh_shell_spec(struct proto_spec *s, const char *command, char *const args[])
{
	size_t	 n = 0;

	proto_spec_init(s);
	s->attempt_id = 1;
	s->run_id = "test-run";
	s->task_name = "task";
	s->executor = PROTO_EXEC_SHELL;
	s->command = (char *)(uintptr_t)command;
	while (args != NULL && args[n] != NULL)
		n++;
	s->args = (char **)(uintptr_t)args;
	s->nargs = n;
}

const char *
wh_out(struct wh *h, int stream)
{
	return buf_cstr(&h->out[stream - 1]);
}
