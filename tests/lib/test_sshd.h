/*
 * OpenSSH's sshd on loopback for tests: a scratch directory with its own
 * host key, a user key pair, authorized_keys and a known_hosts file,
 * sshd listening on 127.0.0.1 (and ::1 when the host has IPv6) on a free
 * port chosen at run time.  Started with -D -e and stopped by its pid.
 * Needs root (sshd runs the command as the test's own user) and
 * /run/sshd, which test_sshd_start() creates.
 */
#ifndef PICOFLOW_TEST_SSHD_H
#define PICOFLOW_TEST_SSHD_H

#include <sys/types.h>

struct test_sshd {
	pid_t	 pid;
	int	 port;
	int	 ipv6;		/* ::1 accepts connections too */
	char	*dir;		/* scratch directory, removed by stop */
	char	*userkey;	/* dir/userkey (OpenSSH private key) */
	char	*otherkey;	/* dir/otherkey: a key sshd does not accept */
	char	*known_hosts;	/* dir/known_hosts: right key, all names */
	char	*hostkey_pub;	/* "ssh-ed25519 AAAA..." */
	char	*log;		/* dir/sshd.log */
};

/* 0 when sshd accepts connections; otherwise -1 and why on stderr. */
int	 test_sshd_start(struct test_sshd *);
/* Kills sshd by pid, waits for it, removes the directory. */
void	 test_sshd_stop(struct test_sshd *);
/* A file in the scratch directory with the given text; malloc'd path. */
char	*test_sshd_file(struct test_sshd *, const char *name,
	    const char *text);

#endif
