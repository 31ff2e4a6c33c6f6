/* HANDLEs and sockets as handles. Kernel objects are inherited or
 * DuplicateHandle'd; a socket must be neither (a layered service provider
 * may keep state the handle does not carry), so it is shared the Winsock
 * way: WSADuplicateSocketW makes a WSAPROTOCOL_INFOW for one process, which
 * opens its copy with WSASocketW(FROM_PROTOCOL_INFO). */
#include <winsock2.h>
/* winsock2.h before windows.h */
#include <stdlib.h>
#include <string.h>
#include <windows.h>

#include "core/internal.h"
#include "socket_conn.h"

static volatile LONG winsock_started;

int mproc__win32_winsock_start(void) {
  if (winsock_started)
    return 0;
  WSADATA data;
  int e = WSAStartup(MAKEWORD(2, 2), &data);
  if (e)
    return mproc__os_fail_code(e, "WSAStartup");
  winsock_started = 1; /* a second WSAStartup from a racing thread is harmless */
  return 0;
}

bool mproc__win32_is_socket(HANDLE h) {
  if (!winsock_started) /* no socket exists before WSAStartup */
    return false;
  int type, len = sizeof type;
  int saved = WSAGetLastError();
  bool is = getsockopt((SOCKET)h, SOL_SOCKET, SO_TYPE, (char *)&type, &len) == 0;
  WSASetLastError(saved);
  return is;
}

void mproc__os_close_handle(intptr_t h) {
  if (h == -1 || h == 0)
    return;
  if (mproc__win32_is_socket((HANDLE)h))
    closesocket((SOCKET)h);
  else
    CloseHandle((HANDLE)h);
}

static int open_shared(const WSAPROTOCOL_INFOW *info, intptr_t *out) {
  SOCKET s =
      WSASocketW(FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO,
                 (WSAPROTOCOL_INFOW *)info, 0, WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
  if (s == INVALID_SOCKET)
    return mproc__os_fail_code(WSAGetLastError(), "WSASocketW(FROM_PROTOCOL_INFO)");
  *out = (intptr_t)s;
  return 0;
}

int mproc__win32_socket_export(SOCKET s, DWORD pid, unsigned char **blob, size_t *len) {
  WSAPROTOCOL_INFOW *info = malloc(sizeof *info);
  if (!info)
    return mproc__fail(MPROC_ENOMEM, "socket: out of memory");
  if (WSADuplicateSocketW(s, pid, info) != 0) {
    free(info);
    return mproc__os_fail_code(WSAGetLastError(), "WSADuplicateSocketW");
  }
  *blob = (unsigned char *)info;
  *len = sizeof *info;
  return 0;
}

int mproc__os_dup_handle(intptr_t h, intptr_t *out) {
  if (mproc__win32_is_socket((HANDLE)h)) {
    WSAPROTOCOL_INFOW info;
    if (WSADuplicateSocketW((SOCKET)h, GetCurrentProcessId(), &info) != 0)
      return mproc__os_fail_code(WSAGetLastError(), "WSADuplicateSocketW");
    return open_shared(&info, out);
  }
  HANDLE dup;
  if (!DuplicateHandle(GetCurrentProcess(), (HANDLE)h, GetCurrentProcess(), &dup, 0, FALSE,
                       DUPLICATE_SAME_ACCESS))
    return mproc__os_fail("DuplicateHandle");
  *out = (intptr_t)dup;
  return 0;
}

int mproc__os_handle_import(const void *blob, size_t len, intptr_t *out) {
  WSAPROTOCOL_INFOW info;
  if (len != sizeof info)
    return mproc__fail(MPROC_EPROTO, "handle table: %zu bytes are not a shared socket", len);
  memcpy(&info, blob, sizeof info);
  int rc = mproc__win32_winsock_start();
  return rc ? rc : open_shared(&info, out);
}
