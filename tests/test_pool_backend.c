/* The pool with workers elsewhere (pool_backend.h), through a loopback
 * backend of this test: its "workers" run each task in the pool's own
 * thread, through mproc_pool_worker_handle, as an MPI rank would - so the
 * remote path (no handles, no slots, retiring instead of killing) is
 * proven on every leg, Windows included, without MPI. */
#include "test_util.h"

static int square(const mproc_args_t *args, mproc_args_t *result) {
  int64_t x;
  if (mproc_args_get_int(args, 0, &x))
    return 1;
  return mproc_args_add_int(result, x * x);
}

static int refuse(const mproc_args_t *args, mproc_args_t *result) {
  (void)args;
  (void)result;
  mproc_task_set_error("refused");
  return 7;
}

static int64_t init_value;
static int set_value(const mproc_args_t *args) { return mproc_args_get_int(args, 0, &init_value); }

static int get_value(const mproc_args_t *args, mproc_args_t *result) {
  (void)args;
  return mproc_args_add_int(result, init_value);
}

/* ---- the loopback backend -------------------------------------------------- */

enum { WORKERS = 2, MAX_REPLIES = 4096 };

typedef struct {
  int open_rc;    /* what open returns */
  int open_count; /* open calls */
  int closed;
  int forgotten[WORKERS];
  int silent; /* this worker (+1) answers its INIT, then swallows its tasks */
  int swallowed;
  int tamper; /* 1: every reply loses its last byte; 2: its last result
               * item (an empty tuple, 0x90) becomes the integer 5; 3: the
               * string "ok" of its last result gets a byte that is not
               * UTF-8 - well-formed MessagePack, found only when decoded */
  int sent[WORKERS];
  struct {
    int worker;
    void *msg;
    size_t len;
  } replies[MAX_REPLIES];
  size_t head, tail;
} loopback_t;

static int lb_open(void *ctx, int *workers) {
  loopback_t *lb = ctx;
  lb->open_count++;
  if (lb->open_rc)
    return mproc_set_error(lb->open_rc, "loopback: open refused");
  *workers = WORKERS;
  return 0;
}

static int lb_send(void *ctx, int worker, const void *msg, size_t len) {
  loopback_t *lb = ctx;
  if (lb->silent == worker + 1 && !lb->forgotten[worker] && ++lb->sent[worker] > 1) {
    lb->swallowed++;
    return 0;
  }
  if (lb->forgotten[worker])
    return 0; /* retired: what it is sent never runs */
  void *reply = NULL;
  size_t rlen = 0;
  int rc = mproc_pool_worker_handle(msg, len, &reply, &rlen);
  if (rc < 0)
    return rc;
  if (reply && lb->tail - lb->head < MAX_REPLIES) {
    size_t k = lb->tail++ % MAX_REPLIES;
    lb->replies[k].worker = worker;
    lb->replies[k].msg = malloc(rlen);
    memcpy(lb->replies[k].msg, reply, rlen);
    lb->replies[k].len = rlen;
    if (lb->tamper == 1)
      lb->replies[k].len--;
    else if (lb->tamper == 2 && rlen >= 2)
      ((unsigned char *)lb->replies[k].msg)[rlen - 2] = 0x05;
    else if (lb->tamper == 3)
      for (size_t i = rlen; i >= 3; i--) {
        unsigned char *m = lb->replies[k].msg;
        if (m[i - 3] == 0xa2 && m[i - 2] == 'o' && m[i - 1] == 'k') {
          m[i - 2] = 0xff;
          break;
        }
      }
  }
  mproc_free(reply);
  return 0;
}

static int lb_poll(void *ctx, int *worker, void **msg, size_t *len) {
  loopback_t *lb = ctx;
  if (lb->head == lb->tail)
    return 0;
  size_t k = lb->head++ % MAX_REPLIES;
  *worker = lb->replies[k].worker;
  *msg = lb->replies[k].msg;
  *len = lb->replies[k].len;
  return 1;
}

static void lb_wait(void *ctx, int timeout_ms) {
  (void)ctx;
  sleep_ms(timeout_ms < 0 || timeout_ms > 2 ? 2 : timeout_ms);
}

static void lb_wake(void *ctx) { (void)ctx; }

static int lb_alive(void *ctx, int worker) {
  loopback_t *lb = ctx;
  return lb->silent != worker + 1;
}

/* A loopback worker runs what it is sent at once: it has begun what the
 * pool has not taken the reply of. The silent one stands for a stopped
 * worker: it began the first task it was sent (it stopped inside it) and
 * none after it. */
static int lb_forget(void *ctx, int worker) {
  loopback_t *lb = ctx;
  lb->forgotten[worker] = 1;
  if (lb->silent == worker + 1)
    return lb->swallowed > 0;
  int begun = 0;
  for (size_t k = lb->head; k != lb->tail; k++)
    begun += lb->replies[k % MAX_REPLIES].worker == worker;
  return begun;
}

static void lb_close(void *ctx) {
  loopback_t *lb = ctx;
  lb->closed++;
  while (lb->head != lb->tail)
    free(lb->replies[lb->head++ % MAX_REPLIES].msg);
}

static void lb_describe(void *ctx, int worker, char *buf, size_t cap) {
  (void)ctx;
  snprintf(buf, cap, "loopback worker %d", worker);
}

/* Every loopback worker is this process. */
static int64_t lb_pid(void *ctx, int worker) {
  (void)ctx, (void)worker;
  return mproc_current_pid();
}

static mproc_pool_backend_t backend_of(loopback_t *lb) {
  mproc_pool_backend_t b = {.name = "loopback",
                            .ctx = lb,
                            .open = lb_open,
                            .send = lb_send,
                            .poll = lb_poll,
                            .wait = lb_wait,
                            .wake = lb_wake,
                            .alive = lb_alive,
                            .forget = lb_forget,
                            .close = lb_close,
                            .describe = lb_describe,
                            .pid = lb_pid};
  return b;
}

/* ---- tests ----------------------------------------------------------------- */

static void tasks_run_through_the_backend(void **state) {
  (void)state;
  loopback_t lb = {0};
  mproc_pool_backend_t be = backend_of(&lb);
  mproc_args_t *ia;
  ASSERT_OK(mproc_args_new(&ia));
  ASSERT_OK(mproc_args_add_int(ia, 31));
  mproc_pool_t *p;
  ASSERT_OK(mproc_pool_new(
      &p, &(mproc_pool_opts_t){.backend = &be, .initializer = set_value, .initargs = ia}));
  mproc_args_t *in = test_ints(500), *out;
  size_t chunks[] = {1, 9, 0};
  for (size_t k = 0; k < 3; k++) {
    ASSERT_OK(mproc_pool_map(p, square, in, &(mproc_map_opts_t){.chunksize = chunks[k]}, &out));
    for (size_t i = 0; i < 500; i += 37)
      assert_int_equal(test_item_int(out, i), (int64_t)(i * i));
    mproc_args_free(out);
  }
  mproc_args_t *r;
  ASSERT_OK(mproc_pool_apply(p, get_value, NULL, &r));
  int64_t v;
  ASSERT_OK(mproc_args_get_int(r, 0, &v));
  assert_int_equal(v, 31);
  mproc_args_free(r);
  /* A failing task's status and message come back. */
  mproc_async_result_t *ar;
  ASSERT_OK(mproc_pool_apply_async(p, refuse, NULL, NULL, &ar));
  ASSERT_ERR(MPROC_ETASKFAILED, mproc_async_result_get(ar, NULL, TEST_WAIT_MS));
  mproc_task_error_t e;
  ASSERT_OK(mproc_async_result_error(ar, &e));
  assert_int_equal(e.task_status, 7);
  assert_string_equal(e.message, "refused");
  mproc_async_result_free(ar);
  mproc_pool_stats_t st;
  ASSERT_OK(mproc_pool_stats(p, &st));
  assert_int_equal(st.workers_alive, WORKERS);
  ASSERT_OK(mproc_pool_close(p));
  ASSERT_OK(mproc_pool_join(p, TEST_WAIT_MS));
  mproc_pool_free(p);
  assert_int_equal(lb.open_count, 1);
  assert_int_equal(lb.closed, 1);
  mproc_args_free(in);
  mproc_args_free(ia);
}

static int nothing(const mproc_args_t *args, mproc_args_t *result) {
  (void)args, (void)result;
  return 0;
}

static int says_ok(const mproc_args_t *args, mproc_args_t *result) {
  (void)args;
  return mproc_args_add_str(result, "ok");
}

/* A chunk's results that do not decode as a tuple or nil per item fail
 * that chunk's items with MPROC_EPROTO - none of them is taken as a
 * result - and the pool serves on: whether the pool's thread finds it
 * (modes 1, 2) or the caller's, which decodes results (mode 3). */
static void malformed_chunk_results_fail_their_items(void **state) {
  (void)state;
  loopback_t lb = {0};
  mproc_pool_backend_t be = backend_of(&lb);
  mproc_pool_t *p;
  ASSERT_OK(mproc_pool_new(&p, &(mproc_pool_opts_t){.backend = &be}));
  mproc_args_t *in = test_ints(40), *out;
  ASSERT_OK(mproc_pool_map(p, nothing, in, &(mproc_map_opts_t){.chunksize = 4}, &out));
  assert_int_equal(mproc_args_count(out), 40);
  mproc_args_free(out);
  for (int mode = 1; mode <= 2; mode++) {
    lb.tamper = mode;
    out = NULL;
    ASSERT_ERR(MPROC_EPROTO,
               mproc_pool_map(p, nothing, in, &(mproc_map_opts_t){.chunksize = 4}, &out));
    assert_null(out);
    assert_non_null(strstr(mproc_last_error_detail(), "malformed"));
  }
  /* Chunks large enough for the caller to decode them (the pool's thread
   * decodes small ones), so the failure is found there. */
  mproc_args_t *many = test_ints(600);
  lb.tamper = 3;
  out = NULL;
  ASSERT_ERR(MPROC_EPROTO,
             mproc_pool_map(p, says_ok, many, &(mproc_map_opts_t){.chunksize = 300}, &out));
  assert_null(out);
  assert_non_null(strstr(mproc_last_error_detail(), "malformed"));
  /* Ready is not yet decoded: successful and error say the failure too. */
  mproc_async_result_t *r;
  mproc_task_error_t e;
  mproc_pool_stats_t before, after;
  ASSERT_OK(mproc_pool_stats(p, &before));
  ASSERT_OK(mproc_pool_map_async(p, says_ok, many, &(mproc_map_opts_t){.chunksize = 300}, &r));
  ASSERT_OK(mproc_async_result_wait(r, TEST_WAIT_MS));
  assert_int_equal(mproc_async_result_successful(r), 0);
  ASSERT_OK(mproc_async_result_error(r, &e));
  assert_int_equal(e.code, MPROC_EPROTO);
  mproc_async_result_free(r);
  /* The stats say so too: none of them done, all failed. */
  ASSERT_OK(mproc_pool_stats(p, &after));
  assert_int_equal(after.tasks_done, before.tasks_done);
  assert_int_equal(after.tasks_failed - before.tasks_failed, 600);
  mproc_args_free(many);
  lb.tamper = 0;
  ASSERT_OK(mproc_pool_map(p, nothing, in, &(mproc_map_opts_t){.chunksize = 4}, &out));
  assert_int_equal(mproc_args_type(out, 39), MPROC_T_ARGS);
  mproc_args_free(out);
  ASSERT_OK(mproc_pool_map(p, says_ok, in, &(mproc_map_opts_t){.chunksize = 4}, &out));
  const mproc_args_t *last;
  const char *ok;
  ASSERT_OK(mproc_args_get_args(out, 39, &last));
  ASSERT_OK(mproc_args_get_str(last, 0, &ok));
  assert_string_equal(ok, "ok");
  mproc_args_free(out);
  ASSERT_OK(mproc_pool_close(p));
  ASSERT_OK(mproc_pool_join(p, TEST_WAIT_MS));
  mproc_pool_free(p);
  mproc_args_free(in);
}

static int returns_segment(const mproc_args_t *args, mproc_args_t *result) {
  (void)args;
  mproc_shm_t *s;
  if (mproc_shm_create_unnamed(&s, 4096))
    return 1;
  int rc = mproc_args_add_shm(result, s);
  mproc_shm_close(s);
  return rc;
}

static void ipc_objects_and_recycling_are_refused(void **state) {
  (void)state;
  loopback_t lb = {0};
  mproc_pool_backend_t be = backend_of(&lb);
  mproc_pool_t *p;
  ASSERT_ERR(MPROC_ENOTSUP,
             mproc_pool_new(&p, &(mproc_pool_opts_t){.backend = &be, .maxtasksperchild = 3}));
  ASSERT_ERR(
      MPROC_ENOTSUP,
      mproc_pool_new(&p, &(mproc_pool_opts_t){.backend = &be, .worker_memory_limit = 1 << 30}));
  assert_non_null(strstr(mproc_last_error_detail(), "worker_memory_limit"));
  ASSERT_ERR(MPROC_EINVAL,
             mproc_pool_new(&p, &(mproc_pool_opts_t){.backend = &be, .processes = WORKERS + 1}));
  assert_int_equal(lb.closed, 1); /* opened, found too small, closed */
  lb.open_rc = MPROC_ESTATE;
  ASSERT_ERR(MPROC_ESTATE, mproc_pool_new(&p, &(mproc_pool_opts_t){.backend = &be}));
  assert_string_equal(mproc_last_error_detail(), "loopback: open refused");
  lb.open_rc = 0;
  mproc_pool_backend_t lacking = be;
  lacking.forget = NULL;
  ASSERT_ERR(MPROC_EINVAL, mproc_pool_new(&p, &(mproc_pool_opts_t){.backend = &lacking}));

  mproc_lock_t *lock;
  ASSERT_OK(mproc_lock_new(&lock));
  mproc_args_t *a, *r;
  ASSERT_OK(mproc_args_new(&a));
  ASSERT_OK(mproc_args_add_lock(a, lock));
  ASSERT_ERR(MPROC_ENOTSUP,
             mproc_pool_new(&p, &(mproc_pool_opts_t){
                                    .backend = &be, .initializer = set_value, .initargs = a}));
  /* The greeting's context, then the encoder's own words, whole. */
  const char *want =
      "pool_new: the initializer's arguments hold an IPC object: it cannot reach a worker "
      "elsewhere: args_encode: the tuple holds an IPC object, which only a "
      "child's arguments or a local pool task's arguments and results can carry";
  assert_string_equal(mproc_last_error_detail(), want);
  ASSERT_OK(mproc_pool_new(&p, &(mproc_pool_opts_t){.backend = &be, .processes = 1}));
  ASSERT_ERR(MPROC_ENOTSUP, mproc_pool_apply(p, square, a, &r));
  assert_non_null(strstr(mproc_last_error_detail(), "loopback"));
  /* Nor can a result holding one come back from there: the task fails. */
  ASSERT_ERR(MPROC_ENOTSUP, mproc_pool_apply(p, returns_segment, NULL, &r));
  assert_non_null(strstr(mproc_last_error_detail(), "IPC object"));
  mproc_pool_free(p);
  mproc_args_free(a);
  mproc_lock_free(lock);
}

static void a_silent_worker_fails_one_task_and_is_retired(void **state) {
  (void)state;
  loopback_t lb = {.silent = 2};
  mproc_pool_backend_t be = backend_of(&lb);
  mproc_pool_t *p;
  ASSERT_OK(mproc_pool_new(&p, &(mproc_pool_opts_t){.backend = &be}));
  mproc_args_t *in = test_ints(200);
  mproc_async_result_t *r;
  ASSERT_OK(mproc_pool_map_async(p, square, in, &(mproc_map_opts_t){.chunksize = 1}, &r));
  ASSERT_OK(mproc_async_result_wait(r, TEST_WAIT_MS));
  size_t died = 0;
  for (size_t i = 0; i < 200; i++) {
    const mproc_args_t *item;
    mproc_task_error_t e;
    int rc = mproc_async_result_item(r, i, &item, &e);
    if (rc == MPROC_EWORKERDIED) {
      died++;
      assert_non_null(strstr(e.message, "loopback worker 1"));
      /* Who it was, as every backend can say. */
      assert_int_equal(e.worker, 1);
      assert_int_equal(e.worker_pid, mproc_current_pid());
      assert_string_equal(e.worker_name, "loopback worker 1");
    } else {
      ASSERT_OK(rc);
    }
  }
  assert_int_equal(died, 1); /* the one it ran; the others it held ran elsewhere */
  assert_true(lb.forgotten[1]);
  assert_false(lb.forgotten[0]);
  mproc_pool_stats_t st;
  ASSERT_OK(mproc_pool_stats(p, &st));
  assert_int_equal(st.workers_died, 1);
  assert_int_equal(st.workers_alive, 1);
  mproc_async_result_free(r);
  mproc_pool_free(p);
  mproc_args_free(in);
}

static void every_worker_retired_breaks_the_pool(void **state) {
  (void)state;
  loopback_t lb = {.silent = 1};
  mproc_pool_backend_t be = backend_of(&lb);
  mproc_pool_t *p;
  ASSERT_OK(mproc_pool_new(&p, &(mproc_pool_opts_t){.backend = &be, .processes = 1}));
  mproc_async_result_t *r;
  ASSERT_OK(mproc_pool_apply_async(p, square, NULL, NULL, &r));
  ASSERT_ERR(MPROC_EWORKERDIED, mproc_async_result_get(r, NULL, TEST_WAIT_MS));
  mproc_async_result_free(r);
  ASSERT_ERR(MPROC_EWORKERDIED, mproc_pool_apply_async(p, square, NULL, NULL, &r));
  mproc_pool_free(p);
}

static void worker_handle_refuses_what_is_not_a_pool_message(void **state) {
  (void)state;
  void *reply = NULL;
  size_t len = 0;
  unsigned char junk[64] = {0xff, 0xff, 0xff, 0xff};
  ASSERT_ERR(MPROC_EINVAL, mproc_pool_worker_handle(junk, sizeof junk, NULL, &len));
  ASSERT_ERR(MPROC_EINVAL, mproc_pool_worker_handle(junk, sizeof junk, &reply, NULL));
  ASSERT_ERR(MPROC_EPROTO, mproc_pool_worker_handle(junk, 3, &reply, &len));
  ASSERT_ERR(MPROC_EPROTO, mproc_pool_worker_handle(NULL, 0, &reply, &len));
  ASSERT_ERR(MPROC_EPROTO, mproc_pool_worker_handle(junk, sizeof junk, &reply, &len));
  assert_null(reply);
  /* And mproc_set_error, for backends, sets what mproc's calls set. */
  assert_int_equal(mproc_set_error(MPROC_ECHILD, "backend says %d", 5), MPROC_ECHILD);
  assert_string_equal(mproc_last_error_detail(), "backend says 5");
  assert_int_equal(mproc_set_error(MPROC_EPROTO, NULL), MPROC_EPROTO);
  assert_string_equal(mproc_last_error_detail(), "");
}

int main(int argc, char **argv) {
  mproc_main_guard(argc, argv);
  const struct CMUnitTest loopback[] = {
      cmocka_unit_test(tasks_run_through_the_backend),
      cmocka_unit_test(malformed_chunk_results_fail_their_items),
      cmocka_unit_test(ipc_objects_and_recycling_are_refused),
      cmocka_unit_test(a_silent_worker_fails_one_task_and_is_retired),
      cmocka_unit_test(every_worker_retired_breaks_the_pool),
      cmocka_unit_test(worker_handle_refuses_what_is_not_a_pool_message),
  };
  const test_group_t groups[] = {TEST_GROUP("loopback", loopback)};
  return run_groups(argc, argv, groups, sizeof groups / sizeof groups[0]);
}
