/*
 * The table codec (picoflow/tlv.h) on a small message of its own that
 * uses every kind and flag: round trip, table order on the wire, the
 * gate, the checks on both sides, hostile payloads, caps, and
 * allocation failure at every step of a decode.
 */
#include <criterion/criterion.h>

#include <stddef.h>
#include <string.h>

#include "picoflow/alloc.h"
#include "picoflow/buf.h"
#include "picoflow/frame.h"
#include "picoflow/tlv.h"
#include "../lib/wire_test.h"

struct item {
	char		*name;
	int64_t		 at;
};

struct msg {
	uint8_t		 u8;
	bool		 flag;
	uint32_t	 u32;
	int		 i32;
	uint64_t	 u64;
	int64_t		 i64;
	int64_t		 time;
	int64_t		 pos;
	char		*str;
	const uint8_t	*bytes;
	size_t		 nbytes;
	char		**strv;
	size_t		 nstrv;
	int		*i32v;
	size_t		 ni32v;
	struct tlv_kv	*kv;
	size_t		 nkv;
	struct item	*items;
	size_t		 nitems;
	int		 gate;
	uint32_t	 gated;
};

static void
item_init(void *obj)
{
	((struct item *)obj)->at = -1;
}

static const struct tlv_field item_fields[] = {
	TLV_F(struct item, 1, TLV_STR, TLV_REQ, "name", name, 8),
	TLV_F(struct item, 2, TLV_TIME, 0, "at", at, 0),
};

static const struct tlv_msg item_msg = { "ITEM", item_fields,
	TLV_NELEM(item_fields), 16, sizeof(struct item), item_init,
	NULL, 0 };

/* Tags out of order on purpose: the table's order is the wire's. */
static const struct tlv_field msg_fields[] = {
	TLV_F(struct msg, 9, TLV_U8, TLV_REQ, "u8", u8, 0),
	TLV_F(struct msg, 1, TLV_BOOL, 0, "flag", flag, 0),
	TLV_F(struct msg, 2, TLV_U32, 0, "u32", u32, 0),
	TLV_F(struct msg, 3, TLV_I32, 0, "i32", i32, 0),
	TLV_F(struct msg, 4, TLV_U64, 0, "u64", u64, 0),
	TLV_F(struct msg, 5, TLV_I64, 0, "i64", i64, 0),
	TLV_F(struct msg, 6, TLV_TIME, 0, "time", time, 0),
	TLV_F(struct msg, 7, TLV_TIME, TLV_POS, "pos", pos, 0),
	TLV_F(struct msg, 8, TLV_STR, 0, "str", str, 16),
	{ 10, TLV_BYTES, 0, "bytes", offsetof(struct msg, bytes),
	  offsetof(struct msg, nbytes), 4, 0, NULL },
	TLV_V(struct msg, 11, TLV_STRV, "strv", strv, nstrv, 8, 3),
	TLV_V(struct msg, 12, TLV_I32V, "i32v", i32v, ni32v, 0, 0),
	TLV_V(struct msg, 13, TLV_KVV, "kv", kv, nkv, 32, 0),
	TLV_M(struct msg, 14, "item", items, nitems, 2, &item_msg),
	TLV_F(struct msg, 15, TLV_U32, TLV_GATED | TLV_SETS_GATE, "gated",
	    gated, 0),
};

static int
msg_check(const void *obj, struct pf_err *err);

static const struct tlv_msg msg_msg = { "MSG", msg_fields,
	TLV_NELEM(msg_fields), 64, sizeof(struct msg), NULL, msg_check,
	offsetof(struct msg, gate) };

static int
msg_check(const void *obj, struct pf_err *err)
{
	const struct msg	*m = obj;

	if (m->i32 == 666)
		return tlv_err(err, &msg_msg, NULL, "i32 is cursed");
	return 0;
}

static char		*g_strv[] = { "a", "", "ccc" };
static int		 g_i32v[] = { -1, 0, 7 };
static struct tlv_kv	 g_kv[] = { { "K", "v" }, { "Empty", "" } };
static struct item	 g_items[] = { { "one", 5 }, { "two", -1 } };

static void
full(struct msg *m)
{
	memset(m, 0, sizeof(*m));
	m->u8 = 200;
	m->flag = true;
	m->u32 = 0xdeadbeef;
	m->i32 = -5;
	m->u64 = UINT64_MAX;
	m->i64 = INT64_MIN;
	m->time = 0;
	m->pos = 0;
	m->str = "hello";
	m->bytes = (const uint8_t *)"\0\1\2";
	m->nbytes = 3;
	m->strv = g_strv;
	m->nstrv = 3;
	m->i32v = g_i32v;
	m->ni32v = 3;
	m->kv = g_kv;
	m->nkv = 2;
	m->items = g_items;
	m->nitems = 2;
	m->gate = 1;
	m->gated = 3;
}

static void
empty(struct msg *m)
{
	memset(m, 0, sizeof(*m));
	m->time = m->pos = -1;
}

Test(tlv, round_trip_every_kind)
{
	struct msg	 in, out;
	struct pf_buf	 b;
	struct pf_err	 err;

	full(&in);
	buf_init(&b, 0);
	cr_assert_eq(tlv_encode(&msg_msg, &in, &b, &err), 0, "%s", err.msg);
	/* The first field is the table's first row (tag 9), not tag 1. */
	cr_assert_eq(le16_get(b.data), 9);
	empty(&out);
	cr_assert_eq(tlv_decode(&msg_msg, b.data, b.len, &out, &err), 0,
	    "%s", err.msg);
	cr_assert_eq(out.u8, 200);
	cr_assert(out.flag);
	cr_assert_eq(out.u32, 0xdeadbeef);
	cr_assert_eq(out.i32, -5);
	cr_assert_eq(out.u64, UINT64_MAX);
	cr_assert_eq(out.i64, INT64_MIN);
	cr_assert_eq(out.time, 0, "time 0 is sent");
	cr_assert_eq(out.pos, -1, "pos 0 is not sent (TLV_POS)");
	cr_assert_str_eq(out.str, "hello");
	cr_assert_eq(out.nbytes, 3);
	cr_assert_eq(memcmp(out.bytes, "\0\1\2", 3), 0);
	cr_assert_eq(out.nstrv, 3);
	cr_assert_str_eq(out.strv[1], "");
	cr_assert_str_eq(out.strv[2], "ccc");
	cr_assert_eq(out.ni32v, 3);
	cr_assert_eq(out.i32v[0], -1);
	cr_assert_eq(out.nkv, 2);
	cr_assert_str_eq(out.kv[1].key, "Empty");
	cr_assert_str_eq(out.kv[1].value, "");
	cr_assert_eq(out.nitems, 2);
	cr_assert_str_eq(out.items[0].name, "one");
	cr_assert_eq(out.items[0].at, 5);
	cr_assert_eq(out.items[1].at, -1, "entries start from their init");
	cr_assert_eq(out.gate, 1, "a gated field sets the gate");
	cr_assert_eq(out.gated, 3);
	tlv_free(&msg_msg, &out);
	cr_assert_null(out.str);
	cr_assert_null(out.items);
	cr_assert_eq(out.nitems, 0);
	buf_free(&b);
}

Test(tlv, gate_and_absent_fields)
{
	struct msg	 in, out;
	struct pf_buf	 b;
	struct pf_err	 err;

	empty(&in);
	in.gated = 9;
	buf_init(&b, 0);
	cr_assert_eq(tlv_encode(&msg_msg, &in, &b, &err), 0, "%s", err.msg);
	empty(&out);
	cr_assert_eq(tlv_decode(&msg_msg, b.data, b.len, &out, &err), 0,
	    "%s", err.msg);
	cr_assert_eq(out.gate, 0);
	cr_assert_eq(out.gated, 0, "not sent without the gate");
	cr_assert_null(out.str);
	cr_assert_eq(out.time, -1);
	tlv_free(&msg_msg, &out);
	buf_free(&b);
}

static int
decode_bytes(const uint8_t *p, size_t n, struct pf_err *err)
{
	struct msg	 out;
	int		 rc;

	empty(&out);
	rc = tlv_decode(&msg_msg, p, n, &out, err);
	tlv_free(&msg_msg, &out);
	return rc;
}

Test(tlv, hostile_payloads)
{
	uint8_t		 p[512], big[8];
	struct pf_err	 err;
	size_t		 n;

	n = wt_field(p, 0, 9, "\1", 1);
	cr_assert_eq(decode_bytes(p, n, &err), 0, "%s", err.msg);
	cr_assert_eq(decode_bytes(p, 0, &err), -1);
	cr_assert_str_eq(err.msg, "MSG: missing required field u8 (tag 9)");
	cr_assert_eq(decode_bytes(p, n - 1, &err), -1, "truncated");
	n = wt_field(p, n, 9, "\1", 1);
	cr_assert_eq(decode_bytes(p, n, &err), -1);
	cr_assert_str_eq(err.msg, "MSG: field u8 (tag 9): appears more than "
	    "once");
	n = wt_field(p, 0, 9, "\1", 1);
	n = wt_field(p, n, 2, "\1\2\3", 3);
	cr_assert_eq(decode_bytes(p, n, &err), -1);
	cr_assert_str_eq(err.msg, "MSG: field u32 (tag 2): 3 bytes, expected "
	    "exactly 4");
	n = wt_field(p, 0, 9, "\1", 1);
	n = wt_field(p, n, 1, "\2", 1);
	cr_assert_eq(decode_bytes(p, n, &err), -1);
	cr_assert_str_eq(err.msg, "MSG: field flag (tag 1): a bool must be 0 "
	    "or 1, got 2");
	n = wt_field(p, 0, 9, "\1", 1);
	memset(big, 0xff, sizeof(big));
	n = wt_field(p, n, 6, big, 8);
	cr_assert_eq(decode_bytes(p, n, &err), -1);
	cr_assert_str_eq(err.msg, "MSG: field time (tag 6): value out of "
	    "range");
	n = wt_field(p, 0, 9, "\1", 1);
	n = wt_field(p, n, 8, "a\0b", 3);
	cr_assert_eq(decode_bytes(p, n, &err), -1, "NUL in a string");
	n = wt_field(p, 0, 9, "\1", 1);
	n = wt_field(p, n, 8, "0123456789abcdefX", 17);
	cr_assert_eq(decode_bytes(p, n, &err), -1, "over the size cap");
	n = wt_field(p, 0, 9, "\1", 1);
	n = wt_field(p, n, 11, "a", 1);
	n = wt_field(p, n, 11, "b", 1);
	n = wt_field(p, n, 11, "c", 1);
	cr_assert_eq(decode_bytes(p, n, &err), 0, "%s", err.msg);
	n = wt_field(p, n, 11, "d", 1);
	cr_assert_eq(decode_bytes(p, n, &err), -1);
	cr_assert_str_eq(err.msg, "MSG: field strv (tag 11): more than 3 "
	    "entries");
	/* Unknown tags are skipped, wherever they are. */
	n = wt_field(p, 0, 999, "new", 3);
	n = wt_field(p, n, 9, "\1", 1);
	cr_assert_eq(decode_bytes(p, n, &err), 0, "%s", err.msg);
	/* A nested entry is checked like a message: required name. */
	n = wt_field(p, 0, 9, "\1", 1);
	n = wt_field(p, n, 14, "", 0);
	cr_assert_eq(decode_bytes(p, n, &err), -1);
	cr_assert_str_eq(err.msg, "ITEM: missing required field name (tag 1)");
	/* The message's check runs after decoding. */
	n = wt_field(p, 0, 9, "\1", 1);
	n = wt_field(p, n, 3, "\x9a\x02\0\0", 4);
	cr_assert_eq(decode_bytes(p, n, &err), -1);
	cr_assert_str_eq(err.msg, "MSG: i32 is cursed");
	/* A bad kv key length. */
	n = wt_field(p, 0, 9, "\1", 1);
	n = wt_field(p, n, 13, "\x09\0\0\0ab", 6);
	cr_assert_eq(decode_bytes(p, n, &err), -1);
	cr_assert(strstr(err.msg, "bad key length") != NULL, "%s", err.msg);
}

Test(tlv, encoder_refuses_what_the_decoder_rejects)
{
	struct msg	 in;
	struct pf_buf	 b;
	struct pf_err	 err;
	struct item	 items[3] = { { "a", 1 }, { "b", 2 }, { "c", 3 } };
	char		*nul[] = { NULL };

	buf_init(&b, 0);
	full(&in);
	in.i32 = 666;
	cr_assert_eq(tlv_encode(&msg_msg, &in, &b, &err), -1);
	cr_assert_str_eq(err.msg, "MSG: i32 is cursed");
	full(&in);
	in.items = items;
	in.nitems = 3;
	cr_assert_eq(tlv_encode(&msg_msg, &in, &b, &err), -1);
	cr_assert_str_eq(err.msg, "MSG: field item (tag 14): 3 entries, over "
	    "the limit of 2");
	full(&in);
	items[0].name = "";
	in.items = items;
	in.nitems = 1;
	cr_assert_eq(tlv_encode(&msg_msg, &in, &b, &err), -1);
	cr_assert_str_eq(err.msg, "ITEM: field name (tag 1): required and "
	    "empty");
	full(&in);
	in.strv = nul;
	in.nstrv = 1;
	cr_assert_eq(tlv_encode(&msg_msg, &in, &b, &err), -1);
	cr_assert_str_eq(err.msg, "MSG: field strv (tag 11): NULL entry");
	full(&in);
	in.nbytes = 5;
	cr_assert_eq(tlv_encode(&msg_msg, &in, &b, &err), -1);
	cr_assert_str_eq(err.msg, "MSG: field bytes (tag 10): 5 bytes (0..4 "
	    "allowed)");
	buf_free(&b);
}

Test(tlv, decode_allocation_failures)
{
	struct msg	 in, out;
	struct pf_buf	 b;
	struct pf_err	 err;
	long		 k;
	int		 rc;

	full(&in);
	buf_init(&b, 0);
	cr_assert_eq(tlv_encode(&msg_msg, &in, &b, &err), 0, "%s", err.msg);
	for (k = 0;; k++) {
		empty(&out);
		pf_alloc_fail_after(k);
		rc = tlv_decode(&msg_msg, b.data, b.len, &out, &err);
		pf_alloc_fail_after(-1);
		if (rc == 0) {
			tlv_free(&msg_msg, &out);
			break;
		}
		cr_assert(strstr(err.msg, "out of memory") != NULL, "%ld: %s",
		    k, err.msg);
		cr_assert_null(out.str);
		cr_assert_null(out.items);
	}
	cr_assert_gt(k, 5);
	buf_free(&b);
}
