/* The parent link on POSIX: a pipe whose only writer is the parent.
 *
 * The write end is close-on-exec and forked children drop their copy at
 * once, so end-of-file on the read end means the parent process is gone,
 * however it died. A daemon child turns that into its own death: on Linux
 * with PR_SET_PDEATHSIG when it was started from the parent's main thread
 * (the signal follows the thread that started the child, not the process),
 * otherwise with a watchdog thread blocked on the pipe. */
#define _GNU_SOURCE
#include "cloexec.h"
#include "core/internal.h"
#include "features.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>
#if MPROC__LINUX_MECHANISMS
#  include <sys/prctl.h>
#endif
#include "core/spinlock.h"

static mproc__spinlock_t lock = MPROC__SPINLOCK_INIT;
static int link_pipe[2] = {-1, -1};

int mproc__os_parent_link(intptr_t *link) {
  int rc = 0;
  mproc__spin_lock(&lock);
  if (link_pipe[0] < 0 && mproc__posix_pipe(link_pipe, 0) != 0) {
    link_pipe[0] = link_pipe[1] = -1;
    rc = mproc__os_fail("parent link: pipe");
  }
  *link = link_pipe[0];
  mproc__spin_unlock(&lock);
  return rc;
}

void mproc__os_parent_link_after_fork(void) {
  /* The read end stays open: it is this child's own link to its parent. */
  if (link_pipe[1] >= 0)
    close(link_pipe[1]);
  link_pipe[0] = link_pipe[1] = -1;
  atomic_flag_clear(&lock);
}

static void *watchdog(void *arg) {
  int fd = (int)(intptr_t)arg;
  char byte;
  ssize_t r;
  do {
    r = read(fd, &byte, 1);
  } while (r > 0 || (r < 0 && errno == EINTR));
  /* End of file: the parent is gone, and a daemon goes with it. */
  kill(getpid(), SIGKILL);
  return NULL;
}

int mproc__os_parent_watch(intptr_t link, int64_t parent_pid, bool daemon, bool pdeathsig_ok) {
  if (!daemon || link < 0)
    return 0;
#if MPROC__LINUX_MECHANISMS
  if (pdeathsig_ok) {
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
      return mproc__os_fail("prctl(PR_SET_PDEATHSIG)");
    /* The parent may have died before the signal was armed. */
    if ((int64_t)getppid() != parent_pid)
      kill(getpid(), SIGKILL);
    return 0;
  }
#else
  (void)parent_pid, (void)pdeathsig_ok;
#endif
  pthread_t t;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  int rc = pthread_create(&t, &attr, watchdog, (void *)link);
  pthread_attr_destroy(&attr);
  return rc ? mproc__os_fail_code(rc, "parent link: pthread_create") : 0;
}

bool mproc__os_sentinel_ready(intptr_t s) {
  struct pollfd pfd = {.fd = (int)s, .events = POLLIN};
  return poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL));
}
