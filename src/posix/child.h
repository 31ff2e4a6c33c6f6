/* The POSIX child handle, shared by spawn.c, fork.c and child.c. */
#ifndef MPROC_POSIX_CHILD_H
#define MPROC_POSIX_CHILD_H

#include <pthread.h>
#include <stdatomic.h>
#include <sys/types.h>

#include "../common/internal.h"

struct mproc__os_child {
  pid_t pid;
  int pidfd;            /* -1 where pidfd_open is unavailable */
  pthread_mutex_t lock; /* reaping and signalling: the pid is ours until reaped */
  atomic_bool ended;
  int exitcode; /* valid once ended */
};

/* Wraps a freshly started pid (opens its pidfd). NULL when out of memory;
 * the child is then killed and reaped so it is not lost. */
mproc__os_child_t *mproc__posix_child_new(pid_t pid);

#endif
