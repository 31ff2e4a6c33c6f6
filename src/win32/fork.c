/* Windows has no fork: the method is refused with MPROC_ENOTSUP. */
#include "child.h"

bool mproc__os_fork_supported(void) { return false; }

int mproc__os_fork(mproc__os_child_t **out, int (*child_main)(void *ctx), void *ctx,
                   intptr_t *child_link) {
  (void)out, (void)child_main, (void)ctx, (void)child_link;
  return mproc__fail(MPROC_ENOTSUP, "start method fork: not available on Windows");
}
