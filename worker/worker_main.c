/*
 * pf-worker: runs one task attempt for the supervisor.  It is exec'd with
 * its control pipe on a known descriptor and is not meant to be started by
 * hand.
 */
#include <stdio.h>
#include <string.h>

int
main(int argc, char *argv[])
{
	if (argc == 2 && (strcmp(argv[1], "-V") == 0 ||
	    strcmp(argv[1], "--version") == 0)) {
		printf("pf-worker %s\n", PF_VERSION);
		return 0;
	}
	fprintf(argc == 2 && (strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "--help") == 0) ? stdout : stderr,
	    "usage: pf-worker [-hV]\n"
	    "pf-worker is started by pf-supervisor and 'picoflow run' for one "
	    "task attempt;\nit is not meant to be run by hand.\n");
	return argc == 2 && (strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "--help") == 0) ? 0 : 2;
}
