/* A daemon that outlives the join timeout, and a non-daemon that does not.
 * (PyMOTW: daemon processes, waiting for processes.)
 *
 *   def daemon(): print('Starting:', p.name, p.pid); time.sleep(2); print('Exiting :', ...)
 *   def non_daemon(): print('Starting:', ...); print('Exiting :', ...)
 *   d = multiprocessing.Process(name='daemon', target=daemon); d.daemon = True
 *   n = multiprocessing.Process(name='non-daemon', target=non_daemon); n.daemon = False
 *   d.start(); time.sleep(1); n.start()
 *   d.join(1); print('d.is_alive()', d.is_alive())
 *   n.join()
 */
#include "tutorial.h"

static int say(const char *what) {
  printf("%s: %s %lld\n", what, mproc_current_name(), (long long)mproc_current_pid());
  fflush(stdout);
  return 0;
}

static int daemon_fn(const mproc_args_t *args) {
  (void)args;
  say("Starting");
  sleep_s(2);
  return say("Exiting "); /* never printed: the parent ends first */
}

static int non_daemon(const mproc_args_t *args) {
  (void)args;
  say("Starting");
  return say("Exiting ");
}

int main(int argc, char **argv) {
  mproc_main_guard(argc, argv);
  mproc_process_t *d, *n;
  CHECK(mproc_process_new(&d, daemon_fn, NULL,
                          &(mproc_process_opts_t){.name = "daemon", .daemon = true}));
  CHECK(mproc_process_new(&n, non_daemon, NULL, &(mproc_process_opts_t){.name = "non-daemon"}));
  CHECK(mproc_process_start(d));
  sleep_s(0.2);
  CHECK(mproc_process_start(n));
  int rc = mproc_process_join(d, 100); /* d.join(0.1): times out */
  printf("d.join(0.1): %s, d.is_alive() %s\n", mproc_err_name(rc),
         mproc_process_is_alive(d) ? "True" : "False");
  int failed = join(n);
  /* Returning ends the daemon d (terminated, as Python's atexit does). */
  return failed || rc != MPROC_ETIMEDOUT;
}
