/*
 * The table-driven message codec (picoflow/tlv.h): one encoder, one
 * decoder and one free walking a message's field table.  Decoding is two
 * passes: the first checks the payload's structure, every known field's
 * size and count without allocating; the second allocates exact-size
 * arrays and stores the values.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "picoflow/alloc.h"
#include "picoflow/buf.h"
#include "picoflow/err.h"
#include "picoflow/frame.h"
#include "picoflow/tlv.h"

/* Pointer members by name, so CAT() makes the member const, not its target. */
typedef char		**pstrv;
typedef int		*pintv;
typedef struct tlv_kv	*pkvv;
typedef const uint8_t	*pbytes;
typedef void		*pany;

#define AT(obj, off, type)	((type *)(void *)((char *)(obj) + (off)))
#define CAT(obj, off, type)	((const type *)(const void *)	\
				    ((const char *)(obj) + (off)))

/*
 * A TLV_STR member may be declared char * (the struct owns it) or
 * const char * (an encoder's borrowed view): both have the same
 * representation (C11 6.2.5), and these copy the pointer's bytes, so
 * neither access needs a cast that drops const.
 */
static char *
str_get(const void *obj, size_t off)
{
	char	*s;

	memcpy(&s, (const char *)obj + off, sizeof(s));
	return s;
}

static void
str_set(void *obj, size_t off, char *s)
{
	memcpy((char *)obj + off, &s, sizeof(s));
}

int
tlv_err(struct pf_err *err, const struct tlv_msg *m,
    const struct tlv_field *d, const char *fmt, ...)
{
	char	 what[PF_ERR_MAX];
	va_list	 ap;

	va_start(ap, fmt);
	(void)vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (d != NULL)
		pf_err_set(err, "%s: field %s (tag %u): %s", m->name, d->name,
		    d->tag, what);
	else
		pf_err_set(err, "%s: %s", m->name, what);
	return -1;
}

static const struct tlv_field *
tlv_find(const struct tlv_msg *m, uint16_t tag, size_t *idx)
{
	size_t	 i;

	for (i = 0; i < m->n; i++)
		if (m->f[i].tag == tag) {
			*idx = i;
			return &m->f[i];
		}
	return NULL;
}

static int
kind_is_vector(uint8_t kind)
{
	return kind == TLV_STRV || kind == TLV_I32V || kind == TLV_KVV ||
	    kind == TLV_MSGV;
}

/* The exact wire size of a fixed-size kind, 0 for variable sizes. */
static size_t
kind_size(uint8_t kind)
{
	switch (kind) {
	case TLV_U8:
	case TLV_BOOL:
		return 1;
	case TLV_U32:
	case TLV_I32:
	case TLV_I32V:
		return 4;
	case TLV_U64:
	case TLV_I64:
	case TLV_TIME:
		return 8;
	default:
		return 0;
	}
}

static size_t
field_maxn(const struct tlv_field *d)
{
	return d->maxn != 0 ? d->maxn : TLV_REPEAT_MAX;
}

/* The size of one entry of a vector kind. */
static size_t
entry_size(const struct tlv_field *d)
{
	switch (d->kind) {
	case TLV_STRV:
		return sizeof(char *);
	case TLV_I32V:
		return sizeof(int);
	case TLV_KVV:
		return sizeof(struct tlv_kv);
	default:
		return d->sub->size;
	}
}

static int
str_is_empty(const char *s)
{
	return s == NULL || *s == '\0';
}

/* Two's complement without implementation-defined conversions. */
static int
i32_from_wire(uint32_t v)
{
	return v <= INT32_MAX ? (int)v : (int)((int64_t)v - 4294967296LL);
}

static int64_t
i64_from_wire(uint64_t v)
{
	return v <= INT64_MAX ? (int64_t)v : -(int64_t)(~v) - 1;
}

static void
entry_init(const struct tlv_msg *sub, void *e)
{
	memset(e, 0, sub->size);
	if (sub->init != NULL)
		sub->init(e);
}

void
tlv_free(const struct tlv_msg *m, void *obj)
{
	const struct tlv_field	*d;
	struct tlv_kv		*kv;
	char			**sv;
	char			*v;
	size_t			 i, j, *n;

	for (i = 0; i < m->n; i++) {
		d = &m->f[i];
		switch (d->kind) {
		case TLV_STR:
			pf_free(str_get(obj, d->off));
			str_set(obj, d->off, NULL);
			break;
		case TLV_STRV:
			sv = *AT(obj, d->off, pstrv);
			n = AT(obj, d->noff, size_t);
			for (j = 0; sv != NULL && j < *n; j++)
				pf_free(sv[j]);
			pf_free(sv);
			*AT(obj, d->off, pstrv) = NULL;
			*n = 0;
			break;
		case TLV_I32V:
			pf_free(*AT(obj, d->off, pintv));
			*AT(obj, d->off, pintv) = NULL;
			*AT(obj, d->noff, size_t) = 0;
			break;
		case TLV_KVV:
			kv = *AT(obj, d->off, pkvv);
			n = AT(obj, d->noff, size_t);
			for (j = 0; kv != NULL && j < *n; j++) {
				pf_free(kv[j].key);
				pf_free(kv[j].value);
			}
			pf_free(kv);
			*AT(obj, d->off, pkvv) = NULL;
			*n = 0;
			break;
		case TLV_MSGV:
			v = *AT(obj, d->off, pany);
			n = AT(obj, d->noff, size_t);
			for (j = 0; v != NULL && j < *n; j++)
				tlv_free(d->sub, v + j * d->sub->size);
			pf_free(v);
			*AT(obj, d->off, pany) = NULL;
			*n = 0;
			break;
		default:
			break;
		}
	}
}

/*
 * Pass 1: walk the payload, check its structure and every known field's
 * size, count each tag (a singleton seen twice is refused); nothing is
 * allocated.
 */
static int
tlv_scan(const struct tlv_msg *m, const void *p, size_t len, size_t *cnt,
    struct pf_err *err)
{
	struct frame_iter	 it;
	struct frame_field	 fld;
	const struct tlv_field	*d;
	struct pf_err		 e;
	size_t			 i, size;
	int			 rc;

	memset(cnt, 0, m->n * sizeof(*cnt));
	frame_iter_init(&it, p, len, m->max_fields);
	while ((rc = frame_iter_next(&it, &fld, &e)) == 1) {
		if ((d = tlv_find(m, fld.tag, &i)) == NULL)
			continue;	/* a newer peer's field */
		size = kind_size(d->kind);
		if (size != 0 && fld.len != size)
			return tlv_err(err, m, d, "%u bytes, expected exactly "
			    "%zu", fld.len, size);
		if (!kind_is_vector(d->kind) && cnt[i] > 0)
			return tlv_err(err, m, d, "appears more than once");
		if (cnt[i] >= field_maxn(d))
			return tlv_err(err, m, d, "more than %zu entries",
			    field_maxn(d));
		cnt[i]++;
	}
	if (rc == -1)
		return tlv_err(err, m, NULL, "%s", e.msg);
	for (i = 0; i < m->n; i++)
		if ((m->f[i].flags & TLV_REQ) && cnt[i] == 0)
			return tlv_err(err, m, NULL, "missing required field "
			    "%s (tag %u)", m->f[i].name, m->f[i].tag);
	return 0;
}

static int
get_str(const struct tlv_msg *m, const struct tlv_field *d,
    const struct frame_field *fld, char **out, struct pf_err *err)
{
	struct pf_err	 e;

	if (frame_field_str(fld, d->max, out, &e) == -1)
		return tlv_err(err, m, d, "%s", e.msg);
	return 0;
}

/* A key/value entry: u32 key length, key, value; both without NUL. */
static int
get_kv(const struct tlv_msg *m, const struct tlv_field *d,
    const struct frame_field *fld, struct tlv_kv *kv, struct pf_err *err)
{
	struct frame_field	 part;
	uint32_t		 klen;

	if (fld->len > d->max)
		return tlv_err(err, m, d, "%u bytes, over the limit of %zu",
		    fld->len, d->max);
	if (fld->len < 4)
		return tlv_err(err, m, d, "%u bytes, too short for a key "
		    "length", fld->len);
	klen = le32_get(fld->data);
	if (klen == 0 || klen > TLV_KEY_MAX || klen > fld->len - 4)
		return tlv_err(err, m, d, "bad key length %u in %u bytes",
		    klen, fld->len);
	part.tag = fld->tag;
	part.len = klen;
	part.data = fld->data + 4;
	if (get_str(m, d, &part, &kv->key, err) == -1)
		return -1;
	part.len = fld->len - 4 - klen;
	part.data = fld->data + 4 + klen;
	if (get_str(m, d, &part, &kv->value, err) == -1) {
		pf_free(kv->key);
		kv->key = NULL;
		return -1;
	}
	return 0;
}

/* Pass 2: store one field (its size and count were checked by tlv_scan). */
static int
tlv_store(const struct tlv_msg *m, const struct tlv_field *d,
    const struct frame_field *fld, void *obj, struct pf_err *err)
{
	size_t		*n;
	char		**s, *e;
	uint64_t	 u;

	if (d->flags & TLV_SETS_GATE)
		*AT(obj, m->gate, int) = 1;
	switch (d->kind) {
	case TLV_U8:
		*AT(obj, d->off, uint8_t) = fld->data[0];
		break;
	case TLV_BOOL:
		if (fld->data[0] > 1)
			return tlv_err(err, m, d, "a bool must be 0 or 1, got "
			    "%u", fld->data[0]);
		*AT(obj, d->off, bool) = fld->data[0] == 1;
		break;
	case TLV_U32:
		*AT(obj, d->off, uint32_t) = le32_get(fld->data);
		break;
	case TLV_I32:
		*AT(obj, d->off, int) = i32_from_wire(le32_get(fld->data));
		break;
	case TLV_U64:
		*AT(obj, d->off, uint64_t) = le64_get(fld->data);
		break;
	case TLV_I64:
		*AT(obj, d->off, int64_t) = i64_from_wire(le64_get(fld->data));
		break;
	case TLV_TIME:
		if ((u = le64_get(fld->data)) > INT64_MAX)
			return tlv_err(err, m, d, "value out of range");
		*AT(obj, d->off, int64_t) = (int64_t)u;
		break;
	case TLV_STR:
		if (get_str(m, d, fld, &e, err) == -1)
			return -1;
		str_set(obj, d->off, e);
		if ((d->flags & TLV_REQ) && *e == '\0')
			return tlv_err(err, m, d, "must not be empty");
		break;
	case TLV_BYTES:
		if (fld->len > d->max)
			return tlv_err(err, m, d, "%u bytes, over the limit of "
			    "%zu", fld->len, d->max);
		if ((d->flags & TLV_REQ) && fld->len == 0)
			return tlv_err(err, m, d, "must not be empty");
		*AT(obj, d->off, pbytes) = fld->data;
		*AT(obj, d->noff, size_t) = fld->len;
		break;
	case TLV_STRV:
		n = AT(obj, d->noff, size_t);
		s = *AT(obj, d->off, pstrv) + *n;
		if (get_str(m, d, fld, s, err) == -1)
			return -1;
		(*n)++;
		break;
	case TLV_I32V:
		n = AT(obj, d->noff, size_t);
		(*AT(obj, d->off, pintv))[*n] =
		    i32_from_wire(le32_get(fld->data));
		(*n)++;
		break;
	case TLV_KVV:
		n = AT(obj, d->noff, size_t);
		if (get_kv(m, d, fld, *AT(obj, d->off, pkvv) + *n, err) == -1)
			return -1;
		(*n)++;
		break;
	case TLV_MSGV:
		n = AT(obj, d->noff, size_t);
		e = (char *)*AT(obj, d->off, pany) + *n * d->sub->size;
		entry_init(d->sub, e);
		(*n)++;		/* so a failure frees what it holds */
		if (tlv_decode(d->sub, fld->data, fld->len, e, err) == -1)
			return -1;
		break;
	}
	return 0;
}

int
tlv_decode(const struct tlv_msg *m, const void *p, size_t len, void *obj,
    struct pf_err *err)
{
	size_t			 cnt[TLV_FIELDS_MAX], i;
	struct frame_iter	 it;
	struct frame_field	 fld;
	const struct tlv_field	*d;
	void			*v;

	if (m->n > TLV_FIELDS_MAX)
		return tlv_err(err, m, NULL, "too many fields in its table");
	if (tlv_scan(m, p, len, cnt, err) == -1)
		return -1;
	/* Exact-size arrays: the counts are known and capped by now. */
	for (i = 0; i < m->n; i++) {
		d = &m->f[i];
		if (!kind_is_vector(d->kind) || cnt[i] == 0)
			continue;
		if ((v = pf_calloc(cnt[i], entry_size(d))) == NULL) {
			tlv_free(m, obj);
			return tlv_err(err, m, d, "out of memory for %zu "
			    "entries", cnt[i]);
		}
		*AT(obj, d->off, pany) = v;
		*AT(obj, d->noff, size_t) = 0;
	}
	frame_iter_init(&it, p, len, m->max_fields);
	while (frame_iter_next(&it, &fld, NULL) == 1) {
		if ((d = tlv_find(m, fld.tag, &i)) == NULL)
			continue;
		if (tlv_store(m, d, &fld, obj, err) == -1) {
			tlv_free(m, obj);
			return -1;
		}
	}
	if (m->check != NULL && m->check(obj, err) == -1) {
		tlv_free(m, obj);
		return -1;
	}
	return 0;
}

/* Checks a string the encoder is about to send like the decoder would. */
static int
put_str(const struct tlv_msg *m, const struct tlv_field *d, const char *s,
    struct pf_buf *b, struct pf_err *err)
{
	size_t	 len;

	if (s == NULL)
		return tlv_err(err, m, d, "NULL entry");
	if ((len = strlen(s)) > d->max)
		return tlv_err(err, m, d, "%zu bytes, over the limit of %zu",
		    len, d->max);
	frame_add_bytes(b, d->tag, s, len);
	return 0;
}

static int
put_kv(const struct tlv_msg *m, const struct tlv_field *d,
    const struct tlv_kv *kv, struct pf_buf *b, struct pf_err *err)
{
	size_t	 klen, vlen;
	uint8_t	*t;

	if (kv->key == NULL || kv->value == NULL)
		return tlv_err(err, m, d, "NULL key or value");
	klen = strlen(kv->key);
	vlen = strlen(kv->value);
	if (klen == 0 || klen > TLV_KEY_MAX)
		return tlv_err(err, m, d, "key of %zu bytes (1..%d allowed)",
		    klen, TLV_KEY_MAX);
	if (vlen > d->max - 4 - klen)
		return tlv_err(err, m, d, "entry over the limit of %zu bytes",
		    d->max);
	if ((t = pf_malloc(4 + klen + vlen)) == NULL)
		return tlv_err(err, m, d, "out of memory");
	le32_put(t, (uint32_t)klen);
	memcpy(t + 4, kv->key, klen);
	memcpy(t + 4 + klen, kv->value, vlen);
	frame_add_bytes(b, d->tag, t, 4 + klen + vlen);
	pf_free(t);
	return 0;
}

/* Each entry of a TLV_MSGV as a nested payload. */
static int
put_msgv(const struct tlv_msg *m, const struct tlv_field *d,
    const void *obj, size_t n, struct pf_buf *b, struct pf_err *err)
{
	const char	*v = *CAT(obj, d->off, pany);
	struct pf_buf	 sub;
	size_t		 j;
	int		 rc = 0;

	buf_init(&sub, FRAME_PAYLOAD_MAX);
	for (j = 0; j < n && rc == 0; j++) {
		buf_reset(&sub);
		if ((rc = tlv_encode(d->sub, v + j * d->sub->size, &sub,
		    err)) == 0 && sub.failed)
			rc = tlv_err(err, m, d, "entry %zu too large, or out "
			    "of memory", j + 1);
		if (rc == 0)
			frame_add_bytes(b, d->tag, sub.data, sub.len);
	}
	buf_free(&sub);
	return rc;
}

/* The repeated kinds: the count, capped like the decoder caps it. */
static int
put_vector(const struct tlv_msg *m, const struct tlv_field *d,
    const void *obj, struct pf_buf *b, struct pf_err *err)
{
	size_t	 j, n = *CAT(obj, d->noff, size_t);

	if (n > field_maxn(d))
		return tlv_err(err, m, d, "%zu entries, over the limit of %zu",
		    n, field_maxn(d));
	if (d->kind == TLV_MSGV)
		return put_msgv(m, d, obj, n, b, err);
	for (j = 0; j < n; j++) {
		if (d->kind == TLV_STRV) {
			if (put_str(m, d, (*CAT(obj, d->off, pstrv))[j], b,
			    err) == -1)
				return -1;
		} else if (d->kind == TLV_I32V)
			frame_add_u32(b, d->tag,
			    (uint32_t)(*CAT(obj, d->off, pintv))[j]);
		else if (put_kv(m, d, &(*CAT(obj, d->off, pkvv))[j], b,
		    err) == -1)
			return -1;
	}
	return 0;
}

static int
put_field(const struct tlv_msg *m, const struct tlv_field *d,
    const void *obj, struct pf_buf *b, struct pf_err *err)
{
	const char	*s;
	int64_t		 t;
	size_t		 n;

	switch (d->kind) {
	case TLV_U8:
		frame_add_u8(b, d->tag, *CAT(obj, d->off, uint8_t));
		break;
	case TLV_BOOL:
		frame_add_u8(b, d->tag, *CAT(obj, d->off, bool) ? 1 : 0);
		break;
	case TLV_U32:
		frame_add_u32(b, d->tag, *CAT(obj, d->off, uint32_t));
		break;
	case TLV_I32:
		frame_add_u32(b, d->tag, (uint32_t)*CAT(obj, d->off, int));
		break;
	case TLV_U64:
		frame_add_u64(b, d->tag, *CAT(obj, d->off, uint64_t));
		break;
	case TLV_I64:
		frame_add_u64(b, d->tag,
		    (uint64_t)*CAT(obj, d->off, int64_t));
		break;
	case TLV_TIME:
		t = *CAT(obj, d->off, int64_t);
		if (t > 0 || (t == 0 && !(d->flags & TLV_POS)))
			frame_add_u64(b, d->tag, (uint64_t)t);
		break;
	case TLV_STR:
		s = str_get(obj, d->off);
		if (s == NULL && !(d->flags & TLV_REQ))
			break;
		if ((d->flags & TLV_REQ) && str_is_empty(s))
			return tlv_err(err, m, d, "required and empty");
		return put_str(m, d, s, b, err);
	case TLV_BYTES:
		n = *CAT(obj, d->noff, size_t);
		if (n > d->max || ((d->flags & TLV_REQ) && n == 0))
			return tlv_err(err, m, d, "%zu bytes (%d..%zu "
			    "allowed)", n, (d->flags & TLV_REQ) ? 1 : 0,
			    d->max);
		frame_add_bytes(b, d->tag, *CAT(obj, d->off, pbytes), n);
		break;
	default:
		return put_vector(m, d, obj, b, err);
	}
	return 0;
}

int
tlv_encode_frame(const struct tlv_msg *m, uint8_t type, const void *obj,
    struct pf_buf *out, struct pf_err *err)
{
	if (frame_begin(out, type) == -1)
		return tlv_err(err, m, NULL, "out of memory");
	if (tlv_encode(m, obj, out, err) == -1)
		return -1;
	if (frame_end(out) == -1)
		return tlv_err(err, m, NULL, "does not fit in one frame");
	return 0;
}

int
tlv_encode(const struct tlv_msg *m, const void *obj, struct pf_buf *b,
    struct pf_err *err)
{
	const struct tlv_field	*d;
	size_t			 i;

	if (m->check != NULL && m->check(obj, err) == -1)
		return -1;
	for (i = 0; i < m->n; i++) {
		d = &m->f[i];
		if ((d->flags & TLV_GATED) && !*CAT(obj, m->gate, int))
			continue;
		if (put_field(m, d, obj, b, err) == -1)
			return -1;
	}
	if (b->failed)
		return tlv_err(err, m, NULL, errno == EMSGSIZE ?
		    "message too large" : "out of memory");
	return 0;
}
