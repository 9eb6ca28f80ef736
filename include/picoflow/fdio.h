/*
 * Whole writes to a descriptor: a pipe or socket may take fewer bytes
 * than asked, and a signal may interrupt the call.
 */
#ifndef PICOFLOW_FDIO_H
#define PICOFLOW_FDIO_H

#include <stddef.h>

/* Writes all n bytes (retrying on EINTR); 0, or -1 with errno. */
int	 fdio_write_all(int fd, const void *p, size_t n);

#endif
