/* What macOS answers its own way (os.h): the executable from dyld
 * (_NSGetExecutablePath), the command line from the C runtime's own copy
 * (_NSGetArgc, _NSGetArgv), another process's state, start time and this
 * process's threads from libproc (proc_pidinfo), and the main thread from
 * pthread_main_np. Built only on Apple systems, beside the generic POSIX
 * mechanisms (FIFO wait words, shm_open, the exit-watch thread).
 *
 * Written against Apple's documented interfaces; compiled and linked for
 * x86_64 and arm64 macOS by the macOS leg of scripts/test.sh (zig cc), run
 * only by the macOS job of .github/workflows/ci.yml. CMake defines
 * _DARWIN_C_SOURCE (everything macOS offers, under -std=c11 too). */
#include <crt_externs.h>
#include <errno.h>
#include <libproc.h>
#include <limits.h>
#include <mach-o/dyld.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/proc.h> /* SZOMB */
#include <sys/proc_info.h>
#include <unistd.h>

#include "core/internal.h"
#include "os.h"

static char self_exe[PATH_MAX];
static pthread_once_t self_exe_once = PTHREAD_ONCE_INIT;

static void find_self_exe(void) {
  char raw[PATH_MAX];
  uint32_t size = sizeof raw;
  if (_NSGetExecutablePath(raw, &size) != 0 || !realpath(raw, self_exe))
    self_exe[0] = '\0';
}

const char *mproc__posix_self_exe(void) {
  pthread_once(&self_exe_once, find_self_exe);
  return self_exe[0] ? self_exe : NULL;
}

void mproc__os_note_command_line(int argc, char **argv) { (void)argc, (void)argv; }

/* The kernel's record of a process: false when there is none. */
static bool bsd_info(uint32_t pid, struct proc_bsdinfo *info) {
  return proc_pidinfo((int)pid, PROC_PIDTBSDINFO, 0, info, (int)sizeof *info) == (int)sizeof *info;
}

/* Its start time in microseconds: never 0 for a process that exists. */
static uint64_t start_of(const struct proc_bsdinfo *info) {
  return (uint64_t)info->pbi_start_tvsec * 1000000u + (uint64_t)info->pbi_start_tvusec;
}

uint64_t mproc__posix_start_token(uint32_t pid) {
  struct proc_bsdinfo info;
  return bsd_info(pid, &info) ? start_of(&info) : 0;
}

bool mproc__posix_process_gone(uint32_t pid, uint32_t start) {
  struct proc_bsdinfo info;
  if (!bsd_info(pid, &info))
    return errno == ESRCH; /* EPERM: it exists, another user's */
  return info.pbi_status == SZOMB || (start != 0 && (uint32_t)start_of(&info) != start);
}

int mproc__os_command_line(int *argc, char ***argv) {
  int n = *_NSGetArgc();
  char **v = *_NSGetArgv();
  if (n <= 0 || !v)
    return MPROC_ENOTSUP;
  return mproc__posix_copy_argv(n, v, argc, argv);
}

bool mproc__os_constructor_entry_allowed(void) { return true; }

int mproc__os_thread_count(void) {
  struct proc_taskinfo info;
  if (proc_pidinfo(getpid(), PROC_PIDTASKINFO, 0, &info, (int)sizeof info) != (int)sizeof info)
    return 0;
  return info.pti_threadnum > 0 ? (int)info.pti_threadnum : 0;
}

bool mproc__os_is_main_thread(void) { return pthread_main_np() != 0; }
