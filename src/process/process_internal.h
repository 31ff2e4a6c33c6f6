/* What the library's own users of a process object (the pool) need beyond
 * the public API. */
#ifndef MPROC_PROCESS_PROCESS_INTERNAL_H
#define MPROC_PROCESS_PROCESS_INTERNAL_H

#include "core/internal.h"

/* The OS child of a started process (borrowed); NULL before start. */
mproc__os_child_t *mproc__process_os_child(mproc_process_t *p);

#endif
