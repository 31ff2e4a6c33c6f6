/* Argument tuples: building them and reading them (see docs/args.md).
 *
 * Items own their storage; strings and bytes carry a trailing NUL that is not
 * part of their length, so get_str can hand out a C string and an empty
 * bytes item still has a non-NULL pointer. */
#include <msgpack.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "args/args_tuple.h"

int mproc_args_new(mproc_args_t **out) {
  if (!out)
    return mproc__fail(MPROC_EINVAL, "args_new: out is NULL");
  *out = malloc(sizeof **out);
  if (!*out)
    return mproc__fail(MPROC_ENOMEM, "args_new: out of memory");
  (*out)->items = (*out)->inline_items;
  (*out)->count = 0;
  (*out)->cap = INLINE_ITEMS;
  (*out)->depth = 1;
  (*out)->in_block = 0;
  return 0;
}

/* in_block of the shared empty tuple: no block's index reaches it. */
#define SHARED_EMPTY UINT32_MAX

/* The empty tuple of map results: one object for every empty result, as
 * CPython's () is one object - a map of tasks that return nothing
 * allocates nothing per result. Results are read through const pointers
 * only; mproc__args_take_tuple, which hands one out to be changed (imap),
 * gives a fresh tuple instead. Never written, never freed. */
static mproc_args_t shared_empty = {.depth = 1, .in_block = SHARED_EMPTY};

mproc_args_t *mproc__args_shared_empty(void) { return &shared_empty; }

mproc__args_block_t *mproc__args_block_new(size_t n) {
  if (n >= UINT32_MAX - 1 || n > (SIZE_MAX - sizeof(mproc__args_block_t)) / sizeof(mproc_args_t))
    return NULL;
  mproc__args_block_t *b = malloc(sizeof *b + n * sizeof(mproc_args_t));
  if (b)
    atomic_init(&b->live, n);
  return b;
}

mproc_args_t *mproc__args_block_tuple(mproc__args_block_t *b, size_t i) {
  mproc_args_t *t = &b->tuples[i];
  *t = (mproc_args_t){
      .items = t->inline_items, .cap = INLINE_ITEMS, .depth = 1, .in_block = (uint32_t)i + 1};
  return t;
}

void mproc__args_block_unused(mproc__args_block_t *b, size_t n) {
  if (n && atomic_fetch_sub(&b->live, n) == n)
    free(b);
}

/* The block a tuple of one belongs to, from its place in it. */
static mproc__args_block_t *block_of(mproc_args_t *t) {
  mproc_args_t *first = t - (t->in_block - 1);
  return (mproc__args_block_t *)((char *)first - offsetof(mproc__args_block_t, tuples));
}

/* calloc's zeroes are nil items. */
_Static_assert(MPROC_T_NIL == 0, "a zeroed item is nil");

int mproc__args_new_nils(mproc_args_t **out, size_t n) {
  int rc = mproc_args_new(out);
  if (rc || n <= INLINE_ITEMS) {
    for (size_t i = 0; !rc && i < n; i++)
      (*out)->items[(*out)->count++] = (item_t){.type = MPROC_T_NIL};
    return rc;
  }
  /* One allocation, its pages touched only when each result lands. */
  item_t *items = n <= WIRE_MAX ? calloc(n, sizeof *items) : NULL;
  if (!items) {
    mproc_args_free(*out);
    return mproc__fail(n <= WIRE_MAX ? MPROC_ENOMEM : MPROC_ERANGE,
                       "args: cannot make a tuple of %zu items", n);
  }
  (*out)->items = items;
  (*out)->count = (*out)->cap = n;
  return 0;
}

void mproc__item_clear(item_t *it) {
  if (it->type == MPROC_T_STR || it->type == MPROC_T_BYTES)
    free(it->v.s.p);
  else if (it->type == MPROC_T_ARGS)
    mproc_args_free(it->v.t);
  else if (it->type >= MPROC_T_CONN)
    it->v.obj.cls->release(it->v.obj.p);
}

void mproc_args_free(mproc_args_t *a) {
  if (!a || a->in_block == SHARED_EMPTY)
    return;
  for (size_t i = 0; i < a->count; i++)
    mproc__item_clear(&a->items[i]);
  if (a->items != a->inline_items)
    free(a->items);
  if (a->in_block)
    mproc__args_block_unused(block_of(a), 1);
  else
    free(a);
}

/* Appends a filled item; on failure the caller still owns its storage. */
int mproc__args_push(mproc_args_t *a, const item_t *it, const char *op) {
  if (a->count == WIRE_MAX)
    return mproc__fail(MPROC_ERANGE, "%s: a tuple holds at most %zu items", op, WIRE_MAX);
  if (a->count == a->cap) {
    size_t cap = a->cap < 8 ? 8 : a->cap * 2;
    bool inline_now = a->items == a->inline_items;
    item_t *p = realloc(inline_now ? NULL : a->items, cap * sizeof *p);
    if (!p)
      return mproc__fail(MPROC_ENOMEM, "%s: out of memory", op);
    if (inline_now)
      memcpy(p, a->inline_items, a->count * sizeof *p);
    a->items = p;
    a->cap = cap;
  }
  a->items[a->count++] = *it;
  return 0;
}

/* Appends a nested tuple, taking ownership of it (freed on failure). */
int mproc__args_push_tuple(mproc_args_t *a, mproc_args_t *t, const char *op) {
  item_t it = {.type = MPROC_T_ARGS, .v.t = t};
  int rc = mproc__args_push(a, &it, op);
  if (rc) {
    mproc_args_free(t);
    return rc;
  }
  if (t->depth + 1 > a->depth)
    a->depth = t->depth + 1;
  return 0;
}

int mproc_args_add_nil(mproc_args_t *a) {
  if (!a)
    return mproc__fail(MPROC_EINVAL, "args_add_nil: tuple is NULL");
  item_t it = {.type = MPROC_T_NIL};
  return mproc__args_push(a, &it, "args_add_nil");
}

int mproc_args_add_bool(mproc_args_t *a, bool v) {
  if (!a)
    return mproc__fail(MPROC_EINVAL, "args_add_bool: tuple is NULL");
  item_t it = {.type = MPROC_T_BOOL, .v.b = v};
  return mproc__args_push(a, &it, "args_add_bool");
}

int mproc_args_add_int(mproc_args_t *a, int64_t v) {
  if (!a)
    return mproc__fail(MPROC_EINVAL, "args_add_int: tuple is NULL");
  item_t it = {.type = MPROC_T_INT, .v.i = v};
  return mproc__args_push(a, &it, "args_add_int");
}

int mproc_args_add_double(mproc_args_t *a, double v) {
  if (!a)
    return mproc__fail(MPROC_EINVAL, "args_add_double: tuple is NULL");
  item_t it = {.type = MPROC_T_DOUBLE, .v.d = v};
  return mproc__args_push(a, &it, "args_add_double");
}

/* Adds a copy of n bytes as a string or bytes item. */
int mproc__args_add_blob(mproc_args_t *a, mproc_type_t type, const void *p, size_t n,
                         const char *op) {
  if (n > WIRE_MAX)
    return mproc__fail(MPROC_ERANGE, "%s: %zu bytes is more than the %zu an item holds", op, n,
                       WIRE_MAX);
  char *copy = malloc(n + 1);
  if (!copy)
    return mproc__fail(MPROC_ENOMEM, "%s: cannot allocate %zu bytes", op, n + 1);
  if (n)
    memcpy(copy, p, n);
  copy[n] = '\0';
  item_t it = {.type = type, .v.s = {copy, n}};
  int rc = mproc__args_push(a, &it, op);
  if (rc)
    free(copy);
  return rc;
}

int mproc_args_add_str(mproc_args_t *a, const char *s) {
  if (!a || !s)
    return mproc__fail(MPROC_EINVAL, "args_add_str: %s is NULL", a ? "string" : "tuple");
  size_t n = strlen(s);
  if (!mproc__utf8_valid((const unsigned char *)s, n))
    return mproc__fail(MPROC_EINVAL, "args_add_str: string is not valid UTF-8");
  return mproc__args_add_blob(a, MPROC_T_STR, s, n, "args_add_str");
}

int mproc_args_add_bytes(mproc_args_t *a, const void *p, size_t n) {
  if (!a || (!p && n))
    return mproc__fail(MPROC_EINVAL, "args_add_bytes: %s is NULL", a ? "data" : "tuple");
  return mproc__args_add_blob(a, MPROC_T_BYTES, p, n, "args_add_bytes");
}

static int copy_args(const mproc_args_t *src, mproc_args_t **out) {
  mproc_args_t *t;
  int rc = mproc_args_new(&t);
  if (rc)
    return rc;
  for (size_t i = 0; i < src->count && rc == 0; i++) {
    const item_t *it = &src->items[i];
    switch (it->type) {
    case MPROC_T_STR:
    case MPROC_T_BYTES:
      rc = mproc__args_add_blob(t, it->type, it->v.s.p, it->v.s.n, "args_add_args");
      break;
    case MPROC_T_ARGS:
      rc = mproc_args_add_args(t, it->v.t);
      break;
    default:
      rc = it->type >= MPROC_T_CONN ? mproc__args_add_object(t, it->v.obj.cls, it->v.obj.p)
                                    : mproc__args_push(t, it, "args_add_args");
    }
  }
  if (rc) {
    mproc_args_free(t);
    return rc;
  }
  *out = t;
  return 0;
}

int mproc_args_add_args(mproc_args_t *a, const mproc_args_t *nested) {
  if (!a || !nested)
    return mproc__fail(MPROC_EINVAL, "args_add_args: %s is NULL", a ? "nested tuple" : "tuple");
  if (nested->depth + 1 > MPROC_ARGS_MAX_DEPTH)
    return mproc__fail(MPROC_EINVAL, "args_add_args: tuples nest at most %d deep",
                       MPROC_ARGS_MAX_DEPTH);
  mproc_args_t *copy;
  int rc = copy_args(nested, &copy); /* copy first: nested may be a itself */
  return rc ? rc : mproc__args_push_tuple(a, copy, "args_add_args");
}

int mproc__args_copy(const mproc_args_t *a, mproc_args_t **out) { return copy_args(a, out); }

int mproc__args_add_tuple_owned(mproc_args_t *a, mproc_args_t *t) {
  if (t->depth + 1 > MPROC_ARGS_MAX_DEPTH) {
    mproc_args_free(t);
    return mproc__fail(MPROC_EINVAL, "args: tuples nest at most %d deep", MPROC_ARGS_MAX_DEPTH);
  }
  return mproc__args_push_tuple(a, t, "args");
}

int mproc__args_take_tuple(mproc_args_t *a, size_t i, mproc_args_t **out) {
  if (i >= a->count || a->items[i].type != MPROC_T_ARGS)
    return mproc__fail(MPROC_ETYPE, "args: item %zu is not a tuple", i);
  if (a->items[i].v.t->in_block == SHARED_EMPTY) {
    int rc = mproc_args_new(out); /* the caller's to change */
    if (rc)
      return rc;
  } else {
    *out = a->items[i].v.t;
  }
  a->items[i] = (item_t){.type = MPROC_T_NIL};
  return 0;
}

int mproc__args_put_tuple(mproc_args_t *a, size_t i, mproc_args_t *t) {
  if (i >= a->count || t->depth + 1 > MPROC_ARGS_MAX_DEPTH) {
    mproc_args_free(t);
    return mproc__fail(i >= a->count ? MPROC_ERANGE : MPROC_EINVAL,
                       "args: cannot put a tuple at item %zu", i);
  }
  mproc__item_clear(&a->items[i]);
  a->items[i] = (item_t){.type = MPROC_T_ARGS, .v.t = t};
  if (t->depth + 1 > a->depth)
    a->depth = t->depth + 1;
  return 0;
}

size_t mproc_args_count(const mproc_args_t *a) { return a ? a->count : 0; }

mproc_type_t mproc_args_type(const mproc_args_t *a, size_t i) {
  return (a && i < a->count) ? a->items[i].type : MPROC_T_NIL;
}

const char *mproc__args_type_name(mproc_type_t t) {
  static const char *names[] = {"nil",   "bool",  "int",   "double", "str",  "bytes", "args",
                                "conn",  "lock",  "rlock", "sem",    "cond", "event", "barrier",
                                "value", "array", "queue", "shm",    "proxy"};
  return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "?";
}

/* Finds item i of the wanted type, or fails with a detail naming both. */
static int lookup(const mproc_args_t *a, size_t i, const void *out, mproc_type_t want,
                  const item_t **it) {
  if (!a || !out)
    return mproc__fail(MPROC_EINVAL, "args_get_%s: %s is NULL", mproc__args_type_name(want),
                       a ? "out" : "tuple");
  if (i >= a->count)
    return mproc__fail(MPROC_ERANGE, "args_get_%s: index %zu, but the tuple has %zu items",
                       mproc__args_type_name(want), i, a->count);
  if (a->items[i].type != want)
    return mproc__fail(MPROC_ETYPE, "args_get_%s: item %zu is %s", mproc__args_type_name(want), i,
                       mproc__args_type_name(a->items[i].type));
  *it = &a->items[i];
  return 0;
}

int mproc_args_get_bool(const mproc_args_t *a, size_t i, bool *out) {
  const item_t *it = NULL;
  int rc = lookup(a, i, out, MPROC_T_BOOL, &it);
  if (rc == 0)
    *out = it->v.b;
  return rc;
}

int mproc_args_get_int(const mproc_args_t *a, size_t i, int64_t *out) {
  const item_t *it = NULL;
  int rc = lookup(a, i, out, MPROC_T_INT, &it);
  if (rc == 0)
    *out = it->v.i;
  return rc;
}

int mproc_args_get_double(const mproc_args_t *a, size_t i, double *out) {
  const item_t *it = NULL;
  int rc = lookup(a, i, out, MPROC_T_DOUBLE, &it);
  if (rc == 0)
    *out = it->v.d;
  return rc;
}

int mproc_args_get_str(const mproc_args_t *a, size_t i, const char **out) {
  const item_t *it = NULL;
  int rc = lookup(a, i, out, MPROC_T_STR, &it);
  if (rc == 0)
    *out = it->v.s.p;
  return rc;
}

int mproc_args_get_bytes(const mproc_args_t *a, size_t i, const void **out, size_t *len) {
  const item_t *it = NULL;
  int rc = lookup(a, i, len ? (const void *)out : NULL, MPROC_T_BYTES, &it);
  if (rc == 0) {
    *out = it->v.s.p;
    *len = it->v.s.n;
  }
  return rc;
}

int mproc_args_get_args(const mproc_args_t *a, size_t i, const mproc_args_t **out) {
  const item_t *it = NULL;
  int rc = lookup(a, i, out, MPROC_T_ARGS, &it);
  if (rc == 0)
    *out = it->v.t;
  return rc;
}

/* IPC objects: the tuple holds its own duplicate or reference. */
int mproc__args_add_object(mproc_args_t *a, const mproc__object_class_t *cls, void *obj) {
  if (!a || !obj)
    return mproc__fail(MPROC_EINVAL, "args_add_%s: %s is NULL", cls->name, a ? cls->name : "tuple");
  void *held;
  int rc = cls->hold(obj, &held);
  if (rc)
    return rc;
  item_t it = {.type = cls->type, .v.obj = {held, cls}};
  rc = mproc__args_push(a, &it, "args_add_object");
  if (rc)
    cls->release(held);
  return rc;
}

int mproc__args_get_object(const mproc_args_t *a, size_t i, const mproc__object_class_t *cls,
                           void **out) {
  const item_t *it = NULL;
  int rc = lookup(a, i, out, cls->type, &it);
  if (rc == 0)
    *out = it->v.obj.p;
  return rc;
}

/* The classes of IPC object a tuple may hold, by item type. */
static const mproc__object_class_t *const classes[] = {
    &mproc__conn_class,  &mproc__lock_class,  &mproc__rlock_class,   &mproc__sem_class,
    &mproc__cond_class,  &mproc__event_class, &mproc__barrier_class, &mproc__value_class,
    &mproc__array_class, &mproc__queue_class, &mproc__shm_class,     &mproc__proxy_class,
};

const mproc__object_class_t *mproc__args_class_of(unsigned kind) {
  for (size_t i = 0; i < sizeof classes / sizeof classes[0]; i++)
    if ((unsigned)classes[i]->type == kind)
      return classes[i];
  return NULL;
}

/* ---- single items -------------------------------------------------------- */

/* What a borrowed item describes, as the tuple's own item type, with
 * pointers borrowed (never freed: the caller's item owns them). */
int mproc__item_borrow(const mproc_item_t *in, item_t *out, const char *op) {
  memset(out, 0, sizeof *out);
  out->type = in->type;
  switch (in->type) {
  case MPROC_T_NIL:
    return 0;
  case MPROC_T_BOOL:
    out->v.b = in->v.b;
    return 0;
  case MPROC_T_INT:
    out->v.i = in->v.i;
    return 0;
  case MPROC_T_DOUBLE:
    out->v.d = in->v.d;
    return 0;
  case MPROC_T_STR:
  case MPROC_T_BYTES:
    if (!in->v.s.p && in->v.s.n)
      return mproc__fail(MPROC_EINVAL, "%s: a %s item with NULL data", op,
                         mproc__args_type_name(in->type));
    if (in->v.s.n > WIRE_MAX)
      return mproc__fail(MPROC_ERANGE, "%s: %zu bytes is more than an item holds", op, in->v.s.n);
    if (in->type == MPROC_T_STR &&
        (!in->v.s.p || !mproc__utf8_valid((const unsigned char *)in->v.s.p, in->v.s.n)))
      return mproc__fail(MPROC_EINVAL, "%s: the string is %s", op,
                         in->v.s.p ? "not valid UTF-8" : "NULL");
    out->v.s.p = (char *)(uintptr_t)(in->v.s.p ? in->v.s.p : "");
    out->v.s.n = in->v.s.n;
    return 0;
  case MPROC_T_ARGS:
    if (!in->v.t)
      return mproc__fail(MPROC_EINVAL, "%s: a tuple item with a NULL tuple", op);
    if (in->v.t->depth + 1 > MPROC_ARGS_MAX_DEPTH)
      return mproc__fail(MPROC_EINVAL, "%s: nesting deeper than %d", op, MPROC_ARGS_MAX_DEPTH);
    out->v.t = (mproc_args_t *)(uintptr_t)in->v.t;
    return 0;
  default: {
    const mproc__object_class_t *cls = mproc__args_class_of((unsigned)in->type);
    if (!cls || in->type < MPROC_T_CONN)
      return mproc__fail(MPROC_EINVAL, "%s: item type %d is not one an item can have", op,
                         (int)in->type);
    if (!in->v.obj)
      return mproc__fail(MPROC_EINVAL, "%s: a %s item with a NULL object", op, cls->name);
    out->v.obj.p = in->v.obj;
    out->v.obj.cls = cls;
    return 0;
  }
  }
}

int mproc_args_add_item(mproc_args_t *a, mproc_item_t item) {
  if (!a)
    return mproc__fail(MPROC_EINVAL, "args_add_item: tuple is NULL");
  item_t it;
  int rc = mproc__item_borrow(&item, &it, "args_add_item");
  if (rc)
    return rc;
  switch (it.type) {
  case MPROC_T_NIL:
  case MPROC_T_BOOL:
  case MPROC_T_INT:
  case MPROC_T_DOUBLE:
    return mproc__args_push(a, &it, "args_add_item");
  case MPROC_T_STR:
  case MPROC_T_BYTES:
    return mproc__args_add_blob(a, it.type, it.v.s.p, it.v.s.n, "args_add_item");
  case MPROC_T_ARGS:
    return mproc_args_add_args(a, it.v.t);
  default:
    return mproc__args_add_object(a, it.v.obj.cls, it.v.obj.p);
  }
}

int mproc_args_get_item(const mproc_args_t *a, size_t i, mproc_item_t *out) {
  if (!a || !out)
    return mproc__fail(MPROC_EINVAL, "args_get_item: %s is NULL", a ? "out" : "tuple");
  if (i >= a->count)
    return mproc__fail(MPROC_ERANGE, "args_get_item: index %zu, but the tuple has %zu items", i,
                       a->count);
  const item_t *it = &a->items[i];
  memset(out, 0, sizeof *out);
  out->type = it->type;
  switch (it->type) {
  case MPROC_T_NIL:
    break;
  case MPROC_T_BOOL:
    out->v.b = it->v.b;
    break;
  case MPROC_T_INT:
    out->v.i = it->v.i;
    break;
  case MPROC_T_DOUBLE:
    out->v.d = it->v.d;
    break;
  case MPROC_T_STR:
  case MPROC_T_BYTES:
    out->v.s.p = it->v.s.p;
    out->v.s.n = it->v.s.n;
    break;
  case MPROC_T_ARGS:
    out->v.t = it->v.t;
    break;
  default:
    out->v.obj = it->v.obj.p;
    break;
  }
  return 0;
}

static bool item_holds(const item_t *it, mproc_type_t type) {
  return it->type == type || (it->type == MPROC_T_ARGS && mproc__args_holds(it->v.t, type));
}

bool mproc__item_holds_object(const item_t *it) {
  if (it->type != MPROC_T_ARGS)
    return it->type >= MPROC_T_CONN;
  for (size_t i = 0; i < it->v.t->count; i++)
    if (mproc__item_holds_object(&it->v.t->items[i]))
      return true;
  return false;
}

bool mproc__args_holds(const mproc_args_t *a, mproc_type_t type) {
  for (size_t i = 0; a && i < a->count; i++)
    if (item_holds(&a->items[i], type))
      return true;
  return false;
}

int mproc__args_hold_all(const mproc_args_t *a, mproc_type_t type, mproc__ptrlist_t *held) {
  for (size_t i = 0; a && i < a->count; i++) {
    const item_t *it = &a->items[i];
    int rc = 0;
    void *ref = NULL;
    if (it->type == MPROC_T_ARGS)
      rc = mproc__args_hold_all(it->v.t, type, held);
    else if (it->type == type && it->type >= MPROC_T_CONN &&
             (rc = it->v.obj.cls->hold(it->v.obj.p, &ref)) == 0 &&
             (rc = mproc__ptrlist_add(held, ref)) != 0)
      it->v.obj.cls->release(ref);
    if (rc)
      return rc;
  }
  return 0;
}

void mproc__args_release_all(mproc_type_t type, mproc__ptrlist_t *held) {
  const mproc__object_class_t *cls = mproc__args_class_of((unsigned)type);
  for (size_t i = 0; cls && i < held->n; i++)
    cls->release(held->items[i]);
  mproc__ptrlist_clear(held);
}
