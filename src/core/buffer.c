/* Byte and string helpers: strdup, a growable buffer, and the little-endian
 * integers of wire formats. */
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"

char *mproc__strdup(const char *s) {
  size_t n = strlen(s) + 1;
  char *p = malloc(n);
  if (p)
    memcpy(p, s, n);
  return p;
}

int mproc__buf_reserve(mproc__buf_t *b, size_t extra) {
  if (extra <= b->cap - b->len)
    return 0;
  if (extra > SIZE_MAX - b->len)
    return mproc__fail(MPROC_ENOMEM, "buffer: size overflow");
  size_t need = b->len + extra;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < need)
    cap = cap > SIZE_MAX / 2 ? need : cap * 2;
  unsigned char *p = realloc(b->data, cap);
  if (!p)
    return mproc__fail(MPROC_ENOMEM, "buffer: cannot grow to %zu bytes", cap);
  b->data = p;
  b->cap = cap;
  return 0;
}

int mproc__buf_append(mproc__buf_t *b, const void *p, size_t n) {
  int rc = mproc__buf_reserve(b, n);
  if (rc)
    return rc;
  if (n)
    memcpy(b->data + b->len, p, n);
  b->len += n;
  return 0;
}

void mproc__buf_free(mproc__buf_t *b) {
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

void mproc__put_u32(unsigned char *p, uint32_t v) {
  for (int i = 0; i < 4; i++)
    p[i] = (unsigned char)(v >> (8 * i));
}

void mproc__put_u64(unsigned char *p, uint64_t v) {
  for (int i = 0; i < 8; i++)
    p[i] = (unsigned char)(v >> (8 * i));
}

uint32_t mproc__get_u32(const unsigned char *p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; i++)
    v |= (uint32_t)p[i] << (8 * i);
  return v;
}

uint64_t mproc__get_u64(const unsigned char *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++)
    v |= (uint64_t)p[i] << (8 * i);
  return v;
}

/* The info that travels beside an object's handles (internal.h). */

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
