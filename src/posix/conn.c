/* Connection ends on POSIX: AF_UNIX stream sockets.
 *
 * One-way pipes are socketpairs too, with the unused directions shut down:
 * the kernel still refuses the wrong direction, and send(MSG_NOSIGNAL) turns
 * a vanished reader into an error code, where write() on a pipe() would
 * raise SIGPIPE and kill a process that never touched its signal handlers. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../common/internal.h"
#include "sockio.h"

struct mproc__os_conn {
  int fd;
};

static int wrap(mproc__os_conn_t **out, int fd) {
  *out = malloc(sizeof **out);
  if (!*out)
    return mproc__fail(MPROC_ENOMEM, "connection: out of memory");
  (*out)->fd = fd;
  return 0;
}

int mproc__os_conn_pair(mproc__os_conn_t **a, mproc__os_conn_t **b, bool duplex) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
    return mproc__os_fail("pipe: socketpair");
  if (!duplex) {
    shutdown(sv[0], SHUT_WR);
    shutdown(sv[1], SHUT_RD);
  }
  if (wrap(a, sv[0]) != 0 || wrap(b, sv[1]) != 0) {
    free(*a);
    close(sv[0]);
    close(sv[1]);
    return MPROC_ENOMEM;
  }
  return 0;
}

int mproc__os_conn_wrap(mproc__os_conn_t **out, intptr_t handle) {
  int rc = wrap(out, (int)handle);
  if (rc)
    close((int)handle);
  return rc;
}

int mproc__os_conn_dup_handle(const mproc__os_conn_t *c, intptr_t *handle) {
  return mproc__os_dup_handle(c->fd, handle);
}

int mproc__posix_send_all(int fd, const void *p, size_t n, const char *what) {
  const char *s = p;
  while (n > 0) {
    ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR)
        continue;
      if (errno == EPIPE || errno == ECONNRESET) {
        mproc__os_fail_code(errno, "%s: send: the other end is closed", what);
        return MPROC_EEOF;
      }
      return mproc__os_fail("%s: send", what);
    }
    s += w;
    n -= (size_t)w;
  }
  return 0;
}

int mproc__posix_recv_all(int fd, void *p, size_t n, size_t *got, const char *what) {
  char *d = p;
  *got = 0;
  while (*got < n) {
    ssize_t r = recv(fd, d + *got, n - *got, 0);
    if (r == 0)
      break;
    if (r < 0) {
      if (errno == EINTR)
        continue;
      if (errno == ECONNRESET)
        break; /* the writer died: the end of its data */
      return mproc__os_fail("%s: recv", what);
    }
    *got += (size_t)r;
  }
  return 0;
}

int mproc__os_conn_write(mproc__os_conn_t *c, const void *p, size_t n) {
  return mproc__posix_send_all(c->fd, p, n, "connection");
}

int mproc__os_conn_read(mproc__os_conn_t *c, void *p, size_t n, size_t *got) {
  return mproc__posix_recv_all(c->fd, p, n, got, "connection");
}

int mproc__os_conn_arm(mproc__os_conn_t *c, intptr_t *waitable, bool *ready_now) {
  *waitable = c->fd;
  *ready_now = false; /* poll() tells */
  return 0;
}

void mproc__os_conn_disarm(mproc__os_conn_t *c) { (void)c; }

void mproc__os_conn_free(mproc__os_conn_t *c) {
  if (!c)
    return;
  close(c->fd);
  free(c);
}
