/*
 * Invariants, as SQLite's NEVER() and ALWAYS(): a condition the code
 * believes impossible (PF_NEVER) or certain (PF_ALWAYS), written where
 * the code still handles the other case.  Unless NDEBUG is defined (the
 * build does not define it, so every test run checks them) a broken
 * invariant logs where and aborts, so the suite that reached it fails at
 * once; with NDEBUG the macro is just the condition and the code
 * recovers as written.
 *
 *	if (PF_NEVER(next == T_NSTATES))
 *		return -1;	(a release build ignores the event)
 */
#ifndef PICOFLOW_INVARIANT_H
#define PICOFLOW_INVARIANT_H

#ifndef NDEBUG
void	 pf_invariant_failed(const char *what, const char *file, int line)
	    __attribute__((noreturn));
#define PF_NEVER(x)	((x) ? (pf_invariant_failed(#x, __FILE__, \
			    __LINE__), 1) : 0)
#define PF_ALWAYS(x)	((x) ? 1 : (pf_invariant_failed("!(" #x ")", \
			    __FILE__, __LINE__), 0))
#else
#define PF_NEVER(x)	((x) ? 1 : 0)
#define PF_ALWAYS(x)	((x) ? 1 : 0)
#endif

#endif
