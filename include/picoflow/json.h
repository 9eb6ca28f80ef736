/*
 * One JSON writer for every document picoflow prints (the commands'
 * --json output, JSON log lines).  It tracks nesting and the commas
 * between members, escapes strings one way, and reports misuse (a value
 * where a key belongs, an unbalanced end, nesting past JSON_DEPTH_MAX)
 * and out-of-memory through json_error() instead of writing bad JSON.
 *
 * It writes into a caller's growing buffer (json_init: the caller may
 * flush what is there between values, as `picoflow logs` does per
 * attempt) or into a FILE (json_init_file: buffered, written out by
 * json_flush and json_close).
 *
 * Strings, from arbitrary bytes (embedded NULs included, with the _n
 * forms):
 *   " \ \n \r \t     \" \\ \n \r \t
 *   other C0, DEL    \u0000 .. \u001f, \u007f
 *   C1, bidi         \u0080 .. \u009f, \u200e, \u202e, ... (esc_hidden():
 *                    valid JSON anyway, but a terminal must not obey them)
 *   invalid UTF-8    \ufffd per byte, so the document always parses
 * Keys are literals of the program and are written as they are.
 */
#ifndef PICOFLOW_JSON_H
#define PICOFLOW_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "picoflow/buf.h"

#define JSON_DEPTH_MAX	32

struct pf_json {
	struct pf_buf	*b;		/* where the text goes */
	struct pf_buf	 own;		/* b for json_init_file */
	FILE		*fp;		/* NULL: the caller's buffer */
	unsigned	 depth;
	uint32_t	 in_obj;	/* bit d: level d+1 is an object */
	uint32_t	 nonempty;	/* bit d: level d+1 has a member */
	int		 want_value;	/* a key was written */
	int		 err;		/* sticky: misuse or a write failed */
};

void	 json_init(struct pf_json *, struct pf_buf *);
void	 json_init_file(struct pf_json *, FILE *);

void	 json_obj_begin(struct pf_json *);
void	 json_obj_end(struct pf_json *);
void	 json_arr_begin(struct pf_json *);
void	 json_arr_end(struct pf_json *);
void	 json_key(struct pf_json *, const char *key);

/* Values.  json_str(NULL) writes null. */
void	 json_str(struct pf_json *, const char *);
void	 json_str_n(struct pf_json *, const void *, size_t);
void	 json_i64(struct pf_json *, int64_t);
void	 json_u64(struct pf_json *, uint64_t);
/* A number with a fixed number of decimals (%.*f). */
void	 json_fixed(struct pf_json *, double, int decimals);
void	 json_bool(struct pf_json *, int);
void	 json_null(struct pf_json *);
/* A value already written as JSON by another pf_json (spliced in). */
void	 json_raw(struct pf_json *, const void *, size_t);

/* Members: json_key and a value. */
void	 json_kstr(struct pf_json *, const char *key, const char *);
void	 json_ki64(struct pf_json *, const char *key, int64_t);
void	 json_ku64(struct pf_json *, const char *key, uint64_t);
void	 json_kbool(struct pf_json *, const char *key, int);
void	 json_knull(struct pf_json *, const char *key);

/* Text outside any value (a newline after a document); depth 0 only. */
void	 json_text(struct pf_json *, const char *);

/* -1 after misuse or a failed write, else 0. */
int	 json_error(const struct pf_json *);
/* json_init_file: writes out what is buffered; -1 on any error. */
int	 json_flush(struct pf_json *);
/*
 * Ends the writer: -1 if a document is left open or anything failed.
 * json_init_file: flushes and frees the buffer.
 */
int	 json_close(struct pf_json *);

/* The string escaping alone: appends "s" to b; -1 when b failed. */
int	 json_escape(struct pf_buf *b, const void *s, size_t n);

#endif
