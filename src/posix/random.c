/* Random bytes (POSIX) for names, tokens and the connection handshake's
 * challenges: from the kernel (getentropy: Linux, the BSDs, macOS, musl),
 * so making a lock or a name never touches a crypto library. The HMAC of
 * the handshake is in hmac_libcrypto.c (OpenSSL's libcrypto) or
 * hmac_commoncrypto.c (Apple's CommonCrypto). */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <string.h>
#include <unistd.h>
#ifdef __APPLE__
#  include <sys/random.h>
#endif

#include "core/internal.h"

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
