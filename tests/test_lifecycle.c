/* Process lifecycles beyond a single start/join: threads, logging, waiting
 * on many, daemons, parent death, leaks. */
#include "test_util.h"

static int t_exit_code(const mproc_args_t *args) {
  int64_t code = 0;
  mproc_args_get_int(args, 0, &code);
  return (int)code;
}

/* Runs until the file args[0] exists (at most TEST_WAIT_MS), removes it. */
static int t_wait_for_file(const mproc_args_t *args) {
  const char *path;
  if (mproc_args_get_str(args, 0, &path))
    return 1;
  for (int waited = 0; waited < TEST_WAIT_MS; waited += 5) {
    if (file_exists(path)) {
      remove(path);
      return 3;
    }
    sleep_ms(5);
  }
  return 4;
}

static mproc_process_t *start_with_int(mproc_target_fn fn, int64_t v) {
  mproc_args_t *a;
  mproc_process_t *p;
  ASSERT_OK(mproc_args_new(&a));
  ASSERT_OK(mproc_args_add_int(a, v));
  ASSERT_OK(mproc_process_new(&p, fn, a, NULL));
  mproc_args_free(a);
  ASSERT_OK(mproc_process_start(p));
  return p;
}

static mproc_process_t *start_waiter(char *path, size_t cap, const mproc_process_opts_t *opts) {
  temp_name(path, cap, "wait");
  mproc_args_t *a;
  mproc_process_t *p;
  ASSERT_OK(mproc_args_new(&a));
  ASSERT_OK(mproc_args_add_str(a, path));
  ASSERT_OK(mproc_process_new(&p, t_wait_for_file, a, opts));
  mproc_args_free(a);
  ASSERT_OK(mproc_process_start(p));
  return p;
}

/* ---- threads ------------------------------------------------------------ */

enum { THREADS = 4, PER_THREAD = 12 };

/* Each thread starts and joins its own children; *(int *)arg counts errors. */
static void start_join_many(void *arg) {
  int *errors = arg;
  for (int i = 0; i < PER_THREAD; i++) {
    mproc_args_t *a = NULL;
    mproc_process_t *p = NULL;
    int code = -1;
    if (mproc_args_new(&a) || mproc_args_add_int(a, i) ||
        mproc_process_new(&p, t_exit_code, a, NULL) || mproc_process_start(p) ||
        mproc_process_join(p, TEST_WAIT_MS) || mproc_process_exitcode(p, &code) || code != i)
      (*errors)++;
    mproc_process_free(p);
    mproc_args_free(a);
  }
}

static void threads_start_and_join_concurrently(void **state) {
#if defined(__SANITIZE_ADDRESS__)
  /* GCC 12's AddressSanitizer runtime has no fork handlers: a child forked
   * while another thread holds its allocator lock deadlocks in malloc. The
   * Clang Release leg runs this test under fork with glibc's malloc, which
   * is fork-safe. */
  if (mproc_get_start_method() == MPROC_START_FORK)
    skip();
#endif
  test_thread_t t[THREADS];
  int errors[THREADS] = {0};
  for (int i = 0; i < THREADS; i++)
    thread_start(&t[i], start_join_many, &errors[i]);
  for (int i = 0; i < THREADS; i++)
    thread_join(&t[i]);
  for (int i = 0; i < THREADS; i++)
    assert_int_equal(errors[i], 0);
}

typedef struct {
  mproc_process_t *p;
  int rc;
} join_job_t;

static void join_one(void *arg) {
  join_job_t *j = arg;
  j->rc = mproc_process_join(j->p, TEST_WAIT_MS);
}

/* Several threads join one child while another terminates it: every join
 * sees the same end. */
static void threads_join_one_child(void **state) {
  char path[128];
  mproc_process_t *p = start_waiter(path, sizeof path, NULL);
  test_thread_t t[THREADS];
  join_job_t jobs[THREADS];
  for (int i = 0; i < THREADS; i++) {
    jobs[i] = (join_job_t){p, -1000};
    thread_start(&t[i], join_one, &jobs[i]);
  }
  assert_int_equal(mproc_process_is_alive(p), 1);
  ASSERT_OK(mproc_process_terminate(p));
  for (int i = 0; i < THREADS; i++) {
    thread_join(&t[i]);
    assert_int_equal(jobs[i].rc, 0);
  }
  int code;
  ASSERT_OK(mproc_process_exitcode(p, &code));
  assert_int_equal(code, -15);
  mproc_process_free(p);
}

/* ---- logging ------------------------------------------------------------ */

typedef struct {
  char lines[64][256];
  int n;
} captured_t;

static void capture(mproc_log_level_t level, const char *line, void *ctx) {
  captured_t *c = ctx;
  if (c->n < 64)
    snprintf(c->lines[c->n++], sizeof c->lines[0], "%s", line);
}

static bool saw(const captured_t *c, const char *needle) {
  for (int i = 0; i < c->n; i++)
    if (strstr(c->lines[i], needle))
      return true;
  return false;
}

static int t_report_log_level(const mproc_args_t *args) { return (int)mproc_log_get_level(); }

static void lifecycle_steps_are_logged(void **state) {
  static captured_t cap;
  cap.n = 0;
  ASSERT_OK(mproc_log_to_stderr(MPROC_LOG_DEBUG));
  ASSERT_OK(mproc_log_set_handler(capture, &cap));
  assert_int_equal(mproc_log_get_level(), MPROC_LOG_DEBUG);
  mproc_process_t *p = start_with_int(t_report_log_level, 0);
  ASSERT_OK(mproc_process_join(p, TEST_WAIT_MS));
  int code;
  ASSERT_OK(mproc_process_exitcode(p, &code));
  char want[96];
  snprintf(want, sizeof want, "[DEBUG/MainProcess] starting %s with", mproc_process_name(p));
  assert_true(saw(&cap, want));
  snprintf(want, sizeof want, "%s ended with exit code %d", mproc_process_name(p), code);
  assert_true(saw(&cap, want));
  assert_int_equal(code, MPROC_LOG_DEBUG); /* the child inherited the level */
  mproc_process_free(p);

  ASSERT_OK(mproc_log_set_handler(NULL, NULL));
  ASSERT_OK(mproc_log_to_stderr(MPROC_LOG_WARNING));
  ASSERT_ERR(MPROC_EINVAL, mproc_log_to_stderr((mproc_log_level_t)15));
  assert_int_equal(mproc_log_get_level(), MPROC_LOG_WARNING);
}

#ifndef _WIN32
static void park(void *arg) {
  const char *path = arg;
  for (int waited = 0; !file_exists(path) && waited < TEST_WAIT_MS; waited += 5)
    sleep_ms(5);
}
#endif

/* Starting with fork from a threaded process warns and names the way out. */
static void fork_in_a_threaded_process_warns(void **state) {
#ifdef _WIN32
  skip(); /* no fork on Windows: test_process_errors checks MPROC_ENOTSUP */
#else
  static captured_t cap;
  cap.n = 0;
  ASSERT_OK(mproc_log_set_handler(capture, &cap));
  char path[128];
  temp_name(path, sizeof path, "park");
  test_thread_t t;
  thread_start(&t, park, path);
  mproc_process_opts_t opts = {.start_method = MPROC_START_FORK};
  mproc_process_t *p;
  ASSERT_OK(mproc_process_new(&p, t_exit_code, NULL, &opts));
  ASSERT_OK(mproc_process_start(p));
  ASSERT_OK(mproc_process_join(p, TEST_WAIT_MS));
  mproc_process_free(p);
  assert_int_equal(write_file(path, "x", 1), 0);
  thread_join(&t);
  remove(path);
  ASSERT_OK(mproc_log_set_handler(NULL, NULL));
  assert_true(saw(&cap, "[WARNING/MainProcess]"));
  assert_true(saw(&cap, "threads"));
  assert_true(saw(&cap, "forkserver"));
#endif
}

int main(int argc, char **argv) {
  mproc_main_guard(argc, argv);
  const struct CMUnitTest threads[] = {
      cmocka_unit_test(threads_start_and_join_concurrently),
      cmocka_unit_test(threads_join_one_child),
  };
  const struct CMUnitTest logging[] = {
      cmocka_unit_test(lifecycle_steps_are_logged),
      cmocka_unit_test(fork_in_a_threaded_process_warns),
  };
  const test_group_t groups[] = {
      TEST_GROUP("threads", threads),
      TEST_GROUP("logging", logging),
  };
  return run_groups(argc, argv, groups, sizeof groups / sizeof groups[0]);
}
