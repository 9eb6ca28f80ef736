/*
 * The daemon's private interface, shared by its files and nobody else.
 * Its state is a list of slots, one per workflow file that loaded (or
 * once loaded) well, and a list of the runs it has in progress.  A slot
 * holds the current definition (refcounted: a run keeps the definition
 * it started with across reloads), its schedule timer and its queue of
 * fires waiting behind a run in progress.
 *
 *   daemon.c         start-up, the main loop, engine hooks, signals, stop
 *   daemon_proc.c    -d detaching, the ready pipe, the pidfile lock
 *   daemon_slot.c    definitions, slots, fires, overlap, queues, caps
 *   daemon_load.c    loading through pf-loader, applying, reloading
 *   daemon_resume.c  start-up: resumed runs, catch-up, @start fires
 *   daemon_retain.c  retention
 *   daemon_ctl.c     control socket commands and status replies
 *   daemon_check.c   pf-supervisor -n
 */
#ifndef PICOFLOW_DAEMON_INT_H
#define PICOFLOW_DAEMON_INT_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include <ev.h>

#include "picoflow/buf.h"
#include "picoflow/ctl.h"
#include "picoflow/paths.h"
#include "picoflow/store.h"
#include "picoflow/workflow.h"
#include "control.h"
#include "daemon.h"
#include "engine.h"
#include "loadjob.h"
#include "recover.h"
#include "sched.h"
#include "wfset.h"

/* A loaded definition; runs hold references to it. */
struct wfdef {
	struct pf_workflow	*wf;
	struct sched_spec	 spec;
	int			 has_spec;	/* wf->schedule set */
	char			*norm;		/* normalized text: "changed?" */
	unsigned		 refs;
};

struct qitem {
	int64_t		 at;		/* scheduled time (s), -1 = none */
	char		 trigger[12];
};

struct daemon;

struct slot {
	struct daemon	*d;
	char		*path;		/* the file it came from */
	char		*name;
	struct wfdef	*def;
	char		*error;		/* its file is broken now: why */
	ev_periodic	 timer;
	int64_t		 armed_for;	/* fire the timer waits for, -1 */
	int64_t		 due;		/* fire that came due, not run yet */
	uint64_t	 missed_note;	/* missed fires not logged yet */
	int64_t		 last_seen;	/* newest fire handled */
	int64_t		 last_fire;	/* newest fire recorded in the store */
	unsigned	 nrunning;	/* its runs in progress, any version */
	struct qitem	 queue[SCHED_QUEUE_MAX];
	unsigned	 qhead, qlen;
	uint64_t	 nfires, nskips;
	int		 seen;		/* reload bookkeeping */
	struct slot	*next;
};

/* A run in progress, started or resumed here. */
struct drun {
	int64_t		 run_id;
	struct wfdef	*def;
	char		*name;
	char		 trigger[12];
	int64_t		 scheduled_s;	/* -1 none */
	int64_t		 started_ms;
	struct drun	*next;
};

struct daemon {
	struct daemon_opts	 opts;
	struct pf_paths		 paths;
	char			*config;	/* absolute */
	char			 worker[PATH_MAX];
	char			 attach_dir[PATH_MAX]; /* "" = none, see
					   daemon_attach_dir */
	char			 exe[PATH_MAX];	/* this program, for restart */
	int			 reexeced;	/* this start is a restart */
	struct ev_loop		*loop;
	struct pf_store		*store;
	struct engine		*eng;
	struct control		*ctl;
	char			 loader[PATH_MAX]; /* pf-loader */
	uint8_t			*policy_bytes;	/* --policy: the last good one */
	size_t			 policy_len;
	char			*run_as;	/* tasks without run_as */
	unsigned		 pol_max_tasks;	/* the policy's ceilings, */
	unsigned		 pol_max_runs;	/* 0 = none */
	struct pf_limits	 defaults;	/* the engine's, for the policy */
	struct loadjob		*job;		/* a reload in flight */
	ev_io			 job_io;
	ev_child		 job_child;
	ev_timer		 job_timer;
	int			 reload_again;	/* asked for while one ran */
	uint64_t		*waiting;	/* control clients of this job */
	size_t			 nwaiting;
	uint64_t		*queued;	/* ... and of the next */
	size_t			 nqueued;
	struct slot		*slots;
	struct drun		*runs;
	int			 pidfd;
	int			 ready_fd;	/* -d: tells the parent */
	int			 stopping;
	int			 dues;		/* a slot has a fire due */
	int			 exit_code;
	int64_t			 started_ms;
	ev_signal		 sigterm, sigint, sighup, sigusr2;
	ev_timer		 stop_timer, retain_timer, kick;
	ev_check		 check;
	char			*errors[DAEMON_ERRORS_KEPT];
	unsigned		 nerrors, errhead;
};

/* What a load changed, counted and told (to the reload's clients). */
struct reload_sum {
	unsigned	 added, changed, removed, unchanged, broken;
	struct pf_buf	 text;		/* one line per change, for the reply */
};

/* daemon.c: small helpers */
const char	*daemon_fmt_time(int64_t, char *, size_t);
/* daemon_restart.c: exec again, tasks kept (SIGUSR2, daemon restart) */
int	 daemon_exe_resolve(struct daemon *);
int	 daemon_reexeced(void);
void	 daemon_restart(struct daemon *, const char *why);
/* The attach directory (engine_opts.attach_dir), NULL when off. */
const char	*daemon_attach_dir(const struct daemon *);
void		 daemon_note_error(struct daemon *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
void		 daemon_kick(struct daemon *);

/* daemon_proc.c */
int		 daemon_detach(int *, const char *);
void		 daemon_tell_parent(struct daemon *, const char *);
int		 daemon_pidfile_lock(const char *, int *, struct pf_err *);

/* daemon_slot.c */
void		 wfdef_unref(struct wfdef *);
struct wfdef	*wfdef_new(struct daemon *, struct pf_workflow *,
		    struct pf_err *);
int		 wfdef_same(const struct wfdef *, const struct wfdef *);
struct slot	*slot_by_name(struct daemon *, const char *);
struct slot	*slot_by_path(struct daemon *, const char *);
void		 slot_free(struct slot *);
void		 slot_unlink(struct daemon *, struct slot *);
int		 slot_start(struct slot *, int64_t, const char *, int64_t *,
		    char *, size_t);
void		 slot_skip(struct slot *, int64_t, const char *, const char *);
void		 slot_enqueue(struct slot *, int64_t, const char *);
unsigned	 slot_max_runs(const struct slot *);
int		 slot_fire(struct slot *, int64_t, const char *, int64_t *,
		    char *, size_t);
void		 slot_arm(struct slot *);
struct slot	*slot_new(struct daemon *, const char *, struct wfdef *);
void		 slot_drain_queue(struct slot *);
void		 daemon_on_check(struct ev_loop *, ev_check *, int);
unsigned	 daemon_wf_max_tasks(const struct daemon *);

/* daemon_load.c */
void		 daemon_apply(struct daemon *, int, struct wfset *,
		    struct reload_sum *);
int		 daemon_policy(struct daemon *, int, struct loadjob_out *,
		    struct reload_sum *);
unsigned	 daemon_load_timeout_ms(void);
void		 daemon_load_req(struct daemon *, struct loadjob_req *);
void		 daemon_reload_start(struct daemon *);
int		 daemon_reload_wait(struct daemon *, uint64_t);
void		 daemon_reload_abort(struct daemon *);

/* daemon_resume.c */
void		 daemon_resume_runs(struct daemon *, struct recover_run *,
		    size_t);
void		 daemon_catch_up(struct daemon *);
void		 daemon_start_fires(struct daemon *);

/* daemon_retain.c */
void		 daemon_retention(struct daemon *);
void		 daemon_on_retain_timer(struct ev_loop *, ev_timer *, int);

/* daemon_ctl.c */
void		 daemon_on_request(void *, const struct ctl_request *,
		    struct ctl_reply *);

#endif
