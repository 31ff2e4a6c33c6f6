/* Five processes print their pid and name.
 *
 *   from multiprocessing import Process, current_process
 *   def f(): print(current_process().name, "pid", os.getpid())
 *   if __name__ == "__main__":
 *       ps = [Process(target=f) for _ in range(5)]
 *       for p in ps: p.start()
 *       for p in ps: p.join()
 */
#include <stdio.h>

#include <mproc.h>

static int say_who(const mproc_args_t *args) {
  (void)args;
  printf("%s pid %lld (parent %lld)\n", mproc_current_name(), (long long)mproc_current_pid(),
         (long long)mproc_parent_pid());
  return 0;
}

int main(int argc, char **argv) {
  mproc_main_guard(argc, argv);
  mproc_process_t *ps[5];
  for (int i = 0; i < 5; i++) {
    if (mproc_process_new(&ps[i], say_who, NULL, NULL) || mproc_process_start(ps[i])) {
      fprintf(stderr, "start: %s\n", mproc_last_error_detail());
      return 1;
    }
  }
  int failed = 0;
  for (int i = 0; i < 5; i++) {
    int code = -1;
    if (mproc_process_join(ps[i], MPROC_INFINITE) || mproc_process_exitcode(ps[i], &code) ||
        code != 0)
      failed = 1;
    mproc_process_free(ps[i]);
  }
  printf("%s pid %lld started 5 children\n", mproc_current_name(), (long long)mproc_current_pid());
  return failed;
}
