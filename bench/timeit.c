/*
 * Wall time of a command, from its posix_spawn to its reaping, the same
 * way for every contender (picoflow, ninja, make, a bare /bin/true), so
 * that no shell or date(1) start-up lands in one figure and not another.
 *
 *	timeit [-n RUNS] [-w WARMUP] [-o FILE] CMD [ARG...]
 *
 * Runs CMD WARMUP times untimed, then RUNS times (default 1), one after
 * the other; prints each wall time in seconds, one a line.  The command's
 * stdout goes to FILE (truncated before each run, so the last run's is
 * kept), else to /dev/null; its stderr is ours.  Exits 1, naming the
 * status, as soon as a run does not exit 0.
 */
#include <sys/wait.h>

#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double
now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One run; its wall time in seconds, or -1 (said why) on failure. */
static double
run_once(char *argv[], const char *out)
{
	posix_spawn_file_actions_t	 fa;
	double				 t0, t1;
	pid_t				 pid;
	int				 rc, st;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO,
	    out != NULL ? out : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC,
	    0644);
	t0 = now();
	rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0) {
		fprintf(stderr, "timeit: %s: %s\n", argv[0], strerror(rc));
		return -1;
	}
	while (waitpid(pid, &st, 0) == -1)
		;
	t1 = now();
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "timeit: %s: %s %d\n", argv[0],
		    WIFEXITED(st) ? "exit" : "signal",
		    WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
		return -1;
	}
	return t1 - t0;
}

int
main(int argc, char *argv[])
{
	const char	*out = NULL;
	long		 runs = 1, warm = 0, i;
	double		 t;
	int		 ch;

	while ((ch = getopt(argc, argv, "+n:w:o:")) != -1) {
		switch (ch) {
		case 'n':
			runs = atol(optarg);
			break;
		case 'w':
			warm = atol(optarg);
			break;
		case 'o':
			out = optarg;
			break;
		default:
			goto usage;
		}
	}
	if (optind >= argc || runs < 1 || warm < 0)
		goto usage;
	for (i = 0; i < warm; i++)
		if (run_once(argv + optind, out) < 0)
			return 1;
	for (i = 0; i < runs; i++) {
		if ((t = run_once(argv + optind, out)) < 0)
			return 1;
		printf("%.6f\n", t);
	}
	return 0;
usage:
	fprintf(stderr, "usage: timeit [-n RUNS] [-w WARMUP] [-o FILE] "
	    "CMD [ARG...]\n");
	return 2;
}
