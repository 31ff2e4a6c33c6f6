/* Waiting on a word in shared memory, Windows: one unnamed semaphore per
 * word (inherited or duplicated into every process that uses it), its
 * count the word's wake-up tokens; the protocol is common/token_park.c's. */
#include <windows.h>

#include "core/internal.h"

int mproc__os_park_new(intptr_t *handle) {
  HANDLE h = CreateSemaphoreW(NULL, 0, LONG_MAX, NULL);
  if (!h)
    return mproc__os_fail("CreateSemaphoreW");
  *handle = (intptr_t)h;
  return 0;
}

bool mproc__os_park_has_handles(void) { return true; }

static bool take(intptr_t handle, int ms) {
  return WaitForSingleObject((HANDLE)handle, (DWORD)ms) == WAIT_OBJECT_0;
}

static void put(intptr_t handle, uint32_t n) {
  ReleaseSemaphore((HANDLE)handle, n > LONG_MAX ? LONG_MAX : (LONG)n, NULL);
}

int mproc__os_park_wait(intptr_t handle, mproc__park_word_t *w, uint32_t expected, int timeout_ms) {
  return mproc__token_park_wait(handle, w, expected, timeout_ms, take);
}

void mproc__os_park_wake(intptr_t handle, mproc__park_word_t *w, uint32_t n) {
  mproc__token_park_wake(handle, w, n, put);
}
