/* Tuples to MessagePack: items as they are, IPC objects as an extension
 * type whose handles travel beside the bytes in a handle table. */
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

#include "args/args_tuple.h"

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

int mproc__args_buf_write(void *data, const char *p, size_t n) {
  return mproc__buf_append(data, p, n) ? -1 : 0;
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

/* ---- scalars and array headers, written in place ------------------------
 * msgpack-c's packer makes a call through its write callback for every
 * header and every scalar, which costs more than the bytes: a map's chunk
 * of ints and a worker's results are mostly those. These write straight
 * into the buffer, in the same shortest forms msgpack-c picks. */

/* Room for n more bytes at the end of the packer's buffer, or NULL. */
static unsigned char *room(msgpack_packer *pk, size_t n) {
  mproc__buf_t *b = pk->data;
  if (b->cap - b->len < n && mproc__buf_reserve(b, n) != 0)
    return NULL;
  return b->data + b->len;
}

/* A one-byte tag and a big-endian number of `bytes` bytes. */
static int put_tagged(msgpack_packer *pk, unsigned char tag, uint64_t v, size_t bytes) {
  unsigned char *p = room(pk, 1 + bytes);
  if (!p)
    return -1;
  p[0] = tag;
  for (size_t i = bytes; i > 0; i--, v >>= 8)
    p[i] = (unsigned char)v;
  ((mproc__buf_t *)pk->data)->len += 1 + bytes;
  return 0;
}

static int put_int(msgpack_packer *pk, int64_t v) {
  if (v >= -32 && v < 128) /* positive or negative fixint */
    return put_tagged(pk, (unsigned char)v, 0, 0);
  if (v >= 0) {
    uint64_t u = (uint64_t)v;
    return u <= UINT8_MAX    ? put_tagged(pk, 0xcc, u, 1)
           : u <= UINT16_MAX ? put_tagged(pk, 0xcd, u, 2)
           : u <= UINT32_MAX ? put_tagged(pk, 0xce, u, 4)
                             : put_tagged(pk, 0xcf, u, 8);
  }
  uint64_t u = (uint64_t)v; /* two's complement, cut to the width below */
  return v >= INT8_MIN    ? put_tagged(pk, 0xd0, u, 1)
         : v >= INT16_MIN ? put_tagged(pk, 0xd1, u, 2)
         : v >= INT32_MIN ? put_tagged(pk, 0xd2, u, 4)
                          : put_tagged(pk, 0xd3, u, 8);
}

static int put_double(msgpack_packer *pk, double d) {
  uint64_t bits;
  memcpy(&bits, &d, sizeof bits);
  return put_tagged(pk, 0xcb, bits, 8);
}

static int put_array(msgpack_packer *pk, size_t n) {
  return n < 16            ? put_tagged(pk, (unsigned char)(0x90 | n), 0, 0)
         : n <= UINT16_MAX ? put_tagged(pk, 0xdc, n, 2)
                           : put_tagged(pk, 0xdd, n, 4);
}

static int pack(msgpack_packer *pk, const mproc_args_t *a, mproc__handle_table_t *table);

static int pack_item(msgpack_packer *pk, const item_t *it, mproc__handle_table_t *table) {
  int rc;
  switch (it->type) {
  case MPROC_T_NIL:
    return put_tagged(pk, 0xc0, 0, 0);
  case MPROC_T_BOOL:
    return put_tagged(pk, it->v.b ? 0xc3 : 0xc2, 0, 0);
  case MPROC_T_INT:
    return put_int(pk, it->v.i);
  case MPROC_T_DOUBLE:
    return put_double(pk, it->v.d);
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
  int rc = put_array(pk, a->count);
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
    return mproc__fail(MPROC_ENOTSUP, "args_encode: the tuple holds an IPC object, which only a "
                                      "child's arguments or a local pool task's arguments and "
                                      "results can carry");
  return rc < -1 ? rc : mproc__fail(MPROC_ENOMEM, "args_encode: out of memory");
}

int mproc__args_encode_into(const mproc_args_t *a, mproc__buf_t *b, mproc__handle_table_t *table) {
  size_t len = b->len, first = table ? table->n : 0;
  int rc = mproc__buf_reserve(b, encoded_bound(a));
  if (rc)
    return rc;
  msgpack_packer pk;
  msgpack_packer_init(&pk, b, mproc__args_buf_write);
  rc = pack(&pk, a, table);
  return rc ? encode_failed(rc, b, len, table, first) : 0;
}

int mproc__args_encode_items(const mproc_args_t *a, size_t first, size_t count, bool wrap,
                             mproc__buf_t *b, mproc__handle_table_t *table) {
  if (first > a->count || count > a->count - first)
    return mproc__fail(MPROC_ERANGE, "args: items %zu..%zu of %zu", first, first + count, a->count);
  size_t len = b->len, nh = table ? table->n : 0;
  msgpack_packer pk;
  msgpack_packer_init(&pk, b, mproc__args_buf_write);
  int rc = put_array(&pk, count);
  for (size_t i = first; i < first + count && rc == 0; i++) {
    const item_t *it = &a->items[i];
    if (!wrap && it->type != MPROC_T_ARGS) {
      b->len = len;
      while (table && table->n > nh)
        mproc__os_close_handle(table->h[--table->n]);
      return mproc__fail(MPROC_ETYPE, "starmap: item %zu is %s, not a tuple of arguments", i,
                         mproc__args_type_name(it->type));
    }
    if (wrap)
      rc = put_array(&pk, 1);
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

int mproc__item_encode(const mproc_item_t *in, mproc__buf_t *b, bool *has_object) {
  item_t it;
  int rc = mproc__item_borrow(in, &it, "item_encode");
  if (rc)
    return rc;
  size_t len = b->len;
  size_t bound = 16 + (it.type == MPROC_T_ARGS ? encoded_bound(it.v.t) : 0) +
                 (it.type == MPROC_T_STR || it.type == MPROC_T_BYTES ? it.v.s.n : 0) +
                 (it.type >= MPROC_T_CONN ? MPROC__OBJECT_INFO_MAX : 0);
  if ((rc = mproc__buf_reserve(b, bound)))
    return rc;
  msgpack_packer pk;
  msgpack_packer_init(&pk, b, mproc__args_buf_write);
  rc = pack_item(&pk, &it, NULL);
  if (rc)
    return encode_failed(rc, b, len, NULL, 0);
  if (has_object)
    *has_object = mproc__item_holds_object(&it);
  return 0;
}
