/* Adopted children (see reaper.h). The list is short-lived and rarely
 * touched, so a spin lock and a plain array suffice. */
#include <stdlib.h>

#include "reaper.h"
#include "spinlock.h"

#define lock mproc__reaper_lock
static mproc__os_child_t **adopted;
static size_t count, cap;

void mproc__reaper_adopt(mproc__os_child_t *c) {
  mproc__spin_lock(&lock);
  if (count == cap) {
    size_t ncap = cap ? cap * 2 : 8;
    mproc__os_child_t **p = realloc(adopted, ncap * sizeof *p);
    if (!p) {
      /* Without memory the child can only be let go; it becomes a zombie
       * until this process exits, which is the lesser harm. */
      mproc__spin_unlock(&lock);
      mproc__os_child_free(c);
      return;
    }
    adopted = p;
    cap = ncap;
  }
  adopted[count++] = c;
  mproc__spin_unlock(&lock);
}

void mproc__reaper_collect(void) {
  mproc__spin_lock(&lock);
  size_t i = 0;
  while (i < count) {
    int code;
    /* Anything but "still running" means there is nothing left to wait for. */
    if (mproc__os_child_wait(adopted[i], 0, &code) != MPROC_ETIMEDOUT) {
      mproc__os_child_free(adopted[i]);
      adopted[i] = adopted[--count];
    } else {
      i++;
    }
  }
  if (count == 0) {
    free(adopted);
    adopted = NULL;
    cap = 0;
  }
  mproc__spin_unlock(&lock);
}
