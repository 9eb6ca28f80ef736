/*
 * Cron expressions: parsing.
 *
 * Parsing turns each field into a bitset (plus the L, W and # specials);
 * the macros (@daily, ...) are expanded first, and every error names the
 * field and its offset in the expression.  cron_next.c computes the next
 * fire time from the result.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "picoflow/cron.h"

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
