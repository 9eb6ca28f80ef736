/*
 * `picoflow daemon restart` and SIGUSR2: the supervisor execs its binary
 * again, by the path it was started from (so a package upgrade that
 * replaced the file brings the new version), with the same arguments
 * and the same pid.  Nothing is stopped: running tasks lose their
 * connection, keep running in their workers (worker/attach.h), and the
 * new image takes them over at start exactly as after a crash
 * (recover.c), migrating the database forward on the way.  Schedules
 * are as after any restart: the next fire of each comes from the store,
 * fires missed in between follow the catch-up policy, and a fire can
 * never start two runs (run_meta's unique key).
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "picoflow/log.h"
#include "daemon_int.h"
#include "engine.h"

/* Set in the new image's environment; read (and removed) at start. */
#define REEXEC_ENV	"PICOFLOW_SUPERVISOR_REEXEC"
#define DELETED_SUFFIX	" (deleted)"

int
daemon_exe_resolve(struct daemon *d)
{
	ssize_t	 n;
	size_t	 sl = strlen(DELETED_SUFFIX);

	n = readlink("/proc/self/exe", d->exe, sizeof(d->exe) - 1);
	if (n <= 0) {
		d->exe[0] = '\0';
		return -1;
	}
	d->exe[n] = '\0';
	/* Replaced since it started (an upgrade): exec the new file. */
	if ((size_t)n > sl && strcmp(d->exe + n - sl, DELETED_SUFFIX) == 0)
		d->exe[n - sl] = '\0';
	return 0;
}

int
daemon_reexeced(void)
{
	const char	*v = getenv(REEXEC_ENV);
	int		 yes = v != NULL && strcmp(v, "1") == 0;

	(void)unsetenv(REEXEC_ENV);
	return yes;
}

void
daemon_restart(struct daemon *d, const char *why)
{
	sigset_t	 none;
	size_t		 pending;

	if (d->stopping) {
		log_warnx("%s: not restarting: the supervisor is stopping", why);
		return;
	}
	if (d->exe[0] == '\0' || d->opts.argv == NULL) {
		log_warnx("%s: cannot restart: the path of this program is "
		    "unknown", why);
		return;
	}
	if (daemon_attach_dir(d) == NULL && engine_running(d->eng) > 0) {
		log_warnx("%s: not restarting: %u tasks are running and "
		    "--attach-window 0 would stop them", why,
		    engine_running(d->eng));
		return;
	}
	if ((pending = engine_flush_pending(d->eng)) > 0)
		log_warnx("%s: %zu run ends could not be recorded yet; the "
		    "new process settles them", why, pending);
	log_info("%s: restarting: exec %s; %u running task%s keep%s "
	    "running and %s taken over", why, d->exe, engine_running(d->eng),
	    engine_running(d->eng) == 1 ? "" : "s",
	    engine_running(d->eng) == 1 ? "s" : "",
	    engine_running(d->eng) == 1 ? "is" : "are");
	if (setenv(REEXEC_ENV, "1", 1) == -1) {
		log_warn("%s: cannot restart", why);
		return;
	}
	/* The new image starts with no signal blocked, whatever libev did. */
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	execv(d->exe, d->opts.argv);
	log_warn("%s: cannot exec %s; going on as before", why, d->exe);
	(void)unsetenv(REEXEC_ENV);
}
