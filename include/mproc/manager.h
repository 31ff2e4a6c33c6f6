/* mproc — managers: Python's multiprocessing.Manager / SyncManager.
 *
 * A manager is a server process that owns shared objects — dicts, lists,
 * namespaces, values, locks, semaphores, events, conditions, barriers,
 * queues and registered C types. Other processes hold proxies and call
 * the server over a connection: on this machine (unix: socket or pipe:)
 * or from another one (tcp:, with the authentication key). Every call is
 * atomic; a dict's incr and compare-and-set, and batches, make
 * read-modify-write atomic too, which Python's proxies are not.
 *
 * Keys and values are single items (mproc_item_t, args.h): nil, bool,
 * int, double, str, bytes, a tuple of those, or another proxy of the same
 * manager (a nested container). A value read back comes as a one-item
 * tuple that the caller frees with mproc_args_free.
 *
 * Every call is bounded in time: a blocking call (acquire, wait, a queue's
 * put and get, join) takes its own timeout; any other call fails with
 * MPROC_ETIMEDOUT when the manager does not answer within the manager's
 * call timeout (opts.timeout_ms). A manager that is gone gives MPROC_EEOF
 * or MPROC_ECLOSED with a detail naming it, never a hang.
 * See docs/manager.md. */
#ifndef MPROC_MANAGER_H
#define MPROC_MANAGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "args.h"
#include "error.h"
#include "export.h"
#include "process.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mproc_manager mproc_manager_t;
/* A shared object held by this process. One type for every kind; each
 * call checks the kind (MPROC_ETYPE for the wrong one). */
typedef struct mproc_proxy mproc_proxy_t;

/* What a proxy refers to. */
typedef enum {
  MPROC_PROXY_DICT = 1,
  MPROC_PROXY_LIST,
  MPROC_PROXY_NAMESPACE,
  MPROC_PROXY_VALUE,
  MPROC_PROXY_LOCK,
  MPROC_PROXY_RLOCK,
  MPROC_PROXY_SEMAPHORE,
  MPROC_PROXY_BOUNDED_SEMAPHORE,
  MPROC_PROXY_EVENT,
  MPROC_PROXY_CONDITION,
  MPROC_PROXY_BARRIER,
  MPROC_PROXY_QUEUE,
  MPROC_PROXY_JOINABLE_QUEUE,
  MPROC_PROXY_CUSTOM /* a registered type */
} mproc_proxy_kind_t;

/* ---- registered types (Python's BaseManager.register) ------------------ */

/* A method of a registered type. It runs in the manager, with no other
 * call of that manager running at the same time, so it needs no locking
 * of its own, and it must not block.
 * Params: self — the object; args — the caller's arguments; result — an
 *   empty tuple to fill (it goes back to the caller).
 * Returns: 0, or a negative MPROC_E* code, which the caller receives. */
typedef int (*mproc_method_fn)(void *self, const mproc_args_t *args, mproc_args_t *result);

typedef struct {
  const char *name; /* what mproc_proxy_call names */
  mproc_method_fn fn;
} mproc_method_t;

typedef struct {
  const char *name; /* the typeid mproc_manager_create names */
  /* Makes an object from the creator's arguments: 0 or an MPROC_E* code. */
  int (*create)(void **self, const mproc_args_t *args);
  void (*destroy)(void *self); /* NULL: nothing to free */
  const mproc_method_t *methods;
  size_t nmethods;
} mproc_manager_type_t;

/* Returns the registered types, *count of them. It runs in the manager
 * process, which under spawn is a fresh run of the program: like a
 * process target, it must be a function of the program (or of a library
 * it links), not a pointer computed at run time. */
typedef const mproc_manager_type_t *(*mproc_manager_types_fn)(size_t *count);

/* ---- the manager --------------------------------------------------------- */

/* Options; a zeroed struct is Python's Manager(). */
typedef struct {
  /* Also listen here, e.g. "tcp:127.0.0.1:0" (port 0: any free one; see
   * mproc_manager_tcp_address) or "tcp:0.0.0.0:50000". NULL: this machine
   * only. The connection is authenticated, not encrypted. */
  const char *tcp_address;
  /* The key clients prove they know (HMAC-SHA256). NULL: 32 random bytes
   * (children receive it with the proxies passed to them). Connecting
   * from another process that has no proxy needs it. At most 512 bytes. */
  const void *authkey;
  size_t authkey_len;
  mproc_start_method_t start_method; /* how the server starts */
  mproc_manager_types_fn types;      /* registered types; NULL: none */
  /* How long an ordinary call waits for the manager's answer, and how
   * long start waits for the server: 0 means 30000 ms; MPROC_INFINITE. */
  int timeout_ms;
  /* The largest request or reply in bytes; 0: 256 MiB. */
  size_t max_message;
} mproc_manager_opts_t;

/* Starts a manager server process (Python's Manager() / start()). It is
 * a daemon child: it ignores SIGINT and Ctrl-C, and ends when this process
 * ends or calls mproc_manager_shutdown.
 * Params: out — receives the manager; opts — NULL or options.
 * Returns: 0 once the server is listening.
 * Errors: MPROC_EINVAL (NULL out, a bad tcp address, authkey NULL with a
 *   length or longer than 512 bytes), MPROC_ECHILD (the server could not
 *   start; the detail says why), MPROC_ETIMEDOUT, MPROC_ESYS,
 *   MPROC_ENOMEM, and what mproc_process_start returns.
 * Platform: the local address is a unix: socket in the temporary
 *   directory (POSIX) or a pipe: (Windows). */
MPROC_API int mproc_manager_start(mproc_manager_t **out, const mproc_manager_opts_t *opts);

/* Connects to a running manager (Python's BaseManager(address, authkey)
 * .connect()).
 * Params: out — receives the manager; address — its address (from
 *   mproc_manager_address or _tcp_address, or what a server was given);
 *   opts — the authkey and timeout_ms (other fields are ignored).
 * Returns: 0.
 * Errors: MPROC_EINVAL, MPROC_EAUTH (a wrong or missing key),
 *   MPROC_ECLOSED (nothing listens there), MPROC_EPROTO (not a manager),
 *   MPROC_ETIMEDOUT, MPROC_ESYS, MPROC_ENOMEM. */
MPROC_API int mproc_manager_connect(mproc_manager_t **out, const char *address,
                                    const mproc_manager_opts_t *opts);

/* Serves a manager in the calling process until a client calls
 * mproc_manager_shutdown (Python's get_server().serve_forever()): a
 * standalone manager daemon.
 * Params: address — where to listen ("unix:/path", "pipe:\\.\pipe\name" or
 *   "tcp:host:port"); opts — the authkey (required for tcp:), types,
 *   max_message (the rest is ignored).
 * Returns: 0 after a shutdown request.
 * Errors: MPROC_EINVAL (NULL or bad address, tcp: without a key),
 *   MPROC_ENOTSUP, MPROC_ESYS (e.g. the address is in use), MPROC_ENOMEM. */
MPROC_API int mproc_manager_serve_forever(const char *address, const mproc_manager_opts_t *opts);

/* Stops the manager's server: blocked calls of every client return
 * MPROC_ECLOSED, later calls fail, and a server this process started is
 * waited for (and killed if it does not end within the call timeout).
 * Params: m — the manager. Returns: 0.
 * Errors: MPROC_EINVAL (NULL m). A server already gone is not an error. */
MPROC_API int mproc_manager_shutdown(mproc_manager_t *m);

/* Shuts down a server this process started, disconnects from one it
 * connected to, and frees m. Proxies stay valid objects (calls on them
 * fail once the server is gone). NULL-safe. */
MPROC_API void mproc_manager_free(mproc_manager_t *m);

/* The manager's local address ("" for NULL), and its tcp: address as
 * bound (e.g. "tcp:127.0.0.1:40123"), or "" when it has none or m was
 * connected over the local address. */
MPROC_API const char *mproc_manager_address(const mproc_manager_t *m);
MPROC_API const char *mproc_manager_tcp_address(const mproc_manager_t *m);

/* The server process of a manager this process started (for its pid, or
 * to kill it); NULL for a connected manager or NULL m. */
MPROC_API mproc_process_t *mproc_manager_process(const mproc_manager_t *m);

/* ---- making shared objects (SyncManager's methods) ---------------------- */

/* Each makes a new object in the server and returns a proxy to it, freed
 * with mproc_proxy_free.
 * Errors: MPROC_EINVAL (NULL m or out, a bad parameter), MPROC_ECLOSED,
 *   MPROC_EEOF (the manager is gone), MPROC_ETIMEDOUT, MPROC_ENOMEM. */
MPROC_API int mproc_manager_dict(mproc_manager_t *m, mproc_proxy_t **out);
MPROC_API int mproc_manager_list(mproc_manager_t *m, mproc_proxy_t **out);
MPROC_API int mproc_manager_namespace(mproc_manager_t *m, mproc_proxy_t **out);
/* A Value holding one item (Python's Value(typecode, value) keeps a typed
 * scalar; here any item). */
MPROC_API int mproc_manager_value(mproc_manager_t *m, mproc_item_t initial, mproc_proxy_t **out);
MPROC_API int mproc_manager_lock(mproc_manager_t *m, mproc_proxy_t **out);
MPROC_API int mproc_manager_rlock(mproc_manager_t *m, mproc_proxy_t **out);
/* value: the initial count, 0 or more (MPROC_EINVAL below 0). */
MPROC_API int mproc_manager_semaphore(mproc_manager_t *m, int64_t value, mproc_proxy_t **out);
MPROC_API int mproc_manager_bounded_semaphore(mproc_manager_t *m, int64_t value,
                                              mproc_proxy_t **out);
MPROC_API int mproc_manager_event(mproc_manager_t *m, mproc_proxy_t **out);
/* A Condition with its own RLock (Python's Condition()). */
MPROC_API int mproc_manager_condition(mproc_manager_t *m, mproc_proxy_t **out);
/* parties: 1 or more; timeout_ms: the default of a wait given
 * MPROC_DEFAULT_TIMEOUT (MPROC_INFINITE: none). */
MPROC_API int mproc_manager_barrier(mproc_manager_t *m, int64_t parties, int timeout_ms,
                                    mproc_proxy_t **out);
/* maxsize: the most items it holds; 0: unbounded. */
MPROC_API int mproc_manager_queue(mproc_manager_t *m, int64_t maxsize, mproc_proxy_t **out);
MPROC_API int mproc_manager_joinable_queue(mproc_manager_t *m, int64_t maxsize,
                                           mproc_proxy_t **out);
/* An object of a registered type (opts.types), made by its create with
 * args (NULL: none). Errors also: MPROC_ENOENT (no such typeid), what the
 * type's create returned. */
MPROC_API int mproc_manager_create(mproc_manager_t *m, const char *typeid, const mproc_args_t *args,
                                   mproc_proxy_t **out);

/* Publishes obj under a name any client can look up; a published object
 * lives as long as the manager.
 * Errors: MPROC_EINVAL (NULL, an empty or non-UTF-8 name, a proxy of
 *   another manager), MPROC_EEXIST (the name is taken), and the call
 *   errors above. */
MPROC_API int mproc_manager_publish(mproc_manager_t *m, const char *name, mproc_proxy_t *obj);
/* A proxy to the object published under name. Errors also: MPROC_ENOENT. */
MPROC_API int mproc_manager_lookup(mproc_manager_t *m, const char *name, mproc_proxy_t **out);

/* ---- atomic batches ------------------------------------------------------ */

/* From here on, this thread's calls on m's objects are recorded, not sent:
 * each returns 0 at once, and what it would write through an out pointer
 * is written when the batch runs (keep those pointers valid until then).
 * Blocking calls act as with timeout 0; waits (event, condition, barrier,
 * join) are refused with MPROC_EINVAL.
 * Errors: MPROC_EINVAL (NULL m), MPROC_ESTATE (this thread already
 *   records a batch). */
MPROC_API int mproc_manager_batch_begin(mproc_manager_t *m);

/* Sends the recorded calls in one message; the manager runs them one
 * after another with no other client's call in between, and answers once.
 * Params: m — the manager; status — NULL or room for one code per call
 *   (0 or its MPROC_E*), in the order they were made; cap — its length.
 * Returns: 0 when every call succeeded; else the code of the first that
 *   failed (later calls still ran).
 * Errors: MPROC_EINVAL (NULL m), MPROC_ESTATE (no batch was begun on this
 *   thread), the call errors (then no call ran or no answer came). */
MPROC_API int mproc_manager_batch_run(mproc_manager_t *m, int *status, size_t cap);

/* Forgets the recorded calls without sending them. NULL-safe. */
MPROC_API void mproc_manager_batch_cancel(mproc_manager_t *m);

/* ---- proxies ------------------------------------------------------------- */

/* Drops this reference. When no proxy of this process refers to the
 * object any more, the manager forgets it for this process, and frees it
 * when no process holds it (published and nested objects live on).
 * NULL-safe. */
MPROC_API void mproc_proxy_free(mproc_proxy_t *p);

/* Another reference to the same proxy, freed with mproc_proxy_free.
 * Returns: p (NULL for NULL). */
MPROC_API mproc_proxy_t *mproc_proxy_ref(mproc_proxy_t *p);

/* The kind; 0 for NULL. */
MPROC_API mproc_proxy_kind_t mproc_proxy_kind(const mproc_proxy_t *p);

/* An item naming a proxy, to store in a dict, list, namespace or queue of
 * the same manager (a nested container) or add to a tuple. */
static inline mproc_item_t mproc_proxy_item(mproc_proxy_t *p) {
  mproc_item_t it;
  it.type = MPROC_T_PROXY;
  it.v.obj = p;
  return it;
}

/* Adds a proxy to a tuple: a child, a pool task, or any process reading
 * it from a connection or queue gets a proxy of its own. A child receives
 * the manager's key with it; another process must know the key already
 * (its own proxy or mproc_manager_connect for that manager).
 * Errors: MPROC_EINVAL, MPROC_ENOMEM. */
MPROC_API int mproc_args_add_proxy(mproc_args_t *a, mproc_proxy_t *p);
/* Reads proxy item i (borrowed: use mproc_proxy_ref to keep it longer
 * than the tuple).
 * Errors: MPROC_EINVAL, MPROC_ERANGE, MPROC_ETYPE. */
MPROC_API int mproc_args_get_proxy(const mproc_args_t *a, size_t i, mproc_proxy_t **out);

/* Every call below may also fail with: MPROC_EINVAL (NULL proxy or out
 * pointer, a bad item), MPROC_ETYPE (a proxy of another kind),
 * MPROC_ENOENT (the object was freed), MPROC_EEOF / MPROC_ECLOSED (the
 * manager is gone or was shut down), MPROC_ETIMEDOUT (no answer within
 * the call timeout), MPROC_ETOOBIG (above max_message), MPROC_ENOMEM.
 * Results come as tuples the caller frees with mproc_args_free. Equality
 * is of encodings: 1, 1.0 and true are three different keys. */

/* ---- dict (Python's DictProxy) ------------------------------------------ */

/* d[key] = value. */
MPROC_API int mproc_dict_set(mproc_proxy_t *d, mproc_item_t key, mproc_item_t value);
/* d[key], as a one-item tuple. Errors: MPROC_ENOENT (KeyError). */
MPROC_API int mproc_dict_get(mproc_proxy_t *d, mproc_item_t key, mproc_args_t **value);
/* d.get(key, dflt): dflt when the key is missing. */
MPROC_API int mproc_dict_get_default(mproc_proxy_t *d, mproc_item_t key, mproc_item_t dflt,
                                     mproc_args_t **value);
/* del d[key]. Errors: MPROC_ENOENT. */
MPROC_API int mproc_dict_del(mproc_proxy_t *d, mproc_item_t key);
/* key in d: 1 or 0. */
MPROC_API int mproc_dict_contains(mproc_proxy_t *d, mproc_item_t key);
/* len(d) in *n. */
MPROC_API int mproc_dict_len(mproc_proxy_t *d, size_t *n);
/* Snapshots in insertion order: a tuple of keys, of values, or of
 * (key, value) tuples. */
MPROC_API int mproc_dict_keys(mproc_proxy_t *d, mproc_args_t **keys);
MPROC_API int mproc_dict_values(mproc_proxy_t *d, mproc_args_t **values);
MPROC_API int mproc_dict_items(mproc_proxy_t *d, mproc_args_t **items);
MPROC_API int mproc_dict_clear(mproc_proxy_t *d);
/* d.update(pairs): pairs is a tuple of (key, value) tuples, applied
 * atomically in order. Errors also: MPROC_ETYPE (an item not a pair;
 * nothing is applied). */
MPROC_API int mproc_dict_update(mproc_proxy_t *d, const mproc_args_t *pairs);
/* d.pop(key) (MPROC_ENOENT when missing) and d.pop(key, dflt). */
MPROC_API int mproc_dict_pop(mproc_proxy_t *d, mproc_item_t key, mproc_args_t **value);
MPROC_API int mproc_dict_pop_default(mproc_proxy_t *d, mproc_item_t key, mproc_item_t dflt,
                                     mproc_args_t **value);
/* d.setdefault(key, dflt): the value now under key (value may be NULL). */
MPROC_API int mproc_dict_setdefault(mproc_proxy_t *d, mproc_item_t key, mproc_item_t dflt,
                                    mproc_args_t **value);
/* Atomically adds delta to the integer under key (a missing key counts as
 * 0) — what d[key] += delta cannot do safely in Python.
 * Params: now — NULL or receives the new value.
 * Errors: MPROC_ETYPE (the value is not an integer), MPROC_ERANGE
 *   (it would overflow; nothing changes). */
MPROC_API int mproc_dict_incr(mproc_proxy_t *d, mproc_item_t key, int64_t delta, int64_t *now);
/* Atomically sets key to desired if its value equals expected.
 * Returns: 1 when swapped; 0 when the value differs or the key is
 *   missing (nothing changes). */
MPROC_API int mproc_dict_cas(mproc_proxy_t *d, mproc_item_t key, mproc_item_t expected,
                             mproc_item_t desired);

/* ---- list (Python's ListProxy); negative indexes count from the end ---- */

MPROC_API int mproc_list_append(mproc_proxy_t *l, mproc_item_t value);
/* Appends every item of items, atomically. */
MPROC_API int mproc_list_extend(mproc_proxy_t *l, const mproc_args_t *items);
/* l[i]. Errors: MPROC_ERANGE (IndexError). */
MPROC_API int mproc_list_get(mproc_proxy_t *l, int64_t i, mproc_args_t **value);
MPROC_API int mproc_list_set(mproc_proxy_t *l, int64_t i, mproc_item_t value);
/* l.insert(i, value): i is clamped as Python does. */
MPROC_API int mproc_list_insert(mproc_proxy_t *l, int64_t i, mproc_item_t value);
/* l.pop(i) (l.pop() is i = -1); value may be NULL. Errors: MPROC_ERANGE. */
MPROC_API int mproc_list_pop(mproc_proxy_t *l, int64_t i, mproc_args_t **value);
/* l.remove(value): the first equal item. Errors: MPROC_EVALUE (none). */
MPROC_API int mproc_list_remove(mproc_proxy_t *l, mproc_item_t value);
/* l.index(value) in *index. Errors: MPROC_EVALUE (not in the list). */
MPROC_API int mproc_list_index(mproc_proxy_t *l, mproc_item_t value, size_t *index);
/* l.count(value) in *n. */
MPROC_API int mproc_list_count(mproc_proxy_t *l, mproc_item_t value, size_t *n);
MPROC_API int mproc_list_len(mproc_proxy_t *l, size_t *n);
/* l[start:stop] as a tuple (clamped as Python; INT64_MAX: to the end). */
MPROC_API int mproc_list_slice(mproc_proxy_t *l, int64_t start, int64_t stop, mproc_args_t **items);
/* l.sort(reverse=...): a stable sort of numbers (int and double compare by
 * value), of strings or of bytes. Errors: MPROC_ETYPE (items that do not
 * compare: nothing changes). */
MPROC_API int mproc_list_sort(mproc_proxy_t *l, bool reverse);
MPROC_API int mproc_list_clear(mproc_proxy_t *l);

/* ---- Namespace ----------------------------------------------------------- */

/* ns.name = value; ns.name (MPROC_ENOENT: AttributeError); del ns.name.
 * name: a non-empty UTF-8 string. */
MPROC_API int mproc_namespace_set(mproc_proxy_t *ns, const char *name, mproc_item_t value);
MPROC_API int mproc_namespace_get(mproc_proxy_t *ns, const char *name, mproc_args_t **value);
MPROC_API int mproc_namespace_del(mproc_proxy_t *ns, const char *name);
/* Every attribute as (name, value) tuples. */
MPROC_API int mproc_namespace_items(mproc_proxy_t *ns, mproc_args_t **items);

/* ---- Value --------------------------------------------------------------- */

/* v.value / v.get() and v.value = x / v.set(x). */
MPROC_API int mproc_proxy_value(mproc_proxy_t *v, mproc_args_t **value);
MPROC_API int mproc_proxy_set_value(mproc_proxy_t *v, mproc_item_t value);

/* ---- Lock, RLock, Semaphore, Condition ---------------------------------- */

/* acquire(timeout): Lock, RLock, Semaphore, BoundedSemaphore, and a
 * Condition's lock. An RLock and a Condition are owned by the calling
 * thread.
 * Params: timeout_ms — MPROC_INFINITE, 0 or milliseconds.
 * Returns: 0 when acquired.
 * Errors: MPROC_ETIMEDOUT; MPROC_EOWNERDEAD — acquired, but the previous
 *   holder's process died holding it (a Lock, RLock or Condition). */
MPROC_API int mproc_proxy_acquire(mproc_proxy_t *p, int timeout_ms);
/* release().
 * Errors: MPROC_ESTATE (a Lock that is not held, an RLock or Condition the
 *   calling thread does not hold), MPROC_EVALUE (a BoundedSemaphore
 *   released above its initial value). */
MPROC_API int mproc_proxy_release(mproc_proxy_t *p);

/* ---- Event, Condition and Barrier waits --------------------------------- */

/* Event: waits until set (0; MPROC_ETIMEDOUT). Condition: releases the
 * lock the calling thread holds, waits for a notify, takes the lock back
 * (0 notified; MPROC_ETIMEDOUT; MPROC_ESTATE when not held). Barrier:
 * waits for the other parties and returns this party's index, 0 to
 * parties - 1; MPROC_EBROKEN when the barrier is or becomes broken (a
 * timeout breaks it, as in Python).
 * Params: timeout_ms — MPROC_INFINITE, 0 or milliseconds;
 *   MPROC_DEFAULT_TIMEOUT for a barrier's own default. */
MPROC_API int mproc_proxy_wait(mproc_proxy_t *p, int timeout_ms);
/* Condition.notify(n) and notify_all(): wake up to n waiters (those
 * already waiting). Errors: MPROC_ESTATE (the lock is not held by the
 * calling thread). */
MPROC_API int mproc_proxy_notify(mproc_proxy_t *c, int64_t n);
MPROC_API int mproc_proxy_notify_all(mproc_proxy_t *c);
/* Event.set(), clear(), is_set() (1 or 0). */
MPROC_API int mproc_proxy_set(mproc_proxy_t *e);
MPROC_API int mproc_proxy_clear(mproc_proxy_t *e);
MPROC_API int mproc_proxy_is_set(mproc_proxy_t *e);
/* Barrier.abort() and reset(); parties, n_waiting and broken. */
MPROC_API int mproc_proxy_abort(mproc_proxy_t *b);
MPROC_API int mproc_proxy_reset(mproc_proxy_t *b);
MPROC_API int mproc_proxy_barrier_state(mproc_proxy_t *b, int64_t *parties, int64_t *n_waiting,
                                        bool *broken);

/* ---- Queue and JoinableQueue -------------------------------------------- */

/* put(value, timeout). Errors: MPROC_EFULL (full after timeout_ms). */
MPROC_API int mproc_proxy_put(mproc_proxy_t *q, mproc_item_t value, int timeout_ms);
/* get(timeout) as a one-item tuple. Errors: MPROC_EEMPTY. */
MPROC_API int mproc_proxy_get(mproc_proxy_t *q, mproc_args_t **value, int timeout_ms);
/* qsize() in *n. */
MPROC_API int mproc_proxy_qsize(mproc_proxy_t *q, size_t *n);
/* JoinableQueue.task_done() (MPROC_EVALUE: more than items put) and
 * join(timeout) (MPROC_ETIMEDOUT). */
MPROC_API int mproc_proxy_task_done(mproc_proxy_t *q);
MPROC_API int mproc_proxy_join(mproc_proxy_t *q, int timeout_ms);

/* ---- registered types ---------------------------------------------------- */

/* Calls a method of a registered type's object in the manager.
 * Params: method — its name; args — NULL or its arguments (proxies of
 *   this manager may be among them; other objects may not); result —
 *   NULL or receives the tuple the method filled.
 * Errors: MPROC_ENOENT (no such method), the method's own code. */
MPROC_API int mproc_proxy_call(mproc_proxy_t *p, const char *method, const mproc_args_t *args,
                               mproc_args_t **result);

#ifdef __cplusplus
}
#endif

#endif
