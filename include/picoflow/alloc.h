/*
 * Checked allocation through one hook.  Every allocation in PicoFlow goes
 * through these functions so that tests can fail the Nth one (SQLite-style
 * out-of-memory loops) and so that size arithmetic is overflow-checked once.
 */
#ifndef PICOFLOW_ALLOC_H
#define PICOFLOW_ALLOC_H

#include <stddef.h>

void	*pf_malloc(size_t size);
void	*pf_calloc(size_t nmemb, size_t size);
void	*pf_reallocarray(void *ptr, size_t nmemb, size_t size);
char	*pf_strdup(const char *s);
char	*pf_strndup(const char *s, size_t n);
void	 pf_free(void *ptr);
/* Frees the n strings of v, then v; v may be NULL. */
void	 pf_strv_free(char **v, size_t n);

/*
 * Fault injection: after `n` more successful allocations, every following
 * allocation fails (returns NULL with errno ENOMEM) until reset with
 * pf_alloc_fail_after(-1).  pf_alloc_failed() tells whether an injected
 * failure happened since the last reset.
 */
void	 pf_alloc_fail_after(long n);
/* As pf_alloc_fail_after, but only that one allocation fails. */
void	 pf_alloc_fail_once(long n);
int	 pf_alloc_failed(void);

#endif
