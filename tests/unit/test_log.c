/*
 * The log module: a line is formatted without allocating (so a failed
 * allocation cannot drop or shift it), and a line longer than the limit
 * is cut and marked, still one line (and, as JSON, still one object).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "picoflow/alloc.h"
#include "picoflow/buf.h"
#include "picoflow/log.h"

/* Runs fn with stderr sent to a file; the text written, NUL-terminated. */
static size_t
capture(void (*fn)(void), char *out, size_t len)
{
	FILE	*f = tmpfile();
	int	 saved = dup(STDERR_FILENO);
	size_t	 n;

	cr_assert_not_null(f);
	cr_assert_neq(saved, -1);
	cr_assert_neq(dup2(fileno(f), STDERR_FILENO), -1);
	fn();
	cr_assert_neq(dup2(saved, STDERR_FILENO), -1);
	(void)close(saved);
	rewind(f);
	n = fread(out, 1, len - 1, f);
	out[n] = '\0';
	fclose(f);
	return n;
}

static void
log_short(void)
{
	log_warnx("hello %d", 42);
}

static void
log_long(void)
{
	char	 big[2000];

	/* Each control byte is escaped to 4 or 6 bytes: past 4096. */
	memset(big, '\x01', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	log_warnx("%s", big);
}

Test(log, no_allocation)
{
	char	 out[8192];

	log_init("pf-test", LOG_LVL_INFO, LOG_FMT_PRETTY);
	pf_alloc_fail_after(0);
	(void)capture(log_short, out, sizeof(out));
	pf_alloc_fail_after(-1);
	cr_assert_not_null(strstr(out, "pf-test["));
	cr_assert_not_null(strstr(out, "warn: hello 42\n"));
	cr_assert_eq(pf_alloc_failed(), 0);
}

Test(log, long_line_cut_and_marked)
{
	char	 out[16384];
	size_t	 n;

	log_init("pf-test", LOG_LVL_INFO, LOG_FMT_PRETTY);
	n = capture(log_long, out, sizeof(out));
	cr_assert_leq(n, 4096);
	cr_assert_eq(strchr(out, '\n'), out + n - 1, "one line");
	cr_assert_str_eq(out + n - strlen(" [truncated]\n"), " [truncated]\n");

	log_init("pf-test", LOG_LVL_INFO, LOG_FMT_JSON);
	n = capture(log_long, out, sizeof(out));
	cr_assert_leq(n, 4096);
	cr_assert_eq(out[0], '{');
	cr_assert_str_eq(out + n - strlen(" [truncated]\"}\n"),
	    " [truncated]\"}\n");
}

Test(log, json_line)
{
	char	 out[8192];

	log_init("pf-test", LOG_LVL_INFO, LOG_FMT_JSON);
	(void)capture(log_short, out, sizeof(out));
	cr_assert_not_null(strstr(out, "\"level\":\"warn\",\"proc\":"
	    "\"pf-test\",\"msg\":\"hello 42\"}\n"));
}

Test(buf, fixed_never_grows)
{
	uint8_t		 mem[8];
	struct pf_buf	 b;

	buf_init_fixed(&b, mem, sizeof(mem));
	cr_assert_eq(buf_add(&b, "1234567", 7), 0);
	cr_assert_eq(buf_add_u8(&b, 'x'), -1, "the spare byte is buf_cstr's");
	cr_assert(b.failed);
	cr_assert_eq(b.len, 7);
	cr_assert_eq(b.data, mem);
	cr_assert_str_eq(buf_cstr(&b), "1234567");
	buf_free(&b);
	cr_assert_eq(b.data, mem);
}
