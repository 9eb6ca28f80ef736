/*
 * Building the YAML node tree from libyaml's events: anchors in an
 * open-addressing table, aliases shared by reference, tags checked, and
 * every node counting the nodes and bytes it stands for once expanded, so
 * that an alias bomb is refused early and in bounded memory.
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
int
yt_tree_build(struct ytree *y, const unsigned char *buf, size_t len)
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
