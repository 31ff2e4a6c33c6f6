/* A pool's worker: the target of each worker process (see pool_wire.h for
 * what it reads and writes).
 *
 * It runs its initializer, then takes tasks from its own inbox one by one:
 * it receives the handles a task's objects need, finds the task's function,
 * decodes the arguments, says in its slot which task it runs (so the pool
 * can tell, if this process dies, which task died with it and which queued
 * ones never started), runs it, and puts the outcome in the pool's result
 * queue. It ends on a STOP, after maxtasksperchild tasks, or with its
 * parent (it is a daemon). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args_objects.h"
#include "connection_internal.h"
#include "fnref.h"
#include "pool_wire.h"
#include "pool_worker.h"

/* The message the running task set (mproc_task_set_error). */
static char task_message[MPROC__RESULT_MESSAGE_MAX + 1];
static bool in_task;

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
  mproc__os_conn_t *channel; /* handles arrive here */
  mproc__worker_slot_t *slot;
  uint32_t index;
  /* The last function resolved: tasks of one map all carry the same. */
  unsigned char fn_bytes[MPROC__FNREF_PACKED_MAX];
  size_t fn_len;
  mproc__fn_t fn;
} worker_t;

/* Puts a result: head, message, payload (already in b after the head and
 * the message's room). */
static int put_result(worker_t *w, mproc__buf_t *b, uint64_t id, int32_t status, uint32_t kind,
                      const char *message) {
  size_t mlen = message ? strlen(message) : 0;
  if (mlen > MPROC__RESULT_MESSAGE_MAX)
    mlen = MPROC__RESULT_MESSAGE_MAX;
  mproc__result_head_t h = {id, status, kind, (uint32_t)mlen, w->index};
  mproc__result_head_put(b->data, &h);
  memcpy(b->data + MPROC__RESULT_HEAD, message ? message : "", mlen);
  /* The payload was appended after MESSAGE_MAX bytes of room: close the
   * gap so the message ends where the payload begins. */
  size_t payload = b->len - (MPROC__RESULT_HEAD + MPROC__RESULT_MESSAGE_MAX);
  memmove(b->data + MPROC__RESULT_HEAD + mlen,
          b->data + MPROC__RESULT_HEAD + MPROC__RESULT_MESSAGE_MAX, payload);
  b->len = MPROC__RESULT_HEAD + mlen + payload;
  return mproc_queue_put_bytes(w->results, b->data, b->len, MPROC_INFINITE);
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

static void begin_task(worker_t *w, uint64_t id) {
  task_message[0] = '\0';
  in_task = true;
  atomic_store_explicit(&w->slot->since_ms, mproc__os_now_ms(), memory_order_relaxed);
  atomic_store_explicit(&w->slot->running, id, memory_order_release);
}

static void end_task(worker_t *w) {
  in_task = false;
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
      if ((rc = mproc__args_encode_into(result, b, NULL)) != 0)
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

/* Runs one task and puts its outcome. Returns an error only when the
 * result queue itself failed (the worker then ends). */
static int run_task(worker_t *w, const unsigned char *msg, size_t len, mproc__buf_t *b) {
  mproc__task_head_t h;
  mproc__task_head_get(msg, &h);
  intptr_t *handles = NULL;
  mproc_args_t *args = NULL;
  mproc__fn_t fn = NULL;
  int rc = 0;
  size_t nhandles = 0;
  if (h.nhandles && !(handles = malloc(h.nhandles * sizeof *handles)))
    rc = mproc__fail(MPROC_ENOMEM, "pool worker: out of memory");
  if (!rc && h.nhandles && (rc = mproc__os_conn_recv_handles(w->channel, handles, h.nhandles)) == 0)
    nhandles = h.nhandles;
  if (!rc && (h.fnref_len > len - MPROC__TASK_HEAD))
    rc = mproc__fail(MPROC_EPROTO, "pool worker: a task cut short");
  if (!rc)
    rc = resolve(w, msg + MPROC__TASK_HEAD, h.fnref_len, &fn);
  const unsigned char *enc = msg + MPROC__TASK_HEAD + h.fnref_len;
  size_t enc_len = len - MPROC__TASK_HEAD - h.fnref_len;
  int put = result_buffer(b);
  if (put)
    rc = put;
  if (!rc && h.kind == MPROC__TASK_CHUNK) {
    /* Every handle becomes an object's, or is closed. */
    rc = run_chunk(w, h.id, (mproc_task_fn)fn, enc, enc_len, handles, nhandles, b);
    nhandles = 0;
    free(handles);
    end_task(w);
    if (rc)
      b->len = MPROC__RESULT_HEAD + MPROC__RESULT_MESSAGE_MAX; /* no payload */
    put = put_result(w, b, h.id, rc, rc ? MPROC__RESULT_ERROR : MPROC__RESULT_OK,
                     rc ? mproc_last_error_detail() : "");
    if (!put)
      atomic_fetch_add_explicit(&w->slot->finished, 1, memory_order_relaxed);
    return put;
  }
  if (!rc) {
    rc = mproc__args_decode_objects(&args, enc, enc_len, handles, nhandles, true);
    nhandles = 0;
  }
  for (size_t i = 0; i < nhandles; i++)
    mproc__os_close_handle(handles[i]);
  free(handles);
  if (put)
    return put;
  if (rc) {
    put = put_result(w, b, h.id, rc, MPROC__RESULT_ERROR, mproc_last_error_detail());
    mproc_args_free(args);
    return put;
  }

  begin_task(w, h.id);
  int32_t status = 0;
  uint32_t kind = MPROC__RESULT_OK;
  if (h.kind == MPROC__TASK_APPLY) {
    mproc_args_t *result;
    rc = mproc_args_new(&result);
    if (!rc) {
      status = ((mproc_task_fn)fn)(args, result);
      if (status != 0)
        kind = MPROC__RESULT_FAILED;
      else if ((rc = mproc__args_encode_into(result, b, NULL)) != 0)
        mproc__error_prefix("pool worker: the task's result");
      mproc_args_free(result);
    }
  } else if (h.kind == MPROC__TASK_RANGE) {
    status = h.begin <= h.end ? ((mproc_range_fn)fn)(args, (size_t)h.begin, (size_t)h.end)
                              : MPROC_EPROTO;
    if (status != 0)
      kind = MPROC__RESULT_FAILED;
  } else {
    rc = mproc__fail(MPROC_EPROTO, "pool worker: a task of kind %u", h.kind);
  }
  end_task(w);
  mproc_args_free(args);
  if (rc) {
    kind = MPROC__RESULT_ERROR;
    status = rc;
    b->len = MPROC__RESULT_HEAD + MPROC__RESULT_MESSAGE_MAX; /* no payload */
  }
  put = put_result(w, b, h.id, status, kind,
                   kind == MPROC__RESULT_ERROR    ? mproc_last_error_detail()
                   : kind == MPROC__RESULT_FAILED ? task_message
                                                  : "");
  if (!put)
    atomic_fetch_add_explicit(&w->slot->finished, 1, memory_order_relaxed);
  return put;
}

/* Runs the initializer: 0, or reports its failure (and the worker ends). */
static int initialize(worker_t *w, const mproc_args_t *args, mproc__buf_t *b) {
  const void *bytes;
  size_t len;
  const mproc_args_t *initargs;
  if (mproc_args_get_bytes(args, 5, &bytes, &len) || mproc_args_get_args(args, 6, &initargs))
    return MPROC_EPROTO;
  if (len == 0)
    return 0;
  mproc__fn_t fn;
  int rc = mproc__fnref_unpack_resolve(bytes, len, &fn);
  int status = 0;
  if (rc == 0) {
    in_task = true;
    task_message[0] = '\0';
    status = ((mproc_target_fn)fn)(initargs);
    in_task = false;
  }
  if (rc == 0 && status == 0)
    return 0;
  if (result_buffer(b) == 0)
    put_result(w, b, 0, rc ? rc : status, MPROC__RESULT_INIT,
               rc ? mproc_last_error_detail() : task_message);
  return rc ? rc : MPROC_EINIT;
}

int mproc__pool_worker_main(const mproc_args_t *args) {
  mproc__os_ignore_interrupts();
  worker_t w = {0};
  mproc_conn_t *channel;
  mproc_array_t *slots;
  int64_t index, maxtasks;
  if (mproc_args_get_queue(args, 0, &w.inbox) || mproc_args_get_queue(args, 1, &w.results) ||
      mproc_args_get_conn(args, 2, &channel) || mproc_args_get_array(args, 3, &slots) ||
      mproc_args_get_int(args, 4, &index) || mproc_args_get_int(args, 7, &maxtasks) || index < 0 ||
      (size_t)(index + 1) * sizeof(mproc__worker_slot_t) > mproc_array_len(slots))
    return 3;
  w.channel = mproc__conn_os(channel);
  w.slot = (mproc__worker_slot_t *)mproc_array_ptr(slots) + index;
  w.index = (uint32_t)index;
  mproc__buf_t b = {0};
  if (initialize(&w, args, &b) != 0) {
    mproc__buf_free(&b);
    return 4;
  }
  atomic_store(&w.slot->ready, 1);
  int code = 0;
  for (int64_t done = 0; maxtasks == 0 || done < maxtasks; done++) {
    void *msg;
    size_t len;
    if (mproc_queue_get_bytes(w.inbox, &msg, &len, MPROC_INFINITE) != 0) {
      code = 5; /* the pool is gone */
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
    if (rc) {
      code = 6; /* the result queue failed: nothing more can be reported */
      break;
    }
  }
  mproc__buf_free(&b);
  return code;
}
