/* mproc — processes that run a C function: Python's multiprocessing.Process.
 *
 * A process runs a target function `int fn(const mproc_args_t *args)` in a
 * child. Its return value, masked to 0..255 on every platform, becomes the
 * child's exit code. How the child is made is the start method:
 *
 *   spawn  (default everywhere) re-executes the running program with the
 *          marker argument --mproc-child; the program's main must begin with
 *          mproc_main_guard(argc, argv). Only the arguments cross.
 *   fork   (POSIX only) fork()s; the child has a copy of the parent's memory.
 *   forkserver  (POSIX only) a server process, spawned once while the
 *          program is still clean, forks each child: spawn's semantics
 *          (only the arguments cross) at close to fork's cost, safe in a
 *          threaded program. Windows has neither fork method: MPROC_ENOTSUP.
 *
 * The environment variable MPROC_START_METHOD=spawn|fork|forkserver, then
 * mproc_set_start_method, then opts.start_method override the default.
 * See docs/process.md. */
#ifndef MPROC_PROCESS_H
#define MPROC_PROCESS_H

#include <stdbool.h>
#include <stdint.h>

#include "args.h"
#include "error.h"
#include "export.h"
#include "timeout.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mproc_process mproc_process_t;

/* A target: runs in the child; its return value is the exit code. */
typedef int (*mproc_target_fn)(const mproc_args_t *args);

typedef enum {
  MPROC_START_DEFAULT = 0,
  MPROC_START_SPAWN,
  MPROC_START_FORK,
  MPROC_START_FORKSERVER
} mproc_start_method_t;

/* Options of mproc_process_new. A zeroed struct means Python's defaults. */
typedef struct {
  const char *name; /* NULL: "Process-N" */
  bool daemon;      /* stored and passed to the child; a daemon starts only daemons */
  mproc_start_method_t start_method; /* MPROC_START_DEFAULT: the global method */
  /* For options of later versions: leave zero (else MPROC_EINVAL). */
  uint64_t reserved[4];
} mproc_process_opts_t;

/* Child entry, Python's `if __name__ == "__main__":`. Call it first in main.
 * In a parent it returns 0 at once. In a spawned child (argv holds
 * --mproc-child) it never returns: it reads the bootstrap message, runs the
 * target and exits with its return value; a child that cannot run its target
 * reports why to its parent and exits with status 255.
 * With GCC, Clang and MinGW the same entry also runs from a constructor
 * before main, so a program that forgets the guard still works; setting the
 * environment variable MPROC_NO_AUTO_ENTRY=1 leaves the entry to this call.
 * Params: argc, argv — main's arguments (argv may be NULL when argc is 0).
 * Returns: 0 in a parent.
 * Errors: none returned; a broken child exits as described.
 * Platform: identical; on Windows argv is only scanned for the marker, the
 *   handles are read from the command line. */
MPROC_API int mproc_main_guard(int argc, char **argv);

/* Creates a process object (not yet started).
 * Params: out — receives the object; target — the function to run; args —
 *   its arguments, copied (encoded) now, NULL for none; opts — NULL for
 *   defaults, copied.
 * Returns: 0.
 * Errors: MPROC_EINVAL (out or target NULL, bad start method),
 *   MPROC_ENOMEM. */
MPROC_API int mproc_process_new(mproc_process_t **out, mproc_target_fn target,
                                const mproc_args_t *args, const mproc_process_opts_t *opts);

/* Starts the child (Python's start()). Once per object.
 * Params: p — the process.
 * Returns: 0.
 * Errors: MPROC_EINVAL (p NULL), MPROC_ESTATE (already started, or a
 *   daemon process starting a child that is not a daemon: Python refuses
 *   every child of a daemon, mproc only those that would outlive it),
 *   MPROC_ENOTSUP (fork or forkserver where unavailable),
 *   MPROC_ECHILD (the child could not be started or could not run its
 *   target: exec failure, unknown target, bootstrap error — the detail says
 *   which), MPROC_ESYS, MPROC_ENOMEM.
 * Platform: spawn uses posix_spawn of /proc/self/exe (POSIX) and
 *   CreateProcessW of GetModuleFileNameW (Windows); children inherit only
 *   the bootstrap channel and the standard streams. */
MPROC_API int mproc_process_start(mproc_process_t *p);

/* Runs the target in the calling process (Python's run()).
 * Params: p — the process (started or not).
 * Returns: the target's return value (unmasked).
 * Errors: MPROC_EINVAL (p NULL), MPROC_ENOMEM (the arguments cannot be
 *   decoded). A target may return the same values: run cannot tell them
 *   apart. */
MPROC_API int mproc_process_run(mproc_process_t *p);

/* Waits for the child to end (Python's join(timeout)); may be repeated.
 * Params: p — the process; timeout_ms — MPROC_INFINITE, 0 (check once) or
 *   milliseconds.
 * Returns: 0 when the child has ended (see mproc_process_exitcode).
 * Errors: MPROC_EINVAL, MPROC_ESTATE (not started), MPROC_ETIMEDOUT (still
 *   running at the timeout), MPROC_ECHILD (the child ended before its target
 *   ran; the detail says why), MPROC_ESYS. */
MPROC_API int mproc_process_join(mproc_process_t *p, int timeout_ms);

/* Reports whether the child is running (Python's is_alive()).
 * Params: p — the process.
 * Returns: 1 running, 0 not started or ended.
 * Errors: MPROC_EINVAL (p NULL), MPROC_ESYS. */
MPROC_API int mproc_process_is_alive(mproc_process_t *p);

/* Asks the child to end (Python's terminate()). No effect after it ended.
 * Params: p — the process.
 * Returns: 0.
 * Errors: MPROC_EINVAL, MPROC_ESTATE (not started), MPROC_ESYS.
 * Platform: POSIX sends SIGTERM (exit code -15 unless the child handles it);
 *   Windows calls TerminateProcess, exit code -15, as Python does. */
MPROC_API int mproc_process_terminate(mproc_process_t *p);

/* Ends the child at once (Python's kill()). No effect after it ended.
 * Params: p — the process.
 * Returns: 0.
 * Errors: MPROC_EINVAL, MPROC_ESTATE (not started), MPROC_ESYS.
 * Platform: POSIX sends SIGKILL (exit code -9); Windows calls
 *   TerminateProcess, exit code -15, exactly like terminate (as Python). */
MPROC_API int mproc_process_kill(mproc_process_t *p);

/* Gives the exit code (Python's exitcode): the target's return value & 0xff,
 * or -N after death by signal N (POSIX), or -15 after terminate/kill
 * (Windows). Checks without blocking.
 * Params: p — the process; code — receives the exit code.
 * Returns: 0 and *code set.
 * Errors: MPROC_EINVAL, MPROC_ESTATE (not started or still running),
 *   MPROC_ECHILD (the child ended before its target ran). */
MPROC_API int mproc_process_exitcode(const mproc_process_t *p, int *code);

/* The child's process id (Python's pid).
 * Params: p — the process.
 * Returns: the pid; 0 before start or when p is NULL. It stays valid after
 *   the child ended, until mproc_process_free.
 * Errors: none. */
MPROC_API int64_t mproc_process_pid(const mproc_process_t *p);

/* The process name (Python's name).
 * Params: p — the process.
 * Returns: the name given in opts, else "Process-N" ("Process-2:N" in the
 *   children of Process-2); "" when p is NULL. Valid until
 *   mproc_process_free.
 * Errors: none. */
MPROC_API const char *mproc_process_name(const mproc_process_t *p);

/* The daemon flag (Python's daemon).
 * Params: p — the process.
 * Returns: the flag given at creation; false when p is NULL.
 * Errors: none. */
MPROC_API bool mproc_process_daemon(const mproc_process_t *p);

/* A waitable handle that becomes ready when the child ends (Python's
 * sentinel), for mproc_wait or the application's own event loop.
 * Params: p — the process.
 * Returns: the handle, owned by p and valid until mproc_process_free; -1
 *   before start, when p is NULL, or where the platform has none.
 * Errors: none.
 * Platform: a pidfd on Linux 5.3+ (readable at exit; -1 on older kernels,
 *   where mproc_wait polls instead); the process HANDLE on Windows. */
MPROC_API intptr_t mproc_process_sentinel(const mproc_process_t *p);

/* Lists the children of this process that are still running (Python's
 * active_children()); like Python, it also reaps every child that has
 * ended, including ones whose objects were freed.
 * Params: out — receives an array of borrowed pointers (the objects stay
 *   owned by whoever created them), released with mproc_free; count —
 *   receives its length.
 * Returns: 0.
 * Errors: MPROC_EINVAL (NULL arguments), MPROC_ENOMEM. */
MPROC_API int mproc_active_children(mproc_process_t ***out, size_t *count);

/* Frees the object (Python's close()).
 * Params: p — the process, or NULL (then nothing happens).
 * Errors: none.
 * It never stops the child: a child still running keeps running and the
 * library reaps it once it has ended (at a later mproc_process_start), so
 * no zombie stays. */
MPROC_API void mproc_process_free(mproc_process_t *p);

/* Sets the start method of processes created from now on (opts.start_method
 * still overrides it).
 * Params: m — a method; MPROC_START_DEFAULT restores the default (spawn, or
 *   MPROC_START_METHOD from the environment).
 * Returns: 0.
 * Errors: MPROC_EINVAL (not a method), MPROC_ENOTSUP (fork or forkserver
 *   where unavailable). */
MPROC_API int mproc_set_start_method(mproc_start_method_t m);

/* The start method new processes get (Python's get_start_method()).
 * Returns: mproc_set_start_method's choice, else MPROC_START_METHOD from
 *   the environment, else MPROC_START_SPAWN; never MPROC_START_DEFAULT (an
 *   invalid environment value reads as spawn here, and makes
 *   mproc_process_new fail).
 * Errors: none. */
MPROC_API mproc_start_method_t mproc_get_start_method(void);

/* The name of a start method, as Python's get_start_method() says it, and
 * as MPROC_START_METHOD takes it.
 * Params: m — a method.
 * Returns: "spawn", "fork" or "forkserver"; "default" for
 *   MPROC_START_DEFAULT; NULL for a value that is not a method.
 * Errors: none. */
MPROC_API const char *mproc_start_method_name(mproc_start_method_t m);

/* Sets the executable that spawn runs (Python's set_executable). It must be
 * the same build of the same program, or children fail with MPROC_ECHILD.
 * Params: path — UTF-8 path, or NULL for the running executable.
 * Returns: 0.
 * Errors: MPROC_ENOMEM. */
MPROC_API int mproc_set_executable(const char *path);

/* Counts the CPUs this process may run on (Python's os.process_cpu_count()).
 * Returns: the number of CPUs in the affinity mask, at least 1.
 * Errors: none.
 * Platform: sched_getaffinity (Linux); GetProcessAffinityMask (Windows,
 *   the process's processor group). */
MPROC_API int mproc_cpu_count(void);

/* The calling process's name (Python's current_process().name).
 * Returns: "MainProcess" in a process not started by mproc, the process's
 *   name in a child. Static storage; never NULL.
 * Errors: none. */
MPROC_API const char *mproc_current_name(void);

/* The calling process's id (Python's os.getpid()).
 * Returns: the pid.
 * Errors: none. */
MPROC_API int64_t mproc_current_pid(void);

/* Tells whether the process that started this one is still running
 * (Python's parent_process().is_alive()). Works however the parent ended,
 * SIGKILL and TerminateProcess included.
 * Returns: 1 running, 0 ended.
 * Errors: MPROC_ESTATE (this process was not started by mproc). */
MPROC_API int mproc_parent_alive(void);

/* A waitable handle that becomes ready when the parent ends (Python's
 * parent_process().sentinel), for mproc_wait or an event loop.
 * Returns: the handle (static, owned by the library); -1 in a process not
 *   started by mproc.
 * Errors: none.
 * Platform: a pipe read end that reaches end-of-file (POSIX); the parent's
 *   process handle (Windows). */
MPROC_API intptr_t mproc_parent_sentinel(void);

/* The pid of the process that started this one with mproc (Python's
 * parent_process().pid).
 * Returns: the parent's pid in a child; 0 in a process not started by mproc
 *   (Python's parent_process() is None there).
 * Errors: none. */
MPROC_API int64_t mproc_parent_pid(void);

#ifdef __cplusplus
}
#endif

#endif
