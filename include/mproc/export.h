/* mproc — symbol visibility and calling conventions for the public API. */
#ifndef MPROC_EXPORT_H
#define MPROC_EXPORT_H

/* MPROC_API marks every exported function. The library is built with hidden
 * visibility, so anything without it stays internal. MPROC_STATIC is defined
 * (by CMake, and in mproc.pc) when linking the static library. */
#if defined(_WIN32) || defined(__CYGWIN__)
#  if defined(MPROC_STATIC)
#    define MPROC_API
#  elif defined(MPROC_BUILDING)
#    define MPROC_API __declspec(dllexport)
#  else
#    define MPROC_API __declspec(dllimport)
#  endif
#elif defined(__GNUC__)
#  define MPROC_API __attribute__((visibility("default")))
#else
#  define MPROC_API
#endif

#endif
