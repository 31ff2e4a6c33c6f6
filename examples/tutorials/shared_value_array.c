/* Shared memory: a Value and an Array that a child changes in place.
 * (CSDN, "使用Python的multiprocessing模块创建和管理进程": sharing data
 * with Value and Array.)
 *
 *   def f(n, a):
 *       n.value = 3.1415927
 *       for i in range(len(a)): a[i] = -a[i]
 *   if __name__ == '__main__':
 *       num = Value('d', 0.0); arr = Array('i', range(10))
 *       p = Process(target=f, args=(num, arr)); p.start(); p.join()
 *       print(num.value); print(arr[:])
 */
#include "tutorial.h"

static int f(const mproc_args_t *args) {
  mproc_value_t *n;
  mproc_array_t *a;
  CHECK(mproc_args_get_value(args, 0, &n));
  CHECK(mproc_args_get_array(args, 1, &a));
  *(double *)mproc_value_ptr(n) = 3.1415927;
  int32_t *arr = mproc_array_ptr(a);
  for (size_t i = 0; i < mproc_array_len(a); i++)
    arr[i] = -arr[i];
  return 0;
}

int main(int argc, char **argv) {
  mproc_main_guard(argc, argv);
  mproc_value_t *num;
  mproc_array_t *arr;
  const int32_t range10[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  CHECK(mproc_value_new(&num, MPROC_T_F64, NULL));
  CHECK(mproc_array_new(&arr, MPROC_T_I32, 10, &(mproc_value_opts_t){.initial = range10}));
  mproc_args_t *a;
  CHECK(mproc_args_new(&a));
  CHECK(mproc_args_add_value(a, num));
  CHECK(mproc_args_add_array(a, arr));
  int failed = join(start(f, a));
  printf("%.7f\n[", *(double *)mproc_value_ptr(num));
  int32_t *v = mproc_array_ptr(arr);
  for (int i = 0; i < 10; i++)
    printf(i ? ", %d" : "%d", v[i]);
  printf("]\n");
  failed |= v[9] != -9;
  mproc_value_free(num);
  mproc_array_free(arr);
  return failed;
}
