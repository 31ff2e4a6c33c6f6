/* The forkserver start method's server lifecycle (see posix/forkserver.c
 * for how it serves). */
#ifndef MPROC_PROCESS_FORKSERVER_H
#define MPROC_PROCESS_FORKSERVER_H

#include "core/internal.h"

/* mproc__os_spawn's contract, through the server (started on first use,
 * and again whenever the one before has died). */
int mproc__forkserver_spawn(mproc__os_child_t **out, const mproc__spawn_opts_t *o,
                            mproc__stream_t *parent_end, intptr_t *child_link);
/* A forked child: the parent's server is not its own. */
void mproc__forkserver_after_fork(void);

#endif
