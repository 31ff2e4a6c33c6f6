/* The running process: pid, usable CPUs, command line (POSIX). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../common/internal.h"

int64_t mproc__os_getpid(void) { return (int64_t)getpid(); }

void mproc__os_flush_std_streams(void) {
  /* __fpending reads the buffer pointers without taking the lock (glibc,
   * musl and the BSDs have it). */
  if (__fpending(stdout))
    fflush(stdout);
  if (__fpending(stderr))
    fflush(stderr);
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

int mproc__os_command_line(int *argc, char ***argv) {
  /* Linux keeps the exact argv, NUL-separated, in /proc/self/cmdline. */
  int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return MPROC_ENOTSUP;
  mproc__buf_t b = {0};
  char chunk[4096];
  ssize_t n;
  while ((n = read(fd, chunk, sizeof chunk)) > 0)
    if (mproc__buf_append(&b, chunk, (size_t)n) != 0)
      break;
  close(fd);
  if (n != 0 || mproc__buf_append(&b, "", 1) != 0) {
    mproc__buf_free(&b);
    return MPROC_ESYS;
  }
  int count = 0;
  for (size_t i = 0; i + 1 < b.len; i++)
    if (b.data[i] == '\0')
      count++;
  char **v = calloc((size_t)count + 1, sizeof *v);
  if (!v) {
    mproc__buf_free(&b);
    return MPROC_ENOMEM;
  }
  /* v[0] owns the whole block; the others point into it. */
  char *p = (char *)b.data;
  for (int i = 0; i < count; i++) {
    v[i] = p;
    p += strlen(p) + 1;
  }
  *argc = count;
  *argv = v;
  if (count == 0)
    mproc__buf_free(&b);
  return 0;
}

void mproc__os_free_argv(int argc, char **argv) {
  if (argc > 0)
    free(argv[0]);
  free(argv);
}

bool mproc__os_constructor_entry_allowed(void) { return true; }
