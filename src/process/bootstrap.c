/* The bootstrap message and the child's report (see bootstrap.h). */
#include <stdlib.h>
#include <string.h>

#include "process/bootstrap.h"

enum {
  VERSION = 5,
  PREAMBLE = 24,
  MAX_HEADER = 1 << 20,
  MAX_REPORT = 4096,
  ONE_WRITE = 16 * 1024, /* a message up to this size is sent, and read, at once */
};

/* Header fields, in order. */
enum {
  H_MODULE,
  H_IS_MAIN,
  H_MODULE_ID,
  H_OFFSET,
  H_NAME,
  H_IDENTITY,
  H_PPID,
  H_DAEMON,
  H_LOG_LEVEL,
  H_PARENT_LINK,
  H_PDEATHSIG_OK,
  H_HANDLES,
  H_N
};

int mproc__boot_send(mproc__stream_t *s, const mproc__boot_t *b) {
  mproc_args_t *h = NULL;
  void *enc = NULL;
  size_t enc_len = 0;
  int rc = mproc_args_new(&h);
  if (!rc)
    rc = mproc_args_add_str(h, b->target.module);
  if (!rc)
    rc = mproc_args_add_bool(h, b->target.is_main);
  if (!rc)
    rc = mproc_args_add_bytes(h, b->target.id, b->target.id_len);
  if (!rc)
    rc = mproc_args_add_int(h, (int64_t)b->target.offset);
  if (!rc)
    rc = mproc_args_add_str(h, b->name);
  if (!rc)
    rc = mproc_args_add_str(h, b->identity);
  if (!rc)
    rc = mproc_args_add_int(h, b->parent_pid);
  if (!rc)
    rc = mproc_args_add_bool(h, b->daemon);
  if (!rc)
    rc = mproc_args_add_int(h, b->log_level);
  if (!rc)
    rc = mproc_args_add_int(h, b->parent_link);
  if (!rc)
    rc = mproc_args_add_bool(h, b->pdeathsig_ok);
  mproc_args_t *table = NULL;
  if (!rc)
    rc = mproc_args_new(&table);
  /* Each entry: an inherited value (int), or an exported blob (bytes). */
  for (size_t i = 0; i < b->nhandles && !rc; i++)
    rc = b->handles[i].blob
             ? mproc_args_add_bytes(table, b->handles[i].blob, b->handles[i].blob_len)
             : mproc_args_add_int(table, b->handles[i].value);
  if (!rc)
    rc = mproc_args_add_args(h, table);
  mproc_args_free(table);
  if (!rc)
    rc = mproc_args_encode(h, &enc, &enc_len);
  if (rc)
    goto cleanup;

  unsigned char pre[PREAMBLE];
  memcpy(pre, "MPRC", 4);
  mproc__put_u32(pre + 4, VERSION);
  mproc__put_u64(pre + 8, enc_len);
  mproc__put_u64(pre + 16, b->args_len);
  if (PREAMBLE + enc_len + b->args_len <= ONE_WRITE) {
    /* The usual message goes in one write: one wake-up of the child. */
    unsigned char whole[ONE_WRITE];
    memcpy(whole, pre, PREAMBLE);
    memcpy(whole + PREAMBLE, enc, enc_len);
    if (b->args_len)
      memcpy(whole + PREAMBLE + enc_len, b->args, b->args_len);
    rc = mproc__os_stream_write(s, whole, PREAMBLE + enc_len + b->args_len);
    goto cleanup;
  }
  rc = mproc__os_stream_write(s, pre, sizeof pre);
  if (!rc)
    rc = mproc__os_stream_write(s, enc, enc_len);
  if (!rc)
    rc = mproc__os_stream_write(s, b->args, b->args_len);
cleanup:
  mproc_free(enc);
  mproc_args_free(h);
  return rc;
}

static int read_exact(mproc__stream_t *s, void *p, size_t n, const char *what) {
  size_t got;
  int rc = mproc__os_stream_read(s, p, n, &got);
  if (rc)
    return rc;
  if (got != n)
    return mproc__fail(MPROC_EPROTO,
                       "bootstrap: the parent closed the channel in the %s (%zu of %zu bytes)",
                       what, got, n);
  return 0;
}

/* Reads n bytes into a buffer that grows only as they arrive, so a
 * preamble that claims more than the sender has costs no more memory than
 * what was really sent. */
static int read_growing(mproc__stream_t *s, size_t n, unsigned char **out) {
  enum { STEP = 1 << 20 };
  mproc__buf_t b = {0};
  int rc = mproc__buf_reserve(&b, 1);
  while (rc == 0 && b.len < n) {
    size_t want = n - b.len < STEP ? n - b.len : STEP;
    rc = mproc__buf_reserve(&b, want);
    if (!rc)
      rc = read_exact(s, b.data + b.len, want, "arguments");
    if (!rc)
      b.len += want;
  }
  if (rc) {
    mproc__buf_free(&b);
    return rc;
  }
  *out = b.data;
  return 0;
}

static int parse_header(const mproc_args_t *h, mproc__boot_t *b) {
  const char *module, *name, *identity;
  const void *id;
  size_t id_len;
  int64_t offset, log_level;
  const mproc_args_t *table;
  if (mproc_args_count(h) != H_N)
    return mproc__fail(MPROC_EPROTO, "bootstrap: header has %zu fields, expected %d",
                       mproc_args_count(h), H_N);
  if (mproc_args_get_str(h, H_MODULE, &module) ||
      mproc_args_get_bool(h, H_IS_MAIN, &b->target.is_main) ||
      mproc_args_get_bytes(h, H_MODULE_ID, &id, &id_len) ||
      mproc_args_get_int(h, H_OFFSET, &offset) || mproc_args_get_str(h, H_NAME, &name) ||
      mproc_args_get_str(h, H_IDENTITY, &identity) ||
      mproc_args_get_int(h, H_PPID, &b->parent_pid) ||
      mproc_args_get_bool(h, H_DAEMON, &b->daemon) ||
      mproc_args_get_int(h, H_LOG_LEVEL, &log_level) ||
      mproc_args_get_int(h, H_PARENT_LINK, &b->parent_link) ||
      mproc_args_get_bool(h, H_PDEATHSIG_OK, &b->pdeathsig_ok) ||
      mproc_args_get_args(h, H_HANDLES, &table)) {
    mproc__error_prefix("bootstrap: bad header");
    return MPROC_EPROTO;
  }
  if (id_len > sizeof b->target.id || offset < 0)
    return mproc__fail(MPROC_EPROTO, "bootstrap: bad target identity");
  b->log_level = (int)log_level;
  size_t n = mproc_args_count(table);
  if (n && !(b->handles = calloc(n, sizeof *b->handles)))
    return mproc__fail(MPROC_ENOMEM, "bootstrap: out of memory");
  b->nhandles = n;
  for (size_t i = 0; i < b->nhandles; i++) {
    int64_t value;
    const void *blob;
    size_t blob_len;
    if (mproc_args_get_int(table, i, &value) == 0) {
      b->handles[i].value = (intptr_t)value;
    } else if (mproc_args_get_bytes(table, i, &blob, &blob_len) == 0 && blob_len > 0) {
      b->handles[i].value = -1;
      b->handles[i].blob = malloc(blob_len);
      if (!b->handles[i].blob)
        return mproc__fail(MPROC_ENOMEM, "bootstrap: out of memory");
      memcpy(b->handles[i].blob, blob, blob_len);
      b->handles[i].blob_len = blob_len;
    } else {
      return mproc__fail(MPROC_EPROTO, "bootstrap: bad handle table");
    }
  }
  memcpy(b->target.id, id, id_len);
  b->target.id_len = id_len;
  b->target.offset = (uint64_t)offset;
  b->target.module = mproc__strdup(module);
  b->name = mproc__strdup(name);
  b->identity = mproc__strdup(identity);
  if (!b->target.module || !b->name || !b->identity)
    return mproc__fail(MPROC_ENOMEM, "bootstrap: out of memory");
  return 0;
}

int mproc__boot_recv(mproc__stream_t *s, mproc__boot_t *b) {
  unsigned char pre[PREAMBLE];
  unsigned char *header = NULL;
  mproc_args_t *h = NULL;
  memset(b, 0, sizeof *b);
  int rc = read_exact(s, pre, sizeof pre, "preamble");
  if (rc)
    return rc;
  if (memcmp(pre, "MPRC", 4) != 0)
    return mproc__fail(MPROC_EPROTO, "bootstrap: not an mproc bootstrap message");
  uint32_t version = mproc__get_u32(pre + 4);
  uint64_t header_len = mproc__get_u64(pre + 8), args_len = mproc__get_u64(pre + 16);
  if (version != VERSION)
    return mproc__fail(MPROC_EPROTO, "bootstrap: version %u, this build speaks %d", version,
                       VERSION);
  if (header_len == 0 || header_len > MAX_HEADER || args_len > MPROC__BOOT_ARGS_MAX)
    return mproc__fail(MPROC_EPROTO, "bootstrap: bad lengths (header %llu, arguments %llu)",
                       (unsigned long long)header_len, (unsigned long long)args_len);

  if (header_len + args_len <= ONE_WRITE) {
    /* Small: header and arguments in one read, one buffer. */
    header = malloc((size_t)(header_len + args_len) + 1);
    b->args = malloc((size_t)args_len + 1);
    if (!header || !b->args) {
      free(header);
      return mproc__fail(MPROC_ENOMEM, "bootstrap: out of memory");
    }
    rc = read_exact(s, header, (size_t)(header_len + args_len), "header or arguments");
    if (!rc && args_len)
      memcpy(b->args, header + header_len, (size_t)args_len);
  } else {
    header = malloc((size_t)header_len);
    if (!header)
      return mproc__fail(MPROC_ENOMEM, "bootstrap: out of memory");
    rc = read_exact(s, header, (size_t)header_len, "header");
    if (!rc)
      rc = read_growing(s, (size_t)args_len, &b->args);
  }
  if (!rc)
    b->args_len = (size_t)args_len;
  if (!rc)
    rc = mproc_args_decode(&h, header, (size_t)header_len);
  if (!rc)
    rc = parse_header(h, b);
  free(header);
  mproc_args_free(h);
  if (rc)
    mproc__boot_clear(b);
  return rc;
}

void mproc__boot_clear(mproc__boot_t *b) {
  free(b->target.module);
  free(b->name);
  free(b->identity);
  free(b->args);
  mproc__child_handles_clear(b->handles, b->nhandles);
  free(b->handles);
  memset(b, 0, sizeof *b);
}

void mproc__child_handles_clear(mproc__child_handle_t *h, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(h[i].blob);
    h[i].blob = NULL;
    h[i].blob_len = 0;
  }
}

int mproc__report_ok(mproc__stream_t *s) { return mproc__os_stream_write(s, "R", 1); }

int mproc__report_error(mproc__stream_t *s, const char *message) {
  size_t n = strlen(message);
  if (n > MAX_REPORT)
    n = MAX_REPORT;
  unsigned char head[5] = {'E'};
  mproc__put_u32(head + 1, (uint32_t)n);
  int rc = mproc__os_stream_write(s, head, sizeof head);
  return rc ? rc : mproc__os_stream_write(s, message, n);
}

/* Reads n bytes the child left before it ended. Never blocks: another
 * process (a sibling forked meanwhile) may hold a copy of the child's end,
 * so waiting for end-of-file could wait forever. */
static size_t read_left(mproc__stream_t *s, void *p, size_t n) {
  size_t total = 0, got;
  while (total < n && mproc__os_stream_read_now(s, (char *)p + total, n - total, &got) == 0 &&
         got > 0)
    total += got;
  return total;
}

int mproc__report_read(mproc__stream_t *s, int exitcode) {
  unsigned char head[5];
  if (read_left(s, head, 1) != 1) {
    /* Killed before it got going (terminate/kill right after start, or a
     * signal): that is how it ended, as in Python, not a failure to start. */
    if (exitcode < 0)
      return 0;
    return mproc__fail(
        MPROC_ECHILD, "child exited with status %d before reading its bootstrap message", exitcode);
  }
  if (head[0] == 'R')
    return 0;
  char msg[MAX_REPORT + 1];
  size_t len = 0;
  if (head[0] == 'E' && read_left(s, head + 1, 4) == 4) {
    len = mproc__get_u32(head + 1);
    len = len > MAX_REPORT ? 0 : read_left(s, msg, len);
  }
  msg[len] = '\0';
  return mproc__fail(MPROC_ECHILD, "child could not run its target: %s",
                     len ? msg : "(no reason given)");
}
