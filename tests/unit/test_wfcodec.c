/*
 * The workflow model codec (pf-loader -> pf-supervisor): every valid
 * fixture and example survives encode -> decode unchanged (normalized
 * print, and the DAG the supervisor recomputes), and a model a subverted
 * loader could send is refused: bad names, paths, ranges, repeated or
 * unknown fields, lying counts, dependency cycles, truncation.
 */
#include <criterion/criterion.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "picoflow/alloc.h"
#include "picoflow/buf.h"
#include "picoflow/dag.h"
#include "picoflow/wfcodec.h"
#include "picoflow/workflow.h"

static struct pf_workflow *
load(const char *path)
{
	struct wf_load_opts	 o;
	struct pf_workflow	*wf;

	workflow_load_opts_default(&o);
	wf = workflow_load_file(path, &o, NULL);
	cr_assert_not_null(wf, "%s does not load", path);
	return wf;
}

static char *
printed(const struct pf_workflow *wf)
{
	struct pf_buf	 b;
	char		*s;

	buf_init(&b, 0);
	cr_assert_eq(workflow_print(wf, &b), 0);
	s = strndup((const char *)b.data, b.len);
	buf_free(&b);
	return s;
}

static void
round_trip(const char *path)
{
	struct pf_workflow	*wf, *back;
	struct pf_buf		 b;
	struct pf_err		 err;
	char			*p1, *p2;
	size_t			 i, k;

	wf = load(path);
	buf_init(&b, 0);
	cr_assert_eq(wfcodec_encode(wf, &b), 0, "%s", path);
	back = wfcodec_decode(b.data, b.len, NULL, &err);
	cr_assert_not_null(back, "%s: %s", path, err.msg);
	p1 = printed(wf);
	p2 = printed(back);
	cr_assert_str_eq(p1, p2, "%s", path);
	cr_assert_str_eq(wf->file, back->file);
	cr_assert_eq(wf->ntasks, back->ntasks);
	/* Both model makers keep the graph every run shares. */
	cr_assert_not_null(wf->dag);
	cr_assert_not_null(back->dag);
	cr_assert_eq(back->order, back->dag->order);
	cr_assert_eq(back->dag->n, back->ntasks);
	for (i = 0; i < wf->ntasks; i++) {
		const struct pf_task *a = &wf->tasks[i], *c = &back->tasks[i];

		cr_assert_eq(wf->order[i], back->order[i], "%s", path);
		cr_assert_eq(wf->level[i], back->level[i], "%s", path);
		cr_assert_eq(a->pos.line, c->pos.line);
		cr_assert_eq(a->pos.col, c->pos.col);
		cr_assert_eq(a->ndepends_on, c->ndepends_on);
		for (k = 0; k < a->ndepends_on; k++)
			cr_assert_eq(a->dep_idx[k], c->dep_idx[k]);
		cr_assert_eq(memcmp(&a->limits, &c->limits,
		    sizeof(a->limits)), 0);
		cr_assert_eq(a->sandbox.network, c->sandbox.network);
	}
	free(p1);
	free(p2);
	buf_free(&b);
	workflow_free(wf);
	workflow_free(back);
}

static size_t
round_trip_dir(const char *dir)
{
	struct dirent	*de;
	char		 path[4096];
	size_t		 n = 0, len;
	DIR		*d;

	cr_assert_not_null(d = opendir(dir), "%s", dir);
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (de->d_name[0] == '.' || len < 6 ||
		    strcmp(de->d_name + len - 5, ".yaml") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		round_trip(path);
		n++;
	}
	closedir(d);
	return n;
}

Test(wfcodec, every_valid_fixture_and_example_round_trips)
{
	size_t	 n = 0;

	n += round_trip_dir(PF_SRC_DIR "/tests/fixtures/valid");
	n += round_trip_dir(PF_SRC_DIR "/examples");
	n += round_trip_dir(PF_SRC_DIR "/examples/workflows");
	cr_assert_geq(n, 20, "only %zu files", n);
}

/* A model as a subverted loader would build it, then its verdict. */
static struct pf_workflow *
sample(void)
{
	return load(PF_SRC_DIR "/tests/fixtures/valid/dag_diamond.yaml");
}

static void
expect_refused(struct pf_workflow *wf, const char *why)
{
	struct pf_buf		 b;
	struct pf_err		 err;
	struct pf_workflow	*back;

	buf_init(&b, 0);
	cr_assert_eq(wfcodec_encode(wf, &b), 0);
	back = wfcodec_decode(b.data, b.len, NULL, &err);
	cr_assert_null(back, "accepted a model with %s", why);
	cr_log_info("%s: %s", why, err.msg);
	buf_free(&b);
	workflow_free(wf);
}

static void
set_str(char **p, const char *v)
{
	pf_free(*p);
	*p = pf_strdup(v);
}

Test(wfcodec, refuses_a_task_name_that_is_a_path)
{
	struct pf_workflow	*wf = sample();

	set_str(&wf->tasks[0].name, "../../etc");
	expect_refused(wf, "a path as task name");
}

Test(wfcodec, refuses_two_tasks_of_one_name)
{
	struct pf_workflow	*wf = sample();

	set_str(&wf->tasks[1].name, wf->tasks[0].name);
	expect_refused(wf, "a duplicate task name");
}

Test(wfcodec, refuses_a_dependency_cycle)
{
	struct pf_workflow	*wf = sample();
	struct pf_task		*root = &wf->tasks[3];
	struct pf_task		*join = &wf->tasks[0];

	/* root now depends on join, which depends on it through left. */
	cr_assert_str_eq(root->name, "root");
	cr_assert_eq(root->ndepends_on, 0);
	pf_free(root->depends_on);
	root->depends_on = pf_calloc(1, sizeof(char *));
	root->depends_on[0] = pf_strdup(join->name);
	root->ndepends_on = 1;
	expect_refused(wf, "a cycle");
}

Test(wfcodec, refuses_an_unknown_or_self_dependency)
{
	struct pf_workflow	*wf = sample();

	set_str(&wf->tasks[1].depends_on[0], "nobody-has-this-name");
	expect_refused(wf, "an unknown dependency");
	wf = sample();
	set_str(&wf->tasks[1].depends_on[0], wf->tasks[1].name);
	expect_refused(wf, "a self dependency");
}

Test(wfcodec, refuses_values_out_of_range)
{
	struct pf_workflow	*wf = sample();

	wf->tasks[0].limits.memory = -2;
	expect_refused(wf, "a negative memory limit");
	wf = sample();
	wf->tasks[0].sandbox.network = 7;
	expect_refused(wf, "network 7");
	wf = sample();
	wf->overlap = 9;
	expect_refused(wf, "an unknown overlap policy");
	wf = sample();
	wf->max_parallel = 0;
	expect_refused(wf, "max_parallel 0");
	wf = sample();
	set_str(&wf->tasks[0].u.shell.command, "relative/cmd");
	expect_refused(wf, "a relative command");
	wf = sample();
	set_str(&wf->tasks[0].run_as, "root;rm");
	expect_refused(wf, "a run_as that is no user name");
	wf = sample();
	set_str(&wf->name, "a\nb");
	expect_refused(wf, "a control byte in the name");
}

Test(wfcodec, refuses_too_many_tasks_for_the_caller)
{
	struct pf_workflow	*wf = sample();
	struct wfcodec_opts	 o = { .max_tasks = 2 };
	struct pf_buf		 b;
	struct pf_err		 err;

	buf_init(&b, 0);
	cr_assert_eq(wfcodec_encode(wf, &b), 0);
	cr_assert_gt(wf->ntasks, 2);
	cr_assert_null(wfcodec_decode(b.data, b.len, &o, &err));
	cr_assert(strstr(err.msg, "tasks") != NULL, "%s", err.msg);
	buf_free(&b);
	workflow_free(wf);
}

/* Raw bytes: the field layout itself (u16 tag, u32 len, bytes). */
static void
add_field(struct pf_buf *b, uint16_t tag, const void *p, uint32_t n)
{
	buf_add_u16(b, tag);
	buf_add_u32(b, n);
	buf_add(b, p, n);
}

Test(wfcodec, refuses_repeated_unknown_and_missized_fields)
{
	struct pf_workflow	*wf = sample();
	struct pf_buf		 b;
	struct pf_err		 err;
	uint8_t			 u8 = 0;
	size_t			 base;

	buf_init(&b, 0);
	cr_assert_eq(wfcodec_encode(wf, &b), 0);
	base = b.len;
	/* name again (tag 2) */
	add_field(&b, 2, "other", 5);
	cr_assert_null(wfcodec_decode(b.data, b.len, NULL, &err));
	cr_assert(strstr(err.msg, "repeated") != NULL, "%s", err.msg);
	b.len = base;
	add_field(&b, 999, "x", 1);
	cr_assert_null(wfcodec_decode(b.data, b.len, NULL, &err));
	cr_assert(strstr(err.msg, "unknown") != NULL, "%s", err.msg);
	/* A 1-byte catchup_window (tag 8 is a u32) on a fresh body. */
	buf_reset(&b);
	add_field(&b, 2, "w", 1);
	add_field(&b, 8, &u8, 1);
	cr_assert_null(wfcodec_decode(b.data, b.len, NULL, &err));
	cr_assert(strstr(err.msg, "size") != NULL, "%s", err.msg);
	/* A string with a NUL in it. */
	buf_reset(&b);
	add_field(&b, 2, "a\0b", 3);
	cr_assert_null(wfcodec_decode(b.data, b.len, NULL, &err));
	buf_free(&b);
	workflow_free(wf);
}

Test(wfcodec, refuses_a_count_larger_than_its_bytes)
{
	struct pf_buf	 b, v;
	struct pf_err	 err;

	/* env (tag 10): claims 4 billion entries in 8 bytes. */
	buf_init(&b, 0);
	buf_init(&v, 0);
	buf_add_u32(&v, 0xffffffffu);
	buf_add_u32(&v, 0);
	add_field(&b, 10, v.data, (uint32_t)v.len);
	cr_assert_null(wfcodec_decode(b.data, b.len, NULL, &err));
	cr_assert(strstr(err.msg, "count") != NULL, "%s", err.msg);
	buf_free(&b);
	buf_free(&v);
}

Test(wfcodec, every_truncation_is_refused_or_still_consistent)
{
	struct pf_workflow	*wf = sample(), *back;
	struct pf_buf		 b;
	struct pf_err		 err;
	size_t			 n, refused = 0;

	buf_init(&b, 0);
	cr_assert_eq(wfcodec_encode(wf, &b), 0);
	for (n = 0; n < b.len; n++) {
		back = wfcodec_decode(b.data, n, NULL, &err);
		if (back == NULL) {
			refused++;
			continue;
		}
		/* A prefix that ends between fields is a smaller model. */
		cr_assert_leq(back->ntasks, wf->ntasks);
		workflow_free(back);
	}
	cr_assert_geq(refused, b.len - 8, "%zu of %zu prefixes refused",
	    refused, b.len);
	buf_free(&b);
	workflow_free(wf);
}

Test(wfcodec, a_task_field_of_another_type_is_refused)
{
	struct pf_workflow	*wf = sample();
	struct pf_buf		 b, t;
	struct pf_err		 err;
	uint8_t			 type = TASK_HTTP;

	/* An http task carrying a shell command (tag 40). */
	buf_init(&b, 0);
	buf_init(&t, 0);
	add_field(&t, 1, "t", 1);
	add_field(&t, 2, &type, 1);
	add_field(&t, 40, "/bin/sh", 7);
	add_field(&b, 2, "w", 1);
	{
		struct pf_buf	 v;

		buf_init(&v, 0);
		buf_add_u32(&v, 1);
		buf_add_u32(&v, (uint32_t)t.len);
		buf_add(&v, t.data, t.len);
		add_field(&b, 40, v.data, (uint32_t)v.len);
		buf_free(&v);
	}
	cr_assert_null(wfcodec_decode(b.data, b.len, NULL, &err));
	cr_assert(strstr(err.msg, "task type") != NULL, "%s", err.msg);
	buf_free(&b);
	buf_free(&t);
	workflow_free(wf);
}

/* A forged run_as root is refused unless root is allowed for this load. */
Test(wfcodec, refuses_root_unless_allowed)
{
	static const char *roots[] = { "root", "0", "nobody:root", "nobody:0",
	    "root:nogroup" };
	struct wfcodec_opts	 o = { .root_check = 1, .root_allowed = 0,
				    .default_user = "nobody" };
	struct pf_workflow	*wf, *back;
	struct pf_buf		 b;
	struct pf_err		 err;
	size_t			 i;

	for (i = 0; i < sizeof(roots) / sizeof(roots[0]); i++) {
		wf = sample();
		set_str(&wf->tasks[0].run_as, roots[i]);
		buf_init(&b, 0);
		cr_assert_eq(wfcodec_encode(wf, &b), 0);
		cr_assert_null(wfcodec_decode(b.data, b.len, &o, &err),
		    "run_as %s accepted", roots[i]);
		cr_assert(strstr(err.msg, "root") != NULL, "%s", err.msg);
		o.root_allowed = 1;
		back = wfcodec_decode(b.data, b.len, &o, &err);
		cr_assert_not_null(back, "%s: %s", roots[i], err.msg);
		workflow_free(back);
		o.root_allowed = 0;
		buf_free(&b);
		workflow_free(wf);
	}
	/* No run_as: the default user decides. */
	wf = sample();
	buf_init(&b, 0);
	cr_assert_eq(wfcodec_encode(wf, &b), 0);
	back = wfcodec_decode(b.data, b.len, &o, &err);
	cr_assert_not_null(back, "%s", err.msg);
	workflow_free(back);
	o.default_user = "root";
	cr_assert_null(wfcodec_decode(b.data, b.len, &o, &err));
	buf_free(&b);
	workflow_free(wf);
}

/*
 * The worker trusts run_as_privileged as the operator's consent and
 * unprivileged_groups as the policy's word: a forged model may carry
 * either only when root is allowed for this load.
 */
Test(wfcodec, refuses_forged_group_consent_unless_root_is_allowed)
{
	struct wfcodec_opts	 o = { .root_check = 1, .root_allowed = 0,
				    .default_user = "nobody" };
	struct pf_workflow	*wf, *back;
	struct pf_buf		 b;
	struct pf_err		 err;
	int			 k;

	for (k = 0; k < 2; k++) {
		wf = sample();
		if (k == 0) {
			set_str(&wf->tasks[0].run_as, "nobody:shadow");
			wf->tasks[0].run_as_privileged = true;
		} else {
			wf->unprivileged_groups = pf_calloc(1, sizeof(char *));
			wf->unprivileged_groups[0] = pf_strdup("shadow");
			wf->nunprivileged_groups = 1;
		}
		buf_init(&b, 0);
		cr_assert_eq(wfcodec_encode(wf, &b), 0);
		cr_assert_null(wfcodec_decode(b.data, b.len, &o, &err),
		    "case %d accepted", k);
		cr_assert(strstr(err.msg, k == 0 ? "privileged group" :
		    "unprivileged_groups") != NULL, "%s", err.msg);
		o.root_allowed = 1;
		back = wfcodec_decode(b.data, b.len, &o, &err);
		cr_assert_not_null(back, "case %d: %s", k, err.msg);
		if (k == 0)
			cr_assert(back->tasks[0].run_as_privileged);
		else
			cr_assert_str_eq(back->unprivileged_groups[0],
			    "shadow");
		workflow_free(back);
		o.root_allowed = 0;
		buf_free(&b);
		workflow_free(wf);
	}
}
