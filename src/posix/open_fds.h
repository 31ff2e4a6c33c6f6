/* Listing open descriptors without closefrom (open_fds.c). */
#ifndef MPROC_POSIX_OPEN_FDS_H
#define MPROC_POSIX_OPEN_FDS_H

#include <stdbool.h>
#include <stddef.h>

/* The open descriptors >= from, in *fds (malloc'd; *n of them). 0, or
 * MPROC_ENOMEM / MPROC_ESYS. */
int mproc__posix_open_fds(int from, int **fds, size_t *n);

/* Closes every descriptor >= from in one system call where Linux has one
 * (close_range); false where it does not, and nothing was closed. */
bool mproc__posix_close_range(int from);
/* Closes every descriptor >= from with system calls only (safe in a child
 * forked from a threaded process): close_range, else one close per number
 * up to the descriptor limit (at most 65536). */
void mproc__posix_close_from(int from);

#endif
