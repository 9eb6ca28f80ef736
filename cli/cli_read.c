/*
 * The read commands: status, history, logs, stats, workflow list.  Each
 * opens the database read-only (readers never block the writer in WAL
 * mode), prints aligned text or one JSON document to stdout, and returns
 * 0 ok, 1 failure, 2 usage error.  A database that does not exist yet is
 * not an error: nothing has run.
 *
 * Everything printed from the database is treated as untrusted: in text
 * output control characters, C1 and bidirectional controls are escaped
 * (esc.h) so captured output cannot drive the terminal or reorder what
 * it shows; JSON strings are escaped and invalid UTF-8 is
 * replaced by U+FFFD so the document always parses.
 */
#include <sys/stat.h>

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "picoflow/alloc.h"
#include "picoflow/buf.h"
#include "picoflow/err.h"
#include "picoflow/esc.h"
#include "picoflow/paths.h"
#include "picoflow/store.h"
#include "cli.h"

#define LIMIT_DEFAULT	10
#define LIMIT_MAX	1000000

#define OPT_LIMIT	0x01
#define OPT_STATUS	0x02
#define OPT_EXEC	0x04
#define OPT_TASK	0x08

/* ---- output helpers ---------------------------------------------------- */

/*
 * Text: bytes as they are, except controls (not \n, \t), C1 and bidi
 * controls and invalid UTF-8, which are shown escaped (esc.h).
 */
static void
txt_add(struct pf_buf *b, const void *p, size_t len)
{
	(void)esc_add(b, p, len, ESC_KEEP_NL);
}

/* A value shown between quotes: the quotes in it are escaped too. */
static void
txt_quoted(struct pf_buf *b, const char *s)
{
	buf_add_u8(b, '\'');
	(void)esc_add(b, s, strlen(s), ESC_QUOTES);
	buf_add_u8(b, '\'');
}

static void
txt_str(struct pf_buf *b, const char *s)
{
	if (s != NULL)
		txt_add(b, s, strlen(s));
}

/* A JSON string from arbitrary bytes; invalid UTF-8 becomes U+FFFD. */
static void
json_bytes(struct pf_buf *b, const void *p, size_t len)
{
	buf_add_json_str(b, p, len);
}

static void
json_str(struct pf_buf *b, const char *s)
{
	if (s == NULL)
		buf_add_str(b, "null");
	else
		json_bytes(b, s, strlen(s));
}

static void
json_key(struct pf_buf *b, int *first, const char *key)
{
	if (!*first)
		buf_add_u8(b, ',');
	*first = 0;
	buf_printf(b, "\"%s\":", key);
}

static void
json_kstr(struct pf_buf *b, int *first, const char *key, const char *v)
{
	json_key(b, first, key);
	json_str(b, v);
}

/* Negative = unknown = null. */
static void
json_ki64(struct pf_buf *b, int *first, const char *key, int64_t v)
{
	json_key(b, first, key);
	if (v < 0)
		buf_add_str(b, "null");
	else
		buf_printf(b, "%" PRId64, v);
}

/* Local ISO-8601 with the UTC offset: 2024-03-04T03:00:00+01:00. */
static void
fmt_time(int64_t ms, char *out, size_t len)
{
	struct tm	 tm;
	time_t		 t;
	long		 off;
	char		 base[32];

	if (ms < 0) {
		(void)snprintf(out, len, "-");
		return;
	}
	t = (time_t)(ms / 1000);
	if (localtime_r(&t, &tm) == NULL ||
	    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
		(void)snprintf(out, len, "-");
		return;
	}
	off = tm.tm_gmtoff / 60;
	(void)snprintf(out, len, "%s%c%02ld:%02ld", base, off < 0 ? '-' : '+',
	    labs(off) / 60, labs(off) % 60);
}

static void
json_ktime(struct pf_buf *b, int *first, const char *key, int64_t ms)
{
	char	 t[48];

	json_key(b, first, key);
	if (ms < 0) {
		buf_add_str(b, "null");
		return;
	}
	fmt_time(ms, t, sizeof(t));
	json_str(b, t);
}

/* 250ms, 1.2s, 3m04s, 2h05m09s; "-" when unknown. */
static void
fmt_dur(int64_t ms, char *out, size_t len)
{
	int64_t	 s;

	if (ms < 0)
		(void)snprintf(out, len, "-");
	else if (ms < 1000)
		(void)snprintf(out, len, "%" PRId64 "ms", ms);
	else if (ms < 60000)
		(void)snprintf(out, len, "%" PRId64 ".%" PRId64 "s",
		    ms / 1000, ms % 1000 / 100);
	else if ((s = ms / 1000) < 3600)
		(void)snprintf(out, len, "%" PRId64 "m%02" PRId64 "s", s / 60,
		    s % 60);
	else
		(void)snprintf(out, len, "%" PRId64 "h%02" PRId64 "m%02"
		    PRId64 "s", s / 3600, s % 3600 / 60, s % 60);
}

static int64_t
run_duration(const struct store_run *r)
{
	if (r->ended_ms < 0 || r->ended_ms < r->started_ms)
		return -1;
	return r->ended_ms - r->started_ms;
}

/* Writes the buffer to stdout; 0 ok, -1 if it could not be built or written. */
static int
out_flush(struct pf_buf *b, const char *cmd)
{
	if (b->failed) {
		fprintf(stderr, "picoflow %s: out of memory\n", cmd);
		return -1;
	}
	if (b->len > 0 && fwrite(b->data, 1, b->len, stdout) != b->len) {
		fprintf(stderr, "picoflow %s: writing output: %s\n", cmd,
		    strerror(errno));
		return -1;
	}
	buf_reset(b);
	if (fflush(stdout) == EOF) {
		fprintf(stderr, "picoflow %s: writing output: %s\n", cmd,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* ---- aligned tables ---------------------------------------------------- */

#define TBL_MAXCOL	8

struct tbl {
	size_t		 ncol;
	size_t		 nrow, cap;
	char		**cell;		/* nrow * ncol, already sanitized */
	char		**detail;	/* printed after row i, may be NULL */
};

/* Display width: UTF-8 continuation bytes take no column. */
static size_t
tbl_width(const char *s)
{
	size_t	 w = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

static char *
sanitize_dup(const char *s)
{
	struct pf_buf	 b;
	char		*r;

	buf_init(&b, 0);
	txt_str(&b, s != NULL ? s : "");
	buf_add_u8(&b, '\0');
	if (b.failed) {
		buf_free(&b);
		return NULL;
	}
	r = (char *)b.data;	/* ownership moves to the caller */
	return r;
}

/* Adds a row of ncol strings (NULL prints empty); -1 when out of memory. */
static int
tbl_row(struct tbl *t, const char *const *cols)
{
	size_t	 i;
	char	**nc, **nd;

	if (t->nrow == t->cap) {
		size_t	 ncap = t->cap ? t->cap * 2 : 16;

		if ((nc = pf_reallocarray(t->cell, ncap, t->ncol *
		    sizeof(*nc))) == NULL)
			return -1;
		t->cell = nc;
		if ((nd = pf_reallocarray(t->detail, ncap, sizeof(*nd))) ==
		    NULL)
			return -1;
		t->detail = nd;
		t->cap = ncap;
	}
	t->detail[t->nrow] = NULL;
	for (i = 0; i < t->ncol; i++) {
		if ((t->cell[t->nrow * t->ncol + i] =
		    sanitize_dup(cols[i])) == NULL) {
			while (i-- > 0)
				pf_free(t->cell[t->nrow * t->ncol + i]);
			return -1;
		}
	}
	t->nrow++;
	return 0;
}

static void
tbl_free(struct tbl *t)
{
	size_t	 i;

	for (i = 0; i < t->nrow * t->ncol; i++)
		pf_free(t->cell[i]);
	for (i = 0; i < t->nrow; i++)
		pf_free(t->detail[i]);
	pf_free(t->cell);
	pf_free(t->detail);
	memset(t, 0, sizeof(*t));
}

/* Columns two spaces apart, the last one unpadded. */
static void
tbl_print(const struct tbl *t, const char *indent, struct pf_buf *b)
{
	size_t	 w[TBL_MAXCOL] = { 0 }, r, c, cw;

	for (r = 0; r < t->nrow; r++)
		for (c = 0; c < t->ncol; c++)
			if ((cw = tbl_width(t->cell[r * t->ncol + c])) > w[c])
				w[c] = cw;
	for (r = 0; r < t->nrow; r++) {
		buf_add_str(b, indent);
		for (c = 0; c < t->ncol; c++) {
			const char	*s = t->cell[r * t->ncol + c];

			buf_add_str(b, s);
			if (c + 1 < t->ncol) {
				for (cw = tbl_width(s); cw < w[c] + 2; cw++)
					buf_add_u8(b, ' ');
			}
		}
		/* Trailing blanks of empty last columns help nobody. */
		while (b->len > 0 && b->data[b->len - 1] == ' ')
			b->len--;
		buf_add_u8(b, '\n');
		if (t->detail[r] != NULL)
			buf_add_str(b, t->detail[r]);
	}
}

/* ---- options and the database ------------------------------------------ */

struct ropts {
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

static int
usage_err(const struct ropts *o, const char *fmt, const char *arg)
{
	fprintf(stderr, "picoflow %s: ", o->cmd);
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nusage: %s\n", o->usage);
	return CLI_USAGE;
}

static int
parse_num(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
	char		*end;
	long long	 v;

	if (s == NULL || *s == '\0' || *s == '+' || *s == '-' || *s == ' ')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

/*
 * Parses the command's options.  Returns -1 to go on, or the exit code
 * (usage error, or 0 after --help).
 */
static int
parse_opts(struct cli_ctx *ctx, struct ropts *o, int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "workflow",		required_argument, NULL, 'w' },
		{ "limit",		required_argument, NULL, 'n' },
		{ "status",		required_argument, NULL, 's' },
		{ "execution-id",	required_argument, NULL, 'e' },
		{ "task",		required_argument, NULL, 't' },
		{ "json",		no_argument,	   NULL, 'j' },
		{ "help",		no_argument,	   NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int64_t	 v;
	int	 ch, i;

	o->json = ctx->json;
	o->exec_id = -1;
	o->limit = LIMIT_DEFAULT;
	optind = 0;	/* glibc: fresh scan of this argv */
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":w:n:s:e:t:jh", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'w':
			if (!o->want_wf)
				return usage_err(o, "%s", "takes no workflow");
			if (o->workflow != NULL &&
			    strcmp(o->workflow, optarg) != 0)
				return usage_err(o, "%s", "more than one "
				    "workflow given");
			o->workflow = optarg;
			break;
		case 'n':
			if ((o->allow & OPT_LIMIT) == 0)
				return usage_err(o, "unknown option '%s'",
				    "--limit");
			if (parse_num(optarg, 1, LIMIT_MAX, &v) == -1)
				return usage_err(o, "--limit wants a number "
				    "from 1 to 1000000, not '%s'", optarg);
			o->limit = (size_t)v;
			break;
		case 's':
			if ((o->allow & OPT_STATUS) == 0)
				return usage_err(o, "unknown option '%s'",
				    "--status");
			if (!store_status_valid(optarg))
				return usage_err(o, "unknown status '%s' "
				    "(running, success, failed, timeout, "
				    "skipped, cancelled)", optarg);
			o->status = optarg;
			break;
		case 'e':
			if ((o->allow & OPT_EXEC) == 0)
				return usage_err(o, "unknown option '%s'",
				    "--execution-id");
			if (parse_num(optarg, 1, INT64_MAX, &v) == -1)
				return usage_err(o, "--execution-id wants a "
				    "positive number, not '%s'", optarg);
			o->exec_id = v;
			break;
		case 't':
			if ((o->allow & OPT_TASK) == 0)
				return usage_err(o, "unknown option '%s'",
				    "--task");
			if (*optarg == '\0')
				return usage_err(o, "%s", "--task wants a "
				    "task name");
			o->task = optarg;
			break;
		case 'j':
			o->json = 1;
			break;
		case 'h':
			printf("usage: %s\n%s", o->usage, o->help);
			return CLI_OK;
		case ':':
			return usage_err(o, "option '%s' needs a value",
			    argv[optind - 1]);
		default:
			return usage_err(o, "unknown option '%s'",
			    argv[optind - 1]);
		}
	}
	i = optind;
	if (o->positional_list) {
		if (i >= argc)
			return usage_err(o, "%s", "missing subcommand");
		if (strcmp(argv[i], "list") != 0)
			return usage_err(o, "unknown subcommand '%s'", argv[i]);
		i++;
	}
	if (i < argc && o->want_wf) {
		if (o->workflow != NULL && strcmp(o->workflow, argv[i]) != 0)
			return usage_err(o, "%s", "more than one workflow "
			    "given");
		o->workflow = argv[i++];
	}
	if (i < argc)
		return usage_err(o, "unexpected argument '%s'", argv[i]);
	if (o->want_wf == 2 && o->workflow == NULL)
		return usage_err(o, "%s", "missing workflow name");
	if (o->workflow != NULL && *o->workflow == '\0')
		return usage_err(o, "%s", "empty workflow name");
	return -1;
}

/*
 * Opens the database read-only.  Returns 1 with *st NULL when there is no
 * database yet, 0 when open, -1 (message printed) on error.
 */
static int
open_db(struct cli_ctx *ctx, const char *cmd, struct pf_store **st)
{
	struct pf_paths	 p;
	struct pf_err	 err;
	struct stat	 sb;
	int		 rc;

	*st = NULL;
	pf_err_clear(&err);
	if (paths_resolve(ctx->state_dir, ctx->db_path, &p, &err) == -1) {
		fprintf(stderr, "picoflow %s: %s\n", cmd, err.msg);
		return -1;
	}
	if (stat(p.db_path, &sb) == -1 && errno == ENOENT) {
		paths_free(&p);
		return 1;
	}
	rc = store_open(p.db_path, STORE_RO, st, &err);
	paths_free(&p);
	if (rc == -1) {
		fprintf(stderr, "picoflow %s: %s\n", cmd, err.msg);
		return -1;
	}
	return 0;
}

static int
fail(const char *cmd, const struct pf_err *err)
{
	fprintf(stderr, "picoflow %s: %s\n", cmd, err->msg);
	return CLI_FAIL;
}

/* ---- shared renderings --------------------------------------------------- */

static void
json_run_fields(struct pf_buf *b, int *first, const struct store_run *r)
{
	json_key(b, first, "id");
	buf_printf(b, "%" PRId64, r->id);
	json_kstr(b, first, "workflow", r->workflow);
	json_kstr(b, first, "status", r->status);
	json_kstr(b, first, "trigger", r->trigger);
	json_ki64(b, first, "started_ms", r->started_ms);
	json_ktime(b, first, "started", r->started_ms);
	json_ki64(b, first, "ended_ms", r->ended_ms);
	json_ktime(b, first, "ended", r->ended_ms);
	json_ki64(b, first, "duration_ms", run_duration(r));
	json_kstr(b, first, "error", r->error);
}

/* A key only when the value is known: accounting the host could not take. */
static void
json_ki64_known(struct pf_buf *b, int *first, const char *key, int64_t v)
{
	if (v >= 0)
		json_ki64(b, first, key, v);
}

static void
json_attempt(struct pf_buf *b, const struct store_attempt *a, int output)
{
	int	 f = 1;

	buf_add_u8(b, '{');
	json_kstr(b, &f, "task", a->task_name);
	json_key(b, &f, "attempt");
	buf_printf(b, "%u", a->attempt);
	json_kstr(b, &f, "status", a->status);
	json_ki64(b, &f, "started_ms", a->started_ms);
	json_ktime(b, &f, "started", a->started_ms);
	json_ki64(b, &f, "ended_ms", a->ended_ms);
	json_ki64(b, &f, "duration_ms", a->duration_ms);
	json_key(b, &f, "exit_code");
	if (a->has_exit_code)
		buf_printf(b, "%d", a->exit_code);
	else
		buf_add_str(b, "null");
	json_ki64(b, &f, "signal", a->signal > 0 ? a->signal : -1);
	json_ki64(b, &f, "http_status", a->http_status > 0 ?
	    a->http_status : -1);
	json_ki64(b, &f, "max_rss_kb", a->max_rss_kb);
	json_ki64(b, &f, "user_cpu_us", a->user_cpu_us);
	json_ki64(b, &f, "sys_cpu_us", a->sys_cpu_us);
	json_ki64(b, &f, "bytes_captured", a->bytes_captured);
	json_ki64(b, &f, "bytes_dropped", a->bytes_dropped);
	json_ki64_known(b, &f, "oom_kills", a->oom_kills);
	json_ki64_known(b, &f, "pids_peak", a->pids_peak);
	json_ki64_known(b, &f, "pids_denied", a->pids_denied);
	json_ki64_known(b, &f, "nr_throttled", a->nr_throttled);
	json_ki64_known(b, &f, "throttled_us", a->throttled_us);
	json_key(b, &f, "truncated");
	buf_add_str(b, a->truncated ? "true" : "false");
	json_kstr(b, &f, "reason", a->reason);
	if (output) {
		json_key(b, &f, "stdout");
		json_bytes(b, a->stdout_data, a->stdout_len);
		json_key(b, &f, "stderr");
		json_bytes(b, a->stderr_data, a->stderr_len);
	}
	buf_add_u8(b, '}');
}

/* Appends ", " (or nothing first) and one formatted part. */
static void
part_add(char *out, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
part_add(char *out, size_t len, const char *fmt, ...)
{
	va_list	 ap;
	size_t	 k = strlen(out);

	if (k + 2 >= len)
		return;
	if (k > 0) {
		memcpy(out + k, ", ", 3);
		k += 2;
	}
	va_start(ap, fmt);
	(void)vsnprintf(out + k, len - k, fmt, ap);
	va_end(ap);
}

/*
 * What an attempt used, known values only.  all = 0 keeps what deserves a
 * look in a summary: OOM kills, refused forks, cpu throttling.
 */
static void
usage_text(const struct store_attempt *a, int all, char *out, size_t len)
{
	out[0] = '\0';
	if (all && a->max_rss_kb >= 0)
		part_add(out, len, "memory peak %" PRId64 " KiB",
		    a->max_rss_kb);
	if (all && a->user_cpu_us >= 0 && a->sys_cpu_us >= 0)
		part_add(out, len, "cpu %" PRId64 " us user + %" PRId64
		    " us sys", a->user_cpu_us, a->sys_cpu_us);
	if (all && a->pids_peak >= 0)
		part_add(out, len, "pids peak %" PRId64, a->pids_peak);
	if (a->pids_denied > 0 || (all && a->pids_denied == 0))
		part_add(out, len, "forks refused %" PRId64, a->pids_denied);
	if (a->oom_kills > 0 || (all && a->oom_kills == 0))
		part_add(out, len, "oom kills %" PRId64, a->oom_kills);
	if (a->nr_throttled > 0 || (all && a->nr_throttled == 0)) {
		if (a->throttled_us >= 0)
			part_add(out, len, "cpu throttled %" PRId64 " times "
			    "for %" PRId64 " us", a->nr_throttled,
			    a->throttled_us);
		else
			part_add(out, len, "cpu throttled %" PRId64 " times",
			    a->nr_throttled);
	}
}

static void
attempt_label(const struct store_attempt *a, char *out, size_t len)
{
	if (a->attempt == 0)
		(void)snprintf(out, len, "not run");
	else
		(void)snprintf(out, len, "attempt %u", a->attempt);
}

/*
 * The per-task lines under an execution: each task's latest attempt, in
 * the order the tasks first started.
 */
static int
task_lines(int64_t run_id, const struct store_attempt *a, size_t n,
    char **out)
{
	struct tbl	 t;
	struct pf_buf	 b;
	size_t		 i, j;
	char		 lab[32], use[256];

	*out = NULL;
	memset(&t, 0, sizeof(t));
	t.ncol = 5;
	for (i = 0; i < n; i++) {
		const struct store_attempt	*last = &a[i];
		const char			*cols[5];
		int				 seen = 0;

		for (j = 0; j < i; j++)
			if (strcmp(a[j].task_name, a[i].task_name) == 0)
				seen = 1;
		if (seen)
			continue;
		for (j = i + 1; j < n; j++)
			if (strcmp(a[j].task_name, a[i].task_name) == 0)
				last = &a[j];
		attempt_label(last, lab, sizeof(lab));
		cols[0] = last->task_name;
		cols[1] = last->status;
		cols[2] = lab;
		cols[3] = last->reason;
		usage_text(last, 0, use, sizeof(use));
		cols[4] = use;
		if (tbl_row(&t, cols) == -1) {
			tbl_free(&t);
			return -1;
		}
	}
	buf_init(&b, 0);
	/* The Rust PicoFlow's label, which scripts grep for. */
	buf_printf(&b, "    Execution ID: %" PRId64 "%s\n", run_id,
	    t.nrow > 0 ? "; each task's latest attempt:" : "; no task ran");
	tbl_print(&t, "    ", &b);
	tbl_free(&t);
	buf_add_u8(&b, '\0');
	if (b.failed) {
		buf_free(&b);
		return -1;
	}
	*out = (char *)b.data;
	return 0;
}

/* ---- status ------------------------------------------------------------ */

int
cli_status(struct cli_ctx *ctx, int argc, char *argv[])
{
	struct ropts		 o = {
		.cmd = "status",
		.usage = "picoflow status [WORKFLOW] [--limit N] [--json]",
		.help = "Recent executions, newest first, with each task's "
		    "latest attempt.\n"
		    "  -w, --workflow NAME  only this workflow (or give it "
		    "as WORKFLOW)\n"
		    "      --limit N        at most N executions "
		    "(default 10)\n"
		    "      --json           one JSON document\n",
		.want_wf = 1,
		.allow = OPT_LIMIT,
	};
	struct pf_store		*st;
	struct store_run	*runs = NULL;
	struct store_attempt	*att;
	struct pf_err		 err;
	struct pf_buf		 b;
	struct tbl		 t;
	size_t			 nruns = 0, natt, i, j;
	int			 rc, first = 1;

	if ((rc = parse_opts(ctx, &o, argc, argv)) != -1)
		return rc;
	if ((rc = open_db(ctx, o.cmd, &st)) == -1)
		return CLI_FAIL;
	if (rc == 0 && store_runs_list(st, o.workflow, NULL, o.limit, &runs,
	    &nruns, &err) == -1) {
		store_close(st);
		return fail(o.cmd, &err);
	}
	buf_init(&b, 0);
	memset(&t, 0, sizeof(t));
	t.ncol = 6;
	rc = CLI_OK;
	if (o.json)
		buf_add_str(&b, "{\"executions\":[");
	else if (nruns == 0) {
		if (o.workflow != NULL) {
			buf_add_str(&b, "no runs recorded yet for workflow ");
			txt_quoted(&b, o.workflow);
			buf_add_u8(&b, '\n');
		} else
			buf_add_str(&b, "no runs recorded yet\n");
	} else {
		static const char *const hdr[6] = { "ID", "WORKFLOW",
		    "STATUS", "STARTED", "DURATION", "TRIGGER" };

		if (tbl_row(&t, hdr) == -1)
			b.failed = 1;
	}
	for (i = 0; i < nruns && !b.failed; i++) {
		if (store_attempts_list(st, runs[i].id, NULL, 0, &att, &natt,
		    &err) == -1) {
			rc = fail(o.cmd, &err);
			goto out;
		}
		if (o.json) {
			int	 f = 1;

			if (!first)
				buf_add_u8(&b, ',');
			first = 0;
			buf_add_u8(&b, '{');
			json_run_fields(&b, &f, &runs[i]);
			json_key(&b, &f, "attempts");
			buf_add_u8(&b, '[');
			for (j = 0; j < natt; j++) {
				if (j > 0)
					buf_add_u8(&b, ',');
				json_attempt(&b, &att[j], 0);
			}
			buf_add_str(&b, "]}");
		} else {
			char		 id[32], start[48], dur[32];
			const char	*cols[6];

			(void)snprintf(id, sizeof(id), "%" PRId64, runs[i].id);
			fmt_time(runs[i].started_ms, start, sizeof(start));
			fmt_dur(run_duration(&runs[i]), dur, sizeof(dur));
			cols[0] = id;
			cols[1] = runs[i].workflow;
			cols[2] = runs[i].status;
			cols[3] = start;
			cols[4] = dur;
			cols[5] = runs[i].trigger != NULL ? runs[i].trigger :
			    "-";
			if (tbl_row(&t, cols) == -1 ||
			    task_lines(runs[i].id, att, natt,
			    &t.detail[t.nrow - 1]) == -1)
				b.failed = 1;
		}
		store_attempts_free(att, natt);
	}
	if (o.json)
		buf_add_str(&b, "]}\n");
	else
		tbl_print(&t, "", &b);
	if (out_flush(&b, o.cmd) == -1)
		rc = CLI_FAIL;
out:
	tbl_free(&t);
	buf_free(&b);
	store_runs_free(runs, nruns);
	store_close(st);
	return rc;
}

/* ---- history ----------------------------------------------------------- */

int
cli_history(struct cli_ctx *ctx, int argc, char *argv[])
{
	struct ropts		 o = {
		.cmd = "history",
		.usage = "picoflow history WORKFLOW [-s STATUS] [--limit N] "
		    "[--json]",
		.help = "Executions of one workflow, newest first.\n"
		    "  -w, --workflow NAME  the workflow (or give it as "
		    "WORKFLOW)\n"
		    "  -s, --status S       only running, success, failed, "
		    "timeout, skipped or cancelled\n"
		    "      --limit N        at most N executions "
		    "(default 10)\n"
		    "      --json           one JSON document\n",
		.want_wf = 2,
		.allow = OPT_LIMIT | OPT_STATUS,
	};
	static const char *const hdr[7] = { "ID", "STARTED", "ENDED",
	    "STATUS", "DURATION", "TRIGGER", "ERROR" };
	struct pf_store		*st;
	struct store_run	*runs = NULL;
	struct pf_err		 err;
	struct pf_buf		 b;
	struct tbl		 t;
	size_t			 nruns = 0, i;
	int			 rc;

	if ((rc = parse_opts(ctx, &o, argc, argv)) != -1)
		return rc;
	if ((rc = open_db(ctx, o.cmd, &st)) == -1)
		return CLI_FAIL;
	if (rc == 0 && store_runs_list(st, o.workflow, o.status, o.limit,
	    &runs, &nruns, &err) == -1) {
		store_close(st);
		return fail(o.cmd, &err);
	}
	buf_init(&b, 0);
	memset(&t, 0, sizeof(t));
	t.ncol = 7;
	if (o.json) {
		int	 f = 1;

		buf_add_u8(&b, '{');
		json_kstr(&b, &f, "workflow", o.workflow);
		json_kstr(&b, &f, "status_filter", o.status);
		json_key(&b, &f, "executions");
		buf_add_u8(&b, '[');
		for (i = 0; i < nruns; i++) {
			int	 g = 1;

			if (i > 0)
				buf_add_u8(&b, ',');
			buf_add_u8(&b, '{');
			json_run_fields(&b, &g, &runs[i]);
			buf_add_u8(&b, '}');
		}
		buf_add_str(&b, "]}\n");
	} else if (nruns == 0) {
		buf_add_str(&b, "no runs recorded yet for workflow ");
		txt_quoted(&b, o.workflow);
		if (o.status != NULL) {
			buf_add_str(&b, " with status ");
			buf_add_str(&b, o.status);
		}
		buf_add_u8(&b, '\n');
	} else {
		if (tbl_row(&t, hdr) == -1)
			b.failed = 1;
		for (i = 0; i < nruns && !b.failed; i++) {
			char		 id[32], start[48], end[48], dur[32];
			const char	*cols[7];

			(void)snprintf(id, sizeof(id), "%" PRId64, runs[i].id);
			fmt_time(runs[i].started_ms, start, sizeof(start));
			fmt_time(runs[i].ended_ms, end, sizeof(end));
			fmt_dur(run_duration(&runs[i]), dur, sizeof(dur));
			cols[0] = id;
			cols[1] = start;
			cols[2] = end;
			cols[3] = runs[i].status;
			cols[4] = dur;
			cols[5] = runs[i].trigger != NULL ? runs[i].trigger :
			    "-";
			cols[6] = runs[i].error;
			if (tbl_row(&t, cols) == -1)
				b.failed = 1;
		}
		tbl_print(&t, "", &b);
	}
	rc = out_flush(&b, o.cmd) == -1 ? CLI_FAIL : CLI_OK;
	tbl_free(&t);
	buf_free(&b);
	store_runs_free(runs, nruns);
	store_close(st);
	return rc;
}

/* ---- stats ------------------------------------------------------------- */

static double
pct(int64_t part, int64_t total)
{
	return total > 0 ? 100.0 * (double)part / (double)total : 0.0;
}

int
cli_stats(struct cli_ctx *ctx, int argc, char *argv[])
{
	struct ropts		 o = {
		.cmd = "stats",
		.usage = "picoflow stats WORKFLOW [--json]",
		.help = "Totals of one workflow: runs, success and failure "
		    "rates (failed includes\ntimeout; rates are of all "
		    "runs), average duration of finished runs, last 24 h.\n"
		    "  -w, --workflow NAME  the workflow (or give it as "
		    "WORKFLOW)\n"
		    "      --json           one JSON document\n",
		.want_wf = 2,
	};
	struct pf_store		*st;
	struct store_stats	 s;
	struct timespec		 ts;
	struct pf_err		 err;
	struct pf_buf		 b;
	int64_t			 now;
	char			 dur[32], last[48];
	int			 rc;

	if ((rc = parse_opts(ctx, &o, argc, argv)) != -1)
		return rc;
	if ((rc = open_db(ctx, o.cmd, &st)) == -1)
		return CLI_FAIL;
	(void)clock_gettime(CLOCK_REALTIME, &ts);
	now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	memset(&s, 0, sizeof(s));
	s.avg_duration_ms = s.last_started_ms = -1;
	if (rc == 0 && store_stats(st, o.workflow, now, &s, &err) == -1) {
		store_close(st);
		return fail(o.cmd, &err);
	}
	store_close(st);
	buf_init(&b, 0);
	if (o.json) {
		int	 f = 1, g = 1;

		buf_add_u8(&b, '{');
		json_kstr(&b, &f, "workflow", o.workflow);
		json_key(&b, &f, "total");
		buf_printf(&b, "%" PRId64, s.total);
		json_key(&b, &f, "success");
		buf_printf(&b, "%" PRId64, s.success);
		json_key(&b, &f, "failed");
		buf_printf(&b, "%" PRId64, s.failed);
		json_key(&b, &f, "cancelled");
		buf_printf(&b, "%" PRId64, s.cancelled);
		json_key(&b, &f, "running");
		buf_printf(&b, "%" PRId64, s.running);
		json_key(&b, &f, "success_rate");
		buf_printf(&b, "%.1f", pct(s.success, s.total));
		json_key(&b, &f, "failure_rate");
		buf_printf(&b, "%.1f", pct(s.failed, s.total));
		json_ki64(&b, &f, "avg_duration_ms", s.avg_duration_ms);
		json_key(&b, &f, "last_24h");
		buf_add_u8(&b, '{');
		json_key(&b, &g, "total");
		buf_printf(&b, "%" PRId64, s.day_total);
		json_key(&b, &g, "success");
		buf_printf(&b, "%" PRId64, s.day_success);
		json_key(&b, &g, "failed");
		buf_printf(&b, "%" PRId64, s.day_failed);
		buf_add_u8(&b, '}');
		json_ki64(&b, &f, "last_started_ms", s.last_started_ms);
		json_ktime(&b, &f, "last_started", s.last_started_ms);
		buf_add_str(&b, "}\n");
	} else {
		fmt_dur(s.avg_duration_ms, dur, sizeof(dur));
		if (s.last_started_ms < 0)
			(void)snprintf(last, sizeof(last), "never");
		else
			fmt_time(s.last_started_ms, last, sizeof(last));
		buf_add_str(&b, "Workflow:          ");
		txt_str(&b, o.workflow);
		buf_printf(&b, "\n"
		    "Total runs:        %" PRId64 "\n"
		    "success:           %" PRId64 " (%.1f%%)\n"
		    "failed:            %" PRId64 " (%.1f%%)\n"
		    "cancelled:         %" PRId64 "\n"
		    "running:           %" PRId64 "\n"
		    "Average duration:  %s\n"
		    "Last 24 h:         %" PRId64 " runs, %" PRId64
		    " succeeded, %" PRId64 " failed\n"
		    "Last run:          %s\n",
		    s.total, s.success, pct(s.success, s.total), s.failed,
		    pct(s.failed, s.total), s.cancelled, s.running, dur,
		    s.day_total, s.day_success, s.day_failed, last);
	}
	rc = out_flush(&b, o.cmd) == -1 ? CLI_FAIL : CLI_OK;
	buf_free(&b);
	return rc;
}

/* ---- logs -------------------------------------------------------------- */

static void
txt_stream(struct pf_buf *b, const char *name, const unsigned char *p,
    size_t len)
{
	if (len == 0)
		return;
	buf_printf(b, "--- %s ---\n", name);
	txt_add(b, p, len);
	if (p[len - 1] != '\n')
		buf_add_u8(b, '\n');
}

static void
txt_attempt_log(struct pf_buf *b, const struct store_attempt *a)
{
	char	 lab[32], dur[32], use[256];

	attempt_label(a, lab, sizeof(lab));
	fmt_dur(a->duration_ms, dur, sizeof(dur));
	buf_add_str(b, "=== ");
	txt_str(b, a->task_name);
	buf_printf(b, " (%s): ", lab);
	txt_str(b, a->status);
	if (a->has_exit_code)
		buf_printf(b, ", exit %d", a->exit_code);
	if (a->signal > 0)
		buf_printf(b, ", signal %d", a->signal);
	if (a->http_status > 0)
		buf_printf(b, ", http %d", a->http_status);
	if (a->attempt > 0)
		buf_printf(b, ", %s", dur);
	buf_add_str(b, " ===\n");
	if (a->reason != NULL) {
		buf_add_str(b, "reason: ");
		txt_str(b, a->reason);
		buf_add_u8(b, '\n');
	}
	usage_text(a, 1, use, sizeof(use));
	if (use[0] != '\0')
		buf_printf(b, "usage: %s\n", use);
	txt_stream(b, "stdout", a->stdout_data, a->stdout_len);
	txt_stream(b, "stderr", a->stderr_data, a->stderr_len);
	if (a->truncated || a->bytes_dropped > 0) {
		if (a->bytes_dropped > 0)
			buf_printf(b, "[output truncated: %" PRId64
			    " bytes dropped]\n", a->bytes_dropped);
		else
			buf_add_str(b, "[output truncated]\n");
	}
	if (a->attempt > 0 && a->stdout_len == 0 && a->stderr_len == 0)
		buf_add_str(b, "(no output)\n");
}

int
cli_logs(struct cli_ctx *ctx, int argc, char *argv[])
{
	struct ropts		 o = {
		.cmd = "logs",
		.usage = "picoflow logs WORKFLOW [-e ID] [-t TASK] [--json]",
		.help = "Captured stdout and stderr of every attempt of an "
		    "execution (the latest\nby default).  Control "
		    "characters are shown as \\xNN, C1 and bidi controls\n"
		    "as \\uXXXX; --json has the exact text (those as "
		    "\\u escapes).\n"
		    "  -w, --workflow NAME      the workflow (or give it as "
		    "WORKFLOW)\n"
		    "  -e, --execution-id ID    this execution instead of "
		    "the latest\n"
		    "  -t, --task NAME          only this task\n"
		    "      --json               one JSON document\n",
		.want_wf = 2,
		.allow = OPT_EXEC | OPT_TASK,
	};
	struct pf_store		*st;
	struct store_run	*runs = NULL, run;
	struct store_attempt	*att = NULL;
	struct pf_err		 err;
	struct pf_buf		 b;
	size_t			 nruns = 0, natt = 0, i;
	int			 rc, found = 0;

	if ((rc = parse_opts(ctx, &o, argc, argv)) != -1)
		return rc;
	if ((rc = open_db(ctx, o.cmd, &st)) == -1)
		return CLI_FAIL;
	memset(&run, 0, sizeof(run));
	if (rc == 0 && o.exec_id > 0) {
		if (store_run_get(st, o.exec_id, &run, &found, &err) == -1) {
			store_close(st);
			return fail(o.cmd, &err);
		}
		if (found && strcmp(run.workflow, o.workflow) != 0) {
			fprintf(stderr, "picoflow logs: execution %" PRId64
			    " belongs to workflow '%s', not '%s'\n",
			    o.exec_id, run.workflow, o.workflow);
			store_run_clear(&run);
			store_close(st);
			return CLI_FAIL;
		}
		if (!found) {
			fprintf(stderr, "picoflow logs: no execution with id "
			    "%" PRId64 "\n", o.exec_id);
			store_close(st);
			return CLI_FAIL;
		}
	} else if (rc == 0) {
		if (store_runs_list(st, o.workflow, NULL, 1, &runs, &nruns,
		    &err) == -1) {
			store_close(st);
			return fail(o.cmd, &err);
		}
		if (nruns == 1) {
			run = runs[0];	/* moved; runs[0] not freed below */
			memset(&runs[0], 0, sizeof(runs[0]));
			found = 1;
		}
	}
	store_runs_free(runs, nruns);
	if (found && store_attempts_list(st, run.id, o.task, 1, &att, &natt,
	    &err) == -1) {
		store_run_clear(&run);
		store_close(st);
		return fail(o.cmd, &err);
	}
	store_close(st);

	buf_init(&b, 0);
	rc = CLI_OK;
	if (o.json) {
		int	 f = 1;

		buf_add_u8(&b, '{');
		json_kstr(&b, &f, "workflow", o.workflow);
		json_kstr(&b, &f, "task_filter", o.task);
		json_key(&b, &f, "execution");
		if (found) {
			int	 g = 1;

			buf_add_u8(&b, '{');
			json_run_fields(&b, &g, &run);
			buf_add_u8(&b, '}');
		} else
			buf_add_str(&b, "null");
		json_key(&b, &f, "attempts");
		buf_add_u8(&b, '[');
		/* One attempt at a time: output can be megabytes. */
		for (i = 0; i < natt && rc == CLI_OK; i++) {
			if (i > 0)
				buf_add_u8(&b, ',');
			json_attempt(&b, &att[i], 1);
			if (out_flush(&b, o.cmd) == -1)
				rc = CLI_FAIL;
		}
		buf_add_str(&b, "]}\n");
	} else if (!found) {
		buf_add_str(&b, "no runs recorded yet for workflow '");
		txt_str(&b, o.workflow);
		buf_add_str(&b, "'\n");
	} else {
		char	 start[48], dur[32];

		fmt_time(run.started_ms, start, sizeof(start));
		fmt_dur(run_duration(&run), dur, sizeof(dur));
		buf_printf(&b, "Execution %" PRId64 " of ", run.id);
		txt_str(&b, run.workflow);
		buf_add_str(&b, ": ");
		txt_str(&b, run.status);
		buf_printf(&b, ", started %s, %s\n", start, dur);
		if (run.error != NULL) {
			buf_add_str(&b, "error: ");
			txt_str(&b, run.error);
			buf_add_u8(&b, '\n');
		}
		if (natt == 0) {
			if (o.task != NULL) {
				buf_add_str(&b, "no task '");
				txt_str(&b, o.task);
				buf_add_str(&b, "' in this execution\n");
			} else
				buf_add_str(&b, "no tasks recorded\n");
		}
		for (i = 0; i < natt && rc == CLI_OK; i++) {
			txt_attempt_log(&b, &att[i]);
			if (out_flush(&b, o.cmd) == -1)
				rc = CLI_FAIL;
		}
	}
	if (rc == CLI_OK && out_flush(&b, o.cmd) == -1)
		rc = CLI_FAIL;
	buf_free(&b);
	store_attempts_free(att, natt);
	store_run_clear(&run);
	return rc;
}

/* ---- workflow list ----------------------------------------------------- */

int
cli_workflow(struct cli_ctx *ctx, int argc, char *argv[])
{
	struct ropts		 o = {
		.cmd = "workflow",
		.usage = "picoflow workflow list [--json]",
		.help = "Every workflow recorded in the database: type "
		    "(Cron or On-Demand),\ntotals (failed includes timeout) "
		    "and the last execution.\n"
		    "      --json           one JSON document\n",
		.positional_list = 1,
	};
	static const char *const hdr[6] = { "NAME", "TYPE", "TOTAL",
	    "SUCCESS", "FAILED", "LAST EXECUTION" };
	struct pf_store		*st;
	struct store_workflow	*w = NULL;
	struct pf_err		 err;
	struct pf_buf		 b;
	struct tbl		 t;
	size_t			 n = 0, i;
	int			 rc;

	if ((rc = parse_opts(ctx, &o, argc, argv)) != -1)
		return rc;
	if ((rc = open_db(ctx, o.cmd, &st)) == -1)
		return CLI_FAIL;
	if (rc == 0 && store_workflows_list(st, &w, &n, &err) == -1) {
		store_close(st);
		return fail(o.cmd, &err);
	}
	store_close(st);
	buf_init(&b, 0);
	memset(&t, 0, sizeof(t));
	t.ncol = 6;
	if (o.json) {
		buf_add_str(&b, "{\"workflows\":[");
		for (i = 0; i < n; i++) {
			int	 f = 1;

			if (i > 0)
				buf_add_u8(&b, ',');
			buf_add_u8(&b, '{');
			json_kstr(&b, &f, "name", w[i].name);
			json_kstr(&b, &f, "type", w[i].schedule != NULL ?
			    "Cron" : "On-Demand");
			json_kstr(&b, &f, "schedule", w[i].schedule);
			json_kstr(&b, &f, "file", w[i].file);
			json_kstr(&b, &f, "description", w[i].description);
			json_key(&b, &f, "total");
			buf_printf(&b, "%" PRId64, w[i].total);
			json_key(&b, &f, "success");
			buf_printf(&b, "%" PRId64, w[i].success);
			json_key(&b, &f, "failed");
			buf_printf(&b, "%" PRId64, w[i].failed);
			json_ki64(&b, &f, "last_started_ms",
			    w[i].last_started_ms);
			json_ktime(&b, &f, "last_started",
			    w[i].last_started_ms);
			json_kstr(&b, &f, "last_status", w[i].last_status);
			buf_add_u8(&b, '}');
		}
		buf_add_str(&b, "]}\n");
	} else if (n == 0) {
		buf_add_str(&b, "no workflows recorded yet\n");
	} else {
		if (tbl_row(&t, hdr) == -1)
			b.failed = 1;
		for (i = 0; i < n && !b.failed; i++) {
			char		 tot[24], ok[24], bad[24], last[64];
			const char	*cols[6];

			(void)snprintf(tot, sizeof(tot), "%" PRId64,
			    w[i].total);
			(void)snprintf(ok, sizeof(ok), "%" PRId64,
			    w[i].success);
			(void)snprintf(bad, sizeof(bad), "%" PRId64,
			    w[i].failed);
			if (w[i].last_started_ms < 0)
				(void)snprintf(last, sizeof(last), "never");
			else
				fmt_time(w[i].last_started_ms, last,
				    sizeof(last));
			cols[0] = w[i].name;
			cols[1] = w[i].schedule != NULL ? "Cron" : "On-Demand";
			cols[2] = tot;
			cols[3] = ok;
			cols[4] = bad;
			cols[5] = last;
			if (tbl_row(&t, cols) == -1)
				b.failed = 1;
		}
		tbl_print(&t, "", &b);
	}
	rc = out_flush(&b, o.cmd) == -1 ? CLI_FAIL : CLI_OK;
	tbl_free(&t);
	buf_free(&b);
	store_workflows_free(w, n);
	return rc;
}
