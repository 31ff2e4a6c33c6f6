/* Uses an installed mproc::mpi: a pool of MPI ranks sums 1..100 squared. */
#include <mproc.h>
#include <mproc/mpi.h>
#include <stdio.h>

static int square(const mproc_args_t *args, mproc_args_t *result) {
  int64_t x;
  if (mproc_args_get_int(args, 0, &x))
    return 1;
  return mproc_args_add_int(result, x * x);
}

int main(int argc, char **argv) {
  if (mproc_mpi_init(&argc, &argv, NULL) != 0) {
    fprintf(stderr, "consumer_mpi: %s\n", mproc_last_error_detail());
    return 1;
  }
  mproc_pool_t *pool;
  mproc_args_t *items, *results;
  int64_t sum = 0;
  if (mproc_pool_new(&pool, &(mproc_pool_opts_t){.backend = mproc_mpi_pool_backend()}) != 0 ||
      mproc_args_new(&items) != 0)
    return 1;
  for (int i = 1; i <= 100; i++)
    mproc_args_add_int(items, i);
  int rc = mproc_pool_map(pool, square, items, NULL, &results);
  for (size_t i = 0; rc == 0 && i < mproc_args_count(results); i++) {
    const mproc_args_t *r;
    int64_t v = 0;
    mproc_args_get_args(results, i, &r);
    mproc_args_get_int(r, 0, &v);
    sum += v;
  }
  if (rc == 0)
    mproc_args_free(results);
  mproc_args_free(items);
  mproc_pool_free(pool);
  printf("consumer_mpi: %d workers, sum %lld\n", mproc_mpi_workers(), (long long)sum);
  mproc_mpi_finalize();
  return rc == 0 && sum == 338350 ? 0 : 1;
}
