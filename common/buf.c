#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "picoflow/alloc.h"
#include "picoflow/buf.h"

uint16_t
le16_get(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

uint32_t
le32_get(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

uint64_t
le64_get(const uint8_t *p)
{
	return (uint64_t)le32_get(p) | (uint64_t)le32_get(p + 4) << 32;
}

void
le16_put(uint8_t *p, uint16_t v)
{
	p[0] = v & 0xff;
	p[1] = v >> 8;
}

void
le32_put(uint8_t *p, uint32_t v)
{
	p[0] = v & 0xff;
	p[1] = (v >> 8) & 0xff;
	p[2] = (v >> 16) & 0xff;
	p[3] = v >> 24;
}

void
le64_put(uint8_t *p, uint64_t v)
{
	le32_put(p, (uint32_t)v);
	le32_put(p + 4, (uint32_t)(v >> 32));
}

void
buf_init(struct pf_buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

void
buf_init_fixed(struct pf_buf *b, void *mem, size_t size)
{
	memset(b, 0, sizeof(*b));
	b->data = mem;
	b->cap = size;
	b->max = size > 0 ? size - 1 : 0;	/* the spare byte for buf_cstr */
	b->fixed = 1;
	if (size == 0)
		b->failed = 1;
}

void
buf_free(struct pf_buf *b)
{
	if (b->fixed) {
		b->len = 0;
		return;
	}
	pf_free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void
buf_reset(struct pf_buf *b)
{
	b->len = 0;
	b->failed = 0;
}

int
buf_reserve(struct pf_buf *b, size_t extra)
{
	size_t	 need, ncap;
	uint8_t	*nd;

	if (b->failed)
		return -1;
	/* One spare byte so buf_cstr() never needs to grow. */
	if (extra > SIZE_MAX - b->len - 1)
		goto fail;
	need = b->len + extra + 1;
	if (b->max && need - 1 > b->max)
		goto fail;
	if (need <= b->cap)
		return 0;
	if (b->fixed)
		goto fail;
	ncap = b->cap ? b->cap : 64;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2) {
			ncap = need;
			break;
		}
		ncap *= 2;
	}
	if ((nd = pf_reallocarray(b->data, ncap, 1)) == NULL)
		goto fail;
	b->data = nd;
	b->cap = ncap;
	return 0;
fail:
	b->failed = 1;
	errno = ENOMEM;
	return -1;
}

int
buf_add(struct pf_buf *b, const void *p, size_t n)
{
	if (buf_reserve(b, n) == -1)
		return -1;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

int
buf_add_u8(struct pf_buf *b, uint8_t v)
{
	return buf_add(b, &v, 1);
}

int
buf_add_u16(struct pf_buf *b, uint16_t v)
{
	uint8_t	 t[2];

	le16_put(t, v);
	return buf_add(b, t, sizeof(t));
}

int
buf_add_u32(struct pf_buf *b, uint32_t v)
{
	uint8_t	 t[4];

	le32_put(t, v);
	return buf_add(b, t, sizeof(t));
}

int
buf_add_u64(struct pf_buf *b, uint64_t v)
{
	uint8_t	 t[8];

	le64_put(t, v);
	return buf_add(b, t, sizeof(t));
}

int
buf_add_str(struct pf_buf *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}

int
buf_printf(struct pf_buf *b, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || buf_reserve(b, (size_t)n) == -1)
		return -1;
	va_start(ap, fmt);
	(void)vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

size_t
utf8_seq_len(const void *vp, size_t left)
{
	const uint8_t	*p = vp;
	size_t		 n, i;
	uint32_t	 cp;

	if (left == 0)
		return 0;
	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		n = 2;
		cp = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3;
		cp = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4;
		cp = p[0] & 0x07;
	} else
		return 0;
	if (n > left)
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	/* Overlong forms, surrogates and values past U+10FFFF. */
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

/* The code point of the valid k-byte UTF-8 sequence at p. */
uint32_t
utf8_cp(const void *vp, size_t k)
{
	const uint8_t	*p = vp;
	uint32_t	 cp;
	size_t		 i;

	if (k == 1)
		return p[0];
	cp = p[0] & (k == 2 ? 0x1f : k == 3 ? 0x0f : 0x07);
	for (i = 1; i < k; i++)
		cp = cp << 6 | (p[i] & 0x3f);
	return cp;
}

const char *
buf_cstr(struct pf_buf *b)
{
	if (b->data == NULL && buf_reserve(b, 0) == -1)
		return "";
	b->data[b->len] = '\0';
	return (const char *)b->data;
}

void
buf_consume(struct pf_buf *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
}

void
rbuf_init(struct pf_rbuf *r, const void *p, size_t len)
{
	r->p = p;
	r->len = len;
	r->off = 0;
}

size_t
rbuf_left(const struct pf_rbuf *r)
{
	return r->len - r->off;
}

int
rbuf_get_ptr(struct pf_rbuf *r, const uint8_t **out, size_t n)
{
	if (n > rbuf_left(r))
		return -1;
	*out = r->p + r->off;
	r->off += n;
	return 0;
}

int
rbuf_skip(struct pf_rbuf *r, size_t n)
{
	const uint8_t	*p;

	return rbuf_get_ptr(r, &p, n);
}

int
rbuf_get(struct pf_rbuf *r, void *dst, size_t n)
{
	const uint8_t	*p;

	if (rbuf_get_ptr(r, &p, n) == -1)
		return -1;
	if (n)
		memcpy(dst, p, n);
	return 0;
}

int
rbuf_get_u8(struct pf_rbuf *r, uint8_t *v)
{
	return rbuf_get(r, v, 1);
}

int
rbuf_get_u16(struct pf_rbuf *r, uint16_t *v)
{
	const uint8_t	*p;

	if (rbuf_get_ptr(r, &p, 2) == -1)
		return -1;
	*v = le16_get(p);
	return 0;
}

int
rbuf_get_u32(struct pf_rbuf *r, uint32_t *v)
{
	const uint8_t	*p;

	if (rbuf_get_ptr(r, &p, 4) == -1)
		return -1;
	*v = le32_get(p);
	return 0;
}

int
rbuf_get_u64(struct pf_rbuf *r, uint64_t *v)
{
	const uint8_t	*p;

	if (rbuf_get_ptr(r, &p, 8) == -1)
		return -1;
	*v = le64_get(p);
	return 0;
}
