/* MessagePack to tuples: checked as it is read (a fuzzed input gives an
 * error, never a crash), IPC objects rebuilt from their handles; and the
 * stream that reads a map's items one at a time. */
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

#include "args/args_tuple.h"

/* ---- decoding ----------------------------------------------------------- */

/* Where decoded objects get their handles (NULL: objects are refused). */
typedef struct {
  const intptr_t *h;
  size_t n;
  bool take;  /* take ownership of each handle (else duplicate it) */
  bool *used; /* take: used[i] once handle i was taken */
} handles_t;

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
  const mproc__object_class_t *cls = mproc__args_class_of(body[0]);
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
  rc = mproc__args_push(t, &it, "args_decode");
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
  return mproc__args_add_blob(t, MPROC_T_STR, s, n, "args_decode");
}

static int read_bin(mproc_args_t *t, reader_t *r, size_t n) {
  const unsigned char *b = r->p;
  r->p += n;
  return mproc__args_add_blob(t, MPROC_T_BYTES, b, n, "args_decode");
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
  return rc ? rc : mproc__args_push_tuple(t, nested, "args_decode");
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

/* Steps over one object at r, which mproc__msgpack_check has accepted. */
static void skip_object(reader_t *r) {
  for (uint64_t left = 1; left > 0; left--) {
    unsigned c = *r->p++;
    if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3)
      continue;
    if (c >= 0x80 && c <= 0x9f) { /* fixmap, fixarray */
      left += (c & 0x0f) * (c <= 0x8f ? 2u : 1u);
      continue;
    }
    if (c >= 0xa0 && c <= 0xbf) {
      r->p += c & 0x1f;
      continue;
    }
    if (c == 0xc4 || c == 0xc5 || c == 0xc6) /* bin */
      r->p += take_be(r, 1 << (c - 0xc4));
    else if (c == 0xc7 || c == 0xc8 || c == 0xc9) /* ext: length, then type */
      r->p += take_be(r, 1 << (c - 0xc7)) + 1;
    else if (c == 0xca || c == 0xcb)
      r->p += c == 0xca ? 4 : 8;
    else if (c >= 0xcc && c <= 0xcf)
      r->p += 1u << (c - 0xcc);
    else if (c >= 0xd0 && c <= 0xd3)
      r->p += 1u << (c - 0xd0);
    else if (c >= 0xd4 && c <= 0xd8) /* fixext: type, then data */
      r->p += 1 + (1u << (c - 0xd4));
    else if (c >= 0xd9 && c <= 0xdb) /* str */
      r->p += take_be(r, 1 << (c - 0xd9));
    else if (c == 0xdc || c == 0xdd)
      left += take_be(r, c == 0xdc ? 2 : 4);
    else if (c == 0xde || c == 0xdf)
      left += 2 * take_be(r, c == 0xde ? 2 : 4);
  }
}

int mproc__args_split_results(const void *buf, size_t len, size_t count, size_t *at, size_t *at_len,
                              size_t *tuples, mproc_args_t **rest) {
  *tuples = 0;
  *rest = NULL;
  /* The first array's items land one level below a map's tuple: nested as
   * deep as anything here may be, they still fit. */
  if (mproc__msgpack_check(buf, len, MPROC_ARGS_MAX_DEPTH) != 0)
    return mproc__fail(MPROC_EPROTO,
                       "args_decode: %zu bytes are not one well-formed MessagePack object", len);
  reader_t r = {buf};
  int64_t n = array_header(&r);
  if (n < 1 || array_header(&r) != (int64_t)count)
    return mproc__fail(MPROC_EPROTO, "args_decode: no array of %zu items first", count);
  *at = (size_t)(r.p - (const unsigned char *)buf);
  for (size_t i = 0; i < count; i++) {
    unsigned c = *r.p;
    if (c != 0xc0 && !(c >= 0x90 && c <= 0x9f) && c != 0xdc && c != 0xdd)
      return mproc__fail(MPROC_EPROTO, "args_decode: item %zu is neither a tuple nor nil", i);
    *tuples += c != 0xc0;
    skip_object(&r);
  }
  *at_len = (size_t)(r.p - (const unsigned char *)buf) - *at;
  return read_tuple(&r, (uint64_t)n - 1, rest, NULL);
}

/* Where a chunk's result tuples are made: one block, allocated at the
 * first tuple that is not empty and sized for the items left then - a
 * chunk of empty results (a map at chunksize 1 of tasks returning
 * nothing) allocates nothing; without memory for a block, each alone. */
typedef struct {
  mproc__args_block_t *block;
  size_t size, used;
  bool tried;
} slots_t;

static int slot_tuple(slots_t *s, size_t left, mproc_args_t **t) {
  if (!s->tried) {
    s->tried = true;
    s->block = mproc__args_block_new(left);
    s->size = left;
  }
  if (!s->block)
    return mproc_args_new(t);
  *t = mproc__args_block_tuple(s->block, s->used++);
  return 0;
}

/* Item at of dst, read from r (a tuple or nil, as split found); left:
 * the items from this one to the chunk's end. */
static int spread_item(reader_t *r, mproc_args_t *dst, size_t at, slots_t *slots, size_t left,
                       int *depth) {
  item_t it = {.type = MPROC_T_NIL};
  if (*r->p == 0xc0) {
    r->p++;
  } else if (*r->p == 0x90) { /* nothing returned: the shared () */
    r->p++;
    it = (item_t){.type = MPROC_T_ARGS, .v.t = mproc__args_shared_empty()};
  } else {
    int64_t n = array_header(r);
    mproc_args_t *t;
    int rc = slot_tuple(slots, left, &t);
    if (rc)
      return rc;
    if ((rc = fill_tuple(r, (uint64_t)n, t, NULL)) != 0) {
      mproc_args_free(t);
      return rc;
    }
    it = (item_t){.type = MPROC_T_ARGS, .v.t = t};
    if (t->depth + 1 > *depth)
      *depth = t->depth + 1;
  }
  mproc__item_clear(&dst->items[at]);
  dst->items[at] = it;
  return 0;
}

int mproc__args_spread_results(const void *buf, mproc_args_t *dst, size_t first, size_t count,
                               int *depth) {
  *depth = 1;
  if (first > dst->count || count > dst->count - first)
    return mproc__fail(MPROC_ERANGE, "args_decode: %zu items from %zu do not fit %zu", count, first,
                       dst->count);
  reader_t r = {buf};
  slots_t slots = {0};
  int rc = 0;
  for (size_t i = 0; i < count && !rc; i++)
    rc = spread_item(&r, dst, first + i, &slots, count - i, depth);
  if (slots.block)
    mproc__args_block_unused(slots.block, slots.size - slots.used);
  return rc;
}

void mproc__args_note_depth(mproc_args_t *a, int depth) {
  if (depth > a->depth)
    a->depth = depth;
}

void mproc__args_clear(mproc_args_t *a) {
  for (size_t i = 0; i < a->count; i++)
    mproc__item_clear(&a->items[i]);
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
  msgpack_packer_init(&pk, b, mproc__args_buf_write);
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
