/* GetLastError -> MPROC_E* and the error detail, for the Win32 backend. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <windows.h>

#include "../common/internal.h"
#include "wide.h"

static int map_error(DWORD e) {
  switch (e) {
  case ERROR_NOT_ENOUGH_MEMORY:
  case ERROR_OUTOFMEMORY:
    return MPROC_ENOMEM;
  case WAIT_TIMEOUT:
  case ERROR_TIMEOUT:
    return MPROC_ETIMEDOUT;
  case ERROR_NOT_SUPPORTED:
  case ERROR_CALL_NOT_IMPLEMENTED:
    return MPROC_ENOTSUP;
  default:
    return MPROC_ESYS;
  }
}

static int fail_with(DWORD native, const char *fmt, va_list ap) {
  wchar_t *wmsg = NULL;
  char *msg = NULL;
  DWORD n = FormatMessageW(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS |
                               FORMAT_MESSAGE_ALLOCATE_BUFFER,
                           NULL, native, 0, (LPWSTR)&wmsg, 0, NULL);
  if (n > 0) {
    /* System messages end with ".\r\n"; the detail is one line. */
    while (n > 0 && (wmsg[n - 1] == L'\n' || wmsg[n - 1] == L'\r' || wmsg[n - 1] == L' '))
      wmsg[--n] = 0;
    msg = mproc__utf8_from_wide(wmsg);
  }
  if (wmsg)
    LocalFree(wmsg);
  char fallback[32];
  snprintf(fallback, sizeof fallback, "Windows error %lu", (unsigned long)native);
  int rc = mproc__fail_native(map_error(native), (long)native, msg ? msg : fallback, fmt, ap);
  free(msg);
  return rc;
}

int mproc__os_fail(const char *fmt, ...) {
  DWORD native = GetLastError();
  va_list ap;
  va_start(ap, fmt);
  int rc = fail_with(native, fmt, ap);
  va_end(ap);
  return rc;
}

int mproc__os_fail_code(long native, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int rc = fail_with((DWORD)native, fmt, ap);
  va_end(ap);
  return rc;
}
