/* Waiting on many handles at once (Win32).
 *
 * WaitForMultipleObjects takes at most 64 handles (Python's wait() stops
 * there: gh-89240). Beyond that, each handle gets a registered thread-pool
 * wait that signals one shared event; the thread pool packs 63 waits per
 * thread, so thousands of handles cost a few threads, not one each. */
#include <stdlib.h>
#include <windows.h>

#include "core/internal.h"

/* Marks every handle that is signalled right now; true if any. */
static bool collect(const intptr_t *handles, size_t n, bool *ready) {
  bool any = false;
  for (size_t i = 0; i < n; i++) {
    ready[i] = WaitForSingleObject((HANDLE)handles[i], 0) == WAIT_OBJECT_0;
    any |= ready[i];
  }
  return any;
}

static VOID CALLBACK on_signal(PVOID event, BOOLEAN timed_out) {
  (void)timed_out;
  SetEvent((HANDLE)event);
}

static int wait_registered(const intptr_t *handles, size_t n, DWORD timeout) {
  HANDLE any = CreateEventW(NULL, TRUE, FALSE, NULL);
  HANDLE *waits = calloc(n, sizeof *waits);
  int rc = 0;
  if (!any || !waits) {
    rc = any ? mproc__fail(MPROC_ENOMEM, "wait: out of memory") : mproc__os_fail("CreateEventW");
    goto cleanup;
  }
  for (size_t i = 0; i < n && rc == 0; i++)
    if (!RegisterWaitForSingleObject(&waits[i], (HANDLE)handles[i], on_signal, any, INFINITE,
                                     WT_EXECUTEONLYONCE))
      rc = mproc__os_fail("wait: RegisterWaitForSingleObject");
  if (rc == 0 && WaitForSingleObject(any, timeout) == WAIT_TIMEOUT)
    rc = MPROC_ETIMEDOUT;
cleanup:
  /* INVALID_HANDLE_VALUE: return only once no callback runs any more, so
   * none touches the event after it is closed. */
  for (size_t i = 0; waits && i < n; i++)
    if (waits[i])
      UnregisterWaitEx(waits[i], INVALID_HANDLE_VALUE);
  free(waits);
  if (any)
    CloseHandle(any);
  return rc;
}

int mproc__os_wait_handles(const intptr_t *handles, size_t n, int timeout_ms, bool *ready) {
  DWORD timeout = timeout_ms == MPROC_INFINITE ? INFINITE : (DWORD)timeout_ms;
  if (n == 0) {
    Sleep(timeout);
    return MPROC_ETIMEDOUT;
  }
  if (collect(handles, n, ready))
    return 0;
  if (timeout_ms == 0)
    return MPROC_ETIMEDOUT;
  int rc;
  if (n <= MAXIMUM_WAIT_OBJECTS) {
    HANDLE h[MAXIMUM_WAIT_OBJECTS];
    for (size_t i = 0; i < n; i++)
      h[i] = (HANDLE)handles[i];
    DWORD r = WaitForMultipleObjects((DWORD)n, h, FALSE, timeout);
    rc = r == WAIT_TIMEOUT  ? MPROC_ETIMEDOUT
         : r == WAIT_FAILED ? mproc__os_fail("wait: WaitForMultipleObjects")
                            : 0;
  } else {
    rc = wait_registered(handles, n, timeout);
  }
  if (rc == 0)
    collect(handles, n, ready);
  return rc;
}
