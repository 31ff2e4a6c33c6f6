/* `mproc-bench start`: the experiment. For every configuration (parent
 * memory, argument size, children at once) each method is timed from the
 * start of the children to their join, runs interleaved across methods so
 * that drift in the machine spreads over all of them; then one more run per
 * method in which the child waits to have its memory read. */
#include <stdlib.h>
#include <string.h>

#include "bench.h"

#ifdef _WIN32
#  include <windows.h>
#else
#  include <pthread.h>
#  include <time.h>
#endif

static void sleep_ms(int ms) {
#ifdef _WIN32
  Sleep((DWORD)ms);
#else
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
#endif
}

/* args: (kind, param, first: Value or nil, ready: Value or nil,
 *        park: Event or nil, payload: bytes) */
int bench_child(const mproc_args_t *args) {
  mproc_value_t *first = NULL, *ready = NULL;
  mproc_event_t *park = NULL;
  if (mproc_args_type(args, 2) == MPROC_T_VALUE && mproc_args_get_value(args, 2, &first) == 0)
    mproc_value_store(first, (int64_t)(now_us() * 1000));
  int64_t kind = 0, param = 0;
  mproc_args_get_int(args, 0, &kind);
  mproc_args_get_int(args, 1, &param);
  if (kind == CHILD_SLEEP) {
    sleep_ms((int)param);
  } else if (kind == CHILD_CPU) {
    volatile double x = 1;
    for (double until = now_us() + (double)param * 1000; now_us() < until;)
      for (int i = 0; i < 10000; i++)
        x = x * 1.0000001 + 1e-9;
  } else if (kind == CHILD_TOUCH && parent_mem(NULL)) {
    size_t len;
    unsigned char *inherited = parent_mem(&len);
    size_t pages = len / 4096, n = pages * (size_t)param / 100;
    for (size_t i = 0; i < n; i++)
      inherited[i * 4096] ^= 1; /* a copy-on-write fault per page */
  }
  if (mproc_args_type(args, 3) == MPROC_T_VALUE && mproc_args_get_value(args, 3, &ready) == 0 &&
      mproc_args_get_event(args, 4, &park) == 0) {
    mproc_value_store(ready, 1);
    mproc_event_wait(park, 30000);
  }
  return 0;
}

static mproc_start_method_t start_method_of(method_t m) {
  return m == M_FORK         ? MPROC_START_FORK
         : m == M_FORKSERVER ? MPROC_START_FORKSERVER
                             : MPROC_START_SPAWN;
}

/* ---- the parent's shape ---------------------------------------------------- */

static volatile int threads_stop;
#ifdef _WIN32
static DWORD WINAPI idle_thread(LPVOID arg) {
  (void)arg;
  while (!threads_stop)
    Sleep(50);
  return 0;
}
#else
static void *idle_thread(void *arg) {
  (void)arg;
  while (!threads_stop)
    sleep_ms(50);
  return NULL;
}
#endif

static void start_threads(int n) {
  for (int i = 0; i < n; i++) {
#ifdef _WIN32
    CloseHandle(CreateThread(NULL, 0, idle_thread, NULL, 0, NULL));
#else
    pthread_t t;
    if (pthread_create(&t, NULL, idle_thread, NULL) == 0)
      pthread_detach(t);
#endif
  }
}

/* ---- one run ------------------------------------------------------------------ */

static mproc_args_t *child_args(const bench_config_t *c, uint64_t args_size, mproc_value_t *first,
                                mproc_value_t *ready, mproc_event_t *park) {
  mproc_args_t *a;
  if (mproc_args_new(&a))
    return NULL;
  void *payload = calloc(1, args_size ? (size_t)args_size : 1);
  int rc = !payload || mproc_args_add_int(a, c->child) || mproc_args_add_int(a, c->child_param) ||
           (first ? mproc_args_add_value(a, first) : mproc_args_add_nil(a)) ||
           (ready ? mproc_args_add_value(a, ready) : mproc_args_add_nil(a)) ||
           (park ? mproc_args_add_event(a, park) : mproc_args_add_nil(a)) ||
           mproc_args_add_bytes(a, payload, (size_t)args_size);
  free(payload);
  if (rc) {
    mproc_args_free(a);
    return NULL;
  }
  return a;
}

/* Starts n children of method m on args, joins them: microseconds. */
static int sample(method_t m, int n, const mproc_args_t *args, double *us) {
  if (m == M_FLOOR_EXEC || m == M_FLOOR_FORK) {
    double total = 0;
    for (int i = 0; i < n; i++) {
      double one;
      if (floor_sample(m, &one))
        return -1;
      total += one;
    }
    *us = total;
    return 0;
  }
  mproc_process_t *p[256];
  mproc_process_opts_t o = {.start_method = start_method_of(m)};
  double t0 = now_us();
  int started = 0, rc = 0;
  for (; started < n && rc == 0; started++)
    if ((rc = mproc_process_new(&p[started], bench_child, args, &o)) == 0 &&
        (rc = mproc_process_start(p[started])) != 0)
      mproc_process_free(p[started]);
  if (rc)
    started--;
  for (int i = 0; i < started; i++) {
    mproc_process_join(p[i], MPROC_INFINITE);
    mproc_process_free(p[i]);
  }
  *us = now_us() - t0;
  if (rc)
    fprintf(stderr, "mproc-bench start: %s: %s\n", method_name(m), mproc_last_error_detail());
  return rc ? -1 : 0;
}

/* One run whose child waits while its memory is read. */
static void memory_run(const bench_config_t *c, method_t m, uint64_t args_size, result_t *r) {
  if (m == M_FLOOR_EXEC || m == M_FLOOR_FORK)
    return;
  mproc_value_t *ready;
  mproc_event_t *park;
  if (mproc_value_new(&ready, MPROC_T_I64, NULL) || mproc_event_new(&park))
    return;
  mproc_args_t *a = child_args(c, args_size, NULL, ready, park);
  mproc_process_t *p;
  mproc_process_opts_t o = {.start_method = start_method_of(m)};
  if (a && mproc_process_new(&p, bench_child, a, &o) == 0) {
    if (mproc_process_start(p) == 0) {
      int64_t v = 0;
      for (int waited = 0; waited < 30000 && (mproc_value_load(ready, &v), v == 0); waited++)
        sleep_ms(1);
      if (v)
        measure_child(mproc_process_pid(p), r);
      mproc_event_set(park);
      mproc_process_join(p, MPROC_INFINITE);
    }
    mproc_process_free(p);
  }
  mproc_args_free(a);
  mproc_value_free(ready);
  mproc_event_free(park);
}

/* ---- the experiment -------------------------------------------------------------- */

static void result_init(result_t *r, method_t m, uint64_t mem, uint64_t args, int conc,
                        int huge_pct) {
  memset(r, 0, sizeof *r);
  r->parent_huge_pct = huge_pct;
  r->method = m;
  r->parent_mem = mem;
  r->args_size = args;
  r->concurrency = conc;
  r->first_us = -1;
  r->rss_kib = r->pss_kib = r->uss_kib = r->minor_faults = r->major_faults = -1;
}

int run_start(const bench_config_t *c, result_t **out, int *nout) {
  int nconf = c->nparent_mem * c->nargs_size * c->nconcurrency;
  result_t *res = calloc((size_t)nconf * (size_t)c->nmethods, sizeof *res);
  if (!res)
    return 2;
  start_threads(c->parent_threads);
  int n = 0, done = 0, rc = 0;
  double started = now_us();
  mproc_value_t *first = NULL;
  if (c->measure_first)
    mproc_value_new(&first, MPROC_T_I64, NULL);
  for (int pm = 0; pm < c->nparent_mem && !rc; pm++) {
    int huge_pct;
    if ((rc = parent_mem_set(c->parent_mem[pm], c->thp, &huge_pct)) != 0)
      break;
    for (int as = 0; as < c->nargs_size && !rc; as++)
      for (int cc = 0; cc < c->nconcurrency && !rc; cc++) {
        int conc = c->concurrency[cc];
        mproc_args_t *args = child_args(c, c->args_size[as], first, NULL, NULL);
        result_t *row = res + n;
        double *firsts[M_COUNT] = {0};
        int cap = c->runs ? c->runs : 1000;
        for (int k = 0; k < c->nmethods; k++) {
          result_init(&row[k], c->methods[k], c->parent_mem[pm], c->args_size[as], conc, huge_pct);
          row[k].samples_us = malloc((size_t)cap * sizeof(double));
          firsts[k] = malloc((size_t)cap * sizeof(double));
        }
        double us, t_conf = now_us();
        for (int w = 0; w < c->warmup; w++)
          for (int k = 0; k < c->nmethods; k++)
            sample(c->methods[k], conc, args, &us);
        for (int run = 0; run < cap; run++) {
          if (!c->runs && run >= 10 && now_us() - t_conf > c->min_time * 1e6)
            break;
          for (int k = 0; k < c->nmethods; k++) {
            double t0 = now_us();
            if (sample(c->methods[k], conc, args, &us) != 0) {
              rc = 1;
              break;
            }
            row[k].samples_us[row[k].nsamples++] = us;
            int64_t at = 0;
            if (first && conc == 1 && c->methods[k] <= M_FORKSERVER &&
                mproc_value_load(first, &at) == 0)
              firsts[k][run] = (double)at / 1000 - t0;
          }
          if (rc)
            break;
          progress(c, done * cap + run + 1, nconf * cap, started);
        }
        for (int k = 0; k < c->nmethods; k++) {
          compute_stats(row[k].samples_us, row[k].nsamples, &row[k].stats);
          if (first && conc == 1 && c->methods[k] <= M_FORKSERVER)
            row[k].first_us = median_of(firsts[k], row[k].nsamples);
          free(firsts[k]);
          if (c->measure_memory)
            memory_run(c, c->methods[k], c->args_size[as], &row[k]);
        }
        mproc_args_free(args);
        n += c->nmethods;
        done++;
      }
  }
  progress(c, 1, 1, started);
  mproc_value_free(first);
  parent_mem_set(0, THP_SYSTEM, NULL);
  threads_stop = 1;
  *out = res;
  *nout = n;
  return rc;
}
