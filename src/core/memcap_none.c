/* The memory cap where none is built (platform.h, mproc__os_memcap_*):
 * the generic POSIX build and Apple. Linux has a cgroup per worker
 * (src/posix/memcap_cgroup.c), Windows a job object per worker
 * (src/win32/memcap_job.c). Elsewhere setrlimit would only make
 * allocations fail inside the task, which no one can tell from the task's
 * own failure, and nothing says when it happened. No system call here:
 * CMake compiles this file for those builds. */
#include "core/internal.h"

int mproc__os_memcap_new(uint64_t bytes, mproc__os_memcap_t **out) {
  (void)bytes;
  *out = NULL;
  return mproc__fail(MPROC_ENOTSUP, "memory cap: none on this system (Linux cgroups and "
                                    "Windows job objects only)");
}

int mproc__os_memcap_add(mproc__os_memcap_t *cap, int64_t pid) {
  (void)cap, (void)pid;
  return MPROC_ENOTSUP;
}

bool mproc__os_memcap_hit(mproc__os_memcap_t *cap) {
  (void)cap;
  return false;
}

intptr_t mproc__os_memcap_sentinel(const mproc__os_memcap_t *cap) {
  (void)cap;
  return -1;
}

const char *mproc__os_memcap_kind(const mproc__os_memcap_t *cap) {
  (void)cap;
  return "none";
}

void mproc__os_memcap_free(mproc__os_memcap_t *cap) { (void)cap; }
