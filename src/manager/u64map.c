/* See u64map.h. */
#include <stdlib.h>

#include "core/internal.h"
#include "manager/u64map.h"

static size_t slot_of(uint64_t key, size_t cap) {
  key ^= key >> 33;
  key *= 0xff51afd7ed558ccdull;
  key ^= key >> 33;
  return (size_t)key & (cap - 1);
}

void *mproc__u64map_get(const mproc__u64map_t *m, uint64_t key) {
  if (!m->cap || !key)
    return NULL;
  for (size_t i = slot_of(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
    if (m->slots[i].key == key)
      return m->slots[i].val;
    if (!m->slots[i].key)
      return NULL;
  }
}

static void insert(mproc__u64slot_t *slots, size_t cap, uint64_t key, void *val) {
  size_t i = slot_of(key, cap);
  while (slots[i].key && slots[i].key != key)
    i = (i + 1) & (cap - 1);
  slots[i].key = key;
  slots[i].val = val;
}

int mproc__u64map_put(mproc__u64map_t *m, uint64_t key, void *val) {
  if (!key)
    return mproc__fail(MPROC_EINVAL, "u64map: key 0");
  if ((m->n + 1) * 4 > m->cap * 3) { /* keep it at most 3/4 full */
    size_t cap = m->cap ? m->cap * 2 : 16;
    mproc__u64slot_t *slots = calloc(cap, sizeof *slots);
    if (!slots)
      return mproc__fail(MPROC_ENOMEM, "u64map: out of memory");
    for (size_t i = 0; i < m->cap; i++)
      if (m->slots[i].key)
        insert(slots, cap, m->slots[i].key, m->slots[i].val);
    free(m->slots);
    m->slots = slots;
    m->cap = cap;
  }
  size_t i = slot_of(key, m->cap);
  while (m->slots[i].key && m->slots[i].key != key)
    i = (i + 1) & (m->cap - 1);
  if (!m->slots[i].key)
    m->n++;
  m->slots[i].key = key;
  m->slots[i].val = val;
  return 0;
}

void *mproc__u64map_remove(mproc__u64map_t *m, uint64_t key) {
  if (!m->cap || !key)
    return NULL;
  size_t mask = m->cap - 1, i = slot_of(key, m->cap);
  while (m->slots[i].key != key) {
    if (!m->slots[i].key)
      return NULL;
    i = (i + 1) & mask;
  }
  void *val = m->slots[i].val;
  /* Backward shift: pull later entries of the probe run into the hole
   * when their home slot is not between the hole and them. */
  for (size_t j = (i + 1) & mask; m->slots[j].key; j = (j + 1) & mask) {
    size_t home = slot_of(m->slots[j].key, m->cap);
    if (((j - home) & mask) >= ((j - i) & mask)) {
      m->slots[i] = m->slots[j];
      i = j;
    }
  }
  m->slots[i].key = 0;
  m->slots[i].val = NULL;
  m->n--;
  return val;
}

void mproc__u64map_free(mproc__u64map_t *m) {
  free(m->slots);
  m->slots = NULL;
  m->cap = m->n = 0;
}
