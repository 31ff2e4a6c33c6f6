/* The forkserver start method (POSIX).
 *
 * The server is a spawned, clean process; the parent talks to it over an
 * unnamed socketpair that only the server inherited, so no other process
 * can reach it (no socket file, no abstract name, nothing to guess). For
 * each child the parent sends, with SCM_RIGHTS (in batches: the kernel
 * takes at most 253 per message): the child's bootstrap channel, a status
 * socket, the parent's own parent-link pipe, the parent's standard streams
 * as they are at that moment, and the handle table. The server forks; the
 * child moves them to the spawn layout (0-2: the parent's streams, 3:
 * channel, 4: link, 5..: table) and enters exactly as a spawned child
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
#include <sys/wait.h>
#include <unistd.h>

#include "child.h"
#include "cloexec.h"
#include "features.h"
#if MPROC__LINUX_MECHANISMS
#  include <sys/syscall.h>
#endif
#include "open_fds.h"
#include "sockio.h"

/* The exit status of a child that could not be set up (as a spawned child
 * that cannot run its target). */
#define MPROC__CHILD_FAILED_STATUS 255

#define REQUEST_MAGIC 0x5346504du /* "MPFS" */
enum {
  FIXED_FDS = 3,               /* channel, status socket, parent link; then the standard streams
                                  the caller has, then the handle table */
  BATCH = MPROC__POSIX_FDS_MAX /* descriptors per message: SCM_RIGHTS takes at most 253 */
};

/* Each message of a request: this header, with up to BATCH descriptors. */
typedef struct {
  uint32_t magic;
  uint32_t total;    /* descriptors in the whole request */
  uint32_t count;    /* in this message */
  uint32_t std_mask; /* which of 0, 1, 2 follow the fixed three */
} request_head_t;

int mproc__os_control_pair(intptr_t *mine, intptr_t *theirs) {
  int sv[2];
  if (mproc__posix_socketpair(sv) != 0)
    return mproc__os_fail("forkserver: socketpair");
  *mine = sv[0];
  *theirs = sv[1];
  return 0;
}

/* ---- the parent's side ---------------------------------------------------- */

static bool server_gone(int err) { return err == EPIPE || err == ECONNRESET || err == ENOTCONN; }

static int send_fds(int ctl, const int *fds, size_t n, uint32_t std_mask) {
  for (size_t sent = 0; sent < n;) {
    size_t k = n - sent < BATCH ? n - sent : BATCH;
    request_head_t head = {REQUEST_MAGIC, (uint32_t)n, (uint32_t)k, std_mask};
    long r = mproc__posix_send_fds(ctl, &head, sizeof head, fds + sent, k);
    if (r < 0 && server_gone(errno)) {
      mproc__os_fail("forkserver: sendmsg");
      return MPROC__ESERVER_GONE;
    }
    if (r != (ssize_t)sizeof head)
      return mproc__os_fail("forkserver: sendmsg");
    sent += k;
  }
  return 0;
}

int mproc__os_forkserver_fork(intptr_t ctl, mproc__os_child_t **out, const mproc__spawn_opts_t *o,
                              mproc__stream_t *parent_end, intptr_t *child_link) {
  intptr_t link;
  int rc = mproc__os_parent_link(&link);
  if (rc)
    return rc;
  if (o->ninherit > (size_t)(INT32_MAX / 2))
    return mproc__fail(MPROC_EINVAL, "forkserver: %zu inherited handles", o->ninherit);
  int *fds = malloc((FIXED_FDS + 3 + o->ninherit) * sizeof *fds);
  if (!fds)
    return mproc__fail(MPROC_ENOMEM, "forkserver: out of memory");
  int chan[2], status[2];
  if (mproc__posix_socketpair(chan) != 0) {
    free(fds);
    return mproc__os_fail("forkserver: socketpair");
  }
  /* A socket, not a pipe: the exit status is peeked, never consumed, so the
   * sentinel stays ready once the child has ended, for every waiter. */
  if (mproc__posix_socketpair(status) != 0) {
    rc = mproc__os_fail("forkserver: socketpair");
    close(chan[0]);
    close(chan[1]);
    free(fds);
    return rc;
  }
  size_t n = 0;
  fds[n++] = chan[1];
  fds[n++] = status[1];
  fds[n++] = (int)link;
  /* The caller's standard streams as they are now (a parent may have
   * redirected them since the server started): what spawn and fork give. */
  uint32_t std_mask = 0;
  for (int fd = 0; fd < 3; fd++) {
    if (fcntl(fd, F_GETFD) != -1) {
      std_mask |= 1u << fd;
      fds[n++] = fd;
    }
  }
  for (size_t i = 0; i < o->ninherit; i++)
    fds[n++] = (int)o->inherit[i];
  rc = send_fds((int)ctl, fds, n, std_mask);
  free(fds);
  close(chan[1]);
  close(status[1]);
  /* The pid is read by mproc__os_child_started, after the caller has
   * written the bootstrap message: the child can read it the moment it
   * exists, instead of after one more round trip. */
  if (rc == 0 && !(*out = mproc__posix_forkserver_child_new(status[0])))
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
  int pidfd; /* -1: its end is told by SIGCHLD */
} served_t;

typedef struct {
  int *fds;
  size_t n;
  uint32_t std_mask;
} request_t;

static int sigchld_pipe[2] = {-1, -1};

static void on_sigchld(int sig) {
  (void)sig;
  int saved = errno;
  ssize_t r = write(sigchld_pipe[1], "c", 1); /* full pipe: a wakeup is pending anyway */
  (void)r;
  errno = saved;
}

static void close_all(int *fds, size_t n) {
  for (size_t i = 0; i < n; i++)
    close(fds[i]);
}

/* Receives one message of a request into r. 1: a message; 0: end-of-file;
 * -1: not from our parent's library (its descriptors are closed). */
static int receive_one(int ctl, request_t *r, size_t *count) {
  request_head_t head;
  struct iovec iov = {&head, sizeof head};
  union {
    char buf[CMSG_SPACE(sizeof(int) * BATCH)];
    struct cmsghdr align;
  } u;
  struct msghdr msg = {
      .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
  ssize_t got;
  do {
    got = recvmsg(ctl, &msg, MPROC__RECV_CLOEXEC | MSG_WAITALL);
  } while (got < 0 && errno == EINTR);
  int fds[BATCH];
  size_t k = got >= 0 ? mproc__posix_received_fds(&msg, fds, BATCH) : 0;
  if (got == 0 && k == 0)
    return 0;
  bool first = r->fds == NULL;
  if (got != (ssize_t)sizeof head || head.magic != REQUEST_MAGIC || head.count != k ||
      (msg.msg_flags & MSG_CTRUNC) || head.total < FIXED_FDS || head.total > (1u << 24) ||
      (!first && (head.total != r->n || *count + k > r->n)) ||
      (first && !(r->fds = malloc(head.total * sizeof *r->fds)))) {
    close_all(fds, k);
    return -1;
  }
  r->n = head.total;
  r->std_mask = head.std_mask & 7u;
  memcpy(r->fds + *count, fds, k * sizeof(int));
  *count += k;
  return 1;
}

/* Receives a whole request. 0 with r->fds NULL: end-of-file. */
static int receive(int ctl, request_t *r) {
  *r = (request_t){NULL, 0, 0};
  size_t count = 0;
  do {
    int got = receive_one(ctl, r, &count);
    if (got <= 0) {
      if (r->fds)
        close_all(r->fds, count);
      free(r->fds);
      r->fds = NULL;
      return got == 0 && count == 0 ? 0 : -1;
    }
  } while (count < r->n);
  size_t nstd = (size_t)((r->std_mask & 1) + ((r->std_mask >> 1) & 1) + ((r->std_mask >> 2) & 1));
  if (r->n < FIXED_FDS + nstd) {
    close_all(r->fds, r->n);
    free(r->fds);
    r->fds = NULL;
    return -1;
  }
  return 0;
}

/* In the server's child: the spawn layout and the caller's standard
 * streams, then nothing else open. A descriptor is first lifted above the
 * layout only when it sits inside it, where an earlier dup2 could
 * overwrite it (the server's own descriptors are few and low, so
 * received ones usually arrive above it already). */
static void arrange(const request_t *r) {
  const int *fds = r->fds;
  size_t n = r->n, at = FIXED_FDS;
  int std[3] = {-1, -1, -1};
  for (int fd = 0; fd < 3; fd++)
    if (r->std_mask & (1u << fd))
      std[fd] = fds[at++];
  size_t ntable = n - at;
  int layout_end = CHILD_INHERIT_FD + (int)ntable;
  int *src = malloc(n * sizeof *src);
  if (!src)
    _exit(MPROC__CHILD_FAILED_STATUS);
  for (size_t i = 0; i < n; i++)
    src[i] = fds[i] < layout_end ? fcntl(fds[i], F_DUPFD, layout_end) : fds[i];
  at = FIXED_FDS;
  for (int fd = 0; fd < 3; fd++) {
    if (std[fd] >= 0)
      dup2(src[at++], fd);
    else
      close(fd); /* the caller has none: neither has its child */
  }
  /* src[1] is the status socket: the server's, not the child's. */
  dup2(src[0], CHILD_FD);
  dup2(src[2], CHILD_LINK_FD);
  for (size_t i = 0; i < ntable; i++)
    dup2(src[at + i], CHILD_INHERIT_FD + (int)i);
  free(src);
  if (mproc__posix_close_range(layout_end))
    return;
  /* The server is single-threaded: listing what is open is safe here, and
   * far cheaper than a close per possible number. */
  int *open;
  size_t nopen;
  if (mproc__posix_open_fds(layout_end, &open, &nopen) == 0) {
    for (size_t i = 0; i < nopen; i++)
      close(open[i]);
    free(open);
    return;
  }
  mproc__posix_close_from(layout_end);
}

/* Exit statuses reach the server through a pidfd per child (Linux 5.3+):
 * its end wakes the server's poll directly. Where there is none, SIGCHLD
 * writes to a pipe the server polls. */
static void watch_by_signal(void) {
  if (sigchld_pipe[0] >= 0 || mproc__posix_pipe(sigchld_pipe, 1) != 0)
    return;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_sigchld;
  sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
  sigaction(SIGCHLD, &sa, NULL);
}

static int open_pidfd(pid_t pid) {
#if MPROC__LINUX_MECHANISMS && defined(SYS_pidfd_open)
  int fd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (fd >= 0) {
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    return fd;
  }
#else
  (void)pid;
#endif
  watch_by_signal();
  return -1;
}

/* Reaps every ended child and sends each its status. */
static void reap(served_t *served, size_t *nserved) {
  int st;
  pid_t pid;
  while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
    int32_t code = WIFSIGNALED(st) ? -WTERMSIG(st) : WEXITSTATUS(st);
    for (size_t i = 0; i < *nserved; i++) {
      if (served[i].pid == pid) {
        /* MSG_NOSIGNAL: a parent that freed the process closed its end;
         * that must not kill the server with SIGPIPE. */
        ssize_t w = send(served[i].status_fd, &code, sizeof code, MPROC__SEND_NOSIGNAL);
        (void)w;
        close(served[i].status_fd);
        if (served[i].pidfd >= 0)
          close(served[i].pidfd);
        served[i] = served[--*nserved];
        break;
      }
    }
  }
}

/* Binds, here and once, the symbols only a served child would call
 * (the lazy PLT slots each child would otherwise bind again, with a
 * dynamic-linker lookup and a copy-on-write fault apiece). */
static void warm_child_path(int ctl) {
  dup2(ctl, ctl); /* a no-op that binds dup2 */
  mproc__os_flush_std_streams();
}

/* The children served so far, and the poll set over them (the control
 * socket, the SIGCHLD pipe, then one pidfd each). */
typedef struct {
  served_t *served;
  struct pollfd *pfd;
  size_t n, cap;
} table_t;

/* Room for one more served child; false when there is none. */
static bool make_room(table_t *t) {
  if (t->n < t->cap)
    return true;
  size_t ncap = t->cap * 2;
  served_t *p = realloc(t->served, ncap * sizeof *p);
  if (p)
    t->served = p;
  struct pollfd *q = p ? realloc(t->pfd, (ncap + 2) * sizeof *q) : NULL;
  if (!q)
    return false;
  t->pfd = q;
  t->cap = ncap;
  return true;
}

/* Forks the child request r asks for, answers its pid (or -errno), and
 * keeps it in t until its status is sent. */
static void serve_one(table_t *t, request_t *r, void (*child_entry)(const char *token)) {
  pid_t pid = fork();
  if (pid == 0) {
    if (sigchld_pipe[0] >= 0) {
      struct sigaction sa;
      memset(&sa, 0, sizeof sa);
      sa.sa_handler = SIG_DFL;
      sigaction(SIGCHLD, &sa, NULL);
    }
    arrange(r);
    char token[16];
    snprintf(token, sizeof token, "%d", CHILD_FD);
    child_entry(token); /* never returns */
    _exit(MPROC__CHILD_FAILED_STATUS);
  }
  int64_t answer = pid > 0 ? (int64_t)pid : -(int64_t)errno;
  ssize_t w = send(r->fds[1], &answer, sizeof answer, MPROC__SEND_NOSIGNAL);
  (void)w;
  if (pid > 0) {
    t->served[t->n++] = (served_t){pid, r->fds[1], open_pidfd(pid)};
    /* Without a pidfd the SIGCHLD handler exists from open_pidfd on: a
     * child that ended before it (the first one, quick) sent its signal
     * to nobody, so look now, or its status would never be sent. */
    if (t->served[t->n - 1].pidfd < 0)
      reap(t->served, &t->n);
  } else {
    close(r->fds[1]);
  }
  close(r->fds[0]);
  for (size_t i = 2; i < r->n; i++)
    close(r->fds[i]);
  free(r->fds);
}

/* Waits for a request or a child's end, reaping the ended; true when the
 * control socket is readable, false on a poll failure (*failed). */
static bool wait_for_request(table_t *t, int ctl, bool *failed) {
  size_t npfd = 0;
  t->pfd[npfd++] = (struct pollfd){.fd = ctl, .events = POLLIN};
  t->pfd[npfd++] = (struct pollfd){.fd = sigchld_pipe[0], .events = POLLIN}; /* -1: ignored */
  for (size_t i = 0; i < t->n; i++)
    t->pfd[npfd++] = (struct pollfd){.fd = t->served[i].pidfd, .events = POLLIN};
  if (poll(t->pfd, (nfds_t)npfd, -1) < 0 && errno != EINTR) {
    *failed = true;
    return false;
  }
  bool ended = false;
  for (size_t i = 1; i < npfd; i++)
    ended |= t->pfd[i].revents != 0;
  if (t->pfd[1].revents) {
    char drain[64];
    while (read(sigchld_pipe[0], drain, sizeof drain) > 0) {
    }
  }
  if (ended)
    reap(t->served, &t->n);
  return t->pfd[0].revents != 0;
}

int mproc__os_forkserver_serve(intptr_t ctl, void (*child_entry)(const char *token)) {
  warm_child_path((int)ctl);
  table_t t = {.cap = 16};
  t.served = malloc(t.cap * sizeof *t.served);
  t.pfd = malloc((t.cap + 2) * sizeof *t.pfd);
  if (!t.served || !t.pfd) {
    free(t.served);
    free(t.pfd);
    return mproc__fail(MPROC_ENOMEM, "forkserver: out of memory");
  }
  for (bool failed = false; !failed;) {
    if (!wait_for_request(&t, (int)ctl, &failed))
      continue;
    request_t r;
    if (receive((int)ctl, &r) != 0)
      continue;
    if (!r.fds)
      break; /* end-of-file: the parent is done or dead */
    if (!make_room(&t)) {
      close_all(r.fds, r.n);
      free(r.fds);
      continue; /* the parent sees end-of-file on the status socket */
    }
    serve_one(&t, &r, child_entry);
  }
  for (size_t i = 0; i < t.n; i++) {
    close(t.served[i].status_fd);
    if (t.served[i].pidfd >= 0)
      close(t.served[i].pidfd);
  }
  free(t.served);
  free(t.pfd);
  return 0;
}

bool mproc__os_forkserver_supported(void) { return true; }
