/* A manager's server, inside the library: what its files share.
 *
 * One thread per client connection (so a stalled or blocked client holds
 * up no one else) and one mutex over all objects: every call, and every
 * batch, runs alone, which is what makes them atomic. A call that waits
 * (acquire, a queue's get, an event's wait) sleeps on its object's
 * condition variable, which releases the mutex. */
#ifndef MPROC_MANAGER_MANAGER_SERVER_H
#define MPROC_MANAGER_MANAGER_SERVER_H

#include <stdatomic.h>

#include "core/internal.h"
#include "manager/manager_wire.h"
#include "manager/odict.h"
#include "manager/u64map.h"
#include "mproc/manager.h"

typedef struct mproc__mgr_server mproc__mgr_server_t;

/* Someone waiting in a Condition or a Barrier, on its own stack. */
typedef struct mproc__mgr_waiter {
  struct mproc__mgr_waiter *next;
  bool done;
  int result;
} mproc__mgr_waiter_t;

/* A lock's owner: a client process (its session) and, for an RLock or a
 * Condition, one of its threads. */
typedef struct {
  uint64_t session;
  uint32_t thread;
} mproc__mgr_owner_t;

typedef struct {
  mproc__blob_t **v;
  size_t n, cap;
} mproc__mgr_vec_t;

typedef struct mproc__mgr_obj {
  uint64_t id;
  uint8_t kind;         /* mproc_proxy_kind_t */
  bool pinned;          /* published or stored in a container: lives on */
  bool dead;            /* freed while calls were inside; the last one out frees it */
  uint32_t sessions;    /* client processes holding it */
  uint32_t inside;      /* calls of this object in progress (waits) */
  mproc__os_cond_t *cv; /* for waits; NULL for kinds that never wait */
  union {
    mproc__odict_t dict;   /* DICT, NAMESPACE */
    mproc__mgr_vec_t list; /* LIST */
    mproc__blob_t *value;  /* VALUE */
    struct {
      uint64_t count; /* 0: free; an RLock's depth */
      mproc__mgr_owner_t owner;
      bool owner_died;
      mproc__mgr_waiter_t *waiters; /* a Condition's, oldest first */
    } lock;                         /* LOCK, RLOCK, CONDITION */
    struct {
      int64_t value, bound; /* bound: a BoundedSemaphore's initial value */
    } sem;
    bool event;
    struct {
      int64_t parties;
      int64_t count;
      int timeout_ms;
      bool broken;
      mproc__mgr_waiter_t *waiters;
    } barrier;
    struct {
      mproc__blob_t **ring;
      size_t head, n, cap;
      int64_t maxsize;
      uint64_t unfinished;
    } queue;
    struct {
      const mproc_manager_type_t *type;
      void *self;
    } custom;
  } u;
} mproc__mgr_obj_t;

/* A client process: its references and what it holds. It ends when the
 * process ends, not when a connection does (manager_server.c). */
typedef struct mproc__mgr_session {
  uint64_t id;
  int conns; /* its open connections */
  int64_t pid;
  bool local;     /* on this machine: its end is seen by its pid */
  uint32_t start; /* its start token's low bits (0: unknown) */
  /* With no connection left: since when (ms), and when to look again
   * whether its process still runs (local) or to end it (remote). */
  int64_t orphan_since, look_at;
  struct mproc__mgr_session *next_orphan;
  mproc__u64map_t refs; /* object id → object */
} mproc__mgr_session_t;

/* One call being served. */
typedef struct {
  mproc__mgr_server_t *srv;
  mproc__mgr_session_t *session;
  mproc__mgr_head_t head;
  mproc__mgr_reader_t in;
  mproc__buf_t *out;         /* the reply's body */
  bool may_wait;             /* false inside a batch */
  mproc__mgr_obj_t *granted; /* a lock this call took: handed back if the
                                reply cannot be delivered */
} mproc__mgr_call_t;

struct mproc__mgr_server {
  mproc__os_mutex_t *mu;
  atomic_bool stopping;
  uint64_t nonce;
  uint64_t next_id;
  mproc__u64map_t objects;  /* id → object */
  mproc__u64map_t sessions; /* session id → session */
  mproc__odict_t names;     /* published name → u64 id */
  const mproc_manager_type_t *types;
  size_t ntypes;
  size_t max_message;
  struct mproc__mgr_net *net; /* listeners and client threads (manager_server.c) */
};

/* ---- objects (manager_objects.c) ---------------------------------------- */

/* Runs one call with the mutex held: the reply body goes to call->out;
 * the result is 0 or an MPROC_E* code with the detail set. */
int mproc__mgr_dispatch(mproc__mgr_call_t *call);
/* A session ended: its references go, its locks pass on as abandoned. */
void mproc__mgr_session_end(mproc__mgr_server_t *s, mproc__mgr_session_t *session);
/* Frees every object (at shutdown, no calls running). */
void mproc__mgr_objects_free(mproc__mgr_server_t *s);
/* Wakes every waiter of every object (shutdown). */
void mproc__mgr_wake_all(mproc__mgr_server_t *s);

/* manager_wait.c: */
/* Waits on o's condition variable until woken, the deadline (ms on the
 * monotonic clock; -1: none) or shutdown: 0, MPROC_ETIMEDOUT or
 * MPROC_ECLOSED. */
int mproc__mgr_wait(mproc__mgr_call_t *call, mproc__mgr_obj_t *o, int64_t deadline);
/* The deadline of a timeout (MPROC_INFINITE: -1); MPROC_EINVAL for other
 * negative values. Inside a batch every timeout is 0. */
int mproc__mgr_deadline(mproc__mgr_call_t *call, int32_t timeout_ms, int64_t *deadline);
/* Waits until allows(o), or fails with code ("manager: what") once the
 * deadline passes; mproc__mgr_wait's codes otherwise. */
int mproc__mgr_wait_until(mproc__mgr_call_t *call, mproc__mgr_obj_t *o,
                          bool (*allows)(const mproc__mgr_obj_t *), int64_t deadline, int code,
                          const char *what);
/* The reply of a single value: a one-item tuple around the item. */
int mproc__mgr_reply_value(mproc__mgr_call_t *call, const mproc__blob_t *v);
/* Stores an item from the request as a blob, pinning proxies it names. */
int mproc__mgr_take_value(mproc__mgr_call_t *call, const unsigned char *p, size_t n,
                          mproc__blob_t **out);

/* ---- the kinds ----------------------------------------------------------- */

/* Each makes its state from the CREATE body (after the kind byte), runs
 * its calls, and frees its state. */
int mproc__mgr_container_init(mproc__mgr_call_t *call, mproc__mgr_obj_t *o);
int mproc__mgr_container_call(mproc__mgr_call_t *call, mproc__mgr_obj_t *o);
void mproc__mgr_container_free(mproc__mgr_obj_t *o);

int mproc__mgr_sync_init(mproc__mgr_call_t *call, mproc__mgr_obj_t *o);
int mproc__mgr_sync_call(mproc__mgr_call_t *call, mproc__mgr_obj_t *o);
/* Locks held by a session that ended pass on as abandoned. */
void mproc__mgr_sync_orphan(mproc__mgr_obj_t *o, uint64_t session);
/* Gives back what call->granted took (its reply could not be delivered). */
void mproc__mgr_sync_undo(mproc__mgr_call_t *call);

int mproc__mgr_queue_init(mproc__mgr_call_t *call, mproc__mgr_obj_t *o);
int mproc__mgr_queue_call(mproc__mgr_call_t *call, mproc__mgr_obj_t *o);
void mproc__mgr_queue_free(mproc__mgr_obj_t *o);

int mproc__mgr_custom_init(mproc__mgr_call_t *call, mproc__mgr_obj_t *o);
int mproc__mgr_custom_call(mproc__mgr_call_t *call, mproc__mgr_obj_t *o);
void mproc__mgr_custom_free(mproc__mgr_obj_t *o);
/* Makes self, of registered type `type`, an object of the server held by
 * the caller, and replies with its id and kind (manager_objects.c). On
 * failure self is destroyed. */
int mproc__mgr_adopt_custom(mproc__mgr_call_t *call, const mproc_manager_type_t *type, void *self);

/* ---- running a server (manager_server.c) -------------------------------- */

typedef struct {
  const char *address;     /* the local listener, or NULL */
  const char *tcp_address; /* also, or NULL */
  const void *authkey;
  size_t authkey_len;
  const mproc_manager_type_t *types;
  size_t ntypes;
  size_t max_message;
} mproc__mgr_serve_opts_t;

/* Listens; the addresses as bound go to local and tcp (each 320 bytes). */
int mproc__mgr_server_new(mproc__mgr_server_t **out, const mproc__mgr_serve_opts_t *o, char *local,
                          char *tcp);
/* Serves until a client asks for shutdown or *stop becomes true, then
 * stops every thread. */
void mproc__mgr_server_run(mproc__mgr_server_t *s, atomic_bool *stop);
void mproc__mgr_server_free(mproc__mgr_server_t *s);

/* The target of a manager's server process (manager_start.c). */
int mproc__mgr_server_main(const mproc_args_t *args);

#endif
