/* Ten processes write into one dict and one list that a Manager shares.
 * (Shulou: Managers.)
 *
 *   def fun1(dic, lis, index):
 *       dic[index] = 'a'; dic['2'] = 'b'; lis.append(index)
 *   with Manager() as manager:
 *       dic = manager.dict(); l = manager.list(range(5))
 *       for i in range(10): p = Process(target=fun1, args=(dic, l, i)); p.start() ...
 *       for res in process_list: res.join()
 *       print(dic); print(l)
 */
#include "tutorial.h"

static int fun1(const mproc_args_t *args) {
  mproc_proxy_t *dic, *lis;
  CHECK(mproc_args_get_proxy(args, 0, &dic));
  CHECK(mproc_args_get_proxy(args, 1, &lis));
  int64_t index = int_at(args, 2);
  CHECK(mproc_dict_set(dic, mproc_int(index), mproc_str("a")));
  CHECK(mproc_dict_set(dic, mproc_str("2"), mproc_str("b")));
  CHECK(mproc_list_append(lis, mproc_int(index)));
  return 0;
}

/* print(x) for the items this program stores: ints and strings. */
static void print_item(const mproc_args_t *t, size_t i) {
  mproc_item_t it;
  CHECK(mproc_args_get_item(t, i, &it));
  if (it.type == MPROC_T_INT)
    printf("%lld", (long long)it.v.i);
  else
    printf("'%s'", it.v.s.p);
}

int main(int argc, char **argv) {
  mproc_main_guard(argc, argv);
  mproc_manager_t *manager;
  mproc_proxy_t *dic, *l;
  CHECK(mproc_manager_start(&manager, NULL));
  CHECK(mproc_manager_dict(manager, &dic));
  CHECK(mproc_manager_list(manager, &l));
  for (int i = 0; i < 5; i++) /* manager.list(range(5)) */
    CHECK(mproc_list_append(l, mproc_int(i)));
  mproc_process_t *process_list[10];
  for (int i = 0; i < 10; i++) {
    mproc_args_t *a = args_of(3, mproc_proxy_item(dic), mproc_proxy_item(l), mproc_int(i));
    process_list[i] = start(fun1, a);
  }
  int failed = 0;
  for (int i = 0; i < 10; i++)
    failed |= join(process_list[i]);
  mproc_args_t *items, *all;
  CHECK(mproc_dict_items(dic, &items));
  printf("{");
  for (size_t i = 0; i < mproc_args_count(items); i++) {
    const mproc_args_t *kv;
    CHECK(mproc_args_get_args(items, i, &kv));
    printf(i ? ", " : "");
    print_item(kv, 0);
    printf(": ");
    print_item(kv, 1);
  }
  printf("}\n[");
  CHECK(mproc_list_slice(l, 0, INT64_MAX, &all));
  for (size_t i = 0; i < mproc_args_count(all); i++) {
    printf(i ? ", " : "");
    print_item(all, i);
  }
  printf("]\n");
  size_t keys = mproc_args_count(items), len = mproc_args_count(all);
  printf("%zu keys, %zu items\n", keys, len);
  mproc_args_free(items);
  mproc_args_free(all);
  mproc_proxy_free(dic);
  mproc_proxy_free(l);
  mproc_manager_free(manager);
  return failed || keys != 11 || len != 15;
}
