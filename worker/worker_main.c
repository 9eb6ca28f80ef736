/*
 * pf-worker: runs one task attempt for the supervisor.  It is exec'd with
 * its supervisor socket on fd 3 (PF_WORKER_FD) and is not meant to be
 * started by hand; docs/protocol.md describes the contract.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "picoflow/log.h"
#include "picoflow/proto.h"
#include "worker.h"

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: pf-worker [-hV] [--fd N] [--log-level LEVEL] "
	    "[--log-format pretty|json]\n"
	    "\n"
	    "pf-worker is started by pf-supervisor and 'picoflow run' for one "
	    "task attempt;\nit is not meant to be run by hand.  It reads a "
	    "SPEC from its supervisor\nsocket (fd %d unless --fd is given) "
	    "and answers with STARTED, OUTPUT and\nRESULT frames.\n",
	    PF_WORKER_FD);
}

/* fds 0-2 must exist, or a pipe could land on them and be clobbered. */
static void
std_fds_open(void)
{
	int	 fd;

	for (fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) == -1 &&
		    open("/dev/null", O_RDWR) != fd)
			fatal("/dev/null");
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "fd",		required_argument, NULL, 'f' },
		{ "log-level",	required_argument, NULL, 'l' },
		{ "log-format",	required_argument, NULL, 'F' },
		{ "version",	no_argument,	   NULL, 'V' },
		{ "help",	no_argument,	   NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	enum log_level	 lvl = LOG_LVL_INFO;
	enum log_format	 fmt = LOG_FMT_PRETTY;
	char		*end;
	long		 fd = PF_WORKER_FD;
	int		 ch;

	log_init("pf-worker", lvl, fmt);
	while ((ch = getopt_long(argc, argv, "hV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			errno = 0;
			fd = strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || end == optarg ||
			    fd < 3 || fd > 1023) {
				fprintf(stderr, "pf-worker: --fd: expected a "
				    "number from 3 to 1023\n");
				return WORKER_EXIT_USAGE;
			}
			break;
		case 'l':
			if (log_level_parse(optarg, &lvl) == -1) {
				fprintf(stderr, "pf-worker: unknown log level "
				    "'%s'\n", optarg);
				return WORKER_EXIT_USAGE;
			}
			break;
		case 'F':
			if (log_format_parse(optarg, &fmt) == -1) {
				fprintf(stderr, "pf-worker: unknown log format "
				    "'%s'\n", optarg);
				return WORKER_EXIT_USAGE;
			}
			break;
		case 'V':
			printf("pf-worker %s\n", PF_VERSION);
			return WORKER_EXIT_OK;
		case 'h':
			usage(stdout);
			return WORKER_EXIT_OK;
		default:
			usage(stderr);
			return WORKER_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return WORKER_EXIT_USAGE;
	}
	log_init("pf-worker", lvl, fmt);
	if (fcntl((int)fd, F_GETFD) == -1) {
		log_warnx("no supervisor socket on fd %ld: pf-worker is "
		    "started by pf-supervisor", fd);
		return WORKER_EXIT_USAGE;
	}
	std_fds_open();
	return worker_run((int)fd);
}
