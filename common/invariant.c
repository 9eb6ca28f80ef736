/*
 * What a broken invariant does in a checking build; see invariant.h.
 */
#include <stdlib.h>

#include "picoflow/invariant.h"
#include "picoflow/log.h"

#ifndef NDEBUG
void
pf_invariant_failed(const char *what, const char *file, int line)
{
	log_error("%s:%d: invariant broken: %s", file, line, what);
	abort();
}
#endif
