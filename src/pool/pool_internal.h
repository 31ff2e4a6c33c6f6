/* What the pool's files share: the pool core, tasks and results (pool.c
 * runs the pool, pool_result.c is the AsyncResult, pool_iter.c imap). */
#ifndef MPROC_COMMON_POOL_INTERNAL_H
#define MPROC_COMMON_POOL_INTERNAL_H

#include "args/args_objects.h"
#include "core/internal.h"

/* The lock and signals a pool and its results share. Reference counted:
 * a result outlives its pool, and must still be able to wait and read. */
typedef struct {
  _Atomic int refs;
  mproc__os_mutex_t *lock;   /* guards the pool and every result of it */
  mproc__os_cond_t *ready;   /* broadcast when a result becomes ready, a worker exits */
  intptr_t doorbell;         /* rung for mproc_wait when a result becomes ready */
  _Atomic uint32_t watchers; /* in mproc_wait (core/waitable.h) */
  bool pool_freed;           /* under the lock: what outlives the pool must not reach it */
} mproc__pool_core_t;

void mproc__pool_core_release(mproc__pool_core_t *core);

enum { MPROC__RESULT_APPLY = 1, MPROC__RESULT_MAP, MPROC__RESULT_RANGE };

typedef struct {
  size_t index;
  mproc_task_error_t e;
} mproc__item_error_t;

struct mproc_async_result {
  mproc__pool_core_t *core;
  mproc_pool_t *pool; /* not to be reached once core->pool_freed */
  int refs;           /* under the lock: the caller's, and the pool's while not ready */
  int kind;
  size_t n;           /* items (1 for apply) */
  size_t base;        /* the first item's index among the caller's (imap's chunks) */
  size_t chunks_left; /* tasks not finished */
  /* settled: every task has its outcome. ready: settled and the callback
   * has returned - what get, wait and ready report, as CPython runs the
   * callback before the result becomes ready (test_map_async_callbacks).
   * The callback itself sees its result settled (mproc__result_visible). */
  bool settled;
  bool ready;
  bool cancelled;
  mproc_args_t *value;         /* apply: the result; map: one result tuple per item (nil while
                                  missing); range: () */
  mproc__item_error_t *errors; /* failed items, in the order they failed */
  size_t nerrors, errcap;
  int code;                 /* 0, or the failure of the lowest failed item */
  mproc_task_error_t first; /* that failure */
  mproc_async_callback_fn callback, error_callback;
  void *ctx;
  bool callback_due; /* ready, callbacks not run yet (pool thread) */
};

/* pool_result.c, under the core's lock: a new result of kind with n items;
 * item i's outcome; the end of one task (the result is ready when the last
 * ends). */
int mproc__result_new(mproc_async_result_t **out, mproc__pool_core_t *core, mproc_pool_t *pool,
                      int kind, size_t n, size_t chunks);
void mproc__result_item_ok(mproc_async_result_t *r, size_t i, mproc_args_t *value);
void mproc__result_item_failed(mproc_async_result_t *r, size_t i, const mproc_task_error_t *e);
/* true when r just settled (the caller runs its callbacks, then
 * mproc__result_callbacks_done and mproc__result_unref). A result without
 * callbacks is ready at once. */
bool mproc__result_chunk_done(mproc_async_result_t *r);
/* Runs r's callbacks (without the lock). */
void mproc__result_run_callbacks(mproc_async_result_t *r);
/* The callbacks of a settled r have returned: r is ready (under the lock). */
void mproc__result_callbacks_done(mproc_async_result_t *r);
/* Drops a reference (under the lock); frees r with the last. */
void mproc__result_unref_locked(mproc_async_result_t *r);

/* pool.c: cancels r's tasks (see mproc_async_result_cancel), under the
 * lock. */
int mproc__pool_cancel_locked(mproc_pool_t *p, mproc_async_result_t *r, unsigned flags);

/* pool.c: submits kind's tasks for fn: APPLY runs fn(args); MAP runs fn on
 * each item of args (wrap: as a one-item tuple, else the item is the
 * argument tuple), chunksize at a time; RANGE runs fn(args, b, e) over
 * chunks of [0, n). first: the index of args's first item among the
 * caller's (imap). */
typedef struct {
  int kind;
  mproc__fn_t fn;
  const mproc_args_t *args;
  bool wrap;
  size_t n, first, chunksize;
  int timeout_ms;
  mproc_async_callback_fn callback, error_callback;
  void *ctx;
} mproc__submit_t;
int mproc__pool_submit(mproc_pool_t *p, const mproc__submit_t *s, mproc_async_result_t **out);
/* The pool's processes (for imap's default buffer). */
int mproc__pool_processes(const mproc_pool_t *p);
/* The pool's core (an iterator takes a reference to outlive the pool). */
mproc__pool_core_t *mproc__pool_core(const mproc_pool_t *p);

#endif
