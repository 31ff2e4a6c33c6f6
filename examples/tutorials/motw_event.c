/* An Event signals every process at once; one waits for ever, one with a
 * timeout that runs out first. (PyMOTW: signaling between processes.)
 *
 *   def wait_for_event(e):
 *       print('wait_for_event: starting'); e.wait()
 *       print('wait_for_event: e.is_set()->', e.is_set())
 *   def wait_for_event_timeout(e, t):
 *       print('wait_for_event_timeout: starting'); e.wait(t)
 *       print('wait_for_event_timeout: e.is_set()->', e.is_set())
 *   e = multiprocessing.Event()
 *   w1 = Process(name='block', target=wait_for_event, args=(e,))
 *   w2 = Process(name='nonblock', target=wait_for_event_timeout, args=(e, 2))
 *   w1.start(); w2.start(); time.sleep(3); e.set(); print('main: event is set')
 */
#include "tutorial.h"

static int wait_for_event(const mproc_args_t *args) {
  mproc_event_t *e;
  CHECK(mproc_args_get_event(args, 0, &e));
  printf("wait_for_event: starting\n");
  fflush(stdout);
  CHECK(mproc_event_wait(e, MPROC_INFINITE));
  printf("wait_for_event: e.is_set()-> %s\n", mproc_event_is_set(e) ? "True" : "False");
  return 0;
}

static int wait_for_event_timeout(const mproc_args_t *args) {
  mproc_event_t *e;
  CHECK(mproc_args_get_event(args, 0, &e));
  printf("wait_for_event_timeout: starting\n");
  fflush(stdout);
  int rc = mproc_event_wait(e, (int)int_at(args, 1)); /* MPROC_ETIMEDOUT: not set in time */
  printf("wait_for_event_timeout: e.is_set()-> %s\n", mproc_event_is_set(e) ? "True" : "False");
  return rc == MPROC_ETIMEDOUT ? 0 : 1;
}

int main(int argc, char **argv) {
  mproc_main_guard(argc, argv);
  mproc_event_t *e;
  CHECK(mproc_event_new(&e));
  mproc_args_t *a1, *a2 = args_of(0);
  CHECK(mproc_args_new(&a1));
  CHECK(mproc_args_add_event(a1, e));
  CHECK(mproc_args_add_event(a2, e));
  CHECK(mproc_args_add_int(a2, 200)); /* ms */
  mproc_process_t *w1 = start(wait_for_event, a1), *w2 = start(wait_for_event_timeout, a2);
  sleep_s(0.6);
  CHECK(mproc_event_set(e));
  printf("main: event is set\n");
  fflush(stdout);
  int failed = join(w1) | join(w2);
  mproc_event_free(e);
  return failed;
}
