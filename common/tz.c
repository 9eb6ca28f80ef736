/*
 * Time zones from TZif files (RFC 8536).
 *
 * A zone is a table of transitions (instant -> local time type) plus an
 * optional POSIX-TZ rule from the file's footer that extends the table past
 * its last transition.  The file is hostile input: it is read whole into a
 * capped buffer and every count is checked against the bytes that are left
 * before anything is allocated or read.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "picoflow/alloc.h"
#include "picoflow/buf.h"
#include "picoflow/tz.h"

#define TZ_DEFAULT_DIR	"/usr/share/zoneinfo"
#define TZIF_HDR_LEN	44
/* RFC 8536 bounds for a UT offset: -25:59:59 .. +25:59:59. */
#define TZ_OFF_MIN	(-93599)
#define TZ_OFF_MAX	93599
/* POSIX-TZ rule times may be -167..167 hours (RFC 8536 section 3.3.1). */
#define TZ_RULE_TIME_MAX (167 * 3600)
/* tz_localtime clamps so that tm_year fits an int. */
#define TZ_T_LIMIT	((int64_t)1 << 55)

enum tz_datekind {
	TZ_DATE_JULIAN1,	/* Jn: 1..365, February 29 never counted */
	TZ_DATE_JULIAN0,	/* n: 0..365, February 29 counted */
	TZ_DATE_MWD,		/* Mm.w.d */
};

struct tz_date {
	enum tz_datekind kind;
	int		 n;		/* JULIAN1 / JULIAN0 */
	int		 mon, week, wday;	/* MWD */
	int32_t		 time;		/* seconds after local midnight */
};

struct tz_rule {
	int32_t		 std_off;	/* seconds east of UTC */
	int32_t		 dst_off;
	int		 has_dst;
	struct tz_date	 start;		/* standard -> daylight time */
	struct tz_date	 end;		/* daylight -> standard time */
	char		 std_abbr[16];
	char		 dst_abbr[16];
};

struct tz_type {
	int32_t		 off;
	int		 isdst;
	uint32_t	 abbr;		/* index into chars */
};

struct pf_tz {
	char		*name;
	int64_t		*trans;		/* ascending */
	uint8_t		*trans_type;	/* index into types */
	size_t		 ntrans;
	struct tz_type	*types;
	size_t		 ntypes;
	char		*chars;		/* NUL-terminated designations */
	size_t		 nchars;
	int		 has_rule;
	struct tz_rule	 rule;
};

/* One rule event: at `at` the offset becomes `off`. */
struct tz_event {
	int64_t		 at;
	int32_t		 off;
	int		 isdst;
};

static int	 tz_name_check(const char *, struct pf_err *);
static int	 tz_read_file(const char *, const char *, uint8_t **, size_t *,
		    struct pf_err *);
static int	 tz_parse_tzif(struct pf_tz *, const uint8_t *, size_t,
		    struct pf_err *);
static int	 tz_parse_rule(const char *, size_t, struct tz_rule *);
static int64_t	 tz_rule_date(const struct tz_date *, int64_t year);
static int	 tz_rule_events(const struct tz_rule *, int64_t year,
		    struct tz_event *);
static void	 tz_rule_at(const struct tz_rule *, int64_t t, int32_t *,
		    int *);
static int64_t	 tz_rule_next(const struct tz_rule *, int64_t t);
static int64_t	 tz_rule_prev(const struct tz_rule *, int64_t t);
static void	 tz_lookup(const struct pf_tz *, int64_t, int32_t *, int *,
		    const char **);
static int64_t	 tz_next_raw(const struct pf_tz *, int64_t);
static int64_t	 tz_prev_raw(const struct pf_tz *, int64_t);

/* ---- calendar ---------------------------------------------------------- */

/* Days since 1970-01-01 of a proleptic Gregorian date (era arithmetic). */
int64_t
tz_days_from_civil(int64_t y, int m, int d)
{
	int64_t	 era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

void
tz_civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t	 era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static int
tz_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
tz_mdays(int64_t y, int m)
{
	static const int days[12] =
	    { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return m == 2 && tz_leap(y) ? 29 : days[m - 1];
}

/* 0 = Sunday; 1970-01-01 was a Thursday. */
static int
tz_wday(int64_t days)
{
	int64_t	 w = (days + 4) % 7;

	return (int)(w < 0 ? w + 7 : w);
}

static int64_t
tz_floordiv(int64_t a, int64_t b)
{
	int64_t	 q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* ---- loading ----------------------------------------------------------- */

static int
tz_name_check(const char *name, struct pf_err *err)
{
	size_t		 i, len;

	if (name == NULL || name[0] == '\0') {
		pf_err_set(err, "time zone name is empty");
		return -1;
	}
	len = strnlen(name, TZ_NAME_MAX + 1);
	if (len > TZ_NAME_MAX) {
		pf_err_set(err, "time zone name is longer than %d bytes",
		    TZ_NAME_MAX);
		return -1;
	}
	if (name[0] == '/') {
		pf_err_set(err, "time zone '%s' is a path; use an IANA name "
		    "such as Europe/Berlin or UTC", name);
		return -1;
	}
	if (strstr(name, "..") != NULL) {
		pf_err_set(err, "time zone '%s' is invalid: '..' is not "
		    "allowed", name);
		return -1;
	}
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '/' || c == '_' ||
		    c == '+' || c == '-')
			continue;
		if (c >= 0x20 && c < 0x7f)
			pf_err_set(err, "time zone '%s' is invalid: character "
			    "'%c' is not allowed (only letters, digits, "
			    "'/', '_', '+' and '-')", name, c);
		else
			pf_err_set(err, "time zone name is invalid: byte 0x%02x "
			    "at offset %zu is not allowed", c, i);
		return -1;
	}
	if (name[len - 1] == '/' || strstr(name, "//") != NULL) {
		pf_err_set(err, "time zone '%s' is invalid: empty path "
		    "component", name);
		return -1;
	}
	return 0;
}

static int
tz_read_file(const char *path, const char *name, uint8_t **out, size_t *outlen,
    struct pf_err *err)
{
	struct stat	 st;
	uint8_t		*data = NULL;
	size_t		 len = 0, cap;
	ssize_t		 n;
	int		 fd;

	/* O_NONBLOCK: a FIFO planted in the zone directory must not hang us. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd == -1) {
		if (errno == ENOENT || errno == ENOTDIR)
			pf_err_set(err, "unknown time zone '%s' (no file %s)",
			    name, path);
		else
			pf_err_set(err, "time zone '%s': cannot open %s: %s",
			    name, path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		pf_err_set(err, "time zone '%s': %s: %s", name, path,
		    strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		pf_err_set(err, "unknown time zone '%s' (%s is not a regular "
		    "file)", name, path);
		goto fail;
	}
	if (st.st_size > TZ_FILE_MAX) {
		pf_err_set(err, "time zone '%s': %s is larger than %d bytes",
		    name, path, TZ_FILE_MAX);
		goto fail;
	}
	/* One byte more than fstat said tells a file that grew meanwhile. */
	cap = (size_t)st.st_size + 1;
	if ((data = pf_malloc(cap)) == NULL) {
		pf_err_set(err, "time zone '%s': out of memory", name);
		goto fail;
	}
	while (len < cap) {
		n = read(fd, data + len, cap - len);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			pf_err_set(err, "time zone '%s': reading %s: %s", name,
			    path, strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len == cap) {
		pf_err_set(err, "time zone '%s': %s changed while being read",
		    name, path);
		goto fail;
	}
	close(fd);
	*out = data;
	*outlen = len;
	return 0;
fail:
	pf_free(data);
	close(fd);
	return -1;
}

static uint32_t
tz_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static int64_t
tz_be64(const uint8_t *p)
{
	return (int64_t)((uint64_t)tz_be32(p) << 32 | tz_be32(p + 4));
}

struct tzif_hdr {
	uint8_t		 version;
	uint32_t	 isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
};

static int
tzif_header(struct pf_rbuf *r, struct tzif_hdr *h, struct pf_err *err)
{
	const uint8_t	*p;

	/* Magic first, so a text file is named as such however short. */
	if (rbuf_left(r) >= 4 && memcmp(r->p + r->off, "TZif", 4) != 0) {
		pf_err_set(err, "not a TZif file (bad magic)");
		return -1;
	}
	if (rbuf_get_ptr(r, &p, TZIF_HDR_LEN) == -1) {
		pf_err_set(err, "truncated header");
		return -1;
	}
	h->version = p[4];
	if (h->version != 0 && (h->version < '2' || h->version > '9')) {
		pf_err_set(err, "unsupported TZif version byte 0x%02x",
		    h->version);
		return -1;
	}
	h->isutcnt = tz_be32(p + 20);
	h->isstdcnt = tz_be32(p + 24);
	h->leapcnt = tz_be32(p + 28);
	h->timecnt = tz_be32(p + 32);
	h->typecnt = tz_be32(p + 36);
	h->charcnt = tz_be32(p + 40);
	if (h->typecnt == 0 || h->typecnt > 256) {
		pf_err_set(err, "bad local time type count %u (1-256)",
		    h->typecnt);
		return -1;
	}
	if (h->charcnt == 0) {
		pf_err_set(err, "empty designation table");
		return -1;
	}
	if ((h->isutcnt != 0 && h->isutcnt != h->typecnt) ||
	    (h->isstdcnt != 0 && h->isstdcnt != h->typecnt)) {
		pf_err_set(err, "UT/standard indicator counts do not match "
		    "the type count");
		return -1;
	}
	return 0;
}

/* Bytes of the data block that follows a header (counts are < 2^32). */
static uint64_t
tzif_block_len(const struct tzif_hdr *h, unsigned tsize)
{
	return (uint64_t)h->timecnt * tsize + h->timecnt +
	    (uint64_t)h->typecnt * 6 + h->charcnt +
	    (uint64_t)h->leapcnt * (tsize + 4) + h->isstdcnt + h->isutcnt;
}

static int
tzif_block(struct pf_tz *tz, struct pf_rbuf *r, const struct tzif_hdr *h,
    unsigned tsize, struct pf_err *err)
{
	const uint8_t	*times, *idx, *tt, *chars;
	size_t		 i;

	if (tzif_block_len(h, tsize) > rbuf_left(r)) {
		pf_err_set(err, "truncated data block (%u transitions, %u "
		    "types announced)", h->timecnt, h->typecnt);
		return -1;
	}
	if (h->leapcnt != 0) {
		pf_err_set(err, "leap-second zones (\"right/\") are not "
		    "supported");
		return -1;
	}
	/* The length check above makes these gets infallible. */
	if (rbuf_get_ptr(r, &times, (size_t)h->timecnt * tsize) == -1 ||
	    rbuf_get_ptr(r, &idx, h->timecnt) == -1 ||
	    rbuf_get_ptr(r, &tt, (size_t)h->typecnt * 6) == -1 ||
	    rbuf_get_ptr(r, &chars, h->charcnt) == -1 ||
	    rbuf_skip(r, (size_t)h->isstdcnt + h->isutcnt) == -1) {
		pf_err_set(err, "truncated data block");
		return -1;
	}
	if (h->timecnt > 0) {
		tz->trans = pf_reallocarray(NULL, h->timecnt, sizeof(int64_t));
		tz->trans_type = pf_malloc(h->timecnt);
		if (tz->trans == NULL || tz->trans_type == NULL)
			goto oom;
	}
	tz->types = pf_reallocarray(NULL, h->typecnt, sizeof(*tz->types));
	tz->chars = pf_malloc((size_t)h->charcnt + 1);
	if (tz->types == NULL || tz->chars == NULL)
		goto oom;
	for (i = 0; i < h->timecnt; i++) {
		tz->trans[i] = tsize == 8 ? tz_be64(times + i * 8) :
		    (int32_t)tz_be32(times + i * 4);
		if (i > 0 && tz->trans[i] <= tz->trans[i - 1]) {
			pf_err_set(err, "transition times are not ascending "
			    "(entry %zu)", i);
			return -1;
		}
		if (idx[i] >= h->typecnt) {
			pf_err_set(err, "transition %zu names type %u of %u",
			    i, idx[i], h->typecnt);
			return -1;
		}
		tz->trans_type[i] = idx[i];
	}
	tz->ntrans = h->timecnt;
	for (i = 0; i < h->typecnt; i++) {
		const uint8_t	*e = tt + i * 6;
		int32_t		 off = (int32_t)tz_be32(e);

		if (off < TZ_OFF_MIN || off > TZ_OFF_MAX) {
			pf_err_set(err, "type %zu: UT offset %d out of range",
			    i, (int)off);
			return -1;
		}
		if (e[4] > 1) {
			pf_err_set(err, "type %zu: bad DST flag %u", i, e[4]);
			return -1;
		}
		if (e[5] >= h->charcnt) {
			pf_err_set(err, "type %zu: designation index %u past "
			    "the table", i, e[5]);
			return -1;
		}
		tz->types[i].off = off;
		tz->types[i].isdst = e[4];
		tz->types[i].abbr = e[5];
	}
	tz->ntypes = h->typecnt;
	memcpy(tz->chars, chars, h->charcnt);
	tz->chars[h->charcnt] = '\0';
	tz->nchars = h->charcnt;
	return 0;
oom:
	pf_err_set(err, "out of memory");
	return -1;
}

static int
tz_parse_tzif(struct pf_tz *tz, const uint8_t *data, size_t len,
    struct pf_err *err)
{
	struct pf_rbuf	 r;
	struct tzif_hdr	 h;
	const uint8_t	*p, *nl;
	size_t		 left;

	rbuf_init(&r, data, len);
	if (tzif_header(&r, &h, err) == -1)
		return -1;
	if (h.version == 0)
		return tzif_block(tz, &r, &h, 4, err);
	/* Version 2+: skip the 32-bit block, use the 64-bit one. */
	if (tzif_block_len(&h, 4) > rbuf_left(&r)) {
		pf_err_set(err, "truncated version 1 data block");
		return -1;
	}
	(void)rbuf_skip(&r, (size_t)tzif_block_len(&h, 4));
	if (tzif_header(&r, &h, err) == -1)
		return -1;
	if (h.version == 0) {
		pf_err_set(err, "second header has version 1");
		return -1;
	}
	if (tzif_block(tz, &r, &h, 8, err) == -1)
		return -1;
	/* Footer: "\n" TZ-string "\n". */
	left = rbuf_left(&r);
	if (left < 2 || rbuf_get_ptr(&r, &p, left) == -1 || p[0] != '\n') {
		pf_err_set(err, "missing footer");
		return -1;
	}
	if ((nl = memchr(p + 1, '\n', left - 1)) == NULL) {
		pf_err_set(err, "unterminated footer");
		return -1;
	}
	if (nl == p + 1)
		return 0;		/* empty: no rule */
	if (tz_parse_rule((const char *)p + 1, (size_t)(nl - p - 1),
	    &tz->rule) == -1) {
		pf_err_set(err, "bad POSIX-TZ footer rule \"%.*s\"",
		    (int)(nl - p - 1 > 64 ? 64 : nl - p - 1), p + 1);
		return -1;
	}
	tz->has_rule = 1;
	return 0;
}

int
tz_load(const char *name, struct pf_tz **out, struct pf_err *err)
{
	struct pf_tz	*tz;
	const char	*dir;
	char		*path = NULL;
	uint8_t		*data = NULL;
	size_t		 len, plen;
	struct pf_err	 perr;

	*out = NULL;
	if (tz_name_check(name, err) == -1)
		return -1;
	if ((tz = pf_calloc(1, sizeof(*tz))) == NULL ||
	    (tz->name = pf_strdup(name)) == NULL)
		goto oom;
	if (strcmp(name, "UTC") == 0) {
		/* Built in, so UTC works on hosts without tzdata. */
		if ((tz->types = pf_calloc(1, sizeof(*tz->types))) == NULL ||
		    (tz->chars = pf_strdup("UTC")) == NULL)
			goto oom;
		tz->ntypes = 1;
		tz->nchars = 3;
		*out = tz;
		return 0;
	}
	dir = getenv("TZDIR");
	if (dir == NULL || dir[0] == '\0')
		dir = TZ_DEFAULT_DIR;
	plen = strlen(dir) + 1 + strlen(name) + 1;
	if (plen > PATH_MAX) {
		pf_err_set(err, "time zone '%s': path too long", name);
		goto fail;
	}
	if ((path = pf_malloc(plen)) == NULL)
		goto oom;
	(void)snprintf(path, plen, "%s/%s", dir, name);
	if (tz_read_file(path, name, &data, &len, err) == -1)
		goto fail;
	if (tz_parse_tzif(tz, data, len, &perr) == -1) {
		pf_err_set(err, "time zone '%s': %s: %s", name, path,
		    perr.msg);
		goto fail;
	}
	pf_free(data);
	pf_free(path);
	*out = tz;
	return 0;
oom:
	pf_err_set(err, "time zone '%s': out of memory", name);
fail:
	pf_free(data);
	pf_free(path);
	tz_free(tz);
	return -1;
}

void
tz_free(struct pf_tz *tz)
{
	if (tz == NULL)
		return;
	pf_free(tz->name);
	pf_free(tz->trans);
	pf_free(tz->trans_type);
	pf_free(tz->types);
	pf_free(tz->chars);
	pf_free(tz);
}

const char *
tz_name(const struct pf_tz *tz)
{
	return tz == NULL ? "UTC" : tz->name;
}

/* ---- POSIX-TZ rules ---------------------------------------------------- */

struct tz_scan {
	const char	*p, *end;
};

static int
scan_num(struct tz_scan *s, int max, int *out)
{
	int	 v = 0, n = 0;

	while (s->p < s->end && *s->p >= '0' && *s->p <= '9') {
		v = v * 10 + (*s->p - '0');
		if (v > max)
			return -1;
		s->p++;
		n++;
	}
	if (n == 0)
		return -1;
	*out = v;
	return 0;
}

/* [+-]hh[:mm[:ss]] with hh <= maxh; returns seconds. */
static int
scan_hms(struct tz_scan *s, int maxh, int32_t *out)
{
	int	 sign = 1, h, m = 0, sec = 0;

	if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
		sign = *s->p++ == '-' ? -1 : 1;
	if (scan_num(s, maxh, &h) == -1)
		return -1;
	if (s->p < s->end && *s->p == ':') {
		s->p++;
		if (scan_num(s, 59, &m) == -1)
			return -1;
		if (s->p < s->end && *s->p == ':') {
			s->p++;
			if (scan_num(s, 59, &sec) == -1)
				return -1;
		}
	}
	*out = sign * (h * 3600 + m * 60 + sec);
	return 0;
}

static int
scan_abbr(struct tz_scan *s, char *out, size_t outlen)
{
	const char	*b;
	size_t		 n;

	if (s->p < s->end && *s->p == '<') {
		b = ++s->p;
		while (s->p < s->end && *s->p != '>') {
			char c = *s->p;
			if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			    (c >= '0' && c <= '9') || c == '+' || c == '-'))
				return -1;
			s->p++;
		}
		if (s->p >= s->end)
			return -1;
		n = (size_t)(s->p - b);
		s->p++;
	} else {
		b = s->p;
		while (s->p < s->end && ((*s->p >= 'A' && *s->p <= 'Z') ||
		    (*s->p >= 'a' && *s->p <= 'z')))
			s->p++;
		n = (size_t)(s->p - b);
	}
	if (n < 3 || n >= outlen)
		return -1;
	memcpy(out, b, n);
	out[n] = '\0';
	return 0;
}

static int
scan_date(struct tz_scan *s, struct tz_date *d)
{
	memset(d, 0, sizeof(*d));
	if (s->p < s->end && *s->p == 'J') {
		s->p++;
		d->kind = TZ_DATE_JULIAN1;
		if (scan_num(s, 365, &d->n) == -1 || d->n < 1)
			return -1;
	} else if (s->p < s->end && *s->p == 'M') {
		s->p++;
		d->kind = TZ_DATE_MWD;
		if (scan_num(s, 12, &d->mon) == -1 || d->mon < 1 ||
		    s->p >= s->end || *s->p++ != '.' ||
		    scan_num(s, 5, &d->week) == -1 || d->week < 1 ||
		    s->p >= s->end || *s->p++ != '.' ||
		    scan_num(s, 6, &d->wday) == -1)
			return -1;
	} else {
		d->kind = TZ_DATE_JULIAN0;
		if (scan_num(s, 365, &d->n) == -1)
			return -1;
	}
	d->time = 2 * 3600;
	if (s->p < s->end && *s->p == '/') {
		s->p++;
		if (scan_hms(s, 167, &d->time) == -1)
			return -1;
	}
	return 0;
}

/* e.g. "CET-1CEST,M3.5.0,M10.5.0/3"; offsets in the string are west. */
static int
tz_parse_rule(const char *str, size_t len, struct tz_rule *r)
{
	struct tz_scan	 s = { str, str + len };
	int32_t		 off;

	memset(r, 0, sizeof(*r));
	if (scan_abbr(&s, r->std_abbr, sizeof(r->std_abbr)) == -1 ||
	    scan_hms(&s, 24, &off) == -1)
		return -1;
	r->std_off = -off;
	if (s.p == s.end) {
		r->dst_off = r->std_off;
		return 0;
	}
	if (scan_abbr(&s, r->dst_abbr, sizeof(r->dst_abbr)) == -1)
		return -1;
	r->has_dst = 1;
	r->dst_off = r->std_off + 3600;
	if (s.p < s.end && *s.p != ',') {
		if (scan_hms(&s, 24, &off) == -1)
			return -1;
		r->dst_off = -off;
	}
	/* zic always writes the rule; the POSIX default is not guessed. */
	if (s.p >= s.end || *s.p++ != ',' || scan_date(&s, &r->start) == -1 ||
	    s.p >= s.end || *s.p++ != ',' || scan_date(&s, &r->end) == -1 ||
	    s.p != s.end)
		return -1;
	return 0;
}

/* Days since the epoch of the rule date's local midnight in `year`. */
static int64_t
tz_rule_date(const struct tz_date *d, int64_t year)
{
	int64_t	 jan1 = tz_days_from_civil(year, 1, 1), first;
	int	 day, mdays;

	switch (d->kind) {
	case TZ_DATE_JULIAN1:
		return jan1 + d->n - 1 + (tz_leap(year) && d->n >= 60);
	case TZ_DATE_JULIAN0:
		return jan1 + d->n;
	case TZ_DATE_MWD:
	default:
		first = tz_days_from_civil(year, d->mon, 1);
		day = 1 + (d->wday - tz_wday(first) + 7) % 7 +
		    (d->week - 1) * 7;
		mdays = tz_mdays(year, d->mon);
		while (day > mdays)
			day -= 7;
		return first + day - 1;
	}
}

/* The two events of `year`, in time order. */
static int
tz_rule_events(const struct tz_rule *r, int64_t year, struct tz_event *ev)
{
	struct tz_event	 tmp;

	ev[0].at = tz_rule_date(&r->start, year) * 86400 + r->start.time -
	    r->std_off;
	ev[0].off = r->dst_off;
	ev[0].isdst = 1;
	ev[1].at = tz_rule_date(&r->end, year) * 86400 + r->end.time -
	    r->dst_off;
	ev[1].off = r->std_off;
	ev[1].isdst = 0;
	if (ev[1].at < ev[0].at) {
		tmp = ev[0];
		ev[0] = ev[1];
		ev[1] = tmp;
	}
	return 2;
}

/*
 * Events of the years around t, in time order; on equal instants the later
 * year's event wins (so "DST all year" rules have no zero-length gaps).
 */
static size_t
tz_rule_window(const struct tz_rule *r, int64_t t, struct tz_event *ev)
{
	int64_t		 y, yy;
	int		 m, d;
	size_t		 n = 0, i, j;
	struct tz_event	 tmp;

	/* Far-off instants use the years at the limit (no overflow). */
	if (t > TZ_T_LIMIT)
		t = TZ_T_LIMIT;
	if (t < -TZ_T_LIMIT)
		t = -TZ_T_LIMIT;
	tz_civil_from_days(tz_floordiv(t, 86400), &y, &m, &d);
	for (yy = y - 2; yy <= y + 2; yy++)
		n += (size_t)tz_rule_events(r, yy, ev + n);
	/* Insertion sort, stable: at most 10 entries. */
	for (i = 1; i < n; i++) {
		tmp = ev[i];
		for (j = i; j > 0 && ev[j - 1].at > tmp.at; j--)
			ev[j] = ev[j - 1];
		ev[j] = tmp;
	}
	return n;
}

static void
tz_rule_at(const struct tz_rule *r, int64_t t, int32_t *off, int *isdst)
{
	struct tz_event	 ev[10];
	size_t		 n, i;

	*off = r->std_off;
	*isdst = 0;
	if (!r->has_dst)
		return;
	n = tz_rule_window(r, t, ev);
	/* Before the first event of year-2 the state is the last one's. */
	*off = ev[n - 1].off;
	*isdst = ev[n - 1].isdst;
	for (i = 0; i < n && ev[i].at <= t; i++) {
		*off = ev[i].off;
		*isdst = ev[i].isdst;
	}
}

static int64_t
tz_rule_next(const struct tz_rule *r, int64_t t)
{
	struct tz_event	 ev[10];
	size_t		 n, i;

	if (!r->has_dst)
		return INT64_MAX;
	n = tz_rule_window(r, t, ev);
	for (i = 0; i < n; i++)
		if (ev[i].at > t)
			return ev[i].at;
	return INT64_MAX;
}

static int64_t
tz_rule_prev(const struct tz_rule *r, int64_t t)
{
	struct tz_event	 ev[10];
	size_t		 n, i;
	int64_t		 best = INT64_MIN;

	if (!r->has_dst)
		return INT64_MIN;
	n = tz_rule_window(r, t, ev);
	for (i = 0; i < n; i++)
		if (ev[i].at <= t)
			best = ev[i].at;
	return best;
}

/* ---- lookups ----------------------------------------------------------- */

/* Index of the last transition <= t, or -1. */
static ssize_t
tz_search(const struct pf_tz *tz, int64_t t)
{
	size_t	 lo = 0, hi = tz->ntrans, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (tz->trans[mid] <= t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (ssize_t)lo - 1;
}

/* The rule governs after the last transition, or always if there are none. */
static int
tz_in_rule(const struct pf_tz *tz, int64_t t)
{
	return tz->has_rule &&
	    (tz->ntrans == 0 || t >= tz->trans[tz->ntrans - 1]);
}

static void
tz_lookup(const struct pf_tz *tz, int64_t t, int32_t *off, int *isdst,
    const char **abbr)
{
	const struct tz_type	*ty;
	ssize_t			 i;

	if (tz_in_rule(tz, t)) {
		tz_rule_at(&tz->rule, t, off, isdst);
		if (abbr != NULL)
			*abbr = *isdst ? tz->rule.dst_abbr : tz->rule.std_abbr;
		return;
	}
	i = tz_search(tz, t);
	ty = &tz->types[i < 0 ? 0 : tz->trans_type[i]];
	*off = ty->off;
	*isdst = ty->isdst;
	if (abbr != NULL)
		*abbr = tz->chars + ty->abbr;
}

int32_t
tz_offset_at(const struct pf_tz *tz, int64_t t)
{
	int32_t	 off;
	int	 isdst;

	if (tz == NULL)
		return 0;
	tz_lookup(tz, t, &off, &isdst, NULL);
	return off;
}

/* First instant > t at which the zone's table or rule changes type. */
static int64_t
tz_next_raw(const struct pf_tz *tz, int64_t t)
{
	ssize_t	 i;

	if (tz_in_rule(tz, t))
		return tz_rule_next(&tz->rule, t);
	i = tz_search(tz, t);
	if ((size_t)(i + 1) < tz->ntrans)
		return tz->trans[i + 1];
	return INT64_MAX;
}

/* Last instant <= t at which the zone's table or rule changed type. */
static int64_t
tz_prev_raw(const struct pf_tz *tz, int64_t t)
{
	ssize_t	 i;
	int64_t	 x;

	if (tz_in_rule(tz, t)) {
		x = tz_rule_prev(&tz->rule, t);
		if (tz->ntrans > 0 && x < tz->trans[tz->ntrans - 1])
			x = tz->trans[tz->ntrans - 1];
		return x;
	}
	i = tz_search(tz, t);
	return i < 0 ? INT64_MIN : tz->trans[i];
}

void
tz_span_at(const struct pf_tz *tz, int64_t t, struct tz_span *out)
{
	int64_t	 x;
	int	 i;

	out->start = INT64_MIN;
	out->end = INT64_MAX;
	out->off = out->prev_off = 0;
	if (tz == NULL)
		return;
	out->off = out->prev_off = tz_offset_at(tz, t);
	/*
	 * Transitions that change only the abbreviation or DST flag are
	 * stepped over, a bounded number of times (a hostile file may hold
	 * thousands); stopping early only makes a span shorter.
	 */
	x = t;
	for (i = 0; i < 64; i++) {
		x = tz_next_raw(tz, x);
		if (x == INT64_MAX || tz_offset_at(tz, x) != out->off)
			break;
	}
	out->end = x;
	x = t;
	for (i = 0; i < 64; i++) {
		x = tz_prev_raw(tz, x);
		if (x == INT64_MIN)
			break;
		if (tz_offset_at(tz, x - 1) != out->off) {
			out->prev_off = tz_offset_at(tz, x - 1);
			break;
		}
		x--;
	}
	out->start = x;
}

void
tz_localtime(const struct pf_tz *tz, int64_t t, struct tm *out)
{
	int32_t		 off = 0;
	int		 isdst = 0, m, d;
	const char	*abbr = "UTC";
	int64_t		 lt, days, secs, y;

	if (t > TZ_T_LIMIT)
		t = TZ_T_LIMIT;
	if (t < -TZ_T_LIMIT)
		t = -TZ_T_LIMIT;
	if (tz != NULL)
		tz_lookup(tz, t, &off, &isdst, &abbr);
	lt = t + off;
	days = tz_floordiv(lt, 86400);
	secs = lt - days * 86400;
	tz_civil_from_days(days, &y, &m, &d);
	memset(out, 0, sizeof(*out));
	out->tm_year = (int)(y - 1900);
	out->tm_mon = m - 1;
	out->tm_mday = d;
	out->tm_hour = (int)(secs / 3600);
	out->tm_min = (int)(secs / 60 % 60);
	out->tm_sec = (int)(secs % 60);
	out->tm_wday = tz_wday(days);
	out->tm_yday = (int)(days - tz_days_from_civil(y, 1, 1));
	out->tm_isdst = isdst;
	out->tm_gmtoff = off;
	out->tm_zone = abbr;
}
