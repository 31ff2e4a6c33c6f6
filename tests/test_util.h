/* Helpers shared by the test programs. Each test program is also its own
 * helper child: main() starts with mproc_main_guard, and helper roles are
 * plain target functions. */
#ifndef MPROC_TEST_UTIL_H
#define MPROC_TEST_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#ifdef _WIN32
#  include <windows.h>
#else
#  include <dirent.h>
#  include <pthread.h>
#  include <time.h>
#  include <unistd.h>
#endif

#include "mproc.h"

/* Generous: sanitizers and Wine make a process start take up to ~100 ms,
 * and a loaded CI machine more. A hang still ends here, not in CTest. */
#define TEST_WAIT_MS 60000

/* Asserts an mproc call succeeded, printing the detail when it did not. */
#define ASSERT_OK(expr)                                                                            \
  do {                                                                                             \
    int rc_ = (expr);                                                                              \
    if (rc_ != 0)                                                                                  \
      fail_msg("%s -> %s (%d): %s", #expr, mproc_err_name(rc_), rc_, mproc_last_error_detail());   \
  } while (0)

/* Asserts an mproc call failed with the given code and left a detail. */
#define ASSERT_ERR(code, expr)                                                                     \
  do {                                                                                             \
    int rc_ = (expr);                                                                              \
    if (rc_ != (code))                                                                             \
      fail_msg("%s -> %s (%d), expected %s: %s", #expr, mproc_err_name(rc_), rc_,                  \
               mproc_err_name(code), mproc_last_error_detail());                                   \
    assert_true(mproc_last_error_detail()[0] != '\0');                                             \
  } while (0)

/* Handles Wine keeps of its own, which come and go between two counts: a
 * leak check on Windows allows this many more (a leak per cycle or per
 * object adds more than that). */
enum { WINE_OWN_HANDLES = 2 };

/* Open descriptors (Linux: /proc/self/fd) or handles (Windows); -1 where
 * the count cannot be read (other POSIX systems). Wine 8 answers 0 to
 * GetProcessHandleCount: there every value a handle can take is asked. */
static inline long open_handles(void) {
#ifdef _WIN32
  DWORD n = 0, flags;
  if (GetProcessHandleCount(GetCurrentProcess(), &n) && n > 0)
    return (long)n;
  for (uintptr_t h = 4; h < 4 * 16384; h += 4)
    n += GetHandleInformation((HANDLE)h, &flags) != 0;
  return (long)n;
#elif defined(__linux__)
  DIR *d = opendir("/proc/self/fd");
  if (!d)
    return -1;
  long n = 0;
  while (readdir(d))
    n++;
  closedir(d);
  return n;
#else
  return -1;
#endif
}

/* How many holds process pid has on unnamed segments (mproc_shm_create_
 * unnamed: "mproc-shm"): its descriptors plus its mappings; -1 where this
 * cannot be read (other than Linux). pid 0: this process. */
static inline int unnamed_shm_holds(long pid) {
#ifdef __linux__
  char path[64];
  int n = 0;
  if (pid)
    snprintf(path, sizeof path, "/proc/%ld/fd", pid);
  else
    snprintf(path, sizeof path, "/proc/self/fd");
  DIR *d = opendir(path);
  if (!d)
    return -1;
  struct dirent *e;
  while ((e = readdir(d))) {
    char link[320], target[256];
    snprintf(link, sizeof link, "%s/%s", path, e->d_name);
    ssize_t len = readlink(link, target, sizeof target - 1);
    target[len > 0 ? len : 0] = '\0';
    n += strstr(target, "mproc-shm") != NULL;
  }
  closedir(d);
  snprintf(path + strlen(path) - 2, 8, "maps");
  FILE *f = fopen(path, "r");
  char line[512];
  while (f && fgets(line, sizeof line, f))
    n += strstr(line, "mproc-shm") != NULL;
  if (f)
    fclose(f);
  return n;
#else
  (void)pid;
  return -1;
#endif
}

/* A local listening address of this process's own, named after what
 * uses it: a named pipe (Windows) or a unix socket in /tmp (POSIX). */
static inline void local_address(char *buf, size_t cap, const char *name) {
#ifdef _WIN32
  snprintf(buf, cap, "pipe:\\\\.\\pipe\\mproc-test-%s-%lld", name, (long long)mproc_current_pid());
#else
  snprintf(buf, cap, "unix:/tmp/mproc-test-%s-%lld.sock", name, (long long)mproc_current_pid());
#endif
}

static inline void sleep_ms(int ms) {
#ifdef _WIN32
  Sleep((DWORD)ms);
#else
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
#endif
}

/* A monotonic clock in milliseconds. */
static inline int64_t now_ms(void) {
#ifdef _WIN32
  return (int64_t)GetTickCount64();
#else
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
#endif
}

/* Sets (value != NULL) or removes an environment variable. */
static inline void set_env(const char *name, const char *value) {
#ifdef _WIN32
  char buf[512];
  snprintf(buf, sizeof buf, "%s=%s", name, value ? value : "");
  _putenv(buf);
#else
  if (value)
    setenv(name, value, 1);
  else
    unsetenv(name);
#endif
}

static inline bool file_exists(const char *path) {
  FILE *f = fopen(path, "rb");
  if (f)
    fclose(f);
  return f != NULL;
}

/* A thread running fn(arg), for the thread-safety tests. */
typedef struct {
#ifdef _WIN32
  HANDLE h;
#else
  pthread_t t;
#endif
  void (*fn)(void *);
  void *arg;
} test_thread_t;

#ifdef _WIN32
static DWORD WINAPI test_thread_main(LPVOID p) {
  test_thread_t *t = p;
  t->fn(t->arg);
  return 0;
}
#else
static void *test_thread_main(void *p) {
  test_thread_t *t = p;
  t->fn(t->arg);
  return NULL;
}
#endif

static inline void thread_start(test_thread_t *t, void (*fn)(void *), void *arg) {
  t->fn = fn;
  t->arg = arg;
#ifdef _WIN32
  t->h = CreateThread(NULL, 0, test_thread_main, t, 0, NULL);
  assert_non_null(t->h);
#else
  assert_int_equal(pthread_create(&t->t, NULL, test_thread_main, t), 0);
#endif
}

static inline void thread_join(test_thread_t *t) {
#ifdef _WIN32
  WaitForSingleObject(t->h, INFINITE);
  CloseHandle(t->h);
#else
  pthread_join(t->t, NULL);
#endif
}

/* ---- helper roles shared by the test programs (targets) ---- */

static inline int t_exit_code(const mproc_args_t *args) {
  int64_t code = 0;
  mproc_args_get_int(args, 0, &code);
  return (int)code;
}

/* Runs until the file args[0] exists (at most TEST_WAIT_MS), removes it.
 * args[1], if there, is how often to look, in ms (default 5): many children
 * looking often starve a 2-core machine, and Wine's process start-up most. */
static inline int t_wait_for_file(const mproc_args_t *args) {
  const char *path;
  int64_t every = 5;
  if (mproc_args_get_str(args, 0, &path))
    return 1;
  mproc_args_get_int(args, 1, &every);
  for (int waited = 0; waited < TEST_WAIT_MS; waited += (int)every) {
    if (file_exists(path)) {
      remove(path);
      return 3;
    }
    sleep_ms((int)every);
  }
  return 4;
}

/* Starts target(args) in a child process. */
static inline mproc_process_t *start_child(mproc_target_fn target, const mproc_args_t *args) {
  mproc_process_t *p = NULL;
  ASSERT_OK(mproc_process_new(&p, target, args, NULL));
  ASSERT_OK(mproc_process_start(p));
  return p;
}

/* Joins p with a timeout, frees it and returns its exit code. */
static inline int finish_child(mproc_process_t *p) {
  int code = -1000;
  ASSERT_OK(mproc_process_join(p, TEST_WAIT_MS));
  ASSERT_OK(mproc_process_exitcode(p, &code));
  mproc_process_free(p);
  return code;
}

/* Starts target(args), joins it with a timeout and returns its exit code. */
static inline int run_child(mproc_target_fn target, const mproc_args_t *args) {
  return finish_child(start_child(target, args));
}

/* A file name unique to this process and call, in the working directory. */
static inline void temp_name(char *buf, size_t cap, const char *tag) {
  static int n;
  snprintf(buf, cap, "mproc-test-%s-%lld-%d.tmp", tag, (long long)mproc_current_pid(), ++n);
}

/* Reads a whole file; returns a malloc'd buffer (NULL if missing). */
static inline unsigned char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  size_t cap = 1 << 16, n = 0;
  unsigned char *buf = malloc(cap);
  size_t r;
  while (buf && (r = fread(buf + n, 1, cap - n, f)) > 0) {
    n += r;
    if (n == cap) {
      unsigned char *nb = realloc(buf, cap *= 2);
      if (!nb) {
        free(buf);
        buf = NULL;
      } else {
        buf = nb;
      }
    }
  }
  fclose(f);
  *len = n;
  return buf;
}

static inline int write_file(const char *path, const void *p, size_t n) {
  FILE *f = fopen(path, "wb");
  if (!f)
    return -1;
  size_t w = fwrite(p, 1, n, f);
  return (fclose(f) == 0 && w == n) ? 0 : -1;
}

/* Runs the CMocka group named by argv[1] among the given ones. */
typedef struct {
  const char *name;
  const struct CMUnitTest *tests;
  size_t count;
} test_group_t;

#define TEST_GROUP(name, array)                                                                    \
  { name, array, sizeof array / sizeof array[0] }

static inline int run_groups(int argc, char **argv, const test_group_t *groups, size_t n) {
  int failed = 0;
  bool ran = false;
  for (size_t i = 0; i < n; i++) {
    if (argc > 1 && strcmp(argv[1], groups[i].name) != 0)
      continue;
    ran = true;
    /* CMocka's public macro counts the tests with sizeof: a pointer to an
     * array of the group's run-time length gives it that count. */
    const struct CMUnitTest(*tests)[groups[i].count] =
        (const struct CMUnitTest(*)[groups[i].count])groups[i].tests;
    failed |= cmocka_run_group_tests_name(groups[i].name, *tests, NULL, NULL);
  }
  if (!ran) {
    fprintf(stderr, "no test group named %s\n", argv[1]);
    return 2;
  }
  return failed;
}

/* The tuple (0, 1, ..., n-1): a map's input. */
static inline mproc_args_t *test_ints(int64_t n) {
  mproc_args_t *a;
  ASSERT_OK(mproc_args_new(&a));
  for (int64_t i = 0; i < n; i++)
    ASSERT_OK(mproc_args_add_int(a, i));
  return a;
}

/* The tuple ((0, second), (1, second), ..., (n-1, second)): starmap's. */
static inline mproc_args_t *test_pairs(int n, int64_t second) {
  mproc_args_t *items;
  ASSERT_OK(mproc_args_new(&items));
  for (int i = 0; i < n; i++) {
    mproc_args_t *pair;
    ASSERT_OK(mproc_args_new(&pair));
    ASSERT_OK(mproc_args_add_int(pair, i));
    ASSERT_OK(mproc_args_add_int(pair, second));
    ASSERT_OK(mproc_args_add_args(items, pair));
    mproc_args_free(pair);
  }
  return items;
}

/* The first int of item i of a map's results (each a result tuple). */
static inline int64_t test_item_int(const mproc_args_t *results, size_t i) {
  const mproc_args_t *item;
  int64_t v = -1;
  ASSERT_OK(mproc_args_get_args(results, i, &item));
  ASSERT_OK(mproc_args_get_int(item, 0, &v));
  return v;
}

/* Asserts that item i of a holds exactly the n bytes at want. */
static inline void test_expect_bytes(const mproc_args_t *a, size_t i, const void *want, size_t n) {
  const void *got;
  size_t len;
  ASSERT_OK(mproc_args_get_bytes(a, i, &got, &len));
  assert_int_equal(len, n);
  assert_memory_equal(got, want, n);
}

#endif
