/* mproc — a pool of worker processes: Python's multiprocessing.Pool
 * (apply, apply_async, map, starmap, imap, imap_unordered, AsyncResult),
 * plus a parallel for over an index range. See docs/pool.md.
 *
 * A task is a C function run in a worker; its arguments and results are
 * argument tuples (args.h), and IPC objects in the arguments (a Lock, a
 * Queue, a Value, a connection...) reach the worker under every start
 * method, which Python refuses; results may hold them too. A segment of
 * shared memory crosses either way by reference, whatever its size
 * (mproc_shm_create_unnamed: docs/pool.md, "Zero-copy"). Unlike Python's Pool, a worker that dies -
 * killed, crashed, or exiting inside a task - fails only the task it was
 * running (MPROC_EWORKERDIED): the others complete, a replacement starts,
 * the pool goes on. A task can be bounded in time (a worker running past it
 * is killed and replaced: MPROC_ETASKTIMEOUT) and cancelled.
 *
 * Every function may be called from any thread of the process that made the
 * pool; callbacks run on the pool's own thread. */
#ifndef MPROC_POOL_H
#define MPROC_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "args.h"
#include "error.h"
#include "export.h"
#include "process.h"
#include "wait.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mproc_pool mproc_pool_t;
typedef struct mproc_async_result mproc_async_result_t;
typedef struct mproc_pool_iter mproc_pool_iter_t;

/* A task: runs in a worker on args, appends its results to result (an empty
 * tuple) and returns 0. Any other return value fails the task with
 * MPROC_ETASKFAILED; the value reaches the caller as the error's
 * task_status, with the message mproc_task_set_error set, if any. Any
 * function of the program or of a shared library it loaded works, static
 * ones included: it crosses to the worker as a process target does. */
typedef int (*mproc_task_fn)(const mproc_args_t *args, mproc_args_t *result);

/* A parallel for's body: runs items [begin, end) of a range, with the
 * context tuple every chunk shares. Returns 0, or a status that fails the
 * whole call (MPROC_ETASKFAILED). */
typedef int (*mproc_range_fn)(const mproc_args_t *ctx, size_t begin, size_t end);

/* imap's lazy input: returns 1 and sets *item to the next argument tuple
 * (the pool takes it over), 0 at the end, or a negative code, which ends
 * the input and is reported by mproc_pool_iter_next after the items before
 * it. Called on the thread that calls mproc_pool_imap and
 * mproc_pool_iter_next, never more than opts.buffersize items ahead of
 * what that thread has taken. */
typedef int (*mproc_item_source_fn)(void *ctx, mproc_args_t **item);

/* A completion callback (Python's callback / error_callback): runs on the
 * pool's thread once r is ready; it may read r (mproc_async_result_get
 * with timeout 0, _error) but must not block, wait on the pool or free r. */
typedef void (*mproc_async_callback_fn)(mproc_async_result_t *r, void *ctx);

struct mproc_task_error; /* mproc_task_error_t, below */

/* Python's callback(value) and error_callback(exception): run on the
 * pool's thread as the callbacks above do (after them, when both are
 * given), with the outcome itself. value: apply's result tuple, or map's
 * tuple of result tuples; error: the failure (the first failed item of a
 * map). Both are borrowed for the call (the result keeps them). */
typedef void (*mproc_value_callback_fn)(const mproc_args_t *value, void *ctx);
typedef void (*mproc_error_callback_fn)(const struct mproc_task_error *error, void *ctx);

/* opts.prefetch: no task waits in a worker's inbox (each is handed out
 * when a worker is free, as from Python's shared task queue). */
#define MPROC_PREFETCH_NONE ((unsigned)-1)

/* mproc_map_opts_t.buffersize: no bound - imap takes items from its
 * source as fast as it can, as Python's imap does (buffersize=None, and
 * always before Python 3.14). */
#define MPROC_BUFFERSIZE_NONE ((size_t)-1)

/* Python's Pool settings, and how to ask for each here (a zeroed struct is
 * Python's defaults throughout):
 *   Pool() / Pool(None)         processes 0: mproc_cpu_count() workers
 *   Pool(n), n >= 1             processes n
 *   Pool(0), Pool(-1)           ValueError there; a negative processes is
 *                               MPROC_EINVAL here. 0 cannot ask for it, being
 *                               None: a caller with a computed count refuses
 *                               0 itself, or passes it as -1
 *   initializer=None, initargs=()           NULL, NULL
 *   maxtasksperchild=None       0 (never replaced)
 *   context=get_context(m)      start_method
 *   (a worker's inbox: Python has none, one shared queue)
 *                               prefetch MPROC_PREFETCH_NONE; 0 is ours: 2
 *                               (16 for short tasks)
 *   (no time limit)             task_timeout_ms 0
 *   terminate(): SIGTERM, then wait    terminate_grace_ms: SIGTERM, then
 *                               SIGKILL after this; 0: 1000 ms
 *   map(f, it, chunksize=None)  mproc_map_opts_t.chunksize 0
 *   imap(..., chunksize=1)      chunksize 0 (imap's default is 1 there too)
 *   imap(..., buffersize=None)  buffersize MPROC_BUFFERSIZE_NONE; 0 is ours:
 *                               2 * processes * chunksize
 *   imap(..., buffersize=n)     buffersize n
 *   AsyncResult.get(timeout=None)      MPROC_INFINITE (or map's wait_ms 0) */

/* Options of a pool; all zero means Python's Pool() defaults. */
typedef struct {
  int processes;                     /* workers; 0: mproc_cpu_count() */
  mproc_target_fn initializer;       /* runs once in each worker before its first task;
                                        a non-zero return is a failed start */
  const mproc_args_t *initargs;      /* its arguments (objects allowed); NULL: (). The
                                        worker holds them as long as it lives: what the
                                        initializer reads there (a Value, an Array, a
                                        string) it may keep for later tasks, as Python's
                                        initializer keeps them in globals */
  unsigned maxtasksperchild;         /* a worker is replaced after this many tasks; 0: never */
  mproc_start_method_t start_method; /* MPROC_START_DEFAULT: the global method */
  int task_timeout_ms;               /* a time limit per task (per chunk for map); 0: none */
  unsigned prefetch;                 /* tasks queued in a worker beyond the one it runs;
                                        0: 2 (16 while tasks take under 100 us);
                                        MPROC_PREFETCH_NONE: none, a worker gets a task
                                        only when idle. A worker that falls idle takes
                                        back tasks another holds and has not begun. */
  int terminate_grace_ms;            /* terminate: SIGTERM, then SIGKILL after this; 0: 1000 */
  const struct mproc_pool_backend *backend; /* workers elsewhere (mproc_mpi_pool_backend()
                                               in mproc/mpi.h; pool_backend.h); NULL: worker
                                               processes of this one */
  /* Bytes each worker may use, enforced by the OS: a worker past it is
   * stopped and replaced, and only its task fails (MPROC_EMEMLIMIT); 0:
   * none. Linux: a cgroup per worker (v2 memory.max, else v1), counting
   * what it touches from its start on. Windows: a job object per worker
   * with a process memory limit, counting what it commits, and a watch
   * that stops it (exit code -9) the moment the limit refuses it or its
   * commit is seen past it (read every millisecond or so). A cap below
   * what a worker needs to start stops each one before it is ready: after
   * three the pool is broken (MPROC_EINIT, naming the limit). MPROC_ENOTSUP where no cgroup
   * can be made (root, or a delegated subtree, is needed), on other
   * systems, and with a backend. */
  uint64_t worker_memory_limit;
  /* For options of later versions: leave zero (else MPROC_EINVAL). */
  uint64_t reserved[3];
} mproc_pool_opts_t;

/* Creates a pool and starts its workers (Python's Pool(processes,
 * initializer, initargs, maxtasksperchild)). Workers are daemons: they die
 * with this process, however it dies; they ignore SIGINT (Ctrl-C reaches
 * this process only).
 * Params: out — receives the pool (mproc_pool_free); opts — NULL for the
 *   defaults.
 * Returns: 0.
 * With opts.backend the workers are the backend's (MPI ranks): processes
 *   0 takes them all; IPC objects cannot reach them (MPROC_ENOTSUP from
 *   the submitting call), and one that runs past a time limit or goes
 *   silent is retired rather than replaced (see pool_backend.h).
 * Errors: MPROC_EINVAL (out NULL, processes or a timeout negative, an
 *   initializer that is not code of a loaded module, more processes than
 *   the backend has, a backend lacking an operation), MPROC_ENOTSUP (a
 *   start method the platform lacks; maxtasksperchild, worker_memory_limit
 *   or initargs holding an IPC object with a backend; worker_memory_limit
 *   where no cap can be made: not root and no delegated cgroup, another
 *   system), MPROC_ECHILD (a worker could not
 *   start), MPROC_ESTATE (the backend serves another pool), MPROC_ENOMEM,
 *   MPROC_ESYS.
 * Platform: on Windows workers start with spawn (the only method). */
MPROC_API int mproc_pool_new(mproc_pool_t **out, const mproc_pool_opts_t *opts);

/* Options of one apply_async; all zero means the defaults. */
typedef struct {
  int timeout_ms;                         /* this task's time limit; 0: the pool's */
  mproc_async_callback_fn callback;       /* on success */
  mproc_async_callback_fn error_callback; /* on failure */
  void *ctx;                              /* for every callback */
  mproc_value_callback_fn on_value;       /* on success, with the result tuple */
  mproc_error_callback_fn on_error;       /* on failure, with the failure */
  /* For options of later versions: leave zero (else MPROC_EINVAL). */
  uint64_t reserved[4];
} mproc_task_opts_t;

/* Runs fn(args) in a worker and waits for it (Python's apply).
 * Params: p — the pool; fn — the task; args — NULL for (); result —
 *   receives the task's result tuple (the caller frees it).
 * Returns: 0.
 * Errors: MPROC_ETASKFAILED, MPROC_EWORKERDIED, MPROC_EMEMLIMIT, MPROC_ETASKTIMEOUT
 *   (the task's; the detail says more), MPROC_ESTATE (the pool is closed),
 *   MPROC_EINIT, MPROC_EINVAL, MPROC_ENOMEM. */
MPROC_API int mproc_pool_apply(mproc_pool_t *p, mproc_task_fn fn, const mproc_args_t *args,
                               mproc_args_t **result);

/* mproc_pool_apply with a bound on its wait (Python's apply_async(...)
 * .get(timeout)): after a timeout the task runs on, its outcome
 * discarded.
 * Params: p, fn, args, result — as mproc_pool_apply; timeout_ms —
 *   MPROC_INFINITE, 0 or milliseconds.
 * Returns: 0.
 * Errors: as mproc_pool_apply, and MPROC_ETIMEDOUT (not done in time). */
MPROC_API int mproc_pool_apply_timeout(mproc_pool_t *p, mproc_task_fn fn, const mproc_args_t *args,
                                       int timeout_ms, mproc_args_t **result);

/* Submits fn(args) and returns at once (Python's apply_async).
 * Params: p, fn, args — as mproc_pool_apply; opts — NULL or a time limit
 *   and callbacks; out — receives the AsyncResult (mproc_async_result_free).
 * Returns: 0.
 * Errors: MPROC_ESTATE (the pool is closed or terminated), MPROC_EINIT (the
 *   pool is broken), MPROC_EINVAL (NULL p, fn or out; a negative timeout;
 *   fn not code of a loaded module), MPROC_ENOMEM. */
MPROC_API int mproc_pool_apply_async(mproc_pool_t *p, mproc_task_fn fn, const mproc_args_t *args,
                                     const mproc_task_opts_t *opts, mproc_async_result_t **out);

/* Options of map, starmap, imap and map_range; all zero means Python's. */
typedef struct {
  size_t chunksize;                       /* items per task; 0: ceil(n / (4 * processes)) for
                                             map and starmap (Python's), 1 for imap */
  size_t buffersize;                      /* imap: most items taken from the source and not
                                             yet returned; 0: 2 * processes * chunksize;
                                             MPROC_BUFFERSIZE_NONE: no bound (Python's) */
  int timeout_ms;                         /* a time limit per chunk; 0: the pool's */
  mproc_async_callback_fn callback;       /* map_async: on success */
  mproc_async_callback_fn error_callback; /* map_async: on failure */
  void *ctx;                              /* for every callback */
  mproc_value_callback_fn on_value;       /* map_async: on success, with the results */
  mproc_error_callback_fn on_error;       /* map_async: on failure, with the first */
  int wait_ms; /* map, starmap: how long the call waits for every result; 0 or
                  MPROC_INFINITE: for ever (Python's); then MPROC_ETIMEDOUT, and
                  the tasks run on, their outcomes discarded */
  /* For options of later versions: leave zero (else MPROC_EINVAL). */
  uint64_t reserved[4];
} mproc_map_opts_t;

/* Python's map: runs fn on each item of items (a tuple; item i, wrapped as
 * a one-item tuple, is the task's argument tuple) and waits.
 * Params: p, fn; items — the inputs; opts — NULL for the defaults;
 *   results — receives a tuple whose item i is item i's result tuple
 *   (the caller frees it).
 * Returns: 0 when every item succeeded.
 * Errors: the first failed item's code (MPROC_ETASKFAILED,
 *   MPROC_EWORKERDIED, MPROC_EMEMLIMIT, MPROC_ETASKTIMEOUT; the detail names the item),
 *   MPROC_ESTATE, MPROC_EINIT, MPROC_EINVAL, MPROC_ENOMEM. Use
 *   mproc_pool_map_async for every item's outcome. */
MPROC_API int mproc_pool_map(mproc_pool_t *p, mproc_task_fn fn, const mproc_args_t *items,
                             const mproc_map_opts_t *opts, mproc_args_t **results);

/* Python's starmap: as map, but item i must itself be a tuple, and is the
 * task's argument tuple.
 * Params: as mproc_pool_map (p, fn, items, opts, results).
 * Returns: 0 when every item succeeded.
 * Errors: as mproc_pool_map, and MPROC_ETYPE (an item that is not a
 *   tuple). */
MPROC_API int mproc_pool_starmap(mproc_pool_t *p, mproc_task_fn fn, const mproc_args_t *items,
                                 const mproc_map_opts_t *opts, mproc_args_t **results);

/* map and starmap without waiting: *out is ready when every item is done;
 * its get gives the tuple of results (the first failure's code if any
 * failed), and mproc_async_result_item tells each item's outcome.
 * Params: p, fn, items, opts — as mproc_pool_map (opts also gives the
 *   callbacks); out — receives the AsyncResult (mproc_async_result_free).
 * Returns: 0.
 * Errors: as mproc_pool_apply_async, and MPROC_ETYPE (starmap). */
MPROC_API int mproc_pool_map_async(mproc_pool_t *p, mproc_task_fn fn, const mproc_args_t *items,
                                   const mproc_map_opts_t *opts, mproc_async_result_t **out);
MPROC_API int mproc_pool_starmap_async(mproc_pool_t *p, mproc_task_fn fn, const mproc_args_t *items,
                                       const mproc_map_opts_t *opts, mproc_async_result_t **out);

/* Python's imap / imap_unordered over a lazy input: items are taken from
 * next(ctx) as results are taken, at most opts.buffersize ahead (Python's
 * imap reads its whole input at once). Each item is a task's argument
 * tuple (as starmap). imap yields results in input order; imap_unordered
 * in completion order - both with each result's input index.
 * Params: p, fn; next, ctx — the input; opts — NULL for the defaults; out —
 *   receives the iterator (mproc_pool_iter_free).
 * Returns: 0.
 * Errors: as apply_async; a negative return of next's first call. */
MPROC_API int mproc_pool_imap(mproc_pool_t *p, mproc_task_fn fn, mproc_item_source_fn next,
                              void *ctx, const mproc_map_opts_t *opts, mproc_pool_iter_t **out);
MPROC_API int mproc_pool_imap_unordered(mproc_pool_t *p, mproc_task_fn fn,
                                        mproc_item_source_fn next, void *ctx,
                                        const mproc_map_opts_t *opts, mproc_pool_iter_t **out);

/* Python's imap(f, items) / imap_unordered over a tuple already at hand:
 * item i, as a one-item tuple, is task i's argument tuple (as map). The
 * iterator keeps its own copy of items: the caller may free or change
 * them at once.
 * Params: p, fn; items — the inputs; opts — NULL for the defaults; out —
 *   receives the iterator (mproc_pool_iter_free).
 * Returns: 0.
 * Errors: as mproc_pool_imap; MPROC_EINVAL (items NULL). */
MPROC_API int mproc_pool_imap_items(mproc_pool_t *p, mproc_task_fn fn, const mproc_args_t *items,
                                    const mproc_map_opts_t *opts, mproc_pool_iter_t **out);
MPROC_API int mproc_pool_imap_items_unordered(mproc_pool_t *p, mproc_task_fn fn,
                                              const mproc_args_t *items,
                                              const mproc_map_opts_t *opts,
                                              mproc_pool_iter_t **out);

/* The next result (Python's next(it), it.next(timeout)).
 * Params: it — the iterator; result — receives the item's result tuple
 *   (the caller frees it) or NULL when the item failed; index — NULL, or
 *   receives the item's input position; timeout_ms — MPROC_INFINITE, 0 or
 *   milliseconds.
 * Returns: 0.
 * Errors: MPROC_EEOF (no more items: StopIteration), MPROC_ETIMEDOUT (none
 *   ready in time; call again), the item's failure (MPROC_ETASKFAILED,
 *   MPROC_EWORKERDIED, MPROC_EMEMLIMIT, MPROC_ETASKTIMEOUT: *index tells which; the
 *   iteration goes on), the input's negative code (after every item before
 *   it), MPROC_ECANCELED (an item the pool's free or terminate cancelled),
 *   MPROC_ECLOSED (the pool was freed before the input ended: the items
 *   submitted before are still handed back, then this), MPROC_EINVAL. */
MPROC_API int mproc_pool_iter_next(mproc_pool_iter_t *it, mproc_args_t **result, size_t *index,
                                   int timeout_ms);

/* Frees the iterator; what it did not take yet is cancelled (items not
 * yet sent to a worker never run).
 * Params: it — the iterator; NULL is ignored. */
MPROC_API void mproc_pool_iter_free(mproc_pool_iter_t *it);

/* A parallel for: fn(ctx, begin, end) over chunks of [0, n), no item data
 * crossing at all, and waits. Share data through ctx's objects (an
 * Array, say).
 * Params: p, fn; ctx — NULL for (); n — the range; opts — chunksize (0:
 *   Python's map formula), timeout_ms.
 * Returns: 0 when every chunk returned 0.
 * Errors: as mproc_pool_map. */
MPROC_API int mproc_pool_map_range(mproc_pool_t *p, mproc_range_fn fn, const mproc_args_t *ctx,
                                   size_t n, const mproc_map_opts_t *opts);

/* Stops accepting tasks (Python's close); the workers exit once every
 * submitted task is done.
 * Params: p — the pool.
 * Returns: 0.
 * Errors: MPROC_EINVAL (NULL). */
MPROC_API int mproc_pool_close(mproc_pool_t *p);

/* Stops the workers now (Python's terminate): SIGTERM, then SIGKILL after
 * opts.terminate_grace_ms (TerminateProcess on Windows); every task not
 * done yet fails with MPROC_ECANCELED. Returns within the grace period.
 * Params: p — the pool.
 * Returns: 0.
 * Errors: MPROC_EINVAL (NULL).
 * Platform: TerminateProcess at once on Windows (no grace period). */
MPROC_API int mproc_pool_terminate(mproc_pool_t *p);

/* Waits for the workers to exit, after close or terminate, and for every
 * callback to have run (Python's join, which has no timeout).
 * Params: p — the pool; timeout_ms — MPROC_INFINITE, 0 or milliseconds.
 * Returns: 0 when every worker has exited and no callback is due.
 * Errors: MPROC_ESTATE (neither close nor terminate was called),
 *   MPROC_ETIMEDOUT, MPROC_EINVAL. */
MPROC_API int mproc_pool_join(mproc_pool_t *p, int timeout_ms);

/* Frees the pool; a pool still running is terminated and joined first
 * (Python's `with Pool() as p:` exit): no worker outlives it, no handle
 * leaks. AsyncResults and iterators stay valid (and ready) until freed.
 * Must not be called from a callback.
 * Params: p — the pool; NULL is ignored. */
MPROC_API void mproc_pool_free(mproc_pool_t *p);

/* Counters since the pool was made. */
typedef struct {
  unsigned workers_alive;
  uint64_t workers_started;
  uint64_t workers_died;     /* ended without being asked: killed, crashed, timed out */
  uint64_t workers_recycled; /* replaced after maxtasksperchild */
  uint64_t tasks_queued;     /* submitted, not yet running */
  uint64_t tasks_running;
  uint64_t tasks_done;   /* succeeded */
  uint64_t tasks_failed; /* failed, died, timed out or cancelled */
  uint64_t reserved[4];  /* for fields of later versions; zeroed */
} mproc_pool_stats_t;

/* Reads the counters.
 * Params: p — the pool; st — receives them.
 * Returns: 0.
 * Errors: MPROC_EINVAL (NULL). */
MPROC_API int mproc_pool_stats(mproc_pool_t *p, mproc_pool_stats_t *st);

/* One place of the pool and the worker in it now. */
typedef struct {
  int index;            /* 0 .. processes-1: what mproc_pool_worker_index says in its tasks */
  int64_t pid;          /* its process; 0 where the backend does not know (MPI) */
  bool alive;           /* running (not being started or replaced) */
  bool busy;            /* running a task now */
  uint64_t tasks_given; /* handed to this worker since it started (a replacement starts at 0) */
  uint64_t tasks_held;  /* given and not finished: running, or waiting in its inbox */
  char name[96];        /* "PoolWorker-3 (pid 4242)", "MPI rank 2 on node7 (pid 4242)" */
  uint64_t reserved[4]; /* for fields of later versions; zeroed */
} mproc_pool_worker_t;

/* The pool's workers, place by place (Python's pool._pool, with what each
 * is doing).
 * Params: p — the pool; out — room for cap entries (NULL when cap is 0);
 *   cap — its length; n — receives the number of places (the processes).
 * Returns: 0, with min(cap, *n) entries filled.
 * Errors: MPROC_EINVAL (p or n NULL, out NULL with cap > 0). */
MPROC_API int mproc_pool_workers(mproc_pool_t *p, mproc_pool_worker_t *out, size_t cap, size_t *n);

/* ---- AsyncResult -------------------------------------------------------- */

/* Waits up to timeout_ms for the result (Python's get(timeout)).
 * Params: r — the result; out — NULL, or receives the result tuple, borrowed from r
 *   (valid until mproc_async_result_free): apply's result tuple, or map's
 *   tuple of results; timeout_ms — MPROC_INFINITE, 0 or milliseconds.
 * Returns: 0 when the task succeeded.
 * Errors: MPROC_ETIMEDOUT (not ready yet; call again), the task's failure
 *   (MPROC_ETASKFAILED, MPROC_EWORKERDIED, MPROC_EMEMLIMIT, MPROC_ETASKTIMEOUT,
 *   MPROC_ECANCELED, MPROC_EINIT: the detail, and mproc_async_result_error,
 *   say more), MPROC_EINVAL. */
MPROC_API int mproc_async_result_get(mproc_async_result_t *r, const mproc_args_t **out,
                                     int timeout_ms);

/* Waits up to timeout_ms for it to be ready, whatever its outcome
 * (Python's wait(timeout)).
 * Params: r — the result; timeout_ms — MPROC_INFINITE, 0 or milliseconds.
 * Returns: 0 when ready.
 * Errors: MPROC_ETIMEDOUT, MPROC_EINVAL. */
MPROC_API int mproc_async_result_wait(mproc_async_result_t *r, int timeout_ms);

/* Whether it is ready (Python's ready()).
 * Params: r — the result.
 * Returns: 1 when ready, 0 when not.
 * Errors: MPROC_EINVAL (NULL). */
MPROC_API int mproc_async_result_ready(const mproc_async_result_t *r);

/* Whether it succeeded (Python's successful()).
 * Params: r — the result.
 * Returns: 1 when it succeeded, 0 when it failed.
 * Errors: MPROC_ESTATE (not ready: Python raises ValueError),
 *   MPROC_EINVAL (NULL). */
MPROC_API int mproc_async_result_successful(const mproc_async_result_t *r);

/* With MPROC_CANCEL_KILL, cancel also stops a task a worker already has. */
#define MPROC_CANCEL_KILL 1u

/* Cancels the task (every chunk of a map): one still waiting in the pool
 * never runs, and the result fails with MPROC_ECANCELED. One a worker
 * already has (running or queued in it) cannot be taken back - unless
 * flags has MPROC_CANCEL_KILL: then that worker is killed and replaced
 * (its other queued tasks go to other workers).
 * Params: r — the result; flags — 0 or MPROC_CANCEL_KILL.
 * Returns: 0 when cancelled (also when already cancelled).
 * Errors: MPROC_ESTATE (ready already, or held by a worker without
 *   MPROC_CANCEL_KILL: Python's Future.cancel() returning False),
 *   MPROC_EINVAL. */
MPROC_API int mproc_async_result_cancel(mproc_async_result_t *r, unsigned flags);

/* What went wrong with a failed task (or a failed item of a map). */
typedef struct mproc_task_error {
  int code;             /* MPROC_ETASKFAILED, MPROC_EWORKERDIED, ... */
  int task_status;      /* the task's return value (MPROC_ETASKFAILED) */
  size_t index;         /* the item (map, starmap, imap; 0 for apply) */
  int64_t worker_pid;   /* the worker that ran it, on its host; 0 when none did (or a
                           backend cannot tell) */
  int worker_exitcode;  /* how that worker ended (-N: signal N), when it died */
  char message[512];    /* mproc_task_set_error's text, or what the pool knows */
  int worker;           /* the worker's index in the pool, 0 .. processes-1; -1: none */
  char worker_name[96]; /* who it is: "PoolWorker-3 (pid 4242)", "MPI rank 2 on node7
                           (pid 4242)"; "" when none ran it */
  uint64_t reserved[4]; /* for fields of later versions; zeroed */
} mproc_task_error_t;

/* The failure of a ready, failed result (the first failed item of a map).
 * Params: r — the result; e — receives the failure.
 * Returns: 0.
 * Errors: MPROC_ESTATE (not ready, or it succeeded), MPROC_EINVAL. */
MPROC_API int mproc_async_result_error(const mproc_async_result_t *r, mproc_task_error_t *e);

/* One item of a ready map or starmap result.
 * Params: r — the result; i — the item's input index; out — NULL, or
 *   receives the item's result tuple (borrowed from r); e — NULL, or
 *   receives the item's failure.
 * Returns: 0 when the item succeeded; else its failure code
 *   (MPROC_ETASKFAILED, MPROC_EWORKERDIED, ...), with *e filled.
 * Errors: MPROC_ESTATE (not ready), MPROC_ERANGE (no such item),
 *   MPROC_EINVAL. */
MPROC_API int mproc_async_result_item(const mproc_async_result_t *r, size_t i,
                                      const mproc_args_t **out, mproc_task_error_t *e);

/* Releases the result; a task still pending keeps running, its outcome
 * discarded (callbacks still run).
 * Params: r — the result; NULL is ignored. */
MPROC_API void mproc_async_result_free(mproc_async_result_t *r);

/* The result for mproc_wait: ready once the task is ready.
 * Params: r — the result.
 * Returns: the waitable (mproc_wait refuses a NULL result with
 *   MPROC_EINVAL). */
MPROC_API mproc_waitable_t mproc_waitable_async_result(mproc_async_result_t *r);

/* ---- in the worker ------------------------------------------------------- */

/* Inside a task: the message the caller gets with the task's failure
 * (Python's remote traceback), printf-style, at most 511 bytes. The task
 * still fails by returning non-zero.
 * Params: fmt, ... — a printf format and its arguments.
 * Returns: 0.
 * Errors: MPROC_ESTATE (not called from a pool task), MPROC_EINVAL (fmt
 *   NULL). */
MPROC_API int mproc_task_set_error(const char *fmt, ...);

/* Inside a task: the index of the worker running it (its place in the
 * pool, as mproc_pool_workers lists it; the same in a worker that
 * replaced one there).
 * Returns: the index, 0 .. processes-1.
 * Errors: MPROC_ESTATE (not called from a pool task). */
MPROC_API int mproc_pool_worker_index(void);

#ifdef __cplusplus
}
#endif

#endif
