/*
 * The one log module: log_warn (adds errno) / log_warnx, log_info,
 * log_debug, fatal / fatalx, every line tagged with its process, as text
 * for a terminal or as JSON lines, one write(2) per line on stderr.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "picoflow/buf.h"
#include "picoflow/esc.h"
#include "picoflow/json.h"
#include "picoflow/log.h"

/* The process's own log settings: set once in main(). */
static const char	*log_procname = "picoflow";
static enum log_level	 log_level = LOG_LVL_INFO;
static enum log_format	 log_format = LOG_FMT_PRETTY;

static const char *const level_names[] = {
	"error", "warn", "info", "debug", "trace",
};

void
log_init(const char *procname, enum log_level lvl, enum log_format fmt)
{
	log_procname = procname;
	log_level = lvl;
	log_format = fmt;
}

void
log_set_level(enum log_level lvl)
{
	log_level = lvl;
}

enum log_level
log_get_level(void)
{
	return log_level;
}

int
log_level_parse(const char *s, enum log_level *out)
{
	size_t	 i;

	for (i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (strcasecmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	if (strcasecmp(s, "warning") == 0) {
		*out = LOG_LVL_WARN;
		return 0;
	}
	return -1;
}

int
log_format_parse(const char *s, enum log_format *out)
{
	if (strcmp(s, "pretty") == 0 || strcmp(s, "text") == 0)
		*out = LOG_FMT_PRETTY;
	else if (strcmp(s, "json") == 0)
		*out = LOG_FMT_JSON;
	else
		return -1;
	return 0;
}

/*
 * A line is formatted on the stack: logging never allocates, so a test
 * that fails the Nth allocation fails the same one with logging on or
 * off, and a line can still be written when memory is short.  A longer
 * line is cut at a whole escape and marked.
 */
#define LOG_LINE_MAX	4096
#define LOG_CUT		" [truncated]"
#define LOG_END_ROOM	(sizeof(LOG_CUT) - 1 + 3)	/* cut, "}\n */

static void
log_vemit(enum log_level lvl, int with_errno, const char *fmt, va_list ap)
{
	char		 msg[2048], ts[96], line[LOG_LINE_MAX];
	struct pf_buf	 b;
	struct timespec	 now;
	struct tm	 tm;
	int		 saved = errno, n;
	size_t		 len, end;

	if (lvl > log_level)
		return;
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	len = n < 0 ? 0 : (size_t)n >= sizeof(msg) ? sizeof(msg) - 1 :
	    (size_t)n;
	if (with_errno)
		len += (size_t)snprintf(msg + len, sizeof(msg) - len, ": %s",
		    strerror(saved));
	if (len >= sizeof(msg))
		len = sizeof(msg) - 1;

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, now.tv_nsec / 1000000);

	buf_init_fixed(&b, line, sizeof(line) - LOG_END_ROOM);
	if (log_format == LOG_FMT_JSON) {
		struct pf_json	 j;

		/* The object is closed below, after a cut if there is one. */
		json_init(&j, &b);
		json_obj_begin(&j);
		json_kstr(&j, "ts", ts);
		json_kstr(&j, "level", level_names[lvl]);
		json_kstr(&j, "proc", log_procname);
		json_key(&j, "msg");
		json_str_n(&j, msg, len);
	} else {
		/*
		 * One line whatever the message holds: a value that came from
		 * a workflow or a task cannot start a line of its own or send
		 * controls to whoever reads the log on a terminal.
		 */
		buf_printf(&b, "%s %s[%ld] %s: ", ts, log_procname,
		    (long)getpid(), level_names[lvl]);
		esc_add(&b, msg, len, 0);
	}
	/* The end goes in the room kept for it: a cut line is still one. */
	end = b.len;
	if (b.failed) {
		memcpy(line + end, LOG_CUT, sizeof(LOG_CUT) - 1);
		end += sizeof(LOG_CUT) - 1;
		if (log_format == LOG_FMT_JSON)
			line[end++] = '"';
	}
	if (log_format == LOG_FMT_JSON)
		line[end++] = '}';
	line[end++] = '\n';
	/* One write per line keeps lines whole between processes. */
	if (write(STDERR_FILENO, line, end) == -1)
		(void)0;	/* nowhere left to report it */
	errno = saved;
}

/*
 * Rotating buffers for log_q: a log call may quote a few values, and
 * every PicoFlow process logs from one thread.
 */
#define LOG_Q_N		8
#define LOG_Q_MAX	512

const char *
log_q(const char *s)
{
	static char	 ring[LOG_Q_N][LOG_Q_MAX];
	static unsigned	 next;

	next = (next + 1) % LOG_Q_N;
	return esc_str(ring[next], sizeof(ring[next]), s, ESC_QUOTES);
}

#define LOG_FN(name, lvl, with_errno)				\
void								\
name(const char *fmt, ...)					\
{								\
	va_list	 ap;						\
								\
	va_start(ap, fmt);					\
	log_vemit(lvl, with_errno, fmt, ap);			\
	va_end(ap);						\
}

LOG_FN(log_warn, LOG_LVL_WARN, 1)
LOG_FN(log_warnx, LOG_LVL_WARN, 0)
LOG_FN(log_error, LOG_LVL_ERROR, 0)
LOG_FN(log_info, LOG_LVL_INFO, 0)
LOG_FN(log_debug, LOG_LVL_DEBUG, 0)
LOG_FN(log_trace, LOG_LVL_TRACE, 0)

void
fatal(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vemit(LOG_LVL_ERROR, 1, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vemit(LOG_LVL_ERROR, 0, fmt, ap);
	va_end(ap);
	exit(1);
}
