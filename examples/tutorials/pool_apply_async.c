/* A Pool of five runs ten tasks that sleep a random while; close() and
 * join() wait for all of them. (Shulou: process pool, apply_async.)
 *
 *   def fun1(name):
 *       print('Run task %s (%s)...' % (name, os.getpid()))
 *       start = time.time(); time.sleep(random.random() * 3); end = time.time()
 *       print('Task %s runs %0.2f seconds.' % (name, (end - start)))
 *   pool = Pool(5)
 *   for i in range(10): pool.apply_async(func=fun1, args=(i,))
 *   pool.close(); pool.join(); print('end test')
 */
#include "tutorial.h"

static int fun1(const mproc_args_t *args, mproc_args_t *result) {
  (void)result;
  int64_t name = int_at(args, 0);
  printf("Run task %lld (%lld)...\n", (long long)name, (long long)mproc_current_pid());
  fflush(stdout);
  double start = now();
  srand((unsigned)(mproc_current_pid() * 31 + name));
  sleep_s((double)rand() / RAND_MAX * 0.3); /* the tutorial's 3 s, shortened */
  printf("Task %lld runs %0.2f seconds.\n", (long long)name, now() - start);
  fflush(stdout);
  return 0;
}

int main(int argc, char **argv) {
  mproc_main_guard(argc, argv);
  mproc_pool_t *pool;
  CHECK(mproc_pool_new(&pool, &(mproc_pool_opts_t){.processes = 5}));
  mproc_async_result_t *r[10];
  for (int i = 0; i < 10; i++) {
    mproc_args_t *a = args_of(1, mproc_int(i));
    CHECK(mproc_pool_apply_async(pool, fun1, a, NULL, &r[i]));
    mproc_args_free(a);
  }
  CHECK(mproc_pool_close(pool));
  CHECK(mproc_pool_join(pool, MPROC_INFINITE));
  int failed = 0;
  for (int i = 0; i < 10; i++) {
    failed |= mproc_async_result_successful(r[i]) != 1;
    mproc_async_result_free(r[i]);
  }
  printf("end test\n");
  mproc_pool_free(pool);
  return failed;
}
