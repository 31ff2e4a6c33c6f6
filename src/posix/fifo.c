/* An anonymous FIFO opened for reading and writing through one descriptor:
 * the generic POSIX stand-in for a Windows semaphore (a wait word's
 * tokens) and a Linux eventfd (a queue's doorbell). It is made under a
 * random name in the temporary directory and unlinked at once, so nothing
 * is left behind; the one descriptor is inherited and dup'd like any
 * handle. Opening a FIFO O_RDWR is not in POSIX's letter, but Linux, the
 * BSDs and macOS all give a descriptor that neither blocks on open nor
 * ever sees end-of-file (it is its own writer). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/internal.h"
#include "fifo.h"

int mproc__posix_fifo_new(int *out, const char *what) {
  const char *dir = getenv("TMPDIR");
  if (!dir || !*dir)
    dir = "/tmp";
  for (int attempt = 0; attempt < 16; attempt++) {
    unsigned char r[8];
    char path[4096];
    if (mproc__os_random(r, sizeof r) != 0)
      return mproc__fail(MPROC_ESYS, "%s: no random name", what);
    snprintf(path, sizeof path, "%s/mproc-fifo-%02x%02x%02x%02x%02x%02x%02x%02x", dir, r[0], r[1],
             r[2], r[3], r[4], r[5], r[6], r[7]);
    if (mkfifo(path, 0600) != 0) {
      if (errno == EEXIST)
        continue;
      return mproc__os_fail("%s: mkfifo(%s)", what, path);
    }
    int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
    int saved = errno;
    unlink(path);
    if (fd < 0) {
      errno = saved;
      return mproc__os_fail("%s: open(%s)", what, path);
    }
    *out = fd;
    return 0;
  }
  return mproc__fail(MPROC_ESYS, "%s: no free FIFO name", what);
}

size_t mproc__posix_fifo_put(int fd, size_t n) {
  static const char tokens[256];
  size_t put = 0;
  while (put < n) {
    size_t k = n - put < sizeof tokens ? n - put : sizeof tokens;
    ssize_t w = write(fd, tokens, k);
    if (w > 0)
      put += (size_t)w;
    else if (!(w < 0 && errno == EINTR))
      break; /* EAGAIN: full of tokens already, every reader will wake */
  }
  return put;
}

bool mproc__posix_fifo_take(int fd) {
  char token;
  ssize_t r;
  while ((r = read(fd, &token, 1)) < 0 && errno == EINTR)
    ;
  return r == 1;
}

void mproc__posix_fifo_drain(int fd) {
  char buf[256];
  ssize_t r;
  while ((r = read(fd, buf, sizeof buf)) > 0 || (r < 0 && errno == EINTR))
    ;
}
