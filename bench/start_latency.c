/* Start+join latency of a child per start method, next to the bare system
 * calls measured in the same run:
 *   bare fork+wait   fork() + waitpid() (POSIX); the floor for "fork"
 *   bare exec        posix_spawn / CreateProcessW of this same binary, which
 *                    exits at once; the floor for "spawn" as a program
 *                    linked with mproc pays it
 *   libc-only exec   the same of bench_trivial (trivial.c), a C program
 *                    linked against the C library alone: what a process
 *                    costs a C user without us, so that a dependency every
 *                    child loads cannot hide in the floor
 *   socket RTT       one byte there and back between two processes over a
 *                    socketpair (POSIX): the forkserver's floor is bare
 *                    fork + one of these (its request goes to another
 *                    process)
 * and the same with 16 children started at once, then all joined.
 * Prints min / median / max in microseconds over N rounds (default 200).
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
#  include <sys/socket.h>
#  include <sys/wait.h>
#  include <time.h>
#  include <unistd.h>

#  include "bench_util.h"
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

enum { BURST = 16 };

/* k starts, then k joins, with mproc; returns microseconds, or -1. */
static double k_mproc(mproc_start_method_t m, int k) {
  mproc_process_opts_t opts = {.start_method = m};
  mproc_process_t *p[BURST];
  int rc = 0, made = 0;
  double t0 = now_us();
  for (; made < k && rc == 0; made++) {
    rc = mproc_process_new(&p[made], nothing, NULL, &opts);
    if (rc == 0 && (rc = mproc_process_start(p[made])) != 0)
      mproc_process_free(p[made]);
    if (rc)
      made--;
  }
  for (int i = 0; i < made; i++) {
    if (rc == 0)
      rc = mproc_process_join(p[i], MPROC_INFINITE);
    mproc_process_free(p[i]);
  }
  return rc ? -1 : now_us() - t0;
}

static double one_spawn(void) { return k_mproc(MPROC_START_SPAWN, 1); }
static double one_fork(void) { return k_mproc(MPROC_START_FORK, 1); }
static double one_forkserver(void) { return k_mproc(MPROC_START_FORKSERVER, 1); }
static double burst_spawn(void) { return k_mproc(MPROC_START_SPAWN, BURST); }
static double burst_fork(void) { return k_mproc(MPROC_START_FORK, BURST); }
static double burst_forkserver(void) { return k_mproc(MPROC_START_FORKSERVER, BURST); }

#ifdef _WIN32
/* Starts path (with BARE_EXIT) and waits for it. */
static double exec_and_wait(const wchar_t *path) {
  wchar_t cmd[MAX_PATH + 32];
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

static double one_bare_exec(void) {
  wchar_t path[MAX_PATH];
  GetModuleFileNameW(NULL, path, MAX_PATH);
  return exec_and_wait(path);
}

/* bench_trivial.exe, beside this program. */
static double one_trivial_exec(void) {
  wchar_t path[MAX_PATH];
  DWORD n = GetModuleFileNameW(NULL, path, MAX_PATH);
  while (n > 0 && path[n - 1] != L'\\' && path[n - 1] != L'/')
    n--;
  if (n + 20 > MAX_PATH)
    return -1;
  wcscpy(path + n, L"bench_trivial.exe");
  return exec_and_wait(path);
}

static double one_bare_fork(void) { return -1; }
static double burst_bare_exec(void) { return -1; }
static double burst_bare_fork(void) { return -1; }
static double socket_rtt(void) { return -1; }
#else
/* Starts path (with BARE_EXIT) and waits for it. */
static double exec_and_wait(const char *path) {
  char *argv[] = {(char *)path, BARE_EXIT, NULL};
  pid_t pid;
  int status;
  double t0 = now_us();
  if (posix_spawn(&pid, path, NULL, NULL, argv, environ) != 0)
    return -1;
  waitpid(pid, &status, 0);
  return now_us() - t0;
}

static double one_bare_exec(void) { return exec_and_wait("/proc/self/exe"); }

/* bench_trivial (bench/trivial.c: libc alone), beside this program. */
static double one_trivial_exec(void) {
  static char path[4096];
  if (!path[0]) {
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - 32);
    if (n <= 0)
      return -1;
    while (n > 0 && path[n - 1] != '/')
      n--;
    strcpy(path + n, "bench_trivial");
  }
  return exec_and_wait(path);
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

static double burst_bare_exec(void) {
  char *argv[] = {"/proc/self/exe", BARE_EXIT, NULL};
  pid_t pid[BURST];
  int status;
  double t0 = now_us();
  for (int i = 0; i < BURST; i++)
    if (posix_spawn(&pid[i], "/proc/self/exe", NULL, NULL, argv, environ) != 0)
      return -1;
  for (int i = 0; i < BURST; i++)
    waitpid(pid[i], &status, 0);
  return now_us() - t0;
}

static double burst_bare_fork(void) {
  pid_t pid[BURST];
  int status;
  double t0 = now_us();
  for (int i = 0; i < BURST; i++)
    if ((pid[i] = fork()) == 0)
      _exit(0);
  for (int i = 0; i < BURST; i++)
    waitpid(pid[i], &status, 0);
  return now_us() - t0;
}

/* An echo process at the other end of a socketpair, made once. */
static int echo_fd = -1;

static double socket_rtt(void) {
  if (echo_fd < 0) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
      return -1;
    pid_t pid = fork();
    if (pid == 0) {
      char c;
      close(sv[0]);
      while (read(sv[1], &c, 1) == 1 && write(sv[1], &c, 1) == 1) {
      }
      _exit(0);
    }
    close(sv[1]);
    echo_fd = sv[0];
  }
  char c = 'x';
  double t0 = now_us();
  if (write(echo_fd, &c, 1) != 1 || read(echo_fd, &c, 1) != 1)
    return -1;
  return now_us() - t0;
}
#endif

typedef struct {
  const char *name;
  double (*once)(void);
} row_t;

/* Runs a row n times: its min, median and max (false when unavailable,
 * *why saying so). */
static bool run_row(const row_t *r, int n, double out[3], const char **why) {
  double *t = malloc((size_t)n * sizeof *t);
  if (!t)
    return false;
  int ok = 0;
  *why = "";
  for (int i = 0; i < n; i++) {
    double us = r->once();
    if (us < 0) {
      *why = mproc_last_error_detail()[0] ? mproc_last_error_detail() : "not on this platform";
      break;
    }
    t[ok++] = us;
  }
  if (ok == n) {
    qsort(t, (size_t)n, sizeof *t, cmp_double);
    out[0] = t[0], out[1] = t[n / 2], out[2] = t[n - 1];
  }
  free(t);
  return ok == n;
}

static void print_row(const char *name, const double v[3]) {
  printf("| %-31s | %10.0f | %10.0f | %10.0f |\n", name, v[0], v[1], v[2]);
}

/* Prints one row; returns its median (or -1 when unavailable). */
static double measure(const row_t *r, int n) {
  double v[3];
  const char *why;
  if (!run_row(r, n, v, &why)) {
    printf("| %-31s | %10s | %10s | %10s | n/a: %s\n", r->name, "-", "-", "-", why);
    return -1;
  }
  print_row(r->name, v);
  return v[1];
}

static void ratio(const char *what, double a, double b) {
  if (a > 0 && b > 0)
    printf("%-44s %.2fx\n", what, a / b);
}

int main(int argc, char **argv) {
  mproc_main_guard(argc, argv);
  if (argc > 1 && strcmp(argv[1], BARE_EXIT) == 0)
    return 0;
  int n = argc > 1 ? atoi(argv[1]) : 200;
  if (n < 1)
    n = 200;
  enum {
    SPAWN,
    FORK,
    FORKSERVER,
    EXEC,
    TRIVIAL,
    BFORK,
    RTT,
    SPAWN16,
    FORK16,
    FORKSERVER16,
    EXEC16,
    BFORK16
  };
  row_t rows[] = {
      {"mproc spawn", one_spawn},
      {"mproc fork", one_fork},
      {"mproc forkserver", one_forkserver},
      {"bare exec (same exe)", one_bare_exec},
      {"bare exec (libc-only program)", one_trivial_exec},
      {"bare fork+waitpid", one_bare_fork},
      {"bare socket round trip", socket_rtt},
      {"mproc spawn, 16 at once", burst_spawn},
      {"mproc fork, 16 at once", burst_fork},
      {"mproc forkserver, 16 at once", burst_forkserver},
      {"bare exec, 16 at once", burst_bare_exec},
      {"bare fork, 16 at once", burst_bare_fork},
  };
  enum { NROWS = sizeof rows / sizeof rows[0] };
  if (argc == 4 && strcmp(argv[1], "--median") == 0) {
    /* Asked by the Linux build for a row of this (generic) one. */
    double v[3];
    const char *why;
    int i = atoi(argv[2]);
    if (i < 0 || i >= NROWS || !run_row(&rows[i], atoi(argv[3]), v, &why))
      return 1;
    printf("%.3f\n", v[1]);
    return 0;
  }
  printf("start+join latency, %d rounds each, microseconds\n\n", n);
  printf("| %-31s | %10s | %10s | %10s |\n", "start method", "min", "median", "max");
  printf("|%s|%s|%s|%s|\n", "---------------------------------", "------------", "------------",
         "------------");
  double med[NROWS];
  for (int i = 0; i < NROWS; i++)
    med[i] = measure(&rows[i], i >= SPAWN16 ? (n + 9) / 10 : n);
#ifdef __linux__
  /* The same starts on the generic POSIX build (no pidfd: an exit watcher
   * thread per child; no closefrom: a poll for inheritable descriptors). */
  const int generic_rows[] = {SPAWN, FORK, FORKSERVER};
  double gen[3] = {-1, -1, -1};
  for (int k = 0; k < 3; k++) {
    char args[64], name[64];
    snprintf(args, sizeof args, "--median %d %d", generic_rows[k], n);
    gen[k] = generic_sibling(args);
    snprintf(name, sizeof name, "%s, generic POSIX", rows[generic_rows[k]].name);
    if (gen[k] > 0)
      printf("| %-31s | %10s | %10.0f | %10s |\n", name, "-", gen[k], "-");
  }
#endif
  printf("\n");
  ratio("spawn / bare exec of the same exe:", med[SPAWN], med[EXEC]);
  ratio("spawn / bare exec of a libc-only program:", med[SPAWN], med[TRIVIAL]);
  ratio("fork / bare fork:", med[FORK], med[BFORK]);
  if (med[BFORK] > 0 && med[RTT] > 0)
    ratio("forkserver / (bare fork + socket round trip):", med[FORKSERVER], med[BFORK] + med[RTT]);
  ratio("spawn, 16 at once / bare exec, 16 at once:", med[SPAWN16], med[EXEC16]);
  ratio("fork, 16 at once / bare fork, 16 at once:", med[FORK16], med[BFORK16]);
  ratio("forkserver, 16 at once / bare fork, 16 at once:", med[FORKSERVER16], med[BFORK16]);
#ifdef __linux__
  ratio("spawn, generic POSIX / Linux:", gen[0], med[SPAWN]);
  ratio("fork, generic POSIX / Linux:", gen[1], med[FORK]);
  ratio("forkserver, generic POSIX / Linux:", gen[2], med[FORKSERVER]);
#endif
  return 0;
}
