/* Tuples over a byte channel (a connection, a queue): encode then send,
 * receive then decode - written once for every channel. */
#include "core/internal.h"

int mproc__send_args(mproc__bytes_send_fn send, void *ch, const mproc_args_t *args, int timeout_ms,
                     const char *op) {
  if (!args)
    return mproc__fail(MPROC_EINVAL, "%s: args is NULL", op);
  void *buf;
  size_t len;
  int rc = mproc_args_encode(args, &buf, &len);
  if (rc == MPROC_ENOTSUP)
    return mproc__fail(MPROC_ENOTSUP,
                       "%s: the tuple holds an object (connection, lock, queue...) "
                       "that only a child's arguments or a pool task's can carry",
                       op);
  if (rc)
    return rc;
  rc = send(ch, buf, len, timeout_ms);
  mproc_free(buf);
  return rc;
}

int mproc__recv_args(mproc__bytes_recv_fn recv, void *ch, mproc_args_t **args, int timeout_ms,
                     const char *op) {
  if (!args)
    return mproc__fail(MPROC_EINVAL, "%s: args is NULL", op);
  void *buf = NULL;
  size_t len = 0;
  int rc = recv(ch, &buf, &len, timeout_ms);
  if (rc)
    return rc;
  rc = mproc_args_decode(args, buf, len);
  mproc_free(buf);
  return rc;
}
