/* Condition: a word in shared memory counts sleepers (high 16 bits) and
 * tickets (low 16 bits). wait registers a sleeper, releases the lock and
 * takes a ticket; notify(n) turns at most n sleepers into tickets. A
 * ticket is taken by exactly one waiter, so at most n waiters return
 * "notified" however the wake-ups race, and a waiter that times out either
 * removes itself as a sleeper or, if a notify already counted it, takes
 * its ticket: no notify is lost, none is counted twice. */
#include <stdlib.h>

#include "sync.h"

struct mproc_cond {
  mproc__sync_t s;
  mproc__sync_t *lock; /* an mproc_lock_t or mproc_rlock_t (they begin with it) */
  bool recursive;
};

#define SLEEPER 0x10000u
#define TICKETS 0xffffu

static mproc__park_word_t *park(const mproc_cond_t *c) { return c->s.mem; }
static _Atomic uint32_t *word(const mproc_cond_t *c) { return &park(c)->word; }
static mproc__mutex_t *mutex(const mproc_cond_t *c) { return c->lock->mem; }

static const mproc__sync_kind_t cond_kind = {"cond", sizeof(mproc_cond_t),
                                             sizeof(mproc__park_word_t), 1};

static int cond_new(mproc_cond_t **out, mproc__sync_t *lock, bool recursive) {
  int rc = mproc__sync_object_new(&cond_kind, (void **)out);
  if (rc)
    return rc;
  if (lock) {
    mproc__sync_retain(lock);
  } else if ((rc = recursive ? mproc_rlock_new((mproc_rlock_t **)&lock)
                             : mproc_lock_new((mproc_lock_t **)&lock))) {
    mproc__sync_object_free(*out);
    return rc;
  }
  (*out)->lock = lock;
  (*out)->recursive = recursive;
  return 0;
}

int mproc_cond_new(mproc_cond_t **out, mproc_lock_t *lock) {
  /* No lock: Python's default, an RLock. */
  return cond_new(out, (mproc__sync_t *)lock, lock == NULL);
}

int mproc_cond_new_rlock(mproc_cond_t **out, mproc_rlock_t *rlock) {
  return cond_new(out, (mproc__sync_t *)rlock, true);
}

int mproc_cond_acquire(mproc_cond_t *c, int timeout_ms) {
  if (!c)
    return mproc__fail(MPROC_EINVAL, "cond_acquire: condition is NULL");
  return mproc__mutex_acquire(c->lock, 0, mutex(c), c->recursive, timeout_ms);
}

int mproc_cond_release(mproc_cond_t *c) {
  if (!c)
    return mproc__fail(MPROC_EINVAL, "cond_release: condition is NULL");
  return mproc__mutex_release(c->lock, 0, mutex(c), c->recursive, !c->recursive);
}

static int check_held(const mproc_cond_t *c, const char *op) {
  if (!c)
    return mproc__fail(MPROC_EINVAL, "%s: condition is NULL", op);
  if (!mproc__mutex_is_mine(mutex(c)))
    return mproc__fail(MPROC_ESTATE, "%s: the calling thread does not hold the lock", op);
  return 0;
}

/* Takes a ticket, or on timeout leaves as a sleeper: true when notified. */
static bool await_ticket(mproc_cond_t *c, int64_t deadline) {
  bool timed_out = false;
  for (;;) {
    uint32_t w = atomic_load(word(c));
    if (w & TICKETS) {
      if (atomic_compare_exchange_weak(word(c), &w, w - 1))
        return true;
    } else if (timed_out) {
      if (atomic_compare_exchange_weak(word(c), &w, w - SLEEPER))
        return false;
    } else {
      timed_out = mproc__sync_wait(&c->s, 0, park(c), w, deadline) == MPROC_ETIMEDOUT;
    }
  }
}

int mproc_cond_wait(mproc_cond_t *c, int timeout_ms) {
  int rc = check_held(c, "cond_wait");
  if (rc)
    return rc;
  int64_t deadline = mproc__deadline(timeout_ms);
  uint32_t w = atomic_load(word(c));
  do {
    if ((w >> 16) == 0xffff)
      return mproc__fail(MPROC_ERANGE, "cond_wait: 65535 waiters already");
  } while (!atomic_compare_exchange_weak(word(c), &w, w + SLEEPER));
  uint32_t depth = mproc__mutex_release_all(c->lock, 0, mutex(c));
  bool notified = await_ticket(c, deadline);
  rc = mproc__mutex_restore(c->lock, 0, mutex(c), depth);
  return rc ? rc : notified ? 0 : mproc__sync_timed_out(&c->s, "wait");
}

int mproc_cond_notify(mproc_cond_t *c, unsigned n) {
  int rc = check_held(c, "cond_notify");
  if (rc)
    return rc;
  uint32_t w = atomic_load(word(c)), k;
  do {
    uint32_t sleepers = w >> 16;
    k = n < sleepers ? n : sleepers;
    if (k == 0)
      return 0;
  } while (!atomic_compare_exchange_weak(word(c), &w, w - k * SLEEPER + k));
  mproc__sync_wake(&c->s, 0, park(c), k);
  return 0;
}

int mproc_cond_notify_all(mproc_cond_t *c) { return mproc_cond_notify(c, 0xffffu); }

static void cond_release(void *obj) {
  mproc_cond_t *c = obj;
  if (c && mproc__sync_release(&c->s)) {
    mproc__sync_object_free(c->lock);
    mproc__sync_close(&c->s);
    free(c);
  }
}

void mproc_cond_free(mproc_cond_t *c) { cond_release(c); }

/* ---- as an argument: its own handles, then its lock's ------------------- */

enum { FLAG_RECURSIVE = 1 };

static int cond_export(const void *obj, intptr_t *h, size_t cap, size_t *n,
                       mproc__object_info_t *info) {
  const mproc_cond_t *c = obj;
  size_t mine, theirs;
  int rc = mproc__sync_export(&c->s, h, cap, &mine, info);
  if (rc)
    return rc;
  rc = mproc__sync_export(c->lock, h + mine, cap - mine, &theirs, info);
  if (rc) {
    for (size_t i = 0; i < mine; i++)
      mproc__os_close_handle(h[i]);
    return rc;
  }
  *n = mine + theirs;
  info->flags = c->recursive ? FLAG_RECURSIVE : 0;
  return 0;
}

static int cond_import(void **out, const intptr_t *h, size_t n, uint8_t flags,
                       mproc__info_reader_t *info) {
  bool recursive = flags & FLAG_RECURSIVE;
  const mproc__object_class_t *lock_class = recursive ? &mproc__rlock_class : &mproc__lock_class;
  size_t used;
  mproc_cond_t *c;
  int rc = mproc__sync_object_import(&cond_kind, (void **)&c, h, n, info, &used);
  if (rc) {
    for (; used < n; used++)
      mproc__os_close_handle(h[used]);
    return rc;
  }
  void *lock;
  rc = lock_class->import_handles(&lock, h + used, n - used, 0, info);
  if (rc) {
    mproc__sync_object_free(c);
    return rc;
  }
  c->lock = lock;
  c->recursive = recursive;
  *out = c;
  return 0;
}

const mproc__object_class_t mproc__cond_class = {
    MPROC_T_COND, "cond", cond_export, cond_import, mproc__sync_object_hold, cond_release};
MPROC__ARGS_ACCESSORS(cond, mproc_cond_t, mproc__cond_class)
