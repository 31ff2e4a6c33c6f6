/* Synchronization objects, next to their peers in one run:
 *   uncontended acquire+release of a Lock and a Semaphore, set+wait+clear
 *   of an Event (ns per operation), a Lock shared by two processes that
 *   both hammer it (operations/s), and two-process ping-pong through two
 *   Locks (each released by the other process, as Python allows), two
 *   Semaphores or two Events (round trips/s).
 * Peers: a raw futex loop (the speed limit), a process-shared pthread
 * mutex / POSIX semaphore / pthread condition, APR's apr_proc_mutex (when
 * built with APR), and Python's multiprocessing. POSIX only.
 *
 *   bench_sync [scale]   (scale 1 = default counts; larger is longer) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mproc.h>

#if defined(_WIN32) || !defined(__linux__)
int main(void) {
  puts("bench_sync: Linux only (its speed limit is a raw futex)");
  return 0;
}
#else
#  include <linux/futex.h>
#  include <pthread.h>
#  include <semaphore.h>
#  include <stdatomic.h>
#  include <sys/mman.h>
#  include <sys/syscall.h>
#  include <sys/wait.h>
#  include <time.h>
#  include <unistd.h>

#  include "bench_util.h"
#  ifdef MPROC_BENCH_HAVE_APR
#    include <apr_general.h>
#    include <apr_proc_mutex.h>
#  endif

enum {
  LOCK_UNCONTENDED,
  SEM_UNCONTENDED,
  EVENT_UNCONTENDED,
  LOCK_CONTENDED,
  LOCK_PINGPONG,
  SEM_PINGPONG,
  EVENT_PINGPONG,
  ROWS
};
static const char *row_names[ROWS] = {"Lock acquire+release (ns)", "Semaphore acq+rel (ns)",
                                      "Event set+wait+clear (ns)", "Lock, 2 procs (ops/s)",
                                      "Lock ping-pong (rt/s)",     "Semaphore ping-pong (rt/s)",
                                      "Event ping-pong (rt/s)"};
static bool per_op_ns(int row) { return row <= EVENT_UNCONTENDED; }

/* Turns a time for n operations (or round trips) into the row's unit. */
static double value(int row, double t, long n) {
  if (t <= 0)
    return -1;
  return per_op_ns(row) ? t / (double)n * 1e9 : (double)n / t;
}

/* ---- mproc ---- */

/* args: (obj a, obj b, row, n): the other side of a two-process row. */
static int mproc_peer(const mproc_args_t *args) {
  int64_t row, n;
  if (mproc_args_get_int(args, 2, &row) || mproc_args_get_int(args, 3, &n))
    return 1;
  if (row == LOCK_CONTENDED) {
    mproc_lock_t *l;
    mproc_event_t *go;
    mproc_args_get_lock(args, 0, &l);
    mproc_args_get_event(args, 1, &go);
    mproc_event_set(go);                /* ready ... */
    while (mproc_event_is_set(go) == 1) /* ... and the parent clears it: go */
      ;
    for (int64_t i = 0; i < n; i++) {
      mproc_lock_acquire(l, MPROC_INFINITE);
      mproc_lock_release(l);
    }
  } else if (row == LOCK_PINGPONG) {
    mproc_lock_t *ping, *pong;
    mproc_args_get_lock(args, 0, &ping);
    mproc_args_get_lock(args, 1, &pong);
    for (int64_t i = 0; i < n; i++) {
      mproc_lock_acquire(ping, MPROC_INFINITE);
      mproc_lock_release(pong);
    }
  } else if (row == SEM_PINGPONG) {
    mproc_sem_t *ping, *pong;
    mproc_args_get_sem(args, 0, &ping);
    mproc_args_get_sem(args, 1, &pong);
    for (int64_t i = 0; i < n; i++) {
      mproc_sem_acquire(ping, MPROC_INFINITE);
      mproc_sem_release(pong);
    }
  } else {
    mproc_event_t *ping, *pong;
    mproc_args_get_event(args, 0, &ping);
    mproc_args_get_event(args, 1, &pong);
    for (int64_t i = 0; i < n; i++) {
      mproc_event_wait(ping, MPROC_INFINITE);
      mproc_event_clear(ping);
      mproc_event_set(pong);
    }
  }
  return 0;
}

static mproc_process_t *start_peer(mproc_args_t *a, int row, long n) {
  mproc_process_t *p = NULL;
  if (mproc_args_add_int(a, row) || mproc_args_add_int(a, n) ||
      mproc_process_new(&p, mproc_peer, a, NULL) || mproc_process_start(p))
    return NULL;
  mproc_args_free(a);
  return p;
}

static double mproc_row(int row, long n) {
  double t0, t = -1;
  if (row == LOCK_UNCONTENDED || row == LOCK_CONTENDED) {
    mproc_lock_t *l;
    mproc_event_t *go;
    mproc_lock_new(&l);
    mproc_event_new(&go);
    mproc_process_t *p = NULL;
    if (row == LOCK_CONTENDED) {
      mproc_args_t *a;
      mproc_args_new(&a);
      mproc_args_add_lock(a, l);
      mproc_args_add_event(a, go);
      p = start_peer(a, row, n / 2);
      mproc_event_wait(go, MPROC_INFINITE); /* the peer is ready */
      mproc_event_clear(go);                /* go */
    }
    t0 = now_s();
    for (long i = 0; i < (p ? n / 2 : n); i++) {
      mproc_lock_acquire(l, MPROC_INFINITE);
      mproc_lock_release(l);
    }
    if (p) {
      mproc_process_join(p, MPROC_INFINITE);
      mproc_process_free(p);
    }
    t = now_s() - t0;
    mproc_lock_free(l);
    mproc_event_free(go);
  } else if (row == LOCK_PINGPONG) {
    /* Both locks start held; each side releases the lock the other waits
     * on, so a Lock works as a binary semaphore across processes. */
    mproc_lock_t *ping, *pong;
    mproc_lock_new(&ping);
    mproc_lock_new(&pong);
    mproc_lock_acquire(ping, 0);
    mproc_lock_acquire(pong, 0);
    mproc_args_t *a;
    mproc_args_new(&a);
    mproc_args_add_lock(a, ping);
    mproc_args_add_lock(a, pong);
    mproc_process_t *p = start_peer(a, row, n);
    t0 = now_s();
    for (long i = 0; p && i < n; i++) {
      mproc_lock_release(ping);
      mproc_lock_acquire(pong, MPROC_INFINITE);
    }
    t = now_s() - t0;
    if (p) {
      mproc_process_join(p, MPROC_INFINITE);
      mproc_process_free(p);
    }
    mproc_lock_free(ping);
    mproc_lock_free(pong);
  } else if (row == SEM_UNCONTENDED || row == SEM_PINGPONG) {
    mproc_sem_t *ping, *pong;
    mproc_sem_new(&ping, row == SEM_UNCONTENDED, NULL);
    mproc_sem_new(&pong, 0, NULL);
    mproc_process_t *p = NULL;
    if (row == SEM_PINGPONG) {
      mproc_args_t *a;
      mproc_args_new(&a);
      mproc_args_add_sem(a, ping);
      mproc_args_add_sem(a, pong);
      p = start_peer(a, row, n);
    }
    t0 = now_s();
    for (long i = 0; i < n; i++) {
      if (p) {
        mproc_sem_release(ping);
        mproc_sem_acquire(pong, MPROC_INFINITE);
      } else {
        mproc_sem_acquire(ping, MPROC_INFINITE);
        mproc_sem_release(ping);
      }
    }
    t = now_s() - t0;
    if (p) {
      mproc_process_join(p, MPROC_INFINITE);
      mproc_process_free(p);
    }
    mproc_sem_free(ping);
    mproc_sem_free(pong);
  } else {
    mproc_event_t *ping, *pong;
    mproc_event_new(&ping);
    mproc_event_new(&pong);
    mproc_process_t *p = NULL;
    if (row == EVENT_PINGPONG) {
      mproc_args_t *a;
      mproc_args_new(&a);
      mproc_args_add_event(a, ping);
      mproc_args_add_event(a, pong);
      p = start_peer(a, row, n);
    }
    t0 = now_s();
    for (long i = 0; i < n; i++) {
      mproc_event_set(ping);
      mproc_event_wait(p ? pong : ping, MPROC_INFINITE);
      mproc_event_clear(p ? pong : ping);
    }
    t = now_s() - t0;
    if (p) {
      mproc_process_join(p, MPROC_INFINITE);
      mproc_process_free(p);
    }
    mproc_event_free(ping);
    mproc_event_free(pong);
  }
  return t;
}

/* ---- raw futex: the same algorithms with nothing around them ---- */

typedef struct {
  _Atomic uint32_t lock, ping, pong, sleepers;
} raw_t;

static void futex_wait(_Atomic uint32_t *w, uint32_t v) {
  syscall(SYS_futex, (uint32_t *)w, FUTEX_WAIT, v, NULL, NULL, 0);
}
static void futex_wake(_Atomic uint32_t *w, int n) {
  syscall(SYS_futex, (uint32_t *)w, FUTEX_WAKE, n, NULL, NULL, 0);
}

/* Drepper's mutex: 0 free, 1 locked, 2 locked with sleepers. Every raw
 * operation is a function call, as a library's is (noinline), so the loop
 * is the cost of the algorithm, not of a loop the compiler folded. */
__attribute__((noinline)) static void raw_lock(void *word) {
  _Atomic uint32_t *w = word;
  uint32_t c = 0;
  if (atomic_compare_exchange_strong(w, &c, 1))
    return;
  if (c != 2)
    c = atomic_exchange(w, 2);
  while (c != 0) {
    futex_wait(w, 2);
    c = atomic_exchange(w, 2);
  }
}
__attribute__((noinline)) static void raw_unlock(void *word) {
  _Atomic uint32_t *w = word;
  if (atomic_exchange(w, 0) == 2)
    futex_wake(w, 1);
}
/* A counting semaphore: the word is the count; a wake only when someone
 * sleeps (the same economy mproc makes, so the loop is a fair limit). */
static _Atomic uint32_t *raw_sleepers;
__attribute__((noinline)) static void raw_sem_wait(void *word) {
  _Atomic uint32_t *w = word;
  for (;;) {
    uint32_t v = atomic_load(w);
    if (v > 0 && atomic_compare_exchange_weak(w, &v, v - 1))
      return;
    if (v == 0) {
      atomic_fetch_add(raw_sleepers, 1);
      futex_wait(w, 0);
      atomic_fetch_sub(raw_sleepers, 1);
    }
  }
}
__attribute__((noinline)) static void raw_sem_post(void *word) {
  _Atomic uint32_t *w = word;
  atomic_fetch_add(w, 1);
  if (atomic_load(raw_sleepers))
    futex_wake(w, 1);
}

/* Both sides of a two-process row start together: the child says it is
 * ready and waits for go (spinning: this is set-up, not measured). */
typedef struct {
  _Atomic int ready, go;
} start_line_t;
static start_line_t *start_line_new(void) {
  start_line_t *s =
      mmap(NULL, sizeof *s, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  return s == MAP_FAILED ? NULL : s;
}
static void child_at_start(start_line_t *s) {
  atomic_store(&s->ready, 1);
  while (!atomic_load(&s->go))
    ;
}
static void parent_at_start(start_line_t *s) {
  while (!atomic_load(&s->ready))
    ;
  atomic_store(&s->go, 1);
}

/* A bare peer as functions on objects in shared memory: a lock (lock
 * rows) and two semaphores (the others). child_init, if any, runs in the
 * forked child first. */
typedef struct {
  void (*lock)(void *), (*unlock)(void *), (*post)(void *), (*wait)(void *);
  void (*child_init)(void *ctx);
  void *mutex, *ping, *pong, *ctx;
} bare_t;

/* One row for a bare peer: alone, or with a forked second process.
 * Always inlined into callers that pass a constant table, so every call
 * through it is a direct call again and the peer pays no indirection. */
static inline __attribute__((always_inline)) double bare_row(int row, long n, const bare_t *b) {
  start_line_t *line = start_line_new();
  if (!line)
    return -1;
  bool two = row >= LOCK_CONTENDED;
  bool locks = row == LOCK_UNCONTENDED || row == LOCK_CONTENDED;
  long mine = row == LOCK_CONTENDED ? n / 2 : n;
  pid_t pid = two ? fork() : -1;
  if (pid == 0) {
    if (b->child_init)
      b->child_init(b->ctx);
    child_at_start(line);
    for (long i = 0; i < mine; i++) {
      if (locks) {
        b->lock(b->mutex);
        b->unlock(b->mutex);
      } else {
        b->wait(b->ping);
        b->post(b->pong);
      }
    }
    _exit(0);
  }
  if (two)
    parent_at_start(line);
  double t0 = now_s();
  for (long i = 0; i < mine; i++) {
    if (locks) {
      b->lock(b->mutex);
      b->unlock(b->mutex);
    } else {
      b->post(b->ping);
      b->wait(two ? b->pong : b->ping);
    }
  }
  if (two)
    waitpid(pid, NULL, 0);
  double t = now_s() - t0;
  munmap(line, sizeof *line);
  return t;
}

static double raw_row(int row, long n) {
  raw_t *r = mmap(NULL, sizeof *r, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (r == MAP_FAILED)
    return -1;
  raw_sleepers = &r->sleepers;
  double t;
  if (row == LOCK_PINGPONG) {
    /* Two futex mutexes, both locked: post is unlock, wait is lock. */
    atomic_store(&r->ping, 1);
    atomic_store(&r->pong, 1);
    const bare_t b = {raw_lock, raw_unlock, raw_unlock, raw_lock, NULL,
                      &r->lock, &r->ping,   &r->pong,   NULL};
    t = bare_row(row, n, &b);
  } else {
    const bare_t b = {raw_lock, raw_unlock, raw_sem_post, raw_sem_wait, NULL,
                      &r->lock, &r->ping,   &r->pong,     NULL};
    t = bare_row(row, n, &b);
  }
  munmap(r, sizeof *r);
  return t;
}

/* ---- process-shared pthread mutex and POSIX semaphores ---- */

typedef struct {
  pthread_mutex_t m;
  sem_t ping, pong;
} pshared_t;

static void pthread_lock_fn(void *m) { pthread_mutex_lock(m); }
static void pthread_unlock_fn(void *m) { pthread_mutex_unlock(m); }
static void posix_post_fn(void *s) { sem_post(s); }
static void posix_wait_fn(void *s) { sem_wait(s); }

static double pthread_row(int row, long n) {
  if (row == EVENT_UNCONTENDED || row == EVENT_PINGPONG || row == LOCK_PINGPONG)
    return -1; /* no such object; a mutex released by another process is undefined */
  pshared_t *s = mmap(NULL, sizeof *s, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (s == MAP_FAILED)
    return -1;
  pthread_mutexattr_t ma;
  pthread_mutexattr_init(&ma);
  pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
  pthread_mutex_init(&s->m, &ma);
  sem_init(&s->ping, 1, 0);
  sem_init(&s->pong, 1, 0);
  const bare_t b = {pthread_lock_fn, pthread_unlock_fn, posix_post_fn, posix_wait_fn, NULL,
                    &s->m,           &s->ping,          &s->pong,      NULL};
  double t = bare_row(row, n, &b);
  munmap(s, sizeof *s);
  return t;
}

/* ---- APR: apr_proc_mutex with its default mechanism ---- */

#  ifdef MPROC_BENCH_HAVE_APR
static void apr_lock_fn(void *m) { apr_proc_mutex_lock(m); }
static void apr_unlock_fn(void *m) { apr_proc_mutex_unlock(m); }
typedef struct {
  apr_proc_mutex_t **m;
  apr_pool_t *pool;
} apr_child_t;
/* The forked child re-opens the mutex, as APR asks (a no-op for its
 * default, a process-shared pthread mutex). */
static void apr_child_init(void *ctx) {
  apr_child_t *c = ctx;
  apr_proc_mutex_child_init(c->m, NULL, c->pool);
}
#  endif

static double apr_row(int row, long n) {
#  ifdef MPROC_BENCH_HAVE_APR
  if (row != LOCK_UNCONTENDED && row != LOCK_CONTENDED)
    return -1;
  apr_pool_t *pool;
  apr_proc_mutex_t *m;
  if (apr_initialize() != APR_SUCCESS || apr_pool_create(&pool, NULL) != APR_SUCCESS ||
      apr_proc_mutex_create(&m, NULL, APR_LOCK_DEFAULT, pool) != APR_SUCCESS)
    return -1;
  apr_child_t child = {&m, pool};
  const bare_t b = {apr_lock_fn, apr_unlock_fn, NULL, NULL, apr_child_init, m, NULL, NULL, &child};
  double t = bare_row(row, n, &b);
  apr_proc_mutex_destroy(m);
  apr_pool_destroy(pool);
  return t;
#  else
  (void)row;
  (void)n;
  return -1;
#  endif
}

/* ---- Python's multiprocessing ---- */

static double python_row(int row, long n) {
  static const char *bodies[ROWS] = {
      /* LOCK_UNCONTENDED */
      "    l = mp.Lock(); t0 = time.perf_counter()\n"
      "    for _ in range(n): l.acquire(); l.release()\n",
      /* SEM_UNCONTENDED */
      "    s = mp.Semaphore(1); t0 = time.perf_counter()\n"
      "    for _ in range(n): s.acquire(); s.release()\n",
      /* EVENT_UNCONTENDED */
      "    e = mp.Event(); t0 = time.perf_counter()\n"
      "    for _ in range(n): e.set(); e.wait(); e.clear()\n",
      /* LOCK_CONTENDED */
      "    l = mp.Lock(); ready = mp.Event(); go = mp.Event()\n"
      "    p = mp.Process(target=hammer, args=(l, ready, go, n // 2)); p.start()\n"
      "    ready.wait(); go.set(); t0 = time.perf_counter()\n"
      "    for _ in range(n // 2): l.acquire(); l.release()\n"
      "    p.join()\n",
      /* LOCK_PINGPONG */
      "    a = mp.Lock(); b = mp.Lock(); a.acquire(); b.acquire()\n"
      "    p = mp.Process(target=locks, args=(a, b, n)); p.start(); t0 = time.perf_counter()\n"
      "    for _ in range(n): a.release(); b.acquire()\n",
      /* SEM_PINGPONG */
      "    a = mp.Semaphore(0); b = mp.Semaphore(0)\n"
      "    p = mp.Process(target=sems, args=(a, b, n)); p.start(); t0 = time.perf_counter()\n"
      "    for _ in range(n): a.release(); b.acquire()\n",
      /* EVENT_PINGPONG */
      "    a = mp.Event(); b = mp.Event()\n"
      "    p = mp.Process(target=events, args=(a, b, n)); p.start(); t0 = time.perf_counter()\n"
      "    for _ in range(n): a.set(); b.wait(); b.clear()\n",
  };
  char cmd[4096];
  snprintf(cmd, sizeof cmd,
           "python3 - <<'EOF' 2>/dev/null\n"
           "import multiprocessing as mp, time\n"
           "def hammer(l, ready, go, n):\n"
           "    ready.set(); go.wait()\n"
           "    for _ in range(n): l.acquire(); l.release()\n"
           "def locks(a, b, n):\n"
           "    for _ in range(n): a.acquire(); b.release()\n"
           "def sems(a, b, n):\n"
           "    for _ in range(n): a.acquire(); b.release()\n"
           "def events(a, b, n):\n"
           "    for _ in range(n): a.wait(); a.clear(); b.set()\n"
           "if __name__ == '__main__':\n"
           "    n = %ld\n"
           "%s"
           "    print(time.perf_counter() - t0)\n"
           "EOF",
           n, bodies[row]);
  return seconds_printed_by(cmd);
}

static void cell(int row, double v) {
  if (v < 0)
    printf(" %11s |", "n/a");
  else
    printf(per_op_ns(row) ? " %11.1f |" : " %11.0f |", v);
}

/* mproc on the generic POSIX flavour (no futex: a FIFO per wait word),
 * measured by the sibling executable in this same run. */
static double generic_row(int row, long n) {
  char args[64];
  snprintf(args, sizeof args, "--mproc-row %d %ld", row, n);
  return generic_sibling(args);
}

/* Seconds for n operations of row by mproc and by the raw futex loop. An
 * uncontended row takes a few nanoseconds an operation, which one run on
 * this VM puts 15-30% off (the Lock's ratio read 0.94x, 1.10x and 1.27x in
 * three runs of the bench): those rows are the fastest of ROUNDS runs of
 * each, taken in turns - a loop that waits for nothing is only ever made
 * slower by the machine - so that their ratio is the code's. -1: a run
 * failed. */
static void in_turns(int row, long n, double *mine, double *raw) {
  enum { ROUNDS = 7 };
  int rounds = per_op_ns(row) ? ROUNDS : 1;
  double a[ROUNDS], b[ROUNDS];
  for (int i = 0; i < rounds; i++) {
    a[i] = mproc_row(row, n);
    b[i] = raw_row(row, n);
  }
  *mine = median_of(a, rounds) < 0 ? -1 : a[0];
  *raw = median_of(b, rounds) < 0 ? -1 : b[0];
}

int main(int argc, char **argv) {
  mproc_main_guard(argc, argv);
  if (argc == 4 && strcmp(argv[1], "--mproc-row") == 0) {
    printf("%.9f\n", mproc_row(atoi(argv[2]), atol(argv[3])));
    return 0;
  }
  long scale = bench_scale(argc, argv);
  printf("synchronization objects; scale %ld\n\n", scale);
  printf("| %-27s | %11s | %11s | %11s | %11s | %11s | %11s | %10s |\n", "", "mproc", "mproc gen.",
         "raw futex", "pthread", "APR", "Python", "mproc/raw");
  printf("|-----------------------------|-------------|-------------|-------------|-------------|"
         "-------------|-------------|------------|\n");
  for (int row = 0; row < ROWS; row++) {
    long n = (per_op_ns(row) ? 2000000 : 100000) * scale;
    long py_n = n / 20; /* Python is slow: fewer rounds */
    double mine, raw;
    in_turns(row, n, &mine, &raw);
    double v[6] = {value(row, mine, n),
                   value(row, generic_row(row, n), n),
                   value(row, raw, n),
                   value(row, pthread_row(row, n), n),
                   value(row, apr_row(row, n), n),
                   value(row, python_row(row, py_n), py_n)};
    printf("| %-27s |", row_names[row]);
    for (int i = 0; i < 6; i++)
      cell(row, v[i]);
    /* cost ratio: > 1 means mproc is slower than the raw futex loop */
    double ratio = v[0] <= 0 || v[2] <= 0 ? -1 : per_op_ns(row) ? v[0] / v[2] : v[2] / v[0];
    if (ratio < 0)
      printf(" %10s |\n", "n/a");
    else
      printf(" %9.2fx |\n", ratio);
  }
  printf("\nmproc/raw: mproc's time per operation over the raw futex loop's (1.00 = same).\n"
         "mproc gen.: the generic POSIX build (MPROC_POSIX_GENERIC: a FIFO per wait word\n"
         "instead of a futex), the same program run as bench_sync_generic.\n"
         "Raw 'Event' rows use the futex semaphore (the closest bare primitive).\n");
#  ifndef MPROC_BENCH_HAVE_APR
  printf("Built without APR (libapr1-dev): its column is n/a.\n");
#  endif
  return 0;
}
#endif
