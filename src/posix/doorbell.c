/* The queue's doorbell for mproc_wait: an eventfd on Linux (readable while
 * its counter is non-zero; one object however many processes hold it);
 * elsewhere an anonymous FIFO (fifo.c), readable while it holds a byte. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <unistd.h>

#include "core/internal.h"
#include "features.h"
#include "fifo.h"

#if MPROC__LINUX_MECHANISMS
#  include <sys/eventfd.h>

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
  int fd;
  int rc = mproc__posix_fifo_new(&fd, "queue doorbell");
  if (rc == 0)
    *handle = fd;
  return rc;
}

void mproc__os_doorbell_ring(intptr_t handle) {
  /* One byte is enough: readable is all it says. A full FIFO is readable. */
  mproc__posix_fifo_put((int)handle, 1);
}

void mproc__os_doorbell_clear(intptr_t handle) { mproc__posix_fifo_drain((int)handle); }
#endif
