/*
 * picoflow daemon start|stop|status.  start and stop work with the
 * pidfile (its fcntl lock says whether a supervisor runs and which pid
 * holds it, so a stale file never misleads them); status asks the
 * supervisor itself (cli_control.c).
 */
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "picoflow/ctl.h"
#include "picoflow/err.h"
#include "picoflow/paths.h"
#include "picoflow/workflow.h"
#include "cli_int.h"
#include "ctlclient.h"

#define STOP_WAIT_DEFAULT_S	90

extern char **environ;

/* ---- the paths and the pidfile --------------------------------------------- */

int
cli_resolve(struct cli_ctx *ctx, struct pf_paths *p, const char *cmd)
{
	struct pf_err	 err;

	if (paths_resolve(ctx->state_dir, ctx->db_path, p, &err) == -1) {
		fprintf(stderr, "picoflow %s: %s\n", cmd, err.msg);
		return -1;
	}
	return 0;
}

/*
 * Who holds the pidfile's lock: its pid, 0 when nobody (a stale or
 * missing file), -1 when it cannot be told.
 */
long
cli_pidfile_holder(const char *path)
{
	struct flock	 fl;
	char		 buf[32];
	ssize_t		 n;
	long		 pid;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return errno == ENOENT ? 0 : -1;
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	if (fcntl(fd, F_GETLK, &fl) == -1) {
		close(fd);
		return -1;
	}
	if (fl.l_type == F_UNLCK) {
		close(fd);
		return 0;
	}
	pid = fl.l_pid;
	if (pid <= 0) {
		/* Another pid namespace: the file says who it is. */
		n = pread(fd, buf, sizeof(buf) - 1, 0);
		buf[n > 0 ? n : 0] = '\0';
		pid = strtol(buf, NULL, 10);
	}
	close(fd);
	return pid > 0 ? pid : -1;
}

/* ---- daemon start / stop ----------------------------------------------------- */

/* pf-supervisor next to this program, else the one on PATH. */
static int
find_supervisor(char *out, size_t len)
{
	char	 self[PATH_MAX], *slash;
	ssize_t	 n;

	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		if ((slash = strrchr(self, '/')) != NULL) {
			slash[1] = '\0';
			if ((size_t)snprintf(out, len, "%spf-supervisor",
			    self) < len && access(out, X_OK) == 0)
				return 0;
		}
	}
	if ((size_t)snprintf(out, len, "pf-supervisor") >= len)
		return -1;
	return 0;
}

/*
 * A supervisor started on one file that has no schedule would hold the
 * pidfile and never run anything (the Rust PicoFlow refuses it too).  A
 * file that does not load is left to pf-supervisor, which says why.  A
 * directory may hold on-demand workflows: they wait for `trigger`.
 */
static int
unscheduled_file(const char *config)
{
	struct wf_load_opts	 opts;
	struct pf_diags		 d;
	struct pf_workflow	*wf;
	struct stat		 st;
	int			 none;

	if (stat(config, &st) == -1 || !S_ISREG(st.st_mode))
		return 0;
	workflow_load_opts_default(&opts);
	opts.max_tasks = SIZE_MAX;
	pf_diags_init(&d);
	wf = workflow_load_file(config, &opts, &d);
	pf_diags_free(&d);
	if (wf == NULL)
		return 0;
	none = wf->schedule == NULL;
	if (none)
		fprintf(stderr, "picoflow daemon start: workflow '%s' (%s) has "
		    "no schedule, so a supervisor would never run it: run it "
		    "once with 'picoflow run %s', add a schedule, or start the "
		    "daemon on a directory (its on-demand workflows wait for "
		    "'picoflow trigger')\n", wf->name, config, config);
	workflow_free(wf);
	return none;
}

static int
daemon_start(struct cli_ctx *ctx, const char *config, const char *pidfile)
{
	struct pf_paths	 p;
	char		 sup[PATH_MAX];
	const char	*argv[16];
	char *const	*av;
	pid_t		 pid;
	long		 holder;
	int		 n = 0, rc, st;

	if (unscheduled_file(config))
		return CLI_FAIL;
	memset(&p, 0, sizeof(p));
	if (cli_resolve(ctx, &p, "daemon start") == -1)
		return CLI_FAIL;
	holder = cli_pidfile_holder(pidfile ? pidfile : p.pidfile);
	if (holder > 0) {
		fprintf(stderr, "picoflow daemon start: pf-supervisor is "
		    "already running (pid %ld)\n", holder);
		paths_free(&p);
		return CLI_FAIL;
	}
	if (find_supervisor(sup, sizeof(sup)) == -1) {
		fprintf(stderr, "picoflow daemon start: cannot find "
		    "pf-supervisor\n");
		paths_free(&p);
		return CLI_FAIL;
	}
	argv[n++] = sup;
	argv[n++] = "-d";
	argv[n++] = "-c";
	argv[n++] = config;
	argv[n++] = "--state-dir";
	argv[n++] = p.state_dir;
	argv[n++] = "--db-path";
	argv[n++] = p.db_path;
	if (pidfile != NULL) {
		argv[n++] = "--pid-file";
		argv[n++] = pidfile;
	}
	argv[n] = NULL;
	/*
	 * posix_spawn takes char *const argv[] for historical reasons and
	 * never writes through it: the one cast that drops our const.
	 */
	av = (char *const *)(uintptr_t)argv;
	rc = strchr(sup, '/') != NULL ?
	    posix_spawn(&pid, sup, NULL, NULL, av, environ) :
	    posix_spawnp(&pid, sup, NULL, NULL, av, environ);
	if (rc != 0) {
		fprintf(stderr, "picoflow daemon start: cannot run %s: %s\n",
		    sup, strerror(rc));
		paths_free(&p);
		return CLI_FAIL;
	}
	/* It returns once the daemon is ready, or says why not. */
	while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
		;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		paths_free(&p);
		return CLI_FAIL;
	}
	holder = cli_pidfile_holder(pidfile ? pidfile : p.pidfile);
	printf("pf-supervisor started (pid %ld); state in %s, log in "
	    "%s/pf-supervisor.log\n", holder, p.state_dir, p.state_dir);
	paths_free(&p);
	return CLI_OK;
}

static int
daemon_stop(struct cli_ctx *ctx, const char *pidfile, unsigned wait_s)
{
	struct pf_paths	 p;
	struct timespec	 ts = { 0, 100 * 1000 * 1000 };
	const char	*pf;
	long		 holder, waited;

	memset(&p, 0, sizeof(p));
	if (cli_resolve(ctx, &p, "daemon stop") == -1)
		return CLI_FAIL;
	pf = pidfile ? pidfile : p.pidfile;
	holder = cli_pidfile_holder(pf);
	if (holder == 0) {
		printf("pf-supervisor is not running\n");
		paths_free(&p);
		return CLI_OK;
	}
	if (holder < 0) {
		fprintf(stderr, "picoflow daemon stop: cannot tell who holds "
		    "%s\n", pf);
		paths_free(&p);
		return CLI_FAIL;
	}
	if (kill((pid_t)holder, SIGTERM) == -1) {
		fprintf(stderr, "picoflow daemon stop: cannot signal pid %ld: "
		    "%s\n", holder, strerror(errno));
		paths_free(&p);
		return CLI_FAIL;
	}
	/* Its lock goes when it exits: that is the moment to report. */
	for (waited = 0; waited < (long)wait_s * 10; waited++) {
		if (cli_pidfile_holder(pf) != holder) {
			printf("pf-supervisor (pid %ld) stopped\n", holder);
			paths_free(&p);
			return CLI_OK;
		}
		nanosleep(&ts, NULL);
	}
	fprintf(stderr, "picoflow daemon stop: pf-supervisor (pid %ld) is "
	    "still running after %u s\n", holder, wait_s);
	paths_free(&p);
	return CLI_FAIL;
}

/* The supervisor's own start time (its status), -1 when it does not answer. */
static int64_t
daemon_started_ms(const char *sock, uint32_t *tasks)
{
	struct ctl_request	 req;
	struct ctl_reply	 rep;
	struct pf_err		 err;
	int64_t			 t = -1;

	ctl_request_init(&req);
	req.cmd = CTL_CMD_STATUS;
	if (control_call(sock, &req, &rep, 2000, &err) == -1)
		return -1;
	if (rep.ok && rep.has_status) {
		t = rep.started_ms;
		if (tasks != NULL)
			*tasks = rep.tasks_running;
	}
	ctl_reply_free(&rep);
	return t;
}

/*
 * SIGUSR2 to the supervisor, which execs itself again (a new version if
 * the file was replaced) and takes its running tasks over; done when
 * the same pid answers with a new start time.
 */
static int
daemon_restart(struct cli_ctx *ctx, const char *pidfile, unsigned wait_s)
{
	struct pf_paths	 p;
	struct timespec	 ts = { 0, 100 * 1000 * 1000 };
	const char	*pf;
	int64_t		 before, now;
	uint32_t	 tasks = 0;
	long		 holder, h, waited;
	int		 rc = CLI_FAIL;

	memset(&p, 0, sizeof(p));
	if (cli_resolve(ctx, &p, "daemon restart") == -1)
		return CLI_FAIL;
	pf = pidfile ? pidfile : p.pidfile;
	holder = cli_pidfile_holder(pf);
	if (holder <= 0) {
		fprintf(stderr, "picoflow daemon restart: pf-supervisor is not "
		    "running (%s is not locked)\n", pf);
		goto out;
	}
	if ((before = daemon_started_ms(p.control_sock, &tasks)) == -1) {
		fprintf(stderr, "picoflow daemon restart: pf-supervisor (pid "
		    "%ld) does not answer on %s\n", holder, p.control_sock);
		goto out;
	}
	if (kill((pid_t)holder, SIGUSR2) == -1) {
		fprintf(stderr, "picoflow daemon restart: cannot signal pid "
		    "%ld: %s\n", holder, strerror(errno));
		goto out;
	}
	for (waited = 0; waited < (long)wait_s * 10; waited++) {
		nanosleep(&ts, NULL);
		if ((h = cli_pidfile_holder(pf)) != holder && h != 0) {
			fprintf(stderr, "picoflow daemon restart: another "
			    "process (pid %ld) holds %s now\n", h, pf);
			goto out;
		}
		if (h == 0 && kill((pid_t)holder, 0) == -1) {
			fprintf(stderr, "picoflow daemon restart: pf-supervisor "
			    "(pid %ld) exited instead of restarting; see its "
			    "log\n", holder);
			goto out;
		}
		now = daemon_started_ms(p.control_sock, NULL);
		if (now != -1 && now != before) {
			printf("pf-supervisor (pid %ld) restarted; %u running "
			    "task%s kept\n", holder, tasks,
			    tasks == 1 ? "" : "s");
			rc = CLI_OK;
			goto out;
		}
	}
	fprintf(stderr, "picoflow daemon restart: pf-supervisor (pid %ld) did "
	    "not come back within %u s (it may refuse: see its log)\n",
	    holder, wait_s);
out:
	paths_free(&p);
	return rc;
}

int
cli_daemon(struct cli_ctx *ctx, int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "json",	no_argument,	   NULL, 'j' },
		{ "pid-file",	required_argument, NULL, 'p' },
		{ "timeout",	required_argument, NULL, 't' },
		{ "help",	no_argument,	   NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const char usage[] =
	    "usage: picoflow daemon start WORKFLOW_OR_DIR [--pid-file P]\n"
	    "       picoflow daemon stop [--pid-file P] [--timeout SEC]\n"
	    "       picoflow daemon restart [--pid-file P] [--timeout SEC]\n"
	    "       picoflow daemon status [--json]\n"
	    "start runs pf-supervisor in the background on a workflow file "
	    "or directory;\nstop sends it SIGTERM and waits for it to exit; "
	    "restart makes it exec itself\nagain (a new version if the "
	    "binary was replaced) keeping running tasks;\nstatus asks it "
	    "what it runs.\n";
	const char	*sub, *pidfile = NULL;
	size_t		 t;
	unsigned	 wait_s = STOP_WAIT_DEFAULT_S;
	int		 ch, json = ctx->json;

	if (argc < 2) {
		fprintf(stderr, "%s", usage);
		return CLI_USAGE;
	}
	sub = argv[1];
	if (strcmp(sub, "-h") == 0 || strcmp(sub, "--help") == 0) {
		printf("%s", usage);
		return CLI_OK;
	}
	argc--;
	argv++;
	optind = 0;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'j':
			json = 1;
			break;
		case 'p':
			pidfile = optarg;
			break;
		case 't':
			if (cli_parse_count("--timeout", optarg, 0, 86400,
			    &t) == -1)
				return CLI_USAGE;
			wait_s = (unsigned)t;
			break;
		case 'h':
			printf("%s", usage);
			return CLI_OK;
		default:
			fprintf(stderr, "%s", usage);
			return CLI_USAGE;
		}
	}
	if (strcmp(sub, "start") == 0) {
		if (optind != argc - 1) {
			fprintf(stderr, "%s", usage);
			return CLI_USAGE;
		}
		return daemon_start(ctx, argv[optind], pidfile);
	}
	if (optind != argc) {
		fprintf(stderr, "%s", usage);
		return CLI_USAGE;
	}
	if (strcmp(sub, "stop") == 0)
		return daemon_stop(ctx, pidfile, wait_s);
	if (strcmp(sub, "restart") == 0)
		return daemon_restart(ctx, pidfile, wait_s);
	if (strcmp(sub, "status") == 0)
		return cli_daemon_status(ctx, json);
	fprintf(stderr, "picoflow daemon: unknown subcommand '%s'\n%s", sub,
	    usage);
	return CLI_USAGE;
}
