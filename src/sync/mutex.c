/* The robust mutex under Lock, RLock and the Barrier's state.
 *
 * The park word holds the holder's pid (plus a bit once anyone sleeps), so
 * taking a free lock is one compare-and-swap and releasing one exchange,
 * with a system call only to wake a sleeper. Knowing the holder's pid from
 * the word itself leaves no moment where a lock is held by nobody known:
 * if the holder dies - even between its compare-and-swap and its next
 * store - a sleeper that has slept a full slice (OWNER_CHECK_MS) asks the
 * OS whether that process still exists and, if not, takes the lock over
 * with MPROC_EOWNERDEAD, like a robust pthread mutex. `stamp` adds the
 * holder's start time so a pid reused by a later process is not mistaken
 * for the holder; it is trusted only while its pid matches the word's. */
#include "sync/mutex.h"

enum { OWNER_CHECK_MS = 100 };
/* No spinning before sleeping, unlike Semaphore and Event: processes that
 * hammer one lock get more done when the loser sleeps and the winner keeps
 * the cache line (measured by bench_sync: about 4x the throughput). */

static uint64_t pack(uint32_t hi, uint32_t lo) { return (uint64_t)hi << 32 | lo; }

void mproc__mutex_stamp(mproc__mutex_t *m, uint32_t pid) {
  atomic_store_explicit(&m->stamp,
                        pack(pid & MPROC__MUTEX_PID, (uint32_t)mproc__os_self_start_token()),
                        memory_order_relaxed);
}

static bool held_by(const mproc__mutex_t *m, uint32_t pid, uint32_t tid) {
  uint32_t w = atomic_load(&m->park.word);
  return (w & MPROC__MUTEX_PID) == (pid & MPROC__MUTEX_PID) &&
         atomic_load_explicit(&m->holder, memory_order_relaxed) == pack(pid, tid);
}

bool mproc__mutex_is_mine(const mproc__mutex_t *m) {
  uint32_t pid, tid;
  mproc__self_ids(&pid, &tid);
  return held_by(m, pid, tid);
}

/* Whether the process named by word w has died holding the lock. */
static bool holder_died(const mproc__mutex_t *m, uint32_t w) {
  uint32_t pid = w & MPROC__MUTEX_PID;
  uint64_t stamp = atomic_load(&m->stamp);
  return mproc__os_process_gone(pid, (uint32_t)(stamp >> 32) == pid ? (uint32_t)stamp : 0);
}

bool mproc__mutex_take_from_dead(mproc__mutex_t *m) {
  uint32_t w = atomic_load(&m->park.word);
  if (w == 0 || !holder_died(m, w))
    return false;
  uint32_t pid, tid;
  mproc__self_ids(&pid, &tid);
  if (!atomic_compare_exchange_strong(&m->park.word, &w,
                                      (pid & MPROC__MUTEX_PID) | MPROC__MUTEX_WAITERS))
    return false;
  mproc__mutex_hold(m, pid, tid);
  return true;
}

int mproc__mutex_acquire(const mproc__sync_t *s, size_t i, mproc__mutex_t *m, bool recursive,
                         int timeout_ms) {
  uint32_t pid, tid;
  mproc__self_ids(&pid, &tid);
  uint32_t me = pid & MPROC__MUTEX_PID;
  if (recursive && held_by(m, pid, tid)) {
    if (m->depth == UINT32_MAX)
      return mproc__fail(MPROC_ERANGE, "rlock_acquire: %u levels already", m->depth);
    m->depth++;
    return 0;
  }
  uint32_t w = 0;
  if (atomic_compare_exchange_strong(&m->park.word, &w, me)) {
    mproc__mutex_hold(m, pid, tid);
    return 0;
  }
  int64_t deadline = mproc__deadline(timeout_ms);
  for (;;) {
    w = atomic_load(&m->park.word);
    if (w == 0) {
      /* Taken after sleeping: others may sleep too, so keep the bit. */
      if (atomic_compare_exchange_strong(&m->park.word, &w, me | MPROC__MUTEX_WAITERS)) {
        mproc__mutex_hold(m, pid, tid);
        return 0;
      }
      continue;
    }
    if (!(w & MPROC__MUTEX_WAITERS)) {
      if (!atomic_compare_exchange_strong(&m->park.word, &w, w | MPROC__MUTEX_WAITERS))
        continue;
      w |= MPROC__MUTEX_WAITERS;
    }
    int left = mproc__remaining_ms(deadline);
    if (left == 0)
      return mproc__sync_timed_out(s, "acquire");
    int slice = left < 0 || left > OWNER_CHECK_MS ? OWNER_CHECK_MS : left;
    if (mproc__os_park_wait(s->parks[i], &m->park, w, slice) == MPROC_ETIMEDOUT &&
        atomic_load(&m->park.word) == w && holder_died(m, w) &&
        atomic_compare_exchange_strong(&m->park.word, &w, me | MPROC__MUTEX_WAITERS)) {
      mproc__mutex_hold(m, pid, tid);
      mproc__fail(MPROC_EOWNERDEAD, "%s: process %u died holding it", s->name,
                  w & MPROC__MUTEX_PID);
      return MPROC_EOWNERDEAD;
    }
  }
}

int mproc__mutex_release(const mproc__sync_t *s, size_t i, mproc__mutex_t *m, bool recursive,
                         bool any_thread) {
  if (any_thread ? atomic_load(&m->park.word) == 0 : !mproc__mutex_is_mine(m))
    return mproc__fail(MPROC_ESTATE, "%s_release: %s", s->name,
                       any_thread ? "it is not locked" : "the calling thread does not hold it");
  if (recursive && m->depth > 1) {
    m->depth--;
    return 0;
  }
  mproc__mutex_unlock(s, i, m);
  return 0;
}

uint32_t mproc__mutex_release_all(const mproc__sync_t *s, size_t i, mproc__mutex_t *m) {
  uint32_t depth = m->depth;
  mproc__mutex_unlock(s, i, m);
  return depth;
}

int mproc__mutex_restore(const mproc__sync_t *s, size_t i, mproc__mutex_t *m, uint32_t depth) {
  int rc = mproc__mutex_acquire(s, i, m, false, MPROC_INFINITE);
  m->depth = depth;
  return rc;
}
