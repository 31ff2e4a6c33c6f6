/* The parent link on Windows: an inherited handle to the parent process,
 * signalled when it ends however it ends. Daemon children are put in a Job
 * Object that kills its processes when its last handle closes: the parent
 * holds the only one, so its death, even by TerminateProcess, ends them. */
#include <windows.h>

#include "child.h"
#include "core/internal.h"
#include "core/spinlock.h"

static mproc__spinlock_t lock = MPROC__SPINLOCK_INIT;
static HANDLE self_for_children; /* inheritable, SYNCHRONIZE only */
static HANDLE daemon_job;

int mproc__os_parent_link(intptr_t *link) {
  int rc = 0;
  mproc__spin_lock(&lock);
  if (!self_for_children &&
      !DuplicateHandle(GetCurrentProcess(), GetCurrentProcess(), GetCurrentProcess(),
                       &self_for_children, SYNCHRONIZE, TRUE, 0)) {
    self_for_children = NULL;
    rc = mproc__os_fail("parent link: DuplicateHandle");
  }
  *link = (intptr_t)self_for_children;
  mproc__spin_unlock(&lock);
  return rc;
}

void mproc__os_parent_link_after_fork(void) {}

int mproc__win32_daemon_job(HANDLE *job) {
  int rc = 0;
  mproc__spin_lock(&lock);
  if (!daemon_job) {
    HANDLE j = CreateJobObjectW(NULL, NULL);
    JOBOBJECT_EXTENDED_LIMIT_INFORMATION info;
    ZeroMemory(&info, sizeof info);
    info.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
    if (!j || !SetInformationJobObject(j, JobObjectExtendedLimitInformation, &info, sizeof info)) {
      rc = mproc__os_fail("daemon job: CreateJobObjectW");
      if (j)
        CloseHandle(j);
    } else {
      daemon_job = j;
    }
  }
  *job = daemon_job;
  mproc__spin_unlock(&lock);
  return rc;
}

int mproc__os_parent_watch(intptr_t link, int64_t parent_pid, bool daemon, bool pdeathsig_ok) {
  (void)link, (void)parent_pid, (void)daemon, (void)pdeathsig_ok;
  return 0; /* the job object already ties a daemon to its parent */
}

bool mproc__os_sentinel_ready(intptr_t s) {
  return WaitForSingleObject((HANDLE)s, 0) == WAIT_OBJECT_0;
}
