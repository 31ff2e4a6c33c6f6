/* What each POSIX system answers its own way, behind one small interface
 * (libuv's linux.c, darwin.c, ...): os_linux.c reads /proc; os_darwin.c
 * asks dyld and libproc (_NSGetExecutablePath, proc_pidinfo,
 * pthread_main_np); os_generic.c uses only what every POSIX system has,
 * and is where a BSD port starts (sysctl). The platform functions they
 * also define (command line, thread count, main thread) are declared in
 * src/platform.h. */
#ifndef MPROC_POSIX_OS_H
#define MPROC_POSIX_OS_H

#include <stdbool.h>
#include <stdint.h>

/* The path spawn executes to run this program again; NULL when unknown
 * (then spawn fails with a detail saying to call mproc_main_guard). */
const char *mproc__posix_self_exe(void);

/* Whether another process has ended: true only when certain (gone, a
 * zombie, or its pid reused since start). start: what
 * mproc__posix_start_token gave for it; 0 when unknown. */
bool mproc__posix_process_gone(uint32_t pid, uint32_t start);

/* A token that tells this process apart from a later one with the same
 * pid (Linux: its start time); 0 where the system cannot tell. */
uint64_t mproc__posix_start_token(uint32_t pid);

/* A copy of argc strings in one block, as mproc__os_free_argv expects
 * (v[0] owns them all): MPROC_ENOMEM or 0 (argv.c). */
int mproc__posix_copy_argv(int argc, char *const *argv, int *out_argc, char ***out_argv);

#endif
