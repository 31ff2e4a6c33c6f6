/* A local manager client's calls through shared memory: the fast lane.
 *
 * Over a connection a call costs four system calls and two wakeups (about
 * 4 us on Linux, some 200 us under Wine); through memory that both sides
 * watch it costs none while both are awake. The server makes a lane for a
 * client that asks for one in its hello on a local (not tcp:) connection,
 * where the region can be made so the client cannot shrink it under the
 * server (Linux's sealed memfd, a Windows section); elsewhere, and when
 * either side declines (MPROC_MANAGER_LANE=0 in the client's environment),
 * calls stay on the connection. The lane's handles follow the welcome on
 * the connection: its memory, and where the platform's wait words need a
 * kernel object each (Windows' semaphores) the two words' objects.
 *
 * One call at a time per connection, as on the connection. The client
 * writes a request into the lane's buffer and counts it in `asked`; the
 * server copies it out, runs it, writes the reply into the same buffer
 * (nobody else writes there while a call is out) and brings `answered` to
 * the same count. A NOREPLY request is answered too, empty, so the client
 * knows the buffer is its own again. A message too large for the buffer
 * goes on the connection: the count is raised first with the length
 * MPROC__LANE_ON_CONN, then the message is sent.
 *
 * Each side spins briefly, then sleeps on the word in slices; between
 * slices it looks at the connection, which nothing but large messages and
 * an end-of-file reach: a peer that died closed it. The server never
 * trusts the lane: it reads each length once, checks it, and copies the
 * request out before reading it. */
#ifndef MPROC_MANAGER_MANAGER_LANE_H
#define MPROC_MANAGER_MANAGER_LANE_H

#include "core/internal.h"

typedef struct mproc__mgr_lane mproc__mgr_lane_t;

enum { MPROC__MGR_LANE_HANDLES = 3 };

/* How many handles a lane's offer carries here (1, or 3 where the wait
 * words need objects). */
size_t mproc__mgr_lane_handles(void);
/* The server: a new lane, and the client's copies of its handles in h[0 ..
 * *n) (the caller's, to send and close). MPROC_ENOTSUP where no region can
 * be protected from the client (generic POSIX). */
int mproc__mgr_lane_new(mproc__mgr_lane_t **out, intptr_t h[MPROC__MGR_LANE_HANDLES], size_t *n);
/* The client: the lane whose mproc__mgr_lane_handles() handles the server
 * sent (taken over, also on failure). */
int mproc__mgr_lane_attach(const intptr_t *h, mproc__mgr_lane_t **out);
void mproc__mgr_lane_free(mproc__mgr_lane_t *l);

/* The client. Sends one request of n bytes (on c when it does not fit),
 * first waiting, until the deadline (ms on the monotonic clock;
 * MPROC__NO_DEADLINE), for the answer to the last one if it is not in. */
int mproc__mgr_lane_send(mproc__mgr_lane_t *l, mproc_conn_t *c, const void *p, size_t n,
                         int64_t deadline);
/* Receives the answer to the request sent into *buf (grown as needed, up
 * to max bytes): MPROC_ETIMEDOUT at the deadline, MPROC_EEOF when the
 * server is gone, MPROC_EPROTO when it broke the protocol. */
int mproc__mgr_lane_recv(mproc__mgr_lane_t *l, mproc_conn_t *c, unsigned char **buf, size_t *cap,
                         size_t *len, size_t max, int64_t deadline);

/* The server. Waits for the next request and copies it into *buf (grown
 * as needed, up to max bytes): MPROC_EEOF when the client has gone,
 * MPROC_ECLOSED after mproc__mgr_lane_close, MPROC_EPROTO for a length
 * the lane cannot hold. */
int mproc__mgr_lane_next(mproc__mgr_lane_t *l, mproc_conn_t *c, unsigned char **buf, size_t *cap,
                         size_t *len, size_t max);
/* Answers the request taken last with n bytes (0 for a NOREPLY one). */
int mproc__mgr_lane_reply(mproc__mgr_lane_t *l, mproc_conn_t *c, const void *p, size_t n);
/* Whether the client read that answer: waits until it has, or has gone
 * (it gave up waiting, or ended - having read it or not). A lock the
 * answer hands over is the client's only if it read it. */
bool mproc__mgr_lane_taken(mproc__mgr_lane_t *l, mproc_conn_t *c);
/* Ends the server's wait in mproc__mgr_lane_next now and for good (the
 * server stopping), from any thread. */
void mproc__mgr_lane_close(mproc__mgr_lane_t *l);

#endif
