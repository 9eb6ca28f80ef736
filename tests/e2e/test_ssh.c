/*
 * The ssh executor end to end: build/pf-worker against OpenSSH's sshd on
 * loopback (tests/lib/test_sshd.c), started and stopped by each test on
 * a free port.  The worker gets the test's known_hosts through
 * PICOFLOW_SSH_KNOWN_HOSTS, so no file of the user's is touched.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "picoflow/err.h"
#include "picoflow/proto.h"
#include "picoflow/store.h"
#include "../lib/proc.h"
#include "../lib/test_sshd.h"
#include "../lib/worker_harness.h"

#include "exec_ssh.h"

#define T_RUN	30.0

#if defined(__SANITIZE_ADDRESS__)
#define WORKER_RSS_MAX_KIB	(128 * 1024)
#else
#define WORKER_RSS_MAX_KIB	(24 * 1024)
#endif

static struct test_sshd	 sshd;
static char		 kh_env[4200];

static void
setup(void)
{
	wh_binary("pf-worker-net");
	cr_assert_eq(getuid(), 0, "these tests run sshd and need root");
	cr_assert_eq(test_sshd_start(&sshd), 0, "sshd did not start");
	snprintf(kh_env, sizeof(kh_env), "PICOFLOW_SSH_KNOWN_HOSTS=%s",
	    sshd.known_hosts);
}

static void
teardown(void)
{
	test_sshd_stop(&sshd);
}

TestSuite(ssh, .init = setup, .fini = teardown, .timeout = 90);

static void
ssh_spec(struct proto_spec *s, const char *host, const char *command)
{
	wh_shell_spec(s, "/bin/true", NULL);
	s->command = NULL;
	s->executor = PROTO_EXEC_SSH;
	s->ssh.host = (char *)(uintptr_t)host;
	s->ssh.user = "root";
	s->ssh.command = (char *)(uintptr_t)command;
	s->ssh.key_path = sshd.userkey;
	s->ssh.port = sshd.port;
	s->ssh.verify_host_key = true;
}

/* Runs a SPEC with the test's known_hosts (or kh, when given). */
static void
run(struct wh *h, const struct proto_spec *s, const char *kh)
{
	char	 env[4200], *envp[] = { env, NULL };

	snprintf(env, sizeof(env), "%s=%s", SSH_KNOWN_HOSTS_ENV,
	    kh != NULL ? kh : sshd.known_hosts);
	cr_assert_eq(wh_start(h, envp), 0);
	cr_assert_eq(wh_send_spec(h, s), 0);
	cr_assert_eq(wh_collect(h, T_RUN), 0, "worker did not finish");
	cr_assert_eq(wh_reap(h, T_RUN), 0);
	cr_assert_eq(h->nbad, 0, "protocol violation: %s", h->bad);
	cr_assert_eq(h->nresult, 1, "exactly one RESULT (log: %s)",
	    h->log ? h->log : "");
	cr_assert(WIFEXITED(h->status) && WEXITSTATUS(h->status) == 0,
	    "worker exit status %d, log: %s", h->status, h->log);
}

/* Gone, or a zombie nobody reaped yet (its parent, sshd, may be gone). */
static int
dead(long pid)
{
	char	 path[64], *st, *p;
	int	 z;

	if (kill((pid_t)pid, 0) == -1)
		return 1;
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if ((st = test_read(path, NULL)) == NULL)
		return 1;
	p = strrchr(st, ')');
	z = p != NULL && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X');
	free(st);
	return z;
}

static int
wait_dead(long pid, double timeout_s)
{
	double	 end = wh_now() + timeout_s;

	while (!dead(pid) && wh_now() < end)
		usleep(10000);
	return dead(pid);
}

static void
assert_error_has(struct wh *h, const char *needle)
{
	cr_assert_not_null(h->result.error, "no error text");
	cr_assert(strstr(h->result.error, needle) != NULL,
	    "error text lacks '%s': %s", needle, h->result.error);
}

Test(ssh, success_with_both_streams)
{
	struct proto_spec	 s;
	struct wh		 h;

	ssh_spec(&s, "127.0.0.1", "echo out; echo err >&2; printf 'x%.0s' "
	    "$(seq 1 100000)");
	run(&h, &s, NULL);
	cr_assert_eq(h.result.status, PROTO_ST_OK, "%s", h.result.error);
	cr_assert_eq(h.result.exit_code, 0);
	cr_assert_eq(h.result.signal, 0);
	cr_assert_eq(h.nstarted, 1);
	cr_assert_eq(h.started.pid, 0);
	cr_assert_str_eq(wh_out(&h, 2), "err\n");
	cr_assert_eq(h.out[0].len, 4 + 100000);
	cr_assert_eq(memcmp(h.out[0].data, "out\nxxxx", 8), 0);
	cr_assert_eq(h.result.stdout_bytes, 100004);
	cr_assert_eq(h.result.stderr_bytes, 4);
	cr_assert_eq(h.result.dropped, 0);
	cr_assert_null(h.result.error);
	wh_free(&h);
}

Test(ssh, localhost_by_name)
{
	struct proto_spec	 s;
	struct wh		 h;

	ssh_spec(&s, "localhost", "echo $((6 * 7))");
	run(&h, &s, NULL);
	cr_assert_eq(h.result.status, PROTO_ST_OK, "%s", h.result.error);
	cr_assert_str_eq(wh_out(&h, 1), "42\n");
	wh_free(&h);
}

Test(ssh, remote_exit_code)
{
	struct proto_spec	 s;
	struct wh		 h;

	ssh_spec(&s, "127.0.0.1", "echo bye >&2; exit 3");
	run(&h, &s, NULL);
	cr_assert_eq(h.result.status, PROTO_ST_FAILED);
	cr_assert_eq(h.result.exit_code, 3);
	cr_assert_eq(h.result.signal, 0);
	cr_assert_str_eq(h.result.error,
	    "the remote command exited with status 3");
	cr_assert_str_eq(wh_out(&h, 2), "bye\n");
	wh_free(&h);
}

Test(ssh, remote_signal)
{
	struct proto_spec	 s;
	struct wh		 h;

	ssh_spec(&s, "127.0.0.1", "kill -SEGV $$");
	run(&h, &s, NULL);
	cr_assert_eq(h.result.status, PROTO_ST_SIGNALED, "%s",
	    h.result.error);
	cr_assert_eq(h.result.signal, SIGSEGV);
	cr_assert_eq(h.result.exit_code, -1);
	cr_assert_str_eq(h.result.error,
	    "the remote command died from SIGSEGV");
	wh_free(&h);
}

Test(ssh, unknown_host_key_rejected)
{
	struct proto_spec	 s;
	struct wh		 h;
	char			*kh, line[512];

	kh = test_sshd_file(&sshd, "kh_other", "[10.0.0.1]:22 ssh-ed25519 "
	    "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9"
	    "GKJl\n");
	ssh_spec(&s, "127.0.0.1", "echo must-not-run");
	run(&h, &s, kh);
	cr_assert_eq(h.result.status, PROTO_ST_EXEC_ERROR);
	snprintf(line, sizeof(line), "[127.0.0.1]:%d is not in %s",
	    sshd.port, kh);
	assert_error_has(&h, line);
	assert_error_has(&h, "ssh-ed25519 key fingerprint is SHA256:");
	/* The line to add is exactly the host's public key. */
	snprintf(line, sizeof(line), "add this line to %s: [127.0.0.1]:%d %s",
	    kh, sshd.port, sshd.hostkey_pub);
	assert_error_has(&h, line);
	cr_assert_str_eq(wh_out(&h, 1), "");
	wh_free(&h);
	free(kh);
}

Test(ssh, missing_known_hosts_file_is_unknown_host)
{
	struct proto_spec	 s;
	struct wh		 h;
	char			 kh[4200];

	snprintf(kh, sizeof(kh), "%s/no-such-known-hosts", sshd.dir);
	ssh_spec(&s, "127.0.0.1", "true");
	run(&h, &s, kh);
	cr_assert_eq(h.result.status, PROTO_ST_EXEC_ERROR);
	assert_error_has(&h, "unknown host key");
	wh_free(&h);
}

Test(ssh, changed_host_key_rejected)
{
	struct proto_spec	 s;
	struct wh		 h;
	char			*kh, text[512];

	/* The right names, a different key (another ed25519 key). */
	snprintf(text, sizeof(text), "[127.0.0.1]:%d ssh-ed25519 "
	    "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9"
	    "GKJl\n", sshd.port);
	kh = test_sshd_file(&sshd, "kh_changed", text);
	ssh_spec(&s, "127.0.0.1", "echo must-not-run");
	run(&h, &s, kh);
	cr_assert_eq(h.result.status, PROTO_ST_EXEC_ERROR);
	snprintf(text, sizeof(text), "HOST KEY CHANGED for [127.0.0.1]:%d",
	    sshd.port);
	assert_error_has(&h, text);
	assert_error_has(&h, "ssh-keygen -R");
	cr_assert_str_eq(wh_out(&h, 1), "");
	wh_free(&h);
	free(kh);
}

Test(ssh, hashed_known_hosts_entry_matches)
{
	struct proto_spec	 s;
	struct wh		 h;
	char			*argv[] = { "/usr/bin/ssh-keygen", "-q", "-H",
	    "-f", NULL, NULL };
	struct proc_result	 r;
	char			*kh, *text;

	cr_assert_neq(asprintf(&text, "[127.0.0.1]:%d %s\n", sshd.port,
	    sshd.hostkey_pub), -1);
	kh = test_sshd_file(&sshd, "kh_hashed", text);
	argv[4] = kh;
	cr_assert_eq(proc_run(argv, NULL, 30, &r), 0);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	proc_result_free(&r);
	free(text);
	text = test_read(kh, NULL);
	cr_assert(strncmp(text, "|1|", 3) == 0, "not hashed: %s", text);
	ssh_spec(&s, "127.0.0.1", "echo hashed");
	run(&h, &s, kh);
	cr_assert_eq(h.result.status, PROTO_ST_OK, "%s", h.result.error);
	cr_assert_str_eq(wh_out(&h, 1), "hashed\n");
	wh_free(&h);
	free(text);
	free(kh);
}

Test(ssh, verify_host_key_false_warns)
{
	struct proto_spec	 s;
	struct wh		 h;
	char			 kh[4200], want[256];

	snprintf(kh, sizeof(kh), "%s/no-such-known-hosts", sshd.dir);
	ssh_spec(&s, "127.0.0.1", "echo ran");
	s.ssh.verify_host_key = false;
	run(&h, &s, kh);
	cr_assert_eq(h.result.status, PROTO_ST_OK, "%s", h.result.error);
	cr_assert_str_eq(wh_out(&h, 1), "ran\n");
	snprintf(want, sizeof(want), "picoflow: warning: the host key of "
	    "[127.0.0.1]:%d was not verified (verify_host_key: false); it is "
	    "ssh-ed25519 SHA256:", sshd.port);
	cr_assert(strncmp(wh_out(&h, 2), want, strlen(want)) == 0,
	    "stderr: %s", wh_out(&h, 2));
	wh_free(&h);
}

Test(ssh, wrong_key_rejected)
{
	struct proto_spec	 s;
	struct wh		 h;
	char			 want[4400];

	ssh_spec(&s, "127.0.0.1", "echo must-not-run");
	s.ssh.key_path = sshd.otherkey;
	run(&h, &s, NULL);
	cr_assert_eq(h.result.status, PROTO_ST_EXEC_ERROR);
	snprintf(want, sizeof(want), "authentication failed: [127.0.0.1]:%d "
	    "rejected the key %s (ssh-ed25519) for user root", sshd.port,
	    sshd.otherkey);
	assert_error_has(&h, want);
	wh_free(&h);
}

Test(ssh, missing_key_file)
{
	struct proto_spec	 s;
	struct wh		 h;
	char			 key[4200], want[4400];

	snprintf(key, sizeof(key), "%s/no-such-key", sshd.dir);
	ssh_spec(&s, "127.0.0.1", "true");
	s.ssh.key_path = key;
	run(&h, &s, NULL);
	cr_assert_eq(h.result.status, PROTO_ST_EXEC_ERROR);
	snprintf(want, sizeof(want), "cannot read the ssh key %s: No such "
	    "file or directory", key);
	cr_assert_str_eq(h.result.error, want);
	cr_assert_eq(h.nstarted, 0, "nothing started without a key");
	wh_free(&h);
}

Test(ssh, ipv6_loopback)
{
	struct proto_spec	 s;
	struct wh		 h;

	if (!sshd.ipv6)
		cr_skip_test("sshd could not listen on ::1 (no IPv6 here)");
	ssh_spec(&s, "::1", "echo v6");
	run(&h, &s, NULL);
	cr_assert_eq(h.result.status, PROTO_ST_OK, "%s", h.result.error);
	cr_assert_str_eq(wh_out(&h, 1), "v6\n");
	wh_free(&h);
}

Test(ssh, closed_port_is_a_connect_error)
{
	struct proto_spec	 s;
	struct wh		 h;
	int			 port = sshd.port;
	char			 want[256];

	/* Stop sshd: nothing listens on its port any more. */
	kill(sshd.pid, SIGTERM);
	waitpid(sshd.pid, NULL, 0);
	sshd.pid = -1;
	ssh_spec(&s, "127.0.0.1", "true");
	run(&h, &s, NULL);
	cr_assert_eq(h.result.status, PROTO_ST_EXEC_ERROR);
	snprintf(want, sizeof(want), "cannot connect to [127.0.0.1]:%d "
	    "(address 127.0.0.1): Connection refused", port);
	cr_assert_str_eq(h.result.error, want);
	wh_free(&h);
}

/* A stop request during a long remote command: TERM reaches it. */
Test(ssh, stop_signal_terminates_remote_command)
{
	struct proto_spec	 s;
	struct wh		 h;
	char			 env[4200], *envp[] = { env, NULL };
	char			 pidf[4200], cmd[4400], *p;
	double			 t0;
	long			 rpid;

	snprintf(pidf, sizeof(pidf), "%s/remote.pid", sshd.dir);
	snprintf(cmd, sizeof(cmd), "echo $$ > %s; echo started; exec sleep "
	    "100", pidf);
	ssh_spec(&s, "127.0.0.1", cmd);
	s.kill_grace_ms = 20000;
	snprintf(env, sizeof(env), "%s=%s", SSH_KNOWN_HOSTS_ENV,
	    sshd.known_hosts);
	cr_assert_eq(wh_start(&h, envp), 0);
	cr_assert_eq(wh_send_spec(&h, &s), 0);
	cr_assert_eq(wh_wait_output(&h, 1, "started\n", T_RUN), 0);
	p = test_read(pidf, NULL);
	cr_assert_not_null(p);
	rpid = strtol(p, NULL, 10);
	free(p);
	cr_assert_gt(rpid, 1);
	t0 = wh_now();
	kill(h.pid, SIGTERM);
	cr_assert_eq(wh_collect(&h, T_RUN), 0);
	cr_assert_eq(wh_reap(&h, T_RUN), 0);
	/* Well within the grace period: sleep dies from TERM at once. */
	cr_assert_lt(wh_now() - t0, 15.0);
	cr_assert_eq(h.result.status, PROTO_ST_KILLED);
	cr_assert_eq(h.result.signal, SIGTERM, "%s; log: %s", h.result.error,
	    h.log);
	cr_assert_str_eq(h.result.error, "stopped on request (SIGTERM to "
	    "the worker): the remote command died from SIGTERM");
	cr_assert(WIFEXITED(h.status) && WEXITSTATUS(h.status) == 0);
	/* The remote process is gone. */
	cr_assert(wait_dead(rpid, 10), "remote sleep still runs; log: %s",
	    h.log);
	wh_free(&h);
}

/* A remote command that ignores TERM: KILL after the grace period. */
Test(ssh, stop_after_grace_kills_and_closes)
{
	struct proto_spec	 s;
	struct wh		 h;
	char			 env[4200], *envp[] = { env, NULL };
	char			 pidf[4200], cmd[4400], *p;
	double			 t0;
	long			 rpid;

	snprintf(pidf, sizeof(pidf), "%s/remote.pid", sshd.dir);
	snprintf(cmd, sizeof(cmd), "trap '' TERM; echo $$ > %s; echo started; "
	    "while :; do sleep 0.1; done", pidf);
	ssh_spec(&s, "127.0.0.1", cmd);
	s.kill_grace_ms = 500;
	snprintf(env, sizeof(env), "%s=%s", SSH_KNOWN_HOSTS_ENV,
	    sshd.known_hosts);
	cr_assert_eq(wh_start(&h, envp), 0);
	cr_assert_eq(wh_send_spec(&h, &s), 0);
	cr_assert_eq(wh_wait_output(&h, 1, "started\n", T_RUN), 0);
	p = test_read(pidf, NULL);
	cr_assert_not_null(p);
	rpid = strtol(p, NULL, 10);
	free(p);
	t0 = wh_now();
	kill(h.pid, SIGTERM);
	cr_assert_eq(wh_collect(&h, T_RUN), 0);
	cr_assert_eq(wh_reap(&h, T_RUN), 0);
	cr_assert_geq(wh_now() - t0, 0.45, "grace period not honoured");
	cr_assert_lt(wh_now() - t0, 10.0);
	cr_assert_eq(h.result.status, PROTO_ST_KILLED, "%s", h.result.error);
	assert_error_has(&h, "stopped on request (SIGTERM to the worker): "
	    "the remote command");
	if (!wait_dead(rpid, 10))
		kill((pid_t)rpid, SIGKILL);	/* never leave it running */
	cr_assert(wait_dead(rpid, 1), "remote command still runs; log: %s",
	    h.log);
	wh_free(&h);
}

Test(ssh, output_cap_counts_dropped_bytes)
{
	struct proto_spec	 s;
	struct wh		 h;

	ssh_spec(&s, "127.0.0.1", "head -c 20971520 /dev/zero; echo e >&2");
	s.output_cap = 1000000;
	run(&h, &s, NULL);
	cr_assert_eq(h.result.status, PROTO_ST_OK, "%s", h.result.error);
	cr_assert_eq(h.result.stdout_bytes + h.result.stderr_bytes, 1000000);
	cr_assert_eq(h.result.dropped, 20971520 + 2 - 1000000);
	cr_assert(h.result.truncated);
	cr_assert_eq(h.out[0].len + h.out[1].len, 1000000);
	cr_log_info("worker peak RSS %llu KiB for 20 MiB of remote output",
	    (unsigned long long)h.result.worker_rss_kib);
	/* Bounded: nothing beyond the cap is kept (ASan costs more). */
	if (!wh_under_valgrind())
		cr_assert_lt(h.result.worker_rss_kib, WORKER_RSS_MAX_KIB);
	wh_free(&h);
}

Test(ssh, supervisor_gone_kills_and_drops_the_connection)
{
	struct proto_spec	 s;
	struct wh		 h;
	char			 env[4200], *envp[] = { env, NULL };
	char			 pidf[4200], cmd[4400], *p;
	long			 rpid;

	snprintf(pidf, sizeof(pidf), "%s/remote.pid", sshd.dir);
	snprintf(cmd, sizeof(cmd), "echo $$ > %s; echo started; exec sleep "
	    "100", pidf);
	ssh_spec(&s, "127.0.0.1", cmd);
	snprintf(env, sizeof(env), "%s=%s", SSH_KNOWN_HOSTS_ENV,
	    sshd.known_hosts);
	cr_assert_eq(wh_start(&h, envp), 0);
	cr_assert_eq(wh_send_spec(&h, &s), 0);
	cr_assert_eq(wh_wait_output(&h, 1, "started\n", T_RUN), 0);
	p = test_read(pidf, NULL);
	cr_assert_not_null(p);
	rpid = strtol(p, NULL, 10);
	free(p);
	cr_assert_gt(rpid, 1);
	wh_close(&h);
	cr_assert_eq(wh_reap(&h, T_RUN), 0);
	cr_assert(WIFEXITED(h.status) && WEXITSTATUS(h.status) == 1,
	    "status %d log %s", h.status, h.log);
	if (!wait_dead(rpid, 10))
		kill((pid_t)rpid, SIGKILL);	/* never leave it running */
	cr_assert(wait_dead(rpid, 1), "remote sleep still runs; log: %s",
	    h.log);
	wh_free(&h);
}

Test(ssh, expand_path)
{
	struct pf_err	 err;
	char		 out[64];

	cr_assert_eq(ssh_expand_path("~/.ssh/id", "/home/u", out,
	    sizeof(out), &err), 0);
	cr_assert_str_eq(out, "/home/u/.ssh/id");
	cr_assert_eq(ssh_expand_path("~", "/home/u", out, sizeof(out), &err),
	    0);
	cr_assert_str_eq(out, "/home/u");
	cr_assert_eq(ssh_expand_path("/k~", "/home/u", out, sizeof(out),
	    &err), 0);
	cr_assert_str_eq(out, "/k~");
	cr_assert_eq(ssh_expand_path("~root/k", "/x", out, sizeof(out),
	    &err), 0);
	cr_assert_str_eq(out, "/root/k");
	cr_assert_eq(ssh_expand_path("~nosuchuser-pf/k", "/x", out,
	    sizeof(out), &err), -1);
	cr_assert_str_eq(err.msg, "cannot expand ~nosuchuser-pf/k: no user "
	    "'nosuchuser-pf'");
	cr_assert_eq(ssh_expand_path("~/k", NULL, out, sizeof(out), &err),
	    -1);
	/* Exactly fitting and one byte too long. */
	cr_assert_eq(ssh_expand_path("~/ab", "/h", out, 6, &err), 0);
	cr_assert_str_eq(out, "/h/ab");
	cr_assert_eq(ssh_expand_path("~/abc", "/h", out, 6, &err), -1);
	cr_assert_str_eq(err.msg, "path too long: ~/abc");
}

/* ---- through `picoflow run` ---------------------------------------------- */

/* The attempts of the one run in db. */
static struct store_attempt *
run_attempts(const char *db, size_t *n)
{
	struct pf_store		*st;
	struct store_run	*runs;
	struct store_attempt	*a;
	struct pf_err		 err;
	size_t			 nruns;

	cr_assert_eq(store_open(db, STORE_RO, &st, &err), 0, "%s", err.msg);
	cr_assert_eq(store_runs_list(st, NULL, NULL, 0, &runs, &nruns, &err),
	    0, "%s", err.msg);
	cr_assert_eq(nruns, 1);
	cr_assert_eq(store_attempts_list(st, runs[0].id, NULL, 1, &a, n,
	    &err), 0, "%s", err.msg);
	store_runs_free(runs, nruns);
	store_close(st);
	return a;
}

static const struct store_attempt *
find_attempt(const struct store_attempt *a, size_t n, const char *task)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (strcmp(a[i].task_name, task) == 0 && a[i].attempt == 1)
			return &a[i];
	cr_assert_fail("no attempt of task '%s'", task);
	return NULL;
}

Test(ssh, picoflow_run_records_output_status_and_timeout)
{
	struct proc_result	 r;
	struct store_attempt	*a;
	const struct store_attempt *t;
	char			*text, *wf, db[4200];
	char			*argv[] = { NULL, "--db-path", db, "run", NULL,
	    NULL };
	size_t			 n;

	snprintf(db, sizeof(db), "%s/state.db", sshd.dir);
	cr_assert_neq(asprintf(&text,
	    "name: remote\n"
	    "tasks:\n"
	    "  - name: hello\n"
	    "    type: ssh\n"
	    "    retry: 0\n"
	    "    config: {host: 127.0.0.1, port: %1$d, user: root,\n"
	    "             key_path: %2$s, verify_host_key: false,\n"
	    "             command: 'echo hello; echo oops >&2; exit 4'}\n"
	    "  - name: slow\n"
	    "    type: ssh\n"
	    "    retry: 0\n"
	    "    timeout: 1\n"
	    "    config: {host: localhost, port: %1$d, user: root,\n"
	    "             key_path: %2$s, verify_host_key: false,\n"
	    "             command: 'sleep 100'}\n",
	    sshd.port, sshd.userkey), -1);
	wf = test_sshd_file(&sshd, "wf.yaml", text);
	free(text);
	argv[0] = strdup(test_bin("picoflow"));
	argv[4] = wf;
	cr_assert_eq(proc_run(argv, NULL, 60, &r), 0);
	cr_assert(!r.timed_out);
	cr_assert_eq(r.exit_code, 1, "%s\n%s", r.out, r.err);
	cr_assert_lt(r.seconds, 20.0);
	a = run_attempts(db, &n);
	t = find_attempt(a, n, "hello");
	cr_assert_str_eq(t->status, "failed");
	cr_assert_eq(t->exit_code, 4);
	cr_assert_eq(t->stdout_len, 6);
	cr_assert_eq(memcmp(t->stdout_data, "hello\n", 6), 0);
	cr_assert(t->stderr_len > 5 && memcmp(t->stderr_data + t->stderr_len -
	    5, "oops\n", 5) == 0);
	cr_assert(memmem(t->stderr_data, t->stderr_len, "was not verified",
	    16) != NULL, "the warning is in the task's stderr");
	t = find_attempt(a, n, "slow");
	cr_assert_str_eq(t->status, "timeout");
	store_attempts_free(a, n);
	proc_result_free(&r);
	free(argv[0]);
	free(wf);
}
