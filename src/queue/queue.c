/* Queue, SimpleQueue and JoinableQueue: a ring buffer in shared memory.
 *
 * The ring holds records of 16-byte-aligned size: a 16-byte header (kind,
 * payload length, the message's total length) and the payload. A message of
 * up to max_chunk bytes (a quarter of the ring, less a header) is one WHOLE
 * record; a longer one is FIRST, MORE..., LAST, written while consumers
 * drain the ring. A record never wraps: a PAD record fills the end of the
 * ring instead.
 *
 * A consumer finds a record by its kind word: the word at the tail is 0
 * (each record's writer clears the word past it first), and a commit
 * shows the first new record's kind after the rest of it, then moves tail.
 * So a waiting consumer watches one line - the one the message lands in.
 *
 * Producers serialize on the put lock, consumers on the get lock (robust
 * mutexes, mutex.c): a producer writes at tail and a consumer reads at
 * head, so one producer and one consumer never wait for each other except
 * on an empty or a full ring. Neither holds its lock while it waits for a
 * message or for room, except in the middle of a streamed message.
 *
 * Surviving a kill at any instant:
 * - A side's position, message count and "a streamed message is open"
 *   change together through a redo journal (commit): whoever takes a lock
 *   over from a dead holder replays a half-applied commit. Bytes written
 *   past tail and not yet committed are simply overwritten later.
 * - A producer that dies (or times out) in the middle of a streamed message
 *   leaves the stream open; the repair writes an ABORT record, for which
 *   every producer keeps RESERVE bytes free. A consumer waiting for the
 *   next chunk looks every DEATH_CHECK_MS whether the producer still lives,
 *   and if not repairs the put side itself.
 * - A consumer that dies in the middle of a streamed message leaves MORE /
 *   LAST records at head; the next consumer skips them. A consumer that dies
 *   in the middle of a copy has not committed: the message stays.
 *
 * Waiting uses event counts: a waiter counts itself in a park word's
 * waiters, reads the word, checks its condition and sleeps while the word
 * is unchanged; whoever changes the condition bumps the word and wakes,
 * but only when someone counted itself, so a put or get that nobody waits
 * for makes no system call. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "queue/queue_internal.h"

/* ---- the ring --------------------------------------------------------------- */

static uint64_t record_size(uint64_t len) { return HEADER + (len + HEADER - 1) / HEADER * HEADER; }

/* Bytes a record of len needs at tail: itself, plus a PAD when it would
 * not fit before the ring's end. */
static uint64_t placement(const shared_t *sh, uint64_t tail, uint64_t len) {
  uint64_t to_end = sh->capacity - (tail & (sh->capacity - 1));
  uint64_t rec = record_size(len);
  return rec > to_end ? to_end + rec : rec;
}

/* Room for need bytes at tail, beside what is kept: an ABORT record's
 * room, and each outstanding pool loan's record. */
static uint64_t kept(const shared_t *sh) {
  return RESERVE +
         PENDING_ROOM * (uint64_t)atomic_load_explicit(&sh->put.pending, memory_order_relaxed);
}

/* Outside the put lock, head may pass tail for a moment: a consumer takes
 * a record as soon as its kind shows, before its commit moves tail. */
static bool has_room(const shared_t *sh, uint64_t tail, uint64_t need) {
  uint64_t head = atomic_load(&sh->get.pos);
  uint64_t used = tail > head ? tail - head : 0;
  return need + kept(sh) <= sh->capacity - used;
}

/* The kind of the record at pos: what consumers look at for a message. */
static _Atomic uint32_t *kind_word(const mproc_queue_t *q, uint64_t pos) {
  return (_Atomic uint32_t *)(void *)(q->ring + (pos & (q->sh->capacity - 1)));
}

/* The kind at tail is held back for the commit to show, last (the word
 * at tail is 0 until then); a record after a PAD shows with the PAD. */
static void write_header(mproc_queue_t *q, uint64_t pos, uint32_t kind, uint64_t len,
                         uint64_t total) {
  unsigned char *at = q->ring + (pos & (q->sh->capacity - 1));
  uint32_t len32 = (uint32_t)len;
  memcpy(at + offsetof(record_t, len), &len32, sizeof len32);
  memcpy(at + offsetof(record_t, total), &total, sizeof total);
  if (pos == atomic_load_explicit(&q->sh->put.pos, memory_order_relaxed))
    q->held_kind = kind;
  else
    atomic_store_explicit(kind_word(q, pos), kind, memory_order_relaxed);
}

/* The word at the tail a record of len at pos leaves is 0 before the
 * record is written (it lies in the room kept free): then no store but the
 * record's own touches the line a waiting consumer reads between a loan
 * and its publish, and that line crosses to the consumer once. */
static void clear_after(mproc_queue_t *q, uint64_t pos, uint64_t len) {
  atomic_store_explicit(kind_word(q, pos + record_size(len)), 0, memory_order_relaxed);
}

/* Where a len-byte record goes at tail (room checked): there, or after a
 * PAD (written now) when it would not fit before the ring's end. */
static inline uint64_t place_record(mproc_queue_t *q, uint64_t tail, uint64_t len) {
  uint64_t cap = q->sh->capacity, to_end = cap - (tail & (cap - 1));
  if (record_size(len) > to_end) {
    write_header(q, tail, REC_PAD, to_end - HEADER, 0);
    tail += to_end;
  }
  clear_after(q, tail, len);
  return tail;
}

/* Writes one record at tail (room checked); returns the new tail. */
static uint64_t write_record(mproc_queue_t *q, uint64_t tail, uint32_t kind, const void *p,
                             uint64_t len, uint64_t total) {
  uint64_t cap = q->sh->capacity;
  tail = place_record(q, tail, len);
  write_header(q, tail, kind, len, total);
  if (len)
    memcpy(q->ring + (tail & (cap - 1)) + HEADER, p, len);
  return tail + record_size(len);
}

/* The record at head, checked against what a sane producer writes. */
static int read_header(const mproc_queue_t *q, uint64_t head, record_t *r) {
  const shared_t *sh = q->sh;
  uint64_t off = head & (sh->capacity - 1);
  memcpy(r, q->ring + off, sizeof *r);
  uint64_t size = r->kind == REC_PAD ? sh->capacity - off : record_size(r->len);
  if (r->kind < REC_WHOLE || r->kind > REC_CHUNKS ||
      (r->kind != REC_PAD && r->len > sh->max_chunk) || off + size > sh->capacity ||
      (r->kind == REC_WHOLE && r->total != r->len) ||
      (r->kind == REC_CHUNKS && r->len != sizeof(chunk_run_t)))
    return mproc__fail(MPROC_EPROTO, "queue_get: corrupt record (kind %u, %u bytes) at %llu",
                       r->kind, r->len, (unsigned long long)head);
  return 0;
}

static uint64_t record_end(const mproc_queue_t *q, uint64_t head, const record_t *r) {
  if (r->kind == REC_PAD)
    return head + q->sh->capacity - (head & (q->sh->capacity - 1));
  return head + record_size(r->len);
}

/* ---- commits and repairs ------------------------------------------------------ */

static inline void apply(mproc_queue_t *q, side_t *side, const journal_t *j) {
  /* The pool first: a consumer that sees pos move finds the chunks
   * published; a producer that finds chunks free finds the ring past them.
   * (Most commits carry no run: no call for them on the hot path.) */
  if (j->chunks.op != CHUNKS_NONE)
    mproc__chunks_apply(q, &j->chunks);
  if (j->chunks.op == CHUNKS_PUBLISH)
    atomic_store_explicit(&side->pending, j->pending, memory_order_relaxed);
  side->open = j->open;
  atomic_store_explicit(&side->count, j->count, memory_order_relaxed);
  /* Sequentially consistent: wake_park() then reads the waiter counts, and
   * a waiter counts itself before it reads the kind (consumers) or head
   * (producers): no lost wake-up. Consumers look at the kind alone, so
   * that a message crosses in one cache line (the record's), not two;
   * tail follows for producers (a consumer may pass it meanwhile). */
  if (side == &q->sh->put) {
    atomic_store(kind_word(q, j->kind_at), j->kind);
    atomic_store_explicit(&side->pos, j->pos, memory_order_release);
  } else {
    atomic_store(&side->pos, j->pos);
  }
}

/* Moves a side to (pos, count, open) - and, with a CHUNKS record, its
 * run to published or free (chunks; NULL: no run) - in a way a takeover
 * can finish. The fences keep the stores in this order for a process that
 * reads them after this one died (free on x86; a barrier on ARM). Inline,
 * as apply() and place_record(): they are on every put's and get's path,
 * and GCC kept them out of line once the kind word came in (a loan,
 * publish, view and release in one process took 48 ns instead of 43). */
static inline void commit_run(mproc_queue_t *q, side_t *side, uint64_t pos, uint64_t count,
                              uint32_t open, const chunk_op_t *chunks) {
  journal_t *j = &side->journal;
  j->pos = pos;
  j->count = count;
  j->open = open;
  j->chunks.op = CHUNKS_NONE; /* the rest is read only with a run */
  if (side == &q->sh->put) {
    j->kind_at = atomic_load_explicit(&side->pos, memory_order_relaxed);
    j->kind = q->held_kind;
  }
  if (chunks) {
    j->chunks = *chunks;
    if (chunks->op == CHUNKS_PUBLISH)
      j->pending = atomic_load_explicit(&side->pending, memory_order_relaxed) - 1;
  }
  atomic_store_explicit(&j->valid, 1, memory_order_release);
  atomic_thread_fence(memory_order_release);
  apply(q, side, j);
  atomic_store_explicit(&j->valid, 0, memory_order_release);
}

static void commit(mproc_queue_t *q, side_t *side, uint64_t pos, uint64_t count, uint32_t open) {
  commit_run(q, side, pos, count, open, NULL);
}

static void replay(mproc_queue_t *q, side_t *side) {
  if (atomic_load(&side->journal.valid)) {
    apply(q, side, &side->journal);
    atomic_store(&side->journal.valid, 0);
  }
}

static mproc__park_word_t *park(mproc_queue_t *q, size_t i) {
  shared_t *sh = q->sh;
  return i == PARK_NOT_EMPTY ? &sh->not_empty : i == PARK_NOT_FULL ? &sh->not_full : &sh->all_done;
}

/* Tells whoever waits on park i that its condition may have changed. */
static void wake_park(mproc_queue_t *q, size_t i) {
  mproc__park_word_t *w = park(q, i);
  /* Every caller made its change with a sequentially consistent store or
   * read-modify-write (a commit, close, task_done), and this read is one
   * too, so the change is visible before the count is read (a relaxed
   * read may pass a store on ARM; on x86 both cost the same). */
  if (atomic_load(&w->waiters)) {
    atomic_fetch_add(&w->word, 1);
    mproc__sync_wake(&q->s, i, w, MPROC__WAKE_ALL);
  }
  /* The same pairing with mproc_wait's watchers (mproc__bell_arm counts
   * itself, then looks for a record): this read must not pass the commit
   * either, so it is sequentially consistent too (it was relaxed: a watcher
   * could sleep through a message on ARM; x86 never reorders them). */
  if (i == PARK_NOT_EMPTY && q->doorbell != -1 && atomic_load(&q->sh->watchers))
    mproc__os_doorbell_ring(q->doorbell);
}

/* An aborted or orphaned message will never reach task_done. */
static void count_done(mproc_queue_t *q) {
  shared_t *sh = q->sh;
  uint64_t d = atomic_load(&sh->done);
  while (d < atomic_load(&sh->put.count) && !atomic_compare_exchange_weak(&sh->done, &d, d + 1))
    ;
  wake_park(q, PARK_ALL_DONE);
}

/* Ends an open stream with an ABORT record (its room is always kept). The
 * withdrawn message stops counting at once - for size, empty, full,
 * maxsize and join - so consumers that pass the ABORT later count nothing. */
static void abort_stream(mproc_queue_t *q) {
  side_t *put = &q->sh->put;
  uint64_t tail = atomic_load_explicit(&put->pos, memory_order_relaxed);
  tail = write_record(q, tail, REC_ABORT, NULL, 0, 0);
  commit(q, put, tail, atomic_load_explicit(&put->count, memory_order_relaxed) - 1, 0);
  wake_park(q, PARK_NOT_EMPTY);
  wake_park(q, PARK_NOT_FULL); /* maxsize allows one more */
  if (q->sh->joinable)
    wake_park(q, PARK_ALL_DONE);
}

/* After taking the put lock over from a dead producer: its commit
 * finished, its stream withdrawn, the pool's dead loans taken back. */
static void repair_put(mproc_queue_t *q) {
  replay(q, &q->sh->put);
  if (q->sh->put.open)
    abort_stream(q);
  if (mproc__chunks_reclaim(q))
    wake_park(q, PARK_NOT_FULL);
}

/* Takes a side's lock if it is free now (a plain look first: no write
 * to a line the holder uses). */
static bool take_if_free(side_t *side) {
  return atomic_load_explicit(&side->lock.park.word, memory_order_relaxed) == 0 &&
         mproc__mutex_take_free(&side->lock);
}

/* A side's lock is held for one copy into or out of the ring: looking a
 * little usually finds it free, where sleeping on it costs a wake-up on
 * both sides (bench_queue 2 -> 2: 117k futex calls for 800k messages
 * without this look, 9k with it). */
static bool take_free_lock(side_t *side) {
  for (int k = 0; k < LOCK_SPINS; k++) {
    if (take_if_free(side))
      return true;
    mproc__os_cpu_relax();
  }
  return false;
}

/* Then gives the CPU away between looks, until `until` at most. With more
 * processes than CPUs, a side's holder that runs retakes the lock after
 * each copy, so a waiter that sleeps is woken at each release only to find
 * it taken again - and each time it wakes it preempts the process sharing
 * its CPU, often the other side's, which the holder needs to go on
 * (bench_queue 2 -> 2 on 2 CPUs, a producer and a consumer on each: 18k
 * sleeps on the put lock in one run, and 3.5-6 M/s in half the runs; the
 * median of 10 runs was 7.4 M/s, and is 15.3 with the yields). A yield
 * instead lets that process run, or the holder, if it was preempted
 * holding the lock. */
static bool yield_for_lock(side_t *side, int64_t until) {
  for (int k = 1; k <= LOCK_YIELDS; k++) {
    mproc__os_yield();
    if (take_if_free(side))
      return true;
    if (k % 8 == 0 && mproc__remaining_ms(until) == 0)
      return false;
  }
  return false;
}

/* Sleeps for a side's lock until `until`, in slices of LOCK_DEATH_MS,
 * taking it over once its holder is seen dead: a process killed holding a
 * loan or a view gives its side back within a slice, not within the
 * mutex's own owner check (100 ms, right for a user's Lock). */
static int acquire_watching(mproc_queue_t *q, size_t i, side_t *side, int64_t until) {
  for (;;) {
    int left = mproc__remaining_ms(until);
    if (left == 0)
      return mproc__mutex_take_from_dead(&side->lock) ? MPROC_EOWNERDEAD : MPROC_ETIMEDOUT;
    int rc = mproc__mutex_acquire(&q->s, i, &side->lock, false,
                                  left < 0 || left > LOCK_DEATH_MS ? LOCK_DEATH_MS : left);
    if (rc != MPROC_ETIMEDOUT)
      return rc;
    if (mproc__mutex_take_from_dead(&side->lock))
      return MPROC_EOWNERDEAD;
  }
}

/* Takes a side's lock, repairing after a dead holder. A call that may not
 * wait (nowait, or its time is up) still waits NOWAIT_LOCK_MS for another
 * process's copy to end: the lock is held only that long, or while a
 * message larger than the ring streams through, or a loan or view lasts. */
static int lock(mproc_queue_t *q, size_t i, mproc__lazy_deadline_t *deadline, bool nowait,
                const char *op) {
  side_t *side = i == PARK_PUT_LOCK ? &q->sh->put : &q->sh->get;
  if (take_free_lock(side))
    return 0;
  if (mproc__mutex_is_mine(&side->lock)) /* it would wait for itself */
    return mproc__fail(MPROC_ESTATE, "%s: this thread holds a %s of this queue: %s it first", op,
                       i == PARK_PUT_LOCK ? "loan" : "view",
                       i == PARK_PUT_LOCK ? "publish or discard" : "release");
  bool short_wait = nowait || mproc__remaining_ms(mproc__deadline_of(deadline)) == 0;
  int64_t until = short_wait ? mproc__deadline(NOWAIT_LOCK_MS) : mproc__deadline_of(deadline);
  if (yield_for_lock(side, until))
    return 0;
  int rc = acquire_watching(q, i, side, until);
  if (rc == MPROC_EOWNERDEAD) {
    if (i == PARK_PUT_LOCK)
      repair_put(q);
    else
      replay(q, side);
    rc = 0;
  }
  if (rc == MPROC_ETIMEDOUT && nowait)
    return mproc__fail(i == PARK_PUT_LOCK ? MPROC_EFULL : MPROC_EEMPTY, "%s: another process is %s",
                       op, i == PARK_PUT_LOCK ? "putting a message" : "taking a message");
  if (rc == MPROC_ETIMEDOUT)
    return mproc__fail(MPROC_ETIMEDOUT, "%s: timed out", op);
  return rc;
}

static void unlock(mproc_queue_t *q, size_t i) {
  side_t *side = i == PARK_PUT_LOCK ? &q->sh->put : &q->sh->get;
  mproc__mutex_release(&q->s, i, &side->lock, false, true);
}

/* ---- waiting ------------------------------------------------------------------ */

typedef bool (*condition_fn)(mproc_queue_t *q, uint64_t arg);

/* Waits on park i until ready(q, arg) may hold, the deadline or slice_ms
 * (0: none) passes. 0: look again; MPROC_ETIMEDOUT: time is up.
 * Before sleeping it looks SPINS times, then YIELDS times giving up the
 * CPU in between: with more processes than CPUs, the one it waits for is
 * often runnable on this CPU, and a yield lets it run at once, where a
 * sleep makes every put pay a wake-up and the woken process preempt the
 * producer it waits for (bench_queue's scaling table: 5-10x at N >= 2). */
static int await(mproc_queue_t *q, size_t i, condition_fn ready, uint64_t arg,
                 mproc__lazy_deadline_t *until_deadline, int slice_ms) {
  for (int k = 0; k < SPINS + YIELDS; k++) {
    if (ready(q, arg))
      return 0;
    if (k < SPINS)
      mproc__os_cpu_relax();
    else
      mproc__os_yield();
  }
  int64_t deadline = mproc__deadline_of(until_deadline);
  if (slice_ms > 0) {
    int64_t until = mproc__deadline(slice_ms);
    if (deadline < 0 || until < deadline)
      deadline = until;
  }
  mproc__park_word_t *w = park(q, i);
  atomic_fetch_add(&w->waiters, 1);
  uint32_t seen = atomic_load(&w->word);
  int rc = ready(q, arg) ? 0 : mproc__sync_wait(&q->s, i, w, seen, deadline);
  atomic_fetch_sub(&w->waiters, 1);
  return rc;
}

static bool is_closed(const mproc_queue_t *q) { return atomic_load(&q->sh->closed) != 0; }

/* maxsize allows one more message (loans from the pool count as theirs). */
static bool count_ok(mproc_queue_t *q) {
  shared_t *sh = q->sh;
  return sh->maxsize == 0 || atomic_load(&sh->put.count) - atomic_load(&sh->get.count) +
                                     atomic_load_explicit(&sh->put.pending, memory_order_relaxed) <
                                 sh->maxsize;
}

/* Producers: room for a len-byte record at tail. */
static bool room_for_chunk(mproc_queue_t *q, uint64_t len) {
  uint64_t tail = atomic_load_explicit(&q->sh->put.pos, memory_order_relaxed);
  return has_room(q->sh, tail, placement(q->sh, tail, len));
}

/* ... and, to begin a message, maxsize allows one more. */
static bool room_or_closed(mproc_queue_t *q, uint64_t len) {
  return is_closed(q) || (count_ok(q) && room_for_chunk(q, len));
}

/* Under the put lock: room for a len-byte record at tail, from the last
 * head this process saw. Head only grows, so an old value understates the
 * room, and the consumers' cache line is read only when the ring looks
 * full. */
static bool room_locked(mproc_queue_t *q, uint64_t len) {
  uint64_t cap = q->sh->capacity;
  uint64_t tail = atomic_load_explicit(&q->sh->put.pos, memory_order_relaxed);
  uint64_t need = placement(q->sh, tail, len) + kept(q->sh), used = tail - q->seen_head;
  if (used <= cap && need <= cap - used)
    return true;
  q->seen_head = atomic_load(&q->sh->get.pos);
  return need <= cap - (tail - q->seen_head);
}

/* Consumers: a record at head (arg): its kind shows (the commit shows it
 * after the rest of the record; the word at tail is 0). */
static bool record_at(mproc_queue_t *q, uint64_t head) {
  return atomic_load(kind_word(q, head)) != 0;
}

static bool record_or_closed(mproc_queue_t *q, uint64_t unused) {
  (void)unused;
  return is_closed(q) || record_at(q, atomic_load(&q->sh->get.pos));
}

static bool all_done(mproc_queue_t *q, uint64_t unused) {
  (void)unused;
  return atomic_load(&q->sh->done) >= atomic_load(&q->sh->put.count);
}

/* ---- put ---------------------------------------------------------------------- */

/* Timeout 0 takes all or nothing: whether every chunk of a len-byte
 * message fits now (and maxsize allows one more). */
static bool fits_now(mproc_queue_t *q, uint64_t len) {
  shared_t *sh = q->sh;
  if (len >= sh->capacity)
    return false;
  uint64_t tail = atomic_load_explicit(&sh->put.pos, memory_order_relaxed), pos = tail;
  for (uint64_t left = len, n; pos == tail || left > 0; left -= n) {
    n = left < sh->max_chunk ? left : sh->max_chunk;
    pos += placement(sh, pos, n);
  }
  return room_or_closed(q, 0) && has_room(sh, tail, pos - tail);
}

/* The rest of a streamed message, chunk by chunk, as consumers make room. */
static int stream_rest(mproc_queue_t *q, const unsigned char *p, uint64_t len,
                       mproc__lazy_deadline_t *deadline) {
  shared_t *sh = q->sh;
  for (uint64_t off = 0; off < len;) {
    uint64_t n = len - off < sh->max_chunk ? len - off : sh->max_chunk;
    while (!room_locked(q, n)) {
      if (await(q, PARK_NOT_FULL, room_for_chunk, n, deadline, 0) == MPROC_ETIMEDOUT &&
          !room_for_chunk(q, n)) {
        abort_stream(q);
        return mproc__fail(MPROC_ETIMEDOUT,
                           "queue_put: timed out after %llu of %llu bytes (the message was "
                           "withdrawn)",
                           (unsigned long long)off, (unsigned long long)len);
      }
    }
    bool last = off + n == len;
    uint64_t tail = atomic_load_explicit(&sh->put.pos, memory_order_relaxed);
    tail = write_record(q, tail, last ? REC_LAST : REC_MORE, p + off, n, 0);
    commit(q, &sh->put, tail, atomic_load_explicit(&sh->put.count, memory_order_relaxed), !last);
    wake_park(q, PARK_NOT_EMPTY);
    off += n;
  }
  return 0;
}

/* Under the put lock, when pool loans keep room: takes back those whose
 * loaners died. Whether any came back. */
static bool reclaim_dead_loans(mproc_queue_t *q) {
  if (!atomic_load_explicit(&q->sh->put.pending, memory_order_relaxed) || !mproc__chunks_reclaim(q))
    return false;
  wake_park(q, PARK_NOT_FULL);
  return true;
}

/* Takes the put lock once there is room for a len-byte message's first
 * record and maxsize allows one more (timeout 0: for all of it now).
 * While pool loans keep room, it looks every LOCK_DEATH_MS for loaners
 * that died keeping it. */
static int begin_put(mproc_queue_t *q, uint64_t len, int timeout_ms,
                     mproc__lazy_deadline_t *deadline, const char *op) {
  shared_t *sh = q->sh;
  uint64_t first = len < sh->max_chunk ? len : sh->max_chunk;
  for (bool look_for_dead = false;;) {
    int rc = lock(q, PARK_PUT_LOCK, deadline, timeout_ms == 0, op);
    if (rc)
      return rc;
    if (is_closed(q)) {
      unlock(q, PARK_PUT_LOCK);
      return mproc__fail(MPROC_ECLOSED, "%s: the queue is closed", op);
    }
    if (look_for_dead)
      reclaim_dead_loans(q);
    look_for_dead = false;
    if (timeout_ms == 0 ? fits_now(q, len) || (reclaim_dead_loans(q) && fits_now(q, len))
                        : count_ok(q) && room_locked(q, first))
      return 0;
    unlock(q, PARK_PUT_LOCK);
    if (timeout_ms == 0)
      return mproc__fail(
          MPROC_EFULL, "%s: the queue is full (%llu messages)", op,
          (unsigned long long)(atomic_load(&sh->put.count) - atomic_load(&sh->get.count)));
    int slice = atomic_load_explicit(&sh->put.pending, memory_order_relaxed) ? LOCK_DEATH_MS : 0;
    if (await(q, PARK_NOT_FULL, room_or_closed, first, deadline, slice) == MPROC_ETIMEDOUT &&
        !room_or_closed(q, first)) {
      if (mproc__remaining_ms(mproc__deadline_of(deadline)) == 0)
        return mproc__fail(MPROC_ETIMEDOUT, "%s: no room after %d ms", op, timeout_ms);
      look_for_dead = true;
    }
  }
}

static int loan_run(mproc_queue_t *q, size_t len, void **buf, int timeout_ms,
                    mproc__lazy_deadline_t *deadline, const char *op);
static int publish_run(mproc_queue_t *q, void *buf, size_t len);

/* A message above a quarter of the ring, into the chunk pool: one copy
 * in and a record, instead of a stream in step with the consumers. */
static int put_through_pool(mproc_queue_t *q, const void *buf, size_t len, int timeout_ms,
                            mproc__lazy_deadline_t *deadline) {
  void *room;
  int rc = loan_run(q, len, &room, timeout_ms, deadline, "queue_put");
  if (rc)
    return rc;
  memcpy(room, buf, len);
  return publish_run(q, room, len);
}

int mproc_queue_put_bytes(mproc_queue_t *q, const void *buf, size_t len, int timeout_ms) {
  if (!q || (!buf && len > 0))
    return mproc__fail(MPROC_EINVAL, "queue_put: %s is NULL", q ? "buf" : "queue");
  int rc = mproc__check_timeout("queue_put", timeout_ms);
  if (rc)
    return rc;
  shared_t *sh = q->sh;
  if (is_closed(q))
    return mproc__fail(MPROC_ECLOSED, "queue_put: the queue is closed");
  mproc__lazy_deadline_t deadline = mproc__lazy_deadline(timeout_ms);
  if (len > sh->max_chunk && len <= (uint64_t)sh->nchunks * sh->chunk_size)
    return put_through_pool(q, buf, len, timeout_ms, &deadline);
  uint64_t first = len < sh->max_chunk ? len : sh->max_chunk;
  if ((rc = begin_put(q, len, timeout_ms, &deadline, "queue_put")) != 0)
    return rc;
  bool whole = len <= sh->max_chunk;
  uint64_t tail = atomic_load_explicit(&sh->put.pos, memory_order_relaxed);
  tail = write_record(q, tail, whole ? REC_WHOLE : REC_FIRST, buf, first, len);
  commit(q, &sh->put, tail, atomic_load_explicit(&sh->put.count, memory_order_relaxed) + 1, !whole);
  wake_park(q, PARK_NOT_EMPTY);
  if (!whole)
    rc = stream_rest(q, (const unsigned char *)buf + first, len - first, &deadline);
  unlock(q, PARK_PUT_LOCK);
  return rc;
}

/* ---- get ---------------------------------------------------------------------- */

/* Where a message goes: a buffer allocated for it, or the caller's. */
typedef struct {
  unsigned char *buf;
  size_t cap;
  bool allocate;
  uint64_t total, got;
  size_t *len;
  bool view;            /* a view: the get lock stays held on success */
  uint64_t view_end;    /* a view in the ring: the head once released (0: a copy) */
  chunk_run_t view_run; /* a view in the pool: its run */
} sink_t;

static int sink_begin(sink_t *k, uint64_t total) {
  k->total = total;
  k->got = 0;
  *k->len = (size_t)total;
  if (total > SIZE_MAX - 1)
    return mproc__fail(MPROC_ENOMEM, "queue_get: a %llu-byte message does not fit in memory",
                       (unsigned long long)total);
  if (!k->allocate)
    return total > k->cap ? mproc__fail(MPROC_ETOOBIG,
                                        "queue_get_bytes_into: the message is %llu bytes, the "
                                        "buffer %zu (it stays in the queue)",
                                        (unsigned long long)total, k->cap)
                          : 0;
  k->buf = malloc(total ? (size_t)total : 1);
  return k->buf ? 0
                : mproc__fail(MPROC_ENOMEM,
                              "queue_get: no memory for %llu bytes (the message "
                              "stays in the queue)",
                              (unsigned long long)total);
}

static int sink_add(sink_t *k, const unsigned char *p, uint64_t n) {
  if (n > k->total - k->got)
    return mproc__fail(MPROC_EPROTO, "queue_get: a chunk runs past its message's %llu bytes",
                       (unsigned long long)k->total);
  if (n)
    memcpy(k->buf + k->got, p, (size_t)n);
  k->got += n;
  return 0;
}

static void sink_drop(sink_t *k) {
  if (k->allocate) {
    free(k->buf);
    k->buf = NULL;
  }
}

/* Consumers hold the get lock. Takes the record at head past the ring:
 * the new head, count + finished, signalled to producers; a CHUNKS
 * record's run (NULL: none) is freed with it. */
static void consume_run(mproc_queue_t *q, uint64_t end, int finished, const chunk_run_t *run) {
  side_t *get = &q->sh->get;
  chunk_op_t op = {CHUNKS_FREE, 0, run ? *run : (chunk_run_t){0, 0, 0, 0}};
  commit_run(q, get, end,
             atomic_load_explicit(&get->count, memory_order_relaxed) + (uint64_t)finished, 0,
             run ? &op : NULL);
  wake_park(q, PARK_NOT_FULL);
}

static void consume(mproc_queue_t *q, uint64_t end, int finished) {
  consume_run(q, end, finished, NULL);
}

/* Mid-stream: waits (past the caller's deadline: the message is half
 * taken) for the next record; repairs the put side if its producer died. */
static void await_chunk(mproc_queue_t *q, uint64_t head) {
  while (!record_at(q, head)) {
    mproc__lazy_deadline_t forever = mproc__lazy_deadline(MPROC_INFINITE);
    if (await(q, PARK_NOT_EMPTY, record_at, head, &forever, DEATH_CHECK_MS) == MPROC_ETIMEDOUT &&
        !record_at(q, head) && mproc__mutex_take_from_dead(&q->sh->put.lock)) {
      repair_put(q);
      unlock(q, PARK_PUT_LOCK);
    }
  }
}

/* Takes the rest of a streamed message into k. 1: complete; 0: the
 * stream was aborted (discarded; look for the next message). */
static int take_stream(mproc_queue_t *q, sink_t *k) {
  side_t *get = &q->sh->get;
  for (;;) {
    uint64_t head = atomic_load_explicit(&get->pos, memory_order_relaxed);
    await_chunk(q, head);
    record_t r;
    int rc = read_header(q, head, &r);
    if (rc)
      return rc;
    if (r.kind == REC_WHOLE || r.kind == REC_FIRST || r.kind == REC_CHUNKS) {
      /* A new message where the rest of this one should be: its end was
       * lost. Count it as gone and leave the new one for the caller. */
      commit(q, get, head, atomic_load_explicit(&get->count, memory_order_relaxed) + 1, 0);
      sink_drop(k);
      if (q->sh->joinable)
        count_done(q);
      return 0;
    }
    if (r.kind == REC_MORE || r.kind == REC_LAST) {
      rc = sink_add(k, q->ring + (head & (q->sh->capacity - 1)) + HEADER, r.len);
      if (rc)
        return rc;
    }
    if (r.kind == REC_LAST && k->got != k->total)
      return mproc__fail(MPROC_EPROTO,
                         "queue_get: a streamed message ended after %llu of %llu "
                         "bytes",
                         (unsigned long long)k->got, (unsigned long long)k->total);
    /* A withdrawn message was uncounted by its ABORT: nothing finishes. */
    consume(q, record_end(q, head, &r), r.kind == REC_LAST);
    if (r.kind == REC_LAST)
      return 1;
    if (r.kind == REC_ABORT) {
      sink_drop(k);
      return 0;
    }
  }
}

/* The message in the pool that the CHUNKS record r at head names: viewed
 * in place, or copied out and its run freed with the record. 1: the run
 * is no longer published - its producer died publishing it and its
 * chunks were taken back before the commit was finished - so the message
 * is gone: skipped. */
static int take_chunks(mproc_queue_t *q, sink_t *k, uint64_t head, const record_t *r) {
  chunk_run_t run;
  memcpy(&run, q->ring + (head & (q->sh->capacity - 1)) + HEADER, sizeof run);
  uint64_t end = record_end(q, head, r);
  if (!mproc__chunks_published(q, &run)) {
    consume_run(q, end, 1, &run);
    if (q->sh->joinable)
      count_done(q);
    return 1;
  }
  if (r->total > (uint64_t)run.count * q->sh->chunk_size)
    return mproc__fail(MPROC_EPROTO, "queue_get: a %llu-byte message in %u chunks",
                       (unsigned long long)r->total, run.count);
  unsigned char *data = q->pool + (uint64_t)run.first * q->sh->chunk_size;
  if (k->view) {
    k->buf = data;
    *k->len = (size_t)r->total;
    k->view_end = end;
    k->view_run = run;
    return 0;
  }
  int rc = sink_begin(k, r->total);
  if (!rc)
    rc = sink_add(k, data, r->total);
  if (!rc)
    consume_run(q, end, 1, &run);
  return rc;
}

/* Whether the stream whose FIRST record is at head ends in an ABORT
 * already in the ring. */
static bool withdrawn(mproc_queue_t *q, uint64_t head) {
  uint64_t tail = atomic_load(&q->sh->put.pos);
  record_t r;
  for (uint64_t at = head; at != tail; at = record_end(q, at, &r)) {
    if (read_header(q, at, &r) || record_end(q, at, &r) > tail ||
        (at != head && (r.kind == REC_WHOLE || r.kind == REC_FIRST || r.kind == REC_CHUNKS)))
      return false;
    if (r.kind == REC_LAST || r.kind == REC_ABORT)
      return r.kind == REC_ABORT;
  }
  return false;
}

/* Whether a closed queue is finished: no record, and no put under way
 * that began before the close - nor a pool loan, which may still be
 * published (a dead loaner's is taken back here). */
static bool drained(mproc_queue_t *q, uint64_t head) {
  if (!is_closed(q))
    return false;
  side_t *put = &q->sh->put;
  if (mproc__mutex_take_from_dead(&put->lock)) {
    repair_put(q);
    unlock(q, PARK_PUT_LOCK);
  }
  if (atomic_load(&put->pending) && take_free_lock(put)) {
    reclaim_dead_loans(q);
    unlock(q, PARK_PUT_LOCK);
  }
  return atomic_load(&put->lock.park.word) == 0 && atomic_load(&put->pending) == 0 &&
         !record_at(q, head);
}

static int take(mproc_queue_t *q, sink_t *k, int timeout_ms, const char *op) {
  int rc = mproc__check_timeout(op, timeout_ms);
  if (rc)
    return rc;
  shared_t *sh = q->sh;
  mproc__lazy_deadline_t deadline = mproc__lazy_deadline(timeout_ms);
  if ((rc = lock(q, PARK_GET_LOCK, &deadline, timeout_ms == 0, op)) != 0)
    return rc;
  for (;;) {
    uint64_t head = atomic_load_explicit(&sh->get.pos, memory_order_relaxed);
    if (!record_at(q, head)) {
      if (drained(q, head)) {
        unlock(q, PARK_GET_LOCK);
        return mproc__fail(MPROC_ECLOSED, "%s: the queue is closed and empty", op);
      }
      unlock(q, PARK_GET_LOCK);
      if (timeout_ms == 0)
        return mproc__fail(MPROC_EEMPTY, "%s: the queue is empty", op);
      if (await(q, PARK_NOT_EMPTY, record_or_closed, 0, &deadline,
                is_closed(q) ? CLOSE_CHECK_MS : 0) == MPROC_ETIMEDOUT &&
          mproc__remaining_ms(mproc__deadline_of(&deadline)) == 0 && !record_or_closed(q, 0))
        return mproc__fail(MPROC_ETIMEDOUT, "%s: no message after %d ms", op, timeout_ms);
      if ((rc = lock(q, PARK_GET_LOCK, &deadline, false, op)) != 0)
        return rc;
      continue;
    }
    record_t r;
    if ((rc = read_header(q, head, &r)) != 0)
      break;
    if (r.kind == REC_CHUNKS) {
      if ((rc = take_chunks(q, k, head, &r)) == 1)
        continue;
      break;
    }
    unsigned char *payload = q->ring + (head & (sh->capacity - 1)) + HEADER;
    if (k->view && r.kind == REC_WHOLE) { /* in place, consumed on release */
      k->buf = payload;
      *k->len = r.len;
      k->view_end = record_end(q, head, &r);
      break;
    }
    if (r.kind != REC_WHOLE && r.kind != REC_FIRST) {
      /* A PAD; or the rest of a message whose consumer died (its LAST
       * counts as a message gone), or that its producer withdrew (its
       * ABORT already uncounted it): skipped. */
      bool ends = r.kind == REC_LAST;
      consume(q, record_end(q, head, &r), ends);
      if (ends && sh->joinable)
        count_done(q);
      continue;
    }
    if ((rc = sink_begin(k, r.total)) != 0 || (rc = sink_add(k, payload, r.len)) != 0) {
      /* Too big for the caller, or no memory: it stays, unless it is a
       * stream already withdrawn (skipped by the next round). */
      if (r.kind == REC_FIRST && withdrawn(q, head)) {
        consume(q, record_end(q, head, &r), 0);
        continue;
      }
      break;
    }
    consume(q, record_end(q, head, &r), r.kind == REC_WHOLE);
    if (r.kind == REC_WHOLE)
      break;
    if ((rc = take_stream(q, k)) != 0) {
      rc = rc == 1 ? 0 : rc;
      break;
    }
  }
  if (rc || !k->view)
    unlock(q, PARK_GET_LOCK);
  if (rc)
    sink_drop(k);
  return rc;
}

int mproc_queue_get_bytes(mproc_queue_t *q, void **buf, size_t *len, int timeout_ms) {
  if (!q || !buf || !len)
    return mproc__fail(MPROC_EINVAL, "queue_get: %s is NULL", !q ? "queue" : !buf ? "buf" : "len");
  sink_t k = {.allocate = true, .len = len};
  int rc = take(q, &k, timeout_ms, "queue_get");
  if (rc == 0)
    *buf = k.buf;
  return rc;
}

int mproc_queue_get_bytes_into(mproc_queue_t *q, void *buf, size_t cap, size_t *len,
                               int timeout_ms) {
  if (!q || !len || (!buf && cap > 0))
    return mproc__fail(MPROC_EINVAL, "queue_get_bytes_into: %s is NULL",
                       !q     ? "queue"
                       : !len ? "len"
                              : "buf");
  sink_t k = {.buf = buf, .cap = cap, .len = len};
  return take(q, &k, timeout_ms, "queue_get_bytes_into");
}

static int put_bytes(void *q, const void *buf, size_t len, int timeout_ms) {
  return mproc_queue_put_bytes(q, buf, len, timeout_ms);
}

static int get_bytes(void *q, void **buf, size_t *len, int timeout_ms) {
  return mproc_queue_get_bytes(q, buf, len, timeout_ms);
}

int mproc_queue_put(mproc_queue_t *q, const mproc_args_t *args, int timeout_ms) {
  if (!q)
    return mproc__fail(MPROC_EINVAL, "queue_put: queue is NULL");
  return mproc__send_args(put_bytes, q, args, timeout_ms, "queue_put");
}

int mproc_queue_get(mproc_queue_t *q, mproc_args_t **args, int timeout_ms) {
  return mproc__recv_args(get_bytes, q, args, timeout_ms, "queue_get");
}

/* ---- loans and views: messages written and read in place ---------------------- */

/* A loan in the ring holds the put lock, a view the get lock, from the
 * call that makes it to the one that ends it: the state in q is written
 * only under it. A process that dies holding one leaves the lock to the
 * next producer or consumer, which repairs the ring as after a dead put or
 * get: the loan's room was never published; the viewed message was never
 * consumed. A loan from the chunk pool holds no lock: its chunks' words
 * say whose it is (queue_chunks.c), and the next producer short of chunks
 * or of room takes a dead loaner's back. */

/* ---- loans from the chunk pool ------------------------------------------------ */

/* Takes back dead loaners' runs, under the put lock (waited for only a
 * moment). */
static bool reclaim_now(mproc_queue_t *q, const char *op) {
  mproc__lazy_deadline_t none = mproc__lazy_deadline(0);
  if (lock(q, PARK_PUT_LOCK, &none, true, op) != 0)
    return false;
  bool any = mproc__chunks_reclaim(q);
  unlock(q, PARK_PUT_LOCK);
  return any;
}

/* Waits for k free chunks in a row; each LOCK_DEATH_MS without them it
 * takes back what dead loaners held. */
static int await_run(mproc_queue_t *q, uint32_t k, int timeout_ms, mproc__lazy_deadline_t *dl,
                     const char *op) {
  if (reclaim_now(q, op) && mproc__chunks_have_run(q, k))
    return 0;
  if (timeout_ms == 0)
    return mproc__fail(MPROC_EFULL, "%s: the chunk pool has no %u free chunks in a row", op, k);
  if (await(q, PARK_NOT_FULL, mproc__chunks_have_run, k, dl, LOCK_DEATH_MS) == MPROC_ETIMEDOUT &&
      mproc__remaining_ms(mproc__deadline_of(dl)) == 0 && !mproc__chunks_have_run(q, k))
    return mproc__fail(MPROC_ETIMEDOUT,
                       "%s: the chunk pool had no %u free chunks in a row after %d ms", op, k,
                       timeout_ms);
  return 0;
}

/* A loan above a quarter of the ring: a run of chunks, then room kept in
 * the ring for its record (so its publish never waits for room). */
static int loan_run(mproc_queue_t *q, size_t len, void **buf, int timeout_ms,
                    mproc__lazy_deadline_t *deadline, const char *op) {
  uint32_t k = mproc__chunks_for(q, len), ticket = atomic_fetch_add(&q->sh->tickets, 1) + 1;
  int64_t first;
  int rc;
  while ((first = mproc__chunks_claim(q, k, ticket)) < 0)
    if ((rc = await_run(q, k, timeout_ms, deadline, op)) != 0)
      return rc;
  if ((rc = begin_put(q, PENDING_ROOM - HEADER, timeout_ms, deadline, op)) != 0) {
    mproc__chunks_unclaim(q, (uint32_t)first, k, ticket);
    return rc;
  }
  mproc__chunks_reserve(q, (uint32_t)first, ticket, len);
  unlock(q, PARK_PUT_LOCK);
  *buf = q->pool + (uint64_t)first * q->sh->chunk_size;
  return 0;
}

int mproc_queue_loan(mproc_queue_t *q, size_t len, void **buf, int timeout_ms) {
  if (!q || !buf)
    return mproc__fail(MPROC_EINVAL, "queue_loan: %s is NULL", q ? "buf" : "queue");
  int rc = mproc__check_timeout("queue_loan", timeout_ms);
  if (rc)
    return rc;
  uint64_t pool = (uint64_t)q->sh->nchunks * q->sh->chunk_size;
  if (len > q->sh->max_chunk && len > pool)
    return mproc__fail(MPROC_ETOOBIG,
                       pool ? "queue_loan: %zu bytes; the ring lends at most %llu (a quarter of "
                              "it, less a header), the chunk pool %llu"
                            : "queue_loan: %zu bytes; the ring lends at most %llu (a quarter of "
                              "it, less a header): a queue made with opts.chunk_pool_bytes lends "
                              "larger ones from its pool",
                       len, (unsigned long long)q->sh->max_chunk, (unsigned long long)pool);
  if (is_closed(q))
    return mproc__fail(MPROC_ECLOSED, "queue_loan: the queue is closed");
  mproc__lazy_deadline_t deadline = mproc__lazy_deadline(timeout_ms);
  if (len > q->sh->max_chunk)
    return loan_run(q, len, buf, timeout_ms, &deadline, "queue_loan");
  if ((rc = begin_put(q, len, timeout_ms, &deadline, "queue_loan")) != 0)
    return rc;
  q->loan_at = place_record(q, atomic_load_explicit(&q->sh->put.pos, memory_order_relaxed), len);
  q->loan_cap = len;
  q->loan = q->ring + (q->loan_at & (q->sh->capacity - 1)) + HEADER;
  *buf = q->loan;
  return 0;
}

/* Whether the calling thread holds a loan at buf (the lock first: q's
 * loan is another thread's to read until then). */
static int own_loan(const mproc_queue_t *q, const void *buf, const char *op) {
  if (!q)
    return mproc__fail(MPROC_EINVAL, "%s: queue is NULL", op);
  if (!mproc__mutex_is_mine(&q->sh->put.lock) || !q->loan || buf != q->loan)
    return mproc__fail(MPROC_ESTATE, "%s: the calling thread holds no loan at %p", op, buf);
  return 0;
}

/* Publishes a pool loan: a CHUNKS record in the room its loan kept, and
 * its run published, in one commit. It waits its turn among producers. */
static int publish_run(mproc_queue_t *q, void *buf, size_t len) {
  chunk_run_t run;
  uint32_t owner;
  uint64_t asked;
  int rc = mproc__chunks_find_loan(q, buf, &run, &owner, &asked, "queue_publish");
  if (rc)
    return rc;
  if (len > asked)
    return mproc__fail(MPROC_ERANGE, "queue_publish: %zu bytes in a loan of %llu (still held)", len,
                       (unsigned long long)asked);
  mproc__lazy_deadline_t forever = mproc__lazy_deadline(MPROC_INFINITE);
  if ((rc = lock(q, PARK_PUT_LOCK, &forever, false, "queue_publish")) != 0)
    return rc;
  side_t *put = &q->sh->put;
  uint64_t tail =
      place_record(q, atomic_load_explicit(&put->pos, memory_order_relaxed), sizeof run);
  write_header(q, tail, REC_CHUNKS, sizeof run, len);
  memcpy(q->ring + (tail & (q->sh->capacity - 1)) + HEADER, &run, sizeof run);
  chunk_op_t op = {CHUNKS_PUBLISH, owner, run};
  commit_run(q, put, tail + record_size(sizeof run),
             atomic_load_explicit(&put->count, memory_order_relaxed) + 1, 0, &op);
  wake_park(q, PARK_NOT_EMPTY);
  unlock(q, PARK_PUT_LOCK);
  return 0;
}

/* Gives a pool loan back unpublished: its run and the room it kept. */
static int discard_run(mproc_queue_t *q, void *buf) {
  chunk_run_t run;
  uint32_t owner;
  uint64_t asked;
  int rc = mproc__chunks_find_loan(q, buf, &run, &owner, &asked, "queue_discard");
  mproc__lazy_deadline_t forever = mproc__lazy_deadline(MPROC_INFINITE);
  if (rc || (rc = lock(q, PARK_PUT_LOCK, &forever, false, "queue_discard")) != 0)
    return rc;
  mproc__chunks_give_back(q, &run, owner);
  unlock(q, PARK_PUT_LOCK);
  wake_park(q, PARK_NOT_FULL);
  return 0;
}

int mproc_queue_publish(mproc_queue_t *q, void *buf, size_t len) {
  if (q && mproc__chunks_holds(q, buf))
    return publish_run(q, buf, len);
  int rc = own_loan(q, buf, "queue_publish");
  if (rc)
    return rc;
  if (len > q->loan_cap)
    return mproc__fail(MPROC_ERANGE, "queue_publish: %zu bytes in a loan of %zu (still held)", len,
                       q->loan_cap);
  side_t *put = &q->sh->put;
  if (record_size(len) != record_size(q->loan_cap))
    clear_after(q, q->loan_at, len);
  write_header(q, q->loan_at, REC_WHOLE, len, len);
  q->loan = NULL;
  commit(q, put, q->loan_at + record_size(len),
         atomic_load_explicit(&put->count, memory_order_relaxed) + 1, 0);
  wake_park(q, PARK_NOT_EMPTY);
  unlock(q, PARK_PUT_LOCK);
  return 0;
}

int mproc_queue_discard(mproc_queue_t *q, void *buf) {
  if (q && mproc__chunks_holds(q, buf))
    return discard_run(q, buf);
  int rc = own_loan(q, buf, "queue_discard");
  if (rc)
    return rc;
  q->loan = NULL;
  unlock(q, PARK_PUT_LOCK);
  return 0;
}

int mproc_queue_get_view(mproc_queue_t *q, const void **data, size_t *len, int timeout_ms) {
  if (!q || !data || !len)
    return mproc__fail(MPROC_EINVAL, "queue_get_view: %s is NULL",
                       !q      ? "queue"
                       : !data ? "data"
                               : "len");
  sink_t k = {.allocate = true, .len = len, .view = true};
  int rc = take(q, &k, timeout_ms, "queue_get_view");
  if (rc)
    return rc;
  q->view = k.buf;
  q->view_end = k.view_end;
  q->view_run = k.view_run;
  *data = k.buf;
  return 0;
}

int mproc_queue_release(mproc_queue_t *q, const void *data) {
  if (!q)
    return mproc__fail(MPROC_EINVAL, "queue_release: queue is NULL");
  if (!mproc__mutex_is_mine(&q->sh->get.lock) || !q->view || data != q->view)
    return mproc__fail(MPROC_ESTATE, "queue_release: the calling thread holds no view at %p", data);
  if (q->view_end)
    consume_run(q, q->view_end, 1, q->view_run.count ? &q->view_run : NULL);
  else
    free(q->view); /* a streamed message's copy, consumed already */
  q->view = NULL;
  q->view_run.count = 0;
  unlock(q, PARK_GET_LOCK);
  return 0;
}

void mproc__queue_end_loans(mproc_queue_t *q) {
  if (mproc__mutex_is_mine(&q->sh->put.lock) && q->loan) {
    q->loan = NULL;
    unlock(q, PARK_PUT_LOCK);
  }
  if (mproc__mutex_is_mine(&q->sh->get.lock) && q->view) {
    if (!q->view_end)
      free(q->view);
    q->view = NULL; /* the message stays in the queue */
    q->view_run.count = 0;
    unlock(q, PARK_GET_LOCK);
  }
  mproc__chunks_abandon_lent(q);
}

/* ---- state, close, join ------------------------------------------------------- */

long long mproc_queue_size(const mproc_queue_t *q) {
  if (!q)
    return mproc__fail(MPROC_EINVAL, "queue_size: queue is NULL");
  /* Gets first: both only grow, and gets never passes puts. */
  uint64_t gets = atomic_load(&q->sh->get.count);
  uint64_t puts = atomic_load(&q->sh->put.count);
  return puts > gets ? (long long)(puts - gets) : 0;
}

bool mproc_queue_empty(const mproc_queue_t *q) { return q && mproc_queue_size(q) == 0; }

bool mproc_queue_full(const mproc_queue_t *q) {
  if (!q)
    return false;
  const shared_t *sh = q->sh;
  uint64_t tail = atomic_load(&sh->put.pos);
  uint64_t pending = atomic_load_explicit(&sh->put.pending, memory_order_relaxed);
  return (sh->maxsize && (uint64_t)mproc_queue_size(q) + pending >= sh->maxsize) ||
         !has_room(sh, tail, placement(sh, tail, 0));
}

int mproc_queue_close(mproc_queue_t *q) {
  if (!q)
    return mproc__fail(MPROC_EINVAL, "queue_close: queue is NULL");
  atomic_store(&q->sh->closed, 1);
  wake_park(q, PARK_NOT_EMPTY);
  wake_park(q, PARK_NOT_FULL);
  return 0;
}

bool mproc_queue_closed(const mproc_queue_t *q) { return q && is_closed(q); }

static int joinable(const mproc_queue_t *q, const char *op) {
  if (!q)
    return mproc__fail(MPROC_EINVAL, "%s: queue is NULL", op);
  if (!q->sh->joinable)
    return mproc__fail(MPROC_ESTATE, "%s: the queue was not made with opts.joinable", op);
  return 0;
}

int mproc_queue_task_done(mproc_queue_t *q) {
  int rc = joinable(q, "queue_task_done");
  if (rc)
    return rc;
  shared_t *sh = q->sh;
  uint64_t d = atomic_load(&sh->done);
  do {
    if (d >= atomic_load(&sh->put.count))
      return mproc__fail(MPROC_EVALUE,
                         "queue_task_done: called more times than messages were "
                         "put (%llu)",
                         (unsigned long long)d);
  } while (!atomic_compare_exchange_weak(&sh->done, &d, d + 1));
  wake_park(q, PARK_ALL_DONE);
  return 0;
}

int mproc_queue_join(mproc_queue_t *q, int timeout_ms) {
  int rc = joinable(q, "queue_join");
  if (!rc)
    rc = mproc__check_timeout("queue_join", timeout_ms);
  if (rc)
    return rc;
  mproc__lazy_deadline_t deadline = mproc__lazy_deadline(timeout_ms);
  while (!all_done(q, 0))
    if (timeout_ms == 0 ||
        (await(q, PARK_ALL_DONE, all_done, 0, &deadline, 0) == MPROC_ETIMEDOUT && !all_done(q, 0)))
      return mproc__fail(
          MPROC_ETIMEDOUT, "queue_join: %llu messages not done after %d ms",
          (unsigned long long)(atomic_load(&q->sh->put.count) - atomic_load(&q->sh->done)),
          timeout_ms);
  return 0;
}

bool mproc__queue_takeable(mproc_queue_t *q) { return record_or_closed(q, 0); }
