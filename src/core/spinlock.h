/* A tiny lock for rarely contended global lists, built on C11 atomics so the
 * common layer needs no platform mutex. Hold it only for a few instructions. */
#ifndef MPROC_CORE_SPINLOCK_H
#define MPROC_CORE_SPINLOCK_H

#include <stdatomic.h>

typedef atomic_flag mproc__spinlock_t;
#define MPROC__SPINLOCK_INIT ATOMIC_FLAG_INIT

static inline void mproc__spin_lock(mproc__spinlock_t *l) {
  while (atomic_flag_test_and_set_explicit(l, memory_order_acquire)) {
  }
}

static inline void mproc__spin_unlock(mproc__spinlock_t *l) {
  atomic_flag_clear_explicit(l, memory_order_release);
}

/* The library's global locks. A forked child gets a copy of memory in
 * which another thread of the parent may have held one of them forever, so
 * the fork start method takes them all (in this order) around fork(). */
extern mproc__spinlock_t mproc__children_lock;
extern mproc__spinlock_t mproc__reaper_lock;
extern mproc__spinlock_t mproc__executable_lock;
extern mproc__spinlock_t mproc__log_lock;
extern mproc__spinlock_t mproc__region_lock;
extern mproc__spinlock_t mproc__manager_lock; /* manager clients (manager_client.c) */

void mproc__global_locks_acquire(void);
void mproc__global_locks_release(void);

#endif
