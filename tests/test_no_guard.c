/* A program that forgets mproc_main_guard: with GCC, Clang and MinGW the
 * child entry runs from a constructor, so its children still work. It is
 * also the "other build" in test_process_errors' module-mismatch test. */
#include "test_util.h"

static int t_seven(const mproc_args_t *args) { return 7; }

static void children_work_without_the_guard(void **state) {
  assert_int_equal(run_child(t_seven, NULL), 7);
}

int main(int argc, char **argv) {
  /* No mproc_main_guard here, on purpose. */
  const struct CMUnitTest noguard[] = {
      cmocka_unit_test(children_work_without_the_guard),
  };
  const test_group_t groups[] = {TEST_GROUP("noguard", noguard)};
  return run_groups(argc, argv, groups, 1);
}
