/*
 * The YAML node tree shared by the loaders (see ytree.h): libyaml events
 * to nodes with positions, and typed getters that report every problem
 * with file:line:column.  This file holds the arena, the messages and a
 * document's parse and free; ytree_int.h lists the other files.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#include "picoflow/alloc.h"
#include "picoflow/err.h"
#include "ytree.h"
#include "ytree_int.h"

static void *
arena_alloc(struct yt_arena *a, size_t n)
{
	struct yt_arena_chunk *c;
	size_t		 cap;
	void		*p;

	if (n > SIZE_MAX - 16)
		return NULL;
	n = (n + 7) & ~(size_t)7;
	if (a->head == NULL || a->head->cap - a->head->used < n) {
		cap = n > ARENA_CHUNK ? n : ARENA_CHUNK;
		if ((c = pf_malloc(sizeof(*c) + cap)) == NULL)
			return NULL;
		c->used = 0;
		c->cap = cap;
		c->next = a->head;
		a->head = c;
	}
	p = a->head->data + a->head->used;
	a->head->used += n;
	return p;
}

static void
arena_free(struct yt_arena *a)
{
	struct yt_arena_chunk *c, *next;

	for (c = a->head; c != NULL; c = next) {
		next = c->next;
		pf_free(c);
	}
	a->head = NULL;
}

static void
yt_vdiag(struct ytree *y, enum pf_severity sev, unsigned line, unsigned col,
    const char *fmt, va_list ap)
{
	char	 msg[PF_ERR_MAX];

	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	if (sev == PF_SEV_ERROR)
		y->failed = 1;
	pf_diags_add(y->diags, sev, y->file, line, col, "%s", msg);
}

void
yt_diag(struct ytree *y, enum pf_severity sev, unsigned line, unsigned col,
    const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	yt_vdiag(y, sev, line, col, fmt, ap);
	va_end(ap);
}

void
yt_err(struct ytree *y, const struct ynode *at, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	yt_vdiag(y, PF_SEV_ERROR, at ? at->line : 1, at ? at->col : 1, fmt,
	    ap);
	va_end(ap);
}

void
yt_warn(struct ytree *y, const struct ynode *at, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	yt_vdiag(y, PF_SEV_WARNING, at ? at->line : 1, at ? at->col : 1,
	    fmt, ap);
	va_end(ap);
}

/* Room left for more messages: suggestions cost time, skip them if not. */
int
yt_room(const struct ytree *y)
{
	size_t	 max = y->diags->max ? y->diags->max : PF_DIAGS_DEFAULT_MAX;

	return y->diags->n < max;
}

void *
yt_alloc(struct ytree *y, size_t n)
{
	void	*p;

	if ((p = arena_alloc(&y->arena, n)) == NULL)
		y->oom = 1;
	return p;
}

char *
yt_strdup(struct ytree *y, const char *s, size_t len)
{
	char	*p;

	if ((p = pf_malloc(len + 1)) == NULL) {
		y->oom = 1;
		return NULL;
	}
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

/* 1-based line and column (in characters) of byte offset off. */
void
yt_pos_of_offset(const unsigned char *buf, size_t len, size_t off, unsigned *line,
    unsigned *col)
{
	size_t	 i;
	unsigned l = 1, c = 1;

	if (off > len)
		off = len;
	for (i = 0; i < off; i++) {
		if (buf[i] == '\n' ||
		    (buf[i] == '\r' && (i + 1 >= len || buf[i + 1] != '\n'))) {
			l++;
			c = 1;
		} else if ((buf[i] & 0xc0) != 0x80 && buf[i] != '\r')
			c++;
	}
	*line = l;
	*col = c;
}

const char *
yt_kind_name(const struct ynode *n)
{
	switch (n->kind) {
	case YN_SEQ:
		return "a list";
	case YN_MAP:
		return "a mapping";
	default:
		return "a scalar";
	}
}

int
yt_is_null(const struct ynode *n)
{
	if (n == NULL || n->kind != YN_SCALAR || n->str || n->style != YS_PLAIN)
		return 0;
	return n->len == 0 || strcmp(n->text, "~") == 0 ||
	    strcmp(n->text, "null") == 0 || strcmp(n->text, "Null") == 0 ||
	    strcmp(n->text, "NULL") == 0;
}

/*
 * A short printable rendering of a scalar for messages: control bytes
 * escaped, long text cut.
 */
const char *
yt_shown_text(struct ytree *y, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	char	*out = y->show[y->showi];
	size_t	 i, o = 0, cap = sizeof(y->show[0]);
	unsigned char c;

	y->showi ^= 1;
	for (i = 0; i < len; i++) {
		if (o + 8 >= cap) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f) {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		} else
			out[o++] = (char)c;
	}
	out[o] = '\0';
	return out;
}

const char *
yt_shown(struct ytree *y, const struct ynode *n)
{
	n = yt_r(n);
	if (n->kind != YN_SCALAR)
		return yt_kind_name(n);
	return yt_shown_text(y, n->text, n->len);
}

/* Stable sort of this load's messages by position (merge sort). */
void
yt_diags_sort(struct pf_diags *d, size_t from)
{
	struct pf_diag	*a, *tmp, *src, *dst, *sw;
	size_t		 n, w, i, l, r, le, re, o;

	if (d->n <= from + 1)
		return;
	a = d->v + from;
	n = d->n - from;
	if ((tmp = pf_reallocarray(NULL, n, sizeof(*tmp))) == NULL)
		return;
	src = a;
	dst = tmp;
	for (w = 1; w < n; w *= 2) {
		for (i = 0; i < n; i += 2 * w) {
			l = i;
			le = i + w < n ? i + w : n;
			r = le;
			re = i + 2 * w < n ? i + 2 * w : n;
			o = i;
			while (l < le && r < re) {
				if (src[r].line < src[l].line ||
				    (src[r].line == src[l].line &&
				    src[r].col < src[l].col))
					dst[o++] = src[r++];
				else
					dst[o++] = src[l++];
			}
			while (l < le)
				dst[o++] = src[l++];
			while (r < re)
				dst[o++] = src[r++];
		}
		sw = src;
		src = dst;
		dst = sw;
	}
	if (src != a)
		memcpy(a, src, n * sizeof(*a));
	pf_free(tmp);
}

int
yt_parse(struct ytree *y, const unsigned char *b, size_t len, size_t max_bytes)
{
	const unsigned char *nul;
	unsigned	 line, col;

	if (y->what == NULL)
		y->what = "YAML";
	y->max_expand = max_bytes > SIZE_MAX / YT_EXPAND_FACTOR ? SIZE_MAX :
	    max_bytes * YT_EXPAND_FACTOR;
	if (len > max_bytes) {
		yt_diag(y, PF_SEV_ERROR, 1, 1, "the file is %zu bytes; the "
		    "limit is %zu bytes", len, max_bytes);
		return -1;
	}
	if (len >= 2 && ((b[0] == 0xff && b[1] == 0xfe) ||
	    (b[0] == 0xfe && b[1] == 0xff))) {
		yt_diag(y, PF_SEV_ERROR, 1, 1, "the file is UTF-16; save it "
		    "as UTF-8");
		return -1;
	}
	if ((nul = memchr(b, '\0', len)) != NULL) {
		yt_pos_of_offset(b, len, (size_t)(nul - b), &line, &col);
		yt_diag(y, PF_SEV_ERROR, line, col, "the file contains a NUL "
		    "byte");
		return -1;
	}
	return yt_tree_build(y, b, len);
}

void
yt_free(struct ytree *y)
{
	arena_free(&y->arena);
	y->root = NULL;
	y->anch = NULL;
	y->nanch = y->capanch = 0;
}
