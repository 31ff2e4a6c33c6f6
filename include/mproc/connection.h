/* mproc — connections: Python's Pipe() and multiprocessing.connection.
 *
 * A connection end carries messages: byte strings of 0 bytes to many GiB
 * (in a 32-bit process, what its address space holds twice over), or
 * typed tuples (mproc_args_t). Messages are framed with a length prefix, so
 * a receive returns exactly one whole message; nothing is read ahead, so
 * several processes may share one end. See docs/connection.md. */
#ifndef MPROC_CONNECTION_H
#define MPROC_CONNECTION_H

#include <stdbool.h>
#include <stddef.h>

#include "args.h"
#include "error.h"
#include "export.h"
#include "wait.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mproc_conn mproc_conn_t;

/* Makes a connected pair (Python's Pipe(duplex)).
 * Params: a, b — receive the ends; duplex — true: both ends send and
 *   receive; false: a only receives and b only sends (Python's (r, w)).
 * Returns: 0.
 * Errors: MPROC_EINVAL (NULL a or b), MPROC_ESYS, MPROC_ENOMEM.
 * Platform: AF_UNIX socketpair (POSIX; one-way pairs have the unused
 *   directions shut down, and a closed reader is MPROC_EEOF, never SIGPIPE,
 *   which pipe() would raise); a uniquely
 *   named byte-mode pipe pair with overlapped I/O (Windows). */
MPROC_API int mproc_pipe(mproc_conn_t **a, mproc_conn_t **b, bool duplex);

/* Sends one message of len bytes (Python's send_bytes).
 * Params: c — the connection; buf, len — the bytes (buf may be NULL when
 *   len is 0).
 * Returns: 0 once the bytes are handed to the OS.
 * Errors: MPROC_EINVAL (NULL c, NULL buf with len > 0, a receive-only end),
 *   MPROC_ECLOSED (closed), MPROC_ETOOBIG (len above the max_message limit;
 *   nothing is sent), MPROC_EEOF (the other end is closed), MPROC_ESYS. */
MPROC_API int mproc_conn_send_bytes(mproc_conn_t *c, const void *buf, size_t len);

/* Receives one message (Python's recv_bytes).
 * Params: c — the connection; buf, len — receive the message, which the
 *   caller releases with
 *   mproc_free (never NULL on success, even for 0 bytes); timeout_ms —
 *   MPROC_INFINITE, 0 or milliseconds to wait for a message to begin.
 * Returns: 0.
 * Errors: MPROC_EINVAL, MPROC_ECLOSED, MPROC_ETIMEDOUT (no message began in
 *   time; nothing consumed), MPROC_EEOF (the other end closed and every
 *   message it sent has been received), MPROC_ETOOBIG (the message exceeds
 *   max_message: it is skipped, the next one is intact), MPROC_EPROTO (the
 *   sender died in the middle of a message), MPROC_ENOMEM, MPROC_ESYS. */
MPROC_API int mproc_conn_recv_bytes(mproc_conn_t *c, void **buf, size_t *len, int timeout_ms);

/* Receives one message into the caller's buffer (Python's recv_bytes_into).
 * Params: c — the connection; buf, cap — the buffer; len — receives the
 *   message's length (also when it does not fit); timeout_ms — as
 *   mproc_conn_recv_bytes.
 * Returns: 0.
 * Errors: as mproc_conn_recv_bytes, and MPROC_ETOOBIG when cap < *len: the
 *   message is kept for the next receive on this connection (its header in
 *   the connection, its body in the stream), e.g. with a larger buffer. */
MPROC_API int mproc_conn_recv_bytes_into(mproc_conn_t *c, void *buf, size_t cap, size_t *len,
                                         int timeout_ms);

/* Sends a typed tuple (Python's send(obj)): its MessagePack encoding as one
 * message.
 * Params: c — the connection; args — the tuple.
 * Returns: 0 once the message is handed to the OS.
 * Errors: as mproc_conn_send_bytes; MPROC_EINVAL (args NULL), MPROC_ENOTSUP
 *   (the tuple holds a connection, lock, queue or other object that only
 *   a child's arguments carry; Manager proxies do cross). */
MPROC_API int mproc_conn_send(mproc_conn_t *c, const mproc_args_t *args);

/* Receives a typed tuple (Python's recv()).
 * Params: c — the connection; args — receives a new tuple, freed with
 *   mproc_args_free; timeout_ms — as mproc_conn_recv_bytes.
 * Returns: 0.
 * Errors: as mproc_conn_recv_bytes, MPROC_EPROTO (not an encoded tuple; the
 *   message is consumed). */
MPROC_API int mproc_conn_recv(mproc_conn_t *c, mproc_args_t **args, int timeout_ms);

/* Tells whether a message (or end-of-file) is waiting (Python's poll).
 * Params: c — the connection; timeout_ms — MPROC_INFINITE, 0 (check once) or milliseconds.
 * Returns: 1 ready, 0 not ready within the timeout.
 * Errors: MPROC_EINVAL (NULL, or a send-only end), MPROC_ECLOSED, MPROC_ESYS. */
MPROC_API int mproc_conn_poll(mproc_conn_t *c, int timeout_ms);

/* Limits the size of messages this end sends or receives (0: no limit, the
 * default). A larger outgoing message is refused; a larger incoming one is
 * skipped with MPROC_ETOOBIG, leaving the connection usable.
 * Params: c — the connection; max_bytes — the limit.
 * Returns: 0.
 * Errors: MPROC_EINVAL (NULL c). */
MPROC_API int mproc_conn_set_max_message(mproc_conn_t *c, size_t max_bytes);

/* Whether this end can receive / send (Python's readable / writable).
 * Params: c — the connection.
 * Returns: true or false; false for NULL c. */
MPROC_API bool mproc_conn_readable(const mproc_conn_t *c);
MPROC_API bool mproc_conn_writable(const mproc_conn_t *c);

/* Closes this end (Python's close()); later calls fail with MPROC_ECLOSED.
 * Closing twice is fine. The other end sees end-of-file once every copy of
 * this end (in children too) is closed.
 * Params: c — the connection.
 * Returns: 0.
 * Errors: MPROC_EINVAL (NULL c). */
MPROC_API int mproc_conn_close(mproc_conn_t *c);

/* Closes and frees.
 * Params: c — the connection; NULL is ignored. */
MPROC_API void mproc_conn_free(mproc_conn_t *c);

/* A connection for mproc_wait: ready when a message or end-of-file waits.
 * Params: c — the connection.
 * Returns: the waitable (mproc_wait refuses a NULL connection with
 *   MPROC_EINVAL). */
MPROC_API mproc_waitable_t mproc_waitable_conn(mproc_conn_t *c);

/* Adds a connection end to a tuple: the tuple holds its own duplicate of
 * the end (close yours whenever you like). Passed to mproc_process_new, the
 * child gets its own end, under every start method.
 * Params: a — the tuple; c — the connection end.
 * Returns: 0.
 * Errors: MPROC_EINVAL (NULL, or a closed connection), MPROC_ESYS,
 *   MPROC_ENOMEM.
 * Platform: every kind of connection on both; a Windows tcp: socket is
 *   shared with WSADuplicateSocketW, everything else inherited. */
MPROC_API int mproc_args_add_conn(mproc_args_t *a, mproc_conn_t *c);

/* Reads a connection item.
 * Params: a — the tuple; i — the item's index; out — receives the
 *   connection, borrowed from the tuple (do not free it; it is closed
 *   with the tuple).
 * Returns: 0.
 * Errors: as the other getters (MPROC_EINVAL, MPROC_ERANGE, MPROC_ETYPE). */
MPROC_API int mproc_args_get_conn(const mproc_args_t *a, size_t i, mproc_conn_t **out);

/* ---- Listener and Client ------------------------------------------------ */

typedef struct mproc_listener mproc_listener_t;

/* Options of mproc_listener_new; zeroed: no authentication, the OS's
 * largest backlog, a 10 s handshake. */
typedef struct {
  const void *authkey;      /* both sides must know it (HMAC-SHA256 handshake) */
  size_t authkey_len;       /* 0: no authentication */
  int backlog;              /* pending connections; 0: the OS maximum (SOMAXCONN) */
  int handshake_timeout_ms; /* the whole handshake, or the peer is dropped; 0: 10000 */
  /* For options of later versions: leave zero (else MPROC_EINVAL). */
  uint64_t reserved[4];
} mproc_listener_opts_t;

/* Options of mproc_client_connect; zeroed: no authentication. */
typedef struct {
  const void *authkey;
  size_t authkey_len;
  int handshake_timeout_ms; /* connecting and the handshake together; 0: 10000 */
  /* For options of later versions: leave zero (else MPROC_EINVAL). */
  uint64_t reserved[4];
} mproc_client_opts_t;

/* Listens for connections (Python's Listener(address, authkey=...)).
 * Params: address — "unix:/path" (POSIX; the socket file is created with
 *   mode 0600 and removed by mproc_listener_free), "pipe:\\.\pipe\name"
 *   (Windows), or "tcp:host:port" (port 0: any free port, see
 *   mproc_listener_address); opts — NULL or options (the key is copied).
 * Returns: 0.
 * Errors: MPROC_EINVAL (NULL out, a malformed address, a NULL key with a
 *   length), MPROC_ENOTSUP (an address kind this platform lacks), MPROC_ESYS
 *   (e.g. the address is in use), MPROC_ENOMEM.
 * Platform: POSIX: unix: and tcp:. Windows: pipe: (named pipes, remote
 *   clients rejected) and tcp: (Winsock); CNG for the handshake. */
MPROC_API int mproc_listener_new(mproc_listener_t **out, const char *address,
                                 const mproc_listener_opts_t *opts);

/* Accepts one connection (Python's accept()). With a key, the mutual
 * challenge-response runs first: no user data crosses before it succeeds.
 * Params: l — the listener; out — receives a duplex connection;
 *   timeout_ms — MPROC_INFINITE, 0 or milliseconds to wait for a peer.
 * Returns: 0.
 * Errors: MPROC_EINVAL, MPROC_ETIMEDOUT (nobody connected), MPROC_EAUTH (the
 *   peer failed or broke off the handshake — it is disconnected; accept
 *   again to serve the next one), MPROC_ENOTSUP (with a key, on POSIX:
 *   OpenSSL's libcrypto, opened at the first handshake, is not installed,
 *   or not where MPROC_LIBCRYPTO says),
 *   MPROC_ESYS. */
MPROC_API int mproc_listener_accept(mproc_listener_t *l, mproc_conn_t **out, int timeout_ms);

/* The address as bound.
 * Params: l — the listener.
 * Returns: e.g. "tcp:127.0.0.1:40123" for port 0, valid until
 *   mproc_listener_free; "" for NULL. */
MPROC_API const char *mproc_listener_address(const mproc_listener_t *l);

/* Stops listening (removing a unix socket file). Accepted connections
 * stay open.
 * Params: l — the listener; NULL is ignored. */
MPROC_API void mproc_listener_free(mproc_listener_t *l);

/* Connects to a listener (Python's Client(address, authkey=...)), within
 * opts.handshake_timeout_ms for the connection and the handshake.
 * Without a key nothing is exchanged, so a listener that wants one cannot
 * be told from one that does not: the first message received is then its
 * challenge (43 bytes beginning "#CHALLENGE#"), and it disconnects at its
 * handshake timeout. A Manager tells it (MPROC_EAUTH).
 * Params: out — receives a duplex connection; address — as for
 *   mproc_listener_new; opts — NULL or options.
 * Returns: 0.
 * Errors: MPROC_EINVAL, MPROC_ENOTSUP (an address kind this platform
 *   lacks; with a key, on POSIX: libcrypto does not load), MPROC_EAUTH
 *   (the keys differ),
 *   MPROC_ETIMEDOUT (the listener did not take the connection, or finish
 *   the handshake, in time: stopped, overloaded, or one that asks for no
 *   key), MPROC_ECLOSED (with a key: the listener hung up before the
 *   handshake - it is going away), MPROC_ESYS (nobody listens there),
 *   MPROC_ENOMEM. */
MPROC_API int mproc_client_connect(mproc_conn_t **out, const char *address,
                                   const mproc_client_opts_t *opts);

#ifdef __cplusplus
}
#endif

#endif
