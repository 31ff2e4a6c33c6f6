/* Waiting on a word in shared memory, Linux: the futex system call on the
 * word itself (shared futexes, since each process maps the region at its
 * own address); no kernel object per word. Other POSIX systems, and the
 * generic build: park_fifo.c. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "core/internal.h"

int mproc__os_park_new(intptr_t *handle) {
  *handle = -1;
  return 0;
}

static int sleep_on(mproc__park_word_t *w, uint32_t expected, int timeout_ms) {
  struct timespec ts, *tp = NULL;
  if (timeout_ms >= 0) {
    ts.tv_sec = timeout_ms / 1000;
    ts.tv_nsec = (long)(timeout_ms % 1000) * 1000000L;
    tp = &ts;
  }
  long r = syscall(SYS_futex, (uint32_t *)&w->word, FUTEX_WAIT, expected, tp, NULL, 0);
  return r != 0 && errno == ETIMEDOUT ? MPROC_ETIMEDOUT : 0; /* EAGAIN, EINTR: re-check */
}

static void wake(mproc__park_word_t *w, uint32_t n) {
  syscall(SYS_futex, (uint32_t *)&w->word, FUTEX_WAKE, n > INT_MAX ? INT_MAX : (int)n, NULL, NULL,
          0);
}

bool mproc__os_park_has_handles(void) { return false; }

int mproc__os_park_wait(intptr_t handle, mproc__park_word_t *w, uint32_t expected, int timeout_ms) {
  (void)handle;
  atomic_fetch_add(&w->waiters, 1);
  int rc = sleep_on(w, expected, timeout_ms);
  atomic_fetch_sub(&w->waiters, 1);
  return rc;
}

void mproc__os_park_wake(intptr_t handle, mproc__park_word_t *w, uint32_t n) {
  (void)handle;
  if (atomic_load(&w->waiters) > 0)
    wake(w, n);
}
