/* A memory cap where the system gives a process none it could put a child
 * in and tell afterwards what stopped it (other POSIX systems, and the
 * generic build): setrlimit makes allocations fail instead, which no one
 * can tell from the task's own failure, so no cap is offered. */
#include "core/internal.h"

int mproc__os_memcap_new(uint64_t bytes, mproc__os_memcap_t **out) {
  (void)bytes;
  *out = NULL;
  return mproc__fail(MPROC_ENOTSUP, "memory cap: this system has no per-process memory limit "
                                    "whose hit can be told apart (Linux cgroups, Windows jobs)");
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
