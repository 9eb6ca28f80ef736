/*
 * Helpers shared by the picoflow commands.
 */
#include <stdint.h>
#include <stdio.h>

#include "picoflow/units.h"
#include "cli.h"

/* Parses a decimal size_t option within [min, max] (units.h). */
int
cli_parse_count(const char *opt, const char *s, size_t min, size_t max,
    size_t *out)
{
	int64_t	 v;

	if (max > INT64_MAX)
		max = INT64_MAX;
	if (units_count(s, (int64_t)min, (int64_t)max, &v) != UNITS_OK) {
		fprintf(stderr, "picoflow: %s: '%s' is not a number in "
		    "%zu..%zu\n", opt, s, min, max);
		return -1;
	}
	*out = (size_t)v;
	return 0;
}
