/* What an errno means: its MPROC_E* code and message (the POSIX backend;
 * common/error.c records it as the error detail). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/internal.h"

long mproc__os_last_error(void) { return errno; }

int mproc__os_error_text(long native, char *msg, size_t cap) {
  /* XSI strerror_r (this file is compiled without _GNU_SOURCE). */
  if (strerror_r((int)native, msg, cap) != 0)
    snprintf(msg, cap, "errno %ld", native);
  switch (native) {
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
