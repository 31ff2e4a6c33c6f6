/* What the tutorial programs share, so each reads like its Python.
 *
 * CHECK stops the program with the reason when a call fails - what an
 * uncaught exception does in Python. args_of builds an argument tuple
 * from items, Python's args=(...). */
#ifndef MPROC_TUTORIAL_H
#define MPROC_TUTORIAL_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <mproc.h>

#ifdef _WIN32
#  include <windows.h>
#else
#  include <time.h>
#endif

#define CHECK(call)                                                                                \
  do {                                                                                             \
    int rc_ = (call);                                                                              \
    if (rc_ < 0) {                                                                                 \
      fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, mproc_err_name(rc_),                  \
              mproc_last_error_detail());                                                          \
      exit(1);                                                                                     \
    }                                                                                              \
  } while (0)

/* args=(a, b, ...): a tuple of n items (free it with mproc_args_free). */
static inline mproc_args_t *args_of(int n, ...) {
  mproc_args_t *a;
  CHECK(mproc_args_new(&a));
  va_list ap;
  va_start(ap, n);
  for (int i = 0; i < n; i++)
    CHECK(mproc_args_add_item(a, va_arg(ap, mproc_item_t)));
  va_end(ap);
  return a;
}

/* Process(target=fn, args=args).start(); args may be NULL (and is freed). */
static inline mproc_process_t *start(mproc_target_fn fn, mproc_args_t *args) {
  mproc_process_t *p;
  CHECK(mproc_process_new(&p, fn, args, NULL));
  CHECK(mproc_process_start(p));
  mproc_args_free(args);
  return p;
}

/* p.join(); returns p.exitcode and frees p. */
static inline int join(mproc_process_t *p) {
  int code = -1;
  CHECK(mproc_process_join(p, MPROC_INFINITE));
  CHECK(mproc_process_exitcode(p, &code));
  mproc_process_free(p);
  return code;
}

/* time.sleep(seconds) */
static inline void sleep_s(double seconds) {
#ifdef _WIN32
  Sleep((DWORD)(seconds * 1000));
#else
  struct timespec ts = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
  nanosleep(&ts, NULL);
#endif
}

/* time.time(), in seconds, monotonic. */
static inline double now(void) {
#ifdef _WIN32
  return (double)GetTickCount64() / 1000.0;
#else
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
#endif
}

/* An int item of a tuple (0 when it is missing: the tutorials know their
 * arguments). */
static inline int64_t int_at(const mproc_args_t *a, size_t i) {
  int64_t v = 0;
  mproc_args_get_int(a, i, &v);
  return v;
}

static inline const char *str_at(const mproc_args_t *a, size_t i) {
  const char *s = "";
  mproc_args_get_str(a, i, &s);
  return s;
}

#endif
