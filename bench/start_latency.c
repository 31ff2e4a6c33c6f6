/* Start+join latency of a child per start method, next to the bare system
 * calls measured in the same run:
 *   bare fork+wait   fork() + waitpid() (POSIX); the floor for "fork"
 *   bare exec        posix_spawn / CreateProcessW of this same binary, which
 *                    exits at once; the floor for "spawn"
 * Prints min / median / max in microseconds over N children (default 200).
 *
 *   bench_start_latency [N]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mproc.h>

#ifdef _WIN32
#  include <windows.h>
#else
#  include <spawn.h>
#  include <sys/wait.h>
#  include <time.h>
#  include <unistd.h>
extern char **environ;
#endif

#define BARE_EXIT "--bare-exit"

static double now_us(void) {
#ifdef _WIN32
  LARGE_INTEGER f, t;
  QueryPerformanceFrequency(&f);
  QueryPerformanceCounter(&t);
  return (double)t.QuadPart * 1e6 / (double)f.QuadPart;
#else
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
#endif
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static int nothing(const mproc_args_t *args) {
  (void)args;
  return 0;
}

/* One start+join with mproc; returns microseconds, or -1 on error. */
static double one_mproc(mproc_start_method_t m) {
  mproc_process_opts_t opts = {.start_method = m};
  mproc_process_t *p;
  double t0 = now_us();
  if (mproc_process_new(&p, nothing, NULL, &opts))
    return -1;
  int rc = mproc_process_start(p);
  if (rc == 0)
    rc = mproc_process_join(p, MPROC_INFINITE);
  mproc_process_free(p);
  return rc ? -1 : now_us() - t0;
}

#ifdef _WIN32
static double one_bare_exec(void) {
  wchar_t path[MAX_PATH], cmd[MAX_PATH + 32];
  GetModuleFileNameW(NULL, path, MAX_PATH);
  _snwprintf(cmd, MAX_PATH + 32, L"\"%ls\" " BARE_EXIT, path);
  STARTUPINFOW si = {.cb = sizeof si};
  PROCESS_INFORMATION pi;
  double t0 = now_us();
  if (!CreateProcessW(path, cmd, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi))
    return -1;
  WaitForSingleObject(pi.hProcess, INFINITE);
  CloseHandle(pi.hThread);
  CloseHandle(pi.hProcess);
  return now_us() - t0;
}

static double one_bare_fork(void) { return -1; }
#else
static double one_bare_exec(void) {
  char *argv[] = {"/proc/self/exe", BARE_EXIT, NULL};
  pid_t pid;
  int status;
  double t0 = now_us();
  if (posix_spawn(&pid, "/proc/self/exe", NULL, NULL, argv, environ) != 0)
    return -1;
  waitpid(pid, &status, 0);
  return now_us() - t0;
}

static double one_bare_fork(void) {
  int status;
  double t0 = now_us();
  pid_t pid = fork();
  if (pid == 0)
    _exit(0);
  if (pid < 0)
    return -1;
  waitpid(pid, &status, 0);
  return now_us() - t0;
}
#endif

typedef struct {
  const char *name;
  double (*once)(void);
  mproc_start_method_t method; /* when once is NULL */
} row_t;

/* Prints one row; returns its median (or -1 when unavailable). */
static double measure(const row_t *r, int n) {
  double *t = malloc((size_t)n * sizeof *t);
  if (!t)
    return -1;
  int ok = 0;
  const char *why = "";
  for (int i = 0; i < n; i++) {
    double us = r->once ? r->once() : one_mproc(r->method);
    if (us < 0) {
      why = r->once ? "not on this platform" : mproc_last_error_detail();
      break;
    }
    t[ok++] = us;
  }
  double median = -1;
  if (ok < n) {
    printf("| %-20s | %10s | %10s | %10s | n/a: %s\n", r->name, "-", "-", "-", why);
  } else {
    qsort(t, (size_t)n, sizeof *t, cmp_double);
    median = t[n / 2];
    printf("| %-20s | %10.0f | %10.0f | %10.0f |\n", r->name, t[0], median, t[n - 1]);
  }
  free(t);
  return median;
}

int main(int argc, char **argv) {
  mproc_main_guard(argc, argv);
  if (argc > 1 && strcmp(argv[1], BARE_EXIT) == 0)
    return 0;
  int n = argc > 1 ? atoi(argv[1]) : 200;
  if (n < 1)
    n = 200;
  printf("start+join latency, %d children each, microseconds\n\n", n);
  printf("| %-20s | %10s | %10s | %10s |\n", "start method", "min", "median", "max");
  printf("|%s|%s|%s|%s|\n", "----------------------", "------------", "------------",
         "------------");
  row_t rows[] = {
      {"mproc spawn", NULL, MPROC_START_SPAWN},
      {"mproc fork", NULL, MPROC_START_FORK},
      {"mproc forkserver", NULL, MPROC_START_FORKSERVER},
      {"bare exec (same exe)", one_bare_exec, 0},
      {"bare fork+waitpid", one_bare_fork, 0},
  };
  double med[5];
  for (int i = 0; i < 5; i++)
    med[i] = measure(&rows[i], n);
  printf("\n");
  if (med[0] > 0 && med[3] > 0)
    printf("spawn / bare exec: %.2fx\n", med[0] / med[3]);
  if (med[1] > 0 && med[4] > 0)
    printf("fork / bare fork:  %.2fx\n", med[1] / med[4]);
  return 0;
}
