/*
 * The allocation-failure loop (SQLite's OOM loops) over alloc.h's hook.
 * Round n makes allocation n fail: only that one (FAULT_ONCE: memory
 * comes back, the code must recover or fail cleanly and stay usable) or
 * that one and every later one (FAULT_FROM_N: a shortage that lasts).
 * n = 0, 1, 2, ... until a round meets no failure: that round ran with
 * every allocation it makes, and gives the real verdict.
 *
 *	struct faultloop fl;
 *
 *	for (faultloop_init(&fl, FAULT_ONCE); faultloop_next(&fl); ) {
 *		rc = thing();
 *		if (faultloop_met(&fl))		(disarms the hook)
 *			... a clean error, or a good result ...
 *		else
 *			... success ...
 *	}
 *	cr_assert(!fl.exhausted);
 *
 * faultloop_next disarms the hook too, so a round may leave early.
 */
#ifndef PICOFLOW_TEST_FAULTLOOP_H
#define PICOFLOW_TEST_FAULTLOOP_H

enum faultloop_mode {
	FAULT_FROM_N,		/* allocation n and all later ones fail */
	FAULT_ONCE,		/* only allocation n fails */
};

struct faultloop {
	enum faultloop_mode mode;
	long		 n;		/* this round's failing allocation */
	long		 max;		/* stop past this n (exhausted) */
	long		 sparse_from;	/* from here, steps of n/8; 0: none */
	unsigned	 rounds;
	int		 armed;
	int		 met;		/* the last round met its failure */
	int		 exhausted;	/* stopped at max, failures still met */
};

/* max 100000, every n. */
void	 faultloop_init(struct faultloop *, enum faultloop_mode);
/* Arms the next round; 0 when the last one met no failure (or at max). */
int	 faultloop_next(struct faultloop *);
/* Disarms the hook; 1 when this round's failure happened. */
int	 faultloop_met(struct faultloop *);
/*
 * For a round run in a child process (armed before the fork, so the
 * child inherits the count): disarms ours and records whether the
 * child met its failure.
 */
void	 faultloop_set_met(struct faultloop *, int met);
/* "fail-once" or "fail-from-N", for messages. */
const char *faultloop_mode_name(enum faultloop_mode);

/* Both modes in turn: for (FAULTLOOP_MODES(m)) { ... }. */
#define FAULTLOOP_MODES(m)						\
	enum faultloop_mode m = FAULT_FROM_N; m <= FAULT_ONCE;		\
	m = (enum faultloop_mode)(m + 1)

#endif
