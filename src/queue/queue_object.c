/* A queue as an object: making one, sharing it with another process (its
 * mapping, its locks' handles, its doorbell), freeing it; and the class
 * that lets mproc_wait watch one. */
#include <stdlib.h>

#include "core/waitable.h"
#include "queue/queue_internal.h"

/* ---- making, sharing, freeing ---------------------------------------------------- */

/* Points q into its mapping: the ring of capacity bytes, then the chunk
 * pool's table, and the chunks from pool_offset (0: no pool). */
static void wrap(mproc_queue_t *q, uint64_t capacity, size_t pool_offset) {
  q->sh = q->s.mem;
  q->ring = (unsigned char *)q->s.mem + RING_OFFSET;
  if (pool_offset) {
    q->chunks = (chunk_t *)(q->ring + capacity);
    q->pool = (unsigned char *)q->s.mem + pool_offset;
  }
}

int mproc_queue_new(mproc_queue_t **out, const mproc_queue_opts_t *opts) {
  if (!out)
    return mproc__fail(MPROC_EINVAL, "queue_new: out is NULL");
  mproc_queue_opts_t o = opts ? *opts : (mproc_queue_opts_t){0};
  if (MPROC__CHECK_RESERVED("queue_new", &o))
    return MPROC_EINVAL;
  uint64_t maxsize = o.maxsize; /* size_t may be 32 bits: then never above */
  if (maxsize > UINT32_MAX)
    return mproc__fail(MPROC_ERANGE, "queue_new: maxsize %llu is above %u",
                       (unsigned long long)maxsize, UINT32_MAX);
  size_t want = o.capacity_bytes ? o.capacity_bytes : MPROC_QUEUE_DEFAULT_CAPACITY;
  if (want > MPROC_QUEUE_MAX_CAPACITY)
    return mproc__fail(MPROC_ERANGE, "queue_new: capacity %zu bytes is above %zu", want,
                       (size_t)MPROC_QUEUE_MAX_CAPACITY);
  size_t cap = MPROC_QUEUE_MIN_CAPACITY;
  while (cap < want)
    cap *= 2;
  uint64_t chunk_size;
  uint32_t nchunks;
  size_t pool_offset,
      bytes = mproc__queue_layout(cap, o.chunk_pool_bytes, &chunk_size, &nchunks, &pool_offset);
  if (!bytes)
    return MPROC_ERANGE;
  mproc_queue_t *q = calloc(1, sizeof *q);
  if (!q)
    return mproc__fail(MPROC_ENOMEM, "queue_new: out of memory");
  q->doorbell = -1;
  int rc = mproc__sync_create(&q->s, "queue", bytes, NPARKS);
  if (rc) {
    free(q);
    return rc;
  }
  if ((rc = mproc__os_doorbell_new(&q->doorbell)) != 0) {
    mproc__sync_close(&q->s);
    free(q);
    return rc;
  }
  wrap(q, cap, pool_offset);
  q->sh->capacity = cap;
  q->sh->max_chunk = cap / 4 - HEADER;
  q->sh->chunk_size = chunk_size;
  q->sh->nchunks = nchunks;
  q->sh->maxsize = o.maxsize;
  q->sh->joinable = o.joinable;
  *out = q;
  return 0;
}

static void destroy(mproc_queue_t *q) {
  mproc__queue_end_loans(q);
  mproc__sync_close(&q->s);
  mproc__os_close_handle(q->doorbell);
  free(q);
}

void mproc_queue_free(mproc_queue_t *q) {
  if (q && mproc__sync_release(&q->s))
    destroy(q);
}

enum { HAS_DOORBELL = 1 };

static int queue_export(const void *obj, intptr_t *h, size_t cap, size_t *n,
                        mproc__object_info_t *info) {
  const mproc_queue_t *q = obj;
  int rc = mproc__info_put(info, q->sh->capacity, 8);
  if (!rc)
    rc = mproc__info_put(info, (uint64_t)q->sh->nchunks * q->sh->chunk_size, 8);
  if (!rc)
    rc = mproc__sync_export(&q->s, h, cap, n, info);
  if (rc || q->doorbell == -1)
    return rc;
  if (*n >= cap)
    rc = MPROC_ERANGE;
  else if ((rc = mproc__os_dup_handle(q->doorbell, &h[*n])) == 0)
    info->flags |= HAS_DOORBELL;
  if (rc) {
    for (size_t i = 0; i < *n; i++)
      mproc__os_close_handle(h[i]);
    return rc;
  }
  (*n)++;
  return 0;
}

static int queue_import(void **out, const intptr_t *h, size_t n, uint8_t flags,
                        mproc__info_reader_t *info) {
  mproc_queue_t *q = calloc(1, sizeof *q);
  size_t used = 0;
  uint64_t cap = 0, pool = 0, chunk_size = 0;
  uint32_t nchunks = 0;
  size_t pool_offset = 0, bytes = 0;
  int rc = q ? mproc__info_get(info, 8, &cap) : mproc__fail(MPROC_ENOMEM, "queue: out of memory");
  if (!rc)
    rc = mproc__info_get(info, 8, &pool);
  if (!rc &&
      (cap < MPROC_QUEUE_MIN_CAPACITY || cap > MPROC_QUEUE_MAX_CAPACITY || (cap & (cap - 1))))
    rc = mproc__fail(MPROC_EPROTO, "queue: a ring of %llu bytes", (unsigned long long)cap);
  if (!rc && (bytes = mproc__queue_layout(cap, pool, &chunk_size, &nchunks, &pool_offset)) == 0)
    rc = mproc__fail(MPROC_EPROTO, "queue: a chunk pool of %llu bytes", (unsigned long long)pool);
  if (q)
    q->doorbell = -1;
  if (!rc)
    rc = mproc__sync_import(&q->s, "queue", bytes, NPARKS, h, n, info, &used);
  if (rc == 0 && (flags & HAS_DOORBELL)) {
    if (used < n)
      q->doorbell = h[used++];
    else
      rc = mproc__fail(MPROC_EPROTO, "queue: its doorbell handle did not arrive");
  }
  for (; used < n; used++)
    mproc__os_close_handle(h[used]);
  if (rc) {
    if (q && q->s.mem)
      mproc__sync_close(&q->s);
    if (q)
      mproc__os_close_handle(q->doorbell);
    free(q);
    return rc;
  }
  wrap(q, cap, pool_offset);
  if (q->sh->capacity != cap || q->sh->nchunks != nchunks || q->sh->chunk_size != chunk_size) {
    destroy(q);
    return mproc__fail(MPROC_EPROTO, "queue: the ring's size does not match its handle");
  }
  *out = q;
  return 0;
}

static void queue_release(void *obj) { mproc_queue_free(obj); }

const mproc__object_class_t mproc__queue_class = {
    MPROC_T_QUEUE,           "queue",       queue_export, queue_import,
    mproc__sync_object_hold, queue_release, false};
MPROC__ARGS_ACCESSORS(queue, mproc_queue_t, mproc__queue_class)

/* ---- mproc_wait ------------------------------------------------------------------ */

static bool takeable_obj(void *q) { return mproc__queue_takeable(q); }

static int queue_check(const mproc_waitable_t *w, size_t i) {
  return w->object ? 0 : mproc__fail(MPROC_EINVAL, "wait: object %zu is a NULL queue", i);
}

/* Counts the caller as a watcher, so producers ring the doorbell. */
static int queue_arm(const mproc_waitable_t *w, intptr_t *handle, bool *ready_now) {
  mproc_queue_t *q = w->object;
  return mproc__bell_arm(q->doorbell, &q->sh->watchers, takeable_obj, q, handle, ready_now);
}

static void queue_disarm(const mproc_waitable_t *w) {
  mproc__bell_disarm(&((mproc_queue_t *)w->object)->sh->watchers);
}

static bool queue_ready(const mproc_waitable_t *w, bool fired) {
  (void)fired; /* a ring may be stale, or for another watcher */
  return mproc__queue_takeable(w->object);
}

static const mproc__wait_class_t queue_wait = {"queue", queue_check, queue_arm, queue_disarm,
                                               queue_ready};

mproc_waitable_t mproc_waitable_queue(mproc_queue_t *q) {
  return mproc__waitable(&queue_wait, q, -1);
}
