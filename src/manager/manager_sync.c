/* A manager's Lock, RLock, Semaphore, BoundedSemaphore, Event, Condition
 * and Barrier. Unlike Python's (a threading.Lock in the server), a lock
 * knows its holder: when the holder's process goes, the next acquirer
 * gets it with MPROC_EOWNERDEAD instead of waiting forever. */
#include "manager/manager_server.h"

static bool mine(const mproc__mgr_call_t *call, const mproc__mgr_obj_t *o) {
  return o->u.lock.count && o->u.lock.owner.session == call->session->id &&
         (o->kind == MPROC_PROXY_LOCK || o->u.lock.owner.thread == call->head.thread);
}

static int timed_out(const char *what) {
  return mproc__fail(MPROC_ETIMEDOUT, "manager: %s timed out", what);
}

static bool sem_free(const mproc__mgr_obj_t *o) { return o->u.sem.value > 0; }
static bool lock_free(const mproc__mgr_obj_t *o) { return o->u.lock.count == 0; }
static bool event_set(const mproc__mgr_obj_t *o) { return o->u.event; }

static int take_lock(mproc__mgr_call_t *call, mproc__mgr_obj_t *o) {
  o->u.lock.count = 1;
  o->u.lock.owner = (mproc__mgr_owner_t){call->session->id, call->head.thread};
  call->granted = o;
  if (!o->u.lock.owner_died)
    return 0;
  o->u.lock.owner_died = false;
  return mproc__fail(MPROC_EOWNERDEAD, "manager: acquired; the previous holder's process died "
                                       "holding the lock");
}

static int acquire(mproc__mgr_call_t *call, mproc__mgr_obj_t *o, int64_t deadline) {
  if (o->kind == MPROC_PROXY_SEMAPHORE || o->kind == MPROC_PROXY_BOUNDED_SEMAPHORE) {
    int rc =
        mproc__mgr_wait_until(call, o, sem_free, deadline, MPROC_ETIMEDOUT, "acquire timed out");
    if (rc)
      return rc;
    o->u.sem.value--;
    call->granted = o;
    return 0;
  }
  if (o->kind != MPROC_PROXY_LOCK && mine(call, o)) {
    o->u.lock.count++;
    call->granted = o;
    return 0;
  }
  int rc =
      mproc__mgr_wait_until(call, o, lock_free, deadline, MPROC_ETIMEDOUT, "acquire timed out");
  return rc ? rc : take_lock(call, o);
}

static int release(mproc__mgr_call_t *call, mproc__mgr_obj_t *o) {
  if (o->kind == MPROC_PROXY_SEMAPHORE || o->kind == MPROC_PROXY_BOUNDED_SEMAPHORE) {
    if (o->kind == MPROC_PROXY_BOUNDED_SEMAPHORE && o->u.sem.value >= o->u.sem.bound)
      return mproc__fail(MPROC_EVALUE, "manager: ValueError: semaphore released too many times");
    o->u.sem.value++;
  } else if (o->kind == MPROC_PROXY_LOCK ? o->u.lock.count == 0 : !mine(call, o)) {
    return mproc__fail(MPROC_ESTATE, "manager: release of a lock %s",
                       o->kind == MPROC_PROXY_LOCK ? "that is not held"
                                                   : "this thread does not hold");
  } else if (--o->u.lock.count) {
    return 0;
  }
  mproc__os_cond_broadcast(o->cv);
  return 0;
}

void mproc__mgr_sync_undo(mproc__mgr_call_t *call) {
  mproc__mgr_obj_t *o = call->granted;
  if (o->kind == MPROC_PROXY_SEMAPHORE || o->kind == MPROC_PROXY_BOUNDED_SEMAPHORE)
    o->u.sem.value++;
  else if (o->u.lock.count && --o->u.lock.count)
    return;
  mproc__os_cond_broadcast(o->cv);
}

/* Ends the waits of everyone queued in *list with result. */
static void finish_waiters(mproc__mgr_waiter_t **list, int64_t max, int result) {
  while (*list && max-- != 0) {
    mproc__mgr_waiter_t *w = *list;
    *list = w->next;
    w->done = true;
    if (result)
      w->result = result;
  }
}

static void enqueue(mproc__mgr_waiter_t **list, mproc__mgr_waiter_t *w) {
  while (*list)
    list = &(*list)->next;
  *list = w;
}

static void dequeue(mproc__mgr_waiter_t **list, mproc__mgr_waiter_t *w) {
  for (; *list; list = &(*list)->next)
    if (*list == w) {
      *list = w->next;
      return;
    }
}

static int condition_wait(mproc__mgr_call_t *call, mproc__mgr_obj_t *o, int64_t deadline) {
  if (!mine(call, o))
    return mproc__fail(MPROC_ESTATE, "manager: wait on a Condition this thread does not hold");
  uint64_t depth = o->u.lock.count;
  o->u.lock.count = 0;
  mproc__mgr_waiter_t w = {NULL, false, 0};
  enqueue(&o->u.lock.waiters, &w);
  mproc__os_cond_broadcast(o->cv);
  int rc = 0;
  while (!w.done && rc == 0)
    rc = mproc__mgr_wait(call, o, deadline);
  if (!w.done)
    dequeue(&o->u.lock.waiters, &w);
  if (rc == MPROC_ECLOSED)
    return rc;
  /* Take the lock back whatever happened, as Python does. */
  while (o->u.lock.count != 0) {
    int wrc = mproc__mgr_wait(call, o, -1);
    if (wrc == MPROC_ECLOSED)
      return wrc;
  }
  int taken = take_lock(call, o);
  o->u.lock.count = depth;
  if (taken)
    return taken;
  return w.done ? 0 : timed_out("Condition wait");
}

static int notify(mproc__mgr_call_t *call, mproc__mgr_obj_t *o) {
  int64_t n;
  int rc = mproc__mgr_get_i64(&call->in, &n);
  if (rc || (rc = mproc__mgr_get_end(&call->in)))
    return rc;
  if (!mine(call, o))
    return mproc__fail(MPROC_ESTATE, "manager: notify on a Condition this thread does not hold");
  finish_waiters(&o->u.lock.waiters, n < 0 ? -1 : n, 0);
  mproc__os_cond_broadcast(o->cv);
  return 0;
}

static void break_barrier(mproc__mgr_obj_t *o, bool broken) {
  finish_waiters(&o->u.barrier.waiters, -1, MPROC_EBROKEN);
  o->u.barrier.count = 0;
  o->u.barrier.broken = broken;
  mproc__os_cond_broadcast(o->cv);
}

static int broken_error(void) {
  return mproc__fail(MPROC_EBROKEN, "manager: the barrier is broken");
}

static int barrier_wait(mproc__mgr_call_t *call, mproc__mgr_obj_t *o, int32_t timeout_ms) {
  if (timeout_ms == MPROC_DEFAULT_TIMEOUT)
    timeout_ms = o->u.barrier.timeout_ms;
  int64_t deadline;
  int rc = mproc__mgr_deadline(call, timeout_ms, &deadline);
  if (rc)
    return rc;
  if (o->u.barrier.broken)
    return broken_error();
  int64_t index = o->u.barrier.count++;
  if (o->u.barrier.count == o->u.barrier.parties) {
    finish_waiters(&o->u.barrier.waiters, -1, 0);
    o->u.barrier.count = 0;
    mproc__os_cond_broadcast(o->cv);
    return mproc__mgr_put_u64(call->out, (uint64_t)index);
  }
  mproc__mgr_waiter_t w = {NULL, false, 0};
  enqueue(&o->u.barrier.waiters, &w);
  while (!w.done && rc == 0)
    rc = mproc__mgr_wait(call, o, deadline);
  if (!w.done) { /* a timeout or a shutdown breaks it, as in Python */
    break_barrier(o, true);
    return rc == MPROC_ECLOSED ? rc : broken_error();
  }
  return w.result ? broken_error() : mproc__mgr_put_u64(call->out, (uint64_t)index);
}

int mproc__mgr_sync_init(mproc__mgr_call_t *call, mproc__mgr_obj_t *o) {
  int64_t v = 0;
  int32_t timeout = MPROC_INFINITE;
  int rc = 0;
  switch (o->kind) {
  case MPROC_PROXY_SEMAPHORE:
  case MPROC_PROXY_BOUNDED_SEMAPHORE:
    if ((rc = mproc__mgr_get_i64(&call->in, &v)) == 0 && v < 0)
      rc = mproc__fail(MPROC_EINVAL, "manager: a semaphore's value %lld is negative", (long long)v);
    o->u.sem.value = o->u.sem.bound = v;
    return rc;
  case MPROC_PROXY_BARRIER:
    if ((rc = mproc__mgr_get_i64(&call->in, &v)) == 0)
      rc = mproc__mgr_get_i32(&call->in, &timeout);
    if (!rc && (v < 1 || timeout < MPROC_INFINITE))
      rc = mproc__fail(MPROC_EINVAL, "manager: a barrier of %lld parties with timeout %d",
                       (long long)v, (int)timeout);
    o->u.barrier.parties = v;
    o->u.barrier.timeout_ms = timeout;
    return rc;
  default:
    return 0;
  }
}

/* Which calls each kind takes. */
static bool accepts(uint8_t kind, uint16_t op) {
  switch (op) {
  case MPROC__OP_ACQUIRE:
  case MPROC__OP_RELEASE:
    return kind <= MPROC_PROXY_BOUNDED_SEMAPHORE || kind == MPROC_PROXY_CONDITION;
  case MPROC__OP_WAIT:
    return kind == MPROC_PROXY_EVENT || kind == MPROC_PROXY_CONDITION ||
           kind == MPROC_PROXY_BARRIER;
  case MPROC__OP_NOTIFY:
    return kind == MPROC_PROXY_CONDITION;
  case MPROC__OP_EVENT_SET:
  case MPROC__OP_EVENT_CLEAR:
  case MPROC__OP_EVENT_IS_SET:
    return kind == MPROC_PROXY_EVENT;
  case MPROC__OP_BARRIER_ABORT:
  case MPROC__OP_BARRIER_RESET:
  case MPROC__OP_BARRIER_STATE:
    return kind == MPROC_PROXY_BARRIER;
  case MPROC__OP_LOCKED:
    return kind == MPROC_PROXY_LOCK || kind == MPROC_PROXY_RLOCK;
  default:
    return false;
  }
}

int mproc__mgr_sync_call(mproc__mgr_call_t *call, mproc__mgr_obj_t *o) {
  uint16_t op = call->head.op;
  if (!accepts(o->kind, op))
    return mproc__fail(MPROC_ETYPE, "manager: call %u does not apply to this kind (%u) of object",
                       op, o->kind);
  int32_t timeout = 0;
  int64_t deadline = -1;
  int rc = 0;
  if (op == MPROC__OP_ACQUIRE || op == MPROC__OP_WAIT)
    rc = mproc__mgr_get_i32(&call->in, &timeout);
  if (op == MPROC__OP_NOTIFY)
    return notify(call, o);
  if (rc || (rc = mproc__mgr_get_end(&call->in)))
    return rc;
  if (op == MPROC__OP_WAIT && o->kind == MPROC_PROXY_BARRIER)
    return barrier_wait(call, o, timeout);
  if ((op == MPROC__OP_ACQUIRE || op == MPROC__OP_WAIT) &&
      (rc = mproc__mgr_deadline(call, timeout, &deadline)))
    return rc;
  switch (op) {
  case MPROC__OP_ACQUIRE:
    return acquire(call, o, deadline);
  case MPROC__OP_RELEASE:
    return release(call, o);
  case MPROC__OP_WAIT:
    if (o->kind == MPROC_PROXY_CONDITION)
      return condition_wait(call, o, deadline);
    return mproc__mgr_wait_until(call, o, event_set, deadline, MPROC_ETIMEDOUT,
                                 "Event wait timed out");
  case MPROC__OP_EVENT_SET:
    o->u.event = true;
    mproc__os_cond_broadcast(o->cv);
    return 0;
  case MPROC__OP_EVENT_CLEAR:
    o->u.event = false;
    return 0;
  case MPROC__OP_EVENT_IS_SET:
    return mproc__mgr_put_u8(call->out, o->u.event);
  case MPROC__OP_BARRIER_ABORT:
    break_barrier(o, true);
    return 0;
  case MPROC__OP_BARRIER_RESET:
    break_barrier(o, false);
    return 0;
  case MPROC__OP_LOCKED:
    return mproc__mgr_put_u8(call->out, o->u.lock.count > 0);
  default: /* BARRIER_STATE */
    if ((rc = mproc__mgr_put_u64(call->out, (uint64_t)o->u.barrier.parties)) ||
        (rc = mproc__mgr_put_u64(call->out, (uint64_t)o->u.barrier.count)))
      return rc;
    return mproc__mgr_put_u8(call->out, o->u.barrier.broken);
  }
}

void mproc__mgr_sync_orphan(mproc__mgr_obj_t *o, uint64_t session) {
  bool lock = o->kind == MPROC_PROXY_LOCK || o->kind == MPROC_PROXY_RLOCK ||
              o->kind == MPROC_PROXY_CONDITION;
  if (lock && o->u.lock.count && o->u.lock.owner.session == session) {
    o->u.lock.count = 0;
    o->u.lock.owner_died = true;
    mproc__os_cond_broadcast(o->cv);
  }
}
