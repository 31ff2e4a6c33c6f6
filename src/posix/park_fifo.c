/* Waiting on a word in shared memory without futexes (the generic POSIX
 * build): one anonymous FIFO per word holds wake-up tokens, inherited or
 * dup'd into every process that uses the word - Windows' semaphore design
 * (src/win32/park.c), with a byte for a token.
 *
 * A sleeper counts itself in w->waiters before it re-checks the word, and
 * a waker changes the word before it reads the count, so one of them always
 * sees the other: no wake-up is lost. A token left by a sleeper that timed
 * out or was killed wakes a later sleeper once, spuriously; callers
 * re-check, as with a futex. And as on Windows, a token does not know whom
 * it was meant for - a sleeper arriving just after a wake-all can take one
 * owed to an earlier sleeper - so sleepers also look at their word every
 * RECHECK_MS: such a theft costs at most that long, never a hang. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>

#include "../common/internal.h"
#include "fifo.h"

int mproc__os_park_new(intptr_t *handle) {
  int fd;
  int rc = mproc__posix_fifo_new(&fd, "wait word");
  if (rc == 0)
    *handle = fd;
  return rc;
}

bool mproc__os_park_has_handles(void) { return true; }

enum { RECHECK_MS = 20 };

int mproc__os_park_wait(intptr_t handle, mproc__park_word_t *w, uint32_t expected, int timeout_ms) {
  int64_t deadline = mproc__deadline(timeout_ms);
  int rc = 0;
  atomic_fetch_add(&w->waiters, 1);
  while (atomic_load(&w->word) == expected) {
    int left = mproc__remaining_ms(deadline);
    if (left == 0) {
      rc = MPROC_ETIMEDOUT;
      break;
    }
    struct pollfd pfd = {.fd = (int)handle, .events = POLLIN};
    if (poll(&pfd, 1, left < 0 || left > RECHECK_MS ? RECHECK_MS : left) > 0 &&
        mproc__posix_fifo_take((int)handle))
      break; /* woken: the caller re-checks, as after a futex wake */
  }
  atomic_fetch_sub(&w->waiters, 1);
  return rc;
}

void mproc__os_park_wake(intptr_t handle, mproc__park_word_t *w, uint32_t n) {
  uint32_t sleepers = atomic_load(&w->waiters);
  if (sleepers == 0)
    return;
  mproc__posix_fifo_put((int)handle, n < sleepers ? n : sleepers);
}
