/* Argument tuple decoding, with a round-trip oracle: whatever decodes
 * encodes, and that encoding decodes to a tuple that encodes the same. */
#include <string.h>

#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  mproc_args_t *a;
  if (mproc_args_decode(&a, data, size) != 0)
    return 0;
  void *b1, *b2;
  size_t n1, n2;
  FUZZ_ASSERT(mproc_args_encode(a, &b1, &n1) == 0);
  mproc_args_t *again;
  FUZZ_ASSERT(mproc_args_decode(&again, b1, n1) == 0);
  FUZZ_ASSERT(mproc_args_count(again) == mproc_args_count(a));
  FUZZ_ASSERT(mproc_args_encode(again, &b2, &n2) == 0);
  FUZZ_ASSERT(n1 == n2 && memcmp(b1, b2, n1) == 0);
  mproc_free(b1);
  mproc_free(b2);
  mproc_args_free(again);
  mproc_args_free(a);
  return 0;
}
