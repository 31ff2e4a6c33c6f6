/* The fork start method (POSIX). */
#define _GNU_SOURCE
#include <unistd.h>

#include "child.h"

bool mproc__os_fork_supported(void) { return true; }

int mproc__os_fork(mproc__os_child_t **out, int (*child_main)(void *ctx), void *ctx,
                   intptr_t *child_link) {
  int rc = mproc__os_parent_link(child_link); /* inherited as it is */
  if (rc)
    return rc;
  mproc__os_child_t *c = mproc__posix_child_alloc();
  if (!c)
    return mproc__fail(MPROC_ENOMEM, "fork: out of memory");
  /* stdio needs nothing here: glibc's fork() takes the stream-list lock and
   * re-initialises every stream's lock in the child. Taking stream locks
   * before fork() would invert glibc's order and deadlock against another
   * thread's fflush(NULL). */
  pid_t pid = fork();
  if (pid < 0) {
    rc = mproc__os_fail("fork");
    mproc__os_child_free(c);
    return rc;
  }
  if (pid == 0) {
    /* _exit: the parent's atexit handlers and stdio buffers belong to the
     * parent; child_main flushes what the target wrote. */
    _exit(child_main(ctx));
  }
  mproc__posix_child_attach(c, pid);
  *out = c;
  return 0;
}
