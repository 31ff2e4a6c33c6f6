/* A structural pre-check of MessagePack input.
 *
 * msgpack-c allocates the item array of a container as soon as it reads the
 * container's header, trusting the declared count. Five hostile bytes
 * (0xdd ff ff ff ff) would make it ask for ~100 GiB. Every item takes at
 * least one byte, so a container that declares more items than there are
 * bytes left is corrupt; this walk rejects such input, and too-deep nesting,
 * before msgpack-c sees it. It allocates nothing. */
#include "core/internal.h"

static uint64_t be(const unsigned char *p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; i++)
    v = (v << 8) | p[i];
  return v;
}

/* What follows the type bytes 0xc0 .. 0xdf, in the specification's order:
 * a big-endian length of len_bytes (of payload bytes, or of items times
 * per_item for arrays and maps), then fixed bytes (a number, an ext's type
 * byte, a fixext's type and data). */
typedef struct {
  uint8_t known;     /* 0xc1 is never used */
  uint8_t len_bytes; /* of the length field */
  uint8_t per_item;  /* 0: the length counts payload bytes; 1 array, 2 map */
  uint8_t fixed;     /* payload bytes beyond what the length says */
} type_t;

static const type_t TYPES[32] = {
    {1, 0, 0, 0},  {0, 0, 0, 0}, {1, 0, 0, 0}, {1, 0, 0, 0}, /* nil, (unused), false, true */
    {1, 1, 0, 0},  {1, 2, 0, 0}, {1, 4, 0, 0},               /* bin 8, 16, 32 */
    {1, 1, 0, 1},  {1, 2, 0, 1}, {1, 4, 0, 1},               /* ext 8, 16, 32: + type */
    {1, 0, 0, 4},  {1, 0, 0, 8},                             /* float 32, 64 */
    {1, 0, 0, 1},  {1, 0, 0, 2}, {1, 0, 0, 4}, {1, 0, 0, 8}, /* uint 8 .. 64 */
    {1, 0, 0, 1},  {1, 0, 0, 2}, {1, 0, 0, 4}, {1, 0, 0, 8}, /* int 8 .. 64 */
    {1, 0, 0, 2},  {1, 0, 0, 3}, {1, 0, 0, 5}, {1, 0, 0, 9}, /* fixext 1, 2, 4, 8 */
    {1, 0, 0, 17},                                           /* fixext 16 */
    {1, 1, 0, 0},  {1, 2, 0, 0}, {1, 4, 0, 0},               /* str 8, 16, 32 */
    {1, 2, 1, 0},  {1, 4, 1, 0}, {1, 2, 2, 0}, {1, 4, 2, 0}, /* array 16, 32, map 16, 32 */
};

int mproc__msgpack_header(const unsigned char *buf, size_t len, size_t *pos, uint64_t *items,
                          bool *container) {
  size_t p = *pos;
  unsigned c = buf[p++];
  uint64_t payload = 0; /* bytes of payload after the header */
  *items = 0;
  *container = (c >= 0x80 && c <= 0x9f) || (c >= 0xdc && c <= 0xdf);
  if (c >= 0x80 && c <= 0x9f) { /* fixmap, fixarray */
    *items = (c & 0x0f) * (c <= 0x8f ? 2u : 1u);
  } else if (c >= 0xa0 && c <= 0xbf) { /* fixstr */
    payload = c & 0x1f;
  } else if (c >= 0xc0 && c <= 0xdf) {
    type_t t = TYPES[c - 0xc0];
    if (!t.known || len - p < t.len_bytes)
      return MPROC_EPROTO;
    uint64_t n = be(buf + p, t.len_bytes);
    p += t.len_bytes;
    if (t.per_item)
      *items = n * t.per_item;
    else
      payload = n + t.fixed;
  } /* else a fixint: nothing follows */
  if (payload > len - p || *items > len - p)
    return MPROC_EPROTO;
  *pos = p + (size_t)payload;
  return 0;
}

int mproc__msgpack_check(const unsigned char *buf, size_t len, int max_depth) {
  uint64_t remaining[MPROC_ARGS_MAX_DEPTH + 2];
  int depth = 0;
  size_t pos = 0;
  if (max_depth < 1 || max_depth > MPROC_ARGS_MAX_DEPTH + 1)
    return MPROC_EINVAL;
  if (!buf || len == 0)
    return MPROC_EPROTO;
  remaining[0] = 1; /* exactly one top-level object */
  for (;;) {
    while (depth >= 0 && remaining[depth] == 0)
      depth--;
    if (depth < 0)
      break;
    if (pos >= len)
      return MPROC_EPROTO;
    remaining[depth]--;
    uint64_t items;
    bool container;
    if (mproc__msgpack_header(buf, len, &pos, &items, &container))
      return MPROC_EPROTO;
    if (container && depth + 1 > max_depth)
      return MPROC_EPROTO; /* an empty container counts as a level too */
    if (items)
      remaining[++depth] = items;
  }
  return pos == len ? 0 : MPROC_EPROTO;
}
