/* Event: the flag is the park word; set wakes every sleeper, and only
 * makes a system call when there is one. */
#include "sync/sync_object.h"

struct mproc_event {
  mproc__sync_t s;
};

static mproc__park_word_t *park(const mproc_event_t *e) { return e->s.mem; }
static _Atomic uint32_t *flag(const mproc_event_t *e) { return &park(e)->word; }

static const mproc__sync_kind_t event_kind = {"event", sizeof(mproc_event_t),
                                              sizeof(mproc__park_word_t), 1};

int mproc_event_new(mproc_event_t **out) {
  return mproc__sync_object_new(&event_kind, (void **)out);
}

int mproc_event_set(mproc_event_t *e) {
  if (!e)
    return mproc__fail(MPROC_EINVAL, "event_set: event is NULL");
  if (atomic_exchange(flag(e), 1) == 0)
    mproc__sync_wake(&e->s, 0, park(e), MPROC__WAKE_ALL);
  return 0;
}

int mproc_event_clear(mproc_event_t *e) {
  if (!e)
    return mproc__fail(MPROC_EINVAL, "event_clear: event is NULL");
  atomic_store(flag(e), 0);
  return 0;
}

int mproc_event_is_set(const mproc_event_t *e) {
  if (!e)
    return mproc__fail(MPROC_EINVAL, "event_is_set: event is NULL");
  return atomic_load(flag(e)) != 0;
}

int mproc_event_wait(mproc_event_t *e, int timeout_ms) {
  if (!e)
    return mproc__fail(MPROC_EINVAL, "event_wait: event is NULL");
  int rc = mproc__check_timeout("event_wait", timeout_ms);
  if (rc)
    return rc;
  if (atomic_load(flag(e)) != 0 || (timeout_ms != 0 && mproc__spin_while(flag(e), 0)))
    return 0;
  int64_t deadline = mproc__deadline(timeout_ms);
  while (atomic_load(flag(e)) == 0)
    if (mproc__sync_wait(&e->s, 0, park(e), 0, deadline) == MPROC_ETIMEDOUT &&
        atomic_load(flag(e)) == 0)
      return mproc__sync_timed_out(&e->s, "wait");
  return 0;
}

void mproc_event_free(mproc_event_t *e) { mproc__sync_object_free(e); }

MPROC__SYNC_CLASS(mproc__event_class, MPROC_T_EVENT, event_kind, "event")
MPROC__ARGS_ACCESSORS(event, mproc_event_t, mproc__event_class)
