/* mproc_wait: many processes and sentinels at once (see wait.h).
 *
 * Each round first checks every object without blocking, so that every
 * ready object is reported and processes are reaped; then it blocks on all
 * the OS handles together. A process without a sentinel (no pidfd) is
 * checked again every few milliseconds. */
#include <stdlib.h>

#include "connection/connection_internal.h"
#include "core/internal.h"
#include "mproc/pool.h"
#include "pool/pool_internal.h"
#include "queue/queue_wait.h"

enum { POLL_SLICE_MS = 10 };

mproc_waitable_t mproc_waitable_process(mproc_process_t *p) {
  mproc_waitable_t w = {MPROC__WAIT_PROCESS, p, -1};
  return w;
}

mproc_waitable_t mproc_waitable_sentinel(intptr_t sentinel) {
  mproc_waitable_t w = {MPROC__WAIT_SENTINEL, NULL, sentinel};
  return w;
}

static int check(const mproc_waitable_t *objs, size_t n) {
  for (size_t i = 0; i < n; i++) {
    const mproc_waitable_t *w = &objs[i];
    if (w->kind == MPROC__WAIT_PROCESS) {
      if (!w->object || mproc_process_pid(w->object) == 0)
        return mproc__fail(MPROC_EINVAL, "wait: object %zu is %s", i,
                           w->object ? "a process that was not started" : "NULL");
    } else if (w->kind == MPROC__WAIT_CONN) {
      if (!w->object || !mproc_conn_readable(w->object))
        return mproc__fail(MPROC_EINVAL, "wait: object %zu is %s", i,
                           w->object ? "a connection that is closed or only sends" : "NULL");
    } else if (w->kind == MPROC__WAIT_QUEUE || w->kind == MPROC__WAIT_RESULT) {
      if (!w->object)
        return mproc__fail(MPROC_EINVAL, "wait: object %zu is a NULL %s", i,
                           w->kind == MPROC__WAIT_QUEUE ? "queue" : "result");
    } else if (w->kind != MPROC__WAIT_SENTINEL || w->handle == -1) {
      return mproc__fail(MPROC_EINVAL, "wait: object %zu is not a waitable object", i);
    }
  }
  return 0;
}

/* Connections, queues and pool results are armed for each round of
 * waiting. */
static bool armed(const mproc_waitable_t *w) {
  return w->kind == MPROC__WAIT_CONN || w->kind == MPROC__WAIT_QUEUE ||
         w->kind == MPROC__WAIT_RESULT;
}

static int arm(const mproc_waitable_t *w, intptr_t *handle, bool *now) {
  return w->kind == MPROC__WAIT_CONN    ? mproc__conn_arm(w->object, handle, now)
         : w->kind == MPROC__WAIT_QUEUE ? mproc__queue_arm(w->object, handle, now)
                                        : mproc__result_arm(w->object, handle, now);
}

static void disarm_all(const mproc_waitable_t *objs, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (objs[i].kind == MPROC__WAIT_CONN)
      mproc__conn_disarm(objs[i].object);
    else if (objs[i].kind == MPROC__WAIT_QUEUE)
      mproc__queue_disarm(objs[i].object);
    else if (objs[i].kind == MPROC__WAIT_RESULT)
      mproc__result_disarm(objs[i].object);
}

int mproc_wait(mproc_waitable_t *objs, size_t n, int timeout_ms, size_t *ready, size_t *nready) {
  if (!nready || (n > 0 && (!objs || !ready)))
    return mproc__fail(MPROC_EINVAL, "wait: %s is NULL",
                       !nready ? "nready"
                       : !objs ? "objs"
                               : "ready");
  int rc = mproc__check_timeout("wait", timeout_ms);
  if (rc)
    return rc;
  if (n == 0 && timeout_ms == MPROC_INFINITE)
    return mproc__fail(MPROC_EINVAL, "wait: nothing to wait for, forever");
  *nready = 0;
  rc = check(objs, n);
  if (rc)
    return rc;
  intptr_t *handles = malloc((n ? n : 1) * sizeof *handles);
  bool *flags = malloc((n ? 2 * n : 1) * sizeof *flags); /* arm-time, then polled */
  if (!handles || !flags) {
    free(handles);
    free(flags);
    return mproc__fail(MPROC_ENOMEM, "wait: out of memory");
  }
  int64_t deadline = mproc__deadline(timeout_ms);
  for (;;) {
    /* Which objects are ready now, without blocking. Live processes' sentinels
     * go first in handles[], raw sentinels after them. */
    size_t k = 0, nsent = 0, narmed = n;
    bool must_poll = false;
    for (size_t i = 0; i < n; i++) {
      if (objs[i].kind != MPROC__WAIT_PROCESS)
        continue;
      intptr_t s = mproc_process_sentinel(objs[i].object);
      if (mproc_process_is_alive(objs[i].object) != 1)
        ready[(*nready)++] = i; /* ended (or cannot be waited for: do not hang) */
      else if (s == -1)
        must_poll = true;
      else
        handles[k++] = s;
    }
    /* Sentinels and connections (armed: on Windows a pending zero-byte read)
     * follow, in index order; all are checked at once. */
    for (size_t i = 0; i < n && rc == 0; i++) {
      if (objs[i].kind == MPROC__WAIT_SENTINEL) {
        flags[nsent] = false;
        handles[k + nsent++] = objs[i].handle;
      } else if (armed(&objs[i])) {
        bool now = false;
        rc = arm(&objs[i], &handles[k + nsent], &now);
        if (rc)
          narmed = i;                                     /* the ones before it are armed */
        must_poll |= rc == 0 && handles[k + nsent] == -1; /* a queue without a doorbell */
        flags[nsent++] = now;
      }
    }
    if (nsent && rc == 0) {
      /* Every handle is looked at, even when arming already found one
       * ready: the call reports every ready object, not the first. */
      bool *polled = flags + nsent;
      for (size_t i = 0; i < nsent; i++)
        polled[i] = false;
      mproc__os_wait_handles(handles + k, nsent, 0, polled);
      for (size_t i = 0; i < nsent; i++)
        flags[i] |= polled[i];
      size_t j = 0;
      for (size_t i = 0; i < n; i++) {
        if (objs[i].kind != MPROC__WAIT_SENTINEL && !armed(&objs[i]))
          continue;
        bool fired = flags[j++];
        /* A doorbell may be stale or rung for another: ask the object. */
        if (objs[i].kind == MPROC__WAIT_QUEUE    ? mproc__queue_ready(objs[i].object)
            : objs[i].kind == MPROC__WAIT_RESULT ? mproc__result_ready(objs[i].object)
                                                 : fired)
          ready[(*nready)++] = i;
      }
    }
    k += nsent;
    if (rc) {
      disarm_all(objs, narmed);
      break;
    }
    if (*nready > 0) {
      disarm_all(objs, n);
      /* Report in index order, processes and sentinels alike. */
      for (size_t a = 1; a < *nready; a++)
        for (size_t b = a; b > 0 && ready[b - 1] > ready[b]; b--) {
          size_t t = ready[b];
          ready[b] = ready[b - 1];
          ready[b - 1] = t;
        }
      rc = 0;
      break;
    }
    int left = mproc__remaining_ms(deadline);
    if (left == 0) {
      disarm_all(objs, n);
      rc = mproc__fail(MPROC_ETIMEDOUT, "wait: nothing ready after %d ms", timeout_ms);
      break;
    }
    int slice = left; /* MPROC_INFINITE without a deadline */
    if (must_poll && (slice == MPROC_INFINITE || slice > POLL_SLICE_MS))
      slice = POLL_SLICE_MS;
    /* Block on everything at once (with no handles: sleep one slice). */
    for (size_t i = 0; i < k; i++)
      flags[i] = false;
    rc = mproc__os_wait_handles(handles, k, slice, flags);
    disarm_all(objs, n);
    if (rc && rc != MPROC_ETIMEDOUT)
      break;
    rc = 0;
  }
  free(handles);
  free(flags);
  return rc;
}
