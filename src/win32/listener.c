/* Listeners and clients on Windows: named pipes (pipe:\\.\pipe\name)
 * and TCP over Winsock.
 *
 * A pipe listener keeps one pipe instance waiting (ConnectNamedPipe,
 * overlapped, so accept can time out); accepting hands that instance over
 * as the connection and creates the next one. Remote pipe clients are
 * rejected. HMAC and randomness for the handshake are in crypto.c. */
#include <winsock2.h>
/* winsock2.h before windows.h */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <windows.h>
#include <ws2tcpip.h>

#include "core/internal.h"
#include "socket_conn.h"
#include "wide.h"

struct mproc__os_listener {
  SOCKET sock; /* tcp: listeners */
  wchar_t *name;
  HANDLE waiting; /* the instance the next client connects to */
  HANDLE event;
  OVERLAPPED ov;
  bool connecting; /* ConnectNamedPipe is pending on `waiting` */
};

static HANDLE new_instance(const wchar_t *name, bool first) {
  return CreateNamedPipeW(
      name, PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED | (first ? FILE_FLAG_FIRST_PIPE_INSTANCE : 0),
      PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT | PIPE_REJECT_REMOTE_CLIENTS,
      PIPE_UNLIMITED_INSTANCES, 1 << 16, 1 << 16, 0, NULL);
}

static SOCKET tcp_socket(int family) {
  return WSASocketW(family, SOCK_STREAM, IPPROTO_TCP, NULL, 0,
                    WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
}

static int resolve(const mproc__addr_t *a, bool passive, struct addrinfo **ai) {
  int rc = mproc__win32_winsock_start();
  if (rc)
    return rc;
  struct addrinfo hints = {
      .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = passive ? AI_PASSIVE : 0};
  int g = getaddrinfo(a->host, a->port, &hints, ai);
  return g ? mproc__fail(MPROC_EINVAL, "tcp address '%s': error %d", a->where, g) : 0;
}

static int listen_tcp(mproc__os_listener_t **out, const mproc__addr_t *a, int backlog, char *actual,
                      size_t cap) {
  const char *where = a->where;
  struct addrinfo *ai;
  int rc = resolve(a, true, &ai);
  if (rc)
    return rc;
  mproc__os_listener_t *l = calloc(1, sizeof *l);
  SOCKET s = tcp_socket(ai->ai_family);
  if (!l || s == INVALID_SOCKET || bind(s, ai->ai_addr, (int)ai->ai_addrlen) != 0 ||
      listen(s, backlog > 0 ? backlog : SOMAXCONN) != 0) {
    rc = l ? mproc__os_fail_code(WSAGetLastError(), "listener: bind(%s)", where)
           : mproc__fail(MPROC_ENOMEM, "listener: out of memory");
    if (s != INVALID_SOCKET)
      closesocket(s);
    free(l);
    freeaddrinfo(ai);
    return rc;
  }
  freeaddrinfo(ai);
  struct sockaddr_storage ss;
  int sl = sizeof ss;
  getsockname(s, (struct sockaddr *)&ss, &sl);
  int port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                      : ntohs(((struct sockaddr_in *)&ss)->sin_port);
  snprintf(actual, cap, "tcp:%s:%d", a->host, port);
  l->sock = s;
  *out = l;
  return 0;
}

int mproc__os_listen(mproc__os_listener_t **out, const mproc__addr_t *a, int backlog, char *actual,
                     size_t cap) {
  const char *where = a->where;
  if (a->kind == MPROC__ADDR_TCP)
    return listen_tcp(out, a, backlog, actual, cap);
  if (a->kind != MPROC__ADDR_PIPE)
    return mproc__fail(MPROC_ENOTSUP, "listener: unix: addresses are POSIX only");
  if (_strnicmp(where, "\\\\.\\pipe\\", 9) != 0 || !where[9])
    return mproc__fail(MPROC_EINVAL, "pipe address '%s': expected \\\\.\\pipe\\<name>", where);
  mproc__os_listener_t *l = calloc(1, sizeof *l);
  if (!l)
    return mproc__fail(MPROC_ENOMEM, "listener: out of memory");
  l->sock = INVALID_SOCKET;
  l->name = mproc__wide_from_utf8(where);
  l->event = CreateEventW(NULL, TRUE, FALSE, NULL);
  l->waiting = l->name ? new_instance(l->name, true) : INVALID_HANDLE_VALUE;
  if (!l->name || !l->event || l->waiting == INVALID_HANDLE_VALUE) {
    int rc = l->name ? mproc__os_fail("listener: CreateNamedPipeW(%s)", where)
                     : mproc__fail(MPROC_EINVAL, "pipe address is not valid UTF-8");
    mproc__os_listener_free(l);
    return rc;
  }
  snprintf(actual, cap, "pipe:%s", where);
  *out = l;
  return 0;
}

static int accept_tcp(mproc__os_listener_t *l, int timeout_ms, mproc__os_conn_t **out) {
  fd_set set;
  FD_ZERO(&set);
  FD_SET(l->sock, &set);
  struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  int r = select(0, &set, NULL, NULL, timeout_ms == MPROC_INFINITE ? NULL : &tv);
  if (r == 0)
    return mproc__fail(MPROC_ETIMEDOUT, "listener: nobody connected within %d ms", timeout_ms);
  SOCKET s = r > 0 ? accept(l->sock, NULL, NULL) : INVALID_SOCKET;
  if (s == INVALID_SOCKET)
    return mproc__os_fail_code(WSAGetLastError(), "listener: accept");
  BOOL one = TRUE;
  setsockopt(s, IPPROTO_TCP, TCP_NODELAY, (const char *)&one, sizeof one);
  return mproc__win32_conn_wrap_socket(out, (intptr_t)s);
}

int mproc__os_accept(mproc__os_listener_t *l, int timeout_ms, mproc__os_conn_t **out) {
  if (l->sock != INVALID_SOCKET)
    return accept_tcp(l, timeout_ms, out);
  if (!l->connecting) {
    ZeroMemory(&l->ov, sizeof l->ov);
    l->ov.hEvent = l->event;
    ResetEvent(l->event);
    if (ConnectNamedPipe(l->waiting, &l->ov)) {
      SetEvent(l->event);
    } else {
      DWORD e = GetLastError();
      if (e == ERROR_PIPE_CONNECTED)
        SetEvent(l->event); /* a client came before we asked */
      else if (e != ERROR_IO_PENDING)
        return mproc__os_fail("listener: ConnectNamedPipe");
    }
    l->connecting = true;
  }
  DWORD r =
      WaitForSingleObject(l->event, timeout_ms == MPROC_INFINITE ? INFINITE : (DWORD)timeout_ms);
  if (r == WAIT_TIMEOUT)
    return mproc__fail(MPROC_ETIMEDOUT, "listener: nobody connected within %d ms", timeout_ms);
  DWORD n;
  GetOverlappedResult(l->waiting, &l->ov, &n, FALSE);
  l->connecting = false;
  HANDLE next = new_instance(l->name, false);
  if (next == INVALID_HANDLE_VALUE)
    return mproc__os_fail("listener: CreateNamedPipeW");
  HANDLE connected = l->waiting;
  l->waiting = next;
  return mproc__os_conn_wrap(out, (intptr_t)connected);
}

/* Waits up to the deadline for s's non-blocking connect to finish. */
static int finish_connect(SOCKET s, int64_t deadline, const char *where) {
  for (;;) {
    int left = mproc__remaining_ms(deadline);
    if (left == 0)
      return mproc__fail(MPROC_ETIMEDOUT, "client: connect(%s): no answer in time", where);
    fd_set w, e;
    FD_ZERO(&w);
    FD_ZERO(&e);
    FD_SET(s, &w);
    FD_SET(s, &e);
    int slice = left < 0 || left > 1000 ? 1000 : left;
    struct timeval tv = {slice / 1000, (slice % 1000) * 1000};
    int n = select(0, NULL, &w, &e, &tv);
    if (n == SOCKET_ERROR)
      return mproc__os_fail_code(WSAGetLastError(), "client: connect(%s)", where);
    if (n == 0)
      continue;
    int err = 0, len = sizeof err;
    getsockopt(s, SOL_SOCKET, SO_ERROR, (char *)&err, &len);
    return err ? mproc__os_fail_code(err, "client: connect(%s)", where) : 0;
  }
}

/* A non-blocking connect and a wait bounded by the deadline: a host that
 * never answers costs the caller its timeout, not Winsock's ~21 s. */
static int connect_tcp(const mproc__addr_t *a, int64_t deadline, mproc__os_conn_t **out) {
  const char *where = a->where;
  struct addrinfo *ai;
  int rc = resolve(a, false, &ai);
  if (rc)
    return rc;
  SOCKET s = tcp_socket(ai->ai_family);
  u_long on = 1, off = 0;
  if (s == INVALID_SOCKET || ioctlsocket(s, FIONBIO, &on) != 0)
    rc = mproc__os_fail_code(WSAGetLastError(), "client: socket(%s)", where);
  else if (connect(s, ai->ai_addr, (int)ai->ai_addrlen) != 0)
    rc = WSAGetLastError() == WSAEWOULDBLOCK
             ? finish_connect(s, deadline, where)
             : mproc__os_fail_code(WSAGetLastError(), "client: connect(%s)", where);
  if (!rc && ioctlsocket(s, FIONBIO, &off) != 0)
    rc = mproc__os_fail_code(WSAGetLastError(), "client: connect(%s)", where);
  freeaddrinfo(ai);
  if (rc) {
    if (s != INVALID_SOCKET)
      closesocket(s);
    return rc;
  }
  BOOL one = TRUE;
  setsockopt(s, IPPROTO_TCP, TCP_NODELAY, (const char *)&one, sizeof one);
  return mproc__win32_conn_wrap_socket(out, (intptr_t)s);
}

int mproc__os_connect(const mproc__addr_t *a, int64_t deadline, mproc__os_conn_t **out) {
  const char *where = a->where;
  if (a->kind == MPROC__ADDR_TCP)
    return connect_tcp(a, deadline, out);
  if (a->kind != MPROC__ADDR_PIPE)
    return mproc__fail(MPROC_ENOTSUP, "client: unix: addresses are POSIX only");
  wchar_t *name = mproc__wide_from_utf8(where);
  if (!name)
    return mproc__fail(MPROC_EINVAL, "pipe address is not valid UTF-8");
  HANDLE h = INVALID_HANDLE_VALUE;
  DWORD err = 0;
  for (;;) {
    h = CreateFileW(name, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING,
                    FILE_FLAG_OVERLAPPED, NULL);
    err = h == INVALID_HANDLE_VALUE ? GetLastError() : 0;
    int left = mproc__remaining_ms(deadline);
    if (h != INVALID_HANDLE_VALUE || err != ERROR_PIPE_BUSY || left == 0)
      break;
    /* Every instance is taken (the server is busy, or stopped): wait for
     * the next, within the caller's time. */
    WaitNamedPipeW(name, left < 0 || left > 100 ? 100 : (DWORD)left);
  }
  free(name);
  if (h == INVALID_HANDLE_VALUE && err == ERROR_PIPE_BUSY)
    return mproc__fail(MPROC_ETIMEDOUT,
                       "client: CreateFileW(%s): every instance of the pipe "
                       "stayed busy",
                       where);
  if (h == INVALID_HANDLE_VALUE)
    return mproc__os_fail_code((long)err, "client: CreateFileW(%s)", where);
  return mproc__os_conn_wrap(out, (intptr_t)h);
}

void mproc__os_listener_free(mproc__os_listener_t *l) {
  if (!l)
    return;
  if (l->sock != INVALID_SOCKET && l->sock != 0)
    closesocket(l->sock);
  if (l->waiting && l->waiting != INVALID_HANDLE_VALUE) {
    if (l->connecting) {
      DWORD n;
      CancelIoEx(l->waiting, &l->ov);
      GetOverlappedResult(l->waiting, &l->ov, &n, TRUE);
    }
    CloseHandle(l->waiting);
  }
  if (l->event)
    CloseHandle(l->event);
  free(l->name);
  free(l);
}

int mproc__os_private_address(char *buf, size_t cap) {
  unsigned long long r;
  int rc = mproc__os_random(&r, sizeof r);
  if (rc)
    return rc;
  int n = snprintf(buf, cap, "pipe:\\\\.\\pipe\\mproc-%lu-%016llx", GetCurrentProcessId(), r);
  return n < 0 || (size_t)n >= cap ? mproc__fail(MPROC_ERANGE, "private address too long") : 0;
}
