/* Mutexes and thread facts (Win32). */
#include <stdlib.h>
#include <windows.h>
/* after windows.h, which it needs */
#include <tlhelp32.h>

#include "core/internal.h"

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

struct mproc__os_cond {
  CONDITION_VARIABLE c;
};

int mproc__os_cond_new(mproc__os_cond_t **out) {
  mproc__os_cond_t *c = malloc(sizeof *c);
  if (!c)
    return mproc__fail(MPROC_ENOMEM, "condition: out of memory");
  InitializeConditionVariable(&c->c);
  *out = c;
  return 0;
}

int mproc__os_cond_wait(mproc__os_cond_t *c, mproc__os_mutex_t *m, int timeout_ms) {
  DWORD ms = timeout_ms < 0 ? INFINITE : (DWORD)timeout_ms;
  if (SleepConditionVariableSRW(&c->c, &m->lock, ms, 0))
    return 0;
  return GetLastError() == ERROR_TIMEOUT ? MPROC_ETIMEDOUT : 0;
}

void mproc__os_cond_broadcast(mproc__os_cond_t *c) { WakeAllConditionVariable(&c->c); }

void mproc__os_cond_free(mproc__os_cond_t *c) { free(c); }

struct mproc__os_thread {
  HANDLE h;
  DWORD id;
  void (*fn)(void *);
  void *arg;
};

static DWORD WINAPI thread_main(LPVOID p) {
  mproc__os_thread_t *t = p;
  t->fn(t->arg);
  return 0;
}

int mproc__os_thread_start(mproc__os_thread_t **out, void (*fn)(void *arg), void *arg) {
  mproc__os_thread_t *t = malloc(sizeof *t);
  if (!t)
    return mproc__fail(MPROC_ENOMEM, "thread: out of memory");
  t->fn = fn;
  t->arg = arg;
  t->h = CreateThread(NULL, 0, thread_main, t, 0, &t->id);
  if (!t->h) {
    int rc = mproc__os_fail("CreateThread");
    free(t);
    return rc;
  }
  *out = t;
  return 0;
}

void mproc__os_thread_join(mproc__os_thread_t *t) {
  if (!t)
    return;
  WaitForSingleObject(t->h, INFINITE);
  CloseHandle(t->h);
  free(t);
}

bool mproc__os_thread_is_current(const mproc__os_thread_t *t) {
  return t && t->id == GetCurrentThreadId();
}

void mproc__os_ignore_interrupts(void) { SetConsoleCtrlHandler(NULL, TRUE); }

void mproc__os_yield(void) { SwitchToThread(); }

int mproc__os_current_cpu(void) { return (int)GetCurrentProcessorNumber(); }

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
