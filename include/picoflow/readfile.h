/*
 * Reading the small files the kernel keeps (/proc, cgroupfs) in one go
 * into a caller's buffer.
 */
#ifndef PICOFLOW_READFILE_H
#define PICOFLOW_READFILE_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Reads path (at most len - 1 bytes, NUL-terminated; len >= 1) and
 * returns the length, or -1 with errno.  A longer file is cut: callers
 * only parse files the kernel keeps short.  The last component is not
 * followed if it is a symbolic link.
 */
ssize_t	 readfile_small(const char *path, char *buf, size_t len);

#endif
