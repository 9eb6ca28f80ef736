/*
 * Process identity: a pid plus the time the process started (clock ticks
 * after boot, /proc/PID/stat field 22).  A pid alone can be reused by a
 * stranger; the pair cannot within one boot.  Used to record the workers
 * and tasks of each attempt and, after a crash, to kill exactly those.
 */
#ifndef PICOFLOW_PROCID_H
#define PICOFLOW_PROCID_H

#include <stdint.h>
#include <sys/types.h>

/* Start time of pid into *start; -1 when it does not exist (or is a zombie). */
int	 procid_start_time(pid_t pid, int64_t *start);
/* 1 when pid is alive (not a zombie) and started at `start`. */
int	 procid_matches(pid_t pid, int64_t start);
/* 1 when a process with this pid exists and is not a zombie. */
int	 procid_alive(pid_t pid);

#endif
