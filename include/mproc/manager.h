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
 * Returns: 0, or a negative MPROC_E* code, which the caller receives. To
 *   say why, return mproc_set_error(code, "...", ...): the caller's
 *   mproc_last_error_detail() then reads "manager: Type.method: ..."
 *   (without it, the code's name). */
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
  /* How long an ordinary call waits for the manager's answer, how long
   * connecting (connection, handshake, greeting) may take, and how long
   * start waits for the server: 0 means 30000 ms; MPROC_INFINITE. Each
   * manager handle keeps its own. */
  int timeout_ms;
  /* The largest request or reply in bytes; 0: 256 MiB. Clients learn the
   * server's and refuse a larger request themselves (MPROC_ETOOBIG). */
  size_t max_message;
  /* For options of later versions: leave zero (else MPROC_EINVAL). */
  uint64_t reserved[4];
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
 *   directory (POSIX) or a pipe: (Windows). Local calls go through a
 *   shared-memory lane on Linux and Windows (docs/manager.md), unless the
 *   calling process's environment has MPROC_MANAGER_LANE=0. */
MPROC_API int mproc_manager_start(mproc_manager_t **out, const mproc_manager_opts_t *opts);

/* Connects to a running manager (Python's BaseManager(address, authkey)
 * .connect()). Every connect proves its own key and keeps its own call
 * timeout and connections, also to an address this process is connected
 * to already.
 * Params: out — receives the manager; address — its address (from
 *   mproc_manager_address or _tcp_address, or what a server was given);
 *   opts — the authkey and timeout_ms (other fields are ignored).
 * Returns: 0.
 * Errors: MPROC_EINVAL, MPROC_EAUTH (a wrong or missing key),
 *   MPROC_ECLOSED (nothing listens there), MPROC_EPROTO (not a manager),
 *   MPROC_ETIMEDOUT (no connection, handshake or greeting within
 *   timeout_ms: a stopped or silent server), MPROC_ESYS, MPROC_ENOMEM. */
MPROC_API int mproc_manager_connect(mproc_manager_t **out, const char *address,
                                    const mproc_manager_opts_t *opts);

/* Serves a manager in the calling process until a client calls
 * mproc_manager_shutdown (Python's get_server().serve_forever()): a
 * standalone manager daemon.
 * Params: address — where to listen ("unix:/path", "pipe:\\.\pipe\name" or
 *   "tcp:host:port"); opts — the authkey (required for tcp:), types,
 *   max_message (the rest is ignored).
 * Returns: 0 after a shutdown request (a client's mproc_manager_shutdown,
 *   or mproc_manager_stop_serving in this process).
 * Errors: MPROC_EINVAL (NULL or bad address, tcp: without a key),
 *   MPROC_ENOTSUP, MPROC_ESYS (e.g. the address is in use), MPROC_ENOMEM. */
MPROC_API int mproc_manager_serve_forever(const char *address, const mproc_manager_opts_t *opts);

/* Ends this process's mproc_manager_serve_forever from within it: from
 * another thread, or from a signal handler (it only sets a lock-free
 * flag, which the serving loop looks at every 50 ms; Python's
 * serve_forever looks every second). A stop asked while nothing serves
 * ends the next serve_forever at once. Clients' waiting calls end with
 * MPROC_ECLOSED, as after mproc_manager_shutdown; their later calls find
 * the manager gone (MPROC_EEOF).
 * Errors: none. */
MPROC_API void mproc_manager_stop_serving(void);

/* Stops the manager's server: blocked calls of every client return
 * MPROC_ECLOSED, later calls fail, and a server this process started is
 * waited for (and killed if it does not end within the call timeout).
 * Params: m — the manager.
 * Returns: 0.
 * Errors: MPROC_EINVAL (NULL m). A server already gone is not an error. */
MPROC_API int mproc_manager_shutdown(mproc_manager_t *m);

/* Shuts down a server this process started, disconnects from one it
 * connected to, and frees m. Proxies stay valid objects (calls on them
 * fail once the server is gone).
 * Params: m — the manager; NULL is ignored. */
MPROC_API void mproc_manager_free(mproc_manager_t *m);

/* The manager's local address, and its tcp: address as bound (e.g.
 * "tcp:127.0.0.1:40123").
 * Params: m — the manager.
 * Returns: the address, valid until mproc_manager_free; "" for NULL m,
 *   and for the tcp: address of a manager that has none or that m
 *   reached over its local address. */
MPROC_API const char *mproc_manager_address(const mproc_manager_t *m);
MPROC_API const char *mproc_manager_tcp_address(const mproc_manager_t *m);

/* The server process of a manager this process started (for its pid, or
 * to kill it).
 * Params: m — the manager.
 * Returns: the process, owned by m; NULL for a connected manager or NULL
 *   m. */
MPROC_API mproc_process_t *mproc_manager_process(const mproc_manager_t *m);

/* ---- making shared objects (SyncManager's methods) ---------------------- */

/* The errors every call below shares: MPROC_EINVAL (NULL m or out, a bad
 * parameter), MPROC_ECLOSED, MPROC_EEOF (the manager is gone),
 * MPROC_ETIMEDOUT (no answer within the call timeout), MPROC_ENOMEM. Each
 * makes a new object in the server and gives a proxy to it, freed with
 * mproc_proxy_free. */

/* Python's dict(), list() and Namespace().
 * Params: m — the manager; out — receives the proxy.
 * Returns: 0.
 * Errors: the shared ones (above). */
MPROC_API int mproc_manager_dict(mproc_manager_t *m, mproc_proxy_t **out);
MPROC_API int mproc_manager_list(mproc_manager_t *m, mproc_proxy_t **out);
MPROC_API int mproc_manager_namespace(mproc_manager_t *m, mproc_proxy_t **out);

/* Python's dict(pairs) and list(items): a new dict or list holding them
 * (dict_from applies the pairs in order, as mproc_dict_update does). No
 * other process sees the object before it is filled.
 * Params: m — the manager; pairs — a tuple of (key, value) tuples; items —
 *   a tuple whose items become the list's; out — receives the proxy (NULL
 *   on failure).
 * Returns: 0.
 * Errors: the shared ones (above); MPROC_ETYPE (dict_from: an item that is
 *   not a pair; nothing is made). */
MPROC_API int mproc_manager_dict_from(mproc_manager_t *m, const mproc_args_t *pairs,
                                      mproc_proxy_t **out);
MPROC_API int mproc_manager_list_from(mproc_manager_t *m, const mproc_args_t *items,
                                      mproc_proxy_t **out);

/* A Value holding one item (Python's Value(typecode, value) keeps a typed
 * scalar; here any item).
 * Params: m — the manager; initial — its first value; out — receives the
 *   proxy.
 * Returns: 0.
 * Errors: the shared ones (above). */
MPROC_API int mproc_manager_value(mproc_manager_t *m, mproc_item_t initial, mproc_proxy_t **out);

/* Python's Lock(), RLock(), Event() and Condition() (a Condition with its
 * own RLock).
 * Params: m — the manager; out — receives the proxy.
 * Returns: 0.
 * Errors: the shared ones (above). */
MPROC_API int mproc_manager_lock(mproc_manager_t *m, mproc_proxy_t **out);
MPROC_API int mproc_manager_rlock(mproc_manager_t *m, mproc_proxy_t **out);
MPROC_API int mproc_manager_event(mproc_manager_t *m, mproc_proxy_t **out);
MPROC_API int mproc_manager_condition(mproc_manager_t *m, mproc_proxy_t **out);

/* Python's Semaphore(value) and BoundedSemaphore(value).
 * Params: m — the manager; value — the initial count, 0 or more; out —
 *   receives the proxy.
 * Returns: 0.
 * Errors: the shared ones (above); MPROC_EINVAL for a negative value. */
MPROC_API int mproc_manager_semaphore(mproc_manager_t *m, int64_t value, mproc_proxy_t **out);
MPROC_API int mproc_manager_bounded_semaphore(mproc_manager_t *m, int64_t value,
                                              mproc_proxy_t **out);

/* Python's Barrier(parties, timeout=...).
 * Params: m — the manager; parties — 1 or more; timeout_ms — the default
 *   of a wait given MPROC_DEFAULT_TIMEOUT (MPROC_INFINITE: none); out —
 *   receives the proxy.
 * Returns: 0.
 * Errors: the shared ones (above); MPROC_EINVAL for parties below 1 or a
 *   negative timeout other than MPROC_INFINITE. */
MPROC_API int mproc_manager_barrier(mproc_manager_t *m, int64_t parties, int timeout_ms,
                                    mproc_proxy_t **out);

/* Python's Queue(maxsize) and JoinableQueue(maxsize).
 * Params: m — the manager; maxsize — the most items it holds, 0 for
 *   unbounded; out — receives the proxy.
 * Returns: 0.
 * Errors: the shared ones (above); MPROC_EINVAL for a negative maxsize. */
MPROC_API int mproc_manager_queue(mproc_manager_t *m, int64_t maxsize, mproc_proxy_t **out);
MPROC_API int mproc_manager_joinable_queue(mproc_manager_t *m, int64_t maxsize,
                                           mproc_proxy_t **out);

/* An object of a registered type (opts.types), made by the type's create.
 * Params: m — the manager; typeid — the type's name; args — NULL or
 *   create's arguments; out — receives the proxy.
 * Returns: 0.
 * Errors: the shared ones (above); MPROC_ENOENT (no such typeid); the
 *   code the type's create returned. */
MPROC_API int mproc_manager_create(mproc_manager_t *m, const char *typeid, const mproc_args_t *args,
                                   mproc_proxy_t **out);

/* Publishes obj under a name any client can look up; a published object
 * lives as long as the manager.
 * Params: m — the manager; name — non-empty UTF-8; obj — a proxy of m.
 * Returns: 0.
 * Errors: the shared ones (above); MPROC_EINVAL (an empty or non-UTF-8
 *   name, a proxy of another manager), MPROC_EEXIST (the name is
 *   taken). */
MPROC_API int mproc_manager_publish(mproc_manager_t *m, const char *name, mproc_proxy_t *obj);

/* A proxy to the object published under name.
 * Params: m — the manager; name — as published; out — receives the proxy.
 * Returns: 0.
 * Errors: the shared ones (above); MPROC_ENOENT (nothing published under
 *   name). */
MPROC_API int mproc_manager_lookup(mproc_manager_t *m, const char *name, mproc_proxy_t **out);

/* ---- atomic batches ------------------------------------------------------ */

/* From here on, this thread's calls on m's objects are recorded, not sent:
 * each returns 0 at once, and what it would write through an out pointer
 * is written when the batch runs (keep those pointers valid until then).
 * Blocking calls act as with timeout 0; waits (event, condition, barrier,
 * join) are refused with MPROC_EINVAL.
 * Params: m — the manager.
 * Returns: 0.
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

/* Forgets the recorded calls without sending them.
 * Params: m — the manager; NULL is ignored. */
MPROC_API void mproc_manager_batch_cancel(mproc_manager_t *m);

/* ---- proxies ------------------------------------------------------------- */

/* Drops this reference. When no proxy of this process refers to the
 * object any more, the manager forgets it for this process, and frees it
 * when no process holds it (published and nested objects live on).
 * Params: p — the proxy; NULL is ignored. */
MPROC_API void mproc_proxy_free(mproc_proxy_t *p);

/* Another reference to the same proxy, freed with mproc_proxy_free.
 * Params: p — the proxy.
 * Returns: p (NULL for NULL). */
MPROC_API mproc_proxy_t *mproc_proxy_ref(mproc_proxy_t *p);

/* What p refers to.
 * Params: p — the proxy.
 * Returns: its kind; 0 for NULL. */
MPROC_API mproc_proxy_kind_t mproc_proxy_kind(const mproc_proxy_t *p);

/* The manager p belongs to, as a handle of its own: a process given only
 * proxies can make objects and run batches with it. It shares p's
 * connections (a batch begun on it records calls on p), and freeing it
 * never stops the manager.
 * Params: p — the proxy; out — receives the handle (free it with
 *   mproc_manager_free).
 * Returns: 0.
 * Errors: MPROC_EINVAL (a NULL argument), MPROC_ENOMEM. */
MPROC_API int mproc_proxy_manager(mproc_proxy_t *p, mproc_manager_t **out);

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
 * Params: a — the tuple; p — the proxy (the tuple takes a reference).
 * Returns: 0.
 * Errors: MPROC_EINVAL (NULL a or p), MPROC_ENOMEM. */
MPROC_API int mproc_args_add_proxy(mproc_args_t *a, mproc_proxy_t *p);

/* Reads proxy item i.
 * Params: a — the tuple; i — the position; out — receives the proxy,
 *   borrowed from the tuple (mproc_proxy_ref keeps it longer).
 * Returns: 0.
 * Errors: MPROC_EINVAL, MPROC_ERANGE (i out of range), MPROC_ETYPE (not a
 *   proxy). */
MPROC_API int mproc_args_get_proxy(const mproc_args_t *a, size_t i, mproc_proxy_t **out);

/* The proxy errors — every call below may also fail with: MPROC_EINVAL
 * (NULL proxy or out pointer, a bad item), MPROC_ETYPE (a proxy of
 * another kind), MPROC_ENOENT (the object was freed), MPROC_EEOF /
 * MPROC_ECLOSED (the manager is gone or was shut down), MPROC_ETIMEDOUT
 * (no answer within the call timeout), MPROC_ETOOBIG (above max_message),
 * MPROC_ENOMEM. Results come as tuples the caller frees with
 * mproc_args_free. Equality is of encodings: 1, 1.0 and true are three
 * different keys. */

/* ---- dict (Python's DictProxy) ------------------------------------------ */

/* d[key] = value.
 * Params: d — a dict proxy; key, value — items.
 * Returns: 0.
 * Errors: the proxy errors (above). */
MPROC_API int mproc_dict_set(mproc_proxy_t *d, mproc_item_t key, mproc_item_t value);

/* d[key].
 * Params: d — a dict proxy; key — an item; value — receives a one-item
 *   tuple.
 * Returns: 0.
 * Errors: the proxy errors (above); MPROC_ENOENT (KeyError). */
MPROC_API int mproc_dict_get(mproc_proxy_t *d, mproc_item_t key, mproc_args_t **value);

/* d[key] as a C value: the typed forms of mproc_dict_get, one call each.
 * A str is copied. Inside a batch the value is written when it runs.
 * Params: d — a dict proxy; key — an item; value — receives the value
 *   (a str: a NUL-terminated copy the caller frees with mproc_free).
 * Returns: 0.
 * Errors: the proxy errors (above); MPROC_ENOENT (KeyError); MPROC_ETYPE
 *   (the value has another type - the detail names it; *value is left
 *   untouched). */
MPROC_API int mproc_dict_get_int(mproc_proxy_t *d, mproc_item_t key, int64_t *value);
MPROC_API int mproc_dict_get_double(mproc_proxy_t *d, mproc_item_t key, double *value);
MPROC_API int mproc_dict_get_bool(mproc_proxy_t *d, mproc_item_t key, bool *value);
MPROC_API int mproc_dict_get_str(mproc_proxy_t *d, mproc_item_t key, char **value);

/* d.get(key, dflt).
 * Params: d — a dict proxy; key — an item; dflt — the value when key is
 *   missing; value — receives a one-item tuple.
 * Returns: 0.
 * Errors: the proxy errors (above). */
MPROC_API int mproc_dict_get_default(mproc_proxy_t *d, mproc_item_t key, mproc_item_t dflt,
                                     mproc_args_t **value);

/* del d[key].
 * Params: d — a dict proxy; key — an item.
 * Returns: 0.
 * Errors: the proxy errors (above); MPROC_ENOENT (KeyError). */
MPROC_API int mproc_dict_del(mproc_proxy_t *d, mproc_item_t key);

/* key in d.
 * Params: d — a dict proxy; key — an item.
 * Returns: 1 when present, 0 when not.
 * Errors: the proxy errors (above). */
MPROC_API int mproc_dict_contains(mproc_proxy_t *d, mproc_item_t key);

/* len(d).
 * Params: d — a dict proxy; n — receives the count.
 * Returns: 0.
 * Errors: the proxy errors (above). */
MPROC_API int mproc_dict_len(mproc_proxy_t *d, size_t *n);

/* Snapshots in insertion order: d.keys(), d.values(), d.items().
 * Params: d — a dict proxy; keys, values, items — receive a tuple of
 *   keys, of values, or of (key, value) tuples.
 * Returns: 0.
 * Errors: the proxy errors (above). */
MPROC_API int mproc_dict_keys(mproc_proxy_t *d, mproc_args_t **keys);
MPROC_API int mproc_dict_values(mproc_proxy_t *d, mproc_args_t **values);
MPROC_API int mproc_dict_items(mproc_proxy_t *d, mproc_args_t **items);

/* d.copy(), kept in the manager: a new dict of the same manager holding a
 * snapshot of d's pairs (Python's copy() returns a local dict: that is
 * mproc_dict_items). Later changes to either do not show in the other.
 * Params: d — a dict proxy; out — receives the new dict's proxy (NULL on
 *   failure).
 * Returns: 0.
 * Errors: the proxy errors (above). */
MPROC_API int mproc_dict_copy(mproc_proxy_t *d, mproc_proxy_t **out);

/* d.clear().
 * Params: d — a dict proxy.
 * Returns: 0.
 * Errors: the proxy errors (above). */
MPROC_API int mproc_dict_clear(mproc_proxy_t *d);

/* d.update(pairs), applied atomically in order.
 * Params: d — a dict proxy; pairs — a tuple of (key, value) tuples.
 * Returns: 0.
 * Errors: the proxy errors (above); MPROC_ETYPE (an item not a pair;
 *   nothing is applied). */
MPROC_API int mproc_dict_update(mproc_proxy_t *d, const mproc_args_t *pairs);

/* d.pop(key) and d.pop(key, dflt).
 * Params: d — a dict proxy; key — an item; dflt — the value when key is
 *   missing; value — NULL or receives a one-item tuple.
 * Returns: 0.
 * Errors: the proxy errors (above); MPROC_ENOENT (pop without a default,
 *   key missing). */
MPROC_API int mproc_dict_pop(mproc_proxy_t *d, mproc_item_t key, mproc_args_t **value);
MPROC_API int mproc_dict_pop_default(mproc_proxy_t *d, mproc_item_t key, mproc_item_t dflt,
                                     mproc_args_t **value);

/* d.popitem(): takes out the pair inserted last (LIFO, as Python's).
 * Params: d — a dict proxy; pair — NULL or receives the (key, value)
 *   tuple.
 * Returns: 0.
 * Errors: the proxy errors (above); MPROC_ENOENT (KeyError: d is empty). */
MPROC_API int mproc_dict_popitem(mproc_proxy_t *d, mproc_args_t **pair);

/* d.setdefault(key, dflt).
 * Params: d — a dict proxy; key — an item; dflt — stored when key is
 *   missing; value — NULL or receives the value now under key.
 * Returns: 0.
 * Errors: the proxy errors (above). */
MPROC_API int mproc_dict_setdefault(mproc_proxy_t *d, mproc_item_t key, mproc_item_t dflt,
                                    mproc_args_t **value);

/* Atomically adds delta to the integer under key (a missing key counts as
 * 0) — what d[key] += delta cannot do safely in Python.
 * Params: d — a dict proxy; key — an item; delta — what to add; now —
 *   NULL or receives the new value.
 * Returns: 0.
 * Errors: the proxy errors (above); MPROC_ETYPE (the value is not an
 *   integer), MPROC_ERANGE (it would overflow; nothing changes). */
MPROC_API int mproc_dict_incr(mproc_proxy_t *d, mproc_item_t key, int64_t delta, int64_t *now);

/* Atomically sets key to desired if its value equals expected.
 * Params: d — a dict proxy; key — an item; expected — the value it must
 *   hold; desired — the value to store.
 * Returns: 1 when swapped; 0 when the value differs or the key is
 *   missing (nothing changes).
 * Errors: the proxy errors (above). */
MPROC_API int mproc_dict_cas(mproc_proxy_t *d, mproc_item_t key, mproc_item_t expected,
                             mproc_item_t desired);

/* ---- list (Python's ListProxy); negative indexes count from the end ---- */

/* l.append(value).
 * Params: l — a list proxy; value — an item.
 * Returns: 0.
 * Errors: the proxy errors (above). */
MPROC_API int mproc_list_append(mproc_proxy_t *l, mproc_item_t value);

/* l.extend(items), atomically.
 * Params: l — a list proxy; items — a tuple whose items are appended.
 * Returns: 0.
 * Errors: the proxy errors (above). */
MPROC_API int mproc_list_extend(mproc_proxy_t *l, const mproc_args_t *items);

/* l[i] and l[i] = value.
 * Params: l — a list proxy; i — an index, negative from the end; value —
 *   receives a one-item tuple (get) or is the item to store (set).
 * Returns: 0.
 * Errors: the proxy errors (above); MPROC_ERANGE (IndexError). */
MPROC_API int mproc_list_get(mproc_proxy_t *l, int64_t i, mproc_args_t **value);
MPROC_API int mproc_list_set(mproc_proxy_t *l, int64_t i, mproc_item_t value);

/* l[i] as a C value: the typed forms of mproc_list_get, one call each.
 * A str is copied. Inside a batch the value is written when it runs.
 * Params: l — a list proxy; i — an index, negative from the end; value —
 *   receives the value (a str: a NUL-terminated copy the caller frees
 *   with mproc_free).
 * Returns: 0.
 * Errors: the proxy errors (above); MPROC_ERANGE (IndexError);
 *   MPROC_ETYPE (the item has another type - the detail names it; *value
 *   is left untouched). */
MPROC_API int mproc_list_get_int(mproc_proxy_t *l, int64_t i, int64_t *value);
MPROC_API int mproc_list_get_double(mproc_proxy_t *l, int64_t i, double *value);
MPROC_API int mproc_list_get_bool(mproc_proxy_t *l, int64_t i, bool *value);
MPROC_API int mproc_list_get_str(mproc_proxy_t *l, int64_t i, char **value);

/* l.insert(i, value).
 * Params: l — a list proxy; i — the position, clamped as Python does;
 *   value — an item.
 * Returns: 0.
 * Errors: the proxy errors (above). */
MPROC_API int mproc_list_insert(mproc_proxy_t *l, int64_t i, mproc_item_t value);

/* l.pop(i) (l.pop() is i = -1).
 * Params: l — a list proxy; i — an index; value — NULL or receives a
 *   one-item tuple.
 * Returns: 0.
 * Errors: the proxy errors (above); MPROC_ERANGE (empty, or i out of
 *   range). */
MPROC_API int mproc_list_pop(mproc_proxy_t *l, int64_t i, mproc_args_t **value);

/* l.remove(value): the first equal item.
 * Params: l — a list proxy; value — an item.
 * Returns: 0.
 * Errors: the proxy errors (above); MPROC_EVALUE (none equal). */
MPROC_API int mproc_list_remove(mproc_proxy_t *l, mproc_item_t value);

/* l.index(value).
 * Params: l — a list proxy; value — an item; index — receives the first
 *   equal item's position.
 * Returns: 0.
 * Errors: the proxy errors (above); MPROC_EVALUE (not in the list). */
MPROC_API int mproc_list_index(mproc_proxy_t *l, mproc_item_t value, size_t *index);

/* l.count(value) and len(l).
 * Params: l — a list proxy; value — an item; n — receives the count.
 * Returns: 0.
 * Errors: the proxy errors (above). */
MPROC_API int mproc_list_count(mproc_proxy_t *l, mproc_item_t value, size_t *n);
MPROC_API int mproc_list_len(mproc_proxy_t *l, size_t *n);

/* l[start:stop] as a tuple.
 * Params: l — a list proxy; start, stop — clamped as Python does
 *   (INT64_MAX: to the end); items — receives the tuple.
 * Returns: 0.
 * Errors: the proxy errors (above). */
MPROC_API int mproc_list_slice(mproc_proxy_t *l, int64_t start, int64_t stop, mproc_args_t **items);

/* l.copy(), kept in the manager: a new list of the same manager holding a
 * snapshot of l's items (for a local copy, mproc_list_slice(l, 0,
 * INT64_MAX, ...)). l + other is that copy extended with other
 * (mproc_list_extend).
 * Params: l — a list proxy; out — receives the new list's proxy (NULL on
 *   failure).
 * Returns: 0.
 * Errors: the proxy errors (above). */
MPROC_API int mproc_list_copy(mproc_proxy_t *l, mproc_proxy_t **out);

/* l.sort(reverse=...): a stable sort of numbers (int and double compare by
 * value), of strings or of bytes.
 * Params: l — a list proxy; reverse — largest first.
 * Returns: 0.
 * Errors: the proxy errors (above); MPROC_ETYPE (items that do not
 *   compare: nothing changes). */
MPROC_API int mproc_list_sort(mproc_proxy_t *l, bool reverse);

/* l.reverse(), in place and atomically.
 * Params: l — a list proxy.
 * Returns: 0.
 * Errors: the proxy errors (above). */
MPROC_API int mproc_list_reverse(mproc_proxy_t *l);

/* l.clear().
 * Params: l — a list proxy.
 * Returns: 0.
 * Errors: the proxy errors (above). */
MPROC_API int mproc_list_clear(mproc_proxy_t *l);

/* ---- Namespace ----------------------------------------------------------- */

/* ns.name = value, ns.name and del ns.name.
 * Params: ns — a Namespace proxy; name — a non-empty UTF-8 string;
 *   value — the item to store (set) or receives a one-item tuple (get).
 * Returns: 0.
 * Errors: the proxy errors (above); MPROC_ENOENT (get and del of a
 *   missing name: AttributeError). */
MPROC_API int mproc_namespace_set(mproc_proxy_t *ns, const char *name, mproc_item_t value);
MPROC_API int mproc_namespace_get(mproc_proxy_t *ns, const char *name, mproc_args_t **value);
MPROC_API int mproc_namespace_del(mproc_proxy_t *ns, const char *name);

/* Every attribute (vars(ns)).
 * Params: ns — a Namespace proxy; items — receives a tuple of (name,
 *   value) tuples.
 * Returns: 0.
 * Errors: the proxy errors (above). */
MPROC_API int mproc_namespace_items(mproc_proxy_t *ns, mproc_args_t **items);

/* ---- Value --------------------------------------------------------------- */

/* v.value / v.get() and v.value = x / v.set(x).
 * Params: v — a Value proxy; value — receives a one-item tuple (get) or
 *   is the item to store (set).
 * Returns: 0.
 * Errors: the proxy errors (above). */
MPROC_API int mproc_proxy_value(mproc_proxy_t *v, mproc_args_t **value);
MPROC_API int mproc_proxy_set_value(mproc_proxy_t *v, mproc_item_t value);

/* ---- Lock, RLock, Semaphore, Condition ---------------------------------- */

/* acquire(timeout): Lock, RLock, Semaphore, BoundedSemaphore, and a
 * Condition's lock. An RLock and a Condition are owned by the calling
 * thread.
 * Params: p — the proxy; timeout_ms — MPROC_INFINITE, 0 or milliseconds.
 * Returns: 0 when acquired; MPROC_EOWNERDEAD — acquired, but the previous
 *   holder's process died holding it (a Lock, RLock or Condition).
 * Errors: the proxy errors (above); MPROC_ETIMEDOUT. */
MPROC_API int mproc_proxy_acquire(mproc_proxy_t *p, int timeout_ms);

/* release().
 * Params: p — the proxy.
 * Returns: 0.
 * Errors: the proxy errors (above); MPROC_ESTATE (a Lock that is not held,
 *   an RLock or Condition the calling thread does not hold), MPROC_EVALUE
 *   (a BoundedSemaphore released above its initial value). */
MPROC_API int mproc_proxy_release(mproc_proxy_t *p);

/* ---- Event, Condition and Barrier waits --------------------------------- */

/* Event: waits until set. Condition: releases the lock the calling thread
 * holds, waits for a notify, takes the lock back. Barrier: waits for the
 * other parties (a timeout breaks it, as in Python).
 * Params: p — the proxy; timeout_ms — MPROC_INFINITE, 0 or milliseconds;
 *   MPROC_DEFAULT_TIMEOUT for a barrier's own default.
 * Returns: 0 (Event set, Condition notified); a Barrier party's index, 0
 *   to parties - 1.
 * Errors: the proxy errors (above); MPROC_ETIMEDOUT (Event, Condition),
 *   MPROC_ESTATE (a Condition whose lock is not held), MPROC_EBROKEN (the
 *   barrier is or becomes broken). */
MPROC_API int mproc_proxy_wait(mproc_proxy_t *p, int timeout_ms);

/* Condition.notify(n) and notify_all(): wake up to n waiters, or all of
 * them (those already waiting).
 * Params: c — a Condition proxy; n — the most to wake.
 * Returns: 0.
 * Errors: the proxy errors (above); MPROC_ESTATE (the lock is not held by
 *   the calling thread). */
MPROC_API int mproc_proxy_notify(mproc_proxy_t *c, int64_t n);
MPROC_API int mproc_proxy_notify_all(mproc_proxy_t *c);

/* Lock.locked() (and an RLock's): whether some thread holds it now.
 * Params: l — a Lock or RLock proxy.
 * Returns: 1 when held, 0 when free.
 * Errors: the proxy errors (above). */
MPROC_API int mproc_proxy_locked(mproc_proxy_t *l);

/* Event.set(), clear() and is_set().
 * Params: e — an Event proxy.
 * Returns: 0; is_set: 1 when set, 0 when not.
 * Errors: the proxy errors (above). */
MPROC_API int mproc_proxy_set(mproc_proxy_t *e);
MPROC_API int mproc_proxy_clear(mproc_proxy_t *e);
MPROC_API int mproc_proxy_is_set(mproc_proxy_t *e);

/* Barrier.abort() and reset().
 * Params: b — a Barrier proxy.
 * Returns: 0.
 * Errors: the proxy errors (above). */
MPROC_API int mproc_proxy_abort(mproc_proxy_t *b);
MPROC_API int mproc_proxy_reset(mproc_proxy_t *b);

/* Barrier.parties, n_waiting and broken, read at once.
 * Params: b — a Barrier proxy; parties, n_waiting, broken — each NULL or
 *   receives its value.
 * Returns: 0.
 * Errors: the proxy errors (above). */
MPROC_API int mproc_proxy_barrier_state(mproc_proxy_t *b, int64_t *parties, int64_t *n_waiting,
                                        bool *broken);

/* ---- Queue and JoinableQueue -------------------------------------------- */

/* put(value, timeout).
 * Params: q — a Queue proxy; value — an item; timeout_ms —
 *   MPROC_INFINITE, 0 or milliseconds.
 * Returns: 0.
 * Errors: the proxy errors (above); MPROC_EFULL (still full at the
 *   timeout). */
MPROC_API int mproc_proxy_put(mproc_proxy_t *q, mproc_item_t value, int timeout_ms);

/* get(timeout).
 * Params: q — a Queue proxy; value — receives a one-item tuple;
 *   timeout_ms — MPROC_INFINITE, 0 or milliseconds.
 * Returns: 0.
 * Errors: the proxy errors (above); MPROC_EEMPTY (still empty at the
 *   timeout). */
MPROC_API int mproc_proxy_get(mproc_proxy_t *q, mproc_args_t **value, int timeout_ms);

/* qsize().
 * Params: q — a Queue proxy; n — receives the count.
 * Returns: 0.
 * Errors: the proxy errors (above). */
MPROC_API int mproc_proxy_qsize(mproc_proxy_t *q, size_t *n);

/* empty() and full(): whether the queue holds nothing, and whether its
 * maxsize is reached (never, for a queue made with maxsize 0). As
 * Python's, only a snapshot: another process may change it at once.
 * Params: q — a Queue or JoinableQueue proxy.
 * Returns: 1 when empty (full), 0 when not.
 * Errors: the proxy errors (above). */
MPROC_API int mproc_proxy_empty(mproc_proxy_t *q);
MPROC_API int mproc_proxy_full(mproc_proxy_t *q);

/* JoinableQueue.task_done().
 * Params: q — a JoinableQueue proxy.
 * Returns: 0.
 * Errors: the proxy errors (above); MPROC_EVALUE (called more times than
 *   items were put). */
MPROC_API int mproc_proxy_task_done(mproc_proxy_t *q);

/* JoinableQueue.join(timeout): waits until every item put is done.
 * Params: q — a JoinableQueue proxy; timeout_ms — MPROC_INFINITE, 0 or
 *   milliseconds.
 * Returns: 0.
 * Errors: the proxy errors (above); MPROC_ETIMEDOUT. */
MPROC_API int mproc_proxy_join(mproc_proxy_t *q, int timeout_ms);

/* ---- registered types ---------------------------------------------------- */

/* Calls a method of a registered type's object in the manager.
 * Params: p — the proxy; method — its name; args — NULL or its arguments
 *   (proxies of this manager may be among them; other objects may not);
 *   result — NULL or receives the tuple the method filled.
 * Returns: 0.
 * Errors: the proxy errors (above); MPROC_ENOENT (no such method), the
 *   method's own code. */
MPROC_API int mproc_proxy_call(mproc_proxy_t *p, const char *method, const mproc_args_t *args,
                               mproc_args_t **result);

/* Calls a method of a registered type's object that returns a new object
 * (Python's method_to_typeid, as __iter__ returns an iterator): the
 * method makes it and calls mproc_method_return_object; the caller gets a
 * proxy of it, a MPROC_PROXY_CUSTOM proxy like mproc_manager_create's. The
 * new object lives while a proxy of it does. Not inside a batch.
 * Params: p — the proxy; method — its name; args — NULL or its arguments;
 *   out — receives the new object's proxy (NULL on failure).
 * Returns: 0.
 * Errors: the proxy errors (above); MPROC_EINVAL (method or out NULL, or
 *   inside a batch), MPROC_ENOENT (no such method), MPROC_ESTATE (the
 *   method returned no object), the method's own code. */
MPROC_API int mproc_proxy_call_object(mproc_proxy_t *p, const char *method,
                                      const mproc_args_t *args, mproc_proxy_t **out);

/* Inside a method called with mproc_proxy_call_object: returns self, an
 * object of registered type typeid (of this manager's), to the caller as
 * a new shared object. On success the manager owns self: the type's
 * destroy frees it when the last proxy of it is gone, or at once if the
 * method then fails. Once per call; what the method puts in its result
 * tuple is not sent.
 * Params: typeid — a registered type's name; self — the object.
 * Returns: 0.
 * Errors: MPROC_ESTATE (not inside such a method, or called twice; self
 *   stays the caller's), MPROC_EINVAL (typeid NULL), MPROC_ENOENT (no such
 *   registered type; self stays the caller's). */
MPROC_API int mproc_method_return_object(const char *typeid, void *self);

#ifdef __cplusplus
}
#endif

#endif
