/* What the queue's two files share: the layout of a queue in shared
 * memory and the handle to it (queue.c moves messages through the ring,
 * queue_object.c makes, shares and frees queues and lets mproc_wait
 * watch one). */
#ifndef MPROC_QUEUE_QUEUE_INTERNAL_H
#define MPROC_QUEUE_QUEUE_INTERNAL_H

#include <stdalign.h>

#include "mproc/queue.h"
#include "sync/mutex.h"

enum { PARK_PUT_LOCK, PARK_GET_LOCK, PARK_NOT_EMPTY, PARK_NOT_FULL, PARK_ALL_DONE, NPARKS };
enum { REC_WHOLE = 1, REC_FIRST, REC_MORE, REC_LAST, REC_ABORT, REC_PAD };
enum {
  HEADER = 16,          /* and the alignment of every record */
  RESERVE = HEADER,     /* kept free for an ABORT record */
  DEATH_CHECK_MS = 100, /* how often a stalled stream asks if its producer lives */
  CLOSE_CHECK_MS = 10,  /* how often a closed, empty queue looks for a late put */
  NOWAIT_LOCK_MS = 50,  /* how long a timeout-0 call waits for another's copy */
  SPINS = 64,           /* looks before sleeping: a peer on another core is quick */
  YIELDS = 32,          /* then looks between yields: a peer on this core runs */
  LOCK_SPINS = 128,     /* looks for a side's lock to come free before sleeping on it */
  LOCK_DEATH_MS = 5     /* how often a waiter for a side's lock asks if its holder lives */
};

typedef struct {
  uint32_t kind;
  uint32_t len;   /* payload bytes in this record */
  uint64_t total; /* WHOLE, FIRST: the message's length */
} record_t;

/* A commit's new values, replayed when its writer died half-way. */
typedef struct {
  _Atomic uint32_t valid;
  uint32_t open;
  uint64_t pos, count;
} journal_t;

/* One side (producers or consumers). The first line is private to the
 * side; the other side reads only pos and count. */
typedef struct {
  alignas(64) mproc__mutex_t lock;
  uint32_t open; /* producers: a streamed message is unfinished */
  journal_t journal;
  alignas(64) _Atomic uint64_t pos; /* tail / head: bytes ever published / freed */
  _Atomic uint64_t count;           /* messages begun (put) / finished (get) */
} side_t;

typedef struct {
  uint64_t capacity; /* a power of two */
  uint64_t max_chunk;
  uint64_t maxsize;
  uint32_t joinable;
  _Atomic uint32_t closed;
  _Atomic uint32_t watchers; /* in mproc_wait: producers ring the doorbell */
  side_t put, get;
  alignas(64) mproc__park_word_t not_empty;
  alignas(64) mproc__park_word_t not_full;
  alignas(64) mproc__park_word_t all_done;
  _Atomic uint64_t done; /* task_done calls */
} shared_t;

#define RING_OFFSET ((sizeof(shared_t) + 63) / 64 * 64)

struct mproc_queue {
  mproc__sync_t s; /* first, so the synchronization objects' hold serves */
  intptr_t doorbell;
  shared_t *sh;
  unsigned char *ring;
  uint64_t seen_head; /* the consumers' head as last read (put lock) */
  uint64_t seen_tail; /* the producers' tail as last read (get lock) */
  /* A loan: the put lock is held from mproc_queue_loan to its publish or
   * discard, and these are written only under it. */
  unsigned char *loan; /* the loaned payload; NULL: none */
  uint64_t loan_at;    /* where its record begins */
  size_t loan_cap;
  /* A view, under the get lock the same way: the payload in the ring (or
   * a streamed message's copy, view_end 0: consumed already). */
  unsigned char *view;
  uint64_t view_end; /* the head once the view is released */
};

/* queue.c: whether a get would not wait for a message to begin (one is
 * there, or the queue is closed). */
bool mproc__queue_takeable(mproc_queue_t *q);
/* queue.c: ends the calling thread's loan and view of q (discarded, and
 * the message left in the queue), as its last handle goes. */
void mproc__queue_end_loans(mproc_queue_t *q);

#endif
