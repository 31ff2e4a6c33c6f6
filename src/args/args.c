/* Argument tuples and their MessagePack encoding (see docs/args.md).
 *
 * Items own their storage; strings and bytes carry a trailing NUL that is not
 * part of their length, so get_str can hand out a C string and an empty
 * bytes item still has a non-NULL pointer. */
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

#include "args/args_objects.h"
#include "core/internal.h"

typedef struct {
  mproc_type_t type;
  union {
    bool b;
    int64_t i;
    double d;
    struct {
      char *p;
      size_t n;
    } s; /* MPROC_T_STR and MPROC_T_BYTES */
    mproc_args_t *t;
    struct {
      void *p; /* the tuple's own hold: a duplicate (conn) or a reference */
      const mproc__object_class_t *cls;
    } obj; /* MPROC_T_CONN and later types */
  } v;
} item_t;

/* Small tuples - a map item, most results - keep their items inside the
 * tuple itself: one allocation, not two. */
enum { INLINE_ITEMS = 2 };

struct mproc_args {
  item_t *items; /* inline_items, or a separate allocation once it grows */
  size_t count;
  size_t cap;
  int depth; /* 1 + the deepest nested tuple */
  item_t inline_items[INLINE_ITEMS];
};

/* MessagePack's 32-bit length fields bound every count and size. */
#define WIRE_MAX ((size_t)UINT32_MAX)

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
  return 0;
}

static void item_clear(item_t *it) {
  if (it->type == MPROC_T_STR || it->type == MPROC_T_BYTES)
    free(it->v.s.p);
  else if (it->type == MPROC_T_ARGS)
    mproc_args_free(it->v.t);
  else if (it->type >= MPROC_T_CONN)
    it->v.obj.cls->release(it->v.obj.p);
}

void mproc_args_free(mproc_args_t *a) {
  if (!a)
    return;
  for (size_t i = 0; i < a->count; i++)
    item_clear(&a->items[i]);
  if (a->items != a->inline_items)
    free(a->items);
  free(a);
}

/* Appends a filled item; on failure the caller still owns its storage. */
static int push(mproc_args_t *a, const item_t *it, const char *op) {
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
static int push_tuple(mproc_args_t *a, mproc_args_t *t, const char *op) {
  item_t it = {.type = MPROC_T_ARGS, .v.t = t};
  int rc = push(a, &it, op);
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
  return push(a, &it, "args_add_nil");
}

int mproc_args_add_bool(mproc_args_t *a, bool v) {
  if (!a)
    return mproc__fail(MPROC_EINVAL, "args_add_bool: tuple is NULL");
  item_t it = {.type = MPROC_T_BOOL, .v.b = v};
  return push(a, &it, "args_add_bool");
}

int mproc_args_add_int(mproc_args_t *a, int64_t v) {
  if (!a)
    return mproc__fail(MPROC_EINVAL, "args_add_int: tuple is NULL");
  item_t it = {.type = MPROC_T_INT, .v.i = v};
  return push(a, &it, "args_add_int");
}

int mproc_args_add_double(mproc_args_t *a, double v) {
  if (!a)
    return mproc__fail(MPROC_EINVAL, "args_add_double: tuple is NULL");
  item_t it = {.type = MPROC_T_DOUBLE, .v.d = v};
  return push(a, &it, "args_add_double");
}

/* Adds a copy of n bytes as a string or bytes item. */
static int add_blob(mproc_args_t *a, mproc_type_t type, const void *p, size_t n, const char *op) {
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
  int rc = push(a, &it, op);
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
  return add_blob(a, MPROC_T_STR, s, n, "args_add_str");
}

int mproc_args_add_bytes(mproc_args_t *a, const void *p, size_t n) {
  if (!a || (!p && n))
    return mproc__fail(MPROC_EINVAL, "args_add_bytes: %s is NULL", a ? "data" : "tuple");
  return add_blob(a, MPROC_T_BYTES, p, n, "args_add_bytes");
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
      rc = add_blob(t, it->type, it->v.s.p, it->v.s.n, "args_add_args");
      break;
    case MPROC_T_ARGS:
      rc = mproc_args_add_args(t, it->v.t);
      break;
    default:
      rc = it->type >= MPROC_T_CONN ? mproc__args_add_object(t, it->v.obj.cls, it->v.obj.p)
                                    : push(t, it, "args_add_args");
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
  return rc ? rc : push_tuple(a, copy, "args_add_args");
}

int mproc__args_copy(const mproc_args_t *a, mproc_args_t **out) { return copy_args(a, out); }

int mproc__args_add_tuple_owned(mproc_args_t *a, mproc_args_t *t) {
  if (t->depth + 1 > MPROC_ARGS_MAX_DEPTH) {
    mproc_args_free(t);
    return mproc__fail(MPROC_EINVAL, "args: tuples nest at most %d deep", MPROC_ARGS_MAX_DEPTH);
  }
  return push_tuple(a, t, "args");
}

int mproc__args_take_tuple(mproc_args_t *a, size_t i, mproc_args_t **out) {
  if (i >= a->count || a->items[i].type != MPROC_T_ARGS)
    return mproc__fail(MPROC_ETYPE, "args: item %zu is not a tuple", i);
  *out = a->items[i].v.t;
  a->items[i] = (item_t){.type = MPROC_T_NIL};
  return 0;
}

int mproc__args_put_tuple(mproc_args_t *a, size_t i, mproc_args_t *t) {
  if (i >= a->count || t->depth + 1 > MPROC_ARGS_MAX_DEPTH) {
    mproc_args_free(t);
    return mproc__fail(i >= a->count ? MPROC_ERANGE : MPROC_EINVAL,
                       "args: cannot put a tuple at item %zu", i);
  }
  item_clear(&a->items[i]);
  a->items[i] = (item_t){.type = MPROC_T_ARGS, .v.t = t};
  if (t->depth + 1 > a->depth)
    a->depth = t->depth + 1;
  return 0;
}

size_t mproc_args_count(const mproc_args_t *a) { return a ? a->count : 0; }

mproc_type_t mproc_args_type(const mproc_args_t *a, size_t i) {
  return (a && i < a->count) ? a->items[i].type : MPROC_T_NIL;
}

static const char *type_name(mproc_type_t t) {
  static const char *names[] = {"nil",   "bool",  "int",   "double", "str",  "bytes", "args",
                                "conn",  "lock",  "rlock", "sem",    "cond", "event", "barrier",
                                "value", "array", "queue", "shm",    "proxy"};
  return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "?";
}

/* Finds item i of the wanted type, or fails with a detail naming both. */
static int lookup(const mproc_args_t *a, size_t i, const void *out, mproc_type_t want,
                  const item_t **it) {
  if (!a || !out)
    return mproc__fail(MPROC_EINVAL, "args_get_%s: %s is NULL", type_name(want),
                       a ? "out" : "tuple");
  if (i >= a->count)
    return mproc__fail(MPROC_ERANGE, "args_get_%s: index %zu, but the tuple has %zu items",
                       type_name(want), i, a->count);
  if (a->items[i].type != want)
    return mproc__fail(MPROC_ETYPE, "args_get_%s: item %zu is %s", type_name(want), i,
                       type_name(a->items[i].type));
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
  rc = push(a, &it, "args_add_object");
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

/* ---- encoding ----------------------------------------------------------- */

/* An upper bound of the encoding's size, so the buffer is allocated once
 * even for tuples of many megabytes. 9 bytes is the largest header. */
static size_t encoded_bound(const mproc_args_t *a) {
  size_t n = 5;
  for (size_t i = 0; i < a->count; i++) {
    const item_t *it = &a->items[i];
    n += 9;
    if (it->type == MPROC_T_STR || it->type == MPROC_T_BYTES)
      n += it->v.s.n;
    else if (it->type == MPROC_T_ARGS)
      n += encoded_bound(it->v.t);
    else if (it->type >= MPROC_T_CONN)
      n += MPROC__OBJECT_INFO_MAX; /* an object's body beyond its 9-byte head */
  }
  return n;
}

static int buf_write(void *data, const char *p, size_t n) {
  return mproc__buf_append(data, p, n) ? -1 : 0;
}

/* An IPC object on the wire: ext type MPROC__EXT_OBJECT, 7 bytes: kind (its
 * item type), flags, u32 index of its first handle in the handle table that
 * travels beside the bytes, u8 count of its handles; then the class's info
 * bytes (up to MPROC__OBJECT_INFO_MAX). */
enum { OBJECT_HEAD = 7 };

int mproc__info_put(mproc__object_info_t *info, uint64_t v, size_t n) {
  if (info->len + n > MPROC__OBJECT_INFO_MAX)
    return MPROC_ERANGE;
  for (size_t i = 0; i < n; i++)
    info->bytes[info->len++] = (unsigned char)(v >> (8 * i));
  return 0;
}

int mproc__info_get(mproc__info_reader_t *r, size_t n, uint64_t *v) {
  if (r->left < n)
    return mproc__fail(MPROC_EPROTO, "args_decode: an IPC object's description is cut short");
  *v = 0;
  for (size_t i = 0; i < n; i++)
    *v |= (uint64_t)r->p[i] << (8 * i);
  r->p += n;
  r->left -= n;
  return 0;
}

/* A portable object (a manager's proxy) has no handles: its info is all. */
static int pack_portable(msgpack_packer *pk, const item_t *it, bool to_own_child) {
  size_t n = 0;
  mproc__object_info_t info = {.to_own_child = to_own_child};
  int rc = it->v.obj.cls->export_handles(it->v.obj.p, NULL, 0, &n, &info);
  if (rc)
    return rc;
  unsigned char body[OBJECT_HEAD + MPROC__OBJECT_INFO_MAX] = {(unsigned char)it->type, info.flags};
  memcpy(body + OBJECT_HEAD, info.bytes, info.len);
  rc = msgpack_pack_ext(pk, OBJECT_HEAD + info.len, MPROC__EXT_OBJECT);
  return rc ? rc : msgpack_pack_ext_body(pk, body, OBJECT_HEAD + info.len);
}

static int pack_object(msgpack_packer *pk, const item_t *it, mproc__handle_table_t *table) {
  if (it->v.obj.cls->portable)
    return pack_portable(pk, it, table != NULL);
  if (!table)
    return MPROC_ENOTSUP;
  size_t n = 0;
  mproc__object_info_t info = {.to_own_child = true};
  int rc = mproc__handle_table_reserve(table, MPROC__OBJECT_HANDLES_MAX);
  if (rc)
    return rc;
  rc = it->v.obj.cls->export_handles(it->v.obj.p, table->h + table->n, MPROC__OBJECT_HANDLES_MAX,
                                     &n, &info);
  if (rc == MPROC_ERANGE)
    return mproc__fail(MPROC_ERANGE, "args: a %s needs more than %d handles", it->v.obj.cls->name,
                       MPROC__OBJECT_HANDLES_MAX);
  if (rc)
    return rc;
  if (table->n > UINT32_MAX - n) {
    for (size_t i = 0; i < n; i++)
      mproc__os_close_handle(table->h[table->n + i]);
    return mproc__fail(MPROC_ERANGE, "args: more than 2^32 handles");
  }
  unsigned char body[OBJECT_HEAD + MPROC__OBJECT_INFO_MAX] = {(unsigned char)it->type, info.flags};
  mproc__put_u32(body + 2, (uint32_t)table->n);
  body[6] = (unsigned char)n;
  memcpy(body + OBJECT_HEAD, info.bytes, info.len);
  table->n += n;
  rc = msgpack_pack_ext(pk, OBJECT_HEAD + info.len, MPROC__EXT_OBJECT);
  return rc ? rc : msgpack_pack_ext_body(pk, body, OBJECT_HEAD + info.len);
}

static int pack(msgpack_packer *pk, const mproc_args_t *a, mproc__handle_table_t *table);

static int pack_item(msgpack_packer *pk, const item_t *it, mproc__handle_table_t *table) {
  int rc;
  switch (it->type) {
  case MPROC_T_NIL:
    return msgpack_pack_nil(pk);
  case MPROC_T_BOOL:
    return it->v.b ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
  case MPROC_T_INT:
    return msgpack_pack_int64(pk, it->v.i);
  case MPROC_T_DOUBLE:
    return msgpack_pack_double(pk, it->v.d);
  case MPROC_T_STR:
    rc = msgpack_pack_str(pk, it->v.s.n);
    return rc ? rc : msgpack_pack_str_body(pk, it->v.s.p, it->v.s.n);
  case MPROC_T_BYTES:
    rc = msgpack_pack_bin(pk, it->v.s.n);
    return rc ? rc : msgpack_pack_bin_body(pk, it->v.s.p, it->v.s.n);
  case MPROC_T_ARGS:
    return pack(pk, it->v.t, table);
  default:
    return pack_object(pk, it, table);
  }
}

static int pack(msgpack_packer *pk, const mproc_args_t *a, mproc__handle_table_t *table) {
  int rc = msgpack_pack_array(pk, a->count);
  for (size_t i = 0; i < a->count && rc == 0; i++)
    rc = pack_item(pk, &a->items[i], table);
  return rc;
}

/* Undoes a failed append to b and table; turns rc into a detail. */
static int encode_failed(int rc, mproc__buf_t *b, size_t len, mproc__handle_table_t *table,
                         size_t first) {
  b->len = len;
  while (table && table->n > first)
    mproc__os_close_handle(table->h[--table->n]);
  if (rc == MPROC_ENOTSUP)
    return mproc__fail(MPROC_ENOTSUP, "args_encode: the tuple holds an IPC object, which "
                                      "only a child's or a pool task's arguments can carry");
  return rc < -1 ? rc : mproc__fail(MPROC_ENOMEM, "args_encode: out of memory");
}

int mproc__args_encode_into(const mproc_args_t *a, mproc__buf_t *b, mproc__handle_table_t *table) {
  size_t len = b->len, first = table ? table->n : 0;
  int rc = mproc__buf_reserve(b, encoded_bound(a));
  if (rc)
    return rc;
  msgpack_packer pk;
  msgpack_packer_init(&pk, b, buf_write);
  rc = pack(&pk, a, table);
  return rc ? encode_failed(rc, b, len, table, first) : 0;
}

int mproc__args_encode_items(const mproc_args_t *a, size_t first, size_t count, bool wrap,
                             mproc__buf_t *b, mproc__handle_table_t *table) {
  if (first > a->count || count > a->count - first)
    return mproc__fail(MPROC_ERANGE, "args: items %zu..%zu of %zu", first, first + count, a->count);
  size_t len = b->len, nh = table ? table->n : 0;
  msgpack_packer pk;
  msgpack_packer_init(&pk, b, buf_write);
  int rc = msgpack_pack_array(&pk, count);
  for (size_t i = first; i < first + count && rc == 0; i++) {
    const item_t *it = &a->items[i];
    if (!wrap && it->type != MPROC_T_ARGS) {
      b->len = len;
      while (table && table->n > nh)
        mproc__os_close_handle(table->h[--table->n]);
      return mproc__fail(MPROC_ETYPE, "starmap: item %zu is %s, not a tuple of arguments", i,
                         type_name(it->type));
    }
    if (wrap)
      rc = msgpack_pack_array(&pk, 1);
    if (rc == 0)
      rc = pack_item(&pk, it, table);
  }
  return rc ? encode_failed(rc, b, len, table, nh) : 0;
}

static int encode(const mproc_args_t *a, void **buf, size_t *len, mproc__handle_table_t *table) {
  if (!a || !buf || !len)
    return mproc__fail(MPROC_EINVAL, "args_encode: %s is NULL",
                       !a     ? "tuple"
                       : !buf ? "buf"
                              : "len");
  mproc__buf_t b = {0};
  int rc = mproc__args_encode_into(a, &b, table);
  if (rc) {
    mproc__buf_free(&b);
    return rc;
  }
  *buf = b.data;
  *len = b.len;
  return 0;
}

int mproc_args_encode(const mproc_args_t *a, void **buf, size_t *len) {
  return encode(a, buf, len, NULL);
}

int mproc__args_encode_objects(const mproc_args_t *a, void **buf, size_t *len,
                               mproc__handle_table_t *table) {
  return encode(a, buf, len, table);
}

int mproc__handle_table_reserve(mproc__handle_table_t *t, size_t extra) {
  if (t->cap - t->n >= extra)
    return 0;
  if (extra > SIZE_MAX / sizeof *t->h / 2 - t->n)
    return mproc__fail(MPROC_ENOMEM, "handle table: out of memory");
  size_t cap = t->cap ? t->cap : 16;
  while (cap - t->n < extra)
    cap *= 2;
  intptr_t *h = realloc(t->h, cap * sizeof *h);
  if (!h)
    return mproc__fail(MPROC_ENOMEM, "handle table: out of memory");
  t->h = h;
  t->cap = cap;
  return 0;
}

int mproc__handle_table_push(mproc__handle_table_t *t, intptr_t h) {
  int rc = mproc__handle_table_reserve(t, 1);
  if (rc) {
    mproc__os_close_handle(h);
    return rc;
  }
  t->h[t->n++] = h;
  return 0;
}

void mproc__handle_table_close(mproc__handle_table_t *t) {
  for (size_t i = 0; i < t->n; i++)
    mproc__os_close_handle(t->h[i]);
  t->n = 0;
}

void mproc__handle_table_free(mproc__handle_table_t *t) {
  mproc__handle_table_close(t);
  free(t->h);
  t->h = NULL;
  t->cap = 0;
}

/* ---- decoding ----------------------------------------------------------- */

/* Where decoded objects get their handles (NULL: objects are refused). */
typedef struct {
  const intptr_t *h;
  size_t n;
  bool take;  /* take ownership of each handle (else duplicate it) */
  bool *used; /* take: used[i] once handle i was taken */
} handles_t;

static const mproc__object_class_t *const classes[] = {
    &mproc__conn_class,  &mproc__lock_class,  &mproc__rlock_class,   &mproc__sem_class,
    &mproc__cond_class,  &mproc__event_class, &mproc__barrier_class, &mproc__value_class,
    &mproc__array_class, &mproc__queue_class, &mproc__shm_class,     &mproc__proxy_class,
};

static const mproc__object_class_t *class_of(unsigned kind) {
  for (size_t i = 0; i < sizeof classes / sizeof classes[0]; i++)
    if ((unsigned)classes[i]->type == kind)
      return classes[i];
  return NULL;
}

/* The handles of an object that takes n of them from the table, from
 * index first: taken over or duplicated, as the table says. */
static int object_handles(handles_t *hs, uint32_t first, uint32_t n, intptr_t *h) {
  if (!hs)
    return mproc__fail(MPROC_EPROTO, "args_decode: an IPC object outside a handle table");
  bool ok = n > 0 && n <= MPROC__OBJECT_HANDLES_MAX && first < hs->n && n <= hs->n - first;
  for (uint32_t i = 0; ok && hs->take && i < n; i++)
    ok = !hs->used[first + i];
  if (!ok)
    return mproc__fail(MPROC_EPROTO, "args_decode: a bad IPC object reference");
  for (uint32_t i = 0; i < n; i++) {
    int rc;
    h[i] = hs->h[first + i];
    if (hs->take)
      hs->used[first + i] = true;
    else if ((rc = mproc__os_dup_handle(h[i], &h[i])) != 0) {
      while (i-- > 0)
        mproc__os_close_handle(h[i]);
      return rc;
    }
  }
  return 0;
}

static int convert_object(mproc_args_t *t, int8_t type, const unsigned char *body, size_t size,
                          handles_t *hs) {
  if (type != MPROC__EXT_OBJECT || size < OBJECT_HEAD ||
      size > OBJECT_HEAD + MPROC__OBJECT_INFO_MAX)
    return mproc__fail(MPROC_EPROTO, "args_decode: unsupported extension type %d", type);
  const mproc__object_class_t *cls = class_of(body[0]);
  uint32_t first = mproc__get_u32(body + 2), n = body[6];
  if (!cls)
    return mproc__fail(MPROC_EPROTO, "args_decode: an object of unknown kind %u", body[0]);
  intptr_t h[MPROC__OBJECT_HANDLES_MAX];
  int rc = cls->portable ? (n ? mproc__fail(MPROC_EPROTO, "args_decode: a bad %s", cls->name) : 0)
                         : object_handles(hs, first, n, h);
  void *obj;
  mproc__info_reader_t info = {body + OBJECT_HEAD, size - OBJECT_HEAD};
  if (rc || (rc = cls->import_handles(&obj, cls->portable ? NULL : h, n, body[1], &info)))
    return rc;
  item_t it = {.type = cls->type, .v.obj = {obj, cls}};
  rc = push(t, &it, "args_decode");
  if (rc)
    cls->release(obj);
  return rc;
}

/* A reader over MessagePack that mproc__msgpack_check has accepted: every
 * length it meets fits in what is left, and nesting is bounded, so it
 * reads without bounds checks of its own and allocates only the tuple. */
typedef struct {
  const unsigned char *p;
} reader_t;

static uint64_t take_be(reader_t *r, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; i++)
    v = (v << 8) | *r->p++;
  return v;
}

static int read_tuple(reader_t *r, uint64_t n, mproc_args_t **out, handles_t *hs);

static int read_str(mproc_args_t *t, reader_t *r, size_t n) {
  const unsigned char *s = r->p;
  r->p += n;
  if (n && memchr(s, '\0', n))
    return mproc__fail(MPROC_EPROTO, "args_decode: string contains a NUL byte");
  if (!mproc__utf8_valid(s, n))
    return mproc__fail(MPROC_EPROTO, "args_decode: string is not valid UTF-8");
  return add_blob(t, MPROC_T_STR, s, n, "args_decode");
}

static int read_bin(mproc_args_t *t, reader_t *r, size_t n) {
  const unsigned char *b = r->p;
  r->p += n;
  return add_blob(t, MPROC_T_BYTES, b, n, "args_decode");
}

static int read_ext(mproc_args_t *t, reader_t *r, size_t n, handles_t *hs) {
  int8_t type = (int8_t)*r->p++;
  const unsigned char *body = r->p;
  r->p += n;
  return convert_object(t, type, body, n, hs);
}

static int read_nested(mproc_args_t *t, reader_t *r, uint64_t n, handles_t *hs) {
  mproc_args_t *nested;
  int rc = read_tuple(r, n, &nested, hs);
  return rc ? rc : push_tuple(t, nested, "args_decode");
}

static int read_uint(mproc_args_t *t, uint64_t v) {
  if (v > (uint64_t)INT64_MAX)
    return mproc__fail(MPROC_EPROTO, "args_decode: integer %llu is above INT64_MAX",
                       (unsigned long long)v);
  return mproc_args_add_int(t, (int64_t)v);
}

static int read_item(mproc_args_t *t, reader_t *r, handles_t *hs) {
  unsigned c = *r->p++;
  if (c <= 0x7f)
    return mproc_args_add_int(t, (int64_t)c);
  if (c >= 0xe0)
    return mproc_args_add_int(t, (int64_t)(int8_t)c);
  if (c >= 0x90 && c <= 0x9f)
    return read_nested(t, r, c & 0x0f, hs);
  if (c >= 0xa0 && c <= 0xbf)
    return read_str(t, r, c & 0x1f);
  switch (c) {
  case 0xc0:
    return mproc_args_add_nil(t);
  case 0xc2:
  case 0xc3:
    return mproc_args_add_bool(t, c == 0xc3);
  case 0xc4:
  case 0xc5:
  case 0xc6:
    return read_bin(t, r, (size_t)take_be(r, 1 << (c - 0xc4)));
  case 0xc7:
  case 0xc8:
  case 0xc9:
    return read_ext(t, r, (size_t)take_be(r, 1 << (c - 0xc7)), hs);
  case 0xca: {
    uint32_t bits = (uint32_t)take_be(r, 4);
    float f;
    memcpy(&f, &bits, sizeof f);
    return mproc_args_add_double(t, (double)f);
  }
  case 0xcb: {
    uint64_t bits = take_be(r, 8);
    double d;
    memcpy(&d, &bits, sizeof d);
    return mproc_args_add_double(t, d);
  }
  case 0xcc:
  case 0xcd:
  case 0xce:
  case 0xcf:
    return read_uint(t, take_be(r, 1 << (c - 0xcc)));
  case 0xd0:
    return mproc_args_add_int(t, (int8_t)take_be(r, 1));
  case 0xd1:
    return mproc_args_add_int(t, (int16_t)take_be(r, 2));
  case 0xd2:
    return mproc_args_add_int(t, (int32_t)take_be(r, 4));
  case 0xd3:
    return mproc_args_add_int(t, (int64_t)take_be(r, 8));
  case 0xd4:
  case 0xd5:
  case 0xd6:
  case 0xd7:
  case 0xd8:
    return read_ext(t, r, (size_t)1 << (c - 0xd4), hs);
  case 0xd9:
  case 0xda:
  case 0xdb:
    return read_str(t, r, (size_t)take_be(r, 1 << (c - 0xd9)));
  case 0xdc:
  case 0xdd:
    return read_nested(t, r, take_be(r, c == 0xdc ? 2 : 4), hs);
  default: /* maps (0x80-0x8f, 0xde, 0xdf) are not tuples; 0xc1 is unused */
    return mproc__fail(MPROC_EPROTO, "args_decode: unsupported MessagePack type 0x%02x", c);
  }
}

/* Reads n items into t, which is empty. */
static int fill_tuple(reader_t *r, uint64_t n, mproc_args_t *t, handles_t *hs) {
  if (n > t->cap) {
    item_t *items = malloc((size_t)n * sizeof *items);
    if (!items)
      return mproc__fail(MPROC_ENOMEM, "args_decode: out of memory");
    if (t->items != t->inline_items)
      free(t->items);
    t->items = items;
    t->cap = (size_t)n;
  }
  int rc = 0;
  for (uint64_t i = 0; i < n && rc == 0; i++)
    rc = read_item(t, r, hs);
  return rc;
}

static int read_tuple(reader_t *r, uint64_t n, mproc_args_t **out, handles_t *hs) {
  mproc_args_t *t;
  int rc = mproc_args_new(&t);
  if (!rc)
    rc = fill_tuple(r, n, t, hs);
  if (rc) {
    mproc_args_free(t);
    return rc;
  }
  *out = t;
  return 0;
}

/* An array's header at r: its length, or -1 when it is no array. */
static int64_t array_header(reader_t *r) {
  unsigned c = *r->p++;
  if (c >= 0x90 && c <= 0x9f)
    return c & 0x0f;
  if (c == 0xdc || c == 0xdd)
    return (int64_t)take_be(r, c == 0xdc ? 2 : 4);
  return -1;
}

static int decode(mproc_args_t **out, const void *buf, size_t len, handles_t *hs) {
  if (!out || (!buf && len))
    return mproc__fail(MPROC_EINVAL, "args_decode: %s is NULL", out ? "buf" : "out");
  if (mproc__msgpack_check(buf, len, MPROC_ARGS_MAX_DEPTH) != 0)
    return mproc__fail(MPROC_EPROTO,
                       "args_decode: %zu bytes are not one well-formed MessagePack object "
                       "nested at most %d deep",
                       len, MPROC_ARGS_MAX_DEPTH);
  reader_t r = {buf};
  int64_t n = array_header(&r);
  if (n < 0)
    return mproc__fail(MPROC_EPROTO, "args_decode: the top-level object is not an array");
  return read_tuple(&r, (uint64_t)n, out, hs);
}

int mproc_args_decode(mproc_args_t **out, const void *buf, size_t len) {
  return decode(out, buf, len, NULL);
}

void mproc__args_clear(mproc_args_t *a) {
  for (size_t i = 0; i < a->count; i++)
    item_clear(&a->items[i]);
  a->count = 0;
  a->depth = 1;
}

struct mproc__args_stream {
  reader_t r;
  uint64_t left;
  handles_t hs;
};

int mproc__args_stream_open(mproc__args_stream_t **out, const void *buf, size_t len,
                            const intptr_t *handles, size_t n, size_t *count) {
  mproc__args_stream_t *s = calloc(1, sizeof *s);
  int rc = s ? 0 : mproc__fail(MPROC_ENOMEM, "args_decode: out of memory");
  if (!rc && n && !(s->hs.used = calloc(n, sizeof *s->hs.used)))
    rc = mproc__fail(MPROC_ENOMEM, "args_decode: out of memory");
  if (!rc && mproc__msgpack_check(buf, len, MPROC_ARGS_MAX_DEPTH) != 0)
    rc = mproc__fail(MPROC_EPROTO,
                     "args_decode: %zu bytes are not one well-formed "
                     "MessagePack object",
                     len);
  int64_t items = -1;
  if (!rc) {
    s->r.p = buf;
    if ((items = array_header(&s->r)) < 0)
      rc = mproc__fail(MPROC_EPROTO, "args_decode: the top-level object is not an array");
  }
  if (s) {
    s->hs.h = handles;
    s->hs.n = n;
    s->hs.take = true;
  }
  if (rc) {
    mproc__args_stream_close(s);
    for (size_t i = 0; !s && i < n; i++)
      mproc__os_close_handle(handles[i]);
    return rc;
  }
  s->left = (uint64_t)items;
  *count = (size_t)items;
  *out = s;
  return 0;
}

int mproc__args_stream_next(mproc__args_stream_t *s, mproc_args_t *into) {
  mproc__args_clear(into);
  if (s->left == 0)
    return mproc__fail(MPROC_ERANGE, "args_decode: no item left");
  s->left--;
  int64_t n = array_header(&s->r);
  if (n < 0)
    return mproc__fail(MPROC_ETYPE, "args_decode: an item that is not a tuple");
  int rc = fill_tuple(&s->r, (uint64_t)n, into, &s->hs);
  if (rc)
    mproc__args_clear(into);
  return rc;
}

void mproc__args_stream_close(mproc__args_stream_t *s) {
  if (!s)
    return;
  for (size_t i = 0; i < s->hs.n; i++)
    if (!s->hs.used || !s->hs.used[i])
      mproc__os_close_handle(s->hs.h[i]);
  free(s->hs.used);
  free(s);
}

int mproc__msgpack_put_array(mproc__buf_t *b, size_t n) {
  msgpack_packer pk;
  msgpack_packer_init(&pk, b, buf_write);
  return msgpack_pack_array(&pk, n) ? MPROC_ENOMEM : 0;
}

int mproc__msgpack_put_nil(mproc__buf_t *b) {
  static const unsigned char nil = 0xc0;
  return mproc__buf_append(b, &nil, 1);
}

int mproc__args_decode_objects(mproc_args_t **out, const void *buf, size_t len,
                               const intptr_t *handles, size_t n, bool take) {
  handles_t hs = {handles, n, take, NULL};
  if (take && n && !(hs.used = calloc(n, sizeof *hs.used)))
    return mproc__fail(MPROC_ENOMEM, "args_decode: out of memory");
  int rc = decode(out, buf, len, &hs);
  /* What no object took is of no use to anyone: close it, whatever the
   * outcome, so a hostile table cannot leak descriptors into a child. */
  for (size_t i = 0; take && i < n; i++)
    if (!hs.used[i])
      mproc__os_close_handle(handles[i]);
  free(hs.used);
  return rc;
}

/* ---- single items -------------------------------------------------------- */

/* What a borrowed item describes, as the tuple's own item type, with
 * pointers borrowed (never freed: the caller's item owns them). */
static int borrow_item(const mproc_item_t *in, item_t *out, const char *op) {
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
      return mproc__fail(MPROC_EINVAL, "%s: a %s item with NULL data", op, type_name(in->type));
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
    const mproc__object_class_t *cls = class_of((unsigned)in->type);
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
  int rc = borrow_item(&item, &it, "args_add_item");
  if (rc)
    return rc;
  switch (it.type) {
  case MPROC_T_NIL:
  case MPROC_T_BOOL:
  case MPROC_T_INT:
  case MPROC_T_DOUBLE:
    return push(a, &it, "args_add_item");
  case MPROC_T_STR:
  case MPROC_T_BYTES:
    return add_blob(a, it.type, it.v.s.p, it.v.s.n, "args_add_item");
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

static bool item_holds_object(const item_t *it) {
  if (it->type != MPROC_T_ARGS)
    return it->type >= MPROC_T_CONN;
  for (size_t i = 0; i < it->v.t->count; i++)
    if (item_holds_object(&it->v.t->items[i]))
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
  const mproc__object_class_t *cls = class_of((unsigned)type);
  for (size_t i = 0; cls && i < held->n; i++)
    cls->release(held->items[i]);
  mproc__ptrlist_clear(held);
}

int mproc__item_encode(const mproc_item_t *in, mproc__buf_t *b, bool *has_object) {
  item_t it;
  int rc = borrow_item(in, &it, "item_encode");
  if (rc)
    return rc;
  size_t len = b->len;
  size_t bound = 16 + (it.type == MPROC_T_ARGS ? encoded_bound(it.v.t) : 0) +
                 (it.type == MPROC_T_STR || it.type == MPROC_T_BYTES ? it.v.s.n : 0) +
                 (it.type >= MPROC_T_CONN ? MPROC__OBJECT_INFO_MAX : 0);
  if ((rc = mproc__buf_reserve(b, bound)))
    return rc;
  msgpack_packer pk;
  msgpack_packer_init(&pk, b, buf_write);
  rc = pack_item(&pk, &it, NULL);
  if (rc)
    return encode_failed(rc, b, len, NULL, 0);
  if (has_object)
    *has_object = item_holds_object(&it);
  return 0;
}
