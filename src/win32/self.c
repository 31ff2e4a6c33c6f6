/* Who is running (the ids come from the thread's TEB: no system call), and
 * whether another process has ended: its handle is signalled, or its pid
 * names a process created at another time (pids are reused). */
#include <windows.h>

#include "core/internal.h"

void mproc__os_self_ids(uint32_t *pid, uint32_t *tid) {
  *pid = (uint32_t)GetCurrentProcessId();
  *tid = (uint32_t)GetCurrentThreadId();
}

static uint64_t creation_time(HANDLE h) {
  FILETIME created, exited, kernel, user;
  if (!GetProcessTimes(h, &created, &exited, &kernel, &user))
    return 0;
  return ((uint64_t)created.dwHighDateTime << 32) | created.dwLowDateTime;
}

uint64_t mproc__os_self_start_token(void) {
  static uint64_t token;
  if (!token)
    token = creation_time(GetCurrentProcess());
  return token;
}

uint64_t mproc__os_process_start_token(uint32_t pid) {
  HANDLE h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, pid);
  if (!h)
    return 0;
  uint64_t t = creation_time(h);
  CloseHandle(h);
  return t;
}

bool mproc__os_process_gone(uint32_t pid, uint32_t start) {
  if (pid == 0)
    return false;
  HANDLE h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION | SYNCHRONIZE, FALSE, pid);
  if (!h)
    return GetLastError() == ERROR_INVALID_PARAMETER; /* no such process; else: not ours to see */
  uint64_t created = creation_time(h);
  bool gone = WaitForSingleObject(h, 0) == WAIT_OBJECT_0 ||
              (start != 0 && created != 0 && (uint32_t)created != start);
  CloseHandle(h);
  return gone;
}
