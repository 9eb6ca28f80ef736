/*
 * The read commands' output helpers: text escaped for a terminal (esc.h),
 * JSON strings and keys, times and durations, the flush to stdout, and
 * aligned tables whose cells are sanitized when added.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "picoflow/alloc.h"
#include "picoflow/buf.h"
#include "picoflow/esc.h"
#include "cli_int.h"

/* ---- output helpers ---------------------------------------------------- */

/*
 * Text: bytes as they are, except controls (not \n, \t), C1 and bidi
 * controls and invalid UTF-8, which are shown escaped (esc.h).
 */
void
cli_txt_add(struct pf_buf *b, const void *p, size_t len)
{
	(void)esc_add(b, p, len, ESC_KEEP_NL);
}

/* A value shown between quotes: the quotes in it are escaped too. */
void
cli_txt_quoted(struct pf_buf *b, const char *s)
{
	buf_add_u8(b, '\'');
	(void)esc_add(b, s, strlen(s), ESC_QUOTES);
	buf_add_u8(b, '\'');
}

void
cli_txt_str(struct pf_buf *b, const char *s)
{
	if (s != NULL)
		cli_txt_add(b, s, strlen(s));
}

/* Negative = unknown = null. */
void
cli_json_ki64(struct pf_json *j, const char *key, int64_t v)
{
	json_key(j, key);
	if (v < 0)
		json_null(j);
	else
		json_i64(j, v);
}

/* Local ISO-8601 with the UTC offset: 2024-03-04T03:00:00+01:00. */
void
cli_fmt_time(int64_t ms, char *out, size_t len)
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

void
cli_json_ktime(struct pf_json *j, const char *key, int64_t ms)
{
	char	 t[48];

	json_key(j, key);
	if (ms < 0) {
		json_null(j);
		return;
	}
	cli_fmt_time(ms, t, sizeof(t));
	json_str(j, t);
}

void
cli_json_done(struct pf_json *j)
{
	json_text(j, "\n");
	if (json_close(j) == -1)
		j->b->failed = 1;
}

/* 250ms, 1.2s, 3m04s, 2h05m09s; "-" when unknown. */
void
cli_fmt_dur(int64_t ms, char *out, size_t len)
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


/* Writes the buffer to stdout; 0 ok, -1 if it could not be built or written. */
int
cli_out_flush(struct pf_buf *b, const char *cmd)
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
	cli_txt_str(&b, s != NULL ? s : "");
	buf_add_u8(&b, '\0');
	if (b.failed) {
		buf_free(&b);
		return NULL;
	}
	r = (char *)b.data;	/* ownership moves to the caller */
	return r;
}

/* Adds a row of ncol strings (NULL prints empty); -1 when out of memory. */
int
cli_tbl_row(struct cli_tbl *t, const char *const *cols)
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

void
cli_tbl_free(struct cli_tbl *t)
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
void
cli_tbl_print(const struct cli_tbl *t, const char *indent, struct pf_buf *b)
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
