/*
 * pf-supervisor's daemon: loads a directory of workflows, fires their
 * schedules on the event loop, runs them through the engine, serves the
 * control socket, reloads on SIGHUP, stops gracefully on SIGTERM/SIGINT,
 * resumes what a crashed predecessor left in flight, and applies
 * retention.  docs/operations.md describes the behaviour for operators.
 */
#ifndef PICOFLOW_DAEMON_H
#define PICOFLOW_DAEMON_H

#include <stdint.h>

#include "picoflow/log.h"
#include "picoflow/store.h"

#define DAEMON_DEFAULT_STOP_TIMEOUT_S	30
#define DAEMON_DEFAULT_MAX_TASKS	32
/* Runs of one workflow in flight at once, when it does not say. */
#define DAEMON_DEFAULT_WF_MAX_RUNS	4
#define DAEMON_DEFAULT_RETAIN_RUNS	10000
#define DAEMON_DEFAULT_RETAIN_BYTES	(256LL * 1024 * 1024)
#define DAEMON_DEFAULT_RETAIN_EVERY_S	3600
#define DAEMON_ERRORS_KEPT		16

struct daemon_opts {
	const char	*config;	/* directory or file */
	const char	*state_dir;	/* NULL = default resolution */
	const char	*db_path;
	const char	*pidfile;	/* NULL = STATE_DIR/pf-supervisor.pid */
	const char	*default_tz;	/* NULL = UTC */
	unsigned	 max_tasks;	/* 0 = no cap */
	/*
	 * Per workflow, where its config does not say (and never above the
	 * policy's ceilings): tasks running at once across its runs (0 =
	 * half of max_tasks, at least 1; none when max_tasks is 0), runs in
	 * flight at once (0 = no cap).
	 */
	unsigned	 wf_max_tasks;
	unsigned	 wf_max_runs;
	unsigned	 grace_ms;	/* task SIGTERM .. SIGKILL */
	unsigned	 stop_timeout_ms; /* SIGTERM: running tasks get this */
	int		 detach;
	const char	*log_file;	/* NULL: stderr (detached: state dir) */
	enum store_sync	 sync;
	int64_t		 retain_age_ms;	/* 0 = no age limit */
	unsigned	 retain_runs;	/* per workflow; 0 = no limit */
	int64_t		 retain_bytes;	/* captured output; 0 = no limit */
	int64_t		 output_budget;	/* output the runs in flight may
					   store, together; 0 = no limit */
	unsigned	 retain_every_s;
	int		 no_cgroups;	/* rlimits and process groups only */
	int		 no_namespaces;	/* shell tasks without their own PID
					   and mount namespaces */
	const char	*policy;	/* policy file; NULL = none */
	const char	*run_as;	/* tasks without run_as; NULL = the
					   policy's default_run_as, else
					   nobody when root, else ours */
	/*
	 * Tasks outlive the supervisor: a worker whose supervisor went
	 * away waits this long after its task ended for the next one;
	 * 0: workers stop their tasks when the supervisor goes away.
	 */
	unsigned	 attach_window_ms;
	unsigned	 max_interruptions;	/* in a row; 0 = no limit */
	/* The command line, for restart (NULL: restart refused). */
	char *const	*argv;
};

void	 daemon_opts_default(struct daemon_opts *);
/* pf-supervisor -n: loads and reports; 0 when every file is valid. */
int	 daemon_check(const struct daemon_opts *);
/* Runs until stopped; returns the process exit code. */
int	 daemon_main(const struct daemon_opts *);

#endif
