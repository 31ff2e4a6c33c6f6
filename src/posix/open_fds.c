/* The open descriptors at or above a number, without closefrom or
 * close_range (the generic POSIX build): /dev/fd lists them on Linux,
 * macOS and FreeBSD (as Python's close_fds reads it); elsewhere poll()
 * tells a closed descriptor by POLLNVAL, a batch per call, up to the
 * descriptor limit. Either way a few system calls, not one close() per
 * possible number (20,000 of them under a common `ulimit -n`). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/internal.h"
#include "features.h"
#if MPROC__LINUX_MECHANISMS
#  include <sys/syscall.h>
#endif
#include "open_fds.h"

static bool add(int **fds, size_t *n, size_t *cap, int fd) {
  if (*n == *cap) {
    size_t c = *cap ? *cap * 2 : 64;
    int *grown = realloc(*fds, c * sizeof *grown);
    if (!grown)
      return false;
    *fds = grown;
    *cap = c;
  }
  (*fds)[(*n)++] = fd;
  return true;
}

static int from_listing(int from, int **fds, size_t *n, size_t *cap) {
  DIR *d = opendir("/dev/fd");
  if (!d)
    return -1;
  int self = dirfd(d);
  struct dirent *e;
  bool ok = true;
  while (ok && (e = readdir(d))) {
    char *end;
    long fd = strtol(e->d_name, &end, 10);
    if (*end == '\0' && end != e->d_name && fd >= from && fd != self)
      ok = add(fds, n, cap, (int)fd);
  }
  closedir(d);
  return ok ? 0 : MPROC_ENOMEM;
}

static int by_polling(int from, int **fds, size_t *n, size_t *cap) {
  enum { BATCH = 1024 };
  long max = sysconf(_SC_OPEN_MAX);
  int end = max > 0 && max < (1 << 20) ? (int)max : 1 << 20;
  struct pollfd pfd[BATCH];
  for (int base = from; base < end; base += BATCH) {
    int k = end - base < BATCH ? end - base : BATCH;
    for (int i = 0; i < k; i++)
      pfd[i] = (struct pollfd){.fd = base + i, .events = 0};
    if (poll(pfd, (nfds_t)k, 0) < 0)
      return MPROC_ESYS;
    for (int i = 0; i < k; i++)
      if (!(pfd[i].revents & POLLNVAL) && !add(fds, n, cap, base + i))
        return MPROC_ENOMEM;
  }
  return 0;
}

int mproc__posix_open_fds(int from, int **fds, size_t *n) {
  size_t cap = 0;
  *fds = NULL;
  *n = 0;
  int rc = from_listing(from, fds, n, &cap);
  if (rc < 0) {
    *n = 0;
    rc = by_polling(from, fds, n, &cap);
  }
  if (rc) {
    free(*fds);
    *fds = NULL;
    *n = 0;
  }
  return rc;
}

bool mproc__posix_close_range(int from) {
#if MPROC__LINUX_MECHANISMS && defined(SYS_close_range)
  return syscall(SYS_close_range, (unsigned)from, ~0u, 0) == 0;
#else
  (void)from;
  return false;
#endif
}

void mproc__posix_close_from(int from) {
  if (mproc__posix_close_range(from))
    return;
  long max = sysconf(_SC_OPEN_MAX);
  for (int fd = from; fd < (max > 0 && max < 65536 ? (int)max : 65536); fd++)
    close(fd);
}
