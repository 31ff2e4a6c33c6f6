/* AsyncResult: the outcome of a pool's task, or of every chunk of a map.
 *
 * Everything here is guarded by the pool core's lock, which the pool's
 * thread takes to record outcomes; waiting is the core's condition
 * variable, broadcast whenever a result becomes ready, and, for
 * mproc_wait, the core's doorbell (rung only while someone watches). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/waitable.h"
#include "mproc/pool.h"
#include "pool/pool_internal.h"

typedef struct {
  size_t index;
  mproc_task_error_t e;
} item_error_t;

/* A map chunk's results as they came (the bytes mproc__args_split_results
 * found), not decoded yet: the pool's thread only queues them, and
 * whoever waits for the map - or needs its value - decodes them, so the
 * pool's thread, which every result passes, does the least. */
typedef struct pending_chunk {
  struct pending_chunk *next;
  size_t first, count;
  size_t done; /* its items the pool counted as done (its results) */
  unsigned char bytes[];
} pending_chunk_t;

/* Everything here is under the core's lock; nothing outside this file
 * reaches into it. */
struct mproc_async_result {
  mproc__pool_core_t *core;
  mproc_pool_t *pool; /* not to be reached once core->pool_freed */
  int refs;           /* the caller's, and the pool's while not ready */
  int kind;
  size_t n;           /* items (1 for apply) */
  size_t base;        /* the first item's index among the caller's (imap's chunks) */
  size_t chunks_left; /* tasks not finished */
  /* settled: every task has its outcome. ready: settled and the callback
   * has returned - what get, wait and ready report, as CPython runs the
   * callback before the result becomes ready (test_map_async_callbacks).
   * The callback itself sees its result settled (visible()). */
  bool settled;
  bool ready;
  bool cancelled;
  mproc_args_t *value;  /* apply: the result; map: one result tuple per item (nil while
                           missing); range: () */
  item_error_t *errors; /* failed items, in the order they failed */
  size_t nerrors, errcap;
  int code;                 /* 0, or the failure of the lowest failed item */
  mproc_task_error_t first; /* that failure */
  mproc_async_callback_fn callback, error_callback;
  void *ctx;
  mproc_value_callback_fn on_value;
  mproc_error_callback_fn on_error;
  bool callback_due;                        /* ready, callbacks not run yet (pool thread) */
  pending_chunk_t *pending, **pending_tail; /* chunks to decode into value, oldest first */
  int decoding;                             /* threads decoding taken chunks now */
};

void mproc__pool_core_release(mproc__pool_core_t *core) {
  if (!core || atomic_fetch_sub(&core->refs, 1) != 1)
    return;
  mproc__os_cond_free(core->ready);
  mproc__os_mutex_free(core->lock);
  mproc__os_close_handle(core->doorbell);
  free(core);
}

int mproc__result_new(mproc_async_result_t **out, mproc__pool_core_t *core, mproc_pool_t *pool,
                      int kind, size_t n, size_t chunks, const mproc__result_opts_t *o) {
  mproc_async_result_t *r = calloc(1, sizeof *r);
  if (!r)
    return mproc__fail(MPROC_ENOMEM, "pool: out of memory");
  int rc = mproc__args_new_nils(&r->value, kind == MPROC__ASYNC_MAP ? n : 0);
  if (rc) {
    free(r);
    return rc;
  }
  r->core = core;
  atomic_fetch_add(&core->refs, 1);
  r->pool = pool;
  r->refs = 2; /* the caller's, and the pool's until ready */
  r->kind = kind;
  r->n = n;
  r->chunks_left = chunks ? chunks : 1; /* none: the submitter ends the one */
  r->base = o->base;
  r->callback = o->callback;
  r->error_callback = o->error_callback;
  r->ctx = o->ctx;
  r->on_value = o->on_value;
  r->on_error = o->on_error;
  r->pending_tail = &r->pending;
  *out = r;
  return 0;
}

/* Decodes every pending chunk into r->value, the lock dropped meanwhile
 * (other threads may decode other chunks at once: their ranges are
 * disjoint), then waits for those other threads: on return r->value is
 * whole. Under the lock. A chunk that does not decode fails its items, as
 * one that came malformed does. */
static void decode_pending_locked(mproc_async_result_t *r) {
  while (r->pending) {
    pending_chunk_t *c = r->pending;
    r->pending = NULL;
    r->pending_tail = &r->pending;
    r->decoding++;
    mproc__os_mutex_unlock(r->core->lock);
    for (pending_chunk_t *next; c; c = next) {
      int depth = 1;
      int rc = mproc__args_spread_results(c->bytes, r->value, c->first, c->count, &depth);
      mproc__os_mutex_lock(r->core->lock);
      mproc__args_note_depth(r->value, depth);
      if (rc) {
        mproc_task_error_t e = mproc__task_error(MPROC_EPROTO, "a malformed result");
        for (size_t i = 0; i < c->count; i++)
          mproc__result_item_failed(r, c->first + i, &e);
        r->core->late_failed += c->done; /* the pool's stats said done */
      }
      mproc__os_mutex_unlock(r->core->lock);
      next = c->next;
      free(c);
    }
    mproc__os_mutex_lock(r->core->lock);
    r->decoding--;
    mproc__os_cond_broadcast(r->core->ready);
  }
  while (r->decoding)
    mproc__os_cond_wait(r->core->ready, r->core->lock, -1);
}

/* Which chunks are left to the caller: many small results, whose decoding
 * is allocation and first touches rather than bytes. Smaller chunks are
 * decoded by the pool's thread at once: for them the copy and a waiter's
 * wake-up (~5 us each) cost more than the decoding (map at chunksize 1
 * was five times slower). So are chunks of large results: decoding them
 * is copying their bytes, which a queued copy would only double. */
enum { PENDING_MIN_ITEMS = 256, PENDING_MAX_ITEM_BYTES = 256 };

int mproc__result_add_pending(mproc_async_result_t *r, size_t first, size_t count, size_t done,
                              const void *bytes, size_t len) {
  bool deferred = count >= PENDING_MIN_ITEMS && len / count <= PENDING_MAX_ITEM_BYTES;
  pending_chunk_t *c = deferred ? malloc(sizeof *c + len) : NULL;
  if (!c) {
    /* Not left to the caller, or no room for a copy: decoded here, now. */
    int depth = 1;
    int rc = mproc__args_spread_results(bytes, r->value, first, count, &depth);
    mproc__args_note_depth(r->value, depth);
    return rc;
  }
  c->next = NULL;
  c->first = first;
  c->count = count;
  c->done = done;
  memcpy(c->bytes, bytes, len);
  *r->pending_tail = c;
  r->pending_tail = &c->next;
  mproc__os_cond_broadcast(r->core->ready); /* a waiter decodes it */
  return 0;
}

void mproc__result_item_ok(mproc_async_result_t *r, size_t i, mproc_args_t *value) {
  if (r->kind == MPROC__ASYNC_APPLY) {
    mproc_args_free(r->value);
    r->value = value;
  } else if (r->kind == MPROC__ASYNC_MAP && value) {
    mproc__args_put_tuple(r->value, i, value);
  } else {
    mproc_args_free(value);
  }
}

mproc_task_error_t mproc__task_error(int code, const char *message) {
  mproc_task_error_t e;
  memset(&e, 0, sizeof e);
  e.code = code;
  e.worker = -1;
  snprintf(e.message, sizeof e.message, "%s", message ? message : "");
  return e;
}

void mproc__result_item_failed(mproc_async_result_t *r, size_t i, const mproc_task_error_t *e) {
  if (r->nerrors == r->errcap) {
    size_t cap = r->errcap ? r->errcap * 2 : 4;
    item_error_t *p = realloc(r->errors, cap * sizeof *p);
    if (p) {
      r->errors = p;
      r->errcap = cap;
    }
  }
  if (r->nerrors < r->errcap) {
    r->errors[r->nerrors] = (item_error_t){i, *e};
    r->errors[r->nerrors].e.index = r->base + i;
    r->nerrors++;
  }
  if (r->code == 0 || r->base + i < r->first.index) {
    r->code = e->code;
    r->first = *e;
    r->first.index = r->base + i;
  }
}

int mproc__result_kind(const mproc_async_result_t *r) { return r->kind; }

mproc__pool_core_t *mproc__result_core(const mproc_async_result_t *r) { return r->core; }

bool mproc__result_cancelled(const mproc_async_result_t *r) { return r->cancelled; }

void mproc__result_mark_cancelled(mproc_async_result_t *r) { r->cancelled = true; }

bool mproc__result_ready_locked(const mproc_async_result_t *r) { return r->ready; }

size_t mproc__result_base(const mproc_async_result_t *r) { return r->base; }

int mproc__result_cancelable_locked(const mproc_async_result_t *r, mproc_pool_t **pool) {
  *pool = NULL;
  if (r->settled)
    return r->cancelled ? 0 : mproc__fail(MPROC_ESTATE, "async_result_cancel: the result is ready");
  if (!r->pool || r->core->pool_freed)
    return mproc__fail(MPROC_ESTATE, "async_result_cancel: its pool is gone");
  *pool = r->pool;
  return 0;
}

int mproc__result_take_value(mproc_async_result_t *r, mproc_args_t **out) {
  mproc__os_mutex_lock(r->core->lock);
  decode_pending_locked(r);
  *out = r->value;
  int rc = mproc_args_new(&r->value);
  mproc__os_mutex_unlock(r->core->lock);
  return rc;
}

int mproc__result_take_item(mproc_async_result_t *r, size_t i, mproc_args_t **out) {
  mproc__os_mutex_lock(r->core->lock);
  decode_pending_locked(r);
  int rc = mproc__args_take_tuple(r->value, i, out);
  mproc__os_mutex_unlock(r->core->lock);
  return rc;
}

/* The result whose callback runs on this thread: it may read r, which is
 * settled but not yet ready to everyone else. */
static _Thread_local const mproc_async_result_t *in_callback;

/* Whether the caller may see r's outcome. Under the lock. */
static bool visible(const mproc_async_result_t *r) {
  return r->ready || (r->settled && in_callback == r);
}

static void make_ready(mproc_async_result_t *r) {
  r->ready = true;
  mproc__os_cond_broadcast(r->core->ready);
  if (atomic_load(&r->core->watchers))
    mproc__os_doorbell_ring(r->core->doorbell);
}

bool mproc__result_chunk_done(mproc_async_result_t *r) {
  if (r->settled || --r->chunks_left > 0)
    return false;
  r->settled = true;
  r->callback_due = r->callback || r->error_callback || r->on_value || r->on_error;
  if (!r->callback_due)
    make_ready(r);
  return true;
}

void mproc__result_run_callbacks(mproc_async_result_t *r) {
  if (r->on_value) { /* it reads the value itself; fn would through get */
    mproc__os_mutex_lock(r->core->lock);
    decode_pending_locked(r);
    mproc__os_mutex_unlock(r->core->lock);
  }
  mproc_async_callback_fn fn = r->code == 0 ? r->callback : r->error_callback;
  const mproc_async_result_t *outer = in_callback;
  in_callback = r;
  if (fn)
    fn(r, r->ctx);
  /* Settled, so value and first change no more: read without the lock. */
  if (r->code == 0 && r->on_value)
    r->on_value(r->value, r->ctx);
  else if (r->code != 0 && r->on_error)
    r->on_error(&r->first, r->ctx);
  in_callback = outer;
}

void mproc__result_callbacks_done(mproc_async_result_t *r) {
  if (r->settled && !r->ready)
    make_ready(r);
}

void mproc__result_unref_locked(mproc_async_result_t *r) {
  if (--r->refs > 0)
    return;
  /* Every caller holds a reference to the core of its own (the pool's, or
   * mproc_async_result_free's), so dropping r's here never frees the core
   * - and its lock, which is held - under the caller. */
  atomic_fetch_sub(&r->core->refs, 1);
  for (pending_chunk_t *c = r->pending, *next; c; c = next) {
    next = c->next;
    free(c);
  }
  mproc_args_free(r->value);
  free(r->errors);
  free(r);
}

/* ---- the public API ------------------------------------------------------ */

int mproc_async_result_wait(mproc_async_result_t *r, int timeout_ms) {
  if (!r)
    return mproc__fail(MPROC_EINVAL, "async_result_wait: result is NULL");
  int rc = mproc__check_timeout("async_result_wait", timeout_ms);
  if (rc)
    return rc;
  int64_t deadline = mproc__deadline(timeout_ms);
  mproc__os_mutex_lock(r->core->lock);
  while (!visible(r)) {
    int left = mproc__remaining_ms(deadline);
    if (left == 0) {
      mproc__os_mutex_unlock(r->core->lock);
      return mproc__fail(MPROC_ETIMEDOUT, "async_result: not ready after %d ms", timeout_ms);
    }
    if (r->pending) { /* decoded while the rest comes, time allowing */
      decode_pending_locked(r);
      continue;
    }
    mproc__os_cond_wait(r->core->ready, r->core->lock, left);
  }
  /* Ready: what is left to decode is the readers' (get, item...), so a
   * look with timeout 0 stays cheap. */
  mproc__os_mutex_unlock(r->core->lock);
  return 0;
}

/* The detail of a failure, as the calls that report it say it. */
static int report(const mproc_task_error_t *e) {
  if (e->code == MPROC_ETASKFAILED)
    return mproc__fail(e->code, "task (item %zu) returned %d%s%s", e->index, e->task_status,
                       e->message[0] ? ": " : "", e->message);
  return mproc__fail(e->code, "task (item %zu): %s", e->index,
                     e->message[0] ? e->message : mproc_strerror(e->code));
}

int mproc_async_result_get(mproc_async_result_t *r, const mproc_args_t **out, int timeout_ms) {
  int rc = mproc_async_result_wait(r, timeout_ms);
  if (rc)
    return rc;
  mproc__os_mutex_lock(r->core->lock);
  decode_pending_locked(r); /* its value whole, its late failures counted */
  rc = r->code;
  mproc_task_error_t e = r->first;
  mproc__os_mutex_unlock(r->core->lock);
  if (rc)
    return report(&e);
  if (out)
    *out = r->value;
  return 0;
}

int mproc_async_result_ready(const mproc_async_result_t *r) {
  if (!r)
    return mproc__fail(MPROC_EINVAL, "async_result_ready: result is NULL");
  mproc__os_mutex_lock(r->core->lock);
  int ready = visible(r);
  mproc__os_mutex_unlock(r->core->lock);
  return ready;
}

int mproc_async_result_successful(const mproc_async_result_t *r) {
  if (!r)
    return mproc__fail(MPROC_EINVAL, "async_result_successful: result is NULL");
  mproc__os_mutex_lock(r->core->lock);
  if (visible(r)) /* a chunk that fails to decode fails the result */
    decode_pending_locked((mproc_async_result_t *)r);
  int rc = !visible(r) ? MPROC_ESTATE : r->code == 0;
  mproc__os_mutex_unlock(r->core->lock);
  return rc == MPROC_ESTATE
             ? mproc__fail(MPROC_ESTATE, "async_result_successful: the result is not ready")
             : rc;
}

int mproc_async_result_error(const mproc_async_result_t *r, mproc_task_error_t *e) {
  if (!r || !e)
    return mproc__fail(MPROC_EINVAL, "async_result_error: %s is NULL", r ? "e" : "result");
  mproc__os_mutex_lock(r->core->lock);
  if (visible(r))
    decode_pending_locked((mproc_async_result_t *)r);
  int rc = !visible(r) ? MPROC_ESTATE : r->code == 0 ? MPROC_ESTATE : 0;
  bool ready = visible(r);
  if (rc == 0)
    *e = r->first;
  mproc__os_mutex_unlock(r->core->lock);
  return rc ? mproc__fail(rc, "async_result_error: the result %s",
                          ready ? "succeeded" : "is not ready")
            : 0;
}

int mproc_async_result_item(const mproc_async_result_t *r, size_t i, const mproc_args_t **out,
                            mproc_task_error_t *e) {
  if (!r)
    return mproc__fail(MPROC_EINVAL, "async_result_item: result is NULL");
  mproc__os_mutex_lock(r->core->lock);
  int rc = 0;
  if (!visible(r))
    rc = mproc__fail(MPROC_ESTATE, "async_result_item: the result is not ready");
  else if (i >= r->n || r->kind == MPROC__ASYNC_RANGE)
    rc = mproc__fail(MPROC_ERANGE, "async_result_item: item %zu of %zu", i,
                     r->kind == MPROC__ASYNC_RANGE ? (size_t)0 : r->n);
  if (rc == 0) /* its value whole, its late failures counted */
    decode_pending_locked((mproc_async_result_t *)r);
  for (size_t k = 0; rc == 0 && k < r->nerrors; k++) {
    if (r->errors[k].index == i) {
      if (e)
        *e = r->errors[k].e;
      rc = r->errors[k].e.code;
    }
  }
  if (rc == 0 && r->code != 0 && r->nerrors == 0) {
    /* Failed as a whole (cancelled, broken) without per-item records. */
    if (e)
      *e = r->first;
    rc = r->code;
  }
  if (rc == 0 && out) {
    const mproc_args_t *v = r->value;
    if (r->kind == MPROC__ASYNC_MAP && mproc_args_get_args(r->value, i, &v) != 0)
      v = NULL;
    *out = v;
  }
  mproc__os_mutex_unlock(r->core->lock);
  return rc;
}

void mproc_async_result_free(mproc_async_result_t *r) {
  if (!r)
    return;
  mproc__pool_core_t *core = r->core;
  atomic_fetch_add(&core->refs, 1); /* the lock must outlive the unlock */
  mproc__os_mutex_lock(core->lock);
  mproc__result_unref_locked(r);
  mproc__os_mutex_unlock(core->lock);
  mproc__pool_core_release(core);
}

/* ---- mproc_wait ------------------------------------------------------------- */

static bool result_ready_obj(void *r) { return mproc_async_result_ready(r) == 1; }

static int result_check(const mproc_waitable_t *w, size_t i) {
  return w->object ? 0 : mproc__fail(MPROC_EINVAL, "wait: object %zu is a NULL result", i);
}

/* As a queue: counts the caller as a watcher, so the pool rings the core's
 * doorbell when a result becomes ready. */
static int result_arm(const mproc_waitable_t *w, intptr_t *handle, bool *ready_now) {
  mproc_async_result_t *r = w->object;
  return mproc__bell_arm(r->core->doorbell, &r->core->watchers, result_ready_obj, r, handle,
                         ready_now);
}

static void result_disarm(const mproc_waitable_t *w) {
  mproc__bell_disarm(&((mproc_async_result_t *)w->object)->core->watchers);
}

static bool result_ready(const mproc_waitable_t *w, bool fired) {
  (void)fired; /* the doorbell rings for every result of the pool */
  return result_ready_obj(w->object);
}

static const mproc__wait_class_t result_wait = {"result", result_check, result_arm, result_disarm,
                                                result_ready};

mproc_waitable_t mproc_waitable_async_result(mproc_async_result_t *r) {
  return mproc__waitable(&result_wait, r, -1);
}
