/* Five children run one function with an argument; the parent joins them.
 * (Shulou, "How to analyze Python multi-processes", method 1.)
 *
 *   def fun1(name): print('test %s multiprocess' % name)
 *   if __name__ == '__main__':
 *       process_list = []
 *       for i in range(5):
 *           p = Process(target=fun1, args=('Python',)); p.start()
 *           process_list.append(p)
 *       for p in process_list: p.join()
 *       print('end the test')
 */
#include "tutorial.h"

static int fun1(const mproc_args_t *args) {
  printf("test %s multiprocess\n", str_at(args, 0));
  return 0;
}

int main(int argc, char **argv) {
  mproc_main_guard(argc, argv); /* if __name__ == '__main__': */
  mproc_process_t *process_list[5];
  for (int i = 0; i < 5; i++)
    process_list[i] = start(fun1, args_of(1, mproc_str("Python")));
  int failed = 0;
  for (int i = 0; i < 5; i++)
    failed |= join(process_list[i]);
  printf("end the test\n");
  return failed;
}
