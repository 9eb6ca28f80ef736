/*
 * esc: untrusted text shown to people (logs, the command line's text
 * output) carries no control that a terminal obeys and cannot leave the
 * quotes it is shown in.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "picoflow/buf.h"
#include "picoflow/esc.h"

static char *
esc_dup(const char *s, size_t len, unsigned flags)
{
	struct pf_buf	 b;
	char		*r;

	buf_init(&b, 0);
	cr_assert_eq(esc_add(&b, s, len, flags), 0);
	r = strndup(buf_cstr(&b), b.len);
	buf_free(&b);
	return r;
}

#define ESC_EQ(in, flags, want) do {					\
	char	*got_ = esc_dup((in), sizeof(in) - 1, (flags));	\
									\
	cr_assert_str_eq(got_, (want));					\
	free(got_);							\
} while (0)

Test(esc, c0_and_del)
{
	ESC_EQ("a\x1b[2Jb\x7f", 0, "a\\x1b[2Jb\\x7f");
	ESC_EQ("l1\nl2\tx\r", 0, "l1\\nl2\\tx\\x0d");
	ESC_EQ("l1\nl2\tx\r", ESC_KEEP_NL, "l1\nl2\tx\\x0d");
}

Test(esc, c1_controls)
{
	/* U+009B is CSI: a terminal in UTF-8 mode may obey it. */
	ESC_EQ("a\xc2\x9b" "31mb", 0, "a\\u009b31mb");
	ESC_EQ("\xc2\x80\xc2\x9f\xc2\xa0", 0, "\\u0080\\u009f\xc2\xa0");
}

Test(esc, bidi_controls)
{
	ESC_EQ("x\xe2\x80\xae" "cod.exe", 0, "x\\u202ecod.exe");
	ESC_EQ("\xe2\x80\x8e\xe2\x80\x8f\xe2\x80\xaa\xe2\x80\xab\xe2\x80\xac"
	    "\xe2\x80\xad", 0, "\\u200e\\u200f\\u202a\\u202b\\u202c\\u202d");
	ESC_EQ("\xe2\x81\xa6\xe2\x81\xa7\xe2\x81\xa8\xe2\x81\xa9", 0,
	    "\\u2066\\u2067\\u2068\\u2069");
	/* Neighbours pass: U+2010 hyphen, U+2065, U+206A. */
	ESC_EQ("\xe2\x80\x90\xe2\x81\xa5\xe2\x81\xaa", 0,
	    "\xe2\x80\x90\xe2\x81\xa5\xe2\x81\xaa");
	ESC_EQ("h\xc3\xa9llo \xe6\x97\xa5", 0, "h\xc3\xa9llo \xe6\x97\xa5");
}

Test(esc, invalid_utf8)
{
	/* A lone 0x9b byte is CSI to a terminal in an 8-bit mode. */
	ESC_EQ("a\x9b" "b\xc3", 0, "a\\x9bb\\xc3");
	ESC_EQ("\xe2\x80", 0, "\\xe2\\x80");
}

Test(esc, quotes)
{
	ESC_EQ("a'; touch /tmp/x; : '", ESC_QUOTES,
	    "a\\'; touch /tmp/x; : \\'");
	ESC_EQ("\"\\", ESC_QUOTES, "\\\"\\\\");
	ESC_EQ("a'b", 0, "a'b");
}

Test(esc, fixed_buffer_cuts_whole_escapes)
{
	char	 d[12];

	cr_assert_str_eq(esc_str(d, sizeof(d), "abc", ESC_QUOTES), "abc");
	cr_assert_str_eq(esc_str(d, sizeof(d), NULL, 0), "(null)");
	cr_assert_str_eq(esc_str(d, sizeof(d), "0123456789ab", 0),
	    "01234567...");
	/* Never half an escape: \u202e does not fit after "abcd". */
	cr_assert_str_eq(esc_str(d, sizeof(d), "abcd\xe2\x80\xae" "ef", 0),
	    "abcd...");
	cr_assert_str_eq(esc_str(d, 1, "abc", 0), "");
}
