/* Listing open descriptors without closefrom (open_fds.c). */
#ifndef MPROC_POSIX_OPEN_FDS_H
#define MPROC_POSIX_OPEN_FDS_H

#include <stddef.h>

/* The open descriptors >= from, in *fds (malloc'd; *n of them). 0, or
 * MPROC_ENOMEM / MPROC_ESYS. */
int mproc__posix_open_fds(int from, int **fds, size_t *n);

#endif
