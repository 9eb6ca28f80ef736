/*
 * The frame codec: encoder, streaming reader, multi-frame reassembly and
 * the field iterator.  See include/picoflow/frame.h and docs/protocol.md.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "picoflow/alloc.h"
#include "picoflow/buf.h"
#include "picoflow/err.h"
#include "picoflow/frame.h"

/*
 * Smallest reader buffer: lets one read(2) pick up several small frames
 * without growing to the channel maximum.
 */
#define READER_MIN_CAP	4096

int
frame_begin(struct pf_buf *b, uint8_t type)
{
	uint8_t	 hdr[FRAME_HDR_LEN];

	buf_reset(b);
	/* The buffer holds exactly one frame from here to frame_end(). */
	b->max = FRAME_HDR_LEN + FRAME_PAYLOAD_MAX;
	le32_put(hdr, 0);
	hdr[4] = FRAME_VERSION;
	hdr[5] = type;
	le16_put(hdr + 6, 0);
	return buf_add(b, hdr, sizeof(hdr));
}

int
frame_add_bytes(struct pf_buf *b, uint16_t tag, const void *p, size_t n)
{
	uint8_t	 hdr[FRAME_FIELD_HDR_LEN];

	if (b->failed)
		return -1;
	if (n > UINT32_MAX || (b->max && (b->len > b->max ||
	    b->max - b->len < FRAME_FIELD_HDR_LEN ||
	    n > b->max - b->len - FRAME_FIELD_HDR_LEN))) {
		b->failed = 1;
		errno = EMSGSIZE;
		return -1;
	}
	le16_put(hdr, tag);
	le32_put(hdr + 2, (uint32_t)n);
	if (buf_reserve(b, sizeof(hdr) + n) == -1)
		return -1;
	buf_add(b, hdr, sizeof(hdr));
	return buf_add(b, p, n);
}

int
frame_add_u8(struct pf_buf *b, uint16_t tag, uint8_t v)
{
	return frame_add_bytes(b, tag, &v, 1);
}

int
frame_add_u32(struct pf_buf *b, uint16_t tag, uint32_t v)
{
	uint8_t	 t[4];

	le32_put(t, v);
	return frame_add_bytes(b, tag, t, sizeof(t));
}

int
frame_add_u64(struct pf_buf *b, uint16_t tag, uint64_t v)
{
	uint8_t	 t[8];

	le64_put(t, v);
	return frame_add_bytes(b, tag, t, sizeof(t));
}

int
frame_add_str(struct pf_buf *b, uint16_t tag, const char *s)
{
	return frame_add_bytes(b, tag, s, strlen(s));
}

int
frame_end(struct pf_buf *b)
{
	size_t	 plen;

	if (b->failed)
		return -1;
	if (b->len < FRAME_HDR_LEN || b->data[4] != FRAME_VERSION) {
		/* frame_begin() was not called on this buffer. */
		errno = EINVAL;
		return -1;
	}
	plen = b->len - FRAME_HDR_LEN;
	if (plen > FRAME_PAYLOAD_MAX) {
		b->failed = 1;
		errno = EMSGSIZE;
		return -1;
	}
	le32_put(b->data, (uint32_t)plen);
	return 0;
}

int
frame_append(struct pf_buf *out, uint8_t type, uint16_t flags,
    const void *payload, size_t len)
{
	uint8_t	 hdr[FRAME_HDR_LEN];

	if (len > FRAME_PAYLOAD_MAX) {
		errno = EMSGSIZE;
		return -1;
	}
	if (buf_reserve(out, sizeof(hdr) + len) == -1)
		return -1;
	le32_put(hdr, (uint32_t)len);
	hdr[4] = FRAME_VERSION;
	hdr[5] = type;
	le16_put(hdr + 6, flags);
	buf_add(out, hdr, sizeof(hdr));
	return buf_add(out, payload, len);
}

int
frame_msg_encode(struct pf_buf *out, uint8_t type, const void *body,
    size_t len)
{
	const uint8_t	*p = body;
	size_t		 n;

	do {
		n = len > FRAME_PAYLOAD_MAX ? FRAME_PAYLOAD_MAX : len;
		if (frame_append(out, type, len > n ? FRAME_F_MORE : 0, p,
		    n) == -1)
			return -1;
		p += n;
		len -= n;
	} while (len > 0);
	return 0;
}

void
frame_reader_init(struct frame_reader *r, size_t max_payload)
{
	memset(r, 0, sizeof(*r));
	if (max_payload == 0 || max_payload > FRAME_PAYLOAD_MAX)
		max_payload = FRAME_PAYLOAD_MAX;
	r->max_payload = max_payload;
}

void
frame_reader_free(struct frame_reader *r)
{
	pf_free(r->buf);
	r->buf = NULL;
	r->cap = r->off = r->len = r->pending = 0;
}

static int
reader_fail(struct frame_reader *r, struct pf_err *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
reader_fail(struct frame_reader *r, struct pf_err *err, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	(void)vsnprintf(r->err.msg, sizeof(r->err.msg), fmt, ap);
	va_end(ap);
	r->failed = 1;
	if (err != NULL)
		*err = r->err;
	return -1;
}

/* Drops the frame handed out by the last frame_reader_next(). */
static void
reader_drop_pending(struct frame_reader *r)
{
	r->off += r->pending;
	r->pending = 0;
	if (r->off == r->len)
		r->off = r->len = 0;
}

/*
 * Checks the header at r->off (FRAME_HDR_LEN bytes must be buffered) and
 * returns the announced payload length, or -1 with the reader failed.
 */
static long
reader_check_hdr(struct frame_reader *r, struct pf_err *err)
{
	const uint8_t	*h = r->buf + r->off;
	uint32_t	 plen = le32_get(h);
	uint16_t	 flags = le16_get(h + 6);

	if (h[4] != FRAME_VERSION)
		return reader_fail(r, err, "frame version %u not supported "
		    "(this end speaks version %u)", h[4], FRAME_VERSION);
	if (h[5] == 0)
		return reader_fail(r, err, "frame type 0 is reserved");
	if (flags & ~FRAME_F_KNOWN)
		return reader_fail(r, err, "frame of type %u has unknown "
		    "flags 0x%04x", h[5], flags & ~FRAME_F_KNOWN);
	if (plen > r->max_payload)
		return reader_fail(r, err, "frame of type %u announces %u "
		    "payload bytes, over this channel's limit of %zu", h[5],
		    plen, r->max_payload);
	return (long)plen;
}

/*
 * Bytes still missing from the frame at r->off (only the header's, while
 * it is incomplete); 0 when a whole frame is buffered; -1 when the header
 * is bad.
 */
static long
reader_want(struct frame_reader *r, struct pf_err *err)
{
	size_t	 avail = r->len - r->off;
	long	 plen;

	if (avail < FRAME_HDR_LEN)
		return (long)(FRAME_HDR_LEN - avail);
	if ((plen = reader_check_hdr(r, err)) == -1)
		return -1;
	if (avail >= FRAME_HDR_LEN + (size_t)plen)
		return 0;
	return (long)(FRAME_HDR_LEN + (size_t)plen - avail);
}

/*
 * Makes room for at least `want` more bytes and returns the free space.
 * The buffer only grows to the size of the frame being read.
 */
static size_t
reader_room(struct frame_reader *r, size_t want)
{
	size_t	 need, ncap;
	uint8_t	*nb;

	if (r->off > 0) {
		memmove(r->buf, r->buf + r->off, r->len - r->off);
		r->len -= r->off;
		r->off = 0;
	}
	if (r->cap - r->len >= want)
		return r->cap - r->len;
	need = r->len + want;	/* at most FRAME_HDR_LEN + max_payload */
	ncap = need < READER_MIN_CAP ? READER_MIN_CAP : need;
	if ((nb = pf_reallocarray(r->buf, ncap, 1)) == NULL)
		return 0;
	r->buf = nb;
	r->cap = ncap;
	return r->cap - r->len;
}

ssize_t
frame_reader_read(struct frame_reader *r, int fd)
{
	long	 want;
	size_t	 room;
	ssize_t	 n;

	if (r->failed) {
		errno = EPROTO;
		return -1;
	}
	reader_drop_pending(r);
	if ((want = reader_want(r, NULL)) == -1) {
		errno = EPROTO;
		return -1;
	}
	if (want == 0) {
		errno = ENOBUFS;
		return -1;
	}
	if ((room = reader_room(r, (size_t)want)) == 0) {
		errno = ENOMEM;
		return -1;
	}
	if ((n = read(fd, r->buf + r->len, room)) == -1)
		return -1;
	if (n == 0)
		r->eof = 1;
	r->len += (size_t)n;
	return n;
}

size_t
frame_reader_feed(struct frame_reader *r, const void *p, size_t n)
{
	long	 want;
	size_t	 room;

	if (r->failed || n == 0)
		return 0;
	reader_drop_pending(r);
	if ((want = reader_want(r, NULL)) <= 0)
		return 0;
	if ((room = reader_room(r, (size_t)want)) == 0) {
		reader_fail(r, NULL, "out of memory buffering a frame");
		return 0;
	}
	if (n > room)
		n = room;
	memcpy(r->buf + r->len, p, n);
	r->len += n;
	return n;
}

void
frame_reader_feed_eof(struct frame_reader *r)
{
	r->eof = 1;
}

int
frame_reader_next(struct frame_reader *r, struct frame *f, struct pf_err *err)
{
	size_t	 avail;
	long	 plen;

	if (r->failed) {
		if (err != NULL)
			*err = r->err;
		return -1;
	}
	reader_drop_pending(r);
	avail = r->len - r->off;
	if (avail < FRAME_HDR_LEN) {
		if (r->eof && avail > 0)
			return reader_fail(r, err, "truncated frame header: "
			    "the stream ended after %zu of %d bytes", avail,
			    FRAME_HDR_LEN);
		return 0;
	}
	if ((plen = reader_check_hdr(r, err)) == -1)
		return -1;
	if (avail - FRAME_HDR_LEN < (size_t)plen) {
		if (r->eof)
			return reader_fail(r, err, "truncated frame: type %u "
			    "announces %ld payload bytes, the stream ended "
			    "after %zu", r->buf[r->off + 5], plen,
			    avail - FRAME_HDR_LEN);
		return 0;
	}
	f->type = r->buf[r->off + 5];
	f->flags = le16_get(r->buf + r->off + 6);
	f->payload = r->buf + r->off + FRAME_HDR_LEN;
	f->len = (size_t)plen;
	r->pending = FRAME_HDR_LEN + (size_t)plen;
	return 1;
}

int
frame_reader_done(const struct frame_reader *r)
{
	return r->eof && !r->failed && r->len - r->off == r->pending;
}

void
frame_asm_init(struct frame_asm *a, size_t max)
{
	memset(a, 0, sizeof(*a));
	buf_init(&a->body, max);
	a->max = max;
}

void
frame_asm_free(struct frame_asm *a)
{
	buf_free(&a->body);
	a->type = 0;
	a->nframes = 0;
}

void
frame_asm_reset(struct frame_asm *a)
{
	buf_reset(&a->body);
	a->type = 0;
	a->nframes = 0;
}

int
frame_asm_add(struct frame_asm *a, const struct frame *f, struct pf_err *err)
{
	if (a->type == 0) {
		frame_asm_reset(a);
		a->type = f->type;
	} else if (f->type != a->type) {
		pf_err_set(err, "a frame of type %u arrived in the middle of "
		    "a message of type %u (frame %zu)", f->type, a->type,
		    a->nframes + 1);
		goto fail;
	}
	/* An empty continuation frame would let a peer spin forever. */
	if ((f->flags & FRAME_F_MORE) && f->len == 0) {
		pf_err_set(err, "empty frame of type %u flagged as continued",
		    f->type);
		goto fail;
	}
	if (f->len > a->max - a->body.len) {
		pf_err_set(err, "message of type %u exceeds the limit of %zu "
		    "bytes (frame %zu)", f->type, a->max, a->nframes + 1);
		goto fail;
	}
	if (buf_add(&a->body, f->payload, f->len) == -1) {
		pf_err_set(err, "out of memory reassembling a message of "
		    "type %u", f->type);
		goto fail;
	}
	a->nframes++;
	return (f->flags & FRAME_F_MORE) ? 0 : 1;
fail:
	frame_asm_reset(a);
	return -1;
}

void
frame_iter_init(struct frame_iter *it, const void *payload, size_t len,
    size_t max_fields)
{
	rbuf_init(&it->r, payload, len);
	it->nfields = 0;
	it->max_fields = max_fields;
}

int
frame_iter_next(struct frame_iter *it, struct frame_field *fld,
    struct pf_err *err)
{
	size_t	 left = rbuf_left(&it->r);

	if (left == 0)
		return 0;
	if (it->nfields >= it->max_fields) {
		pf_err_set(err, "more than %zu fields", it->max_fields);
		return -1;
	}
	if (left < FRAME_FIELD_HDR_LEN) {
		pf_err_set(err, "truncated field header: %zu bytes left, a "
		    "field header needs %d", left, FRAME_FIELD_HDR_LEN);
		return -1;
	}
	rbuf_get_u16(&it->r, &fld->tag);
	rbuf_get_u32(&it->r, &fld->len);
	if (rbuf_get_ptr(&it->r, &fld->data, fld->len) == -1) {
		pf_err_set(err, "truncated field: tag %u announces %u bytes, "
		    "%zu left", fld->tag, fld->len, left - FRAME_FIELD_HDR_LEN);
		return -1;
	}
	it->nfields++;
	return 1;
}

static int
field_fixed(const struct frame_field *fld, size_t size, const char *what,
    struct pf_err *err)
{
	if (fld->len != size) {
		pf_err_set(err, "field tag %u has %u bytes, a %s needs exactly "
		    "%zu", fld->tag, fld->len, what, size);
		return -1;
	}
	return 0;
}

int
frame_field_u8(const struct frame_field *fld, uint8_t *v, struct pf_err *err)
{
	if (field_fixed(fld, 1, "u8", err) == -1)
		return -1;
	*v = fld->data[0];
	return 0;
}

int
frame_field_u16(const struct frame_field *fld, uint16_t *v,
    struct pf_err *err)
{
	if (field_fixed(fld, 2, "u16", err) == -1)
		return -1;
	*v = le16_get(fld->data);
	return 0;
}

int
frame_field_u32(const struct frame_field *fld, uint32_t *v,
    struct pf_err *err)
{
	if (field_fixed(fld, 4, "u32", err) == -1)
		return -1;
	*v = le32_get(fld->data);
	return 0;
}

int
frame_field_u64(const struct frame_field *fld, uint64_t *v,
    struct pf_err *err)
{
	if (field_fixed(fld, 8, "u64", err) == -1)
		return -1;
	*v = le64_get(fld->data);
	return 0;
}

int
frame_field_str(const struct frame_field *fld, size_t max, char **out,
    struct pf_err *err)
{
	char	*s;

	if (fld->len > max) {
		pf_err_set(err, "field tag %u: string of %u bytes exceeds the "
		    "limit of %zu", fld->tag, fld->len, max);
		return -1;
	}
	if (fld->len > 0 && memchr(fld->data, '\0', fld->len) != NULL) {
		pf_err_set(err, "field tag %u: string contains a NUL byte",
		    fld->tag);
		return -1;
	}
	if ((s = pf_malloc((size_t)fld->len + 1)) == NULL) {
		pf_err_set(err, "out of memory");
		return -1;
	}
	if (fld->len > 0)
		memcpy(s, fld->data, fld->len);
	s[fld->len] = '\0';
	*out = s;
	return 0;
}
