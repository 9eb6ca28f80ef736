/*
 * The frame codec: exact wire bytes, limits at and past their boundary,
 * every way a stream can break the protocol, allocation failures, and
 * the fuzz corpus replayed so a crash once found stays found.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "picoflow/alloc.h"
#include "picoflow/buf.h"
#include "picoflow/frame.h"
#include "picoflow/proto.h"
#include "../lib/fuzz_targets.h"

/* A raw header, for frames no encoder would produce. */
static void
put_hdr(uint8_t *h, uint32_t len, uint8_t version, uint8_t type,
    uint16_t flags)
{
	le32_put(h, len);
	h[4] = version;
	h[5] = type;
	le16_put(h + 6, flags);
}

/* Feeds everything; returns the frames seen, -1 on a protocol error. */
static int
feed_all(struct frame_reader *r, const uint8_t *p, size_t n, size_t step,
    struct pf_err *err)
{
	struct frame	 f;
	size_t		 k;
	int		 rc, nframes = 0;

	while (n > 0) {
		k = frame_reader_feed(r, p, n < step ? n : step);
		p += k;
		n -= k;
		while ((rc = frame_reader_next(r, &f, err)) == 1)
			nframes++;
		if (rc == -1)
			return -1;
		cr_assert(k > 0 || n == 0, "feed made no progress");
	}
	return nframes;
}

Test(frame, encoder_writes_exact_bytes)
{
	struct pf_buf	 b;
	static const uint8_t want[] = {
		25, 0, 0, 0, 1, 3, 0, 0,		/* header */
		7, 0, 4, 0, 0, 0, 0x78, 0x56, 0x34, 0x12,	/* u32 */
		0x00, 0x01, 2, 0, 0, 0, 'h', 'i',	/* str, tag 256 */
		9, 0, 1, 0, 0, 0, 0xff,			/* u8 */
	};

	buf_init(&b, 0);
	cr_assert_eq(frame_begin(&b, 3), 0);
	cr_assert_eq(frame_add_u32(&b, 7, 0x12345678), 0);
	cr_assert_eq(frame_add_str(&b, 256, "hi"), 0);
	cr_assert_eq(frame_add_u8(&b, 9, 0xff), 0);
	cr_assert_eq(frame_end(&b), 0);
	cr_assert_eq(b.len, sizeof(want));
	cr_assert_arr_eq(b.data, want, sizeof(want));
	buf_free(&b);
}

Test(frame, u64_is_little_endian)
{
	struct pf_buf	 b;
	static const uint8_t want[] = { 1, 0, 8, 0, 0, 0,
	    8, 7, 6, 5, 4, 3, 2, 1 };

	buf_init(&b, 0);
	frame_begin(&b, 1);
	cr_assert_eq(frame_add_u64(&b, 1, 0x0102030405060708ULL), 0);
	cr_assert_eq(frame_end(&b), 0);
	cr_assert_eq(le32_get(b.data), sizeof(want));
	cr_assert_arr_eq(b.data + FRAME_HDR_LEN, want, sizeof(want));
	buf_free(&b);
}

Test(frame, payload_limit_boundary)
{
	struct pf_buf	 b;
	static uint8_t	 big[FRAME_PAYLOAD_MAX];

	buf_init(&b, 0);
	/* Exactly 64 KiB of payload: one field header + the rest. */
	frame_begin(&b, 1);
	cr_assert_eq(frame_add_bytes(&b, 1, big,
	    FRAME_PAYLOAD_MAX - FRAME_FIELD_HDR_LEN), 0);
	cr_assert_eq(frame_end(&b), 0);
	cr_assert_eq(le32_get(b.data), FRAME_PAYLOAD_MAX);

	/* One byte more fails at the add, and the failure is sticky. */
	frame_begin(&b, 1);
	errno = 0;
	cr_assert_eq(frame_add_bytes(&b, 1, big,
	    FRAME_PAYLOAD_MAX - FRAME_FIELD_HDR_LEN + 1), -1);
	cr_assert_eq(errno, EMSGSIZE);
	cr_assert_eq(frame_add_u8(&b, 2, 0), -1, "failure must be sticky");
	cr_assert_eq(frame_end(&b), -1);

	/* frame_begin starts over. */
	cr_assert_eq(frame_begin(&b, 1), 0);
	cr_assert_eq(frame_end(&b), 0);
	cr_assert_eq(b.len, FRAME_HDR_LEN);
	buf_free(&b);
}

Test(frame, end_without_begin_fails)
{
	struct pf_buf	 b;

	buf_init(&b, 0);
	cr_assert_eq(frame_end(&b), -1);
	buf_add(&b, "xxxxxxxx", 8);
	cr_assert_eq(frame_end(&b), -1, "a header with version 0 is not "
	    "ours");
	buf_free(&b);
}

Test(frame, append_rejects_oversized)
{
	struct pf_buf	 b;
	static uint8_t	 big[FRAME_PAYLOAD_MAX + 1];

	buf_init(&b, 0);
	errno = 0;
	cr_assert_eq(frame_append(&b, 1, 0, big, sizeof(big)), -1);
	cr_assert_eq(errno, EMSGSIZE);
	cr_assert_eq(b.len, 0);
	cr_assert_eq(frame_append(&b, 1, 0, big, FRAME_PAYLOAD_MAX), 0);
	cr_assert_eq(b.len, FRAME_HDR_LEN + FRAME_PAYLOAD_MAX);
	buf_free(&b);
}

/* Frame sizes and flags of a message split by frame_msg_encode. */
static void
check_split(size_t len, size_t nframes)
{
	struct pf_buf	 b;
	uint8_t		*body;
	size_t		 i, off = 0, left = len, plen;

	body = pf_malloc(len ? len : 1);
	for (i = 0; i < len; i++)
		body[i] = (uint8_t)(i * 7);
	buf_init(&b, 0);
	cr_assert_eq(frame_msg_encode(&b, 9, body, len), 0);
	for (i = 0; i < nframes; i++) {
		cr_assert(off + FRAME_HDR_LEN <= b.len);
		plen = le32_get(b.data + off);
		cr_assert_eq(plen, left > FRAME_PAYLOAD_MAX ?
		    FRAME_PAYLOAD_MAX : left, "len %zu frame %zu", len, i);
		cr_assert_eq(b.data[off + 5], 9);
		cr_assert_eq(le16_get(b.data + off + 6),
		    i + 1 < nframes ? FRAME_F_MORE : 0, "len %zu frame %zu",
		    len, i);
		cr_assert_arr_eq(b.data + off + FRAME_HDR_LEN,
		    body + (len - left), plen);
		off += FRAME_HDR_LEN + plen;
		left -= plen;
	}
	cr_assert_eq(off, b.len, "len %zu: exactly %zu frames", len, nframes);
	buf_free(&b);
	pf_free(body);
}

Test(frame, msg_encode_splits_at_64k)
{
	check_split(0, 1);
	check_split(1, 1);
	check_split(FRAME_PAYLOAD_MAX, 1);
	check_split(FRAME_PAYLOAD_MAX + 1, 2);
	check_split(3 * FRAME_PAYLOAD_MAX, 3);
	check_split(3 * FRAME_PAYLOAD_MAX + 5, 4);
}

Test(frame, reader_byte_by_byte)
{
	struct pf_buf		 b, all;
	struct frame_reader	 r;
	struct frame		 f;
	struct pf_err		 err;
	size_t			 i;
	int			 got = 0, rc;

	buf_init(&b, 0);
	buf_init(&all, 0);
	for (i = 0; i < 3; i++) {
		frame_begin(&b, (uint8_t)(i + 1));
		frame_add_u32(&b, 1, (uint32_t)i);
		frame_end(&b);
		buf_add(&all, b.data, b.len);
	}
	frame_begin(&b, 4);	/* an empty frame is a frame */
	frame_end(&b);
	buf_add(&all, b.data, b.len);

	frame_reader_init(&r, 0);
	for (i = 0; i < all.len; i++) {
		cr_assert_eq(frame_reader_feed(&r, all.data + i, 1), 1);
		while ((rc = frame_reader_next(&r, &f, &err)) == 1) {
			cr_assert_eq(f.type, got + 1);
			cr_assert_eq(f.flags, 0);
			if (got < 3) {
				cr_assert_eq(f.len, 10);
				cr_assert_eq(le32_get(f.payload + 6),
				    (uint32_t)got);
			} else
				cr_assert_eq(f.len, 0);
			got++;
		}
		cr_assert_eq(rc, 0, "%s", err.msg);
	}
	cr_assert_eq(got, 4);
	cr_assert_not(frame_reader_done(&r), "no EOF seen yet");
	frame_reader_feed_eof(&r);
	cr_assert_eq(frame_reader_next(&r, &f, &err), 0);
	cr_assert(frame_reader_done(&r));
	frame_reader_free(&r);
	buf_free(&b);
	buf_free(&all);
}

Test(frame, reader_rejects_oversized_before_buffering)
{
	struct frame_reader	 r;
	struct frame		 f;
	struct pf_err		 err;
	uint8_t			 h[FRAME_HDR_LEN];

	frame_reader_init(&r, 0);
	put_hdr(h, FRAME_PAYLOAD_MAX + 1, 1, 2, 0);
	cr_assert_eq(frame_reader_feed(&r, h, sizeof(h)), sizeof(h));
	cr_assert_eq(frame_reader_next(&r, &f, &err), -1);
	cr_assert_str_eq(err.msg, "frame of type 2 announces 65537 payload "
	    "bytes, over this channel's limit of 65536");
	cr_assert_leq(r.cap, 4096, "nothing of the announced size was "
	    "allocated");
	/* Sticky: the same error again, and no more bytes are taken. */
	memset(&err, 0, sizeof(err));
	cr_assert_eq(frame_reader_next(&r, &f, &err), -1);
	cr_assert_str_eq(err.msg, r.err.msg);
	cr_assert_eq(frame_reader_feed(&r, h, sizeof(h)), 0);
	frame_reader_free(&r);

	/* 4 GiB - 1 announced. */
	frame_reader_init(&r, 0);
	put_hdr(h, UINT32_MAX, 1, 2, 0);
	feed_all(&r, h, sizeof(h), sizeof(h), &err);
	cr_assert(r.failed);
	cr_assert_leq(r.cap, 4096);
	frame_reader_free(&r);
}

Test(frame, reader_channel_limit_boundary)
{
	struct frame_reader	 r;
	struct pf_err		 err;
	struct pf_buf		 b;
	static uint8_t		 pl[100];

	buf_init(&b, 0);
	frame_append(&b, 1, 0, pl, 100);
	frame_reader_init(&r, 100);
	cr_assert_eq(feed_all(&r, b.data, b.len, 4096, &err), 1);
	frame_reader_free(&r);

	buf_reset(&b);
	frame_append(&b, 1, 0, pl, 99);
	frame_reader_init(&r, 99);
	cr_assert_eq(feed_all(&r, b.data, b.len, 4096, &err), 1);
	frame_reader_free(&r);

	buf_reset(&b);
	frame_append(&b, 1, 0, pl, 100);
	frame_reader_init(&r, 99);
	cr_assert_eq(feed_all(&r, b.data, b.len, 4096, &err), -1);
	cr_assert(strstr(err.msg, "limit of 99") != NULL, "%s", err.msg);
	frame_reader_free(&r);
	buf_free(&b);
}

/* One bad header, and the message the reader gives for it. */
static void
check_bad_header(uint32_t len, uint8_t version, uint8_t type, uint16_t flags,
    const char *msg)
{
	struct frame_reader	 r;
	struct pf_err		 err;
	uint8_t			 h[FRAME_HDR_LEN + 4] = { 0 };

	put_hdr(h, len, version, type, flags);
	frame_reader_init(&r, 0);
	cr_assert_eq(feed_all(&r, h, sizeof(h), 1, &err), -1, "%s", msg);
	cr_assert_str_eq(err.msg, msg);
	frame_reader_free(&r);
}

Test(frame, reader_rejects_bad_headers)
{
	check_bad_header(4, 0, 1, 0,
	    "frame version 0 not supported (this end speaks version 1)");
	check_bad_header(4, 2, 1, 0,
	    "frame version 2 not supported (this end speaks version 1)");
	check_bad_header(4, 1, 0, 0, "frame type 0 is reserved");
	check_bad_header(4, 1, 5, 0x0002,
	    "frame of type 5 has unknown flags 0x0002");
	check_bad_header(4, 1, 5, 0x8001,
	    "frame of type 5 has unknown flags 0x8000");
}

Test(frame, reader_reports_truncation_at_eof)
{
	struct frame_reader	 r;
	struct frame		 f;
	struct pf_err		 err;
	uint8_t			 buf[FRAME_HDR_LEN + 10];

	/* Part of a header. */
	put_hdr(buf, 10, 1, 3, 0);
	frame_reader_init(&r, 0);
	feed_all(&r, buf, 5, 5, &err);
	frame_reader_feed_eof(&r);
	cr_assert_eq(frame_reader_next(&r, &f, &err), -1);
	cr_assert_str_eq(err.msg, "truncated frame header: the stream ended "
	    "after 5 of 8 bytes");
	cr_assert_not(frame_reader_done(&r));
	frame_reader_free(&r);

	/* A header and part of the payload. */
	memset(buf + FRAME_HDR_LEN, 'x', 10);
	frame_reader_init(&r, 0);
	feed_all(&r, buf, FRAME_HDR_LEN + 9, 3, &err);
	frame_reader_feed_eof(&r);
	cr_assert_eq(frame_reader_next(&r, &f, &err), -1);
	cr_assert_str_eq(err.msg, "truncated frame: type 3 announces 10 "
	    "payload bytes, the stream ended after 9");
	frame_reader_free(&r);

	/* The whole frame, then EOF: clean. */
	frame_reader_init(&r, 0);
	cr_assert_eq(feed_all(&r, buf, sizeof(buf), 7, &err), 1);
	frame_reader_feed_eof(&r);
	cr_assert_eq(frame_reader_next(&r, &f, &err), 0);
	cr_assert(frame_reader_done(&r));
	frame_reader_free(&r);
}

Test(frame, reader_buffer_stays_bounded)
{
	struct frame_reader	 r;
	struct pf_err		 err;
	struct pf_buf		 b;
	static uint8_t		 pl[FRAME_PAYLOAD_MAX];
	int			 i;

	buf_init(&b, 0);
	for (i = 0; i < 20; i++)
		frame_append(&b, 1, 0, pl, FRAME_PAYLOAD_MAX);
	frame_reader_init(&r, 0);
	cr_assert_eq(feed_all(&r, b.data, b.len, b.len, &err), 20);
	cr_assert_leq(r.cap, FRAME_HDR_LEN + FRAME_PAYLOAD_MAX,
	    "the reader holds at most one frame");
	frame_reader_free(&r);
	buf_free(&b);
}

Test(frame, reader_read_from_fd)
{
	struct frame_reader	 r;
	struct frame		 f;
	struct pf_err		 err;
	struct pf_buf		 b;
	int			 sv[2], i, got = 0, rc;
	ssize_t			 n;
	static uint8_t		 pl[5000];

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv),
	    0);
	buf_init(&b, 0);
	for (i = 0; i < 3; i++) {
		memset(pl, 'a' + i, sizeof(pl));
		frame_append(&b, 2, 0, pl, sizeof(pl));
	}
	cr_assert_eq(write(sv[0], b.data, b.len), (ssize_t)b.len);
	close(sv[0]);

	frame_reader_init(&r, 0);
	for (;;) {
		n = frame_reader_read(&r, sv[1]);
		if (n == -1 && errno == ENOBUFS)
			cr_assert_fail("read called with a frame waiting");
		cr_assert(n >= 0, "read: %s", strerror(errno));
		while ((rc = frame_reader_next(&r, &f, &err)) == 1) {
			cr_assert_eq(f.len, sizeof(pl));
			cr_assert_eq(f.payload[0], 'a' + got);
			cr_assert_eq(f.payload[sizeof(pl) - 1], 'a' + got);
			got++;
		}
		cr_assert_eq(rc, 0, "%s", err.msg);
		if (n == 0)
			break;
	}
	cr_assert_eq(got, 3);
	cr_assert(frame_reader_done(&r));
	frame_reader_free(&r);
	close(sv[1]);
	buf_free(&b);
}

Test(frame, reader_read_would_block_and_pending_frame)
{
	struct frame_reader	 r;
	struct frame		 f;
	struct pf_err		 err;
	struct pf_buf		 b;
	int			 sv[2];

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv),
	    0);
	frame_reader_init(&r, 0);
	errno = 0;
	cr_assert_eq(frame_reader_read(&r, sv[1]), -1);
	cr_assert_eq(errno, EAGAIN);

	buf_init(&b, 0);
	frame_append(&b, 2, 0, "abc", 3);
	frame_append(&b, 2, 0, "de", 2);
	cr_assert_eq(write(sv[0], b.data, b.len), (ssize_t)b.len);
	cr_assert_eq(frame_reader_read(&r, sv[1]), (ssize_t)b.len);
	/* Both frames are buffered; the first must be taken before reading. */
	errno = 0;
	cr_assert_eq(frame_reader_read(&r, sv[1]), -1);
	cr_assert_eq(errno, ENOBUFS);
	cr_assert_eq(frame_reader_next(&r, &f, &err), 1);
	cr_assert_eq(f.len, 3);
	cr_assert_eq(frame_reader_next(&r, &f, &err), 1);
	cr_assert_eq(f.len, 2);
	cr_assert_eq(memcmp(f.payload, "de", 2), 0);
	cr_assert_eq(frame_reader_next(&r, &f, &err), 0);
	frame_reader_free(&r);
	buf_free(&b);
	close(sv[0]);
	close(sv[1]);
}

Test(frame, reader_allocation_failure)
{
	struct frame_reader	 r;
	struct frame		 f;
	struct pf_err		 err;
	int			 p[2];
	uint8_t			 h[FRAME_HDR_LEN + 1];

	put_hdr(h, 1, 1, 1, 0);
	h[FRAME_HDR_LEN] = 'z';
	cr_assert_eq(pipe(p), 0);
	cr_assert_eq(write(p[1], h, sizeof(h)), (ssize_t)sizeof(h));

	/* read(): ENOMEM, nothing consumed, works once memory is back. */
	frame_reader_init(&r, 0);
	pf_alloc_fail_after(0);
	errno = 0;
	cr_assert_eq(frame_reader_read(&r, p[0]), -1);
	cr_assert_eq(errno, ENOMEM);
	pf_alloc_fail_after(-1);
	cr_assert_eq(frame_reader_read(&r, p[0]), (ssize_t)sizeof(h));
	cr_assert_eq(frame_reader_next(&r, &f, &err), 1);
	cr_assert_eq(f.payload[0], 'z');
	frame_reader_free(&r);

	/* feed(): no way to hand the bytes back, so the error is sticky. */
	frame_reader_init(&r, 0);
	pf_alloc_fail_after(0);
	cr_assert_eq(frame_reader_feed(&r, h, sizeof(h)), 0);
	pf_alloc_fail_after(-1);
	cr_assert_eq(frame_reader_next(&r, &f, &err), -1);
	cr_assert_str_eq(err.msg, "out of memory buffering a frame");
	frame_reader_free(&r);
	close(p[0]);
	close(p[1]);
}

Test(frame, asm_reassembles_and_checks)
{
	struct frame_asm	 a;
	struct frame		 f = { 0 };
	struct pf_err		 err;
	static const uint8_t	 p1[] = "hello ", p2[] = "world";

	frame_asm_init(&a, 11);
	f.type = 1;
	f.flags = FRAME_F_MORE;
	f.payload = p1;
	f.len = 6;
	cr_assert_eq(frame_asm_add(&a, &f, &err), 0);
	f.flags = 0;
	f.payload = p2;
	f.len = 5;
	cr_assert_eq(frame_asm_add(&a, &f, &err), 1, "%s", err.msg);
	cr_assert_eq(a.body.len, 11);
	cr_assert_eq(memcmp(a.body.data, "hello world", 11), 0);
	cr_assert_eq(a.nframes, 2);
	frame_asm_reset(&a);

	/* One byte over the limit. */
	f.flags = FRAME_F_MORE;
	f.payload = p1;
	f.len = 6;
	cr_assert_eq(frame_asm_add(&a, &f, &err), 0);
	f.len = 6;
	f.flags = 0;
	cr_assert_eq(frame_asm_add(&a, &f, &err), -1);
	cr_assert_str_eq(err.msg, "message of type 1 exceeds the limit of "
	    "11 bytes (frame 2)");

	/* Another type in the middle. */
	f.type = 1;
	f.flags = FRAME_F_MORE;
	cr_assert_eq(frame_asm_add(&a, &f, &err), 0);
	f.type = 2;
	cr_assert_eq(frame_asm_add(&a, &f, &err), -1);
	cr_assert_str_eq(err.msg, "a frame of type 2 arrived in the middle "
	    "of a message of type 1 (frame 2)");

	/* An empty continued frame. */
	f.type = 1;
	f.len = 0;
	f.flags = FRAME_F_MORE;
	cr_assert_eq(frame_asm_add(&a, &f, &err), -1);
	cr_assert_str_eq(err.msg, "empty frame of type 1 flagged as "
	    "continued");

	/* An empty final frame is an empty message. */
	f.flags = 0;
	cr_assert_eq(frame_asm_add(&a, &f, &err), 1);
	cr_assert_eq(a.body.len, 0);
	frame_asm_free(&a);
}

Test(frame, asm_allocation_failure)
{
	struct frame_asm	 a;
	struct frame		 f = { 0 };
	struct pf_err		 err;

	frame_asm_init(&a, 100);
	f.type = 1;
	f.payload = (const uint8_t *)"abc";
	f.len = 3;
	pf_alloc_fail_after(0);
	cr_assert_eq(frame_asm_add(&a, &f, &err), -1);
	pf_alloc_fail_after(-1);
	cr_assert_str_eq(err.msg, "out of memory reassembling a message of "
	    "type 1");
	cr_assert_eq(a.type, 0, "the message was abandoned");
	cr_assert_eq(frame_asm_add(&a, &f, &err), 1);
	frame_asm_free(&a);
}

Test(frame, iter_and_getters)
{
	struct pf_buf		 b;
	struct frame_iter	 it;
	struct frame_field	 fld;
	struct pf_err		 err;
	uint8_t			 u8;
	uint16_t		 u16;
	uint32_t		 u32;
	uint64_t		 u64;
	char			*s;

	buf_init(&b, 0);
	frame_add_u8(&b, 1, 200);
	frame_add_bytes(&b, 2, "\x34\x12", 2);
	frame_add_u32(&b, 3, 4000000000u);
	frame_add_u64(&b, 4, UINT64_MAX - 1);
	frame_add_str(&b, 5, "");
	frame_add_str(&b, 65535, "abc");
	frame_iter_init(&it, b.data, b.len, FRAME_FIELDS_MAX);

	cr_assert_eq(frame_iter_next(&it, &fld, &err), 1);
	cr_assert_eq(frame_field_u8(&fld, &u8, &err), 0);
	cr_assert_eq(u8, 200);
	cr_assert_eq(frame_field_u32(&fld, &u32, &err), -1);
	cr_assert_str_eq(err.msg, "field tag 1 has 1 bytes, a u32 needs "
	    "exactly 4");

	cr_assert_eq(frame_iter_next(&it, &fld, &err), 1);
	cr_assert_eq(frame_field_u16(&fld, &u16, &err), 0);
	cr_assert_eq(u16, 0x1234);
	cr_assert_eq(frame_field_u8(&fld, &u8, &err), -1);

	cr_assert_eq(frame_iter_next(&it, &fld, &err), 1);
	cr_assert_eq(frame_field_u32(&fld, &u32, &err), 0);
	cr_assert_eq(u32, 4000000000u);
	cr_assert_eq(frame_field_u64(&fld, &u64, &err), -1);
	cr_assert_str_eq(err.msg, "field tag 3 has 4 bytes, a u64 needs "
	    "exactly 8");

	cr_assert_eq(frame_iter_next(&it, &fld, &err), 1);
	cr_assert_eq(frame_field_u64(&fld, &u64, &err), 0);
	cr_assert_eq(u64, UINT64_MAX - 1);

	cr_assert_eq(frame_iter_next(&it, &fld, &err), 1);
	cr_assert_eq(frame_field_str(&fld, 10, &s, &err), 0);
	cr_assert_str_eq(s, "");
	pf_free(s);

	cr_assert_eq(frame_iter_next(&it, &fld, &err), 1);
	cr_assert_eq(fld.tag, 65535);
	cr_assert_eq(frame_field_str(&fld, 2, &s, &err), -1);
	cr_assert_str_eq(err.msg, "field tag 65535: string of 3 bytes "
	    "exceeds the limit of 2");
	cr_assert_eq(frame_field_str(&fld, 3, &s, &err), 0);
	cr_assert_str_eq(s, "abc");
	pf_free(s);

	cr_assert_eq(frame_iter_next(&it, &fld, &err), 0);
	cr_assert_eq(frame_iter_next(&it, &fld, &err), 0, "end stays end");
	buf_free(&b);
}

Test(frame, str_rejects_nul_and_survives_oom)
{
	struct frame_field	 fld;
	struct pf_err		 err;
	char			*s = NULL;

	fld.tag = 4;
	fld.data = (const uint8_t *)"ab\0c";
	fld.len = 4;
	cr_assert_eq(frame_field_str(&fld, 100, &s, &err), -1);
	cr_assert_str_eq(err.msg, "field tag 4: string contains a NUL byte");
	cr_assert_null(s);

	fld.len = 2;
	pf_alloc_fail_after(0);
	cr_assert_eq(frame_field_str(&fld, 100, &s, &err), -1);
	pf_alloc_fail_after(-1);
	cr_assert_str_eq(err.msg, "out of memory");
	cr_assert_null(s);
}

Test(frame, iter_rejects_truncation)
{
	struct frame_iter	 it;
	struct frame_field	 fld;
	struct pf_err		 err;
	uint8_t			 p[FRAME_FIELD_HDR_LEN + 3];

	le16_put(p, 7);
	le32_put(p + 2, 4);	/* announces 4, 3 present */
	memcpy(p + FRAME_FIELD_HDR_LEN, "abc", 3);
	frame_iter_init(&it, p, sizeof(p), FRAME_FIELDS_MAX);
	cr_assert_eq(frame_iter_next(&it, &fld, &err), -1);
	cr_assert_str_eq(err.msg, "truncated field: tag 7 announces 4 bytes, "
	    "3 left");

	frame_iter_init(&it, p, 5, FRAME_FIELDS_MAX);
	cr_assert_eq(frame_iter_next(&it, &fld, &err), -1);
	cr_assert_str_eq(err.msg, "truncated field header: 5 bytes left, a "
	    "field header needs 6");

	le32_put(p + 2, UINT32_MAX);
	frame_iter_init(&it, p, sizeof(p), FRAME_FIELDS_MAX);
	cr_assert_eq(frame_iter_next(&it, &fld, &err), -1);
}

Test(frame, iter_field_count_boundary)
{
	struct pf_buf		 b;
	struct frame_iter	 it;
	struct frame_field	 fld;
	struct pf_err		 err;
	int			 i, n = 0, rc;

	buf_init(&b, 0);
	for (i = 0; i < FRAME_FIELDS_MAX; i++)
		frame_add_bytes(&b, 1, NULL, 0);
	frame_iter_init(&it, b.data, b.len, FRAME_FIELDS_MAX);
	while ((rc = frame_iter_next(&it, &fld, &err)) == 1)
		n++;
	cr_assert_eq(rc, 0);
	cr_assert_eq(n, FRAME_FIELDS_MAX);

	frame_add_bytes(&b, 1, NULL, 0);
	frame_iter_init(&it, b.data, b.len, FRAME_FIELDS_MAX);
	n = 0;
	while ((rc = frame_iter_next(&it, &fld, &err)) == 1)
		n++;
	cr_assert_eq(rc, -1);
	cr_assert_eq(n, FRAME_FIELDS_MAX);
	cr_assert_str_eq(err.msg, "more than 1024 fields");
	buf_free(&b);
}

Test(frame, encoder_allocation_failure)
{
	struct pf_buf	 b;

	buf_init(&b, 0);
	pf_alloc_fail_after(0);
	cr_assert_eq(frame_begin(&b, 1), -1);
	cr_assert_eq(frame_end(&b), -1);
	pf_alloc_fail_after(-1);
	cr_assert_eq(frame_begin(&b, 1), 0);
	cr_assert_eq(frame_add_u32(&b, 1, 1), 0);
	cr_assert_eq(frame_end(&b), 0);
	buf_free(&b);
}

/*
 * Every corpus file through the fuzz entry point; a crash here is a
 * decoder bug.  Also checks the corpus is there at all.
 */
Test(frame, fuzz_corpus_replays)
{
	const char	*dir = PF_SRC_DIR "/tests/fuzz/corpus/frame";
	char		 path[4096];
	DIR		*d;
	struct dirent	*de;
	struct stat	 st;
	uint8_t		*data;
	int		 fd, nfiles = 0;
	ssize_t		 n;

	cr_assert_not_null(d = opendir(dir), "%s: %s", dir, strerror(errno));
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		cr_assert_neq(fd = open(path, O_RDONLY), -1, "%s", path);
		cr_assert_eq(fstat(fd, &st), 0);
		cr_assert_leq(st.st_size, 1024 * 1024, "%s: too big", path);
		data = pf_malloc((size_t)st.st_size + 1);
		n = read(fd, data, (size_t)st.st_size);
		cr_assert_eq(n, st.st_size, "%s", path);
		close(fd);
		cr_assert_eq(frame_fuzz_one(data, (size_t)n), 0, "%s", path);
		pf_free(data);
		nfiles++;
	}
	closedir(d);
	cr_assert_geq(nfiles, 10, "the corpus has %d files", nfiles);
	/* And the degenerate inputs. */
	cr_assert_eq(frame_fuzz_one(NULL, 0), 0);
	cr_assert_eq(frame_fuzz_one((const uint8_t *)"\x80", 1), 0);
}
