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
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cloexec.h"
#include "core/internal.h"
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
  if (mproc__posix_socketpair(sv) != 0)
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

long mproc__posix_send_fds(int sock, const void *head, size_t head_len, const int *fds, size_t k) {
  struct iovec iov = {(void *)head, head_len};
  union {
    char buf[CMSG_SPACE(sizeof(int) * MPROC__POSIX_FDS_MAX)];
    struct cmsghdr align;
  } u;
  memset(&u, 0, sizeof u);
  struct msghdr msg = {.msg_iov = &iov,
                       .msg_iovlen = 1,
                       .msg_control = u.buf,
                       .msg_controllen = CMSG_SPACE(sizeof(int) * k)};
  struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
  cm->cmsg_level = SOL_SOCKET;
  cm->cmsg_type = SCM_RIGHTS;
  cm->cmsg_len = CMSG_LEN(sizeof(int) * k);
  memcpy(CMSG_DATA(cm), fds, sizeof(int) * k);
  ssize_t r;
  do {
    r = sendmsg(sock, &msg, MPROC__SEND_NOSIGNAL);
  } while (r < 0 && errno == EINTR);
  return (long)r;
}

int mproc__os_conn_send_handles(mproc__os_conn_t *c, const mproc__os_child_t *to, const intptr_t *h,
                                size_t n) {
  (void)to; /* the kernel makes the receiver's copies */
  for (size_t sent = 0; sent < n;) {
    size_t k = n - sent < MPROC__POSIX_FDS_MAX ? n - sent : MPROC__POSIX_FDS_MAX;
    unsigned char count = (unsigned char)k;
    int fds[MPROC__POSIX_FDS_MAX];
    for (size_t i = 0; i < k; i++)
      fds[i] = (int)h[sent + i];
    long r = mproc__posix_send_fds(c->fd, &count, 1, fds, k);
    if (r != 1)
      return r < 0 && (errno == EPIPE || errno == ECONNRESET)
                 ? mproc__fail(MPROC_EEOF, "handles: the receiver is gone")
                 : mproc__os_fail("handles: sendmsg");
    sent += k;
  }
  return 0;
}

int mproc__os_conn_recv_handles(mproc__os_conn_t *c, intptr_t *h, size_t n) {
  size_t got = 0;
  while (got < n) {
    unsigned char count = 0;
    struct iovec iov = {&count, 1};
    union {
      char buf[CMSG_SPACE(sizeof(int) * MPROC__POSIX_FDS_MAX)];
      struct cmsghdr align;
    } u;
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
    ssize_t r;
    do {
      r = recvmsg(c->fd, &msg, MPROC__RECV_CLOEXEC);
    } while (r < 0 && errno == EINTR);
    int fds[MPROC__POSIX_FDS_MAX];
    size_t room = n - got < MPROC__POSIX_FDS_MAX ? n - got : MPROC__POSIX_FDS_MAX;
    size_t k = r >= 0 ? mproc__posix_received_fds(&msg, fds, room) : 0;
    for (size_t i = 0; i < k; i++)
      h[got + i] = fds[i];
    if (r != 1 || k != count || (msg.msg_flags & MSG_CTRUNC)) {
      for (size_t i = 0; i < got + k; i++)
        close((int)h[i]);
      return r == 0 ? mproc__fail(MPROC_EEOF, "handles: the sender is gone")
                    : mproc__fail(MPROC_EPROTO, "handles: a malformed batch");
    }
    got += k;
  }
  return 0;
}

int mproc__posix_send_all(int fd, const void *p, size_t n, const char *what) {
  const char *s = p;
  while (n > 0) {
    ssize_t w = send(fd, s, n, MPROC__SEND_NOSIGNAL);
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

int mproc__os_conn_read_some(mproc__os_conn_t *c, void *p, size_t cap, size_t *got) {
  ssize_t r;
  do {
    r = recv(c->fd, p, cap, 0);
  } while (r < 0 && errno == EINTR);
  if (r < 0)
    return errno == ECONNRESET ? (*got = 0, 0) : mproc__os_fail("connection: recv");
  *got = (size_t)r;
  return 0;
}

int mproc__os_conn_read_now(mproc__os_conn_t *c, void *p, size_t cap, size_t *got) {
  ssize_t r;
  do {
    r = recv(c->fd, p, cap, MSG_DONTWAIT);
  } while (r < 0 && errno == EINTR);
  *got = r > 0 ? (size_t)r : 0;
  if (r > 0 || (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)))
    return 0;
  return r == 0 || errno == ECONNRESET ? MPROC_EEOF : mproc__os_fail("connection: recv");
}

int mproc__os_conn_available(mproc__os_conn_t *c, size_t *n) {
  int avail = 0;
  if (ioctl(c->fd, FIONREAD, &avail) != 0)
    return mproc__os_fail("connection: ioctl(FIONREAD)");
  *n = avail > 0 ? (size_t)avail : 0;
  return 0;
}

int mproc__os_conn_arm(mproc__os_conn_t *c, intptr_t *waitable, bool *ready_now) {
  *waitable = c->fd;
  *ready_now = false; /* poll() tells */
  return 0;
}

void mproc__os_conn_disarm(mproc__os_conn_t *c) { (void)c; }

void mproc__os_conn_cancel(mproc__os_conn_t *c) {
  shutdown(c->fd, SHUT_RDWR); /* a blocked read sees end-of-file */
}

void mproc__os_conn_free(mproc__os_conn_t *c) {
  if (!c)
    return;
  close(c->fd);
  free(c);
}
