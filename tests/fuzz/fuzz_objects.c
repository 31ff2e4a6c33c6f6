/* Object items decoded against a real handle table: a Lock, an Event, a
 * Queue, a Value and a connection exported once, then any bytes decoded
 * with duplicates of their handles. Nothing may crash, and no descriptor
 * may be left open (counted every 256 inputs). */
#include <dirent.h>

#include "../../src/common/args_objects.h"
#include "fuzz_util.h"

static mproc__handle_table_t table;
static int baseline = -1;

static int open_fds(void) {
  int n = 0;
  DIR *d = opendir("/proc/self/fd");
  for (struct dirent *e; d && (e = readdir(d)) != NULL;)
    n += e->d_name[0] != '.';
  if (d)
    closedir(d);
  return n;
}

static void setup(void) {
  mproc_lock_t *lock;
  mproc_event_t *ev;
  mproc_queue_t *q;
  mproc_value_t *v;
  mproc_conn_t *c1, *c2;
  mproc_args_t *a;
  void *buf;
  size_t len;
  if (mproc_lock_new(&lock) || mproc_event_new(&ev) || mproc_queue_new(&q, NULL) ||
      mproc_value_new(&v, MPROC_T_I64, NULL) || mproc_pipe(&c1, &c2, true) || mproc_args_new(&a) ||
      mproc_args_add_lock(a, lock) || mproc_args_add_event(a, ev) || mproc_args_add_queue(a, q) ||
      mproc_args_add_value(a, v) || mproc_args_add_conn(a, c1) ||
      mproc__args_encode_objects(a, &buf, &len, &table))
    abort();
  mproc_free(buf);
  mproc_args_free(a); /* the table's handles keep the objects' resources alive */
  mproc_lock_free(lock);
  mproc_event_free(ev);
  mproc_queue_free(q);
  mproc_value_free(v);
  mproc_conn_free(c1);
  mproc_conn_free(c2);
  baseline = open_fds();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (baseline < 0)
    setup();
  int before = open_fds();
  mproc_args_t *a;
  if (mproc__args_decode_objects(&a, data, size, table.h, table.n, false) == 0)
    mproc_args_free(a);
  FUZZ_ASSERT(open_fds() == before); /* every duplicate closed again */
  return 0;
}
