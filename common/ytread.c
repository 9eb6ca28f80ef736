/*
 * Reading a YAML source file whole, with the loaders' limits and
 * messages.  Apart from the parser (ytree*.c) so that pf-supervisor, which
 * reads the files it hands to pf-loader, does not link libyaml.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "picoflow/alloc.h"
#include "picoflow/err.h"
#include "ytree.h"

int
yt_read_file(const char *path, const char *what, size_t max_bytes,
    struct pf_diags *diags, unsigned char **out, size_t *outlen)
{
	struct stat	 st;
	unsigned char	*buf = NULL, *nb;
	size_t		 cap, len = 0;
	ssize_t		 r;
	int		 fd;

	*out = NULL;
	*outlen = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) ==
	    -1) {
		pf_diags_add(diags, PF_SEV_ERROR, path, 0, 0, "cannot open: %s",
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		pf_diags_add(diags, PF_SEV_ERROR, path, 0, 0, "cannot stat: %s",
		    strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		if (S_ISDIR(st.st_mode))
			pf_diags_add(diags, PF_SEV_ERROR, path, 0, 0, "is a "
			    "directory, not a %s file", what);
		else
			pf_diags_add(diags, PF_SEV_ERROR, path, 0, 0, "is not "
			    "a regular file");
		goto fail;
	}
	if (st.st_size < 0 || (unsigned long long)st.st_size > max_bytes) {
		pf_diags_add(diags, PF_SEV_ERROR, path, 1, 1, "the file is %lld "
		    "bytes; the limit is %zu bytes", (long long)st.st_size,
		    max_bytes);
		goto fail;
	}
	/* Read to the end even if the file grew, never past the limit. */
	cap = (size_t)st.st_size + 1;
	for (;;) {
		if (len == cap || buf == NULL) {
			if (buf != NULL)
				cap = cap > max_bytes / 2 ? max_bytes + 1 :
				    cap * 2;
			if ((nb = pf_reallocarray(buf, cap, 1)) == NULL) {
				pf_diags_add(diags, PF_SEV_ERROR, path, 0, 0,
				    "out of memory reading the file");
				goto fail;
			}
			buf = nb;
		}
		r = read(fd, buf + len, cap - len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			pf_diags_add(diags, PF_SEV_ERROR, path, 0, 0,
			    "cannot read: %s", strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len > max_bytes) {
			pf_diags_add(diags, PF_SEV_ERROR, path, 1, 1, "the file "
			    "is more than %zu bytes", max_bytes);
			goto fail;
		}
	}
	close(fd);
	*out = buf;
	*outlen = len;
	return 0;
fail:
	close(fd);
	pf_free(buf);
	return -1;
}
