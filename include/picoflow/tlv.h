/*
 * The message codec both wires use (worker frames, picoflow/proto.h;
 * the control channel, picoflow/ctl.h).  A message is a C struct and a
 * table with one row per field: tag, wire kind, name, where the value
 * lives in the struct, its size and count limits, flags.  One encoder
 * and one decoder walk the tables, so every message gets the same
 * checks: exact sizes for fixed fields, singletons seen once, required
 * fields present, no NUL in strings, capped lengths and counts, nested
 * messages checked like top-level ones.  Unknown tags are skipped, so a
 * newer peer may add fields.  Fields go out in table order; the order
 * is part of the wire bytes (tests/unit/test_wire_golden.c).
 *
 * A payload is a run of fields [tag u16][len u32][value], little endian
 * (picoflow/frame.h); a repeated field is the same tag again, in order.
 */
#ifndef PICOFLOW_TLV_H
#define PICOFLOW_TLV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "picoflow/buf.h"
#include "picoflow/err.h"

enum tlv_kind {
	TLV_U8,		/* uint8_t, 1 byte */
	TLV_BOOL,	/* bool, 1 byte 0 or 1 */
	TLV_U32,	/* uint32_t, 4 bytes */
	TLV_I32,	/* int, 4 bytes two's complement */
	TLV_U64,	/* uint64_t, 8 bytes */
	TLV_I64,	/* int64_t, 8 bytes two's complement */
	TLV_TIME,	/* int64_t, 8 bytes 0..INT64_MAX; negative = not sent */
	TLV_STR,	/* char * or const char *, no NUL; NULL = not
			   sent */
	TLV_BYTES,	/* const uint8_t * + size_t, borrowed from the input */
	TLV_STRV,	/* char ** + size_t, repeated */
	TLV_I32V,	/* int * + size_t, repeated */
	TLV_KVV,	/* struct tlv_kv * + size_t, repeated: u32 keylen,
			   key, value */
	TLV_MSGV,	/* struct array + size_t, repeated: each entry a
			   nested payload of message `sub` */
};

#define TLV_REQ		0x01	/* must be present; strings/bytes non-empty */
#define TLV_POS		0x02	/* TLV_TIME: sent only when > 0 */
#define TLV_GATED	0x04	/* sent only when the message's gate is set */
#define TLV_SETS_GATE	0x08	/* decoding it sets the gate */

/* Entries of one repeated field unless its row says otherwise. */
#define TLV_REPEAT_MAX	4096
/* Rows per message: bounds the per-field counters on the stack. */
#define TLV_FIELDS_MAX	64
/* Bytes of a TLV_KVV key. */
#define TLV_KEY_MAX	256

struct tlv_kv {
	char		*key;
	char		*value;
};

struct tlv_msg;

struct tlv_field {
	uint16_t		 tag;
	uint8_t			 kind;		/* enum tlv_kind */
	uint8_t			 flags;		/* TLV_REQ ... */
	const char		*name;
	size_t			 off;		/* the value (vectors: the array) */
	size_t			 noff;		/* vectors and bytes: the count */
	size_t			 max;		/* bytes of one entry */
	size_t			 maxn;		/* entries; 0 = TLV_REPEAT_MAX */
	const struct tlv_msg	*sub;		/* TLV_MSGV: the entries' table */
};

struct tlv_msg {
	const char		*name;		/* "SPEC", "REPLY workflow" */
	const struct tlv_field	*f;
	size_t			 n;
	size_t			 max_fields;	/* fields in one payload */
	size_t			 size;		/* sizeof the struct */
	/* Defaults before decoding (TLV_MSGV entries); NULL = zeroes. */
	void			(*init)(void *);
	/*
	 * Range checks that depend on the message, run before encoding and
	 * after decoding, so a peer never receives what it must reject.
	 */
	int			(*check)(const void *, struct pf_err *);
	size_t			 gate;		/* offset of an int (TLV_GATED) */
};

/* Rows: a single field, a repeated one, a repeated nested message. */
#define TLV_F(type, tag, kind, fl, name, m, max) \
	{ tag, kind, fl, name, offsetof(type, m), 0, max, 0, NULL }
#define TLV_V(type, tag, kind, name, m, n, max, maxn) \
	{ tag, kind, 0, name, offsetof(type, m), offsetof(type, n), max, \
	  maxn, NULL }
#define TLV_M(type, tag, name, m, n, maxn, sub) \
	{ tag, TLV_MSGV, 0, name, offsetof(type, m), offsetof(type, n), 0, \
	  maxn, sub }
#define TLV_NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/*
 * Appends obj's fields to b (a frame being built or a message body),
 * after m->check.  -1 with err set ("MSG: field NAME (tag N): what").
 */
int	 tlv_encode(const struct tlv_msg *m, const void *obj, struct pf_buf *b,
	    struct pf_err *err);
/* Resets out and leaves obj in one frame of the given type. */
int	 tlv_encode_frame(const struct tlv_msg *m, uint8_t type,
	    const void *obj, struct pf_buf *out, struct pf_err *err);
/*
 * Decodes a payload into obj, which the caller initialized (defaults),
 * then runs m->check.  On failure everything allocated is freed again.
 * Strings and arrays are allocated; TLV_BYTES points into p.
 */
int	 tlv_decode(const struct tlv_msg *m, const void *p, size_t len,
	    void *obj, struct pf_err *err);
/* Frees what a decoder allocated and clears the pointers and counts. */
void	 tlv_free(const struct tlv_msg *m, void *obj);

/* Sets err to "MSG: field NAME (tag N): what" or "MSG: what"; -1. */
int	 tlv_err(struct pf_err *err, const struct tlv_msg *m,
	    const struct tlv_field *d, const char *fmt, ...)
	    __attribute__((format(printf, 4, 5)));

#endif
