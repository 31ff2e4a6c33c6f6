/* HMAC-SHA256 and randomness (POSIX): the authentication of Listener/Client
 * connections writes no cryptography. Random bytes come from the kernel
 * (getentropy: Linux, the BSDs, macOS, musl), so making a lock or a name
 * never touches libcrypto; HMAC comes from OpenSSL's libcrypto, which is
 * loaded only when a connection authenticates (libcrypto.h). */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <string.h>
#include <unistd.h>
#ifdef __APPLE__
#  include <sys/random.h>
#endif

#include "core/internal.h"
#include "libcrypto.h"

/* getentropy gives at most 256 bytes a call. */
enum { ENTROPY_MAX = 256 };

int mproc__os_random(void *buf, size_t n) {
  unsigned char *p = buf;
  while (n > 0) {
    size_t piece = n < ENTROPY_MAX ? n : ENTROPY_MAX;
    if (getentropy(p, piece) != 0)
      return mproc__fail(MPROC_ESYS, "random bytes: getentropy failed: %s", strerror(errno));
    p += piece;
    n -= piece;
  }
  return 0;
}

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
