/* Waiting on a word through a kernel object that holds wake-up tokens - a
 * Windows semaphore, a generic POSIX FIFO - written once for both.
 *
 * A sleeper counts itself in w->waiters before it re-checks the word, and
 * a waker changes the word before it reads the count, so one of them always
 * sees the other: no wake-up is lost. A token released for a sleeper that
 * then timed out, or was killed, stays in the object and wakes a later
 * sleeper once, spuriously; callers re-check, as with a futex.
 *
 * Unlike a futex, a token object does not know who slept before a wake: a
 * sleeper arriving just after a wake-all (the next barrier round, an event
 * set again) can take a token meant for an earlier sleeper, which would
 * then sleep through a change it was owed. So a sleeper also looks at its
 * word every RECHECK_MS: such a theft costs at most that long, never a
 * hang. Under Wine it happens in about 5 of 1,000 rounds of a 4-process
 * barrier, each a hang before the re-check existed. */
#include "core/internal.h"

enum { RECHECK_MS = 20 };

int mproc__token_park_wait(intptr_t handle, mproc__park_word_t *w, uint32_t expected,
                           int timeout_ms, mproc__take_token_fn take) {
  int64_t deadline = mproc__deadline(timeout_ms);
  int rc = 0;
  atomic_fetch_add(&w->waiters, 1);
  while (atomic_load(&w->word) == expected) {
    int left = mproc__remaining_ms(deadline);
    if (left == 0) {
      rc = MPROC_ETIMEDOUT;
      break;
    }
    if (take(handle, left < 0 || left > RECHECK_MS ? RECHECK_MS : left))
      break; /* woken: the caller re-checks, as after a futex wake */
  }
  atomic_fetch_sub(&w->waiters, 1);
  return rc;
}

void mproc__token_park_wake(intptr_t handle, mproc__park_word_t *w, uint32_t n,
                            mproc__put_tokens_fn put) {
  uint32_t sleepers = atomic_load(&w->waiters);
  if (sleepers > 0)
    put(handle, n < sleepers ? n : sleepers);
}
