/* Waiting on a word in shared memory, Windows: one unnamed semaphore per
 * word (inherited or duplicated into every process that uses it). A
 * sleeper counts itself in w->waiters before it re-checks the word, and a
 * waker changes the word before it reads the count, so one of them always
 * sees the other: no wake-up is lost. A token released for a sleeper that
 * then timed out, or was killed, stays in the semaphore and wakes a later
 * sleeper once, spuriously; callers re-check, as with a futex.
 *
 * Unlike a futex, a semaphore does not know who slept before a wake: a
 * sleeper arriving just after a wake-all (the next barrier round, an event
 * set again) can take a token meant for an earlier sleeper, which would
 * then sleep through a change it was owed. So a sleeper also looks at its
 * word every RECHECK_MS: such a theft costs at most that long, never a
 * hang. Under Wine it happens in about 5 of 1,000 rounds of a 4-process
 * barrier, each a hang before the re-check existed. */
#include <windows.h>

#include "../common/internal.h"

int mproc__os_park_new(intptr_t *handle) {
  HANDLE h = CreateSemaphoreW(NULL, 0, LONG_MAX, NULL);
  if (!h)
    return mproc__os_fail("CreateSemaphoreW");
  *handle = (intptr_t)h;
  return 0;
}

bool mproc__os_park_has_handles(void) { return true; }

enum { RECHECK_MS = 20 };

int mproc__os_park_wait(intptr_t handle, mproc__park_word_t *w, uint32_t expected, int timeout_ms) {
  ULONGLONG deadline = timeout_ms < 0 ? 0 : GetTickCount64() + (ULONGLONG)timeout_ms;
  int rc = 0;
  atomic_fetch_add(&w->waiters, 1);
  while (atomic_load(&w->word) == expected) {
    DWORD slice = RECHECK_MS;
    if (timeout_ms >= 0) {
      ULONGLONG now = GetTickCount64();
      if (now >= deadline) {
        rc = MPROC_ETIMEDOUT;
        break;
      }
      if (deadline - now < slice)
        slice = (DWORD)(deadline - now);
    }
    if (WaitForSingleObject((HANDLE)handle, slice) == WAIT_OBJECT_0)
      break; /* woken: the caller re-checks, as after a futex wake */
  }
  atomic_fetch_sub(&w->waiters, 1);
  return rc;
}

void mproc__os_park_wake(intptr_t handle, mproc__park_word_t *w, uint32_t n) {
  uint32_t sleepers = atomic_load(&w->waiters);
  if (sleepers == 0)
    return;
  if (n > sleepers)
    n = sleepers;
  ReleaseSemaphore((HANDLE)handle, n > LONG_MAX ? LONG_MAX : (LONG)n, NULL);
}
