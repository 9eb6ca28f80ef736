#include <criterion/criterion.h>
#include <string.h>

#include "picoflow/alloc.h"
#include "picoflow/buf.h"

Test(buf, le_roundtrip)
{
	struct pf_buf	 b;
	struct pf_rbuf	 r;
	uint8_t		 u8;
	uint16_t	 u16;
	uint32_t	 u32;
	uint64_t	 u64;

	buf_init(&b, 0);
	cr_assert_eq(buf_add_u8(&b, 0xab), 0);
	cr_assert_eq(buf_add_u16(&b, 0x1234), 0);
	cr_assert_eq(buf_add_u32(&b, 0xdeadbeef), 0);
	cr_assert_eq(buf_add_u64(&b, 0x0102030405060708ULL), 0);
	cr_assert_eq(b.len, 15);
	cr_assert_eq(b.data[1], 0x34);	/* little-endian on the wire */
	cr_assert_eq(b.data[2], 0x12);
	rbuf_init(&r, b.data, b.len);
	cr_assert_eq(rbuf_get_u8(&r, &u8), 0);
	cr_assert_eq(rbuf_get_u16(&r, &u16), 0);
	cr_assert_eq(rbuf_get_u32(&r, &u32), 0);
	cr_assert_eq(rbuf_get_u64(&r, &u64), 0);
	cr_assert_eq(u8, 0xab);
	cr_assert_eq(u16, 0x1234);
	cr_assert_eq(u32, 0xdeadbeef);
	cr_assert_eq(u64, 0x0102030405060708ULL);
	cr_assert_eq(rbuf_get_u8(&r, &u8), -1, "read past the end must fail");
	buf_free(&b);
}

Test(buf, reader_never_overruns)
{
	uint8_t		 data[3] = { 1, 2, 3 };
	struct pf_rbuf	 r;
	uint32_t	 v;
	const uint8_t	*p;

	rbuf_init(&r, data, sizeof(data));
	cr_assert_eq(rbuf_get_u32(&r, &v), -1);
	cr_assert_eq(r.off, 0, "a failed get consumes nothing");
	cr_assert_eq(rbuf_get_ptr(&r, &p, SIZE_MAX), -1);
	cr_assert_eq(rbuf_skip(&r, 3), 0);
	cr_assert_eq(rbuf_left(&r), 0);
}

Test(buf, max_is_enforced_and_sticky)
{
	struct pf_buf	 b;

	buf_init(&b, 4);
	cr_assert_eq(buf_add(&b, "abcd", 4), 0);
	cr_assert_eq(buf_add_u8(&b, 'e'), -1);
	cr_assert(b.failed);
	cr_assert_eq(buf_add(&b, "", 0), -1, "failure is sticky");
	buf_free(&b);
}

Test(buf, printf_and_consume)
{
	struct pf_buf	 b;

	buf_init(&b, 0);
	buf_printf(&b, "%d-%s", 42, "x");
	cr_assert_str_eq(buf_cstr(&b), "42-x");
	buf_consume(&b, 3);
	cr_assert_eq(b.data[0], 'x');
	buf_free(&b);
}

Test(buf, allocation_failure_is_reported)
{
	struct pf_buf	 b;

	buf_init(&b, 0);
	pf_alloc_fail_after(0);
	cr_assert_eq(buf_add(&b, "x", 1), -1);
	cr_assert(pf_alloc_failed());
	pf_alloc_fail_after(-1);
	buf_free(&b);
}

Test(buf, utf8_sequences)
{
	cr_assert_eq(utf8_seq_len("\xc3\xa9", 2), 2);
	cr_assert_eq(utf8_cp("\xc3\xa9", 2), 0xe9);
	cr_assert_eq(utf8_cp("\xe2\x80\xae", 3), 0x202e);
	cr_assert_eq(utf8_cp("\xf0\x9f\x98\x80", 4), 0x1f600);
	cr_assert_eq(utf8_cp("a", 1), 'a');
	cr_assert_eq(utf8_seq_len("\xf0\x9f\x98\x80", 4), 4);
	cr_assert_eq(utf8_seq_len("\xed\xa0\x80", 3), 0, "surrogate");
	cr_assert_eq(utf8_seq_len("\xf4\x90\x80\x80", 4), 0, "> U+10FFFF");
	cr_assert_eq(utf8_seq_len("\xf0\x9f\x98", 3), 0, "truncated");
}
