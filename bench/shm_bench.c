/* Shared integers, next to their peers in one run: 1 and 2 processes each
 * incrementing one shared integer n times,
 *   - mproc: a Value under its RLock (Python's `with v.get_lock(): v.value += 1`),
 *   - mproc: a Value with the atomic helper mproc_value_add (no lock),
 *   - raw: atomic_fetch_add on a MAP_SHARED mapping (the speed limit),
 *   - Python: multiprocessing.Value('i') under its lock.
 * Each worker times its own loop once every worker is ready; a row's time
 * is the slowest worker's, shown as ns per increment over all increments.
 * Every total is checked: a lost increment prints WRONG. POSIX only.
 *
 *   bench_shm [scale]   (scale 1 = default counts; larger is longer) */
#include <stdio.h>
#include <stdlib.h>

#include <mproc.h>

#if defined(_WIN32) || !defined(__linux__)
int main(void) {
  puts("bench_shm: Linux only (its peers are fork and a shared mapping)");
  return 0;
}
#else
#  include <stdatomic.h>
#  include <sys/mman.h>
#  include <sys/wait.h>
#  include <unistd.h>

#  include "bench_util.h"

enum { LOCKED, ATOMIC, KINDS };
enum { MAX_PROCS = 2 };

/* What every worker of one row shares: the start line and its times. */
typedef struct {
  _Atomic int ready, go;
  double seconds[MAX_PROCS];
} line_t;

static void at_start(line_t *l) {
  atomic_fetch_add(&l->ready, 1);
  while (!atomic_load(&l->go))
    ;
}

static double slowest(const line_t *l, int procs) {
  double t = 0;
  for (int i = 0; i < procs; i++)
    t = l->seconds[i] > t ? l->seconds[i] : t;
  return t;
}

static void go_when_ready(line_t *l, int procs) {
  while (atomic_load(&l->ready) < procs)
    ;
  atomic_store(&l->go, 1);
}

/* ---- mproc ---- */

/* args: Value, RawArray of bytes holding a line_t, kind, slot, n. */
static int mproc_worker(const mproc_args_t *args) {
  mproc_value_t *v;
  mproc_array_t *shared;
  int64_t kind, slot, n;
  if (mproc_args_get_value(args, 0, &v) || mproc_args_get_array(args, 1, &shared) ||
      mproc_args_get_int(args, 2, &kind) || mproc_args_get_int(args, 3, &slot) ||
      mproc_args_get_int(args, 4, &n))
    return 1;
  line_t *l = mproc_array_ptr(shared);
  mproc_rlock_t *lock = mproc_value_lock(v);
  int32_t *p = mproc_value_ptr(v);
  at_start(l);
  double t0 = now_s();
  for (int64_t i = 0; i < n; i++) {
    if (kind == ATOMIC) {
      mproc_value_add(v, 1, NULL);
    } else {
      mproc_rlock_acquire(lock, MPROC_INFINITE);
      *p += 1;
      mproc_rlock_release(lock);
    }
  }
  l->seconds[slot] = now_s() - t0;
  return 0;
}

/* Seconds for procs workers of n increments each; -1 on a wrong total. */
static double mproc_row(int kind, int procs, long n) {
  mproc_value_t *v;
  mproc_array_t *shared;
  mproc_value_opts_t raw = {.lock = MPROC_NO_LOCK};
  if (mproc_value_new(&v, MPROC_T_I32, NULL) ||
      mproc_array_new(&shared, MPROC_T_U8, sizeof(line_t), &raw))
    return -1;
  line_t *l = mproc_array_ptr(shared);
  mproc_process_t *p[MAX_PROCS] = {0};
  for (int i = 0; i < procs; i++) {
    mproc_args_t *a;
    mproc_args_new(&a);
    mproc_args_add_value(a, v);
    mproc_args_add_array(a, shared);
    mproc_args_add_int(a, kind);
    mproc_args_add_int(a, i);
    mproc_args_add_int(a, n);
    if (mproc_process_new(&p[i], mproc_worker, a, NULL) || mproc_process_start(p[i]))
      return -1;
    mproc_args_free(a);
  }
  go_when_ready(l, procs);
  for (int i = 0; i < procs; i++) {
    mproc_process_join(p[i], MPROC_INFINITE);
    mproc_process_free(p[i]);
  }
  int64_t total;
  mproc_value_load(v, &total);
  double t = total == (int64_t)procs * n ? slowest(l, procs) : -1;
  mproc_value_free(v);
  mproc_array_free(shared);
  return t;
}

/* ---- raw: atomic_fetch_add on a shared mapping, forked workers ---- */

static double raw_row(int procs, long n) {
  struct {
    line_t line;
    _Alignas(64) _Atomic int32_t counter;
  } *s = mmap(NULL, sizeof *s, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (s == MAP_FAILED)
    return -1;
  for (int i = 0; i < procs; i++) {
    if (fork() == 0) {
      at_start(&s->line);
      double t0 = now_s();
      for (long k = 0; k < n; k++)
        atomic_fetch_add(&s->counter, 1);
      s->line.seconds[i] = now_s() - t0;
      _exit(0);
    }
  }
  go_when_ready(&s->line, procs);
  for (int i = 0; i < procs; i++)
    wait(NULL);
  double t = atomic_load(&s->counter) == procs * n ? slowest(&s->line, procs) : -1;
  munmap(s, sizeof *s);
  return t;
}

/* ---- Python: Value('i') under its lock ---- */

static double python_row(int procs, long n) {
  char cmd[2048];
  snprintf(
      cmd, sizeof cmd,
      "python3 - <<'EOF' 2>/dev/null\n"
      "import multiprocessing as mp, time\n"
      "def work(v, ready, go, times, slot, n):\n"
      "    ready.release(); go.wait(); t0 = time.perf_counter()\n"
      "    for _ in range(n):\n"
      "        with v.get_lock(): v.value += 1\n"
      "    times[slot] = time.perf_counter() - t0\n"
      "if __name__ == '__main__':\n"
      "    procs, n = %d, %ld\n"
      "    v = mp.Value('i', 0); ready = mp.Semaphore(0); go = mp.Event()\n"
      "    times = mp.RawArray('d', procs)\n"
      "    ps = [mp.Process(target=work, args=(v, ready, go, times, i, n)) for i in range(procs)]\n"
      "    for p in ps: p.start()\n"
      "    for p in ps: ready.acquire()\n"
      "    go.set()\n"
      "    for p in ps: p.join()\n"
      "    print(max(times) if v.value == procs * n else -1)\n"
      "EOF",
      procs, n);
  return seconds_printed_by(cmd);
}

static void cell(double seconds, long increments) {
  if (seconds < 0)
    printf(" %13s |", seconds == -1 ? "WRONG/n.a." : "n/a");
  else
    printf(" %13.1f |", seconds / (double)increments * 1e9);
}

int main(int argc, char **argv) {
  mproc_main_guard(argc, argv);
  long scale = bench_scale(argc, argv);
  printf("one shared integer, incremented by every worker; ns per increment; scale %ld\n\n", scale);
  printf("| %-12s | %13s | %13s | %13s | %13s | %13s | %13s |\n", "", "mproc locked",
         "mproc atomic", "raw atomic", "Python locked", "atomic/raw", "locked/Python");
  printf("|--------------|---------------|---------------|---------------|---------------|"
         "---------------|---------------|\n");
  for (int procs = 1; procs <= MAX_PROCS; procs++) {
    long n = 2000000 * scale, py_n = n / 20;
    long total = procs * n, py_total = procs * py_n;
    double locked = mproc_row(LOCKED, procs, n), atomic = mproc_row(ATOMIC, procs, n);
    double raw = raw_row(procs, n), python = python_row(procs, py_n);
    printf("| %d process%-3s |", procs, procs > 1 ? "es" : "");
    cell(locked, total);
    cell(atomic, total);
    cell(raw, total);
    cell(python, py_total);
    if (atomic > 0 && raw > 0)
      printf(" %12.2fx |", atomic / raw);
    else
      printf(" %13s |", "n/a");
    if (locked > 0 && python > 0)
      printf(" %12.3fx |\n", (locked / (double)total) / (python / (double)py_total));
    else
      printf(" %13s |\n", "n/a");
  }
  printf("\natomic/raw: mproc_value_add's time over a bare atomic_fetch_add's (1.00 = same).\n"
         "locked/Python: mproc's locked increment over Python's (below 1 = faster).\n");
  return 0;
}
#endif
