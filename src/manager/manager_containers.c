/* A manager's dicts, Namespaces, lists and Values: containers of encoded
 * items. Keys are compared as encodings, which one encoder makes
 * canonical, so a dict is a hash map of byte strings. */
#include <stdlib.h>
#include <string.h>

#include "args/args_objects.h"
#include "manager/manager_server.h"

static int wrong_call(const mproc__mgr_obj_t *o, uint16_t op) {
  return mproc__fail(MPROC_ETYPE, "manager: call %u does not apply to a %s", op,
                     o->kind == MPROC_PROXY_LIST    ? "list"
                     : o->kind == MPROC_PROXY_VALUE ? "Value"
                                                    : "dict");
}

/* ---- scalars inside encoded items (incr, sort) --------------------------- */

typedef enum { SC_OTHER, SC_INT, SC_DOUBLE, SC_STR, SC_BYTES } scalar_kind_t;

typedef struct {
  scalar_kind_t kind;
  int64_t i;
  double d;
  const unsigned char *p;
  size_t n;
} scalar_t;

static uint64_t be(const unsigned char *p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; i++)
    v = (v << 8) | p[i];
  return v;
}

/* Reads a checked item that is a scalar; anything else is SC_OTHER. */
static scalar_t scalar(const unsigned char *p, size_t n) {
  scalar_t s = {SC_OTHER, 0, 0, NULL, 0};
  unsigned c = p[0];
  if (c <= 0x7f) {
    s.kind = SC_INT, s.i = c;
  } else if (c >= 0xe0) {
    s.kind = SC_INT, s.i = (int8_t)c;
  } else if (c >= 0xa0 && c <= 0xbf) {
    s.kind = SC_STR, s.p = p + 1, s.n = c & 0x1f;
  } else {
    switch (c) {
    case 0xcc:
    case 0xcd:
    case 0xce:
    case 0xcf: {
      int w = 1 << (c - 0xcc);
      uint64_t u = be(p + 1, w);
      if (u <= INT64_MAX)
        s.kind = SC_INT, s.i = (int64_t)u;
      break;
    }
    case 0xd0:
      s.kind = SC_INT, s.i = (int8_t)p[1];
      break;
    case 0xd1:
      s.kind = SC_INT, s.i = (int16_t)be(p + 1, 2);
      break;
    case 0xd2:
      s.kind = SC_INT, s.i = (int32_t)be(p + 1, 4);
      break;
    case 0xd3:
      s.kind = SC_INT, s.i = (int64_t)be(p + 1, 8);
      break;
    case 0xca: {
      uint32_t u = (uint32_t)be(p + 1, 4);
      float f;
      memcpy(&f, &u, 4);
      s.kind = SC_DOUBLE, s.d = f;
      break;
    }
    case 0xcb: {
      uint64_t u = be(p + 1, 8);
      memcpy(&s.d, &u, 8);
      s.kind = SC_DOUBLE;
      break;
    }
    case 0xd9:
    case 0xda:
    case 0xdb: {
      int w = 1 << (c - 0xd9);
      s.kind = SC_STR, s.n = (size_t)be(p + 1, w), s.p = p + 1 + w;
      break;
    }
    case 0xc4:
    case 0xc5:
    case 0xc6: {
      int w = 1 << (c - 0xc4);
      s.kind = SC_BYTES, s.n = (size_t)be(p + 1, w), s.p = p + 1 + w;
      break;
    }
    default:
      break;
    }
  }
  (void)n;
  return s;
}

static int encode_int(int64_t v, mproc__blob_t **out) {
  mproc__buf_t b = {0};
  mproc_item_t it = mproc_int(v);
  int rc = mproc__item_encode(&it, &b, NULL);
  if (!rc && !(*out = mproc__blob_new(b.data, b.len)))
    rc = mproc__fail(MPROC_ENOMEM, "manager: out of memory");
  mproc__buf_free(&b);
  return rc;
}

/* ---- dict and Namespace -------------------------------------------------- */

static int key_error(void) { return mproc__fail(MPROC_ENOENT, "manager: KeyError: no such key"); }

static int read_key(mproc__mgr_call_t *call, const unsigned char **k, size_t *kn) {
  return mproc__mgr_get_item(&call->in, k, kn);
}

/* Puts value under key (both the caller's until this succeeds). */
static int dict_put(mproc__odict_t *d, const unsigned char *k, size_t kn, mproc__blob_t *v) {
  long long at = mproc__odict_find(d, k, kn);
  if (at >= 0) {
    free(d->e[at].val);
    d->e[at].val = v;
    return 0;
  }
  mproc__blob_t *key = mproc__blob_new(k, kn);
  int rc =
      key ? mproc__odict_append(d, key, v) : mproc__fail(MPROC_ENOMEM, "manager: out of memory");
  if (rc)
    free(key);
  return rc;
}

/* The snapshot of keys (what 0), values (1) or items (2), as a tuple. */
static int dict_snapshot(mproc__mgr_call_t *call, const mproc__odict_t *d, int what) {
  int rc = mproc__msgpack_put_array(call->out, d->live);
  for (size_t i = 0; i < d->n && rc == 0; i++) {
    const mproc__odict_entry_t *e = &d->e[i];
    if (!e->key)
      continue;
    if (what == 2)
      rc = mproc__msgpack_put_array(call->out, 2);
    if (!rc && what != 1)
      rc = mproc__buf_append(call->out, e->key->b, e->key->n);
    if (!rc && what != 0)
      rc = mproc__buf_append(call->out, e->val->b, e->val->n);
  }
  return rc;
}

/* Python's popitem: the pair inserted last, taken out and answered as
 * (key, value); KeyError when the dict is empty. */
static int dict_popitem(mproc__mgr_call_t *call, mproc__odict_t *d) {
  size_t i = d->n;
  while (i > 0 && !d->e[i - 1].key)
    i--;
  if (i == 0)
    return mproc__fail(MPROC_ENOENT, "manager: KeyError: popitem(): dictionary is empty");
  mproc__blob_t *key, *val;
  mproc__odict_take(d, i - 1, &key, &val);
  int rc = mproc__msgpack_put_array(call->out, 2);
  if (!rc)
    rc = mproc__buf_append(call->out, key->b, key->n);
  if (!rc)
    rc = mproc__buf_append(call->out, val->b, val->n);
  free(key);
  free(val);
  return rc;
}

static int dict_update(mproc__mgr_call_t *call, mproc__odict_t *d) {
  uint32_t n;
  int rc = mproc__mgr_get_u32(&call->in, &n);
  if (rc)
    return rc;
  mproc__mgr_reader_t check = call->in;
  for (uint32_t i = 0; i < n && rc == 0; i++) { /* all valid before any applies */
    const unsigned char *p;
    size_t len;
    rc = mproc__mgr_get_item(&check, &p, &len);
    if (!rc)
      rc = mproc__mgr_get_item(&check, &p, &len);
  }
  if (rc || (rc = mproc__mgr_get_end(&check)) != 0)
    return rc;
  for (uint32_t i = 0; i < n && rc == 0; i++) {
    const unsigned char *k, *v;
    size_t kn, vn;
    mproc__blob_t *val;
    mproc__mgr_get_item(&call->in, &k, &kn);
    mproc__mgr_get_item(&call->in, &v, &vn);
    if ((rc = mproc__mgr_take_value(call, v, vn, &val)) == 0 && (rc = dict_put(d, k, kn, val)))
      free(val);
  }
  return rc;
}

static int dict_incr(mproc__mgr_call_t *call, mproc__odict_t *d, const unsigned char *k,
                     size_t kn) {
  int64_t delta, now;
  int rc = mproc__mgr_get_i64(&call->in, &delta);
  if (rc || (rc = mproc__mgr_get_end(&call->in)))
    return rc;
  long long at = mproc__odict_find(d, k, kn);
  int64_t was = 0;
  if (at >= 0) {
    scalar_t s = scalar(d->e[at].val->b, d->e[at].val->n);
    if (s.kind != SC_INT)
      return mproc__fail(MPROC_ETYPE, "manager: incr of a value that is not an integer");
    was = s.i;
  }
  if ((delta > 0 && was > INT64_MAX - delta) || (delta < 0 && was < INT64_MIN - delta))
    return mproc__fail(MPROC_ERANGE, "manager: incr overflows: %lld + %lld", (long long)was,
                       (long long)delta);
  now = was + delta;
  mproc__blob_t *v;
  if ((rc = encode_int(now, &v)) != 0)
    return rc;
  if ((rc = dict_put(d, k, kn, v)) != 0) {
    free(v);
    return rc;
  }
  return mproc__mgr_put_u64(call->out, (uint64_t)now);
}

/* A keyed call's operands: the key, and a value (and a second one: CAS). */
typedef struct {
  const unsigned char *k, *v, *x;
  size_t kn, vn, xn;
} dict_operands_t;

/* Runs keyed call op on d, its operands read. */
static int dict_keyed(mproc__mgr_call_t *call, mproc__odict_t *d, uint16_t op,
                      const dict_operands_t *o) {
  long long at = mproc__odict_find(d, o->k, o->kn);
  mproc__blob_t *val, *key;
  int rc;
  switch (op) {
  case MPROC__OP_DICT_SET:
    if ((rc = mproc__mgr_take_value(call, o->v, o->vn, &val)) == 0 &&
        (rc = dict_put(d, o->k, o->kn, val)))
      free(val);
    return rc;
  case MPROC__OP_DICT_GET:
    return at < 0 ? key_error() : mproc__mgr_reply_value(call, d->e[at].val);
  case MPROC__OP_DICT_GET_DEFAULT:
    if (at >= 0)
      return mproc__mgr_reply_value(call, d->e[at].val);
    rc = mproc__msgpack_put_array(call->out, 1);
    return rc ? rc : mproc__buf_append(call->out, o->v, o->vn);
  case MPROC__OP_DICT_DEL:
  case MPROC__OP_DICT_POP:
  case MPROC__OP_DICT_POP_DEFAULT:
    if (at < 0) {
      if (op != MPROC__OP_DICT_POP_DEFAULT)
        return key_error();
      rc = mproc__msgpack_put_array(call->out, 1);
      return rc ? rc : mproc__buf_append(call->out, o->v, o->vn);
    }
    mproc__odict_take(d, (size_t)at, &key, &val);
    rc = op == MPROC__OP_DICT_DEL ? 0 : mproc__mgr_reply_value(call, val);
    free(key);
    free(val);
    return rc;
  case MPROC__OP_DICT_CONTAINS:
    return mproc__mgr_put_u8(call->out, at >= 0);
  case MPROC__OP_DICT_SETDEFAULT:
    if (at >= 0)
      return mproc__mgr_reply_value(call, d->e[at].val);
    if ((rc = mproc__mgr_take_value(call, o->v, o->vn, &val)))
      return rc;
    if ((rc = dict_put(d, o->k, o->kn, val))) {
      free(val);
      return rc;
    }
    return mproc__mgr_reply_value(call, val);
  case MPROC__OP_DICT_CAS:
    if (at < 0 || !mproc__blob_equal(d->e[at].val, o->v, o->vn))
      return mproc__mgr_put_u8(call->out, 0);
    if ((rc = mproc__mgr_take_value(call, o->x, o->xn, &val)))
      return rc;
    free(d->e[at].val);
    d->e[at].val = val;
    return mproc__mgr_put_u8(call->out, 1);
  default:
    return mproc__fail(MPROC_EPROTO, "manager: unknown dict call %u", op);
  }
}

static int dict_call(mproc__mgr_call_t *call, mproc__odict_t *d) {
  uint16_t op = call->head.op;
  dict_operands_t o = {0};
  int rc = 0;
  switch (op) {
  case MPROC__OP_DICT_LEN:
  case MPROC__OP_DICT_KEYS:
  case MPROC__OP_DICT_VALUES:
  case MPROC__OP_DICT_ITEMS:
  case MPROC__OP_DICT_CLEAR:
  case MPROC__OP_DICT_POPITEM:
    if ((rc = mproc__mgr_get_end(&call->in)))
      return rc;
    if (op == MPROC__OP_DICT_POPITEM)
      return dict_popitem(call, d);
    if (op == MPROC__OP_DICT_LEN)
      return mproc__mgr_put_u64(call->out, d->live);
    if (op == MPROC__OP_DICT_CLEAR) {
      mproc__odict_clear(d);
      return 0;
    }
    return dict_snapshot(call, d, op - MPROC__OP_DICT_KEYS);
  case MPROC__OP_DICT_UPDATE:
    return dict_update(call, d);
  default:
    break;
  }
  if ((rc = read_key(call, &o.k, &o.kn)))
    return rc;
  if (op == MPROC__OP_DICT_INCR)
    return dict_incr(call, d, o.k, o.kn);
  switch (op) { /* a second item */
  case MPROC__OP_DICT_SET:
  case MPROC__OP_DICT_GET_DEFAULT:
  case MPROC__OP_DICT_POP_DEFAULT:
  case MPROC__OP_DICT_SETDEFAULT:
  case MPROC__OP_DICT_CAS:
    rc = mproc__mgr_get_item(&call->in, &o.v, &o.vn);
    break;
  default:
    break;
  }
  if (!rc && op == MPROC__OP_DICT_CAS)
    rc = mproc__mgr_get_item(&call->in, &o.x, &o.xn);
  if (rc || (rc = mproc__mgr_get_end(&call->in)))
    return rc;
  return dict_keyed(call, d, op, &o);
}

/* ---- list ---------------------------------------------------------------- */

static int index_error(void) {
  return mproc__fail(MPROC_ERANGE, "manager: IndexError: list index out of range");
}

/* Python's index: negative counts from the end; MPROC_ERANGE outside. */
static int normalize(int64_t i, size_t n, size_t *out) {
  if (i < 0)
    i += (int64_t)n;
  if (i < 0 || (uint64_t)i >= n)
    return index_error();
  *out = (size_t)i;
  return 0;
}

/* Python's slice bound: clamped into [0, n]. */
static size_t clamp(int64_t i, size_t n) {
  if (i < 0)
    i += (int64_t)n;
  if (i < 0)
    return 0;
  return (uint64_t)i > n ? n : (size_t)i;
}

static int vec_reserve(mproc__mgr_vec_t *l, size_t extra) {
  if (l->cap - l->n >= extra)
    return 0;
  size_t cap = l->cap ? l->cap : 8;
  while (cap - l->n < extra)
    cap *= 2;
  mproc__blob_t **v = realloc(l->v, cap * sizeof *v);
  if (!v)
    return mproc__fail(MPROC_ENOMEM, "manager: out of memory for a list of %zu items", cap);
  l->v = v;
  l->cap = cap;
  return 0;
}

static int vec_insert(mproc__mgr_vec_t *l, size_t at, mproc__blob_t *v) {
  int rc = vec_reserve(l, 1);
  if (rc)
    return rc;
  memmove(l->v + at + 1, l->v + at, (l->n - at) * sizeof *l->v);
  l->v[at] = v;
  l->n++;
  return 0;
}

static mproc__blob_t *vec_take(mproc__mgr_vec_t *l, size_t at) {
  mproc__blob_t *v = l->v[at];
  memmove(l->v + at, l->v + at + 1, (l->n - at - 1) * sizeof *l->v);
  l->n--;
  return v;
}

static void vec_clear(mproc__mgr_vec_t *l) {
  for (size_t i = 0; i < l->n; i++)
    free(l->v[i]);
  l->n = 0;
}

/* The first position of an equal item at or after from, or -1. */
static long long vec_find(const mproc__mgr_vec_t *l, const unsigned char *p, size_t n,
                          size_t from) {
  for (size_t i = from; i < l->n; i++)
    if (mproc__blob_equal(l->v[i], p, n))
      return (long long)i;
  return -1;
}

typedef struct {
  mproc__blob_t *v;
  scalar_t s;
} sort_item_t;

/* -1, 0, 1 for two scalars of comparable kinds. */
static int compare(const scalar_t *a, const scalar_t *b) {
  if (a->kind == SC_STR || a->kind == SC_BYTES) {
    size_t n = a->n < b->n ? a->n : b->n;
    int c = memcmp(a->p, b->p, n);
    return c ? (c < 0 ? -1 : 1) : (a->n < b->n ? -1 : a->n > b->n);
  }
  if (a->kind == SC_INT && b->kind == SC_INT)
    return a->i < b->i ? -1 : a->i > b->i;
  double x = a->kind == SC_INT ? (double)a->i : a->d, y = b->kind == SC_INT ? (double)b->i : b->d;
  return x < y ? -1 : x > y;
}

/* A stable merge sort (Python's sort is stable, also in reverse). */
static void merge_sort(sort_item_t *a, sort_item_t *tmp, size_t n, bool reverse) {
  if (n < 2)
    return;
  size_t h = n / 2;
  merge_sort(a, tmp, h, reverse);
  merge_sort(a + h, tmp, n - h, reverse);
  size_t i = 0, j = h, k = 0;
  while (i < h && j < n) {
    int c = compare(&a[j].s, &a[i].s);
    tmp[k++] = (reverse ? c > 0 : c < 0) ? a[j++] : a[i++];
  }
  while (i < h)
    tmp[k++] = a[i++];
  while (j < n)
    tmp[k++] = a[j++];
  memcpy(a, tmp, n * sizeof *a);
}

static int list_sort(mproc__mgr_call_t *call, mproc__mgr_vec_t *l) {
  uint8_t reverse;
  int rc = mproc__mgr_get_u8(&call->in, &reverse);
  if (rc || (rc = mproc__mgr_get_end(&call->in)) || l->n < 2)
    return rc;
  sort_item_t *a = malloc(2 * l->n * sizeof *a);
  if (!a)
    return mproc__fail(MPROC_ENOMEM, "manager: out of memory to sort %zu items", l->n);
  bool numbers = false, other = false;
  for (size_t i = 0; i < l->n; i++) {
    a[i].v = l->v[i];
    a[i].s = scalar(l->v[i]->b, l->v[i]->n);
    bool number = a[i].s.kind == SC_INT || a[i].s.kind == SC_DOUBLE;
    numbers |= number;
    other |= !number && (a[i].s.kind != a[0].s.kind || a[i].s.kind == SC_OTHER);
  }
  if (other || (numbers && !(a[0].s.kind == SC_INT || a[0].s.kind == SC_DOUBLE))) {
    free(a);
    return mproc__fail(MPROC_ETYPE, "manager: sort: the items do not compare (sort numbers, "
                                    "strings or bytes, one kind at a time)");
  }
  merge_sort(a, a + l->n, l->n, reverse != 0);
  for (size_t i = 0; i < l->n; i++)
    l->v[i] = a[i].v;
  free(a);
  return 0;
}

/* extend: count items, all checked before any is added. */
static int list_extend(mproc__mgr_call_t *call, mproc__mgr_vec_t *l) {
  uint32_t count;
  const unsigned char *p = NULL;
  size_t n = 0;
  mproc__blob_t *v;
  int rc = mproc__mgr_get_u32(&call->in, &count);
  if (rc)
    return rc;
  mproc__mgr_reader_t check = call->in;
  for (uint32_t k = 0; k < count && rc == 0; k++)
    rc = mproc__mgr_get_item(&check, &p, &n);
  if (rc || (rc = mproc__mgr_get_end(&check)) || (rc = vec_reserve(l, count)))
    return rc;
  for (uint32_t k = 0; k < count && rc == 0; k++) {
    mproc__mgr_get_item(&call->in, &p, &n);
    if ((rc = mproc__mgr_take_value(call, p, n, &v)) == 0)
      l->v[l->n++] = v;
  }
  return rc;
}

/* A list call's operands: indexes (i, and j for a slice) and an item. */
typedef struct {
  int64_t i, j;
  const unsigned char *p;
  size_t n;
} list_operands_t;

/* Calls that find an item: remove, index, count. */
static int list_search(mproc__mgr_call_t *call, mproc__mgr_vec_t *l, uint16_t op,
                       const list_operands_t *o) {
  long long found = vec_find(l, o->p, o->n, 0);
  if (op == MPROC__OP_LIST_COUNT) {
    uint64_t c = 0;
    for (; found >= 0; found = vec_find(l, o->p, o->n, (size_t)found + 1))
      c++;
    return mproc__mgr_put_u64(call->out, c);
  }
  if (found < 0)
    return mproc__fail(MPROC_EVALUE, "manager: ValueError: the item is not in the list");
  if (op == MPROC__OP_LIST_INDEX)
    return mproc__mgr_put_u64(call->out, (uint64_t)found);
  free(vec_take(l, (size_t)found));
  return 0;
}

/* Runs call op on l, its operands read. */
static int list_op(mproc__mgr_call_t *call, mproc__mgr_vec_t *l, uint16_t op,
                   const list_operands_t *o) {
  size_t at = 0;
  mproc__blob_t *v;
  int rc;
  switch (op) {
  case MPROC__OP_LIST_APPEND:
  case MPROC__OP_LIST_INSERT:
    if ((rc = mproc__mgr_take_value(call, o->p, o->n, &v)) == 0 &&
        (rc = vec_insert(l, op == MPROC__OP_LIST_APPEND ? l->n : clamp(o->i, l->n), v)))
      free(v);
    return rc;
  case MPROC__OP_LIST_GET:
    return (rc = normalize(o->i, l->n, &at)) ? rc : mproc__mgr_reply_value(call, l->v[at]);
  case MPROC__OP_LIST_SET:
    if ((rc = normalize(o->i, l->n, &at)) || (rc = mproc__mgr_take_value(call, o->p, o->n, &v)))
      return rc;
    free(l->v[at]);
    l->v[at] = v;
    return 0;
  case MPROC__OP_LIST_POP:
    if (l->n == 0)
      return mproc__fail(MPROC_ERANGE, "manager: IndexError: pop from empty list");
    if ((rc = normalize(o->i, l->n, &at)))
      return rc;
    v = vec_take(l, at);
    rc = mproc__mgr_reply_value(call, v);
    free(v);
    return rc;
  case MPROC__OP_LIST_REMOVE:
  case MPROC__OP_LIST_INDEX:
  case MPROC__OP_LIST_COUNT:
    return list_search(call, l, op, o);
  case MPROC__OP_LIST_LEN:
    return mproc__mgr_put_u64(call->out, l->n);
  case MPROC__OP_LIST_SLICE: {
    size_t a = clamp(o->i, l->n), b = clamp(o->j, l->n);
    if (b < a)
      b = a;
    rc = mproc__msgpack_put_array(call->out, b - a);
    for (size_t k = a; k < b && rc == 0; k++)
      rc = mproc__buf_append(call->out, l->v[k]->b, l->v[k]->n);
    return rc;
  }
  case MPROC__OP_LIST_CLEAR:
    vec_clear(l);
    return 0;
  case MPROC__OP_LIST_REVERSE:
    for (size_t a = 0, b = l->n; a + 1 < b; a++, b--) {
      mproc__blob_t *t = l->v[a];
      l->v[a] = l->v[b - 1];
      l->v[b - 1] = t;
    }
    return 0;
  default:
    return mproc__fail(MPROC_EPROTO, "manager: unknown list call %u", op);
  }
}

static int list_call(mproc__mgr_call_t *call, mproc__mgr_vec_t *l) {
  uint16_t op = call->head.op;
  list_operands_t o = {0};
  int rc = 0;
  if (op == MPROC__OP_LIST_SORT)
    return list_sort(call, l);
  if (op == MPROC__OP_LIST_EXTEND)
    return list_extend(call, l);
  switch (op) { /* an index */
  case MPROC__OP_LIST_GET:
  case MPROC__OP_LIST_POP:
  case MPROC__OP_LIST_SET:
  case MPROC__OP_LIST_INSERT:
  case MPROC__OP_LIST_SLICE:
    rc = mproc__mgr_get_i64(&call->in, &o.i);
    if (!rc && op == MPROC__OP_LIST_SLICE)
      rc = mproc__mgr_get_i64(&call->in, &o.j);
    break;
  default:
    break;
  }
  switch (op) { /* an item */
  case MPROC__OP_LIST_APPEND:
  case MPROC__OP_LIST_SET:
  case MPROC__OP_LIST_INSERT:
  case MPROC__OP_LIST_REMOVE:
  case MPROC__OP_LIST_INDEX:
  case MPROC__OP_LIST_COUNT:
    if (!rc)
      rc = mproc__mgr_get_item(&call->in, &o.p, &o.n);
    break;
  default:
    break;
  }
  if (rc || (rc = mproc__mgr_get_end(&call->in)))
    return rc;
  return list_op(call, l, op, &o);
}

/* ---- Value --------------------------------------------------------------- */

static int value_call(mproc__mgr_call_t *call, mproc__mgr_obj_t *o) {
  const unsigned char *p;
  size_t n;
  int rc;
  mproc__blob_t *v;
  if (call->head.op == MPROC__OP_VALUE_GET)
    return (rc = mproc__mgr_get_end(&call->in)) ? rc : mproc__mgr_reply_value(call, o->u.value);
  if ((rc = mproc__mgr_get_item(&call->in, &p, &n)) || (rc = mproc__mgr_get_end(&call->in)) ||
      (rc = mproc__mgr_take_value(call, p, n, &v)))
    return rc;
  free(o->u.value);
  o->u.value = v;
  return 0;
}

/* ---- the kinds' entry points -------------------------------------------- */

int mproc__mgr_container_init(mproc__mgr_call_t *call, mproc__mgr_obj_t *o) {
  if (o->kind != MPROC_PROXY_VALUE)
    return 0; /* zeroed is empty */
  const unsigned char *p;
  size_t n;
  int rc = mproc__mgr_get_item(&call->in, &p, &n);
  return rc ? rc : mproc__mgr_take_value(call, p, n, &o->u.value);
}

int mproc__mgr_container_call(mproc__mgr_call_t *call, mproc__mgr_obj_t *o) {
  uint16_t op = call->head.op;
  switch (o->kind) {
  case MPROC_PROXY_DICT:
  case MPROC_PROXY_NAMESPACE:
    if (op >= MPROC__OP_DICT_SET && op <= MPROC__OP_DICT_POPITEM)
      return dict_call(call, &o->u.dict);
    break;
  case MPROC_PROXY_LIST:
    if (op >= MPROC__OP_LIST_APPEND && op <= MPROC__OP_LIST_REVERSE)
      return list_call(call, &o->u.list);
    break;
  default:
    if (op == MPROC__OP_VALUE_GET || op == MPROC__OP_VALUE_SET)
      return value_call(call, o);
    break;
  }
  return wrong_call(o, op);
}

void mproc__mgr_container_free(mproc__mgr_obj_t *o) {
  switch (o->kind) {
  case MPROC_PROXY_DICT:
  case MPROC_PROXY_NAMESPACE:
    mproc__odict_free(&o->u.dict);
    break;
  case MPROC_PROXY_LIST:
    vec_clear(&o->u.list);
    free(o->u.list.v);
    break;
  default:
    free(o->u.value);
    break;
  }
}
