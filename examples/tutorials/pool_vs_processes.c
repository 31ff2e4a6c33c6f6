/* The same work done by a Pool of 5 and by 100 processes: the pool starts
 * 5 processes, not 100, and wins. (cnblogs: 进程池 - 为什么有进程池.)
 *
 *   def func(n):
 *       for i in range(10): print(n + 1)
 *   if __name__ == '__main__':
 *       start = time.time(); pool = Pool(5); pool.map(func, range(100))
 *       t1 = time.time() - start
 *       start = time.time(); p_lst = []
 *       for i in range(100): p = Process(target=func, args=(i,)); p_lst.append(p); p.start()
 *       for p in p_lst: p.join()
 *       t2 = time.time() - start
 *       print(t1, t2)
 */
#include "tutorial.h"

static int64_t work(int64_t n) {
  int64_t sum = 0;
  for (int i = 0; i < 10; i++)
    sum += n + 1; /* the tutorial prints n + 1 ten times */
  return sum;
}

static int func(const mproc_args_t *args, mproc_args_t *result) {
  return mproc_args_add_int(result, work(int_at(args, 0)));
}

static int func_process(const mproc_args_t *args) { return work(int_at(args, 0)) > 0 ? 0 : 1; }

int main(int argc, char **argv) {
  mproc_main_guard(argc, argv);
  double start_time = now();
  mproc_pool_t *pool;
  mproc_args_t *items, *results;
  CHECK(mproc_pool_new(&pool, &(mproc_pool_opts_t){.processes = 5}));
  CHECK(mproc_args_new(&items));
  for (int i = 0; i < 100; i++)
    CHECK(mproc_args_add_int(items, i));
  CHECK(mproc_pool_map(pool, func, items, NULL, &results));
  mproc_pool_free(pool);
  double t1 = now() - start_time;

  start_time = now();
  mproc_process_t *p_lst[100];
  for (int i = 0; i < 100; i++)
    p_lst[i] = start(func_process, args_of(1, mproc_int(i)));
  int failed = 0;
  for (int i = 0; i < 100; i++)
    failed |= join(p_lst[i]);
  double t2 = now() - start_time;
  printf("pool of 5: %.3f s, 100 processes: %.3f s\n", t1, t2);
  const mproc_args_t *last;
  CHECK(mproc_args_get_args(results, 99, &last));
  failed |= int_at(last, 0) != 1000;
  mproc_args_free(items);
  mproc_args_free(results);
  return failed;
}
