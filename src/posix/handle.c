/* Descriptors as handles: every kind (socket, memfd, pipe) is inherited
 * or dup'd the same way, so nothing ever crosses as bytes. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <unistd.h>

#include "core/internal.h"

void mproc__os_close_handle(intptr_t h) {
  if (h >= 0)
    close((int)h);
}

int mproc__os_dup_handle(intptr_t h, intptr_t *out) {
  int fd = fcntl((int)h, F_DUPFD_CLOEXEC, 0);
  if (fd < 0)
    return mproc__os_fail("dup(%d)", (int)h);
  *out = fd;
  return 0;
}

int mproc__os_handle_import(const void *blob, size_t len, intptr_t *out) {
  (void)blob;
  (void)out;
  return mproc__fail(MPROC_EPROTO, "handle table: %zu bytes where a descriptor was expected", len);
}
