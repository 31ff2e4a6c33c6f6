/* The parent<->child bootstrap channel: two anonymous pipes (Win32). */
#include <stdio.h>
#include <windows.h>

#include "core/internal.h"

int mproc__os_stream_write(mproc__stream_t *s, const void *p, size_t n) {
  const char *c = p;
  while (n > 0) {
    DWORD chunk = n > (1u << 30) ? (1u << 30) : (DWORD)n, wrote = 0;
    if (!WriteFile((HANDLE)s->wr, c, chunk, &wrote, NULL)) {
      DWORD e = GetLastError();
      if (e == ERROR_BROKEN_PIPE || e == ERROR_NO_DATA) {
        mproc__os_fail_code((long)e, "channel: the other process is gone");
        return MPROC_EEOF;
      }
      return mproc__os_fail("channel: WriteFile");
    }
    c += wrote;
    n -= wrote;
  }
  return 0;
}

int mproc__os_stream_read(mproc__stream_t *s, void *p, size_t n, size_t *got) {
  char *c = p;
  *got = 0;
  while (*got < n) {
    size_t left = n - *got;
    DWORD chunk = left > (1u << 30) ? (1u << 30) : (DWORD)left, read = 0;
    if (!ReadFile((HANDLE)s->rd, c + *got, chunk, &read, NULL)) {
      if (GetLastError() == ERROR_BROKEN_PIPE)
        break; /* the writer closed or died: end of its data */
      return mproc__os_fail("channel: ReadFile");
    }
    if (read == 0)
      break;
    *got += read;
  }
  return 0;
}

int mproc__os_stream_read_now(mproc__stream_t *s, void *p, size_t n, size_t *got) {
  *got = 0;
  DWORD avail = 0;
  if (!PeekNamedPipe((HANDLE)s->rd, NULL, 0, NULL, &avail, NULL) || avail == 0)
    return 0; /* nothing there, or the writer is gone with nothing left */
  DWORD want = avail < n ? avail : (DWORD)n, read = 0;
  if (!ReadFile((HANDLE)s->rd, p, want, &read, NULL))
    return mproc__os_fail("channel: ReadFile");
  *got = read;
  return 0;
}

void mproc__os_stream_close(mproc__stream_t *s) {
  if (s->rd != MPROC__STREAM_NONE)
    CloseHandle((HANDLE)s->rd);
  if (s->wr != MPROC__STREAM_NONE && s->wr != s->rd)
    CloseHandle((HANDLE)s->wr);
  s->rd = s->wr = MPROC__STREAM_NONE;
}

static bool is_pipe(HANDLE h) {
  DWORD flags;
  return GetHandleInformation(h, &flags) && GetFileType(h) == FILE_TYPE_PIPE;
}

int mproc__os_stream_from_token(const char *token, mproc__stream_t *s) {
  unsigned long long rd, wr;
  char tail;
  if (sscanf(token, "%llx:%llx%c", &rd, &wr, &tail) != 2 || !is_pipe((HANDLE)(uintptr_t)rd) ||
      !is_pipe((HANDLE)(uintptr_t)wr))
    return mproc__fail(MPROC_EPROTO, "channel: '%s' names no inherited pipes", token);
  /* Inherited on purpose; nothing this child starts should inherit them. */
  SetHandleInformation((HANDLE)(uintptr_t)rd, HANDLE_FLAG_INHERIT, 0);
  SetHandleInformation((HANDLE)(uintptr_t)wr, HANDLE_FLAG_INHERIT, 0);
  s->rd = (intptr_t)rd;
  s->wr = (intptr_t)wr;
  return 0;
}
