/*
 * Test helpers that drive the picoflow command line as a user would:
 * write a workflow file, `picoflow --db-path DB run FILE`, or picoflow
 * with any arguments.  Each waits for picoflow to finish and fails the
 * test if it does not within its time limit.
 */
#ifndef PICOFLOW_TEST_PICOFLOW_CLI_H
#define PICOFLOW_TEST_PICOFLOW_CLI_H

#include "proc.h"

/* Writes DIR/wf.yaml; the text is a printf format.  Returns its path. */
char	*test_write_wf(const char *dir, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/* build/picoflow --db-path DB run [extra...] FILE (extra: NULL or words). */
void	 test_pf_run(const char *db, const char *file, const char *extra,
	    char *const env[], struct proc_result *r);

/* build/picoflow with the arguments given, up to a NULL. */
void	 test_picoflow(struct proc_result *r, double timeout_s, ...);

/* picoflow ARGS...; a suite may define PF_TIMEOUT_S first (seconds). */
#ifndef PF_TIMEOUT_S
#define PF_TIMEOUT_S	120
#endif
#define PF(r, ...)	test_picoflow((r), PF_TIMEOUT_S, __VA_ARGS__,	\
			    (const char *)NULL)

#endif
