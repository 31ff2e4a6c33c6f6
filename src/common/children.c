/* The list of started, unfreed processes (see children.h). */
#include <stdlib.h>

#include "children.h"
#include "spinlock.h"

#define lock mproc__children_lock
static mproc_process_t **list;
static size_t count, cap;

void mproc__children_add(mproc_process_t *p) {
  mproc__spin_lock(&lock);
  if (count == cap) {
    size_t ncap = cap ? cap * 2 : 16;
    mproc_process_t **n = realloc(list, ncap * sizeof *n);
    if (!n) {
      /* Unlisted, the child is still joined by its owner; only
       * active_children and the exit-time join will not see it. */
      mproc__spin_unlock(&lock);
      return;
    }
    list = n;
    cap = ncap;
  }
  list[count++] = p;
  mproc__spin_unlock(&lock);
}

void mproc__children_remove(mproc_process_t *p) {
  mproc__spin_lock(&lock);
  for (size_t i = 0; i < count; i++) {
    if (list[i] == p) {
      list[i] = list[--count];
      break;
    }
  }
  mproc__spin_unlock(&lock);
}

int mproc__children_snapshot(mproc_process_t ***out, size_t *n) {
  mproc__spin_lock(&lock);
  mproc_process_t **copy = malloc((count ? count : 1) * sizeof *copy);
  if (!copy) {
    mproc__spin_unlock(&lock);
    return mproc__fail(MPROC_ENOMEM, "active_children: out of memory");
  }
  for (size_t i = 0; i < count; i++) {
    copy[i] = list[i];
    mproc__process_retain(copy[i]);
  }
  *n = count;
  mproc__spin_unlock(&lock);
  *out = copy;
  return 0;
}

void mproc__children_forget_all(void) {
  /* The array itself is the parent's allocation, copied by fork: dropping
   * the pointer leaks nothing that this process owns. */
  list = NULL;
  count = cap = 0;
}
