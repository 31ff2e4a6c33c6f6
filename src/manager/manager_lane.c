/* A manager client's calls through shared memory (see manager_lane.h). */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "manager/manager_lane.h"
#include "manager/manager_wire.h"

enum {
  LANE_BYTES = 64 * 1024,
  RELAX_SPINS = 64,    /* then spin yielding the CPU, which two cores may need */
  SLICE_MS = 100,      /* how often a sleeping side looks at the connection */
  TAKEN_LOOK_US = 2000 /* how long the server looks for a lock's answer to be read */
};
#define ON_CONN UINT32_MAX /* the length of a message sent on the connection */

/* One side's part of what the two processes share, on its own cache line
 * so one line moves per message. */
typedef struct {
  mproc__park_word_t word; /* messages posted */
  _Atomic uint32_t len;    /* the last one's length */
  _Atomic int32_t cpu;     /* where the poster ran (-1: unknown) */
  _Atomic uint32_t taken;  /* the client's side: the last answer it has read */
  unsigned char pad[64 - sizeof(mproc__park_word_t) - 3 * sizeof(uint32_t)];
} side_t;

typedef struct {
  side_t asked;    /* by the client */
  side_t answered; /* by the server */
} shared_t;

#define DATA_BYTES (LANE_BYTES - sizeof(shared_t))

struct mproc__mgr_lane {
  shared_t *sh;
  unsigned char *data;
  intptr_t asked_park;    /* the wait objects of the two words (-1 where */
  intptr_t answered_park; /* the platform needs none), this process's */
  uint32_t count;         /* the client: requests sent; the server: the last taken */
  atomic_bool closing;    /* the server: stopping */
};

size_t mproc__mgr_lane_handles(void) { return mproc__os_park_has_handles() ? 3 : 1; }

/* A lane over the memory and wait objects in h (its memory, then the two
 * words' objects where the platform has them), which it takes over. */
static int map(const intptr_t *h, mproc__mgr_lane_t **out) {
  mproc__mgr_lane_t *l = calloc(1, sizeof *l);
  void *mem = NULL;
  int rc = l ? mproc__os_shm_map(h[0], LANE_BYTES, &mem)
             : mproc__fail(MPROC_ENOMEM, "manager: out of memory");
  mproc__os_close_handle(h[0]); /* the mapping keeps the memory */
  bool parks = mproc__mgr_lane_handles() == 3;
  if (rc) {
    if (parks) {
      mproc__os_close_handle(h[1]);
      mproc__os_close_handle(h[2]);
    }
    free(l);
    return rc;
  }
  l->sh = mem;
  l->data = (unsigned char *)mem + sizeof(shared_t);
  l->asked_park = parks ? h[1] : -1;
  l->answered_park = parks ? h[2] : -1;
  atomic_init(&l->closing, false);
  *out = l;
  return 0;
}

int mproc__mgr_lane_new(mproc__mgr_lane_t **out, intptr_t h[MPROC__MGR_LANE_HANDLES], size_t *n) {
  intptr_t mine[MPROC__MGR_LANE_HANDLES] = {-1, -1, -1};
  *n = mproc__mgr_lane_handles();
  for (size_t i = 0; i < *n; i++)
    h[i] = -1;
  int rc = mproc__os_shm_new_sealed(LANE_BYTES, &mine[0]);
  for (size_t i = 1; i < *n && !rc; i++)
    rc = mproc__os_park_new(&mine[i]);
  for (size_t i = 0; i < *n && !rc; i++) /* the client's copies; the lane keeps mine */
    rc = mproc__os_dup_handle(mine[i], &h[i]);
  if (rc) {
    for (size_t i = 0; i < *n; i++) {
      mproc__os_close_handle(mine[i]);
      mproc__os_close_handle(h[i]);
    }
    return rc;
  }
  rc = map(mine, out); /* takes mine over, also on failure */
  if (rc)
    for (size_t i = 0; i < *n; i++)
      mproc__os_close_handle(h[i]);
  return rc;
}

int mproc__mgr_lane_attach(const intptr_t *h, mproc__mgr_lane_t **out) { return map(h, out); }

void mproc__mgr_lane_free(mproc__mgr_lane_t *l) {
  if (!l)
    return;
  mproc__os_shm_unmap(l->sh, LANE_BYTES);
  mproc__os_close_handle(l->asked_park);
  mproc__os_close_handle(l->answered_park);
  free(l);
}

/* The wait object of one side's word. */
static intptr_t park_of(const mproc__mgr_lane_t *l, const side_t *side) {
  return side == &l->sh->asked ? l->asked_park : l->answered_park;
}

void mproc__mgr_lane_close(mproc__mgr_lane_t *l) {
  atomic_store(&l->closing, true);
  /* Moves the word, so a waiter about to sleep on it does not. */
  atomic_fetch_add(&l->sh->asked.word.word, 1);
  mproc__os_park_wake(l->asked_park, &l->sh->asked.word, MPROC__WAKE_ALL);
}

/* The connection had something though the word did not move: the peer
 * closed it (MPROC_EEOF), or broke the protocol. */
static int conn_without_word(mproc_conn_t *c) {
  unsigned char b[1];
  size_t len = 0;
  int rc = mproc_conn_recv_bytes_into(c, b, sizeof b, &len, 0);
  if (rc == MPROC_EEOF || rc == MPROC_ESYS)
    return rc;
  return mproc__fail(MPROC_EPROTO, "manager: a message on the connection beside the lane");
}

/* Waits until the peer's word is no longer seen: 0; MPROC_ECLOSED when
 * closing; MPROC_ETIMEDOUT at the deadline; or, when c has something
 * though the word has not moved, what conn_without_word says.
 * On the peer's own CPU it yields from the start: spinning there only
 * keeps the peer from answering. */
static int wait_moved(mproc__mgr_lane_t *l, side_t *peer, uint32_t seen, mproc_conn_t *c,
                      int64_t deadline) {
  mproc__park_word_t *w = &peer->word;
  int64_t spin_until = mproc__os_now_us() + MPROC__MGR_SPIN_US;
  int cpu = atomic_load_explicit(&peer->cpu, memory_order_relaxed);
  int first = cpu >= 0 && cpu == mproc__os_current_cpu() ? RELAX_SPINS : 0;
  for (int i = first;; i++) {
    if (atomic_load_explicit(&w->word, memory_order_acquire) != seen)
      return 0;
    if (i < RELAX_SPINS)
      mproc__os_cpu_relax();
    else if (mproc__os_now_us() < spin_until)
      mproc__os_yield();
    else
      break;
  }
  for (;;) {
    int slice = mproc__remaining_ms(deadline);
    if (slice < 0 || slice > SLICE_MS)
      slice = SLICE_MS;
    mproc__os_park_wait(park_of(l, peer), w, seen, slice);
    if (atomic_load(&l->closing))
      return mproc__fail(MPROC_ECLOSED, "manager: the server is stopping");
    if (atomic_load_explicit(&w->word, memory_order_acquire) != seen)
      return 0;
    int ready = mproc_conn_poll(c, 0);
    if (ready < 0)
      return ready;
    if (ready) /* the word may have moved just before the connection */
      return atomic_load_explicit(&w->word, memory_order_acquire) != seen ? 0
                                                                          : conn_without_word(c);
    if (deadline >= 0 && mproc__os_now_ms() >= deadline)
      return MPROC_ETIMEDOUT;
  }
}

/* Copies n bytes of the lane's buffer into *buf, grown as needed. */
static int copy_out(const mproc__mgr_lane_t *l, uint32_t n, unsigned char **buf, size_t *cap,
                    size_t *len) {
  if (n > DATA_BYTES)
    return mproc__fail(MPROC_EPROTO, "manager: a lane message of %u bytes (at most %zu fit)",
                       (unsigned)n, (size_t)DATA_BYTES);
  if (n > *cap) {
    unsigned char *bigger = realloc(*buf, n);
    if (!bigger)
      return mproc__fail(MPROC_ENOMEM, "manager: no memory for a message of %u bytes", (unsigned)n);
    *buf = bigger;
    *cap = n;
  }
  memcpy(*buf, l->data, n);
  *len = n;
  return 0;
}

/* Posts a message of n bytes on my side: into the buffer, or, too large,
 * on the connection right after the word moves. */
static int post(mproc__mgr_lane_t *l, side_t *mine, uint32_t count, mproc_conn_t *c, const void *p,
                size_t n) {
  bool fits = n <= DATA_BYTES;
  if (fits && n)
    memcpy(l->data, p, n);
  atomic_store_explicit(&mine->len, fits ? (uint32_t)n : ON_CONN, memory_order_relaxed);
  atomic_store_explicit(&mine->cpu, mproc__os_current_cpu(), memory_order_relaxed);
  /* Sequentially consistent, like the waiter's count of itself and its
   * look at the word: with a release store, this side's read of the
   * waiter count could pass the store, both would miss the other, and the
   * peer would sleep a whole slice (SLICE_MS) on an answer already there. */
  atomic_store(&mine->word.word, count);
  mproc__os_park_wake(park_of(l, mine), &mine->word, 1);
  return fits ? 0 : mproc_conn_send_bytes(c, p, n);
}

/* ---- the client ---------------------------------------------------------- */

/* Waits for the answer to request l->count to be posted. */
static int await_answer(mproc__mgr_lane_t *l, mproc_conn_t *c, int64_t deadline) {
  shared_t *sh = l->sh;
  uint32_t now = atomic_load_explicit(&sh->answered.word.word, memory_order_acquire);
  if (now != l->count) {
    int rc = wait_moved(l, &sh->answered, now, c, deadline);
    if (rc)
      return rc;
    now = atomic_load_explicit(&sh->answered.word.word, memory_order_acquire);
  }
  if (now != l->count)
    return mproc__fail(MPROC_EPROTO, "manager: answer %u to request %u", (unsigned)now,
                       (unsigned)l->count);
  return 0;
}

int mproc__mgr_lane_send(mproc__mgr_lane_t *l, mproc_conn_t *c, const void *p, size_t n,
                         int64_t deadline) {
  int rc = await_answer(l, c, deadline); /* a NOREPLY request's */
  if (rc)
    return rc;
  l->count++;
  return post(l, &l->sh->asked, l->count, c, p, n);
}

int mproc__mgr_lane_recv(mproc__mgr_lane_t *l, mproc_conn_t *c, unsigned char **buf, size_t *cap,
                         size_t *len, size_t max, int64_t deadline) {
  int rc = await_answer(l, c, deadline);
  if (rc)
    return rc;
  uint32_t n = atomic_load_explicit(&l->sh->answered.len, memory_order_relaxed);
  rc = n == ON_CONN ? mproc__mgr_recv(c, buf, cap, len, max, mproc__remaining_ms(deadline))
                    : copy_out(l, n, buf, cap, len);
  if (!rc) /* a lock the answer hands over is this client's now */
    atomic_store_explicit(&l->sh->asked.taken, l->count, memory_order_release);
  return rc;
}

/* ---- the server ---------------------------------------------------------- */

int mproc__mgr_lane_next(mproc__mgr_lane_t *l, mproc_conn_t *c, unsigned char **buf, size_t *cap,
                         size_t *len, size_t max) {
  shared_t *sh = l->sh;
  int rc = wait_moved(l, &sh->asked, l->count, c, MPROC__NO_DEADLINE);
  if (!rc && atomic_load(&l->closing)) /* the word moved to end the wait */
    rc = mproc__fail(MPROC_ECLOSED, "manager: the server is stopping");
  if (rc)
    return rc;
  l->count = atomic_load_explicit(&sh->asked.word.word, memory_order_acquire);
  /* Read once: the client may write it again meanwhile. */
  uint32_t n = atomic_load_explicit(&sh->asked.len, memory_order_relaxed);
  if (n == ON_CONN)
    return mproc__mgr_recv(c, buf, cap, len, max, MPROC_INFINITE);
  return copy_out(l, n, buf, cap, len);
}

int mproc__mgr_lane_reply(mproc__mgr_lane_t *l, mproc_conn_t *c, const void *p, size_t n) {
  return post(l, &l->sh->answered, l->count, c, p, n);
}

bool mproc__mgr_lane_taken(mproc__mgr_lane_t *l, mproc_conn_t *c) {
  _Atomic uint32_t *taken = &l->sh->asked.taken;
  /* The client reads the answer within microseconds of its wakeup, and
   * nothing wakes this side when it does: look, yielding the CPU to it,
   * before sleeping in slices (a first slice of 1 ms cost every lock
   * handed to a sleeping client 1 ms). */
  int64_t look_until = mproc__os_now_us() + TAKEN_LOOK_US;
  while (atomic_load_explicit(taken, memory_order_acquire) != l->count) {
    if (mproc__os_now_us() >= look_until || atomic_load(&l->closing))
      break;
    mproc__os_yield();
  }
  for (int wait_ms = 0;; wait_ms = wait_ms ? (wait_ms < SLICE_MS ? 2 * wait_ms : SLICE_MS) : 1) {
    if (atomic_load_explicit(taken, memory_order_acquire) == l->count)
      return true;
    /* Readable means closed: a client sends nothing while it awaits its
     * answer. It may have read the answer just before it went. */
    if (mproc_conn_poll(c, wait_ms) != 0 || atomic_load(&l->closing))
      return atomic_load_explicit(taken, memory_order_acquire) == l->count;
  }
}
