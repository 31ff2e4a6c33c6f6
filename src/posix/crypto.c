/* HMAC-SHA256 and randomness from OpenSSL's libcrypto (POSIX): the
 * authentication of Listener/Client connections writes no cryptography. */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "core/internal.h"

int mproc__os_random(void *buf, size_t n) {
  if (n > INT32_MAX || RAND_bytes(buf, (int)n) != 1)
    return mproc__fail(MPROC_ESYS, "authentication: RAND_bytes failed");
  return 0;
}

int mproc__os_hmac_sha256(const void *key, size_t keylen, const void *msg, size_t msglen,
                          unsigned char out[32]) {
  unsigned int len = 0;
  if (keylen > INT32_MAX || !HMAC(EVP_sha256(), key, (int)keylen, msg, msglen, out, &len) ||
      len != 32)
    return mproc__fail(MPROC_ESYS, "authentication: HMAC-SHA256 failed");
  return 0;
}
