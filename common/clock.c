/*
 * Monotonic and wall clock readings; see clock.h.
 */
#include <time.h>

#include "picoflow/clock.h"

/* The clock `id` in milliseconds. */
static int64_t
read_ms(clockid_t id)
{
	struct timespec	 ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
clock_mono_ms(void)
{
	return read_ms(CLOCK_MONOTONIC);
}

double
clock_mono_s(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int64_t
clock_wall_ms(void)
{
	return read_ms(CLOCK_REALTIME);
}
