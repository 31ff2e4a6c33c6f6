/* The named-segment tracker (mproc_shm_create_opts with track): a small
 * process that outlives its creator by design and unlinks, once the
 * creator has ended - however it ended, SIGKILL included - every name the
 * creator registered and did not unlink itself. Python's resource tracker
 * does the same for a process tree; this one serves one process.
 *
 * The creator holds the only writing end of a socket pair (close-on-exec:
 * a spawned child starts a tracker of its own; a forked child shares it,
 * so the names go when the creator and its forked children have all
 * ended). The tracker reads "+name" and "-name" lines until end-of-file,
 * which comes exactly when they are gone. It is forked twice, so it is
 * nobody's child to reap, and from then on it runs only system calls: the
 * creator may have had other threads, whose locks the tracker must never
 * touch. Each line is one send of at most 203 bytes, so it arrives whole
 * (a stream socket does not split a small write that fits its buffer). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cloexec.h"
#include "core/internal.h"
#include "open_fds.h"

enum { MAX_TRACKED = 4096, NAME_CAP = MPROC_SHM_NAME_MAX + 2 };

/* Recursive: the thread that starts the tracker forks while it holds the
 * lock, and the fork handlers below take it again. */
static pthread_mutex_t lock;
static int tracker_fd = -1; /* the writing end; -1: no tracker yet */
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void make_lock(void) {
  pthread_mutexattr_t a;
  pthread_mutexattr_init(&a);
  pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
  pthread_mutex_init(&lock, &a);
  pthread_mutexattr_destroy(&a);
}

/* No fork may copy the lock while another thread holds it. The child's
 * one thread is not the thread that owned it (a recursive mutex checks),
 * so the child makes it anew. */
static void before_fork(void) { pthread_mutex_lock(&lock); }
static void after_fork_in_parent(void) { pthread_mutex_unlock(&lock); }
static void after_fork_in_child(void) { make_lock(); }
static void init(void) {
  make_lock();
  pthread_atfork(before_fork, after_fork_in_parent, after_fork_in_child);
}

/* ---- the tracker process: system calls only ---------------------------- */

static char names[MAX_TRACKED][NAME_CAP]; /* "/name", "" when free */

static void track_line(const char *line, size_t len) {
  if (len < 2 || len > NAME_CAP - 1)
    return;
  char path[NAME_CAP];
  path[0] = '/';
  memcpy(path + 1, line + 1, len - 1);
  path[len] = '\0';
  int free_slot = -1;
  for (int i = 0; i < MAX_TRACKED; i++) {
    if (names[i][0] && strcmp(names[i], path) == 0) {
      if (line[0] == '-')
        names[i][0] = '\0';
      return;
    }
    if (!names[i][0] && free_slot < 0)
      free_slot = i;
  }
  if (line[0] == '+' && free_slot >= 0)
    memcpy(names[free_slot], path, len + 1);
}

static void close_all_but(int keep) {
  for (int fd = 0; fd < keep; fd++)
    close(fd);
  mproc__posix_close_from(keep + 1);
}

static void serve(int rd) {
  /* The creator's Ctrl-C, hang-up or terminate must not end the cleanup. */
  signal(SIGINT, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  signal(SIGTERM, SIG_IGN);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  close_all_but(rd);
  char buf[4096];
  size_t have = 0;
  for (;;) {
    ssize_t r = read(rd, buf + have, sizeof buf - have);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      break;
    have += (size_t)r;
    size_t start = 0;
    for (size_t i = 0; i < have; i++) {
      if (buf[i] == '\n') {
        track_line(buf + start, i - start);
        start = i + 1;
      }
    }
    memmove(buf, buf + start, have - start);
    have -= start;
    if (have == sizeof buf)
      have = 0; /* a line longer than any name: drop it */
  }
  for (int i = 0; i < MAX_TRACKED; i++)
    if (names[i][0])
      shm_unlink(names[i]);
  _exit(0);
}

/* Starts the tracker; called with the lock held. */
static int start_tracker(void) {
  int p[2];
  if (mproc__posix_socketpair(p) != 0)
    return mproc__os_fail("shm tracker: socketpair");
  pid_t mid = fork();
  if (mid < 0) {
    int rc = mproc__os_fail("shm tracker: fork");
    close(p[0]);
    close(p[1]);
    return rc;
  }
  if (mid == 0) {
    /* The middle process: fork the tracker and leave, so that the tracker
     * is init's child and never this program's to reap. */
    if (fork() == 0)
      serve(p[0]);
    _exit(0);
  }
  close(p[0]);
  while (waitpid(mid, NULL, 0) < 0 && errno == EINTR)
    ;
  tracker_fd = p[1];
  return 0;
}

static int send_line(char op, const char *name) {
  char line[NAME_CAP + 1];
  int n = snprintf(line, sizeof line, "%c%s\n", op, name);
  if (n < 0 || (size_t)n >= sizeof line)
    return mproc__fail(MPROC_EINVAL, "shm tracker: name too long");
  ssize_t w;
  do {
    w = send(tracker_fd, line, (size_t)n,
             MPROC__SEND_NOSIGNAL); /* a dead tracker: EPIPE, no signal */
  } while (w < 0 && errno == EINTR);
  return w == n ? 0 : mproc__os_fail("shm tracker: write");
}

int mproc__os_shm_track(const char *name) {
  pthread_once(&once, init);
  pthread_mutex_lock(&lock);
  int rc = tracker_fd >= 0 ? 0 : start_tracker();
  if (rc == 0)
    rc = send_line('+', name);
  pthread_mutex_unlock(&lock);
  return rc;
}

void mproc__os_shm_untrack(const char *name) {
  pthread_once(&once, init);
  pthread_mutex_lock(&lock);
  if (tracker_fd >= 0)
    send_line('-', name);
  pthread_mutex_unlock(&lock);
}
