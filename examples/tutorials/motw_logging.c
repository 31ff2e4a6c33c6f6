/* log_to_stderr(DEBUG): the library says what it does, on stderr, from the
 * parent and from the child. (PyMOTW: logging.)
 *
 *   def worker(): print('Doing some work'); sys.stdout.flush()
 *   if __name__ == '__main__':
 *       multiprocessing.log_to_stderr(logging.DEBUG)
 *       p = multiprocessing.Process(target=worker); p.start(); p.join()
 */
#include "tutorial.h"

static int worker(const mproc_args_t *args) {
  (void)args;
  printf("Doing some work\n");
  fflush(stdout);
  return 0;
}

int main(int argc, char **argv) {
  mproc_main_guard(argc, argv);
  CHECK(mproc_log_to_stderr(MPROC_LOG_DEBUG));
  return join(start(worker, NULL));
}
