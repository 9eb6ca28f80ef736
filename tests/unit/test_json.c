/*
 * The JSON writer (json.h): escaping of hostile strings, commas and
 * nesting, misuse reported as an error, the FILE sink, allocation
 * failures, and the JSON log line built on it.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "picoflow/alloc.h"
#include "picoflow/buf.h"
#include "picoflow/esc.h"
#include "picoflow/json.h"
#include "picoflow/log.h"

/* s escaped as a JSON string (NUL-terminated; caller frees). */
static char *
esc(const void *s, size_t n)
{
	struct pf_buf	 b;
	char		*r;

	buf_init(&b, 0);
	cr_assert_eq(json_escape(&b, s, n), 0);
	r = strdup(buf_cstr(&b));
	buf_free(&b);
	return r;
}

#define ESC_EQ(in, want) do {						\
	char	*got_ = esc((in), sizeof(in) - 1);			\
	cr_assert_str_eq(got_, (want));					\
	free(got_);							\
} while (0)

Test(json, escapes_quotes_backslash_and_controls)
{
	ESC_EQ("a\"b\\\n\x01", "\"a\\\"b\\\\\\n\\u0001\"");
	ESC_EQ("\r\t\x1b[31m\x7f", "\"\\r\\t\\u001b[31m\\u007f\"");
	ESC_EQ("", "\"\"");
	ESC_EQ("plain /text/ 'q'", "\"plain /text/ 'q'\"");
}

Test(json, embedded_nul_is_escaped_with_the_length_given)
{
	ESC_EQ("a\0b", "\"a\\u0000b\"");
	ESC_EQ("\0\0", "\"\\u0000\\u0000\"");
}

Test(json, invalid_utf8_becomes_replacement_per_byte)
{
	/* valid 2-byte é, a lone continuation byte, an overlong '/', a
	 * truncated 3-byte sequence at the end */
	ESC_EQ("\xc3\xa9\x80\xc0\xaf" "a\xe2\x82",
	    "\"\xc3\xa9\\ufffd\\ufffd\\ufffda\\ufffd\\ufffd\"");
	/* a surrogate in 3 bytes, past U+10FFFF, a lone 0xff */
	ESC_EQ("\xed\xa0\x80|\xf4\x90\x80\x80|\xff",
	    "\"\\ufffd\\ufffd\\ufffd|\\ufffd\\ufffd\\ufffd\\ufffd|\\ufffd\"");
	/* valid 4-byte as it is */
	ESC_EQ("\xf0\x9f\x98\x80", "\"\xf0\x9f\x98\x80\"");
}

Test(json, hidden_code_points_as_u_escapes)
{
	ESC_EQ("a\xc2\x9b\xe2\x80\xae\xc3\xa9", "\"a\\u009b\\u202e\xc3\xa9\"");
	ESC_EQ("\xc2\x80\xc2\x9f\xe2\x80\x8e\xe2\x80\x8f"
	    "\xe2\x81\xa6\xe2\x81\xa9",
	    "\"\\u0080\\u009f\\u200e\\u200f\\u2066\\u2069\"");
	/* U+00A0 and U+2028 are not hidden: as they are. */
	ESC_EQ("\xc2\xa0\xe2\x80\xa8", "\"\xc2\xa0\xe2\x80\xa8\"");
}

Test(json, every_byte_value_gives_a_parseable_string)
{
	unsigned char	 in[256];
	char		*got, *p;
	size_t		 i;

	for (i = 0; i < sizeof(in); i++)
		in[i] = (unsigned char)i;
	got = esc(in, sizeof(in));
	/* No raw control byte, no raw byte >= 0x80 (all 0x80..0xff are
	 * lone bytes here), quotes only at both ends. */
	for (p = got + 1; p[1] != '\0'; p++) {
		cr_assert((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f,
		    "raw byte 0x%02x at %td", (unsigned char)*p, p - got);
		if (*p == '\\') {
			p++;
			cr_assert(strchr("\"\\nrtu", *p) != NULL);
		} else
			cr_assert(*p != '"');
	}
	free(got);
}

Test(json, very_long_strings)
{
	size_t		 n = 3 * 1024 * 1024, i;
	char		*in = malloc(n), *got;

	cr_assert_not_null(in);
	for (i = 0; i < n; i++)
		in[i] = i % 1024 == 0 ? '\n' : 'x';
	got = esc(in, n);
	cr_assert_eq(strlen(got), n + n / 1024 + 2);
	cr_assert_eq(memcmp(got, "\"\\nxx", 5), 0);
	free(got);
	free(in);
}

/*
 * The escaping as it was before the writer existed (buf.c's
 * buf_add_json_str), kept to show the output is byte for byte the same.
 */
static int
ref_escape(struct pf_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t		 i = 0, k;
	unsigned char	 c;
	char		 esc[6];

	if (buf_add_u8(b, '"') == -1)
		return -1;
	while (i < n) {
		c = (unsigned char)s[i];
		switch (c) {
		case '"':
			buf_add(b, "\\\"", 2);
			break;
		case '\\':
			buf_add(b, "\\\\", 2);
			break;
		case '\n':
			buf_add(b, "\\n", 2);
			break;
		case '\r':
			buf_add(b, "\\r", 2);
			break;
		case '\t':
			buf_add(b, "\\t", 2);
			break;
		default:
			if (c < 0x20 || c == 0x7f) {
				memcpy(esc, "\\u00", 4);
				esc[4] = hex[c >> 4];
				esc[5] = hex[c & 0xf];
				buf_add(b, esc, 6);
			} else if (c < 0x80)
				buf_add_u8(b, c);
			else if ((k = utf8_seq_len(s + i, n - i)) != 0) {
				uint32_t cp = 0;
				size_t	 j;

				/* C1 and bidi controls: valid JSON anyway,
				 * but a terminal must not obey them. */
				for (j = 0; j < k; j++)
					cp = cp << 6 | ((unsigned char)s[i + j] &
					    (j == 0 ? (k == 2 ? 0x1f : k == 3 ?
					    0x0f : 0x07) : 0x3f));
				if (esc_hidden(cp)) {
					buf_printf(b, "\\u%04x", (unsigned)cp);
				} else
					buf_add(b, s + i, k);
				i += k;
				continue;
			} else	/* JSON must be UTF-8: mark the bad byte */
				buf_add(b, "\\ufffd", 6);
		}
		i++;
	}
	return buf_add_u8(b, '"');
}

Test(json, same_bytes_as_before_on_random_input)
{
	struct pf_buf	 a, b;
	unsigned char	 in[64];
	unsigned	 seed = 1;
	size_t		 n, i;
	int		 round;

	for (round = 0; round < 20000; round++) {
		n = (size_t)(rand_r(&seed) % (int)sizeof(in));
		for (i = 0; i < n; i++) {
			/* Mostly bytes that start or continue UTF-8. */
			int	 r = rand_r(&seed);

			in[i] = (unsigned char)(r % 3 == 0 ? 0x80 + r % 0x80 :
			    r % 3 == 1 ? 0xc0 + r % 0x40 : r % 0x100);
		}
		buf_init(&a, 0);
		buf_init(&b, 0);
		ref_escape(&a, (const char *)in, n);
		json_escape(&b, in, n);
		cr_assert_eq(a.len, b.len, "round %d", round);
		cr_assert_eq(memcmp(a.data, b.data, a.len), 0, "round %d",
		    round);
		buf_free(&a);
		buf_free(&b);
	}
}

Test(json, commas_and_nesting)
{
	struct pf_buf	 b;
	struct pf_json	 j;

	buf_init(&b, 0);
	json_init(&j, &b);
	json_obj_begin(&j);
	json_kstr(&j, "s", "v");
	json_kstr(&j, "n", NULL);
	json_ki64(&j, "i", -42);
	json_ku64(&j, "u", UINT64_MAX);
	json_kbool(&j, "t", 1);
	json_kbool(&j, "f", 0);
	json_knull(&j, "z");
	json_key(&j, "x");
	json_fixed(&j, 2.0 / 3, 3);
	json_key(&j, "a");
	json_arr_begin(&j);
	json_arr_begin(&j);
	json_arr_end(&j);
	json_obj_begin(&j);
	json_obj_end(&j);
	json_i64(&j, 1);
	json_str_n(&j, "a\0", 2);
	json_raw(&j, "[1,2]", 5);
	json_arr_end(&j);
	json_obj_end(&j);
	json_text(&j, "\n");
	cr_assert_eq(json_close(&j), 0);
	cr_assert_str_eq(buf_cstr(&b), "{\"s\":\"v\",\"n\":null,\"i\":-42,"
	    "\"u\":18446744073709551615,\"t\":true,\"f\":false,\"z\":null,"
	    "\"x\":0.667,\"a\":[[],{},1,\"a\\u0000\",[1,2]]}\n");
	buf_free(&b);
}

Test(json, top_level_values_and_empty_documents)
{
	struct pf_buf	 b;
	struct pf_json	 j;

	buf_init(&b, 0);
	json_init(&j, &b);
	json_arr_begin(&j);
	json_arr_end(&j);
	json_text(&j, "\n");
	json_str(&j, "x");
	cr_assert_eq(json_close(&j), 0);
	cr_assert_str_eq(buf_cstr(&b), "[]\n\"x\"");
	buf_free(&b);
}

/* Each misuse sets the sticky error; nothing after it is written. */
Test(json, misuse_is_an_error)
{
	struct pf_buf	 b;
	struct pf_json	 j;
	int		 k;

	for (k = 0; k < 8; k++) {
		buf_init(&b, 0);
		json_init(&j, &b);
		switch (k) {
		case 0:		/* a value where a key belongs */
			json_obj_begin(&j);
			json_i64(&j, 1);
			break;
		case 1:		/* a key in an array */
			json_arr_begin(&j);
			json_key(&j, "k");
			break;
		case 2:		/* the wrong end */
			json_arr_begin(&j);
			json_obj_end(&j);
			break;
		case 3:		/* an end with nothing open */
			json_obj_end(&j);
			break;
		case 4:		/* a key without its value */
			json_obj_begin(&j);
			json_key(&j, "k");
			json_obj_end(&j);
			break;
		case 5:		/* left open */
			json_obj_begin(&j);
			break;
		case 6:		/* text inside a document */
			json_arr_begin(&j);
			json_text(&j, "\n");
			break;
		case 7:		/* two keys in a row */
			json_obj_begin(&j);
			json_key(&j, "a");
			json_key(&j, "b");
			break;
		}
		cr_assert_eq(json_close(&j), -1, "misuse %d", k);
		buf_free(&b);
	}
}

Test(json, nesting_is_bounded)
{
	struct pf_buf	 b;
	struct pf_json	 j;
	int		 i;

	buf_init(&b, 0);
	json_init(&j, &b);
	for (i = 0; i < JSON_DEPTH_MAX; i++)
		json_arr_begin(&j);
	cr_assert_eq(json_error(&j), 0);
	json_arr_begin(&j);
	cr_assert_eq(json_error(&j), -1);
	buf_free(&b);
}

Test(json, out_of_memory_is_reported)
{
	struct pf_buf	 b;
	struct pf_json	 j;

	buf_init(&b, 0);
	json_init(&j, &b);
	pf_alloc_fail_after(0);
	json_obj_begin(&j);
	json_kstr(&j, "k", "v");
	json_obj_end(&j);
	pf_alloc_fail_after(-1);
	cr_assert_eq(json_close(&j), -1);
	buf_free(&b);
}

Test(json, file_sink_writes_whole_documents)
{
	struct pf_json	 j;
	char		*mem = NULL;
	size_t		 len = 0, i;
	FILE		*fp = open_memstream(&mem, &len);

	cr_assert_not_null(fp);
	json_init_file(&j, fp);
	json_arr_begin(&j);
	/* Past the 64 KiB chunk: written out on the way. */
	for (i = 0; i < 20000; i++)
		json_str(&j, "abcd");
	json_arr_end(&j);
	json_text(&j, "\n");
	cr_assert_eq(json_close(&j), 0);
	fclose(fp);
	cr_assert_eq(len, 2 + 20000 * 7 - 1 + 1);
	cr_assert_eq(memcmp(mem, "[\"abcd\",\"abcd\"", 14), 0);
	cr_assert_eq(strcmp(mem + len - 9, ",\"abcd\"]\n"), 0);
	free(mem);
}

Test(json, file_sink_writes_nothing_after_an_error)
{
	struct pf_json	 j;
	char		*mem = NULL;
	size_t		 len = 0;
	FILE		*fp = open_memstream(&mem, &len);

	cr_assert_not_null(fp);
	json_init_file(&j, fp);
	json_obj_begin(&j);
	json_i64(&j, 1);
	cr_assert_eq(json_close(&j), -1);
	fclose(fp);
	cr_assert_eq(len, 0);
	free(mem);
}

/* The JSON log line: one object per line, the message escaped. */
Test(json, log_lines)
{
	char		 path[] = "/tmp/pf-jsonlog-XXXXXX", line[512];
	int		 fd, saved;
	FILE		*fp;
	const char	*tail = "\",\"level\":\"warn\",\"proc\":\"t\\u001b\","
	    "\"msg\":\"a\\\"b\\nc\\ufffd\"}\n";

	cr_assert((fd = mkstemp(path)) != -1);
	saved = dup(STDERR_FILENO);
	cr_assert(dup2(fd, STDERR_FILENO) != -1);
	log_init("t\x1b", LOG_LVL_INFO, LOG_FMT_JSON);
	log_warnx("a\"b\nc\xff");
	dup2(saved, STDERR_FILENO);
	close(saved);
	cr_assert_not_null(fp = fdopen(fd, "r"));
	rewind(fp);
	cr_assert_not_null(fgets(line, sizeof(line), fp));
	fclose(fp);
	unlink(path);
	cr_assert(strncmp(line, "{\"ts\":\"", 7) == 0, "%s", line);
	/* 2026-01-02T03:04:05.678Z */
	cr_assert_eq(strlen(line), 7 + 24 + strlen(tail), "%s", line);
	cr_assert_str_eq(line + 7 + 24, tail);
}
