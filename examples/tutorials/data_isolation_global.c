/* A child's change to a global is its own: the parent still sees 100.
 * (cnblogs: 进程之间的数据隔离问题.)
 *
 *   def func():
 *       global n; n = 0; print('pid:%s' % os.getpid(), n)
 *   if __name__ == '__main__':
 *       n = 100
 *       p = Process(target=func); p.start(); p.join()
 *       print(n)
 */
#include "tutorial.h"

static int n;

static int func(const mproc_args_t *args) {
  (void)args;
  n = 0;
  printf("pid:%lld %d\n", (long long)mproc_current_pid(), n);
  return 0;
}

int main(int argc, char **argv) {
  mproc_main_guard(argc, argv);
  n = 100;
  int failed = join(start(func, NULL));
  printf("%d\n", n);
  return failed || n != 100;
}
