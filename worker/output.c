/*
 * Output capture for the remote executors; see output.h.  The shell
 * executor keeps its own copy of the same accounting in its pipe reader.
 */
#include <stdarg.h>
#include <stdio.h>

#include "picoflow/proto.h"
#include "output.h"
#include "worker.h"

int
output_add(struct worker *w, const struct proto_spec *spec,
    struct proto_result *res, uint8_t stream, const void *p, size_t n)
{
	const uint8_t	*b = p;
	uint64_t	 captured, room, keep;
	size_t		 k;

	captured = res->stdout_bytes + res->stderr_bytes;
	room = spec->output_cap > captured ? spec->output_cap - captured : 0;
	keep = (uint64_t)n < room ? (uint64_t)n : room;
	while (keep > 0) {
		k = keep < PROTO_OUTPUT_CHUNK_MAX ? (size_t)keep :
		    PROTO_OUTPUT_CHUNK_MAX;
		if (worker_send_output(w, stream, b, k) == -1)
			return -1;
		if (stream == PROTO_STDOUT)
			res->stdout_bytes += k;
		else
			res->stderr_bytes += k;
		b += k;
		n -= k;
		keep -= k;
	}
	if (n > 0) {
		/* Read and counted, never kept: memory stays bounded. */
		res->dropped += n;
		res->truncated = true;
	}
	return 0;
}

int
output_notice(struct worker *w, const struct proto_spec *spec,
    struct proto_result *res, const char *fmt, ...)
{
	char	 line[1024];
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return 0;
	if ((size_t)n > sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	return output_add(w, spec, res, PROTO_STDERR, line, (size_t)n);
}
