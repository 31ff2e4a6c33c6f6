/* A child prints its arguments, its pid and its parent's pid; so does the
 * parent. (cnblogs, "python并发编程(进程操作)": 第一种.)
 *
 *   def func(*args):
 *       print(args); print('子进程', os.getpid()); print('子进程的父进程', os.getppid())
 *   if __name__ == '__main__':
 *       p = Process(target=func, args=('参数1', '参数2')); p.start()
 *       p.join()   # wait for the child: the asynchronous program becomes synchronous
 *       print('主进程', os.getpid()); print('主进程的父进程', os.getppid())
 */
#include "tutorial.h"

static int func(const mproc_args_t *args) {
  printf("('%s', '%s')\n", str_at(args, 0), str_at(args, 1));
  printf("子进程 %lld\n", (long long)mproc_current_pid());
  printf("子进程的父进程 %lld\n", (long long)mproc_parent_pid());
  return 0;
}

int main(int argc, char **argv) {
  mproc_main_guard(argc, argv);
  mproc_process_t *p = start(func, args_of(2, mproc_str("参数1"), mproc_str("参数2")));
  int failed = join(p);
  printf("主进程 %lld\n", (long long)mproc_current_pid());
  printf("主进程的父进程 %lld\n", (long long)mproc_parent_pid());
  return failed;
}
