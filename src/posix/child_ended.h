/* Whether a child has ended, without reaping it (wait.c): what the
 * wait for a child (child.c) and the sentinel without pidfds
 * (exit_watch.c) both ask. */
#ifndef MPROC_POSIX_CHILD_ENDED_H
#define MPROC_POSIX_CHILD_ENDED_H

#include <stdbool.h>
#include <sys/types.h>

/* Whether child pid has ended, without reaping it (waitid with WNOWAIT;
 * an error means someone reaped it already: ended too). block: waits for
 * it, and then is always true. Only an exit counts: macOS may report a
 * stopped child to such a wait. */
bool mproc__posix_child_ended(pid_t pid, bool block);

#endif
