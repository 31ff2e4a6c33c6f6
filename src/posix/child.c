/* Waiting for, stopping and releasing a child (POSIX).
 *
 * Several threads may wait for one child: they wait for its exit with
 * waitid(WNOWAIT) or on its pidfd, which do not reap, and whoever takes the
 * lock first reaps it with waitpid(WNOHANG). Until then the pid stays ours,
 * so kill() under the same lock can never hit a recycled pid. A pidfd
 * (Linux 5.3+), or elsewhere an exit watcher's pipe (exit_watch.c), is the
 * sentinel and makes timed waits exact; without either they poll with a
 * short, growing sleep. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "child.h"
#include "child_ended.h"
#include "exit_watch.h"
#include "features.h"
#if MPROC__LINUX_MECHANISMS
#  include <sys/syscall.h>
#endif

mproc__os_child_t *mproc__posix_child_alloc(void) {
  mproc__os_child_t *c = calloc(1, sizeof *c);
  if (!c || pthread_mutex_init(&c->lock, NULL) != 0) {
    free(c);
    return NULL;
  }
  c->pid = -1;
  c->pidfd = -1;
  c->status_fd = -1;
  return c;
}

void mproc__posix_child_attach(mproc__os_child_t *c, pid_t pid) {
  c->pid = pid;
#if MPROC__LINUX_MECHANISMS
#  ifdef SYS_pidfd_open
  c->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (c->pidfd < 0)
    c->pidfd = -1;
#  endif
#else
  c->pidfd = mproc__posix_exit_watch(pid);
#endif
}

mproc__os_child_t *mproc__posix_child_new(pid_t pid) {
  mproc__os_child_t *c = mproc__posix_child_alloc();
  if (!c) {
    kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
    }
    return NULL;
  }
  mproc__posix_child_attach(c, pid);
  return c;
}

mproc__os_child_t *mproc__posix_forkserver_child_new(int status_fd) {
  mproc__os_child_t *c = mproc__posix_child_alloc();
  if (!c) {
    close(status_fd);
    return NULL;
  }
  c->pid = 0; /* told by the server: mproc__os_child_started */
  c->status_fd = status_fd;
  return c;
}

int mproc__os_child_started(mproc__os_child_t *c) {
  if (c->status_fd < 0 || c->pid != 0)
    return 0;
  /* The server answers with the pid at once (-errno when fork failed);
   * end-of-file means it died before it could. */
  int64_t pid = 0;
  size_t got = 0;
  ssize_t r;
  while (got < sizeof pid && ((r = read(c->status_fd, (char *)&pid + got, sizeof pid - got)) > 0 ||
                              (r < 0 && errno == EINTR)))
    got += r > 0 ? (size_t)r : 0;
  if (got != sizeof pid) {
    mproc__fail(MPROC_ECHILD, "forkserver: the server did not answer");
    c->pid = -1;
    atomic_store(&c->ended, true);
    c->exitcode = 255;
    return MPROC__ESERVER_GONE;
  }
  if (pid <= 0) {
    c->pid = -1;
    atomic_store(&c->ended, true);
    c->exitcode = 255;
    return mproc__os_fail_code((long)-pid, "forkserver: the server's fork");
  }
  c->pid = (pid_t)pid;
  return 0;
}

int64_t mproc__os_child_pid(const mproc__os_child_t *c) { return c->pid; }

intptr_t mproc__os_child_sentinel(const mproc__os_child_t *c) {
  return c->status_fd >= 0 ? c->status_fd : c->pidfd;
}

/* A forkserver child has ended once its status can be read (or the server
 * died: end-of-file, status 255 as in Python). Called with the lock held. */
static void read_served_status(mproc__os_child_t *c) {
  if (atomic_load(&c->ended))
    return;
  struct pollfd pfd = {.fd = c->status_fd, .events = POLLIN};
  if (poll(&pfd, 1, 0) <= 0)
    return;
  /* Peeked, not read: the status stays in the socket, so the sentinel stays
   * ready for everyone waiting on it. The server writes the 4 bytes at once. */
  int32_t code = 255;
  ssize_t r;
  do {
    r = recv(c->status_fd, &code, sizeof code, MSG_PEEK | MSG_WAITALL);
  } while (r < 0 && errno == EINTR);
  c->exitcode = r == (ssize_t)sizeof code ? code : 255;
  atomic_store(&c->ended, true);
}

/* Reaps the child if it has exited: 0 with c->ended set, or an error. */
static int reap(mproc__os_child_t *c) {
  int rc = 0;
#if !MPROC__LINUX_MECHANISMS
  /* The exit watcher waits on the pid until it has seen the exit: reaping
   * first would free the pid for reuse under it. It sees it at once. */
  if (c->pidfd >= 0) {
    struct pollfd pfd = {.fd = c->pidfd, .events = POLLIN};
    while (poll(&pfd, 1, -1) < 0 && errno == EINTR)
      ;
  }
#endif
  pthread_mutex_lock(&c->lock);
  if (!atomic_load(&c->ended)) {
    int status;
    pid_t r;
    do {
      r = waitpid(c->pid, &status, WNOHANG);
    } while (r < 0 && errno == EINTR);
    if (r < 0) {
      rc = mproc__os_fail("waitpid(%d)", (int)c->pid);
    } else if (r == c->pid) {
      c->exitcode = WIFSIGNALED(status) ? -WTERMSIG(status) : WEXITSTATUS(status);
      atomic_store(&c->ended, true);
    }
  }
  pthread_mutex_unlock(&c->lock);
  return rc;
}

static int wait_served(mproc__os_child_t *c, int timeout_ms, int *exitcode) {
  struct pollfd pfd = {.fd = c->status_fd, .events = POLLIN};
  while (!atomic_load(&c->ended)) {
    int r = poll(&pfd, 1, timeout_ms);
    if (r < 0 && errno != EINTR)
      return mproc__os_fail("poll(forkserver status)");
    if (r == 0)
      return MPROC_ETIMEDOUT;
    pthread_mutex_lock(&c->lock);
    read_served_status(c);
    pthread_mutex_unlock(&c->lock);
  }
  *exitcode = c->exitcode;
  return 0;
}

int mproc__os_child_wait(mproc__os_child_t *c, int timeout_ms, int *exitcode) {
  if (c->status_fd >= 0)
    return wait_served(c, timeout_ms, exitcode);
  int64_t deadline = mproc__deadline(timeout_ms);
  int nap_ms = 1;
  while (!atomic_load(&c->ended)) {
    bool exited;
    if (timeout_ms == MPROC_INFINITE) {
      exited = mproc__posix_child_ended(c->pid, true);
    } else if (!(exited = mproc__posix_child_ended(c->pid, false))) {
      int left = mproc__remaining_ms(deadline);
      if (left == 0)
        return MPROC_ETIMEDOUT;
      if (c->pidfd >= 0) {
        struct pollfd pfd = {.fd = c->pidfd, .events = POLLIN};
        poll(&pfd, 1, (int)left);
      } else {
        int ms = nap_ms < left ? nap_ms : (int)left;
        struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        nap_ms = nap_ms < 16 ? nap_ms * 2 : 16;
      }
      continue;
    }
    if (exited) {
      int rc = reap(c);
      if (rc)
        return rc;
    }
  }
  *exitcode = c->exitcode;
  return 0;
}

int mproc__os_child_stop(mproc__os_child_t *c, bool force) {
  int rc = 0;
  pthread_mutex_lock(&c->lock);
  /* A forkserver child is not ours: once its status is in, the server has
   * reaped it and the pid may belong to someone else. */
  if (c->status_fd >= 0)
    read_served_status(c);
  if (!atomic_load(&c->ended) && kill(c->pid, force ? SIGKILL : SIGTERM) != 0 && errno != ESRCH)
    rc = mproc__os_fail("kill(%d)", (int)c->pid);
  pthread_mutex_unlock(&c->lock);
  return rc;
}

void mproc__os_child_free(mproc__os_child_t *c) {
  if (!c)
    return;
  if (c->pidfd >= 0)
    close(c->pidfd);
  if (c->status_fd >= 0)
    close(c->status_fd);
  pthread_mutex_destroy(&c->lock);
  free(c);
}
