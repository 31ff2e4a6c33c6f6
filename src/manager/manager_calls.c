/* The calls on proxies: each checks the proxy's kind, writes a request
 * (manager_wire.h) and reads its reply into the caller's out pointer. */
#include <string.h>

#include "args/args_objects.h"
#include "manager/manager_client.h"

enum { ANY_WAIT = 0 };

static int start(mproc_proxy_t *p, int lo, int hi, const char *name, uint16_t op,
                 mproc__mgr_req_t *r) {
  int rc = mproc__mgr_proxy_check(p, lo, hi, name);
  return rc ? rc : mproc__mgr_begin(p->cl, r, op, p->id);
}

/* Appends items to the request; abandons it on failure. */
static int put_items(mproc__mgr_req_t *r, const char *name, size_t n, const mproc_item_t *it) {
  bool has_proxy = false;
  int rc = 0;
  for (size_t i = 0; i < n && rc == 0; i++)
    rc = mproc__mgr_put_item(r->body, &it[i], &has_proxy);
  if (rc) {
    mproc__mgr_abandon(r);
    mproc__error_prefix(name);
    return rc;
  }
  if (has_proxy)
    r->flags |= MPROC__MGR_HAS_PROXY;
  return 0;
}

static int put_fixed(mproc__mgr_req_t *r, uint64_t v, int bytes) {
  int rc = bytes == 1   ? mproc__mgr_put_u8(r->body, (uint8_t)v)
           : bytes == 4 ? mproc__mgr_put_u32(r->body, (uint32_t)v)
                        : mproc__mgr_put_u64(r->body, v);
  if (rc)
    mproc__mgr_abandon(r);
  return rc;
}

static int need(const void *out, const char *name) {
  return out ? 0 : mproc__fail(MPROC_EINVAL, "%s: out is NULL", name);
}

/* A call of items and nothing else, with a reply through fn. */
static int simple(mproc_proxy_t *p, int lo, int hi, const char *name, uint16_t op, size_t n,
                  const mproc_item_t *items, mproc__mgr_result_fn fn, void *out) {
  mproc__mgr_req_t r;
  int rc = start(p, lo, hi, name, op, &r);
  if (!rc)
    rc = put_items(&r, name, n, items);
  return rc ? rc : mproc__mgr_finish(&r, ANY_WAIT, fn, out);
}

#define DICT MPROC_PROXY_DICT, MPROC_PROXY_DICT
#define LIST MPROC_PROXY_LIST, MPROC_PROXY_LIST
#define NS MPROC_PROXY_NAMESPACE, MPROC_PROXY_NAMESPACE
#define TUPLE mproc__mgr_res_tuple

/* ---- dict ---------------------------------------------------------------- */

int mproc_dict_set(mproc_proxy_t *d, mproc_item_t key, mproc_item_t value) {
  mproc_item_t it[2] = {key, value};
  return simple(d, DICT, "dict_set", MPROC__OP_DICT_SET, 2, it, NULL, NULL);
}

/* d[key], its value read by fn into value (a tuple, or a typed value). */
static int dict_read(mproc_proxy_t *d, mproc_item_t key, const char *name, mproc__mgr_result_fn fn,
                     void *value) {
  int rc = need(value, name);
  return rc ? rc : simple(d, DICT, name, MPROC__OP_DICT_GET, 1, &key, fn, value);
}

int mproc_dict_get(mproc_proxy_t *d, mproc_item_t key, mproc_args_t **value) {
  return dict_read(d, key, "dict_get", TUPLE, value);
}

int mproc_dict_get_int(mproc_proxy_t *d, mproc_item_t key, int64_t *value) {
  return dict_read(d, key, "dict_get_int", mproc__mgr_res_int, value);
}

int mproc_dict_get_double(mproc_proxy_t *d, mproc_item_t key, double *value) {
  return dict_read(d, key, "dict_get_double", mproc__mgr_res_double, value);
}

int mproc_dict_get_bool(mproc_proxy_t *d, mproc_item_t key, bool *value) {
  return dict_read(d, key, "dict_get_bool", mproc__mgr_res_bool, value);
}

int mproc_dict_get_str(mproc_proxy_t *d, mproc_item_t key, char **value) {
  return dict_read(d, key, "dict_get_str", mproc__mgr_res_str, value);
}

int mproc_dict_get_default(mproc_proxy_t *d, mproc_item_t key, mproc_item_t dflt,
                           mproc_args_t **value) {
  mproc_item_t it[2] = {key, dflt};
  int rc = need(value, "dict_get_default");
  return rc ? rc
            : simple(d, DICT, "dict_get_default", MPROC__OP_DICT_GET_DEFAULT, 2, it, TUPLE, value);
}

int mproc_dict_del(mproc_proxy_t *d, mproc_item_t key) {
  return simple(d, DICT, "dict_del", MPROC__OP_DICT_DEL, 1, &key, NULL, NULL);
}

int mproc_dict_contains(mproc_proxy_t *d, mproc_item_t key) {
  return simple(d, DICT, "dict_contains", MPROC__OP_DICT_CONTAINS, 1, &key, mproc__mgr_res_flag,
                NULL);
}

int mproc_dict_len(mproc_proxy_t *d, size_t *n) {
  int rc = need(n, "dict_len");
  return rc ? rc : simple(d, DICT, "dict_len", MPROC__OP_DICT_LEN, 0, NULL, mproc__mgr_res_size, n);
}

int mproc_dict_keys(mproc_proxy_t *d, mproc_args_t **keys) {
  int rc = need(keys, "dict_keys");
  return rc ? rc : simple(d, DICT, "dict_keys", MPROC__OP_DICT_KEYS, 0, NULL, TUPLE, keys);
}

int mproc_dict_values(mproc_proxy_t *d, mproc_args_t **values) {
  int rc = need(values, "dict_values");
  return rc ? rc : simple(d, DICT, "dict_values", MPROC__OP_DICT_VALUES, 0, NULL, TUPLE, values);
}

int mproc_dict_items(mproc_proxy_t *d, mproc_args_t **items) {
  int rc = need(items, "dict_items");
  return rc ? rc : simple(d, DICT, "dict_items", MPROC__OP_DICT_ITEMS, 0, NULL, TUPLE, items);
}

int mproc_dict_clear(mproc_proxy_t *d) {
  return simple(d, DICT, "dict_clear", MPROC__OP_DICT_CLEAR, 0, NULL, NULL, NULL);
}

int mproc_dict_popitem(mproc_proxy_t *d, mproc_args_t **pair) {
  return simple(d, DICT, "dict_popitem", MPROC__OP_DICT_POPITEM, 0, NULL, TUPLE, pair);
}

int mproc_dict_update(mproc_proxy_t *d, const mproc_args_t *pairs) {
  if (!pairs)
    return mproc__fail(MPROC_EINVAL, "dict_update: pairs is NULL");
  size_t n = mproc_args_count(pairs);
  for (size_t i = 0; i < n; i++) {
    const mproc_args_t *pair;
    if (mproc_args_get_args(pairs, i, &pair) || mproc_args_count(pair) != 2)
      return mproc__fail(MPROC_ETYPE, "dict_update: item %zu is not a (key, value) tuple", i);
  }
  mproc__mgr_req_t r;
  int rc = start(d, DICT, "dict_update", MPROC__OP_DICT_UPDATE, &r);
  if (!rc)
    rc = put_fixed(&r, n, 4);
  for (size_t i = 0; i < n && rc == 0; i++) {
    const mproc_args_t *pair;
    mproc_item_t kv[2];
    mproc_args_get_args(pairs, i, &pair);
    mproc_args_get_item(pair, 0, &kv[0]);
    mproc_args_get_item(pair, 1, &kv[1]);
    rc = put_items(&r, "dict_update", 2, kv);
  }
  return rc ? rc : mproc__mgr_finish(&r, ANY_WAIT, NULL, NULL);
}

int mproc_dict_pop(mproc_proxy_t *d, mproc_item_t key, mproc_args_t **value) {
  return simple(d, DICT, "dict_pop", MPROC__OP_DICT_POP, 1, &key, TUPLE, value);
}

int mproc_dict_pop_default(mproc_proxy_t *d, mproc_item_t key, mproc_item_t dflt,
                           mproc_args_t **value) {
  mproc_item_t it[2] = {key, dflt};
  return simple(d, DICT, "dict_pop_default", MPROC__OP_DICT_POP_DEFAULT, 2, it, TUPLE, value);
}

int mproc_dict_setdefault(mproc_proxy_t *d, mproc_item_t key, mproc_item_t dflt,
                          mproc_args_t **value) {
  mproc_item_t it[2] = {key, dflt};
  return simple(d, DICT, "dict_setdefault", MPROC__OP_DICT_SETDEFAULT, 2, it, TUPLE, value);
}

int mproc_dict_incr(mproc_proxy_t *d, mproc_item_t key, int64_t delta, int64_t *now) {
  mproc__mgr_req_t r;
  int rc = start(d, DICT, "dict_incr", MPROC__OP_DICT_INCR, &r);
  if (!rc && !(rc = put_items(&r, "dict_incr", 1, &key)))
    rc = put_fixed(&r, (uint64_t)delta, 8);
  return rc ? rc : mproc__mgr_finish(&r, ANY_WAIT, mproc__mgr_res_i64, now);
}

int mproc_dict_cas(mproc_proxy_t *d, mproc_item_t key, mproc_item_t expected,
                   mproc_item_t desired) {
  mproc_item_t it[3] = {key, expected, desired};
  return simple(d, DICT, "dict_cas", MPROC__OP_DICT_CAS, 3, it, mproc__mgr_res_flag, NULL);
}

/* ---- list ---------------------------------------------------------------- */

int mproc_list_append(mproc_proxy_t *l, mproc_item_t value) {
  return simple(l, LIST, "list_append", MPROC__OP_LIST_APPEND, 1, &value, NULL, NULL);
}

int mproc_list_extend(mproc_proxy_t *l, const mproc_args_t *items) {
  if (!items)
    return mproc__fail(MPROC_EINVAL, "list_extend: items is NULL");
  size_t n = mproc_args_count(items);
  mproc__mgr_req_t r;
  int rc = start(l, LIST, "list_extend", MPROC__OP_LIST_EXTEND, &r);
  if (!rc)
    rc = put_fixed(&r, n, 4);
  for (size_t i = 0; i < n && rc == 0; i++) {
    mproc_item_t it;
    mproc_args_get_item(items, i, &it);
    rc = put_items(&r, "list_extend", 1, &it);
  }
  return rc ? rc : mproc__mgr_finish(&r, ANY_WAIT, NULL, NULL);
}

/* A list call of an index, then items. */
static int indexed(mproc_proxy_t *l, const char *name, uint16_t op, int64_t i, size_t n,
                   const mproc_item_t *it, mproc__mgr_result_fn fn, void *out) {
  mproc__mgr_req_t r;
  int rc = start(l, LIST, name, op, &r);
  if (!rc)
    rc = put_fixed(&r, (uint64_t)i, 8);
  if (!rc)
    rc = put_items(&r, name, n, it);
  return rc ? rc : mproc__mgr_finish(&r, ANY_WAIT, fn, out);
}

/* l[i], its value read by fn into value (a tuple, or a typed value). */
static int list_read(mproc_proxy_t *l, int64_t i, const char *name, mproc__mgr_result_fn fn,
                     void *value) {
  int rc = need(value, name);
  return rc ? rc : indexed(l, name, MPROC__OP_LIST_GET, i, 0, NULL, fn, value);
}

int mproc_list_get(mproc_proxy_t *l, int64_t i, mproc_args_t **value) {
  return list_read(l, i, "list_get", TUPLE, value);
}

int mproc_list_get_int(mproc_proxy_t *l, int64_t i, int64_t *value) {
  return list_read(l, i, "list_get_int", mproc__mgr_res_int, value);
}

int mproc_list_get_double(mproc_proxy_t *l, int64_t i, double *value) {
  return list_read(l, i, "list_get_double", mproc__mgr_res_double, value);
}

int mproc_list_get_bool(mproc_proxy_t *l, int64_t i, bool *value) {
  return list_read(l, i, "list_get_bool", mproc__mgr_res_bool, value);
}

int mproc_list_get_str(mproc_proxy_t *l, int64_t i, char **value) {
  return list_read(l, i, "list_get_str", mproc__mgr_res_str, value);
}

int mproc_list_set(mproc_proxy_t *l, int64_t i, mproc_item_t value) {
  return indexed(l, "list_set", MPROC__OP_LIST_SET, i, 1, &value, NULL, NULL);
}

int mproc_list_insert(mproc_proxy_t *l, int64_t i, mproc_item_t value) {
  return indexed(l, "list_insert", MPROC__OP_LIST_INSERT, i, 1, &value, NULL, NULL);
}

int mproc_list_pop(mproc_proxy_t *l, int64_t i, mproc_args_t **value) {
  return indexed(l, "list_pop", MPROC__OP_LIST_POP, i, 0, NULL, TUPLE, value);
}

int mproc_list_remove(mproc_proxy_t *l, mproc_item_t value) {
  return simple(l, LIST, "list_remove", MPROC__OP_LIST_REMOVE, 1, &value, NULL, NULL);
}

int mproc_list_index(mproc_proxy_t *l, mproc_item_t value, size_t *index) {
  int rc = need(index, "list_index");
  return rc ? rc
            : simple(l, LIST, "list_index", MPROC__OP_LIST_INDEX, 1, &value, mproc__mgr_res_size,
                     index);
}

int mproc_list_count(mproc_proxy_t *l, mproc_item_t value, size_t *n) {
  int rc = need(n, "list_count");
  return rc ? rc
            : simple(l, LIST, "list_count", MPROC__OP_LIST_COUNT, 1, &value, mproc__mgr_res_size,
                     n);
}

int mproc_list_len(mproc_proxy_t *l, size_t *n) {
  int rc = need(n, "list_len");
  return rc ? rc : simple(l, LIST, "list_len", MPROC__OP_LIST_LEN, 0, NULL, mproc__mgr_res_size, n);
}

int mproc_list_slice(mproc_proxy_t *l, int64_t start_at, int64_t stop, mproc_args_t **items) {
  mproc__mgr_req_t r;
  int rc = need(items, "list_slice");
  if (!rc)
    rc = start(l, LIST, "list_slice", MPROC__OP_LIST_SLICE, &r);
  if (!rc)
    rc = put_fixed(&r, (uint64_t)start_at, 8);
  if (!rc)
    rc = put_fixed(&r, (uint64_t)stop, 8);
  return rc ? rc : mproc__mgr_finish(&r, ANY_WAIT, TUPLE, items);
}

int mproc_list_sort(mproc_proxy_t *l, bool reverse) {
  mproc__mgr_req_t r;
  int rc = start(l, LIST, "list_sort", MPROC__OP_LIST_SORT, &r);
  if (!rc)
    rc = put_fixed(&r, reverse, 1);
  return rc ? rc : mproc__mgr_finish(&r, ANY_WAIT, NULL, NULL);
}

int mproc_list_clear(mproc_proxy_t *l) {
  return simple(l, LIST, "list_clear", MPROC__OP_LIST_CLEAR, 0, NULL, NULL, NULL);
}

int mproc_list_reverse(mproc_proxy_t *l) {
  return simple(l, LIST, "list_reverse", MPROC__OP_LIST_REVERSE, 0, NULL, NULL, NULL);
}

/* ---- Namespace ----------------------------------------------------------- */

static int attribute(const char *name, const char *op, mproc_item_t *it) {
  if (!name || !*name)
    return mproc__fail(MPROC_EINVAL, "%s: the attribute name is %s", op, name ? "empty" : "NULL");
  *it = mproc_str(name);
  return 0;
}

int mproc_namespace_set(mproc_proxy_t *ns, const char *name, mproc_item_t value) {
  mproc_item_t it[2] = {{0}, value};
  int rc = attribute(name, "namespace_set", &it[0]);
  return rc ? rc : simple(ns, NS, "namespace_set", MPROC__OP_DICT_SET, 2, it, NULL, NULL);
}

int mproc_namespace_get(mproc_proxy_t *ns, const char *name, mproc_args_t **value) {
  mproc_item_t key;
  int rc = attribute(name, "namespace_get", &key);
  if (!rc)
    rc = need(value, "namespace_get");
  if (!rc)
    rc = simple(ns, NS, "namespace_get", MPROC__OP_DICT_GET, 1, &key, TUPLE, value);
  if (rc == MPROC_ENOENT)
    mproc__fail(MPROC_ENOENT, "namespace_get: AttributeError: no attribute '%s'", name);
  return rc;
}

int mproc_namespace_del(mproc_proxy_t *ns, const char *name) {
  mproc_item_t key;
  int rc = attribute(name, "namespace_del", &key);
  if (!rc)
    rc = simple(ns, NS, "namespace_del", MPROC__OP_DICT_DEL, 1, &key, NULL, NULL);
  if (rc == MPROC_ENOENT)
    mproc__fail(MPROC_ENOENT, "namespace_del: AttributeError: no attribute '%s'", name);
  return rc;
}

int mproc_namespace_items(mproc_proxy_t *ns, mproc_args_t **items) {
  int rc = need(items, "namespace_items");
  return rc ? rc : simple(ns, NS, "namespace_items", MPROC__OP_DICT_ITEMS, 0, NULL, TUPLE, items);
}

/* ---- Value --------------------------------------------------------------- */

int mproc_proxy_value(mproc_proxy_t *v, mproc_args_t **value) {
  int rc = need(value, "proxy_value");
  return rc ? rc
            : simple(v, MPROC_PROXY_VALUE, MPROC_PROXY_VALUE, "proxy_value", MPROC__OP_VALUE_GET, 0,
                     NULL, TUPLE, value);
}

int mproc_proxy_set_value(mproc_proxy_t *v, mproc_item_t value) {
  return simple(v, MPROC_PROXY_VALUE, MPROC_PROXY_VALUE, "proxy_set_value", MPROC__OP_VALUE_SET, 1,
                &value, NULL, NULL);
}

/* ---- synchronization ----------------------------------------------------- */

/* A call that may wait up to timeout_ms. */
static int waiting(mproc_proxy_t *p, int lo, int hi, const char *name, uint16_t op, int timeout_ms,
                   bool batchable, mproc__mgr_result_fn fn, void *out) {
  bool barrier_default = timeout_ms == MPROC_DEFAULT_TIMEOUT && p && p->kind == MPROC_PROXY_BARRIER;
  if (timeout_ms < MPROC_INFINITE && !barrier_default)
    return mproc__fail(MPROC_EINVAL, "%s: timeout %d ms is negative", name, timeout_ms);
  int rc = mproc__mgr_proxy_check(p, lo, hi, name);
  if (rc)
    return rc;
  if (!batchable && mproc__mgr_recording(p->cl))
    return mproc__fail(MPROC_EINVAL, "%s: a batch cannot wait", name);
  mproc__mgr_req_t r;
  if ((rc = mproc__mgr_begin(p->cl, &r, op, p->id)) ||
      (rc = put_fixed(&r, (uint32_t)timeout_ms, 4)))
    return rc;
  return mproc__mgr_finish(&r, timeout_ms < 0 ? MPROC_INFINITE : timeout_ms, fn, out);
}

int mproc_proxy_acquire(mproc_proxy_t *p, int timeout_ms) {
  int rc = mproc__mgr_proxy_check(p, MPROC_PROXY_LOCK, MPROC_PROXY_CONDITION, "proxy_acquire");
  if (!rc && p->kind == MPROC_PROXY_EVENT)
    rc = mproc__fail(MPROC_ETYPE, "proxy_acquire: the proxy is an Event");
  return rc ? rc
            : waiting(p, MPROC_PROXY_LOCK, MPROC_PROXY_CONDITION, "proxy_acquire",
                      MPROC__OP_ACQUIRE, timeout_ms, true, NULL, NULL);
}

int mproc_proxy_release(mproc_proxy_t *p) {
  int rc = mproc__mgr_proxy_check(p, MPROC_PROXY_LOCK, MPROC_PROXY_CONDITION, "proxy_release");
  if (!rc && p->kind == MPROC_PROXY_EVENT)
    rc = mproc__fail(MPROC_ETYPE, "proxy_release: the proxy is an Event");
  return rc ? rc
            : simple(p, MPROC_PROXY_LOCK, MPROC_PROXY_CONDITION, "proxy_release", MPROC__OP_RELEASE,
                     0, NULL, NULL, NULL);
}

int mproc_proxy_wait(mproc_proxy_t *p, int timeout_ms) {
  int rc = mproc__mgr_proxy_check(p, MPROC_PROXY_EVENT, MPROC_PROXY_BARRIER, "proxy_wait");
  if (rc)
    return rc;
  if (p->kind != MPROC_PROXY_BARRIER)
    return waiting(p, MPROC_PROXY_EVENT, MPROC_PROXY_CONDITION, "proxy_wait", MPROC__OP_WAIT,
                   timeout_ms, false, NULL, NULL);
  int64_t index = 0;
  rc = waiting(p, MPROC_PROXY_BARRIER, MPROC_PROXY_BARRIER, "proxy_wait", MPROC__OP_WAIT,
               timeout_ms, false, mproc__mgr_res_i64, &index);
  return rc ? rc : (int)index;
}

int mproc_proxy_notify(mproc_proxy_t *c, int64_t n) {
  mproc__mgr_req_t r;
  if (n < 0)
    return mproc__fail(MPROC_EINVAL, "proxy_notify: n %lld is negative", (long long)n);
  int rc =
      start(c, MPROC_PROXY_CONDITION, MPROC_PROXY_CONDITION, "proxy_notify", MPROC__OP_NOTIFY, &r);
  if (!rc)
    rc = put_fixed(&r, (uint64_t)n, 8);
  return rc ? rc : mproc__mgr_finish(&r, ANY_WAIT, NULL, NULL);
}

int mproc_proxy_notify_all(mproc_proxy_t *c) {
  mproc__mgr_req_t r;
  int rc = start(c, MPROC_PROXY_CONDITION, MPROC_PROXY_CONDITION, "proxy_notify_all",
                 MPROC__OP_NOTIFY, &r);
  if (!rc)
    rc = put_fixed(&r, (uint64_t)-1, 8);
  return rc ? rc : mproc__mgr_finish(&r, ANY_WAIT, NULL, NULL);
}

#define EVENT MPROC_PROXY_EVENT, MPROC_PROXY_EVENT
#define BARRIER MPROC_PROXY_BARRIER, MPROC_PROXY_BARRIER

int mproc_proxy_locked(mproc_proxy_t *l) {
  return simple(l, MPROC_PROXY_LOCK, MPROC_PROXY_RLOCK, "proxy_locked", MPROC__OP_LOCKED, 0, NULL,
                mproc__mgr_res_flag, NULL);
}

int mproc_proxy_set(mproc_proxy_t *e) {
  return simple(e, EVENT, "proxy_set", MPROC__OP_EVENT_SET, 0, NULL, NULL, NULL);
}

int mproc_proxy_clear(mproc_proxy_t *e) {
  return simple(e, EVENT, "proxy_clear", MPROC__OP_EVENT_CLEAR, 0, NULL, NULL, NULL);
}

int mproc_proxy_is_set(mproc_proxy_t *e) {
  return simple(e, EVENT, "proxy_is_set", MPROC__OP_EVENT_IS_SET, 0, NULL, mproc__mgr_res_flag,
                NULL);
}

int mproc_proxy_abort(mproc_proxy_t *b) {
  return simple(b, BARRIER, "proxy_abort", MPROC__OP_BARRIER_ABORT, 0, NULL, NULL, NULL);
}

int mproc_proxy_reset(mproc_proxy_t *b) {
  return simple(b, BARRIER, "proxy_reset", MPROC__OP_BARRIER_RESET, 0, NULL, NULL, NULL);
}

typedef struct {
  int64_t *parties, *waiting;
  bool *broken;
} barrier_state_t;

static int res_barrier(mproc__mgr_client_t *cl, const unsigned char *b, size_t n, void *out) {
  (void)cl;
  barrier_state_t *s = out;
  if (n != 17)
    return mproc__fail(MPROC_EPROTO, "manager: a barrier state of %zu bytes", n);
  if (s->parties)
    *s->parties = (int64_t)mproc__get_u64(b);
  if (s->waiting)
    *s->waiting = (int64_t)mproc__get_u64(b + 8);
  if (s->broken)
    *s->broken = b[16] != 0;
  return 0;
}

int mproc_proxy_barrier_state(mproc_proxy_t *b, int64_t *parties, int64_t *n_waiting,
                              bool *broken) {
  if (b && mproc__mgr_recording(b->cl))
    return mproc__fail(MPROC_EINVAL, "proxy_barrier_state: not inside a batch");
  barrier_state_t s = {parties, n_waiting, broken};
  return simple(b, BARRIER, "proxy_barrier_state", MPROC__OP_BARRIER_STATE, 0, NULL, res_barrier,
                &s);
}

/* ---- queues -------------------------------------------------------------- */

#define QUEUES MPROC_PROXY_QUEUE, MPROC_PROXY_JOINABLE_QUEUE

int mproc_proxy_empty(mproc_proxy_t *q) {
  return simple(q, QUEUES, "proxy_empty", MPROC__OP_QUEUE_EMPTY, 0, NULL, mproc__mgr_res_flag,
                NULL);
}

int mproc_proxy_full(mproc_proxy_t *q) {
  return simple(q, QUEUES, "proxy_full", MPROC__OP_QUEUE_FULL, 0, NULL, mproc__mgr_res_flag, NULL);
}

int mproc_proxy_put(mproc_proxy_t *q, mproc_item_t value, int timeout_ms) {
  if (timeout_ms < MPROC_INFINITE)
    return mproc__fail(MPROC_EINVAL, "proxy_put: timeout %d ms is negative", timeout_ms);
  mproc__mgr_req_t r;
  int rc = start(q, QUEUES, "proxy_put", MPROC__OP_QUEUE_PUT, &r);
  if (!rc && !(rc = put_items(&r, "proxy_put", 1, &value)))
    rc = put_fixed(&r, (uint32_t)timeout_ms, 4);
  return rc ? rc : mproc__mgr_finish(&r, timeout_ms, NULL, NULL);
}

int mproc_proxy_get(mproc_proxy_t *q, mproc_args_t **value, int timeout_ms) {
  int rc = need(value, "proxy_get");
  return rc ? rc
            : waiting(q, QUEUES, "proxy_get", MPROC__OP_QUEUE_GET, timeout_ms, true, TUPLE, value);
}

int mproc_proxy_qsize(mproc_proxy_t *q, size_t *n) {
  int rc = need(n, "proxy_qsize");
  return rc ? rc
            : simple(q, QUEUES, "proxy_qsize", MPROC__OP_QUEUE_SIZE, 0, NULL, mproc__mgr_res_size,
                     n);
}

int mproc_proxy_task_done(mproc_proxy_t *q) {
  return simple(q, MPROC_PROXY_JOINABLE_QUEUE, MPROC_PROXY_JOINABLE_QUEUE, "proxy_task_done",
                MPROC__OP_QUEUE_TASK_DONE, 0, NULL, NULL, NULL);
}

int mproc_proxy_join(mproc_proxy_t *q, int timeout_ms) {
  return waiting(q, MPROC_PROXY_JOINABLE_QUEUE, MPROC_PROXY_JOINABLE_QUEUE, "proxy_join",
                 MPROC__OP_QUEUE_JOIN, timeout_ms, false, NULL, NULL);
}

/* ---- registered types ---------------------------------------------------- */

/* A call of a registered type's method (op: CALL or CALL_OBJECT), built. */
static int method_call(mproc_proxy_t *p, const char *method, const mproc_args_t *args, uint16_t op,
                       const char *name, mproc__mgr_req_t *rq) {
  if (!method || !*method)
    return mproc__fail(MPROC_EINVAL, "%s: method is %s", name, method ? "empty" : "NULL");
  mproc__mgr_req_t r;
  size_t at;
  int rc = start(p, MPROC_PROXY_CUSTOM, MPROC_PROXY_CUSTOM, name, op, &r);
  if (rc)
    return rc;
  if ((rc = mproc__mgr_put_blob(r.body, method, strlen(method))) == 0 &&
      (rc = mproc__mgr_begin_blob(r.body, &at)) == 0) {
    static const unsigned char empty = 0x90; /* a tuple of nothing */
    rc = args ? mproc__args_encode_into(args, r.body, NULL) : mproc__buf_append(r.body, &empty, 1);
    if (!rc)
      mproc__mgr_end_blob(r.body, at);
  }
  if (rc) {
    mproc__mgr_abandon(&r);
    mproc__error_prefix(name);
    return rc;
  }
  if (args && mproc__args_holds(args, MPROC_T_PROXY))
    r.flags |= MPROC__MGR_HAS_PROXY;
  *rq = r;
  return 0;
}

int mproc_proxy_call(mproc_proxy_t *p, const char *method, const mproc_args_t *args,
                     mproc_args_t **result) {
  mproc__mgr_req_t r;
  int rc = method_call(p, method, args, MPROC__OP_CALL, "proxy_call", &r);
  return rc ? rc : mproc__mgr_finish(&r, ANY_WAIT, TUPLE, result);
}

/* The reply of a CALL_OBJECT: the returned object's id and kind. */
static int res_object(mproc__mgr_client_t *cl, const unsigned char *b, size_t n, void *out) {
  if (n != 9 || b[8] != MPROC_PROXY_CUSTOM)
    return mproc__fail(MPROC_EPROTO, "manager: a returned object of %zu bytes", n);
  return mproc__mgr_proxy_get(cl, mproc__get_u64(b), MPROC_PROXY_CUSTOM, out);
}

int mproc_proxy_call_object(mproc_proxy_t *p, const char *method, const mproc_args_t *args,
                            mproc_proxy_t **out) {
  if (!out)
    return mproc__fail(MPROC_EINVAL, "proxy_call_object: out is NULL");
  *out = NULL;
  if (p && mproc__mgr_recording(p->cl))
    return mproc__fail(MPROC_EINVAL, "proxy_call_object: not inside a batch");
  mproc__mgr_req_t r;
  int rc = method_call(p, method, args, MPROC__OP_CALL_OBJECT, "proxy_call_object", &r);
  return rc ? rc : mproc__mgr_finish(&r, ANY_WAIT, res_object, out);
}
