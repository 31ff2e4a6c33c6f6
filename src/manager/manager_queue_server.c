/* A manager's Queue and JoinableQueue: a ring of encoded items. */
#include <stdlib.h>

#include "manager/manager_server.h"

int mproc__mgr_queue_init(mproc__mgr_call_t *call, mproc__mgr_obj_t *o) {
  int64_t maxsize;
  int rc = mproc__mgr_get_i64(&call->in, &maxsize);
  if (!rc && maxsize < 0)
    rc = mproc__fail(MPROC_EINVAL, "manager: a queue's maxsize %lld is negative",
                     (long long)maxsize);
  o->u.queue.maxsize = maxsize;
  return rc;
}

static int push(mproc__mgr_obj_t *o, mproc__blob_t *v) {
  if (o->u.queue.n == o->u.queue.cap) {
    size_t cap = o->u.queue.cap ? o->u.queue.cap * 2 : 16;
    mproc__blob_t **ring = malloc(cap * sizeof *ring);
    if (!ring)
      return mproc__fail(MPROC_ENOMEM, "manager: out of memory for a queue of %zu items", cap);
    for (size_t i = 0; i < o->u.queue.n; i++)
      ring[i] = o->u.queue.ring[(o->u.queue.head + i) % o->u.queue.cap];
    free(o->u.queue.ring);
    o->u.queue.ring = ring;
    o->u.queue.head = 0;
    o->u.queue.cap = cap;
  }
  o->u.queue.ring[(o->u.queue.head + o->u.queue.n++) % o->u.queue.cap] = v;
  return 0;
}

static mproc__blob_t *pop(mproc__mgr_obj_t *o) {
  mproc__blob_t *v = o->u.queue.ring[o->u.queue.head];
  o->u.queue.head = (o->u.queue.head + 1) % o->u.queue.cap;
  o->u.queue.n--;
  return v;
}

static bool has_room(const mproc__mgr_obj_t *o) {
  return !o->u.queue.maxsize || (int64_t)o->u.queue.n < o->u.queue.maxsize;
}
static bool has_item(const mproc__mgr_obj_t *o) { return o->u.queue.n > 0; }
static bool all_done(const mproc__mgr_obj_t *o) { return o->u.queue.unfinished == 0; }

int mproc__mgr_queue_call(mproc__mgr_call_t *call, mproc__mgr_obj_t *o) {
  uint16_t op = call->head.op;
  bool joinable = o->kind == MPROC_PROXY_JOINABLE_QUEUE;
  if (op < MPROC__OP_QUEUE_PUT || op > MPROC__OP_QUEUE_FULL ||
      (!joinable && (op == MPROC__OP_QUEUE_TASK_DONE || op == MPROC__OP_QUEUE_JOIN)))
    return mproc__fail(MPROC_ETYPE, "manager: call %u does not apply to a %s", op,
                       joinable ? "JoinableQueue" : "Queue");
  const unsigned char *p = NULL;
  size_t n = 0;
  int32_t timeout = 0;
  int64_t deadline = -1;
  int rc = 0;
  if (op == MPROC__OP_QUEUE_PUT)
    rc = mproc__mgr_get_item(&call->in, &p, &n);
  if (!rc && (op == MPROC__OP_QUEUE_PUT || op == MPROC__OP_QUEUE_GET || op == MPROC__OP_QUEUE_JOIN))
    if ((rc = mproc__mgr_get_i32(&call->in, &timeout)) == 0)
      rc = mproc__mgr_deadline(call, timeout, &deadline);
  if (rc || (rc = mproc__mgr_get_end(&call->in)))
    return rc;
  mproc__blob_t *v;
  switch (op) {
  case MPROC__OP_QUEUE_PUT:
    if ((rc = mproc__mgr_wait_until(call, o, has_room, deadline, MPROC_EFULL,
                                    "Full: the queue is full")) ||
        (rc = mproc__mgr_take_value(call, p, n, &v)))
      return rc;
    if ((rc = push(o, v))) {
      free(v);
      return rc;
    }
    o->u.queue.unfinished += joinable;
    mproc__os_cond_broadcast(o->cv);
    return 0;
  case MPROC__OP_QUEUE_GET:
    if ((rc = mproc__mgr_wait_until(call, o, has_item, deadline, MPROC_EEMPTY,
                                    "Empty: the queue is empty")))
      return rc;
    v = pop(o);
    rc = mproc__mgr_reply_value(call, v);
    if (rc) { /* the item stays: put it back in front */
      o->u.queue.head = (o->u.queue.head + o->u.queue.cap - 1) % o->u.queue.cap;
      o->u.queue.ring[o->u.queue.head] = v;
      o->u.queue.n++;
      return rc;
    }
    free(v);
    mproc__os_cond_broadcast(o->cv);
    return 0;
  case MPROC__OP_QUEUE_SIZE:
    return mproc__mgr_put_u64(call->out, o->u.queue.n);
  case MPROC__OP_QUEUE_EMPTY:
    return mproc__mgr_put_u8(call->out, !has_item(o));
  case MPROC__OP_QUEUE_FULL:
    return mproc__mgr_put_u8(call->out, !has_room(o));
  case MPROC__OP_QUEUE_TASK_DONE:
    if (!o->u.queue.unfinished)
      return mproc__fail(MPROC_EVALUE, "manager: ValueError: task_done() called too many times");
    if (--o->u.queue.unfinished == 0)
      mproc__os_cond_broadcast(o->cv);
    return 0;
  default: /* JOIN */
    return mproc__mgr_wait_until(call, o, all_done, deadline, MPROC_ETIMEDOUT, "join timed out");
  }
}

void mproc__mgr_queue_free(mproc__mgr_obj_t *o) {
  while (o->u.queue.n)
    free(pop(o));
  free(o->u.queue.ring);
}
