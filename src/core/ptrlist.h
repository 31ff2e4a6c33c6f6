/* An unordered, growable list of pointers (the children registry, the
 * reaper, a pool's due callbacks). Not locked: each user guards its list
 * with its own lock. */
#ifndef MPROC_CORE_PTRLIST_H
#define MPROC_CORE_PTRLIST_H

#include "core/internal.h"

typedef struct {
  void **items;
  size_t n;
  size_t cap;
} mproc__ptrlist_t;

/* MPROC_ENOMEM (the list is unchanged) or 0. */
int mproc__ptrlist_add(mproc__ptrlist_t *l, void *p);
/* Removes one occurrence of p (order is not kept); false when absent. */
bool mproc__ptrlist_remove(mproc__ptrlist_t *l, void *p);
/* Removes item i (the last item takes its place). */
void mproc__ptrlist_remove_at(mproc__ptrlist_t *l, size_t i);
/* Frees the storage; the list is empty and usable again. */
void mproc__ptrlist_clear(mproc__ptrlist_t *l);

#endif
