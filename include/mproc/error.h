/* mproc — error codes, shared by every platform.
 *
 * Every function that can fail returns 0 on success or a negative MPROC_E*
 * code. The numbers are identical on every platform, so a child can send one
 * to its parent unchanged. After a failure, mproc_last_error_detail() says
 * what exactly went wrong in the calling thread. */
#ifndef MPROC_ERROR_H
#define MPROC_ERROR_H

#include "export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The one list of error codes: X(name, value, description). */
#define MPROC_ERRNO_MAP(X)                                                                         \
  X(EINVAL, -1, "invalid argument")                                                                \
  X(ENOMEM, -2, "out of memory")                                                                   \
  X(ESTATE, -3, "operation not valid in the object's current state")                               \
  X(ETIMEDOUT, -4, "timed out")                                                                    \
  X(ENOTSUP, -5, "not supported on this platform or build")                                        \
  X(ECHILD, -6, "child process failed before its target ran")                                      \
  X(ETYPE, -7, "value has another type")                                                           \
  X(ERANGE, -8, "index or value out of range")                                                     \
  X(EPROTO, -9, "corrupt or incompatible message")                                                 \
  X(ESYS, -10, "an operating system call failed")                                                  \
  X(EUNKNOWN, -11, "unknown error")                                                                \
  X(EEOF, -12, "the other end closed the connection")                                              \
  X(ETOOBIG, -13, "message larger than the buffer or the limit")                                   \
  X(ECLOSED, -14, "the object was closed")                                                         \
  X(EAUTH, -15, "authentication failed")                                                           \
  X(EOWNERDEAD, -16, "the holder died; the lock is now yours (repair what it guarded)")            \
  X(EBROKEN, -17, "the barrier is broken (aborted, reset or timed out)")                           \
  X(EEXIST, -18, "an object of that name already exists")                                          \
  X(ENOENT, -19, "no object of that name exists")                                                  \
  X(EFULL, -20, "the queue is full")                                                               \
  X(EEMPTY, -21, "the queue is empty")                                                             \
  X(EVALUE, -22, "called more times than allowed (task_done beyond the messages put)")             \
  X(ETASKFAILED, -23, "the task function returned an error")                                       \
  X(EWORKERDIED, -24, "the worker running the task died")                                          \
  X(ETASKTIMEOUT, -25, "the task ran past its time limit; its worker was killed and replaced")     \
  X(ECANCELED, -26, "the task was cancelled")                                                      \
  X(EINIT, -27, "the pool's initializer keeps failing; the pool is broken")                        \
  X(EMEMLIMIT, -28, "the worker passed its memory limit; it was stopped and replaced")

/* Error codes. */
typedef enum {
  MPROC_OK = 0,
#define MPROC_ERR_ENUM_(name, value, text) MPROC_##name = value,
  MPROC_ERRNO_MAP(MPROC_ERR_ENUM_)
#undef MPROC_ERR_ENUM_
} mproc_error_t;

/* Describes an error code in a short English sentence.
 * Params: err — a value returned by an mproc function.
 * Returns: a static string; "success" for 0 and "unknown error code" for a
 *   value that is not an mproc error code. Never NULL.
 * Errors: none.
 * Platform: identical everywhere. */
MPROC_API const char *mproc_strerror(int err);

/* Names an error code, e.g. "MPROC_ETIMEDOUT".
 * Params: err — a value returned by an mproc function.
 * Returns: a static string; "MPROC_OK" for 0 and "MPROC_E?" for a value that
 *   is not an mproc error code. Never NULL.
 * Errors: none.
 * Platform: identical everywhere. */
MPROC_API const char *mproc_err_name(int err);

/* Says what exactly failed in the calling thread's last failed mproc call,
 * naming the step and, for OS failures, the OS message, e.g.
 * "spawn: CreateProcessW: The system cannot find the file specified."
 * Returns: a thread-local string, valid until the thread's next mproc call
 *   that fails; "" if no call in this thread has failed. Successful calls do
 *   not clear it. Never NULL.
 * Errors: none.
 * Platform: the OS message comes from strerror (POSIX) or FormatMessageW
 *   (Windows, converted to UTF-8). */
MPROC_API const char *mproc_last_error_detail(void);

/* Gives the native error number behind the calling thread's last failure
 * that came from the OS (MPROC_ESYS and the codes it was mapped to).
 * Returns: errno (POSIX) or GetLastError() (Windows) as it was at the failure;
 *   0 if the last failure did not come from an OS call.
 * Errors: none. */
MPROC_API long mproc_last_error_os(void);

/* For code that extends mproc (a pool backend such as mproc::mpi): makes
 * code and a printf-style detail the calling thread's last error, as
 * mproc's own calls do, and returns code.
 * Params: code — an MPROC_E* code; fmt, ... — the detail (NULL: "").
 * Returns: code.
 * Errors: none. */
MPROC_API int mproc_set_error(int code, const char *fmt, ...);

/* Releases any buffer the library hands out (mproc_args_encode, ...).
 * Params: p — the buffer, or NULL (then nothing happens).
 * Errors: none. */
MPROC_API void mproc_free(void *p);

#ifdef __cplusplus
}
#endif

#endif
