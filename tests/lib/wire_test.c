/* Helpers for the wire codec suites (wire_test.h). */
#include <criterion/criterion.h>

#include <string.h>

#include "wire_test.h"

struct frame
wt_frame(const struct pf_buf *b)
{
	struct frame	 f;

	cr_assert_geq(b->len, FRAME_HDR_LEN);
	cr_assert_eq(le32_get(b->data), b->len - FRAME_HDR_LEN);
	f.type = b->data[5];
	f.flags = le16_get(b->data + 6);
	f.payload = b->data + FRAME_HDR_LEN;
	f.len = b->len - FRAME_HDR_LEN;
	return f;
}

size_t
wt_field(uint8_t *p, size_t at, uint16_t tag, const void *v, uint32_t len)
{
	le16_put(p + at, tag);
	le32_put(p + at + 2, len);
	memcpy(p + at + 6, v, len);
	return at + 6 + len;
}
