/* The robust mutex under Lock, RLock, the Barrier's state and a queue's
 * two sides (mutex.c): its layout in shared memory, the inline fast paths
 * and the rest. Apart from sync_object.h so that the objects that do not
 * use it (and sync_object.c) do not depend on mutex.c. */
#ifndef MPROC_SYNC_MUTEX_H
#define MPROC_SYNC_MUTEX_H

#include "sync/sync_object.h"

/* In shared memory: park word first. word = the holder's pid, with
 * MPROC__MUTEX_WAITERS set once anyone sleeps on it; 0 when free. */
typedef struct {
  mproc__park_word_t park;
  _Atomic uint64_t holder; /* pid << 32 | thread id of the holder; 0: none known */
  _Atomic uint64_t stamp;  /* pid << 32 | low bits of its start token */
  uint32_t depth;          /* RLock levels; only the holder touches it */
} mproc__mutex_t;

#define MPROC__MUTEX_WAITERS 0x80000000u
#define MPROC__MUTEX_PID 0x7fffffffu

/* Acquires m (park i of s). recursive: the holding thread counts a level.
 * 0, MPROC_EOWNERDEAD (acquired from a dead holder), MPROC_ETIMEDOUT,
 * MPROC_ERANGE (recursion depth). */
int mproc__mutex_acquire(const mproc__sync_t *s, size_t i, mproc__mutex_t *m, bool recursive,
                         int timeout_ms);
/* Records pid's start time as m's holder's (when another process held it
 * last). */
void mproc__mutex_stamp(mproc__mutex_t *m, uint32_t pid);
/* Records the caller (pid, tid), whose compare-and-swap took m. */
static inline void mproc__mutex_hold(mproc__mutex_t *m, uint32_t pid, uint32_t tid) {
  atomic_store_explicit(&m->holder, (uint64_t)pid << 32 | tid, memory_order_relaxed);
  /* The stamp is the same for every acquire from one process: a store
   * only when another process held it last. */
  if ((uint32_t)(atomic_load_explicit(&m->stamp, memory_order_relaxed) >> 32) !=
      (pid & MPROC__MUTEX_PID))
    mproc__mutex_stamp(m, pid);
  m->depth = 1;
}
/* Takes a non-recursive m if it is free now, without waiting; inline, so
 * that a user's uncontended Lock pays one call, as a bare futex lock
 * does (and a queue can look for its side lock to come free). */
static inline bool mproc__mutex_take_free(mproc__mutex_t *m) {
  uint32_t pid, tid, w = 0;
  mproc__self_ids(&pid, &tid);
  if (!atomic_compare_exchange_strong(&m->park.word, &w, pid & MPROC__MUTEX_PID))
    return false;
  mproc__mutex_hold(m, pid, tid);
  return true;
}
/* Lets m go, waking a sleeper if any. */
static inline void mproc__mutex_unlock(const mproc__sync_t *s, size_t i, mproc__mutex_t *m) {
  atomic_store_explicit(&m->holder, 0, memory_order_relaxed);
  m->depth = 0;
  if (atomic_exchange(&m->park.word, 0) & MPROC__MUTEX_WAITERS)
    mproc__sync_wake(s, i, &m->park, 1);
}
/* Releases m, held by any thread (Lock's Python semantics), inline; false
 * when it is not locked. */
static inline bool mproc__mutex_release_any(const mproc__sync_t *s, size_t i, mproc__mutex_t *m) {
  if (atomic_load_explicit(&m->park.word, memory_order_relaxed) == 0)
    return false;
  mproc__mutex_unlock(s, i, m);
  return true;
}
/* Releases one level (recursive) or the lock. any_thread: Lock's Python
 * semantics (anyone may release). MPROC_ESTATE when not held (by the
 * caller, unless any_thread). */
int mproc__mutex_release(const mproc__sync_t *s, size_t i, mproc__mutex_t *m, bool recursive,
                         bool any_thread);
/* Takes m over, without waiting, when the process holding it has died;
 * true when the caller now holds it (and must repair, as after
 * MPROC_EOWNERDEAD). false when m is free or its holder lives. */
bool mproc__mutex_take_from_dead(mproc__mutex_t *m);
/* Whether the calling thread holds m. */
bool mproc__mutex_is_mine(const mproc__mutex_t *m);
/* Condition.wait: releases every level, returning how many; and back. */
uint32_t mproc__mutex_release_all(const mproc__sync_t *s, size_t i, mproc__mutex_t *m);
int mproc__mutex_restore(const mproc__sync_t *s, size_t i, mproc__mutex_t *m, uint32_t depth);

#endif
