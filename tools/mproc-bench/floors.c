/* The floors: what the operating system alone takes to make and reap a
 * process - fork+waitpid, and posix_spawn (CreateProcessW on Windows) of
 * this executable, which exits at once when it sees --floor-child. */
#include <string.h>

#include "bench.h"

#ifdef _WIN32
#  include <windows.h>
#else
#  include <spawn.h>
#  include <stdlib.h>
#  include <sys/wait.h>
#  include <unistd.h>
extern char **environ;
#endif

bool is_floor_child(int argc, char **argv) {
  return argc > 1 && strcmp(argv[1], "--floor-child") == 0;
}

#ifdef _WIN32
int floor_sample(method_t m, double *us) {
  if (m != M_FLOOR_EXEC)
    return -1;
  wchar_t self[MAX_PATH], cmd[MAX_PATH + 32];
  GetModuleFileNameW(NULL, self, MAX_PATH);
  _snwprintf(cmd, MAX_PATH + 32, L"\"%ls\" --floor-child", self);
  STARTUPINFOW si;
  memset(&si, 0, sizeof si);
  si.cb = sizeof si;
  PROCESS_INFORMATION pi;
  double t0 = now_us();
  if (!CreateProcessW(self, cmd, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi))
    return -1;
  WaitForSingleObject(pi.hProcess, INFINITE);
  *us = now_us() - t0;
  CloseHandle(pi.hProcess);
  CloseHandle(pi.hThread);
  return 0;
}
#else
static char self[4096];

int floor_sample(method_t m, double *us) {
  double t0 = now_us();
  pid_t pid;
  if (m == M_FLOOR_FORK) {
    if ((pid = fork()) < 0)
      return -1;
    if (pid == 0)
      _exit(0);
  } else {
    if (!self[0]) {
      ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
      if (n <= 0)
        return -1;
      self[n] = '\0';
    }
    char *argv[] = {self, "--floor-child", NULL};
    if (posix_spawn(&pid, self, NULL, NULL, argv, environ) != 0)
      return -1;
  }
  int status;
  waitpid(pid, &status, 0);
  *us = now_us() - t0;
  return 0;
}
#endif
