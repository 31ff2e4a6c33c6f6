/* Adopted children (see reaper.h): a short list, rarely touched, under a
 * spin lock. */
#include "reaper.h"
#include "ptrlist.h"
#include "spinlock.h"

static mproc__ptrlist_t adopted;

void mproc__reaper_adopt(mproc__os_child_t *c) {
  mproc__spin_lock(&mproc__reaper_lock);
  int rc = mproc__ptrlist_add(&adopted, c);
  mproc__spin_unlock(&mproc__reaper_lock);
  /* Without memory the child can only be let go; it becomes a zombie
   * until this process exits, which is the lesser harm. */
  if (rc)
    mproc__os_child_free(c);
}

void mproc__reaper_collect(void) {
  mproc__spin_lock(&mproc__reaper_lock);
  size_t i = 0;
  while (i < adopted.n) {
    int code;
    /* Anything but "still running" means there is nothing left to wait for. */
    if (mproc__os_child_wait(adopted.items[i], 0, &code) != MPROC_ETIMEDOUT) {
      mproc__os_child_free(adopted.items[i]);
      mproc__ptrlist_remove_at(&adopted, i);
    } else {
      i++;
    }
  }
  if (adopted.n == 0)
    mproc__ptrlist_clear(&adopted);
  mproc__spin_unlock(&mproc__reaper_lock);
}
