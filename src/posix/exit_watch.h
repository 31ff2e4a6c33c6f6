/* A child's sentinel without pidfds (exit_watch.c). */
#ifndef MPROC_POSIX_EXIT_WATCH_H
#define MPROC_POSIX_EXIT_WATCH_H

#include <sys/types.h>

/* A descriptor that reaches end-of-file (POLLHUP) once child pid has
 * exited, without reaping it; -1 when it cannot be made (then waits poll). */
int mproc__posix_exit_watch(pid_t pid);

#endif
