/*
 * Hostile definitions against the real binary: files built to exhaust
 * memory or time (1 MiB documents, alias bombs, deep nesting, 10,000
 * dependencies on one task, huge scalars and keys, thousands of errors)
 * go through `picoflow validate`, which must answer each with the
 * verdict and a located, readable error, in bounded time and memory.
 *
 * The bounds are generous ceilings against pathological behaviour
 * (quadratic loops, unbounded expansion), not performance targets: the
 * benchmarks measure speed.  Memory is the child's peak resident set
 * (wait4's ru_maxrss), which on Linux also counts what the forked test
 * process held before exec: an upper bound.
 */
#include <criterion/criterion.h>

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "picoflow/buf.h"
#include "../lib/proc.h"

#define RSS_CEILING_KB	(64 * 1024)	/* 64 MiB */
#define TIME_CEILING_S	20.0

static char	*dir;

static void
setup(void)
{
	dir = test_tmpdir("hostile");
}

static void
teardown(void)
{
	test_rmrf(dir);
	free(dir);
}

TestSuite(hostile, .init = setup, .fini = teardown, .timeout = 1200);

/* Writes len bytes to dir/name; returns the path (free it). */
static char *
put(const char *name, const void *data, size_t len)
{
	char	*path;
	FILE	*f;

	cr_assert(asprintf(&path, "%s/%s", dir, name) > 0);
	cr_assert_not_null(f = fopen(path, "wb"));
	cr_assert_eq(fwrite(data, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
	return path;
}

/*
 * Runs `picoflow validate [extra] path` and checks the verdict, that
 * stderr (or stdout for a valid file) holds want, and the bounds.
 */
static void
validate(const char *path, const char *extra, int want_exit, const char *want)
{
	struct proc_result	 r;
	char			*argv[6];
	int			 i = 0;
	char			*sp = NULL, *opt = NULL, *val = NULL;

	argv[i++] = (char *)(uintptr_t)test_bin("picoflow");
	argv[i++] = (char *)"validate";
	if (extra != NULL) {
		cr_assert_not_null(sp = strdup(extra));
		opt = sp;
		if ((val = strchr(sp, ' ')) != NULL)
			*val++ = '\0';
		argv[i++] = opt;
		if (val != NULL)
			argv[i++] = val;
	}
	argv[i++] = (char *)(uintptr_t)path;
	argv[i] = NULL;
	cr_assert_eq(proc_run(argv, NULL, getenv("PF_UNDER_VALGRIND") ?
	    TIME_CEILING_S * 30 : TIME_CEILING_S * 2, &r), 0);
	cr_assert(!r.timed_out, "%s: validate did not finish", path);
	cr_assert_eq(r.exit_code, want_exit, "%s: exit %d, wanted %d\n%.2000s"
	    "\n%.2000s", path, r.exit_code, want_exit, r.out, r.err);
	if (want != NULL)
		cr_assert(strstr(want_exit == 0 ? r.out : r.err, want) !=
		    NULL, "%s: wanted '%s' in:\n%.3000s", path, want,
		    want_exit == 0 ? r.out : r.err);
	/* Under memcheck (make valgrind) time and memory mean nothing. */
	if (getenv("PF_UNDER_VALGRIND") == NULL) {
		cr_assert_lt(r.seconds, TIME_CEILING_S, "%s: %.1f s", path,
		    r.seconds);
		cr_assert_lt(r.ru.ru_maxrss, RSS_CEILING_KB, "%s: peak RSS "
		    "%ld KiB", path, r.ru.ru_maxrss);
	}
	cr_log_info("%s: exit %d, %.3f s, peak RSS %ld KiB", strrchr(path,
	    '/') + 1, r.exit_code, r.seconds, r.ru.ru_maxrss);
	proc_result_free(&r);
	free(sp);
}

static const char head[] = "name: hostile\ntasks:\n";
static const char task_a[] =
    "  - name: a\n    type: shell\n    config:\n      command: /bin/true\n";

/* A valid workflow padded with a comment to exactly len bytes. */
static void
padded(struct pf_buf *b, size_t len)
{
	buf_add_str(b, head);
	buf_add_str(b, task_a);
	buf_add_str(b, "#");
	while (b->len < len - 1)
		buf_add_u8(b, 'x');
	buf_add_u8(b, '\n');
	cr_assert(!b->failed);
}

Test(hostile, one_mib_is_accepted_one_byte_more_is_not)
{
	struct pf_buf	 b;
	char		*p;

	buf_init(&b, 0);
	padded(&b, 1024 * 1024);
	cr_assert_eq(b.len, 1024 * 1024);
	p = put("exact.yaml", b.data, b.len);
	validate(p, NULL, 0, "hostile");
	free(p);
	buf_free(&b);

	buf_init(&b, 0);
	padded(&b, 1024 * 1024 + 1);
	p = put("over.yaml", b.data, b.len);
	validate(p, NULL, 1, "over.yaml:1:1: error: the file is 1048577 "
	    "bytes; the limit is 1048576 bytes");
	free(p);
	buf_free(&b);
}

/* Ten levels of ten aliases each: 10^10 nodes if expanded. */
Test(hostile, alias_bomb_is_refused_early)
{
	struct pf_buf	 b;
	char		*p;
	int		 l, k;

	buf_init(&b, 0);
	buf_add_str(&b, "name: hostile\nx-0: &a0 [lol, lol, lol, lol, lol, "
	    "lol, lol, lol, lol, lol]\n");
	for (l = 1; l <= 10; l++) {
		buf_printf(&b, "x-%d: &a%d [", l, l);
		for (k = 0; k < 10; k++)
			buf_printf(&b, "%s*a%d", k ? ", " : "", l - 1);
		buf_add_str(&b, "]\n");
	}
	buf_add_str(&b, "tasks: []\n");
	p = put("bomb.yaml", b.data, b.len);
	validate(p, NULL, 1, "nodes once aliases are expanded");
	free(p);
	buf_free(&b);
}

/* 100,000 nested flow sequences, and as many block mappings. */
Test(hostile, deep_nesting_is_refused_at_the_depth_limit)
{
	struct pf_buf	 b;
	char		*p;
	int		 i;

	buf_init(&b, 0);
	buf_add_str(&b, "name: hostile\ntasks: ");
	for (i = 0; i < 100000; i++)
		buf_add_u8(&b, '[');
	buf_add_u8(&b, '\n');
	p = put("flow.yaml", b.data, b.len);
	validate(p, NULL, 1, "nesting deeper than 64 levels");
	free(p);
	buf_free(&b);

	buf_init(&b, 0);
	buf_add_str(&b, "name: hostile\n");
	for (i = 0; i < 300; i++)
		buf_printf(&b, "%*sk%d:\n", i, "", i);
	p = put("block.yaml", b.data, b.len);
	validate(p, NULL, 1, "nesting deeper than 64 levels");
	free(p);
	buf_free(&b);
}

Test(hostile, huge_numbers_are_range_errors)
{
	struct pf_buf	 b;
	char		*p;
	int		 i;

	buf_init(&b, 0);
	buf_add_str(&b, "name: hostile\nconfig:\n  max_parallel: ");
	for (i = 0; i < 100000; i++)
		buf_add_u8(&b, '9');
	buf_add_str(&b, "\n  limits:\n    memory: 99999999999999999999999G\n"
	    "    cpu: 1.00000000000000000000001\n");
	buf_add_str(&b, "tasks: []\n");
	p = put("numbers.yaml", b.data, b.len);
	validate(p, NULL, 1, "numbers.yaml:3:17: error: config.max_parallel: ");
	validate(p, NULL, 1, "config.limits.memory: ");
	validate(p, NULL, 1, "config.limits.cpu: ");
	free(p);
	buf_free(&b);
}

Test(hostile, invalid_utf8_and_nul_bytes_are_located)
{
	static const char *const bad[] = {
		"\xc0\xaf",		/* overlong '/' */
		"\xed\xa0\x80",		/* a UTF-16 surrogate */
		"\xf4\x90\x80\x80",	/* beyond U+10FFFF */
		"\xff",
		"\xe2\x82",		/* truncated */
	};
	char	 text[256], name[32];
	char	*p;
	size_t	 i, n;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		n = (size_t)snprintf(text, sizeof(text), "name: ok\n"
		    "description: \"fine %s\"\ntasks: []\n", bad[i]);
		snprintf(name, sizeof(name), "utf8-%zu.yaml", i);
		p = put(name, text, n);
		/* libyaml words surrogates and code points past U+10FFFF its own way. */
		snprintf(text, sizeof(text), "%s:2:%d: error: %s", name,
		    i == 4 ? 21 : 20,
		    i == 1 || i == 2 ? "invalid Unicode character" :
		    "the file is not valid UTF-8");
		validate(p, NULL, 1, text);
		free(p);
	}
	n = (size_t)snprintf(text, sizeof(text), "name: ok\ntasks: []\n# x");
	text[n - 1] = '\0';
	p = put("nul.yaml", text, n);
	validate(p, NULL, 1, "nul.yaml:3:3: error: the file contains a NUL "
	    "byte");
	free(p);
}

/* One task that depends on 10,000 others: linear, accepted. */
Test(hostile, ten_thousand_dependencies_on_one_task)
{
	struct pf_buf	 b;
	char		*p;
	int		 i;

	buf_init(&b, 0);
	buf_add_str(&b, head);
	for (i = 0; i < 10000; i++)
		buf_printf(&b, "  - {name: t%d, type: shell, config: "
		    "{command: /bin/true}}\n", i);
	buf_add_str(&b, "  - name: sink\n    type: shell\n    depends_on: [");
	for (i = 0; i < 10000; i++)
		buf_printf(&b, "%st%d", i ? ", " : "", i);
	buf_add_str(&b, "]\n    config: {command: /bin/true}\n");
	cr_assert(b.len < 1024 * 1024);
	p = put("deps.yaml", b.data, b.len);
	validate(p, "--max-tasks 10001", 0, "Tasks: 10001\n");
	/* Without the raised cap: refused with the count. */
	validate(p, NULL, 1, "deps.yaml:1003:5: error: tasks: 10001 tasks; "
	    "the limit is 1000");
	free(p);
	buf_free(&b);
}

/* A 10,000-task cycle: reported once, as a path, in bounded time. */
Test(hostile, long_cycle)
{
	struct pf_buf	 b;
	char		*p;
	int		 i;

	buf_init(&b, 0);
	buf_add_str(&b, head);
	for (i = 0; i < 10000; i++)
		buf_printf(&b, "  - {name: t%d, type: shell, depends_on: [t%d], "
		    "config: {command: /bin/true}}\n", i, (i + 1) % 10000);
	p = put("cycle.yaml", b.data, b.len);
	validate(p, "--max-tasks 10000", 1, "cycle");
	free(p);
	buf_free(&b);
}

/* Names, keys and values far beyond every limit. */
Test(hostile, very_long_names_keys_and_values)
{
	struct pf_buf	 b;
	char		*p;
	int		 i;

	buf_init(&b, 0);
	buf_add_str(&b, "name: ");
	for (i = 0; i < 500000; i++)
		buf_add_u8(&b, 'n');
	buf_add_str(&b, "\ntasks: []\n");
	p = put("name.yaml", b.data, b.len);
	validate(p, NULL, 1, "name.yaml:1:7: error: name: 500000 bytes long; "
	    "the limit is 128");
	free(p);
	buf_free(&b);

	/*
	 * A plain key of 500,000 bytes is a YAML syntax error (libyaml's
	 * simple keys end at 1024); as an explicit key it is read, and the
	 * suggestion search over it is capped.
	 */
	buf_init(&b, 0);
	buf_add_str(&b, "name: ok\n");
	for (i = 0; i < 500000; i++)
		buf_add_u8(&b, 'k');
	buf_add_str(&b, ": 1\ntasks: []\n");
	p = put("key.yaml", b.data, b.len);
	validate(p, NULL, 1, "key.yaml:2:500001: error: YAML syntax error");
	free(p);
	buf_free(&b);
	buf_init(&b, 0);
	buf_add_str(&b, "name: ok\n? ");
	for (i = 0; i < 500000; i++)
		buf_add_u8(&b, 'k');
	buf_add_str(&b, "\n: 1\ntasks: []\n");
	p = put("xkey.yaml", b.data, b.len);
	validate(p, NULL, 1, "xkey.yaml:2:3: error: unknown key");
	free(p);
	buf_free(&b);

	/* A 900,000-byte command. */
	buf_init(&b, 0);
	buf_add_str(&b, head);
	buf_add_str(&b, "  - name: a\n    type: shell\n    config:\n"
	    "      command: /");
	for (i = 0; i < 900000; i++)
		buf_add_u8(&b, 'c');
	buf_add_str(&b, "\n");
	p = put("command.yaml", b.data, b.len);
	validate(p, NULL, 1, "command.yaml:6:16: error: task 'a' (shell): "
	    "command: 900001 bytes long; the limit is 4096");
	free(p);
	buf_free(&b);
}

/* 12,000 errors: the first 100 are shown and the rest counted. */
Test(hostile, thousands_of_errors_are_capped)
{
	struct pf_buf	 b;
	char		*p;
	int		 i;

	buf_init(&b, 0);
	buf_add_str(&b, head);
	for (i = 0; i < 12000; i++)
		buf_printf(&b, "  - {name: t%d, type: shell, retry: -1, "
		    "config: {command: /bin/true}}\n", i);
	cr_assert(b.len < 1024 * 1024);
	p = put("errors.yaml", b.data, b.len);
	validate(p, "--max-tasks 12000", 1, "(11900 more not shown)\n");
	validate(p, "--max-tasks 12000", 1, "invalid: 12000 errors\n");
	free(p);
	buf_free(&b);
}
