/* Connection ends on Windows: a uniquely named, byte-mode pipe pair opened
 * for overlapped I/O (Python's PipeConnection uses message mode; bytes plus
 * our own length prefix behave the same on every platform).
 *
 * Readiness for waits is a zero-byte overlapped ReadFile: it completes when
 * data or end-of-file arrives and consumes nothing, so cancelling it loses
 * nothing. Every other operation first cancels it (disarm). */
#include <winsock2.h>
/* winsock2.h before windows.h */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>

#include "child.h"
#include "core/internal.h"
#include "socket_conn.h"

struct mproc__os_conn {
  HANDLE h;
  HANDLE io_event;    /* completion of reads and writes */
  HANDLE probe_event; /* completion of the readiness probe */
  OVERLAPPED probe;
  bool probe_pending;
  bool is_socket;          /* a TCP socket (listener.c): readiness by FIONREAD */
  volatile LONG cancelled; /* mproc__os_conn_cancel: every I/O fails from now on */
};

static int wrap(mproc__os_conn_t **out, HANDLE h) {
  mproc__os_conn_t *c = calloc(1, sizeof *c);
  if (!c)
    return mproc__fail(MPROC_ENOMEM, "connection: out of memory");
  c->h = h;
  c->io_event = CreateEventW(NULL, TRUE, FALSE, NULL);
  c->probe_event = CreateEventW(NULL, TRUE, FALSE, NULL);
  if (!c->io_event || !c->probe_event) {
    int rc = mproc__os_fail("connection: CreateEventW");
    if (c->io_event)
      CloseHandle(c->io_event);
    free(c);
    return rc;
  }
  *out = c;
  return 0;
}

int mproc__os_conn_pair(mproc__os_conn_t **a, mproc__os_conn_t **b, bool duplex) {
  static volatile LONG counter;
  wchar_t name[96];
  _snwprintf(name, 96, L"\\\\.\\pipe\\mproc-%lu-%ld-%llu", GetCurrentProcessId(),
             InterlockedIncrement(&counter), (unsigned long long)GetTickCount64());
  name[95] = 0;
  HANDLE server =
      CreateNamedPipeW(name,
                       (duplex ? PIPE_ACCESS_DUPLEX : PIPE_ACCESS_INBOUND) | FILE_FLAG_OVERLAPPED |
                           FILE_FLAG_FIRST_PIPE_INSTANCE,
                       PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT | PIPE_REJECT_REMOTE_CLIENTS,
                       1, 1 << 16, 1 << 16, 0, NULL);
  if (server == INVALID_HANDLE_VALUE)
    return mproc__os_fail("pipe: CreateNamedPipeW");
  HANDLE client = CreateFileW(name, duplex ? GENERIC_READ | GENERIC_WRITE : GENERIC_WRITE, 0, NULL,
                              OPEN_EXISTING, FILE_FLAG_OVERLAPPED, NULL);
  if (client == INVALID_HANDLE_VALUE) {
    int rc = mproc__os_fail("pipe: CreateFileW");
    CloseHandle(server);
    return rc;
  }
  OVERLAPPED ov;
  ZeroMemory(&ov, sizeof ov);
  ov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
  DWORD n;
  if (!ConnectNamedPipe(server, &ov) && GetLastError() == ERROR_IO_PENDING)
    GetOverlappedResult(server, &ov, &n, TRUE); /* the client is already there */
  if (ov.hEvent)
    CloseHandle(ov.hEvent);
  if (wrap(a, server) != 0) {
    CloseHandle(server);
    CloseHandle(client);
    return MPROC_ENOMEM;
  }
  if (wrap(b, client) != 0) {
    mproc__os_conn_free(*a);
    CloseHandle(client);
    return MPROC_ENOMEM;
  }
  return 0;
}

int mproc__win32_conn_wrap_socket(mproc__os_conn_t **out, intptr_t s) {
  int rc = wrap(out, (HANDLE)s);
  if (rc)
    closesocket((SOCKET)s);
  else
    (*out)->is_socket = true;
  return rc;
}

int mproc__os_conn_wrap(mproc__os_conn_t **out, intptr_t handle) {
  /* A tcp: connection passed to this process arrives as a socket. */
  if (mproc__win32_is_socket((HANDLE)handle))
    return mproc__win32_conn_wrap_socket(out, handle);
  int rc = wrap(out, (HANDLE)handle);
  if (rc)
    CloseHandle((HANDLE)handle);
  return rc;
}

int mproc__os_conn_dup_handle(const mproc__os_conn_t *c, intptr_t *handle) {
  return mproc__os_dup_handle((intptr_t)c->h, handle); /* sockets too: handle.c */
}

/* One overlapped read or write, waited for; *done is 0 at end-of-file. */
static int io(mproc__os_conn_t *c, bool write, void *p, DWORD n, DWORD *done) {
  OVERLAPPED ov;
  ZeroMemory(&ov, sizeof ov);
  ov.hEvent = c->io_event;
  ResetEvent(c->io_event);
  if (InterlockedCompareExchange(&c->cancelled, 0, 0)) {
    *done = 0;
    return mproc__fail(MPROC_ECLOSED, "connection: cancelled");
  }
  BOOL ok = write ? WriteFile(c->h, p, n, NULL, &ov) : ReadFile(c->h, p, n, NULL, &ov);
  DWORD e = ok ? 0 : GetLastError();
  if (ok || e == ERROR_IO_PENDING) {
    /* Wake now and then: a cancel that came just before this I/O began
     * found nothing to cancel. */
    while (!ok && WaitForSingleObject(c->io_event, 250) == WAIT_TIMEOUT)
      if (InterlockedCompareExchange(&c->cancelled, 0, 0))
        CancelIoEx(c->h, &ov);
    if (GetOverlappedResult(c->h, &ov, done, TRUE))
      return 0;
    e = GetLastError();
  }
  *done = 0;
  if (e == ERROR_OPERATION_ABORTED && InterlockedCompareExchange(&c->cancelled, 0, 0))
    return mproc__fail(MPROC_ECLOSED, "connection: cancelled");
  if (e == ERROR_BROKEN_PIPE || e == ERROR_NO_DATA || e == ERROR_PIPE_NOT_CONNECTED) {
    if (!write)
      return 0; /* end-of-file */
    mproc__os_fail_code((long)e, "connection: WriteFile: the other end is closed");
    return MPROC_EEOF;
  }
  return mproc__os_fail_code((long)e, write ? "connection: WriteFile" : "connection: ReadFile");
}

int mproc__os_conn_write(mproc__os_conn_t *c, const void *p, size_t n) {
  const char *s = p;
  while (n > 0) {
    DWORD chunk = n > (1u << 30) ? (1u << 30) : (DWORD)n, done;
    int rc = io(c, true, (void *)s, chunk, &done);
    if (rc)
      return rc;
    s += done;
    n -= done;
  }
  return 0;
}

int mproc__os_conn_read(mproc__os_conn_t *c, void *p, size_t n, size_t *got) {
  char *d = p;
  *got = 0;
  while (*got < n) {
    size_t left = n - *got;
    DWORD chunk = left > (1u << 30) ? (1u << 30) : (DWORD)left, done;
    int rc = io(c, false, d + *got, chunk, &done);
    if (rc)
      return rc;
    if (done == 0)
      break;
    *got += done;
  }
  return 0;
}

/* Each handle goes as a record: u8 kind (1: a value valid in the
 * receiver, 2: a socket's WSAPROTOCOL_INFOW for it) | u32 length | bytes. */
static int send_handle(mproc__os_conn_t *c, HANDLE process, DWORD pid, intptr_t h) {
  unsigned char head[5];
  unsigned char *blob = NULL;
  size_t len = 0;
  uint64_t value = 0;
  int rc;
  if (mproc__win32_is_socket((HANDLE)h)) {
    head[0] = 2;
    rc = mproc__win32_socket_export((SOCKET)h, pid, &blob, &len);
  } else {
    HANDLE dup;
    head[0] = 1;
    rc = DuplicateHandle(GetCurrentProcess(), (HANDLE)h, process, &dup, 0, FALSE,
                         DUPLICATE_SAME_ACCESS)
             ? 0
             : mproc__os_fail("handles: DuplicateHandle");
    value = (uint64_t)(uintptr_t)dup;
    blob = (unsigned char *)&value;
    len = sizeof value;
  }
  if (rc)
    return rc;
  mproc__put_u32(head + 1, (uint32_t)len);
  rc = mproc__os_conn_write(c, head, sizeof head);
  if (!rc)
    rc = mproc__os_conn_write(c, blob, len);
  if (head[0] == 2)
    free(blob);
  return rc;
}

/* The process at the other end of the pipe c, opened to duplicate handles
 * into: the client's from a server end, the server's from a client end. */
static int open_peer(const mproc__os_conn_t *c, HANDLE *process, DWORD *pid) {
  ULONG id = 0;
  if (c->is_socket)
    return mproc__fail(MPROC_ENOTSUP, "handles: only a pipe's peer is known to receive them");
  if ((!GetNamedPipeClientProcessId(c->h, &id) || id == GetCurrentProcessId()) &&
      !GetNamedPipeServerProcessId(c->h, &id))
    return mproc__os_fail("handles: GetNamedPipeServerProcessId");
  *process = OpenProcess(PROCESS_DUP_HANDLE, FALSE, id);
  if (!*process)
    return mproc__os_fail("handles: OpenProcess(%lu)", (unsigned long)id);
  *pid = id;
  return 0;
}

int mproc__os_conn_send_handles(mproc__os_conn_t *c, const mproc__os_child_t *to, const intptr_t *h,
                                size_t n) {
  HANDLE process = to ? to->process : NULL;
  DWORD pid = to ? to->pid : 0;
  int rc = to ? 0 : open_peer(c, &process, &pid);
  for (size_t i = 0; i < n && !rc; i++)
    rc = send_handle(c, process, pid, h[i]);
  if (!to && process)
    CloseHandle(process);
  return rc;
}

int mproc__os_conn_recv_handles(mproc__os_conn_t *c, intptr_t *h, size_t n) {
  size_t got = 0;
  int rc = 0;
  while (got < n && rc == 0) {
    unsigned char head[5], buf[1024];
    size_t k;
    rc = mproc__os_conn_read(c, head, sizeof head, &k);
    uint32_t len = k == sizeof head ? mproc__get_u32(head + 1) : 0;
    if (!rc && (k != sizeof head || len > sizeof buf || (head[0] != 1 && head[0] != 2)))
      rc = mproc__fail(k == 0 ? MPROC_EEOF : MPROC_EPROTO, "handles: a malformed record");
    if (!rc)
      rc = mproc__os_conn_read(c, buf, len, &k);
    if (!rc && k != len)
      rc = mproc__fail(MPROC_EPROTO, "handles: a record cut short");
    if (!rc && head[0] == 1) {
      uint64_t v;
      if (len != sizeof v)
        rc = mproc__fail(MPROC_EPROTO, "handles: a malformed value");
      else {
        memcpy(&v, buf, sizeof v);
        h[got++] = (intptr_t)(uintptr_t)v;
      }
    } else if (!rc) {
      rc = mproc__os_handle_import(buf, len, &h[got]);
      if (!rc)
        got++;
    }
  }
  if (rc)
    for (size_t i = 0; i < got; i++)
      mproc__os_close_handle(h[i]);
  return rc;
}

/* Overlapped pipe reads are sized up front and sockets share their code:
 * connections here do not read ahead. */
int mproc__os_conn_read_some(mproc__os_conn_t *c, void *p, size_t cap, size_t *got) {
  (void)c, (void)p, (void)cap, (void)got;
  return MPROC_ENOTSUP;
}

int mproc__os_conn_read_now(mproc__os_conn_t *c, void *p, size_t cap, size_t *got) {
  (void)c, (void)p, (void)cap, (void)got;
  return MPROC_ENOTSUP;
}

int mproc__os_conn_available(mproc__os_conn_t *c, size_t *n) {
  *n = 0;
  if (c->is_socket) {
    u_long avail = 0;
    if (ioctlsocket((SOCKET)c->h, FIONREAD, &avail) != 0)
      return mproc__os_fail_code(WSAGetLastError(), "connection: ioctlsocket(FIONREAD)");
    *n = avail;
    return 0;
  }
  DWORD avail = 0;
  if (PeekNamedPipe(c->h, NULL, 0, NULL, &avail, NULL))
    *n = avail;
  return 0; /* a broken pipe has nothing to read: the reader meets end-of-file */
}

int mproc__os_conn_arm(mproc__os_conn_t *c, intptr_t *waitable, bool *ready_now) {
  *waitable = (intptr_t)c->probe_event;
  *ready_now = false;
  if (c->probe_pending)
    return 0;
  DWORD avail = 0;
  u_long sock_avail = 0;
  bool there = c->is_socket
                   ? ioctlsocket((SOCKET)c->h, FIONREAD, &sock_avail) != 0 || sock_avail > 0
                   : !PeekNamedPipe(c->h, NULL, 0, NULL, &avail, NULL) || avail > 0;
  if (there) {
    *ready_now = true; /* data there, or the other end is gone */
    SetEvent(c->probe_event);
    return 0;
  }
  static char none;
  ZeroMemory(&c->probe, sizeof c->probe);
  c->probe.hEvent = c->probe_event;
  ResetEvent(c->probe_event);
  if (ReadFile(c->h, &none, 0, NULL, &c->probe) || GetLastError() != ERROR_IO_PENDING) {
    *ready_now = true;
    SetEvent(c->probe_event);
    return 0;
  }
  c->probe_pending = true;
  return 0;
}

void mproc__os_conn_disarm(mproc__os_conn_t *c) {
  if (!c->probe_pending)
    return;
  DWORD n;
  CancelIoEx(c->h, &c->probe);
  GetOverlappedResult(c->h, &c->probe, &n, TRUE);
  c->probe_pending = false;
}

void mproc__os_conn_cancel(mproc__os_conn_t *c) {
  InterlockedExchange(&c->cancelled, 1);
  CancelIoEx(c->h, NULL);
}

void mproc__os_conn_free(mproc__os_conn_t *c) {
  if (!c)
    return;
  mproc__os_conn_disarm(c);
  if (c->is_socket)
    closesocket((SOCKET)c->h);
  else
    CloseHandle(c->h);
  CloseHandle(c->io_event);
  CloseHandle(c->probe_event);
  free(c);
}
