/* The forkserver start method (POSIX).
 *
 * The server is a spawned, clean process; the parent talks to it over an
 * unnamed socketpair that only the server inherited, so no other process
 * can reach it (no socket file, no abstract name, nothing to guess). For
 * each child the parent sends, with SCM_RIGHTS: the child's bootstrap
 * channel, a status socket, the parent's own parent-link pipe, and the
 * handle table. The server forks; the child moves them to the spawn layout
 * (3: channel, 4: link, 5..: table) and enters exactly as a spawned child
 * does. The server writes the child's pid to the status socket at once and
 * its exit status (-N for signal N) when it ends; the socket is the child's
 * sentinel. The server exits when the control channel closes: its parent
 * is done or dead. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child.h"

#define REQUEST_MAGIC 0x5346504du /* "MPFS" */
enum { FIXED_FDS = 3 };           /* channel, status pipe, parent link */

int mproc__os_control_pair(intptr_t *mine, intptr_t *theirs) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
    return mproc__os_fail("forkserver: socketpair");
  *mine = sv[0];
  *theirs = sv[1];
  return 0;
}

/* ---- the parent's side ---------------------------------------------------- */

static int send_fds(int ctl, const int *fds, size_t n) {
  uint32_t head[2] = {REQUEST_MAGIC, (uint32_t)n};
  struct iovec iov = {head, sizeof head};
  union {
    char buf[CMSG_SPACE(sizeof(int) * (FIXED_FDS + MPROC__MAX_INHERIT))];
    struct cmsghdr align;
  } u;
  memset(&u, 0, sizeof u);
  struct msghdr msg = {.msg_iov = &iov,
                       .msg_iovlen = 1,
                       .msg_control = u.buf,
                       .msg_controllen = CMSG_SPACE(sizeof(int) * n)};
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int) * n);
  memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
  ssize_t r;
  do {
    r = sendmsg(ctl, &msg, MSG_NOSIGNAL);
  } while (r < 0 && errno == EINTR);
  if (r != (ssize_t)sizeof head)
    return mproc__os_fail("forkserver: sendmsg");
  return 0;
}

int mproc__os_forkserver_fork(intptr_t ctl, mproc__os_child_t **out, const mproc__spawn_opts_t *o,
                              mproc__stream_t *parent_end, intptr_t *child_link) {
  if (o->ninherit > MPROC__MAX_INHERIT)
    return mproc__fail(MPROC_EINVAL, "forkserver: at most %d inherited handles",
                       MPROC__MAX_INHERIT);
  intptr_t link;
  int rc = mproc__os_parent_link(&link);
  if (rc)
    return rc;
  int chan[2], status[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, chan) != 0)
    return mproc__os_fail("forkserver: socketpair");
  /* A socket, not a pipe: the exit status is peeked, never consumed, so the
   * sentinel stays ready once the child has ended, for every waiter. */
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, status) != 0) {
    rc = mproc__os_fail("forkserver: socketpair");
    close(chan[0]);
    close(chan[1]);
    return rc;
  }
  int fds[FIXED_FDS + MPROC__MAX_INHERIT] = {chan[1], status[1], (int)link};
  for (size_t i = 0; i < o->ninherit; i++)
    fds[FIXED_FDS + i] = (int)o->inherit[i];
  rc = send_fds((int)ctl, fds, FIXED_FDS + o->ninherit);
  close(chan[1]);
  close(status[1]);
  int64_t pid = 0;
  if (rc == 0) {
    /* The server answers with the pid at once; end-of-file means it died. */
    size_t got = 0;
    ssize_t r;
    while (got < sizeof pid && ((r = read(status[0], (char *)&pid + got, sizeof pid - got)) > 0 ||
                                (r < 0 && errno == EINTR)))
      got += r > 0 ? (size_t)r : 0;
    if (got != sizeof pid || pid <= 0)
      rc = mproc__fail(MPROC_ECHILD, "forkserver: the server did not start the child");
  }
  if (rc == 0 && !(*out = mproc__posix_forkserver_child_new((pid_t)pid, status[0])))
    rc = mproc__fail(MPROC_ENOMEM, "forkserver: out of memory");
  if (rc) {
    close(chan[0]);
    close(status[0]);
    return rc;
  }
  parent_end->rd = parent_end->wr = chan[0];
  *child_link = CHILD_LINK_FD;
  for (size_t i = 0; i < o->ninherit; i++)
    o->inherited[i] = (mproc__child_handle_t){.value = CHILD_INHERIT_FD + (int)i};
  return 0;
}

/* ---- the server ----------------------------------------------------------- */

typedef struct {
  pid_t pid;
  int status_fd;
} served_t;

static int sigchld_pipe[2] = {-1, -1};

static void on_sigchld(int sig) {
  (void)sig;
  int saved = errno;
  ssize_t r = write(sigchld_pipe[1], "c", 1); /* full pipe: a wakeup is pending anyway */
  (void)r;
  errno = saved;
}

/* Receives one request; its descriptors go to fds (count in *n). 0 with
 * *n == 0 means end-of-file. */
static int receive(int ctl, int *fds, size_t *n) {
  uint32_t head[2];
  struct iovec iov = {head, sizeof head};
  union {
    char buf[CMSG_SPACE(sizeof(int) * (FIXED_FDS + MPROC__MAX_INHERIT))];
    struct cmsghdr align;
  } u;
  struct msghdr msg = {
      .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
  ssize_t r;
  do {
    r = recvmsg(ctl, &msg, MSG_CMSG_CLOEXEC | MSG_WAITALL);
  } while (r < 0 && errno == EINTR);
  *n = 0;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      memcpy(fds + *n, CMSG_DATA(c), k * sizeof(int));
      *n += k;
    }
  }
  if (r == 0)
    return 0;
  if (r != (ssize_t)sizeof head || head[0] != REQUEST_MAGIC || head[1] != *n || *n < FIXED_FDS ||
      (msg.msg_flags & MSG_CTRUNC)) {
    for (size_t i = 0; i < *n; i++)
      close(fds[i]);
    *n = 0;
    return -1; /* not from our parent's library: ignore it */
  }
  return 0;
}

/* In the server's child: the spawn layout, then nothing else open. */
static void arrange(const int *fds, size_t n) {
  int lifted[FIXED_FDS + MPROC__MAX_INHERIT];
  int end = CHILD_INHERIT_FD + MPROC__MAX_INHERIT;
  for (size_t i = 0; i < n; i++)
    lifted[i] = fcntl(fds[i], F_DUPFD, end);
  /* fds[1] is the status pipe: the server's, not the child's. */
  dup2(lifted[0], CHILD_FD);
  dup2(lifted[2], CHILD_LINK_FD);
  for (size_t i = FIXED_FDS; i < n; i++)
    dup2(lifted[i], CHILD_INHERIT_FD + (int)(i - FIXED_FDS));
  int first_free = CHILD_INHERIT_FD + (int)(n - FIXED_FDS);
#ifdef SYS_close_range
  if (syscall(SYS_close_range, (unsigned)first_free, ~0u, 0) == 0)
    return;
#endif
  long max = sysconf(_SC_OPEN_MAX);
  for (int fd = first_free; fd < (max > 0 && max < 65536 ? (int)max : 65536); fd++)
    close(fd);
}

int mproc__os_forkserver_serve(intptr_t ctl, void (*child_entry)(const char *token)) {
  if (pipe2(sigchld_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
    return mproc__os_fail("forkserver: pipe2");
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_sigchld;
  sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
  sigaction(SIGCHLD, &sa, NULL);

  served_t *served = NULL;
  size_t nserved = 0, cap = 0;
  for (;;) {
    struct pollfd pfd[2] = {{.fd = (int)ctl, .events = POLLIN},
                            {.fd = sigchld_pipe[0], .events = POLLIN}};
    if (poll(pfd, 2, -1) < 0 && errno != EINTR)
      break;
    if (pfd[1].revents) {
      char drain[64];
      while (read(sigchld_pipe[0], drain, sizeof drain) > 0) {
      }
      int st;
      pid_t pid;
      while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
        int32_t code = WIFSIGNALED(st) ? -WTERMSIG(st) : WEXITSTATUS(st);
        for (size_t i = 0; i < nserved; i++) {
          if (served[i].pid == pid) {
            /* MSG_NOSIGNAL: a parent that freed the process closed its end;
             * that must not kill the server with SIGPIPE. */
            ssize_t w = send(served[i].status_fd, &code, sizeof code, MSG_NOSIGNAL);
            (void)w;
            close(served[i].status_fd);
            served[i] = served[--nserved];
            break;
          }
        }
      }
    }
    if (!pfd[0].revents)
      continue;
    int fds[FIXED_FDS + MPROC__MAX_INHERIT];
    size_t n;
    int r = receive((int)ctl, fds, &n);
    if (r == 0 && n == 0)
      break; /* end-of-file: the parent is done or dead */
    if (r != 0)
      continue;
    if (nserved == cap) {
      size_t ncap = cap ? cap * 2 : 16;
      served_t *p = realloc(served, ncap * sizeof *p);
      if (!p) {
        for (size_t i = 0; i < n; i++)
          close(fds[i]);
        continue; /* the parent sees end-of-file on the status pipe */
      }
      served = p;
      cap = ncap;
    }
    pid_t pid = fork();
    if (pid == 0) {
      signal(SIGCHLD, SIG_DFL);
      arrange(fds, n);
      char token[16];
      snprintf(token, sizeof token, "%d", CHILD_FD);
      child_entry(token); /* never returns */
      _exit(255);
    }
    if (pid > 0) {
      int64_t wide = pid;
      ssize_t w = send(fds[1], &wide, sizeof wide, MSG_NOSIGNAL);
      (void)w;
      served[nserved++] = (served_t){pid, fds[1]};
    } else {
      close(fds[1]); /* the parent reads end-of-file: no child */
    }
    close(fds[0]);
    for (size_t i = 2; i < n; i++)
      close(fds[i]);
  }
  for (size_t i = 0; i < nserved; i++)
    close(served[i].status_fd);
  free(served);
  return 0;
}

bool mproc__os_forkserver_supported(void) { return true; }
