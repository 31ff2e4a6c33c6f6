/* The queue's doorbell for mproc_wait: an eventfd on Linux (readable while
 * its counter is non-zero; one object however many processes hold it).
 * Other POSIX systems have none, and mproc_wait polls queues there. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <unistd.h>
#ifdef __linux__
#  include <sys/eventfd.h>
#endif

#include "../common/internal.h"

#ifdef __linux__
int mproc__os_doorbell_new(intptr_t *handle) {
  int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd < 0)
    return mproc__os_fail("eventfd");
  *handle = fd;
  return 0;
}

void mproc__os_doorbell_ring(intptr_t handle) {
  uint64_t one = 1;
  /* EAGAIN only when the counter is near 2^64: it is readable anyway. */
  while (write((int)handle, &one, sizeof one) < 0 && errno == EINTR)
    ;
}

void mproc__os_doorbell_clear(intptr_t handle) {
  uint64_t count;
  while (read((int)handle, &count, sizeof count) < 0 && errno == EINTR)
    ;
}
#else
int mproc__os_doorbell_new(intptr_t *handle) {
  *handle = -1;
  return 0;
}

void mproc__os_doorbell_ring(intptr_t handle) { (void)handle; }

void mproc__os_doorbell_clear(intptr_t handle) { (void)handle; }
#endif
