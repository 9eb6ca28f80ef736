/*
 * The engine's default limits and timings (engine_opts_default), apart
 * from the engine itself, so that code that only shows, checks or
 * documents the defaults needs no more than this (the limits as a
 * model's: limit_default, limit.h).  engine.h includes it.
 */
#ifndef PICOFLOW_ENGINE_DEFAULTS_H
#define PICOFLOW_ENGINE_DEFAULTS_H

#define ENGINE_DEFAULT_GRACE_MS		5000
#define ENGINE_DEFAULT_OUTPUT_CAP	(10 * 1024 * 1024)
/*
 * Task output waiting in memory, all attempts together, before reading
 * from workers stops until it is stored; and the output the runs in
 * flight may store, all together, before the rest is dropped.
 */
#define ENGINE_DEFAULT_OUTPUT_MEM	(1024 * 1024)
#define ENGINE_DEFAULT_OUTPUT_BUDGET	(256ULL * 1024 * 1024)
#define ENGINE_DEFAULT_BACKOFF_MS	1000
/* A worker waits this long for a new supervisor after its task ended. */
#define ENGINE_DEFAULT_ATTACH_WINDOW_MS	(10U * 60 * 1000)
/* A task interrupted by restarts this many times in a row fails. */
#define ENGINE_DEFAULT_MAX_INTERRUPTIONS 3
#define ENGINE_DEFAULT_BACKOFF_MAX_MS	60000
/* When no worker can start: wait 100 ms doubling to 5 s, for 5 minutes. */
#define ENGINE_DEFAULT_SPAWN_BACKOFF_MS	100
#define ENGINE_DEFAULT_SPAWN_BACKOFF_MAX_MS 5000
#define ENGINE_DEFAULT_SPAWN_GIVEUP_MS	(5U * 60 * 1000)
/*
 * Isolation is on by default: an attempt whose task and workflow set no
 * limit still runs in its own cgroup with these (docs/security.md).
 * No cpu quota by default: a slow host should not slow tasks further.
 */
#define ENGINE_DEFAULT_MEMORY		(256LL * 1024 * 1024)
#define ENGINE_DEFAULT_SWAP		0
#define ENGINE_DEFAULT_PIDS		256
#define ENGINE_DEFAULT_CPU_MILLI	(-1)

#endif
