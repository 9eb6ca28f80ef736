/*
 * units.h: the one parser of numbers, sizes and durations for the YAML
 * loader and the command-line flags, at its boundaries.
 */
#include <criterion/criterion.h>
#include <stdint.h>

#include "picoflow/store.h"
#include "picoflow/units.h"

Test(units, count_boundaries)
{
	int64_t	 v;

	cr_assert_eq(units_count("0", 0, 10, &v), UNITS_OK);
	cr_assert_eq(v, 0);
	cr_assert_eq(units_count("10", 0, 10, &v), UNITS_OK);
	cr_assert_eq(v, 10);
	cr_assert_eq(units_count("11", 0, 10, &v), UNITS_RANGE);
	cr_assert_eq(units_count("0", 1, 10, &v), UNITS_RANGE);
	cr_assert_eq(units_count("007", 0, 10, &v), UNITS_OK);
	cr_assert_eq(v, 7);
	cr_assert_eq(units_count("9223372036854775807", 0, INT64_MAX, &v),
	    UNITS_OK);
	cr_assert_eq(v, INT64_MAX);
	cr_assert_eq(units_count("9223372036854775808", 0, INT64_MAX, &v),
	    UNITS_RANGE);
	cr_assert_eq(units_count("18446744073709551615", 0, INT64_MAX, &v),
	    UNITS_RANGE);
	cr_assert_eq(units_count("99999999999999999999999", 0, INT64_MAX,
	    &v), UNITS_RANGE, "overflow is out of range, not a wrap");
}

Test(units, count_refuses)
{
	int64_t	 v = 42;

	cr_assert_eq(units_count("", 0, 10, &v), UNITS_EMPTY);
	cr_assert_eq(units_count("-1", 0, 10, &v), UNITS_SYNTAX);
	cr_assert_eq(units_count("+1", 0, 10, &v), UNITS_SYNTAX);
	cr_assert_eq(units_count(" 1", 0, 10, &v), UNITS_SYNTAX);
	cr_assert_eq(units_count("1 ", 0, 10, &v), UNITS_SYNTAX);
	cr_assert_eq(units_count("1x", 0, 10, &v), UNITS_SYNTAX);
	cr_assert_eq(units_count("0x10", 0, 100, &v), UNITS_SYNTAX);
	cr_assert_eq(units_count("1.5", 0, 10, &v), UNITS_SYNTAX);
	cr_assert_eq(units_count("1K", 0, 10000, &v), UNITS_SYNTAX,
	    "a count takes no suffix");
	cr_assert_eq(units_count("99999999999999999999x", 0, 10, &v),
	    UNITS_SYNTAX, "syntax is checked before range");
	cr_assert_eq(v, 42, "nothing written on failure");
}

Test(units, int_signed)
{
	int64_t	 v;

	cr_assert_eq(units_int("-5", -10, 10, &v), UNITS_OK);
	cr_assert_eq(v, -5);
	cr_assert_eq(units_int("+5", -10, 10, &v), UNITS_OK);
	cr_assert_eq(v, 5);
	cr_assert_eq(units_int("-0", 0, 10, &v), UNITS_OK);
	cr_assert_eq(v, 0);
	cr_assert_eq(units_int("-9223372036854775808", INT64_MIN, INT64_MAX,
	    &v), UNITS_OK);
	cr_assert_eq(v, INT64_MIN);
	cr_assert_eq(units_int("-9223372036854775809", INT64_MIN, INT64_MAX,
	    &v), UNITS_RANGE);
	cr_assert_eq(units_int("9223372036854775807", INT64_MIN, INT64_MAX,
	    &v), UNITS_OK);
	cr_assert_eq(v, INT64_MAX);
	cr_assert_eq(units_int("9223372036854775808", INT64_MIN, INT64_MAX,
	    &v), UNITS_RANGE);
	cr_assert_eq(units_int("-11", -10, 10, &v), UNITS_RANGE);
	cr_assert_eq(units_int("", -10, 10, &v), UNITS_EMPTY);
	cr_assert_eq(units_int("-", -10, 10, &v), UNITS_SYNTAX);
	cr_assert_eq(units_int("+", -10, 10, &v), UNITS_SYNTAX);
	cr_assert_eq(units_int("--1", -10, 10, &v), UNITS_SYNTAX);
	cr_assert_eq(units_int(" 1", -10, 10, &v), UNITS_SYNTAX);
	cr_assert_eq(units_int("1e3", 0, 10000, &v), UNITS_SYNTAX);
}

Test(units, size)
{
	int64_t	 v;

	cr_assert_eq(units_size("0", 0, INT64_MAX, &v), UNITS_OK);
	cr_assert_eq(v, 0);
	cr_assert_eq(units_size("512", 0, INT64_MAX, &v), UNITS_OK);
	cr_assert_eq(v, 512);
	cr_assert_eq(units_size("10k", 0, INT64_MAX, &v), UNITS_OK);
	cr_assert_eq(v, 10240);
	cr_assert_eq(units_size("256M", 0, INT64_MAX, &v), UNITS_OK);
	cr_assert_eq(v, 256LL << 20);
	cr_assert_eq(units_size("2g", 0, INT64_MAX, &v), UNITS_OK);
	cr_assert_eq(v, 2LL << 30);
	cr_assert_eq(units_size("1024G", 0, 1LL << 40, &v), UNITS_OK);
	cr_assert_eq(v, 1LL << 40);
	cr_assert_eq(units_size("1025G", 0, 1LL << 40, &v), UNITS_RANGE);
	cr_assert_eq(units_size("8589934591G", 0, INT64_MAX, &v), UNITS_OK);
	cr_assert_eq(units_size("8589934592G", 0, INT64_MAX, &v),
	    UNITS_RANGE);
	cr_assert_eq(units_size("17179869184G", 0, INT64_MAX, &v),
	    UNITS_RANGE, "beyond 64 bits once scaled");
	cr_assert_eq(units_size("", 0, INT64_MAX, &v), UNITS_EMPTY);
	cr_assert_eq(units_size("K", 0, INT64_MAX, &v), UNITS_SYNTAX);
	cr_assert_eq(units_size("-1K", 0, INT64_MAX, &v), UNITS_SYNTAX);
	cr_assert_eq(units_size("1KB", 0, INT64_MAX, &v), UNITS_SYNTAX);
	cr_assert_eq(units_size("1T", 0, INT64_MAX, &v), UNITS_SYNTAX);
	cr_assert_eq(units_size("1 K", 0, INT64_MAX, &v), UNITS_SYNTAX);
	cr_assert_eq(units_size("1.5G", 0, INT64_MAX, &v), UNITS_SYNTAX);
	cr_assert_eq(units_size("1s", 0, INT64_MAX, &v), UNITS_SYNTAX);
}

Test(units, duration)
{
	int64_t	 v;

	cr_assert_eq(units_duration("0", 0, INT64_MAX, &v), UNITS_OK);
	cr_assert_eq(v, 0);
	cr_assert_eq(units_duration("30", 0, INT64_MAX, &v), UNITS_OK);
	cr_assert_eq(v, 30);
	cr_assert_eq(units_duration("30s", 0, INT64_MAX, &v), UNITS_OK);
	cr_assert_eq(v, 30);
	cr_assert_eq(units_duration("5m", 0, INT64_MAX, &v), UNITS_OK);
	cr_assert_eq(v, 300);
	cr_assert_eq(units_duration("2h", 0, INT64_MAX, &v), UNITS_OK);
	cr_assert_eq(v, 7200);
	cr_assert_eq(units_duration("1d", 0, INT64_MAX, &v), UNITS_OK);
	cr_assert_eq(v, 86400);
	cr_assert_eq(units_duration("1w", 0, INT64_MAX, &v), UNITS_OK);
	cr_assert_eq(v, 604800);
	cr_assert_eq(units_duration("7d", 0, 604800, &v), UNITS_OK);
	cr_assert_eq(units_duration("604801", 0, 604800, &v), UNITS_RANGE);
	cr_assert_eq(units_duration("", 0, 10, &v), UNITS_EMPTY);
	cr_assert_eq(units_duration("h", 0, 10, &v), UNITS_SYNTAX);
	cr_assert_eq(units_duration("1H", 0, 10000, &v), UNITS_SYNTAX);
	cr_assert_eq(units_duration("1hm", 0, 10000, &v), UNITS_SYNTAX);
	cr_assert_eq(units_duration("1h30m", 0, 10000, &v), UNITS_SYNTAX);
	cr_assert_eq(units_duration("-1s", 0, 10, &v), UNITS_SYNTAX);
	cr_assert_eq(units_duration("1 s", 0, 10, &v), UNITS_SYNTAX);
	cr_assert_eq(units_duration("1K", 0, 10000, &v), UNITS_SYNTAX);
}

/* The one parser of --sync, for picoflow run and pf-supervisor. */
Test(units, sync_mode)
{
	enum store_sync	 m = STORE_SYNC_NORMAL;

	cr_assert_eq(store_sync_parse("full", &m), 0);
	cr_assert_eq(m, STORE_SYNC_FULL);
	cr_assert_eq(store_sync_parse("normal", &m), 0);
	cr_assert_eq(m, STORE_SYNC_NORMAL);
	cr_assert_eq(store_sync_parse("FULL", &m), -1);
	cr_assert_eq(store_sync_parse("", &m), -1);
	cr_assert_eq(store_sync_parse("full ", &m), -1);
	cr_assert_eq(m, STORE_SYNC_NORMAL);
}
