/* A daemon child that loops for ever ends with its parent; another child
 * is terminated at once. (cnblogs: 守护进程.)
 *
 *   def func():
 *       while True: print('子进程开始'); time.sleep(1); print('***我还在运行')
 *   if __name__ == '__main__':
 *       p = Process(target=func); p.daemon = True; p.start()
 *       p1 = Process(target=func); p1.start()
 *       p1.terminate(); print(p1.is_alive())
 *       time.sleep(5); print(p1.is_alive())
 */
#include "tutorial.h"

static int func(const mproc_args_t *args) {
  (void)args;
  while (mproc_parent_alive() == 1) { /* while True: (a daemon ends with its parent) */
    printf("子进程开始\n");
    fflush(stdout);
    sleep_s(0.2);
    printf("***我还在运行\n");
    fflush(stdout);
  }
  return 0;
}

int main(int argc, char **argv) {
  mproc_main_guard(argc, argv);
  mproc_process_t *p, *p1;
  CHECK(mproc_process_new(&p, func, NULL, &(mproc_process_opts_t){.daemon = true}));
  CHECK(mproc_process_start(p));
  p1 = start(func, NULL);
  CHECK(mproc_process_terminate(p1));
  printf("%s\n", mproc_process_is_alive(p1) ? "True" : "False"); /* may still be True */
  sleep_s(1);
  int alive = mproc_process_is_alive(p1);
  printf("%s\n", alive ? "True" : "False");
  int code = join(p1);
  printf("p1.exitcode = %d\n", code); /* -15 (SIGTERM) */
  /* The daemon p is still looping; it ends when main returns. */
  return alive != 0;
}
