/* Writes the seed corpus of every harness (tests/fuzz/corpus/<harness>/):
 * valid inputs that reach deep into each decoder, for the fuzzers to
 * mutate. Run once when the formats change:
 *   make_seeds tests/fuzz/corpus */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../src/args/args_objects.h"
#include "../../src/manager/manager_wire.h"
#include "../../src/process/bootstrap.h"
#include "mproc.h"
#include "object_table.h"

static const char *root;

static void save(const char *harness, int n, const void *p, size_t len) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s/seed-%02d", root, harness, n);
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(p, 1, len, f) != len)
    abort();
  fclose(f);
}

static mproc_args_t *sample(void) {
  mproc_args_t *a, *inner;
  mproc_args_new(&a);
  mproc_args_new(&inner);
  mproc_args_add_int(inner, -5);
  mproc_args_add_str(inner, "nested");
  mproc_args_add_nil(a);
  mproc_args_add_bool(a, true);
  mproc_args_add_int(a, 1234567890123);
  mproc_args_add_double(a, 2.5);
  mproc_args_add_str(a, "h\xc3\xa9llo");
  mproc_args_add_bytes(a, "\0\1\2", 3);
  mproc_args_add_args(a, inner);
  mproc_args_free(inner);
  return a;
}

static void args_seeds(void) {
  mproc_args_t *a = sample();
  void *buf;
  size_t len;
  mproc_args_encode(a, &buf, &len);
  save("args", 1, buf, len);
  mproc_free(buf);
  mproc_args_free(a);
  mproc_args_new(&a);
  mproc_args_encode(a, &buf, &len);
  save("args", 2, buf, len);
  mproc_free(buf);
  mproc_args_free(a);
}

static void objects_seeds(void) {
  mproc__handle_table_t t = {0};
  void *buf;
  size_t len;
  if (fuzz_object_table(&buf, &len, &t))
    abort();
  save("objects", 1, buf, len);
  mproc_free(buf);
  mproc__handle_table_free(&t);
}

static void stream_bytes(int (*write_fn)(mproc__stream_t *, const void *), const void *arg,
                         const char *harness, int n, unsigned char lead) {
  int sv[2];
  socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  mproc__stream_t s = {sv[1], sv[1]};
  write_fn(&s, arg);
  close(sv[1]);
  unsigned char buf[65536];
  buf[0] = lead;
  ssize_t got = read(sv[0], buf + 1, sizeof buf - 1);
  close(sv[0]);
  save(harness, n, buf, (size_t)(got > 0 ? got : 0) + 1);
}

static int send_boot(mproc__stream_t *s, const void *arg) { return mproc__boot_send(s, arg); }
static int send_error(mproc__stream_t *s, const void *arg) { return mproc__report_error(s, arg); }
static int send_ok(mproc__stream_t *s, const void *arg) {
  (void)arg;
  return mproc__report_ok(s);
}

static void bootstrap_seeds(void) {
  mproc_args_t *a = sample();
  void *args;
  size_t len;
  mproc_args_encode(a, &args, &len);
  mproc__boot_t b = {0};
  b.name = "Process-1";
  b.identity = "1";
  b.parent_pid = 42;
  b.args = args;
  b.args_len = len;
  stream_bytes(send_boot, &b, "bootstrap", 1, 0);
  stream_bytes(send_error, "the target is not there", "bootstrap", 2, 1);
  stream_bytes(send_ok, NULL, "bootstrap", 3, 1);
  mproc_free(args);
  mproc_args_free(a);
}

static void conn_seeds(void) {
  unsigned char m[64] = {0, 5, 0, 0, 0, 'h', 'e', 'l', 'l', 'o', 3, 0, 0, 0, 0x91, 0x01, 0x02};
  save("conn", 1, m, 17);
  m[0] = 2;
  save("conn", 2, m, 17);
  m[0] = 8;
  save("conn", 3, m, 17);
  unsigned char big[] = {1, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 1, 0, 0, 0};
  save("conn", 4, big, sizeof big);
}

static void handshake_seeds(void) {
  unsigned char m[64] = {1, 43, 0, 0, 0};
  memcpy(m + 5, "#CHALLENGE#", 11);
  save("handshake", 1, m, 5 + 43);
  m[0] = 0;
  save("handshake", 2, m, 5 + 43);
}

/* A request: u16 length, then the request. */
static void put_request(mproc__buf_t *b, uint16_t op, uint64_t id, const mproc__buf_t *body) {
  unsigned char head[MPROC__MGR_REQ_HEAD];
  mproc__mgr_head_t h = {1, op, 0, id, 1};
  mproc__mgr_put_head(head, &h);
  size_t n = MPROC__MGR_REQ_HEAD + (body ? body->len : 0);
  unsigned char len[2] = {(unsigned char)n, (unsigned char)(n >> 8)};
  mproc__buf_append(b, len, 2);
  mproc__buf_append(b, head, sizeof head);
  if (body)
    mproc__buf_append(b, body->data, body->len);
}

static void manager_seeds(void) {
  mproc__buf_t b = {0}, body = {0};
  mproc_item_t key = mproc_str("k"), val = mproc_int(7);
  for (uint8_t kind = MPROC_PROXY_DICT; kind <= MPROC_PROXY_JOINABLE_QUEUE; kind++) {
    body.len = 0;
    mproc__mgr_put_u8(&body, kind);
    if (kind == MPROC_PROXY_VALUE)
      mproc__mgr_put_item(&body, &val, NULL);
    if (kind == MPROC_PROXY_SEMAPHORE || kind == MPROC_PROXY_BOUNDED_SEMAPHORE ||
        kind == MPROC_PROXY_QUEUE || kind == MPROC_PROXY_JOINABLE_QUEUE)
      mproc__mgr_put_u64(&body, 2);
    if (kind == MPROC_PROXY_BARRIER) {
      mproc__mgr_put_u64(&body, 2);
      mproc__mgr_put_u32(&body, (uint32_t)-1);
    }
    put_request(&b, MPROC__OP_CREATE, 0, &body);
  }
  /* dict 1: set, incr, get, items; list 2: append, sort; queue: put, get */
  body.len = 0;
  mproc__mgr_put_item(&body, &key, NULL);
  mproc__mgr_put_item(&body, &val, NULL);
  put_request(&b, MPROC__OP_DICT_SET, 1, &body);
  body.len = 0;
  mproc__mgr_put_item(&body, &key, NULL);
  mproc__mgr_put_u64(&body, 3);
  put_request(&b, MPROC__OP_DICT_INCR, 1, &body);
  body.len = 0;
  mproc__mgr_put_item(&body, &key, NULL);
  put_request(&b, MPROC__OP_DICT_GET, 1, &body);
  put_request(&b, MPROC__OP_DICT_ITEMS, 1, NULL);
  body.len = 0;
  mproc__mgr_put_item(&body, &val, NULL);
  put_request(&b, MPROC__OP_LIST_APPEND, 2, &body);
  put_request(&b, MPROC__OP_LIST_APPEND, 2, &body);
  body.len = 0;
  mproc__mgr_put_u8(&body, 1);
  put_request(&b, MPROC__OP_LIST_SORT, 2, &body);
  body.len = 0;
  mproc__mgr_put_u32(&body, 0);
  put_request(&b, MPROC__OP_ACQUIRE, 5, &body);
  put_request(&b, MPROC__OP_RELEASE, 5, NULL);
  body.len = 0;
  mproc__mgr_put_item(&body, &val, NULL);
  mproc__mgr_put_u32(&body, 0);
  put_request(&b, MPROC__OP_QUEUE_PUT, 12, &body);
  body.len = 0;
  mproc__mgr_put_u32(&body, 0);
  put_request(&b, MPROC__OP_QUEUE_GET, 12, &body);
  body.len = 0;
  mproc__mgr_put_blob(&body, "name", 4);
  put_request(&b, MPROC__OP_PUBLISH, 1, &body);
  put_request(&b, MPROC__OP_LOOKUP, 0, &body);
  put_request(&b, MPROC__OP_DECREF, 1, NULL);
  save("manager", 1, b.data, b.len);
  mproc__buf_free(&b);
  mproc__buf_free(&body);
}

int main(int argc, char **argv) {
  mproc_main_guard(argc, argv);
  if (argc < 2) {
    fprintf(stderr, "usage: make_seeds <corpus dir>\n");
    return 2;
  }
  root = argv[1];
  args_seeds();
  objects_seeds();
  bootstrap_seeds();
  conn_seeds();
  handshake_seeds();
  manager_seeds();
  return 0;
}
