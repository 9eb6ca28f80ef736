/*
 * The YAML node tree shared by the configuration loaders (workflows in
 * workflow_load*.c, the policy file in policy*.c).  Internal to common/.
 *
 * libyaml's event stream becomes a tree of nodes that know their
 * position; anchors are shared by reference and every node knows how many
 * nodes and scalar bytes it stands for once aliases are expanded, so a
 * "billion laughs" document is refused after a few events and in bounded
 * memory.  The typed getters below report problems as file:line:column
 * diagnostics and never stop at the first one.
 */
#ifndef PICOFLOW_YTREE_H
#define PICOFLOW_YTREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "picoflow/err.h"

#define YT_SIZE_LIMIT_MAX	(1LL << 40)	/* 1 TiB: sizes in K/M/G */
#define YT_CPU_MILLI_MAX	(1024 * 1000)	/* thousandths of a core */
/* Expanded scalar bytes allowed per byte of input (aliases copy text). */
#define YT_EXPAND_FACTOR	8

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

struct yt_arena_chunk;
struct yt_anchor;

struct yt_arena {
	struct yt_arena_chunk *head;
};

/* One document being read. */
struct ytree {
	const char	*file;		/* label in messages */
	const char	*what;		/* "workflow", "policy": in messages */
	struct pf_diags	*diags;
	size_t		 max_depth;	/* nesting */
	size_t		 max_nodes;	/* incl. alias expansion */
	size_t		 max_expand;	/* scalar bytes once expanded */
	struct yt_arena	 arena;		/* nodes, text, anchors */
	struct ynode	*root;
	struct yt_anchor *anch;		/* open-addressing hash table */
	size_t		 nanch, capanch;
	size_t		 nnodes;
	int		 oom;
	int		 failed;	/* an error was reported */
	char		 show[2][96];	/* yt_shown() buffers, used in turn */
	int		 showi;
};

/*
 * Refuses oversized, UTF-16 and NUL-containing input, then builds the
 * tree (y->root; NULL for an empty stream).  -1 after reporting why (or
 * with y->oom set).  The caller fills file, what, diags and the caps
 * first; yt_free releases the tree.
 */
int	 yt_parse(struct ytree *, const unsigned char *buf, size_t len,
	    size_t max_bytes);
void	 yt_free(struct ytree *);
/*
 * Reads a regular file of at most max_bytes into *buf (pf_free it).
 * -1 with the reason added to diags under `path`.
 */
int	 yt_read_file(const char *path, const char *what, size_t max_bytes,
	    struct pf_diags *, unsigned char **buf, size_t *len);

void	 yt_diag(struct ytree *, enum pf_severity, unsigned, unsigned,
	    const char *, ...) __attribute__((format(printf, 5, 6)));
void	 yt_err(struct ytree *, const struct ynode *, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
void	 yt_warn(struct ytree *, const struct ynode *, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
int	 yt_room(const struct ytree *);
void	*yt_alloc(struct ytree *, size_t);
char	*yt_strdup(struct ytree *, const char *, size_t);
void	 yt_pos_of_offset(const unsigned char *, size_t, size_t, unsigned *,
	    unsigned *);
/* Stable sort of the messages from index `from` on by position. */
void	 yt_diags_sort(struct pf_diags *, size_t from);

/* An alias's target; anything else as it is. */
static inline const struct ynode *
yt_r(const struct ynode *n)
{
	if (n != NULL && n->kind == YN_ALIAS)
		return n->target;
	return n;
}

const char *yt_kind_name(const struct ynode *);
int	 yt_is_null(const struct ynode *);
const char *yt_shown_text(struct ytree *, const char *, size_t);
const char *yt_shown(struct ytree *, const struct ynode *);
uint32_t yt_hash_str(const char *);
size_t	 yt_edit_distance(const char *, const char *, size_t cap);
size_t	 yt_suggest_cap(const char *);
const char *yt_suggest(const char *, const char *const *, size_t);

/*
 * Typed getters: 1 when a value was stored, 0 when absent (no node, or
 * YAML null for an optional key), -1 after reporting an error (or with
 * y->oom set).  pfx and key name the value in messages.
 */
int	 yt_get_scalar(struct ytree *, const struct ynode *, const char *pfx,
	    const char *key, int required, const struct ynode **);
int	 yt_get_str(struct ytree *, const struct ynode *, const char *pfx,
	    const char *key, int required, size_t maxlen, char **);
int	 yt_get_int(struct ytree *, const struct ynode *, const char *pfx,
	    const char *key, long long min, long long max, long long *);
int	 yt_get_bool(struct ytree *, const struct ynode *, const char *pfx,
	    const char *key, bool *);
int	 yt_get_word(struct ytree *, const struct ynode *, const char *pfx,
	    const char *key, const char *const *words, size_t n, int *);
int	 yt_get_list(struct ytree *, const struct ynode *, const char *pfx,
	    const char *key, size_t maxn, const struct ynode **);
/* paths=1: absolute paths without "..". */
int	 yt_get_strlist(struct ytree *, const struct ynode *, const char *pfx,
	    const char *key, size_t maxn, size_t maxlen, int paths, char ***,
	    size_t *);
/* Bytes with an optional K, M or G suffix, min..1T. */
int	 yt_get_size(struct ytree *, const struct ynode *, const char *pfx,
	    const char *key, long long min, long long *);
/* Known keys of a mapping: vals[i]/keys[i]; unknown ones reported. */
void	 yt_map_collect(struct ytree *, const struct ynode *map,
	    const char *const *names, size_t n, const char *where,
	    const struct ynode **vals, const struct ynode **keys);
/* Duplicate and non-scalar keys of a free-form mapping. */
int	 yt_map_check_keys(struct ytree *, const struct ynode *,
	    const char *where);

int	 yt_has_control(const char *, size_t);
int	 yt_has_control_but_tab(const char *, size_t);
/* NULL when s is an absolute path without "..", else why not. */
const char *yt_abs_path_problem(const char *);
/* 0, -1 not a size, -2 beyond 1T. */
int	 yt_parse_size(const char *, long long *);
/* Seconds, with an optional unit s, m, h, d or w: 0, -1, -2 beyond max. */
int	 yt_parse_duration(const char *, long long max, long long *);
/* 0, -1 not a number, -2 too large, -3 more than 3 decimals. */
int	 yt_parse_cpu(const char *, long long *);

#endif
