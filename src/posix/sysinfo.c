/* The running process: pid, clocks, usable CPUs (POSIX). The command line
 * is the system's own business: os_linux.c, os_generic.c. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/internal.h"

#if __has_include(<stdio_ext.h>)
#  include <stdio_ext.h>
#  define HAVE_FPENDING 1
#else
#  define HAVE_FPENDING 0
#endif

int64_t mproc__os_getpid(void) { return (int64_t)getpid(); }

void mproc__os_flush_std_streams(void) {
#if HAVE_FPENDING
  /* __fpending reads the buffer pointers without taking the lock (glibc
   * and musl have it), so a start with nothing buffered costs no lock. */
  if (__fpending(stdout))
    fflush(stdout);
  if (__fpending(stderr))
    fflush(stderr);
#else
  fflush(stdout);
  fflush(stderr);
#endif
}

int64_t mproc__os_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t mproc__os_now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int mproc__os_cpu_count(void) {
#ifdef CPU_ALLOC
  /* The affinity mask, not the machine: a process pinned to 2 of 64 CPUs
   * (taskset, cgroups cpusets, containers) should start 2 workers. */
  for (int ncpu = 1024; ncpu <= (1 << 20); ncpu *= 2) {
    cpu_set_t *set = CPU_ALLOC(ncpu);
    if (!set)
      break;
    size_t size = CPU_ALLOC_SIZE(ncpu);
    if (sched_getaffinity(0, size, set) == 0) {
      int n = CPU_COUNT_S(size, set);
      CPU_FREE(set);
      return n;
    }
    CPU_FREE(set);
    if (errno != EINVAL)
      break;
  }
#endif
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (int)n : 1;
}

void mproc__os_free_argv(int argc, char **argv) {
  if (argc > 0)
    free(argv[0]);
  free(argv);
}
