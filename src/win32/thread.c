/* Mutexes and thread facts (Win32). */
#include <stdlib.h>
#include <windows.h>
/* after windows.h, which it needs */
#include <tlhelp32.h>

#include "../common/internal.h"

struct mproc__os_mutex {
  SRWLOCK lock;
};

int mproc__os_mutex_new(mproc__os_mutex_t **out) {
  mproc__os_mutex_t *m = malloc(sizeof *m);
  if (!m)
    return mproc__fail(MPROC_ENOMEM, "mutex: out of memory");
  InitializeSRWLock(&m->lock);
  *out = m;
  return 0;
}

void mproc__os_mutex_lock(mproc__os_mutex_t *m) { AcquireSRWLockExclusive(&m->lock); }

void mproc__os_mutex_unlock(mproc__os_mutex_t *m) { ReleaseSRWLockExclusive(&m->lock); }

void mproc__os_mutex_free(mproc__os_mutex_t *m) { free(m); }

int mproc__os_thread_count(void) {
  HANDLE snap = CreateToolhelp32Snapshot(TH32CS_SNAPTHREAD, 0);
  if (snap == INVALID_HANDLE_VALUE)
    return 0;
  THREADENTRY32 te = {.dwSize = sizeof te};
  DWORD self = GetCurrentProcessId();
  int n = 0;
  for (BOOL ok = Thread32First(snap, &te); ok; ok = Thread32Next(snap, &te))
    n += te.th32OwnerProcessID == self;
  CloseHandle(snap);
  return n;
}

bool mproc__os_is_main_thread(void) {
  /* Windows has no parent-death signal tied to a thread, so nothing
   * depends on this answer there. */
  return true;
}
