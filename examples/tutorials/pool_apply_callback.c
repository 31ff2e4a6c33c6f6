/* Pool.apply waits for its result; apply_async hands it to a callback in
 * the parent as each task finishes. (cnblogs series, 进程池: apply,
 * apply_async with callback.)
 *
 *   def func(n): return n * n
 *   def call_back(result): print('callback got', result)
 *   if __name__ == '__main__':
 *       p = Pool(3)
 *       print('apply:', p.apply(func, args=(4,)))
 *       for i in range(5): p.apply_async(func, args=(i,), callback=call_back)
 *       p.close(); p.join()
 */
#include "tutorial.h"

static int func(const mproc_args_t *args, mproc_args_t *result) {
  int64_t n = int_at(args, 0);
  return mproc_args_add_int(result, n * n);
}

/* Runs on the pool's thread in the parent, once per task. */
static void call_back(mproc_async_result_t *r, void *ctx) {
  const mproc_args_t *result;
  if (mproc_async_result_get(r, &result, 0) == 0) {
    printf("callback got %lld\n", (long long)int_at(result, 0));
    *(int64_t *)ctx += int_at(result, 0);
  }
}

int main(int argc, char **argv) {
  mproc_main_guard(argc, argv);
  mproc_pool_t *p;
  CHECK(mproc_pool_new(&p, &(mproc_pool_opts_t){.processes = 3}));
  mproc_args_t *four = args_of(1, mproc_int(4)), *result;
  CHECK(mproc_pool_apply(p, func, four, &result));
  printf("apply: %lld\n", (long long)int_at(result, 0));
  int64_t total = 0;
  mproc_async_result_t *r[5];
  for (int i = 0; i < 5; i++) {
    mproc_args_t *a = args_of(1, mproc_int(i));
    CHECK(mproc_pool_apply_async(
        p, func, a, &(mproc_task_opts_t){.callback = call_back, .ctx = &total}, &r[i]));
    mproc_args_free(a);
  }
  CHECK(mproc_pool_close(p));
  CHECK(mproc_pool_join(p, MPROC_INFINITE)); /* callbacks have all run by now */
  for (int i = 0; i < 5; i++)
    mproc_async_result_free(r[i]);
  printf("callbacks summed %lld\n", (long long)total);
  mproc_args_free(four);
  mproc_args_free(result);
  mproc_pool_free(p);
  return total != 0 + 1 + 4 + 9 + 16;
}
