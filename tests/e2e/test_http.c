/*
 * The http executor end to end: build/pf-worker against the test server
 * of tests/lib/test_httpd.c on 127.0.0.1 (a free port per test), plus
 * the private-address classifier on its own.  Nothing but 127.0.0.1 is
 * contacted: names used here resolve to loopback or not at all.
 */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "picoflow/proto.h"
#include "picoflow/store.h"
#include "../lib/proc.h"
#include "../lib/test_httpd.h"
#include "../lib/worker_harness.h"

#include "exec_http.h"

#define T_RUN	30.0

#if defined(__SANITIZE_ADDRESS__)
#define WORKER_RSS_MAX_KIB	(128 * 1024)
#else
#define WORKER_RSS_MAX_KIB	(24 * 1024)
#endif

static struct test_httpd httpd;
static char		 url[256];
/* Cleaned up by teardown even when an assertion ends a test early. */
static pid_t		 tls_pid = -1;
static char		*scratch;

static void
setup(void)
{
	wh_binary("pf-worker-net");
	cr_assert_eq(test_httpd_start(&httpd), 0);
}

static void
teardown(void)
{
	test_httpd_stop(&httpd);
	if (tls_pid > 0) {
		kill(tls_pid, SIGKILL);
		waitpid(tls_pid, NULL, 0);
	}
	if (scratch != NULL)
		test_rmrf(scratch);
	free(scratch);
}

TestSuite(http, .init = setup, .fini = teardown, .timeout = 90);

/* An http SPEC for a path on the test server, private addresses allowed. */
static void
http_spec(struct proto_spec *s, const char *method, const char *path)
{
	wh_shell_spec(s, "/bin/true", NULL);
	s->command = NULL;
	s->executor = PROTO_EXEC_HTTP;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", httpd.port, path);
	s->http.url = url;
	s->http.method = (char *)(uintptr_t)method;
	s->http.timeout = 30;
	s->http.allow_private_ips = true;
}

static void
run(struct wh *h, const struct proto_spec *s)
{
	cr_assert_eq(wh_run(h, s, T_RUN), 0, "worker did not finish");
	cr_assert_eq(h->nbad, 0, "protocol violation: %s", h->bad);
	cr_assert_eq(h->nresult, 1, "exactly one RESULT (log: %s)",
	    h->log ? h->log : "");
	cr_assert(WIFEXITED(h->status) && WEXITSTATUS(h->status) == 0,
	    "worker exit status %d, log: %s", h->status, h->log);
}

/* The request the server saw, as the echo endpoint returns it. */
static const char *
echoed(struct wh *h)
{
	return wh_out(h, PROTO_STDOUT);
}

static int
has_header(const char *req, const char *line)
{
	char	 want[512];

	snprintf(want, sizeof(want), "\r\n%s\r\n", line);
	return strstr(req, want) != NULL;
}

static size_t
count_ci(const char *hay, const char *needle)
{
	size_t	 n = 0;

	while ((hay = strcasestr(hay, needle)) != NULL) {
		n++;
		hay++;
	}
	return n;
}

Test(http, get_success_body_is_stdout)
{
	struct proto_spec	 s;
	struct wh		 h;

	http_spec(&s, "GET", "/status/200");
	run(&h, &s);
	cr_assert_eq(h.result.status, PROTO_ST_OK, "%s", h.result.error);
	cr_assert_eq(h.result.http_status, 200);
	cr_assert_str_eq(wh_out(&h, 1), "status 200\n");
	cr_assert_str_eq(wh_out(&h, 2), "");
	cr_assert_eq(h.result.stdout_bytes, 11);
	cr_assert_eq(h.result.dropped, 0);
	cr_assert_null(h.result.error);
	cr_assert_eq(h.nstarted, 1);
	cr_assert_eq(h.started.pid, 0);
	wh_free(&h);
}

Test(http, default_method_is_get_and_headers_are_sent)
{
	struct proto_spec	 s;
	struct wh		 h;
	struct tlv_kv		 kv[2] = { { "X-Token", "abc def" },
	    { "X-Empty", "" } };

	http_spec(&s, NULL, "/echo");
	s.http.headers = kv;
	s.http.nheaders = 2;
	run(&h, &s);
	cr_assert_eq(h.result.status, PROTO_ST_OK, "%s", h.result.error);
	cr_assert(strncmp(echoed(&h), "GET /echo HTTP/1.1\r\n", 20) == 0,
	    "%s", echoed(&h));
	cr_assert(has_header(echoed(&h), "X-Token: abc def"), "%s",
	    echoed(&h));
	cr_assert(has_header(echoed(&h), "X-Empty:"), "%s", echoed(&h));
	cr_assert_eq(count_ci(echoed(&h), "content-type"), 0);
	wh_free(&h);
}

Test(http, post_json_body_gets_content_type)
{
	struct proto_spec	 s;
	struct wh		 h;
	const char		*req, *body = "{\"a\":1,\"b\":[true,null]}";

	http_spec(&s, "POST", "/echo");
	s.http.body = (char *)(uintptr_t)body;
	s.http.body_is_json = true;
	run(&h, &s);
	cr_assert_eq(h.result.status, PROTO_ST_OK, "%s", h.result.error);
	req = echoed(&h);
	cr_assert(strncmp(req, "POST /echo HTTP/1.1\r\n", 21) == 0, "%s", req);
	cr_assert(has_header(req, "Content-Type: application/json"), "%s",
	    req);
	cr_assert(has_header(req, "Content-Length: 23"), "%s", req);
	cr_assert_eq(count_ci(req, "expect:"), 0, "%s", req);
	cr_assert_str_eq(strstr(req, "\r\n\r\n") + 4, body);
	wh_free(&h);
}

Test(http, user_content_type_wins)
{
	struct proto_spec	 s;
	struct wh		 h;
	struct tlv_kv		 kv[1] = { { "content-type",
	    "application/vnd.test+json" } };

	http_spec(&s, "PATCH", "/echo");
	s.http.body = "[1,2]";
	s.http.body_is_json = true;
	s.http.headers = kv;
	s.http.nheaders = 1;
	run(&h, &s);
	cr_assert_eq(h.result.status, PROTO_ST_OK, "%s", h.result.error);
	cr_assert(strncmp(echoed(&h), "PATCH /echo ", 12) == 0);
	cr_assert_eq(count_ci(echoed(&h), "content-type"), 1, "%s",
	    echoed(&h));
	cr_assert(has_header(echoed(&h),
	    "content-type: application/vnd.test+json"), "%s", echoed(&h));
	wh_free(&h);
}

Test(http, string_body_is_sent_verbatim)
{
	struct proto_spec	 s;
	struct wh		 h;
	const char		*body = "\"quoted\" {not: json} \\n";

	http_spec(&s, "PUT", "/echo");
	s.http.body = (char *)(uintptr_t)body;
	run(&h, &s);
	cr_assert_eq(h.result.status, PROTO_ST_OK, "%s", h.result.error);
	cr_assert(strncmp(echoed(&h), "PUT /echo HTTP/1.1\r\n", 20) == 0);
	cr_assert_str_eq(strstr(echoed(&h), "\r\n\r\n") + 4, body);
	/* No Content-Type the task did not ask for (curl adds a form one). */
	cr_assert_eq(count_ci(echoed(&h), "content-type"), 0, "%s",
	    echoed(&h));
	wh_free(&h);
}

Test(http, delete_and_empty_put)
{
	struct proto_spec	 s;
	struct wh		 h;

	http_spec(&s, "DELETE", "/echo");
	run(&h, &s);
	cr_assert_eq(h.result.status, PROTO_ST_OK, "%s", h.result.error);
	cr_assert(strncmp(echoed(&h), "DELETE /echo HTTP/1.1\r\n", 23) == 0);
	wh_free(&h);

	http_spec(&s, "PUT", "/echo");
	run(&h, &s);
	cr_assert_eq(h.result.status, PROTO_ST_OK, "%s", h.result.error);
	cr_assert(strncmp(echoed(&h), "PUT /echo HTTP/1.1\r\n", 20) == 0);
	cr_assert(has_header(echoed(&h), "Content-Length: 0"), "%s",
	    echoed(&h));
	wh_free(&h);
}

Test(http, head_has_no_body)
{
	struct proto_spec	 s;
	struct wh		 h;

	http_spec(&s, "HEAD", "/status/200");
	run(&h, &s);
	cr_assert_eq(h.result.status, PROTO_ST_OK, "%s", h.result.error);
	cr_assert_eq(h.result.http_status, 200);
	cr_assert_str_eq(wh_out(&h, 1), "");
	cr_assert_eq(h.result.stdout_bytes, 0);
	wh_free(&h);
}

Test(http, status_404_and_500_fail)
{
	struct proto_spec	 s;
	struct wh		 h;

	http_spec(&s, "GET", "/status/404");
	run(&h, &s);
	cr_assert_eq(h.result.status, PROTO_ST_FAILED);
	cr_assert_eq(h.result.http_status, 404);
	cr_assert_str_eq(h.result.error, "HTTP status 404 (success is 2xx)");
	cr_assert_str_eq(wh_out(&h, 1), "status 404\n");
	wh_free(&h);

	http_spec(&s, "GET", "/status/500");
	run(&h, &s);
	cr_assert_eq(h.result.status, PROTO_ST_FAILED);
	cr_assert_eq(h.result.http_status, 500);
	wh_free(&h);

	/* 2xx boundaries: 299 succeeds, 204 with no body succeeds. */
	http_spec(&s, "GET", "/status/299");
	run(&h, &s);
	cr_assert_eq(h.result.status, PROTO_ST_OK);
	cr_assert_eq(h.result.http_status, 299);
	wh_free(&h);
	http_spec(&s, "GET", "/status/204");
	run(&h, &s);
	cr_assert_eq(h.result.status, PROTO_ST_OK);
	cr_assert_eq(h.result.http_status, 204);
	cr_assert_str_eq(wh_out(&h, 1), "");
	wh_free(&h);
}

Test(http, success_status_list)
{
	struct proto_spec	 s;
	struct wh		 h;
	int			 ok[] = { 404, 201 };

	http_spec(&s, "GET", "/status/404");
	s.http.success_status = ok;
	s.http.nsuccess_status = 2;
	run(&h, &s);
	cr_assert_eq(h.result.status, PROTO_ST_OK, "%s", h.result.error);
	cr_assert_eq(h.result.http_status, 404);
	wh_free(&h);

	/* With a list, 200 is no longer a success. */
	http_spec(&s, "GET", "/status/200");
	s.http.success_status = ok;
	s.http.nsuccess_status = 2;
	run(&h, &s);
	cr_assert_eq(h.result.status, PROTO_ST_FAILED);
	cr_assert_str_eq(h.result.error,
	    "HTTP status 200 is not in success_status");
	wh_free(&h);
}

Test(http, redirect_is_not_followed)
{
	struct proto_spec	 s;
	struct wh		 h;
	char			 want[256];

	http_spec(&s, "GET", "/redirect");
	run(&h, &s);
	cr_assert_eq(h.result.status, PROTO_ST_FAILED);
	cr_assert_eq(h.result.http_status, 301);
	snprintf(want, sizeof(want), "HTTP status 301: a redirect to Location "
	    "\"/status/200\" (redirects are not followed)");
	cr_assert_str_eq(h.result.error, want);
	cr_assert_str_eq(wh_out(&h, 1), "moved\n");
	wh_free(&h);
}

Test(http, loopback_refused_by_default)
{
	struct proto_spec	 s;
	struct wh		 h;

	http_spec(&s, "GET", "/status/200");
	s.http.allow_private_ips = false;
	run(&h, &s);
	cr_assert_eq(h.result.status, PROTO_ST_EXEC_ERROR);
	cr_assert_eq(h.result.http_status, 0);
	cr_assert_str_eq(h.result.error, "refused to connect to 127.0.0.1, "
	    "a loopback address: private addresses are denied unless the "
	    "task sets allow_private_ips: true");
	cr_assert_str_eq(wh_out(&h, 1), "");
	wh_free(&h);
}

/* A name is judged by the address it resolves to, not by its text. */
Test(http, localhost_name_refused_on_its_address)
{
	struct proto_spec	 s;
	struct wh		 h;

	http_spec(&s, "GET", "/status/200");
	snprintf(url, sizeof(url), "http://localhost:%d/status/200",
	    httpd.port);
	s.http.allow_private_ips = false;
	run(&h, &s);
	cr_assert_eq(h.result.status, PROTO_ST_EXEC_ERROR);
	cr_assert(strstr(h.result.error, "refused to connect to 127.0.0.1, "
	    "a loopback address") != NULL || strstr(h.result.error,
	    "refused to connect to ::1, a loopback (::1) address") != NULL,
	    "%s", h.result.error);
	wh_free(&h);

	/* Allowed, the same name works. */
	http_spec(&s, "GET", "/status/200");
	snprintf(url, sizeof(url), "http://localhost:%d/status/200",
	    httpd.port);
	run(&h, &s);
	cr_assert_eq(h.result.status, PROTO_ST_OK, "%s", h.result.error);
	wh_free(&h);
}

Test(http, request_timeout)
{
	struct proto_spec	 s;
	struct wh		 h;
	double			 t0 = wh_now();

	http_spec(&s, "GET", "/slow");
	s.http.timeout = 1;
	run(&h, &s);
	cr_assert_lt(wh_now() - t0, 15.0);
	cr_assert_geq(wh_now() - t0, 0.9);
	cr_assert_eq(h.result.status, PROTO_ST_FAILED);
	cr_assert_str_eq(h.result.error,
	    "the request timed out after 1 s (timeout)");
	cr_assert_eq(h.result.http_status, 0);
	wh_free(&h);
}

Test(http, stop_signal_aborts_a_slow_request)
{
	struct proto_spec	 s;
	struct wh		 h;
	double			 t0;

	http_spec(&s, "GET", "/slow");
	cr_assert_eq(wh_start(&h, NULL), 0);
	cr_assert_eq(wh_send_spec(&h, &s), 0);
	cr_assert_eq(wh_wait_started(&h, T_RUN), 0);
	cr_assert_eq(wh_wait_ready(&h, T_RUN), 0);
	t0 = wh_now();
	kill(h.pid, SIGTERM);
	cr_assert_eq(wh_collect(&h, T_RUN), 0);
	cr_assert_eq(wh_reap(&h, T_RUN), 0);
	cr_assert_lt(wh_now() - t0, 10.0);
	cr_assert_eq(h.nresult, 1);
	cr_assert_eq(h.result.status, PROTO_ST_KILLED);
	cr_assert_str_eq(h.result.error, "stopped on request (SIGTERM to the "
	    "worker): the request was aborted");
	cr_assert(WIFEXITED(h.status) && WEXITSTATUS(h.status) == 0);
	wh_free(&h);
}

Test(http, supervisor_gone_aborts)
{
	struct proto_spec	 s;
	struct wh		 h;

	http_spec(&s, "GET", "/slow");
	cr_assert_eq(wh_start(&h, NULL), 0);
	cr_assert_eq(wh_send_spec(&h, &s), 0);
	cr_assert_eq(wh_wait_started(&h, T_RUN), 0);
	wh_close(&h);
	cr_assert_eq(wh_reap(&h, T_RUN), 0);
	cr_assert(WIFEXITED(h.status) && WEXITSTATUS(h.status) == 1);
	wh_free(&h);
}

Test(http, huge_body_capped_with_exact_count)
{
	struct proto_spec	 s;
	struct wh		 h;

	http_spec(&s, "GET", "/huge");
	s.output_cap = 1048576;
	run(&h, &s);
	cr_assert_eq(h.result.status, PROTO_ST_OK, "%s", h.result.error);
	cr_assert_eq(h.result.stdout_bytes, 1048576);
	cr_assert_eq(h.out[0].len, 1048576);
	cr_assert_eq(h.result.dropped, TEST_HTTPD_HUGE - 1048576);
	cr_assert(h.result.truncated);
	cr_log_info("worker peak RSS %llu KiB for a 20 MiB body",
	    (unsigned long long)h.result.worker_rss_kib);
	if (!wh_under_valgrind())
		cr_assert_lt(h.result.worker_rss_kib, WORKER_RSS_MAX_KIB,
		    "worker peak RSS %llu KiB",
		    (unsigned long long)h.result.worker_rss_kib);
	wh_free(&h);
}

Test(http, oversized_response_headers_refused)
{
	struct proto_spec	 s;
	struct wh		 h;

	http_spec(&s, "GET", "/bigheaders");
	run(&h, &s);
	cr_assert_eq(h.result.status, PROTO_ST_FAILED, "%d %s",
	    h.result.status, h.result.error);
	cr_assert_str_eq(h.result.error,
	    "the response headers exceed 65536 bytes");
	wh_free(&h);
}

Test(http, unsupported_schemes)
{
	struct proto_spec	 s;
	struct wh		 h;
	const char		*urls[] = { "ftp://127.0.0.1/x",
	    "file:///etc/passwd", "gopher://127.0.0.1/", "127.0.0.1/x" };
	char			 want[256];
	size_t			 i;

	for (i = 0; i < 4; i++) {
		http_spec(&s, "GET", "/");
		s.http.url = (char *)(uintptr_t)urls[i];
		run(&h, &s);
		cr_assert_eq(h.result.status, PROTO_ST_EXEC_ERROR);
		snprintf(want, sizeof(want), "unsupported URL scheme (only "
		    "http:// and https:// URLs): %s", urls[i]);
		cr_assert_str_eq(h.result.error, want);
		cr_assert_eq(h.nstarted, 0);
		wh_free(&h);
	}
}

Test(http, header_injection_refused)
{
	struct proto_spec	 s;
	struct wh		 h;
	struct tlv_kv		 kv[1] = { { "X-A", "1\r\nX-Injected: 2" } };

	http_spec(&s, "GET", "/echo");
	s.http.headers = kv;
	s.http.nheaders = 1;
	run(&h, &s);
	cr_assert_eq(h.result.status, PROTO_ST_EXEC_ERROR);
	cr_assert_str_eq(h.result.error, "header name or value contains a "
	    "line break or the name is empty or contains ':': 'X-A'");
	wh_free(&h);
}

Test(http, connection_refused)
{
	struct proto_spec	 s;
	struct wh		 h;

	http_spec(&s, "GET", "/status/200");
	test_httpd_stop(&httpd);
	run(&h, &s);
	cr_assert_eq(h.result.status, PROTO_ST_EXEC_ERROR);
	cr_assert(strncmp(h.result.error, "Couldn't connect to server: ",
	    28) == 0, "%s", h.result.error);
	wh_free(&h);
}

static const char *
classify(const char *text)
{
	struct sockaddr_in	 s4;
	struct sockaddr_in6	 s6;

	memset(&s4, 0, sizeof(s4));
	memset(&s6, 0, sizeof(s6));
	if (inet_pton(AF_INET, text, &s4.sin_addr) == 1) {
		s4.sin_family = AF_INET;
		return http_addr_private((struct sockaddr *)&s4);
	}
	cr_assert_eq(inet_pton(AF_INET6, text, &s6.sin6_addr), 1, "%s", text);
	s6.sin6_family = AF_INET6;
	return http_addr_private((struct sockaddr *)&s6);
}

Test(http_addr, private_ranges_and_their_edges)
{
	static const struct { const char *a, *why; } t[] = {
		{ "0.0.0.0", "unspecified (0.0.0.0/8)" },
		{ "0.255.255.255", "unspecified (0.0.0.0/8)" },
		{ "1.0.0.0", NULL },
		{ "9.255.255.255", NULL },
		{ "10.0.0.0", "private (RFC 1918)" },
		{ "10.255.255.255", "private (RFC 1918)" },
		{ "11.0.0.0", NULL },
		{ "100.63.255.255", NULL },
		{ "100.64.0.0", "shared address space (CGNAT, 100.64.0.0/10)" },
		{ "100.127.255.255",
		    "shared address space (CGNAT, 100.64.0.0/10)" },
		{ "100.128.0.0", NULL },
		{ "126.255.255.255", NULL },
		{ "127.0.0.1", "loopback" },
		{ "127.255.255.255", "loopback" },
		{ "128.0.0.0", NULL },
		{ "169.254.0.1", "link-local" },
		{ "169.255.0.1", NULL },
		{ "172.15.255.255", NULL },
		{ "172.16.0.0", "private (RFC 1918)" },
		{ "172.31.255.255", "private (RFC 1918)" },
		{ "172.32.0.0", NULL },
		{ "192.0.0.8", "IETF protocol assignments (192.0.0.0/24)" },
		{ "192.0.2.1", "documentation (TEST-NET)" },
		{ "192.88.99.1", "6to4 relay anycast (192.88.99.0/24)" },
		{ "192.167.255.255", NULL },
		{ "192.168.0.0", "private (RFC 1918)" },
		{ "192.168.255.255", "private (RFC 1918)" },
		{ "192.169.0.0", NULL },
		{ "198.17.255.255", NULL },
		{ "198.18.0.0", "benchmarking (198.18.0.0/15)" },
		{ "198.19.255.255", "benchmarking (198.18.0.0/15)" },
		{ "198.20.0.0", NULL },
		{ "198.51.100.7", "documentation (TEST-NET)" },
		{ "203.0.113.7", "documentation (TEST-NET)" },
		{ "8.8.8.8", NULL },
		{ "223.255.255.255", NULL },
		{ "224.0.0.1", "multicast" },
		{ "239.255.255.255", "multicast" },
		{ "240.0.0.1", "reserved (240.0.0.0/4)" },
		{ "255.255.255.255", "broadcast" },
		{ "::", "unspecified (::)" },
		{ "::1", "loopback (::1)" },
		{ "::2", "IPv4-compatible IPv6" },
		{ "::ffff:127.0.0.1", "IPv4-mapped IPv6" },
		{ "::ffff:8.8.8.8", "IPv4-mapped IPv6" },
		{ "::127.0.0.1", "IPv4-compatible IPv6" },
		{ "64:ff9b::8.8.8.8", NULL },
		{ "64:ff9b::10.0.0.1", "NAT64 of a non-public IPv4 address" },
		{ "64:ff9b:1::1", "local-use NAT64 (64:ff9b:1::/48)" },
		{ "100::1", "reserved (outside 2000::/3)" },
		{ "2001::1", "IETF protocol assignments (2001::/23, Teredo)" },
		{ "2001:db8::1", "documentation (2001:db8::/32)" },
		{ "2002:0808:0808::1", NULL },
		{ "2002:7f00:0001::1", "6to4 of a non-public IPv4 address" },
		{ "2606:4700::1111", NULL },
		{ "2a00:1450::1", NULL },
		{ "fbff::1", "reserved (outside 2000::/3)" },
		{ "fc00::1", "unique local (fc00::/7)" },
		{ "fdff:ffff::1", "unique local (fc00::/7)" },
		{ "fe80::1", "link-local (fe80::/10)" },
		{ "febf::1", "link-local (fe80::/10)" },
		{ "fec0::1", "site-local (fec0::/10)" },
		{ "ff02::1", "multicast" },
	};
	const char	*got;
	size_t		 i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		got = classify(t[i].a);
		if (t[i].why == NULL)
			cr_assert_null(got, "%s: %s", t[i].a, got);
		else {
			cr_assert_not_null(got, "%s: public?", t[i].a);
			cr_assert_str_eq(got, t[i].why, "%s", t[i].a);
		}
	}
}

/* ---- through `picoflow run` ---------------------------------------------- */

Test(http, picoflow_run_records_status_and_body)
{
	struct proc_result	 r;
	struct pf_store		*st;
	struct store_run	*runs;
	struct store_attempt	*a;
	const struct store_attempt *t;
	struct pf_err		 err;
	char			*dir, *text, *wf, db[4200];
	char			*argv[] = { NULL, "--db-path", db, "run", NULL,
	    NULL };
	size_t			 n, nruns, i;
	const char		*body;

	dir = scratch = test_tmpdir("http");
	cr_assert_not_null(dir);
	snprintf(db, sizeof(db), "%s/state.db", dir);
	cr_assert_neq(asprintf(&text,
	    "name: web\n"
	    "tasks:\n"
	    "  - name: post\n"
	    "    type: http\n"
	    "    retry: 0\n"
	    "    config:\n"
	    "      url: http://127.0.0.1:%1$d/echo\n"
	    "      method: POST\n"
	    "      allow_private_ips: true\n"
	    "      body: {name: pico, n: 2}\n"
	    "  - name: denied\n"
	    "    type: http\n"
	    "    retry: 0\n"
	    "    config: {url: 'http://127.0.0.1:%1$d/status/200'}\n"
	    "  - name: missing\n"
	    "    type: http\n"
	    "    retry: 0\n"
	    "    config: {url: 'http://127.0.0.1:%1$d/status/404',\n"
	    "             allow_private_ips: true}\n"
	    "  - name: moved\n"
	    "    type: http\n"
	    "    retry: 0\n"
	    "    config: {url: 'http://127.0.0.1:%1$d/redirect-hostile',\n"
	    "             allow_private_ips: true}\n",
	    httpd.port), -1);
	wf = test_write(dir, "wf.yaml", text);
	free(text);
	argv[0] = strdup(test_bin("picoflow"));
	argv[4] = wf;
	cr_assert_eq(proc_run(argv, NULL, 60, &r), 0);
	cr_assert(!r.timed_out);
	cr_assert_eq(r.exit_code, 1, "%s\n%s", r.out, r.err);

	cr_assert_eq(store_open(db, STORE_RO, &st, &err), 0, "%s", err.msg);
	cr_assert_eq(store_runs_list(st, NULL, NULL, 0, &runs, &nruns, &err),
	    0, "%s", err.msg);
	cr_assert_eq(nruns, 1);
	cr_assert_eq(store_attempts_list(st, runs[0].id, NULL, 1, &a, &n,
	    &err), 0, "%s", err.msg);
	for (i = 0, t = NULL; i < n; i++)
		if (strcmp(a[i].task_name, "post") == 0)
			t = &a[i];
	cr_assert_not_null(t);
	cr_assert_str_eq(t->status, "success");
	cr_assert_eq(t->http_status, 200);
	cr_assert_not_null(t->stdout_data);
	body = memmem(t->stdout_data, t->stdout_len, "\r\n\r\n", 4);
	cr_assert_not_null(body);
	cr_assert_eq((size_t)((const unsigned char *)body + 4 -
	    t->stdout_data) + 24, t->stdout_len, "%.*s", (int)t->stdout_len,
	    t->stdout_data);
	/* As the loader encodes it, sent once, not encoded again. */
	cr_assert_eq(memcmp(body + 4, "{\"name\": \"pico\", \"n\": 2}", 24), 0,
	    "%.*s", (int)t->stdout_len, t->stdout_data);
	cr_assert(memmem(t->stdout_data, t->stdout_len,
	    "\r\nContent-Type: application/json\r\n", 34) != NULL);
	for (i = 0, t = NULL; i < n; i++)
		if (strcmp(a[i].task_name, "denied") == 0)
			t = &a[i];
	cr_assert_not_null(t);
	cr_assert_str_eq(t->status, "failed");
	cr_assert_eq(t->http_status, 0);
	cr_assert(t->reason != NULL && strstr(t->reason,
	    "allow_private_ips: true") != NULL, "%s", t->reason);
	for (i = 0, t = NULL; i < n; i++)
		if (strcmp(a[i].task_name, "missing") == 0)
			t = &a[i];
	cr_assert_not_null(t);
	cr_assert_str_eq(t->status, "failed");
	cr_assert_eq(t->http_status, 404);
	/* The worker's reason, not "exit code -1" (an http task has none). */
	cr_assert_str_eq(t->reason, "HTTP status 404 (success is 2xx)");
	for (i = 0, t = NULL; i < n; i++)
		if (strcmp(a[i].task_name, "moved") == 0)
			t = &a[i];
	cr_assert_not_null(t);
	cr_assert_str_eq(t->status, "failed");
	cr_assert_eq(t->http_status, 302);
	/* The hostile server's Location, every control shown escaped. */
	cr_assert_str_eq(t->reason, "HTTP status 302: a redirect to Location "
	    "\"http://x/\\x1b[2J\\\"\\'\\\\\\u009b\\u202egpj.exe\\xff\" "
	    "(redirects are not followed)");
	store_attempts_free(a, n);
	store_runs_free(runs, nruns);
	store_close(st);
	proc_result_free(&r);
	free(argv[0]);
	free(wf);
}

/* ---- TLS, against openssl s_server with a self-signed certificate ------ */

struct tls_server {
	pid_t	 pid;
	int	 port;
	char	*dir;
	char	*cert;
};

static int
port_open(int port)
{
	struct sockaddr_in	 sa;
	int			 fd, rc;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	close(fd);
	return rc == 0;
}

static void
tls_start(struct tls_server *t)
{
	struct proc_result	 r;
	struct sockaddr_in	 sa;
	socklen_t		 sl = sizeof(sa);
	char			 key[4200], acc[64], *argv[18];
	double			 end;
	int			 fd;

	memset(t, 0, sizeof(*t));
	t->dir = scratch = test_tmpdir("tls");
	cr_assert_not_null(t->dir);
	snprintf(key, sizeof(key), "%s/key.pem", t->dir);
	cr_assert_neq(asprintf(&t->cert, "%s/cert.pem", t->dir), -1);
	argv[0] = "/usr/bin/openssl";
	argv[1] = "req";
	argv[2] = "-x509";
	argv[3] = "-newkey";
	argv[4] = "ec";
	argv[5] = "-pkeyopt";
	argv[6] = "ec_paramgen_curve:prime256v1";
	argv[7] = "-nodes";
	argv[8] = "-keyout";
	argv[9] = key;
	argv[10] = "-out";
	argv[11] = t->cert;
	argv[12] = "-subj";
	argv[13] = "/CN=127.0.0.1";
	argv[14] = "-addext";
	argv[15] = "subjectAltName=IP:127.0.0.1";
	argv[16] = NULL;
	cr_assert_eq(proc_run(argv, NULL, 30, &r), 0);
	cr_assert_eq(r.exit_code, 0, "openssl req: %s", r.err);
	proc_result_free(&r);
	/* A free port: bound, read, released; s_server takes it next. */
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	t->port = ntohs(sa.sin_port);
	close(fd);
	snprintf(acc, sizeof(acc), "127.0.0.1:%d", t->port);
	argv[0] = "/usr/bin/openssl";
	argv[1] = "s_server";
	argv[2] = "-quiet";
	argv[3] = "-www";
	argv[4] = "-accept";
	argv[5] = acc;
	argv[6] = "-cert";
	argv[7] = t->cert;
	argv[8] = "-key";
	argv[9] = key;
	argv[10] = NULL;
	t->pid = tls_pid = proc_spawn(argv, NULL, NULL, NULL);
	cr_assert_gt(t->pid, 0);
	for (end = wh_now() + 15; !port_open(t->port); usleep(10000))
		cr_assert_lt(wh_now(), end, "openssl s_server did not start");
}

/* The process and the directory go in teardown. */
static void
tls_stop(struct tls_server *t)
{
	free(t->cert);
}

Test(http, tls_self_signed_refused_then_accepted_with_ca_file)
{
	struct proto_spec	 s;
	struct wh		 h;
	struct tls_server	 t;

	tls_start(&t);
	http_spec(&s, "GET", "/");
	snprintf(url, sizeof(url), "https://127.0.0.1:%d/", t.port);
	run(&h, &s);
	cr_assert_eq(h.result.status, PROTO_ST_EXEC_ERROR);
	cr_assert(strstr(h.result.error, "self-signed certificate") != NULL,
	    "%s", h.result.error);
	cr_assert_eq(h.result.http_status, 0);
	wh_free(&h);

	http_spec(&s, "GET", "/");
	snprintf(url, sizeof(url), "https://127.0.0.1:%d/", t.port);
	s.http.ca_file = t.cert;
	run(&h, &s);
	cr_assert_eq(h.result.status, PROTO_ST_OK, "%s", h.result.error);
	cr_assert_eq(h.result.http_status, 200);
	cr_assert(strstr(wh_out(&h, 1), "s_server") != NULL, "%s",
	    wh_out(&h, 1));
	wh_free(&h);
	tls_stop(&t);
}
