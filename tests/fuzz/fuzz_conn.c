/* Connection framing from any bytes: receives into a fresh buffer or a
 * small one, polls, a message limit, reading exactly or ahead; then
 * end-of-file. Every call returns;
 * nothing crashes or allocates more than the limit. */
#include <sys/socket.h>
#include <unistd.h>

#include "../../src/connection/connection_internal.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2 || size > 65536)
    return 0;
  mproc_conn_t *a, *b;
  if (mproc_pipe(&a, &b, true))
    abort();
  uint8_t mode = data[0];
  if (mproc__os_conn_write(mproc__conn_os(b), data + 1, size - 1))
    abort();
  mproc_conn_free(b); /* the reader meets end-of-file after the bytes */
  if (mode & 1)
    mproc_conn_set_max_message(a, 64u << (mode >> 4));
  if ((size & 1) && mproc__conn_read_ahead(a)) /* odd sizes: a Manager's reader */
    abort();
  for (int i = 0; i < 64; i++) {
    int rc;
    if (mode & 2) {
      unsigned char small[48];
      size_t len;
      rc = mproc_conn_recv_bytes_into(a, small, (mode & 4) ? sizeof small : 0, &len, 0);
      if (rc == MPROC_ETOOBIG && len <= 65536) { /* take it with a big enough buffer */
        void *big = malloc(len ? len : 1);
        rc = mproc_conn_recv_bytes_into(a, big, len, &len, 0);
        free(big);
      }
    } else if (mode & 8) {
      mproc_args_t *args;
      rc = mproc_conn_recv(a, &args, 0);
      if (rc == 0)
        mproc_args_free(args);
    } else {
      void *buf;
      size_t len;
      rc = mproc_conn_recv_bytes(a, &buf, &len, 0);
      if (rc == 0)
        mproc_free(buf);
    }
    FUZZ_ASSERT(mproc_conn_poll(a, 0) >= 0 || rc != 0);
    if (rc == MPROC_EEOF || rc == MPROC_EPROTO || rc == MPROC_ETIMEDOUT)
      break;
  }
  mproc_conn_free(a);
  return 0;
}
