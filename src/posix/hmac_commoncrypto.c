/* HMAC-SHA256 for the authentication of Listener/Client connections on
 * Apple's systems, from CommonCrypto (part of libSystem): nothing to load,
 * nothing to ship, as CNG on Windows. */
#include <stddef.h>
#include <stdint.h>

#include "core/internal.h"

#if __has_include(<CommonCrypto/CommonHMAC.h>)
#  include <CommonCrypto/CommonHMAC.h>
#else
/* Cross-builds (zig cc) carry libSystem's stubs, CCHmac among them, but not
 * this header: the declaration as Apple documents it (CommonHMAC.h). */
typedef uint32_t CCHmacAlgorithm;
enum { kCCHmacAlgSHA256 = 2 };
void CCHmac(CCHmacAlgorithm algorithm, const void *key, size_t keyLength, const void *data,
            size_t dataLength, void *macOut);
#endif

int mproc__os_hmac_sha256(const void *key, size_t keylen, const void *msg, size_t msglen,
                          unsigned char out[32]) {
  /* CCHmac has no failure to report: a NULL key of length 0 is an empty key. */
  CCHmac(kCCHmacAlgSHA256, key, keylen, msg, msglen, out);
  return 0;
}
