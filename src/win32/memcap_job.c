/* A memory cap per child on Windows: a job object of its own with a
 * ProcessMemoryLimit, so the OS refuses the child any commit past the cap
 * and posts JOB_OBJECT_MSG_PROCESS_MEMORY_LIMIT to the job's completion
 * port. A watch thread waits on that port and, every WATCH_MS between
 * messages, reads the child's commit charge (PagefileUsage); either way,
 * a child past the cap is ended at once, with -9 as Linux's OOM killer
 * would, and the cap's event (its sentinel) is set - so its task fails
 * with MPROC_EMEMLIMIT, not with whatever its refused allocation did.
 * The reading is what catches a child where the limit is accepted but not
 * enforced (Wine: measured, its commit grew past the limit and no message
 * came). The child may already be in the daemon job (parent_link.c):
 * jobs nest since Windows 8. */
#include <windows.h>

#include <psapi.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "core/internal.h"

enum { WATCH_MS = 1, STOP_KEY = 1 };
#define STOPPED_BY_CAP ((UINT)-9) /* read back as -9, as after SIGKILL */

struct mproc__os_memcap {
  uint64_t bytes;
  HANDLE job, port;          /* the limit, and its messages */
  HANDLE hit_event;          /* the sentinel: set once the cap stopped the child */
  HANDLE child;              /* NULL until added */
  mproc__os_thread_t *watch; /* NULL until added */
  _Atomic bool hit;
};

int mproc__os_memcap_new(uint64_t bytes, mproc__os_memcap_t **out) {
  *out = NULL;
  if (bytes > (uint64_t)SIZE_MAX)
    return mproc__fail(MPROC_ERANGE, "memory cap: %llu bytes do not fit this system's sizes",
                       (unsigned long long)bytes);
  mproc__os_memcap_t *c = calloc(1, sizeof *c);
  if (!c)
    return mproc__fail(MPROC_ENOMEM, "memory cap: out of memory");
  c->bytes = bytes;
  JOBOBJECT_EXTENDED_LIMIT_INFORMATION limit;
  ZeroMemory(&limit, sizeof limit);
  limit.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_PROCESS_MEMORY;
  limit.ProcessMemoryLimit = (SIZE_T)bytes;
  c->job = CreateJobObjectW(NULL, NULL);
  c->port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 1);
  c->hit_event = CreateEventW(NULL, TRUE, FALSE, NULL);
  JOBOBJECT_ASSOCIATE_COMPLETION_PORT to_port = {c->job, c->port};
  if (!c->job || !c->port || !c->hit_event ||
      !SetInformationJobObject(c->job, JobObjectExtendedLimitInformation, &limit, sizeof limit) ||
      !SetInformationJobObject(c->job, JobObjectAssociateCompletionPortInformation, &to_port,
                               sizeof to_port)) {
    int rc = mproc__os_fail("memory cap: a job object with a process memory limit");
    mproc__os_memcap_free(c);
    return rc;
  }
  *out = c;
  return 0;
}

static uint64_t commit_of(HANDLE child) {
  PROCESS_MEMORY_COUNTERS_EX m;
  ZeroMemory(&m, sizeof m);
  m.cb = sizeof m;
  if (!GetProcessMemoryInfo(child, (PROCESS_MEMORY_COUNTERS *)&m, sizeof m))
    return 0;
  /* The same count on Windows; Wine fills only PagefileUsage. */
  return m.PrivateUsage > m.PagefileUsage ? m.PrivateUsage : m.PagefileUsage;
}

/* Until stopped (STOP_KEY) or the child is stopped or gone. */
static void watch(void *arg) {
  mproc__os_memcap_t *c = arg;
  for (;;) {
    DWORD msg = 0;
    ULONG_PTR key = 0;
    OVERLAPPED *unused;
    BOOL got = GetQueuedCompletionStatus(c->port, &msg, &key, &unused, WATCH_MS);
    if (got && key == STOP_KEY)
      return;
    bool refused = got && msg == JOB_OBJECT_MSG_PROCESS_MEMORY_LIMIT;
    if (refused || commit_of(c->child) > c->bytes) {
      /* Said before the end, so that whoever sees the child end sees why. */
      atomic_store(&c->hit, true);
      TerminateProcess(c->child, STOPPED_BY_CAP);
      SetEvent(c->hit_event);
      return;
    }
    if (WaitForSingleObject(c->child, 0) == WAIT_OBJECT_0)
      return;
  }
}

int mproc__os_memcap_add(mproc__os_memcap_t *cap, int64_t pid) {
  if (cap->child)
    return mproc__fail(MPROC_ESTATE, "memory cap: one process per cap");
  cap->child = OpenProcess(PROCESS_SET_QUOTA | PROCESS_TERMINATE | PROCESS_QUERY_INFORMATION |
                               PROCESS_VM_READ | SYNCHRONIZE,
                           FALSE, (DWORD)pid);
  if (!cap->child)
    return mproc__os_fail("memory cap: OpenProcess(%lld)", (long long)pid);
  if (!AssignProcessToJobObject(cap->job, cap->child))
    return mproc__os_fail("memory cap: AssignProcessToJobObject(%lld)", (long long)pid);
  int rc = mproc__os_thread_start(&cap->watch, watch, cap);
  if (rc)
    mproc__error_prefix("memory cap: its watch");
  return rc;
}

bool mproc__os_memcap_hit(mproc__os_memcap_t *cap) { return atomic_load(&cap->hit); }

intptr_t mproc__os_memcap_sentinel(const mproc__os_memcap_t *cap) {
  return (intptr_t)cap->hit_event;
}

const char *mproc__os_memcap_kind(const mproc__os_memcap_t *cap) {
  (void)cap;
  return "Windows job object ProcessMemoryLimit, commit charge";
}

void mproc__os_memcap_free(mproc__os_memcap_t *cap) {
  if (!cap)
    return;
  if (cap->watch) {
    PostQueuedCompletionStatus(cap->port, 0, STOP_KEY, NULL);
    mproc__os_thread_join(cap->watch);
  }
  HANDLE handles[] = {cap->child, cap->job, cap->port, cap->hit_event};
  for (size_t i = 0; i < sizeof handles / sizeof handles[0]; i++)
    if (handles[i])
      CloseHandle(handles[i]);
  free(cap);
}
