/* Who is running: getpid() and gettid() are system calls in current
 * glibc, too slow for a lock's fast path, so the pid is cached here and
 * both ids per thread in core/self_ids.h; a forked child drops both
 * caches (pthread_atfork). Whether
 * another process has ended: kill(pid, 0), then what the system tells
 * beyond it (os.h: zombies, reused pids). */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/internal.h"
#include "core/self_ids.h"
#include "features.h"
#if MPROC__LINUX_MECHANISMS
#  include <sys/syscall.h>
#endif
#include "os.h"

static _Atomic uint32_t cached_pid;
static _Atomic uint64_t cached_start;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void after_fork_in_child(void) {
  atomic_store(&cached_pid, 0);
  atomic_store(&cached_start, 0);
  mproc__self_forked(); /* every thread's cached ids (core/self_ids.h) */
}

static void register_atfork(void) { pthread_atfork(NULL, NULL, after_fork_in_child); }

static uint32_t os_tid(void) {
#if MPROC__LINUX_MECHANISMS
  return (uint32_t)syscall(SYS_gettid);
#else
  /* Any number unique among this process's threads will do (it names a
   * lock's owner next to the pid): a counter, never a truncated
   * pthread_t. Starts above any pid so it is never taken for one. */
  static _Atomic uint32_t next = 1u << 30;
  return atomic_fetch_add(&next, 1);
#endif
}

void mproc__os_self_ids(uint32_t *pid, uint32_t *tid) {
  uint32_t p = atomic_load_explicit(&cached_pid, memory_order_relaxed);
  if (!p) {
    pthread_once(&atfork_once, register_atfork);
    p = (uint32_t)getpid();
    atomic_store(&cached_pid, p);
  }
  *pid = p;
  *tid = os_tid();
}

uint64_t mproc__os_self_start_token(void) {
  uint64_t t = atomic_load_explicit(&cached_start, memory_order_relaxed);
  if (t)
    return t;
  uint32_t pid, tid;
  mproc__self_ids(&pid, &tid);
  t = mproc__posix_start_token(pid);
  atomic_store(&cached_start, t);
  return t;
}

uint64_t mproc__os_process_start_token(uint32_t pid) { return mproc__posix_start_token(pid); }

bool mproc__os_process_gone(uint32_t pid, uint32_t start) {
  if (pid == 0)
    return false;
  if (kill((pid_t)pid, 0) != 0 && errno == ESRCH)
    return true;
  return mproc__posix_process_gone(pid, start);
}
