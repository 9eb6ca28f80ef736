/*
 * Test harness for pf-supervisor, shared by the suites that run it
 * (test_daemon*.c, the red-team, policy, containment and fd suites): a
 * scratch directory with wf/ (workflows) and st/ (state), starting and
 * stopping the supervisor, reading its database and asking it for its
 * status over the control socket.  One supervisor per test at a time;
 * its state is kept in daemon_harness.c and read by the suites through
 * the variables below.
 *
 * PF_TEST_SUPERVISOR_WRAPPER, when set, is a space-separated command put
 * in front of the supervisor (e.g. "valgrind -q --error-exitcode=99").
 */
#ifndef PICOFLOW_TEST_DAEMON_HARNESS_H
#define PICOFLOW_TEST_DAEMON_HARNESS_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <criterion/criterion.h>

#include "picoflow/ctl.h"
#include "proc.h"

/* The scratch directory and the paths in it (set by dt_setup). */
extern char	*dt_dir;
extern char	 dt_wfdir[4200], dt_state[4200], dt_db[4200], dt_sock[4200];
/* The running supervisor (-1: none) and how many starts so far. */
extern pid_t	 dt_pid;
extern int	 dt_nstarts;
/*
 * As root, pf-supervisor runs tasks without run_as as nobody; the suites
 * whose tasks write into the (0700) scratch directory start it with
 * --run-as root unless a test sets this to see the default.
 */
extern int	 dt_default_user;
/* Extra "K=V" entries for the next starts (NULL-terminated; NULL: none). */
extern char *const *dt_env;
/* The pf-supervisor dt_spawn runs (NULL, as dt_setup leaves it: build's). */
extern const char *dt_sup_bin;

/* Clocks: monotonic seconds, wall-clock milliseconds. */
double	 dt_mono(void);
int64_t	 dt_now_ms(void);

/* Criterion .init / .fini: make and remove the scratch directory. */
void	 dt_setup(void);
void	 dt_teardown(void);

/* Writes wf/NAME; the text is a printf format. */
void	 dt_wf(const char *name, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	 dt_rm_wf(const char *name);

/* Every log of every start, concatenated (caller frees). */
char	*dt_logs(void);
int	 dt_log_has(const char *s);

/* Waits until this start's log says "ready:" (fails if it exits). */
void	 dt_wait_ready(double timeout);
/*
 * Starts pf-supervisor on wf/ with state in st/ without waiting for it to
 * be ready; extra: more options.  Returns 1 when it runs under a wrapper.
 */
int	 dt_spawn(const char *extra);
/* Starts pf-supervisor and waits until it is ready. */
void	 dt_start(const char *extra);
/* SIGTERM, then waits for the exit; checks its status. */
void	 dt_stop(int want_rc);
void	 dt_kill9(void);

/* The first column of the query's first row (-1 / "" when none). */
int64_t	 dt_int(const char *sql);
char	*dt_str(const char *sql);
/* Waits until the query gives at least want; returns the last value. */
int64_t	 dt_wait_int(const char *sql, int64_t want, double timeout);

/* The query's first column equals want. */
#define dt_str_eq(sql, want) do {					\
	char	*got_ = dt_str(sql);					\
	int	 eq_ = strcmp(got_, (want)) == 0;			\
									\
	cr_assert(eq_, "%s: '%s', wanted '%s'", (sql), got_, (want));	\
	free(got_);							\
} while (0)

/* The supervisor's status over its control socket (ctl_reply_free it). */
void	 dt_status(struct ctl_reply *rep);
const struct ctl_wf_status *dt_find_wf(const struct ctl_reply *r,
	    const char *name);
/* A control request; the reply is returned (caller frees). */
void	 dt_ctl(uint8_t cmd, const char *wf, int64_t run_id,
	    struct ctl_reply *rep);

/* 1 once pid is gone (or a zombie) within timeout. */
int	 dt_proc_gone(long pid, double timeout);
/*
 * Reads a pid a task wrote (TEST_ECHO_PID: in its own PID namespace,
 * it is translated to ours).
 */
long	 dt_read_long(const char *path);

/*
 * One stream (1 stdout, 2 stderr) of an attempt as stored: its column,
 * then its chunks in order (caller frees); bytes: its length in bytes.
 */
char	*dt_output(int64_t attempt_id, int stream);
int64_t	 dt_output_bytes(int64_t attempt_id);
/*
 * SIGKILLs the process groups of the worker and the task of every
 * running attempt (a supervisor killed too leaves nothing to re-attach).
 * Returns how many groups it signalled.
 */
int	 dt_kill_attempt_procs(void);

/*
 * The cgroup directories of a process under a picoflow/ tree, as
 * /sys/fs/cgroup paths, one a line (caller frees; "" when none); and how
 * many of those still exist (their paths into which).
 */
char	*dt_cgroups(long pid);
int	 dt_cgroups_left(const char *list, char *which, size_t wlen);

/* build/picoflow --state-dir ST a1..a4 (NULL: none). */
void	 dt_pf(struct proc_result *r, const char *a1, const char *a2,
	    const char *a3, const char *a4);

#endif
