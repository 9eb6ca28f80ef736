/*
 * pf-supervisor: parses the command line and hands over to the daemon
 * (daemon.c).  See docs/man/pf-supervisor.8 and docs/operations.md.
 */
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "picoflow/log.h"
#include "picoflow/policy.h"
#include "picoflow/privgroup.h"
#include "picoflow/runas.h"
#include "picoflow/proto.h"
#include "picoflow/store.h"
#include "picoflow/units.h"
#include "daemon.h"
#include "engine_defaults.h"

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: pf-supervisor [-dhnV] -c DIR|FILE [--state-dir DIR] "
	    "[--db-path PATH]\n"
	    "                     [--pid-file PATH] [--timezone TZ] "
	    "[--max-tasks N] [--grace SEC]\n"
	    "                     [--max-tasks-per-workflow N] "
	    "[--max-runs-per-workflow N]\n"
	    "                     [--stop-timeout SEC] [--retain-days N] "
	    "[--retain-runs N]\n"
	    "                     [--retain-bytes SIZE] [--retain-every SEC] "
	    "[--sync full|normal]\n"
	    "                     [--output-budget SIZE] [--no-cgroups] "
	    "[--no-namespaces]\n"
	    "                     [--attach-window SEC] "
	    "[--max-interruptions N]\n"
	    "                     [--policy FILE] "
	    "[--run-as USER[:GROUP[,GROUP...]]]\n"
	    "                     [-l LEVEL] [--log-format pretty|json] "
	    "[--log-file PATH]\n"
	    "\n"
	    "  -c, --config PATH     workflow directory (*.yaml, *.yml) or "
	    "one file\n"
	    "  -n, --check           validate the configuration and exit "
	    "(0 valid, 1 not)\n"
	    "  -d, --detach          run in the background (logs to "
	    "STATE_DIR/pf-supervisor.log)\n"
	    "      --state-dir DIR   state directory (database, socket, "
	    "pidfile)\n"
	    "      --db-path PATH    database (overrides the state "
	    "directory's)\n"
	    "      --pid-file PATH   pidfile (default "
	    "STATE_DIR/pf-supervisor.pid)\n"
	    "      --timezone TZ     default time zone of schedules "
	    "(default UTC)\n"
	    "      --max-tasks N     tasks running at once, all workflows "
	    "(default %d, 0 = no cap)\n"
	    "      --max-tasks-per-workflow N  tasks of one workflow's runs "
	    "at once (default\n"
	    "                        half of --max-tasks; never all of "
	    "them)\n"
	    "      --max-runs-per-workflow N  runs of one workflow in flight "
	    "(default %d,\n"
	    "                        0 = no cap); fires beyond are skipped\n"
	    "      --grace SEC       SIGTERM to SIGKILL of a task (default "
	    "5)\n"
	    "      --stop-timeout SEC  on SIGTERM, running tasks get this "
	    "long (default %d)\n"
	    "      --retain-days N   delete finished runs older than N days "
	    "(default 0: keep)\n"
	    "      --retain-runs N   keep the newest N finished runs per "
	    "workflow (default %d,\n"
	    "                        0 = all); a workflow's "
	    "config.retention replaces\n"
	    "                        these two for its own runs\n"
	    "      --retain-bytes SIZE  keep at most SIZE of captured output "
	    "(K/M/G; default 256M, 0 = all)\n"
	    "      --retain-every SEC  apply retention this often (default "
	    "%d; also at start)\n"
	    "      --sync MODE       full (default) or normal (see "
	    "docs/state.md)\n"
	    "      --output-budget SIZE  task output the runs in flight may "
	    "store, all\n"
	    "                        together (K/M/G; default 256M, 0 = no "
	    "limit); beyond\n"
	    "                        it output is dropped and the tasks "
	    "marked truncated\n"
	    "      --no-cgroups      no per-task cgroups: limits by rlimits "
	    "and process groups\n"
	    "      --no-namespaces   no PID and mount namespaces per shell "
	    "task (tasks of one\n"
	    "                        user can then see and signal each "
	    "other)\n"
	    "      --attach-window SEC  tasks outlive the supervisor: a task "
	    "that ended while\n"
	    "                        it was down waits this long for it "
	    "(default 600;\n"
	    "                        0: tasks stop when the supervisor goes "
	    "away)\n"
	    "      --max-interruptions N  a task interrupted N times in a "
	    "row (its worker\n"
	    "                        gone after a restart) fails (default "
	    "%d, 0 = no limit)\n"
	    "      --policy FILE     what workflows may ask for (see "
	    "docs/security.md); re-read on SIGHUP\n"
	    "      --run-as USER     tasks without run_as run as USER "
	    "(default: the policy's\n"
	    "                        default_run_as, else nobody when run "
	    "as root)\n"
	    "  -l, --log-level LEVEL error, warn, info (default), debug, "
	    "trace\n"
	    "      --log-format FMT  pretty (default) or json\n"
	    "      --log-file PATH   with -d, where the log goes\n"
	    "  -V, --version         print the version and exit\n"
	    "  -h, --help            this help\n",
	    DAEMON_DEFAULT_MAX_TASKS, DAEMON_DEFAULT_WF_MAX_RUNS,
	    DAEMON_DEFAULT_STOP_TIMEOUT_S,
	    DAEMON_DEFAULT_RETAIN_RUNS, DAEMON_DEFAULT_RETAIN_EVERY_S,
	    ENGINE_DEFAULT_MAX_INTERRUPTIONS);
}

/*
 * --run-as names a user (and groups) this host knows, and no privileged
 * group (privgroup.h) unless it is root itself: --run-as root is the
 * operator's consent to root, a group is not.
 */
static int
run_as_arg(const char *s)
{
	struct privgroup_ids ids;
	struct privgroup_set pg;
	struct pf_err	 err;
	char		 why[512];
	int		 priv;

	if (!privgroup_run_as_ok(s, 0)) {
		fprintf(stderr, "pf-supervisor: --run-as: '%s' is not a user, "
		    "user:group or user:group,group,...\n", s);
		return -1;
	}
	if (privgroup_resolve(s, &ids, why, sizeof(why)) == -1) {
		fprintf(stderr, "pf-supervisor: --run-as: %s\n", why);
		return -1;
	}
	if (!ids.named) {
		fprintf(stderr, "pf-supervisor: --run-as: no user '%.*s' on "
		    "this host\n", (int)strcspn(s, ":"), s);
		return -1;
	}
	if (ids.uid == 0 || runas_is_root(s))
		return 0;
	if (privgroup_set_load(&pg, NULL, 0, NULL, 0, &err) == -1) {
		fprintf(stderr, "pf-supervisor: --run-as: %s\n", err.msg);
		return -1;
	}
	priv = privgroup_check_ids(&pg, &ids, s, why, sizeof(why));
	privgroup_set_free(&pg);
	if (priv) {
		fprintf(stderr, "pf-supervisor: --run-as: %s; a privileged "
		    "group is refused like root (a policy with allow_root: "
		    "true may list it for the tasks that need it)\n", why);
		return -1;
	}
	return 0;
}

/* A flag's whole number in 0..max (units.h). */
static int
num(const char *opt, const char *s, unsigned long long max,
    unsigned long long *out)
{
	int64_t	 v;

	if (units_count(s, 0, (int64_t)max, &v) != UNITS_OK) {
		fprintf(stderr, "pf-supervisor: %s: '%s' is not a number in "
		    "0..%llu\n", opt, s, max);
		return -1;
	}
	*out = (unsigned long long)v;
	return 0;
}

/* 123, 10K, 256M, 2G (powers of 1024; units.h). */
static int
size_arg(const char *opt, const char *s, int64_t *out)
{
	if (units_size(s, 0, INT64_MAX, out) != UNITS_OK) {
		fprintf(stderr, "pf-supervisor: %s: '%s' is not a size (like "
		    "512K, 256M, 1G)\n", opt, s);
		return -1;
	}
	return 0;
}

/* The command line, parsed. */
struct sv_args {
	struct daemon_opts	 o;
	enum log_level		 lvl;
	enum log_format		 fmt;
	int			 check;		/* -n */
};

/*
 * Parses the environment and the command line into a.  -1: go on; else
 * the exit code (--help, --version, a bad option or argument).
 */
static int
parse_args(int argc, char *argv[], struct sv_args *a)
{
	static const struct option longopts[] = {
		{ "config",	required_argument, NULL, 'c' },
		{ "check",	no_argument,	   NULL, 'n' },
		{ "detach",	no_argument,	   NULL, 'd' },
		{ "state-dir",	required_argument, NULL, 'S' },
		{ "db-path",	required_argument, NULL, 'D' },
		{ "pid-file",	required_argument, NULL, 'P' },
		{ "timezone",	required_argument, NULL, 'z' },
		{ "max-tasks",	required_argument, NULL, 'm' },
		{ "max-tasks-per-workflow", required_argument, NULL, 'M' },
		{ "max-runs-per-workflow", required_argument, NULL, 'R' },
		{ "grace",	required_argument, NULL, 'g' },
		{ "stop-timeout", required_argument, NULL, 't' },
		{ "retain-days", required_argument, NULL, 'a' },
		{ "retain-runs", required_argument, NULL, 'r' },
		{ "retain-bytes", required_argument, NULL, 'b' },
		{ "retain-every", required_argument, NULL, 'e' },
		{ "output-budget", required_argument, NULL, 'O' },
		{ "sync",	required_argument, NULL, 's' },
		{ "no-cgroups",	no_argument,	   NULL, 'C' },
		{ "no-namespaces", no_argument,	   NULL, 'N' },
		{ "attach-window", required_argument, NULL, 'W' },
		{ "max-interruptions", required_argument, NULL, 'I' },
		{ "policy",	required_argument, NULL, 'p' },
		{ "run-as",	required_argument, NULL, 'u' },
		{ "log-level",	required_argument, NULL, 'l' },
		{ "log-format",	required_argument, NULL, 'F' },
		{ "log-file",	required_argument, NULL, 'L' },
		{ "version",	no_argument,	   NULL, 'V' },
		{ "help",	no_argument,	   NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long long	 v;
	const char		*env;
	int			 ch;

	daemon_opts_default(&a->o);
	a->lvl = LOG_LVL_INFO;
	a->fmt = LOG_FMT_PRETTY;
	a->check = 0;
	if ((env = getenv("PICOFLOW_STATE_DIR")) != NULL && *env != '\0')
		a->o.state_dir = env;
	if ((env = getenv("PICOFLOW_DB")) != NULL && *env != '\0')
		a->o.db_path = env;
	while ((ch = getopt_long(argc, argv, "c:ndl:Vh", longopts, NULL)) !=
	    -1) {
		switch (ch) {
		case 'c':
			a->o.config = optarg;
			break;
		case 'n':
			a->check = 1;
			break;
		case 'd':
			a->o.detach = 1;
			break;
		case 'S':
			a->o.state_dir = optarg;
			break;
		case 'D':
			a->o.db_path = optarg;
			break;
		case 'P':
			a->o.pidfile = optarg;
			break;
		case 'z':
			a->o.default_tz = optarg;
			break;
		case 'm':
			if (num("--max-tasks", optarg, 100000, &v) == -1)
				return 2;
			a->o.max_tasks = (unsigned)v;
			break;
		case 'M':
			if (num("--max-tasks-per-workflow", optarg, 100000,
			    &v) == -1)
				return 2;
			if (v == 0) {
				fprintf(stderr, "pf-supervisor: "
				    "--max-tasks-per-workflow: 0 is not "
				    "allowed: one workflow could take every "
				    "slot\n");
				return 2;
			}
			a->o.wf_max_tasks = (unsigned)v;
			break;
		case 'R':
			if (num("--max-runs-per-workflow", optarg, 100000,
			    &v) == -1)
				return 2;
			a->o.wf_max_runs = (unsigned)v;
			break;
		case 'g':
			if (num("--grace", optarg, 3600, &v) == -1)
				return 2;
			a->o.grace_ms = (unsigned)v * 1000;
			break;
		case 't':
			if (num("--stop-timeout", optarg, 86400, &v) == -1)
				return 2;
			a->o.stop_timeout_ms = (unsigned)v * 1000;
			break;
		case 'a':
			if (num("--retain-days", optarg, 36500, &v) == -1)
				return 2;
			a->o.retain_age_ms = (int64_t)v * 86400000;
			break;
		case 'r':
			if (num("--retain-runs", optarg, 100000000, &v) == -1)
				return 2;
			a->o.retain_runs = (unsigned)v;
			break;
		case 'b':
			if (size_arg("--retain-bytes", optarg,
			    &a->o.retain_bytes) == -1)
				return 2;
			break;
		case 'O':
			if (size_arg("--output-budget", optarg,
			    &a->o.output_budget) == -1)
				return 2;
			break;
		case 'e':
			if (num("--retain-every", optarg, 86400 * 365, &v) ==
			    -1)
				return 2;
			a->o.retain_every_s = (unsigned)v;
			break;
		case 's':
			if (store_sync_parse(optarg, &a->o.sync) == -1) {
				fprintf(stderr, "pf-supervisor: --sync: '%s' is "
				    "not full or normal\n", optarg);
				return 2;
			}
			break;
		case 'C':
			a->o.no_cgroups = 1;
			break;
		case 'N':
			a->o.no_namespaces = 1;
			break;
		case 'W':
			if (num("--attach-window", optarg,
			    PROTO_ATTACH_WINDOW_MAX_MS / 1000, &v) == -1)
				return 2;
			a->o.attach_window_ms = (unsigned)v * 1000;
			break;
		case 'I':
			if (num("--max-interruptions", optarg, 1000, &v) == -1)
				return 2;
			a->o.max_interruptions = (unsigned)v;
			break;
		case 'p':
			a->o.policy = optarg;
			break;
		case 'u':
			if (run_as_arg(optarg) == -1)
				return 2;
			a->o.run_as = optarg;
			break;
		case 'l':
			if (log_level_parse(optarg, &a->lvl) == -1) {
				fprintf(stderr, "pf-supervisor: unknown log "
				    "level '%s'\n", optarg);
				return 2;
			}
			break;
		case 'F':
			if (log_format_parse(optarg, &a->fmt) == -1) {
				fprintf(stderr, "pf-supervisor: unknown log "
				    "format '%s' (pretty, json)\n", optarg);
				return 2;
			}
			break;
		case 'L':
			a->o.log_file = optarg;
			break;
		case 'V':
			printf("pf-supervisor %s\n", PF_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (a->o.config == NULL || optind != argc) {
		usage(stderr);
		return 2;
	}
	return -1;
}

/* Runs what the command line asked for; returns the exit code. */
static int
run(const struct sv_args *a)
{
	log_init("pf-supervisor", a->lvl, a->fmt);
	if (a->check)
		return daemon_check(&a->o);
	return daemon_main(&a->o);
}

int
main(int argc, char *argv[])
{
	struct sv_args	 a;
	int		 rc;

	if ((rc = parse_args(argc, argv, &a)) != -1)
		return rc;
	a.o.argv = argv;	/* daemon restart execs the same command */
	return run(&a);
}
