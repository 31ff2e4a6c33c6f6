/* Whether a child has ended, asked without reaping it: the pid stays
 * ours until the wait that reaps it (child.c). */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "child_ended.h"

bool mproc__posix_child_ended(pid_t pid, bool block) {
  for (;;) {
    siginfo_t info;
    memset(&info, 0, sizeof info);
    int r = waitid(P_PID, (id_t)pid, &info, WEXITED | WNOWAIT | (block ? 0 : WNOHANG));
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0)
      return true;
    if (info.si_pid != pid)
      return false; /* WNOHANG: running */
    if (info.si_code == CLD_EXITED || info.si_code == CLD_KILLED || info.si_code == CLD_DUMPED)
      return true;
    if (!block)
      return false;
    struct timespec pause = {0, 10 * 1000 * 1000}; /* stopped: look again soon */
    nanosleep(&pause, NULL);
  }
}
