/* A Semaphore lets at most three workers in at once; a Manager list, under
 * a Lock, shows who is inside. (PyMOTW: controlling concurrent access to
 * resources, ActivePool.)
 *
 *   class ActivePool:
 *       def __init__(self):
 *           self.mgr = multiprocessing.Manager(); self.active = self.mgr.list()
 *           self.lock = multiprocessing.Lock()
 *       def makeActive(self, name): with self.lock: self.active.append(name)
 *       def makeInactive(self, name): with self.lock: self.active.remove(name)
 *   def worker(s, pool):
 *       name = multiprocessing.current_process().name
 *       with s:
 *           pool.makeActive(name); print('Activating {} now running {}'.format(name, pool))
 *           time.sleep(random.random()); pool.makeInactive(name)
 *   pool = ActivePool(); s = multiprocessing.Semaphore(3)
 *   jobs = [Process(target=worker, name=str(i), args=(s, pool)) for i in range(10)]
 */
#include "tutorial.h"

typedef struct {
  mproc_proxy_t *active; /* a Manager list */
  mproc_lock_t *lock;
} active_pool_t;

static size_t make_active(active_pool_t *pool, const char *name) {
  size_t n;
  CHECK(mproc_lock_acquire(pool->lock, MPROC_INFINITE));
  CHECK(mproc_list_append(pool->active, mproc_str(name)));
  CHECK(mproc_list_len(pool->active, &n));
  CHECK(mproc_lock_release(pool->lock));
  return n;
}

static void make_inactive(active_pool_t *pool, const char *name) {
  CHECK(mproc_lock_acquire(pool->lock, MPROC_INFINITE));
  CHECK(mproc_list_remove(pool->active, mproc_str(name)));
  CHECK(mproc_lock_release(pool->lock));
}

static int worker(const mproc_args_t *args) {
  mproc_sem_t *s;
  active_pool_t pool;
  CHECK(mproc_args_get_sem(args, 0, &s));
  CHECK(mproc_args_get_proxy(args, 1, &pool.active));
  CHECK(mproc_args_get_lock(args, 2, &pool.lock));
  const char *name = mproc_current_name();
  CHECK(mproc_sem_acquire(s, MPROC_INFINITE)); /* with s: */
  size_t running = make_active(&pool, name);
  printf("Activating %s now running %zu\n", name, running);
  fflush(stdout);
  srand((unsigned)mproc_current_pid());
  sleep_s((double)rand() / RAND_MAX * 0.2);
  make_inactive(&pool, name);
  CHECK(mproc_sem_release(s));
  return running <= 3 ? 0 : 1; /* never more than three inside */
}

int main(int argc, char **argv) {
  mproc_main_guard(argc, argv);
  mproc_manager_t *mgr;
  active_pool_t pool;
  mproc_sem_t *s;
  CHECK(mproc_manager_start(&mgr, NULL));
  CHECK(mproc_manager_list(mgr, &pool.active));
  CHECK(mproc_lock_new(&pool.lock));
  CHECK(mproc_sem_new(&s, 3, NULL));
  mproc_process_t *jobs[10];
  for (int i = 0; i < 10; i++) {
    char name[8];
    snprintf(name, sizeof name, "%d", i);
    mproc_args_t *a = args_of(0);
    CHECK(mproc_args_add_sem(a, s));
    CHECK(mproc_args_add_proxy(a, pool.active));
    CHECK(mproc_args_add_lock(a, pool.lock));
    CHECK(mproc_process_new(&jobs[i], worker, a, &(mproc_process_opts_t){.name = name}));
    CHECK(mproc_process_start(jobs[i]));
    mproc_args_free(a);
  }
  int failed = 0;
  for (int i = 0; i < 10; i++)
    failed |= join(jobs[i]);
  size_t left;
  CHECK(mproc_list_len(pool.active, &left));
  printf("Now running %zu\n", left);
  mproc_proxy_free(pool.active);
  mproc_lock_free(pool.lock);
  mproc_sem_free(s);
  mproc_manager_free(mgr);
  return failed || left != 0;
}
