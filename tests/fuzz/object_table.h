/* The object tuple the objects harness decodes against, written once: the
 * harness takes its handle table, make_seeds its encoding as a seed, so
 * both always agree on the order (lock, event, queue, value, connection). */
#ifndef MPROC_FUZZ_OBJECT_TABLE_H
#define MPROC_FUZZ_OBJECT_TABLE_H

#include "../../src/args/args_objects.h"
#include "mproc.h"

/* Encodes the tuple into *buf, *len (mproc_free) and *table; the objects
 * themselves are freed again (the table's handles keep their resources).
 * 0, or -1 when something could not be made. */
static inline int fuzz_object_table(void **buf, size_t *len, mproc__handle_table_t *table) {
  mproc_lock_t *lock = NULL;
  mproc_event_t *ev = NULL;
  mproc_queue_t *q = NULL;
  mproc_value_t *v = NULL;
  mproc_conn_t *c1 = NULL, *c2 = NULL;
  mproc_args_t *a = NULL;
  int rc = mproc_lock_new(&lock) || mproc_event_new(&ev) || mproc_queue_new(&q, NULL) ||
                   mproc_value_new(&v, MPROC_T_I64, NULL) || mproc_pipe(&c1, &c2, true) ||
                   mproc_args_new(&a) || mproc_args_add_lock(a, lock) ||
                   mproc_args_add_event(a, ev) || mproc_args_add_queue(a, q) ||
                   mproc_args_add_value(a, v) || mproc_args_add_conn(a, c1) ||
                   mproc__args_encode_objects(a, buf, len, table)
               ? -1
               : 0;
  mproc_args_free(a);
  mproc_lock_free(lock);
  mproc_event_free(ev);
  mproc_queue_free(q);
  mproc_value_free(v);
  mproc_conn_free(c1);
  mproc_conn_free(c2);
  return rc;
}

#endif
