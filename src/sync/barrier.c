/* Barrier: Python's threading.Barrier algorithm over shared memory. A
 * robust mutex (park 0) guards the state; changes of state are announced
 * by bumping a sequence word (park 1) and waking everyone, who re-check.
 * If a process dies holding the mutex, the next one breaks the barrier
 * (its count may be off), so the others see MPROC_EBROKEN, not a hang.
 *
 * The action (Python's Barrier(action=...)) is stored as a function
 * reference in the shared state, so whichever process arrives last can run
 * it: each process resolves it in its own address space, once. */
#include <string.h>

#include "args/fnref.h"
#include "sync/mutex.h"

struct mproc_barrier {
  mproc__sync_t s;
  mproc_barrier_action_fn action; /* this process's address of the action */
  bool resolved;
};

enum { FILLING = 0, DRAINING = 1, RESETTING = -1, BROKEN = -2 };
#define MAX_PARTIES 32767u

typedef struct {
  mproc__mutex_t mutex;   /* park 0 */
  mproc__park_word_t seq; /* park 1 */
  int32_t state;
  uint32_t count;
  uint32_t parties;
  int32_t timeout_ms;  /* the default for MPROC_DEFAULT_TIMEOUT */
  uint32_t action_len; /* 0: no action */
  unsigned char action[MPROC__FNREF_PACKED_MAX];
} barrier_state_t;

static barrier_state_t *state(const mproc_barrier_t *b) { return b->s.mem; }

static const mproc__sync_kind_t barrier_kind = {"barrier", sizeof(mproc_barrier_t),
                                                sizeof(barrier_state_t), 2};

int mproc_barrier_new_opts(mproc_barrier_t **out, unsigned parties,
                           const mproc_barrier_opts_t *opts) {
  if (parties == 0 || parties > MAX_PARTIES)
    return mproc__fail(MPROC_EINVAL, "barrier_new: %u parties (1 to %u)", parties, MAX_PARTIES);
  mproc_barrier_opts_t o = opts ? *opts : (mproc_barrier_opts_t){0};
  if (MPROC__CHECK_RESERVED("barrier_new", &o))
    return MPROC_EINVAL;
  if (o.timeout_ms < 0 && o.timeout_ms != MPROC_INFINITE)
    return mproc__fail(MPROC_EINVAL, "barrier_new: default timeout %d ms is negative",
                       o.timeout_ms);
  unsigned char action[MPROC__FNREF_PACKED_MAX];
  size_t action_len = 0;
  int rc = o.action
               ? mproc__fnref_pack_fn((mproc__fn_t)o.action, action, sizeof action, &action_len)
               : 0;
  if (rc) {
    mproc__error_prefix("barrier_new: action");
    return rc;
  }
  rc = mproc__sync_object_new(&barrier_kind, (void **)out);
  if (rc)
    return rc;
  barrier_state_t *st = state(*out);
  st->parties = parties;
  st->timeout_ms = o.timeout_ms == 0 ? MPROC_INFINITE : o.timeout_ms;
  st->action_len = (uint32_t)action_len;
  memcpy(st->action, action, action_len);
  (*out)->action = o.action;
  (*out)->resolved = true;
  return 0;
}

int mproc_barrier_new(mproc_barrier_t **out, unsigned parties) {
  return mproc_barrier_new_opts(out, parties, NULL);
}

/* The last party's duty, under the mutex: 0, or why the barrier breaks. */
static int run_action(mproc_barrier_t *b) {
  barrier_state_t *st = state(b);
  if (st->action_len == 0)
    return 0;
  if (!b->resolved) {
    mproc__fn_t fn;
    int rc = st->action_len > sizeof st->action
                 ? mproc__fail(MPROC_EPROTO, "the stored action is corrupt")
                 : mproc__fnref_unpack_resolve(st->action, st->action_len, &fn);
    if (rc) {
      mproc__error_prefix("barrier_wait: the action cannot run in this process");
      return MPROC_EBROKEN;
    }
    b->action = (mproc_barrier_action_fn)fn;
    b->resolved = true;
  }
  int status = b->action();
  if (status != 0)
    return mproc__fail(MPROC_EBROKEN, "barrier_wait: the action returned %d (the barrier broke)",
                       status);
  return 0;
}

static void lock(mproc_barrier_t *b) {
  barrier_state_t *st = state(b);
  if (mproc__mutex_acquire(&b->s, 0, &st->mutex, false, MPROC_INFINITE) == MPROC_EOWNERDEAD)
    st->state = BROKEN;
}

static void unlock(mproc_barrier_t *b) {
  mproc__mutex_release(&b->s, 0, &state(b)->mutex, false, true);
}

static void notify_all(mproc_barrier_t *b) {
  atomic_fetch_add(&state(b)->seq.word, 1);
  mproc__sync_wake(&b->s, 1, &state(b)->seq, MPROC__WAKE_ALL);
}

/* Releases the mutex, sleeps until the state may have changed, takes the
 * mutex back. MPROC_ETIMEDOUT when the deadline passed. */
static int wait_change(mproc_barrier_t *b, int64_t deadline) {
  uint32_t seq = atomic_load(&state(b)->seq.word);
  unlock(b);
  int rc = mproc__sync_wait(&b->s, 1, &state(b)->seq, seq, deadline);
  lock(b);
  return rc;
}

int mproc_barrier_wait(mproc_barrier_t *b, int timeout_ms, unsigned *index) {
  if (!b)
    return mproc__fail(MPROC_EINVAL, "barrier_wait: barrier is NULL");
  if (timeout_ms < 0 && timeout_ms != MPROC_INFINITE && timeout_ms != MPROC_DEFAULT_TIMEOUT)
    return mproc__fail(MPROC_EINVAL, "barrier_wait: timeout %d ms is negative", timeout_ms);
  barrier_state_t *st = state(b);
  if (timeout_ms == MPROC_DEFAULT_TIMEOUT)
    timeout_ms = st->timeout_ms;
  int64_t deadline = mproc__deadline(timeout_ms);
  int rc = 0;
  lock(b);
  /* A previous round is still leaving (or resetting): wait for it. */
  while (st->state == DRAINING || st->state == RESETTING)
    if (wait_change(b, deadline) == MPROC_ETIMEDOUT &&
        (st->state == DRAINING || st->state == RESETTING)) {
      unlock(b);
      return mproc__fail(MPROC_ETIMEDOUT, "barrier_wait: the previous round is still leaving");
    }
  if (st->state == BROKEN) {
    unlock(b);
    return mproc__fail(MPROC_EBROKEN, "barrier_wait: the barrier is broken");
  }
  unsigned mine = st->count++;
  if (mine + 1 == st->parties) {
    /* As in Python, the last to arrive runs the action before anyone
     * leaves; if it fails, every waiter gets MPROC_EBROKEN. */
    rc = run_action(b);
    st->state = rc ? BROKEN : DRAINING;
    notify_all(b);
  } else {
    while (st->state == FILLING)
      if (wait_change(b, deadline) == MPROC_ETIMEDOUT && st->state == FILLING) {
        st->state = BROKEN; /* a timeout breaks it for everyone, as in Python */
        notify_all(b);
      }
    if (st->state < 0)
      rc = mproc__fail(MPROC_EBROKEN, "barrier_wait: the barrier %s",
                       st->state == RESETTING ? "was reset" : "broke while waiting");
  }
  if (--st->count == 0 && (st->state == DRAINING || st->state == RESETTING)) {
    st->state = FILLING; /* the last one out re-opens it */
    notify_all(b);
  }
  unlock(b);
  if (rc == 0 && index)
    *index = mine;
  return rc;
}

int mproc_barrier_abort(mproc_barrier_t *b) {
  if (!b)
    return mproc__fail(MPROC_EINVAL, "barrier_abort: barrier is NULL");
  lock(b);
  state(b)->state = BROKEN;
  notify_all(b);
  unlock(b);
  return 0;
}

int mproc_barrier_reset(mproc_barrier_t *b) {
  if (!b)
    return mproc__fail(MPROC_EINVAL, "barrier_reset: barrier is NULL");
  barrier_state_t *st = state(b);
  lock(b);
  if (st->count > 0) {
    if (st->state == FILLING || st->state == BROKEN)
      st->state = RESETTING; /* the waiters leave with MPROC_EBROKEN */
  } else {
    st->state = FILLING;
  }
  notify_all(b);
  unlock(b);
  return 0;
}

int mproc_barrier_timeout(const mproc_barrier_t *b) {
  return b ? (int)state(b)->timeout_ms
           : mproc__fail(MPROC_EINVAL, "barrier_timeout: barrier is NULL");
}

int mproc_barrier_parties(const mproc_barrier_t *b) {
  return b ? (int)state(b)->parties : mproc__fail(MPROC_EINVAL, "barrier_parties: barrier is NULL");
}

int mproc_barrier_n_waiting(const mproc_barrier_t *b) {
  if (!b)
    return mproc__fail(MPROC_EINVAL, "barrier_n_waiting: barrier is NULL");
  mproc_barrier_t *m = (mproc_barrier_t *)b;
  lock(m);
  int n = state(b)->state == FILLING ? (int)state(b)->count : 0;
  unlock(m);
  return n;
}

int mproc_barrier_broken(const mproc_barrier_t *b) {
  if (!b)
    return mproc__fail(MPROC_EINVAL, "barrier_broken: barrier is NULL");
  mproc_barrier_t *m = (mproc_barrier_t *)b;
  lock(m);
  int broken = state(b)->state == BROKEN;
  unlock(m);
  return broken;
}

void mproc_barrier_free(mproc_barrier_t *b) { mproc__sync_object_free(b); }

MPROC__SYNC_CLASS(mproc__barrier_class, MPROC_T_BARRIER, barrier_kind, "barrier")
MPROC__ARGS_ACCESSORS(barrier, mproc_barrier_t, mproc__barrier_class)
