/* Internal helpers shared by the files of the portable layer (src/core and the concept folders). */
#ifndef MPROC_CORE_INTERNAL_H
#define MPROC_CORE_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>

#include "mproc.h" /* the portable layer implements the whole API */
#include "platform.h"

/* gnu_printf: MinGW's C library formats %zu and %lld only in its ANSI stdio
 * mode (__USE_MINGW_ANSI_STDIO, set by the toolchain file); GCC checks that
 * dialect under this name. Clang knows only "printf". */
#if defined(__GNUC__) && !defined(__clang__)
#  define MPROC__PRINTF(f, a) __attribute__((format(gnu_printf, f, a)))
#elif defined(__GNUC__)
#  define MPROC__PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#  define MPROC__PRINTF(f, a)
#endif

/* Sets the thread's error detail and returns code (a negative MPROC_E*).
 * An argument may be the current detail (it is read before it is
 * written), but to add context say so: mproc__fail_prefix. */
int mproc__fail(int code, const char *fmt, ...) MPROC__PRINTF(2, 3);
/* The same with a native OS code and its message appended after ": ". */
int mproc__fail_native(int code, long native, const char *os_message, const char *fmt, va_list ap);
/* 0 for a timeout every waiting call takes (MPROC_INFINITE, 0 or more ms);
 * else MPROC_EINVAL, "<op>: timeout <n> ms is negative". Inline: it sits on
 * the fast path of every acquire; only the failure is a call. */
int mproc__bad_timeout(const char *op, int timeout_ms);
static inline int mproc__check_timeout(const char *op, int timeout_ms) {
  return timeout_ms < MPROC_INFINITE ? mproc__bad_timeout(op, timeout_ms) : 0;
}
/* 0 when a public options struct's reserved tail is zero; else
 * MPROC_EINVAL naming op and the field: the caller set an option of a
 * later mproc than this one, or left the struct uninitialised
 * (docs/design/STYLE.md, "ABI"). MPROC__CHECK_RESERVED(op, o) checks
 * o->reserved. */
int mproc__check_reserved(const char *op, const uint64_t *reserved, size_t n);
#define MPROC__CHECK_RESERVED(op, o)                                                               \
  mproc__check_reserved(op, (o)->reserved, sizeof(o)->reserved / sizeof(o)->reserved[0])
/* Prefixes the current detail with "<prefix>: " (adds context on the way up). */
void mproc__error_prefix(const char *prefix);
/* The same with a formatted prefix, returning code: "<fmt...>: <detail>". */
int mproc__fail_prefix(int code, const char *fmt, ...) MPROC__PRINTF(2, 3);

/* strdup, which C11 lacks: a malloc'd copy, or NULL without memory. */
char *mproc__strdup(const char *s);

/* A growable byte buffer. */
typedef struct {
  unsigned char *data;
  size_t len;
  size_t cap;
} mproc__buf_t;

int mproc__buf_reserve(mproc__buf_t *b, size_t extra);
int mproc__buf_append(mproc__buf_t *b, const void *p, size_t n);
void mproc__buf_free(mproc__buf_t *b);

/* Little-endian integers in wire formats. */
void mproc__put_u32(unsigned char *p, uint32_t v);
void mproc__put_u64(unsigned char *p, uint64_t v);
uint32_t mproc__get_u32(const unsigned char *p);
uint64_t mproc__get_u64(const unsigned char *p);

/* What travels beside an object's handles: a flags byte and up to
 * MPROC__OBJECT_INFO_MAX bytes the class appends (regions' ids and
 * offsets, an element type, a length, a segment's name, a manager's
 * address). Little-endian on the wire. */
#define MPROC__OBJECT_INFO_MAX 1024
typedef struct {
  uint8_t flags;
  uint16_t len;
  /* Set by the encoder, never sent: the bytes go to a child or a pool
   * worker of this process (a private channel), not to any reader of a
   * connection or queue. A portable object may then include secrets. */
  bool to_own_child;
  unsigned char bytes[MPROC__OBJECT_INFO_MAX];
} mproc__object_info_t;

/* Appends v in n bytes (1, 4 or 8); MPROC_ERANGE when info is full. */
int mproc__info_put(mproc__object_info_t *info, uint64_t v, size_t n);

/* Reads info back in the order it was put. */
typedef struct {
  const unsigned char *p;
  size_t left;
} mproc__info_reader_t;
/* MPROC_EPROTO when fewer than n bytes are left. */
int mproc__info_get(mproc__info_reader_t *r, size_t n, uint64_t *v);

/* Tuples over a byte channel (typed_io.c): encode and send, or receive and
 * decode, with the channel's own calls. */
typedef int (*mproc__bytes_send_fn)(void *ch, const void *buf, size_t len, int timeout_ms);
typedef int (*mproc__bytes_recv_fn)(void *ch, void **buf, size_t *len, int timeout_ms);
int mproc__send_args(mproc__bytes_send_fn send, void *ch, const mproc_args_t *args, int timeout_ms,
                     const char *op);
int mproc__recv_args(mproc__bytes_recv_fn recv, void *ch, mproc_args_t **args, int timeout_ms,
                     const char *op);

/* UTF-8 validity of n bytes (NUL bytes are reported separately). */
bool mproc__utf8_valid(const unsigned char *s, size_t n);

/* msgpack structural check (msgpack_check.c): 0 when buf holds exactly one
 * complete object whose containers declare no more items than bytes remain
 * and nest at most max_depth deep; MPROC_EPROTO otherwise. */
int mproc__msgpack_check(const unsigned char *buf, size_t len, int max_depth);
/* Reads one object's header at buf[*pos] (*pos < len): advances *pos past
 * the header and any payload (strings' bytes, an extension's type and
 * data) and sets *items to the number of objects inside it (0 for
 * scalars). MPROC_EPROTO when it does not fit in len. */
int mproc__msgpack_header(const unsigned char *buf, size_t len, size_t *pos, uint64_t *items,
                          bool *container);

#endif
