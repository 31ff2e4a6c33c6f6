/* What a Windows error means: its MPROC_E* code and message (the Win32
 * backend; common/error.c records it as the error detail). */
#include <stdio.h>
#include <stdlib.h>
#include <windows.h>

#include "core/internal.h"
#include "wide.h"

long mproc__os_last_error(void) { return (long)GetLastError(); }

int mproc__os_error_text(long native, char *msg, size_t cap) {
  wchar_t *wmsg = NULL;
  DWORD n = FormatMessageW(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS |
                               FORMAT_MESSAGE_ALLOCATE_BUFFER,
                           NULL, (DWORD)native, 0, (LPWSTR)&wmsg, 0, NULL);
  char *utf8 = NULL;
  if (n > 0) {
    /* System messages end with ".\r\n"; the detail is one line. */
    while (n > 0 && (wmsg[n - 1] == L'\n' || wmsg[n - 1] == L'\r' || wmsg[n - 1] == L' '))
      wmsg[--n] = 0;
    utf8 = mproc__utf8_from_wide(wmsg);
  }
  if (wmsg)
    LocalFree(wmsg);
  if (utf8)
    snprintf(msg, cap, "%s", utf8);
  else
    snprintf(msg, cap, "Windows error %lu", (unsigned long)native);
  free(utf8);
  switch ((DWORD)native) {
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
