/* Uses an installed mproc: starts one child and checks its exit code. */
#include <stdio.h>

#include <mproc.h>

static int answer(const mproc_args_t *args) {
  int64_t v = 0;
  mproc_args_get_int(args, 0, &v);
  return (int)v;
}

int main(int argc, char **argv) {
  mproc_main_guard(argc, argv);
  mproc_args_t *a = NULL;
  mproc_process_t *p = NULL;
  int code = -1;
  if (mproc_args_new(&a) || mproc_args_add_int(a, 42) || mproc_process_new(&p, answer, a, NULL) ||
      mproc_process_start(p) || mproc_process_join(p, 60000) || mproc_process_exitcode(p, &code))
    fprintf(stderr, "consumer: %s\n", mproc_last_error_detail());
  mproc_process_free(p);
  mproc_args_free(a);
  printf("consumer: child exited with %d\n", code);
  return code == 42 ? 0 : 1;
}
