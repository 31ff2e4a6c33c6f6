/* mproc — waiting on many things at once: Python's
 * multiprocessing.connection.wait(), over processes, raw sentinels,
 * connections (connection.h), queues (queue.h) and AsyncResults
 * (pool.h). */
#ifndef MPROC_WAIT_H
#define MPROC_WAIT_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "export.h"
#include "process.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One thing to wait for. Make it with a mproc_waitable_* function; the
 * fields are the library's. */
struct mproc__wait_class;
typedef struct {
  const struct mproc__wait_class *cls; /* what kind of object: the library's */
  void *object;
  intptr_t handle;
} mproc_waitable_t;

/* A process: ready once it has ended (or if it has already ended).
 * Params: p — a started process.
 * Returns: the waitable (mproc_wait refuses a NULL or unstarted process).
 * Errors: none here. */
MPROC_API mproc_waitable_t mproc_waitable_process(mproc_process_t *p);

/* A raw sentinel from mproc_process_sentinel or mproc_parent_sentinel:
 * ready when the process behind it has ended.
 * Params: sentinel — the value those functions return.
 * Returns: the waitable.
 * Errors: none here. */
MPROC_API mproc_waitable_t mproc_waitable_sentinel(intptr_t sentinel);

/* Waits until at least one object is ready, then reports every object that
 * is ready (Python's connection.wait).
 * Params: objs, n — the objects (n may exceed 64 on Windows, unlike
 *   Python's WaitForMultipleObjects-bound wait); timeout_ms —
 *   MPROC_INFINITE, 0 (check once) or milliseconds; ready — an array of n
 *   indices, receives the ready objects' indices in order; nready —
 *   receives how many.
 * Returns: 0 when at least one object is ready.
 * Errors: MPROC_EINVAL (NULL arrays with n > 0, an invalid object, a
 *   process not started), MPROC_ETIMEDOUT (none ready in time; *nready is
 *   0), MPROC_ESYS, MPROC_ENOMEM.
 * Platform: poll() on pidfds (Linux; without pidfds, processes are polled
 *   every few milliseconds); WaitForMultipleObjects in batches of 64, or
 *   registered thread-pool waits beyond that (Windows). */
MPROC_API int mproc_wait(mproc_waitable_t *objs, size_t n, int timeout_ms, size_t *ready,
                         size_t *nready);

#ifdef __cplusplus
}
#endif

#endif
