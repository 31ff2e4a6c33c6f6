/* imap and imap_unordered over a lazy input (see pool.h).
 *
 * The iterator pulls items from the caller's source on the caller's own
 * thread - when it is made and as results are taken - and never holds
 * more than buffersize items that were pulled and not yet handed back, so
 * a long or endless input costs bounded memory (Python's imap reads its
 * input as fast as the pipe takes it: gh-84291). Each chunk of items is one
 * task with an AsyncResult of its own; imap hands results back in input
 * order, imap_unordered as chunks complete, both with each item's index. */
#include <stdlib.h>

#include "args/args_objects.h"
#include "mproc/pool.h"
#include "pool/pool_internal.h"

typedef struct chunk {
  struct chunk *next;
  mproc_async_result_t *r;
  size_t count, taken;
} chunk_t;

struct mproc_pool_iter {
  mproc_pool_t *pool;       /* not reached once core->pool_freed */
  mproc__pool_core_t *core; /* a reference: the iterator outlives its pool */
  bool pool_gone;           /* seen freed: nothing more is submitted */
  mproc_task_fn fn;
  mproc_item_source_fn next;
  void *ctx;
  mproc_args_t *items; /* imap over a tuple: a copy of it, and the next item */
  size_t items_at;
  bool ordered;
  size_t chunksize, buffersize;
  int timeout_ms;
  chunk_t *head, *tail; /* submitted, in input order */
  size_t outstanding;   /* items pulled and not handed back */
  size_t pulled;        /* the index of the next item */
  bool source_done;
  int source_error; /* reported once every item before it was */
  size_t error_index;
};

static void push(mproc_pool_iter_t *it, chunk_t *c) {
  c->next = NULL;
  if (it->tail)
    it->tail->next = c;
  else
    it->head = c;
  it->tail = c;
}

/* Whether the pool was freed (then nothing more can be submitted). */
static bool pool_freed(mproc_pool_iter_t *it) {
  if (!it->pool_gone) {
    mproc__os_mutex_lock(it->core->lock);
    it->pool_gone = it->core->pool_freed;
    mproc__os_mutex_unlock(it->core->lock);
  }
  return it->pool_gone;
}

/* Pulls and submits chunks until the buffer is full or the input ends. */
static int top_up(mproc_pool_iter_t *it) {
  while (!it->source_done && it->outstanding < it->buffersize && !pool_freed(it)) {
    mproc_args_t *items;
    int rc = mproc_args_new(&items);
    if (rc)
      return rc;
    size_t want = it->chunksize;
    if (want > it->buffersize - it->outstanding)
      want = it->buffersize - it->outstanding;
    while (mproc_args_count(items) < want) {
      mproc_args_t *item = NULL;
      int got = it->next(it->ctx, &item);
      if (got < 0) {
        it->source_done = true;
        it->source_error = got;
        it->error_index = it->pulled + mproc_args_count(items);
        break;
      }
      if (got == 0 || !item) {
        it->source_done = true;
        break;
      }
      if ((rc = mproc__args_add_tuple_owned(items, item)) != 0) {
        mproc_args_free(items);
        return rc;
      }
    }
    size_t n = mproc_args_count(items);
    if (n == 0) {
      mproc_args_free(items);
      break;
    }
    chunk_t *c = calloc(1, sizeof *c);
    mproc__submit_t s = {.kind = MPROC__ASYNC_MAP,
                         .fn = (mproc__fn_t)it->fn,
                         .args = items,
                         .n = n,
                         .first = it->pulled,
                         .chunksize = n,
                         .timeout_ms = it->timeout_ms};
    rc = c ? mproc__pool_submit(it->pool, &s, &c->r)
           : mproc__fail(MPROC_ENOMEM, "pool_imap: out of memory");
    mproc_args_free(items);
    if (rc) {
      free(c);
      return rc;
    }
    c->count = n;
    push(it, c);
    it->pulled += n;
    it->outstanding += n;
  }
  return 0;
}

/* imap over a tuple's source: item i, as a one-item tuple. */
static int next_of_items(void *ctx, mproc_args_t **item) {
  mproc_pool_iter_t *it = ctx;
  if (it->items_at >= mproc_args_count(it->items))
    return 0;
  mproc_item_t x;
  mproc_args_t *one = NULL;
  int rc = mproc_args_get_item(it->items, it->items_at, &x);
  if (!rc)
    rc = mproc_args_new(&one);
  if (!rc && (rc = mproc_args_add_item(one, x)) != 0)
    mproc_args_free(one);
  if (rc)
    return rc;
  it->items_at++;
  *item = one;
  return 1;
}

/* An iterator over next(ctx), or over items (taken over; then next and
 * ctx are unused). */
static int make(mproc_pool_t *p, mproc_task_fn fn, mproc_item_source_fn next, void *ctx,
                mproc_args_t *items, const mproc_map_opts_t *opts, bool ordered,
                mproc_pool_iter_t **out) {
  mproc_map_opts_t o = opts ? *opts : (mproc_map_opts_t){0};
  int rc = !p || !fn || !(next || items) || !out
               ? mproc__fail(MPROC_EINVAL, "pool_imap: %s is NULL",
                             !p     ? "pool"
                             : !fn  ? "fn"
                             : !out ? "out"
                                    : "next")
           : o.timeout_ms < 0
               ? mproc__fail(MPROC_EINVAL, "pool_imap: timeout %d ms is negative", o.timeout_ms)
               : MPROC__CHECK_RESERVED("pool_imap", &o);
  mproc_pool_iter_t *it = rc ? NULL : calloc(1, sizeof *it);
  if (!it) {
    mproc_args_free(items);
    return rc ? rc : mproc__fail(MPROC_ENOMEM, "pool_imap: out of memory");
  }
  it->pool = p;
  it->core = mproc__pool_core(p);
  atomic_fetch_add(&it->core->refs, 1);
  it->fn = fn;
  it->next = items ? next_of_items : next;
  it->ctx = items ? it : ctx;
  it->items = items;
  it->ordered = ordered;
  it->chunksize = o.chunksize ? o.chunksize : 1;
  it->buffersize =
      o.buffersize ? o.buffersize : 2 * (size_t)mproc__pool_processes(p) * it->chunksize;
  if (it->buffersize < it->chunksize)
    it->buffersize = it->chunksize;
  it->timeout_ms = o.timeout_ms;
  rc = top_up(it);
  if (rc || (it->source_error && !it->head)) {
    rc = rc ? rc : it->source_error;
    mproc_pool_iter_free(it);
    return rc < 0 ? rc : mproc__fail(MPROC_EINVAL, "pool_imap: the source failed");
  }
  *out = it;
  return 0;
}

int mproc_pool_imap(mproc_pool_t *p, mproc_task_fn fn, mproc_item_source_fn next, void *ctx,
                    const mproc_map_opts_t *opts, mproc_pool_iter_t **out) {
  return make(p, fn, next, ctx, NULL, opts, true, out);
}

int mproc_pool_imap_unordered(mproc_pool_t *p, mproc_task_fn fn, mproc_item_source_fn next,
                              void *ctx, const mproc_map_opts_t *opts, mproc_pool_iter_t **out) {
  return make(p, fn, next, ctx, NULL, opts, false, out);
}

/* The iterator's own copy of items. */
static int copy_items(const mproc_args_t *items, mproc_args_t **copy) {
  *copy = NULL;
  if (!items)
    return mproc__fail(MPROC_EINVAL, "pool_imap_items: items is NULL");
  return mproc__args_copy(items, copy);
}

int mproc_pool_imap_items(mproc_pool_t *p, mproc_task_fn fn, const mproc_args_t *items,
                          const mproc_map_opts_t *opts, mproc_pool_iter_t **out) {
  mproc_args_t *copy;
  int rc = copy_items(items, &copy);
  return rc ? rc : make(p, fn, NULL, NULL, copy, opts, true, out);
}

int mproc_pool_imap_items_unordered(mproc_pool_t *p, mproc_task_fn fn, const mproc_args_t *items,
                                    const mproc_map_opts_t *opts, mproc_pool_iter_t **out) {
  mproc_args_t *copy;
  int rc = copy_items(items, &copy);
  return rc ? rc : make(p, fn, NULL, NULL, copy, opts, false, out);
}

/* The chunk to hand an item from: the oldest (imap) or any ready one
 * (imap_unordered), waiting up to timeout_ms; NULL when none is ready. */
static chunk_t *ready_chunk(mproc_pool_iter_t *it, int timeout_ms) {
  mproc__pool_core_t *core = mproc__result_core(it->head->r);
  int64_t deadline = mproc__deadline(timeout_ms);
  mproc__os_mutex_lock(core->lock);
  chunk_t *found = NULL;
  for (;;) {
    for (chunk_t *c = it->head; c && !found; c = it->ordered ? NULL : c->next)
      if (mproc__result_ready_locked(c->r)) /* a chunk has no callbacks: ready once settled */
        found = c;
    if (found)
      break;
    int left = mproc__remaining_ms(deadline);
    if (left == 0)
      break;
    mproc__os_cond_wait(core->ready, core->lock, left);
  }
  mproc__os_mutex_unlock(core->lock);
  return found;
}

static void unlink_chunk(mproc_pool_iter_t *it, chunk_t *c) {
  chunk_t **at = &it->head, *prev = NULL;
  while (*at != c) {
    prev = *at;
    at = &(*at)->next;
  }
  *at = c->next;
  if (it->tail == c)
    it->tail = prev;
  mproc_async_result_free(c->r);
  free(c);
}

int mproc_pool_iter_next(mproc_pool_iter_t *it, mproc_args_t **result, size_t *index,
                         int timeout_ms) {
  if (!it || !result)
    return mproc__fail(MPROC_EINVAL, "pool_iter_next: %s is NULL", it ? "result" : "iterator");
  int rc = mproc__check_timeout("pool_iter_next", timeout_ms);
  if (rc)
    return rc;
  *result = NULL;
  if ((rc = top_up(it)) != 0)
    return rc;
  if (!it->head) {
    if (!it->source_done && pool_freed(it))
      return mproc__fail(MPROC_ECLOSED, "pool_iter_next: the pool was freed before item %zu",
                         it->pulled);
    if (it->source_error) {
      rc = it->source_error;
      it->source_error = 0;
      if (index)
        *index = it->error_index;
      return rc < -1
                 ? mproc__fail(rc, "pool_iter_next: the input failed at item %zu", it->error_index)
                 : mproc__fail(MPROC_EINVAL, "pool_iter_next: the input failed (%d)", rc);
    }
    return mproc__fail(MPROC_EEOF, "pool_iter_next: no more items");
  }
  chunk_t *c = ready_chunk(it, timeout_ms);
  if (!c)
    return mproc__fail(MPROC_ETIMEDOUT, "pool_iter_next: no result after %d ms", timeout_ms);
  size_t i = c->taken++;
  mproc_async_result_t *r = c->r;
  if (index)
    *index = mproc__result_base(r) + i;
  mproc_task_error_t e;
  rc = mproc_async_result_item(r, i, NULL, &e);
  if (rc == 0) {
    rc = mproc__result_take_item(r, i, result);
  } else {
    if (e.code == MPROC_ETASKFAILED)
      mproc__fail(rc, "item %zu: the task returned %d%s%s", e.index, e.task_status,
                  e.message[0] ? ": " : "", e.message);
    else
      mproc__fail(rc, "item %zu: %s", e.index, e.message[0] ? e.message : mproc_strerror(rc));
  }
  it->outstanding--;
  if (c->taken == c->count)
    unlink_chunk(it, c);
  /* The buffer is topped up at the next call, so the source is never more
   * than buffersize items ahead of what the caller has taken. */
  return rc;
}

void mproc_pool_iter_free(mproc_pool_iter_t *it) {
  if (!it)
    return;
  while (it->head) {
    chunk_t *c = it->head;
    mproc_async_result_cancel(c->r, 0); /* queued chunks never run */
    unlink_chunk(it, c);
  }
  mproc__pool_core_release(it->core);
  mproc_args_free(it->items);
  free(it);
}
