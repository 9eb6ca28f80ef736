/*
 * Output capture shared by the remote executors: bytes of the task's
 * stdout or stderr go out as OUTPUT frames until the SPEC's output_cap
 * (stdout and stderr together) is reached; the rest is counted in the
 * RESULT's `dropped` and never kept.
 */
#ifndef PICOFLOW_OUTPUT_H
#define PICOFLOW_OUTPUT_H

#include <stddef.h>
#include <stdint.h>

#include "picoflow/proto.h"
#include "worker.h"

/*
 * Sends what fits under the cap (in chunks of at most
 * PROTO_OUTPUT_CHUNK_MAX) and counts the rest.  stream is PROTO_STDOUT
 * or PROTO_STDERR.  Returns -1 when the supervisor is gone, else 0.
 */
int	 output_add(struct worker *, const struct proto_spec *,
	    struct proto_result *, uint8_t stream, const void *, size_t);
/* A formatted line on the task's stderr stream (a warning for the user). */
int	 output_notice(struct worker *, const struct proto_spec *,
	    struct proto_result *, const char *fmt, ...)
	    __attribute__((format(printf, 4, 5)));

#endif
