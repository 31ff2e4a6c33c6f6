/* What every export records about the machine it ran on. */
#include <stdlib.h>
#include <string.h>

#include "bench.h"

#ifdef _WIN32
#  include <windows.h>
#else
#  include <errno.h>
#  include <sched.h>
#  include <sys/utsname.h>
#  include <time.h>
#  ifdef __GLIBC__
#    include <gnu/libc-version.h>
#  endif
#endif

double now_us(void) {
#ifdef _WIN32
  static LARGE_INTEGER freq;
  LARGE_INTEGER t;
  if (!freq.QuadPart)
    QueryPerformanceFrequency(&freq);
  QueryPerformanceCounter(&t);
  return (double)t.QuadPart * 1e6 / (double)freq.QuadPart;
#else
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
#endif
}

#ifndef _WIN32
/* The first line of a file, or the value after "key" on a line of it. */
static void read_line(const char *path, const char *key, char *out, size_t cap) {
  FILE *f = fopen(path, "r");
  char line[512];
  while (f && fgets(line, sizeof line, f)) {
    if (key && strncmp(line, key, strlen(key)) != 0)
      continue;
    const char *v = key ? strchr(line, ':') : line;
    v = v ? v + (key ? 1 : 0) : line;
    while (*v == ' ' || *v == '\t')
      v++;
    size_t len = strcspn(v, "\n"); /* the value, cut to fit */
    if (len >= cap)
      len = cap - 1;
    memcpy(out, v, len);
    out[len] = '\0';
    break;
  }
  if (f)
    fclose(f);
}
#endif

void read_host(host_t *h) {
  memset(h, 0, sizeof *h);
  h->cpus = mproc_cpu_count();
  strcpy(h->libc, "unknown");
  strcpy(h->thp, "n/a");
  strcpy(h->cgroup_cpu, "n/a");
#ifdef _WIN32
  strcpy(h->os, "Windows");
  OSVERSIONINFOA v;
  memset(&v, 0, sizeof v);
  v.dwOSVersionInfoSize = sizeof v;
#  pragma GCC diagnostic push
#  pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  if (GetVersionExA(&v))
    snprintf(h->kernel, sizeof h->kernel, "%lu.%lu build %lu", v.dwMajorVersion, v.dwMinorVersion,
             v.dwBuildNumber);
#  pragma GCC diagnostic pop
  strcpy(h->libc, "msvcrt");
  MEMORYSTATUSEX m;
  memset(&m, 0, sizeof m);
  m.dwLength = sizeof m;
  if (GlobalMemoryStatusEx(&m))
    h->mem_kib = (long long)(m.ullTotalPhys / 1024);
  strcpy(h->cpu_model, "unknown");
#else
  struct utsname u;
  if (uname(&u) == 0) {
    snprintf(h->os, sizeof h->os, "%s", u.sysname);
    snprintf(h->kernel, sizeof h->kernel, "%s", u.release);
  }
#  ifdef __GLIBC__
  snprintf(h->libc, sizeof h->libc, "glibc %s", gnu_get_libc_version());
#  endif
  read_line("/proc/cpuinfo", "model name", h->cpu_model, sizeof h->cpu_model);
  char thp[128] = "";
  read_line("/sys/kernel/mm/transparent_hugepage/enabled", NULL, thp, sizeof thp);
  const char *open = strchr(thp, '['), *close = open ? strchr(open, ']') : NULL;
  if (open && close)
    snprintf(h->thp, sizeof h->thp, "%.*s", (int)(close - open - 1), open + 1);
  read_line("/sys/fs/cgroup/cpu.max", NULL, h->cgroup_cpu, sizeof h->cgroup_cpu);
  char mem[64] = "";
  read_line("/proc/meminfo", "MemTotal", mem, sizeof mem);
  h->mem_kib = atoll(mem);
#endif
  if (!h->cpu_model[0])
    strcpy(h->cpu_model, "unknown");
}

int pin_cpus(const bench_config_t *c) {
#ifdef _WIN32
  DWORD_PTR mask = 0, process, system;
  for (int i = 0; i < c->ncpus; i++)
    if (c->cpus[i] < (int)(8 * sizeof mask))
      mask |= (DWORD_PTR)1 << c->cpus[i];
  if (!GetProcessAffinityMask(GetCurrentProcess(), &process, &system) || !mask ||
      (mask & ~system) || !SetProcessAffinityMask(GetCurrentProcess(), mask)) {
    fprintf(stderr, "mproc-bench start: --cpu: this machine has no such CPU\n");
    return 2;
  }
  return 0;
#elif defined(__linux__)
  /* Set on the main thread before any other exists: threads, children
   * (exec or fork) and the forkserver all inherit it. */
  cpu_set_t set;
  CPU_ZERO(&set);
  for (int i = 0; i < c->ncpus; i++)
    CPU_SET(c->cpus[i], &set);
  if (sched_setaffinity(0, sizeof set, &set) != 0) {
    fprintf(stderr, "mproc-bench start: --cpu: this machine cannot run on those CPUs (%s)\n",
            strerror(errno));
    return 2;
  }
  return 0;
#else
  (void)c;
  fprintf(stderr, "mproc-bench start: --cpu is not supported on this system\n");
  return 2;
#endif
}
