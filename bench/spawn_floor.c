/*
 * The floor a task runner cannot beat: run /bin/true N times with at most
 * J in flight, nothing else.  "spawn" uses posix_spawn (vfork-style, as
 * pf-worker and the engine do), "fork" uses fork()+execve.
 *
 *	spawn_floor N J spawn|fork
 *
 * Prints the wall time in seconds.
 */
#include <sys/wait.h>

#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

int
main(int argc, char *argv[])
{
	char		*targv[] = { (char *)"/bin/true", NULL };
	struct timespec	 t0, t1;
	long		 n, j, started = 0, running = 0;
	int		 use_fork, st;
	pid_t		 pid;

	if (argc != 4) {
		fprintf(stderr, "usage: spawn_floor N J spawn|fork\n");
		return 2;
	}
	n = atol(argv[1]);
	j = atol(argv[2]);
	use_fork = strcmp(argv[3], "fork") == 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (started < n || running > 0) {
		while (started < n && running < j) {
			if (use_fork) {
				if ((pid = fork()) == 0) {
					execve(targv[0], targv, environ);
					_exit(127);
				}
			} else if (posix_spawn(&pid, targv[0], NULL, NULL, targv,
			    environ) != 0)
				pid = -1;
			if (pid == -1) {
				perror("spawn");
				return 1;
			}
			started++;
			running++;
		}
		if (wait(&st) > 0)
			running--;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("%.3f\n", (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	return 0;
}
