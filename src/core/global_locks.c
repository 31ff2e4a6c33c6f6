/* The library's global locks, in one place so that fork can take them all
 * in a fixed order (see spinlock.h). */
#include "core/spinlock.h"

mproc__spinlock_t mproc__children_lock = MPROC__SPINLOCK_INIT;
mproc__spinlock_t mproc__reaper_lock = MPROC__SPINLOCK_INIT;
mproc__spinlock_t mproc__executable_lock = MPROC__SPINLOCK_INIT;
mproc__spinlock_t mproc__log_lock = MPROC__SPINLOCK_INIT;
mproc__spinlock_t mproc__region_lock = MPROC__SPINLOCK_INIT;
mproc__spinlock_t mproc__manager_lock = MPROC__SPINLOCK_INIT;

void mproc__global_locks_acquire(void) {
  mproc__spin_lock(&mproc__children_lock);
  mproc__spin_lock(&mproc__reaper_lock);
  mproc__spin_lock(&mproc__executable_lock);
  mproc__spin_lock(&mproc__log_lock);
  mproc__spin_lock(&mproc__region_lock);
  mproc__spin_lock(&mproc__manager_lock);
}

void mproc__global_locks_release(void) {
  mproc__spin_unlock(&mproc__manager_lock);
  mproc__spin_unlock(&mproc__region_lock);
  mproc__spin_unlock(&mproc__log_lock);
  mproc__spin_unlock(&mproc__executable_lock);
  mproc__spin_unlock(&mproc__reaper_lock);
  mproc__spin_unlock(&mproc__children_lock);
}
