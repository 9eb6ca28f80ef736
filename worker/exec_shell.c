/*
 * The shell executor.  The command is spawned the vfork way
 * (posix_spawn: glibc uses CLONE_VM|CLONE_VFORK; fork() costs ~1.5 ms
 * more per task on small hosts), never through a shell, in a session
 * (and so a process group) of its own, with exactly the SPEC's
 * environment, stdin from /dev/null, stdout and stderr on two pipes and
 * no other descriptor.  glibc's posix_spawn reports a failed exec as its
 * return value, which keeps "could not execute" apart from "exited 127".
 *
 * One poll loop then watches the two pipes, the supervisor socket (EOF
 * means the supervisor is gone) and the signalfd (SIGCHLD, and SIGTERM
 * from the supervisor to stop the task).  This file is the only reaper.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "picoflow/alloc.h"
#include "picoflow/clock.h"
#include "picoflow/log.h"
#include "picoflow/proto.h"
#include "exec_shell.h"
#include "nsinit.h"
#include "proctree.h"
#include "sandbox.h"
#include "worker.h"

/* How long processes may survive SIGKILL before the worker gives up. */
#define SHELL_REAP_MAX_MS	5000
/* Poll step while waiting for killed processes to disappear. */
#define SHELL_REAP_STEP_MS	20

struct shell {
	struct worker		*w;
	const struct proto_spec	*spec;
	struct proto_result	*res;
	pid_t			 pid;
	int			 fd[2];		/* stdout, stderr; -1 closed */
	uint8_t			*chunk;		/* one OUTPUT payload */
	uint64_t		 captured;	/* stdout + stderr */
	int			 reaped;
	int			 wstatus;
	int64_t			 t_start;
	int64_t			 t_end;
	int64_t			 drain_at;	/* -1: not draining */
	int64_t			 kill_at;	/* -1: no SIGKILL scheduled */
	int			 stop_sig;	/* stop request while running */
	int			 hard;		/* SIGKILL was sent */
	int			 internal;	/* the worker failed */
	/* In namespaces (nsinit.h): pid is the task's init. */
	int			 ns;
	int			 stfd;		/* the init's reports; -1 */
	int			 init_reaped;
	int			 init_lost;	/* it ended without a report */
};

static const char *
sig_name(int sig)
{
	const char	*s = sigabbrev_np(sig);

	return s != NULL ? s : "?";
}

/*
 * The exec of the command failed with e; detail says what was found at
 * its path when e is EACCES (enum nsinit_eacces).
 */
static void
shell_exec_failed(struct shell *sh, int e, int detail)
{
	struct proto_result	*res = sh->res;
	const char		*cmd = sh->spec->command;

	switch (e) {
	case ENOENT:
		worker_result_error(res, PROTO_ST_EXEC_ERROR,
		    "command not found: %s", cmd);
		break;
	case ENOTDIR:
		worker_result_error(res, PROTO_ST_EXEC_ERROR,
		    "command not found: %s (a path component is not a "
		    "directory)", cmd);
		break;
	case EACCES:
		if (detail == NSINIT_EACCES_DIR)
			worker_result_error(res, PROTO_ST_EXEC_ERROR,
			    "permission denied: %s (a directory)", cmd);
		else if (detail == NSINIT_EACCES_NOEXEC)
			worker_result_error(res, PROTO_ST_EXEC_ERROR,
			    "permission denied: %s (not executable)", cmd);
		else
			worker_result_error(res, PROTO_ST_EXEC_ERROR,
			    "permission denied: %s", cmd);
		break;
	case ENOEXEC:
		worker_result_error(res, PROTO_ST_EXEC_ERROR,
		    "not an executable format: %s (a script needs a #! line)",
		    cmd);
		break;
	case E2BIG:
		worker_result_error(res, PROTO_ST_EXEC_ERROR,
		    "argument list too long for %s", cmd);
		break;
	case EISDIR:
	case ELIBBAD:
	case ELOOP:
	case ENAMETOOLONG:
	case EPERM:
	case ETXTBSY:
		worker_result_error(res, PROTO_ST_EXEC_ERROR,
		    "cannot execute %s: %s", cmd, strerror(e));
		break;
	default:
		/* EAGAIN, ENOMEM, EMFILE...: resources, maybe temporary. */
		worker_result_error(res, PROTO_ST_SPAWN_ERROR,
		    "cannot start %s: %s", cmd, strerror(e));
		break;
	}
}

/*
 * posix_spawn failed with e.  The file actions (chdir) run before the
 * exec, so a workdir that cannot be entered is checked first; the rest
 * is told apart by errno, and EACCES by looking at the file.
 */
static void
shell_spawn_failed(struct shell *sh, int e)
{
	const char		*cmd = sh->spec->command;
	const char		*wd = sh->spec->workdir;
	struct stat		 st;
	int			 we = 0, detail = NSINIT_EACCES_OTHER;

	if (wd != NULL) {
		if (stat(wd, &st) == -1)
			we = errno;
		else if (!S_ISDIR(st.st_mode))
			we = ENOTDIR;
		else if (access(wd, X_OK) == -1)
			we = errno;
		if (we != 0) {
			worker_result_error(sh->res, PROTO_ST_SPAWN_ERROR,
			    "cannot change to workdir %s: %s", wd,
			    strerror(we));
			return;
		}
	}
	if (e == EACCES && stat(cmd, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			detail = NSINIT_EACCES_DIR;
		else if (S_ISREG(st.st_mode) && access(cmd, X_OK) == -1)
			detail = NSINIT_EACCES_NOEXEC;
	}
	shell_exec_failed(sh, e, detail);
}

/* What the init reported instead of STARTED. */
static void
shell_ns_failed(struct shell *sh, const struct nsinit_msg *m)
{
	struct proto_result	*res = sh->res;

	if (m->kind == NSINIT_SETUP_FAILED) {
		worker_result_error(res, PROTO_ST_SPAWN_ERROR, "sandbox: %s",
		    m->text);
		return;
	}
	switch (m->step) {
	case NSINIT_STEP_CHDIR:
		worker_result_error(res, PROTO_ST_SPAWN_ERROR,
		    "cannot change to workdir %s: %s", sh->spec->workdir,
		    strerror(m->err));
		break;
	case NSINIT_STEP_IDS:
		worker_result_error(res, PROTO_ST_SPAWN_ERROR,
		    "sandbox: run_as '%s': %s", sh->spec->run_as ?
		    sh->spec->run_as : "", strerror(m->err));
		break;
	case NSINIT_STEP_EXEC:
		shell_exec_failed(sh, m->err, m->detail);
		break;
	default:
		worker_result_error(res, PROTO_ST_SPAWN_ERROR,
		    "cannot start %s: %s", sh->spec->command,
		    strerror(m->err));
		break;
	}
}

/* argv: the command, then the SPEC's args. */
static char **
shell_argv(const struct proto_spec *spec)
{
	char	**argv;
	size_t	 i;

	if ((argv = pf_reallocarray(NULL, spec->nargs + 2, sizeof(*argv))) ==
	    NULL)
		return NULL;
	argv[0] = spec->command;
	for (i = 0; i < spec->nargs; i++)
		argv[i + 1] = spec->args[i];
	argv[spec->nargs + 1] = NULL;
	return argv;
}

/*
 * envp: exactly the SPEC's entries, plus a minimal PATH, HOME (the home
 * of the user the task runs as) and LANG=C.UTF-8 for those it lacks.
 * home_var is the caller's buffer for "HOME=...".  The defaults are
 * writable arrays because execve's envp is char *const[].
 */
static char	 default_path[] = PROTO_DEFAULT_PATH;
static char	 default_lang[] = PROTO_DEFAULT_LANG;

static char **
shell_envp(const struct proto_spec *spec, const char *home, char *home_var,
    size_t home_len)
{
	/* execve's envp is char *const[]: writable copies, not literals. */
	char		**envp;
	size_t		 i, n = 0;
	int		 have_path = 0, have_home = 0, have_lang = 0;

	if ((envp = pf_reallocarray(NULL, spec->nenv + 4, sizeof(*envp))) ==
	    NULL)
		return NULL;
	for (i = 0; i < spec->nenv; i++) {
		if (strncmp(spec->env[i], "PATH=", 5) == 0)
			have_path = 1;
		else if (strncmp(spec->env[i], "HOME=", 5) == 0)
			have_home = 1;
		else if (strncmp(spec->env[i], "LANG=", 5) == 0)
			have_lang = 1;
		envp[n++] = spec->env[i];
	}
	if (!have_path)
		envp[n++] = default_path;
	if (!have_home) {
		(void)snprintf(home_var, home_len, "HOME=%s",
		    home[0] == '/' ? home : "/");
		envp[n++] = home_var;
	}
	if (!have_lang)
		envp[n++] = default_lang;
	envp[n] = NULL;
	return envp;
}

/*
 * The worker's own narrowing once the init runs: it needs none of what
 * the task's seccomp refuses, and never gains privileges again.  Defense
 * in depth (the task cannot reach the worker), so a failure is logged.
 */
static void
shell_harden_worker(const struct sandbox_bpf *bpf)
{
	struct pf_err	 err;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		log_warn("no_new_privs for the worker");
	else if (sandbox_seccomp_install(bpf, &err) == -1)
		log_warnx("seccomp for the worker: %s", err.msg);
}

/*
 * The task in its own namespaces (nsinit.h): forks the init, waits for
 * its first report.  0 when the command runs (sh->pid is the init),
 * -1 with the RESULT's error set, the init reaped.
 */
static int
shell_spawn_ns(struct shell *sh, char **argv, char **envp, int out_w,
    int err_w, int out_r, int err_r)
{
	struct nsinit_task	 t;
	struct nsinit_msg	 m;
	struct sandbox_ids	 ids;
	struct sandbox_bpf	 bpf;
	struct pollfd		 p;
	struct pf_err		 e;
	int			 cl[8], r;
	size_t			 ncl;
	pid_t			 pid;

	if (sandbox_ids_resolve(sh->spec->run_as, sh->spec, &ids, &e) ==
	    -1) {
		worker_result_error(sh->res, PROTO_ST_SPAWN_ERROR,
		    "sandbox: %s", e.msg);
		return -1;
	}
	/* One program for the init and, once it runs, the worker too. */
	if (sandbox_seccomp_compile(sandbox_no_unix(sh->spec), &bpf, &e) ==
	    -1) {
		sandbox_ids_free(&ids);
		worker_result_error(sh->res, PROTO_ST_SPAWN_ERROR,
		    "sandbox: %s", e.msg);
		return -1;
	}
	ncl = worker_own_fds(sh->w, cl, sizeof(cl) / sizeof(cl[0]) - 2);
	cl[ncl++] = out_r;
	cl[ncl++] = err_r;
	memset(&t, 0, sizeof(t));
	t.spec = sh->spec;
	t.argv = argv;
	t.envp = envp;
	t.ids = &ids;
	t.seccomp = &bpf;
	t.contained = sandbox_contained();
	t.out = out_w;
	t.err = err_w;
	t.close_fds = cl;
	t.nclose = ncl;
	sh->t_start = clock_mono_ms();
	pid = nsinit_start(&t, &sh->stfd, &e);
	sandbox_ids_free(&ids);
	if (pid == -1) {
		sandbox_bpf_free(&bpf);
		worker_result_error(sh->res, PROTO_ST_SPAWN_ERROR,
		    "sandbox: %s", e.msg);
		return -1;
	}
	/* Its set-up takes a few milliseconds: wait for the verdict. */
	p.fd = sh->stfd;
	p.events = POLLIN;
	while ((r = nsinit_read(sh->stfd, &m)) == 0)
		if (poll(&p, 1, -1) == -1 && errno != EINTR)
			break;
	if (r == 1 && m.kind == NSINIT_STARTED) {
		sh->pid = pid;
		shell_harden_worker(&bpf);
		sandbox_bpf_free(&bpf);
		return 0;
	}
	sandbox_bpf_free(&bpf);
	if (r == 1)
		shell_ns_failed(sh, &m);
	else
		worker_result_error(sh->res, PROTO_ST_SPAWN_ERROR, "sandbox: "
		    "the task's init ended before the task started");
	(void)kill(pid, SIGKILL);
	(void)waitpid(pid, NULL, 0);
	close(sh->stfd);
	sh->stfd = -1;
	return -1;
}

static int
shell_spawn(struct shell *sh)
{
	const struct proto_spec	*spec = sh->spec;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t	 attr;
	sigset_t		 none, all;
	char			**argv, **envp;
	char			 home_var[sizeof(sh->w->home) + 5];
	int			 out[2] = { -1, -1 }, err[2] = { -1, -1 };
	int			 rc, i;

	argv = shell_argv(spec);
	envp = shell_envp(spec, sh->w->home, home_var, sizeof(home_var));
	if (argv == NULL || envp == NULL) {
		pf_free(argv);
		pf_free(envp);
		sh->internal = 1;
		worker_result_error(sh->res, PROTO_ST_INTERNAL_ERROR,
		    "out of memory");
		return -1;
	}
	if (pipe2(out, O_CLOEXEC) == -1 || pipe2(err, O_CLOEXEC) == -1) {
		rc = errno;
		worker_result_error(sh->res, PROTO_ST_SPAWN_ERROR,
		    "cannot create the output pipes: %s", strerror(rc));
		goto close;
	}
	if (sh->ns) {
		if (shell_spawn_ns(sh, argv, envp, out[1], err[1],
		    out[0], err[0]) == -1)
			goto close;
		goto started;
	}
	sigemptyset(&none);
	sigfillset(&all);
	if ((rc = posix_spawn_file_actions_init(&fa)) != 0)
		goto fail;
	if ((rc = posix_spawnattr_init(&attr)) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		goto fail;
	}
	/*
	 * dup2() clears close-on-exec on 1 and 2; closefrom(3) drops the
	 * pipe originals, the supervisor socket and anything inherited.
	 * A session of its own is a process group of its own, and no
	 * controlling terminal.  Every signal back to default and
	 * unblocked: ignored signals and our blocked mask are inherited
	 * through exec otherwise.
	 */
	if ((rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null",
	    O_RDONLY, 0)) == 0 &&
	    (rc = posix_spawn_file_actions_adddup2(&fa, out[1], 1)) == 0 &&
	    (rc = posix_spawn_file_actions_adddup2(&fa, err[1], 2)) == 0 &&
	    (spec->workdir == NULL ||
	    (rc = posix_spawn_file_actions_addchdir_np(&fa,
	    spec->workdir)) == 0) &&
	    (rc = posix_spawn_file_actions_addclosefrom_np(&fa, 3)) == 0 &&
	    (rc = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID |
	    POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)) == 0 &&
	    (rc = posix_spawnattr_setsigmask(&attr, &none)) == 0 &&
	    (rc = posix_spawnattr_setsigdefault(&attr, &all)) == 0) {
		sh->t_start = clock_mono_ms();
		rc = posix_spawn(&sh->pid, spec->command, &fa, &attr, argv,
		    envp);
	}
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (rc != 0) {
		shell_spawn_failed(sh, rc);
		goto close;
	}
started:
	close(out[1]);
	close(err[1]);
	sh->fd[0] = out[0];
	sh->fd[1] = err[0];
	for (i = 0; i < 2; i++)
		(void)fcntl(sh->fd[i], F_SETFL, O_NONBLOCK);
	pf_free(argv);
	pf_free(envp);
	return 0;
fail:
	worker_result_error(sh->res, PROTO_ST_SPAWN_ERROR,
	    "cannot prepare the spawn: %s", strerror(rc));
close:
	for (i = 0; i < 2; i++) {
		if (out[i] != -1)
			close(out[i]);
		if (err[i] != -1)
			close(err[i]);
	}
	pf_free(argv);
	pf_free(envp);
	return -1;
}

/*
 * Reaps every exited child (the task, and descendants re-parented to the
 * subreaper).  Returns 1 while children remain, 0 when there are none.
 */
static void
shell_task_ended(struct shell *sh, int wstatus)
{
	sh->reaped = 1;
	sh->wstatus = wstatus;
	sh->t_end = clock_mono_ms();
	/* Output may still be in the pipes, or held by a grandchild. */
	sh->drain_at = sh->t_end + sh->spec->drain_ms;
}

/* Reads what the init reported; the command's end among it. */
static void
shell_read_reports(struct shell *sh)
{
	struct nsinit_msg	 m;
	int			 r;

	while (sh->stfd != -1 && (r = nsinit_read(sh->stfd, &m)) != 0) {
		if (r == -1) {
			close(sh->stfd);
			sh->stfd = -1;
		} else if (m.kind == NSINIT_EXITED && !sh->reaped)
			shell_task_ended(sh, m.wstatus);
	}
}

/* The init was reaped: the command ended with it, if it had not. */
static void
shell_init_reaped(struct shell *sh, int st)
{
	sh->init_reaped = 1;
	shell_read_reports(sh);
	if (sh->reaped)
		return;
	/* Killed (by us, or the OOM killer): the namespace died with it. */
	if (!WIFSIGNALED(st))
		sh->init_lost = 1;
	shell_task_ended(sh, st);
}

static int
shell_reap(struct shell *sh)
{
	pid_t	 p;
	int	 st;

	for (;;) {
		p = waitpid(-1, &st, WNOHANG);
		if (p == 0)
			return 1;
		if (p == -1)
			return errno == EINTR ? 1 : 0;	/* ECHILD */
		if (sh->ns) {
			if (p == sh->pid && !sh->init_reaped)
				shell_init_reaped(sh, st);
			continue;
		}
		if (p != sh->pid || sh->reaped)
			continue;
		shell_task_ended(sh, st);
	}
}

/*
 * The task's process group, while it is safe to signal: until the task
 * is reaped its pid (and so the group id) cannot be reused.  After that
 * every member is still found as a descendant.
 */
static pid_t
shell_pgid(const struct shell *sh)
{
	return sh->reaped ? 0 : sh->pid;
}

/*
 * Signals every process of the task: in namespaces through the init
 * (SIGTERM is forwarded to the whole namespace, SIGKILL of the init
 * kills it), else the group and every descendant.  -1 when /proc
 * could not be listed, else the count signalled.
 */
static long
shell_signal(struct shell *sh, int sig)
{
	if (!sh->ns)
		return proctree_signal(shell_pgid(sh), sig);
	if (sh->init_reaped || sig == SIGCONT)
		return 0;
	/* Unreaped, its pid cannot have been reused. */
	return kill(sh->pid, sig) == 0 ? 1 : 0;
}

static void
shell_kill_hard(struct shell *sh)
{
	sh->hard = 1;
	sh->kill_at = -1;
	if (shell_signal(sh, SIGKILL) == -1)
		log_warn("listing the task's processes");
}

/* The supervisor asked to stop (timeout or cancel): TERM, grace, KILL. */
static void
shell_stop(struct shell *sh, int sig)
{
	int64_t	 now = clock_mono_ms();

	if (sh->reaped) {
		/* Finished on its own already: stop draining and report. */
		sh->drain_at = now;
		return;
	}
	if (sh->stop_sig != 0) {
		/* Asked again: no more grace. */
		if (!sh->hard)
			sh->kill_at = now;
		return;
	}
	sh->stop_sig = sig;
	log_info("SIG%s: stopping the task, %u ms grace", sig_name(sig),
	    sh->spec->kill_grace_ms);
	if (shell_signal(sh, SIGTERM) == -1)
		log_warn("listing the task's processes");
	/* A stopped process would not act on SIGTERM until continued. */
	(void)shell_signal(sh, SIGCONT);
	sh->kill_at = now + sh->spec->kill_grace_ms;
}

/*
 * Called while the supervisor is not reading (worker_send waits): the
 * stop and the grace period run on time, and an exit is reaped.
 */
static void
shell_send_wait(void *arg, int sig)
{
	struct shell	*sh = arg;

	if (sig != 0)
		shell_stop(sh, sig);
	if (sh->kill_at >= 0 && clock_mono_ms() >= sh->kill_at)
		shell_kill_hard(sh);
	(void)shell_reap(sh);
}

static void
shell_signals(struct shell *sh)
{
	int	 sig;

	if ((sig = worker_read_signals(sh->w)) != 0)
		shell_stop(sh, sig);
	shell_read_reports(sh);
	(void)shell_reap(sh);
}

/* One read from a task pipe; captured bytes go out as one OUTPUT frame. */
static int
shell_read_pipe(struct shell *sh, int i)
{
	ssize_t		 n;
	uint64_t	 room, keep;

	n = read(sh->fd[i], sh->chunk, PROTO_OUTPUT_CHUNK_MAX);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0) {
		if (n == -1)
			log_warn("reading the task's %s",
			    i == 0 ? "stdout" : "stderr");
		close(sh->fd[i]);
		sh->fd[i] = -1;
		return 0;
	}
	room = sh->spec->output_cap - sh->captured;
	keep = (uint64_t)n < room ? (uint64_t)n : room;
	if (keep > 0) {
		if (worker_send_output(sh->w, i == 0 ? PROTO_STDOUT :
		    PROTO_STDERR, sh->chunk, (size_t)keep) == -1)
			return -1;
		sh->captured += keep;
		if (i == 0)
			sh->res->stdout_bytes += keep;
		else
			sh->res->stderr_bytes += keep;
	}
	if ((uint64_t)n > keep) {
		/* Read and counted, never kept: memory stays bounded. */
		sh->res->dropped += (uint64_t)n - keep;
		sh->res->truncated = true;
	}
	return 0;
}

static int
poll_timeout(int64_t now, int64_t a, int64_t b)
{
	int64_t	 next = a < 0 ? b : b < 0 ? a : a < b ? a : b;

	if (next < 0)
		return -1;
	if (next <= now)
		return 0;
	return next - now > INT_MAX ? INT_MAX : (int)(next - now);
}

/*
 * Runs until the task was reaped and its pipes are closed (or the drain
 * time ran out).  Returns 0, or -1 when the supervisor went away.
 */
static int
shell_loop(struct shell *sh)
{
	struct pollfd	 pfd[5];
	int		 idx[2], nfd, sock_i, sig_i, st_i, i;
	int64_t		 now;

	for (;;) {
		if (sh->reaped && sh->fd[0] == -1 && sh->fd[1] == -1)
			return 0;
		now = clock_mono_ms();
		if (sh->kill_at >= 0 && now >= sh->kill_at)
			shell_kill_hard(sh);
		if (sh->drain_at >= 0 && now >= sh->drain_at) {
			if (sh->fd[0] != -1 || sh->fd[1] != -1)
				log_info("the task exited; a process it left "
				    "behind still holds its output open");
			return 0;
		}
		nfd = 0;
		for (i = 0; i < 2; i++) {
			idx[i] = -1;
			if (sh->fd[i] == -1)
				continue;
			idx[i] = nfd;
			pfd[nfd].fd = sh->fd[i];
			pfd[nfd++].events = POLLIN;
		}
		sock_i = nfd;
		pfd[nfd].fd = worker_poll_fd(sh->w);
		pfd[nfd++].events = POLLIN;
		sig_i = nfd;
		pfd[nfd].fd = sh->w->sigfd;
		pfd[nfd++].events = POLLIN;
		st_i = -1;
		if (sh->stfd != -1) {
			st_i = nfd;
			pfd[nfd].fd = sh->stfd;
			pfd[nfd++].events = POLLIN;
		}
		if (poll(pfd, (nfds_t)nfd, poll_timeout(now, sh->kill_at,
		    sh->drain_at)) == -1) {
			if (errno == EINTR)
				continue;
			log_warn("poll");
			sh->internal = 1;
			worker_result_error(sh->res, PROTO_ST_INTERNAL_ERROR,
			    "poll: %s", strerror(errno));
			return 0;
		}
		for (i = 0; i < 2; i++)
			if (idx[i] != -1 && pfd[idx[i]].revents &&
			    shell_read_pipe(sh, i) == -1)
				return -1;
		if (pfd[sock_i].revents && worker_sock_readable(sh->w) == -1)
			return -1;
		if (st_i != -1 && pfd[st_i].revents)
			shell_read_reports(sh);
		if (pfd[sig_i].revents)
			shell_signals(sh);
	}
}

/*
 * SIGKILL everything that is left, the task included if it still runs,
 * and reap until the worker has no child at all.  As a subreaper that
 * means no descendant is left either.
 */
static void
shell_kill_all(struct shell *sh)
{
	struct pollfd	 p;
	int64_t		 deadline = clock_mono_ms() + SHELL_REAP_MAX_MS;
	long		 n;

	while (shell_reap(sh)) {
		if ((n = shell_signal(sh, SIGKILL)) == -1)
			log_warn("listing the task's processes");
		else if (n > 0)
			log_debug("killed %ld leftover processes", n);
		if (clock_mono_ms() > deadline) {
			log_warnx("processes of the task survive SIGKILL "
			    "(uninterruptible sleep?); giving up on them");
			return;
		}
		/* Wait for SIGCHLD (or a short step) before looking again. */
		p.fd = sh->w->sigfd;
		p.events = POLLIN;
		if (poll(&p, 1, SHELL_REAP_STEP_MS) == 1)
			(void)worker_read_signals(sh->w);
	}
}

static void
shell_result(struct shell *sh)
{
	struct proto_result	*res = sh->res;
	struct rusage		 ru;
	int			 st = sh->wstatus;
	char			 how[128];

	if (!sh->reaped)
		sh->t_end = clock_mono_ms();
	res->duration_ms = (uint64_t)(sh->t_end - sh->t_start);
	/* Everything reaped so far: the task and all it left behind. */
	if (getrusage(RUSAGE_CHILDREN, &ru) == 0) {
		res->maxrss_kib = (uint64_t)ru.ru_maxrss;
		res->utime_us = (uint64_t)ru.ru_utime.tv_sec * 1000000 +
		    (uint64_t)ru.ru_utime.tv_usec;
		res->stime_us = (uint64_t)ru.ru_stime.tv_sec * 1000000 +
		    (uint64_t)ru.ru_stime.tv_usec;
	}
	if (sh->reaped && WIFEXITED(st))
		res->exit_code = WEXITSTATUS(st);
	if (sh->reaped && WIFSIGNALED(st))
		res->signal = WTERMSIG(st);
	if (sh->internal)
		return;
	if (!sh->reaped) {
		sh->internal = 1;
		worker_result_error(res, PROTO_ST_INTERNAL_ERROR,
		    "the task (pid %ld) could not be reaped", (long)sh->pid);
		return;
	}
	if (sh->init_lost) {
		res->exit_code = -1;
		worker_result_error(res, PROTO_ST_INTERNAL_ERROR,
		    "the task's init exited (status %d) without the task's "
		    "status", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
		return;
	}
	if (WIFEXITED(st))
		snprintf(how, sizeof(how), "exited with status %d",
		    WEXITSTATUS(st));
	else if (sh->hard && WTERMSIG(st) == SIGKILL)
		snprintf(how, sizeof(how), "was killed with SIGKILL after the "
		    "%u ms grace period", sh->spec->kill_grace_ms);
	else
		snprintf(how, sizeof(how), "died from SIG%s",
		    sig_name(WTERMSIG(st)));
	if (sh->stop_sig != 0)
		worker_result_error(res, PROTO_ST_KILLED, "stopped on request "
		    "(SIG%s to the worker): the task %s",
		    sig_name(sh->stop_sig), how);
	else if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		res->status = PROTO_ST_OK;
	else if (WIFEXITED(st))
		worker_result_error(res, PROTO_ST_FAILED, "the task %s", how);
	else
		worker_result_error(res, PROTO_ST_SIGNALED, "the task %s",
		    how);
}

int
exec_shell_run(struct worker *w, const struct proto_spec *spec,
    struct proto_result *res)
{
	struct shell	 sh;
	int		 rc = 0, i;

	memset(&sh, 0, sizeof(sh));
	sh.w = w;
	w->wait = shell_send_wait;
	w->wait_arg = &sh;
	sh.spec = spec;
	sh.res = res;
	sh.pid = -1;
	sh.fd[0] = sh.fd[1] = -1;
	sh.stfd = -1;
	sh.ns = spec->namespaces;
	sh.drain_at = sh.kill_at = -1;
	if ((sh.chunk = pf_malloc(PROTO_OUTPUT_CHUNK_MAX)) == NULL) {
		worker_result_error(res, PROTO_ST_INTERNAL_ERROR,
		    "out of memory");
		return 0;
	}
	if (!spec->command || spec->command[0] != '/') {
		/* The SPEC decoder refuses it; never run a relative path. */
		worker_result_error(res, PROTO_ST_EXEC_ERROR,
		    "command must be an absolute path");
		goto out;
	}
	if (shell_spawn(&sh) == -1)
		goto out;
	log_debug("task pid %ld: %s", (long)sh.pid, spec->command);
	if (worker_send_started(w, sh.pid, (uint64_t)clock_wall_ms()) == -1)
		rc = -1;
	else
		rc = shell_loop(&sh);
	for (i = 0; i < 2; i++)
		if (sh.fd[i] != -1)
			close(sh.fd[i]);
	if (rc == -1)
		log_warnx("the supervisor is gone: killing the task");
	shell_kill_all(&sh);
	shell_read_reports(&sh);
	if (sh.stfd != -1)
		close(sh.stfd);
	shell_result(&sh);
out:
	/* sh goes out of scope: the RESULT's send must not call back. */
	w->wait = NULL;
	pf_free(sh.chunk);
	return rc;
}
