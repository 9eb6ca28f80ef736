/*
 * The YAML node tree's private header, shared by common/ytree*.c and by
 * nothing else (the loaders use ytree.h): the arena's chunks, the anchor
 * table's slots, and the helpers the files share.
 *
 * The files:
 *  - ytree.c        the arena, messages with positions, parsing a
 *                   document and freeing it;
 *  - ytree_build.c  libyaml's events to nodes: anchors and aliases,
 *                   tags, the node and byte budgets;
 *  - ytree_get.c    typed getters (scalar, string, int, bool, word,
 *                   size, list) and mapping key checks;
 *  - ytree_text.c   suggestions for misspelt names and text rules:
 *                   control characters, paths, sizes, durations, cpu.
 */
#ifndef PICOFLOW_YTREE_INT_H
#define PICOFLOW_YTREE_INT_H

#include <stddef.h>

#include "ytree.h"

#define ARENA_CHUNK	(64 * 1024)

struct yt_arena_chunk {
	struct yt_arena_chunk *next;
	size_t		 used;
	size_t		 cap;
	unsigned char	 data[];
};

struct yt_anchor {
	const char	*name;
	struct ynode	*node;
};

/* ytree_build.c */
int	 yt_tree_build(struct ytree *y, const unsigned char *buf, size_t len);

#endif
