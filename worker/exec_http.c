/*
 * The http executor.  One request with libcurl's multi interface, driven
 * by this worker's own poll: curl_multi_poll() also watches the
 * supervisor socket (EOF: the supervisor is gone) and the signalfd (a
 * stop request), so both are acted on at once, not after the request.
 *
 * Security, in the order a request meets it:
 * - only http and https (CURLOPT_PROTOCOLS_STR), redirects not followed;
 * - no proxy from anywhere (the environment is empty anyway);
 * - every socket is opened by http_opensocket(), which sees the address
 *   curl is about to connect to and refuses private ones unless the task
 *   set allow_private_ips: the check is on the connected address, so a
 *   name that resolves (or re-resolves) to 127.0.0.1 is refused too;
 * - TLS peers and host names are always verified (ca_file adds a CA
 *   bundle for private CAs, it never turns verification off);
 * - response headers are capped; the body is capped like any output.
 * Header values (Authorization...) are never logged.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>

#include "picoflow/alloc.h"
#include "picoflow/buf.h"
#include "picoflow/clock.h"
#include "picoflow/log.h"
#include "picoflow/proto.h"
#include "exec_http.h"
#include "output.h"
#include "worker.h"

/* All response headers together; a server sending more is refused. */
#define HTTP_HEADERS_MAX	(64 * 1024)

struct http {
	struct worker		*w;
	const struct proto_spec	*spec;
	struct proto_result	*res;
	int			 lost;		/* supervisor gone */
	size_t			 header_bytes;
	int			 headers_too_big;
	/* The first address refused by the private-address policy. */
	char			 refused[INET6_ADDRSTRLEN];
	const char		*refused_why;
	char			 errbuf[CURL_ERROR_SIZE];
};

static uint32_t
v4_of(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
	    (uint32_t)b[2] << 8 | b[3];
}

static int
in_net4(uint32_t a, uint32_t net, int bits)
{
	uint32_t	 mask = bits == 0 ? 0 : 0xffffffffu << (32 - bits);

	return (a & mask) == net;
}

static const char *
addr4_private(uint32_t a)
{
	if (in_net4(a, 0x00000000, 8))
		return "unspecified (0.0.0.0/8)";
	if (in_net4(a, 0x0a000000, 8) || in_net4(a, 0xac100000, 12) ||
	    in_net4(a, 0xc0a80000, 16))
		return "private (RFC 1918)";
	if (in_net4(a, 0x64400000, 10))
		return "shared address space (CGNAT, 100.64.0.0/10)";
	if (in_net4(a, 0x7f000000, 8))
		return "loopback";
	if (in_net4(a, 0xa9fe0000, 16))
		return "link-local";
	if (in_net4(a, 0xc0000000, 24))
		return "IETF protocol assignments (192.0.0.0/24)";
	if (in_net4(a, 0xc0000200, 24) || in_net4(a, 0xc6336400, 24) ||
	    in_net4(a, 0xcb007100, 24))
		return "documentation (TEST-NET)";
	if (in_net4(a, 0xc0586300, 24))
		return "6to4 relay anycast (192.88.99.0/24)";
	if (in_net4(a, 0xc6120000, 15))
		return "benchmarking (198.18.0.0/15)";
	if (in_net4(a, 0xe0000000, 4))
		return "multicast";
	if (a == 0xffffffffu)
		return "broadcast";
	if (in_net4(a, 0xf0000000, 4))
		return "reserved (240.0.0.0/4)";
	return NULL;
}

static int
zero(const uint8_t *b, size_t n)
{
	while (n-- > 0)
		if (*b++ != 0)
			return 0;
	return 1;
}

static const char *
addr6_private(const uint8_t *b)
{
	static const uint8_t nat64[12] = { 0, 0x64, 0xff, 0x9b };
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };

	if (zero(b, 16))
		return "unspecified (::)";
	if (zero(b, 15) && b[15] == 1)
		return "loopback (::1)";
	if (memcmp(b, mapped, 12) == 0)
		return "IPv4-mapped IPv6";
	if (zero(b, 12))
		return "IPv4-compatible IPv6";
	if (memcmp(b, nat64, 12) == 0)
		return addr4_private(v4_of(b + 12)) != NULL ?
		    "NAT64 of a non-public IPv4 address" : NULL;
	if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b &&
	    b[4] == 0 && b[5] == 1)
		return "local-use NAT64 (64:ff9b:1::/48)";
	if (b[0] == 0x20 && b[1] == 0x02)
		return addr4_private(v4_of(b + 2)) != NULL ?
		    "6to4 of a non-public IPv4 address" : NULL;
	if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8)
		return "documentation (2001:db8::/32)";
	if (b[0] == 0x20 && b[1] == 0x01 && b[2] < 0x02)
		return "IETF protocol assignments (2001::/23, Teredo)";
	if ((b[0] & 0xfe) == 0xfc)
		return "unique local (fc00::/7)";
	if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
		return "link-local (fe80::/10)";
	if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0)
		return "site-local (fec0::/10)";
	if (b[0] == 0xff)
		return "multicast";
	if ((b[0] & 0xe0) != 0x20)
		return "reserved (outside 2000::/3)";
	return NULL;
}

const char *
http_addr_private(const struct sockaddr *sa)
{
	const struct sockaddr_in	*s4;
	const struct sockaddr_in6	*s6;

	switch (sa->sa_family) {
	case AF_INET:
		s4 = (const struct sockaddr_in *)(const void *)sa;
		return addr4_private(ntohl(s4->sin_addr.s_addr));
	case AF_INET6:
		s6 = (const struct sockaddr_in6 *)(const void *)sa;
		return addr6_private(s6->sin6_addr.s6_addr);
	default:
		return "not an internet address";
	}
}

/*
 * curl asks us for every socket it connects with, passing the address:
 * this is where the private-address policy is applied.
 */
static curl_socket_t
http_opensocket(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct http	*h = arg;
	const char	*why;
	const void	*ip;
	int		 fd;

	if (purpose != CURLSOCKTYPE_IPCXN)
		return CURL_SOCKET_BAD;
	if (a->family != AF_INET && a->family != AF_INET6)
		return CURL_SOCKET_BAD;
	if (!h->spec->http.allow_private_ips &&
	    (why = http_addr_private(&a->addr)) != NULL) {
		if (h->refused_why == NULL) {
			ip = a->family == AF_INET ?
			    (const void *)&((const struct sockaddr_in *)
			    (const void *)&a->addr)->sin_addr :
			    (const void *)&((const struct sockaddr_in6 *)
			    (const void *)&a->addr)->sin6_addr;
			if (inet_ntop(a->family, ip, h->refused,
			    sizeof(h->refused)) == NULL)
				snprintf(h->refused, sizeof(h->refused), "?");
			h->refused_why = why;
		}
		return CURL_SOCKET_BAD;
	}
	fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
	return fd == -1 ? CURL_SOCKET_BAD : fd;
}

static size_t
http_body_cb(char *p, size_t size, size_t n, void *arg)
{
	struct http	*h = arg;

	(void)size;			/* always 1 */
	if (output_add(h->w, h->spec, h->res, PROTO_STDOUT, p, n) == -1) {
		h->lost = 1;
		return 0;		/* aborts the transfer */
	}
	return n;
}

static size_t
http_header_cb(char *p, size_t size, size_t n, void *arg)
{
	struct http	*h = arg;

	(void)p;
	(void)size;
	h->header_bytes += n;
	if (h->header_bytes > HTTP_HEADERS_MAX) {
		h->headers_too_big = 1;
		return 0;
	}
	return n;
}

static int
header_ok(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s == '\r' || *s == '\n')
			return 0;
	return 1;
}

/*
 * The request headers: the task's own, Content-Type for a JSON body
 * unless the task set one, and no curl defaults the task did not ask
 * for (a form Content-Type on a string body, Expect: 100-continue).
 */
static int
http_headers(struct http *h, struct curl_slist **out)
{
	const struct proto_http	*c = &h->spec->http;
	struct curl_slist	*l = NULL, *n;
	struct pf_buf		 b;
	const char		*s;
	size_t			 i;
	int			 have_ct = 0, have_expect = 0;

	buf_init(&b, 0);
	for (i = 0; i < c->nheaders; i++) {
		const char *k = c->headers[i].key;
		const char *v = c->headers[i].value;

		if (!header_ok(k) || !header_ok(v) || strchr(k, ':') != NULL ||
		    k[0] == '\0') {
			worker_result_error(h->res, PROTO_ST_EXEC_ERROR,
			    "header name or value contains a line break or "
			    "the name is empty or contains ':': '%s'", k);
			goto fail;
		}
		if (strcasecmp(k, "Content-Type") == 0)
			have_ct = 1;
		if (strcasecmp(k, "Expect") == 0)
			have_expect = 1;
		buf_reset(&b);
		/* "Name;" is curl's way of sending a header with no value. */
		if ((v[0] == '\0' ? buf_printf(&b, "%s;", k) :
		    buf_printf(&b, "%s: %s", k, v)) == -1 ||
		    (s = buf_cstr(&b)) == NULL ||
		    (n = curl_slist_append(l, s)) == NULL)
			goto oom;
		l = n;
	}
	if (c->body != NULL && !have_ct) {
		n = curl_slist_append(l, c->body_is_json ?
		    "Content-Type: application/json" : "Content-Type:");
		if (n == NULL)
			goto oom;
		l = n;
	}
	if (c->body != NULL && !have_expect) {
		if ((n = curl_slist_append(l, "Expect:")) == NULL)
			goto oom;
		l = n;
	}
	buf_free(&b);
	*out = l;
	return 0;
oom:
	worker_result_error(h->res, PROTO_ST_INTERNAL_ERROR, "out of memory");
fail:
	buf_free(&b);
	curl_slist_free_all(l);
	return -1;
}

static int
http_scheme_ok(const char *url)
{
	return strncasecmp(url, "http://", 7) == 0 ||
	    strncasecmp(url, "https://", 8) == 0;
}

#define SETOPT(e, o, v)	(curl_easy_setopt((e), (o), (v)) == CURLE_OK)

static int
http_setup(struct http *h, CURL *e, struct curl_slist *hdrs)
{
	const struct proto_http	*c = &h->spec->http;
	const char		*m = c->method != NULL ? c->method : "GET";
	long			 ms = (long)c->timeout * 1000;
	int			 ok;

	ok = SETOPT(e, CURLOPT_URL, c->url) &&
	    SETOPT(e, CURLOPT_PROTOCOLS_STR, "http,https") &&
	    SETOPT(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") &&
	    SETOPT(e, CURLOPT_FOLLOWLOCATION, 0L) &&
	    SETOPT(e, CURLOPT_PROXY, "") &&
	    SETOPT(e, CURLOPT_NOPROXY, "*") &&
	    SETOPT(e, CURLOPT_NOSIGNAL, 1L) &&
	    SETOPT(e, CURLOPT_TIMEOUT_MS, ms) &&
	    SETOPT(e, CURLOPT_CONNECTTIMEOUT_MS, ms) &&
	    SETOPT(e, CURLOPT_SSL_VERIFYPEER, 1L) &&
	    SETOPT(e, CURLOPT_SSL_VERIFYHOST, 2L) &&
	    SETOPT(e, CURLOPT_NETRC, (long)CURL_NETRC_IGNORED) &&
	    SETOPT(e, CURLOPT_ERRORBUFFER, h->errbuf) &&
	    SETOPT(e, CURLOPT_OPENSOCKETFUNCTION, http_opensocket) &&
	    SETOPT(e, CURLOPT_OPENSOCKETDATA, h) &&
	    SETOPT(e, CURLOPT_WRITEFUNCTION, http_body_cb) &&
	    SETOPT(e, CURLOPT_WRITEDATA, h) &&
	    SETOPT(e, CURLOPT_HEADERFUNCTION, http_header_cb) &&
	    SETOPT(e, CURLOPT_HEADERDATA, h) &&
	    SETOPT(e, CURLOPT_USERAGENT, "picoflow/" PF_VERSION) &&
	    SETOPT(e, CURLOPT_HTTPHEADER, hdrs);
	if (ok && c->ca_file != NULL)
		ok = SETOPT(e, CURLOPT_CAINFO, c->ca_file);
	if (!ok)
		return -1;
	if (strcmp(m, "HEAD") == 0)
		return SETOPT(e, CURLOPT_NOBODY, 1L) ? 0 : -1;
	if (c->body != NULL) {
		/* POSTFIELDS sends the bytes as they are, no encoding. */
		ok = SETOPT(e, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)strlen(c->body)) &&
		    SETOPT(e, CURLOPT_POSTFIELDS, c->body);
		if (ok && strcmp(m, "POST") != 0)
			ok = SETOPT(e, CURLOPT_CUSTOMREQUEST, m);
		return ok ? 0 : -1;
	}
	if (strcmp(m, "POST") == 0 || strcmp(m, "PUT") == 0 ||
	    strcmp(m, "PATCH") == 0) {
		/* An empty body, announced with Content-Length: 0. */
		ok = SETOPT(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0) &&
		    SETOPT(e, CURLOPT_POSTFIELDS, "");
	}
	if (ok && strcmp(m, "GET") != 0 && strcmp(m, "POST") != 0)
		ok = SETOPT(e, CURLOPT_CUSTOMREQUEST, m);
	return ok ? 0 : -1;
}

static int
http_status_ok(const struct proto_http *c, long st)
{
	size_t	 i;

	if (c->nsuccess_status == 0)
		return st >= 200 && st <= 299;
	for (i = 0; i < c->nsuccess_status; i++)
		if (c->success_status[i] == st)
			return 1;
	return 0;
}

/* Bytes of a Location shown in the reason; the rest is cut ("..."). */
#define HTTP_SHOWN_MAX		512

/*
 * A value from the server, safe to show on a terminal and in a log
 * line: backslash and both quotes escaped, C0 and DEL as \xNN, invalid
 * UTF-8 bytes as \xNN, the C1 controls and the bidi controls (which
 * reorder what follows them on screen) as \uNNNN.
 */
static void
http_shown(const char *s, size_t n, char *out, size_t cap)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	size_t		 i = 0, o = 0, k;
	unsigned	 cp;

	while (i < n && o + 12 < cap) {
		k = utf8_seq_len(p + i, n - i);
		if (k == 0 || (k == 1 && (p[i] < 0x20 || p[i] == 0x7f))) {
			o += (size_t)snprintf(out + o, cap - o, "\\x%c%c",
			    hex[p[i] >> 4], hex[p[i] & 15]);
			i++;
			continue;
		}
		if (k == 1 && (p[i] == '"' || p[i] == '\'' || p[i] == '\\')) {
			out[o++] = '\\';
			out[o++] = (char)p[i++];
			continue;
		}
		cp = k == 1 ? p[i] : k == 2 ? (p[i] & 0x1fu) << 6 |
		    (p[i + 1] & 0x3fu) : k == 3 ? (p[i] & 0x0fu) << 12 |
		    (p[i + 1] & 0x3fu) << 6 | (p[i + 2] & 0x3fu) : 0x10000;
		if ((cp >= 0x80 && cp <= 0x9f) || cp == 0x061c ||
		    cp == 0x200e || cp == 0x200f ||
		    (cp >= 0x202a && cp <= 0x202e) ||
		    (cp >= 0x2066 && cp <= 0x2069)) {
			o += (size_t)snprintf(out + o, cap - o, "\\u%04x", cp);
			i += k;
			continue;
		}
		memcpy(out + o, p + i, k);
		o += k;
		i += k;
	}
	if (i < n && o + 4 <= cap) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}

/* The redirect's reason: its Location as the server sent it, escaped. */
static void
http_redirect(struct proto_result *res, CURL *e, long st)
{
	struct curl_header *hd = NULL;
	char		 shown[HTTP_SHOWN_MAX + 16];

	if (curl_easy_header(e, "Location", 0, CURLH_HEADER, -1, &hd) !=
	    CURLHE_OK || hd == NULL || hd->value == NULL) {
		worker_result_error(res, PROTO_ST_FAILED, "HTTP status %ld: a "
		    "redirect without a Location header (redirects are not "
		    "followed)", st);
		return;
	}
	http_shown(hd->value, strlen(hd->value), shown, sizeof(shown));
	worker_result_error(res, PROTO_ST_FAILED, "HTTP status %ld: a redirect "
	    "to Location \"%s\" (redirects are not followed)", st, shown);
}

/* What curl's result means for the task. */
static void
http_finish(struct http *h, CURL *e, CURLcode cc)
{
	const struct proto_http	*c = &h->spec->http;
	struct proto_result	*res = h->res;
	long			 st = 0;

	(void)curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &st);
	if (st > 0 && st <= 999)
		res->http_status = (int)st;
	if (cc == CURLE_OK) {
		if (http_status_ok(c, st)) {
			res->status = PROTO_ST_OK;
			return;
		}
		if (st >= 300 && st <= 399)
			http_redirect(res, e, st);
		else if (c->nsuccess_status > 0)
			worker_result_error(res, PROTO_ST_FAILED, "HTTP status "
			    "%ld is not in success_status", st);
		else
			worker_result_error(res, PROTO_ST_FAILED, "HTTP status "
			    "%ld (success is 2xx)", st);
		return;
	}
	if (h->refused_why != NULL && cc == CURLE_COULDNT_CONNECT) {
		worker_result_error(res, PROTO_ST_EXEC_ERROR, "refused to "
		    "connect to %s, a %s address: private addresses are "
		    "denied unless the task sets allow_private_ips: true",
		    h->refused, h->refused_why);
		return;
	}
	if (h->headers_too_big) {
		worker_result_error(res, PROTO_ST_FAILED, "the response "
		    "headers exceed %d bytes", HTTP_HEADERS_MAX);
		return;
	}
	switch (cc) {
	case CURLE_OPERATION_TIMEDOUT:
		worker_result_error(res, PROTO_ST_FAILED, "the request timed "
		    "out after %d s (timeout)", c->timeout);
		break;
	case CURLE_UNSUPPORTED_PROTOCOL:
		worker_result_error(res, PROTO_ST_EXEC_ERROR, "unsupported "
		    "URL scheme (only http and https): %s", h->errbuf);
		break;
	default:
		worker_result_error(res, PROTO_ST_EXEC_ERROR, "%s: %s",
		    curl_easy_strerror(cc), h->errbuf[0] != '\0' ? h->errbuf :
		    "no details");
		break;
	}
}

/*
 * Runs the transfer.  Returns 0 when it ended (cc set), 1 when a stop
 * signal arrived, -1 when the supervisor went away.
 */
static int
http_loop(struct http *h, CURLM *m, CURLcode *cc)
{
	struct curl_waitfd	 ext[2];
	struct CURLMsg		*msg;
	int			 running = 1, left, sig;
	CURLMcode		 mc;

	for (;;) {
		if ((mc = curl_multi_perform(m, &running)) != CURLM_OK) {
			*cc = CURLE_FAILED_INIT;
			snprintf(h->errbuf, sizeof(h->errbuf), "%s",
			    curl_multi_strerror(mc));
			return 0;
		}
		if (h->lost)
			return -1;
		while ((msg = curl_multi_info_read(m, &left)) != NULL)
			if (msg->msg == CURLMSG_DONE) {
				*cc = msg->data.result;
				return 0;
			}
		if (running == 0) {
			*cc = CURLE_FAILED_INIT;
			return 0;
		}
		ext[0].fd = worker_poll_fd(h->w);
		ext[0].events = CURL_WAIT_POLLIN;
		ext[0].revents = 0;
		ext[1].fd = h->w->sigfd;
		ext[1].events = CURL_WAIT_POLLIN;
		ext[1].revents = 0;
		if ((mc = curl_multi_poll(m, ext, 2, 1000, NULL)) !=
		    CURLM_OK) {
			*cc = CURLE_FAILED_INIT;
			snprintf(h->errbuf, sizeof(h->errbuf), "%s",
			    curl_multi_strerror(mc));
			return 0;
		}
		if (ext[0].revents && worker_sock_readable(h->w) == -1)
			return -1;
		if (ext[1].revents && (sig = worker_read_signals(h->w)) != 0) {
			worker_result_error(h->res, PROTO_ST_KILLED, "stopped "
			    "on request (SIG%s to the worker): the request "
			    "was aborted", sigabbrev_np(sig) ? sigabbrev_np(sig)
			    : "?");
			return 1;
		}
	}
}

int
exec_http_run(struct worker *w, const struct proto_spec *spec,
    struct proto_result *res)
{
	struct http		 h;
	struct curl_slist	*hdrs = NULL;
	CURL			*e = NULL;
	CURLM			*m = NULL;
	CURLcode		 cc = CURLE_OK;
	int64_t			 t0;
	int			 rc = 0, lr;

	memset(&h, 0, sizeof(h));
	h.w = w;
	h.spec = spec;
	h.res = res;
	if (spec->http.url == NULL || !http_scheme_ok(spec->http.url)) {
		worker_result_error(res, PROTO_ST_EXEC_ERROR, "unsupported "
		    "URL scheme (only http:// and https:// URLs): %s",
		    spec->http.url != NULL ? spec->http.url : "(none)");
		return 0;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		worker_result_error(res, PROTO_ST_INTERNAL_ERROR,
		    "cannot initialise libcurl");
		return 0;
	}
	if (http_headers(&h, &hdrs) == -1)
		goto out;
	if ((e = curl_easy_init()) == NULL || (m = curl_multi_init()) ==
	    NULL || http_setup(&h, e, hdrs) == -1 ||
	    curl_multi_add_handle(m, e) != CURLM_OK) {
		worker_result_error(res, PROTO_ST_INTERNAL_ERROR, "cannot set "
		    "up the request (out of memory, or a libcurl without "
		    "http/https support)");
		goto out;
	}
	/* Not the URL: it may carry credentials or tokens. */
	log_debug("http %s request", spec->http.method ? spec->http.method :
	    "GET");
	t0 = clock_mono_ms();
	if (worker_send_started(w, 0, (uint64_t)clock_wall_ms()) == -1) {
		rc = -1;
		goto out;
	}
	lr = http_loop(&h, m, &cc);
	res->duration_ms = (uint64_t)(clock_mono_ms() - t0);
	if (lr == -1) {
		log_warnx("the supervisor is gone: aborting the request");
		rc = -1;
	} else if (lr == 0)
		http_finish(&h, e, cc);
	else
		log_info("%s", res->error != NULL ? res->error : "stopped");
	curl_multi_remove_handle(m, e);
out:
	if (m != NULL)
		curl_multi_cleanup(m);
	if (e != NULL)
		curl_easy_cleanup(e);
	curl_slist_free_all(hdrs);
	curl_global_cleanup();
	return rc;
}
