/* What the benchmarks share: a clock, medians, and (POSIX) running a
 * Python peer. */
#ifndef MPROC_BENCH_UTIL_H
#define MPROC_BENCH_UTIL_H

#include <mproc.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* The tuple (0, 1, ..., n-1): a map's input. */
static inline mproc_args_t *bench_ints(long n) {
  mproc_args_t *a;
  mproc_args_new(&a);
  for (long i = 0; i < n; i++)
    mproc_args_add_int(a, i);
  return a;
}

#ifdef _WIN32
#  include <windows.h>
static inline double now_s(void) {
  LARGE_INTEGER f, t;
  QueryPerformanceFrequency(&f);
  QueryPerformanceCounter(&t);
  return (double)t.QuadPart / (double)f.QuadPart;
}
#else
static inline double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
#endif

/* The scale a benchmark was asked for: argv[1], at least 1 (default 1). */
static inline long bench_scale(int argc, char **argv) {
  long scale = argc > 1 ? atol(argv[1]) : 1;
  return scale < 1 ? 1 : scale;
}

/* Runs a shell command that prints one number (seconds) and returns it;
 * -1 when it could not run (no python3, for one). */
static inline double seconds_printed_by(const char *cmd) {
  FILE *f = popen(cmd, "r");
  double t = -1;
  if (f) {
    if (fscanf(f, "%lf", &t) != 1)
      t = -1;
    pclose(f);
  }
  return t;
}

/* The median of three runs (a 2-vCPU machine swings); sorts t. */
static inline double median_of_3(double t[3]) {
  for (int i = 1; i < 3; i++)
    for (int j = i; j > 0 && t[j - 1] > t[j]; j--) {
      double x = t[j];
      t[j] = t[j - 1];
      t[j - 1] = x;
    }
  return t[1];
}

/* The median of n runs (t is sorted, so t[0] and t[n - 1] are the
 * extremes); -1 when any is negative (a failure). */
static inline double median_of(double *t, int n) {
  for (int i = 0; i < n; i++)
    if (t[i] < 0)
      return -1;
  for (int i = 1; i < n; i++)
    for (int k = i; k > 0 && t[k] < t[k - 1]; k--) {
      double x = t[k];
      t[k] = t[k - 1];
      t[k - 1] = x;
    }
  return t[n / 2];
}

static inline double median_of_5(double t[5]) { return median_of(t, 5); }

#ifndef _WIN32
#  include <sys/mman.h>
#endif
#ifdef MAP_ANONYMOUS /* not under a strict _POSIX_C_SOURCE: the benches that need it ask for more  \
                      */
#  include <stdatomic.h>
#  include <stdint.h>
#  include <sys/wait.h>
#  include <unistd.h>

/* The floor under any hand-over that waits for its answer: seconds per
 * round trip, n of them, through one shared cache line each way - the
 * parent posts i on one line, a forked child answers i on another; both
 * spin and do nothing else. child_setup: NULL, or what the child runs
 * first (pinning it where the path measured against it pins its peer).
 * -1 when fork failed. */
static inline double line_round_trip(long n, void (*child_setup)(void)) {
  _Atomic uint32_t *w = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (w == MAP_FAILED)
    return -1;
  _Atomic uint32_t *ask = w, *answer = w + 16; /* 64 bytes apart */
  pid_t child = fork();
  if (child == 0) {
    if (child_setup)
      child_setup();
    for (uint32_t i = 1; i <= (uint32_t)n; i++) {
      while (atomic_load_explicit(ask, memory_order_acquire) != i)
        ;
      atomic_store_explicit(answer, i, memory_order_release);
    }
    _exit(0);
  }
  double t0 = now_s();
  for (uint32_t i = 1; child > 0 && i <= (uint32_t)n; i++) {
    atomic_store_explicit(ask, i, memory_order_release);
    while (atomic_load_explicit(answer, memory_order_acquire) != i)
      ;
  }
  double t = (now_s() - t0) / (double)n;
  if (child > 0)
    waitpid(child, NULL, 0);
  munmap(w, 4096);
  return child > 0 ? t : -1;
}

static inline double line_round_trip_median(long n, void (*child_setup)(void)) {
  double t[3];
  for (int i = 0; i < 3; i++)
    t[i] = line_round_trip(n, child_setup);
  return median_of_3(t);
}
#endif

#ifdef __linux__
#  include <string.h>
#  include <unistd.h>

/* The "generic POSIX" rows: this benchmark built on the generic flavour
 * (the sibling executable <this>_generic, see bench/CMakeLists.txt), run
 * with args; the number it prints, or -1 when there is no sibling (or this
 * is it). */
static inline double generic_sibling(const char *args) {
  char self[4000];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0)
    return -1;
  self[n] = '\0';
  if (n > 8 && strcmp(self + n - 8, "_generic") == 0)
    return -1;
  char cmd[4200];
  snprintf(cmd, sizeof cmd, "%s_generic", self);
  if (access(cmd, X_OK) != 0)
    return -1;
  snprintf(cmd, sizeof cmd, "'%s_generic' %s 2>/dev/null", self, args);
  return seconds_printed_by(cmd);
}
#endif

#endif
