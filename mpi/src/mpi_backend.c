/* The root's side of a pool whose workers are ranks: the pool backend
 * (pool_backend.h). Only the pool's thread calls it, but for wake, so
 * MPI_THREAD_SERIALIZED is enough here.
 *
 * At most once (see mpi_worker.c): a message sent to an idle worker is
 * begun at once; one sent to a busy worker is begun only when this side
 * allows it, which it never does once the worker is retired. So forget
 * knows exactly what the worker may have begun. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpi_internal.h"

/* Worker i's index from its rank in comm; -1 for none. */
static int worker_of(int rank) {
  for (int i = 0; i < mproc__mpi.nworkers; i++)
    if (mproc__mpi.worker_rank[i] == rank)
      return i;
  return -1;
}

static int be_open(void *ctx, int *workers) {
  (void)ctx;
  if (!mproc__mpi.inited || mproc__mpi.finalized)
    return mproc_set_error(MPROC_ESTATE, "mpi pool: call mproc_mpi_init first");
  if (mproc__mpi.pool_open)
    return mproc_set_error(MPROC_ESTATE, "mpi pool: another pool uses the ranks (free it first)");
  if (mproc__mpi.nworkers == 0)
    return mproc_set_error(MPROC_EINVAL, "mpi pool: no worker ranks: run with mpirun -n N (N > 1) "
                                         "or set mproc_mpi_opts_t.spawn_workers");
  /* Epoch 0 is for messages outside pools. */
  mproc__mpi.epoch = (mproc__mpi.epoch + 1) & EPOCH_MASK;
  if (mproc__mpi.epoch == 0)
    mproc__mpi.epoch = 1;
  double now = MPI_Wtime();
  for (int i = 0; i < mproc__mpi.nworkers; i++) {
    mproc__mpi.sent[i] = mproc__mpi.replied[i] = mproc__mpi.allowed[i] = 0;
    mproc__mpi.retired[i] = false;
    mproc__mpi.last_heard[i] = mproc__mpi.last_sent[i] = now;
  }
  atomic_store(&mproc__mpi.woken, 0);
  mproc__mpi.pool_open = true;
  *workers = mproc__mpi.nworkers;
  return 0;
}

static int be_send(void *ctx, int worker, const void *msg, size_t len) {
  (void)ctx;
  if (worker < 0 || worker >= mproc__mpi.nworkers)
    return mproc_set_error(MPROC_EINVAL, "mpi pool: no worker %d", worker);
  /* Idle (it answered all it was sent): it begins this at once. */
  bool idle = mproc__mpi.replied[worker] == mproc__mpi.sent[worker];
  int rc = mproc__mpi_send(mproc__mpi.worker_rank[worker], idle ? KIND_TASK : KIND_QUEUED,
                           mproc__mpi.epoch, msg, len, false);
  if (!rc) {
    mproc__mpi.sent[worker]++;
    if (idle)
      mproc__mpi.allowed[worker] = mproc__mpi.sent[worker];
    mproc__mpi.last_sent[worker] = mproc__mpi.last_activity = MPI_Wtime();
  }
  return rc;
}

/* Answers worker i's question whether task n of epoch may begin: yes,
 * unless the worker is retired or the pool is another. Only that task: a
 * task allowed ahead would fail on a retirement though it never ran. */
static void answer(int i, unsigned epoch, const void *q, size_t n) {
  uint64_t upto = 0;
  if (epoch == mproc__mpi.epoch && mproc__mpi.pool_open && !mproc__mpi.retired[i] && n >= 8) {
    uint64_t asked = mpi_get_u64(q);
    upto = asked < mproc__mpi.sent[i] ? asked : mproc__mpi.sent[i];
    if (upto > mproc__mpi.allowed[i])
      mproc__mpi.allowed[i] = upto;
  }
  unsigned char a[8];
  mpi_put_u64(a, upto);
  mproc__mpi_send(mproc__mpi.worker_rank[i], KIND_ANSWER, epoch, a, sizeof a, false);
}

static int be_poll(void *ctx, int *worker, void **msg, size_t *len) {
  (void)ctx;
  mproc__mpi_progress();
  for (;;) {
    int kind, from;
    unsigned epoch;
    void *buf;
    size_t n;
    int rc = mproc__mpi_take(MPI_ANY_SOURCE, &kind, &epoch, &from, &buf, &n);
    if (rc <= 0)
      return rc;
    int i = worker_of(from);
    if (i >= 0)
      mproc__mpi.last_heard[i] = MPI_Wtime();
    if (kind == KIND_ASK && i >= 0)
      answer(i, epoch, buf, n);
    /* Heartbeats only keep a worker alive; replies of a pool that is gone
     * (a retired worker's late one) are dropped. */
    if (kind != KIND_REPLY || epoch != mproc__mpi.epoch || i < 0) {
      free(buf);
      continue;
    }
    mproc__mpi.replied[i]++;
    *worker = i;
    *msg = buf;
    *len = n;
    return 1;
  }
}

static void be_wait(void *ctx, int timeout_ms) {
  (void)ctx;
  double deadline = timeout_ms < 0 ? 0 : MPI_Wtime() + timeout_ms / 1000.0 + 1e-9;
  mproc__mpi_await(MPI_ANY_SOURCE, &mproc__mpi.woken, deadline);
}

static void be_wake(void *ctx) {
  (void)ctx;
  atomic_store(&mproc__mpi.woken, 1);
}

static int be_alive(void *ctx, int worker) {
  (void)ctx;
  int hb = mproc__mpi.o.heartbeat_ms;
  if (hb <= 0 || mproc__mpi.thread_level != MPI_THREAD_MULTIPLE || worker < 0 ||
      worker >= mproc__mpi.nworkers)
    return 1;
  double last = mproc__mpi.last_heard[worker] > mproc__mpi.last_sent[worker]
                    ? mproc__mpi.last_heard[worker]
                    : mproc__mpi.last_sent[worker];
  return (MPI_Wtime() - last) * 1000.0 < 3.0 * hb;
}

static int be_forget(void *ctx, int worker) {
  (void)ctx;
  if (worker < 0 || worker >= mproc__mpi.nworkers)
    return 0;
  mproc__mpi.retired[worker] = true; /* from now on every ask is answered no */
  unsigned char n[8];
  mpi_put_u64(n, mproc__mpi.sent[worker]);
  mproc__mpi_send(mproc__mpi.worker_rank[worker], KIND_SKIP, mproc__mpi.epoch, n, sizeof n, false);
  uint64_t begun = mproc__mpi.allowed[worker] > mproc__mpi.replied[worker]
                       ? mproc__mpi.allowed[worker] - mproc__mpi.replied[worker]
                       : 0;
  return begun > INT32_MAX ? INT32_MAX : (int)begun;
}

static void be_close(void *ctx) {
  (void)ctx;
  mproc__mpi.pool_open = false;
}

static void be_describe(void *ctx, int worker, char *buf, size_t cap) {
  (void)ctx;
  if (worker < 0 || worker >= mproc__mpi.nworkers)
    snprintf(buf, cap, "MPI worker %d", worker);
  else if (mproc__mpi.spawned)
    snprintf(buf, cap, "spawned MPI worker %d on %s (pid %lld)", worker, mproc__mpi.host[worker],
             (long long)mproc__mpi.pid[worker]);
  else
    snprintf(buf, cap, "MPI rank %d on %s (pid %lld)", mproc__mpi.worker_rank[worker],
             mproc__mpi.host[worker], (long long)mproc__mpi.pid[worker]);
}

static int64_t be_pid(void *ctx, int worker) {
  (void)ctx;
  return worker < 0 || worker >= mproc__mpi.nworkers ? 0 : mproc__mpi.pid[worker];
}

static const mproc_pool_backend_t backend = {
    .name = "MPI",
    .ctx = NULL,
    .open = be_open,
    .send = be_send,
    .poll = be_poll,
    .wait = be_wait,
    .wake = be_wake,
    .alive = be_alive,
    .forget = be_forget,
    .close = be_close,
    .describe = be_describe,
    .pid = be_pid,
};

const mproc_pool_backend_t *mproc_mpi_pool_backend(void) { return &backend; }
