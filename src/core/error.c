/* Error codes, their names, and the per-thread detail message. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"

enum { DETAIL_CAP = 1024 };

/* Per thread, so concurrent failures in two threads never mix messages. */
static _Thread_local char detail[DETAIL_CAP];
static _Thread_local long detail_native;

const char *mproc_strerror(int err) {
  switch (err) {
  case 0:
    return "success";
#define MPROC_ERR_TEXT_(name, value, text)                                                         \
  case value:                                                                                      \
    return text;
    MPROC_ERRNO_MAP(MPROC_ERR_TEXT_)
#undef MPROC_ERR_TEXT_
  default:
    return "unknown error code";
  }
}

const char *mproc_err_name(int err) {
  switch (err) {
  case 0:
    return "MPROC_OK";
#define MPROC_ERR_NAME_(name, value, text)                                                         \
  case value:                                                                                      \
    return "MPROC_" #name;
    MPROC_ERRNO_MAP(MPROC_ERR_NAME_)
#undef MPROC_ERR_NAME_
  default:
    return "MPROC_E?";
  }
}

const char *mproc_last_error_detail(void) { return detail; }

long mproc_last_error_os(void) { return detail_native; }

void mproc_free(void *p) { free(p); }

/* Formats into a scratch buffer first, then copies: an argument may be
 * the detail itself (mproc_last_error_detail(), a caller prefixing the
 * current detail), which vsnprintf must never read while it writes it. */
static int set_detail(int code, const char *fmt, va_list ap) {
  char fresh[DETAIL_CAP];
  fresh[0] = '\0';
  if (fmt)
    vsnprintf(fresh, sizeof fresh, fmt, ap);
  memcpy(detail, fresh, strlen(fresh) + 1);
  detail_native = 0;
  return code;
}

int mproc__fail(int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  set_detail(code, fmt, ap);
  va_end(ap);
  return code;
}

/* The same, for code outside the library (a pool backend). */
int mproc_set_error(int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  set_detail(code, fmt, ap);
  va_end(ap);
  return code;
}

int mproc__check_reserved(const char *op, const uint64_t *reserved, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (reserved[i])
      return mproc__fail(MPROC_EINVAL,
                         "%s: opts.reserved[%zu] is not zero: an option this library "
                         "(mproc %s) does not know, or options left uninitialised",
                         op, i, MPROC_VERSION_STRING);
  return 0;
}

int mproc__bad_timeout(const char *op, int timeout_ms) {
  return mproc__fail(MPROC_EINVAL, "%s: timeout %d ms is negative", op, timeout_ms);
}

int mproc__fail_native(int code, long native, const char *os_message, const char *fmt, va_list ap) {
  char fresh[DETAIL_CAP]; /* as set_detail: an argument may be the detail */
  int n = vsnprintf(fresh, sizeof fresh, fmt, ap);
  if (n >= 0 && (size_t)n < sizeof fresh)
    snprintf(fresh + n, sizeof fresh - (size_t)n, ": %s", os_message);
  memcpy(detail, fresh, strlen(fresh) + 1);
  detail_native = native;
  return code;
}

static int os_fail(long native, const char *fmt, va_list ap) {
  char msg[256];
  int code = mproc__os_error_text(native, msg, sizeof msg);
  return mproc__fail_native(code, native, msg, fmt, ap);
}

int mproc__os_fail(const char *fmt, ...) {
  long native = mproc__os_last_error(); /* before anything can change it */
  va_list ap;
  va_start(ap, fmt);
  int rc = os_fail(native, fmt, ap);
  va_end(ap);
  return rc;
}

int mproc__os_fail_code(long native, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int rc = os_fail(native, fmt, ap);
  va_end(ap);
  return rc;
}

int mproc__fail_prefix(int code, const char *fmt, ...) {
  char prefix[DETAIL_CAP / 4];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(prefix, sizeof prefix, fmt, ap);
  va_end(ap);
  mproc__error_prefix(prefix);
  return code;
}

void mproc__error_prefix(const char *prefix) {
  char old[DETAIL_CAP];
  memcpy(old, detail, sizeof old);
  /* The old detail is cut (not the new prefix) when both do not fit. */
  snprintf(detail, sizeof detail, "%.200s: %.800s", prefix, old);
}
