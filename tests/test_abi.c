/* The ABI's promises about public structs (docs/design/STYLE.md, "ABI"):
 * every options struct ends in a reserved tail that must be zero, so a
 * later version can give it meaning without changing the struct's size; a
 * program that sets an option this library does not know is told so
 * (MPROC_EINVAL), never silently ignored. Structs the library fills come
 * back with their reserved tail zeroed. */
#include "test_util.h"

static int noop_task(const mproc_args_t *args, mproc_args_t *result) { return 0; }
static int failing_task(const mproc_args_t *args, mproc_args_t *result) { return 7; }
static int noop_range(const mproc_args_t *ctx, size_t begin, size_t end) { return 0; }
static int noop_target(const mproc_args_t *args) { return 0; }
static int no_items(void *ctx, mproc_args_t **item) { return 0; }
static void later_operation(void) {}

/* rc is MPROC_EINVAL and the detail names the reserved word and op. */
static void assert_refused_word(int rc, const char *op, const char *word) {
  assert_int_equal(rc, MPROC_EINVAL);
  const char *d = mproc_last_error_detail();
  if (!strstr(d, word) || !strstr(d, op))
    fail_msg("detail \"%s\" does not name %s and %s", d, op, word);
}

static void assert_refused(int rc, const char *op) { assert_refused_word(rc, op, "reserved[3]"); }

static void object_options_with_a_reserved_word_are_refused(void **state) {
  char addr[128];
  local_address(addr, sizeof addr, "abi");
  mproc_listener_opts_t lo = {.reserved[3] = 1};
  mproc_listener_t *l = NULL;
  assert_refused(mproc_listener_new(&l, addr, &lo), "listener_new");
  mproc_client_opts_t co = {.reserved[3] = 1};
  mproc_conn_t *c = NULL;
  assert_refused(mproc_client_connect(&c, addr, &co), "client_connect");
  mproc_manager_opts_t mo = {.reserved[3] = 1};
  mproc_manager_t *m = NULL;
  assert_refused(mproc_manager_start(&m, &mo), "manager_start");
  assert_refused(mproc_manager_connect(&m, addr, &mo), "manager_connect");
  assert_refused(mproc_manager_serve_forever(addr, &mo), "manager_serve_forever");
  mproc_process_opts_t po = {.reserved[3] = 1};
  mproc_process_t *p = NULL;
  assert_refused(mproc_process_new(&p, noop_target, NULL, &po), "process_new");
  mproc_queue_opts_t qo = {.reserved[2] = 1}; /* reserved[0] became chunk_pool_bytes */
  mproc_queue_t *q = NULL;
  assert_refused_word(mproc_queue_new(&q, &qo), "queue_new", "reserved[2]");
  mproc_value_opts_t vo = {.reserved[3] = 1};
  mproc_value_t *v = NULL;
  mproc_array_t *a = NULL;
  assert_refused(mproc_value_new(&v, MPROC_T_I32, &vo), "value");
  assert_refused(mproc_array_new(&a, MPROC_T_I32, 4, &vo), "array");
  mproc_shm_opts_t so = {.reserved[3] = 1};
  mproc_shm_t *s = NULL;
  bool created = true;
  assert_refused(mproc_shm_create_opts(&s, NULL, 4096, &so), "shm_create");
  assert_refused(mproc_shm_open_or_create_opts(&s, "/mproc-abi-test", 4096, &created, &so),
                 "shm_open_or_create");
  assert_false(created);
  mproc_sem_opts_t eo = {.reserved[3] = 1};
  mproc_sem_t *e = NULL;
  assert_refused(mproc_sem_new(&e, 1, &eo), "sem_new");
  mproc_barrier_opts_t bo = {.reserved[3] = 1};
  mproc_barrier_t *b = NULL;
  assert_refused(mproc_barrier_new_opts(&b, 2, &bo), "barrier_new");
  /* Nothing was made. */
  assert_null(l);
  assert_null(c);
  assert_null(m);
  assert_null(p);
  assert_null(q);
  assert_null(v);
  assert_null(a);
  assert_null(s);
  assert_null(e);
  assert_null(b);
}

static void pool_options_with_a_reserved_word_are_refused(void **state) {
  /* worker_memory_limit took the pool's reserved[0]: three are left. */
  mproc_pool_opts_t o = {.processes = 1, .reserved[2] = 1};
  mproc_pool_t *p = NULL;
  assert_refused_word(mproc_pool_new(&p, &o), "pool_new", "reserved[2]");
  assert_null(p);
  /* A backend's operations table grows the same way. */
  mproc_pool_backend_t be = {.name = "later", .reserved[3] = later_operation};
  o = (mproc_pool_opts_t){.backend = &be};
  assert_refused(mproc_pool_new(&p, &o), "pool_new");
  assert_null(p);

  assert_int_equal(mproc_pool_new(&p, &(mproc_pool_opts_t){.processes = 1}), 0);
  mproc_task_opts_t to = {.reserved[3] = 1};
  mproc_async_result_t *r = NULL;
  assert_refused(mproc_pool_apply_async(p, noop_task, NULL, &to, &r), "pool_apply_async");
  mproc_map_opts_t mo = {.reserved[3] = 1};
  mproc_args_t *items = NULL, *results = NULL;
  assert_int_equal(mproc_args_new(&items), 0);
  assert_int_equal(mproc_args_add_int(items, 1), 0);
  assert_refused(mproc_pool_map(p, noop_task, items, &mo, &results), "pool_map");
  assert_refused(mproc_pool_starmap_async(p, noop_task, items, &mo, &r), "pool_map");
  assert_refused(mproc_pool_map_range(p, noop_range, NULL, 4, &mo), "pool_map_range");
  mproc_pool_iter_t *it = NULL;
  assert_refused(mproc_pool_imap(p, noop_task, no_items, NULL, &mo, &it), "pool_imap");
  assert_null(r);
  assert_null(results);
  assert_null(it);
  /* The pool is unharmed: zeroed options still work. */
  assert_int_equal(mproc_pool_map(p, noop_task, items, &(mproc_map_opts_t){0}, &results), 0);
  assert_int_equal(mproc_args_count(results), 1);
  mproc_args_free(results);
  mproc_args_free(items);
  mproc_pool_free(p);
}

/* Structs the library fills: their reserved words come back zero, whatever
 * the caller's memory held. */
static void filled_structs_come_back_with_reserved_zeroed(void **state) {
  mproc_pool_t *p = NULL;
  assert_int_equal(mproc_pool_new(&p, &(mproc_pool_opts_t){.processes = 1}), 0);
  mproc_async_result_t *r = NULL;
  assert_int_equal(mproc_pool_apply_async(p, failing_task, NULL, NULL, &r), 0);
  assert_int_equal(mproc_async_result_wait(r, 60000), 0);
  mproc_task_error_t e;
  memset(&e, 0xa5, sizeof e);
  assert_int_equal(mproc_async_result_error(r, &e), 0);
  assert_int_equal(e.task_status, 7);
  mproc_pool_stats_t st;
  memset(&st, 0xa5, sizeof st);
  assert_int_equal(mproc_pool_stats(p, &st), 0);
  mproc_pool_worker_t w[1];
  memset(w, 0xa5, sizeof w);
  size_t n = 0;
  assert_int_equal(mproc_pool_workers(p, w, 1, &n), 0);
  assert_int_equal(n, 1);
  for (size_t i = 0; i < 4; i++) {
    assert_int_equal(e.reserved[i], 0);
    assert_int_equal(st.reserved[i], 0);
    assert_int_equal(w[0].reserved[i], 0);
  }
  mproc_async_result_free(r);
  mproc_pool_free(p);
}

int main(int argc, char **argv) {
  mproc_main_guard(argc, argv);
  const struct CMUnitTest reserved[] = {
      cmocka_unit_test(object_options_with_a_reserved_word_are_refused),
      cmocka_unit_test(pool_options_with_a_reserved_word_are_refused),
      cmocka_unit_test(filled_structs_come_back_with_reserved_zeroed),
  };
  const test_group_t groups[] = {TEST_GROUP("reserved", reserved)};
  return run_groups(argc, argv, groups, 1);
}
