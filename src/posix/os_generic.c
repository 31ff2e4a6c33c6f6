/* What any POSIX system can answer without /proc (os.h) - the files a
 * macOS or BSD port specialises start from here.
 *
 * The command line and the main thread are taken by a constructor: ELF
 * loaders of glibc and the BSDs, and macOS's dyld, call constructors with
 * (argc, argv, envp), and constructors run on the main thread. Where the
 * loader passes nothing (musl), mproc_main_guard's arguments serve. The
 * executable is argv[0] made absolute at start-up (searched in PATH when
 * it has no slash), as Python's sys.executable is found. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/internal.h"
#include "os.h"

static int start_argc;
static char **start_argv;
static char self_exe[PATH_MAX];
static pthread_t main_thread;
static bool main_thread_known;

/* argv[0] as an absolute path, or "" when it cannot be found. */
static void find_self_exe(const char *arg0) {
  if (self_exe[0] || !arg0 || !*arg0)
    return;
  if (strchr(arg0, '/')) {
    if (!realpath(arg0, self_exe))
      self_exe[0] = '\0';
    return;
  }
  const char *path = getenv("PATH");
  for (const char *p = path; p && *p;) {
    const char *end = strchr(p, ':');
    size_t n = end ? (size_t)(end - p) : strlen(p);
    char candidate[PATH_MAX];
    if (snprintf(candidate, sizeof candidate, "%.*s/%s", (int)n, n ? p : ".", arg0) <
            (int)sizeof candidate &&
        access(candidate, X_OK) == 0 && realpath(candidate, self_exe))
      return;
    p = end ? end + 1 : NULL;
  }
  self_exe[0] = '\0';
}

/* Priority 101: before the child entry's own constructor, which reads the
 * command line. */
__attribute__((constructor(101))) static void take_start_up(int argc, char **argv, char **envp) {
  (void)envp;
  main_thread = pthread_self();
  main_thread_known = true;
  if (argc > 0 && argv && argv[0]) {
    start_argc = argc;
    start_argv = argv;
    find_self_exe(argv[0]);
  }
}

void mproc__os_note_command_line(int argc, char **argv) {
  if (argc > 0 && argv)
    find_self_exe(argv[0]);
}

const char *mproc__posix_self_exe(void) { return self_exe[0] ? self_exe : NULL; }

uint64_t mproc__posix_start_token(uint32_t pid) {
  (void)pid;
  return 0;
}

bool mproc__posix_process_gone(uint32_t pid, uint32_t start) {
  (void)start;
  /* A zombie still answers kill(pid, 0). One of our own children can be
   * asked without reaping it; another process's zombie cannot be told. */
  siginfo_t si;
  memset(&si, 0, sizeof si);
  return waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == (pid_t)pid;
}

int mproc__os_command_line(int *argc, char ***argv) {
  if (start_argc <= 0)
    return MPROC_ENOTSUP;
  return mproc__posix_copy_argv(start_argc, start_argv, argc, argv);
}

bool mproc__os_constructor_entry_allowed(void) { return true; }

int mproc__os_thread_count(void) { return 0; /* cannot tell */ }

bool mproc__os_is_main_thread(void) {
  return main_thread_known && pthread_equal(main_thread, pthread_self());
}
