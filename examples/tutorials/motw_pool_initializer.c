/* Pool(processes=cpu_count() * 2, initializer=start_process,
 * maxtasksperchild=2).map(do_calculation, range(10)): the results come in
 * input order. (PyMOTW: process pools.)
 *
 *   def do_calculation(data): return data * 2
 *   def start_process(): print('Starting', multiprocessing.current_process().name)
 *   inputs = list(range(10)); print('Input   :', inputs)
 *   builtin_outputs = list(map(do_calculation, inputs)); print('Built-in:', builtin_outputs)
 *   pool = multiprocessing.Pool(processes=multiprocessing.cpu_count() * 2,
 *                               initializer=start_process, maxtasksperchild=2)
 *   pool_outputs = pool.map(do_calculation, inputs); pool.close(); pool.join()
 *   print('Pool    :', pool_outputs)
 */
#include "tutorial.h"

static int do_calculation(const mproc_args_t *args, mproc_args_t *result) {
  return mproc_args_add_int(result, int_at(args, 0) * 2);
}

static int start_process(const mproc_args_t *args) {
  (void)args;
  printf("Starting %s\n", mproc_current_name());
  fflush(stdout);
  return 0;
}

int main(int argc, char **argv) {
  mproc_main_guard(argc, argv);
  mproc_args_t *inputs, *pool_outputs;
  CHECK(mproc_args_new(&inputs));
  printf("Input   : [");
  for (int i = 0; i < 10; i++) {
    CHECK(mproc_args_add_int(inputs, i));
    printf(i ? ", %d" : "%d", i);
  }
  printf("]\nBuilt-in: [");
  for (int i = 0; i < 10; i++)
    printf(i ? ", %d" : "%d", i * 2);
  printf("]\n");
  fflush(stdout);
  mproc_pool_t *pool;
  CHECK(mproc_pool_new(&pool, &(mproc_pool_opts_t){.processes = mproc_cpu_count() * 2,
                                                   .initializer = start_process,
                                                   .maxtasksperchild = 2}));
  CHECK(mproc_pool_map(pool, do_calculation, inputs, &(mproc_map_opts_t){.chunksize = 1},
                       &pool_outputs));
  CHECK(mproc_pool_close(pool));
  CHECK(mproc_pool_join(pool, MPROC_INFINITE));
  printf("Pool    : [");
  int failed = 0;
  for (size_t i = 0; i < mproc_args_count(pool_outputs); i++) {
    const mproc_args_t *r;
    CHECK(mproc_args_get_args(pool_outputs, i, &r));
    printf(i ? ", %lld" : "%lld", (long long)int_at(r, 0));
    failed |= int_at(r, 0) != (int64_t)i * 2;
  }
  printf("]\n");
  mproc_args_free(inputs);
  mproc_args_free(pool_outputs);
  mproc_pool_free(pool);
  return failed;
}
