/* Windows cannot fork, so it has no forkserver: MPROC_ENOTSUP. */
#include "core/internal.h"

bool mproc__os_forkserver_supported(void) { return false; }

int mproc__os_control_pair(intptr_t *mine, intptr_t *theirs) {
  (void)mine, (void)theirs;
  return mproc__fail(MPROC_ENOTSUP, "start method forkserver: not available on Windows");
}

int mproc__os_forkserver_fork(intptr_t ctl, mproc__os_child_t **out, const mproc__spawn_opts_t *o,
                              mproc__stream_t *parent_end, intptr_t *child_link) {
  (void)ctl, (void)out, (void)o, (void)parent_end, (void)child_link;
  return mproc__fail(MPROC_ENOTSUP, "start method forkserver: not available on Windows");
}

int mproc__os_forkserver_serve(intptr_t ctl, void (*child_entry)(const char *token)) {
  (void)ctl, (void)child_entry;
  return mproc__fail(MPROC_ENOTSUP, "start method forkserver: not available on Windows");
}
