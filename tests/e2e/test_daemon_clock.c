/*
 * End-to-end: pf-supervisor across wall-clock steps (issue #5), without
 * touching this machine's clock.  The supervisor runs with libfaketime
 * preloaded (Debian package `faketime`): its CLOCK_REALTIME is the real
 * clock plus an offset read from a file on every call
 * (FAKETIME_TIMESTAMP_FILE, FAKETIME_NO_CACHE=1), while CLOCK_MONOTONIC
 * stays real (FAKETIME_DONT_FAKE_MONOTONIC=1) -- exactly what an NTP
 * step or a resume from suspend looks like to a process.  The test
 * rewrites the offset while the supervisor runs.
 *
 * One difference with a real step: the kernel tells libev about a real
 * one at once (its timerfd is armed with TFD_TIMER_CANCEL_ON_SET), while
 * a faked one is only seen when the loop next wakes up and reads the
 * clock.  The test wakes it by asking for the status over the control
 * socket, every 0.2 s while it waits.
 *
 * What must hold (docs/operations.md, "Schedules" and "Catch-up"):
 *  - forward past one fire: that fire runs at once (late), the next one
 *    is re-evaluated from the new clock;
 *  - forward past several: the first runs, the rest are logged as missed;
 *  - backward: a fire that already ran does not run again, and the next
 *    fire is the one after it;
 *  - a restart after a jump catches up by the workflow's policy (latest).
 * Workers get a clean environment, so tasks see the real clock.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/daemon_harness.h"

TestSuite(clock, .init = dt_setup, .fini = dt_teardown, .timeout = 300);

static const char *const ft_candidates[] = {
	"/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
	"/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
	"/usr/lib/arm-linux-gnueabihf/faketime/libfaketime.so.1",
	"/usr/lib/i386-linux-gnu/faketime/libfaketime.so.1",
	"/usr/lib/faketime/libfaketime.so.1",
	"/usr/local/lib/faketime/libfaketime.so.1",
};

static char	 ft_file[4400];
static char	*ft_envv[8];

/* libfaketime's path (PF_FAKETIME_LIB overrides), or NULL. */
static const char *
ft_lib(void)
{
	const char	*e = getenv("PF_FAKETIME_LIB");
	size_t		 i;

	if (e != NULL && *e != '\0')
		return access(e, R_OK) == 0 ? e : NULL;
	for (i = 0; i < sizeof(ft_candidates) / sizeof(ft_candidates[0]); i++)
		if (access(ft_candidates[i], R_OK) == 0)
			return ft_candidates[i];
	return NULL;
}

/* Makes the supervisor's wall clock read `target` (unix seconds) now. */
static void
ft_set(int64_t target)
{
	char	 tmp[4500];
	FILE	*f;
	int64_t	 off = target - dt_now_ms() / 1000;

	/* Written aside and renamed: libfaketime never reads half a line. */
	snprintf(tmp, sizeof(tmp), "%s.tmp", ft_file);
	cr_assert_not_null(f = fopen(tmp, "w"));
	fprintf(f, "%+lld\n", (long long)off);
	cr_assert_eq(fclose(f), 0);
	cr_assert_eq(rename(tmp, ft_file), 0);
}

/* Sets up libfaketime for the next starts; skips when it is missing. */
static void
ft_setup(void)
{
	const char	*lib = ft_lib();
	const char	*asan = getenv("ASAN_OPTIONS");
	int		 n = 0;

	if (lib == NULL)
		cr_skip_test("SKIPPED: libfaketime is not installed (Debian "
		    "package faketime; scripts/install-deps.sh installs it); "
		    "set PF_FAKETIME_LIB to its path elsewhere");
	if (getenv("PF_TEST_SUPERVISOR_WRAPPER") != NULL &&
	    *getenv("PF_TEST_SUPERVISOR_WRAPPER") != '\0')
		cr_skip_test("SKIPPED: pf-supervisor runs under a wrapper "
		    "(PF_TEST_SUPERVISOR_WRAPPER), which cannot take "
		    "libfaketime's LD_PRELOAD");
	snprintf(ft_file, sizeof(ft_file), "%s/faketime.rc", dt_dir);
	cr_assert_neq(asprintf(&ft_envv[n++], "LD_PRELOAD=%s", lib), -1);
	cr_assert_neq(asprintf(&ft_envv[n++], "FAKETIME_TIMESTAMP_FILE=%s",
	    ft_file), -1);
	ft_envv[n++] = strdup("FAKETIME_NO_CACHE=1");
	ft_envv[n++] = strdup("FAKETIME_DONT_FAKE_MONOTONIC=1");
	/* An ASan supervisor would refuse a library loaded before its own. */
	cr_assert_neq(asprintf(&ft_envv[n++], "ASAN_OPTIONS=%s%s"
	    "verify_asan_link_order=0", asan ? asan : "", asan ? ":" : ""),
	    -1);
	ft_envv[n] = NULL;
	dt_env = ft_envv;
}

static void
ft_cleanup(void)
{
	size_t	 i;

	for (i = 0; ft_envv[i] != NULL; i++)
		free(ft_envv[i]);
	dt_env = NULL;
}

/* The workflow's next fire in the supervisor's status (ms). */
static int64_t
next_fire_ms(const char *wf)
{
	struct ctl_reply	 rep;
	int64_t			 v;

	dt_status(&rep);
	v = dt_find_wf(&rep, wf)->next_fire_ms;
	ctl_reply_free(&rep);
	return v;
}

/*
 * Waits until the query gives at least want, waking the supervisor's
 * loop every 0.2 s (see the top of the file).
 */
static int64_t
wait_poking(const char *sql, int64_t want, double timeout)
{
	struct ctl_reply	 rep;
	double			 t0 = dt_mono();
	int64_t			 v = -1;
	char			*logs;

	while (dt_mono() - t0 < timeout) {
		dt_status(&rep);
		ctl_reply_free(&rep);
		if ((v = dt_int(sql)) >= want)
			return v;
		usleep(200000);
	}
	logs = dt_logs();
	cr_assert_fail("waited %.0f s for %s >= %lld (got %lld)\n%s", timeout,
	    sql, (long long)want, (long long)v, logs);
	return v;
}

/* Wakes the supervisor's loop for `secs` seconds (nothing may happen). */
static void
poke_for(double secs)
{
	struct ctl_reply	 rep;
	double			 t0 = dt_mono();

	while (dt_mono() - t0 < secs) {
		dt_status(&rep);
		ctl_reply_free(&rep);
		usleep(200000);
	}
}

#define RUNS	"SELECT count(*) FROM executions"
#define DONE	"SELECT count(*) FROM executions WHERE status <> 'running'"

/* The run's scheduled fire, in seconds. */
static int64_t
fire_of(int64_t run)
{
	char	 q[200];

	snprintf(q, sizeof(q), "SELECT scheduled_ms / 1000 FROM run_meta "
	    "WHERE execution_id = %lld", (long long)run);
	return dt_int(q);
}

Test(clock, steps_forward_and_back)
{
	int64_t	 h, now = dt_now_ms() / 1000;
	char	 q[4400];

	ft_setup();
	/* Tasks may run as another user (nobody, when we are root). */
	snprintf(q, sizeof(q), "%s/out", dt_dir);
	cr_assert_eq(mkdir(q, 0777), 0);
	cr_assert_eq(chmod(q, 0777), 0);
	cr_assert_eq(chmod(dt_dir, 0711), 0);
	/* A fire time H at least an hour away, on the hour. */
	h = (now / 3600 + 2) * 3600;
	dt_wf("hourly.yaml",
	    "name: hourly\n"
	    "schedule: \"0 * * * *\"\n"
	    "tasks:\n"
	    "  - {name: a, type: shell, config: {command: /bin/sh, args: "
	    "[\"-c\", \"echo $PICOFLOW_RUN_ID >> %s/out/ran\"]}}\n", dt_dir);

	/* Half an hour before H: the schedule waits for H. */
	ft_set(h - 1800);
	dt_start(NULL);
	cr_assert_eq(next_fire_ms("hourly"), h * 1000, "next fire %lld, "
	    "wanted %lld: the supervisor does not see the faked clock",
	    (long long)next_fire_ms("hourly"), (long long)h * 1000);
	cr_assert_eq(dt_int(RUNS), 0);

	/* +1 h, past H: H runs at once, late; the next fire is H + 1 h. */
	ft_set(h + 1800);
	wait_poking(RUNS, 1, 60);
	cr_assert_eq(fire_of(1), h);
	dt_str_eq("SELECT triggered_by FROM executions WHERE id = 1", "cron");
	cr_assert_eq(next_fire_ms("hourly"), (h + 3600) * 1000);
	wait_poking(DONE, 1, 60);
	dt_str_eq("SELECT status FROM executions WHERE id = 1", "success");
	cr_assert(!dt_log_has("missed (the clock jumped"), "one fire passed, "
	    "none missed");

	/*
	 * Back to 3 s before H, then past H again: H does not run twice and
	 * the timer never even tries (no "not running it twice" from the
	 * database guard).
	 */
	ft_set(h - 3);
	poke_for(1.0);
	cr_assert_eq(next_fire_ms("hourly"), (h + 3600) * 1000);
	poke_for(5.0);
	cr_assert_eq(dt_int(RUNS), 1, "H ran again after the clock went back");
	cr_assert_eq(next_fire_ms("hourly"), (h + 3600) * 1000);
	cr_assert(!dt_log_has("not running it twice"));

	/* Forward to 2 s before H + 1 h: it fires on time, once. */
	ft_set(h + 3600 - 2);
	wait_poking(RUNS, 2, 60);
	cr_assert_eq(fire_of(2), h + 3600);
	cr_assert_eq(next_fire_ms("hourly"), (h + 7200) * 1000);
	wait_poking(DONE, 2, 60);

	/* Forward past three fires: the first runs, two are missed. */
	ft_set(h + 4 * 3600 + 600);
	wait_poking(RUNS, 3, 60);
	cr_assert_eq(fire_of(3), h + 7200);
	cr_assert_eq(next_fire_ms("hourly"), (h + 5 * 3600) * 1000);
	wait_poking(DONE, 3, 60);
	cr_assert(dt_log_has("'hourly': 2 fires missed"));
	poke_for(1.0);
	cr_assert_eq(dt_int(RUNS), 3);
	dt_stop(0);

	/*
	 * Down while the clock moves 3 h on: the restart catches up the
	 * newest missed fire only (catchup: latest, within an hour).
	 */
	ft_set(h + 7 * 3600 + 900);
	dt_start(NULL);
	wait_poking(DONE, 4, 60);
	cr_assert_eq(fire_of(4), h + 7 * 3600);
	dt_str_eq("SELECT triggered_by FROM executions WHERE id = 4",
	    "catchup");
	cr_assert_eq(next_fire_ms("hourly"), (h + 8 * 3600) * 1000);
	poke_for(1.0);
	cr_assert_eq(dt_int(RUNS), 4);
	dt_stop(0);

	/* Each run's task ran once. */
	dt_str_eq("SELECT group_concat(status) FROM executions",
	    "success,success,success,success");
	{
		char	 p[4400], *t;

		snprintf(p, sizeof(p), "%s/out/ran", dt_dir);
		t = test_read(p, NULL);
		cr_assert_str_eq(t, "1\n2\n3\n4\n");
		free(t);
	}
	ft_cleanup();
}
