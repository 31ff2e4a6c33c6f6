/* The POSIX child handle, shared by spawn.c, fork.c and child.c. */
#ifndef MPROC_POSIX_CHILD_H
#define MPROC_POSIX_CHILD_H

#include <pthread.h>
#include <stdatomic.h>
#include <sys/types.h>

#include "core/internal.h"

/* A spawned child's descriptors: its channel, then its link to this process
 * (see parent_link.c), then the handle table; the first descriptors after
 * the standard streams. */
#define CHILD_FD 3
#define CHILD_LINK_FD 4
#define CHILD_INHERIT_FD 5

struct mproc__os_child {
  pid_t pid;
  int pidfd;            /* readable once it ended: a pidfd, or an exit watcher's pipe; or -1 */
  int status_fd;        /* forkserver children: where the server reports; else -1 */
  pthread_mutex_t lock; /* reaping and signalling: the pid is ours until reaped */
  atomic_bool ended;
  int exitcode; /* valid once ended */
};

/* Wraps a freshly started pid (opens its pidfd). NULL when out of memory;
 * the child is then killed and reaped so it is not lost. */
mproc__os_child_t *mproc__posix_child_new(pid_t pid);
/* The same in two steps, for fork: the memory before fork() (a write
 * after it is a copy-on-write fault while the child lives), the pid after. */
mproc__os_child_t *mproc__posix_child_alloc(void);
void mproc__posix_child_attach(mproc__os_child_t *c, pid_t pid);
/* A child of the forkserver: not ours to waitpid; its pid, then its exit
 * status, arrive on status_fd (owned from now on). NULL when out of
 * memory. */
mproc__os_child_t *mproc__posix_forkserver_child_new(int status_fd);

#endif
