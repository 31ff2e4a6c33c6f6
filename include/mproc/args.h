/* mproc — argument tuples: what crosses from a parent to a child.
 *
 * An mproc_args_t is an ordered tuple of typed items (nil, bool, 64-bit
 * integer, double, UTF-8 string, bytes, nested tuple), the C counterpart of
 * the `args` tuple of Python's Process. It is encoded as MessagePack; the
 * encoding is documented in docs/args.md. Getters return borrowed pointers
 * that live as long as the tuple they came from. */
#ifndef MPROC_ARGS_H
#define MPROC_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mproc_args mproc_args_t;

/* The type of one item. */
typedef enum {
  MPROC_T_NIL,
  MPROC_T_BOOL,
  MPROC_T_INT,
  MPROC_T_DOUBLE,
  MPROC_T_STR,
  MPROC_T_BYTES,
  MPROC_T_ARGS,
  MPROC_T_CONN, /* a connection end (connection.h) */
  MPROC_T_LOCK, /* synchronization objects (sync.h) */
  MPROC_T_RLOCK,
  MPROC_T_SEM,
  MPROC_T_COND,
  MPROC_T_EVENT,
  MPROC_T_BARRIER,
  MPROC_T_VALUE, /* shared memory (shm.h) */
  MPROC_T_ARRAY,
  MPROC_T_QUEUE, /* a queue (queue.h) */
  MPROC_T_SHM,   /* a named SharedMemory segment (shm.h) */
  MPROC_T_PROXY, /* a manager's shared object (manager.h) */
  /* Element types of a Value or Array (shm.h); never the type of an item.
   * Python's typecodes: b I8, B U8, h I16, H U16, i I32, I U32, q I64,
   * Q U64, f F32, d F64, c CHAR; l/L are I64/U64 on Linux and I32/U32 on
   * Windows (C's long). */
  MPROC_T_I8 = 64,
  MPROC_T_U8,
  MPROC_T_I16,
  MPROC_T_U16,
  MPROC_T_I32,
  MPROC_T_U32,
  MPROC_T_I64,
  MPROC_T_U64,
  MPROC_T_F32,
  MPROC_T_F64,
  MPROC_T_CHAR
} mproc_type_t;

/* The deepest nesting of tuples (the outer tuple counts as one level). */
#define MPROC_ARGS_MAX_DEPTH 16

/* Creates an empty tuple.
 * Params: out — receives the tuple; free it with mproc_args_free.
 * Returns: 0.
 * Errors: MPROC_EINVAL (out is NULL), MPROC_ENOMEM. */
MPROC_API int mproc_args_new(mproc_args_t **out);

/* Frees a tuple and everything in it.
 * Params: a — the tuple, or NULL (then nothing happens).
 * Errors: none. */
MPROC_API void mproc_args_free(mproc_args_t *a);

/* Appends an item. Strings and bytes are copied; a nested tuple is copied
 * deeply, so the caller keeps ownership of what it passes (a tuple may be
 * added to itself: the copy is taken first, as Python's t + (t,)).
 * Params: a — the tuple; v/s/p,n/nested — the value. add_str takes a
 *   NUL-terminated, valid UTF-8 string; add_bytes takes any n bytes (p may
 *   be NULL when n is 0).
 * Returns: 0.
 * Errors: MPROC_EINVAL (a NULL tuple or value, a string that is not valid
 *   UTF-8, nesting deeper than MPROC_ARGS_MAX_DEPTH), MPROC_ERANGE (more than 4 GiB - 1 bytes or
 * items), MPROC_ENOMEM. On failure the tuple is unchanged. */
MPROC_API int mproc_args_add_nil(mproc_args_t *a);
MPROC_API int mproc_args_add_bool(mproc_args_t *a, bool v);
MPROC_API int mproc_args_add_int(mproc_args_t *a, int64_t v);
MPROC_API int mproc_args_add_double(mproc_args_t *a, double v);
MPROC_API int mproc_args_add_str(mproc_args_t *a, const char *s);
MPROC_API int mproc_args_add_bytes(mproc_args_t *a, const void *p, size_t n);
MPROC_API int mproc_args_add_args(mproc_args_t *a, const mproc_args_t *nested);

/* One item, borrowed: what the manager's dict, list and queue calls take
 * as a key or a value (Python's one object), and what mproc_args_get_item
 * reads. It owns nothing: strings, bytes, tuples and objects stay the
 * caller's. Build one with mproc_nil(), mproc_bool(), mproc_int(),
 * mproc_double(), mproc_str(), mproc_bytes(), mproc_tuple() and
 * mproc_proxy_item() (manager.h). */
typedef struct mproc_item {
  mproc_type_t type;
  union {
    bool b;
    int64_t i;
    double d;
    struct {
      const char *p; /* MPROC_T_STR: UTF-8, need not be NUL-terminated */
      size_t n;
    } s;                   /* MPROC_T_STR and MPROC_T_BYTES */
    const mproc_args_t *t; /* MPROC_T_ARGS */
    void *obj;             /* MPROC_T_CONN and later: the object */
  } v;
} mproc_item_t;

static inline mproc_item_t mproc_nil(void) {
  mproc_item_t it;
  it.type = MPROC_T_NIL;
  it.v.i = 0;
  return it;
}
static inline mproc_item_t mproc_bool(bool b) {
  mproc_item_t it;
  it.type = MPROC_T_BOOL;
  it.v.b = b;
  return it;
}
static inline mproc_item_t mproc_int(int64_t i) {
  mproc_item_t it;
  it.type = MPROC_T_INT;
  it.v.i = i;
  return it;
}
static inline mproc_item_t mproc_double(double d) {
  mproc_item_t it;
  it.type = MPROC_T_DOUBLE;
  it.v.d = d;
  return it;
}
/* A NUL-terminated string (NULL makes an item every call refuses). */
static inline mproc_item_t mproc_str(const char *s) {
  mproc_item_t it;
  size_t n = 0;
  while (s && s[n])
    n++;
  it.type = MPROC_T_STR;
  it.v.s.p = s;
  it.v.s.n = n;
  return it;
}
static inline mproc_item_t mproc_bytes(const void *p, size_t n) {
  mproc_item_t it;
  it.type = MPROC_T_BYTES;
  it.v.s.p = (const char *)p;
  it.v.s.n = n;
  return it;
}
static inline mproc_item_t mproc_tuple(const mproc_args_t *t) {
  mproc_item_t it;
  it.type = MPROC_T_ARGS;
  it.v.t = t;
  return it;
}

/* Appends a copy of an item (as the typed add functions do; an object item
 * gets the tuple's own reference).
 * Params: a — the tuple; item — the item.
 * Returns: 0.
 * Errors: as the add functions: MPROC_EINVAL (NULL tuple, NULL data,
 *   invalid UTF-8, an unknown type, too deep), MPROC_ERANGE, MPROC_ENOMEM. */
MPROC_API int mproc_args_add_item(mproc_args_t *a, mproc_item_t item);

/* Reads item i as a borrowed item of whatever type it has.
 * Params: a — the tuple; i — the index; out — receives the item, whose
 *   pointers live as long as the tuple.
 * Returns: 0.
 * Errors: MPROC_EINVAL (NULL a or out), MPROC_ERANGE (i >= count). */
MPROC_API int mproc_args_get_item(const mproc_args_t *a, size_t i, mproc_item_t *out);

/* Counts the items of a tuple (nested tuples count as one item).
 * Params: a — the tuple.
 * Returns: the number of items; 0 when a is NULL.
 * Errors: none. */
MPROC_API size_t mproc_args_count(const mproc_args_t *a);

/* Tells the type of item i.
 * Params: a — the tuple; i — the index.
 * Returns: the type; MPROC_T_NIL when a is NULL or i is out of range (use
 *   mproc_args_count to tell those apart from a nil item).
 * Errors: none. */
MPROC_API mproc_type_t mproc_args_type(const mproc_args_t *a, size_t i);

/* Reads item i. Pointers returned through out are borrowed: they stay valid
 * as long as the tuple and are never NULL on success (an empty bytes item
 * gives a non-NULL pointer and length 0). Strings are NUL-terminated.
 * Params: a — the tuple; i — the index; out — receives the value; len —
 *   receives a bytes item's length.
 * Returns: 0.
 * Errors: MPROC_EINVAL (a or out is NULL), MPROC_ERANGE (i >= count),
 *   MPROC_ETYPE (item i has another type; out is left untouched). */
MPROC_API int mproc_args_get_bool(const mproc_args_t *a, size_t i, bool *out);
MPROC_API int mproc_args_get_int(const mproc_args_t *a, size_t i, int64_t *out);
MPROC_API int mproc_args_get_double(const mproc_args_t *a, size_t i, double *out);
MPROC_API int mproc_args_get_str(const mproc_args_t *a, size_t i, const char **out);
MPROC_API int mproc_args_get_bytes(const mproc_args_t *a, size_t i, const void **out, size_t *len);
MPROC_API int mproc_args_get_args(const mproc_args_t *a, size_t i, const mproc_args_t **out);

/* Encodes the tuple as one MessagePack array (see docs/args.md).
 * Params: a — the tuple; buf, len — receive the encoding, which the caller
 *   releases with mproc_free(*buf).
 * Returns: 0.
 * Errors: MPROC_EINVAL (a NULL argument), MPROC_ENOMEM. */
MPROC_API int mproc_args_encode(const mproc_args_t *a, void **buf, size_t *len);

/* Decodes what mproc_args_encode produced. Any input is safe: arbitrary,
 * truncated or hostile bytes give MPROC_EPROTO, never a crash or an
 * allocation larger than the input justifies.
 * Params: out — receives a new tuple (free with mproc_args_free); buf, len —
 *   the encoding (buf may be NULL only when len is 0).
 * Returns: 0.
 * Errors: MPROC_EINVAL (out NULL), MPROC_EPROTO (not exactly one valid
 *   encoded tuple: bad bytes, trailing bytes, unsupported MessagePack types,
 *   strings that are not UTF-8 or contain NUL, nesting deeper than
 *   MPROC_ARGS_MAX_DEPTH, integers above INT64_MAX), MPROC_ENOMEM. */
MPROC_API int mproc_args_decode(mproc_args_t **out, const void *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif
