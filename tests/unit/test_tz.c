/*
 * Time zones: TZif loading (real zones and hostile files generated here),
 * offsets across DST transitions, footer rules far in the future, spans,
 * and a cross-check against the C library's own reading of the same files.
 */
#include <criterion/criterion.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "picoflow/alloc.h"
#include "picoflow/cron.h"
#include "picoflow/tz.h"
#include "../lib/faultloop.h"

#define ZONEINFO	"/usr/share/zoneinfo"

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

static struct pf_tz *
load(const char *name)
{
	struct pf_tz	*tz = NULL;
	struct pf_err	 err;

	err.msg[0] = '\0';
	cr_assert_eq(tz_load(name, &tz, &err), 0, "tz_load %s: %s", name,
	    err.msg);
	cr_assert_not_null(tz);
	return tz;
}

static void
expect_load_error(const char *name, const char *msg)
{
	struct pf_tz	*tz = (struct pf_tz *)0x1;
	struct pf_err	 err;

	err.msg[0] = '\0';
	cr_assert_eq(tz_load(name, &tz, &err), -1, "%s loaded", name);
	cr_assert_null(tz, "out must be NULL on error");
	cr_assert_str_eq(err.msg, msg);
}

/* A private zone directory for generated files; TZDIR points at it. */
static char tzdir[PATH_MAX];

static void
tzdir_make(void)
{
	char	 tmpl[] = "/dev/shm/pf-tz-XXXXXX";

	/* tmpfs when there is one: the hostile-file loops rewrite a lot. */
	if (mkdtemp(tmpl) == NULL) {
		memcpy(tmpl, "/tmp/pf-tz-XXXXXX", sizeof("/tmp/pf-tz-XXXXXX"));
		cr_assert_not_null(mkdtemp(tmpl));
	}
	(void)snprintf(tzdir, sizeof(tzdir), "%s", tmpl);
	cr_assert_eq(setenv("TZDIR", tzdir, 1), 0);
}

static void
tzdir_write(const char *name, const void *data, size_t len)
{
	char	 path[PATH_MAX + 64], dir[PATH_MAX + 64], *slash;
	FILE	*f;

	(void)snprintf(path, sizeof(path), "%s/%s", tzdir, name);
	(void)snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) != NULL) {
		*slash = '\0';
		(void)mkdir(dir, 0755);
	}
	cr_assert_not_null(f = fopen(path, "wb"));
	cr_assert_eq(fwrite(data, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
}

static void
tzdir_remove(void)
{
	char	 cmd[PATH_MAX + 16];

	if (tzdir[0] == '\0')
		return;
	(void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tzdir);
	cr_assert_eq(system(cmd), 0);
	tzdir[0] = '\0';
}

static uint8_t *
slurp(const char *path, size_t *len)
{
	FILE	*f;
	uint8_t	*buf;
	long	 n;

	cr_assert_not_null(f = fopen(path, "rb"), "%s: %s", path,
	    strerror(errno));
	cr_assert_eq(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	cr_assert(n > 0);
	rewind(f);
	cr_assert_not_null(buf = malloc((size_t)n));
	cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* ---- a TZif writer for synthetic zones ---------------------------------- */

struct tzif_spec {
	int		 version;	/* 0 (v1), '2', '3' */
	const int64_t	*trans;
	const uint8_t	*idx;
	size_t		 ntrans;
	const int32_t	*offs;
	const uint8_t	*isdst;
	size_t		 ntypes;
	const char	*footer;	/* v2+: without the newlines */
	uint32_t	 leapcnt;
};

static size_t
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
	return 4;
}

static size_t
put_block(uint8_t *p, const struct tzif_spec *s, int tsize)
{
	size_t	 n = 0, i;

	memcpy(p, "TZif", 4);
	p[4] = (uint8_t)s->version;
	memset(p + 5, 0, 15);
	n = 20;
	n += put32(p + n, 0);			/* isutcnt */
	n += put32(p + n, 0);			/* isstdcnt */
	n += put32(p + n, s->leapcnt);
	n += put32(p + n, (uint32_t)s->ntrans);
	n += put32(p + n, (uint32_t)s->ntypes);
	n += put32(p + n, 4);			/* charcnt: "ZZZ\0" */
	for (i = 0; i < s->ntrans; i++) {
		if (tsize == 8) {
			n += put32(p + n, (uint32_t)((uint64_t)s->trans[i] >> 32));
			n += put32(p + n, (uint32_t)s->trans[i]);
		} else
			n += put32(p + n, (uint32_t)(int32_t)s->trans[i]);
	}
	for (i = 0; i < s->ntrans; i++)
		p[n++] = s->idx[i];
	for (i = 0; i < s->ntypes; i++) {
		n += put32(p + n, (uint32_t)s->offs[i]);
		p[n++] = s->isdst[i];
		p[n++] = 0;
	}
	memcpy(p + n, "ZZZ", 4);
	n += 4;
	for (i = 0; i < s->leapcnt; i++) {
		memset(p + n, 0, (size_t)tsize + 4);
		n += (size_t)tsize + 4;
	}
	return n;
}

static size_t
tzif_build(uint8_t *p, const struct tzif_spec *s)
{
	size_t	 n;

	n = put_block(p, s, 4);
	if (s->version == 0)
		return n;
	n += put_block(p + n, s, 8);
	p[n++] = '\n';
	memcpy(p + n, s->footer, strlen(s->footer));
	n += strlen(s->footer);
	p[n++] = '\n';
	return n;
}

/* A zone with no transitions at all: only the footer rule speaks. */
static void
write_rule_zone(const char *name, const char *footer, int32_t off0)
{
	uint8_t			 buf[512];
	uint8_t			 dst = 0;
	struct tzif_spec	 s = { '2', NULL, NULL, 0, &off0, &dst, 1,
				    footer, 0 };

	tzdir_write(name, buf, tzif_build(buf, &s));
}

/* ---- names ------------------------------------------------------------- */

Test(tz, rejects_bad_names)
{
	char	 longname[TZ_NAME_MAX + 2];

	expect_load_error("../etc/passwd",
	    "time zone '../etc/passwd' is invalid: '..' is not allowed");
	expect_load_error("Europe/../../etc/passwd",
	    "time zone 'Europe/../../etc/passwd' is invalid: '..' is not "
	    "allowed");
	expect_load_error("/etc/localtime", "time zone '/etc/localtime' is "
	    "a path; use an IANA name such as Europe/Berlin or UTC");
	expect_load_error("", "time zone name is empty");
	expect_load_error(NULL, "time zone name is empty");
	expect_load_error("Europe/Ber lin", "time zone 'Europe/Ber lin' is "
	    "invalid: character ' ' is not allowed (only letters, digits, "
	    "'/', '_', '+' and '-')");
	expect_load_error("zone.tab", "time zone 'zone.tab' is invalid: "
	    "character '.' is not allowed (only letters, digits, '/', '_', "
	    "'+' and '-')");
	expect_load_error("Europe/Berlin\n", "time zone name is invalid: "
	    "byte 0x0a at offset 13 is not allowed");
	expect_load_error("Europe//Berlin", "time zone 'Europe//Berlin' is "
	    "invalid: empty path component");
	expect_load_error("Europe/", "time zone 'Europe/' is invalid: empty "
	    "path component");
	memset(longname, 'A', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	expect_load_error(longname, "time zone name is longer than 255 bytes");
}

Test(tz, unknown_zone_and_directories)
{
	cr_assert_eq(unsetenv("TZDIR"), 0);
	expect_load_error("Nope/Zone", "unknown time zone 'Nope/Zone' (no "
	    "file " ZONEINFO "/Nope/Zone)");
	expect_load_error("Europe", "unknown time zone 'Europe' (" ZONEINFO
	    "/Europe is not a regular file)");
	/* Characters allowed in names: '+', '-', '_' and digits. */
	tz_free(load("Etc/GMT+5"));
	tz_free(load("America/Port-au-Prince"));
	tz_free(load("America/Port_of_Spain"));
}

/* ---- real zones -------------------------------------------------------- */

Test(tz, utc_builtin_without_files)
{
	struct pf_tz	*tz;
	struct tm	 tm;
	struct tz_span	 sp;

	/* UTC is built in: it loads even from an empty zone directory. */
	tzdir_make();
	tz = load("UTC");
	cr_assert_str_eq(tz_name(tz), "UTC");
	cr_assert_str_eq(tz_name(NULL), "UTC");
	cr_assert_eq(tz_offset_at(tz, iso("2025-07-01T12:00:00Z")), 0);
	cr_assert_eq(tz_offset_at(NULL, iso("2025-07-01T12:00:00Z")), 0);
	tz_localtime(tz, iso("2024-02-29T23:59:59Z"), &tm);
	cr_assert_eq(tm.tm_year, 124);
	cr_assert_eq(tm.tm_mon, 1);
	cr_assert_eq(tm.tm_mday, 29);
	cr_assert_eq(tm.tm_hour, 23);
	cr_assert_eq(tm.tm_min, 59);
	cr_assert_eq(tm.tm_sec, 59);
	cr_assert_eq(tm.tm_wday, 4);		/* Thursday */
	cr_assert_eq(tm.tm_yday, 59);
	cr_assert_str_eq(tm.tm_zone, "UTC");
	tz_span_at(tz, 0, &sp);
	cr_assert_eq(sp.start, INT64_MIN);
	cr_assert_eq(sp.end, INT64_MAX);
	cr_assert_eq(sp.off, 0);
	cr_assert_eq(sp.prev_off, 0);
	tz_free(tz);
	tz_free(NULL);
	tzdir_remove();
}

Test(tz, berlin_transitions_2025_2026)
{
	struct pf_tz	*tz = load("Europe/Berlin");
	struct tm	 tm;

	cr_assert_str_eq(tz_name(tz), "Europe/Berlin");
	/* 2025-03-30 02:00 CET -> 03:00 CEST, at 01:00 UTC */
	cr_assert_eq(tz_offset_at(tz, iso("2025-03-30T00:59:59Z")), 3600);
	cr_assert_eq(tz_offset_at(tz, iso("2025-03-30T01:00:00Z")), 7200);
	/* 2025-10-26 03:00 CEST -> 02:00 CET, at 01:00 UTC */
	cr_assert_eq(tz_offset_at(tz, iso("2025-10-26T00:59:59Z")), 7200);
	cr_assert_eq(tz_offset_at(tz, iso("2025-10-26T01:00:00Z")), 3600);
	/* 2026: March 29 and October 25 */
	cr_assert_eq(tz_offset_at(tz, iso("2026-03-29T00:59:59Z")), 3600);
	cr_assert_eq(tz_offset_at(tz, iso("2026-03-29T01:00:00Z")), 7200);
	cr_assert_eq(tz_offset_at(tz, iso("2026-10-25T00:59:59Z")), 7200);
	cr_assert_eq(tz_offset_at(tz, iso("2026-10-25T01:00:00Z")), 3600);

	tz_localtime(tz, iso("2025-03-30T01:00:00Z"), &tm);
	cr_assert_eq(tm.tm_hour, 3);
	cr_assert_eq(tm.tm_min, 0);
	cr_assert_eq(tm.tm_isdst, 1);
	cr_assert_eq(tm.tm_gmtoff, 7200);
	cr_assert_str_eq(tm.tm_zone, "CEST");
	tz_localtime(tz, iso("2025-03-30T00:59:59Z"), &tm);
	cr_assert_eq(tm.tm_hour, 1);
	cr_assert_eq(tm.tm_min, 59);
	cr_assert_eq(tm.tm_isdst, 0);
	cr_assert_str_eq(tm.tm_zone, "CET");
	/* The repeated hour: 02:30 CEST, then 02:30 CET an hour later. */
	tz_localtime(tz, iso("2025-10-26T00:30:00Z"), &tm);
	cr_assert_eq(tm.tm_hour, 2);
	cr_assert_str_eq(tm.tm_zone, "CEST");
	tz_localtime(tz, iso("2025-10-26T01:30:00Z"), &tm);
	cr_assert_eq(tm.tm_hour, 2);
	cr_assert_str_eq(tm.tm_zone, "CET");
	tz_free(tz);
}

Test(tz, new_york_transitions_2025_2026)
{
	struct pf_tz	*tz = load("America/New_York");

	cr_assert_eq(tz_offset_at(tz, iso("2025-03-09T06:59:59Z")), -18000);
	cr_assert_eq(tz_offset_at(tz, iso("2025-03-09T07:00:00Z")), -14400);
	cr_assert_eq(tz_offset_at(tz, iso("2025-11-02T05:59:59Z")), -14400);
	cr_assert_eq(tz_offset_at(tz, iso("2025-11-02T06:00:00Z")), -18000);
	cr_assert_eq(tz_offset_at(tz, iso("2026-03-08T06:59:59Z")), -18000);
	cr_assert_eq(tz_offset_at(tz, iso("2026-03-08T07:00:00Z")), -14400);
	cr_assert_eq(tz_offset_at(tz, iso("2026-11-01T05:59:59Z")), -14400);
	cr_assert_eq(tz_offset_at(tz, iso("2026-11-01T06:00:00Z")), -18000);
	tz_free(tz);
}

Test(tz, footer_rule_in_2100)
{
	struct pf_tz	*tz = load("Europe/Berlin");
	struct tz_span	 sp;

	/*
	 * The file's table ends in 2037; 2100 comes from the footer rule
	 * "CET-1CEST,M3.5.0,M10.5.0/3".  Last Sundays of 2100: March 28 and
	 * October 31.
	 */
	cr_assert_eq(tz_offset_at(tz, iso("2100-01-15T12:00:00Z")), 3600);
	cr_assert_eq(tz_offset_at(tz, iso("2100-03-28T00:59:59Z")), 3600);
	cr_assert_eq(tz_offset_at(tz, iso("2100-03-28T01:00:00Z")), 7200);
	cr_assert_eq(tz_offset_at(tz, iso("2100-07-01T00:00:00Z")), 7200);
	cr_assert_eq(tz_offset_at(tz, iso("2100-10-31T00:59:59Z")), 7200);
	cr_assert_eq(tz_offset_at(tz, iso("2100-10-31T01:00:00Z")), 3600);
	tz_span_at(tz, iso("2100-07-01T00:00:00Z"), &sp);
	cr_assert_eq(sp.start, iso("2100-03-28T01:00:00Z"));
	cr_assert_eq(sp.end, iso("2100-10-31T01:00:00Z"));
	cr_assert_eq(sp.off, 7200);
	cr_assert_eq(sp.prev_off, 3600);
	tz_free(tz);

	tz = load("Australia/Sydney");	/* southern: DST over New Year */
	cr_assert_eq(tz_offset_at(tz, iso("2100-01-15T00:00:00Z")), 39600);
	cr_assert_eq(tz_offset_at(tz, iso("2100-07-15T00:00:00Z")), 36000);
	tz_free(tz);
}

Test(tz, spans_around_a_transition)
{
	struct pf_tz	*tz = load("Europe/Berlin");
	struct tz_span	 sp;

	tz_span_at(tz, iso("2025-03-30T00:59:59Z"), &sp);
	cr_assert_eq(sp.start, iso("2024-10-27T01:00:00Z"));
	cr_assert_eq(sp.end, iso("2025-03-30T01:00:00Z"));
	cr_assert_eq(sp.off, 3600);
	cr_assert_eq(sp.prev_off, 7200);
	tz_span_at(tz, iso("2025-03-30T01:00:00Z"), &sp);
	cr_assert_eq(sp.start, iso("2025-03-30T01:00:00Z"));
	cr_assert_eq(sp.end, iso("2025-10-26T01:00:00Z"));
	cr_assert_eq(sp.off, 7200);
	cr_assert_eq(sp.prev_off, 3600);
	/* Across the end of the file's table (2037) into the rule. */
	tz_span_at(tz, iso("2037-12-01T00:00:00Z"), &sp);
	cr_assert_eq(sp.start, iso("2037-10-25T01:00:00Z"));
	cr_assert_eq(sp.end, iso("2038-03-28T01:00:00Z"));
	cr_assert_eq(sp.off, 3600);
	tz_free(tz);
}

/* Independent oracle: the C library reading the same zone files. */
Test(tz, agrees_with_libc, .timeout = 60)
{
	static const char *const zones[] = {
		"Europe/Berlin", "America/New_York", "Australia/Sydney",
		"Australia/Lord_Howe", "Asia/Kathmandu", "Pacific/Apia",
		"America/Sao_Paulo", "Africa/Casablanca", "Europe/Dublin",
		"Asia/Tehran", "America/St_Johns", "Pacific/Chatham",
	};
	size_t		 i;
	int64_t		 t;
	struct pf_tz	*tz;
	struct tm	 ours, libc;
	time_t		 tt;

	for (i = 0; i < sizeof(zones) / sizeof(zones[0]); i++) {
		tz = load(zones[i]);
		cr_assert_eq(setenv("TZ", zones[i], 1), 0);
		tzset();
		for (t = iso("1900-01-01T00:00:00Z");
		    t < iso("2150-01-01T00:00:00Z"); t += 86400 * 2 + 3593) {
			tt = (time_t)t;
			cr_assert_not_null(localtime_r(&tt, &libc));
			tz_localtime(tz, t, &ours);
			cr_assert_eq(ours.tm_gmtoff, libc.tm_gmtoff,
			    "%s at %lld: %ld vs libc %ld", zones[i],
			    (long long)t, ours.tm_gmtoff, libc.tm_gmtoff);
			cr_assert_eq(ours.tm_isdst, libc.tm_isdst);
			cr_assert_eq(ours.tm_hour, libc.tm_hour);
			cr_assert_eq(ours.tm_mday, libc.tm_mday);
			cr_assert_eq(ours.tm_yday, libc.tm_yday);
			cr_assert_eq(ours.tm_wday, libc.tm_wday);
			cr_assert_str_eq(ours.tm_zone, libc.tm_zone);
		}
		tz_free(tz);
	}
}

/* ---- synthetic zones: footer forms and file versions ------------------- */

Test(tz, footer_rule_forms)
{
	struct pf_tz	*tz;

	tzdir_make();
	/* Northern rule with an explicit end time. */
	write_rule_zone("Test/Cet", "CET-1CEST,M3.5.0,M10.5.0/3", 3600);
	tz = load("Test/Cet");
	cr_assert_eq(tz_offset_at(tz, iso("2150-03-29T00:59:59Z")), 3600);
	cr_assert_eq(tz_offset_at(tz, iso("2150-03-29T01:00:00Z")), 7200);
	cr_assert_eq(tz_offset_at(tz, iso("1980-07-01T00:00:00Z")), 7200,
	    "with no transitions the rule governs all times");
	tz_free(tz);
	/* Quoted names, a half-hour offset and no DST. */
	write_rule_zone("Test/Half", "<+0330>-3:30", 12600);
	tz = load("Test/Half");
	cr_assert_eq(tz_offset_at(tz, iso("2100-07-01T00:00:00Z")), 12600);
	tz_free(tz);
	/* Julian days: J60 is March 1 in every year; 59 is Feb 29 or Mar 1. */
	write_rule_zone("Test/Julian", "AAA3BBB,J60/0,J300/0", -10800);
	tz = load("Test/Julian");
	cr_assert_eq(tz_offset_at(tz, iso("2024-03-01T02:59:59Z")), -10800);
	cr_assert_eq(tz_offset_at(tz, iso("2024-03-01T03:00:00Z")), -7200);
	tz_free(tz);
	write_rule_zone("Test/Julian0", "AAA3BBB,59/0,299/0", -10800);
	tz = load("Test/Julian0");
	cr_assert_eq(tz_offset_at(tz, iso("2024-02-29T02:59:59Z")), -10800);
	cr_assert_eq(tz_offset_at(tz, iso("2024-02-29T03:00:00Z")), -7200);
	cr_assert_eq(tz_offset_at(tz, iso("2025-03-01T03:00:00Z")), -7200);
	tz_free(tz);
	/* RFC 8536 extension: hours beyond 24 (Thursday + 26h = Friday 2:00). */
	write_rule_zone("Test/Ext", "IST-2IDT,M3.4.4/26,M10.5.0", 7200);
	tz = load("Test/Ext");
	/* 2030: fourth Thursday of March is the 28th -> Friday 29th 02:00 */
	cr_assert_eq(tz_offset_at(tz, iso("2030-03-28T23:59:59Z")), 7200);
	cr_assert_eq(tz_offset_at(tz, iso("2030-03-29T00:00:00Z")), 10800);
	tz_free(tz);
	/* "DST all year": no zero-length standard-time gaps at New Year. */
	write_rule_zone("Test/AllDst", "EST5EDT,0/0,J365/25", -18000);
	tz = load("Test/AllDst");
	cr_assert_eq(tz_offset_at(tz, iso("2030-01-01T05:00:00Z")), -14400);
	cr_assert_eq(tz_offset_at(tz, iso("2030-06-01T00:00:00Z")), -14400);
	cr_assert_eq(tz_offset_at(tz, iso("2030-12-31T23:59:59Z")), -14400);
	tz_free(tz);
	/* Southern hemisphere. */
	write_rule_zone("Test/South", "AEST-10AEDT,M10.1.0,M4.1.0/3", 36000);
	tz = load("Test/South");
	cr_assert_eq(tz_offset_at(tz, iso("2099-12-25T00:00:00Z")), 39600);
	cr_assert_eq(tz_offset_at(tz, iso("2099-06-25T00:00:00Z")), 36000);
	tz_free(tz);
	tzdir_remove();
}

Test(tz, version1_file)
{
	static const int64_t	 trans[] = { 1000000000, 1100000000 };
	static const uint8_t	 idx[] = { 1, 0 };
	static const int32_t	 offs[] = { -3600, 5400 };
	static const uint8_t	 dst[] = { 0, 1 };
	struct tzif_spec	 s = { 0, trans, idx, 2, offs, dst, 2, NULL, 0 };
	uint8_t			 buf[256];
	struct pf_tz		*tz;

	tzdir_make();
	tzdir_write("Test/V1", buf, tzif_build(buf, &s));
	tz = load("Test/V1");
	cr_assert_eq(tz_offset_at(tz, 999999999), -3600);
	cr_assert_eq(tz_offset_at(tz, 1000000000), 5400);
	cr_assert_eq(tz_offset_at(tz, 1099999999), 5400);
	cr_assert_eq(tz_offset_at(tz, 1100000000), -3600);
	cr_assert_eq(tz_offset_at(tz, INT64_MAX), -3600);
	cr_assert_eq(tz_offset_at(tz, INT64_MIN), -3600);
	tz_free(tz);
	tzdir_remove();
}

/* ---- hostile files ----------------------------------------------------- */

static void
expect_file_error(const char *name, const char *msg_end)
{
	struct pf_tz	*tz = NULL;
	struct pf_err	 err;
	size_t		 ml = strlen(msg_end), el;

	cr_assert_eq(tz_load(name, &tz, &err), -1, "%s loaded", name);
	cr_assert_null(tz);
	el = strlen(err.msg);
	cr_assert(el >= ml && strcmp(err.msg + el - ml, msg_end) == 0,
	    "message \"%s\" does not end with \"%s\"", err.msg, msg_end);
}

Test(tz, hostile_headers)
{
	static const int64_t	 trans[] = { 1000, 500 };
	static const uint8_t	 idx[] = { 0, 0 };
	static const uint8_t	 badidx[] = { 0, 7 };
	static const int32_t	 offs[] = { 3600 };
	static const int32_t	 badoffs[] = { 200000 };
	static const uint8_t	 dst[] = { 0 };
	struct tzif_spec	 s;
	uint8_t			 buf[512];
	size_t			 n;
	int			 fd;
	char			 path[PATH_MAX + 32];

	tzdir_make();
	tzdir_write("Bad/Text", "Europe/Berlin is a city\n", 24);
	expect_file_error("Bad/Text", ": not a TZif file (bad magic)");
	tzdir_write("Bad/Empty", "", 0);
	expect_file_error("Bad/Empty", ": truncated header");

	/* Counts far beyond the file: rejected before any allocation. */
	memset(&s, 0, sizeof(s));
	s = (struct tzif_spec){ '2', NULL, NULL, 0, offs, dst, 1, "", 0 };
	n = tzif_build(buf, &s);
	put32(buf + 32, 0xffffffffU);			/* timecnt */
	tzdir_write("Bad/Count", buf, n);
	expect_file_error("Bad/Count", ": truncated version 1 data block");
	n = tzif_build(buf, &s);
	put32(buf + 36, 0);				/* typecnt */
	tzdir_write("Bad/NoTypes", buf, n);
	expect_file_error("Bad/NoTypes", ": bad local time type count 0 "
	    "(1-256)");

	s = (struct tzif_spec){ '2', trans, idx, 2, offs, dst, 1, "", 0 };
	n = tzif_build(buf, &s);
	tzdir_write("Bad/Order", buf, n);
	expect_file_error("Bad/Order", ": transition times are not ascending "
	    "(entry 1)");

	s = (struct tzif_spec){ '2', (const int64_t[]){ 1, 2 }, badidx, 2,
	    offs, dst, 1, "", 0 };
	tzdir_write("Bad/Index", buf, tzif_build(buf, &s));
	expect_file_error("Bad/Index", ": transition 1 names type 7 of 1");

	s = (struct tzif_spec){ '2', NULL, NULL, 0, badoffs, dst, 1, "", 0 };
	tzdir_write("Bad/Offset", buf, tzif_build(buf, &s));
	expect_file_error("Bad/Offset", ": type 0: UT offset 200000 out of "
	    "range");

	s = (struct tzif_spec){ '2', NULL, NULL, 0, offs, dst, 1, "", 2 };
	tzdir_write("Bad/Leap", buf, tzif_build(buf, &s));
	expect_file_error("Bad/Leap", ": leap-second zones (\"right/\") are "
	    "not supported");

	s = (struct tzif_spec){ '2', NULL, NULL, 0, offs, dst, 1,
	    "CET-1CEST", 0 };
	tzdir_write("Bad/Rule", buf, tzif_build(buf, &s));
	expect_file_error("Bad/Rule", ": bad POSIX-TZ footer rule "
	    "\"CET-1CEST\"");
	s.footer = "CET-1CEST,M13.5.0,M10.5.0";
	tzdir_write("Bad/Rule2", buf, tzif_build(buf, &s));
	expect_file_error("Bad/Rule2", ": bad POSIX-TZ footer rule "
	    "\"CET-1CEST,M13.5.0,M10.5.0\"");
	s.footer = "CET-1CEST,M3.5.0,M10.5.0/168";
	tzdir_write("Bad/Rule3", buf, tzif_build(buf, &s));
	expect_file_error("Bad/Rule3", ": bad POSIX-TZ footer rule "
	    "\"CET-1CEST,M3.5.0,M10.5.0/168\"");

	buf[4] = '1';
	tzdir_write("Bad/Version", buf, 60);
	expect_file_error("Bad/Version", ": unsupported TZif version byte "
	    "0x31");

	/* Larger than the cap: refused from its size, never read whole. */
	(void)snprintf(path, sizeof(path), "%s/Bad/Huge", tzdir);
	cr_assert((fd = open(path, O_CREAT | O_WRONLY, 0644)) != -1);
	cr_assert_eq(write(fd, "TZif2", 5), 5);
	cr_assert_eq(ftruncate(fd, TZ_FILE_MAX + 1), 0);
	close(fd);
	expect_file_error("Bad/Huge", "Bad/Huge is larger than 1048576 bytes");

	/* A FIFO must not block the loader. */
	(void)snprintf(path, sizeof(path), "%s/Bad/Fifo", tzdir);
	cr_assert_eq(mkfifo(path, 0644), 0);
	expect_file_error("Bad/Fifo", "Bad/Fifo is not a regular file)");
	tzdir_remove();
}

/* Every prefix of a real zone file is rejected, without crashing. */
Test(tz, truncated_real_file)
{
	uint8_t		*data;
	size_t		 len, cut;
	struct pf_tz	*tz;
	struct pf_err	 err;
	char		 path[PATH_MAX + 32];

	data = slurp(ZONEINFO "/Europe/Berlin", &len);
	tzdir_make();
	tzdir_write("Real/Berlin", data, len);
	tz_free(load("Real/Berlin"));
	tzdir_write("Cut/Berlin", data, len);
	(void)snprintf(path, sizeof(path), "%s/Cut/Berlin", tzdir);
	for (cut = len; cut-- > 0; ) {
		cr_assert_eq(truncate(path, (off_t)cut), 0);
		tz = NULL;
		cr_assert_eq(tz_load("Cut/Berlin", &tz, &err), -1,
		    "prefix of %zu bytes loaded", cut);
		cr_assert_null(tz);
		cr_assert(strncmp(err.msg, "time zone 'Cut/Berlin': ", 24) == 0,
		    "%s", err.msg);
	}
	free(data);
	tzdir_remove();
}

/*
 * Flipped bytes anywhere: the loader either rejects the file or yields a
 * zone whose every answer stays in range; it never crashes (run this suite
 * under ASan/valgrind to see reads past the end).
 */
Test(tz, corrupted_real_file, .timeout = 120)
{
	uint8_t			*data;
	size_t			 len, i;
	int			 x, loaded = 0, rejected = 0;
	struct pf_tz		*tz;
	struct pf_err		 err;
	struct tz_span		 sp;
	struct cron_expr	 ce;
	int64_t			 t, nx;
	static const uint8_t	 flips[] = { 0x01, 0x80, 0xff };
	uint8_t			 byte;
	char			 path[PATH_MAX + 32];
	int			 fd, rc;

	data = slurp(ZONEINFO "/America/New_York", &len);
	tzdir_make();
	tzdir_write("Flip/Zone", data, len);
	(void)snprintf(path, sizeof(path), "%s/Flip/Zone", tzdir);
	cr_assert((fd = open(path, O_WRONLY)) != -1);
	cr_assert_eq(cron_parse("30 2 * * *", &ce, NULL, &err), 0);
	for (i = 0; i < len; i++) {
		for (x = 0; x < 3; x++) {
			/* patch one byte in place, load, put it back */
			byte = data[i] ^ flips[x];
			cr_assert_eq(pwrite(fd, &byte, 1, (off_t)i), 1);
			tz = NULL;
			rc = tz_load("Flip/Zone", &tz, &err);
			cr_assert_eq(pwrite(fd, &data[i], 1, (off_t)i), 1);
			if (rc == -1) {
				cr_assert_null(tz);
				rejected++;
				continue;
			}
			loaded++;
			for (t = -4000000000LL; t < 8000000000LL;
			    t += 700000000LL) {
				int32_t off = tz_offset_at(tz, t);
				cr_assert(off >= -93599 && off <= 93599);
				tz_span_at(tz, t, &sp);
				cr_assert(sp.start <= t && t < sp.end);
				(void)cron_next(&ce, tz, t, &nx, &err);
			}
			tz_free(tz);
		}
	}
	/* Both outcomes must occur, or the test proves nothing. */
	cr_assert(rejected > 0);
	cr_assert(loaded > 0);
	close(fd);
	free(data);
	tzdir_remove();
}

Test(tz, allocation_failures)
{
	struct pf_tz	*tz;
	struct pf_err	 err;
	struct faultloop fl;
	int		 rc;

	for (FAULTLOOP_MODES(m)) {
		faultloop_init(&fl, m);
		fl.max = 100;
		while (faultloop_next(&fl)) {
			tz = NULL;
			rc = tz_load("Europe/Berlin", &tz, &err);
			cr_assert(rc == 0 || faultloop_met(&fl));
			if (rc == 0) {
				cr_assert_eq(tz_offset_at(tz, 0), 3600);
				tz_free(tz);
				continue;
			}
			cr_assert_null(tz);
			cr_assert(strstr(err.msg, "out of memory") != NULL,
			    "%s", err.msg);
		}
		cr_assert(fl.n > 0 && !fl.exhausted,
		    "tz_load never failed or never recovered");
	}
}
