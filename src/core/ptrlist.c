/* The pointer list (see ptrlist.h). */
#include <stdlib.h>

#include "core/ptrlist.h"

int mproc__ptrlist_add(mproc__ptrlist_t *l, void *p) {
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 16;
    void **items = realloc(l->items, cap * sizeof *items);
    if (!items)
      return MPROC_ENOMEM;
    l->items = items;
    l->cap = cap;
  }
  l->items[l->n++] = p;
  return 0;
}

void mproc__ptrlist_remove_at(mproc__ptrlist_t *l, size_t i) { l->items[i] = l->items[--l->n]; }

bool mproc__ptrlist_remove(mproc__ptrlist_t *l, void *p) {
  for (size_t i = 0; i < l->n; i++) {
    if (l->items[i] == p) {
      mproc__ptrlist_remove_at(l, i);
      return true;
    }
  }
  return false;
}

void mproc__ptrlist_clear(mproc__ptrlist_t *l) {
  free(l->items);
  l->items = NULL;
  l->n = l->cap = 0;
}
