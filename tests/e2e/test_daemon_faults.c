/*
 * End-to-end: pf-supervisor's set-up (daemon_main, in a child of this
 * process) under each failing allocation, fail-once and fail-from-N.
 * Each round starts it on a workflow that runs at start, waits until it
 * is ready or has given up, then stops it with SIGTERM.  It must exit 0
 * (it came up and stopped) or 1 with an error logged (set-up failed):
 * never a crash, a hang or, under ASan, a leak (LeakSanitizer's exit
 * status is neither).  The supervisor's log goes to the round's file.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "picoflow/alloc.h"
#include "picoflow/log.h"
#include "daemon.h"
#include "../lib/daemon_harness.h"
#include "../lib/faultloop.h"
#include "../lib/proc.h"

static void
setup(void)
{
	dt_setup();
	dt_wf("boot.yaml",
	    "name: boot\n"
	    "schedule: '@start'\n"
	    "tasks:\n"
	    "  - {name: a, type: shell, config: {command: /bin/true}}\n"
	    "  - {name: b, type: shell, depends_on: [a],\n"
	    "     config: {command: /bin/echo, args: [hi]}}\n");
}

TestSuite(daemon_faults, .init = setup, .fini = dt_teardown,
    .timeout = 900);

/* The child: the supervisor in this process image, the hook armed. */
static void
child(const char *logpath)
{
	struct daemon_opts	 o;
	int			 rc;

	if (freopen(logpath, "w", stderr) == NULL ||
	    freopen("/dev/null", "w", stdout) == NULL)
		_exit(90);
	setenv("PICOFLOW_WORKER", test_bin("pf-worker"), 1);
	setenv("PICOFLOW_LOADER", test_bin("pf-loader"), 1);
	log_init("pf-supervisor", LOG_LVL_INFO, LOG_FMT_PRETTY);
	daemon_opts_default(&o);
	o.config = dt_wfdir;
	o.state_dir = dt_state;
	o.db_path = dt_db;
	o.no_cgroups = 1;
	o.no_namespaces = 1;
	o.grace_ms = 2000;
	o.stop_timeout_ms = 5000;
	if (geteuid() == 0)
		o.run_as = "root";
	rc = daemon_main(&o);
	/* The verdict and whether the failure happened, in the exit code. */
	exit(rc | (pf_alloc_failed() ? 0x40 : 0));
}

/* Waits for pid up to timeout_s; 1 with *st set when it exited. */
static int
wait_for(pid_t pid, int *st, double timeout_s)
{
	double	 t0 = dt_mono();
	pid_t	 r;

	for (;;) {
		r = waitpid(pid, st, WNOHANG);
		if (r == pid)
			return 1;
		cr_assert_eq(r, 0, "waitpid: %s", strerror(errno));
		if (dt_mono() - t0 > timeout_s)
			return 0;
		usleep(2000);
	}
}

static void
round_check(const struct faultloop *fl, const char *logpath, int st,
    int early_term)
{
	char		*log = test_read(logpath, NULL);
	int		 code;
	const char	*mn = faultloop_mode_name(fl->mode);

	/* Stopped before it could take SIGTERM as a request: not a crash. */
	if (early_term && WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM) {
		free(log);
		return;
	}
	cr_assert(WIFEXITED(st), "%s n=%ld: killed by signal %d; log:\n%s",
	    mn, fl->n, WIFSIGNALED(st) ? WTERMSIG(st) : 0, log ? log : "");
	code = WEXITSTATUS(st) & ~0x40;
	cr_assert(code == 0 || code == 1, "%s n=%ld: exit %d; log:\n%s", mn,
	    fl->n, WEXITSTATUS(st), log ? log : "");
	if (code == 1) {
		cr_assert(WEXITSTATUS(st) & 0x40, "%s n=%ld: failed without "
		    "a shortage; log:\n%s", mn, fl->n, log ? log : "");
		/*
		 * A lasting shortage may leave nothing logged: log.c builds
		 * each line in a pf_buf, so its last words need memory too.
		 */
		cr_assert(fl->mode == FAULT_FROM_N ||
		    (log != NULL && log[0] != '\0'),
		    "%s n=%ld: failed silently; log:\n%s", mn, fl->n,
		    log ? log : "");
	}
	free(log);
}

static void
daemon_loop(enum faultloop_mode mode)
{
	struct faultloop fl;
	char		 logpath[4400], *log;
	unsigned	 up = 0;
	pid_t		 pid;
	int		 st, exited, ready;
	double		 t0;

	faultloop_init(&fl, mode);
	/* A lasting shortage may cost a round 3 s: past 64, fewer rounds. */
	if (mode == FAULT_FROM_N)
		fl.sparse_from = 64;
	while (faultloop_next(&fl)) {
		snprintf(logpath, sizeof(logpath), "%s/log.%s.%ld", dt_dir,
		    mode == FAULT_ONCE ? "once" : "from", fl.n);
		fflush(NULL);
		pid = fork();
		cr_assert_neq(pid, -1);
		if (pid == 0)
			child(logpath);
		faultloop_set_met(&fl, 0);
		/*
		 * Up (its log says ready) or gone.  Under a lasting shortage
		 * the "ready:" line itself may not be written (log.c needs
		 * memory for it): a few seconds, then it is stopped anyway.
		 */
		t0 = dt_mono();
		ready = 0;
		while (!(exited = wait_for(pid, &st, 0.05)) &&
		    dt_mono() - t0 < (mode == FAULT_FROM_N ? 3 : 60)) {
			log = test_read(logpath, NULL);
			ready = log != NULL && strstr(log, "ready:") != NULL;
			free(log);
			if (ready) {
				up++;
				break;
			}
		}
		if (!exited) {
			kill(pid, SIGTERM);
			if (!wait_for(pid, &st, 60)) {
				kill(pid, SIGKILL);
				waitpid(pid, &st, 0);
				log = test_read(logpath, NULL);
				cr_assert_fail("%s n=%ld: no exit 60 s after "
				    "SIGTERM; log:\n%s",
				    faultloop_mode_name(mode), fl.n,
				    log ? log : "");
			}
		}
		round_check(&fl, logpath, st, !exited && !ready);
		faultloop_set_met(&fl, (WEXITSTATUS(st) & 0x40) != 0);
	}
	cr_log_info("%s: %u rounds up to n=%ld, %u came up",
	    faultloop_mode_name(mode), fl.rounds, fl.n, up);
	cr_assert(!fl.exhausted);
	cr_assert_gt(fl.n, 10, "set-up makes more than 10 allocations");
	cr_assert_gt(up, 0);
}

Test(daemon_faults, setup_fail_from_n)
{
	daemon_loop(FAULT_FROM_N);
}

Test(daemon_faults, setup_fail_once)
{
	daemon_loop(FAULT_ONCE);
}
