/*
 * The shell executor: runs the SPEC's command directly (posix_spawn, no
 * shell), streams its stdout and stderr as OUTPUT frames up to the
 * output cap, enforces the kill contract, and fills the RESULT.
 */
#ifndef PICOFLOW_EXEC_SHELL_H
#define PICOFLOW_EXEC_SHELL_H

#include "picoflow/proto.h"
#include "worker.h"

/*
 * Runs the task to completion; on return no process of the task is
 * left.  Returns 0 with *res filled (any status), or -1 when the
 * supervisor went away (everything was killed; there is no one to send
 * a RESULT to).
 */
int	 exec_shell_run(struct worker *, const struct proto_spec *,
	    struct proto_result *);

#endif
