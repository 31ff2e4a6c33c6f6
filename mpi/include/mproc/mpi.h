/* mproc::mpi — the pool's workers as MPI ranks, across machines (see
 * docs/mpi.md). A separate library (built with -DMPROC_WITH_MPI=ON, target
 * mproc::mpi): the core never depends on MPI.
 *
 *   int main(int argc, char **argv) {
 *     if (mproc_mpi_init(&argc, &argv, NULL) != 0) return 1;  // workers stay inside
 *     mproc_pool_t *pool;
 *     mproc_pool_new(&pool, &(mproc_pool_opts_t){.backend = mproc_mpi_pool_backend()});
 *     ... mproc_pool_map(pool, ...) ...
 *     mproc_pool_free(pool);
 *     return mproc_mpi_finalize();
 *   }
 *
 * run as `mpirun -n 4 ./app` (world mode: three workers), or as ./app with
 * opts.spawn_workers (spawn mode: MPI_Comm_spawn; Open MPI). Tasks,
 * arguments and results are the pool's own; a task's function is found on
 * every rank by its module's build id and offset, as across exec, so every
 * rank must run the same build of the program. IPC objects cannot cross
 * to another machine (MPROC_ENOTSUP).
 *
 * Failures: a task past its time limit fails with MPROC_ETASKTIMEOUT and a
 * rank that stops sending heartbeats fails its task with
 * MPROC_EWORKERDIED; either rank is retired for the rest of that pool
 * (ranks cannot be killed or replaced). A rank that dies ends the whole
 * job under an MPI without fault tolerance (Open MPI 4 and MPICH 4 as
 * Debian ships them): mpirun aborts every rank - nothing hangs.
 *
 * Platform: POSIX systems with an MPI implementing MPI-3 (Open MPI,
 * MPICH). */
#ifndef MPROC_MPI_H
#define MPROC_MPI_H

#include <stddef.h>

#include <mproc/pool_backend.h>

#if defined(_WIN32) || defined(__CYGWIN__)
#  if defined(MPROC_MPI_STATIC)
#    define MPROC_MPI_API
#  elif defined(MPROC_MPI_BUILDING)
#    define MPROC_MPI_API __declspec(dllexport)
#  else
#    define MPROC_MPI_API __declspec(dllimport)
#  endif
#elif defined(__GNUC__)
#  define MPROC_MPI_API __attribute__((visibility("default")))
#else
#  define MPROC_MPI_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Options of mproc_mpi_init; all zero means the defaults. */
typedef struct {
  int root;                /* the rank that returns and runs the program; 0 */
  int spawn_workers;       /* 0: world mode (the other ranks are the workers);
                              n: start n workers with MPI_Comm_spawn (from a
                              world of one process) */
  const char *spawn_info;  /* spawn mode: "key=value;key=value" MPI_Info hints
                              ("host=a,b", "hostfile=/path", "add-hostfile=..."); NULL: none */
  int heartbeat_ms;        /* a worker running a task says so this often; silent for 3 times
                              as long, it is retired (MPROC_EWORKERDIED); 0: 1000; -1: none */
  int spin_us;             /* after a message, poll this long before sleeping; 0: 1000;
                              -1: poll and never sleep (a core per rank, lowest latency) */
  int max_sleep_us;        /* the longest sleep between polls when idle; 0: 1000 */
  int finalize_timeout_ms; /* how long mproc_mpi_finalize waits for the workers; 0: 10000 */
  size_t piece_bytes;      /* the largest single MPI message; larger ones go in pieces;
                              0: 1 GiB (MPI counts are int) */
  /* For options of later versions: leave zero (else MPROC_EINVAL). */
  uint64_t reserved[4];
} mproc_mpi_opts_t;

/* Starts MPI (MPI_Init_thread, asking for MPI_THREAD_MULTIPLE) and the
 * pool workers. Call it first in main, before anything else that uses
 * MPI. On the root rank (world mode) or the process that spawns (spawn
 * mode) it returns 0. On every other rank, and in every spawned process,
 * it never returns: the rank serves the pools the root makes, and when
 * the root calls mproc_mpi_finalize (or exits), it finalizes MPI and
 * exits with status 0 - the same contract as mproc_main_guard, which it
 * calls first (a process this program spawned itself, for a local pool,
 * runs its target and never starts MPI).
 * Params: argc, argv — main's (passed to MPI_Init_thread; NULL allowed);
 *   opts — NULL for the defaults.
 * Returns: 0 on the root.
 * Errors: MPROC_ESTATE (called twice), MPROC_EINVAL (root outside the
 *   world, spawn_workers negative or with a world of more than one
 *   process, a malformed spawn_info), MPROC_ENOTSUP (the MPI provides less
 *   than MPI_THREAD_SERIALIZED), MPROC_ECHILD (MPI_Comm_spawn failed: the
 *   detail has MPI's message), MPROC_ESYS (MPI failed). */
MPROC_MPI_API int mproc_mpi_init(int *argc, char ***argv, const mproc_mpi_opts_t *opts);

/* The backend to put in mproc_pool_opts_t.backend: a pool whose workers
 * are the ranks (processes 0: all of them). One pool at a time.
 * Returns: the backend (never NULL; a pool made with it before
 *   mproc_mpi_init fails with MPROC_ESTATE). */
MPROC_MPI_API const mproc_pool_backend_t *mproc_mpi_pool_backend(void);

/* How many workers a pool can have: the ranks other than the root, or
 * the spawned processes.
 * Returns: the count; 0 before mproc_mpi_init.
 * Errors: none. */
MPROC_MPI_API int mproc_mpi_workers(void);

/* This process's rank in MPI_COMM_WORLD.
 * Returns: the rank; -1 before mproc_mpi_init.
 * Errors: none. */
MPROC_MPI_API int mproc_mpi_rank(void);

/* The number of processes in MPI_COMM_WORLD.
 * Returns: the size; 0 before mproc_mpi_init.
 * Errors: none. */
MPROC_MPI_API int mproc_mpi_size(void);

/* On the root, after its last pool is freed: tells every worker to
 * finish, waits up to opts.finalize_timeout_ms for them (a worker still
 * inside a task it was retired for may never answer), and finalizes MPI -
 * or, when a worker did not answer in time, says so on stderr and calls
 * MPI_Abort, since MPI_Finalize would wait for it for ever. Registered
 * with atexit too, so a root that returns from main without it still
 * ends the job.
 * Returns: 0.
 * Errors: MPROC_ESTATE (not initialized, or a pool is still open). */
MPROC_MPI_API int mproc_mpi_finalize(void);

#ifdef __cplusplus
}
#endif

#endif
