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

/* Over 80 lines on purpose: one case per MessagePack type byte, in the
 * specification's order, so it can be checked against it line by line. */
int mproc__msgpack_header(const unsigned char *buf, size_t len, size_t *pos, uint64_t *items,
                          bool *container) {
  size_t p = *pos;
  unsigned c = buf[p++];
  uint64_t payload = 0; /* bytes of payload after the header */
  int lenbytes = 0;     /* size of a big-endian length field */
  *items = 0;
  *container = (c >= 0x80 && c <= 0x9f) || (c >= 0xdc && c <= 0xdf);

  if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3) {
    /* fixint, nil, bool */
  } else if (c <= 0x8f) {
    *items = 2u * (c & 0x0f);
  } else if (c <= 0x9f) {
    *items = c & 0x0f;
  } else if (c <= 0xbf) {
    payload = c & 0x1f;
  } else {
    switch (c) {
    case 0xc4:
    case 0xd9:
      lenbytes = 1;
      break; /* bin8, str8 */
    case 0xc5:
    case 0xda:
      lenbytes = 2;
      break; /* bin16, str16 */
    case 0xc6:
    case 0xdb:
      lenbytes = 4;
      break; /* bin32, str32 */
    case 0xc7:
      lenbytes = 1;
      payload = 1;
      break; /* ext8: + type byte */
    case 0xc8:
      lenbytes = 2;
      payload = 1;
      break;
    case 0xc9:
      lenbytes = 4;
      payload = 1;
      break;
    case 0xca:
      payload = 4;
      break;
    case 0xcb:
      payload = 8;
      break;
    case 0xcc:
    case 0xd0:
      payload = 1;
      break;
    case 0xcd:
    case 0xd1:
      payload = 2;
      break;
    case 0xce:
    case 0xd2:
      payload = 4;
      break;
    case 0xcf:
    case 0xd3:
      payload = 8;
      break;
    case 0xd4:
      payload = 2;
      break; /* fixext: type + data */
    case 0xd5:
      payload = 3;
      break;
    case 0xd6:
      payload = 5;
      break;
    case 0xd7:
      payload = 9;
      break;
    case 0xd8:
      payload = 17;
      break;
    case 0xdc:
    case 0xdd:
    case 0xde:
    case 0xdf: {
      int n = (c == 0xdc || c == 0xde) ? 2 : 4;
      if (len - p < (size_t)n)
        return MPROC_EPROTO;
      *items = be(buf + p, n) * ((c == 0xde || c == 0xdf) ? 2u : 1u);
      p += (size_t)n;
      break;
    }
    default: /* 0xc1 is never used */
      return MPROC_EPROTO;
    }
  }
  if (lenbytes) {
    if (len - p < (size_t)lenbytes)
      return MPROC_EPROTO;
    payload += be(buf + p, lenbytes);
    p += (size_t)lenbytes;
  }
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
