/* Three children put a message in a Queue; the parent takes all three.
 * (Shulou: process alignment Queue.)
 *
 *   def fun1(q, i):
 *       print('child process %s starts put data' % i)
 *       q.put('I am %s communicating through Queue' % i)
 *   q = Queue()
 *   for i in range(3): p = Process(target=fun1, args=(q, i)); p.start() ...
 *   for p in process_list: p.join()
 *   print('the main process obtains Queue data')
 *   print(q.get()); print(q.get()); print(q.get())
 *   print('end test')
 */
#include "tutorial.h"

static int fun1(const mproc_args_t *args) {
  mproc_queue_t *q;
  CHECK(mproc_args_get_queue(args, 0, &q));
  int64_t i = int_at(args, 1);
  printf("child process %lld starts put data\n", (long long)i);
  char text[64];
  snprintf(text, sizeof text, "I am %lld communicating through Queue", (long long)i);
  mproc_args_t *msg = args_of(1, mproc_str(text));
  CHECK(mproc_queue_put(q, msg, MPROC_INFINITE));
  mproc_args_free(msg);
  return 0;
}

int main(int argc, char **argv) {
  mproc_main_guard(argc, argv);
  mproc_queue_t *q;
  CHECK(mproc_queue_new(&q, NULL));
  mproc_process_t *process_list[3];
  for (int i = 0; i < 3; i++) {
    mproc_args_t *a;
    CHECK(mproc_args_new(&a));
    CHECK(mproc_args_add_queue(a, q)); /* the queue goes to the child in its args */
    CHECK(mproc_args_add_int(a, i));
    process_list[i] = start(fun1, a);
  }
  int failed = 0;
  for (int i = 0; i < 3; i++)
    failed |= join(process_list[i]);
  printf("the main process obtains Queue data\n");
  for (int i = 0; i < 3; i++) {
    mproc_args_t *msg;
    CHECK(mproc_queue_get(q, &msg, MPROC_INFINITE));
    printf("%s\n", str_at(msg, 0));
    mproc_args_free(msg);
  }
  printf("end test\n");
  mproc_queue_free(q);
  return failed;
}
