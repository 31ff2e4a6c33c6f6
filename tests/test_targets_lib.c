/* A shared library (DLL on Windows) holding a target, so that function
 * identity is tested for a module that is not the main executable. */
#include "test_targets_lib.h"

int test_lib_target(const mproc_args_t *args) {
  int64_t v = 0;
  mproc_args_get_int(args, 0, &v);
  return (int)(v + 1);
}
