/*
 * The cgroup manager's private header, shared by supervisor/cgroup*.c and
 * by nothing else: the manager's and an attempt's state, and the helpers
 * the files share.  The public API is cgroup.h, which describes the modes
 * and the layout.
 *
 * Everything read from cgroupfs or /proc is treated as input: bounded
 * reads, numbers range-checked, paths length-checked.
 *
 * The files:
 *  - cgroup_file.c     small file helpers (bounded reads and writes at a
 *                      directory, numbers, cgroup.procs) and which
 *                      instance a directory name belongs to;
 *  - cgroup_detect.c   finding the mounts, our own cgroup and the
 *                      controllers we may use;
 *  - cgroup_inst.c     this supervisor's instance directory: making it,
 *                      sweeping what a dead one left;
 *  - cgroup.c          the manager: open, close, describe, sweep;
 *  - cgroup_attempt.c  one attempt's cgroup: create with limits, attach,
 *                      freeze and kill, usage, remove.
 */
#ifndef PICOFLOW_CGROUP_INT_H
#define PICOFLOW_CGROUP_INT_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include "cgroup.h"

#define CG_NAME_MAX		200
#define CG_SMALL_FILE		4096	/* control files we parse */
#define CG_MOUNTINFO_MAX	(1024 * 1024)
#define CG_CPU_PERIOD_US	100000
#define CG_FREEZE_SPINS		1000
#define CG_KILL_PASSES		8
#define CG_SWEEP_WAIT_MS	2000

/*
 * Kinds of sweep: the cgroup2 tree (kill with cgroup.kill), the first v1
 * hierarchy without cgroup2, another v1 hierarchy (counted once).
 */
#define SWEEP_V2	1
#define SWEEP_V1_FIRST	0
#define SWEEP_V1_MORE	2

/* The controllers' names, by enum cg_ctl. */
extern const char *const cg_ctl_names[CG_NCTL];

/* A v1 hierarchy we use: several controllers may share one. */
struct hier {
	char		*base;		/* <mount><own cgroup> */
	char		*inst;		/* base/<name>/<inst> */
};

struct cg_sys {
	enum cg_mode	 mode;
	char		*name;
	char		*v2base;	/* <mount><own>, NULL without cgroup2 */
	char		*v2inst;
	int		 v2kill;	/* cgroup.kill exists */
	int		 v2freeze;	/* cgroup.freeze exists */
	enum cg_via	 via[CG_NCTL];
	int		 hidx[CG_NCTL];	/* v1: index into hier, else -1 */
	struct hier	 hier[CG_NCTL];
	size_t		 nhier;
	int		 memsw;		/* v1 memory.memsw.* exists */
	int		 swapmax;	/* v2 memory.swap.max exists */
	char		 prefix[48];	/* <pid>.<start> */
	char		 inst[64];	/* <prefix>.<n> */
	unsigned	 leftovers;
	int		 swept;
	int		 detect_only;	/* v2inst is a name to show, not ours */
	char		 desc[512];
	/* Attempt directories taken over (cg_adopt): the sweep keeps them. */
	char		*keep[CG_KEEP_MAX];
	size_t		 nkeep;
	char		*workers[2];	/* cg_opts.workers, real paths */
	int		 restarted;	/* cg_opts.restarted */
	/* Attempt cgroups made ahead (cgroup_pool.c), oldest first. */
	struct cg	*pool[CG_POOL_MAX];
	size_t		 npool;
	unsigned long	 pool_seq;	/* names p<seq> */
};

struct cg {
	struct cg_sys	*sys;
	char		*v2;		/* attempt dir in cgroup2, or NULL */
	char		*v1[CG_NCTL];	/* per hierarchy index, or NULL */
	unsigned	 tries;
	int		 adopted;	/* in a predecessor's instance */
	struct cg_limits lim;		/* as written at creation */
};

/* cgroup_file.c */
char	*cg_path_join(const char *a, const char *b);
int	 cg_write_at(const char *dir, const char *file, const char *s);
ssize_t	 cg_read_at(const char *dir, const char *file, char *buf, size_t len);
int	 cg_exists_at(const char *dir, const char *file);
int64_t	 cg_read_int_at(const char *dir, const char *file);
int64_t	 cg_read_kv_at(const char *dir, const char *file, const char *key);
long	 cg_procs_each(const char *dir, void (*fn)(pid_t, void *), void *arg);
void	 cg_kill_one(pid_t pid, void *arg);
int	 cg_start_time(pid_t pid, unsigned long long *out);
int	 cg_inst_alive(const char *name);

/* cgroup_detect.c */
int	 cg_detect(struct cg_sys *s, const struct cg_opts *o);

/* cgroup_inst.c */
void	 cg_sweep_dir(struct cg_sys *s, const char *root, int kind,
    int64_t *budget);
void	 cg_setup(struct cg_sys *s);

/* cgroup_attempt.c */
const char *cg_freeze(const struct cg *g, int on);
const char *cg_members_dir(const struct cg *g);

/* cgroup_pool.c */
void	 cg_pool_free(struct cg_sys *s);

/* cgroup_adopt.c */
int	 cg_kept(const struct cg_sys *s, const char *dir);
int	 cg_worker_waits(const struct cg_sys *s, const char *dir);
int	 cg_own_earlier(const struct cg_sys *s, const char *name);
void	 cg_rmdir_with_parent(struct cg *g, char **dir);
void	 cg_unkeep(struct cg *g);

#endif
