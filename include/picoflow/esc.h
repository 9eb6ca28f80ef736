/*
 * One escaping of untrusted text for humans: log lines and the command
 * line's text output.  Whatever a workflow or a task wrote must not
 * drive a terminal (C0 and C1 controls, ESC sequences), reorder what a
 * reader sees (the bidirectional controls U+200E/F, U+202A-E, U+2066-9)
 * or break out of the quotes a value is shown in.
 *
 *   C0, DEL          \xNN (\n and \t as they are with ESC_KEEP_NL, else
 *                    as \n and \t)
 *   C1 (U+0080-9F)   \u0080 .. \u009f
 *   bidi controls    \u200e, \u202e, ...
 *   invalid UTF-8    \xNN per byte (a lone 0x9b is CSI to some terminals)
 *   ' " \            \' \" \\   only with ESC_QUOTES
 *
 * JSON output keeps its own escaping (json.h), which uses esc_hidden()
 * to write the same code points as \uXXXX.
 */
#ifndef PICOFLOW_ESC_H
#define PICOFLOW_ESC_H

#include <stddef.h>
#include <stdint.h>

#include "picoflow/buf.h"

#define ESC_QUOTES	0x01	/* ' " and \ get a backslash */
#define ESC_KEEP_NL	0x02	/* \n and \t pass: multi-line text */

/* 1 when cp is a C1 control or a bidirectional formatting control. */
int	 esc_hidden(uint32_t cp);
/* Appends s[0..len) escaped; -1 when b failed (sticky in b->failed). */
int	 esc_add(struct pf_buf *b, const void *s, size_t len, unsigned flags);
/*
 * s escaped into dst (NUL-terminated); cut at a whole escape and ended
 * with "..." when it does not fit.  NULL prints as "(null)".  Returns dst.
 */
char	*esc_str(char *dst, size_t dstlen, const char *s, unsigned flags);

#endif
