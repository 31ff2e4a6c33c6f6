/* A manager's client side: one per manager per process, shared by the
 * mproc_manager_t handles and proxies of that manager.
 *
 * A client keeps a small pool of authenticated connections: a call takes
 * an idle one (or opens one) and gives it back, so threads call at once
 * and a thread blocked in acquire holds up no one. A child that inherits
 * a client through fork opens its own connections (and its own session)
 * on first use. A thread may record calls into a batch instead. */
#ifndef MPROC_MANAGER_MANAGER_CLIENT_H
#define MPROC_MANAGER_MANAGER_CLIENT_H

#include <stdatomic.h>

#include "core/internal.h"
#include "manager/manager_wire.h"
#include "manager/u64map.h"
#include "mproc/manager.h"

/* A call's timeout, and how long start waits for its server, when the
 * options give none (Python's managers wait as long for a server). */
enum { MPROC__MGR_DEFAULT_TIMEOUT_MS = 30000 };

typedef struct mproc__mgr_client mproc__mgr_client_t;
typedef struct mproc__mgr_conn mproc__mgr_conn_t;

/* A new client of the manager at address, with its own key (NULL: none),
 * call timeout (0: the default), connections and session: each
 * mproc_manager_start/connect has one, so two handles to one address
 * share neither key nor timeout, and each connect proves its own key. */
int mproc__mgr_client_new(const char *address, const void *key, size_t keylen, int timeout_ms,
                          mproc__mgr_client_t **out);
/* A client for a proxy that arrived: one of this process's clients of the
 * same server run (nonce) - the one whose reply is being decoded first -
 * or a new one with key (NULL: the key of a client of the same address,
 * if any). A new reference. */
int mproc__mgr_client_get(const char *address, uint64_t nonce, const void *key, size_t keylen,
                          mproc__mgr_client_t **out);
void mproc__mgr_client_ref(mproc__mgr_client_t *cl);
void mproc__mgr_client_release(mproc__mgr_client_t *cl);
/* Opens a connection now (to learn the nonce, or fail early). */
int mproc__mgr_client_connect(mproc__mgr_client_t *cl);
/* Later calls fail with MPROC_ECLOSED (after shutdown). */
void mproc__mgr_client_close(mproc__mgr_client_t *cl);
void mproc__mgr_client_set_timeout(mproc__mgr_client_t *cl, int timeout_ms);
const char *mproc__mgr_client_address(const mproc__mgr_client_t *cl);
uint64_t mproc__mgr_client_nonce(const mproc__mgr_client_t *cl);
/* The key, for a proxy going to a child: NULL when none. */
const unsigned char *mproc__mgr_client_key(const mproc__mgr_client_t *cl, size_t *len);

/* What a reply's body becomes: a value >= 0 the call returns, or an
 * MPROC_E* code. */
typedef int (*mproc__mgr_result_fn)(mproc__mgr_client_t *cl, const unsigned char *body, size_t n,
                                    void *out);

/* One call being built: its body goes to r->body after begin. */
typedef struct {
  mproc__mgr_client_t *cl;
  mproc__mgr_conn_t *conn; /* NULL while a batch records it */
  mproc__buf_t *body;
  size_t start;   /* where the request starts in *body */
  bool recording; /* into this thread's batch */
  uint16_t flags;
} mproc__mgr_req_t;

/* Starts a call of op on object id. */
int mproc__mgr_begin(mproc__mgr_client_t *cl, mproc__mgr_req_t *r, uint16_t op, uint64_t id);
/* Sends it and waits up to wait_ms (MPROC_INFINITE; the client's timeout
 * is added) for the reply, whose body goes through fn (NULL: ignored)
 * into out. Ends the call either way. While recording a batch: records
 * fn and out for the batch's run and returns 0. */
int mproc__mgr_finish(mproc__mgr_req_t *r, int wait_ms, mproc__mgr_result_fn fn, void *out);
/* Ends a call without sending it (building it failed). */
void mproc__mgr_abandon(mproc__mgr_req_t *r);
/* Sends a call that gets no reply (DECREF), best effort. */
void mproc__mgr_send_noreply(mproc__mgr_req_t *r);

/* The waits a batch cannot hold. */
bool mproc__mgr_recording(const mproc__mgr_client_t *cl);
int mproc__mgr_batch_begin(mproc__mgr_client_t *cl);
int mproc__mgr_batch_run(mproc__mgr_client_t *cl, int *status, size_t cap);
void mproc__mgr_batch_cancel(mproc__mgr_client_t *cl);

/* Results. */
int mproc__mgr_res_tuple(mproc__mgr_client_t *cl, const unsigned char *b, size_t n, void *out);
/* Into a size_t, an int64_t. */
int mproc__mgr_res_size(mproc__mgr_client_t *cl, const unsigned char *b, size_t n, void *out);
int mproc__mgr_res_i64(mproc__mgr_client_t *cl, const unsigned char *b, size_t n, void *out);
int mproc__mgr_res_flag(mproc__mgr_client_t *cl, const unsigned char *b, size_t n, void *out);
/* manager_typed.c: the one item of a reply into an int64_t, a double, a
 * bool, a char * (a copy, freed with mproc_free); MPROC_ETYPE for an item
 * of another type. */
int mproc__mgr_res_int(mproc__mgr_client_t *cl, const unsigned char *b, size_t n, void *out);
int mproc__mgr_res_double(mproc__mgr_client_t *cl, const unsigned char *b, size_t n, void *out);
int mproc__mgr_res_bool(mproc__mgr_client_t *cl, const unsigned char *b, size_t n, void *out);
int mproc__mgr_res_str(mproc__mgr_client_t *cl, const unsigned char *b, size_t n, void *out);

/* This process's proxies of cl by object id, under the client's lock. */
void mproc__mgr_client_lock(mproc__mgr_client_t *cl);
void mproc__mgr_client_unlock(mproc__mgr_client_t *cl);
mproc__u64map_t *mproc__mgr_client_proxies(mproc__mgr_client_t *cl);

/* ---- proxies (manager_proxy.c) ------------------------------------------ */

struct mproc_proxy {
  atomic_int refs;
  mproc__mgr_client_t *cl; /* a reference */
  uint64_t id;
  uint8_t kind;
};

/* This process's proxy to object id of cl (one per object: a new
 * reference to it if there is one already). */
int mproc__mgr_proxy_get(mproc__mgr_client_t *cl, uint64_t id, uint8_t kind, mproc_proxy_t **out);
/* Checks p is a proxy of one of the kinds lo..hi (MPROC_EINVAL for NULL,
 * MPROC_ETYPE for another kind); op names the call in the detail. */
int mproc__mgr_proxy_check(const mproc_proxy_t *p, int lo, int hi, const char *op);

#endif
