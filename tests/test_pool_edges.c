/* The pool at the edges that independent programs found: an iterator used
 * after its pool is freed, callbacks that must have run before get()
 * returns, short tasks that must not wait behind a long one while a worker
 * is idle, and worker exits that say what happened. */
#ifndef _WIN32
#  define _GNU_SOURCE
#endif
#include <stdatomic.h>

#include "test_util.h"

/* ---- tasks ----------------------------------------------------------------- */

static int square(const mproc_args_t *args, mproc_args_t *result) {
  int64_t x;
  if (mproc_args_get_int(args, 0, &x))
    return 1;
  return mproc_args_add_int(result, x * x);
}

/* args: (ms): sleeps, then returns (start ms, end ms) on the machine's
 * monotonic clock, which every process shares. */
static int timed_sleep(const mproc_args_t *args, mproc_args_t *result) {
  int64_t ms = 0;
  mproc_args_get_int(args, 0, &ms);
  int64_t start = now_ms();
  sleep_ms((int)ms);
  return mproc_args_add_int(result, start) || mproc_args_add_int(result, now_ms());
}

static int exits_with(const mproc_args_t *args, mproc_args_t *result) {
  (void)result;
  int64_t status = 0;
  mproc_args_get_int(args, 0, &status);
  _Exit((int)status);
}

static int init_says_nothing(const mproc_args_t *args) {
  (void)args;
  return 3;
}

static mproc_args_t *one_int(int64_t v) {
  mproc_args_t *a;
  ASSERT_OK(mproc_args_new(&a));
  ASSERT_OK(mproc_args_add_int(a, v));
  return a;
}

static int64_t int_of(const mproc_args_t *t, size_t i) {
  int64_t v = -1;
  ASSERT_OK(mproc_args_get_int(t, i, &v));
  return v;
}

/* ---- an iterator outlives its pool ---------------------------------------------- */

typedef struct {
  int64_t next, limit;
} counter_t;

static int count_up(void *ctx, mproc_args_t **item) {
  counter_t *c = ctx;
  if (c->next >= c->limit)
    return 0;
  *item = one_int(c->next++ % 2 ? 1 : 200); /* some items sleep 200 ms */
  return 1;
}

/* The iterator keeps what it needs: after the pool is freed it hands back
 * what was done, the rest as cancelled, then says the pool is gone. */
static void an_iterator_outlives_its_pool(void **state) {
  (void)state;
  for (int ordered = 0; ordered < 2; ordered++) {
    mproc_pool_t *p;
    ASSERT_OK(mproc_pool_new(&p, &(mproc_pool_opts_t){.processes = 2}));
    counter_t c = {0, 1000};
    mproc_pool_iter_t *it;
    mproc_map_opts_t mo = {.buffersize = 6};
    ASSERT_OK(ordered ? mproc_pool_imap(p, timed_sleep, count_up, &c, &mo, &it)
                      : mproc_pool_imap_unordered(p, timed_sleep, count_up, &c, &mo, &it));
    mproc_args_t *r = NULL;
    ASSERT_OK(mproc_pool_iter_next(it, &r, NULL, TEST_WAIT_MS));
    mproc_args_free(r);
    mproc_pool_free(p);
    int rc = 0, ok = 0, cancelled = 0;
    for (int k = 0; k < 100 && (rc == 0 || rc == MPROC_ECANCELED); k++) {
      rc = mproc_pool_iter_next(it, &r, NULL, TEST_WAIT_MS);
      ok += rc == 0;
      cancelled += rc == MPROC_ECANCELED;
      mproc_args_free(r);
      r = NULL;
    }
    assert_int_equal(rc, MPROC_ECLOSED);
    assert_non_null(strstr(mproc_last_error_detail(), "freed"));
    assert_true(ok + cancelled <= 6);
    ASSERT_ERR(MPROC_ECLOSED, mproc_pool_iter_next(it, &r, NULL, 0)); /* and stays so */
    assert_true(c.next < 20); /* nothing more was pulled from the input */
    mproc_pool_iter_free(it);
  }
}

/* ---- callbacks before ready ------------------------------------------------------ */

typedef struct {
  atomic_int done;
  atomic_int saw_value; /* the callback could read its result */
} slow_cb_t;

static void slow_callback(mproc_async_result_t *r, void *ctx) {
  slow_cb_t *s = ctx;
  const mproc_args_t *v = NULL;
  if (mproc_async_result_get(r, &v, 0) == 0 && v)
    atomic_fetch_add(&s->saw_value, 1);
  sleep_ms(5);
  atomic_fetch_add(&s->done, 1);
}

/* As CPython runs the callback before the result becomes ready, get, wait
 * and ready report it only after the callback returned
 * (test_map_async_callbacks). */
static void callbacks_have_run_when_get_returns(void **state) {
  (void)state;
  mproc_pool_t *p;
  ASSERT_OK(mproc_pool_new(&p, &(mproc_pool_opts_t){.processes = 2}));
  for (int i = 0; i < 20; i++) {
    slow_cb_t s = {0, 0};
    mproc_args_t *a = one_int(i);
    mproc_async_result_t *r;
    ASSERT_OK(mproc_pool_apply_async(
        p, square, a, &(mproc_task_opts_t){.callback = slow_callback, .ctx = &s}, &r));
    const mproc_args_t *v;
    ASSERT_OK(mproc_async_result_get(r, &v, TEST_WAIT_MS));
    assert_int_equal(atomic_load(&s.done), 1);
    assert_int_equal(atomic_load(&s.saw_value), 1);
    assert_int_equal(mproc_async_result_ready(r), 1);
    mproc_async_result_free(r);
    mproc_args_free(a);

    /* map_async, and wait rather than get. */
    slow_cb_t m = {0, 0};
    mproc_args_t *items;
    ASSERT_OK(mproc_args_new(&items));
    for (int k = 0; k < 4; k++)
      ASSERT_OK(mproc_args_add_int(items, k));
    ASSERT_OK(mproc_pool_map_async(p, square, items,
                                   &(mproc_map_opts_t){.callback = slow_callback, .ctx = &m}, &r));
    ASSERT_OK(mproc_async_result_wait(r, TEST_WAIT_MS));
    assert_int_equal(atomic_load(&m.done), 1);
    assert_int_equal(mproc_async_result_successful(r), 1);
    mproc_async_result_free(r);
    mproc_args_free(items);
  }
  mproc_pool_free(p);
}

/* ---- no task waits behind a running one while a worker is idle -------------------- */

static void short_tasks_do_not_wait_behind_a_long_one(unsigned prefetch) {
  mproc_pool_t *p;
  ASSERT_OK(mproc_pool_new(&p, &(mproc_pool_opts_t){.processes = 2, .prefetch = prefetch}));
  /* Both workers up first (a worker still starting is not idle). */
  mproc_args_t *warm;
  ASSERT_OK(mproc_args_new(&warm));
  for (int i = 0; i < 4; i++)
    ASSERT_OK(mproc_args_add_int(warm, 50));
  mproc_args_t *out;
  ASSERT_OK(mproc_pool_map(p, timed_sleep, warm, NULL, &out));
  mproc_args_free(out);
  mproc_args_free(warm);

  enum { SHORT = 6 };
  mproc_async_result_t *longest, *shorts[SHORT];
  mproc_args_t *a = one_int(2500);
  ASSERT_OK(mproc_pool_apply_async(p, timed_sleep, a, NULL, &longest));
  mproc_args_free(a);
  a = one_int(50);
  for (int i = 0; i < SHORT; i++)
    ASSERT_OK(mproc_pool_apply_async(p, timed_sleep, a, NULL, &shorts[i]));
  mproc_args_free(a);
  const mproc_args_t *v;
  ASSERT_OK(mproc_async_result_get(longest, &v, TEST_WAIT_MS));
  int64_t long_start = int_of(v, 0), long_end = int_of(v, 1);
  for (int i = 0; i < SHORT; i++) {
    ASSERT_OK(mproc_async_result_get(shorts[i], &v, TEST_WAIT_MS));
    /* Each ran on the free worker, while the long one was still running. */
    if (int_of(v, 0) >= long_start)
      assert_true(int_of(v, 1) < long_end);
    mproc_async_result_free(shorts[i]);
  }
  mproc_async_result_free(longest);
  mproc_pool_free(p);
}

static void short_tasks_do_not_wait_with_prefetch(void **state) {
  (void)state;
  short_tasks_do_not_wait_behind_a_long_one(0);
  short_tasks_do_not_wait_behind_a_long_one(4);
}

static void short_tasks_do_not_wait_without_prefetch(void **state) {
  (void)state;
  short_tasks_do_not_wait_behind_a_long_one(MPROC_PREFETCH_NONE);
}

/* ---- worker exits say what happened -------------------------------------------------- */

typedef struct {
  char last[1024];
  atomic_int warnings;
} log_capture_t;

static void capture(mproc_log_level_t level, const char *message, void *ctx) {
  log_capture_t *c = ctx;
  if (level == MPROC_LOG_WARNING) {
    snprintf(c->last, sizeof c->last, "%s", message);
    atomic_fetch_add(&c->warnings, 1);
  }
}

static void worker_exits_say_what_happened(void **state) {
  (void)state;
  /* A task that exits with the very numbers a worker uses for itself is a
   * task that exited, not the worker's reason. */
  mproc_pool_t *p;
  ASSERT_OK(mproc_pool_new(&p, &(mproc_pool_opts_t){.processes = 1}));
  for (int status = 3; status <= 6; status++) {
    mproc_args_t *a = one_int(status), *r = NULL;
    ASSERT_ERR(MPROC_EWORKERDIED, mproc_pool_apply(p, exits_with, a, &r));
    char want[64];
    snprintf(want, sizeof want, "exited with status %d while running it", status);
    assert_non_null(strstr(mproc_last_error_detail(), want));
    assert_null(strstr(mproc_last_error_detail(), "initializer"));
    assert_null(strstr(mproc_last_error_detail(), "inbox"));
    mproc_args_free(a);
  }
  mproc_pool_free(p);

  /* An initializer that fails without a word: the warning says what it
   * returned, and so does the broken pool's error. */
  log_capture_t c = {{0}, 0};
  mproc_log_set_handler(capture, &c);
  ASSERT_OK(
      mproc_pool_new(&p, &(mproc_pool_opts_t){.processes = 1, .initializer = init_says_nothing}));
  mproc_args_t *a = one_int(1), *r = NULL;
  ASSERT_ERR(MPROC_EINIT, mproc_pool_apply(p, square, a, &r));
  assert_non_null(strstr(mproc_last_error_detail(), "the initializer returned 3"));
  mproc_pool_free(p);
  mproc_args_free(a);
  mproc_log_set_handler(NULL, NULL);
  assert_true(atomic_load(&c.warnings) >= 1);
  assert_non_null(strstr(c.last, "returned 3"));
}

int main(int argc, char **argv) {
  mproc_main_guard(argc, argv);
  const struct CMUnitTest edges[] = {
      cmocka_unit_test(an_iterator_outlives_its_pool),
      cmocka_unit_test(callbacks_have_run_when_get_returns),
      cmocka_unit_test(short_tasks_do_not_wait_with_prefetch),
      cmocka_unit_test(short_tasks_do_not_wait_without_prefetch),
      cmocka_unit_test(worker_exits_say_what_happened),
  };
  const test_group_t groups[] = {TEST_GROUP("edges", edges)};
  return run_groups(argc, argv, groups, 1);
}
