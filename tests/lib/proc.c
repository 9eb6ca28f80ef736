#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "proc.h"

extern char **environ;

static double
mono(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* extra, then the rest of environ; the strings are borrowed. */
static char **
merged_env(char *const extra[])
{
	size_t	 n = 0, m = 0, i;
	char	**v;

	size_t	 k, out;

	while (environ[n] != NULL)
		n++;
	while (extra != NULL && extra[m] != NULL)
		m++;
	if ((v = calloc(n + m + 1, sizeof(*v))) == NULL)
		return NULL;
	for (i = 0; i < m; i++)
		v[i] = extra[i];
	/* Leave out our own entries for the keys extra sets: a shell in
	 * between would otherwise pick either. */
	for (out = m, i = 0; i < n; i++) {
		for (k = 0; k < m; k++) {
			size_t klen = strcspn(extra[k], "=");
			if (strncmp(environ[i], extra[k], klen + 1) == 0)
				break;
		}
		if (k == m)
			v[out++] = environ[i];
	}
	return v;
}

static int
append(char **buf, size_t *len, const char *p, size_t n)
{
	char	*nb;

	if ((nb = realloc(*buf, *len + n + 1)) == NULL)
		return -1;
	memcpy(nb + *len, p, n);
	*len += n;
	nb[*len] = '\0';
	*buf = nb;
	return 0;
}

int
proc_run(char *const argv[], char *const env[], double timeout_s,
    struct proc_result *r)
{
	posix_spawn_file_actions_t	 fa;
	int				 po[2], pe[2], open_fds = 2, rc, i;
	char				**envp, chunk[65536];
	pid_t				 pid;
	double				 t0 = mono(), left;
	struct pollfd			 pfd[2];
	ssize_t				 n;

	memset(r, 0, sizeof(*r));
	r->out = calloc(1, 1);
	r->err = calloc(1, 1);
	if (pipe2(po, O_CLOEXEC) == -1)
		return -1;
	if (pipe2(pe, O_CLOEXEC) == -1) {
		close(po[0]);
		close(po[1]);
		return -1;
	}
	if ((envp = merged_env(env)) == NULL)
		return -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, po[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
	rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	free(envp);
	close(po[1]);
	close(pe[1]);
	if (rc != 0) {
		close(po[0]);
		close(pe[0]);
		errno = rc;
		return -1;
	}
	pfd[0].fd = po[0];
	pfd[1].fd = pe[0];
	pfd[0].events = pfd[1].events = POLLIN;
	while (open_fds > 0) {
		left = timeout_s - (mono() - t0);
		if (left <= 0) {
			r->timed_out = 1;
			kill(pid, SIGKILL);
			break;
		}
		if (poll(pfd, 2, (int)(left * 1000) + 1) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (i = 0; i < 2; i++) {
			if (pfd[i].fd < 0 || pfd[i].revents == 0)
				continue;
			n = read(pfd[i].fd, chunk, sizeof(chunk));
			if (n <= 0) {
				close(pfd[i].fd);
				pfd[i].fd = -1;
				open_fds--;
				continue;
			}
			if (i == 0)
				append(&r->out, &r->out_len, chunk, (size_t)n);
			else
				append(&r->err, &r->err_len, chunk, (size_t)n);
		}
	}
	for (i = 0; i < 2; i++)
		if (pfd[i].fd >= 0)
			close(pfd[i].fd);
	while (wait4(pid, &r->status, 0, &r->ru) == -1 && errno == EINTR)
		;
	r->exit_code = WIFEXITED(r->status) ? WEXITSTATUS(r->status) : -1;
	r->seconds = mono() - t0;
	return 0;
}

void
proc_result_free(struct proc_result *r)
{
	free(r->out);
	free(r->err);
	r->out = r->err = NULL;
}

pid_t
proc_spawn(char *const argv[], char *const env[], const char *out,
    const char *err)
{
	posix_spawn_file_actions_t	 fa;
	char				**envp;
	pid_t				 pid;
	int				 rc;

	if ((envp = merged_env(env)) == NULL)
		return -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, out ? out : "/dev/null",
	    O_WRONLY | O_CREAT | O_TRUNC, 0644);
	posix_spawn_file_actions_addopen(&fa, 2, err ? err : "/dev/null",
	    O_WRONLY | O_CREAT | O_TRUNC, 0644);
	rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	free(envp);
	return rc == 0 ? pid : -1;
}

char *
test_tmpdir(const char *tag)
{
	const char	*base = getenv("TMPDIR");
	char		*p;

	if (base == NULL || *base == '\0')
		base = "/tmp";
	if (asprintf(&p, "%s/pf-%s-XXXXXX", base, tag) == -1)
		return NULL;
	if (mkdtemp(p) == NULL) {
		free(p);
		return NULL;
	}
	return p;
}

void
test_rmrf(const char *dir)
{
	char			 rm[] = "/bin/rm", rf[] = "-rf", *copy;
	char			*argv[] = { rm, rf, NULL, NULL };
	struct proc_result	 r;

	if (dir == NULL || dir[0] != '/' || strlen(dir) < 6)
		return;
	if ((copy = strdup(dir)) == NULL)
		return;
	argv[2] = copy;
	if (proc_run(argv, NULL, 30, &r) == 0)
		proc_result_free(&r);
	free(copy);
}

char *
test_write(const char *dir, const char *name, const char *text)
{
	char	*p;
	FILE	*fp;

	if (asprintf(&p, "%s/%s", dir, name) == -1)
		return NULL;
	if ((fp = fopen(p, "w")) == NULL) {
		free(p);
		return NULL;
	}
	fputs(text, fp);
	fclose(fp);
	return p;
}

char *
test_read(const char *path, size_t *len)
{
	char	*buf, chunk[8192];
	size_t	 n = 0;
	ssize_t	 k;
	int	 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return NULL;
	buf = calloc(1, 1);
	while ((k = read(fd, chunk, sizeof(chunk))) > 0)
		append(&buf, &n, chunk, (size_t)k);
	close(fd);
	if (len != NULL)
		*len = n;
	return buf;
}

const char *
test_bin(const char *name)
{
	static char	 path[4096];
	const char	*dir = getenv("PF_BUILD_DIR");

	snprintf(path, sizeof(path), "%s/%s", dir && *dir ? dir :
	    PF_BUILD_DIR, name);
	return path;
}

int
test_wait_file(const char *path, double timeout_s)
{
	struct stat	 st;
	double		 t0 = mono();

	while (mono() - t0 < timeout_s) {
		if (stat(path, &st) == 0)
			return 0;
		usleep(10000);
	}
	return -1;
}

/* The process of ours whose namespace is ns and whose pid there is pid. */
static long
host_pid_in(const char *ns, long pid)
{
	DIR		*d;
	struct dirent	*de;
	char		 path[300], link[128], buf[4096], *p, *nl;
	long		 found = -1, last;
	ssize_t		 n;
	int		 fd;

	if ((d = opendir("/proc")) == NULL)
		return -1;
	while (found == -1 && (de = readdir(d)) != NULL) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/ns/pid", de->d_name);
		if ((n = readlink(path, link, sizeof(link) - 1)) <= 0)
			continue;
		link[n] = '\0';
		if (strcmp(link, ns) != 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%s/status", de->d_name);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		/* NSpid: <ours> ... <innermost>; the task's is the last. */
		if ((p = strstr(buf, "\nNSpid:")) == NULL)
			continue;
		if ((nl = strchr(p + 1, '\n')) != NULL)
			*nl = '\0';
		if ((p = strrchr(p, '\t')) == NULL)
			continue;
		last = atol(p + 1);
		if (last == pid)
			found = atol(de->d_name);
	}
	closedir(d);
	return found;
}

long
test_host_pid(const char *text)
{
	char	 own[128], ns[128];
	long	 pid;
	ssize_t	 n;
	int	 k;

	ns[0] = '\0';
	k = sscanf(text, "%ld %127s", &pid, ns);
	if (k < 1 || pid <= 0)
		return -1;
	if (k < 2)
		return pid;
	if ((n = readlink("/proc/self/ns/pid", own, sizeof(own) - 1)) <= 0)
		return -1;
	own[n] = '\0';
	if (strcmp(own, ns) == 0)
		return pid;
	return host_pid_in(ns, pid);
}

long
test_read_host_pid(const char *path)
{
	char	*s = test_read(path, NULL);
	long	 pid;

	if (s == NULL)
		return -1;
	pid = test_host_pid(s);
	free(s);
	return pid;
}

int
test_stderr_to(const char *path)
{
	int	 fd, saved;

	fflush(stderr);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1)
		return -1;
	if ((saved = dup(STDERR_FILENO)) == -1 ||
	    dup2(fd, STDERR_FILENO) != STDERR_FILENO) {
		if (saved != -1)
			close(saved);
		close(fd);
		return -1;
	}
	close(fd);
	return saved;
}

void
test_stderr_restore(int saved)
{
	if (saved < 0)
		return;
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
}
