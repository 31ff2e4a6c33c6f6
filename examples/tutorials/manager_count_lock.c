/* A Manager's dict is shared, but "dic['count'] -= 1" is a read and a
 * write: with ten processes, updates get lost unless a Lock guards them.
 * (cnblogs: Manager中进程数据不安全 通过加锁解决.) mproc_dict_incr does it
 * in one atomic call, without the lock.
 *
 *   def main(dic, lock):
 *       lock.acquire(); dic['count'] -= 1; print(dic); lock.release()
 *   if __name__ == '__main__':
 *       m = Manager(); l = Lock()
 *       dic = m.dict({'count': 100})
 *       p_lst = []
 *       for i in range(50): p = Process(target=main, args=(dic, l)); p.start(); p_lst.append(p)
 *       for p in p_lst: p.join()
 *       print('主进程', dic)
 */
#include "tutorial.h"

static int64_t get_count(mproc_proxy_t *dic) {
  int64_t n;
  CHECK(mproc_dict_get_int(dic, mproc_str("count"), &n));
  return n;
}

static int worker(const mproc_args_t *args) {
  mproc_proxy_t *dic;
  mproc_lock_t *lock;
  CHECK(mproc_args_get_proxy(args, 0, &dic));
  CHECK(mproc_args_get_lock(args, 1, &lock));
  CHECK(mproc_lock_acquire(lock, MPROC_INFINITE));
  int64_t n = get_count(dic); /* dic['count'] -= 1: a read ... */
  CHECK(mproc_dict_set(dic, mproc_str("count"), mproc_int(n - 1))); /* ... and a write */
  printf("{'count': %lld}\n", (long long)(n - 1));
  fflush(stdout);
  CHECK(mproc_lock_release(lock));
  CHECK(mproc_dict_incr(dic, mproc_str("atomic"), -1, NULL)); /* no lock needed */
  return 0;
}

int main(int argc, char **argv) {
  mproc_main_guard(argc, argv);
  mproc_manager_t *m;
  mproc_proxy_t *dic;
  mproc_lock_t *l;
  CHECK(mproc_manager_start(&m, NULL));
  CHECK(mproc_lock_new(&l));
  CHECK(mproc_manager_dict(m, &dic));
  CHECK(mproc_dict_set(dic, mproc_str("count"), mproc_int(100)));
  CHECK(mproc_dict_set(dic, mproc_str("atomic"), mproc_int(100)));
  mproc_process_t *p_lst[20];
  for (int i = 0; i < 20; i++) {
    mproc_args_t *a = args_of(1, mproc_proxy_item(dic));
    CHECK(mproc_args_add_lock(a, l));
    p_lst[i] = start(worker, a);
  }
  int failed = 0;
  for (int i = 0; i < 20; i++)
    failed |= join(p_lst[i]);
  int64_t count = get_count(dic), atomic;
  CHECK(mproc_dict_get_int(dic, mproc_str("atomic"), &atomic));
  printf("主进程 {'count': %lld, 'atomic': %lld}\n", (long long)count, (long long)atomic);
  mproc_proxy_free(dic);
  mproc_lock_free(l);
  mproc_manager_free(m);
  return failed || count != 80 || atomic != 80;
}
