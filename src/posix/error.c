/* errno -> MPROC_E* and the error detail, for the POSIX backend. */
#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "../common/internal.h"

static int map_errno(int e) {
  switch (e) {
  case ENOMEM:
    return MPROC_ENOMEM;
  case ETIMEDOUT:
    return MPROC_ETIMEDOUT;
  case ENOSYS:
  case EOPNOTSUPP:
    return MPROC_ENOTSUP;
  default:
    return MPROC_ESYS;
  }
}

static int fail_with(long native, const char *fmt, va_list ap) {
  char msg[256];
  /* XSI strerror_r (this file is compiled without _GNU_SOURCE). */
  if (strerror_r((int)native, msg, sizeof msg) != 0)
    strcpy(msg, "unknown error");
  return mproc__fail_native(map_errno((int)native), native, msg, fmt, ap);
}

int mproc__os_fail(const char *fmt, ...) {
  long native = errno;
  va_list ap;
  va_start(ap, fmt);
  int rc = fail_with(native, fmt, ap);
  va_end(ap);
  return rc;
}

int mproc__os_fail_code(long native, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int rc = fail_with(native, fmt, ap);
  va_end(ap);
  return rc;
}
