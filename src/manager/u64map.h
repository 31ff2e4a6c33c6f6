/* A hash map from nonzero 64-bit keys to pointers (a manager's objects by
 * id, its sessions, and each session's references): open addressing,
 * linear probing, deletion by backward shift, so no tombstones pile up. */
#ifndef MPROC_MANAGER_U64MAP_H
#define MPROC_MANAGER_U64MAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
  uint64_t key; /* 0: empty */
  void *val;
} mproc__u64slot_t;

/* Zero-initialise; free with mproc__u64map_free. */
typedef struct {
  mproc__u64slot_t *slots;
  size_t cap; /* 0 or a power of two */
  size_t n;
} mproc__u64map_t;

/* The value under key, or NULL. */
void *mproc__u64map_get(const mproc__u64map_t *m, uint64_t key);
/* Puts (or replaces) key's value: 0 or MPROC_ENOMEM. */
int mproc__u64map_put(mproc__u64map_t *m, uint64_t key, void *val);
/* Removes key; returns its value, or NULL when it was absent. */
void *mproc__u64map_remove(mproc__u64map_t *m, uint64_t key);
void mproc__u64map_free(mproc__u64map_t *m);

/* Iteration: for (size_t i = 0; i < m->cap; i++) if (m->slots[i].key) ...
 * (no changes to the map meanwhile). */

#endif
