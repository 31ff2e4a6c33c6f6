/* The authentication handshake against a peer that sends any bytes, on
 * either side: it must fail (no bytes can answer a fresh random challenge
 * with the right MAC), and fail promptly on end-of-file. */
#include "../../src/connection/connection_internal.h"
#include "fuzz_util.h"

static const unsigned char KEY[] = "the key";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1 || size > 4096)
    return 0;
  mproc_conn_t *a, *b;
  if (mproc_pipe(&a, &b, true))
    abort();
  if (mproc__os_conn_write(mproc__conn_os(b), data + 1, size - 1))
    abort();
  /* Keep b open for writing replies into, but let reads meet EOF: close
   * its sending direction by freeing it after the bytes are queued. */
  mproc_conn_free(b);
  int rc = mproc__handshake(a, KEY, sizeof KEY - 1, data[0] & 1, mproc__deadline(1000));
  FUZZ_ASSERT(rc != 0);
  mproc_conn_free(a);
  return 0;
}
