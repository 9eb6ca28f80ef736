/*
 * One load of the configuration through pf-loader: the supervisor reads
 * the policy and every workflow file itself (they may be root's, 0600),
 * writes them as a request into a memfd that becomes the loader's stdin,
 * and reads the answer from a pipe: the policy's verdict, then per file
 * the checked model or every error.  The answer is hostile input: frame
 * sizes, counts and order are checked, each model is decoded and checked
 * again (wfcodec), and anything wrong fails the whole load, never the
 * supervisor.  The loader is killed at the deadline.
 *
 * Blocking use (start-up, pf-supervisor -n): loadjob_run().  On the event
 * loop: loadjob_start(), loadjob_read() when loadjob_fd() is readable,
 * loadjob_exited() from the child watcher, loadjob_kill() at the
 * deadline; loadjob_done() says when the outcome is known.
 */
#ifndef PICOFLOW_LOADJOB_H
#define PICOFLOW_LOADJOB_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include "picoflow/err.h"
#include "picoflow/workflow.h"
#include "wfset.h"

#define LOADJOB_TIMEOUT_MS	30000	/* default deadline of one load */

struct loadjob_req {
	const char	*exe;		/* pf-loader */
	const char	*config;	/* directory or file */
	const char	*policy;	/* --policy path, NULL = none */
	const uint8_t	*last_policy;	/* the last good one's bytes, or NULL */
	size_t		 last_policy_len;
	const char	*cli_run_as;	/* --run-as, NULL = none */
	int		 is_root;
	const struct pf_limits *defaults; /* the engine's; NULL = none */
	size_t		 max_tasks;	/* 0 = the loader's default */
	size_t		 max_bytes;	/* per workflow file; 0 = default */
};

struct loadjob_out {
	struct wfset	 set;
	int		 policy_ok;	/* the --policy file loaded (or none) */
	int		 policy_fallback; /* the last good policy was used */
	char		*policy_error;	/* why the file did not load */
	char		*run_as;	/* tasks without run_as run as */
	uint8_t		*policy_bytes;	/* the file as read, when it loaded */
	size_t		 policy_len;
	unsigned	 max_tasks_running; /* the policy's ceilings, 0 none */
	unsigned	 max_runs_running;
};

struct loadjob;

/*
 * Reads the files and starts pf-loader.  -1 (err) when the configuration
 * cannot be listed or the loader cannot be started.
 */
int	 loadjob_start(const struct loadjob_req *, struct loadjob **,
	    struct pf_err *);
int	 loadjob_fd(const struct loadjob *);
pid_t	 loadjob_pid(const struct loadjob *);
/* Reads what the pipe has (non-blocking). */
void	 loadjob_read(struct loadjob *);
/* The loader exited with this wait status (reaped by the caller). */
void	 loadjob_exited(struct loadjob *, int status);
/* The deadline passed: SIGKILL (the exit is still to be reaped). */
void	 loadjob_kill(struct loadjob *);
/* The answer is complete or broken, and the loader was reaped. */
int	 loadjob_done(const struct loadjob *);
/*
 * The outcome: 0 with *out filled (the caller frees it with
 * loadjob_out_free), or -1 with why the load failed.  Frees the job.
 */
int	 loadjob_finish(struct loadjob *, struct loadjob_out *,
	    struct pf_err *);
void	 loadjob_out_free(struct loadjob_out *);

/* All of the above, blocking, for at most timeout_ms. */
int	 loadjob_run(const struct loadjob_req *, unsigned timeout_ms,
	    struct loadjob_out *, struct pf_err *);

#endif
