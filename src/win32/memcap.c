/* A memory cap per worker on Windows would be a job object with
 * JOB_OBJECT_LIMIT_PROCESS_MEMORY; there a process past it is not stopped
 * but its allocations fail, so the worker itself would have to say that
 * its job's limit was hit. Not built yet: MPROC_ENOTSUP, said plainly. */
#include "core/internal.h"

int mproc__os_memcap_new(uint64_t bytes, mproc__os_memcap_t **out) {
  (void)bytes;
  *out = NULL;
  return mproc__fail(MPROC_ENOTSUP, "memory cap: not on Windows yet (a job object per worker, "
                                    "whose hit the worker reports, is planned)");
}

int mproc__os_memcap_add(mproc__os_memcap_t *cap, int64_t pid) {
  (void)cap, (void)pid;
  return MPROC_ENOTSUP;
}

bool mproc__os_memcap_hit(mproc__os_memcap_t *cap) {
  (void)cap;
  return false;
}

const char *mproc__os_memcap_kind(const mproc__os_memcap_t *cap) {
  (void)cap;
  return "none";
}

void mproc__os_memcap_free(mproc__os_memcap_t *cap) { (void)cap; }
