/* A worker rank: serves the root's pools, one after another, until the
 * root says to end (mproc_mpi_init never returns here).
 *
 * Each pool message goes to mproc_pool_worker_handle and its reply back to
 * the root. A pool is known by its epoch: the first message of a new one
 * (its INIT) starts it over. The root may retire this worker while it is
 * inside a long task; it then says how many of the pool's messages to drop
 * (SKIP), which is looked at before each task, so a task handed to other
 * workers meanwhile never runs twice. While a task runs, a thread sends a
 * heartbeat so the root can tell a long task from a stopped rank. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

_Noreturn void mproc__mpi_serve(int root) {
  /* Say where this worker runs: the root names it so in messages. */
  char host[MPI_MAX_PROCESSOR_NAME] = "";
  int hlen = 0;
  MPI_Get_processor_name(host, &hlen);
  MPI_Send(host, (int)strlen(host) + 1, MPI_BYTE, root, mpi_tag(KIND_HELLO, 0), mproc__mpi.comm);

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
  uint64_t got = 0, skip = 0;
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
    if (rc < 0) {
      fprintf(stderr, "mproc mpi worker (rank %d): %s\n", mproc__mpi.world_rank,
              mproc_last_error_detail());
      MPI_Abort(MPI_COMM_WORLD, 70);
    }
    if (kind == KIND_END) {
      free(buf);
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
    if (kind == KIND_SKIP) {
      if ((ep & EPOCH_MASK) == (epoch & EPOCH_MASK) && len >= 8 && mpi_get_u64(buf) > skip)
        skip = mpi_get_u64(buf);
      free(buf);
      continue;
    }
    if (kind != KIND_TASK) {
      free(buf);
      continue;
    }
    if (ep != epoch) {
      epoch = ep; /* a new pool */
      got = skip = 0;
      atomic_store(&beat_epoch, ep);
    }
    got++;
    /* A SKIP sent before this task overtakes it here: tags differ. */
    for (int flag = 1; flag;) {
      MPI_Iprobe(root, mpi_tag(KIND_SKIP, epoch), mproc__mpi.comm, &flag, MPI_STATUS_IGNORE);
      unsigned char n[8];
      if (flag &&
          MPI_Recv(n, 8, MPI_BYTE, root, mpi_tag(KIND_SKIP, epoch), mproc__mpi.comm,
                   MPI_STATUS_IGNORE) == MPI_SUCCESS &&
          mpi_get_u64(n) > skip)
        skip = mpi_get_u64(n);
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
    if (reply && mproc__mpi_send(root, KIND_REPLY, epoch, reply, rlen, true) != 0) {
      fprintf(stderr, "mproc mpi worker (rank %d): %s\n", mproc__mpi.world_rank,
              mproc_last_error_detail());
      MPI_Abort(MPI_COMM_WORLD, 70);
    }
    mproc_free(reply);
  }
}
