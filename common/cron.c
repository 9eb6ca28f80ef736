/*
 * Cron expressions.
 *
 * Parsing turns each field into a bitset (plus the L, W and # specials);
 * cron_next then jumps field by field (year, month, day, hour, minute,
 * second) through local wall time instead of scanning seconds.  Time zones
 * enter as spans of constant UTC offset (tz_span_at): inside a span local
 * time is UTC plus a constant, and at a span's start the DST rule decides
 * what happens to the local times that were skipped or repeated.  The rule
 * is cronie's; docs/cron.md states it for users.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "picoflow/cron.h"

/* Supported range of `after`: 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59Z */
#define CRON_T_MIN	(-62135596800LL)
#define CRON_T_MAX	253402300799LL
/*
 * The Gregorian calendar repeats every 400 years, weekdays included
 * (146097 days = 20871 weeks): a pattern with no match in 400 years never
 * matches, so this bound is exact, not a guess.
 */
#define CRON_CYCLE_YEARS 400
#define CRON_MAX_STEPS	1000000		/* defensive cap on loop turns */

enum cron_kind {
	K_SEC, K_MIN, K_HOUR, K_DOM, K_MON, K_DOW, K_YEAR,
};

struct cron_field {
	const char	*name;
	int		 min, max;
};

static const struct cron_field cron_fields[] = {
	[K_SEC] =	{ "second",		0, 59 },
	[K_MIN] =	{ "minute",		0, 59 },
	[K_HOUR] =	{ "hour",		0, 23 },
	[K_DOM] =	{ "day-of-month",	1, 31 },
	[K_MON] =	{ "month",		1, 12 },
	[K_DOW] =	{ "day-of-week",	0, 7 },
	[K_YEAR] =	{ "year",		CRON_YEAR_MIN, CRON_YEAR_MAX },
};

static const char *const cron_months[] = {
	"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
	"JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
};
static const char *const cron_days[] = {
	"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT",
};

/* Parser state for one field. */
struct cron_pctx {
	const char	*expr;		/* whole expression, for offsets */
	const char	*p, *end;	/* the field */
	enum cron_kind	 kind;
	uint64_t	 bits[CRON_YEAR_WORDS];	/* index v - field min */
	struct cron_expr *out;
	size_t		*err_off;
	struct pf_err	*err;
};

static int	 cron_perr(struct cron_pctx *, const char *, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

static int
cron_perr(struct cron_pctx *c, const char *at, const char *fmt, ...)
{
	char	 msg[512];
	va_list	 ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pf_err_set(c->err, "%s field: %s", cron_fields[c->kind].name, msg);
	if (c->err_off != NULL)
		*c->err_off = (size_t)(at - c->expr);
	return -1;
}

static int
cron_isdigit(char ch)
{
	return ch >= '0' && ch <= '9';
}

static int
cron_isalpha(char ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z');
}

/* A printable rendering of the token at p for messages ("x", "end"). */
static void
cron_tok(const char *p, const char *end, char *buf, size_t len)
{
	size_t	 n = 0;

	if (p >= end) {
		(void)snprintf(buf, len, "end of field");
		return;
	}
	while (p + n < end && n < 16 && p[n] != ',')
		n++;
	(void)snprintf(buf, len, "'%.*s'", (int)n, p);
}

/*
 * A value: digits, or a three-letter name in the month and day-of-week
 * fields.  Range-checked against the field.
 */
static int
cron_value(struct cron_pctx *c, int *out)
{
	const struct cron_field	*f = &cron_fields[c->kind];
	const char		*b = c->p;
	char			 tok[40];
	long			 v = 0;
	size_t			 i, n;

	if (c->p < c->end && cron_isdigit(*c->p)) {
		while (c->p < c->end && cron_isdigit(*c->p)) {
			if (v < 1000000)
				v = v * 10 + (*c->p - '0');
			c->p++;
		}
		if (v < f->min || v > f->max)
			return cron_perr(c, b, "value %.*s out of range %d-%d",
			    (int)(c->p - b > 20 ? 20 : c->p - b), b, f->min,
			    c->kind == K_DOW ? 7 : f->max);
		*out = (int)v;
		return 0;
	}
	if (c->p < c->end && cron_isalpha(*c->p) &&
	    (c->kind == K_MON || c->kind == K_DOW)) {
		while (c->p < c->end && cron_isalpha(*c->p))
			c->p++;
		n = (size_t)(c->p - b);
		/* "FRIL" is FRI + L: a trailing L after a day name. */
		if (c->kind == K_DOW && n == 4 && (b[3] == 'L' || b[3] == 'l')) {
			n = 3;
			c->p--;
		}
		if (n == 3) {
			if (c->kind == K_MON) {
				for (i = 0; i < 12; i++)
					if (strncasecmp(b, cron_months[i], 3) == 0) {
						*out = (int)i + 1;
						return 0;
					}
			} else {
				for (i = 0; i < 7; i++)
					if (strncasecmp(b, cron_days[i], 3) == 0) {
						*out = (int)i;
						return 0;
					}
			}
		}
		c->p = b + n;
		return cron_perr(c, b, "unknown name '%.*s' (use %s)",
		    (int)(n > 20 ? 20 : n), b, c->kind == K_MON ?
		    "1-12 or JAN-DEC" : "0-7 or SUN-SAT");
	}
	cron_tok(b, c->end, tok, sizeof(tok));
	if (c->p < c->end && cron_isalpha(*c->p))
		return cron_perr(c, b, "unexpected %s (expected a number "
		    "%d-%d)", tok, f->min, f->max);
	return cron_perr(c, b, "unexpected %s (expected a value)", tok);
}

static void
cron_setbit(struct cron_pctx *c, int v)
{
	int	 i = v - cron_fields[c->kind].min;

	c->bits[i / 64] |= (uint64_t)1 << (i % 64);
}

/* "/n" after a range; *step = 1 when absent. */
static int
cron_step(struct cron_pctx *c, int *step)
{
	const struct cron_field	*f = &cron_fields[c->kind];
	const char		*b;
	long			 v = 0;
	int			 span = f->max - f->min + 1;

	*step = 1;
	if (c->p >= c->end || *c->p != '/')
		return 0;
	b = ++c->p;
	if (c->p >= c->end || !cron_isdigit(*c->p)) {
		char tok[40];
		cron_tok(c->p, c->end, tok, sizeof(tok));
		return cron_perr(c, b, "expected a step number after '/', "
		    "found %s", tok);
	}
	while (c->p < c->end && cron_isdigit(*c->p)) {
		if (v < 1000000)
			v = v * 10 + (*c->p - '0');
		c->p++;
	}
	if (c->kind == K_DOW)
		span = 7;
	if (v < 1 || v > span)
		return cron_perr(c, b, "step %.*s out of range 1-%d",
		    (int)(c->p - b > 20 ? 20 : c->p - b), b, span);
	*step = (int)v;
	return 0;
}

/* One list item; c->p is at its start, c->end is the item's end. */
static int
cron_item(struct cron_pctx *c)
{
	const struct cron_field	*f = &cron_fields[c->kind];
	const char		*b = c->p, *vb;
	int			 lo, hi, step, v, k, dowmax;
	char			 tok[40];

	dowmax = c->kind == K_DOW ? 6 : f->max;
	if (*c->p == '?')
		return cron_perr(c, b, c->kind == K_DOM || c->kind == K_DOW ?
		    "'?' must stand alone" : "'?' is only allowed in the "
		    "day-of-month and day-of-week fields");
	if (*c->p == '*') {
		c->p++;
		lo = f->min;
		hi = dowmax;
		if (cron_step(c, &step) == -1)
			return -1;
		goto fill;
	}
	if (c->kind == K_DOM && (*c->p == 'L' || *c->p == 'l')) {
		c->p++;
		if (c->p < c->end && (*c->p == 'W' || *c->p == 'w')) {
			c->p++;
			c->out->flags |= CRON_F_DOM_LW;
		} else
			c->out->flags |= CRON_F_DOM_L;
		goto done;
	}
	if (c->kind == K_DOW && (*c->p == 'L' || *c->p == 'l'))
		return cron_perr(c, b, "'L' needs a weekday before it "
		    "(e.g. 5L or FRIL for the last Friday of the month)");
	vb = c->p;
	if (cron_value(c, &lo) == -1)
		return -1;
	hi = lo;
	if (c->p < c->end && *c->p == '-') {
		c->p++;
		if (cron_value(c, &hi) == -1)
			return -1;
		/* SAT-SUN, 5-0: a range may end on Sunday written as 0. */
		if (c->kind == K_DOW && hi == 0 && lo > 0)
			hi = 7;
		if (hi < lo)
			return cron_perr(c, vb, "range %.*s is reversed (the "
			    "start must not exceed the end; split it, e.g. "
			    "%d-%d,%d-%d)", (int)(c->p - vb), vb, lo,
			    c->kind == K_DOW ? 6 : f->max, f->min, hi);
		if (cron_step(c, &step) == -1)
			return -1;
		goto fill;
	}
	if (c->p < c->end && *c->p == '/') {
		/* "5/15": from 5 to the end of the field, every 15. */
		hi = dowmax;
		if (c->kind == K_DOW && lo == 7)
			hi = 7;
		if (cron_step(c, &step) == -1)
			return -1;
		goto fill;
	}
	if (c->kind == K_DOM && c->p < c->end &&
	    (*c->p == 'W' || *c->p == 'w')) {
		c->p++;
		c->out->dom_w |= (uint32_t)1 << lo;
		goto done;
	}
	if (c->kind == K_DOW && c->p < c->end &&
	    (*c->p == 'L' || *c->p == 'l')) {
		c->p++;
		c->out->dow_last |= (uint8_t)(1 << (lo % 7));
		goto done;
	}
	if (c->kind == K_DOW && c->p < c->end && *c->p == '#') {
		const char *kb = ++c->p;
		long kv = 0;

		if (c->p >= c->end || !cron_isdigit(*c->p)) {
			cron_tok(c->p, c->end, tok, sizeof(tok));
			return cron_perr(c, kb, "expected an occurrence 1-5 "
			    "after '#', found %s", tok);
		}
		while (c->p < c->end && cron_isdigit(*c->p)) {
			if (kv < 1000000)
				kv = kv * 10 + (*c->p - '0');
			c->p++;
		}
		if (kv < 1 || kv > 5)
			return cron_perr(c, kb, "occurrence %.*s out of range "
			    "1-5", (int)(c->p - kb > 20 ? 20 : c->p - kb), kb);
		k = (int)kv;
		c->out->dow_nth[lo % 7] |= (uint8_t)(1 << k);
		goto done;
	}
	step = 1;
fill:
	for (v = lo; v <= hi; v += step)
		cron_setbit(c, c->kind == K_DOW ? v % 7 : v);
done:
	if (c->p < c->end) {
		cron_tok(c->p, c->end, tok, sizeof(tok));
		if (c->kind == K_DOM && (*c->p == 'W' || *c->p == 'w'))
			return cron_perr(c, c->p, "'W' needs a single day "
			    "before it (e.g. 15W)");
		if (c->kind == K_DOW && (*c->p == 'L' || *c->p == 'l' ||
		    *c->p == '#'))
			return cron_perr(c, c->p, "'%c' needs a single weekday "
			    "before it (e.g. 5L or 5#2)", *c->p);
		return cron_perr(c, c->p, "unexpected %s", tok);
	}
	return 0;
}

/* One whitespace-free field [b, e). */
static int
cron_field(struct cron_expr *out, enum cron_kind kind, const char *expr,
    const char *b, const char *e, size_t *err_off, struct pf_err *err)
{
	struct cron_pctx	 c;
	const char		*ib, *ie;
	size_t			 n = (size_t)(e - b);

	memset(&c, 0, sizeof(c));
	c.expr = expr;
	c.kind = kind;
	c.out = out;
	c.err_off = err_off;
	c.err = err;
	c.end = e;
	if (n == 1 && *b == '?') {
		if (kind != K_DOM && kind != K_DOW) {
			c.p = b;
			return cron_perr(&c, b, "'?' is only allowed in the "
			    "day-of-month and day-of-week fields");
		}
		out->flags |= kind == K_DOM ?
		    CRON_F_DOM_STAR | CRON_F_DOM_Q :
		    CRON_F_DOW_STAR | CRON_F_DOW_Q;
		memset(c.bits, 0xff, sizeof(c.bits));
		goto store;
	}
	if (n == 1 && *b == '*') {
		if (kind == K_DOM)
			out->flags |= CRON_F_DOM_STAR;
		if (kind == K_DOW)
			out->flags |= CRON_F_DOW_STAR;
	}
	if (*b == '*' && kind == K_MIN)
		out->flags |= CRON_F_MIN_STAR;
	if (*b == '*' && kind == K_HOUR)
		out->flags |= CRON_F_HOUR_STAR;
	for (ib = b; ib <= e; ib = ie + 1) {
		for (ie = ib; ie < e && *ie != ','; ie++)
			;
		c.p = ib;
		if (ie == ib)
			return cron_perr(&c, ib, "empty list item");
		c.end = ie;
		if (cron_item(&c) == -1)
			return -1;
	}
store:
	switch (kind) {
	case K_SEC:
		out->sec = c.bits[0] & ((1ULL << 60) - 1);
		break;
	case K_MIN:
		out->min = c.bits[0] & ((1ULL << 60) - 1);
		break;
	case K_HOUR:
		out->hour = (uint32_t)(c.bits[0] & 0xffffff);
		break;
	case K_DOM:
		/* bit i is day i + 1 */
		out->dom = (uint32_t)(c.bits[0] << 1) & 0xfffffffeU;
		break;
	case K_MON:
		out->month = (uint16_t)((c.bits[0] << 1) & 0x1ffe);
		break;
	case K_DOW:
		out->dow = (uint8_t)(c.bits[0] & 0x7f);
		break;
	case K_YEAR:
		if (n == 1 && *b == '*')
			break;	/* every year: no restriction */
		memcpy(out->year, c.bits, sizeof(out->year));
		/* 230 years: clear the bits past 2199 */
		out->year[CRON_YEAR_WORDS - 1] &=
		    ((uint64_t)1 << ((CRON_YEAR_MAX - CRON_YEAR_MIN + 1) % 64))
		    - 1;
		out->flags |= CRON_F_YEAR;
		break;
	}
	return 0;
}

struct cron_macro {
	const char	*name;
	const char	*expr;
};

static const struct cron_macro cron_macros[] = {
	{ "@yearly",	"0 0 1 1 *" },
	{ "@annually",	"0 0 1 1 *" },
	{ "@monthly",	"0 0 1 * *" },
	{ "@weekly",	"0 0 * * 0" },
	{ "@daily",	"0 0 * * *" },
	{ "@hourly",	"0 * * * *" },
	{ "@start",	NULL },
};

#define CRON_MAXTOK	8

int
cron_parse(const char *expr, struct cron_expr *out, size_t *err_off,
    struct pf_err *err)
{
	static const enum cron_kind k5[] =
	    { K_MIN, K_HOUR, K_DOM, K_MON, K_DOW };
	static const enum cron_kind k7[] =
	    { K_SEC, K_MIN, K_HOUR, K_DOM, K_MON, K_DOW, K_YEAR };
	const enum cron_kind	*kinds;
	const char		*tb[CRON_MAXTOK], *te[CRON_MAXTOK], *p, *end;
	size_t			 len, i, ntok = 0, dummy;
	struct pf_err		 ierr;

	memset(out, 0, sizeof(*out));
	if (err_off == NULL)
		err_off = &dummy;
	*err_off = 0;
	if (expr == NULL) {
		pf_err_set(err, "cron expression is missing");
		return -1;
	}
	len = strnlen(expr, CRON_EXPR_MAX + 1);
	if (len > CRON_EXPR_MAX) {
		*err_off = CRON_EXPR_MAX;
		pf_err_set(err, "cron expression is longer than %d bytes",
		    CRON_EXPR_MAX);
		return -1;
	}
	end = expr + len;
	for (p = expr; p < end; p++) {
		unsigned char ch = (unsigned char)*p;

		if (ch == ' ' || ch == '\t' || (ch > 0x20 && ch < 0x7f))
			continue;
		*err_off = (size_t)(p - expr);
		pf_err_set(err, "invalid byte 0x%02x in cron expression "
		    "(only printable ASCII, spaces and tabs)", ch);
		return -1;
	}
	for (p = expr; p < end; ) {
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if (p == end)
			break;
		if (ntok == CRON_MAXTOK)
			break;
		tb[ntok] = p;
		while (p < end && *p != ' ' && *p != '\t')
			p++;
		te[ntok++] = p;
	}
	if (ntok == 0) {
		pf_err_set(err, "cron expression is empty");
		return -1;
	}
	if (*tb[0] == '@') {
		size_t n = (size_t)(te[0] - tb[0]);

		for (i = 0; i < sizeof(cron_macros) / sizeof(cron_macros[0]);
		    i++)
			if (strlen(cron_macros[i].name) == n &&
			    strncasecmp(cron_macros[i].name, tb[0], n) == 0)
				break;
		if (i == sizeof(cron_macros) / sizeof(cron_macros[0]) &&
		    n == 7 && strncasecmp(tb[0], "@reboot", 7) == 0) {
			pf_err_set(err, "unknown macro '@reboot' (PicoFlow "
			    "calls it @start)");
			return -1;
		}
		if (i == sizeof(cron_macros) / sizeof(cron_macros[0])) {
			pf_err_set(err, "unknown macro '%.*s' (expected "
			    "@yearly, @annually, @monthly, @weekly, @daily, "
			    "@hourly or @start)", (int)(n > 32 ? 32 : n),
			    tb[0]);
			return -1;
		}
		if (ntok > 1) {
			*err_off = (size_t)(tb[1] - expr);
			pf_err_set(err, "unexpected text after %s",
			    cron_macros[i].name);
			return -1;
		}
		if (cron_macros[i].expr == NULL) {
			out->flags = CRON_F_START | CRON_F_MACRO;
			return 0;
		}
		if (cron_parse(cron_macros[i].expr, out, NULL, &ierr) == -1) {
			pf_err_set(err, "internal: %s", ierr.msg);
			return -1;
		}
		out->flags |= CRON_F_MACRO;
		out->nfields = 0;
		return 0;
	}
	if (ntok < 5) {
		*err_off = (size_t)(te[ntok - 1] - expr);
		pf_err_set(err, "cron expression has %zu field%s; expected 5 "
		    "(minute hour day-of-month month day-of-week), 6 "
		    "(second first) or 7 (with year)", ntok,
		    ntok == 1 ? "" : "s");
		return -1;
	}
	if (ntok > 7) {
		*err_off = (size_t)(tb[7] - expr);
		pf_err_set(err, "cron expression has more than 7 fields; "
		    "expected 5, 6 (second first) or 7 (with year)");
		return -1;
	}
	kinds = ntok == 5 ? k5 : k7;
	if (ntok == 5)
		out->sec = 1;		/* second 0 */
	else
		out->flags |= CRON_F_SECONDS;
	for (i = 0; i < ntok; i++)
		if (cron_field(out, kinds[i], expr, tb[i], te[i], err_off,
		    err) == -1) {
			memset(out, 0, sizeof(*out));
			return -1;
		}
	out->nfields = (int)ntok;
	return 0;
}

int
cron_dom_dow_both_restricted(const struct cron_expr *ce)
{
	if (ce->flags & CRON_F_START)
		return 0;
	return !(ce->flags & (CRON_F_DOM_STAR | CRON_F_DOW_STAR));
}

int
cron_is_start(const struct cron_expr *ce)
{
	return (ce->flags & CRON_F_START) != 0;
}

/* ---- next fire time ---------------------------------------------------- */

static int
cron_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
cron_mdays(int64_t y, int m)
{
	static const int days[12] =
	    { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return m == 2 && cron_leap(y) ? 29 : days[m - 1];
}

static int64_t
cron_floordiv(int64_t a, int64_t b)
{
	int64_t	 q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Lowest set bit at or above `from` (from may be 64: none). */
static int
cron_nextbit(uint64_t bits, int from)
{
	if (from >= 64)
		return -1;
	bits &= ~(uint64_t)0 << from;
	return bits == 0 ? -1 : __builtin_ctzll(bits);
}

static int
cron_year_ok(const struct cron_expr *ce, int64_t y)
{
	int64_t	 i;

	if (!(ce->flags & CRON_F_YEAR))
		return 1;
	if (y < CRON_YEAR_MIN || y > CRON_YEAR_MAX)
		return 0;
	i = y - CRON_YEAR_MIN;
	return (ce->year[i / 64] >> (i % 64)) & 1;
}

/* Last year the year field allows (CRON_F_YEAR only), or -1. */
static int64_t
cron_year_last(const struct cron_expr *ce)
{
	int	 w;

	for (w = CRON_YEAR_WORDS - 1; w >= 0; w--)
		if (ce->year[w] != 0)
			return CRON_YEAR_MIN + w * 64 +
			    63 - __builtin_clzll(ce->year[w]);
	return -1;
}

/* Days of month m of year y that match dom/dow: bit d for day d. */
static uint32_t
cron_day_mask(const struct cron_expr *ce, int64_t y, int m)
{
	int		 len = cron_mdays(y, m), wd1, wd, d, n, last;
	uint32_t	 valid, dm = 0, dw = 0;
	int64_t		 w;

	valid = (uint32_t)(((uint64_t)1 << (len + 1)) - 2);
	if ((ce->flags & CRON_F_DOM_STAR) && (ce->flags & CRON_F_DOW_STAR))
		return valid;
	w = (tz_days_from_civil(y, m, 1) + 4) % 7;
	wd1 = (int)(w < 0 ? w + 7 : w);
	if (!(ce->flags & CRON_F_DOM_STAR)) {
		dm = ce->dom & valid;
		if (ce->flags & CRON_F_DOM_L)
			dm |= (uint32_t)1 << len;
		if (ce->flags & CRON_F_DOM_LW) {
			wd = (wd1 + len - 1) % 7;
			last = wd == 6 ? len - 1 : wd == 0 ? len - 2 : len;
			dm |= (uint32_t)1 << last;
		}
		/* nW: the weekday nearest day n, never leaving the month. */
		for (n = 1; n <= len; n++) {
			if (!((ce->dom_w >> n) & 1))
				continue;
			wd = (wd1 + n - 1) % 7;
			if (wd == 6)
				d = n == 1 ? 3 : n - 1;
			else if (wd == 0)
				d = n == len ? n - 2 : n + 1;
			else
				d = n;
			dm |= (uint32_t)1 << d;
		}
	}
	if (!(ce->flags & CRON_F_DOW_STAR)) {
		for (d = 1; d <= len; d++) {
			wd = (wd1 + d - 1) % 7;
			if (((ce->dow >> wd) & 1) ||
			    (((ce->dow_last >> wd) & 1) && d + 7 > len) ||
			    ((ce->dow_nth[wd] >> ((d - 1) / 7 + 1)) & 1))
				dw |= (uint32_t)1 << d;
		}
	}
	if (ce->flags & CRON_F_DOM_STAR)
		return dw;
	if (ce->flags & CRON_F_DOW_STAR)
		return dm;
	return dm | dw;		/* both restricted: classic OR rule */
}

/*
 * Smallest matching naive local time L with lo <= L < hi and year <= ylim.
 * "Naive" local time counts seconds as if local time were UTC.
 */
static int
cron_find(const struct cron_expr *ce, int64_t lo, int64_t hi, int64_t ylim,
    int64_t *out)
{
	int64_t		 days, secs, y, cur, mask_y = INT64_MIN, ny;
	int		 mo, d, h, mi, s, n, mask_m = 0;
	uint32_t	 mask = 0, dm;
	long		 steps;

	days = cron_floordiv(lo, 86400);
	secs = lo - days * 86400;
	tz_civil_from_days(days, &y, &mo, &d);
	h = (int)(secs / 3600);
	mi = (int)(secs / 60 % 60);
	s = (int)(secs % 60);
	for (steps = 0; steps < CRON_MAX_STEPS; steps++) {
		if (y > ylim)
			return 0;
		if (d > 31 || h > 23) {
			/* Carried past the end of a month or a day. */
			if (h > 23) {
				d++;
				h = mi = s = 0;
			}
			if (d > cron_mdays(y, mo)) {
				d = 1;
				if (++mo > 12) {
					mo = 1;
					y++;
				}
			}
			continue;
		}
		cur = tz_days_from_civil(y, mo, d) * 86400 + h * 3600 +
		    mi * 60 + s;
		if (cur >= hi)
			return 0;
		if (!cron_year_ok(ce, y)) {
			for (ny = y + 1; ny <= ylim && !cron_year_ok(ce, ny);
			    ny++)
				;
			y = ny;
			mo = d = 1;
			h = mi = s = 0;
			continue;
		}
		if (!((ce->month >> mo) & 1)) {
			n = cron_nextbit(ce->month, mo + 1);
			if (n == -1) {
				y++;
				n = cron_nextbit(ce->month, 1);
			}
			mo = n;
			d = 1;
			h = mi = s = 0;
			continue;
		}
		if (mask_y != y || mask_m != mo) {
			mask = cron_day_mask(ce, y, mo);
			mask_y = y;
			mask_m = mo;
		}
		dm = mask & (uint32_t)(~(uint64_t)0 << d);
		if (dm == 0) {
			d = 32;		/* next month */
			h = mi = s = 0;
			continue;
		}
		n = __builtin_ctz(dm);
		if (n != d) {
			d = n;
			h = mi = s = 0;
		}
		n = cron_nextbit(ce->hour, h);
		if (n == -1) {
			h = 24;
			continue;
		}
		if (n != h) {
			h = n;
			mi = s = 0;
		}
		n = cron_nextbit(ce->min, mi);
		if (n == -1) {
			h++;
			mi = s = 0;
			continue;
		}
		if (n != mi) {
			mi = n;
			s = 0;
		}
		n = cron_nextbit(ce->sec, s);
		if (n == -1) {
			if (++mi > 59) {
				mi = 0;
				h++;
			}
			s = 0;
			continue;
		}
		s = n;
		cur = tz_days_from_civil(y, mo, d) * 86400 + h * 3600 +
		    mi * 60 + s;
		if (cur >= hi)
			return 0;
		*out = cur;
		return 1;
	}
	return 0;
}

/*
 * Remembers that [lo, L) holds no match and L does (or that nothing
 * matches from lo to the horizon), so walking many spans stays cheap.
 */
struct cron_cache {
	int		 valid;
	int64_t		 lo;
	int		 found;
	int64_t		 l;
};

static int
cron_find_cached(const struct cron_expr *ce, struct cron_cache *c,
    int64_t lo, int64_t ylim, int64_t *out)
{
	int64_t	 l;

	if (c->valid && lo >= c->lo && (!c->found || lo <= c->l)) {
		*out = c->l;
		return c->found;
	}
	if (c->valid && lo < c->lo) {
		if (cron_find(ce, lo, c->lo, ylim, &l)) {
			c->found = 1;
			c->l = l;
		}
		c->lo = lo;
		*out = c->l;
		return c->found;
	}
	c->valid = 1;
	c->lo = lo;
	c->found = cron_find(ce, lo, INT64_MAX, ylim, &c->l);
	*out = c->l;
	return c->found;
}

static void
cron_fmt_utc(int64_t t, char *buf, size_t len)
{
	int64_t	 days = cron_floordiv(t, 86400), secs = t - days * 86400, y;
	int	 m, d;

	tz_civil_from_days(days, &y, &m, &d);
	(void)snprintf(buf, len, "%04lld-%02d-%02dT%02d:%02d:%02dZ",
	    (long long)y, m, d, (int)(secs / 3600), (int)(secs / 60 % 60),
	    (int)(secs % 60));
}

int
cron_next(const struct cron_expr *ce, const struct pf_tz *tz, int64_t after,
    int64_t *next, struct pf_err *err)
{
	struct tz_span		 sp;
	struct cron_cache	 cache;
	int64_t			 t, lo, l, ylim, y, tlim, gap;
	int			 m, d, fixed;
	char			 when[40];

	if (ce->flags & CRON_F_START) {
		pf_err_set(err, "@start runs only when the supervisor starts; "
		    "it has no next fire time");
		return -1;
	}
	if (ce->sec == 0 || ce->min == 0 || ce->hour == 0 ||
	    ce->month == 0 || (ce->nfields == 0 &&
	    !(ce->flags & CRON_F_MACRO))) {
		pf_err_set(err, "cron expression was not parsed");
		return -1;
	}
	if (after < CRON_T_MIN || after >= CRON_T_MAX) {
		pf_err_set(err, "time %lld is outside the supported range "
		    "(years 1-9999)", (long long)after);
		return -1;
	}
	/* cronie: a job is "fixed" unless its minute or hour starts with *. */
	fixed = !(ce->flags & (CRON_F_MIN_STAR | CRON_F_HOUR_STAR));
	tz_civil_from_days(cron_floordiv(after, 86400), &y, &m, &d);
	ylim = y + CRON_CYCLE_YEARS + 1;
	if ((ce->flags & CRON_F_YEAR) && cron_year_last(ce) < ylim)
		ylim = cron_year_last(ce);
	tlim = (tz_days_from_civil(ylim + 1, 1, 1) + 2) * 86400;
	memset(&cache, 0, sizeof(cache));
	for (t = after + 1; t < tlim; t = sp.end) {
		tz_span_at(tz, t, &sp);
		lo = t + sp.off;
		if (fixed && sp.start != INT64_MIN) {
			/* Fall back: local times already seen don't fire. */
			if (sp.prev_off > sp.off && lo < sp.start + sp.prev_off)
				lo = sp.start + sp.prev_off;
			/* Spring forward: skipped times fire at the jump. */
			if (sp.prev_off < sp.off && t == sp.start &&
			    cron_find(ce, sp.start + sp.prev_off,
			    sp.start + sp.off, ylim, &gap)) {
				*next = t;
				return 0;
			}
		}
		if (sp.end != INT64_MAX && lo >= sp.end + sp.off)
			continue;
		if (!cron_find_cached(ce, &cache, lo, ylim, &l))
			break;
		if (sp.end == INT64_MAX || l < sp.end + sp.off) {
			*next = l - sp.off;
			return 0;
		}
	}
	cron_fmt_utc(after, when, sizeof(when));
	if ((ce->flags & CRON_F_YEAR) && cron_year_last(ce) <= y)
		pf_err_set(err, "the schedule never fires after %s: the last "
		    "year it allows is %lld", when,
		    (long long)cron_year_last(ce));
	else
		pf_err_set(err, "the schedule never fires after %s: no date "
		    "matches it (e.g. February 30 or April 31)", when);
	return -1;
}
