/* The Win32 child handle, shared by spawn.c and child.c. */
#ifndef MPROC_WIN32_CHILD_H
#define MPROC_WIN32_CHILD_H

#include <stdatomic.h>
#include <windows.h>

#include "core/internal.h"

struct mproc__os_child {
  HANDLE process;
  DWORD pid;
  atomic_bool ended; /* set once; several threads may wait */
  int exitcode;
};

/* The Job Object daemon children join (parent_link.c). */
int mproc__win32_daemon_job(HANDLE *job);

/* The exit code TerminateProcess gives, as Python's -SIGTERM. */
#define MPROC__TERMINATE_CODE ((UINT)-15)

#endif
