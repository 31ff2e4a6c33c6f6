/* Connections, inside the library: what the other concepts ask of one
 * (its handle for a tuple or a pool worker, its OS end, breaking it). */
#ifndef MPROC_CONNECTION_CONNECTION_INTERNAL_H
#define MPROC_CONNECTION_CONNECTION_INTERNAL_H

#include "core/internal.h"

/* A handle to c's stream, owned by the caller (for a handle table). */
int mproc__conn_dup_handle(const mproc_conn_t *c, intptr_t *handle);
/* A connection owning handle (closed on failure); flags from conn_flags. */
int mproc__conn_from_handle(mproc_conn_t **out, intptr_t handle, unsigned flags);
unsigned mproc__conn_flags(const mproc_conn_t *c);
/* A duplex connection around an OS end (taken over, freed on failure). */
int mproc__conn_from_handle_os(mproc_conn_t **out, mproc__os_conn_t *os);

/* The OS end inside c (borrowed), for what the connection API does not
 * cover: passing handles to a pool's worker. */
mproc__os_conn_t *mproc__conn_os(const mproc_conn_t *c);

/* Breaks every read and write on c, now and later, from any thread (a
 * server stopping its client threads); c stays valid until freed. */
void mproc__conn_cancel(mproc_conn_t *c);

/* A listener's two halves, for a server that authenticates each client
 * on that client's own thread (so one silent peer holds up no one):
 * accept without the handshake, then the handshake (MPROC_EAUTH; the
 * caller frees c then). */
int mproc__listener_accept_raw(mproc_listener_t *l, mproc_conn_t **out, int timeout_ms);
int mproc__listener_authenticate(mproc_listener_t *l, mproc_conn_t *c);
/* Receives one message of at most cap bytes, all of it by the deadline (ms
 * on the monotonic clock), whatever the peer does: MPROC_ETIMEDOUT, and the
 * connection is then out of step (the handshake drops it). */
int mproc__conn_recv_by(mproc_conn_t *c, void *buf, size_t cap, size_t *len, int64_t deadline);
/* Lets c read past the current message, so that a message costs one read:
 * only for a connection that one process owns and that never passes
 * handles or goes to a child (a Manager's). Where the OS reads only exact
 * lengths it stays as it was. */
int mproc__conn_read_ahead(mproc_conn_t *c);
/* A read-ahead connection takes what the OS holds without waiting: 1 when
 * a receive would not wait (bytes buffered, or end-of-file), 0 when not
 * yet, -1 when c does not read ahead (ask mproc_conn_poll). One system
 * call where a poll and then a read would be two. */
int mproc__conn_fill_now(mproc_conn_t *c);

/* The mutual HMAC challenge-response on c (server: the listener's side,
 * which challenges first), finished by the deadline (ms on the monotonic
 * clock) or failed. 0 only when the peer proved it knows the key; a
 * client whose listener was too slow gets MPROC_ETIMEDOUT, never
 * MPROC_EAUTH. */
int mproc__handshake(mproc_conn_t *c, const unsigned char *key, size_t keylen, bool server,
                     int64_t deadline);
/* Whether msg is a listener's challenge (what a client that gave no key
 * receives first from a listener that wants one). */
bool mproc__is_challenge(const void *msg, size_t len);
/* mproc_client_connect with key (keylen 0: none), connecting and the
 * handshake done by the deadline (ms on the monotonic clock; -1: none). */
int mproc__client_connect_by(mproc_conn_t **out, const char *address, const void *key,
                             size_t keylen, int64_t deadline);

enum { MPROC__CONN_READABLE = 1, MPROC__CONN_WRITABLE = 2 };

#endif
