/*
 * The JSON writer (json.h): nesting and commas, string escaping, numbers,
 * and the buffer or FILE it writes to.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "picoflow/buf.h"
#include "picoflow/esc.h"
#include "picoflow/json.h"

/* A FILE writer writes out its buffer past this much. */
#define JSON_FILE_CHUNK	(64 * 1024)

static const char hex[] = "0123456789abcdef";

int
json_escape(struct pf_buf *b, const void *p, size_t n)
{
	const uint8_t	*s = p;
	size_t		 i = 0, start = 0, k, olen;
	uint32_t	 cp;
	char		 out[6];

	if (buf_add_u8(b, '"') == -1)
		return -1;
	while (i < n) {
		k = 1;
		olen = 2;
		out[0] = '\\';
		switch (s[i]) {
		case '"':
		case '\\':
			out[1] = (char)s[i];
			break;
		case '\n':
			out[1] = 'n';
			break;
		case '\r':
			out[1] = 'r';
			break;
		case '\t':
			out[1] = 't';
			break;
		default:
			if (s[i] >= 0x20 && s[i] < 0x7f) {
				i++;
				continue;
			}
			if (s[i] < 0x80) {	/* C0 and DEL */
				cp = s[i];
			} else if ((k = utf8_seq_len(s + i, n - i)) != 0) {
				cp = utf8_cp(s + i, k);
				if (!esc_hidden(cp)) {
					i += k;
					continue;
				}
			} else {		/* JSON must be UTF-8 */
				k = 1;
				cp = 0xfffd;
			}
			out[1] = 'u';
			out[2] = hex[(cp >> 12) & 0xf];
			out[3] = hex[(cp >> 8) & 0xf];
			out[4] = hex[(cp >> 4) & 0xf];
			out[5] = hex[cp & 0xf];
			olen = 6;
		}
		buf_add(b, s + start, i - start);
		buf_add(b, out, olen);
		i += k;
		start = i;
	}
	buf_add(b, s + start, n - start);
	return buf_add_u8(b, '"');
}

void
json_init(struct pf_json *j, struct pf_buf *b)
{
	memset(j, 0, sizeof(*j));
	j->b = b;
}

void
json_init_file(struct pf_json *j, FILE *fp)
{
	memset(j, 0, sizeof(*j));
	buf_init(&j->own, 0);
	j->b = &j->own;
	j->fp = fp;
}

static int
check(struct pf_json *j)
{
	if (j->b->failed)
		j->err = 1;
	if (!j->err && j->fp != NULL && j->b->len >= JSON_FILE_CHUNK)
		(void)json_flush(j);
	return j->err ? -1 : 0;
}

static uint32_t
level_bit(const struct pf_json *j)
{
	return (uint32_t)1 << (j->depth - 1);
}

/* Before any value: the comma in an array, the key in an object. */
static int
value_pre(struct pf_json *j)
{
	uint32_t	 bit;

	if (j->err)
		return -1;
	if (j->depth == 0)
		return 0;
	bit = level_bit(j);
	if (j->in_obj & bit) {
		if (!j->want_value) {
			j->err = 1;
			return -1;
		}
		j->want_value = 0;
		return 0;
	}
	if (j->nonempty & bit)
		buf_add_u8(j->b, ',');
	j->nonempty |= bit;
	return 0;
}

static void
begin(struct pf_json *j, int obj)
{
	uint32_t	 bit;

	if (value_pre(j) == -1)
		return;
	if (j->depth >= JSON_DEPTH_MAX) {
		j->err = 1;
		return;
	}
	buf_add_u8(j->b, obj ? '{' : '[');
	j->depth++;
	bit = level_bit(j);
	if (obj)
		j->in_obj |= bit;
	else
		j->in_obj &= ~bit;
	j->nonempty &= ~bit;
	(void)check(j);
}

static void
end(struct pf_json *j, int obj)
{
	if (j->err)
		return;
	if (j->depth == 0 || j->want_value ||
	    !(j->in_obj & level_bit(j)) != !obj) {
		j->err = 1;
		return;
	}
	buf_add_u8(j->b, obj ? '}' : ']');
	j->depth--;
	(void)check(j);
}

void
json_obj_begin(struct pf_json *j)
{
	begin(j, 1);
}

void
json_obj_end(struct pf_json *j)
{
	end(j, 1);
}

void
json_arr_begin(struct pf_json *j)
{
	begin(j, 0);
}

void
json_arr_end(struct pf_json *j)
{
	end(j, 0);
}

void
json_key(struct pf_json *j, const char *key)
{
	uint32_t	 bit;

	if (j->err)
		return;
	if (j->depth == 0 || !(j->in_obj & (bit = level_bit(j))) ||
	    j->want_value) {
		j->err = 1;
		return;
	}
	if (j->nonempty & bit)
		buf_add_u8(j->b, ',');
	j->nonempty |= bit;
	buf_add_u8(j->b, '"');
	buf_add_str(j->b, key);
	buf_add(j->b, "\":", 2);
	j->want_value = 1;
	(void)check(j);
}

void
json_str_n(struct pf_json *j, const void *s, size_t n)
{
	if (value_pre(j) == -1)
		return;
	(void)json_escape(j->b, s, n);
	(void)check(j);
}

void
json_str(struct pf_json *j, const char *s)
{
	if (s == NULL)
		json_null(j);
	else
		json_str_n(j, s, strlen(s));
}

void
json_i64(struct pf_json *j, int64_t v)
{
	if (value_pre(j) == -1)
		return;
	buf_printf(j->b, "%" PRId64, v);
	(void)check(j);
}

void
json_u64(struct pf_json *j, uint64_t v)
{
	if (value_pre(j) == -1)
		return;
	buf_printf(j->b, "%" PRIu64, v);
	(void)check(j);
}

void
json_fixed(struct pf_json *j, double v, int decimals)
{
	if (value_pre(j) == -1)
		return;
	buf_printf(j->b, "%.*f", decimals, v);
	(void)check(j);
}

void
json_bool(struct pf_json *j, int v)
{
	if (value_pre(j) == -1)
		return;
	buf_add_str(j->b, v ? "true" : "false");
	(void)check(j);
}

void
json_null(struct pf_json *j)
{
	if (value_pre(j) == -1)
		return;
	buf_add_str(j->b, "null");
	(void)check(j);
}

void
json_raw(struct pf_json *j, const void *p, size_t n)
{
	if (value_pre(j) == -1)
		return;
	buf_add(j->b, p, n);
	(void)check(j);
}

void
json_kstr(struct pf_json *j, const char *key, const char *v)
{
	json_key(j, key);
	json_str(j, v);
}

void
json_ki64(struct pf_json *j, const char *key, int64_t v)
{
	json_key(j, key);
	json_i64(j, v);
}

void
json_ku64(struct pf_json *j, const char *key, uint64_t v)
{
	json_key(j, key);
	json_u64(j, v);
}

void
json_kbool(struct pf_json *j, const char *key, int v)
{
	json_key(j, key);
	json_bool(j, v);
}

void
json_knull(struct pf_json *j, const char *key)
{
	json_key(j, key);
	json_null(j);
}

void
json_text(struct pf_json *j, const char *s)
{
	if (j->err)
		return;
	if (j->depth != 0) {
		j->err = 1;
		return;
	}
	buf_add_str(j->b, s);
	(void)check(j);
}

int
json_error(const struct pf_json *j)
{
	return j->err || j->b->failed ? -1 : 0;
}

int
json_flush(struct pf_json *j)
{
	if (j->b->failed)
		j->err = 1;
	if (j->fp == NULL || j->err)
		return json_error(j);
	if (j->b->len > 0 &&
	    fwrite(j->b->data, 1, j->b->len, j->fp) != j->b->len)
		j->err = 1;
	buf_reset(j->b);
	return json_error(j);
}

int
json_close(struct pf_json *j)
{
	int	 rc;

	if (j->depth != 0 || j->want_value)
		j->err = 1;
	rc = json_flush(j);
	if (j->fp != NULL) {
		if (fflush(j->fp) == EOF)
			rc = -1;
		buf_free(&j->own);
		j->b = &j->own;
	}
	return rc;
}
