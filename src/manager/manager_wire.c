/* Reading and writing the manager's messages (see manager_wire.h). */
#include <stdlib.h>
#include <string.h>

#include "args/args_objects.h"
#include "connection/connection_internal.h"
#include "manager/manager_wire.h"

static int short_body(void) {
  return mproc__fail(MPROC_EPROTO, "manager: a request or reply is cut short");
}

static int take(mproc__mgr_reader_t *r, size_t n, const unsigned char **p) {
  if (r->left < n)
    return short_body();
  *p = r->p;
  r->p += n;
  r->left -= n;
  return 0;
}

int mproc__mgr_get_u8(mproc__mgr_reader_t *r, uint8_t *v) {
  const unsigned char *p = NULL;
  int rc = take(r, 1, &p);
  if (!rc)
    *v = p[0];
  return rc;
}

int mproc__mgr_get_u32(mproc__mgr_reader_t *r, uint32_t *v) {
  const unsigned char *p = NULL;
  int rc = take(r, 4, &p);
  if (!rc)
    *v = mproc__get_u32(p);
  return rc;
}

int mproc__mgr_get_u64(mproc__mgr_reader_t *r, uint64_t *v) {
  const unsigned char *p = NULL;
  int rc = take(r, 8, &p);
  if (!rc)
    *v = mproc__get_u64(p);
  return rc;
}

int mproc__mgr_get_i32(mproc__mgr_reader_t *r, int32_t *v) {
  uint32_t u;
  int rc = mproc__mgr_get_u32(r, &u);
  if (!rc)
    *v = (int32_t)u;
  return rc;
}

int mproc__mgr_get_i64(mproc__mgr_reader_t *r, int64_t *v) {
  uint64_t u;
  int rc = mproc__mgr_get_u64(r, &u);
  if (!rc)
    *v = (int64_t)u;
  return rc;
}

int mproc__mgr_get_blob(mproc__mgr_reader_t *r, const unsigned char **p, size_t *n) {
  uint32_t len;
  int rc = mproc__mgr_get_u32(r, &len);
  if (!rc && (rc = take(r, len, p)) == 0)
    *n = len;
  return rc;
}

int mproc__mgr_get_item(mproc__mgr_reader_t *r, const unsigned char **p, size_t *n) {
  int rc = mproc__mgr_get_blob(r, p, n);
  if (!rc && (*n == 0 || mproc__msgpack_check(*p, *n, MPROC_ARGS_MAX_DEPTH) != 0))
    return mproc__fail(MPROC_EPROTO, "manager: an item is not valid MessagePack");
  return rc;
}

int mproc__mgr_get_end(const mproc__mgr_reader_t *r) {
  return r->left ? mproc__fail(MPROC_EPROTO, "manager: %zu stray bytes after a request", r->left)
                 : 0;
}

int mproc__mgr_put_u8(mproc__buf_t *b, uint8_t v) { return mproc__buf_append(b, &v, 1); }

int mproc__mgr_put_u32(mproc__buf_t *b, uint32_t v) {
  unsigned char p[4];
  mproc__put_u32(p, v);
  return mproc__buf_append(b, p, 4);
}

int mproc__mgr_put_u64(mproc__buf_t *b, uint64_t v) {
  unsigned char p[8];
  mproc__put_u64(p, v);
  return mproc__buf_append(b, p, 8);
}

int mproc__mgr_put_blob(mproc__buf_t *b, const void *p, size_t n) {
  if (n > UINT32_MAX)
    return mproc__fail(MPROC_ETOOBIG, "manager: %zu bytes in one field", n);
  int rc = mproc__buf_reserve(b, 4 + n);
  if (rc)
    return rc;
  mproc__put_u32(b->data + b->len, (uint32_t)n);
  if (n)
    memcpy(b->data + b->len + 4, p, n);
  b->len += 4 + n;
  return 0;
}

int mproc__mgr_begin_blob(mproc__buf_t *b, size_t *at) {
  *at = b->len;
  return mproc__mgr_put_u32(b, 0);
}

void mproc__mgr_end_blob(mproc__buf_t *b, size_t at) {
  mproc__put_u32(b->data + at, (uint32_t)(b->len - at - 4));
}

int mproc__mgr_put_item(mproc__buf_t *b, const mproc_item_t *it, bool *has_proxy) {
  size_t at, len = b->len;
  bool has = false;
  int rc = mproc__mgr_begin_blob(b, &at);
  if (!rc && (rc = mproc__item_encode(it, b, &has)) != 0)
    b->len = len;
  if (!rc) {
    mproc__mgr_end_blob(b, at);
    if (has_proxy)
      *has_proxy |= has;
  }
  return rc;
}

void mproc__mgr_put_head(unsigned char *p, const mproc__mgr_head_t *h) {
  mproc__put_u32(p, h->seq);
  p[4] = (unsigned char)h->op;
  p[5] = (unsigned char)(h->op >> 8);
  p[6] = (unsigned char)h->flags;
  p[7] = (unsigned char)(h->flags >> 8);
  mproc__put_u64(p + 8, h->id);
  mproc__put_u32(p + 16, h->thread);
}

void mproc__mgr_get_head(const unsigned char *p, mproc__mgr_head_t *h) {
  h->seq = mproc__get_u32(p);
  h->op = (uint16_t)(p[4] | p[5] << 8);
  h->flags = (uint16_t)(p[6] | p[7] << 8);
  h->id = mproc__get_u64(p + 8);
  h->thread = mproc__get_u32(p + 16);
}

bool mproc__mgr_spin_readable(mproc_conn_t *c, int us) {
  int64_t until = mproc__os_now_us() + us;
  do {
    int now = mproc__conn_fill_now(c);
    if (now == 1 || (now < 0 && mproc_conn_poll(c, 0) == 1))
      return true;
    /* Spin politely: the peer may need this CPU to answer (two cores, two
     * clients and their two server threads spin at once). */
    mproc__os_yield();
  } while (mproc__os_now_us() < until);
  return false;
}

int mproc__mgr_recv(mproc_conn_t *c, unsigned char **buf, size_t *cap, size_t *len, size_t max,
                    int timeout_ms) {
  for (;;) {
    *len = 0; /* stays 0 when the message was over the limit (and skipped) */
    int rc = mproc_conn_recv_bytes_into(c, *buf, *cap, len, timeout_ms);
    if (rc != MPROC_ETOOBIG || *len <= *cap || *len > max)
      return rc; /* over the limit: the connection skipped it */
    unsigned char *bigger = realloc(*buf, *len);
    if (!bigger)
      return mproc__fail(MPROC_ENOMEM, "manager: no memory for a message of %zu bytes", *len);
    *buf = bigger;
    *cap = *len;
  }
}

/* ---- finding proxies inside an encoded item ----------------------------- */

typedef struct {
  const unsigned char *buf;
  size_t len, pos;
  int (*fn)(void *ctx, const mproc__mgr_ref_t *ref);
  void *ctx;
} walk_t;

/* The size of an extension's data, from its header byte at p; 0 for an
 * object that is no extension. */
static size_t ext_size(const unsigned char *p) {
  if (*p >= 0xd4 && *p <= 0xd8)
    return (size_t)1 << (*p - 0xd4); /* fixext 1, 2, 4, 8, 16 */
  if (*p == 0xc7)
    return p[1];
  if (*p == 0xc8)
    return (size_t)p[1] << 8 | p[2];
  if (*p == 0xc9)
    return (size_t)p[1] << 24 | (size_t)p[2] << 16 | (size_t)p[3] << 8 | p[4];
  return 0;
}

/* An object: u8 kind | u8 flags | u32 first handle | u8 handles | info
 * (a proxy's info: u64 nonce | u64 id | u8 kind ...). */
static int ext(walk_t *w, const unsigned char *body, size_t n) {
  if (body[-1] != MPROC__EXT_OBJECT || n < 7 + 17 || body[0] != MPROC_T_PROXY)
    return 0;
  mproc__mgr_ref_t ref = {mproc__get_u64(body + 7), mproc__get_u64(body + 15), body[23]};
  return w->fn(w->ctx, &ref);
}

/* Walks one object of a buffer mproc__msgpack_check accepted. */
static int walk(walk_t *w) {
  size_t at = w->pos;
  uint64_t items;
  bool container;
  int rc = mproc__msgpack_header(w->buf, w->len, &w->pos, &items, &container);
  size_t n = rc ? 0 : ext_size(w->buf + at);
  if (!rc && n)
    rc = ext(w, w->buf + w->pos - n, n);
  for (uint64_t i = 0; i < items && rc == 0; i++)
    rc = walk(w);
  return rc;
}

int mproc__mgr_each_proxy(const unsigned char *item, size_t n,
                          int (*fn)(void *ctx, const mproc__mgr_ref_t *ref), void *ctx) {
  walk_t w = {item, n, 0, fn, ctx};
  return n ? walk(&w) : 0;
}

size_t mproc__mgr_greeting_put(unsigned char *out, const mproc__mgr_greeting_t *g, bool welcome) {
  size_t n = welcome ? MPROC__MGR_WELCOME : MPROC__MGR_HELLO;
  memset(out, 0, n);
  mproc__put_u32(out, MPROC__MGR_MAGIC);
  out[4] = (unsigned char)g->version;
  out[5] = (unsigned char)(g->version >> 8);
  out[6] = (unsigned char)g->flags;
  out[7] = (unsigned char)(g->flags >> 8);
  mproc__put_u64(out + 8, g->id);
  mproc__put_u64(out + 16, (uint64_t)g->pid);
  if (welcome)
    mproc__put_u64(out + 24, g->max_message);
  return n;
}

bool mproc__mgr_greeting_get(const unsigned char *msg, size_t len, bool welcome,
                             mproc__mgr_greeting_t *g) {
  if (len != (welcome ? MPROC__MGR_WELCOME : MPROC__MGR_HELLO) ||
      mproc__get_u32(msg) != MPROC__MGR_MAGIC)
    return false;
  g->version = (uint16_t)(msg[4] | msg[5] << 8);
  g->flags = (uint16_t)(msg[6] | msg[7] << 8);
  g->id = mproc__get_u64(msg + 8);
  g->pid = (int64_t)mproc__get_u64(msg + 16);
  g->max_message = welcome ? mproc__get_u64(msg + 24) : 0;
  return true;
}
