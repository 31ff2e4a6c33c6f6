/* libcrypto linked into the program (a static archive): nothing to load. */
#include "core/internal.h"
#include "libcrypto.h"

static const mproc__libcrypto_t linked = {EVP_sha256, HMAC};

int mproc__posix_libcrypto(const mproc__libcrypto_t **out) {
  *out = &linked;
  return 0;
}
