/* Waiting for, stopping and releasing a child (Win32). The process handle
 * keeps the pid from being reused while we hold it. */
#include <stdlib.h>

#include "child.h"

int mproc__os_child_started(mproc__os_child_t *c) {
  (void)c; /* CreateProcessW made it: nothing left to confirm */
  return 0;
}

int64_t mproc__os_child_pid(const mproc__os_child_t *c) { return c->pid; }

intptr_t mproc__os_child_sentinel(const mproc__os_child_t *c) { return (intptr_t)c->process; }

int mproc__os_child_wait(mproc__os_child_t *c, int timeout_ms, int *exitcode) {
  if (!atomic_load(&c->ended)) {
    DWORD r = WaitForSingleObject(c->process,
                                  timeout_ms == MPROC_INFINITE ? INFINITE : (DWORD)timeout_ms);
    if (r == WAIT_TIMEOUT)
      return MPROC_ETIMEDOUT;
    if (r != WAIT_OBJECT_0)
      return mproc__os_fail("WaitForSingleObject(process %lu)", (unsigned long)c->pid);
    DWORD code;
    if (!GetExitCodeProcess(c->process, &code))
      return mproc__os_fail("GetExitCodeProcess(%lu)", (unsigned long)c->pid);
    c->exitcode = (int)code; /* TerminateProcess(-15) reads back as -15 */
    atomic_store(&c->ended, true);
  }
  *exitcode = c->exitcode;
  return 0;
}

int mproc__os_child_stop(mproc__os_child_t *c, bool force) {
  (void)force; /* Windows has one way to stop a process, as in Python */
  if (atomic_load(&c->ended))
    return 0;
  if (!TerminateProcess(c->process, MPROC__TERMINATE_CODE)) {
    /* Access is denied once the process is already exiting: fine. */
    if (WaitForSingleObject(c->process, 0) == WAIT_OBJECT_0)
      return 0;
    return mproc__os_fail("TerminateProcess(%lu)", (unsigned long)c->pid);
  }
  return 0;
}

void mproc__os_child_free(mproc__os_child_t *c) {
  if (!c)
    return;
  CloseHandle(c->process);
  free(c);
}
