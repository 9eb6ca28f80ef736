/*
 * The cgroup manager: one cgroup per task attempt, for limits, accounting
 * and a kill that reaches every process the attempt started.
 *
 * At start cg_open() finds out what the host offers and says it in one
 * line (cg_describe):
 *
 *	v2	cgroup2 with the memory, pids and cpu controllers (also a
 *		subtree delegated by systemd): membership, kill, limits and
 *		accounting all through cgroup2.
 *	hybrid	cgroup2 for membership and cgroup.kill, cgroup v1 hierarchies
 *		for the controllers cgroup2 lacks (memory, pids, cpu,
 *		cpuacct).  This is what the development machines have.
 *	v1	cgroup v1 only: membership in every hierarchy, kill through the
 *		freezer.
 *	none	no cgroup can be written: rlimits and process groups only
 *		(the worker applies the fallback rlimits); said loudly.
 *
 * Layout, in every hierarchy used: <mount><own cgroup>/picoflow/<inst>/<attempt>
 * where <own cgroup> is the cgroup of the process that opened the manager
 * (so a supervisor started in a delegated or limited cgroup stays inside
 * it) and <inst> is "<pid>.<start time>.<n>" of that process.  An
 * instance directory whose owner is gone is a leftover of a crash: its
 * attempts are killed and removed by the next cg_open() in the same
 * cgroup, whatever PicoFlow process that is.  Live instances of other
 * processes (another `picoflow run`) are never touched.
 *
 * Nothing here blocks for long: writes to cgroupfs are synchronous but
 * immediate, and removal of a busy cgroup is retried by the caller
 * (cg_remove returns 1 "try again later").
 */
#ifndef PICOFLOW_CGROUP_H
#define PICOFLOW_CGROUP_H

#include <stdint.h>
#include <sys/types.h>

#include "picoflow/err.h"

enum cg_mode {
	CG_MODE_NONE = 0,
	CG_MODE_V1,
	CG_MODE_HYBRID,
	CG_MODE_V2,
};

/* The controllers the manager uses. */
enum cg_ctl {
	CG_MEMORY = 0,
	CG_PIDS,
	CG_CPU,
	CG_CPUACCT,
	CG_FREEZER,
	CG_NCTL
};

/* How a controller is reached. */
enum cg_via {
	CG_VIA_NONE = 0,
	CG_VIA_V1,
	CG_VIA_V2,
};

/* Limits of one attempt; -1 = no limit. */
struct cg_limits {
	int64_t		 memory;	/* bytes */
	int64_t		 swap;		/* bytes of swap on top of memory */
	int64_t		 cpu_milli;	/* thousandths of a core, >= 10 */
	int64_t		 pids;
};

/* What an attempt used; every field -1 when the host cannot tell. */
struct cg_usage {
	int64_t		 memory_peak;	/* bytes */
	int64_t		 oom_kills;	/* processes the OOM killer killed */
	int64_t		 pids_peak;
	int64_t		 pids_denied;	/* forks refused at the pids limit */
	int64_t		 cpu_us;	/* user + system */
	int64_t		 cpu_user_us;
	int64_t		 cpu_sys_us;
	int64_t		 nr_throttled;	/* periods the cpu limit throttled */
	int64_t		 throttled_us;
};

struct cg_opts {
	const char	*name;		/* root directory name; "picoflow" */
	int		 force_none;	/* behave as if no cgroup existed */
	/* For tests: other sources than /proc/self/{mountinfo,cgroup}. */
	const char	*mountinfo;
	const char	*self_cgroup;
	/* Set up no instance: detect and describe only (pf-supervisor -n). */
	int		 detect_only;
	/* Leave the leftovers to a later cg_sweep (after crash recovery). */
	int		 defer_sweep;
	/*
	 * The pf-worker programs (absolute paths, NULL: none): an attempt
	 * of a dead instance with one of them still in it is a task waiting
	 * for its supervisor to re-attach (any supervisor's, not only
	 * ours), and the sweep leaves it; the worker cleans up and exits
	 * after its window, and a later sweep removes the empty directory.
	 */
	const char	*workers[2];
	/*
	 * This process exec'd itself (picoflow daemon restart): instances
	 * with its own pid and start time but another number are its
	 * former self's, dead, and swept like any dead one's.
	 */
	int		 restarted;
};

struct cg_sys;
struct cg;

/* How many times cg_remove tries a busy cgroup before giving up. */
#define CG_REMOVE_TRIES		50

void	 cg_opts_default(struct cg_opts *);

/*
 * Detects the mode, creates this process's instance directories and
 * removes the leftovers of dead instances.  Never fails for lack of
 * cgroups (that is mode none); -1 only when out of memory.
 */
int	 cg_open(const struct cg_opts *, struct cg_sys **, struct pf_err *);
/*
 * Kills and removes the attempt cgroups of dead instances (once; later
 * calls do nothing).  cg_open does it unless told to defer it.
 */
void	 cg_sweep(struct cg_sys *);
/* Removes the instance directories (attempts must be removed first). */
void	 cg_close(struct cg_sys *);

enum cg_mode cg_mode(const struct cg_sys *);
/* "v2", "hybrid", "v1", "none". */
const char *cg_mode_name(enum cg_mode);
/* One line: the mode and where each controller comes from. */
const char *cg_describe(const struct cg_sys *);
enum cg_via cg_ctl_via(const struct cg_sys *, enum cg_ctl);
/* The instance's directory in the cgroup2 or first v1 hierarchy. */
const char *cg_instance_dir(const struct cg_sys *);
/* Leftover attempt cgroups cg_open removed. */
unsigned cg_leftovers_removed(const struct cg_sys *);

/*
 * Creates the attempt's cgroups (name: letters, digits, '.', '_', '-',
 * not starting with '.', at most 200 bytes) and writes the limits
 * (limits may be NULL).  In mode none *out is a handle that does
 * nothing.  On error nothing is left behind.
 */
int	 cg_create(struct cg_sys *, const char *name, const struct cg_limits *,
	    struct cg **out, struct pf_err *);
/*
 * Attempt cgroups made ahead of need, in idle time, so that starting an
 * attempt costs no mkdir and no limit write (cgroup_pool.c).  Their
 * names are neutral (p<n>): nothing finds an attempt's cgroup by name.
 * cg_pool_fill makes one with limits l, or replaces one made with other
 * limits: 1 when it made one, 0 when the pool holds want (at most
 * CG_POOL_MAX) cgroups with these limits, -1 on error.  cg_take hands out one whose limits are
 * exactly l: 1, or 0 when there is none (then cg_create).  Each cgroup
 * is still a fresh one, used by one attempt only.
 */
#define CG_POOL_MAX	4
int	 cg_pool_fill(struct cg_sys *, const struct cg_limits *l,
	    size_t want, struct pf_err *);
int	 cg_take(struct cg_sys *, const struct cg_limits *l, struct cg **out);
/*
 * Moves pid into every cgroup of the attempt.  Call it before the process
 * forks: the worker forks nothing before it has read its SPEC, so the
 * supervisor attaches it right after spawning it and before sending it.
 */
int	 cg_attach(struct cg *, pid_t, struct pf_err *);
/*
 * SIGKILL to every process of the attempt (cgroup.kill, else freeze,
 * kill the members, thaw).  Returns the number of processes signalled
 * when they had to be listed, 0 when cgroup.kill did it, -1 on error.
 */
int	 cg_kill(struct cg *);
/* 1 when no process is left in the attempt, 0 when some are, -1 error. */
int	 cg_empty(struct cg *);
/* Reads the accounting (fields the host lacks are -1). */
void	 cg_usage(struct cg *, struct cg_usage *);
/*
 * Kills what is left and removes the attempt's cgroups without waiting:
 * 0 when they are gone, 1 when one is still busy (call again a little
 * later), -1 after CG_REMOVE_TRIES calls (logged; the next start cleans
 * it up).  The handle stays valid until cg_free.
 */
int	 cg_remove(struct cg *);
void	 cg_free(struct cg *);

/*
 * The attempt cgroups of a predecessor's worker that outlived it (a
 * crash, or `picoflow daemon restart`), found by the worker's pid among
 * the instances beside ours: the sweep keeps them, and once removed
 * their instance directory goes too.  Limits are the ones they had.
 */
#define CG_KEEP_MAX	4096
int	 cg_adopt(struct cg_sys *, pid_t worker, struct cg **,
	    struct pf_err *);
/* The attempt's cgroup2 (or first v1) directory; "" in mode none. */
const char *cg_path(const struct cg *);

/* Parsers, exposed for tests: "key value" lines, and cgroup.procs. */
int	 cg_kv_get(const char *text, const char *key, int64_t *value);
int	 cg_parse_int(const char *text, int64_t *value);

#endif
