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

/* An inheritable duplicate of each table handle but sockets (exported
 * once the child's pid is known), appended to inh; slot[i] says where
 * handle i sits there, -1 for a socket. */
static int inherit_table(const mproc__spawn_opts_t *o, inherit_t *inh, int *slot) {
  for (size_t i = 0; i < o->ninherit; i++) {
    slot[i] = -1;
    if (mproc__win32_is_socket((HANDLE)o->inherit[i]))
      continue;
    /* An inheritable duplicate: inherited handles keep their value. */
    slot[i] = inh->count;
    HANDLE dup;
    if (!DuplicateHandle(GetCurrentProcess(), (HANDLE)o->inherit[i], GetCurrentProcess(), &dup, 0,
                         TRUE, DUPLICATE_SAME_ACCESS))
      return mproc__os_fail("spawn: DuplicateHandle(inherited handle %zu)", i);
    inh->list[inh->count++] = dup;
  }
  return 0;
}

/* The attribute that passes the child exactly inh's handles. */
static int handle_list(const inherit_t *inh, LPPROC_THREAD_ATTRIBUTE_LIST *out) {
  SIZE_T size = 0;
  InitializeProcThreadAttributeList(NULL, 1, 0, &size);
  LPPROC_THREAD_ATTRIBUTE_LIST attrs = malloc(size);
  if (!attrs)
    return mproc__fail(MPROC_ENOMEM, "spawn: out of memory");
  if (!InitializeProcThreadAttributeList(attrs, 1, 0, &size)) {
    free(attrs);
    return mproc__os_fail("spawn: InitializeProcThreadAttributeList");
  }
  *out = attrs;
  if (!UpdateProcThreadAttribute(attrs, 0, PROC_THREAD_ATTRIBUTE_HANDLE_LIST, inh->list,
                                 (SIZE_T)inh->count * sizeof(HANDLE), NULL, NULL))
    return mproc__os_fail("spawn: UpdateProcThreadAttribute");
  return 0;
}

/* "path" marker boot:report - the pipe ends' inherited values. */
static int command_line(const wchar_t *path, const char *marker, HANDLE boot_rd, HANDLE rep_wr,
                        wchar_t **out) {
  size_t cap = wcslen(path) + strlen(marker) + 96;
  wchar_t *cmdline = malloc(cap * sizeof *cmdline);
  if (!cmdline)
    return mproc__fail(MPROC_ENOMEM, "spawn: out of memory");
  /* Paths cannot contain '"', so quoting the program name is enough. */
  _snwprintf(cmdline, cap, L"\"%ls\" %hs %llx:%llx", path, marker,
             (unsigned long long)(uintptr_t)boot_rd, (unsigned long long)(uintptr_t)rep_wr);
  cmdline[cap - 1] = 0;
  *out = cmdline;
  return 0;
}

/* Creates the child; a daemon (job non-NULL) joins the job before it runs
 * a single instruction. MPROC_ECHILD when it cannot be created. */
static int create(const wchar_t *path, const char *what, wchar_t *cmdline, STARTUPINFOEXW *si,
                  HANDLE job, PROCESS_INFORMATION *pi) {
  DWORD flags =
      EXTENDED_STARTUPINFO_PRESENT | CREATE_UNICODE_ENVIRONMENT | (job ? CREATE_SUSPENDED : 0);
  if (!CreateProcessW(path, cmdline, NULL, NULL, TRUE, flags, NULL, NULL, &si->StartupInfo, pi)) {
    int code = mproc__os_fail("spawn: CreateProcessW(%s)", what);
    return code == MPROC_ENOMEM ? code : MPROC_ECHILD;
  }
  if (job) {
    if (!AssignProcessToJobObject(job, pi->hProcess)) {
      int rc = mproc__os_fail("spawn: AssignProcessToJobObject");
      TerminateProcess(pi->hProcess, MPROC__TERMINATE_CODE);
      CloseHandle(pi->hThread);
      CloseHandle(pi->hProcess);
      return rc;
    }
    ResumeThread(pi->hThread);
  }
  CloseHandle(pi->hThread);
  return 0;
}

/* What the child finds of each table handle: its inherited value, or a
 * socket exported to process pid. */
static int pass_table(const mproc__spawn_opts_t *o, const inherit_t *inh, const int *slot,
                      DWORD pid) {
  for (size_t i = 0; i < o->ninherit; i++) {
    o->inherited[i] = (mproc__child_handle_t){.value = -1};
    if (slot[i] >= 0)
      o->inherited[i].value = (intptr_t)inh->list[slot[i]]; /* inherited: same value */
    else {
      int rc = mproc__win32_socket_export((SOCKET)o->inherit[i], pid, &o->inherited[i].blob,
                                          &o->inherited[i].blob_len);
      if (rc)
        return rc;
    }
  }
  return 0;
}

/* The program to run: exe, or this one (NULL). */
static int program_path(const char *exe, wchar_t **out) {
  *out = exe ? mproc__wide_from_utf8(exe) : self_path();
  if (*out)
    return 0;
  return exe ? mproc__fail(MPROC_EINVAL, "spawn: executable path is not valid UTF-8")
             : mproc__os_fail("spawn: GetModuleFileNameW");
}

/* Private pipes; only the child's ends become inheritable, and only the
 * handle list passes them on. */
static int make_pipes(HANDLE *boot_rd, HANDLE *boot_wr, HANDLE *rep_rd, HANDLE *rep_wr) {
  if (!CreatePipe(boot_rd, boot_wr, NULL, 0) || !CreatePipe(rep_rd, rep_wr, NULL, 0))
    return mproc__os_fail("spawn: CreatePipe");
  if (!SetHandleInformation(*boot_rd, HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT) ||
      !SetHandleInformation(*rep_wr, HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT))
    return mproc__os_fail("spawn: SetHandleInformation");
  return 0;
}

/* A child made that cannot be handed over: it goes, with what was
 * exported to it. */
static void abandon(const PROCESS_INFORMATION *pi, const mproc__spawn_opts_t *o) {
  TerminateProcess(pi->hProcess, MPROC__TERMINATE_CODE);
  CloseHandle(pi->hProcess);
  for (size_t i = 0; i < o->ninherit; i++) {
    free(o->inherited[i].blob);
    o->inherited[i].blob = NULL;
  }
}

/* Closes this process's duplicates in inh - the std handles' (from 2 to
 * std_end) and the table's (from table_start) - and frees the list. */
static void release_inherit(inherit_t *inh, LPPROC_THREAD_ATTRIBUTE_LIST attrs, int std_end,
                            int table_start) {
  if (attrs) {
    DeleteProcThreadAttributeList(attrs);
    free(attrs);
  }
  for (int i = 2; i < std_end; i++) /* after the two pipes: the std duplicates */
    CloseHandle(inh->list[i]);
  for (int i = table_start; i > 0 && i < inh->count; i++) /* the table's duplicates */
    CloseHandle(inh->list[i]);
  free(inh->list);
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
  if ((rc = program_path(exe, &path)) != 0)
    goto cleanup;
  if ((rc = make_pipes(&boot_rd, &boot_wr, &rep_rd, &rep_wr)) != 0)
    goto cleanup;
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
  if ((rc = inherit_table(o, &inh, slot)) != 0 || (rc = handle_list(&inh, &attrs)) != 0)
    goto cleanup;
  si.lpAttributeList = attrs;
  if ((rc = command_line(path, o->marker, boot_rd, rep_wr, &cmdline)) != 0)
    goto cleanup;
  PROCESS_INFORMATION pi;
  if ((rc = create(path, exe ? exe : "(this program)", cmdline, &si, o->daemon ? job : NULL,
                   &pi)) != 0)
    goto cleanup;
  mproc__os_child_t *c = NULL;
  if ((rc = pass_table(o, &inh, slot, pi.dwProcessId)) == 0 && !(c = calloc(1, sizeof *c)))
    rc = mproc__fail(MPROC_ENOMEM, "spawn: out of memory");
  if (rc) {
    abandon(&pi, o);
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
  release_inherit(&inh, attrs, std_end, table_start);
  free(slot);
  HANDLE mine[] = {boot_rd, boot_wr, rep_rd, rep_wr};
  for (size_t i = 0; i < sizeof mine / sizeof mine[0]; i++)
    if (mine[i])
      CloseHandle(mine[i]);
  free(cmdline);
  free(path);
  return rc;
}
