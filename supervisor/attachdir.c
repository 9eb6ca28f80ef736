/*
 * The supervisor's side of the attach directory; see attachdir.h.
 * Everything in it is treated as hostile: the socket must be held by the
 * very worker recorded for the attempt, and a spool is read frame header
 * by frame header, each length checked, before any of it is trusted.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "picoflow/frame.h"
#include "picoflow/log.h"
#include "picoflow/proto.h"
#include "attachdir.h"
#include "procid.h"

/*
 * Whether a unix socket can be made here (some file systems refuse
 * them): without, no worker could start, so re-attach is turned off.
 */
static int
probe_socket(const char *dir, struct pf_err *err)
{
	struct sockaddr_un	 sun;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if ((size_t)snprintf(sun.sun_path, sizeof(sun.sun_path),
	    "%s/probe.%ld.sock", dir, (long)getpid()) >=
	    sizeof(sun.sun_path)) {
		/* Workers bind through /proc/self/fd: try that way. */
		pf_err_set(err, "%s: path too long for a socket", dir);
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		pf_err_set(err, "socket: %s", strerror(errno));
		return -1;
	}
	(void)unlink(sun.sun_path);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		pf_err_set(err, "cannot create a socket in %s: %s", dir,
		    strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	(void)unlink(sun.sun_path);
	return 0;
}

int
attachdir_prepare(const char *dir, struct pf_err *err)
{
	struct stat	 sb;

	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		pf_err_set(err, "cannot create %s: %s", dir, strerror(errno));
		return -1;
	}
	if (lstat(dir, &sb) == -1) {
		pf_err_set(err, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(sb.st_mode) || sb.st_uid != geteuid() ||
	    (sb.st_mode & 077) != 0) {
		pf_err_set(err, "%s must be a directory owned by uid %lu with "
		    "no access for others (mode 0700)", dir,
		    (unsigned long)geteuid());
		return -1;
	}
	return strlen(dir) + 32 < sizeof(((struct sockaddr_un *)0)->sun_path) ?
	    probe_socket(dir, err) : 0;
}

void
attachdir_sweep(const char *dir, const int64_t *keep, size_t nkeep)
{
	DIR		*d;
	struct dirent	*de;
	char		 p[4200], *end;
	long long	 id;
	size_t		 i;
	int		 kept;

	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		errno = 0;
		id = strtoll(de->d_name, &end, 10);
		if (errno != 0 || end == de->d_name || (strcmp(end, ".spool") !=
		    0 && strcmp(end, ".sock") != 0))
			continue;	/* not ours: leave it */
		for (kept = 0, i = 0; i < nkeep && !kept; i++)
			kept = keep[i] == id;
		if (kept)
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		if (unlink(p) == -1 && errno != ENOENT)
			log_warn("cannot remove %s", p);
		else
			log_debug("removed the leftover %s", p);
	}
	closedir(d);
}

static void
path_of(char *buf, size_t len, const char *dir, int64_t id, const char *ext)
{
	snprintf(buf, len, "%s/%" PRId64 ".%s", dir, id, ext);
}

void
attachdir_forget(const char *dir, int64_t attempt_id)
{
	char	 p[4200];

	path_of(p, sizeof(p), dir, attempt_id, "spool");
	if (unlink(p) == -1 && errno != ENOENT)
		log_warn("cannot remove %s", p);
	path_of(p, sizeof(p), dir, attempt_id, "sock");
	if (unlink(p) == -1 && errno != ENOENT)
		log_warn("cannot remove %s", p);
}

int
attachdir_connect(const char *dir, int64_t attempt_id, pid_t *worker_pid,
    int64_t worker_start, int *fdp, struct pf_err *err)
{
	struct sockaddr_un	 sun;
	struct ucred		 uc;
	socklen_t		 len = sizeof(uc);
	int			 fd, dfd;

	*fdp = -1;
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		pf_err_set(err, "%s: %s", dir, strerror(errno));
		return -1;
	}
	/* Through the directory's fd: any state path fits sun_path. */
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "/proc/self/fd/%d/%"
	    PRId64 ".sock", dfd, attempt_id);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) == -1) {
		pf_err_set(err, "socket: %s", strerror(errno));
		close(dfd);
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		pf_err_set(err, "no worker listens (%s)", strerror(errno));
		goto fail;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) == -1) {
		pf_err_set(err, "peer credentials: %s", strerror(errno));
		goto fail;
	}
	if (*worker_pid > 0 && (uc.pid != *worker_pid ||
	    !procid_matches(*worker_pid, worker_start))) {
		pf_err_set(err, "the socket is held by pid %ld, not by the "
		    "worker recorded for the attempt (pid %ld)", (long)uc.pid,
		    (long)*worker_pid);
		goto fail;
	}
	/*
	 * Not recorded yet (the predecessor died between the worker's start
	 * and that commit): the socket, in our private directory, can only
	 * be a worker's of ours.
	 */
	if (*worker_pid <= 0 && (uc.uid != geteuid() || uc.pid <= 1)) {
		pf_err_set(err, "the socket is held by pid %ld, uid %lu",
		    (long)uc.pid, (unsigned long)uc.uid);
		goto fail;
	}
	*worker_pid = uc.pid;
	close(dfd);
	*fdp = fd;
	return 0;
fail:
	close(fd);
	close(dfd);
	return -1;
}

static uint32_t
le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

int
attachdir_spool_result(const char *dir, int64_t attempt_id, int *fdp,
    struct pf_err *err)
{
	unsigned char	 hdr[FRAME_HDR_LEN];
	struct stat	 sb;
	char		 p[4200];
	uint64_t	 off = 0;
	uint32_t	 len;
	int		 fd, last = 0;

	*fdp = -1;
	path_of(p, sizeof(p), dir, attempt_id, "spool");
	if ((fd = open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW |
	    O_NONBLOCK)) == -1) {
		pf_err_set(err, "no spool (%s)", strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode)) {
		pf_err_set(err, "the spool is not a regular file");
		goto fail;
	}
	while (off + FRAME_HDR_LEN <= (uint64_t)sb.st_size) {
		if (pread(fd, hdr, sizeof(hdr), (off_t)off) !=
		    (ssize_t)sizeof(hdr)) {
			pf_err_set(err, "reading the spool: %s",
			    strerror(errno));
			goto fail;
		}
		len = le32(hdr);
		if (len > FRAME_PAYLOAD_MAX || hdr[4] != FRAME_VERSION) {
			pf_err_set(err, "the spool is damaged at byte %" PRIu64,
			    off);
			goto fail;
		}
		if (off + FRAME_HDR_LEN + len > (uint64_t)sb.st_size)
			break;		/* cut short: the worker died writing */
		last = hdr[5];
		off += FRAME_HDR_LEN + len;
	}
	if (last != PROTO_MSG_RESULT || off != (uint64_t)sb.st_size) {
		pf_err_set(err, "the spool has no result (%" PRIu64 " of %lld "
		    "bytes read)", off, (long long)sb.st_size);
		goto fail;
	}
	*fdp = fd;
	return 0;
fail:
	close(fd);
	return -1;
}
