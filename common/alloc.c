#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "picoflow/alloc.h"

/* Test-only fault injection state; -1 means "never fail". */
static long	 fail_countdown = -1;
static int	 fail_once;	/* only the one allocation fails */
static int	 fail_happened;

static int
alloc_should_fail(void)
{
	if (fail_countdown < 0)
		return 0;
	if (fail_countdown == 0) {
		fail_happened = 1;
		if (fail_once)
			fail_countdown = -1;
		errno = ENOMEM;
		return 1;
	}
	fail_countdown--;
	return 0;
}

void
pf_alloc_fail_after(long n)
{
	fail_countdown = n < 0 ? -1 : n;
	fail_once = 0;
	fail_happened = 0;
}

void
pf_alloc_fail_once(long n)
{
	pf_alloc_fail_after(n);
	fail_once = n >= 0;
}

int
pf_alloc_failed(void)
{
	return fail_happened;
}

void *
pf_malloc(size_t size)
{
	if (alloc_should_fail())
		return NULL;
	return malloc(size == 0 ? 1 : size);
}

void *
pf_calloc(size_t nmemb, size_t size)
{
	if (alloc_should_fail())
		return NULL;
	if (nmemb == 0 || size == 0)
		nmemb = size = 1;
	return calloc(nmemb, size);
}

void *
pf_reallocarray(void *ptr, size_t nmemb, size_t size)
{
	if (size != 0 && nmemb > SIZE_MAX / size) {
		errno = ENOMEM;
		return NULL;
	}
	if (alloc_should_fail())
		return NULL;
	if (nmemb == 0 || size == 0)
		nmemb = size = 1;
	return realloc(ptr, nmemb * size);
}

char *
pf_strndup(const char *s, size_t n)
{
	size_t	 len = strnlen(s, n);
	char	*p;

	if ((p = pf_malloc(len + 1)) == NULL)
		return NULL;
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *
pf_strdup(const char *s)
{
	return pf_strndup(s, strlen(s));
}

void
pf_free(void *ptr)
{
	free(ptr);
}

void
pf_strv_free(char **v, size_t n)
{
	size_t	 i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		pf_free(v[i]);
	pf_free(v);
}
