/*
 * One log module per process.  log_warn adds strerror(errno), log_warnx
 * does not; fatal/fatalx log and exit(1) and are for main() and process
 * set-up only (library code returns errors instead).  Lines go to stderr,
 * tagged with the process name, as "pretty" text or one JSON object a line.
 */
#ifndef PICOFLOW_LOG_H
#define PICOFLOW_LOG_H

#include <stdarg.h>

enum log_level {
	LOG_LVL_ERROR = 0,
	LOG_LVL_WARN,
	LOG_LVL_INFO,
	LOG_LVL_DEBUG,
	LOG_LVL_TRACE,
};

enum log_format {
	LOG_FMT_PRETTY = 0,
	LOG_FMT_JSON,
};

void	 log_init(const char *procname, enum log_level, enum log_format);
void	 log_set_level(enum log_level);
enum log_level log_get_level(void);
/* Parse "error".."trace" / "pretty"|"json"; return -1 when unknown. */
int	 log_level_parse(const char *, enum log_level *);
int	 log_format_parse(const char *, enum log_format *);

void	 log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_error(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_trace(const char *, ...) __attribute__((format(printf, 1, 2)));
/*
 * A value that came from a workflow or a task, escaped for a log line
 * (esc_str with ESC_QUOTES: quotes, backslash, controls; cut at 511
 * bytes).  The result is valid until LOG_Q_N (8) more calls: use it as
 * an argument of one log call.  Single-threaded processes only.
 */
const char *log_q(const char *);
void	 fatal(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	 fatalx(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

#endif
