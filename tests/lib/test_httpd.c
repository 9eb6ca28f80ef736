/*
 * The test HTTP server; see test_httpd.h.  Written for tests only: it
 * trusts its clients (the worker under test) to send sane requests, and
 * caps what it reads anyway.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test_httpd.h"

#define REQ_MAX		(8 * 1024 * 1024)

static int
write_all(int fd, const void *p, size_t n)
{
	const char	*b = p;
	ssize_t		 k;

	while (n > 0) {
		k = write(fd, b, n);
		if (k == -1 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		b += k;
		n -= (size_t)k;
	}
	return 0;
}

static void
respond(int fd, int status, const char *extra, const char *body,
    size_t len)
{
	char	 head[256];
	int	 n;

	n = snprintf(head, sizeof(head), "HTTP/1.1 %d Test\r\n"
	    "Connection: close\r\n", status);
	if (write_all(fd, head, (size_t)n) == -1 ||
	    write_all(fd, extra, strlen(extra)) == -1)
		return;
	n = 0;
	if (status != 204 && status != 304)
		n = snprintf(head, sizeof(head), "Content-Length: %zu\r\n",
		    len);
	n += snprintf(head + n, sizeof(head) - (size_t)n, "\r\n");
	if (write_all(fd, head, (size_t)n) == 0 && status != 204 &&
	    status != 304 && len > 0)
		(void)write_all(fd, body, len);
}

/* Reads one request: headers, then Content-Length bytes of body. */
static char *
read_request(int fd, size_t *len)
{
	char	*buf, *end, *cl;
	size_t	 n = 0, want = 0;
	ssize_t	 k;

	if ((buf = malloc(REQ_MAX + 1)) == NULL)
		return NULL;
	for (;;) {
		if (n == REQ_MAX)
			break;
		k = read(fd, buf + n, REQ_MAX - n);
		if (k <= 0)
			break;
		n += (size_t)k;
		buf[n] = '\0';
		if ((end = strstr(buf, "\r\n\r\n")) == NULL)
			continue;
		if (want == 0) {
			want = (size_t)(end + 4 - buf);
			if ((cl = strcasestr(buf, "\r\nContent-Length:")) !=
			    NULL && cl < end)
				want += strtoul(cl + 17, NULL, 10);
		}
		if (n >= want)
			break;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

static void
serve(int fd)
{
	char	*req, *path, *big, body[64];
	size_t	 len, i;
	int	 st;
	struct pollfd p;

	if ((req = read_request(fd, &len)) == NULL)
		return;
	path = strchr(req, ' ');
	path = path != NULL ? path + 1 : req;
	if (strncmp(path, "/status/", 8) == 0) {
		st = atoi(path + 8);
		snprintf(body, sizeof(body), "status %d\n", st);
		respond(fd, st, "", body, strlen(body));
	} else if (strncmp(path, "/redirect ", 10) == 0)
		respond(fd, 301, "Location: /status/200\r\n", "moved\n", 6);
	else if (strncmp(path, "/redirect-hostile ", 18) == 0)
		/* ESC, quotes, backslash, C1 CSI, RLO, a stray byte. */
		respond(fd, 302, "Location: http://x/\x1b[2J\"'\\\xc2\x9b"
		    "\xe2\x80\xaegpj.exe\xff\r\n", "moved\n", 6);
	else if (strncmp(path, "/echo", 5) == 0)
		respond(fd, 200, "Content-Type: text/plain\r\n", req, len);
	else if (strncmp(path, "/slow ", 6) == 0) {
		/* Returns early when the client closes its end. */
		p.fd = fd;
		p.events = POLLIN;
		if (poll(&p, 1, 30000) == 0)
			respond(fd, 200, "", "late\n", 5);
	} else if (strncmp(path, "/huge ", 6) == 0) {
		if ((big = malloc(TEST_HTTPD_HUGE)) != NULL) {
			memset(big, 'x', TEST_HTTPD_HUGE);
			respond(fd, 200, "", big, TEST_HTTPD_HUGE);
			free(big);
		}
	} else if (strncmp(path, "/bigheaders ", 12) == 0) {
		if ((big = malloc(110 * 1024)) != NULL) {
			big[0] = '\0';
			for (i = 0, len = 0; i < 1000; i++)
				len += (size_t)snprintf(big + len, 110 * 1024 -
				    len, "X-Filler-%04zu: %080d\r\n", i, 0);
			respond(fd, 200, big, "ok\n", 3);
			free(big);
		}
	} else
		respond(fd, 404, "", "not found\n", 10);
	free(req);
}

int
test_httpd_start(struct test_httpd *d)
{
	struct sockaddr_in	 sa;
	socklen_t		 sl = sizeof(sa);
	int			 ls, c, one = 1;

	memset(d, 0, sizeof(*d));
	d->pid = -1;
	if ((ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	(void)setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(ls, (struct sockaddr *)&sa, sizeof(sa)) == -1 ||
	    getsockname(ls, (struct sockaddr *)&sa, &sl) == -1 ||
	    listen(ls, 16) == -1) {
		close(ls);
		return -1;
	}
	d->port = ntohs(sa.sin_port);
	/* Bound before the fork: the port is ours, no race. */
	if ((d->pid = fork()) == -1) {
		close(ls);
		return -1;
	}
	if (d->pid == 0) {
		signal(SIGPIPE, SIG_IGN);
		signal(SIGTERM, SIG_DFL);
		for (;;) {
			if ((c = accept4(ls, NULL, NULL, SOCK_CLOEXEC)) == -1)
				continue;
			serve(c);
			close(c);
		}
	}
	close(ls);
	return 0;
}

void
test_httpd_stop(struct test_httpd *d)
{
	if (d->pid > 0) {
		kill(d->pid, SIGKILL);
		waitpid(d->pid, NULL, 0);
	}
	d->pid = -1;
}
