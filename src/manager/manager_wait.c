/* How a call waits in the server until its object allows it (a lock
 * free, an item in a queue, an event set): on the object's condition
 * variable, under the server's lock, bounded by the call's deadline and
 * ended by shutdown. Every kind waits through here. */
#include "manager/manager_server.h"

int mproc__mgr_deadline(mproc__mgr_call_t *call, int32_t timeout_ms, int64_t *deadline) {
  if (timeout_ms < MPROC_INFINITE)
    return mproc__fail(MPROC_EINVAL, "manager: timeout %d ms is negative", (int)timeout_ms);
  if (!call->may_wait)
    timeout_ms = 0;
  *deadline = mproc__deadline(timeout_ms);
  return 0;
}

int mproc__mgr_wait(mproc__mgr_call_t *call, mproc__mgr_obj_t *o, int64_t deadline) {
  mproc__mgr_server_t *s = call->srv;
  if (s->stopping)
    return mproc__fail(MPROC_ECLOSED, "manager: shutting down");
  int left = mproc__remaining_ms(deadline);
  if (left == 0)
    return MPROC_ETIMEDOUT;
  if (left < 0 || left > 1000)
    left = 1000; /* wake now and then even without a deadline */
  o->inside++;
  mproc__os_cond_wait(o->cv, s->mu, left);
  o->inside--;
  if (s->stopping)
    return mproc__fail(MPROC_ECLOSED, "manager: shutting down");
  if (mproc__remaining_ms(deadline) == 0)
    return MPROC_ETIMEDOUT;
  return 0;
}

int mproc__mgr_wait_until(mproc__mgr_call_t *call, mproc__mgr_obj_t *o,
                          bool (*allows)(const mproc__mgr_obj_t *), int64_t deadline, int code,
                          const char *what) {
  while (!allows(o)) {
    int rc = mproc__mgr_wait(call, o, deadline);
    if (rc == MPROC_ETIMEDOUT && !allows(o))
      return mproc__fail(code, "manager: %s", what);
    if (rc && rc != MPROC_ETIMEDOUT)
      return rc;
  }
  return 0;
}
