/* The per-thread cache of self_ids.h. */
#include "core/self_ids.h"

_Thread_local mproc__self_ids_t mproc__self_ids_cache MPROC__TLS_DIRECT;
_Atomic uint32_t mproc__self_generation = 1;

void mproc__self_ids_refresh(void) {
  uint32_t generation = atomic_load(&mproc__self_generation);
  mproc__os_self_ids(&mproc__self_ids_cache.pid, &mproc__self_ids_cache.tid);
  mproc__self_ids_cache.generation = generation;
}

void mproc__self_forked(void) { atomic_fetch_add(&mproc__self_generation, 1); }
