/* The pool with MPI ranks as its workers (mproc::mpi), run under mpirun:
 *   mpirun -n 3 test_pool_mpi calls|failures|pieces
 *   test_pool_mpi spawn            (no mpirun: MPI_Comm_spawn of 2 workers)
 *   mpirun -n 3 test_pool_mpi dies (a worker dies: the job must end, not hang)
 *   mpirun -n 1 test_pool_mpi mismatch : -n 2 test_pool_mpi_other mismatch
 *                                  (the workers run another build)
 * Rank 0 runs the tests; every other rank serves inside mproc_mpi_init. */
#include <errno.h>
#include <signal.h>
#include <sys/types.h>

#include "../test_util.h"
#include "mproc/mpi.h"

/* ---- tasks --------------------------------------------------------------- */

static int square(const mproc_args_t *a, mproc_args_t *r) {
  int64_t x;
  if (mproc_args_get_int(a, 0, &x))
    return 1;
  return mproc_args_add_int(r, x * x);
}

static int add(const mproc_args_t *a, mproc_args_t *r) {
  int64_t x, y;
  if (mproc_args_get_int(a, 0, &x) || mproc_args_get_int(a, 1, &y))
    return 1;
  return mproc_args_add_int(r, x + y);
}

static int whoami(const mproc_args_t *a, mproc_args_t *r) {
  (void)a;
  return mproc_args_add_int(r, mproc_mpi_rank());
}

static int refuse(const mproc_args_t *a, mproc_args_t *r) {
  (void)r;
  int64_t x = 0;
  mproc_args_get_int(a, 0, &x);
  mproc_task_set_error("item %lld is refused", (long long)x);
  return 42;
}

static int nap(const mproc_args_t *a, mproc_args_t *r) {
  int64_t ms = 0;
  mproc_args_get_int(a, 0, &ms);
  sleep_ms((int)ms);
  return mproc_args_add_int(r, ms);
}

/* Gives back n bytes, each its index mod 251, after checking the argument's. */
static int echo_big(const mproc_args_t *a, mproc_args_t *r) {
  const void *p;
  size_t n;
  if (mproc_args_get_bytes(a, 0, &p, &n))
    return 1;
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++)
    if (b[i] != (unsigned char)(i % 251))
      return 2;
  return mproc_args_add_bytes(r, p, n);
}

static int64_t init_value = -1;
static int set_value(const mproc_args_t *a) {
  if (mproc_args_get_int(a, 0, &init_value))
    return 1;
  return init_value < 0 ? 5 : 0;
}

static int get_value(const mproc_args_t *a, mproc_args_t *r) {
  (void)a;
  return mproc_args_add_int(r, init_value);
}

/* What the initializer kept from its initargs: a borrowed string, read by
 * every later task (the worker holds initargs as long as it serves). */
static const char *kept_text;

static int keep_text(const mproc_args_t *a) { return mproc_args_get_str(a, 0, &kept_text) ? 1 : 0; }

static int get_kept_text(const mproc_args_t *a, mproc_args_t *r) {
  (void)a;
  return kept_text ? mproc_args_add_str(r, kept_text) : MPROC_ESTATE;
}

static int range_body(const mproc_args_t *ctx, size_t begin, size_t end) {
  (void)ctx;
  return begin <= 500 && 500 < end ? 9 : 0;
}

/* Writes its pid to the file named, then stops its own process (heartbeats
 * stop with it). */
static int stop_self(const mproc_args_t *a, mproc_args_t *r) {
  const char *path;
  if (mproc_args_get_str(a, 0, &path))
    return 1;
  FILE *f = fopen(path, "w");
  if (!f)
    return 2;
  fprintf(f, "%ld\n", (long)getpid());
  fclose(f);
  raise(SIGSTOP);
  return mproc_args_add_int(r, 1);
}

/* args: (path, id): appends "id\n" to the file (one write: whole lines
 * from every rank), then naps a little, as real work would. */
static int record(const mproc_args_t *a, mproc_args_t *r) {
  const char *path;
  int64_t id;
  if (mproc_args_get_str(a, 0, &path) || mproc_args_get_int(a, 1, &id))
    return 1;
  FILE *f = fopen(path, "a");
  if (!f)
    return 2;
  fprintf(f, "%lld\n", (long long)id);
  fclose(f);
  sleep_ms(5);
  return mproc_args_add_int(r, id);
}

static int die(const mproc_args_t *a, mproc_args_t *r) {
  (void)a;
  (void)r;
  _exit(3);
}

/* ---- helpers --------------------------------------------------------------- */

/* Spawn mode: the workers are ranks 0 .. workers-1 of their own world;
 * world mode: every rank but the root (0). */
static bool spawned;
static int first_worker_rank(void) { return spawned ? 0 : 1; }
static int last_worker_rank(void) {
  return spawned ? mproc_mpi_workers() - 1 : mproc_mpi_size() - 1;
}

static mproc_pool_t *new_pool(int processes) {
  mproc_pool_t *p = NULL;
  ASSERT_OK(mproc_pool_new(
      &p, &(mproc_pool_opts_t){.processes = processes, .backend = mproc_mpi_pool_backend()}));
  return p;
}

static void end_pool(mproc_pool_t *p) {
  ASSERT_OK(mproc_pool_close(p));
  ASSERT_OK(mproc_pool_join(p, TEST_WAIT_MS));
  mproc_pool_free(p);
}

/* ---- calls --------------------------------------------------------------- */

static void apply_runs_on_a_worker_rank(void **state) {
  (void)state;
  assert_int_equal(mproc_mpi_workers(), spawned ? 2 : mproc_mpi_size() - 1);
  mproc_pool_t *p = new_pool(0);
  mproc_args_t *a, *r;
  ASSERT_OK(mproc_args_new(&a));
  ASSERT_OK(mproc_args_add_int(a, 12));
  ASSERT_OK(mproc_pool_apply(p, square, a, &r));
  int64_t v;
  ASSERT_OK(mproc_args_get_int(r, 0, &v));
  assert_int_equal(v, 144);
  mproc_args_free(r);
  ASSERT_OK(mproc_pool_apply(p, whoami, NULL, &r));
  ASSERT_OK(mproc_args_get_int(r, 0, &v));
  assert_true(v >= first_worker_rank() && v <= last_worker_rank()); /* not the root */
  mproc_args_free(r);
  mproc_args_free(a);
  mproc_pool_stats_t st;
  ASSERT_OK(mproc_pool_stats(p, &st));
  assert_int_equal(st.workers_alive, (unsigned)mproc_mpi_workers());
  end_pool(p);
}

static void map_in_order_at_every_chunksize(void **state) {
  (void)state;
  mproc_pool_t *p = new_pool(0);
  mproc_args_t *in = test_ints(2000);
  size_t sizes[] = {1, 7, 0};
  for (size_t k = 0; k < 3; k++) {
    mproc_args_t *out;
    ASSERT_OK(mproc_pool_map(p, square, in, &(mproc_map_opts_t){.chunksize = sizes[k]}, &out));
    assert_int_equal(mproc_args_count(out), 2000);
    for (size_t i = 0; i < 2000; i += 97)
      assert_int_equal(test_item_int(out, i), (int64_t)(i * i));
    mproc_args_free(out);
  }
  /* Every worker took part. */
  mproc_args_t *who;
  ASSERT_OK(mproc_pool_map(p, whoami, in, &(mproc_map_opts_t){.chunksize = 1}, &who));
  int seen[64] = {0};
  for (size_t i = 0; i < 2000; i++) {
    int64_t rank = test_item_int(who, i);
    if (rank >= 0 && rank < 64)
      seen[rank] = 1;
  }
  for (int r = first_worker_rank(); r <= last_worker_rank() && r < 64; r++)
    assert_true(seen[r]);
  mproc_args_free(who);
  mproc_args_free(in);
  end_pool(p);
}

static void starmap_imap_and_range(void **state) {
  (void)state;
  mproc_pool_t *p = new_pool(0);
  mproc_args_t *pairs = test_pairs(100, 1000), *out;
  ASSERT_OK(mproc_pool_starmap(p, add, pairs, NULL, &out));
  assert_int_equal(test_item_int(out, 99), 1099);
  mproc_args_free(out);
  mproc_args_free(pairs);

  ASSERT_OK(mproc_pool_map_range(p, range_body, NULL, 400, NULL));
  ASSERT_ERR(MPROC_ETASKFAILED, mproc_pool_map_range(p, range_body, NULL, 1000, NULL));

  mproc_async_result_t *r;
  mproc_args_t *a;
  ASSERT_OK(mproc_args_new(&a));
  ASSERT_OK(mproc_args_add_int(a, 9));
  ASSERT_OK(mproc_pool_apply_async(p, square, a, NULL, &r));
  const mproc_args_t *res;
  ASSERT_OK(mproc_async_result_get(r, &res, TEST_WAIT_MS));
  int64_t v;
  ASSERT_OK(mproc_args_get_int(res, 0, &v));
  assert_int_equal(v, 81);
  mproc_async_result_free(r);
  mproc_args_free(a);
  end_pool(p);
}

static int next_int(void *ctx, mproc_args_t **item) {
  int *i = ctx;
  if (*i >= 300)
    return 0;
  int rc = mproc_args_new(item);
  return rc ? rc : (mproc_args_add_int(*item, (*i)++), 1);
}

static void imap_unordered_gives_every_index(void **state) {
  (void)state;
  mproc_pool_t *p = new_pool(0);
  int i = 0;
  mproc_pool_iter_t *it;
  ASSERT_OK(mproc_pool_imap_unordered(p, square, next_int, &i, NULL, &it));
  bool seen[300] = {false};
  for (int k = 0; k < 300; k++) {
    mproc_args_t *r;
    size_t index;
    ASSERT_OK(mproc_pool_iter_next(it, &r, &index, TEST_WAIT_MS));
    assert_true(index < 300 && !seen[index]);
    seen[index] = true;
    int64_t v;
    ASSERT_OK(mproc_args_get_int(r, 0, &v));
    assert_int_equal(v, (int64_t)(index * index));
    mproc_args_free(r);
  }
  mproc_args_t *end;
  ASSERT_ERR(MPROC_EEOF, mproc_pool_iter_next(it, &end, NULL, TEST_WAIT_MS));
  mproc_pool_iter_free(it);
  end_pool(p);
}

static void failures_carry_the_tasks_message(void **state) {
  (void)state;
  mproc_pool_t *p = new_pool(0);
  mproc_args_t *in = test_ints(10);
  mproc_async_result_t *r;
  ASSERT_OK(mproc_pool_map_async(p, refuse, in, &(mproc_map_opts_t){.chunksize = 3}, &r));
  ASSERT_ERR(MPROC_ETASKFAILED, mproc_async_result_get(r, NULL, TEST_WAIT_MS));
  mproc_task_error_t e;
  assert_int_equal(mproc_async_result_item(r, 4, NULL, &e), MPROC_ETASKFAILED);
  assert_int_equal(e.task_status, 42);
  assert_string_equal(e.message, "item 4 is refused");
  mproc_async_result_free(r);
  mproc_args_free(in);
  end_pool(p);
}

static void initargs_outlive_the_initializer(void **state) {
  (void)state;
  mproc_args_t *ia;
  ASSERT_OK(mproc_args_new(&ia));
  ASSERT_OK(mproc_args_add_str(ia, "kept from the initializer, read by every task"));
  mproc_pool_t *p;
  ASSERT_OK(mproc_pool_new(&p, &(mproc_pool_opts_t){.initializer = keep_text,
                                                    .initargs = ia,
                                                    .backend = mproc_mpi_pool_backend()}));
  mproc_args_free(ia);
  mproc_args_t *in = test_ints(40), *out;
  ASSERT_OK(mproc_pool_map(p, get_kept_text, in, &(mproc_map_opts_t){.chunksize = 1}, &out));
  for (size_t i = 0; i < 40; i++) {
    const mproc_args_t *one;
    const char *text;
    ASSERT_OK(mproc_args_get_args(out, i, &one));
    ASSERT_OK(mproc_args_get_str(one, 0, &text));
    assert_string_equal(text, "kept from the initializer, read by every task");
  }
  mproc_args_free(out);
  mproc_args_free(in);
  end_pool(p);
}

static void initializer_runs_on_every_rank(void **state) {
  (void)state;
  mproc_args_t *ia;
  ASSERT_OK(mproc_args_new(&ia));
  ASSERT_OK(mproc_args_add_int(ia, 777));
  mproc_pool_t *p;
  ASSERT_OK(mproc_pool_new(&p, &(mproc_pool_opts_t){.initializer = set_value,
                                                    .initargs = ia,
                                                    .backend = mproc_mpi_pool_backend()}));
  mproc_args_t *in = test_ints(50), *out;
  ASSERT_OK(mproc_pool_map(p, get_value, in, &(mproc_map_opts_t){.chunksize = 1}, &out));
  for (size_t i = 0; i < 50; i++)
    assert_int_equal(test_item_int(out, i), 777);
  mproc_args_free(out);
  end_pool(p);
  /* One that fails everywhere breaks the pool with MPROC_EINIT. */
  mproc_args_free(ia);
  ASSERT_OK(mproc_args_new(&ia));
  ASSERT_OK(mproc_args_add_int(ia, -1));
  ASSERT_OK(mproc_pool_new(&p, &(mproc_pool_opts_t){.initializer = set_value,
                                                    .initargs = ia,
                                                    .backend = mproc_mpi_pool_backend()}));
  mproc_async_result_t *r;
  ASSERT_OK(mproc_pool_apply_async(p, get_value, NULL, NULL, &r));
  int rc = mproc_async_result_get(r, NULL, TEST_WAIT_MS);
  assert_true(rc == MPROC_EINIT);
  mproc_async_result_free(r);
  ASSERT_ERR(MPROC_EINIT, mproc_pool_apply_async(p, get_value, NULL, NULL, &r));
  mproc_pool_free(p);
  mproc_args_free(ia);
  mproc_args_free(in);
}

static void what_cannot_reach_a_rank_is_refused(void **state) {
  (void)state;
  mproc_pool_t *p = new_pool(0), *q = NULL;
  mproc_lock_t *lock;
  ASSERT_OK(mproc_lock_new(&lock));
  mproc_args_t *a, *r;
  ASSERT_OK(mproc_args_new(&a));
  ASSERT_OK(mproc_args_add_lock(a, lock));
  ASSERT_ERR(MPROC_ENOTSUP, mproc_pool_apply(p, square, a, &r));
  assert_non_null(strstr(mproc_last_error_detail(), "IPC object"));
  /* One pool at a time; no more workers than ranks; no recycling. */
  ASSERT_ERR(MPROC_ESTATE,
             mproc_pool_new(&q, &(mproc_pool_opts_t){.backend = mproc_mpi_pool_backend()}));
  end_pool(p);
  ASSERT_ERR(MPROC_EINVAL,
             mproc_pool_new(&q, &(mproc_pool_opts_t){.processes = mproc_mpi_workers() + 1,
                                                     .backend = mproc_mpi_pool_backend()}));
  ASSERT_ERR(MPROC_ENOTSUP,
             mproc_pool_new(&q, &(mproc_pool_opts_t){.maxtasksperchild = 5,
                                                     .backend = mproc_mpi_pool_backend()}));
  ASSERT_ERR(MPROC_ESTATE, mproc_mpi_init(NULL, NULL, NULL));
  /* A pool of one worker of the two. */
  p = new_pool(1);
  mproc_args_t *in = test_ints(20), *out;
  ASSERT_OK(mproc_pool_map(p, square, in, NULL, &out));
  assert_int_equal(test_item_int(out, 19), 361);
  mproc_args_free(out);
  mproc_args_free(in);
  end_pool(p);
  mproc_args_free(a);
  mproc_lock_free(lock);
}

static void many_pools_one_after_another(void **state) {
  (void)state;
  for (int k = 0; k < 20; k++) {
    mproc_pool_t *p = new_pool(0);
    mproc_args_t *in = test_ints(30), *out;
    ASSERT_OK(mproc_pool_map(p, square, in, &(mproc_map_opts_t){.chunksize = 1}, &out));
    assert_int_equal(test_item_int(out, 29), 841);
    mproc_args_free(out);
    mproc_args_free(in);
    if (k % 2)
      end_pool(p);
    else
      mproc_pool_free(p); /* terminate, then free */
  }
}

/* A local pool in the root, beside the MPI one: its workers (forked or
 * spawned copies of an MPI process) never touch MPI, at start or at exit. */
static void a_local_pool_beside_the_mpi_one(void **state) {
  (void)state;
  mproc_start_method_t methods[] = {MPROC_START_SPAWN, MPROC_START_FORK};
  mproc_pool_t *remote = new_pool(0);
  mproc_args_t *in = test_ints(50), *out;
  for (int k = 0; k < 2; k++) {
    mproc_pool_t *local;
    ASSERT_OK(mproc_pool_new(
        &local,
        &(mproc_pool_opts_t){.processes = 1, .start_method = methods[k], .maxtasksperchild = 10}));
    ASSERT_OK(mproc_pool_map(local, square, in, &(mproc_map_opts_t){.chunksize = 1}, &out));
    assert_int_equal(test_item_int(out, 49), 2401);
    mproc_args_free(out);
    end_pool(local);
  }
  ASSERT_OK(mproc_pool_map(remote, square, in, NULL, &out));
  assert_int_equal(test_item_int(out, 49), 2401);
  mproc_args_free(out);
  mproc_args_free(in);
  end_pool(remote);
}

/* ---- failures ------------------------------------------------------------- */

static void a_task_past_its_limit_retires_its_rank(void **state) {
  (void)state;
  mproc_pool_t *p = new_pool(0);
  mproc_args_t *slow, *r;
  ASSERT_OK(mproc_args_new(&slow));
  ASSERT_OK(mproc_args_add_int(slow, 1500));
  mproc_async_result_t *late;
  int64_t t0 = now_ms();
  ASSERT_OK(mproc_pool_apply_async(p, nap, slow, &(mproc_task_opts_t){.timeout_ms = 200}, &late));
  ASSERT_ERR(MPROC_ETASKTIMEOUT, mproc_async_result_get(late, NULL, TEST_WAIT_MS));
  assert_true(now_ms() - t0 < 1400);
  mproc_task_error_t e;
  ASSERT_OK(mproc_async_result_error(late, &e));
  assert_non_null(strstr(e.message, "MPI rank"));
  mproc_async_result_free(late);
  /* The other worker goes on. */
  mproc_args_t *in = test_ints(40), *out;
  ASSERT_OK(mproc_pool_map(p, square, in, &(mproc_map_opts_t){.chunksize = 1}, &out));
  assert_int_equal(test_item_int(out, 39), 1521);
  mproc_args_free(out);
  mproc_pool_stats_t st;
  ASSERT_OK(mproc_pool_stats(p, &st));
  assert_int_equal(st.workers_died, 1);
  end_pool(p);
  /* The retired rank finishes its nap and serves the next pool. */
  sleep_ms(1500);
  p = new_pool(0);
  ASSERT_OK(mproc_pool_map(p, whoami, in, &(mproc_map_opts_t){.chunksize = 1}, &out));
  int seen[64] = {0};
  for (size_t i = 0; i < 40; i++)
    seen[test_item_int(out, i) & 63] = 1;
  for (int k = 1; k < mproc_mpi_size() && k < 64; k++)
    assert_true(seen[k]);
  mproc_args_free(out);
  mproc_args_free(in);
  mproc_args_free(slow);
  (void)r;
  end_pool(p);
}

static void a_stopped_rank_is_found_by_its_silence(void **state) {
  (void)state;
  mproc_pool_t *p = new_pool(0);
  char path[128];
  snprintf(path, sizeof path, "/tmp/mproc-mpi-stopped-%ld", (long)getpid());
  remove(path);
  mproc_args_t *a;
  ASSERT_OK(mproc_args_new(&a));
  ASSERT_OK(mproc_args_add_str(a, path));
  mproc_async_result_t *r;
  int64_t t0 = now_ms();
  ASSERT_OK(mproc_pool_apply_async(p, stop_self, a, NULL, &r));
  ASSERT_ERR(MPROC_EWORKERDIED, mproc_async_result_get(r, NULL, TEST_WAIT_MS));
  int64_t took = now_ms() - t0;
  mproc_task_error_t e;
  ASSERT_OK(mproc_async_result_error(r, &e));
  assert_non_null(strstr(e.message, "silent"));
  assert_true(took < 5000); /* heartbeat 200 ms: silent after 600 */
  mproc_async_result_free(r);
  /* Let it go on: its late reply is dropped, and it serves the next pool. */
  FILE *f = fopen(path, "r");
  long pid = 0;
  assert_non_null(f);
  assert_int_equal(fscanf(f, "%ld", &pid), 1);
  fclose(f);
  remove(path);
  assert_int_equal(kill((pid_t)pid, SIGCONT), 0);
  mproc_args_t *in = test_ints(10), *out;
  ASSERT_OK(mproc_pool_map(p, square, in, NULL, &out));
  mproc_args_free(out);
  end_pool(p);
  p = new_pool(0);
  ASSERT_OK(mproc_pool_map(p, square, in, &(mproc_map_opts_t){.chunksize = 1}, &out));
  assert_int_equal(test_item_int(out, 9), 81);
  mproc_args_free(out);
  end_pool(p);
  mproc_args_free(in);
  mproc_args_free(a);
}

/* ---- at most once ------------------------------------------------------------ */

enum { ONCE_RUNS = 20, ONCE_TASKS = 12 };

/* Every rank has served a whole new pool: what a retired rank held from
 * the last one is behind it (a rank serves its messages in order). */
static void every_rank_caught_up(void) {
  mproc_pool_t *p = new_pool(0);
  mproc_args_t *in = test_ints(8 * mproc_mpi_workers()), *out;
  ASSERT_OK(mproc_pool_map(p, whoami, in, &(mproc_map_opts_t){.chunksize = 1}, &out));
  int seen[64] = {0}, ranks = 0;
  for (size_t i = 0; i < mproc_args_count(in); i++)
    seen[test_item_int(out, i) & 63] = 1;
  for (int k = 0; k < 64; k++)
    ranks += seen[k];
  assert_int_equal(ranks, mproc_mpi_workers());
  mproc_args_free(out);
  mproc_args_free(in);
  end_pool(p);
}

/* Each of ids 0 .. n-1 is in the file exactly once. */
static void each_ran_once(const char *path, int n) {
  int count[ONCE_TASKS] = {0};
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  long long id;
  while (fscanf(f, "%lld", &id) == 1)
    if (id >= 0 && id < n)
      count[id]++;
  fclose(f);
  remove(path);
  for (int i = 0; i < n; i++)
    if (count[i] != 1)
      fail_msg("task %d ran %d times", i, count[i]);
}

/* Submits ONCE_TASKS recording tasks behind `first` (which goes to a rank
 * of its own and holds it), and waits for all of them. */
static void record_behind(mproc_pool_t *p, const char *path, mproc_async_result_t **rs) {
  for (int i = 0; i < ONCE_TASKS; i++) {
    mproc_args_t *a;
    ASSERT_OK(mproc_args_new(&a));
    ASSERT_OK(mproc_args_add_str(a, path));
    ASSERT_OK(mproc_args_add_int(a, i));
    ASSERT_OK(mproc_pool_apply_async(p, record, a, NULL, &rs[i]));
    mproc_args_free(a);
  }
  for (int i = 0; i < ONCE_TASKS; i++) {
    ASSERT_OK(mproc_async_result_get(rs[i], NULL, TEST_WAIT_MS));
    mproc_async_result_free(rs[i]);
  }
}

/* A rank stopped inside a task is retired for its silence, and what it
 * held runs elsewhere; resumed, it runs none of that again. */
static void a_stopped_rank_runs_nothing_twice(void **state) {
  (void)state;
  for (int run = 0; run < ONCE_RUNS; run++) {
    char path[128], pidfile[128];
    snprintf(path, sizeof path, "/tmp/mproc-mpi-once-%ld-%d", (long)getpid(), run);
    snprintf(pidfile, sizeof pidfile, "/tmp/mproc-mpi-once-pid-%ld", (long)getpid());
    remove(path);
    remove(pidfile);
    mproc_pool_t *p = new_pool(0);
    mproc_args_t *a;
    ASSERT_OK(mproc_args_new(&a));
    ASSERT_OK(mproc_args_add_str(a, pidfile));
    mproc_async_result_t *stopped, *rs[ONCE_TASKS];
    ASSERT_OK(mproc_pool_apply_async(p, stop_self, a, NULL, &stopped));
    mproc_args_free(a);
    record_behind(p, path, rs);
    ASSERT_ERR(MPROC_EWORKERDIED, mproc_async_result_get(stopped, NULL, TEST_WAIT_MS));
    mproc_async_result_free(stopped);
    FILE *f = fopen(pidfile, "r");
    long pid = 0;
    assert_non_null(f);
    assert_int_equal(fscanf(f, "%ld", &pid), 1);
    fclose(f);
    remove(pidfile);
    assert_int_equal(kill((pid_t)pid, SIGCONT), 0);
    end_pool(p);
    every_rank_caught_up();
    each_ran_once(path, ONCE_TASKS);
  }
}

/* A rank past a task's time limit is retired, and what it held runs
 * elsewhere; when its task ends it runs none of that again. */
static void a_rank_past_its_limit_runs_nothing_twice(void **state) {
  (void)state;
  for (int run = 0; run < ONCE_RUNS; run++) {
    char path[128];
    snprintf(path, sizeof path, "/tmp/mproc-mpi-once-%ld-%d", (long)getpid(), run);
    remove(path);
    mproc_pool_t *p = new_pool(0);
    mproc_args_t *a;
    ASSERT_OK(mproc_args_new(&a));
    ASSERT_OK(mproc_args_add_int(a, 300));
    mproc_async_result_t *late, *rs[ONCE_TASKS];
    ASSERT_OK(mproc_pool_apply_async(p, nap, a, &(mproc_task_opts_t){.timeout_ms = 30}, &late));
    mproc_args_free(a);
    record_behind(p, path, rs);
    ASSERT_ERR(MPROC_ETASKTIMEOUT, mproc_async_result_get(late, NULL, TEST_WAIT_MS));
    mproc_task_error_t e;
    ASSERT_OK(mproc_async_result_error(late, &e));
    /* Who it was: every backend says so. */
    assert_true(e.worker >= 0 && e.worker < mproc_mpi_workers());
    assert_true(e.worker_pid > 0);
    assert_non_null(strstr(e.worker_name, "MPI"));
    assert_non_null(strstr(e.worker_name, "pid"));
    mproc_async_result_free(late);
    end_pool(p);
    every_rank_caught_up();
    each_ran_once(path, ONCE_TASKS);
  }
}

static void terminate_cancels_and_the_ranks_come_back(void **state) {
  (void)state;
  mproc_pool_t *p = new_pool(0);
  mproc_args_t *naps;
  ASSERT_OK(mproc_args_new(&naps));
  for (int i = 0; i < 20; i++)
    ASSERT_OK(mproc_args_add_int(naps, 100));
  mproc_async_result_t *r;
  ASSERT_OK(mproc_pool_map_async(p, nap, naps, &(mproc_map_opts_t){.chunksize = 1}, &r));
  sleep_ms(150);
  ASSERT_OK(mproc_pool_terminate(p));
  ASSERT_ERR(MPROC_ECANCELED, mproc_async_result_get(r, NULL, TEST_WAIT_MS));
  ASSERT_OK(mproc_pool_join(p, TEST_WAIT_MS));
  mproc_async_result_free(r);
  mproc_pool_free(p);
  p = new_pool(0);
  mproc_args_t *in = test_ints(10), *out;
  ASSERT_OK(mproc_pool_map(p, square, in, &(mproc_map_opts_t){.chunksize = 1}, &out));
  assert_int_equal(test_item_int(out, 9), 81);
  mproc_args_free(out);
  mproc_args_free(in);
  mproc_args_free(naps);
  end_pool(p);
}

/* ---- pieces: messages larger than piece_bytes ----------------------------------- */

static void big_arguments_and_results_cross_in_pieces(void **state) {
  (void)state;
  mproc_pool_t *p = new_pool(0);
  size_t sizes[] = {0, 1, 4095, 4096, 4097, 1 << 20, (3 << 20) + 17};
  for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
    size_t n = sizes[k];
    unsigned char *b = malloc(n + 1);
    assert_non_null(b);
    for (size_t i = 0; i < n; i++)
      b[i] = (unsigned char)(i % 251);
    mproc_args_t *a, *r;
    ASSERT_OK(mproc_args_new(&a));
    ASSERT_OK(mproc_args_add_bytes(a, b, n));
    ASSERT_OK(mproc_pool_apply(p, echo_big, a, &r));
    test_expect_bytes(r, 0, b, n);
    mproc_args_free(r);
    mproc_args_free(a);
    free(b);
  }
  end_pool(p);
}

/* ---- mismatch: the workers run another build (mpirun MPMD) ---------------------- */

/* Which build this is: the other one differs here, so its build id does. */
#ifdef MPROC_TEST_OTHER_BUILD
const char test_pool_mpi_build[] = "the other build";
#else
const char test_pool_mpi_build[] = "the root's build";
#endif

static void another_build_on_a_rank_is_a_clear_error(void **state) {
  (void)state;
  mproc_pool_t *p = new_pool(0);
  mproc_args_t *a, *r;
  ASSERT_OK(mproc_args_new(&a));
  ASSERT_OK(mproc_args_add_int(a, 3));
  int rc = mproc_pool_apply(p, square, a, &r);
  assert_int_equal(rc, MPROC_EPROTO);
  assert_non_null(strstr(mproc_last_error_detail(), "another build"));
  assert_non_null(strstr(mproc_last_error_detail(), "MPI rank"));
  printf("(%s)\n", mproc_last_error_detail());
  mproc_args_free(a);
  end_pool(p);
}

/* ---- dies: run by a script that checks the job ends ------------------------------- */

static void a_dying_rank_ends_the_job(void **state) {
  (void)state;
  mproc_pool_t *p = new_pool(0);
  mproc_args_t *r;
  int64_t t0 = now_ms();
  int rc = mproc_pool_apply(p, die, NULL, &r);
  /* Under an MPI without fault tolerance mpirun ends every rank - perhaps
   * before this returns. If it returns first, the dead rank's silence has
   * failed its task, and nothing hung. */
  assert_int_equal(rc, MPROC_EWORKERDIED);
  assert_true(now_ms() - t0 < 10000);
  printf("(the task failed first: %s)\n", mproc_last_error_detail());
  mproc_pool_free(p);
}

int main(int argc, char **argv) {
  /* Small pieces, so that the test crosses them with small messages. */
  mproc_mpi_opts_t o = {.heartbeat_ms = 200, .piece_bytes = 4096};
  const char *group = argc > 1 ? argv[1] : "calls";
  if (strcmp(group, "spawn") == 0)
    o.spawn_workers = 2;
  spawned = o.spawn_workers > 0;
  if (strcmp(group, "spawn-refused") == 0) {
    /* An MPI that cannot spawn here says so, and nothing hangs. */
    o.spawn_workers = 2;
    int rc = mproc_mpi_init(&argc, &argv, &o);
    printf("spawn refused: %s: %s\n", mproc_err_name(rc), mproc_last_error_detail());
    return rc == MPROC_ECHILD && strstr(mproc_last_error_detail(), "world mode") ? 0 : 1;
  }
  /* Before init: nothing to report, and no pool. */
  mproc_pool_t *early = NULL;
  int early_rc = mproc_pool_new(&early, &(mproc_pool_opts_t){.backend = mproc_mpi_pool_backend()});
  if (mproc_mpi_rank() != -1 || mproc_mpi_size() != 0 || mproc_mpi_workers() != 0 ||
      early_rc != MPROC_ESTATE || mproc_mpi_finalize() != MPROC_ESTATE) {
    fprintf(stderr, "before mproc_mpi_init: rank %d, size %d, workers %d, pool_new %s\n",
            mproc_mpi_rank(), mproc_mpi_size(), mproc_mpi_workers(), mproc_err_name(early_rc));
    return 1;
  }
  /* Bad options are refused on every rank, and init may be called again. */
  mproc_mpi_opts_t bad_root = o;
  bad_root.root = -1;
  int neg_rc = mproc_mpi_init(&argc, &argv, &bad_root);
  bad_root.root = spawned ? 0 : 1000;
  bad_root.spawn_workers = spawned ? -2 : 0;
  int far_rc = mproc_mpi_init(&argc, &argv, &bad_root);
  if (neg_rc != MPROC_EINVAL || far_rc != MPROC_EINVAL || !mproc_last_error_detail()[0]) {
    fprintf(stderr, "bad mproc_mpi_opts_t: %s, %s: %s\n", mproc_err_name(neg_rc),
            mproc_err_name(far_rc), mproc_last_error_detail());
    return 1;
  }
  if (spawned) {
    /* Bad hints are refused before anything is spawned; init may then be
     * called again. */
    mproc_mpi_opts_t bad = o;
    bad.spawn_info = "host";
    int bad_rc = mproc_mpi_init(&argc, &argv, &bad);
    if (bad_rc != MPROC_EINVAL || !strstr(mproc_last_error_detail(), "key=value")) {
      fprintf(stderr, "spawn_info \"host\": %s: %s\n", mproc_err_name(bad_rc),
              mproc_last_error_detail());
      return 1;
    }
  }
  int rc = mproc_mpi_init(&argc, &argv, &o);
  if (rc) {
    fprintf(stderr, "mproc_mpi_init: %s: %s\n", mproc_err_name(rc), mproc_last_error_detail());
    return 1;
  }
  const struct CMUnitTest calls[] = {
      cmocka_unit_test(apply_runs_on_a_worker_rank),
      cmocka_unit_test(map_in_order_at_every_chunksize),
      cmocka_unit_test(starmap_imap_and_range),
      cmocka_unit_test(imap_unordered_gives_every_index),
      cmocka_unit_test(failures_carry_the_tasks_message),
      cmocka_unit_test(initializer_runs_on_every_rank),
      cmocka_unit_test(initargs_outlive_the_initializer),
      cmocka_unit_test(what_cannot_reach_a_rank_is_refused),
      cmocka_unit_test(many_pools_one_after_another),
      cmocka_unit_test(a_local_pool_beside_the_mpi_one),
  };
  const struct CMUnitTest failures[] = {
      cmocka_unit_test(a_task_past_its_limit_retires_its_rank),
      cmocka_unit_test(a_stopped_rank_is_found_by_its_silence),
      cmocka_unit_test(terminate_cancels_and_the_ranks_come_back),
  };
  const struct CMUnitTest once[] = {
      cmocka_unit_test(a_stopped_rank_runs_nothing_twice),
      cmocka_unit_test(a_rank_past_its_limit_runs_nothing_twice),
  };
  const struct CMUnitTest pieces[] = {
      cmocka_unit_test(big_arguments_and_results_cross_in_pieces),
  };
  const struct CMUnitTest spawn[] = {
      cmocka_unit_test(apply_runs_on_a_worker_rank),
      cmocka_unit_test(map_in_order_at_every_chunksize),
      cmocka_unit_test(big_arguments_and_results_cross_in_pieces),
  };
  const struct CMUnitTest mismatch[] = {
      cmocka_unit_test(another_build_on_a_rank_is_a_clear_error),
  };
  const struct CMUnitTest dies[] = {
      cmocka_unit_test(a_dying_rank_ends_the_job),
  };
  const test_group_t groups[] = {
      TEST_GROUP("calls", calls), TEST_GROUP("failures", failures),
      TEST_GROUP("once", once),   TEST_GROUP("pieces", pieces),
      TEST_GROUP("spawn", spawn), TEST_GROUP("mismatch", mismatch),
      TEST_GROUP("dies", dies),
  };
  char *chosen[] = {argv[0], (char *)group};
  int failed = run_groups(2, chosen, groups, sizeof groups / sizeof groups[0]);
  if (mproc_mpi_finalize() != 0 || mproc_mpi_finalize() != MPROC_ESTATE) {
    fprintf(stderr, "mproc_mpi_finalize: not 0 then MPROC_ESTATE: %s\n", mproc_last_error_detail());
    return 1;
  }
  return failed ? 1 : 0;
}
