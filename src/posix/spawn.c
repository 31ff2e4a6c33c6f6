/* The spawn start method on POSIX: posix_spawn of the running executable.
 *
 * posix_spawn (a vfork-style clone in glibc) costs the same whatever the
 * parent's size, runs nothing of ours between fork and exec, and reports an
 * exec failure as its return value. The child inherits exactly one extra
 * descriptor, as Python's spawn does (close_fds): its end of a close-on-exec
 * socketpair, moved to CHILD_FD (dup2 clears FD_CLOEXEC in the child only),
 * and every descriptor above it is closed, including ones the application
 * opened without O_CLOEXEC. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../common/bootstrap.h"
#include "child.h"

extern char **environ;

#define SELF_EXE "/proc/self/exe"
/* The child's channel, then its link to this process (see parent_link.c):
 * the first descriptors after the standard streams. */
#define CHILD_FD 3
#define CHILD_LINK_FD 4

/* Closes every descriptor >= from in the child: glibc 2.34 has a file
 * action for it; elsewhere only close-on-exec descriptors are closed. */
static int close_the_rest(posix_spawn_file_actions_t *fa, int from) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
  return posix_spawn_file_actions_addclosefrom_np(fa, from);
#else
  (void)fa, (void)from;
  return 0;
#endif
}

int mproc__os_spawn(mproc__os_child_t **out, const mproc__spawn_opts_t *o,
                    mproc__stream_t *parent_end, intptr_t *child_link) {
  const char *exe = o->exe;
  intptr_t link;
  int lrc = mproc__os_parent_link(&link);
  if (lrc)
    return lrc;
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
    return mproc__os_fail("spawn: socketpair");

  char token[16];
  snprintf(token, sizeof token, "%d", CHILD_FD);
  const char *path = exe ? exe : SELF_EXE;
  char *argv[] = {(char *)path, MPROC__CHILD_MARKER, token, NULL};

  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  sigset_t none;
  sigemptyset(&none);
  int rc = posix_spawn_file_actions_init(&fa);
  if (rc == 0) {
    rc = posix_spawn_file_actions_adddup2(&fa, sv[1], CHILD_FD);
    if (rc == 0)
      rc = posix_spawn_file_actions_adddup2(&fa, (int)link, CHILD_LINK_FD);
    if (rc == 0)
      rc = close_the_rest(&fa, CHILD_LINK_FD + 1);
    posix_spawnattr_init(&attr);
    /* The child starts with no blocked signals, whatever this thread blocks. */
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
    pid_t pid = 0;
    if (rc == 0)
      rc = posix_spawn(&pid, path, &fa, &attr, argv, environ);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&fa);
    close(sv[1]);
    if (rc == 0) {
      *out = mproc__posix_child_new(pid);
      if (!*out) {
        close(sv[0]);
        return mproc__fail(MPROC_ENOMEM, "spawn: out of memory");
      }
      parent_end->rd = parent_end->wr = sv[0];
      *child_link = CHILD_LINK_FD;
      return 0;
    }
  } else {
    close(sv[1]);
  }
  close(sv[0]);
  int code = mproc__os_fail_code(rc, "spawn: execve(%s)", path);
  return code == MPROC_ENOMEM ? code : MPROC_ECHILD;
}
