/*
 * Small kernel files in one go; see readfile.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "picoflow/readfile.h"

ssize_t
readfile_small(const char *path, char *buf, size_t len)
{
	size_t	 off = 0;
	ssize_t	 n;
	int	 fd, e;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1)
		return -1;
	while (off + 1 < len) {
		n = read(fd, buf + off, len - 1 - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			e = errno;
			close(fd);
			errno = e;
			return -1;
		}
		if (n == 0)
			break;
		off += (size_t)n;
	}
	close(fd);
	buf[off] = '\0';
	return (ssize_t)off;
}
