/* What the queue's files share: the layout of a queue in shared memory
 * and the handle to it (queue.c moves messages through the ring,
 * queue_chunks.c keeps the pool of chunks that large loans live in,
 * queue_object.c makes, shares and frees queues and lets mproc_wait
 * watch one). */
#ifndef MPROC_QUEUE_QUEUE_INTERNAL_H
#define MPROC_QUEUE_QUEUE_INTERNAL_H

#include <stdalign.h>

#include "mproc/queue.h"
#include "sync/mutex.h"

enum { PARK_PUT_LOCK, PARK_GET_LOCK, PARK_NOT_EMPTY, PARK_NOT_FULL, PARK_ALL_DONE, NPARKS };
enum { REC_WHOLE = 1, REC_FIRST, REC_MORE, REC_LAST, REC_ABORT, REC_PAD, REC_CHUNKS };
enum {
  HEADER = 16,          /* and the alignment of every record */
  RESERVE = 2 * HEADER, /* kept free: an ABORT record, and the 0 word after it */
  DEATH_CHECK_MS = 100, /* how often a stalled stream asks if its producer lives */
  CLOSE_CHECK_MS = 10,  /* how often a closed, empty queue looks for a late put */
  NOWAIT_LOCK_MS = 50,  /* how long a timeout-0 call waits for another's copy */
  SPINS = 64,           /* looks before sleeping: a peer on another core is quick */
  YIELDS = 32,          /* then looks between yields: a peer on this core runs */
  LOCK_SPINS = 128,     /* looks for a side's lock to come free before sleeping on it */
  LOCK_YIELDS = 32,     /* then looks between yields: its holder may need this core */
  LOCK_DEATH_MS = 5,    /* how often a waiter for a side's lock asks if its holder lives */
  PENDING_ROOM = 48     /* a CHUNKS record (32 bytes), after a PAD at worst */
};

typedef struct {
  uint32_t kind;
  uint32_t len;   /* payload bytes in this record */
  uint64_t total; /* WHOLE, FIRST: the message's length */
} record_t;

/* A run of chunks in the pool: a CHUNKS record's payload, naming the
 * message that lives there (queue_chunks.c). */
typedef struct {
  uint32_t first, count; /* the chunks */
  uint32_t ticket;       /* the run's, in every chunk's word */
  uint32_t unused;
} chunk_run_t;

/* What a commit does to the pool together with moving its side. */
enum { CHUNKS_NONE, CHUNKS_PUBLISH, CHUNKS_FREE };
typedef struct {
  uint32_t op;
  uint32_t owner; /* CHUNKS_PUBLISH: the loaner's tag */
  chunk_run_t run;
} chunk_op_t;

/* A commit's new values, replayed when its writer died half-way. */
typedef struct {
  _Atomic uint32_t valid;
  uint32_t open;
  uint64_t pos, count;
  uint32_t pending; /* producers: the pool's loans holding room */
  uint32_t kind;    /* producers: the first new record's kind, shown last */
  uint64_t kind_at; /* ... at the old tail */
  chunk_op_t chunks;
} journal_t;

/* One side (producers or consumers). The first line is private to the
 * side; the other side reads only pos and count. */
typedef struct {
  alignas(64) mproc__mutex_t lock;
  uint32_t open; /* producers: a streamed message is unfinished */
  /* Producers: loans from the chunk pool not yet published. Each keeps
   * room for its record (PENDING_ROOM) and counts toward maxsize. */
  _Atomic uint32_t pending;
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
  /* The chunk pool (queue_chunks.c): nchunks of chunk_size bytes; none
   * when nchunks is 0. */
  uint64_t chunk_size;
  uint32_t nchunks;
  _Atomic uint32_t tickets; /* the last ticket a run was given */
  _Atomic uint32_t hint;    /* where the next search for a run begins */
  side_t put, get;
  alignas(64) mproc__park_word_t not_empty;
  alignas(64) mproc__park_word_t not_full;
  alignas(64) mproc__park_word_t all_done;
  _Atomic uint64_t done; /* task_done calls */
} shared_t;

#define RING_OFFSET ((sizeof(shared_t) + 63) / 64 * 64)

/* A chunk's entry in the pool's table, after the ring. */
typedef struct {
  _Atomic uint64_t word;  /* ticket << 32 | who has it (queue_chunks.c) */
  _Atomic uint64_t stamp; /* a loaner's pid << 32 | its start token */
  uint64_t asked;         /* a run's first chunk: the bytes its loan asked */
  uint64_t lender;        /* ... and the handle that lent it, in its process */
} chunk_t;

struct mproc_queue {
  mproc__sync_t s; /* first, so the synchronization objects' hold serves */
  intptr_t doorbell;
  shared_t *sh;
  unsigned char *ring;
  chunk_t *chunks;     /* the pool's table; NULL: no pool */
  unsigned char *pool; /* the chunks themselves */
  uint64_t seen_head;  /* the consumers' head as last read (put lock) */
  uint32_t held_kind;  /* the record at tail's kind, for the commit to show (put lock) */
  /* A loan: the put lock is held from mproc_queue_loan to its publish or
   * discard, and these are written only under it. */
  unsigned char *loan; /* the loaned payload; NULL: none */
  uint64_t loan_at;    /* where its record begins */
  size_t loan_cap;
  /* A view, under the get lock the same way: the payload in the ring (or
   * a streamed message's copy, view_end 0: consumed already). */
  unsigned char *view;
  uint64_t view_end;    /* the head once the view is released */
  chunk_run_t view_run; /* a view in the pool: its run (count 0: none) */
};

/* ---- queue_chunks.c: the pool of chunks for loans above a quarter ring ---- */

/* Where a queue's pool begins in its mapping, its chunk size and count,
 * for a pool of at least pool_bytes; the mapping's whole size. 0 when
 * the pool is too large (ERANGE, with the detail set). */
size_t mproc__queue_layout(uint64_t capacity, uint64_t pool_bytes, uint64_t *chunk_size,
                           uint32_t *nchunks, size_t *pool_offset);
/* How many chunks a loan of len bytes takes. */
uint32_t mproc__chunks_for(const mproc_queue_t *q, uint64_t len);
/* Whether k free chunks in a row are there now. */
bool mproc__chunks_have_run(mproc_queue_t *q, uint64_t k);
/* Takes k free chunks in a row for the calling process, under ticket:
 * the first, or -1 when there are none now. */
int64_t mproc__chunks_claim(mproc_queue_t *q, uint32_t k, uint32_t ticket);
/* Gives back a run claimed and not yet reserved. */
void mproc__chunks_unclaim(mproc_queue_t *q, uint32_t first, uint32_t k, uint32_t ticket);
/* Under the put lock: the run from first keeps room for its record and
 * counts toward maxsize (put.pending) - a loan of len bytes, now. */
void mproc__chunks_reserve(mproc_queue_t *q, uint32_t first, uint32_t ticket, uint64_t len);
/* Whether buf lies in q's chunk pool (a pool loan, or nothing). */
bool mproc__chunks_holds(const mproc_queue_t *q, const void *buf);
/* The run of this process's loan at buf, and the bytes the loan asked;
 * MPROC_ESTATE when buf is no loan of this process. */
int mproc__chunks_find_loan(const mproc_queue_t *q, const void *buf, chunk_run_t *run,
                            uint32_t *owner, uint64_t *asked, const char *op);
/* This process's tag in a loaned chunk's word. */
uint32_t mproc__chunks_my_tag(void);
/* Does op to the pool: a commit's part, replayed after a death, so each
 * change happens once at most. */
void mproc__chunks_apply(mproc_queue_t *q, const chunk_op_t *op);
/* Whether run holds a published message (every chunk still its). */
bool mproc__chunks_published(const mproc_queue_t *q, const chunk_run_t *run);
/* Frees a loan unpublished (the caller holds the put lock). */
void mproc__chunks_give_back(mproc_queue_t *q, const chunk_run_t *run, uint32_t owner);
/* Under the put lock: takes back runs whose loaners died, and counts the
 * loans left holding room into put.pending. true when any came back. */
bool mproc__chunks_reclaim(mproc_queue_t *q);
/* Marks every loan that handle q lent abandoned (q goes): the next
 * reclaim takes them back. Another handle of the same queue in this
 * process keeps its own. */
void mproc__chunks_abandon_lent(mproc_queue_t *q);

/* queue.c: whether a get would not wait for a message to begin (one is
 * there, or the queue is closed). */
bool mproc__queue_takeable(mproc_queue_t *q);
/* queue.c: ends the calling thread's loan and view of q (discarded, and
 * the message left in the queue), as its last reference goes; and gives
 * up the pool loans made through it. */
void mproc__queue_end_loans(mproc_queue_t *q);

#endif
