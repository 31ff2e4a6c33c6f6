/* mproc — queues between processes: Python's multiprocessing Queue,
 * SimpleQueue and JoinableQueue (see docs/queue.md).
 *
 * A queue is a ring buffer in anonymous shared memory: put copies a
 * message into the ring, get copies it out. There is no feeder thread, so
 * a put is complete when it returns (a process may exit right after it),
 * and an error is reported by the put that caused it. Many producers and
 * many consumers may use one queue from any processes; messages from one
 * producer arrive in the order it put them, each exactly once.
 *
 * A message of up to a quarter of the ring goes in as one record. A larger
 * one goes whole into the queue's chunk pool when it has one
 * (opts.chunk_pool_bytes) and the message fits it; otherwise (any size the
 * consumer can hold in memory) it is streamed through the ring in
 * quarter-ring chunks while producers and consumers take turns. Consumers
 * never see a partial message. A process killed while moving a
 * message costs at most that message: the next producer or consumer
 * repairs the ring and carries on.
 *
 * Zero copies: a producer may loan room, fill it in place and publish it;
 * a consumer may view a message in place and release it. A loan up to a
 * quarter of the ring is room in the ring; a larger one, up to
 * opts.chunk_pool_bytes, is a run of chunks in a pool mapped beside the
 * ring, which the ring's record only names - so a message of any size
 * crosses by reference. A process killed holding a loan or a view gives
 * it back to the next producer or consumer: no cleanup call.
 *
 * Timeouts are in milliseconds: MPROC_INFINITE waits for ever; 0 never
 * waits (Python's put_nowait / get_nowait). Queues are reference counted
 * like the synchronization objects: pass one to a child with
 * mproc_args_add_queue; each process frees its own references.
 * Every function is safe to call from several threads at once. */
#ifndef MPROC_QUEUE_H
#define MPROC_QUEUE_H

#include <stdbool.h>
#include <stddef.h>

#include "args.h"
#include "export.h"
#include "timeout.h"
#include "wait.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mproc_queue mproc_queue_t;

/* The ring's size when opts.capacity_bytes is 0: 1 MiB. */
#define MPROC_QUEUE_DEFAULT_CAPACITY ((size_t)1 << 20)
/* The smallest and largest rings (capacity_bytes is rounded up to a power
 * of two between them). */
#define MPROC_QUEUE_MIN_CAPACITY ((size_t)1 << 10)
#define MPROC_QUEUE_MAX_CAPACITY ((size_t)1 << 30)
/* The largest chunk pool (opts.chunk_pool_bytes): 64 GiB. */
#define MPROC_QUEUE_MAX_CHUNK_POOL ((uint64_t)1 << 36)

/* Options of a queue; all zero gives Python's Queue() (SimpleQueue is the
 * same thing in mproc: every queue is as cheap). */
typedef struct {
  size_t maxsize;        /* most messages held at once; 0 = only the ring's room */
  size_t capacity_bytes; /* the ring's size; 0 = MPROC_QUEUE_DEFAULT_CAPACITY */
  bool joinable;         /* JoinableQueue: task_done and join work */
  /* Room for loans larger than a quarter of the ring (mproc_queue_loan):
   * a pool of equal chunks (64 KiB, or larger so that there are at most
   * 64: at most 64 loans from it at once) mapped with the ring, this size rounded up to whole
   * chunks; 0 = none. Memory is committed as chunks are first written. */
  uint64_t chunk_pool_bytes;
  /* For options of later versions: leave zero (else MPROC_EINVAL). */
  uint64_t reserved[3];
} mproc_queue_opts_t;

/* Creates an empty queue (Python's Queue(maxsize), JoinableQueue()).
 * Params: out — receives the queue (free with mproc_queue_free); opts — NULL
 *   for the defaults.
 * Returns: 0.
 * Errors: MPROC_EINVAL (out NULL, a reserved word set), MPROC_ERANGE
 *   (capacity_bytes above MPROC_QUEUE_MAX_CAPACITY, maxsize above
 *   UINT32_MAX, which a 32-bit size_t never is, chunk_pool_bytes above
 *   MPROC_QUEUE_MAX_CHUNK_POOL or above what this process can map),
 *   MPROC_ENOMEM, MPROC_ESYS (the OS refused the memory or a wait object).
 * Platform: the ring, its counters and the chunk pool live in one
 *   anonymous shared mapping; waiting is a futex (Linux) or kernel
 *   semaphores (Windows). */
MPROC_API int mproc_queue_new(mproc_queue_t **out, const mproc_queue_opts_t *opts);

/* Puts a copy of len bytes (Python's q.put(obj, block, timeout)).
 * Params: q — the queue; buf — the bytes (may be NULL when len is 0);
 *   timeout_ms — how long to wait for room (maxsize, ring space, chunks).
 * Returns: 0 once the whole message is in the queue.
 * Errors: MPROC_EINVAL (q NULL, buf NULL with len > 0, timeout below
 *   MPROC_INFINITE), MPROC_ECLOSED (the queue was closed), MPROC_EFULL
 *   (timeout 0 and the message does not fit now: nothing was put; a
 *   message larger than the ring and the chunk pool never fits at once,
 *   so give it a timeout), MPROC_ETIMEDOUT (no room in time; a streamed message that
 *   was partly written is withdrawn: consumers never see it),
 *   MPROC_ESTATE (the calling thread holds a loan of this queue). */
MPROC_API int mproc_queue_put_bytes(mproc_queue_t *q, const void *buf, size_t len, int timeout_ms);

/* Takes the oldest message (Python's q.get(block, timeout)).
 * Params: q — the queue; buf — receives a copy allocated for the message
 *   (release with mproc_free; never NULL on success, even for 0 bytes);
 *   len — receives its length; timeout_ms — how long to wait for a message
 *   to begin. A get that has begun taking a streamed message finishes it:
 *   its producer is writing it (if the producer dies or gives up, the get
 *   discards the partial message and looks for the next one).
 * Returns: 0.
 * Errors: MPROC_EINVAL (a NULL argument, timeout below MPROC_INFINITE),
 *   MPROC_EEMPTY (timeout 0 and no message), MPROC_ETIMEDOUT,
 *   MPROC_ECLOSED (closed and drained), MPROC_ENOMEM (the message stays in
 *   the queue), MPROC_EPROTO (the ring was corrupted by a stray write),
 *   MPROC_ESTATE (the calling thread holds a view of this queue). */
MPROC_API int mproc_queue_get_bytes(mproc_queue_t *q, void **buf, size_t *len, int timeout_ms);

/* As mproc_queue_get_bytes, into the caller's buffer.
 * Params: q, timeout_ms — as mproc_queue_get_bytes; buf, cap — where the
 *   message goes (buf may be NULL when cap is 0); len — receives the
 *   message's length, also when it does not fit.
 * Returns: 0.
 * Errors: as mproc_queue_get_bytes, and MPROC_ETOOBIG (the message is
 *   longer than cap: it stays in the queue, *len says how long it is). */
MPROC_API int mproc_queue_get_bytes_into(mproc_queue_t *q, void *buf, size_t cap, size_t *len,
                                         int timeout_ms);

/* Lends room for a message of up to len bytes, to fill in place (a put
 * without the copy): mproc_queue_publish makes it one message, whole;
 * mproc_queue_discard gives the room back.
 * Up to a quarter of the ring, the room is in the ring, and until the
 * publish or discard the calling thread holds the producers' side, as a
 * put does while it copies: other puts and loans wait, so fill it and
 * publish promptly. Larger, the room is a run of chunks from the queue's
 * chunk pool (opts.chunk_pool_bytes), page-aligned, and the loan belongs
 * to the calling process: other producers go on while it is filled, any
 * of its threads may publish it, and it may hold several. Such a loan
 * counts toward maxsize and keeps room in the ring for its record from
 * the loan on, so its publish never waits for room.
 * A process that dies holding a loan leaves nothing behind: the room was
 * never published; the next producer takes the side over, and the next
 * one short of chunks or of room takes the chunks back (a waiter asks
 * every 5 ms whether the holder lives). A handle freed for the last time
 * gives back the pool loans made through it the same way.
 * Params: q — the queue; len — the most bytes the message will have (up
 *   to a quarter of the ring less 16 bytes, or up to the chunk pool's
 *   size); buf — receives the lent memory (16-byte aligned in the ring,
 *   page-aligned in the pool); timeout_ms — how long to wait for room
 *   (free chunks, ring space, maxsize).
 * Returns: 0.
 * Errors: MPROC_EINVAL (q or buf NULL, timeout below MPROC_INFINITE),
 *   MPROC_ETOOBIG (len above a quarter of the ring and above the chunk
 *   pool - none unless made with opts.chunk_pool_bytes: put streams such
 *   a message), MPROC_ECLOSED, MPROC_EFULL (timeout 0 and no room now),
 *   MPROC_ETIMEDOUT, MPROC_ESTATE (the calling thread holds a loan of this
 *   queue in its ring already). */
MPROC_API int mproc_queue_loan(mproc_queue_t *q, size_t len, void **buf, int timeout_ms);

/* Publishes a loan as a message of len bytes. A loan from the chunk pool
 * waits its turn among producers (a put streaming a message larger than
 * the ring holds their side until it is through); its room is kept.
 * Params: q — the queue; buf — what mproc_queue_loan gave; len — the
 *   message's length, at most the loan's.
 * Returns: 0: consumers can take the message.
 * Errors: MPROC_EINVAL (q NULL), MPROC_ESTATE (no loan at buf: a ring
 *   loan must be the calling thread's, a pool loan the calling process's;
 *   and a thread holding a ring loan cannot publish a pool loan before
 *   it), MPROC_ERANGE (len above the loan's: the loan stays). */
MPROC_API int mproc_queue_publish(mproc_queue_t *q, void *buf, size_t len);

/* Gives a loan back unpublished (its chunks and the room it kept).
 * Params: q — the queue; buf — what mproc_queue_loan gave.
 * Returns: 0.
 * Errors: MPROC_EINVAL (q NULL), MPROC_ESTATE (no loan at buf, as for
 *   mproc_queue_publish). */
MPROC_API int mproc_queue_discard(mproc_queue_t *q, void *buf);

/* Takes the oldest message in place (a get without the copy): *data
 * points into the ring, or into the chunk pool for a message published
 * from a pool loan, until mproc_queue_release, which consumes the message
 * (and frees its chunks). Until then the calling thread holds the
 * consumers' side: other gets wait. A message put by copy above a quarter
 * of the ring (streamed in chunks) comes as a copy, released the same
 * way. A process that dies holding a view consumed nothing: the next
 * consumer gets the message.
 * Params: q, timeout_ms — as mproc_queue_get_bytes; data — receives the
 *   message, read-only (never NULL, even for 0 bytes); len — receives its
 *   length.
 * Returns: 0.
 * Errors: as mproc_queue_get_bytes, and MPROC_ESTATE (the calling thread
 *   holds a view of this queue already). */
MPROC_API int mproc_queue_get_view(mproc_queue_t *q, const void **data, size_t *len,
                                   int timeout_ms);

/* Ends the calling thread's view: the message is consumed, and data must
 * not be read any more.
 * Params: q — the queue; data — what mproc_queue_get_view gave.
 * Returns: 0.
 * Errors: MPROC_EINVAL (q NULL), MPROC_ESTATE (the calling thread holds no
 *   view at data). */
MPROC_API int mproc_queue_release(mproc_queue_t *q, const void *data);

/* Puts a typed tuple (encoded as by mproc_args_encode).
 * Params: q, timeout_ms — as mproc_queue_put_bytes; args — the tuple.
 * Returns: 0.
 * Errors: as mproc_queue_put_bytes (MPROC_EINVAL also for args NULL), and
 *   MPROC_ENOTSUP (the tuple holds a connection, lock, queue or other
 *   object: those cross to a child only as its arguments, as in Python). */
MPROC_API int mproc_queue_put(mproc_queue_t *q, const mproc_args_t *args, int timeout_ms);

/* Takes a message put by mproc_queue_put.
 * Params: q, timeout_ms — as mproc_queue_get_bytes; args — receives a new
 *   tuple (free with mproc_args_free).
 * Returns: 0.
 * Errors: as mproc_queue_get_bytes, and MPROC_EPROTO (the message was not
 *   an encoded tuple: it is consumed). */
MPROC_API int mproc_queue_get(mproc_queue_t *q, mproc_args_t **args, int timeout_ms);

/* How many messages the queue holds (Python's qsize(), which raises on
 * macOS; this one is exact on every platform when no put or get is under
 * way, and never negative). A streamed message counts from its first
 * chunk until a consumer has taken its last, or until it is withdrawn.
 * Params: q — the queue.
 * Returns: the count.
 * Errors: MPROC_EINVAL (q NULL), returned in place of the count. */
MPROC_API long long mproc_queue_size(const mproc_queue_t *q);

/* Whether the queue holds no message / has no room for another (Python's
 * empty() and full()). A snapshot: it may change at once.
 * Params: q — the queue.
 * Returns: true when empty / full (maxsize reached, or no ring space for
 *   an empty message); false when not, or when q is NULL. */
MPROC_API bool mproc_queue_empty(const mproc_queue_t *q);
MPROC_API bool mproc_queue_full(const mproc_queue_t *q);

/* Closes the queue for every process: later puts fail with MPROC_ECLOSED;
 * gets take what is left, then fail with MPROC_ECLOSED; every waiter
 * wakes. (Python's close() only stops the calling process's feeder; with
 * no feeder, mproc's close is the useful "no more data" signal.) A put
 * that is streaming a large message when the queue closes finishes it,
 * and a loan made before the close may still be published: gets wait for
 * it (or for its loaner's death) before they say MPROC_ECLOSED.
 * Params: q — the queue.
 * Returns: 0; closing twice is fine.
 * Errors: MPROC_EINVAL (q NULL). */
MPROC_API int mproc_queue_close(mproc_queue_t *q);

/* Whether mproc_queue_close was called (by any process).
 * Params: q — the queue.
 * Returns: true or false; false when q is NULL. */
MPROC_API bool mproc_queue_closed(const mproc_queue_t *q);

/* JoinableQueue: marks one taken message as processed.
 * Params: q — the queue.
 * Returns: 0.
 * Errors: MPROC_EINVAL (q NULL), MPROC_ESTATE (not a joinable queue),
 *   MPROC_EVALUE (called more times than messages were put, Python's
 *   ValueError). */
MPROC_API int mproc_queue_task_done(mproc_queue_t *q);

/* JoinableQueue: waits until every message put has been marked done.
 * Params: q — the queue; timeout_ms — MPROC_INFINITE, 0 (check) or
 *   milliseconds.
 * Returns: 0.
 * Errors: MPROC_EINVAL, MPROC_ESTATE (not joinable), MPROC_ETIMEDOUT. A
 *   consumer that dies between taking a message and marking it done
 *   leaves join waiting for it, as in Python: give join a timeout. */
MPROC_API int mproc_queue_join(mproc_queue_t *q, int timeout_ms);

/* Frees this process's reference. The queue lives while any process
 * holds one; messages still in it are discarded with it.
 * Params: q — the queue; NULL is ignored. */
MPROC_API void mproc_queue_free(mproc_queue_t *q);

/* The queue for mproc_wait: ready when a get would not wait for a message
 * to begin (one is there, or the queue is closed). Like any readiness, a
 * hint: another consumer may take the message first.
 * Params: q — the queue.
 * Returns: the waitable (mproc_wait refuses a NULL queue with MPROC_EINVAL).
 * Platform: an eventfd rung by producers only while someone waits (Linux);
 *   a manual-reset event (Windows); polled every few milliseconds on
 *   other POSIX systems. */
MPROC_API mproc_waitable_t mproc_waitable_queue(mproc_queue_t *q);

/* Queues as arguments: the child gets the same queue (the tuple holds a
 * reference; the getter borrows the tuple's).
 * Params: a — the tuple; q — the queue to add; i — the item's index; out
 *   — receives the borrowed queue.
 * Returns: 0.
 * Errors: MPROC_EINVAL (NULL), MPROC_ETYPE (get: another type),
 *   MPROC_ERANGE (get: index), MPROC_ENOMEM.
 * Platform: each queue passes 2 handles to the child on Linux, 7 on
 *   Windows. */
MPROC_API int mproc_args_add_queue(mproc_args_t *a, mproc_queue_t *q);
MPROC_API int mproc_args_get_queue(const mproc_args_t *a, size_t i, mproc_queue_t **out);

#ifdef __cplusplus
}
#endif

#endif
