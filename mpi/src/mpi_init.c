/* Starting and ending mproc::mpi: MPI itself, the workers (world or
 * spawned), and the end of the job, which must never hang. */
#define _XOPEN_SOURCE 700
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mpi_internal.h"
#include "mproc/process.h"

mproc__mpi_state_t mproc__mpi = {.world_rank = -1};

int mproc_mpi_rank(void) { return mproc__mpi.inited ? mproc__mpi.world_rank : -1; }
int mproc_mpi_size(void) { return mproc__mpi.inited ? mproc__mpi.world_size : 0; }
int mproc_mpi_workers(void) { return mproc__mpi.inited ? mproc__mpi.nworkers : 0; }

/* "key=value;key=value" as an MPI_Info. */
static int parse_info(const char *spec, MPI_Info *info) {
  *info = MPI_INFO_NULL;
  if (!spec || !*spec)
    return 0;
  MPI_Info_create(info);
  char *copy = strdup(spec);
  if (!copy)
    return mproc_set_error(MPROC_ENOMEM, "mpi_init: out of memory");
  int rc = 0;
  char *save = NULL;
  for (char *kv = strtok_r(copy, ";", &save); kv && !rc; kv = strtok_r(NULL, ";", &save)) {
    char *eq = strchr(kv, '=');
    if (!eq || eq == kv) {
      rc = mproc_set_error(MPROC_EINVAL, "mpi_init: spawn_info \"%s\": \"%s\" is not key=value",
                           spec, kv);
      break;
    }
    *eq = '\0';
    MPI_Info_set(*info, kv, eq + 1);
  }
  free(copy);
  if (rc)
    MPI_Info_free(info);
  return rc;
}

static int spawn_workers(int n, char ***argv) {
  char exe[4096];
  ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (len > 0)
    exe[len] = '\0';
  bool found = len > 0 || (argv && *argv && (*argv)[0] && realpath((*argv)[0], exe));
  if (!found)
    return mproc_set_error(MPROC_ECHILD, "mpi_init: cannot tell this program's path to spawn it");
  MPI_Info info;
  int rc = parse_info(mproc__mpi.o.spawn_info, &info);
  if (rc)
    return rc;
  int *errcodes = calloc((size_t)n, sizeof *errcodes);
  if (!errcodes)
    return mproc_set_error(MPROC_ENOMEM, "mpi_init: out of memory");
  /* A failed spawn is an error to report, not the end of the job. */
  MPI_Comm_set_errhandler(MPI_COMM_SELF, MPI_ERRORS_RETURN);
  int mrc =
      MPI_Comm_spawn(exe, MPI_ARGV_NULL, n, info, 0, MPI_COMM_SELF, &mproc__mpi.comm, errcodes);
  MPI_Comm_set_errhandler(MPI_COMM_SELF, MPI_ERRORS_ARE_FATAL);
  if (info != MPI_INFO_NULL)
    MPI_Info_free(&info);
  free(errcodes);
  if (mrc != MPI_SUCCESS) {
    char msg[MPI_MAX_ERROR_STRING], lib[MPI_MAX_LIBRARY_VERSION_STRING] = "";
    int lib_len = 0;
    MPI_Get_library_version(lib, &lib_len);
    bool open_mpi = strstr(lib, "Open MPI") != NULL;
    return mproc_set_error(MPROC_ECHILD,
                           "mpi_init: MPI_Comm_spawn of %d workers (%s) failed: %s (%s)", n, exe,
                           mproc__mpi_strerror(mrc, msg, sizeof msg),
                           open_mpi ? "Open MPI needs free slots: --oversubscribe or a hostfile"
                                    : "this MPI may not spawn here (MPICH 4.0 does not): run in "
                                      "world mode, mpiexec -n N");
  }
  mproc__mpi.spawned = true;
  return 0;
}

/* The workers' ranks, and their hosts (each says hello). */
static int meet_workers(int n, int root) {
  mproc__mpi.nworkers = n;
  mproc__mpi.worker_rank = calloc((size_t)n + 1, sizeof *mproc__mpi.worker_rank);
  mproc__mpi.host = calloc((size_t)n + 1, sizeof *mproc__mpi.host);
  mproc__mpi.sent = calloc((size_t)n + 1, sizeof *mproc__mpi.sent);
  mproc__mpi.last_heard = calloc((size_t)n + 1, sizeof *mproc__mpi.last_heard);
  mproc__mpi.last_sent = calloc((size_t)n + 1, sizeof *mproc__mpi.last_sent);
  mproc__mpi.replied = calloc((size_t)n + 1, sizeof *mproc__mpi.replied);
  mproc__mpi.allowed = calloc((size_t)n + 1, sizeof *mproc__mpi.allowed);
  mproc__mpi.retired = calloc((size_t)n + 1, sizeof *mproc__mpi.retired);
  mproc__mpi.pid = calloc((size_t)n + 1, sizeof *mproc__mpi.pid);
  if (!mproc__mpi.worker_rank || !mproc__mpi.host || !mproc__mpi.sent || !mproc__mpi.last_heard ||
      !mproc__mpi.last_sent || !mproc__mpi.replied || !mproc__mpi.allowed || !mproc__mpi.retired ||
      !mproc__mpi.pid)
    return mproc_set_error(MPROC_ENOMEM, "mpi_init: out of memory");
  for (int r = 0, i = 0; i < n; r++)
    if (mproc__mpi.spawned || r != root)
      mproc__mpi.worker_rank[i++] = r;
  for (int k = 0; k < n; k++) {
    /* host, NUL, u64 pid */
    char hello[MPI_MAX_PROCESSOR_NAME + 10] = "";
    MPI_Status st;
    int rc = MPI_Recv(hello, MPI_MAX_PROCESSOR_NAME + 9, MPI_BYTE, MPI_ANY_SOURCE,
                      mpi_tag(KIND_HELLO, 0), mproc__mpi.comm, &st);
    if (rc != MPI_SUCCESS)
      return mproc__mpi_fail(rc, "init: hear from the workers");
    int count = 0;
    MPI_Get_count(&st, MPI_BYTE, &count);
    size_t hlen = strnlen(hello, MPI_MAX_PROCESSOR_NAME);
    int64_t pid = count >= 0 && (size_t)count >= hlen + 9
                      ? (int64_t)mpi_get_u64((unsigned char *)hello + hlen + 1)
                      : 0;
    for (int i = 0; i < n; i++)
      if (mproc__mpi.worker_rank[i] == st.MPI_SOURCE) {
        snprintf(mproc__mpi.host[i], sizeof mproc__mpi.host[i], "%.63s", hello);
        mproc__mpi.pid[i] = pid;
      }
  }
  return 0;
}

/* The root's pid: a child forked from it (a local pool's worker under the
 * fork start method) inherits at_exit, but must never touch MPI. */
static pid_t root_pid;

static void at_exit(void) {
  if (!mproc__mpi.inited || mproc__mpi.finalized || getpid() != root_pid)
    return;
  if (mproc__mpi.pool_open) {
    fprintf(stderr, "mproc: the program exits with an MPI pool still open; ending the job\n");
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  mproc_mpi_finalize();
}

int mproc_mpi_init(int *argc, char ***argv, const mproc_mpi_opts_t *opts) {
  if (mproc__mpi.inited)
    return mproc_set_error(MPROC_ESTATE, "mpi_init: called twice");
  /* A child this program spawned itself (a local pool's worker) must
   * never start MPI: it is not one of the job's ranks. */
  if (argc && argv)
    mproc_main_guard(*argc, *argv);
  mproc_mpi_opts_t o = opts ? *opts : (mproc_mpi_opts_t){0};
  for (size_t i = 0; i < sizeof o.reserved / sizeof o.reserved[0]; i++)
    if (o.reserved[i])
      return mproc_set_error(MPROC_EINVAL,
                             "mpi_init: opts.reserved[%zu] is not zero: an option "
                             "this library does not know, or options left uninitialised",
                             i);
  if (o.spawn_workers < 0 || o.root < 0 || o.finalize_timeout_ms < 0 || o.max_sleep_us < 0)
    return mproc_set_error(MPROC_EINVAL, "mpi_init: root, spawn_workers, finalize_timeout_ms "
                                         "and max_sleep_us may not be negative");
  o.heartbeat_ms = o.heartbeat_ms == 0 ? 1000 : o.heartbeat_ms < 0 ? 0 : o.heartbeat_ms;
  if (o.finalize_timeout_ms == 0)
    o.finalize_timeout_ms = 10000;
  mproc__mpi.o = o;
  int initialized = 0, provided = 0, rc;
  MPI_Initialized(&initialized);
  if (!initialized) {
    if ((rc = MPI_Init_thread(argc, argv, MPI_THREAD_MULTIPLE, &provided)) != MPI_SUCCESS)
      return mproc__mpi_fail(rc, "MPI_Init_thread");
    mproc__mpi.own_mpi = true;
  } else {
    MPI_Query_thread(&provided);
  }
  mproc__mpi.thread_level = provided;
  MPI_Comm_rank(MPI_COMM_WORLD, &mproc__mpi.world_rank);
  MPI_Comm_size(MPI_COMM_WORLD, &mproc__mpi.world_size);
  if (provided < MPI_THREAD_SERIALIZED)
    return mproc_set_error(MPROC_ENOTSUP,
                           "mpi_init: the MPI gives thread level %d; the pool's "
                           "thread needs MPI_THREAD_SERIALIZED at least",
                           provided);
  MPI_Comm parent = MPI_COMM_NULL;
  MPI_Comm_get_parent(&parent);
  if (parent != MPI_COMM_NULL) {
    /* Started by a root's MPI_Comm_spawn: a worker from here on. */
    mproc__mpi.comm = parent;
    mproc__mpi.spawned = true;
    mproc__mpi.inited = true;
    mproc__mpi_serve(0);
  }
  if (o.spawn_workers > 0 && mproc__mpi.world_size != 1)
    return mproc_set_error(MPROC_EINVAL,
                           "mpi_init: spawn_workers needs a world of one process "
                           "(this one has %d): run without mpirun or with -n 1",
                           mproc__mpi.world_size);
  if (o.root >= mproc__mpi.world_size)
    return mproc_set_error(MPROC_EINVAL, "mpi_init: root %d is outside a world of %d", o.root,
                           mproc__mpi.world_size);
  int n;
  if (o.spawn_workers > 0) {
    if ((rc = spawn_workers(o.spawn_workers, argv)) != 0)
      return rc;
    n = o.spawn_workers;
  } else {
    if ((rc = MPI_Comm_dup(MPI_COMM_WORLD, &mproc__mpi.comm)) != MPI_SUCCESS)
      return mproc__mpi_fail(rc, "MPI_Comm_dup");
    if (mproc__mpi.world_rank != o.root) {
      mproc__mpi.inited = true;
      mproc__mpi_serve(o.root);
    }
    n = mproc__mpi.world_size - 1;
  }
  mproc__mpi.inited = true;
  if ((rc = meet_workers(n, o.root)) != 0)
    return rc;
  mproc__mpi.last_activity = MPI_Wtime();
  root_pid = getpid();
  atexit(at_exit);
  return 0;
}

int mproc_mpi_finalize(void) {
  if (!mproc__mpi.inited || mproc__mpi.finalized)
    return mproc_set_error(MPROC_ESTATE, "mpi_finalize: not initialized, or finalized already");
  if (mproc__mpi.pool_open)
    return mproc_set_error(MPROC_ESTATE, "mpi_finalize: a pool is still open (free it first)");
  mproc__mpi.finalized = true;
  int n = mproc__mpi.nworkers;
  for (int i = 0; i < n; i++)
    mproc__mpi_send(mproc__mpi.worker_rank[i], KIND_END, 0, NULL, 0, false);
  double deadline = MPI_Wtime() + mproc__mpi.o.finalize_timeout_ms / 1000.0;
  int acks = 0;
  while (acks < n) {
    int kind, from;
    unsigned epoch;
    void *buf;
    size_t len;
    int rc = mproc__mpi_take(MPI_ANY_SOURCE, &kind, &epoch, &from, &buf, &len);
    if (rc == 1) {
      acks += kind == KIND_END; /* anything else is late and dropped */
      free(buf);
      continue;
    }
    if (rc < 0 || MPI_Wtime() >= deadline)
      break;
    mproc__mpi_await(MPI_ANY_SOURCE, NULL, deadline);
  }
  if (acks < n) {
    fprintf(stderr,
            "mproc_mpi_finalize: %d of %d MPI workers did not finish within %d ms (one may "
            "still be running a task it was retired for); aborting the job, since "
            "MPI_Finalize would wait for them for ever\n",
            n - acks, n, mproc__mpi.o.finalize_timeout_ms);
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  while (mproc__mpi.pending)
    mproc__mpi_progress();
  if (mproc__mpi.spawned)
    MPI_Comm_disconnect(&mproc__mpi.comm);
  else
    MPI_Comm_free(&mproc__mpi.comm);
  if (mproc__mpi.own_mpi)
    MPI_Finalize();
  free(mproc__mpi.worker_rank);
  free(mproc__mpi.host);
  free(mproc__mpi.sent);
  free(mproc__mpi.last_heard);
  free(mproc__mpi.last_sent);
  free(mproc__mpi.replied);
  free(mproc__mpi.allowed);
  free(mproc__mpi.retired);
  free(mproc__mpi.pid);
  return 0;
}
