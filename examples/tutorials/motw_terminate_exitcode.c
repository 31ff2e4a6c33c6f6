/* Exit codes: a normal return, an error code, what a crash or an
 * uncaught exception gives, and -15 for a terminated process.
 * (PyMOTW: terminating processes, process exit status.)
 *
 *   def exit_error(): sys.exit(1)
 *   def exit_ok(): return
 *   def return_value(): return 1      # a return value is not an exit code in Python
 *   def raises(): raise RuntimeError('There was an error!')
 *   def terminated(): time.sleep(3)
 *   for f in [exit_error, exit_ok, return_value, raises, terminated]:
 *       j = multiprocessing.Process(target=f, name=f.__name__); jobs.append(j); j.start()
 *   jobs[-1].terminate()
 *   for j in jobs: j.join(); print('{:>15}.exitcode = {}'.format(j.name, j.exitcode))
 */
#include "tutorial.h"

static int exit_error(const mproc_args_t *a) {
  (void)a;
  exit(1);
} /* sys.exit(1) */
static int exit_ok(const mproc_args_t *a) {
  (void)a;
  return 0;
} /* return */
static int return_value(const mproc_args_t *a) {
  (void)a;
  return 1;
} /* in C it is the code */
static int raises(const mproc_args_t *a) {
  (void)a;
  abort();
} /* a crash */
static int terminated(const mproc_args_t *a) {
  (void)a;
  sleep_s(30);
  return 0;
}

int main(int argc, char **argv) {
  mproc_main_guard(argc, argv);
  struct {
    const char *name;
    mproc_target_fn fn;
    mproc_process_t *p;
  } jobs[] = {{"exit_error", exit_error, NULL},
              {"exit_ok", exit_ok, NULL},
              {"return_value", return_value, NULL},
              {"raises", raises, NULL},
              {"terminated", terminated, NULL}};
  for (int i = 0; i < 5; i++) {
    CHECK(mproc_process_new(&jobs[i].p, jobs[i].fn, NULL,
                            &(mproc_process_opts_t){.name = jobs[i].name}));
    CHECK(mproc_process_start(jobs[i].p));
  }
  CHECK(mproc_process_terminate(jobs[4].p));
  int codes[5];
  for (int i = 0; i < 5; i++) {
    codes[i] = join(jobs[i].p);
    printf("%15s.exitcode = %d\n", jobs[i].name, codes[i]);
  }
  /* abort() is SIGABRT (-6) on POSIX and exit code 3 on Windows. */
  return !(codes[0] == 1 && codes[1] == 0 && codes[2] == 1 && codes[3] != 0 && codes[4] == -15);
}
