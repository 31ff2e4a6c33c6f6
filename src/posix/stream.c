/* The parent<->child bootstrap channel: one AF_UNIX stream socket (POSIX). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/internal.h"

int mproc__os_stream_write(mproc__stream_t *s, const void *p, size_t n) {
  const char *c = p;
  while (n > 0) {
    /* MSG_NOSIGNAL: a dead peer is an error code here, not a SIGPIPE. */
    ssize_t w = send((int)s->wr, c, n, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR)
        continue;
      if (errno == EPIPE || errno == ECONNRESET)
        return mproc__os_fail_code(errno, "channel: the other process is gone");
      return mproc__os_fail("channel: send");
    }
    c += w;
    n -= (size_t)w;
  }
  return 0;
}

int mproc__os_stream_read(mproc__stream_t *s, void *p, size_t n, size_t *got) {
  char *c = p;
  *got = 0;
  while (*got < n) {
    ssize_t r = recv((int)s->rd, c + *got, n - *got, 0);
    if (r == 0)
      break;
    if (r < 0) {
      if (errno == EINTR)
        continue;
      if (errno == ECONNRESET)
        break; /* the peer died: that is the end of its data */
      return mproc__os_fail("channel: recv");
    }
    *got += (size_t)r;
  }
  return 0;
}

int mproc__os_stream_read_now(mproc__stream_t *s, void *p, size_t n, size_t *got) {
  *got = 0;
  ssize_t r;
  do {
    r = recv((int)s->rd, p, n, MSG_DONTWAIT);
  } while (r < 0 && errno == EINTR);
  if (r > 0)
    *got = (size_t)r;
  else if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != ECONNRESET)
    return mproc__os_fail("channel: recv");
  return 0;
}

void mproc__os_stream_close(mproc__stream_t *s) {
  if (s->rd != MPROC__STREAM_NONE)
    close((int)s->rd);
  if (s->wr != MPROC__STREAM_NONE && s->wr != s->rd)
    close((int)s->wr);
  s->rd = s->wr = MPROC__STREAM_NONE;
}

int mproc__os_stream_from_token(const char *token, mproc__stream_t *s) {
  char *end;
  errno = 0;
  long fd = strtol(token, &end, 10);
  struct stat st;
  if (errno || end == token || *end || fd < 0 || fd > 1 << 24 || fstat((int)fd, &st) != 0 ||
      !S_ISSOCK(st.st_mode))
    return mproc__fail(MPROC_EPROTO, "channel: '%s' names no inherited socket", token);
  /* Inherited on purpose; nothing this child starts should inherit it. */
  fcntl((int)fd, F_SETFD, FD_CLOEXEC);
  s->rd = s->wr = fd;
  return 0;
}
