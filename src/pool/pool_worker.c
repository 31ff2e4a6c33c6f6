/* A pool's worker: the target of each worker process (see pool_wire.h for
 * what it reads and writes).
 *
 * It runs its initializer, then takes tasks from its own inbox one by one:
 * it receives the handles a task's objects need, finds the task's function,
 * decodes the arguments, says in its slot which task it runs (so the pool
 * can tell, if this process dies, which task died with it and which queued
 * ones never started), runs it, and puts the outcome in the pool's result
 * queue. It ends on a STOP, after maxtasksperchild tasks, or with its
 * parent (it is a daemon).
 *
 * A worker elsewhere (an MPI rank: pool_backend.h) runs the same tasks
 * through mproc_pool_worker_handle, one message in and one reply out,
 * with no slot and no handles: the pool reads what it runs from the order
 * of its replies. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args/args_objects.h"
#include "args/fnref.h"
#include "connection/connection_internal.h"
#include "mproc/pool_backend.h"
#include "pool/pool_wire.h"
#include "pool/pool_worker.h"
#include "process/bootstrap.h"

/* The message the running task set (mproc_task_set_error). */
static char task_message[MPROC__RESULT_MESSAGE_MAX + 1];
static bool in_task;
static int task_worker; /* the running task's worker index */

int mproc_task_set_error(const char *fmt, ...) {
  if (!fmt)
    return mproc__fail(MPROC_EINVAL, "task_set_error: fmt is NULL");
  if (!in_task)
    return mproc__fail(MPROC_ESTATE, "task_set_error: not called from a pool task");
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(task_message, sizeof task_message, fmt, ap);
  va_end(ap);
  return 0;
}

typedef struct {
  mproc_queue_t *inbox, *results;
  mproc__os_conn_t *channel; /* handles arrive here, and results' go back */
  /* The handles of the objects in the result being made (a worker of this
   * machine only: elsewhere results cannot hold objects). */
  mproc__handle_table_t out;
  /* The result whose objects out holds, freed once the result is put: a
   * large segment's unmapping is then not on the way to the pool. */
  mproc_args_t *sent;
  mproc__worker_slot_t *slot;
  uint32_t index;
  /* The last function resolved: tasks of one map all carry the same. */
  unsigned char fn_bytes[MPROC__FNREF_PACKED_MAX];
  size_t fn_len;
  mproc__fn_t fn;
} worker_t;

/* Where a result's objects put their handles: none elsewhere, where
 * encoding one refuses it (MPROC_ENOTSUP). */
static mproc__handle_table_t *result_handles(worker_t *w) { return w->channel ? &w->out : NULL; }

/* Finishes the result in b: head, message, payload (already in b after
 * the head and the message's room). Only an OK result keeps the handles
 * of its objects. */
static void finish_result(worker_t *w, mproc__buf_t *b, uint64_t id, int32_t status, uint32_t kind,
                          const char *message) {
  size_t mlen = message ? strlen(message) : 0;
  if (mlen > MPROC__RESULT_MESSAGE_MAX)
    mlen = MPROC__RESULT_MESSAGE_MAX;
  if (kind != MPROC__RESULT_OK)
    mproc__handle_table_close(&w->out);
  mproc__result_head_t h = {id, status, kind, (uint32_t)mlen, w->index, (uint32_t)w->out.n};
  mproc__result_head_put(b->data, &h);
  memcpy(b->data + MPROC__RESULT_HEAD, message ? message : "", mlen);
  /* The payload was appended after MESSAGE_MAX bytes of room: close the
   * gap so the message ends where the payload begins. */
  size_t payload = b->len - (MPROC__RESULT_HEAD + MPROC__RESULT_MESSAGE_MAX);
  memmove(b->data + MPROC__RESULT_HEAD + mlen,
          b->data + MPROC__RESULT_HEAD + MPROC__RESULT_MESSAGE_MAX, payload);
  b->len = MPROC__RESULT_HEAD + mlen + payload;
}

/* A buffer with room for a result's head and the longest message. */
static int result_buffer(mproc__buf_t *b) {
  b->len = 0;
  int rc = mproc__buf_reserve(b, MPROC__RESULT_HEAD + MPROC__RESULT_MESSAGE_MAX + 64);
  if (!rc)
    b->len = MPROC__RESULT_HEAD + MPROC__RESULT_MESSAGE_MAX;
  return rc;
}

static int resolve(worker_t *w, const unsigned char *bytes, size_t len, mproc__fn_t *fn) {
  if (len == w->fn_len && w->fn && memcmp(bytes, w->fn_bytes, len) == 0) {
    *fn = w->fn;
    return 0;
  }
  int rc = mproc__fnref_unpack_resolve(bytes, len, fn);
  if (rc == 0 && len <= sizeof w->fn_bytes) {
    memcpy(w->fn_bytes, bytes, len);
    w->fn_len = len;
    w->fn = *fn;
  }
  return rc;
}

int mproc_pool_worker_index(void) {
  if (!in_task)
    return mproc__fail(MPROC_ESTATE, "pool_worker_index: not called from a pool task");
  return task_worker;
}

static void begin_task(worker_t *w, uint64_t id) {
  task_message[0] = '\0';
  in_task = true;
  task_worker = (int)w->index;
  if (!w->slot)
    return;
  atomic_store_explicit(&w->slot->since_ms, mproc__os_now_ms(), memory_order_relaxed);
  atomic_store_explicit(&w->slot->running, id, memory_order_release);
}

/* The task's time has ended; it stays this worker's until its result is
 * put (delivering first: the pool reads running, then delivering). */
static void end_task(worker_t *w) {
  in_task = false;
  if (!w->slot)
    return;
  atomic_store_explicit(&w->slot->delivering,
                        atomic_load_explicit(&w->slot->running, memory_order_relaxed),
                        memory_order_release);
  atomic_store_explicit(&w->slot->running, 0, memory_order_release);
}

/* A chunk: each item read from the encoded chunk into one reused tuple,
 * each result encoded into the payload as soon as it is made - no
 * allocation per item. The payload is (results, failures): a result tuple
 * or nil per item, and (index, status, message) per failed item. */
static int run_chunk(worker_t *w, uint64_t id, mproc_task_fn fn, const unsigned char *enc,
                     size_t len, const intptr_t *handles, size_t nhandles, mproc__buf_t *b) {
  mproc__args_stream_t *s = NULL;
  mproc_args_t *item = NULL, *result = NULL, *failures = NULL;
  size_t count = 0;
  int rc = mproc__args_stream_open(&s, enc, len, handles, nhandles, &count);
  if (!rc)
    rc = mproc_args_new(&item);
  if (!rc)
    rc = mproc_args_new(&result);
  if (!rc)
    rc = mproc_args_new(&failures);
  if (!rc)
    rc = mproc__msgpack_put_array(b, 2);
  if (!rc)
    rc = mproc__msgpack_put_array(b, count);
  if (!rc)
    begin_task(w, id);
  for (size_t i = 0; i < count && !rc; i++) {
    if ((rc = mproc__args_stream_next(s, item)) != 0)
      break;
    task_message[0] = '\0';
    int status = fn(item, result);
    if (status == 0) {
      if ((rc = mproc__args_encode_into(result, b, result_handles(w))) != 0)
        mproc__error_prefix("pool worker: a result");
    } else {
      mproc_args_t *f = NULL;
      rc = mproc__msgpack_put_nil(b);
      if (!rc)
        rc = mproc_args_new(&f);
      if (!rc)
        rc = mproc_args_add_int(f, (int64_t)i);
      if (!rc)
        rc = mproc_args_add_int(f, status);
      if (!rc)
        rc = mproc_args_add_str(f, task_message);
      if (!rc)
        rc = mproc__args_add_tuple_owned(failures, f);
      else
        mproc_args_free(f);
    }
    mproc__args_clear(result);
  }
  if (!rc)
    rc = mproc__args_encode_into(failures, b, NULL);
  mproc__args_stream_close(s);
  mproc_args_free(item);
  mproc_args_free(result);
  mproc_args_free(failures);
  return rc;
}

/* Calls an apply's or a range's fn on args; its outcome is then the
 * result in b. */
static void run_call(worker_t *w, const mproc__task_head_t *h, mproc__fn_t fn,
                     const mproc_args_t *args, mproc__buf_t *b) {
  int rc = 0;
  begin_task(w, h->id);
  int32_t status = 0;
  uint32_t kind = MPROC__RESULT_OK;
  if (h->kind == MPROC__TASK_APPLY) {
    mproc_args_t *result;
    rc = mproc_args_new(&result);
    if (!rc) {
      status = ((mproc_task_fn)fn)(args, result);
      if (status != 0)
        kind = MPROC__RESULT_FAILED;
      else if ((rc = mproc__args_encode_into(result, b, result_handles(w))) != 0)
        mproc__error_prefix("pool worker: the task's result");
      if (!rc && w->out.n)
        w->sent = result;
      else
        mproc_args_free(result);
    }
  } else if (h->kind == MPROC__TASK_RANGE) {
    status = h->begin <= h->end ? ((mproc_range_fn)fn)(args, (size_t)h->begin, (size_t)h->end)
                                : MPROC_EPROTO;
    if (status != 0)
      kind = MPROC__RESULT_FAILED;
  } else {
    rc = mproc__fail(MPROC_EPROTO, "pool worker: a task of kind %u", h->kind);
  }
  end_task(w);
  if (rc) {
    kind = MPROC__RESULT_ERROR;
    status = rc;
    b->len = MPROC__RESULT_HEAD + MPROC__RESULT_MESSAGE_MAX; /* no payload */
  }
  finish_result(w, b, h->id, status, kind,
                kind == MPROC__RESULT_ERROR    ? mproc_last_error_detail()
                : kind == MPROC__RESULT_FAILED ? task_message
                                               : "");
}

/* Runs one task; its outcome is then the result in b. Returns an error
 * only when b itself could not be made. */
static int run_task(worker_t *w, const unsigned char *msg, size_t len, mproc__buf_t *b) {
  mproc__task_head_t h;
  mproc__task_head_get(msg, &h);
  intptr_t *handles = NULL;
  mproc_args_t *args = NULL;
  mproc__fn_t fn = NULL;
  int rc = 0;
  size_t nhandles = 0;
  if (h.nhandles && !w->channel)
    rc = mproc__fail(MPROC_EPROTO, "pool worker: a task with handles, and no channel for them");
  else if (h.nhandles && !(handles = malloc(h.nhandles * sizeof *handles)))
    rc = mproc__fail(MPROC_ENOMEM, "pool worker: out of memory");
  if (!rc && h.nhandles && (rc = mproc__os_conn_recv_handles(w->channel, handles, h.nhandles)) == 0)
    nhandles = h.nhandles;
  if (!rc && (h.fnref_len > len - MPROC__TASK_HEAD))
    rc = mproc__fail(MPROC_EPROTO, "pool worker: a task cut short");
  if (!rc)
    rc = resolve(w, msg + MPROC__TASK_HEAD, h.fnref_len, &fn);
  const unsigned char *enc = msg + MPROC__TASK_HEAD + (rc ? 0 : h.fnref_len);
  size_t enc_len = len - MPROC__TASK_HEAD - (rc ? 0 : h.fnref_len);
  int made = result_buffer(b);
  if (made) {
    for (size_t i = 0; i < nhandles; i++)
      mproc__os_close_handle(handles[i]);
    free(handles);
    return made;
  }
  if (!rc && h.kind == MPROC__TASK_CHUNK) {
    /* Every handle becomes an object's, or is closed. */
    rc = run_chunk(w, h.id, (mproc_task_fn)fn, enc, enc_len, handles, nhandles, b);
    free(handles);
    end_task(w);
    if (rc)
      b->len = MPROC__RESULT_HEAD + MPROC__RESULT_MESSAGE_MAX; /* no payload */
    finish_result(w, b, h.id, rc, rc ? MPROC__RESULT_ERROR : MPROC__RESULT_OK,
                  rc ? mproc_last_error_detail() : "");
    return 0;
  }
  if (!rc) {
    rc = mproc__args_decode_objects(&args, enc, enc_len, handles, nhandles, true);
    nhandles = 0;
  }
  for (size_t i = 0; i < nhandles; i++)
    mproc__os_close_handle(handles[i]);
  free(handles);
  if (rc) {
    finish_result(w, b, h.id, rc, MPROC__RESULT_ERROR, mproc_last_error_detail());
    mproc_args_free(args);
    return 0;
  }
  run_call(w, &h, fn, args, b);
  mproc_args_free(args);
  return 0;
}

/* Runs the initializer fn (packed; len 0: none) on initargs; its outcome
 * is then an INIT result in b (status 0: ready). Returns the status. */
static int initialize(worker_t *w, const void *fn_bytes, size_t len, const mproc_args_t *initargs,
                      mproc__buf_t *b) {
  mproc__fn_t fn;
  int rc = len ? mproc__fnref_unpack_resolve(fn_bytes, len, &fn) : 0;
  int status = 0;
  if (rc == 0 && len) {
    in_task = true;
    task_message[0] = '\0';
    status = ((mproc_target_fn)fn)(initargs);
    in_task = false;
  }
  if (rc == 0 && status != 0) {
    rc = MPROC_EINIT;
    if (!task_message[0]) /* it said nothing: say what it returned */
      snprintf(task_message, sizeof task_message, "the initializer returned %d", status);
  }
  if (result_buffer(b) == 0)
    finish_result(w, b, 0, rc ? (status ? status : rc) : 0, MPROC__RESULT_INIT,
                  rc == MPROC_EINIT ? task_message
                  : rc              ? mproc_last_error_detail()
                                    : "");
  return rc;
}

/* ---- a worker process of this machine ------------------------------------------- */

const char *mproc__pool_worker_exit_text(int status) {
  switch (status) {
  case MPROC__WORKER_BAD_ARGS:
    return "it could not read its arguments (another build of the program?)";
  case MPROC__WORKER_INIT_FAILED:
    return "its initializer failed";
  case MPROC__WORKER_INBOX_FAILED:
    return "its inbox failed (the pool is gone)";
  case MPROC__WORKER_RESULTS_FAILED:
    return "it could not put a result (the result queue failed)";
  case MPROC__CHILD_FAILED:
    return "it could not start (the child's bootstrap failed)";
  default:
    return NULL;
  }
}

/* Puts the result in b in the pool's result queue, the handles of its
 * objects first: they are on the channel when the pool reads the result.
 * Handles that cannot be sent make the result an error. */
static int put_result(worker_t *w, mproc__buf_t *b) {
  if (w->out.n) {
    int rc = mproc__os_conn_send_handles(w->channel, NULL, w->out.h, w->out.n);
    mproc__handle_table_close(&w->out); /* the pool has its own now */
    if (rc) {
      mproc__error_prefix("pool worker: a result's objects");
      mproc__result_head_t h;
      mproc__result_head_get(b->data, &h);
      b->len = MPROC__RESULT_HEAD + MPROC__RESULT_MESSAGE_MAX; /* no payload */
      finish_result(w, b, h.id, rc, MPROC__RESULT_ERROR, mproc_last_error_detail());
    }
  }
  int rc = mproc_queue_put_bytes(w->results, b->data, b->len, MPROC_INFINITE);
  if (w->slot)
    atomic_store_explicit(&w->slot->delivering, 0, memory_order_release);
  mproc_args_free(w->sent);
  w->sent = NULL;
  return rc;
}

int mproc__pool_worker_main(const mproc_args_t *args) {
  mproc__os_ignore_interrupts();
  worker_t w = {0};
  mproc_conn_t *channel;
  mproc_array_t *slots;
  int64_t index, maxtasks;
  const void *init_fn;
  size_t init_len;
  const mproc_args_t *initargs;
  if (mproc_args_get_queue(args, 0, &w.inbox) || mproc_args_get_queue(args, 1, &w.results) ||
      mproc_args_get_conn(args, 2, &channel) || mproc_args_get_array(args, 3, &slots) ||
      mproc_args_get_int(args, 4, &index) || mproc_args_get_bytes(args, 5, &init_fn, &init_len) ||
      mproc_args_get_args(args, 6, &initargs) || mproc_args_get_int(args, 7, &maxtasks) ||
      index < 0 || (size_t)(index + 1) * sizeof(mproc__worker_slot_t) > mproc_array_len(slots))
    return MPROC__WORKER_BAD_ARGS; /* no slot to say why in */
  w.channel = mproc__conn_os(channel);
  w.slot = (mproc__worker_slot_t *)mproc_array_ptr(slots) + index;
  w.index = (uint32_t)index;
  mproc__buf_t b = {0};
  if (init_len && initialize(&w, init_fn, init_len, initargs, &b) != 0) {
    if (b.len)
      put_result(&w, &b); /* says why */
    mproc__buf_free(&b);
    atomic_store(&w.slot->exit_reason, MPROC__WORKER_INIT_FAILED);
    return MPROC__WORKER_INIT_FAILED;
  }
  atomic_store(&w.slot->ready, 1);
  int code = MPROC__WORKER_DONE;
  for (int64_t done = 0; maxtasks == 0 || done < maxtasks; done++) {
    void *msg;
    size_t len;
    if (mproc_queue_get_bytes(w.inbox, &msg, &len, MPROC_INFINITE) != 0) {
      code = MPROC__WORKER_INBOX_FAILED;
      break;
    }
    mproc__task_head_t h = {0};
    if (len >= MPROC__TASK_HEAD)
      mproc__task_head_get(msg, &h);
    int rc = len < MPROC__TASK_HEAD       ? MPROC_EPROTO
             : h.kind == MPROC__TASK_STOP ? 1
                                          : run_task(&w, msg, len, &b);
    mproc_free(msg);
    if (rc == 1)
      break; /* STOP */
    if (!rc && (rc = put_result(&w, &b)) == 0)
      atomic_fetch_add_explicit(&w.slot->finished, 1, memory_order_relaxed);
    if (rc) {
      code = MPROC__WORKER_RESULTS_FAILED;
      break;
    }
  }
  mproc__buf_free(&b);
  mproc__handle_table_free(&w.out);
  atomic_store(&w.slot->exit_reason, (uint32_t)code);
  return code;
}

/* ---- a worker elsewhere (pool_backend.h) ------------------------------------------ */

/* The state of this process's remote worker: one pool at a time. */
static worker_t remote;
static mproc__buf_t remote_buf;
static mproc_args_t *remote_initargs; /* the pool's initargs, as long as it serves it */

/* Gives the result in remote_buf to the caller as the reply. */
static int hand_over(void **reply, size_t *reply_len) {
  void *copy = malloc(remote_buf.len);
  if (!copy)
    return mproc__fail(MPROC_ENOMEM, "pool worker: out of memory");
  memcpy(copy, remote_buf.data, remote_buf.len);
  *reply = copy;
  *reply_len = remote_buf.len;
  return 0;
}

int mproc_pool_worker_handle(const void *msg, size_t len, void **reply, size_t *reply_len) {
  if (!reply || !reply_len)
    return mproc__fail(MPROC_EINVAL, "pool_worker_handle: %s is NULL",
                       reply ? "reply_len" : "reply");
  *reply = NULL;
  *reply_len = 0;
  if (!msg || len < MPROC__TASK_HEAD)
    return mproc__fail(MPROC_EPROTO, "pool_worker_handle: not a pool message (%zu bytes)", len);
  mproc__task_head_t h;
  mproc__task_head_get(msg, &h);
  const unsigned char *m = msg;
  int rc = 0;
  switch (h.kind) {
  case MPROC__TASK_INIT: {
    /* A new pool: its worker index, its initializer and initargs - kept
     * until the next pool's, since the initializer may keep what it read
     * there for later tasks (as a local worker's last as long as it). */
    if (h.fnref_len > len - MPROC__TASK_HEAD)
      return mproc__fail(MPROC_EPROTO, "pool_worker_handle: an initializer cut short");
    remote = (worker_t){.index = (uint32_t)h.begin};
    mproc_args_free(remote_initargs);
    remote_initargs = NULL;
    rc = mproc_args_decode(&remote_initargs, m + MPROC__TASK_HEAD + h.fnref_len,
                           len - MPROC__TASK_HEAD - h.fnref_len);
    if (!rc)
      initialize(&remote, m + MPROC__TASK_HEAD, h.fnref_len, remote_initargs, &remote_buf);
    else if (result_buffer(&remote_buf) == 0)
      finish_result(&remote, &remote_buf, 0, rc, MPROC__RESULT_INIT, mproc_last_error_detail());
    return remote_buf.len ? hand_over(reply, reply_len) : MPROC_ENOMEM;
  }
  case MPROC__TASK_STOP:
    if ((rc = result_buffer(&remote_buf)) != 0)
      return rc;
    finish_result(&remote, &remote_buf, h.id, 0, MPROC__RESULT_STOPPED, "");
    rc = hand_over(reply, reply_len);
    mproc__buf_free(&remote_buf);
    return rc ? rc : 1;
  case MPROC__TASK_APPLY:
  case MPROC__TASK_CHUNK:
  case MPROC__TASK_RANGE:
    if ((rc = run_task(&remote, m, len, &remote_buf)) != 0)
      return rc;
    return hand_over(reply, reply_len);
  default:
    return mproc__fail(MPROC_EPROTO, "pool_worker_handle: a message of kind %u", h.kind);
  }
}
