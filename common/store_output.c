/*
 * Task output streamed in chunks (schema 3, table task_output), so that
 * neither the supervisor's memory nor SQLite's largest value bounds what
 * a task can write.  An attempt's output is its stdout/stderr columns
 * followed by its chunks in seq order: appended here as it arrives, the
 * rest with the attempt's end, and put together again for a reader.
 */
#include <stdint.h>
#include <string.h>

#include <sqlite3.h>

#include "picoflow/alloc.h"
#include "picoflow/err.h"
#include "picoflow/store.h"
#include "store_int.h"

static int
check_chunk(const struct store_chunk *c, struct pf_err *err)
{
	if (c->stream != STORE_STDOUT && c->stream != STORE_STDERR) {
		pf_err_set(err, "invalid output stream %d", c->stream);
		return -1;
	}
	if (c->len > STORE_CHUNK_MAX || (c->len > 0 && c->data == NULL)) {
		pf_err_set(err, "invalid output chunk of %zu bytes (at most %d)",
		    c->len, STORE_CHUNK_MAX);
		return -1;
	}
	return 0;
}

/* One chunk, inside the caller's transaction; empty ones are not kept. */
static int
append_chunk(struct pf_store *st, const struct store_chunk *c,
    struct pf_err *err)
{
	sqlite3_stmt	*s;

	if (c->len == 0)
		return 0;
	if ((s = store_stmt(st, SQ_OUT_APPEND, err)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, c->attempt_id);
	sqlite3_bind_int(s, 2, c->stream);
	(void)sqlite3_bind_blob64(s, 3, c->data, c->len, SQLITE_STATIC);
	if (store_step_fk(st, s, "storing task output",
	    "task attempt", c->attempt_id, err) == -1)
		return -1;
	return 0;
}

int
store_output_append(struct pf_store *st, const struct store_chunk *c,
    size_t n, struct pf_err *err)
{
	size_t	 i;

	if (store_check_writable(st, err) == -1)
		return -1;
	for (i = 0; i < n; i++)
		if (check_chunk(&c[i], err) == -1)
			return -1;
	if (n == 0)
		return 0;
	if (store_tx_begin(st, err) == -1)
		return -1;
	for (i = 0; i < n; i++)
		if (append_chunk(st, &c[i], err) == -1)
			goto fail;
	if (store_tx_commit(st, err) == -1)
		goto fail;
	return 0;
fail:
	store_tx_rollback(st);
	return -1;
}

/* The rest of a chunked attempt's output, in the end's transaction. */
int
store_output_append_rest(struct pf_store *st, int64_t attempt_id, int stream,
    const void *data, size_t len, struct pf_err *err)
{
	struct store_chunk	 c;

	c.attempt_id = attempt_id;
	c.stream = stream;
	while (len > 0) {
		c.data = data;
		c.len = len > STORE_CHUNK_MAX ? STORE_CHUNK_MAX : len;
		if (append_chunk(st, &c, err) == -1)
			return -1;
		data = (const unsigned char *)data + c.len;
		len -= c.len;
	}
	return 0;
}

/* Appends len bytes to a reader's copy of one stream. */
static int
out_add(unsigned char **p, size_t *len, size_t *cap, const void *d, size_t n)
{
	unsigned char	*np;
	size_t		 ncap;

	if (n == 0)
		return 0;
	if (n > SIZE_MAX - *len)
		return -1;
	if (*len + n > *cap) {
		ncap = *cap > 0 ? *cap : 4096;
		while (ncap < *len + n)
			ncap = ncap > SIZE_MAX / 2 ? *len + n : ncap * 2;
		if ((np = pf_reallocarray(*p, ncap, 1)) == NULL)
			return -1;
		*p = np;
		*cap = ncap;
	}
	memcpy(*p + *len, d, n);
	*len += n;
	return 0;
}

/* An attempt's chunks after what its columns held (schema 3). */
int
store_output_read_chunks(struct pf_store *st, struct store_attempt *a,
    struct pf_err *err)
{
	sqlite3_stmt	*s;
	size_t		 cap[2];
	int		 rc, stream, n;
	const void	*d;

	if ((s = store_stmt(st, SQ_OUT_READ, err)) == NULL)
		return -1;
	cap[0] = a->stdout_len;
	cap[1] = a->stderr_len;
	sqlite3_bind_int64(s, 1, a->id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		stream = sqlite3_column_int(s, 0);
		d = sqlite3_column_blob(s, 1);
		n = sqlite3_column_bytes(s, 1);
		if (n <= 0 || d == NULL)
			continue;
		if (stream == STORE_STDERR ? out_add(&a->stderr_data,
		    &a->stderr_len, &cap[1], d, (size_t)n) == -1 :
		    out_add(&a->stdout_data, &a->stdout_len, &cap[0], d,
		    (size_t)n) == -1) {
			pf_err_set(err, "out of memory reading task output");
			store_stmt_done(s);
			return -1;
		}
	}
	if (rc != SQLITE_DONE) {
		store_sqlerr(st, err, "reading task output");
		store_stmt_done(s);
		return -1;
	}
	store_stmt_done(s);
	return 0;
}

int
store_output_stored(struct pf_store *st, int64_t attempt_id,
    uint64_t bytes[2], struct pf_err *err)
{
	sqlite3_stmt	*s;
	int		 rc, stream;
	double		 n;

	bytes[0] = bytes[1] = 0;
	if (st->version < 3)
		return 0;
	if ((s = store_stmt(st, SQ_OUT_STORED, err)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, attempt_id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		stream = sqlite3_column_int(s, 0);
		n = sqlite3_column_double(s, 1);
		if ((stream == STORE_STDOUT || stream == STORE_STDERR) &&
		    n > 0)
			bytes[stream == STORE_STDERR] = (uint64_t)n;
	}
	if (rc != SQLITE_DONE) {
		store_sqlerr(st, err, "reading the size of stored output");
		store_stmt_done(s);
		return -1;
	}
	store_stmt_done(s);
	return 0;
}
