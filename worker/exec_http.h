/*
 * The http executor: one request with libcurl (multi interface, driven by
 * poll with the supervisor socket and the signalfd), no redirects,
 * http/https only, TLS always verified, private addresses refused unless
 * the task allows them -- checked on the address actually connected to.
 * The response body is the task's stdout, capped like any output.
 */
#ifndef PICOFLOW_EXEC_HTTP_H
#define PICOFLOW_EXEC_HTTP_H

#include <sys/socket.h>

#include "picoflow/proto.h"
#include "worker.h"

/*
 * Runs the request; returns 0 with *res filled (any status), or -1 when
 * the supervisor went away (the transfer was aborted).
 */
int	 exec_http_run(struct worker *, const struct proto_spec *,
	    struct proto_result *);

/*
 * NULL when sa (AF_INET or AF_INET6) is a public unicast address, else
 * what it is ("loopback", "private (RFC 1918)", ...).  Addresses that
 * embed an IPv4 address (IPv4-mapped, 6to4, NAT64) are refused or judged
 * by what they embed.
 */
const char *http_addr_private(const struct sockaddr *sa);

#endif
