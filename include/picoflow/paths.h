/*
 * Where PicoFlow keeps its state.  Every binary resolves the state
 * directory, the database, the control socket and the pidfile the same
 * way (docs/state.md):
 *
 *   state dir  --state-dir DIR, else $PICOFLOW_STATE_DIR, else
 *              /var/lib/picoflow when running as root, else
 *              $XDG_STATE_HOME/picoflow (only if absolute), else
 *              $HOME/.local/state/picoflow (home from the password
 *              database when $HOME is unset or relative)
 *   database   --db-path PATH, else $PICOFLOW_DB, else STATE_DIR/picoflow.db
 *   socket     STATE_DIR/control.sock
 *   pidfile    STATE_DIR/pf-supervisor.pid
 *
 * Empty options and empty variables count as unset.  Relative paths are
 * made absolute against the current directory, so a daemon that changes
 * directory later still finds the same files.  Resolution creates
 * nothing; the writers (pf-supervisor, picoflow run) call
 * paths_state_dir_prepare() before they open anything in it.
 */
#ifndef PICOFLOW_PATHS_H
#define PICOFLOW_PATHS_H

#include <sys/types.h>

#include "picoflow/err.h"

#define PATHS_ROOT_STATE_DIR	"/var/lib/picoflow"
#define PATHS_DB_NAME		"picoflow.db"
#define PATHS_SOCK_NAME		"control.sock"
#define PATHS_PID_NAME		"pf-supervisor.pid"
#define PATHS_MAX		4096	/* bytes, including the NUL */

struct pf_paths {
	char	*state_dir;
	char	*db_path;
	char	*control_sock;
	char	*pidfile;
};

/* Everything resolution depends on, so tests can vary it. */
struct paths_env {
	int		 is_root;	/* effective uid 0 */
	const char	*state_dir;	/* $PICOFLOW_STATE_DIR */
	const char	*db;		/* $PICOFLOW_DB */
	const char	*xdg_state_home;/* $XDG_STATE_HOME */
	const char	*home;		/* $HOME, else the passwd entry */
	const char	*cwd;		/* for relative paths; NULL = getcwd() */
};

/* Resolves with the process's environment and effective uid. */
int	 paths_resolve(const char *state_dir_opt, const char *db_path_opt,
	    struct pf_paths *out, struct pf_err *);
/* Same with an explicit environment. */
int	 paths_resolve_env(const struct paths_env *, const char *state_dir_opt,
	    const char *db_path_opt, struct pf_paths *out, struct pf_err *);
/*
 * Creates the state directory when missing (mode 0700; missing parents
 * 0755) and checks it with paths_state_dir_check() for the effective
 * user.  For the processes that write in it.
 */
int	 paths_state_dir_prepare(const char *dir, struct pf_err *);
/*
 * Refuses a state directory that another user could have planted files
 * or links in: not a directory, not owned by uid, writable by group or
 * others, or a symbolic link made by someone other than uid or root.
 * The error says how to fix it.
 */
int	 paths_state_dir_check(const char *dir, uid_t uid, struct pf_err *);
/* Frees the strings; *p is zeroed.  Safe on a zeroed struct. */
void	 paths_free(struct pf_paths *p);
/*
 * mkdir -p, in place: creates dir and its missing parents, the parents
 * with mode parent_mode and dir itself with mode; one that exists is
 * left as it is.  0, or -1 with errno and dir cut at the directory that
 * could not be made, for the caller's message.
 */
int	 paths_mkdir_p(char *dir, mode_t parent_mode, mode_t mode);

#endif
