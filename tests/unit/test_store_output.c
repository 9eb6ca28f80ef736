/*
 * Schema version 3: task output in chunks (task_output), appended while
 * an attempt runs so that nothing holds it whole.  Readers get the
 * attempt's columns then its chunks, per stream, in order; a chunked end
 * appends the rest in its own transaction; retention counts and deletes
 * chunks; a version 2 file is read as it is and migrated by a writer.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "picoflow/alloc.h"
#include "picoflow/store.h"
#include "../lib/proc.h"
#include "../lib/store_fixture.h"

TestSuite(storeout, .init = store_fx_setup, .fini = store_fx_teardown);

/* A run of workflow w with one running attempt; returns the attempt. */
static int64_t
begin(struct pf_store *st, const char *w, int64_t start, int64_t *run)
{
	struct pf_err	 err;
	int64_t		 wf, att;

	cr_assert_eq(store_workflow_upsert(st, w, NULL, NULL, NULL, &wf,
	    &err), 0, "%s", err.msg);
	cr_assert_eq(store_run_begin(st, wf, "manual", start, run, &err), 0,
	    "%s", err.msg);
	cr_assert_eq(store_attempt_begin(st, *run, "t", 1, start, &att, &err),
	    0, "%s", err.msg);
	return att;
}

static void
chunk(struct store_chunk *c, int64_t att, int stream, const char *s)
{
	c->attempt_id = att;
	c->stream = stream;
	c->data = s;
	c->len = strlen(s);
}

static int
end(struct pf_store *st, int64_t att, int chunked, const char *out,
    const char *errs, int64_t captured, struct pf_err *err)
{
	struct store_attempt_end e;

	store_attempt_end_init(&e);
	e.status = PF_STATUS_SUCCESS;
	e.ended_ms = T0 + 1000;
	e.chunked = chunked;
	e.stdout_data = out;
	e.stdout_len = out ? strlen(out) : 0;
	e.stderr_data = errs;
	e.stderr_len = errs ? strlen(errs) : 0;
	e.bytes_captured = captured;
	return store_attempt_end(st, att, &e, err);
}

static struct store_attempt *
read_one(struct pf_store *st, int64_t run)
{
	struct store_attempt	*a;
	struct pf_err		 err;
	size_t			 n;

	cr_assert_eq(store_attempts_list(st, run, NULL, 1, &a, &n, &err), 0,
	    "%s", err.msg);
	cr_assert_eq(n, 1);
	return a;
}

static void
assert_bytes(const unsigned char *p, size_t len, const char *want)
{
	cr_assert_eq(len, strlen(want), "length %zu, wanted %zu", len,
	    strlen(want));
	cr_assert(len == 0 || memcmp(p, want, len) == 0, "'%.*s' != '%s'",
	    (int)len, (const char *)p, want);
}

Test(storeout, chunks_then_rest_read_in_order)
{
	struct pf_store		*st = store_fx_open(STORE_RW);
	struct store_chunk	 c[3];
	struct store_attempt	*a;
	struct pf_err		 err;
	int64_t			 run, att;

	att = begin(st, "w", T0, &run);
	chunk(&c[0], att, STORE_STDOUT, "one ");
	chunk(&c[1], att, STORE_STDERR, "e1 ");
	chunk(&c[2], att, STORE_STDOUT, "two ");
	cr_assert_eq(store_output_append(st, c, 3, &err), 0, "%s", err.msg);
	/* A running attempt shows what is stored so far. */
	a = read_one(st, run);
	cr_assert_str_eq(a->status, "running");
	assert_bytes(a->stdout_data, a->stdout_len, "one two ");
	assert_bytes(a->stderr_data, a->stderr_len, "e1 ");
	store_attempts_free(a, 1);
	chunk(&c[0], att, STORE_STDOUT, "three");
	cr_assert_eq(store_output_append(st, c, 1, &err), 0, "%s", err.msg);
	cr_assert_eq(end(st, att, 1, " four", "e2", 19, &err), 0, "%s",
	    err.msg);
	a = read_one(st, run);
	assert_bytes(a->stdout_data, a->stdout_len, "one two three four");
	assert_bytes(a->stderr_data, a->stderr_len, "e1 e2");
	cr_assert_eq(a->bytes_captured, 19);
	store_attempts_free(a, 1);
	/* Not copied into the row as well. */
	cr_assert_eq(store_fx_int("SELECT count(*) FROM task_executions WHERE "
	    "stdout IS NOT NULL OR stderr IS NOT NULL"), 0);
	cr_assert_eq(store_fx_int("SELECT count(*) FROM task_output"), 6);
	cr_assert_eq(store_fx_int("SELECT max(seq) FROM task_output"), 6);
	store_close(st);
	/* A reader sees the same. */
	st = store_fx_open(STORE_RO);
	a = read_one(st, run);
	assert_bytes(a->stdout_data, a->stdout_len, "one two three four");
	store_attempts_free(a, 1);
	store_close(st);
}

/* The common case: nothing chunked, one write at the end, in the row. */
Test(storeout, small_output_stays_in_the_row)
{
	struct pf_store		*st = store_fx_open(STORE_RW);
	struct store_attempt	*a;
	struct pf_err		 err;
	int64_t			 run, att;

	att = begin(st, "w", T0, &run);
	cr_assert_eq(end(st, att, 0, "hello\n", "", 6, &err), 0, "%s",
	    err.msg);
	cr_assert_eq(store_fx_int("SELECT count(*) FROM task_output"), 0);
	cr_assert_eq(store_fx_int("SELECT length(stdout) FROM task_executions"),
	    6);
	a = read_one(st, run);
	assert_bytes(a->stdout_data, a->stdout_len, "hello\n");
	store_attempts_free(a, 1);
	store_close(st);
}

Test(storeout, invalid_chunks_refused_and_a_batch_is_atomic)
{
	struct pf_store		*st = store_fx_open(STORE_RW);
	struct store_chunk	 c[2];
	struct pf_err		 err;
	int64_t			 run, att;

	att = begin(st, "w", T0, &run);
	chunk(&c[0], att, 3, "x");
	cr_assert_eq(store_output_append(st, c, 1, &err), -1);
	cr_assert(strstr(err.msg, "invalid output stream") != NULL, "%s",
	    err.msg);
	chunk(&c[0], att, STORE_STDOUT, "x");
	c[0].len = (size_t)STORE_CHUNK_MAX + 1;
	cr_assert_eq(store_output_append(st, c, 1, &err), -1);
	cr_assert(strstr(err.msg, "invalid output chunk") != NULL, "%s",
	    err.msg);
	/* The second chunk names no attempt: the first is not kept. */
	chunk(&c[0], att, STORE_STDOUT, "kept?");
	chunk(&c[1], att + 100, STORE_STDOUT, "orphan");
	cr_assert_eq(store_output_append(st, c, 2, &err), -1);
	cr_assert(strstr(err.msg, "no task attempt with id") != NULL, "%s",
	    err.msg);
	cr_assert_eq(store_fx_int("SELECT count(*) FROM task_output"), 0);
	/* Read-only handles never write. */
	store_close(st);
	st = store_fx_open(STORE_RO);
	cr_assert_eq(store_output_append(st, c, 1, &err), -1);
	store_close(st);
}

/* The rest of a chunked attempt larger than a chunk is split. */
Test(storeout, chunked_end_splits_a_large_rest)
{
	struct pf_store		*st = store_fx_open(STORE_RW);
	struct store_attempt_end e;
	struct store_attempt	*a;
	struct pf_err		 err;
	unsigned char		*big;
	size_t			 len = (size_t)STORE_CHUNK_MAX + 12345, i;
	int64_t			 run, att;

	att = begin(st, "w", T0, &run);
	cr_assert_not_null(big = malloc(len));
	for (i = 0; i < len; i++)
		big[i] = (unsigned char)(i * 7);
	store_attempt_end_init(&e);
	e.status = PF_STATUS_FAILED;
	e.ended_ms = T0 + 5;
	e.chunked = 1;
	e.stdout_data = big;
	e.stdout_len = len;
	cr_assert_eq(store_attempt_end(st, att, &e, &err), 0, "%s", err.msg);
	cr_assert_eq(store_fx_int("SELECT count(*) FROM task_output"), 2);
	cr_assert_eq(store_fx_int("SELECT max(length(data)) FROM task_output"),
	    STORE_CHUNK_MAX);
	a = read_one(st, run);
	cr_assert_eq(a->stdout_len, len);
	cr_assert_eq(memcmp(a->stdout_data, big, len), 0);
	store_attempts_free(a, 1);
	free(big);
	store_close(st);
}

/* An end that is refused leaves no part of its output behind. */
Test(storeout, refused_chunked_end_appends_nothing)
{
	struct pf_store	*st = store_fx_open(STORE_RW);
	struct pf_err	 err;
	int64_t		 run, att;

	att = begin(st, "w", T0, &run);
	cr_assert_eq(end(st, att, 1, "first", NULL, 5, &err), 0, "%s",
	    err.msg);
	cr_assert_eq(end(st, att, 1, "second", NULL, 6, &err), -1);
	cr_assert(strstr(err.msg, "already ended") != NULL, "%s", err.msg);
	cr_assert_eq(store_fx_int("SELECT count(*) FROM task_output"), 1);
	store_close(st);
}

/* Retention by size counts chunks, and deleting a run deletes them. */
Test(storeout, retention_counts_and_removes_chunks)
{
	struct pf_store		*st = store_fx_open(STORE_RW);
	struct store_chunk	 c;
	struct pf_err		 err;
	char			 kb[1025];
	int64_t			 run1, run2, att1, att2, bytes, del;

	memset(kb, 'x', 1024);
	kb[1024] = '\0';
	att1 = begin(st, "w", T0, &run1);
	chunk(&c, att1, STORE_STDOUT, kb);
	cr_assert_eq(store_output_append(st, &c, 1, &err), 0, "%s", err.msg);
	cr_assert_eq(end(st, att1, 1, "ab", NULL, 1026, &err), 0, "%s",
	    err.msg);
	cr_assert_eq(store_run_end(st, run1, PF_STATUS_SUCCESS,
	    T0 + 10, NULL, &err),
	    0, "%s", err.msg);
	att2 = begin(st, "w", T0 + 100, &run2);
	cr_assert_eq(end(st, att2, 0, "cd", NULL, 2, &err), 0, "%s", err.msg);
	cr_assert_eq(store_run_end(st, run2, PF_STATUS_SUCCESS,
	    T0 + 110, NULL, &err),
	    0, "%s", err.msg);
	cr_assert_eq(store_output_bytes(st, &bytes, &err), 0, "%s", err.msg);
	cr_assert_eq(bytes, 1028);
	/* 1000 bytes: the newer run (2) stays, the older (1026) goes. */
	cr_assert_eq(store_prune_bytes(st, 1000, &del, &err), 0, "%s",
	    err.msg);
	cr_assert_eq(del, 1);
	cr_assert_eq(store_fx_int("SELECT count(*) FROM task_output"), 0);
	cr_assert_eq(store_output_bytes(st, &bytes, &err), 0, "%s", err.msg);
	cr_assert_eq(bytes, 2);
	store_close(st);
}

/*
 * A version 2 file (no task_output): read-only handles read it as it is,
 * the first writer adds the table and keeps every row.
 */
Test(storeout, version_2_read_as_it_is_and_migrated)
{
	struct pf_store		*st = store_fx_open(STORE_RW);
	struct store_chunk	 c;
	struct store_attempt	*a;
	struct pf_err		 err;
	int64_t			 run, att;

	att = begin(st, "w", T0, &run);
	cr_assert_eq(end(st, att, 0, "old", NULL, 3, &err), 0, "%s", err.msg);
	store_close(st);
	store_fx_exec("DROP TABLE task_output; PRAGMA user_version = 2");
	st = store_fx_open(STORE_RO);
	cr_assert_eq(store_schema_version(st), 2);
	a = read_one(st, run);
	assert_bytes(a->stdout_data, a->stdout_len, "old");
	store_attempts_free(a, 1);
	store_close(st);
	cr_assert_eq(store_fx_int("SELECT count(*) FROM sqlite_master WHERE "
	    "name = 'task_output'"), 0, "a reader changed nothing");
	st = store_fx_open(STORE_RW);
	cr_assert_eq(store_schema_version(st), STORE_SCHEMA_VERSION);
	cr_assert_eq(store_fx_int("PRAGMA user_version"), STORE_SCHEMA_VERSION);
	a = read_one(st, run);
	assert_bytes(a->stdout_data, a->stdout_len, "old");
	store_attempts_free(a, 1);
	att = begin(st, "w", T0 + 1, &run);
	chunk(&c, att, STORE_STDERR, "new");
	cr_assert_eq(store_output_append(st, &c, 1, &err), 0, "%s", err.msg);
	store_close(st);
}

/* Measuring output works on a version 2 file opened read-only. */
Test(storeout, output_bytes_of_a_version_2_file)
{
	struct pf_store	*st = store_fx_open(STORE_RW);
	struct pf_err	 err;
	int64_t		 run, att, bytes;

	att = begin(st, "w", T0, &run);
	cr_assert_eq(end(st, att, 0, "12345", "67", 7, &err), 0, "%s",
	    err.msg);
	store_close(st);
	store_fx_exec("DROP TABLE task_output; PRAGMA user_version = 2");
	st = store_fx_open(STORE_RO);
	cr_assert_eq(store_output_bytes(st, &bytes, &err), 0, "%s", err.msg);
	cr_assert_eq(bytes, 7);
	store_close(st);
}
