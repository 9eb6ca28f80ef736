/*
 * Cron expressions: every syntax form, every error with its message and
 * offset, next-fire sequences checked against hand-computed instants (in
 * UTC and across DST in Europe/Berlin and America/New_York), and random
 * cross-checks against brute-force scans built from an independent oracle.
 */
#include <criterion/criterion.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "picoflow/cron.h"
#include "picoflow/tz.h"

/* "2025-03-30T01:00:00Z" -> unix seconds, through the C library. */
static int64_t
iso(const char *s)
{
	struct tm	 tm;
	int		 n = 0;

	memset(&tm, 0, sizeof(tm));
	cr_assert_eq(sscanf(s, "%d-%d-%dT%d:%d:%dZ%n", &tm.tm_year,
	    &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec,
	    &n), 6, "bad test time %s", s);
	cr_assert_eq(s[n], '\0');
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (int64_t)timegm(&tm);
}

static const char *
fmt(int64_t t, char *buf)
{
	time_t		 tt = (time_t)t;
	struct tm	 tm;

	gmtime_r(&tt, &tm);
	strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

static void
parse_ok(const char *expr, struct cron_expr *ce)
{
	struct pf_err	 err;
	size_t		 off = 99;

	err.msg[0] = '\0';
	cr_assert_eq(cron_parse(expr, ce, &off, &err), 0, "\"%s\": %s", expr,
	    err.msg);
}

static void
expect_err(const char *expr, size_t want_off, const char *msg)
{
	struct cron_expr	 ce;
	struct pf_err		 err;
	size_t			 off = 9999;

	err.msg[0] = '\0';
	cr_assert_eq(cron_parse(expr, &ce, &off, &err), -1, "\"%s\" parsed",
	    expr);
	cr_assert_str_eq(err.msg, msg, "\"%s\"", expr);
	cr_assert_eq(off, want_off, "\"%s\": offset %zu, want %zu", expr, off,
	    want_off);
	/* A failed parse leaves nothing that cron_next would accept. */
	cr_assert_eq(cron_next(&ce, NULL, 0, &(int64_t){ 0 }, &err), -1);
}

static struct pf_tz *
zone(const char *name)
{
	struct pf_tz	*tz = NULL;
	struct pf_err	 err;

	if (name == NULL)
		return NULL;
	cr_assert_eq(tz_load(name, &tz, &err), 0, "%s: %s", name, err.msg);
	return tz;
}

/* Checks the fire times after `from`, each one after the previous. */
static void
expect_seq(const char *expr, const char *tzname, const char *from,
    const char *const *want)
{
	struct cron_expr	 ce;
	struct pf_tz		*tz = zone(tzname);
	struct pf_err		 err;
	int64_t			 t = iso(from), n;
	char			 b1[32], b2[32];
	size_t			 i;

	parse_ok(expr, &ce);
	for (i = 0; want[i] != NULL; i++) {
		err.msg[0] = '\0';
		cr_assert_eq(cron_next(&ce, tz, t, &n, &err), 0,
		    "\"%s\" after %s: %s", expr, fmt(t, b1), err.msg);
		cr_assert_eq(n, iso(want[i]), "\"%s\" [%s] after %s: got %s, "
		    "want %s", expr, tzname ? tzname : "UTC", fmt(t, b1),
		    fmt(n, b2), want[i]);
		t = n;
	}
	tz_free(tz);
}

#define SEQ(expr, tz, from, ...) \
	expect_seq(expr, tz, from, (const char *const[]){ __VA_ARGS__, NULL })

static void
expect_none(const char *expr, const char *tzname, const char *from,
    const char *msg)
{
	struct cron_expr	 ce;
	struct pf_tz		*tz = zone(tzname);
	struct pf_err		 err;
	int64_t			 n = 12345;

	parse_ok(expr, &ce);
	cr_assert_eq(cron_next(&ce, tz, iso(from), &n, &err), -1,
	    "\"%s\" fired", expr);
	cr_assert_eq(n, 12345, "*next must be untouched");
	cr_assert_str_eq(err.msg, msg);
	tz_free(tz);
}

/* ---- syntax ------------------------------------------------------------ */

#define ALLDAYS		0xfffffffeU	/* bits 1-31 */
#define ALLMONTHS	0x1ffe		/* bits 1-12 */

static uint64_t
bits(const int *v)
{
	uint64_t	 b = 0;

	for (; *v >= 0; v++)
		b |= (uint64_t)1 << *v;
	return b;
}

#define B(...)	bits((const int[]){ __VA_ARGS__, -1 })

Test(cron_syntax, five_fields)
{
	struct cron_expr	 ce;

	parse_ok("5 4 * * *", &ce);
	cr_assert_eq(ce.nfields, 5);
	cr_assert_eq(ce.sec, 1, "5 fields fire at second 0");
	cr_assert_eq(ce.min, B(5));
	cr_assert_eq(ce.hour, B(4));
	cr_assert_eq(ce.dom, ALLDAYS);
	cr_assert_eq(ce.month, ALLMONTHS);
	cr_assert_eq(ce.dow, 0x7f);
	cr_assert_eq(ce.flags, CRON_F_DOM_STAR | CRON_F_DOW_STAR);
	cr_assert_eq(cron_dom_dow_both_restricted(&ce), 0);
	cr_assert_eq(cron_is_start(&ce), 0);
}

Test(cron_syntax, lists_ranges_steps)
{
	struct cron_expr	 ce;

	parse_ok("0,15,30,45 9-17 */10 1-12/3 1-5", &ce);
	cr_assert_eq(ce.min, B(0, 15, 30, 45));
	cr_assert_eq(ce.hour, B(9, 10, 11, 12, 13, 14, 15, 16, 17));
	cr_assert_eq(ce.dom, B(1, 11, 21, 31));
	cr_assert_eq(ce.month, B(1, 4, 7, 10));
	cr_assert_eq(ce.dow, B(1, 2, 3, 4, 5));
	cr_assert_eq(cron_dom_dow_both_restricted(&ce), 1);
	parse_ok("5/15 10-20/10 1-3,20-22 * *", &ce);
	cr_assert_eq(ce.min, B(5, 20, 35, 50));
	cr_assert_eq(ce.hour, B(10, 20));
	cr_assert_eq(ce.dom, B(1, 2, 3, 20, 21, 22));
	parse_ok("59 23 31 12 6", &ce);		/* upper bounds */
	cr_assert_eq(ce.min, B(59));
	cr_assert_eq(ce.hour, B(23));
	cr_assert_eq(ce.dom, B(31));
	cr_assert_eq(ce.month, B(12));
	cr_assert_eq(ce.dow, B(6));
	parse_ok("0 0 1 1 0", &ce);		/* lower bounds */
	cr_assert_eq(ce.min, B(0));
	cr_assert_eq(ce.dom, B(1));
	cr_assert_eq(ce.month, B(1));
	cr_assert_eq(ce.dow, B(0));
	parse_ok("*/60 */24 */31 */12 */7", &ce);	/* largest steps */
	cr_assert_eq(ce.min, B(0));
	cr_assert_eq(ce.hour, B(0));
	cr_assert_eq(ce.dom, B(1));
	cr_assert_eq(ce.month, B(1));
	cr_assert_eq(ce.dow, B(0));
	parse_ok("07 007 0031 * *", &ce);	/* leading zeros */
	cr_assert_eq(ce.min, B(7));
	cr_assert_eq(ce.hour, B(7));
	cr_assert_eq(ce.dom, B(31));
}

Test(cron_syntax, names_any_case)
{
	struct cron_expr	 ce;

	parse_ok("0 0 * jan-MAR,Dec mon-FRI", &ce);
	cr_assert_eq(ce.month, B(1, 2, 3, 12));
	cr_assert_eq(ce.dow, B(1, 2, 3, 4, 5));
	parse_ok("0 0 * Jul-sep/2 sun,Sat", &ce);
	cr_assert_eq(ce.month, B(7, 9));
	cr_assert_eq(ce.dow, B(0, 6));
	parse_ok("0 0 * * SAT-SUN", &ce);	/* a range may end on Sunday */
	cr_assert_eq(ce.dow, B(0, 6));
	parse_ok("0 0 * * 5-0", &ce);
	cr_assert_eq(ce.dow, B(0, 5, 6));
	parse_ok("0 0 * * 7", &ce);		/* 7 is Sunday too */
	cr_assert_eq(ce.dow, B(0));
	parse_ok("0 0 * * 0-7", &ce);
	cr_assert_eq(ce.dow, 0x7f);
	parse_ok("0 0 * * 5-7", &ce);
	cr_assert_eq(ce.dow, B(0, 5, 6));
	parse_ok("0 0 * * */2", &ce);
	cr_assert_eq(ce.dow, B(0, 2, 4, 6));
}

Test(cron_syntax, question_mark_and_stars)
{
	struct cron_expr	 ce;

	parse_ok("0 0 ? * MON", &ce);
	cr_assert_eq(ce.flags, CRON_F_DOM_STAR | CRON_F_DOM_Q);
	cr_assert_eq(ce.dow, B(1));
	cr_assert_eq(cron_dom_dow_both_restricted(&ce), 0);
	parse_ok("0 0 1 * ?", &ce);
	cr_assert_eq(ce.flags, CRON_F_DOW_STAR | CRON_F_DOW_Q);
	parse_ok("0 0 ? * ?", &ce);
	cr_assert_eq(ce.flags, CRON_F_DOM_STAR | CRON_F_DOM_Q |
	    CRON_F_DOW_STAR | CRON_F_DOW_Q);
	/* Only a bare * or ? leaves a day field unrestricted. */
	parse_ok("0 0 */2 * FRI", &ce);
	cr_assert_eq(cron_dom_dow_both_restricted(&ce), 1);
	parse_ok("0 0 13 * FRI", &ce);
	cr_assert_eq(cron_dom_dow_both_restricted(&ce), 1);
	/* The DST rule's wildcard flags: minute or hour starting with '*'. */
	parse_ok("*/15 2 * * *", &ce);
	cr_assert_eq(ce.flags & (CRON_F_MIN_STAR | CRON_F_HOUR_STAR),
	    CRON_F_MIN_STAR);
	parse_ok("0 * * * *", &ce);
	cr_assert_eq(ce.flags & (CRON_F_MIN_STAR | CRON_F_HOUR_STAR),
	    CRON_F_HOUR_STAR);
	parse_ok("0-59 0-23 * * *", &ce);
	cr_assert_eq(ce.flags & (CRON_F_MIN_STAR | CRON_F_HOUR_STAR), 0);
}

Test(cron_syntax, specials)
{
	struct cron_expr	 ce;

	parse_ok("0 0 L * *", &ce);
	cr_assert_eq(ce.flags & (CRON_F_DOM_L | CRON_F_DOM_LW), CRON_F_DOM_L);
	cr_assert_eq(ce.dom, 0);
	parse_ok("0 0 lw * *", &ce);
	cr_assert_eq(ce.flags & (CRON_F_DOM_L | CRON_F_DOM_LW),
	    CRON_F_DOM_LW);
	parse_ok("0 0 15W,1w * *", &ce);
	cr_assert_eq(ce.dom_w, B(1, 15));
	cr_assert_eq(ce.dom, 0);
	parse_ok("0 0 1,15,L * *", &ce);
	cr_assert_eq(ce.dom, B(1, 15));
	cr_assert(ce.flags & CRON_F_DOM_L);
	parse_ok("0 0 ? * 5L", &ce);
	cr_assert_eq(ce.dow_last, B(5));
	cr_assert_eq(ce.dow, 0);
	parse_ok("0 0 ? * FRIL,7L", &ce);
	cr_assert_eq(ce.dow_last, B(0, 5));
	parse_ok("0 0 ? * MON#2,1#4,sun#5,7#1", &ce);
	cr_assert_eq(ce.dow_nth[1], B(2, 4));
	cr_assert_eq(ce.dow_nth[0], B(1, 5));
	cr_assert_eq(ce.dow, 0);
}

Test(cron_syntax, six_and_seven_fields)
{
	struct cron_expr	 ce;

	parse_ok("*/10 * * * * *", &ce);
	cr_assert_eq(ce.nfields, 6);
	cr_assert_eq(ce.sec, B(0, 10, 20, 30, 40, 50));
	cr_assert_eq(ce.min, (UINT64_C(1) << 60) - 1);
	cr_assert(ce.flags & CRON_F_SECONDS);
	cr_assert(!(ce.flags & CRON_F_YEAR));
	parse_ok("0 30 2 * * * *", &ce);	/* year "*": unrestricted */
	cr_assert_eq(ce.nfields, 7);
	cr_assert(!(ce.flags & CRON_F_YEAR));
	parse_ok("0 0 0 1 1 ? 1970,2030,2040-2042,2199", &ce);
	cr_assert(ce.flags & CRON_F_YEAR);
	cr_assert_eq(ce.year[0], B(0, 60));
	cr_assert_eq(ce.year[1], B(70 - 64, 71 - 64, 72 - 64));
	cr_assert_eq(ce.year[2], 0);
	cr_assert_eq(ce.year[3], B(229 - 192));
	parse_ok("0 0 0 1 1 ? */100", &ce);
	cr_assert_eq(ce.year[0], B(0));
	cr_assert_eq(ce.year[1], B(100 - 64));
	cr_assert_eq(ce.year[3], B(200 - 192));
}

Test(cron_syntax, macros)
{
	static const char *const m[][2] = {
		{ "@yearly", "0 0 1 1 *" }, { "@annually", "0 0 1 1 *" },
		{ "@monthly", "0 0 1 * *" }, { "@weekly", "0 0 * * 0" },
		{ "@daily", "0 0 * * *" }, { "@hourly", "0 * * * *" },
		{ "@DAILY", "0 0 * * *" }, { "  @weekly\t", "0 0 * * 0" },
	};
	struct cron_expr	 a, b;
	size_t			 i;

	for (i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		parse_ok(m[i][0], &a);
		parse_ok(m[i][1], &b);
		cr_assert_eq(a.flags, b.flags | CRON_F_MACRO, "%s", m[i][0]);
		cr_assert_eq(a.nfields, 0);
		cr_assert_eq(a.sec, b.sec);
		cr_assert_eq(a.min, b.min);
		cr_assert_eq(a.hour, b.hour);
		cr_assert_eq(a.dom, b.dom);
		cr_assert_eq(a.month, b.month);
		cr_assert_eq(a.dow, b.dow);
	}
	parse_ok("@start", &a);
	cr_assert_eq(cron_is_start(&a), 1);
	cr_assert_eq(cron_dom_dow_both_restricted(&a), 0);
	expect_none("@start", NULL, "2025-01-01T00:00:00Z", "@start runs only "
	    "when the supervisor starts; it has no next fire time");
}

Test(cron_syntax, whitespace)
{
	struct cron_expr	 ce;

	parse_ok("  \t0\t\t12   * *  MON  ", &ce);
	cr_assert_eq(ce.min, B(0));
	cr_assert_eq(ce.hour, B(12));
	cr_assert_eq(ce.dow, B(1));
}

/* ---- errors: message and byte offset ----------------------------------- */

Test(cron_errors, fields_and_macros)
{
	char	 longexpr[CRON_EXPR_MAX + 2];

	expect_err("", 0, "cron expression is empty");
	expect_err(" \t ", 0, "cron expression is empty");
	expect_err("* * * *", 7, "cron expression has 4 fields; expected 5 "
	    "(minute hour day-of-month month day-of-week), 6 (second first) "
	    "or 7 (with year)");
	expect_err("*", 1, "cron expression has 1 field; expected 5 (minute "
	    "hour day-of-month month day-of-week), 6 (second first) or 7 "
	    "(with year)");
	expect_err("* * * * * * * *", 14, "cron expression has more than 7 "
	    "fields; expected 5, 6 (second first) or 7 (with year)");
	expect_err("@foo", 0, "unknown macro '@foo' (expected @yearly, "
	    "@annually, @monthly, @weekly, @daily, @hourly or @start)");
	expect_err("@", 0, "unknown macro '@' (expected @yearly, @annually, "
	    "@monthly, @weekly, @daily, @hourly or @start)");
	expect_err("@reboot", 0, "unknown macro '@reboot' (PicoFlow calls it "
	    "@start)");
	expect_err("@daily x", 7, "unexpected text after @daily");
	expect_err("0 0 \001 * *", 4, "invalid byte 0x01 in cron expression "
	    "(only printable ASCII, spaces and tabs)");
	expect_err("0 0 1 * *\n", 9, "invalid byte 0x0a in cron expression "
	    "(only printable ASCII, spaces and tabs)");
	expect_err("0 0 \xc3\xa9 * *", 4, "invalid byte 0xc3 in cron "
	    "expression (only printable ASCII, spaces and tabs)");
	memset(longexpr, ' ', sizeof(longexpr) - 1);
	longexpr[sizeof(longexpr) - 1] = '\0';
	memcpy(longexpr, "0 0 * * *", 9);
	expect_err(longexpr, CRON_EXPR_MAX, "cron expression is longer than "
	    "1024 bytes");
	longexpr[CRON_EXPR_MAX] = '\0';		/* exactly the cap: fine */
	parse_ok(longexpr, &(struct cron_expr){ 0 });
	{
		struct pf_err err;

		cr_assert_eq(cron_parse(NULL, &(struct cron_expr){ 0 }, NULL,
		    &err), -1);
		cr_assert_str_eq(err.msg, "cron expression is missing");
	}
}

Test(cron_errors, out_of_range)
{
	expect_err("60 * * * *", 0,
	    "minute field: value 60 out of range 0-59");
	expect_err("* 24 * * *", 2, "hour field: value 24 out of range 0-23");
	expect_err("0 0 32 * *", 4,
	    "day-of-month field: value 32 out of range 1-31");
	expect_err("* * 0 * *", 4,
	    "day-of-month field: value 0 out of range 1-31");
	expect_err("* * * 13 *", 6, "month field: value 13 out of range 1-12");
	expect_err("* * * 0 *", 6, "month field: value 0 out of range 1-12");
	expect_err("* * * * 8", 8,
	    "day-of-week field: value 8 out of range 0-7");
	expect_err("60 * * * * *", 0,
	    "second field: value 60 out of range 0-59");
	expect_err("0 0 0 1 1 * 1969", 12,
	    "year field: value 1969 out of range 1970-2199");
	expect_err("0 0 0 1 1 * 2000,2200", 17,
	    "year field: value 2200 out of range 1970-2199");
	expect_err("1-60 * * * *", 2,
	    "minute field: value 60 out of range 0-59");
	expect_err("99999999999999999 * * * *", 0, "minute field: value "
	    "99999999999999999 out of range 0-59");
	expect_err("0 0 1 1 MON#0", 12,
	    "day-of-week field: occurrence 0 out of range 1-5");
	expect_err("* * * * 5#6", 10,
	    "day-of-week field: occurrence 6 out of range 1-5");
	expect_err("* * 32W * *", 4,
	    "day-of-month field: value 32 out of range 1-31");
}

Test(cron_errors, steps_and_ranges)
{
	expect_err("*/0 * * * *", 2, "minute field: step 0 out of range 1-60");
	expect_err("1-5/0 * * * *", 4,
	    "minute field: step 0 out of range 1-60");
	expect_err("*/99 * * * *", 2,
	    "minute field: step 99 out of range 1-60");
	expect_err("0 */25 * * *", 4, "hour field: step 25 out of range 1-24");
	expect_err("* * * * */8", 10,
	    "day-of-week field: step 8 out of range 1-7");
	expect_err("*/ * * * *", 2, "minute field: expected a step number "
	    "after '/', found end of field");
	expect_err("*/x * * * *", 2, "minute field: expected a step number "
	    "after '/', found 'x'");
	expect_err("5-1 * * * *", 0, "minute field: range 5-1 is reversed "
	    "(the start must not exceed the end; split it, e.g. 5-59,0-1)");
	expect_err("0 22-2 * * *", 2, "hour field: range 22-2 is reversed "
	    "(the start must not exceed the end; split it, e.g. 22-23,0-2)");
	expect_err("0 0 * NOV-FEB *", 6, "month field: range NOV-FEB is "
	    "reversed (the start must not exceed the end; split it, e.g. "
	    "11-12,1-2)");
	expect_err("* * * * FRI-MON", 8, "day-of-week field: range FRI-MON is "
	    "reversed (the start must not exceed the end; split it, e.g. "
	    "5-6,0-1)");
	expect_err("5- * * * *", 2,
	    "minute field: unexpected end of field (expected a value)");
	expect_err("-5 * * * *", 0,
	    "minute field: unexpected '-5' (expected a value)");
	expect_err("1-2-3 * * * *", 3, "minute field: unexpected '-3'");
}

Test(cron_errors, junk_and_lists)
{
	expect_err("1,,2 * * * *", 2, "minute field: empty list item");
	expect_err("1, * * * *", 2, "minute field: empty list item");
	expect_err(",1 * * * *", 0, "minute field: empty list item");
	expect_err("x * * * *", 0,
	    "minute field: unexpected 'x' (expected a number 0-59)");
	expect_err("1x * * * *", 1, "minute field: unexpected 'x'");
	expect_err("0 0 1 * MON,fun", 12, "day-of-week field: unknown name "
	    "'fun' (use 0-7 or SUN-SAT)");
	expect_err("* * * JANUARY *", 6, "month field: unknown name 'JANUARY' "
	    "(use 1-12 or JAN-DEC)");
	expect_err("* * * JAN-FOO *", 10, "month field: unknown name 'FOO' "
	    "(use 1-12 or JAN-DEC)");
	expect_err("* MON * * *", 2,
	    "hour field: unexpected 'MON' (expected a number 0-23)");
	expect_err("0 0 1 * * 2030", 10,
	    "day-of-week field: value 2030 out of range 0-7");
	expect_err("**", 2, "cron expression has 1 field; expected 5 (minute "
	    "hour day-of-month month day-of-week), 6 (second first) or 7 "
	    "(with year)");
	expect_err("** * * * *", 1, "minute field: unexpected '*'");
}

Test(cron_errors, specials_misused)
{
	expect_err("? * * * *", 0, "minute field: '?' is only allowed in the "
	    "day-of-month and day-of-week fields");
	expect_err("0 0 0 1 1 ? ?", 12, "year field: '?' is only allowed in "
	    "the day-of-month and day-of-week fields");
	expect_err("* * ?,1 * *", 4, "day-of-month field: '?' must stand "
	    "alone");
	expect_err("* * * * 1,?", 10, "day-of-week field: '?' must stand "
	    "alone");
	expect_err("* * * * L", 8, "day-of-week field: 'L' needs a weekday "
	    "before it (e.g. 5L or FRIL for the last Friday of the month)");
	expect_err("L * * * *", 0,
	    "minute field: unexpected 'L' (expected a number 0-59)");
	expect_err("* * * L *", 6,
	    "month field: unknown name 'L' (use 1-12 or JAN-DEC)");
	expect_err("* * 1-5W * *", 7, "day-of-month field: 'W' needs a single "
	    "day before it (e.g. 15W)");
	expect_err("* * W * *", 4,
	    "day-of-month field: unexpected 'W' (expected a number 1-31)");
	expect_err("* * L-3 * *", 5, "day-of-month field: unexpected '-3'");
	expect_err("* * 15WX * *", 7, "day-of-month field: unexpected 'X'");
	expect_err("* * * * 1-5L", 11, "day-of-week field: 'L' needs a single "
	    "weekday before it (e.g. 5L or 5#2)");
	expect_err("* * * * 1-2#3", 11, "day-of-week field: '#' needs a single "
	    "weekday before it (e.g. 5L or 5#2)");
	expect_err("* * * * 5#", 10, "day-of-week field: expected an "
	    "occurrence 1-5 after '#', found end of field");
	expect_err("* * 5#2 * *", 5, "day-of-month field: unexpected '#2'");
	expect_err("* * * * 5W", 9, "day-of-week field: unexpected 'W'");
}

/* ---- next fire times, UTC ---------------------------------------------- */

Test(cron_next, basic_sequences)
{
	SEQ("*/15 * * * *", NULL, "2025-01-01T00:07:30Z",
	    "2025-01-01T00:15:00Z", "2025-01-01T00:30:00Z",
	    "2025-01-01T00:45:00Z", "2025-01-01T01:00:00Z");
	/* strictly after: a fire time itself is not returned again */
	SEQ("0 0 * * *", NULL, "2025-01-01T00:00:00Z",
	    "2025-01-02T00:00:00Z", "2025-01-03T00:00:00Z");
	SEQ("0 9 * * MON-FRI", NULL, "2025-01-03T10:00:00Z",
	    "2025-01-06T09:00:00Z", "2025-01-07T09:00:00Z");
	SEQ("0 0 1 * *", NULL, "2025-12-15T00:00:00Z",
	    "2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z");
	SEQ("0 0 31 * *", NULL, "2025-01-01T00:00:00Z",
	    "2025-01-31T00:00:00Z", "2025-03-31T00:00:00Z",
	    "2025-05-31T00:00:00Z", "2025-07-31T00:00:00Z",
	    "2025-08-31T00:00:00Z");
	SEQ("59 23 31 12 *", NULL, "2025-06-01T00:00:00Z",
	    "2025-12-31T23:59:00Z", "2026-12-31T23:59:00Z");
	SEQ("30 4 1,15 * 5", NULL, "2025-05-31T00:00:00Z",
	    "2025-06-01T04:30:00Z", "2025-06-06T04:30:00Z",
	    "2025-06-13T04:30:00Z", "2025-06-15T04:30:00Z",
	    "2025-06-20T04:30:00Z");
	/* before the epoch */
	SEQ("0 0 * * *", NULL, "1969-12-31T23:59:00Z",
	    "1970-01-01T00:00:00Z");
	SEQ("@hourly", NULL, "2025-02-28T23:30:00Z", "2025-03-01T00:00:00Z",
	    "2025-03-01T01:00:00Z");
	SEQ("@daily", NULL, "2025-02-28T23:30:00Z", "2025-03-01T00:00:00Z");
	SEQ("@weekly", NULL, "2025-01-01T00:00:00Z", "2025-01-05T00:00:00Z",
	    "2025-01-12T00:00:00Z");
	SEQ("@monthly", NULL, "2025-01-31T00:00:00Z", "2025-02-01T00:00:00Z");
	SEQ("@yearly", NULL, "2025-01-01T00:00:00Z", "2026-01-01T00:00:00Z");
	SEQ("0 12 * * ?", NULL, "2025-01-01T12:00:00Z",
	    "2025-01-02T12:00:00Z");
}

Test(cron_next, dom_dow_or_rule)
{
	/* both restricted: the 13th OR any Friday */
	SEQ("0 0 13 * FRI", NULL, "2025-06-01T00:00:00Z",
	    "2025-06-06T00:00:00Z", "2025-06-13T00:00:00Z",
	    "2025-06-20T00:00:00Z", "2025-06-27T00:00:00Z",
	    "2025-07-04T00:00:00Z", "2025-07-11T00:00:00Z",
	    "2025-07-13T00:00:00Z", "2025-07-18T00:00:00Z");
	/* one of them "*" or "?": only the other counts */
	SEQ("0 0 13 * *", NULL, "2025-06-01T00:00:00Z",
	    "2025-06-13T00:00:00Z", "2025-07-13T00:00:00Z");
	SEQ("0 0 ? * FRI", NULL, "2025-06-01T00:00:00Z",
	    "2025-06-06T00:00:00Z", "2025-06-13T00:00:00Z");
	/* "*" + step counts as restricted: odd days OR Mondays */
	SEQ("0 0 */2 * MON", NULL, "2025-06-01T00:00:00Z",
	    "2025-06-02T00:00:00Z", "2025-06-03T00:00:00Z",
	    "2025-06-05T00:00:00Z", "2025-06-07T00:00:00Z",
	    "2025-06-09T00:00:00Z");
}

Test(cron_next, leap_days)
{
	SEQ("0 0 29 2 *", NULL, "2025-01-01T00:00:00Z",
	    "2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z");
	/* 2100 is not a leap year */
	SEQ("0 0 29 2 *", NULL, "2097-01-01T00:00:00Z",
	    "2104-02-29T00:00:00Z");
	SEQ("0 0 29 2 *", NULL, "2399-06-01T00:00:00Z",
	    "2400-02-29T00:00:00Z");
	/* Five Mondays in February only when Feb 29 is a Monday */
	SEQ("0 0 * 2 MON#5", NULL, "2017-01-01T00:00:00Z",
	    "2044-02-29T00:00:00Z");
	SEQ("0 0 29 2 *", NULL, "2035-12-31T00:00:00Z",
	    "2036-02-29T00:00:00Z");
}

Test(cron_next, last_day_and_weekdays)
{
	SEQ("0 12 L * *", NULL, "2025-01-31T12:00:00Z",
	    "2025-02-28T12:00:00Z", "2025-03-31T12:00:00Z",
	    "2025-04-30T12:00:00Z");
	SEQ("0 12 L 2 *", NULL, "2024-01-01T00:00:00Z",
	    "2024-02-29T12:00:00Z", "2025-02-28T12:00:00Z");
	/* LW: last weekday; May 31 2025 is a Saturday, Aug 31 a Sunday */
	SEQ("0 0 LW * *", NULL, "2025-01-01T00:00:00Z",
	    "2025-01-31T00:00:00Z", "2025-02-28T00:00:00Z",
	    "2025-03-31T00:00:00Z", "2025-04-30T00:00:00Z",
	    "2025-05-30T00:00:00Z", "2025-06-30T00:00:00Z",
	    "2025-07-31T00:00:00Z", "2025-08-29T00:00:00Z");
	/* 1W: Feb 1 2025 is a Saturday -> Monday the 3rd (never Jan 31) */
	SEQ("0 0 1W * *", NULL, "2025-01-01T00:00:00Z",
	    "2025-02-03T00:00:00Z", "2025-03-03T00:00:00Z",
	    "2025-04-01T00:00:00Z");
	/* 31W: Aug 31 2025 is a Sunday -> Friday the 29th; none in Sep */
	SEQ("0 0 31W * *", NULL, "2025-08-01T00:00:00Z",
	    "2025-08-29T00:00:00Z", "2025-10-31T00:00:00Z",
	    "2025-12-31T00:00:00Z");
	/* 15W: Sat Mar 15 -> Fri 14th; Sun Jun 15 -> Mon 16th */
	SEQ("0 0 15W 3,6 *", NULL, "2025-01-01T00:00:00Z",
	    "2025-03-14T00:00:00Z", "2025-06-16T00:00:00Z");
	/* last Friday */
	SEQ("0 0 * * 5L", NULL, "2025-01-01T00:00:00Z",
	    "2025-01-31T00:00:00Z", "2025-02-28T00:00:00Z",
	    "2025-03-28T00:00:00Z", "2025-04-25T00:00:00Z");
	SEQ("0 0 ? * FRIL", NULL, "2025-01-01T00:00:00Z",
	    "2025-01-31T00:00:00Z");
}

Test(cron_next, nth_weekday)
{
	SEQ("0 0 * * 1#1", NULL, "2025-01-01T00:00:00Z",
	    "2025-01-06T00:00:00Z", "2025-02-03T00:00:00Z",
	    "2025-03-03T00:00:00Z");
	SEQ("0 0 * * FRI#5", NULL, "2025-01-01T00:00:00Z",
	    "2025-01-31T00:00:00Z", "2025-05-30T00:00:00Z",
	    "2025-08-29T00:00:00Z", "2025-10-31T00:00:00Z");
	SEQ("0 0 * * 0#2,7#3", NULL, "2025-06-01T00:00:00Z",
	    "2025-06-08T00:00:00Z", "2025-06-15T00:00:00Z",
	    "2025-07-13T00:00:00Z");
}

Test(cron_next, seconds_and_years)
{
	SEQ("* * * * * *", NULL, "2025-01-01T00:00:00Z",
	    "2025-01-01T00:00:01Z", "2025-01-01T00:00:02Z",
	    "2025-01-01T00:00:03Z");
	SEQ("* * * * * *", NULL, "2025-12-31T23:59:59Z",
	    "2026-01-01T00:00:00Z", "2026-01-01T00:00:01Z");
	SEQ("*/20 * * * * *", NULL, "2025-12-31T23:59:45Z",
	    "2026-01-01T00:00:00Z", "2026-01-01T00:00:20Z",
	    "2026-01-01T00:00:40Z", "2026-01-01T00:01:00Z");
	SEQ("30 15 10 * * *", NULL, "2025-03-01T10:15:30Z",
	    "2025-03-02T10:15:30Z");
	SEQ("0 0 2 * * *", NULL, "2025-03-01T01:00:00Z",
	    "2025-03-01T02:00:00Z", "2025-03-02T02:00:00Z");
	SEQ("0 0 12 1 1 ? 2030,2040", NULL, "2025-01-01T00:00:00Z",
	    "2030-01-01T12:00:00Z", "2040-01-01T12:00:00Z");
	SEQ("0 0 0 29 2 ? 2030-2199", NULL, "2025-01-01T00:00:00Z",
	    "2032-02-29T00:00:00Z");
	SEQ("0 0 0 1 1 ? 2199", NULL, "2025-01-01T00:00:00Z",
	    "2199-01-01T00:00:00Z");
	expect_none("0 0 12 1 1 ? 2030,2040", NULL, "2040-01-01T12:00:00Z",
	    "the schedule never fires after 2040-01-01T12:00:00Z: the last "
	    "year it allows is 2040");
	expect_none("0 0 0 1 1 ? 2020", NULL, "2025-01-01T00:00:00Z",
	    "the schedule never fires after 2025-01-01T00:00:00Z: the last "
	    "year it allows is 2020");
	expect_none("0 0 0 30 2 ? 2030-2040", NULL, "2025-01-01T00:00:00Z",
	    "the schedule never fires after 2025-01-01T00:00:00Z: no date "
	    "matches it (e.g. February 30 or April 31)");
}

Test(cron_next, never_fires, .timeout = 30)
{
	static const char *const never[] = {
		"0 0 30 2 *", "0 0 31 4,6,9,11 *", "0 0 30,31 2 *",
		"* * * 30 2 ?", "0 0 31W 2,4 *", "0 0 0 31 2 ? *",
	};
	struct cron_expr	 ce;
	struct pf_tz		*tz = zone("Europe/Berlin");
	struct pf_err		 err;
	int64_t			 n;
	size_t			 i;
	int			 k;

	for (i = 0; i < sizeof(never) / sizeof(never[0]); i++) {
		expect_none(never[i], NULL, "2025-01-01T00:00:00Z",
		    "the schedule never fires after 2025-01-01T00:00:00Z: "
		    "no date matches it (e.g. February 30 or April 31)");
		parse_ok(never[i], &ce);
		/* Bounded search: many calls finish well within the timeout. */
		for (k = 0; k < 200; k++) {
			cr_assert_eq(cron_next(&ce, tz, iso("2025-01-01T00:00:00Z")
			    + k * 86400 * 97, &n, &err), -1);
			cr_assert_eq(cron_next(&ce, NULL, -62135596800LL +
			    k * 86400LL * 3650, &n, &err), -1);
		}
	}
	tz_free(tz);
}

Test(cron_next, time_range_and_bad_input)
{
	struct cron_expr	 ce;
	struct pf_err		 err;
	int64_t			 n;

	parse_ok("0 0 * * *", &ce);
	cr_assert_eq(cron_next(&ce, NULL, 253402300799LL, &n, &err), -1);
	cr_assert_str_eq(err.msg, "time 253402300799 is outside the supported "
	    "range (years 1-9999)");
	cr_assert_eq(cron_next(&ce, NULL, INT64_MIN, &n, &err), -1);
	cr_assert_eq(cron_next(&ce, NULL, INT64_MAX, &n, &err), -1);
	/* the last accepted `after`; the result may lie past 9999 */
	cr_assert_eq(cron_next(&ce, NULL, 253402300798LL, &n, &err), 0);
	cr_assert_eq(n, 253402300800LL);	/* 10000-01-01T00:00:00Z */
	cr_assert_eq(cron_next(&ce, NULL, 253402214400LL - 1, &n, &err), 0);
	cr_assert_eq(n, 253402214400LL);	/* 9999-12-31T00:00:00Z */
	cr_assert_eq(cron_next(&ce, NULL, -62135596800LL, &n, &err), 0);
	cr_assert_eq(n, -62135596800LL + 86400);	/* 0001-01-02 */
	memset(&ce, 0, sizeof(ce));
	cr_assert_eq(cron_next(&ce, NULL, 0, &n, &err), -1);
	cr_assert_str_eq(err.msg, "cron expression was not parsed");
}

/* ---- DST: Europe/Berlin and America/New_York, 2025 and 2026 ------------- */

#define BER	"Europe/Berlin"
#define NYC	"America/New_York"

Test(cron_dst, berlin_spring_forward)
{
	/* 2025-03-30: 02:00 CET -> 03:00 CEST at 01:00Z */
	SEQ("30 2 * * *", BER, "2025-03-28T12:00:00Z",
	    "2025-03-29T01:30:00Z", "2025-03-30T01:00:00Z",
	    "2025-03-31T00:30:00Z");
	/* two skipped times fire once, at the jump */
	SEQ("0,30 2 * * *", BER, "2025-03-29T12:00:00Z",
	    "2025-03-30T01:00:00Z", "2025-03-31T00:00:00Z",
	    "2025-03-31T00:30:00Z");
	/* 02:30 skipped -> 03:00; 03:30 runs as usual */
	SEQ("30 2,3 * * *", BER, "2025-03-29T12:00:00Z",
	    "2025-03-30T01:00:00Z", "2025-03-30T01:30:00Z",
	    "2025-03-31T00:30:00Z");
	SEQ("0 3 * * *", BER, "2025-03-29T12:00:00Z",
	    "2025-03-30T01:00:00Z", "2025-03-31T01:00:00Z");
	SEQ("0 2 30 3 *", BER, "2025-01-01T00:00:00Z",
	    "2025-03-30T01:00:00Z", "2026-03-30T00:00:00Z");
	/* seconds do not make a job a wildcard job */
	SEQ("*/20 30 2 * * *", BER, "2025-03-29T12:00:00Z",
	    "2025-03-30T01:00:00Z", "2025-03-31T00:30:00Z",
	    "2025-03-31T00:30:20Z");
	/* wildcard jobs: the skipped hour simply does not happen */
	SEQ("*/30 2 * * *", BER, "2025-03-29T12:00:00Z",
	    "2025-03-31T00:00:00Z", "2025-03-31T00:30:00Z");
	SEQ("0 * * * *", BER, "2025-03-30T00:30:00Z",
	    "2025-03-30T01:00:00Z", "2025-03-30T02:00:00Z");
	SEQ("*/20 * * * *", BER, "2025-03-30T00:30:00Z",
	    "2025-03-30T00:40:00Z", "2025-03-30T01:00:00Z",
	    "2025-03-30T01:20:00Z");
	/* after the jump instant itself: next day */
	SEQ("30 2 * * *", BER, "2025-03-30T01:00:00Z",
	    "2025-03-31T00:30:00Z");
	/* 2026-03-29 */
	SEQ("30 2 * * *", BER, "2026-03-28T12:00:00Z",
	    "2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z");
	SEQ("15 * * * *", BER, "2026-03-29T00:00:00Z",
	    "2026-03-29T00:15:00Z", "2026-03-29T01:15:00Z");
}

Test(cron_dst, berlin_fall_back)
{
	/* 2025-10-26: 03:00 CEST -> 02:00 CET at 01:00Z */
	SEQ("30 2 * * *", BER, "2025-10-25T12:00:00Z",
	    "2025-10-26T00:30:00Z", "2025-10-27T01:30:00Z");
	/* from inside the first pass, after the fire */
	SEQ("30 2 * * *", BER, "2025-10-26T00:40:00Z",
	    "2025-10-27T01:30:00Z");
	/* from inside the second pass */
	SEQ("30 2 * * *", BER, "2025-10-26T01:10:00Z",
	    "2025-10-27T01:30:00Z");
	SEQ("0,30 2 * * *", BER, "2025-10-25T12:00:00Z",
	    "2025-10-26T00:00:00Z", "2025-10-26T00:30:00Z",
	    "2025-10-27T01:00:00Z");
	/* wildcard jobs follow real time through both passes */
	SEQ("*/15 * * * *", BER, "2025-10-26T00:20:00Z",
	    "2025-10-26T00:30:00Z", "2025-10-26T00:45:00Z",
	    "2025-10-26T01:00:00Z", "2025-10-26T01:15:00Z",
	    "2025-10-26T01:30:00Z", "2025-10-26T01:45:00Z",
	    "2025-10-26T02:00:00Z");
	SEQ("0 * * * *", BER, "2025-10-25T23:30:00Z",
	    "2025-10-26T00:00:00Z", "2025-10-26T01:00:00Z",
	    "2025-10-26T02:00:00Z");
	SEQ("*/30 2 * * *", BER, "2025-10-25T12:00:00Z",
	    "2025-10-26T00:00:00Z", "2025-10-26T00:30:00Z",
	    "2025-10-26T01:00:00Z", "2025-10-26T01:30:00Z",
	    "2025-10-27T01:00:00Z");
	/* 2026-10-25 */
	SEQ("30 2 * * *", BER, "2026-10-24T12:00:00Z",
	    "2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z");
	SEQ("*/30 * * * *", BER, "2026-10-25T00:10:00Z",
	    "2026-10-25T00:30:00Z", "2026-10-25T01:00:00Z",
	    "2026-10-25T01:30:00Z", "2026-10-25T02:00:00Z");
	SEQ("0 0 2 * * *", BER, "2026-10-24T12:00:00Z",
	    "2026-10-25T00:00:00Z", "2026-10-26T01:00:00Z");
}

Test(cron_dst, new_york)
{
	/* 2025-03-09: 02:00 EST -> 03:00 EDT at 07:00Z */
	SEQ("30 2 * * *", NYC, "2025-03-08T12:00:00Z",
	    "2025-03-09T07:00:00Z", "2025-03-10T06:30:00Z");
	SEQ("*/20 2 * * *", NYC, "2025-03-08T12:00:00Z",
	    "2025-03-10T06:00:00Z");
	/* 2025-11-02: 02:00 EDT -> 01:00 EST at 06:00Z */
	SEQ("30 1 * * *", NYC, "2025-11-01T12:00:00Z",
	    "2025-11-02T05:30:00Z", "2025-11-03T06:30:00Z");
	SEQ("*/20 1 * * *", NYC, "2025-11-02T04:50:00Z",
	    "2025-11-02T05:00:00Z", "2025-11-02T05:20:00Z",
	    "2025-11-02T05:40:00Z", "2025-11-02T06:00:00Z",
	    "2025-11-02T06:20:00Z", "2025-11-02T06:40:00Z",
	    "2025-11-03T06:00:00Z");
	/* 2026-03-08 and 2026-11-01 */
	SEQ("0 2 * * *", NYC, "2026-03-07T12:00:00Z",
	    "2026-03-08T07:00:00Z", "2026-03-09T06:00:00Z");
	SEQ("0 1 * * *", NYC, "2026-10-31T12:00:00Z",
	    "2026-11-01T05:00:00Z", "2026-11-02T06:00:00Z");
	SEQ("0 * * * *", NYC, "2026-11-01T04:30:00Z",
	    "2026-11-01T05:00:00Z", "2026-11-01T06:00:00Z",
	    "2026-11-01T07:00:00Z");
	/* a day-of-week job on the transition day */
	SEQ("30 2 * * SUN", NYC, "2026-03-01T12:00:00Z",
	    "2026-03-08T07:00:00Z", "2026-03-15T06:30:00Z");
}

Test(cron_dst, far_future_uses_footer_rule)
{
	/* 2100-03-28 is the last Sunday of March 2100 */
	SEQ("30 2 * * *", BER, "2100-03-27T12:00:00Z",
	    "2100-03-28T01:00:00Z", "2100-03-29T00:30:00Z");
	/* a yearly job walks every span between now and then */
	SEQ("0 0 12 1 1 ? 2150", BER, "2025-01-01T00:00:00Z",
	    "2150-01-01T11:00:00Z");
}

/* ---- randomized cross-check against brute force ------------------------- */

static uint64_t rng_state;

static uint32_t
rnd(uint32_t n)
{
	/* xorshift64*: deterministic, so failures reproduce */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 2685821657736338717ULL) >> 33) % n;
}

/* What a generated expression means, built independently of the parser. */
struct oracle {
	bool		 sec[60], min[60], hour[24], dom[32], mon[13], dow[7];
	bool		 dom_star, dow_star, wild;
	int		 dom_special;	/* 0, 'L', 'B' (LW), 'W' */
	int		 dom_w;
	int		 dow_special;	/* 0, 'L', '#' */
	int		 dow_n, dow_k;
};

static void
put_value(char *buf, size_t len, int v, int kind, bool allow7)
{
	static const char *const mn[] = { "jan", "FEB", "Mar", "apr", "MAY",
	    "jun", "JUL", "aug", "Sep", "OCT", "nov", "DEC" };
	static const char *const dn[] = { "sun", "MON", "Tue", "wed", "THU",
	    "fri", "SAT" };

	if (kind == 'm' && rnd(3) == 0)
		(void)snprintf(buf + strlen(buf), len - strlen(buf), "%s",
		    mn[v - 1]);
	else if (kind == 'd' && rnd(3) == 0)
		(void)snprintf(buf + strlen(buf), len - strlen(buf), "%s",
		    dn[v % 7]);
	else if (kind == 'd' && v == 0 && allow7 && rnd(2) == 0)
		(void)snprintf(buf + strlen(buf), len - strlen(buf), "7");
	else
		(void)snprintf(buf + strlen(buf), len - strlen(buf), "%d", v);
}

/* A standard field: star, value, list, range, star-step, a-b/n, a/n. */
static void
gen_std(char *buf, size_t len, bool *set, int lo, int hi, int kind,
    int pstar, bool *star)
{
	int	 form, a, b, n, v, i, cnt;

	buf[0] = '\0';
	*star = false;
	form = (int)rnd(100) < pstar ? 0 : 1 + (int)rnd(6);
	switch (form) {
	case 0:
		(void)snprintf(buf, len, "*");
		*star = true;
		for (v = lo; v <= hi; v++)
			set[v] = true;
		return;
	case 1:
		v = lo + (int)rnd((uint32_t)(hi - lo + 1));
		put_value(buf, len, v, kind, true);
		set[v] = true;
		return;
	case 2:
		cnt = 2 + (int)rnd(3);
		for (i = 0; i < cnt; i++) {
			v = lo + (int)rnd((uint32_t)(hi - lo + 1));
			if (i > 0)
				(void)snprintf(buf + strlen(buf),
				    len - strlen(buf), ",");
			put_value(buf, len, v, kind, true);
			set[v] = true;
		}
		return;
	default:
		break;
	}
	a = lo + (int)rnd((uint32_t)(hi - lo + 1));
	b = a + (int)rnd((uint32_t)(hi - a + 1));
	n = 1 + (int)rnd((uint32_t)(hi - lo + 1) / 2 + 1);
	switch (form) {
	case 3:
		put_value(buf, len, a, kind, false);
		(void)snprintf(buf + strlen(buf), len - strlen(buf), "-");
		put_value(buf, len, b, kind, false);
		n = 1;
		break;
	case 4:
		(void)snprintf(buf, len, "*/%d", n);
		a = lo;
		b = hi;
		*star = false;
		break;
	case 5:
		put_value(buf, len, a, kind, false);
		(void)snprintf(buf + strlen(buf), len - strlen(buf), "-");
		put_value(buf, len, b, kind, false);
		(void)snprintf(buf + strlen(buf), len - strlen(buf), "/%d", n);
		break;
	default:
		(void)snprintf(buf + strlen(buf), len - strlen(buf), "%d/%d",
		    a, n);
		b = hi;
		break;
	}
	for (v = a; v <= b; v += n)
		set[v] = true;
}

static void
gen_expr(char *expr, size_t len, struct oracle *o, bool seconds)
{
	char	 f[7][64];
	bool	 star;
	int	 i;

	memset(o, 0, sizeof(*o));
	if (seconds)
		gen_std(f[0], sizeof(f[0]), o->sec, 0, 59, 0, 30, &star);
	else
		o->sec[0] = true;
	gen_std(f[1], sizeof(f[1]), o->min, 0, 59, 0, 25, &star);
	o->wild = f[1][0] == '*';
	gen_std(f[2], sizeof(f[2]), o->hour, 0, 23, 0, 50, &star);
	o->wild |= f[2][0] == '*';
	if (rnd(8) == 0) {
		o->dom_special = "LBW"[rnd(3)];
		o->dom_w = 1 + (int)rnd(31);
		if (o->dom_special == 'L')
			(void)snprintf(f[3], sizeof(f[3]), "L");
		else if (o->dom_special == 'B')
			(void)snprintf(f[3], sizeof(f[3]), "LW");
		else
			(void)snprintf(f[3], sizeof(f[3]), "%dW", o->dom_w);
	} else {
		gen_std(f[3], sizeof(f[3]), o->dom, 1, 31, 0, 60, &star);
		o->dom_star = star;
		if (star && rnd(4) == 0)
			(void)snprintf(f[3], sizeof(f[3]), "?");
	}
	gen_std(f[4], sizeof(f[4]), o->mon, 1, 12, 'm', 70, &star);
	if (rnd(8) == 0) {
		o->dow_special = rnd(2) ? 'L' : '#';
		o->dow_n = (int)rnd(7);
		o->dow_k = 1 + (int)rnd(5);
		f[5][0] = '\0';
		put_value(f[5], sizeof(f[5]), o->dow_n, 'd', true);
		if (o->dow_special == 'L')
			strcat(f[5], "L");
		else
			(void)snprintf(f[5] + strlen(f[5]),
			    sizeof(f[5]) - strlen(f[5]), "#%d", o->dow_k);
	} else {
		bool d8[8] = { false };

		gen_std(f[5], sizeof(f[5]), d8, 0, 6, 'd', 60, &star);
		for (i = 0; i < 7; i++)
			o->dow[i] = d8[i];
		o->dow_star = star;
		if (star && rnd(4) == 0)
			(void)snprintf(f[5], sizeof(f[5]), "?");
	}
	if (seconds)
		(void)snprintf(expr, len, "%s %s %s %s %s %s", f[0], f[1], f[2],
		    f[3], f[4], f[5]);
	else
		(void)snprintf(expr, len, "%s %s %s %s %s", f[1], f[2], f[3],
		    f[4], f[5]);
}

/* Calendar facts from the C library, not from the code under test. */
static int
month_len(int y, int m)
{
	struct tm	 tm;
	time_t		 t;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = m;			/* next month, day 0 = last day */
	tm.tm_mday = 0;
	t = timegm(&tm);
	gmtime_r(&t, &tm);
	return tm.tm_mday;
}

static int
wday_of(int y, int m, int d)
{
	struct tm	 tm;
	time_t		 t;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	t = timegm(&tm);
	gmtime_r(&t, &tm);
	return tm.tm_wday;
}

static bool
is_weekday(int y, int m, int d)
{
	int	 w = wday_of(y, m, d);

	return w != 0 && w != 6;
}

static bool
oracle_day(const struct oracle *o, int y, int m, int d, int wd)
{
	int	 len = month_len(y, m), best = -1, dd;
	bool	 dm, dw;

	switch (o->dom_special) {
	case 'L':
		dm = d == len;
		break;
	case 'B':
		for (dd = len; !is_weekday(y, m, dd); dd--)
			;
		dm = d == dd;
		break;
	case 'W':
		/* nearest weekday inside the month; ties cannot happen */
		if (o->dom_w > len) {
			dm = false;
			break;
		}
		for (dd = 1; dd <= len; dd++)
			if (is_weekday(y, m, dd) && (best == -1 ||
			    abs(dd - o->dom_w) < abs(best - o->dom_w)))
				best = dd;
		dm = d == best;
		break;
	default:
		dm = o->dom[d];
	}
	switch (o->dow_special) {
	case 'L':
		dw = wd == o->dow_n && d + 7 > len;
		break;
	case '#':
		dw = wd == o->dow_n && (d - 1) / 7 + 1 == o->dow_k;
		break;
	default:
		dw = o->dow[wd];
	}
	if (o->dom_star && o->dow_star)
		return true;
	if (o->dom_star)
		return dw;
	if (o->dow_star)
		return dm;
	return dm || dw;
}

/* Does the wall time tm (second ignored) match? */
static bool
oracle_minute(const struct oracle *o, const struct tm *tm)
{
	return o->min[tm->tm_min] && o->hour[tm->tm_hour] &&
	    o->mon[tm->tm_mon + 1] && oracle_day(o, tm->tm_year + 1900,
	    tm->tm_mon + 1, tm->tm_mday, tm->tm_wday);
}

/* First fire in (after, after + window] by scanning, or -1. */
static int64_t
brute_utc(const struct oracle *o, int64_t after, int64_t window)
{
	int64_t		 m, s;
	struct tm	 tm;
	time_t		 tt;

	for (m = after - (after % 60 + 60) % 60; m <= after + window;
	    m += 60) {
		tt = (time_t)m;
		gmtime_r(&tt, &tm);
		if (!oracle_minute(o, &tm))
			continue;
		for (s = 0; s < 60; s++)
			if (o->sec[s] && m + s > after && m + s <= after + window)
				return m + s;
	}
	return -1;
}

Test(cron_random, utc_against_brute_force, .timeout = 120)
{
	struct oracle		 o;
	struct cron_expr	 ce;
	struct pf_err		 err;
	char			 expr[512], b1[32], b2[32];
	int64_t			 after, want, got;
	const int64_t		 window = 6 * 86400;
	int			 i, k, found = 0;

	rng_state = 0x9e3779b97f4a7c15ULL;
	for (i = 0; i < 600; i++) {
		gen_expr(expr, sizeof(expr), &o, i % 3 == 0);
		parse_ok(expr, &ce);
		after = iso("2020-01-01T00:00:00Z") +
		    (int64_t)rnd(10 * 365) * 86400 + rnd(86400);
		if (rnd(4) == 0)
			after -= after % 60;
		for (k = 0; k < 3; k++) {
			want = brute_utc(&o, after, window);
			if (cron_next(&ce, NULL, after, &got, &err) == -1)
				got = -1;
			if (want != -1) {
				found++;
				cr_assert_eq(got, want, "\"%s\" after %s: got %s, "
				    "brute force %s", expr, fmt(after, b1),
				    got == -1 ? err.msg : fmt(got, b2),
				    fmt(want, b1));
			} else
				cr_assert(got == -1 || got > after + window,
				    "\"%s\" after %s: got %s, brute force "
				    "found nothing", expr, fmt(after, b1),
				    fmt(got, b2));
			if (got == -1)
				break;
			after = got;	/* chain: strictly after a fire */
		}
	}
	cr_assert(found > 500, "only %d comparisons found a fire", found);
}

/*
 * The DST rule against a scan that asks the C library for local time:
 * wildcard jobs fire whenever the local wall time matches; fixed jobs
 * fire at a matching local time only the first time it occurs, and once
 * at a forward jump when any skipped local time matches.
 */
static int64_t
brute_local(const struct oracle *o, int64_t after, int64_t window)
{
	int64_t		 u, g;
	struct tm	 lt, prev, naive;
	time_t		 tt;

	for (u = after - (after % 60 + 60) % 60; u <= after + window;
	    u += 60) {
		if (u <= after)
			continue;
		tt = (time_t)u;
		localtime_r(&tt, &lt);
		tt = (time_t)(u - 60);
		localtime_r(&tt, &prev);
		if (!o->wild && prev.tm_gmtoff < lt.tm_gmtoff) {
			/* forward jump at u: skipped wall minutes */
			for (g = u + prev.tm_gmtoff; g < u + lt.tm_gmtoff;
			    g += 60) {
				tt = (time_t)g;
				gmtime_r(&tt, &naive);
				if (oracle_minute(o, &naive))
					return u;
			}
		}
		if (!oracle_minute(o, &lt))
			continue;
		if (!o->wild) {
			struct tm earlier;

			/* the same wall time an hour earlier = a repeat */
			tt = (time_t)(u - 3600);
			localtime_r(&tt, &earlier);
			if (earlier.tm_gmtoff - lt.tm_gmtoff == 3600)
				continue;
		}
		return u;
	}
	return -1;
}

Test(cron_random, dst_against_brute_force, .timeout = 120)
{
	static const char *const zones[] = { BER, NYC };
	static const char *const trans[][8] = {
		{ "2025-03-30T01:00:00Z", "2025-10-26T01:00:00Z",
		  "2026-03-29T01:00:00Z", "2026-10-25T01:00:00Z",
		  "2030-03-31T01:00:00Z", "2030-10-27T01:00:00Z", NULL },
		{ "2025-03-09T07:00:00Z", "2025-11-02T06:00:00Z",
		  "2026-03-08T07:00:00Z", "2026-11-01T06:00:00Z",
		  "2030-03-10T07:00:00Z", "2030-11-03T06:00:00Z", NULL },
	};
	struct oracle		 o;
	struct cron_expr	 ce;
	struct pf_tz		*tz;
	struct pf_err		 err;
	char			 expr[512], b1[32], b2[32];
	int64_t			 after, want, got;
	const int64_t		 window = 3 * 86400;
	int			 z, i, k, found = 0;

	rng_state = 0x243f6a8885a308d3ULL;
	for (z = 0; z < 2; z++) {
		tz = zone(zones[z]);
		cr_assert_eq(setenv("TZ", zones[z], 1), 0);
		tzset();
		for (i = 0; i < 240; i++) {
			gen_expr(expr, sizeof(expr), &o, false);
			/* keep the hour near the transitions, dates wide */
			if (rnd(2)) {
				char *sp = strchr(expr, ' ');
				char rest[512];
				char *sp2 = strchr(sp + 1, ' ');
				int h = 1 + (int)rnd(2);

				(void)snprintf(rest, sizeof(rest), "%s", sp2);
				memset(o.hour, 0, sizeof(o.hour));
				o.hour[h] = true;
				(void)snprintf(sp + 1, sizeof(expr) -
				    (size_t)(sp + 1 - expr), "%d%s", h, rest);
				o.wild = expr[0] == '*';
			}
			parse_ok(expr, &ce);
			after = iso(trans[z][rnd(6)]) -
			    2 * 86400 + (int64_t)rnd(3 * 86400);
			for (k = 0; k < 4; k++) {
				want = brute_local(&o, after, window);
				if (cron_next(&ce, tz, after, &got, &err) == -1)
					got = -1;
				if (want != -1) {
					found++;
					cr_assert_eq(got, want, "\"%s\" in %s "
					    "after %s: got %s, brute force %s",
					    expr, zones[z], fmt(after, b1),
					    got == -1 ? err.msg :
					    fmt(got, b2), fmt(want, b1));
				} else
					cr_assert(got == -1 ||
					    got > after + window,
					    "\"%s\" in %s after %s: got %s, "
					    "brute force found nothing", expr,
					    zones[z], fmt(after, b1),
					    fmt(got, b2));
				if (got == -1)
					break;
				after = got;
			}
		}
		tz_free(tz);
	}
	cr_assert(found > 400, "only %d comparisons found a fire", found);
}
