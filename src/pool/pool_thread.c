/* The pool's own thread does everything but the submitting: it hands
 * tasks to members, records their results, notices members that ended,
 * enforces time limits, replaces members and runs callbacks. Python needs
 * three threads for this; the pool waits on all its sources at once. */
#include "pool/pool_types.h"

enum { LIVENESS_CHECK_MS = 1 /* how often a busy pool looks for ended members */ };

void mproc__pool_wake(mproc_pool_t *p) {
  /* Seen by the pool's thread before it sleeps, even when it is awake now
   * but has let the lock go (running callbacks) since it last looked. */
  p->kicked = true;
  if (p->sleeping && !mproc__os_thread_is_current(p->thread)) {
    p->sleeping = false;
    if (p->members->wake)
      p->members->wake(p);
    mproc_conn_send_bytes(p->wake_wr, "w", 1);
  }
}

/* Takes the wakeups sent (one byte per sleep, at most a few). */
void mproc__pool_drain_wakeups(mproc_pool_t *p) {
  char bytes[64];
  size_t got;
  while (mproc_conn_recv_bytes_into(p->wake_rd, bytes, sizeof bytes, &got, 0) == 0) {
  }
}

/* One round of everything there is to do; true when something moved. */
static bool one_round(mproc_pool_t *p, int *next_limit) {
  const mproc__members_t *m = p->members;
  mproc__os_mutex_unlock(p->core->lock);
  bool progress = m->drain(p);
  mproc__os_mutex_lock(p->core->lock);
  int64_t now = mproc__os_now_ms();
  /* A member's end wakes a sleeping pool (its sentinel is among what the
   * sleep waits on); a busy pool looks every LIVENESS_CHECK_MS. Looking
   * on every idle round instead cost a waitid per member per round. */
  if (p->slept || now - p->last_liveness_ms >= LIVENESS_CHECK_MS) {
    p->slept = false;
    p->last_liveness_ms = now;
    progress |= m->find_ended(p);
  }
  *next_limit = mproc__pool_enforce_limits(p, now);
  if (m->replace)
    progress |= m->replace(p);
  progress |= mproc__pool_dispatch(p);
  if (m->rebalance)
    progress |= m->rebalance(p);
  mproc__pool_stop_idle(p);
  mproc__pool_run_due(p);
  return progress;
}

void mproc__pool_thread(void *arg) {
  mproc_pool_t *p = arg;
  mproc__os_mutex_lock(p->core->lock);
  while (!p->quit) {
    int next_limit;
    bool progress = one_round(p, &next_limit);
    bool kicked = p->kicked;
    p->kicked = false;
    if (progress || kicked || p->quit)
      continue;
    /* Nothing to do: look a little longer before sleeping, since a result
     * usually follows a dispatch within microseconds. From here on a
     * submitter must wake us (sleeping is set before the lock is let go),
     * or a task submitted during the look would wait for the next event. */
    p->sleeping = true;
    bool coming = p->members->linger(p);
    if (!coming && !p->quit && !p->due.n) {
      p->members->sleep(p, next_limit);
      p->slept = true;
    }
    p->sleeping = false;
  }
  mproc__os_mutex_unlock(p->core->lock);
}
