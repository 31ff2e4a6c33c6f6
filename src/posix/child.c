/* Waiting for, stopping and releasing a child (POSIX).
 *
 * Timed waits use a pidfd (Linux 5.3+): poll() on it wakes exactly when the
 * child ends, with no SIGCHLD handler to install. Without one, the wait
 * polls waitpid(WNOHANG) with a short, growing sleep. The pid stays ours
 * until we reap it, so kill() can never hit a recycled pid. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "child.h"

mproc__os_child_t *mproc__posix_child_new(pid_t pid) {
  mproc__os_child_t *c = calloc(1, sizeof *c);
  if (!c) {
    kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
    }
    return NULL;
  }
  c->pid = pid;
  c->pidfd = -1;
#ifdef SYS_pidfd_open
  c->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (c->pidfd < 0)
    c->pidfd = -1;
#endif
  return c;
}

int64_t mproc__os_child_pid(const mproc__os_child_t *c) { return c->pid; }

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* waitpid once; 1 when reaped, 0 when still running, or an error. */
static int reap(mproc__os_child_t *c, int flags) {
  int status;
  pid_t r;
  do {
    r = waitpid(c->pid, &status, flags);
  } while (r < 0 && errno == EINTR);
  if (r == 0)
    return 0;
  if (r < 0)
    return mproc__os_fail("waitpid(%d)", (int)c->pid);
  c->ended = true;
  c->exitcode = WIFSIGNALED(status) ? -WTERMSIG(status) : WEXITSTATUS(status);
  if (c->pidfd >= 0) {
    close(c->pidfd);
    c->pidfd = -1;
  }
  return 1;
}

int mproc__os_child_wait(mproc__os_child_t *c, int timeout_ms, int *exitcode) {
  int rc = 0;
  if (!c->ended) {
    if (timeout_ms == MPROC_INFINITE) {
      rc = reap(c, 0);
    } else {
      int64_t deadline = now_ms() + timeout_ms;
      int nap_ms = 1;
      while ((rc = reap(c, WNOHANG)) == 0) {
        int64_t left = deadline - now_ms();
        if (left <= 0)
          return MPROC_ETIMEDOUT;
        if (c->pidfd >= 0) {
          struct pollfd pfd = {.fd = c->pidfd, .events = POLLIN};
          if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR)
            return mproc__os_fail("poll(pidfd)");
        } else {
          int ms = nap_ms < left ? nap_ms : (int)left;
          struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
          nanosleep(&ts, NULL);
          nap_ms = nap_ms < 16 ? nap_ms * 2 : 16;
        }
      }
    }
    if (rc < 0)
      return rc;
  }
  *exitcode = c->exitcode;
  return 0;
}

int mproc__os_child_stop(mproc__os_child_t *c, bool force) {
  if (c->ended)
    return 0;
  if (kill(c->pid, force ? SIGKILL : SIGTERM) != 0 && errno != ESRCH)
    return mproc__os_fail("kill(%d)", (int)c->pid);
  return 0;
}

void mproc__os_child_free(mproc__os_child_t *c) {
  if (!c)
    return;
  if (c->pidfd >= 0)
    close(c->pidfd);
  free(c);
}
