/* The shared part of every synchronization object: its region, its wait
 * objects, its reference count, and how both cross to another process. */
#include <stdlib.h>

#include "sync/sync_object.h"

static void init_parks(mproc__sync_t *s, size_t nparks) {
  s->nparks = nparks;
  for (size_t i = 0; i < MPROC__SYNC_MAX_PARKS; i++)
    s->parks[i] = -1;
}

int mproc__sync_create(mproc__sync_t *s, const char *name, size_t size, size_t nparks) {
  atomic_init(&s->refs, 1);
  s->name = name;
  s->size = size;
  s->slice = (mproc__slice_t){0};
  init_parks(s, nparks);
  int rc = mproc__slice_alloc(size, name, &s->slice);
  s->mem = s->slice.mem;
  for (size_t i = 0; i < nparks && !rc; i++)
    rc = mproc__os_park_new(&s->parks[i]);
  if (rc)
    mproc__sync_close(s);
  return rc;
}

int mproc__sync_import(mproc__sync_t *s, const char *name, size_t size, size_t nparks,
                       const intptr_t *h, size_t n, mproc__info_reader_t *info, size_t *used) {
  atomic_init(&s->refs, 1);
  s->name = name;
  s->size = size;
  s->slice = (mproc__slice_t){0};
  init_parks(s, nparks);
  size_t need = 1 + (mproc__os_park_has_handles() ? nparks : 0);
  *used = need;
  if (n < need) {
    for (size_t i = 0; i < n; i++)
      mproc__os_close_handle(h[i]);
    *used = n;
    return mproc__fail(MPROC_EPROTO, "%s: %zu handles arrived, %zu expected", name, n, need);
  }
  for (size_t i = 1; i < need; i++)
    s->parks[i - 1] = h[i];
  int rc = mproc__slice_import(h[0], info, size, name, &s->slice);
  s->mem = s->slice.mem;
  if (rc)
    mproc__sync_close(s);
  return rc;
}

int mproc__sync_export(const mproc__sync_t *s, intptr_t *h, size_t cap, size_t *n,
                       mproc__object_info_t *info) {
  size_t count = 1;
  for (size_t i = 0; i < s->nparks; i++)
    count += s->parks[i] != -1;
  if (count > cap)
    return MPROC_ERANGE;
  int rc = mproc__slice_export(&s->slice, &h[0], info);
  if (rc)
    return rc;
  count = 1;
  for (size_t i = 0; i < s->nparks && rc == 0; i++)
    if (s->parks[i] != -1 && (rc = mproc__os_dup_handle(s->parks[i], &h[count])) == 0)
      count++;
  if (rc) {
    while (count-- > 0)
      mproc__os_close_handle(h[count]);
    return rc;
  }
  *n = count;
  return 0;
}

void mproc__sync_retain(mproc__sync_t *s) { atomic_fetch_add(&s->refs, 1); }

bool mproc__sync_release(mproc__sync_t *s) { return atomic_fetch_sub(&s->refs, 1) == 1; }

void mproc__sync_close(mproc__sync_t *s) {
  mproc__slice_free(&s->slice);
  s->mem = NULL;
  for (size_t i = 0; i < s->nparks; i++) {
    mproc__os_close_handle(s->parks[i]);
    s->parks[i] = -1;
  }
}

int mproc__sync_timed_out(const mproc__sync_t *s, const char *op) {
  return mproc__fail(MPROC_ETIMEDOUT, "%s_%s: timed out", s->name, op);
}

bool mproc__spin_while(_Atomic uint32_t *w, uint32_t from) {
  enum { SPINS = 128 };
  for (int i = 0; i < SPINS; i++) {
    if (atomic_load_explicit(w, memory_order_relaxed) != from)
      return true;
    mproc__os_cpu_relax();
  }
  return false;
}

int mproc__sync_wait(const mproc__sync_t *s, size_t i, mproc__park_word_t *w, uint32_t expected,
                     int64_t deadline) {
  int left = mproc__remaining_ms(deadline);
  if (left == 0)
    return MPROC_ETIMEDOUT;
  return mproc__os_park_wait(s->parks[i], w, expected, left);
}

void mproc__sync_wake(const mproc__sync_t *s, size_t i, mproc__park_word_t *w, uint32_t n) {
  mproc__os_park_wake(s->parks[i], w, n);
}

/* ---- objects: a process-local struct around the region ----------------- */

int mproc__sync_object_new(const mproc__sync_kind_t *k, void **out) {
  if (!out)
    return mproc__fail(MPROC_EINVAL, "%s_new: out is NULL", k->name);
  mproc__sync_t *s = calloc(1, k->struct_size);
  if (!s)
    return mproc__fail(MPROC_ENOMEM, "%s_new: out of memory", k->name);
  int rc = mproc__sync_create(s, k->name, k->shm_size, k->nparks);
  if (rc) {
    free(s);
    return rc;
  }
  *out = s;
  return 0;
}

int mproc__sync_object_import(const mproc__sync_kind_t *k, void **out, const intptr_t *h, size_t n,
                              mproc__info_reader_t *info, size_t *used) {
  mproc__sync_t *s = calloc(1, k->struct_size);
  if (!s) {
    *used = 0;
    return mproc__fail(MPROC_ENOMEM, "%s: out of memory", k->name);
  }
  int rc = mproc__sync_import(s, k->name, k->shm_size, k->nparks, h, n, info, used);
  if (rc) {
    free(s);
    return rc;
  }
  *out = s;
  return 0;
}

void mproc__sync_object_free(void *obj) {
  mproc__sync_t *s = obj;
  if (s && mproc__sync_release(s)) {
    mproc__sync_close(s);
    free(s);
  }
}

int mproc__sync_object_export(const void *obj, intptr_t *h, size_t cap, size_t *n,
                              mproc__object_info_t *info) {
  return mproc__sync_export(obj, h, cap, n, info);
}

int mproc__sync_object_hold(void *obj, void **held) {
  mproc__sync_retain(obj);
  *held = obj;
  return 0;
}
