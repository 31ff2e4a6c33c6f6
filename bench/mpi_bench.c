/* The pool over MPI ranks (mproc::mpi), side by side in one run:
 *   - a bare MPI master/worker loop in C (the floor): 8-byte tasks, one in
 *     flight per worker, blocking MPI_Send/MPI_Recv;
 *   - mproc's pool with the MPI backend: apply (one task in flight), map
 *     at chunksize 1 and with the default chunking, 1 MiB results, start;
 *   - mproc's local pool (2 worker processes) doing the same;
 *   - mpi4py.futures' MPIPoolExecutor (2 spawned workers), when
 *     /usr/bin/python3 has mpi4py (python3-mpi4py).
 * Run it alone: it measures mpi4py, then runs itself as 3 ranks (a root
 * and 2 workers) with `mpiexec --oversubscribe -x ... -n 3` (Open MPI's
 * flags; MPROC_BENCH_MPIEXEC names another launcher):
 *   bench_mpi [scale]
 * or under mpirun yourself, without the mpi4py column:
 *   mpirun -n 3 bench_mpi [scale]      (add --mca btl tcp,self for TCP)
 * mproc's rows are the median of 3 runs. */
#include <mpi.h>
#include <mproc.h>
#include <mproc/mpi.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "bench_util.h"

enum { TAG_TASK = 1, TAG_STOP = 2, MIB = 1 << 20 };

static int noop(const mproc_args_t *args, mproc_args_t *result) {
  (void)args, (void)result;
  return 0;
}

static int one_mib(const mproc_args_t *args, mproc_args_t *result) {
  (void)args;
  static unsigned char block[MIB];
  return mproc_args_add_bytes(result, block, sizeof block);
}

/* ---- the floor: a bare master/worker loop ---- */

/* Root: n tasks over the workers, one in flight each; reply bytes per
 * reply. Workers: answer until told to stop. Returns seconds (root). */
static double bare_loop(MPI_Comm comm, long n, int reply_bytes, int in_flight_total) {
  int rank, size;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  static unsigned char buf[MIB];
  if (rank != 0) {
    for (;;) {
      MPI_Status st;
      uint64_t task;
      MPI_Recv(&task, 1, MPI_UINT64_T, 0, MPI_ANY_TAG, comm, &st);
      if (st.MPI_TAG == TAG_STOP)
        return 0;
      MPI_Send(buf, reply_bytes, MPI_BYTE, 0, TAG_TASK, comm);
    }
  }
  int workers = in_flight_total ? in_flight_total : size - 1;
  double t0 = MPI_Wtime();
  long sent = 0, done = 0;
  for (int w = 1; w <= workers && sent < n; w++, sent++)
    MPI_Send(&sent, 1, MPI_UINT64_T, w, TAG_TASK, comm);
  while (done < n) {
    MPI_Status st;
    MPI_Recv(buf, MIB, MPI_BYTE, MPI_ANY_SOURCE, TAG_TASK, comm, &st);
    done++;
    if (sent < n) {
      MPI_Send(&sent, 1, MPI_UINT64_T, st.MPI_SOURCE, TAG_TASK, comm);
      sent++;
    }
  }
  double t = MPI_Wtime() - t0;
  uint64_t stop = 0;
  for (int w = 1; w < size; w++)
    MPI_Send(&stop, 1, MPI_UINT64_T, w, TAG_STOP, comm);
  return t;
}

/* ---- mproc ---- */

/* Seconds for n sequential applies of fn. */
static double applies(mproc_pool_t *p, mproc_task_fn fn, long n) {
  double t0 = now_s();
  for (long i = 0; i < n; i++) {
    mproc_args_t *r;
    if (mproc_pool_apply(p, fn, NULL, &r) != 0)
      return -1;
    mproc_args_free(r);
  }
  return now_s() - t0;
}

/* Seconds for a map of n no-op items at chunksize (median of 3). */
static double maps(mproc_pool_t *p, long n, size_t chunksize) {
  mproc_args_t *items = bench_ints(n);
  double t[3];
  for (int k = 0; k < 3; k++) {
    mproc_args_t *out;
    double t0 = now_s();
    t[k] = mproc_pool_map(p, noop, items, &(mproc_map_opts_t){.chunksize = chunksize}, &out)
               ? -1
               : now_s() - t0;
    mproc_args_free(out);
  }
  mproc_args_free(items);
  return median_of_3(t);
}

static double median_applies(mproc_pool_t *p, mproc_task_fn fn, long n) {
  double t[3];
  for (int k = 0; k < 3; k++)
    t[k] = applies(p, fn, n);
  return median_of_3(t);
}

typedef struct {
  double start, apply, map1, mapd, mib;
} row_t;

static row_t measure(const mproc_pool_opts_t *o, long n_apply, long n1, long nd, long n_mib) {
  row_t r = {-1, -1, -1, -1, -1};
  mproc_pool_t *p;
  double t0 = now_s();
  if (mproc_pool_new(&p, o) != 0) {
    printf("bench_mpi: %s\n", mproc_last_error_detail());
    return r;
  }
  r.start = applies(p, noop, 1) >= 0 ? now_s() - t0 : -1;
  applies(p, noop, 100); /* warm */
  r.apply = median_applies(p, noop, n_apply) / (double)n_apply;
  r.map1 = maps(p, n1, 1) / (double)n1;
  r.mapd = maps(p, nd, 0) / (double)nd;
  r.mib = median_applies(p, one_mib, n_mib) / (double)n_mib;
  mproc_pool_close(p);
  mproc_pool_join(p, MPROC_INFINITE);
  mproc_pool_free(p);
  return r;
}

/* ---- mpi4py.futures ---- */

/* The peer runs as an MPI singleton of its own: nothing of this job's
 * environment, nor its descriptors, may reach it (Open MPI's singleton
 * otherwise spins for ever in its spawn). */
static const char mpi4py_script[] =
    "import sys, time\n"
    "t0 = time.perf_counter()\n"
    "from mpi4py.futures import MPIPoolExecutor\n"
    "def noop(x): return None\n"
    "def mib(x): return bytes(1 << 20)\n"
    "if __name__ == '__main__':\n"
    "    n, what = int(sys.argv[1]), sys.argv[2]\n"
    "    with MPIPoolExecutor(max_workers=2) as ex:\n"
    "        ex.submit(noop, 0).result()\n"
    "        if what == 'start': print(time.perf_counter() - t0); raise SystemExit\n"
    "        t0 = time.perf_counter()\n"
    "        if what == 'apply':\n"
    "            for i in range(n): ex.submit(noop, i).result()\n"
    "        elif what == 'mib':\n"
    "            for i in range(n): ex.submit(mib, i).result()\n"
    "        else:\n"
    "            chunk = 1 if what == 'map1' else max(1, n // 8)\n"
    "            list(ex.map(noop, range(n), chunksize=chunk))\n"
    "        print((time.perf_counter() - t0) / n)\n";

/* Seconds (per task, or to start) of mpi4py.futures doing what; -1 when
 * it cannot run. The script is a file: the spawned workers run the main
 * module again, which standard input cannot give them. */
static double mpi4py(const char *what, long n) {
  char path[] = "/tmp/mproc-bench-mpi4py-XXXXXX.py";
  int fd = mkstemps(path, 3);
  if (fd < 0)
    return -1;
  FILE *f = fdopen(fd, "w");
  fputs(mpi4py_script, f);
  fclose(f);
  char cmd[1024];
  snprintf(cmd, sizeof cmd,
           "env -i PATH=/usr/bin:/bin OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 "
           "OMPI_MCA_rmaps_base_oversubscribe=1 timeout 300 /usr/bin/python3 %s %ld %s 2>/dev/null",
           path, n, what);
  double t = seconds_printed_by(cmd);
  remove(path);
  return t;
}

static void row(const char *name, double mpi, double bare, double local, double py, double unit) {
  printf("| %-24s |", name);
  double cells[4] = {mpi, bare, local, py};
  for (int i = 0; i < 4; i++)
    if (cells[i] < 0)
      printf(" %10s |", "n/a");
    else
      printf(" %10.2f |", cells[i] * unit);
  if (mpi > 0 && bare > 0)
    printf(" %8.2fx |", mpi / bare);
  else
    printf(" %9s |", "n/a");
  if (mpi > 0 && py > 0)
    printf(" %8.0fx |\n", py / mpi);
  else
    printf(" %9s |\n", "n/a");
}

int main(int argc, char **argv) {
  /* The local pool's workers are spawned copies of this program: they
   * must run their target before anything here starts MPI. */
  mproc_main_guard(argc, argv);
  long scale = bench_scale(argc, argv);
  /* Started alone: mpi4py first (its singleton's spawn never completes
   * from inside an mpirun job), then this program again under mpirun,
   * with mpi4py's numbers in the environment. */
  bool under_mpirun = getenv("OMPI_COMM_WORLD_RANK") || getenv("PMI_RANK");
  if (!under_mpirun) {
    long py_n = 500 * scale, py_nmib = 50 * scale;
    char nums[256], self[4096], scale_arg[32];
    snprintf(nums, sizeof nums, "%g %g %g %g %g", mpi4py("start", 1), mpi4py("apply", py_n),
             mpi4py("map1", py_n * 4), mpi4py("mapd", py_n * 40), mpi4py("mib", py_nmib));
    setenv("MPROC_BENCH_MPI4PY", nums, 1);
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    self[len > 0 ? len : 0] = '\0';
    snprintf(scale_arg, sizeof scale_arg, "%ld", scale);
    const char *mpiexec = getenv("MPROC_BENCH_MPIEXEC") ? getenv("MPROC_BENCH_MPIEXEC") : "mpiexec";
    execlp(mpiexec, mpiexec, "--oversubscribe", "-x", "MPROC_BENCH_MPI4PY", "-n", "3", self,
           scale_arg, (char *)NULL);
    printf("bench_mpi: cannot run %s (run it yourself: mpirun -n 3 %s)\n", mpiexec, self);
    return 1;
  }
  double py_start = -1, py_apply = -1, py_map1 = -1, py_mapd = -1, py_mib = -1;
  if (getenv("MPROC_BENCH_MPI4PY"))
    sscanf(getenv("MPROC_BENCH_MPI4PY"), "%lf %lf %lf %lf %lf", &py_start, &py_apply, &py_map1,
           &py_mapd, &py_mib);
  int provided, rank, size;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  long n_apply = 20000 * scale, n1 = 100000 * scale, nd = 1000000 * scale, n_mib = 200 * scale;
  /* The floor first, with every rank in it. */
  MPI_Comm comm;
  MPI_Comm_dup(MPI_COMM_WORLD, &comm);
  double bare_apply[3], bare_map[3], bare_mib[3];
  for (int k = 0; k < 3; k++) {
    bare_apply[k] = bare_loop(comm, n_apply, 8, 1) / (double)n_apply;
    bare_map[k] = bare_loop(comm, n1, 8, 0) / (double)n1;
    bare_mib[k] = bare_loop(comm, n_mib, MIB, 1) / (double)n_mib;
  }
  MPI_Comm_free(&comm);
  /* Then the same ranks become mproc's workers. */
  if (mproc_mpi_init(&argc, &argv, NULL) != 0) {
    printf("bench_mpi: %s\n", mproc_last_error_detail());
    return 1;
  }
  if (size < 2) {
    printf("bench_mpi: run under mpirun -n 3\n");
    mproc_mpi_finalize();
    MPI_Finalize();
    return 0;
  }
  row_t mpi =
      measure(&(mproc_pool_opts_t){.backend = mproc_mpi_pool_backend()}, n_apply, n1, nd, n_mib);
  row_t local = measure(&(mproc_pool_opts_t){.processes = size - 1}, n_apply, n1, nd, n_mib);
  printf(
      "pool over MPI: %d worker ranks, same run (mproc and the floor: median of 3); scale %ld\n\n",
      size - 1, scale);
  printf("| %-24s | %10s | %10s | %10s | %10s | %9s | %9s |\n", "", "mproc MPI", "bare MPI",
         "mproc local", "mpi4py", "vs bare", "mpi4py/x");
  printf("|--------------------------|------------|------------|------------|------------|"
         "-----------|-----------|\n");
  row("apply round trip (us)", mpi.apply, median_of_3(bare_apply), local.apply, py_apply, 1e6);
  row("map, chunksize 1 (us)", mpi.map1, median_of_3(bare_map), local.map1, py_map1, 1e6);
  row("map, default chunks (us)", mpi.mapd, -1, local.mapd, py_mapd, 1e6);
  row("1 MiB result (ms)", mpi.mib, median_of_3(bare_mib), local.mib, py_mib, 1e3);
  row("pool start+first (ms)", mpi.start, -1, local.start, py_start, 1e3);
  printf("\nbare MPI: blocking MPI_Send/MPI_Recv, one task in flight per worker (apply and 1 MiB: "
         "one in all).\nmpi4py: MPIPoolExecutor(max_workers=2), spawned; its start includes "
         "Python's and the spawn;\nmproc MPI's start is the pool's on ranks mpirun already "
         "started, the local pool's includes spawning its workers.\n");
  mproc_mpi_finalize();
  MPI_Finalize(); /* this program started MPI: it ends it */
  return 0;
}
