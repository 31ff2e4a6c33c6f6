/* A manager's client side (see manager_client.h). */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connection/connection_internal.h"
#include "core/self_ids.h"
#include "core/spinlock.h"
#include "manager/manager_client.h"
#include "manager/manager_lane.h"
#include "manager/u64map.h"

#define DEFAULT_MAX_MESSAGE ((size_t)256 << 20)

struct mproc__mgr_conn {
  mproc_conn_t *c;
  mproc__mgr_lane_t *lane; /* NULL: calls go on c */
  mproc__buf_t buf;        /* the request being built */
  unsigned char *in;       /* the reply */
  size_t in_cap;
  uint32_t seq;
  mproc__mgr_conn_t *next;
};

struct mproc__mgr_client {
  atomic_int refs;
  char address[320];
  unsigned char key[512];
  size_t keylen;
  bool has_key;
  int timeout_ms;
  atomic_size_t max_message; /* the smaller of ours and the server's */
  atomic_bool closed;
  mproc__spinlock_t lock; /* what follows */
  uint64_t nonce;         /* this run of the server; 0 until known */
  int64_t server_pid;
  int64_t pid;      /* the process the connections and session are of */
  uint64_t session; /* names this process to the server */
  mproc__mgr_conn_t *idle;
  mproc__u64map_t proxies;   /* object id → this process's proxy */
  mproc__mgr_client_t *next; /* in the registry */
};

/* This process's id, without a system call on every call. */
static int64_t self_pid(void) {
  uint32_t pid, tid;
  mproc__self_ids(&pid, &tid);
  return pid;
}

/* Every client of this process (mproc__manager_lock). */
static mproc__mgr_client_t *registry;

/* ---- clients ------------------------------------------------------------- */

/* The client whose reply is being decoded on this thread: a proxy inside
 * it belongs to that client first (a proxy stored by a local client and
 * read by a remote one stays on the remote one's tcp: connection). */
static _Thread_local mproc__mgr_client_t *decoding_via;

static void set_key(mproc__mgr_client_t *cl, const void *key, size_t keylen) {
  if (!key || cl->has_key || keylen > sizeof cl->key)
    return;
  memcpy(cl->key, key, keylen);
  cl->keylen = keylen;
  cl->has_key = true;
}

/* A new client, registered; the caller holds mproc__manager_lock. */
static mproc__mgr_client_t *client_make(mproc__mgr_client_t *fresh, const char *address,
                                        uint64_t nonce, const void *key, size_t keylen) {
  mproc__mgr_client_t *cl = fresh;
  atomic_init(&cl->refs, 1);
  strcpy(cl->address, address);
  cl->timeout_ms = MPROC__MGR_DEFAULT_TIMEOUT_MS;
  atomic_init(&cl->max_message, DEFAULT_MAX_MESSAGE);
  cl->nonce = nonce;
  atomic_init(&cl->closed, false);
  set_key(cl, key, keylen);
  cl->next = registry;
  registry = cl;
  return cl;
}

static int client_alloc(const char *address, mproc__mgr_client_t **out) {
  *out = NULL;
  if (strlen(address) >= sizeof((mproc__mgr_client_t *)0)->address)
    return mproc__fail(MPROC_EINVAL, "manager: address too long");
  if (!(*out = calloc(1, sizeof **out)))
    return mproc__fail(MPROC_ENOMEM, "manager: out of memory");
  return 0;
}

int mproc__mgr_client_new(const char *address, const void *key, size_t keylen, int timeout_ms,
                          mproc__mgr_client_t **out) {
  mproc__mgr_client_t *fresh;
  int rc = client_alloc(address, &fresh);
  if (rc)
    return rc;
  mproc__spin_lock(&mproc__manager_lock);
  *out = client_make(fresh, address, 0, key, keylen);
  mproc__spin_unlock(&mproc__manager_lock);
  mproc__mgr_client_set_timeout(*out, timeout_ms);
  return 0;
}

/* A live client of the server run nonce (0: none); the hint first. */
static mproc__mgr_client_t *find_by_nonce(uint64_t nonce) {
  mproc__mgr_client_t *hint = decoding_via;
  if (hint && atomic_load(&hint->refs) > 0 && mproc__mgr_client_nonce(hint) == nonce)
    return hint;
  for (mproc__mgr_client_t *c = registry; c; c = c->next)
    if (atomic_load(&c->refs) > 0 && mproc__mgr_client_nonce(c) == nonce)
      return c;
  return NULL;
}

int mproc__mgr_client_get(const char *address, uint64_t nonce, const void *key, size_t keylen,
                          mproc__mgr_client_t **out) {
  mproc__mgr_client_t *fresh;
  int rc = client_alloc(address, &fresh);
  if (rc)
    return rc;
  mproc__spin_lock(&mproc__manager_lock);
  mproc__mgr_client_t *cl = find_by_nonce(nonce);
  if (cl) {
    atomic_fetch_add(&cl->refs, 1);
    mproc__spin_unlock(&mproc__manager_lock);
    free(fresh);
    *out = cl;
    return 0;
  }
  /* A proxy that came without its key (over a queue, say), to an address
   * this process reached with a key: that key, most likely the manager's.
   * If it is not, the server refuses it as any wrong key. */
  const mproc__mgr_client_t *same_address = NULL;
  for (mproc__mgr_client_t *c = registry; c && !key; c = c->next)
    if (atomic_load(&c->refs) > 0 && c->has_key && strcmp(c->address, address) == 0)
      same_address = c;
  if (same_address) {
    key = same_address->key;
    keylen = same_address->keylen;
  }
  *out = client_make(fresh, address, nonce, key, keylen);
  mproc__spin_unlock(&mproc__manager_lock);
  return 0;
}

void mproc__mgr_client_ref(mproc__mgr_client_t *cl) { atomic_fetch_add(&cl->refs, 1); }

static void free_conn(mproc__mgr_conn_t *c) {
  mproc__mgr_lane_free(c->lane);
  mproc_conn_free(c->c);
  mproc__buf_free(&c->buf);
  free(c->in);
  free(c);
}

void mproc__mgr_client_release(mproc__mgr_client_t *cl) {
  if (!cl || atomic_fetch_sub(&cl->refs, 1) != 1)
    return;
  mproc__spin_lock(&mproc__manager_lock);
  if (atomic_load(&cl->refs) != 0) { /* found again meanwhile */
    mproc__spin_unlock(&mproc__manager_lock);
    return;
  }
  for (mproc__mgr_client_t **p = &registry; *p; p = &(*p)->next)
    if (*p == cl) {
      *p = cl->next;
      break;
    }
  mproc__spin_unlock(&mproc__manager_lock);
  bool own = cl->pid == self_pid();
  while (cl->idle) {
    mproc__mgr_conn_t *next = cl->idle->next;
    if (own)
      free_conn(cl->idle);
    cl->idle = next;
  }
  mproc__u64map_free(&cl->proxies);
  free(cl);
}

void mproc__mgr_client_close(mproc__mgr_client_t *cl) { atomic_store(&cl->closed, true); }

void mproc__mgr_client_lock(mproc__mgr_client_t *cl) { mproc__spin_lock(&cl->lock); }
void mproc__mgr_client_unlock(mproc__mgr_client_t *cl) { mproc__spin_unlock(&cl->lock); }
mproc__u64map_t *mproc__mgr_client_proxies(mproc__mgr_client_t *cl) { return &cl->proxies; }

void mproc__mgr_client_set_timeout(mproc__mgr_client_t *cl, int timeout_ms) {
  cl->timeout_ms = timeout_ms ? timeout_ms : MPROC__MGR_DEFAULT_TIMEOUT_MS;
}

const char *mproc__mgr_client_address(const mproc__mgr_client_t *cl) { return cl->address; }

uint64_t mproc__mgr_client_nonce(const mproc__mgr_client_t *cl) {
  mproc__mgr_client_t *c = (mproc__mgr_client_t *)cl;
  mproc__spin_lock(&c->lock);
  uint64_t n = c->nonce;
  mproc__spin_unlock(&c->lock);
  return n;
}

const unsigned char *mproc__mgr_client_key(const mproc__mgr_client_t *cl, size_t *len) {
  *len = cl->keylen;
  return cl->has_key ? cl->key : NULL;
}

/* ---- connections --------------------------------------------------------- */

/* A connection that broke while in use (end-of-file, a reset, a message
 * cut short): the manager is gone. */
static int gone(mproc__mgr_client_t *cl, int rc) {
  if (rc != MPROC_EEOF && rc != MPROC_EPROTO && rc != MPROC_ESYS)
    return rc;
  mproc__spin_lock(&cl->lock); /* another thread's hello may set it */
  int64_t server_pid = cl->server_pid;
  mproc__spin_unlock(&cl->lock);
  char why[200];
  snprintf(why, sizeof why, "%s",
           rc == MPROC_ESYS ? mproc_last_error_detail() : "the connection closed");
  return mproc__fail(MPROC_EEOF, "manager at %s (pid %lld) is gone: %s", cl->address,
                     (long long)server_pid, why);
}

/* Makes the client this process's: a forked child starts its own session
 * and leaves the parent's connections alone. Called with cl->lock held. */
static void own(mproc__mgr_client_t *cl) {
  int64_t pid = self_pid();
  if (cl->pid == pid)
    return;
  cl->idle = NULL; /* the parent's: not ours to use, nor to close */
  cl->pid = pid;
  do
    mproc__os_random(&cl->session, sizeof cl->session);
  while (!cl->session);
}

/* Whether to ask for a shared-memory lane: on a local connection, unless
 * MPROC_MANAGER_LANE=0 says every call goes on the connection. */
static bool wants_lane(const mproc__mgr_client_t *cl) {
  const char *env = getenv("MPROC_MANAGER_LANE");
  return strncmp(cl->address, "tcp:", 4) != 0 && !(env && strcmp(env, "0") == 0);
}

/* The lane the server offered in its welcome: its handle is the next
 * message. Without one the calls stay on the connection. */
static int take_lane(mproc__mgr_client_t *cl, mproc__mgr_conn_t *c) {
  intptr_t h[MPROC__MGR_LANE_HANDLES];
  int rc = mproc__os_conn_recv_handles(mproc__conn_os(c->c), h, mproc__mgr_lane_handles());
  if (!rc)
    rc = mproc__mgr_lane_attach(h, &c->lane);
  if (rc == MPROC_EEOF)
    return gone(cl, rc);
  return rc;
}

/* The welcome's limit on a message: the smaller of the server's and this
 * side's, so that a request the server would refuse (and hang up on) is
 * refused here, before it is sent. */
static void learn_limit(mproc__mgr_client_t *cl, uint64_t server_max) {
  size_t now = atomic_load(&cl->max_message);
  while (server_max && server_max < now &&
         !atomic_compare_exchange_weak(&cl->max_message, &now, (size_t)server_max)) {
  }
}

static int say_hello(mproc__mgr_client_t *cl, mproc__mgr_conn_t *c, uint64_t session,
                     int64_t deadline) {
  /* Room for a listener's challenge too: what a client without a key
   * receives first from a manager that wants one. */
  unsigned char msg[64];
  mproc__mgr_greeting_t g = {.version = MPROC__MGR_VERSION,
                             .flags = wants_lane(cl) ? MPROC__MGR_LANE : 0,
                             .id = session,
                             .pid = self_pid()};
  size_t len = 0;
  int rc = mproc_conn_send_bytes(c->c, msg, mproc__mgr_greeting_put(msg, &g, false));
  if (!rc)
    rc = mproc__conn_recv_by(c->c, msg, sizeof msg, &len, deadline);
  if (rc == MPROC_ETIMEDOUT)
    return mproc__fail(MPROC_ETIMEDOUT, "manager at %s did not answer the greeting in time",
                       cl->address);
  if (!rc && !cl->has_key && mproc__is_challenge(msg, len))
    return mproc__fail(MPROC_EAUTH, "manager at %s wants an authentication key and none was given",
                       cl->address);
  if (rc == MPROC_ETOOBIG || (!rc && !mproc__mgr_greeting_get(msg, len, true, &g)))
    return mproc__fail(MPROC_EPROTO, "%s is not a manager of this version", cl->address);
  if (rc)
    return gone(cl, rc);
  if ((g.flags & MPROC__MGR_LANE) && (rc = take_lane(cl, c)) != 0)
    return rc;
  uint64_t nonce = g.id;
  learn_limit(cl, g.max_message);
  mproc__spin_lock(&cl->lock);
  bool other = cl->nonce && cl->nonce != nonce;
  if (!other) {
    cl->nonce = nonce;
    cl->server_pid = g.pid;
  }
  mproc__spin_unlock(&cl->lock);
  if (other)
    return mproc__fail(MPROC_ECLOSED,
                       "the manager these proxies belong to is gone; another one "
                       "listens at %s now",
                       cl->address);
  return 0;
}

/* A new connection, authenticated and greeted within the client's call
 * timeout: a manager that is stopped, or a listener that says nothing,
 * costs the caller its timeout, never more, and is MPROC_ETIMEDOUT. */
static int open_conn(mproc__mgr_client_t *cl, uint64_t session, mproc__mgr_conn_t **out) {
  mproc__mgr_conn_t *c = calloc(1, sizeof *c);
  if (!c)
    return mproc__fail(MPROC_ENOMEM, "manager: out of memory");
  int64_t deadline = mproc__deadline(cl->timeout_ms);
  int rc = mproc__client_connect_by(&c->c, cl->address, cl->has_key ? cl->key : NULL,
                                    cl->has_key ? cl->keylen : 0, deadline);
  if (rc == MPROC_ESYS || rc == MPROC_ECLOSED)
    rc = mproc__fail_prefix(MPROC_ECLOSED, "no manager listens at %s (shut down, or never started)",
                            cl->address);
  else if (rc == MPROC_ETIMEDOUT)
    rc = mproc__fail_prefix(MPROC_ETIMEDOUT,
                            "manager at %s did not take the connection within %d ms", cl->address,
                            cl->timeout_ms);
  if (!rc) {
    mproc_conn_set_max_message(c->c, atomic_load(&cl->max_message));
    rc = say_hello(cl, c, session, deadline);
  }
  /* This process's own connection, one thread at a time: it may read
   * ahead (once the lane's handle, which a read ahead would drop, is in),
   * a call then costs one read of the reply, not two. */
  if (!rc)
    rc = mproc__conn_read_ahead(c->c);
  if (rc) {
    free_conn(c);
    return rc;
  }
  *out = c;
  return 0;
}

static int take_conn(mproc__mgr_client_t *cl, mproc__mgr_conn_t **out) {
  if (atomic_load(&cl->closed))
    return mproc__fail(MPROC_ECLOSED, "manager at %s was shut down", cl->address);
  mproc__spin_lock(&cl->lock);
  own(cl);
  mproc__mgr_conn_t *c = cl->idle;
  if (c)
    cl->idle = c->next;
  uint64_t session = cl->session;
  mproc__spin_unlock(&cl->lock);
  if (c) {
    *out = c;
    return 0;
  }
  return open_conn(cl, session, out);
}

/* An idle connection of this process, never a new one (a proxy's last
 * free tells the server, when that costs nothing). */
static int take_idle(mproc__mgr_client_t *cl, mproc__mgr_conn_t **out) {
  mproc__spin_lock(&cl->lock);
  mproc__mgr_conn_t *c = cl->pid == self_pid() ? cl->idle : NULL;
  if (c)
    cl->idle = c->next;
  mproc__spin_unlock(&cl->lock);
  *out = c;
  return c ? 0 : MPROC_ECLOSED;
}

static void give_conn(mproc__mgr_client_t *cl, mproc__mgr_conn_t *c) {
  mproc__spin_lock(&cl->lock);
  if (cl->pid == self_pid()) {
    c->next = cl->idle;
    cl->idle = c;
    c = NULL;
  }
  mproc__spin_unlock(&cl->lock);
  if (c)
    free_conn(c);
}

int mproc__mgr_client_connect(mproc__mgr_client_t *cl) {
  mproc__mgr_conn_t *c;
  int rc = take_conn(cl, &c);
  if (!rc)
    give_conn(cl, c);
  return rc;
}

/* ---- batches ------------------------------------------------------------- */

typedef struct {
  mproc__mgr_result_fn fn;
  void *out;
} recorded_t;

typedef struct {
  mproc__mgr_client_t *cl;
  mproc__buf_t buf; /* u32 count, then each request as a blob */
  recorded_t *ops;
  size_t n, cap;
} batch_t;

static _Thread_local batch_t *this_batch;

bool mproc__mgr_recording(const mproc__mgr_client_t *cl) {
  return this_batch && this_batch->cl == cl;
}

int mproc__mgr_batch_begin(mproc__mgr_client_t *cl) {
  if (this_batch)
    return mproc__fail(MPROC_ESTATE, "manager_batch_begin: this thread records a batch already");
  batch_t *b = calloc(1, sizeof *b);
  if (!b || mproc__mgr_put_u32(&b->buf, 0)) {
    free(b);
    return mproc__fail(MPROC_ENOMEM, "manager_batch_begin: out of memory");
  }
  b->cl = cl;
  mproc__mgr_client_ref(cl);
  this_batch = b;
  return 0;
}

static void batch_free(void) {
  batch_t *b = this_batch;
  this_batch = NULL;
  mproc__mgr_client_release(b->cl);
  mproc__buf_free(&b->buf);
  free(b->ops);
  free(b);
}

void mproc__mgr_batch_cancel(mproc__mgr_client_t *cl) {
  if (mproc__mgr_recording(cl))
    batch_free();
}

/* ---- calls --------------------------------------------------------------- */

int mproc__mgr_begin(mproc__mgr_client_t *cl, mproc__mgr_req_t *r, uint16_t op, uint64_t id) {
  memset(r, 0, sizeof *r);
  r->cl = cl;
  uint32_t pid, tid;
  mproc__self_ids(&pid, &tid);
  mproc__mgr_head_t h = {0, op, 0, id, tid};
  int rc;
  if (op != MPROC__OP_DECREF && mproc__mgr_recording(cl)) {
    r->recording = true;
    r->body = &this_batch->buf;
    if ((rc = mproc__mgr_begin_blob(r->body, &r->start)))
      return rc;
  } else {
    if ((rc = op == MPROC__OP_DECREF ? take_idle(cl, &r->conn) : take_conn(cl, &r->conn)))
      return rc;
    r->body = &r->conn->buf;
    r->body->len = 0;
    r->start = 0;
    h.seq = ++r->conn->seq;
  }
  if ((rc = mproc__buf_reserve(r->body, MPROC__MGR_REQ_HEAD + 64))) {
    mproc__mgr_abandon(r);
    return rc;
  }
  size_t at = r->body->len;
  mproc__mgr_put_head(r->body->data + at, &h);
  r->body->len += MPROC__MGR_REQ_HEAD;
  return 0;
}

void mproc__mgr_abandon(mproc__mgr_req_t *r) {
  if (r->recording)
    r->body->len = r->start;
  else if (r->conn)
    give_conn(r->cl, r->conn);
  r->conn = NULL;
}

/* The head of the request in r, with its flags patched in. */
static unsigned char *patch_flags(mproc__mgr_req_t *r, size_t head_at) {
  unsigned char *h = r->body->data + head_at;
  h[6] = (unsigned char)r->flags;
  h[7] = (unsigned char)(r->flags >> 8);
  return h;
}

static int record(mproc__mgr_req_t *r, mproc__mgr_result_fn fn, void *out) {
  batch_t *b = this_batch;
  patch_flags(r, r->start + 4);
  if (b->n == b->cap) {
    size_t cap = b->cap ? 2 * b->cap : 16;
    recorded_t *ops = realloc(b->ops, cap * sizeof *ops);
    if (!ops) {
      mproc__mgr_abandon(r);
      return mproc__fail(MPROC_ENOMEM, "manager: out of memory recording a batch");
    }
    b->ops = ops;
    b->cap = cap;
  }
  mproc__mgr_end_blob(r->body, r->start);
  b->ops[b->n++] = (recorded_t){fn, out};
  return 0;
}

/* Sends the request in c->buf: through the lane when c has one (the one
 * place that chooses), else on the connection. */
static int send_request(mproc__mgr_conn_t *c, int64_t deadline) {
  return c->lane ? mproc__mgr_lane_send(c->lane, c->c, c->buf.data, c->buf.len, deadline)
                 : mproc_conn_send_bytes(c->c, c->buf.data, c->buf.len);
}

/* Sends the request in c->buf and receives its reply into c->in, the way
 * it went, within timeout ms. */
static int transfer(mproc__mgr_client_t *cl, mproc__mgr_conn_t *c, int timeout, size_t *len) {
  int64_t deadline = mproc__deadline(timeout);
  int rc = send_request(c, deadline);
  if (rc)
    return rc;
  if (c->lane)
    return mproc__mgr_lane_recv(c->lane, c->c, &c->in, &c->in_cap, len,
                                atomic_load(&cl->max_message), deadline);
  /* Once the answer has begun to arrive, read it without polling again. */
  if (mproc__mgr_spin_readable(c->c, MPROC__MGR_SPIN_US))
    timeout = MPROC_INFINITE;
  return mproc__mgr_recv(c->c, &c->in, &c->in_cap, len, atomic_load(&cl->max_message), timeout);
}

static int exchange(mproc__mgr_client_t *cl, mproc__mgr_conn_t *c, int wait_ms,
                    const unsigned char **body, size_t *n) {
  int timeout = wait_ms == MPROC_INFINITE || cl->timeout_ms == MPROC_INFINITE
                    ? MPROC_INFINITE
                    : (wait_ms > INT32_MAX - cl->timeout_ms ? INT32_MAX : wait_ms + cl->timeout_ms);
  size_t len = 0;
  int rc = transfer(cl, c, timeout, &len);
  if (rc == MPROC_ETIMEDOUT)
    return mproc__fail(MPROC_ETIMEDOUT, "manager at %s did not answer within %d ms", cl->address,
                       timeout);
  if (rc)
    return gone(cl, rc);
  uint32_t seq = mproc__get_u32(c->buf.data);
  if (len < MPROC__MGR_REP_HEAD || mproc__get_u32(c->in) != seq)
    return mproc__fail(MPROC_EPROTO, "manager at %s: a reply out of order", cl->address);
  int status = (int32_t)mproc__get_u32(c->in + 4);
  *body = c->in + MPROC__MGR_REP_HEAD;
  *n = len - MPROC__MGR_REP_HEAD;
  if (status > 0 || status < -1000)
    return mproc__fail(MPROC_EPROTO, "manager at %s: status %d", cl->address, status);
  if (status)
    return mproc__fail(status, "%.*s", (int)(*n > 1000 ? 1000 : *n), (const char *)*body);
  return 0;
}

int mproc__mgr_finish(mproc__mgr_req_t *r, int wait_ms, mproc__mgr_result_fn fn, void *out) {
  if (r->recording)
    return record(r, fn, out);
  mproc__mgr_client_t *cl = r->cl;
  mproc__mgr_conn_t *c = r->conn;
  r->conn = NULL;
  patch_flags(r, 0);
  size_t limit = atomic_load(&cl->max_message);
  if (c->buf.len > limit) { /* the server would hang up on it */
    give_conn(cl, c);
    return mproc__fail(MPROC_ETOOBIG,
                       "manager: a request of %zu bytes is above the manager's limit of %zu "
                       "(max_message); nothing was sent",
                       c->buf.len, limit);
  }
  const unsigned char *body = NULL;
  size_t n = 0;
  int rc = exchange(cl, c, wait_ms, &body, &n);
  bool reply_read = body != NULL; /* else out of step with the server */
  if (rc == 0 && fn)
    rc = fn(cl, body, n, out);
  if (reply_read)
    give_conn(cl, c);
  else
    free_conn(c); /* out of step with the server: a fresh one next time */
  return rc;
}

void mproc__mgr_send_noreply(mproc__mgr_req_t *r) {
  mproc__mgr_conn_t *c = r->conn;
  r->flags |= MPROC__MGR_NOREPLY;
  patch_flags(r, 0);
  r->conn = NULL;
  int rc = send_request(c, mproc__deadline(r->cl->timeout_ms));
  if (rc == 0)
    give_conn(r->cl, c);
  else
    free_conn(c);
}

int mproc__mgr_batch_run(mproc__mgr_client_t *cl, int *status, size_t cap) {
  if (!mproc__mgr_recording(cl))
    return mproc__fail(MPROC_ESTATE, "manager_batch_run: no batch was begun on this thread");
  batch_t *b = this_batch;
  this_batch = NULL; /* the batch's own call is sent, not recorded */
  mproc__put_u32(b->buf.data, (uint32_t)b->n);
  mproc__mgr_req_t r;
  int rc = mproc__mgr_begin(cl, &r, MPROC__OP_BATCH, 0);
  if (!rc && (rc = mproc__buf_append(r.body, b->buf.data, b->buf.len)))
    mproc__mgr_abandon(&r);
  this_batch = b;
  if (rc) {
    batch_free();
    return rc;
  }
  mproc__mgr_conn_t *c = r.conn;
  const unsigned char *body = NULL;
  size_t n = 0;
  int first = 0;
  size_t limit = atomic_load(&cl->max_message);
  bool too_big = c->buf.len > limit; /* the server would hang up on it */
  rc = too_big ? mproc__fail(MPROC_ETOOBIG,
                             "manager: a batch of %zu bytes is above the manager's limit of %zu "
                             "(max_message); nothing was sent",
                             c->buf.len, limit)
               : exchange(cl, c, 0, &body, &n);
  mproc__mgr_reader_t in = {body, n};
  uint32_t count = 0;
  if (!rc && ((rc = mproc__mgr_get_u32(&in, &count)) == 0) && count != b->n)
    rc = mproc__fail(MPROC_EPROTO, "manager: %u answers to a batch of %zu", count, b->n);
  for (size_t i = 0; !rc && i < b->n; i++) {
    const unsigned char *rep;
    size_t len;
    if ((rc = mproc__mgr_get_blob(&in, &rep, &len)) != 0)
      break;
    if (len < MPROC__MGR_REP_HEAD) {
      rc = mproc__fail(MPROC_EPROTO, "manager: a batch answer is cut short");
      break;
    }
    int st = (int32_t)mproc__get_u32(rep + 4);
    if (st)
      mproc__fail(st, "%.*s", (int)(len - 8 > 1000 ? 1000 : len - 8), (const char *)rep + 8);
    else if (b->ops[i].fn)
      st = b->ops[i].fn(cl, rep + 8, len - 8, b->ops[i].out);
    if (i < cap && status)
      status[i] = st;
    if (st < 0 && !first)
      first = st;
  }
  if (body || too_big)
    give_conn(cl, c);
  else
    free_conn(c); /* out of step with the server: a fresh one next time */
  batch_free();
  return rc ? rc : first;
}

/* ---- results ------------------------------------------------------------- */

int mproc__mgr_res_tuple(mproc__mgr_client_t *cl, const unsigned char *b, size_t n, void *out) {
  if (!out)
    return 0;
  mproc__mgr_client_t *outer = decoding_via; /* a decode inside a decode: none today */
  decoding_via = cl;
  int rc = mproc_args_decode(out, b, n);
  decoding_via = outer;
  return rc;
}

static int number(const unsigned char *b, size_t n, uint64_t *v) {
  if (n != 8)
    return mproc__fail(MPROC_EPROTO, "manager: a number of %zu bytes", n);
  *v = mproc__get_u64(b);
  return 0;
}

int mproc__mgr_res_size(mproc__mgr_client_t *cl, const unsigned char *b, size_t n, void *out) {
  (void)cl;
  uint64_t v = 0;
  int rc = number(b, n, &v);
  if (!rc && v > SIZE_MAX)
    rc = mproc__fail(MPROC_ERANGE, "manager: %llu does not fit a size_t", (unsigned long long)v);
  if (!rc && out)
    *(size_t *)out = (size_t)v;
  return rc;
}

int mproc__mgr_res_i64(mproc__mgr_client_t *cl, const unsigned char *b, size_t n, void *out) {
  (void)cl;
  uint64_t v = 0;
  int rc = number(b, n, &v);
  if (!rc && out)
    *(int64_t *)out = (int64_t)v;
  return rc;
}

int mproc__mgr_res_flag(mproc__mgr_client_t *cl, const unsigned char *b, size_t n, void *out) {
  (void)cl;
  (void)out;
  if (n != 1 || b[0] > 1)
    return mproc__fail(MPROC_EPROTO, "manager: a flag of %zu bytes", n);
  return b[0];
}
