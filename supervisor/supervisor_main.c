/*
 * pf-supervisor: the long-running daemon.  Scheduling, reload and crash
 * resume land with the daemon work; until then it parses its arguments
 * and says plainly that it cannot run workflows yet.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: pf-supervisor [-hnV] -c DIR|FILE [--state-dir DIR] "
	    "[--db-path PATH]\n"
	    "\n"
	    "  -c, --config PATH   workflow directory (*.yaml, *.yml) or file\n"
	    "  -n, --check         validate the configuration and exit\n"
	    "      --state-dir DIR state directory (database, socket, pidfile)\n"
	    "      --db-path PATH  database path (overrides --state-dir)\n"
	    "  -V, --version       print the version and exit\n"
	    "  -h, --help          this help\n");
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "config",	required_argument, NULL, 'c' },
		{ "check",	no_argument,	   NULL, 'n' },
		{ "state-dir",	required_argument, NULL, 's' },
		{ "db-path",	required_argument, NULL, 'D' },
		{ "version",	no_argument,	   NULL, 'V' },
		{ "help",	no_argument,	   NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char	*config = NULL;
	int		 ch;

	while ((ch = getopt_long(argc, argv, "c:nVh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			config = optarg;
			break;
		case 'n':
		case 's':
		case 'D':
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
	if (config == NULL || optind != argc) {
		usage(stderr);
		return 2;
	}
	fprintf(stderr, "pf-supervisor: the daemon is not implemented in this "
	    "version; use 'picoflow run FILE'\n");
	return 1;
}
