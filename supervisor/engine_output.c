/*
 * Task output: bounded in memory, streamed to the store.  OUTPUT frames
 * are kept up to the attempt's cap and the output budget of the runs in
 * flight; what is kept waits in the attempts' buffers and is stored,
 * all attempts in one transaction, within OUT_FLUSH_S or when the
 * memory budget is reached, which also stops reading from workers
 * until it is stored (backpressure).
 */
#include <stdio.h>

#include "picoflow/alloc.h"
#include "picoflow/log.h"
#include "engine_int.h"

/*
 * Output held in memory is stored at the latest this long after it
 * arrived, so that 'picoflow logs' follows a running task; a task that
 * ends sooner has its output written with its end, in one commit.
 */
#define OUT_FLUSH_S		0.5

/* Calls fn on every attempt in flight. */
static void
each_attempt(struct engine *eng, void (*fn)(struct attempt *, void *),
    void *arg)
{
	struct engine_run	*run;
	size_t			 i;

	for (run = eng->runs; run != NULL; run = run->next)
		for (i = 0; run->tasks != NULL && i < run->wf->ntasks; i++)
			if (run->tasks[i].cur != NULL)
				fn(run->tasks[i].cur, arg);
}

static void
pause_one(struct attempt *a, void *arg)
{
	(void)arg;
	ev_io_stop(a->run->eng->loop, &a->rio);
}

static void
resume_one(struct attempt *a, void *arg)
{
	(void)arg;
	if (a->fd != -1 && !a->eof)
		ev_io_start(a->run->eng->loop, &a->rio);
}

/*
 * The memory budget is reached: no worker is read until what waits is
 * stored.  Workers then block writing to their sockets (the kernel's
 * buffer is the only other place output waits), and their tasks block
 * writing to their pipes: backpressure, never growth.
 */
static void
output_pause(struct engine *eng)
{
	if (!eng->out_paused) {
		eng->out_paused = 1;
		each_attempt(eng, pause_one, NULL);
	}
	ev_timer_stop(eng->loop, &eng->out_timer);
	ev_timer_set(&eng->out_timer, 0., 0.);
	ev_timer_start(eng->loop, &eng->out_timer);
}

struct out_batch {
	struct store_chunk	*c;
	size_t			 n;
};

static void
batch_add(struct attempt *a, struct out_batch *b, int i)
{
	const uint8_t	*p = a->out[i].data;
	size_t		 len = a->out[i].len, k;

	while (len > 0) {
		k = len > STORE_CHUNK_MAX ? STORE_CHUNK_MAX : len;
		b->c[b->n].attempt_id = a->id;
		b->c[b->n].stream = i == 0 ? STORE_STDOUT : STORE_STDERR;
		b->c[b->n].data = p;
		b->c[b->n].len = k;
		b->n++;
		p += k;
		len -= k;
	}
}

static size_t
chunks_of(const struct attempt *a)
{
	return a->out[0].len / STORE_CHUNK_MAX + 1 +
	    a->out[1].len / STORE_CHUNK_MAX + 1;
}

static void
count_one(struct attempt *a, void *arg)
{
	if (a->id >= 0 && a->out[0].len + a->out[1].len > 0)
		*(size_t *)arg += chunks_of(a);
}

static void
collect_one(struct attempt *a, void *arg)
{
	if (a->id >= 0 && a->out[0].len + a->out[1].len > 0) {
		batch_add(a, arg, 0);
		batch_add(a, arg, 1);
	}
}

/* Stored: the memory goes back (not kept for the next chunk). */
static void
stored_one(struct attempt *a, void *arg)
{
	(void)arg;
	if (a->id < 0 || a->out[0].len + a->out[1].len == 0)
		return;
	a->chunked = 1;
	a->run->eng->out_mem -= a->out[0].len + a->out[1].len;
	buf_free(&a->out[0]);
	buf_free(&a->out[1]);
}

/*
 * The store refused the output: it is lost, and so is the attempt, which
 * fails with the reason rather than going on with a hole in its output.
 */
static void
refused_one(struct attempt *a, void *arg)
{
	char		 msg[PF_ERR_MAX + 48];
	uint64_t	 n = a->out[0].len + a->out[1].len;

	if (n == 0)
		return;
	a->run->eng->out_mem -= n;
	a->captured -= n;
	a->lost += n;
	a->run->out_bytes -= n;
	a->run->eng->out_disk -= n;
	a->truncated = 1;
	buf_free(&a->out[0]);
	buf_free(&a->out[1]);
	if (a->id < 0 || a->out_failed)
		return;
	a->out_failed = 1;
	snprintf(msg, sizeof(msg), "cannot store the task's output: %s",
	    ((const struct pf_err *)arg)->msg);
	engine_attempt_error(a, msg);
	engine_attempt_stop(a);
}

/* Stores what every attempt holds, in one transaction. */
static void
output_flush(struct engine *eng)
{
	struct out_batch	 b;
	struct pf_err		 err;
	size_t			 n = 0;

	if (eng->out_mem == 0)
		return;
	each_attempt(eng, count_one, &n);
	if (n == 0)
		return;
	b.n = 0;
	if ((b.c = pf_reallocarray(NULL, n, sizeof(*b.c))) == NULL) {
		pf_err_set(&err, "out of memory");
		goto refused;
	}
	each_attempt(eng, collect_one, &b);
	if (store_output_append(eng->store, b.c, b.n, &err) == -1) {
		pf_free(b.c);
		log_error("cannot store task output: %s", err.msg);
		goto refused;
	}
	pf_free(b.c);
	each_attempt(eng, stored_one, NULL);
	return;
refused:
	each_attempt(eng, refused_one, &err);
}

void
engine_on_out_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct engine	*eng = w->data;

	(void)loop;
	(void)revents;
	output_flush(eng);
	if (eng->out_paused && eng->out_mem < eng->opts.output_mem) {
		eng->out_paused = 0;
		each_attempt(eng, resume_one, NULL);
	}
}

void
engine_attempt_output(struct attempt *a, const struct proto_output *o)
{
	struct engine	*eng = a->run->eng;
	struct pf_buf	*b = &a->out[o->stream == PROTO_STDERR ? 1 : 0];
	size_t		 take = o->len, keep;

	if (a->out_failed) {
		/* Its end is on the way; nothing more of it is kept. */
		a->lost += o->len;
		a->truncated = 1;
		return;
	}
	if (a->captured >= a->cap)
		take = 0;
	else if (a->cap - a->captured < take)
		take = (size_t)(a->cap - a->captured);
	keep = take;
	if (eng->opts.output_budget > 0 && keep > 0 &&
	    eng->out_disk + keep > eng->opts.output_budget) {
		keep = eng->out_disk >= eng->opts.output_budget ? 0 :
		    (size_t)(eng->opts.output_budget - eng->out_disk);
		a->over_budget += take - keep;
	}
	if (keep > 0 && buf_add(b, o->data, keep) == -1) {
		keep = 0;
		b->failed = 0;	/* keep what we have; count the rest */
	}
	if (keep < o->len) {
		a->dropped += o->len - take;
		a->lost += take - keep;
		a->truncated = 1;
	}
	if (keep == 0)
		return;
	a->captured += keep;
	a->run->out_bytes += keep;
	eng->out_disk += keep;
	eng->out_mem += keep;
	if (eng->out_mem >= eng->opts.output_mem)
		output_pause(eng);
	else if (!ev_is_active(&eng->out_timer)) {
		ev_timer_set(&eng->out_timer, OUT_FLUSH_S, 0.);
		ev_timer_start(eng->loop, &eng->out_timer);
	}
}
