/*
 * The fixture corpus: every file under tests/fixtures/invalid must fail
 * with exactly the first error its "# expect: LINE:COL: text" header
 * names (and "# errors: N" errors, default 1); every file under
 * tests/fixtures/valid must load with "# warnings: N" warnings (default 0)
 * and survive print -> load -> print unchanged, text and model.  The Rust
 * PicoFlow's own files (../shared/fixtures/original) are checked against
 * the verdicts in their EXPECTED.md when that folder is present.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "picoflow/alloc.h"
#include "picoflow/buf.h"
#include "picoflow/err.h"
#include "picoflow/workflow.h"

#define FIXTURES	PF_SRC_DIR "/tests/fixtures"
#define ORIGINAL	PF_SRC_DIR "/../shared/fixtures/original"

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted *.yaml paths under dir (recursively); returns the count. */
static size_t
list_yaml(const char *dir, char ***out, size_t n)
{
	DIR		*d;
	struct dirent	*e;
	struct stat	 st;
	char		 path[PATH_MAX];
	size_t		 len;

	if ((d = opendir(dir)) == NULL)
		return n;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (stat(path, &st) == -1)
			continue;
		if (S_ISDIR(st.st_mode)) {
			n = list_yaml(path, out, n);
			continue;
		}
		len = strlen(e->d_name);
		if (len < 5 || strcmp(e->d_name + len - 5, ".yaml") != 0)
			continue;
		*out = realloc(*out, (n + 1) * sizeof(char *));
		cr_assert_not_null(*out);
		(*out)[n++] = strdup(path);
	}
	closedir(d);
	qsort(*out, n, sizeof(char *), cmp_str);
	return n;
}

static void
free_list(char **v, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static char *
read_all(const char *path, size_t *len)
{
	FILE	*f = fopen(path, "rb");
	char	*buf;
	long	 sz;

	cr_assert_not_null(f, "%s", path);
	fseek(f, 0, SEEK_END);
	sz = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)sz + 1);
	cr_assert_not_null(buf);
	cr_assert_eq(fread(buf, 1, (size_t)sz, f), (size_t)sz);
	buf[sz] = '\0';
	fclose(f);
	*len = (size_t)sz;
	return buf;
}

/* The value after "# key: " in the first few comment lines, or NULL. */
static const char *
header(const char *text, const char *key, char *out, size_t outlen)
{
	const char	*p = text, *e;
	size_t		 klen = strlen(key);
	int		 lines;

	for (lines = 0; lines < 4 && *p == '#'; lines++) {
		e = strchr(p, '\n');
		if (e == NULL)
			e = p + strlen(p);
		if (strncmp(p, "# ", 2) == 0 && strncmp(p + 2, key, klen) == 0 &&
		    p[2 + klen] == ':' && p[3 + klen] == ' ') {
			p += 4 + klen;
			if ((size_t)(e - p) >= outlen)
				return NULL;
			memcpy(out, p, (size_t)(e - p));
			out[e - p] = '\0';
			return out;
		}
		p = *e ? e + 1 : e;
	}
	return NULL;
}

static const struct pf_diag *
first_error(const struct pf_diags *d)
{
	size_t	 i;

	for (i = 0; i < d->n; i++)
		if (d->v[i].sev == PF_SEV_ERROR)
			return &d->v[i];
	return NULL;
}

static void
dump_diags(const char *what, const struct pf_diags *d)
{
	char	 line[2048];
	size_t	 i;

	for (i = 0; i < d->n; i++) {
		pf_diag_format(&d->v[i], line, sizeof(line));
		cr_log_info("%s: %s", what, line);
	}
}

Test(fixtures, invalid_files_fail_with_the_expected_first_error)
{
	char		**files = NULL, want[1024], cnt[32], *text;
	const char	*msg;
	const struct pf_diag *e;
	struct pf_diags	 d;
	struct pf_workflow *wf;
	unsigned	 line, col;
	size_t		 n, i, len, nerr;
	int		 off;

	n = list_yaml(FIXTURES "/invalid", &files, 0);
	cr_assert_geq(n, 60, "only %zu invalid fixtures", n);
	for (i = 0; i < n; i++) {
		text = read_all(files[i], &len);
		cr_assert_not_null(header(text, "expect", want, sizeof(want)),
		    "%s: no '# expect: LINE:COL: message' header", files[i]);
		off = 0;
		cr_assert_eq(sscanf(want, "%u:%u: %n", &line, &col, &off), 2,
		    "%s: bad expect header", files[i]);
		msg = want + off;
		nerr = 1;
		if (header(text, "errors", cnt, sizeof(cnt)) != NULL)
			nerr = strtoul(cnt, NULL, 10);
		free(text);

		pf_diags_init(&d);
		wf = workflow_load_file(files[i], NULL, &d);
		cr_expect_null(wf, "%s: loaded but must fail", files[i]);
		workflow_free(wf);
		e = first_error(&d);
		cr_expect_not_null(e, "%s: no error reported", files[i]);
		if (e != NULL) {
			cr_expect_str_eq(e->file, files[i]);
			cr_expect(e->line == line && e->col == col,
			    "%s: first error at %u:%u, expected %u:%u (%s)",
			    files[i], e->line, e->col, line, col, e->msg);
			cr_expect(strstr(e->msg, msg) != NULL,
			    "%s: message '%s' lacks '%s'", files[i], e->msg,
			    msg);
		}
		cr_expect_eq(d.nerrors, nerr, "%s: %zu errors, expected %zu",
		    files[i], d.nerrors, nerr);
		if (d.nerrors != nerr)
			dump_diags(files[i], &d);
		pf_diags_free(&d);
	}
	free_list(files, n);
}

/* NULL when equal, else the first field that differs. */
static const char *
str_diff(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b ? NULL : "one is NULL";
	return strcmp(a, b) == 0 ? NULL : "differs";
}

#define CHK(cond, what)	do { if (!(cond)) return (what); } while (0)
#define CHKS(a, b, what) CHK(str_diff((a), (b)) == NULL, (what))

static const char *
strv_diff(char *const *a, size_t na, char *const *b, size_t nb)
{
	size_t	 i;

	if (na != nb)
		return "count";
	if ((a == NULL) != (b == NULL))
		return "one list is absent";
	for (i = 0; i < na; i++)
		if (str_diff(a[i], b[i]) != NULL)
			return "item";
	return NULL;
}

static const char *
kv_diff(const struct pf_kvlist *a, const struct pf_kvlist *b)
{
	size_t	 i;

	if (a->n != b->n)
		return "count";
	for (i = 0; i < a->n; i++)
		if (str_diff(a->v[i].key, b->v[i].key) != NULL ||
		    str_diff(a->v[i].value, b->v[i].value) != NULL)
			return "entry";
	return NULL;
}

static const char *
limits_diff(const struct pf_limits *a, const struct pf_limits *b)
{
	CHK(a->memory == b->memory, "memory");
	CHK(a->swap == b->swap, "swap");
	CHK(a->cpu_milli == b->cpu_milli, "cpu");
	CHK(a->pids == b->pids, "pids");
	CHK(a->nofile == b->nofile, "nofile");
	CHK(a->output == b->output, "output");
	return NULL;
}

static const char *
task_diff(const struct pf_task *a, const struct pf_task *b)
{
	size_t	 i;

	CHKS(a->name, b->name, "name");
	CHK(a->type == b->type, "type");
	CHK(strv_diff(a->depends_on, a->ndepends_on, b->depends_on,
	    b->ndepends_on) == NULL || (a->ndepends_on == 0 &&
	    b->ndepends_on == 0), "depends_on");
	for (i = 0; i < a->ndepends_on; i++)
		CHK(a->dep_idx[i] == b->dep_idx[i], "dep_idx");
	CHK(a->retry == b->retry, "retry");
	CHK(a->timeout == b->timeout, "timeout");
	CHK(a->continue_on_failure == b->continue_on_failure, "continue");
	CHK(limits_diff(&a->limits, &b->limits) == NULL, "limits");
	CHKS(a->run_as, b->run_as, "run_as");
	CHK(a->sandbox.network == b->sandbox.network, "sandbox.network");
	CHK(strv_diff(a->sandbox.read_only, a->sandbox.nread_only,
	    b->sandbox.read_only, b->sandbox.nread_only) == NULL,
	    "sandbox.read_only");
	CHK(strv_diff(a->sandbox.writable, a->sandbox.nwritable,
	    b->sandbox.writable, b->sandbox.nwritable) == NULL,
	    "sandbox.writable");
	switch (a->type) {
	case TASK_SHELL:
		CHKS(a->u.shell.command, b->u.shell.command, "command");
		CHK(a->u.shell.nargs == b->u.shell.nargs, "nargs");
		for (i = 0; i < a->u.shell.nargs; i++)
			CHKS(a->u.shell.args[i], b->u.shell.args[i], "args");
		CHKS(a->u.shell.workdir, b->u.shell.workdir, "workdir");
		CHK(kv_diff(&a->u.shell.env, &b->u.shell.env) == NULL, "env");
		break;
	case TASK_SSH:
		CHKS(a->u.ssh.host, b->u.ssh.host, "host");
		CHKS(a->u.ssh.user, b->u.ssh.user, "user");
		CHKS(a->u.ssh.command, b->u.ssh.command, "ssh command");
		CHKS(a->u.ssh.key_path, b->u.ssh.key_path, "key_path");
		CHK(a->u.ssh.port == b->u.ssh.port, "port");
		CHK(a->u.ssh.verify_host_key == b->u.ssh.verify_host_key,
		    "verify_host_key");
		break;
	case TASK_HTTP:
		CHKS(a->u.http.url, b->u.http.url, "url");
		CHKS(a->u.http.method, b->u.http.method, "method");
		CHK(kv_diff(&a->u.http.headers, &b->u.http.headers) == NULL,
		    "headers");
		CHKS(a->u.http.body, b->u.http.body, "body");
		CHK(a->u.http.body_is_json == b->u.http.body_is_json,
		    "body_is_json");
		CHK(a->u.http.timeout == b->u.http.timeout, "http timeout");
		CHK(a->u.http.allow_private_ips == b->u.http.allow_private_ips,
		    "allow_private_ips");
		CHKS(a->u.http.ca_file, b->u.http.ca_file, "ca_file");
		CHK(a->u.http.nsuccess_status == b->u.http.nsuccess_status,
		    "nsuccess_status");
		for (i = 0; i < a->u.http.nsuccess_status; i++)
			CHK(a->u.http.success_status[i] ==
			    b->u.http.success_status[i], "success_status");
		break;
	}
	return NULL;
}

static const char *
workflow_diff(const struct pf_workflow *a, const struct pf_workflow *b)
{
	size_t	 i;

	CHKS(a->name, b->name, "name");
	CHKS(a->description, b->description, "description");
	CHKS(a->schedule, b->schedule, "schedule");
	CHKS(a->timezone, b->timezone, "timezone");
	CHK(a->overlap == b->overlap, "overlap");
	CHK(a->catchup == b->catchup, "catchup");
	CHK(a->catchup_window == b->catchup_window, "catchup_window");
	CHK(a->catchup_max == b->catchup_max, "catchup_max");
	CHK(kv_diff(&a->env, &b->env) == NULL, "env");
	CHK(a->max_parallel == b->max_parallel, "max_parallel");
	CHK(a->retry_default == b->retry_default, "retry_default");
	CHK(a->timeout_default == b->timeout_default, "timeout_default");
	CHK(limits_diff(&a->limits, &b->limits) == NULL, "config.limits");
	CHK(a->ntasks == b->ntasks, "ntasks");
	for (i = 0; i < a->ntasks; i++) {
		CHK(task_diff(&a->tasks[i], &b->tasks[i]) == NULL,
		    task_diff(&a->tasks[i], &b->tasks[i]));
		CHK(a->order[i] == b->order[i], "order");
		CHK(a->level[i] == b->level[i], "level");
	}
	return NULL;
}

/* print -> load -> print: same text, same model, no new warnings. */
static void
round_trip(const char *path, const struct pf_workflow *wf, size_t nwarn)
{
	struct pf_buf	 b1, b2;
	struct pf_diags	 d;
	struct pf_workflow *wf2;
	const char	*diff;

	buf_init(&b1, 0);
	buf_init(&b2, 0);
	cr_assert_eq(workflow_print(wf, &b1), 0);
	pf_diags_init(&d);
	wf2 = workflow_load_buf("printed", b1.data, b1.len, NULL, &d);
	if (wf2 == NULL)
		dump_diags(path, &d);
	cr_assert_not_null(wf2, "%s: the printed form does not load:\n%s",
	    path, buf_cstr(&b1));
	cr_expect_leq(d.nwarnings, nwarn, "%s: printed form warns more", path);
	diff = workflow_diff(wf, wf2);
	cr_expect_null(diff, "%s: reloaded model differs: %s", path,
	    diff ? diff : "");
	cr_assert_eq(workflow_print(wf2, &b2), 0);
	cr_expect_str_eq(buf_cstr(&b1), buf_cstr(&b2),
	    "%s: printing is not stable", path);
	workflow_free(wf2);
	pf_diags_free(&d);
	buf_free(&b1);
	buf_free(&b2);
}

Test(fixtures, valid_files_load_and_round_trip)
{
	char		**files = NULL, cnt[32], *text;
	struct pf_diags	 d;
	struct pf_workflow *wf;
	size_t		 n, i, len, nwarn;

	n = list_yaml(FIXTURES "/valid", &files, 0);
	cr_assert_geq(n, 15, "only %zu valid fixtures", n);
	for (i = 0; i < n; i++) {
		text = read_all(files[i], &len);
		nwarn = 0;
		if (header(text, "warnings", cnt, sizeof(cnt)) != NULL)
			nwarn = strtoul(cnt, NULL, 10);
		free(text);
		pf_diags_init(&d);
		wf = workflow_load_file(files[i], NULL, &d);
		if (wf == NULL || d.nwarnings != nwarn)
			dump_diags(files[i], &d);
		cr_expect_not_null(wf, "%s: does not load", files[i]);
		cr_expect_eq(d.nerrors, 0, "%s", files[i]);
		cr_expect_eq(d.nwarnings, nwarn, "%s: %zu warnings, expected "
		    "%zu", files[i], d.nwarnings, nwarn);
		if (wf != NULL)
			round_trip(files[i], wf, d.nwarnings);
		workflow_free(wf);
		pf_diags_free(&d);
	}
	free_list(files, n);
}

/* ---------------------------------------------- the Rust PicoFlow's files */

struct verdict {
	char	 pattern[256];
	char	 expect[64];
	int	 count;		/* "(5)" after a glob, else 0 */
	int	 seen;
};

/*
 * The table rows of EXPECTED.md: "| file | expected | why |".  A glob
 * row ends with how many files it must match, e.g. " (5)".
 */
static size_t
read_verdicts(struct verdict *v, size_t max)
{
	FILE	*f = fopen(ORIGINAL "/EXPECTED.md", "r");
	char	 line[1024], *c1, *c2, *c3, *p;
	size_t	 n = 0;

	cr_assert_not_null(f, "EXPECTED.md missing from %s", ORIGINAL);
	while (fgets(line, sizeof(line), f) != NULL && n < max) {
		if (line[0] != '|' || strstr(line, "---") != NULL)
			continue;
		c1 = line + 1;
		if ((c2 = strchr(c1, '|')) == NULL)
			continue;
		*c2++ = '\0';
		if ((c3 = strchr(c2, '|')) == NULL)
			continue;
		*c3 = '\0';
		while (*c1 == ' ')
			c1++;
		p = c1 + strlen(c1);
		while (p > c1 && p[-1] == ' ')
			*--p = '\0';
		while (*c2 == ' ')
			c2++;
		p = c2 + strlen(c2);
		while (p > c2 && p[-1] == ' ')
			*--p = '\0';
		if (strcmp(c1, "file") == 0)
			continue;
		memset(&v[n], 0, sizeof(v[n]));
		if ((p = strstr(c1, " (")) != NULL) {
			v[n].count = atoi(p + 2);
			*p = '\0';
		}
		snprintf(v[n].pattern, sizeof(v[n].pattern), "%.*s",
		    (int)sizeof(v[n].pattern) - 1, c1);
		snprintf(v[n].expect, sizeof(v[n].expect), "%.*s",
		    (int)sizeof(v[n].expect) - 1, c2);
		n++;
	}
	fclose(f);
	return n;
}

/* What the error for each invalid original file must say. */
static const struct {
	const char	*file;
	const char	*msg[3];
} original_reasons[] = {
	{ "examples/workflows/backup.yaml",
	    { "task 'cleanup_old_backups' (ssh)",
	      "missing required key 'user' in config" } },
	{ "tests/parser_test_duplicate_task_names_rejected.yaml",
	    { "duplicate task name", "line 3" } },
	{ "tests/parser_test_missing_dependency.yaml",
	    { "unknown task 'nonexistent'" } },
	{ "tests/parser_test_retry_count_limit_rejected.yaml",
	    { "retry: 101 is out of range 0..100" } },
	{ "tests/parser_test_task_count_limit.yaml",
	    { "1001 tasks; the limit is 1000" } },
	{ "tests/parser_test_validate_rejects_non_absolute_shell_command.yaml",
	    { "command: 'echo' is not an absolute path" } },
	{ "tests/parser_test_yaml_size_limit.yaml",
	    { "the file is 1200018 bytes; the limit is 1048576 bytes" } },
};

static void
check_original(const char *path, const char *rel, const char *expect)
{
	struct pf_diags	 d;
	struct pf_workflow *wf;
	const struct pf_diag *e;
	size_t		 i, j;

	pf_diags_init(&d);
	wf = workflow_load_file(path, NULL, &d);
	if (strcmp(expect, "valid") == 0) {
		if (wf == NULL || d.nwarnings != 0)
			dump_diags(rel, &d);
		cr_expect_not_null(wf, "%s must be valid", rel);
		cr_expect_eq(d.nwarnings, 0, "%s: unexpected warnings", rel);
	} else if (strcmp(expect, "valid, warns") == 0) {
		cr_expect_not_null(wf, "%s must be valid", rel);
		cr_expect_geq(d.nwarnings, 1, "%s must warn", rel);
		for (i = 0; i < d.n; i++) {
			cr_expect(d.v[i].line > 0 && d.v[i].col > 0,
			    "%s: warning without a position", rel);
			cr_expect(strstr(d.v[i].msg, "'timeout' inside config")
			    != NULL, "%s: unexpected warning '%s'", rel,
			    d.v[i].msg);
		}
	} else if (strcmp(expect, "invalid") == 0) {
		cr_expect_null(wf, "%s must be invalid", rel);
		e = first_error(&d);
		cr_expect_not_null(e, "%s: no error", rel);
		if (e != NULL) {
			cr_expect_str_eq(e->file, path);
			cr_expect(e->line > 0 && e->col > 0,
			    "%s: error without line and column", rel);
			for (i = 0; i < sizeof(original_reasons) /
			    sizeof(original_reasons[0]); i++) {
				if (strcmp(original_reasons[i].file, rel) != 0)
					continue;
				for (j = 0; j < 3 &&
				    original_reasons[i].msg[j] != NULL; j++)
					cr_expect(strstr(e->msg,
					    original_reasons[i].msg[j]) != NULL,
					    "%s: '%s' lacks '%s'", rel, e->msg,
					    original_reasons[i].msg[j]);
			}
		}
	} else
		cr_expect_fail("%s: unknown verdict '%s'", rel, expect);
	if (wf != NULL)
		round_trip(rel, wf, d.nwarnings);
	workflow_free(wf);
	pf_diags_free(&d);
}

Test(fixtures, rust_picoflow_files_match_expected_md)
{
	struct verdict	 v[64];
	struct stat	 st;
	char		**files = NULL;
	const char	*rel;
	size_t		 nv, n, i, k, matched;

	if (stat(ORIGINAL, &st) == -1 || !S_ISDIR(st.st_mode)) {
		cr_skip_test("SKIPPED: %s does not exist (the Rust PicoFlow's "
		    "files are not checked out next to this tree)", ORIGINAL);
		return;
	}
	nv = read_verdicts(v, sizeof(v) / sizeof(v[0]));
	cr_assert_geq(nv, 20, "EXPECTED.md has only %zu rows", nv);
	n = list_yaml(ORIGINAL, &files, 0);
	cr_assert_geq(n, 30);
	matched = 0;
	for (i = 0; i < n; i++) {
		rel = files[i] + strlen(ORIGINAL) + 1;
		for (k = 0; k < nv; k++)
			if (fnmatch(v[k].pattern, rel, FNM_PATHNAME) == 0)
				break;
		cr_expect_lt(k, nv, "%s has no verdict in EXPECTED.md", rel);
		if (k == nv)
			continue;
		v[k].seen++;
		matched++;
		check_original(files[i], rel, v[k].expect);
	}
	for (k = 0; k < nv; k++)
		cr_expect_eq(v[k].seen, v[k].count ? v[k].count : 1,
		    "EXPECTED.md row '%s' matched %d files", v[k].pattern,
		    v[k].seen);
	cr_expect_eq(matched, n);
	free_list(files, n);
}
