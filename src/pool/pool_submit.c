/* Submitting: each call becomes tasks (an apply, chunks of a map or a
 * range), encoded outside the lock, then queued for the pool's thread;
 * and cancelling them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args/fnref.h"
#include "pool/pool_types.h"
/* A task's message, encoded; size_hint: what it will likely need (the
 * chunk before it, scaled), so a large chunk is not grown by doubling. */
static int new_task(mproc_pool_t *p, const mproc__submit_t *s, const unsigned char *fn,
                    size_t fn_len, size_t first, size_t count, size_t size_hint,
                    mproc__task_t **out) {
  mproc__task_t *t = calloc(1, sizeof *t);
  if (!t)
    return mproc__fail(MPROC_ENOMEM, "pool: out of memory");
  t->first = first;
  t->count = count;
  t->timeout_ms = s->timeout_ms ? s->timeout_ms : p->o.task_timeout_ms;
  mproc__task_head_t h = {.kind = s->kind == MPROC__ASYNC_APPLY ? MPROC__TASK_APPLY
                                  : s->kind == MPROC__ASYNC_MAP ? MPROC__TASK_CHUNK
                                                                : MPROC__TASK_RANGE,
                          .begin = first,
                          .end = first + count,
                          .fnref_len = (uint32_t)fn_len};
  int rc = mproc__buf_reserve(&t->msg, MPROC__TASK_HEAD + fn_len + 64 + size_hint);
  if (!rc) {
    t->msg.len = MPROC__TASK_HEAD;
    rc = mproc__buf_append(&t->msg, fn, fn_len);
  }
  if (!rc) {
    /* No handle reaches a worker elsewhere: encoding without a table
     * refuses IPC objects. */
    mproc__handle_table_t *table = p->members->carries_handles ? &t->handles : NULL;
    if (s->kind == MPROC__ASYNC_MAP)
      rc = mproc__args_encode_items(s->args, first, count, s->wrap, &t->msg, table);
    else
      rc = mproc__args_encode_into(s->args, &t->msg, table);
    if (rc == MPROC_ENOTSUP && !table)
      mproc__fail(rc,
                  "pool: an IPC object in the arguments (a Lock, Queue, connection, shared "
                  "Value or Array...) cannot reach a worker of the %s backend, which may be on "
                  "another machine: pass the data itself",
                  p->backend && p->backend->name ? p->backend->name : "given");
  }
  if (rc) {
    mproc__task_free(t);
    return rc;
  }
  h.nhandles = (uint32_t)t->handles.n;
  mproc__task_head_put(t->msg.data, &h);
  *out = t;
  return 0;
}

/* Encodes every task of sub into *list, outside the lock; *tasks is how
 * many there are. */
static int encode_tasks(mproc_pool_t *p, const mproc__submit_t *sub, mproc__task_list_t *list,
                        size_t *tasks) {
  unsigned char fn[MPROC__FNREF_PACKED_MAX];
  size_t fn_len;
  int rc = mproc__fnref_pack_fn(sub->fn, fn, sizeof fn, &fn_len);
  if (rc) {
    mproc__error_prefix("pool: the task function");
    return rc;
  }
  bool apply = sub->kind == MPROC__ASYNC_APPLY;
  size_t n = apply ? 1 : sub->n;
  size_t chunk = sub->chunksize;
  if (!apply && chunk == 0) {
    size_t parts = (size_t)p->n * 4; /* Python's: ceil(n / (4 * processes)) */
    chunk = n / parts + (n % parts != 0);
  }
  if (chunk == 0)
    chunk = 1;
  *tasks = apply ? 1 : n / chunk + (n % chunk != 0);
  size_t per_item = 0; /* bytes per item in the chunk before */
  for (size_t first = 0; first < n && !rc; first += chunk) {
    size_t count = apply ? 1 : n - first < chunk ? n - first : chunk;
    mproc__task_t *t = NULL;
    rc = new_task(p, sub, fn, fn_len, first, count, per_item * count, &t);
    if (!rc) {
      per_item = t->msg.len / count + 1;
      mproc__tasks_push(list, t);
    }
    if (apply)
      break;
  }
  return rc;
}

/* Why p takes no task now (0: it does). Under the lock. */
static int refuses(const mproc_pool_t *p) {
  if (p->state != MPROC__POOL_RUNNING)
    return mproc__fail(MPROC_ESTATE, "pool: the pool is %s",
                       p->state == MPROC__POOL_CLOSED ? "closed" : "terminated");
  if (p->broken)
    return mproc__fail(p->broken, "pool: %s: the pool is broken",
                       p->broken == MPROC_EINIT ? p->members->init_broken
                                                : "every worker was retired");
  return 0;
}

int mproc__pool_submit(mproc_pool_t *p, const mproc__submit_t *s, mproc_async_result_t **out) {
  if (!p || !s->fn || !out)
    return mproc__fail(MPROC_EINVAL, "pool: %s is NULL", !p ? "pool" : !s->fn ? "fn" : "out");
  if (s->timeout_ms < 0)
    return mproc__fail(MPROC_EINVAL, "pool: timeout %d ms is negative", s->timeout_ms);
  mproc_args_t *none = NULL;
  mproc__submit_t sub = *s;
  int rc = sub.args ? 0 : mproc_args_new(&none);
  if (rc)
    return rc;
  if (!sub.args)
    sub.args = none;
  size_t n = sub.kind == MPROC__ASYNC_APPLY ? 1 : sub.n, tasks = 0;
  mproc__task_list_t list = {0};
  rc = encode_tasks(p, &sub, &list, &tasks);
  mproc_args_free(none);
  mproc_async_result_t *r = NULL;
  mproc__os_mutex_lock(p->core->lock);
  if (!rc)
    rc = refuses(p);
  if (!rc)
    rc = mproc__result_new(&r, p->core, p, sub.kind, n, tasks,
                           &(mproc__result_opts_t){.base = sub.first,
                                                   .callback = sub.callback,
                                                   .error_callback = sub.error_callback,
                                                   .ctx = sub.ctx,
                                                   .on_value = sub.on_value,
                                                   .on_error = sub.on_error});
  if (rc) {
    mproc__os_mutex_unlock(p->core->lock);
    for (mproc__task_t *t; (t = mproc__tasks_pop(&list)) != NULL;)
      mproc__task_free(t);
    return rc;
  }
  for (mproc__task_t *t = list.head; t; t = t->next) {
    t->r = r;
    t->id = ++p->next_id;
    mproc__task_head_set_id(t->msg.data, t->id);
  }
  if (n == 0)
    mproc__pool_chunk_done(p, r); /* no task: the one chunk it counts ends now */
  mproc__tasks_append(&p->queue, &list);
  mproc__pool_wake(p);
  mproc__os_mutex_unlock(p->core->lock);
  *out = r;
  return 0;
}

/* Cancels r's tasks of p (see mproc_async_result_cancel), under the lock. */
static int cancel_locked(mproc_pool_t *p, mproc_async_result_t *r, unsigned flags) {
  /* Held by a worker? Then only a kill takes it back. */
  bool held = false;
  for (int i = 0; i < p->n; i++)
    for (mproc__task_t *t = p->w[i].state != MPROC__MEMBER_EMPTY ? p->w[i].held.head : NULL; t;
         t = t->next)
      held |= t->r == r;
  if (held && !(flags & MPROC_CANCEL_KILL))
    return mproc__fail(MPROC_ESTATE, "async_result_cancel: a worker has the task already "
                                     "(MPROC_CANCEL_KILL stops it)");
  mproc__result_mark_cancelled(r);
  mproc__task_list_t keep = {0};
  for (mproc__task_t *t; (t = mproc__tasks_pop(&p->queue)) != NULL;) {
    if (t->r != r) {
      mproc__tasks_push(&keep, t);
      continue;
    }
    mproc_task_error_t e = mproc__task_error(MPROC_ECANCELED, "cancelled");
    mproc__pool_fail_task(p, t, &e);
  }
  p->queue = keep;
  for (int i = 0; held && i < p->n; i++) {
    mproc__member_t *w = &p->w[i];
    for (mproc__task_t *t = w->state != MPROC__MEMBER_EMPTY ? w->held.head : NULL; t; t = t->next)
      if (t->r == r) {
        mproc__pool_stop_member(p, i, MPROC_ECANCELED, mproc__pool_begun_task(p, i));
        break;
      }
  }
  mproc__pool_wake(p);
  return 0;
}

int mproc_async_result_cancel(mproc_async_result_t *r, unsigned flags) {
  if (!r)
    return mproc__fail(MPROC_EINVAL, "async_result_cancel: result is NULL");
  mproc__pool_core_t *core = mproc__result_core(r);
  mproc__os_mutex_lock(core->lock);
  mproc_pool_t *p;
  int rc = mproc__result_cancelable_locked(r, &p);
  if (!rc && p)
    rc = cancel_locked(p, r, flags);
  mproc__os_mutex_unlock(core->lock);
  return rc;
}

int mproc_pool_apply_async(mproc_pool_t *p, mproc_task_fn fn, const mproc_args_t *args,
                           const mproc_task_opts_t *opts, mproc_async_result_t **out) {
  mproc_task_opts_t o = opts ? *opts : (mproc_task_opts_t){0};
  if (MPROC__CHECK_RESERVED("pool_apply_async", &o))
    return MPROC_EINVAL;
  mproc__submit_t s = {.kind = MPROC__ASYNC_APPLY,
                       .fn = (mproc__fn_t)fn,
                       .args = args,
                       .n = 1,
                       .timeout_ms = o.timeout_ms,
                       .callback = o.callback,
                       .error_callback = o.error_callback,
                       .ctx = o.ctx,
                       .on_value = o.on_value,
                       .on_error = o.on_error};
  return mproc__pool_submit(p, &s, out);
}

/* Waits up to timeout_ms for r and moves its value to *out; frees r (a
 * pending task runs on, its outcome discarded). */
static int wait_and_take(mproc_async_result_t *r, int timeout_ms, mproc_args_t **out) {
  int rc = mproc_async_result_get(r, NULL, timeout_ms);
  if (!rc) /* the result is ours alone: take its tuple instead of copying it */
    rc = mproc__result_take_value(r, out);
  mproc_async_result_free(r);
  return rc;
}

int mproc_pool_apply_timeout(mproc_pool_t *p, mproc_task_fn fn, const mproc_args_t *args,
                             int timeout_ms, mproc_args_t **result) {
  if (!result)
    return mproc__fail(MPROC_EINVAL, "pool_apply: result is NULL");
  int rc = mproc__check_timeout("pool_apply", timeout_ms);
  mproc_async_result_t *r;
  if (rc || (rc = mproc_pool_apply_async(p, fn, args, NULL, &r)) != 0)
    return rc;
  return wait_and_take(r, timeout_ms, result);
}

int mproc_pool_apply(mproc_pool_t *p, mproc_task_fn fn, const mproc_args_t *args,
                     mproc_args_t **result) {
  return mproc_pool_apply_timeout(p, fn, args, MPROC_INFINITE, result);
}

static int map_async(mproc_pool_t *p, mproc_task_fn fn, const mproc_args_t *items, bool wrap,
                     const mproc_map_opts_t *opts, mproc_async_result_t **out) {
  if (!items)
    return mproc__fail(MPROC_EINVAL, "pool_map: items is NULL");
  mproc_map_opts_t o = opts ? *opts : (mproc_map_opts_t){0};
  if (MPROC__CHECK_RESERVED("pool_map", &o))
    return MPROC_EINVAL;
  mproc__submit_t s = {.kind = MPROC__ASYNC_MAP,
                       .fn = (mproc__fn_t)fn,
                       .args = items,
                       .wrap = wrap,
                       .n = mproc_args_count(items),
                       .chunksize = o.chunksize,
                       .timeout_ms = o.timeout_ms,
                       .callback = o.callback,
                       .error_callback = o.error_callback,
                       .ctx = o.ctx,
                       .on_value = o.on_value,
                       .on_error = o.on_error};
  return mproc__pool_submit(p, &s, out);
}

static int map_wait(mproc_pool_t *p, mproc_task_fn fn, const mproc_args_t *items, bool wrap,
                    const mproc_map_opts_t *opts, mproc_args_t **results) {
  if (!results)
    return mproc__fail(MPROC_EINVAL, "pool_map: results is NULL");
  int wait = opts && opts->wait_ms ? opts->wait_ms : MPROC_INFINITE;
  int rc = mproc__check_timeout("pool_map", wait);
  mproc_async_result_t *r;
  if (rc || (rc = map_async(p, fn, items, wrap, opts, &r)) != 0)
    return rc;
  return wait_and_take(r, wait, results);
}

int mproc_pool_map(mproc_pool_t *p, mproc_task_fn fn, const mproc_args_t *items,
                   const mproc_map_opts_t *opts, mproc_args_t **results) {
  return map_wait(p, fn, items, true, opts, results);
}

int mproc_pool_starmap(mproc_pool_t *p, mproc_task_fn fn, const mproc_args_t *items,
                       const mproc_map_opts_t *opts, mproc_args_t **results) {
  return map_wait(p, fn, items, false, opts, results);
}

int mproc_pool_map_async(mproc_pool_t *p, mproc_task_fn fn, const mproc_args_t *items,
                         const mproc_map_opts_t *opts, mproc_async_result_t **out) {
  return map_async(p, fn, items, true, opts, out);
}

int mproc_pool_starmap_async(mproc_pool_t *p, mproc_task_fn fn, const mproc_args_t *items,
                             const mproc_map_opts_t *opts, mproc_async_result_t **out) {
  return map_async(p, fn, items, false, opts, out);
}

int mproc_pool_map_range(mproc_pool_t *p, mproc_range_fn fn, const mproc_args_t *ctx, size_t n,
                         const mproc_map_opts_t *opts) {
  mproc_map_opts_t o = opts ? *opts : (mproc_map_opts_t){0};
  if (MPROC__CHECK_RESERVED("pool_map_range", &o))
    return MPROC_EINVAL;
  mproc__submit_t s = {.kind = MPROC__ASYNC_RANGE,
                       .fn = (mproc__fn_t)fn,
                       .args = ctx,
                       .n = n,
                       .chunksize = o.chunksize,
                       .timeout_ms = o.timeout_ms};
  mproc_async_result_t *r;
  int rc = mproc__pool_submit(p, &s, &r);
  if (rc)
    return rc;
  rc = mproc_async_result_get(r, NULL, MPROC_INFINITE);
  mproc_async_result_free(r);
  return rc;
}
