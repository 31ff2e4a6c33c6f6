/* Argument tuples: building, reading, encoding, and decoding hostile input. */
#include <math.h>

#include "test_util.h"

static mproc_args_t *sample(void) {
  mproc_args_t *a, *n;
  ASSERT_OK(mproc_args_new(&a));
  ASSERT_OK(mproc_args_add_nil(a));
  ASSERT_OK(mproc_args_add_bool(a, true));
  ASSERT_OK(mproc_args_add_int(a, -123456789012345));
  ASSERT_OK(mproc_args_add_double(a, 3.25));
  ASSERT_OK(mproc_args_add_str(a, "text"));
  ASSERT_OK(mproc_args_add_bytes(a, "\0\1\2", 3));
  ASSERT_OK(mproc_args_new(&n));
  ASSERT_OK(mproc_args_add_int(n, 5));
  ASSERT_OK(mproc_args_add_args(a, n));
  mproc_args_free(n);
  return a;
}

static void getters_and_types(void **state) {
  mproc_args_t *a = sample();
  assert_int_equal(mproc_args_count(a), 7);
  mproc_type_t want[] = {MPROC_T_NIL, MPROC_T_BOOL,  MPROC_T_INT, MPROC_T_DOUBLE,
                         MPROC_T_STR, MPROC_T_BYTES, MPROC_T_ARGS};
  for (size_t i = 0; i < 7; i++)
    assert_int_equal(mproc_args_type(a, i), want[i]);
  assert_int_equal(mproc_args_type(a, 7), MPROC_T_NIL);
  assert_int_equal(mproc_args_type(NULL, 0), MPROC_T_NIL);
  assert_int_equal(mproc_args_count(NULL), 0);

  int64_t i = 99;
  ASSERT_OK(mproc_args_get_int(a, 2, &i));
  assert_true(i == -123456789012345);
  ASSERT_ERR(MPROC_ETYPE, mproc_args_get_int(a, 3, &i));
  assert_true(i == -123456789012345); /* untouched on error */
  ASSERT_ERR(MPROC_ERANGE, mproc_args_get_int(a, 7, &i));
  ASSERT_ERR(MPROC_ERANGE, mproc_args_get_int(a, SIZE_MAX, &i));
  ASSERT_ERR(MPROC_EINVAL, mproc_args_get_int(a, 2, NULL));
  ASSERT_ERR(MPROC_EINVAL, mproc_args_get_int(NULL, 2, &i));

  bool b;
  double d;
  const char *s;
  const void *p;
  size_t n;
  const mproc_args_t *t;
  ASSERT_ERR(MPROC_ETYPE, mproc_args_get_bool(a, 0, &b));
  ASSERT_ERR(MPROC_ETYPE, mproc_args_get_double(a, 2, &d));
  ASSERT_ERR(MPROC_ETYPE, mproc_args_get_str(a, 5, &s));
  ASSERT_ERR(MPROC_ETYPE, mproc_args_get_bytes(a, 4, &p, &n));
  ASSERT_ERR(MPROC_EINVAL, mproc_args_get_bytes(a, 5, &p, NULL));
  ASSERT_ERR(MPROC_EINVAL, mproc_args_get_bytes(a, 5, NULL, &n));
  ASSERT_ERR(MPROC_ETYPE, mproc_args_get_args(a, 0, &t));
  ASSERT_OK(mproc_args_get_bytes(a, 5, &p, &n));
  assert_int_equal(n, 3);
  assert_memory_equal(p, "\0\1\2", 3);
  ASSERT_OK(mproc_args_get_args(a, 6, &t));
  ASSERT_OK(mproc_args_get_int(t, 0, &i));
  assert_true(i == 5);
  mproc_args_free(a);
}

static void adding_rejects_bad_input(void **state) {
  mproc_args_t *a;
  ASSERT_ERR(MPROC_EINVAL, mproc_args_new(NULL));
  ASSERT_OK(mproc_args_new(&a));
  ASSERT_ERR(MPROC_EINVAL, mproc_args_add_nil(NULL));
  ASSERT_ERR(MPROC_EINVAL, mproc_args_add_bool(NULL, true));
  ASSERT_ERR(MPROC_EINVAL, mproc_args_add_int(NULL, 1));
  ASSERT_ERR(MPROC_EINVAL, mproc_args_add_double(NULL, 1));
  ASSERT_ERR(MPROC_EINVAL, mproc_args_add_str(a, NULL));
  ASSERT_ERR(MPROC_EINVAL, mproc_args_add_str(a, "\xff\xfe"));         /* not UTF-8 */
  ASSERT_ERR(MPROC_EINVAL, mproc_args_add_str(a, "\xc0\xaf"));         /* overlong */
  ASSERT_ERR(MPROC_EINVAL, mproc_args_add_str(a, "\xed\xa0\x80"));     /* surrogate */
  ASSERT_ERR(MPROC_EINVAL, mproc_args_add_str(a, "\xf4\x90\x80\x80")); /* > U+10FFFF */
  ASSERT_ERR(MPROC_EINVAL, mproc_args_add_str(a, "ab\xe2\x82"));       /* truncated */
  ASSERT_ERR(MPROC_EINVAL, mproc_args_add_bytes(a, NULL, 1));
  ASSERT_ERR(MPROC_EINVAL, mproc_args_add_args(a, NULL));
  ASSERT_ERR(MPROC_EINVAL, mproc_args_add_args(NULL, a));
  assert_int_equal(mproc_args_count(a), 0); /* failures add nothing */
  ASSERT_OK(mproc_args_add_bytes(a, NULL, 0));
  mproc_args_free(a);
}

static void nesting_is_copied_and_bounded(void **state) {
  mproc_args_t *a, *inner;
  ASSERT_OK(mproc_args_new(&a));
  ASSERT_OK(mproc_args_add_int(a, 1));
  ASSERT_OK(mproc_args_add_args(a, a)); /* a copy of itself as it was */
  assert_int_equal(mproc_args_count(a), 2);
  const mproc_args_t *t;
  ASSERT_OK(mproc_args_get_args(a, 1, &t));
  assert_int_equal(mproc_args_count(t), 1);
  mproc_args_free(a);

  /* Build MPROC_ARGS_MAX_DEPTH levels; one more is refused. */
  ASSERT_OK(mproc_args_new(&inner));
  for (int depth = 2; depth <= MPROC_ARGS_MAX_DEPTH; depth++) {
    ASSERT_OK(mproc_args_new(&a));
    ASSERT_OK(mproc_args_add_args(a, inner));
    mproc_args_free(inner);
    inner = a;
  }
  ASSERT_OK(mproc_args_new(&a));
  ASSERT_ERR(MPROC_EINVAL, mproc_args_add_args(a, inner));
  void *buf;
  size_t len;
  ASSERT_OK(mproc_args_encode(inner, &buf, &len));
  mproc_args_t *back;
  ASSERT_OK(mproc_args_decode(&back, buf, len)); /* the deepest allowed decodes */
  mproc_args_free(back);
  mproc_free(buf);
  mproc_args_free(a);
  mproc_args_free(inner);
}

/* Items: what the manager's calls take, built and read back generically. */
static void items_round_trip(void **state) {
  (void)state;
  mproc_args_t *a, *t;
  ASSERT_OK(mproc_args_new(&a));
  ASSERT_OK(mproc_args_new(&t));
  ASSERT_OK(mproc_args_add_int(t, 5));
  const char raw[] = {'x', 0, 'y'};
  const mproc_item_t in[] = {mproc_nil(),
                             mproc_bool(true),
                             mproc_int(-7),
                             mproc_double(2.5),
                             mproc_str("h\xc3\xa9llo"),
                             mproc_bytes(raw, 3),
                             mproc_bytes(NULL, 0),
                             mproc_tuple(t)};
  const size_t n = sizeof in / sizeof in[0];
  for (size_t i = 0; i < n; i++)
    ASSERT_OK(mproc_args_add_item(a, in[i]));
  mproc_args_free(t); /* copied */
  assert_int_equal(mproc_args_count(a), n);
  mproc_item_t out;
  for (size_t i = 0; i < n; i++) {
    ASSERT_OK(mproc_args_get_item(a, i, &out));
    assert_int_equal(out.type, in[i].type);
  }
  ASSERT_OK(mproc_args_get_item(a, 2, &out));
  assert_int_equal(out.v.i, -7);
  ASSERT_OK(mproc_args_get_item(a, 4, &out));
  assert_int_equal(out.v.s.n, 6);
  assert_string_equal(out.v.s.p, "h\xc3\xa9llo");
  ASSERT_OK(mproc_args_get_item(a, 5, &out));
  assert_int_equal(out.v.s.n, 3);
  assert_memory_equal(out.v.s.p, raw, 3);
  ASSERT_OK(mproc_args_get_item(a, 7, &out));
  assert_int_equal(mproc_args_count(out.v.t), 1);
  /* Bad items change nothing. */
  mproc_item_t bad_type = {(mproc_type_t)99, {0}};
  ASSERT_ERR(MPROC_EINVAL, mproc_args_add_item(a, bad_type));
  ASSERT_ERR(MPROC_EINVAL, mproc_args_add_item(a, mproc_str(NULL)));
  ASSERT_ERR(MPROC_EINVAL, mproc_args_add_item(a, mproc_str("\xff")));
  ASSERT_ERR(MPROC_EINVAL, mproc_args_add_item(a, mproc_bytes(NULL, 2)));
  ASSERT_ERR(MPROC_EINVAL, mproc_args_add_item(a, mproc_tuple(NULL)));
  mproc_item_t no_object = {MPROC_T_LOCK, {0}};
  ASSERT_ERR(MPROC_EINVAL, mproc_args_add_item(a, no_object));
  ASSERT_ERR(MPROC_EINVAL, mproc_args_add_item(NULL, mproc_int(1)));
  assert_int_equal(mproc_args_count(a), n);
  ASSERT_ERR(MPROC_ERANGE, mproc_args_get_item(a, n, &out));
  ASSERT_ERR(MPROC_EINVAL, mproc_args_get_item(a, 0, NULL));
  ASSERT_ERR(MPROC_EINVAL, mproc_args_get_item(NULL, 0, &out));
  /* An object item holds its own reference, as add_lock does. */
  mproc_lock_t *lock;
  ASSERT_OK(mproc_lock_new(&lock));
  mproc_item_t li = {MPROC_T_LOCK, {0}};
  li.v.obj = lock;
  ASSERT_OK(mproc_args_add_item(a, li));
  mproc_lock_free(lock);
  ASSERT_OK(mproc_args_get_item(a, n, &out));
  assert_int_equal(out.type, MPROC_T_LOCK);
  ASSERT_OK(mproc_lock_acquire(out.v.obj, 0));
  ASSERT_OK(mproc_lock_release(out.v.obj));
  mproc_args_free(a);
}

static void encode_decode_round_trip(void **state) {
  mproc_args_t *a = sample(), *back;
  void *buf, *buf2;
  size_t len, len2;
  ASSERT_OK(mproc_args_encode(a, &buf, &len));
  ASSERT_OK(mproc_args_decode(&back, buf, len));
  ASSERT_OK(mproc_args_encode(back, &buf2, &len2));
  assert_int_equal(len, len2);
  assert_memory_equal(buf, buf2, len); /* canonical: same bytes again */
  mproc_free(buf);
  mproc_free(buf2);
  mproc_args_free(back);
  mproc_args_free(a);

  ASSERT_ERR(MPROC_EINVAL, mproc_args_encode(NULL, &buf, &len));
  ASSERT_OK(mproc_args_new(&a));
  ASSERT_ERR(MPROC_EINVAL, mproc_args_encode(a, NULL, &len));
  ASSERT_ERR(MPROC_EINVAL, mproc_args_encode(a, &buf, NULL));
  ASSERT_OK(mproc_args_encode(a, &buf, &len)); /* the empty tuple */
  assert_int_equal(len, 1);
  assert_int_equal(((unsigned char *)buf)[0], 0x90);
  mproc_free(buf);
  mproc_args_free(a);
}

/* The wire format is MessagePack, byte for byte (docs/args.md). */
static void wire_format_is_messagepack(void **state) {
  mproc_args_t *a;
  ASSERT_OK(mproc_args_new(&a));
  ASSERT_OK(mproc_args_add_int(a, 1));
  ASSERT_OK(mproc_args_add_int(a, -1));
  ASSERT_OK(mproc_args_add_str(a, "a"));
  ASSERT_OK(mproc_args_add_bytes(a, "b", 1));
  ASSERT_OK(mproc_args_add_nil(a));
  ASSERT_OK(mproc_args_add_bool(a, false));
  ASSERT_OK(mproc_args_add_double(a, 1.0));
  static const unsigned char want[] = {0x97, 0x01, 0xff, 0xa1, 'a', 0xc4, 0x01, 'b', 0xc0, 0xc2,
                                       0xcb, 0x3f, 0xf0, 0,    0,   0,    0,    0,   0};
  void *buf;
  size_t len;
  ASSERT_OK(mproc_args_encode(a, &buf, &len));
  assert_int_equal(len, sizeof want);
  assert_memory_equal(buf, want, len);
  mproc_free(buf);
  mproc_args_free(a);

  /* float32 from other MessagePack writers decodes as a double. */
  static const unsigned char f32[] = {0x91, 0xca, 0x3f, 0xc0, 0, 0};
  ASSERT_OK(mproc_args_decode(&a, f32, sizeof f32));
  double d;
  ASSERT_OK(mproc_args_get_double(a, 0, &d));
  assert_true(d == 1.5);
  mproc_args_free(a);
}

/* Every integer width at its edges, and array headers at theirs, in the
 * shortest MessagePack form (the encoder writes these itself), and back. */
static void integers_take_their_shortest_form(void **state) {
  static const struct {
    int64_t v;
    const char *bytes; /* the encoding after the 0x91 of a 1-tuple */
    size_t n;
  } cases[] = {
      {0, "\x00", 1},
      {127, "\x7f", 1},
      {128, "\xcc\x80", 2},
      {255, "\xcc\xff", 2},
      {256, "\xcd\x01\x00", 3},
      {65535, "\xcd\xff\xff", 3},
      {65536, "\xce\x00\x01\x00\x00", 5},
      {4294967295, "\xce\xff\xff\xff\xff", 5},
      {4294967296, "\xcf\x00\x00\x00\x01\x00\x00\x00\x00", 9},
      {INT64_MAX, "\xcf\x7f\xff\xff\xff\xff\xff\xff\xff", 9},
      {-1, "\xff", 1},
      {-32, "\xe0", 1},
      {-33, "\xd0\xdf", 2},
      {-128, "\xd0\x80", 2},
      {-129, "\xd1\xff\x7f", 3},
      {-32768, "\xd1\x80\x00", 3},
      {-32769, "\xd2\xff\xff\x7f\xff", 5},
      {INT32_MIN, "\xd2\x80\x00\x00\x00", 5},
      {(int64_t)INT32_MIN - 1, "\xd3\xff\xff\xff\xff\x7f\xff\xff\xff", 9},
      {INT64_MIN, "\xd3\x80\x00\x00\x00\x00\x00\x00\x00", 9},
  };
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    mproc_args_t *a, *back;
    ASSERT_OK(mproc_args_new(&a));
    ASSERT_OK(mproc_args_add_int(a, cases[c].v));
    void *buf;
    size_t len;
    ASSERT_OK(mproc_args_encode(a, &buf, &len));
    assert_int_equal(len, 1 + cases[c].n);
    assert_int_equal(((unsigned char *)buf)[0], 0x91);
    assert_memory_equal((unsigned char *)buf + 1, cases[c].bytes, cases[c].n);
    int64_t got = 0;
    ASSERT_OK(mproc_args_decode(&back, buf, len));
    ASSERT_OK(mproc_args_get_int(back, 0, &got));
    assert_true(got == cases[c].v);
    mproc_free(buf);
    mproc_args_free(back);
    mproc_args_free(a);
  }
  /* Array headers: fixarray up to 15 items, then array 16, then array 32. */
  static const struct {
    size_t n;
    unsigned char head[5];
    size_t len;
  } arrays[] = {{15, {0x9f}, 1},
                {16, {0xdc, 0x00, 0x10}, 3},
                {65535, {0xdc, 0xff, 0xff}, 3},
                {65536, {0xdd, 0x00, 0x01, 0x00, 0x00}, 5}};
  for (size_t c = 0; c < sizeof arrays / sizeof arrays[0]; c++) {
    mproc_args_t *a;
    ASSERT_OK(mproc_args_new(&a));
    for (size_t i = 0; i < arrays[c].n; i++)
      ASSERT_OK(mproc_args_add_nil(a));
    void *buf;
    size_t len;
    ASSERT_OK(mproc_args_encode(a, &buf, &len));
    assert_int_equal(len, arrays[c].len + arrays[c].n);
    assert_memory_equal(buf, arrays[c].head, arrays[c].len);
    mproc_free(buf);
    mproc_args_free(a);
  }
}

static void big_items(void **state) {
  size_t n = (size_t)64 << 20;
  char *s = malloc(n + 1);
  assert_non_null(s);
  memset(s, 'x', n);
  s[n] = '\0';
  mproc_args_t *a, *back;
  ASSERT_OK(mproc_args_new(&a));
  ASSERT_OK(mproc_args_add_str(a, s));
  ASSERT_OK(mproc_args_add_bytes(a, s, n));
  void *buf;
  size_t len;
  ASSERT_OK(mproc_args_encode(a, &buf, &len));
  ASSERT_OK(mproc_args_decode(&back, buf, len));
  const char *got;
  ASSERT_OK(mproc_args_get_str(back, 0, &got));
  assert_int_equal(strlen(got), n);
  mproc_free(buf);
  mproc_args_free(back);
  mproc_args_free(a);
  free(s);
}

static void decode_bad(const void *p, size_t n) {
  mproc_args_t *a = NULL;
  int rc = mproc_args_decode(&a, p, n);
  if (rc != MPROC_EPROTO)
    fail_msg("decode of %llu bytes gave %s, expected MPROC_EPROTO", (unsigned long long)n,
             mproc_err_name(rc));
  assert_null(a);
}

static void hostile_inputs(void **state) {
  mproc_args_t *a;
  ASSERT_ERR(MPROC_EINVAL, mproc_args_decode(NULL, "\x90", 1));
  ASSERT_ERR(MPROC_EINVAL, mproc_args_decode(&a, NULL, 1));
  decode_bad(NULL, 0);
  decode_bad("", 0);
  decode_bad("\x01", 1);                        /* not an array */
  decode_bad("\xc1", 1);                        /* never-used byte */
  decode_bad("\xdd\xff\xff\xff\xff", 5);        /* 4 billion items, no bytes */
  decode_bad("\xdc\xff\xff\x01", 4);            /* 65535 items, 1 byte */
  decode_bad("\x91\xdb\xff\xff\xff\xff", 6);    /* 4 GiB string, no bytes */
  decode_bad("\x91\xc6\x7f\xff\xff\xff", 6);    /* 2 GiB bin, no bytes */
  decode_bad("\x90\x90", 2);                    /* trailing bytes */
  decode_bad("\x91\x81\x01\x02", 4);            /* a map */
  decode_bad("\x91\xd4\x01\x00", 4);            /* an extension */
  decode_bad("\x91\xcf\x80\0\0\0\0\0\0\0", 10); /* uint64 above INT64_MAX */
  decode_bad("\x91\xa2\xc3\x28", 4);            /* invalid UTF-8 */
  decode_bad("\x91\xa3"
             "a\0b",
             5); /* NUL inside a string */
  unsigned char deep[64];
  memset(deep, 0x91, sizeof deep);
  deep[sizeof deep - 1] = 0x90;
  decode_bad(deep, sizeof deep); /* nested 64 deep */
  decode_bad(deep + sizeof deep - MPROC_ARGS_MAX_DEPTH - 1, MPROC_ARGS_MAX_DEPTH + 1);
  ASSERT_OK(mproc_args_decode(&a, deep + sizeof deep - MPROC_ARGS_MAX_DEPTH, MPROC_ARGS_MAX_DEPTH));
  mproc_args_free(a);
}

static void every_truncation_is_rejected(void **state) {
  mproc_args_t *a = sample();
  void *buf;
  size_t len;
  ASSERT_OK(mproc_args_encode(a, &buf, &len));
  for (size_t n = 0; n < len; n++)
    decode_bad(buf, n);
  mproc_free(buf);
  mproc_args_free(a);
}

/* Random and mutated bytes: any answer but a crash or a leak is fine, and
 * success must give a tuple that encodes again. */
static void random_inputs_never_crash(void **state) {
  uint64_t x = 0x9E3779B97F4A7C15ull;
  mproc_args_t *base = sample();
  void *good;
  size_t good_len;
  ASSERT_OK(mproc_args_encode(base, &good, &good_len));
  unsigned char buf[96];
  for (int iter = 0; iter < 200000; iter++) {
    size_t n;
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    if (iter % 2) { /* mutate a valid encoding */
      n = good_len;
      memcpy(buf, good, n);
      for (int k = 0; k < 3; k++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        buf[x % n] = (unsigned char)(x >> 32);
      }
    } else { /* pure noise, starting like an array */
      n = 1 + x % sizeof buf;
      for (size_t k = 0; k < n; k++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        buf[k] = (unsigned char)x;
      }
      buf[0] = (unsigned char)(0x90 | (buf[0] & 0x0f));
    }
    mproc_args_t *a = NULL;
    int rc = mproc_args_decode(&a, buf, n);
    assert_true(rc == 0 || rc == MPROC_EPROTO);
    if (rc == 0) {
      void *again;
      size_t again_len;
      ASSERT_OK(mproc_args_encode(a, &again, &again_len));
      mproc_free(again);
      mproc_args_free(a);
    }
  }
  mproc_free(good);
  mproc_args_free(base);
}

int main(int argc, char **argv) {
  mproc_main_guard(argc, argv);
  const struct CMUnitTest build[] = {
      cmocka_unit_test(getters_and_types),
      cmocka_unit_test(adding_rejects_bad_input),
      cmocka_unit_test(nesting_is_copied_and_bounded),
      cmocka_unit_test(items_round_trip),
  };
  const struct CMUnitTest codec[] = {
      cmocka_unit_test(encode_decode_round_trip),
      cmocka_unit_test(integers_take_their_shortest_form),
      cmocka_unit_test(wire_format_is_messagepack),
      cmocka_unit_test(big_items),
  };
  const struct CMUnitTest hostile[] = {
      cmocka_unit_test(hostile_inputs),
      cmocka_unit_test(every_truncation_is_rejected),
      cmocka_unit_test(random_inputs_never_crash),
  };
  const test_group_t groups[] = {
      TEST_GROUP("build", build),
      TEST_GROUP("codec", codec),
      TEST_GROUP("hostile", hostile),
  };
  return run_groups(argc, argv, groups, sizeof groups / sizeof groups[0]);
}
