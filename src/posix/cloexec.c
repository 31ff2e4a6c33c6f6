/* Close-on-exec descriptors from birth where the system can, right after
 * where it cannot (see cloexec.h). */
#define _GNU_SOURCE /* pipe2, accept4, SOCK_CLOEXEC and MSG_CMSG_CLOEXEC */
#include "cloexec.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "features.h"

/* The atomic forms: Linux outside the generic build. */
#define ATOMIC_CLOEXEC MPROC__LINUX_MECHANISMS

static int mark(int fd, int nonblock) {
  int fdf = fcntl(fd, F_GETFD);
  if (fdf < 0 || fcntl(fd, F_SETFD, fdf | FD_CLOEXEC) != 0)
    return -1;
  if (nonblock) {
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0)
      return -1;
  }
  return 0;
}

#if !ATOMIC_CLOEXEC
/* A socket that never raises SIGPIPE, where send cannot be told so. */
static int no_sigpipe(int fd) {
#  if !defined(MSG_NOSIGNAL) && defined(SO_NOSIGPIPE)
  int one = 1;
  return setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
#  else
  (void)fd;
  return 0;
#  endif
}

/* Closes what a failed call made, keeping its errno. */
static int undo(int a, int b) {
  int e = errno;
  if (a >= 0)
    close(a);
  if (b >= 0)
    close(b);
  errno = e;
  return -1;
}
#endif

int mproc__posix_pipe(int fds[2], int nonblock) {
#if ATOMIC_CLOEXEC
  return pipe2(fds, O_CLOEXEC | (nonblock ? O_NONBLOCK : 0));
#else
  if (pipe(fds) != 0)
    return -1;
  if (mark(fds[0], nonblock) != 0 || mark(fds[1], nonblock) != 0)
    return undo(fds[0], fds[1]);
  return 0;
#endif
}

int mproc__posix_socketpair(int sv[2]) {
#if ATOMIC_CLOEXEC
  return socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
#else
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
    return -1;
  if (mark(sv[0], 0) != 0 || mark(sv[1], 0) != 0 || no_sigpipe(sv[0]) != 0 ||
      no_sigpipe(sv[1]) != 0)
    return undo(sv[0], sv[1]);
  return 0;
#endif
}

int mproc__posix_socket(int domain) {
#if ATOMIC_CLOEXEC
  return socket(domain, SOCK_STREAM | SOCK_CLOEXEC, 0);
#else
  int fd = socket(domain, SOCK_STREAM, 0);
  if (fd >= 0 && (mark(fd, 0) != 0 || no_sigpipe(fd) != 0))
    return undo(fd, -1);
  return fd;
#endif
}

int mproc__posix_accept(int listener) {
#if ATOMIC_CLOEXEC
  return accept4(listener, NULL, NULL, SOCK_CLOEXEC);
#else
  int fd = accept(listener, NULL, NULL);
  if (fd >= 0 && (mark(fd, 0) != 0 || no_sigpipe(fd) != 0))
    return undo(fd, -1);
  return fd;
#endif
}

size_t mproc__posix_received_fds(struct msghdr *msg, int *out, size_t cap) {
  size_t k = 0;
  for (struct cmsghdr *cm = CMSG_FIRSTHDR(msg); cm; cm = CMSG_NXTHDR(msg, cm)) {
    if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
      continue;
    size_t m = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < m; i++) {
      int fd;
      memcpy(&fd, CMSG_DATA(cm) + i * sizeof fd, sizeof fd);
      if (k >= cap) {
        close(fd);
        continue;
      }
      if (!MPROC__RECV_CLOEXEC)
        mark(fd, 0);
      out[k++] = fd;
    }
  }
  return k;
}
