/* mproc — workers elsewhere: the interface through which a pool runs its
 * tasks on workers that are not its own child processes (MPI ranks; see
 * mproc/mpi.h, which implements it). Users of a pool only pass a backend
 * (mproc_pool_opts_t.backend); this header is for the one who writes one.
 *
 * The pool keeps everything it does for local workers - the task queue,
 * chunking, prefetch, AsyncResults, callbacks, imap, time limits - and
 * asks the backend only to move opaque messages to and from numbered
 * workers. On the worker's side the backend hands each message it
 * receives to mproc_pool_worker_handle and sends the reply back. The
 * messages are the pool's own (little-endian, MessagePack inside):
 * architecture neutral, so a worker may be on another machine.
 *
 * A remote worker cannot be killed or replaced: a task that runs past its
 * time limit, or a worker that goes silent, fails that task
 * (MPROC_ETASKTIMEOUT, MPROC_EWORKERDIED), and the worker is retired for
 * the rest of the pool - the backend's forget drops what it was sent and
 * never ran. IPC objects cannot reach such a worker: a task whose
 * arguments hold one is refused with MPROC_ENOTSUP. */
#ifndef MPROC_POOL_BACKEND_H
#define MPROC_POOL_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A backend's operations. The pool calls open from mproc_pool_new, close
 * from mproc_pool_free, wake from any thread, and every other one from
 * its own thread only. One pool at a time uses a backend. */
typedef struct mproc_pool_backend {
  const char *name; /* for messages: "MPI" */
  void *ctx;        /* passed to every operation */
  /* Begins a pool: sets *workers to how many workers it has (at least
   * 1). Returns 0 or an MPROC_E* code (with a detail). */
  int (*open)(void *ctx, int *workers);
  /* Sends message msg of len bytes to worker (0 .. workers-1), in order
   * with what was sent to it before. Returns 0 or an MPROC_E* code. */
  int (*send)(void *ctx, int worker, const void *msg, size_t len);
  /* Takes one message that has arrived from any worker, without waiting:
   * returns 1 and sets *worker, *msg (malloc'd; the pool frees it with
   * free) and *len; 0 when none has; or a negative MPROC_E* code. */
  int (*poll)(void *ctx, int *worker, void **msg, size_t *len);
  /* Waits until poll may find a message, wake is called, or timeout_ms
   * (MPROC_INFINITE: no limit) passes. Called only while some worker
   * holds tasks. */
  void (*wait)(void *ctx, int timeout_ms);
  /* Ends a wait now or makes the next one return at once (any thread). */
  void (*wake)(void *ctx);
  /* 1 when worker, which holds tasks, has been heard from recently enough
   * (heartbeats); 0 when it has gone silent: its tasks then fail with
   * MPROC_EWORKERDIED. A backend without heartbeats returns 1. */
  int (*alive)(void *ctx, int worker);
  /* The pool retires worker: nothing more will be sent to it in this
   * pool, and of the messages it was sent and has not answered, those it
   * has not begun must never run - the pool runs those tasks elsewhere.
   * Returns how many of them (the oldest first) it may have begun: those
   * fail (they may be running, or have run) rather than run twice. A
   * backend that cannot tell returns every unanswered message: then
   * nothing moves, and nothing runs twice. At most once is the backend's
   * to keep, by its protocol, not by the timing of its messages. */
  int (*forget)(void *ctx, int worker);
  /* Ends the pool (every worker was sent a stop, or was retired). */
  void (*close)(void *ctx);
  /* Writes a name for worker into buf ("MPI rank 2 on node7"). */
  void (*describe)(void *ctx, int worker, char *buf, size_t cap);
  /* The worker's process id on its host, for mproc_task_error_t; NULL, or
   * 0 returned: unknown. */
  int64_t (*pid)(void *ctx, int worker);
  /* For operations of later versions: NULL (else MPROC_EINVAL). */
  void (*reserved[4])(void);
} mproc_pool_backend_t;

/* On a worker: handles one message a pool sent (a task, the pool's
 * initializer, or its stop) and gives the reply to send back. A process
 * serves one pool at a time, from one thread at a time.
 * Params: msg, len — the message as the backend received it; reply —
 *   receives the reply (free it with mproc_free), or NULL when there is
 *   nothing to send; reply_len — receives its length.
 * Returns: 0; 1 when the message was the pool's stop (the reply, which
 *   must still be sent, tells the pool so; the worker then waits for the
 *   next pool).
 * Errors: MPROC_EPROTO (not a pool message), MPROC_ENOMEM, MPROC_EINVAL
 *   (NULL reply or reply_len). A task that fails, or whose function
 *   cannot be found (another build of the program), is not an error here:
 *   the reply says so and the caller's result fails. */
MPROC_API int mproc_pool_worker_handle(const void *msg, size_t len, void **reply,
                                       size_t *reply_len);

#ifdef __cplusplus
}
#endif

#endif
