/* Connection ends around Winsock sockets (tcp: addresses). */
#ifndef MPROC_WIN32_SOCKET_CONN_H
#define MPROC_WIN32_SOCKET_CONN_H

#include "core/internal.h"

#include <winsock2.h>
/* winsock2.h before windows.h */
#include <windows.h>

/* A connection end owning socket s (closed on failure). */
int mproc__win32_conn_wrap_socket(mproc__os_conn_t **out, intptr_t s);

/* WSAStartup, once per process (handle.c). */
int mproc__win32_winsock_start(void);
/* Whether h is a socket (only sockets answer getsockopt). */
bool mproc__win32_is_socket(HANDLE h);
/* The bytes with which process pid opens its own copy of socket s
 * (WSADuplicateSocketW); *blob is malloc'd. */
int mproc__win32_socket_export(SOCKET s, DWORD pid, unsigned char **blob, size_t *len);

#endif
