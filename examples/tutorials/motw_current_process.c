/* Naming processes: a name of one's own, or Python's default Process-N;
 * each worker prints the name current_process() reports. (PyMOTW,
 * multiprocessing: determining the current process.)
 *
 *   def worker():
 *       name = multiprocessing.current_process().name
 *       print(name, 'Starting'); time.sleep(2); print(name, 'Exiting')
 *   def my_service(): ... the same
 *   if __name__ == '__main__':
 *       service = multiprocessing.Process(name='my_service', target=my_service)
 *       worker_1 = multiprocessing.Process(name='worker 1', target=worker)
 *       worker_2 = multiprocessing.Process(target=worker)  # default name
 *       worker_1.start(); worker_2.start(); service.start()
 */
#include "tutorial.h"

static int worker(const mproc_args_t *args) {
  (void)args;
  const char *name = mproc_current_name();
  printf("%s Starting\n", name);
  fflush(stdout);
  sleep_s(0.2);
  printf("%s Exiting\n", name);
  return 0;
}

static mproc_process_t *named(const char *name) {
  mproc_process_t *p;
  CHECK(mproc_process_new(&p, worker, NULL, &(mproc_process_opts_t){.name = name}));
  return p;
}

int main(int argc, char **argv) {
  mproc_main_guard(argc, argv);
  mproc_process_t *service = named("my_service"), *worker_1 = named("worker 1"),
                  *worker_2 = named(NULL); /* default name: Process-N */
  CHECK(mproc_process_start(worker_1));
  CHECK(mproc_process_start(worker_2));
  CHECK(mproc_process_start(service));
  printf("main is %s\n", mproc_current_name());
  return join(worker_1) | join(worker_2) | join(service);
}
