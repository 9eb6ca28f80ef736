/*
 * Loading a time zone from its TZif file (RFC 8536).  The file is hostile
 * input: it is read whole into a capped buffer and every count is checked
 * against the bytes that are left before anything is allocated or read.
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
#include "tz_int.h"

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
