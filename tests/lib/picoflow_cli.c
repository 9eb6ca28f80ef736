/*
 * Drives the picoflow command line for the suites; see picoflow_cli.h.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "picoflow_cli.h"
#include "proc.h"

char *
test_write_wf(const char *dir, const char *fmt, ...)
{
	char	*text, *path;
	va_list	 ap;

	va_start(ap, fmt);
	cr_assert_neq(vasprintf(&text, fmt, ap), -1);
	va_end(ap);
	path = test_write(dir, "wf.yaml", text);
	cr_assert_not_null(path);
	free(text);
	return path;
}

void
test_pf_run(const char *db, const char *file, const char *extra,
    char *const env[], struct proc_result *r)
{
	char	*argv[16], *copy = NULL, *tok, *save;
	int	 n = 0;

	argv[n++] = strdup(test_bin("picoflow"));
	argv[n++] = (char *)"--db-path";
	argv[n++] = (char *)(uintptr_t)db;
	argv[n++] = (char *)"run";
	if (extra != NULL) {
		copy = strdup(extra);
		for (tok = strtok_r(copy, " ", &save); tok && n < 14;
		    tok = strtok_r(NULL, " ", &save))
			argv[n++] = tok;
	}
	argv[n++] = (char *)(uintptr_t)file;
	argv[n] = NULL;
	cr_assert_eq(proc_run(argv, env, 100, r), 0);
	cr_assert(!r->timed_out, "picoflow run did not finish:\n%s\n%s",
	    r->out, r->err);
	free(copy);
	free(argv[0]);
}

void
test_picoflow(struct proc_result *r, double timeout_s, ...)
{
	char		*argv[24];
	const char	*arg;
	va_list		 ap;
	int		 n = 0, i;

	argv[n++] = strdup(test_bin("picoflow"));
	va_start(ap, timeout_s);
	while ((arg = va_arg(ap, const char *)) != NULL && n < 23)
		argv[n++] = strdup(arg);
	va_end(ap);
	argv[n] = NULL;
	cr_assert_eq(proc_run(argv, NULL, timeout_s, r), 0);
	cr_assert(!r->timed_out);
	for (i = 0; i < n; i++)
		free(argv[i]);
}
