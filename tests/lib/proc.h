/*
 * Test helpers: run a program with a time limit and capture its output;
 * make scratch directories; read and write files.
 */
#ifndef PICOFLOW_TEST_PROC_H
#define PICOFLOW_TEST_PROC_H

#include <stddef.h>
#include <sys/resource.h>
#include <sys/types.h>

struct proc_result {
	int		 status;	/* wait status */
	int		 exit_code;	/* -1 if killed */
	char		*out;		/* NUL-terminated stdout */
	size_t		 out_len;
	char		*err;		/* NUL-terminated stderr */
	size_t		 err_len;
	struct rusage	 ru;		/* of the program (wait4) */
	double		 seconds;	/* wall time */
	int		 timed_out;
};

/*
 * Runs argv (argv[0] is a path) with extra environment entries
 * ("K=V", NULL-terminated; may be NULL) put before ours, stdin from
 * /dev/null, killing it after timeout_s.  Returns 0 when it ran.
 */
int	 proc_run(char *const argv[], char *const env[], double timeout_s,
	    struct proc_result *);
void	 proc_result_free(struct proc_result *);

/* Starts argv in the background, stdout/stderr to files (NULL: /dev/null). */
pid_t	 proc_spawn(char *const argv[], char *const env[], const char *out,
	    const char *err);

/* A fresh directory under $TMPDIR (or /tmp); caller frees. */
char	*test_tmpdir(const char *tag);
/* rm -rf dir (best effort; refuses short or relative paths). */
void	 test_rmrf(const char *dir);
/* Writes text to dir/name; returns the malloc'd path. */
char	*test_write(const char *dir, const char *name, const char *text);
/* Reads a whole file, NUL-terminated; NULL if missing.  len may be NULL. */
char	*test_read(const char *path, size_t *len);
/* Path of a built binary under PF_BUILD_DIR (static buffer). */
const char *test_bin(const char *name);
/* Waits up to timeout_s for path to exist; 0 when it does. */
int	 test_wait_file(const char *path, double timeout_s);

/*
 * Sends our stderr to path (truncated) until test_stderr_restore(saved):
 * for the log lines of deliberate faults, which belong in the test's
 * files, not on the terminal of `make test`.  Returns the saved stderr,
 * -1 on failure (stderr unchanged).
 */
int	 test_stderr_to(const char *path);
void	 test_stderr_restore(int saved);

/*
 * A task's pid as the task wrote it with TEST_ECHO_PID ("PID pid:[INODE]",
 * $$ and its PID namespace), as a pid of ours: the pid itself when the
 * task shares our PID namespace (or wrote no namespace), else the
 * process of that namespace with that pid there.  -1 when none is left.
 */
long	 test_host_pid(const char *text);
/* The same, read from a file; -1 also when it cannot be read. */
long	 test_read_host_pid(const char *path);

/* Shell: the current shell's pid and PID namespace, for the above. */
#define TEST_ECHO_PID	"echo $$ $(readlink /proc/self/ns/pid)"

#endif
