/* A Condition orders the work: stage 2 processes wait until stage 1 is
 * done. (PyMOTW: synchronizing operations.)
 *
 *   def stage_1(cond):
 *       with cond: print(name, 'done and ready for stage 2'); cond.notify_all()
 *   def stage_2(cond):
 *       with cond: cond.wait(); print(name, 'running')
 *   condition = multiprocessing.Condition()
 *   s1 = Process(name='s1', target=stage_1, args=(condition,))
 *   s2_clients = [Process(name='stage_2[%d]' % i, target=stage_2, args=(condition,))
 *                 for i in range(1, 3)]
 *   for c in s2_clients: c.start(); time.sleep(1)
 *   s1.start(); s1.join()
 *   for c in s2_clients: c.join()
 *
 * Python's version sleeps so that stage 2 waits before stage 1 notifies (a
 * notify reaches only those already waiting). Here stage 1 also sets a
 * shared flag and stage 2 waits for it (Condition.wait_for), which needs
 * no sleep. */
#include "tutorial.h"

static bool stage_1_done(void *flag) {
  int64_t v = 0;
  mproc_value_load(flag, &v);
  return v != 0;
}

static int stage_1(const mproc_args_t *args) {
  mproc_cond_t *cond;
  mproc_value_t *done;
  CHECK(mproc_args_get_cond(args, 0, &cond));
  CHECK(mproc_args_get_value(args, 1, &done));
  printf("Starting %s\n", mproc_current_name());
  CHECK(mproc_cond_acquire(cond, MPROC_INFINITE)); /* with cond: */
  printf("%s done and ready for stage 2\n", mproc_current_name());
  fflush(stdout);
  CHECK(mproc_value_store(done, 1));
  CHECK(mproc_cond_notify_all(cond));
  CHECK(mproc_cond_release(cond));
  return 0;
}

static int stage_2(const mproc_args_t *args) {
  mproc_cond_t *cond;
  mproc_value_t *done;
  CHECK(mproc_args_get_cond(args, 0, &cond));
  CHECK(mproc_args_get_value(args, 1, &done));
  printf("Starting %s\n", mproc_current_name());
  fflush(stdout);
  CHECK(mproc_cond_acquire(cond, MPROC_INFINITE));
  CHECK(mproc_cond_wait_for(cond, stage_1_done, done, MPROC_INFINITE));
  printf("%s running\n", mproc_current_name());
  CHECK(mproc_cond_release(cond));
  return 0;
}

static mproc_process_t *stage(mproc_target_fn fn, const char *name, mproc_cond_t *c,
                              mproc_value_t *done) {
  mproc_args_t *a = args_of(0);
  CHECK(mproc_args_add_cond(a, c));
  CHECK(mproc_args_add_value(a, done));
  mproc_process_t *p;
  CHECK(mproc_process_new(&p, fn, a, &(mproc_process_opts_t){.name = name}));
  CHECK(mproc_process_start(p));
  mproc_args_free(a);
  return p;
}

int main(int argc, char **argv) {
  mproc_main_guard(argc, argv);
  mproc_cond_t *condition;
  mproc_value_t *done; /* stage 1 has run */
  CHECK(mproc_cond_new_rlock(&condition, NULL));
  CHECK(mproc_value_new(&done, MPROC_T_I32, NULL));
  mproc_process_t *s2_clients[2] = {stage(stage_2, "stage_2[1]", condition, done),
                                    stage(stage_2, "stage_2[2]", condition, done)};
  mproc_process_t *s1 = stage(stage_1, "s1", condition, done);
  int failed = join(s1) | join(s2_clients[0]) | join(s2_clients[1]);
  mproc_cond_free(condition);
  mproc_value_free(done);
  return failed;
}
