/* Managers at the edges that independent programs found: a second connect
 * with a wrong key or none, timeouts that bound connecting, objects that
 * outlive a broken connection, a request over the manager's limit, and a
 * proxy freed right after the process it was given to started. A manager
 * is stalled portably by a registered type whose method sleeps (it holds
 * the manager's one mutex, so every call waits behind it). */
#include <stdatomic.h>

#include "test_util.h"

static const char KEY[] = "a key both sides know";

/* ---- a type that stalls the manager ------------------------------------- */

static int napper_create(void **self, const mproc_args_t *args) {
  (void)args;
  *self = NULL;
  return 0;
}

/* nap(ms): sleeps in the manager, holding up every call. */
static int napper_nap(void *self, const mproc_args_t *args, mproc_args_t *result) {
  (void)self;
  (void)result;
  int64_t ms = 0;
  if (mproc_args_get_int(args, 0, &ms))
    return MPROC_EINVAL;
  sleep_ms((int)ms);
  return 0;
}

static const mproc_method_t napper_methods[] = {{"nap", napper_nap}};
static const mproc_manager_type_t types[] = {{"napper", napper_create, NULL, napper_methods, 1}};

static const mproc_manager_type_t *get_types(size_t *n) {
  *n = 1;
  return types;
}

static mproc_manager_opts_t opts_of(int timeout_ms) {
  mproc_manager_opts_t o = {0};
  o.authkey = KEY;
  o.authkey_len = sizeof KEY - 1;
  o.timeout_ms = timeout_ms;
  o.types = get_types;
  return o;
}

static mproc_manager_t *start_manager(size_t max_message) {
  mproc_manager_opts_t o = opts_of(TEST_WAIT_MS);
  o.max_message = max_message;
  mproc_manager_t *m = NULL;
  ASSERT_OK(mproc_manager_start(&m, &o));
  return m;
}

static int nap(mproc_proxy_t *napper, int ms) {
  mproc_args_t *a;
  ASSERT_OK(mproc_args_new(&a));
  ASSERT_OK(mproc_args_add_int(a, ms));
  int rc = mproc_proxy_call(napper, "nap", a, NULL);
  mproc_args_free(a);
  return rc;
}

typedef struct {
  mproc_proxy_t *napper;
  int ms;
  atomic_int started;
  int rc;
} napping_t;

static void nap_in_thread(void *arg) {
  napping_t *n = arg;
  atomic_store(&n->started, 1);
  n->rc = nap(n->napper, n->ms);
}

/* Starts a nap of ms in a thread and waits until it holds the manager. */
static void stall(test_thread_t *t, napping_t *n, mproc_proxy_t *napper, int ms) {
  n->napper = napper;
  n->ms = ms;
  atomic_store(&n->started, 0);
  thread_start(t, nap_in_thread, n);
  while (!atomic_load(&n->started))
    sleep_ms(1);
  sleep_ms(100); /* the nap is in the manager now */
}

static int64_t dict_int(mproc_proxy_t *d, int64_t key) {
  mproc_args_t *v = NULL;
  int64_t x = -999;
  ASSERT_OK(mproc_dict_get(d, mproc_int(key), &v));
  ASSERT_OK(mproc_args_get_int(v, 0, &x));
  mproc_args_free(v);
  return x;
}

/* ---- keys ----------------------------------------------------------------- */

/* Each connect proves its own key, though this process already holds a
 * connection to the same manager with the right one. */
static void every_connect_proves_its_own_key(void **state) {
  (void)state;
  mproc_manager_t *m = start_manager(0);
  const char *addr = mproc_manager_address(m);
  mproc_proxy_t *d;
  ASSERT_OK(mproc_manager_dict(m, &d));
  ASSERT_OK(mproc_manager_publish(m, "d", d));

  mproc_manager_t *other = NULL;
  mproc_manager_opts_t wrong = opts_of(TEST_WAIT_MS);
  wrong.authkey = "not the key";
  wrong.authkey_len = 11;
  ASSERT_ERR(MPROC_EAUTH, mproc_manager_connect(&other, addr, &wrong));
  assert_null(other);
  mproc_manager_opts_t none = opts_of(TEST_WAIT_MS);
  none.authkey = NULL;
  none.authkey_len = 0;
  ASSERT_ERR(MPROC_EAUTH, mproc_manager_connect(&other, addr, &none));
  assert_non_null(strstr(mproc_last_error_detail(), "key"));

  /* The right key still connects, and finds what was published. */
  mproc_manager_opts_t right = opts_of(TEST_WAIT_MS);
  ASSERT_OK(mproc_manager_connect(&other, addr, &right));
  mproc_proxy_t *found;
  ASSERT_OK(mproc_manager_lookup(other, "d", &found));
  ASSERT_OK(mproc_dict_set(found, mproc_int(1), mproc_int(10)));
  assert_int_equal(dict_int(d, 1), 10);
  /* A proxy made through one handle may be published through the other. */
  ASSERT_OK(mproc_manager_publish(other, "d again", d));
  mproc_proxy_free(found);
  mproc_manager_free(other);
  mproc_proxy_free(d);
  mproc_manager_free(m);
}

/* A manager that wants a key, reached over tcp: without one is
 * MPROC_EAUTH too, not "not a manager". */
static void no_key_over_tcp_is_an_auth_failure(void **state) {
  (void)state;
  mproc_manager_opts_t o = opts_of(TEST_WAIT_MS);
  o.tcp_address = "tcp:127.0.0.1:0";
  mproc_manager_t *m;
  ASSERT_OK(mproc_manager_start(&m, &o));
  mproc_manager_t *other = NULL;
  mproc_manager_opts_t none = {0};
  none.timeout_ms = TEST_WAIT_MS;
  ASSERT_ERR(MPROC_EAUTH, mproc_manager_connect(&other, mproc_manager_tcp_address(m), &none));
  mproc_manager_free(m);
}

/* ---- timeouts -------------------------------------------------------------- */

/* Two handles to one manager keep their own call timeouts: the short one
 * gives up on a long call, the long one (connected first) waits it out. */
static void two_handles_keep_their_own_timeouts(void **state) {
  (void)state;
  mproc_manager_t *m = start_manager(0);
  const char *addr = mproc_manager_address(m);
  mproc_manager_opts_t slow = opts_of(TEST_WAIT_MS), quick = opts_of(300);
  mproc_manager_t *patient, *hasty;
  ASSERT_OK(mproc_manager_connect(&patient, addr, &slow));
  ASSERT_OK(mproc_manager_connect(&hasty, addr, &quick));
  mproc_proxy_t *n1, *n2;
  ASSERT_OK(mproc_manager_create(patient, "napper", NULL, &n1));
  ASSERT_OK(mproc_manager_create(hasty, "napper", NULL, &n2));
  int64_t t0 = now_ms();
  ASSERT_ERR(MPROC_ETIMEDOUT, nap(n2, 1500));
  assert_true(now_ms() - t0 < 1400);
  sleep_ms(1500);           /* the nap ends */
  ASSERT_OK(nap(n1, 1000)); /* 1 s is well inside the patient handle's 60 s */
  mproc_proxy_free(n1);
  mproc_proxy_free(n2);
  mproc_manager_free(hasty);
  mproc_manager_free(patient);
  mproc_manager_free(m);
}

/* A listener that takes connections and never says a word: connecting
 * ends at the caller's timeout, as a timeout, not a key refused. */
static void connecting_is_bounded_by_the_timeout(void **state) {
  (void)state;
  char addr[200];
  local_address(addr, sizeof addr, "mute");
  mproc_listener_t *mute;
  mproc_listener_opts_t lo = {.authkey = KEY, .authkey_len = sizeof KEY - 1};
  ASSERT_OK(mproc_listener_new(&mute, addr, &lo));
  mproc_manager_opts_t o = opts_of(400);
  mproc_manager_t *m = NULL;
  int64_t t0 = now_ms();
  ASSERT_ERR(MPROC_ETIMEDOUT, mproc_manager_connect(&m, addr, &o));
  int64_t took = now_ms() - t0;
  assert_true(took >= 300 && took < 5000);
  /* Without a key the greeting is what waits: bounded the same way. */
  o.authkey = NULL;
  o.authkey_len = 0;
  t0 = now_ms();
  ASSERT_ERR(MPROC_ETIMEDOUT, mproc_manager_connect(&m, addr, &o));
  assert_true(now_ms() - t0 < 5000);
  /* mproc_client_connect's own handshake timeout: a timeout too. */
  mproc_conn_t *c = NULL;
  mproc_client_opts_t co = {
      .authkey = KEY, .authkey_len = sizeof KEY - 1, .handshake_timeout_ms = 300};
  ASSERT_ERR(MPROC_ETIMEDOUT, mproc_client_connect(&c, addr, &co));
  mproc_listener_free(mute);
}

/* A call that times out against a stalled manager, then the reconnect
 * while it is still stalled: both end at the call timeout. */
static void a_stalled_manager_costs_the_timeout(void **state) {
  (void)state;
  mproc_manager_t *m = start_manager(0);
  mproc_manager_opts_t quick = opts_of(300);
  mproc_manager_t *hasty;
  ASSERT_OK(mproc_manager_connect(&hasty, mproc_manager_address(m), &quick));
  mproc_proxy_t *napper, *d;
  ASSERT_OK(mproc_manager_create(m, "napper", NULL, &napper));
  ASSERT_OK(mproc_manager_dict(hasty, &d));
  test_thread_t t;
  napping_t n;
  stall(&t, &n, napper, 3000);
  int64_t t0 = now_ms();
  ASSERT_ERR(MPROC_ETIMEDOUT, mproc_dict_set(d, mproc_int(1), mproc_int(1)));
  ASSERT_ERR(MPROC_ETIMEDOUT, mproc_dict_set(d, mproc_int(1), mproc_int(1)));
  assert_true(now_ms() - t0 < 2500);
  thread_join(&t);
  ASSERT_OK(n.rc);
  mproc_proxy_free(d);
  mproc_proxy_free(napper);
  mproc_manager_free(hasty);
  mproc_manager_free(m);
}

/* ---- what a process holds -------------------------------------------------- */

/* A call times out and its connection is dropped - this process's last
 * to the manager - while the manager is stalled. The process lives, so
 * what it holds does: the next call reconnects and finds it all. */
static void objects_outlive_a_dropped_connection(const char *tcp) {
  mproc_manager_opts_t o = opts_of(TEST_WAIT_MS);
  o.tcp_address = tcp;
  mproc_manager_t *m;
  ASSERT_OK(mproc_manager_start(&m, &o));
  const char *addr = tcp ? mproc_manager_tcp_address(m) : mproc_manager_address(m);
  mproc_manager_opts_t quick = opts_of(300);
  mproc_manager_t *hasty;
  ASSERT_OK(mproc_manager_connect(&hasty, addr, &quick));
  mproc_proxy_t *napper, *d, *l, *lock;
  ASSERT_OK(mproc_manager_create(m, "napper", NULL, &napper));
  ASSERT_OK(mproc_manager_dict(hasty, &d));
  ASSERT_OK(mproc_manager_list(hasty, &l));
  ASSERT_OK(mproc_manager_lock(hasty, &lock));
  ASSERT_OK(mproc_dict_set(d, mproc_int(1), mproc_int(11)));
  ASSERT_OK(mproc_list_append(l, mproc_int(22)));
  ASSERT_OK(mproc_proxy_acquire(lock, 0));

  test_thread_t t;
  napping_t n;
  stall(&t, &n, napper, 1000);
  ASSERT_ERR(MPROC_ETIMEDOUT, mproc_dict_set(d, mproc_int(2), mproc_int(2)));
  thread_join(&t);
  sleep_ms(500); /* the manager has seen the connection close by now */

  assert_int_equal(dict_int(d, 1), 11);
  mproc_args_t *v;
  ASSERT_OK(mproc_list_get(l, 0, &v));
  mproc_args_free(v);
  /* Still this process's lock: a second acquire waits, a release works. */
  ASSERT_ERR(MPROC_ETIMEDOUT, mproc_proxy_acquire(lock, 50));
  ASSERT_OK(mproc_proxy_release(lock));
  mproc_proxy_free(lock);
  mproc_proxy_free(l);
  mproc_proxy_free(d);
  mproc_proxy_free(napper);
  mproc_manager_free(hasty);
  mproc_manager_free(m);
}

static void objects_outlive_a_dropped_local_connection(void **state) {
  (void)state;
  objects_outlive_a_dropped_connection(NULL);
}

static void objects_outlive_a_dropped_tcp_connection(void **state) {
  (void)state;
  objects_outlive_a_dropped_connection("tcp:127.0.0.1:0");
}

/* args: (lock proxy): takes the lock and ends holding it. */
static int t_take_and_end(const mproc_args_t *args) {
  mproc_proxy_t *lock;
  if (mproc_args_get_proxy(args, 0, &lock) || mproc_proxy_acquire(lock, TEST_WAIT_MS))
    return 10;
  return 0;
}

/* The other half: a process that ends takes what it holds with it, and a
 * lock it held passes on promptly. */
static void a_dead_process_lets_go(void **state) {
  (void)state;
  mproc_manager_t *m = start_manager(0);
  mproc_proxy_t *lock;
  ASSERT_OK(mproc_manager_lock(m, &lock));
  mproc_args_t *a;
  ASSERT_OK(mproc_args_new(&a));
  ASSERT_OK(mproc_args_add_proxy(a, lock));
  assert_int_equal(run_child(t_take_and_end, a), 0);
  mproc_args_free(a);
  int64_t t0 = now_ms();
  ASSERT_ERR(MPROC_EOWNERDEAD, mproc_proxy_acquire(lock, TEST_WAIT_MS));
  assert_true(now_ms() - t0 < 2000);
  ASSERT_OK(mproc_proxy_release(lock));
  mproc_proxy_free(lock);
  mproc_manager_free(m);
}

/* ---- the manager's limit ---------------------------------------------------- */

static void a_request_over_the_limit_is_refused_here(void **state) {
  (void)state;
  mproc_manager_t *m = start_manager(65536);
  mproc_proxy_t *d;
  ASSERT_OK(mproc_manager_dict(m, &d));
  ASSERT_OK(mproc_dict_set(d, mproc_int(1), mproc_int(1)));
  size_t n = 100000;
  unsigned char *big = calloc(1, n);
  assert_non_null(big);
  ASSERT_ERR(MPROC_ETOOBIG, mproc_dict_set(d, mproc_int(2), mproc_bytes(big, n)));
  assert_non_null(strstr(mproc_last_error_detail(), "65536"));
  /* In a batch too: the batch is refused whole, before it is sent. */
  ASSERT_OK(mproc_manager_batch_begin(m));
  ASSERT_OK(mproc_dict_set(d, mproc_int(3), mproc_int(3)));
  ASSERT_OK(mproc_dict_set(d, mproc_int(4), mproc_bytes(big, n)));
  ASSERT_ERR(MPROC_ETOOBIG, mproc_manager_batch_run(m, NULL, 0));
  free(big);
  /* Nothing was lost: the dict is whole and the manager answers. */
  assert_int_equal(dict_int(d, 1), 1);
  assert_int_equal(mproc_dict_contains(d, mproc_int(3)), 0);
  ASSERT_OK(mproc_dict_set(d, mproc_bytes("k", 1), mproc_bytes("small", 5)));
  size_t len = 0;
  ASSERT_OK(mproc_dict_len(d, &len));
  assert_int_equal(len, 2);
  mproc_proxy_free(d);
  mproc_manager_free(m);
}

/* ---- a proxy given to a process ------------------------------------------------ */

/* args: (dict, results, round): uses the dict only after its creator has
 * freed every proxy to it; says how that went in results[round]. */
static int t_use_later(const mproc_args_t *args) {
  mproc_proxy_t *d, *results;
  int64_t round;
  if (mproc_args_get_proxy(args, 0, &d) || mproc_args_get_proxy(args, 1, &results) ||
      mproc_args_get_int(args, 2, &round))
    return 10;
  sleep_ms(300);
  int rc = mproc_dict_incr(d, mproc_str("n"), 1, NULL);
  return mproc_dict_set(results, mproc_int(round), mproc_int(rc)) ? 11 : 0;
}

/* The process object holds the proxies of its arguments until its child
 * has ended: the parent may free its own right after start - and free the
 * process object too, while the child runs. */
static void a_proxy_freed_after_start_still_reaches_the_child(void **state) {
  (void)state;
  mproc_manager_t *m = start_manager(0);
  mproc_proxy_t *results;
  ASSERT_OK(mproc_manager_dict(m, &results));
  mproc_process_t *p[2];
  for (int round = 0; round < 2; round++) {
    mproc_proxy_t *d; /* unpublished: only its proxies keep it */
    ASSERT_OK(mproc_manager_dict(m, &d));
    mproc_args_t *a;
    ASSERT_OK(mproc_args_new(&a));
    ASSERT_OK(mproc_args_add_proxy(a, d));
    ASSERT_OK(mproc_args_add_proxy(a, results));
    ASSERT_OK(mproc_args_add_int(a, round));
    p[round] = start_child(t_use_later, a);
    mproc_args_free(a);
    mproc_proxy_free(d);
    if (round == 1)
      mproc_process_free(p[round]); /* the child runs on, unowned */
  }
  assert_int_equal(finish_child(p[0]), 0);
  for (int64_t until = now_ms() + TEST_WAIT_MS;
       mproc_dict_contains(results, mproc_int(1)) != 1 && now_ms() < until;)
    sleep_ms(10);
  assert_int_equal(dict_int(results, 0), 0);
  assert_int_equal(dict_int(results, 1), 0);
  mproc_proxy_free(results);
  mproc_manager_free(m);
}

int main(int argc, char **argv) {
  mproc_main_guard(argc, argv);
  const struct CMUnitTest keys[] = {
      cmocka_unit_test(every_connect_proves_its_own_key),
      cmocka_unit_test(no_key_over_tcp_is_an_auth_failure),
  };
  const struct CMUnitTest timeouts[] = {
      cmocka_unit_test(two_handles_keep_their_own_timeouts),
      cmocka_unit_test(connecting_is_bounded_by_the_timeout),
      cmocka_unit_test(a_stalled_manager_costs_the_timeout),
  };
  const struct CMUnitTest holding[] = {
      cmocka_unit_test(objects_outlive_a_dropped_local_connection),
      cmocka_unit_test(objects_outlive_a_dropped_tcp_connection),
      cmocka_unit_test(a_dead_process_lets_go),
      cmocka_unit_test(a_request_over_the_limit_is_refused_here),
      cmocka_unit_test(a_proxy_freed_after_start_still_reaches_the_child),
  };
  const test_group_t groups[] = {TEST_GROUP("keys", keys), TEST_GROUP("timeouts", timeouts),
                                 TEST_GROUP("holding", holding)};
  return run_groups(argc, argv, groups, sizeof groups / sizeof groups[0]);
}
