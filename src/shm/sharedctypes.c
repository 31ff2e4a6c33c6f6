/* Value and Array (Python's sharedctypes): a slice of shared memory
 * (region.h), its element type and length, and an optional RLock whose
 * state sits in the same arena. A Value is an Array of one element behind
 * its own public type. */
#include <stdlib.h>
#include <string.h>

#include "sync/sync_object.h"

typedef struct {
  _Atomic int refs;
  mproc__slice_t slice;
  mproc_type_t type;
  size_t len;
  mproc_rlock_t *lock; /* a reference of ours, or NULL */
} block_t;

struct mproc_value {
  block_t b;
};
struct mproc_array {
  block_t b;
};

size_t mproc_type_size(mproc_type_t t) {
  switch (t) {
  case MPROC_T_I8:
  case MPROC_T_U8:
  case MPROC_T_CHAR:
    return 1;
  case MPROC_T_I16:
  case MPROC_T_U16:
    return 2;
  case MPROC_T_I32:
  case MPROC_T_U32:
  case MPROC_T_F32:
    return 4;
  case MPROC_T_I64:
  case MPROC_T_U64:
  case MPROC_T_F64:
    return 8;
  default:
    return 0;
  }
}

static int block_new(block_t **out, size_t struct_size, const char *name, mproc_type_t type,
                     size_t n, const mproc_value_opts_t *opts) {
  mproc_value_opts_t none = {0};
  if (!opts)
    opts = &none;
  if (!out)
    return mproc__fail(MPROC_EINVAL, "%s_new: out is NULL", name);
  if (MPROC__CHECK_RESERVED(name, opts))
    return MPROC_EINVAL;
  size_t elem = mproc_type_size(type);
  if (elem == 0)
    return mproc__fail(MPROC_EINVAL,
                       "%s_new: type %d is not an element type (MPROC_T_I8 .. "
                       "MPROC_T_CHAR)",
                       name, (int)type);
  if (opts->lock != MPROC_LOCK_DEFAULT && opts->lock != MPROC_NO_LOCK)
    return mproc__fail(MPROC_EINVAL,
                       "%s_new: opts.lock is %d (MPROC_LOCK_DEFAULT or "
                       "MPROC_NO_LOCK)",
                       name, opts->lock);
  if (opts->lock == MPROC_NO_LOCK && opts->rlock)
    return mproc__fail(MPROC_EINVAL, "%s_new: opts.rlock given with MPROC_NO_LOCK", name);
  if (n > SIZE_MAX / elem)
    return mproc__fail(MPROC_ERANGE, "%s_new: %zu elements of %zu bytes overflow", name, n, elem);
  block_t *b = calloc(1, struct_size);
  if (!b)
    return mproc__fail(MPROC_ENOMEM, "%s_new: out of memory", name);
  atomic_init(&b->refs, 1);
  b->type = type;
  b->len = n;
  int rc = mproc__slice_alloc(n * elem, name, &b->slice);
  if (rc == 0 && opts->lock == MPROC_LOCK_DEFAULT) {
    if (opts->rlock) {
      mproc__sync_retain((mproc__sync_t *)opts->rlock);
      b->lock = opts->rlock;
    } else {
      rc = mproc_rlock_new(&b->lock);
    }
  }
  if (rc) {
    mproc__slice_free(&b->slice);
    free(b);
    return rc;
  }
  /* Python's Value(typecode, value) / Array(typecode, sequence). */
  if (opts->initial && n)
    memcpy(b->slice.mem, opts->initial, n * elem);
  *out = b;
  return 0;
}

static void block_free(block_t *b) {
  if (b && atomic_fetch_sub(&b->refs, 1) == 1) {
    mproc_rlock_free(b->lock);
    mproc__slice_free(&b->slice);
    free(b);
  }
}

/* ---- Value -------------------------------------------------------------- */

int mproc_value_new(mproc_value_t **out, mproc_type_t type, const mproc_value_opts_t *opts) {
  return block_new((block_t **)out, sizeof(mproc_value_t), "value", type, 1, opts);
}

void *mproc_value_ptr(const mproc_value_t *v) { return v ? v->b.slice.mem : NULL; }
mproc_type_t mproc_value_type(const mproc_value_t *v) { return v ? v->b.type : MPROC_T_NIL; }
mproc_rlock_t *mproc_value_lock(const mproc_value_t *v) { return v ? v->b.lock : NULL; }
void mproc_value_free(mproc_value_t *v) { block_free(v ? &v->b : NULL); }

/* The atomic helpers: one set of operations per integer type. Signed
 * atomics wrap in two's complement (C11 7.17.7.5), so add never overflows
 * into undefined behaviour. */
typedef struct {
  int64_t (*add)(void *p, int64_t d);
  int64_t (*load)(const void *p);
  void (*store)(void *p, int64_t v);
  bool (*cas)(void *p, int64_t *expected, int64_t desired);
  int64_t min, max; /* what fits; min > max for U64: every bit pattern */
} int_ops_t;

#define INT_OPS(name, ctype)                                                                       \
  static int64_t name##_add(void *p, int64_t d) {                                                  \
    return (int64_t)atomic_fetch_add((_Atomic ctype *)p, (ctype)d);                                \
  }                                                                                                \
  static int64_t name##_load(const void *p) {                                                      \
    return (int64_t)atomic_load((_Atomic ctype *)(void *)(uintptr_t)p);                            \
  }                                                                                                \
  static void name##_store(void *p, int64_t v) { atomic_store((_Atomic ctype *)p, (ctype)v); }     \
  static bool name##_cas(void *p, int64_t *expected, int64_t desired) {                            \
    ctype e = (ctype)*expected;                                                                    \
    bool done = atomic_compare_exchange_strong((_Atomic ctype *)p, &e, (ctype)desired);            \
    *expected = (int64_t)e;                                                                        \
    return done;                                                                                   \
  }
INT_OPS(i8, int8_t)
INT_OPS(u8, uint8_t)
INT_OPS(i16, int16_t)
INT_OPS(u16, uint16_t)
INT_OPS(i32, int32_t)
INT_OPS(u32, uint32_t)
INT_OPS(i64, int64_t)
INT_OPS(u64, uint64_t)
#define OPS(name, lo, hi)                                                                          \
  { name##_add, name##_load, name##_store, name##_cas, lo, hi }

static const int_ops_t *int_ops(mproc_type_t t) {
  static const int_ops_t ops[] = {
      OPS(i8, INT8_MIN, INT8_MAX),    OPS(u8, 0, UINT8_MAX),
      OPS(i16, INT16_MIN, INT16_MAX), OPS(u16, 0, UINT16_MAX),
      OPS(i32, INT32_MIN, INT32_MAX), OPS(u32, 0, UINT32_MAX),
      OPS(i64, INT64_MIN, INT64_MAX), OPS(u64, 1, 0),
  };
  return t >= MPROC_T_I8 && t <= MPROC_T_U64 ? &ops[t - MPROC_T_I8] : NULL;
}

static bool fits(const int_ops_t *o, int64_t v) {
  return o->min > o->max || (v >= o->min && v <= o->max);
}

/* The integer operations of v, or an error. */
static int checked(const mproc_value_t *v, const void *out, const char *op, const int_ops_t **o) {
  if (!v || !out)
    return mproc__fail(MPROC_EINVAL, "value_%s: %s is NULL", op, v ? "out" : "value");
  *o = int_ops(v->b.type);
  if (!*o)
    return mproc__fail(MPROC_ETYPE, "value_%s: only integer Values have atomic helpers (type %d)",
                       op, (int)v->b.type);
  return 0;
}

int mproc_value_add(mproc_value_t *v, int64_t delta, int64_t *old) {
  const int_ops_t *o;
  int rc = checked(v, v, "add", &o);
  if (rc)
    return rc;
  int64_t before = o->add(v->b.slice.mem, delta);
  if (old)
    *old = before;
  return 0;
}

int mproc_value_load(const mproc_value_t *v, int64_t *out) {
  const int_ops_t *o;
  int rc = checked(v, out, "load", &o);
  if (rc)
    return rc;
  *out = o->load(v->b.slice.mem);
  return 0;
}

int mproc_value_store(mproc_value_t *v, int64_t value) {
  const int_ops_t *o;
  int rc = checked(v, v, "store", &o);
  if (rc)
    return rc;
  if (!fits(o, value))
    return mproc__fail(MPROC_ERANGE, "value_store: %lld does not fit the Value's type",
                       (long long)value);
  o->store(v->b.slice.mem, value);
  return 0;
}

int mproc_value_compare_exchange(mproc_value_t *v, int64_t *expected, int64_t desired) {
  const int_ops_t *o;
  int rc = checked(v, expected, "compare_exchange", &o);
  if (rc)
    return rc;
  if (!fits(o, desired) || !fits(o, *expected))
    return mproc__fail(MPROC_ERANGE, "value_compare_exchange: %lld does not fit the Value's type",
                       (long long)(fits(o, desired) ? *expected : desired));
  return o->cas(v->b.slice.mem, expected, desired) ? 1 : 0;
}

/* ---- Array -------------------------------------------------------------- */

int mproc_array_new(mproc_array_t **out, mproc_type_t type, size_t n,
                    const mproc_value_opts_t *opts) {
  return block_new((block_t **)out, sizeof(mproc_array_t), "array", type, n, opts);
}

void *mproc_array_ptr(const mproc_array_t *a) { return a ? a->b.slice.mem : NULL; }
size_t mproc_array_len(const mproc_array_t *a) { return a ? a->b.len : 0; }
mproc_type_t mproc_array_type(const mproc_array_t *a) { return a ? a->b.type : MPROC_T_NIL; }
mproc_rlock_t *mproc_array_lock(const mproc_array_t *a) { return a ? a->b.lock : NULL; }
void mproc_array_free(mproc_array_t *a) { block_free(a ? &a->b : NULL); }

/* ---- as arguments: the region's handle, then the lock's ------------------
 * info: u8 element type, u64 length (first, so the slice's size is known
 * when it is read), the slice; then the lock's slice. */

enum { FLAG_LOCK = 1 };

static int block_export(const void *obj, intptr_t *h, size_t cap, size_t *n,
                        mproc__object_info_t *info) {
  const block_t *b = obj;
  if (cap < 1 || mproc__info_put(info, (uint64_t)b->type, 1) || mproc__info_put(info, b->len, 8))
    return MPROC_ERANGE;
  int rc = mproc__slice_export(&b->slice, &h[0], info);
  if (rc)
    return rc;
  size_t theirs = 0;
  if (b->lock)
    rc = mproc__sync_export((const mproc__sync_t *)b->lock, h + 1, cap - 1, &theirs, info);
  if (rc) {
    mproc__os_close_handle(h[0]);
    return rc;
  }
  info->flags = b->lock ? FLAG_LOCK : 0;
  *n = 1 + theirs;
  return 0;
}

static int block_import(block_t **out, size_t struct_size, const char *name, const intptr_t *h,
                        size_t n, uint8_t flags, mproc__info_reader_t *info) {
  uint64_t type = 0, len = 0;
  int rc = mproc__info_get(info, 1, &type);
  if (rc == 0)
    rc = mproc__info_get(info, 8, &len);
  size_t elem = mproc_type_size((mproc_type_t)type);
  if (rc == 0 && (elem == 0 || len > SIZE_MAX / elem || n < 1))
    rc = mproc__fail(MPROC_EPROTO, "%s: a bad description (type %llu, length %llu)", name,
                     (unsigned long long)type, (unsigned long long)len);
  block_t *b = rc ? NULL : calloc(1, struct_size);
  if (!b) {
    for (size_t i = 0; i < n; i++)
      mproc__os_close_handle(h[i]);
    return rc ? rc : mproc__fail(MPROC_ENOMEM, "%s: out of memory", name);
  }
  atomic_init(&b->refs, 1);
  b->type = (mproc_type_t)type;
  b->len = (size_t)len;
  rc = mproc__slice_import(h[0], info, b->len * elem, name, &b->slice);
  if (rc == 0 && (flags & FLAG_LOCK))
    rc = mproc__rlock_class.import_handles((void **)&b->lock, h + 1, n - 1, 0, info);
  else
    for (size_t i = 1; i < n; i++)
      mproc__os_close_handle(h[i]);
  if (rc) {
    block_free(b);
    return rc;
  }
  *out = b;
  return 0;
}

static int block_hold(void *obj, void **held) {
  atomic_fetch_add(&((block_t *)obj)->refs, 1);
  *held = obj;
  return 0;
}

static void block_release(void *obj) { block_free(obj); }

static int value_import(void **out, const intptr_t *h, size_t n, uint8_t flags,
                        mproc__info_reader_t *info) {
  return block_import((block_t **)out, sizeof(mproc_value_t), "value", h, n, flags, info);
}

static int array_import(void **out, const intptr_t *h, size_t n, uint8_t flags,
                        mproc__info_reader_t *info) {
  return block_import((block_t **)out, sizeof(mproc_array_t), "array", h, n, flags, info);
}

const mproc__object_class_t mproc__value_class = {
    MPROC_T_VALUE, "value", block_export, value_import, block_hold, block_release, false};
const mproc__object_class_t mproc__array_class = {
    MPROC_T_ARRAY, "array", block_export, array_import, block_hold, block_release, false};
MPROC__ARGS_ACCESSORS(value, mproc_value_t, mproc__value_class)
MPROC__ARGS_ACCESSORS(array, mproc_array_t, mproc__array_class)
