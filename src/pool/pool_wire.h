/* What crosses between a pool and its workers (pool.c, pool_worker.c).
 *
 * A task, in a worker's inbox (one queue message, little-endian):
 *   u32 kind | u32 nhandles | u64 task id | u64 begin | u64 end
 *   | u32 fnref length | u32 zero | the packed function (fnref.h)
 *   | the arguments: one encoded tuple
 * nhandles: the objects in the arguments take that many handles, which
 * travel first over the worker's handle channel (handles cannot ride in a
 * queue). APPLY: the tuple is the task's arguments. CHUNK: a tuple of
 * argument tuples, one per item. RANGE: the context tuple, items
 * [begin, end). STOP: nothing else; the worker exits. INIT (only to a
 * worker elsewhere, pool_backend.h): begin is the worker's index, the
 * function is the initializer (length 0: none), the tuple its arguments.
 *
 * A result, in the pool's result queue:
 *   u64 task id | i32 status | u32 kind | u32 message length | u32 worker
 *   | u32 nhandles | u32 zero | the message (UTF-8) | the payload: one
 *   encoded tuple
 * nhandles: the objects in the payload take that many handles, which the
 * worker sent over its handle channel just before it put the result (so
 * they are there when the pool reads it); only a worker of this machine
 * sends any.
 * OK: APPLY's payload is its result tuple; CHUNK's is (results, failures):
 * a result tuple or nil per item, and (index, status, message) per item
 * whose task failed; RANGE's is empty.
 * FAILED: the task returned status (its message says why). ERROR: the
 * library failed before or after the task (status is an MPROC_E* code).
 * INIT: the worker's initializer failed (status), and it exits; a worker
 * elsewhere also says status 0: it is ready. STOPPED: a worker elsewhere
 * left the pool, as asked. */
#ifndef MPROC_POOL_POOL_WIRE_H
#define MPROC_POOL_POOL_WIRE_H

#include "core/internal.h"

enum {
  MPROC__TASK_APPLY = 1,
  MPROC__TASK_CHUNK,
  MPROC__TASK_RANGE,
  MPROC__TASK_STOP,
  MPROC__TASK_INIT
};
enum { MPROC__TASK_HEAD = 40 };

typedef struct {
  uint32_t kind;
  uint32_t nhandles;
  uint64_t id;
  uint64_t begin, end;
  uint32_t fnref_len;
} mproc__task_head_t;

enum {
  MPROC__RESULT_OK = 0,
  MPROC__RESULT_FAILED,
  MPROC__RESULT_ERROR,
  MPROC__RESULT_INIT,
  MPROC__RESULT_STOPPED
};
enum { MPROC__RESULT_HEAD = 32, MPROC__RESULT_MESSAGE_MAX = 511 };

typedef struct {
  uint64_t id;
  int32_t status;
  uint32_t kind;
  uint32_t message_len;
  uint32_t worker;
  uint32_t nhandles;
} mproc__result_head_t;

static inline void mproc__task_head_put(unsigned char *p, const mproc__task_head_t *h) {
  mproc__put_u32(p, h->kind);
  mproc__put_u32(p + 4, h->nhandles);
  mproc__put_u64(p + 8, h->id);
  mproc__put_u64(p + 16, h->begin);
  mproc__put_u64(p + 24, h->end);
  mproc__put_u32(p + 32, h->fnref_len);
  mproc__put_u32(p + 36, 0);
}

static inline void mproc__task_head_get(const unsigned char *p, mproc__task_head_t *h) {
  h->kind = mproc__get_u32(p);
  h->nhandles = mproc__get_u32(p + 4);
  h->id = mproc__get_u64(p + 8);
  h->begin = mproc__get_u64(p + 16);
  h->end = mproc__get_u64(p + 24);
  h->fnref_len = mproc__get_u32(p + 32);
}

/* Sets the id of an encoded task (ids are given once it is queued). */
static inline void mproc__task_head_set_id(unsigned char *p, uint64_t id) {
  mproc__put_u64(p + 8, id);
}

static inline void mproc__result_head_put(unsigned char *p, const mproc__result_head_t *h) {
  mproc__put_u64(p, h->id);
  mproc__put_u32(p + 8, (uint32_t)h->status);
  mproc__put_u32(p + 12, h->kind);
  mproc__put_u32(p + 16, h->message_len);
  mproc__put_u32(p + 20, h->worker);
  mproc__put_u32(p + 24, h->nhandles);
  mproc__put_u32(p + 28, 0);
}

static inline void mproc__result_head_get(const unsigned char *p, mproc__result_head_t *h) {
  h->id = mproc__get_u64(p);
  h->status = (int32_t)mproc__get_u32(p + 8);
  h->kind = mproc__get_u32(p + 12);
  h->message_len = mproc__get_u32(p + 16);
  h->worker = mproc__get_u32(p + 20);
  h->nhandles = mproc__get_u32(p + 24);
}

/* Sets the worker of an encoded result (the one its transport vouches for). */
static inline void mproc__result_head_set_worker(unsigned char *p, uint32_t worker) {
  mproc__put_u32(p + 20, worker);
}

/* A worker's slot in the pool's shared table: what it is running, since
 * when, so the pool can tell after its death which task it was in. The
 * worker stores running with release order before it calls the task. */
typedef struct {
  _Atomic uint64_t running; /* task id; 0: between tasks */
  _Atomic int64_t since_ms; /* when it started running */
  /* The task whose function returned and whose result is not yet put
   * (0: none): still the one a death fails, never run again elsewhere. */
  _Atomic uint64_t delivering;
  _Atomic uint64_t finished; /* tasks whose result it committed */
  _Atomic uint32_t ready;    /* its initializer is done */
  /* Why it ends on its own (MPROC__WORKER_*), stored before it exits with
   * that status: a task that exits with the same number is told apart. */
  _Atomic uint32_t exit_reason;
  uint64_t pad[3]; /* one cache line per worker */
} mproc__worker_slot_t;

#endif
