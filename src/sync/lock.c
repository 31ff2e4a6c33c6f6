/* Lock and RLock: the robust mutex (mutex.c) alone in its region. */
#include "sync/mutex.h"

struct mproc_lock {
  mproc__sync_t s;
};
struct mproc_rlock {
  mproc__sync_t s;
};

static mproc__mutex_t *state(const mproc__sync_t *s) { return s->mem; }

static const mproc__sync_kind_t lock_kind = {"lock", sizeof(mproc_lock_t), sizeof(mproc__mutex_t),
                                             1};
static const mproc__sync_kind_t rlock_kind = {"rlock", sizeof(mproc_rlock_t),
                                              sizeof(mproc__mutex_t), 1};

int mproc_lock_new(mproc_lock_t **out) { return mproc__sync_object_new(&lock_kind, (void **)out); }

int mproc_lock_acquire(mproc_lock_t *l, int timeout_ms) {
  if (!l)
    return mproc__fail(MPROC_EINVAL, "lock_acquire: lock is NULL");
  int rc = mproc__check_timeout("lock_acquire", timeout_ms);
  if (rc || mproc__mutex_take_free(state(&l->s)))
    return rc;
  return mproc__mutex_acquire(&l->s, 0, state(&l->s), false, timeout_ms);
}

int mproc_lock_release(mproc_lock_t *l) {
  if (!l)
    return mproc__fail(MPROC_EINVAL, "lock_release: lock is NULL");
  if (!mproc__mutex_release_any(&l->s, 0, state(&l->s)))
    return mproc__fail(MPROC_ESTATE, "lock_release: it is not locked");
  return 0;
}

int mproc_lock_locked(const mproc_lock_t *l) {
  if (!l)
    return mproc__fail(MPROC_EINVAL, "lock_locked: lock is NULL");
  return atomic_load(&state(&l->s)->park.word) != 0;
}

void mproc_lock_free(mproc_lock_t *l) { mproc__sync_object_free(l); }

int mproc_rlock_new(mproc_rlock_t **out) {
  return mproc__sync_object_new(&rlock_kind, (void **)out);
}

int mproc_rlock_acquire(mproc_rlock_t *l, int timeout_ms) {
  if (!l)
    return mproc__fail(MPROC_EINVAL, "rlock_acquire: lock is NULL");
  int rc = mproc__check_timeout("rlock_acquire", timeout_ms);
  return rc ? rc : mproc__mutex_acquire(&l->s, 0, state(&l->s), true, timeout_ms);
}

int mproc_rlock_release(mproc_rlock_t *l) {
  if (!l)
    return mproc__fail(MPROC_EINVAL, "rlock_release: lock is NULL");
  return mproc__mutex_release(&l->s, 0, state(&l->s), true, false);
}

int mproc_rlock_locked(const mproc_rlock_t *l) {
  if (!l)
    return mproc__fail(MPROC_EINVAL, "rlock_locked: lock is NULL");
  return atomic_load(&state(&l->s)->park.word) != 0;
}

void mproc_rlock_free(mproc_rlock_t *l) { mproc__sync_object_free(l); }

MPROC__SYNC_CLASS(mproc__lock_class, MPROC_T_LOCK, lock_kind, "lock")
MPROC__SYNC_CLASS(mproc__rlock_class, MPROC_T_RLOCK, rlock_kind, "rlock")
MPROC__ARGS_ACCESSORS(lock, mproc_lock_t, mproc__lock_class)
MPROC__ARGS_ACCESSORS(rlock, mproc_rlock_t, mproc__rlock_class)
