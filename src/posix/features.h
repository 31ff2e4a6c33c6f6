/* Which Linux-only mechanisms this build uses - decided here, once.
 *
 * On Linux the backend uses futexes, memfds, eventfds, pidfds,
 * PR_SET_PDEATHSIG, close_range and posix_spawn's closefrom action. Every
 * other POSIX system needs the portable fallback of each (a FIFO per wait
 * word, shm_open, polling waits for children, the watchdog pipe, a bounded
 * close loop), so the fallbacks are built and tested on Linux too: the
 * CMake option MPROC_POSIX_GENERIC defines MPROC_POSIX_GENERIC and turns
 * every Linux mechanism off. What each system answers differently beyond
 * that (the executable's path, the command line, another process's state)
 * lives in one file per system: os_linux.c, os_generic.c (see os.h). */
#ifndef MPROC_POSIX_FEATURES_H
#define MPROC_POSIX_FEATURES_H

#if defined(__linux__) && !defined(MPROC_POSIX_GENERIC)
#  define MPROC__LINUX_MECHANISMS 1
#else
#  define MPROC__LINUX_MECHANISMS 0
#endif

#endif
