/*
 * Escaping of untrusted text for logs and terminals (esc.h).
 */
#include <string.h>

#include "picoflow/buf.h"
#include "picoflow/esc.h"

static const char hex[] = "0123456789abcdef";

int
esc_hidden(uint32_t cp)
{
	return (cp >= 0x80 && cp <= 0x9f) ||
	    cp == 0x200e || cp == 0x200f ||
	    (cp >= 0x202a && cp <= 0x202e) ||
	    (cp >= 0x2066 && cp <= 0x2069);
}

/*
 * The escape for the sequence at s (into out, length in *olen), or
 * *olen = 0 when it passes as it is; returns the input bytes it covers.
 */
static size_t
esc_one(const uint8_t *s, size_t left, unsigned flags, char out[8],
    size_t *olen)
{
	uint8_t		 c = s[0];
	size_t		 k;
	uint32_t	 cp;

	*olen = 0;
	if (c >= 0x20 && c < 0x7f) {
		if ((flags & ESC_QUOTES) && (c == '\'' || c == '"' ||
		    c == '\\')) {
			out[0] = '\\';
			out[1] = (char)c;
			*olen = 2;
		}
		return 1;
	}
	if (c < 0x80) {
		if ((flags & ESC_KEEP_NL) && (c == '\n' || c == '\t'))
			return 1;
		out[0] = '\\';
		if (c == '\n' || c == '\t') {
			out[1] = c == '\n' ? 'n' : 't';
			*olen = 2;
		} else {
			out[1] = 'x';
			out[2] = hex[c >> 4];
			out[3] = hex[c & 0xf];
			*olen = 4;
		}
		return 1;
	}
	if ((k = utf8_seq_len(s, left)) == 0) {
		memcpy(out, "\\x", 2);
		out[2] = hex[c >> 4];
		out[3] = hex[c & 0xf];
		*olen = 4;
		return 1;
	}
	cp = utf8_cp(s, k);
	if (esc_hidden(cp)) {
		memcpy(out, "\\u", 2);
		out[2] = hex[(cp >> 12) & 0xf];
		out[3] = hex[(cp >> 8) & 0xf];
		out[4] = hex[(cp >> 4) & 0xf];
		out[5] = hex[cp & 0xf];
		*olen = 6;
	}
	return k;
}

int
esc_add(struct pf_buf *b, const void *p, size_t len, unsigned flags)
{
	const uint8_t	*s = p;
	size_t		 i = 0, start = 0, k, olen;
	char		 out[8];

	while (i < len) {
		k = esc_one(s + i, len - i, flags, out, &olen);
		if (olen > 0) {
			buf_add(b, s + start, i - start);
			buf_add(b, out, olen);
			start = i + k;
		}
		i += k;
	}
	buf_add(b, s + start, len - start);
	return b->failed ? -1 : 0;
}

char *
esc_str(char *dst, size_t dstlen, const char *str, unsigned flags)
{
	const uint8_t	*s = (const uint8_t *)(str != NULL ? str : "(null)");
	size_t		 len = strlen((const char *)s), i = 0, o = 0, k, olen;
	char		 out[8];

	if (dstlen == 0)
		return dst;
	while (i < len) {
		k = esc_one(s + i, len - i, flags, out, &olen);
		if (olen == 0) {
			memcpy(out, s + i, k);
			olen = k;
		}
		/*
		 * Room for this piece and, if more follows, "..." and the
		 * NUL: so o + 4 <= dstlen holds whenever we stop early.
		 */
		if (o + olen + (i + k < len ? 4 : 1) > dstlen) {
			if (o + 4 <= dstlen) {
				memcpy(dst + o, "...", 3);
				o += 3;
			}
			break;
		}
		memcpy(dst + o, out, olen);
		o += olen;
		i += k;
	}
	if (o >= dstlen)
		o = dstlen - 1;
	dst[o] = '\0';
	return dst;
}
