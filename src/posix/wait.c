/* Waiting on many descriptors at once (POSIX): poll(). */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdlib.h>

#include "core/internal.h"

int mproc__os_wait_handles(const intptr_t *handles, size_t n, int timeout_ms, bool *ready) {
  struct pollfd one, *fds = n <= 1 ? &one : malloc(n * sizeof *fds);
  if (!fds)
    return mproc__fail(MPROC_ENOMEM, "wait: out of memory");
  for (size_t i = 0; i < n; i++)
    fds[i] = (struct pollfd){.fd = (int)handles[i], .events = POLLIN};
  int r;
  do {
    r = poll(fds, (nfds_t)n, timeout_ms);
  } while (r < 0 && errno == EINTR);
  int rc = r < 0 ? mproc__os_fail("wait: poll") : r == 0 ? MPROC_ETIMEDOUT : 0;
  for (size_t i = 0; i < n && r > 0; i++)
    ready[i] = (fds[i].revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL)) != 0;
  if (fds != &one)
    free(fds);
  return rc;
}
