/* The fork-with-threads hazard. Another thread of the parent holds a lock
 * most of the time (a mutex, malloc's own locks while it allocates, or a
 * stdio stream's lock while it writes);
 * at that moment a child is started. A forked child inherits the lock held
 * by a thread it does not have, and waits for ever when it takes it: the
 * child here gives up after a quarter of a second and says so. Spawn and forkserver
 * children start from a clean process and never do. */
#include <stdlib.h>
#include <string.h>

#include "bench.h"

#ifdef _WIN32
#  include <windows.h>
static SRWLOCK hazard = SRWLOCK_INIT;
static bool take_hazard(void) {
  for (double until = now_us() + 250e3; now_us() < until; Sleep(1))
    if (TryAcquireSRWLockExclusive(&hazard)) {
      ReleaseSRWLockExclusive(&hazard);
      return true;
    }
  return false;
}
static void hold_hazard(void) { /* held 200 us at a time, free for an instant */
  AcquireSRWLockExclusive(&hazard);
  for (double until = now_us() + 200; now_us() < until;) {
  }
  ReleaseSRWLockExclusive(&hazard);
}
#else
#  include <errno.h>
#  include <pthread.h>
#  include <signal.h>
#  include <time.h>
#  include <unistd.h>
static pthread_mutex_t hazard = PTHREAD_MUTEX_INITIALIZER;
/* A try-lock for a quarter of a second (macOS has no
 * pthread_mutex_timedlock): in a child the holder thread is gone, so the
 * mutex is either free or held for ever. */
static bool take_hazard(void) {
  const struct timespec ms = {0, 1000000};
  for (double until = now_us() + 250e3; now_us() < until; nanosleep(&ms, NULL))
    if (pthread_mutex_trylock(&hazard) == 0) {
      pthread_mutex_unlock(&hazard);
      return true;
    }
  return false;
}
static void hold_hazard(void) { /* held 200 us at a time, free for an instant */
  pthread_mutex_lock(&hazard);
  for (double until = now_us() + 200; now_us() < until;) {
  }
  pthread_mutex_unlock(&hazard);
}
#endif

static volatile int holders_stop;
static volatile int variant; /* 0: a mutex; 1: malloc; 2: a stdio stream */
static FILE *stream;         /* the stdio variant's: the null device */

#ifdef _WIN32
#  define NULL_DEVICE "NUL"
static void lock_stream(FILE *f) { _lock_file(f); }
static void unlock_stream(FILE *f) { _unlock_file(f); }
#else
#  define NULL_DEVICE "/dev/null"
static void lock_stream(FILE *f) { flockfile(f); }
static void unlock_stream(FILE *f) { funlockfile(f); }
#endif

/* Writes to the stream, holding its lock 200 us at a time. */
static void hold_stream(void) {
  lock_stream(stream);
  for (double until = now_us() + 200; now_us() < until;)
    fputs("x", stream); /* the lock is recursive: taken again inside */
  unlock_stream(stream);
}

#ifdef _WIN32
static DWORD WINAPI holder(LPVOID arg) {
#else
static void *holder(void *arg) {
#endif
  (void)arg;
  while (!holders_stop) {
    if (variant == 0) {
      hold_hazard();
    } else if (variant == 2) {
      hold_stream();
    } else {
      void *p[64];
      for (int i = 0; i < 64; i++)
        p[i] = malloc(16 + (size_t)i * 64);
      for (int i = 0; i < 64; i++)
        free(p[i]);
    }
  }
  return 0;
}

/* The child: takes the lock the parent's other thread held (or
 * allocates); 0 when it could, 3 when it was stuck. */
static int safety_child(const mproc_args_t *args) {
  int64_t which = 0;
  mproc_args_get_int(args, 0, &which);
  if (which == 0)
    return take_hazard() ? 0 : 3;
#ifndef _WIN32
  alarm(1); /* stuck in malloc or stdio: SIGALRM ends it (a negative exit code) */
#endif
  if (which == 1) {
    free(malloc(100));
    return 0;
  }
  /* A forked child has the parent's stream, its lock perhaps held by a
   * thread that did not come along; a spawned one opens its own. */
  FILE *f = stream ? stream : fopen(NULL_DEVICE, "w");
  if (!f)
    return 4;
  fputs("y", f);
  fflush(f);
  return 0;
}

static void start_holder(void) {
#ifdef _WIN32
  CloseHandle(CreateThread(NULL, 0, holder, NULL, 0, NULL));
#else
  pthread_t t;
  if (pthread_create(&t, NULL, holder, NULL) == 0)
    pthread_detach(t);
#endif
}

/* mproc warns before each fork of a threaded process: expected here, so
 * counted rather than printed. */
static void count_warning(mproc_log_level_t level, const char *line, void *ctx) {
  (void)line;
  *(int *)ctx += level >= MPROC_LOG_WARNING;
}

int run_safety(const bench_config_t *c, result_t *rows, int n) {
  static int warnings;
  mproc_log_set_handler(count_warning, &warnings);
  holders_stop = 0;
  stream = fopen(NULL_DEVICE, "w");
  start_holder();
  for (int v = 0; v < 3; v++) {
    if (v == 2 && !stream)
      break; /* no null device: no stdio rows */
    variant = v;
    mproc_args_t *a;
    if (mproc_args_new(&a) || mproc_args_add_int(a, v))
      return 2;
    bool done[M_COUNT] = {false};
    for (int k = 0; k < n; k++) { /* once per method: the first configuration */
      if (rows[k].method > M_FORKSERVER || done[rows[k].method])
        continue;
      done[rows[k].method] = true;
      mproc_process_opts_t o = {.start_method = rows[k].method == M_FORK ? MPROC_START_FORK
                                                : rows[k].method == M_FORKSERVER
                                                    ? MPROC_START_FORKSERVER
                                                    : MPROC_START_SPAWN};
      int trials = 0, stuck = 0;
      for (int t = 0; t < c->safety_trials; t++) {
        mproc_process_t *p;
        int code = 0;
        if (mproc_process_new(&p, safety_child, a, &o) || mproc_process_start(p))
          break;
        if (mproc_process_join(p, 5000) == MPROC_ETIMEDOUT)
          mproc_process_kill(p), mproc_process_join(p, MPROC_INFINITE);
        mproc_process_exitcode(p, &code);
        mproc_process_free(p);
        trials++;
        stuck += code != 0;
      }
      if (v == 0) {
        rows[k].safety_trials = trials;
        rows[k].deadlocks = stuck;
      } else if (v == 1) {
        rows[k].safety_trials_malloc = trials;
        rows[k].deadlocks_malloc = stuck;
      } else {
        rows[k].safety_trials_stdio = trials;
        rows[k].deadlocks_stdio = stuck;
      }
    }
    mproc_args_free(a);
  }
  holders_stop = 1;
  mproc_log_set_handler(NULL, NULL);
  if (warnings && !c->quiet)
    fprintf(stderr, "mproc warned %d times that it forked a process with threads (as it should)\n",
            warnings);
  return 0;
}
