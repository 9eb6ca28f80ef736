/*
 * The two clocks PicoFlow reads: the monotonic one for timeouts and
 * durations (it never jumps), the wall clock for what is recorded or
 * shown (run and attempt times, log lines).
 */
#ifndef PICOFLOW_CLOCK_H
#define PICOFLOW_CLOCK_H

#include <stdint.h>

/* CLOCK_MONOTONIC in milliseconds. */
int64_t	 clock_mono_ms(void);

/* CLOCK_MONOTONIC in seconds, with the fraction. */
double	 clock_mono_s(void);

/* CLOCK_REALTIME in milliseconds since the Unix epoch. */
int64_t	 clock_wall_ms(void);

#endif
