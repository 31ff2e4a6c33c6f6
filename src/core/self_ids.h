/* Who is calling - this process's and thread's ids (mproc__os_self_ids) -
 * read inline on a lock's fast path: kept per thread, and taken again
 * after a fork, in the child (the platform calls mproc__self_forked). */
#ifndef MPROC_CORE_SELF_IDS_H
#define MPROC_CORE_SELF_IDS_H

#include <stdatomic.h>
#include <stdint.h>

#include "platform.h"

/* initial-exec: a direct TLS access where the object format has the
 * model (ELF), not a call to __tls_get_addr from a shared library; twelve
 * bytes fit any libc's static TLS reserve. */
#if defined(__ELF__)
#  define MPROC__TLS_DIRECT __attribute__((tls_model("initial-exec")))
#else
#  define MPROC__TLS_DIRECT
#endif

typedef struct {
  uint32_t pid, tid;
  uint32_t generation; /* mproc__self_generation when taken; 0: never */
} mproc__self_ids_t;

extern _Thread_local mproc__self_ids_t mproc__self_ids_cache MPROC__TLS_DIRECT;
extern _Atomic uint32_t mproc__self_generation; /* starts at 1; a fork moves it */

/* Takes the ids from the platform into this thread's cache. */
void mproc__self_ids_refresh(void);
/* In a forked child: every thread's cache is stale. */
void mproc__self_forked(void);

static inline void mproc__self_ids(uint32_t *pid, uint32_t *tid) {
  if (mproc__self_ids_cache.generation !=
      atomic_load_explicit(&mproc__self_generation, memory_order_relaxed))
    mproc__self_ids_refresh();
  *pid = mproc__self_ids_cache.pid;
  *tid = mproc__self_ids_cache.tid;
}

#endif
