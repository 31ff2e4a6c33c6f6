/* Connections: framing, limits and states over the OS byte streams.
 *
 * A message is a u32 length (little-endian), or 0xFFFFFFFF and a u64 for
 * 4 GiB and more, then the bytes. A receive reads exactly one message and
 * nothing past it: several processes may hold one end, and bytes one of
 * them read ahead would be lost to the others. Only a connection that one
 * thread of one process owns for good - a Manager's - may read ahead
 * (mproc__conn_read_ahead): a message then costs one read, not two. */
#include <stdlib.h>
#include <string.h>

#include "args/args_objects.h"
#include "connection/connection_internal.h"
#include "core/waitable.h"

#define BIG 0xFFFFFFFFu /* the length field that announces a u64 length */
enum { SMALL_SEND = 64 * 1024, SKIP_CHUNK = 64 * 1024, GROW_FROM = 1 << 20, AHEAD = 64 * 1024 };

struct mproc_conn {
  mproc__os_conn_t *os; /* NULL once closed */
  bool readable;
  bool writable;
  size_t max_message; /* 0: no limit */
  /* The current message's header, once read: its body is next in the
   * stream. Set between reading a header and taking the body, and after
   * recv_bytes_into refused a message for a small buffer. */
  bool pending;
  uint64_t pending_n;
  /* Bytes read past the current message (read-ahead connections only):
   * ahead[ahead_pos, ahead_len) comes next in the stream. */
  unsigned char *ahead;
  size_t ahead_pos, ahead_len;
};

static size_t buffered(const mproc_conn_t *c) { return c->ahead_len - c->ahead_pos; }

int mproc__conn_fill_now(mproc_conn_t *c) {
  if (!c || !c->ahead || !c->os)
    return -1;
  if (buffered(c))
    return 1;
  size_t got;
  int rc = mproc__os_conn_read_now(c->os, c->ahead, AHEAD, &got);
  if (rc == MPROC_EEOF)
    return 1; /* the receive will meet it */
  if (rc)
    return -1;
  c->ahead_pos = 0;
  c->ahead_len = got;
  return got > 0;
}

int mproc__conn_read_ahead(mproc_conn_t *c) {
  if (!c || c->ahead)
    return 0;
  c->ahead = malloc(AHEAD);
  return c->ahead ? 0 : mproc__fail(MPROC_ENOMEM, "connection: out of memory");
}

static int make(mproc_conn_t **out, mproc__os_conn_t *os, bool readable, bool writable) {
  mproc_conn_t *c = calloc(1, sizeof *c);
  if (!c) {
    mproc__os_conn_free(os);
    return mproc__fail(MPROC_ENOMEM, "connection: out of memory");
  }
  c->os = os;
  c->readable = readable;
  c->writable = writable;
  *out = c;
  return 0;
}

int mproc_pipe(mproc_conn_t **a, mproc_conn_t **b, bool duplex) {
  if (!a || !b)
    return mproc__fail(MPROC_EINVAL, "pipe: %s is NULL", a ? "b" : "a");
  mproc__os_conn_t *oa, *ob;
  int rc = mproc__os_conn_pair(&oa, &ob, duplex);
  if (rc)
    return rc;
  rc = make(a, oa, true, duplex);
  if (rc) {
    mproc__os_conn_free(ob);
    return rc;
  }
  rc = make(b, ob, duplex, true);
  if (rc) {
    mproc_conn_free(*a);
    *a = NULL;
  }
  return rc;
}

/* The checks every operation starts with. */
static int usable(const mproc_conn_t *c, bool receive, const char *op) {
  if (!c)
    return mproc__fail(MPROC_EINVAL, "%s: connection is NULL", op);
  if (!c->os)
    return mproc__fail(MPROC_ECLOSED, "%s: the connection is closed", op);
  if (receive ? !c->readable : !c->writable)
    return mproc__fail(MPROC_EINVAL, "%s: this end of a one-way pipe only %s", op,
                       c->readable ? "receives" : "sends");
  return 0;
}

static size_t header(unsigned char *h, size_t len) {
  if (len < BIG) {
    mproc__put_u32(h, (uint32_t)len);
    return 4;
  }
  mproc__put_u32(h, BIG);
  mproc__put_u64(h + 4, len);
  return 12;
}

int mproc_conn_send_bytes(mproc_conn_t *c, const void *buf, size_t len) {
  int rc = usable(c, false, "conn_send_bytes");
  if (rc)
    return rc;
  if (!buf && len)
    return mproc__fail(MPROC_EINVAL, "conn_send_bytes: buf is NULL");
  if (c->max_message && len > c->max_message)
    return mproc__fail(MPROC_ETOOBIG, "conn_send_bytes: %zu bytes is above the limit of %zu", len,
                       c->max_message);
  unsigned char small[12 + SMALL_SEND];
  size_t h = header(small, len);
  if (len <= SMALL_SEND) {
    /* One write for header and body: one system call, and no peer ever
     * sees a header without its (small) body. */
    if (len)
      memcpy(small + h, buf, len);
    return mproc__os_conn_write(c->os, small, h + len);
  }
  rc = mproc__os_conn_write(c->os, small, h);
  return rc ? rc : mproc__os_conn_write(c->os, buf, len);
}

/* Waits until a message (or end-of-file) is there. */
static int wait_readable(mproc_conn_t *c, int timeout_ms, const char *op) {
  int rc = mproc__check_timeout(op, timeout_ms);
  if (rc || buffered(c))
    return rc;
  intptr_t w;
  bool ready;
  rc = mproc__os_conn_arm(c->os, &w, &ready);
  if (rc == 0 && !ready) {
    bool flag = false;
    rc = mproc__os_wait_handles(&w, 1, timeout_ms, &flag);
    if (rc == MPROC_ETIMEDOUT)
      rc = mproc__fail(MPROC_ETIMEDOUT, "%s: no message within %d ms", op, timeout_ms);
  }
  mproc__os_conn_disarm(c->os);
  return rc;
}

/* Reads exactly n bytes; end-of-file before any is MPROC_EEOF (when allowed),
 * in the middle MPROC_EPROTO. */
static int read_exact(mproc_conn_t *c, void *p, size_t n, bool eof_ok, const char *op) {
  size_t got = 0;
  int rc = 0;
  if (!c->ahead) {
    rc = mproc__os_conn_read(c->os, p, n, &got);
  } else {
    unsigned char *d = p;
    while (got < n && rc == 0) {
      if (buffered(c) == 0) {
        size_t g;
        if (n - got >= AHEAD) { /* a large body: straight into place */
          rc = mproc__os_conn_read(c->os, d + got, n - got, &g);
          got += g;
          break;
        }
        rc = mproc__os_conn_read_some(c->os, c->ahead, AHEAD, &g);
        if (rc == MPROC_ENOTSUP) { /* this OS reads exactly: so does c */
          free(c->ahead);
          c->ahead = NULL;
          size_t rest;
          rc = mproc__os_conn_read(c->os, d + got, n - got, &rest);
          got += rest;
          break;
        }
        c->ahead_pos = 0;
        c->ahead_len = rc ? 0 : g;
        if (rc || g == 0)
          break;
      }
      size_t take = buffered(c) < n - got ? buffered(c) : n - got;
      memcpy(d + got, c->ahead + c->ahead_pos, take);
      c->ahead_pos += take;
      got += take;
    }
  }
  if (rc)
    return rc;
  if (got == n)
    return 0;
  if (got == 0 && eof_ok)
    return mproc__fail(MPROC_EEOF, "%s: the other end closed the connection", op);
  return mproc__fail(MPROC_EPROTO, "%s: the sender stopped after %zu of %zu bytes", op, got, n);
}

/* Reads exactly n bytes, all by the deadline (ms on the monotonic clock):
 * it never blocks in a read, so a peer that sends part of a message and
 * stalls costs the caller the deadline, not for ever. */
static int read_by(mproc_conn_t *c, void *p, size_t n, int64_t deadline, bool eof_ok,
                   const char *op) {
  unsigned char *d = p;
  for (size_t got = 0; got < n;) {
    int left = mproc__remaining_ms(deadline);
    if (left == 0)
      return mproc__fail(MPROC_ETIMEDOUT, "%s: the peer sent %zu of %zu bytes in time", op, got, n);
    size_t avail = buffered(c);
    int rc = wait_readable(c, left, op);
    if (!rc && avail == 0)
      rc = mproc__os_conn_available(c->os, &avail);
    if (rc)
      return rc;
    if (avail == 0) /* readable with nothing to read: end-of-file */
      return got == 0 && eof_ok
                 ? mproc__fail(MPROC_EEOF, "%s: the other end closed the connection", op)
                 : mproc__fail(MPROC_EPROTO, "%s: the peer stopped after %zu of %zu bytes", op, got,
                               n);
    size_t take = avail < n - got ? avail : n - got;
    if ((rc = read_exact(c, d + got, take, false, op)))
      return rc;
    got += take;
  }
  return 0;
}

int mproc__conn_recv_by(mproc_conn_t *c, void *buf, size_t cap, size_t *len, int64_t deadline) {
  const char *op = "conn_recv";
  int rc = usable(c, true, op);
  unsigned char h[4];
  if (rc || (rc = read_by(c, h, 4, deadline, true, op)))
    return rc;
  uint32_t n = mproc__get_u32(h);
  if (n > cap)
    return mproc__fail(MPROC_ETOOBIG, "%s: a %u-byte message where at most %zu fit", op, n, cap);
  if ((rc = read_by(c, buf, n, deadline, false, op)) == 0)
    *len = n;
  return rc;
}

/* Consumes a message body that is over the limit, so the next is intact. */
static int skip_over_limit(mproc_conn_t *c, uint64_t len, const char *op) {
  char scratch[SKIP_CHUNK];
  for (uint64_t left = len; left > 0;) {
    size_t n = left < sizeof scratch ? (size_t)left : sizeof scratch;
    int rc = read_exact(c, scratch, n, false, op);
    if (rc)
      return rc;
    left -= n;
  }
  return mproc__fail(MPROC_ETOOBIG,
                     "%s: a %llu-byte message exceeded the limit of %zu bytes "
                     "and was skipped",
                     op, (unsigned long long)len, c->max_message);
}

/* Reads the next message's header: *n is its body's length, which is next
 * in the stream. The header is read, not peeked: on Linux a MSG_PEEK before
 * every receive costs 8x the throughput of small messages (measured in
 * bench/conn_bench.c's development). With a timeout the end is polled
 * first, so nothing is consumed when nothing arrives. */
static int next_message(mproc_conn_t *c, int timeout_ms, uint64_t *n, const char *op) {
  if (c->pending) {
    *n = c->pending_n;
    return 0;
  }
  int rc;
  if (timeout_ms != MPROC_INFINITE && (rc = wait_readable(c, timeout_ms, op)) != 0)
    return rc;
  unsigned char h[8];
  if ((rc = read_exact(c, h, 4, true, op)))
    return rc;
  *n = mproc__get_u32(h);
  if (*n == BIG) {
    if ((rc = read_exact(c, h, 8, false, op)))
      return rc;
    *n = mproc__get_u64(h);
  }
  c->pending = true;
  c->pending_n = *n;
  return 0;
}

/* Takes the body of the message whose header next_message read. */
static int take_message(mproc_conn_t *c, void *body, uint64_t n, const char *op) {
  c->pending = false;
  return read_exact(c, body, (size_t)n, false, op);
}

/* Skips the body of a message that is over the limit. */
static int skip_message(mproc_conn_t *c, uint64_t n, const char *op) {
  c->pending = false;
  return skip_over_limit(c, n, op);
}

int mproc_conn_recv_bytes(mproc_conn_t *c, void **buf, size_t *len, int timeout_ms) {
  const char *op = "conn_recv_bytes";
  int rc = usable(c, true, op);
  if (rc)
    return rc;
  if (!buf || !len)
    return mproc__fail(MPROC_EINVAL, "%s: %s is NULL", op, buf ? "len" : "buf");
  uint64_t n;
  if ((rc = next_message(c, timeout_ms, &n, op)))
    return rc;
  if ((c->max_message && n > c->max_message) || n >= SIZE_MAX)
    return skip_message(c, n, op);
  /* The length is the sender's claim: memory grows with the bytes that
   * arrive, so four bytes cannot make this allocate gigabytes. */
  size_t cap = n < GROW_FROM ? (size_t)n : GROW_FROM;
  unsigned char *p = malloc(cap + 1);
  if (!p) {
    /* Keep the stream in step even when the message cannot be held. */
    skip_message(c, n, op);
    return mproc__fail(MPROC_ENOMEM, "%s: cannot allocate %llu bytes", op, (unsigned long long)n);
  }
  c->pending = false;
  for (size_t got = 0; got < n;) {
    if (got == cap) {
      size_t bigger = n - cap < cap ? (size_t)n : 2 * cap;
      unsigned char *q = realloc(p, bigger + 1);
      if (!q) {
        free(p);
        skip_over_limit(c, n - got, op); /* keep the stream in step */
        return mproc__fail(MPROC_ENOMEM, "%s: cannot allocate %llu bytes", op,
                           (unsigned long long)n);
      }
      p = q;
      cap = bigger;
    }
    size_t chunk = cap - got < n - got ? cap - got : (size_t)(n - got);
    if ((rc = read_exact(c, p + got, chunk, false, op))) {
      free(p);
      return rc;
    }
    got += chunk;
  }
  *buf = p;
  *len = (size_t)n;
  return 0;
}

int mproc_conn_recv_bytes_into(mproc_conn_t *c, void *buf, size_t cap, size_t *len,
                               int timeout_ms) {
  const char *op = "conn_recv_bytes_into";
  int rc = usable(c, true, op);
  if (rc)
    return rc;
  if (!len || (!buf && cap))
    return mproc__fail(MPROC_EINVAL, "%s: %s is NULL", op, len ? "buf" : "len");
  uint64_t n;
  if ((rc = next_message(c, timeout_ms, &n, op)))
    return rc;
  if (c->max_message && n > c->max_message)
    return skip_message(c, n, op);
  if (n > cap) {
    /* Not taken: this connection keeps the header, the body stays in the
     * stream, and the next receive on this connection resumes with it. */
    *len = n > SIZE_MAX ? SIZE_MAX : (size_t)n;
    return mproc__fail(MPROC_ETOOBIG,
                       "%s: the message has %llu bytes, the buffer %zu; it was "
                       "left for a larger buffer",
                       op, (unsigned long long)n, cap);
  }
  if ((rc = take_message(c, buf, n, op)) == 0)
    *len = (size_t)n;
  return rc;
}

static int send_bytes(void *c, const void *buf, size_t len, int timeout_ms) {
  (void)timeout_ms;
  return mproc_conn_send_bytes(c, buf, len);
}

static int recv_bytes(void *c, void **buf, size_t *len, int timeout_ms) {
  return mproc_conn_recv_bytes(c, buf, len, timeout_ms);
}

int mproc_conn_send(mproc_conn_t *c, const mproc_args_t *args) {
  int rc = usable(c, false, "conn_send");
  return rc ? rc : mproc__send_args(send_bytes, c, args, MPROC_INFINITE, "conn_send");
}

int mproc_conn_recv(mproc_conn_t *c, mproc_args_t **args, int timeout_ms) {
  return mproc__recv_args(recv_bytes, c, args, timeout_ms, "conn_recv");
}

int mproc_conn_poll(mproc_conn_t *c, int timeout_ms) {
  int rc = usable(c, true, "conn_poll");
  if (rc)
    return rc;
  if (c->pending)
    return 1;
  rc = wait_readable(c, timeout_ms, "conn_poll");
  return rc == 0 ? 1 : rc == MPROC_ETIMEDOUT ? 0 : rc;
}

int mproc_conn_set_max_message(mproc_conn_t *c, size_t max_bytes) {
  if (!c)
    return mproc__fail(MPROC_EINVAL, "conn_set_max_message: connection is NULL");
  c->max_message = max_bytes;
  return 0;
}

bool mproc_conn_readable(const mproc_conn_t *c) { return c && c->os && c->readable; }

bool mproc_conn_writable(const mproc_conn_t *c) { return c && c->os && c->writable; }

int mproc_conn_close(mproc_conn_t *c) {
  if (!c)
    return mproc__fail(MPROC_EINVAL, "conn_close: connection is NULL");
  mproc__os_conn_free(c->os);
  c->os = NULL;
  return 0;
}

void mproc__conn_cancel(mproc_conn_t *c) {
  if (c && c->os)
    mproc__os_conn_cancel(c->os);
}

void mproc_conn_free(mproc_conn_t *c) {
  if (!c)
    return;
  mproc__os_conn_free(c->os);
  free(c->ahead);
  free(c);
}

/* ---- mproc_wait -------------------------------------------------------- */

static int conn_check(const mproc_waitable_t *w, size_t i) {
  if (!w->object || !mproc_conn_readable(w->object))
    return mproc__fail(MPROC_EINVAL, "wait: object %zu is %s", i,
                       w->object ? "a connection that is closed or only sends" : "NULL");
  return 0;
}

/* On Windows arming starts a zero-byte read; a refused message, or bytes
 * read ahead, are ready already. */
static int conn_arm(const mproc_waitable_t *w, intptr_t *handle, bool *ready_now) {
  mproc_conn_t *c = w->object;
  int rc = usable(c, true, "wait");
  if (rc == 0)
    rc = mproc__os_conn_arm(c->os, handle, ready_now);
  if (rc == 0 && (c->pending || buffered(c)))
    *ready_now = true;
  return rc;
}

static void conn_disarm(const mproc_waitable_t *w) {
  mproc_conn_t *c = w->object;
  if (c && c->os)
    mproc__os_conn_disarm(c->os);
}

static bool conn_ready(const mproc_waitable_t *w, bool fired) {
  (void)w;
  return fired;
}

static const mproc__wait_class_t conn_wait = {"connection", conn_check, conn_arm, conn_disarm,
                                              conn_ready};

mproc_waitable_t mproc_waitable_conn(mproc_conn_t *c) { return mproc__waitable(&conn_wait, c, -1); }

int mproc__conn_dup_handle(const mproc_conn_t *c, intptr_t *handle) {
  if (!c || !c->os)
    return mproc__fail(c ? MPROC_ECLOSED : MPROC_EINVAL, "connection: %s", c ? "closed" : "NULL");
  return mproc__os_conn_dup_handle(c->os, handle);
}

unsigned mproc__conn_flags(const mproc_conn_t *c) {
  return (c->readable ? MPROC__CONN_READABLE : 0u) | (c->writable ? MPROC__CONN_WRITABLE : 0u);
}

mproc__os_conn_t *mproc__conn_os(const mproc_conn_t *c) { return c->os; }

int mproc__conn_from_handle_os(mproc_conn_t **out, mproc__os_conn_t *os) {
  return make(out, os, true, true);
}

int mproc__conn_from_handle(mproc_conn_t **out, intptr_t handle, unsigned flags) {
  mproc__os_conn_t *os;
  int rc = mproc__os_conn_wrap(&os, handle);
  return rc ? rc
            : make(out, os, (flags & MPROC__CONN_READABLE) != 0,
                   (flags & MPROC__CONN_WRITABLE) != 0);
}

/* ---- as an argument: the tuple holds its own duplicate of the end ------- */

static int conn_export(const void *obj, intptr_t *h, size_t cap, size_t *n,
                       mproc__object_info_t *info) {
  if (cap < 1)
    return MPROC_ERANGE;
  int rc = mproc__conn_dup_handle(obj, h);
  if (rc)
    return rc;
  *n = 1;
  info->flags = (uint8_t)mproc__conn_flags(obj);
  return 0;
}

static int conn_import(void **out, const intptr_t *h, size_t n, uint8_t flags,
                       mproc__info_reader_t *info) {
  (void)info;
  for (size_t i = 1; i < n; i++)
    mproc__os_close_handle(h[i]);
  return mproc__conn_from_handle((mproc_conn_t **)out, h[0], flags);
}

static int conn_hold(void *obj, void **held) {
  mproc_conn_t *c = obj;
  intptr_t h;
  int rc = mproc__conn_dup_handle(c, &h);
  if (rc)
    return rc == MPROC_ECLOSED
               ? mproc__fail(MPROC_EINVAL, "args_add_conn: the connection is closed")
               : rc;
  return mproc__conn_from_handle((mproc_conn_t **)held, h, mproc__conn_flags(c));
}

static void conn_release(void *obj) { mproc_conn_free(obj); }

const mproc__object_class_t mproc__conn_class = {
    MPROC_T_CONN, "conn", conn_export, conn_import, conn_hold, conn_release, false};

MPROC__ARGS_ACCESSORS(conn, mproc_conn_t, mproc__conn_class)
