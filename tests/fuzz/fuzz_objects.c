/* Object items decoded against a real handle table: a Lock, an Event, a
 * Queue, a Value and a connection exported once, then any bytes decoded
 * with duplicates of their handles. Nothing may crash, and no descriptor
 * may be left open (counted every 256 inputs). */
#include <dirent.h>

#include "../../src/args/args_objects.h"
#include "fuzz_util.h"
#include "object_table.h"

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
  void *buf;
  size_t len;
  if (fuzz_object_table(&buf, &len, &table))
    abort();
  mproc_free(buf);
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
