/*
 * sshd on loopback for tests; see test_sshd.h.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "proc.h"
#include "test_sshd.h"

static int
keygen(const char *path)
{
	char			*argv[] = { "/usr/bin/ssh-keygen", "-q", "-t",
	    "ed25519", "-N", "", "-f", (char *)(uintptr_t)path, NULL };
	struct proc_result	 r;
	int			 ok;

	if (proc_run(argv, NULL, 30, &r) == -1)
		return -1;
	ok = r.exit_code == 0;
	if (!ok)
		fprintf(stderr, "ssh-keygen %s: %s%s\n", path, r.out, r.err);
	proc_result_free(&r);
	return ok ? 0 : -1;
}

/* A port nobody listens on right now (sshd binds it a moment later). */
static int
free_port(void)
{
	struct sockaddr_in	 sa;
	socklen_t		 sl = sizeof(sa);
	int			 fd, port = -1;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &sl) == 0)
		port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

static int
try_connect(int family, int port)
{
	struct sockaddr_in	 s4;
	struct sockaddr_in6	 s6;
	int			 fd, rc;

	if ((fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (family == AF_INET) {
		memset(&s4, 0, sizeof(s4));
		s4.sin_family = AF_INET;
		s4.sin_port = htons((uint16_t)port);
		s4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		rc = connect(fd, (struct sockaddr *)&s4, sizeof(s4));
	} else {
		memset(&s6, 0, sizeof(s6));
		s6.sin6_family = AF_INET6;
		s6.sin6_port = htons((uint16_t)port);
		s6.sin6_addr = in6addr_loopback;
		rc = connect(fd, (struct sockaddr *)&s6, sizeof(s6));
	}
	close(fd);
	return rc;
}

char *
test_sshd_file(struct test_sshd *d, const char *name, const char *text)
{
	char	*p = test_write(d->dir, name, text);

	if (p != NULL)
		chmod(p, 0600);
	return p;
}

static int
sshd_try(struct test_sshd *d)
{
	char	*cfg, *text, *argv[6];
	double	 end;
	int	 st;

	d->port = free_port();
	if (d->port <= 0)
		return -1;
	if (asprintf(&text,
	    "Port %d\n"
	    "ListenAddress 127.0.0.1\n"
	    "ListenAddress [::1]\n"
	    "HostKey %s/hostkey\n"
	    "PidFile none\n"
	    "AuthorizedKeysFile %s/authorized_keys\n"
	    "PermitRootLogin prohibit-password\n"
	    "PasswordAuthentication no\n"
	    "KbdInteractiveAuthentication no\n"
	    "UsePAM no\n"
	    "StrictModes no\n"
	    "LogLevel ERROR\n"
	    "MaxStartups 100\n"
	    /*
	     * Debian's bash reads ~/.bashrc when started by sshd as a
	     * top-level shell; SHLVL=1 makes it a nested one, so the
	     * tests never run (or kill half-way) the user's dotfiles.
	     */
	    "SetEnv SHLVL=1\n",
	    d->port, d->dir, d->dir) == -1)
		return -1;
	cfg = test_sshd_file(d, "sshd_config", text);
	free(text);
	if (cfg == NULL)
		return -1;
	argv[0] = "/usr/sbin/sshd";
	argv[1] = "-D";
	argv[2] = "-e";
	argv[3] = "-f";
	argv[4] = cfg;
	argv[5] = NULL;
	d->pid = proc_spawn(argv, NULL, NULL, d->log);
	free(cfg);
	if (d->pid <= 0)
		return -1;
	for (end = (double)time(NULL) + 15; (double)time(NULL) < end;) {
		if (waitpid(d->pid, &st, WNOHANG) == d->pid) {
			d->pid = -1;
			return -1;	/* port taken meanwhile? try again */
		}
		if (try_connect(AF_INET, d->port) == 0) {
			d->ipv6 = try_connect(AF_INET6, d->port) == 0;
			return 0;
		}
		usleep(10000);
	}
	return -1;
}

int
test_sshd_start(struct test_sshd *d)
{
	char	 path[4200], *pub, *text, *nl;
	int	 i;

	memset(d, 0, sizeof(*d));
	d->pid = -1;
	(void)mkdir("/run/sshd", 0755);
	if ((d->dir = test_tmpdir("sshd")) == NULL)
		return -1;
	chmod(d->dir, 0755);
	if (asprintf(&d->userkey, "%s/userkey", d->dir) == -1 ||
	    asprintf(&d->otherkey, "%s/otherkey", d->dir) == -1 ||
	    asprintf(&d->log, "%s/sshd.log", d->dir) == -1)
		return -1;
	snprintf(path, sizeof(path), "%s/hostkey", d->dir);
	if (keygen(path) == -1 || keygen(d->userkey) == -1 ||
	    keygen(d->otherkey) == -1)
		return -1;
	snprintf(path, sizeof(path), "%s.pub", d->userkey);
	if ((pub = test_read(path, NULL)) == NULL)
		return -1;
	free(test_sshd_file(d, "authorized_keys", pub));
	free(pub);
	snprintf(path, sizeof(path), "%s/hostkey.pub", d->dir);
	if ((pub = test_read(path, NULL)) == NULL)
		return -1;
	/* "ssh-ed25519 AAAA... comment": keep the type and the key. */
	if ((nl = strchr(pub, ' ')) != NULL && (nl = strchr(nl + 1, ' ')) !=
	    NULL)
		*nl = '\0';
	pub[strcspn(pub, "\r\n")] = '\0';
	d->hostkey_pub = pub;
	for (i = 0; i < 5; i++)
		if (sshd_try(d) == 0)
			break;
	if (d->pid <= 0) {
		text = test_read(d->log, NULL);
		fprintf(stderr, "sshd did not start: %s\n", text ? text : "");
		free(text);
		return -1;
	}
	if (asprintf(&text, "[127.0.0.1]:%d %s\n[::1]:%d %s\n"
	    "[localhost]:%d %s\n", d->port, pub, d->port, pub, d->port,
	    pub) == -1)
		return -1;
	d->known_hosts = test_sshd_file(d, "known_hosts", text);
	free(text);
	return d->known_hosts != NULL ? 0 : -1;
}

/* Parent of pid from /proc, or -1. */
static long
ppid_of(long pid)
{
	char	 path[64], *st, *p;
	long	 pp = -1;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if ((st = test_read(path, NULL)) == NULL)
		return -1;
	if ((p = strrchr(st, ')')) != NULL && p[1] == ' ' && p[2] != '\0')
		pp = strtol(p + 3, NULL, 10);
	free(st);
	return pp;
}

/*
 * SIGKILL every descendant of root: what the remote commands of a test
 * left running (sshd does not kill a command when its connection
 * drops), so no test leaves processes behind even when it failed early.
 */
static void
kill_descendants(long root)
{
	DIR		*dir;
	struct dirent	*de;
	long		 pid, a;
	int		 depth;

	if ((dir = opendir("/proc")) == NULL)
		return;
	while ((de = readdir(dir)) != NULL) {
		if ((pid = strtol(de->d_name, NULL, 10)) <= 1 || pid == root)
			continue;
		for (a = ppid_of(pid), depth = 0; a > 1 && depth < 64;
		    a = ppid_of(a), depth++)
			if (a == root) {
				kill((pid_t)pid, SIGKILL);
				break;
			}
	}
	closedir(dir);
}

void
test_sshd_stop(struct test_sshd *d)
{
	int	 st;

	if (d->pid > 0) {
		kill_descendants(d->pid);
		kill(d->pid, SIGTERM);
		waitpid(d->pid, &st, 0);
		d->pid = -1;
	}
	if (d->dir != NULL)
		test_rmrf(d->dir);
	free(d->dir);
	free(d->userkey);
	free(d->otherkey);
	free(d->known_hosts);
	free(d->hostkey_pub);
	free(d->log);
	memset(d, 0, sizeof(*d));
	d->pid = -1;
}
