/* The daemon flag is set before start, as in Python:
 *
 *   p = Process(target=f, daemon=True)   # or p.daemon = True before start()
 *   p.start(); print(p.name, "daemon=" + str(p.daemon))
 *
 * A daemonic process may not start children of its own, and (once the
 * lifecycle work lands) is terminated when its parent exits. */
#include <stdio.h>

#include <mproc.h>

static int try_to_have_children(const mproc_args_t *args) {
  (void)args;
  mproc_process_t *p;
  if (mproc_process_new(&p, try_to_have_children, NULL, NULL))
    return 2;
  int rc = mproc_process_start(p);
  printf("%s: starting a child gave %s (%s)\n", mproc_current_name(), mproc_err_name(rc),
         mproc_last_error_detail());
  mproc_process_free(p);
  return rc == MPROC_ESTATE ? 0 : 1;
}

int main(int argc, char **argv) {
  mproc_main_guard(argc, argv);
  mproc_process_opts_t opts = {.name = "background", .daemon = true};
  mproc_process_t *p = NULL;
  int code = -1;
  if (mproc_process_new(&p, try_to_have_children, NULL, &opts) || mproc_process_start(p)) {
    fprintf(stderr, "error: %s\n", mproc_last_error_detail());
    return 1;
  }
  printf("%s daemon=%d\n", mproc_process_name(p), (int)mproc_process_daemon(p));
  if (mproc_process_join(p, MPROC_INFINITE) || mproc_process_exitcode(p, &code))
    fprintf(stderr, "error: %s\n", mproc_last_error_detail());
  mproc_process_free(p);
  return code == 0 ? 0 : 1;
}
