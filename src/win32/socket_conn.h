/* Connection ends around Winsock sockets (tcp: addresses). */
#ifndef MPROC_WIN32_SOCKET_CONN_H
#define MPROC_WIN32_SOCKET_CONN_H

#include "../common/internal.h"

/* A connection end owning socket s (closed on failure). */
int mproc__win32_conn_wrap_socket(mproc__os_conn_t **out, intptr_t s);

#endif
