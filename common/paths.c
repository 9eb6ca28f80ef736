/*
 * State-directory resolution: the same rules for every binary (paths.h).
 */
#include <sys/stat.h>

#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "picoflow/alloc.h"
#include "picoflow/err.h"
#include "picoflow/paths.h"

static const char *
nonempty(const char *s)
{
	return (s != NULL && *s != '\0') ? s : NULL;
}

/*
 * dir + "/" + name with redundant slashes at the joint removed; name NULL
 * copies dir.  A relative dir is first prefixed with cwd.  Fails when the
 * result would exceed PATHS_MAX.
 */
static char *
paths_join(const char *cwd, const char *dir, const char *name,
    struct pf_err *err)
{
	const char	*parts[3];
	size_t		 lens[3], np = 0, total = 0, i;
	char		*out, *p;

	if (dir[0] != '/') {
		if (cwd == NULL) {
			pf_err_set(err, "relative path '%s' and no current "
			    "directory to resolve it against", dir);
			return NULL;
		}
		parts[np++] = cwd;
	}
	parts[np++] = dir;
	if (name != NULL)
		parts[np++] = name;
	for (i = 0; i < np; i++) {
		lens[i] = strlen(parts[i]);
		/* Trim trailing slashes but keep a lone "/". */
		while (lens[i] > 1 && parts[i][lens[i] - 1] == '/')
			lens[i]--;
		if (lens[i] > PATHS_MAX) {
			pf_err_set(err, "path too long (over %d bytes)",
			    PATHS_MAX - 1);
			return NULL;
		}
		total += lens[i] + 1;
	}
	if (total > PATHS_MAX) {
		pf_err_set(err, "path too long (over %d bytes)", PATHS_MAX - 1);
		return NULL;
	}
	if ((out = pf_malloc(total + 1)) == NULL) {
		pf_err_set(err, "out of memory");
		return NULL;
	}
	p = out;
	for (i = 0; i < np; i++) {
		const char	*s = parts[i];
		size_t		 l = lens[i];

		if (i > 0) {
			/* Skip leading "./" and slashes of the later parts. */
			while (l >= 2 && s[0] == '.' && s[1] == '/') {
				s += 2;
				l -= 2;
			}
			while (l > 0 && *s == '/') {
				s++;
				l--;
			}
			if (p > out && p[-1] != '/')
				*p++ = '/';
		}
		memcpy(p, s, l);
		p += l;
	}
	*p = '\0';
	return out;
}

int
paths_resolve_env(const struct paths_env *env, const char *state_dir_opt,
    const char *db_path_opt, struct pf_paths *out, struct pf_err *err)
{
	const char	*sd, *db, *cwd = env->cwd;
	char		 cwdbuf[PATHS_MAX];
	int		 xdg = 0;

	memset(out, 0, sizeof(*out));
	if (cwd == NULL)
		cwd = getcwd(cwdbuf, sizeof(cwdbuf));

	if ((sd = nonempty(state_dir_opt)) != NULL ||
	    (sd = nonempty(env->state_dir)) != NULL) {
		/* explicit */
	} else if (env->is_root) {
		sd = PATHS_ROOT_STATE_DIR;
	} else if ((sd = nonempty(env->xdg_state_home)) != NULL &&
	    sd[0] == '/') {
		/* The XDG spec says relative values are to be ignored. */
		xdg = 1;
	} else if ((sd = nonempty(env->home)) != NULL && sd[0] == '/') {
		xdg = 2;
	} else {
		pf_err_set(err, "cannot find a state directory: not root, "
		    "$XDG_STATE_HOME and $HOME are unset or relative; use "
		    "--state-dir or PICOFLOW_STATE_DIR");
		return -1;
	}

	if (xdg == 1)
		out->state_dir = paths_join(cwd, sd, "picoflow", err);
	else if (xdg == 2)
		out->state_dir = paths_join(cwd, sd, ".local/state/picoflow",
		    err);
	else
		out->state_dir = paths_join(cwd, sd, NULL, err);
	if (out->state_dir == NULL)
		goto fail;

	if ((db = nonempty(db_path_opt)) != NULL ||
	    (db = nonempty(env->db)) != NULL)
		out->db_path = paths_join(cwd, db, NULL, err);
	else
		out->db_path = paths_join(cwd, out->state_dir, PATHS_DB_NAME,
		    err);
	if (out->db_path == NULL)
		goto fail;
	if ((out->control_sock = paths_join(cwd, out->state_dir,
	    PATHS_SOCK_NAME, err)) == NULL)
		goto fail;
	if ((out->pidfile = paths_join(cwd, out->state_dir, PATHS_PID_NAME,
	    err)) == NULL)
		goto fail;
	return 0;
fail:
	paths_free(out);
	return -1;
}

int
paths_resolve(const char *state_dir_opt, const char *db_path_opt,
    struct pf_paths *out, struct pf_err *err)
{
	struct paths_env env;
	struct passwd	*pw;

	memset(&env, 0, sizeof(env));
	env.is_root = geteuid() == 0;
	env.state_dir = getenv("PICOFLOW_STATE_DIR");
	env.db = getenv("PICOFLOW_DB");
	env.xdg_state_home = getenv("XDG_STATE_HOME");
	env.home = getenv("HOME");
	if ((env.home == NULL || env.home[0] != '/') && !env.is_root &&
	    (pw = getpwuid(geteuid())) != NULL)
		env.home = pw->pw_dir;
	return paths_resolve_env(&env, state_dir_opt, db_path_opt, out, err);
}

int
paths_mkdir_p(char *dir, mode_t parent_mode, mode_t mode)
{
	char	*q, c;
	int	 last;

	for (q = dir + 1; ; q++) {
		if (*q != '/' && *q != '\0')
			continue;
		last = *q == '\0' || (q[1] == '\0');
		c = *q;
		*q = '\0';
		if (mkdir(dir, last ? mode : parent_mode) == -1 &&
		    errno != EEXIST)
			return -1;
		*q = c;
		if (last)
			return 0;
	}
}

/* mkdir of dir and its missing parents: parents 0755, dir itself 0700. */
static int
make_dirs(const char *dir, struct pf_err *err)
{
	char	*p;
	int	 rc = 0;

	if ((p = pf_strdup(dir)) == NULL) {
		pf_err_set(err, "out of memory");
		return -1;
	}
	/* The parents are paths anyone may need to traverse. */
	if (paths_mkdir_p(p, 0755, 0700) == -1) {
		pf_err_set(err, "cannot create %s: %s", p, strerror(errno));
		rc = -1;
	}
	pf_free(p);
	return rc;
}

int
paths_state_dir_check(const char *dir, uid_t uid, struct pf_err *err)
{
	struct stat	 sb, lsb;

	if (lstat(dir, &lsb) == -1 || stat(dir, &sb) == -1) {
		pf_err_set(err, "state directory %s: %s", dir,
		    strerror(errno));
		return -1;
	}
	if (!S_ISDIR(sb.st_mode)) {
		pf_err_set(err, "state directory %s is not a directory", dir);
		return -1;
	}
	/* A link is the operator's only if the operator (or root) made it. */
	if (S_ISLNK(lsb.st_mode) && lsb.st_uid != uid && lsb.st_uid != 0) {
		pf_err_set(err, "state directory %s is a symbolic link owned by "
		    "uid %lu, not by uid %lu (this process) or root: someone "
		    "else chooses where the state goes; remove the link, or "
		    "use --state-dir with a directory of your own", dir,
		    (unsigned long)lsb.st_uid, (unsigned long)uid);
		return -1;
	}
	if (sb.st_uid != uid) {
		pf_err_set(err, "state directory %s is owned by uid %lu, not "
		    "by uid %lu (this process): another user could have put "
		    "links or files in it; use a directory of your own (or, "
		    "if it is yours, chown %lu %s)", dir,
		    (unsigned long)sb.st_uid, (unsigned long)uid,
		    (unsigned long)uid, dir);
		return -1;
	}
	if (sb.st_mode & (S_IWGRP | S_IWOTH)) {
		pf_err_set(err, "state directory %s is writable by %s (mode "
		    "%04o): another user could have put links or files in "
		    "it; check what is in it, then chmod 700 %s (or remove it "
		    "and let it be created)", dir,
		    (sb.st_mode & S_IWGRP) && (sb.st_mode & S_IWOTH) ?
		    "group and others" : (sb.st_mode & S_IWGRP) ? "its group" :
		    "others", (unsigned)(sb.st_mode & 07777), dir);
		return -1;
	}
	return 0;
}

int
paths_state_dir_prepare(const char *dir, struct pf_err *err)
{
	if (make_dirs(dir, err) == -1)
		return -1;
	return paths_state_dir_check(dir, geteuid(), err);
}

void
paths_free(struct pf_paths *p)
{
	pf_free(p->state_dir);
	pf_free(p->db_path);
	pf_free(p->control_sock);
	pf_free(p->pidfile);
	memset(p, 0, sizeof(*p));
}
