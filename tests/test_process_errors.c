/* Every error path of the process API, on every platform. */
#include "test_util.h"

static const char *other_build; /* argv[2]: a different program */

static int t_zero(const mproc_args_t *args) { return 0; }

/* A daemonic child may not start children: 0 when refused with ESTATE. */
static int t_daemon_starts_child(const mproc_args_t *args) {
  mproc_process_t *p;
  if (mproc_process_new(&p, t_zero, NULL, NULL))
    return 1;
  int rc = mproc_process_start(p);
  mproc_process_free(p);
  return rc == MPROC_ESTATE ? 0 : 2;
}

static void bad_arguments(void **state) {
  mproc_process_t *p;
  ASSERT_ERR(MPROC_EINVAL, mproc_process_new(NULL, t_zero, NULL, NULL));
  ASSERT_ERR(MPROC_EINVAL, mproc_process_new(&p, NULL, NULL, NULL));
  mproc_process_opts_t bad = {.start_method = (mproc_start_method_t)99};
  ASSERT_ERR(MPROC_EINVAL, mproc_process_new(&p, t_zero, NULL, &bad));
  /* A name the bootstrap could not carry is refused here, not by a child
   * left waiting for a message that never comes. */
  mproc_process_opts_t bad_name = {.name = "caf\xe9"};
  ASSERT_ERR(MPROC_EINVAL, mproc_process_new(&p, t_zero, NULL, &bad_name));
  ASSERT_ERR(MPROC_EINVAL, mproc_process_start(NULL));
  ASSERT_ERR(MPROC_EINVAL, mproc_process_join(NULL, 0));
  ASSERT_ERR(MPROC_EINVAL, mproc_process_is_alive(NULL));
  ASSERT_ERR(MPROC_EINVAL, mproc_process_terminate(NULL));
  ASSERT_ERR(MPROC_EINVAL, mproc_process_kill(NULL));
  ASSERT_ERR(MPROC_EINVAL, mproc_process_run(NULL));
  int code;
  ASSERT_ERR(MPROC_EINVAL, mproc_process_exitcode(NULL, &code));
  assert_int_equal(mproc_process_pid(NULL), 0);
  assert_string_equal(mproc_process_name(NULL), "");
  assert_false(mproc_process_daemon(NULL));

  ASSERT_OK(mproc_process_new(&p, t_zero, NULL, NULL));
  ASSERT_ERR(MPROC_EINVAL, mproc_process_exitcode(p, NULL));
  ASSERT_ERR(MPROC_EINVAL, mproc_process_join(p, -2));
  mproc_process_free(p);
}

static void lifecycle_order(void **state) {
  mproc_process_t *p;
  int code;
  ASSERT_OK(mproc_process_new(&p, t_zero, NULL, NULL));
  ASSERT_ERR(MPROC_ESTATE, mproc_process_join(p, 0));
  ASSERT_ERR(MPROC_ESTATE, mproc_process_exitcode(p, &code));
  ASSERT_ERR(MPROC_ESTATE, mproc_process_terminate(p));
  ASSERT_ERR(MPROC_ESTATE, mproc_process_kill(p));
  ASSERT_OK(mproc_process_start(p));
  ASSERT_ERR(MPROC_ESTATE, mproc_process_start(p));
  assert_non_null(strstr(mproc_last_error_detail(), "already started"));
  ASSERT_OK(mproc_process_join(p, TEST_WAIT_MS));
  ASSERT_ERR(MPROC_ESTATE, mproc_process_start(p));
  mproc_process_free(p);
}

static void start_methods(void **state) {
  ASSERT_ERR(MPROC_EINVAL, mproc_set_start_method((mproc_start_method_t)42));
  mproc_start_method_t before = mproc_get_start_method();
  assert_true(before == MPROC_START_SPAWN || before == MPROC_START_FORK ||
              before == MPROC_START_FORKSERVER);

  ASSERT_OK(mproc_set_start_method(MPROC_START_SPAWN));
  assert_int_equal(mproc_get_start_method(), MPROC_START_SPAWN);
  ASSERT_OK(mproc_set_start_method(MPROC_START_DEFAULT));
  assert_int_equal(mproc_get_start_method(), before);

  mproc_start_method_t posix_only[] = {MPROC_START_FORK, MPROC_START_FORKSERVER};
  for (size_t i = 0; i < 2; i++) {
    mproc_process_t *p;
    mproc_process_opts_t opts = {.start_method = posix_only[i]};
    ASSERT_OK(mproc_process_new(&p, t_zero, NULL, &opts));
#ifdef _WIN32
    ASSERT_ERR(MPROC_ENOTSUP, mproc_set_start_method(posix_only[i]));
    ASSERT_ERR(MPROC_ENOTSUP, mproc_process_start(p));
    assert_non_null(strstr(mproc_last_error_detail(), "fork"));
#else
    ASSERT_OK(mproc_set_start_method(posix_only[i]));
    assert_int_equal(mproc_get_start_method(), posix_only[i]);
    ASSERT_OK(mproc_set_start_method(MPROC_START_DEFAULT));
    ASSERT_OK(mproc_process_start(p));
    ASSERT_OK(mproc_process_join(p, TEST_WAIT_MS));
#endif
    mproc_process_free(p);
  }
}

/* One name per method, the ones MPROC_START_METHOD takes; none for junk. */
static void start_method_names(void **state) {
  assert_string_equal(mproc_start_method_name(MPROC_START_DEFAULT), "default");
  assert_string_equal(mproc_start_method_name(MPROC_START_SPAWN), "spawn");
  assert_string_equal(mproc_start_method_name(MPROC_START_FORK), "fork");
  assert_string_equal(mproc_start_method_name(MPROC_START_FORKSERVER), "forkserver");
  assert_null(mproc_start_method_name((mproc_start_method_t)4));
  assert_null(mproc_start_method_name((mproc_start_method_t)-1));
  const char *saved = getenv("MPROC_START_METHOD");
  char copy[32] = "";
  if (saved)
    snprintf(copy, sizeof copy, "%s", saved);
  set_env("MPROC_START_METHOD", mproc_start_method_name(MPROC_START_FORK));
  assert_int_equal(mproc_get_start_method(), MPROC_START_FORK);
  set_env("MPROC_START_METHOD", saved ? copy : NULL);
}

static void bad_environment_method(void **state) {
  const char *saved = getenv("MPROC_START_METHOD");
  char copy[32] = "";
  if (saved)
    snprintf(copy, sizeof copy, "%s", saved);
  set_env("MPROC_START_METHOD", "vfork");
  mproc_process_t *p = NULL;
  int rc = mproc_process_new(&p, t_zero, NULL, NULL);
  set_env("MPROC_START_METHOD", saved ? copy : NULL);
  assert_int_equal(rc, MPROC_EINVAL);
  assert_null(p);
}

static void exec_failure_is_echild(void **state) {
  /* qemu-user's posix_spawn runs the child as a fork, so a failed exec is
   * not reported to the parent: scripts/test.sh's emulated legs. */
  if (getenv("MPROC_TEST_UNDER_QEMU"))
    skip();
  mproc_process_opts_t opts = {.start_method = MPROC_START_SPAWN};
  mproc_process_t *p;
  ASSERT_OK(mproc_set_executable("no-such-dir/mproc-missing.exe"));
  ASSERT_OK(mproc_process_new(&p, t_zero, NULL, &opts));
  int rc = mproc_process_start(p);
  ASSERT_OK(mproc_set_executable(NULL));
  assert_int_equal(rc, MPROC_ECHILD);
  assert_non_null(strstr(mproc_last_error_detail(), "mproc-missing"));
  mproc_process_free(p);
}

/* Another program cannot run this program's target: the child says so and
 * the parent reports MPROC_ECHILD, never a jump into the void. */
static void module_mismatch_is_echild(void **state) {
  assert_non_null(other_build);
  mproc_process_opts_t opts = {.start_method = MPROC_START_SPAWN};
  mproc_process_t *p;
  ASSERT_OK(mproc_set_executable(other_build));
  ASSERT_OK(mproc_process_new(&p, t_zero, NULL, &opts));
  int rc = mproc_process_start(p);
  ASSERT_OK(mproc_set_executable(NULL));
  if (rc == 0)
    rc = mproc_process_join(p, TEST_WAIT_MS);
  assert_int_equal(rc, MPROC_ECHILD);
  assert_non_null(strstr(mproc_last_error_detail(), "could not run its target"));
  int code;
  ASSERT_ERR(MPROC_ECHILD, mproc_process_exitcode(p, &code));
  ASSERT_ERR(MPROC_ECHILD, mproc_process_join(p, 0)); /* stays an error */
  mproc_process_free(p);
}

static void daemon_cannot_have_children(void **state) {
  mproc_process_opts_t opts = {.daemon = true};
  mproc_process_t *p;
  ASSERT_OK(mproc_process_new(&p, t_daemon_starts_child, NULL, &opts));
  ASSERT_OK(mproc_process_start(p));
  ASSERT_OK(mproc_process_join(p, TEST_WAIT_MS));
  int code;
  ASSERT_OK(mproc_process_exitcode(p, &code));
  assert_int_equal(code, 0);
  mproc_process_free(p);
}

int main(int argc, char **argv) {
  mproc_main_guard(argc, argv);
  other_build = argc > 2 ? argv[2] : NULL;
  const struct CMUnitTest errors[] = {
      cmocka_unit_test(bad_arguments),
      cmocka_unit_test(lifecycle_order),
      cmocka_unit_test(start_methods),
      cmocka_unit_test(start_method_names),
      cmocka_unit_test(bad_environment_method),
      cmocka_unit_test(exec_failure_is_echild),
      cmocka_unit_test(module_mismatch_is_echild),
      cmocka_unit_test(daemon_cannot_have_children),
  };
  const test_group_t groups[] = {TEST_GROUP("errors", errors)};
  return run_groups(argc, argv, groups, 1);
}
