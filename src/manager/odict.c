/* See odict.h. */
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "manager/odict.h"

mproc__blob_t *mproc__blob_new(const void *p, size_t n) {
  if (n > UINT32_MAX)
    return NULL;
  mproc__blob_t *b = malloc(sizeof *b + n + 1);
  if (!b)
    return NULL;
  b->n = (uint32_t)n;
  b->has_proxy = false;
  if (n)
    memcpy(b->b, p, n);
  b->b[n] = 0;
  return b;
}

bool mproc__blob_equal(const mproc__blob_t *a, const void *p, size_t n) {
  return a->n == n && memcmp(a->b, p, n) == 0;
}

/* 64-bit hash of bytes: 8 at a time, multiply and fold. */
static uint64_t hash_bytes(const unsigned char *p, size_t n) {
  uint64_t h = 0x9e3779b97f4a7c15ull ^ n;
  while (n >= 8) {
    uint64_t w;
    memcpy(&w, p, 8);
    h = (h ^ w) * 0xbf58476d1ce4e5b9ull;
    h ^= h >> 31;
    p += 8;
    n -= 8;
  }
  uint64_t w = 0;
  for (size_t i = 0; i < n; i++)
    w |= (uint64_t)p[i] << (8 * i);
  h = (h ^ w) * 0x94d049bb133111ebull;
  return h ^ (h >> 29);
}

long long mproc__odict_find(const mproc__odict_t *d, const void *key, size_t n) {
  if (!d->index_cap)
    return -1;
  uint64_t h = hash_bytes(key, n);
  size_t mask = d->index_cap - 1;
  for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
    uint32_t at = d->index[i];
    if (!at)
      return -1;
    const mproc__odict_entry_t *e = &d->e[at - 1];
    if (e->key && e->hash == h && mproc__blob_equal(e->key, key, n))
      return at - 1;
  }
}

/* Rebuilds the index for cap slots (entries must be compact or not). */
static int reindex(mproc__odict_t *d, size_t cap) {
  uint32_t *index = calloc(cap, sizeof *index);
  if (!index)
    return mproc__fail(MPROC_ENOMEM, "dict: out of memory");
  for (size_t k = 0; k < d->n; k++) {
    if (!d->e[k].key)
      continue;
    size_t i = (size_t)d->e[k].hash & (cap - 1);
    while (index[i])
      i = (i + 1) & (cap - 1);
    index[i] = (uint32_t)(k + 1);
  }
  free(d->index);
  d->index = index;
  d->index_cap = cap;
  return 0;
}

/* Squeezes the holes out (positions change; the index is rebuilt). */
static int compact(mproc__odict_t *d) {
  size_t w = 0;
  for (size_t k = 0; k < d->n; k++)
    if (d->e[k].key)
      d->e[w++] = d->e[k];
  d->n = w;
  return reindex(d, d->index_cap);
}

int mproc__odict_append(mproc__odict_t *d, mproc__blob_t *key, mproc__blob_t *val) {
  if (d->n >= UINT32_MAX - 1)
    return mproc__fail(MPROC_ENOMEM, "dict: too many entries");
  if (d->n == d->cap) {
    if (d->live * 2 <= d->n && d->n >= 16 && compact(d) == 0) {
      /* room made */
    } else {
      size_t cap = d->cap ? d->cap * 2 : 8;
      mproc__odict_entry_t *e = realloc(d->e, cap * sizeof *e);
      if (!e)
        return mproc__fail(MPROC_ENOMEM, "dict: out of memory");
      d->e = e;
      d->cap = cap;
    }
  }
  if ((d->n + 1) * 2 > d->index_cap) { /* index at most half full */
    size_t cap = d->index_cap ? d->index_cap : 16;
    while ((d->n + 1) * 2 > cap)
      cap *= 2;
    int rc = reindex(d, cap);
    if (rc)
      return rc;
  }
  uint64_t h = hash_bytes(key->b, key->n);
  size_t mask = d->index_cap - 1, i = (size_t)h & mask;
  while (d->index[i])
    i = (i + 1) & mask;
  d->index[i] = (uint32_t)(d->n + 1);
  d->e[d->n++] = (mproc__odict_entry_t){key, val, h};
  d->live++;
  return 0;
}

void mproc__odict_take(mproc__odict_t *d, size_t i, mproc__blob_t **key, mproc__blob_t **val) {
  *key = d->e[i].key;
  *val = d->e[i].val;
  d->e[i].key = NULL; /* a hole; its index slot keeps probe runs intact */
  d->e[i].val = NULL;
  d->live--;
  if (d->live == 0) { /* nothing left: start over */
    d->n = 0;
    memset(d->index, 0, d->index_cap * sizeof *d->index);
  }
}

void mproc__odict_clear(mproc__odict_t *d) {
  for (size_t k = 0; k < d->n; k++) {
    free(d->e[k].key);
    free(d->e[k].val);
  }
  d->n = d->live = 0;
  if (d->index)
    memset(d->index, 0, d->index_cap * sizeof *d->index);
}

void mproc__odict_free(mproc__odict_t *d) {
  mproc__odict_clear(d);
  free(d->e);
  free(d->index);
  memset(d, 0, sizeof *d);
}
