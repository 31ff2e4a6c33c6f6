/* The parent<->child bootstrap channel: one AF_UNIX stream socket (POSIX). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/internal.h"
#include "sockio.h"

int mproc__os_stream_write(mproc__stream_t *s, const void *p, size_t n) {
  /* A gone peer is the child (or parent) gone: MPROC_ECHILD-worthy upstream. */
  return mproc__posix_send_all((int)s->wr, p, n, "channel");
}

int mproc__os_stream_read(mproc__stream_t *s, void *p, size_t n, size_t *got) {
  return mproc__posix_recv_all((int)s->rd, p, n, got, "channel");
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
