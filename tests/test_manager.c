/* Managers: every call of every kind against Python's semantics, exact
 * counts from many processes, proxies that reach children and
 * grandchildren, and what Python's manager cannot survive - a killed lock
 * holder, a killed manager with clients blocked in it, hostile clients -
 * under whatever start method MPROC_START_METHOD names. */
#ifndef _WIN32
#  define _GNU_SOURCE
#endif
#include <stdatomic.h>

#include "test_util.h"

static const char KEY[] = "a key both sides know";

static mproc_manager_t *start_manager(void) {
  mproc_manager_t *m = NULL;
  mproc_manager_opts_t o = {0};
  o.authkey = KEY;
  o.authkey_len = sizeof KEY - 1;
  o.timeout_ms = TEST_WAIT_MS;
  ASSERT_OK(mproc_manager_start(&m, &o));
  return m;
}

static int64_t get_int(mproc_args_t *one) {
  int64_t v = -999;
  assert_int_equal(mproc_args_count(one), 1);
  ASSERT_OK(mproc_args_get_int(one, 0, &v));
  mproc_args_free(one);
  return v;
}

static int64_t dict_int(mproc_proxy_t *d, mproc_item_t key) {
  mproc_args_t *v = NULL;
  ASSERT_OK(mproc_dict_get(d, key, &v));
  return get_int(v);
}

static int64_t list_int(mproc_proxy_t *l, int64_t i) {
  mproc_args_t *v = NULL;
  ASSERT_OK(mproc_list_get(l, i, &v));
  return get_int(v);
}

static void expect_ints(mproc_args_t *t, const int64_t *want, size_t n) {
  assert_int_equal(mproc_args_count(t), n);
  for (size_t i = 0; i < n; i++) {
    int64_t v;
    ASSERT_OK(mproc_args_get_int(t, i, &v));
    assert_int_equal(v, want[i]);
  }
  mproc_args_free(t);
}

/* ---- dict, Namespace, Value ---------------------------------------------- */

static void dict_semantics(void **state) {
  (void)state;
  mproc_manager_t *m = start_manager();
  mproc_proxy_t *d;
  ASSERT_OK(mproc_manager_dict(m, &d));
  assert_int_equal(mproc_proxy_kind(d), MPROC_PROXY_DICT);
  size_t n = 99;
  ASSERT_OK(mproc_dict_len(d, &n));
  assert_int_equal(n, 0);

  /* Keys of every scalar type, and a tuple key; int 1 and double 1.0
   * and true are three keys (encodings are compared). */
  ASSERT_OK(mproc_dict_set(d, mproc_str("b"), mproc_int(2)));
  ASSERT_OK(mproc_dict_set(d, mproc_str("a"), mproc_int(1)));
  ASSERT_OK(mproc_dict_set(d, mproc_int(1), mproc_str("int one")));
  ASSERT_OK(mproc_dict_set(d, mproc_double(1.0), mproc_str("double one")));
  ASSERT_OK(mproc_dict_set(d, mproc_bool(true), mproc_nil()));
  ASSERT_OK(mproc_dict_set(d, mproc_bytes("\0\1", 2), mproc_double(2.5)));
  mproc_args_t *tk;
  ASSERT_OK(mproc_args_new(&tk));
  ASSERT_OK(mproc_args_add_int(tk, 7));
  ASSERT_OK(mproc_args_add_str(tk, "x"));
  ASSERT_OK(mproc_dict_set(d, mproc_tuple(tk), mproc_tuple(tk)));
  ASSERT_OK(mproc_dict_len(d, &n));
  assert_int_equal(n, 7);
  assert_int_equal(dict_int(d, mproc_str("a")), 1);
  mproc_args_t *v;
  const char *s;
  ASSERT_OK(mproc_dict_get(d, mproc_double(1.0), &v));
  ASSERT_OK(mproc_args_get_str(v, 0, &s));
  assert_string_equal(s, "double one");
  mproc_args_free(v);
  ASSERT_OK(mproc_dict_get(d, mproc_tuple(tk), &v));
  const mproc_args_t *inner;
  ASSERT_OK(mproc_args_get_args(v, 0, &inner));
  assert_int_equal(mproc_args_count(inner), 2);
  mproc_args_free(v);
  mproc_args_free(tk);

  /* Overwriting keeps the insertion order; KeyError; get with default. */
  ASSERT_OK(mproc_dict_set(d, mproc_str("b"), mproc_int(20)));
  ASSERT_ERR(MPROC_ENOENT, mproc_dict_get(d, mproc_str("zz"), &v));
  ASSERT_OK(mproc_dict_get_default(d, mproc_str("zz"), mproc_int(-1), &v));
  assert_int_equal(get_int(v), -1);
  ASSERT_OK(mproc_dict_get_default(d, mproc_str("b"), mproc_int(-1), &v));
  assert_int_equal(get_int(v), 20);
  assert_int_equal(mproc_dict_contains(d, mproc_str("a")), 1);
  assert_int_equal(mproc_dict_contains(d, mproc_str("zz")), 0);

  mproc_args_t *keys;
  ASSERT_OK(mproc_dict_keys(d, &keys));
  assert_int_equal(mproc_args_count(keys), 7);
  ASSERT_OK(mproc_args_get_str(keys, 0, &s));
  assert_string_equal(s, "b"); /* first inserted, still first */
  ASSERT_OK(mproc_args_get_str(keys, 1, &s));
  assert_string_equal(s, "a");
  mproc_args_free(keys);

  /* del, pop, pop with default, setdefault */
  ASSERT_OK(mproc_dict_del(d, mproc_int(1)));
  ASSERT_ERR(MPROC_ENOENT, mproc_dict_del(d, mproc_int(1)));
  ASSERT_OK(mproc_dict_pop(d, mproc_str("a"), &v));
  assert_int_equal(get_int(v), 1);
  ASSERT_ERR(MPROC_ENOENT, mproc_dict_pop(d, mproc_str("a"), &v));
  ASSERT_OK(mproc_dict_pop_default(d, mproc_str("a"), mproc_int(5), &v));
  assert_int_equal(get_int(v), 5);
  ASSERT_OK(mproc_dict_setdefault(d, mproc_str("s"), mproc_int(10), &v));
  assert_int_equal(get_int(v), 10);
  ASSERT_OK(mproc_dict_setdefault(d, mproc_str("s"), mproc_int(11), &v));
  assert_int_equal(get_int(v), 10);

  /* incr (a missing key counts as 0), overflow, a non-integer */
  int64_t now = 0;
  ASSERT_OK(mproc_dict_incr(d, mproc_str("n"), 5, &now));
  assert_int_equal(now, 5);
  ASSERT_OK(mproc_dict_incr(d, mproc_str("n"), -7, &now));
  assert_int_equal(now, -2);
  ASSERT_OK(mproc_dict_set(d, mproc_str("big"), mproc_int(INT64_MAX)));
  ASSERT_ERR(MPROC_ERANGE, mproc_dict_incr(d, mproc_str("big"), 1, &now));
  ASSERT_ERR(MPROC_ETYPE, mproc_dict_incr(d, mproc_bool(true), 1, &now));

  /* compare-and-set */
  assert_int_equal(mproc_dict_cas(d, mproc_str("n"), mproc_int(-2), mproc_int(100)), 1);
  assert_int_equal(mproc_dict_cas(d, mproc_str("n"), mproc_int(-2), mproc_int(200)), 0);
  assert_int_equal(mproc_dict_cas(d, mproc_str("missing"), mproc_nil(), mproc_int(1)), 0);
  assert_int_equal(dict_int(d, mproc_str("n")), 100);

  /* update: a tuple of pairs; items; clear */
  mproc_args_t *pairs, *p1, *p2;
  ASSERT_OK(mproc_args_new(&pairs));
  ASSERT_OK(mproc_args_new(&p1));
  ASSERT_OK(mproc_args_new(&p2));
  ASSERT_OK(mproc_args_add_str(p1, "u1"));
  ASSERT_OK(mproc_args_add_int(p1, 1));
  ASSERT_OK(mproc_args_add_str(p2, "u2"));
  ASSERT_OK(mproc_args_add_int(p2, 2));
  ASSERT_OK(mproc_args_add_args(pairs, p1));
  ASSERT_OK(mproc_args_add_args(pairs, p2));
  ASSERT_OK(mproc_dict_update(d, pairs));
  assert_int_equal(dict_int(d, mproc_str("u2")), 2);
  ASSERT_OK(mproc_args_add_int(pairs, 3)); /* not a pair: nothing applies */
  ASSERT_ERR(MPROC_ETYPE, mproc_dict_update(d, pairs));
  mproc_args_free(pairs);
  mproc_args_free(p1);
  mproc_args_free(p2);
  mproc_args_t *items;
  ASSERT_OK(mproc_dict_items(d, &items));
  ASSERT_OK(mproc_dict_len(d, &n));
  assert_int_equal(mproc_args_count(items), n);
  const mproc_args_t *pair;
  ASSERT_OK(mproc_args_get_args(items, n - 1, &pair));
  ASSERT_OK(mproc_args_get_str(pair, 0, &s));
  assert_string_equal(s, "u2");
  mproc_args_free(items);
  ASSERT_OK(mproc_dict_values(d, &items));
  assert_int_equal(mproc_args_count(items), n);
  mproc_args_free(items);
  ASSERT_OK(mproc_dict_clear(d));
  ASSERT_OK(mproc_dict_len(d, &n));
  assert_int_equal(n, 0);

  /* Many keys: the index grows, deletes leave holes that compact away. */
  for (int i = 0; i < 3000; i++)
    ASSERT_OK(mproc_dict_set(d, mproc_int(i), mproc_int(i * 2)));
  for (int i = 0; i < 3000; i += 2)
    ASSERT_OK(mproc_dict_del(d, mproc_int(i)));
  for (int i = 3000; i < 4000; i++)
    ASSERT_OK(mproc_dict_set(d, mproc_int(i), mproc_int(i * 2)));
  ASSERT_OK(mproc_dict_len(d, &n));
  assert_int_equal(n, 2500);
  assert_int_equal(dict_int(d, mproc_int(2999)), 5998);
  assert_int_equal(mproc_dict_contains(d, mproc_int(2998)), 0);
  ASSERT_OK(mproc_dict_keys(d, &keys));
  int64_t first;
  ASSERT_OK(mproc_args_get_int(keys, 0, &first));
  assert_int_equal(first, 1);
  mproc_args_free(keys);

  mproc_proxy_free(d);
  mproc_manager_free(m);
}

static void namespace_and_value(void **state) {
  (void)state;
  mproc_manager_t *m = start_manager();
  mproc_proxy_t *ns, *v;
  ASSERT_OK(mproc_manager_namespace(m, &ns));
  ASSERT_OK(mproc_namespace_set(ns, "x", mproc_int(1)));
  ASSERT_OK(mproc_namespace_set(ns, "y", mproc_str("why")));
  mproc_args_t *got;
  ASSERT_OK(mproc_namespace_get(ns, "x", &got));
  assert_int_equal(get_int(got), 1);
  ASSERT_ERR(MPROC_ENOENT, mproc_namespace_get(ns, "nope", &got));
  assert_non_null(strstr(mproc_last_error_detail(), "AttributeError"));
  ASSERT_OK(mproc_namespace_del(ns, "x"));
  ASSERT_ERR(MPROC_ENOENT, mproc_namespace_del(ns, "x"));
  ASSERT_OK(mproc_namespace_items(ns, &got));
  assert_int_equal(mproc_args_count(got), 1);
  mproc_args_free(got);
  ASSERT_ERR(MPROC_EINVAL, mproc_namespace_set(ns, "", mproc_int(1)));
  ASSERT_ERR(MPROC_EINVAL, mproc_namespace_set(ns, NULL, mproc_int(1)));
  ASSERT_ERR(MPROC_ETYPE, mproc_dict_set(ns, mproc_str("x"), mproc_int(1)));

  ASSERT_OK(mproc_manager_value(m, mproc_double(0.5), &v));
  ASSERT_OK(mproc_proxy_value(v, &got));
  double dv;
  ASSERT_OK(mproc_args_get_double(got, 0, &dv));
  assert_true(dv == 0.5);
  mproc_args_free(got);
  ASSERT_OK(mproc_proxy_set_value(v, mproc_str("now a string")));
  ASSERT_OK(mproc_proxy_value(v, &got));
  const char *s;
  ASSERT_OK(mproc_args_get_str(got, 0, &s));
  assert_string_equal(s, "now a string");
  mproc_args_free(got);
  ASSERT_ERR(MPROC_ETYPE, mproc_proxy_value(ns, &got));
  mproc_proxy_free(ns);
  mproc_proxy_free(v);
  mproc_manager_free(m);
}

static void bad_input(void **state) {
  (void)state;
  mproc_manager_t *m = start_manager();
  mproc_proxy_t *d, *l, *lock;
  ASSERT_OK(mproc_manager_dict(m, &d));
  ASSERT_OK(mproc_manager_list(m, &l));
  ASSERT_OK(mproc_manager_lock(m, &lock));
  size_t n;
  ASSERT_ERR(MPROC_EINVAL, mproc_manager_start(NULL, NULL));
  mproc_manager_opts_t o = {0};
  o.authkey_len = 3;
  ASSERT_ERR(MPROC_EINVAL, mproc_manager_start(&m, &o));
  char big[600] = {0};
  o.authkey = big;
  o.authkey_len = sizeof big;
  ASSERT_ERR(MPROC_EINVAL, mproc_manager_start(&m, &o));
  mproc_manager_opts_t bad_tcp = {0};
  bad_tcp.tcp_address = "tcp:127.0.0.1:99999";
  mproc_manager_t *never = NULL;
  ASSERT_ERR(MPROC_EINVAL, mproc_manager_start(&never, &bad_tcp));
  assert_null(never);
  ASSERT_ERR(MPROC_EINVAL, mproc_manager_connect(&never, NULL, NULL));
  ASSERT_ERR(MPROC_EINVAL, mproc_manager_dict(NULL, &d));
  ASSERT_ERR(MPROC_EINVAL, mproc_manager_dict(m, NULL));
  ASSERT_ERR(MPROC_EINVAL, mproc_manager_semaphore(m, -1, &l));
  ASSERT_ERR(MPROC_EINVAL, mproc_manager_barrier(m, 0, MPROC_INFINITE, &l));
  ASSERT_ERR(MPROC_EINVAL, mproc_manager_queue(m, -3, &l));
  ASSERT_ERR(MPROC_EINVAL, mproc_dict_set(NULL, mproc_int(1), mproc_int(1)));
  ASSERT_ERR(MPROC_EINVAL, mproc_dict_get(d, mproc_int(1), NULL));
  ASSERT_ERR(MPROC_EINVAL, mproc_dict_set(d, mproc_str(NULL), mproc_int(1)));
  ASSERT_ERR(MPROC_EINVAL, mproc_dict_set(d, mproc_str("\xff\xfe"), mproc_int(1)));
  ASSERT_ERR(MPROC_EINVAL, mproc_dict_set(d, mproc_bytes(NULL, 3), mproc_int(1)));
  ASSERT_ERR(MPROC_EINVAL, mproc_dict_set(d, mproc_tuple(NULL), mproc_int(1)));
  mproc_item_t weird = {(mproc_type_t)55, {0}};
  ASSERT_ERR(MPROC_EINVAL, mproc_dict_set(d, weird, mproc_int(1)));
  ASSERT_ERR(MPROC_ETYPE, mproc_list_append(d, mproc_int(1)));
  ASSERT_ERR(MPROC_ETYPE, mproc_dict_len(l, &n));
  ASSERT_ERR(MPROC_ETYPE, mproc_proxy_put(d, mproc_int(1), 0));
  ASSERT_ERR(MPROC_ETYPE, mproc_proxy_acquire(d, 0));
  ASSERT_ERR(MPROC_ETYPE, mproc_proxy_wait(lock, 0));
  ASSERT_ERR(MPROC_EINVAL, mproc_proxy_acquire(lock, -5));
  ASSERT_ERR(MPROC_EINVAL, mproc_proxy_call(d, NULL, NULL, NULL));
  ASSERT_ERR(MPROC_ETYPE, mproc_proxy_call(d, "m", NULL, NULL));
  ASSERT_ERR(MPROC_EINVAL, mproc_manager_publish(m, "", d));
  ASSERT_ERR(MPROC_EINVAL, mproc_manager_publish(m, "x", NULL));
  ASSERT_ERR(MPROC_ENOENT, mproc_manager_lookup(m, "nothing here", &l));
  ASSERT_ERR(MPROC_ENOENT, mproc_manager_create(m, "no such type", NULL, &l));
  ASSERT_ERR(MPROC_ESTATE, mproc_manager_batch_run(m, NULL, 0));
  /* A shared-memory lock cannot live in a manager: it is no portable object. */
  mproc_lock_t *shm_lock;
  ASSERT_OK(mproc_lock_new(&shm_lock));
  mproc_item_t it = {MPROC_T_LOCK, {0}};
  it.v.obj = shm_lock;
  ASSERT_ERR(MPROC_ENOTSUP, mproc_dict_set(d, mproc_int(1), it));
  mproc_lock_free(shm_lock);
  mproc_proxy_free(NULL);
  assert_null(mproc_proxy_ref(NULL));
  assert_int_equal(mproc_proxy_kind(NULL), 0);
  assert_string_equal(mproc_manager_address(NULL), "");
  assert_null(mproc_manager_process(NULL));
  mproc_manager_free(NULL);
  /* The connection still works after every refusal. */
  ASSERT_OK(mproc_dict_set(d, mproc_int(1), mproc_int(1)));
  mproc_proxy_free(d);
  mproc_proxy_free(l);
  mproc_proxy_free(lock);
  ASSERT_ERR(MPROC_EINVAL, mproc_manager_shutdown(NULL));
  mproc_manager_free(m);
}

/* ---- list ---------------------------------------------------------------- */

static void list_semantics(void **state) {
  (void)state;
  mproc_manager_t *m = start_manager();
  mproc_proxy_t *l;
  ASSERT_OK(mproc_manager_list(m, &l));
  for (int i = 0; i < 5; i++)
    ASSERT_OK(mproc_list_append(l, mproc_int(i)));
  mproc_args_t *more, *v;
  ASSERT_OK(mproc_args_new(&more));
  ASSERT_OK(mproc_args_add_int(more, 5));
  ASSERT_OK(mproc_args_add_int(more, 6));
  ASSERT_OK(mproc_list_extend(l, more));
  mproc_args_free(more);
  size_t n;
  ASSERT_OK(mproc_list_len(l, &n));
  assert_int_equal(n, 7);
  assert_int_equal(list_int(l, 0), 0);
  assert_int_equal(list_int(l, -1), 6);
  assert_int_equal(list_int(l, -7), 0);
  ASSERT_ERR(MPROC_ERANGE, mproc_list_get(l, 7, &v));
  ASSERT_ERR(MPROC_ERANGE, mproc_list_get(l, -8, &v));
  ASSERT_OK(mproc_list_set(l, -2, mproc_int(50)));
  assert_int_equal(list_int(l, 5), 50);
  ASSERT_ERR(MPROC_ERANGE, mproc_list_set(l, 100, mproc_int(1)));
  /* insert clamps as Python's does */
  ASSERT_OK(mproc_list_insert(l, 0, mproc_int(-1)));
  ASSERT_OK(mproc_list_insert(l, 1000, mproc_int(99)));
  ASSERT_OK(mproc_list_insert(l, -1000, mproc_int(-2)));
  ASSERT_OK(mproc_list_insert(l, -1, mproc_int(98))); /* before the last */
  const int64_t after_insert[] = {-2, -1, 0, 1, 2, 3, 4, 50, 6, 98, 99};
  ASSERT_OK(mproc_list_slice(l, 0, INT64_MAX, &v));
  expect_ints(v, after_insert, 11);
  const int64_t middle[] = {1, 2, 3};
  ASSERT_OK(mproc_list_slice(l, 3, 6, &v));
  expect_ints(v, middle, 3);
  const int64_t tail[] = {98, 99};
  ASSERT_OK(mproc_list_slice(l, -2, 1000, &v));
  expect_ints(v, tail, 2);
  ASSERT_OK(mproc_list_slice(l, 5, 2, &v));
  expect_ints(v, NULL, 0);
  /* pop, remove, index, count */
  ASSERT_OK(mproc_list_pop(l, -1, &v));
  assert_int_equal(get_int(v), 99);
  ASSERT_OK(mproc_list_pop(l, 0, &v));
  assert_int_equal(get_int(v), -2);
  ASSERT_OK(mproc_list_pop(l, 0, NULL));
  ASSERT_OK(mproc_list_append(l, mproc_int(3)));
  size_t at, count;
  ASSERT_OK(mproc_list_index(l, mproc_int(3), &at));
  assert_int_equal(at, 3);
  ASSERT_OK(mproc_list_count(l, mproc_int(3), &count));
  assert_int_equal(count, 2);
  ASSERT_OK(mproc_list_remove(l, mproc_int(3)));
  ASSERT_OK(mproc_list_count(l, mproc_int(3), &count));
  assert_int_equal(count, 1);
  ASSERT_ERR(MPROC_EVALUE, mproc_list_remove(l, mproc_int(12345)));
  ASSERT_ERR(MPROC_EVALUE, mproc_list_index(l, mproc_str("3"), &at));
  ASSERT_OK(mproc_list_count(l, mproc_double(3.0), &count)); /* 3.0 is not 3 here */
  assert_int_equal(count, 0);
  /* sort: numbers of both kinds by value, stable; reverse */
  ASSERT_OK(mproc_list_clear(l));
  ASSERT_OK(mproc_list_append(l, mproc_int(3)));
  ASSERT_OK(mproc_list_append(l, mproc_double(1.5)));
  ASSERT_OK(mproc_list_append(l, mproc_int(-4)));
  ASSERT_OK(mproc_list_append(l, mproc_int(2)));
  ASSERT_OK(mproc_list_sort(l, false));
  assert_int_equal(list_int(l, 0), -4);
  ASSERT_OK(mproc_list_get(l, 1, &v));
  double d;
  ASSERT_OK(mproc_args_get_double(v, 0, &d));
  assert_true(d == 1.5);
  mproc_args_free(v);
  assert_int_equal(list_int(l, 3), 3);
  ASSERT_OK(mproc_list_sort(l, true));
  assert_int_equal(list_int(l, 0), 3);
  ASSERT_OK(mproc_list_append(l, mproc_str("a string")));
  ASSERT_ERR(MPROC_ETYPE, mproc_list_sort(l, false));
  assert_int_equal(list_int(l, 0), 3); /* unchanged */
  ASSERT_OK(mproc_list_clear(l));
  const char *words[] = {"pear", "apple", "fig", "apple"};
  for (int i = 0; i < 4; i++)
    ASSERT_OK(mproc_list_append(l, mproc_str(words[i])));
  ASSERT_OK(mproc_list_sort(l, false));
  ASSERT_OK(mproc_list_slice(l, 0, INT64_MAX, &v));
  const char *s;
  ASSERT_OK(mproc_args_get_str(v, 0, &s));
  assert_string_equal(s, "apple");
  ASSERT_OK(mproc_args_get_str(v, 3, &s));
  assert_string_equal(s, "pear");
  mproc_args_free(v);
  ASSERT_OK(mproc_list_clear(l));
  ASSERT_ERR(MPROC_ERANGE, mproc_list_pop(l, -1, &v));
  mproc_proxy_free(l);
  mproc_manager_free(m);
}

/* ---- synchronization and queues ------------------------------------------ */

typedef struct {
  mproc_proxy_t *p;
  int rc;
  int64_t t;
  atomic_int stage;
} waiter_t;

static void acquire_in_thread(void *arg) {
  waiter_t *w = arg;
  atomic_store(&w->stage, 1);
  w->rc = mproc_proxy_acquire(w->p, TEST_WAIT_MS);
  w->t = now_ms();
  if (w->rc == 0)
    w->rc = mproc_proxy_release(w->p);
  atomic_store(&w->stage, 2);
}

static void wait_in_thread(void *arg) {
  waiter_t *w = arg;
  if (mproc_proxy_kind(w->p) == MPROC_PROXY_CONDITION) {
    ASSERT_OK(mproc_proxy_acquire(w->p, TEST_WAIT_MS));
    atomic_store(&w->stage, 1);
    w->rc = mproc_proxy_wait(w->p, TEST_WAIT_MS);
    mproc_proxy_release(w->p);
  } else {
    atomic_store(&w->stage, 1);
    w->rc = mproc_proxy_wait(w->p, TEST_WAIT_MS);
  }
  atomic_store(&w->stage, 2);
}

static void locks(void **state) {
  (void)state;
  mproc_manager_t *m = start_manager();
  mproc_proxy_t *lock, *rlock, *sem, *bsem;
  ASSERT_OK(mproc_manager_lock(m, &lock));
  ASSERT_OK(mproc_manager_rlock(m, &rlock));
  ASSERT_OK(mproc_manager_semaphore(m, 2, &sem));
  ASSERT_OK(mproc_manager_bounded_semaphore(m, 1, &bsem));

  /* Lock: not reentrant; any thread may release it (Python's Lock). */
  ASSERT_OK(mproc_proxy_acquire(lock, 0));
  ASSERT_ERR(MPROC_ETIMEDOUT, mproc_proxy_acquire(lock, 0));
  int64_t t0 = now_ms();
  ASSERT_ERR(MPROC_ETIMEDOUT, mproc_proxy_acquire(lock, 200));
  assert_true(now_ms() - t0 >= 150);
  waiter_t w = {lock, -1, 0, 0};
  test_thread_t t;
  thread_start(&t, acquire_in_thread, &w);
  while (atomic_load(&w.stage) < 1)
    sleep_ms(1);
  sleep_ms(50);
  int64_t released = now_ms();
  ASSERT_OK(mproc_proxy_release(lock));
  thread_join(&t);
  ASSERT_OK(w.rc);
  assert_true(w.t >= released);
  ASSERT_ERR(MPROC_ESTATE, mproc_proxy_release(lock));

  /* RLock: reentrant for its thread, refused to others. */
  ASSERT_OK(mproc_proxy_acquire(rlock, 0));
  ASSERT_OK(mproc_proxy_acquire(rlock, 0));
  waiter_t w2 = {rlock, -1, 0, 0};
  thread_start(&t, acquire_in_thread, &w2);
  while (atomic_load(&w2.stage) < 1)
    sleep_ms(1);
  sleep_ms(50);
  assert_int_equal(atomic_load(&w2.stage), 1); /* still held by this thread */
  ASSERT_OK(mproc_proxy_release(rlock));
  sleep_ms(50);
  assert_int_equal(atomic_load(&w2.stage), 1);
  ASSERT_OK(mproc_proxy_release(rlock));
  thread_join(&t);
  ASSERT_OK(w2.rc);
  ASSERT_ERR(MPROC_ESTATE, mproc_proxy_release(rlock));

  /* Semaphore and BoundedSemaphore */
  ASSERT_OK(mproc_proxy_acquire(sem, 0));
  ASSERT_OK(mproc_proxy_acquire(sem, 0));
  ASSERT_ERR(MPROC_ETIMEDOUT, mproc_proxy_acquire(sem, 10));
  ASSERT_OK(mproc_proxy_release(sem));
  ASSERT_OK(mproc_proxy_release(sem));
  ASSERT_OK(mproc_proxy_release(sem)); /* unbounded: may go above 2 */
  ASSERT_OK(mproc_proxy_acquire(bsem, 0));
  ASSERT_OK(mproc_proxy_release(bsem));
  ASSERT_ERR(MPROC_EVALUE, mproc_proxy_release(bsem));

  mproc_proxy_free(lock);
  mproc_proxy_free(rlock);
  mproc_proxy_free(sem);
  mproc_proxy_free(bsem);
  mproc_manager_free(m);
}

static void events_conditions_barriers(void **state) {
  (void)state;
  mproc_manager_t *m = start_manager();
  mproc_proxy_t *ev, *cond, *bar;
  ASSERT_OK(mproc_manager_event(m, &ev));
  ASSERT_OK(mproc_manager_condition(m, &cond));
  ASSERT_OK(mproc_manager_barrier(m, 3, MPROC_INFINITE, &bar));

  /* Event */
  assert_int_equal(mproc_proxy_is_set(ev), 0);
  ASSERT_ERR(MPROC_ETIMEDOUT, mproc_proxy_wait(ev, 20));
  waiter_t we = {ev, -1, 0, 0};
  test_thread_t t, t2;
  thread_start(&t, wait_in_thread, &we);
  while (atomic_load(&we.stage) < 1)
    sleep_ms(1);
  sleep_ms(30);
  ASSERT_OK(mproc_proxy_set(ev));
  thread_join(&t);
  ASSERT_OK(we.rc);
  assert_int_equal(mproc_proxy_is_set(ev), 1);
  ASSERT_OK(mproc_proxy_wait(ev, 0));
  ASSERT_OK(mproc_proxy_clear(ev));
  assert_int_equal(mproc_proxy_is_set(ev), 0);

  /* Condition: wait needs the lock; notify reaches only those already
   * waiting; wait times out and takes the lock back. */
  ASSERT_ERR(MPROC_ESTATE, mproc_proxy_wait(cond, 0));
  ASSERT_ERR(MPROC_ESTATE, mproc_proxy_notify(cond, 1));
  ASSERT_OK(mproc_proxy_acquire(cond, 0));
  ASSERT_OK(mproc_proxy_notify(cond, 1)); /* nobody waits: lost, as in Python */
  ASSERT_ERR(MPROC_ETIMEDOUT, mproc_proxy_wait(cond, 30));
  ASSERT_OK(mproc_proxy_release(cond)); /* held again after the timeout */
  waiter_t wc1 = {cond, -1, 0, 0}, wc2 = {cond, -1, 0, 0};
  thread_start(&t, wait_in_thread, &wc1);
  thread_start(&t2, wait_in_thread, &wc2);
  while (atomic_load(&wc1.stage) < 1 || atomic_load(&wc2.stage) < 1)
    sleep_ms(1);
  sleep_ms(50); /* both inside wait, the lock free again */
  ASSERT_OK(mproc_proxy_acquire(cond, TEST_WAIT_MS));
  ASSERT_OK(mproc_proxy_notify(cond, 1));
  ASSERT_OK(mproc_proxy_release(cond));
  int64_t until = now_ms() + TEST_WAIT_MS;
  while (atomic_load(&wc1.stage) + atomic_load(&wc2.stage) < 3 && now_ms() < until)
    sleep_ms(1);
  sleep_ms(50);
  assert_int_equal(atomic_load(&wc1.stage) + atomic_load(&wc2.stage), 3); /* one woke */
  ASSERT_OK(mproc_proxy_acquire(cond, TEST_WAIT_MS));
  ASSERT_OK(mproc_proxy_notify_all(cond));
  ASSERT_OK(mproc_proxy_release(cond));
  thread_join(&t);
  thread_join(&t2);
  ASSERT_OK(wc1.rc);
  ASSERT_OK(wc2.rc);

  /* Barrier: three parties; indexes 0..2; state; abort; reset; a
   * timeout breaks it. */
  int64_t parties, waiting;
  bool broken;
  ASSERT_OK(mproc_proxy_barrier_state(bar, &parties, &waiting, &broken));
  assert_int_equal(parties, 3);
  assert_int_equal(waiting, 0);
  assert_false(broken);
  waiter_t wb1 = {bar, -1, 0, 0}, wb2 = {bar, -1, 0, 0};
  thread_start(&t, wait_in_thread, &wb1);
  thread_start(&t2, wait_in_thread, &wb2);
  do {
    sleep_ms(5);
    ASSERT_OK(mproc_proxy_barrier_state(bar, NULL, &waiting, NULL));
  } while (waiting < 2);
  int mine = mproc_proxy_wait(bar, TEST_WAIT_MS);
  thread_join(&t);
  thread_join(&t2);
  assert_true(mine >= 0 && wb1.rc >= 0 && wb2.rc >= 0);
  assert_int_equal(mine + wb1.rc + wb2.rc, 0 + 1 + 2);
  ASSERT_ERR(MPROC_EBROKEN, mproc_proxy_wait(bar, 30)); /* alone: times out, breaks */
  ASSERT_OK(mproc_proxy_barrier_state(bar, NULL, NULL, &broken));
  assert_true(broken);
  ASSERT_ERR(MPROC_EBROKEN, mproc_proxy_wait(bar, 0));
  ASSERT_OK(mproc_proxy_reset(bar));
  waiter_t wb3 = {bar, -1, 0, 0};
  thread_start(&t, wait_in_thread, &wb3);
  do {
    sleep_ms(5);
    ASSERT_OK(mproc_proxy_barrier_state(bar, NULL, &waiting, NULL));
  } while (waiting < 1);
  ASSERT_OK(mproc_proxy_abort(bar)); /* the waiter is released, broken */
  thread_join(&t);
  assert_int_equal(wb3.rc, MPROC_EBROKEN);
  mproc_proxy_t *bar2;
  ASSERT_OK(mproc_manager_barrier(m, 2, 40, &bar2));
  ASSERT_ERR(MPROC_EBROKEN, mproc_proxy_wait(bar2, MPROC_DEFAULT_TIMEOUT));
  ASSERT_ERR(MPROC_EINVAL, mproc_proxy_wait(ev, MPROC_DEFAULT_TIMEOUT));

  mproc_proxy_free(bar2);
  mproc_proxy_free(ev);
  mproc_proxy_free(cond);
  mproc_proxy_free(bar);
  mproc_manager_free(m);
}

static void queues(void **state) {
  (void)state;
  mproc_manager_t *m = start_manager();
  mproc_proxy_t *q, *jq;
  ASSERT_OK(mproc_manager_queue(m, 2, &q));
  ASSERT_OK(mproc_manager_joinable_queue(m, 0, &jq));
  mproc_args_t *v;
  size_t n;
  ASSERT_ERR(MPROC_EEMPTY, mproc_proxy_get(q, &v, 0));
  ASSERT_ERR(MPROC_EEMPTY, mproc_proxy_get(q, &v, 20));
  ASSERT_OK(mproc_proxy_put(q, mproc_int(1), 0));
  ASSERT_OK(mproc_proxy_put(q, mproc_str("two"), 0));
  ASSERT_ERR(MPROC_EFULL, mproc_proxy_put(q, mproc_int(3), 0));
  ASSERT_ERR(MPROC_EFULL, mproc_proxy_put(q, mproc_int(3), 20));
  ASSERT_OK(mproc_proxy_qsize(q, &n));
  assert_int_equal(n, 2);
  ASSERT_OK(mproc_proxy_get(q, &v, 0));
  assert_int_equal(get_int(v), 1); /* first in, first out */
  ASSERT_OK(mproc_proxy_get(q, &v, 0));
  mproc_args_free(v);
  ASSERT_ERR(MPROC_ETYPE, mproc_proxy_task_done(q));
  for (int i = 0; i < 100; i++) /* the ring grows and wraps */
    ASSERT_OK(mproc_proxy_put(jq, mproc_int(i), 0));
  for (int i = 0; i < 60; i++) {
    ASSERT_OK(mproc_proxy_get(jq, &v, 0));
    assert_int_equal(get_int(v), i);
    ASSERT_OK(mproc_proxy_task_done(jq));
  }
  for (int i = 100; i < 150; i++)
    ASSERT_OK(mproc_proxy_put(jq, mproc_int(i), 0));
  ASSERT_ERR(MPROC_ETIMEDOUT, mproc_proxy_join(jq, 20));
  for (int i = 60; i < 150; i++) {
    ASSERT_OK(mproc_proxy_get(jq, &v, 0));
    assert_int_equal(get_int(v), i);
    ASSERT_OK(mproc_proxy_task_done(jq));
  }
  ASSERT_OK(mproc_proxy_join(jq, 0));
  ASSERT_ERR(MPROC_EVALUE, mproc_proxy_task_done(jq));
  mproc_proxy_free(q);
  mproc_proxy_free(jq);
  mproc_manager_free(m);
}

/* ---- across processes ---------------------------------------------------- */

enum { INCRS = 10000 };

/* args: (dict, count) — count atomic increments of "n". */
static int t_incr(const mproc_args_t *args) {
  mproc_proxy_t *d;
  int64_t count;
  if (mproc_args_get_proxy(args, 0, &d) || mproc_args_get_int(args, 1, &count))
    return 10;
  for (int64_t i = 0; i < count; i++)
    if (mproc_dict_incr(d, mproc_str("n"), 1, NULL))
      return 11;
  return 0;
}

static void four_processes_lose_no_update(void **state) {
  (void)state;
  mproc_manager_t *m = start_manager();
  mproc_proxy_t *d;
  ASSERT_OK(mproc_manager_dict(m, &d));
  mproc_args_t *a;
  ASSERT_OK(mproc_args_new(&a));
  ASSERT_OK(mproc_args_add_proxy(a, d));
  ASSERT_OK(mproc_args_add_int(a, INCRS));
  mproc_process_t *p[4];
  for (int i = 0; i < 4; i++)
    p[i] = start_child(t_incr, a);
  for (int i = 0; i < 4; i++)
    assert_int_equal(finish_child(p[i]), 0);
  mproc_args_free(a);
  assert_int_equal(dict_int(d, mproc_str("n")), 4 * INCRS);
  mproc_proxy_free(d);
  mproc_manager_free(m);
}

/* args: (list, depth): appends its depth, and below depth 2 starts a child
 * of its own with the same list. */
static int t_append_and_descend(const mproc_args_t *args) {
  mproc_proxy_t *l;
  int64_t depth;
  if (mproc_args_get_proxy(args, 0, &l) || mproc_args_get_int(args, 1, &depth))
    return 10;
  if (mproc_list_append(l, mproc_int(depth)))
    return 11;
  if (depth >= 2)
    return 0;
  mproc_args_t *a;
  mproc_process_t *p;
  int code = -1;
  if (mproc_args_new(&a) || mproc_args_add_proxy(a, l) || mproc_args_add_int(a, depth + 1) ||
      mproc_process_new(&p, t_append_and_descend, a, NULL) || mproc_process_start(p) ||
      mproc_process_join(p, TEST_WAIT_MS) || mproc_process_exitcode(p, &code))
    return 12;
  mproc_process_free(p);
  mproc_args_free(a);
  return code;
}

static void proxies_reach_children_and_grandchildren(void **state) {
  (void)state;
  mproc_manager_t *m = start_manager();
  mproc_proxy_t *l;
  ASSERT_OK(mproc_manager_list(m, &l));
  mproc_args_t *a;
  ASSERT_OK(mproc_args_new(&a));
  ASSERT_OK(mproc_args_add_proxy(a, l));
  ASSERT_OK(mproc_args_add_int(a, 1));
  assert_int_equal(run_child(t_append_and_descend, a), 0);
  mproc_args_free(a);
  const int64_t want[] = {1, 2};
  mproc_args_t *all;
  ASSERT_OK(mproc_list_slice(l, 0, INT64_MAX, &all));
  expect_ints(all, want, 2);
  mproc_proxy_free(l);
  mproc_manager_free(m);
}

/* args: (dict): appends to the list stored under "inner", and stores its
 * own new dict under "made" with ("k": 7). */
static int t_nested(const mproc_args_t *args) {
  mproc_proxy_t *d, *inner;
  mproc_args_t *v;
  if (mproc_args_get_proxy(args, 0, &d) || mproc_dict_get(d, mproc_str("inner"), &v) ||
      mproc_args_get_proxy(v, 0, &inner))
    return 10;
  if (mproc_list_append(inner, mproc_str("from the child")))
    return 11;
  mproc_args_free(v);
  return 0;
}

static void nested_containers(void **state) {
  (void)state;
  mproc_manager_t *m = start_manager();
  mproc_proxy_t *d, *inner, *got;
  ASSERT_OK(mproc_manager_dict(m, &d));
  ASSERT_OK(mproc_manager_list(m, &inner));
  ASSERT_OK(mproc_dict_set(d, mproc_str("inner"), mproc_proxy_item(inner)));
  mproc_proxy_free(inner); /* stored in the dict: it lives on */
  mproc_args_t *a;
  ASSERT_OK(mproc_args_new(&a));
  ASSERT_OK(mproc_args_add_proxy(a, d));
  assert_int_equal(run_child(t_nested, a), 0);
  mproc_args_free(a);
  mproc_args_t *v;
  ASSERT_OK(mproc_dict_get(d, mproc_str("inner"), &v));
  ASSERT_OK(mproc_args_get_proxy(v, 0, &got));
  assert_int_equal(mproc_proxy_kind(got), MPROC_PROXY_LIST);
  mproc_args_t *one;
  ASSERT_OK(mproc_list_get(got, 0, &one));
  const char *s;
  ASSERT_OK(mproc_args_get_str(one, 0, &s));
  assert_string_equal(s, "from the child");
  mproc_args_free(one);
  /* The same object twice in one process is one proxy. */
  mproc_args_t *v2;
  mproc_proxy_t *again;
  ASSERT_OK(mproc_dict_get(d, mproc_str("inner"), &v2));
  ASSERT_OK(mproc_args_get_proxy(v2, 0, &again));
  assert_ptr_equal(again, got);
  mproc_args_free(v2);
  mproc_args_free(v);
  /* A proxy of a freed object cannot be stored. */
  mproc_proxy_t *gone;
  ASSERT_OK(mproc_manager_dict(m, &gone));
  mproc_args_t *keep;
  ASSERT_OK(mproc_args_new(&keep));
  ASSERT_OK(mproc_args_add_proxy(keep, gone)); /* the tuple's reference */
  mproc_proxy_free(gone);
  mproc_args_free(keep); /* the last reference: the manager forgets it */
  mproc_proxy_free(d);
  mproc_manager_free(m);
}

/* args: (queue, any proxy of the manager): takes a proxy from the queue
 * (it crossed without the key) and sets "seen" in it. */
static int t_proxy_from_queue(const mproc_args_t *args) {
  mproc_queue_t *q;
  mproc_args_t *msg;
  mproc_proxy_t *d;
  if (mproc_args_get_queue(args, 0, &q) || mproc_queue_get(q, &msg, TEST_WAIT_MS) ||
      mproc_args_get_proxy(msg, 0, &d))
    return 10;
  int rc = mproc_dict_set(d, mproc_str("seen"), mproc_bool(true));
  mproc_args_free(msg);
  return rc ? 11 : 0;
}

static void proxies_cross_queues(void **state) {
  (void)state;
  mproc_manager_t *m = start_manager();
  mproc_proxy_t *d, *other;
  ASSERT_OK(mproc_manager_dict(m, &d));
  ASSERT_OK(mproc_manager_list(m, &other));
  mproc_queue_t *q;
  ASSERT_OK(mproc_queue_new(&q, NULL));
  mproc_args_t *a, *msg;
  ASSERT_OK(mproc_args_new(&a));
  ASSERT_OK(mproc_args_add_queue(a, q));
  ASSERT_OK(mproc_args_add_proxy(a, other));
  mproc_process_t *p = start_child(t_proxy_from_queue, a);
  ASSERT_OK(mproc_args_new(&msg));
  ASSERT_OK(mproc_args_add_proxy(msg, d));
  ASSERT_OK(mproc_queue_put(q, msg, TEST_WAIT_MS));
  mproc_args_free(msg);
  assert_int_equal(finish_child(p), 0);
  assert_int_equal(mproc_dict_contains(d, mproc_str("seen")), 1);
  mproc_args_free(a);
  mproc_queue_free(q);
  mproc_proxy_free(d);
  mproc_proxy_free(other);
  mproc_manager_free(m);
}

typedef struct {
  mproc_proxy_t *d;
  int failures;
} sharer_t;

static void incr_in_thread(void *arg) {
  sharer_t *s = arg;
  for (int i = 0; i < 500; i++)
    s->failures += mproc_dict_incr(s->d, mproc_str("t"), 1, NULL) != 0;
}

static void threads_share_a_proxy(void **state) {
  (void)state;
  mproc_manager_t *m = start_manager();
  mproc_proxy_t *d;
  ASSERT_OK(mproc_manager_dict(m, &d));
  sharer_t s[4] = {{d, 0}, {d, 0}, {d, 0}, {d, 0}};
  test_thread_t t[4];
  for (int i = 0; i < 4; i++)
    thread_start(&t[i], incr_in_thread, &s[i]);
  for (int i = 0; i < 4; i++) {
    thread_join(&t[i]);
    assert_int_equal(s[i].failures, 0);
  }
  assert_int_equal(dict_int(d, mproc_str("t")), 2000);
  mproc_proxy_free(d);
  mproc_manager_free(m);
}

/* A registered type: a counter with add(n) -> total and get() -> total. */
typedef struct {
  int64_t total;
} counter_t;

static int counter_create(void **self, const mproc_args_t *args) {
  counter_t *c = calloc(1, sizeof *c);
  if (!c)
    return MPROC_ENOMEM;
  mproc_args_get_int(args, 0, &c->total);
  *self = c;
  return 0;
}

static void counter_destroy(void *self) { free(self); }

static int counter_add(void *self, const mproc_args_t *args, mproc_args_t *result) {
  counter_t *c = self;
  int64_t n;
  if (mproc_args_get_int(args, 0, &n))
    return MPROC_ETYPE;
  c->total += n;
  return mproc_args_add_int(result, c->total);
}

static int counter_get(void *self, const mproc_args_t *args, mproc_args_t *result) {
  (void)args;
  return mproc_args_add_int(result, ((counter_t *)self)->total);
}

/* take(n): fails, saying why, when the total is below n. */
static int counter_take(void *self, const mproc_args_t *args, mproc_args_t *result) {
  counter_t *c = self;
  int64_t n;
  if (mproc_args_get_int(args, 0, &n))
    return MPROC_ETYPE;
  if (n > c->total)
    return mproc_set_error(MPROC_EVALUE, "ValueError: only %lld left, %lld asked",
                           (long long)c->total, (long long)n);
  c->total -= n;
  return mproc_args_add_int(result, c->total);
}

static const mproc_method_t counter_methods[] = {
    {"add", counter_add}, {"get", counter_get}, {"take", counter_take}};

/* Range(n) and its iterators (Python's method_to_typeid: __iter__ returns
 * an Iterator): iter() returns a new Iterator over 0..n-1, whose next()
 * gives one number, then MPROC_ECLOSED. live() counts the iterators the
 * manager holds; iter_then_fail() returns one and then fails. */
typedef struct {
  int64_t next, end;
} range_iter_t;

static int64_t live_iterators; /* in the manager process */

static int range_create(void **self, const mproc_args_t *args) {
  int64_t *n = malloc(sizeof *n);
  if (!n || mproc_args_get_int(args, 0, n)) {
    free(n);
    return MPROC_EINVAL;
  }
  *self = n;
  return 0;
}

static void iterator_destroy(void *self) {
  live_iterators--;
  free(self);
}

static int range_iter(void *self, const mproc_args_t *args, mproc_args_t *result) {
  (void)args, (void)result;
  range_iter_t *it = malloc(sizeof *it);
  if (!it)
    return MPROC_ENOMEM;
  *it = (range_iter_t){0, *(int64_t *)self};
  int rc = mproc_method_return_object("Iterator", it);
  if (rc) {
    free(it);
    return rc;
  }
  live_iterators++;
  return 0;
}

static int range_iter_then_fail(void *self, const mproc_args_t *args, mproc_args_t *result) {
  int rc = range_iter(self, args, result);
  return rc ? rc : mproc_set_error(MPROC_EVALUE, "changed my mind");
}

static int range_no_such_type(void *self, const mproc_args_t *args, mproc_args_t *result) {
  (void)self, (void)args, (void)result;
  static int64_t x;
  return mproc_method_return_object("Missing", &x);
}

static int range_live(void *self, const mproc_args_t *args, mproc_args_t *result) {
  (void)self, (void)args;
  return mproc_args_add_int(result, live_iterators);
}

static int iterator_next(void *self, const mproc_args_t *args, mproc_args_t *result) {
  (void)args;
  range_iter_t *it = self;
  if (it->next >= it->end)
    return mproc_set_error(MPROC_ECLOSED, "StopIteration");
  return mproc_args_add_int(result, it->next++);
}

static const mproc_method_t range_methods[] = {{"iter", range_iter},
                                               {"iter_then_fail", range_iter_then_fail},
                                               {"no_such_type", range_no_such_type},
                                               {"live", range_live}};
static const mproc_method_t iterator_methods[] = {{"next", iterator_next}};
static const mproc_manager_type_t test_types_table[] = {
    {"Counter", counter_create, counter_destroy, counter_methods, 3},
    {"Range", range_create, free, range_methods, 4},
    {"Iterator", NULL, iterator_destroy, iterator_methods, 1}};

static const mproc_manager_type_t *test_types(size_t *count) {
  *count = sizeof test_types_table / sizeof test_types_table[0];
  return test_types_table;
}

static void registered_type(void **state) {
  (void)state;
  mproc_manager_opts_t o = {0};
  o.types = test_types;
  o.timeout_ms = TEST_WAIT_MS;
  mproc_manager_t *m;
  ASSERT_OK(mproc_manager_start(&m, &o));
  mproc_args_t *init, *arg, *res;
  ASSERT_OK(mproc_args_new(&init));
  ASSERT_OK(mproc_args_add_int(init, 40));
  mproc_proxy_t *c;
  ASSERT_OK(mproc_manager_create(m, "Counter", init, &c));
  assert_int_equal(mproc_proxy_kind(c), MPROC_PROXY_CUSTOM);
  ASSERT_OK(mproc_args_new(&arg));
  ASSERT_OK(mproc_args_add_int(arg, 2));
  ASSERT_OK(mproc_proxy_call(c, "add", arg, &res));
  assert_int_equal(get_int(res), 42);
  ASSERT_OK(mproc_proxy_call(c, "get", NULL, &res));
  assert_int_equal(get_int(res), 42);
  ASSERT_ERR(MPROC_ENOENT, mproc_proxy_call(c, "nope", NULL, &res));
  ASSERT_ERR(MPROC_ETYPE, mproc_proxy_call(c, "add", NULL, &res)); /* the method's own code */
  /* A method's own words reach the caller, named. */
  mproc_args_t *lots;
  ASSERT_OK(mproc_args_new(&lots));
  ASSERT_OK(mproc_args_add_int(lots, 1000));
  ASSERT_ERR(MPROC_EVALUE, mproc_proxy_call(c, "take", lots, &res));
  assert_non_null(
      strstr(mproc_last_error_detail(), "Counter.take: ValueError: only 42 left, 1000 asked"));
  mproc_args_free(lots);
  ASSERT_ERR(MPROC_ENOENT, mproc_manager_create(m, "Missing", NULL, &c));
  mproc_args_free(arg);
  mproc_args_free(init);
  mproc_proxy_free(c);
  mproc_manager_free(m);
}

static int64_t call_int(mproc_proxy_t *p, const char *method) {
  mproc_args_t *r;
  int64_t v = -1;
  ASSERT_OK(mproc_proxy_call(p, method, NULL, &r));
  ASSERT_OK(mproc_args_get_int(r, 0, &v));
  mproc_args_free(r);
  return v;
}

/* A method that returns an object: the caller gets a proxy of it, which
 * lives while the proxy does (the manager frees it after the last). */
static void methods_return_objects(void **state) {
  (void)state;
  mproc_manager_opts_t o = {0};
  o.types = test_types;
  o.timeout_ms = TEST_WAIT_MS;
  mproc_manager_t *m;
  ASSERT_OK(mproc_manager_start(&m, &o));
  mproc_args_t *three;
  ASSERT_OK(mproc_args_new(&three));
  ASSERT_OK(mproc_args_add_int(three, 3));
  mproc_proxy_t *range, *a, *b, *none = NULL;
  ASSERT_OK(mproc_manager_create(m, "Range", three, &range));
  ASSERT_OK(mproc_proxy_call_object(range, "iter", NULL, &a));
  ASSERT_OK(mproc_proxy_call_object(range, "iter", NULL, &b));
  assert_int_equal(mproc_proxy_kind(a), MPROC_PROXY_CUSTOM);
  assert_int_equal(call_int(range, "live"), 2);
  for (int64_t i = 0; i < 3; i++) /* each has its own place */
    assert_int_equal(call_int(a, "next"), i);
  assert_int_equal(call_int(b, "next"), 0);
  mproc_args_t *r;
  ASSERT_ERR(MPROC_ECLOSED, mproc_proxy_call(a, "next", NULL, &r));
  assert_non_null(strstr(mproc_last_error_detail(), "Iterator.next: StopIteration"));
  mproc_proxy_free(a);
  assert_int_equal(call_int(range, "live"), 1); /* the manager let it go */

  /* What does not return an object, or returns one and fails. */
  ASSERT_ERR(MPROC_ESTATE, mproc_proxy_call_object(range, "live", NULL, &none));
  assert_non_null(strstr(mproc_last_error_detail(), "Range.live returned no object"));
  assert_null(none);
  ASSERT_ERR(MPROC_EVALUE, mproc_proxy_call_object(range, "iter_then_fail", NULL, &none));
  assert_null(none);
  ASSERT_ERR(MPROC_ENOENT, mproc_proxy_call_object(range, "no_such_type", NULL, &none));
  assert_non_null(strstr(mproc_last_error_detail(), "no registered type 'Missing'"));
  ASSERT_ERR(MPROC_ESTATE, mproc_proxy_call(range, "iter", NULL, &r)); /* not asked for one */
  assert_int_equal(call_int(range, "live"), 1);

  /* Bad input, and where it may not be called. */
  ASSERT_ERR(MPROC_EINVAL, mproc_proxy_call_object(range, "iter", NULL, NULL));
  ASSERT_ERR(MPROC_EINVAL, mproc_proxy_call_object(range, NULL, NULL, &none));
  ASSERT_ERR(MPROC_EINVAL, mproc_proxy_call_object(NULL, "iter", NULL, &none));
  ASSERT_ERR(MPROC_ENOENT, mproc_proxy_call_object(range, "nope", NULL, &none));
  ASSERT_OK(mproc_manager_batch_begin(m));
  ASSERT_ERR(MPROC_EINVAL, mproc_proxy_call_object(range, "iter", NULL, &none));
  ASSERT_OK(mproc_manager_batch_run(m, NULL, 0));
  int64_t x;
  ASSERT_ERR(MPROC_ESTATE, mproc_method_return_object("Iterator", &x)); /* not in a method */

  /* The iterator outlives the proxy of its range. */
  mproc_proxy_free(range);
  assert_int_equal(call_int(b, "next"), 1);
  mproc_proxy_free(b);
  mproc_args_free(three);
  mproc_manager_free(m);
}

/* args: (address, rounds): connects, and each round runs one batch of
 * incr x, incr y on the published dict "pair". */
static int t_batch_pairs(const mproc_args_t *args) {
  const char *addr;
  int64_t rounds;
  if (mproc_args_get_str(args, 0, &addr) || mproc_args_get_int(args, 1, &rounds))
    return 10;
  mproc_manager_opts_t o = {0};
  o.authkey = KEY;
  o.authkey_len = sizeof KEY - 1;
  o.timeout_ms = TEST_WAIT_MS;
  mproc_manager_t *m;
  mproc_proxy_t *d;
  if (mproc_manager_connect(&m, addr, &o) || mproc_manager_lookup(m, "pair", &d))
    return 11;
  for (int64_t i = 0; i < rounds; i++)
    if (mproc_manager_batch_begin(m) || mproc_dict_incr(d, mproc_str("x"), 1, NULL) ||
        mproc_dict_incr(d, mproc_str("y"), 1, NULL) || mproc_manager_batch_run(m, NULL, 0))
      return 12;
  mproc_proxy_free(d);
  mproc_manager_free(m);
  return 0;
}

static void batches_are_atomic(void **state) {
  (void)state;
  mproc_manager_t *m = start_manager();
  mproc_proxy_t *d;
  ASSERT_OK(mproc_manager_dict(m, &d));
  ASSERT_OK(mproc_dict_set(d, mproc_str("x"), mproc_int(0)));
  ASSERT_OK(mproc_dict_set(d, mproc_str("y"), mproc_int(0)));
  ASSERT_OK(mproc_manager_publish(m, "pair", d));
  mproc_args_t *a;
  ASSERT_OK(mproc_args_new(&a));
  ASSERT_OK(mproc_args_add_str(a, mproc_manager_address(m)));
  ASSERT_OK(mproc_args_add_int(a, 2000));
  mproc_process_t *p = start_child(t_batch_pairs, a);
  mproc_args_free(a);
  int64_t x = 0, y = 0;
  int reads = 0;
  while (x < 2000) { /* never one without the other */
    mproc_args_t *vx = NULL, *vy = NULL;
    ASSERT_OK(mproc_manager_batch_begin(m));
    ASSERT_OK(mproc_dict_get(d, mproc_str("x"), &vx));
    ASSERT_OK(mproc_dict_get(d, mproc_str("y"), &vy));
    ASSERT_OK(mproc_manager_batch_run(m, NULL, 0));
    x = get_int(vx);
    y = get_int(vy);
    assert_int_equal(x, y);
    reads++;
  }
  assert_int_equal(finish_child(p), 0);
  assert_true(reads > 0);
  mproc_proxy_free(d);
  mproc_manager_free(m);
}

static void batches(void **state) {
  (void)state;
  mproc_manager_t *m = start_manager();
  mproc_proxy_t *d, *l, *ev;
  ASSERT_OK(mproc_manager_dict(m, &d));
  ASSERT_OK(mproc_manager_list(m, &l));
  ASSERT_OK(mproc_manager_event(m, &ev));
  ASSERT_OK(mproc_manager_batch_begin(m));
  ASSERT_ERR(MPROC_ESTATE, mproc_manager_batch_begin(m));
  mproc_args_t *v = NULL;
  int64_t now = 0;
  size_t len = 0;
  ASSERT_OK(mproc_dict_set(d, mproc_str("a"), mproc_int(1))); /* 0 */
  ASSERT_OK(mproc_dict_incr(d, mproc_str("a"), 5, &now));     /* 1 */
  ASSERT_OK(mproc_dict_get(d, mproc_str("missing"), &v));     /* 2: fails */
  ASSERT_OK(mproc_list_append(l, mproc_int(9)));              /* 3 */
  ASSERT_OK(mproc_list_len(l, &len));                         /* 4 */
  ASSERT_OK(mproc_dict_contains(d, mproc_str("a")));          /* 5: 1 */
  ASSERT_ERR(MPROC_EINVAL, mproc_proxy_wait(ev, 0));          /* not recorded */
  ASSERT_ERR(MPROC_EINVAL, mproc_manager_dict(m, &ev));       /* nor this */
  assert_int_equal(now, 0);                                   /* nothing ran yet */
  int status[8];
  memset(status, 0x55, sizeof status);
  ASSERT_ERR(MPROC_ENOENT, mproc_manager_batch_run(m, status, 8));
  assert_int_equal(status[0], 0);
  assert_int_equal(status[1], 0);
  assert_int_equal(status[2], MPROC_ENOENT);
  assert_int_equal(status[3], 0);
  assert_int_equal(status[4], 0);
  assert_int_equal(status[5], 1);
  assert_int_equal(status[6], 0x55555555); /* only six calls */
  assert_int_equal(now, 6);
  assert_int_equal(len, 1);
  assert_null(v);
  ASSERT_ERR(MPROC_ESTATE, mproc_manager_batch_run(m, NULL, 0));
  /* Cancel: nothing is sent. */
  ASSERT_OK(mproc_manager_batch_begin(m));
  ASSERT_OK(mproc_dict_set(d, mproc_str("a"), mproc_int(100)));
  mproc_manager_batch_cancel(m);
  assert_int_equal(dict_int(d, mproc_str("a")), 6);
  /* A big batch runs in one message. */
  ASSERT_OK(mproc_manager_batch_begin(m));
  for (int i = 0; i < 5000; i++)
    ASSERT_OK(mproc_dict_incr(d, mproc_str("big"), 1, NULL));
  ASSERT_OK(mproc_manager_batch_run(m, NULL, 0));
  assert_int_equal(dict_int(d, mproc_str("big")), 5000);
  mproc_proxy_free(ev);
  mproc_proxy_free(d);
  mproc_proxy_free(l);
  mproc_manager_free(m);
}

static void publish_and_lookup(void **state) {
  (void)state;
  mproc_manager_t *m = start_manager();
  mproc_proxy_t *d, *found;
  ASSERT_OK(mproc_manager_dict(m, &d));
  ASSERT_OK(mproc_dict_set(d, mproc_str("k"), mproc_int(3)));
  ASSERT_OK(mproc_manager_publish(m, "shared", d));
  ASSERT_ERR(MPROC_EEXIST, mproc_manager_publish(m, "shared", d));
  mproc_proxy_free(d); /* published: lives on */
  mproc_manager_t *other;
  mproc_manager_opts_t o = {0};
  o.authkey = KEY;
  o.authkey_len = sizeof KEY - 1;
  ASSERT_OK(mproc_manager_connect(&other, mproc_manager_address(m), &o));
  ASSERT_OK(mproc_manager_lookup(other, "shared", &found));
  assert_int_equal(mproc_proxy_kind(found), MPROC_PROXY_DICT);
  assert_int_equal(dict_int(found, mproc_str("k")), 3);
  ASSERT_ERR(MPROC_ENOENT, mproc_manager_lookup(other, "unshared", &d));
  mproc_proxy_free(found);
  mproc_manager_free(other);
  mproc_manager_free(m);
}

/* ---- failures ------------------------------------------------------------ */

/* args: (lock, event): takes the lock, sets the event, sleeps to be killed. */
static int t_hold_lock(const mproc_args_t *args) {
  mproc_proxy_t *lock, *ev;
  if (mproc_args_get_proxy(args, 0, &lock) || mproc_args_get_proxy(args, 1, &ev) ||
      mproc_proxy_acquire(lock, TEST_WAIT_MS) || mproc_proxy_set(ev))
    return 10;
  sleep_ms(TEST_WAIT_MS);
  return 0;
}

static void a_killed_holder_passes_the_lock_on(void **state) {
  (void)state;
  mproc_manager_t *m = start_manager();
  mproc_proxy_t *lock, *rlock, *ev;
  ASSERT_OK(mproc_manager_lock(m, &lock));
  ASSERT_OK(mproc_manager_rlock(m, &rlock));
  ASSERT_OK(mproc_manager_event(m, &ev));
  mproc_proxy_t *which[2] = {lock, rlock};
  for (int i = 0; i < 2; i++) {
    ASSERT_OK(mproc_proxy_clear(ev));
    mproc_args_t *a;
    ASSERT_OK(mproc_args_new(&a));
    ASSERT_OK(mproc_args_add_proxy(a, which[i]));
    ASSERT_OK(mproc_args_add_proxy(a, ev));
    mproc_process_t *p = start_child(t_hold_lock, a);
    mproc_args_free(a);
    ASSERT_OK(mproc_proxy_wait(ev, TEST_WAIT_MS));
    ASSERT_ERR(MPROC_ETIMEDOUT, mproc_proxy_acquire(which[i], 20));
    ASSERT_OK(mproc_process_kill(p));
    ASSERT_OK(mproc_process_join(p, TEST_WAIT_MS));
    mproc_process_free(p);
    /* Python's would wait forever; here the next acquirer gets it, told. */
    ASSERT_ERR(MPROC_EOWNERDEAD, mproc_proxy_acquire(which[i], TEST_WAIT_MS));
    ASSERT_OK(mproc_proxy_release(which[i]));
    ASSERT_OK(mproc_proxy_acquire(which[i], 0));
    ASSERT_OK(mproc_proxy_release(which[i]));
  }
  mproc_proxy_free(lock);
  mproc_proxy_free(rlock);
  mproc_proxy_free(ev);
  mproc_manager_free(m);
}

typedef struct {
  mproc_proxy_t *p;
  int rc;
  int64_t ended;
  atomic_int started;
} blocked_t;

static void blocked_acquire(void *arg) {
  blocked_t *b = arg;
  atomic_store(&b->started, 1);
  b->rc = mproc_proxy_acquire(b->p, 20000);
  b->ended = now_ms();
}

static void blocked_get(void *arg) {
  blocked_t *b = arg;
  mproc_args_t *v = NULL;
  atomic_store(&b->started, 1);
  b->rc = mproc_proxy_get(b->p, &v, 20000);
  b->ended = now_ms();
  mproc_args_free(v);
}

static void a_killed_manager_ends_every_call(void **state) {
  (void)state;
  mproc_manager_t *m = start_manager();
  mproc_proxy_t *lock, *q, *d;
  ASSERT_OK(mproc_manager_lock(m, &lock));
  ASSERT_OK(mproc_manager_queue(m, 0, &q));
  ASSERT_OK(mproc_manager_dict(m, &d));
  ASSERT_OK(mproc_proxy_acquire(lock, 0));
  blocked_t b1 = {lock, 1, 0, 0}, b2 = {q, 1, 0, 0};
  test_thread_t t1, t2;
  thread_start(&t1, blocked_acquire, &b1);
  thread_start(&t2, blocked_get, &b2);
  while (!atomic_load(&b1.started) || !atomic_load(&b2.started))
    sleep_ms(1);
  sleep_ms(100);
  int64_t killed = now_ms();
  ASSERT_OK(mproc_process_kill(mproc_manager_process(m)));
  thread_join(&t1);
  thread_join(&t2);
  assert_int_equal(b1.rc, MPROC_EEOF);
  assert_int_equal(b2.rc, MPROC_EEOF);
  assert_true(b1.ended - killed < 10000 && b2.ended - killed < 10000);
  int rc = mproc_dict_set(d, mproc_int(1), mproc_int(1));
  if (rc != MPROC_EEOF && rc != MPROC_ECLOSED)
    fail_msg("a call on a dead manager: %s: %s", mproc_err_name(rc), mproc_last_error_detail());
  assert_non_null(strstr(mproc_last_error_detail(), "manager"));
  mproc_proxy_free(lock);
  mproc_proxy_free(q);
  mproc_proxy_free(d);
  mproc_manager_free(m); /* shutting down a dead server is fine */
}

static void shutdown_wakes_the_blocked(void **state) {
  (void)state;
  mproc_manager_t *m = start_manager();
  mproc_proxy_t *q;
  ASSERT_OK(mproc_manager_queue(m, 0, &q));
  blocked_t b = {q, 1, 0, 0};
  test_thread_t t;
  thread_start(&t, blocked_get, &b);
  while (!atomic_load(&b.started))
    sleep_ms(1);
  sleep_ms(100);
  ASSERT_OK(mproc_manager_shutdown(m));
  thread_join(&t);
  assert_true(b.rc == MPROC_ECLOSED || b.rc == MPROC_EEOF);
  int code = -1;
  ASSERT_OK(mproc_process_exitcode(mproc_manager_process(m), &code));
  assert_int_equal(code, 0);
  ASSERT_ERR(MPROC_ECLOSED, mproc_proxy_put(q, mproc_int(1), 0));
  ASSERT_OK(mproc_manager_shutdown(m)); /* twice is fine */
  mproc_proxy_free(q);
  mproc_manager_free(m);
}

/* Raw frames from a client that knows the key but not the protocol. */
static mproc_conn_t *raw_client(const char *address, bool hello) {
  mproc_conn_t *c = NULL;
  mproc_client_opts_t o = {.authkey = KEY, .authkey_len = sizeof KEY - 1};
  ASSERT_OK(mproc_client_connect(&c, address, &o));
  if (hello) {
    unsigned char msg[24] = {'M', 'G', 'R', 'M', 1, 0, 0, 0, 7, 7, 7, 7, 7, 7, 7, 7};
    ASSERT_OK(mproc_conn_send_bytes(c, msg, sizeof msg));
    unsigned char back[64];
    size_t n;
    ASSERT_OK(mproc_conn_recv_bytes_into(c, back, sizeof back, &n, TEST_WAIT_MS));
    assert_int_equal(n, 32);
  }
  return c;
}

/* Sends a request and returns the status of its reply (1: no reply, the
 * server hung up). */
static int raw_call(mproc_conn_t *c, const void *req, size_t n) {
  if (mproc_conn_send_bytes(c, req, n))
    return 1;
  unsigned char back[4096];
  size_t len;
  if (mproc_conn_recv_bytes_into(c, back, sizeof back, &len, TEST_WAIT_MS))
    return 1;
  assert_true(len >= 8);
  return (int)(int32_t)(back[4] | back[5] << 8 | back[6] << 16 | (uint32_t)back[7] << 24);
}

static void hostile_clients_hurt_no_one(void **state) {
  (void)state;
  mproc_manager_opts_t o = {0};
  o.authkey = KEY;
  o.authkey_len = sizeof KEY - 1;
  o.timeout_ms = TEST_WAIT_MS;
  o.max_message = 1 << 16;
  mproc_manager_t *m;
  ASSERT_OK(mproc_manager_start(&m, &o));
  mproc_proxy_t *d;
  ASSERT_OK(mproc_manager_dict(m, &d));
  const char *addr = mproc_manager_address(m);

  /* A silent peer: connected, never speaks. Others go on. */
  mproc_conn_t *silent = raw_client(addr, false);
  ASSERT_OK(mproc_dict_set(d, mproc_int(1), mproc_int(1)));

  /* A wrong key never gets past the handshake. */
  mproc_conn_t *c = NULL;
  mproc_client_opts_t wrong = {.authkey = "wrong", .authkey_len = 5};
  ASSERT_ERR(MPROC_EAUTH, mproc_client_connect(&c, addr, &wrong));

  /* Garbage instead of a greeting: hung up. */
  c = raw_client(addr, false);
  ASSERT_OK(mproc_conn_send_bytes(c, "garbage!", 8));
  unsigned char buf[64];
  size_t n;
  assert_int_not_equal(mproc_conn_recv_bytes_into(c, buf, sizeof buf, &n, TEST_WAIT_MS), 0);
  mproc_conn_free(c);

  /* After a greeting: bad calls get errors, the connection lives on. */
  c = raw_client(addr, true);
  unsigned char req[64] = {0};
  req[0] = 1;
  req[4] = 16;   /* DICT_SET */
  req[8] = 0x77; /* an id that does not exist */
  assert_int_equal(raw_call(c, req, 20), MPROC_ENOENT);
  req[4] = 200; /* no such call */
  assert_int_equal(raw_call(c, req, 20), MPROC_ENOENT);
  req[4] = 1; /* CREATE */
  req[8] = 0;
  req[20] = 99; /* of no kind */
  assert_int_equal(raw_call(c, req, 21), MPROC_EINVAL);
  req[20] = MPROC_PROXY_DICT; /* create a dict: id in the reply */
  assert_int_equal(raw_call(c, req, 21), 0);
  /* DICT_SET on the real dict: a cut-short body, a huge blob length,
   * and bytes that are not MessagePack. */
  uint64_t id = 0;
  {
    mproc_args_t *v;
    ASSERT_OK(mproc_dict_get_default(d, mproc_int(1), mproc_int(0), &v));
    mproc_args_free(v);
  }
  req[4] = 1;
  req[20] = MPROC_PROXY_LIST;
  ASSERT_OK(mproc_conn_send_bytes(c, req, 21));
  assert_int_equal(mproc_conn_recv_bytes_into(c, buf, sizeof buf, &n, TEST_WAIT_MS), 0);
  assert_int_equal(n, 16);
  memcpy(&id, buf + 8, 8); /* little-endian on every test platform */
  memset(req, 0, sizeof req);
  req[4] = 40; /* LIST_APPEND */
  memcpy(req + 8, &id, 8);
  assert_int_equal(raw_call(c, req, 20), MPROC_EPROTO); /* no item */
  req[20] = 0xff, req[21] = 0xff, req[22] = 0xff, req[23] = 0xff;
  assert_int_equal(raw_call(c, req, 24), MPROC_EPROTO); /* a 4 GiB item in 4 bytes */
  req[20] = 3, req[21] = 0, req[22] = 0, req[23] = 0;
  req[24] = 0xdd, req[25] = 0xff, req[26] = 0xff; /* an array header, cut */
  assert_int_equal(raw_call(c, req, 27), MPROC_EPROTO);
  req[20] = 1, req[24] = 0x05; /* a real item: 5 */
  assert_int_equal(raw_call(c, req, 25), 0);
  assert_int_equal(raw_call(c, req, 26), MPROC_EPROTO); /* a stray byte */
  /* A batch that claims more calls than it holds, a nested batch. */
  memset(req, 0, sizeof req);
  req[4] = 6;
  req[20] = 0xff, req[21] = 0xff;
  assert_int_equal(raw_call(c, req, 24), MPROC_EPROTO);
  /* A message shorter than a header: hung up. */
  assert_int_equal(raw_call(c, req, 5), 1);
  mproc_conn_free(c);

  /* Larger than max_message: hung up, nothing allocated for it. */
  c = raw_client(addr, true);
  unsigned char *huge = calloc(1, 100000);
  assert_int_equal(raw_call(c, huge, 100000), 1);
  free(huge);
  mproc_conn_free(c);
  mproc_conn_free(silent);

  /* And the manager serves everyone else as before. */
  ASSERT_OK(mproc_dict_set(d, mproc_int(2), mproc_int(2)));
  assert_int_equal(dict_int(d, mproc_int(1)), 1);
  mproc_proxy_free(d);
  mproc_manager_free(m);
}

/* ---- a hostile client of the shared-memory lane -------------------------- */

/* The lane as manager_lane.c lays it out: a client that writes there
 * whatever it likes. */
enum { LANE_BYTES = 65536, ASKED = 0, ASKED_LEN = 8, ANSWERED = 64, DATA = 128 };

#if defined(__linux__) && !defined(MPROC_TEST_POSIX_GENERIC)
#  define LANES_HERE 1
#  include <fcntl.h>
#  include <linux/futex.h>
#  include <sys/mman.h>
#  include <sys/socket.h>
#  include <sys/syscall.h>
#  include <unistd.h>

typedef struct {
  mproc_conn_t *c;
  int fd; /* the connection's socket */
  unsigned char *lane;
  uint32_t count;
} lane_client_t;

static bool fd_open(int fd) { return fcntl(fd, F_GETFD) >= 0; }

/* Connects (the socket: the descriptor that was not open before). */
static void lane_open(const char *address, lane_client_t *lc) {
  bool before[256];
  for (int fd = 0; fd < 256; fd++)
    before[fd] = fd_open(fd);
  mproc_client_opts_t o = {.authkey = KEY, .authkey_len = sizeof KEY - 1};
  ASSERT_OK(mproc_client_connect(&lc->c, address, &o));
  lc->fd = -1;
  for (int fd = 0; fd < 256 && lc->fd < 0; fd++)
    if (!before[fd] && fd_open(fd))
      lc->fd = fd;
  assert_true(lc->fd >= 0);
}

/* Takes the lane's memory the server sent after its welcome. */
static void lane_take(lane_client_t *lc) {
  unsigned char count;
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } u;
  struct iovec iov = {&count, 1};
  struct msghdr mh = {
      .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
  assert_int_equal(recvmsg(lc->fd, &mh, 0), 1);
  struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
  assert_non_null(cm);
  int lane_fd;
  memcpy(&lane_fd, CMSG_DATA(cm), sizeof lane_fd);
  /* Sealed: no client can shrink it under the server (nor grow it). */
  assert_int_not_equal(ftruncate(lane_fd, 4096), 0);
  assert_int_not_equal(ftruncate(lane_fd, 2 * LANE_BYTES), 0);
  lc->lane = mmap(NULL, LANE_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, lane_fd, 0);
  assert_true(lc->lane != MAP_FAILED);
  close(lane_fd);
}

static void lane_wake_server(lane_client_t *lc) {
  syscall(SYS_futex, lc->lane + ASKED, FUTEX_WAKE, 1, NULL, NULL, 0);
}

static void lane_free(lane_client_t *lc) {
  munmap(lc->lane, LANE_BYTES);
  mproc_conn_free(lc->c);
}
#elif defined(_WIN32)
#  define LANES_HERE 1
#  include <windows.h>

typedef struct {
  mproc_conn_t *c;
  HANDLE pipe;
  unsigned char *lane;
  HANDLE asked; /* the semaphores of the two words */
  HANDLE answered;
  uint32_t count;
} lane_client_t;

enum { HANDLE_VALUES = 4096 };

static bool handle_open(size_t v) {
  DWORD flags;
  return GetHandleInformation((HANDLE)v, &flags) != 0;
}

/* Connects (the pipe: the pipe handle that was not open before). */
static void lane_open(const char *address, lane_client_t *lc) {
  static bool before[HANDLE_VALUES / 4];
  for (size_t v = 4; v < HANDLE_VALUES; v += 4)
    before[v / 4] = handle_open(v);
  mproc_client_opts_t o = {.authkey = KEY, .authkey_len = sizeof KEY - 1};
  ASSERT_OK(mproc_client_connect(&lc->c, address, &o));
  lc->pipe = NULL;
  for (size_t v = 4; v < HANDLE_VALUES && !lc->pipe; v += 4)
    if (!before[v / 4] && handle_open(v) && GetFileType((HANDLE)v) == FILE_TYPE_PIPE)
      lc->pipe = (HANDLE)v;
  assert_non_null(lc->pipe);
}

/* Reads n bytes from the (overlapped) pipe. */
static void pipe_read(HANDLE pipe, unsigned char *p, DWORD n) {
  HANDLE ev = CreateEventW(NULL, TRUE, FALSE, NULL);
  for (DWORD done = 0; done < n;) {
    OVERLAPPED ov = {0};
    ov.hEvent = ev;
    DWORD got = 0;
    if (!ReadFile(pipe, p + done, n - done, NULL, &ov))
      assert_int_equal(GetLastError(), ERROR_IO_PENDING);
    assert_int_equal(WaitForSingleObject(ev, TEST_WAIT_MS), WAIT_OBJECT_0);
    assert_true(GetOverlappedResult(pipe, &ov, &got, FALSE));
    assert_true(got > 0);
    done += got;
  }
  CloseHandle(ev);
}

/* Takes the lane's three handles the server sent after its welcome, each
 * a record: kind 1 | u32 length 8 | the handle's value in this process. */
static void lane_take(lane_client_t *lc) {
  HANDLE h[3];
  for (int i = 0; i < 3; i++) {
    unsigned char rec[13];
    pipe_read(lc->pipe, rec, sizeof rec);
    assert_int_equal(rec[0], 1);
    assert_int_equal(rec[1], 8);
    uint64_t v;
    memcpy(&v, rec + 5, sizeof v);
    h[i] = (HANDLE)(uintptr_t)v;
  }
  lc->lane = MapViewOfFile(h[0], FILE_MAP_ALL_ACCESS, 0, 0, LANE_BYTES);
  assert_non_null(lc->lane);
  CloseHandle(h[0]);
  lc->asked = h[1];
  lc->answered = h[2];
}

/* A token whether or not the server sleeps: a spare one only wakes it for
 * nothing, once. */
static void lane_wake_server(lane_client_t *lc) { ReleaseSemaphore(lc->asked, 1, NULL); }

static void lane_free(lane_client_t *lc) {
  UnmapViewOfFile(lc->lane);
  CloseHandle(lc->asked);
  CloseHandle(lc->answered);
  mproc_conn_free(lc->c);
}
#endif

#ifdef LANES_HERE
/* Connects, says hello asking for a lane, and takes it. */
static void lane_connect(const char *address, lane_client_t *lc) {
  lane_open(address, lc);
  unsigned char msg[24] = {'M', 'G', 'R', 'M', 1, 0, 1 /* a lane, please */, 0, 9, 9, 9, 9};
  ASSERT_OK(mproc_conn_send_bytes(lc->c, msg, sizeof msg));
  unsigned char back[64];
  size_t n;
  ASSERT_OK(mproc_conn_recv_bytes_into(lc->c, back, sizeof back, &n, TEST_WAIT_MS));
  assert_int_equal(n, 32);
  assert_int_equal(back[6] & 1, 1); /* offered */
  lane_take(lc);
  lc->count = 0;
}

static _Atomic uint32_t *lane_word(lane_client_t *lc, size_t at) {
  return (_Atomic uint32_t *)(void *)(lc->lane + at);
}

/* Posts n bytes as a request claiming length len, and wakes the server. */
static void lane_post(lane_client_t *lc, const void *p, size_t n, uint32_t len) {
  memcpy(lc->lane + DATA, p, n);
  atomic_store(lane_word(lc, ASKED_LEN), len);
  atomic_store(lane_word(lc, ASKED), ++lc->count);
  lane_wake_server(lc);
}

/* The answer's status, or 1 when the server hung up instead. */
static int lane_answer(lane_client_t *lc) {
  int64_t until = now_ms() + TEST_WAIT_MS;
  while (atomic_load(lane_word(lc, ANSWERED)) != lc->count && now_ms() < until) {
    if (mproc_conn_poll(lc->c, 0) == 1) {
      unsigned char b[8];
      size_t n;
      assert_int_not_equal(mproc_conn_recv_bytes_into(lc->c, b, sizeof b, &n, 0), 0);
      return 1;
    }
    sleep_ms(1);
  }
  assert_int_equal(atomic_load(lane_word(lc, ANSWERED)), lc->count);
  const unsigned char *r = lc->lane + DATA;
  return (int)(int32_t)(r[4] | r[5] << 8 | r[6] << 16 | (uint32_t)r[7] << 24);
}
#endif

/* A client of the lane that writes what it likes there gets errors or is
 * hung up on, and cannot shrink the memory under the server; everyone
 * else is served as before. Where there are no lanes (generic POSIX: no
 * region the client cannot shrink), the server declines one. */
static void a_hostile_lane_client_hurts_no_one(void **state) {
  (void)state;
  mproc_manager_t *m = start_manager();
  mproc_proxy_t *d;
  ASSERT_OK(mproc_manager_dict(m, &d));
  const char *addr = mproc_manager_address(m);
#ifdef LANES_HERE
  lane_client_t lc;
  unsigned char req[64] = {0};
  /* A well-formed call through the lane: CREATE a dict. */
  lane_connect(addr, &lc);
  req[0] = 1, req[4] = 1, req[20] = MPROC_PROXY_DICT;
  lane_post(&lc, req, 21, 21);
  assert_int_equal(lane_answer(&lc), 0);
  /* Bytes that are no call: an error, and the lane serves on. */
  memset(req, 0xee, sizeof req);
  lane_post(&lc, req, sizeof req, sizeof req);
  assert_true(lane_answer(&lc) < 0);
  /* A length the lane cannot hold: hung up. */
  lane_post(&lc, req, 0, LANE_BYTES);
  assert_int_equal(lane_answer(&lc), 1);
  lane_free(&lc);
  /* Shorter than a call's head: hung up. */
  lane_connect(addr, &lc);
  lane_post(&lc, req, 5, 5);
  assert_int_equal(lane_answer(&lc), 1);
  lane_free(&lc);
  /* Announces a large request on the connection, and sends nothing: its
   * own server thread waits; nobody else does. */
  lane_connect(addr, &lc);
  lane_post(&lc, req, 0, UINT32_MAX);
  ASSERT_OK(mproc_dict_set(d, mproc_int(7), mproc_int(7)));
  lane_free(&lc);
#else
  mproc_conn_t *c = NULL;
  mproc_client_opts_t o = {.authkey = KEY, .authkey_len = sizeof KEY - 1};
  ASSERT_OK(mproc_client_connect(&c, addr, &o));
  unsigned char msg[24] = {'M', 'G', 'R', 'M', 1, 0, 1, 0, 9, 9, 9, 9};
  ASSERT_OK(mproc_conn_send_bytes(c, msg, sizeof msg));
  unsigned char back[64];
  size_t n;
  ASSERT_OK(mproc_conn_recv_bytes_into(c, back, sizeof back, &n, TEST_WAIT_MS));
  assert_int_equal(n, 32);
  assert_int_equal(back[6] & 1, 0); /* declined: calls go on the connection */
  unsigned char req[24] = {1, 0, 0, 0, 1, 0, 0, 0};
  req[20] = MPROC_PROXY_DICT;
  assert_int_equal(raw_call(c, req, 21), 0);
  mproc_conn_free(c);
  ASSERT_OK(mproc_dict_set(d, mproc_int(7), mproc_int(7)));
#endif
  assert_int_equal(dict_int(d, mproc_int(7)), 7);
  mproc_proxy_free(d);
  mproc_manager_free(m);
}

/* The lanes mapped in this process: a sealed memfd's mappings (Linux), 64
 * KiB views of a section (Windows). */
static int lanes_mapped(void) {
  int n = 0;
#if defined(LANES_HERE) && defined(_WIN32)
  MEMORY_BASIC_INFORMATION info;
  for (unsigned char *p = NULL; VirtualQuery(p, &info, sizeof info) == sizeof info;
       p = (unsigned char *)info.BaseAddress + info.RegionSize)
    n += info.Type == MEM_MAPPED && info.RegionSize == LANE_BYTES;
#elif defined(LANES_HERE)
  FILE *f = fopen("/proc/self/maps", "r");
  char line[1024];
  assert_non_null(f);
  while (fgets(line, sizeof line, f))
    n += strstr(line, "/memfd:mproc-sealed") != NULL;
  fclose(f);
#endif
  return n;
}

/* A local client gets a lane where there are lanes, and none when its
 * environment has MPROC_MANAGER_LANE=0; its calls work either way. */
static void the_environment_can_decline_the_lane(void **state) {
  (void)state;
  mproc_manager_t *m = start_manager(), *c[2];
  mproc_proxy_t *d, *mine[2];
  ASSERT_OK(mproc_manager_dict(m, &d)); /* m's own connection, and lane */
  mproc_manager_opts_t o = {0};
  o.authkey = KEY;
  o.authkey_len = sizeof KEY - 1;
  o.timeout_ms = TEST_WAIT_MS;
  for (int i = 0; i < 2; i++) {
    int before = lanes_mapped();
    set_env("MPROC_MANAGER_LANE", i ? "0" : NULL);
    ASSERT_OK(mproc_manager_connect(&c[i], mproc_manager_address(m), &o));
    ASSERT_OK(mproc_manager_dict(c[i], &mine[i])); /* its hello */
    set_env("MPROC_MANAGER_LANE", NULL);
#ifdef LANES_HERE
    assert_int_equal(lanes_mapped(), before + (i ? 0 : 1));
#else
    assert_int_equal(lanes_mapped(), before);
#endif
    ASSERT_OK(mproc_dict_set(mine[i], mproc_int(i), mproc_int(10 + i)));
    ASSERT_OK(mproc_dict_set(d, mproc_int(i), mproc_int(20 + i)));
  }
  for (int i = 0; i < 2; i++) {
    assert_int_equal(dict_int(mine[i], mproc_int(i)), 10 + i);
    assert_int_equal(dict_int(d, mproc_int(i)), 20 + i);
    mproc_proxy_free(mine[i]);
    mproc_manager_free(c[i]);
  }
  mproc_proxy_free(d);
  mproc_manager_free(m);
}

/* args: (tcp address, key): connects, increments "remote" in the
 * published dict; exit 20 for a refused key. */
static int t_remote_client(const mproc_args_t *args) {
  const char *addr;
  const void *key;
  size_t keylen;
  if (mproc_args_get_str(args, 0, &addr) || mproc_args_get_bytes(args, 1, &key, &keylen))
    return 10;
  mproc_manager_opts_t o = {0};
  o.authkey = key;
  o.authkey_len = keylen;
  o.timeout_ms = TEST_WAIT_MS;
  mproc_manager_t *m;
  int rc = mproc_manager_connect(&m, addr, &o);
  if (rc == MPROC_EAUTH)
    return 20;
  mproc_proxy_t *d;
  if (rc || mproc_manager_lookup(m, "counters", &d))
    return 11;
  rc = mproc_dict_incr(d, mproc_str("remote"), 1, NULL);
  mproc_proxy_free(d);
  mproc_manager_free(m);
  return rc ? 12 : 0;
}

static void tcp_with_the_right_and_a_wrong_key(void **state) {
  (void)state;
  mproc_manager_opts_t o = {0};
  o.authkey = KEY;
  o.authkey_len = sizeof KEY - 1;
  o.timeout_ms = TEST_WAIT_MS;
  o.tcp_address = "tcp:127.0.0.1:0";
  mproc_manager_t *m;
  ASSERT_OK(mproc_manager_start(&m, &o));
  const char *tcp = mproc_manager_tcp_address(m);
  assert_true(strncmp(tcp, "tcp:127.0.0.1:", 14) == 0);
  mproc_proxy_t *d;
  ASSERT_OK(mproc_manager_dict(m, &d));
  ASSERT_OK(mproc_manager_publish(m, "counters", d));
  mproc_args_t *a;
  ASSERT_OK(mproc_args_new(&a));
  ASSERT_OK(mproc_args_add_str(a, tcp));
  ASSERT_OK(mproc_args_add_bytes(a, KEY, sizeof KEY - 1));
  assert_int_equal(run_child(t_remote_client, a), 0);
  assert_int_equal(run_child(t_remote_client, a), 0);
  mproc_args_free(a);
  ASSERT_OK(mproc_args_new(&a));
  ASSERT_OK(mproc_args_add_str(a, tcp));
  ASSERT_OK(mproc_args_add_bytes(a, "not it", 6));
  assert_int_equal(run_child(t_remote_client, a), 20);
  mproc_args_free(a);
  assert_int_equal(dict_int(d, mproc_str("remote")), 2);
  mproc_proxy_free(d);
  mproc_manager_free(m);
}

/* args: (address): serves until shut down. */
static int t_serve(const mproc_args_t *args) {
  const char *addr;
  if (mproc_args_get_str(args, 0, &addr))
    return 10;
  mproc_manager_opts_t o = {0};
  o.authkey = KEY;
  o.authkey_len = sizeof KEY - 1;
  return mproc_manager_serve_forever(addr, &o) ? 11 : 0;
}

#ifndef _WIN32
#  include <signal.h>
static void on_term(int sig) {
  (void)sig;
  mproc_manager_stop_serving(); /* async-signal-safe */
}
#endif

static void stop_when_set(void *event) {
  if (mproc_event_wait(event, TEST_WAIT_MS) == 0)
    mproc_manager_stop_serving();
}

/* args: (address, Event, how): serves until stopped from inside this
 * process - how 0: by a thread once the Event is set; 1 (POSIX): by a
 * SIGTERM handler. */
static int t_serve_until_stopped(const mproc_args_t *args) {
  const char *addr;
  mproc_event_t *ev;
  int64_t how;
  if (mproc_args_get_str(args, 0, &addr) || mproc_args_get_event(args, 1, &ev) ||
      mproc_args_get_int(args, 2, &how))
    return 10;
  test_thread_t t;
#ifndef _WIN32
  if (how == 1) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
  }
#endif
  if (how == 0)
    thread_start(&t, stop_when_set, ev);
  mproc_manager_opts_t o = {0};
  o.authkey = KEY;
  o.authkey_len = sizeof KEY - 1;
  int rc = mproc_manager_serve_forever(addr, &o);
  if (how == 0)
    thread_join(&t);
  return rc ? 11 : 0;
}

/* Connects to addr, trying until something listens there. */
static mproc_manager_t *connect_when_up(const char *addr) {
  mproc_manager_opts_t o = {0};
  o.authkey = KEY;
  o.authkey_len = sizeof KEY - 1;
  o.timeout_ms = TEST_WAIT_MS;
  mproc_manager_t *m = NULL;
  int rc = MPROC_ECLOSED;
  for (int64_t until = now_ms() + TEST_WAIT_MS; rc == MPROC_ECLOSED && now_ms() < until;)
    if ((rc = mproc_manager_connect(&m, addr, &o)) == MPROC_ECLOSED)
      sleep_ms(20);
  ASSERT_OK(rc);
  return m;
}

/* serve_forever ends when its own process asks: a thread's call, and (on
 * POSIX) a signal handler's; a client's next call finds it closed. */
static void serve_forever_until_stopped_inside(void **state) {
  (void)state;
#ifdef _WIN32
  int ways = 1;
#else
  int ways = 2;
#endif
  for (int how = 0; how < ways; how++) {
    char addr[200];
    local_address(addr, sizeof addr, how ? "stop-by-signal" : "stop");
    mproc_event_t *ev;
    ASSERT_OK(mproc_event_new(&ev));
    mproc_args_t *a;
    ASSERT_OK(mproc_args_new(&a));
    ASSERT_OK(mproc_args_add_str(a, addr));
    ASSERT_OK(mproc_args_add_event(a, ev));
    ASSERT_OK(mproc_args_add_int(a, how));
    mproc_process_t *p = start_child(t_serve_until_stopped, a);
    mproc_args_free(a);
    mproc_manager_t *m = connect_when_up(addr);
    mproc_proxy_t *l;
    ASSERT_OK(mproc_manager_list(m, &l));
    ASSERT_OK(mproc_list_append(l, mproc_int(1)));
    if (how == 0)
      ASSERT_OK(mproc_event_set(ev));
    else
      ASSERT_OK(mproc_process_terminate(p));
    assert_int_equal(finish_child(p), 0);                       /* a clean return, not the signal */
    ASSERT_ERR(MPROC_EEOF, mproc_list_append(l, mproc_int(2))); /* gone */
    mproc_proxy_free(l);
    mproc_manager_free(m);
    mproc_event_free(ev);
  }
}

static void serve_forever_until_shutdown(void **state) {
  (void)state;
  char addr[200];
  local_address(addr, sizeof addr, "serve");
  mproc_args_t *a;
  ASSERT_OK(mproc_args_new(&a));
  ASSERT_OK(mproc_args_add_str(a, addr));
  mproc_process_t *p = start_child(t_serve, a);
  mproc_args_free(a);
  mproc_manager_t *m = connect_when_up(addr);
  assert_null(mproc_manager_process(m));
  mproc_proxy_t *l;
  ASSERT_OK(mproc_manager_list(m, &l));
  ASSERT_OK(mproc_list_append(l, mproc_int(1)));
  ASSERT_OK(mproc_manager_shutdown(m));
  assert_int_equal(finish_child(p), 0);
  ASSERT_ERR(MPROC_ECLOSED, mproc_list_append(l, mproc_int(2)));
  mproc_proxy_free(l);
  mproc_manager_free(m);
  mproc_manager_t *none;
  mproc_manager_opts_t o = {0};
  o.authkey = KEY;
  o.authkey_len = sizeof KEY - 1;
  o.timeout_ms = TEST_WAIT_MS;
  ASSERT_ERR(MPROC_ECLOSED, mproc_manager_connect(&none, addr, &o));
  /* The manager's words first, then the OS's, both whole. */
  char want[300];
  snprintf(want, sizeof want, "no manager listens at %s (shut down, or never started): ", addr);
  assert_true(strncmp(mproc_last_error_detail(), want, strlen(want)) == 0);
  assert_null(strstr(mproc_last_error_detail() + strlen(want), "no manager listens"));
  assert_true(strlen(mproc_last_error_detail()) > strlen(want) + 4);
  ASSERT_ERR(MPROC_EINVAL, mproc_manager_serve_forever("tcp:127.0.0.1:0", NULL));
  ASSERT_ERR(MPROC_EINVAL, mproc_manager_serve_forever(NULL, NULL));
}

/* A dict value of n bytes, each byte its index's low bits plus seed. */
static void fill(unsigned char *p, size_t n, unsigned seed) {
  for (size_t i = 0; i < n; i++)
    p[i] = (unsigned char)(i * 7 + seed);
}

static void expect_bytes(mproc_proxy_t *d, int64_t key, const unsigned char *want, size_t n) {
  mproc_args_t *v = NULL;
  ASSERT_OK(mproc_dict_get(d, mproc_int(key), &v));
  test_expect_bytes(v, 0, want, n);
  mproc_args_free(v);
}

/* args: (dict): checks and rewrites what messages_of_every_size stored. */
static int t_sizes_child(const mproc_args_t *args) {
  mproc_proxy_t *d;
  if (mproc_args_get_proxy(args, 0, &d))
    return 10;
  unsigned char *buf = malloc(1 << 20);
  mproc_args_t *v = NULL;
  const void *got;
  size_t len;
  int rc = 0;
  fill(buf, 1 << 20, 3);
  if (mproc_dict_get(d, mproc_int(-1), &v) || mproc_args_get_bytes(v, 0, &got, &len) ||
      len != 1 << 20 || memcmp(got, buf, len) != 0)
    rc = 11;
  mproc_args_free(v);
  fill(buf, 1 << 20, 4);
  if (!rc && mproc_dict_set(d, mproc_int(-2), mproc_bytes(buf, 1 << 20)))
    rc = 12;
  free(buf);
  return rc;
}

/* Requests and replies of every size around what a call can carry in
 * shared memory, and far beyond it (those go on the connection), one
 * after another on one connection, from a batch, and from a child. */
static void messages_of_every_size(void **state) {
  (void)state;
  mproc_manager_t *m = start_manager();
  mproc_proxy_t *d;
  ASSERT_OK(mproc_manager_dict(m, &d));
  unsigned char *buf = malloc(1 << 20);
  const size_t sizes[] = {0, 1, 1000, 60000, 1 << 20, 5, 200000, 7};
  for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
    fill(buf, sizes[i], (unsigned)i);
    ASSERT_OK(mproc_dict_set(d, mproc_int(0), mproc_bytes(buf, sizes[i])));
    expect_bytes(d, 0, buf, sizes[i]);
  }
  /* Across the edge of a 64 KiB lane, byte by byte. */
  for (size_t n = 65300; n <= 65560; n++) {
    fill(buf, n, (unsigned)n);
    ASSERT_OK(mproc_dict_set(d, mproc_int((int64_t)n), mproc_bytes(buf, n)));
    expect_bytes(d, (int64_t)n, buf, n);
    ASSERT_OK(mproc_dict_del(d, mproc_int((int64_t)n)));
  }
  /* A batch whose request and reply are each larger than the lane. */
  fill(buf, 1000, 1);
  ASSERT_OK(mproc_manager_batch_begin(m));
  for (int i = 0; i < 200; i++)
    ASSERT_OK(mproc_dict_set(d, mproc_int(1000 + i), mproc_bytes(buf, 1000)));
  mproc_args_t *got[200] = {0};
  for (int i = 0; i < 200; i++)
    ASSERT_OK(mproc_dict_get(d, mproc_int(1000 + i), &got[i]));
  int status[400];
  ASSERT_OK(mproc_manager_batch_run(m, status, 400));
  for (int i = 0; i < 200; i++) {
    assert_int_equal(status[200 + i], 0);
    test_expect_bytes(got[i], 0, buf, 1000);
    mproc_args_free(got[i]);
  }
  /* A child's own connection carries them too. */
  fill(buf, 1 << 20, 3);
  ASSERT_OK(mproc_dict_set(d, mproc_int(-1), mproc_bytes(buf, 1 << 20)));
  mproc_args_t *a;
  ASSERT_OK(mproc_args_new(&a));
  ASSERT_OK(mproc_args_add_proxy(a, d));
  assert_int_equal(run_child(t_sizes_child, a), 0);
  mproc_args_free(a);
  fill(buf, 1 << 20, 4);
  expect_bytes(d, -2, buf, 1 << 20);
  free(buf);
  mproc_proxy_free(d);
  mproc_manager_free(m);
}

/* args: (dict): with only the proxy, makes a list through its manager,
 * stores it in the dict, and runs a batch of increments on the dict. */
static int t_only_a_proxy(const mproc_args_t *args) {
  mproc_proxy_t *d, *l;
  mproc_manager_t *m;
  if (mproc_args_get_proxy(args, 0, &d) || mproc_proxy_manager(d, &m))
    return 10;
  if (mproc_manager_list(m, &l) || mproc_list_append(l, mproc_str("made here")) ||
      mproc_dict_set(d, mproc_str("list"), mproc_proxy_item(l)))
    return 11;
  if (mproc_manager_batch_begin(m))
    return 12;
  for (int i = 0; i < 10; i++)
    mproc_dict_incr(d, mproc_str("n"), 1, NULL);
  if (mproc_manager_batch_run(m, NULL, 0))
    return 13;
  mproc_proxy_free(l);
  mproc_manager_free(m); /* the manager runs on */
  return mproc_dict_set(d, mproc_str("after"), mproc_int(1)) ? 14 : 0;
}

/* A child given only a proxy reaches its manager through it. */
static void a_proxy_knows_its_manager(void **state) {
  (void)state;
  mproc_manager_t *m = start_manager(), *same;
  mproc_proxy_t *d;
  ASSERT_OK(mproc_manager_dict(m, &d));
  ASSERT_ERR(MPROC_EINVAL, mproc_proxy_manager(NULL, &same));
  ASSERT_ERR(MPROC_EINVAL, mproc_proxy_manager(d, NULL));
  ASSERT_OK(mproc_proxy_manager(d, &same));
  assert_string_equal(mproc_manager_address(same), mproc_manager_address(m));
  mproc_manager_free(same);
  mproc_args_t *a;
  ASSERT_OK(mproc_args_new(&a));
  ASSERT_OK(mproc_args_add_proxy(a, d));
  assert_int_equal(run_child(t_only_a_proxy, a), 0);
  mproc_args_free(a);
  assert_int_equal(dict_int(d, mproc_str("n")), 10);
  assert_int_equal(dict_int(d, mproc_str("after")), 1);
  mproc_args_t *v;
  ASSERT_OK(mproc_dict_get(d, mproc_str("list"), &v));
  mproc_proxy_t *l;
  ASSERT_OK(mproc_args_get_proxy(v, 0, &l));
  size_t n = 0;
  ASSERT_OK(mproc_list_len(l, &n));
  assert_int_equal(n, 1);
  mproc_args_free(v);
  mproc_proxy_free(d);
  mproc_manager_free(m);
}

/* Lock.locked(), Queue.empty() and full(): snapshots, each one call; the
 * wrong kind of proxy is MPROC_ETYPE. */
static void locked_empty_full(void **state) {
  (void)state;
  mproc_manager_t *m = start_manager();
  mproc_proxy_t *lk, *rl, *q, *jq, *unbounded, *ev;
  ASSERT_OK(mproc_manager_lock(m, &lk));
  ASSERT_OK(mproc_manager_rlock(m, &rl));
  ASSERT_OK(mproc_manager_queue(m, 2, &q));
  ASSERT_OK(mproc_manager_joinable_queue(m, 1, &jq));
  ASSERT_OK(mproc_manager_queue(m, 0, &unbounded));
  ASSERT_OK(mproc_manager_event(m, &ev));
  mproc_proxy_t *locks[] = {lk, rl};
  for (int i = 0; i < 2; i++) {
    assert_int_equal(mproc_proxy_locked(locks[i]), 0);
    ASSERT_OK(mproc_proxy_acquire(locks[i], 0));
    assert_int_equal(mproc_proxy_locked(locks[i]), 1);
    ASSERT_OK(mproc_proxy_release(locks[i]));
    assert_int_equal(mproc_proxy_locked(locks[i]), 0);
  }
  assert_int_equal(mproc_proxy_empty(q), 1);
  assert_int_equal(mproc_proxy_full(q), 0);
  ASSERT_OK(mproc_proxy_put(q, mproc_int(1), 0));
  assert_int_equal(mproc_proxy_empty(q), 0);
  assert_int_equal(mproc_proxy_full(q), 0);
  ASSERT_OK(mproc_proxy_put(q, mproc_int(2), 0));
  assert_int_equal(mproc_proxy_full(q), 1);
  mproc_args_t *v;
  ASSERT_OK(mproc_proxy_get(q, &v, 0));
  mproc_args_free(v);
  assert_int_equal(mproc_proxy_full(q), 0);
  ASSERT_OK(mproc_proxy_put(jq, mproc_int(1), 0));
  assert_int_equal(mproc_proxy_full(jq), 1);
  for (int i = 0; i < 100; i++)
    ASSERT_OK(mproc_proxy_put(unbounded, mproc_int(i), 0));
  assert_int_equal(mproc_proxy_full(unbounded), 0); /* maxsize 0: never full */
  ASSERT_ERR(MPROC_ETYPE, mproc_proxy_locked(q));
  ASSERT_ERR(MPROC_ETYPE, mproc_proxy_empty(lk));
  ASSERT_ERR(MPROC_ETYPE, mproc_proxy_full(ev));
  ASSERT_ERR(MPROC_EINVAL, mproc_proxy_locked(NULL));
  ASSERT_ERR(MPROC_EINVAL, mproc_proxy_empty(NULL));
  mproc_proxy_t *all[] = {lk, rl, q, jq, unbounded, ev};
  for (int i = 0; i < 6; i++)
    mproc_proxy_free(all[i]);
  mproc_manager_free(m);
}

/* The typed reads: one call per value, the type checked, the value left
 * alone on every failure, and written when a batch runs. */
/* A tuple of (key, int) pairs: ("k0", 0), ("k1", 10), ... */
static mproc_args_t *pairs_of(size_t n) {
  mproc_args_t *pairs;
  ASSERT_OK(mproc_args_new(&pairs));
  for (size_t i = 0; i < n; i++) {
    char key[32];
    snprintf(key, sizeof key, "k%zu", i);
    mproc_args_t *pair;
    ASSERT_OK(mproc_args_new(&pair));
    ASSERT_OK(mproc_args_add_str(pair, key));
    ASSERT_OK(mproc_args_add_int(pair, (int64_t)i * 10));
    ASSERT_OK(mproc_args_add_args(pairs, pair));
    mproc_args_free(pair);
  }
  return pairs;
}

/* pair is (key, value) with these. */
static void expect_pair(mproc_args_t *pair, const char *key, int64_t value) {
  const char *k;
  int64_t v;
  assert_int_equal(mproc_args_count(pair), 2);
  ASSERT_OK(mproc_args_get_str(pair, 0, &k));
  ASSERT_OK(mproc_args_get_int(pair, 1, &v));
  assert_string_equal(k, key);
  assert_int_equal(v, value);
  mproc_args_free(pair);
}

static void dicts_made_with_contents_copied_and_popped(void **state) {
  (void)state;
  mproc_manager_t *m = start_manager();
  mproc_args_t *pairs = pairs_of(3);
  mproc_proxy_t *d, *c, *bad = (mproc_proxy_t *)1;
  ASSERT_OK(mproc_manager_dict_from(m, pairs, &d));
  assert_int_equal(mproc_proxy_kind(d), MPROC_PROXY_DICT);
  assert_int_equal(dict_int(d, mproc_str("k1")), 10);
  ASSERT_OK(mproc_dict_copy(d, &c));
  ASSERT_OK(mproc_dict_set(d, mproc_str("k1"), mproc_int(-1))); /* the copy keeps 10 */
  assert_int_equal(dict_int(c, mproc_str("k1")), 10);

  /* popitem: the last inserted first (an overwrite keeps the place). */
  mproc_args_t *pair = NULL;
  ASSERT_OK(mproc_dict_popitem(d, &pair));
  expect_pair(pair, "k2", 20);
  ASSERT_OK(mproc_dict_popitem(d, &pair));
  expect_pair(pair, "k1", -1);
  ASSERT_OK(mproc_dict_popitem(d, NULL));
  ASSERT_ERR(MPROC_ENOENT, mproc_dict_popitem(d, &pair));
  assert_non_null(strstr(mproc_last_error_detail(), "empty"));
  size_t n = 9;
  ASSERT_OK(mproc_dict_len(c, &n));
  assert_int_equal(n, 3);

  /* A snapshot to iterate over while the dict changes. */
  mproc_args_t *items;
  ASSERT_OK(mproc_dict_items(c, &items));
  for (size_t i = 0; i < mproc_args_count(items); i++) {
    const mproc_args_t *it;
    const char *key;
    ASSERT_OK(mproc_args_get_args(items, i, &it));
    ASSERT_OK(mproc_args_get_str(it, 0, &key));
    ASSERT_OK(mproc_dict_del(c, mproc_str(key)));
  }
  mproc_args_free(items);
  ASSERT_OK(mproc_dict_len(c, &n));
  assert_int_equal(n, 0);

  /* Bad input: nothing is made. */
  ASSERT_OK(mproc_args_add_int(pairs, 5)); /* not a pair */
  ASSERT_ERR(MPROC_ETYPE, mproc_manager_dict_from(m, pairs, &bad));
  assert_null(bad);
  ASSERT_ERR(MPROC_EINVAL, mproc_manager_dict_from(m, NULL, &bad));
  ASSERT_ERR(MPROC_EINVAL, mproc_manager_dict_from(m, pairs, NULL));
  ASSERT_ERR(MPROC_EINVAL, mproc_dict_copy(d, NULL));
  ASSERT_ERR(MPROC_EINVAL, mproc_dict_copy(NULL, &bad));
  ASSERT_ERR(MPROC_EINVAL, mproc_dict_popitem(NULL, &pair));
  mproc_args_free(pairs);
  mproc_proxy_free(c);
  mproc_proxy_free(d);
  mproc_manager_free(m);
}

static void lists_made_with_contents_copied_and_reversed(void **state) {
  (void)state;
  mproc_manager_t *m = start_manager();
  mproc_args_t *items;
  ASSERT_OK(mproc_args_new(&items));
  for (int i = 1; i <= 4; i++)
    ASSERT_OK(mproc_args_add_int(items, i));
  mproc_proxy_t *l, *c, *e, *bad = (mproc_proxy_t *)1;
  ASSERT_OK(mproc_manager_list_from(m, items, &l));
  assert_int_equal(mproc_proxy_kind(l), MPROC_PROXY_LIST);
  ASSERT_OK(mproc_list_copy(l, &c));
  ASSERT_OK(mproc_list_reverse(l));
  mproc_args_t *got;
  ASSERT_OK(mproc_list_slice(l, 0, INT64_MAX, &got));
  expect_ints(got, (int64_t[]){4, 3, 2, 1}, 4);
  /* l + items, as Python's list concatenation: a copy, extended. */
  ASSERT_OK(mproc_list_extend(c, items));
  ASSERT_OK(mproc_list_slice(c, 0, INT64_MAX, &got));
  expect_ints(got, (int64_t[]){1, 2, 3, 4, 1, 2, 3, 4}, 8);
  assert_int_equal(list_int(l, 0), 4); /* the original is untouched */

  /* The short lists reverse too; a list made empty. */
  mproc_args_t *none;
  ASSERT_OK(mproc_args_new(&none));
  ASSERT_OK(mproc_manager_list_from(m, none, &e));
  ASSERT_OK(mproc_list_reverse(e));
  ASSERT_OK(mproc_list_append(e, mproc_int(7)));
  ASSERT_OK(mproc_list_reverse(e));
  assert_int_equal(list_int(e, 0), 7);

  ASSERT_ERR(MPROC_EINVAL, mproc_manager_list_from(m, NULL, &bad));
  assert_null(bad);
  ASSERT_ERR(MPROC_EINVAL, mproc_list_copy(l, NULL));
  ASSERT_ERR(MPROC_EINVAL, mproc_list_reverse(NULL));
  assert_int_equal(mproc_list_copy(e, &bad) == 0, 1); /* a copy of a list of one */
  mproc_proxy_free(bad);
  /* A list call on a dict (and back) is refused. */
  mproc_proxy_t *d;
  ASSERT_OK(mproc_manager_dict(m, &d));
  assert_true(mproc_list_reverse(d) < 0);
  assert_true(mproc_dict_popitem(l, NULL) < 0);
  mproc_proxy_free(d);
  mproc_args_free(none);
  mproc_args_free(items);
  mproc_proxy_free(e);
  mproc_proxy_free(c);
  mproc_proxy_free(l);
  mproc_manager_free(m);
}

static void typed_reads(void **state) {
  (void)state;
  mproc_manager_t *m = start_manager();
  mproc_proxy_t *d, *l;
  ASSERT_OK(mproc_manager_dict(m, &d));
  ASSERT_OK(mproc_manager_list(m, &l));
  ASSERT_OK(mproc_dict_set(d, mproc_str("i"), mproc_int(-7)));
  ASSERT_OK(mproc_dict_set(d, mproc_str("x"), mproc_double(2.5)));
  ASSERT_OK(mproc_dict_set(d, mproc_str("b"), mproc_bool(true)));
  ASSERT_OK(mproc_dict_set(d, mproc_str("s"), mproc_str("caf\xc3\xa9")));
  mproc_item_t items[] = {mproc_int(1), mproc_double(-0.5), mproc_bool(false), mproc_str("z")};
  for (int i = 0; i < 4; i++)
    ASSERT_OK(mproc_list_append(l, items[i]));
  int64_t v = 0;
  double x = 0;
  bool b = false;
  char *str = NULL;
  ASSERT_OK(mproc_dict_get_int(d, mproc_str("i"), &v));
  assert_int_equal(v, -7);
  ASSERT_OK(mproc_dict_get_double(d, mproc_str("x"), &x));
  assert_true(x == 2.5);
  ASSERT_OK(mproc_dict_get_bool(d, mproc_str("b"), &b));
  assert_true(b);
  ASSERT_OK(mproc_dict_get_str(d, mproc_str("s"), &str));
  assert_string_equal(str, "caf\xc3\xa9");
  mproc_free(str);
  ASSERT_OK(mproc_list_get_int(l, 0, &v));
  assert_int_equal(v, 1);
  ASSERT_OK(mproc_list_get_double(l, -3, &x));
  assert_true(x == -0.5);
  ASSERT_OK(mproc_list_get_bool(l, 2, &b));
  assert_false(b);
  ASSERT_OK(mproc_list_get_str(l, -1, &str));
  assert_string_equal(str, "z");
  mproc_free(str);

  /* Failures leave the value alone. */
  v = 42;
  str = NULL;
  assert_int_equal(mproc_dict_get_int(d, mproc_str("s"), &v), MPROC_ETYPE);
  assert_non_null(strstr(mproc_last_error_detail(), "str"));
  assert_int_equal(mproc_dict_get_int(d, mproc_str("none"), &v), MPROC_ENOENT);
  assert_int_equal(mproc_list_get_int(l, 4, &v), MPROC_ERANGE);
  assert_int_equal(mproc_list_get_str(l, 0, &str), MPROC_ETYPE);
  assert_int_equal(mproc_dict_get_double(d, mproc_str("i"), &x), MPROC_ETYPE);
  assert_int_equal(v, 42);
  assert_null(str);
  assert_int_equal(mproc_dict_get_int(d, mproc_str("i"), NULL), MPROC_EINVAL);
  assert_int_equal(mproc_list_get_str(NULL, 0, &str), MPROC_EINVAL);
  assert_int_equal(mproc_dict_get_int(l, mproc_int(0), &v), MPROC_ETYPE); /* a list */

  /* In a batch: written when it runs. */
  v = 0;
  str = NULL;
  ASSERT_OK(mproc_manager_batch_begin(m));
  ASSERT_OK(mproc_dict_set(d, mproc_str("i"), mproc_int(99)));
  ASSERT_OK(mproc_dict_get_int(d, mproc_str("i"), &v));
  ASSERT_OK(mproc_list_get_str(l, 3, &str));
  assert_int_equal(v, 0);
  ASSERT_OK(mproc_manager_batch_run(m, NULL, 0));
  assert_int_equal(v, 99);
  assert_string_equal(str, "z");
  mproc_free(str);
  mproc_proxy_free(l);
  mproc_proxy_free(d);
  mproc_manager_free(m);
}

int main(int argc, char **argv) {
  mproc_main_guard(argc, argv);
  const struct CMUnitTest containers[] = {
      cmocka_unit_test(dict_semantics),
      cmocka_unit_test(namespace_and_value),
      cmocka_unit_test(list_semantics),
      cmocka_unit_test(bad_input),
      cmocka_unit_test(messages_of_every_size),
      cmocka_unit_test(typed_reads),
      cmocka_unit_test(dicts_made_with_contents_copied_and_popped),
      cmocka_unit_test(lists_made_with_contents_copied_and_reversed),
  };
  const struct CMUnitTest sync[] = {
      cmocka_unit_test(locks),
      cmocka_unit_test(events_conditions_barriers),
      cmocka_unit_test(queues),
      cmocka_unit_test(locked_empty_full),
  };
  const struct CMUnitTest processes[] = {
      cmocka_unit_test(four_processes_lose_no_update),
      cmocka_unit_test(proxies_reach_children_and_grandchildren),
      cmocka_unit_test(nested_containers),
      cmocka_unit_test(proxies_cross_queues),
      cmocka_unit_test(threads_share_a_proxy),
      cmocka_unit_test(registered_type),
      cmocka_unit_test(methods_return_objects),
      cmocka_unit_test(batches),
      cmocka_unit_test(batches_are_atomic),
      cmocka_unit_test(publish_and_lookup),
      cmocka_unit_test(a_proxy_knows_its_manager),
  };
  const struct CMUnitTest failures[] = {
      cmocka_unit_test(a_killed_holder_passes_the_lock_on),
      cmocka_unit_test(a_killed_manager_ends_every_call),
      cmocka_unit_test(shutdown_wakes_the_blocked),
      cmocka_unit_test(hostile_clients_hurt_no_one),
      cmocka_unit_test(a_hostile_lane_client_hurts_no_one),
      cmocka_unit_test(the_environment_can_decline_the_lane),
      cmocka_unit_test(tcp_with_the_right_and_a_wrong_key),
      cmocka_unit_test(serve_forever_until_shutdown),
      cmocka_unit_test(serve_forever_until_stopped_inside),
  };
  const test_group_t groups[] = {
      TEST_GROUP("containers", containers),
      TEST_GROUP("sync", sync),
      TEST_GROUP("processes", processes),
      TEST_GROUP("failures", failures),
  };
  return run_groups(argc, argv, groups, sizeof groups / sizeof groups[0]);
}
