/*
 * What picoflow's commands share, private to cli/.  The read commands
 * (status, history, logs, stats, workflow list): their options, the
 * read-only database, the text and JSON writers and the aligned tables
 * (cli_table.c), and the renderings of runs and attempts (cli_read.c);
 * text output is escaped (esc.h), JSON strings are valid UTF-8.  The
 * supervisor's commands: the paths and the pidfile (cli_daemon.c), the
 * status it answers on its socket (cli_control.c).  Diagnostics of
 * workflow files (cli_validate.c).
 */
#ifndef PICOFLOW_CLI_INT_H
#define PICOFLOW_CLI_INT_H

#include <stddef.h>
#include <stdint.h>

#include "picoflow/buf.h"
#include "picoflow/json.h"
#include "picoflow/err.h"
#include "picoflow/paths.h"
#include "picoflow/store.h"
#include "cli.h"

#define OPT_LIMIT	0x01
#define OPT_STATUS	0x02
#define OPT_EXEC	0x04
#define OPT_TASK	0x08

/* ---- text and JSON (cli_table.c) ---------------------------------------- */

/*
 * Text: bytes as they are, except controls (not \n, \t), C1 and bidi
 * controls and invalid UTF-8, which are shown escaped (esc.h).
 */
void	 cli_txt_add(struct pf_buf *, const void *, size_t);
/* A value shown between quotes: the quotes in it are escaped too. */
void	 cli_txt_quoted(struct pf_buf *, const char *);
void	 cli_txt_str(struct pf_buf *, const char *);
/* JSON members (json.h); an integer < 0 is unknown: null. */
void	 cli_json_ki64(struct pf_json *, const char *key, int64_t v);
/* Local time (cli_fmt_time), null when < 0. */
void	 cli_json_ktime(struct pf_json *, const char *key, int64_t ms);
/* Ends a document on a newline; its buffer is marked failed on error. */
void	 cli_json_done(struct pf_json *);
/* Local ISO-8601 with the UTC offset: 2024-03-04T03:00:00+01:00. */
void	 cli_fmt_time(int64_t ms, char *out, size_t len);
/* 250ms, 1.2s, 3m04s, 2h05m09s; "-" when unknown. */
void	 cli_fmt_dur(int64_t ms, char *out, size_t len);
/* Writes the buffer to stdout; 0 ok, -1 if it could not be built or written. */
int	 cli_out_flush(struct pf_buf *, const char *cmd);

/* ---- aligned tables (cli_table.c) --------------------------------------- */

struct cli_tbl {
	size_t		 ncol;
	size_t		 nrow, cap;
	char		**cell;		/* nrow * ncol, already sanitized */
	char		**detail;	/* printed after row i, may be NULL */
};

/* Adds a row of ncol strings (NULL prints empty); -1 when out of memory. */
int	 cli_tbl_row(struct cli_tbl *, const char *const *cols);
void	 cli_tbl_free(struct cli_tbl *);
/* Columns two spaces apart, the last one unpadded. */
void	 cli_tbl_print(const struct cli_tbl *, const char *indent,
	    struct pf_buf *);

/* ---- options, the database, renderings (cli_read.c) --------------------- */

struct cli_ropts {
	const char	*cmd;
	const char	*usage;
	const char	*help;		/* option lines for --help */
	const char	*workflow;
	const char	*status;
	const char	*task;
	int64_t		 exec_id;	/* -1 = latest */
	size_t		 limit;
	int		 json;
	int		 want_wf;	/* 0 none, 1 optional, 2 required */
	unsigned	 allow;		/* OPT_* this command takes */
	int		 positional_list; /* "workflow list" */
};

/*
 * Parses the command's options.  Returns -1 to go on, or the exit code
 * (usage error, or 0 after --help).
 */
int	 cli_ropts_parse(struct cli_ctx *, struct cli_ropts *, int argc,
	    char *argv[]);
/*
 * Opens the database read-only.  Returns 1 with *st NULL when there is no
 * database yet, 0 when open, -1 (message printed) on error.
 */
int	 cli_open_db(struct cli_ctx *, const char *cmd, struct pf_store **st);
/* Says err on stderr for cmd; returns CLI_FAIL. */
int	 cli_fail(const char *cmd, const struct pf_err *);
/* A finished run's duration in ms; -1 when unknown. */
int64_t	 cli_run_duration(const struct store_run *);
/* A run's members, in the object the writer is in. */
void	 cli_json_run(struct pf_json *, const struct store_run *);
/* An attempt as an object; output: with its stdout and stderr. */
void	 cli_json_attempt(struct pf_json *, const struct store_attempt *,
	    int output);
/*
 * What an attempt used, known values only.  all = 0 keeps what deserves a
 * look in a summary: OOM kills, refused forks, cpu throttling.
 */
void	 cli_usage_text(const struct store_attempt *, int all, char *out,
	    size_t len);
/* "attempt N", or "not run". */
void	 cli_attempt_label(const struct store_attempt *, char *out,
	    size_t len);
/*
 * The per-task lines under an execution: each task's latest attempt, in
 * the order the tasks first started.
 */
int	 cli_task_lines(int64_t run_id, const struct store_attempt *,
	    size_t n, char **out);

/* ---- the supervisor's commands (cli_daemon.c, cli_control.c) ------------ */

/* Resolves the state paths; -1 after saying why for cmd. */
int	 cli_resolve(struct cli_ctx *, struct pf_paths *, const char *cmd);
/*
 * Who holds the pidfile's lock: its pid, 0 when nobody (a stale or
 * missing file), -1 when it cannot be told.
 */
long	 cli_pidfile_holder(const char *path);
/* picoflow daemon status: asks the supervisor, prints its answer. */
int	 cli_daemon_status(struct cli_ctx *, int json);

/* ---- workflow files (cli_validate.c) ------------------------------------ */

struct pf_diags;
/* Prints the diagnostics on stderr, one per line, and what was dropped. */
void	 cli_print_diags(const struct pf_diags *);

#endif
