/* mproc — synchronization between processes: Lock, RLock, Semaphore,
 * BoundedSemaphore, Condition, Event, Barrier (Python's multiprocessing
 * names; see docs/sync.md).
 *
 * Every object keeps its state in anonymous shared memory made by the
 * library (nothing named, so nothing leaks) and is passed to children as an
 * argument (mproc_args_add_lock, ...) under every start method. Operations
 * that do not have to wait are atomic instructions with no system call;
 * waiting is a futex on Linux, a polling fallback on other POSIX systems
 * and an unnamed kernel semaphore on Windows.
 *
 * Timeouts are in milliseconds: MPROC_INFINITE waits for ever, 0 tries once;
 * any other negative value is MPROC_EINVAL (see docs/errors.md).
 * Objects are reference counted: a tuple holding one keeps it alive, and
 * each process frees its own references with the _free functions.
 * Every function is safe to call from several threads at once. */
#ifndef MPROC_SYNC_H
#define MPROC_SYNC_H

#include <stdbool.h>
#include <stddef.h>

#include "args.h"
#include "export.h"
#include "timeout.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mproc_lock mproc_lock_t;
typedef struct mproc_rlock mproc_rlock_t;
typedef struct mproc_sem mproc_sem_t;
typedef struct mproc_cond mproc_cond_t;
typedef struct mproc_event mproc_event_t;
typedef struct mproc_barrier mproc_barrier_t;

/* ---- Lock --------------------------------------------------------------- */

/* Creates an unlocked, non-recursive lock (Python's Lock).
 * Params: out — receives the lock (mproc_lock_free).
 * Returns: 0.
 * Errors: MPROC_EINVAL (out is NULL), MPROC_ESYS, MPROC_ENOMEM. */
MPROC_API int mproc_lock_new(mproc_lock_t **out);

/* Acquires the lock, waiting up to timeout_ms. Acquiring it again from the
 * holding thread waits (it is not recursive: use an RLock).
 * Params: l — the lock; timeout_ms — MPROC_INFINITE, 0 or milliseconds.
 * Returns: 0 when acquired; MPROC_EOWNERDEAD when acquired from a holder
 *   process that died holding it: the caller holds the lock and should
 *   repair the state it guards; the lock works normally after release.
 *   A dead holder is noticed within about 100 ms of blocking.
 * Errors: MPROC_ETIMEDOUT, MPROC_EINVAL (NULL l, a bad timeout).
 * Platform: a holder's death is told by /proc on Linux, kill() on other
 *   POSIX systems and the process handle on Windows. */
MPROC_API int mproc_lock_acquire(mproc_lock_t *l, int timeout_ms);

/* Releases the lock. As in Python, any thread or process may release it.
 * Params: l — the lock.
 * Returns: 0.
 * Errors: MPROC_ESTATE (it is not locked), MPROC_EINVAL (NULL). */
MPROC_API int mproc_lock_release(mproc_lock_t *l);

/* Whether the lock is held by anyone, in any process (Python 3.14's
 * Lock.locked()). A snapshot: it may change at once.
 * Params: l — the lock.
 * Returns: 1 when held (also by a process that died holding it, until
 *   the next acquire takes it over), 0 when free.
 * Errors: MPROC_EINVAL (NULL). */
MPROC_API int mproc_lock_locked(const mproc_lock_t *l);

/* Drops this reference; the lock lives while any process or tuple holds one.
 * Params: l — the lock; NULL is ignored. */
MPROC_API void mproc_lock_free(mproc_lock_t *l);

/* ---- RLock -------------------------------------------------------------- */

/* Creates an unlocked recursive lock (Python's RLock): the holding thread
 * may acquire it again, and must release it as many times.
 * Params: out — receives the lock (mproc_rlock_free).
 * Returns: 0.
 * Errors: MPROC_EINVAL (out is NULL), MPROC_ESYS, MPROC_ENOMEM. */
MPROC_API int mproc_rlock_new(mproc_rlock_t **out);

/* Acquires the lock, or counts one more level if the caller holds it.
 * Params: l — the lock; timeout_ms — MPROC_INFINITE, 0 or milliseconds.
 * Returns: 0; MPROC_EOWNERDEAD as for mproc_lock_acquire (the caller holds
 *   it at level 1).
 * Errors: MPROC_ETIMEDOUT, MPROC_ERANGE (2^32 - 1 levels), MPROC_EINVAL. */
MPROC_API int mproc_rlock_acquire(mproc_rlock_t *l, int timeout_ms);

/* Releases one level; the lock is free when the last level is released.
 * Params: l — the lock.
 * Returns: 0.
 * Errors: MPROC_ESTATE (the calling thread does not hold it), MPROC_EINVAL. */
MPROC_API int mproc_rlock_release(mproc_rlock_t *l);

/* Whether the lock is held by anyone, at any level (mproc_lock_locked).
 * Params: l — the lock.
 * Returns: 1 or 0.
 * Errors: MPROC_EINVAL (NULL). */
MPROC_API int mproc_rlock_locked(const mproc_rlock_t *l);

/* Drops this reference.
 * Params: l — the lock; NULL is ignored. */
MPROC_API void mproc_rlock_free(mproc_rlock_t *l);

/* ---- Semaphore and BoundedSemaphore ------------------------------------- */

typedef struct {
  /* BoundedSemaphore: release above the initial value fails. */
  bool bounded;
  /* For options of later versions: leave zero (else MPROC_EINVAL). */
  uint64_t reserved[4];
} mproc_sem_opts_t;

/* Creates a semaphore with the given value (Python's Semaphore(value), or
 * BoundedSemaphore(value) with opts->bounded).
 * Params: out — receives the semaphore (mproc_sem_free); value — the
 *   initial value; opts — NULL for a plain Semaphore.
 * Returns: 0.
 * Errors: MPROC_EINVAL (out is NULL, value above MPROC_SEM_VALUE_MAX),
 *   MPROC_ESYS, MPROC_ENOMEM. */
MPROC_API int mproc_sem_new(mproc_sem_t **out, unsigned value, const mproc_sem_opts_t *opts);
#define MPROC_SEM_VALUE_MAX 0x7fffffffu

/* Decrements the value, waiting up to timeout_ms while it is 0.
 * Params: s — the semaphore; timeout_ms — MPROC_INFINITE, 0 or
 *   milliseconds.
 * Returns: 0.
 * Errors: MPROC_ETIMEDOUT, MPROC_EINVAL (NULL, a bad timeout). */
MPROC_API int mproc_sem_acquire(mproc_sem_t *s, int timeout_ms);

/* Increments the value, waking one waiter.
 * Params: s — the semaphore.
 * Returns: 0.
 * Errors: MPROC_ERANGE (a bounded semaphore at its initial value, or the
 *   value at MPROC_SEM_VALUE_MAX), MPROC_EINVAL (NULL). */
MPROC_API int mproc_sem_release(mproc_sem_t *s);

/* The current value (Python's get_value).
 * Params: s — the semaphore.
 * Returns: the value, 0 or more.
 * Errors: MPROC_EINVAL (NULL).
 * Platform: works on every platform; Python's raises NotImplementedError
 *   on macOS. */
MPROC_API int mproc_sem_value(const mproc_sem_t *s);

/* Drops this reference.
 * Params: s — the semaphore; NULL is ignored. */
MPROC_API void mproc_sem_free(mproc_sem_t *s);

/* ---- Condition ---------------------------------------------------------- */

/* Creates a condition variable over a Lock or an RLock (Python's
 * Condition(lock)); the condition holds its own reference to the lock.
 * Params: out — receives the condition (mproc_cond_free); lock, rlock —
 *   the lock to use; NULL: a new RLock, as in Python's Condition().
 * Returns: 0.
 * Errors: MPROC_EINVAL (out is NULL), MPROC_ESYS, MPROC_ENOMEM. */
MPROC_API int mproc_cond_new(mproc_cond_t **out, mproc_lock_t *lock);
MPROC_API int mproc_cond_new_rlock(mproc_cond_t **out, mproc_rlock_t *rlock);

/* Acquires / releases the condition's lock (Python's `with cond:`).
 * Params: c — the condition; timeout_ms — as for mproc_lock_acquire.
 * Returns: those of mproc_lock_acquire / mproc_lock_release (or the
 *   rlock's).
 * Errors: those of mproc_lock_* / mproc_rlock_*. */
MPROC_API int mproc_cond_acquire(mproc_cond_t *c, int timeout_ms);
MPROC_API int mproc_cond_release(mproc_cond_t *c);

/* Releases the lock (every level of an RLock), waits up to timeout_ms for
 * a notify, and takes the lock back (waiting as long as that takes).
 * A notify wakes only waiters that were waiting when it was called: the
 * caller's own later wait never takes a notification it handed out.
 * Params: c — a condition whose lock the calling thread holds;
 *   timeout_ms — MPROC_INFINITE, 0 or milliseconds.
 * Returns: 0 when notified (also when a notify came just as the time ran
 *   out: a notification is never lost).
 * Errors: MPROC_ETIMEDOUT (not notified in time; the lock is held again),
 *   MPROC_EOWNERDEAD (notified or not, the lock was taken back from a dead
 *   holder), MPROC_ESTATE (the calling thread does not hold the lock),
 *   MPROC_ERANGE (2^30 waiters already), MPROC_EINVAL. */
MPROC_API int mproc_cond_wait(mproc_cond_t *c, int timeout_ms);

/* A predicate over the state a condition guards; called with the lock held. */
typedef bool (*mproc_cond_predicate_fn)(void *ctx);

/* Waits until predicate(ctx) is true (Python's Condition.wait_for): checks
 * it first, then after every wake-up, waiting at most timeout_ms in all.
 * Params: c — a condition whose lock the calling thread holds; predicate,
 *   ctx — the test and its argument; timeout_ms — MPROC_INFINITE, 0 or
 *   milliseconds.
 * Returns: 0 when the predicate is true (the lock is held).
 * Errors: MPROC_ETIMEDOUT (still false when the time ran out; the lock is
 *   held), MPROC_EOWNERDEAD (returned at once, with the lock held, when
 *   it was taken back from a dead holder: repair the state, then call
 *   again), MPROC_ESTATE (lock not held), MPROC_EINVAL (NULL c or
 *   predicate). */
MPROC_API int mproc_cond_wait_for(mproc_cond_t *c, mproc_cond_predicate_fn predicate, void *ctx,
                                  int timeout_ms);

/* Wakes at most n of the threads or processes waiting now (Python's
 * notify(n)), or every one of them (notify_all); the caller holds the
 * lock. n = 0 does nothing.
 * Params: c — the condition; n — how many at most.
 * Returns: 0.
 * Errors: MPROC_ESTATE (the calling thread does not hold the lock),
 *   MPROC_EINVAL.
 * Platform: everywhere, a waiter killed while it waited may cost a later
 *   notify(n) one of its n. */
MPROC_API int mproc_cond_notify(mproc_cond_t *c, unsigned n);
MPROC_API int mproc_cond_notify_all(mproc_cond_t *c);

/* Drops this reference (and the condition's reference to its lock once the
 * last is gone).
 * Params: c — the condition; NULL is ignored. */
MPROC_API void mproc_cond_free(mproc_cond_t *c);

/* ---- Event -------------------------------------------------------------- */

/* Creates a cleared event (Python's Event).
 * Params: out — receives the event (mproc_event_free).
 * Returns: 0.
 * Errors: MPROC_EINVAL (out is NULL), MPROC_ESYS, MPROC_ENOMEM. */
MPROC_API int mproc_event_new(mproc_event_t **out);

/* Sets the flag and wakes every waiter / clears the flag.
 * Params: e — the event.
 * Returns: 0.
 * Errors: MPROC_EINVAL (NULL). */
MPROC_API int mproc_event_set(mproc_event_t *e);
MPROC_API int mproc_event_clear(mproc_event_t *e);

/* Whether the flag is set (Python's is_set).
 * Params: e — the event.
 * Returns: 1 when set, 0 when clear.
 * Errors: MPROC_EINVAL (NULL). */
MPROC_API int mproc_event_is_set(const mproc_event_t *e);

/* Waits up to timeout_ms for the flag to be set.
 * Params: e — the event; timeout_ms — MPROC_INFINITE, 0 or milliseconds.
 * Returns: 0 (it is set).
 * Errors: MPROC_ETIMEDOUT, MPROC_EINVAL (NULL, a bad timeout). */
MPROC_API int mproc_event_wait(mproc_event_t *e, int timeout_ms);

/* Drops this reference.
 * Params: e — the event; NULL is ignored. */
MPROC_API void mproc_event_free(mproc_event_t *e);

/* ---- Barrier ------------------------------------------------------------ */

/* Creates a barrier for parties processes or threads (Python's
 * Barrier(parties)); mproc_barrier_new_opts adds an action and a default
 * timeout.
 * Params: out — receives it; parties — 1 to 32767.
 * Returns: 0.
 * Errors: MPROC_EINVAL (out is NULL, parties 0 or above 32767), MPROC_ESYS,
 *   MPROC_ENOMEM. */
MPROC_API int mproc_barrier_new(mproc_barrier_t **out, unsigned parties);

/* A barrier's action: runs once per round, before anyone is released. A
 * non-zero return breaks the barrier (Python: the action raised). */
typedef int (*mproc_barrier_action_fn)(void);

/* Options of a Barrier; all zero means Python's defaults. */
typedef struct {
  /* Run by the last party to arrive, in that party's process, while the
   * others still wait (Python's action=). Any function of the program or
   * of a shared library it loaded, static ones included: every process
   * that waits finds it in its own address space. NULL: none. */
  mproc_barrier_action_fn action;
  /* How long a wait passed MPROC_DEFAULT_TIMEOUT waits (Python's
   * timeout=); 0 or MPROC_INFINITE: for ever. */
  int timeout_ms;
  /* For options of later versions: leave zero (else MPROC_EINVAL). */
  uint64_t reserved[4];
} mproc_barrier_opts_t;

/* Creates a barrier with an action and a default timeout (Python's
 * Barrier(parties, action, timeout)).
 * Params: out — receives it; parties — 1 to 32767; opts — NULL for none.
 * Returns: 0.
 * Errors: MPROC_EINVAL (out NULL, parties out of range, a negative
 *   timeout, an action that is not code of a loaded module),
 *   MPROC_ERANGE (the action's module path is over 1024 bytes),
 *   MPROC_ESYS, MPROC_ENOMEM. */
MPROC_API int mproc_barrier_new_opts(mproc_barrier_t **out, unsigned parties,
                                     const mproc_barrier_opts_t *opts);

/* Waits until parties callers are waiting, then releases them all.
 * Params: b — the barrier; timeout_ms — MPROC_INFINITE, 0, milliseconds,
 *   or MPROC_DEFAULT_TIMEOUT for the barrier's own default; index — NULL,
 *   or receives a number from 0 to parties - 1, distinct for each caller
 *   of one round (its arrival order).
 * Returns: 0.
 * Errors: MPROC_EBROKEN (the barrier was aborted, reset while waiting, its
 *   action failed, or a waiter timed out: a timeout breaks it for every
 *   waiter, as in Python), MPROC_ETIMEDOUT (timed out while a previous
 *   round was still leaving; the barrier is not broken), MPROC_EINVAL
 *   (NULL, a negative timeout other than those named). */
MPROC_API int mproc_barrier_wait(mproc_barrier_t *b, int timeout_ms, unsigned *index);

/* The default timeout the barrier was made with (opts.timeout_ms).
 * Params: b — the barrier.
 * Returns: milliseconds, or MPROC_INFINITE when there is none.
 * Errors: MPROC_EINVAL (NULL). */
MPROC_API int mproc_barrier_timeout(const mproc_barrier_t *b);

/* Breaks the barrier: current and future waiters get MPROC_EBROKEN until
 * reset (Python's abort).
 * Params: b — the barrier.
 * Returns: 0.
 * Errors: MPROC_EINVAL (NULL). */
MPROC_API int mproc_barrier_abort(mproc_barrier_t *b);

/* Returns the barrier to its initial state; current waiters get
 * MPROC_EBROKEN (Python's reset).
 * Params: b — the barrier.
 * Returns: 0.
 * Errors: MPROC_EINVAL (NULL). */
MPROC_API int mproc_barrier_reset(mproc_barrier_t *b);

/* Python's parties, n_waiting and broken.
 * Params: b — the barrier.
 * Returns: the number of parties; how many wait now; 1 when broken, 0
 *   when not.
 * Errors: MPROC_EINVAL (NULL). */
MPROC_API int mproc_barrier_parties(const mproc_barrier_t *b);
MPROC_API int mproc_barrier_n_waiting(const mproc_barrier_t *b);
MPROC_API int mproc_barrier_broken(const mproc_barrier_t *b);

/* Drops this reference.
 * Params: b — the barrier; NULL is ignored. */
MPROC_API void mproc_barrier_free(mproc_barrier_t *b);

/* ---- as arguments --------------------------------------------------------- */

/* Adds an object to a tuple (the tuple holds a reference); a child given
 * the tuple gets the same object, under every start method. The getters
 * borrow the tuple's reference (valid while the tuple lives).
 * Params: a — the tuple; l, s, c, e, b — the object to add; i — the
 *   item's index; out — receives the borrowed object.
 * Returns: 0.
 * Errors: MPROC_EINVAL (NULL), MPROC_ETYPE (get: another type),
 *   MPROC_ERANGE (get: index), MPROC_ENOMEM. */
MPROC_API int mproc_args_add_lock(mproc_args_t *a, mproc_lock_t *l);
MPROC_API int mproc_args_get_lock(const mproc_args_t *a, size_t i, mproc_lock_t **out);
MPROC_API int mproc_args_add_rlock(mproc_args_t *a, mproc_rlock_t *l);
MPROC_API int mproc_args_get_rlock(const mproc_args_t *a, size_t i, mproc_rlock_t **out);
MPROC_API int mproc_args_add_sem(mproc_args_t *a, mproc_sem_t *s);
MPROC_API int mproc_args_get_sem(const mproc_args_t *a, size_t i, mproc_sem_t **out);
MPROC_API int mproc_args_add_cond(mproc_args_t *a, mproc_cond_t *c);
MPROC_API int mproc_args_get_cond(const mproc_args_t *a, size_t i, mproc_cond_t **out);
MPROC_API int mproc_args_add_event(mproc_args_t *a, mproc_event_t *e);
MPROC_API int mproc_args_get_event(const mproc_args_t *a, size_t i, mproc_event_t **out);
MPROC_API int mproc_args_add_barrier(mproc_args_t *a, mproc_barrier_t *b);
MPROC_API int mproc_args_get_barrier(const mproc_args_t *a, size_t i, mproc_barrier_t **out);

#ifdef __cplusplus
}
#endif

#endif
