/* Managers: starting a server process, connecting to one, serving one in
 * this process, and making shared objects (Python's SyncManager). */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args/args_objects.h"
#include "args/fnref.h"
#include "manager/manager_client.h"
#include "manager/manager_server.h"

#define ADDRESS_MAX 320
enum { KEY_MAX = 512, DEFAULT_KEY = 32, STOP_GRACE_MS = 5000 };

struct mproc_manager {
  mproc__mgr_client_t *cl;
  mproc_process_t *proc; /* the server, when this process started it */
  char tcp[ADDRESS_MAX];
  bool shut;
};

/* Set by mproc_manager_stop_serving, maybe in a signal handler: an
 * atomic_bool is lock-free wherever mproc builds, so setting it is
 * async-signal-safe. Taken (cleared) by the serving it stops - a server
 * process's (a registered method may stop its manager) or serve_forever's. */
static atomic_bool stop_asked;

void mproc_manager_stop_serving(void) { atomic_store(&stop_asked, true); }

static int check_key(const mproc_manager_opts_t *o, const char *op) {
  if (MPROC__CHECK_RESERVED(op, o))
    return MPROC_EINVAL;
  if (o->authkey_len && !o->authkey)
    return mproc__fail(MPROC_EINVAL, "%s: authkey is NULL with a length", op);
  if (o->authkey_len > KEY_MAX)
    return mproc__fail(MPROC_EINVAL, "%s: a key of %zu bytes (at most %d)", op, o->authkey_len,
                       KEY_MAX);
  if (o->timeout_ms < MPROC_INFINITE)
    return mproc__fail(MPROC_EINVAL, "%s: timeout %d ms is negative", op, o->timeout_ms);
  return 0;
}

static int new_manager(mproc_manager_t **out) {
  if (!(*out = calloc(1, sizeof **out)))
    return mproc__fail(MPROC_ENOMEM, "manager: out of memory");
  return 0;
}

/* ---- the server process -------------------------------------------------- */

/* Types registered through a function packed as a reference (NULL: none). */
static int resolve_types(const mproc_args_t *args, size_t i, const mproc_manager_type_t **types,
                         size_t *n) {
  *types = NULL;
  *n = 0;
  if (mproc_args_type(args, i) == MPROC_T_NIL)
    return 0;
  const void *ref;
  size_t len;
  mproc__fn_t fn;
  int rc = mproc_args_get_bytes(args, i, &ref, &len);
  if (!rc)
    rc = mproc__fnref_unpack_resolve(ref, len, &fn);
  if (!rc && !(*types = ((mproc_manager_types_fn)fn)(n)) && *n)
    rc = mproc__fail(MPROC_EINVAL, "manager: the types function gave NULL and a count");
  return rc;
}

static int send_ready(mproc_conn_t *c, int status, const char *a, const char *b) {
  mproc_args_t *t;
  int rc = mproc_args_new(&t);
  if (rc)
    return rc;
  if (!(rc = mproc_args_add_int(t, status)) && !(rc = mproc_args_add_str(t, a)))
    rc = mproc_args_add_str(t, b);
  if (!rc)
    rc = mproc_conn_send(c, t);
  mproc_args_free(t);
  return rc;
}

int mproc__mgr_server_main(const mproc_args_t *args) {
  mproc__os_ignore_interrupts(); /* Ctrl-C is for the program, not its manager */
  mproc_conn_t *ready;
  const void *key;
  const char *local, *tcp = NULL;
  int64_t max_message;
  size_t keylen;
  mproc__mgr_serve_opts_t o = {0};
  int rc = mproc_args_get_conn(args, 0, &ready);
  if (rc)
    return 2;
  if (!(rc = mproc_args_get_bytes(args, 1, &key, &keylen)) &&
      !(rc = mproc_args_get_str(args, 2, &local)) &&
      (mproc_args_type(args, 3) == MPROC_T_NIL || !(rc = mproc_args_get_str(args, 3, &tcp))) &&
      !(rc = mproc_args_get_int(args, 5, &max_message)))
    rc = resolve_types(args, 4, &o.types, &o.ntypes);
  char bound_local[ADDRESS_MAX], bound_tcp[ADDRESS_MAX];
  mproc__mgr_server_t *s = NULL;
  if (!rc) {
    o.address = local;
    o.tcp_address = tcp;
    o.authkey = key;
    o.authkey_len = keylen;
    o.max_message = (size_t)max_message;
    rc = mproc__mgr_server_new(&s, &o, bound_local, bound_tcp);
  }
  if (rc) {
    send_ready(ready, rc, mproc_last_error_detail(), "");
    return 1;
  }
  if (send_ready(ready, 0, bound_local, bound_tcp) == 0)
    mproc__mgr_server_run(s, &stop_asked);
  mproc__mgr_server_free(s);
  atomic_store(&stop_asked, false);
  return 0;
}

/* Reads the server's first word: where it listens, or why it could not. */
static int await_server(mproc_manager_t *m, mproc_conn_t *ready, int timeout_ms, char *local) {
  mproc_args_t *t = NULL;
  int64_t status = 0;
  const char *a = "", *b = "";
  int rc = mproc_conn_recv(ready, &t, timeout_ms);
  if (!rc && (mproc_args_get_int(t, 0, &status) || mproc_args_get_str(t, 1, &a) ||
              mproc_args_get_str(t, 2, &b)))
    rc = mproc__fail(MPROC_EPROTO, "manager: the server's first word is garbled");
  if (!rc && status)
    rc = mproc__fail(status < 0 && status > -1000 ? (int)status : MPROC_ECHILD,
                     "manager server: %s", a);
  if (!rc) {
    snprintf(local, ADDRESS_MAX, "%s", a);
    snprintf(m->tcp, sizeof m->tcp, "%s", b);
  } else if (rc == MPROC_EEOF || rc == MPROC_ETIMEDOUT) {
    int code = -1;
    mproc_process_kill(m->proc);
    mproc_process_join(m->proc, STOP_GRACE_MS);
    mproc_process_exitcode(m->proc, &code);
    rc =
        rc == MPROC_ETIMEDOUT
            ? mproc__fail(MPROC_ETIMEDOUT, "manager server did not listen within %d ms", timeout_ms)
            : mproc__fail(MPROC_ECHILD, "manager server ended before it listened (exit code %d)",
                          code);
  }
  mproc_args_free(t);
  return rc;
}

static int server_args(const mproc_manager_opts_t *o, mproc_conn_t *ready, const void *key,
                       size_t keylen, const char *local, mproc_args_t **out) {
  mproc_args_t *a;
  unsigned char ref[MPROC__FNREF_PACKED_MAX];
  size_t reflen = 0;
  int rc = o->types ? mproc__fnref_pack_fn((mproc__fn_t)o->types, ref, sizeof ref, &reflen) : 0;
  if (rc || (rc = mproc_args_new(&a)))
    return rc;
  if (!(rc = mproc_args_add_conn(a, ready)) && !(rc = mproc_args_add_bytes(a, key, keylen)) &&
      !(rc = mproc_args_add_str(a, local)) &&
      !(rc = o->tcp_address ? mproc_args_add_str(a, o->tcp_address) : mproc_args_add_nil(a)) &&
      !(rc = o->types ? mproc_args_add_bytes(a, ref, reflen) : mproc_args_add_nil(a)))
    rc = mproc_args_add_int(a, (int64_t)o->max_message);
  if (rc) {
    mproc_args_free(a);
    return rc;
  }
  *out = a;
  return 0;
}

static int launch(mproc_manager_t *m, const mproc_manager_opts_t *o) {
  unsigned char random_key[DEFAULT_KEY];
  const void *key = o->authkey;
  size_t keylen = o->authkey_len;
  char local[ADDRESS_MAX];
  int rc = 0;
  if (!key) {
    rc = mproc__os_random(random_key, sizeof random_key);
    key = random_key;
    keylen = sizeof random_key;
  }
  mproc_conn_t *rd = NULL, *wr = NULL;
  mproc_args_t *args = NULL;
  if (rc || (rc = mproc__os_private_address(local, sizeof local)) ||
      (rc = mproc_pipe(&rd, &wr, false)) || (rc = server_args(o, wr, key, keylen, local, &args)))
    goto out;
  mproc_process_opts_t po = {
      .name = "SyncManager", .daemon = true, .start_method = o->start_method};
  if ((rc = mproc_process_new(&m->proc, mproc__mgr_server_main, args, &po)) ||
      (rc = mproc_process_start(m->proc)))
    goto out;
  mproc_conn_free(wr);
  wr = NULL;
  int timeout = o->timeout_ms ? o->timeout_ms : MPROC__MGR_DEFAULT_TIMEOUT_MS;
  if ((rc = await_server(m, rd, timeout, local)))
    goto out;
  if ((rc = mproc__mgr_client_new(local, key, keylen, o->timeout_ms, &m->cl)))
    goto out;
  rc = mproc__mgr_client_connect(m->cl);
out:
  mproc_args_free(args);
  mproc_conn_free(rd);
  mproc_conn_free(wr);
  return rc;
}

int mproc_manager_start(mproc_manager_t **out, const mproc_manager_opts_t *opts) {
  mproc_manager_opts_t defaults = {0};
  const mproc_manager_opts_t *o = opts ? opts : &defaults;
  if (!out)
    return mproc__fail(MPROC_EINVAL, "manager_start: out is NULL");
  mproc_manager_t *m;
  int rc = check_key(o, "manager_start");
  if (rc || (rc = new_manager(&m)))
    return rc;
  if ((rc = launch(m, o))) {
    char detail[1024];
    snprintf(detail, sizeof detail, "%s", mproc_last_error_detail());
    mproc_manager_free(m);
    return mproc__fail(rc, "manager_start: %s", detail);
  }
  *out = m;
  return 0;
}

int mproc_manager_connect(mproc_manager_t **out, const char *address,
                          const mproc_manager_opts_t *opts) {
  mproc_manager_opts_t defaults = {0};
  const mproc_manager_opts_t *o = opts ? opts : &defaults;
  if (!out || !address || !*address)
    return mproc__fail(MPROC_EINVAL, "manager_connect: %s is NULL or empty",
                       out ? "address" : "out");
  mproc_manager_t *m;
  int rc = check_key(o, "manager_connect");
  if (rc || (rc = new_manager(&m)))
    return rc;
  if (strncmp(address, "tcp:", 4) == 0)
    snprintf(m->tcp, sizeof m->tcp, "%s", address);
  if (!(rc = mproc__mgr_client_new(address, o->authkey, o->authkey_len, o->timeout_ms, &m->cl)))
    rc = mproc__mgr_client_connect(m->cl);
  if (rc) {
    mproc_manager_free(m);
    return rc;
  }
  *out = m;
  return 0;
}

int mproc_manager_serve_forever(const char *address, const mproc_manager_opts_t *opts) {
  mproc_manager_opts_t defaults = {0};
  const mproc_manager_opts_t *o = opts ? opts : &defaults;
  if (!address)
    return mproc__fail(MPROC_EINVAL, "manager_serve_forever: address is NULL");
  int rc = check_key(o, "manager_serve_forever");
  if (rc)
    return rc;
  if (strncmp(address, "tcp:", 4) == 0 && !o->authkey_len)
    return mproc__fail(MPROC_EINVAL, "manager_serve_forever: a tcp: address needs an authkey");
  mproc__mgr_serve_opts_t so = {address, NULL, o->authkey, o->authkey_len, NULL, 0, o->max_message};
  if (o->types && !(so.types = o->types(&so.ntypes)))
    so.ntypes = 0;
  char local[ADDRESS_MAX], tcp[ADDRESS_MAX];
  mproc__mgr_server_t *s;
  if ((rc = mproc__mgr_server_new(&s, &so, local, tcp)))
    return rc;
  mproc__mgr_server_run(s, &stop_asked);
  mproc__mgr_server_free(s);
  atomic_store(&stop_asked, false);
  return 0;
}

int mproc_manager_shutdown(mproc_manager_t *m) {
  if (!m)
    return mproc__fail(MPROC_EINVAL, "manager_shutdown: manager is NULL");
  if (m->shut || !m->cl)
    return 0;
  m->shut = true;
  mproc__mgr_batch_cancel(m->cl);
  mproc__mgr_req_t r;
  if (mproc__mgr_begin(m->cl, &r, MPROC__OP_SHUTDOWN, 0) == 0)
    mproc__mgr_finish(&r, 0, NULL, NULL); /* a server already gone is fine */
  mproc__mgr_client_close(m->cl);
  if (m->proc && mproc_process_join(m->proc, STOP_GRACE_MS) == MPROC_ETIMEDOUT) {
    mproc_process_kill(m->proc);
    mproc_process_join(m->proc, STOP_GRACE_MS);
  }
  return 0;
}

void mproc_manager_free(mproc_manager_t *m) {
  if (!m)
    return;
  if (m->proc) {
    mproc_manager_shutdown(m);
    mproc_process_free(m->proc);
  }
  mproc__mgr_client_release(m->cl);
  free(m);
}

int mproc_proxy_manager(mproc_proxy_t *p, mproc_manager_t **out) {
  if (!p || !out)
    return mproc__fail(MPROC_EINVAL, "proxy_manager: %s is NULL", p ? "out" : "proxy");
  mproc_manager_t *m;
  int rc = new_manager(&m);
  if (rc)
    return rc;
  mproc__mgr_client_ref(p->cl);
  m->cl = p->cl; /* no proc: freeing m leaves the server running */
  const char *address = mproc__mgr_client_address(p->cl);
  if (strncmp(address, "tcp:", 4) == 0)
    snprintf(m->tcp, sizeof m->tcp, "%s", address);
  *out = m;
  return 0;
}

const char *mproc_manager_address(const mproc_manager_t *m) {
  return m && m->cl ? mproc__mgr_client_address(m->cl) : "";
}

const char *mproc_manager_tcp_address(const mproc_manager_t *m) { return m ? m->tcp : ""; }

mproc_process_t *mproc_manager_process(const mproc_manager_t *m) { return m ? m->proc : NULL; }

/* ---- making objects ------------------------------------------------------ */

typedef struct {
  uint8_t kind;
  mproc_proxy_t **out;
} made_t;

static int res_created(mproc__mgr_client_t *cl, const unsigned char *b, size_t n, void *out) {
  made_t *made = out;
  if (n != 8 && n != 9)
    return mproc__fail(MPROC_EPROTO, "manager: an object id of %zu bytes", n);
  uint8_t kind = n == 9 ? b[8] : made->kind;
  if (kind < MPROC_PROXY_DICT || kind > MPROC_PROXY_CUSTOM)
    return mproc__fail(MPROC_EPROTO, "manager: an object of kind %u", kind);
  return mproc__mgr_proxy_get(cl, mproc__get_u64(b), kind, made->out);
}

static int begin_manager_call(mproc_manager_t *m, void *out, const char *op, uint16_t code,
                              uint64_t id, mproc__mgr_req_t *r) {
  if (!m || !out)
    return mproc__fail(MPROC_EINVAL, "%s: %s is NULL", op, m ? "out" : "manager");
  if (mproc__mgr_recording(m->cl))
    return mproc__fail(MPROC_EINVAL, "%s: not inside a batch", op);
  return mproc__mgr_begin(m->cl, r, code, id);
}

/* CREATE of kind, with parameters already in params (NULL: none). */
static int create(mproc_manager_t *m, uint8_t kind, const mproc__buf_t *params, const char *op,
                  mproc_proxy_t **out) {
  mproc__mgr_req_t r;
  int rc = begin_manager_call(m, out, op, MPROC__OP_CREATE, 0, &r);
  if (rc)
    return rc;
  if ((rc = mproc__mgr_put_u8(r.body, kind)) ||
      (params && (rc = mproc__buf_append(r.body, params->data, params->len)))) {
    mproc__mgr_abandon(&r);
    return rc;
  }
  made_t made = {kind, out};
  return mproc__mgr_finish(&r, 0, res_created, &made);
}

int mproc_manager_dict(mproc_manager_t *m, mproc_proxy_t **out) {
  return create(m, MPROC_PROXY_DICT, NULL, "manager_dict", out);
}

int mproc_manager_list(mproc_manager_t *m, mproc_proxy_t **out) {
  return create(m, MPROC_PROXY_LIST, NULL, "manager_list", out);
}

int mproc_manager_namespace(mproc_manager_t *m, mproc_proxy_t **out) {
  return create(m, MPROC_PROXY_NAMESPACE, NULL, "manager_namespace", out);
}

int mproc_manager_lock(mproc_manager_t *m, mproc_proxy_t **out) {
  return create(m, MPROC_PROXY_LOCK, NULL, "manager_lock", out);
}

int mproc_manager_rlock(mproc_manager_t *m, mproc_proxy_t **out) {
  return create(m, MPROC_PROXY_RLOCK, NULL, "manager_rlock", out);
}

int mproc_manager_event(mproc_manager_t *m, mproc_proxy_t **out) {
  return create(m, MPROC_PROXY_EVENT, NULL, "manager_event", out);
}

int mproc_manager_condition(mproc_manager_t *m, mproc_proxy_t **out) {
  return create(m, MPROC_PROXY_CONDITION, NULL, "manager_condition", out);
}

/* A create whose parameters are the bytes b (freed here). */
static int create_with(mproc_manager_t *m, uint8_t kind, mproc__buf_t *b, int rc, const char *op,
                       mproc_proxy_t **out) {
  if (!rc)
    rc = create(m, kind, b, op, out);
  else
    mproc__error_prefix(op);
  mproc__buf_free(b);
  return rc;
}

int mproc_manager_value(mproc_manager_t *m, mproc_item_t initial, mproc_proxy_t **out) {
  mproc__buf_t b = {0};
  bool has_proxy = false;
  int rc = mproc__mgr_put_item(&b, &initial, &has_proxy);
  if (!rc && has_proxy)
    rc = mproc__fail(MPROC_EINVAL, "a Value cannot hold a proxy (use a dict or list)");
  return create_with(m, MPROC_PROXY_VALUE, &b, rc, "manager_value", out);
}

/* A create whose one parameter is a count of at least 0 (a semaphore's
 * value, a queue's maxsize). */
static int counted(mproc_manager_t *m, uint8_t kind, int64_t count, const char *what,
                   const char *op, mproc_proxy_t **out) {
  if (count < 0)
    return mproc__fail(MPROC_EINVAL, "%s: %s %lld is negative", op, what, (long long)count);
  mproc__buf_t b = {0};
  return create_with(m, kind, &b, mproc__mgr_put_u64(&b, (uint64_t)count), op, out);
}

int mproc_manager_semaphore(mproc_manager_t *m, int64_t value, mproc_proxy_t **out) {
  return counted(m, MPROC_PROXY_SEMAPHORE, value, "value", "manager_semaphore", out);
}

int mproc_manager_bounded_semaphore(mproc_manager_t *m, int64_t value, mproc_proxy_t **out) {
  return counted(m, MPROC_PROXY_BOUNDED_SEMAPHORE, value, "value", "manager_bounded_semaphore",
                 out);
}

int mproc_manager_barrier(mproc_manager_t *m, int64_t parties, int timeout_ms,
                          mproc_proxy_t **out) {
  if (parties < 1 || timeout_ms < MPROC_INFINITE)
    return mproc__fail(MPROC_EINVAL, "manager_barrier: %lld parties, timeout %d ms",
                       (long long)parties, timeout_ms);
  mproc__buf_t b = {0};
  int rc = mproc__mgr_put_u64(&b, (uint64_t)parties);
  if (!rc)
    rc = mproc__mgr_put_u32(&b, (uint32_t)timeout_ms);
  return create_with(m, MPROC_PROXY_BARRIER, &b, rc, "manager_barrier", out);
}

int mproc_manager_queue(mproc_manager_t *m, int64_t maxsize, mproc_proxy_t **out) {
  return counted(m, MPROC_PROXY_QUEUE, maxsize, "maxsize", "manager_queue", out);
}

int mproc_manager_joinable_queue(mproc_manager_t *m, int64_t maxsize, mproc_proxy_t **out) {
  return counted(m, MPROC_PROXY_JOINABLE_QUEUE, maxsize, "maxsize", "manager_joinable_queue", out);
}

int mproc_manager_create(mproc_manager_t *m, const char *typeid, const mproc_args_t *args,
                         mproc_proxy_t **out) {
  if (!typeid || !*typeid)
    return mproc__fail(MPROC_EINVAL, "manager_create: typeid is %s", typeid ? "empty" : "NULL");
  mproc__buf_t b = {0};
  size_t at;
  static const unsigned char empty = 0x90;
  int rc = mproc__mgr_put_blob(&b, typeid, strlen(typeid));
  if (!rc && !(rc = mproc__mgr_begin_blob(&b, &at))) {
    rc = args ? mproc__args_encode_into(args, &b, NULL) : mproc__buf_append(&b, &empty, 1);
    if (!rc)
      mproc__mgr_end_blob(&b, at);
  }
  return create_with(m, MPROC_PROXY_CUSTOM, &b, rc, "manager_create", out);
}

/* ---- names --------------------------------------------------------------- */

static int check_name(const char *name, const char *op) {
  size_t n = name ? strlen(name) : 0;
  if (!n || n > 255 || !mproc__utf8_valid((const unsigned char *)name, n))
    return mproc__fail(MPROC_EINVAL, "%s: a name must be 1 to 255 bytes of UTF-8", op);
  return 0;
}

int mproc_manager_publish(mproc_manager_t *m, const char *name, mproc_proxy_t *obj) {
  mproc__mgr_req_t r;
  int rc = check_name(name, "manager_publish");
  if (!rc && (!m || !obj))
    rc = mproc__fail(MPROC_EINVAL, "manager_publish: %s is NULL", m ? "obj" : "manager");
  if (!rc && mproc__mgr_client_nonce(obj->cl) != mproc__mgr_client_nonce(m->cl))
    rc = mproc__fail(MPROC_EINVAL, "manager_publish: the proxy is another manager's");
  if (rc || (rc = begin_manager_call(m, obj, "manager_publish", MPROC__OP_PUBLISH, obj->id, &r)))
    return rc;
  if ((rc = mproc__mgr_put_blob(r.body, name, strlen(name)))) {
    mproc__mgr_abandon(&r);
    return rc;
  }
  return mproc__mgr_finish(&r, 0, NULL, NULL);
}

int mproc_manager_lookup(mproc_manager_t *m, const char *name, mproc_proxy_t **out) {
  mproc__mgr_req_t r;
  int rc = check_name(name, "manager_lookup");
  if (rc || (rc = begin_manager_call(m, out, "manager_lookup", MPROC__OP_LOOKUP, 0, &r)))
    return rc;
  if ((rc = mproc__mgr_put_blob(r.body, name, strlen(name)))) {
    mproc__mgr_abandon(&r);
    return rc;
  }
  made_t made = {0, out};
  return mproc__mgr_finish(&r, 0, res_created, &made);
}

/* ---- batches ------------------------------------------------------------- */

int mproc_manager_batch_begin(mproc_manager_t *m) {
  if (!m)
    return mproc__fail(MPROC_EINVAL, "manager_batch_begin: manager is NULL");
  return mproc__mgr_batch_begin(m->cl);
}

int mproc_manager_batch_run(mproc_manager_t *m, int *status, size_t cap) {
  if (!m)
    return mproc__fail(MPROC_EINVAL, "manager_batch_run: manager is NULL");
  return mproc__mgr_batch_run(m->cl, status, cap);
}

void mproc_manager_batch_cancel(mproc_manager_t *m) {
  if (m)
    mproc__mgr_batch_cancel(m->cl);
}
