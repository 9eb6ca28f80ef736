/*
 * State-directory resolution: options over variables over defaults, the
 * root and XDG rules, relative paths, and the process-environment entry.
 */
#include <criterion/criterion.h>

#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "picoflow/alloc.h"
#include "picoflow/err.h"
#include "picoflow/paths.h"
#include "../lib/faultloop.h"

static struct paths_env
env0(void)
{
	struct paths_env e;

	memset(&e, 0, sizeof(e));
	e.cwd = "/work/dir";
	e.home = "/home/ann";
	return e;
}

static void
check(const struct paths_env *e, const char *sd_opt, const char *db_opt,
    const char *sd, const char *db)
{
	struct pf_paths	 p;
	struct pf_err	 err;

	pf_err_clear(&err);
	cr_assert_eq(paths_resolve_env(e, sd_opt, db_opt, &p, &err), 0, "%s",
	    err.msg);
	cr_assert_str_eq(p.state_dir, sd);
	cr_assert_str_eq(p.db_path, db);
	paths_free(&p);
}

Test(paths, defaults_for_a_user)
{
	struct paths_env e = env0();
	struct pf_paths	 p;
	struct pf_err	 err;

	cr_assert_eq(paths_resolve_env(&e, NULL, NULL, &p, &err), 0);
	cr_assert_str_eq(p.state_dir, "/home/ann/.local/state/picoflow");
	cr_assert_str_eq(p.db_path,
	    "/home/ann/.local/state/picoflow/picoflow.db");
	cr_assert_str_eq(p.control_sock,
	    "/home/ann/.local/state/picoflow/control.sock");
	cr_assert_str_eq(p.pidfile,
	    "/home/ann/.local/state/picoflow/pf-supervisor.pid");
	paths_free(&p);
	cr_assert_null(p.state_dir, "paths_free zeroes");
	paths_free(&p);
}

Test(paths, xdg_state_home_absolute_only)
{
	struct paths_env e = env0();

	e.xdg_state_home = "/xdg/state";
	check(&e, NULL, NULL, "/xdg/state/picoflow",
	    "/xdg/state/picoflow/picoflow.db");
	e.xdg_state_home = "/xdg/state/";
	check(&e, NULL, NULL, "/xdg/state/picoflow",
	    "/xdg/state/picoflow/picoflow.db");
	/* The XDG spec: a relative value is invalid and ignored. */
	e.xdg_state_home = "rel/state";
	check(&e, NULL, NULL, "/home/ann/.local/state/picoflow",
	    "/home/ann/.local/state/picoflow/picoflow.db");
	e.xdg_state_home = "";
	check(&e, NULL, NULL, "/home/ann/.local/state/picoflow",
	    "/home/ann/.local/state/picoflow/picoflow.db");
}

Test(paths, root_uses_var_lib)
{
	struct paths_env e = env0();

	e.is_root = 1;
	e.xdg_state_home = "/xdg/state";	/* ignored for root */
	check(&e, NULL, NULL, "/var/lib/picoflow",
	    "/var/lib/picoflow/picoflow.db");
}

Test(paths, options_beat_variables_beat_defaults)
{
	struct paths_env e = env0();

	e.is_root = 1;
	e.state_dir = "/env/state";
	check(&e, NULL, NULL, "/env/state", "/env/state/picoflow.db");
	check(&e, "/opt/state", NULL, "/opt/state", "/opt/state/picoflow.db");
	e.db = "/env/db.sqlite";
	check(&e, "/opt/state", NULL, "/opt/state", "/env/db.sqlite");
	check(&e, "/opt/state", "/opt/db.sqlite", "/opt/state",
	    "/opt/db.sqlite");
	/* Empty counts as unset, for options and variables alike. */
	check(&e, "", "", "/env/state", "/env/db.sqlite");
	e.state_dir = "";
	e.db = "";
	check(&e, NULL, NULL, "/var/lib/picoflow",
	    "/var/lib/picoflow/picoflow.db");
}

Test(paths, relative_paths_become_absolute)
{
	struct paths_env e = env0();

	check(&e, "st", "./x.db", "/work/dir/st", "/work/dir/x.db");
	check(&e, "./st/", NULL, "/work/dir/st", "/work/dir/st/picoflow.db");
	e.cwd = "/";
	check(&e, "st", NULL, "/st", "/st/picoflow.db");
	check(&e, "/", NULL, "/", "/picoflow.db");
}

Test(paths, no_home_is_an_error)
{
	struct paths_env e = env0();
	struct pf_paths	 p;
	struct pf_err	 err;

	e.home = NULL;
	cr_assert_eq(paths_resolve_env(&e, NULL, NULL, &p, &err), -1);
	cr_assert(strstr(err.msg, "use --state-dir or PICOFLOW_STATE_DIR") !=
	    NULL, "%s", err.msg);
	cr_assert_null(p.state_dir);
	e.home = "relative/home";
	cr_assert_eq(paths_resolve_env(&e, NULL, NULL, &p, &err), -1);
	/* An explicit state dir needs no home. */
	check(&e, "/s", NULL, "/s", "/s/picoflow.db");
}

Test(paths, too_long_is_refused)
{
	struct paths_env e = env0();
	struct pf_paths	 p;
	struct pf_err	 err;
	char		*big = malloc(PATHS_MAX + 10);

	memset(big, 'a', PATHS_MAX + 9);
	big[0] = '/';
	big[PATHS_MAX + 9] = '\0';
	cr_assert_eq(paths_resolve_env(&e, big, NULL, &p, &err), -1);
	cr_assert_str_eq(err.msg, "path too long (over 4095 bytes)");
	/* Just fits as a state dir, but not with "/picoflow.db" added. */
	big[PATHS_MAX - 1 - 5] = '\0';
	cr_assert_eq(paths_resolve_env(&e, big, NULL, &p, &err), -1);
	cr_assert_str_eq(err.msg, "path too long (over 4095 bytes)");
	big[PATHS_MAX - 40] = '\0';
	cr_assert_eq(paths_resolve_env(&e, big, NULL, &p, &err), 0, "%s",
	    err.msg);
	paths_free(&p);
	free(big);
}

Test(paths, allocation_failures)
{
	struct paths_env e = env0();
	struct pf_paths	 p;
	struct pf_err	 err;
	struct faultloop fl;
	int		 ok;

	for (FAULTLOOP_MODES(m)) {
		for (faultloop_init(&fl, m); faultloop_next(&fl); ) {
			ok = paths_resolve_env(&e, NULL, NULL, &p, &err) == 0;
			cr_assert(ok || faultloop_met(&fl));
			if (!ok) {
				cr_assert_str_eq(err.msg, "out of memory");
				cr_assert_null(p.state_dir);
				cr_assert_null(p.pidfile);
			} else
				paths_free(&p);
		}
		cr_assert_eq(fl.n, 4, "four allocations, each failure handled");
	}
}

Test(paths, process_environment)
{
	struct pf_paths	 p;
	struct pf_err	 err;

	setenv("PICOFLOW_STATE_DIR", "/tmp/pf-env-state", 1);
	setenv("PICOFLOW_DB", "", 1);
	cr_assert_eq(paths_resolve(NULL, NULL, &p, &err), 0, "%s", err.msg);
	cr_assert_str_eq(p.state_dir, "/tmp/pf-env-state");
	cr_assert_str_eq(p.db_path, "/tmp/pf-env-state/picoflow.db");
	paths_free(&p);
	setenv("PICOFLOW_DB", "/tmp/other.db", 1);
	cr_assert_eq(paths_resolve(NULL, NULL, &p, &err), 0);
	cr_assert_str_eq(p.db_path, "/tmp/other.db");
	paths_free(&p);
	unsetenv("PICOFLOW_STATE_DIR");
	unsetenv("PICOFLOW_DB");
	setenv("XDG_STATE_HOME", "/tmp/xdg", 1);
	cr_assert_eq(paths_resolve(NULL, NULL, &p, &err), 0);
	if (geteuid() == 0)
		cr_assert_str_eq(p.state_dir, "/var/lib/picoflow");
	else
		cr_assert_str_eq(p.state_dir, "/tmp/xdg/picoflow");
	paths_free(&p);
}

/* A scratch directory of our own; the caller removes it. */
static char *
scratch(void)
{
	char	*d = strdup("/tmp/pf-paths-XXXXXX");

	cr_assert_not_null(mkdtemp(d));
	return d;
}

Test(paths, state_dir_created_0700_parents_0755)
{
	struct pf_err	 err;
	struct stat	 sb;
	char		*d = scratch(), sd[256], mid[256];

	snprintf(mid, sizeof(mid), "%s/a", d);
	snprintf(sd, sizeof(sd), "%s/a/st", d);
	cr_assert_eq(paths_state_dir_prepare(sd, &err), 0, "%s", err.msg);
	cr_assert_eq(stat(sd, &sb), 0);
	cr_assert_eq(sb.st_mode & 07777, 0700, "%o", sb.st_mode & 07777);
	cr_assert_eq(stat(mid, &sb), 0);
	cr_assert_eq(sb.st_mode & 0700, 0700);
	cr_assert_eq(sb.st_mode & 022, 0, "%o", sb.st_mode & 07777);
	/* Again: it exists and is fine. */
	cr_assert_eq(paths_state_dir_prepare(sd, &err), 0, "%s", err.msg);
	rmdir(sd);
	rmdir(mid);
	rmdir(d);
	free(d);
}

Test(paths, state_dir_writable_by_others_refused)
{
	struct pf_err	 err;
	char		*d = scratch();

	cr_assert_eq(chmod(d, 0777), 0);
	cr_assert_eq(paths_state_dir_check(d, geteuid(), &err), -1);
	cr_assert(strstr(err.msg, "is writable by group and others (mode "
	    "0777)") != NULL, "%s", err.msg);
	cr_assert(strstr(err.msg, "chmod 700 ") != NULL, "%s", err.msg);
	cr_assert_eq(chmod(d, 0702), 0);
	cr_assert_eq(paths_state_dir_check(d, geteuid(), &err), -1);
	cr_assert(strstr(err.msg, "writable by others") != NULL, "%s",
	    err.msg);
	cr_assert_eq(chmod(d, 0750), 0);
	cr_assert_eq(paths_state_dir_check(d, geteuid(), &err), 0, "%s",
	    err.msg);
	rmdir(d);
	free(d);
}

Test(paths, state_dir_of_another_user_refused)
{
	struct pf_err	 err;
	char		*d = scratch(), link[256];

	cr_assert_eq(paths_state_dir_check(d, geteuid() + 1, &err), -1);
	cr_assert(strstr(err.msg, "is owned by uid ") != NULL, "%s", err.msg);
	/* A link of ours (or root's) to a directory of ours is fine. */
	snprintf(link, sizeof(link), "%s.link", d);
	cr_assert_eq(symlink(d, link), 0);
	cr_assert_eq(paths_state_dir_check(link, geteuid(), &err), 0, "%s",
	    err.msg);
	unlink(link);
	/* Not a directory. */
	cr_assert_eq(paths_state_dir_check("/dev/null", 0, &err), -1);
	cr_assert(strstr(err.msg, "is not a directory") != NULL, "%s",
	    err.msg);
	rmdir(d);
	free(d);
}
