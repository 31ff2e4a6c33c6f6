/* The list of started, unfreed processes (see children.h). */
#include <stdatomic.h>
#include <stdlib.h>

#include "core/ptrlist.h"
#include "core/spinlock.h"
#include "process/children.h"

static mproc__ptrlist_t list;
static void (*_Atomic wind_up_fn)(void);

void mproc__children_add(void *p) {
  mproc__spin_lock(&mproc__children_lock);
  /* Without memory the child stays unlisted: its owner still joins it;
   * only active_children and the exit-time join will not see it. */
  (void)mproc__ptrlist_add(&list, p);
  mproc__spin_unlock(&mproc__children_lock);
}

void mproc__children_remove(void *p) {
  mproc__spin_lock(&mproc__children_lock);
  mproc__ptrlist_remove(&list, p);
  mproc__spin_unlock(&mproc__children_lock);
}

int mproc__children_snapshot(void ***out, size_t *n, void (*retain)(void *)) {
  mproc__spin_lock(&mproc__children_lock);
  void **copy = malloc((list.n ? list.n : 1) * sizeof *copy);
  if (!copy) {
    mproc__spin_unlock(&mproc__children_lock);
    return mproc__fail(MPROC_ENOMEM, "active_children: out of memory");
  }
  for (size_t i = 0; i < list.n; i++) {
    copy[i] = list.items[i];
    retain(copy[i]);
  }
  *n = list.n;
  mproc__spin_unlock(&mproc__children_lock);
  *out = copy;
  return 0;
}

void mproc__children_forget_all(void) {
  /* The array is the parent's allocation, copied by fork: dropping the
   * pointer leaks nothing that this process owns. */
  list = (mproc__ptrlist_t){0};
  atomic_store(&wind_up_fn, NULL);
}

static void at_exit(void) { mproc__children_wind_up(); }

void mproc__children_set_wind_up(void (*wind_up)(void)) {
  static atomic_flag registered = ATOMIC_FLAG_INIT;
  atomic_store(&wind_up_fn, wind_up);
  if (!atomic_flag_test_and_set(&registered))
    atexit(at_exit);
}

void mproc__children_wind_up(void) {
  void (*fn)(void) = atomic_load(&wind_up_fn);
  if (fn)
    fn();
}
