/* The two functions of OpenSSL's libcrypto that authentication uses.
 * Where libcrypto is a shared library (every Linux distribution), it is
 * opened on first use (libcrypto_dlopen.c): a spawned child that never
 * authenticates does not map it, which was most of the cost of starting
 * one. Where it can only be linked (a static archive, as on the musl leg),
 * libcrypto_linked.c hands out the linked functions. CMake picks the file. */
#ifndef MPROC_POSIX_LIBCRYPTO_H
#define MPROC_POSIX_LIBCRYPTO_H

#include <openssl/evp.h>
#include <openssl/hmac.h>

typedef struct {
  const EVP_MD *(*sha256)(void);
  unsigned char *(*hmac)(const EVP_MD *md, const void *key, int keylen, const unsigned char *msg,
                         size_t msglen, unsigned char *out, unsigned int *outlen);
} mproc__libcrypto_t;

/* The functions, loading libcrypto the first time (thread-safe). Errors:
 * MPROC_ENOTSUP when libcrypto cannot be opened here, the loader's reason
 * in the detail. */
int mproc__posix_libcrypto(const mproc__libcrypto_t **out);

#endif
