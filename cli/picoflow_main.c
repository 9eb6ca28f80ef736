/*
 * picoflow: the command line.  Parses the global options, then hands the
 * rest of the arguments to one command (see cli.h and docs/cli.md).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "picoflow/log.h"
#include "cli.h"

struct cli_command {
	const char	*name;
	cli_fn		 fn;
	const char	*summary;
};

static const struct cli_command commands[] = {
	{ "run",	cli_run,	"run a workflow once, now" },
	{ "validate",	cli_validate,	"check workflow files" },
	{ "graph",	cli_graph,	"print a workflow's DAG as Graphviz DOT" },
	{ "next",	cli_next,	"show the next fire times of a schedule" },
	{ "template",	cli_template,	"write a starter workflow" },
	{ "status",	cli_status,	"recent executions with per-task status" },
	{ "history",	cli_history,	"execution history of a workflow" },
	{ "logs",	cli_logs,	"captured output of an execution" },
	{ "stats",	cli_stats,	"totals and rates of a workflow" },
	{ "workflow",	cli_workflow,	"workflow list: known workflows" },
	{ "daemon",	cli_daemon,	"daemon start|stop|status: the supervisor" },
	{ "trigger",	cli_trigger,	"start a run now, in the supervisor" },
	{ "cancel",	cli_cancel,	"cancel a run in progress" },
	{ "reload",	cli_reload,	"make the supervisor reread its workflows" },
};

static void
usage(FILE *fp)
{
	size_t	 i;

	fprintf(fp,
	    "usage: picoflow [-hV] [-l LEVEL] [--log-format pretty|json]\n"
	    "                [--db-path PATH] [--state-dir DIR] COMMAND [ARGS]\n"
	    "\n"
	    "Global options:\n"
	    "  -l, --log-level LEVEL   error, warn, info (default), debug, trace\n"
	    "      --log-format FMT    pretty (default) or json, for logs on stderr\n"
	    "      --db-path PATH      state database (also PICOFLOW_DB)\n"
	    "      --state-dir DIR     state directory (also PICOFLOW_STATE_DIR)\n"
	    "      --json              machine-readable output (also per command)\n"
	    "  -V, --version           print the version and exit\n"
	    "  -h, --help              this help; 'picoflow COMMAND --help' for a command\n"
	    "\n"
	    "Commands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(fp, "  %-10s %s\n", commands[i].name,
		    commands[i].summary);
	fprintf(fp, "\nExit status: 0 ok, 1 failure, 2 usage error.\n");
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "log-level",	required_argument, NULL, 'l' },
		{ "log-format",	required_argument, NULL, 'F' },
		{ "db-path",	required_argument, NULL, 'D' },
		{ "state-dir",	required_argument, NULL, 'S' },
		{ "json",	no_argument,	   NULL, 'j' },
		{ "version",	no_argument,	   NULL, 'V' },
		{ "help",	no_argument,	   NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_ctx	 ctx;
	enum log_level	 lvl = LOG_LVL_INFO;
	enum log_format	 fmt = LOG_FMT_PRETTY;
	const char	*env;
	size_t		 i;
	int		 ch;

	memset(&ctx, 0, sizeof(ctx));
	if ((env = getenv("PICOFLOW_DB")) != NULL && *env != '\0')
		ctx.db_path = env;
	if ((env = getenv("PICOFLOW_STATE_DIR")) != NULL && *env != '\0')
		ctx.state_dir = env;

	/* '+': stop at the command name; its options are its own. */
	while ((ch = getopt_long(argc, argv, "+l:Vh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'l':
			if (log_level_parse(optarg, &lvl) == -1) {
				fprintf(stderr, "picoflow: unknown log level "
				    "'%s' (error, warn, info, debug, trace)\n",
				    optarg);
				return CLI_USAGE;
			}
			break;
		case 'F':
			if (log_format_parse(optarg, &fmt) == -1) {
				fprintf(stderr, "picoflow: unknown log format "
				    "'%s' (pretty, json)\n", optarg);
				return CLI_USAGE;
			}
			break;
		case 'D':
			ctx.db_path = optarg;
			break;
		case 'S':
			ctx.state_dir = optarg;
			break;
		case 'j':
			ctx.json = 1;
			break;
		case 'V':
			printf("picoflow %s\n", PF_VERSION);
			return CLI_OK;
		case 'h':
			usage(stdout);
			return CLI_OK;
		default:
			usage(stderr);
			return CLI_USAGE;
		}
	}
	log_init("picoflow", lvl, fmt);
	if (optind >= argc) {
		usage(stderr);
		return CLI_USAGE;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[optind], commands[i].name) == 0) {
			int cmd = optind;

			optind = 0;	/* glibc: re-initialise getopt */
			return commands[i].fn(&ctx, argc - cmd, argv + cmd);
		}
	}
	fprintf(stderr, "picoflow: unknown command '%s'; "
	    "see 'picoflow --help'\n", argv[optind]);
	return CLI_USAGE;
}
