/* The spawn start method on Windows: CreateProcessW of the running
 * executable with --mproc-child <bootstrap pipe>:<report pipe>.
 *
 * The child inherits exactly the handles named in a
 * PROC_THREAD_ATTRIBUTE_HANDLE_LIST: its two pipe ends and duplicates of
 * the standard streams. Everything else stays private, even while another
 * thread spawns with other inheritable handles. Sockets in the handle
 * table are not inherited: each is exported for the new process id once it
 * exists (socket_conn.h). */
#include <winsock2.h>
/* winsock2.h before windows.h */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>

#include "child.h"
#include "socket_conn.h"
#include "wide.h"

/* What the child inherits: 2 pipe ends, up to 3 standard streams, the
 * parent link, then the handle table's kernel objects. */
enum { FIXED_HANDLES = 6 };

typedef struct {
  HANDLE *list;
  int count;
} inherit_t;

/* An inheritable duplicate of a standard stream, or NULL if there is none. */
static HANDLE inheritable_std(DWORD which, inherit_t *inh) {
  HANDLE h = GetStdHandle(which), dup = NULL;
  if (h == NULL || h == INVALID_HANDLE_VALUE)
    return NULL;
  if (!DuplicateHandle(GetCurrentProcess(), h, GetCurrentProcess(), &dup, 0, TRUE,
                       DUPLICATE_SAME_ACCESS))
    return NULL;
  inh->list[inh->count++] = dup;
  return dup;
}

static wchar_t *self_path(void) {
  for (DWORD cap = MAX_PATH;; cap *= 2) {
    wchar_t *buf = malloc(cap * sizeof *buf);
    if (!buf)
      return NULL;
    DWORD n = GetModuleFileNameW(NULL, buf, cap);
    if (n > 0 && n < cap)
      return buf;
    free(buf);
    if (n == 0 || cap > 32768)
      return NULL;
  }
}

int mproc__os_spawn(mproc__os_child_t **out, const mproc__spawn_opts_t *o,
                    mproc__stream_t *parent_end, intptr_t *child_link) {
  const char *exe = o->exe;
  HANDLE boot_rd = NULL, boot_wr = NULL, rep_rd = NULL, rep_wr = NULL, job = NULL;
  inherit_t inh = {NULL, 0};
  int *slot = NULL;    /* where each table entry sits in inh.list; -1: a socket */
  int std_end = 2;     /* inh.list: 2 pipe ends, std duplicates up to here, the link, */
  int table_start = 0; /* then the handle table's duplicates from here */
  LPPROC_THREAD_ATTRIBUTE_LIST attrs = NULL;
  wchar_t *path = NULL, *cmdline = NULL;
  int rc = 0;

  if (o->ninherit > (size_t)(INT32_MAX / 2 - FIXED_HANDLES)) {
    rc = mproc__fail(MPROC_EINVAL, "spawn: %zu inherited handles", o->ninherit);
    goto cleanup;
  }
  inh.list = calloc(FIXED_HANDLES + o->ninherit, sizeof *inh.list);
  slot = calloc(o->ninherit ? o->ninherit : 1, sizeof *slot);
  if (!inh.list || !slot) {
    rc = mproc__fail(MPROC_ENOMEM, "spawn: out of memory");
    goto cleanup;
  }
  path = exe ? mproc__wide_from_utf8(exe) : self_path();
  if (!path) {
    rc = exe ? mproc__fail(MPROC_EINVAL, "spawn: executable path is not valid UTF-8")
             : mproc__os_fail("spawn: GetModuleFileNameW");
    goto cleanup;
  }
  /* Private pipes; only the child's ends become inheritable, and only the
   * handle list below passes them on. */
  if (!CreatePipe(&boot_rd, &boot_wr, NULL, 0) || !CreatePipe(&rep_rd, &rep_wr, NULL, 0)) {
    rc = mproc__os_fail("spawn: CreatePipe");
    goto cleanup;
  }
  if (!SetHandleInformation(boot_rd, HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT) ||
      !SetHandleInformation(rep_wr, HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT)) {
    rc = mproc__os_fail("spawn: SetHandleInformation");
    goto cleanup;
  }
  inh.list[inh.count++] = boot_rd;
  inh.list[inh.count++] = rep_wr;
  intptr_t link;
  if ((rc = mproc__os_parent_link(&link)) != 0 ||
      (o->daemon && (rc = mproc__win32_daemon_job(&job))))
    goto cleanup;

  STARTUPINFOEXW si;
  ZeroMemory(&si, sizeof si);
  si.StartupInfo.cb = sizeof si;
  si.StartupInfo.dwFlags = STARTF_USESTDHANDLES;
  si.StartupInfo.hStdInput = inheritable_std(STD_INPUT_HANDLE, &inh);
  si.StartupInfo.hStdOutput = inheritable_std(STD_OUTPUT_HANDLE, &inh);
  si.StartupInfo.hStdError = inheritable_std(STD_ERROR_HANDLE, &inh);
  std_end = inh.count;
  inh.list[inh.count++] = (HANDLE)link; /* stays open: it is the parent's */
  table_start = inh.count;
  for (size_t i = 0; i < o->ninherit; i++) {
    slot[i] = -1;
    if (mproc__win32_is_socket((HANDLE)o->inherit[i]))
      continue;
    /* An inheritable duplicate: inherited handles keep their value. */
    slot[i] = inh.count;
    HANDLE dup;
    if (!DuplicateHandle(GetCurrentProcess(), (HANDLE)o->inherit[i], GetCurrentProcess(), &dup, 0,
                         TRUE, DUPLICATE_SAME_ACCESS)) {
      rc = mproc__os_fail("spawn: DuplicateHandle(inherited handle %zu)", i);
      goto cleanup;
    }
    inh.list[inh.count++] = dup;
  }

  SIZE_T size = 0;
  InitializeProcThreadAttributeList(NULL, 1, 0, &size);
  attrs = malloc(size);
  if (!attrs || !InitializeProcThreadAttributeList(attrs, 1, 0, &size)) {
    rc = attrs ? mproc__os_fail("spawn: InitializeProcThreadAttributeList")
               : mproc__fail(MPROC_ENOMEM, "spawn: out of memory");
    free(attrs);
    attrs = NULL;
    goto cleanup;
  }
  if (!UpdateProcThreadAttribute(attrs, 0, PROC_THREAD_ATTRIBUTE_HANDLE_LIST, inh.list,
                                 (SIZE_T)inh.count * sizeof(HANDLE), NULL, NULL)) {
    rc = mproc__os_fail("spawn: UpdateProcThreadAttribute");
    goto cleanup;
  }
  si.lpAttributeList = attrs;

  size_t cap = wcslen(path) + strlen(o->marker) + 96;
  cmdline = malloc(cap * sizeof *cmdline);
  if (!cmdline) {
    rc = mproc__fail(MPROC_ENOMEM, "spawn: out of memory");
    goto cleanup;
  }
  /* Paths cannot contain '"', so quoting the program name is enough. */
  _snwprintf(cmdline, cap, L"\"%ls\" %hs %llx:%llx", path, o->marker,
             (unsigned long long)(uintptr_t)boot_rd, (unsigned long long)(uintptr_t)rep_wr);
  cmdline[cap - 1] = 0;

  PROCESS_INFORMATION pi;
  /* A daemon joins the job before it runs a single instruction. */
  DWORD flags = EXTENDED_STARTUPINFO_PRESENT | CREATE_UNICODE_ENVIRONMENT |
                (o->daemon ? CREATE_SUSPENDED : 0);
  if (!CreateProcessW(path, cmdline, NULL, NULL, TRUE, flags, NULL, NULL, &si.StartupInfo, &pi)) {
    int code = mproc__os_fail("spawn: CreateProcessW(%s)", exe ? exe : "(this program)");
    rc = code == MPROC_ENOMEM ? code : MPROC_ECHILD;
    goto cleanup;
  }
  if (o->daemon) {
    if (!AssignProcessToJobObject(job, pi.hProcess)) {
      rc = mproc__os_fail("spawn: AssignProcessToJobObject");
      TerminateProcess(pi.hProcess, MPROC__TERMINATE_CODE);
      CloseHandle(pi.hThread);
      CloseHandle(pi.hProcess);
      goto cleanup;
    }
    ResumeThread(pi.hThread);
  }
  CloseHandle(pi.hThread);
  for (size_t i = 0; i < o->ninherit; i++) {
    o->inherited[i] = (mproc__child_handle_t){.value = -1};
    if (slot[i] >= 0)
      o->inherited[i].value = (intptr_t)inh.list[slot[i]]; /* inherited: same value */
    else if ((rc = mproc__win32_socket_export((SOCKET)o->inherit[i], pi.dwProcessId,
                                              &o->inherited[i].blob, &o->inherited[i].blob_len)))
      break;
  }
  if (rc) {
    TerminateProcess(pi.hProcess, MPROC__TERMINATE_CODE);
    CloseHandle(pi.hProcess);
    for (size_t i = 0; i < o->ninherit; i++) {
      free(o->inherited[i].blob);
      o->inherited[i].blob = NULL;
    }
    goto cleanup;
  }
  mproc__os_child_t *c = calloc(1, sizeof *c);
  if (!c) {
    TerminateProcess(pi.hProcess, MPROC__TERMINATE_CODE);
    CloseHandle(pi.hProcess);
    rc = mproc__fail(MPROC_ENOMEM, "spawn: out of memory");
    goto cleanup;
  }
  c->process = pi.hProcess;
  c->pid = pi.dwProcessId;
  *out = c;
  parent_end->rd = (intptr_t)rep_rd;
  parent_end->wr = (intptr_t)boot_wr;
  *child_link = link;      /* inherited handles keep their value */
  rep_rd = boot_wr = NULL; /* now the caller's */

cleanup:
  if (attrs) {
    DeleteProcThreadAttributeList(attrs);
    free(attrs);
  }
  for (int i = 2; i < std_end; i++) /* after the two pipes: the std duplicates */
    CloseHandle(inh.list[i]);
  for (int i = table_start; i > 0 && i < inh.count; i++) /* the table's duplicates */
    CloseHandle(inh.list[i]);
  free(inh.list);
  free(slot);
  HANDLE mine[] = {boot_rd, boot_wr, rep_rd, rep_wr};
  for (size_t i = 0; i < sizeof mine / sizeof mine[0]; i++)
    if (mine[i])
      CloseHandle(mine[i]);
  free(cmdline);
  free(path);
  return rc;
}
