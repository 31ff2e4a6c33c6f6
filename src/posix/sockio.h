/* Whole-buffer socket I/O shared by the bootstrap channel (stream.c) and
 * connections (conn.c). */
#ifndef MPROC_POSIX_SOCKIO_H
#define MPROC_POSIX_SOCKIO_H

#include <stddef.h>

/* Sends all n bytes: 0, MPROC_EEOF when the peer is gone (never SIGPIPE:
 * MSG_NOSIGNAL), or another error. `what` names the caller in details. */
int mproc__posix_send_all(int fd, const void *p, size_t n, const char *what);
/* Receives until n bytes or end-of-file (a reset peer counts as the end of
 * its data); *got says how many. */
int mproc__posix_recv_all(int fd, void *p, size_t n, size_t *got, const char *what);
/* One sendmsg of the head_len bytes at head with k descriptors (at most
 * MPROC__POSIX_FDS_MAX) passed by SCM_RIGHTS, retried on EINTR: what
 * sendmsg returns, errno set. */
enum { MPROC__POSIX_FDS_MAX = 64 };
long mproc__posix_send_fds(int sock, const void *head, size_t head_len, const int *fds, size_t k);

#endif
