/* The target of a pool's worker processes (pool_worker.c). Its arguments:
 * inbox queue, result queue, handle channel (a connection), the slot table
 * (an Array of bytes), its slot's index, the initializer (packed function
 * reference; empty bytes: none), the initializer's argument tuple, and
 * maxtasksperchild (0: none). */
#ifndef MPROC_POOL_POOL_WORKER_H
#define MPROC_POOL_POOL_WORKER_H

#include "core/internal.h"

int mproc__pool_worker_main(const mproc_args_t *args);

/* How a worker process exits when it ends on its own (a task that calls
 * exit() ends it with whatever status it gave). */
enum {
  MPROC__WORKER_DONE = 0,          /* asked to stop, or maxtasksperchild reached */
  MPROC__WORKER_BAD_ARGS = 3,      /* its arguments could not be read */
  MPROC__WORKER_INIT_FAILED = 4,   /* the pool's initializer failed */
  MPROC__WORKER_INBOX_FAILED = 5,  /* its inbox failed: the pool is gone */
  MPROC__WORKER_RESULTS_FAILED = 6 /* a result could not be put: nothing can be reported */
};

/* What a worker's exit status says happened: "its initializer failed", or
 * NULL for a status no worker gives itself. */
const char *mproc__pool_worker_exit_text(int status);

#endif
