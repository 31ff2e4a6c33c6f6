/* Which start method a new process gets, and which executable spawn runs. */
#ifndef MPROC_PROCESS_START_METHOD_H
#define MPROC_PROCESS_START_METHOD_H

#include "core/internal.h"

/* MPROC_START_METHOD from the environment (spawn when unset). */
int mproc__start_method_from_env(mproc_start_method_t *out);
/* mproc_set_start_method's choice, else the environment's. */
int mproc__start_method_current(mproc_start_method_t *out);
/* 0 if m can start processes here; MPROC_ENOTSUP / MPROC_EINVAL if not. */
int mproc__start_method_check(mproc_start_method_t m);
/* A malloc'd copy of mproc_set_executable's path, or NULL for the running
 * executable (then *failed tells an allocation failure apart). */
char *mproc__executable_copy(bool *failed);

#endif
