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
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "child.h"
#include "cloexec.h"
#include "features.h"
#include "open_fds.h"
#include "os.h"

#ifdef __APPLE__
#  include <crt_externs.h> /* a dylib cannot link environ itself */
#  define environ (*_NSGetEnviron())
#else
extern char **environ;
#endif

/* Closes every descriptor >= from in the child. glibc 2.34 has a file
 * action for it. Elsewhere the open descriptors that would survive exec
 * (no FD_CLOEXEC) are listed (open_fds.c) and each gets a close action. */
#if MPROC__LINUX_MECHANISMS && defined(__GLIBC__) &&                                               \
    (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
static int close_the_rest(posix_spawn_file_actions_t *fa, int from) {
  return posix_spawn_file_actions_addclosefrom_np(fa, from);
}
#else
static int close_the_rest(posix_spawn_file_actions_t *fa, int from) {
  int *fds;
  size_t n;
  int rc = mproc__posix_open_fds(from, &fds, &n) ? ENOMEM : 0;
  for (size_t i = 0; i < n && rc == 0; i++) {
    int flags = fcntl(fds[i], F_GETFD);
    if (flags >= 0 && !(flags & FD_CLOEXEC))
      rc = posix_spawn_file_actions_addclose(fa, fds[i]);
  }
  free(fds);
  return rc;
}
#endif

/* A close-on-exec copy of fd at layout_end or above (or fd itself, already
 * there): the child's layout (3: channel, 4: link, 5..: the handle table)
 * is built with dup2, and a source down there could be overwritten by an
 * earlier dup2. *temp says whether the caller must close it. */
static int lift(int fd, int layout_end, bool *temp) {
  *temp = fd < layout_end;
  return *temp ? fcntl(fd, F_DUPFD_CLOEXEC, layout_end) : fd;
}

/* posix_spawn of path with argv, src[i] becoming the child's
 * CHILD_FD + i and nothing else open from layout_end on, no signal
 * blocked. Returns 0 or an errno. */
static int spawn_with_layout(pid_t *pid, const char *path, char **argv, const int *src, size_t nsrc,
                             int layout_end) {
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  sigset_t none;
  sigemptyset(&none);
  int rc = posix_spawn_file_actions_init(&fa);
  if (rc)
    return rc;
  for (size_t i = 0; i < nsrc && rc == 0; i++)
    rc = posix_spawn_file_actions_adddup2(&fa, src[i], CHILD_FD + (int)i);
  if (rc == 0)
    rc = close_the_rest(&fa, layout_end);
  posix_spawnattr_init(&attr);
  /* The child starts with no blocked signals, whatever this thread blocks. */
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
  if (rc == 0)
    rc = posix_spawn(pid, path, &fa, &attr, argv, environ);
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&fa);
  return rc;
}

int mproc__os_spawn(mproc__os_child_t **out, const mproc__spawn_opts_t *o,
                    mproc__stream_t *parent_end, intptr_t *child_link) {
  const char *path = o->exe ? o->exe : mproc__posix_self_exe();
  if (!path)
    return mproc__fail(MPROC_ENOTSUP, "spawn: this system does not tell the path of the running "
                                      "program; call mproc_main_guard(argc, argv) first in main");
  intptr_t link;
  int rc = mproc__os_parent_link(&link);
  if (rc)
    return rc;
  size_t nsrc = 2 + o->ninherit;
  if (o->ninherit > (size_t)(INT32_MAX / 2))
    return mproc__fail(MPROC_EINVAL, "spawn: %zu inherited handles", o->ninherit);
  int *src = malloc(nsrc * sizeof *src);
  bool *temp = calloc(nsrc, sizeof *temp);
  if (!src || !temp) {
    free(src);
    free(temp);
    return mproc__fail(MPROC_ENOMEM, "spawn: out of memory");
  }
  int sv[2];
  if (mproc__posix_socketpair(sv) != 0) {
    free(src);
    free(temp);
    return mproc__os_fail("spawn: socketpair");
  }

  /* Sources of the child's layout, lifted clear of it. */
  int layout_end = CHILD_FD + (int)nsrc;
  size_t lifted = 0;
  for (; lifted < nsrc; lifted++) {
    int from = lifted == 0 ? sv[1] : lifted == 1 ? (int)link : (int)o->inherit[lifted - 2];
    if ((src[lifted] = lift(from, layout_end, &temp[lifted])) < 0)
      break;
  }

  char token[16];
  snprintf(token, sizeof token, "%d", CHILD_FD);

  char *argv[] = {(char *)path, (char *)o->marker, token, NULL};
  pid_t pid = 0;
  rc = lifted < nsrc ? errno : spawn_with_layout(&pid, path, argv, src, nsrc, layout_end);
  for (size_t i = 0; i < lifted; i++)
    if (temp[i])
      close(src[i]);
  free(src);
  free(temp);
  close(sv[1]);
  if (rc == 0) {
    *out = mproc__posix_child_new(pid);
    if (!*out) {
      close(sv[0]);
      return mproc__fail(MPROC_ENOMEM, "spawn: out of memory");
    }
    parent_end->rd = parent_end->wr = sv[0];
    *child_link = CHILD_LINK_FD;
    for (size_t i = 0; i < o->ninherit; i++)
      o->inherited[i] = (mproc__child_handle_t){.value = CHILD_INHERIT_FD + (int)i};
    return 0;
  }
  close(sv[0]);
  int code = mproc__os_fail_code(rc, "spawn: execve(%s)", path);
  return code == MPROC_ENOMEM ? code : MPROC_ECHILD;
}
