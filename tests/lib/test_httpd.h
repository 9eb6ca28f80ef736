/*
 * A small HTTP/1.1 server for tests, on 127.0.0.1 on a free port, run in
 * a child process (stopped by its pid).  One connection at a time, one
 * request per connection ("Connection: close").  Paths:
 *
 *	/status/N	answers status N (a short body unless 204 or 304)
 *	/redirect	301 with Location: /status/200
 *	/echo		200, the body is the request as received: request
 *			line, headers, blank line, body
 *	/slow		waits 30 s before answering (or until the client
 *			goes away)
 *	/huge		200 with a 20 MiB body of 'x' (Content-Length set)
 *	/bigheaders	200 with 100 KiB of response headers
 */
#ifndef PICOFLOW_TEST_HTTPD_H
#define PICOFLOW_TEST_HTTPD_H

#include <sys/types.h>

#define TEST_HTTPD_HUGE		(20u * 1024 * 1024)

struct test_httpd {
	pid_t	 pid;
	int	 port;
};

int	 test_httpd_start(struct test_httpd *);
void	 test_httpd_stop(struct test_httpd *);

#endif
