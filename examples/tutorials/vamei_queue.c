/* Ten processes put a line into a Queue of 3 places, ten others take one
 * each and print it under a lock. (Vamei: Queue with input and output
 * workers.)
 *
 *   def inputQ(queue):
 *       info = str(os.getpid()) + '(put):' + str(time.time()); queue.put(info)
 *   def outputQ(queue, lock):
 *       info = queue.get()
 *       lock.acquire(); print(str(os.getpid()) + '(get):' + info); lock.release()
 *   lock = multiprocessing.Lock(); queue = multiprocessing.Queue(3)
 *   for i in range(10): Process(target=inputQ, args=(queue,)).start() ...
 *   for i in range(10): Process(target=outputQ, args=(queue, lock)).start() ...
 *   for p in record1: p.join()
 *   queue.close()
 *   for p in record2: p.join()
 */
#include "tutorial.h"

static int inputQ(const mproc_args_t *args) {
  mproc_queue_t *queue;
  CHECK(mproc_args_get_queue(args, 0, &queue));
  char info[64];
  snprintf(info, sizeof info, "%lld(put):%.6f", (long long)mproc_current_pid(), now());
  mproc_args_t *msg = args_of(1, mproc_str(info));
  CHECK(mproc_queue_put(queue, msg, MPROC_INFINITE));
  mproc_args_free(msg);
  return 0;
}

static int outputQ(const mproc_args_t *args) {
  mproc_queue_t *queue;
  mproc_lock_t *lock;
  mproc_args_t *info;
  CHECK(mproc_args_get_queue(args, 0, &queue));
  CHECK(mproc_args_get_lock(args, 1, &lock));
  CHECK(mproc_queue_get(queue, &info, MPROC_INFINITE));
  CHECK(mproc_lock_acquire(lock, MPROC_INFINITE));
  printf("%lld(get):%s\n", (long long)mproc_current_pid(), str_at(info, 0));
  fflush(stdout);
  CHECK(mproc_lock_release(lock));
  mproc_args_free(info);
  return 0;
}

int main(int argc, char **argv) {
  mproc_main_guard(argc, argv);
  mproc_process_t *record1[10], *record2[10];
  mproc_lock_t *lock; /* to prevent messy print */
  mproc_queue_t *queue;
  CHECK(mproc_lock_new(&lock));
  CHECK(mproc_queue_new(&queue, &(mproc_queue_opts_t){.maxsize = 3}));
  for (int i = 0; i < 10; i++) {
    mproc_args_t *a;
    CHECK(mproc_args_new(&a));
    CHECK(mproc_args_add_queue(a, queue));
    record1[i] = start(inputQ, a);
  }
  for (int i = 0; i < 10; i++) {
    mproc_args_t *a;
    CHECK(mproc_args_new(&a));
    CHECK(mproc_args_add_queue(a, queue));
    CHECK(mproc_args_add_lock(a, lock));
    record2[i] = start(outputQ, a);
  }
  int failed = 0;
  for (int i = 0; i < 10; i++)
    failed |= join(record1[i]);
  CHECK(mproc_queue_close(queue)); /* no more object will come */
  for (int i = 0; i < 10; i++)
    failed |= join(record2[i]);
  mproc_queue_free(queue);
  mproc_lock_free(lock);
  return failed;
}
