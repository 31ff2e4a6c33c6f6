/* A target with positional arguments.
 *
 *   def greet(name, age): print(f"hello {name}, you are {age}")
 *   p = Process(target=greet, args=("bob", 42)); p.start(); p.join()
 */
#include <inttypes.h>
#include <stdio.h>

#include <mproc.h>

static int greet(const mproc_args_t *args) {
  const char *name;
  int64_t age;
  if (mproc_args_get_str(args, 0, &name) || mproc_args_get_int(args, 1, &age)) {
    fprintf(stderr, "greet: %s\n", mproc_last_error_detail());
    return 2;
  }
  printf("hello %s, you are %" PRId64 "\n", name, age);
  return 0;
}

int main(int argc, char **argv) {
  mproc_main_guard(argc, argv);
  mproc_args_t *args = NULL;
  mproc_process_t *p = NULL;
  int code = -1;
  if (mproc_args_new(&args) || mproc_args_add_str(args, "bob") || mproc_args_add_int(args, 42) ||
      mproc_process_new(&p, greet, args, NULL) || mproc_process_start(p) ||
      mproc_process_join(p, MPROC_INFINITE) || mproc_process_exitcode(p, &code)) {
    fprintf(stderr, "error: %s\n", mproc_last_error_detail());
  }
  mproc_process_free(p);
  mproc_args_free(args);
  return code == 0 ? 0 : 1;
}
