/* mproc_wait: many objects at once (see wait.h), whatever their kind.
 *
 * Each round arms every object (its class gives a handle to block on, or
 * none, and says whether it is ready already), looks at all the handles at
 * once without blocking, and asks each object whether it is ready, in
 * index order; so every ready object is reported, in order, and a process
 * that ended is reaped. If none is, it blocks on all the handles together
 * - for one slice at a time when some object has no handle - and goes
 * round again. The kinds' classes live beside them (process.c,
 * connection.c, queue.c, pool_result.c); this file names none. */
#include <stdlib.h>

#include "core/internal.h"
#include "core/waitable.h"

enum { POLL_SLICE_MS = 10, CLASSES_MAX = 16 };

/* The classes waitables were made of: a handful, added once each. */
static const mproc__wait_class_t *_Atomic classes[CLASSES_MAX];

mproc_waitable_t mproc__waitable(const mproc__wait_class_t *cls, void *object, intptr_t handle) {
  for (size_t i = 0; i < CLASSES_MAX; i++) {
    const mproc__wait_class_t *seen = NULL;
    if (atomic_compare_exchange_strong(&classes[i], &seen, cls) || seen == cls)
      break;
  }
  mproc_waitable_t w = {cls, object, handle};
  return w;
}

static bool known(const mproc__wait_class_t *cls) {
  for (size_t i = 0; cls && i < CLASSES_MAX; i++) {
    const mproc__wait_class_t *c = atomic_load(&classes[i]);
    if (c == cls)
      return true;
    if (!c)
      break;
  }
  return false;
}

int mproc__bell_arm(intptr_t bell, _Atomic uint32_t *watchers, bool (*ready)(void *), void *obj,
                    intptr_t *handle, bool *ready_now) {
  atomic_fetch_add(watchers, 1);
  *handle = bell;
  *ready_now = ready(obj);
  if (!*ready_now && bell != -1) {
    /* A stale ring (for what another took already) would wake us at once:
     * clear it, and ring again for the other watchers if the object became
     * ready meanwhile. A change after this sees a watcher and rings. */
    mproc__os_doorbell_clear(bell);
    if ((*ready_now = ready(obj)))
      mproc__os_doorbell_ring(bell);
  }
  return 0;
}

void mproc__bell_disarm(_Atomic uint32_t *watchers) { atomic_fetch_sub(watchers, 1); }

/* ---- a raw sentinel -------------------------------------------------------- */

static int sentinel_check(const mproc_waitable_t *w, size_t i) {
  return w->handle == -1 ? mproc__fail(MPROC_EINVAL, "wait: object %zu is no sentinel (-1)", i) : 0;
}

static int sentinel_arm(const mproc_waitable_t *w, intptr_t *handle, bool *ready_now) {
  *handle = w->handle;
  *ready_now = false;
  return 0;
}

static bool sentinel_ready(const mproc_waitable_t *w, bool fired) {
  (void)w;
  return fired;
}

static const mproc__wait_class_t sentinel_class = {"sentinel", sentinel_check, sentinel_arm, NULL,
                                                   sentinel_ready};

mproc_waitable_t mproc_waitable_sentinel(intptr_t sentinel) {
  return mproc__waitable(&sentinel_class, NULL, sentinel);
}

/* ---- the wait ------------------------------------------------------------------ */

static int check(const mproc_waitable_t *objs, size_t n) {
  for (size_t i = 0; i < n; i++) {
    const mproc__wait_class_t *cls = objs[i].cls;
    if (!known(cls))
      return mproc__fail(MPROC_EINVAL, "wait: object %zu is not a waitable object", i);
    int rc = cls->check(&objs[i], i);
    if (rc)
      return rc;
  }
  return 0;
}

static void disarm(const mproc_waitable_t *objs, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (objs[i].cls->disarm)
      objs[i].cls->disarm(&objs[i]);
}

/* Scratch for one wait: per object, its handle's place (or -1) and
 * whether it fired; the handles to block on. */
typedef struct {
  intptr_t *handles;
  size_t nhandles;
  long *slot;
  bool *fired;
  bool *polled;
  bool must_poll;
} round_t;

/* Arms every object: 0, or an error with none left armed. */
static int arm_all(const mproc_waitable_t *objs, size_t n, round_t *r) {
  r->nhandles = 0;
  r->must_poll = false;
  for (size_t i = 0; i < n; i++) {
    intptr_t h = -1;
    bool now = false;
    int rc = objs[i].cls->arm(&objs[i], &h, &now);
    if (rc) {
      disarm(objs, i);
      return rc;
    }
    r->fired[i] = now;
    r->slot[i] = h == -1 ? -1 : (long)r->nhandles;
    if (h != -1)
      r->handles[r->nhandles++] = h;
    r->must_poll |= h == -1 && !now;
  }
  return 0;
}

/* Which objects are ready, in index order, given which handles fired. */
static size_t collect(const mproc_waitable_t *objs, size_t n, const round_t *r, size_t *ready) {
  size_t nready = 0;
  for (size_t i = 0; i < n; i++) {
    bool fired = r->fired[i] || (r->slot[i] >= 0 && r->polled[r->slot[i]]);
    if (objs[i].cls->ready(&objs[i], fired))
      ready[nready++] = i;
  }
  return nready;
}

static void clear(bool *flags, size_t n) {
  for (size_t i = 0; i < n; i++)
    flags[i] = false;
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
  if ((rc = check(objs, n)) != 0)
    return rc;
  size_t cap = n ? n : 1;
  round_t r = {malloc(cap * sizeof *r.handles), 0,
               malloc(cap * sizeof *r.slot),    malloc(cap * sizeof *r.fired),
               malloc(cap * sizeof *r.polled),  false};
  int64_t deadline = mproc__deadline(timeout_ms);
  if (!r.handles || !r.slot || !r.fired || !r.polled)
    rc = mproc__fail(MPROC_ENOMEM, "wait: out of memory");
  while (rc == 0 && (rc = arm_all(objs, n, &r)) == 0) {
    /* Every handle is looked at, even when arming found one ready: the
     * call reports every ready object, not the first. */
    clear(r.polled, r.nhandles);
    if (r.nhandles)
      mproc__os_wait_handles(r.handles, r.nhandles, 0, r.polled);
    if ((*nready = collect(objs, n, &r, ready)) > 0) {
      disarm(objs, n);
      break;
    }
    int left = mproc__remaining_ms(deadline);
    if (left == 0) {
      disarm(objs, n);
      rc = mproc__fail(MPROC_ETIMEDOUT, "wait: nothing ready after %d ms", timeout_ms);
      break;
    }
    int slice = left; /* MPROC_INFINITE without a deadline */
    if (r.must_poll && (slice == MPROC_INFINITE || slice > POLL_SLICE_MS))
      slice = POLL_SLICE_MS;
    /* Block on everything at once (with no handles: sleep one slice). */
    clear(r.polled, r.nhandles);
    rc = mproc__os_wait_handles(r.handles, r.nhandles, slice, r.polled);
    disarm(objs, n);
    if (rc == MPROC_ETIMEDOUT)
      rc = 0;
  }
  free(r.handles);
  free(r.slot);
  free(r.fired);
  free(r.polled);
  return rc;
}
