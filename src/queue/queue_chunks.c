/* The chunk pool: where loans above a quarter of the ring live.
 *
 * A queue made with opts.chunk_pool_bytes has, after its ring, a table of
 * chunks and the chunks themselves (equal, page-aligned). A loan too large
 * for the ring takes a run of free chunks; the producer fills it in place,
 * with no lock held, and publishes it as a small CHUNKS record in the ring
 * naming the run; a consumer reads it where it lies and frees it. So a
 * message of any size up to the pool's crosses with no copy at all.
 *
 * A chunk's word says who has it; a run's ticket ties its chunks together:
 *   ticket << 32 | 0                       free
 *   ticket << 32 | LOANED | pid            lent to process pid (the run's
 *                          [| RESERVED]    first chunk: its record's room
 *                                          is kept - put.pending counts it)
 *   ticket << 32 | PUBLISHED | first       published, in the run from first
 * Every change is one compare-and-swap from an exact word, so a change
 * replayed after its maker died, or made twice, never touches a chunk that
 * has gone to another run since (its ticket differs). Publishing and
 * freeing ride on the ring's commits (queue.c's redo journal): a message
 * appears in the ring exactly when its chunks become published, and leaves
 * it exactly when they become free. A run whose loaner died (pid 0: the
 * handle that lent it was freed) is taken back by whoever next finds the pool short or
 * waits for room with loans outstanding, under the put lock, which also
 * recounts put.pending from the words: no cleanup call, nothing leaked.
 * Each table entry keeps its loaner's start token, so a pid reused by a
 * later process is not mistaken for the loaner. */
#include <string.h>

#include "queue/queue_internal.h"

/* A chunk's tag, the low half of its word. */
#define PUBLISHED 0x80000000u
#define RESERVED 0x40000000u
#define LOANED 0x20000000u
#define PID_BITS 0x1fffffffu

enum {
  MIN_CHUNK = 64 * 1024,
  /* A loan owns each of its chunks (claimed, published and freed one by
   * one, each a cache line the two processes hand over): at most 64 keeps
   * a loan's cost flat in its size - bench_queue --zero-copy: 64 MiB
   * loans as fast as 1 MiB ones, 2.5 M/s, where 512 chunks gave 0.35-0.61
   * M/s - and bounds how many loans the pool holds at once. */
  MAX_CHUNKS = 64,
  PAGE = 4096
};

static uint64_t word_of(uint32_t ticket, uint32_t tag) { return (uint64_t)ticket << 32 | tag; }
static uint32_t tag_of(uint64_t w) { return (uint32_t)w; }
static uint32_t ticket_of(uint64_t w) { return (uint32_t)(w >> 32); }

size_t mproc__queue_layout(uint64_t capacity, uint64_t pool_bytes, uint64_t *chunk_size,
                           uint32_t *nchunks, size_t *pool_offset) {
  uint64_t table = RING_OFFSET + capacity; /* 64-byte aligned: capacity is a power of two */
  *chunk_size = 0;
  *nchunks = 0;
  *pool_offset = 0;
  if (pool_bytes == 0)
    return (size_t)table;
  if (pool_bytes > MPROC_QUEUE_MAX_CHUNK_POOL) {
    mproc__fail(MPROC_ERANGE, "queue_new: a chunk pool of %llu bytes is above %llu",
                (unsigned long long)pool_bytes, (unsigned long long)MPROC_QUEUE_MAX_CHUNK_POOL);
    return 0;
  }
  uint64_t chunk = MIN_CHUNK;
  while (chunk * MAX_CHUNKS < pool_bytes)
    chunk *= 2;
  uint64_t n = (pool_bytes + chunk - 1) / chunk;
  uint64_t data = (table + n * sizeof(chunk_t) + PAGE - 1) / PAGE * PAGE;
  if (data + n * chunk > SIZE_MAX) {
    mproc__fail(MPROC_ERANGE,
                "queue_new: a chunk pool of %llu bytes does not fit this process's address space",
                (unsigned long long)pool_bytes);
    return 0;
  }
  *chunk_size = chunk;
  *nchunks = (uint32_t)n;
  *pool_offset = (size_t)data;
  return (size_t)(data + n * chunk);
}

uint32_t mproc__chunks_my_tag(void) {
  uint32_t pid, tid;
  mproc__self_ids(&pid, &tid);
  return LOANED | (pid & PID_BITS);
}

/* ---- lending -------------------------------------------------------------------- */

/* The first of k free chunks in a row, searched from the hint on (then
 * from the start: a run never wraps); -1 when there is none. */
static int64_t find_free_run(const mproc_queue_t *q, uint32_t k) {
  uint32_t n = q->sh->nchunks, hint = atomic_load_explicit(&q->sh->hint, memory_order_relaxed);
  uint32_t from = k <= n && hint <= n - k ? hint : 0;
  for (uint32_t start = from;; start = 0) {
    for (uint32_t i = start, row = 0; i < n; i++) {
      row = tag_of(atomic_load_explicit(&q->chunks[i].word, memory_order_relaxed)) ? 0 : row + 1;
      if (row == k)
        return (int64_t)i + 1 - k;
    }
    if (start == 0)
      return -1;
  }
}

/* Takes chunks first .. first + k - 1 for the calling process, all or
 * none (a process that dies half-way leaves its pid in the words it
 * took: they come back as a dead loaner's). */
static bool claim_run(mproc_queue_t *q, uint32_t first, uint32_t k, uint32_t ticket, uint32_t tag,
                      uint64_t stamp) {
  for (uint32_t i = 0; i < k; i++) {
    chunk_t *c = &q->chunks[first + i];
    uint64_t w = atomic_load(&c->word);
    if (tag_of(w) != 0 || !atomic_compare_exchange_strong(&c->word, &w, word_of(ticket, tag))) {
      while (i-- > 0)
        atomic_store(&q->chunks[first + i].word, word_of(ticket, 0));
      return false;
    }
    atomic_store_explicit(&c->stamp, stamp, memory_order_relaxed);
  }
  return true;
}

bool mproc__chunks_have_run(mproc_queue_t *q, uint64_t k) {
  return find_free_run(q, (uint32_t)k) >= 0;
}

uint32_t mproc__chunks_for(const mproc_queue_t *q, uint64_t len) {
  return (uint32_t)((len + q->sh->chunk_size - 1) / q->sh->chunk_size);
}

int64_t mproc__chunks_claim(mproc_queue_t *q, uint32_t k, uint32_t ticket) {
  uint32_t pid, tid;
  mproc__self_ids(&pid, &tid);
  uint32_t tag = LOANED | (pid & PID_BITS);
  uint64_t stamp = (uint64_t)pid << 32 | (uint32_t)mproc__os_self_start_token();
  int64_t first;
  while ((first = find_free_run(q, k)) >= 0 &&
         !claim_run(q, (uint32_t)first, k, ticket, tag, stamp))
    ; /* another process took one of them first: look again */
  if (first >= 0)
    atomic_store_explicit(&q->sh->hint, (uint32_t)first + k, memory_order_relaxed);
  return first;
}

void mproc__chunks_unclaim(mproc_queue_t *q, uint32_t first, uint32_t k, uint32_t ticket) {
  for (uint32_t i = 0; i < k; i++)
    atomic_store(&q->chunks[first + i].word, word_of(ticket, 0));
}

void mproc__chunks_reserve(mproc_queue_t *q, uint32_t first, uint32_t ticket, uint64_t len) {
  uint64_t w = word_of(ticket, mproc__chunks_my_tag());
  q->chunks[first].asked = len;
  q->chunks[first].lender = (uintptr_t)q;
  atomic_compare_exchange_strong(&q->chunks[first].word, &w, w | RESERVED);
  side_t *put = &q->sh->put;
  atomic_store(&put->pending, atomic_load_explicit(&put->pending, memory_order_relaxed) + 1);
}

bool mproc__chunks_holds(const mproc_queue_t *q, const void *buf) {
  uintptr_t at = (uintptr_t)buf, base = (uintptr_t)q->pool;
  return q->chunks && at >= base && at - base < q->sh->nchunks * q->sh->chunk_size;
}

int mproc__chunks_find_loan(const mproc_queue_t *q, const void *buf, chunk_run_t *run,
                            uint32_t *owner, uint64_t *asked, const char *op) {
  const shared_t *sh = q->sh;
  uint64_t off = (uint64_t)((uintptr_t)buf - (uintptr_t)q->pool);
  uint32_t tag = mproc__chunks_my_tag();
  uint64_t w = 0;
  if (mproc__chunks_holds(q, buf) && off % sh->chunk_size == 0)
    w = atomic_load(&q->chunks[off / sh->chunk_size].word);
  if (tag_of(w) != (tag | RESERVED))
    return mproc__fail(MPROC_ESTATE, "%s: this process holds no loan at %p", op, buf);
  run->first = (uint32_t)(off / sh->chunk_size);
  run->ticket = ticket_of(w);
  run->count = 1;
  while (run->first + run->count < sh->nchunks &&
         atomic_load(&q->chunks[run->first + run->count].word) == word_of(run->ticket, tag))
    run->count++;
  run->unused = 0;
  *owner = tag;
  *asked = q->chunks[run->first].asked;
  return 0;
}

/* ---- publishing, freeing, taking back ---------------------------------------------- */

void mproc__chunks_apply(mproc_queue_t *q, const chunk_op_t *op) {
  const chunk_run_t *r = &op->run;
  if (op->op == CHUNKS_NONE || !q->chunks || r->first >= q->sh->nchunks ||
      r->count > q->sh->nchunks - r->first)
    return;
  uint64_t published = word_of(r->ticket, PUBLISHED | r->first);
  for (uint32_t i = 0; i < r->count; i++) {
    chunk_t *c = &q->chunks[r->first + i];
    uint64_t w =
        op->op == CHUNKS_FREE ? published : word_of(r->ticket, op->owner | (i == 0 ? RESERVED : 0));
    atomic_compare_exchange_strong(&c->word, &w,
                                   op->op == CHUNKS_FREE ? word_of(r->ticket, 0) : published);
  }
}

bool mproc__chunks_published(const mproc_queue_t *q, const chunk_run_t *r) {
  if (!q->chunks || r->count == 0 || r->first >= q->sh->nchunks ||
      r->count > q->sh->nchunks - r->first)
    return false;
  uint64_t published = word_of(r->ticket, PUBLISHED | r->first);
  for (uint32_t i = 0; i < r->count; i++)
    if (atomic_load_explicit(&q->chunks[r->first + i].word, memory_order_acquire) != published)
      return false;
  return true;
}

void mproc__chunks_give_back(mproc_queue_t *q, const chunk_run_t *r, uint32_t owner) {
  for (uint32_t i = 0; i < r->count; i++) {
    uint64_t w = word_of(r->ticket, owner | (i == 0 ? RESERVED : 0));
    atomic_compare_exchange_strong(&q->chunks[r->first + i].word, &w, word_of(r->ticket, 0));
  }
  side_t *put = &q->sh->put;
  uint32_t pending = atomic_load_explicit(&put->pending, memory_order_relaxed);
  atomic_store(&put->pending, pending ? pending - 1 : 0);
}

/* Whether the loaner named in a chunk's tag has ended (pid 0: the handle
 * that lent the run was freed). */
static bool loaner_gone(const chunk_t *c, uint32_t tag) {
  uint32_t pid = tag & PID_BITS;
  if (pid == 0)
    return true;
  uint64_t stamp = atomic_load_explicit(&c->stamp, memory_order_relaxed);
  bool stamped = ((uint32_t)(stamp >> 32) & PID_BITS) == pid;
  return mproc__os_process_gone(stamped ? (uint32_t)(stamp >> 32) : pid,
                                stamped ? (uint32_t)stamp : 0);
}

bool mproc__chunks_reclaim(mproc_queue_t *q) {
  if (!q->chunks)
    return false;
  bool any = false;
  uint32_t pending = 0, asked_tag = 0;
  bool asked_gone = false; /* the last loaner asked about: one question per run */
  for (uint32_t i = 0; i < q->sh->nchunks; i++) {
    chunk_t *c = &q->chunks[i];
    uint64_t w = atomic_load(&c->word);
    uint32_t tag = tag_of(w);
    if (!(tag & LOANED) || (tag & PUBLISHED))
      continue;
    if ((tag & ~RESERVED) != asked_tag) {
      asked_tag = tag & ~RESERVED;
      asked_gone = loaner_gone(c, tag);
    }
    if (asked_gone)
      any |= atomic_compare_exchange_strong(&c->word, &w, word_of(ticket_of(w), 0));
    else if (tag & RESERVED)
      pending++;
  }
  atomic_store(&q->sh->put.pending, pending);
  return any;
}

void mproc__chunks_abandon_lent(mproc_queue_t *q) {
  if (!q->chunks)
    return;
  uint32_t mine = mproc__chunks_my_tag(), n = q->sh->nchunks;
  for (uint32_t i = 0; i < n; i++) {
    uint64_t w = atomic_load(&q->chunks[i].word);
    if (tag_of(w) != (mine | RESERVED) || q->chunks[i].lender != (uintptr_t)q)
      continue;
    /* the run: its first chunk, and those after it with its ticket */
    uint32_t ticket = ticket_of(w);
    for (uint32_t j = i; j < n; j++) {
      uint64_t v = atomic_load(&q->chunks[j].word);
      if (v != (j == i ? w : word_of(ticket, mine)))
        break;
      atomic_compare_exchange_strong(&q->chunks[j].word, &v,
                                     word_of(ticket, tag_of(v) & ~PID_BITS));
    }
  }
}
