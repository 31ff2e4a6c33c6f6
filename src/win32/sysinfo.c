/* The running process: pid, usable CPUs, command line (Win32). */
#include <stdio.h>
#include <stdlib.h>
#include <windows.h>
/* after windows.h, which it needs */
#include <shellapi.h>

#include "core/internal.h"
#include "wide.h"

int64_t mproc__os_getpid(void) { return (int64_t)GetCurrentProcessId(); }

void mproc__os_flush_std_streams(void) {
  /* No fork here, so nothing to spare: flush both. */
  fflush(stdout);
  fflush(stderr);
}

int64_t mproc__os_now_ms(void) { return (int64_t)GetTickCount64(); }

int64_t mproc__os_now_us(void) {
  LARGE_INTEGER f, t;
  QueryPerformanceFrequency(&f);
  QueryPerformanceCounter(&t);
  return (int64_t)(t.QuadPart / f.QuadPart * 1000000 +
                   t.QuadPart % f.QuadPart * 1000000 / f.QuadPart);
}

int mproc__os_cpu_count(void) {
  /* The process affinity mask, as on POSIX. It covers the process's one
   * processor group; a process spread over groups reports the total. */
  DWORD_PTR process_mask, system_mask;
  if (GetProcessAffinityMask(GetCurrentProcess(), &process_mask, &system_mask) &&
      process_mask != 0) {
    int n = 0;
    for (; process_mask; process_mask &= process_mask - 1)
      n++;
    return n;
  }
  DWORD n = GetActiveProcessorCount(ALL_PROCESSOR_GROUPS);
  return n > 0 ? (int)n : 1;
}

int mproc__os_command_line(int *argc, char ***argv) {
  int n;
  wchar_t **wargv = CommandLineToArgvW(GetCommandLineW(), &n);
  if (!wargv)
    return MPROC_ESYS;
  char **v = calloc((size_t)n + 1, sizeof *v);
  int rc = v ? 0 : MPROC_ENOMEM;
  for (int i = 0; i < n && rc == 0; i++)
    if (!(v[i] = mproc__utf8_from_wide(wargv[i])))
      rc = MPROC_ENOMEM;
  LocalFree(wargv);
  if (rc) {
    mproc__os_free_argv(n, v);
    return rc;
  }
  *argc = n;
  *argv = v;
  return 0;
}

void mproc__os_free_argv(int argc, char **argv) {
  if (!argv)
    return;
  for (int i = 0; i < argc; i++)
    free(argv[i]);
  free(argv);
}

void mproc__os_note_command_line(int argc, char **argv) { (void)argc, (void)argv; }

bool mproc__os_constructor_entry_allowed(void) {
  /* A DLL's constructors run inside DllMain under the loader lock, where
   * running a whole program (threads, LoadLibrary) can deadlock. Only a
   * static mproc, linked into the executable, runs the entry there. */
#ifdef MPROC_STATIC
  return true;
#else
  return false;
#endif
}
