/* Error codes: one list, names, messages, per-thread detail. */
#include "test_util.h"

static void every_code_has_a_name_and_text(void **state) {
#define CHECK_(name, value, text)                                                                  \
  assert_int_equal(MPROC_##name, value);                                                           \
  assert_string_equal(mproc_err_name(MPROC_##name), "MPROC_" #name);                               \
  assert_string_equal(mproc_strerror(MPROC_##name), text);                                         \
  assert_true(MPROC_##name < 0);
  MPROC_ERRNO_MAP(CHECK_)
#undef CHECK_
  assert_string_equal(mproc_err_name(0), "MPROC_OK");
  assert_string_equal(mproc_strerror(0), "success");
  assert_string_equal(mproc_err_name(-9999), "MPROC_E?");
  assert_string_equal(mproc_strerror(12345), "unknown error code");
}

/* A switch over the codes compiles (and covers them all). */
static int classify(mproc_error_t e) {
  switch (e) {
  case MPROC_OK:
    return 0;
  case MPROC_ETIMEDOUT:
    return 1;
  case MPROC_EINVAL:
  case MPROC_ENOMEM:
  case MPROC_ESTATE:
  case MPROC_ENOTSUP:
  case MPROC_ECHILD:
  case MPROC_ETYPE:
  case MPROC_ERANGE:
  case MPROC_EPROTO:
  case MPROC_ESYS:
  case MPROC_EUNKNOWN:
  case MPROC_EEOF:
  case MPROC_ETOOBIG:
  case MPROC_ECLOSED:
  case MPROC_EAUTH:
  case MPROC_EOWNERDEAD:
  case MPROC_EBROKEN:
  case MPROC_EEXIST:
  case MPROC_ENOENT:
  case MPROC_EFULL:
  case MPROC_EEMPTY:
  case MPROC_EVALUE:
  case MPROC_ETASKFAILED:
  case MPROC_EWORKERDIED:
  case MPROC_ETASKTIMEOUT:
  case MPROC_ECANCELED:
  case MPROC_EINIT:
  case MPROC_EMEMLIMIT:
    return 2;
  }
  return 3;
}

static void codes_switch(void **state) {
  assert_int_equal(classify(MPROC_ETIMEDOUT), 1);
  assert_int_equal(classify(MPROC_EPROTO), 2);
}

static void detail_names_the_failing_step(void **state) {
  mproc_args_t *a;
  ASSERT_OK(mproc_args_new(&a));
  int64_t v;
  ASSERT_ERR(MPROC_ERANGE, mproc_args_get_int(a, 3, &v));
  assert_non_null(strstr(mproc_last_error_detail(), "args_get_int"));
  assert_non_null(strstr(mproc_last_error_detail(), "index 3"));
  assert_int_equal(mproc_last_error_os(), 0); /* not an OS failure */
  ASSERT_ERR(MPROC_EINVAL, mproc_args_add_str(NULL, "x"));
  assert_non_null(strstr(mproc_last_error_detail(), "NULL"));
  mproc_args_free(a);
}

static int t_never_runs(const mproc_args_t *args) { return 0; }

static void os_failures_carry_the_os_message(void **state) {
  /* qemu-user's posix_spawn runs the child as a fork, so a failed exec is
   * not reported to the parent: scripts/test.sh's emulated 32-bit leg. */
  if (getenv("MPROC_TEST_UNDER_QEMU"))
    skip();
  mproc_process_opts_t opts = {.start_method = MPROC_START_SPAWN};
  mproc_process_t *p;
  ASSERT_OK(mproc_set_executable("mproc-no-such-program.exe"));
  ASSERT_OK(mproc_process_new(&p, t_never_runs, NULL, &opts));
  ASSERT_ERR(MPROC_ECHILD, mproc_process_start(p));
  ASSERT_OK(mproc_set_executable(NULL));
  assert_non_null(strstr(mproc_last_error_detail(), "mproc-no-such-program.exe"));
  assert_true(mproc_last_error_os() != 0);
  mproc_process_free(p);
}

/* A detail formatted from the detail itself (a caller adding context on
 * the way up) reads the old text whole, never what is being written. */
static void a_detail_may_quote_the_detail(void **state) {
  (void)state;
  mproc_set_error(MPROC_EPROTO, "the inner step failed with these words");
  assert_int_equal(mproc_set_error(MPROC_ESYS, "outer (%s) and more", mproc_last_error_detail()),
                   MPROC_ESYS);
  assert_string_equal(mproc_last_error_detail(),
                      "outer (the inner step failed with these words) and more");
  mproc_set_error(MPROC_EPROTO, "%s", "x");
  for (int i = 0; i < 20; i++) /* grows past the buffer: cut, never garbled */
    mproc_set_error(MPROC_EPROTO, "%s%s", mproc_last_error_detail(), "0123456789abcdef0123456789");
  const char *d = mproc_last_error_detail();
  assert_true(strlen(d) > 500 && strlen(d) < 1024);
  assert_true(d[0] == 'x' && strncmp(d + 1, "0123456789abcdef", 16) == 0);
}

static void free_accepts_null(void **state) {
  mproc_free(NULL);
  mproc_args_free(NULL);
  mproc_process_free(NULL);
}

int main(int argc, char **argv) {
  mproc_main_guard(argc, argv);
  const struct CMUnitTest errors[] = {
      cmocka_unit_test(every_code_has_a_name_and_text),
      cmocka_unit_test(codes_switch),
      cmocka_unit_test(detail_names_the_failing_step),
      cmocka_unit_test(os_failures_carry_the_os_message),
      cmocka_unit_test(a_detail_may_quote_the_detail),
      cmocka_unit_test(free_accepts_null),
  };
  const test_group_t groups[] = {TEST_GROUP("errors", errors)};
  return run_groups(argc, argv, groups, 1);
}
