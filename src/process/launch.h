/* Starting a child that runs a target through the bootstrap protocol:
 * spawn, and the forkserver (whose children read the same message). */
#ifndef MPROC_PROCESS_LAUNCH_H
#define MPROC_PROCESS_LAUNCH_H

#include "core/internal.h"

/* mproc__os_spawn, or the forkserver's equivalent. */
typedef int (*mproc__spawner_fn)(mproc__os_child_t **out, const mproc__spawn_opts_t *o,
                                 mproc__stream_t *parent_end, intptr_t *child_link);

typedef struct {
  mproc_target_fn target;
  const char *name;
  const char *identity;
  bool daemon;
  bool pdeathsig_ok;         /* the child's kernel parent is this thread (not a server) */
  const unsigned char *args; /* encoded */
  size_t args_len;
  const intptr_t *handles; /* the objects' handles (this process keeps its own) */
  size_t nhandles;
} mproc__launch_t;

/* Starts the child with spawner and sends it the bootstrap message. On
 * success *child runs the target (or reports why not on *channel, which
 * the caller reads at the end with mproc__report_read). A child that was
 * started but could not be told what to run is killed and reaped, so a
 * failure never leaves a child waiting for a message that will not come:
 * MPROC_ECHILD with the reason. */
int mproc__launch(const mproc__launch_t *l, mproc__spawner_fn spawner, mproc__os_child_t **child,
                  mproc__stream_t *channel, intptr_t *child_link);

#endif
