/* The target of a pool's worker processes (pool_worker.c). Its arguments:
 * inbox queue, result queue, handle channel (a connection), the slot table
 * (an Array of bytes), its slot's index, the initializer (packed function
 * reference; empty bytes: none), the initializer's argument tuple, and
 * maxtasksperchild (0: none). */
#ifndef MPROC_COMMON_POOL_WORKER_H
#define MPROC_COMMON_POOL_WORKER_H

#include "internal.h"

int mproc__pool_worker_main(const mproc_args_t *args);

#endif
