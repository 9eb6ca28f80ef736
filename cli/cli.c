/*
 * Helpers shared by the picoflow commands.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

/* Parses a decimal size_t option within [min, max]. */
int
cli_parse_count(const char *opt, const char *s, size_t min, size_t max,
    size_t *out)
{
	char			*end;
	unsigned long long	 v;

	errno = 0;
	if (*s == '-' || *s == '\0')
		goto bad;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		goto bad;
	*out = (size_t)v;
	return 0;
bad:
	fprintf(stderr, "picoflow: %s: '%s' is not a number in %zu..%zu\n",
	    opt, s, min, max);
	return -1;
}
