/* HMAC-SHA256 for the authentication of Listener/Client connections, from
 * OpenSSL's libcrypto, which is loaded only when a connection
 * authenticates (libcrypto.h): the platform's, never our own. */
#include <stdint.h>

#include "core/internal.h"
#include "libcrypto.h"

int mproc__os_hmac_sha256(const void *key, size_t keylen, const void *msg, size_t msglen,
                          unsigned char out[32]) {
  const mproc__libcrypto_t *lib;
  int rc = mproc__posix_libcrypto(&lib);
  if (rc != 0)
    return rc;
  unsigned int len = 0;
  if (keylen > INT32_MAX || !lib->hmac(lib->sha256(), key, (int)keylen, msg, msglen, out, &len) ||
      len != 32)
    return mproc__fail(MPROC_ESYS, "authentication: HMAC-SHA256 failed");
  return 0;
}
