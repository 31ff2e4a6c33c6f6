/* mproc — logging, Python's multiprocessing.log_to_stderr / get_logger.
 *
 * Lines name the process they come from, as Python's do:
 *   [INFO/Process-3] child started
 * The library logs each lifecycle step at DEBUG, a child's start and exit at
 * INFO, and risks (fork in a threaded program) at WARNING. By default
 * WARNING and above go to stderr. A spawned child inherits the level (and
 * logs to stderr, since a handler function cannot cross an exec); a forked
 * child inherits the handler too. */
#ifndef MPROC_LOG_H
#define MPROC_LOG_H

#include "error.h"
#include "export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Python's logging levels. */
typedef enum {
  MPROC_LOG_DEBUG = 10,
  MPROC_LOG_INFO = 20,
  MPROC_LOG_WARNING = 30,
  MPROC_LOG_ERROR = 40,
  MPROC_LOG_OFF = 100 /* nothing is logged */
} mproc_log_level_t;

/* Receives each line (without a newline) at or above the level. Called from
 * whatever thread logs; must not call back into mproc's logging. */
typedef void (*mproc_log_fn)(mproc_log_level_t level, const char *line, void *ctx);

/* Logs lines at `level` and above to stderr (Python's log_to_stderr).
 * Params: level — one of the levels above.
 * Returns: 0.
 * Errors: MPROC_EINVAL (not a level). */
MPROC_API int mproc_log_to_stderr(mproc_log_level_t level);

/* Sends lines to fn instead of stderr; the level stays as it is.
 * Params: fn — the handler, or NULL for stderr; ctx — passed to fn.
 * Returns: 0.
 * Errors: none. */
MPROC_API int mproc_log_set_handler(mproc_log_fn fn, void *ctx);

/* The current level.
 * Returns: the level (MPROC_LOG_WARNING unless set).
 * Errors: none. */
MPROC_API mproc_log_level_t mproc_log_get_level(void);

#ifdef __cplusplus
}
#endif

#endif
