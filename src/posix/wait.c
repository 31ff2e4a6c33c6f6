/* Waiting (POSIX): on many descriptors at once, with poll(); and for a
 * child's end, asked without reaping it (the pid stays ours until the
 * wait that reaps it, in child.c). */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "child_ended.h"
#include "core/internal.h"

int mproc__os_wait_handles(const intptr_t *handles, size_t n, int timeout_ms, bool *ready) {
  struct pollfd one, *fds = n <= 1 ? &one : malloc(n * sizeof *fds);
  if (!fds)
    return mproc__fail(MPROC_ENOMEM, "wait: out of memory");
  for (size_t i = 0; i < n; i++)
    fds[i] = (struct pollfd){.fd = (int)handles[i], .events = POLLIN};
  int r;
  do {
    r = poll(fds, (nfds_t)n, timeout_ms);
  } while (r < 0 && errno == EINTR);
  int rc = r < 0 ? mproc__os_fail("wait: poll") : r == 0 ? MPROC_ETIMEDOUT : 0;
  for (size_t i = 0; i < n && r > 0; i++)
    ready[i] = (fds[i].revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL)) != 0;
  if (fds != &one)
    free(fds);
  return rc;
}

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
