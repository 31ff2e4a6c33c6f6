/* Python's "subclass Process and override run()", in C: the fields the
 * subclass's __init__ stores travel as the argument tuple, and run() is
 * the target. (Shulou, method 2; cnblogs, 第二种; PyMOTW, subclassing
 * Process.)
 *
 *   class MyProcess(Process):
 *       def __init__(self, args1, args2):
 *           super().__init__(); self.args1 = args1; self.args2 = args2
 *       def run(self):
 *           print('test %s multiprocess' % self.args1); print(self.args2)
 *           print(self.pid)
 *   if __name__ == '__main__':
 *       for i in range(5): p = MyProcess('Python', i); p.start() ...
 *       print('end the test')
 */
#include "tutorial.h"

typedef struct {
  const char *args1;
  int64_t args2;
} my_process_t;

/* run(self) */
static int my_process_run(const mproc_args_t *args) {
  my_process_t self = {str_at(args, 0), int_at(args, 1)};
  printf("test %s multiprocess %lld, pid %lld\n", self.args1, (long long)self.args2,
         (long long)mproc_current_pid());
  return 0;
}

/* MyProcess(args1, args2).start() */
static mproc_process_t *my_process_start(const my_process_t *self) {
  return start(my_process_run, args_of(2, mproc_str(self->args1), mproc_int(self->args2)));
}

int main(int argc, char **argv) {
  mproc_main_guard(argc, argv);
  mproc_process_t *process_list[5];
  for (int i = 0; i < 5; i++) {
    my_process_t p = {"Python", i};
    process_list[i] = my_process_start(&p);
  }
  int failed = 0;
  for (int i = 0; i < 5; i++)
    failed |= join(process_list[i]);
  printf("end the test\n");
  return failed;
}
