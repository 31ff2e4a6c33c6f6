/* Condition: Python's semantics over shared memory - a notify wakes only
 * waiters that were already waiting when it was called, notify(n) at most
 * n of them, notify_all all of them.
 *
 * Waiters belong to generations. A waiter joins the open generation; a
 * notify closes it (its waiters become eligible) and hands out at most n
 * tickets, never more than there are eligible waiters without one. Only an
 * eligible waiter may take a ticket, so a wait that starts after a notify
 * (the notifier's own, say) cannot take what that notify handed out. Every
 * count changes under the condition's lock, which every waiter holds when
 * it registers and takes back before it returns: a waiter that timed out
 * but was handed a ticket meanwhile takes it and returns notified, so no
 * notification is lost and none counts twice.
 *
 * A notify bumps a sequence word and wakes every sleeper (not just n):
 * the sleepers re-check under the lock, and a wakee killed before it could
 * look cannot swallow the wake-up another waiter was owed. */
#include <stdlib.h>

#include "sync/mutex.h"

struct mproc_cond {
  mproc__sync_t s;
  mproc__sync_t *lock; /* an mproc_lock_t or mproc_rlock_t (they begin with it) */
  bool recursive;
};

/* Everything but the sequence word changes only under the lock; atomics
 * with relaxed order because the lock orders them, and several processes
 * (which no race detector sees) share them. */
typedef struct {
  mproc__park_word_t seq;    /* bumped by every notify that hands out tickets */
  _Atomic uint32_t gen;      /* bumped by every notify: closes the open generation */
  _Atomic uint32_t open;     /* waiters that came since the last notify */
  _Atomic uint32_t eligible; /* earlier waiters that have no ticket yet */
  _Atomic uint32_t tickets;  /* notifications not taken yet; never above eligible */
} cond_state_t;

#define MAX_WAITERS 0x40000000u

static cond_state_t *state(const mproc_cond_t *c) { return c->s.mem; }
static mproc__mutex_t *mutex(const mproc_cond_t *c) { return c->lock->mem; }

static uint32_t get(_Atomic uint32_t *v) { return atomic_load_explicit(v, memory_order_relaxed); }
static void put(_Atomic uint32_t *v, uint32_t x) {
  atomic_store_explicit(v, x, memory_order_relaxed);
}
/* Saturating: counts left wrong by a process killed half-way through an
 * update must not wrap. */
static void drop(_Atomic uint32_t *v) {
  uint32_t x = get(v);
  put(v, x ? x - 1 : 0);
}

static const mproc__sync_kind_t cond_kind = {"cond", sizeof(mproc_cond_t), sizeof(cond_state_t), 1};

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
  int rc = mproc__check_timeout("cond_acquire", timeout_ms);
  return rc ? rc : mproc__mutex_acquire(c->lock, 0, mutex(c), c->recursive, timeout_ms);
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

/* Under the lock: takes a ticket if this waiter (of generation g) may. */
static bool take_ticket(cond_state_t *st, uint32_t g) {
  if (get(&st->gen) == g || get(&st->tickets) == 0)
    return false;
  drop(&st->tickets);
  drop(&st->eligible);
  return true;
}

/* Under the lock: a waiter of generation g leaves without a ticket. */
static void leave(cond_state_t *st, uint32_t g) {
  drop(get(&st->gen) == g ? &st->open : &st->eligible);
}

int mproc_cond_wait(mproc_cond_t *c, int timeout_ms) {
  int rc = check_held(c, "cond_wait");
  if (!rc)
    rc = mproc__check_timeout("cond_wait", timeout_ms);
  if (rc)
    return rc;
  cond_state_t *st = state(c);
  if (get(&st->open) + get(&st->eligible) >= MAX_WAITERS)
    return mproc__fail(MPROC_ERANGE, "cond_wait: %u waiters already", MAX_WAITERS);
  int64_t deadline = mproc__deadline(timeout_ms);
  uint32_t g = get(&st->gen);
  put(&st->open, get(&st->open) + 1);
  for (;;) {
    /* Read under the lock: a notify after the release below changes it. */
    uint32_t seen = atomic_load(&st->seq.word);
    uint32_t depth = mproc__mutex_release_all(c->lock, 0, mutex(c));
    bool timed_out = mproc__sync_wait(&c->s, 0, &st->seq, seen, deadline) == MPROC_ETIMEDOUT ||
                     mproc__remaining_ms(deadline) == 0;
    rc = mproc__mutex_restore(c->lock, 0, mutex(c), depth);
    if (take_ticket(st, g))
      return rc; /* notified: 0, or MPROC_EOWNERDEAD */
    if (timed_out || rc) {
      leave(st, g);
      return rc ? rc : mproc__sync_timed_out(&c->s, "wait");
    }
  }
}

int mproc_cond_wait_for(mproc_cond_t *c, mproc_cond_predicate_fn predicate, void *ctx,
                        int timeout_ms) {
  int rc = check_held(c, "cond_wait_for");
  if (!rc)
    rc = mproc__check_timeout("cond_wait_for", timeout_ms);
  if (rc)
    return rc;
  if (!predicate)
    return mproc__fail(MPROC_EINVAL, "cond_wait_for: predicate is NULL");
  int64_t deadline = mproc__deadline(timeout_ms);
  while (!predicate(ctx)) {
    int left = mproc__remaining_ms(deadline);
    if (left == 0)
      return mproc__sync_timed_out(&c->s, "wait_for");
    rc = mproc_cond_wait(c, left);
    if (rc && rc != MPROC_ETIMEDOUT)
      return rc; /* the lock is held; MPROC_EOWNERDEAD: the state may need repair */
  }
  return 0;
}

int mproc_cond_notify(mproc_cond_t *c, unsigned n) {
  int rc = check_held(c, "cond_notify");
  if (rc || n == 0)
    return rc;
  cond_state_t *st = state(c);
  uint32_t open = get(&st->open);
  if (open) {
    put(&st->eligible, get(&st->eligible) + open);
    put(&st->open, 0);
    put(&st->gen, get(&st->gen) + 1);
  }
  uint32_t eligible = get(&st->eligible), tickets = get(&st->tickets);
  uint32_t unticketed = eligible > tickets ? eligible - tickets : 0;
  uint32_t k = n < unticketed ? n : unticketed;
  if (k == 0)
    return 0;
  put(&st->tickets, tickets + k);
  atomic_fetch_add(&st->seq.word, 1);
  mproc__sync_wake(&c->s, 0, &st->seq, MPROC__WAKE_ALL);
  return 0;
}

int mproc_cond_notify_all(mproc_cond_t *c) { return mproc_cond_notify(c, UINT32_MAX); }

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
    MPROC_T_COND, "cond", cond_export, cond_import, mproc__sync_object_hold, cond_release, false};
MPROC__ARGS_ACCESSORS(cond, mproc_cond_t, mproc__cond_class)
