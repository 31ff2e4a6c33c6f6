/* Waiting on a word in shared memory without futexes (the generic POSIX
 * build): one anonymous FIFO per word holds wake-up tokens, a byte each,
 * inherited or dup'd into every process that uses the word - Windows'
 * semaphore design, with the protocol in common/token_park.c. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>

#include "core/internal.h"
#include "fifo.h"

int mproc__os_park_new(intptr_t *handle) {
  int fd;
  int rc = mproc__posix_fifo_new(&fd, "wait word");
  if (rc == 0)
    *handle = fd;
  return rc;
}

bool mproc__os_park_has_handles(void) { return true; }

static bool take(intptr_t handle, int ms) {
  struct pollfd pfd = {.fd = (int)handle, .events = POLLIN};
  return poll(&pfd, 1, ms) > 0 && mproc__posix_fifo_take((int)handle);
}

static void put(intptr_t handle, uint32_t n) { mproc__posix_fifo_put((int)handle, n); }

int mproc__os_park_wait(intptr_t handle, mproc__park_word_t *w, uint32_t expected, int timeout_ms) {
  return mproc__token_park_wait(handle, w, expected, timeout_ms, take);
}

void mproc__os_park_wake(intptr_t handle, mproc__park_word_t *w, uint32_t n) {
  mproc__token_park_wake(handle, w, n, put);
}
