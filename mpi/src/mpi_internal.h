/* What the files of mproc::mpi share: the one MPI state of this process,
 * the message kinds, and the wire helpers (mpi_wire.c). */
#ifndef MPROC_MPI_INTERNAL_H
#define MPROC_MPI_INTERNAL_H

#include <mpi.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "mproc/error.h"
#include "mproc/mpi.h"

/* A message's kind is in its tag's low bits, the pool it belongs to (its
 * epoch) above them, so that a late reply of a pool that is gone is known
 * and dropped. 11 bits of epoch keep every tag under 32767, the least
 * MPI_TAG_UB an MPI may have. */
enum {
  KIND_HELLO = 0, /* worker -> root, at init: its host name, NUL, u64 pid */
  KIND_TASK = 1,  /* root -> worker: a pool message (pool_backend.h), sent
                     while the worker was idle: it may begin it */
  KIND_REPLY = 2, /* worker -> root: the reply */
  KIND_SKIP = 3,  /* root -> worker: drop the first n tasks of this pool (u64 n) */
  KIND_BEAT = 4,  /* worker -> root: still running a task */
  KIND_BIG = 5,   /* a message in pieces: (u64 length, u32 kind), then the pieces */
  KIND_PIECE = 6,
  KIND_END = 7,     /* root -> worker: finish (epoch 0); worker -> root: done */
  KIND_QUEUED = 8,  /* root -> worker: a pool message sent while it was busy:
                       it asks before it begins it */
  KIND_ASK = 9,     /* worker -> root: may task n of this pool begin? (u64 n) */
  KIND_ANSWER = 10, /* root -> worker: tasks up to u64 m may begin (0: none) */
  KIND_BITS = 4,
  EPOCH_MASK = 0x7FF
};

/* Little-endian u64s in the headers of SKIP and BIG messages. */
static inline void mpi_put_u64(unsigned char *p, uint64_t v) {
  for (int i = 0; i < 8; i++)
    p[i] = (unsigned char)(v >> (8 * i));
}

static inline uint64_t mpi_get_u64(const unsigned char *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++)
    v |= (uint64_t)p[i] << (8 * i);
  return v;
}

static inline int mpi_tag(int kind, unsigned epoch) {
  return kind | (int)((epoch & EPOCH_MASK) << KIND_BITS);
}

/* A message this process sent and MPI may still be sending. */
typedef struct pending_send {
  struct pending_send *next;
  MPI_Request *reqs;
  int nreqs;
  void *buf;
} pending_send_t;

typedef struct {
  bool inited, own_mpi, finalized;
  bool spawned; /* the workers are spawned: comm is the intercommunicator */
  mproc_mpi_opts_t o;
  MPI_Comm comm; /* a duplicate of MPI_COMM_WORLD, or the intercommunicator */
  int world_rank, world_size;
  int thread_level;
  /* The root's side. */
  int nworkers;
  int *worker_rank; /* worker i's rank in comm */
  char (*host)[64]; /* worker i's host */
  bool pool_open;
  unsigned epoch;
  uint64_t *sent;       /* task messages sent to worker i in this pool */
  uint64_t *replied;    /* replies of worker i in this pool */
  uint64_t *allowed;    /* the messages worker i may have begun (their count) */
  bool *retired;        /* worker i was retired from this pool */
  int64_t *pid;         /* worker i's pid on its host */
  double *last_heard;   /* MPI_Wtime of worker i's last message */
  double *last_sent;    /* and of the last one sent to it */
  double last_activity; /* of the last message either way (the spin) */
  atomic_int woken;
  pending_send_t *pending;
} mproc__mpi_state_t;

extern mproc__mpi_state_t mproc__mpi;

/* Sends len bytes of buf (pieces when over piece_bytes). blocking: waits
 * until buf may be reused; else copies buf and leaves the send pending
 * (mproc__mpi_progress completes it). Returns 0 or MPROC_ESYS. */
int mproc__mpi_send(int dest, int kind, unsigned epoch, const void *buf, size_t len, bool blocking);
/* Completes pending sends that can complete, without waiting. */
void mproc__mpi_progress(void);
/* Takes a message from source (MPI_ANY_SOURCE) if one has arrived: 1 with
 * *kind, *epoch, *from, *buf (malloc'd, with a spare zero byte) and *len;
 * 0 when none; MPROC_ESYS or MPROC_ENOMEM. */
int mproc__mpi_take(int source, int *kind, unsigned *epoch, int *from, void **buf, size_t *len);
/* Polls until a message from source is there, woken is set (NULL: never),
 * or deadline (MPI_Wtime; <= 0: none) passes. Polls without pause for
 * spin_us after the last activity, then sleeps between polls, longer
 * each time up to max_sleep_us. */
void mproc__mpi_await(int source, atomic_int *woken, double deadline);
/* The message MPI gives for code. */
const char *mproc__mpi_strerror(int code, char *buf, int cap);
/* Records an MPI failure as this thread's error. */
int mproc__mpi_fail(int code, const char *what);

/* mpi_worker.c: serves pools until the root says to end; never returns. */
_Noreturn void mproc__mpi_serve(int root);

#endif
