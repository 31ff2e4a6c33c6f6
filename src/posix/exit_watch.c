/* A child's sentinel where there are no pidfds (the generic POSIX build):
 * a pipe whose write end a small watcher thread holds until the child has
 * exited - it waits with waitid(WNOWAIT), which does not reap, so the pid
 * stays ours - and then closes: the read end reaches end-of-file, which
 * poll() and mproc_wait see like a pidfd becoming readable.
 *
 * The write ends must exist in this process only: they are close-on-exec,
 * and a forked child closes every one it inherited (pthread_atfork), else
 * a sibling's sentinel would wait for that child too. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child_ended.h"
#include "cloexec.h"
#include "core/internal.h"
#include "exit_watch.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int *held; /* write ends the watchers hold */
static size_t nheld, capheld;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void before_fork(void) { pthread_mutex_lock(&lock); }
static void after_fork_in_parent(void) { pthread_mutex_unlock(&lock); }
static void after_fork_in_child(void) {
  /* The watchers did not come along: their write ends go. */
  for (size_t i = 0; i < nheld; i++)
    close(held[i]);
  nheld = 0;
  pthread_mutex_unlock(&lock);
}
static void register_atfork(void) {
  pthread_atfork(before_fork, after_fork_in_parent, after_fork_in_child);
}

static bool hold(int fd) {
  bool ok = true;
  pthread_mutex_lock(&lock);
  if (nheld == capheld) {
    size_t cap = capheld ? capheld * 2 : 16;
    int *grown = realloc(held, cap * sizeof *grown);
    if (grown) {
      held = grown;
      capheld = cap;
    } else {
      ok = false;
    }
  }
  if (ok)
    held[nheld++] = fd;
  pthread_mutex_unlock(&lock);
  return ok;
}

/* Closes fd and forgets it, under the lock: a fork in between must not
 * find the number closed yet still listed (or reused by then). */
static void let_go(int fd) {
  pthread_mutex_lock(&lock);
  for (size_t i = 0; i < nheld; i++) {
    if (held[i] == fd) {
      held[i] = held[--nheld];
      break;
    }
  }
  close(fd);
  pthread_mutex_unlock(&lock);
}

/* The watcher's pid and write end travel in the argument pointer itself:
 * the watcher never calls malloc or free, so a fork while it runs cannot
 * inherit an allocator lock it held (glibc's malloc has fork handlers,
 * sanitizer runtimes do not). */
static void *pack(pid_t pid, int fd) {
  return (void *)(uintptr_t)(((uint64_t)(uint32_t)pid << 32) | (uint32_t)fd);
}

static void *watch(void *arg) {
  uint64_t v = (uint64_t)(uintptr_t)arg;
  pid_t pid = (pid_t)(uint32_t)(v >> 32);
  int write_end = (int)(uint32_t)v;
  mproc__posix_child_ended(pid, true);
  let_go(write_end);
  return NULL;
}

int mproc__posix_exit_watch(pid_t pid) {
  pthread_once(&once, register_atfork);
  int p[2];
  if (mproc__posix_pipe(p, 0) != 0)
    return -1;
  if (sizeof(void *) < sizeof(uint64_t) || !hold(p[1])) {
    close(p[0]);
    close(p[1]);
    return -1;
  }
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, PTHREAD_STACK_MIN > 65536 ? PTHREAD_STACK_MIN : 65536);
  /* The watcher takes no signal: the application's handlers run on its
   * own threads only. */
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pthread_t t;
  int rc = pthread_create(&t, &attr, watch, pack(pid, p[1]));
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  pthread_attr_destroy(&attr);
  if (rc != 0) {
    let_go(p[1]);
    close(p[0]);
    return -1;
  }
  return p[0];
}
