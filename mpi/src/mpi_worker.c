/* A worker rank: serves the root's pools, one after another, until the
 * root says to end (mproc_mpi_init never returns here).
 *
 * Each pool message goes to mproc_pool_worker_handle and its reply back to
 * the root. A pool is known by its epoch: the first message of a new one
 * (its INIT) starts it over. While a task runs, a thread sends a heartbeat
 * so the root can tell a long task from a stopped rank.
 *
 * At most once: the root may retire this worker while it is inside a long
 * task (or stopped), and hand what it sent here and was not begun to
 * other workers. So a task the root sent while this worker was busy
 * (QUEUED) is begun only with the root's leave: this worker asks (ASK,
 * its number in the pool) and the root answers yes or no (ANSWER: the
 * last task it may begin; 0 once retired). The root counts what it
 * allowed as begun, and fails it on a retirement rather than moving it. A task sent while this
 * worker was idle (TASK) the root counts as begun from the start. None of
 * it depends on when a message arrives. SKIP (drop the first n of the
 * pool) only saves asking once the root has said it. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mpi_internal.h"

static atomic_int in_task = 0, beating = 0;
static atomic_uint beat_epoch = 0;
static int beat_root;

static void *heartbeat(void *arg) {
  (void)arg;
  int ms = mproc__mpi.o.heartbeat_ms;
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  while (atomic_load(&beating)) {
    nanosleep(&ts, NULL);
    if (atomic_load(&in_task) && atomic_load(&beating))
      MPI_Send(NULL, 0, MPI_BYTE, beat_root, mpi_tag(KIND_BEAT, atomic_load(&beat_epoch)),
               mproc__mpi.comm);
  }
  return NULL;
}

/* Asks the root whether task n of epoch may begin: the last task number
 * it may begin (0: none, retired), or -1 when the job ends or another pool
 * begins first (the loop takes that next). */
static int64_t ask(int root, unsigned epoch, uint64_t n) {
  unsigned char q[8];
  mpi_put_u64(q, n);
  if (mproc__mpi_send(root, KIND_ASK, epoch, q, sizeof q, true) != 0)
    return -1;
  long pause_us = 0;
  for (;;) {
    int flag = 0;
    MPI_Status st;
    MPI_Iprobe(root, mpi_tag(KIND_ANSWER, epoch), mproc__mpi.comm, &flag, MPI_STATUS_IGNORE);
    if (flag) {
      unsigned char a[8] = {0};
      MPI_Recv(a, 8, MPI_BYTE, root, mpi_tag(KIND_ANSWER, epoch), mproc__mpi.comm,
               MPI_STATUS_IGNORE);
      return (int64_t)mpi_get_u64(a);
    }
    MPI_Iprobe(root, mpi_tag(KIND_END, 0), mproc__mpi.comm, &flag, MPI_STATUS_IGNORE);
    if (flag)
      return -1;
    /* The next message in line belongs to another pool: this one is over. */
    MPI_Iprobe(root, MPI_ANY_TAG, mproc__mpi.comm, &flag, &st);
    if (flag && (unsigned)st.MPI_TAG >> KIND_BITS != (epoch & EPOCH_MASK))
      return -1;
    pause_us = pause_us ? (pause_us < 1000 ? pause_us * 2 : 1000) : 10;
    struct timespec ts = {0, pause_us * 1000};
    nanosleep(&ts, NULL);
  }
}

/* Looks for SKIPs of epoch that have arrived: the most of the pool's
 * messages to drop. */
static uint64_t skips_arrived(int root, unsigned epoch, uint64_t skip) {
  for (int flag = 1; flag;) {
    MPI_Iprobe(root, mpi_tag(KIND_SKIP, epoch), mproc__mpi.comm, &flag, MPI_STATUS_IGNORE);
    unsigned char n[8];
    if (flag &&
        MPI_Recv(n, 8, MPI_BYTE, root, mpi_tag(KIND_SKIP, epoch), mproc__mpi.comm,
                 MPI_STATUS_IGNORE) == MPI_SUCCESS &&
        mpi_get_u64(n) > skip)
      skip = mpi_get_u64(n);
  }
  return skip;
}

_Noreturn static void end_worker(int root, bool beats, pthread_t beat_thread) {
  if (beats) {
    atomic_store(&beating, 0);
    pthread_join(beat_thread, NULL);
  }
  MPI_Send(NULL, 0, MPI_BYTE, root, mpi_tag(KIND_END, 0), mproc__mpi.comm);
  if (mproc__mpi.spawned)
    MPI_Comm_disconnect(&mproc__mpi.comm);
  else
    MPI_Comm_free(&mproc__mpi.comm);
  MPI_Finalize();
  exit(0);
}

static void fail_hard(const char *why) {
  fprintf(stderr, "mproc mpi worker (rank %d): %s\n", mproc__mpi.world_rank, why);
  MPI_Abort(MPI_COMM_WORLD, 70);
}

/* Says hello: where this worker runs and its pid, for the root's names. */
static void say_hello(int root) {
  char hello[MPI_MAX_PROCESSOR_NAME + 9] = "";
  int hlen = 0;
  MPI_Get_processor_name(hello, &hlen);
  size_t n = strlen(hello) + 1;
  mpi_put_u64((unsigned char *)hello + n, (uint64_t)getpid());
  MPI_Send(hello, (int)(n + 8), MPI_BYTE, root, mpi_tag(KIND_HELLO, 0), mproc__mpi.comm);
}

_Noreturn void mproc__mpi_serve(int root) {
  say_hello(root);
  pthread_t beat_thread;
  beat_root = root;
  bool beats = mproc__mpi.o.heartbeat_ms > 0 && mproc__mpi.thread_level == MPI_THREAD_MULTIPLE;
  if (beats) {
    atomic_store(&beating, 1);
    if (pthread_create(&beat_thread, NULL, heartbeat, NULL) != 0) {
      atomic_store(&beating, 0);
      beats = false;
    }
  }
  unsigned epoch = (unsigned)-1;
  uint64_t got = 0, skip = 0, allowed = 0;
  for (;;) {
    int kind, from;
    unsigned ep;
    void *buf;
    size_t len;
    int rc = mproc__mpi_take(root, &kind, &ep, &from, &buf, &len);
    if (rc == 0) {
      mproc__mpi_await(root, NULL, 0);
      continue;
    }
    if (rc < 0)
      fail_hard(mproc_last_error_detail());
    if (kind == KIND_END) {
      free(buf);
      end_worker(root, beats, beat_thread);
    }
    if (kind == KIND_SKIP) {
      if ((ep & EPOCH_MASK) == (epoch & EPOCH_MASK) && len >= 8 && mpi_get_u64(buf) > skip)
        skip = mpi_get_u64(buf);
      free(buf);
      continue;
    }
    if (kind != KIND_TASK && kind != KIND_QUEUED) {
      free(buf); /* a late ANSWER of a pool that is over */
      continue;
    }
    if (ep != epoch) {
      epoch = ep; /* a new pool */
      got = skip = allowed = 0;
      atomic_store(&beat_epoch, ep);
    }
    got++;
    if (kind == KIND_TASK && got > allowed)
      allowed = got; /* sent while this worker was idle: begun, to the root */
    /* A SKIP sent before this task overtakes it here: tags differ. */
    skip = skips_arrived(root, epoch, skip);
    if (got > skip && got > allowed) {
      int64_t upto = ask(root, epoch, got);
      if (upto > 0)
        allowed = (uint64_t)upto;
      else
        skip = UINT64_MAX; /* retired, or the pool is over: drop the rest of it */
    }
    if (got <= skip) {
      free(buf);
      continue;
    }
    void *reply = NULL;
    size_t rlen = 0;
    atomic_store(&in_task, 1);
    rc = mproc_pool_worker_handle(buf, len, &reply, &rlen);
    atomic_store(&in_task, 0);
    free(buf);
    if (rc < 0)
      fprintf(stderr, "mproc mpi worker (rank %d): %s\n", mproc__mpi.world_rank,
              mproc_last_error_detail());
    if (reply && mproc__mpi_send(root, KIND_REPLY, epoch, reply, rlen, true) != 0)
      fail_hard(mproc_last_error_detail());
    mproc_free(reply);
  }
}
