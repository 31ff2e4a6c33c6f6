/* HMAC-SHA256 and random bytes for the connection handshake, from the
 * OS's own CNG (bcrypt): nothing to load, nothing to ship. */
#include <limits.h>
#include <windows.h>
/* after windows.h, which it needs */
#include <bcrypt.h>

#include "core/internal.h"

int mproc__os_random(void *buf, size_t n) {
  if (n > ULONG_MAX || BCryptGenRandom(NULL, buf, (ULONG)n, BCRYPT_USE_SYSTEM_PREFERRED_RNG) != 0)
    return mproc__fail(MPROC_ESYS, "authentication: BCryptGenRandom failed");
  return 0;
}

int mproc__os_hmac_sha256(const void *key, size_t keylen, const void *msg, size_t msglen,
                          unsigned char out[32]) {
  BCRYPT_ALG_HANDLE alg = NULL;
  BCRYPT_HASH_HANDLE hash = NULL;
  NTSTATUS st =
      BCryptOpenAlgorithmProvider(&alg, BCRYPT_SHA256_ALGORITHM, NULL, BCRYPT_ALG_HANDLE_HMAC_FLAG);
  if (st == 0)
    st = BCryptCreateHash(alg, &hash, NULL, 0, (PUCHAR)key, (ULONG)keylen, 0);
  if (st == 0)
    st = BCryptHashData(hash, (PUCHAR)msg, (ULONG)msglen, 0);
  if (st == 0)
    st = BCryptFinishHash(hash, out, 32, 0);
  if (hash)
    BCryptDestroyHash(hash);
  if (alg)
    BCryptCloseAlgorithmProvider(alg, 0);
  if (st != 0 || keylen > ULONG_MAX || msglen > ULONG_MAX)
    return mproc__fail(MPROC_ESYS, "authentication: HMAC-SHA256 (CNG) failed: 0x%lx",
                       (unsigned long)st);
  return 0;
}
