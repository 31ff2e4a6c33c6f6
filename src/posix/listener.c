/* Listeners and clients on POSIX: AF_UNIX stream sockets at a path (the
 * socket file is created with mode 0600) and TCP. Accepted and connected
 * sockets become connection ends like a Pipe's. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cloexec.h"
#include "core/internal.h"

struct mproc__os_listener {
  int fd;
  char *unix_path; /* unlinked when the listener goes */
};

static int unix_addr(const char *path, struct sockaddr_un *sa) {
  memset(sa, 0, sizeof *sa);
  sa->sun_family = AF_UNIX;
  if (!*path || strlen(path) >= sizeof sa->sun_path)
    return mproc__fail(MPROC_EINVAL, "unix address '%s': empty or longer than %zu bytes", path,
                       sizeof sa->sun_path - 1);
  strcpy(sa->sun_path, path);
  return 0;
}

static int wrap_fd(int fd, mproc__os_conn_t **out) { return mproc__os_conn_wrap(out, fd); }

int mproc__os_listen(mproc__os_listener_t **out, const mproc__addr_t *a, int backlog, char *actual,
                     size_t cap) {
  const char *where = a->where;
  if (a->kind == MPROC__ADDR_PIPE)
    return mproc__fail(MPROC_ENOTSUP, "pipe: addresses are Windows named pipes");
  mproc__os_listener_t *l = calloc(1, sizeof *l);
  if (!l)
    return mproc__fail(MPROC_ENOMEM, "listener: out of memory");
  l->fd = -1;
  int rc = 0;
  if (a->kind == MPROC__ADDR_UNIX) {
    struct sockaddr_un sa;
    if ((rc = unix_addr(where, &sa)))
      goto fail;
    l->fd = mproc__posix_socket(AF_UNIX);
    /* 0600 from the start: no window in which others may connect. */
    mode_t old = umask(0177);
    int b = l->fd < 0 ? -1 : bind(l->fd, (struct sockaddr *)&sa, sizeof sa);
    umask(old);
    if (b != 0) {
      rc = mproc__os_fail("listener: bind(%s)", where);
      goto fail;
    }
    l->unix_path = mproc__strdup(where);
    snprintf(actual, cap, "unix:%s", where);
  } else {
    const char *host = a->host, *port = a->port;
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
    struct addrinfo *ai;
    int g = getaddrinfo(host, port, &hints, &ai);
    if (g != 0) {
      rc = mproc__fail(MPROC_EINVAL, "tcp address '%s': %s", where, gai_strerror(g));
      goto fail;
    }
    l->fd = mproc__posix_socket(ai->ai_family);
    int one = 1;
    if (l->fd >= 0)
      setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    int b = l->fd < 0 ? -1 : bind(l->fd, ai->ai_addr, ai->ai_addrlen);
    freeaddrinfo(ai);
    if (b != 0) {
      rc = mproc__os_fail("listener: bind(%s)", where);
      goto fail;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    getsockname(l->fd, (struct sockaddr *)&ss, &sl);
    int p = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                     : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    snprintf(actual, cap, "tcp:%s:%d", host, p);
  }
  if (listen(l->fd, backlog > 0 ? backlog : SOMAXCONN) != 0) {
    rc = mproc__os_fail("listener: listen(%s)", where);
    goto fail;
  }
  *out = l;
  return 0;
fail:
  mproc__os_listener_free(l);
  return rc;
}

int mproc__os_accept(mproc__os_listener_t *l, int timeout_ms, mproc__os_conn_t **out) {
  struct pollfd pfd = {.fd = l->fd, .events = POLLIN};
  int r;
  do {
    r = poll(&pfd, 1, timeout_ms);
  } while (r < 0 && errno == EINTR);
  if (r == 0)
    return mproc__fail(MPROC_ETIMEDOUT, "listener: nobody connected within %d ms", timeout_ms);
  int fd = r < 0 ? -1 : mproc__posix_accept(l->fd);
  if (fd < 0)
    return mproc__os_fail("listener: accept");
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); /* fails on AF_UNIX: fine */
  return wrap_fd(fd, out);
}

/* Waits up to the deadline for fd's non-blocking connect to finish; 0
 * when connected, else errno is why. */
static int finish_connect(int fd, int64_t deadline) {
  for (;;) {
    int left = mproc__remaining_ms(deadline);
    if (left == 0) {
      errno = ETIMEDOUT;
      return -1;
    }
    struct pollfd pfd = {fd, POLLOUT, 0};
    int n = poll(&pfd, 1, left < 0 || left > 1000 ? 1000 : left);
    if (n < 0 && errno != EINTR)
      return -1;
    if (n <= 0)
      continue;
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
      return -1;
    errno = err;
    return err ? -1 : 0;
  }
}

/* Connects fd to sa by the deadline (ms on the monotonic clock; -1: none):
 * a listener whose process is stopped with a full backlog, or a host that
 * never answers, costs the caller its timeout, not the OS's minutes. */
static int connect_by(int fd, const struct sockaddr *sa, socklen_t salen, int64_t deadline) {
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0)
    return -1;
  int rc = connect(fd, sa, salen);
  /* A unix socket whose backlog is full says EAGAIN: try again shortly. */
  while (rc != 0 && errno == EAGAIN && mproc__remaining_ms(deadline) != 0) {
    struct timespec pause = {0, 2000000};
    nanosleep(&pause, NULL);
    rc = connect(fd, sa, salen);
  }
  if (rc != 0 && errno == EAGAIN)
    errno = ETIMEDOUT;
  if (rc != 0 && (errno == EINPROGRESS || errno == EINTR))
    rc = finish_connect(fd, deadline);
  int saved = errno;
  if (fcntl(fd, F_SETFL, flags) != 0 && rc == 0)
    return -1;
  errno = saved;
  return rc;
}

int mproc__os_connect(const mproc__addr_t *a, int64_t deadline, mproc__os_conn_t **out) {
  const char *where = a->where;
  if (a->kind == MPROC__ADDR_PIPE)
    return mproc__fail(MPROC_ENOTSUP, "pipe: addresses are Windows named pipes");
  int fd = -1, rc = 0;
  if (a->kind == MPROC__ADDR_UNIX) {
    struct sockaddr_un sa;
    if ((rc = unix_addr(where, &sa)))
      return rc;
    fd = mproc__posix_socket(AF_UNIX);
    if (fd < 0 || connect_by(fd, (struct sockaddr *)&sa, sizeof sa, deadline) != 0)
      rc = mproc__os_fail("client: connect(%s)", where);
  } else {
    const char *host = a->host, *port = a->port;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *ai;
    int g = getaddrinfo(host, port, &hints, &ai);
    if (g != 0)
      return mproc__fail(MPROC_EINVAL, "tcp address '%s': %s", where, gai_strerror(g));
    fd = mproc__posix_socket(ai->ai_family);
    if (fd < 0 || connect_by(fd, ai->ai_addr, ai->ai_addrlen, deadline) != 0)
      rc = mproc__os_fail("client: connect(%s)", where);
    freeaddrinfo(ai);
    int one = 1;
    if (rc == 0)
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  if (rc) {
    if (fd >= 0)
      close(fd);
    return rc;
  }
  return wrap_fd(fd, out);
}

void mproc__os_listener_free(mproc__os_listener_t *l) {
  if (!l)
    return;
  if (l->fd >= 0)
    close(l->fd);
  if (l->unix_path) {
    unlink(l->unix_path);
    free(l->unix_path);
  }
  free(l);
}

int mproc__os_private_address(char *buf, size_t cap) {
  uint64_t r;
  int rc = mproc__os_random(&r, sizeof r);
  if (rc)
    return rc;
  /* A socket path must fit in sun_path (108 bytes): a long TMPDIR is
   * passed over for /tmp. */
  const char *dir = getenv("TMPDIR");
  if (!dir || !*dir || strlen(dir) > 60)
    dir = "/tmp";
  int n = snprintf(buf, cap, "unix:%s/mproc-%ld-%016llx.sock", dir, (long)getpid(),
                   (unsigned long long)r);
  return n < 0 || (size_t)n >= cap ? mproc__fail(MPROC_ERANGE, "private address too long") : 0;
}
