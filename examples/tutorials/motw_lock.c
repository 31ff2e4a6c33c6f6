/* Two processes write to one stream; a Lock keeps their writes whole.
 * (PyMOTW: controlling access to resources.)
 *
 *   def worker_with(lock, stream):
 *       with lock: stream.write('Lock acquired via with\n')
 *   def worker_no_with(lock, stream):
 *       lock.acquire()
 *       try: stream.write('Lock acquired directly\n')
 *       finally: lock.release()
 *   lock = multiprocessing.Lock()
 *   w = Process(target=worker_with, args=(lock, sys.stdout))
 *   nw = Process(target=worker_no_with, args=(lock, sys.stdout))
 *   w.start(); nw.start(); w.join(); nw.join()
 */
#include "tutorial.h"

static int worker(const mproc_args_t *args) {
  mproc_lock_t *lock;
  CHECK(mproc_args_get_lock(args, 0, &lock));
  for (int i = 0; i < 3; i++) {
    CHECK(mproc_lock_acquire(lock, MPROC_INFINITE)); /* C has no "with": acquire ... */
    printf("Lock acquired %s, line %d\n", str_at(args, 1), i);
    fflush(stdout);
    CHECK(mproc_lock_release(lock)); /* ... release on every path */
  }
  return 0;
}

int main(int argc, char **argv) {
  mproc_main_guard(argc, argv);
  mproc_lock_t *lock;
  CHECK(mproc_lock_new(&lock));
  mproc_args_t *a = args_of(0), *b = args_of(0);
  CHECK(mproc_args_add_lock(a, lock));
  CHECK(mproc_args_add_str(a, "via one worker"));
  CHECK(mproc_args_add_lock(b, lock));
  CHECK(mproc_args_add_str(b, "directly"));
  mproc_process_t *w = start(worker, a), *nw = start(worker, b);
  int failed = join(w) | join(nw);
  mproc_lock_free(lock);
  return failed;
}
