/* Scheduling: which member gets the next task (the least loaded, within
 * its prefetch), time limits, and the stops after close. Knows members
 * only through p->members. */
#include <stdio.h>

#include "core/log_internal.h"
#include "pool/pool_types.h"

enum {
  SHORT_TASK_PREFETCH = 16, /* while a worker's tasks take under SHORT_TASK_US */
  SHORT_TASK_US = 100,
  START_POLL_MS = 5 /* how soon to look whether a time-limited task began */
};
bool mproc__pool_may_take(const mproc_pool_t *p, const mproc__member_t *w) {
  if (w->state != MPROC__MEMBER_LIVE || w->stop_sent || w->kill_reason)
    return false;
  if (p->o.maxtasksperchild && w->given >= p->o.maxtasksperchild)
    return false;
  /* Short tasks get a deeper inbox: a worker that finishes a task every
   * few microseconds would otherwise sleep and be woken for each one. */
  size_t depth = p->o.prefetch == MPROC_PREFETCH_NONE ? 0
                 : p->adaptive && w->task_us > 0 && w->task_us < SHORT_TASK_US
                     ? SHORT_TASK_PREFETCH
                     : (size_t)p->o.prefetch;
  return w->held.n < depth + 1;
}

/* Gives t to member i, which then holds it. */
int mproc__pool_give(mproc_pool_t *p, int i, mproc__task_t *t) {
  int rc = p->members->send(p, i, t);
  if (rc)
    return rc;
  mproc__member_t *w = &p->w[i];
  mproc__tasks_push(&w->held, t);
  w->given++;
  if (w->held.n == 1 && p->members->head_changed)
    p->members->head_changed(p, i);
  return 0;
}

/* Hands queued tasks out, each to the worker holding the fewest (an idle
 * worker first, as from Python's shared task queue), while some have room. */
bool mproc__pool_dispatch(mproc_pool_t *p) {
  bool progress = false;
  while (p->queue.head) {
    int best = -1;
    for (int k = 0; k < p->n; k++) {
      int i = (p->next_worker + k) % p->n;
      if (!mproc__pool_may_take(p, &p->w[i]))
        continue;
      if (best < 0 || p->w[i].held.n < p->w[best].held.n)
        best = i;
      else if (p->members->prefers_recent && p->w[i].held.n == p->w[best].held.n &&
               p->w[i].last_result_us > p->w[best].last_result_us)
        best = i;
    }
    if (best < 0)
      break;
    p->next_worker = (best + 1) % p->n;
    mproc__task_t *t = mproc__tasks_pop(&p->queue);
    if (mproc__pool_give(p, best, t) != 0) {
      /* Dead, or its inbox full: the task waits for the next round - or
       * goes to another member now when this one is gone for good. */
      mproc__tasks_push_front(&p->queue, t);
      if (p->members->send_failed(p, best))
        continue;
      break;
    }
    progress = true;
  }
  return progress;
}

/* Stops member i for why: its task `task` fails with it. */
void mproc__pool_stop_member(mproc_pool_t *p, int i, int why, uint64_t task) {
  if (!p->w[i].kill_reason)
    p->members->stop(p, i, why, task);
}

uint64_t mproc__pool_begun_task(const mproc_pool_t *p, int i) {
  uint64_t id = atomic_load_explicit(&p->slots[i].running, memory_order_acquire);
  return id ? id : atomic_load_explicit(&p->slots[i].delivering, memory_order_acquire);
}

/* Time limits: stops a member whose task ran too long; returns the
 * milliseconds until the next limit (MPROC_INFINITE: none). now: the
 * round's reading of the clock (ms), one read serving the whole round. */
int mproc__pool_enforce_limits(mproc_pool_t *p, int64_t now) {
  int64_t next = -1;
  for (int i = 0; i < p->n; i++) {
    mproc__member_t *w = &p->w[i];
    if (w->state != MPROC__MEMBER_LIVE || w->kill_reason || !w->held.head)
      continue;
    uint64_t running = atomic_load_explicit(&p->slots[i].running, memory_order_acquire);
    mproc__task_t *t = w->held.head;
    if (t->timeout_ms <= 0)
      continue;
    if (running != t->id) {
      /* Given but not begun yet: its limit starts when it does, and
       * nothing will wake the pool then - look again shortly. */
      if (next < 0 || now + START_POLL_MS < next)
        next = now + START_POLL_MS;
      continue;
    }
    int64_t deadline = atomic_load(&p->slots[i].since_ms) + t->timeout_ms;
    if (now >= deadline) {
      mproc__log(MPROC_LOG_INFO, "pool: task %llu ran past %d ms; killing its worker",
                 (unsigned long long)t->id, t->timeout_ms);
      mproc__pool_stop_member(p, i, MPROC_ETASKTIMEOUT, t->id);
    } else if (next < 0 || deadline < next) {
      next = deadline;
    }
  }
  if (p->state == MPROC__POOL_TERMINATING && p->grace_deadline) {
    if (now >= p->grace_deadline) {
      if (p->members->kill_all)
        p->members->kill_all(p);
      p->grace_deadline = 0;
    } else if (next < 0 || p->grace_deadline < next) {
      next = p->grace_deadline;
    }
  }
  if (next < 0)
    return MPROC_INFINITE;
  return next - now > INT32_MAX ? INT32_MAX : (int)(next - now);
}

/* After close: a worker with nothing left to do is told to stop. */
void mproc__pool_stop_idle(mproc_pool_t *p) {
  if (p->state != MPROC__POOL_CLOSED || p->queue.head)
    return;
  for (int i = 0; i < p->n; i++) {
    mproc__member_t *w = &p->w[i];
    if (w->state != MPROC__MEMBER_LIVE || w->stop_sent ||
        (p->members->stops_when_idle && w->held.n))
      continue;
    if (p->members->send_stop(p, i) == 0)
      w->stop_sent = true;
  }
}
