/*
 * The picoflow command line: global options are parsed in picoflow_main.c,
 * then one command function runs with its own arguments (argv[0] is the
 * command's name, getopt_long-ready).  Commands print results to stdout and
 * diagnostics to stderr, and return the process exit code:
 * 0 ok, 1 failure, 2 usage error.
 */
#ifndef PICOFLOW_CLI_H
#define PICOFLOW_CLI_H

#include <stddef.h>
#include <stdio.h>

#define CLI_OK		0
#define CLI_FAIL	1
#define CLI_USAGE	2

struct cli_ctx {
	const char	*db_path;	/* --db-path / PICOFLOW_DB, or NULL */
	const char	*state_dir;	/* --state-dir / PICOFLOW_STATE_DIR, or NULL */
	int		 json;		/* --json given before the command */
};

typedef int (*cli_fn)(struct cli_ctx *, int argc, char *argv[]);

/*
 * Parses the decimal value of option opt within [min, max]; on failure
 * says so on stderr ("picoflow: OPT: 'S' is not a number in MIN..MAX").
 */
int	 cli_parse_count(const char *opt, const char *s, size_t min,
	    size_t max, size_t *out);

/* Each command's implementation; see docs/cli.md. */
int	 cli_validate(struct cli_ctx *, int, char *[]);
int	 cli_graph(struct cli_ctx *, int, char *[]);
int	 cli_template(struct cli_ctx *, int, char *[]);
int	 cli_next(struct cli_ctx *, int, char *[]);
int	 cli_run(struct cli_ctx *, int, char *[]);
int	 cli_status(struct cli_ctx *, int, char *[]);
int	 cli_history(struct cli_ctx *, int, char *[]);
int	 cli_logs(struct cli_ctx *, int, char *[]);
int	 cli_stats(struct cli_ctx *, int, char *[]);
int	 cli_workflow(struct cli_ctx *, int, char *[]);
/* Commands that act on a running supervisor (cli_daemon.c). */
int	 cli_daemon(struct cli_ctx *, int, char *[]);
int	 cli_trigger(struct cli_ctx *, int, char *[]);
int	 cli_cancel(struct cli_ctx *, int, char *[]);
int	 cli_reload(struct cli_ctx *, int, char *[]);

#endif
