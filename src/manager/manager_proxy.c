/* Proxies: this process's handles on a manager's objects, and how they
 * cross to other processes inside argument tuples.
 *
 * A proxy is portable: it names its object by the manager's address, the
 * server's nonce and the object's id, with no OS handle, so it crosses
 * connections and queues as well as process arguments. Toward the
 * encoder's own children (and pool workers) it carries the key too, as
 * Python passes the process's authkey to the children it starts. One
 * proxy per object per process: decoding the same object again returns
 * another reference to it, so the manager's per-process bookkeeping holds
 * and the last free tells the manager once. */
#include <stdlib.h>
#include <string.h>

#include "args/args_objects.h"
#include "manager/manager_client.h"

int mproc__mgr_proxy_get(mproc__mgr_client_t *cl, uint64_t id, uint8_t kind, mproc_proxy_t **out) {
  mproc__mgr_client_lock(cl);
  mproc_proxy_t *p = mproc__u64map_get(mproc__mgr_client_proxies(cl), id);
  if (p && atomic_fetch_add(&p->refs, 1) > 0) {
    mproc__mgr_client_unlock(cl);
    *out = p;
    return 0;
  }
  if (p) /* on its way out: let it go, make another */
    atomic_fetch_sub(&p->refs, 1);
  mproc__mgr_client_unlock(cl);
  if (!(p = calloc(1, sizeof *p)))
    return mproc__fail(MPROC_ENOMEM, "manager: out of memory");
  atomic_init(&p->refs, 1);
  p->id = id;
  p->kind = kind;
  p->cl = cl;
  mproc__mgr_client_ref(cl);
  mproc__mgr_client_lock(cl);
  int rc = mproc__u64map_put(mproc__mgr_client_proxies(cl), id, p);
  mproc__mgr_client_unlock(cl);
  (void)rc; /* without the map entry the proxy still works; it is just not shared */
  *out = p;
  return 0;
}

mproc_proxy_t *mproc_proxy_ref(mproc_proxy_t *p) {
  if (p)
    atomic_fetch_add(&p->refs, 1);
  return p;
}

void mproc_proxy_free(mproc_proxy_t *p) {
  if (!p || atomic_fetch_sub(&p->refs, 1) != 1)
    return;
  mproc__mgr_client_t *cl = p->cl;
  mproc__mgr_client_lock(cl);
  mproc__u64map_t *map = mproc__mgr_client_proxies(cl);
  if (mproc__u64map_get(map, p->id) == p)
    mproc__u64map_remove(map, p->id);
  mproc__mgr_client_unlock(cl);
  /* Tell the manager this process is done with the object, if that costs
   * no new connection (when the process ends, its session ends anyway). */
  mproc__mgr_req_t r;
  if (mproc__mgr_begin(cl, &r, MPROC__OP_DECREF, p->id) == 0)
    mproc__mgr_send_noreply(&r);
  mproc__mgr_client_release(cl);
  free(p);
}

mproc_proxy_kind_t mproc_proxy_kind(const mproc_proxy_t *p) {
  return p ? (mproc_proxy_kind_t)p->kind : (mproc_proxy_kind_t)0;
}

static const char *kind_name(int kind) {
  static const char *names[] = {
      "?",         "dict",    "list",      "Namespace",        "Value",
      "Lock",      "RLock",   "Semaphore", "BoundedSemaphore", "Event",
      "Condition", "Barrier", "Queue",     "JoinableQueue",    "registered type"};
  return kind >= 0 && kind <= MPROC_PROXY_CUSTOM ? names[kind] : "?";
}

int mproc__mgr_proxy_check(const mproc_proxy_t *p, int lo, int hi, const char *op) {
  if (!p)
    return mproc__fail(MPROC_EINVAL, "%s: proxy is NULL", op);
  if (p->kind < lo || p->kind > hi)
    return mproc__fail(MPROC_ETYPE, "%s: the proxy is a %s", op, kind_name(p->kind));
  return 0;
}

/* ---- crossing to other processes ----------------------------------------- */

static int put_bytes(mproc__object_info_t *info, const void *p, size_t n) {
  int rc = mproc__info_put(info, n, 2);
  if (rc || info->len + n > MPROC__OBJECT_INFO_MAX)
    return mproc__fail(MPROC_ERANGE, "args: a proxy's address and key are too long");
  memcpy(info->bytes + info->len, p, n);
  info->len = (uint16_t)(info->len + n);
  return 0;
}

static int get_bytes(mproc__info_reader_t *r, const unsigned char **p, size_t *n) {
  uint64_t len;
  int rc = mproc__info_get(r, 2, &len);
  if (!rc && len > r->left)
    rc = mproc__fail(MPROC_EPROTO, "args_decode: a proxy's description is cut short");
  if (!rc) {
    *p = r->p;
    *n = (size_t)len;
    r->p += len;
    r->left -= len;
  }
  return rc;
}

static int proxy_export(const void *obj, intptr_t *h, size_t cap, size_t *n,
                        mproc__object_info_t *info) {
  (void)h;
  (void)cap;
  const mproc_proxy_t *p = obj;
  const char *address = mproc__mgr_client_address(p->cl);
  size_t keylen;
  const unsigned char *key = mproc__mgr_client_key(p->cl, &keylen);
  *n = 0;
  info->flags = 0;
  int rc = mproc__info_put(info, mproc__mgr_client_nonce(p->cl), 8);
  if (!rc)
    rc = mproc__info_put(info, p->id, 8);
  if (!rc)
    rc = mproc__info_put(info, p->kind, 1);
  if (!rc)
    rc = put_bytes(info, address, strlen(address));
  if (!rc && key && info->to_own_child) {
    info->flags = 1; /* a key follows */
    rc = put_bytes(info, key, keylen);
  }
  return rc;
}

static int proxy_import(void **out, const intptr_t *h, size_t n, uint8_t flags,
                        mproc__info_reader_t *info) {
  (void)h;
  (void)n;
  uint64_t nonce, id, kind;
  const unsigned char *address, *key = NULL;
  size_t alen, keylen = 0;
  int rc = mproc__info_get(info, 8, &nonce);
  if (!rc)
    rc = mproc__info_get(info, 8, &id);
  if (!rc)
    rc = mproc__info_get(info, 1, &kind);
  if (!rc)
    rc = get_bytes(info, &address, &alen);
  if (!rc && (flags & 1))
    rc = get_bytes(info, &key, &keylen);
  if (rc)
    return rc;
  char where[320];
  if (!id || kind < MPROC_PROXY_DICT || kind > MPROC_PROXY_CUSTOM || alen == 0 ||
      alen >= sizeof where || memchr(address, 0, alen) || !mproc__utf8_valid(address, alen))
    return mproc__fail(MPROC_EPROTO, "args_decode: a bad proxy");
  memcpy(where, address, alen);
  where[alen] = '\0';
  mproc__mgr_client_t *cl;
  if ((rc = mproc__mgr_client_get(where, nonce, key, keylen, &cl)))
    return rc;
  rc = mproc__mgr_proxy_get(cl, id, (uint8_t)kind, (mproc_proxy_t **)out);
  mproc__mgr_client_release(cl);
  return rc;
}

static int proxy_hold(void *obj, void **held) {
  *held = mproc_proxy_ref(obj);
  return 0;
}

static void proxy_release(void *obj) { mproc_proxy_free(obj); }

const mproc__object_class_t mproc__proxy_class = {
    MPROC_T_PROXY, "proxy", proxy_export, proxy_import, proxy_hold, proxy_release, true};

MPROC__ARGS_ACCESSORS(proxy, mproc_proxy_t, mproc__proxy_class)
