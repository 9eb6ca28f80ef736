/*
 * The workflow loader.
 *
 * libyaml's event stream is turned into a small node tree (anchors are
 * shared by reference; every node knows how many nodes and scalar bytes it
 * stands for once aliases are expanded, so a "billion laughs" file is
 * refused after a few events and in bounded memory).  The tree is then
 * checked key by key against the format (docs/workflow-format.md) while
 * the typed model is filled in, and the dependency graph is built last.
 * Loading goes on after an error, so one run reports every problem with
 * file:line:column; the model is only returned when there was none.
 */
#include <sys/stat.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <yaml.h>

#include "picoflow/alloc.h"
#include "picoflow/buf.h"
#include "picoflow/cron.h"
#include "picoflow/dag.h"
#include "picoflow/err.h"
#include "picoflow/tz.h"
#include "picoflow/workflow.h"

#define WF_DEFAULT_MAX_DEPTH	64
#define WF_DEFAULT_MAX_NODES	200000
/* Expanded scalar bytes allowed per byte of input (aliases copy text). */
#define WF_EXPAND_FACTOR	8

#define WF_STR_MAX		4096	/* command, args, paths */
#define WF_TEXT_MAX		65536	/* description */
#define WF_ARGS_MAX		256
#define WF_MAP_MAX		1024	/* env and headers entries */
#define WF_PATHS_MAX		256	/* sandbox path lists */
#define WF_STATUS_MAX		64	/* success_status entries */
#define WF_URL_MAX		8192
#define WF_BODY_MAX		(1024 * 1024)
#define WF_TIMEOUT_MAX		604800	/* seconds: one week */
#define WF_HTTP_TIMEOUT_MAX	3600
#define WF_RETRY_MAX		100
#define WF_PARALLEL_MAX		256
#define WF_CATCHUP_WINDOW_MAX	31536000 /* one year */
#define WF_CATCHUP_WINDOW_DEF	3600
#define WF_CATCHUP_MAX_MAX	1000
#define WF_SIZE_LIMIT_MAX	(1LL << 40)	/* 1 TiB */
#define WF_CPU_MILLI_MAX	(1024 * 1000)
#define WF_PIDS_MAX		4194304
#define WF_NOFILE_MAX		1048576
#define WF_USER_MAX		256

/* ---------------------------------------------------------------- arena */

#define ARENA_CHUNK	(64 * 1024)

struct arena_chunk {
	struct arena_chunk *next;
	size_t		 used;
	size_t		 cap;
	unsigned char	 data[];
};

struct arena {
	struct arena_chunk *head;
};

static void *
arena_alloc(struct arena *a, size_t n)
{
	struct arena_chunk *c;
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
arena_free(struct arena *a)
{
	struct arena_chunk *c, *next;

	for (c = a->head; c != NULL; c = next) {
		next = c->next;
		pf_free(c);
	}
	a->head = NULL;
}

/* ----------------------------------------------------------- node tree */

enum ynode_kind {
	YN_SCALAR,
	YN_SEQ,
	YN_MAP,
	YN_ALIAS,
};

enum ynode_style {
	YS_PLAIN,
	YS_QUOTED,	/* single or double quoted */
	YS_BLOCK,	/* literal or folded */
};

struct ynode {
	struct ynode	*next;		/* next sibling */
	struct ynode	*child;		/* seq items; map key, value, ... */
	struct ynode	*last;
	struct ynode	*target;	/* YN_ALIAS: the anchored node */
	char		*text;		/* YN_SCALAR, NUL-terminated */
	size_t		 len;
	size_t		 n;		/* children (2 per map pair) */
	size_t		 weight;	/* nodes once expanded */
	size_t		 bytes;		/* scalar bytes once expanded */
	unsigned	 line, col;	/* 1-based */
	uint8_t		 kind;
	uint8_t		 style;
	uint8_t		 str;		/* tagged !!str or ! */
	uint8_t		 done;		/* container closed */
};

struct anchor {
	const char	*name;
	struct ynode	*node;
};

/* Load state. */
struct ld {
	const char	*file;
	struct pf_diags	*diags;
	struct wf_load_opts opts;
	struct arena	 arena;
	struct ynode	*root;
	struct anchor	*anch;		/* open-addressing hash table */
	size_t		 nanch, capanch;
	size_t		 nnodes;
	size_t		 max_expand;	/* scalar bytes once expanded */
	int		 oom;
	int		 failed;	/* an error was reported */
	struct pf_workflow *wf;
	/* per-task scratch for the dependency pass */
	const struct ynode ***depnode;	/* [task][slot]: depends_on entries */
	const struct ynode **namenode;	/* [task]: the name scalar */
	char		 show[2][96];	/* shown() buffers, used in turn */
	int		 showi;
};

static void ld_diag(struct ld *, enum pf_severity, unsigned, unsigned,
    const char *, ...) __attribute__((format(printf, 5, 6)));
static void ld_err(struct ld *, const struct ynode *, const char *, ...)
    __attribute__((format(printf, 3, 4)));
static void ld_warn(struct ld *, const struct ynode *, const char *, ...)
    __attribute__((format(printf, 3, 4)));

static void
ld_vdiag(struct ld *ld, enum pf_severity sev, unsigned line, unsigned col,
    const char *fmt, va_list ap)
{
	char	 msg[PF_ERR_MAX];

	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	if (sev == PF_SEV_ERROR)
		ld->failed = 1;
	pf_diags_add(ld->diags, sev, ld->file, line, col, "%s", msg);
}

static void
ld_diag(struct ld *ld, enum pf_severity sev, unsigned line, unsigned col,
    const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	ld_vdiag(ld, sev, line, col, fmt, ap);
	va_end(ap);
}

static void
ld_err(struct ld *ld, const struct ynode *at, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	ld_vdiag(ld, PF_SEV_ERROR, at ? at->line : 1, at ? at->col : 1, fmt,
	    ap);
	va_end(ap);
}

static void
ld_warn(struct ld *ld, const struct ynode *at, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	ld_vdiag(ld, PF_SEV_WARNING, at ? at->line : 1, at ? at->col : 1,
	    fmt, ap);
	va_end(ap);
}

/* Room left for more messages: suggestions cost time, skip them if not. */
static int
ld_room(const struct ld *ld)
{
	size_t	 max = ld->diags->max ? ld->diags->max : PF_DIAGS_DEFAULT_MAX;

	return ld->diags->n < max;
}

static void *
ld_alloc(struct ld *ld, size_t n)
{
	void	*p;

	if ((p = arena_alloc(&ld->arena, n)) == NULL)
		ld->oom = 1;
	return p;
}

static char *
ld_strdup(struct ld *ld, const char *s, size_t len)
{
	char	*p;

	if ((p = pf_malloc(len + 1)) == NULL) {
		ld->oom = 1;
		return NULL;
	}
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

/* 1-based line and column (in characters) of byte offset off. */
static void
pos_of_offset(const unsigned char *buf, size_t len, size_t off, unsigned *line,
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

static const char *
kind_name(const struct ynode *n)
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

static const struct ynode *
R(const struct ynode *n)
{
	if (n != NULL && n->kind == YN_ALIAS)
		return n->target;
	return n;
}

static int
is_null(const struct ynode *n)
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
static const char *
shown_text(struct ld *ld, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	char	*out = ld->show[ld->showi];
	size_t	 i, o = 0, cap = sizeof(ld->show[0]);
	unsigned char c;

	ld->showi ^= 1;
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

static const char *
shown(struct ld *ld, const struct ynode *n)
{
	n = R(n);
	if (n->kind != YN_SCALAR)
		return kind_name(n);
	return shown_text(ld, n->text, n->len);
}

/* ------------------------------------------------------ building the tree */

static uint32_t
hash_str(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s != '\0') {
		h ^= (unsigned char)*s++;
		h *= 16777619u;
	}
	return h;
}

static struct anchor *
anchor_slot(struct anchor *tab, size_t cap, const char *name)
{
	size_t	 i = hash_str(name) & (cap - 1);

	while (tab[i].name != NULL && strcmp(tab[i].name, name) != 0)
		i = (i + 1) & (cap - 1);
	return &tab[i];
}

static int
anchor_set(struct ld *ld, const char *name, struct ynode *node)
{
	struct anchor	*ntab, *s;
	size_t		 ncap, i;
	char		*copy;

	if (2 * (ld->nanch + 1) > ld->capanch) {
		ncap = ld->capanch ? 2 * ld->capanch : 16;
		if ((ntab = ld_alloc(ld, ncap * sizeof(*ntab))) == NULL)
			return -1;
		memset(ntab, 0, ncap * sizeof(*ntab));
		for (i = 0; i < ld->capanch; i++)
			if (ld->anch[i].name != NULL)
				*anchor_slot(ntab, ncap, ld->anch[i].name) =
				    ld->anch[i];
		ld->anch = ntab;
		ld->capanch = ncap;
	}
	s = anchor_slot(ld->anch, ld->capanch, name);
	if (s->name == NULL) {
		if ((copy = ld_alloc(ld, strlen(name) + 1)) == NULL)
			return -1;
		strcpy(copy, name);
		s->name = copy;
		ld->nanch++;
	}
	/* A later anchor of the same name replaces the earlier one. */
	s->node = node;
	return 0;
}

static struct ynode *
anchor_get(struct ld *ld, const char *name)
{
	struct anchor	*s;

	if (ld->capanch == 0)
		return NULL;
	s = anchor_slot(ld->anch, ld->capanch, name);
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
tag_check(struct ld *ld, const yaml_char_t *tag, unsigned line, unsigned col,
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
	ld_diag(ld, PF_SEV_ERROR, line, col,
	    "unsupported tag '%s'; only YAML's standard tags (!!str, !!int, "
	    "!!bool, !!null, !!float, !!map, !!seq) are accepted",
	    shown_text(ld, t, strlen(t)));
	return -1;
}

static struct ynode *
node_new(struct ld *ld, enum ynode_kind kind, const yaml_mark_t *m)
{
	struct ynode	*n;

	if ((n = ld_alloc(ld, sizeof(*n))) == NULL)
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
node_grow(struct ld *ld, struct ynode *parent, const struct ynode *child,
    const struct ynode *at)
{
	parent->weight = sat_add(parent->weight, child->weight);
	parent->bytes = sat_add(parent->bytes, child->bytes);
	if (parent->weight > ld->opts.max_nodes) {
		ld_err(ld, at, "the document has more than %zu nodes once "
		    "aliases are expanded", ld->opts.max_nodes);
		return -1;
	}
	if (parent->bytes > ld->max_expand) {
		ld_err(ld, at, "the document has more than %zu bytes of text "
		    "once aliases are expanded", ld->max_expand);
		return -1;
	}
	return 0;
}

static void
tree_syntax_error(struct ld *ld, const yaml_parser_t *p,
    const unsigned char *buf, size_t len)
{
	unsigned line, col;

	switch (p->error) {
	case YAML_MEMORY_ERROR:
		ld->oom = 1;
		return;
	case YAML_READER_ERROR:
		pos_of_offset(buf, len, p->problem_offset, &line, &col);
		if (strstr(p->problem, "UTF-8") != NULL)
			ld_diag(ld, PF_SEV_ERROR, line, col,
			    "the file is not valid UTF-8 (%s)", p->problem);
		else if (strstr(p->problem, "control") != NULL)
			ld_diag(ld, PF_SEV_ERROR, line, col,
			    "control character 0x%02x is not allowed in YAML "
			    "text (write it as an escape in a double-quoted "
			    "string)", (unsigned)p->problem_value);
		else
			ld_diag(ld, PF_SEV_ERROR, line, col, "%s",
			    p->problem);
		return;
	default:
		line = (unsigned)p->problem_mark.line + 1;
		col = (unsigned)p->problem_mark.column + 1;
		ld_diag(ld, PF_SEV_ERROR, line, col, "YAML syntax error: %s%s%s",
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
tree_build(struct ld *ld, const unsigned char *buf, size_t len)
{
	yaml_parser_t	 p;
	yaml_event_t	 ev;
	struct ynode	**stack = NULL, *n, *top, *t;
	size_t		 depth = 0, ndocs = 0;
	yaml_event_type_t type;
	const yaml_char_t *anchor, *tag;
	int		 rc = -1, is_str, quit;

	if (!yaml_parser_initialize(&p)) {
		ld->oom = 1;
		return -1;
	}
	/*
	 * UTF-16 was refused before; libyaml then reads UTF-8 and skips a
	 * UTF-8 byte order mark.
	 */
	yaml_parser_set_input_string(&p, buf, len);
	if ((stack = pf_reallocarray(NULL, ld->opts.max_depth + 1,
	    sizeof(*stack))) == NULL) {
		ld->oom = 1;
		goto out;
	}
	for (;;) {
		if (!yaml_parser_parse(&p, &ev)) {
			tree_syntax_error(ld, &p, buf, len);
			goto out;
		}
		type = ev.type;
		quit = 0;
		n = NULL;
		anchor = tag = NULL;
		switch (type) {
		case YAML_DOCUMENT_START_EVENT:
			if (ndocs++ > 0) {
				ld_diag(ld, PF_SEV_ERROR,
				    (unsigned)ev.start_mark.line + 1,
				    (unsigned)ev.start_mark.column + 1,
				    "a second YAML document starts here; a "
				    "workflow file holds exactly one");
				quit = 1;
			}
			break;
		case YAML_SCALAR_EVENT:
			anchor = ev.data.scalar.anchor;
			tag = ev.data.scalar.tag;
			if ((n = node_new(ld, YN_SCALAR, &ev.start_mark)) ==
			    NULL) {
				quit = 1;
				break;
			}
			if (ev.data.scalar.length > SIZE_MAX - 1 ||
			    (n->text = ld_alloc(ld, ev.data.scalar.length + 1))
			    == NULL) {
				ld->oom = 1;
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
			if (depth >= ld->opts.max_depth) {
				ld_diag(ld, PF_SEV_ERROR,
				    (unsigned)ev.start_mark.line + 1,
				    (unsigned)ev.start_mark.column + 1,
				    "nesting deeper than %zu levels",
				    ld->opts.max_depth);
				quit = 1;
				break;
			}
			n = node_new(ld, type == YAML_SEQUENCE_START_EVENT ?
			    YN_SEQ : YN_MAP, &ev.start_mark);
			if (n == NULL)
				quit = 1;
			break;
		case YAML_ALIAS_EVENT:
			t = anchor_get(ld,
			    (const char *)ev.data.alias.anchor);
			if (t == NULL || !t->done) {
				ld_diag(ld, PF_SEV_ERROR,
				    (unsigned)ev.start_mark.line + 1,
				    (unsigned)ev.start_mark.column + 1,
				    t == NULL ? "alias '*%s' names no anchor "
				    "defined before it" : "alias '*%s' refers to "
				    "a node that contains it",
				    shown_text(ld,
				    (const char *)ev.data.alias.anchor,
				    strlen((const char *)ev.data.alias.anchor)));
				quit = 1;
				break;
			}
			if ((n = node_new(ld, YN_ALIAS, &ev.start_mark)) ==
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
			if (depth > 0 && node_grow(ld, stack[depth - 1], top,
			    top) == -1)
				quit = 1;
			break;
		default:
			break;
		}
		if (n != NULL && !quit) {
			if (tag_check(ld, tag, n->line, n->col, &is_str) == -1)
				quit = 1;
			n->str = (uint8_t)is_str;
		}
		if (n != NULL && !quit && anchor != NULL &&
		    anchor_set(ld, (const char *)anchor, n) == -1)
			quit = 1;
		if (n != NULL && !quit) {
			if (++ld->nnodes > ld->opts.max_nodes) {
				ld_err(ld, n, "the document has more than %zu "
				    "nodes", ld->opts.max_nodes);
				quit = 1;
			} else if (depth == 0) {
				if (ld->root == NULL)
					ld->root = n;
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
					quit = node_grow(ld, top, n, n) == -1;
			}
			if (n->kind == YN_SCALAR || n->kind == YN_ALIAS)
				n->done = 1;
			else if (!quit)
				stack[depth++] = n;
		}
		yaml_event_delete(&ev);
		if (quit || ld->oom)
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
static size_t
edit_distance(const char *a, const char *b, size_t cap)
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

static size_t
suggest_cap(const char *word)
{
	size_t	 len = strlen(word);

	return len <= 3 ? 1 : len <= 6 ? 2 : 3;
}

/* The closest of n candidates, or NULL when none is close. */
static const char *
suggest(const char *word, const char *const *cand, size_t n)
{
	const char	*best = NULL;
	size_t		 i, d, bestd, cap = suggest_cap(word);

	bestd = cap + 1;
	for (i = 0; i < n; i++) {
		d = edit_distance(word, cand[i], cap);
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
 * error (or ran out of memory, ld->oom).  `what` names the key in messages,
 * including any "task 'x': " prefix.
 */

static int
get_scalar(struct ld *ld, const struct ynode *v, const char *pfx,
    const char *key, int required, const struct ynode **out)
{
	v = R(v);
	if (v == NULL)
		return 0;
	if (is_null(v)) {
		if (!required)
			return 0;
		ld_err(ld, v, "%s%s: missing value", pfx, key);
		return -1;
	}
	if (v->kind != YN_SCALAR) {
		ld_err(ld, v, "%s%s: expected a string, got %s", pfx, key,
		    kind_name(v));
		return -1;
	}
	*out = v;
	return 1;
}

static int
get_str(struct ld *ld, const struct ynode *v, const char *pfx,
    const char *key, int required, size_t maxlen, char **out)
{
	const struct ynode *s;
	int		 rc;

	if ((rc = get_scalar(ld, v, pfx, key, required, &s)) != 1)
		return rc;
	if (memchr(s->text, '\0', s->len) != NULL) {
		ld_err(ld, s, "%s%s: contains a NUL character", pfx, key);
		return -1;
	}
	if (s->len > maxlen) {
		ld_err(ld, s, "%s%s: %zu bytes long; the limit is %zu", pfx,
		    key, s->len, maxlen);
		return -1;
	}
	if ((*out = ld_strdup(ld, s->text, s->len)) == NULL)
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

static int
get_int(struct ld *ld, const struct ynode *v, const char *pfx,
    const char *key, long long min, long long max, long long *out)
{
	long long	 x;
	int		 isnum, rc;

	v = R(v);
	if (v == NULL || is_null(v))
		return 0;
	if (v->kind != YN_SCALAR) {
		ld_err(ld, v, "%s%s: expected an integer %lld..%lld, got %s",
		    pfx, key, min, max, kind_name(v));
		return -1;
	}
	if (v->style != YS_PLAIN || v->str) {
		ld_err(ld, v, "%s%s: expected an integer %lld..%lld, got the "
		    "string \"%s\" (write it without quotes)", pfx, key, min,
		    max, shown(ld, v));
		return -1;
	}
	rc = parse_int(v->text, &x, &isnum);
	if (rc == -1) {
		ld_err(ld, v, "%s%s: '%s' is not %s; expected an integer "
		    "%lld..%lld", pfx, key, shown(ld, v),
		    isnum ? "a whole decimal number" : "a number", min, max);
		return -1;
	}
	if (rc == -2 || x < min || x > max) {
		ld_err(ld, v, "%s%s: %s is out of range %lld..%lld", pfx, key,
		    shown(ld, v), min, max);
		return -1;
	}
	*out = x;
	return 1;
}

static int
get_bool(struct ld *ld, const struct ynode *v, const char *pfx,
    const char *key, bool *out)
{
	static const char *const yes[] = { "true", "True", "TRUE" };
	static const char *const no[] = { "false", "False", "FALSE" };
	size_t	 i;

	v = R(v);
	if (v == NULL || is_null(v))
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
		ld_err(ld, v, "%s%s: expected true or false, got %s", pfx, key,
		    kind_name(v));
	else if (v->style != YS_PLAIN || v->str)
		ld_err(ld, v, "%s%s: expected true or false, got the string "
		    "\"%s\" (write it without quotes)", pfx, key,
		    shown(ld, v));
	else
		ld_err(ld, v, "%s%s: '%s' is not a boolean; use true or false",
		    pfx, key, shown(ld, v));
	return -1;
}

/* A string that must be one of a few words. */
static int
get_word(struct ld *ld, const struct ynode *v, const char *pfx,
    const char *key, const char *const *words, size_t n, int *out)
{
	const struct ynode *s;
	const char	*close;
	char		 list[256];
	size_t		 i, o = 0;
	int		 rc;

	if ((rc = get_scalar(ld, v, pfx, key, 0, &s)) != 1)
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
	close = suggest(s->text, words, n);
	if (close != NULL)
		ld_err(ld, s, "%s%s: '%s' is not one of %s; did you mean "
		    "'%s'?", pfx, key, shown(ld, s), list, close);
	else
		ld_err(ld, s, "%s%s: '%s' is not one of %s", pfx, key,
		    shown(ld, s), list);
	return -1;
}

/*
 * Collects the values of a mapping with known keys: vals[i] and keys[i]
 * for keys[i] named names[i].  Unknown keys (with the closest name
 * suggested), duplicates and non-scalar keys are reported here.
 */
static void
map_collect(struct ld *ld, const struct ynode *map, const char *const *names,
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
		if (R(k)->kind != YN_SCALAR) {
			ld_err(ld, k, "%s: a key must be a plain word, not %s",
			    where, kind_name(R(k)));
			continue;
		}
		for (i = 0; i < n; i++)
			if (strcmp(R(k)->text, names[i]) == 0)
				break;
		if (i == n) {
			close = suggest(R(k)->text, names, n);
			if (close != NULL)
				ld_err(ld, k, "unknown key '%s' in %s; did you "
				    "mean '%s'?", shown(ld, k), where, close);
			else
				ld_err(ld, k, "unknown key '%s' in %s",
				    shown(ld, k), where);
			continue;
		}
		if (keys[i] != NULL) {
			ld_err(ld, k, "duplicate key '%s' in %s (first at line "
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
static int
map_check_keys(struct ld *ld, const struct ynode *map, const char *where)
{
	const struct ynode **v, *k;
	size_t		 n = 0, i;
	int		 bad = 0;

	if (map->n == 0)
		return 0;
	if ((v = pf_reallocarray(NULL, map->n / 2 + 1, sizeof(*v))) == NULL) {
		ld->oom = 1;
		return -1;
	}
	for (k = map->child; k != NULL && k->next != NULL; k = k->next->next) {
		if (R(k)->kind != YN_SCALAR) {
			ld_err(ld, k, "%s: a key must be a scalar, not %s",
			    where, kind_name(R(k)));
			bad = 1;
			continue;
		}
		/* An aliased key counts with its anchor's text and place. */
		v[n++] = R(k);
	}
	qsort(v, n, sizeof(*v), cmp_keynode);
	for (i = 1; i < n; i++) {
		if (v[i]->len == v[i - 1]->len &&
		    memcmp(v[i]->text, v[i - 1]->text, v[i]->len) == 0) {
			ld_err(ld, v[i], "%s: duplicate key '%s' (first at line "
			    "%u)", where, shown(ld, v[i]), v[i - 1]->line);
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

static int
has_control(const char *s, size_t len)
{
	return ctl_scan(s, len, 0);
}

static int
has_control_but_tab(const char *s, size_t len)
{
	return ctl_scan(s, len, 1);
}

static int
task_name_ok(const char *s, size_t len)
{
	size_t	 i;

	if (len == 0 || len > WF_TASK_NAME_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
		    s[i] == '-'))
			return 0;
	return 1;
}

/* NULL when fine, else why not. */
static const char *
abs_path_problem(const char *s)
{
	const char	*p;

	if (*s != '/')
		return "is not an absolute path (it must start with /)";
	for (p = s; *p != '\0'; p++)
		if (p[0] == '.' && p[1] == '.' && p[-1] == '/' &&
		    (p[2] == '/' || p[2] == '\0'))
			return "has a '..' component";
	if (has_control(s, strlen(s)))
		return "contains a control character";
	return NULL;
}

static int
has_placeholder(const char *s)
{
	return strstr(s, "${") != NULL;
}

static int
ipv4_ok(const char *s)
{
	struct in_addr	 a;

	return inet_pton(AF_INET, s, &a) == 1;
}

static int
ipv6_ok(const char *s, size_t len)
{
	struct in6_addr	 a;
	char		 tmp[INET6_ADDRSTRLEN + 1];

	if (len >= sizeof(tmp))
		return 0;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	return inet_pton(AF_INET6, tmp, &a) == 1;
}

/* A DNS name (labels of letters, digits, '-' and '_') or an IPv4 address. */
static int
hostname_ok(const char *s, size_t len)
{
	size_t	 i, lab = 0;
	int	 alldigits = 1;
	char	 tmp[256];

	if (len == 0 || len > 253)
		return 0;
	for (i = 0; i < len; i++) {
		if (s[i] == '.') {
			if (lab == 0 || s[i - 1] == '-')
				return 0;
			lab = 0;
			continue;
		}
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
		    s[i] == '_'))
			return 0;
		if (s[i] < '0' || s[i] > '9')
			alldigits = 0;
		if (lab == 0 && s[i] == '-')
			return 0;
		if (++lab > 63)
			return 0;
	}
	if (s[len - 1] == '-')
		return 0;
	/* 1.2.3.4 and 999.1.1.1 look like names; only real IPv4 passes. */
	if (alldigits) {
		memcpy(tmp, s, len);
		tmp[len] = '\0';
		return ipv4_ok(tmp);
	}
	return 1;
}

/*
 * ssh host: a name, IPv4, IPv6 with or without brackets.  *bare is the
 * host without brackets (what the executor connects to).
 */
static int
ssh_host_ok(const char *h, size_t *off, size_t *blen)
{
	size_t	 len = strlen(h);

	*off = 0;
	*blen = len;
	if (has_placeholder(h))
		return !has_control(h, len);
	if (len >= 2 && h[0] == '[' && h[len - 1] == ']') {
		*off = 1;
		*blen = len - 2;
		return ipv6_ok(h + 1, len - 2);
	}
	if (strchr(h, ':') != NULL)
		return ipv6_ok(h, len);
	return hostname_ok(h, len);
}

/*
 * http(s) URL: scheme, host (name, IPv4 or [IPv6]), optional port, then
 * a path, query or fragment.  A ${NAME} placeholder is left for the run
 * to check once it is expanded.  NULL when fine, else why not.
 */
static const char *
url_problem(const char *u)
{
	const char	*p, *h, *he, *ph;
	size_t		 i, slen;
	long		 port;

	for (i = 0; u[i] != '\0'; i++)
		if ((unsigned char)u[i] <= 0x20 || u[i] == 0x7f)
			return "contains a space or control character";
	ph = strstr(u, "${");
	p = strstr(u, "://");
	if (ph != NULL && (p == NULL || p > ph))
		return NULL;
	if (p == NULL)
		return "is not an http:// or https:// URL";
	slen = (size_t)(p - u);
	if (!((slen == 4 && strncasecmp(u, "http", 4) == 0) ||
	    (slen == 5 && strncasecmp(u, "https", 5) == 0)))
		return "uses a scheme other than http or https";
	h = p + 3;
	he = h + strcspn(h, "/?#");
	if (ph != NULL && ph < he)
		return NULL;
	/* user:password@ is allowed (curl sends it as basic auth). */
	for (p = he; p > h; p--)
		if (p[-1] == '@') {
			h = p;
			break;
		}
	if (h == he)
		return "has no host";
	if (*h == '[') {
		if ((p = memchr(h, ']', (size_t)(he - h))) == NULL ||
		    !ipv6_ok(h + 1, (size_t)(p - h - 1)))
			return "has an invalid IPv6 address";
		p++;
	} else {
		p = memchr(h, ':', (size_t)(he - h));
		if (p == NULL)
			p = he;
		if (!hostname_ok(h, (size_t)(p - h)))
			return "has an invalid host name";
	}
	if (p < he) {
		if (*p != ':' || p + 1 == he)
			return "has an invalid port";
		port = 0;
		for (p++; p < he; p++) {
			if (*p < '0' || *p > '9' || port > 65535)
				return "has an invalid port";
			port = port * 10 + (*p - '0');
		}
		if (port < 1 || port > 65535)
			return "has a port outside 1..65535";
	}
	return NULL;
}

/* user or user:group; names or numeric ids, portable characters. */
static int
run_as_part_ok(const char *s, size_t len)
{
	size_t	 i;

	if (len == 0 || len > 32 || s[0] == '-')
		return 0;
	for (i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
		    s[i] == '-' || s[i] == '.' ||
		    (s[i] == '$' && i == len - 1)))
			return 0;
	return 1;
}

static int
run_as_ok(const char *s)
{
	const char	*c = strchr(s, ':');

	if (c == NULL)
		return run_as_part_ok(s, strlen(s));
	return run_as_part_ok(s, (size_t)(c - s)) &&
	    run_as_part_ok(c + 1, strlen(c + 1));
}

/* Bytes with an optional K, M or G (1024-based) suffix. */
static int
parse_size(const char *s, long long *out)
{
	unsigned long long v = 0, mul = 1;
	const char	*p = s;

	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (unsigned long long)WF_SIZE_LIMIT_MAX)
			return -2;
		v = v * 10 + (unsigned)(*p - '0');
	}
	switch (*p) {
	case '\0':
		break;
	case 'k': case 'K':
		mul = 1ULL << 10;
		p++;
		break;
	case 'm': case 'M':
		mul = 1ULL << 20;
		p++;
		break;
	case 'g': case 'G':
		mul = 1ULL << 30;
		p++;
		break;
	default:
		return -1;
	}
	if (*p != '\0')
		return -1;
	if (v > (unsigned long long)WF_SIZE_LIMIT_MAX / mul)
		return -2;
	*out = (long long)(v * mul);
	return 0;
}

/* Cores as a decimal with up to three decimals -> thousandths. */
static int
parse_cpu(const char *s, long long *milli)
{
	long long	 whole = 0, frac = 0;
	const char	*p = s;
	int		 nd = 0;

	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (whole > WF_CPU_MILLI_MAX)
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
	if (whole > WF_CPU_MILLI_MAX / 1000)
		return -2;
	*milli = whole * 1000 + frac;
	return 0;
}

/* ---------------------------------------------------- lists and mappings */

static int
get_list(struct ld *ld, const struct ynode *v, const char *pfx,
    const char *key, size_t maxn, const struct ynode **out)
{
	v = R(v);
	if (v == NULL || is_null(v))
		return 0;
	if (v->kind != YN_SEQ) {
		ld_err(ld, v, "%s%s: expected a list, got %s", pfx, key,
		    kind_name(v));
		return -1;
	}
	if (v->n > maxn) {
		ld_err(ld, v, "%s%s: %zu items; the limit is %zu", pfx, key,
		    v->n, maxn);
		return -1;
	}
	*out = v;
	return 1;
}

/* A list of strings; paths=1 requires absolute paths without "..". */
static int
get_strlist(struct ld *ld, const struct ynode *v, const char *pfx,
    const char *key, size_t maxn, size_t maxlen, int paths, char ***out,
    size_t *nout)
{
	const struct ynode *l, *it;
	const char	*why;
	char		 ikey[96];
	size_t		 i;
	int		 rc, bad = 0;

	if ((rc = get_list(ld, v, pfx, key, maxn, &l)) != 1)
		return rc;
	if ((*out = pf_calloc(l->n + 1, sizeof(char *))) == NULL) {
		ld->oom = 1;
		return -1;
	}
	*nout = l->n;
	for (i = 0, it = l->child; it != NULL; it = it->next, i++) {
		(void)snprintf(ikey, sizeof(ikey), "%s[%zu]", key, i);
		rc = get_str(ld, it, pfx, ikey, 1, maxlen, &(*out)[i]);
		if (rc == -1) {
			bad = 1;
			continue;
		}
		if (paths && (why = abs_path_problem((*out)[i])) != NULL) {
			ld_err(ld, it, "%s%s: '%s' %s", pfx, ikey,
			    shown(ld, it), why);
			bad = 1;
		}
	}
	return bad ? -1 : 1;
}

enum kvkind {
	KV_ENV,
	KV_HEADER,
};

static int
header_name_ok(const char *s, size_t len)
{
	size_t	 i;

	if (len == 0)
		return 0;
	for (i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') ||
		    (s[i] != '\0' && strchr("!#$%&'*+-.^_`|~", s[i]) != NULL)))
			return 0;
	return 1;
}

static int
get_kvmap(struct ld *ld, const struct ynode *v, const char *pfx,
    const char *key, enum kvkind kind, struct pf_kvlist *out)
{
	const struct ynode *k, *val;
	char		 where[160], vkey[160];
	size_t		 i;
	int		 bad = 0, rc;

	v = R(v);
	if (v == NULL || is_null(v))
		return 0;
	if (v->kind != YN_MAP) {
		ld_err(ld, v, "%s%s: expected a mapping of names to values, "
		    "got %s", pfx, key, kind_name(v));
		return -1;
	}
	if (v->n / 2 > WF_MAP_MAX) {
		ld_err(ld, v, "%s%s: %zu entries; the limit is %d", pfx, key,
		    v->n / 2, WF_MAP_MAX);
		return -1;
	}
	(void)snprintf(where, sizeof(where), "%s%s", pfx, key);
	if (map_check_keys(ld, v, where) == -1)
		return -1;
	if ((out->v = pf_calloc(v->n / 2 + 1, sizeof(*out->v))) == NULL) {
		ld->oom = 1;
		return -1;
	}
	for (k = v->child, i = 0; k != NULL && k->next != NULL;
	    k = k->next->next) {
		val = k->next;
		(void)snprintf(vkey, sizeof(vkey), "%s.%s", key,
		    shown(ld, k));
		if (get_str(ld, k, pfx, key, 1, 256, &out->v[i].key) != 1) {
			bad = 1;
			continue;
		}
		out->n = ++i;
		rc = get_str(ld, val, pfx, vkey, 1,
		    kind == KV_ENV ? 32768 : 8192, &out->v[i - 1].value);
		if (rc != 1) {
			if (rc == 0)
				ld_err(ld, k, "%s%s: missing value", pfx, vkey);
			bad = 1;
			continue;
		}
		if (kind == KV_ENV && (strchr(out->v[i - 1].key, '=') != NULL ||
		    R(k)->len == 0 || has_control(R(k)->text, R(k)->len))) {
			ld_err(ld, k, "%s%s: '%s' is not a valid environment "
			    "variable name", pfx, key, shown(ld, k));
			bad = 1;
		}
		if (kind == KV_HEADER && !header_name_ok(R(k)->text,
		    R(k)->len)) {
			ld_err(ld, k, "%s%s: '%s' is not a valid header name",
			    pfx, key, shown(ld, k));
			bad = 1;
		}
		/* CR or LF in a header value would inject headers. */
		if (kind == KV_HEADER && has_control_but_tab(R(val)->text,
		    R(val)->len)) {
			ld_err(ld, val, "%s%s: a header value must not "
			    "contain line breaks or control characters", pfx,
			    vkey);
			bad = 1;
		}
	}
	return bad ? -1 : 1;
}

/* ------------------------------------------------------------ http body */

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static int
json_number_ok(const char *s)
{
	const char	*p = s;

	if (*p == '-')
		p++;
	if (*p == '0')
		p++;
	else if (*p >= '1' && *p <= '9')
		while (*p >= '0' && *p <= '9')
			p++;
	else
		return 0;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return 0;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (*p < '0' || *p > '9')
			return 0;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	return *p == '\0';
}

/*
 * A JSON string literal.  Besides what JSON requires, the C1 controls,
 * U+2028, U+2029, U+FEFF, U+FFFE and U+FFFF are escaped: YAML reads them
 * as line breaks or a byte order mark or refuses them raw, and the printed
 * form must load back unchanged.
 */
static void
json_str(struct pf_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)s;
	size_t		 i;
	char		 esc[8];

	buf_add_u8(b, '"');
	for (i = 0; i < n; i++) {
		if (u[i] == '"' || u[i] == '\\') {
			esc[0] = '\\';
			esc[1] = (char)u[i];
			buf_add(b, esc, 2);
		} else if (u[i] == '\n')
			buf_add(b, "\\n", 2);
		else if (u[i] == '\t')
			buf_add(b, "\\t", 2);
		else if (u[i] == '\r')
			buf_add(b, "\\r", 2);
		else if (u[i] < 0x20 || u[i] == 0x7f) {
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[u[i] >> 4];
			esc[5] = hex[u[i] & 15];
			buf_add(b, esc, 6);
		} else if (u[i] == 0xc2 && i + 1 < n && u[i + 1] >= 0x80 &&
		    u[i + 1] <= 0x9f) {
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[u[i + 1] >> 4];
			esc[5] = hex[u[i + 1] & 15];
			buf_add(b, esc, 6);
			i++;
		} else if (u[i] == 0xef && i + 2 < n && u[i + 1] == 0xbf &&
		    (u[i + 2] == 0xbe || u[i + 2] == 0xbf)) {
			buf_add(b, u[i + 2] == 0xbe ? "\\ufffe" : "\\uffff", 6);
			i += 2;
		} else if (u[i] == 0xe2 && i + 2 < n && u[i + 1] == 0x80 &&
		    (u[i + 2] == 0xa8 || u[i + 2] == 0xa9)) {
			buf_add(b, u[i + 2] == 0xa8 ? "\\u2028" : "\\u2029", 6);
			i += 2;
		} else if (u[i] == 0xef && i + 2 < n && u[i + 1] == 0xbb &&
		    u[i + 2] == 0xbf) {
			buf_add(b, "\\ufeff", 6);
			i += 2;
		} else
			buf_add_u8(b, u[i]);
	}
	buf_add_u8(b, '"');
}

/*
 * A YAML value as JSON: mappings and lists as objects and arrays, plain
 * null/true/false and JSON-shaped numbers as themselves, every other
 * scalar (and every quoted one) as a string.  depth counts through
 * aliases, so a chain of aliases cannot nest without bound.
 */
static int
json_emit(struct ld *ld, struct pf_buf *b, const struct ynode *n,
    const char *pfx, size_t depth)
{
	const struct ynode *c, *k;
	const char	*t;
	size_t		 klen;

	n = R(n);
	if (depth > ld->opts.max_depth) {
		ld_err(ld, n, "%sbody: nested deeper than %zu levels", pfx,
		    ld->opts.max_depth);
		return -1;
	}
	switch (n->kind) {
	case YN_MAP:
		buf_add_u8(b, '{');
		for (k = n->child; k != NULL && k->next != NULL;
		    k = k->next->next) {
			if (R(k)->kind != YN_SCALAR) {
				ld_err(ld, k, "%sbody: a key must be a scalar, "
				    "not %s", pfx, kind_name(R(k)));
				return -1;
			}
			if (k != n->child)
				buf_add(b, ", ", 2);
			klen = b->len;
			json_str(b, R(k)->text, R(k)->len);
			/*
			 * The printed form reads this as a YAML flow key, and
			 * YAML caps implicit keys at 1024 characters.
			 */
			if (!b->failed && b->len - klen > 1000) {
				ld_err(ld, k, "%sbody: a key longer than 1000 "
				    "characters once escaped", pfx);
				return -1;
			}
			buf_add(b, ": ", 2);
			if (json_emit(ld, b, k->next, pfx, depth + 1) == -1)
				return -1;
		}
		buf_add_u8(b, '}');
		break;
	case YN_SEQ:
		buf_add_u8(b, '[');
		for (c = n->child; c != NULL; c = c->next) {
			if (c != n->child)
				buf_add(b, ", ", 2);
			if (json_emit(ld, b, c, pfx, depth + 1) == -1)
				return -1;
		}
		buf_add_u8(b, ']');
		break;
	default:
		t = n->text;
		if (is_null(n))
			buf_add_str(b, "null");
		else if (n->style == YS_PLAIN && !n->str &&
		    (strcmp(t, "true") == 0 || strcmp(t, "True") == 0 ||
		    strcmp(t, "TRUE") == 0))
			buf_add_str(b, "true");
		else if (n->style == YS_PLAIN && !n->str &&
		    (strcmp(t, "false") == 0 || strcmp(t, "False") == 0 ||
		    strcmp(t, "FALSE") == 0))
			buf_add_str(b, "false");
		else if (n->style == YS_PLAIN && !n->str && json_number_ok(t))
			buf_add_str(b, t);
		else
			json_str(b, t, n->len);
	}
	if (b->failed) {
		if (b->max != 0 && b->len + 16 > b->max)
			ld_err(ld, n, "%sbody: more than %d bytes once encoded "
			    "as JSON", pfx, WF_BODY_MAX);
		else
			ld->oom = 1;
		return -1;
	}
	return 0;
}

static int
load_body(struct ld *ld, struct pf_http *h, const struct ynode *v,
    const char *pfx)
{
	struct pf_buf	 b;
	const struct ynode *n = R(v);

	if (n == NULL || is_null(n))
		return 0;
	if (n->kind == YN_SCALAR && (n->style != YS_PLAIN || n->str ||
	    (!json_number_ok(n->text) && strcmp(n->text, "true") != 0 &&
	    strcmp(n->text, "false") != 0 && strcmp(n->text, "True") != 0 &&
	    strcmp(n->text, "False") != 0 && strcmp(n->text, "TRUE") != 0 &&
	    strcmp(n->text, "FALSE") != 0)))
		/* A string is sent as it is. */
		return get_str(ld, n, pfx, "body", 1, WF_BODY_MAX, &h->body);
	buf_init(&b, WF_BODY_MAX);
	if (json_emit(ld, &b, n, pfx, 0) == -1) {
		buf_free(&b);
		return -1;
	}
	if ((h->body = ld_strdup(ld, (const char *)b.data, b.len)) == NULL) {
		buf_free(&b);
		return -1;
	}
	buf_free(&b);
	h->body_is_json = true;
	return 1;
}

/* ------------------------------------------------------ limits, sandbox */

enum {
	LK_MEMORY, LK_SWAP, LK_CPU, LK_PIDS, LK_NOFILE, LK_OUTPUT, LK_N
};
static const char *const limit_keys[LK_N] = {
	"memory", "swap", "cpu", "pids", "nofile", "output",
};

static int
get_size(struct ld *ld, const struct ynode *v, const char *pfx,
    const char *key, long long min, long long *out)
{
	const struct ynode *s;
	int		 rc;

	if ((rc = get_scalar(ld, v, pfx, key, 0, &s)) != 1)
		return rc;
	rc = parse_size(s->text, out);
	if (rc == -1) {
		ld_err(ld, s, "%s%s: '%s' is not a size; use a number of bytes "
		    "with an optional K, M or G suffix (e.g. 64M)", pfx, key,
		    shown(ld, s));
		return -1;
	}
	if (rc == -2 || *out < min) {
		ld_err(ld, s, "%s%s: %s is out of range %lld..1T", pfx, key,
		    shown(ld, s), min);
		return -1;
	}
	return 1;
}

/* Fills the limits named in mapping v over what *lim already holds. */
static void
load_limits(struct ld *ld, const struct ynode *v, const char *pfx,
    const char *base, const char *where, struct pf_limits *lim)
{
	const struct ynode *vals[LK_N], *keys[LK_N], *s;
	char		 key[64];
	long long	 x;
	int		 rc;

	v = R(v);
	if (v == NULL || is_null(v))
		return;
	if (v->kind != YN_MAP) {
		ld_err(ld, v, "%s%s: expected a mapping (memory, swap, cpu, "
		    "pids, nofile, output), got %s", pfx, base, kind_name(v));
		return;
	}
	map_collect(ld, v, limit_keys, LK_N, where, vals, keys);
#define LKEY(k)	(snprintf(key, sizeof(key), "%s.%s", base, limit_keys[k]), key)
	if (get_size(ld, vals[LK_MEMORY], pfx, LKEY(LK_MEMORY), 1, &x) == 1)
		lim->memory = x;
	if (get_size(ld, vals[LK_SWAP], pfx, LKEY(LK_SWAP), 0, &x) == 1)
		lim->swap = x;
	if (get_size(ld, vals[LK_OUTPUT], pfx, LKEY(LK_OUTPUT), 0, &x) == 1)
		lim->output = x;
	if (get_int(ld, vals[LK_PIDS], pfx, LKEY(LK_PIDS), 1, WF_PIDS_MAX,
	    &x) == 1)
		lim->pids = x;
	if (get_int(ld, vals[LK_NOFILE], pfx, LKEY(LK_NOFILE), 1,
	    WF_NOFILE_MAX, &x) == 1)
		lim->nofile = x;
	if (get_scalar(ld, vals[LK_CPU], pfx, LKEY(LK_CPU), 0, &s) == 1) {
		rc = parse_cpu(s->text, &x);
		if (rc == -1)
			ld_err(ld, s, "%s%s: '%s' is not a number of cores "
			    "(e.g. 0.5 or 2)", pfx, key, shown(ld, s));
		else if (rc == -3)
			ld_err(ld, s, "%s%s: '%s' has more than 3 decimals",
			    pfx, key, shown(ld, s));
		else if (rc == -2 || x < 1 || x > WF_CPU_MILLI_MAX)
			ld_err(ld, s, "%s%s: %s is out of range 0.001..%d "
			    "cores", pfx, key, shown(ld, s),
			    WF_CPU_MILLI_MAX / 1000);
		else
			lim->cpu_milli = x;
	}
#undef LKEY
}

enum {
	CK_MAX_PARALLEL, CK_RETRY_DEFAULT, CK_TIMEOUT_DEFAULT, CK_LIMITS,
	CK_RETENTION, CK_N
};
static const char *const config_keys[CK_N] = {
	"max_parallel", "retry_default", "timeout_default", "limits",
	"retention",
};

enum {
	RK_MAX_AGE, RK_MAX_RUNS, RK_MAX_OUTPUT, RK_N
};
static const char *const retention_keys[RK_N] = {
	"max_age", "max_runs", "max_output",
};

#define WF_RETAIN_AGE_MAX	(36500LL * 86400)	/* 100 years */
#define WF_RETAIN_RUNS_MAX	100000000LL

/*
 * A duration: decimal digits with an optional unit s, m, h, d or w
 * (seconds without one).  0 ok, -1 not a duration, -2 beyond max.
 */
static int
parse_duration(const char *s, long long max, long long *out)
{
	long long	 v = 0, mul = 1;
	const char	*p = s;

	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > max)
			return -2;
		v = v * 10 + (*p - '0');
	}
	switch (*p) {
	case '\0':
		break;
	case 's':
		p++;
		break;
	case 'm':
		mul = 60;
		p++;
		break;
	case 'h':
		mul = 3600;
		p++;
		break;
	case 'd':
		mul = 86400;
		p++;
		break;
	case 'w':
		mul = 7 * 86400;
		p++;
		break;
	default:
		return -1;
	}
	if (*p != '\0')
		return -1;
	if (v > max / mul)
		return -2;
	*out = v * mul;
	return 0;
}

static void
load_retention(struct ld *ld, const struct ynode *v, struct pf_retention *r)
{
	const struct ynode *vals[RK_N], *keys[RK_N], *s;
	long long	 x;
	int		 rc;

	v = R(v);
	if (v == NULL || is_null(v))
		return;
	if (v->kind != YN_MAP) {
		ld_err(ld, v, "config.retention: expected a mapping (max_age, "
		    "max_runs, max_output), got %s", kind_name(v));
		return;
	}
	map_collect(ld, v, retention_keys, RK_N, "config.retention", vals,
	    keys);
	if (get_scalar(ld, vals[RK_MAX_AGE], "", "config.retention.max_age",
	    0, &s) == 1) {
		rc = parse_duration(s->text, WF_RETAIN_AGE_MAX, &x);
		if (rc == -1)
			ld_err(ld, s, "config.retention.max_age: '%s' is not a "
			    "duration; use a number with s, m, h, d or w "
			    "(e.g. 30d)", shown(ld, s));
		else if (rc == -2 || x < 1)
			ld_err(ld, s, "config.retention.max_age: %s is out of "
			    "range 1s..36500d", shown(ld, s));
		else
			r->max_age = x;
	}
	if (get_int(ld, vals[RK_MAX_RUNS], "", "config.retention.max_runs", 1,
	    WF_RETAIN_RUNS_MAX, &x) == 1)
		r->max_runs = x;
	if (get_size(ld, vals[RK_MAX_OUTPUT], "", "config.retention.max_output",
	    1, &x) == 1)
		r->max_output = x;
}

enum {
	SB_NETWORK, SB_READ_ONLY, SB_WRITABLE, SB_N
};
static const char *const sandbox_keys[SB_N] = {
	"network", "read_only", "writable",
};

static void
load_sandbox(struct ld *ld, const struct ynode *v, const char *pfx,
    const char *where, struct pf_sandbox *sb)
{
	const struct ynode *vals[SB_N], *keys[SB_N];
	bool		 b;

	v = R(v);
	if (v == NULL || is_null(v))
		return;
	if (v->kind != YN_MAP) {
		ld_err(ld, v, "%ssandbox: expected a mapping (network, "
		    "read_only, writable), got %s", pfx, kind_name(v));
		return;
	}
	map_collect(ld, v, sandbox_keys, SB_N, where, vals, keys);
	if (get_bool(ld, vals[SB_NETWORK], pfx, "sandbox.network", &b) == 1)
		sb->network = b ? 1 : 0;
	(void)get_strlist(ld, vals[SB_READ_ONLY], pfx, "sandbox.read_only",
	    WF_PATHS_MAX, WF_STR_MAX, 1, &sb->read_only, &sb->nread_only);
	(void)get_strlist(ld, vals[SB_WRITABLE], pfx, "sandbox.writable",
	    WF_PATHS_MAX, WF_STR_MAX, 1, &sb->writable, &sb->nwritable);
}

/* ------------------------------------------------------------ executors */

enum {
	SH_COMMAND, SH_ARGS, SH_WORKDIR, SH_ENV, SH_TIMEOUT, SH_N
};
static const char *const shell_keys[SH_N] = {
	"command", "args", "workdir", "env", "timeout",
};

enum {
	SS_HOST, SS_USER, SS_COMMAND, SS_KEY_PATH, SS_PORT, SS_VERIFY,
	SS_TIMEOUT, SS_N
};
static const char *const ssh_keys[SS_N] = {
	"host", "user", "command", "key_path", "port", "verify_host_key",
	"timeout",
};

enum {
	HT_URL, HT_METHOD, HT_HEADERS, HT_BODY, HT_TIMEOUT, HT_PRIVATE,
	HT_CA_FILE, HT_SUCCESS, HT_N
};
static const char *const http_keys[HT_N] = {
	"url", "method", "headers", "body", "timeout", "allow_private_ips",
	"ca_file", "success_status",
};

static const char *const http_methods[] = {
	"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD",
};

static void
missing_in_config(struct ld *ld, const struct ynode *map, const char *pfx,
    const char *key)
{
	ld_err(ld, map, "%smissing required key '%s' in config", pfx, key);
}

/*
 * `timeout` written inside a shell or ssh config: the Rust PicoFlow's
 * own examples do it.  Taken as the task's timeout unless the task has
 * its own; a warning either way.
 */
static void
config_timeout(struct ld *ld, struct pf_task *t, const struct ynode *key,
    const struct ynode *val, const struct ynode *task_timeout,
    const char *pfx)
{
	long long	 x;

	if (get_int(ld, val, pfx, "config.timeout", 1, WF_TIMEOUT_MAX, &x)
	    != 1)
		return;
	if (task_timeout != NULL && !is_null(R(task_timeout)))
		ld_warn(ld, key, "%s'timeout' inside config (%lld) is ignored: "
		    "the task's own timeout (line %u) wins", pfx, x,
		    task_timeout->line);
	else {
		t->timeout = (unsigned)x;
		ld_warn(ld, key, "%s'timeout' inside config is taken as the "
		    "task's timeout (%lld s); write it at task level", pfx, x);
	}
}

static void
load_shell(struct ld *ld, struct pf_task *t, const struct ynode *cfg,
    const char *pfx, const char *where, const struct ynode *task_timeout)
{
	const struct ynode *v[SH_N], *k[SH_N];
	struct pf_shell	*sh = &t->u.shell;
	const char	*why;
	int		 rc;

	map_collect(ld, cfg, shell_keys, SH_N, where, v, k);
	rc = get_str(ld, v[SH_COMMAND], pfx, "command", 1, WF_STR_MAX,
	    &sh->command);
	if (rc == 0)
		missing_in_config(ld, cfg, pfx, "command");
	else if (rc == 1 && sh->command[0] != '/')
		ld_err(ld, v[SH_COMMAND], "%scommand: '%s' is not an absolute "
		    "path; commands run directly, without a shell or PATH "
		    "search (write the full path%s%s)", pfx,
		    shown(ld, v[SH_COMMAND]),
		    strchr(sh->command, '/') ? "" : ", e.g. /usr/bin/",
		    strchr(sh->command, '/') ? "" : shown(ld, v[SH_COMMAND]));
	else if (rc == 1 && has_control(sh->command, strlen(sh->command)))
		ld_err(ld, v[SH_COMMAND], "%scommand: contains a control "
		    "character", pfx);
	(void)get_strlist(ld, v[SH_ARGS], pfx, "args", WF_ARGS_MAX,
	    WF_STR_MAX, 0, &sh->args, &sh->nargs);
	if (get_str(ld, v[SH_WORKDIR], pfx, "workdir", 0, WF_STR_MAX,
	    &sh->workdir) == 1 && (why = abs_path_problem(sh->workdir)) !=
	    NULL)
		ld_err(ld, v[SH_WORKDIR], "%sworkdir: '%s' %s", pfx,
		    shown(ld, v[SH_WORKDIR]), why);
	(void)get_kvmap(ld, v[SH_ENV], pfx, "env", KV_ENV, &sh->env);
	if (k[SH_TIMEOUT] != NULL)
		config_timeout(ld, t, k[SH_TIMEOUT], v[SH_TIMEOUT],
		    task_timeout, pfx);
}

static void
load_ssh(struct ld *ld, struct pf_task *t, const struct ynode *cfg,
    const char *pfx, const char *where, const struct ynode *task_timeout)
{
	const struct ynode *v[SS_N], *k[SS_N];
	struct pf_ssh	*ss = &t->u.ssh;
	char		*host = NULL;
	size_t		 off, blen;
	long long	 x;
	int		 rc;

	ss->port = 22;
	ss->verify_host_key = true;
	map_collect(ld, cfg, ssh_keys, SS_N, where, v, k);
	rc = get_str(ld, v[SS_HOST], pfx, "host", 1, 255, &host);
	if (rc == 0)
		missing_in_config(ld, cfg, pfx, "host");
	else if (rc == 1) {
		if (!ssh_host_ok(host, &off, &blen))
			ld_err(ld, v[SS_HOST], "%shost: '%s' is not a host "
			    "name, IPv4 or IPv6 address", pfx,
			    shown(ld, v[SS_HOST]));
		else
			ss->host = ld_strdup(ld, host + off, blen);
		pf_free(host);
	}
	rc = get_str(ld, v[SS_USER], pfx, "user", 1, WF_USER_MAX, &ss->user);
	if (rc == 0)
		missing_in_config(ld, cfg, pfx, "user");
	else if (rc == 1 && (ss->user[0] == '\0' ||
	    has_control(ss->user, strlen(ss->user))))
		ld_err(ld, v[SS_USER], "%suser: must be a non-empty name "
		    "without control characters", pfx);
	rc = get_str(ld, v[SS_COMMAND], pfx, "command", 1, WF_STR_MAX,
	    &ss->command);
	if (rc == 0)
		missing_in_config(ld, cfg, pfx, "command");
	else if (rc == 1 && ss->command[0] == '\0')
		ld_err(ld, v[SS_COMMAND], "%scommand: is empty", pfx);
	if (get_str(ld, v[SS_KEY_PATH], pfx, "key_path", 0, WF_STR_MAX,
	    &ss->key_path) == 1 && !(ss->key_path[0] == '/' ||
	    strcmp(ss->key_path, "~") == 0 ||
	    strncmp(ss->key_path, "~/", 2) == 0 ||
	    strncmp(ss->key_path, "${", 2) == 0))
		ld_err(ld, v[SS_KEY_PATH], "%skey_path: '%s' must be an "
		    "absolute path or start with ~/", pfx,
		    shown(ld, v[SS_KEY_PATH]));
	if (get_int(ld, v[SS_PORT], pfx, "port", 1, 65535, &x) == 1)
		ss->port = (int)x;
	(void)get_bool(ld, v[SS_VERIFY], pfx, "verify_host_key",
	    &ss->verify_host_key);
	if (k[SS_TIMEOUT] != NULL)
		config_timeout(ld, t, k[SS_TIMEOUT], v[SS_TIMEOUT],
		    task_timeout, pfx);
}

static void
load_http(struct ld *ld, struct pf_task *t, const struct ynode *cfg,
    const char *pfx, const char *where)
{
	const struct ynode *v[HT_N], *k[HT_N], *l, *it;
	struct pf_http	*h = &t->u.http;
	const char	*why;
	char		 ikey[48];
	long long	 x;
	size_t		 i;
	int		 rc, m;

	h->timeout = WF_DEFAULT_HTTP_TIMEOUT;
	map_collect(ld, cfg, http_keys, HT_N, where, v, k);
	rc = get_str(ld, v[HT_URL], pfx, "url", 1, WF_URL_MAX, &h->url);
	if (rc == 0)
		missing_in_config(ld, cfg, pfx, "url");
	else if (rc == 1 && (why = url_problem(h->url)) != NULL)
		ld_err(ld, v[HT_URL], "%surl: '%s' %s", pfx,
		    shown(ld, v[HT_URL]), why);
	rc = get_scalar(ld, v[HT_METHOD], pfx, "method", 0, &it);
	if (rc == 0)
		h->method = ld_strdup(ld, "GET", 3);
	else if (rc == 1) {
		for (m = 0; m < 6; m++)
			if (strcasecmp(it->text, http_methods[m]) == 0)
				break;
		if (m == 6)
			ld_err(ld, it, "%smethod: '%s' is not one of GET, POST, "
			    "PUT, DELETE, PATCH, HEAD", pfx, shown(ld, it));
		else
			h->method = ld_strdup(ld, http_methods[m],
			    strlen(http_methods[m]));
	}
	(void)get_kvmap(ld, v[HT_HEADERS], pfx, "headers", KV_HEADER,
	    &h->headers);
	(void)load_body(ld, h, v[HT_BODY], pfx);
	if (get_int(ld, v[HT_TIMEOUT], pfx, "timeout", 1, WF_HTTP_TIMEOUT_MAX,
	    &x) == 1)
		h->timeout = (int)x;
	(void)get_bool(ld, v[HT_PRIVATE], pfx, "allow_private_ips",
	    &h->allow_private_ips);
	if (get_str(ld, v[HT_CA_FILE], pfx, "ca_file", 0, WF_STR_MAX,
	    &h->ca_file) == 1 && (why = abs_path_problem(h->ca_file)) != NULL)
		ld_err(ld, v[HT_CA_FILE], "%sca_file: '%s' %s", pfx,
		    shown(ld, v[HT_CA_FILE]), why);
	if (get_list(ld, v[HT_SUCCESS], pfx, "success_status", WF_STATUS_MAX,
	    &l) == 1) {
		if (l->n == 0) {
			ld_err(ld, l, "%ssuccess_status: empty list; leave it "
			    "out to accept any 2xx status", pfx);
			return;
		}
		if ((h->success_status = pf_calloc(l->n,
		    sizeof(int))) == NULL) {
			ld->oom = 1;
			return;
		}
		for (i = 0, it = l->child; it != NULL; it = it->next, i++) {
			(void)snprintf(ikey, sizeof(ikey), "success_status[%zu]",
			    i);
			if (get_int(ld, it, pfx, ikey, 100, 599, &x) == 1)
				h->success_status[i] = (int)x;
			else if (is_null(R(it)))
				ld_err(ld, it, "%s%s: missing value", pfx, ikey);
		}
		h->nsuccess_status = l->n;
	}
}

/* ----------------------------------------------------------------- tasks */

enum {
	TK_NAME, TK_TYPE, TK_DEPENDS_ON, TK_RETRY, TK_TIMEOUT, TK_CONTINUE,
	TK_CONFIG, TK_LIMITS, TK_RUN_AS, TK_SANDBOX, TK_N
};
static const char *const task_keys[TK_N] = {
	"name", "type", "depends_on", "retry", "timeout",
	"continue_on_failure", "config", "limits", "run_as", "sandbox",
};
static const char *const task_types[] = { "shell", "ssh", "http" };

/* Task names -> index, open addressing; SIZE_MAX marks a free slot. */
struct names {
	size_t		*slot;
	size_t		 cap;
};

static size_t
names_find(const struct pf_workflow *wf, const struct names *nt,
    const char *name, size_t **where)
{
	size_t	 i = hash_str(name) & (nt->cap - 1);

	while (nt->slot[i] != SIZE_MAX &&
	    strcmp(wf->tasks[nt->slot[i]].name, name) != 0)
		i = (i + 1) & (nt->cap - 1);
	if (where != NULL)
		*where = &nt->slot[i];
	return nt->slot[i];
}

static const struct ynode *
map_find(const struct ynode *map, const char *key)
{
	const struct ynode *k;

	for (k = map->child; k != NULL && k->next != NULL; k = k->next->next)
		if (R(k)->kind == YN_SCALAR && strcmp(R(k)->text, key) == 0)
			return k->next;
	return NULL;
}

static void
load_task(struct ld *ld, struct names *nt, size_t idx, const struct ynode *tn)
{
	struct pf_workflow *wf = ld->wf;
	struct pf_task	*t = &wf->tasks[idx];
	const struct ynode *v[TK_N], *k[TK_N], *nm, *cfg, *l, *it;
	char		 label[96], pfx[112], cpfx[128], where[160];
	size_t		*slot, first, i;
	long long	 x;
	int		 rc, type = -1;

	t->retry = wf->retry_default;
	t->timeout = wf->timeout_default;
	t->limits = wf->limits;
	t->sandbox.network = -1;
	t->pos.line = tn->line;
	t->pos.col = tn->col;
	tn = R(tn);
	if (tn->kind != YN_MAP) {
		ld_err(ld, tn, "task #%zu: expected a mapping with name, type "
		    "and config, got %s", idx + 1, kind_name(tn));
		return;
	}
	nm = R(map_find(tn, "name"));
	if (nm != NULL && nm->kind == YN_SCALAR &&
	    task_name_ok(nm->text, nm->len))
		(void)snprintf(label, sizeof(label), "task '%s'", nm->text);
	else
		(void)snprintf(label, sizeof(label), "task #%zu", idx + 1);
	(void)snprintf(pfx, sizeof(pfx), "%s: ", label);
	map_collect(ld, tn, task_keys, TK_N, label, v, k);

	rc = get_str(ld, v[TK_NAME], pfx, "name", 1, WF_STR_MAX, &t->name);
	if (rc == 0)
		ld_err(ld, tn, "%smissing required key 'name'", pfx);
	else if (rc == 1) {
		nm = R(v[TK_NAME]);
		ld->namenode[idx] = nm;
		if (nm->len == 0)
			ld_err(ld, nm, "%sname: is empty", pfx);
		else if (nm->len > WF_TASK_NAME_MAX)
			ld_err(ld, nm, "%sname: %zu bytes long; the limit is %d",
			    pfx, nm->len, WF_TASK_NAME_MAX);
		else if (!task_name_ok(nm->text, nm->len))
			ld_err(ld, nm, "%sname: '%s' may only contain letters, "
			    "digits, '_' and '-'", pfx, shown(ld, nm));
		else if ((first = names_find(wf, nt, t->name, &slot)) !=
		    SIZE_MAX)
			ld_err(ld, nm, "%sduplicate task name; the first '%s' "
			    "is at line %u", pfx, t->name,
			    ld->namenode[first]->line);
		else
			*slot = idx;
	}

	rc = get_word(ld, v[TK_TYPE], pfx, "type", task_types, 3, &type);
	if (rc == 0) {
		ld_err(ld, v[TK_TYPE] ? R(v[TK_TYPE]) : tn, "%smissing "
		    "required key 'type' (shell, ssh or http)", pfx);
		type = -1;
	} else if (rc == 1)
		t->type = (enum task_type)type;
	else
		type = -1;

	if (get_strlist(ld, v[TK_DEPENDS_ON], pfx, "depends_on", SIZE_MAX,
	    WF_STR_MAX, 0, &t->depends_on, &t->ndepends_on) != 0 &&
	    t->depends_on != NULL) {
		l = R(v[TK_DEPENDS_ON]);
		if ((ld->depnode[idx] = ld_alloc(ld, (l->n + 1) *
		    sizeof(struct ynode *))) == NULL)
			return;
		for (i = 0, it = l->child; it != NULL; it = it->next, i++)
			ld->depnode[idx][i] = it;
	}
	if (get_int(ld, v[TK_RETRY], pfx, "retry", 0, WF_RETRY_MAX, &x) == 1)
		t->retry = (unsigned)x;
	if (get_int(ld, v[TK_TIMEOUT], pfx, "timeout", 1, WF_TIMEOUT_MAX,
	    &x) == 1)
		t->timeout = (unsigned)x;
	(void)get_bool(ld, v[TK_CONTINUE], pfx, "continue_on_failure",
	    &t->continue_on_failure);
	(void)snprintf(where, sizeof(where), "the limits of %s", label);
	load_limits(ld, v[TK_LIMITS], pfx, "limits", where, &t->limits);
	if (get_str(ld, v[TK_RUN_AS], pfx, "run_as", 0, 65, &t->run_as) == 1 &&
	    !run_as_ok(t->run_as))
		ld_err(ld, v[TK_RUN_AS], "%srun_as: '%s' is not a user or "
		    "user:group (names or numeric ids)", pfx,
		    shown(ld, v[TK_RUN_AS]));
	(void)snprintf(where, sizeof(where), "the sandbox of %s", label);
	load_sandbox(ld, v[TK_SANDBOX], pfx, where, &t->sandbox);

	cfg = R(v[TK_CONFIG]);
	if (cfg == NULL) {
		ld_err(ld, tn, "%smissing required key 'config'", pfx);
		return;
	}
	if (is_null(cfg) || cfg->kind != YN_MAP) {
		ld_err(ld, cfg, "%sconfig: expected a mapping, got %s", pfx,
		    is_null(cfg) ? "nothing" : kind_name(cfg));
		return;
	}
	if (type < 0)
		return;
	(void)snprintf(cpfx, sizeof(cpfx), "%s (%s): ", label,
	    task_types[type]);
	(void)snprintf(where, sizeof(where), "the config of %s (%s)", label,
	    task_types[type]);
	switch (t->type) {
	case TASK_SHELL:
		load_shell(ld, t, cfg, cpfx, where, v[TK_TIMEOUT]);
		break;
	case TASK_SSH:
		load_ssh(ld, t, cfg, cpfx, where, v[TK_TIMEOUT]);
		break;
	case TASK_HTTP:
		load_http(ld, t, cfg, cpfx, where);
		break;
	}
}

/* The closest task name to an unknown one, or NULL. */
static const char *
closest_task(const struct pf_workflow *wf, const char *name)
{
	const char	*best = NULL;
	size_t		 i, d, cap = suggest_cap(name), bestd = cap + 1;

	for (i = 0; i < wf->ntasks; i++) {
		if (wf->tasks[i].name == NULL)
			continue;
		d = edit_distance(name, wf->tasks[i].name, cap);
		if (d < bestd) {
			bestd = d;
			best = wf->tasks[i].name;
		}
	}
	return best;
}

static void
report_cycle(struct ld *ld, const struct dag *d, const struct dag_cycle *c)
{
	const struct pf_workflow *wf = ld->wf;
	const struct ynode *at;
	struct pf_buf	 b;
	size_t		 i;

	buf_init(&b, 0);
	for (i = 0; i < c->len; i++) {
		if (b.len > 600) {
			buf_printf(&b, "... (%zu more) -> ", c->len - i);
			break;
		}
		buf_printf(&b, "%s -> ", wf->tasks[c->path[i]].name);
	}
	buf_add_str(&b, wf->tasks[c->path[0]].name);
	if (b.failed) {
		ld->oom = 1;
		buf_free(&b);
		return;
	}
	at = ld->depnode[c->edge_node][c->edge_slot];
	ld_err(ld, at, "task '%s': depends_on '%s' closes a dependency "
	    "cycle: %s", wf->tasks[c->edge_node].name,
	    wf->tasks[c->path[c->len - 1]].name, buf_cstr(&b));
	buf_free(&b);
	(void)d;
}

/*
 * Resolves depends_on names, drops repeats (with a warning), reports
 * unknown names and self-dependencies, then builds the graph for cycles,
 * order and levels.  The depends_on entries that become edges are kept,
 * in order, in ld->depnode so a cycle can point at the one closing it.
 */
static void
load_deps(struct ld *ld, const struct names *nt)
{
	struct pf_workflow *wf = ld->wf;
	struct pf_task	*t;
	struct dag	 d;
	struct pf_err	 err;
	const struct ynode **nodes;
	const char	*close;
	size_t		*mark, i, j, kept, x, c;
	char		*name;

	if (dag_init(&d, wf->ntasks) == -1) {
		ld_err(ld, NULL, "too many tasks");
		return;
	}
	if ((mark = pf_calloc(wf->ntasks + 1, sizeof(size_t))) == NULL) {
		ld->oom = 1;
		return;
	}
	for (i = 0; i < wf->ntasks && !ld->oom; i++) {
		t = &wf->tasks[i];
		nodes = ld->depnode[i];
		if (t->ndepends_on == 0 || nodes == NULL)
			continue;
		if ((t->dep_idx = pf_calloc(t->ndepends_on,
		    sizeof(size_t))) == NULL) {
			ld->oom = 1;
			break;
		}
		kept = 0;
		for (j = 0; j < t->ndepends_on; j++) {
			if ((name = t->depends_on[j]) == NULL)
				continue;
			t->depends_on[j] = NULL;
			x = names_find(wf, nt, name, NULL);
			if (x == SIZE_MAX) {
				close = ld_room(ld) ? closest_task(wf, name) :
				    NULL;
				ld_err(ld, nodes[j], "task '%s': depends_on names "
				    "unknown task '%s'%s%s%s", t->name ?
				    t->name : "?", shown(ld, nodes[j]),
				    close ? "; did you mean '" : "",
				    close ? close : "", close ? "'?" : "");
				pf_free(name);
				continue;
			}
			if (x == i) {
				ld_err(ld, nodes[j], "task '%s': depends on "
				    "itself", name);
				pf_free(name);
				continue;
			}
			if (mark[x] == i + 1) {
				ld_warn(ld, nodes[j], "task '%s': '%s' is listed "
				    "more than once in depends_on; the repeat is "
				    "ignored", t->name ? t->name : "?", name);
				pf_free(name);
				continue;
			}
			mark[x] = i + 1;
			t->depends_on[kept] = name;
			t->dep_idx[kept] = x;
			nodes[kept] = nodes[j];
			kept++;
			if (dag_add_edge(&d, i, x, &err) == -1)
				ld->oom = 1;
		}
		t->ndepends_on = kept;
	}
	pf_free(mark);
	if (ld->oom) {
		dag_free(&d);
		return;
	}
	if (dag_finish(&d, &err) == -1) {
		if (d.ncycles == 0)
			ld->oom = 1;
		for (c = 0; c < d.ncycles; c++)
			report_cycle(ld, &d, &d.cycles[c]);
	} else {
		wf->order = d.order;
		wf->level = d.level;
		d.order = NULL;
		d.level = NULL;
	}
	dag_free(&d);
}

static void
load_tasks(struct ld *ld, const struct ynode *v)
{
	struct pf_workflow *wf = ld->wf;
	const struct ynode *it;
	struct names	 nt;
	size_t		 n, i;

	if (v == NULL) {
		ld_err(ld, ld->root, "missing required key 'tasks' (a list of "
		    "tasks; write 'tasks: []' for none)");
		return;
	}
	v = R(v);
	if (is_null(v) || v->kind != YN_SEQ) {
		ld_err(ld, v, "tasks: expected a list of tasks, got %s (write "
		    "'tasks: []' for none)", is_null(v) ? "nothing" :
		    kind_name(v));
		return;
	}
	n = v->n;
	if (n > ld->opts.max_tasks) {
		for (i = 0, it = v->child; i < ld->opts.max_tasks; i++)
			it = it->next;
		ld_err(ld, it, "tasks: %zu tasks; the limit is %zu", n,
		    ld->opts.max_tasks);
		return;
	}
	if ((wf->tasks = pf_calloc(n + 1, sizeof(*wf->tasks))) == NULL) {
		ld->oom = 1;
		return;
	}
	wf->ntasks = n;
	for (nt.cap = 16; nt.cap < 2 * n; nt.cap *= 2)
		;
	ld->depnode = ld_alloc(ld, (n + 1) * sizeof(*ld->depnode));
	ld->namenode = ld_alloc(ld, (n + 1) * sizeof(*ld->namenode));
	nt.slot = ld_alloc(ld, nt.cap * sizeof(size_t));
	if (ld->oom)
		return;
	memset(ld->depnode, 0, (n + 1) * sizeof(*ld->depnode));
	memset(ld->namenode, 0, (n + 1) * sizeof(*ld->namenode));
	memset(nt.slot, 0xff, nt.cap * sizeof(size_t));
	for (i = 0, it = v->child; it != NULL && !ld->oom; it = it->next, i++)
		load_task(ld, &nt, i, it);
	if (!ld->oom)
		load_deps(ld, &nt);
}

/* -------------------------------------------------------------- workflow */

enum {
	WK_NAME, WK_DESCRIPTION, WK_SCHEDULE, WK_TIMEZONE, WK_OVERLAP,
	WK_CATCHUP, WK_CATCHUP_WINDOW, WK_CATCHUP_MAX, WK_ENV, WK_CONFIG,
	WK_TASKS, WK_N
};
static const char *const wf_keys[WK_N] = {
	"name", "description", "schedule", "timezone", "overlap", "catchup",
	"catchup_window", "catchup_max", "env", "config", "tasks",
};


static const char *const overlap_words[] = { "skip", "queue", "allow" };
static const enum wf_overlap overlap_vals[] = {
	OVERLAP_SKIP, OVERLAP_QUEUE, OVERLAP_ALLOW,
};
static const char *const catchup_words[] = { "none", "latest", "all" };
static const enum wf_catchup catchup_vals[] = {
	CATCHUP_NONE, CATCHUP_LATEST, CATCHUP_ALL,
};

static void
load_config(struct ld *ld, const struct ynode *v)
{
	struct pf_workflow *wf = ld->wf;
	const struct ynode *vals[CK_N], *keys[CK_N];
	long long	 x;

	v = R(v);
	if (v == NULL || is_null(v))
		return;
	if (v->kind != YN_MAP) {
		ld_err(ld, v, "config: expected a mapping (max_parallel, "
		    "retry_default, timeout_default, limits, retention), "
		    "got %s", kind_name(v));
		return;
	}
	map_collect(ld, v, config_keys, CK_N, "config", vals, keys);
	if (get_int(ld, vals[CK_MAX_PARALLEL], "", "config.max_parallel", 1,
	    WF_PARALLEL_MAX, &x) == 1)
		wf->max_parallel = (unsigned)x;
	if (get_int(ld, vals[CK_RETRY_DEFAULT], "", "config.retry_default", 0,
	    WF_RETRY_MAX, &x) == 1)
		wf->retry_default = (unsigned)x;
	if (get_int(ld, vals[CK_TIMEOUT_DEFAULT], "", "config.timeout_default",
	    1, WF_TIMEOUT_MAX, &x) == 1)
		wf->timeout_default = (unsigned)x;
	load_limits(ld, vals[CK_LIMITS], "", "config.limits", "config.limits",
	    &wf->limits);
	load_retention(ld, vals[CK_RETENTION], &wf->retention);
}

static void
load_schedule(struct ld *ld, const struct ynode *v)
{
	struct pf_workflow *wf = ld->wf;
	struct cron_expr ce;
	struct pf_err	 err;
	size_t		 off = 0;
	unsigned	 col;

	if (get_str(ld, v, "", "schedule", 0, CRON_EXPR_MAX, &wf->schedule)
	    != 1)
		return;
	v = R(v);
	err.msg[0] = '\0';
	if (cron_parse(wf->schedule, &ce, &off, &err) == -1) {
		/* Point into the expression when it sits on one line. */
		col = v->col;
		if (v->style != YS_BLOCK && strchr(wf->schedule, '\n') == NULL &&
		    off < strlen(wf->schedule))
			col += (v->style == YS_QUOTED ? 1 : 0) + (unsigned)off;
		ld_diag(ld, PF_SEV_ERROR, v->line, col, "schedule: %s",
		    err.msg[0] ? err.msg : "not a valid cron expression");
		return;
	}
	if (ce.nfields >= 6 && cron_dom_dow_both_restricted(&ce))
		ld_warn(ld, v, "schedule: both day-of-month and day-of-week "
		    "are restricted; a day matches when either matches (cron's "
		    "rule; the Rust PicoFlow required both)");
}

static void
load_timezone(struct ld *ld, const struct ynode *v)
{
	struct pf_workflow *wf = ld->wf;
	struct pf_tz	*tz = NULL;
	struct pf_err	 err;

	if (get_str(ld, v, "", "timezone", 0, TZ_NAME_MAX, &wf->timezone) != 1)
		return;
	err.msg[0] = '\0';
	if (tz_load(wf->timezone, &tz, &err) == -1) {
		ld_err(ld, R(v), "timezone: %s", err.msg[0] ? err.msg :
		    "unknown time zone");
		return;
	}
	tz_free(tz);
}

static void
load_root(struct ld *ld)
{
	struct pf_workflow *wf = ld->wf;
	const struct ynode *root = R(ld->root), *vals[WK_N], *keys[WK_N];
	long long	 x;
	int		 w;

	/* Nothing, or a document with nothing in it ("---"). */
	if (root == NULL || is_null(root)) {
		ld_diag(ld, PF_SEV_ERROR, 1, 1, "the file is empty; a workflow "
		    "needs at least 'name' and 'tasks'");
		return;
	}
	if (root->kind != YN_MAP) {
		ld_err(ld, root, "the top level must be a mapping with 'name' "
		    "and 'tasks', not %s", kind_name(root));
		return;
	}
	map_collect(ld, root, wf_keys, WK_N, "the workflow", vals, keys);
	switch (get_str(ld, vals[WK_NAME], "", "name", 1, SIZE_MAX,
	    &wf->name)) {
	case 0:
		ld_err(ld, root, "missing required key 'name'");
		break;
	case 1:
		if (wf->name[0] == '\0')
			ld_err(ld, R(vals[WK_NAME]), "name: is empty");
		else if (strlen(wf->name) > WF_NAME_MAX)
			ld_err(ld, R(vals[WK_NAME]), "name: %zu bytes long; the "
			    "limit is %d", strlen(wf->name), WF_NAME_MAX);
		else if (has_control(wf->name, strlen(wf->name)))
			ld_err(ld, R(vals[WK_NAME]), "name: '%s' contains a "
			    "control character", shown(ld, vals[WK_NAME]));
		break;
	}
	(void)get_str(ld, vals[WK_DESCRIPTION], "", "description", 0,
	    WF_TEXT_MAX, &wf->description);
	load_schedule(ld, vals[WK_SCHEDULE]);
	load_timezone(ld, vals[WK_TIMEZONE]);
	if (get_word(ld, vals[WK_OVERLAP], "", "overlap", overlap_words, 3,
	    &w) == 1)
		wf->overlap = overlap_vals[w];
	if (get_word(ld, vals[WK_CATCHUP], "", "catchup", catchup_words, 3,
	    &w) == 1)
		wf->catchup = catchup_vals[w];
	if (get_int(ld, vals[WK_CATCHUP_WINDOW], "", "catchup_window", 0,
	    WF_CATCHUP_WINDOW_MAX, &x) == 1)
		wf->catchup_window = (uint32_t)x;
	if (get_int(ld, vals[WK_CATCHUP_MAX], "", "catchup_max", 1,
	    WF_CATCHUP_MAX_MAX, &x) == 1)
		wf->catchup_max = (uint32_t)x;
	(void)get_kvmap(ld, vals[WK_ENV], "", "env", KV_ENV, &wf->env);
	load_config(ld, vals[WK_CONFIG]);
	if (!ld->oom)
		load_tasks(ld, vals[WK_TASKS]);
}

/* ----------------------------------------------------------- entry points */

void
workflow_load_opts_default(struct wf_load_opts *o)
{
	o->max_bytes = WF_DEFAULT_MAX_BYTES;
	o->max_tasks = WF_DEFAULT_MAX_TASKS;
	o->max_depth = WF_DEFAULT_MAX_DEPTH;
	o->max_nodes = WF_DEFAULT_MAX_NODES;
}

static void
opts_fill(struct wf_load_opts *o, const struct wf_load_opts *in)
{
	workflow_load_opts_default(o);
	if (in == NULL)
		return;
	/* Zero means "the default", so callers can set one field. */
	if (in->max_bytes)
		o->max_bytes = in->max_bytes;
	if (in->max_tasks)
		o->max_tasks = in->max_tasks;
	if (in->max_depth)
		o->max_depth = in->max_depth;
	if (in->max_nodes)
		o->max_nodes = in->max_nodes;
}

/* Stable sort of this load's messages by position (merge sort). */
static void
diags_sort(struct pf_diags *d, size_t from)
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

struct pf_workflow *
workflow_load_buf(const char *label, const void *buf, size_t len,
    const struct wf_load_opts *opts, struct pf_diags *diags)
{
	struct ld	 ld;
	struct pf_workflow *wf = NULL;
	struct pf_diags	 none;
	const unsigned char *b = buf;
	const unsigned char *nul;
	unsigned	 line, col;
	size_t		 n0;

	/* A caller that only wants yes or no may pass no diags. */
	pf_diags_init(&none);
	if (diags == NULL)
		diags = &none;
	n0 = diags->n;
	memset(&ld, 0, sizeof(ld));
	ld.file = label != NULL ? label : "<input>";
	ld.diags = diags;
	opts_fill(&ld.opts, opts);
	ld.max_expand = ld.opts.max_bytes > SIZE_MAX / WF_EXPAND_FACTOR ?
	    SIZE_MAX : ld.opts.max_bytes * WF_EXPAND_FACTOR;

	if (len > ld.opts.max_bytes) {
		ld_diag(&ld, PF_SEV_ERROR, 1, 1, "the file is %zu bytes; the "
		    "limit is %zu bytes", len, ld.opts.max_bytes);
		goto out;
	}
	if (len >= 2 && ((b[0] == 0xff && b[1] == 0xfe) ||
	    (b[0] == 0xfe && b[1] == 0xff))) {
		ld_diag(&ld, PF_SEV_ERROR, 1, 1, "the file is UTF-16; save it "
		    "as UTF-8");
		goto out;
	}
	if ((nul = memchr(b, '\0', len)) != NULL) {
		pos_of_offset(b, len, (size_t)(nul - b), &line, &col);
		ld_diag(&ld, PF_SEV_ERROR, line, col, "the file contains a NUL "
		    "byte");
		goto out;
	}
	if (tree_build(&ld, b, len) == -1)
		goto out;
	if ((wf = pf_calloc(1, sizeof(*wf))) == NULL) {
		ld.oom = 1;
		goto out;
	}
	ld.wf = wf;
	wf->overlap = OVERLAP_SKIP;
	wf->catchup = CATCHUP_LATEST;
	wf->catchup_window = WF_CATCHUP_WINDOW_DEF;
	wf->catchup_max = 1;
	wf->max_parallel = WF_DEFAULT_MAX_PARALLEL;
	wf->retry_default = WF_DEFAULT_RETRY;
	wf->timeout_default = WF_DEFAULT_TIMEOUT;
	wf->limits.memory = wf->limits.swap = wf->limits.cpu_milli = -1;
	wf->limits.pids = wf->limits.nofile = wf->limits.output = -1;
	if ((wf->file = pf_strdup(ld.file)) == NULL) {
		ld.oom = 1;
		goto out;
	}
	load_root(&ld);
out:
	arena_free(&ld.arena);
	if (ld.oom)
		ld_diag(&ld, PF_SEV_ERROR, 0, 0, "out of memory while loading "
		    "the workflow");
	if (ld.failed || ld.oom) {
		workflow_free(wf);
		wf = NULL;
	}
	diags_sort(diags, n0);
	pf_diags_free(&none);
	return wf;
}

struct pf_workflow *
workflow_load_file(const char *path, const struct wf_load_opts *opts,
    struct pf_diags *diags)
{
	struct wf_load_opts o;
	struct pf_workflow *wf;
	struct pf_diags	 none;
	struct stat	 st;
	unsigned char	*buf = NULL, *nb;
	size_t		 cap, len = 0;
	ssize_t		 r;
	int		 fd;

	opts_fill(&o, opts);
	pf_diags_init(&none);
	if (diags == NULL)
		diags = &none;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) ==
	    -1) {
		pf_diags_add(diags, PF_SEV_ERROR, path, 0, 0, "cannot open: %s",
		    strerror(errno));
		goto fail;
	}
	if (fstat(fd, &st) == -1) {
		pf_diags_add(diags, PF_SEV_ERROR, path, 0, 0, "cannot stat: %s",
		    strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		pf_diags_add(diags, PF_SEV_ERROR, path, 0, 0, "%s",
		    S_ISDIR(st.st_mode) ? "is a directory, not a workflow file" :
		    "is not a regular file");
		goto fail;
	}
	if (st.st_size < 0 || (unsigned long long)st.st_size > o.max_bytes) {
		pf_diags_add(diags, PF_SEV_ERROR, path, 1, 1, "the file is %lld "
		    "bytes; the limit is %zu bytes", (long long)st.st_size,
		    o.max_bytes);
		goto fail;
	}
	/* Read to the end even if the file grew, never past the limit. */
	cap = (size_t)st.st_size + 1;
	for (;;) {
		if (len == cap || buf == NULL) {
			if (buf != NULL)
				cap = cap > o.max_bytes / 2 ? o.max_bytes + 1 :
				    cap * 2;
			if ((nb = pf_reallocarray(buf, cap, 1)) == NULL) {
				pf_diags_add(diags, PF_SEV_ERROR, path, 0, 0,
				    "out of memory reading the file");
				goto fail;
			}
			buf = nb;
		}
		r = read(fd, buf + len, cap - len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			pf_diags_add(diags, PF_SEV_ERROR, path, 0, 0,
			    "cannot read: %s", strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len > o.max_bytes) {
			pf_diags_add(diags, PF_SEV_ERROR, path, 1, 1, "the file "
			    "is more than %zu bytes", o.max_bytes);
			goto fail;
		}
	}
	close(fd);
	wf = workflow_load_buf(path, buf, len, &o, diags);
	pf_free(buf);
	pf_diags_free(&none);
	return wf;
fail:
	if (fd != -1)
		close(fd);
	pf_free(buf);
	pf_diags_free(&none);
	return NULL;
}
