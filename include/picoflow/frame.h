/*
 * The one framing used on every pipe and socket (worker <-> supervisor,
 * CLI <-> supervisor, pf-web <-> supervisor).  docs/protocol.md is the
 * reference for peers; this header is the C interface.
 *
 * A frame is an 8-byte header followed by a payload:
 *
 *	u32 payload_len  u8 version (1)  u8 type  u16 flags
 *
 * all little-endian.  The payload is a sequence of fields
 *
 *	u16 tag  u32 len  len bytes
 *
 * Every length is checked against a hard limit before anything is
 * buffered or allocated, and every read is bounds-checked: bytes from a
 * peer are hostile until proven otherwise.
 */
#ifndef PICOFLOW_FRAME_H
#define PICOFLOW_FRAME_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "picoflow/buf.h"
#include "picoflow/err.h"

#define FRAME_VERSION		1
#define FRAME_HDR_LEN		8
#define FRAME_FIELD_HDR_LEN	6
#define FRAME_PAYLOAD_MAX	(64 * 1024)	/* bytes, per frame */
#define FRAME_FIELDS_MAX	1024		/* fields, per frame */

/*
 * Flag bits.  MORE: this frame's payload continues in the next frame of
 * the same type (a message larger than one frame; see frame_msg_encode).
 * Every other bit is reserved, must be 0, and is rejected when set: a
 * flag may change the meaning of a frame, so it cannot be ignored.
 */
#define FRAME_F_MORE		0x0001
#define FRAME_F_KNOWN		FRAME_F_MORE

/* One decoded frame; payload points into the reader's buffer. */
struct frame {
	uint8_t		 type;
	uint16_t	 flags;
	const uint8_t	*payload;
	size_t		 len;
};

/*
 * Encoder.  A struct pf_buf holds one frame while it is built:
 * frame_begin() resets the buffer and writes a header, frame_add_*()
 * append fields, frame_end() patches payload_len.  An add that would take
 * the payload past FRAME_PAYLOAD_MAX fails (errno EMSGSIZE) and the
 * failure is sticky, so a sequence of adds can be checked once at
 * frame_end().  The frame_add_*() functions also work on a buffer with no
 * header (a message body to be split by frame_msg_encode); the bound is
 * then the buffer's own max.
 */
int	 frame_begin(struct pf_buf *, uint8_t type);
int	 frame_add_u8(struct pf_buf *, uint16_t tag, uint8_t);
int	 frame_add_u32(struct pf_buf *, uint16_t tag, uint32_t);
int	 frame_add_u64(struct pf_buf *, uint16_t tag, uint64_t);
int	 frame_add_bytes(struct pf_buf *, uint16_t tag, const void *, size_t);
int	 frame_add_str(struct pf_buf *, uint16_t tag, const char *);
int	 frame_end(struct pf_buf *);

/* Appends one complete frame (header + payload) to out. */
int	 frame_append(struct pf_buf *out, uint8_t type, uint16_t flags,
	    const void *payload, size_t len);
/*
 * Appends a message body of any length to out as frames of `type`: every
 * frame but the last carries FRAME_F_MORE and a full FRAME_PAYLOAD_MAX
 * payload.  A body of 0 bytes is one empty frame.
 */
int	 frame_msg_encode(struct pf_buf *out, uint8_t type, const void *body,
	    size_t len);

/*
 * Streaming reader for one byte stream (blocking or not).  It buffers at
 * most one frame: the buffer grows to the size of the frame being read
 * (never beyond FRAME_HDR_LEN + max_payload), and payload_len is checked
 * against the channel maximum as soon as the header is complete, before
 * the payload is buffered.  Errors are sticky: once the stream broke the
 * protocol, every later call fails with the same message.
 *
 * Drive it with frame_reader_read() on a readable fd (poll, libev) or
 * frame_reader_feed() with bytes from elsewhere, then call
 * frame_reader_next() until it returns 0 before reading again.  A frame
 * returned by frame_reader_next() stays valid until the next call on the
 * reader.
 */
struct frame_reader {
	uint8_t		*buf;
	size_t		 cap;		/* allocated */
	size_t		 off;		/* start of unconsumed bytes */
	size_t		 len;		/* end of buffered bytes */
	size_t		 max_payload;	/* the channel's maximum */
	size_t		 pending;	/* bytes of the frame last returned */
	int		 eof;
	int		 failed;
	struct pf_err	 err;
};

/* max_payload: 1..FRAME_PAYLOAD_MAX (0 = FRAME_PAYLOAD_MAX). */
void	 frame_reader_init(struct frame_reader *, size_t max_payload);
void	 frame_reader_free(struct frame_reader *);
/*
 * One read(2) into the buffer.  Returns the bytes read, 0 at end of
 * stream (then frame_reader_next reports a truncated frame if one was in
 * progress), or -1 with errno (EAGAIN/EINTR: try later; ENOMEM: the
 * buffer could not grow; ENOBUFS: a frame is waiting for
 * frame_reader_next).
 */
ssize_t	 frame_reader_read(struct frame_reader *, int fd);
/*
 * Copies bytes in; returns how many were taken (at most what the current
 * frame still needs, or what fits in the buffer already allocated).  The
 * caller feeds the rest after draining frame_reader_next().  Returns 0
 * when nothing could be taken (allocation failure sets the sticky
 * error).
 */
size_t	 frame_reader_feed(struct frame_reader *, const void *, size_t);
/* Marks the end of the stream for feed()-driven readers. */
void	 frame_reader_feed_eof(struct frame_reader *);
/*
 * 1: *f holds the next frame.  0: more bytes are needed (or the stream
 * ended cleanly: see frame_reader_done).  -1: the stream broke the
 * protocol; err (and the reader's own err) says how.
 */
int	 frame_reader_next(struct frame_reader *, struct frame *,
	    struct pf_err *);
/* True at a clean end of stream: EOF seen and no partial frame left. */
int	 frame_reader_done(const struct frame_reader *);

/*
 * Reassembles a message sent with frame_msg_encode: frames of one type,
 * all but the last flagged FRAME_F_MORE, total payload at most `max`
 * bytes (checked before each frame is appended).
 */
struct frame_asm {
	struct pf_buf	 body;
	size_t		 max;
	uint8_t		 type;		/* 0 = no message in progress */
	size_t		 nframes;
};

void	 frame_asm_init(struct frame_asm *, size_t max);
void	 frame_asm_free(struct frame_asm *);
/* Forgets a completed (or failed) message and keeps the buffer. */
void	 frame_asm_reset(struct frame_asm *);
/*
 * 1: the message is complete in a->body (type a->type).  0: more frames
 * are needed.  -1: a frame of another type interrupted the message, the
 * total exceeded max, or memory ran out.
 */
int	 frame_asm_add(struct frame_asm *, const struct frame *,
	    struct pf_err *);

/*
 * Field iterator over one payload (or one reassembled message body).
 * The field data points into the payload.
 */
struct frame_field {
	uint16_t	 tag;
	uint32_t	 len;
	const uint8_t	*data;
};

struct frame_iter {
	struct pf_rbuf	 r;
	size_t		 nfields;
	size_t		 max_fields;
};

void	 frame_iter_init(struct frame_iter *, const void *payload, size_t len,
	    size_t max_fields);
/*
 * 1: *fld is the next field.  0: end of payload.  -1: a field header or
 * value runs past the end of the payload, or there are more than
 * max_fields fields.
 */
int	 frame_iter_next(struct frame_iter *, struct frame_field *,
	    struct pf_err *);

/*
 * Typed getters: each checks that the field has exactly the size of its
 * type (the EBADMSG rule) and fails with a message naming the tag.
 * frame_field_str copies into a NUL-terminated string and rejects
 * embedded NUL bytes and strings longer than max bytes.
 */
int	 frame_field_u8(const struct frame_field *, uint8_t *,
	    struct pf_err *);
int	 frame_field_u16(const struct frame_field *, uint16_t *,
	    struct pf_err *);
int	 frame_field_u32(const struct frame_field *, uint32_t *,
	    struct pf_err *);
int	 frame_field_u64(const struct frame_field *, uint64_t *,
	    struct pf_err *);
int	 frame_field_str(const struct frame_field *, size_t max, char **,
	    struct pf_err *);

#endif
