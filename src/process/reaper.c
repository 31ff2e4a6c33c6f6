/* Adopted children (see reaper.h): a short list, rarely touched, under a
 * spin lock. */
#include <stdlib.h>

#include "args/args_objects.h"
#include "core/spinlock.h"
#include "process/reaper.h"

typedef struct {
  mproc__os_child_t *child;
  mproc__ptrlist_t proxies; /* held for it until it ends */
} adoptee_t;

static mproc__ptrlist_t adopted;

void mproc__reaper_adopt(mproc__os_child_t *c, mproc__ptrlist_t *proxies) {
  adoptee_t *a = malloc(sizeof *a);
  int rc = a ? 0 : MPROC_ENOMEM;
  if (a) {
    a->child = c;
    a->proxies = *proxies;
    *proxies = (mproc__ptrlist_t){0};
    mproc__spin_lock(&mproc__reaper_lock);
    rc = mproc__ptrlist_add(&adopted, a);
    mproc__spin_unlock(&mproc__reaper_lock);
  }
  /* Without memory the child can only be let go; it becomes a zombie
   * until this process exits, which is the lesser harm. */
  if (rc) {
    if (a)
      mproc__args_release_all(MPROC_T_PROXY, &a->proxies);
    free(a);
    mproc__os_child_free(c);
  }
}

void mproc__reaper_collect(void) {
  mproc__ptrlist_t ended = {0};
  mproc__spin_lock(&mproc__reaper_lock);
  size_t i = 0;
  while (i < adopted.n) {
    adoptee_t *a = adopted.items[i];
    int code;
    /* Anything but "still running" means there is nothing left to wait
     * for; its proxies are let go after the lock (a manager call). */
    if (mproc__os_child_wait(a->child, 0, &code) != MPROC_ETIMEDOUT &&
        mproc__ptrlist_add(&ended, a) == 0) {
      mproc__os_child_free(a->child);
      mproc__ptrlist_remove_at(&adopted, i);
    } else {
      i++;
    }
  }
  if (adopted.n == 0)
    mproc__ptrlist_clear(&adopted);
  mproc__spin_unlock(&mproc__reaper_lock);
  for (size_t k = 0; k < ended.n; k++) {
    adoptee_t *a = ended.items[k];
    mproc__args_release_all(MPROC_T_PROXY, &a->proxies);
    free(a);
  }
  mproc__ptrlist_clear(&ended);
}
