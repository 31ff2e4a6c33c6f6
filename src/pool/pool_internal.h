/* What the pool's files share: the pool core, tasks and results (pool.c
 * runs the pool, pool_result.c is the AsyncResult, pool_iter.c imap). */
#ifndef MPROC_POOL_POOL_INTERNAL_H
#define MPROC_POOL_POOL_INTERNAL_H

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
  /* Items the pool counted done whose results then failed to decode in
   * the caller's thread (under the lock; mproc_pool_stats moves them). */
  uint64_t late_failed;
} mproc__pool_core_t;

void mproc__pool_core_release(mproc__pool_core_t *core);

enum { MPROC__ASYNC_APPLY = 1, MPROC__ASYNC_MAP, MPROC__ASYNC_RANGE };

/* pool_result.c, under the core's lock: a new result of kind with n items;
 * item i's outcome; the end of one task (the result is ready when the last
 * ends). */
typedef struct {
  size_t base; /* the first item's index among the caller's (imap's chunks) */
  mproc_async_callback_fn callback, error_callback;
  void *ctx;
  mproc_value_callback_fn on_value;
  mproc_error_callback_fn on_error;
} mproc__result_opts_t;
int mproc__result_new(mproc_async_result_t **out, mproc__pool_core_t *core, mproc_pool_t *pool,
                      int kind, size_t n, size_t chunks, const mproc__result_opts_t *o);
void mproc__result_item_ok(mproc_async_result_t *r, size_t i, mproc_args_t *value);
/* A failure of code with message, of no worker (worker -1) and item 0. */
mproc_task_error_t mproc__task_error(int code, const char *message);
void mproc__result_item_failed(mproc_async_result_t *r, size_t i, const mproc_task_error_t *e);
/* A map chunk's results, count items from item first, still encoded (the
 * len bytes mproc__args_split_results found; done of them results the
 * pool counted as done): copied and queued for whoever waits for r to
 * decode when they are many and small; else (or without memory for a
 * copy) decoded now: its error. Under the lock. */
int mproc__result_add_pending(mproc_async_result_t *r, size_t first, size_t count, size_t done,
                              const void *bytes, size_t len);
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
/* What the pool asks of r (under the lock): its kind (APPLY, MAP, RANGE),
 * its core, whether it was cancelled (its tasks fail so), and marks it
 * so; whether it is ready; the first item's index among the caller's. */
int mproc__result_kind(const mproc_async_result_t *r);
mproc__pool_core_t *mproc__result_core(const mproc_async_result_t *r);
bool mproc__result_cancelled(const mproc_async_result_t *r);
void mproc__result_mark_cancelled(mproc_async_result_t *r);
bool mproc__result_ready_locked(const mproc_async_result_t *r);
size_t mproc__result_base(const mproc_async_result_t *r);
/* Whether r may be cancelled now (under the lock): 0 with *pool its pool,
 * or NULL when it was cancelled already (nothing to do); else an error. */
int mproc__result_cancelable_locked(const mproc_async_result_t *r, mproc_pool_t **pool);
/* Moves r's value (an apply's result tuple, a map's tuple of them) to
 * *out: r is the caller's alone and ready. Takes the lock. */
int mproc__result_take_value(mproc_async_result_t *r, mproc_args_t **out);
/* Moves item i's result tuple of a ready map result to *out. Takes the
 * lock. */
int mproc__result_take_item(mproc_async_result_t *r, size_t i, mproc_args_t **out);

/* pool_submit.c: submits kind's tasks for fn: APPLY runs fn(args); MAP runs fn on
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
  mproc_value_callback_fn on_value;
  mproc_error_callback_fn on_error;
} mproc__submit_t;
int mproc__pool_submit(mproc_pool_t *p, const mproc__submit_t *s, mproc_async_result_t **out);
/* pool.c: the pool's processes (for imap's default buffer). */
int mproc__pool_processes(const mproc_pool_t *p);
/* The pool's core (an iterator takes a reference to outlive the pool). */
mproc__pool_core_t *mproc__pool_core(const mproc_pool_t *p);

#endif
