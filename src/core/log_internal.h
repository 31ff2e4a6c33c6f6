/* Internal logging: mproc__log(MPROC_LOG_DEBUG, "fmt", ...). */
#ifndef MPROC_CORE_LOG_INTERNAL_H
#define MPROC_CORE_LOG_INTERNAL_H

#include "core/internal.h"

void mproc__log(mproc_log_level_t level, const char *fmt, ...) MPROC__PRINTF(2, 3);
/* Whether a line at this level would go anywhere (skip costly formatting). */
bool mproc__log_enabled(mproc_log_level_t level);
/* A spawned child takes its parent's level (and logs to stderr). */
void mproc__log_inherit(int level);

#endif
