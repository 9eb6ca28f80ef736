/*
 * The YAML node tree shared by the loaders (see ytree.h): libyaml events
 * to nodes with positions, and typed getters that report every problem
 * with file:line:column.
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

/* ---------------------------------------------------------------- arena */

#define ARENA_CHUNK	(64 * 1024)

struct yt_arena_chunk {
	struct yt_arena_chunk *next;
	size_t		 used;
	size_t		 cap;
	unsigned char	 data[];
};

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


struct yt_anchor {
	const char	*name;
	struct ynode	*node;
};


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

/* ------------------------------------------------------ building the tree */

uint32_t
yt_hash_str(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s != '\0') {
		h ^= (unsigned char)*s++;
		h *= 16777619u;
	}
	return h;
}

static struct yt_anchor *
anchor_slot(struct yt_anchor *tab, size_t cap, const char *name)
{
	size_t	 i = yt_hash_str(name) & (cap - 1);

	while (tab[i].name != NULL && strcmp(tab[i].name, name) != 0)
		i = (i + 1) & (cap - 1);
	return &tab[i];
}

static int
anchor_set(struct ytree *y, const char *name, struct ynode *node)
{
	struct yt_anchor	*ntab, *s;
	size_t		 ncap, i;
	char		*copy;

	if (2 * (y->nanch + 1) > y->capanch) {
		ncap = y->capanch ? 2 * y->capanch : 16;
		if ((ntab = yt_alloc(y, ncap * sizeof(*ntab))) == NULL)
			return -1;
		memset(ntab, 0, ncap * sizeof(*ntab));
		for (i = 0; i < y->capanch; i++)
			if (y->anch[i].name != NULL)
				*anchor_slot(ntab, ncap, y->anch[i].name) =
				    y->anch[i];
		y->anch = ntab;
		y->capanch = ncap;
	}
	s = anchor_slot(y->anch, y->capanch, name);
	if (s->name == NULL) {
		if ((copy = yt_alloc(y, strlen(name) + 1)) == NULL)
			return -1;
		strcpy(copy, name);
		s->name = copy;
		y->nanch++;
	}
	/* A later anchor of the same name replaces the earlier one. */
	s->node = node;
	return 0;
}

static struct ynode *
anchor_get(struct ytree *y, const char *name)
{
	struct yt_anchor	*s;

	if (y->capanch == 0)
		return NULL;
	s = anchor_slot(y->anch, y->capanch, name);
	return s->name != NULL ? s->node : NULL;
}

static size_t
sat_add(size_t a, size_t b)
{
	return a > SIZE_MAX - b ? SIZE_MAX : a + b;
}

/*
 * Tags: YAML's standard ones are accepted; "!!str" and the non-specific
 * "!" make a scalar a string, the others do not change how a value is
 * read.  Application tags mean nothing to PicoFlow and are refused.
 */
static int
tag_check(struct ytree *y, const yaml_char_t *tag, unsigned line, unsigned col,
    int *is_str)
{
	static const char *const std[] = {
		"str", "int", "float", "bool", "null", "map", "seq",
	};
	static const char pfx[] = "tag:yaml.org,2002:";
	const char	*t = (const char *)tag;
	size_t		 i;

	*is_str = 0;
	if (t == NULL)
		return 0;
	if (strcmp(t, "!") == 0) {
		*is_str = 1;
		return 0;
	}
	if (strncmp(t, pfx, sizeof(pfx) - 1) == 0) {
		for (i = 0; i < sizeof(std) / sizeof(std[0]); i++)
			if (strcmp(t + sizeof(pfx) - 1, std[i]) == 0) {
				*is_str = i == 0;
				return 0;
			}
	}
	yt_diag(y, PF_SEV_ERROR, line, col,
	    "unsupported tag '%s'; only YAML's standard tags (!!str, !!int, "
	    "!!bool, !!null, !!float, !!map, !!seq) are accepted",
	    yt_shown_text(y, t, strlen(t)));
	return -1;
}

static struct ynode *
node_new(struct ytree *y, enum ynode_kind kind, const yaml_mark_t *m)
{
	struct ynode	*n;

	if ((n = yt_alloc(y, sizeof(*n))) == NULL)
		return NULL;
	memset(n, 0, sizeof(*n));
	n->kind = kind;
	n->line = (unsigned)m->line + 1;
	n->col = (unsigned)m->column + 1;
	n->weight = 1;
	return n;
}

/* Adds expanded size to a container and refuses documents that grow. */
static int
node_grow(struct ytree *y, struct ynode *parent, const struct ynode *child,
    const struct ynode *at)
{
	parent->weight = sat_add(parent->weight, child->weight);
	parent->bytes = sat_add(parent->bytes, child->bytes);
	if (parent->weight > y->max_nodes) {
		yt_err(y, at, "the document has more than %zu nodes once "
		    "aliases are expanded", y->max_nodes);
		return -1;
	}
	if (parent->bytes > y->max_expand) {
		yt_err(y, at, "the document has more than %zu bytes of text "
		    "once aliases are expanded", y->max_expand);
		return -1;
	}
	return 0;
}

static void
tree_syntax_error(struct ytree *y, const yaml_parser_t *p,
    const unsigned char *buf, size_t len)
{
	unsigned line, col, eline, ecol;

	switch (p->error) {
	case YAML_MEMORY_ERROR:
		y->oom = 1;
		return;
	case YAML_READER_ERROR:
		yt_pos_of_offset(buf, len, p->problem_offset, &line, &col);
		if (strstr(p->problem, "UTF-8") != NULL)
			yt_diag(y, PF_SEV_ERROR, line, col,
			    "the file is not valid UTF-8 (%s)", p->problem);
		else if (strstr(p->problem, "control") != NULL)
			yt_diag(y, PF_SEV_ERROR, line, col,
			    "control character 0x%02x is not allowed in YAML "
			    "text (write it as an escape in a double-quoted "
			    "string)", (unsigned)p->problem_value);
		else
			yt_diag(y, PF_SEV_ERROR, line, col, "%s",
			    p->problem);
		return;
	default:
		line = (unsigned)p->problem_mark.line + 1;
		col = (unsigned)p->problem_mark.column + 1;
		/*
		 * At the end of input without a final newline libyaml puts
		 * the mark on a line after the last: say the end instead.
		 */
		yt_pos_of_offset(buf, len, len, &eline, &ecol);
		if (line > eline) {
			line = eline;
			col = ecol;
		}
		yt_diag(y, PF_SEV_ERROR, line, col, "YAML syntax error: %s%s%s",
		    p->problem ? p->problem : "unknown problem",
		    p->context ? " " : "", p->context ? p->context : "");
		return;
	}
}

/*
 * Events to nodes.  The stack holds the open containers; a container's
 * expanded size reaches its parent when it closes, an alias's at once.
 */
static int
tree_build(struct ytree *y, const unsigned char *buf, size_t len)
{
	yaml_parser_t	 p;
	yaml_event_t	 ev;
	struct ynode	**stack = NULL, *n, *top, *t;
	size_t		 depth = 0, ndocs = 0;
	yaml_event_type_t type;
	const yaml_char_t *anchor, *tag;
	int		 rc = -1, is_str, quit;

	if (!yaml_parser_initialize(&p)) {
		y->oom = 1;
		return -1;
	}
	/*
	 * UTF-16 was refused before; libyaml then reads UTF-8 and skips a
	 * UTF-8 byte order mark.
	 */
	yaml_parser_set_input_string(&p, buf, len);
	if ((stack = pf_reallocarray(NULL, y->max_depth + 1,
	    sizeof(*stack))) == NULL) {
		y->oom = 1;
		goto out;
	}
	for (;;) {
		if (!yaml_parser_parse(&p, &ev)) {
			tree_syntax_error(y, &p, buf, len);
			goto out;
		}
		type = ev.type;
		quit = 0;
		n = NULL;
		anchor = tag = NULL;
		switch (type) {
		case YAML_DOCUMENT_START_EVENT:
			if (ndocs++ > 0) {
				yt_diag(y, PF_SEV_ERROR,
				    (unsigned)ev.start_mark.line + 1,
				    (unsigned)ev.start_mark.column + 1,
				    "a second YAML document starts here; a "
				    "%s file holds exactly one", y->what);
				quit = 1;
			}
			break;
		case YAML_SCALAR_EVENT:
			anchor = ev.data.scalar.anchor;
			tag = ev.data.scalar.tag;
			if ((n = node_new(y, YN_SCALAR, &ev.start_mark)) ==
			    NULL) {
				quit = 1;
				break;
			}
			if (ev.data.scalar.length > SIZE_MAX - 1 ||
			    (n->text = yt_alloc(y, ev.data.scalar.length + 1))
			    == NULL) {
				y->oom = 1;
				quit = 1;
				break;
			}
			memcpy(n->text, ev.data.scalar.value,
			    ev.data.scalar.length);
			n->text[ev.data.scalar.length] = '\0';
			n->len = ev.data.scalar.length;
			n->bytes = n->len;
			switch (ev.data.scalar.style) {
			case YAML_SINGLE_QUOTED_SCALAR_STYLE:
			case YAML_DOUBLE_QUOTED_SCALAR_STYLE:
				n->style = YS_QUOTED;
				break;
			case YAML_LITERAL_SCALAR_STYLE:
			case YAML_FOLDED_SCALAR_STYLE:
				n->style = YS_BLOCK;
				break;
			default:
				n->style = YS_PLAIN;
			}
			break;
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			if (type == YAML_SEQUENCE_START_EVENT) {
				anchor = ev.data.sequence_start.anchor;
				tag = ev.data.sequence_start.tag;
			} else {
				anchor = ev.data.mapping_start.anchor;
				tag = ev.data.mapping_start.tag;
			}
			if (depth >= y->max_depth) {
				yt_diag(y, PF_SEV_ERROR,
				    (unsigned)ev.start_mark.line + 1,
				    (unsigned)ev.start_mark.column + 1,
				    "nesting deeper than %zu levels",
				    y->max_depth);
				quit = 1;
				break;
			}
			n = node_new(y, type == YAML_SEQUENCE_START_EVENT ?
			    YN_SEQ : YN_MAP, &ev.start_mark);
			if (n == NULL)
				quit = 1;
			break;
		case YAML_ALIAS_EVENT:
			t = anchor_get(y,
			    (const char *)ev.data.alias.anchor);
			if (t == NULL || !t->done) {
				yt_diag(y, PF_SEV_ERROR,
				    (unsigned)ev.start_mark.line + 1,
				    (unsigned)ev.start_mark.column + 1,
				    t == NULL ? "alias '*%s' names no anchor "
				    "defined before it" : "alias '*%s' refers to "
				    "a node that contains it",
				    yt_shown_text(y,
				    (const char *)ev.data.alias.anchor,
				    strlen((const char *)ev.data.alias.anchor)));
				quit = 1;
				break;
			}
			if ((n = node_new(y, YN_ALIAS, &ev.start_mark)) ==
			    NULL) {
				quit = 1;
				break;
			}
			n->target = t;
			n->weight = t->weight;
			n->bytes = t->bytes;
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			if (depth == 0)
				break;
			top = stack[--depth];
			top->done = 1;
			if (depth > 0 && node_grow(y, stack[depth - 1], top,
			    top) == -1)
				quit = 1;
			break;
		default:
			break;
		}
		if (n != NULL && !quit) {
			if (tag_check(y, tag, n->line, n->col, &is_str) == -1)
				quit = 1;
			n->str = (uint8_t)is_str;
		}
		if (n != NULL && !quit && anchor != NULL &&
		    anchor_set(y, (const char *)anchor, n) == -1)
			quit = 1;
		if (n != NULL && !quit) {
			if (++y->nnodes > y->max_nodes) {
				yt_err(y, n, "the document has more than %zu "
				    "nodes", y->max_nodes);
				quit = 1;
			} else if (depth == 0) {
				if (y->root == NULL)
					y->root = n;
			} else {
				top = stack[depth - 1];
				if (top->child == NULL)
					top->child = n;
				else
					top->last->next = n;
				top->last = n;
				top->n++;
				if (n->kind == YN_SCALAR ||
				    n->kind == YN_ALIAS)
					quit = node_grow(y, top, n, n) == -1;
			}
			if (n->kind == YN_SCALAR || n->kind == YN_ALIAS)
				n->done = 1;
			else if (!quit)
				stack[depth++] = n;
		}
		yaml_event_delete(&ev);
		if (quit || y->oom)
			goto out;
		if (type == YAML_STREAM_END_EVENT)
			break;
	}
	rc = 0;
out:
	pf_free(stack);
	yaml_parser_delete(&p);
	return rc;
}

/* ------------------------------------------------------- scalar helpers */

/* Optimal string alignment distance, capped: returns > cap when larger. */
size_t
yt_edit_distance(const char *a, const char *b, size_t cap)
{
	size_t	 la = strlen(a), lb = strlen(b), i, j, best;
	size_t	 r0[65], r1[65], r2[65], *pp = r0, *p = r1, *c = r2, *tmp;
	size_t	 cost, v;

	if (la > 64 || lb > 64)
		return cap + 1;
	if ((la > lb ? la - lb : lb - la) > cap)
		return cap + 1;
	for (j = 0; j <= lb; j++)
		p[j] = j;
	for (i = 1; i <= la; i++) {
		c[0] = i;
		best = c[0];
		for (j = 1; j <= lb; j++) {
			cost = a[i - 1] == b[j - 1] ? 0 : 1;
			v = p[j] + 1;
			if (c[j - 1] + 1 < v)
				v = c[j - 1] + 1;
			if (p[j - 1] + cost < v)
				v = p[j - 1] + cost;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && pp[j - 2] + 1 < v)
				v = pp[j - 2] + 1;
			c[j] = v;
			if (v < best)
				best = v;
		}
		if (best > cap)
			return cap + 1;
		tmp = pp;
		pp = p;
		p = c;
		c = tmp;
	}
	return p[lb];
}

size_t
yt_suggest_cap(const char *word)
{
	size_t	 len = strlen(word);

	return len <= 3 ? 1 : len <= 6 ? 2 : 3;
}

/* The closest of n candidates, or NULL when none is close. */
const char *
yt_suggest(const char *word, const char *const *cand, size_t n)
{
	const char	*best = NULL;
	size_t		 i, d, bestd, cap = yt_suggest_cap(word);

	bestd = cap + 1;
	for (i = 0; i < n; i++) {
		d = yt_edit_distance(word, cand[i], cap);
		if (d < bestd) {
			bestd = d;
			best = cand[i];
		}
	}
	return best;
}

/* ---------------------------------------------------------- typed values */

/*
 * Each getter returns 1 when it stored a value, 0 when the value is absent
 * (no node, or YAML null for an optional key) and -1 when it reported an
 * error (or ran out of memory, y->oom).  `what` names the key in messages,
 * including any "task 'x': " prefix.
 */

int
yt_get_scalar(struct ytree *y, const struct ynode *v, const char *pfx,
    const char *key, int required, const struct ynode **out)
{
	v = yt_r(v);
	if (v == NULL)
		return 0;
	if (yt_is_null(v)) {
		if (!required)
			return 0;
		yt_err(y, v, "%s%s: missing value", pfx, key);
		return -1;
	}
	if (v->kind != YN_SCALAR) {
		yt_err(y, v, "%s%s: expected a string, got %s", pfx, key,
		    yt_kind_name(v));
		return -1;
	}
	*out = v;
	return 1;
}

int
yt_get_str(struct ytree *y, const struct ynode *v, const char *pfx,
    const char *key, int required, size_t maxlen, char **out)
{
	const struct ynode *s;
	int		 rc;

	if ((rc = yt_get_scalar(y, v, pfx, key, required, &s)) != 1)
		return rc;
	if (memchr(s->text, '\0', s->len) != NULL) {
		yt_err(y, s, "%s%s: contains a NUL character", pfx, key);
		return -1;
	}
	if (s->len > maxlen) {
		yt_err(y, s, "%s%s: %zu bytes long; the limit is %zu", pfx,
		    key, s->len, maxlen);
		return -1;
	}
	if ((*out = yt_strdup(y, s->text, s->len)) == NULL)
		return -1;
	return 1;
}

/*
 * Decimal integers only: an optional sign and digits.  Returns 0, or -1
 * for "not an integer" (*isnum set when it looks like another number),
 * -2 for a value beyond 64 bits.
 */
static int
parse_int(const char *s, long long *out, int *isnum)
{
	unsigned long long v = 0, lim;
	int		 neg = 0;
	const char	*p = s;

	*isnum = 0;
	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	if (*p < '0' || *p > '9') {
		*isnum = strspn(p, "0123456789.") > 0 && *p != '\0';
		return -1;
	}
	lim = neg ? (unsigned long long)LLONG_MAX + 1 : LLONG_MAX;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (lim - (unsigned)(*p - '0')) / 10) {
			while (*p >= '0' && *p <= '9')
				p++;
			if (*p != '\0')
				break;
			return -2;
		}
		v = v * 10 + (unsigned)(*p - '0');
	}
	if (*p != '\0') {
		/* 2.5, 1e3, 0x10: a number, just not a decimal integer. */
		*isnum = strchr(".eExXoO_", *p) != NULL;
		return -1;
	}
	if (neg)
		*out = v == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN :
		    -(long long)v;
	else
		*out = (long long)v;
	return 0;
}

int
yt_get_int(struct ytree *y, const struct ynode *v, const char *pfx,
    const char *key, long long min, long long max, long long *out)
{
	long long	 x;
	int		 isnum, rc;

	v = yt_r(v);
	if (v == NULL || yt_is_null(v))
		return 0;
	if (v->kind != YN_SCALAR) {
		yt_err(y, v, "%s%s: expected an integer %lld..%lld, got %s",
		    pfx, key, min, max, yt_kind_name(v));
		return -1;
	}
	if (v->style != YS_PLAIN || v->str) {
		yt_err(y, v, "%s%s: expected an integer %lld..%lld, got the "
		    "string \"%s\" (write it without quotes)", pfx, key, min,
		    max, yt_shown(y, v));
		return -1;
	}
	rc = parse_int(v->text, &x, &isnum);
	if (rc == -1) {
		yt_err(y, v, "%s%s: '%s' is not %s; expected an integer "
		    "%lld..%lld", pfx, key, yt_shown(y, v),
		    isnum ? "a whole decimal number" : "a number", min, max);
		return -1;
	}
	if (rc == -2 || x < min || x > max) {
		yt_err(y, v, "%s%s: %s is out of range %lld..%lld", pfx, key,
		    yt_shown(y, v), min, max);
		return -1;
	}
	*out = x;
	return 1;
}

int
yt_get_bool(struct ytree *y, const struct ynode *v, const char *pfx,
    const char *key, bool *out)
{
	static const char *const yes[] = { "true", "True", "TRUE" };
	static const char *const no[] = { "false", "False", "FALSE" };
	size_t	 i;

	v = yt_r(v);
	if (v == NULL || yt_is_null(v))
		return 0;
	if (v->kind == YN_SCALAR && v->style == YS_PLAIN && !v->str) {
		for (i = 0; i < 3; i++) {
			if (strcmp(v->text, yes[i]) == 0) {
				*out = true;
				return 1;
			}
			if (strcmp(v->text, no[i]) == 0) {
				*out = false;
				return 1;
			}
		}
	}
	if (v->kind != YN_SCALAR)
		yt_err(y, v, "%s%s: expected true or false, got %s", pfx, key,
		    yt_kind_name(v));
	else if (v->style != YS_PLAIN || v->str)
		yt_err(y, v, "%s%s: expected true or false, got the string "
		    "\"%s\" (write it without quotes)", pfx, key,
		    yt_shown(y, v));
	else
		yt_err(y, v, "%s%s: '%s' is not a boolean; use true or false",
		    pfx, key, yt_shown(y, v));
	return -1;
}

/* A string that must be one of a few words. */
int
yt_get_word(struct ytree *y, const struct ynode *v, const char *pfx,
    const char *key, const char *const *words, size_t n, int *out)
{
	const struct ynode *s;
	const char	*close;
	char		 list[256];
	size_t		 i, o = 0;
	int		 rc;

	if ((rc = yt_get_scalar(y, v, pfx, key, 0, &s)) != 1)
		return rc;
	for (i = 0; i < n; i++)
		if (strcmp(s->text, words[i]) == 0) {
			*out = (int)i;
			return 1;
		}
	list[0] = '\0';
	for (i = 0; i < n; i++)
		o += (size_t)snprintf(list + o, o < sizeof(list) ?
		    sizeof(list) - o : 0, "%s%s", i ? ", " : "", words[i]);
	close = yt_suggest(s->text, words, n);
	if (close != NULL)
		yt_err(y, s, "%s%s: '%s' is not one of %s; did you mean "
		    "'%s'?", pfx, key, yt_shown(y, s), list, close);
	else
		yt_err(y, s, "%s%s: '%s' is not one of %s", pfx, key,
		    yt_shown(y, s), list);
	return -1;
}

/*
 * Collects the values of a mapping with known keys: vals[i] and keys[i]
 * for keys[i] named names[i].  Unknown keys (with the closest name
 * suggested), duplicates and non-scalar keys are reported here.
 */
void
yt_map_collect(struct ytree *y, const struct ynode *map, const char *const *names,
    size_t n, const char *where, const struct ynode **vals,
    const struct ynode **keys)
{
	const struct ynode *k, *v;
	const char	*close;
	size_t		 i;

	for (i = 0; i < n; i++)
		vals[i] = keys[i] = NULL;
	for (k = map->child; k != NULL && k->next != NULL; k = v->next) {
		v = k->next;
		if (yt_r(k)->kind != YN_SCALAR) {
			yt_err(y, k, "%s: a key must be a plain word, not %s",
			    where, yt_kind_name(yt_r(k)));
			continue;
		}
		for (i = 0; i < n; i++)
			if (strcmp(yt_r(k)->text, names[i]) == 0)
				break;
		if (i == n) {
			close = yt_suggest(yt_r(k)->text, names, n);
			if (close != NULL)
				yt_err(y, k, "unknown key '%s' in %s; did you "
				    "mean '%s'?", yt_shown(y, k), where, close);
			else
				yt_err(y, k, "unknown key '%s' in %s",
				    yt_shown(y, k), where);
			continue;
		}
		if (keys[i] != NULL) {
			yt_err(y, k, "duplicate key '%s' in %s (first at line "
			    "%u)", names[i], where, keys[i]->line);
			continue;
		}
		keys[i] = k;
		vals[i] = v;
	}
}

static int
cmp_keynode(const void *a, const void *b)
{
	const struct ynode *x = *(const struct ynode *const *)a;
	const struct ynode *y = *(const struct ynode *const *)b;
	int		 c;

	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	if ((c = memcmp(x->text, y->text, x->len)) != 0)
		return c;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->col < y->col ? -1 : x->col > y->col;
}

/*
 * Duplicate and non-scalar keys of a free-form mapping (env, headers, an
 * http body), sorted so a big mapping costs n log n.
 */
int
yt_map_check_keys(struct ytree *y, const struct ynode *map, const char *where)
{
	const struct ynode **v, *k;
	size_t		 n = 0, i;
	int		 bad = 0;

	if (map->n == 0)
		return 0;
	if ((v = pf_reallocarray(NULL, map->n / 2 + 1, sizeof(*v))) == NULL) {
		y->oom = 1;
		return -1;
	}
	for (k = map->child; k != NULL && k->next != NULL; k = k->next->next) {
		if (yt_r(k)->kind != YN_SCALAR) {
			yt_err(y, k, "%s: a key must be a scalar, not %s",
			    where, yt_kind_name(yt_r(k)));
			bad = 1;
			continue;
		}
		/* An aliased key counts with its anchor's text and place. */
		v[n++] = yt_r(k);
	}
	qsort(v, n, sizeof(*v), cmp_keynode);
	for (i = 1; i < n; i++) {
		if (v[i]->len == v[i - 1]->len &&
		    memcmp(v[i]->text, v[i - 1]->text, v[i]->len) == 0) {
			yt_err(y, v[i], "%s: duplicate key '%s' (first at line "
			    "%u)", where, yt_shown(y, v[i]), v[i - 1]->line);
			bad = 1;
		}
	}
	pf_free(v);
	return bad ? -1 : 0;
}

/* ------------------------------------------------------------ text rules */

/* C0 controls, DEL and the C1 controls (U+0080..U+009F in UTF-8). */
static int
ctl_scan(const char *s, size_t len, int allow_tab)
{
	size_t		 i;
	unsigned char	 c;

	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if ((c < 0x20 && !(allow_tab && c == '\t')) || c == 0x7f)
			return 1;
		if (c == 0xc2 && i + 1 < len &&
		    (unsigned char)s[i + 1] >= 0x80 &&
		    (unsigned char)s[i + 1] <= 0x9f)
			return 1;
	}
	return 0;
}

int
yt_has_control(const char *s, size_t len)
{
	return ctl_scan(s, len, 0);
}

int
yt_has_control_but_tab(const char *s, size_t len)
{
	return ctl_scan(s, len, 1);
}

/* NULL when fine, else why not. */
const char *
yt_abs_path_problem(const char *s)
{
	const char	*p;

	if (*s != '/')
		return "is not an absolute path (it must start with /)";
	for (p = s; *p != '\0'; p++)
		if (p[0] == '.' && p[1] == '.' && p[-1] == '/' &&
		    (p[2] == '/' || p[2] == '\0'))
			return "has a '..' component";
	if (yt_has_control(s, strlen(s)))
		return "contains a control character";
	return NULL;
}

/* One unit letter of a scaled number and what it multiplies by. */
struct yt_unit {
	char		 c;
	long long	 mul;
};

/*
 * Decimal digits with an optional one-letter unit from units (ended by a
 * 0 letter), at most max (<= YT_SIZE_LIMIT_MAX) once scaled.
 * 0, -1 not such a number, -2 beyond max.
 */
static int
parse_scaled(const char *s, const struct yt_unit *units, long long max,
    long long *out)
{
	unsigned long long v = 0, mul = 1;
	const char	*p = s;

	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (unsigned long long)max)
			return -2;
		v = v * 10 + (unsigned)(*p - '0');
	}
	if (*p != '\0') {
		for (; units->c != '\0' && units->c != *p; units++)
			;
		if (units->c == '\0')
			return -1;
		mul = (unsigned long long)units->mul;
		p++;
	}
	if (*p != '\0')
		return -1;
	if (v > (unsigned long long)max / mul)
		return -2;
	*out = (long long)(v * mul);
	return 0;
}

/* Bytes with an optional K, M or G (1024-based) suffix. */
int
yt_parse_size(const char *s, long long *out)
{
	static const struct yt_unit units[] = {
		{ 'k', 1LL << 10 }, { 'K', 1LL << 10 },
		{ 'm', 1LL << 20 }, { 'M', 1LL << 20 },
		{ 'g', 1LL << 30 }, { 'G', 1LL << 30 },
		{ '\0', 0 },
	};

	return parse_scaled(s, units, YT_SIZE_LIMIT_MAX, out);
}

/* Seconds with an optional unit s, m, h, d or w. */
int
yt_parse_duration(const char *s, long long max, long long *out)
{
	static const struct yt_unit units[] = {
		{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 },
		{ 'w', 7 * 86400 },
		{ '\0', 0 },
	};

	return parse_scaled(s, units, max, out);
}

/* Cores as a decimal with up to three decimals -> thousandths. */
int
yt_parse_cpu(const char *s, long long *milli)
{
	long long	 whole = 0, frac = 0;
	const char	*p = s;
	int		 nd = 0;

	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (whole > YT_CPU_MILLI_MAX)
			return -2;
		whole = whole * 10 + (*p - '0');
	}
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++) {
			if (++nd > 3)
				return -3;
			frac = frac * 10 + (*p - '0');
		}
		if (nd == 0)
			return -1;
		while (nd++ < 3)
			frac *= 10;
	}
	if (*p != '\0')
		return -1;
	if (whole > YT_CPU_MILLI_MAX / 1000)
		return -2;
	*milli = whole * 1000 + frac;
	return 0;
}

/* ---------------------------------------------------- lists and mappings */

int
yt_get_list(struct ytree *y, const struct ynode *v, const char *pfx,
    const char *key, size_t maxn, const struct ynode **out)
{
	v = yt_r(v);
	if (v == NULL || yt_is_null(v))
		return 0;
	if (v->kind != YN_SEQ) {
		yt_err(y, v, "%s%s: expected a list, got %s", pfx, key,
		    yt_kind_name(v));
		return -1;
	}
	if (v->n > maxn) {
		yt_err(y, v, "%s%s: %zu items; the limit is %zu", pfx, key,
		    v->n, maxn);
		return -1;
	}
	*out = v;
	return 1;
}

/* A list of strings; paths=1 requires absolute paths without "..". */
int
yt_get_strlist(struct ytree *y, const struct ynode *v, const char *pfx,
    const char *key, size_t maxn, size_t maxlen, int paths, char ***out,
    size_t *nout)
{
	const struct ynode *l, *it;
	const char	*why;
	char		 ikey[96];
	size_t		 i;
	int		 rc, bad = 0;

	if ((rc = yt_get_list(y, v, pfx, key, maxn, &l)) != 1)
		return rc;
	if ((*out = pf_calloc(l->n + 1, sizeof(char *))) == NULL) {
		y->oom = 1;
		return -1;
	}
	*nout = l->n;
	for (i = 0, it = l->child; it != NULL; it = it->next, i++) {
		(void)snprintf(ikey, sizeof(ikey), "%s[%zu]", key, i);
		rc = yt_get_str(y, it, pfx, ikey, 1, maxlen, &(*out)[i]);
		if (rc == -1) {
			bad = 1;
			continue;
		}
		if (paths && (why = yt_abs_path_problem((*out)[i])) != NULL) {
			yt_err(y, it, "%s%s: '%s' %s", pfx, ikey,
			    yt_shown(y, it), why);
			bad = 1;
		}
	}
	return bad ? -1 : 1;
}

int
yt_get_size(struct ytree *y, const struct ynode *v, const char *pfx,
    const char *key, long long min, long long *out)
{
	const struct ynode *s;
	int		 rc;

	if ((rc = yt_get_scalar(y, v, pfx, key, 0, &s)) != 1)
		return rc;
	rc = yt_parse_size(s->text, out);
	if (rc == -1) {
		yt_err(y, s, "%s%s: '%s' is not a size; use a number of bytes "
		    "with an optional K, M or G suffix (e.g. 64M)", pfx, key,
		    yt_shown(y, s));
		return -1;
	}
	if (rc == -2 || *out < min) {
		yt_err(y, s, "%s%s: %s is out of range %lld..1T", pfx, key,
		    yt_shown(y, s), min);
		return -1;
	}
	return 1;
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
/* ------------------------------------------------------------ documents */

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
	return tree_build(y, b, len);
}

void
yt_free(struct ytree *y)
{
	arena_free(&y->arena);
	y->root = NULL;
	y->anch = NULL;
	y->nanch = y->capanch = 0;
}

