/* Listeners and clients on Windows: not built yet. Named pipes (pipe:),
 * TCP over Winsock and CNG/BCrypt for authentication are the next step;
 * until then every call says so with MPROC_ENOTSUP. */
#include "../common/internal.h"

int mproc__os_listen(mproc__os_listener_t **out, mproc__addr_kind_t kind, const char *where,
                     int backlog, char *actual, size_t cap) {
  (void)out, (void)kind, (void)where, (void)backlog, (void)actual, (void)cap;
  return mproc__fail(MPROC_ENOTSUP, "listener: not available on Windows yet");
}

int mproc__os_accept(mproc__os_listener_t *l, int timeout_ms, mproc__os_conn_t **out) {
  (void)l, (void)timeout_ms, (void)out;
  return mproc__fail(MPROC_ENOTSUP, "listener: not available on Windows yet");
}

int mproc__os_connect(mproc__addr_kind_t kind, const char *where, mproc__os_conn_t **out) {
  (void)kind, (void)where, (void)out;
  return mproc__fail(MPROC_ENOTSUP, "client: not available on Windows yet");
}

void mproc__os_listener_free(mproc__os_listener_t *l) { (void)l; }

int mproc__os_random(void *buf, size_t n) {
  (void)buf, (void)n;
  return mproc__fail(MPROC_ENOTSUP, "authentication: not available on Windows yet");
}

int mproc__os_hmac_sha256(const void *key, size_t keylen, const void *msg, size_t msglen,
                          unsigned char out[32]) {
  (void)key, (void)keylen, (void)msg, (void)msglen, (void)out;
  return mproc__fail(MPROC_ENOTSUP, "authentication: not available on Windows yet");
}
