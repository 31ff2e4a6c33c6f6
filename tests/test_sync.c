/* Synchronization objects: Python's semantics for each, across threads and
 * processes (under whatever start method MPROC_START_METHOD names), and a
 * holder's death. Shared counters live in files, touched only under the
 * lock being tested, so a broken lock loses increments. */
#include "test_util.h"

/* ---- helpers --------------------------------------------------------------- */

static int64_t read_counter(const char *path) {
  size_t n;
  unsigned char *b = read_file(path, &n);
  int64_t v = -1;
  if (b && n == sizeof v)
    memcpy(&v, b, sizeof v);
  free(b);
  return v;
}

static int write_counter(const char *path, int64_t v) { return write_file(path, &v, sizeof v); }

/* Acquire / release either kind of lock held in args[i]. */
static int acquire_any(const mproc_args_t *a, size_t i, int timeout_ms) {
  mproc_lock_t *l;
  mproc_rlock_t *r;
  if (mproc_args_get_lock(a, i, &l) == 0)
    return mproc_lock_acquire(l, timeout_ms);
  if (mproc_args_get_rlock(a, i, &r) == 0)
    return mproc_rlock_acquire(r, timeout_ms);
  return MPROC_ETYPE;
}

static int release_any(const mproc_args_t *a, size_t i) {
  mproc_lock_t *l;
  mproc_rlock_t *r;
  if (mproc_args_get_lock(a, i, &l) == 0)
    return mproc_lock_release(l);
  if (mproc_args_get_rlock(a, i, &r) == 0)
    return mproc_rlock_release(r);
  return MPROC_ETYPE;
}

/* A new Lock (or RLock when recursive), added to a as its next item. */
static void add_new_lock(mproc_args_t *a, bool recursive, mproc_lock_t **l, mproc_rlock_t **r) {
  if (recursive) {
    ASSERT_OK(mproc_rlock_new(r));
    ASSERT_OK(mproc_args_add_rlock(a, *r));
  } else {
    ASSERT_OK(mproc_lock_new(l));
    ASSERT_OK(mproc_args_add_lock(a, *l));
  }
}

/* ---- Lock and RLock ----------------------------------------------------------- */

typedef struct {
  mproc_lock_t *lock;
  mproc_rlock_t *rlock;
  int rc_acquire, rc_release;
} other_thread_t;

static void try_from_other_thread(void *p) {
  other_thread_t *o = p;
  if (o->lock) {
    o->rc_acquire = mproc_lock_acquire(o->lock, 0);
    o->rc_release = mproc_lock_release(o->lock); /* Python: anyone may release a Lock */
  } else {
    o->rc_acquire = mproc_rlock_acquire(o->rlock, 20);
    o->rc_release = mproc_rlock_release(o->rlock); /* ... but only its holder an RLock */
  }
}

static void lock_semantics(void **state) {
  mproc_lock_t *l;
  ASSERT_OK(mproc_lock_new(&l));
  ASSERT_ERR(MPROC_ESTATE, mproc_lock_release(l)); /* not locked */
  ASSERT_OK(mproc_lock_acquire(l, 0));
  ASSERT_ERR(MPROC_ETIMEDOUT, mproc_lock_acquire(l, 0));  /* not recursive */
  ASSERT_ERR(MPROC_ETIMEDOUT, mproc_lock_acquire(l, 30)); /* waits, then gives up */
  other_thread_t o = {l, NULL, 0, 0};
  test_thread_t t;
  thread_start(&t, try_from_other_thread, &o);
  thread_join(&t);
  assert_int_equal(o.rc_acquire, MPROC_ETIMEDOUT);
  assert_int_equal(o.rc_release, 0);
  ASSERT_OK(mproc_lock_acquire(l, 0)); /* the other thread released it */
  ASSERT_OK(mproc_lock_release(l));
  mproc_lock_free(l);
}

/* args: lock, rlock. Exits with what locked() says of each: 10 * lock + rlock. */
static int t_report_locked(const mproc_args_t *args) {
  mproc_lock_t *l;
  mproc_rlock_t *r;
  if (mproc_args_get_lock(args, 0, &l) || mproc_args_get_rlock(args, 1, &r))
    return 99;
  return 10 * mproc_lock_locked(l) + mproc_rlock_locked(r);
}

/* Python 3.14's Lock.locked(), for either kind, seen from any process. */
static void locked_tells_whether_held(void **state) {
  mproc_lock_t *l;
  mproc_rlock_t *r;
  ASSERT_OK(mproc_lock_new(&l));
  ASSERT_OK(mproc_rlock_new(&r));
  assert_int_equal(mproc_lock_locked(l), 0);
  assert_int_equal(mproc_rlock_locked(r), 0);
  mproc_args_t *a;
  ASSERT_OK(mproc_args_new(&a));
  ASSERT_OK(mproc_args_add_lock(a, l));
  ASSERT_OK(mproc_args_add_rlock(a, r));
  assert_int_equal(run_child(t_report_locked, a), 0);
  ASSERT_OK(mproc_lock_acquire(l, 0));
  assert_int_equal(mproc_lock_locked(l), 1);
  assert_int_equal(run_child(t_report_locked, a), 10);
  ASSERT_OK(mproc_rlock_acquire(r, 0));
  ASSERT_OK(mproc_rlock_acquire(r, 0));
  assert_int_equal(run_child(t_report_locked, a), 11);
  ASSERT_OK(mproc_rlock_release(r));
  assert_int_equal(mproc_rlock_locked(r), 1); /* one level still held */
  ASSERT_OK(mproc_rlock_release(r));
  ASSERT_OK(mproc_lock_release(l));
  assert_int_equal(mproc_lock_locked(l), 0);
  assert_int_equal(mproc_rlock_locked(r), 0);
  ASSERT_ERR(MPROC_EINVAL, mproc_lock_locked(NULL));
  ASSERT_ERR(MPROC_EINVAL, mproc_rlock_locked(NULL));
  mproc_args_free(a);
  mproc_lock_free(l);
  mproc_rlock_free(r);
}

static void rlock_semantics(void **state) {
  mproc_rlock_t *r;
  ASSERT_OK(mproc_rlock_new(&r));
  ASSERT_ERR(MPROC_ESTATE, mproc_rlock_release(r));
  ASSERT_OK(mproc_rlock_acquire(r, 0));
  ASSERT_OK(mproc_rlock_acquire(r, 0)); /* the holder counts levels */
  ASSERT_OK(mproc_rlock_acquire(r, MPROC_INFINITE));
  other_thread_t o = {NULL, r, 0, 0};
  test_thread_t t;
  thread_start(&t, try_from_other_thread, &o);
  thread_join(&t);
  assert_int_equal(o.rc_acquire, MPROC_ETIMEDOUT);
  assert_int_equal(o.rc_release, MPROC_ESTATE);
  ASSERT_OK(mproc_rlock_release(r));
  ASSERT_OK(mproc_rlock_release(r));
  ASSERT_OK(mproc_rlock_release(r));
  ASSERT_ERR(MPROC_ESTATE, mproc_rlock_release(r)); /* released as often as acquired */
  thread_start(&t, try_from_other_thread, &o);
  thread_join(&t);
  assert_int_equal(o.rc_acquire, 0); /* free now */
  assert_int_equal(o.rc_release, 0);
  mproc_rlock_free(r);
}

/* args: lock or rlock, counter path, increments. Read-modify-write of a
 * file: only mutual exclusion keeps every increment. */
static int t_increment(const mproc_args_t *args) {
  const char *path;
  int64_t n;
  if (mproc_args_get_str(args, 1, &path) || mproc_args_get_int(args, 2, &n))
    return 1;
  for (int64_t i = 0; i < n; i++) {
    if (acquire_any(args, 0, TEST_WAIT_MS) != 0)
      return 2;
    int64_t v = read_counter(path);
    if (v < 0 || write_counter(path, v + 1) != 0)
      return 3;
    if (release_any(args, 0) != 0)
      return 4;
  }
  return 0;
}

static void counter_under(bool recursive) {
  enum { PROCS = 4, EACH = 100 };
  char path[128];
  temp_name(path, sizeof path, "counter");
  ASSERT_OK(write_counter(path, 0));
  mproc_lock_t *l = NULL;
  mproc_rlock_t *r = NULL;
  mproc_args_t *a;
  ASSERT_OK(mproc_args_new(&a));
  add_new_lock(a, recursive, &l, &r);
  ASSERT_OK(mproc_args_add_str(a, path));
  ASSERT_OK(mproc_args_add_int(a, EACH));
  mproc_process_t *p[PROCS];
  for (int i = 0; i < PROCS; i++)
    p[i] = start_child(t_increment, a);
  for (int i = 0; i < PROCS; i++)
    assert_int_equal(finish_child(p[i]), 0);
  assert_int_equal(read_counter(path), PROCS * EACH);
  remove(path);
  mproc_args_free(a);
  mproc_lock_free(l);
  mproc_rlock_free(r);
}

static void mutual_exclusion_lock(void **state) { counter_under(false); }
static void mutual_exclusion_rlock(void **state) { counter_under(true); }

/* args: lock, tickets path. Buys until none are left; returns how many. */
static int t_buy_tickets(const mproc_args_t *args) {
  const char *path;
  if (mproc_args_get_str(args, 1, &path))
    return 255;
  int bought = 0;
  for (;;) {
    if (acquire_any(args, 0, TEST_WAIT_MS) != 0)
      return 255;
    int64_t left = read_counter(path);
    bool sold_out = left <= 0;
    if (!sold_out && write_counter(path, left - 1) == 0)
      bought++;
    release_any(args, 0);
    if (sold_out)
      return bought;
  }
}

/* The classic: 10 buyers, 100 tickets, none sold twice. */
static void ticket_buyers_never_oversell(void **state) {
  enum { BUYERS = 10, TICKETS = 100 };
  char path[128];
  temp_name(path, sizeof path, "tickets");
  ASSERT_OK(write_counter(path, TICKETS));
  mproc_lock_t *l;
  ASSERT_OK(mproc_lock_new(&l));
  mproc_args_t *a;
  ASSERT_OK(mproc_args_new(&a));
  ASSERT_OK(mproc_args_add_lock(a, l));
  ASSERT_OK(mproc_args_add_str(a, path));
  mproc_process_t *p[BUYERS];
  for (int i = 0; i < BUYERS; i++)
    p[i] = start_child(t_buy_tickets, a);
  int sold = 0;
  for (int i = 0; i < BUYERS; i++) {
    int bought = finish_child(p[i]);
    assert_in_range(bought, 0, TICKETS);
    sold += bought;
  }
  assert_int_equal(sold, TICKETS);
  assert_int_equal(read_counter(path), 0);
  remove(path);
  mproc_args_free(a);
  mproc_lock_free(l);
}

/* args: lock or rlock, event. Takes the lock (three levels of an RLock),
 * says so, and waits to be killed. */
static int t_hold_and_wait(const mproc_args_t *args) {
  mproc_event_t *e;
  if (mproc_args_get_event(args, 1, &e))
    return 1;
  for (int level = 0; level < (mproc_args_type(args, 0) == MPROC_T_RLOCK ? 3 : 1); level++)
    if (acquire_any(args, 0, TEST_WAIT_MS) != 0)
      return 2;
  mproc_event_set(e);
  sleep_ms(TEST_WAIT_MS);
  return 3;
}

static void holder_dies(bool recursive) {
  mproc_lock_t *l = NULL;
  mproc_rlock_t *r = NULL;
  mproc_event_t *e;
  mproc_args_t *a;
  ASSERT_OK(mproc_event_new(&e));
  ASSERT_OK(mproc_args_new(&a));
  add_new_lock(a, recursive, &l, &r);
  ASSERT_OK(mproc_args_add_event(a, e));
  mproc_process_t *p = start_child(t_hold_and_wait, a);
  ASSERT_OK(mproc_event_wait(e, TEST_WAIT_MS));
  ASSERT_ERR(MPROC_ETIMEDOUT, acquire_any(a, 0, 0)); /* held by the child */
  ASSERT_OK(mproc_process_kill(p));
  /* Not joined yet: on POSIX it is a zombie until then, and still dead. */
  int64_t t0 = now_ms();
  ASSERT_ERR(MPROC_EOWNERDEAD, acquire_any(a, 0, TEST_WAIT_MS));
  int64_t took = now_ms() - t0;
  assert_true(strstr(mproc_last_error_detail(), "died holding it") != NULL);
  assert_in_range(took, 0, 1000); /* the bound: within one second */
  /* The caller holds it (at one level); after release it works as ever. */
  ASSERT_OK(release_any(a, 0));
  ASSERT_ERR(MPROC_ESTATE, release_any(a, 0));
  ASSERT_OK(acquire_any(a, 0, 0));
  ASSERT_OK(release_any(a, 0));
  int code = finish_child(p);
  assert_true(code != 0 && code != 3); /* killed, not ended on its own */
  mproc_args_free(a);
  mproc_event_free(e);
  mproc_lock_free(l);
  mproc_rlock_free(r);
}

static void lock_holder_dies(void **state) { holder_dies(false); }
static void rlock_holder_dies(void **state) { holder_dies(true); }

/* ---- Semaphore ------------------------------------------------------------------- */

/* args: semaphore, count. Releases it count times. */
static int t_release_sem(const mproc_args_t *args) {
  mproc_sem_t *s;
  int64_t n;
  if (mproc_args_get_sem(args, 0, &s) || mproc_args_get_int(args, 1, &n))
    return 1;
  for (int64_t i = 0; i < n; i++)
    if (mproc_sem_release(s) != 0)
      return 2;
  return 0;
}

static void semaphore_semantics(void **state) {
  mproc_sem_t *s;
  ASSERT_OK(mproc_sem_new(&s, 2, NULL));
  assert_int_equal(mproc_sem_value(s), 2);
  ASSERT_OK(mproc_sem_acquire(s, 0));
  ASSERT_OK(mproc_sem_acquire(s, 0));
  ASSERT_ERR(MPROC_ETIMEDOUT, mproc_sem_acquire(s, 0));
  ASSERT_ERR(MPROC_ETIMEDOUT, mproc_sem_acquire(s, 30));
  ASSERT_OK(mproc_sem_release(s));
  ASSERT_OK(mproc_sem_release(s));
  ASSERT_OK(mproc_sem_release(s)); /* unbounded: above the initial value */
  assert_int_equal(mproc_sem_value(s), 3);
  mproc_sem_free(s);

  mproc_sem_opts_t bounded = {.bounded = true};
  ASSERT_OK(mproc_sem_new(&s, 1, &bounded));
  ASSERT_ERR(MPROC_ERANGE, mproc_sem_release(s)); /* BoundedSemaphore */
  assert_int_equal(mproc_sem_value(s), 1);
  ASSERT_OK(mproc_sem_acquire(s, 0));
  ASSERT_OK(mproc_sem_release(s));
  mproc_sem_free(s);
}

/* A child's releases wake this process's acquires. */
static void semaphore_across_processes(void **state) {
  enum { N = 50 };
  mproc_sem_t *s;
  ASSERT_OK(mproc_sem_new(&s, 0, NULL));
  mproc_args_t *a;
  ASSERT_OK(mproc_args_new(&a));
  ASSERT_OK(mproc_args_add_sem(a, s));
  ASSERT_OK(mproc_args_add_int(a, N));
  mproc_process_t *p = start_child(t_release_sem, a);
  for (int i = 0; i < N; i++)
    ASSERT_OK(mproc_sem_acquire(s, TEST_WAIT_MS));
  assert_int_equal(finish_child(p), 0);
  assert_int_equal(mproc_sem_value(s), 0);
  mproc_args_free(a);
  mproc_sem_free(s);
}

/* ---- Event ------------------------------------------------------------------------- */

/* args: event to wait for, event to set once it is. */
static int t_event_relay(const mproc_args_t *args) {
  mproc_event_t *in, *out;
  if (mproc_args_get_event(args, 0, &in) || mproc_args_get_event(args, 1, &out))
    return 1;
  if (mproc_event_wait(in, TEST_WAIT_MS) != 0)
    return 2;
  return mproc_event_set(out) ? 3 : 0;
}

static void event_semantics(void **state) {
  mproc_event_t *in, *out;
  ASSERT_OK(mproc_event_new(&in));
  ASSERT_OK(mproc_event_new(&out));
  assert_int_equal(mproc_event_is_set(in), 0);
  ASSERT_ERR(MPROC_ETIMEDOUT, mproc_event_wait(in, 0));
  ASSERT_ERR(MPROC_ETIMEDOUT, mproc_event_wait(in, 30));
  mproc_args_t *a;
  ASSERT_OK(mproc_args_new(&a));
  ASSERT_OK(mproc_args_add_event(a, in));
  ASSERT_OK(mproc_args_add_event(a, out));
  mproc_process_t *p = start_child(t_event_relay, a);
  ASSERT_OK(mproc_event_set(in));
  ASSERT_OK(mproc_event_set(in)); /* setting twice is harmless */
  ASSERT_OK(mproc_event_wait(out, TEST_WAIT_MS));
  assert_int_equal(finish_child(p), 0);
  assert_int_equal(mproc_event_is_set(out), 1);
  ASSERT_OK(mproc_event_wait(out, 0));
  ASSERT_OK(mproc_event_clear(out));
  assert_int_equal(mproc_event_is_set(out), 0);
  mproc_args_free(a);
  mproc_event_free(in);
  mproc_event_free(out);
}

/* ---- Condition ------------------------------------------------------------------------- */

/* args: cond, counter path, items. Produces items one by one, notifying. */
static int t_produce(const mproc_args_t *args) {
  mproc_cond_t *c;
  const char *path;
  int64_t n;
  if (mproc_args_get_cond(args, 0, &c) || mproc_args_get_str(args, 1, &path) ||
      mproc_args_get_int(args, 2, &n))
    return 1;
  for (int64_t i = 0; i < n; i++) {
    if (mproc_cond_acquire(c, TEST_WAIT_MS) != 0)
      return 2;
    write_counter(path, read_counter(path) + 1);
    int rc = mproc_cond_notify(c, 1);
    mproc_cond_release(c);
    if (rc)
      return 3;
  }
  return 0;
}

static void producer_consumer(bool recursive) {
  enum { ITEMS = 200 };
  char path[128];
  temp_name(path, sizeof path, "items");
  ASSERT_OK(write_counter(path, 0));
  mproc_cond_t *c;
  if (recursive)
    ASSERT_OK(mproc_cond_new(&c, NULL)); /* Python's default: an RLock */
  else {
    mproc_lock_t *l;
    ASSERT_OK(mproc_lock_new(&l));
    ASSERT_OK(mproc_cond_new(&c, l));
    mproc_lock_free(l); /* the condition holds its own reference */
  }
  mproc_args_t *a;
  ASSERT_OK(mproc_args_new(&a));
  ASSERT_OK(mproc_args_add_cond(a, c));
  ASSERT_OK(mproc_args_add_str(a, path));
  ASSERT_OK(mproc_args_add_int(a, ITEMS));
  ASSERT_OK(mproc_cond_acquire(c, TEST_WAIT_MS));
  mproc_process_t *p = start_child(t_produce, a);
  int64_t consumed = 0;
  while (consumed < ITEMS) {
    int64_t have = read_counter(path);
    if (have > consumed) {
      consumed = have; /* take them all */
      continue;
    }
    ASSERT_OK(mproc_cond_wait(c, TEST_WAIT_MS));
  }
  ASSERT_OK(mproc_cond_release(c));
  assert_int_equal(finish_child(p), 0);
  assert_int_equal(read_counter(path), ITEMS);
  remove(path);
  mproc_args_free(a);
  mproc_cond_free(c);
}

static void condition_producer_consumer_lock(void **state) { producer_consumer(false); }
static void condition_producer_consumer_rlock(void **state) { producer_consumer(true); }

/* A condition over a caller's RLock: wait gives up every level and takes
 * them all back. */
static void condition_over_an_rlock(void **state) {
  mproc_rlock_t *r;
  mproc_cond_t *c;
  ASSERT_OK(mproc_rlock_new(&r));
  ASSERT_OK(mproc_cond_new_rlock(&c, r));
  ASSERT_OK(mproc_rlock_acquire(r, 0));
  ASSERT_OK(mproc_cond_acquire(c, 0)); /* the same lock: a second level */
  ASSERT_ERR(MPROC_ETIMEDOUT, mproc_cond_wait(c, 10));
  ASSERT_OK(mproc_cond_release(c));
  ASSERT_OK(mproc_rlock_release(r)); /* both levels came back */
  ASSERT_ERR(MPROC_ESTATE, mproc_rlock_release(r));
  mproc_cond_free(c);
  mproc_rlock_free(r);
}

/* args: cond, semaphore. Waits on the condition after saying it will;
 * exits 10 when notified, 20 when it timed out. */
static int t_cond_waiter(const mproc_args_t *args) {
  mproc_cond_t *c;
  mproc_sem_t *ready;
  if (mproc_args_get_cond(args, 0, &c) || mproc_args_get_sem(args, 1, &ready))
    return 1;
  if (mproc_cond_acquire(c, TEST_WAIT_MS))
    return 2;
  mproc_sem_release(ready);
  int rc = mproc_cond_wait(c, 3000);
  mproc_cond_release(c);
  return rc == 0 ? 10 : rc == MPROC_ETIMEDOUT ? 20 : 3;
}

/* notify(n) wakes at most n; notify_all wakes the rest. */
static void condition_notify_counts(void **state) {
  enum { WAITERS = 3 };
  mproc_cond_t *c;
  mproc_sem_t *ready;
  ASSERT_OK(mproc_cond_new(&c, NULL));
  ASSERT_OK(mproc_sem_new(&ready, 0, NULL));
  ASSERT_ERR(MPROC_ESTATE, mproc_cond_wait(c, 0));   /* without the lock */
  ASSERT_ERR(MPROC_ESTATE, mproc_cond_notify(c, 1)); /* likewise */
  ASSERT_OK(mproc_cond_acquire(c, 0));
  ASSERT_OK(mproc_cond_notify(c, 1)); /* nobody waits: nothing happens */
  ASSERT_ERR(MPROC_ETIMEDOUT, mproc_cond_wait(c, 20));
  ASSERT_OK(mproc_cond_release(c));
  for (int round = 0; round < 2; round++) {
    mproc_args_t *a;
    ASSERT_OK(mproc_args_new(&a));
    ASSERT_OK(mproc_args_add_cond(a, c));
    ASSERT_OK(mproc_args_add_sem(a, ready));
    mproc_process_t *p[WAITERS];
    for (int i = 0; i < WAITERS; i++)
      p[i] = start_child(t_cond_waiter, a);
    for (int i = 0; i < WAITERS; i++)
      ASSERT_OK(mproc_sem_acquire(ready, TEST_WAIT_MS));
    /* Each released `ready` holding the lock, so once we hold it, all wait. */
    ASSERT_OK(mproc_cond_acquire(c, TEST_WAIT_MS));
    if (round == 0)
      ASSERT_OK(mproc_cond_notify(c, 2));
    else
      ASSERT_OK(mproc_cond_notify_all(c));
    ASSERT_OK(mproc_cond_release(c));
    int notified = 0, timed_out = 0;
    for (int i = 0; i < WAITERS; i++) {
      int code = finish_child(p[i]);
      notified += code == 10;
      timed_out += code == 20;
    }
    assert_int_equal(notified, round == 0 ? 2 : WAITERS);
    assert_int_equal(timed_out, round == 0 ? 1 : 0);
    mproc_args_free(a);
  }
  mproc_sem_free(ready);
  mproc_cond_free(c);
}

/* Python's semantics: a notify wakes a waiter that was already waiting,
 * never the notifier's own later wait. A waits first; B notifies once and
 * then waits itself: A is notified, B times out. */
static void notify_wakes_the_earlier_waiter_not_the_notifier(void **state) {
  mproc_cond_t *c;
  mproc_sem_t *ready;
  ASSERT_OK(mproc_cond_new(&c, NULL));
  ASSERT_OK(mproc_sem_new(&ready, 0, NULL));
  mproc_args_t *a;
  ASSERT_OK(mproc_args_new(&a));
  ASSERT_OK(mproc_args_add_cond(a, c));
  ASSERT_OK(mproc_args_add_sem(a, ready));
  mproc_process_t *waiter = start_child(t_cond_waiter, a);
  ASSERT_OK(mproc_sem_acquire(ready, TEST_WAIT_MS));
  ASSERT_OK(mproc_cond_acquire(c, TEST_WAIT_MS)); /* so the child waits now */
  ASSERT_OK(mproc_cond_notify(c, 1));
  int64_t t0 = now_ms();
  ASSERT_ERR(MPROC_ETIMEDOUT, mproc_cond_wait(c, 300));
  assert_true(now_ms() - t0 >= 250);
  ASSERT_OK(mproc_cond_release(c));
  assert_int_equal(finish_child(waiter), 10); /* notified, not timed out */
  mproc_args_free(a);
  mproc_sem_free(ready);
  mproc_cond_free(c);
}

/* The same within one process: two threads. */
typedef struct {
  mproc_cond_t *c;
  mproc_sem_t *ready;
  int rc;
} cond_thread_t;

static void cond_waiter_thread(void *p) {
  cond_thread_t *t = p;
  if (mproc_cond_acquire(t->c, TEST_WAIT_MS) != 0) {
    t->rc = -1;
    return;
  }
  mproc_sem_release(t->ready);
  t->rc = mproc_cond_wait(t->c, TEST_WAIT_MS);
  mproc_cond_release(t->c);
}

static void notify_wakes_the_earlier_waiting_thread(void **state) {
  cond_thread_t t = {NULL, NULL, 99};
  ASSERT_OK(mproc_cond_new(&t.c, NULL));
  ASSERT_OK(mproc_sem_new(&t.ready, 0, NULL));
  for (int round = 0; round < 20; round++) {
    test_thread_t th;
    thread_start(&th, cond_waiter_thread, &t);
    ASSERT_OK(mproc_sem_acquire(t.ready, TEST_WAIT_MS));
    ASSERT_OK(mproc_cond_acquire(t.c, TEST_WAIT_MS));
    ASSERT_OK(mproc_cond_notify(t.c, 1));
    ASSERT_ERR(MPROC_ETIMEDOUT, mproc_cond_wait(t.c, 20));
    ASSERT_OK(mproc_cond_release(t.c));
    thread_join(&th);
    assert_int_equal(t.rc, 0);
  }
  mproc_sem_free(t.ready);
  mproc_cond_free(t.c);
}

/* Condition.wait_for's pattern, the one Python's tests hang on when a
 * notifier can take its own notification: two processes take turns on a
 * shared turn number, each setting it, notifying, and waiting for the
 * other's reply. */
typedef struct {
  mproc_value_t *turn;
  int64_t want;
} turn_is_t;

static bool turn_is(void *ctx) {
  turn_is_t *t = ctx;
  int64_t v;
  return mproc_value_load(t->turn, &v) == 0 && v == t->want;
}

enum { TURNS = 500 };

/* args: cond, turn, parity. Plays the odd turns (parity 1). */
static int t_take_turns(const mproc_args_t *args) {
  mproc_cond_t *c;
  mproc_value_t *turn;
  int64_t parity;
  if (mproc_args_get_cond(args, 0, &c) || mproc_args_get_value(args, 1, &turn) ||
      mproc_args_get_int(args, 2, &parity))
    return 1;
  if (mproc_cond_acquire(c, TEST_WAIT_MS))
    return 2;
  for (int64_t i = parity; i < TURNS; i += 2) {
    turn_is_t t = {turn, i};
    if (mproc_cond_wait_for(c, turn_is, &t, TEST_WAIT_MS) != 0)
      return 3;
    mproc_value_store(turn, i + 1);
    if (mproc_cond_notify(c, 1))
      return 4;
  }
  mproc_cond_release(c);
  return 0;
}

static void wait_for_reply_never_hangs(void **state) {
  mproc_cond_t *c;
  mproc_value_t *turn;
  ASSERT_OK(mproc_cond_new(&c, NULL));
  ASSERT_OK(mproc_value_new(&turn, MPROC_T_I64, &(mproc_value_opts_t){.lock = MPROC_NO_LOCK}));
  mproc_args_t *a;
  ASSERT_OK(mproc_args_new(&a));
  ASSERT_OK(mproc_args_add_cond(a, c));
  ASSERT_OK(mproc_args_add_value(a, turn));
  ASSERT_OK(mproc_args_add_int(a, 1));
  mproc_process_t *p = start_child(t_take_turns, a);
  mproc_args_t *mine;
  ASSERT_OK(mproc_args_new(&mine));
  ASSERT_OK(mproc_args_add_cond(mine, c));
  ASSERT_OK(mproc_args_add_value(mine, turn));
  ASSERT_OK(mproc_args_add_int(mine, 0));
  assert_int_equal(t_take_turns(mine), 0);
  assert_int_equal(finish_child(p), 0);
  int64_t v;
  ASSERT_OK(mproc_value_load(turn, &v));
  assert_int_equal(v, TURNS);
  mproc_args_free(mine);
  mproc_args_free(a);
  mproc_value_free(turn);
  mproc_cond_free(c);
}

static bool never(void *ctx) {
  (*(int *)ctx)++;
  return false;
}

static bool always(void *ctx) {
  (*(int *)ctx)++;
  return true;
}

static void wait_for_semantics(void **state) {
  mproc_cond_t *c;
  ASSERT_OK(mproc_cond_new(&c, NULL));
  int calls = 0;
  ASSERT_ERR(MPROC_ESTATE, mproc_cond_wait_for(c, always, &calls, 0)); /* lock not held */
  ASSERT_OK(mproc_cond_acquire(c, 0));
  ASSERT_OK(mproc_cond_wait_for(c, always, &calls, MPROC_INFINITE)); /* true at once */
  assert_int_equal(calls, 1);
  calls = 0;
  int64_t t0 = now_ms();
  ASSERT_ERR(MPROC_ETIMEDOUT, mproc_cond_wait_for(c, never, &calls, 50));
  assert_true(now_ms() - t0 >= 40);
  assert_true(calls >= 1);
  ASSERT_ERR(MPROC_EINVAL, mproc_cond_wait_for(c, NULL, NULL, 0));
  ASSERT_OK(mproc_cond_release(c)); /* held again after every return */
  ASSERT_ERR(MPROC_EINVAL, mproc_cond_wait_for(NULL, always, &calls, 0));
  mproc_cond_free(c);
}

/* ---- Barrier ------------------------------------------------------------------------------- */

typedef struct {
  mproc_barrier_t *b;
  int timeout_ms;
  unsigned index;
  int rc;
} barrier_thread_t;

static void barrier_thread(void *p) {
  barrier_thread_t *t = p;
  t->rc = mproc_barrier_wait(t->b, t->timeout_ms, &t->index);
}

static void barrier_semantics(void **state) {
  mproc_barrier_t *b;
  ASSERT_OK(mproc_barrier_new(&b, 3));
  assert_int_equal(mproc_barrier_parties(b), 3);
  /* Three threads: distinct indices 0..2, twice (the barrier re-opens). */
  for (int round = 0; round < 2; round++) {
    barrier_thread_t t[3];
    test_thread_t th[3];
    for (int i = 0; i < 3; i++) {
      t[i] = (barrier_thread_t){b, TEST_WAIT_MS, 99, -1};
      thread_start(&th[i], barrier_thread, &t[i]);
    }
    unsigned seen = 0;
    for (int i = 0; i < 3; i++) {
      thread_join(&th[i]);
      assert_int_equal(t[i].rc, 0);
      assert_in_range(t[i].index, 0, 2);
      seen |= 1u << t[i].index;
    }
    assert_int_equal(seen, 7u);
  }
  /* A timeout breaks it for everyone, until reset. */
  ASSERT_ERR(MPROC_EBROKEN, mproc_barrier_wait(b, 20, NULL));
  assert_int_equal(mproc_barrier_broken(b), 1);
  ASSERT_ERR(MPROC_EBROKEN, mproc_barrier_wait(b, TEST_WAIT_MS, NULL));
  ASSERT_OK(mproc_barrier_reset(b));
  assert_int_equal(mproc_barrier_broken(b), 0);
  /* abort and reset release a waiter with MPROC_EBROKEN. */
  for (int how = 0; how < 2; how++) {
    barrier_thread_t t = {b, TEST_WAIT_MS, 99, -1};
    test_thread_t th;
    thread_start(&th, barrier_thread, &t);
    for (int i = 0; i < TEST_WAIT_MS && mproc_barrier_n_waiting(b) == 0; i++)
      sleep_ms(1);
    assert_int_equal(mproc_barrier_n_waiting(b), 1);
    ASSERT_OK(how == 0 ? mproc_barrier_abort(b) : mproc_barrier_reset(b));
    thread_join(&th);
    assert_int_equal(t.rc, MPROC_EBROKEN);
    ASSERT_OK(mproc_barrier_reset(b));
  }
  assert_int_equal(mproc_barrier_n_waiting(b), 0);
  mproc_barrier_free(b);
}

enum { ROUNDS = 1000, PARTIES = 4 };

/* args: barrier, path. Waits ROUNDS times, writes the indices it got. */
static int t_barrier_rounds(const mproc_args_t *args) {
  mproc_barrier_t *b;
  const char *path;
  if (mproc_args_get_barrier(args, 0, &b) || mproc_args_get_str(args, 1, &path))
    return 1;
  unsigned char got[ROUNDS];
  for (int r = 0; r < ROUNDS; r++) {
    unsigned index;
    if (mproc_barrier_wait(b, TEST_WAIT_MS, &index) != 0)
      return 2;
    got[r] = (unsigned char)index;
  }
  return write_file(path, got, sizeof got) ? 3 : 0;
}

/* 4 processes, 1000 rounds: every round hands out 0..3 once each. */
static void barrier_rounds_across_processes(void **state) {
  mproc_barrier_t *b;
  ASSERT_OK(mproc_barrier_new(&b, PARTIES));
  char path[PARTIES][128];
  mproc_process_t *p[PARTIES];
  for (int i = 0; i < PARTIES; i++) {
    temp_name(path[i], sizeof path[i], "rounds");
    mproc_args_t *a;
    ASSERT_OK(mproc_args_new(&a));
    ASSERT_OK(mproc_args_add_barrier(a, b));
    ASSERT_OK(mproc_args_add_str(a, path[i]));
    p[i] = start_child(t_barrier_rounds, a);
    mproc_args_free(a);
  }
  unsigned char *got[PARTIES];
  for (int i = 0; i < PARTIES; i++) {
    assert_int_equal(finish_child(p[i]), 0);
    size_t n = 0;
    got[i] = read_file(path[i], &n);
    assert_non_null(got[i]);
    assert_int_equal(n, ROUNDS);
    remove(path[i]);
  }
  for (int r = 0; r < ROUNDS; r++) {
    unsigned seen = 0;
    for (int i = 0; i < PARTIES; i++)
      seen |= 1u << got[i][r];
    assert_int_equal(seen, (1u << PARTIES) - 1);
  }
  for (int i = 0; i < PARTIES; i++)
    free(got[i]);
  mproc_barrier_free(b);
}

/* The action runs in the last process to arrive, once per round, before
 * anyone leaves; it counts rounds in a file named after the test's root
 * process. */
static char action_counter[128];

static void name_action_counter(int64_t root) {
  snprintf(action_counter, sizeof action_counter, "mproc-test-action-%lld.tmp", (long long)root);
}

static int count_round(void) {
  return write_counter(action_counter, read_counter(action_counter) + 1) ? 1 : 0;
}

enum { ACTION_ROUNDS = 20 };

/* args: barrier. Waits ACTION_ROUNDS times; after round r the action has
 * run r + 1 times. */
static int t_barrier_action_rounds(const mproc_args_t *args) {
  mproc_barrier_t *b;
  if (mproc_args_get_barrier(args, 0, &b))
    return 1;
  name_action_counter(mproc_parent_pid());
  for (int r = 0; r < ACTION_ROUNDS; r++) {
    if (mproc_barrier_wait(b, MPROC_DEFAULT_TIMEOUT, NULL) != 0)
      return 2;
    if (read_counter(action_counter) < r + 1)
      return 3;
  }
  return 0;
}

static void barrier_action_runs_once_per_round_in_one_process(void **state) {
  name_action_counter(mproc_current_pid());
  ASSERT_OK(write_counter(action_counter, 0));
  mproc_barrier_t *b;
  mproc_barrier_opts_t o = {.action = count_round, .timeout_ms = TEST_WAIT_MS};
  ASSERT_OK(mproc_barrier_new_opts(&b, 3, &o));
  assert_int_equal(mproc_barrier_timeout(b), TEST_WAIT_MS);
  mproc_args_t *a;
  ASSERT_OK(mproc_args_new(&a));
  ASSERT_OK(mproc_args_add_barrier(a, b));
  mproc_process_t *p1 = start_child(t_barrier_action_rounds, a);
  mproc_process_t *p2 = start_child(t_barrier_action_rounds, a);
  for (int r = 0; r < ACTION_ROUNDS; r++) {
    ASSERT_OK(mproc_barrier_wait(b, MPROC_DEFAULT_TIMEOUT, NULL));
    assert_true(read_counter(action_counter) >= r + 1);
  }
  assert_int_equal(finish_child(p1), 0);
  assert_int_equal(finish_child(p2), 0);
  assert_int_equal(read_counter(action_counter), ACTION_ROUNDS);
  remove(action_counter);
  mproc_args_free(a);
  mproc_barrier_free(b);
}

static int failing_action(void) { return 7; }

static void barrier_action_failure_and_default_timeout(void **state) {
  mproc_barrier_t *b;
  /* A failing action breaks the barrier for everyone. */
  ASSERT_OK(mproc_barrier_new_opts(&b, 2, &(mproc_barrier_opts_t){.action = failing_action}));
  assert_int_equal(mproc_barrier_timeout(b), MPROC_INFINITE);
  barrier_thread_t t = {b, TEST_WAIT_MS, 99, -1};
  test_thread_t th;
  thread_start(&th, barrier_thread, &t);
  int rc = mproc_barrier_wait(b, TEST_WAIT_MS, NULL);
  thread_join(&th);
  assert_int_equal(rc, MPROC_EBROKEN);
  assert_int_equal(t.rc, MPROC_EBROKEN);
  assert_int_equal(mproc_barrier_broken(b), 1);
  mproc_barrier_free(b);
  /* The default timeout applies to MPROC_DEFAULT_TIMEOUT waits only. */
  ASSERT_OK(mproc_barrier_new_opts(&b, 2, &(mproc_barrier_opts_t){.timeout_ms = 30}));
  assert_int_equal(mproc_barrier_timeout(b), 30);
  int64_t t0 = now_ms();
  ASSERT_ERR(MPROC_EBROKEN, mproc_barrier_wait(b, MPROC_DEFAULT_TIMEOUT, NULL));
  assert_true(now_ms() - t0 >= 25);
  ASSERT_ERR(MPROC_EINVAL, mproc_barrier_wait(b, -7, NULL));
  mproc_barrier_free(b);
  ASSERT_ERR(MPROC_EINVAL,
             mproc_barrier_new_opts(&b, 2, &(mproc_barrier_opts_t){.timeout_ms = -5}));
  ASSERT_ERR(MPROC_EINVAL, mproc_barrier_new_opts(NULL, 2, NULL));
  ASSERT_ERR(MPROC_EINVAL, mproc_barrier_timeout(NULL));
}

/* ---- as arguments, and bad input --------------------------------------------------------------
 */

/* args: lock, rlock, sem, cond, event, barrier(2). Uses each. */
static int t_use_everything(const mproc_args_t *args) {
  mproc_lock_t *l;
  mproc_rlock_t *r;
  mproc_sem_t *s;
  mproc_cond_t *c;
  mproc_event_t *e;
  mproc_barrier_t *b;
  if (mproc_args_get_lock(args, 0, &l) || mproc_args_get_rlock(args, 1, &r) ||
      mproc_args_get_sem(args, 2, &s) || mproc_args_get_cond(args, 3, &c) ||
      mproc_args_get_event(args, 4, &e) || mproc_args_get_barrier(args, 5, &b))
    return 1;
  if (mproc_lock_acquire(l, TEST_WAIT_MS) || mproc_lock_release(l) ||
      mproc_rlock_acquire(r, TEST_WAIT_MS) || mproc_rlock_release(r))
    return 2;
  if (mproc_cond_acquire(c, TEST_WAIT_MS) || mproc_cond_notify_all(c) || mproc_cond_release(c))
    return 3;
  if (mproc_sem_release(s) || mproc_event_set(e))
    return 4;
  unsigned index;
  return mproc_barrier_wait(b, TEST_WAIT_MS, &index) ? 5 : (int)(10 + index);
}

static void every_object_crosses(void **state) {
  mproc_lock_t *l;
  mproc_rlock_t *r;
  mproc_sem_t *s;
  mproc_cond_t *c;
  mproc_event_t *e;
  mproc_barrier_t *b;
  ASSERT_OK(mproc_lock_new(&l));
  ASSERT_OK(mproc_rlock_new(&r));
  ASSERT_OK(mproc_sem_new(&s, 0, NULL));
  ASSERT_OK(mproc_cond_new(&c, l));
  ASSERT_OK(mproc_event_new(&e));
  ASSERT_OK(mproc_barrier_new(&b, 2));
  mproc_args_t *a;
  ASSERT_OK(mproc_args_new(&a));
  ASSERT_OK(mproc_args_add_lock(a, l));
  ASSERT_OK(mproc_args_add_rlock(a, r));
  ASSERT_OK(mproc_args_add_sem(a, s));
  ASSERT_OK(mproc_args_add_cond(a, c));
  ASSERT_OK(mproc_args_add_event(a, e));
  ASSERT_OK(mproc_args_add_barrier(a, b));
  assert_int_equal(mproc_args_type(a, 3), MPROC_T_COND);
  mproc_sem_t *wrong;
  ASSERT_ERR(MPROC_ETYPE, mproc_args_get_sem(a, 0, &wrong));
  ASSERT_ERR(MPROC_ERANGE, mproc_args_get_sem(a, 6, &wrong));
  void *buf;
  size_t len;
  ASSERT_ERR(MPROC_ENOTSUP, mproc_args_encode(a, &buf, &len)); /* only children get objects */
  /* Nested tuples hold their own references. */
  mproc_args_t *outer;
  ASSERT_OK(mproc_args_new(&outer));
  ASSERT_OK(mproc_args_add_args(outer, a));
  mproc_args_free(a);
  mproc_lock_free(l); /* the tuple keeps every object alive */
  mproc_rlock_free(r);
  mproc_cond_free(c);
  const mproc_args_t *inner;
  ASSERT_OK(mproc_args_get_args(outer, 0, &inner));
  mproc_process_t *p = start_child(t_use_everything, (mproc_args_t *)inner);
  ASSERT_OK(mproc_sem_acquire(s, TEST_WAIT_MS));
  ASSERT_OK(mproc_event_wait(e, TEST_WAIT_MS));
  unsigned index;
  ASSERT_OK(mproc_barrier_wait(b, TEST_WAIT_MS, &index));
  int code = finish_child(p);
  assert_true((code == 10 && index == 1) || (code == 11 && index == 0));
  mproc_args_free(outer);
  mproc_sem_free(s);
  mproc_event_free(e);
  mproc_barrier_free(b);
}

/* One rule for timeouts everywhere: MPROC_INFINITE, 0 or milliseconds;
 * any other negative value is MPROC_EINVAL (it used to mean "for ever"
 * here and "invalid" in connections and queues). */
static void negative_timeouts_are_refused(void **state) {
  (void)state;
  mproc_lock_t *l;
  mproc_rlock_t *r;
  mproc_sem_t *s;
  mproc_event_t *e;
  mproc_cond_t *c;
  mproc_barrier_t *b;
  ASSERT_OK(mproc_lock_new(&l));
  ASSERT_OK(mproc_rlock_new(&r));
  ASSERT_OK(mproc_sem_new(&s, 0, NULL));
  ASSERT_OK(mproc_event_new(&e));
  ASSERT_OK(mproc_cond_new_rlock(&c, NULL));
  ASSERT_OK(mproc_barrier_new(&b, 2));
  const int bad[] = {-2, -5, -1000};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    ASSERT_ERR(MPROC_EINVAL, mproc_lock_acquire(l, bad[i]));
    ASSERT_ERR(MPROC_EINVAL, mproc_rlock_acquire(r, bad[i]));
    ASSERT_ERR(MPROC_EINVAL, mproc_sem_acquire(s, bad[i]));
    ASSERT_ERR(MPROC_EINVAL, mproc_event_wait(e, bad[i]));
    ASSERT_ERR(MPROC_EINVAL, mproc_cond_acquire(c, bad[i]));
    ASSERT_OK(mproc_cond_acquire(c, 0));
    ASSERT_ERR(MPROC_EINVAL, mproc_cond_wait(c, bad[i]));
    int calls = 0;
    ASSERT_ERR(MPROC_EINVAL, mproc_cond_wait_for(c, always, &calls, bad[i]));
    assert_int_equal(calls, 0);
    ASSERT_OK(mproc_cond_release(c));
    if (bad[i] != MPROC_DEFAULT_TIMEOUT) /* a barrier's own default */
      ASSERT_ERR(MPROC_EINVAL, mproc_barrier_wait(b, bad[i], NULL));
  }
  /* Nothing was taken by the refused calls. */
  assert_int_equal(mproc_lock_locked(l), 0);
  ASSERT_ERR(MPROC_ETIMEDOUT, mproc_sem_acquire(s, 0));
  mproc_lock_free(l);
  mproc_rlock_free(r);
  mproc_sem_free(s);
  mproc_event_free(e);
  mproc_cond_free(c);
  mproc_barrier_free(b);
}

static void bad_input(void **state) {
  ASSERT_ERR(MPROC_EINVAL, mproc_lock_new(NULL));
  ASSERT_ERR(MPROC_EINVAL, mproc_lock_acquire(NULL, 0));
  ASSERT_ERR(MPROC_EINVAL, mproc_lock_release(NULL));
  ASSERT_ERR(MPROC_EINVAL, mproc_rlock_new(NULL));
  ASSERT_ERR(MPROC_EINVAL, mproc_rlock_acquire(NULL, 0));
  ASSERT_ERR(MPROC_EINVAL, mproc_rlock_release(NULL));
  mproc_sem_t *s;
  ASSERT_ERR(MPROC_EINVAL, mproc_sem_new(NULL, 1, NULL));
  ASSERT_ERR(MPROC_EINVAL, mproc_sem_new(&s, MPROC_SEM_VALUE_MAX + 1u, NULL));
  ASSERT_ERR(MPROC_EINVAL, mproc_sem_acquire(NULL, 0));
  ASSERT_ERR(MPROC_EINVAL, mproc_sem_release(NULL));
  ASSERT_ERR(MPROC_EINVAL, mproc_sem_value(NULL));
  ASSERT_ERR(MPROC_EINVAL, mproc_cond_new(NULL, NULL));
  ASSERT_ERR(MPROC_EINVAL, mproc_cond_new_rlock(NULL, NULL));
  ASSERT_ERR(MPROC_EINVAL, mproc_cond_acquire(NULL, 0));
  ASSERT_ERR(MPROC_EINVAL, mproc_cond_release(NULL));
  ASSERT_ERR(MPROC_EINVAL, mproc_cond_wait(NULL, 0));
  ASSERT_ERR(MPROC_EINVAL, mproc_cond_notify(NULL, 1));
  ASSERT_ERR(MPROC_EINVAL, mproc_cond_notify_all(NULL));
  ASSERT_ERR(MPROC_EINVAL, mproc_event_new(NULL));
  ASSERT_ERR(MPROC_EINVAL, mproc_event_set(NULL));
  ASSERT_ERR(MPROC_EINVAL, mproc_event_clear(NULL));
  ASSERT_ERR(MPROC_EINVAL, mproc_event_is_set(NULL));
  ASSERT_ERR(MPROC_EINVAL, mproc_event_wait(NULL, 0));
  mproc_barrier_t *b;
  ASSERT_ERR(MPROC_EINVAL, mproc_barrier_new(NULL, 2));
  ASSERT_ERR(MPROC_EINVAL, mproc_barrier_new(&b, 0));
  ASSERT_ERR(MPROC_EINVAL, mproc_barrier_new(&b, 40000));
  ASSERT_ERR(MPROC_EINVAL, mproc_barrier_wait(NULL, 0, NULL));
  ASSERT_ERR(MPROC_EINVAL, mproc_barrier_abort(NULL));
  ASSERT_ERR(MPROC_EINVAL, mproc_barrier_reset(NULL));
  ASSERT_ERR(MPROC_EINVAL, mproc_barrier_parties(NULL));
  ASSERT_ERR(MPROC_EINVAL, mproc_barrier_n_waiting(NULL));
  ASSERT_ERR(MPROC_EINVAL, mproc_barrier_broken(NULL));
  mproc_args_t *a;
  ASSERT_OK(mproc_args_new(&a));
  ASSERT_ERR(MPROC_EINVAL, mproc_args_add_lock(a, NULL));
  ASSERT_ERR(MPROC_EINVAL, mproc_args_add_barrier(NULL, NULL));
  mproc_lock_t *l;
  ASSERT_ERR(MPROC_EINVAL, mproc_args_get_lock(a, 0, NULL));
  ASSERT_ERR(MPROC_ERANGE, mproc_args_get_lock(a, 0, &l));
  mproc_args_free(a);
  mproc_lock_free(NULL);
  mproc_rlock_free(NULL);
  mproc_sem_free(NULL);
  mproc_cond_free(NULL);
  mproc_event_free(NULL);
  mproc_barrier_free(NULL);
}

int main(int argc, char **argv) {
  mproc_main_guard(argc, argv);
  const struct CMUnitTest locks[] = {
      cmocka_unit_test(lock_semantics),
      cmocka_unit_test(rlock_semantics),
      cmocka_unit_test(locked_tells_whether_held),
      cmocka_unit_test(mutual_exclusion_lock),
      cmocka_unit_test(mutual_exclusion_rlock),
      cmocka_unit_test(ticket_buyers_never_oversell),
  };
  const struct CMUnitTest owner_death[] = {
      cmocka_unit_test(lock_holder_dies),
      cmocka_unit_test(rlock_holder_dies),
  };
  const struct CMUnitTest others[] = {
      cmocka_unit_test(semaphore_semantics),
      cmocka_unit_test(semaphore_across_processes),
      cmocka_unit_test(event_semantics),
      cmocka_unit_test(condition_producer_consumer_lock),
      cmocka_unit_test(condition_producer_consumer_rlock),
      cmocka_unit_test(condition_notify_counts),
      cmocka_unit_test(condition_over_an_rlock),
      cmocka_unit_test(notify_wakes_the_earlier_waiter_not_the_notifier),
      cmocka_unit_test(notify_wakes_the_earlier_waiting_thread),
      cmocka_unit_test(wait_for_reply_never_hangs),
      cmocka_unit_test(wait_for_semantics),
      cmocka_unit_test(every_object_crosses),
      cmocka_unit_test(negative_timeouts_are_refused),
      cmocka_unit_test(bad_input),
  };
  const struct CMUnitTest barriers[] = {
      cmocka_unit_test(barrier_semantics),
      cmocka_unit_test(barrier_rounds_across_processes),
      cmocka_unit_test(barrier_action_runs_once_per_round_in_one_process),
      cmocka_unit_test(barrier_action_failure_and_default_timeout),
  };
  const test_group_t groups[] = {
      TEST_GROUP("locks", locks),
      TEST_GROUP("owner_death", owner_death),
      TEST_GROUP("others", others),
      TEST_GROUP("barriers", barriers),
  };
  return run_groups(argc, argv, groups, sizeof groups / sizeof groups[0]);
}
